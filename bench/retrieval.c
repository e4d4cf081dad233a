/* Exact retrieval on the shapes of the peer ../shared/bench/peers/w4_retrieval.py:
 * 1,000,000 base vectors x 64 and 10,000 queries, standard normal then
 * row-normalised, k = 10, inner product; all queries in one batch (as
 * faiss.IndexFlatIP.search), at each thread count.  Our vectors come from
 * librec's own seeded normal generator, not numpy's: the same distribution,
 * not the same numbers.
 * Prints one JSON line on stdout ({"workload": "W4_retrieval", "results":
 * {"flat_qps_t2": ...}}), progress on stderr.
 * Usage: retrieval [--nb 1000000] [--nq 10000] [--dim 64] [--k 10]
 *                  [--threads 2,1] [--reps 1] */
#include "core/core-impl.h"
#include "librec/retrieval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *normal_rows(size_t n, int dim, uint64_t seed)
{
    float *v = malloc(n * (size_t)dim * sizeof *v);
    if (!v)
        return NULL;
    rec_rng r;
    rec_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        float *row = v + i * (size_t)dim;
        double s = 0;
        for (int d = 0; d < dim; d++) {
            row[d] = rec_rng_normal(&r);
            s += (double)row[d] * row[d];
        }
        float inv = (float)(1.0 / sqrt(s));
        for (int d = 0; d < dim; d++)
            row[d] *= inv;
    }
    return v;
}

int main(int argc, char **argv)
{
    long nb = 1000000, nq = 10000, k = 10, reps = 1;
    int dim = 64;
    char threads[64] = "2,1";
    for (int a = 1; a + 1 < argc; a += 2) {
        if (!strcmp(argv[a], "--nb"))
            nb = atol(argv[a + 1]);
        else if (!strcmp(argv[a], "--nq"))
            nq = atol(argv[a + 1]);
        else if (!strcmp(argv[a], "--dim"))
            dim = atoi(argv[a + 1]);
        else if (!strcmp(argv[a], "--k"))
            k = atol(argv[a + 1]);
        else if (!strcmp(argv[a], "--reps"))
            reps = atol(argv[a + 1]);
        else if (!strcmp(argv[a], "--threads"))
            snprintf(threads, sizeof threads, "%s", argv[a + 1]);
        else {
            fprintf(stderr, "retrieval: unknown option %s\n", argv[a]);
            return 2;
        }
    }
    if (nb < 1 || nq < 1 || k < 1 || dim < 1 || reps < 1) {
        fprintf(stderr, "retrieval: sizes must be positive\n");
        return 2;
    }
    float *xb = normal_rows((size_t)nb, dim, 0), *xq = normal_rows((size_t)nq, dim, 1);
    int32_t *lab = malloc((size_t)nq * (size_t)k * sizeof *lab);
    float *sc = malloc((size_t)nq * (size_t)k * sizeof *sc);
    if (!xb || !xq || !lab || !sc) {
        fprintf(stderr, "retrieval: out of memory\n");
        return 1;
    }
    rec_index *ix;
    if (rec_index_create(&ix, dim, "ip") || rec_index_add(ix, xb, (size_t)nb)) {
        fprintf(stderr, "retrieval: %s\n", rec_last_error());
        return 1;
    }
    printf("{\"workload\": \"W4_retrieval\", \"results\": {\"nb\": %ld, \"nq\": %ld, \"dim\": %d, "
           "\"k\": %ld, \"blas\": \"%s\"",
           nb, nq, dim, k, rec_blas_name());
    char *save = NULL;
    for (char *t = strtok_r(threads, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int nt = atoi(t);
        rec_set_num_threads(nt);
        double best = INFINITY;
        for (long r = 0; r < reps; r++) {
            double t0 = now();
            if (rec_index_search(ix, xq, (size_t)nq, (size_t)k, NULL, lab, sc)) {
                fprintf(stderr, "retrieval: %s\n", rec_last_error());
                return 1;
            }
            double dt = now() - t0;
            best = dt < best ? dt : best;
            fprintf(stderr, "threads %d: %.3f s, %.0f QPS\n", nt, dt, nq / dt);
        }
        printf(", \"flat_sec_t%d\": %.4f, \"flat_qps_t%d\": %.1f", nt, best, nt, nq / best);
    }
    printf("}}\n");
    rec_index_destroy(ix);
    free(xb), free(xq), free(lab), free(sc);
    return 0;
}
