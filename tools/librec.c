/* The `librec` command-line program: train, evaluate, recommend and find
 * similar items with any model kind, through the public API only. */
#include <librec/librec.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int cli_fail(rec_status st, const char *what)
{
    fprintf(stderr, "librec: %s: %s\n", what ? what : rec_strerror(st),
            *rec_last_error() ? rec_last_error() : rec_strerror(st));
    /* 2: the command line asked for something that is not there or not
     * allowed (as for usage errors); 1: the data, a file or the run failed. */
    return st == REC_E_INVALID || st == REC_E_RANGE || st == REC_E_NOTFOUND ? 2 : 1;
}

int cli_fail_run(rec_status st, const char *what)
{
    cli_fail(st, what);
    return 1;
}

int cli_usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "librec: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see 'librec help')\n");
    return 2;
}

/* ---- progress bar on stderr ------------------------------------------------ */

/* The step the model names (svd: "epoch", then "ranking head epoch";
 * itemcf: "ratings", "baselines", "similarities", ...) with the count it
 * runs, rewritten in place until a phase ends; a step without a loss shows
 * "-" rather than nan. */
static int progress(void *user, int epoch, int epochs, double loss)
{
    cli_progress *p = user;
    double t = cli_now(), spent = t - p->phase_start;
    const char *step = rec_model_fit_step(p->model);
    double eta = epoch > 0 ? spent / epoch * (epochs - epoch) : 0;
    int fill = epochs > 0 ? epoch * 30 / epochs : 30;
    char bar[31], lossbuf[32] = "-";
    memset(bar, '#', (size_t)fill);
    memset(bar + fill, '.', (size_t)(30 - fill));
    bar[30] = 0;
    if (isfinite(loss))
        snprintf(lossbuf, sizeof lossbuf, "%.4f", loss);
    fprintf(stderr, "\r%s[%s] %s %d/%d  loss %s  %.1fs  ETA %.0fs\033[K", p->prefix, bar,
            step ? step : "epoch", epoch, epochs, lossbuf, t - p->start, eta);
    if (epoch == epochs) {
        fputc('\n', stderr);
        p->phase_start = t;
    }
    fflush(stderr);
    return 0;
}

rec_progress_fn cli_progress_fn(cli_progress *p, const rec_model *m, int quiet,
                                const char *prefix)
{
    p->start = p->phase_start = cli_now();
    p->prefix = prefix ? prefix : "";
    p->model = m;
    return quiet || !isatty(2) ? NULL : progress;
}

/* ---- common options --------------------------------------------------------- */

int cli_parse_uint(const char *opt, const char *s, uint64_t lo, uint64_t hi, uint64_t *v)
{
    /* Digits only: strtoull alone would take " 5", "+5", "-5" (as a huge
     * number) and saturate on overflow. */
    int ok = *s != 0 && strspn(s, "0123456789") == strlen(s);
    if (ok) {
        errno = 0;
        *v = strtoull(s, NULL, 10);
        ok = errno == 0 && *v >= lo && *v <= hi;
    }
    if (!ok) {
        char fmt[160];
        snprintf(fmt, sizeof fmt, "%s: '%%s' is not a whole number from %llu to %llu", opt,
                 (unsigned long long)lo, (unsigned long long)hi);
        cli_usage_error(fmt, s);
    }
    return ok;
}

static int need_value(int i, int argc, char **argv)
{
    if (i + 1 >= argc) {
        cli_usage_error("option %s needs a value", argv[i]);
        return 0;
    }
    return 1;
}

int cli_parse(int argc, char **argv, cli_opts *o)
{
    memset(o, 0, sizeof *o);
    o->k = 10;
    o->format = "auto";
    o->protocol = NULL; /* cli_eval: "cold" after a cold-items split, else "full" */
    o->seed = 42;
    if (rec_params_create(&o->params) || rec_params_create(&o->load_opts) ||
        rec_params_create(&o->params_a) || rec_params_create(&o->params_b))
        return cli_fail(REC_E_NOMEM, NULL);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        rec_status st;
#define VALUE(field)                       \
    do {                                   \
        if (!need_value(i, argc, argv))    \
            return 2;                      \
        o->field = argv[++i];              \
    } while (0)
        if (!strcmp(a, "--model") && o->model2)
            return cli_usage_error("%s", "--model given more than twice");
        else if (!strcmp(a, "--model") && o->model)
            VALUE(model2); /* compare's B; the other commands refuse it */
        else if (!strcmp(a, "--model"))
            VALUE(model);
        else if (!strcmp(a, "--data"))
            VALUE(data);
        else if (!strcmp(a, "--format"))
            VALUE(format);
        else if (!strcmp(a, "--out"))
            VALUE(out);
        else if (!strcmp(a, "--load"))
            VALUE(load);
        else if (!strcmp(a, "--what"))
            VALUE(what);
        else if (!strcmp(a, "--distributed"))
            o->distributed = 1;
        else if (!strcmp(a, "--user"))
            VALUE(user);
        else if (!strcmp(a, "--item"))
            VALUE(item);
        else if (!strcmp(a, "--split"))
            VALUE(split);
        else if (!strcmp(a, "--test"))
            VALUE(test);
        else if (!strcmp(a, "--protocol"))
            VALUE(protocol);
        else if (!strcmp(a, "--metrics"))
            VALUE(metrics);
        else if (!strcmp(a, "--plot"))
            VALUE(plot);
        else if (!strcmp(a, "--sweep"))
            VALUE(sweep);
        else if (!strcmp(a, "--columns") || !strcmp(a, "--delimiter") || !strcmp(a, "--header") ||
                 !strcmp(a, "--context")) {
            if (!need_value(i, argc, argv))
                return 2;
            if ((st = rec_params_set_str(o->load_opts, a + 2, argv[++i])))
                return cli_fail(st, a);
        } else if (!strcmp(a, "--normalize")) {
            if (!need_value(i, argc, argv))
                return 2;
            if (o->nnormalize == (int)(sizeof o->normalize / sizeof *o->normalize))
                return cli_usage_error("%s", "more than 16 --normalize options");
            o->normalize[o->nnormalize++] = argv[++i];
        } else if (!strcmp(a, "--param") || !strcmp(a, "-p")) {
            if (!need_value(i, argc, argv))
                return 2;
            if ((st = rec_params_parse(o->params, argv[++i])) ||
                (st = rec_params_parse(o->params_a, argv[i])) ||
                (st = rec_params_parse(o->params_b, argv[i])))
                return cli_fail(st, "--param");
        } else if (!strcmp(a, "--param-a") || !strcmp(a, "--param-b")) {
            if (!need_value(i, argc, argv))
                return 2;
            if ((st = rec_params_parse(a[8] == 'a' ? o->params_a : o->params_b, argv[++i])))
                return cli_fail(st, a);
        } else if (!strcmp(a, "-k") || !strcmp(a, "--seed") || !strcmp(a, "--threads")) {
            if (!need_value(i, argc, argv))
                return 2;
            /* -k is capped at the catalogue once the model is loaded. */
            uint64_t v, hi = a[1] == 'k' ? INT32_MAX : a[2] == 's' ? UINT64_MAX : 256;
            if (!cli_parse_uint(a, argv[++i], a[1] == 'k', hi, &v))
                return 2;
            if (a[1] == 'k')
                o->k = (size_t)v;
            else if (a[2] == 's')
                o->seed = v;
            else if ((st = rec_set_num_threads((int)v)))
                return cli_fail(st, "--threads");
        } else if (!strcmp(a, "--users"))
            VALUE(users);
        else if (!strcmp(a, "--history"))
            VALUE(history);
        else if (!strcmp(a, "--allow"))
            VALUE(allow);
        else if (!strcmp(a, "--deny"))
            VALUE(deny);
        else if (!strcmp(a, "--boost"))
            VALUE(boost);
        else if (!strcmp(a, "--cap"))
            VALUE(cap);
        else if (!strcmp(a, "--mmr"))
            VALUE(mmr);
        else if (!strcmp(a, "--mmr-field"))
            VALUE(mmr_field);
        else if (!strcmp(a, "--explore"))
            VALUE(explore);
        else if (!strcmp(a, "--include-seen"))
            o->include_seen = 1;
        else if (!strcmp(a, "--candidates")) {
            uint64_t v;
            if (!need_value(i, argc, argv))
                return 2;
            if (!cli_parse_uint(a, argv[++i], 1, INT32_MAX, &v))
                return 2;
            o->candidates = (size_t)v;
        } else if (!strcmp(a, "--color"))
            VALUE(color);
        else if (!strcmp(a, "--method"))
            VALUE(method);
        else if (!strcmp(a, "--label"))
            VALUE(label);
        else if (!strcmp(a, "--axes"))
            VALUE(axes);
        else if (!strcmp(a, "--json"))
            o->json = 1;
        else if (!strcmp(a, "--quiet") || !strcmp(a, "-q"))
            o->quiet = 1;
        else
            return cli_usage_error("unknown option '%s'", a);
#undef VALUE
    }
    return 0;
}

void cli_free(cli_opts *o)
{
    rec_params_destroy(o->params_a);
    rec_params_destroy(o->params_b);
    rec_params_destroy(o->params);
    rec_params_destroy(o->load_opts);
}

int cli_load_data(const cli_opts *o, rec_dataset **d)
{
    if (!o->data)
        return cli_usage_error("%s", "--data PATH is required");
    size_t n = 0;
    rec_params_count(o->load_opts, &n);
    rec_status st = rec_dataset_load(d, o->data, o->format, n ? o->load_opts : NULL);
    if (st)
        return cli_fail(st, "cannot load data");
    for (int k = 0; k < o->nnormalize; k++) {
        /* SIDE:FIELD=METHOD, as rec_dataset_normalize takes them */
        const char *spec = o->normalize[k], *colon = strchr(spec, ':');
        const char *eq = colon ? strchr(colon, '=') : NULL;
        char field[256];
        int user = colon && colon - spec == 4 && !strncmp(spec, "user", 4);
        int item = colon && colon - spec == 4 && !strncmp(spec, "item", 4);
        if ((!user && !item) || !eq || eq == colon + 1 || eq - colon > (long)sizeof field) {
            rec_dataset_destroy(*d);
            *d = NULL;
            return cli_usage_error("--normalize '%s': want user:FIELD=METHOD or "
                                   "item:FIELD=METHOD", spec);
        }
        snprintf(field, sizeof field, "%.*s", (int)(eq - colon - 1), colon + 1);
        st = rec_dataset_normalize(*d, user ? REC_SIDE_USER : REC_SIDE_ITEM, field, eq + 1);
        if (st) {
            rec_dataset_destroy(*d);
            *d = NULL;
            return cli_fail(st, "--normalize");
        }
    }
    /* Data is never misread silently: what was read, and how, every time
     * (warnings even under --quiet: they say the data may not be what the
     * user meant). */
    const char *w;
    rec_dataset_warnings(*d, &w);
    while (*w) {
        const char *e = strchr(w, '\n');
        int len = e ? (int)(e - w) : (int)strlen(w);
        fprintf(stderr, "librec: warning: %.*s\n", len, w);
        w += len + (e != NULL);
    }
    if (!o->quiet) {
        char line[512];
        rec_dataset_summary(*d, line, sizeof line);
        fprintf(stderr, "librec: %s: %s\n", o->data, line);
    }
    return 0;
}

/* ---- JSON output ------------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, surrogates or code points past U+10FFFF), 0 if there is none. */
int cli_utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    int n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (!n || s[0] > 0xf4)
        return 0;
    unsigned cp = s[0] & (0x7f >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

void cli_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int n = cli_utf8_len(p);
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else if (n)
            fwrite(p, 1, (size_t)n, f);
        else
            fprintf(f, "\\u%04x", *p); /* not UTF-8: the byte read as Latin-1 */
        p += n ? n : 1;
    }
    fputc('"', f);
}

void cli_json_num(FILE *f, double v, const char *why)
{
    /* JSON has no NaN or infinity: null, and the reason beside it. */
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    else {
        fprintf(f, "null, \"why\": ");
        cli_json_str(f, why);
    }
}

void cli_json_pairs(FILE *f, const char *name_key, const char *value_key, const char **names,
                    const float *values, size_t n, const char *why)
{
    fputc('[', f);
    for (size_t j = 0; j < n; j++) {
        fprintf(f, "%s{\"%s\": ", j ? ", " : "", name_key);
        cli_json_str(f, names[j]);
        fprintf(f, ", \"%s\": ", value_key);
        cli_json_num(f, values[j], why);
        fputc('}', f);
    }
    fputc(']', f);
}

static void print_list(const cli_opts *o, const char *key, const char *id, const char **items,
                       const float *scores, size_t n)
{
    if (o->json) {
        printf("{\"%s\": ", key);
        cli_json_str(stdout, id);
        printf(", \"items\": ");
        cli_json_pairs(stdout, "item", "score", items, scores, n,
                       "the model's score is not a finite number");
        printf("}\n");
        return;
    }
    for (size_t j = 0; j < n; j++)
        printf("%zu\t%s\t%.6g\n", j + 1, items[j], scores[j]);
}

/* ---- commands ------------------------------------------------------------------ */

static int cmd_train(cli_opts *o)
{
    if (!o->model || !o->out)
        return cli_usage_error("%s", "train needs --model NAME, --data PATH and --out FILE.lrm");
    struct stat in, out;
    if (o->data && stat(o->data, &in) == 0 && stat(o->out, &out) == 0 &&
        in.st_dev == out.st_dev && in.st_ino == out.st_ino)
        return cli_usage_error("--out '%s' is the --data file: the model would overwrite the "
                               "data", o->out);
    if (o->distributed) {
#ifdef REC_WITH_MPI
        return o->data ? cli_train_distributed(o)
                       : cli_usage_error("%s", "--data PATH is required");
#else
        return cli_usage_error("%s", "--distributed needs a librec built with MPI (make MPI=1)");
#endif
    }
    rec_model *m;
    rec_status st = rec_model_create(&m, o->model, o->params);
    if (st)
        return cli_fail(st, "bad model");
    rec_dataset *d;
    int rc = cli_load_data(o, &d);
    if (rc) {
        rec_model_destroy(m);
        return rc;
    }
    cli_progress p;
    rec_progress_fn cb = cli_progress_fn(&p, m, o->quiet, "");
    cli_curve curve = { .model = m, .bar_fn = cb, .bar = &p };
    if (o->plot)
        st = rec_model_fit(m, d, cli_curve_progress, &curve);
    else
        st = rec_model_fit(m, d, cb, &p);
    if (st && curve.nomem)
        st = REC_E_NOMEM;
    if (!st && o->plot) {
        char title[256];
        snprintf(title, sizeof title, "%s: training loss per epoch", o->model);
        if (cli_curve_write(&curve, o->plot, title, o->quiet)) {
            cli_curve_free(&curve);
            rec_dataset_destroy(d);
            rec_model_destroy(m);
            return 1;
        }
    }
    cli_curve_free(&curve);
    if (!st) {
        cli_tmp_sweep(o->out, o->quiet);
        cli_tmp_guard(o->out);
        st = rec_model_save(m, o->out);
    }
    /* The command line was accepted: whatever fails now is the run (1). */
    rc = st ? cli_fail_run(st, "training failed") : 0;
    if (!rc && !o->quiet)
        fprintf(stderr, "librec: saved %s model to %s\n", o->model, o->out);
    rec_dataset_destroy(d);
    rec_model_destroy(m);
    return rc;
}

static int cmd_similar(cli_opts *o)
{
    const char *id = o->item;
    if (!o->load || !id)
        return cli_usage_error("%s", "similar needs --load FILE.lrm and --item ID");
    if (o->data && !o->plot)
        return cli_usage_error("%s", "--data is read for --plot's titles: give --plot BARS.svg");
    rec_model *m;
    rec_status st = rec_model_load(&m, o->load);
    if (st)
        return cli_fail(st, "cannot load model");
    /* No list is longer than the catalogue: -k 2000000000 allocates nothing
     * unreasonable. */
    size_t k = o->k, nitems = 0;
    rec_model_num_items(m, &nitems);
    if (k > nitems)
        k = nitems;
    const char **items = calloc(k ? k : 1, sizeof *items);
    float *scores = calloc(k ? k : 1, sizeof *scores);
    size_t n = 0;
    if (!items || !scores)
        st = REC_E_NOMEM;
    else
        st = rec_model_similar(m, id, k, items, scores, &n);
    int rc = st ? cli_fail(st, "similar failed") : 0;
    if (!rc)
        print_list(o, "item", id, items, scores, n);
    if (!rc && o->plot) {
        char head[200];
        snprintf(head, sizeof head, "%s: the %zu items most similar to ", rec_model_kind(m), n);
        rc = cli_bars_write(o, NULL, 1, id, head, "", items, scores, n,
                            "similarity (the model's score)");
    }
    free(items);
    free(scores);
    rec_model_destroy(m);
    return rc;
}

/* The old names a key still answers to ("      also: n_factors, factors"). */
static void print_aliases(const char *key)
{
    const char *alias, *canon;
    const char *sep = "      also: ";
    for (size_t i = 0; rec_params_alias_at(i, &alias, &canon) == REC_OK; i++)
        if (!strcmp(canon, key)) {
            printf("%s%s", sep, alias);
            sep = ", ";
        }
    if (strcmp(sep, ", ") == 0)
        printf("\n");
}

static const char *type_name(rec_param_type t)
{
    switch (t) {
    case REC_PARAM_INT: return "int";
    case REC_PARAM_FLOAT: return "float";
    case REC_PARAM_STR: return "string";
    case REC_PARAM_BOOL: return "bool";
    }
    return "?";
}

/* Generated from the library's own descriptions, never written twice. */
static int cmd_models(const char *only)
{
    const char *kind, *summary;
    int found = 0;
    for (size_t i = 0; rec_model_kind_at(i, &kind, &summary) == REC_OK; i++) {
        if (only && strcmp(only, kind))
            continue;
        found = 1;
        printf("%-10s %s\n", kind, summary);
        if (!only)
            continue;
        const char *key, *def, *choices, *help;
        rec_param_type t;
        double lo, hi;
        for (size_t j = 0;
             rec_model_param_at(kind, j, &key, &t, &def, &lo, &hi, &choices, &help) == REC_OK;
             j++) {
            printf("  --param %s=%s  (%s", key, def, type_name(t));
            if (t == REC_PARAM_INT || t == REC_PARAM_FLOAT)
                printf(" in [%g, %g]", lo, hi);
            if (choices)
                printf(": %s", choices);
            printf(")\n      %s\n", help);
            print_aliases(key);
        }
    }
    if (only && !found)
        return cli_usage_error("unknown model '%s'", only);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage:\n"
            "  librec train --model NAME --data PATH [--format F] [--param KEY=VALUE ...]\n"
            "               --out FILE.lrm [--plot CURVE.svg] [--quiet] [--distributed (under mpirun)]\n"
            "  librec eval --model NAME --data PATH [--format F] --split kfold:5|holdout:0.2|last:1\n"
            "              (or cold-items:0.2, cold-users:0.2)\n"
            "              (or --test PATH: a test file in the same format and ids)\n"
            "              [--protocol full|sampled:100|cold] --metrics rmse,mae,ndcg@10,...\n"
            "              [--param KEY=VALUE ...] [--seed N] [--json]\n"
            "              [--sweep KEY=V1,V2,... [--plot CHART.svg]]: one run per value,\n"
            "              a table of the metrics by value, a chart of them\n"
            "  librec recommend --load FILE.lrm --user ID|--users FILE|-|--history ITEM,ITEM\n"
            "                   [-k 10] [--json] [--include-seen] [--data PATH (titles, fields)]\n"
            "                   [--allow FILE] [--deny FILE] [--boost FILE] [--cap FIELD=N]\n"
            "                   [--mmr LAMBDA [--mmr-field FIELD]] [--explore EPSILON]\n"
            "                   [--candidates N]\n"
            "  librec similar --load FILE.lrm --item ID [-k 10] [--json]\n"
            "                 [--plot BARS.svg [--data PATH (titles)]]\n"
            "  librec explain --load FILE.lrm --user ID [--item ID (default: the top one)]\n"
            "                 [-k 10] [--json] [--plot BARS.svg [--data PATH (titles)]]\n"
            "              why the model recommends the item: its reasons and weights\n"
            "  librec export --load FILE.lrm --what items|users --out X.npy\n"
            "              the model's vectors as float32 .npy, their ids in X.tsv\n"
            "  librec index build --vectors X.npy --kind flat|hnsw [--param KEY=VALUE ...]\n"
            "                     --out IX.lrm\n"
            "  librec index search --load IX.lrm --queries Q.npy [-k 10] [--ef N]\n"
            "  librec index bench --vectors B.npy --queries Q.npy --kind flat|hnsw\n"
            "                     [--param KEY=VALUE ...] --ef 16,32,64 [--threads N] [--json]\n"
            "  librec compare --model A --model B --data PATH --split last:1|holdout:0.2|...\n"
            "              --metrics LIST [--param K=V (both)] [--param-a K=V] [--param-b K=V]\n"
            "              [--protocol P] [--seed N] [--json]: A - B per metric, paired\n"
            "              bootstrap 95%% CI over users (1000 resamples) and p-value\n"
            "  librec stats --data PATH [--format F] [--param cold=5] [--json] [--plot DIR]\n"
            "              what the data holds: sizes, long tail, activity, ratings, months,\n"
            "              cold and duplicates, and signs of a misread file\n"
            "  librec plot-embeddings --load FILE.lrm --out MAP.svg [--what items|users]\n"
            "              [--method umap|pca] [--data PATH [--format F] [--color FIELD]\n"
            "              [--label N]] [--param KEY=VALUE (umap)] [--seed N] [--json]\n"
            "              a 2-D map of the model's vectors, coloured by a field of the data;\n"
            "              with --axes N --color FIELD instead a heat map: the correlation of\n"
            "              the first N principal axes with each value of the field\n"
            "  librec models              list the model kinds\n"
            "  librec help [MODEL]        this text, or a model's parameters\n"
            "formats: auto csv tsv pairs movielens goodbooks lightgcn;"
            " --columns user,item,rating,timestamp maps CSV/TSV columns;"
            " --context device,country reads those columns as per-interaction context\n"
            " --normalize item:year=zscore normalises a numeric or dense field at load\n"
            "   (user: or item:, then none|minmax|zscore|log1p|log1p-zscore, dense: l2|zscore)\n"
            "common: --threads N, --quiet\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        if (argc > 2)
            return cmd_models(argv[2]);
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("librec %s\n", rec_version());
        return 0;
    }
    if (!strcmp(cmd, "models"))
        return cmd_models(NULL);
    if (!strcmp(cmd, "index"))
        return cli_index(argc - 2, argv + 2);
    cli_opts o;
    int rc = cli_parse(argc - 2, argv + 2, &o);
    if (!rc && o.model2 && strcmp(cmd, "compare"))
        rc = cli_usage_error("%s", "--model given twice (only compare takes two models)");
    if (!rc) {
        if (!strcmp(cmd, "train"))
            rc = cmd_train(&o);
        else if (!strcmp(cmd, "eval"))
            rc = cli_eval(&o);
        else if (!strcmp(cmd, "recommend"))
            rc = cli_recommend(&o);
        else if (!strcmp(cmd, "similar"))
            rc = cmd_similar(&o);
        else if (!strcmp(cmd, "explain"))
            rc = cli_explain(&o);
        else if (!strcmp(cmd, "stats"))
            rc = cli_stats(&o);
        else if (!strcmp(cmd, "export"))
            rc = cli_export(&o);
        else if (!strcmp(cmd, "compare"))
            rc = cli_compare(&o);
        else if (!strcmp(cmd, "plot-embeddings"))
            rc = cli_plot_embeddings(&o);
        else
            rc = cli_usage_error("unknown command '%s'", cmd);
    }
    cli_free(&o);
    return rc;
}
