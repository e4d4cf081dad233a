/* The "twotower" kind: the fused in-batch softmax against the composed ops
 * and finite differences, learning on generated data (features help, every
 * loss beats chance), cold items scored from their features, save/load,
 * fold-in, bad parameters, allocation failures. */
#include "testutil.h"
#include "models/twotower-impl.h"
#include "train/train-impl.h"

#include <librec/librec.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* kv: "key=value ..."; true/false bools, numbers, anything else a string. */
static rec_params *params(const char *kv)
{
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    char buf[512];
    snprintf(buf, sizeof buf, "%s", kv ? kv : "");
    for (char *t = strtok(buf, " "); t; t = strtok(NULL, " ")) {
        char *eq = strchr(t, '='), *end;
        *eq = 0;
        const char *v = eq + 1;
        double x = strtod(v, &end);
        if (!strcmp(v, "true") || !strcmp(v, "false"))
            rec_params_set_bool(p, t, !strcmp(v, "true"));
        else if (*end || end == v || !strcmp(t, "tower")) /* tower=2 is a list */
            rec_params_set_str(p, t, v);
        else if (strpbrk(v, ".e"))
            rec_params_set_float(p, t, x);
        else
            rec_params_set_int(p, t, atoll(v));
    }
    return p;
}

static rec_model *make(const char *kv)
{
    rec_params *p = params(kv);
    rec_model *m;
    rec_status st = rec_model_create(&m, "twotower", p);
    ck_assert_msg(st == REC_OK, "%s", rec_last_error());
    rec_params_destroy(p);
    return m;
}

static void fit(rec_model *m, const rec_dataset *d)
{
    rec_status st = rec_model_fit(m, d, NULL, NULL);
    ck_assert_msg(st == REC_OK, "%s", rec_last_error());
}

static double recall10(const rec_model *m, const rec_dataset *te)
{
    rec_eval_result *r;
    double v;
    ck_assert_int_eq(rec_evaluate(m, te, "full", "recall@10", 0, &r), REC_OK);
    ck_assert_int_eq(rec_eval_result_get(r, "recall@10", &v), REC_OK);
    rec_eval_result_destroy(r);
    return v;
}

/* ---- the fused loss ------------------------------------------------------- */

typedef struct nce_ctx {
    rec_tensor *u, *v;
    const float *logq;
    int fused;
} nce_ctx;

static rec_tensor *build_nce(rec_graph *g, void *arg)
{
    nce_ctx *c = arg;
    rec_tensor *u = rec_l2_normalize(g, c->u, 1e-12f), *v = rec_l2_normalize(g, c->v, 1e-12f);
    if (c->fused)
        return tt_infonce(g, u, v, 0.5f, c->logq);
    rec_tensor *lq = NULL;
    if (c->logq) {
        int64_t b = c->u->shape[0];
        lq = rec_tensor_from(g, c->logq, 1, &b);
    }
    return rec_loss_infonce(g, u, v, 0.5f, lq);
}

START_TEST(fused_infonce_matches_ops_and_differences)
{
    static const float logq[5] = { -1.0f, -2.5f, -0.3f, -4.0f, -1.7f };
    for (int with_q = 0; with_q < 4; with_q++) {
        tt_infonce_force_sse(with_q >= 2); /* both kernels */
        rec_pstore *ps;
        ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
        int64_t shp[2] = { 5, 7 };
        nce_ctx c = { rec_pstore_add(ps, "u", 2, shp, 0), rec_pstore_add(ps, "v", 2, shp, 0),
                      with_q % 2 ? logq : NULL, 1 };
        tu_fill(c.u, 3, -1, 1);
        tu_fill(c.v, 4, -1, 1);
        float val[2], gu[2][35], gv[2][35];
        for (int f = 0; f < 2; f++) {
            rec_graph *g;
            ck_assert_int_eq(rec_graph_create(&g), REC_OK);
            c.fused = f;
            rec_pstore_zero_grad(ps);
            rec_tensor *l = build_nce(g, &c);
            ck_assert_ptr_nonnull(l);
            val[f] = l->v[0];
            ck_assert_int_eq(rec_backward(g, l), REC_OK);
            memcpy(gu[f], c.u->g, sizeof gu[f]);
            memcpy(gv[f], c.v->g, sizeof gv[f]);
            rec_graph_destroy(g);
        }
        ck_assert_float_near(val[0], val[1], 1e-5);
        for (int k = 0; k < 35; k++) {
            ck_assert_float_near(gu[0][k], gu[1][k], 1e-5);
            ck_assert_float_near(gv[0][k], gv[1][k], 1e-5);
        }
        c.fused = 1;
        tu_gradcheck(ps, build_nce, &c, 1e-3, 1e-4, 1e-2);
        rec_pstore_destroy(ps);
    }
    tt_infonce_force_sse(0);
}
END_TEST

/* The exp of the fused op over the whole softmax range: a row whose logits
 * span [-87, 0] against double precision. */
START_TEST(fused_infonce_exp_range)
{
    for (int sse = 0; sse < 2; sse++) {
        tt_infonce_force_sse(sse);
        rec_graph *g;
        ck_assert_int_eq(rec_graph_create(&g), REC_OK);
        enum { B = 67 };
        rec_tensor *u = rec_tensor_2d(g, B, 1), *v = rec_tensor_2d(g, B, 1);
        for (int k = 0; k < B; k++) {
            u->v[k] = 1.0f;
            v->v[k] = -87.0f * (float)k / (B - 1); /* logits of every row: v / t */
        }
        rec_tensor *l = tt_infonce(g, u, v, 1.0f, NULL);
        ck_assert_ptr_nonnull(l);
        double s = 0;
        for (int k = 0; k < B; k++)
            s += exp(-87.0 * k / (B - 1));
        double want = 0; /* row r: lse - x_r */
        for (int r = 0; r < B; r++)
            want += log(s) + 87.0 * r / (B - 1);
        ck_assert_float_near(l->v[0], want / B, 1e-5 * want / B);
        rec_graph_destroy(g);
    }
    tt_infonce_force_sse(0);
}
END_TEST

/* ---- learning ----------------------------------------------------------- */

START_TEST(learns_and_features_help)
{
    rec_dataset *d = tu_generate(300, 300, 30), *tr, *te;
    ck_assert_int_eq(rec_dataset_split(d, "last:1", 0, 0, &tr, &te), REC_OK);
    rec_model *pop;
    ck_assert_int_eq(rec_model_create(&pop, "popularity", NULL), REC_OK);
    fit(pop, tr);
    double rp = recall10(pop, te);
    rec_model *idonly = make("epochs=6 batch=256 seed=1");
    rec_model *feat = make("epochs=6 batch=256 seed=1 user_features=id,genres_hist,region,age "
                           "item_features=id,genres,year");
    fit(idonly, tr);
    fit(feat, tr);
    double ri = recall10(idonly, te), rf = recall10(feat, te);
    /* chance is 10 / 300 */
    ck_assert_msg(rf > 2.5 * rp && rf > 0.1, "features %.3f popularity %.3f", rf, rp);
    ck_assert_msg(rf > ri + 0.03, "features %.3f id only %.3f", rf, ri);
    /* the same seed gives the same model */
    rec_model *again = make("epochs=6 batch=256 seed=1 user_features=id,genres_hist,region,age "
                            "item_features=id,genres,year");
    fit(again, tr);
    const char *u, *i;
    rec_dataset_user_id(d, 7, &u);
    for (int32_t k = 0; k < 300; k += 37) {
        rec_dataset_item_id(d, k, &i);
        ck_assert_float_eq(tu_score(feat, u, i), tu_score(again, u, i));
    }
    rec_model_destroy(again);
    rec_model_destroy(pop);
    rec_model_destroy(idonly);
    rec_model_destroy(feat);
    rec_dataset_destroy(tr);
    rec_dataset_destroy(te);
    rec_dataset_destroy(d);
}
END_TEST

static void learn_each(const char *const *kv, size_t n)
{
    rec_dataset *d = tu_generate(200, 200, 30), *tr, *te;
    ck_assert_int_eq(rec_dataset_split(d, "last:1", 0, 0, &tr, &te), REC_OK);
    for (size_t k = 0; k < n; k++) {
        char buf[256];
        snprintf(buf, sizeof buf, "epochs=4 batch=256 item_features=id,genres "
                 "user_features=id,genres_hist %s", kv[k]);
        rec_model *m = make(buf);
        fit(m, tr);
        double r = recall10(m, te);
        ck_assert_msg(r > 3 * 10.0 / 200, "%s: recall@10 %.3f", kv[k], r);
        rec_model_destroy(m);
    }
    rec_dataset_destroy(tr);
    rec_dataset_destroy(te);
    rec_dataset_destroy(d);
}

START_TEST(every_loss_and_history_encoder_learns)
{
    static const char *kv[] = {
        "loss=infonce_logq", "loss=bce neg_hard=2 neg_random=4",
        "loss=bce neg_hard=0 neg_random=6", "loss=mix lambda=0.5",
        "user_features=hist_bag", "user_features=id,hist_gru hist_len=8",
        "user_tower=moe experts=4", "feature_gate=true",
        "user_tower=moe experts=3 moe_balance=0.1 feature_gate=true",
    };
    learn_each(kv, sizeof kv / sizeof *kv);
}
END_TEST

/* Its own test (and time limit): three interests, the hierarchical encoder. */
START_TEST(interests_and_hist_hier_learn)
{
    static const char *kv[] = {
        "user_features=hist_attn interests=3", "user_features=id,hist_hier hist_len=12 segment=4",
    };
    learn_each(kv, sizeof kv / sizeof *kv);
}
END_TEST

/* ---- cold start ---------------------------------------------------------- */

static void add(rec_dataset *d, const char *u, const char *i)
{
    ck_assert_int_eq(rec_dataset_add(d, u, i, NAN, REC_NO_TIME), REC_OK);
}

static void genre(rec_dataset *d, const char *i, const char *g)
{
    ck_assert_int_eq(rec_dataset_set_feature(d, REC_SIDE_ITEM, "genres", i, g, 1), REC_OK);
}

START_TEST(cold_items_get_vectors_from_features)
{
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    ck_assert_int_eq(rec_dataset_add_field(d, REC_SIDE_ITEM, "genres", REC_FEATURE_MULTIHOT,
                                           NULL), REC_OK);
    /* users a*: genre A lovers, b*: genre B */
    char u[16], i[16];
    for (int k = 0; k < 6; k++)
        for (int j = 0; j < 4; j++) {
            snprintf(u, sizeof u, "a%d", k);
            snprintf(i, sizeof i, "A%d", (k + j) % 6);
            add(d, u, i);
            snprintf(u, sizeof u, "b%d", k);
            snprintf(i, sizeof i, "B%d", (k + j) % 6);
            add(d, u, i);
        }
    for (int k = 0; k < 6; k++) {
        snprintf(i, sizeof i, "A%d", k);
        genre(d, i, "A");
        snprintf(i, sizeof i, "B%d", k);
        genre(d, i, "B");
    }
    /* never rated: two A items, one B item */
    genre(d, "newA1", "A");
    genre(d, "newA2", "A");
    genre(d, "newB", "B");
    rec_model *m = make("epochs=60 batch=16 lr=0.01 item_features=id,genres "
                        "user_features=id,genres_hist");
    fit(m, d);
    size_t ni;
    ck_assert_int_eq(rec_model_num_items(m, &ni), REC_OK);
    ck_assert_uint_eq(ni, 15);
    /* equal features, no trained id: the same vector, up to rounding (the
     * tower's GEMM may sum a row in another order at another row position) */
    ck_assert_float_eq_tol(tu_score(m, "a0", "newA1"), tu_score(m, "a0", "newA2"), 1e-6);
    ck_assert_float_eq_tol(tu_score(m, "b3", "newA1"), tu_score(m, "b3", "newA2"), 1e-6);
    /* the genre decides: A lovers prefer the new A item, B lovers the new B one */
    for (int k = 0; k < 6; k++) {
        snprintf(u, sizeof u, "a%d", k);
        ck_assert_float_gt(tu_score(m, u, "newA1"), tu_score(m, u, "newB"));
        snprintf(u, sizeof u, "b%d", k);
        ck_assert_float_gt(tu_score(m, u, "newB"), tu_score(m, u, "newA1"));
    }
    /* and a cold item can be recommended */
    const char *items[15];
    size_t n;
    ck_assert_int_eq(rec_model_recommend(m, "b0", 15, 0, items, NULL, &n), REC_OK);
    int found = 0;
    for (size_t k = 0; k < n; k++)
        found |= !strcmp(items[k], "newB");
    ck_assert(found);
    rec_model_destroy(m);
    /* id only: every cold item is the same zero-id vector */
    m = make("epochs=5 batch=16");
    fit(m, d);
    ck_assert_float_eq_tol(tu_score(m, "a0", "newA1"), tu_score(m, "a0", "newB"), 1e-6);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* ---- files and fold-in ---------------------------------------------------- */

/* Fold-in of one history: the same on a model and its loaded copy, the
 * history excluded. */
static void same_fold_in(const rec_model *m, const rec_model *l, const rec_dataset *d)
{
    const char *hist[3], *a[5], *b[5];
    float sa[5], sb[5];
    size_t na, nb;
    for (int k = 0; k < 3; k++)
        rec_dataset_item_id(d, k * 5, &hist[k]);
    ck_assert_int_eq(rec_model_recommend_history(m, hist, NULL, 3, 5, 0, a, sa, &na), REC_OK);
    ck_assert_int_eq(rec_model_recommend_history(l, hist, NULL, 3, 5, 0, b, sb, &nb), REC_OK);
    ck_assert_uint_eq(na, 5);
    ck_assert_uint_eq(nb, 5);
    for (size_t k = 0; k < 5; k++) {
        ck_assert_str_eq(a[k], b[k]);
        ck_assert_float_eq(sa[k], sb[k]);
        for (int h = 0; h < 3; h++)
            ck_assert_str_ne(a[k], hist[h]);
    }
}

START_TEST(save_load_identical_and_fold_in)
{
    rec_dataset *d = tu_generate(60, 80, 15);
    rec_model *m = make("epochs=2 batch=64 loss=mix user_features=id,genres_hist,hist_gru,"
                        "hist_bag,region,age item_features=id,genres,year,length");
    fit(m, d);
    const char *path = tu_tmp_path("twotower.lrm");
    ck_assert_int_eq(rec_model_save(m, path), REC_OK);
    rec_model *l;
    rec_status st = rec_model_load(&l, path);
    ck_assert_msg(st == REC_OK, "%s", rec_last_error());
    ck_assert_str_eq(rec_model_kind(l), "twotower");
    for (int32_t uu = 0; uu < 60; uu += 7) {
        const char *u, *i;
        rec_dataset_user_id(d, uu, &u);
        for (int32_t ii = 0; ii < 80; ii += 3) {
            rec_dataset_item_id(d, ii, &i);
            ck_assert_float_eq(tu_score(m, u, i), tu_score(l, u, i));
        }
        const char *a[10], *b[10];
        float sa[10], sb[10];
        size_t na, nb;
        ck_assert_int_eq(rec_model_recommend(m, u, 10, 0, a, sa, &na), REC_OK);
        ck_assert_int_eq(rec_model_recommend(l, u, 10, 0, b, sb, &nb), REC_OK);
        ck_assert_uint_eq(na, nb);
        for (size_t k = 0; k < na; k++) {
            ck_assert_str_eq(a[k], b[k]);
            ck_assert_float_eq(sa[k], sb[k]);
        }
    }
    same_fold_in(m, l, d);
    rec_model_destroy(l);

    /* a corrupted feature table is a format error, not a crash */
    FILE *f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, len / 2, SEEK_SET);
    fputc(0x5a, f);
    fclose(f);
    ck_assert_int_eq(rec_model_load(&l, path), REC_E_FORMAT);
    ck_assert_ptr_null(l);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* ---- the user tower's options ----------------------------------------------- */

static int has_param(const rec_model *m, const char *name)
{
    return rec_pstore_find(((const twotower *)m->state)->ps, name) != NULL;
}

/* Off by default, and then nothing of them is built: the experts' knobs
 * alone change no score.  On, they round-trip through a file. */
START_TEST(moe_and_feature_gate_off_by_default_and_round_trip)
{
    rec_dataset *d = tu_generate(60, 80, 15);
    const char *base = "epochs=2 batch=64 user_features=id,genres_hist,region,age "
                       "item_features=id,genres,year";
    char kv[320];
    rec_model *def = make(base);
    snprintf(kv, sizeof kv, "%s experts=7 moe_balance=0.5", base);
    rec_model *knobs = make(kv);
    snprintf(kv, sizeof kv, "%s user_tower=moe experts=3 moe_balance=0.05 feature_gate=true",
             base);
    rec_model *m = make(kv);
    fit(def, d);
    fit(knobs, d);
    fit(m, d);
    const twotower *sd = def->state, *sm = m->state;
    ck_assert_int_eq(sd->ut.experts, 0);
    ck_assert_int_eq(sd->ut.gated, 0);
    ck_assert(!has_param(def, "user.moe.gate.weight") && !has_param(def, "user.gate.weight"));
    ck_assert(has_param(def, "user.mlp.0.weight"));
    ck_assert_int_eq(sm->ut.experts, 3);
    ck_assert_int_eq(sm->ut.gated, 1);
    ck_assert_int_eq(sm->it.experts, 0); /* the item tower keeps its MLP */
    ck_assert_int_eq(sm->it.gated, 0);
    ck_assert(has_param(m, "user.moe.expert2.1.weight") && has_param(m, "user.moe.gate.weight"));
    ck_assert(has_param(m, "user.gate.weight") && !has_param(m, "user.mlp.0.weight"));
    ck_assert(has_param(m, "item.mlp.0.weight"));
    /* the gates read the tower input and the history length: one per feature */
    ck_assert_int_eq(sm->ut.fgate.nf, 4);
    ck_assert_int_eq(sm->ut.fgate.ctx, sm->ut.in_dim + 1);

    const char *path = tu_tmp_path("twotower_moe.lrm");
    ck_assert_int_eq(rec_model_save(m, path), REC_OK);
    rec_model *l;
    rec_status st = rec_model_load(&l, path);
    ck_assert_msg(st == REC_OK, "%s", rec_last_error());
    const twotower *sl = l->state;
    ck_assert_int_eq(sl->ut.experts, 3);
    ck_assert_int_eq(sl->ut.gated, 1);
    int differ = 0;
    for (int32_t uu = 0; uu < 60; uu += 7) {
        const char *u, *i;
        rec_dataset_user_id(d, uu, &u);
        for (int32_t ii = 0; ii < 80; ii += 3) {
            rec_dataset_item_id(d, ii, &i);
            ck_assert_float_eq(tu_score(def, u, i), tu_score(knobs, u, i));
            ck_assert_float_eq(tu_score(m, u, i), tu_score(l, u, i));
            differ += tu_score(m, u, i) != tu_score(def, u, i);
        }
    }
    ck_assert_int_gt(differ, 0);
    same_fold_in(m, l, d); /* through the experts and gates too */
    rec_model_destroy(l);
    rec_model_destroy(m);
    rec_model_destroy(knobs);
    rec_model_destroy(def);
    rec_dataset_destroy(d);
}
END_TEST

/* The balance term reaches the gate: without it the gate drifts towards
 * some experts, with a large weight their mean shares over every user stay
 * near 1/K. */
START_TEST(moe_balance_keeps_experts_in_use)
{
    rec_dataset *d = tu_generate(120, 100, 20);
    double bal[2];
    const float w[2] = { 0.0f, 5.0f };
    for (int c = 0; c < 2; c++) {
        char kv[256];
        snprintf(kv, sizeof kv, "epochs=6 batch=64 lr=0.01 user_tower=moe experts=4 "
                 "moe_balance=%g user_features=id,genres_hist,region", (double)w[c]);
        rec_model *m = make(kv);
        fit(m, d);
        const twotower *s = m->state;
        rec_graph *g;
        ck_assert_int_eq(rec_graph_create(&g), REC_OK);
        rec_graph_set_grad(g, 0);
        tt_uq *q = rec_graph_alloc(g, 120 * sizeof *q);
        ck_assert_ptr_nonnull(q);
        for (int32_t u = 0; u < 120; u++)
            q[u] = (tt_uq){ u, s->hitems + s->hptr[u], s->hptr[u + 1] - s->hptr[u], NULL, NULL };
        rec_tensor *b = NULL;
        ck_assert_ptr_nonnull(tt_user_forward(g, m, q, 120, &b));
        ck_assert_ptr_nonnull(b);
        bal[c] = b->v[0];
        ck_assert(bal[c] >= -1e-6 && bal[c] <= 3 + 1e-6);
        rec_graph_destroy(g);
        rec_model_destroy(m);
    }
    /* seed 42: 0.47 without the term, 0.0003 with it */
    ck_assert_msg(bal[0] > 0.1 && bal[1] < 0.02, "balance %g at weight 0, %g at 5", bal[0],
                  bal[1]);
    rec_dataset_destroy(d);
}
END_TEST

/* ---- multi-interest users and the hierarchical encoder -------------------------- */

/* interests=1 (the default) and segment alone build nothing new: the same
 * params and the same scores as a model that never names them. */
START_TEST(interests_one_is_the_default)
{
    rec_dataset *d = tu_generate(50, 70, 12);
    const char *base = "epochs=2 batch=64 user_features=id,genres_hist,hist_gru hist_len=8";
    char kv[256];
    snprintf(kv, sizeof kv, "%s interests=1 segment=3", base);
    rec_model *a = make(base), *b = make(kv);
    fit(a, d);
    fit(b, d);
    const twotower *sa = a->state;
    ck_assert_int_eq(sa->interests, 1);
    ck_assert_uint_eq(rec_pstore_count(sa->ps), rec_pstore_count(((twotower *)b->state)->ps));
    ck_assert(!has_param(a, "user.hist_attn.pool.query") && !has_param(a, "user.hist_hier.top.weight_hh_l0"));
    for (int32_t uu = 0; uu < 50; uu += 6) {
        const char *u, *i;
        rec_dataset_user_id(d, uu, &u);
        for (int32_t ii = 0; ii < 70; ii += 4) {
            rec_dataset_item_id(d, ii, &i);
            ck_assert_float_eq(tu_score(a, u, i), tu_score(b, u, i));
        }
    }
    int dim;
    ck_assert_int_eq(rec_model_vectors(a, REC_SIDE_USER, NULL, 0, &dim), REC_OK);
    ck_assert_int_eq(dim, 64);
    rec_model_destroy(a);
    rec_model_destroy(b);
    rec_dataset_destroy(d);
}
END_TEST

/* The positive picks the interest: row b of the result is the row of U
 * that scores V[b] best, and only those rows get a gradient. */
START_TEST(best_interest_by_hand)
{
    rec_pstore *ps;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    int64_t us[2] = { 6, 2 }, vs[2] = { 2, 2 };
    rec_tensor *U = rec_pstore_add(ps, "U", 2, us, 0), *V = rec_pstore_add(ps, "V", 2, vs, 0);
    /* user 0's interests (1,0), (0,1), (-1,0); user 1's (0,1), (1,0), (0.6,0.8) */
    static const float u[12] = { 1, 0, 0, 1, -1, 0, 0, 1, 1, 0, 0.6f, 0.8f };
    static const float v[4] = { 0.2f, 0.9f, 1, 0.1f }; /* scores (.2,.9,-.2); (.1,1,.68) */
    memcpy(U->v, u, sizeof u);
    memcpy(V->v, v, sizeof v);
    rec_graph *g;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_tensor *sel = tt_best_interest(g, U, V, 3);
    ck_assert_ptr_nonnull(sel);
    ck_assert_int_eq(sel->shape[0], 2);
    const float want[4] = { 0, 1, 1, 0 };
    for (int k = 0; k < 4; k++)
        ck_assert_float_eq(sel->v[k], want[k]);
    rec_tensor *l = rec_sum(g, rec_rowdot(g, sel, V));
    ck_assert_float_eq_tol(l->v[0], 1.9f, 1e-6f);
    rec_pstore_zero_grad(ps);
    ck_assert_int_eq(rec_backward(g, l), REC_OK);
    /* dL/dU: V[b] on the chosen rows (0,1 -> row 1; 1 -> row 4), zero elsewhere */
    const float gu[12] = { 0, 0, 0.2f, 0.9f, 0, 0, 0, 0, 1, 0.1f, 0, 0 };
    for (int k = 0; k < 12; k++)
        ck_assert_float_eq_tol(U->g[k], gu[k], 1e-7f);
    const float gv[4] = { 0, 1, 1, 0 };
    for (int k = 0; k < 4; k++)
        ck_assert_float_eq_tol(V->g[k], gv[k], 1e-7f);
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
}
END_TEST

/* An item's score is the best over the user's vectors: with the vectors
 * set by hand, rec_model_score, the ranking and recommend (each
 * interest's top k from the index, merged by best score) give the values
 * worked out here. */
START_TEST(max_over_interests_by_hand)
{
    rec_dataset *d = tu_generate(30, 40, 10);
    rec_model *m = make("epochs=1 batch=64 user_features=hist_attn interests=2 tower=2");
    fit(m, d);
    twotower *s = m->state;
    ck_assert_int_eq(s->interests, 2);
    ck_assert_int_eq(s->out_dim, 2);
    /* user 0: interests (1, 0) and (0, 1).  Items on the unit circle at
     * angle 2 pi j / 40: score max(cos, sin), 1 at 0 and 90 degrees. */
    float *uv = s->uvec;
    uv[0] = 1, uv[1] = 0, uv[2] = 0, uv[3] = 1;
    for (int32_t j = 0; j < 40; j++) {
        double a = 2 * M_PI * j / 40;
        s->ivec[2 * j] = (float)cos(a);
        s->ivec[2 * j + 1] = (float)sin(a);
    }
    rec_index *ix;
    ck_assert_int_eq(tt_build_index(s, 40, &ix), REC_OK);
    rec_index_destroy(s->ix);
    s->ix = ix;
    const char *u, *i;
    rec_dataset_user_id(d, 0, &u);
    for (int32_t j = 0; j < 40; j++) {
        double a = 2 * M_PI * j / 40, want = cos(a) > sin(a) ? cos(a) : sin(a);
        rec_dataset_item_id(d, j, &i);
        ck_assert_float_eq_tol(tu_score(m, u, i), (float)want, 1e-6f);
    }
    /* the top 6 with seen items: 0 and 90 degrees (j = 0, 10; score 1),
     * then 9 degrees either side of them (39, 1, 9, 11; cos 9 degrees).
     * Interest (1, 0) alone would rank 0, 1, 39, 2, 38, 3: half the list
     * comes from the other interest's top 6. */
    const char *top[6];
    float ts[6];
    size_t n;
    ck_assert_int_eq(rec_model_recommend(m, u, 6, REC_INCLUDE_SEEN, top, ts, &n), REC_OK);
    ck_assert_uint_eq(n, 6);
    for (size_t k = 0; k < 6; k++) {
        int32_t got;
        rec_dataset_item_index(d, top[k], &got);
        if (k < 2)
            ck_assert_msg(got == 0 || got == 10, "rank %zu: item %d", k, got);
        else
            ck_assert_msg(got == 1 || got == 9 || got == 11 || got == 39, "rank %zu: item %d",
                          k, got);
        double a = 2 * M_PI * got / 40;
        ck_assert_float_eq_tol(ts[k], (float)(cos(a) > sin(a) ? cos(a) : sin(a)), 1e-6f);
    }
    /* no item twice although each is in both interests' lists */
    for (size_t k = 0; k < 6; k++)
        for (size_t j = k + 1; j < 6; j++)
            ck_assert_str_ne(top[k], top[j]);
    /* one vector per user is what the index path and the vectors give */
    int dim;
    ck_assert_int_eq(rec_model_vectors(m, REC_SIDE_USER, NULL, 0, &dim), REC_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "interests=2"));
    ck_assert_int_eq(rec_model_vectors(m, REC_SIDE_ITEM, NULL, 0, &dim), REC_OK);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* hist_hier is the composition it says: a GRU over each segment (aligned to
 * the end, the oldest short), then a GRU over their final states. */
START_TEST(hist_hier_by_composition)
{
    rec_dataset *d = tu_generate(30, 40, 14);
    rec_model *m = make("epochs=1 batch=64 user_features=hist_hier hist_len=7 segment=3 "
                        "tower=5 dim=4");
    fit(m, d);
    twotower *s = m->state;
    tt_feat *f = &s->ut.f[0];
    ck_assert_int_eq(f->kind, TT_HHIER);
    const int32_t hist[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    for (int32_t j = 0; j < 9; j++)
        s->trained[hist[j]] = 1;
    /* lengths 9 (the last 7: segments 1+3+3), 4 (1+3), 3 (3), 2 (2), 0 */
    const int64_t lens[5] = { 9, 4, 3, 2, 0 };
    rec_graph *g;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_graph_set_grad(g, 0);
    tt_uq q[5];
    for (int b = 0; b < 5; b++)
        q[b] = (tt_uq){ -1, hist + 9 - lens[b], lens[b], NULL, NULL };
    rec_tensor *got = tt_user_forward(g, m, q, 5, NULL);
    ck_assert_ptr_nonnull(got);
    for (int b = 0; b < 5; b++) {
        int64_t take = lens[b] < 7 ? lens[b] : 7, ns = take ? (take + 2) / 3 : 1;
        const int32_t *h = hist + 9 - take;
        int64_t first = take - (ns - 1) * 3, at = 0;
        int64_t one[3] = { 1, 3, 4 }, segs[3] = { 1, ns, 4 };
        rec_tensor *st = rec_tensor_zeros(g, REC_F32, 3, segs);
        for (int64_t j = 0; j < ns; j++) {
            int64_t k = j ? 3 : first;
            rec_tensor *x = rec_tensor_zeros(g, REC_F32, 3, one);
            for (int64_t t = 0; t < k; t++)
                memcpy(x->v + t * 4, f->emb.weight->v + (int64_t)h[at + t] * 4, 4 * sizeof(float));
            rec_tensor *len = rec_tensor_i32(g, 1);
            len->iv[0] = (int32_t)(k ? k : 1);
            at += k;
            rec_tensor *e = rec_nn_gru_encode(g, &f->gru, x, len);
            memcpy(st->v + j * 4, e->v, 4 * sizeof(float));
        }
        rec_tensor *top = rec_nn_gru_encode(g, &f->top, st, NULL);
        rec_tensor *want = rec_l2_normalize(g, rec_nn_mlp_forward(g, &s->ut.mlp, top), 1e-12f);
        ck_assert_ptr_nonnull(want);
        for (int k = 0; k < 5; k++)
            ck_assert_float_eq_tol(got->v[b * 5 + k], want->v[k], 1e-5f);
    }
    rec_graph_destroy(g);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* Gradients through the whole user tower by finite differences: the
 * hierarchical encoder's two GRUs and embedding, the attention heads, the
 * K rows per user and the best-interest choice. */
typedef struct tower_ctx {
    rec_model *m;
    tt_uq q[4];
    int32_t items[4];
} tower_ctx;

static rec_tensor *build_tower(rec_graph *g, void *p)
{
    tower_ctx *c = p;
    const twotower *s = c->m->state;
    rec_tensor *U = tt_user_forward(g, c->m, c->q, 4, NULL);
    rec_tensor *V = tt_item_forward(g, c->m, c->items, 4, NULL);
    if (s->interests > 1)
        U = tt_best_interest(g, U, V, s->interests);
    return tu_wsum(g, rec_mul(g, U, V));
}

START_TEST(user_tower_gradcheck)
{
    rec_dataset *d = tu_generate(20, 24, 12);
    static const char *kv[2] = {
        "epochs=1 batch=64 sparse=false user_features=hist_hier hist_len=7 segment=3 "
        "tower=3 dim=3",
        "epochs=1 batch=64 sparse=false user_features=hist_attn,hist_hier interests=3 "
        "hist_len=6 segment=4 tower=3 dim=3",
    };
    const int32_t hist[8] = { 3, 1, 4, 1, 5, 9, 2, 6 };
    for (int c = 0; c < 2; c++) {
        tower_ctx t = { .m = make(kv[c]), .items = { 7, 1, 2, 8 } };
        fit(t.m, d);
        twotower *s = t.m->state;
        for (int32_t j = 0; j < 24; j++)
            s->trained[j] = 1;
        const int64_t lens[4] = { 8, 5, 1, 0 };
        for (int b = 0; b < 4; b++)
            t.q[b] = (tt_uq){ -1, hist + 8 - lens[b], lens[b], NULL, NULL };
        tu_gradcheck(s->ps, build_tower, &t, 1e-2, 2e-3, 2e-2);
        rec_model_destroy(t.m);
    }
    rec_dataset_destroy(d);
}
END_TEST

/* K interests and the hierarchical encoder through a file, and the fold-in
 * of a user's own training history gives that user's K vectors. */
START_TEST(interests_round_trip_and_fold_in)
{
    rec_dataset *d = tu_generate(60, 80, 15);
    rec_model *m = make("epochs=2 batch=64 user_features=hist_attn,hist_hier,genres_hist "
                        "interests=3 hist_len=12 segment=4 loss=mix neg_hard=2");
    fit(m, d);
    const twotower *s = m->state;
    ck_assert_int_eq(s->interests, 3);
    ck_assert(has_param(m, "user.hist_attn.pool.query") && has_param(m, "user.hist_hier.top.weight_hh_l0"));
    ck_assert_int_eq(s->ut.f[0].pool.heads, 3);
    const char *path = tu_tmp_path("twotower_interests.lrm");
    ck_assert_int_eq(rec_model_save(m, path), REC_OK);
    rec_model *l;
    rec_status st = rec_model_load(&l, path);
    ck_assert_msg(st == REC_OK, "%s", rec_last_error());
    ck_assert_int_eq(((const twotower *)l->state)->interests, 3);
    int differ = 0;
    for (int32_t uu = 0; uu < 60; uu += 7) {
        const char *u, *i;
        rec_dataset_user_id(d, uu, &u);
        /* the 3 interests are not one vector three times */
        const float *uv = s->uvec + (size_t)uu * 3 * s->out_dim;
        differ += memcmp(uv, uv + s->out_dim, (size_t)s->out_dim * sizeof *uv) != 0;
        for (int32_t ii = 0; ii < 80; ii += 3) {
            rec_dataset_item_id(d, ii, &i);
            ck_assert_float_eq(tu_score(m, u, i), tu_score(l, u, i));
        }
        const char *a[10], *b[10];
        float sa[10], sb[10];
        size_t na, nb;
        ck_assert_int_eq(rec_model_recommend(m, u, 10, 0, a, sa, &na), REC_OK);
        ck_assert_int_eq(rec_model_recommend(l, u, 10, 0, b, sb, &nb), REC_OK);
        ck_assert_uint_eq(na, 10);
        ck_assert_uint_eq(na, nb);
        for (size_t k = 0; k < na; k++) {
            ck_assert_str_eq(a[k], b[k]);
            ck_assert_float_eq(sa[k], sb[k]);
        }
        /* fold-in of u's own history (the tower has no id): u's scores */
        const char *hist[80], *c[10];
        float sc[10];
        size_t nh = 0, nc;
        for (int64_t h = s->hptr[uu]; h < s->hptr[uu + 1]; h++)
            rec_dataset_item_id(d, s->hitems[h], &hist[nh++]);
        ck_assert_int_eq(rec_model_recommend_history(l, hist, NULL, nh, 10, 0, c, sc, &nc),
                         REC_OK);
        ck_assert_uint_eq(nc, 10);
        for (size_t k = 0; k < nc; k++)
            ck_assert_float_eq_tol(sc[k], sa[k], 1e-5f);
    }
    ck_assert_int_gt(differ, 6);
    same_fold_in(m, l, d);
    rec_model_destroy(l);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* recommend goes through the item index: the same list as ranking
 * rec_model_score over the unseen items (seen ones come back on request). */
START_TEST(recommend_through_index_matches_scores)
{
    rec_dataset *d = tu_generate(40, 60, 10);
    rec_model *m = make("epochs=2 batch=64 item_features=id,genres");
    fit(m, d);
    for (int32_t uu = 0; uu < 40; uu += 9) {
        const char *u, *top[10], *all[60];
        float ts[10], sc[60];
        char seen[60] = { 0 };
        size_t n;
        rec_dataset_user_id(d, uu, &u);
        int64_t rows;
        rec_dataset_num_interactions(d, &rows);
        for (int64_t r = 0; r < rows; r++) {
            int32_t ru, ri;
            rec_dataset_row(d, r, &ru, &ri, NULL, NULL);
            if (ru == uu)
                seen[ri] = 1;
        }
        for (int32_t i = 0; i < 60; i++) {
            rec_dataset_item_id(d, i, &all[i]);
            sc[i] = seen[i] ? -INFINITY : tu_score(m, u, all[i]);
        }
        ck_assert_int_eq(rec_model_recommend(m, u, 10, 0, top, ts, &n), REC_OK);
        ck_assert_uint_eq(n, 10);
        for (size_t k = 0; k < n; k++) {
            int32_t best = -1; /* the k-th best by scores, lower index on ties */
            for (int32_t i = 0; i < 60; i++)
                if (sc[i] > -INFINITY && (best < 0 || sc[i] > sc[best]))
                    best = i;
            ck_assert_float_near(ts[k], sc[best], 1e-5);
            if (k + 1 < n && ts[k] - ts[k + 1] > 1e-5)
                ck_assert_str_eq(top[k], all[best]);
            int32_t got;
            rec_dataset_item_index(d, top[k], &got);
            ck_assert(!seen[got]);
            sc[got] = -INFINITY;
        }
        /* with seen items: the best of all is returned even if seen */
        ck_assert_int_eq(rec_model_recommend(m, u, 60, REC_INCLUDE_SEEN, all, sc, &n), REC_OK);
        ck_assert_uint_eq(n, 60);
        for (size_t k = 0; k + 1 < n; k++)
            ck_assert_float_ge(sc[k], sc[k + 1]);
    }
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* ---- errors ---------------------------------------------------------------- */

static void fit_fails(const rec_dataset *d, const char *kv, const char *msg)
{
    rec_model *m = make(kv);
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_E_INVALID);
    ck_assert_msg(strstr(rec_last_error(), msg), "'%s': got '%s'", kv, rec_last_error());
    const char *items[2];
    size_t n;
    ck_assert_int_eq(rec_model_recommend(m, "0", 2, 0, items, NULL, &n), REC_E_STATE);
    rec_model_destroy(m);
}

START_TEST(bad_params)
{
    rec_dataset *d = tu_generate(20, 30, 6);
    fit_fails(d, "item_features=id,colour", "unknown feature 'colour'");
    fit_fails(d, "user_features=id,genres", "unknown feature 'genres'");
    fit_fails(d, "item_features=id,hist_bag", "unknown feature 'hist_bag'");
    fit_fails(d, "item_features=id,region", "unknown feature 'region'");
    fit_fails(d, "user_features=colour_hist", "needs an item field 'colour'");
    fit_fails(d, "user_features=year_hist", "'year' is not multi-hot, categorical or text");
    fit_fails(d, "item_features=id,,genres", "empty feature name");
    fit_fails(d, "item_features=id,genres,", "empty feature name");
    fit_fails(d, "item_features=id,genres,id", "'id' named twice");
    fit_fails(d, "tower=64,x",
              "tower: expected integers in 1..65536 separated by commas, got '64,x'");
    fit_fails(d, "tower=64,", "tower: expected integers in 1..65536 separated by commas, "
              "got '64,'");
    fit_fails(d, "tower=1,1,1,1,1,1,1,1,1", "tower: at most 8 values");
    fit_fails(d, "loss=bce neg_hard=0 neg_random=0", "needs neg_hard + neg_random >= 1");
    tu_create_fails("twotower", "loss=softmax", REC_E_INVALID, "loss");
    tu_create_fails("twotower", "temperature=0.0", REC_E_RANGE, "temperature");
    tu_create_fails("twotower", "user_tower=mmoe", REC_E_INVALID, "user_tower");
    tu_create_fails("twotower", "experts=0", REC_E_RANGE, "experts");
    tu_create_fails("twotower", "experts=17", REC_E_RANGE, "experts");
    fit_fails(d, "interests=2", "interests=2 needs hist_attn in user_features");
    fit_fails(d, "interests=2 user_features=id,hist_gru", "needs hist_attn");
    fit_fails(d, "item_features=id,hist_attn", "unknown feature 'hist_attn'");
    fit_fails(d, "item_features=id,hist_hier", "unknown feature 'hist_hier'");
    rec_model *m = make("interests=2 user_features=hist_attn index=hnsw");
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "index=hnsw serves one"));
    rec_model_destroy(m);
    tu_create_fails("twotower", "interests=0", REC_E_RANGE, "interests");
    tu_create_fails("twotower", "interests=17", REC_E_RANGE, "interests");
    tu_create_fails("twotower", "segment=0", REC_E_RANGE, "segment");
    tu_create_fails("twotower", "segment=4097", REC_E_RANGE, "segment");
    tu_create_fails("twotower", "interests=two", REC_E_INVALID, "interests");
    tu_create_fails("twotower", "dims=3", REC_E_INVALID, "dims");
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(fit_survives_allocation_failures)
{
    rec_dataset *d = tu_generate(12, 20, 5);
    rec_model *warm = make("epochs=1");
    fit(warm, d); /* builds d's caches */
    rec_model_destroy(warm);
    static const char *kv[] = {
        "epochs=1 batch=16 loss=mix user_features=id,genres_hist,hist_gru,region "
        "item_features=id,genres,year",
        "epochs=1 batch=16 loss=infonce_logq user_features=hist_bag",
        "epochs=1 batch=16 user_tower=moe experts=2 feature_gate=true "
        "user_features=id,genres_hist,age",
        "epochs=1 batch=16 loss=mix interests=2 user_features=hist_attn,hist_hier,age "
        "hist_len=6 segment=2",
    };
    for (int c = 0; c < 4; c++) {
        rec_params *p = params(kv[c]);
        ck_assert_int_gt(tu_fit_fails_cleanly("twotower", p, d), 10);
        rec_params_destroy(p);
    }
    rec_dataset_destroy(d);
}
END_TEST

Suite *rec_twotower_suite(void)
{
    Suite *s = suite_create("twotower");
    TCase *t = tcase_create("twotower");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, fused_infonce_matches_ops_and_differences);
    tcase_add_test(t, fused_infonce_exp_range);
    tcase_add_test(t, cold_items_get_vectors_from_features);
    tcase_add_test(t, save_load_identical_and_fold_in);
    tcase_add_test(t, moe_and_feature_gate_off_by_default_and_round_trip);
    tcase_add_test(t, moe_balance_keeps_experts_in_use);
    tcase_add_test(t, interests_one_is_the_default);
    tcase_add_test(t, best_interest_by_hand);
    tcase_add_test(t, max_over_interests_by_hand);
    tcase_add_test(t, hist_hier_by_composition);
    tcase_add_test(t, user_tower_gradcheck);
    tcase_add_test(t, interests_round_trip_and_fold_in);
    tcase_add_test(t, recommend_through_index_matches_scores);
    tcase_add_test(t, bad_params);
    tcase_add_test(t, fit_survives_allocation_failures);
    suite_add_tcase(s, t);
    /* trains to a quality bar: not run under TSAN=1 (Makefile) */
    t = tcase_create("twotower learning");
    tcase_set_tags(t, "learning");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, learns_and_features_help);
    tcase_add_test(t, every_loss_and_history_encoder_learns);
    tcase_add_test(t, interests_and_hist_hier_learn);
    suite_add_tcase(s, t);
    return s;
}
