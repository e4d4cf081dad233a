/* The gat model: a training user's items folded in through the kept layers
 * give that user's own list and scores (the fold-in is the same
 * computation, not an approximation, for a user the graph knew); explain
 * gives the user's items by attention, which adds up to 1 with the user's
 * self-attention; concatenated heads need a dim they divide.  The rest of
 * its interface is tests/check_kinds.c's. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const KV[] = { "epochs=2", "dim=8", "layers=2", "heads=2",
                                  "negatives=16", "batch=64" };

START_TEST(fold_in_of_own_items_is_the_user)
{
    rec_dataset *d = tu_generate(40, 30, 6);
    for (int concat = 0; concat < 2; concat++) {
        const char *kv[7];
        memcpy(kv, KV, sizeof KV);
        kv[6] = concat ? "concat=true" : "concat=false";
        rec_model *m = tu_fit("gat", d, kv, 7);
        for (int32_t u = 0; u < 5; u++) {
            const char *user, *hist[64];
            ck_assert_int_eq(rec_dataset_user_id(d, u, &user), REC_OK);
            const char *it[10], *ih[10];
            float s1[10], s2[10];
            size_t nh = 0, n1, n2;
            int64_t rows;
            rec_dataset_num_interactions(d, &rows);
            for (int64_t r = 0; r < rows; r++) {
                int32_t ru, ri;
                ck_assert_int_eq(rec_dataset_row(d, r, &ru, &ri, NULL, NULL), REC_OK);
                if (ru == u && nh < 64)
                    ck_assert_int_eq(rec_dataset_item_id(d, ri, &hist[nh++]), REC_OK);
            }
            ck_assert_int_gt(nh, 0);
            ck_assert_int_eq(rec_model_recommend(m, user, 10, 0, it, s1, &n1), REC_OK);
            ck_assert_int_eq(rec_model_recommend_history(m, hist, NULL, nh, 10, 0, ih, s2, &n2),
                             REC_OK);
            ck_assert_int_eq(n1, n2);
            for (size_t k = 0; k < n1; k++)
                ck_assert_msg(fabsf(s1[k] - s2[k]) <= 1e-4f * (1 + fabsf(s1[k])),
                              "user %d rank %zu: %g from the graph, %g folded in", u, k,
                              (double)s1[k], (double)s2[k]);
            /* explain: the user's items by attention, largest first */
            const char *why[64];
            float w[64];
            size_t ne;
            ck_assert_int_eq(rec_model_explain(m, user, it[0], 64, why, w, &ne), REC_OK);
            ck_assert_int_gt(ne, 0);
            double sum = 0;
            for (size_t k = 0; k < ne; k++) {
                int found = 0;
                for (size_t j = 0; j < nh; j++)
                    found |= !strcmp(why[k], hist[j]);
                ck_assert_msg(found, "user %d: reason %s is not one of their items", u, why[k]);
                ck_assert(w[k] > 0 && w[k] < 1);
                if (k)
                    ck_assert(w[k] <= w[k - 1]);
                sum += w[k];
            }
            ck_assert_double_lt(sum, 1.0);
        }
        rec_model_destroy(m);
    }
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(heads_must_divide_dim)
{
    rec_dataset *d = tu_generate(20, 15, 4);
    rec_params *p;
    rec_model *m;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    ck_assert_int_eq(rec_params_parse(p, "dim=10"), REC_OK);
    ck_assert_int_eq(rec_params_parse(p, "heads=3"), REC_OK);
    ck_assert_int_eq(rec_model_create(&m, "gat", p), REC_OK);
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_model_fit(gat): dim = 10 does not divide into 3 "
                     "concatenated heads");
    rec_model_destroy(m);
    rec_params_destroy(p);
    rec_dataset_destroy(d);
}
END_TEST

Suite *rec_gat_suite(void)
{
    Suite *s = suite_create("gat");
    TCase *t = tcase_create("gat");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, fold_in_of_own_items_is_the_user);
    tcase_add_test(t, heads_must_divide_dim);
    suite_add_tcase(s, t);
    return s;
}
