/* `librec index build|search|bench`: vector indexes from .npy files.
 *   build   --vectors X.npy --kind flat|hnsw [--param K=V ...] --out IX.lrm
 *   search  --load IX.lrm --queries Q.npy [-k 10] [--ef N]   (JSON lines)
 *   bench   --vectors B.npy --queries Q.npy --kind hnsw [--param K=V ...]
 *           --ef 16,32,... [-k 10] [--threads N] [--json]
 * bench times the build, then for each ef the search of all queries on
 * --threads threads, and measures recall@k against the flat index. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct ix_opts {
    const char *vectors, *queries, *kind, *out, *load, *efs;
    rec_params *params;
    uint64_t k, ef, threads;
    int json;
} ix_opts;

static int parse(int argc, char **argv, ix_opts *o)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) {
            o->json = 1;
            continue;
        }
        if (i + 1 >= argc)
            return cli_usage_error("option %s needs a value", a);
        const char *v = argv[++i];
        rec_status st;
        if (!strcmp(a, "--vectors"))
            o->vectors = v;
        else if (!strcmp(a, "--queries"))
            o->queries = v;
        else if (!strcmp(a, "--kind"))
            o->kind = v;
        else if (!strcmp(a, "--out"))
            o->out = v;
        else if (!strcmp(a, "--load"))
            o->load = v;
        else if (!strcmp(a, "--param") || !strcmp(a, "-p")) {
            if ((st = rec_params_parse(o->params, v)))
                return cli_fail(st, "--param");
        } else if (!strcmp(a, "-k")) {
            if (!cli_parse_uint(a, v, 1, 100000, &o->k))
                return 2;
        } else if (!strcmp(a, "--threads")) {
            if (!cli_parse_uint(a, v, 1, 256, &o->threads))
                return 2;
            if ((st = rec_set_num_threads((int)o->threads)))
                return cli_fail(st, "--threads");
        } else if (!strcmp(a, "--ef")) {
            o->efs = v;
            if (!strchr(v, ',') && !cli_parse_uint(a, v, 1, 100000, &o->ef))
                return 2;
        } else
            return cli_usage_error("unknown option '%s'", a);
    }
    return 0;
}

/* The index of kind built from the rows of path, timed. */
static int build(const ix_opts *o, rec_index **ix, double *secs, float **x, size_t *n,
                 size_t *dim)
{
    if (cli_npy_read(o->vectors, x, n, dim))
        return 1;
    size_t np = 0;
    rec_params_count(o->params, &np);
    rec_status st = rec_index_create_kind(ix, o->kind, (int)*dim, np ? o->params : NULL);
    if (st)
        return cli_fail(st, "index");
    double t0 = seconds();
    st = rec_index_add(*ix, *x, *n);
    *secs = seconds() - t0;
    if (st)
        return cli_fail_run(st, "index");
    return 0;
}

static int cmd_build(ix_opts *o)
{
    if (!o->vectors || !o->kind || !o->out)
        return cli_usage_error("%s", "index build needs --vectors X.npy, --kind flat|hnsw and "
                                     "--out IX.lrm");
    rec_index *ix = NULL;
    float *x = NULL;
    size_t n, dim;
    double secs;
    int rc = build(o, &ix, &secs, &x, &n, &dim);
    rec_status st;
    if (!rc && (st = rec_index_save(ix, o->out)))
        rc = cli_fail_run(st, o->out);
    if (!rc)
        fprintf(stderr, "librec: %s index of %zu vectors (dim %zu) built in %.2f s: %s\n",
                o->kind, n, dim, secs, o->out);
    rec_index_destroy(ix);
    free(x);
    return rc;
}

/* The queries, checked against the index's dimension. */
static int read_queries(const char *path, const rec_index *ix, float **q, size_t *nq)
{
    size_t qd;
    int dim;
    if (cli_npy_read(path, q, nq, &qd))
        return 1;
    rec_index_dim(ix, &dim);
    if (qd != (size_t)dim) {
        fprintf(stderr, "librec: %s: queries have %zu columns, the index %d\n", path, qd, dim);
        free(*q);
        *q = NULL;
        return 1;
    }
    return 0;
}

static int cmd_search(ix_opts *o)
{
    if (!o->load || !o->queries)
        return cli_usage_error("%s", "index search needs --load IX.lrm and --queries Q.npy");
    rec_index *ix;
    rec_status st = rec_index_load(o->load, &ix);
    if (st)
        return cli_fail_run(st, o->load);
    float *q = NULL, *sc = NULL;
    int32_t *lab = NULL;
    size_t nq = 0, k = (size_t)o->k;
    int rc = read_queries(o->queries, ix, &q, &nq);
    if (!rc && (!(lab = malloc(nq * k * sizeof *lab + 1)) || !(sc = malloc(nq * k * sizeof *sc + 1))))
        rc = cli_fail_run(REC_E_NOMEM, "index search");
    if (!rc && (st = o->ef ? rec_index_search_ef(ix, q, nq, k, (size_t)o->ef, NULL, lab, sc)
                           : rec_index_search(ix, q, nq, k, NULL, lab, sc)))
        rc = cli_fail_run(st, "index search");
    for (size_t i = 0; !rc && i < nq; i++) {
        printf("{\"query\": %zu, \"labels\": [", i);
        size_t got = 0;
        for (size_t j = 0; j < k && lab[i * k + j] >= 0; j++, got++)
            printf("%s%d", j ? ", " : "", lab[i * k + j]);
        printf("], \"scores\": [");
        for (size_t j = 0; j < got; j++)
            printf("%s%.6g", j ? ", " : "", sc[i * k + j]);
        printf("]}\n");
    }
    rec_index_destroy(ix);
    free(q), free(lab), free(sc);
    return rc;
}

static int cmd_bench(ix_opts *o)
{
    if (!o->vectors || !o->queries || !o->kind || !o->efs)
        return cli_usage_error("%s", "index bench needs --vectors B.npy, --queries Q.npy, "
                                     "--kind flat|hnsw and --ef LIST");
    uint64_t efs[64];
    int nef = 0;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", o->efs);
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        if (nef == 64)
            return cli_usage_error("--ef: '%s' has more than 64 entries", o->efs);
        if (!cli_parse_uint("--ef", t, 1, 100000, &efs[nef++]))
            return 2;
    }
    rec_index *ix = NULL, *exact = NULL;
    float *x = NULL, *q = NULL;
    int32_t *lab = NULL, *truth = NULL;
    size_t n, dim, nq = 0, k = (size_t)o->k;
    double build_s;
    int rc = build(o, &ix, &build_s, &x, &n, &dim);
    if (!rc)
        rc = read_queries(o->queries, ix, &q, &nq);
    rec_status st;
    if (!rc && (!(lab = malloc(nq * k * sizeof *lab + 1)) ||
                !(truth = malloc(nq * k * sizeof *truth + 1))))
        rc = cli_fail_run(REC_E_NOMEM, "index bench");
    if (!rc && ((st = rec_index_create(&exact, (int)dim, "ip")) ||
                (st = rec_index_add(exact, x, n)) ||
                (st = rec_index_search(exact, q, nq, k, NULL, truth, NULL))))
        rc = cli_fail_run(st, "index bench: exact search");
    /* the exact index answers with the metric's order only for "ip" */
    const char *metric = NULL;
    if (!rc && !rec_params_get_str(o->params, "metric", &metric) && !strcmp(metric, "cosine")) {
        rec_index_destroy(exact);
        if ((st = rec_index_create(&exact, (int)dim, "cosine")) || (st = rec_index_add(exact, x, n)) ||
            (st = rec_index_search(exact, q, nq, k, NULL, truth, NULL)))
            rc = cli_fail_run(st, "index bench: exact search");
    }
    int threads = rec_get_num_threads();
    if (!rc && o->json)
        printf("{\"build_seconds\": %.3f, \"threads\": %d, \"results\": [", build_s, threads);
    else if (!rc)
        printf("build %.3f s on %d threads\n%8s %12s %10s\n", build_s, threads, "ef", "qps",
               "recall");
    for (int e = 0; !rc && e < nef; e++) {
        double t0 = seconds();
        if ((st = rec_index_search_ef(ix, q, nq, k, (size_t)efs[e], NULL, lab, NULL))) {
            rc = cli_fail_run(st, "index bench");
            break;
        }
        double dt = seconds() - t0, hit = 0;
        for (size_t i = 0; i < nq; i++)
            for (size_t a = 0; a < k; a++)
                for (size_t b = 0; b < k; b++)
                    hit += truth[i * k + b] >= 0 && lab[i * k + a] == truth[i * k + b];
        double rec = nq ? hit / (double)(nq * k) : 1.0;
        double qps = dt > 0 ? (double)nq / dt : 0;
        if (o->json)
            printf("%s{\"ef\": %llu, \"qps\": %.1f, \"recall@%zu\": %.4f}", e ? ", " : "",
                   (unsigned long long)efs[e], qps, k, rec);
        else
            printf("%8llu %12.1f %10.4f\n", (unsigned long long)efs[e], qps, rec);
    }
    if (!rc && o->json)
        printf("]}\n");
    rec_index_destroy(ix);
    rec_index_destroy(exact);
    free(x), free(q), free(lab), free(truth);
    return rc;
}

int cli_index(int argc, char **argv)
{
    if (argc < 1)
        return cli_usage_error("%s", "index needs a command: build, search or bench");
    ix_opts o = { .k = 10 };
    if (rec_params_create(&o.params))
        return cli_fail(REC_E_NOMEM, NULL);
    int rc = parse(argc - 1, argv + 1, &o);
    if (!rc) {
        if (!strcmp(argv[0], "build"))
            rc = cmd_build(&o);
        else if (!strcmp(argv[0], "search"))
            rc = cmd_search(&o);
        else if (!strcmp(argv[0], "bench"))
            rc = cmd_bench(&o);
        else
            rc = cli_usage_error("unknown index command '%s'", argv[0]);
    }
    rec_params_destroy(o.params);
    return rc;
}
