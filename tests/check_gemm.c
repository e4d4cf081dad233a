/* The small-product kernel under rec_sgemm (librec/core/gemm_small.c): the
 * AVX-512 path gives the C path's bits on every transpose pair, odd shape,
 * alpha and beta, and on the long A^T B products it blocks over k; the C path gives a double-precision loop's values; shapes
 * it leaves to BLAS still come out right; and a product split over threads
 * gives the same bits at 1 and 2 threads. */
#include "testutil.h"
#include "core/core-impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const int SIZES[] = { 1, 5, 6, 7, 16, 17, 50, 64, 65, 130 };
#define NSIZES (int)(sizeof SIZES / sizeof *SIZES)

static float *rand_buf(size_t n, unsigned seed)
{
    float *v = malloc((n ? n : 1) * sizeof *v);
    ck_assert_ptr_nonnull(v);
    rec_rng r;
    rec_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(rec_rng_uniform(&r) * 2.0 - 1.0);
    return v;
}

typedef struct prod {
    int ta, tb, m, n, k, lda, ldb, ldc;
    float *a, *b, *c0;  /* c0: C's contents before the product */
} prod;

/* Operands with leading dims a little wider than the rows (the kernel
 * must honour them), C prefilled. */
static prod make(int ta, int tb, int m, int n, int k, unsigned seed)
{
    prod p = { ta, tb, m, n, k, (ta ? m : k) + 3, (tb ? k : n) + 2, n + 5, NULL, NULL, NULL };
    p.a = rand_buf((size_t)(ta ? k : m) * p.lda, seed);
    p.b = rand_buf((size_t)(tb ? n : k) * p.ldb, seed + 1);
    p.c0 = rand_buf((size_t)m * p.ldc, seed + 2);
    return p;
}

static void drop(prod *p)
{
    free(p->a);
    free(p->b);
    free(p->c0);
}

static float *run(const prod *p, float alpha, float beta)
{
    size_t nc = (size_t)p->m * p->ldc;
    float *c = malloc(nc * sizeof *c);
    ck_assert_ptr_nonnull(c);
    memcpy(c, p->c0, nc * sizeof *c);
    rec_sgemm(p->ta, p->tb, p->m, p->n, p->k, alpha, p->a, p->lda, p->b, p->ldb, beta, c,
              p->ldc);
    return c;
}

static void expect_naive(const prod *p, float alpha, float beta, const float *c)
{
    for (int i = 0; i < p->m; i++) {
        for (int j = 0; j < p->n; j++) {
            double s = 0, mag = 0;
            for (int q = 0; q < p->k; q++) {
                double x = p->ta ? p->a[(size_t)q * p->lda + i] : p->a[(size_t)i * p->lda + q];
                double y = p->tb ? p->b[(size_t)j * p->ldb + q] : p->b[(size_t)q * p->ldb + j];
                s += x * y;
                mag += fabs(x * y);
            }
            double old = p->c0[(size_t)i * p->ldc + j];
            double want = alpha * s + (beta == 0.0f ? 0.0 : beta * old);
            double tol = 1e-6 * (fabs(alpha) * mag + fabs(beta * old)) + 1e-7;
            ck_assert_msg(fabs(c[(size_t)i * p->ldc + j] - want) <= tol,
                          "ta %d tb %d %dx%dx%d: C[%d,%d] = %g, want %g", p->ta, p->tb, p->m,
                          p->n, p->k, i, j, (double)c[(size_t)i * p->ldc + j], want);
        }
        /* the padding past column n is never written */
        for (int j = p->n; j < p->ldc; j++)
            ck_assert(c[(size_t)i * p->ldc + j] == p->c0[(size_t)i * p->ldc + j]);
    }
}

START_TEST(forcing_a_path)
{
    ck_assert_int_eq(rec_gemm_force(REC_GEMM_C), REC_GEMM_C);
    ck_assert_int_eq(rec_gemm_path(), REC_GEMM_C);
    ck_assert_int_eq(rec_gemm_force(REC_GEMM_BLAS), REC_GEMM_BLAS);
    int p = rec_gemm_force(REC_GEMM_AVX512);
    ck_assert(p == REC_GEMM_AVX512 || p == REC_GEMM_C);
    p = rec_gemm_force(REC_GEMM_AUTO);
    ck_assert(p == REC_GEMM_AVX512 || p == REC_GEMM_BLAS);
    /* the small path declines B^T with a long inner dim (its stack copy) and
     * k = 0; BLAS takes those */
    rec_gemm_force(REC_GEMM_C);
    float a[1] = { 1 }, b[1] = { 1 }, c[1] = { 7 };
    ck_assert_int_eq(rec_gemm_small(0, 1, 1, 1, 129, 1, a, 129, b, 129, 0, c, 1), 0);
    ck_assert_int_eq(rec_gemm_small(0, 0, 1, 1, 0, 1, a, 1, b, 1, 0, c, 1), 0);
    ck_assert_int_eq(rec_gemm_small(0, 0, 1, 1, 1, 2, a, 1, b, 1, 0.5f, c, 1), 1);
    ck_assert(c[0] == 5.5f);
    rec_gemm_force(REC_GEMM_AUTO);
}
END_TEST

START_TEST(avx512_gives_the_c_paths_bits)
{
    if (rec_gemm_force(REC_GEMM_AVX512) != REC_GEMM_AVX512) {
        rec_gemm_force(REC_GEMM_AUTO);
        return; /* no AVX-512 here: nothing to compare */
    }
    static const float AB[][2] = { { 1, 0 }, { 1, 1 }, { 0.5f, -0.25f }, { -2, 1 } };
    unsigned seed = 1;
    for (int t = 0; t < 4; t++)
        for (int mi = 0; mi < NSIZES; mi++)
            for (int ni = 0; ni < NSIZES; ni++)
                for (int ki = 0; ki < NSIZES; ki += 2) {
                    prod p = make(t & 1, t >> 1, SIZES[mi], SIZES[ni], SIZES[ki], seed += 3);
                    const float *ab = AB[(mi + ni + ki) % 4];
                    rec_gemm_force(REC_GEMM_AVX512);
                    float *x = run(&p, ab[0], ab[1]);
                    rec_gemm_force(REC_GEMM_C);
                    float *y = run(&p, ab[0], ab[1]);
                    ck_assert_msg(memcmp(x, y, (size_t)p.m * p.ldc * sizeof *x) == 0,
                                  "ta %d tb %d %dx%dx%d alpha %g beta %g: paths differ",
                                  p.ta, p.tb, p.m, p.n, p.k, (double)ab[0], (double)ab[1]);
                    free(x);
                    free(y);
                    drop(&p);
                }
    /* A^T B with a long inner dim: blocked over k, partial sums carried */
    static const int LONG[][3] = { { 13, 70, 700 }, { 6, 50, 257 }, { 1, 129, 1000 } };
    for (int s = 0; s < 3; s++) {
        prod p = make(1, 0, LONG[s][0], LONG[s][1], LONG[s][2], seed += 3);
        rec_gemm_force(REC_GEMM_AVX512);
        float *x = run(&p, 0.5f, 1.0f);
        rec_gemm_force(REC_GEMM_C);
        float *y = run(&p, 0.5f, 1.0f);
        ck_assert_int_eq(memcmp(x, y, (size_t)p.m * p.ldc * sizeof *x), 0);
        expect_naive(&p, 0.5f, 1.0f, x);
        free(x);
        free(y);
        drop(&p);
    }
    rec_gemm_force(REC_GEMM_AUTO);
}
END_TEST

START_TEST(every_path_matches_a_naive_loop)
{
    static const int PATHS[3] = { REC_GEMM_C, REC_GEMM_AVX512, REC_GEMM_BLAS };
    /* k = 200 with B^T: the small path hands it to BLAS */
    static const int SHAPES[][3] = { { 7, 65, 17 }, { 50, 150, 50 }, { 130, 5, 64 },
                                     { 6, 64, 200 }, { 1, 1, 1 } };
    for (int pi = 0; pi < 3; pi++) {
        rec_gemm_force(PATHS[pi]);
        for (int t = 0; t < 4; t++)
            for (int s = 0; s < 5; s++) {
                prod p = make(t & 1, t >> 1, SHAPES[s][0], SHAPES[s][1], SHAPES[s][2],
                              (unsigned)(100 + 10 * s + t));
                float *c = run(&p, 1.0f, 0.0f);
                expect_naive(&p, 1.0f, 0.0f, c);
                free(c);
                c = run(&p, 0.5f, 1.0f);
                expect_naive(&p, 0.5f, 1.0f, c);
                free(c);
                drop(&p);
            }
    }
    rec_gemm_force(REC_GEMM_AUTO);
}
END_TEST

/* Large enough for rec_sgemm to split by rows and by columns over the pool
 * (>= 4e6 flops): the same bits on 1 and 2 threads. */
START_TEST(same_bits_at_one_and_two_threads)
{
    static const int SHAPES[][5] = { { 0, 1, 6400, 150, 50 }, { 1, 0, 150, 50, 6400 },
                                     { 0, 0, 40, 2000, 100 } };
    int keep = rec_get_num_threads();
    for (int s = 0; s < 3; s++) {
        const int *sh = SHAPES[s];
        prod p = make(sh[0], sh[1], sh[2], sh[3], sh[4], (unsigned)(7 + s));
        ck_assert_int_eq(rec_set_num_threads(1), REC_OK);
        float *one = run(&p, 1.0f, 1.0f);
        ck_assert_int_eq(rec_set_num_threads(2), REC_OK);
        float *two = run(&p, 1.0f, 1.0f);
        ck_assert_int_eq(memcmp(one, two, (size_t)p.m * p.ldc * sizeof *one), 0);
        expect_naive(&p, 1.0f, 1.0f, two);
        free(one);
        free(two);
        drop(&p);
    }
    ck_assert_int_eq(rec_set_num_threads(keep), REC_OK);
}
END_TEST

Suite *rec_gemm_suite(void)
{
    Suite *s = suite_create("gemm");
    TCase *t = tcase_create("core");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, forcing_a_path);
    tcase_add_test(t, every_path_matches_a_naive_loop);
    tcase_add_test(t, same_bits_at_one_and_two_threads);
    suite_add_tcase(s, t);
    /* sweeps every shape on one thread: not run under TSAN=1 (Makefile) */
    t = tcase_create("sweeps");
    tcase_set_tags(t, "sweep");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, avx512_gives_the_c_paths_bits);
    suite_add_tcase(s, t);
    return s;
}
