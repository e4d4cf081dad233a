/* Call-time features of tfidf and the graph kinds (rec_model_add_items,
 * rec_model_score_features, rec_model_recommend_features): a tfidf item
 * added with a training item's text gets that item's row (its scores and
 * similarities); a gcn, graphsage or gat item added from its features is
 * the node without edges that an item of the training catalogue with those
 * features and no interactions is, and a gcn or graphsage user described by
 * features is the user without edges (a gat user is their items: a history
 * alone); added items survive save and load; bad sets are refused with a message and
 * leave the model as it was, under failing allocations too. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void ok(rec_status st)
{
    ck_assert_msg(st == REC_OK, "%s", rec_last_error());
}

static void err_has(rec_status got, rec_status want, const char *needle)
{
    ck_assert_msg(got == want, "status %d, want %d (%s)", got, want, rec_last_error());
    ck_assert_msg(strstr(rec_last_error(), needle), "'%s' lacks '%s'", rec_last_error(),
                  needle);
}

static size_t num_items(const rec_model *m)
{
    size_t n;
    ok(rec_model_num_items(m, &n));
    return n;
}

/* Item i's genres (and, with text, its title and description) of the
 * generated data, on an item set of m. */
static rec_feature_set *copy_of_item(const rec_model *m, const rec_dataset *d, int32_t i,
                                     int text)
{
    rec_feature_set *fs;
    ok(rec_feature_set_create(&fs, m, REC_SIDE_ITEM));
    int k;
    const int32_t *codes;
    int32_t n;
    ok(rec_dataset_field_index(d, REC_SIDE_ITEM, "genres", &k));
    ok(rec_dataset_feature_codes(d, REC_SIDE_ITEM, k, i, &codes, &n));
    ck_assert_int_gt(n, 0);
    for (int32_t j = 0; j < n; j++) {
        const char *name;
        ok(rec_dataset_field_value_name(d, REC_SIDE_ITEM, k, codes[j], &name));
        ok(rec_feature_set_set(fs, "genres", name));
    }
    const char *fields[] = { "title", "description" };
    for (int f = 0; text && f < 2; f++) {
        const char *t;
        ok(rec_dataset_field_index(d, REC_SIDE_ITEM, fields[f], &k));
        ok(rec_dataset_feature_text(d, REC_SIDE_ITEM, k, i, &t));
        ck_assert(*t);
        ok(rec_feature_set_set(fs, fields[f], t));
    }
    return fs;
}

static void add_one(rec_model *m, const char *id, const rec_feature_set *fs)
{
    const char *ids[] = { id };
    const rec_feature_set *sets[] = { fs };
    ok(rec_model_add_items(m, ids, sets, 1));
}

/* Every user's scores of items a and b agree within tol (relative). */
static void same_scores(const rec_model *m, const rec_dataset *d, const char *a, const char *b,
                        float tol)
{
    int32_t nu;
    ok(rec_dataset_num_users(d, &nu));
    for (int32_t u = 0; u < nu; u++) {
        const char *uid;
        ok(rec_dataset_user_id(d, u, &uid));
        float sa = tu_score(m, uid, a), sb = tu_score(m, uid, b);
        ck_assert_msg(isfinite(sb) && fabsf(sa - sb) <= tol * (1 + fabsf(sa)),
                      "user %s: %s %g, %s %g", uid, a, (double)sa, b, (double)sb);
    }
}

/* b is among a's top k neighbours with similarity 1. */
static void twin_of(const rec_model *m, const char *a, const char *b)
{
    const char *sim[5];
    float ss[5];
    size_t n;
    ok(rec_model_similar(m, a, 5, sim, ss, &n));
    ck_assert_float_eq_tol(ss[0], 1.0f, 1e-5f);
    int found = 0;
    for (size_t k = 0; k < n; k++)
        found |= !strcmp(sim[k], b) && fabsf(ss[k] - 1.0f) <= 1e-5f;
    ck_assert_msg(found, "%s is not among %s's neighbours at 1", b, a);
}

/* The top n of a history through recommend_history and through
 * recommend_features with no user set: the same call, so the same list. */
static void features_as_history(const rec_model *m, const char *const *hist, size_t nh)
{
    const char *a[10], *b[10];
    float sa[10], sb[10];
    size_t na, nb;
    ok(rec_model_recommend_history(m, hist, NULL, nh, 10, 0, a, sa, &na));
    ok(rec_model_recommend_features(m, NULL, hist, nh, 10, 0, b, sb, &nb));
    ck_assert_uint_eq(na, nb);
    ck_assert_uint_gt(na, 0);
    for (size_t k = 0; k < na; k++) {
        ck_assert_str_eq(a[k], b[k]);
        ck_assert_float_eq(sa[k], sb[k]);
    }
}

/* ---- tfidf ------------------------------------------------------------------- */

static rec_model *fit_tfidf(const rec_dataset *d, const char *prior)
{
    const char *kv[] = { prior };
    return tu_fit("tfidf", d, kv, 1);
}

START_TEST(tfidf_added_copy_is_its_original)
{
    rec_dataset *d = tu_generate(60, 80, 15);
    rec_model *pure = fit_tfidf(d, "popularity_prior=0"), *m = fit_tfidf(d, "popularity_prior=0.25");
    const char *x;
    ok(rec_dataset_item_id(d, 7, &x));
    rec_feature_set *fs = copy_of_item(m, d, 7, 1);
    add_one(pure, "copy", fs);
    add_one(m, "copy", fs);
    ck_assert_uint_eq(num_items(m), 81);
    /* pure content: the same row, the same scores; with the prior, the
     * copy no one rated keeps its content score (a factor of 1) */
    same_scores(pure, d, x, "copy", 1e-6f);
    int32_t nu;
    ok(rec_dataset_num_users(d, &nu));
    for (int32_t u = 0; u < nu; u++) {
        const char *uid;
        ok(rec_dataset_user_id(d, u, &uid));
        ck_assert_float_eq_tol(tu_score(m, uid, "copy"), tu_score(pure, uid, x), 1e-6f);
        ck_assert(tu_score(m, uid, x) >= tu_score(m, uid, "copy"));
    }
    twin_of(m, x, "copy");
    twin_of(m, "copy", x);
    /* a history holding the copy is a history holding the original */
    const char *hx[] = { x }, *hc[] = { "copy" };
    for (int32_t i = 0; i < 80; i += 3) {
        const char *it;
        float a, b;
        ok(rec_dataset_item_id(d, i, &it));
        ok(rec_model_score_features(m, NULL, hx, 1, it, &a));
        ok(rec_model_score_features(m, NULL, hc, 1, it, &b));
        ck_assert_float_eq_tol(a, b, 1e-6f);
    }
    /* and it is recommended: next to the original, at its score */
    const char *top[81];
    float sc[81];
    size_t n;
    const char *h2[] = { "copy", "no such item" };
    ok(rec_model_recommend_features(pure, NULL, h2, 2, 81, REC_INCLUDE_SEEN, top, sc, &n));
    ck_assert_uint_eq(n, 81);
    ck_assert_float_eq_tol(sc[0], 1.0f, 1e-5f); /* the copy and its original */
    ck_assert_float_eq_tol(sc[1], 1.0f, 1e-5f);
    features_as_history(m, hc, 1);
    /* tfidf reads no user field: a user set has none, and scores as none */
    rec_feature_set *us;
    ok(rec_feature_set_create(&us, m, REC_SIDE_USER));
    err_has(rec_feature_set_set(us, "region", "north"), REC_E_NOTFOUND, "(fields: none)");
    float a, b;
    ok(rec_model_score_features(m, us, hc, 1, x, &a));
    ok(rec_model_score_features(m, NULL, hc, 1, x, &b));
    ck_assert_float_eq(a, b);
    rec_feature_set_destroy(us);
    rec_feature_set_destroy(fs);
    rec_model_destroy(m);
    rec_model_destroy(pure);
    rec_dataset_destroy(d);
}
END_TEST

/* Terms the fit did not keep are ignored, and the idf is the fitted one:
 * unknown words beside a training item's text leave its row unchanged. */
START_TEST(tfidf_unknown_terms_are_ignored)
{
    rec_dataset *d = tu_generate(60, 80, 15);
    rec_model *m = fit_tfidf(d, "popularity_prior=0");
    const char *x;
    ok(rec_dataset_item_id(d, 11, &x));
    rec_feature_set *fs = copy_of_item(m, d, 11, 1);
    ok(rec_feature_set_set(fs, "title", "zzyzx qwertyuiop"));
    ok(rec_feature_set_set(fs, "genres", "Not-A-Genre"));
    rec_feature_set *none;
    ok(rec_feature_set_create(&none, m, REC_SIDE_ITEM));
    ok(rec_feature_set_set(none, "title", "zzyzx"));
    const char *ids[] = { "noisy", "blank" };
    const rec_feature_set *sets[] = { fs, none };
    ok(rec_model_add_items(m, ids, sets, 2));
    same_scores(m, d, x, "noisy", 1e-6f);
    twin_of(m, x, "noisy");
    /* no known term: an empty row, scored 0, recommendable all the same */
    const char *uid;
    ok(rec_dataset_user_id(d, 0, &uid));
    ck_assert_float_eq(tu_score(m, uid, "blank"), 0.0f);
    rec_feature_set_destroy(none);
    rec_feature_set_destroy(fs);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(tfidf_added_items_survive_save_and_load)
{
    rec_dataset *d = tu_generate(60, 80, 15);
    rec_model *m = fit_tfidf(d, "popularity_prior=0.25");
    const char *x, *y;
    ok(rec_dataset_item_id(d, 7, &x));
    ok(rec_dataset_item_id(d, 20, &y));
    rec_feature_set *fx = copy_of_item(m, d, 7, 1), *fy = copy_of_item(m, d, 20, 1);
    const char *ids[] = { "copy7", "copy20" };
    const rec_feature_set *sets[] = { fx, fy };
    ok(rec_model_add_items(m, ids, sets, 2));
    const char *path = tu_tmp_path("cold_tfidf.lrm");
    ok(rec_model_save(m, path));
    rec_model *l;
    ok(rec_model_load(&l, path));
    ck_assert_uint_eq(num_items(l), 82);
    int32_t nu;
    ok(rec_dataset_num_users(d, &nu));
    for (int32_t u = 0; u < nu; u++) {
        const char *uid;
        ok(rec_dataset_user_id(d, u, &uid));
        ck_assert_float_eq(tu_score(l, uid, "copy7"), tu_score(m, uid, "copy7"));
        ck_assert_float_eq(tu_score(l, uid, "copy20"), tu_score(m, uid, "copy20"));
    }
    twin_of(l, y, "copy20");
    /* the loaded model keeps the fields it read: it takes more items */
    rec_feature_set *again = copy_of_item(l, d, 7, 1);
    add_one(l, "again", again);
    same_scores(l, d, "copy7", "again", 1e-6f);
    rec_feature_set_destroy(again);
    rec_feature_set_destroy(fx);
    rec_feature_set_destroy(fy);
    rec_model_destroy(l);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* A dataset-made item set whose field `name` has type t (not the model's). */
static rec_feature_set *mistyped(const char *name, rec_feature_type t)
{
    rec_dataset *d2;
    ok(rec_dataset_create(&d2));
    ok(rec_dataset_add_field(d2, REC_SIDE_ITEM, name, t, NULL));
    rec_feature_set *bad;
    ok(rec_feature_set_create_dataset(&bad, d2, REC_SIDE_ITEM));
    ok(rec_feature_set_set(bad, name, "x"));
    rec_dataset_destroy(d2);
    return bad;
}

/* The top 10 of user 0, as a string, to compare before and after. */
static void top_of(const rec_model *m, const rec_dataset *d, char *out, size_t cap)
{
    const char *uid, *top[10];
    float sc[10];
    size_t n;
    ok(rec_dataset_user_id(d, 0, &uid));
    ok(rec_model_recommend(m, uid, 10, 0, top, sc, &n));
    size_t at = 0;
    for (size_t k = 0; k < n && at < cap; k++)
        at += (size_t)snprintf(out + at, cap - at, "%s:%.7g ", top[k], (double)sc[k]);
}

START_TEST(tfidf_bad_sets_leave_the_model)
{
    rec_dataset *d = tu_generate(60, 80, 15);
    rec_model *m = fit_tfidf(d, "popularity_prior=0.25");
    char before[1024], after[1024];
    top_of(m, d, before, sizeof before);
    rec_feature_set *good = copy_of_item(m, d, 3, 1), *bad = mistyped("title", REC_FEATURE_CATEGORICAL);
    err_has(rec_feature_set_set(good, "colour", "red"), REC_E_NOTFOUND,
            "no item field 'colour' in the model's schema (fields: genres, title, description)");
    const char *ids[] = { "good", "bad" };
    const rec_feature_set *sets[] = { good, bad };
    err_has(rec_model_add_items(m, ids, sets, 2), REC_E_INVALID,
            "rec_model_add_items(tfidf): field 'title' is categorical in the feature set, "
            "text in the model");
    ck_assert_uint_eq(num_items(m), 80);
    float s;
    const char *uid, *first;
    ok(rec_dataset_user_id(d, 0, &uid));
    ok(rec_dataset_item_id(d, 0, &first));
    err_has(rec_model_score(m, uid, "good", &s), REC_E_NOTFOUND, "good");
    top_of(m, d, after, sizeof after);
    ck_assert_str_eq(before, after);
    const rec_feature_set *nul[] = { good, NULL };
    err_has(rec_model_add_items(m, ids, nul, 2), REC_E_INVALID, "features[1] is NULL");
    err_has(rec_model_add_items(m, NULL, sets, 1), REC_E_INVALID, "ids or features is NULL");
    rec_feature_set *us;
    ok(rec_feature_set_create(&us, m, REC_SIDE_USER));
    const rec_feature_set *wrong[] = { us };
    err_has(rec_model_add_items(m, ids, wrong, 1), REC_E_INVALID,
            "is a feature set of users, not of items");
    err_has(rec_model_score_features(m, good, NULL, 0, first, &s), REC_E_INVALID,
            "user is a feature set of items, not of users");
    ck_assert_uint_eq(num_items(m), 80);
    /* the good one alone goes in */
    ok(rec_model_add_items(m, ids, sets, 1));
    ck_assert_uint_eq(num_items(m), 81);
    rec_feature_set_destroy(us);
    rec_feature_set_destroy(bad);
    rec_feature_set_destroy(good);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* add_items under failing allocations (tu_add_items_fails_cleanly). */
static void fails_cleanly(const char *kind, const char *const *kv, int nkv, const char *file)
{
    rec_dataset *d = tu_generate(30, 40, 8);
    rec_model *m = tu_fit(kind, d, kv, nkv);
    int k;
    const char *g;
    ok(rec_dataset_field_index(d, REC_SIDE_ITEM, "genres", &k));
    ok(rec_dataset_field_value_name(d, REC_SIDE_ITEM, k, 0, &g));
    const char *path = tu_tmp_path(file);
    ok(rec_model_save(m, path));
    rec_model_destroy(m);
    char genres[64];
    snprintf(genres, sizeof genres, "genres=%s", g);
    /* a graph model reads no text */
    const char *const fields[] = { genres, "title=the title of a new item" };
    ck_assert_int_gt(tu_add_items_fails_cleanly(path, 40, fields, strcmp(kind, "tfidf") ? 1 : 2),
                     3);
    rec_dataset_destroy(d);
}

START_TEST(tfidf_add_items_fails_cleanly)
{
    const char *kv[] = { "popularity_prior=0.25" };
    fails_cleanly("tfidf", kv, 1, "cold_tfidf_nomem.lrm");
}
END_TEST

/* ---- gcn, graphsage and gat ---------------------------------------------------- */

/* The last is gat: its users read no fields. */
static const char *const gnn_kinds[][2] = {
    { "gcn", "layers=2" }, { "graphsage", "aggregator=mean" }, { "graphsage", "aggregator=pool" },
    { "gat", "heads=2" }
};
#define NKINDS 4
#define GAT 3

/* The generated data with item "cold" (item 0's genres, no interaction)
 * and user "lonely" (user 0's region, no interaction). */
static rec_dataset *data_with_isolated(void)
{
    rec_dataset *d = tu_generate(60, 80, 15);
    int k;
    const int32_t *codes;
    int32_t n, code;
    const char *name;
    ok(rec_dataset_field_index(d, REC_SIDE_ITEM, "genres", &k));
    ok(rec_dataset_feature_codes(d, REC_SIDE_ITEM, k, 0, &codes, &n));
    ck_assert_int_gt(n, 0);
    for (int32_t j = 0; j < n; j++) {
        ok(rec_dataset_field_value_name(d, REC_SIDE_ITEM, k, codes[j], &name));
        ok(rec_dataset_set_feature(d, REC_SIDE_ITEM, "genres", "cold", name, 1));
    }
    ok(rec_dataset_field_index(d, REC_SIDE_USER, "region", &k));
    ok(rec_dataset_feature_code(d, REC_SIDE_USER, k, 0, &code));
    ck_assert_int_ge(code, 0);
    ok(rec_dataset_field_value_name(d, REC_SIDE_USER, k, code, &name));
    ok(rec_dataset_set_feature(d, REC_SIDE_USER, "region", "lonely", name, 1));
    return d;
}

static rec_model *fit_gnn(const rec_dataset *d, int kind, const char *extra)
{
    const char *kv[] = { "epochs=2", "dim=8", "negatives=32", "batch=128", gnn_kinds[kind][1],
                         extra };
    return tu_fit(gnn_kinds[kind][0], d, kv, extra ? 6 : 5);
}

START_TEST(gnn_added_item_is_the_isolated_item)
{
    rec_dataset *d = data_with_isolated();
    int32_t cold;
    ok(rec_dataset_item_index(d, "cold", &cold));
    for (int k = 0; k < NKINDS; k++) {
        rec_model *m = fit_gnn(d, k, NULL);
        rec_feature_set *fs = copy_of_item(m, d, cold, 0);
        err_has(rec_feature_set_set(fs, "title", "x"), REC_E_NOTFOUND, "(fields: genres)");
        add_one(m, "new", fs);
        ck_assert_uint_eq(num_items(m), 82);
        same_scores(m, d, "cold", "new", 1e-5f);
        twin_of(m, "cold", "new");
        twin_of(m, "new", "cold");
        /* a history holding it folds in through its rows of every layer */
        const char *hc[] = { "cold" }, *hn[] = { "new" };
        for (int32_t i = 0; i < 80; i += 7) {
            const char *it;
            float a, b;
            ok(rec_dataset_item_id(d, i, &it));
            ok(rec_model_score_features(m, NULL, hc, 1, it, &a));
            ok(rec_model_score_features(m, NULL, hn, 1, it, &b));
            ck_assert_float_eq_tol(a, b, 1e-5f * (1 + fabsf(a)));
        }
        /* served by recommend (the pack of item vectors was rebuilt) */
        const char *uid, *top[82];
        float sc[82];
        size_t n;
        ok(rec_dataset_user_id(d, 5, &uid));
        ok(rec_model_recommend(m, uid, 82, REC_INCLUDE_SEEN, top, sc, &n));
        ck_assert_uint_eq(n, 82);
        int found = 0;
        for (size_t j = 0; j < n; j++)
            if (!strcmp(top[j], "new")) {
                ck_assert_float_eq_tol(sc[j], tu_score(m, uid, "cold"), 1e-5f * (1 + fabsf(sc[j])));
                found = 1;
            }
        ck_assert(found);
        rec_feature_set_destroy(fs);
        rec_model_destroy(m);
    }
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(gnn_user_from_features_is_the_isolated_user)
{
    rec_dataset *d = data_with_isolated();
    int kr;
    int32_t code;
    const char *region;
    ok(rec_dataset_field_index(d, REC_SIDE_USER, "region", &kr));
    ok(rec_dataset_feature_code(d, REC_SIDE_USER, kr, 0, &code));
    ok(rec_dataset_field_value_name(d, REC_SIDE_USER, kr, code, &region));
    for (int k = 0; k < 3; k++) {
        rec_model *m = fit_gnn(d, k, NULL);
        rec_feature_set *us;
        ok(rec_feature_set_create(&us, m, REC_SIDE_USER));
        err_has(rec_feature_set_set(us, "age", "30"), REC_E_NOTFOUND, "(fields: region)");
        ok(rec_feature_set_set(us, "region", region));
        int differs = 0;
        for (int32_t i = 0; i < 80; i += 3) {
            const char *it;
            float a, none;
            ok(rec_dataset_item_id(d, i, &it));
            ok(rec_model_score_features(m, us, NULL, 0, it, &a));
            ck_assert_float_eq_tol(a, tu_score(m, "lonely", it), 1e-5f * (1 + fabsf(a)));
            ok(rec_model_score_features(m, NULL, NULL, 0, it, &none));
            differs |= a != none;
        }
        ck_assert(differs); /* the region is read */
        /* with no set, a history is the fold-in of recommend_history */
        const char *hist[3];
        for (int j = 0; j < 3; j++)
            ok(rec_dataset_item_id(d, 10 + 5 * j, &hist[j]));
        features_as_history(m, hist, 3);
        rec_feature_set_destroy(us);
        rec_model_destroy(m);
    }
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(gnn_added_items_survive_save_and_load)
{
    rec_dataset *d = data_with_isolated();
    int32_t cold;
    ok(rec_dataset_item_index(d, "cold", &cold));
    const char *index[] = { "index=exact", "index=hnsw", "index=hnsw" };
    const int kinds[] = { 0, 1, GAT };
    for (int r = 0; r < 3; r++) {
        int k = kinds[r];
        rec_model *m = fit_gnn(d, k, index[r]);
        rec_feature_set *fs = copy_of_item(m, d, cold, 0);
        add_one(m, "new", fs);
        const char *path = tu_tmp_path("cold_gnn.lrm");
        ok(rec_model_save(m, path));
        rec_model *l;
        ok(rec_model_load(&l, path));
        ck_assert_uint_eq(num_items(l), 82);
        same_scores(l, d, "cold", "new", 1e-5f);
        int32_t nu;
        ok(rec_dataset_num_users(d, &nu));
        for (int32_t u = 0; u < nu; u += 4) {
            const char *uid;
            ok(rec_dataset_user_id(d, u, &uid));
            ck_assert_float_eq(tu_score(l, uid, "new"), tu_score(m, uid, "new"));
        }
        /* the index (hnsw in the second) ranks it beside its twin, before
         * the save and after */
        const char *top[82];
        float sc[82];
        size_t n;
        rec_model *both[] = { m, l };
        for (int j = 0; j < 2; j++) {
            const char *hist[] = { "cold" };
            ok(rec_model_recommend_history(both[j], hist, NULL, 1, 82, REC_INCLUDE_SEEN, top, sc,
                                           &n));
            ck_assert_uint_eq(n, 82);
            int pc = -1, pn = -1;
            for (size_t q = 0; q < n; q++) {
                pc = strcmp(top[q], "cold") ? pc : (int)q;
                pn = strcmp(top[q], "new") ? pn : (int)q;
            }
            ck_assert_msg(pc >= 0 && pn >= 0 && abs(pc - pn) == 1, "model %d: cold at %d, new "
                          "at %d", j, pc, pn);
            ck_assert_float_eq_tol(sc[pc], sc[pn], 1e-5f * (1 + fabsf(sc[pc])));
        }
        /* the loaded model takes more */
        rec_feature_set *again = copy_of_item(l, d, cold, 0);
        add_one(l, "again", again);
        same_scores(l, d, "new", "again", 1e-5f);
        rec_feature_set_destroy(again);
        rec_feature_set_destroy(fs);
        rec_model_destroy(l);
        rec_model_destroy(m);
    }
    rec_dataset_destroy(d);
}
END_TEST

/* A set of the wrong type among good ones: add_items refuses them all
 * with a message naming the kind, and m is left as it was. */
static void mistyped_is_refused(rec_model *m, const rec_dataset *d, const char *kind)
{
    char before[1024], after[1024], want[160];
    top_of(m, d, before, sizeof before);
    rec_feature_set *good = copy_of_item(m, d, 4, 0);
    rec_feature_set *bad = mistyped("genres", REC_FEATURE_CATEGORICAL);
    const char *ids[] = { "good", "bad" };
    const rec_feature_set *sets[] = { good, bad };
    snprintf(want, sizeof want, "rec_model_add_items(%s): field 'genres' is categorical in the "
             "feature set, multi-hot in the model", kind);
    err_has(rec_model_add_items(m, ids, sets, 2), REC_E_INVALID, want);
    ck_assert_uint_eq(num_items(m), 81);
    top_of(m, d, after, sizeof after);
    ck_assert_str_eq(before, after);
    float s;
    err_has(rec_model_score_features(m, NULL, NULL, 0, "good", &s), REC_E_NOTFOUND, "good");
    rec_feature_set_destroy(bad);
    rec_feature_set_destroy(good);
}

/* features=false: an item set has no fields and nothing embeds an item. */
static void no_item_fields(const rec_dataset *d, int kind)
{
    rec_model *m = fit_gnn(d, kind, "features=false");
    rec_feature_set *none;
    ok(rec_feature_set_create(&none, m, REC_SIDE_ITEM));
    err_has(rec_feature_set_set(none, "genres", "x"), REC_E_NOTFOUND, "(fields: none)");
    const char *ids[] = { "new" };
    const rec_feature_set *ns[] = { none };
    char want[128];
    snprintf(want, sizeof want, "rec_model_add_items(%s): this %s model reads no item features",
             gnn_kinds[kind][0], gnn_kinds[kind][0]);
    err_has(rec_model_add_items(m, ids, ns, 1), REC_E_UNSUPPORTED, want);
    const char *hist[] = { "cold" };
    features_as_history(m, hist, 1);
    rec_feature_set_destroy(none);
    rec_model_destroy(m);
}

START_TEST(gnn_bad_sets_and_kinds_are_refused)
{
    rec_dataset *d = data_with_isolated();
    rec_model *m = fit_gnn(d, 0, NULL);
    mistyped_is_refused(m, d, "gcn");
    rec_model_destroy(m);
    no_item_fields(d, 1);
    no_item_fields(d, GAT);

    /* gat: a user is their items (a user set has no fields); an item set
     * has the item fields, checked as gcn's */
    m = fit_gnn(d, GAT, NULL);
    const char *h3[3];
    for (int j = 0; j < 3; j++)
        ok(rec_dataset_item_id(d, 2 + 9 * j, &h3[j]));
    features_as_history(m, h3, 3);
    rec_feature_set *us, *is;
    ok(rec_feature_set_create(&us, m, REC_SIDE_USER));
    err_has(rec_feature_set_set(us, "region", "x"), REC_E_NOTFOUND, "(fields: none)");
    float a;
    ok(rec_model_score_features(m, us, h3, 3, h3[0], &a));
    ck_assert(isfinite(a));
    ok(rec_feature_set_create(&is, m, REC_SIDE_ITEM));
    err_has(rec_feature_set_set(is, "title", "x"), REC_E_NOTFOUND, "(fields: genres)");
    mistyped_is_refused(m, d, "gat");
    rec_feature_set_destroy(is);
    rec_feature_set_destroy(us);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* tu_lrm_rewrite's keep: what was written before gat's item features. */
static int before_item_features(const char *name, const void **data, void *ctx)
{
    (void)data;
    *(int *)ctx += !strncmp(name, "gat.features", 12) || !strncmp(name, "gat.schema.", 11);
    return strncmp(name, "gat.features", 12) && strncmp(name, "gat.schema.", 11);
}

/* A gat file from before item features (no "gat.features*", no
 * "gat.schema.*") loads with the same scores, serves histories and users
 * as before, and cannot add items. */
START_TEST(gat_file_before_item_features)
{
    rec_dataset *d = data_with_isolated();
    rec_model *m = fit_gnn(d, GAT, NULL);
    const char *path = tu_tmp_path("cold_gat.lrm"), *old = tu_tmp_path("cold_gat_old.lrm");
    ok(rec_model_save(m, path));
    int dropped = 0;
    tu_lrm_rewrite(path, old, before_item_features, &dropped);
    ck_assert_int_eq(dropped, 3); /* the table, its size, the item fields */
    rec_model *o;
    ok(rec_model_load(&o, old));
    int32_t nu;
    ok(rec_dataset_num_users(d, &nu));
    for (int32_t u = 0; u < nu; u += 3) {
        const char *uid, *it;
        ok(rec_dataset_user_id(d, u, &uid));
        ok(rec_dataset_item_id(d, (u * 7) % 80, &it));
        ck_assert_float_eq(tu_score(o, uid, it), tu_score(m, uid, it));
    }
    const char *h3[3];
    for (int j = 0; j < 3; j++)
        ok(rec_dataset_item_id(d, 2 + 9 * j, &h3[j]));
    features_as_history(o, h3, 3);
    float a, b;
    ok(rec_model_score_features(o, NULL, h3, 3, "cold", &a));
    ok(rec_model_score_features(m, NULL, h3, 3, "cold", &b));
    ck_assert_float_eq(a, b);
    rec_feature_set *is = (rec_feature_set *)1, *fs = copy_of_item(m, d, 4, 0);
    err_has(rec_feature_set_create(&is, o, REC_SIDE_ITEM), REC_E_UNSUPPORTED,
            "this gat model was saved without its field schema");
    ck_assert_ptr_null(is);
    const char *ids[] = { "new" };
    const rec_feature_set *sets[] = { fs };
    err_has(rec_model_add_items(o, ids, sets, 1), REC_E_UNSUPPORTED,
            "rec_model_add_items(gat): this gat model was saved without its field schema");
    ck_assert_uint_eq(num_items(o), 81);
    rec_feature_set_destroy(fs);
    rec_model_destroy(o);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(gnn_add_items_fails_cleanly)
{
    const char *kv[] = { "epochs=1", "dim=8", "negatives=16", "batch=64", "index=hnsw" };
    fails_cleanly("gcn", kv, 5, "cold_gcn_nomem.lrm");
    fails_cleanly("graphsage", kv, 4, "cold_sage_nomem.lrm");
    fails_cleanly("gat", kv, 5, "cold_gat_nomem.lrm");
}
END_TEST

Suite *rec_cold_features_suite(void)
{
    Suite *s = suite_create("cold_features");
    TCase *t = tcase_create("tfidf");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, tfidf_added_copy_is_its_original);
    tcase_add_test(t, tfidf_unknown_terms_are_ignored);
    tcase_add_test(t, tfidf_added_items_survive_save_and_load);
    tcase_add_test(t, tfidf_bad_sets_leave_the_model);
    tcase_add_test(t, tfidf_add_items_fails_cleanly);
    suite_add_tcase(s, t);
    t = tcase_create("graph");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, gnn_added_item_is_the_isolated_item);
    tcase_add_test(t, gnn_user_from_features_is_the_isolated_user);
    tcase_add_test(t, gnn_added_items_survive_save_and_load);
    tcase_add_test(t, gnn_bad_sets_and_kinds_are_refused);
    tcase_add_test(t, gnn_add_items_fails_cleanly);
    tcase_add_test(t, gat_file_before_item_features);
    suite_add_tcase(s, t);
    return s;
}
