/* Graph layers of librec/nn: LightGCN propagation against values worked by
 * hand, finite-difference gradients over both normalisations (the row one
 * is not symmetric, so a backward using A instead of A^T fails), the
 * activation memory's bound and bad arguments. */
#include "testutil.h"

#include "data/graph-impl.h"
#include "nn/nn-impl.h"

#include <math.h>
#include <string.h>

/* users 0, 1; items 0, 1; edges (u0, i0), (u0, i1), (u1, i0).  Nodes u0 u1
 * i0 i1 = 0..3; degrees 2, 1, 2, 1. */
static rec_csr *small_adj(rec_graph_norm norm, rec_uigraph **gout)
{
    static const int32_t us[] = { 0, 0, 1 }, is[] = { 0, 1, 0 };
    rec_uigraph *ug;
    rec_csr *a;
    ck_assert_int_eq(rec_uigraph_from_pairs(&ug, 2, 2, 3, us, is, "t"), REC_OK);
    ck_assert_int_eq(rec_uigraph_adjacency(ug, norm, &a, "t"), REC_OK);
    *gout = ug;
    return a;
}

START_TEST(lightgcn_forward_by_hand)
{
    rec_uigraph *ug;
    rec_csr *a = small_adj(REC_GRAPH_NORM_SYMMETRIC, &ug);
    rec_graph *g;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    /* Two columns: E0[:, 0] = 1 2 3 4 and E0[:, 1] = 1 0 0 0. */
    const float e0v[8] = { 1, 1, 2, 0, 3, 0, 4, 0 };
    int64_t shape[2] = { 4, 2 };
    rec_tensor *e0 = rec_tensor_from(g, e0v, 2, shape);
    /* A: (u0, i0) = 1/sqrt(2*2) = 1/2, (u0, i1) = (u1, i0) = 1/sqrt(2). */
    double h = 1 / sqrt(2.0);
    double x0[4] = { 1, 2, 3, 4 }, y0[4] = { 1, 0, 0, 0 }, x1[4], y1[4], x2[4], y2[4];
    double *in[2] = { x0, y0 }, *o1[2] = { x1, y1 }, *o2[2] = { x2, y2 };
    for (int c = 0; c < 2; c++) {
        double *e = in[c], *f = o1[c];
        f[0] = 0.5 * e[2] + h * e[3];
        f[1] = h * e[2];
        f[2] = 0.5 * e[0] + h * e[1];
        f[3] = h * e[0];
        double *s = o2[c];
        s[0] = 0.5 * f[2] + h * f[3];
        s[1] = h * f[2];
        s[2] = 0.5 * f[0] + h * f[1];
        s[3] = h * f[0];
    }
    for (int layers = 0; layers <= 2; layers++) {
        rec_graph_set_grad(g, 0);
        rec_tensor *out = rec_nn_lightgcn_forward(g, a, e0, layers);
        ck_assert_ptr_nonnull(out);
        ck_assert_int_eq(out->shape[0], 4);
        ck_assert_int_eq(out->shape[1], 2);
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 2; c++) {
                double want = in[c][r];
                if (layers >= 1)
                    want += o1[c][r];
                if (layers >= 2)
                    want += o2[c][r];
                ck_assert_double_eq_tol(out->v[r * 2 + c], want / (layers + 1), 1e-6);
            }
    }
    /* Spot values: E1[u0] col 0 = 3/2 + 4/sqrt(2); one layer's mean of u1 = (2 + 3/sqrt2)/2. */
    ck_assert_double_eq_tol(x1[0], 1.5 + 4 * h, 1e-12);
    rec_graph_set_grad(g, 0);
    rec_tensor *one = rec_nn_lightgcn_forward(g, a, e0, 1);
    ck_assert_double_eq_tol(one->v[2], (2 + 3 * h) / 2, 1e-6);
    rec_graph_destroy(g);
    rec_uigraph_adj_free(a);
    rec_uigraph_destroy(ug);
}
END_TEST

typedef struct gcctx {
    rec_csr *a;
    rec_tensor *e0;
    int layers;
} gcctx;

static rec_tensor *build_lightgcn(rec_graph *g, void *p)
{
    gcctx *c = p;
    return tu_wsum(g, rec_nn_lightgcn_forward(g, c->a, c->e0, c->layers));
}

/* A BPR loss over gathered rows of the propagated table, as the model trains. */
static rec_tensor *build_bpr(rec_graph *g, void *p)
{
    gcctx *c = p;
    rec_tensor *e = rec_nn_lightgcn_forward(g, c->a, c->e0, c->layers);
    rec_tensor *u = rec_tensor_i32(g, 3), *i = rec_tensor_i32(g, 3), *j = rec_tensor_i32(g, 3);
    const int32_t uu[3] = { 0, 1, 2 }, ii[3] = { 4, 5, 6 }, jj[3] = { 6, 4, 5 };
    memcpy(u->iv, uu, sizeof uu);
    memcpy(i->iv, ii, sizeof ii);
    memcpy(j->iv, jj, sizeof jj);
    rec_tensor *eu = rec_gather(g, e, u, -1);
    return rec_bpr(g, rec_rowdot(g, eu, rec_gather(g, e, i, -1)),
                   rec_rowdot(g, eu, rec_gather(g, e, j, -1)));
}

START_TEST(lightgcn_gradcheck)
{
    /* 4 users x 3 items with degrees 1..3 on both sides. */
    static const int32_t us[] = { 0, 0, 0, 1, 1, 2, 3 }, is[] = { 0, 1, 2, 0, 1, 0, 2 };
    for (int norm = 0; norm < 2; norm++)
        for (int layers = 0; layers <= 3; layers++) {
            rec_uigraph *ug;
            rec_csr *a;
            ck_assert_int_eq(rec_uigraph_from_pairs(&ug, 4, 3, 7, us, is, "t"), REC_OK);
            ck_assert_int_eq(rec_uigraph_adjacency(ug, (rec_graph_norm)norm, &a, "t"), REC_OK);
            rec_pstore *ps;
            ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
            int64_t shape[2] = { 7, 3 };
            gcctx c = { a, rec_pstore_add(ps, "E0", 2, shape, 0), layers };
            tu_fill(c.e0, 11 + (unsigned)layers, -1, 1);
            tu_gradcheck(ps, build_lightgcn, &c, 1e-2, 2e-3, 2e-2);
            tu_gradcheck(ps, build_bpr, &c, 1e-2, 2e-3, 2e-2);
            rec_pstore_destroy(ps);
            rec_uigraph_adj_free(a);
            rec_uigraph_destroy(ug);
        }
}
END_TEST

/* Forward and backward keep O(nodes x dim) floats in the arena whatever the
 * depth (Horner's rule keeps no layer's output): on a graph of N = 3000
 * nodes a dense N x N anywhere would need 36 MB. */
START_TEST(lightgcn_memory_is_linear)
{
    enum { NU = 1000, NI = 2000, D = 4 };
    static int32_t us[4 * NU], is[4 * NU];
    for (int k = 0; k < 4 * NU; k++) {
        us[k] = k / 4;
        is[k] = (int32_t)((k * 7919u) % NI);
    }
    rec_uigraph *ug;
    rec_csr *a;
    ck_assert_int_eq(rec_uigraph_from_pairs(&ug, NU, NI, 4 * NU, us, is, "t"), REC_OK);
    ck_assert_int_eq(rec_uigraph_adjacency(ug, REC_GRAPH_NORM_SYMMETRIC, &a, "t"), REC_OK);
    rec_pstore *ps;
    rec_graph *g;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    int64_t shape[2] = { NU + NI, D };
    rec_tensor *e0 = rec_pstore_add(ps, "E0", 2, shape, 0);
    tu_fill(e0, 3, -1, 1);
    size_t nd = (size_t)(NU + NI) * D * sizeof(float);
    for (int L = 2; L <= 8; L += 3) {
        rec_graph_reset(g);
        memset(e0->g, 0, nd);
        rec_tensor *out = rec_nn_lightgcn_forward(g, a, e0, L);
        ck_assert_int_eq(rec_backward(g, rec_sum(g, out)), REC_OK);
        /* out and one buffer forward, out's gradient and two buffers
         * backward, with room for alignment and the small tensors. */
        ck_assert_uint_le(rec_graph_arena_used(g), 5 * nd + 65536);
        /* d sum(out) / dE0 = (1/(L+1)) sum_k (A^T)^k 1: positive wherever a
         * node has an edge. */
        for (int64_t r = 0; r < NU; r++)
            ck_assert_float_gt(e0->g[r * D], 0);
    }
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
    rec_uigraph_adj_free(a);
    rec_uigraph_destroy(ug);
}
END_TEST

START_TEST(lightgcn_bad_arguments)
{
    rec_uigraph *ug;
    rec_csr *a = small_adj(REC_GRAPH_NORM_SYMMETRIC, &ug);
    rec_graph *g;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    ck_assert_ptr_null(rec_nn_lightgcn_forward(NULL, a, NULL, 1));
    ck_assert_str_eq(rec_last_error(), "rec_nn_lightgcn_forward: graph is NULL");
    rec_tensor *e = rec_tensor_zeros(g, REC_F32, 2, (const int64_t[]){ 3, 2 });
    ck_assert_ptr_null(rec_nn_lightgcn_forward(g, a, e, 1));
    ck_assert_int_eq(rec_graph_status(g), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_nn_lightgcn_forward: e0 must be [4, d] (one row per "
                                       "node)");
    rec_graph_reset(g);
    e = rec_tensor_zeros(g, REC_F32, 2, (const int64_t[]){ 4, 2 });
    ck_assert_ptr_null(rec_nn_lightgcn_forward(g, a, e, 17));
    ck_assert_int_eq(rec_graph_status(g), REC_E_RANGE);
    ck_assert_str_eq(rec_last_error(), "rec_nn_lightgcn_forward: layers = 17, want 0 .. 16");
    rec_graph_reset(g);
    ck_assert_ptr_null(rec_nn_lightgcn_forward(g, NULL, e, 1));
    ck_assert_str_eq(rec_last_error(), "rec_nn_lightgcn_forward: adj is NULL");
    rec_graph_destroy(g);
    rec_uigraph_adj_free(a);
    rec_uigraph_destroy(ug);
}
END_TEST

Suite *rec_nn_graph_suite(void)
{
    Suite *s = suite_create("nn_graph");
    TCase *t = tcase_create("lightgcn");
    tcase_add_test(t, lightgcn_forward_by_hand);
    tcase_add_test(t, lightgcn_gradcheck);
    tcase_add_test(t, lightgcn_memory_is_linear);
    tcase_add_test(t, lightgcn_bad_arguments);
    suite_add_tcase(s, t);
    return s;
}
