/* Validation and early stopping through rec_model_train, for the kinds with
 * REC_MODEL_VALIDATION_KEYS: the held-out split, the stop, the sync of
 * derived scoring state, the seen items afterwards, and bad keys. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Params from "key=value key=value ...". */
static rec_params *params_of(const char *settings)
{
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", settings);
    for (char *kv = strtok(buf, " "); kv; kv = strtok(NULL, " "))
        ck_assert_msg(rec_params_parse(p, kv) == REC_OK, "%s: %s", kv, rec_last_error());
    return p;
}

static int count_epochs(void *user, int epoch, int epochs, double loss)
{
    (void)epoch, (void)epochs, (void)loss;
    ++*(int *)user;
    return 0;
}

/* With lr 0 nothing learns, so the metric never beats the first validation:
 * patience 2 stops after epoch 3 of 50, for a kind with derived vectors
 * (lightgcn, synced each validation) and one without (mf). */
START_TEST(test_stops_when_metric_stalls)
{
    static const char *kinds[] = { "mf", "lightgcn" };
    rec_dataset *d = tu_generate(60, 80, 12);
    for (int k = 0; k < 2; k++) {
        rec_params *p = params_of("valid_ratio=0.2 patience=2 epochs=50 lr=0 dim=8");
        rec_model *m;
        ck_assert_int_eq(rec_model_create(&m, kinds[k], p), REC_OK);
        int n = 0;
        ck_assert_msg(rec_model_fit(m, d, count_epochs, &n) == REC_OK, "%s: %s", kinds[k],
                      rec_last_error());
        ck_assert_msg(n == 3, "%s ran %d epochs", kinds[k], n);
        rec_model_destroy(m);
        rec_params_destroy(p);
    }
    rec_dataset_destroy(d);
}
END_TEST

static void assert_same_scores(const rec_model *a, const rec_model *b, const rec_dataset *d)
{
    int32_t nu, ni;
    rec_dataset_num_users(d, &nu);
    rec_dataset_num_items(d, &ni);
    for (int32_t u = 0; u < nu; u += 7)
        for (int32_t i = 0; i < ni; i += 5) {
            const char *uid, *iid;
            float x, y;
            rec_dataset_user_id(d, u, &uid);
            rec_dataset_item_id(d, i, &iid);
            ck_assert_int_eq(rec_model_score(a, uid, iid, &x), REC_OK);
            ck_assert_int_eq(rec_model_score(b, uid, iid, &y), REC_OK);
            ck_assert_msg(x == y, "user %s item %s: %g vs %g", uid, iid, x, y);
        }
}

/* Validating every epoch, keeping the last params: the same model as one
 * trained without validation on the rows the split keeps (the split is
 * "user:R" seeded by the model's seed), so validating (and the readout it
 * needs) does not disturb training. */
START_TEST(test_validation_leaves_training_alone)
{
    static const char *kinds[] = { "mf", "lightgcn", "ngcf", "twotower" };
    rec_dataset *d = tu_generate(60, 80, 12), *tr, *va;
    ck_assert_int_eq(rec_dataset_split(d, "user:0.25", 0, 42, &tr, &va), REC_OK);
    for (int k = 0; k < 4; k++) {
        const char *kv[] = { "epochs=3", "dim=8", "seed=42", "valid_ratio=0.25", "patience=0",
                             "restore_best=false" };
        rec_model *a = tu_fit(kinds[k], d, kv, 6);
        rec_model *b = tu_fit(kinds[k], tr, kv, 3);
        assert_same_scores(a, b, d);
        rec_model_destroy(a);
        rec_model_destroy(b);
    }
    rec_dataset_destroy(tr);
    rec_dataset_destroy(va);
    rec_dataset_destroy(d);
}
END_TEST

/* After a validated fit every interaction of the data counts as seen: the
 * held-out items are not recommended back. */
START_TEST(test_heldout_items_stay_seen)
{
    rec_dataset *d = tu_generate(40, 60, 15);
    const char *kv[] = { "epochs=2", "dim=8", "valid_ratio=0.3" };
    rec_model *m = tu_fit("mf", d, kv, 3);
    int64_t n;
    rec_dataset_num_interactions(d, &n);
    for (int64_t r = 0; r < n; r++) {
        int32_t u, i;
        ck_assert_int_eq(rec_dataset_row(d, r, &u, &i, NULL, NULL), REC_OK);
        const char *uid, *iid, *items[60];
        size_t got;
        rec_dataset_user_id(d, u, &uid);
        rec_dataset_item_id(d, i, &iid);
        ck_assert_int_eq(rec_model_recommend(m, uid, 60, 0, items, NULL, &got), REC_OK);
        for (size_t k = 0; k < got; k++)
            ck_assert_msg(strcmp(items[k], iid), "user %s got back item %s", uid, iid);
    }
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

static void expect_fit_error(const char *settings, rec_status want, const char *msg)
{
    rec_dataset *d = tu_generate(20, 30, 8);
    rec_params *p = params_of(settings);
    rec_model *m;
    rec_status st = rec_model_create(&m, "mf", p);
    if (!st) {
        st = rec_model_fit(m, d, NULL, NULL);
        rec_model_destroy(m);
    }
    ck_assert_msg(st == want, "%s: got %d (%s)", settings, st, rec_last_error());
    ck_assert_msg(strstr(rec_last_error(), msg), "%s: message '%s'", settings, rec_last_error());
    rec_params_destroy(p);
    rec_dataset_destroy(d);
}

START_TEST(test_bad_validation_keys)
{
    expect_fit_error("valid_ratio=0.2 valid_metric=bogus@3", REC_E_INVALID, "bogus@3");
    expect_fit_error("valid_ratio=0.2 valid_metric=ndcg@10,recall@10", REC_E_INVALID,
                     "must name one metric");
    expect_fit_error("valid_ratio=0.95", REC_E_RANGE, "valid_ratio");
}
END_TEST

Suite *rec_validation_suite(void)
{
    Suite *s = suite_create("validation");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_stops_when_metric_stalls);
    tcase_add_test(tc, test_validation_leaves_training_alone);
    tcase_add_test(tc, test_heldout_items_stay_seen);
    tcase_add_test(tc, test_bad_validation_keys);
    suite_add_tcase(s, tc);
    return s;
}
