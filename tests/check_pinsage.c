/* The pinsage model: a user's score is the mean similarity of their recent
 * items to the item, so explain's weights (each recent item's share) add up
 * to rec_model_score; a history of the user's recent items gives the
 * user's scores; similar is a cosine (itself 1); bad settings are errors.
 * The rest of its interface is tests/check_kinds.c's. */
#include "testutil.h"

#include <math.h>
#include <string.h>

static const char *const KV[] = { "epochs=2", "dim=8", "walk_steps=50", "hard=1", "hard_lo=2",
                                  "hard_hi=8", "batch=64", "negatives=32", "recent=5" };

START_TEST(explain_adds_up_to_the_score)
{
    rec_dataset *d = tu_generate(40, 30, 6);
    rec_model *m = tu_fit("pinsage", d, KV, 9);
    for (int32_t u = 0; u < 5; u++) {
        const char *user, *it[10], *why[8];
        float s[10], w[8], one;
        size_t n, nw;
        ck_assert_int_eq(rec_dataset_user_id(d, u, &user), REC_OK);
        ck_assert_int_eq(rec_model_recommend(m, user, 10, 0, it, s, &n), REC_OK);
        ck_assert_int_gt(n, 0);
        ck_assert_int_eq(rec_model_explain(m, user, it[0], 8, why, w, &nw), REC_OK);
        ck_assert(nw >= 1 && nw <= 5);
        double sum = 0;
        for (size_t k = 0; k < nw; k++)
            sum += w[k];
        ck_assert_int_eq(rec_model_score(m, user, it[0], &one), REC_OK);
        ck_assert_double_eq_tol(sum, one, 1e-5);
        ck_assert_double_eq_tol(one, s[0], 1e-6);
        /* the user's recent items (all of them score, in any order) as a history */
        const char *ih[10];
        float hs[10];
        size_t nh;
        ck_assert_int_eq(rec_model_recommend_history(m, why, NULL, nw, 10, REC_INCLUDE_SEEN, ih,
                                                     hs, &nh), REC_OK);
        float sc;
        ck_assert_int_eq(rec_model_score(m, user, ih[0], &sc), REC_OK);
        ck_assert_double_eq_tol(sc, hs[0], 1e-5);
    }
    const char *item, *sim[3];
    float ss[3];
    size_t ns;
    ck_assert_int_eq(rec_dataset_item_id(d, 0, &item), REC_OK);
    ck_assert_int_eq(rec_model_similar(m, item, 3, sim, ss, &ns), REC_OK);
    for (size_t k = 0; k < ns; k++)
        ck_assert(ss[k] <= 1.0f + 1e-5f && strcmp(sim[k], item));
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(bad_settings)
{
    rec_dataset *d = tu_generate(20, 15, 4);
    rec_params *p;
    rec_model *m;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    ck_assert_int_eq(rec_params_parse(p, "hard_lo=8"), REC_OK);
    ck_assert_int_eq(rec_params_parse(p, "hard_hi=8"), REC_OK);
    ck_assert_int_eq(rec_model_create(&m, "pinsage", p), REC_OK);
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_model_fit(pinsage): hard_lo = 8 must be below "
                     "hard_hi = 8");
    rec_model_destroy(m);
    rec_params_destroy(p);
    /* one item per user: no co-engaged pair */
    rec_dataset *one;
    ck_assert_int_eq(rec_dataset_create(&one), REC_OK);
    ck_assert_int_eq(rec_dataset_add(one, "u1", "a", 1, 0), REC_OK);
    ck_assert_int_eq(rec_dataset_add(one, "u2", "b", 1, 0), REC_OK);
    ck_assert_int_eq(rec_model_create(&m, "pinsage", NULL), REC_OK);
    ck_assert_int_eq(rec_model_fit(m, one, NULL, NULL), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_model_fit(pinsage): no user has two distinct items, "
                     "so there are no co-engaged pairs to train on");
    rec_model_destroy(m);
    rec_dataset_destroy(one);
    rec_dataset_destroy(d);
}
END_TEST

Suite *rec_pinsage_suite(void)
{
    Suite *s = suite_create("pinsage");
    TCase *t = tcase_create("pinsage");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, explain_adds_up_to_the_score);
    tcase_add_test(t, bad_settings);
    suite_add_tcase(s, t);
    return s;
}
