/* The re-ranking pipeline (librec/rerank.h): each stage on a crafted list
 * with its exact expected output, errors with their messages, and a build
 * and apply under failing allocations. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "librec/librec.h"
#include "testutil.h"

/* One stage of kind with "key=value" params (NULL-terminated), asserted. */
static rec_rerank_stage *stage(const char *kind, const char *kv1, const char *kv2)
{
    rec_params *p = NULL;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    if (kv1)
        ck_assert_int_eq(rec_params_parse(p, kv1), REC_OK);
    if (kv2)
        ck_assert_int_eq(rec_params_parse(p, kv2), REC_OK);
    rec_rerank_stage *s = NULL;
    rec_status st = rec_rerank_stage_create(&s, kind, p);
    ck_assert_msg(st == REC_OK, "%s: %s", kind, rec_last_error());
    rec_params_destroy(p);
    return s;
}

/* A pipeline of the given stages (owned by it afterwards). */
static rec_rerank *pipeline(rec_rerank_stage *a, rec_rerank_stage *b)
{
    rec_rerank *r = NULL;
    ck_assert_int_eq(rec_rerank_create(&r), REC_OK);
    if (a)
        ck_assert_msg(rec_rerank_add(r, a) == REC_OK, "%s", rec_last_error());
    if (b)
        ck_assert_msg(rec_rerank_add(r, b) == REC_OK, "%s", rec_last_error());
    return r;
}

static void expect(const int32_t *got, size_t n, const int32_t *want, size_t nwant)
{
    ck_assert_uint_eq(n, nwant);
    for (size_t j = 0; j < n; j++)
        ck_assert_msg(got[j] == want[j], "slot %zu: got %d, want %d", j, (int)got[j],
                      (int)want[j]);
}

/* Candidates 0..7 given out of order; by score they run 0, 1, ..., 7. */
static const int32_t IT[8] = { 3, 0, 7, 1, 5, 2, 6, 4 };
static const float SC[8] = { 0.6f, 0.9f, 0.2f, 0.8f, 0.4f, 0.7f, 0.3f, 0.5f };

START_TEST(empty_pipeline_orders_by_score_ties_in_input_order)
{
    rec_rerank *r = pipeline(NULL, NULL);
    int32_t out[8];
    float os[8];
    size_t n;
    ck_assert_int_eq(rec_rerank_apply(r, IT, SC, 8, NULL, 0, 0, 5, out, os, &n), REC_OK);
    expect(out, n, (const int32_t[]){ 0, 1, 2, 3, 4 }, 5);
    ck_assert_float_eq(os[0], 0.9f);
    ck_assert_float_eq(os[4], 0.5f);
    const int32_t ti[3] = { 9, 4, 6 };
    const float ts[3] = { 1, 2, 1 };
    ck_assert_int_eq(rec_rerank_apply(r, ti, ts, 3, NULL, 0, 0, 10, out, NULL, &n), REC_OK);
    expect(out, n, (const int32_t[]){ 4, 9, 6 }, 3);
    size_t ns;
    ck_assert_int_eq(rec_rerank_size(r, &ns), REC_OK);
    ck_assert_uint_eq(ns, 0);
    rec_rerank_destroy(r);
}
END_TEST

static int hide_odd(void *user, int32_t item)
{
    ++*(int *)user;
    return item & 1;
}

START_TEST(hide_drops_deny_set_and_predicate_no_repeat_drops_recent)
{
    rec_rerank_stage *h = stage("hide", NULL, NULL);
    ck_assert_int_eq(rec_rerank_stage_set_items(h, (const int32_t[]){ 4, 0, 4 }, 3), REC_OK);
    ck_assert_int_eq(rec_rerank_stage_set_items(h, (const int32_t[]){ 2 }, 1), REC_OK);
    rec_rerank *r = pipeline(h, stage("no_repeat", NULL, NULL));
    int32_t out[8];
    size_t n;
    const int32_t recent[2] = { 7, 1 };
    ck_assert_int_eq(rec_rerank_apply(r, IT, SC, 8, recent, 2, 0, 8, out, NULL, &n), REC_OK);
    expect(out, n, (const int32_t[]){ 3, 5, 6 }, 3);
    int calls = 0;
    ck_assert_int_eq(rec_rerank_stage_set_predicate(h, hide_odd, &calls), REC_OK);
    ck_assert_int_eq(rec_rerank_apply(r, IT, SC, 8, NULL, 0, 0, 8, out, NULL, &n), REC_OK);
    expect(out, n, (const int32_t[]){ 6 }, 1);
    ck_assert_int_eq(calls, 5); /* asked only about items the deny set let through */
    rec_rerank_destroy(r);
}
END_TEST

START_TEST(boost_adds_or_multiplies_and_reorders)
{
    float w[8] = { 0, 0, 0, 0, 0, 0, 0, 1.0f };
    rec_rerank_stage *b = stage("boost", NULL, NULL);
    ck_assert_int_eq(rec_rerank_stage_set_weights(b, w, 8), REC_OK);
    rec_rerank *r = pipeline(b, NULL);
    int32_t out[8];
    float os[8];
    size_t n;
    ck_assert_int_eq(rec_rerank_apply(r, IT, SC, 8, NULL, 0, 0, 3, out, os, &n), REC_OK);
    expect(out, n, (const int32_t[]){ 7, 0, 1 }, 3);
    ck_assert_float_eq_tol(os[0], 1.2f, 1e-6);
    rec_rerank_destroy(r);

    for (int i = 0; i < 8; i++)
        w[i] = 1;
    w[3] = 2.0f; /* 0.6 -> 1.2 */
    w[0] = 0.5f; /* 0.9 -> 0.45 */
    b = stage("boost", "mode=mul", NULL);
    ck_assert_int_eq(rec_rerank_stage_set_weights(b, w, 8), REC_OK);
    r = pipeline(b, NULL);
    ck_assert_int_eq(rec_rerank_apply(r, IT, SC, 8, NULL, 0, 0, 8, out, os, &n), REC_OK);
    expect(out, n, (const int32_t[]){ 3, 1, 2, 4, 0, 5, 6, 7 }, 8);
    ck_assert_float_eq_tol(os[4], 0.45f, 1e-6);
    rec_rerank_destroy(r);
}
END_TEST

START_TEST(caps_hold_per_group)
{
    /* groups of items 0..7: A A A B A B - C (item 6 has none) */
    const int32_t g[8] = { 0, 0, 0, 1, 0, 1, -1, 2 };
    rec_rerank_stage *c = stage("cap", "max=2", NULL);
    ck_assert_int_eq(rec_rerank_stage_set_groups(c, g, 8), REC_OK);
    rec_rerank *r = pipeline(c, NULL);
    int32_t out[8];
    size_t n;
    ck_assert_int_eq(rec_rerank_apply(r, IT, SC, 8, NULL, 0, 0, 8, out, NULL, &n), REC_OK);
    expect(out, n, (const int32_t[]){ 0, 1, 3, 5, 6, 7 }, 6);
    int count[3] = { 0 };
    for (size_t j = 0; j < n; j++)
        if (g[out[j]] >= 0)
            ck_assert_int_le(++count[g[out[j]]], 2);
    rec_rerank_destroy(r);
}
END_TEST

START_TEST(mmr_lambda_one_is_identity_lambda_zero_diversifies)
{
    /* Random vectors: lambda = 1 keeps the score order exactly. */
    float v[8 * 4];
    for (int i = 0; i < 32; i++)
        v[i] = (float)sin(1.7 * i + 0.3);
    rec_rerank_stage *m = stage("mmr", "lambda=1", NULL);
    ck_assert_int_eq(rec_rerank_stage_set_vectors(m, v, 8, 4), REC_OK);
    rec_rerank *r = pipeline(m, NULL);
    int32_t out[8];
    size_t n;
    ck_assert_int_eq(rec_rerank_apply(r, IT, SC, 8, NULL, 0, 0, 8, out, NULL, &n), REC_OK);
    expect(out, n, (const int32_t[]){ 0, 1, 2, 3, 4, 5, 6, 7 }, 8);
    rec_rerank_destroy(r);

    /* Groups A A A B B C C D for items 0..7: lambda = 0 takes one of each
     * group before any repeat, each time the best-scored of a new group. */
    const int32_t g[8] = { 0, 0, 0, 1, 1, 2, 2, 3 };
    m = stage("mmr", "lambda=0", NULL);
    ck_assert_int_eq(rec_rerank_stage_set_groups(m, g, 8), REC_OK);
    r = pipeline(m, NULL);
    ck_assert_int_eq(rec_rerank_apply(r, IT, SC, 8, NULL, 0, 0, 4, out, NULL, &n), REC_OK);
    expect(out, n, (const int32_t[]){ 0, 3, 5, 7 }, 4);
    rec_rerank_destroy(r);

    /* Vectors: items 0, 1, 2 point along x, 3 along y, 4 along -x.  With
     * lambda = 0 the second pick is the opposite of the first (cosine -1),
     * the third the orthogonal one (max similarity 0 beats 1). */
    float u[5 * 2] = { 1, 0, 2, 0, 1, 0.01f, 0, 1, -1, 0 };
    m = stage("mmr", "lambda=0", NULL);
    ck_assert_int_eq(rec_rerank_stage_set_vectors(m, u, 5, 2), REC_OK);
    r = pipeline(m, NULL);
    const int32_t it5[5] = { 0, 1, 2, 3, 4 };
    const float sc5[5] = { 5, 4, 3, 2, 1 };
    ck_assert_int_eq(rec_rerank_apply(r, it5, sc5, 5, NULL, 0, 0, 3, out, NULL, &n), REC_OK);
    expect(out, n, (const int32_t[]){ 0, 4, 3 }, 3);
    rec_rerank_destroy(r);
}
END_TEST

START_TEST(seeded_exploration_reproduces)
{
    int32_t it[50];
    float sc[50];
    for (int i = 0; i < 50; i++) {
        it[i] = i;
        sc[i] = (float)(50 - i) / 10;
    }
    const char *methods[2] = { "method=epsilon", "method=softmax" };
    for (int mth = 0; mth < 2; mth++) {
        rec_rerank *r = pipeline(stage("explore", methods[mth], "epsilon=0.5"), NULL);
        int32_t a[10], b[10], c[10];
        size_t na, nb, nc;
        ck_assert_int_eq(rec_rerank_apply(r, it, sc, 50, NULL, 0, 7, 10, a, NULL, &na), REC_OK);
        ck_assert_int_eq(rec_rerank_apply(r, it, sc, 50, NULL, 0, 7, 10, b, NULL, &nb), REC_OK);
        expect(a, na, b, nb);
        /* Another call seed draws another list; no item twice. */
        ck_assert_int_eq(rec_rerank_apply(r, it, sc, 50, NULL, 0, 8, 10, c, NULL, &nc), REC_OK);
        ck_assert_uint_eq(nc, 10);
        ck_assert_msg(memcmp(a, c, sizeof a) != 0, "%s: seeds 7 and 8 gave the same list",
                      methods[mth]);
        int moved = 0;
        for (int j = 0; j < 10; j++) {
            moved += a[j] != j;
            for (int i = 0; i < j; i++)
                ck_assert_int_ne(a[i], a[j]);
        }
        ck_assert_msg(moved > 0, "%s: nothing explored", methods[mth]);
        rec_rerank_destroy(r);
    }
    /* No exploration (epsilon 0, or a temperature so low that the best
     * item always wins) is the identity. */
    rec_rerank *r = pipeline(stage("explore", "epsilon=0", NULL),
                             stage("explore", "method=softmax", "temperature=0.000001"));
    int32_t a[10];
    size_t na;
    ck_assert_int_eq(rec_rerank_apply(r, it, sc, 50, NULL, 0, 3, 10, a, NULL, &na), REC_OK);
    expect(a, na, (const int32_t[]){ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 }, 10);
    rec_rerank_destroy(r);
}
END_TEST

#define EXPECT_ERR(call, code, text)                                                   \
    do {                                                                               \
        ck_assert_int_eq((call), (code));                                              \
        ck_assert_msg(strstr(rec_last_error(), (text)), "'%s' lacks '%s'", rec_last_error(), \
                      (text));                                                         \
    } while (0)

START_TEST(bad_input_is_refused_with_a_message)
{
    rec_rerank_stage *s = NULL;
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    EXPECT_ERR(rec_rerank_stage_create(&s, "shuffle", NULL), REC_E_INVALID,
               "rec_rerank_stage_create: unknown kind 'shuffle'");
    ck_assert_ptr_null(s);
    rec_params_set_float(p, "lambda", 1.5);
    EXPECT_ERR(rec_rerank_stage_create(&s, "mmr", p), REC_E_RANGE, "'lambda' = 1.5");
    EXPECT_ERR(rec_rerank_stage_create(&s, "cap", p), REC_E_INVALID,
               "unknown parameter 'lambda'");
    rec_params_destroy(p);

    rec_rerank_stage *cap = stage("cap", NULL, NULL), *boost = stage("boost", NULL, NULL);
    EXPECT_ERR(rec_rerank_stage_set_weights(cap, (const float[]){ 1 }, 1), REC_E_INVALID,
               "rec_rerank_stage_set_weights: the stage is 'cap', not 'boost'");
    EXPECT_ERR(rec_rerank_stage_set_weights(boost, (const float[]){ 1, NAN }, 2),
               REC_E_INVALID, "weights[1] = nan is not a finite number");
    EXPECT_ERR(rec_rerank_stage_set_vectors(cap, (const float[]){ 1 }, 1, 1), REC_E_INVALID,
               "not 'mmr'");
    rec_rerank *r = pipeline(NULL, NULL);
    EXPECT_ERR(rec_rerank_add(r, boost), REC_E_STATE, "the boost stage has no weights");
    EXPECT_ERR(rec_rerank_add(r, cap), REC_E_STATE, "the cap stage has no groups");
    ck_assert_int_eq(rec_rerank_stage_set_groups(cap, (const int32_t[]){ 0, 1, 0 }, 3),
                     REC_OK);
    ck_assert_int_eq(rec_rerank_add(r, cap), REC_OK);
    EXPECT_ERR(rec_rerank_add(r, cap), REC_E_INVALID, "already in the pipeline");
    rec_rerank_stage_destroy(boost);

    int32_t out[4];
    size_t n = 99;
    EXPECT_ERR(rec_rerank_apply(r, (const int32_t[]){ 0, 5 }, (const float[]){ 1, 2 }, 2,
                                NULL, 0, 0, 4, out, NULL, &n),
               REC_E_RANGE, "items[1] = 5 is beyond the 3 items of stage 0 ('cap')");
    ck_assert_uint_eq(n, 0);
    EXPECT_ERR(rec_rerank_apply(r, (const int32_t[]){ 0, 1 }, (const float[]){ 1, NAN }, 2,
                                NULL, 0, 0, 4, out, NULL, &n),
               REC_E_INVALID, "scores[1] is NaN");
    EXPECT_ERR(rec_rerank_apply(r, (const int32_t[]){ 0, 1 }, (const float[]){ 1, 2 }, 2,
                                NULL, 0, 0, 4, NULL, NULL, &n),
               REC_E_INVALID, "out_items is NULL");
    EXPECT_ERR(rec_rerank_apply(r, NULL, NULL, 0, NULL, 3, 0, 4, out, NULL, &n),
               REC_E_INVALID, "recent is NULL");
    rec_rerank_destroy(r);
}
END_TEST

/* Every allocation of building and applying a pipeline of every stage kind
 * fails in turn: each failure is REC_E_NOMEM with nothing leaked. */
static rec_status build_and_apply(int32_t *out, size_t *n)
{
    static const float w[6] = { 0, 0.1f, 0, 0, 0, 0.5f }, v[6 * 2] = { 1, 0, 1, 1, 0, 1,
                                                                       -1, 0, 1, 0, 0, -1 };
    static const int32_t g[6] = { 0, 0, 1, 1, 2, 2 }, deny[1] = { 4 }, recent[1] = { 2 };
    static const int32_t it[6] = { 0, 1, 2, 3, 4, 5 };
    static const float sc[6] = { 6, 5, 4, 3, 2, 1 };
    rec_rerank *r = NULL;
    rec_params *p = NULL;
    rec_rerank_stage *s = NULL;
    const char *kinds[6] = { "hide", "boost", "cap", "mmr", "no_repeat", "explore" };
    rec_status st = rec_rerank_create(&r);
    if (!st)
        st = rec_params_create(&p);
    for (int i = 0; !st && i < 6; i++) {
        rec_params_destroy(p);
        p = NULL;
        st = rec_params_create(&p);
        if (!st && i == 5)
            st = rec_params_set_str(p, "method", "softmax");
        if (!st)
            st = rec_rerank_stage_create(&s, kinds[i], p);
        if (!st && i == 0)
            st = rec_rerank_stage_set_items(s, deny, 1);
        if (!st && i == 1)
            st = rec_rerank_stage_set_weights(s, w, 6);
        if (!st && i == 2)
            st = rec_rerank_stage_set_groups(s, g, 6);
        if (!st && i == 3)
            st = rec_rerank_stage_set_vectors(s, v, 6, 2);
        if (!st)
            st = rec_rerank_add(r, s);
        if (st)
            rec_rerank_stage_destroy(s);
        s = NULL;
    }
    if (!st)
        st = rec_rerank_apply(r, it, sc, 6, recent, 1, 5, 3, out, NULL, n);
    rec_params_destroy(p);
    rec_rerank_destroy(r);
    return st;
}

START_TEST(failing_allocations_leave_nothing_behind)
{
    int32_t want[3], out[3];
    size_t nwant, n;
    ck_assert_int_eq(build_and_apply(want, &nwant), REC_OK);
    ck_assert_uint_eq(nwant, 2); /* hide 4, cap to 0 2 5, no_repeat 2 */
    long fail;
    for (fail = 1;; fail++) {
        tu_alloc_install();
        tu_alloc_fail_at(fail);
        rec_status st = build_and_apply(out, &n);
        long long live = tu_alloc_live();
        tu_alloc_remove();
        ck_assert_int_eq(live, 0);
        if (st == REC_OK)
            break;
        ck_assert_int_eq(st, REC_E_NOMEM);
    }
    ck_assert_int_gt(fail, 10);
    expect(out, n, want, nwant);
}
END_TEST

Suite *rec_rerank_suite(void)
{
    Suite *s = suite_create("rerank");
    TCase *tc = tcase_create("stages");
    tcase_add_test(tc, empty_pipeline_orders_by_score_ties_in_input_order);
    tcase_add_test(tc, hide_drops_deny_set_and_predicate_no_repeat_drops_recent);
    tcase_add_test(tc, boost_adds_or_multiplies_and_reorders);
    tcase_add_test(tc, caps_hold_per_group);
    tcase_add_test(tc, mmr_lambda_one_is_identity_lambda_zero_diversifies);
    tcase_add_test(tc, seeded_exploration_reproduces);
    tcase_add_test(tc, bad_input_is_refused_with_a_message);
    tcase_add_test(tc, failing_allocations_leave_nothing_behind);
    suite_add_tcase(s, tc);
    return s;
}
