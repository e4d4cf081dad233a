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
 * (lightgcn and gcn, synced each validation) and one without (mf). */
START_TEST(test_stops_when_metric_stalls)
{
    static const char *kinds[] = { "mf", "lightgcn", "gcn" };
    rec_dataset *d = tu_generate(60, 80, 12);
    for (int k = 0; k < 3; k++) {
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
    static const char *kinds[] = { "mf", "lightgcn", "ngcf", "twotower", "gcn", "graphsage", "gat",
                                   "pinsage" };
    rec_dataset *d = tu_generate(60, 80, 12), *tr, *va;
    ck_assert_int_eq(rec_dataset_split(d, "user:0.25", 0, 42, &tr, &va), REC_OK);
    for (int k = 0; k < 8; k++) {
        /* lightgcn's linear term reads the seen items, which after a
         * validated fit hold the held-out rows too: the embeddings alone */
        int lg = !strcmp(kinds[k], "lightgcn");
        const char *kv[] = { "epochs=3", "dim=8", "seed=42", lg ? "linear=0" : "seed=42",
                             "valid_ratio=0.25", "patience=0", "restore_best=false" };
        rec_model *a = tu_fit(kinds[k], d, kv, 7);
        rec_model *b = tu_fit(kinds[k], tr, kv, 4);
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

/* What the progress callback of each epoch reads from rec_model_fit_valid. */
typedef struct seen_valid {
    const rec_model *m;
    int n, epoch[8];
    double value[8];
    const char *metric;
} seen_valid;

static int record_valid(void *user, int epoch, int epochs, double loss)
{
    (void)epochs, (void)loss;
    seen_valid *s = user;
    ck_assert_int_eq(rec_model_fit_valid(s->m, &s->metric, &s->epoch[s->n], &s->value[s->n]),
                     REC_OK);
    ck_assert_int_eq(epoch, s->n + 1);
    s->n++;
    return 0;
}

/* validate_every=2 over 6 epochs: the callback of epochs 2, 4 and 6 sees
 * that epoch's validation, 3 and 5 the one before, 1 none yet.  With lr 0
 * nothing learns, so every validation gives the same ndcg@20. */
START_TEST(test_progress_reads_each_validation)
{
    rec_dataset *d = tu_generate(60, 80, 12);
    rec_params *p = params_of("valid_ratio=0.2 validate_every=2 patience=0 epochs=6 lr=0 dim=8");
    struct {
        seen_valid s;
        rec_model *m;
    } rec = { { 0 }, NULL };
    ck_assert_int_eq(rec_model_create(&rec.m, "mf", p), REC_OK);
    rec.s.m = rec.m;
    ck_assert_int_eq(rec_model_fit(rec.m, d, record_valid, &rec.s), REC_OK);
    ck_assert_int_eq(rec.s.n, 6);
    ck_assert_str_eq(rec.s.metric, "ndcg@20");
    static const int want[6] = { 0, 2, 2, 4, 4, 6 };
    for (int e = 0; e < 6; e++)
        ck_assert_int_eq(rec.s.epoch[e], want[e]);
    ck_assert(isnan(rec.s.value[0]));
    ck_assert_msg(rec.s.value[1] > 0 && rec.s.value[1] <= 1, "ndcg@20 %g", rec.s.value[1]);
    for (int e = 2; e < 6; e++)
        ck_assert_double_eq(rec.s.value[e], rec.s.value[1]);
    rec_model_destroy(rec.m);
    rec_params_destroy(p);
    /* No validation: nothing to read, for a kind with the keys and without. */
    const char *metric = "x";
    int epoch = 9;
    double value = 0;
    ck_assert_int_eq(rec_model_create(&rec.m, "mf", NULL), REC_OK);
    ck_assert_int_eq(rec_model_fit_valid(rec.m, &metric, &epoch, &value), REC_OK);
    ck_assert_ptr_null(metric);
    ck_assert_int_eq(epoch, 0);
    ck_assert(isnan(value));
    rec_model_destroy(rec.m);
    ck_assert_int_eq(rec_model_create(&rec.m, "itemcf", NULL), REC_OK);
    ck_assert_int_eq(rec_model_fit(rec.m, d, NULL, NULL), REC_OK);
    ck_assert_int_eq(rec_model_fit_valid(rec.m, &metric, NULL, NULL), REC_OK);
    ck_assert_ptr_null(metric);
    rec_model_destroy(rec.m);
    ck_assert_int_eq(rec_model_fit_valid(NULL, NULL, NULL, NULL), REC_E_INVALID);
    rec_dataset_destroy(d);
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
    tcase_add_test(tc, test_progress_reads_each_validation);
    suite_add_tcase(s, tc);
    return s;
}
