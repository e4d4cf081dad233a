/* Top-N on ml-latest-small, leave-last-out by timestamp, full ranking:
 * user-CF and item-CF fitted on the ratings (default ranking=sum) and svd
 * with sampled negatives are clearly above popularity (hit@10 > 1.3 x), and
 * ranking=prediction is not (the reason the default changed). */
#include "testutil.h"

#include <librec/librec.h>
#include <librec/eval.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double hit10(const char *kind, const char *key, const char *val, rec_dataset *train,
                    rec_dataset *test)
{
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    if (key && strcmp(key, "negatives") == 0)
        ck_assert_int_eq(rec_params_set_int(p, key, atoi(val)), REC_OK);
    else if (key)
        ck_assert_int_eq(rec_params_set_str(p, key, val), REC_OK);
    rec_model *m;
    ck_assert_msg(rec_model_create(&m, kind, p) == REC_OK, "%s", rec_last_error());
    rec_params_destroy(p);
    ck_assert_msg(rec_model_fit(m, train, NULL, NULL) == REC_OK, "%s", rec_last_error());
    rec_eval_result *r;
    ck_assert_msg(rec_evaluate(m, test, "full", "hit@10", 0, &r) == REC_OK, "%s",
                  rec_last_error());
    double h = 0;
    ck_assert_int_eq(rec_eval_result_get(r, "hit@10", &h), REC_OK);
    rec_eval_result_destroy(r);
    rec_model_destroy(m);
    printf("topn ml-latest-small last:1: %s %s=%s hit@10 %.4f\n", kind, key ? key : "",
           val ? val : "", h);
    return h;
}

START_TEST(learned_models_beat_popularity)
{
    const char *dir = tu_data_dir();
    char path[1024];
    snprintf(path, sizeof path, "%s/ml-latest-small/ratings.csv", dir);
    rec_dataset *d, *train, *test;
    ck_assert_msg(rec_dataset_load(&d, path, "csv", NULL) == REC_OK, "%s", rec_last_error());
    ck_assert_int_eq(rec_dataset_split(d, "last:1", 0, 0, &train, &test), REC_OK);
    double pop = hit10("popularity", NULL, NULL, train, test);
    ck_assert_double_gt(pop, 0.03);
    ck_assert_double_gt(hit10("itemcf", NULL, NULL, train, test), 1.3 * pop);
    ck_assert_double_gt(hit10("usercf", NULL, NULL, train, test), 1.3 * pop);
    ck_assert_double_gt(hit10("svd", "negatives", "4", train, test), 1.3 * pop);
    ck_assert_double_lt(hit10("itemcf", "ranking", "prediction", train, test), pop);
    rec_dataset_destroy(train);
    rec_dataset_destroy(test);
    rec_dataset_destroy(d);
}
END_TEST

Suite *rec_topn_real_suite(void)
{
    Suite *s = suite_create("topn_real");
    TCase *t = tcase_create("movielens");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, learned_models_beat_popularity);
    suite_add_tcase(s, t);
    return s;
}
