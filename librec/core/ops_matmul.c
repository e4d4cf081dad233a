/* Dense products over BLAS: matmul, batched matmul, linear.  Every backward
 * is sgemm calls with beta = 1 straight into the inputs' gradients (no
 * temporaries), so Linear forward + backward is three sgemms plus the bias. */
#include "ops_dense-impl.h"

#include <limits.h>
#include <string.h>

/* Shapes of C = op(A) op(B): A [m,k] or [k,m], B [k,n] or [n,k]. */
typedef struct mm_dims {
    int m, n, k, ta, tb;
} mm_dims;

/* dA += dC op(B)^T (in A's layout) and dB += op(A)^T dC (in B's layout);
 * either gradient may be NULL.  Leading dims follow the row-major layouts:
 * lda = ta ? m : k, ldb = tb ? k : n, ldc = n. */
/* da and db get beta_a, beta_b times their contents plus the product. */
static void mm_backward(const mm_dims *d, const float *a, const float *b, const float *dc,
                        float *da, float beta_a, float *db, float beta_b)
{
    int m = d->m, n = d->n, k = d->k;
    int lda = d->ta ? m : k, ldb = d->tb ? k : n;
    if (da) {
        if (!d->ta) /* dA [m,k] = dC [m,n] op(B)^T */
            rec_sgemm(0, !d->tb, m, k, n, 1.0f, dc, n, b, ldb, beta_a, da, lda);
        else        /* dA [k,m] = op(B) [k,n] dC^T */
            rec_sgemm(d->tb, 1, k, m, n, 1.0f, b, ldb, dc, n, beta_a, da, lda);
    }
    if (db) {
        if (!d->tb) /* dB [k,n] = op(A)^T [k,m] dC */
            rec_sgemm(!d->ta, 0, k, n, m, 1.0f, a, lda, dc, n, beta_b, db, ldb);
        else        /* dB [n,k] = dC^T [n,m] op(A) */
            rec_sgemm(1, d->ta, n, k, m, 1.0f, dc, n, a, lda, beta_b, db, ldb);
    }
}

static int fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }

/* Reads the product shape from the last two dims of a and b. */
static int mm_shape(rec_graph *g, const char *fn, const rec_tensor *a, const rec_tensor *b,
                    int ta, int tb, mm_dims *d)
{
    int64_t ar = a->shape[a->nd - 2], ac = a->shape[a->nd - 1];
    int64_t br = b->shape[b->nd - 2], bc = b->shape[b->nd - 1];
    int64_t m = ta ? ac : ar, ka = ta ? ar : ac, kb = tb ? bc : br, n = tb ? br : bc;
    if (ka != kb) {
        char sa[REC_SHAPE_STR], sb[REC_SHAPE_STR];
        rec_graph_fail(g, REC_E_INVALID, "%s: shapes %s%s and %s%s do not match "
                       "(inner dims %lld and %lld)", fn, rec_shape_str(a, sa), ta ? "^T" : "",
                       rec_shape_str(b, sb), tb ? "^T" : "", (long long)ka, (long long)kb);
        return 0;
    }
    if (!fits_int(m) || !fits_int(n) || !fits_int(ka)) {
        rec_graph_fail(g, REC_E_INVALID, "%s: a dimension exceeds INT_MAX", fn);
        return 0;
    }
    *d = (mm_dims){ (int)m, (int)n, (int)ka, !!ta, !!tb };
    return 1;
}

/* ---- matmul ------------------------------------------------------------- */

static void matmul_back(rec_graph *g, rec_node *n)
{
    mm_dims d = { (int)n->i[0], (int)n->i[1], (int)n->i[2], (int)n->i[3] & 1,
                  (int)n->i[3] >> 1 };
    float ba, bb;
    float *da = rec_grad_full(g, n->in[0], &ba), *db = rec_grad_full(g, n->in[1], &bb);
    if (rec_graph_status(g))
        return;
    mm_backward(&d, n->in[0]->v, n->in[1]->v, n->out->g, da, ba, db, bb);
}

rec_tensor *rec_matmul(rec_graph *g, rec_tensor *a, rec_tensor *b, int ta, int tb)
{
    static const char fn[] = "rec_matmul";
    if (!rec_op_input(g, fn, "a", a) || !rec_op_input(g, fn, "b", b))
        return NULL;
    if (a->nd != 2 || b->nd != 2) {
        char sa[REC_SHAPE_STR], sb[REC_SHAPE_STR];
        return rec_graph_fail(g, REC_E_INVALID, "%s: a %s and b %s must both be 2-D", fn,
                              rec_shape_str(a, sa), rec_shape_str(b, sb));
    }
    mm_dims d;
    if (!mm_shape(g, fn, a, b, ta, tb, &d))
        return NULL;
    int64_t s[2] = { d.m, d.n };
    rec_tensor *in[2] = { a, b };
    rec_node *node;
    rec_tensor *out = rec_op_out(g, 2, s, matmul_back, 2, in, &node);
    if (!out)
        return NULL;
    rec_sgemm(d.ta, d.tb, d.m, d.n, d.k, 1.0f, a->v, d.ta ? d.m : d.k, b->v, d.tb ? d.k : d.n,
              0.0f, out->v, d.n);
    if (node) {
        node->i[0] = d.m;
        node->i[1] = d.n;
        node->i[2] = d.k;
        node->i[3] = d.ta | d.tb << 1;
    }
    return out;
}

/* ---- batched matmul ------------------------------------------------------
 * Small per-sample products run one per pool task (rec_sgemm is then
 * single-threaded); large ones run one after another, each split by
 * rec_sgemm itself. */

typedef struct bmm_job {
    mm_dims d;
    const float *a, *b;
    float *c;           /* forward output, or dC in backward */
    float *da, *db;     /* backward only */
    float beta_a, beta_b;
    int back;
} bmm_job;

static void bmm_part(void *arg, int64_t s, int64_t e, int chunk)
{
    (void)chunk;
    const bmm_job *j = arg;
    const mm_dims *d = &j->d;
    size_t sa = (size_t)d->m * d->k, sb = (size_t)d->k * d->n, sc = (size_t)d->m * d->n;
    for (int64_t i = s; i < e; i++) {
        if (j->back)
            mm_backward(d, j->a + i * sa, j->b + i * sb, j->c + i * sc,
                        j->da ? j->da + i * sa : NULL, j->beta_a,
                        j->db ? j->db + i * sb : NULL, j->beta_b);
        else
            rec_sgemm(d->ta, d->tb, d->m, d->n, d->k, 1.0f, j->a + i * sa, d->ta ? d->m : d->k,
                      j->b + i * sb, d->tb ? d->k : d->n, 0.0f, j->c + i * sc, d->n);
    }
}

static void bmm_run(bmm_job *j, int64_t batch)
{
    double flops = 2.0 * j->d.m * j->d.n * (j->d.k ? j->d.k : 1);
    if (flops >= 4e6) {
        bmm_part(j, 0, batch, 0);
        return;
    }
    /* at least ~256K flops per task so the pool's wake-up pays off */
    int64_t grain = (int64_t)(262144.0 / flops) + 1;
    rec_parallel_for(batch, grain, bmm_part, j);
}

static void bmm_back(rec_graph *g, rec_node *n)
{
    bmm_job j = { { (int)n->i[0], (int)n->i[1], (int)n->i[2], (int)n->i[3] & 1,
                    (int)n->i[3] >> 1 },
                  n->in[0]->v, n->in[1]->v, n->out->g, NULL, NULL, 1.0f, 1.0f, 1 };
    /* every slice is written: da then db, as mm_backward writes them */
    j.da = rec_grad_full(g, n->in[0], &j.beta_a);
    j.db = rec_grad_full(g, n->in[1], &j.beta_b);
    if (rec_graph_status(g))
        return;
    int64_t sc = (int64_t)j.d.m * j.d.n;
    bmm_run(&j, sc ? n->out->n / sc : 0);
}

rec_tensor *rec_bmm(rec_graph *g, rec_tensor *a, rec_tensor *b, int ta, int tb)
{
    static const char fn[] = "rec_bmm";
    if (!rec_op_input(g, fn, "a", a) || !rec_op_input(g, fn, "b", b))
        return NULL;
    char sa[REC_SHAPE_STR], sb[REC_SHAPE_STR];
    if (a->nd < 3 || a->nd != b->nd)
        return rec_graph_fail(g, REC_E_INVALID, "%s: a %s and b %s must have the same number "
                              "of dims, at least 3", fn, rec_shape_str(a, sa),
                              rec_shape_str(b, sb));
    for (int i = 0; i < a->nd - 2; i++)
        if (a->shape[i] != b->shape[i])
            return rec_graph_fail(g, REC_E_INVALID, "%s: batch dims of a %s and b %s differ",
                                  fn, rec_shape_str(a, sa), rec_shape_str(b, sb));
    mm_dims d;
    if (!mm_shape(g, fn, a, b, ta, tb, &d))
        return NULL;
    int64_t s[REC_MAX_DIMS], batch = 1;
    for (int i = 0; i < a->nd - 2; i++)
        batch *= (s[i] = a->shape[i]);
    s[a->nd - 2] = d.m;
    s[a->nd - 1] = d.n;
    rec_tensor *in[2] = { a, b };
    rec_node *node;
    rec_tensor *out = rec_op_out(g, a->nd, s, bmm_back, 2, in, &node);
    if (!out)
        return NULL;
    bmm_job j = { d, a->v, b->v, out->v, NULL, NULL, 1.0f, 1.0f, 0 };
    bmm_run(&j, batch);
    if (node) {
        node->i[0] = d.m;
        node->i[1] = d.n;
        node->i[2] = d.k;
        node->i[3] = d.ta | d.tb << 1;
    }
    return out;
}

/* ---- linear: y [rows,out] = x [rows,in] W^T + b ------------------------- */

typedef struct colsum_job {
    const float *dy;
    float *db;
    int64_t rows, cols;
} colsum_job;

/* y[c0, c1) += x[c0, c1); restrict parameters and the fixed 16-wide inner
 * loop are what lets -O2 vectorise it. */
static inline void add_range(float *restrict y, const float *restrict x, int64_t c0, int64_t c1)
{
    int64_t c = c0;
    for (; c + 16 <= c1; c += 16)
        for (int k = 0; k < 16; k++)
            y[c + k] += x[c + k];
    for (; c < c1; c++)
        y[c] += x[c];
}

/* db[c0, c1) += column sums of dy [rows, cols].  Each thread owns a column
 * range and adds the rows in order, so the result does not depend on the
 * thread count. */
EW_LOOPS static void colsum_part(void *arg, int64_t c0, int64_t c1, int chunk)
{
    (void)chunk;
    const colsum_job *j = arg;
    for (int64_t r = 0; r < j->rows; r++)
        add_range(j->db, j->dy + r * j->cols, c0, c1);
}

static void linear_back(rec_graph *g, rec_node *n)
{
    rec_tensor *x = n->in[0], *w = n->in[1], *bias = n->nin > 2 ? n->in[2] : NULL;
    int rows = (int)rec_rows(x), in = (int)rec_cols(x), out = (int)w->shape[0];
    const float *dy = n->out->g;
    float bx;
    float *dx = rec_grad_full(g, x, &bx), *dw = rec_grad_of(g, w);
    float *db = bias ? rec_grad_of(g, bias) : NULL;
    if (rec_graph_status(g))
        return;
    if (dx) /* dx [rows,in] (+)= dy [rows,out] W [out,in] */
        rec_sgemm(0, 0, rows, in, out, 1.0f, dy, out, w->v, in, bx, dx, in);
    if (dw) /* dW [out,in] += dy^T x */
        rec_sgemm(1, 0, out, in, rows, 1.0f, dy, out, x->v, in, 1.0f, dw, in);
    if (db) {
        colsum_job j = { dy, db, rows, out };
        int64_t grain = rows > 0 ? REC_EW_GRAIN / rows + 1 : out;
        rec_parallel_for(out, grain < 16 ? 16 : grain, colsum_part, &j);
    }
}

rec_tensor *rec_linear(rec_graph *g, rec_tensor *x, rec_tensor *w, rec_tensor *b)
{
    static const char fn[] = "rec_linear";
    if (!rec_op_input(g, fn, "x", x) || !rec_op_input(g, fn, "W", w))
        return NULL;
    if (b && !rec_op_input(g, fn, "b", b))
        return NULL;
    char sx[REC_SHAPE_STR], sw[REC_SHAPE_STR], sb[REC_SHAPE_STR];
    int64_t rows = rec_rows(x), in = rec_cols(x);
    if (w->nd != 2 || w->shape[1] != in)
        return rec_graph_fail(g, REC_E_INVALID, "%s: x %s and W %s do not match "
                              "(W must be [out, %lld])", fn, rec_shape_str(x, sx),
                              rec_shape_str(w, sw), (long long)in);
    int64_t out = w->shape[0];
    if (b && (b->n != out || rec_cols(b) != out))
        return rec_graph_fail(g, REC_E_INVALID, "%s: W %s and b %s do not match (b must be "
                              "[%lld])", fn, rec_shape_str(w, sw), rec_shape_str(b, sb),
                              (long long)out);
    if (!fits_int(rows) || !fits_int(in) || !fits_int(out))
        return rec_graph_fail(g, REC_E_INVALID, "%s: a dimension exceeds INT_MAX", fn);
    int64_t s[REC_MAX_DIMS];
    int nd = x->nd ? x->nd : 1;
    memcpy(s, x->shape, sizeof s);
    s[nd - 1] = out;
    rec_tensor *inputs[3] = { x, w, b };
    rec_tensor *y = rec_op_out(g, nd, s, linear_back, b ? 3 : 2, inputs, NULL);
    if (!y)
        return NULL;
    float beta = 0.0f;
    if (b) { /* broadcast the bias into y, then accumulate the product on top */
        for (int64_t r = 0; r < rows; r++)
            memcpy(y->v + r * out, b->v, (size_t)out * sizeof(float));
        beta = 1.0f;
    }
    rec_sgemm(0, 1, (int)rows, (int)out, (int)in, 1.0f, x->v, (int)in, w->v, (int)in, beta,
              y->v, (int)out);
    return y;
}
