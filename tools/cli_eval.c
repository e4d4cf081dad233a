/* `librec eval`: split, fit, evaluate; k-fold runs every fold and reports
 * the mean and standard deviation of each metric.  With --test the split is
 * given: a test file in the training file's format and id space (published
 * splits such as LightGCN's), whose ids absent from training are counted,
 * reported and skipped. */
#include "cli.h"

#include <librec/eval.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Folds of a split: kfold:N, strictly (kfold:5x is an error); 1 for the
 * other splits (the library checks those); 0 after a usage error. */
static int split_folds(const char *how)
{
    if (strncmp(how, "kfold:", 6) != 0)
        return 1;
    const char *k = how + 6;
    if (*k && strspn(k, "0123456789") == strlen(k) && strlen(k) <= 3 && atoi(k) >= 2 &&
        atoi(k) <= 100)
        return atoi(k);
    cli_usage_error("bad split '%s': kfold:K needs K from 2 to 100", how);
    return 0;
}

/* Why a metric has no value: nothing was left to average it over. */
static const char *undefined_reason(const char *name)
{
    return !strcmp(name, "rmse") || !strcmp(name, "mae")
               ? "no test row to average over: the model knows none of the test rows' users "
                 "and items"
               : "no test user to average over: every test user is unknown to the model or "
                 "has no test item it knows and has not trained on";
}

static void json_metrics(const rec_eval_result *r, size_t n, int std)
{
    for (size_t i = 0; i < n; i++) {
        const char *name;
        double v, sd;
        rec_eval_result_metric(r, i, &name, &v, &sd);
        printf("%s", i ? ", " : "");
        cli_json_str(stdout, name);
        if (isfinite(v) && isfinite(sd))
            printf(": %.6g", std ? sd : v);
        else
            printf(": null");
    }
}

/* Test rows whose user or item the training data lacks. */
typedef struct skipped {
    int64_t rows, users, items;
} skipped;

/* What each fold took, for --json: its result, its fit and test seconds. */
typedef struct folds_run {
    rec_eval_result **parts;
    double *fit_s, *test_s;
    int n;
} folds_run;

/* A param value as JSON: a number, true/false, or a string. */
static void json_value(rec_param_type t, const char *text)
{
    char *end;
    double v = strtod(text, &end);
    if ((t == REC_PARAM_INT || t == REC_PARAM_FLOAT) && *text && !*end && isfinite(v))
        printf("%.10g", v);
    else if (t == REC_PARAM_BOOL && (!strcmp(text, "true") || !strcmp(text, "false")))
        printf("%s", text);
    else
        cli_json_str(stdout, text);
}

/* The key an old name stands for ("n_epochs" -> "epochs"), else key. */
static const char *canonical(const char *key)
{
    const char *alias, *canon;
    for (size_t i = 0; rec_params_alias_at(i, &alias, &canon) == REC_OK; i++)
        if (!strcmp(alias, key))
            return canon;
    return key;
}

/* Every param of the kind as used: the command line's value, else the
 * default (so a run can be repeated from its JSON alone). */
static void json_params(const cli_opts *o)
{
    const char *key, *def, *choices, *help;
    rec_param_type t;
    double lo, hi;
    printf("{");
    for (size_t j = 0;
         rec_model_param_at(o->model, j, &key, &t, &def, &lo, &hi, &choices, &help) == REC_OK;
         j++) {
        printf("%s", j ? ", " : "");
        cli_json_str(stdout, key);
        printf(": ");
        const char *k;
        rec_param_type given = t;
        int found = 0;
        for (size_t i = 0; !found && rec_params_key(o->params, i, &k, &given) == REC_OK; i++)
            found = !strcmp(canonical(k), key);
        if (!found) {
            json_value(t, def);
            continue;
        }
        int64_t iv;
        double fv;
        int bv;
        const char *sv;
        if (given == REC_PARAM_INT && rec_params_get_int(o->params, k, &iv) == REC_OK)
            printf("%lld", (long long)iv);
        else if (given == REC_PARAM_FLOAT && rec_params_get_float(o->params, k, &fv) == REC_OK)
            printf("%.10g", fv);
        else if (given == REC_PARAM_BOOL && rec_params_get_bool(o->params, k, &bv) == REC_OK)
            printf("%s", bv ? "true" : "false");
        else if (rec_params_get_str(o->params, k, &sv) == REC_OK)
            cli_json_str(stdout, sv);
        else
            printf("null");
    }
    printf("}");
}

static void json_folds(const folds_run *fr)
{
    printf("[");
    for (int f = 0; f < fr->n; f++) {
        size_t n = 0;
        int64_t users = 0, rows = 0;
        rec_eval_result_count(fr->parts[f], &n);
        rec_eval_result_support(fr->parts[f], &users, &rows, NULL);
        printf("%s{\"fold\": %d, \"fit_seconds\": %.3f, \"test_seconds\": %.3f, "
               "\"users\": %lld, \"rows\": %lld, \"metrics\": {",
               f ? ", " : "", f + 1, fr->fit_s[f], fr->test_s[f], (long long)users,
               (long long)rows);
        json_metrics(fr->parts[f], n, 0);
        printf("}}");
    }
    printf("]");
}

/* The metrics of the run into keep (may be NULL), for --sweep. */
static void keep_metrics(const rec_eval_result *r, cli_metrics *keep)
{
    size_t n = 0;
    if (!keep)
        return;
    rec_eval_result_count(r, &n);
    keep->n = 0;
    for (size_t i = 0; i < n && keep->n < CLI_MAX_METRICS; i++) {
        const char *name;
        double v;
        rec_eval_result_metric(r, i, &name, &v, NULL);
        snprintf(keep->name[keep->n], sizeof keep->name[0], "%s", name);
        keep->v[keep->n++] = v;
    }
}

static void print_result(const cli_opts *o, const rec_eval_result *r, const skipped *sk,
                         const folds_run *fr)
{
    size_t n = 0;
    int folds = 1;
    int64_t users = 0, rows = 0;
    rec_eval_result_count(r, &n);
    rec_eval_result_support(r, &users, &rows, &folds);
    if (o->json) {
        printf("{\"model\": ");
        cli_json_str(stdout, o->model);
        printf(", \"data\": ");
        cli_json_str(stdout, o->data);
        if (o->test) {
            printf(", \"test\": ");
            cli_json_str(stdout, o->test);
            printf(", \"skipped_rows\": %lld, \"unknown_users\": %lld, \"unknown_items\": %lld",
                   (long long)sk->rows, (long long)sk->users, (long long)sk->items);
        } else {
            printf(", \"split\": ");
            cli_json_str(stdout, o->split);
        }
        printf(", \"protocol\": ");
        cli_json_str(stdout, o->protocol);
        printf(", \"folds\": %d, \"users\": %lld, \"rows\": %lld, \"metrics\": {", folds,
               (long long)users, (long long)rows);
        json_metrics(r, n, 0);
        printf("}, \"std\": {");
        json_metrics(r, n, 1);
        /* JSON has no NaN: an undefined metric is null, its reason here. */
        printf("}, \"undefined\": {");
        for (size_t i = 0, first = 1; i < n; i++) {
            const char *name;
            double v;
            rec_eval_result_metric(r, i, &name, &v, NULL);
            if (isfinite(v))
                continue;
            printf("%s", first ? "" : ", ");
            cli_json_str(stdout, name);
            printf(": ");
            cli_json_str(stdout, undefined_reason(name));
            first = 0;
        }
        printf("}, \"seed\": %llu, \"params\": ", (unsigned long long)o->seed);
        json_params(o);
        printf(", \"per_fold\": ");
        json_folds(fr);
        printf("}\n");
        return;
    }
    if (o->test) {
        printf("%s on %s, test %s, protocol %s\n", o->model, o->data, o->test, o->protocol);
        if (sk->rows)
            printf("  skipped %lld test rows: %lld users and %lld items absent from training\n",
                   (long long)sk->rows, (long long)sk->users, (long long)sk->items);
    } else
        printf("%s on %s, split %s, protocol %s, %d fold%s\n", o->model, o->data, o->split,
               o->protocol, folds, folds == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        const char *name;
        double v, sd;
        rec_eval_result_metric(r, i, &name, &v, &sd);
        if (!isfinite(v))
            printf("  %-14s -       (%s)\n", name, undefined_reason(name));
        else if (folds > 1)
            printf("  %-14s %.4f  (std %.4f)\n", name, v, sd);
        else
            printf("  %-14s %.4f\n", name, v);
    }
}

/* Test ids get indices after the training ones (rec_dataset_load_like
 * with unknown=add), so an index past the training counts is unknown. */
static int count_skipped(const rec_dataset *train, const rec_dataset *test, skipped *sk)
{
    int32_t nu, ni, tu, ti;
    int64_t rows;
    rec_dataset_num_users(train, &nu);
    rec_dataset_num_items(train, &ni);
    rec_dataset_num_users(test, &tu);
    rec_dataset_num_items(test, &ti);
    rec_dataset_num_interactions(test, &rows);
    char *newu = calloc((size_t)(tu - nu) + 1, 1), *newi = calloc((size_t)(ti - ni) + 1, 1);
    if (!newu || !newi) {
        free(newu);
        free(newi);
        return cli_fail(REC_E_NOMEM, NULL);
    }
    *sk = (skipped){ 0, 0, 0 };
    for (int64_t r = 0; r < rows; r++) {
        int32_t u, i;
        rec_dataset_row(test, r, &u, &i, NULL, NULL);
        if (u >= nu && !newu[u - nu]++)
            sk->users++;
        if (i >= ni && !newi[i - ni]++)
            sk->items++;
        sk->rows += u >= nu || i >= ni;
    }
    free(newu);
    free(newi);
    return 0;
}

static int eval_on_test(cli_opts *o, cli_metrics *keep)
{
    if (o->split)
        return cli_usage_error("%s", "eval takes --split HOW or --test PATH, not both");
    rec_model *m = NULL;
    rec_status st = rec_model_create(&m, o->model, o->params);
    if (st)
        return cli_fail(st, "bad model");
    rec_dataset *train = NULL, *test = NULL;
    rec_eval_result *r = NULL;
    skipped sk;
    int rc = cli_load_data(o, &train);
    if (!rc) {
        size_t n = 0;
        rec_params_count(o->load_opts, &n);
        st = rec_dataset_load_like(&test, o->test, o->format, n ? o->load_opts : NULL, train);
        rc = st ? cli_fail(st, "cannot load test data") : count_skipped(train, test, &sk);
    }
    if (!rc) {
        cli_progress p;
        rec_progress_fn cb = cli_progress_fn(&p, m, o->quiet, "");
        double t0 = cli_now(), fit_s = 0, test_s = 0;
        if ((st = rec_model_fit(m, train, cb, &p)))
            rc = cli_fail_run(st, "training failed");
        else if (fit_s = cli_now() - t0,
                 (st = rec_evaluate(m, test, o->protocol, o->metrics, o->seed, &r)))
            rc = cli_fail(st, "evaluation failed");
        else {
            test_s = cli_now() - t0 - fit_s;
            print_result(o, r, &sk, &(folds_run){ &r, &fit_s, &test_s, 1 });
            keep_metrics(r, keep);
        }
    }
    rec_eval_result_destroy(r);
    rec_model_destroy(m);
    rec_dataset_destroy(test);
    rec_dataset_destroy(train);
    return rc;
}

int cli_eval_run(cli_opts *o, cli_metrics *keep)
{
    /* Held-out cold items are ranked among the cold items unless told otherwise. */
    if (!o->protocol)
        o->protocol = o->split && !strncmp(o->split, "cold-items:", 11) ? "cold" : "full";
    if (o->test && o->model && o->metrics)
        return eval_on_test(o, keep);
    if (!o->model || !(o->split || o->test) || !o->metrics)
        return cli_usage_error("%s", "eval needs --model NAME, --data PATH, --split HOW (or "
                                     "--test PATH) and --metrics LIST");
    int folds = split_folds(o->split);
    if (!folds)
        return 2;
    rec_model *m;
    rec_status st = rec_model_create(&m, o->model, o->params);
    if (st)
        return cli_fail(st, "bad model");
    rec_model_destroy(m);
    rec_dataset *all;
    int rc = cli_load_data(o, &all);
    if (rc)
        return rc;
    rec_eval_result **parts = calloc((size_t)folds, sizeof *parts);
    double *secs = calloc(2 * (size_t)folds, sizeof *secs);
    if (!parts || !secs) {
        free(parts);
        free(secs);
        rec_dataset_destroy(all);
        return cli_fail(REC_E_NOMEM, NULL);
    }
    for (int f = 0; !rc && f < folds; f++) {
        rec_dataset *train = NULL, *test = NULL;
        m = NULL;
        char prefix[32] = "";
        if (folds > 1)
            snprintf(prefix, sizeof prefix, "fold %d/%d ", f + 1, folds);
        st = rec_dataset_split(all, o->split, f, o->seed, &train, &test);
        if (!st)
            st = rec_model_create(&m, o->model, o->params);
        cli_progress p;
        rec_progress_fn cb = cli_progress_fn(&p, m, o->quiet, prefix);
        double t0 = cli_now();
        if (!st && (st = rec_model_fit(m, train, cb, &p)))
            rc = cli_fail_run(st, "training failed"); /* e.g. svd diverged: 1, not 2 */
        secs[f] = cli_now() - t0;
        if (!st)
            st = rec_evaluate(m, test, o->protocol, o->metrics, o->seed, &parts[f]);
        secs[folds + f] = cli_now() - t0 - secs[f];
        if (st && !rc)
            rc = cli_fail(st, "evaluation failed");
        rec_model_destroy(m);
        rec_dataset_destroy(train);
        rec_dataset_destroy(test);
    }
    if (!rc) {
        rec_eval_result *r = parts[0];
        st = folds > 1 ? rec_eval_result_merge((const rec_eval_result *const *)parts,
                                               (size_t)folds, &r)
                       : REC_OK;
        if (st)
            rc = cli_fail(st, "evaluation failed");
        else {
            print_result(o, r, &(skipped){ 0, 0, 0 },
                         &(folds_run){ parts, secs, secs + folds, folds });
            keep_metrics(r, keep);
        }
        if (folds > 1)
            rec_eval_result_destroy(r);
    }
    for (int f = 0; f < folds; f++)
        rec_eval_result_destroy(parts[f]);
    free(parts);
    free(secs);
    rec_dataset_destroy(all);
    return rc;
}
