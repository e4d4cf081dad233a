/* Top-N scoring modes by hand: neighbourhood ranking by binary-cosine
 * similarity sums (or rating-weighted sums) while a pair still scores the
 * rating prediction; svd with sampled unrated items as zero targets (one
 * epoch of SGD on the biases, step by step); tfidf profiles weighted by
 * recency and by liked items.  Save/load keeps the ranking lists; bad
 * values are refused with a message. */
#include "testutil.h"

#include <librec/librec.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* u1: a5 b3 c4 / u2: a4 b2 / u3: a1 b5 c2 (times in this order) */
static rec_dataset *rated(void)
{
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    const char *u[] = { "u1", "u1", "u1", "u2", "u2", "u3", "u3", "u3" };
    const char *i[] = { "a", "b", "c", "a", "b", "a", "b", "c" };
    const double r[] = { 5, 3, 4, 4, 2, 1, 5, 2 };
    for (int k = 0; k < 8; k++)
        ck_assert_int_eq(rec_dataset_add(d, u[k], i[k], r[k], k), REC_OK);
    return d;
}

/* The recommend score of item i for u, seen items included. */
static float rank_score(const rec_model *m, const char *u, const char *i)
{
    const char *it[8];
    float sc[8];
    size_t n;
    ck_assert_int_eq(rec_model_recommend(m, u, 8, REC_INCLUDE_SEEN, it, sc, &n), REC_OK);
    for (size_t j = 0; j < n; j++)
        if (strcmp(it[j], i) == 0)
            return sc[j];
    ck_abort_msg("%s not recommended to %s", i, u);
    return NAN;
}

static float history_score(const rec_model *m, const char *const *h, const float *r, size_t n,
                           const char *i)
{
    const char *it[8];
    float sc[8];
    size_t got;
    ck_assert_int_eq(rec_model_recommend_history(m, h, r, n, 8, REC_INCLUDE_SEEN, it, sc, &got),
                     REC_OK);
    for (size_t j = 0; j < got; j++)
        if (strcmp(it[j], i) == 0)
            return sc[j];
    ck_abort_msg("%s not recommended to the history", i);
    return NAN;
}

/* Binary cosine of rated(): items a = b = {u1,u2,u3}, c = {u1,u3}:
 * a~b = 1, a~c = b~c = 2/sqrt(6); users u1 = u3 = {a,b,c}, u2 = {a,b}:
 * u1~u3 = 1, u1~u2 = u2~u3 = 2/sqrt(6).  The same numbers either way. */
START_TEST(knn_ranking_sums_binary_cosine)
{
    rec_dataset *d = rated();
    double s6 = 2 / sqrt(6.0);
    const char *kinds[] = { "itemcf", "usercf" };
    for (int k = 0; k < 2; k++) {
        const char *pred[] = { "ranking=prediction" }, *rat[] = { "ranking=rating" };
        rec_model *ms = tu_fit(kinds[k], d, NULL, 0); /* ranking=sum by default */
        rec_model *mp = tu_fit(kinds[k], d, pred, 1);
        rec_model *mr = tu_fit(kinds[k], d, rat, 1);
        /* u2 and c: c's item neighbours a, b (u2 rated 4, 2); u2's user
         * neighbours u1, u3 (rated c 4, 2) */
        ck_assert_float_near(rank_score(ms, "u2", "c"), 2 * s6, 1e-5);
        ck_assert_float_near(rank_score(mr, "u2", "c"), s6 * (4 + 2) / 5.0, 1e-5);
        /* the pair score stays the msd prediction, whatever the ranking */
        ck_assert_float_eq(tu_score(ms, "u2", "c"), tu_score(mp, "u2", "c"));
        ck_assert_float_eq(tu_score(mr, "u2", "c"), tu_score(mp, "u2", "c"));
        ck_assert_float_eq(rank_score(mp, "u2", "c"), tu_score(mp, "u2", "c"));
        rec_model_destroy(ms);
        rec_model_destroy(mp);
        rec_model_destroy(mr);
    }
    /* item-CF for u2: a gets b's sim (1), b gets a's (1); weighted by u2's
     * ratings b 2 and a 4 over the top rating 5 */
    const char *rat[] = { "ranking=rating" };
    rec_model *m = tu_fit("itemcf", d, NULL, 0), *mr = tu_fit("itemcf", d, rat, 1);
    ck_assert_float_near(rank_score(m, "u2", "a"), 1.0, 1e-5);
    ck_assert_float_near(rank_score(mr, "u2", "a"), 2 / 5.0, 1e-5);
    ck_assert_float_near(rank_score(mr, "u2", "b"), 4 / 5.0, 1e-5);
    /* fold-in of u2's ratings ranks as u2; without ratings, plain sums */
    const char *h[] = { "a", "b" };
    const float hr[] = { 4, 2 };
    ck_assert_float_near(history_score(mr, h, hr, 2, "c"), s6 * 6 / 5.0, 1e-5);
    ck_assert_float_near(history_score(mr, h, NULL, 2, "c"), 2 * s6, 1e-5);
    ck_assert_float_near(history_score(m, h, hr, 2, "c"), 2 * s6, 1e-5);
    rec_model_destroy(m);
    rec_model_destroy(mr);
    /* user-CF fold-in: (a, b) is u2's set, so u1 and u3 at 2/sqrt(6) */
    m = tu_fit("usercf", d, NULL, 0);
    ck_assert_float_near(history_score(m, h, hr, 2, "c"), 2 * s6, 1e-5);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(bad_ranking_is_refused)
{
    rec_dataset *d = rated();
    /* a bad ranking name is refused at create, naming the key */
    rec_params *p;
    rec_model *m;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    ck_assert_int_eq(rec_params_set_str(p, "ranking", "average"), REC_OK);
    ck_assert_int_ne(rec_model_create(&m, "itemcf", p), REC_OK);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "ranking"));
    rec_params_destroy(p);
    rec_dataset_destroy(d);
}
END_TEST

/* u1 rated a 4, u2 rated b 2 (or no ratings).  n_factors 1 at 0 keeps the
 * factors 0, so one epoch moves the biases only, lr 0.1, reg 0:
 * negatives=1 gives mu = 3 / 2 and the steps (u1,a,4) (u1,b,0) (u2,b,2)
 * (u2,a,0) as worked out in the comments below. */
static rec_dataset *two(int ratings)
{
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    ck_assert_int_eq(rec_dataset_add(d, "u1", "a", ratings ? 4 : NAN, 1), REC_OK);
    ck_assert_int_eq(rec_dataset_add(d, "u2", "b", ratings ? 2 : NAN, 2), REC_OK);
    return d;
}

START_TEST(svd_negatives_by_hand)
{
    const char *kv[] = { "n_factors=1",  "init_std_dev=0", "n_epochs=1",
                         "lr_all=0.1",   "reg_all=0",      "negatives=1", "shuffle=false" };
    rec_dataset *d = two(1);
    rec_model *m = tu_fit("svd", d, kv, 7);
    /* mu 1.5; (u1,a,4): e 2.5, bu1 .25, ba .25; (u1,b,0): e -1.75, bu1 .075,
     * bb -.175; (u2,b,2): e .675, bu2 .0675, bb -.1075; (u2,a,0):
     * e -1.8175, bu2 -.11425, ba .06825 */
    ck_assert_float_near(rank_score(m, "u1", "a"), 1.5 + 0.075 + 0.06825, 1e-5);
    ck_assert_float_near(rank_score(m, "u1", "b"), 1.5 + 0.075 - 0.1075, 1e-5);
    ck_assert_float_near(rank_score(m, "u2", "a"), 1.5 - 0.11425 + 0.06825, 1e-5);
    /* a pair score is still clipped to the rating range [2, 4] */
    ck_assert_float_eq(tu_score(m, "u1", "a"), 2.0f);
    rec_model_destroy(m);
    /* negatives=-1 (the default) on ratings trains as negatives=0: mu 3,
     * (u1,a,4): bu1 = ba = .1; (u2,b,2): bu2 = bb = -.1 */
    const char *k0[] = { "n_factors=1", "init_std_dev=0", "n_epochs=1", "lr_all=0.1",
                         "reg_all=0", "shuffle=false", "rank_negatives=0" };
    m = tu_fit("svd", d, k0, 7);
    ck_assert_float_near(rank_score(m, "u1", "a"), 3.2, 1e-5);
    ck_assert_float_near(rank_score(m, "u1", "b"), 3.0, 1e-5);
    rec_model_destroy(m);
    rec_dataset_destroy(d);

    /* no ratings: targets 1, mu 1/2; (u1,a,1): e .5, bu1 .05, ba .05;
     * (u1,b,0): e -.55, bu1 -.005, bb -.055; (u2,b,1): e .555, bu2 .0555,
     * bb .0005; (u2,a,0): e -.6055, bu2 -.00505, ba -.01055 */
    d = two(0);
    m = tu_fit("svd", d, kv, 7);
    ck_assert_float_near(rank_score(m, "u1", "a"), 0.5 - 0.005 - 0.01055, 1e-5);
    ck_assert_float_near(rank_score(m, "u1", "b"), 0.5 - 0.005 + 0.0005, 1e-5);
    rec_model_destroy(m);
    /* the default on implicit data samples: scores are no longer all mu */
    m = tu_fit("svd", d, k0, 7);
    ck_assert_float_ne(rank_score(m, "u1", "a"), rank_score(m, "u1", "b"));
    rec_model_destroy(m);
    rec_dataset_destroy(d);

    /* a user who rated every item has nothing to sample: mu = 3 / 4,
     * (u,a,4): e 3.25, bu = ba = .325; (u,b,2): e .925, bu .4175, bb .0925 */
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    rec_dataset_add(d, "u", "a", 4, 1);
    rec_dataset_add(d, "u", "b", 2, 2);
    const char *k3[] = { "n_factors=1", "init_std_dev=0", "n_epochs=1",
                         "lr_all=0.1",  "reg_all=0",      "negatives=3", "shuffle=false" };
    m = tu_fit("svd", d, k3, 7);
    ck_assert_float_near(rank_score(m, "u", "a"), 0.75 + 0.4175 + 0.325, 1e-5);
    ck_assert_float_near(rank_score(m, "u", "b"), 0.75 + 0.4175 + 0.0925, 1e-5);
    rec_model_destroy(m);
    rec_dataset_destroy(d);

    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    ck_assert_int_eq(rec_params_set_int(p, "negatives", -2), REC_OK);
    ck_assert_int_ne(rec_model_create(&m, "svd", p), REC_OK);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "negatives"));
    rec_params_destroy(p);
}
END_TEST

/* Items x "alpha", y "beta", z "gamma", w "alpha beta": alpha and beta
 * have the same idf, so x = (1, 0), y = (0, 1), w = (1, 1)/sqrt(2) over
 * (alpha, beta).  u rated x 5 then y 3; v rated z (only so z is an item). */
static rec_dataset *docs(void)
{
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    ck_assert_int_eq(rec_dataset_add(d, "u", "x", 5, 1), REC_OK);
    ck_assert_int_eq(rec_dataset_add(d, "u", "y", 3, 2), REC_OK);
    ck_assert_int_eq(rec_dataset_add(d, "v", "z", 4, 3), REC_OK);
    ck_assert_int_eq(rec_dataset_add_field(d, REC_SIDE_ITEM, "title", REC_FEATURE_TEXT, NULL),
                     REC_OK);
    const char *it[] = { "x", "y", "z", "w" }, *tx[] = { "alpha", "beta", "gamma", "alpha beta" };
    for (int k = 0; k < 4; k++)
        ck_assert_int_eq(rec_dataset_set_feature(d, REC_SIDE_ITEM, "title", it[k], tx[k], 1),
                         REC_OK);
    return d;
}

START_TEST(tfidf_profile_weights_by_hand)
{
    rec_dataset *d = docs();
    double r2 = sqrt(2.0), r125 = sqrt(1.25);
    /* default: equal weights halving every 5 later items: x 2^-1/5, y 1
     * (pure content: no popularity factor) */
    const char *pc[] = { "popularity_prior=0" };
    rec_model *m = tu_fit("tfidf", d, pc, 1);
    double wx = pow(2, -0.2), nrm = sqrt(wx * wx + 1);
    ck_assert_float_near(rank_score(m, "u", "x"), wx / nrm, 1e-5);
    ck_assert_float_near(rank_score(m, "u", "w"), (wx + 1) / (nrm * r2), 1e-5);
    /* the history, in the order given, weighs the same way */
    const char *h[] = { "x", "y" };
    ck_assert_float_near(history_score(m, h, NULL, 2, "x"), wx / nrm, 1e-5);
    rec_model_destroy(m);
    /* halflife 1: x 1/2, y 1 */
    const char *h1[] = { "recency_halflife=1", "popularity_prior=0" };
    m = tu_fit("tfidf", d, h1, 2);
    ck_assert_float_near(rank_score(m, "u", "x"), 0.5 / r125, 1e-5);
    ck_assert_float_near(rank_score(m, "u", "y"), 1 / r125, 1e-5);
    ck_assert_float_near(rank_score(m, "u", "w"), 1.5 / (r125 * r2), 1e-5);
    rec_model_destroy(m);
    /* liked: only x is above u's mean 4 */
    const char *lk[] = { "profile=liked", "recency_halflife=0", "popularity_prior=0" };
    m = tu_fit("tfidf", d, lk, 3);
    ck_assert_float_near(rank_score(m, "u", "x"), 1, 1e-5);
    ck_assert_float_near(rank_score(m, "u", "y"), 0, 1e-5);
    ck_assert_float_near(rank_score(m, "u", "w"), 1 / r2, 1e-5);
    const float hr[] = { 2, 4 }; /* now y is the liked one */
    ck_assert_float_near(history_score(m, h, hr, 2, "y"), 1, 1e-5);
    rec_model_destroy(m);
    /* deviation: x +1, y -1 */
    const char *dv[] = { "profile=deviation", "recency_halflife=0", "popularity_prior=0" };
    m = tu_fit("tfidf", d, dv, 3);
    ck_assert_float_near(rank_score(m, "u", "x"), 1 / r2, 1e-5);
    ck_assert_float_near(rank_score(m, "u", "y"), -1 / r2, 1e-5);
    ck_assert_float_near(rank_score(m, "u", "w"), 0, 1e-5);
    rec_model_destroy(m);
    /* equal, no decay: x = y = 1/sqrt(2), w = 1; save/load keeps it */
    const char *eq[] = { "profile=equal", "recency_halflife=0", "popularity_prior=0" };
    m = tu_fit("tfidf", d, eq, 3);
    ck_assert_float_near(rank_score(m, "u", "w"), 1, 1e-5);
    rec_model_destroy(m);
    m = tu_fit("tfidf", d, h1, 2);
    rec_model *l;
    const char *path = tu_tmp_path("topn_tfidf.lrm");
    ck_assert_int_eq(rec_model_save(m, path), REC_OK);
    ck_assert_msg(rec_model_load(&l, path) == REC_OK, "%s", rec_last_error());
    ck_assert_float_eq(rank_score(l, "u", "x"), rank_score(m, "u", "x"));
    rec_model_destroy(m);
    rec_model_destroy(l);

    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    ck_assert_int_eq(rec_params_set_str(p, "profile", "recent"), REC_OK);
    ck_assert_int_ne(rec_model_create(&m, "tfidf", p), REC_OK);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "profile"));
    rec_params_destroy(p);
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    ck_assert_int_eq(rec_params_set_float(p, "recency_halflife", -1), REC_OK);
    ck_assert_int_ne(rec_model_create(&m, "tfidf", p), REC_OK);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "recency_halflife"));
    rec_params_destroy(p);
    rec_dataset_destroy(d);
}
END_TEST

/* Fit and recommend (the ranking paths) under the failing allocator: each
 * failure is REC_E_NOMEM and leaks nothing. */
static void no_leak(const char *kind, rec_dataset *d, const char *key, const char *val,
                    const char *user)
{
    rec_model *m;
    long k;
    for (k = 1; k < 10000; k++) {
        rec_params *p;
        ck_assert_int_eq(rec_params_create(&p), REC_OK);
        if (key)
            ck_assert_int_eq(rec_params_set_str(p, key, val), REC_OK);
        tu_alloc_install();
        tu_alloc_fail_at(k);
        m = NULL;
        rec_status st = rec_model_create(&m, kind, p);
        if (!st)
            st = rec_model_fit(m, d, NULL, NULL);
        const char *it[4];
        float sc[4];
        size_t n;
        if (!st)
            st = rec_model_recommend(m, user, 4, 0, it, sc, &n);
        rec_model_destroy(m);
        long long live = tu_alloc_live();
        tu_alloc_remove();
        rec_params_destroy(p);
        ck_assert_msg(live == 0, "%s: allocation %ld: %lld bytes leaked", kind, k, live);
        if (st == REC_OK)
            break;
        ck_assert_msg(st == REC_E_NOMEM, "%s: allocation %ld: %s", kind, k, rec_last_error());
    }
    ck_assert_int_gt(k, 3);
}

/* The defaults are check_kinds.c's; these rankings allocate otherwise. */
START_TEST(allocation_failures_leak_nothing)
{
    rec_dataset *d = rated();
    rec_model *m = tu_fit("itemcf", d, NULL, 0); /* builds the dataset's caches first */
    rec_model_destroy(m);
    no_leak("usercf", d, "ranking", "rating", "u2");
    rec_dataset_destroy(d);
    d = docs();
    m = tu_fit("tfidf", d, NULL, 0);
    rec_model_destroy(m);
    no_leak("tfidf", d, "profile", "liked", "u");
    rec_dataset_destroy(d);
}
END_TEST

Suite *rec_topn_suite(void)
{
    Suite *s = suite_create("topn");
    TCase *tc = tcase_create("topn");
    tcase_add_test(tc, knn_ranking_sums_binary_cosine);
    tcase_add_test(tc, bad_ranking_is_refused);
    tcase_add_test(tc, svd_negatives_by_hand);
    tcase_add_test(tc, tfidf_profile_weights_by_hand);
    tcase_add_test(tc, allocation_failures_leak_nothing);
    suite_add_tcase(s, tc);
    return s;
}
