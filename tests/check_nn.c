/* Neural layers: forward values on small hand-computed cases, gradients by
 * finite differences, padding, renorm, hashing, dropout modes, thread
 * independence and error messages. */
#include "testutil.h"

#include "nn/nn-impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define S(...) ((const int64_t[]){ __VA_ARGS__ })
#define GC_EPS 1e-2
#define GC_ATOL 2e-3
#define GC_RTOL 2e-2

static rec_graph *new_graph(void)
{
    rec_graph *g;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    return g;
}

static rec_pstore *new_store(void)
{
    rec_pstore *ps;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    return ps;
}

static rec_tensor *ids_of(rec_graph *g, int64_t n, const int32_t *v)
{
    rec_tensor *t = rec_tensor_i32(g, n);
    ck_assert_ptr_nonnull(t);
    memcpy(t->iv, v, (size_t)n * sizeof *v);
    return t;
}

static rec_tensor *param(rec_pstore *ps, const char *name, int nd, const int64_t *shape,
                         unsigned seed)
{
    rec_tensor *t = rec_pstore_add(ps, name, nd, shape, 0);
    ck_assert_ptr_nonnull(t);
    tu_fill(t, seed, -1.0f, 1.0f);
    return t;
}

static void expect_vals(const rec_tensor *t, const double *want, int64_t n, double tol)
{
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->n, n);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(fabs((double)t->v[i] - want[i]) <= tol, "value %lld: got %.7g, want %.7g",
                      (long long)i, (double)t->v[i], want[i]);
}

static void expect_fail(rec_graph *g, rec_tensor *out, rec_status st, const char *s1,
                        const char *s2)
{
    ck_assert_ptr_null(out);
    ck_assert_int_eq(rec_graph_status(g), st);
    const char *want[2] = { s1, s2 };
    for (int i = 0; i < 2; i++)
        if (want[i])
            ck_assert_msg(strstr(rec_last_error(), want[i]) != NULL, "message '%s' lacks '%s'",
                          rec_last_error(), want[i]);
    rec_graph_reset(g);
}

static void expect_err(rec_status got, rec_status st, const char *s1)
{
    ck_assert_int_eq(got, st);
    ck_assert_msg(strstr(rec_last_error(), s1) != NULL, "message '%s' lacks '%s'",
                  rec_last_error(), s1);
}

/* A loss over a layer: the context holds the store, layers and inputs. */
typedef struct ctx {
    rec_pstore *ps;
    rec_nn_embedding emb;
    rec_nn_embedding_bag bag;
    rec_nn_mlp mlp;
    rec_nn_layernorm ln;
    rec_nn_gru gru;
    rec_nn_mha mha;
    rec_nn_transformer blk;
    rec_nn_position pos;
    rec_nn_conv1d conv;
    rec_nn_gated_mix mix;
    rec_nn_moe moe;
    rec_nn_feature_gate fg;
    rec_nn_attn_pool ap;
    rec_tensor *x, *x2, *h0;
    int32_t ids[64], offs[16], lens[16];
    int nids, noffs, nlens, causal;
    float w[64];
    int64_t B, T;
} ctx;

static ctx *ctx_new(void)
{
    ctx *c = calloc(1, sizeof *c);
    c->ps = new_store();
    return c;
}

static void ctx_free(ctx *c)
{
    rec_pstore_destroy(c->ps);
    free(c);
}

/* ---- parameter names and init ------------------------------------------------ */

START_TEST(linear_init_names_and_bounds)
{
    rec_pstore *ps = new_store();
    rec_rng r;
    rec_rng_seed(&r, 1);
    rec_nn_linear l;
    ck_assert_int_eq(rec_nn_linear_init(&l, ps, "user_tower.0", 16, 4, 1, REC_NN_INIT_DEFAULT,
                                        &r), REC_OK);
    ck_assert_ptr_eq(rec_pstore_find(ps, "user_tower.0.weight"), l.weight);
    ck_assert_ptr_eq(rec_pstore_find(ps, "user_tower.0.bias"), l.bias);
    ck_assert_int_eq(l.weight->shape[0], 4);
    ck_assert_int_eq(l.weight->shape[1], 16);
    float mx = 0;
    for (int64_t i = 0; i < l.weight->n; i++)
        mx = fmaxf(mx, fabsf(l.weight->v[i]));
    ck_assert(mx <= 0.25f && mx > 0.1f); /* U(+-1/sqrt(16)) */
    /* duplicate names and bad sizes are errors with messages */
    expect_err(rec_nn_linear_init(&l, ps, "user_tower.0", 16, 4, 1, REC_NN_INIT_DEFAULT, &r),
               REC_E_INVALID, "user_tower.0.weight");
    expect_err(rec_nn_linear_init(&l, ps, "x", 0, 4, 1, REC_NN_INIT_DEFAULT, &r), REC_E_RANGE,
               "in = 0");
    char longp[200];
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = 0;
    expect_err(rec_nn_linear_init(&l, ps, longp, 2, 2, 1, REC_NN_INIT_DEFAULT, &r),
               REC_E_INVALID, "longer than");
    rec_pstore_destroy(ps);
}
END_TEST

/* ---- Embedding ----------------------------------------------------------------- */

START_TEST(embedding_lookup_padding_and_grad)
{
    rec_pstore *ps = new_store();
    rec_rng r;
    rec_rng_seed(&r, 2);
    rec_nn_embedding e;
    rec_nn_embedding_opts o = rec_nn_embedding_defaults();
    o.padding_idx = 0;
    ck_assert_int_eq(rec_nn_embedding_init(&e, ps, "item", 5, 3, &o, &r), REC_OK);
    for (int k = 0; k < 3; k++)
        ck_assert_float_eq(e.weight->v[k], 0.0f); /* padding row zeroed */
    for (int64_t i = 0; i < e.weight->n; i++)
        e.weight->v[i] = (float)i;
    rec_graph *g = new_graph();
    rec_tensor *y = rec_nn_embedding_forward(g, &e, ids_of(g, 3, (const int32_t[]){ 2, 0, 4 }));
    const double want[9] = { 6, 7, 8, 0, 0, 0, 12, 13, 14 };
    expect_vals(y, want, 9, 0);
    rec_pstore_zero_grad(ps);
    ck_assert_int_eq(rec_backward(g, rec_sum(g, y)), REC_OK);
    for (int k = 0; k < 3; k++) {
        ck_assert_float_eq(e.weight->g[0 * 3 + k], 0.0f); /* padding row: no gradient */
        ck_assert_float_eq(e.weight->g[2 * 3 + k], 1.0f);
        ck_assert_float_eq(e.weight->g[4 * 3 + k], 1.0f);
    }
    rec_graph_reset(g);
    expect_fail(g, rec_nn_embedding_forward(g, &e, ids_of(g, 2, (const int32_t[]){ 1, 5 })),
                REC_E_RANGE, "rec_nn_embedding_forward", "ids[1] = 5");
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
}
END_TEST

START_TEST(embedding_max_norm_renorms_rows)
{
    rec_pstore *ps = new_store();
    rec_rng r;
    rec_rng_seed(&r, 3);
    rec_nn_embedding e;
    rec_nn_embedding_opts o = rec_nn_embedding_defaults();
    o.max_norm = 1.0f;
    ck_assert_int_eq(rec_nn_embedding_init(&e, ps, "e", 3, 2, &o, &r), REC_OK);
    const float w[6] = { 3, 4, 0.3f, 0.4f, 6, 8 };
    memcpy(e.weight->v, w, sizeof w);
    rec_graph *g = new_graph();
    rec_tensor *y = rec_nn_embedding_forward(g, &e, ids_of(g, 3, (const int32_t[]){ 0, 1, 0 }));
    double s = 1.0 / (5.0 + 1e-7);
    const double want[6] = { 3 * s, 4 * s, 0.3, 0.4, 3 * s, 4 * s };
    expect_vals(y, want, 6, 1e-6);
    /* the table itself was renormed, and only the looked-up rows */
    ck_assert_float_near(e.weight->v[0], 3 * s, 1e-6);
    ck_assert_float_eq(e.weight->v[4], 6.0f);
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
}
END_TEST

START_TEST(embedding_hashed_ids)
{
    rec_pstore *ps = new_store();
    rec_rng r;
    rec_rng_seed(&r, 4);
    rec_nn_embedding e, e2, e3;
    rec_nn_embedding_opts o = rec_nn_embedding_defaults();
    o.hash_buckets = 7;
    o.hash_seed = 11;
    o.padding_idx = 0;
    ck_assert_int_eq(rec_nn_embedding_init(&e, ps, "h", 1000000, 2, &o, &r), REC_OK);
    ck_assert_int_eq(e.weight->shape[0], 7);
    ck_assert_int_eq(rec_nn_embedding_init(&e2, ps, "h2", 0, 2, &o, &r), REC_OK);
    o.hash_seed = 12;
    ck_assert_int_eq(rec_nn_embedding_init(&e3, ps, "h3", 0, 2, &o, &r), REC_OK);
    int used[7] = { 0 }, differ = 0;
    for (int64_t id = 1; id < 2000; id++) {
        int32_t row = rec_nn_embedding_row(&e, id);
        ck_assert(row >= 0 && row < 7);
        ck_assert_int_eq(row, rec_nn_embedding_row(&e2, id)); /* same seed, same row */
        differ += row != rec_nn_embedding_row(&e3, id);
        used[row]++;
    }
    for (int k = 0; k < 7; k++)
        ck_assert_int_gt(used[k], 200); /* spread over the buckets */
    ck_assert_int_gt(differ, 1000);
    ck_assert_int_eq(rec_nn_embedding_row(&e, 0), -1);
    ck_assert_int_eq(rec_nn_embedding_row(&e, -3), -1);
    /* forward reads the hashed rows; huge ids are fine */
    rec_graph *g = new_graph();
    rec_tensor *y =
        rec_nn_embedding_forward(g, &e, ids_of(g, 2, (const int32_t[]){ 2000000000, 0 }));
    ck_assert_ptr_nonnull(y);
    int32_t row = rec_nn_embedding_row(&e, 2000000000);
    ck_assert_float_eq(y->v[0], e.weight->v[row * 2]);
    ck_assert_float_eq(y->v[2], 0.0f);
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
}
END_TEST

static rec_tensor *build_emb(rec_graph *g, void *p)
{
    ctx *c = p;
    int64_t n = c->nids;
    rec_tensor *ids = rec_tensor_i32(g, n);
    memcpy(ids->iv, c->ids, (size_t)n * sizeof(int32_t));
    return tu_wsum(g, rec_nn_embedding_forward(g, &c->emb, ids));
}

START_TEST(embedding_gradcheck_dense_and_sparse)
{
    for (int sparse = 0; sparse < 2; sparse++) {
        ctx *c = ctx_new();
        rec_rng r;
        rec_rng_seed(&r, 5);
        rec_nn_embedding_opts o = rec_nn_embedding_defaults();
        o.padding_idx = 1;
        o.sparse = sparse;
        ck_assert_int_eq(rec_nn_embedding_init(&c->emb, c->ps, "e", 4, 3, &o, &r), REC_OK);
        const int32_t ids[5] = { 0, 1, 3, 0, -1 };
        memcpy(c->ids, ids, sizeof ids);
        c->nids = 5;
        tu_gradcheck(c->ps, build_emb, c, GC_EPS, GC_ATOL, GC_RTOL);
        ctx_free(c);
    }
}
END_TEST

/* ---- EmbeddingBag --------------------------------------------------------------- */

START_TEST(embedding_bag_modes_and_weights)
{
    rec_pstore *ps = new_store();
    rec_rng r;
    rec_rng_seed(&r, 6);
    rec_nn_embedding_opts o = rec_nn_embedding_defaults();
    o.padding_idx = 3;
    rec_nn_embedding_bag eb[3];
    const rec_reduce modes[3] = { REC_REDUCE_SUM, REC_REDUCE_MEAN, REC_REDUCE_MAX };
    const char *names[3] = { "s", "m", "x" };
    const double want[3][6] = { { 4, 6, 0, 0, 5, 1 }, { 2, 3, 0, 0, 5, 1 }, { 3, 4, 0, 0, 5, 1 } };
    rec_graph *g = new_graph();
    for (int m = 0; m < 3; m++) {
        ck_assert_int_eq(rec_nn_embedding_bag_init(&eb[m], ps, names[m], 4, 2, modes[m], &o, &r),
                         REC_OK);
        const float w[8] = { 1, 2, 3, 4, 5, 1, 9, 9 };
        memcpy(eb[m].emb.weight->v, w, sizeof w);
        /* bags {0, 1, pad}, {}, {2, pad}: the padding id is skipped, even by mean */
        rec_tensor *y = rec_nn_embedding_bag_forward(
            g, &eb[m], ids_of(g, 5, (const int32_t[]){ 0, 1, 3, 2, 3 }),
            ids_of(g, 4, (const int32_t[]){ 0, 3, 3, 5 }), NULL);
        expect_vals(y, want[m], 6, 1e-6);
    }
    /* per-sample weights (sum) */
    rec_tensor *wt = rec_tensor_1d(g, 2);
    wt->v[0] = 2.0f;
    wt->v[1] = -1.0f;
    rec_tensor *y = rec_nn_embedding_bag_forward(g, &eb[0], ids_of(g, 2, (const int32_t[]){ 0, 1 }),
                                                 ids_of(g, 2, (const int32_t[]){ 0, 2 }), wt);
    const double ww[2] = { -1, 0 };
    expect_vals(y, ww, 2, 1e-6);
    expect_fail(g, rec_nn_embedding_bag_forward(g, &eb[0], ids_of(g, 1, (const int32_t[]){ 4 }),
                                                ids_of(g, 2, (const int32_t[]){ 0, 1 }), NULL),
                REC_E_RANGE, "rec_nn_embedding_bag_forward", "ids[0] = 4");
    expect_err(rec_nn_embedding_bag_init(&eb[0], ps, "bad", 4, 2, (rec_reduce)7, NULL, &r),
               REC_E_INVALID, "unknown mode 7");
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
}
END_TEST

static rec_tensor *build_bag(rec_graph *g, void *p)
{
    ctx *c = p;
    rec_tensor *ids = ids_of(g, c->nids, c->ids), *off = ids_of(g, c->noffs, c->offs);
    rec_tensor *w = NULL;
    if (c->bag.mode != REC_REDUCE_MAX) {
        w = rec_tensor_1d(g, c->nids);
        memcpy(w->v, c->w, (size_t)c->nids * sizeof(float));
    }
    return tu_wsum(g, rec_nn_embedding_bag_forward(g, &c->bag, ids, off, w));
}

START_TEST(embedding_bag_gradcheck)
{
    for (int m = 0; m < 3; m++) {
        ctx *c = ctx_new();
        rec_rng r;
        rec_rng_seed(&r, 7);
        rec_nn_embedding_opts o = rec_nn_embedding_defaults();
        o.padding_idx = 2;
        ck_assert_int_eq(rec_nn_embedding_bag_init(&c->bag, c->ps, "b", 5, 3, (rec_reduce)m, &o,
                                                   &r), REC_OK);
        const int32_t ids[6] = { 0, 1, 2, 4, 3, 1 }, offs[4] = { 0, 3, 3, 6 };
        memcpy(c->ids, ids, sizeof ids);
        memcpy(c->offs, offs, sizeof offs);
        c->nids = 6;
        c->noffs = 4;
        for (int i = 0; i < 6; i++)
            c->w[i] = 0.5f + 0.25f * (float)i;
        tu_gradcheck(c->ps, build_bag, c, 1e-3, GC_ATOL, GC_RTOL);
        ctx_free(c);
    }
}
END_TEST

/* ---- Linear, MLP ------------------------------------------------------------------- */

START_TEST(mlp_forward_by_hand_and_dropout_modes)
{
    rec_pstore *ps = new_store();
    rec_rng r;
    rec_rng_seed(&r, 8);
    rec_nn_mlp m;
    ck_assert_int_eq(rec_nn_mlp_init(&m, ps, "tower", 2, S(2, 2, 1), REC_NN_ACT_RELU, 0.5f, 0,
                                     REC_NN_INIT_DEFAULT, &r), REC_OK);
    ck_assert_ptr_nonnull(rec_pstore_find(ps, "tower.1.bias"));
    const float w0[4] = { 1, -1, 2, 1 }, b0[2] = { 0, -10 }, w1[2] = { 3, 5 }, b1[1] = { 1 };
    memcpy(m.layer[0].weight->v, w0, sizeof w0);
    memcpy(m.layer[0].bias->v, b0, sizeof b0);
    memcpy(m.layer[1].weight->v, w1, sizeof w1);
    memcpy(m.layer[1].bias->v, b1, sizeof b1);
    rec_graph *g = new_graph();
    /* x = (2, 1): h = relu(1, -5) = (1, 0); y = 3 + 1 = 4 */
    rec_tensor *x = rec_tensor_from(g, (const float[]){ 2, 1 }, 2, S(1, 2));
    rec_tensor *y = rec_nn_mlp_forward(g, &m, x);
    const double want[1] = { 4 };
    expect_vals(y, want, 1, 1e-6);
    /* training: dropout changes values; eval (default): identical on every call */
    float big[64];
    for (int i = 0; i < 64; i++)
        big[i] = i % 2 ? 1.0f : 2.0f + (float)i / 64.0f;
    rec_tensor *xb = rec_tensor_from(g, big, 2, S(32, 2));
    rec_tensor *e1 = rec_nn_mlp_forward(g, &m, xb), *e2 = rec_nn_mlp_forward(g, &m, xb);
    ck_assert_mem_eq(e1->v, e2->v, 32 * sizeof(float));
    rec_graph_set_training(g, 1);
    rec_tensor *t1 = rec_nn_mlp_forward(g, &m, xb);
    int changed = 0;
    for (int i = 0; i < 32; i++)
        changed += t1->v[i] != e1->v[i];
    ck_assert_int_gt(changed, 0);
    rec_graph_set_training(g, 0);
    rec_graph_reset(g);
    expect_fail(g, rec_nn_mlp_forward(g, &m, rec_tensor_zeros(g, REC_F32, 2, S(1, 3))),
                REC_E_INVALID, "rec_linear", "[1,3]");
    rec_nn_act act;
    expect_err(rec_nn_act_parse("swish", "model", &act), REC_E_INVALID, "'swish'");
    ck_assert_int_eq(rec_nn_act_parse("gelu", "model", &act), REC_OK);
    ck_assert_int_eq(act, REC_NN_ACT_GELU);
    expect_err(rec_nn_mlp_init(&m, ps, "t2", 9, S(1, 1, 1, 1, 1, 1, 1, 1, 1, 1),
                               REC_NN_ACT_RELU, 0, 0, REC_NN_INIT_DEFAULT, &r),
               REC_E_RANGE, "9 layers");
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
}
END_TEST

static rec_tensor *build_mlp(rec_graph *g, void *p)
{
    ctx *c = p;
    return tu_wsum(g, rec_nn_mlp_forward(g, &c->mlp, c->x));
}

START_TEST(mlp_gradcheck_every_activation)
{
    for (int a = REC_NN_ACT_NONE; a <= REC_NN_ACT_SIGMOID; a++) {
        ctx *c = ctx_new();
        rec_rng r;
        rec_rng_seed(&r, 9);
        ck_assert_int_eq(rec_nn_mlp_init(&c->mlp, c->ps, "m", 3, S(3, 4, 4, 2), (rec_nn_act)a,
                                         0.0f, 1, REC_NN_INIT_XAVIER_UNIFORM, &r), REC_OK);
        c->x = param(c->ps, "x", 2, S(3, 3), 10);
        tu_gradcheck(c->ps, build_mlp, c, 1e-3, GC_ATOL, GC_RTOL);
        ctx_free(c);
    }
}
END_TEST

/* ---- LayerNorm ----------------------------------------------------------------------- */

static rec_tensor *build_ln(rec_graph *g, void *p)
{
    ctx *c = p;
    return tu_wsum(g, rec_nn_layernorm_forward(g, &c->ln, c->x));
}

START_TEST(layernorm_values_and_gradcheck)
{
    ctx *c = ctx_new();
    ck_assert_int_eq(rec_nn_layernorm_init(&c->ln, c->ps, "ln", 4, 1e-5f), REC_OK);
    rec_graph *g = new_graph();
    rec_tensor *y = rec_nn_layernorm_forward(
        g, &c->ln, rec_tensor_from(g, (const float[]){ 1, 2, 3, 4 }, 2, S(1, 4)));
    double sd = sqrt(1.25 + 1e-5);
    const double want[4] = { -1.5 / sd, -0.5 / sd, 0.5 / sd, 1.5 / sd };
    expect_vals(y, want, 4, 1e-5);
    expect_fail(g, rec_nn_layernorm_forward(g, &c->ln, rec_tensor_zeros(g, REC_F32, 2, S(2, 3))),
                REC_E_INVALID, "rec_nn_layernorm_forward", "3 columns");
    rec_graph_destroy(g);
    tu_fill(c->ln.weight, 11, 0.5f, 1.5f);
    tu_fill(c->ln.bias, 12, -1.0f, 1.0f);
    c->x = param(c->ps, "x", 2, S(3, 4), 13);
    tu_gradcheck(c->ps, build_ln, c, 1e-3, GC_ATOL, GC_RTOL);
    ctx_free(c);
}
END_TEST

/* ---- GRU ------------------------------------------------------------------------------- */

static double sg(double v) { return 1.0 / (1.0 + exp(-v)); }

START_TEST(gru_one_step_by_hand)
{
    rec_pstore *ps = new_store();
    rec_rng r;
    rec_rng_seed(&r, 14);
    rec_nn_gru m;
    ck_assert_int_eq(rec_nn_gru_init(&m, ps, "gru", 1, 1, &r), REC_OK);
    ck_assert_ptr_nonnull(rec_pstore_find(ps, "gru.weight_hh_l0"));
    const float wi[3] = { 0.5f, -1.0f, 2.0f }, wh[3] = { 1.5f, 0.25f, -0.5f };
    const float bi[3] = { 0.1f, 0.2f, 0.3f }, bh[3] = { -0.2f, 0.4f, 0.6f };
    memcpy(m.w_ih->v, wi, sizeof wi);
    memcpy(m.w_hh->v, wh, sizeof wh);
    memcpy(m.b_ih->v, bi, sizeof bi);
    memcpy(m.b_hh->v, bh, sizeof bh);
    rec_graph *g = new_graph();
    double x = 0.7, h = -0.3;
    rec_tensor *xt = rec_tensor_from(g, (const float[]){ 0.7f }, 3, S(1, 1, 1));
    rec_tensor *h0 = rec_tensor_from(g, (const float[]){ -0.3f }, 2, S(1, 1));
    rec_tensor *hl, *out = rec_nn_gru_forward(g, &m, xt, h0, NULL, &hl);
    double rr = sg(0.5 * x + 0.1 + 1.5 * h - 0.2), z = sg(-1.0 * x + 0.2 + 0.25 * h + 0.4);
    double n = tanh(2.0 * x + 0.3 + rr * (-0.5 * h + 0.6));
    const double want[1] = { (1 - z) * n + z * h };
    expect_vals(out, want, 1, 1e-6);
    expect_vals(hl, want, 1, 1e-6);
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
}
END_TEST

static rec_tensor *build_gru(rec_graph *g, void *p)
{
    ctx *c = p;
    rec_tensor *len = c->nlens ? ids_of(g, c->nlens, c->lens) : NULL, *hl;
    rec_tensor *out = rec_nn_gru_forward(g, &c->gru, c->x, c->h0, len, &hl);
    return rec_add(g, tu_wsum(g, out), tu_wsum(g, rec_scale(g, hl, 3.0f)));
}

START_TEST(gru_gradcheck_masked_sequences)
{
    for (int masked = 0; masked < 2; masked++) {
        ctx *c = ctx_new();
        rec_rng r;
        rec_rng_seed(&r, 15);
        ck_assert_int_eq(rec_nn_gru_init(&c->gru, c->ps, "gru", 2, 3, &r), REC_OK);
        c->x = param(c->ps, "x", 3, S(3, 4, 2), 16);
        c->h0 = param(c->ps, "h0", 2, S(3, 3), 17);
        if (masked) {
            const int32_t lens[3] = { 4, 1, 2 };
            memcpy(c->lens, lens, sizeof lens);
            c->nlens = 3;
        }
        tu_gradcheck(c->ps, build_gru, c, GC_EPS, GC_ATOL, GC_RTOL);
        ctx_free(c);
    }
}
END_TEST

START_TEST(gru_padding_steps_and_encoder)
{
    rec_pstore *ps = new_store();
    rec_rng r;
    rec_rng_seed(&r, 18);
    rec_nn_gru m;
    ck_assert_int_eq(rec_nn_gru_init(&m, ps, "gru", 2, 3, &r), REC_OK);
    rec_graph *g = new_graph();
    float xv[2 * 3 * 2];
    for (int i = 0; i < 12; i++)
        xv[i] = (float)i / 6.0f - 1.0f;
    rec_tensor *x = rec_tensor_from(g, xv, 3, S(2, 3, 2));
    /* sequence 1 has one valid step: its encoding equals running it alone */
    rec_tensor *enc = rec_nn_gru_encode(g, &m, x, ids_of(g, 2, (const int32_t[]){ 3, 1 }));
    rec_tensor *out = rec_nn_gru_forward(g, &m, x, NULL, ids_of(g, 2, (const int32_t[]){ 3, 1 }),
                                         NULL);
    ck_assert_ptr_nonnull(enc);
    for (int k = 0; k < 3; k++) {
        ck_assert_float_eq(out->v[(1 * 3 + 1) * 3 + k], 0.0f); /* padded outputs are zero */
        ck_assert_float_eq(out->v[(1 * 3 + 2) * 3 + k], 0.0f);
        ck_assert_float_eq(enc->v[3 + k], out->v[(1 * 3 + 0) * 3 + k]);
        ck_assert_float_eq(enc->v[k], out->v[(0 * 3 + 2) * 3 + k]);
    }
    rec_tensor *x1 = rec_tensor_from(g, xv + 6, 3, S(1, 1, 2));
    rec_tensor *alone = rec_nn_gru_encode(g, &m, x1, NULL);
    for (int k = 0; k < 3; k++)
        ck_assert_float_eq(alone->v[k], enc->v[3 + k]);
    /* errors (each case on a reset graph, so x is made again) */
    expect_fail(g, rec_nn_gru_encode(g, &m, x, ids_of(g, 2, (const int32_t[]){ 3, 0 })),
                REC_E_RANGE, "rec_gru", "lengths[1] = 0");
    expect_fail(g, rec_nn_gru_encode(g, &m, rec_tensor_zeros(g, REC_F32, 3, S(2, 3, 4)), NULL),
                REC_E_INVALID, "rec_gru: weight_ih [9,2]", "[2,3,4]");
    x = rec_tensor_from(g, xv, 3, S(2, 3, 2));
    expect_fail(g, rec_nn_gru_forward(g, &m, x, rec_tensor_zeros(g, REC_F32, 2, S(2, 2)), NULL,
                                      NULL),
                REC_E_INVALID, "h0 [2,2]", "[2, 3]");
    expect_fail(g, rec_nn_gru_encode(g, &m, rec_tensor_zeros(g, REC_F32, 2, S(2, 2)), NULL),
                REC_E_INVALID, "rec_gru: x [2,2]", NULL);
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
}
END_TEST

/* Forward values and every gradient, at the given thread count. */
static void gru_run(rec_nn_gru *m, rec_pstore *ps, rec_tensor *xp, float **vals, float **grads)
{
    rec_graph *g = new_graph();
    rec_pstore_zero_grad(ps);
    int32_t lens[520];
    for (int b = 0; b < 520; b++)
        lens[b] = 1 + b % 4;
    rec_tensor *out = rec_nn_gru_forward(g, m, xp, NULL, ids_of(g, 520, lens), NULL);
    ck_assert_int_eq(rec_backward(g, tu_wsum(g, out)), REC_OK);
    *vals = malloc((size_t)out->n * sizeof(float));
    memcpy(*vals, out->v, (size_t)out->n * sizeof(float));
    size_t total = 0;
    for (size_t i = 0; i < rec_pstore_count(ps); i++)
        total += (size_t)rec_pstore_at(ps, i)->n;
    *grads = malloc(total * sizeof(float));
    total = 0;
    for (size_t i = 0; i < rec_pstore_count(ps); i++) {
        rec_tensor *t = rec_pstore_at(ps, i);
        memcpy(*grads + total, t->g, (size_t)t->n * sizeof(float));
        total += (size_t)t->n;
    }
    rec_graph_destroy(g);
}

START_TEST(gru_threads_identical)
{
    rec_pstore *ps = new_store();
    rec_rng r;
    rec_rng_seed(&r, 19);
    rec_nn_gru m;
    ck_assert_int_eq(rec_nn_gru_init(&m, ps, "gru", 4, 72, &r), REC_OK);
    rec_tensor *x = param(ps, "x", 3, S(520, 4, 4), 20); /* 520 x 72 gates: several slices */
    size_t np = 4 * 72 * 3 + 72 * 72 * 3 + 2 * 72 * 3 + 520 * 16;
    float *v1, *g1, *v2, *g2;
    int before = rec_get_num_threads();
    rec_set_num_threads(1);
    gru_run(&m, ps, x, &v1, &g1);
    rec_set_num_threads(2);
    gru_run(&m, ps, x, &v2, &g2);
    rec_set_num_threads(before);
    ck_assert_mem_eq(v1, v2, 520 * 4 * 72 * sizeof(float));
    ck_assert_mem_eq(g1, g2, np * sizeof(float));
    free(v1);
    free(g1);
    free(v2);
    free(g2);
    rec_pstore_destroy(ps);
}
END_TEST

/* ---- attention ----------------------------------------------------------------------------- */

/* q = k = v = x and out_proj = I: the output is the attention-weighted x. */
static void mha_identity(rec_nn_mha *a)
{
    memset(a->in_w->v, 0, (size_t)a->in_w->n * sizeof(float));
    memset(a->out_w->v, 0, (size_t)a->out_w->n * sizeof(float));
    int64_t d = a->dim;
    for (int64_t blk = 0; blk < 3; blk++)
        for (int64_t i = 0; i < d; i++)
            a->in_w->v[(blk * d + i) * d + i] = 1.0f;
    for (int64_t i = 0; i < d; i++)
        a->out_w->v[i * d + i] = 1.0f;
}

START_TEST(mha_one_head_two_positions_by_hand)
{
    rec_pstore *ps = new_store();
    rec_rng r;
    rec_rng_seed(&r, 21);
    rec_nn_mha a;
    ck_assert_int_eq(rec_nn_mha_init(&a, ps, "attn", 2, 1, 0.0f, REC_NN_INIT_DEFAULT, &r),
                     REC_OK);
    ck_assert_ptr_nonnull(rec_pstore_find(ps, "attn.out_proj.bias"));
    mha_identity(&a);
    rec_graph *g = new_graph();
    rec_tensor *x = rec_tensor_from(g, (const float[]){ 1, 0, 0, 1 }, 3, S(1, 2, 2));
    double e = exp(1.0 / sqrt(2.0)), lo = 1.0 / (1.0 + e), hi = e / (1.0 + e);
    const double causal[4] = { 1, 0, lo, hi }, full[4] = { hi, lo, lo, hi };
    expect_vals(rec_nn_mha_forward(g, &a, x, 1, NULL), causal, 4, 1e-6);
    expect_vals(rec_nn_mha_forward(g, &a, x, 0, NULL), full, 4, 1e-6);
    /* key padding: only key 0 is left */
    const double pad[4] = { 1, 0, 1, 0 };
    expect_vals(rec_nn_mha_forward(g, &a, x, 0, ids_of(g, 1, (const int32_t[]){ 1 })), pad, 4,
                1e-6);
    expect_fail(g, rec_nn_mha_forward(g, &a, rec_tensor_zeros(g, REC_F32, 3, S(1, 2, 3)), 1, NULL),
                REC_E_INVALID, "rec_nn_mha_forward: x [1,2,3]", "[B, T, 2]");
    x = rec_tensor_from(g, (const float[]){ 1, 0, 0, 1 }, 3, S(1, 2, 2));
    expect_fail(g, rec_nn_mha_forward(g, &a, x, 1, ids_of(g, 1, (const int32_t[]){ 3 })),
                REC_E_RANGE, "lengths[0] = 3", NULL);
    expect_err(rec_nn_mha_init(&a, ps, "bad", 5, 2, 0.0f, REC_NN_INIT_DEFAULT, &r), REC_E_INVALID,
               "multiple of heads");
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
}
END_TEST

static rec_tensor *build_mha(rec_graph *g, void *p)
{
    ctx *c = p;
    rec_graph_set_training(g, 1); /* gradcheck reseeds: the same dropout masks each time */
    rec_tensor *len = c->nlens ? ids_of(g, c->nlens, c->lens) : NULL;
    return tu_wsum(g, rec_nn_mha_forward(g, &c->mha, c->x, c->causal, len));
}

START_TEST(mha_gradcheck_heads_masks_dropout)
{
    for (int variant = 0; variant < 3; variant++) {
        ctx *c = ctx_new();
        rec_rng r;
        rec_rng_seed(&r, 22);
        ck_assert_int_eq(rec_nn_mha_init(&c->mha, c->ps, "a", 4, 2, variant == 2 ? 0.3f : 0.0f,
                                         REC_NN_INIT_DEFAULT, &r), REC_OK);
        tu_fill(c->mha.in_b, 23, -0.5f, 0.5f);
        tu_fill(c->mha.out_b, 24, -0.5f, 0.5f);
        c->x = param(c->ps, "x", 3, S(2, 3, 4), 25);
        c->causal = variant != 1;
        if (variant >= 1) {
            c->lens[0] = 3;
            c->lens[1] = 2;
            c->nlens = 2;
        }
        tu_gradcheck(c->ps, build_mha, c, GC_EPS, GC_ATOL, GC_RTOL);
        ctx_free(c);
    }
}
END_TEST

/* ---- transformer block, positions ------------------------------------------------------- */

static rec_tensor *build_blk(rec_graph *g, void *p)
{
    ctx *c = p;
    rec_graph_set_training(g, 1);
    rec_tensor *keep = rec_tensor_new(g, REC_I32, 2, S(c->B, c->T));
    memcpy(keep->iv, c->ids, (size_t)(c->B * c->T) * sizeof(int32_t));
    rec_tensor *x = rec_add(g, c->x, rec_nn_position_forward(g, &c->pos, c->B, c->T, keep));
    return tu_wsum(g, rec_nn_transformer_forward(g, &c->blk, x, keep, NULL));
}

START_TEST(transformer_shapes_padding_and_gradcheck)
{
    ctx *c = ctx_new();
    rec_rng r;
    rec_rng_seed(&r, 26);
    ck_assert_int_eq(rec_nn_transformer_init(&c->blk, c->ps, "blk.0", 4, 1, 4, 0.25f, 1e-8f,
                                             REC_NN_INIT_XAVIER_NORMAL, &r), REC_OK);
    ck_assert_int_eq(rec_nn_position_init(&c->pos, c->ps, "pos", 5, 4, 1, REC_NN_INIT_DEFAULT,
                                          &r), REC_OK);
    ck_assert_ptr_nonnull(rec_pstore_find(c->ps, "blk.0.attn.in_proj_weight"));
    ck_assert_ptr_nonnull(rec_pstore_find(c->ps, "blk.0.ff2.bias"));
    ck_assert_ptr_nonnull(rec_pstore_find(c->ps, "blk.0.ln_f.weight"));
    for (int k = 0; k < 4; k++)
        ck_assert_float_eq(c->pos.weight->v[k], 0.0f);
    c->B = 2;
    c->T = 3;
    /* left padding as SASRec: sequence 0 is [pad, a, b], sequence 1 full */
    const int32_t keep[6] = { 0, 1, 1, 1, 1, 1 };
    memcpy(c->ids, keep, sizeof keep);
    c->x = param(c->ps, "x", 3, S(2, 3, 4), 27);
    rec_graph *g = new_graph();
    rec_tensor *kt = rec_tensor_new(g, REC_I32, 2, S(2, 3));
    memcpy(kt->iv, keep, sizeof keep);
    rec_tensor *y = rec_nn_transformer_forward(g, &c->blk, c->x, kt, NULL);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(y->nd, 3);
    ck_assert_int_eq(y->shape[0], 2);
    ck_assert_int_eq(y->shape[1], 3);
    ck_assert_int_eq(y->shape[2], 4);
    for (int k = 0; k < 4; k++)
        ck_assert_float_eq(y->v[k], 0.0f); /* the padding row is zero */
    int nonzero = 0;
    for (int i = 4; i < 24; i++)
        nonzero += y->v[i] != 0.0f;
    ck_assert_int_eq(nonzero, 20);
    /* eval mode: no dropout, the same output twice */
    rec_tensor *y2 = rec_nn_transformer_forward(g, &c->blk, c->x, kt, NULL);
    ck_assert_mem_eq(y->v, y2->v, 24 * sizeof(float));
    /* positions: row (b, t) is position t + 1, zero where not kept */
    rec_tensor *pe = rec_nn_position_forward(g, &c->pos, 2, 3, kt);
    for (int k = 0; k < 4; k++) {
        ck_assert_float_eq(pe->v[k], 0.0f);
        ck_assert_float_eq(pe->v[4 + k], c->pos.weight->v[2 * 4 + k]);
        ck_assert_float_eq(pe->v[12 + k], c->pos.weight->v[1 * 4 + k]);
    }
    expect_fail(g, rec_nn_position_forward(g, &c->pos, 2, 6, NULL), REC_E_RANGE,
                "rec_nn_position_forward", "maxlen = 5");
    expect_fail(g, rec_nn_mask_rows(g, c->x, rec_tensor_i32(g, 5)), REC_E_INVALID,
                "rec_nn_mask_rows", "[2,3,4]");
    rec_graph_destroy(g);
    tu_fill(c->blk.ln_a.weight, 28, 0.5f, 1.5f);
    tu_fill(c->blk.attn.in_b, 29, -0.5f, 0.5f);
    tu_gradcheck(c->ps, build_blk, c, GC_EPS, 4e-3, GC_RTOL);
    ctx_free(c);
}
END_TEST

/* ---- conv1d, gated mix ------------------------------------------------------------------ */

START_TEST(conv1d_by_hand)
{
    rec_pstore *ps = new_store();
    rec_rng r;
    rec_rng_seed(&r, 30);
    rec_nn_conv1d cv;
    ck_assert_int_eq(rec_nn_conv1d_init(&cv, ps, "conv", 1, 2, 2, REC_NN_INIT_DEFAULT, &r),
                     REC_OK);
    /* filter 0: x_t + x_t+1 - 4; filter 1: x_t - x_t+1 */
    const float w[4] = { 1, 1, 1, -1 }, b[2] = { -4, 0 };
    memcpy(cv.weight->v, w, sizeof w);
    memcpy(cv.bias->v, b, sizeof b);
    rec_graph *g = new_graph();
    /* x = (1, 3, 2): windows (1,3), (3,2) -> f0 (0, 1), f1 (-2, 1) -> relu, max (1, 1) */
    rec_tensor *y = rec_nn_conv1d_encode(g, &cv, rec_tensor_from(g, (const float[]){ 1, 3, 2 }, 3,
                                                                  S(1, 3, 1)));
    const double want[2] = { 1, 1 };
    expect_vals(y, want, 2, 1e-6);
    expect_fail(g, rec_nn_conv1d_encode(g, &cv, rec_tensor_zeros(g, REC_F32, 3, S(1, 1, 1))),
                REC_E_INVALID, "rec_nn_unfold", "kernel = 2");
    expect_fail(g, rec_nn_conv1d_encode(g, &cv, rec_tensor_zeros(g, REC_F32, 3, S(1, 3, 2))),
                REC_E_INVALID, "rec_nn_conv1d_encode", "2 features");
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
}
END_TEST

static rec_tensor *build_conv(rec_graph *g, void *p)
{
    ctx *c = p;
    return tu_wsum(g, rec_nn_conv1d_encode(g, &c->conv, c->x));
}

START_TEST(conv1d_gradcheck)
{
    ctx *c = ctx_new();
    rec_rng r;
    rec_rng_seed(&r, 31);
    ck_assert_int_eq(rec_nn_conv1d_init(&c->conv, c->ps, "c", 3, 4, 2, REC_NN_INIT_DEFAULT, &r),
                     REC_OK);
    tu_fill(c->conv.bias, 32, 0.2f, 0.6f);
    c->x = param(c->ps, "x", 3, S(2, 5, 3), 33);
    tu_gradcheck(c->ps, build_conv, c, 1e-3, GC_ATOL, GC_RTOL);
    ctx_free(c);
}
END_TEST

static rec_tensor *build_mix(rec_graph *g, void *p)
{
    ctx *c = p;
    return tu_wsum(g, rec_nn_gated_mix_forward(g, &c->mix, c->x, c->x2));
}

START_TEST(gated_mix_by_hand_and_gradcheck)
{
    ctx *c = ctx_new();
    rec_rng r;
    rec_rng_seed(&r, 34);
    ck_assert_int_eq(rec_nn_gated_mix_init(&c->mix, c->ps, "mix", 2, REC_NN_INIT_DEFAULT, &r),
                     REC_OK);
    ck_assert_int_eq(c->mix.gate.weight->shape[1], 4);
    rec_graph *g = new_graph();
    /* W = 0, b = (0, ln 3): gates (1/2, 3/4) */
    memset(c->mix.gate.weight->v, 0, 8 * sizeof(float));
    c->mix.gate.bias->v[0] = 0.0f;
    c->mix.gate.bias->v[1] = (float)log(3.0);
    rec_tensor *ul = rec_tensor_from(g, (const float[]){ 4, 8 }, 2, S(1, 2));
    rec_tensor *us = rec_tensor_from(g, (const float[]){ 2, 0 }, 2, S(1, 2));
    const double want[2] = { 3, 6 };
    expect_vals(rec_nn_gated_mix_forward(g, &c->mix, ul, us), want, 2, 1e-5);
    expect_fail(g, rec_nn_gated_mix_forward(g, &c->mix, rec_tensor_zeros(g, REC_F32, 2, S(1, 2)),
                                            rec_tensor_zeros(g, REC_F32, 2, S(2, 2))),
                REC_E_INVALID, "rec_nn_gated_mix_forward", "[B, 2]");
    rec_graph_destroy(g);
    tu_fill(c->mix.gate.weight, 35, -1.0f, 1.0f);
    c->x = param(c->ps, "ul", 2, S(3, 2), 36);
    c->x2 = param(c->ps, "us", 2, S(3, 2), 37);
    tu_gradcheck(c->ps, build_mix, c, GC_EPS, GC_ATOL, GC_RTOL);
    ctx_free(c);
}
END_TEST

/* ---- mixture of experts and feature gates ---------------------------------------- */

static void set_vals(rec_tensor *t, const float *v)
{
    memcpy(t->v, v, (size_t)t->n * sizeof *v);
}

START_TEST(moe_by_hand_and_balance)
{
    ctx *c = ctx_new();
    rec_rng r;
    rec_rng_seed(&r, 40);
    /* two one-layer experts 2 -> 2, a gate reading a 2-column z */
    ck_assert_int_eq(rec_nn_moe_init(&c->moe, c->ps, "moe", 2, 1, S(2, 2), 2, REC_NN_ACT_RELU,
                                     &r), REC_OK);
    ck_assert_ptr_eq(rec_pstore_find(c->ps, "moe.expert1.0.weight"), c->moe.expert[1].layer[0].weight);
    ck_assert_ptr_eq(rec_pstore_find(c->ps, "moe.gate.weight"), c->moe.gate.weight);
    /* E0 = identity, E1(x) = 2x + 1; gate logits (0, z0) */
    set_vals(c->moe.expert[0].layer[0].weight, (const float[]){ 1, 0, 0, 1 });
    set_vals(c->moe.expert[0].layer[0].bias, (const float[]){ 0, 0 });
    set_vals(c->moe.expert[1].layer[0].weight, (const float[]){ 2, 0, 0, 2 });
    set_vals(c->moe.expert[1].layer[0].bias, (const float[]){ 1, 1 });
    set_vals(c->moe.gate.weight, (const float[]){ 0, 0, 1, 0 });
    set_vals(c->moe.gate.bias, (const float[]){ 0, 0 });
    rec_graph *g = new_graph();
    float l3 = (float)log(3.0);
    rec_tensor *x = rec_tensor_from(g, (const float[]){ 1, 2, 0, -1 }, 2, S(2, 2));
    rec_tensor *z = rec_tensor_from(g, (const float[]){ l3, 5, -l3, -7 }, 2, S(2, 2));
    /* row 0: p = (1/4, 3/4) over (1, 2) and (3, 5); row 1: p = (3/4, 1/4)
     * over (0, -1) and (1, -1) */
    rec_tensor *p = NULL;
    const double want[4] = { 2.5, 4.25, 0.25, -1 };
    expect_vals(rec_nn_moe_forward(g, &c->moe, x, z, &p), want, 4, 1e-5);
    const double wp[4] = { 0.25, 0.75, 0.75, 0.25 };
    expect_vals(p, wp, 4, 1e-6);
    /* mean shares (1/2, 1/2): balanced */
    const double b0[1] = { 0 };
    expect_vals(rec_nn_moe_balance(g, p), b0, 1, 1e-6);
    /* one row alone: 2 (1/16 + 9/16) - 1 */
    const double b1[1] = { 0.25 };
    expect_vals(rec_nn_moe_balance(g, rec_slice_rows(g, p, 0, 1)), b1, 1, 1e-6);
    /* one expert takes all: K - 1 */
    const double b2[1] = { 2 };
    expect_vals(rec_nn_moe_balance(g, rec_tensor_from(g, (const float[]){ 0, 1, 0, 0, 1, 0, 0, 1, 0 },
                                                      2, S(3, 3))), b2, 1, 1e-6);
    expect_fail(g, rec_nn_moe_forward(g, &c->moe, x, rec_tensor_zeros(g, REC_F32, 2, S(2, 3)), NULL),
                REC_E_INVALID, "rec_nn_moe_forward", "z [B, 2]");
    expect_fail(g, rec_nn_moe_balance(g, NULL), REC_E_INVALID, "rec_nn_moe_balance", "[B, K]");
    rec_graph_destroy(g);
    rec_nn_moe bad;
    expect_err(rec_nn_moe_init(&bad, c->ps, "m2", 0, 1, S(2, 2), 2, REC_NN_ACT_RELU, &r),
               REC_E_RANGE, "0 experts");
    expect_err(rec_nn_moe_init(&bad, c->ps, "m2", REC_NN_MOE_MAX + 1, 1, S(2, 2), 2,
                               REC_NN_ACT_RELU, &r), REC_E_RANGE, "outside [1, 16]");
    expect_err(rec_nn_moe_init(&bad, c->ps, "moe", 2, 1, S(2, 2), 2, REC_NN_ACT_RELU, &r),
               REC_E_INVALID, "moe.expert0.0.weight");
    ctx_free(c);
}
END_TEST

static rec_tensor *build_moe(rec_graph *g, void *p)
{
    ctx *c = p;
    rec_tensor *probs = NULL, *y = rec_nn_moe_forward(g, &c->moe, c->x, c->x2, &probs);
    if (!y)
        return NULL;
    return rec_add(g, tu_wsum(g, y), rec_scale(g, rec_nn_moe_balance(g, probs), 0.7f));
}

START_TEST(moe_gradcheck)
{
    ctx *c = ctx_new();
    rec_rng r;
    rec_rng_seed(&r, 41);
    /* three experts 3 -> 4 -> 2 (tanh: no kinks for the differences) */
    ck_assert_int_eq(rec_nn_moe_init(&c->moe, c->ps, "moe", 3, 2, S(3, 4, 2), 2,
                                     REC_NN_ACT_TANH, &r), REC_OK);
    tu_fill(c->moe.gate.weight, 42, -1.5f, 1.5f);
    c->x = param(c->ps, "x", 2, S(4, 3), 43);
    c->x2 = param(c->ps, "z", 2, S(4, 2), 44);
    tu_gradcheck(c->ps, build_moe, c, 1e-3, GC_ATOL, GC_RTOL);
    ctx_free(c);
}
END_TEST

START_TEST(feature_gate_by_hand)
{
    ctx *c = ctx_new();
    rec_rng r;
    rec_rng_seed(&r, 45);
    /* a 2-column feature and a 1-column one, gates read 1 context column */
    ck_assert_int_eq(rec_nn_feature_gate_init(&c->fg, c->ps, "fg", 2, S(2, 1), 1, &r), REC_OK);
    ck_assert_ptr_eq(rec_pstore_find(c->ps, "fg.weight"), c->fg.gate.weight);
    rec_graph *g = new_graph();
    rec_tensor *x = rec_tensor_from(g, (const float[]){ 1, 2, 3, -1, 4, 5 }, 2, S(2, 3));
    rec_tensor *cx = rec_tensor_from(g, (const float[]){ (float)-log(3.0), 9 }, 2, S(2, 1));
    /* at init every gate is 1: the identity */
    const double same[6] = { 1, 2, 3, -1, 4, 5 };
    expect_vals(rec_nn_feature_gate_forward(g, &c->fg, x, cx, NULL), same, 6, 0);
    /* w = (1, 0), b = (0, ln 3): row 0 gates 2 s(-ln 3) = 1/2 and 2 s(ln 3) = 3/2;
     * row 1: 2 s(9) and 3/2 */
    rec_graph_reset(g);
    set_vals(c->fg.gate.weight, (const float[]){ 1, 0 });
    set_vals(c->fg.gate.bias, (const float[]){ 0, (float)log(3.0) });
    x = rec_tensor_from(g, (const float[]){ 1, 2, 3, -1, 4, 5 }, 2, S(2, 3));
    cx = rec_tensor_from(g, (const float[]){ (float)-log(3.0), 9 }, 2, S(2, 1));
    double s9 = 2.0 / (1.0 + exp(-9.0));
    const double want[6] = { 0.5, 1, 4.5, -s9, 4 * s9, 7.5 };
    rec_tensor *a = NULL;
    expect_vals(rec_nn_feature_gate_forward(g, &c->fg, x, cx, &a), want, 6, 1e-5);
    const double wa[4] = { 0.5, 1.5, s9, 1.5 };
    expect_vals(a, wa, 4, 1e-6);
    expect_fail(g, rec_nn_feature_gate_forward(g, &c->fg, x, rec_tensor_zeros(g, REC_F32, 2, S(2, 2)),
                                               NULL),
                REC_E_INVALID, "rec_nn_feature_gate_forward", "c [B, 1]");
    rec_graph_destroy(g);
    rec_nn_feature_gate bad;
    expect_err(rec_nn_feature_gate_init(&bad, c->ps, "fg2", 2, S(2, 0), 1, &r), REC_E_RANGE,
               "width of feature 1");
    expect_err(rec_nn_feature_gate_init(&bad, c->ps, "fg2", 0, S(1), 1, &r), REC_E_RANGE,
               "0 features");
    ctx_free(c);
}
END_TEST

static rec_tensor *build_fg(rec_graph *g, void *p)
{
    ctx *c = p;
    return tu_wsum(g, rec_nn_feature_gate_forward(g, &c->fg, c->x, c->x2, NULL));
}

START_TEST(feature_gate_gradcheck)
{
    ctx *c = ctx_new();
    rec_rng r;
    rec_rng_seed(&r, 46);
    ck_assert_int_eq(rec_nn_feature_gate_init(&c->fg, c->ps, "fg", 3, S(2, 1, 3), 4, &r),
                     REC_OK);
    tu_fill(c->fg.gate.weight, 47, -1.0f, 1.0f);
    tu_fill(c->fg.gate.bias, 48, -0.5f, 0.5f);
    c->x = param(c->ps, "x", 2, S(3, 6), 49);
    c->x2 = param(c->ps, "c", 2, S(3, 4), 50);
    tu_gradcheck(c->ps, build_fg, c, GC_EPS, GC_ATOL, GC_RTOL);
    ctx_free(c);
}
END_TEST

/* ---- attention pooling -------------------------------------------------------------- */

START_TEST(attn_pool_by_hand_and_padding)
{
    ctx *c = ctx_new();
    rec_rng r;
    rec_rng_seed(&r, 51);
    ck_assert_int_eq(rec_nn_attn_pool_init(&c->ap, c->ps, "ap", 2, 2, &r), REC_OK);
    ck_assert_ptr_eq(rec_pstore_find(c->ps, "ap.query"), c->ap.query);
    /* the queries differ from the start */
    ck_assert(c->ap.query->v[0] != c->ap.query->v[2] || c->ap.query->v[1] != c->ap.query->v[3]);
    /* q0 = (sqrt2 ln3, 0), q1 = (0, 0): scores / sqrt(2) are ln3 x0 and 0 */
    float a = (float)(sqrt(2.0) * log(3.0));
    set_vals(c->ap.query, (const float[]){ a, 0, 0, 0 });
    rec_graph *g = new_graph();
    /* row 0: positions (1, 2), (0, 4), (5, 5) of which 2 are valid;
     * row 1: one valid position (-1, 3), the rest padding */
    rec_tensor *x = rec_tensor_from(g, (const float[]){ 1, 2, 0, 4, 5, 5, -1, 3, 7, 7, 9, 9 }, 3,
                                    S(2, 3, 2));
    rec_tensor *len = ids_of(g, 2, (const int32_t[]){ 2, 1 }), *w = NULL;
    /* head 0, row 0: weights (3/4, 1/4) -> (3/4, 5/2); head 1: (1/2, 1/2) ->
     * (1/2, 3); row 1: both heads the one valid position */
    const double want[8] = { 0.75, 2.5, 0.5, 3, -1, 3, -1, 3 };
    expect_vals(rec_nn_attn_pool_forward(g, &c->ap, x, len, &w), want, 8, 1e-5);
    const double ww[12] = { 0.75, 0.25, 0, 0.5, 0.5, 0, 1, 0, 0, 1, 0, 0 };
    expect_vals(w, ww, 12, 1e-6);
    expect_fail(g, rec_nn_attn_pool_forward(g, &c->ap, rec_tensor_zeros(g, REC_F32, 2, S(2, 2)),
                                            len, NULL),
                REC_E_INVALID, "rec_nn_attn_pool_forward", "[B, T, 2]");
    x = rec_tensor_zeros(g, REC_F32, 3, S(2, 3, 2));
    expect_fail(g, rec_nn_attn_pool_forward(g, &c->ap, x, ids_of(g, 2, (const int32_t[]){ 2, 0 }),
                                            NULL),
                REC_E_INVALID, "lengths[1] = 0", "[1, 3]");
    x = rec_tensor_zeros(g, REC_F32, 3, S(2, 3, 2));
    expect_fail(g, rec_nn_attn_pool_forward(g, &c->ap, x, ids_of(g, 1, (const int32_t[]){ 2 }),
                                            NULL),
                REC_E_INVALID, "I32 [B]", NULL);
    rec_graph_destroy(g);
    rec_nn_attn_pool bad;
    expect_err(rec_nn_attn_pool_init(&bad, c->ps, "ap2", 0, 2, &r), REC_E_RANGE, "0 heads");
    expect_err(rec_nn_attn_pool_init(&bad, c->ps, "ap2", REC_NN_ATTN_POOL_MAX + 1, 2, &r),
               REC_E_RANGE, "outside [1, 16]");
    expect_err(rec_nn_attn_pool_init(&bad, c->ps, "ap2", 2, 0, &r), REC_E_RANGE, "dim = 0");
    expect_err(rec_nn_attn_pool_init(&bad, c->ps, "ap", 2, 2, &r), REC_E_INVALID, "ap.query");
    ctx_free(c);
}
END_TEST

static rec_tensor *build_ap(rec_graph *g, void *p)
{
    ctx *c = p;
    return tu_wsum(g, rec_nn_attn_pool_forward(g, &c->ap, c->x, ids_of(g, c->nlens, c->lens),
                                               NULL));
}

START_TEST(attn_pool_gradcheck)
{
    ctx *c = ctx_new();
    rec_rng r;
    rec_rng_seed(&r, 52);
    /* three heads over sequences of 4, 1 and 2 valid positions of 4: the
     * padded positions must get no gradient, which the differences see */
    ck_assert_int_eq(rec_nn_attn_pool_init(&c->ap, c->ps, "ap", 3, 3, &r), REC_OK);
    c->x = param(c->ps, "x", 3, S(3, 4, 3), 53);
    const int32_t lens[3] = { 4, 1, 2 };
    memcpy(c->lens, lens, sizeof lens);
    c->nlens = 3;
    tu_gradcheck(c->ps, build_ap, c, GC_EPS, GC_ATOL, GC_RTOL);
    ctx_free(c);
}
END_TEST

Suite *rec_nn_suite(void)
{
    Suite *s = suite_create("nn");
    TCase *tc = tcase_create("layers");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, linear_init_names_and_bounds);
    tcase_add_test(tc, embedding_lookup_padding_and_grad);
    tcase_add_test(tc, embedding_max_norm_renorms_rows);
    tcase_add_test(tc, embedding_hashed_ids);
    tcase_add_test(tc, embedding_gradcheck_dense_and_sparse);
    tcase_add_test(tc, embedding_bag_modes_and_weights);
    tcase_add_test(tc, embedding_bag_gradcheck);
    tcase_add_test(tc, mlp_forward_by_hand_and_dropout_modes);
    tcase_add_test(tc, mlp_gradcheck_every_activation);
    tcase_add_test(tc, layernorm_values_and_gradcheck);
    tcase_add_test(tc, gru_one_step_by_hand);
    tcase_add_test(tc, gru_gradcheck_masked_sequences);
    tcase_add_test(tc, gru_padding_steps_and_encoder);
    tcase_add_test(tc, gru_threads_identical);
    tcase_add_test(tc, mha_one_head_two_positions_by_hand);
    tcase_add_test(tc, mha_gradcheck_heads_masks_dropout);
    tcase_add_test(tc, transformer_shapes_padding_and_gradcheck);
    tcase_add_test(tc, conv1d_by_hand);
    tcase_add_test(tc, conv1d_gradcheck);
    tcase_add_test(tc, gated_mix_by_hand_and_gradcheck);
    tcase_add_test(tc, moe_by_hand_and_balance);
    tcase_add_test(tc, moe_gradcheck);
    tcase_add_test(tc, feature_gate_by_hand);
    tcase_add_test(tc, feature_gate_gradcheck);
    tcase_add_test(tc, attn_pool_by_hand_and_padding);
    tcase_add_test(tc, attn_pool_gradcheck);
    suite_add_tcase(s, tc);
    return s;
}
