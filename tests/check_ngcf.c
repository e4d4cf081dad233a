/* The NGCF layer of librec/nn: one layer against values worked by hand, the
 * readout's layout, message dropout only while training, finite-difference
 * gradients (both normalisations, 0-3 layers, to E_0 and every weight) and
 * bad arguments.  The ngcf model: its scores are that layer's readout, both
 * losses learn (tests/check_kinds.c covers the rest of its interface). */
#include "testutil.h"

#include "data/graph-impl.h"
#include "nn/nn-impl.h"

#include <math.h>
#include <string.h>

/* users 0, 1; items 0, 1; edges (u0, i0), (u0, i1), (u1, i0): nodes u0 u1 i0
 * i1 = 0..3 with degrees 2, 1, 2, 1. */
static rec_csr *small_adj(rec_uigraph **gout)
{
    static const int32_t us[] = { 0, 0, 1 }, is[] = { 0, 1, 0 };
    rec_uigraph *ug;
    rec_csr *a;
    ck_assert_int_eq(rec_uigraph_from_pairs(&ug, 2, 2, 3, us, is, "t"), REC_OK);
    ck_assert_int_eq(rec_uigraph_adjacency(ug, REC_GRAPH_NORM_SYMMETRIC, &a, "t"), REC_OK);
    *gout = ug;
    return a;
}

static void set(rec_tensor *t, const float *v)
{
    memcpy(t->v, v, (size_t)t->n * sizeof *v);
}

START_TEST(ngcf_forward_by_hand)
{
    rec_uigraph *ug;
    rec_csr *a = small_adj(&ug);
    rec_pstore *ps;
    rec_graph *g;
    rec_rng rng;
    rec_rng_seed(&rng, 1);
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_nn_ngcf n;
    ck_assert_int_eq(rec_nn_ngcf_init(&n, ps, "ngcf", 2, 2, 1, 0.5f, &rng), REC_OK);
    ck_assert_ptr_eq(rec_pstore_find(ps, "ngcf.0.w1.weight"), n.w1[0].weight);
    ck_assert_ptr_eq(rec_pstore_find(ps, "ngcf.0.w2.bias"), n.w2[0].bias);
    /* W1 = [[1, 0], [0, -1]], b1 = (0, 0.5); W2 = [[0, 1], [1, 0]], b2 = (-1, 0). */
    set(n.w1[0].weight, (const float[]){ 1, 0, 0, -1 });
    set(n.w1[0].bias, (const float[]){ 0, 0.5f });
    set(n.w2[0].weight, (const float[]){ 0, 1, 1, 0 });
    set(n.w2[0].bias, (const float[]){ -1, 0 });
    /* E0 rows u0 (1, 1), u1 (2, 0), i0 (3, 0), i1 (4, 0). */
    const float e0v[8] = { 1, 1, 2, 0, 3, 0, 4, 0 };
    rec_tensor *e0 = rec_tensor_from(g, e0v, 2, (const int64_t[]){ 4, 2 });
    /* A: (u0, i0) = 1/2, (u0, i1) = (u1, i0) = h = 1/sqrt 2.
     * S = A E0: u0 = (3/2 + 4h, 0), u1 = (3h, 0), i0 = (1/2 + 2h, 1/2), i1 = (h, h).
     * P = S + E0, Q = S (.) E0, pre = W1 P + b1 + W2 Q + b2:
     *   pre = (P0 + Q1 - 1, -P1 + 1/2 + Q0). */
    double h = 1 / sqrt(2.0);
    double e[4][2] = { { 1, 1 }, { 2, 0 }, { 3, 0 }, { 4, 0 } };
    double s[4][2] = { { 1.5 + 4 * h, 0 }, { 3 * h, 0 }, { 0.5 + 2 * h, 0.5 }, { h, h } };
    double want[4][4];
    for (int r = 0; r < 4; r++) {
        double p0 = s[r][0] + e[r][0], p1 = s[r][1] + e[r][1];
        double q0 = s[r][0] * e[r][0], q1 = s[r][1] * e[r][1];
        double y[2] = { p0 + q1 - 1, -p1 + 0.5 + q0 };
        for (int c = 0; c < 2; c++)
            y[c] = y[c] > 0 ? y[c] : 0.2 * y[c];
        double nrm = sqrt(y[0] * y[0] + y[1] * y[1]);
        want[r][0] = e[r][0];
        want[r][1] = e[r][1];
        want[r][2] = y[0] / nrm;
        want[r][3] = y[1] / nrm;
    }
    /* One row by hand: u0 P = (5/2 + 4h, 1), Q = (3/2 + 4h, 0), pre = (3/2 + 4h, 1 + 4h),
     * positive, so E1[u0] = pre / |pre|.  i1 P = (4 + h, h), Q = (4h, 0): pre = (3 + h,
     * 1/2 + 3h). */
    double pu[2] = { 1.5 + 4 * h, 1 + 4 * h }, nu = sqrt(pu[0] * pu[0] + pu[1] * pu[1]);
    ck_assert_double_eq_tol(want[0][2], pu[0] / nu, 1e-12);
    ck_assert_double_eq_tol(want[0][3], pu[1] / nu, 1e-12);
    double pi[2] = { 3 + h, 0.5 + 3 * h }, ni = sqrt(pi[0] * pi[0] + pi[1] * pi[1]);
    ck_assert_double_eq_tol(want[3][2], pi[0] / ni, 1e-12);
    /* u1: P = (2 + 3h, 0), Q = (6h, 0), pre = (1 + 3h, 1/2 + 6h). */
    ck_assert_double_eq_tol(want[1][2] / want[1][3], (1 + 3 * h) / (0.5 + 6 * h), 1e-12);
    rec_graph_set_grad(g, 0);
    rec_tensor *out = rec_nn_ngcf_forward(g, &n, a, e0);
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(out->shape[0], 4);
    ck_assert_int_eq(out->shape[1], 4);
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
            ck_assert_double_eq_tol(out->v[r * 4 + c], want[r][c], 1e-6);
    /* A negative pre-activation takes the slope: W2 = 0 and b1 = (-10, -10) make
     * u0's pre = (P0 - 11, -P1 - 10), both negative. */
    set(n.w2[0].weight, (const float[]){ 0, 0, 0, 0 });
    set(n.w1[0].bias, (const float[]){ -10, -10 });
    rec_graph_reset(g);
    rec_graph_set_grad(g, 0);
    e0 = rec_tensor_from(g, e0v, 2, (const int64_t[]){ 4, 2 });
    out = rec_nn_ngcf_forward(g, &n, a, e0);
    double y0 = 0.2 * (s[0][0] + 1 - 10 - 1), y1 = 0.2 * (-(s[0][1] + 1) - 10);
    double ny = sqrt(y0 * y0 + y1 * y1);
    ck_assert_double_eq_tol(out->v[2], y0 / ny, 1e-6);
    ck_assert_double_eq_tol(out->v[3], y1 / ny, 1e-6);
    /* Message dropout: training zeroes some layer outputs (E_0 kept whole);
     * with training off the output is the same as with p = 0. */
    rec_tensor *eval = rec_tensor_zeros(g, REC_F32, 2, (const int64_t[]){ 4, 4 });
    memcpy(eval->v, out->v, 16 * sizeof(float));
    rec_graph_set_training(g, 1);
    int zeros = 0;
    for (int rep = 0; rep < 8; rep++) {
        rec_tensor *tr = rec_nn_ngcf_forward(g, &n, a, e0);
        ck_assert_ptr_nonnull(tr);
        for (int r = 0; r < 4; r++) {
            ck_assert_float_eq(tr->v[r * 4], eval->v[r * 4]);
            ck_assert_float_eq(tr->v[r * 4 + 1], eval->v[r * 4 + 1]);
            zeros += (tr->v[r * 4 + 2] == 0) + (tr->v[r * 4 + 3] == 0);
        }
    }
    ck_assert_int_gt(zeros, 8);   /* of 64 kept with probability 1/2 each */
    ck_assert_int_lt(zeros, 56);
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
    rec_uigraph_adj_free(a);
    rec_uigraph_destroy(ug);
}
END_TEST

typedef struct gcctx {
    rec_csr *a;
    rec_tensor *e0;
    rec_nn_ngcf n;
} gcctx;

static rec_tensor *build_ngcf(rec_graph *g, void *p)
{
    gcctx *c = p;
    return tu_wsum(g, rec_nn_ngcf_forward(g, &c->n, c->a, c->e0));
}

/* BPR over gathered rows of the readout, as the model trains. */
static rec_tensor *build_bpr(rec_graph *g, void *p)
{
    gcctx *c = p;
    rec_tensor *e = rec_nn_ngcf_forward(g, &c->n, c->a, c->e0);
    rec_tensor *u = rec_tensor_i32(g, 3), *i = rec_tensor_i32(g, 3), *j = rec_tensor_i32(g, 3);
    const int32_t uu[3] = { 0, 1, 2 }, ii[3] = { 4, 5, 6 }, jj[3] = { 6, 4, 5 };
    memcpy(u->iv, uu, sizeof uu);
    memcpy(i->iv, ii, sizeof ii);
    memcpy(j->iv, jj, sizeof jj);
    rec_tensor *eu = rec_gather(g, e, u, -1);
    return rec_bpr(g, rec_rowdot(g, eu, rec_gather(g, e, i, -1)),
                   rec_rowdot(g, eu, rec_gather(g, e, j, -1)));
}

/* The smallest |pre-activation| of the layers' LeakyReLU: finite differences
 * that straddle its kink disagree with any backward. */
static double min_abs_preact(const gcctx *c)
{
    rec_graph *g;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_graph_set_grad(g, 0);
    double mn = INFINITY;
    rec_tensor *e = c->e0;
    for (int k = 0; k < c->n.layers; k++) {
        rec_tensor *s = rec_spmm(g, c->a, e);
        rec_tensor *p = rec_add(g, rec_linear(g, rec_add(g, s, e), c->n.w1[k].weight,
                                              c->n.w1[k].bias),
                                rec_linear(g, rec_mul(g, s, e), c->n.w2[k].weight,
                                           c->n.w2[k].bias));
        ck_assert_ptr_nonnull(p);
        for (int64_t i = 0; i < p->n; i++)
            mn = fmin(mn, fabs(p->v[i]));
        e = rec_leaky_relu(g, p, 0.2f);
    }
    rec_graph_destroy(g);
    return mn;
}

START_TEST(ngcf_gradcheck)
{
    /* 4 users x 3 items; the row normalisation is not symmetric, so a
     * backward through A instead of A^T fails.  The first pass has layers
     * narrower than E_0 (w 2, d 3), the second as wide. */
    static const int32_t us[] = { 0, 0, 0, 1, 1, 2, 3 }, is[] = { 0, 1, 2, 0, 1, 0, 2 };
    for (int norm = 0; norm < 2; norm++)
        for (int layers = 0; layers <= 3; layers++) {
            rec_uigraph *ug;
            rec_csr *a;
            ck_assert_int_eq(rec_uigraph_from_pairs(&ug, 4, 3, 7, us, is, "t"), REC_OK);
            ck_assert_int_eq(rec_uigraph_adjacency(ug, (rec_graph_norm)norm, &a, "t"), REC_OK);
            rec_pstore *ps;
            rec_rng rng;
            rec_rng_seed(&rng, 5 + (uint64_t)layers);
            ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
            gcctx c = { .a = a, .e0 = rec_pstore_add(ps, "E0", 2, (const int64_t[]){ 7, 3 }, 0) };
            ck_assert_int_eq(rec_nn_ngcf_init(&c.n, ps, "ngcf", 3, 2 + norm, layers, 0.0f, &rng),
                             REC_OK);
            unsigned seed = 11;
            do
                tu_fill(c.e0, seed++, -1, 1);
            while (min_abs_preact(&c) < 0.05 && seed < 100);
            ck_assert_uint_lt(seed, 100);
            tu_gradcheck(ps, build_ngcf, &c, 1e-3, 2e-3, 2e-2);
            tu_gradcheck(ps, build_bpr, &c, 1e-3, 2e-3, 2e-2);
            rec_pstore_destroy(ps);
            rec_uigraph_adj_free(a);
            rec_uigraph_destroy(ug);
        }
}
END_TEST

/* Node dropout: with training on, the 1-layer output is the layer applied to
 * messages from the kept nodes only (drawn first from the graph's RNG, one
 * uniform per node), scaled by 1 / (1 - p), rebuilt here from the same
 * seed; with training off it is the output without node dropout; the
 * gradients through the dropped messages are checked by differences; p = 1
 * is refused. */
static rec_tensor *build_node_dropout(rec_graph *g, void *p)
{
    gcctx *c = p;
    rec_graph_set_training(g, 1);
    return tu_wsum(g, rec_nn_ngcf_forward(g, &c->n, c->a, c->e0));
}

START_TEST(ngcf_node_dropout)
{
    static const int32_t us[] = { 0, 0, 0, 1, 1, 2, 3 }, is[] = { 0, 1, 2, 0, 1, 0, 2 };
    rec_uigraph *ug;
    rec_csr *a;
    ck_assert_int_eq(rec_uigraph_from_pairs(&ug, 4, 3, 7, us, is, "t"), REC_OK);
    ck_assert_int_eq(rec_uigraph_adjacency(ug, REC_GRAPH_NORM_SYMMETRIC, &a, "t"), REC_OK);
    rec_pstore *ps;
    rec_rng rng;
    rec_rng_seed(&rng, 3);
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    gcctx c = { .a = a, .e0 = rec_pstore_add(ps, "E0", 2, (const int64_t[]){ 7, 3 }, 0) };
    ck_assert_int_eq(rec_nn_ngcf_init(&c.n, ps, "ngcf", 3, 3, 1, 0.0f, &rng), REC_OK);
    tu_fill(c.e0, 11, -1, 1);
    rec_graph *g;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_graph_set_grad(g, 0);
    rec_tensor *plain = rec_nn_ngcf_forward(g, &c.n, a, c.e0);
    c.n.node_dropout = 0.5f;
    rec_tensor *off = rec_nn_ngcf_forward(g, &c.n, a, c.e0);
    ck_assert_ptr_nonnull(off);
    for (int64_t k = 0; k < plain->n; k++)
        ck_assert_float_eq(off->v[k], plain->v[k]);
    rec_graph_set_training(g, 1);
    rec_graph_seed(g, 9);
    rec_tensor *on = rec_nn_ngcf_forward(g, &c.n, a, c.e0);
    ck_assert_ptr_nonnull(on);
    rec_graph_set_training(g, 0);
    rec_rng r;
    rec_rng_seed(&r, 9);
    rec_tensor *keep = rec_tensor_i32(g, 7);
    int kept = 0;
    for (int v = 0; v < 7; v++)
        kept += keep->iv[v] = rec_rng_uniform(&r) >= 0.5f;
    ck_assert_int_gt(kept, 0); /* the seed drops some nodes and keeps some */
    ck_assert_int_lt(kept, 7);
    rec_tensor *s = rec_spmm(g, a, rec_scale(g, rec_nn_mask_rows(g, c.e0, keep), 2.0f));
    rec_tensor *pre = rec_add(g, rec_linear(g, rec_add(g, s, c.e0), c.n.w1[0].weight,
                                            c.n.w1[0].bias),
                              rec_linear(g, rec_mul(g, s, c.e0), c.n.w2[0].weight,
                                         c.n.w2[0].bias));
    rec_tensor *want = rec_l2_normalize(g, rec_leaky_relu(g, pre, 0.2f), 1e-12f);
    ck_assert_ptr_nonnull(want);
    int differ = 0;
    for (int v = 0; v < 7; v++)
        for (int d = 0; d < 3; d++) {
            ck_assert_float_eq(on->v[v * 6 + d], c.e0->v[v * 3 + d]);
            ck_assert_float_eq_tol(on->v[v * 6 + 3 + d], want->v[v * 3 + d], 1e-6);
            differ += fabsf(on->v[v * 6 + 3 + d] - plain->v[v * 6 + 3 + d]) > 1e-4f;
        }
    ck_assert_int_gt(differ, 0);
    rec_graph_destroy(g);
    tu_gradcheck(ps, build_node_dropout, &c, 1e-3, 2e-3, 2e-2);
    c.n.node_dropout = 1.0f;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_graph_set_training(g, 1);
    ck_assert_ptr_null(rec_nn_ngcf_forward(g, &c.n, a, c.e0));
    ck_assert_int_eq(rec_graph_status(g), REC_E_RANGE);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "node_dropout"));
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
    rec_uigraph_adj_free(a);
    rec_uigraph_destroy(ug);
}
END_TEST

START_TEST(ngcf_bad_arguments)
{
    rec_uigraph *ug;
    rec_csr *a = small_adj(&ug);
    rec_pstore *ps;
    rec_graph *g;
    rec_rng rng;
    rec_rng_seed(&rng, 1);
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_nn_ngcf n;
    ck_assert_int_eq(rec_nn_ngcf_init(&n, ps, "x", 2, 2, 9, 0.1f, &rng), REC_E_RANGE);
    ck_assert_str_eq(rec_last_error(), "rec_nn_ngcf_init: layers = 9, want 0 .. 8");
    ck_assert_int_eq(rec_nn_ngcf_init(&n, ps, "x", 2, 2, 1, 1.0f, &rng), REC_E_RANGE);
    ck_assert_str_eq(rec_last_error(), "rec_nn_ngcf_init: dropout = 1 is outside [0, 1)");
    ck_assert_int_eq(rec_nn_ngcf_init(&n, ps, "x", 0, 2, 1, 0.1f, &rng), REC_E_RANGE);
    ck_assert_str_eq(rec_last_error(), "rec_nn_ngcf_init: dim = 0 must be > 0");
    ck_assert_int_eq(rec_nn_ngcf_init(&n, ps, "x", 2, -1, 1, 0.1f, &rng), REC_E_RANGE);
    ck_assert_str_eq(rec_last_error(), "rec_nn_ngcf_init: width = -1 must be > 0");
    ck_assert_int_eq(rec_nn_ngcf_init(NULL, ps, "x", 2, 2, 1, 0.1f, &rng), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "rec_nn_ngcf_init"));
    ck_assert_int_eq(rec_nn_ngcf_init(&n, ps, "x", 2, 2, 2, 0.1f, &rng), REC_OK);
    ck_assert_ptr_null(rec_nn_ngcf_forward(NULL, &n, a, NULL));
    ck_assert_str_eq(rec_last_error(), "rec_nn_ngcf_forward: graph is NULL");
    rec_tensor *e = rec_tensor_zeros(g, REC_F32, 2, (const int64_t[]){ 4, 3 });
    ck_assert_ptr_null(rec_nn_ngcf_forward(g, &n, a, e));
    ck_assert_int_eq(rec_graph_status(g), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_nn_ngcf_forward: e0 must be [4, 2] (one row per node)");
    rec_graph_reset(g);
    e = rec_tensor_zeros(g, REC_F32, 2, (const int64_t[]){ 4, 2 });
    ck_assert_ptr_null(rec_nn_ngcf_forward(g, &n, NULL, e));
    ck_assert_str_eq(rec_last_error(), "rec_nn_ngcf_forward: adj is NULL");
    rec_graph_reset(g);
    ck_assert_ptr_null(rec_nn_ngcf_forward(g, NULL, a, e));
    ck_assert_str_eq(rec_last_error(), "rec_nn_ngcf_forward: layer is NULL");
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
    rec_uigraph_adj_free(a);
    rec_uigraph_destroy(ug);
}
END_TEST

/* The model: with lr = 0 and the paper's start its scores are the readout
 * (dropout off) of its seeded draws, E_0 then the layer's weights from the
 * same RNG. */
START_TEST(model_scores_are_the_readout_of_its_init)
{
    /* u1: a b;  u2: b c;  u3: c. */
    static const char *rows[][2] = { { "u1", "a" }, { "u1", "b" }, { "u2", "b" },
                                     { "u2", "c" }, { "u3", "c" } };
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    for (int k = 0; k < 5; k++)
        ck_assert_int_eq(rec_dataset_add(d, rows[k][0], rows[k][1], NAN, REC_NO_TIME), REC_OK);
    const char *kv[] = { "dim=3",       "layers=1",  "lr=0",        "epochs=1", "seed=7",
                         "init_std=0.5", "dropout=0.5", "init=normal", "renorm=0", "layer_dim=3" };
    rec_model *m = tu_fit("ngcf", d, kv, 10);
    static const int32_t us[] = { 0, 0, 1, 1, 2 }, is[] = { 0, 1, 1, 2, 2 };
    rec_uigraph *ug;
    rec_csr *a;
    ck_assert_int_eq(rec_uigraph_from_pairs(&ug, 3, 3, 5, us, is, "t"), REC_OK);
    ck_assert_int_eq(rec_uigraph_adjacency(ug, REC_GRAPH_NORM_SYMMETRIC, &a, "t"), REC_OK);
    rec_pstore *ps;
    rec_graph *g;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_tensor *e0 = rec_pstore_add(ps, "E0", 2, (const int64_t[]){ 6, 3 }, 0);
    rec_rng r;
    rec_rng_seed(&r, 7);
    rec_init_normal(e0, &r, 0, 0.5f);
    rec_nn_ngcf n;
    ck_assert_int_eq(rec_nn_ngcf_init(&n, ps, "ngcf", 3, 3, 1, 0.5f, &r), REC_OK);
    rec_graph_set_grad(g, 0);
    rec_tensor *e = rec_nn_ngcf_forward(g, &n, a, e0);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->shape[1], 6);
    static const char *users[] = { "u1", "u2", "u3" }, *items[] = { "a", "b", "c" };
    for (int u = 0; u < 3; u++)
        for (int i = 0; i < 3; i++) {
            float sc;
            ck_assert_int_eq(rec_model_score(m, users[u], items[i], &sc), REC_OK);
            double want = 0;
            for (int c = 0; c < 6; c++)
                want += (double)e->v[u * 6 + c] * e->v[(3 + i) * 6 + c];
            ck_assert_double_eq_tol(sc, want, 1e-5);
        }
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
    rec_uigraph_adj_free(a);
    rec_uigraph_destroy(ug);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* init=spectral, lr = 0: E_0's block of the readout is E_0 itself, so the
 * first dim columns of every vector are lightgcn's with no layers (a gain
 * of 1) from the same seed, graph and beta; the layers add layer_dim each. */
START_TEST(spectral_start_is_lightgcns_without_layers)
{
    enum { NU = 30, NI = 20, D = 8, W = 3 };
    rec_dataset *d = tu_generate(NU, NI, 5);
    const char *kv[] = { "init=spectral",   "dim=8",  "lr=0",         "epochs=1",
                         "renorm=2",        "seed=5", "init_std=0.3", "layers=2",
                         "spectral_beta=3", "layer_dim=3" };
    rec_model *ng = tu_fit("ngcf", d, kv, 10);
    kv[7] = "layers=0";
    kv[9] = "linear=0";
    rec_model *lg = tu_fit("lightgcn", d, kv, 10);
    static float a[NU * (D + 2 * W)], b[NU * D];
    for (int side = 0; side < 2; side++) {
        int n = side ? NI : NU, da, db;
        ck_assert_int_eq(rec_model_vectors(ng, side ? REC_SIDE_ITEM : REC_SIDE_USER, a,
                                           sizeof a / sizeof *a, &da),
                         REC_OK);
        ck_assert_int_eq(rec_model_vectors(lg, side ? REC_SIDE_ITEM : REC_SIDE_USER, b,
                                           sizeof b / sizeof *b, &db),
                         REC_OK);
        ck_assert_int_eq(da, D + 2 * W);
        ck_assert_int_eq(db, D);
        double big = 0;
        for (int r = 0; r < n; r++)
            for (int c = 0; c < D; c++) {
                ck_assert_float_eq_tol(a[r * da + c], b[r * D + c], 1e-6f);
                big = fmax(big, fabs(b[r * D + c]));
            }
        ck_assert_double_gt(big, 0.01); /* not both zero */
    }
    rec_model_destroy(ng);
    rec_model_destroy(lg);
    rec_dataset_destroy(d);
}
END_TEST

static int keep_loss(void *user, int epoch, int epochs, double loss)
{
    ((double *)user)[epoch - 1] = loss;
    (void)epochs;
    return 0;
}

START_TEST(model_both_losses_learn)
{
    rec_params *o;
    rec_dataset *d;
    ck_assert_int_eq(rec_params_create(&o), REC_OK);
    rec_params_set_int(o, "users", 60);
    rec_params_set_int(o, "items", 40);
    rec_params_set_int(o, "interactions-per-user", 8);
    ck_assert_int_eq(rec_dataset_generate(&d, o), REC_OK);
    rec_params_destroy(o);
    static const char *losses[] = { "loss=softmax", "loss=bpr" };
    for (int k = 0; k < 2; k++) {
        rec_params *p;
        rec_model *m;
        ck_assert_int_eq(rec_params_create(&p), REC_OK);
        /* the paper's start and a sharp softmax: a test of the losses */
        const char *kv[] = { losses[k],      "dim=8",       "layers=2",        "epochs=10",
                             "batch=64",     "negatives=16", "lr=0.02",        "init=normal",
                             "init_std=0.1", "renorm=0",     "temperature=0.2" };
        for (size_t j = 0; j < sizeof kv / sizeof *kv; j++)
            ck_assert_int_eq(rec_params_parse(p, kv[j]), REC_OK);
        ck_assert_int_eq(rec_model_create(&m, "ngcf", p), REC_OK);
        double l[10];
        ck_assert_msg(rec_model_fit(m, d, keep_loss, l) == REC_OK, "%s", rec_last_error());
        ck_assert_msg(l[9] < 0.8 * l[0], "%s: loss %g -> %g", losses[k], l[0], l[9]);
        rec_model_destroy(m);
        rec_params_destroy(p);
    }
    rec_dataset_destroy(d);
}
END_TEST

Suite *rec_ngcf_suite(void)
{
    Suite *s = suite_create("ngcf");
    TCase *t = tcase_create("layer");
    tcase_add_test(t, ngcf_forward_by_hand);
    tcase_add_test(t, ngcf_gradcheck);
    tcase_add_test(t, ngcf_node_dropout);
    tcase_add_test(t, ngcf_bad_arguments);
    suite_add_tcase(s, t);
    t = tcase_create("model");
    tcase_add_test(t, model_scores_are_the_readout_of_its_init);
    tcase_add_test(t, spectral_start_is_lightgcns_without_layers);
    tcase_add_test(t, model_both_losses_learn);
    suite_add_tcase(s, t);
    return s;
}
