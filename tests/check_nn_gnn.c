/* The inductive graph layers of librec/nn, GCN and GraphSAGE (mean and
 * pool): forward values worked by hand on a 2 x 3 block, finite-difference
 * gradients on sampled blocks of a small graph, and bad arguments. */
#include "testutil.h"

#include "data/graph_sample-impl.h"
#include "nn/nn-impl.h"

#include <math.h>
#include <string.h>

/* A block of 2 destinations (sources 0, 1) over 3 sources:
 *   row 0: 0.5 x_0 + 0.25 x_2,  row 1: 1.0 x_0  (source 1 = dest 1 has no
 *   neighbour but source 0). */
static const int64_t bptr[] = { 0, 2, 3 };
static const int32_t bidx[] = { 0, 2, 0 };
static const float bval[] = { 0.5f, 0.25f, 1.0f };
static rec_csr block = { 2, 3, 3, bptr, bidx, bval, NULL };
/* x [3, 2] */
static const float xv[] = { 1, -2, 3, 4, -1, 2 };

static rec_tensor *input(rec_graph *g)
{
    int64_t s[2] = { 3, 2 };
    return rec_tensor_from(g, xv, 2, s);
}

START_TEST(gcn_forward_by_hand)
{
    /* out 3 >= in 2: (A X) W^T; out 1 < in 2: A (X W^T) */
    for (int out = 1; out <= 3; out += 2) {
        rec_pstore *ps;
        rec_rng r;
        rec_rng_seed(&r, 1);
        ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
        rec_nn_gcn l;
        ck_assert_int_eq(rec_nn_gcn_init(&l, ps, "gcn", 2, out, REC_NN_ACT_RELU, &r), REC_OK);
        for (int o = 0; o < out; o++) {
            l.lin.weight->v[2 * o] = (float)(o + 1);      /* W row o = (o + 1, -1) */
            l.lin.weight->v[2 * o + 1] = -1;
            l.lin.bias->v[o] = 0.5f * (float)o;
        }
        rec_graph *g;
        ck_assert_int_eq(rec_graph_create(&g), REC_OK);
        rec_graph_set_grad(g, 0);
        rec_tensor *y = rec_nn_gcn_forward(g, &l, &block, input(g));
        ck_assert_ptr_nonnull(y);
        ck_assert_int_eq(y->shape[0], 2);
        ck_assert_int_eq(y->shape[1], out);
        /* A X: row 0 = 0.5 (1, -2) + 0.25 (-1, 2) = (0.25, -0.5); row 1 = (1, -2) */
        const double ax[2][2] = { { 0.25, -0.5 }, { 1, -2 } };
        for (int v = 0; v < 2; v++)
            for (int o = 0; o < out; o++) {
                double z = (o + 1) * ax[v][0] - ax[v][1] + 0.5 * o;
                ck_assert_double_eq_tol(y->v[v * out + o], z > 0 ? z : 0, 1e-6);
            }
        /* spot: row 1, o = 0: 1 + 2 = 3 */
        ck_assert_double_eq_tol(y->v[out], 3.0, 1e-6);
        rec_graph_destroy(g);
        rec_pstore_destroy(ps);
    }
}
END_TEST

/* W [2, 4] of known values: row o = (1, o, -1, 0.5); bias (0, 1). */
static void set_sage_weights(rec_nn_sage *l)
{
    for (int o = 0; o < 2; o++) {
        float *w = l->lin.weight->v + 4 * o;
        w[0] = 1;
        w[1] = (float)o;
        w[2] = -1;
        w[3] = 0.5f;
        l->lin.bias->v[o] = (float)o;
    }
}

START_TEST(sage_forward_by_hand)
{
    for (int agg = 0; agg < 2; agg++)
        for (int norm = 0; norm < 2; norm++) {
            rec_pstore *ps;
            rec_rng r;
            rec_rng_seed(&r, 1);
            ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
            rec_nn_sage l;
            ck_assert_int_eq(rec_nn_sage_init(&l, ps, "sage", 2, 2, (rec_nn_sage_agg)agg,
                                              REC_NN_ACT_NONE, norm, &r), REC_OK);
            set_sage_weights(&l);
            double nb[2][2];
            if (agg == REC_NN_SAGE_MEAN) { /* the block's weights: as A X above */
                const double m[2][2] = { { 0.25, -0.5 }, { 1, -2 } };
                memcpy(nb, m, sizeof nb);
            } else {
                /* P = [[1, 0], [1, 1]], p = (0, -1): ReLU(P x + p) per source:
                 * x0 (1, -2) -> (1, 0); x1 unused; x2 (-1, 2) -> (0, 0).
                 * row 0 = max over {x0, x2} = (1, 0); row 1 = over {x0} = (1, 0) */
                const float pw[4] = { 1, 0, 1, 1 }, pb[2] = { 0, -1 };
                memcpy(l.pool.weight->v, pw, sizeof pw);
                memcpy(l.pool.bias->v, pb, sizeof pb);
                const double m[2][2] = { { 1, 0 }, { 1, 0 } };
                memcpy(nb, m, sizeof nb);
            }
            rec_graph *g;
            ck_assert_int_eq(rec_graph_create(&g), REC_OK);
            rec_graph_set_grad(g, 0);
            rec_tensor *y = rec_nn_sage_forward(g, &l, &block, input(g));
            ck_assert_ptr_nonnull(y);
            ck_assert_int_eq(y->shape[0], 2);
            ck_assert_int_eq(y->shape[1], 2);
            for (int v = 0; v < 2; v++) {
                double z[2], n2 = 0;
                for (int o = 0; o < 2; o++) {
                    z[o] = xv[2 * v] + o * xv[2 * v + 1] - nb[v][0] + 0.5 * nb[v][1] + o;
                    n2 += z[o] * z[o];
                }
                for (int o = 0; o < 2; o++)
                    ck_assert_double_eq_tol(y->v[2 * v + o], norm ? z[o] / sqrt(n2) : z[o],
                                            1e-6);
            }
            rec_graph_destroy(g);
            rec_pstore_destroy(ps);
        }
}
END_TEST

typedef struct gctx {
    rec_blocks *bs;
    rec_tensor *x0;
    rec_nn_gcn gcn[2];
    rec_nn_sage sage[2];
    int sage_on;
} gctx;

/* Two layers over sampled blocks: x0 rows of block 0's sources. */
static rec_tensor *build(rec_graph *g, void *p)
{
    gctx *c = p;
    rec_tensor *idx = rec_tensor_i32(g, c->bs->b[0].nsrc);
    if (!idx)
        return NULL;
    memcpy(idx->iv, c->bs->b[0].src, (size_t)c->bs->b[0].nsrc * sizeof *idx->iv);
    rec_tensor *h = rec_gather(g, c->x0, idx, -1);
    for (int l = 0; l < 2; l++)
        h = c->sage_on ? rec_nn_sage_forward(g, &c->sage[l], &c->bs->b[l].adj, h)
                       : rec_nn_gcn_forward(g, &c->gcn[l], &c->bs->b[l].adj, h);
    return tu_wsum(g, h);
}

START_TEST(gnn_gradcheck)
{
    static const int32_t us[] = { 0, 0, 0, 1, 1, 2, 3, 3, 4 }, is[] = { 0, 1, 2, 0, 1, 0, 2, 3,
                                                                          3 };
    rec_uigraph *ug;
    ck_assert_int_eq(rec_uigraph_from_pairs(&ug, 5, 4, 9, us, is, "t"), REC_OK);
    const int fan[2] = { 2, 2 };
    const int32_t seeds[] = { 0, 6, 4 };
    for (int kind = 0; kind < 3; kind++) { /* gcn, sage mean, sage pool */
        rec_blocks *bs;
        ck_assert_int_eq(rec_uigraph_sample(ug, seeds, 3, 2, fan, 3,
                                            kind ? REC_BLOCK_MEAN : REC_BLOCK_GCN, &bs, "t"),
                         REC_OK);
        rec_pstore *ps;
        rec_rng r;
        rec_rng_seed(&r, 5);
        ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
        int64_t shape[2] = { 9, 3 };
        gctx c = { .bs = bs, .x0 = rec_pstore_add(ps, "x0", 2, shape, 0), .sage_on = kind > 0 };
        tu_fill(c.x0, 9, -1, 1);
        /* 3 -> 4 (X W first is not cheaper) -> 2 (it is); tanh: smooth */
        if (kind == 0) {
            ck_assert_int_eq(rec_nn_gcn_init(&c.gcn[0], ps, "g0", 3, 4, REC_NN_ACT_TANH, &r), 0);
            ck_assert_int_eq(rec_nn_gcn_init(&c.gcn[1], ps, "g1", 4, 2, REC_NN_ACT_NONE, &r), 0);
        } else {
            rec_nn_sage_agg a = kind == 1 ? REC_NN_SAGE_MEAN : REC_NN_SAGE_POOL;
            ck_assert_int_eq(rec_nn_sage_init(&c.sage[0], ps, "s0", 3, 4, a, REC_NN_ACT_TANH, 0,
                                              &r), 0);
            ck_assert_int_eq(rec_nn_sage_init(&c.sage[1], ps, "s1", 4, 2, a, REC_NN_ACT_NONE, 1,
                                              &r), 0);
        }
        tu_gradcheck(ps, build, &c, 1e-3, 2e-3, 2e-2);
        rec_pstore_destroy(ps);
        rec_blocks_destroy(bs);
    }
    rec_uigraph_destroy(ug);
}
END_TEST

START_TEST(gnn_bad_arguments)
{
    rec_pstore *ps;
    rec_rng r;
    rec_rng_seed(&r, 1);
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    rec_nn_gcn gl;
    rec_nn_sage sl;
    ck_assert_int_eq(rec_nn_gcn_init(&gl, ps, "g", 2, 2, REC_NN_ACT_RELU, &r), REC_OK);
    ck_assert_int_eq(rec_nn_sage_init(&sl, ps, "s", 2, 2, REC_NN_SAGE_POOL, REC_NN_ACT_RELU, 1,
                                      &r), REC_OK);
    ck_assert_int_eq(rec_nn_sage_init(&sl, ps, "t", 2, 2, (rec_nn_sage_agg)7, REC_NN_ACT_RELU,
                                      1, &r), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_nn_sage_init: unknown aggregator 7");
    ck_assert_ptr_null(rec_nn_gcn_forward(NULL, &gl, &block, NULL));
    ck_assert_str_eq(rec_last_error(), "rec_nn_gcn_forward: graph is NULL");
    rec_graph *g;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    ck_assert_ptr_null(rec_nn_gcn_forward(g, &gl, NULL, input(g)));
    ck_assert_int_eq(rec_graph_status(g), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_nn_gcn_forward: adjacency is NULL");
    rec_graph_reset(g);
    int64_t s[2] = { 2, 2 };
    rec_tensor *x2 = rec_tensor_from(g, xv, 2, s);
    ck_assert_ptr_null(rec_nn_sage_forward(g, &sl, &block, x2));
    ck_assert_str_eq(rec_last_error(), "rec_nn_sage_forward: x must be [3, 2] (one row per "
                     "source node)");
    rec_graph_reset(g);
    /* more destinations than sources: no "self" rows to concatenate */
    static const int64_t p3[] = { 0, 0, 0, 0 };
    rec_csr tall = { 3, 2, 0, p3, bidx, bval, NULL };
    ck_assert_ptr_null(rec_nn_sage_forward(g, &sl, &tall, rec_tensor_from(g, xv, 2, s)));
    ck_assert_str_eq(rec_last_error(), "rec_nn_sage_forward: the block is 3 x 2: the 3 "
                     "destinations must be the first rows of the sources");
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
}
END_TEST

Suite *rec_nn_gnn_suite(void)
{
    Suite *s = suite_create("nn_gnn");
    TCase *t = tcase_create("gcn_sage");
    tcase_add_test(t, gcn_forward_by_hand);
    tcase_add_test(t, sage_forward_by_hand);
    tcase_add_test(t, gnn_gradcheck);
    tcase_add_test(t, gnn_bad_arguments);
    suite_add_tcase(s, t);
    return s;
}
