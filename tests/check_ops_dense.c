/* Dense ops: products, elementwise, reductions, softmax/layernorm, shapes.
 * Each op: forward values against hand-computed results, gradients against
 * finite differences, and its error paths. */
#include "testutil.h"
#include "core/core-impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---------------------------------------------------------------- */

static rec_graph *new_graph(void)
{
    rec_graph *g;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    return g;
}

static rec_tensor *t2(rec_graph *g, int64_t r, int64_t c, const float *v)
{
    int64_t s[2] = { r, c };
    rec_tensor *t = rec_tensor_from(g, v, 2, s);
    ck_assert_ptr_nonnull(t);
    return t;
}

static rec_tensor *t1(rec_graph *g, int64_t n, const float *v)
{
    rec_tensor *t = rec_tensor_from(g, v, 1, &n);
    ck_assert_ptr_nonnull(t);
    return t;
}

static void expect_vals(const rec_tensor *t, const float *want, int64_t n, double tol)
{
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->n, n);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(fabs((double)t->v[i] - want[i]) <= tol, "value %lld: got %.7g, want %.7g",
                      (long long)i, (double)t->v[i], (double)want[i]);
}

static void expect_shape(const rec_tensor *t, int nd, const int64_t *shape)
{
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->nd, nd);
    for (int i = 0; i < nd; i++)
        ck_assert_int_eq(t->shape[i], shape[i]);
}

/* out must be NULL, the graph's status st, and the message contain each of
 * the (up to three) strings; then the graph is reset for the next case. */
static void expect_fail(rec_graph *g, rec_tensor *out, rec_status st, const char *s1,
                        const char *s2, const char *s3)
{
    ck_assert_ptr_null(out);
    ck_assert_int_eq(rec_graph_status(g), st);
    const char *want[3] = { s1, s2, s3 };
    for (int i = 0; i < 3; i++)
        if (want[i])
            ck_assert_msg(strstr(rec_last_error(), want[i]) != NULL,
                          "message '%s' lacks '%s'", rec_last_error(), want[i]);
    rec_graph_reset(g);
}

static rec_tensor *param(rec_pstore *ps, const char *name, int nd, const int64_t *shape,
                         unsigned seed)
{
    rec_tensor *t = rec_pstore_add(ps, name, nd, shape, 0);
    ck_assert_ptr_nonnull(t);
    tu_fill(t, seed, -1.0f, 1.0f);
    return t;
}

/* Keeps values at least `gap` from 0, so finite differences do not straddle
 * the kink of relu (or the clamp of l2_normalize). */
static void away_from_zero(rec_tensor *t, float gap)
{
    for (int64_t i = 0; i < t->n; i++)
        if (fabsf(t->v[i]) < gap)
            t->v[i] = t->v[i] < 0 ? -gap - 0.1f : gap + 0.1f;
}

#define S(...) ((const int64_t[]){ __VA_ARGS__ })

/* A gradcheck context: params p[], integer and float arguments. */
typedef struct gc {
    rec_pstore *ps;
    rec_tensor *p[6];
    int k[4];
    float f;
    int32_t mask[8];
} gc;

static gc gc_new(void)
{
    gc c;
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(rec_pstore_create(&c.ps), REC_OK);
    return c;
}

#define GC_EPS 1e-2
#define GC_ATOL 1e-3
#define GC_RTOL 1e-2

/* ---- matmul, bmm, linear ---------------------------------------------------- */

static const float A23[6] = { 1, 2, 3, 4, 5, 6 };
static const float A23T[6] = { 1, 4, 2, 5, 3, 6 };
static const float B32[6] = { 7, 8, 9, 10, 11, 12 };
static const float B32T[6] = { 7, 9, 11, 8, 10, 12 };
static const float C22[4] = { 58, 64, 139, 154 };

START_TEST(matmul_forward_all_transposes)
{
    rec_graph *g = new_graph();
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            rec_tensor *a = ta ? t2(g, 3, 2, A23T) : t2(g, 2, 3, A23);
            rec_tensor *b = tb ? t2(g, 2, 3, B32T) : t2(g, 3, 2, B32);
            rec_tensor *c = rec_matmul(g, a, b, ta, tb);
            expect_shape(c, 2, S(2, 2));
            expect_vals(c, C22, 4, 1e-5);
        }
    rec_graph_destroy(g);
}
END_TEST

static rec_tensor *build_matmul(rec_graph *g, void *ctx)
{
    gc *c = ctx;
    return tu_wsum(g, rec_matmul(g, c->p[0], c->p[1], c->k[0], c->k[1]));
}

START_TEST(matmul_gradcheck_all_transposes)
{
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            gc c = gc_new();
            /* op(A) [3,4], op(B) [4,2] */
            c.p[0] = param(c.ps, "a", 2, ta ? S(4, 3) : S(3, 4), 1);
            c.p[1] = param(c.ps, "b", 2, tb ? S(2, 4) : S(4, 2), 2);
            c.k[0] = ta;
            c.k[1] = tb;
            tu_gradcheck(c.ps, build_matmul, &c, GC_EPS, GC_ATOL, GC_RTOL);
            rec_pstore_destroy(c.ps);
        }
}
END_TEST

START_TEST(bmm_forward_values)
{
    rec_graph *g = new_graph();
    float av[12], bv[12];
    memcpy(av, A23, sizeof A23);
    const float eye[6] = { 1, 0, 0, 0, 1, 0 };
    memcpy(av + 6, eye, sizeof eye);
    memcpy(bv, B32, sizeof B32);
    memcpy(bv + 6, B32, sizeof B32);
    rec_tensor *a = rec_tensor_from(g, av, 3, S(2, 2, 3));
    rec_tensor *b = rec_tensor_from(g, bv, 3, S(2, 3, 2));
    rec_tensor *c = rec_bmm(g, a, b, 0, 0);
    expect_shape(c, 3, S(2, 2, 2));
    const float want[8] = { 58, 64, 139, 154, 7, 8, 9, 10 };
    expect_vals(c, want, 8, 1e-5);
    /* batch dims may be several: [2,1,2,3] x [2,1,3,2] */
    rec_tensor *a4 = rec_tensor_from(g, av, 4, S(2, 1, 2, 3));
    rec_tensor *b4 = rec_tensor_from(g, bv, 4, S(2, 1, 3, 2));
    rec_tensor *c4 = rec_bmm(g, a4, b4, 0, 0);
    expect_shape(c4, 4, S(2, 1, 2, 2));
    expect_vals(c4, want, 8, 1e-5);
    rec_graph_destroy(g);
}
END_TEST

static rec_tensor *build_bmm(rec_graph *g, void *ctx)
{
    gc *c = ctx;
    return tu_wsum(g, rec_bmm(g, c->p[0], c->p[1], c->k[0], c->k[1]));
}

START_TEST(bmm_gradcheck_all_transposes)
{
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            gc c = gc_new();
            c.p[0] = param(c.ps, "a", 3, ta ? S(3, 4, 2) : S(3, 2, 4), 3);
            c.p[1] = param(c.ps, "b", 3, tb ? S(3, 3, 4) : S(3, 4, 3), 4);
            c.k[0] = ta;
            c.k[1] = tb;
            tu_gradcheck(c.ps, build_bmm, &c, GC_EPS, GC_ATOL, GC_RTOL);
            rec_pstore_destroy(c.ps);
        }
}
END_TEST

START_TEST(linear_forward_values)
{
    rec_graph *g = new_graph();
    const float w[6] = { 1, 0, -1, 0.5f, 0.5f, 0.5f }, b[2] = { 10, 20 };
    rec_tensor *x = t2(g, 2, 3, A23);
    rec_tensor *y = rec_linear(g, x, t2(g, 2, 3, w), t1(g, 2, b));
    expect_shape(y, 2, S(2, 2));
    const float want[4] = { 8, 23, 8, 27.5f };
    expect_vals(y, want, 4, 1e-5);
    const float want_nob[4] = { -2, 3, -2, 7.5f };
    expect_vals(rec_linear(g, x, t2(g, 2, 3, w), NULL), want_nob, 4, 1e-5);
    /* leading dims are kept: [1,2,3] -> [1,2,2] */
    rec_tensor *x3 = rec_tensor_from(g, A23, 3, S(1, 2, 3));
    rec_tensor *y3 = rec_linear(g, x3, t2(g, 2, 3, w), t1(g, 2, b));
    expect_shape(y3, 3, S(1, 2, 2));
    expect_vals(y3, want, 4, 1e-5);
    rec_graph_destroy(g);
}
END_TEST

static rec_tensor *build_linear(rec_graph *g, void *ctx)
{
    gc *c = ctx;
    return tu_wsum(g, rec_linear(g, c->p[0], c->p[1], c->k[0] ? c->p[2] : NULL));
}

START_TEST(linear_gradcheck)
{
    for (int bias = 0; bias < 2; bias++) {
        gc c = gc_new();
        c.p[0] = param(c.ps, "x", 3, S(2, 3, 4), 5);
        c.p[1] = param(c.ps, "w", 2, S(5, 4), 6);
        if (bias)
            c.p[2] = param(c.ps, "b", 1, S(5), 7);
        c.k[0] = bias;
        tu_gradcheck(c.ps, build_linear, &c, GC_EPS, GC_ATOL, GC_RTOL);
        rec_pstore_destroy(c.ps);
    }
}
END_TEST

/* Backward ops that write a whole gradient skip zeroing it when they are
 * its first writer (rec_grad_full) and add when they are not: intermediates
 * with several consumers, and an op reading one tensor twice, must still
 * sum every contribution.  h = x W^T feeds h + h (both inputs), whose result
 * feeds a matmul with itself, a bmm with itself, a linear, a row dot with
 * itself, a sum and the loss directly. */
static rec_tensor *build_shared(rec_graph *g, void *ctx)
{
    gc *c = ctx;
    rec_tensor *h = rec_linear(g, c->p[0], c->p[1], NULL);
    rec_tensor *a = rec_add(g, h, h);
    rec_tensor *m = rec_matmul(g, a, a, 0, 1);
    rec_tensor *a3 = rec_reshape(g, a, 3, S(2, 3, 4));
    rec_tensor *b = rec_bmm(g, a3, a3, 1, 0);
    rec_tensor *l = rec_linear(g, a, c->p[2], NULL);
    rec_tensor *parts = rec_add(g, rec_add(g, tu_wsum(g, m), tu_wsum(g, b)), tu_wsum(g, l));
    rec_tensor *r = rec_add(g, tu_wsum(g, rec_rowdot(g, a, a)), rec_sum(g, a));
    return rec_add(g, rec_add(g, parts, tu_wsum(g, a)), r);
}

START_TEST(shared_intermediates_sum_every_gradient)
{
    gc c = gc_new();
    c.p[0] = param(c.ps, "x", 2, S(6, 5), 21);
    c.p[1] = param(c.ps, "w", 2, S(4, 5), 22);
    c.p[2] = param(c.ps, "v", 2, S(3, 4), 23);
    tu_gradcheck(c.ps, build_shared, &c, GC_EPS, GC_ATOL, GC_RTOL);
    rec_pstore_destroy(c.ps);
}
END_TEST

START_TEST(products_reject_bad_shapes)
{
    rec_graph *g = new_graph();
    rec_tensor *a = t2(g, 2, 3, A23), *b = t2(g, 3, 2, B32);
    expect_fail(g, rec_matmul(g, a, t2(g, 2, 3, A23), 0, 0), REC_E_INVALID, "rec_matmul",
                "[2,3]", "inner dims 3 and 2");
    a = t2(g, 2, 3, A23);
    expect_fail(g, rec_matmul(g, a, rec_tensor_from(g, B32, 1, S(6)), 0, 0), REC_E_INVALID,
                "rec_matmul", "[6]", "2-D");
    a = t2(g, 2, 3, A23);
    b = t2(g, 3, 2, B32);
    expect_fail(g, rec_matmul(g, a, b, 1, 0), REC_E_INVALID, "rec_matmul", "[2,3]^T", "[3,2]");
    rec_tensor *a3 = rec_tensor_from(g, A23, 3, S(1, 2, 3));
    rec_tensor *b3 = rec_tensor_from(g, B32, 3, S(1, 2, 3));
    expect_fail(g, rec_bmm(g, a3, b3, 0, 0), REC_E_INVALID, "rec_bmm", "[1,2,3]", "inner");
    a3 = rec_tensor_from(g, A23, 3, S(1, 2, 3));
    b3 = rec_tensor_from(g, B32, 3, S(2, 3, 1));
    expect_fail(g, rec_bmm(g, a3, b3, 0, 0), REC_E_INVALID, "rec_bmm", "batch dims",
                "[2,3,1]");
    a = t2(g, 2, 3, A23);
    b = t2(g, 3, 2, B32);
    expect_fail(g, rec_bmm(g, a, b, 0, 0), REC_E_INVALID, "rec_bmm", "[2,3]", "at least 3");
    rec_tensor *x = t2(g, 2, 3, A23), *w = t2(g, 3, 2, B32);
    expect_fail(g, rec_linear(g, x, w, NULL), REC_E_INVALID, "rec_linear", "x [2,3]",
                "W [3,2]");
    x = t2(g, 2, 3, A23);
    w = t2(g, 2, 3, A23);
    expect_fail(g, rec_linear(g, x, w, t1(g, 3, A23)), REC_E_INVALID, "rec_linear", "b [3]",
                "[2]");
    /* index tensors are not values */
    int32_t idx[6] = { 0 };
    x = t2(g, 2, 3, A23);
    expect_fail(g, rec_matmul(g, x, rec_tensor_wrap_i32(g, idx, 6), 0, 0), REC_E_INVALID,
                "rec_matmul: b is I32", NULL, NULL);
    rec_graph_destroy(g);
}
END_TEST

/* ---- elementwise ------------------------------------------------------------ */

START_TEST(binary_forward_broadcasts)
{
    rec_graph *g = new_graph();
    const float bs[6] = { 10, 20, 30, 40, 50, 60 }, br[3] = { 10, 20, 30 }, two = 2;
    rec_tensor *a = t2(g, 2, 3, A23);
    const float add_same[6] = { 11, 22, 33, 44, 55, 66 };
    expect_vals(rec_add(g, a, t2(g, 2, 3, bs)), add_same, 6, 0);
    const float add_row[6] = { 11, 22, 33, 14, 25, 36 };
    expect_vals(rec_add(g, a, t1(g, 3, br)), add_row, 6, 0);
    /* [1,3] is a row too */
    expect_vals(rec_add(g, a, t2(g, 1, 3, br)), add_row, 6, 0);
    const float sub_row[6] = { -9, -18, -27, -6, -15, -24 };
    expect_vals(rec_sub(g, a, t1(g, 3, br)), sub_row, 6, 0);
    const float sub_scalar[6] = { -1, 0, 1, 2, 3, 4 };
    expect_vals(rec_sub(g, a, t1(g, 1, &two)), sub_scalar, 6, 0);
    const float mul_same[6] = { 10, 40, 90, 160, 250, 360 };
    expect_vals(rec_mul(g, a, t2(g, 2, 3, bs)), mul_same, 6, 0);
    const float mul_row[6] = { 10, 40, 90, 40, 100, 180 };
    expect_vals(rec_mul(g, a, t1(g, 3, br)), mul_row, 6, 0);
    const float mul_scalar[6] = { 2, 4, 6, 8, 10, 12 };
    rec_tensor *y = rec_mul(g, a, t1(g, 1, &two));
    expect_vals(y, mul_scalar, 6, 0);
    expect_shape(y, 2, S(2, 3));
    rec_graph_destroy(g);
}
END_TEST

static rec_tensor *build_binary(rec_graph *g, void *ctx)
{
    gc *c = ctx;
    rec_tensor *(*ops[3])(rec_graph *, rec_tensor *, rec_tensor *) = { rec_add, rec_sub,
                                                                        rec_mul };
    return tu_wsum(g, ops[c->k[0]](g, c->p[0], c->p[1]));
}

START_TEST(binary_gradcheck)
{
    const int64_t *bshape[3] = { S(3, 4), S(4), S(1) };
    const int bnd[3] = { 2, 1, 1 };
    for (int op = 0; op < 3; op++)
        for (int bc = 0; bc < 3; bc++) {
            gc c = gc_new();
            c.p[0] = param(c.ps, "a", 2, S(3, 4), 8);
            c.p[1] = param(c.ps, "b", bnd[bc], bshape[bc], 9);
            c.k[0] = op;
            tu_gradcheck(c.ps, build_binary, &c, GC_EPS, GC_ATOL, GC_RTOL);
            rec_pstore_destroy(c.ps);
        }
}
END_TEST

START_TEST(unary_forward_values)
{
    rec_graph *g = new_graph();
    const float x[5] = { -2, -0.5f, 0, 0.5f, 2 };
    rec_tensor *a = t1(g, 5, x);
    const float relu[5] = { 0, 0, 0, 0.5f, 2 };
    expect_vals(rec_relu(g, a), relu, 5, 0);
    const float leaky[5] = { -0.4f, -0.1f, 0, 0.5f, 2 };
    expect_vals(rec_leaky_relu(g, a, 0.2f), leaky, 5, 1e-7);
    expect_vals(rec_leaky_relu(g, a, 0.0f), relu, 5, 0);
    const float sig[5] = { 0.11920292f, 0.37754067f, 0.5f, 0.62245933f, 0.88079708f };
    expect_vals(rec_sigmoid(g, a), sig, 5, 1e-6);
    const float th[5] = { -0.96402758f, -0.46211716f, 0, 0.46211716f, 0.96402758f };
    expect_vals(rec_tanh(g, a), th, 5, 1e-6);
    /* x Phi(x): Phi(2) = 0.97724987, Phi(0.5) = 0.69146246 */
    const float gelu[5] = { -0.04550026f, -0.15426877f, 0, 0.34573123f, 1.95449974f };
    expect_vals(rec_gelu(g, a), gelu, 5, 1e-6);
    const float sc[5] = { 6, 1.5f, 0, -1.5f, -6 };
    expect_vals(rec_scale(g, a, -3.0f), sc, 5, 0);
    /* sigmoid never overflows */
    const float big[2] = { -100, 100 };
    const float sbig[2] = { 0, 1 };
    expect_vals(rec_sigmoid(g, t1(g, 2, big)), sbig, 2, 1e-6);
    rec_graph_destroy(g);
}
END_TEST

static rec_tensor *build_unary(rec_graph *g, void *ctx)
{
    gc *c = ctx;
    rec_tensor *a = c->p[0];
    switch (c->k[0]) {
    case 0: return tu_wsum(g, rec_relu(g, a));
    case 1: return tu_wsum(g, rec_sigmoid(g, a));
    case 2: return tu_wsum(g, rec_tanh(g, a));
    case 3: return tu_wsum(g, rec_gelu(g, a));
    case 5: return tu_wsum(g, rec_leaky_relu(g, a, 0.2f));
    default: return tu_wsum(g, rec_scale(g, a, 2.5f));
    }
}

START_TEST(unary_gradcheck)
{
    for (int op = 0; op < 6; op++) {
        gc c = gc_new();
        c.p[0] = param(c.ps, "a", 2, S(3, 5), 10 + (unsigned)op);
        tu_fill(c.p[0], 10 + (unsigned)op, -2.0f, 2.0f);
        away_from_zero(c.p[0], 0.05f);
        c.k[0] = op;
        tu_gradcheck(c.ps, build_unary, &c, GC_EPS, GC_ATOL, GC_RTOL);
        rec_pstore_destroy(c.ps);
    }
}
END_TEST

START_TEST(binary_and_unary_errors)
{
    rec_graph *g = new_graph();
    rec_tensor *a = t2(g, 2, 3, A23);
    expect_fail(g, rec_add(g, a, t2(g, 3, 2, B32)), REC_E_INVALID, "rec_add", "[2,3]", "[3,2]");
    a = t2(g, 2, 3, A23);
    expect_fail(g, rec_sub(g, a, t1(g, 2, A23)), REC_E_INVALID, "rec_sub", "[2,3] and [2]",
                "do not broadcast");
    a = t2(g, 2, 3, A23);
    expect_fail(g, rec_mul(g, a, t2(g, 2, 1, A23)), REC_E_INVALID, "rec_mul", "[2,1]", NULL);
    expect_fail(g, rec_relu(g, NULL), REC_E_INVALID, "rec_relu: a is NULL", NULL, NULL);
    expect_fail(g, rec_add(g, t2(g, 2, 3, A23), NULL), REC_E_INVALID, "rec_add: b is NULL",
                NULL, NULL);
    a = t2(g, 2, 3, A23);
    expect_fail(g, rec_dropout(g, a, 1.5f), REC_E_RANGE, "rec_dropout", "1.5", NULL);
    a = t2(g, 2, 3, A23);
    expect_fail(g, rec_dropout(g, a, NAN), REC_E_RANGE, "rec_dropout", NULL, NULL);
    ck_assert_ptr_null(rec_gelu(NULL, a));
    a = t2(g, 2, 3, A23);
    expect_fail(g, rec_leaky_relu(g, a, 1.0f), REC_E_RANGE, "rec_leaky_relu: slope = 1",
                "outside [0, 1)", NULL);
    a = t2(g, 2, 3, A23);
    expect_fail(g, rec_leaky_relu(g, a, NAN), REC_E_RANGE, "rec_leaky_relu: slope = nan", NULL,
                NULL);
    expect_fail(g, rec_leaky_relu(g, NULL, 0.2f), REC_E_INVALID, "rec_leaky_relu: a is NULL",
                NULL, NULL);
    rec_graph_destroy(g);
}
END_TEST

START_TEST(null_input_propagates_first_error)
{
    rec_graph *g = new_graph();
    /* a chain written straight through: the first failure is the one reported */
    rec_tensor *a = t2(g, 2, 3, A23);
    rec_tensor *h = rec_matmul(g, a, a, 0, 0);
    h = rec_relu(g, h);
    h = rec_softmax(g, h, 0, NULL);
    h = rec_layernorm(g, h, NULL, NULL, 1e-5f);
    h = rec_sum(g, rec_concat(g, 1, &h));
    ck_assert_ptr_null(h);
    ck_assert_int_eq(rec_graph_status(g), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "rec_matmul"));
    ck_assert_int_eq(rec_backward(g, h), REC_E_INVALID);
    /* and a later op on a good input refuses to run on a failed graph */
    rec_graph_reset(g);
    ck_assert_int_eq(rec_graph_status(g), REC_OK);
    a = t2(g, 2, 3, A23);
    ck_assert_ptr_null(rec_transpose(g, rec_slice_cols(g, a, 2, 1)));
    ck_assert_int_eq(rec_graph_status(g), REC_E_RANGE);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "rec_slice_cols"));
    rec_graph_destroy(g);
}
END_TEST

/* ---- dropout ---------------------------------------------------------------- */

START_TEST(dropout_training_and_eval)
{
    rec_graph *g = new_graph();
    int64_t n = 20000;
    rec_tensor *x = rec_tensor_new(g, REC_F32, 2, S(100, 200));
    for (int64_t i = 0; i < n; i++)
        x->v[i] = 1.0f + (float)(i % 7);
    /* eval mode, and p = 0 in training: identity */
    ck_assert_ptr_eq(rec_dropout(g, x, 0.3f), x);
    rec_graph_set_training(g, 1);
    ck_assert_ptr_eq(rec_dropout(g, x, 0.0f), x);
    rec_graph_seed(g, 123);
    rec_tensor *y = rec_dropout(g, x, 0.3f);
    expect_shape(y, 2, S(100, 200));
    int64_t zeros = 0, bad = 0;
    for (int64_t i = 0; i < n; i++) {
        if (y->v[i] == 0.0f)
            zeros++;
        else
            bad += fabsf(y->v[i] - x->v[i] / 0.7f) > 1e-5f;
    }
    ck_assert_int_eq(bad, 0);
    /* 6 standard deviations of a binomial(20000, 0.3) */
    ck_assert_int_lt(llabs(zeros - 6000), 390);
    /* another step draws another mask; the same seed the same one */
    rec_tensor *y2 = rec_dropout(g, x, 0.3f);
    ck_assert_int_ne(memcmp(y->v, y2->v, (size_t)n * 4), 0);
    rec_graph_seed(g, 123);
    rec_tensor *y3 = rec_dropout(g, x, 0.3f);
    ck_assert_int_eq(memcmp(y->v, y3->v, (size_t)n * 4), 0);
    /* p = 1 drops everything */
    rec_tensor *y4 = rec_dropout(g, x, 1.0f);
    for (int64_t i = 0; i < n; i++)
        bad += y4->v[i] != 0.0f;
    ck_assert_int_eq(bad, 0);
    rec_graph_destroy(g);
}
END_TEST

/* The mask kernels (core/dropout_mask.c): each value kept exactly when its
 * hash clears the threshold, scaled by 1/(1-p); the AVX-512 and C paths give
 * the same bits, forward and backward (set and accumulate), on lengths that
 * end mid-word; the op's mask and gradient follow the same rule. */
START_TEST(dropout_mask_paths_agree)
{
    const int64_t lens[] = { 1, 15, 16, 17, 1000, 40003 };
    const uint64_t key = 0x0123456789abcdefull;
    const uint32_t th = 0x60000000u; /* p = 0.375 */
    const float sc = 1.0f / 0.625f;
    for (size_t c = 0; c < sizeof lens / sizeof *lens; c++) {
        int64_t n = lens[c], nw = (n + 15) / 16;
        float *x = malloc((size_t)n * sizeof *x), *y[2], *dx[2];
        uint16_t *bits[2];
        for (int64_t i = 0; i < n; i++)
            x[i] = (float)(i % 13) - 6.5f;
        int64_t kept = 0;
        for (int p = 0; p < 2; p++) {
            ck_assert_int_eq(rec_simd_force(p ? REC_SIMD_AVX512 : REC_SIMD_C) == REC_SIMD_C,
                             p == 0 || !__builtin_cpu_supports("avx512f"));
            y[p] = malloc((size_t)n * sizeof(float));
            dx[p] = malloc((size_t)n * sizeof(float));
            bits[p] = malloc((size_t)nw * sizeof(uint16_t));
            /* two ranges of words, as two threads would split them */
            rec_drop_fwd(key, th, sc, x, y[p], bits[p], 0, nw / 2, n);
            rec_drop_fwd(key, th, sc, x, y[p], bits[p], nw / 2, nw, n);
            rec_drop_bwd(bits[p], sc, x, dx[p], 1, 0, nw, n);
            rec_drop_bwd(bits[p], sc, x, dx[p], 0, 0, nw, n); /* accumulate: twice */
        }
        rec_simd_force(REC_SIMD_AUTO);
        for (int64_t i = 0; i < n; i++) {
            int k = rec_drop_hash(key, i) >= th;
            kept += k;
            ck_assert_int_eq(bits[0][i / 16] >> (i % 16) & 1, k);
            ck_assert_float_eq(y[0][i], k ? x[i] * sc : 0.0f);
            ck_assert_float_eq(dx[0][i], k ? x[i] * sc + x[i] * sc : 0.0f);
        }
        ck_assert_int_eq(memcmp(y[0], y[1], (size_t)n * sizeof(float)), 0);
        ck_assert_int_eq(memcmp(dx[0], dx[1], (size_t)n * sizeof(float)), 0);
        ck_assert_int_eq(memcmp(bits[0], bits[1], (size_t)nw * sizeof(uint16_t)), 0);
        if (n == 40003) /* 6 standard deviations of a binomial(40003, 0.625) */
            ck_assert_int_lt(llabs(kept - 25002), 582);
        for (int p = 0; p < 2; p++) {
            free(y[p]);
            free(dx[p]);
            free(bits[p]);
        }
        free(x);
    }
    /* another key, another mask; and the high half of the index counts */
    int64_t same = 0, same_hi = 0;
    for (int64_t i = 0; i < 4096; i++) {
        same += (rec_drop_hash(key, i) >= th) == (rec_drop_hash(key + 1, i) >= th);
        same_hi += rec_drop_hash(key, i) == rec_drop_hash(key, i + ((int64_t)1 << 32));
    }
    ck_assert_int_lt(same, 3500);
    ck_assert_int_lt(same_hi, 4);
}
END_TEST

static rec_tensor *build_dropout(rec_graph *g, void *ctx)
{
    gc *c = ctx;
    rec_graph_set_training(g, 1);
    return tu_wsum(g, rec_dropout(g, c->p[0], 0.5f));
}

START_TEST(dropout_gradcheck)
{
    gc c = gc_new();
    c.p[0] = param(c.ps, "a", 2, S(4, 6), 20);
    tu_gradcheck(c.ps, build_dropout, &c, GC_EPS, GC_ATOL, GC_RTOL);
    /* the mask really dropped some and kept some: gradient is 0 or 2 w_i */
    int zeros = 0;
    for (int64_t i = 0; i < c.p[0]->n; i++)
        zeros += c.p[0]->g[i] == 0.0f;
    ck_assert_int_gt(zeros, 2);
    ck_assert_int_lt(zeros, 22);
    rec_pstore_destroy(c.ps);
}
END_TEST

/* ---- reductions --------------------------------------------------------------- */

START_TEST(reduce_forward_values)
{
    rec_graph *g = new_graph();
    rec_tensor *a = t2(g, 2, 3, A23);
    const float s21 = 21, m35 = 3.5f;
    rec_tensor *s = rec_sum(g, a);
    expect_shape(s, 1, S(1));
    expect_vals(s, &s21, 1, 0);
    expect_vals(rec_mean(g, a), &m35, 1, 0);
    const float rows[2] = { 6, 15 };
    rec_tensor *sr = rec_sum_rows(g, a);
    expect_shape(sr, 1, S(2));
    expect_vals(sr, rows, 2, 0);
    /* [2,2,3] -> [2,2] */
    float v12[12];
    for (int i = 0; i < 12; i++)
        v12[i] = (float)i;
    rec_tensor *sr3 = rec_sum_rows(g, rec_tensor_from(g, v12, 3, S(2, 2, 3)));
    expect_shape(sr3, 2, S(2, 2));
    const float rows3[4] = { 3, 12, 21, 30 };
    expect_vals(sr3, rows3, 4, 0);
    const float b[6] = { 1, 1, 1, 2, 0, -1 }, dots[2] = { 6, 2 };
    expect_vals(rec_rowdot(g, a, t2(g, 2, 3, b)), dots, 2, 0);
    const float x[6] = { 3, 4, 0, 0, 0, 0 };
    const float unit[6] = { 0.6f, 0.8f, 0, 0, 0, 0 };
    expect_vals(rec_l2_normalize(g, t2(g, 3, 2, x), 1e-12f), unit, 6, 1e-6);
    const float clamped[6] = { 0.3f, 0.4f, 0, 0, 0, 0 };
    expect_vals(rec_l2_normalize(g, t2(g, 3, 2, x), 10.0f), clamped, 6, 1e-6);
    /* eps = 0 leaves a zero row at zero instead of NaN */
    expect_vals(rec_l2_normalize(g, t2(g, 3, 2, x), 0.0f), unit, 6, 1e-6);
    /* a sum in double: 1e8 + many ones is not lost to float rounding */
    rec_tensor *big = rec_tensor_new(g, REC_F32, 1, S(100001));
    big->v[0] = 1e8f;
    for (int i = 1; i <= 100000; i++)
        big->v[i] = 1.0f;
    const float want = 100100000.0f;
    expect_vals(rec_sum(g, big), &want, 1, 0);
    rec_graph_destroy(g);
}
END_TEST

static rec_tensor *build_reduce(rec_graph *g, void *ctx)
{
    gc *c = ctx;
    rec_tensor *a = c->p[0];
    switch (c->k[0]) {
    case 0: return tu_wsum(g, rec_sum(g, a));
    case 1: return tu_wsum(g, rec_mean(g, a));
    case 2: return tu_wsum(g, rec_sum_rows(g, a));
    case 3: return tu_wsum(g, rec_rowdot(g, a, c->p[1]));
    default: return tu_wsum(g, rec_l2_normalize(g, a, c->f));
    }
}

START_TEST(reduce_gradcheck)
{
    for (int op = 0; op < 4; op++) {
        gc c = gc_new();
        c.p[0] = param(c.ps, "a", 2, S(3, 4), 30);
        if (op == 3)
            c.p[1] = param(c.ps, "b", 2, S(3, 4), 31);
        c.k[0] = op;
        tu_gradcheck(c.ps, build_reduce, &c, GC_EPS, GC_ATOL, GC_RTOL);
        rec_pstore_destroy(c.ps);
    }
}
END_TEST

START_TEST(l2_normalize_gradcheck_both_regimes)
{
    /* rows 0, 1: norms ~1 (above eps = 0.3, the scaled regime); row 2 small
     * (below eps, the clamped regime where x / eps is linear) */
    gc c = gc_new();
    c.p[0] = param(c.ps, "a", 2, S(3, 4), 32);
    for (int k = 0; k < 4; k++) {
        c.p[0]->v[k] = 0.5f + 0.1f * (float)k;
        c.p[0]->v[4 + k] = -0.6f + 0.3f * (float)k;
        c.p[0]->v[8 + k] = 0.02f * (float)(k + 1);
    }
    c.k[0] = 4;
    c.f = 0.3f;
    tu_gradcheck(c.ps, build_reduce, &c, 1e-3, GC_ATOL, GC_RTOL);
    /* the clamped row's gradient is exactly w / eps (weights of tu_wsum) */
    for (int k = 0; k < 4; k++) {
        float w = (float)sin((double)(8 + k) * 1.713 + 0.37) + 0.25f;
        ck_assert_float_near(c.p[0]->g[8 + k], w / 0.3f, 1e-4);
    }
    rec_pstore_destroy(c.ps);
}
END_TEST

START_TEST(reduce_errors)
{
    rec_graph *g = new_graph();
    rec_tensor *a = t2(g, 2, 3, A23);
    expect_fail(g, rec_rowdot(g, a, t2(g, 3, 2, B32)), REC_E_INVALID, "rec_rowdot", "[2,3]",
                "[3,2]");
    expect_fail(g, rec_mean(g, rec_tensor_new(g, REC_F32, 2, S(0, 3))), REC_E_INVALID,
                "rec_mean", "no elements", NULL);
    a = t2(g, 2, 3, A23);
    expect_fail(g, rec_l2_normalize(g, a, -1.0f), REC_E_RANGE, "rec_l2_normalize", "eps = -1",
                NULL);
    expect_fail(g, rec_sum_rows(g, NULL), REC_E_INVALID, "rec_sum_rows: a is NULL", NULL,
                NULL);
    rec_graph_destroy(g);
}
END_TEST

/* ---- softmax, log_softmax, layernorm ------------------------------------------ */

START_TEST(softmax_forward_values)
{
    rec_graph *g = new_graph();
    const float x[9] = { 1, 2, 3, 1, 2, 3, 1, 2, 3 };
    const float big[3] = { 1000, 1001, 1002 };
    const float p3[3] = { 0.09003057f, 0.24472847f, 0.66524096f };
    const float p2[2] = { 0.26894142f, 0.73105858f };
    expect_vals(rec_softmax(g, t2(g, 1, 3, x), 0, NULL), p3, 3, 1e-6);
    expect_vals(rec_softmax(g, t2(g, 1, 3, big), 0, NULL), p3, 3, 1e-6);
    const float l3[3] = { -2.40760596f, -1.40760596f, -0.40760596f };
    expect_vals(rec_log_softmax(g, t2(g, 1, 3, big), 0, NULL), l3, 3, 1e-4);
    expect_vals(rec_log_softmax(g, t2(g, 1, 3, x), 0, NULL), l3, 3, 1e-6);
    /* causal: row r keeps columns 0..r */
    const float causal[9] = { 1, 0, 0, p2[0], p2[1], 0, p3[0], p3[1], p3[2] };
    expect_vals(rec_softmax(g, t2(g, 3, 3, x), 1, NULL), causal, 9, 1e-6);
    /* padding: lengths 2, 0 (fully masked), 3 */
    int32_t len[3] = { 2, 0, 3 };
    const float padded[9] = { p2[0], p2[1], 0, 0, 0, 0, p3[0], p3[1], p3[2] };
    expect_vals(rec_softmax(g, t2(g, 3, 3, x), 0, rec_tensor_wrap_i32(g, len, 3)), padded, 9,
                1e-6);
    const float lpadded[9] = { -1.31326169f, -0.31326169f, 0, 0, 0, 0, l3[0], l3[1], l3[2] };
    expect_vals(rec_log_softmax(g, t2(g, 3, 3, x), 0, rec_tensor_wrap_i32(g, len, 3)), lpadded,
                9, 1e-6);
    /* both: the tighter limit wins per row (lengths 3, 1, 2 against causal 1, 2, 3) */
    int32_t len2[3] = { 3, 1, 2 };
    const float both[9] = { 1, 0, 0, 1, 0, 0, p2[0], p2[1], 0 };
    rec_tensor *y = rec_softmax(g, t2(g, 3, 3, x), 1, rec_tensor_wrap_i32(g, len2, 3));
    expect_vals(y, both, 9, 1e-6);
    expect_shape(y, 2, S(3, 3));
    /* causal rows restart every T = cols rows ([2,2,2] attention scores) */
    rec_tensor *y4 = rec_softmax(g, rec_tensor_from(g, x, 3, S(2, 2, 2)), 1, NULL);
    /* rows: [1,2] [3,1] [2,3] [1,2] -> r%2==0 keeps one column */
    const float c4[8] = { 1, 0, 0.88079708f, 0.11920292f, 1, 0, p2[0], p2[1] };
    expect_vals(y4, c4, 8, 1e-6);
    rec_graph_destroy(g);
}
END_TEST

static rec_tensor *build_softmax(rec_graph *g, void *ctx)
{
    gc *c = ctx;
    int64_t rows = rec_rows(c->p[0]);
    rec_tensor *mask = c->k[2] ? rec_tensor_wrap_i32(g, c->mask, rows) : NULL;
    rec_tensor *y = c->k[0] ? rec_log_softmax(g, c->p[0], c->k[1], mask)
                            : rec_softmax(g, c->p[0], c->k[1], mask);
    return tu_wsum(g, y);
}

START_TEST(softmax_gradcheck_masks)
{
    /* [2,3,3]: two blocks of T = 3 attention rows; mask lengths 3,2,0,1,3,2
     * include a fully masked row */
    for (int log = 0; log < 2; log++)
        for (int causal = 0; causal < 2; causal++)
            for (int masked = 0; masked < 2; masked++) {
                gc c = gc_new();
                c.p[0] = param(c.ps, "a", 3, S(2, 3, 3), 40);
                tu_fill(c.p[0], 40, -2.0f, 2.0f);
                const int32_t m[6] = { 3, 2, 0, 1, 3, 2 };
                memcpy(c.mask, m, sizeof m);
                c.k[0] = log;
                c.k[1] = causal;
                c.k[2] = masked;
                tu_gradcheck(c.ps, build_softmax, &c, GC_EPS, GC_ATOL, GC_RTOL);
                if (masked) /* the fully masked row gets no gradient at all */
                    for (int k = 0; k < 3; k++)
                        ck_assert(c.p[0]->g[2 * 3 + k] == 0.0f);
                if (causal) /* nor does column 2 of row 0 */
                    ck_assert(c.p[0]->g[2] == 0.0f);
                rec_pstore_destroy(c.ps);
            }
}
END_TEST

START_TEST(softmax_fully_masked_never_nan)
{
    rec_graph *g = new_graph();
    const float x[4] = { -INFINITY, 5, 1e30f, -1e30f };
    int32_t len[2] = { 0, 0 };
    for (int log = 0; log < 2; log++) {
        rec_tensor *m = rec_tensor_wrap_i32(g, len, 2);
        rec_tensor *y = log ? rec_log_softmax(g, t2(g, 2, 2, x), 0, m)
                            : rec_softmax(g, t2(g, 2, 2, x), 0, m);
        const float zeros[4] = { 0, 0, 0, 0 };
        expect_vals(y, zeros, 4, 0);
    }
    rec_graph_destroy(g);
}
END_TEST

START_TEST(softmax_errors)
{
    rec_graph *g = new_graph();
    const float x9[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    int32_t len[3] = { 2, 4, 1 };
    rec_tensor *a = t2(g, 3, 3, x9);
    expect_fail(g, rec_softmax(g, a, 0, rec_tensor_wrap_i32(g, len, 3)), REC_E_RANGE,
                "rec_softmax", "mask[1] = 4", "[0, 3]");
    a = t2(g, 3, 3, x9);
    expect_fail(g, rec_log_softmax(g, a, 0, rec_tensor_wrap_i32(g, len, 2)), REC_E_INVALID,
                "rec_log_softmax", "[2]", "[3,3]");
    a = t2(g, 3, 3, x9);
    expect_fail(g, rec_softmax(g, a, 0, t1(g, 3, A23)), REC_E_INVALID, "rec_softmax",
                "mask F32 [3]", NULL);
    a = t2(g, 2, 3, A23);
    expect_fail(g, rec_layernorm(g, a, t1(g, 2, A23), NULL, 1e-5f), REC_E_INVALID,
                "rec_layernorm", "gamma [2]", "x [2,3]");
    a = t2(g, 2, 3, A23);
    expect_fail(g, rec_layernorm(g, a, NULL, t1(g, 4, A23), 1e-5f), REC_E_INVALID,
                "rec_layernorm", "beta [4]", NULL);
    a = t2(g, 2, 3, A23);
    expect_fail(g, rec_layernorm(g, a, NULL, NULL, -1.0f), REC_E_RANGE, "rec_layernorm", "eps",
                NULL);
    rec_graph_destroy(g);
}
END_TEST

START_TEST(layernorm_forward_values)
{
    rec_graph *g = new_graph();
    const float x[8] = { 1, 2, 3, 4, 10, 10, 10, 10 };
    const float gamma[4] = { 1, 2, 1, 1 }, beta[4] = { 0, 0, 1, 0 };
    /* mean 2.5, var 1.25 */
    const float xhat[8] = { -1.3416408f, -0.4472136f, 0.4472136f, 1.3416408f, 0, 0, 0, 0 };
    expect_vals(rec_layernorm(g, t2(g, 1, 4, x), NULL, NULL, 0.0f), xhat, 4, 1e-6);
    /* eps keeps a constant row finite */
    expect_vals(rec_layernorm(g, t2(g, 2, 4, x), NULL, NULL, 1e-5f), xhat, 8, 1e-5);
    const float aff[8] = { -1.3416408f, -0.8944272f, 1.4472136f, 1.3416408f, 0, 0, 1, 0 };
    rec_tensor *y = rec_layernorm(g, t2(g, 2, 4, x), t1(g, 4, gamma), t1(g, 4, beta), 1e-5f);
    expect_vals(y, aff, 8, 1e-5);
    expect_shape(y, 2, S(2, 4));
    rec_graph_destroy(g);
}
END_TEST

static rec_tensor *build_layernorm(rec_graph *g, void *ctx)
{
    gc *c = ctx;
    return tu_wsum(g, rec_layernorm(g, c->p[0], c->k[0] & 1 ? c->p[1] : NULL,
                                    c->k[0] & 2 ? c->p[2] : NULL, 1e-5f));
}

START_TEST(layernorm_gradcheck)
{
    /* 5 columns: a tail only; 37: two full vectors and a tail */
    for (int which = 0; which < 8; which++) {
        gc c = gc_new();
        int64_t cols = which < 4 ? 5 : 37;
        c.p[0] = param(c.ps, "x", 3, S(2, 2, cols), 50);
        tu_fill(c.p[0], 50, -2.0f, 2.0f);
        if (which & 1)
            c.p[1] = param(c.ps, "gamma", 1, S(cols), 51);
        if (which & 2)
            c.p[2] = param(c.ps, "beta", 1, S(cols), 52);
        c.k[0] = which & 3;
        tu_gradcheck(c.ps, build_layernorm, &c, GC_EPS, 2e-3, GC_RTOL);
        rec_pstore_destroy(c.ps);
    }
}
END_TEST

/* The row kernels under rec_layernorm (core/layernorm_rows.c): the AVX-512
 * and C paths give the same bits, forward, backward (set and accumulate)
 * and the parameter sums, on widths around the vector's 16; the C path is
 * within float rounding of a double-precision layer norm. */
START_TEST(layernorm_rows_paths_agree)
{
    const int64_t widths[] = { 1, 5, 16, 17, 50, 64, 65, 130 };
    const int64_t rows = 7;
    for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++) {
        int64_t c = widths[wi], n = rows * c;
        float *x = malloc((size_t)n * sizeof *x), *dy = malloc((size_t)n * sizeof *dy);
        float *gb = malloc((size_t)2 * c * sizeof *gb);
        rec_rng r;
        rec_rng_seed(&r, 60 + (uint64_t)c);
        for (int64_t i = 0; i < n; i++) {
            x[i] = 3.0f * rec_rng_uniform(&r) - 1.0f;
            dy[i] = rec_rng_uniform(&r) - 0.5f;
        }
        for (int64_t i = 0; i < 2 * c; i++)
            gb[i] = rec_rng_uniform(&r) + 0.5f;
        for (int affine = 0; affine < 2; affine++) {
            const float *gamma = affine ? gb : NULL, *beta = affine ? gb + c : NULL;
            float *y[2], *st[2], *dx[2], *dg[2], *db[2];
            for (int p = 0; p < 2; p++) {
                rec_simd_force(p ? REC_SIMD_AVX512 : REC_SIMD_C);
                y[p] = malloc((size_t)n * sizeof(float));
                dx[p] = malloc((size_t)n * sizeof(float));
                st[p] = malloc((size_t)2 * rows * sizeof(float));
                dg[p] = calloc((size_t)c, sizeof(float));
                db[p] = calloc((size_t)c, sizeof(float));
                rec_ln_rows_fwd(x, y[p], st[p], 0, 3, c, 1e-5f, gamma, beta);
                rec_ln_rows_fwd(x, y[p], st[p], 3, rows, c, 1e-5f, gamma, beta);
                rec_ln_rows_bwd(x, dy, dx[p], 1, st[p], 0, rows, c, gamma);
                rec_ln_rows_bwd(x, dy, dx[p], 0, st[p], 2, 5, c, gamma); /* rows 2-4 twice */
                rec_ln_params_bwd(x, dy, st[p], rows, c, dg[p], affine ? db[p] : NULL);
            }
            rec_simd_force(REC_SIMD_AUTO);
            ck_assert_int_eq(memcmp(y[0], y[1], (size_t)n * sizeof(float)), 0);
            ck_assert_int_eq(memcmp(st[0], st[1], (size_t)2 * rows * sizeof(float)), 0);
            ck_assert_int_eq(memcmp(dx[0], dx[1], (size_t)n * sizeof(float)), 0);
            ck_assert_int_eq(memcmp(dg[0], dg[1], (size_t)c * sizeof(float)), 0);
            ck_assert_int_eq(memcmp(db[0], db[1], (size_t)c * sizeof(float)), 0);
            for (int64_t i = 0; i < rows; i++) {
                const float *xr = x + i * c;
                double mu = 0, var = 0;
                for (int64_t k = 0; k < c; k++)
                    mu += xr[k];
                mu /= (double)c;
                for (int64_t k = 0; k < c; k++)
                    var += (xr[k] - mu) * (xr[k] - mu);
                double rs = 1.0 / sqrt(var / (double)c + 1e-5);
                ck_assert_double_eq_tol(st[0][2 * i], mu, 1e-5);
                ck_assert_double_eq_tol(st[0][2 * i + 1], rs, 1e-3 * rs);
                double sg = 0, sgx = 0;
                for (int64_t k = 0; k < c; k++) {
                    double gh = dy[i * c + k] * (gamma ? gamma[k] : 1.0);
                    sg += gh;
                    sgx += gh * (xr[k] - mu) * rs;
                }
                for (int64_t k = 0; k < c; k++) {
                    double xh = (xr[k] - mu) * rs;
                    double want = xh * (gamma ? gamma[k] : 1.0) + (beta ? beta[k] : 0.0);
                    ck_assert_double_eq_tol(y[0][i * c + k], want, 1e-4);
                    double gh = dy[i * c + k] * (gamma ? gamma[k] : 1.0);
                    double d = rs * (gh - sg / (double)c - xh * sgx / (double)c);
                    ck_assert_double_eq_tol(dx[0][i * c + k], i >= 2 && i < 5 ? 2 * d : d,
                                            1e-4 * (1 + rs));
                }
            }
            for (int p = 0; p < 2; p++) {
                free(y[p]);
                free(dx[p]);
                free(st[p]);
                free(dg[p]);
                free(db[p]);
            }
        }
        free(x);
        free(dy);
        free(gb);
    }
}
END_TEST

/* The softmax row kernels (core/softmax_rows.c): their exp within 2 ulp of
 * expf and 0 far below; the AVX-512 and C paths give the same bits on valid
 * lengths around the vector's 16 (forward, backward set and accumulate);
 * the values match a double-precision softmax. */
START_TEST(softmax_rows_paths_agree)
{
    for (float x = -87.0f; x <= 88.0f; x += 0.37f) {
        float want = expf(x), got = rec_sm_exp(x);
        ck_assert_msg(fabsf(got - want) <= 2.5e-7f * want, "exp(%g) = %g, expf %g", (double)x,
                      (double)got, (double)want);
    }
    ck_assert_float_eq(rec_sm_exp(-100.0f), 0.0f);
    ck_assert_float_eq(rec_sm_exp(-INFINITY), 0.0f);
    ck_assert_float_eq(rec_sm_exp(0.0f), 1.0f);
    const int64_t c = 70;
    float x[70], dy[70], y[2][70], dx[2][70];
    rec_rng r;
    rec_rng_seed(&r, 61);
    for (int64_t k = 0; k < c; k++) {
        x[k] = 12.0f * rec_rng_uniform(&r) - 6.0f;
        dy[k] = rec_rng_uniform(&r) - 0.5f;
    }
    x[3] = -INFINITY; /* a masked score: weight 0 */
    for (int64_t len = 0; len <= c; len++) {
        for (int p = 0; p < 2; p++) {
            rec_simd_force(p ? REC_SIMD_AVX512 : REC_SIMD_C);
            for (int64_t k = 0; k < c; k++)
                y[p][k] = dx[p][k] = 9.0f; /* stale values the kernels must overwrite */
            rec_sm_row_fwd(x, y[p], len, c);
            rec_sm_row_bwd(y[p], dy, dx[p], 1, len, c);
            rec_sm_row_bwd(y[p], dy, dx[p], 0, len, c);
        }
        rec_simd_force(REC_SIMD_AUTO);
        ck_assert_int_eq(memcmp(y[0], y[1], sizeof y[0]), 0);
        ck_assert_int_eq(memcmp(dx[0], dx[1], sizeof dx[0]), 0);
        double mx = -INFINITY, z = 0, dot = 0;
        for (int64_t k = 0; k < len; k++)
            mx = x[k] > mx ? x[k] : mx;
        for (int64_t k = 0; k < len; k++)
            z += exp((double)x[k] - mx);
        for (int64_t k = 0; k < len; k++)
            dot += dy[k] * exp((double)x[k] - mx) / z;
        for (int64_t k = 0; k < c; k++) {
            double p = k < len ? exp((double)x[k] - mx) / z : 0.0;
            ck_assert_double_eq_tol(y[0][k], p, 1e-6);
            ck_assert_double_eq_tol(dx[0][k], 2 * p * (dy[k] - dot), 1e-6);
        }
    }
}
END_TEST

/* ---- shapes ----------------------------------------------------------------- */

START_TEST(shape_forward_values)
{
    rec_graph *g = new_graph();
    rec_tensor *a = t2(g, 2, 3, A23);
    rec_tensor *r = rec_reshape(g, a, 2, S(3, -1));
    expect_shape(r, 2, S(3, 2));
    expect_vals(r, A23, 6, 0);
    ck_assert_ptr_eq(r->v, a->v); /* a view, not a copy */
    rec_tensor *t = rec_transpose(g, a);
    expect_shape(t, 2, S(3, 2));
    expect_vals(t, A23T, 6, 0);
    /* batched transpose [2,2,3] -> [2,3,2] */
    float v12[12];
    for (int i = 0; i < 12; i++)
        v12[i] = (float)i;
    rec_tensor *t3 = rec_transpose(g, rec_tensor_from(g, v12, 3, S(2, 2, 3)));
    expect_shape(t3, 3, S(2, 3, 2));
    const float tw[12] = { 0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11 };
    expect_vals(t3, tw, 12, 0);
    /* a transpose larger than one 32 x 32 tile */
    rec_tensor *big = rec_tensor_new(g, REC_F32, 2, S(70, 45));
    for (int64_t i = 0; i < big->n; i++)
        big->v[i] = (float)i;
    rec_tensor *bt = rec_transpose(g, big);
    int bad = 0;
    for (int i = 0; i < 70; i++)
        for (int j = 0; j < 45; j++)
            bad += bt->v[j * 70 + i] != big->v[i * 45 + j];
    ck_assert_int_eq(bad, 0);
    const float c1[2] = { 100, 200 }, c2[4] = { 1, 2, 3, 4 };
    rec_tensor *parts[2] = { t2(g, 2, 1, c1), t2(g, 2, 2, c2) };
    rec_tensor *cat = rec_concat(g, 2, parts);
    expect_shape(cat, 2, S(2, 3));
    const float cw[6] = { 100, 1, 2, 200, 3, 4 };
    expect_vals(cat, cw, 6, 0);
    rec_tensor *sc = rec_slice_cols(g, a, 1, 3);
    expect_shape(sc, 2, S(2, 2));
    const float scw[4] = { 2, 3, 5, 6 };
    expect_vals(sc, scw, 4, 0);
    rec_tensor *sr = rec_slice_rows(g, rec_reshape(g, a, 2, S(3, 2)), 1, 3);
    expect_shape(sr, 2, S(2, 2));
    const float srw[4] = { 3, 4, 5, 6 };
    expect_vals(sr, srw, 4, 0);
    expect_shape(rec_slice_rows(g, a, 1, 1), 2, S(0, 3));
    rec_graph_destroy(g);
}
END_TEST

static rec_tensor *build_shape(rec_graph *g, void *ctx)
{
    gc *c = ctx;
    rec_tensor *a = c->p[0];
    switch (c->k[0]) {
    case 0: return tu_wsum(g, rec_reshape(g, a, 3, S(2, 2, 3)));
    case 1: return tu_wsum(g, rec_transpose(g, a));
    case 2: return tu_wsum(g, rec_slice_cols(g, a, 1, 3));
    case 3: return tu_wsum(g, rec_slice_rows(g, a, 1, 3));
    default: {
        /* six inputs (more than a node's four slots), one used twice, one
         * without a gradient, and a second use of the output */
        rec_tensor *k = rec_tensor_new(g, REC_F32, 2, S(4, 2));
        if (!k)
            return NULL;
        for (int i = 0; i < 8; i++)
            k->v[i] = (float)i;
        rec_tensor *ts[6] = { k, a, c->p[1], a, c->p[2], c->p[1] };
        rec_tensor *cat = rec_concat(g, 6, ts);
        return tu_wsum(g, rec_mul(g, cat, cat));
    }
    }
}

START_TEST(shape_gradcheck)
{
    for (int op = 0; op < 5; op++) {
        gc c = gc_new();
        c.p[0] = param(c.ps, "a", 2, S(4, 3), 60);
        if (op == 4) {
            c.p[1] = param(c.ps, "b", 2, S(4, 1), 61);
            c.p[2] = param(c.ps, "c", 3, S(2, 2, 2), 62);
        }
        c.k[0] = op;
        tu_gradcheck(c.ps, build_shape, &c, GC_EPS, GC_ATOL, GC_RTOL);
        rec_pstore_destroy(c.ps);
    }
}
END_TEST

START_TEST(shape_errors)
{
    rec_graph *g = new_graph();
    rec_tensor *a = t2(g, 2, 3, A23);
    expect_fail(g, rec_reshape(g, a, 2, S(4, 2)), REC_E_INVALID, "rec_reshape", "[2,3]",
                "6 values");
    a = t2(g, 2, 3, A23);
    expect_fail(g, rec_reshape(g, a, 2, S(4, -1)), REC_E_INVALID, "rec_reshape", "[2,3]", NULL);
    a = t2(g, 2, 3, A23);
    expect_fail(g, rec_reshape(g, a, 5, S(1, 1, 1, 2, 3)), REC_E_INVALID, "rec_reshape",
                "5 dimensions", NULL);
    a = t2(g, 2, 3, A23);
    expect_fail(g, rec_reshape(g, a, 2, S(-2, -3)), REC_E_INVALID, "rec_reshape", "-2", NULL);
    expect_fail(g, rec_transpose(g, t1(g, 3, A23)), REC_E_INVALID, "rec_transpose", "[3]",
                "at least 2");
    rec_tensor *parts[2] = { t2(g, 2, 3, A23), t2(g, 3, 2, B32) };
    expect_fail(g, rec_concat(g, 2, parts), REC_E_INVALID, "rec_concat", "[2,3]", "[3,2]");
    expect_fail(g, rec_concat(g, 0, parts), REC_E_INVALID, "rec_concat", "0 inputs", NULL);
    rec_tensor *withnull[2] = { t2(g, 2, 3, A23), NULL };
    expect_fail(g, rec_concat(g, 2, withnull), REC_E_INVALID, "rec_concat: input 1 is NULL",
                NULL, NULL);
    a = t2(g, 2, 3, A23);
    expect_fail(g, rec_slice_cols(g, a, 1, 4), REC_E_RANGE, "rec_slice_cols", "[1, 4)",
                "[2,3]");
    a = t2(g, 2, 3, A23);
    expect_fail(g, rec_slice_rows(g, a, -1, 1), REC_E_RANGE, "rec_slice_rows", "[-1, 1)",
                "[2,3]");
    rec_graph_destroy(g);
}
END_TEST

START_TEST(zero_sized_dims_run_forward_and_backward)
{
    rec_graph *g = new_graph();
    rec_tensor *e = rec_tensor_new(g, REC_F32, 2, S(3, 0));   /* rows, no columns */
    rec_tensor *k0 = rec_tensor_new(g, REC_F32, 2, S(0, 2));  /* no rows */
    rec_tensor *w = rec_tensor_new(g, REC_F32, 2, S(2, 0));
    const float bias[2] = { 1, 2 };
    rec_tensor *b = t1(g, 2, bias);
    ck_assert_ptr_nonnull(e);
    e->flags |= REC_T_GRAD;
    b->flags |= REC_T_GRAD;
    rec_tensor *ys[8] = {
        rec_softmax(g, e, 1, NULL), rec_log_softmax(g, e, 1, NULL),
        rec_layernorm(g, e, NULL, NULL, 1e-5f), rec_transpose(g, e),
        rec_sum_rows(g, e), rec_l2_normalize(g, e, 1e-6f),
        rec_matmul(g, e, k0, 0, 0),            /* [3,0] x [0,2]: zeros */
        rec_linear(g, e, w, b),                /* in = 0: the bias alone */
    };
    for (int i = 0; i < 8; i++)
        ck_assert_msg(ys[i] != NULL, "op %d: %s", i, rec_last_error());
    expect_shape(ys[3], 2, S(0, 3));
    const float zeros[6] = { 0 }, lin[6] = { 1, 2, 1, 2, 1, 2 };
    expect_vals(ys[4], zeros, 3, 0);
    expect_vals(ys[6], zeros, 6, 0);
    expect_vals(ys[7], lin, 6, 0);
    rec_tensor *parts[8];
    for (int i = 0; i < 8; i++)
        parts[i] = rec_reshape(g, ys[i], 1, S(-1));
    rec_tensor *loss = rec_sum(g, rec_concat(g, 8, parts));
    ck_assert_ptr_nonnull(loss);
    ck_assert_int_eq(rec_backward(g, loss), REC_OK);
    /* d(sum)/d(bias) counts the 3 rows */
    expect_vals(&(rec_tensor){ .v = b->g, .n = 2 }, (const float[]){ 3, 3 }, 2, 0);
    rec_graph_destroy(g);
}
END_TEST

/* ---- end to end ----------------------------------------------------------------- */

static rec_tensor *build_mlp(rec_graph *g, void *ctx)
{
    gc *c = ctx;
    rec_tensor *h = rec_relu(g, rec_linear(g, c->p[0], c->p[1], c->p[2]));
    rec_tensor *y = rec_sigmoid(g, rec_linear(g, h, c->p[3], c->p[4]));
    return rec_mean(g, y);
}

START_TEST(mlp_gradcheck_end_to_end)
{
    gc c = gc_new();
    c.p[0] = param(c.ps, "x", 2, S(4, 3), 70);
    c.p[1] = param(c.ps, "w1", 2, S(5, 3), 71);
    c.p[2] = param(c.ps, "b1", 1, S(5), 72);
    c.p[3] = param(c.ps, "w2", 2, S(2, 5), 73);
    c.p[4] = param(c.ps, "b2", 1, S(2), 74);
    /* keep every hidden pre-activation off relu's kink */
    rec_graph *g = new_graph();
    rec_tensor *pre = rec_linear(g, c.p[0], c.p[1], c.p[2]);
    ck_assert_ptr_nonnull(pre);
    for (int64_t i = 0; i < pre->n; i++)
        ck_assert_double_gt(fabs(pre->v[i]), 0.02);
    rec_graph_destroy(g);
    tu_gradcheck(c.ps, build_mlp, &c, 1e-3, GC_ATOL, GC_RTOL);
    rec_pstore_destroy(c.ps);
}
END_TEST

START_TEST(thread_count_does_not_change_results)
{
    int before = rec_get_num_threads();
    int64_t n = 300000; /* well above the grain: several chunks */
    float *out[2][4];
    for (int t = 0; t < 2; t++) {
        ck_assert_int_eq(rec_set_num_threads(t + 1), REC_OK);
        rec_graph *g = new_graph();
        rec_graph_set_training(g, 1);
        rec_graph_seed(g, 99);
        rec_tensor *a = rec_tensor_new(g, REC_F32, 2, S(n / 100, 100));
        rec_tensor *b = rec_tensor_new(g, REC_F32, 1, S(100));
        ck_assert_ptr_nonnull(a);
        ck_assert_ptr_nonnull(b);
        tu_fill(a, 5, -3.0f, 3.0f);
        tu_fill(b, 6, -1.0f, 1.0f);
        rec_tensor *y[4] = { rec_gelu(g, rec_add(g, a, b)), rec_dropout(g, a, 0.25f),
                             rec_softmax(g, a, 0, NULL), rec_sum(g, a) };
        for (int k = 0; k < 4; k++) {
            ck_assert_ptr_nonnull(y[k]);
            out[t][k] = malloc((size_t)y[k]->n * sizeof(float));
            memcpy(out[t][k], y[k]->v, (size_t)y[k]->n * sizeof(float));
        }
        rec_graph_destroy(g);
    }
    int64_t len[4] = { n, n, n, 1 };
    for (int k = 0; k < 4; k++) {
        ck_assert_msg(memcmp(out[0][k], out[1][k], (size_t)len[k] * sizeof(float)) == 0,
                      "output %d differs between 1 and 2 threads", k);
        free(out[0][k]);
        free(out[1][k]);
    }
    rec_set_num_threads(before);
}
END_TEST

START_TEST(large_row_broadcast_matches_reference)
{
    /* 101 columns put the pool's chunk edges mid-row */
    int before = rec_get_num_threads();
    ck_assert_int_eq(rec_set_num_threads(2), REC_OK);
    rec_pstore *ps;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    rec_tensor *a = param(ps, "a", 2, S(3001, 101), 80);
    rec_tensor *b = param(ps, "b", 1, S(101), 81);
    for (int sub = 0; sub < 2; sub++) {
        rec_graph *g = new_graph();
        rec_pstore_zero_grad(ps);
        rec_tensor *y = sub ? rec_sub(g, a, b) : rec_mul(g, a, b);
        ck_assert_ptr_nonnull(y);
        /* count mismatches: one check per value would make libcheck slow */
        int64_t bad = 0;
        for (int64_t i = 0; i < a->n; i++)
            bad += y->v[i] != (sub ? a->v[i] - b->v[i % 101] : a->v[i] * b->v[i % 101]);
        ck_assert_int_eq(bad, 0);
        ck_assert_int_eq(rec_backward(g, tu_wsum(g, y)), REC_OK);
        double db[101] = { 0 };
        for (int64_t i = 0; i < a->n; i++) {
            float w = (float)sin((double)i * 1.713 + 0.37) + 0.25f;
            float want = sub ? w : w * b->v[i % 101];
            bad += fabsf(a->g[i] - want) > 1e-6f;
            db[i % 101] += sub ? -w : (double)w * a->v[i];
        }
        ck_assert_int_eq(bad, 0);
        for (int k = 0; k < 101; k++)
            ck_assert_float_near(b->g[k], db[k], 1e-3 * (1 + fabs(db[k])));
        rec_graph_destroy(g);
    }
    rec_pstore_destroy(ps);
    rec_set_num_threads(before);
}
END_TEST

START_TEST(out_of_memory_fails_cleanly)
{
    tu_alloc_install();
    rec_graph *g = new_graph();
    const float one[600] = { 1 };
    rec_tensor *a = rec_tensor_from(g, one, 2, S(600, 1));
    rec_tensor *b = rec_tensor_from(g, one, 2, S(1, 600));
    ck_assert_ptr_nonnull(b);
    /* the [600,600] output needs a second arena chunk */
    tu_alloc_fail_at(1);
    ck_assert_ptr_null(rec_matmul(g, a, b, 0, 0));
    ck_assert_int_eq(rec_graph_status(g), REC_E_NOMEM);
    tu_alloc_fail_at(0);
    rec_graph_reset(g);
    a = rec_tensor_from(g, one, 2, S(600, 1));
    b = rec_tensor_from(g, one, 2, S(1, 600));
    rec_tensor *c = rec_matmul(g, a, b, 0, 0);
    ck_assert_ptr_nonnull(c);
    ck_assert_float_eq(c->v[0], 1.0f);
    rec_graph_destroy(g);
    ck_assert_int_eq(tu_alloc_live(), 0);
    tu_alloc_remove();
}
END_TEST

Suite *rec_ops_dense_suite(void)
{
    Suite *s = suite_create("ops_dense");
    TCase *t = tcase_create("products");
    tcase_add_test(t, matmul_forward_all_transposes);
    tcase_add_test(t, matmul_gradcheck_all_transposes);
    tcase_add_test(t, bmm_forward_values);
    tcase_add_test(t, bmm_gradcheck_all_transposes);
    tcase_add_test(t, linear_forward_values);
    tcase_add_test(t, linear_gradcheck);
    tcase_add_test(t, shared_intermediates_sum_every_gradient);
    tcase_add_test(t, products_reject_bad_shapes);
    suite_add_tcase(s, t);
    t = tcase_create("elementwise");
    tcase_add_test(t, binary_forward_broadcasts);
    tcase_add_test(t, binary_gradcheck);
    tcase_add_test(t, unary_forward_values);
    tcase_add_test(t, unary_gradcheck);
    tcase_add_test(t, binary_and_unary_errors);
    tcase_add_test(t, null_input_propagates_first_error);
    tcase_add_test(t, dropout_training_and_eval);
    tcase_add_test(t, dropout_gradcheck);
    tcase_add_test(t, dropout_mask_paths_agree);
    suite_add_tcase(s, t);
    t = tcase_create("reduce");
    tcase_add_test(t, reduce_forward_values);
    tcase_add_test(t, reduce_gradcheck);
    tcase_add_test(t, l2_normalize_gradcheck_both_regimes);
    tcase_add_test(t, reduce_errors);
    suite_add_tcase(s, t);
    t = tcase_create("softmax");
    tcase_add_test(t, softmax_forward_values);
    tcase_add_test(t, softmax_gradcheck_masks);
    tcase_add_test(t, softmax_fully_masked_never_nan);
    tcase_add_test(t, softmax_errors);
    tcase_add_test(t, layernorm_forward_values);
    tcase_add_test(t, layernorm_gradcheck);
    tcase_add_test(t, layernorm_rows_paths_agree);
    tcase_add_test(t, softmax_rows_paths_agree);
    suite_add_tcase(s, t);
    t = tcase_create("shape");
    tcase_add_test(t, shape_forward_values);
    tcase_add_test(t, shape_gradcheck);
    tcase_add_test(t, shape_errors);
    tcase_add_test(t, zero_sized_dims_run_forward_and_backward);
    suite_add_tcase(s, t);
    t = tcase_create("end_to_end");
    tcase_add_test(t, mlp_gradcheck_end_to_end);
    tcase_add_test(t, thread_count_does_not_change_results);
    tcase_add_test(t, large_row_broadcast_matches_reference);
    tcase_add_test(t, out_of_memory_fails_cleanly);
    suite_add_tcase(s, t);
    return s;
}
