/* Call-time features (rec_feature_set, rec_model_score_features,
 * rec_model_recommend_features, rec_model_add_items): an item added to a
 * fitted twotower from its features scores as the same item present at fit
 * with no interactions; a user described by features is served by them;
 * added items survive save/load; bad names, types, sides and models are
 * refused with a message and leave the model as it was. */
#include "testutil.h"
#include "models/twotower-impl.h"

#include <librec/librec.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rec_model *fit_kv(const char *kind, const rec_dataset *d, const char *kv)
{
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    char buf[512];
    snprintf(buf, sizeof buf, "%s", kv);
    rec_status st;
    for (char *t = strtok(buf, " "); t; t = strtok(NULL, " ")) {
        st = rec_params_parse(p, t);
        ck_assert_msg(st == REC_OK, "%s", rec_last_error());
    }
    rec_model *m;
    st = rec_model_create(&m, kind, p);
    ck_assert_msg(st == REC_OK, "%s", rec_last_error());
    rec_params_destroy(p);
    st = rec_model_fit(m, d, NULL, NULL);
    ck_assert_msg(st == REC_OK, "%s", rec_last_error());
    return m;
}

static void ok(rec_status st)
{
    ck_assert_msg(st == REC_OK, "%s", rec_last_error());
}

#define TT_KV "epochs=3 batch=64 seed=7 user_features=id,genres_hist,region,age " \
              "item_features=id,genres,year,length,emb"

/* Scores of every user for items a and b agree to float rounding (the
 * forward passes ran in batches of other sizes). */
static void same_item_scores(const rec_model *m, const rec_dataset *d, const char *a,
                             const char *b)
{
    int32_t nu;
    ok(rec_dataset_num_users(d, &nu));
    for (int32_t u = 0; u < nu; u++) {
        const char *uid;
        ok(rec_dataset_user_id(d, u, &uid));
        float sa = tu_score(m, uid, a), sb = tu_score(m, uid, b);
        ck_assert_msg(fabsf(sa - sb) <= 1e-5f, "user %s: %s %g, %s %g", uid, a, (double)sa, b,
                      (double)sb);
    }
}

START_TEST(added_item_scores_as_cold_item_at_fit)
{
    const char *g0, *g1;
    rec_dataset *d = tu_data_with_cold(&g0, &g1);
    rec_model *m = fit_kv("twotower", d, TT_KV);
    int32_t cold;
    ok(rec_dataset_item_index(d, "cold", &cold));
    size_t ni0;
    ok(rec_model_num_items(m, &ni0));

    rec_feature_set *fs = tu_cold_set(m, g0, g1, cold);
    const char *ids[] = { "new" };
    const rec_feature_set *sets[] = { fs };
    ok(rec_model_add_items(m, ids, sets, 1));
    size_t ni1;
    ok(rec_model_num_items(m, &ni1));
    ck_assert_uint_eq(ni1, ni0 + 1);
    same_item_scores(m, d, "cold", "new");

    /* similar: each is the other's nearest, at the self-similarity 1 */
    const char *sim[3];
    float ss[3];
    size_t n;
    ok(rec_model_similar(m, "cold", 3, sim, ss, &n));
    ck_assert_str_eq(sim[0], "new");
    ck_assert_float_eq_tol(ss[0], 1.0f, 1e-5f);
    ok(rec_model_similar(m, "new", 3, sim, ss, &n));
    ck_assert_str_eq(sim[0], "cold");

    /* retrieval (the item index) finds it: for every user whose list holds
     * one of the two, the other is beside it with the same score */
    int32_t nu;
    ok(rec_dataset_num_users(d, &nu));
    int found = 0;
    for (int32_t u = 0; u < nu; u++) {
        const char *uid, *top[82];
        float sc[82];
        ok(rec_dataset_user_id(d, u, &uid));
        ok(rec_model_recommend(m, uid, 82, REC_INCLUDE_SEEN, top, sc, &n));
        ck_assert_uint_eq(n, ni1);
        int pc = -1, pn = -1;
        for (size_t k = 0; k < n; k++) {
            if (!strcmp(top[k], "cold"))
                pc = (int)k;
            if (!strcmp(top[k], "new"))
                pn = (int)k;
        }
        ck_assert(pc >= 0 && pn >= 0);
        ck_assert_float_eq_tol(sc[pc], sc[pn], 1e-5f);
        found += abs(pc - pn) == 1 || fabsf(sc[pc] - sc[pn]) == 0;
    }
    ck_assert_int_eq(found, nu);

    /* a history holding the new item reads its genres as the cold one's */
    const char *hc[] = { "cold" }, *hn[] = { "new" }, *ra[5], *rb[5];
    float sa[5], sb[5];
    size_t na, nb;
    ok(rec_model_recommend_history(m, hc, NULL, 1, 5, 0, ra, sa, &na));
    ok(rec_model_recommend_history(m, hn, NULL, 1, 5, 0, rb, sb, &nb));
    ck_assert_uint_eq(na, nb);
    for (size_t k = 0; k < na; k++)
        ck_assert_float_eq_tol(sa[k], sb[k], 1e-5f);

    /* the vectors rec_model_vectors gives have its row too */
    int dim;
    ok(rec_model_vectors(m, REC_SIDE_ITEM, NULL, 0, &dim));
    float *vec = malloc(ni1 * (size_t)dim * sizeof *vec);
    ok(rec_model_vectors(m, REC_SIDE_ITEM, vec, ni1 * (size_t)dim, &dim));
    for (int j = 0; j < dim; j++)
        ck_assert_float_eq_tol(vec[(size_t)cold * dim + j], vec[ni0 * (size_t)dim + j], 1e-5f);
    free(vec);
    rec_feature_set_destroy(fs);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(added_items_survive_save_and_load)
{
    const char *g0, *g1;
    rec_dataset *d = tu_data_with_cold(&g0, &g1);
    rec_model *m = fit_kv("twotower", d, TT_KV);
    int32_t cold;
    ok(rec_dataset_item_index(d, "cold", &cold));
    rec_feature_set *fs = tu_cold_set(m, g0, g1, cold), *other;
    ok(rec_feature_set_create(&other, m, REC_SIDE_ITEM));
    ok(rec_feature_set_set(other, "genres", g1));
    ok(rec_feature_set_set(other, "genres", "no such genre")); /* out of vocabulary */
    ok(rec_feature_set_set_number(other, "year", 2011));
    const char *ids[] = { "new", "other" };
    const rec_feature_set *sets[] = { fs, other };
    ok(rec_model_add_items(m, ids, sets, 2));
    const char *path = tu_tmp_path("features.lrm");
    ok(rec_model_save(m, path));
    rec_model *l;
    ok(rec_model_load(&l, path));
    size_t n;
    ok(rec_model_num_items(l, &n));
    ck_assert_uint_eq(n, 83);
    int32_t nu;
    ok(rec_dataset_num_users(d, &nu));
    for (int32_t u = 0; u < nu; u += 5) {
        const char *uid;
        ok(rec_dataset_user_id(d, u, &uid));
        ck_assert_float_eq_tol(tu_score(m, uid, "new"), tu_score(l, uid, "new"), 1e-5f);
        ck_assert_float_eq_tol(tu_score(m, uid, "other"), tu_score(l, uid, "other"), 1e-5f);
    }
    same_item_scores(l, d, "cold", "new");
    /* the loaded model keeps its schema: it takes features and more items */
    rec_feature_set *again;
    ok(rec_feature_set_create(&again, l, REC_SIDE_ITEM));
    ok(rec_feature_set_set(again, "genres", g0));
    ok(rec_feature_set_set(again, "genres", g1));
    ok(rec_feature_set_set(again, "year", "1987"));
    ok(rec_feature_set_set(again, "length", "95"));
    float v[3] = { (float)(cold % 7), (float)(cold % 3) - 1.0f, 0.25f * (float)cold };
    ok(rec_feature_set_set_vector(again, "emb", v, 3));
    const char *id3[] = { "again" };
    const rec_feature_set *s3[] = { again };
    ok(rec_model_add_items(l, id3, s3, 1));
    same_item_scores(l, d, "cold", "again");
    rec_feature_set_destroy(again);
    rec_feature_set_destroy(other);
    rec_feature_set_destroy(fs);
    rec_model_destroy(l);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* Users in region "north" take items n0..n9, those in "south" s0..s9: a
 * user described only by a region is served that region's items. */
START_TEST(user_from_features_follows_them)
{
    rec_dataset *d;
    ok(rec_dataset_create(&d));
    ok(rec_dataset_add_field(d, REC_SIDE_USER, "region", REC_FEATURE_CATEGORICAL, NULL));
    char u[16], it[16];
    for (int k = 0; k < 40; k++) {
        int north = k % 2 == 0;
        snprintf(u, sizeof u, "u%d", k);
        for (int j = 0; j < 6; j++) {
            snprintf(it, sizeof it, "%c%d", north ? 'n' : 's', (k / 2 + j) % 10);
            ok(rec_dataset_add(d, u, it, NAN, REC_NO_TIME));
        }
        ok(rec_dataset_set_feature(d, REC_SIDE_USER, "region", u, north ? "north" : "south",
                                   0));
    }
    rec_model *m = fit_kv("twotower", d, "epochs=30 batch=32 seed=3 user_features=region "
                                         "item_features=id");
    const char *region[] = { "north", "south" };
    for (int r = 0; r < 2; r++) {
        rec_feature_set *fs;
        ok(rec_feature_set_create(&fs, m, REC_SIDE_USER));
        ok(rec_feature_set_set(fs, "region", region[r]));
        const char *top[5];
        float sc[5];
        size_t n;
        ok(rec_model_recommend_features(m, fs, NULL, 0, 5, 0, top, sc, &n));
        ck_assert_uint_eq(n, 5);
        for (size_t k = 0; k < n; k++)
            ck_assert_msg(top[k][0] == region[r][0], "%s got %s", region[r], top[k]);
        /* a known user of that region: the same vector, so the same score */
        float a, b;
        ok(rec_model_score_features(m, fs, NULL, 0, "n3", &a));
        ck_assert_float_eq_tol(a, tu_score(m, r ? "u1" : "u0", "n3"), 1e-5f);
        ok(rec_model_score_features(m, fs, NULL, 0, "s3", &b));
        ck_assert(r ? b > a : a > b);
        /* the history's items are excluded unless asked for */
        const char *hist[] = { top[0], "unknown item" };
        const char *t2[5];
        ok(rec_model_recommend_features(m, fs, hist, 2, 5, 0, t2, sc, &n));
        for (size_t k = 0; k < n; k++)
            ck_assert_str_ne(t2[k], hist[0]);
        ok(rec_model_recommend_features(m, fs, hist, 2, 5, REC_INCLUDE_SEEN, t2, sc, &n));
        ck_assert_str_eq(t2[0], hist[0]);
        rec_feature_set_destroy(fs);
    }
    /* an unknown region is the out-of-vocabulary bucket: scores as unset */
    rec_feature_set *oov, *none;
    ok(rec_feature_set_create(&oov, m, REC_SIDE_USER));
    ok(rec_feature_set_create(&none, m, REC_SIDE_USER));
    ok(rec_feature_set_set(oov, "region", "west"));
    float a, b;
    ok(rec_model_score_features(m, oov, NULL, 0, "n1", &a));
    ok(rec_model_score_features(m, none, NULL, 0, "n1", &b));
    ck_assert_float_eq(a, b);
    ok(rec_model_score_features(m, NULL, NULL, 0, "n1", &b));
    ck_assert_float_eq(a, b);
    rec_feature_set_destroy(oov);
    rec_feature_set_destroy(none);
    /* a set made against the dataset serves the model too */
    rec_feature_set *fd;
    ok(rec_feature_set_create_dataset(&fd, d, REC_SIDE_USER));
    ok(rec_feature_set_set(fd, "region", "south"));
    ok(rec_model_score_features(m, fd, NULL, 0, "s3", &a));
    ck_assert_float_eq_tol(a, tu_score(m, "u1", "s3"), 1e-5f);
    /* and leaves the dataset free to change (it holds no reference to it) */
    ok(rec_dataset_set_feature(d, REC_SIDE_USER, "region", "u1", "west", 0));
    rec_feature_set_destroy(fd);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(bad_input_is_refused)
{
    rec_dataset *d = tu_generate(30, 40, 8);
    rec_model *m = fit_kv("twotower", d, "epochs=1 batch=64 user_features=id,region "
                                         "item_features=id,genres,year");
    rec_feature_set *fs, *us;
    ok(rec_feature_set_create(&fs, m, REC_SIDE_ITEM));
    ok(rec_feature_set_create(&us, m, REC_SIDE_USER));
    tu_err_has(rec_feature_set_set(fs, "colour", "red"), REC_E_NOTFOUND,
            "no item field 'colour' in the model's schema (fields: genres, year)");
    tu_err_has(rec_feature_set_set(fs, "title", "x"), REC_E_NOTFOUND, "'title'");
    tu_err_has(rec_feature_set_set_number(fs, "genres", 3), REC_E_INVALID,
            "field 'genres' is multi-hot, not numeric");
    tu_err_has(rec_feature_set_set(fs, "year", "nineteen"), REC_E_INVALID,
            "'nineteen' is not a finite decimal number");
    tu_err_has(rec_feature_set_set_number(fs, "year", INFINITY), REC_E_INVALID,
            "not a finite number");
    float v[2] = { 1, 2 };
    tu_err_has(rec_feature_set_set_vector(fs, "year", v, 2), REC_E_INVALID,
            "field 'year' is numeric, not dense");
    tu_err_has(rec_feature_set_set(us, "age", "30"), REC_E_NOTFOUND, "(fields: region)");
    rec_feature_set *side7;
    tu_err_has(rec_feature_set_create(&side7, m, 7), REC_E_INVALID, "side 7");

    /* wrong sides, taken ids, NULLs: refused, the catalogue unchanged */
    ok(rec_feature_set_set(fs, "genres", "x"));
    const char *first;
    ok(rec_dataset_item_id(d, 0, &first));
    const char *ids[] = { "fresh", first };
    const rec_feature_set *sets[] = { fs, fs }, *wrong[] = { us };
    tu_err_has(rec_model_add_items(m, ids, sets, 2), REC_E_INVALID,
            "ids[1] '");
    tu_err_has(rec_model_add_items(m, ids, sets, 2), REC_E_INVALID, "already in the catalogue");
    const char *twice[] = { "a", "a" };
    tu_err_has(rec_model_add_items(m, twice, sets, 2), REC_E_INVALID, "'a' is given twice");
    tu_err_has(rec_model_add_items(m, ids, wrong, 1), REC_E_INVALID,
            "is a feature set of users, not of items");
    const rec_feature_set *nul[] = { NULL };
    tu_err_has(rec_model_add_items(m, ids, nul, 1), REC_E_INVALID, "features[0] is NULL");
    size_t n;
    ok(rec_model_num_items(m, &n));
    ck_assert_uint_eq(n, 40);
    float s;
    tu_err_has(rec_model_score_features(m, fs, NULL, 0, first, &s), REC_E_INVALID,
            "user is a feature set of items, not of users");
    tu_err_has(rec_model_score_features(m, us, NULL, 0, "nope", &s), REC_E_NOTFOUND, "nope");

    /* a set against the dataset whose field has another type than the
     * model's is refused at use */
    rec_dataset *d2;
    ok(rec_dataset_create(&d2));
    ok(rec_dataset_add_field(d2, REC_SIDE_USER, "region", REC_FEATURE_NUMERIC, NULL));
    rec_feature_set *bad;
    ok(rec_feature_set_create_dataset(&bad, d2, REC_SIDE_USER));
    ok(rec_feature_set_set_number(bad, "region", 3));
    tu_err_has(rec_model_score_features(m, bad, NULL, 0, first, &s), REC_E_INVALID,
            "field 'region' is numeric in the feature set, categorical in the model");
    rec_feature_set_destroy(bad);
    rec_dataset_destroy(d2);

    /* unfitted and unsupported models */
    rec_model *u, *mf;
    ok(rec_model_create(&u, "twotower", NULL));
    rec_feature_set *x = (rec_feature_set *)1;
    tu_err_has(rec_feature_set_create(&x, u, REC_SIDE_ITEM), REC_E_STATE, "rec_feature_set_create");
    ck_assert_ptr_null(x);
    tu_err_has(rec_model_add_items(u, ids, sets, 1), REC_E_STATE, "rec_model_add_items");
    mf = fit_kv("mf", d, "epochs=1");
    tu_err_has(rec_feature_set_create(&x, mf, REC_SIDE_ITEM), REC_E_UNSUPPORTED,
            "mf takes no call-time features");
    tu_err_has(rec_model_add_items(mf, ids, sets, 1), REC_E_UNSUPPORTED, "mf cannot add items");
    tu_err_has(rec_model_recommend_features(mf, NULL, NULL, 0, 5, 0, ids, NULL, &n),
            REC_E_UNSUPPORTED, "mf takes no call-time features");
    rec_model_destroy(mf);
    rec_model_destroy(u);
    rec_feature_set_destroy(us);
    rec_feature_set_destroy(fs);
    rec_feature_set_destroy(NULL);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* add_items under failing allocations: REC_E_NOMEM, nothing leaked, the
 * model as it was; then it succeeds. */
START_TEST(add_items_fails_cleanly)
{
    rec_dataset *d = tu_generate(30, 40, 8);
    rec_model *m = fit_kv("twotower", d, "epochs=1 batch=64 user_features=id,genres_hist "
                                         "item_features=id,genres,year");
    const char *path = tu_tmp_path("features_nomem.lrm");
    ok(rec_model_save(m, path));
    rec_model_destroy(m);
    const char *const fields[] = { "genres=x|y", "year=2001" };
    ck_assert_int_gt(tu_add_items_fails_cleanly(path, 40, fields, 2), 3);
    rec_dataset_destroy(d);
}
END_TEST

/* numeric_norm=zscore (the default) standardises a raw numeric input over
 * the training items; none reads it raw; a field the data normalised is
 * left as it is. */
START_TEST(raw_numbers_are_standardised_by_default)
{
    rec_dataset *d = tu_generate(30, 40, 8);
    const char *kv[] = { "epochs=1 batch=64 item_features=year,length",
                         "epochs=1 batch=64 item_features=year,length numeric_norm=none" };
    for (int z = 0; z < 2; z++) {
        rec_model *m = fit_kv("twotower", d, kv[z]);
        const twotower *s = m->state; /* internal view: the tower's input column */
        const tt_feat *f = &s->it.f[0];
        ck_assert_int_eq(f->kind, TT_NUM);
        double sum = 0, sq = 0;
        int k;
        ok(rec_dataset_field_index(d, REC_SIDE_ITEM, "year", &k));
        for (int32_t i = 0; i < 40; i++) {
            double raw;
            ok(rec_dataset_feature_number(d, REC_SIDE_ITEM, k, i, &raw));
            ck_assert(isfinite(raw));
            if (z)
                ck_assert_float_eq(f->num[i], (float)raw);
            sum += f->num[i];
            sq += (double)f->num[i] * f->num[i];
        }
        if (!z) {
            ck_assert_double_eq_tol(sum / 40, 0, 1e-5);
            ck_assert_double_eq_tol(sq / 40, 1, 1e-4);
        }
        rec_model_destroy(m);
    }
    ok(rec_dataset_normalize(d, REC_SIDE_ITEM, "year", "minmax"));
    rec_model *m = fit_kv("twotower", d, kv[0]);
    const twotower *s = m->state;
    int k;
    ok(rec_dataset_field_index(d, REC_SIDE_ITEM, "year", &k));
    for (int32_t i = 0; i < 40; i++) {
        double v;
        ok(rec_dataset_feature_number(d, REC_SIDE_ITEM, k, i, &v));
        ck_assert_float_eq(s->it.f[0].num[i], (float)v);
    }
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* id_dropout=1 hides every id row in training, so the id table never moves
 * from its initial values; 0 trains it. */
START_TEST(id_dropout_hides_the_id_rows)
{
    rec_dataset *d = tu_generate(30, 40, 8);
    float moved[2];
    for (int z = 0; z < 2; z++) {
        char kv[200];
        snprintf(kv, sizeof kv, "epochs=2 batch=64 item_features=id,genres id_dropout=%d", z);
        rec_model *a = fit_kv("twotower", d, kv);
        snprintf(kv, sizeof kv, "epochs=1 batch=64 item_features=id,genres id_dropout=%d "
                 "lr=0", z);
        rec_model *b = fit_kv("twotower", d, kv); /* lr 0: the initial values */
        const twotower *sa = a->state, *sb = b->state;
        const rec_tensor *ta = sa->it.f[0].emb.weight, *tb = sb->it.f[0].emb.weight;
        float diff = 0;
        for (int64_t j = 0; j < ta->n; j++)
            diff = fmaxf(diff, fabsf(ta->v[j] - tb->v[j]));
        moved[z] = diff;
        rec_model_destroy(a);
        rec_model_destroy(b);
    }
    ck_assert_float_gt(moved[0], 1e-4f);
    ck_assert_float_eq(moved[1], 0.0f);
    rec_dataset_destroy(d);
}
END_TEST

Suite *rec_features_suite(void)
{
    Suite *s = suite_create("features");
    TCase *t = tcase_create("call-time");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, added_item_scores_as_cold_item_at_fit);
    tcase_add_test(t, added_items_survive_save_and_load);
    tcase_add_test(t, user_from_features_follows_them);
    tcase_add_test(t, bad_input_is_refused);
    tcase_add_test(t, add_items_fails_cleanly);
    tcase_add_test(t, raw_numbers_are_standardised_by_default);
    tcase_add_test(t, id_dropout_hides_the_id_rows);
    suite_add_tcase(s, t);
    return s;
}
