/* Neighbourhood models and popularity on hand-sized data: similarity
 * values of every measure, neighbour selection (k, min_support), shrinkage,
 * mean-centred and plain predictions, clipping, implicit scores,
 * recommending without seen items, fold-in, popularity order and segments,
 * save/load, bad parameters and allocation failures. */
#include "testutil.h"

#include <librec/librec.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* u1: a5 b3 c4 / u2: a4 b2 / u3: a1 b5 c2 */
static rec_dataset *rated(void)
{
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    const char *u[] = { "u1", "u1", "u1", "u2", "u2", "u3", "u3", "u3" };
    const char *i[] = { "a", "b", "c", "a", "b", "a", "b", "c" };
    const double r[] = { 5, 3, 4, 4, 2, 1, 5, 2 };
    for (int k = 0; k < 8; k++)
        ck_assert_int_eq(rec_dataset_add(d, u[k], i[k], r[k], REC_NO_TIME), REC_OK);
    return d;
}

/* u1: a b c / u2: a b / u3: a c, no ratings */
static rec_dataset *implicit(void)
{
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    const char *u[] = { "u1", "u1", "u1", "u2", "u2", "u3", "u3" };
    const char *i[] = { "a", "b", "c", "a", "b", "a", "c" };
    for (int k = 0; k < 7; k++)
        ck_assert_int_eq(rec_dataset_add(d, u[k], i[k], NAN, REC_NO_TIME), REC_OK);
    return d;
}


static float score(const rec_model *m, const char *u, const char *i)
{
    float s = NAN;
    ck_assert_msg(rec_model_score(m, u, i, &s) == REC_OK, "%s", rec_last_error());
    return s;
}

/* Similarities of item a to (c, b) by hand, best first. */
static void check_similar(const char *sim, const char *shrink, int n, const char *first,
                          double s1, const char *second, double s2)
{
    rec_dataset *d = rated();
    const char *kv[] = { sim, shrink };
    rec_model *m = tu_fit("itemcf", d, kv, 2);
    const char *it[3];
    float sc[3];
    size_t got;
    ck_assert_int_eq(rec_model_similar(m, "a", 3, it, sc, &got), REC_OK);
    /* items with similarity 0 still come back (score 0) after the positive ones */
    ck_assert_int_ge(got, (size_t)n);
    ck_assert_str_eq(it[0], first);
    ck_assert_float_near(sc[0], s1, 1e-5);
    if (n > 1) {
        ck_assert_str_eq(it[1], second);
        ck_assert_float_near(sc[1], s2, 1e-5);
    } else if (got > 1)
        ck_assert_float_eq(sc[1], 0.0f);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}

START_TEST(similarities_by_hand)
{
    /* a = (5,4,1), b = (3,2,5), c = (4,-,2) over users u1..u3 */
    check_similar("similarity=cosine", "shrinkage=0", 2, "c", 22 / sqrt(26.0 * 20), "b",
                  28 / sqrt(42.0 * 38));
    check_similar("similarity=msd", "shrinkage=0", 2, "c", 0.5, "b", 1 / 9.0);
    /* default shrinkage of msd is 0 */
    check_similar("similarity=msd", "k=40", 2, "c", 0.5, "b", 1 / 9.0);
    /* pearson: a~c perfectly correlated; a~b negative, dropped */
    check_similar("similarity=pearson", "shrinkage=0", 1, "c", 1.0, NULL, 0);
    /* pearson's default shrinkage is 100: 1 * 2 / (2 + 100) */
    check_similar("similarity=pearson", "k=40", 1, "c", 2 / 102.0, NULL, 0);
    /* adjusted cosine: centred by user means 4, 3, 8/3; a~b negative */
    check_similar("similarity=adjusted_cosine", "shrinkage=0", 1, "c", 10 / sqrt(136.0), NULL,
                  0);
    check_similar("similarity=jaccard", "shrinkage=0", 2, "b", 1.0, "c", 2 / 3.0);
    /* shrinkage: sim * n / (n + 1) */
    check_similar("similarity=msd", "shrinkage=1", 2, "c", 0.5 * 2 / 3, "b", 1 / 9.0 * 3 / 4);
    /* min_support 3 leaves b alone (a and c share 2 users) */
    check_similar("similarity=msd", "min_support=3", 1, "b", 1 / 9.0, NULL, 0);
}
END_TEST

START_TEST(itemcf_predictions_by_hand)
{
    rec_dataset *d = rated();
    /* c's neighbours: a (msd 1/2), b (msd 1/6); means a 10/3, b 10/3, c 3 */
    const char *kv[] = { "similarity=msd" };
    rec_model *m = tu_fit("itemcf", d, kv, 1);
    double want = 3 + (0.5 * (4 - 10 / 3.0) + (1 / 6.0) * (2 - 10 / 3.0)) / (0.5 + 1 / 6.0);
    ck_assert_float_near(score(m, "u2", "c"), want, 1e-5);
    rec_model_destroy(m);

    const char *k1[] = { "similarity=msd", "k=1" };
    m = tu_fit("itemcf", d, k1, 2);
    ck_assert_float_near(score(m, "u2", "c"), 3 + (4 - 10 / 3.0), 1e-5);
    rec_model_destroy(m);

    /* ranking=prediction: recommend ranks by the prediction too */
    const char *none[] = { "similarity=msd", "centring=none", "ranking=prediction" };
    m = tu_fit("itemcf", d, none, 3);
    ck_assert_float_near(score(m, "u2", "c"), (0.5 * 4 + 2 / 6.0) / (0.5 + 1 / 6.0), 1e-5);
    /* recommend for u2 leaves only c; with seen items, all three */
    const char *it[3];
    float sc[3];
    size_t n;
    ck_assert_int_eq(rec_model_recommend(m, "u2", 3, 0, it, sc, &n), REC_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(it[0], "c");
    ck_assert_float_near(sc[0], 3.5, 1e-5);
    ck_assert_int_eq(rec_model_recommend(m, "u2", 3, REC_INCLUDE_SEEN, it, sc, &n), REC_OK);
    ck_assert_uint_eq(n, 3);
    rec_model_destroy(m);

    /* fold-in of u2's ratings predicts as u2 does */
    const char *kp[] = { "similarity=msd", "ranking=prediction" };
    m = tu_fit("itemcf", d, kp, 2);
    const char *h[] = { "a", "b", "zz" };
    const float hr[] = { 4, 2, 3 };
    ck_assert_int_eq(rec_model_recommend_history(m, h, hr, 3, 3, 0, it, sc, &n), REC_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(it[0], "c");
    ck_assert_float_near(sc[0], want, 1e-5);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(usercf_predictions_by_hand)
{
    rec_dataset *d = rated();
    /* u2's neighbours: u1 (msd 1/2), u3 (msd 1/10); means 4, 3, 8/3 */
    const char *kv[] = { "similarity=msd", "ranking=prediction" };
    rec_model *m = tu_fit("usercf", d, kv, 2);
    ck_assert_float_near(score(m, "u2", "c"), 3 + 0.1 * (2 - 8 / 3.0) / 0.6, 1e-5);
    const char *it[3];
    float sc[3];
    size_t n;
    ck_assert_int_eq(rec_model_recommend(m, "u2", 3, 0, it, sc, &n), REC_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(it[0], "c");
    ck_assert_float_near(sc[0], 3 + 0.1 * (2 - 8 / 3.0) / 0.6, 1e-5);
    /* fold-in of (a 5, b 3): sims 1 to u1, 1/11 to u3; mean 4 */
    const char *h[] = { "a", "b" };
    const float hr[] = { 5, 3 };
    ck_assert_int_eq(rec_model_recommend_history(m, h, hr, 2, 3, 0, it, sc, &n), REC_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(it[0], "c");
    ck_assert_float_near(sc[0], 4 + (1 / 11.0) * (2 - 8 / 3.0) / (1 + 1 / 11.0), 1e-5);
    /* an item named twice counts once, with its later rating */
    const char *h2[] = { "a", "b", "a" };
    const float hr2[] = { 1, 3, 5 };
    ck_assert_int_eq(rec_model_recommend_history(m, h2, hr2, 3, 3, 0, it, sc, &n), REC_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_float_near(sc[0], 4 + (1 / 11.0) * (2 - 8 / 3.0) / (1 + 1 / 11.0), 1e-5);
    ck_assert_int_eq(rec_model_similar(m, "a", 2, it, sc, &n), REC_E_UNSUPPORTED);
    rec_model_destroy(m);
    rec_dataset_destroy(d);

    /* x (5,5) next to y (1,1,5): 5 + (5 - 7/3) clips to the top of the range */
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    rec_dataset_add(d, "x", "a", 5, REC_NO_TIME);
    rec_dataset_add(d, "x", "b", 5, REC_NO_TIME);
    rec_dataset_add(d, "y", "a", 1, REC_NO_TIME);
    rec_dataset_add(d, "y", "b", 1, REC_NO_TIME);
    rec_dataset_add(d, "y", "c", 5, REC_NO_TIME);
    m = tu_fit("usercf", d, kv, 1);
    ck_assert_float_eq(score(m, "x", "c"), 5.0f);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(implicit_scores_are_similarity_sums)
{
    rec_dataset *d = implicit();
    /* item cosine over binary columns: a~b = a~c = 2/sqrt(6), b~c = 1/2 */
    rec_model *m = tu_fit("itemcf", d, NULL, 0);
    double ab = 2 / sqrt(6.0);
    const char *it[3];
    float sc[3];
    size_t n;
    ck_assert_int_eq(rec_model_recommend(m, "u2", 3, REC_INCLUDE_SEEN, it, sc, &n), REC_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(it[0], "c");
    ck_assert_float_near(sc[0], ab + 0.5, 1e-5);
    ck_assert_str_eq(it[1], "a"); /* a and b tie at ab: lower index first */
    ck_assert_float_near(sc[1], ab, 1e-5);
    ck_assert_int_eq(rec_model_recommend(m, "u2", 3, 0, it, sc, &n), REC_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(it[0], "c");
    const char *h[] = { "b" };
    ck_assert_int_eq(rec_model_recommend_history(m, h, NULL, 1, 3, 0, it, sc, &n), REC_OK);
    ck_assert_str_eq(it[0], "a");
    ck_assert_float_near(sc[0], ab, 1e-5);
    ck_assert_float_near(sc[1], 0.5, 1e-5);
    rec_model_destroy(m);

    /* user cosine: u1~u2 = 2/sqrt(6), u1~u3 = 2/sqrt(6), u2~u3 = 1/2 */
    m = tu_fit("usercf", d, NULL, 0);
    ck_assert_float_near(score(m, "u2", "c"), ab + 0.5, 1e-5);
    ck_assert_float_near(score(m, "u3", "b"), ab + 0.5, 1e-5);
    rec_model_destroy(m);

    /* rating-only measures are refused on implicit data */
    rec_params *p;
    rec_params_create(&p);
    rec_params_set_str(p, "similarity", "msd");
    ck_assert_int_eq(rec_model_create(&m, "itemcf", p), REC_OK);
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "needs ratings"));
    rec_model_destroy(m);
    rec_params_destroy(p);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(neighbour_lists_hold_k_of_keep)
{
    /* keep=1: item a stores only c (msd 1/2) */
    rec_dataset *d = rated();
    const char *kv[] = { "similarity=msd", "keep=1" };
    rec_model *m = tu_fit("itemcf", d, kv, 2);
    const char *it[3];
    float sc[3];
    size_t n;
    ck_assert_int_eq(rec_model_similar(m, "a", 3, it, sc, &n), REC_OK);
    ck_assert_str_eq(it[0], "c");
    ck_assert_float_eq(sc[1], 0.0f);
    /* c keeps a: u2's prediction for c uses a alone */
    ck_assert_float_near(score(m, "u2", "c"), 3 + (4 - 10 / 3.0), 1e-5);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(popularity_order_and_segments)
{
    rec_dataset *d = implicit();
    rec_model *m = tu_fit("popularity", d, NULL, 0);
    const char *it[3];
    float sc[3];
    size_t n;
    ck_assert_int_eq(rec_model_recommend(m, "u3", 3, REC_INCLUDE_SEEN, it, sc, &n), REC_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(it[0], "a");
    ck_assert_float_eq(sc[0], 3.0f);
    ck_assert_str_eq(it[1], "b");
    ck_assert_float_eq(sc[1], 2.0f);
    ck_assert_int_eq(rec_model_recommend(m, "u3", 3, 0, it, sc, &n), REC_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(it[0], "b");
    ck_assert_int_eq(rec_model_recommend_history(m, NULL, NULL, 0, 1, 0, it, sc, &n), REC_OK);
    ck_assert_str_eq(it[0], "a");
    ck_assert_int_eq(rec_model_similar(m, "a", 2, it, sc, &n), REC_E_UNSUPPORTED);
    rec_model_destroy(m);
    rec_dataset_destroy(d);

    d = rated();
    const char *rs[] = { "weight=rating_sum" };
    m = tu_fit("popularity", d, rs, 1);
    ck_assert_float_eq(score(m, "u1", "b"), 10.0f);
    ck_assert_float_eq(score(m, "u1", "c"), 6.0f);
    rec_model_destroy(m);

    /* segments: u1, u2 in x; u3 in y */
    ck_assert_int_eq(rec_dataset_add_field(d, REC_SIDE_USER, "region", REC_FEATURE_CATEGORICAL,
                                           NULL), REC_OK);
    rec_dataset_set_feature(d, REC_SIDE_USER, "region", "u1", "x", 0);
    rec_dataset_set_feature(d, REC_SIDE_USER, "region", "u2", "x", 0);
    rec_dataset_set_feature(d, REC_SIDE_USER, "region", "u3", "y", 0);
    const char *sg[] = { "segment=region" };
    m = tu_fit("popularity", d, sg, 1);
    ck_assert_float_eq(score(m, "u1", "a"), 2.0f);
    ck_assert_float_eq(score(m, "u1", "c"), 1.0f);
    ck_assert_float_eq(score(m, "u3", "b"), 1.0f);
    ck_assert_float_eq(score(m, "u3", "c"), 1.0f);
    rec_model_destroy(m);

    rec_params *p;
    rec_params_create(&p);
    rec_params_set_str(p, "segment", "nosuch");
    ck_assert_int_eq(rec_model_create(&m, "popularity", p), REC_OK);
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_E_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "no user field 'nosuch'"));
    rec_model_destroy(m);
    rec_params_destroy(p);
    rec_dataset_destroy(d);
}
END_TEST

static void same_after_load(const char *kind, const char *const *kv, int nkv)
{
    rec_dataset *d = rated();
    rec_model *m = tu_fit(kind, d, kv, nkv), *l;
    const char *path = tu_tmp_path("cf.lrm");
    ck_assert_int_eq(rec_model_save(m, path), REC_OK);
    ck_assert_msg(rec_model_load(&l, path) == REC_OK, "%s", rec_last_error());
    ck_assert_str_eq(rec_model_kind(l), kind);
    const char *us[] = { "u1", "u2", "u3" }, *is[] = { "a", "b", "c" };
    for (int u = 0; u < 3; u++)
        for (int i = 0; i < 3; i++)
            ck_assert_float_eq(score(m, us[u], is[i]), score(l, us[u], is[i]));
    const char *a[3], *b[3];
    float sa[3], sb[3];
    size_t na, nb;
    ck_assert_int_eq(rec_model_recommend(m, "u2", 3, REC_INCLUDE_SEEN, a, sa, &na), REC_OK);
    ck_assert_int_eq(rec_model_recommend(l, "u2", 3, REC_INCLUDE_SEEN, b, sb, &nb), REC_OK);
    ck_assert_uint_eq(na, nb);
    for (size_t j = 0; j < na; j++) {
        ck_assert_str_eq(a[j], b[j]);
        ck_assert_float_eq(sa[j], sb[j]);
    }
    const char *h[] = { "a" };
    const float hr[] = { 5 };
    ck_assert_int_eq(rec_model_recommend_history(m, h, hr, 1, 3, 0, a, sa, &na), REC_OK);
    ck_assert_int_eq(rec_model_recommend_history(l, h, hr, 1, 3, 0, b, sb, &nb), REC_OK);
    ck_assert_uint_eq(na, nb);
    for (size_t j = 0; j < na; j++)
        ck_assert_float_eq(sa[j], sb[j]);
    rec_model_destroy(m);
    rec_model_destroy(l);
    rec_dataset_destroy(d);
}

START_TEST(save_load_round_trip)
{
    const char *pe[] = { "similarity=pearson", "shrinkage=0" };
    same_after_load("itemcf", NULL, 0);
    same_after_load("usercf", NULL, 0);
    same_after_load("usercf", pe, 2);
    same_after_load("popularity", NULL, 0);
}
END_TEST

START_TEST(bad_params_have_messages)
{
    rec_params *p;
    rec_model *m;
    rec_params_create(&p);
    rec_params_set_str(p, "similarity", "euclid");
    ck_assert_int_eq(rec_model_create(&m, "itemcf", p), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "similarity"));
    rec_params_destroy(p);
    rec_params_create(&p);
    rec_params_set_int(p, "k", 0);
    ck_assert_int_eq(rec_model_create(&m, "usercf", p), REC_E_RANGE);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "'k'"));
    rec_params_destroy(p);
    rec_params_create(&p);
    rec_params_set_str(p, "centring", "median");
    ck_assert_int_eq(rec_model_create(&m, "usercf", p), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "centring"));
    rec_params_destroy(p);
    rec_params_create(&p);
    rec_params_set_float(p, "shrinkage", -2);
    ck_assert_int_eq(rec_model_create(&m, "itemcf", p), REC_E_RANGE);
    rec_params_destroy(p);
    rec_params_create(&p);
    rec_params_set_str(p, "weight", "sum");
    ck_assert_int_eq(rec_model_create(&m, "popularity", p), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "weight"));
    rec_params_destroy(p);
}
END_TEST

static void no_leak_under_failures(const char *kind)
{
    rec_dataset *d = rated();
    rec_model *m = tu_fit(kind, d, NULL, 0); /* builds the dataset's caches first */
    rec_model_destroy(m);
    long k;
    for (k = 1; k < 10000; k++) {
        tu_alloc_install();
        tu_alloc_fail_at(k);
        rec_status st = rec_model_create(&m, kind, NULL);
        if (!st)
            st = rec_model_fit(m, d, NULL, NULL);
        float s;
        if (!st)
            st = rec_model_score(m, "u2", "c", &s);
        rec_model_destroy(m);
        m = NULL;
        long long live = tu_alloc_live();
        tu_alloc_remove();
        ck_assert_msg(live == 0, "%s: allocation %ld: %lld bytes leaked", kind, k, live);
        if (st == REC_OK)
            break;
        ck_assert_msg(st == REC_E_NOMEM, "%s: allocation %ld: %s", kind, k, rec_last_error());
    }
    ck_assert_int_gt(k, 3);
    rec_dataset_destroy(d);
}

START_TEST(allocation_failures_leak_nothing)
{
    no_leak_under_failures("itemcf");
    no_leak_under_failures("usercf");
    no_leak_under_failures("popularity");
}
END_TEST

Suite *rec_cf_suite(void)
{
    Suite *s = suite_create("cf");
    TCase *tc = tcase_create("cf");
    tcase_add_test(tc, similarities_by_hand);
    tcase_add_test(tc, itemcf_predictions_by_hand);
    tcase_add_test(tc, usercf_predictions_by_hand);
    tcase_add_test(tc, implicit_scores_are_similarity_sums);
    tcase_add_test(tc, neighbour_lists_hold_k_of_keep);
    tcase_add_test(tc, popularity_order_and_segments);
    tcase_add_test(tc, save_load_round_trip);
    tcase_add_test(tc, bad_params_have_messages);
    tcase_add_test(tc, allocation_failures_leak_nothing);
    suite_add_tcase(s, tc);
    return s;
}
