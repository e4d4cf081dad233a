/* The fused GRU against the PyTorch peer ../shared/bench/peers/w7_microkernels.py
 * (its "gru" kernel): GRU(input 32, hidden 64) on x[256, 50, 32], forward +
 * backward of out.sum() with gradients for x and every weight, at 2 and 1
 * threads.  Protocol (the peer's): 3 warm-ups, then the median of 20 reps;
 * forward only (no tape) likewise.  Prints one JSON line on stdout.
 * Usage: gru [--threads 2,1] [--reps 20] */
#include "nn/nn-impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define B 256
#define T 50
#define IN 32
#define HID 64

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void die(const char *what)
{
    fprintf(stderr, "gru: %s: %s\n", what, rec_last_error());
    exit(1);
}

/* One iteration; returns its wall time in ms. */
static double step(rec_graph *g, rec_pstore *ps, const rec_nn_gru *m, rec_tensor *x, int back)
{
    double t0 = now();
    rec_graph_reset(g);
    rec_graph_set_grad(g, back);
    rec_pstore_zero_grad(ps);
    rec_tensor *out = rec_nn_gru_forward(g, m, x, NULL, NULL, NULL);
    if (!out)
        die("forward");
    if (back && rec_backward(g, rec_sum(g, out)) != REC_OK)
        die("backward");
    return (now() - t0) * 1e3;
}

static double bench(rec_graph *g, rec_pstore *ps, const rec_nn_gru *m, rec_tensor *x, int back,
                    int reps)
{
    double *t = malloc((size_t)reps * sizeof *t);
    for (int i = 0; i < 3; i++)
        step(g, ps, m, x, back);
    for (int i = 0; i < reps; i++)
        t[i] = step(g, ps, m, x, back);
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    double med = reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
    free(t);
    return med;
}

int main(int argc, char **argv)
{
    const char *threads = "2,1";
    int reps = 20;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--threads 2,1] [--reps N]\n", argv[0]);
            return 2;
        }
    }
    if (reps < 1) {
        fprintf(stderr, "gru: reps must be positive\n");
        return 2;
    }
    rec_pstore *ps;
    rec_graph *g;
    if (rec_pstore_create(&ps) || rec_graph_create(&g))
        die("create");
    rec_rng r;
    rec_rng_seed(&r, 0);
    rec_nn_gru m;
    if (rec_nn_gru_init(&m, ps, "gru", IN, HID, &r) != REC_OK)
        die("init");
    int64_t xs[3] = { B, T, IN };
    rec_tensor *x = rec_pstore_add(ps, "x", 3, xs, 0); /* x needs a gradient, as the peer's */
    if (!x)
        die("x");
    rec_init_normal(x, &r, 0.0f, 1.0f);
    printf("{\"bench\": \"gru\", \"shape\": [%d, %d, %d], \"hidden\": %d, \"reps\": %d",
           B, T, IN, HID, reps);
    for (const char *p = threads; *p;) {
        char *end;
        long nt = strtol(p, &end, 10);
        if (end == p || nt < 1) {
            fprintf(stderr, "gru: bad --threads '%s'\n", threads);
            return 2;
        }
        rec_set_num_threads((int)nt);
        double fb = bench(g, ps, &m, x, 1, reps), fo = bench(g, ps, &m, x, 0, reps);
        printf(", \"t%ld\": {\"gru_fwd_bwd_ms\": %.3f, \"gru_fwd_only_ms\": %.3f}", nt, fb, fo);
        fprintf(stderr, "threads %ld: fwd+bwd %.3f ms, fwd %.3f ms\n", nt, fb, fo);
        p = *end == ',' ? end + 1 : end;
    }
    printf("}\n");
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
    return 0;
}
