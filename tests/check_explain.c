/* rec_model_explain: the reasons add up to the score they explain (kinds
 * that cannot explain are held to REC_E_UNSUPPORTED by check_kinds.c). */
#include "testutil.h"

#include <librec/librec.h>
#include <math.h>
#include <string.h>

static rec_dataset *gen(void)
{
    rec_params *o;
    rec_dataset *d;
    rec_params_create(&o);
    rec_params_set_int(o, "users", 120);
    rec_params_set_int(o, "items", 150);
    rec_params_set_int(o, "interactions-per-user", 25);
    ck_assert_int_eq(rec_dataset_generate(&d, o), REC_OK);
    rec_params_destroy(o);
    return d;
}

static rec_model *fit(const char *kind, rec_dataset *d)
{
    rec_model *m;
    ck_assert_int_eq(rec_model_create(&m, kind, NULL), REC_OK);
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_OK);
    return m;
}

static double item_mean(rec_dataset *d, int32_t item)
{
    int64_t n;
    double s = 0, c = 0;
    rec_dataset_num_interactions(d, &n);
    for (int64_t r = 0; r < n; r++) {
        int32_t i;
        double v;
        rec_dataset_row(d, r, NULL, &i, &v, NULL);
        if (i == item) {
            s += v;
            c++;
        }
    }
    return s / c;
}

static int user_rated(rec_dataset *d, int32_t user, const char *item)
{
    int64_t n;
    rec_dataset_num_interactions(d, &n);
    for (int64_t r = 0; r < n; r++) {
        int32_t u, i;
        const char *id;
        rec_dataset_row(d, r, &u, &i, NULL, NULL);
        rec_dataset_item_id(d, i, &id);
        if (u == user && !strcmp(id, item))
            return 1;
    }
    return 0;
}

START_TEST(itemcf_reasons_sum_to_the_deviation)
{
    rec_dataset *d = gen();
    /* mean-centred, so that the score less the item's mean is the sum */
    const char *kv[] = { "centring=mean" };
    rec_model *m = tu_fit("itemcf", d, kv, 1);
    const char *uid, *recs[5], *why[200];
    float w[200];
    size_t n, nr;
    rec_dataset_user_id(d, 3, &uid);
    ck_assert_int_eq(rec_model_recommend(m, uid, 5, 0, recs, NULL, &n), REC_OK);
    int checked = 0;
    for (size_t r = 0; r < n; r++) {
        float score;
        int32_t ii;
        ck_assert_int_eq(rec_model_score(m, uid, recs[r], &score), REC_OK);
        ck_assert_int_eq(rec_model_explain(m, uid, recs[r], 200, why, w, &nr), REC_OK);
        rec_dataset_item_index(d, recs[r], &ii);
        double sum = 0;
        for (size_t j = 0; j < nr; j++) {
            ck_assert(user_rated(d, 3, why[j])); /* reasons are the user's items */
            if (j)
                ck_assert(w[j - 1] >= w[j]);
            sum += w[j];
        }
        if (score > 1.0f && score < 5.0f) { /* not clipped */
            ck_assert_float_near(sum, score - item_mean(d, ii), 1e-3);
            checked++;
        }
    }
    ck_assert_int_gt(checked, 0);
    /* k limits the list to the strongest. */
    float w2[2];
    ck_assert_int_eq(rec_model_explain(m, uid, recs[0], 2, why, w2, &nr), REC_OK);
    ck_assert_uint_le(nr, 2);
    ck_assert_int_eq(rec_model_explain(m, "nobody", recs[0], 2, why, w2, &nr), REC_E_NOTFOUND);
    ck_assert_int_eq(rec_model_explain(m, uid, recs[0], 2, NULL, w2, &nr), REC_E_INVALID);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(tfidf_terms_sum_to_the_cosine)
{
    rec_dataset *d = gen();
    rec_model *m = fit("tfidf", d);
    const char *uid, *recs[3], *why[500];
    float sc[3], w[500];
    size_t n, nr;
    rec_dataset_user_id(d, 7, &uid);
    ck_assert_int_eq(rec_model_recommend(m, uid, 3, 0, recs, sc, &n), REC_OK);
    ck_assert_uint_eq(n, 3);
    for (size_t r = 0; r < n; r++) {
        ck_assert_int_eq(rec_model_explain(m, uid, recs[r], 500, why, w, &nr), REC_OK);
        ck_assert_uint_gt(nr, 0);
        double sum = 0;
        for (size_t j = 0; j < nr; j++) {
            ck_assert(strlen(why[j]) >= 2); /* vocabulary terms */
            sum += w[j];
        }
        ck_assert_float_near(sum, sc[r], 1e-4);
    }
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

Suite *rec_explain_suite(void)
{
    Suite *s = suite_create("explain");
    TCase *t = tcase_create("explain");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, itemcf_reasons_sum_to_the_deviation);
    tcase_add_test(t, tfidf_terms_sum_to_the_cosine);
    suite_add_tcase(s, t);
    return s;
}
