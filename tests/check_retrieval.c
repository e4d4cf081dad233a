/* The flat index against a brute-force reference (ip and cosine, k > n,
 * ties), filters (deny, allow, bitmaps, per-query exclude lists), thread
 * counts, concurrent searches, errors and allocation failure. */
#include "testutil.h"

#include <librec/librec.h>
#include <librec/retrieval.h>
#include <math.h>

#include "retrieval/flat-impl.h"
#include "retrieval/ipblock-impl.h"
#include "retrieval/topk-impl.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static float *random_vecs(size_t n, int dim, unsigned seed)
{
    float *v = malloc(n * (size_t)dim * sizeof *v);
    ck_assert_ptr_nonnull(v);
    srand(seed);
    for (size_t i = 0; i < n * (size_t)dim; i++)
        v[i] = (float)rand() / RAND_MAX * 2.0f - 1.0f;
    return v;
}

/* Reference: scores in double over (possibly normalised) vectors, then the
 * k best by (score desc, label asc); allowed(q, j) says which labels pass. */
typedef int (*pass_fn)(size_t q, int32_t j, void *ctx);

static void brute(const float *x, size_t n, const float *qs, size_t nq, int dim, int cosine,
                  size_t k, pass_fn pass, void *pctx, int32_t *lab, float *sc)
{
    double *s = malloc(n * sizeof *s);
    char *used = malloc(n);
    for (size_t q = 0; q < nq; q++) {
        const float *qv = qs + q * dim;
        double qn = 0;
        for (int d = 0; d < dim; d++)
            qn += (double)qv[d] * qv[d];
        for (size_t i = 0; i < n; i++) {
            double dot = 0, xn = 0;
            for (int d = 0; d < dim; d++) {
                dot += (double)qv[d] * x[i * dim + d];
                xn += (double)x[i * dim + d] * x[i * dim + d];
            }
            s[i] = cosine ? dot / sqrt(qn * xn) : dot;
            used[i] = pass && !pass(q, (int32_t)i, pctx);
        }
        for (size_t j = 0; j < k; j++) {
            size_t best = n;
            for (size_t i = 0; i < n; i++)
                if (!used[i] && (best == n || s[i] > s[best]))
                    best = i;
            lab[q * k + j] = best == n ? -1 : (int32_t)best;
            sc[q * k + j] = best == n ? -INFINITY : (float)s[best];
            if (best < n)
                used[best] = 1;
        }
    }
    free(s);
    free(used);
}

/* Scores agree to float rounding; labels agree except where the reference
 * scores of the two labels are within rounding (near-ties). */
static void check_same(const int32_t *lab, const float *sc, const int32_t *rl, const float *rs,
                       size_t total)
{
    for (size_t j = 0; j < total; j++) {
        if (rl[j] < 0) {
            ck_assert_int_eq(lab[j], -1);
            ck_assert(isinf(sc[j]) && sc[j] < 0);
            continue;
        }
        ck_assert_float_near(sc[j], rs[j], 1e-4);
        if (lab[j] != rl[j])
            ck_assert_float_near(sc[j], rs[j], 1e-6);
    }
}

static void run_vs_brute(const char *metric, size_t n, size_t nq, int dim, size_t k)
{
    int cosine = strcmp(metric, "cosine") == 0;
    float *x = random_vecs(n, dim, 7), *qs = random_vecs(nq, dim, 8);
    rec_index *ix;
    ck_assert_int_eq(rec_index_create(&ix, dim, metric), REC_OK);
    /* Two adds: labels continue across calls. */
    ck_assert_int_eq(rec_index_add(ix, x, n / 3), REC_OK);
    ck_assert_int_eq(rec_index_add(ix, x + (n / 3) * dim, n - n / 3), REC_OK);
    size_t sz;
    ck_assert_int_eq(rec_index_size(ix, &sz), REC_OK);
    ck_assert_uint_eq(sz, n);
    int32_t *lab = malloc(nq * k * sizeof *lab), *rl = malloc(nq * k * sizeof *rl);
    float *sc = malloc(nq * k * sizeof *sc), *rs = malloc(nq * k * sizeof *rs);
    ck_assert_int_eq(rec_index_search(ix, qs, nq, k, NULL, lab, sc), REC_OK);
    brute(x, n, qs, nq, dim, cosine, k, NULL, NULL, rl, rs);
    check_same(lab, sc, rl, rs, nq * k);
    /* Labels only (scores NULL) give the same labels. */
    int32_t *lab2 = malloc(nq * k * sizeof *lab2);
    ck_assert_int_eq(rec_index_search(ix, qs, nq, k, NULL, lab2, NULL), REC_OK);
    ck_assert_mem_eq(lab, lab2, nq * k * sizeof *lab);
    free(lab2);
    rec_index_destroy(ix);
    free(x), free(qs), free(lab), free(rl), free(sc), free(rs);
}

/* Both paths: the fused AVX-512 kernel (where the CPU has it) and BLAS. */
START_TEST(flat_ip_matches_brute_force)
{
    rec_flat_set_kernel(_i);
    run_vs_brute("ip", 3000, 300, 16, 10); /* several item and query blocks */
    run_vs_brute("ip", 1000, 13, 64, 3);   /* short query groups, dim of W4 */
    rec_flat_set_kernel(1);
}
END_TEST

START_TEST(flat_cosine_matches_brute_force)
{
    rec_flat_set_kernel(_i);
    run_vs_brute("cosine", 2100, 5, 7, 5);
    rec_flat_set_kernel(1);
}
END_TEST

START_TEST(k_larger_than_n_pads)
{
    rec_flat_set_kernel(_i);
    run_vs_brute("ip", 6, 3, 4, 10);
    rec_flat_set_kernel(1);
    /* An empty index pads everything. */
    rec_index *ix;
    ck_assert_int_eq(rec_index_create(&ix, 2, "ip"), REC_OK);
    float q[2] = { 1, 0 }, s[2];
    int32_t l[2];
    ck_assert_int_eq(rec_index_search(ix, q, 1, 2, NULL, l, s), REC_OK);
    ck_assert_int_eq(l[0], -1);
    ck_assert_int_eq(l[1], -1);
    ck_assert(isinf(s[0]) && s[0] < 0);
    rec_index_destroy(ix);
}
END_TEST

START_TEST(ties_go_to_the_lower_label)
{
    /* Items 0..2499 in three groups of equal vectors; label order decides. */
    enum { N = 2500 };
    float *x = malloc(N * 2 * sizeof *x);
    for (int i = 0; i < N; i++) {
        x[2 * i] = (float)(i % 3);
        x[2 * i + 1] = 0;
    }
    rec_index *ix;
    ck_assert_int_eq(rec_index_create(&ix, 2, "ip"), REC_OK);
    ck_assert_int_eq(rec_index_add(ix, x, N), REC_OK);
    float q[2] = { 1, 0 }, s[4];
    int32_t l[4];
    ck_assert_int_eq(rec_index_search(ix, q, 1, 4, NULL, l, s), REC_OK);
    int32_t want[4] = { 2, 5, 8, 11 };
    ck_assert_mem_eq(l, want, sizeof want);
    ck_assert_float_eq(s[3], 2.0f);
    /* NaN scores are never returned. */
    float nanq[2] = { NAN, 0 };
    ck_assert_int_eq(rec_index_search(ix, nanq, 1, 4, NULL, l, s), REC_OK);
    ck_assert_int_eq(l[0], -1);
    rec_index_destroy(ix);
    free(x);
}
END_TEST

typedef struct fctx {
    const char *deny, *allow; /* per label, or NULL */
    const int64_t *ptr;
    const int32_t *ids;
} fctx;

static int pass_ref(size_t q, int32_t j, void *arg)
{
    const fctx *f = arg;
    if (f->deny && f->deny[j])
        return 0;
    if (f->allow && !f->allow[j])
        return 0;
    if (f->ptr)
        for (int64_t t = f->ptr[q]; t < f->ptr[q + 1]; t++)
            if (f->ids[t] == j)
                return 0;
    return 1;
}

START_TEST(filters_deny_allow_exclude)
{
    rec_flat_set_kernel(_i);
    enum { N = 2600, NQ = 4, DIM = 8, K = 6 };
    float *x = random_vecs(N, DIM, 11), *qs = random_vecs(NQ, DIM, 12);
    rec_index *ix;
    ck_assert_int_eq(rec_index_create(&ix, DIM, "ip"), REC_OK);
    ck_assert_int_eq(rec_index_add(ix, x, N), REC_OK);
    int32_t lab[NQ * K], rl[NQ * K];
    float sc[NQ * K], rs[NQ * K];
    /* First find each query's unfiltered top, then filter it away. */
    ck_assert_int_eq(rec_index_search(ix, qs, NQ, K, NULL, lab, sc), REC_OK);
    static char deny[N], allow[N];
    int32_t dl[NQ];
    for (int q = 0; q < NQ; q++) {
        dl[q] = lab[q * K];
        deny[dl[q]] = 1;
    }
    rec_filter *f;
    ck_assert_int_eq(rec_filter_create(&f, N), REC_OK);
    ck_assert_int_eq(rec_filter_deny(f, dl, NQ), REC_OK);
    ck_assert_int_eq(rec_index_search(ix, qs, NQ, K, f, lab, sc), REC_OK);
    fctx fc = { deny, NULL, NULL, NULL };
    brute(x, N, qs, NQ, DIM, 0, K, pass_ref, &fc, rl, rs);
    check_same(lab, sc, rl, rs, NQ * K);
    for (int q = 0; q < NQ; q++)
        for (int j = 0; j < K; j++)
            ck_assert_int_ne(lab[q * K + j], dl[q]);

    /* Allow only even labels below 2000, through a bitmap (deny stays). */
    uint8_t bits[N / 8 + 1] = { 0 };
    for (int j = 0; j < 2000; j += 2) {
        bits[j / 8] |= (uint8_t)(1u << (j % 8));
        allow[j] = 1;
    }
    ck_assert_int_eq(rec_filter_allow_bitmap(f, bits, 2000), REC_OK);
    /* Per-query exclude lists (unsorted, with a repeat). */
    int64_t ptr[NQ + 1] = { 0, 3, 3, 5, 6 };
    int32_t ids[6] = { 10, 4, 10, 6, 8, 0 };
    ck_assert_int_eq(rec_filter_exclude_csr(f, NQ, ptr, ids), REC_OK);
    ck_assert_int_eq(rec_index_search(ix, qs, NQ, K, f, lab, sc), REC_OK);
    fctx fc2 = { deny, allow, ptr, ids };
    brute(x, N, qs, NQ, DIM, 0, K, pass_ref, &fc2, rl, rs);
    check_same(lab, sc, rl, rs, NQ * K);
    for (int j = 0; j < NQ * K; j++)
        ck_assert(lab[j] % 2 == 0 && lab[j] < 2000);

    /* Allow by label list, everything else denied: fewer than k pass. */
    rec_filter *g;
    ck_assert_int_eq(rec_filter_create(&g, N), REC_OK);
    int32_t few[2] = { 7, 9 };
    ck_assert_int_eq(rec_filter_allow(g, few, 2), REC_OK);
    uint8_t dbits[2] = { 0x80, 0 }; /* label 7 denied */
    ck_assert_int_eq(rec_filter_deny_bitmap(g, dbits, 16), REC_OK);
    ck_assert_int_eq(rec_index_search(ix, qs, 1, K, g, lab, sc), REC_OK);
    ck_assert_int_eq(lab[0], 9);
    ck_assert_int_eq(lab[1], -1);
    /* Exclude lists for another query count are refused. */
    ck_assert_int_eq(rec_index_search(ix, qs, 2, K, f, lab, sc), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "exclude lists for 4 queries, not 2"));
    rec_filter_destroy(f);
    rec_filter_destroy(g);
    rec_filter_destroy(NULL);
    rec_index_destroy(ix);
    free(x), free(qs);
    rec_flat_set_kernel(1);
}
END_TEST

START_TEST(thread_counts_give_identical_results)
{
    /* 700 queries = 6 query blocks; 1 query splits over item blocks. */
    enum { N = 5000, DIM = 12, K = 7 };
    size_t nqs[2] = { 700, 1 };
    float *x = random_vecs(N, DIM, 3), *qs = random_vecs(700, DIM, 4);
    rec_index *ix;
    ck_assert_int_eq(rec_index_create(&ix, DIM, "cosine"), REC_OK);
    ck_assert_int_eq(rec_index_add(ix, x, N), REC_OK);
    int saved = rec_get_num_threads();
    rec_flat_set_kernel(_i);
    for (int t = 0; t < 2; t++) {
        size_t nq = nqs[t];
        int32_t *l1 = malloc(nq * K * sizeof *l1), *l2 = malloc(nq * K * sizeof *l2);
        float *s1 = malloc(nq * K * sizeof *s1), *s2 = malloc(nq * K * sizeof *s2);
        ck_assert_int_eq(rec_set_num_threads(1), REC_OK);
        ck_assert_int_eq(rec_index_search(ix, qs, nq, K, NULL, l1, s1), REC_OK);
        ck_assert_int_eq(rec_set_num_threads(2), REC_OK);
        ck_assert_int_eq(rec_index_search(ix, qs, nq, K, NULL, l2, s2), REC_OK);
        ck_assert_mem_eq(l1, l2, nq * K * sizeof *l1);
        ck_assert_mem_eq(s1, s2, nq * K * sizeof *s1);
        free(l1), free(l2), free(s1), free(s2);
    }
    rec_flat_set_kernel(1);
    rec_set_num_threads(saved);
    rec_index_destroy(ix);
    free(x), free(qs);
}
END_TEST

typedef struct conc {
    const rec_index *ix;
    const float *qs;
    int32_t lab[50 * 5];
    rec_status st;
} conc;

static void *search_thread(void *arg)
{
    conc *c = arg;
    for (int r = 0; r < 5; r++)
        c->st |= rec_index_search(c->ix, c->qs, 50, 5, NULL, c->lab, NULL);
    return NULL;
}

START_TEST(concurrent_searches_on_one_index)
{
    enum { N = 3000, DIM = 8 };
    float *x = random_vecs(N, DIM, 5), *qs = random_vecs(50, DIM, 6);
    rec_index *ix;
    ck_assert_int_eq(rec_index_create(&ix, DIM, "ip"), REC_OK);
    ck_assert_int_eq(rec_index_add(ix, x, N), REC_OK);
    int32_t ref[50 * 5];
    ck_assert_int_eq(rec_index_search(ix, qs, 50, 5, NULL, ref, NULL), REC_OK);
    int saved = rec_get_num_threads();
    rec_set_num_threads(1);
    conc c[3];
    pthread_t th[3];
    for (int t = 0; t < 3; t++) {
        c[t].ix = ix;
        c[t].qs = qs;
        c[t].st = REC_OK;
        ck_assert_int_eq(pthread_create(&th[t], NULL, search_thread, &c[t]), 0);
    }
    for (int t = 0; t < 3; t++) {
        pthread_join(th[t], NULL);
        ck_assert_int_eq(c[t].st, REC_OK);
        ck_assert_mem_eq(c[t].lab, ref, sizeof ref);
    }
    rec_set_num_threads(saved);
    rec_index_destroy(ix);
    free(x), free(qs);
}
END_TEST

START_TEST(errors_name_the_argument)
{
    rec_index *ix = (rec_index *)1;
    ck_assert_int_eq(rec_index_create(&ix, 0, "ip"), REC_E_INVALID);
    ck_assert_ptr_null(ix);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "rec_index_create: dim = 0"));
    ck_assert_int_eq(rec_index_create(&ix, 4, "l2"), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "unknown metric 'l2'"));
    ck_assert_int_eq(rec_index_create(&ix, 4, NULL), REC_E_INVALID);
    ck_assert_int_eq(rec_index_create(NULL, 4, "ip"), REC_E_INVALID);
    ck_assert_int_eq(rec_index_create(&ix, 2, "ip"), REC_OK);
    float v[4] = { 1, 2, 3, 4 }, s[2];
    int32_t l[2];
    ck_assert_int_eq(rec_index_add(NULL, v, 2), REC_E_INVALID);
    ck_assert_int_eq(rec_index_add(ix, NULL, 2), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "rec_index_add: vecs is NULL"));
    ck_assert_int_eq(rec_index_add(ix, v, (size_t)INT32_MAX + 1), REC_E_RANGE);
    ck_assert_int_eq(rec_index_add(ix, v, 2), REC_OK);
    int dim;
    ck_assert_int_eq(rec_index_dim(ix, &dim), REC_OK);
    ck_assert_int_eq(dim, 2);
    ck_assert_int_eq(rec_index_search(ix, v, 1, 0, NULL, l, s), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "rec_index_search: k is 0"));
    ck_assert_int_eq(rec_index_search(ix, NULL, 1, 1, NULL, l, s), REC_E_INVALID);
    ck_assert_int_eq(rec_index_search(ix, v, 1, 1, NULL, NULL, s), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "labels is NULL"));
    ck_assert_int_eq(rec_index_search(NULL, v, 1, 1, NULL, l, s), REC_E_INVALID);
    ck_assert_int_eq(rec_index_search(ix, v, 0, 1, NULL, l, s), REC_OK); /* nothing to do */

    rec_filter *f;
    ck_assert_int_eq(rec_filter_create(&f, 10), REC_OK);
    int32_t bad[2] = { 3, 10 };
    ck_assert_int_eq(rec_filter_deny(f, bad, 2), REC_E_RANGE);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "labels[1] = 10 is outside [0, 10)"));
    ck_assert_int_eq(rec_filter_allow(NULL, bad, 1), REC_E_INVALID);
    uint8_t b[2] = { 0, 0 };
    ck_assert_int_eq(rec_filter_deny_bitmap(f, b, 16), REC_E_RANGE);
    int64_t p1[3] = { 1, 1, 2 }, p2[3] = { 0, 2, 1 }, p3[2] = { 0, 1 };
    ck_assert_int_eq(rec_filter_exclude_csr(f, 2, p1, bad), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "indptr[0] = 1"));
    ck_assert_int_eq(rec_filter_exclude_csr(f, 2, p2, bad), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(),
                     "rec_filter_exclude_csr: exclude lists: indptr decreases at row 1 (2 > 1)");
    ck_assert_int_eq(rec_filter_exclude_csr(f, 1, p3, bad + 1), REC_E_RANGE);
    ck_assert_str_eq(rec_last_error(),
                     "rec_filter_exclude_csr: exclude lists: indices[0] = 10 is outside [0, 10)");
    ck_assert_int_eq(rec_filter_exclude_csr(f, 1, NULL, bad), REC_E_INVALID);
    rec_filter_destroy(f);
    ck_assert_int_eq(rec_filter_create(&f, (size_t)INT32_MAX + 1), REC_E_RANGE);
    ck_assert_ptr_null(f);
    rec_index_destroy(ix);
    rec_index_destroy(NULL);
}
END_TEST

START_TEST(allocation_failures_leak_nothing)
{
    float *x = random_vecs(1500, 4, 9), *qs = random_vecs(3, 4, 10);
    int64_t ptr[4] = { 0, 1, 2, 2 };
    int32_t ids[2] = { 1, 2 }, lab[9];
    int ok = 0;
    tu_alloc_install();
    for (long fail = 1; fail < 40 && !ok; fail++) {
        tu_alloc_fail_at(fail);
        rec_index *ix = NULL;
        rec_filter *f = NULL;
        rec_status st = rec_index_create(&ix, 4, "cosine");
        if (!st)
            st = rec_index_add(ix, x, 1000);
        if (!st)
            st = rec_index_add(ix, x + 4000, 500);
        if (!st)
            st = rec_filter_create(&f, 1500);
        if (!st)
            st = rec_filter_deny(f, ids, 1);
        if (!st)
            st = rec_filter_exclude_csr(f, 3, ptr, ids);
        if (!st)
            st = rec_index_search(ix, qs, 3, 3, f, lab, NULL);
        if (st)
            ck_assert_int_eq(st, REC_E_NOMEM);
        ok = st == REC_OK;
        rec_filter_destroy(f);
        rec_index_destroy(ix);
        ck_assert_int_eq(tu_alloc_live(), 0);
    }
    tu_alloc_fail_at(0);
    tu_alloc_remove();
    ck_assert(ok);
    free(x), free(qs);
}
END_TEST

/* ---- the exact serving kernel and top-k ----------------------------------- */

/* Every score of the block kernel is s = fma(q[t], y[t], s) over t in
 * order, whatever the block size and the CPU's kernel: the portable one
 * and the chosen one agree with that reference bit for bit, and padding
 * items score 0. */
START_TEST(ipblock_one_order_for_every_block)
{
    const int n = 37, d = 19;
    float *y = random_vecs((size_t)n, d, 5), *q = random_vecs(8, d, 6);
    rec_ippack pk;
    ck_assert_int_eq(rec_ippack_build(&pk, y, n, d, "test"), REC_OK);
    size_t ld = rec_ippack_padded(n);
    ck_assert_uint_eq(ld, 48);
    float *out = malloc(8 * ld * sizeof *out);
    for (int portable = 0; portable < 2; portable++) {
        rec_ipblock_force_portable(portable);
        for (int nq = 1; nq <= REC_IPBLOCK_MAXQ; nq++) {
            memset(out, 0xff, 8 * ld * sizeof *out);
            rec_ipblock_scores(&pk, q, nq, out, ld);
            for (int r = 0; r < nq; r++)
                for (size_t i = 0; i < ld; i++) {
                    float want = 0;
                    for (int t = 0; i < (size_t)n && t < d; t++)
                        want = fmaf(q[r * d + t], y[i * d + t], want);
                    ck_assert_msg(memcmp(&out[r * ld + i], &want, sizeof want) == 0,
                                  "%s nq %d user %d item %zu: %.9g != %.9g",
                                  rec_ipblock_kernel_name(), nq, r, i, out[r * ld + i], want);
                }
        }
    }
    rec_ipblock_force_portable(0);
    rec_ippack_free(&pk);
    free(out);
    free(y);
    free(q);
}
END_TEST

/* rec_topk (which skips blocks of 16 that cannot enter the heap) against a
 * full sort: ties to the lower index, -inf and NaN never chosen. */
START_TEST(topk_matches_a_sort)
{
    enum { N = 203 };
    float v[N];
    srand(9);
    for (int i = 0; i < N; i++)
        v[i] = (float)(rand() % 40);
    v[7] = -INFINITY;
    v[100] = NAN;
    v[150] = 39;
    for (size_t k = 1; k <= 30; k += 7) {
        int32_t idx[30], want[30];
        float val[30];
        size_t got = rec_topk(v, N, k, idx, val), w = 0;
        for (int s = 39; s >= 0 && w < k; s--)
            for (int i = 0; i < N && w < k; i++)
                if (v[i] == (float)s)
                    want[w++] = i;
        ck_assert_uint_eq(got, k);
        for (size_t j = 0; j < k; j++) {
            ck_assert_int_eq(idx[j], want[j]);
            ck_assert_float_eq(val[j], v[want[j]]);
        }
    }
}
END_TEST

Suite *rec_retrieval_suite(void)
{
    Suite *s = suite_create("retrieval");
    TCase *tc = tcase_create("flat");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, flat_ip_matches_brute_force, 0, 2);
    tcase_add_loop_test(tc, flat_cosine_matches_brute_force, 0, 2);
    tcase_add_loop_test(tc, k_larger_than_n_pads, 0, 2);
    tcase_add_test(tc, ties_go_to_the_lower_label);
    tcase_add_loop_test(tc, filters_deny_allow_exclude, 0, 2);
    tcase_add_loop_test(tc, thread_counts_give_identical_results, 0, 2);
    tcase_add_test(tc, concurrent_searches_on_one_index);
    tcase_add_test(tc, errors_name_the_argument);
    tcase_add_test(tc, allocation_failures_leak_nothing);
    tcase_add_test(tc, ipblock_one_order_for_every_block);
    tcase_add_test(tc, topk_matches_a_sort);
    suite_add_tcase(s, tc);
    return s;
}
