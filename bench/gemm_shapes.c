/* The dense products of one W1 SASRec step (batch 128 x 50 positions, d =
 * 50), each through rec_sgemm on the BLAS path and on the small-product
 * kernel (librec/core/gemm_small.c), one thread, in CPU time
 * (CLOCK_PROCESS_CPUTIME_ID: other jobs on the machine slow the wall clock
 * far more).  OPENBLAS_CORETYPE in the environment picks OpenBLAS's kernels.
 * Usage: gemm_shapes [--reps-flops 2e9] */
#include "core/core-impl.h"

#include <librec/librec.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    /* ta, tb, m, n, k: Linear forward (QKV, the d x d ones), its dx, its dW;
     * one attention slice forward and backward */
    static const int S[][5] = { { 0, 1, 6400, 150, 50 }, { 0, 1, 6400, 50, 50 },
                                { 0, 0, 6400, 50, 150 }, { 0, 0, 6400, 50, 50 },
                                { 1, 0, 150, 50, 6400 }, { 1, 0, 50, 50, 6400 },
                                { 0, 1, 50, 50, 50 },    { 0, 0, 50, 50, 50 },
                                { 1, 0, 50, 50, 50 } };
    double budget = argc > 2 && !strcmp(argv[1], "--reps-flops") ? atof(argv[2]) : 2e9;
    rec_set_num_threads(1);
    size_t n = (size_t)1 << 20;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
    if (!a || !b || !c)
        return 1;
    for (size_t i = 0; i < n; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.1f;
        c[i] = 0.0f;
    }
    printf("%-22s %12s %12s\n", "ta tb m x n x k", "BLAS us", "small us");
    for (size_t s = 0; s < sizeof S / sizeof *S; s++) {
        const int *x = S[s];
        int ta = x[0], tb = x[1], m = x[2], nn = x[3], k = x[4];
        double flops = 2.0 * m * nn * k, us[2];
        int reps = (int)(budget / flops) < 3 ? 3 : (int)(budget / flops);
        for (int p = 0; p < 2; p++) {
            rec_gemm_force(p ? REC_GEMM_AVX512 : REC_GEMM_BLAS);
            double t0 = cpu_now();
            for (int r = 0; r < reps; r++)
                rec_sgemm(ta, tb, m, nn, k, 1.0f, a, ta ? m : k, b, tb ? k : nn, 0.0f, c, nn);
            us[p] = (cpu_now() - t0) / reps * 1e6;
        }
        printf("%d  %d  %4d x %3d x %4d %12.1f %12.1f\n", ta, tb, m, nn, k, us[0], us[1]);
    }
    printf("small-product path: %s\n",
           rec_gemm_force(REC_GEMM_AVX512) == REC_GEMM_AVX512 ? "avx512" : "plain C");
    free(a);
    free(b);
    free(c);
    return 0;
}
