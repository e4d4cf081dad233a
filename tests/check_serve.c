/* Serving calls: datasets from whole columns, the model's id maps, batch
 * recommend (equal to one call per user; filters; errors) and vectors out
 * (their inner products are the ranking scores). */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- datasets from arrays ------------------------------------------------ */

START_TEST(from_arrays_values)
{
    const int64_t u[] = { 42, -7, 42, 9 }, i[] = { 5, 5, 6, 7 }, t[] = { 10, 11, 12, 13 };
    const float r[] = { 4, 3.5f, 1, 5 };
    rec_dataset *d, *e;
    ck_assert_int_eq(rec_dataset_from_arrays(&d, u, i, r, t, 4), REC_OK);
    int32_t nu, ni, uu, ii;
    int64_t n, ts;
    double rr;
    const char *id;
    rec_dataset_num_users(d, &nu);
    rec_dataset_num_items(d, &ni);
    rec_dataset_num_interactions(d, &n);
    ck_assert_int_eq(nu, 3);
    ck_assert_int_eq(ni, 3);
    ck_assert_int_eq(n, 4);
    ck_assert_int_eq(rec_dataset_user_id(d, 1, &id), REC_OK);
    ck_assert_str_eq(id, "-7");
    ck_assert_int_eq(rec_dataset_row(d, 2, &uu, &ii, &rr, &ts), REC_OK);
    ck_assert_int_eq(uu, 0);
    ck_assert_int_eq(ii, 1);
    ck_assert_double_eq(rr, 1.0);
    ck_assert_int_eq(ts, 12);
    /* The same rows through rec_dataset_add: the same dataset. */
    const char *const us[] = { "42", "-7", "42", "9" }, *const is[] = { "5", "5", "6", "7" };
    rec_dataset_create(&e);
    for (int j = 0; j < 4; j++)
        ck_assert_int_eq(rec_dataset_add(e, us[j], is[j], r[j], t[j]), REC_OK);
    uint64_t fd, fe;
    rec_dataset_fingerprint(d, &fd);
    rec_dataset_fingerprint(e, &fe);
    ck_assert_uint_eq(fd, fe);
    rec_dataset_destroy(d);
    ck_assert_int_eq(rec_dataset_from_strings(&d, us, is, r, t, 4), REC_OK);
    rec_dataset_fingerprint(d, &fd);
    ck_assert_uint_eq(fd, fe);
    rec_dataset_destroy(d);
    rec_dataset_destroy(e);
    /* Ids far apart (the hash path, not the table by id - min). */
    const int64_t su[] = { INT64_MAX, -3, INT64_MAX, INT64_MIN }, si[] = { 1, 900000000000, 1, 2 };
    ck_assert_int_eq(rec_dataset_from_arrays(&d, su, si, NULL, NULL, 4), REC_OK);
    rec_dataset_num_users(d, &nu);
    rec_dataset_num_items(d, &ni);
    ck_assert_int_eq(nu, 3);
    ck_assert_int_eq(ni, 3);
    rec_dataset_user_id(d, 0, &id);
    ck_assert_str_eq(id, "9223372036854775807");
    rec_dataset_user_id(d, 2, &id);
    ck_assert_str_eq(id, "-9223372036854775808");
    rec_dataset_item_id(d, 1, &id);
    ck_assert_str_eq(id, "900000000000");
    ck_assert_int_eq(rec_dataset_row(d, 2, &uu, &ii, NULL, NULL), REC_OK);
    ck_assert_int_eq(uu, 0);
    ck_assert_int_eq(ii, 0);
    rec_dataset_destroy(d);
    /* No ratings, no timestamps. */
    ck_assert_int_eq(rec_dataset_from_arrays(&d, u, i, NULL, NULL, 4), REC_OK);
    int yes;
    rec_dataset_has_ratings(d, &yes);
    ck_assert_int_eq(yes, 0);
    rec_dataset_has_timestamps(d, &yes);
    ck_assert_int_eq(yes, 0);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(from_arrays_errors)
{
    const int64_t u[] = { 1, 2 }, i[] = { 3, 4 }, t[] = { 1, REC_NO_TIME };
    const float r[] = { 1, NAN };
    rec_dataset *d = (rec_dataset *)1;
    ck_assert_int_eq(rec_dataset_from_arrays(&d, u, i, r, NULL, 2), REC_E_INVALID);
    ck_assert_ptr_null(d);
    ck_assert_str_eq(rec_last_error(), "rec_dataset_from_arrays: ratings[1] = nan is not finite");
    ck_assert_int_eq(rec_dataset_from_arrays(&d, u, i, NULL, t, 2), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_dataset_from_arrays: timestamps[1] is REC_NO_TIME");
    ck_assert_int_eq(rec_dataset_from_arrays(&d, NULL, i, NULL, NULL, 2), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_dataset_from_arrays: users or items is NULL");
    ck_assert_int_eq(rec_dataset_from_arrays(NULL, u, i, NULL, NULL, 2), REC_E_INVALID);
    const char *const us[] = { "a", "" }, *const is[] = { "x", "y" };
    ck_assert_int_eq(rec_dataset_from_strings(&d, us, is, NULL, NULL, 2), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_dataset_from_strings: users[1] is NULL or empty");
    ck_assert_ptr_null(d);
    /* Zero rows is an empty dataset. */
    ck_assert_int_eq(rec_dataset_from_arrays(&d, NULL, NULL, NULL, NULL, 0), REC_OK);
    int64_t n;
    rec_dataset_num_interactions(d, &n);
    ck_assert_int_eq(n, 0);
    rec_dataset_destroy(d);
}
END_TEST

typedef struct arrays_call {
    rec_dataset *d;
    int strings;
} arrays_call;

static rec_status arrays_run(void *ctx)
{
    arrays_call *c = ctx;
    const int64_t u[] = { 1, 2, 1, 3, 4, 2 }, i[] = { 9, 8, 7, 9, 8, INT64_MAX };
    const char *const us[] = { "1", "2", "1", "3", "4", "2" };
    const char *const is[] = { "9", "8", "7", "9", "8", "9223372036854775807" };
    const float r[] = { 1, 2, 3, 4, 5, 1 };
    return c->strings ? rec_dataset_from_strings(&c->d, us, is, r, NULL, 6)
                      : rec_dataset_from_arrays(&c->d, u, i, r, NULL, 6);
}

static void arrays_cleanup(void *ctx)
{
    arrays_call *c = ctx;
    rec_dataset_destroy(c->d);
    c->d = NULL;
}

START_TEST(from_arrays_nomem)
{
    static const tu_call call = { NULL, arrays_run, arrays_cleanup };
    for (int s = 0; s < 2; s++) {
        arrays_call c = { NULL, s };
        ck_assert_int_gt(tu_call_fails_cleanly(&call, &c), 3);
    }
}
END_TEST

/* ---- ids and batches --------------------------------------------------------- */

static rec_dataset *data;

static void setup(void)
{
    data = tu_generate(60, 80, 12);
}

static void teardown(void)
{
    rec_dataset_destroy(data);
}

START_TEST(model_ids)
{
    rec_model *m = tu_fit("popularity", data, NULL, 0);
    const char *id;
    int32_t x;
    ck_assert_int_eq(rec_model_user_id(m, 3, &id), REC_OK);
    ck_assert_int_eq(rec_model_user_index(m, id, &x), REC_OK);
    ck_assert_int_eq(x, 3);
    ck_assert_int_eq(rec_model_item_id(m, 5, &id), REC_OK);
    ck_assert_int_eq(rec_model_item_index(m, id, &x), REC_OK);
    ck_assert_int_eq(x, 5);
    ck_assert_int_eq(rec_model_item_id(m, 80, &id), REC_E_RANGE);
    ck_assert_str_eq(rec_last_error(), "rec_model_item_id: index 80 is outside [0, 80)");
    ck_assert_int_eq(rec_model_user_index(m, "nobody", &x), REC_E_NOTFOUND);
    ck_assert_str_eq(rec_last_error(), "rec_model_user_index: unknown user 'nobody'");
    rec_model *u;
    rec_model_create(&u, "als", NULL);
    ck_assert_int_eq(rec_model_user_id(u, 0, &id), REC_E_STATE);
    ck_assert_int_eq(rec_model_user_id(NULL, 0, &id), REC_E_INVALID);
    rec_model_destroy(u);
    rec_model_destroy(m);
}
END_TEST

/* Every user's batch row equals rec_model_recommend's list, bit for bit. */
static void check_batch_equals_single(rec_model *m, size_t k, unsigned flags)
{
    size_t nu;
    rec_model_num_users(m, &nu);
    int32_t *users = malloc(nu * sizeof *users), *items = malloc(nu * k * sizeof *items);
    float *scores = malloc(nu * k * sizeof *scores), *one = malloc(k * sizeof *one);
    const char **ids = malloc(k * sizeof *ids);
    for (size_t u = 0; u < nu; u++)
        users[u] = (int32_t)(nu - 1 - u);   /* any order */
    ck_assert_msg(rec_model_recommend_batch(m, users, nu, k, flags, NULL, items, scores) ==
                  REC_OK, "%s", rec_last_error());
    for (size_t q = 0; q < nu; q++) {
        const char *uid;
        size_t n;
        rec_model_user_id(m, users[q], &uid);
        ck_assert_int_eq(rec_model_recommend(m, uid, k, flags, ids, one, &n), REC_OK);
        for (size_t j = 0; j < k; j++) {
            if (j >= n) {
                ck_assert_int_eq(items[q * k + j], -1);
                ck_assert(isinf(scores[q * k + j]) && scores[q * k + j] < 0);
                continue;
            }
            const char *iid;
            ck_assert_int_eq(rec_model_item_id(m, items[q * k + j], &iid), REC_OK);
            ck_assert_msg(strcmp(iid, ids[j]) == 0, "%s user %zu rank %zu: %s vs %s",
                          rec_model_kind(m), q, j, iid, ids[j]);
            ck_assert_msg(memcmp(&scores[q * k + j], &one[j], sizeof(float)) == 0,
                          "%s user %zu rank %zu: score %.9g vs %.9g", rec_model_kind(m), q, j,
                          (double)scores[q * k + j], (double)one[j]);
        }
    }
    free(users), free(items), free(scores), free(one), free(ids);
}

START_TEST(batch_equals_single)
{
    static const char *const kinds[] = { "als", "itemcf", "popularity", "twotower", "svd" };
    const char *const kv[] = { "epochs=2" };
    for (size_t j = 0; j < sizeof kinds / sizeof *kinds; j++) {
        int epochs = strcmp(kinds[j], "twotower") == 0;
        rec_model *m = tu_fit(kinds[j], data, kv, epochs);
        check_batch_equals_single(m, 7, 0);
        check_batch_equals_single(m, 7, REC_INCLUDE_SEEN);
        check_batch_equals_single(m, 100, 0);   /* more than the catalogue: padded */
        rec_model_destroy(m);
    }
}
END_TEST

/* Keeps even items only; counts its calls (from several threads). */
static int even_only(int32_t item, size_t q, void *ctx)
{
    (void)q;
    __atomic_add_fetch((long *)ctx, 1, __ATOMIC_RELAXED);
    return item % 2 == 0;
}

START_TEST(batch_filters)
{
    rec_model *m = tu_fit("als", data, NULL, 0);
    enum { K = 5 };
    int32_t users[] = { 0, 1, 2 }, items[3 * K], plain[3 * K];
    ck_assert_int_eq(rec_model_recommend_batch(m, users, 3, K, 0, NULL, plain, NULL), REC_OK);
    /* Deny each user's first pick: it disappears and the rest moves up. */
    rec_filter *f;
    ck_assert_int_eq(rec_filter_create(&f, 80), REC_OK);
    int32_t deny[] = { plain[0], plain[K], plain[2 * K] };
    rec_filter_deny(f, deny, 3);
    ck_assert_int_eq(rec_model_recommend_batch(m, users, 3, K, 0, f, items, NULL), REC_OK);
    for (int q = 0; q < 3; q++)
        for (int j = 0; j < K; j++)
            for (int d = 0; d < 3; d++)
                ck_assert_int_ne(items[q * K + j], deny[d]);
    /* What is left of the plain list keeps its order at the front. */
    for (int q = 0; q < 3; q++) {
        int w = 0;
        for (int j = 0; j < K; j++)
            if (plain[q * K + j] != deny[0] && plain[q * K + j] != deny[1] &&
                plain[q * K + j] != deny[2])
                ck_assert_int_eq(items[q * K + w++], plain[q * K + j]);
    }
    rec_filter_destroy(f);
    /* Allow two items: only those, padded with -1. */
    rec_filter_create(&f, 80);
    int32_t allow[] = { 3, 11 };
    rec_filter_allow(f, allow, 2);
    ck_assert_int_eq(rec_model_recommend_batch(m, users, 3, K, REC_INCLUDE_SEEN, f, items, NULL),
                     REC_OK);
    for (int q = 0; q < 3; q++) {
        ck_assert(items[q * K] == 3 || items[q * K] == 11);
        ck_assert(items[q * K + 1] == 3 || items[q * K + 1] == 11);
        ck_assert_int_eq(items[q * K + 2], -1);
    }
    rec_filter_destroy(f);
    /* Per-user exclude lists and a predicate. */
    rec_filter_create(&f, 80);
    int64_t ptr[] = { 0, 1, 1, 2 };
    int32_t ex[] = { plain[0], plain[2 * K + 1] };
    rec_filter_exclude_csr(f, 3, ptr, ex);
    long calls = 0;
    ck_assert_int_eq(rec_filter_set_predicate(f, even_only, &calls), REC_OK);
    ck_assert_int_eq(rec_model_recommend_batch(m, users, 3, K, 0, f, items, NULL), REC_OK);
    ck_assert_int_gt(calls, 0);
    for (int q = 0; q < 3; q++)
        for (int j = 0; j < K; j++) {
            ck_assert_int_eq(items[q * K + j] % 2, 0);
            ck_assert_int_ne(items[q * K + j], q == 0 ? ex[0] : q == 2 ? ex[1] : -2);
        }
    /* Exclude lists for 3 users do not fit a batch of 2. */
    ck_assert_int_eq(rec_model_recommend_batch(m, users, 2, K, 0, f, items, NULL),
                     REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(),
                     "rec_model_recommend_batch: the filter has exclude lists for 3 users, not 2");
    rec_filter_destroy(f);
    rec_filter_create(&f, 79);
    ck_assert_int_eq(rec_model_recommend_batch(m, users, 3, K, 0, f, items, NULL),
                     REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(),
                     "rec_model_recommend_batch: the filter covers 79 labels, the model 80 items");
    rec_filter_destroy(f);
    ck_assert_int_eq(rec_filter_set_predicate(NULL, even_only, NULL), REC_E_INVALID);
    rec_model_destroy(m);
}
END_TEST

START_TEST(batch_errors)
{
    rec_model *m = tu_fit("popularity", data, NULL, 0);
    int32_t users[] = { 0, 60 }, items[4];
    ck_assert_int_eq(rec_model_recommend_batch(m, users, 2, 2, 0, NULL, items, NULL),
                     REC_E_RANGE);
    ck_assert_str_eq(rec_last_error(),
                     "rec_model_recommend_batch: users[1] = 60 is outside [0, 60)");
    ck_assert_int_eq(rec_model_recommend_batch(m, users, 1, 0, 0, NULL, items, NULL),
                     REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_model_recommend_batch: k is 0");
    ck_assert_int_eq(rec_model_recommend_batch(m, users, 1, 2, 4, NULL, items, NULL),
                     REC_E_INVALID);
    ck_assert_int_eq(rec_model_recommend_batch(m, users, 1, 2, 0, NULL, NULL, NULL),
                     REC_E_INVALID);
    const char *ids[] = { NULL, "nobody" };
    rec_model_user_id(m, 4, &ids[0]);
    ck_assert_int_eq(rec_model_recommend_batch_ids(m, ids, 2, 2, 0, NULL, items, NULL),
                     REC_E_NOTFOUND);
    ck_assert_str_eq(rec_last_error(),
                     "rec_model_recommend_batch_ids: users[1] = 'nobody' is an unknown user");
    int32_t one[2];
    ck_assert_int_eq(rec_model_recommend_batch_ids(m, ids, 1, 2, 0, NULL, items, NULL), REC_OK);
    users[0] = 4;
    ck_assert_int_eq(rec_model_recommend_batch(m, users, 1, 2, 0, NULL, one, NULL), REC_OK);
    ck_assert_int_eq(items[0], one[0]);
    ck_assert_int_eq(items[1], one[1]);
    rec_model *u;
    rec_model_create(&u, "als", NULL);
    ck_assert_int_eq(rec_model_recommend_batch(u, users, 1, 2, 0, NULL, items, NULL),
                     REC_E_STATE);
    ck_assert_str_eq(rec_last_error(), "rec_model_recommend_batch: the model is not fitted");
    rec_model_destroy(u);
    rec_model_destroy(m);
}
END_TEST

typedef struct batch_call {
    rec_model *m;
} batch_call;

static rec_status batch_run(void *ctx)
{
    int32_t users[] = { 0, 1, 2, 3, 4, 5, 6, 7 }, items[8 * 4];
    return rec_model_recommend_batch(((batch_call *)ctx)->m, users, 8, 4, 0, NULL, items, NULL);
}

static void batch_cleanup(void *ctx)
{
    (void)ctx;
}

START_TEST(batch_nomem)
{
    static const tu_call call = { NULL, batch_run, batch_cleanup };
    batch_call c = { tu_fit("als", data, NULL, 0) };
    ck_assert_int_ge(tu_call_fails_cleanly(&call, &c), 2);
    rec_model_destroy(c.m);
}
END_TEST

/* ---- vectors ------------------------------------------------------------------- */

/* user . item equals the score recommend ranks by, for a few users. */
static void check_vectors(const char *kind, const char *const *kv, int nkv)
{
    rec_model *m = tu_fit(kind, data, kv, nkv);
    size_t nu, ni;
    rec_model_num_users(m, &nu);
    rec_model_num_items(m, &ni);
    int dim = 0, dim2 = 0;
    ck_assert_msg(rec_model_vectors(m, REC_SIDE_USER, NULL, 0, &dim) == REC_OK, "%s: %s", kind,
                  rec_last_error());
    ck_assert_int_gt(dim, 0);
    float *uv = malloc(nu * dim * sizeof *uv), *iv = malloc(ni * dim * sizeof *iv);
    ck_assert_int_eq(rec_model_vectors(m, REC_SIDE_USER, uv, nu * dim, &dim2), REC_OK);
    ck_assert_int_eq(dim2, dim);
    ck_assert_int_eq(rec_model_vectors(m, REC_SIDE_ITEM, iv, ni * dim, &dim2), REC_OK);
    ck_assert_int_eq(rec_model_vectors(m, REC_SIDE_ITEM, iv, ni * dim - 1, &dim2), REC_E_RANGE);
    enum { K = 5 };
    int32_t users[] = { 0, 7, 33 }, items[3 * K];
    float scores[3 * K];
    ck_assert_int_eq(rec_model_recommend_batch(m, users, 3, K, REC_INCLUDE_SEEN, NULL, items,
                                               scores), REC_OK);
    for (int q = 0; q < 3; q++)
        for (int j = 0; j < K; j++) {
            double dot = 0;
            for (int c = 0; c < dim; c++)
                dot += (double)uv[(size_t)users[q] * dim + c] *
                       iv[(size_t)items[q * K + j] * dim + c];
            ck_assert_msg(fabs(dot - scores[q * K + j]) <= 1e-4 * (1 + fabs(dot)),
                          "%s user %d item %d: dot %.7g, score %.7g", kind, users[q],
                          items[q * K + j], dot, (double)scores[q * K + j]);
        }
    free(uv), free(iv);
    rec_model_destroy(m);
}

START_TEST(vectors_are_the_scores)
{
    const char *const quick[] = { "epochs=2" };
    check_vectors("mf", quick, 1);
    check_vectors("als", NULL, 0);
    check_vectors("svd", NULL, 0);
    check_vectors("svdpp", NULL, 0);
    check_vectors("twotower", quick, 1);
    check_vectors("sasrec", quick, 1);
    const char *const plain[] = { "epochs=2", "linear=0" }; /* its default adds a non-vector term */
    check_vectors("lightgcn", plain, 2);
    check_vectors("ngcf", quick, 1);
    check_vectors("gcn", quick, 1);
    check_vectors("graphsage", quick, 1);
}
END_TEST

START_TEST(vectors_errors)
{
    rec_model *m = tu_fit("itemcf", data, NULL, 0);
    int dim;
    ck_assert_int_eq(rec_model_vectors(m, REC_SIDE_ITEM, NULL, 0, &dim), REC_E_UNSUPPORTED);
    ck_assert_str_eq(rec_last_error(),
                     "rec_model_vectors: itemcf's scores are not inner products of vectors");
    rec_model_destroy(m);
    m = tu_fit("als", data, NULL, 0);
    float f[4];
    ck_assert_int_eq(rec_model_vectors(m, REC_SIDE_USER, f, 4, &dim), REC_E_RANGE);
    ck_assert_str_eq(rec_last_error(), "rec_model_vectors: out has room for 4 floats, the user "
                                       "vectors need 3840 (60 x 64)");
    ck_assert_int_eq(rec_model_vectors(m, (rec_side)5, NULL, 0, &dim), REC_E_INVALID);
    ck_assert_int_eq(rec_model_vectors(m, REC_SIDE_USER, NULL, 0, NULL), REC_E_INVALID);
    rec_model_destroy(m);
}
END_TEST

Suite *rec_serve_suite(void)
{
    Suite *s = suite_create("serve");
    TCase *a = tcase_create("arrays");
    tcase_add_test(a, from_arrays_values);
    tcase_add_test(a, from_arrays_errors);
    tcase_add_test(a, from_arrays_nomem);
    suite_add_tcase(s, a);
    TCase *b = tcase_create("batch");
    tcase_add_checked_fixture(b, setup, teardown);
    tcase_set_timeout(b, 120);
    tcase_add_test(b, model_ids);
    tcase_add_test(b, batch_equals_single);
    tcase_add_test(b, batch_filters);
    tcase_add_test(b, batch_errors);
    tcase_add_test(b, batch_nomem);
    tcase_add_test(b, vectors_are_the_scores);
    tcase_add_test(b, vectors_errors);
    suite_add_tcase(s, b);
    return s;
}
