/* Core conventions: status names, error messages, params, RNG, pool. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(strerror_names_every_code)
{
    for (int s = 0; s >= -9; s--)
        ck_assert_str_ne(rec_strerror((rec_status)s), "unknown status");
    ck_assert_str_eq(rec_strerror((rec_status)-1000), "unknown status");
    ck_assert_str_eq(rec_strerror(REC_E_INVALID), "invalid argument");
}
END_TEST

START_TEST(version_matches_macros)
{
    ck_assert_uint_eq(rec_version_number(), REC_VERSION_NUMBER);
    ck_assert_str_eq(rec_version(), REC_VERSION_STRING);
}
END_TEST

START_TEST(params_set_get_and_types)
{
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    ck_assert_int_eq(rec_params_set_int(p, "dim", 64), REC_OK);
    ck_assert_int_eq(rec_params_set_float(p, "lr", 0.01), REC_OK);
    ck_assert_int_eq(rec_params_set_str(p, "sim", "cosine"), REC_OK);
    ck_assert_int_eq(rec_params_parse(p, "verbose=true"), REC_OK);
    ck_assert_int_eq(rec_params_parse(p, "dim=32"), REC_OK); /* replaces */
    size_t n;
    ck_assert_int_eq(rec_params_count(p, &n), REC_OK);
    ck_assert_uint_eq(n, 4);
    int64_t d;
    ck_assert_int_eq(rec_params_get_int(p, "dim", &d), REC_OK);
    ck_assert_int_eq(d, 32);
    double lr;
    ck_assert_int_eq(rec_params_get_float(p, "lr", &lr), REC_OK);
    ck_assert_double_eq(lr, 0.01);
    int b;
    ck_assert_int_eq(rec_params_get_bool(p, "verbose", &b), REC_OK);
    ck_assert_int_eq(b, 1);
    const char *s;
    ck_assert_int_eq(rec_params_get_str(p, "dim", &s), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "'dim' is a int"));
    ck_assert_int_eq(rec_params_get_int(p, "nope", &d), REC_E_NOTFOUND);
    ck_assert_int_eq(rec_params_parse(p, "=3"), REC_E_INVALID);
    ck_assert_int_eq(rec_params_set_int(p, "bad key", 1), REC_E_INVALID);
    ck_assert_int_eq(rec_params_set_int(NULL, "k", 1), REC_E_INVALID);
    ck_assert_int_eq(rec_params_set_float(p, "x", NAN), REC_E_INVALID);
    rec_params_destroy(p);
    rec_params_destroy(NULL);
}
END_TEST

static const rec_param_spec spec[] = {
    { "dim", REC_PARAM_INT, "64", 1, 4096, NULL, "embedding size" },
    { "lr", REC_PARAM_FLOAT, "0.001", 0, 10, NULL, "learning rate" },
    { "sim", REC_PARAM_STR, "cosine", 0, 0, "cosine|pearson", "similarity" },
};

START_TEST(params_checked_against_spec)
{
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    ck_assert_int_eq(rec_params_check(p, spec, 3, "f"), REC_OK);
    ck_assert_int_eq(rec_params_int(p, spec, 3, "dim"), 64);
    ck_assert_str_eq(rec_params_str(p, spec, 3, "sim"), "cosine");
    rec_params_set_int(p, "lr", 1); /* an int is fine for a float key */
    ck_assert_int_eq(rec_params_check(p, spec, 3, "f"), REC_OK);
    ck_assert_double_eq(rec_params_flt(p, spec, 3, "lr"), 1.0);
    rec_params_set_int(p, "dim", 0);
    ck_assert_int_eq(rec_params_check(p, spec, 3, "f"), REC_E_RANGE);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "'dim' = 0 is outside [1, 4096]"));
    rec_params_set_int(p, "dim", 8);
    rec_params_set_str(p, "sim", "jaccard");
    ck_assert_int_eq(rec_params_check(p, spec, 3, "f"), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "not one of cosine|pearson"));
    rec_params_set_str(p, "sim", "pearson");
    rec_params_set_float(p, "dim", 3.5);
    ck_assert_int_eq(rec_params_check(p, spec, 3, "f"), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "wants a int, got a float"));
    rec_params_set_int(p, "dim", 8);
    rec_params_set_int(p, "epochs", 3);
    ck_assert_int_eq(rec_params_check(p, spec, 3, "f"), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "unknown parameter 'epochs'"));
    rec_params_destroy(p);
}
END_TEST

/* Old names set the canonical key; both at once, or a typo, are errors
 * that say what to write instead. */
START_TEST(params_aliases_and_suggestions)
{
    static const rec_param_spec vs[] = {
        { "dim", REC_PARAM_INT, "64", 1, 4096, NULL, "embedding size" },
        { "epochs", REC_PARAM_INT, "5", 1, 100, NULL, "passes" },
        { "weight_decay", REC_PARAM_FLOAT, "0", 0, 1, NULL, "its own key, not reg's alias" },
    };
    rec_params *p, *c;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    rec_params_set_int(p, "n_factors", 12);
    rec_params_set_int(p, "iterations", 7);
    rec_params_set_float(p, "weight_decay", 0.5);
    ck_assert_int_eq(rec_params_check(p, vs, 3, "f"), REC_OK);
    ck_assert_int_eq(rec_params_int(p, vs, 3, "dim"), 12);
    ck_assert_int_eq(rec_params_int(p, vs, 3, "epochs"), 7);
    ck_assert_double_eq(rec_params_flt(p, vs, 3, "weight_decay"), 0.5);
    ck_assert_int_eq(rec_params_clone_canonical(p, vs, 3, &c), REC_OK);
    const char *k;
    ck_assert_int_eq(rec_params_key(c, 0, &k, NULL), REC_OK);
    ck_assert_str_eq(k, "dim");
    ck_assert_int_eq(rec_params_key(c, 1, &k, NULL), REC_OK);
    ck_assert_str_eq(k, "epochs");
    ck_assert_int_eq(rec_params_key(c, 2, &k, NULL), REC_OK);
    ck_assert_str_eq(k, "weight_decay");
    int64_t v;
    ck_assert_int_eq(rec_params_get_int(c, "dim", &v), REC_OK);
    ck_assert_int_eq(v, 12);
    rec_params_destroy(c);
    /* Bounds apply under the old name, and the message names what was set. */
    rec_params_set_int(p, "n_factors", 0);
    ck_assert_int_eq(rec_params_check(p, vs, 3, "f"), REC_E_RANGE);
    ck_assert_str_eq(rec_last_error(), "f: parameter 'n_factors' = 0 is outside [1, 4096]");
    rec_params_set_int(p, "n_factors", 8);
    rec_params_set_int(p, "factors", 8);
    ck_assert_int_eq(rec_params_check(p, vs, 3, "f"), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "f: 'n_factors' and 'factors' both set parameter 'dim'");
    rec_params_destroy(p);
    /* An alias of a key this spec lacks is unknown; near misses suggest. */
    static const struct {
        const char *key, *msg;
    } bad[] = {
        { "epoch", "f: unknown parameter 'epoch' (did you mean 'epochs'?)" },
        { "epcohs", "f: unknown parameter 'epcohs' (did you mean 'epochs'?)" },
        { "n_factor", "f: unknown parameter 'n_factor' (did you mean 'dim'?)" },
        { "lr_all", "f: unknown parameter 'lr_all'" },
        { "zzz", "f: unknown parameter 'zzz'" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_int_eq(rec_params_create(&p), REC_OK);
        rec_params_set_int(p, bad[i].key, 1);
        ck_assert_int_eq(rec_params_check(p, vs, 3, "f"), REC_E_INVALID);
        ck_assert_str_eq(rec_last_error(), bad[i].msg);
        rec_params_destroy(p);
    }
    const char *alias, *canon;
    ck_assert_int_eq(rec_params_alias_at(0, &alias, &canon), REC_OK);
    ck_assert_str_eq(alias, "factors");
    ck_assert_str_eq(canon, "dim");
    ck_assert_int_eq(rec_params_alias_at(1000, &alias, &canon), REC_E_RANGE);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "rec_params_alias_at: index 1000"));
}
END_TEST

START_TEST(rng_is_seeded_and_uniform)
{
    rec_rng a, b;
    rec_rng_seed(&a, 42);
    rec_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq(rec_rng_u64(&a), rec_rng_u64(&b));
    rec_rng_stream(&b, 42, 1);
    ck_assert_uint_ne(rec_rng_u64(&a), rec_rng_u64(&b));
    int hist[10] = { 0 };
    double sum = 0, sq = 0;
    for (int i = 0; i < 100000; i++) {
        hist[rec_rng_below(&a, 10)]++;
        float z = rec_rng_normal(&a);
        sum += z;
        sq += z * z;
    }
    for (int i = 0; i < 10; i++)
        ck_assert_int_lt(abs(hist[i] - 10000), 500);
    ck_assert_double_lt(fabs(sum / 1e5), 0.02);
    ck_assert_double_lt(fabs(sq / 1e5 - 1.0), 0.02);
}
END_TEST

static void add_range(void *arg, int64_t b, int64_t e, int chunk)
{
    long long *out = arg;
    long long s = 0;
    for (int64_t i = b; i < e; i++)
        s += i;
    out[chunk] = s;
}

START_TEST(pool_chunks_cover_range)
{
    for (int threads = 1; threads <= 3; threads++) {
        ck_assert_int_eq(rec_set_num_threads(threads), REC_OK);
        ck_assert_int_eq(rec_get_num_threads(), threads);
        long long part[7] = { 0 };
        rec_parallel_chunks(1000, 7, add_range, part);
        long long s = 0;
        for (int i = 0; i < 7; i++)
            s += part[i];
        ck_assert_int_eq(s, 999 * 1000 / 2);
        ck_assert_int_eq(part[0], 142 * 141 / 2); /* chunk 0 is [0, 142) */
    }
    ck_assert_int_eq(rec_set_num_threads(-1), REC_E_RANGE);
    ck_assert_int_eq(rec_set_num_threads(0), REC_OK);
}
END_TEST

/* The same bits on 1 and 2 threads, for the shapes of a sampled-softmax
 * step (logits [B, M] and both backward products) and a tall and a wide
 * one: OpenBLAS sums differently shaped sub-products in different orders,
 * so the split must not follow the thread count (it did: LightGCN fits
 * differed in the last bits between 1 and 2 threads). */
START_TEST(sgemm_split_matches_single_thread)
{
    static const int shapes[][5] = { /* ta, tb, m, n, k */
        { 0, 1, 2048, 1024, 64 }, { 0, 0, 2048, 64, 1024 }, { 1, 0, 1024, 64, 2048 },
        { 0, 0, 300, 200, 70 },   { 0, 0, 90, 3000, 40 },
    };
    int before = rec_get_num_threads();
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int ta = shapes[s][0], tb = shapes[s][1], m = shapes[s][2], n = shapes[s][3],
            k = shapes[s][4];
        float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n);
        float *c1 = malloc(sizeof(float) * m * n), *c2 = malloc(sizeof(float) * m * n);
        for (int i = 0; i < m * k; i++)
            a[i] = (float)sin(i);
        for (int i = 0; i < k * n; i++)
            b[i] = (float)cos(i);
        int lda = ta ? m : k, ldb = tb ? k : n;
        rec_set_num_threads(1);
        rec_sgemm(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c1, n);
        rec_set_num_threads(2);
        rec_sgemm(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c2, n);
        ck_assert_msg(memcmp(c1, c2, sizeof(float) * m * n) == 0,
                      "%dx%dx%d (ta %d, tb %d) differs between 1 and 2 threads", m, n, k, ta, tb);
        double ref = 0; /* C[5][7] */
        for (int p = 0; p < k; p++)
            ref += (double)(ta ? a[p * m + 5] : a[5 * k + p]) * (tb ? b[7 * k + p] : b[p * n + 7]);
        ck_assert_float_near(c1[5 * n + 7], ref, 1e-3 * (1 + fabs(ref)));
        free(a);
        free(b);
        free(c1);
        free(c2);
    }
    rec_set_num_threads(before);
}
END_TEST

START_TEST(allocator_hooks_are_used)
{
    tu_alloc_install();
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    ck_assert_int_gt(tu_alloc_count(), 0);
    rec_params_destroy(p);
    ck_assert_int_eq(tu_alloc_live(), 0);
    tu_alloc_fail_at(1);
    ck_assert_int_eq(rec_params_create(&p), REC_E_NOMEM);
    ck_assert_str_eq(rec_last_error(), "rec_params_create: out of memory");
    tu_alloc_remove();
    rec_allocator bad = { NULL, NULL, NULL, NULL };
    ck_assert_int_eq(rec_set_allocator(&bad), REC_E_INVALID);
}
END_TEST

/* The one CSR check: every defect named; a caller's arrays INVALID (RANGE for an
 * index), a file's FORMAT. */
START_TEST(csr_check_names_each_defect)
{
    const int64_t ok[4] = { 0, 2, 2, 3 }, start[4] = { 1, 2, 2, 3 }, dec[4] = { 0, 2, 1, 3 };
    const int32_t idx[3] = { 0, 4, 2 }, big[3] = { 0, 5, 2 }, neg[3] = { 0, -1, 2 };
    ck_assert_int_eq(rec_csr_check(0, "f", "w", 3, ok, 3, idx, 0, 5), REC_OK);
    ck_assert_int_eq(rec_csr_check(0, "f", "w", 3, ok, -1, NULL, 0, 0), REC_OK);
    ck_assert_int_eq(rec_csr_check(0, "f", "w", 0, ok, 0, idx, 0, 1), REC_OK);
    ck_assert_int_eq(rec_csr_check(0, "f", "w", 3, start, 3, idx, 0, 5), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "f: w: indptr[0] = 1, want 0");
    ck_assert_int_eq(rec_csr_check(1, "f", "w", 3, dec, 3, idx, 0, 5), REC_E_FORMAT);
    ck_assert_str_eq(rec_last_error(), "f: w: indptr decreases at row 1 (2 > 1)");
    ck_assert_int_eq(rec_csr_check(0, "f", "w", 3, ok, 4, idx, 0, 5), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "f: w: indptr ends at 3, want nnz = 4");
    ck_assert_int_eq(rec_csr_check(1, "f", "w", 3, ok, 3, big, 0, 5), REC_E_FORMAT);
    ck_assert_str_eq(rec_last_error(), "f: w: indices[1] = 5 is outside [0, 5)");
    ck_assert_int_eq(rec_csr_check(0, "f", "w", 3, ok, 3, neg, 0, 5), REC_E_RANGE);
    ck_assert_str_eq(rec_last_error(), "f: w: indices[1] = -1 is outside [0, 5)");
    ck_assert_int_eq(rec_csr_check(0, "f", "w", 3, ok, 3, neg, -1, 5), REC_OK);
}
END_TEST

/* Comma lists: entries trimmed, empty ones kept for the caller to refuse, a
 * blank list has none; integer lists checked for range, count and junk. */
START_TEST(comma_lists_walk_and_parse)
{
    static const struct {
        const char *list, *want;
    } walks[] = {
        { "", "" }, { "  ", "" }, { "a", "[a]" }, { " a , b ,c", "[a][b][c]" },
        { "a,", "[a][]" }, { ",a", "[][a]" }, { "a,,b", "[a][][b]" }, { " , ", "[][]" },
    };
    for (size_t k = 0; k < sizeof walks / sizeof *walks; k++) {
        char got[64] = "";
        rec_list_iter it;
        const char *e;
        size_t len;
        rec_list_start(&it, walks[k].list);
        while (rec_list_next(&it, &e, &len))
            snprintf(got + strlen(got), sizeof got - strlen(got), "[%.*s]", (int)len, e);
        ck_assert_msg(!strcmp(got, walks[k].want), "'%s': %s", walks[k].list, got);
    }
    int64_t v[3];
    int n;
    ck_assert_int_eq(rec_list_ints(" 64, 32 ", 1, 100, v, 3, &n, "f", "k"), REC_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(v[0], 64);
    ck_assert_int_eq(v[1], 32);
    ck_assert_int_eq(rec_list_ints("", 1, 100, v, 3, &n, "f", "k"), REC_OK);
    ck_assert_int_eq(n, 0);
    static const char *const bad[] = { "64,", "64,x", "0", "101", "6 4", "64a", "+", "-",
                                       "99999999999999999999" };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        ck_assert_int_eq(rec_list_ints(bad[k], 1, 100, v, 3, &n, "f", "k"), REC_E_INVALID);
        char want[128];
        snprintf(want, sizeof want,
                 "f: k: expected integers in 1..100 separated by commas, got '%s'", bad[k]);
        ck_assert_str_eq(rec_last_error(), want);
    }
    ck_assert_int_eq(rec_list_ints("1,2,3,4", 1, 100, v, 3, &n, "f", "k"), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "f: k: at most 3 values, got '1,2,3,4'");
}
END_TEST

Suite *rec_core_suite(void)
{
    Suite *s = suite_create("core");
    TCase *t = tcase_create("conventions");
    tcase_add_test(t, strerror_names_every_code);
    tcase_add_test(t, version_matches_macros);
    tcase_add_test(t, params_set_get_and_types);
    tcase_add_test(t, params_checked_against_spec);
    tcase_add_test(t, params_aliases_and_suggestions);
    tcase_add_test(t, rng_is_seeded_and_uniform);
    tcase_add_test(t, pool_chunks_cover_range);
    tcase_add_test(t, sgemm_split_matches_single_thread);
    tcase_add_test(t, allocator_hooks_are_used);
    tcase_add_test(t, csr_check_names_each_defect);
    tcase_add_test(t, comma_lists_walk_and_parse);
    suite_add_tcase(s, t);
    return s;
}
