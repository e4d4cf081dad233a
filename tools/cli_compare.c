/* `librec compare`: an offline A/B replay.  Models A and B are fitted on the
 * same training split and evaluated on the same test users; for each metric
 * it prints A - B with a 95% paired bootstrap confidence interval and a
 * p-value, so a learner sees whether a difference is more than noise.
 *
 * The bootstrap resamples test users with replacement, the same users for A
 * and B (paired) and for every metric; a resample's metric is rebuilt from
 * the users' parts (sum over count, its root for rmse), exactly as the whole
 * value is.  The interval is the 2.5th and 97.5th percentiles of the
 * resampled differences; the p-value (two-sided) is twice the share of them
 * on the far side of zero, at most 1: identical models give 0, [0, 0], 1. */
#include "cli.h"

#include <librec/eval.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RESAMPLES 1000

/* splitmix64: the CLI sees the public API only, which has no RNG. */
static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct row {
    const char *name;
    double a, b, lo, hi, p;
    int paired; /* 0: not a per-user metric (coverage): no interval */
} row;

/* The metric from summed parts: mean, or its root for rmse. */
static double finish(const char *name, double sum, double count)
{
    if (count <= 0)
        return NAN;
    return !strcmp(name, "rmse") ? sqrt(sum / count) : sum / count;
}

/* Interval and p-value of metric k (A's and B's parts over the same n
 * users, in the same order: both come from one test set) by the resamples
 * pick[RESAMPLES][n]. */
static void bootstrap(row *r, const rec_eval_result *ra, const rec_eval_result *rb, size_t k,
                      const uint32_t *pick, size_t n, double *diff)
{
    const double *sa, *sb;
    const int64_t *ca, *cb;
    const int32_t *ua, *ub;
    size_t na, nb;
    rec_eval_result_user_parts(ra, k, &ua, &sa, &ca, &na);
    rec_eval_result_user_parts(rb, k, &ub, &sb, &cb, &nb);
    int64_t any = 0;
    for (size_t j = 0; j < n; j++)
        any += ca[j] + cb[j];
    r->paired = any > 0;
    r->lo = r->hi = r->p = NAN;
    if (!r->paired)
        return;
    size_t valid = 0, below = 0, above = 0;
    for (size_t t = 0; t < RESAMPLES; t++) {
        double xa = 0, xb = 0, na_ = 0, nb_ = 0;
        for (size_t j = 0; j < n; j++) {
            uint32_t u = pick[t * n + j];
            xa += sa[u];
            xb += sb[u];
            na_ += (double)ca[u];
            nb_ += (double)cb[u];
        }
        double d = finish(r->name, xa, na_) - finish(r->name, xb, nb_);
        if (isnan(d))
            continue; /* no user of this resample has the metric */
        diff[valid++] = d;
        below += d <= 0;
        above += d >= 0;
    }
    if (!valid)
        return;
    qsort(diff, valid, sizeof *diff, cmp_d);
    r->lo = diff[(size_t)floor(0.025 * (double)(valid - 1))];
    r->hi = diff[(size_t)ceil(0.975 * (double)(valid - 1))];
    double tail = (double)(below < above ? below : above) / (double)valid;
    r->p = 2 * tail < 1 ? 2 * tail : 1;
}

static void print_rows(const cli_opts *o, const row *rows, size_t nmet, size_t users)
{
    if (o->json) {
        printf("{\"model_a\": ");
        cli_json_str(stdout, o->model);
        printf(", \"model_b\": ");
        cli_json_str(stdout, o->model2);
        printf(", \"data\": ");
        cli_json_str(stdout, o->data);
        printf(", \"split\": ");
        cli_json_str(stdout, o->split);
        printf(", \"protocol\": ");
        cli_json_str(stdout, o->protocol);
        printf(", \"users\": %zu, \"resamples\": %d, \"seed\": %llu, \"metrics\": {", users,
               RESAMPLES, (unsigned long long)o->seed);
        for (size_t k = 0; k < nmet; k++) {
            const row *r = &rows[k];
            printf("%s", k ? ", " : "");
            cli_json_str(stdout, r->name);
            double v[6] = { r->a, r->b, r->a - r->b, r->lo, r->hi, r->p };
            static const char *const key[6] = { "a", "b", "diff", "ci_low", "ci_high", "p" };
            printf(": {");
            for (int j = 0; j < 6; j++) {
                printf("%s\"%s\": ", j ? ", " : "", key[j]);
                if (isfinite(v[j]))
                    printf("%.6g", v[j]);
                else
                    printf("null");
            }
            if (!rows[k].paired)
                printf(", \"why\": \"not a per-user metric: no paired interval\"");
            printf("}");
        }
        printf("}}\n");
        return;
    }
    printf("%s (A) vs %s (B) on %s, split %s, protocol %s: %zu users, %d paired bootstrap "
           "resamples (seed %llu)\n",
           o->model, o->model2, o->data, o->split, o->protocol, users, RESAMPLES,
           (unsigned long long)o->seed);
    printf("  %-16s %9s %9s %10s  %-23s %s\n", "metric", "A", "B", "A - B", "95% CI", "p");
    for (size_t k = 0; k < nmet; k++) {
        const row *r = &rows[k];
        printf("  %-16s %9.4f %9.4f %+10.4f  ", r->name, r->a, r->b, r->a - r->b);
        if (r->paired && isfinite(r->lo)) {
            char ci[64];
            snprintf(ci, sizeof ci, "[%+.4f, %+.4f]", r->lo, r->hi);
            /* No resample crossed zero: p is below the bootstrap's resolution. */
            if (r->p > 0)
                printf("%-23s %.3f\n", ci, r->p);
            else
                printf("%-23s <%.3f\n", ci, 2.0 / RESAMPLES);
        } else {
            printf("%-23s %s\n", "-", "-  (not per user)");
        }
    }
}

/* Fits kind with p on train and evaluates it per user on test. */
static int run(const cli_opts *o, const char *kind, const rec_params *p, const char *label,
               const rec_dataset *train, const rec_dataset *test, rec_eval_result **out)
{
    rec_model *m = NULL;
    rec_status st = rec_model_create(&m, kind, p);
    if (st)
        return cli_fail(st, label);
    cli_progress pr;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s ", kind);
    rec_progress_fn cb = cli_progress_fn(&pr, m, o->quiet, prefix);
    int rc = 0;
    if ((st = rec_model_fit(m, train, cb, &pr)))
        rc = cli_fail_run(st, "training failed");
    else if ((st = rec_evaluate_per_user(m, test, o->protocol, o->metrics, o->seed, out)))
        rc = cli_fail(st, "evaluation failed");
    rec_model_destroy(m);
    return rc;
}

int cli_compare(cli_opts *o)
{
    if (!o->protocol)
        o->protocol = "full";
    if (!o->model || !o->model2 || !o->split || !o->metrics)
        return cli_usage_error("%s", "compare needs --model A --model B, --data PATH, "
                                     "--split HOW and --metrics LIST");
    if (!strncmp(o->split, "kfold:", 6))
        return cli_usage_error("compare pairs the users of one test set: --split '%s' has "
                               "several (use holdout:R, user:R, last:N or time:T)", o->split);
    if (o->test)
        return cli_usage_error("%s", "compare takes --split HOW, not --test PATH");
    /* Bad kinds and params fail before the data is read. */
    rec_model *m;
    rec_status st = rec_model_create(&m, o->model, o->params_a);
    if (st)
        return cli_fail(st, "bad model A");
    rec_model_destroy(m);
    if ((st = rec_model_create(&m, o->model2, o->params_b)))
        return cli_fail(st, "bad model B");
    rec_model_destroy(m);
    rec_dataset *all = NULL, *train = NULL, *test = NULL;
    int rc = cli_load_data(o, &all);
    if (rc)
        return rc;
    if ((st = rec_dataset_split(all, o->split, 0, o->seed, &train, &test)))
        rc = cli_fail(st, "bad split");
    rec_eval_result *ra = NULL, *rb = NULL;
    if (!rc)
        rc = run(o, o->model, o->params_a, "bad model A", train, test, &ra);
    if (!rc)
        rc = run(o, o->model2, o->params_b, "bad model B", train, test, &rb);
    size_t nmet = 0, n = 0;
    row *rows = NULL;
    uint32_t *pick = NULL;
    double *diff = NULL;
    if (!rc) {
        rec_eval_result_count(ra, &nmet);
        rec_eval_result_user_parts(ra, 0, NULL, NULL, NULL, &n);
        rows = calloc(nmet, sizeof *rows);
        pick = malloc((size_t)RESAMPLES * (n ? n : 1) * sizeof *pick);
        diff = malloc(RESAMPLES * sizeof *diff);
        if (!rows || !pick || !diff)
            rc = cli_fail_run(REC_E_NOMEM, "compare");
    }
    if (!rc) {
        /* One set of resamples for every metric, drawn from the seed. */
        uint64_t s = o->seed;
        for (size_t t = 0; t < (size_t)RESAMPLES * n; t++)
            pick[t] = (uint32_t)(next(&s) % n);
        for (size_t k = 0; k < nmet; k++) {
            rec_eval_result_metric(ra, k, &rows[k].name, &rows[k].a, NULL);
            rec_eval_result_metric(rb, k, NULL, &rows[k].b, NULL);
            bootstrap(&rows[k], ra, rb, k, pick, n, diff);
        }
        print_rows(o, rows, nmet, n);
    }
    free(rows);
    free(pick);
    free(diff);
    rec_eval_result_destroy(ra);
    rec_eval_result_destroy(rb);
    rec_dataset_destroy(train);
    rec_dataset_destroy(test);
    rec_dataset_destroy(all);
    return rc;
}
