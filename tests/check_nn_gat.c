/* GAT's layer and its segment softmax: values worked by hand, finite-
 * difference gradients (heads concatenated and averaged), attention
 * dropout, and bad arguments with their messages. */
#include "testutil.h"

#include "nn/nn-impl.h"

#include <math.h>
#include <string.h>

static rec_tensor *i32(rec_graph *g, int n, const int32_t *v)
{
    rec_tensor *t = rec_tensor_i32(g, n);
    memcpy(t->iv, v, (size_t)n * sizeof *v);
    return t;
}

START_TEST(segment_softmax_by_hand)
{
    rec_graph *g;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    /* two columns; segments {0, 1}, {}, {2} */
    const float xv[6] = { 1, 0, 2, 0, 3, -5 };
    int64_t sh[2] = { 3, 2 };
    const int32_t off[4] = { 0, 2, 2, 3 };
    rec_tensor *y = rec_segment_softmax(g, rec_tensor_from(g, xv, 2, sh), i32(g, 4, off));
    ck_assert_ptr_nonnull(y);
    double e1 = exp(1), e2 = exp(2);
    ck_assert_double_eq_tol(y->v[0], e1 / (e1 + e2), 1e-6);
    ck_assert_double_eq_tol(y->v[2], e2 / (e1 + e2), 1e-6);
    ck_assert_double_eq_tol(y->v[1], 0.5, 1e-6);
    ck_assert_double_eq_tol(y->v[3], 0.5, 1e-6);
    ck_assert_double_eq_tol(y->v[4], 1.0, 1e-6);
    ck_assert_double_eq_tol(y->v[5], 1.0, 1e-6);
    rec_graph_reset(g);
    const int32_t bad[3] = { 0, 2, 1 };
    ck_assert_ptr_null(rec_segment_softmax(g, rec_tensor_from(g, xv, 2, sh), i32(g, 3, bad)));
    ck_assert_str_eq(rec_last_error(), "rec_segment_softmax: offsets run 0 .. 1, want 0 .. 3 "
                     "(the rows of x)");
    rec_graph_reset(g);
    const int32_t dec[4] = { 0, 2, 1, 3 };
    ck_assert_ptr_null(rec_segment_softmax(g, rec_tensor_from(g, xv, 2, sh), i32(g, 4, dec)));
    ck_assert_str_eq(rec_last_error(), "rec_segment_softmax: offsets[1] = 2 > offsets[2] = 1");
    rec_graph_destroy(g);
}
END_TEST

typedef struct smctx {
    rec_tensor *x;
} smctx;

static rec_tensor *build_segsm(rec_graph *g, void *p)
{
    smctx *c = p;
    const int32_t off[5] = { 0, 3, 3, 4, 7 };
    return tu_wsum(g, rec_segment_softmax(g, c->x, i32(g, 5, off)));
}

START_TEST(segment_softmax_gradcheck)
{
    rec_pstore *ps;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    int64_t sh[2] = { 7, 3 };
    smctx c = { rec_pstore_add(ps, "x", 2, sh, 0) };
    tu_fill(c.x, 3, -2, 2);
    tu_gradcheck(ps, build_segsm, &c, 1e-2, 1e-3, 1e-2);
    rec_pstore_destroy(ps);
}
END_TEST

/* Nodes 0, 1, 2; node 0 attends to {0, 1, 2}, node 1 to {1}, node 2 to
 * {0, 2}. */
static const int64_t PTR[4] = { 0, 3, 4, 6 };
static const int32_t IDX[6] = { 0, 1, 2, 1, 0, 2 };
static rec_csr NBR = { 3, 3, 6, PTR, IDX, NULL, NULL };

static double leaky(double v) { return v > 0 ? v : 0.2 * v; }

START_TEST(gat_forward_by_hand)
{
    rec_pstore *ps;
    rec_graph *g;
    rec_rng rng;
    rec_rng_seed(&rng, 1);
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_nn_gat l;
    /* in 2, out 1, 2 heads: W = [[1, 0], [0, 2]] so z_0 = x0, z_1 = 2 x1;
     * head 0: a_dst 1, a_src -1; head 1: a_dst 0.5, a_src 1 */
    ck_assert_int_eq(rec_nn_gat_init(&l, ps, "gat", 2, 1, 2, 1, 0.0f, &rng), REC_OK);
    const float w[4] = { 1, 0, 0, 2 }, ad[2] = { 1, 0.5f }, as[2] = { -1, 1 };
    memcpy(l.weight->v, w, sizeof w);
    memcpy(l.att_dst->v, ad, sizeof ad);
    memcpy(l.att_src->v, as, sizeof as);
    const float xv[6] = { 1, 0, -1, 1, 2, 0.5f };
    int64_t sh[2] = { 3, 2 };
    double z[2][3] = { { 1, -1, 2 }, { 0, 2, 1 } }, want[2][3];
    double adv[2] = { 1, 0.5 }, asv[2] = { -1, 1 };
    for (int h = 0; h < 2; h++)
        for (int a = 0; a < 3; a++) {
            double den = 0, num = 0;
            for (int64_t k = PTR[a]; k < PTR[a + 1]; k++) {
                double ex = exp(leaky(adv[h] * z[h][a] + asv[h] * z[h][IDX[k]]));
                den += ex;
                num += ex * z[h][IDX[k]];
            }
            want[h][a] = num / den;
        }
    /* node 1 attends to itself alone: its output is its own z */
    ck_assert_double_eq_tol(want[0][1], -1, 1e-12);
    for (int concat = 0; concat < 2; concat++) {
        l.concat = concat;
        rec_graph_reset(g);
        rec_graph_set_grad(g, 0);
        rec_tensor *alpha, *y = rec_nn_gat_forward(g, &l, &NBR, rec_tensor_from(g, xv, 2, sh),
                                                   &alpha);
        ck_assert_ptr_nonnull(y);
        ck_assert_int_eq(y->shape[1], concat ? 2 : 1);
        for (int a = 0; a < 3; a++)
            if (concat) {
                ck_assert_double_eq_tol(y->v[a * 2], want[0][a], 1e-6);
                ck_assert_double_eq_tol(y->v[a * 2 + 1], want[1][a], 1e-6);
            } else {
                ck_assert_double_eq_tol(y->v[a], (want[0][a] + want[1][a]) / 2, 1e-6);
            }
        /* node 2, head 0: logits leaky(2 - 1) = 1 and leaky(2 - 2) = 0 */
        ck_assert_double_eq_tol(alpha->v[4 * 2], exp(1) / (exp(1) + 1), 1e-6);
        ck_assert_double_eq_tol(alpha->v[3 * 2 + 1], 1.0, 1e-6);
    }
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
}
END_TEST

typedef struct gatctx {
    rec_nn_gat l;
    rec_tensor *x;
    rec_csr *nbr;
} gatctx;

static rec_tensor *build_gat(rec_graph *g, void *p)
{
    gatctx *c = p;
    return tu_wsum(g, rec_nn_gat_forward(g, &c->l, c->nbr, c->x, NULL));
}

START_TEST(gat_gradcheck)
{
    /* 5 nodes, self-loops and a few edges each way */
    static const int64_t ptr[6] = { 0, 3, 5, 8, 9, 12 };
    static const int32_t idx[12] = { 0, 2, 4, 1, 3, 0, 2, 3, 3, 0, 1, 4 };
    rec_csr nbr = { 5, 5, 12, ptr, idx, NULL, NULL };
    for (int concat = 0; concat < 2; concat++) {
        rec_pstore *ps;
        rec_rng rng;
        rec_rng_seed(&rng, 9);
        ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
        gatctx c = { .nbr = &nbr };
        int64_t sh[2] = { 5, 3 };
        c.x = rec_pstore_add(ps, "x", 2, sh, 0);
        tu_fill(c.x, 5, -1, 1);
        ck_assert_int_eq(rec_nn_gat_init(&c.l, ps, "gat", 3, 2, 2, concat, 0.3f, &rng), REC_OK);
        /* large attention vectors: the softmax is far from uniform */
        tu_fill(c.l.att_dst, 6, -2, 2);
        tu_fill(c.l.att_src, 7, -2, 2);
        tu_gradcheck(ps, build_gat, &c, 1e-3, 2e-3, 2e-2);
        rec_pstore_destroy(ps);
    }
}
END_TEST

/* The "gat" model's first layer over item features (models/gat.c):
 * X_0 = M (E_0[idrow] + mean of F over each node's codes), M averaging a
 * user's items and copying an item, then a layer.  Users 0 and 1, items 2,
 * 3 and 4 (4 without edges: no E_0 row, its features alone); the users'
 * bags are empty. */
typedef struct inputctx {
    rec_nn_gat l;
    rec_tensor *e0, *feat;
    rec_csr *nbr, *mean;
} inputctx;

static rec_tensor *build_inputs(rec_graph *g, void *p)
{
    inputctx *c = p;
    static const int32_t idrow[5] = { 0, 1, 2, 3, -1 }, codes[5] = { 0, 1, 2, 1, 2 };
    static const int32_t off[6] = { 0, 0, 0, 2, 3, 5 };
    rec_tensor *x = rec_add(g, rec_gather(g, c->e0, i32(g, 5, idrow), -1),
                            rec_embedding_bag(g, c->feat, i32(g, 5, codes), i32(g, 6, off), NULL,
                                              REC_REDUCE_MEAN));
    return tu_wsum(g, rec_nn_gat_forward(g, &c->l, c->nbr, rec_spmm(g, c->mean, x), NULL));
}

START_TEST(gat_item_inputs_gradcheck)
{
    /* edges u0-i2, u0-i3, u1-i3 */
    static const int64_t nptr[6] = { 0, 3, 5, 7, 10, 11 }, mptr[6] = { 0, 2, 3, 4, 5, 6 };
    static const int32_t nidx[11] = { 0, 2, 3, 1, 3, 0, 2, 0, 1, 3, 4 };
    static const int32_t midx[6] = { 2, 3, 3, 2, 3, 4 };
    static const float mval[6] = { 0.5f, 0.5f, 1, 1, 1, 1 };
    rec_csr nbr = { 5, 5, 11, nptr, nidx, NULL, NULL };
    rec_csr mean = { 5, 5, 6, mptr, midx, mval, NULL };
    rec_pstore *ps;
    rec_rng rng;
    rec_rng_seed(&rng, 11);
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    inputctx c = { .nbr = &nbr, .mean = &mean };
    int64_t es[2] = { 5, 4 }, fs[2] = { 3, 4 };
    c.e0 = rec_pstore_add(ps, "e0", 2, es, 0);
    c.feat = rec_pstore_add(ps, "feat", 2, fs, 0);
    tu_fill(c.e0, 12, -1, 1);
    tu_fill(c.feat, 13, -1, 1);
    ck_assert_int_eq(rec_nn_gat_init(&c.l, ps, "gat", 4, 2, 2, 1, 0.0f, &rng), REC_OK);
    tu_fill(c.l.att_dst, 14, -2, 2);
    tu_fill(c.l.att_src, 15, -2, 2);
    tu_gradcheck(ps, build_inputs, &c, 1e-3, 2e-3, 2e-2);
    rec_csr_free_transpose(&mean);
    rec_pstore_destroy(ps);
}
END_TEST

START_TEST(gat_attention_dropout)
{
    rec_pstore *ps;
    rec_graph *g;
    rec_rng rng;
    rec_rng_seed(&rng, 2);
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_nn_gat l;
    ck_assert_int_eq(rec_nn_gat_init(&l, ps, "gat", 2, 4, 2, 1, 0.5f, &rng), REC_OK);
    const float xv[6] = { 1, 0, -1, 1, 2, 0.5f };
    int64_t sh[2] = { 3, 2 };
    rec_graph_set_grad(g, 0);
    rec_tensor *y0 = rec_nn_gat_forward(g, &l, &NBR, rec_tensor_from(g, xv, 2, sh), NULL);
    rec_graph_set_training(g, 1);
    rec_graph_seed(g, 4);
    rec_tensor *alpha;
    rec_tensor *y1 = rec_nn_gat_forward(g, &l, &NBR, rec_tensor_from(g, xv, 2, sh), &alpha);
    ck_assert_ptr_nonnull(y1);
    ck_assert(memcmp(y0->v, y1->v, 24 * sizeof *y0->v) != 0);
    /* the attention itself (before dropout) still sums to 1 per node and head */
    for (int a = 0; a < 3; a++)
        for (int h = 0; h < 2; h++) {
            double s = 0;
            for (int64_t k = PTR[a]; k < PTR[a + 1]; k++)
                s += alpha->v[k * 2 + h];
            ck_assert_double_eq_tol(s, 1.0, 1e-6);
        }
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
}
END_TEST

START_TEST(gat_bad_arguments)
{
    rec_pstore *ps;
    rec_graph *g;
    rec_rng rng;
    rec_rng_seed(&rng, 2);
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_nn_gat l;
    ck_assert_int_eq(rec_nn_gat_init(&l, ps, "g", 2, 4, 0, 1, 0.0f, &rng), REC_E_RANGE);
    ck_assert_str_eq(rec_last_error(), "rec_nn_gat_init: in = 2, out = 4, heads = 0: want "
                     "positive sizes and at most 16 heads");
    ck_assert_int_eq(rec_nn_gat_init(&l, ps, "g", 2, 4, 2, 1, 1.0f, &rng), REC_E_RANGE);
    ck_assert_str_eq(rec_last_error(), "rec_nn_gat_init: dropout = 1 is outside [0, 1)");
    ck_assert_int_eq(rec_nn_gat_init(&l, ps, "g", 2, 4, 2, 1, 0.0f, &rng), REC_OK);
    const float xv[6] = { 0 };
    int64_t sh[2] = { 3, 2 }, bad[2] = { 2, 3 };
    ck_assert_ptr_null(rec_nn_gat_forward(g, &l, &NBR, rec_tensor_from(g, xv, 2, bad), NULL));
    ck_assert_str_eq(rec_last_error(), "rec_nn_gat_forward: x must be [3, 2] (one row per node)");
    rec_graph_reset(g);
    static const int64_t ptr[4] = { 0, 3, 3, 5 };
    rec_csr lonely = { 3, 3, 5, ptr, IDX, NULL, NULL };
    ck_assert_ptr_null(rec_nn_gat_forward(g, &l, &lonely, rec_tensor_from(g, xv, 2, sh), NULL));
    ck_assert_str_eq(rec_last_error(), "rec_nn_gat_forward: node 1 has no neighbours (give "
                     "every node a self-loop)");
    rec_graph_reset(g);
    ck_assert_ptr_null(rec_nn_gat_forward(g, &l, NULL, rec_tensor_from(g, xv, 2, sh), NULL));
    ck_assert_str_eq(rec_last_error(), "rec_nn_gat_forward: nbr is NULL");
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
}
END_TEST

Suite *rec_nn_gat_suite(void)
{
    Suite *s = suite_create("nn_gat");
    TCase *t = tcase_create("nn_gat");
    tcase_add_test(t, segment_softmax_by_hand);
    tcase_add_test(t, segment_softmax_gradcheck);
    tcase_add_test(t, gat_forward_by_hand);
    tcase_add_test(t, gat_gradcheck);
    tcase_add_test(t, gat_item_inputs_gradcheck);
    tcase_add_test(t, gat_attention_dropout);
    tcase_add_test(t, gat_bad_arguments);
    suite_add_tcase(s, t);
    return s;
}
