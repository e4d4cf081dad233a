/* Models that read per-interaction context: a twotower user tower or a
 * dnn trained on data whose items depend on the row's device learns it,
 * scores move with the context given at call time, unknown values are the
 * missing row, a model file gives the same scores, and bad contexts fail
 * cleanly. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 40 users, 20 items: on device "a" a user picks among items 0..9, on "b"
 * among 10..19; timestamps put "a" rows on Mondays and "b" on Sundays. */
static rec_dataset *device_data(int declare)
{
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    if (declare)
        ck_assert_int_eq(rec_dataset_add_context(d, "device", NULL), REC_OK);
    unsigned x = 7;
    int64_t row = 0;
    for (int u = 0; u < 40; u++)
        for (int j = 0; j < 16; j++, row++) {
            int b = j % 2;
            x = x * 1103515245u + 12345u;
            int item = b * 10 + (int)((x >> 16) % 10);
            char us[8], is[8];
            snprintf(us, sizeof us, "u%d", u);
            snprintf(is, sizeof is, "i%d", item);
            /* day 4 (1970-01-05) a Monday, day 10 a Sunday */
            int64_t t = (b ? 10 : 4) * 86400 + 3600 * (j % 24) + 86400 * 7 * j;
            ck_assert_int_eq(rec_dataset_add(d, us, is, NAN, t), REC_OK);
            if (declare)
                ck_assert_int_eq(rec_dataset_set_context(d, row, "device", b ? "b" : "a"),
                                 REC_OK);
        }
    return d;
}

static const char *kv_ctx[] = { "user_features=id,device", "item_features=id", "dim=16",
                                "tower=32,16", "epochs=30", "batch=64", "lr=0.01",
                                "temperature=0.1" };

/* How many of the user's top 5 (seen included) are in the device's half. */
static int in_half(const rec_model *m, const char *user, const rec_feature_set *ctx, int b)
{
    const char *items[5];
    size_t n;
    ck_assert_int_eq(rec_model_recommend_context(m, user, ctx, 5, REC_INCLUDE_SEEN, items, NULL,
                                                 &n), REC_OK);
    ck_assert_uint_eq(n, 5);
    int hits = 0;
    for (size_t j = 0; j < n; j++) {
        int i = atoi(items[j] + 1);
        hits += (i >= 10) == b;
    }
    return hits;
}

/* Asserts that the context decides the top 5: for every 4th user from u0,
 * field = va puts at least 45 of the 10 x 5 listed items in the first half, vb in the
 * second (half by chance). */
static void assert_context_decides(const rec_model *m, rec_feature_set *fs, const char *field,
                                   const char *va, const char *vb, int u0)
{
    int ha = 0, hb = 0;
    for (int u = u0; u < 40; u += 4) {
        char us[8];
        snprintf(us, sizeof us, "u%d", u);
        ck_assert_int_eq(rec_feature_set_set(fs, field, va), REC_OK);
        ha += in_half(m, us, fs, 0);
        ck_assert_int_eq(rec_feature_set_set(fs, field, vb), REC_OK);
        hb += in_half(m, us, fs, 1);
    }
    ck_assert_int_ge(ha, 45);
    ck_assert_int_ge(hb, 45);
}

/* m saved as file and loaded: u7's score of i13 the same in contexts
 * device = a, b and an unknown value, through a set of the loaded model and
 * through fs (a set of m's); u3's plain score of i4 the same. */
static void assert_file_scores_alike(const rec_model *m, rec_feature_set *fs, const char *file)
{
    const char *path = tu_tmp_path(file);
    ck_assert_int_eq(rec_model_save(m, path), REC_OK);
    rec_model *l;
    ck_assert_int_eq(rec_model_load(&l, path), REC_OK);
    rec_feature_set *fl;
    ck_assert_int_eq(rec_feature_set_create(&fl, l, REC_SIDE_USER), REC_OK);
    const char *vals[3] = { "a", "b", "zzz" };
    float s0, s1;
    for (int v = 0; v < 3; v++) {
        ck_assert_int_eq(rec_feature_set_set(fs, "device", vals[v]), REC_OK);
        ck_assert_int_eq(rec_feature_set_set(fl, "device", vals[v]), REC_OK);
        ck_assert_int_eq(rec_model_score_context(m, "u7", fs, "i13", &s0), REC_OK);
        ck_assert_int_eq(rec_model_score_context(l, "u7", fl, "i13", &s1), REC_OK);
        ck_assert_float_eq(s0, s1);
        /* the loaded model reads the set of the model it came from */
        ck_assert_int_eq(rec_model_score_context(l, "u7", fs, "i13", &s1), REC_OK);
        ck_assert_float_eq(s0, s1);
    }
    ck_assert_int_eq(rec_model_score(m, "u3", "i4", &s0), REC_OK);
    ck_assert_int_eq(rec_model_score(l, "u3", "i4", &s1), REC_OK);
    ck_assert_float_eq(s0, s1);
    rec_feature_set_destroy(fl);
    rec_model_destroy(l);
}

START_TEST(twotower_learns_device)
{
    rec_dataset *d = device_data(1);
    rec_model *m = tu_fit("twotower", d, kv_ctx, 8);
    rec_feature_set *fs;
    ck_assert_int_eq(rec_feature_set_create(&fs, m, REC_SIDE_USER), REC_OK);
    assert_context_decides(m, fs, "device", "a", "b", 0);

    /* an unknown value and an unset context are the missing row, which is
     * what rec_model_score serves */
    float s_none, s_unknown, s_plain, s_a, s_b;
    ck_assert_int_eq(rec_feature_set_set(fs, "device", "tablet"), REC_OK);
    ck_assert_int_eq(rec_model_score_context(m, "u3", fs, "i4", &s_unknown), REC_OK);
    ck_assert_int_eq(rec_model_score_context(m, "u3", NULL, "i4", &s_none), REC_OK);
    ck_assert_int_eq(rec_model_score(m, "u3", "i4", &s_plain), REC_OK);
    ck_assert_float_eq(s_unknown, s_none);
    ck_assert_float_eq_tol(s_none, s_plain, 1e-5);
    ck_assert_int_eq(rec_feature_set_set(fs, "device", "a"), REC_OK);
    ck_assert_int_eq(rec_model_score_context(m, "u3", fs, "i4", &s_a), REC_OK);
    ck_assert_int_eq(rec_feature_set_set(fs, "device", "b"), REC_OK);
    ck_assert_int_eq(rec_model_score_context(m, "u3", fs, "i4", &s_b), REC_OK);
    ck_assert_float_gt(s_a, s_b + 0.1f);

    /* an anonymous user in a context: the feature-set calls read it too */
    const char *hist[2] = { "i1", "i2" };
    float an_a, an_b;
    ck_assert_int_eq(rec_feature_set_set(fs, "device", "a"), REC_OK);
    ck_assert_int_eq(rec_model_score_features(m, fs, hist, 2, "i4", &an_a), REC_OK);
    ck_assert_int_eq(rec_feature_set_set(fs, "device", "b"), REC_OK);
    ck_assert_int_eq(rec_model_score_features(m, fs, hist, 2, "i4", &an_b), REC_OK);
    ck_assert_float_ne(an_a, an_b);

    assert_file_scores_alike(m, fs, "ctx_tt.lrm");

    /* errors: an unknown user, a kind without contexts */
    ck_assert_int_eq(rec_model_score_context(m, "nobody", fs, "i4", &s_a), REC_E_NOTFOUND);
    rec_feature_set_destroy(fs);
    rec_model_destroy(m);
    rec_model *p = tu_fit("popularity", d, NULL, 0);
    ck_assert_int_eq(rec_model_score_context(p, "u3", NULL, "i4", &s_a), REC_E_UNSUPPORTED);
    rec_model_destroy(p);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(twotower_time_buckets)
{
    /* the same data read through its weekday: Monday rows pick 0..9 */
    rec_dataset *d = device_data(0);
    static const char *kv[] = { "user_features=id,time:weekday,time:hour", "item_features=id",
                                "dim=16", "tower=32,16", "epochs=30", "batch=64", "lr=0.01",
                                "temperature=0.1" };
    rec_model *m = tu_fit("twotower", d, kv, 8);
    rec_feature_set *fs;
    ck_assert_int_eq(rec_feature_set_create(&fs, m, REC_SIDE_USER), REC_OK);
    assert_context_decides(m, fs, "time:weekday", "0", "6", 1);
    /* a field the model does not read */
    ck_assert_int_eq(rec_feature_set_set(fs, "device", "a"), REC_E_NOTFOUND);
    rec_feature_set_destroy(fs);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* p from blank-separated key=value settings. */
static void parse_all(rec_params *p, const char *kv)
{
    char buf[512], *save = NULL;
    snprintf(buf, sizeof buf, "%s", kv);
    for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save))
        ck_assert_int_eq(rec_params_parse(p, w), REC_OK);
}

/* Fitting kind with kv fails with want and a message holding what; the
 * model stays unfitted. */
static void fit_fails_kind(const char *kind, const rec_dataset *d, const char *kv,
                           rec_status want, const char *what)
{
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    parse_all(p, kv);
    rec_model *m;
    ck_assert_int_eq(rec_model_create(&m, kind, p), REC_OK);
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), want);
    ck_assert_msg(strstr(rec_last_error(), what), "%s", rec_last_error());
    float s;
    ck_assert_int_eq(rec_model_score(m, "u1", "i1", &s), REC_E_STATE);
    rec_model_destroy(m);
    rec_params_destroy(p);
}

static void fit_fails(const rec_dataset *d, const char *kv, rec_status want, const char *what)
{
    fit_fails_kind("twotower", d, kv, want, what);
}

START_TEST(bad_contexts)
{
    rec_dataset *d = device_data(0);
    fit_fails(d, "epochs=1 user_features=id,device", REC_E_INVALID, "'device'");
    fit_fails(d, "epochs=1 item_features=id,time:hour", REC_E_INVALID, "'time:hour'");
    rec_dataset_destroy(d);
    int64_t u[3] = { 1, 1, 2 }, it[3] = { 1, 2, 1 };
    ck_assert_int_eq(rec_dataset_from_arrays(&d, u, it, NULL, NULL, 3), REC_OK);
    fit_fails(d, "epochs=1 user_features=id,time:weekday", REC_E_STATE, "timestamps");
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(twotower_context_allocation_failures)
{
    rec_dataset *d = tu_generate(12, 20, 5);
    ck_assert_int_eq(rec_dataset_add_context(d, "device", NULL), REC_OK);
    for (int64_t r = 0; r < 40; r++)
        ck_assert_int_eq(rec_dataset_set_context(d, r, "device", r % 3 ? "a" : "b"), REC_OK);
    rec_model *warm = tu_fit("twotower", d, (const char *[]){ "epochs=1" }, 1);
    rec_model_destroy(warm); /* builds d's caches */
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    parse_all(p, "epochs=1 batch=16 loss=mix user_features=id,device,time:hour,time:weekday");
    ck_assert_int_gt(tu_fit_fails_cleanly("twotower", p, d), 10);
    rec_params_destroy(p);
    rec_dataset_destroy(d);
}
END_TEST

/* ---- dnn ------------------------------------------------------------------ */

/* dnn with kv (n settings) on the device data: the context decides the
 * half of the top 5, moves a score the right way, an unknown or unset
 * value is what rec_model_score serves, and the file scores alike. */
static void dnn_device(const char *const *kv, int n, const char *file)
{
    rec_dataset *d = device_data(1);
    rec_model *m = tu_fit("dnn", d, kv, n);
    rec_feature_set *fs;
    ck_assert_int_eq(rec_feature_set_create(&fs, m, REC_SIDE_USER), REC_OK);
    assert_context_decides(m, fs, "device", "a", "b", 0);

    float s_none, s_unknown, s_plain, s_a;
    ck_assert_int_eq(rec_feature_set_set(fs, "device", "tablet"), REC_OK);
    ck_assert_int_eq(rec_model_score_context(m, "u3", fs, "i4", &s_unknown), REC_OK);
    ck_assert_int_eq(rec_model_score_context(m, "u3", NULL, "i4", &s_none), REC_OK);
    ck_assert_int_eq(rec_model_score(m, "u3", "i4", &s_plain), REC_OK);
    ck_assert_float_eq(s_unknown, s_none);
    ck_assert_float_eq(s_none, s_plain);
    /* the mean probability of each half in each context: the device's own
     * half well above the other */
    double mean[2][2] = { { 0, 0 }, { 0, 0 } };
    for (int b = 0; b < 2; b++) {
        ck_assert_int_eq(rec_feature_set_set(fs, "device", b ? "b" : "a"), REC_OK);
        for (int i = 0; i < 20; i++) {
            char is[8];
            snprintf(is, sizeof is, "i%d", i);
            ck_assert_int_eq(rec_model_score_context(m, "u3", fs, is, &s_a), REC_OK);
            mean[b][i >= 10] += s_a / 10.0;
        }
    }
    ck_assert_msg(mean[0][0] > mean[0][1] + 0.1 && mean[1][1] > mean[1][0] + 0.1,
                  "half means a: %g / %g, b: %g / %g", mean[0][0], mean[0][1], mean[1][0],
                  mean[1][1]);
    assert_file_scores_alike(m, fs, file);

    /* an anonymous user (no id row, no history) in a context: its half
     * first there too */
    double anon[2][2] = { { 0, 0 }, { 0, 0 } };
    for (int b = 0; b < 2; b++) {
        ck_assert_int_eq(rec_feature_set_set(fs, "device", b ? "b" : "a"), REC_OK);
        for (int i = 0; i < 20; i++) {
            char is[8];
            snprintf(is, sizeof is, "i%d", i);
            ck_assert_int_eq(rec_model_score_features(m, fs, NULL, 0, is, &s_a), REC_OK);
            anon[b][i >= 10] += s_a / 10.0;
        }
    }
    ck_assert_msg(anon[0][0] > anon[0][1] && anon[1][1] > anon[1][0],
                  "anonymous half means a: %g / %g, b: %g / %g", anon[0][0], anon[0][1],
                  anon[1][0], anon[1][1]);
    rec_feature_set *items;
    ck_assert_int_eq(rec_feature_set_create(&items, m, REC_SIDE_ITEM), REC_OK);
    rec_feature_set_destroy(items);
    ck_assert_int_eq(rec_model_score_context(m, "nobody", fs, "i4", &s_a), REC_E_NOTFOUND);
    ck_assert_int_eq(rec_model_score_context(m, "u3", fs, "nothing", &s_a), REC_E_NOTFOUND);
    rec_feature_set_destroy(fs);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}

START_TEST(dnn_learns_device)
{
    /* the deep part alone, then the context in the FM term and in a wide
     * cross with the item id */
    static const char *deep[] = { "user_features=id,device", "item_features=id", "epochs=30",
                                  "batch=64", "lr=0.01" };
    dnn_device(deep, 5, "ctx_dnn.lrm");
    static const char *fm[] = { "user_features=id,device", "item_features=id", "epochs=30",
                                "batch=64", "lr=0.01", "fm=true", "hidden=32,16" };
    dnn_device(fm, 7, "ctx_dnn_fm.lrm");
    static const char *wide[] = { "user_features=id,device", "item_features=id", "epochs=30",
                                  "batch=64", "lr=0.01", "wide=true", "crosses=device x id" };
    dnn_device(wide, 7, "ctx_dnn_wide.lrm");
}
END_TEST

START_TEST(dnn_time_buckets)
{
    rec_dataset *d = device_data(0);
    static const char *kv[] = { "user_features=id,time:weekday,time:hour", "item_features=id",
                                "epochs=30", "batch=64", "lr=0.01" };
    rec_model *m = tu_fit("dnn", d, kv, 5);
    rec_feature_set *fs;
    ck_assert_int_eq(rec_feature_set_create(&fs, m, REC_SIDE_USER), REC_OK);
    assert_context_decides(m, fs, "time:weekday", "0", "6", 1);
    ck_assert_int_eq(rec_feature_set_set(fs, "device", "a"), REC_E_NOTFOUND);
    rec_feature_set_destroy(fs);
    rec_model_destroy(m);

    /* without contexts: an empty set, the context calls serve rec_model_score */
    static const char *plain[] = { "epochs=2" };
    m = tu_fit("dnn", d, plain, 1);
    ck_assert_int_eq(rec_feature_set_create(&fs, m, REC_SIDE_USER), REC_OK);
    float a, b;
    ck_assert_int_eq(rec_model_score_context(m, "u2", fs, "i3", &a), REC_OK);
    ck_assert_int_eq(rec_model_score(m, "u2", "i3", &b), REC_OK);
    ck_assert_float_eq(a, b);
    const char *items[3];
    size_t n;
    ck_assert_int_eq(rec_model_recommend_context(m, "u2", NULL, 3, 0, items, NULL, &n), REC_OK);
    ck_assert_uint_eq(n, 3);
    rec_feature_set_destroy(fs);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(dnn_bad_contexts)
{
    rec_dataset *d = device_data(0);
    fit_fails_kind("dnn", d, "epochs=1 user_features=id,time:minute", REC_E_INVALID,
                   "'time:minute' is not a context");
    fit_fails_kind("dnn", d, "epochs=1 user_features=id,device", REC_E_NOTFOUND,
                   "nor a context of that name");
    fit_fails_kind("dnn", d, "epochs=1 user_features=id,time:hour,time:hour", REC_E_INVALID,
                   "'time:hour' is listed twice");
    fit_fails_kind("dnn", d, "epochs=1 item_features=id,time:hour", REC_E_NOTFOUND,
                   "no item field 'time:hour'");
    /* a context call on a model not fitted */
    rec_model *m;
    ck_assert_int_eq(rec_model_create(&m, "dnn", NULL), REC_OK);
    float s;
    const char *items[2];
    size_t n;
    ck_assert_int_eq(rec_model_score_context(m, "u1", NULL, "i1", &s), REC_E_STATE);
    ck_assert_int_eq(rec_model_recommend_context(m, "u1", NULL, 2, 0, items, NULL, &n),
                     REC_E_STATE);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
    int64_t u[3] = { 1, 1, 2 }, it[3] = { 1, 2, 1 };
    ck_assert_int_eq(rec_dataset_from_arrays(&d, u, it, NULL, NULL, 3), REC_OK);
    fit_fails_kind("dnn", d, "epochs=1 user_features=id,time:weekday", REC_E_STATE,
                   "timestamps");
    rec_dataset_destroy(d);
}
END_TEST

typedef struct ctx_call {
    const rec_model *m;
    const rec_feature_set *fs;
} ctx_call;

static rec_status recommend_in_context(void *ctx)
{
    ctx_call *c = ctx;
    const char *items[4];
    size_t n;
    return rec_model_recommend_context(c->m, "u2", c->fs, 4, 0, items, NULL, &n);
}

static void nothing(void *ctx)
{
    (void)ctx;
}

START_TEST(dnn_context_allocation_failures)
{
    rec_dataset *d = tu_generate(12, 20, 5);
    ck_assert_int_eq(rec_dataset_add_context(d, "device", NULL), REC_OK);
    for (int64_t r = 0; r < 40; r++)
        ck_assert_int_eq(rec_dataset_set_context(d, r, "device", r % 3 ? "a" : "b"), REC_OK);
    rec_model *warm = tu_fit("dnn", d, (const char *[]){ "epochs=1" }, 1);
    rec_model_destroy(warm);
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    parse_all(p, "epochs=1 batch=16 wide=true fm=true "
                 "user_features=id,device,time:hour,time:weekday");
    ck_assert_int_eq(rec_params_set_str(p, "crosses", "device x id"), REC_OK);
    ck_assert_int_gt(tu_fit_fails_cleanly("dnn", p, d), 10);
    rec_model *m;
    ck_assert_int_eq(rec_model_create(&m, "dnn", p), REC_OK);
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_OK);
    rec_feature_set *fs;
    ck_assert_int_eq(rec_feature_set_create(&fs, m, REC_SIDE_USER), REC_OK);
    ck_assert_int_eq(rec_feature_set_set(fs, "device", "b"), REC_OK);
    ck_assert_int_eq(rec_feature_set_set(fs, "time:hour", "7"), REC_OK);
    ctx_call c = { m, fs };
    static const tu_call call = { NULL, recommend_in_context, nothing };
    ck_assert_int_gt(tu_call_fails_cleanly(&call, &c), 1);
    rec_feature_set_destroy(fs);
    rec_model_destroy(m);
    rec_params_destroy(p);
    rec_dataset_destroy(d);
}
END_TEST

Suite *rec_context_models_suite(void)
{
    Suite *s = suite_create("context_models");
    TCase *tc = tcase_create("context_models");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, twotower_learns_device);
    tcase_add_test(tc, twotower_time_buckets);
    tcase_add_test(tc, bad_contexts);
    tcase_add_test(tc, twotower_context_allocation_failures);
    suite_add_tcase(s, tc);
    TCase *dn = tcase_create("dnn");
    tcase_set_timeout(dn, 120);
    tcase_add_test(dn, dnn_learns_device);
    tcase_add_test(dn, dnn_time_buckets);
    tcase_add_test(dn, dnn_bad_contexts);
    tcase_add_test(dn, dnn_context_allocation_failures);
    suite_add_tcase(s, dn);
    return s;
}
