/* PinSage's convolution: one row worked by hand, finite-difference
 * gradients to the inputs, the weights and the importance weights, and bad
 * arguments with their messages. */
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

START_TEST(pinsage_forward_by_hand)
{
    rec_pstore *ps;
    rec_graph *g;
    rec_rng rng;
    rec_rng_seed(&rng, 1);
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_nn_pinsage l;
    /* in 1, hidden 1, out 2: Q = 2, q = -1; W = [[1, 1], [1, -1]], w = (0, 0.5) */
    ck_assert_int_eq(rec_nn_pinsage_init(&l, ps, "ps", 1, 1, 2, &rng), REC_OK);
    ck_assert_ptr_eq(rec_pstore_find(ps, "ps.q.weight"), l.q.weight);
    l.q.weight->v[0] = 2;
    l.q.bias->v[0] = -1;
    const float w[4] = { 1, 1, 1, -1 }, b[2] = { 0, 0.5f };
    memcpy(l.w.weight->v, w, sizeof w);
    memcpy(l.w.bias->v, b, sizeof b);
    /* row 0: self 1, neighbours 3 (alpha 0.75) and 0 (0.25):
     *   n = 0.75 ReLU(5) + 0.25 ReLU(-1) = 3.75
     *   z' = ReLU(1 + 3.75, 1 - 3.75 + 0.5) = (4.75, 0) -> (1, 0)
     * row 1: self -2, no neighbours: n = 0, z' = ReLU(-2, -1.5) = 0 -> stays 0 */
    /* h rows: 1, -2 (the selves), 3, 0 (the neighbours) */
    int64_t hs[2] = { 4, 1 };
    const float hv[4] = { 1, -2, 3, 0 }, al[2] = { 0.75f, 0.25f };
    const int32_t off[3] = { 0, 2, 2 }, self[2] = { 0, 1 }, nb[2] = { 2, 3 };
    rec_graph_set_grad(g, 0);
    rec_tensor *alpha = rec_tensor_from(g, al, 1, (const int64_t[]){ 2 });
    rec_tensor *y = rec_nn_pinsage_forward(g, &l, rec_tensor_from(g, hv, 2, hs),
                                           i32(g, 2, self), i32(g, 2, nb), i32(g, 3, off),
                                           alpha);
    ck_assert_ptr_nonnull(y);
    ck_assert_float_eq_tol(y->v[0], 1.0f, 1e-6);
    ck_assert_float_eq_tol(y->v[1], 0.0f, 1e-6);
    ck_assert_float_eq_tol(y->v[2], 0.0f, 1e-6);
    ck_assert_float_eq_tol(y->v[3], 0.0f, 1e-6);
    /* a self of 0.5 with W row 1 = (1, -0.2): z' = (4.25, 0.5 - 0.75 + 0.5 = 0.25) */
    l.w.weight->v[3] = -0.2f;
    const float hv2[4] = { 0.5f, 0, 3, 0 };
    y = rec_nn_pinsage_forward(g, &l, rec_tensor_from(g, hv2, 2, hs), i32(g, 2, self),
                               i32(g, 2, nb), i32(g, 3, off), alpha);
    double n0 = sqrt(4.25 * 4.25 + 0.25 * 0.25);
    ck_assert_double_eq_tol(y->v[0], 4.25 / n0, 1e-6);
    ck_assert_double_eq_tol(y->v[1], 0.25 / n0, 1e-6);
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
}
END_TEST

typedef struct psctx {
    rec_nn_pinsage l;
    rec_tensor *h, *w;
} psctx;

/* 3 outputs over 6 rows of h; row 0 is a self and a neighbour, row 4 is in
 * two neighbourhoods (its gradient adds up from both). */
static rec_tensor *build(rec_graph *g, void *p)
{
    psctx *c = p;
    const int32_t off[4] = { 0, 3, 4, 6 }, self[3] = { 0, 1, 2 }, nb[6] = { 3, 4, 5, 4, 0, 5 };
    return tu_wsum(g, rec_nn_pinsage_forward(g, &c->l, c->h, i32(g, 3, self), i32(g, 6, nb),
                                             i32(g, 4, off), c->w));
}

START_TEST(pinsage_gradcheck)
{
    rec_pstore *ps;
    rec_rng rng;
    rec_rng_seed(&rng, 3);
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    psctx c;
    int64_t hs[2] = { 6, 4 }, ws[1] = { 6 };
    c.h = rec_pstore_add(ps, "h", 2, hs, 0);
    c.w = rec_pstore_add(ps, "alpha", 1, ws, 0);
    tu_fill(c.h, 1, -1, 1);
    tu_fill(c.w, 3, 0.1f, 1);
    ck_assert_int_eq(rec_nn_pinsage_init(&c.l, ps, "ps", 4, 5, 3, &rng), REC_OK);
    /* biases away from ReLU's kink at 0 for the finite differences */
    tu_fill(c.l.q.bias, 4, 0.2f, 0.6f);
    tu_fill(c.l.w.bias, 5, 0.2f, 0.6f);
    tu_gradcheck(ps, build, &c, 1e-3, 2e-3, 2e-2);
    rec_pstore_destroy(ps);
}
END_TEST

START_TEST(pinsage_bad_arguments)
{
    rec_pstore *ps;
    rec_graph *g;
    rec_rng rng;
    rec_rng_seed(&rng, 1);
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_nn_pinsage l;
    ck_assert_int_eq(rec_nn_pinsage_init(&l, ps, "ps", 2, 0, 2, &rng), REC_E_RANGE);
    ck_assert_str_eq(rec_last_error(), "rec_nn_pinsage_init: in = 2, hidden = 0, out = 2 must "
                     "be > 0");
    ck_assert_int_eq(rec_nn_pinsage_init(&l, ps, "ps", 2, 3, 2, &rng), REC_OK);
    int64_t s[2] = { 2, 2 }, bad[2] = { 2, 3 };
    const float v[6] = { 0 };
    const int32_t off[3] = { 0, 1, 2 }, idx[2] = { 0, 1 };
    rec_tensor *al = rec_tensor_from(g, v, 1, (const int64_t[]){ 2 });
    ck_assert_ptr_null(rec_nn_pinsage_forward(g, &l, rec_tensor_from(g, v, 2, bad),
                                              i32(g, 2, idx), i32(g, 2, idx), i32(g, 3, off),
                                              al));
    ck_assert_str_eq(rec_last_error(), "rec_nn_pinsage_forward: h must be [rows, 2]");
    rec_graph_reset(g);
    al = rec_tensor_from(g, v, 1, (const int64_t[]){ 2 });
    ck_assert_ptr_null(rec_nn_pinsage_forward(g, &l, rec_tensor_from(g, v, 2, s),
                                              i32(g, 2, idx), i32(g, 2, idx), i32(g, 2, off),
                                              al));
    ck_assert_str_eq(rec_last_error(), "rec_nn_pinsage_forward: offsets must be I32 [3] (one "
                     "bag per entry of self, plus one)");
    rec_graph_reset(g);
    ck_assert_ptr_null(rec_nn_pinsage_forward(g, &l, rec_tensor_from(g, v, 2, s),
                                              i32(g, 2, idx), i32(g, 2, idx), i32(g, 3, off),
                                              NULL));
    ck_assert_str_eq(rec_last_error(), "rec_nn_pinsage_forward: weights is NULL");
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
}
END_TEST

Suite *rec_nn_pinsage_suite(void)
{
    Suite *s = suite_create("nn_pinsage");
    TCase *t = tcase_create("nn_pinsage");
    tcase_add_test(t, pinsage_forward_by_hand);
    tcase_add_test(t, pinsage_gradcheck);
    tcase_add_test(t, pinsage_bad_arguments);
    suite_add_tcase(s, t);
    return s;
}
