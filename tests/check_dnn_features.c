/* The dnn kind's history field and call-time users and items: the history
 * bag's values (its own item left out) and gradients, an anonymous user
 * scored as the known user with the same features and items, fold-ins and
 * added items through save/load, an added item scored as the same item
 * present at fit, bad input refused with the model unchanged, and a
 * history fold-in that beats popularity for users the fit never saw. */
#include "testutil.h"
#include "models/dnn-impl.h"

#include <librec/librec.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void ok(rec_status st)
{
    ck_assert_msg(st == REC_OK, "%s", rec_last_error());
}

/* kv: settings separated by spaces. */
static rec_model *fit_kv(const rec_dataset *d, const char *kv)
{
    const char *list[16];
    char buf[512];
    int n = 0;
    snprintf(buf, sizeof buf, "%s", kv);
    for (char *t = strtok(buf, " "); t && n < 16; t = strtok(NULL, " "))
        list[n++] = t;
    return tu_fit("dnn", d, list, n);
}

/* Every item's score for history h[nh] through recommend_history (k = all,
 * seen included), by item index of d. */
static void fold_in(const rec_model *m, const rec_dataset *d, const char *const *h, size_t nh,
                    float *out)
{
    size_t ni, n;
    ok(rec_model_num_items(m, &ni));
    const char **it = malloc(ni * sizeof *it);
    float *sc = malloc(ni * sizeof *sc);
    ok(rec_model_recommend_history(m, h, NULL, nh, ni, REC_INCLUDE_SEEN, it, sc, &n));
    ck_assert_uint_eq(n, ni);
    for (size_t k = 0; k < n; k++) {
        int32_t i;
        if (rec_dataset_item_index(d, it[k], &i) == REC_OK)
            out[i] = sc[k];
    }
    free(it);
    free(sc);
}

/* User u's training items of d as ids; *n the count (distinct). */
static const char **items_of(const rec_dataset *d, int32_t u, size_t *n)
{
    int64_t nr;
    ok(rec_dataset_num_interactions(d, &nr));
    const char **h = malloc((size_t)nr * sizeof *h);
    *n = 0;
    for (int64_t r = 0; r < nr; r++) {
        int32_t ru, ri;
        ok(rec_dataset_row(d, r, &ru, &ri, NULL, NULL));
        if (ru != u)
            continue;
        const char *id;
        ok(rec_dataset_item_id(d, ri, &id));
        int dup = 0;
        for (size_t k = 0; k < *n; k++)
            dup |= !strcmp(h[k], id);
        if (!dup)
            h[(*n)++] = id;
    }
    return h;
}

START_TEST(history_bag_leaves_its_item_out)
{
    rec_dataset *d = tu_generate(20, 12, 5);
    rec_model *m = fit_kv(d, "epochs=1 dim=3 hidden=5,4 history=mean");
    const rec_dnn *s = m->state;
    ck_assert_int_eq(s->history, REC_DNN_HIST_MEAN);
    ck_assert_int_eq(s->hrows, 12);
    const float *t = s->hbag.emb.weight->v;
    rec_graph *g;
    ok(rec_graph_create(&g));
    rec_graph_set_grad(g, 0);
    /* bags: {0,1,2} but 1; {0,1,2}; {3, 12 (no row), 5}; {}; {4} but 4 */
    const int32_t h0[] = { 0, 1, 2 }, h2[] = { 3, 12, 5 }, h4[] = { 4 };
    const int32_t *hs[] = { h0, h0, h2, NULL, h4 };
    const int64_t hl[] = { 3, 3, 3, 0, 1 };
    const int32_t skip[] = { 1, -1, -1, -1, 4 };
    rec_tensor *v = rec_dnn_history(g, s, hs, hl, skip, 5);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(v->shape[0], 5);
    for (int j = 0; j < 3; j++) {
        ck_assert_float_near(v->v[0 * 3 + j], (t[0 * 3 + j] + t[2 * 3 + j]) / 2, 1e-6);
        ck_assert_float_near(v->v[1 * 3 + j], (t[j] + t[3 + j] + t[6 + j]) / 3, 1e-6);
        ck_assert_float_near(v->v[2 * 3 + j], (t[9 + j] + t[15 + j]) / 2, 1e-6);
        ck_assert_float_eq(v->v[3 * 3 + j], 0);
        ck_assert_float_eq(v->v[4 * 3 + j], 0);
    }
    rec_graph_destroy(g);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

typedef struct gctx {
    const rec_dnn *s;
    const rec_dnn_user *anon;
} gctx;

/* Five pairs, users 0, 1, -1 (anon), 2, -1, each with its own history. */
static rec_tensor *build_net(rec_graph *g, void *p)
{
    gctx *c = p;
    rec_tensor *u = rec_tensor_i32(g, 5), *i = rec_tensor_i32(g, 5);
    const int32_t us[5] = { 0, 1, -1, 2, -1 }, is[5] = { 0, 1, 2, 3, 3 };
    for (int k = 0; k < 5; k++) {
        u->iv[k] = us[k];
        i->iv[k] = is[k];
    }
    static const int32_t h0[] = { 1, 2 }, h1[] = { 0, 3, 4 }, h3[] = { 3 };
    const int32_t *hs[] = { h0, h1, h0, h3, h1 };
    const int64_t hl[] = { 2, 3, 2, 1, 0 };
    const int32_t skip[] = { 0, 3, -1, 3, -1 };
    rec_dnn_in in = { u, i, NULL, rec_dnn_history(g, c->s, hs, hl, skip, 5), c->anon };
    return tu_wsum(g, rec_dnn_forward(g, c->s, &in));
}

START_TEST(gradients_with_history_and_anonymous_users)
{
    /* id, categorical and numeric users, multi-hot items, the history,
     * crosses and FM; two anonymous users given region and age */
    rec_dataset *d = tu_generate(6, 8, 4);
    rec_model *m = fit_kv(d, "epochs=2 dim=3 hidden=5,4 wide=true fm=true init_std=0.5 "
                             "history=mean user_features=id,region,age "
                             "item_features=id,genres");
    gctx c = { m->state, NULL };
    rec_feature_set *fs;
    ok(rec_feature_set_create(&fs, m, REC_SIDE_USER));
    ok(rec_feature_set_set(fs, "region", "region2"));
    ok(rec_feature_set_set_number(fs, "age", 41));
    rec_dnn_user an;
    ok(rec_dnn_user_make(c.s, fs, &an, "test"));
    c.anon = &an;
    for (size_t k = 0; k < rec_pstore_count(c.s->ps); k++)
        if (strstr(rec_pstore_at(c.s->ps, k)->name, "lin") ||
            strstr(rec_pstore_at(c.s->ps, k)->name, "cross"))
            tu_fill(rec_pstore_at(c.s->ps, k), 70u + (unsigned)k, -0.5f, 0.5f);
    tu_gradcheck(c.s->ps, build_net, &c, 1e-3, 2e-3, 2e-2);
    rec_dnn_user_free(c.s, &an);
    rec_feature_set_destroy(fs);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* An anonymous user with a known user's features and items is that user
 * when the model has no id row for users; with one the scores stay close.
 * An empty fold-in is the feature-less anonymous score. */
START_TEST(anonymous_user_is_the_known_one)
{
    rec_dataset *d = tu_generate(60, 80, 15);
    int kr, ka;
    ok(rec_dataset_field_index(d, REC_SIDE_USER, "region", &kr));
    ok(rec_dataset_field_index(d, REC_SIDE_USER, "age", &ka));
    rec_model *m = fit_kv(d, "epochs=4 seed=5 history=mean wide=true "
                             "user_features=region,age item_features=id,genres");
    rec_model *mi = fit_kv(d, "epochs=4 seed=5 history=mean user_features=id,region,age "
                              "item_features=id,genres");
    float known[80], anon[80], empty[80], none[80];
    for (int32_t u = 0; u < 60; u += 7) {
        const char *uid, *region;
        int32_t code;
        double age;
        ok(rec_dataset_user_id(d, u, &uid));
        ok(rec_dataset_feature_code(d, REC_SIDE_USER, kr, u, &code));
        ok(rec_dataset_field_value_name(d, REC_SIDE_USER, kr, code, &region));
        ok(rec_dataset_feature_number(d, REC_SIDE_USER, ka, u, &age));
        rec_feature_set *fs;
        ok(rec_feature_set_create(&fs, m, REC_SIDE_USER));
        ok(rec_feature_set_set(fs, "region", region));
        ok(rec_feature_set_set_number(fs, "age", age));
        size_t nh;
        const char **h = items_of(d, u, &nh);
        for (int32_t i = 0; i < 80; i++) {
            const char *iid;
            ok(rec_dataset_item_id(d, i, &iid));
            ok(rec_model_score(m, uid, iid, &known[i]));
            ok(rec_model_score_features(m, fs, h, nh, iid, &anon[i]));
            ck_assert_msg(fabsf(known[i] - anon[i]) <= 1e-5f, "user %s item %s: %g vs %g",
                          uid, iid, (double)known[i], (double)anon[i]);
        }
        /* with a user id row: the fold-in (no id, no features) follows the
         * known user's scores, not the same ones */
        fold_in(mi, d, h, nh, anon);
        double sk = 0, sa = 0, skk = 0, saa = 0, ska = 0, diff = 0;
        for (int32_t i = 0; i < 80; i++) {
            const char *iid;
            ok(rec_dataset_item_id(d, i, &iid));
            ok(rec_model_score(mi, uid, iid, &known[i]));
            sk += known[i];
            sa += anon[i];
            skk += (double)known[i] * known[i];
            saa += (double)anon[i] * anon[i];
            ska += (double)known[i] * anon[i];
            diff += fabs((double)known[i] - anon[i]);
        }
        double cov = ska / 80 - sk * sa / 6400, r = cov / sqrt((skk / 80 - sk * sk / 6400) *
                                                              (saa / 80 - sa * sa / 6400));
        ck_assert_msg(r > 0.9 && diff > 0, "user %s: correlation %.3f", uid, r);
        free(h);
        rec_feature_set_destroy(fs);
    }
    /* an empty history: the anonymous score of no features, which a
     * history of unknown ids also gets */
    const char *unknown[] = { "nope", "nada" };
    fold_in(mi, d, NULL, 0, empty);
    fold_in(mi, d, unknown, 2, none);
    for (int32_t i = 0; i < 80; i++) {
        const char *iid;
        float s;
        ok(rec_dataset_item_id(d, i, &iid));
        ok(rec_model_score_features(mi, NULL, NULL, 0, iid, &s));
        ck_assert_float_eq(s, empty[i]);
        ck_assert_float_eq(none[i], empty[i]);
    }
    rec_model_destroy(m);
    rec_model_destroy(mi);

    /* history = none: every fold-in is that anonymous score */
    m = fit_kv(d, "epochs=2");
    const char *some[] = { "i3", "i7", "i9" };
    fold_in(m, d, NULL, 0, empty);
    fold_in(m, d, some, 3, anon);
    for (int32_t i = 0; i < 80; i++)
        ck_assert_float_eq(anon[i], empty[i]);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* An item added from its features scores as the item "cold" (the same
 * features at fit, no interactions) for every user: no item id in the
 * network, so nothing else tells them apart; crosses read its codes. */
START_TEST(added_item_scores_as_cold_item_at_fit)
{
    const char *g0, *g1;
    rec_dataset *d = tu_data_with_cold(&g0, &g1);
    static const char *kvs[] = {
        "epochs=3 seed=7 history=mean user_features=id,region,age "
        "item_features=genres,year,length,emb",
        "epochs=3 seed=7 wide=true fm=true user_features=id,region "
        "item_features=genres,year,length,emb",
    };
    for (int v = 0; v < 2; v++) {
        rec_model *m = fit_kv(d, kvs[v]);
        int32_t cold, nu;
        ok(rec_dataset_item_index(d, "cold", &cold));
        ok(rec_dataset_num_users(d, &nu));
        rec_feature_set *fs = tu_cold_set(m, g0, g1, cold);
        const char *ids[] = { "new" };
        const rec_feature_set *sets[] = { fs };
        ok(rec_model_add_items(m, ids, sets, 1));
        size_t ni;
        ok(rec_model_num_items(m, &ni));
        ck_assert_uint_eq(ni, 82);
        for (int32_t u = 0; u < nu; u++) {
            const char *uid;
            float a, b;
            ok(rec_dataset_user_id(d, u, &uid));
            ok(rec_model_score(m, uid, "cold", &a));
            ok(rec_model_score(m, uid, "new", &b));
            ck_assert_msg(a == b, "%s: user %s: cold %g, new %g", kvs[v], uid, (double)a,
                          (double)b);
        }
        /* the history table has no row for it: a history of it alone is empty */
        float e[82], h[82];
        const char *hn[] = { "new" };
        fold_in(m, d, NULL, 0, e);
        fold_in(m, d, hn, 1, h);
        for (int32_t i = 0; i < 81; i++)
            ck_assert_float_eq(e[i], h[i]);
        rec_feature_set_destroy(fs);
        rec_model_destroy(m);
    }
    rec_dataset_destroy(d);
}
END_TEST

/* Items added by genre: each user's favourite genre's item ranks first of
 * the six for most users (chance: a sixth) and is in the top 10 of the
 * whole catalogue for most users. */
START_TEST(added_items_follow_taste)
{
    rec_params *o;
    rec_dataset *d;
    ok(rec_params_create(&o));
    rec_params_set_int(o, "users", 200);
    rec_params_set_int(o, "items", 150);
    rec_params_set_int(o, "interactions-per-user", 30);
    rec_params_set_int(o, "genres", 6);
    ok(rec_dataset_generate(&d, o));
    rec_params_destroy(o);
    rec_model *m = fit_kv(d, "epochs=6 lr=0.02 batch=128 item_features=id,genres");
    int kg;
    ok(rec_dataset_field_index(d, REC_SIDE_ITEM, "genres", &kg));
    const char *ids[6], *names[6];
    char idb[6][16];
    rec_feature_set *fs[6];
    for (int k = 0; k < 6; k++) {
        ok(rec_dataset_field_value_name(d, REC_SIDE_ITEM, kg, k, &names[k]));
        ok(rec_feature_set_create(&fs[k], m, REC_SIDE_ITEM));
        ok(rec_feature_set_set(fs[k], "genres", names[k]));
        snprintf(idb[k], sizeof idb[k], "g%d", k);
        ids[k] = idb[k];
    }
    ok(rec_model_add_items(m, ids, (const rec_feature_set *const *)fs, 6));
    int first = 0, top10 = 0, users = 200;
    for (int32_t u = 0; u < users; u++) {
        /* the user's most frequent genre over its training items */
        int count[6] = { 0 }, fav = 0;
        size_t nh;
        const char **h = items_of(d, u, &nh);
        for (size_t j = 0; j < nh; j++) {
            int32_t i, n;
            const int32_t *c;
            ok(rec_dataset_item_index(d, h[j], &i));
            ok(rec_dataset_feature_codes(d, REC_SIDE_ITEM, kg, i, &c, &n));
            for (int32_t q = 0; q < n; q++)
                count[c[q]]++;
        }
        for (int k = 1; k < 6; k++)
            fav = count[k] > count[fav] ? k : fav;
        free(h);
        const char *uid;
        ok(rec_dataset_user_id(d, u, &uid));
        float best = -1, sf = 0;
        for (int k = 0; k < 6; k++) {
            float s;
            ok(rec_model_score(m, uid, ids[k], &s));
            if (k == fav)
                sf = s;
            best = s > best ? s : best;
        }
        first += sf == best;
        const char *top[10];
        size_t n;
        ok(rec_model_recommend(m, uid, 10, 0, top, NULL, &n));
        for (size_t j = 0; j < n; j++)
            top10 += !strcmp(top[j], ids[fav]);
    }
    ck_assert_msg(first > users / 2 && top10 > users / 2, "favourite first %d, in top 10 "
                  "%d of %d users", first, top10, users);
    for (int k = 0; k < 6; k++)
        rec_feature_set_destroy(fs[k]);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* Fold-ins, anonymous users in a context and added items score the same
 * after a round trip, and items added after it grow the loaded model as
 * they grow the original. */
START_TEST(save_load_keeps_fold_ins_and_added_items)
{
    const char *g0, *g1;
    rec_dataset *d = tu_data_with_cold(&g0, &g1);
    ok(rec_dataset_add_context(d, "device", NULL));
    int64_t nr;
    ok(rec_dataset_num_interactions(d, &nr));
    for (int64_t r = 0; r < nr; r++)
        ok(rec_dataset_set_context(d, r, "device", r % 3 ? "phone" : "tv"));
    rec_model *m = fit_kv(d, "epochs=2 history=mean wide=true "
                             "user_features=id,region,age,device "
                             "item_features=id,genres,year,length,emb"), *l;
    int32_t cold;
    ok(rec_dataset_item_index(d, "cold", &cold));
    rec_feature_set *fs = tu_cold_set(m, g0, g1, cold);
    const char *ids[] = { "n1" };
    const rec_feature_set *sets[] = { fs };
    ok(rec_model_add_items(m, ids, sets, 1));
    const char *path = tu_tmp_path("dnn_features.lrm");
    ok(rec_model_save(m, path));
    ok(rec_model_load(&l, path));
    const char *ids2[] = { "n2" };
    ok(rec_model_add_items(m, ids2, sets, 1));
    rec_feature_set *fl = tu_cold_set(l, g0, g1, cold);
    const rec_feature_set *sets2[] = { fl };
    ok(rec_model_add_items(l, ids2, sets2, 1));
    rec_feature_set_destroy(fl);

    rec_feature_set *um, *ul;
    ok(rec_feature_set_create(&um, m, REC_SIDE_USER));
    ok(rec_feature_set_create(&ul, l, REC_SIDE_USER));
    ck_assert_int_eq(rec_feature_set_create(&fl, l, REC_SIDE_ITEM), REC_OK);
    rec_feature_set_destroy(fl);
    const char *hist[] = { "i3", "n1", "i10", "i11" };
    for (int v = 0; v < 2; v++) {
        rec_feature_set *a = v ? um : NULL, *b = v ? ul : NULL;
        if (v) {
            ok(rec_feature_set_set(um, "region", "region1"));
            ok(rec_feature_set_set(ul, "region", "region1"));
            ok(rec_feature_set_set(um, "device", "tv"));
            ok(rec_feature_set_set(ul, "device", "tv"));
            ok(rec_feature_set_set_number(um, "age", 30));
            ok(rec_feature_set_set_number(ul, "age", 30));
        }
        const char *ia[83], *ib[83];
        float sa[83], sb[83];
        size_t na, nb;
        ok(rec_model_recommend_features(m, a, hist, 4, 83, 0, ia, sa, &na));
        ok(rec_model_recommend_features(l, b, hist, 4, 83, 0, ib, sb, &nb));
        ck_assert_uint_eq(na, 79);
        ck_assert_uint_eq(na, nb);
        for (size_t k = 0; k < na; k++) {
            ck_assert_str_eq(ia[k], ib[k]);
            ck_assert(sa[k] == sb[k]);
        }
        ok(rec_model_recommend_history(m, hist, NULL, 4, 83, 0, ia, sa, &na));
        ok(rec_model_recommend_history(l, hist, NULL, 4, 83, 0, ib, sb, &nb));
        ck_assert_uint_eq(na, nb);
        for (size_t k = 0; k < na; k++) {
            ck_assert_str_eq(ia[k], ib[k]);
            ck_assert(sa[k] == sb[k]);
        }
    }
    float a, b;
    ok(rec_model_score(m, "u2", "n2", &a));
    ok(rec_model_score(l, "u2", "n2", &b));
    ck_assert(a == b);
    rec_feature_set_destroy(um);
    rec_feature_set_destroy(ul);
    rec_feature_set_destroy(fs);
    rec_model_destroy(m);
    rec_model_destroy(l);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(bad_input_is_refused)
{
    rec_dataset *d = tu_generate(30, 40, 8);
    rec_model *m = fit_kv(d, "epochs=1 history=mean user_features=id,region "
                             "item_features=id,genres,year");
    rec_feature_set *is, *us;
    ok(rec_feature_set_create(&is, m, REC_SIDE_ITEM));
    ok(rec_feature_set_create(&us, m, REC_SIDE_USER));
    tu_err_has(rec_feature_set_set(us, "age", "30"), REC_E_NOTFOUND, "(fields: region)");
    tu_err_has(rec_feature_set_set(is, "colour", "red"), REC_E_NOTFOUND,
               "no item field 'colour' in the model's schema (fields: genres, year)");
    tu_err_has(rec_feature_set_set_number(us, "region", 3), REC_E_INVALID,
               "field 'region' is categorical, not numeric");
    tu_err_has(rec_feature_set_set(is, "year", "soon"), REC_E_INVALID,
               "'soon' is not a finite decimal number");
    float s;
    tu_err_has(rec_model_score_features(m, is, NULL, 0, "i1", &s), REC_E_INVALID,
               "user is a feature set of items, not of users");
    tu_err_has(rec_model_score_features(m, us, NULL, 2, "i1", &s), REC_E_INVALID,
               "history is NULL");
    const char *hnull[] = { "i1", NULL };
    tu_err_has(rec_model_score_features(m, us, hnull, 2, "i1", &s), REC_E_INVALID,
               "history[1] is NULL");
    tu_err_has(rec_model_score_features(m, us, NULL, 0, "nope", &s), REC_E_NOTFOUND, "nope");
    tu_err_has(rec_model_score_features(NULL, us, NULL, 0, "i1", &s), REC_E_INVALID,
               "rec_model_score_features");
    const char *it[3];
    size_t n;
    tu_err_has(rec_model_recommend_history(m, NULL, NULL, 1, 3, 0, it, NULL, &n), REC_E_INVALID,
               "history is NULL");

    /* a set against a dataset whose year is categorical: refused at use,
     * and a batch with it adds nothing */
    rec_dataset *d2;
    ok(rec_dataset_create(&d2));
    ok(rec_dataset_add_field(d2, REC_SIDE_ITEM, "year", REC_FEATURE_CATEGORICAL, NULL));
    rec_feature_set *bad;
    ok(rec_feature_set_create_dataset(&bad, d2, REC_SIDE_ITEM));
    ok(rec_feature_set_set(bad, "year", "1999"));
    ok(rec_feature_set_set(is, "genres", "x|y"));
    float before, after;
    ok(rec_model_score(m, "u1", "i1", &before));
    const char *ids[] = { "fresh", "worse" };
    const rec_feature_set *sets[] = { is, bad }, *wrong[] = { us };
    tu_err_has(rec_model_add_items(m, ids, sets, 2), REC_E_INVALID,
               "rec_model_add_items(dnn): field 'year' is categorical in the feature set, "
               "numeric in the model");
    tu_err_has(rec_model_add_items(m, ids, wrong, 1), REC_E_INVALID,
               "is a feature set of users, not of items");
    ok(rec_model_num_items(m, &n));
    ck_assert_uint_eq(n, 40);
    ok(rec_model_score(m, "u1", "i1", &after));
    ck_assert(before == after);
    tu_err_has(rec_model_score(m, "u1", "fresh", &s), REC_E_NOTFOUND, "fresh");
    /* the good one alone goes in */
    ok(rec_model_add_items(m, ids, sets, 1));
    ok(rec_model_num_items(m, &n));
    ck_assert_uint_eq(n, 41);
    rec_feature_set_destroy(bad);
    rec_dataset_destroy(d2);
    rec_feature_set_destroy(us);
    rec_feature_set_destroy(is);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* add_items under failing allocations: REC_E_NOMEM, nothing leaked, the
 * catalogue as it was; then it succeeds. */
START_TEST(add_items_fails_cleanly)
{
    rec_dataset *d = tu_generate(30, 40, 8);
    rec_model *m = fit_kv(d, "epochs=1 history=mean wide=true item_features=id,genres,year");
    const char *path = tu_tmp_path("dnn_features_nomem.lrm");
    ok(rec_model_save(m, path));
    rec_model_destroy(m);
    const char *const fields[] = { "genres=x|y", "year=2001" };
    ck_assert_int_gt(tu_add_items_fails_cleanly(path, 40, fields, 2), 3);
    rec_dataset_destroy(d);
}
END_TEST

/* Users the fit never saw, each given its items but the last: the history
 * fold-in finds the last one in its top 10 far more often than popularity
 * does, and than the history-less anonymous score. */
START_TEST(history_fold_in_beats_popularity)
{
    rec_params *o;
    rec_dataset *d, *warm, *cold;
    ok(rec_params_create(&o));
    rec_params_set_int(o, "users", 500);
    rec_params_set_int(o, "items", 300);
    rec_params_set_int(o, "interactions-per-user", 40);
    ok(rec_dataset_generate(&d, o));
    rec_params_destroy(o);
    ok(rec_dataset_split(d, "cold-users:0.2", 0, 3, &warm, &cold));
    rec_model *m = fit_kv(warm, "epochs=6 lr=0.02 batch=128 history=mean");
    rec_model *n0 = fit_kv(warm, "epochs=6 lr=0.02 batch=128");
    rec_model *pop;
    ok(rec_model_create(&pop, "popularity", NULL));
    ok(rec_model_fit(pop, warm, NULL, NULL));
    const rec_model *ms[3] = { m, n0, pop };
    int hits[3] = { 0, 0, 0 }, users = 0;
    int32_t nu;
    ok(rec_dataset_num_users(cold, &nu));
    for (int32_t u = 0; u < nu; u++) {
        size_t nh;
        const char **h = items_of(cold, u, &nh);
        if (nh >= 2) {
            users++;
            for (int k = 0; k < 3; k++) {
                const char *top[10];
                size_t n;
                ok(rec_model_recommend_history(ms[k], h, NULL, nh - 1, 10, 0, top, NULL, &n));
                for (size_t j = 0; j < n; j++)
                    hits[k] += !strcmp(top[j], h[nh - 1]);
            }
        }
        free(h);
    }
    ck_assert_int_ge(users, 50);
    ck_assert_msg(hits[0] > 2 * hits[2] + users / 50 && hits[0] > 2 * hits[1] + users / 50,
                  "hits of %d users: history=mean %d, none %d, popularity %d", users, hits[0],
                  hits[1], hits[2]);
    rec_model_destroy(m);
    rec_model_destroy(n0);
    rec_model_destroy(pop);
    rec_dataset_destroy(warm);
    rec_dataset_destroy(cold);
    rec_dataset_destroy(d);
}
END_TEST

Suite *rec_dnn_features_suite(void)
{
    Suite *s = suite_create("dnn_features");
    TCase *t = tcase_create("values");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, history_bag_leaves_its_item_out);
    tcase_add_test(t, gradients_with_history_and_anonymous_users);
    tcase_add_test(t, anonymous_user_is_the_known_one);
    tcase_add_test(t, added_item_scores_as_cold_item_at_fit);
    tcase_add_test(t, save_load_keeps_fold_ins_and_added_items);
    tcase_add_test(t, bad_input_is_refused);
    tcase_add_test(t, add_items_fails_cleanly);
    suite_add_tcase(s, t);
    TCase *q = tcase_create("quality");
    tcase_set_timeout(q, 300);
    tcase_add_test(q, added_items_follow_taste);
    tcase_add_test(q, history_fold_in_beats_popularity);
    suite_add_tcase(s, q);
    return s;
}
