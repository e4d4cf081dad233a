/* Neighbourhood models and popularity on hand-sized data: similarity
 * values of every measure, neighbour selection (k, min_support), shrinkage,
 * mean-centred, baseline-corrected (ALS baselines, pearson_baseline) and
 * plain predictions, clipping, implicit scores,
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

/* Similarities of item a to (c, b) by hand, best first. */
static void check_similar(const char *sim, const char *shrink, int n, const char *first,
                          double s1, const char *second, double s2)
{
    rec_dataset *d = rated();
    /* similar() shrinks by similar_shrinkage; 0 shows the measure itself */
    const char *kv[] = { sim, shrink, "similar_shrinkage=0" };
    rec_model *m = tu_fit("itemcf", d, kv, strncmp(shrink, "similar_", 8) ? 3 : 2);
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
    /* similar()'s default shrinkage is 50, whatever the measure's own
     * (which shapes predictions): a~c over 2 common users, a~b over 3 */
    check_similar("similarity=msd", "similar_shrinkage=50", 2, "c", 0.5 * 2 / 52, "b",
                  1 / 9.0 * 3 / 53);
    /* pearson: a~c perfectly correlated; a~b negative, dropped */
    check_similar("similarity=pearson", "shrinkage=0", 1, "c", 1.0, NULL, 0);
    check_similar("similarity=pearson", "similar_shrinkage=50", 1, "c", 2 / 52.0, NULL, 0);
    /* adjusted cosine: centred by user means 4, 3, 8/3; a~b negative */
    check_similar("similarity=adjusted_cosine", "shrinkage=0", 1, "c", 10 / sqrt(136.0), NULL,
                  0);
    check_similar("similarity=jaccard", "shrinkage=0", 2, "b", 1.0, "c", 2 / 3.0);
    /* shrinkage: sim * n / (n + 1) */
    check_similar("similarity=msd", "similar_shrinkage=1", 2, "c", 0.5 * 2 / 3, "b",
                  1 / 9.0 * 3 / 4);
    /* min_support 3 leaves b alone (a and c share 2 users) */
    check_similar("similarity=msd", "min_support=3", 1, "b", 1 / 9.0, NULL, 0);
}
END_TEST

/* Item-CF's similar items are shrunk by support: item "rare" shares one
 * rater with "hit" and agrees exactly (msd 1), "twin" shares all 30 and
 * is off by one star for 10 of them (msd 1 / (10/30 + 1) = 0.75).
 * Unshrunk, the one-rater item came first at 1.0. */
START_TEST(similar_items_are_shrunk_by_support)
{
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    for (int u = 0; u < 30; u++) {
        char id[16];
        snprintf(id, sizeof id, "u%d", u);
        ck_assert_int_eq(rec_dataset_add(d, id, "hit", 4, REC_NO_TIME), REC_OK);
        ck_assert_int_eq(rec_dataset_add(d, id, "twin", u < 10 ? 5 : 4, REC_NO_TIME), REC_OK);
    }
    ck_assert_int_eq(rec_dataset_add(d, "u0", "rare", 4, REC_NO_TIME), REC_OK);
    rec_model *m = tu_fit("itemcf", d, NULL, 0);
    const char *it[2];
    float sc[2];
    size_t n;
    ck_assert_int_eq(rec_model_similar(m, "hit", 2, it, sc, &n), REC_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(it[0], "twin");
    ck_assert_float_near(sc[0], 0.75 * 30 / 80, 1e-5);
    ck_assert_str_eq(it[1], "rare");
    ck_assert_float_near(sc[1], 1.0 * 1 / 51, 1e-5);
    rec_model_destroy(m);
    const char *kv[] = { "similar_shrinkage=0" };
    m = tu_fit("itemcf", d, kv, 1);
    ck_assert_int_eq(rec_model_similar(m, "hit", 2, it, sc, &n), REC_OK);
    ck_assert_str_eq(it[0], "rare");
    ck_assert_float_near(sc[0], 1.0, 1e-5);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(itemcf_predictions_by_hand)
{
    rec_dataset *d = rated();
    /* c's neighbours: a (msd 1/2), b (msd 1/6); means a 10/3, b 10/3, c 3 */
    const char *kv[] = { "similarity=msd", "centring=mean" };
    rec_model *m = tu_fit("itemcf", d, kv, 2);
    double want = 3 + (0.5 * (4 - 10 / 3.0) + (1 / 6.0) * (2 - 10 / 3.0)) / (0.5 + 1 / 6.0);
    ck_assert_float_near(tu_score(m, "u2", "c"), want, 1e-5);
    rec_model_destroy(m);

    const char *k1[] = { "similarity=msd", "k=1", "centring=mean" };
    m = tu_fit("itemcf", d, k1, 3);
    ck_assert_float_near(tu_score(m, "u2", "c"), 3 + (4 - 10 / 3.0), 1e-5);
    rec_model_destroy(m);

    /* ranking=prediction: recommend ranks by the prediction too */
    const char *none[] = { "similarity=msd", "centring=none", "ranking=prediction" };
    m = tu_fit("itemcf", d, none, 3);
    ck_assert_float_near(tu_score(m, "u2", "c"), (0.5 * 4 + 2 / 6.0) / (0.5 + 1 / 6.0), 1e-5);
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
    const char *kp[] = { "similarity=msd", "ranking=prediction", "centring=mean" };
    m = tu_fit("itemcf", d, kp, 3);
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
    const char *kv[] = { "similarity=msd", "ranking=prediction", "centring=mean" };
    rec_model *m = tu_fit("usercf", d, kv, 3);
    ck_assert_float_near(tu_score(m, "u2", "c"), 3 + 0.1 * (2 - 8 / 3.0) / 0.6, 1e-5);
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
    m = tu_fit("usercf", d, kv, 3);
    ck_assert_float_eq(tu_score(m, "x", "c"), 5.0f);
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
    ck_assert_float_near(tu_score(m, "u2", "c"), ab + 0.5, 1e-5);
    ck_assert_float_near(tu_score(m, "u3", "b"), ab + 0.5, 1e-5);
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
    const char *kv[] = { "similarity=msd", "keep=1", "centring=mean" };
    rec_model *m = tu_fit("itemcf", d, kv, 3);
    const char *it[3];
    float sc[3];
    size_t n;
    /* similar() ranks every item, not the stored list */
    ck_assert_int_eq(rec_model_similar(m, "a", 3, it, sc, &n), REC_OK);
    ck_assert_str_eq(it[0], "c");
    ck_assert_str_eq(it[1], "b");
    ck_assert_float_gt(sc[1], 0.0f);
    /* c keeps a: u2's prediction for c uses a alone */
    ck_assert_float_near(tu_score(m, "u2", "c"), 3 + (4 - 10 / 3.0), 1e-5);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* A NULL entry or a non-finite rating in a history is refused, naming the
 * entry, and nothing allocated for the call is left behind (a NULL entry
 * used to return from inside the loop with two scratch buffers live). */
START_TEST(bad_history_entries_are_refused_without_a_leak)
{
    rec_dataset *d = rated();
    rec_model *m = tu_fit("itemcf", d, NULL, 0);
    const char *it[3];
    float sc[3];
    size_t n = 7;
    const char *h[] = { "a", NULL, "c" };
    const float hr[] = { 4, 5, 2 };
    tu_alloc_install();
    rec_status st = rec_model_recommend_history(m, h, hr, 3, 3, 0, it, sc, &n);
    long long live = tu_alloc_live();
    tu_alloc_remove();
    ck_assert_int_eq(st, REC_E_INVALID);
    ck_assert_msg(strstr(rec_last_error(), "history[1] is NULL"), "%s", rec_last_error());
    ck_assert_int_eq(live, 0);
    ck_assert_uint_eq(n, 0);

    const char *h2[] = { "a", "b", "c" };
    const float nan_r[] = { 4, NAN, 2 }, inf_r[] = { 4, 5, -INFINITY };
    tu_alloc_install();
    st = rec_model_recommend_history(m, h2, nan_r, 3, 3, 0, it, sc, &n);
    live = tu_alloc_live();
    tu_alloc_remove();
    ck_assert_int_eq(st, REC_E_INVALID);
    ck_assert_msg(strstr(rec_last_error(), "history[1] ('b') has rating nan"), "%s",
                  rec_last_error());
    ck_assert_int_eq(live, 0);
    ck_assert_int_eq(rec_model_recommend_history(m, h2, inf_r, 3, 3, 0, it, sc, &n),
                     REC_E_INVALID);
    ck_assert_msg(strstr(rec_last_error(), "history[2] ('c') has rating -inf"), "%s",
                  rec_last_error());
    /* Without ratings the same items are a valid implicit history. */
    ck_assert_int_eq(rec_model_recommend_history(m, h2, NULL, 3, 3, REC_INCLUDE_SEEN, it, sc,
                                                 &n), REC_OK);
    ck_assert_uint_eq(n, 3);
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
    ck_assert_float_eq(tu_score(m, "u1", "b"), 10.0f);
    ck_assert_float_eq(tu_score(m, "u1", "c"), 6.0f);
    rec_model_destroy(m);

    /* segments: u1, u2 in x; u3 in y */
    ck_assert_int_eq(rec_dataset_add_field(d, REC_SIDE_USER, "region", REC_FEATURE_CATEGORICAL,
                                           NULL), REC_OK);
    rec_dataset_set_feature(d, REC_SIDE_USER, "region", "u1", "x", 0);
    rec_dataset_set_feature(d, REC_SIDE_USER, "region", "u2", "x", 0);
    rec_dataset_set_feature(d, REC_SIDE_USER, "region", "u3", "y", 0);
    const char *sg[] = { "segment=region" };
    m = tu_fit("popularity", d, sg, 1);
    ck_assert_float_eq(tu_score(m, "u1", "a"), 2.0f);
    ck_assert_float_eq(tu_score(m, "u1", "c"), 1.0f);
    ck_assert_float_eq(tu_score(m, "u3", "b"), 1.0f);
    ck_assert_float_eq(tu_score(m, "u3", "c"), 1.0f);
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
            ck_assert_float_eq(tu_score(m, us[u], is[i]), tu_score(l, us[u], is[i]));
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

/* The kinds' defaults are round-tripped by check_kinds.c; these are the
 * settings that save more than the defaults do. */
START_TEST(save_load_round_trip)
{
    const char *pe[] = { "similarity=pearson", "shrinkage=0" };
    same_after_load("usercf", pe, 2);
    /* the bias vectors come back: the fallback b_ui and fold-in's b_u need them */
    const char *bl[] = { "centring=baseline", "similarity=pearson_baseline", "min_support=3",
                         "ranking=prediction" };
    same_after_load("itemcf", bl, 4);
    same_after_load("usercf", bl, 4);
    const char *bm[] = { "centring=baseline" };
    same_after_load("itemcf", bm, 1);
    same_after_load("usercf", bm, 1);
}
END_TEST

START_TEST(bad_params_have_messages)
{
    tu_create_fails("itemcf", "similarity=euclid", REC_E_INVALID, "similarity");
    tu_create_fails("usercf", "k=0", REC_E_RANGE, "'k'");
    tu_create_fails("usercf", "centring=median", REC_E_INVALID, "centring");
    tu_create_fails("itemcf", "shrinkage=-2", REC_E_RANGE, "shrinkage");
    tu_create_fails("usercf", "bsl_reg_u=-1", REC_E_RANGE, "bsl_reg_u");
    tu_create_fails("itemcf", "bsl_epochs=-1", REC_E_RANGE, "bsl_epochs");
    tu_create_fails("popularity", "weight=sum", REC_E_INVALID, "weight");
}
END_TEST

static void no_leak_under_failures(const char *kind, const char *const *kv, int nkv)
{
    rec_dataset *d = rated();
    rec_model *m = tu_fit(kind, d, kv, nkv); /* builds the dataset's caches first */
    rec_model_destroy(m);
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    for (int j = 0; j < nkv; j++)
        ck_assert_int_eq(rec_params_parse(p, kv[j]), REC_OK);
    const char *h[] = { "a", "b" };
    const float hr[] = { 5, 3 };
    long k;
    for (k = 1; k < 10000; k++) {
        tu_alloc_install();
        tu_alloc_fail_at(k);
        rec_status st = rec_model_create(&m, kind, p);
        if (!st)
            st = rec_model_fit(m, d, NULL, NULL);
        float s;
        if (!st)
            st = rec_model_score(m, "u2", "c", &s);
        const char *it[3];
        float sc[3];
        size_t n;
        if (!st && nkv)
            st = rec_model_recommend_history(m, h, hr, 2, 3, 0, it, sc, &n);
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
    rec_params_destroy(p);
    rec_dataset_destroy(d);
}

/* The defaults are covered by check_kinds.c; the baseline settings allocate
 * more (biases, fold-in). */
START_TEST(allocation_failures_leak_nothing)
{
    const char *bl[] = { "centring=baseline", "similarity=pearson_baseline",
                         "ranking=prediction" };
    no_leak_under_failures("itemcf", bl, 3);
    no_leak_under_failures("usercf", bl, 3);
}
END_TEST

/* ---- baselines (centring=baseline, pearson_baseline) ----------------------
 * On rated() with bsl_reg_u = bsl_reg_i = 1 and one ALS sweep: mu = 26/8;
 * items first with b_u = 0: b_a = (10 - 3 mu) / (1 + 3) = 1/16, b_b = 1/16,
 * b_c = (6 - 2 mu) / (1 + 2) = -1/6; then users against those:
 * b_u1 = ((5-mu-1/16) + (3-mu-1/16) + (4-mu+1/6)) / 4 = 55/96,
 * b_u2 = ((4-mu-1/16) + (2-mu-1/16)) / 3 = -5/24, b_u3 = -41/96. */
#define MU 3.25
static const double BA = 1 / 16.0, BB = 1 / 16.0, BC = -1 / 6.0;
static const double BU1 = 55 / 96.0, BU2 = -5 / 24.0, BU3 = -41 / 96.0;
#define BSL "bsl_reg_u=1", "bsl_reg_i=1", "bsl_epochs=1"

START_TEST(baselines_by_hand)
{
    rec_dataset *d = rated();
    /* min_support above every overlap: no neighbours, so every prediction
     * is the baseline mu + b_u + b_i; both orientations sweep items first */
    const char *kv[] = { BSL, "centring=baseline", "min_support=9" };
    const char *us[] = { "u1", "u2", "u3" }, *is[] = { "a", "b", "c" };
    const double bu[] = { BU1, BU2, BU3 }, bi[] = { BA, BB, BC };
    const char *kinds[] = { "usercf", "itemcf" };
    for (int k = 0; k < 2; k++) {
        rec_model *m = tu_fit(kinds[k], d, kv, 5);
        for (int u = 0; u < 3; u++)
            for (int i = 0; i < 3; i++)
                ck_assert_float_near(tu_score(m, us[u], is[i]), MU + bu[u] + bi[i], 1e-5);
        rec_model_destroy(m);
    }
    /* a second sweep: b_a = ((5-mu-b_u1) + (4-mu-b_u2) + (1-mu-b_u3)) / 4 = 5/64,
     * then b_u2 = ((4-mu-5/64) + (2-mu-b_b)) / 3 with b_b = 5/64 as well */
    const char *k2[] = { "bsl_reg_u=1", "bsl_reg_i=1", "bsl_epochs=2", "centring=baseline",
                         "min_support=9" };
    rec_model *m = tu_fit("itemcf", d, k2, 5);
    double ba2 = 5 / 64.0, bu22 = ((4 - MU - ba2) + (2 - MU - ba2)) / 3;
    ck_assert_float_near(tu_score(m, "u2", "a"), MU + bu22 + ba2, 1e-5);
    rec_model_destroy(m);
    /* rating data centres on the baselines by default (centring=auto) */
    const char *kd[] = { BSL, "min_support=9" };
    m = tu_fit("usercf", d, kd, 4);
    ck_assert_float_near(tu_score(m, "u1", "c"), MU + BU1 + BC, 1e-5);
    rec_model_destroy(m);
    /* bsl_epochs=0: every bias 0, the baseline is mu */
    const char *k0[] = { "bsl_epochs=0", "centring=baseline", "min_support=9" };
    m = tu_fit("usercf", d, k0, 3);
    ck_assert_float_near(tu_score(m, "u3", "c"), MU, 1e-6);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* Residual r - mu - b_u - b_i of rated() under the biases above. */
static double resid(int u, int i)
{
    static const double r[3][3] = { { 5, 3, 4 }, { 4, 2, NAN }, { 1, 5, 2 } };
    const double bu[] = { BU1, BU2, BU3 }, bi[] = { BA, BB, BC };
    return r[u][i] - MU - bu[u] - bi[i];
}

START_TEST(pearson_baseline_by_hand)
{
    /* items a and c share u1 and u3: sum e_a e_c / sqrt(sum e_a^2 sum e_c^2);
     * a~b (3 common users) and b~c are negative, so dropped */
    double ea1 = resid(0, 0), ea3 = resid(2, 0), ec1 = resid(0, 2), ec3 = resid(2, 2);
    double ac = (ea1 * ec1 + ea3 * ec3) / sqrt((ea1 * ea1 + ea3 * ea3) * (ec1 * ec1 + ec3 * ec3));
    ck_assert_double_gt(ac, 0.99); /* the hand numbers above: 0.99868 */
    /* shrinkage applies as (n - 1) / (n - 1 + shrinkage); similar() uses
     * similar_shrinkage (default 50) in its place */
    rec_dataset *d = rated();
    const char *kv[][6] = { { BSL, "similarity=pearson_baseline", "similar_shrinkage=0" },
                            { BSL, "similarity=pearson_baseline", "k=40" },
                            { BSL, "similarity=pearson_baseline", "similar_shrinkage=1" },
                            { BSL, "similarity=pearson_baseline", "min_support=3" } };
    const double want[] = { ac, ac / 51, ac / 2, 0 };
    for (int t = 0; t < 4; t++) {
        rec_model *m = tu_fit("itemcf", d, kv[t], 5);
        const char *it[3];
        float sc[3];
        size_t n;
        ck_assert_int_eq(rec_model_similar(m, "a", 3, it, sc, &n), REC_OK);
        ck_assert_float_near(sc[0], want[t], 1e-6);
        if (t < 3)
            ck_assert_str_eq(it[0], "c");
        if (t < 3 && n > 1)
            ck_assert_float_eq(sc[1], 0.0f); /* a~b is negative */
        rec_model_destroy(m);
    }
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(baseline_predictions_by_hand)
{
    rec_dataset *d = rated();
    /* itemcf, msd: c's neighbours a (1/2) and b (1/6), as in
     * itemcf_predictions_by_hand; deviations from the baselines of u2 */
    const char *kv[] = { BSL, "centring=baseline", "similarity=msd" };
    rec_model *m = tu_fit("itemcf", d, kv, 5);
    double da = 4 - MU - BU2 - BA, db = 2 - MU - BU2 - BB;
    double want = MU + BU2 + BC + (0.5 * da + db / 6) / (0.5 + 1 / 6.0);
    ck_assert_float_near(tu_score(m, "u2", "c"), want, 1e-5);
    /* explain: each neighbour's sim * deviation / sum of sims */
    const char *why[3];
    float w[3];
    size_t n;
    ck_assert_int_eq(rec_model_explain(m, "u2", "c", 3, why, w, &n), REC_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(why[0], "a");
    ck_assert_float_near(w[0], 0.5 * da / (2 / 3.0), 1e-5);
    ck_assert_str_eq(why[1], "b");
    ck_assert_float_near(w[1], db / 6 / (2 / 3.0), 1e-5);
    rec_model_destroy(m);

    /* k=1 takes a alone */
    const char *k1[] = { BSL, "centring=baseline", "similarity=msd", "k=1" };
    m = tu_fit("itemcf", d, k1, 6);
    ck_assert_float_near(tu_score(m, "u2", "c"), MU + BU2 + BC + da, 1e-5);
    rec_model_destroy(m);

    /* usercf, msd: u2's neighbours u1 (1/2) and u3 (1/10) rated c; ranking
     * by prediction ranks by the same number */
    const char *ku[] = { BSL, "centring=baseline", "similarity=msd", "ranking=prediction" };
    m = tu_fit("usercf", d, ku, 6);
    double d1 = 4 - MU - BU1 - BC, d3 = 2 - MU - BU3 - BC;
    want = MU + BU2 + BC + (0.5 * d1 + 0.1 * d3) / 0.6;
    ck_assert_float_near(tu_score(m, "u2", "c"), want, 1e-5);
    const char *it[3];
    float sc[3];
    ck_assert_int_eq(rec_model_recommend(m, "u2", 3, 0, it, sc, &n), REC_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_float_near(sc[0], want, 1e-5);
    rec_model_destroy(m);

    /* usercf, pearson_baseline: u1~u2 positive, u3 negative to both, so
     * u2's prediction for c takes u1 alone (its similarity cancels) */
    const char *kp[] = { BSL, "centring=baseline", "similarity=pearson_baseline" };
    m = tu_fit("usercf", d, kp, 5);
    ck_assert_float_near(tu_score(m, "u2", "c"), MU + BU2 + BC + resid(0, 2), 1e-5);
    /* u3 has no positive neighbour: the baseline itself */
    ck_assert_float_near(tu_score(m, "u3", "a"), MU + BU3 + BA, 1e-5);
    rec_model_destroy(m);

    /* the baseline plus deviations clips to the rating range: x (5,5) next
     * to y (1,1,5) */
    rec_dataset_destroy(d);
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    rec_dataset_add(d, "x", "a", 5, REC_NO_TIME);
    rec_dataset_add(d, "x", "b", 5, REC_NO_TIME);
    rec_dataset_add(d, "y", "a", 1, REC_NO_TIME);
    rec_dataset_add(d, "y", "b", 1, REC_NO_TIME);
    rec_dataset_add(d, "y", "c", 5, REC_NO_TIME);
    const char *kc[] = { "centring=baseline", "similarity=msd" };
    m = tu_fit("usercf", d, kc, 2);
    /* b_x + b_c + (5 - mu - b_y - b_c) + mu = 5 + b_x - b_y, and b_x > b_y */
    ck_assert_float_eq(tu_score(m, "x", "c"), 5.0f);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(baseline_fold_in)
{
    rec_dataset *d = rated();
    const char *it[3];
    float sc[3];
    size_t n;
    /* usercf: history (a 5, b 3) has b_u = ((5-mu-1/16) + (3-mu-1/16)) / (1 + 2)
     * = 11/24 against the fixed item biases; msd 1 to u1, 1/11 to u3 */
    const char *ku[] = { BSL, "centring=baseline", "similarity=msd", "ranking=prediction" };
    rec_model *m = tu_fit("usercf", d, ku, 6);
    const char *h[] = { "a", "b" };
    const float hr[] = { 5, 3 };
    ck_assert_int_eq(rec_model_recommend_history(m, h, hr, 2, 3, 0, it, sc, &n), REC_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(it[0], "c");
    double d1 = 4 - MU - BU1 - BC, d3 = 2 - MU - BU3 - BC;
    ck_assert_float_near(sc[0], MU + 11 / 24.0 + BC + (d1 + d3 / 11) / (1 + 1 / 11.0), 1e-5);
    rec_model_destroy(m);

    /* usercf, pearson_baseline: u2's own history folds in as u2 (the same
     * b_u, so the same residuals and neighbours) */
    const char *kp[] = { BSL, "centring=baseline", "similarity=pearson_baseline",
                         "ranking=prediction" };
    m = tu_fit("usercf", d, kp, 6);
    const char *h2[] = { "a", "b" };
    const float hr2[] = { 4, 2 };
    ck_assert_int_eq(rec_model_recommend_history(m, h2, hr2, 2, 3, 0, it, sc, &n), REC_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_float_near(sc[0], MU + BU2 + BC + resid(0, 2), 1e-5);
    rec_model_destroy(m);

    /* itemcf with min_support=3: c has no neighbour, so its score is the
     * baseline mu + b_u + b_c, and b_u must come from the history */
    const char *ki[] = { BSL, "centring=baseline", "similarity=msd", "min_support=3",
                         "ranking=prediction" };
    m = tu_fit("itemcf", d, ki, 7);
    ck_assert_int_eq(rec_model_recommend_history(m, h, hr, 2, 3, 0, it, sc, &n), REC_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(it[0], "c");
    ck_assert_float_near(sc[0], MU + 11 / 24.0 + BC, 1e-5);
    ck_assert_int_eq(rec_model_recommend_history(m, h2, hr2, 2, 3, 0, it, sc, &n), REC_OK);
    ck_assert_float_near(sc[0], tu_score(m, "u2", "c"), 1e-6);
    ck_assert_float_near(sc[0], MU + BU2 + BC, 1e-5);
    /* ranking by prediction for u2 scores c the same */
    ck_assert_int_eq(rec_model_recommend(m, "u2", 3, 0, it, sc, &n), REC_OK);
    ck_assert_float_near(sc[0], MU + BU2 + BC, 1e-5);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(baseline_needs_ratings)
{
    rec_dataset *d = implicit();
    const char *kv[][2] = { { "centring=baseline", "similarity=cosine" },
                            { "similarity=pearson_baseline", "k=40" } };
    const char *want[] = { "centring 'baseline' needs ratings",
                           "similarity 'pearson_baseline' needs ratings" };
    const char *kinds[] = { "usercf", "itemcf" };
    for (int t = 0; t < 2; t++)
        for (int k = 0; k < 2; k++) {
            rec_params *p;
            rec_model *m;
            rec_params_create(&p);
            rec_params_parse(p, kv[t][0]);
            rec_params_parse(p, kv[t][1]);
            ck_assert_int_eq(rec_model_create(&m, kinds[k], p), REC_OK);
            ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_E_INVALID);
            ck_assert_msg(strstr(rec_last_error(), want[t]) != NULL, "%s", rec_last_error());
            ck_assert_ptr_nonnull(strstr(rec_last_error(), kinds[k]));
            rec_model_destroy(m);
            rec_params_destroy(p);
        }
    rec_dataset_destroy(d);
}
END_TEST

/* ranking=sum scores by the binary-cosine lists alone: the centring does
 * not reach top-N */
START_TEST(baseline_leaves_sum_ranking_alone)
{
    rec_dataset *d = rated();
    const char *km[] = { "centring=mean" };
    const char *kb[] = { "centring=baseline", "similarity=pearson_baseline" };
    const char *kinds[] = { "usercf", "itemcf" };
    for (int k = 0; k < 2; k++) {
        rec_model *a = tu_fit(kinds[k], d, km, 1), *b = tu_fit(kinds[k], d, kb, 2);
        const char *us[] = { "u1", "u2", "u3" };
        for (int u = 0; u < 3; u++) {
            const char *ia[3], *ib[3];
            float sa[3], sb[3];
            size_t na, nb;
            ck_assert_int_eq(rec_model_recommend(a, us[u], 3, REC_INCLUDE_SEEN, ia, sa, &na),
                             REC_OK);
            ck_assert_int_eq(rec_model_recommend(b, us[u], 3, REC_INCLUDE_SEEN, ib, sb, &nb),
                             REC_OK);
            ck_assert_uint_eq(na, nb);
            for (size_t j = 0; j < na; j++) {
                ck_assert_str_eq(ia[j], ib[j]);
                ck_assert_float_eq(sa[j], sb[j]);
            }
        }
        /* while the predictions differ */
        ck_assert_float_ne(tu_score(a, "u2", "c"), tu_score(b, "u2", "c"));
        rec_model_destroy(a);
        rec_model_destroy(b);
    }
    rec_dataset_destroy(d);
}
END_TEST

Suite *rec_cf_suite(void)
{
    Suite *s = suite_create("cf");
    TCase *tc = tcase_create("cf");
    tcase_add_test(tc, similarities_by_hand);
    tcase_add_test(tc, similar_items_are_shrunk_by_support);
    tcase_add_test(tc, bad_history_entries_are_refused_without_a_leak);
    tcase_add_test(tc, itemcf_predictions_by_hand);
    tcase_add_test(tc, usercf_predictions_by_hand);
    tcase_add_test(tc, implicit_scores_are_similarity_sums);
    tcase_add_test(tc, neighbour_lists_hold_k_of_keep);
    tcase_add_test(tc, popularity_order_and_segments);
    tcase_add_test(tc, save_load_round_trip);
    tcase_add_test(tc, bad_params_have_messages);
    tcase_add_test(tc, allocation_failures_leak_nothing);
    tcase_add_test(tc, baselines_by_hand);
    tcase_add_test(tc, pearson_baseline_by_hand);
    tcase_add_test(tc, baseline_predictions_by_hand);
    tcase_add_test(tc, baseline_fold_in);
    tcase_add_test(tc, baseline_needs_ratings);
    tcase_add_test(tc, baseline_leaves_sum_ranking_alone);
    suite_add_tcase(s, tc);
    return s;
}
