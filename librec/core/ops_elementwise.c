/* Elementwise ops: binary ops with row/scalar broadcasting, activations,
 * scaling and inverted dropout.  Loops run over the pool in chunks of at
 * least REC_EW_GRAIN values; every value depends only on its own inputs, so
 * results do not depend on the thread count. */
#include "ops_dense-impl.h"

#include <math.h>
#include <string.h>

/* ---- binary ops: b has a's shape, or [cols] over rows, or one value ------ */

enum { OP_ADD, OP_SUB, OP_MUL };
enum { BC_SAME, BC_ROW, BC_SCALAR };

typedef struct bin_job {
    int op, bc;
    int64_t cols;
    const float *a, *b;
    float *y;
    /* backward: dy, and the gradient of a (b's reduced gradient is done apart) */
    const float *dy;
    float *da, *db;
    int da_set;         /* da is fresh (rec_grad_full): write it, do not add */
    int db_set;         /* the same for db (same shapes only) */
} bin_job;

EW_LOOPS static void bin_fwd(void *arg, int64_t s, int64_t e, int chunk)
{
    (void)chunk;
    const bin_job *j = arg;
    const float *restrict a = j->a, *restrict b = j->b;
    float *restrict y = j->y;
    if (j->bc == BC_ROW) {
        /* chunk edges may fall mid-row: walk row segments so the inner loop
         * stays contiguous in both a and b */
        int64_t c = j->cols;
        for (int64_t i = s; i < e;) {
            int64_t k0 = i % c, len = c - k0 < e - i ? c - k0 : e - i;
            const float *bb = b + k0;
            switch (j->op) {
            case OP_ADD: for (int64_t k = 0; k < len; k++) y[i + k] = a[i + k] + bb[k]; break;
            case OP_SUB: for (int64_t k = 0; k < len; k++) y[i + k] = a[i + k] - bb[k]; break;
            default:     for (int64_t k = 0; k < len; k++) y[i + k] = a[i + k] * bb[k]; break;
            }
            i += len;
        }
        return;
    }
    if (j->bc == BC_SCALAR) {
        float v = b[0];
        switch (j->op) {
        case OP_ADD: for (int64_t i = s; i < e; i++) y[i] = a[i] + v; break;
        case OP_SUB: for (int64_t i = s; i < e; i++) y[i] = a[i] - v; break;
        default:     for (int64_t i = s; i < e; i++) y[i] = a[i] * v; break;
        }
        return;
    }
    switch (j->op) {
    case OP_ADD: for (int64_t i = s; i < e; i++) y[i] = a[i] + b[i]; break;
    case OP_SUB: for (int64_t i = s; i < e; i++) y[i] = a[i] - b[i]; break;
    default:     for (int64_t i = s; i < e; i++) y[i] = a[i] * b[i]; break;
    }
}

/* da += dy (add, sub) or dy * b (mul); with same shapes db too. */
EW_LOOPS static void bin_bwd(void *arg, int64_t s, int64_t e, int chunk)
{
    (void)chunk;
    const bin_job *j = arg;
    const float *restrict dy = j->dy;
    float *restrict da = j->da, *restrict db = j->db;
    if (da && j->op != OP_MUL) {
        if (j->da_set)
            memcpy(da + s, dy + s, (size_t)(e - s) * sizeof *da);
        else
            for (int64_t i = s; i < e; i++) da[i] += dy[i];
    } else if (da) {
        if (j->da_set) /* a fresh product gradient starts at zero (rare) */
            memset(da + s, 0, (size_t)(e - s) * sizeof *da);
        if (j->bc == BC_SAME) {
            for (int64_t i = s; i < e; i++) da[i] += dy[i] * j->b[i];
        } else if (j->bc == BC_SCALAR) {
            float v = j->b[0];
            for (int64_t i = s; i < e; i++) da[i] += dy[i] * v;
        } else {
            int64_t c = j->cols;
            for (int64_t i = s; i < e;) {
                int64_t k0 = i % c, len = c - k0 < e - i ? c - k0 : e - i;
                const float *restrict bb = j->b + k0;
                for (int64_t k = 0; k < len; k++) da[i + k] += dy[i + k] * bb[k];
                i += len;
            }
        }
    }
    if (db && j->bc == BC_SAME && j->db_set) {
        switch (j->op) {
        case OP_ADD: memcpy(db + s, dy + s, (size_t)(e - s) * sizeof *db); break;
        case OP_SUB: for (int64_t i = s; i < e; i++) db[i] = -dy[i]; break;
        default:     for (int64_t i = s; i < e; i++) db[i] = dy[i] * j->a[i]; break;
        }
    } else if (db && j->bc == BC_SAME) {
        switch (j->op) {
        case OP_ADD: for (int64_t i = s; i < e; i++) db[i] += dy[i]; break;
        case OP_SUB: for (int64_t i = s; i < e; i++) db[i] -= dy[i]; break;
        default:     for (int64_t i = s; i < e; i++) db[i] += dy[i] * j->a[i]; break;
        }
    }
}

static void bin_back(rec_graph *g, rec_node *n)
{
    rec_tensor *a = n->in[0], *b = n->in[1];
    int op = (int)n->i[0], bc = (int)n->i[1];
    /* a + b, a - b: a's gradient is dy itself, and so is b's for a + b of
     * one shape: a fresh one takes dy's buffer (not both: they would share) */
    int take_a = op != OP_MUL && a != b && rec_grad_take(a, n->out);
    int take_b = !take_a && op == OP_ADD && bc == BC_SAME && a != b && rec_grad_take(b, n->out);
    /* a's gradient is written whole (first), b's may be a broadcast sum */
    float ba = 1.0f;
    bin_job j = { op, bc, rec_cols(a), a->v, b->v, NULL, n->out->g,
                  take_a ? NULL : rec_grad_full(g, a, &ba), NULL, 0, 0 };
    /* a broadcast b's gradient is summed into below: it must start at 0 */
    float bb = 1.0f;
    j.db = take_b ? NULL : j.bc == BC_SAME ? rec_grad_full(g, b, &bb) : rec_grad_of(g, b);
    j.da_set = j.da && ba == 0.0f;
    j.db_set = j.db && bb == 0.0f;
    if (rec_graph_status(g))
        return;
    rec_parallel_for(a->n, REC_EW_GRAIN, bin_bwd, &j);
    if (!j.db || j.bc == BC_SAME)
        return;
    /* broadcast b: its gradient sums over the rows it was repeated on */
    const float *dy = j.dy;
    int64_t rows = rec_rows(a), cols = j.cols;
    if (j.bc == BC_SCALAR) {
        double acc = 0;
        if (j.op == OP_MUL)
            for (int64_t i = 0; i < a->n; i++) acc += (double)dy[i] * a->v[i];
        else
            for (int64_t i = 0; i < a->n; i++) acc += dy[i];
        j.db[0] += (float)(j.op == OP_SUB ? -acc : acc);
        return;
    }
    float *restrict db = j.db;
    for (int64_t r = 0; r < rows; r++) {
        const float *restrict d = dy + r * cols, *restrict x = a->v + r * cols;
        switch (j.op) {
        case OP_ADD: for (int64_t k = 0; k < cols; k++) db[k] += d[k]; break;
        case OP_SUB: for (int64_t k = 0; k < cols; k++) db[k] -= d[k]; break;
        default:     for (int64_t k = 0; k < cols; k++) db[k] += d[k] * x[k]; break;
        }
    }
}

static rec_tensor *binary(rec_graph *g, const char *fn, int op, rec_tensor *a, rec_tensor *b)
{
    if (!rec_op_input(g, fn, "a", a) || !rec_op_input(g, fn, "b", b))
        return NULL;
    int bc;
    if (rec_same_shape(a, b))
        bc = BC_SAME;
    else if (b->n == 1)
        bc = BC_SCALAR;
    else if (b->n == rec_cols(a) && rec_cols(b) == b->n)
        bc = BC_ROW;
    else {
        char sa[REC_SHAPE_STR], sb[REC_SHAPE_STR];
        return rec_graph_fail(g, REC_E_INVALID, "%s: shapes %s and %s do not broadcast (b must "
                              "have a's shape, [%lld] or one element)", fn,
                              rec_shape_str(a, sa), rec_shape_str(b, sb),
                              (long long)rec_cols(a));
    }
    rec_tensor *in[2] = { a, b };
    rec_node *node;
    rec_tensor *y = rec_op_out(g, a->nd, a->shape, bin_back, 2, in, &node);
    if (!y)
        return NULL;
    bin_job j = { op, bc, rec_cols(a), a->v, b->v, y->v, NULL, NULL, NULL, 0, 0 };
    rec_parallel_for(a->n, REC_EW_GRAIN, bin_fwd, &j);
    if (node) {
        node->i[0] = op;
        node->i[1] = bc;
    }
    return y;
}

rec_tensor *rec_add(rec_graph *g, rec_tensor *a, rec_tensor *b)
{
    return binary(g, "rec_add", OP_ADD, a, b);
}

rec_tensor *rec_sub(rec_graph *g, rec_tensor *a, rec_tensor *b)
{
    return binary(g, "rec_sub", OP_SUB, a, b);
}

rec_tensor *rec_mul(rec_graph *g, rec_tensor *a, rec_tensor *b)
{
    return binary(g, "rec_mul", OP_MUL, a, b);
}

/* ---- unary ops ------------------------------------------------------------ */

enum { U_SCALE, U_RELU, U_SIGMOID, U_TANH, U_GELU, U_LEAKY };

typedef struct un_job {
    int op;
    float s;
    const float *x, *y, *dy;
    float *out; /* y in forward, dx in backward */
} un_job;

#define INV_SQRT2 0.70710678118654752440
#define INV_SQRT_2PI 0.39894228040143267794

static inline float sigmoidf(float x)
{
    /* never exponentiate a large positive number */
    if (x >= 0)
        return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

EW_LOOPS static void un_fwd(void *arg, int64_t s, int64_t e, int chunk)
{
    (void)chunk;
    const un_job *j = arg;
    const float *restrict x = j->x;
    float *restrict y = j->out;
    switch (j->op) {
    case U_SCALE:
        for (int64_t i = s; i < e; i++) y[i] = j->s * x[i];
        break;
    case U_RELU:
        for (int64_t i = s; i < e; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case U_LEAKY:
        for (int64_t i = s; i < e; i++) y[i] = x[i] > 0.0f ? x[i] : j->s * x[i];
        break;
    case U_SIGMOID:
        for (int64_t i = s; i < e; i++) y[i] = sigmoidf(x[i]);
        break;
    case U_TANH:
        for (int64_t i = s; i < e; i++) y[i] = tanhf(x[i]);
        break;
    default:
        for (int64_t i = s; i < e; i++)
            y[i] = (float)(0.5 * x[i] * (1.0 + erf(x[i] * INV_SQRT2)));
        break;
    }
}

/* dx += x > 0 ? dy : 0 over 16 values.  Written as a masked copy into a
 * local block: GCC's -O2 cost model vectorises this form (a blend), while
 * the plain ternary loop stays a branch that mispredicts on random signs
 * (most of the tape's overhead on an MLP step). */
static inline void relu_back16(float *restrict dx, const float *restrict dy,
                               const float *restrict x)
{
    float t[16];
    for (int k = 0; k < 16; k++)
        t[k] = dy[k];
    for (int k = 0; k < 16; k++)
        t[k] = x[k] > 0.0f ? t[k] : 0.0f;
    for (int k = 0; k < 16; k++)
        dx[k] += t[k];
}

EW_LOOPS static void un_bwd(void *arg, int64_t s, int64_t e, int chunk)
{
    (void)chunk;
    const un_job *j = arg;
    const float *restrict x = j->x, *restrict y = j->y, *restrict dy = j->dy;
    float *restrict dx = j->out;
    switch (j->op) {
    case U_SCALE:
        for (int64_t i = s; i < e; i++) dx[i] += j->s * dy[i];
        break;
    case U_RELU: {
        int64_t i = s;
        for (; i + 16 <= e; i += 16)
            relu_back16(dx + i, dy + i, x + i);
        for (; i < e; i++)
            dx[i] += x[i] > 0.0f ? dy[i] : 0.0f;
        break;
    }
    case U_LEAKY:
        for (int64_t i = s; i < e; i++) dx[i] += x[i] > 0.0f ? dy[i] : j->s * dy[i];
        break;
    case U_SIGMOID:
        for (int64_t i = s; i < e; i++) dx[i] += dy[i] * y[i] * (1.0f - y[i]);
        break;
    case U_TANH:
        for (int64_t i = s; i < e; i++) dx[i] += dy[i] * (1.0f - y[i] * y[i]);
        break;
    default:
        for (int64_t i = s; i < e; i++) {
            double v = x[i];
            double d = 0.5 * (1.0 + erf(v * INV_SQRT2)) + v * INV_SQRT_2PI * exp(-0.5 * v * v);
            dx[i] += (float)(dy[i] * d);
        }
        break;
    }
}

static void un_back(rec_graph *g, rec_node *n)
{
    float *dx = rec_grad_of(g, n->in[0]);
    if (!dx)
        return;
    un_job j = { (int)n->i[0], n->f[0], n->in[0]->v, n->out->v, n->out->g, dx };
    rec_parallel_for(n->out->n, REC_EW_GRAIN, un_bwd, &j);
}

static rec_tensor *unary(rec_graph *g, const char *fn, int op, rec_tensor *a, float s)
{
    if (!rec_op_input(g, fn, "a", a))
        return NULL;
    rec_node *node;
    rec_tensor *y = rec_op_out(g, a->nd, a->shape, un_back, 1, &a, &node);
    if (!y)
        return NULL;
    un_job j = { op, s, a->v, NULL, NULL, y->v };
    rec_parallel_for(a->n, REC_EW_GRAIN, un_fwd, &j);
    if (node) {
        node->i[0] = op;
        node->f[0] = s;
    }
    return y;
}

rec_tensor *rec_scale(rec_graph *g, rec_tensor *a, float s)
{
    return unary(g, "rec_scale", U_SCALE, a, s);
}

rec_tensor *rec_relu(rec_graph *g, rec_tensor *a)
{
    return unary(g, "rec_relu", U_RELU, a, 0.0f);
}

rec_tensor *rec_leaky_relu(rec_graph *g, rec_tensor *a, float slope)
{
    static const char fn[] = "rec_leaky_relu";
    if (g && !rec_graph_status(g) && !(slope >= 0.0f && slope < 1.0f))
        return rec_graph_fail(g, REC_E_RANGE, "%s: slope = %g is outside [0, 1)", fn,
                              (double)slope);
    return unary(g, fn, U_LEAKY, a, slope);
}

rec_tensor *rec_sigmoid(rec_graph *g, rec_tensor *a)
{
    return unary(g, "rec_sigmoid", U_SIGMOID, a, 0.0f);
}

rec_tensor *rec_tanh(rec_graph *g, rec_tensor *a)
{
    return unary(g, "rec_tanh", U_TANH, a, 0.0f);
}

rec_tensor *rec_gelu(rec_graph *g, rec_tensor *a)
{
    return unary(g, "rec_gelu", U_GELU, a, 0.0f);
}

/* ---- dropout ---------------------------------------------------------------
 * Inverted dropout with the mask of dropout_mask.c: value i's draw is a hash
 * of a seed taken from the graph's RNG and i, so the same seed and step give
 * the same mask whatever the thread count.  The keep bits (one per value)
 * are saved for backward. */

typedef struct drop_job {
    uint64_t key;
    uint32_t thresh;   /* drop when the value's hash is below it */
    float scale;       /* 1 / (1 - p) */
    int64_t n;
    const float *x;    /* x, or dy in backward */
    float *y;          /* y, or dx in backward */
    uint16_t *keep;
    int set;           /* backward: dx is fresh, write it */
} drop_job;

/* ranges are of 16-value words */
static void drop_part(void *arg, int64_t s, int64_t e, int chunk)
{
    (void)chunk;
    const drop_job *j = arg;
    rec_drop_fwd(j->key, j->thresh, j->scale, j->x, j->y, j->keep, s, e, j->n);
}

static void dropb_part(void *arg, int64_t s, int64_t e, int chunk)
{
    (void)chunk;
    const drop_job *j = arg;
    rec_drop_bwd(j->keep, j->scale, j->x, j->y, j->set, s, e, j->n);
}

static void dropout_back(rec_graph *g, rec_node *n)
{
    float beta;
    float *dx = rec_grad_full(g, n->in[0], &beta);
    if (!dx)
        return;
    drop_job j = { 0, 0, n->f[0], n->out->n, n->out->g, dx, n->saved, beta == 0.0f };
    rec_parallel_for((j.n + 15) / 16, REC_EW_GRAIN / 16, dropb_part, &j);
}

rec_tensor *rec_dropout(rec_graph *g, rec_tensor *a, float p)
{
    static const char fn[] = "rec_dropout";
    if (!rec_op_input(g, fn, "a", a))
        return NULL;
    if (!(p >= 0.0f && p <= 1.0f))
        return rec_graph_fail(g, REC_E_RANGE, "%s: p = %g is outside [0, 1]", fn, (double)p);
    if (!rec_graph_training(g) || p == 0.0f)
        return a;
    rec_node *node;
    rec_tensor *y = rec_op_out(g, a->nd, a->shape, dropout_back, 1, &a, &node);
    uint16_t *keep = y ? rec_graph_alloc(g, (size_t)(a->n + 15) / 16 * sizeof *keep) : NULL;
    if (!keep)
        return NULL;
    double t = (double)p * 4294967296.0;
    drop_job j = { rec_rng_u64(rec_graph_rng(g)), t >= 4294967295.0 ? UINT32_MAX : (uint32_t)t,
                   p < 1.0f ? 1.0f / (1.0f - p) : 0.0f, a->n, a->v, y->v, keep, 0 };
    if (p >= 1.0f) /* even a hash of UINT32_MAX must drop */
        j.scale = 0.0f;
    rec_parallel_for((a->n + 15) / 16, REC_EW_GRAIN / 16, drop_part, &j);
    if (node) {
        node->saved = keep;
        node->f[0] = j.scale;
    }
    return y;
}
