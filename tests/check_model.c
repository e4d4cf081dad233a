/* The model interface through the demo's "mf" kind: parameters, fitting,
 * recommend/score/similar/fold-in, errors, damaged files, divergence.  The
 * contract every kind keeps (round trips, seen items, bad ids, allocation
 * failures, threads, seeds, resume, cancel) is check_kinds.c's. */
#include "testutil.h"

#include <librec/librec.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rec_model *mf_model(int epochs, int dim)
{
    rec_params *p;
    rec_model *m;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    rec_params_set_int(p, "epochs", epochs);
    rec_params_set_int(p, "dim", dim);
    ck_assert_int_eq(rec_model_create(&m, "mf", p), REC_OK);
    rec_params_destroy(p);
    return m;
}

START_TEST(kinds_and_params_are_described)
{
    const char *kind, *summary, *key, *def, *choices, *help;
    ck_assert_int_eq(rec_model_kind_at(0, &kind, &summary), REC_OK);
    ck_assert_str_eq(kind, "mf");
    ck_assert_int_eq(rec_model_kind_at(1000, &kind, NULL), REC_E_RANGE);
    rec_param_type t;
    double lo, hi;
    ck_assert_int_eq(rec_model_param_at("mf", 0, &key, &t, &def, &lo, &hi, &choices, &help),
                     REC_OK);
    ck_assert_str_eq(key, "dim");
    ck_assert_int_eq(t, REC_PARAM_INT);
    ck_assert_str_eq(def, "32");
    ck_assert_int_eq(rec_model_param_at("nope", 0, &key, NULL, NULL, NULL, NULL, NULL, NULL),
                     REC_E_NOTFOUND);
    ck_assert_int_eq(rec_model_param_at("mf", 99, &key, NULL, NULL, NULL, NULL, NULL, NULL),
                     REC_E_RANGE);
}
END_TEST

START_TEST(create_rejects_bad_input)
{
    rec_model *m = (rec_model *)1;
    ck_assert_int_eq(rec_model_create(&m, "nosuch", NULL), REC_E_NOTFOUND);
    ck_assert_ptr_null(m);
    ck_assert_str_eq(rec_last_error(), "rec_model_create: unknown model kind 'nosuch'");
    ck_assert_int_eq(rec_model_create(&m, NULL, NULL), REC_E_INVALID);
    ck_assert_int_eq(rec_model_create(NULL, "mf", NULL), REC_E_INVALID);
    rec_params *p;
    rec_params_create(&p);
    rec_params_set_int(p, "dimm", 8);
    ck_assert_int_eq(rec_model_create(&m, "mf", p), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "unknown parameter 'dimm'"));
    rec_params_set_int(p, "dimm", 8); /* still there */
    rec_params_destroy(p);
    rec_params_create(&p);
    rec_params_set_int(p, "dim", 0);
    ck_assert_int_eq(rec_model_create(&m, "mf", p), REC_E_RANGE);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "'dim' = 0 is outside"));
    rec_params_destroy(p);
    rec_model_destroy(NULL);
}
END_TEST

START_TEST(unfitted_and_null_handles)
{
    rec_model *m = mf_model(1, 4);
    const char *items[3];
    size_t n;
    float s;
    ck_assert_int_eq(rec_model_recommend(m, "1", 3, 0, items, NULL, &n), REC_E_STATE);
    ck_assert_str_eq(rec_last_error(), "rec_model_recommend: the model is not fitted");
    ck_assert_int_eq(rec_model_score(NULL, "1", "2", &s), REC_E_INVALID);
    ck_assert_int_eq(rec_model_save(m, tu_tmp_path("unfitted.lrm")), REC_E_STATE);
    ck_assert_int_eq(rec_model_fit(m, NULL, NULL, NULL), REC_E_INVALID);
    rec_dataset *empty;
    ck_assert_int_eq(rec_dataset_create(&empty), REC_OK);
    ck_assert_int_eq(rec_model_fit(m, empty, NULL, NULL), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "no interactions"));
    rec_dataset_destroy(empty);
    rec_model_destroy(m);
}
END_TEST

static int count_epochs(void *user, int epoch, int epochs, double loss)
{
    double *last = user;
    ck_assert(isfinite(loss));
    last[epoch] = loss;
    last[0] = epochs;
    return 0;
}

/* Fraction of users whose held-out last item is in their top-10. */
static double hit10(rec_model *m, rec_dataset *test)
{
    int64_t nt, hits = 0;
    rec_dataset_num_interactions(test, &nt);
    for (int64_t r = 0; r < nt; r++) {
        int32_t u, i;
        const char *uid, *iid, *recs[10];
        size_t n;
        rec_dataset_row(test, r, &u, &i, NULL, NULL);
        rec_dataset_user_id(test, u, &uid);
        rec_dataset_item_id(test, i, &iid);
        ck_assert_int_eq(rec_model_recommend(m, uid, 10, 0, recs, NULL, &n), REC_OK);
        for (size_t k = 0; k < n; k++)
            hits += strcmp(recs[k], iid) == 0;
    }
    return (double)hits / (double)nt;
}

START_TEST(mf_learns_and_recommends)
{
    rec_dataset *all = tu_generate(300, 400, 30), *train, *test;
    ck_assert_int_eq(rec_dataset_split(all, "last:1", 0, 0, &train, &test), REC_OK);
    rec_model *m = mf_model(15, 32);
    double loss[32] = { 0 };
    ck_assert_int_eq(rec_model_fit(m, train, count_epochs, loss), REC_OK);
    ck_assert_int_eq((int)loss[0], 15);
    ck_assert_double_lt(loss[15], 0.7 * loss[1]); /* the loss falls */
    double hr = hit10(m, test);
    ck_assert_msg(hr > 4 * 10.0 / 400, "hit@10 %.3f is not far above chance", hr);

    /* Seen items are excluded by default and come back on request. */
    const char *uid, *recs[400];
    float sc[400];
    size_t n, n2;
    rec_dataset_user_id(train, 0, &uid);
    ck_assert_int_eq(rec_model_recommend(m, uid, 400, 0, recs, sc, &n), REC_OK);
    ck_assert_int_eq(rec_model_recommend(m, uid, 400, REC_INCLUDE_SEEN, recs, sc, &n2), REC_OK);
    ck_assert_uint_eq(n2, 400);
    ck_assert_uint_lt(n, n2);
    for (size_t k = 1; k < n2; k++)
        ck_assert(sc[k - 1] >= sc[k]);
    float s;
    ck_assert_int_eq(rec_model_score(m, uid, recs[0], &s), REC_OK);
    ck_assert_float_near(s, sc[0], 1e-5);
    ck_assert_int_eq(rec_model_recommend(m, uid, 5, 8u, recs, sc, &n), REC_E_INVALID);

    /* Similar items: the item itself is excluded, scores are cosines. */
    const char *iid;
    rec_dataset_item_id(train, 3, &iid);
    ck_assert_int_eq(rec_model_similar(m, iid, 5, recs, sc, &n), REC_OK);
    ck_assert_uint_eq(n, 5);
    for (size_t k = 0; k < n; k++) {
        ck_assert_str_ne(recs[k], iid);
        ck_assert(sc[k] <= 1.0001f);
    }

    /* Fold-in: a new user whose history is user 0's recovers user 0's
     * recommendations closely (overlap of the top-10). */
    int32_t nu;
    const int32_t *dummy = NULL;
    (void)dummy;
    rec_dataset_num_users(train, &nu);
    const char *hist[64], *a[10], *b[10];
    size_t nh = 0;
    int64_t nr;
    rec_dataset_num_interactions(train, &nr);
    for (int64_t r = 0; r < nr && nh < 64; r++) {
        int32_t u, i;
        rec_dataset_row(train, r, &u, &i, NULL, NULL);
        if (u == 0)
            rec_dataset_item_id(train, i, &hist[nh++]);
    }
    size_t na, nb;
    ck_assert_int_eq(rec_model_recommend(m, uid, 10, 0, a, NULL, &na), REC_OK);
    ck_assert_int_eq(rec_model_recommend_history(m, hist, NULL, nh, 10, 0, b, NULL, &nb),
                     REC_OK);
    int overlap = 0;
    for (size_t x = 0; x < na; x++)
        for (size_t y = 0; y < nb; y++)
            overlap += strcmp(a[x], b[y]) == 0;
    ck_assert_int_ge(overlap, 4);
    for (size_t y = 0; y < nb; y++)
        for (size_t h = 0; h < nh; h++)
            ck_assert_str_ne(b[y], hist[h]);

    rec_model_destroy(m);
    rec_dataset_destroy(train);
    rec_dataset_destroy(test);
    rec_dataset_destroy(all);
}
END_TEST

/* Regression: mf ran on through a diverging loss (its own epoch loop had
 * no check); through the trainer it stops with REC_E_RANGE.  Plain SGD with
 * lr * reg = 1000 multiplies the touched embeddings by -999 each step. */
START_TEST(mf_stops_on_a_diverging_loss)
{
    rec_dataset *d = tu_generate(30, 40, 10);
    rec_params *p;
    rec_model *m;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    ck_assert_int_eq(rec_params_parse(p, "optimizer=sgd"), REC_OK);
    ck_assert_int_eq(rec_params_parse(p, "lr=10"), REC_OK);
    ck_assert_int_eq(rec_params_parse(p, "reg=100"), REC_OK);
    ck_assert_int_eq(rec_params_parse(p, "batch=16"), REC_OK);
    ck_assert_int_eq(rec_model_create(&m, "mf", p), REC_OK);
    double loss[32] = { 0 };
    ck_assert_int_eq(rec_model_fit(m, d, count_epochs, loss), REC_E_RANGE);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "the loss is"));
    ck_assert_double_eq(loss[0], 0); /* stopped within the first epoch */
    rec_model_destroy(m);
    rec_params_destroy(p);
    rec_dataset_destroy(d);
}
END_TEST

static int stop_at_two(void *user, int epoch, int epochs, double loss)
{
    (void)user;
    (void)epochs;
    (void)loss;
    return epoch == 2;
}

START_TEST(progress_can_cancel)
{
    rec_dataset *d = tu_generate(50, 60, 10);
    rec_model *m = mf_model(10, 4);
    ck_assert_int_eq(rec_model_fit(m, d, stop_at_two, NULL), REC_E_CANCELLED);
    const char *uid, *recs[3];
    size_t n;
    rec_dataset_user_id(d, 0, &uid);
    ck_assert_int_eq(rec_model_recommend(m, uid, 3, 0, recs, NULL, &n), REC_OK);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

typedef struct calls {
    int n, epoch[64], epochs[64];
    double loss[64];
    const char *step[64];
    const rec_model *m;
} calls;

static int record(void *user, int epoch, int epochs, double loss)
{
    calls *c = user;
    ck_assert_int_lt(c->n, 64);
    c->epoch[c->n] = epoch;
    c->epochs[c->n] = epochs;
    c->loss[c->n] = loss;
    c->step[c->n++] = rec_model_fit_step(c->m);
    return 0;
}

static calls *fit_recorded(const char *kind, const char *kv, const rec_dataset *d)
{
    static calls c;
    memset(&c, 0, sizeof c);
    rec_params *p;
    rec_model *m;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    char buf[128];
    snprintf(buf, sizeof buf, "%s", kv ? kv : "");
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ","))
        ck_assert_int_eq(rec_params_parse(p, t), REC_OK);
    ck_assert_int_eq(rec_model_create(&m, kind, p), REC_OK);
    c.m = m;
    ck_assert_msg(rec_model_fit(m, d, record, &c) == REC_OK, "%s", rec_last_error());
    ck_assert_ptr_null(rec_model_fit_step(m)); /* only during a fit */
    rec_model_destroy(m);
    rec_params_destroy(p);
    return &c;
}

/* What progress reports is what runs: svd with n_epochs=5 and a ranking
 * head counts 1..5 twice, naming each phase (it used to count 1..10 of
 * 10); itemcf reports its steps as they finish, with no loss (it used to
 * call once, at the end). */
START_TEST(progress_counts_what_each_model_runs)
{
    rec_dataset *d = tu_generate(40, 30, 8);
    calls *c = fit_recorded("svd", "n_epochs=5,rank_negatives=2", d);
    ck_assert_int_eq(c->n, 10);
    for (int j = 0; j < 10; j++) {
        ck_assert_str_eq(c->step[j], j < 5 ? "epoch" : "ranking head epoch");
        ck_assert_int_eq(c->epoch[j], j % 5 + 1);
        ck_assert_int_eq(c->epochs[j], 5);
        ck_assert(isfinite(c->loss[j]));
    }
    c = fit_recorded("itemcf", NULL, d);
    const char *want[] = { "ratings", "baselines", "similarities", "ranking lists" };
    ck_assert_int_eq(c->n, 4);
    for (int j = 0; j < 4; j++) {
        ck_assert_str_eq(c->step[j], want[j]);
        ck_assert_int_eq(c->epoch[j], j + 1);
        ck_assert_int_eq(c->epochs[j], 4);
        ck_assert(isnan(c->loss[j]));
    }
    c = fit_recorded("usercf", "centring=mean,ranking=prediction", d);
    ck_assert_int_eq(c->n, 2);
    ck_assert_str_eq(c->step[0], "ratings");
    ck_assert_str_eq(c->step[1], "similarities");
    c = fit_recorded("mf", "epochs=3,dim=4", d);
    ck_assert_int_eq(c->n, 3);
    ck_assert_str_eq(c->step[2], "epoch");
    ck_assert_int_eq(c->epochs[2], 3);
    rec_dataset_destroy(d);
}
END_TEST

/* Identical scores after a round trip are check_kinds.c's; here a damaged
 * file must not load. */
START_TEST(damaged_files_do_not_load)
{
    rec_dataset *d = tu_generate(80, 120, 15);
    rec_model *m = mf_model(3, 8), *l;
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_OK);
    const char *path = tu_tmp_path("mf.lrm");
    ck_assert_int_eq(rec_model_save(m, path), REC_OK);
    /* A flipped byte anywhere is REC_E_FORMAT; the file must not load. */
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)len);
    ck_assert_int_eq(fread(buf, 1, (size_t)len, f), len);
    fclose(f);
    const char *bad = tu_tmp_path("bad.lrm");
    for (long pos = 0; pos < len; pos += len / 37 + 1) {
        buf[pos] ^= 0x5a;
        f = fopen(bad, "wb");
        fwrite(buf, 1, (size_t)len, f);
        fclose(f);
        l = (rec_model *)1;
        ck_assert_int_eq(rec_model_load(&l, bad), REC_E_FORMAT);
        ck_assert_ptr_null(l);
        buf[pos] ^= 0x5a;
    }
    free(buf);
    ck_assert_int_eq(rec_model_load(&l, tu_tmp_path("missing.lrm")), REC_E_IO);
    ck_assert_int_eq(rec_model_load(&l, NULL), REC_E_INVALID);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

Suite *rec_model_suite(void)
{
    Suite *s = suite_create("model");
    TCase *t = tcase_create("interface");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, kinds_and_params_are_described);
    tcase_add_test(t, create_rejects_bad_input);
    tcase_add_test(t, unfitted_and_null_handles);
    tcase_add_test(t, mf_learns_and_recommends);
    tcase_add_test(t, progress_can_cancel);
    tcase_add_test(t, progress_counts_what_each_model_runs);
    tcase_add_test(t, mf_stops_on_a_diverging_loss);
    tcase_add_test(t, damaged_files_do_not_load);
    suite_add_tcase(s, t);
    return s;
}
