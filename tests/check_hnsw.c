/* The HNSW index: recall against exact search (ip and cosine, 1 and 2
 * build threads), the dot kernels against each other, filters inside the
 * search, tombstones and slot reuse, save/load, the non-blocking writers,
 * errors, allocation failure, and searches racing an adder (for TSAN). */
#include "testutil.h"

#include <librec/librec.h>
#include <librec/retrieval.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "retrieval/dot-impl.h"

/* n Gaussian vectors (Box-Muller on a fixed LCG), unit length if unit. */
static float *gauss(size_t n, int dim, unsigned seed, int unit)
{
    float *v = malloc(n * (size_t)dim * sizeof *v);
    ck_assert_ptr_nonnull(v);
    uint64_t s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n * (size_t)dim; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        double u1 = ((s >> 11) + 1.0) / 9007199254740993.0;
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        double u2 = (s >> 11) / 9007199254740992.0;
        v[i] = (float)(sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2));
    }
    for (size_t i = 0; unit && i < n; i++) {
        double nn = 0;
        for (int d = 0; d < dim; d++)
            nn += (double)v[i * dim + d] * v[i * dim + d];
        for (int d = 0; d < dim; d++)
            v[i * dim + d] /= (float)sqrt(nn);
    }
    return v;
}

static rec_index *hnsw_new(int dim, const char *metric, int M, int efc)
{
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    ck_assert_int_eq(rec_params_set_str(p, "metric", metric), REC_OK);
    ck_assert_int_eq(rec_params_set_int(p, "M", M), REC_OK);
    ck_assert_int_eq(rec_params_set_int(p, "ef_construction", efc), REC_OK);
    ck_assert_int_eq(rec_params_set_int(p, "seed", 5), REC_OK);
    rec_index *ix;
    ck_assert_msg(rec_index_create_kind(&ix, "hnsw", dim, p) == REC_OK, "%s", rec_last_error());
    rec_params_destroy(p);
    return ix;
}

static rec_index *flat_of(const float *x, size_t n, int dim, const char *metric)
{
    rec_index *ix;
    ck_assert_int_eq(rec_index_create(&ix, dim, metric), REC_OK);
    ck_assert_int_eq(rec_index_add(ix, x, n), REC_OK);
    return ix;
}

/* Mean |a_q ∩ b_q| / |b_q| over queries (labels -1 in b do not count). */
static double recall(const int32_t *a, const int32_t *b, size_t nq, size_t k)
{
    double hit = 0, tot = 0;
    for (size_t q = 0; q < nq; q++)
        for (size_t j = 0; j < k; j++) {
            int32_t t = b[q * k + j];
            if (t < 0)
                continue;
            tot++;
            for (size_t i = 0; i < k; i++)
                hit += a[q * k + i] == t;
        }
    return tot ? hit / tot : 1.0;
}

enum { N = 3000, DIM = 24, NQ = 200, K = 10 };

static void recall_case(const char *metric, int unit, int threads)
{
    float *x = gauss(N, DIM, 1, unit), *q = gauss(NQ, DIM, 2, unit);
    ck_assert_int_eq(rec_set_num_threads(threads), REC_OK);
    rec_index *h = hnsw_new(DIM, metric, 16, 100), *f = flat_of(x, N, DIM, metric);
    int32_t lab[N / 3];
    ck_assert_int_eq(rec_index_add_labels(h, x, N / 3, lab), REC_OK);
    ck_assert_int_eq(lab[0], 0);
    ck_assert_int_eq(lab[N / 3 - 1], N / 3 - 1);
    ck_assert_int_eq(rec_index_add(h, x + (size_t)(N / 3) * DIM, N - N / 3), REC_OK);
    int32_t *a = malloc(NQ * K * sizeof *a), *b = malloc(NQ * K * sizeof *b);
    float *sa = malloc(NQ * K * sizeof *sa), *sb = malloc(NQ * K * sizeof *sb);
    ck_assert_int_eq(rec_index_search_ef(h, q, NQ, K, 64, NULL, a, sa), REC_OK);
    ck_assert_int_eq(rec_index_search(f, q, NQ, K, NULL, b, sb), REC_OK);
    double r = recall(a, b, NQ, K);
    ck_assert_msg(r >= 0.95, "%s: recall@10 %.3f < 0.95", metric, r);
    /* Scores are the exact ones of the labels returned, best first. */
    for (size_t i = 0; i < NQ * K; i++) {
        if (i % K)
            ck_assert(sa[i] <= sa[i - 1]);
        for (size_t j = 0; j < K; j++)
            if (b[i / K * K + j] == a[i])
                ck_assert_float_near(sa[i], sb[i / K * K + j], 1e-5);
    }
    /* A wider search is at least as good, and ef below k still gives k. */
    ck_assert_int_eq(rec_index_search_ef(h, q, NQ, K, 256, NULL, a, NULL), REC_OK);
    ck_assert_double_ge(recall(a, b, NQ, K), r - 0.01);
    ck_assert_int_eq(rec_index_search_ef(h, q, NQ, K, 1, NULL, a, NULL), REC_OK);
    for (size_t i = 0; i < NQ * K; i++)
        ck_assert_int_ge(a[i], 0);
    ck_assert_str_eq(rec_index_kind(h), "hnsw");
    ck_assert_str_eq(rec_index_kind(f), "flat");
    rec_index_destroy(h);
    rec_index_destroy(f);
    rec_set_num_threads(1);
    free(x), free(q), free(a), free(b), free(sa), free(sb);
}

START_TEST(recall_ip_vs_exact)
{
    recall_case("ip", 1, 1 + _i);
}
END_TEST

START_TEST(recall_cosine_vs_exact)
{
    recall_case("cosine", 0, 1 + _i);
}
END_TEST

/* One thread: the graph depends on the seed alone. */
START_TEST(same_seed_same_results)
{
    float *x = gauss(800, 8, 3, 1), *q = gauss(20, 8, 4, 1);
    int32_t a[200], b[200];
    ck_assert_int_eq(rec_set_num_threads(1), REC_OK);
    for (int t = 0; t < 2; t++) {
        rec_index *h = hnsw_new(8, "ip", 8, 40);
        ck_assert_int_eq(rec_index_add(h, x, 800), REC_OK);
        ck_assert_int_eq(rec_index_search_ef(h, q, 20, 10, 16, NULL, t ? b : a, NULL), REC_OK);
        rec_index_destroy(h);
    }
    ck_assert_mem_eq(a, b, sizeof a);
    free(x), free(q);
}
END_TEST

START_TEST(dot_kernels_agree)
{
    float a[80], b[80];
    for (int i = 0; i < 80; i++) {
        a[i] = (float)sin(i * 0.7);
        b[i] = (float)cos(i * 1.3);
    }
    rec_dot_fn best = rec_dot_kernel();
    rec_dot_force_portable(1);
    rec_dot_fn port = rec_dot_kernel();
    ck_assert_str_eq(rec_dot_kernel_name(), "portable");
    rec_dot_force_portable(0);
    for (size_t n = 16; n <= 80; n += 16) {
        double ref = 0;
        for (size_t i = 0; i < n; i++)
            ref += (double)a[i] * b[i];
        ck_assert_float_near(best(a, b, n), ref, 1e-4);
        ck_assert_float_near(port(a, b, n), ref, 1e-4);
    }
}
END_TEST

/* ---- filters ---- */

static int not_multiple_of_3(int32_t label, size_t query, void *ctx)
{
    (void)query;
    atomic_int *calls = ctx;
    atomic_fetch_add(calls, 1);
    return label % 3 != 0;
}

START_TEST(filters_inside_the_search)
{
    float *x = gauss(N, DIM, 5, 1), *q = gauss(NQ, DIM, 6, 1);
    rec_index *h = hnsw_new(DIM, "ip", 16, 100), *f = flat_of(x, N, DIM, "ip");
    ck_assert_int_eq(rec_index_add(h, x, N), REC_OK);
    rec_filter *flt;
    ck_assert_int_eq(rec_filter_create(&flt, N), REC_OK);
    /* Deny every even label; exclude the exact top 5 of each query. */
    int32_t even[N / 2];
    for (int i = 0; i < N / 2; i++)
        even[i] = 2 * i;
    ck_assert_int_eq(rec_filter_deny(flt, even, N / 2), REC_OK);
    int32_t *top = malloc(NQ * 5 * sizeof *top);
    ck_assert_int_eq(rec_index_search(f, q, NQ, 5, NULL, top, NULL), REC_OK);
    int64_t ptr[NQ + 1];
    for (int i = 0; i <= NQ; i++)
        ptr[i] = 5 * i;
    ck_assert_int_eq(rec_filter_exclude_csr(flt, NQ, ptr, top), REC_OK);
    atomic_int calls;
    atomic_init(&calls, 0);
    ck_assert_int_eq(rec_filter_set_predicate(flt, not_multiple_of_3, &calls), REC_OK);
    int32_t *a = malloc(NQ * K * sizeof *a), *b = malloc(NQ * K * sizeof *b);
    ck_assert_int_eq(rec_index_search_ef(h, q, NQ, K, 64, flt, a, NULL), REC_OK);
    ck_assert_int_eq(rec_index_search(f, q, NQ, K, flt, b, NULL), REC_OK);
    ck_assert_int_gt(atomic_load(&calls), 0);
    for (size_t i = 0; i < NQ * K; i++) {
        ck_assert_int_ge(a[i], 0); /* still k results */
        ck_assert_int_eq(a[i] % 2, 1);
        ck_assert_int_ne(a[i] % 3, 0);
        for (int j = 0; j < 5; j++)
            ck_assert_int_ne(a[i], top[i / K * 5 + j]);
        ck_assert_int_eq(b[i] % 2, 1); /* the flat index honours the predicate too */
        ck_assert_int_ne(b[i] % 3, 0);
    }
    double r = recall(a, b, NQ, K);
    ck_assert_msg(r >= 0.9, "filtered recall %.3f", r);
    /* An allow set of 7 labels: exactly those come back, then padding. */
    rec_filter *few;
    ck_assert_int_eq(rec_filter_create(&few, N), REC_OK);
    int32_t seven[7] = { 3, 100, 999, 1500, 2001, 2500, 2999 };
    ck_assert_int_eq(rec_filter_allow(few, seven, 7), REC_OK);
    ck_assert_int_eq(rec_index_search_ef(h, q, NQ, K, 16, few, a, NULL), REC_OK);
    for (size_t qi = 0; qi < NQ; qi++) {
        int found = 0;
        for (int j = 0; j < K; j++) {
            int32_t l = a[qi * K + j];
            if (j < 7) {
                int in = 0;
                for (int t = 0; t < 7; t++)
                    in |= l == seven[t];
                found += in;
            } else {
                ck_assert_int_eq(l, -1);
            }
        }
        ck_assert_int_eq(found, 7);
    }
    rec_filter_destroy(few);
    rec_filter_destroy(flt);
    rec_index_destroy(h);
    rec_index_destroy(f);
    free(x), free(q), free(a), free(b), free(top);
}
END_TEST

/* ---- tombstones and reuse ---- */

START_TEST(deleted_never_returned_and_k_still_met)
{
    float *x = gauss(N, DIM, 7, 1), *q = gauss(NQ, DIM, 8, 1);
    rec_index *h = hnsw_new(DIM, "ip", 16, 100);
    ck_assert_int_eq(rec_index_add(h, x, N), REC_OK);
    /* Delete the exact top 20 of the first queries and every 3rd label. */
    rec_index *f = flat_of(x, N, DIM, "ip");
    int32_t *top = malloc(NQ * 20 * sizeof *top);
    ck_assert_int_eq(rec_index_search(f, q, NQ, 20, NULL, top, NULL), REC_OK);
    char *dead = calloc(N, 1);
    int32_t *del = malloc(N * sizeof *del);
    size_t nd = 0;
    for (int i = 0; i < N; i++)
        if (i % 3 == 0 || i == top[0] || i == top[5])
            del[nd++] = i, dead[i] = 1;
    ck_assert_int_eq(rec_index_delete(h, del, nd), REC_OK);
    size_t live, slots;
    ck_assert_int_eq(rec_index_count(h, &live), REC_OK);
    ck_assert_int_eq(rec_index_size(h, &slots), REC_OK);
    ck_assert_uint_eq(live, N - nd);
    ck_assert_uint_eq(slots, N);
    /* Exact answer over the live labels: a filter denying the deleted. */
    rec_filter *flt;
    ck_assert_int_eq(rec_filter_create(&flt, N), REC_OK);
    ck_assert_int_eq(rec_filter_deny(flt, del, nd), REC_OK);
    int32_t *a = malloc(NQ * K * sizeof *a), *b = malloc(NQ * K * sizeof *b);
    ck_assert_int_eq(rec_index_search_ef(h, q, NQ, K, 64, NULL, a, NULL), REC_OK);
    ck_assert_int_eq(rec_index_search(f, q, NQ, K, flt, b, NULL), REC_OK);
    for (size_t i = 0; i < NQ * K; i++) {
        ck_assert_int_ge(a[i], 0);
        ck_assert_msg(!dead[a[i]], "deleted label %d returned", a[i]);
    }
    ck_assert_double_ge(recall(a, b, NQ, K), 0.9);
    /* Deleting it again, or a label out of range: REC_E_NOTFOUND, nothing
     * deleted. */
    int32_t again[2] = { 1, 0 };
    ck_assert_int_eq(rec_index_delete(h, again, 2), REC_E_NOTFOUND);
    ck_assert_str_eq(rec_last_error(), "rec_index_delete: labels[1] = 0 is not a live label");
    ck_assert_int_eq(rec_index_count(h, &live), REC_OK);
    ck_assert_uint_eq(live, N - nd);
    int32_t far = N;
    ck_assert_int_eq(rec_index_delete(h, &far, 1), REC_E_NOTFOUND);
    /* Re-adding reuses the freed slots: the same labels, no growth, and
     * the new vectors are found. */
    int32_t *lab = malloc(nd * sizeof *lab);
    float *y = gauss(nd, DIM, 9, 1);
    ck_assert_int_eq(rec_index_add_labels(h, y, nd, lab), REC_OK);
    ck_assert_int_eq(rec_index_size(h, &slots), REC_OK);
    ck_assert_uint_eq(slots, N);
    int self = 0;
    for (size_t i = 0; i < nd; i++) {
        ck_assert(dead[lab[i]]);
        int32_t l1;
        ck_assert_int_eq(rec_index_search_ef(h, y + i * DIM, 1, 1, 32, NULL, &l1, NULL),
                         REC_OK);
        self += l1 == lab[i];
    }
    ck_assert_int_ge(self, (int)(nd * 95 / 100));
    rec_filter_destroy(flt);
    rec_index_destroy(h);
    rec_index_destroy(f);
    free(x), free(q), free(a), free(b), free(top), free(dead), free(del), free(lab), free(y);
}
END_TEST

/* Regression: a reused slot reached through links into its old self
 * during its own insert linked to nothing, and searches led there found
 * fewer than k.  Adds and deletes in turn, all queries after each step. */
START_TEST(reused_slots_stay_linked)
{
    float *x = gauss(2000, 16, 16, 1), *q = gauss(64, 16, 17, 1);
    rec_index *h = hnsw_new(16, "ip", 8, 40);
    ck_assert_int_eq(rec_index_add(h, x, 1000), REC_OK);
    int32_t lab[640];
    for (int b = 0; b < 40; b++) {
        ck_assert_int_eq(rec_index_add(h, x + (size_t)(1000 + b * 25) * 16, 25), REC_OK);
        int32_t del = b * 13 % 1000;
        rec_status st = rec_index_delete(h, &del, 1);
        ck_assert(st == REC_OK || st == REC_E_NOTFOUND);
        ck_assert_int_eq(rec_index_search_ef(h, q, 64, 10, 32, NULL, lab, NULL), REC_OK);
        for (int i = 0; i < 640; i++)
            ck_assert_msg(lab[i] >= 0, "step %d: query %d got %d results", b, i / 10, i % 10);
    }
    rec_index_destroy(h);
    free(x), free(q);
}
END_TEST

START_TEST(slot_reuse_keeps_memory_flat)
{
    enum { n = 1500, d = 16, churn = 500 };
    float *x = gauss(n, d, 10, 1);
    tu_alloc_install();
    rec_index *h = hnsw_new(d, "ip", 8, 40);
    ck_assert_int_eq(rec_index_add(h, x, n), REC_OK);
    int32_t lab[churn];
    char alive[n + 8];
    memset(alive, 1, sizeof alive);
    long long after_first = 0;
    for (int round = 0; round < 6; round++) {
        int m = 0;
        for (int i = 0; m < churn; i++) {
            int32_t l = (int32_t)((round * 7 + i * 3) % n);
            if (alive[l] == 1)
                lab[m++] = l, alive[l] = 2;
        }
        for (int i = 0; i < churn; i++)
            alive[lab[i]] = 0;
        ck_assert_msg(rec_index_delete(h, lab, churn) == REC_OK, "%s", rec_last_error());
        float *y = gauss(churn, d, 11 + round, 1);
        ck_assert_int_eq(rec_index_add_labels(h, y, churn, lab), REC_OK);
        for (int i = 0; i < churn; i++)
            alive[lab[i]] = 1;
        free(y);
        size_t slots;
        ck_assert_int_eq(rec_index_size(h, &slots), REC_OK);
        ck_assert_uint_eq(slots, n);
        if (round == 0)
            after_first = tu_alloc_live();
    }
    /* Only the upper-level lists change size (fresh random levels). */
    long long drift = tu_alloc_live() - after_first;
    ck_assert_msg(llabs(drift) < 16384, "memory drifted by %lld bytes", drift);
    rec_index_destroy(h);
    ck_assert_int_eq(tu_alloc_live(), 0);
    tu_alloc_remove();
    free(x);
}
END_TEST

/* ---- files ---- */

START_TEST(save_load_same_results)
{
    float *x = gauss(1200, 20, 12, 0), *q = gauss(50, 20, 13, 0);
    rec_index *h = hnsw_new(20, "cosine", 12, 60);
    ck_assert_int_eq(rec_index_add(h, x, 1200), REC_OK);
    int32_t del[3] = { 4, 40, 400 };
    ck_assert_int_eq(rec_index_delete(h, del, 3), REC_OK);
    const char *path = tu_tmp_path("h.lrm");
    ck_assert_msg(rec_index_save(h, path) == REC_OK, "%s", rec_last_error());
    rec_index *g;
    ck_assert_msg(rec_index_load(path, &g) == REC_OK, "%s", rec_last_error());
    ck_assert_str_eq(rec_index_kind(g), "hnsw");
    int32_t a[500], b[500];
    float sa[500], sb[500];
    ck_assert_int_eq(rec_index_search_ef(h, q, 50, 10, 40, NULL, a, sa), REC_OK);
    ck_assert_int_eq(rec_index_search_ef(g, q, 50, 10, 40, NULL, b, sb), REC_OK);
    ck_assert_mem_eq(a, b, sizeof a);
    ck_assert_mem_eq(sa, sb, sizeof sa);
    /* rec_index_search uses the saved "ef" (64 by default) on both */
    ck_assert_int_eq(rec_index_search(h, q, 50, 10, NULL, a, NULL), REC_OK);
    ck_assert_int_eq(rec_index_search(g, q, 50, 10, NULL, b, NULL), REC_OK);
    ck_assert_mem_eq(a, b, sizeof a);
    /* The loaded index takes adds (reusing the 3 slots) the same way. */
    int32_t la[3], lb[3];
    ck_assert_int_eq(rec_index_add_labels(h, q, 3, la), REC_OK);
    ck_assert_int_eq(rec_index_add_labels(g, q, 3, lb), REC_OK);
    ck_assert_mem_eq(la, lb, sizeof la);
    ck_assert_int_eq(rec_index_search_ef(h, q, 50, 10, 40, NULL, a, NULL), REC_OK);
    ck_assert_int_eq(rec_index_search_ef(g, q, 50, 10, 40, NULL, b, NULL), REC_OK);
    ck_assert_mem_eq(a, b, sizeof a);
    rec_index_destroy(g);
    /* The flat kind round-trips too. */
    rec_index *f = flat_of(x, 1200, 20, "cosine"), *f2;
    ck_assert_int_eq(rec_index_save(f, path), REC_OK);
    ck_assert_int_eq(rec_index_load(path, &f2), REC_OK);
    ck_assert_str_eq(rec_index_kind(f2), "flat");
    ck_assert_int_eq(rec_index_search(f, q, 50, 10, NULL, a, sa), REC_OK);
    ck_assert_int_eq(rec_index_search(f2, q, 50, 10, NULL, b, sb), REC_OK);
    ck_assert_mem_eq(a, b, sizeof a);
    rec_index_destroy(f);
    rec_index_destroy(f2);
    rec_index_destroy(h);
    free(x), free(q);
}
END_TEST

START_TEST(load_rejects_other_files)
{
    rec_index *g = (rec_index *)1;
    ck_assert_int_eq(rec_index_load(tu_tmp_path("absent.lrm"), &g), REC_E_IO);
    ck_assert_ptr_null(g);
    /* A model file is not an index. */
    rec_dataset *d = tu_generate(20, 30, 5);
    rec_model *m = tu_fit("popularity", d, NULL, 0);
    const char *path = tu_tmp_path("model.lrm");
    ck_assert_int_eq(rec_model_save(m, path), REC_OK);
    ck_assert_int_eq(rec_index_load(path, &g), REC_E_FORMAT);
    ck_assert_msg(strstr(rec_last_error(), "not an index file (kind 'popularity')"), "%s",
                  rec_last_error());
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* ---- errors ---- */

START_TEST(bad_arguments)
{
    rec_index *ix = NULL;
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    ck_assert_int_eq(rec_index_create_kind(&ix, "ivf", 8, NULL), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(),
                     "rec_index_create_kind: unknown kind 'ivf' (expected 'flat' or 'hnsw')");
    ck_assert_int_eq(rec_index_create_kind(&ix, "hnsw", 0, NULL), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_index_create_kind: dim = 0 is outside [1, 65536]");
    ck_assert_int_eq(rec_params_set_int(p, "M", 1), REC_OK);
    ck_assert_int_eq(rec_index_create_kind(&ix, "hnsw", 8, p), REC_E_RANGE);
    ck_assert_msg(strstr(rec_last_error(), "M"), "%s", rec_last_error());
    /* HNSW keys are unknown to the flat kind */
    ck_assert_int_eq(rec_params_set_int(p, "M", 8), REC_OK);
    ck_assert_int_eq(rec_index_create_kind(&ix, "flat", 8, p), REC_E_INVALID);
    ck_assert_msg(strstr(rec_last_error(), "M"), "%s", rec_last_error());
    ck_assert_ptr_null(ix);
    ck_assert_int_eq(rec_index_create_kind(&ix, "hnsw", 2, p), REC_OK);
    float v[4] = { 1, 0, 0, 1 };
    int32_t l;
    ck_assert_int_eq(rec_index_add(ix, v, 2), REC_OK);
    ck_assert_int_eq(rec_index_search_ef(ix, v, 1, 1, 0, NULL, &l, NULL), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_index_search_ef: ef is 0");
    ck_assert_int_eq(rec_index_search_ef(ix, v, 1, 0, 8, NULL, &l, NULL), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_index_search_ef: k is 0");
    ck_assert_int_eq(rec_index_add_labels(ix, NULL, 1, NULL), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_index_add_labels: vecs is NULL");
    ck_assert_int_eq(rec_index_delete(ix, NULL, 1), REC_E_INVALID);
    rec_index_destroy(ix);
    ck_assert_int_eq(rec_index_create_kind(&ix, "flat", 2, NULL), REC_OK);
    ck_assert_int_eq(rec_index_delete(ix, &l, 1), REC_E_UNSUPPORTED);
    ck_assert_str_eq(rec_last_error(), "rec_index_delete: a flat index cannot delete");
    rec_index_destroy(ix);
    rec_params_destroy(p);
    ck_assert_str_eq(rec_strerror(REC_E_BUSY), "busy");
}
END_TEST

/* Every allocation of an add failing in turn: REC_E_NOMEM with the index
 * unchanged (it still searches as before), nothing leaked. */
START_TEST(add_fails_cleanly)
{
    float *x = gauss(300, 8, 14, 1);
    long k;
    for (k = 1; k < 1000; k++) {
        tu_alloc_install();
        rec_index *h = hnsw_new(8, "ip", 8, 30);
        ck_assert_int_eq(rec_index_add(h, x, 100), REC_OK);
        int32_t before[10], after[10];
        ck_assert_int_eq(rec_index_search_ef(h, x, 1, 10, 20, NULL, before, NULL), REC_OK);
        tu_alloc_fail_at(k);
        rec_status st = rec_index_add(h, x + 100 * 8, 200);
        tu_alloc_fail_at(0);
        size_t n;
        ck_assert_int_eq(rec_index_size(h, &n), REC_OK);
        if (st != REC_OK) {
            ck_assert_msg(st == REC_E_NOMEM, "allocation %ld: %s", k, rec_last_error());
            ck_assert_str_eq(rec_last_error(), "rec_index_add: out of memory");
            ck_assert_uint_eq(n, 100);
            ck_assert_int_eq(rec_index_search_ef(h, x, 1, 10, 20, NULL, after, NULL), REC_OK);
            ck_assert_mem_eq(before, after, sizeof before);
        } else {
            ck_assert_uint_eq(n, 300);
        }
        rec_index_destroy(h);
        long long live = tu_alloc_live();
        tu_alloc_remove();
        ck_assert_msg(live == 0, "allocation %ld: %lld bytes leaked", k, live);
        if (st == REC_OK)
            break;
    }
    ck_assert_int_gt(k, 3);
    free(x);
}
END_TEST

/* ---- concurrency ---- */

typedef struct gate {
    atomic_int entered, release;
} gate;

static int wait_at_gate(int32_t label, size_t query, void *ctx)
{
    (void)label, (void)query;
    gate *g = ctx;
    atomic_store(&g->entered, 1);
    while (!atomic_load(&g->release))
        ;
    return 1;
}

typedef struct held_search {
    rec_index *ix;
    rec_filter *f;
    float q[4];
    int32_t lab[2];
} held_search;

static void *search_held(void *arg)
{
    held_search *s = arg;
    ck_assert_int_eq(rec_index_search_ef(s->ix, s->q, 1, 2, 8, s->f, s->lab, NULL), REC_OK);
    return NULL;
}

START_TEST(try_writers_busy_during_a_search)
{
    rec_index *h = hnsw_new(4, "ip", 4, 10);
    float *x = gauss(50, 4, 15, 1);
    ck_assert_int_eq(rec_index_add(h, x, 50), REC_OK);
    gate g;
    atomic_init(&g.entered, 0);
    atomic_init(&g.release, 0);
    held_search s = { .ix = h, .q = { 1, 0, 0, 0 } };
    ck_assert_int_eq(rec_filter_create(&s.f, 50), REC_OK);
    ck_assert_int_eq(rec_filter_set_predicate(s.f, wait_at_gate, &g), REC_OK);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, search_held, &s), 0);
    while (!atomic_load(&g.entered))
        ;
    int32_t l = 0;
    ck_assert_int_eq(rec_index_try_add(h, x, 1, &l), REC_E_BUSY);
    ck_assert_str_eq(rec_last_error(),
                     "rec_index_try_add: the index is in use (searches or a writer)");
    ck_assert_int_eq(rec_index_try_delete(h, &l, 1), REC_E_BUSY);
    atomic_store(&g.release, 1);
    pthread_join(t, NULL);
    size_t n;
    ck_assert_int_eq(rec_index_count(h, &n), REC_OK);
    ck_assert_uint_eq(n, 50);
    ck_assert_int_eq(rec_index_try_add(h, x, 1, &l), REC_OK);
    ck_assert_int_eq(l, 50);
    ck_assert_int_eq(rec_index_try_delete(h, &l, 1), REC_OK);
    rec_filter_destroy(s.f);
    rec_index_destroy(h);
    free(x);
}
END_TEST

enum { STRESS_DIM = 16, STRESS_BASE = 1000, STRESS_ADDS = 12, STRESS_BATCH = 80 };

typedef struct stress {
    rec_index *ix;
    const float *q;
    atomic_int done, bad;
} stress;

static void *stress_search(void *arg)
{
    stress *s = arg;
    int32_t lab[10];
    float sc[10];
    for (int it = 0; !atomic_load(&s->done) || it < 20; it++) {
        const float *q = s->q + (size_t)(it % 64) * STRESS_DIM;
        if (rec_index_search_ef(s->ix, q, 1, 10, 32, NULL, lab, sc) != REC_OK) {
            atomic_store(&s->bad, 1);
            break;
        }
        for (int j = 0; j < 10; j++) {
            if (lab[j] < 0 || lab[j] >= STRESS_BASE + STRESS_ADDS * STRESS_BATCH)
                atomic_store(&s->bad, 2);
            if (j && sc[j] > sc[j - 1])
                atomic_store(&s->bad, 3);
        }
    }
    return NULL;
}

/* 8 searching threads while one thread adds (2 pool threads) and deletes:
 * every search sees a consistent index; TSAN (make check TSAN=1) checks
 * the locking. */
START_TEST(searches_race_an_adder)
{
    ck_assert_int_eq(rec_set_num_threads(2), REC_OK);
    float *x = gauss(STRESS_BASE + STRESS_ADDS * STRESS_BATCH, STRESS_DIM, 16, 1);
    float *q = gauss(64, STRESS_DIM, 17, 1);
    stress s = { .ix = hnsw_new(STRESS_DIM, "ip", 8, 40), .q = q };
    atomic_init(&s.done, 0);
    atomic_init(&s.bad, 0);
    ck_assert_int_eq(rec_index_add(s.ix, x, STRESS_BASE), REC_OK);
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, stress_search, &s), 0);
    for (int b = 0; b < STRESS_ADDS; b++) {
        const float *y = x + (size_t)(STRESS_BASE + b * STRESS_BATCH) * STRESS_DIM;
        ck_assert_int_eq(rec_index_add(s.ix, y, STRESS_BATCH), REC_OK);
        int32_t del = (int32_t)(b * 13 % STRESS_BASE);
        rec_status st = rec_index_delete(s.ix, &del, 1);
        ck_assert(st == REC_OK || st == REC_E_NOTFOUND);
    }
    atomic_store(&s.done, 1);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    ck_assert_int_eq(atomic_load(&s.bad), 0);

    rec_index_destroy(s.ix);
    rec_set_num_threads(1);
    free(x), free(q);
}
END_TEST

/* Every node reachable after a build on 2 threads: each of 120 vectors
 * finds itself first (cosine 1) with a search as wide as the index, in 30
 * builds.  Inserts running
 * side by side used to overwrite the back-links others had just added to a
 * new node's list, leaving some nodes with no way in (64 self-misses in 50
 * builds of this set). */
START_TEST(threaded_build_keeps_every_node_reachable)
{
    int before = rec_get_num_threads();
    ck_assert_int_eq(rec_set_num_threads(2), REC_OK);
    /* uniform in [-0.5, 0.5)^8 */
    float *x = malloc(120 * 8 * sizeof *x);
    uint64_t r = 12345;
    for (int i = 0; i < 120 * 8; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((r >> 40) / 16777216.0 - 0.5);
    }
    int misses = 0;
    for (int round = 0; round < 30; round++) {
        rec_index *ix = hnsw_new(8, "cosine", 16, 200);
        ck_assert_int_eq(rec_index_add(ix, x, 120), REC_OK);
        for (int q = 0; q < 120; q++) {
            int32_t lab[3];
            float sc[3];
            /* ef = n: a miss is a node the walk cannot reach */
            ck_assert_int_eq(rec_index_search_ef(ix, x + q * 8, 1, 3, 120, NULL, lab, sc),
                             REC_OK);
            misses += lab[0] != q;
        }
        rec_index_destroy(ix);
    }
    ck_assert_msg(misses == 0, "%d of 3600 searches missed their own vector", misses);
    free(x);
    rec_set_num_threads(before);
}
END_TEST

Suite *rec_hnsw_suite(void)
{
    Suite *s = suite_create("hnsw");
    TCase *tc = tcase_create("hnsw");
    tcase_set_timeout(tc, 120);
    TCase *tr = tcase_create("race");
    tcase_set_timeout(tr, 120);
#if defined(__SANITIZE_THREAD__)
    /* ThreadSanitizer runs 50x slower: the threaded build and the races
     * only (the rest runs in the other builds). */
    tcase_add_loop_test(tc, recall_ip_vs_exact, 1, 2);
    tcase_add_test(tc, try_writers_busy_during_a_search);
    tcase_add_test(tr, searches_race_an_adder);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, tr);
    return s;
#endif
    tcase_add_loop_test(tc, recall_ip_vs_exact, 0, 2);
    tcase_add_loop_test(tc, recall_cosine_vs_exact, 0, 2);
    tcase_add_test(tc, same_seed_same_results);
    tcase_add_test(tc, dot_kernels_agree);
    tcase_add_test(tc, filters_inside_the_search);
    tcase_add_test(tc, deleted_never_returned_and_k_still_met);
    tcase_add_test(tc, reused_slots_stay_linked);
    tcase_add_test(tc, slot_reuse_keeps_memory_flat);
    tcase_add_test(tc, save_load_same_results);
    tcase_add_test(tc, load_rejects_other_files);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, add_fails_cleanly);
    tcase_add_test(tc, try_writers_busy_during_a_search);
    tcase_add_test(tc, threaded_build_keeps_every_node_reachable);
    tcase_add_test(tr, searches_race_an_adder);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, tr);
    return s;
}
