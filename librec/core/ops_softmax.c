/* Softmax, log-softmax and layer normalisation over the last dim.
 *
 * Every mask ops.h offers leaves a row's valid columns as a prefix: padding
 * keeps mask[r] leading columns, causal keeps columns 0 .. r % T.  So each
 * row has a valid length L (0 <= L <= cols); the columns from L on are
 * masked, output 0 (for log_softmax too, so that a masked -inf never turns
 * into a NaN downstream) and receive no gradient. */
#include "ops_dense-impl.h"

#include <math.h>
#include <string.h>

typedef struct sm_job {
    int log, causal;
    int64_t cols;
    const int32_t *mask;
    const float *x, *y, *dy;
    float *out;          /* y in forward, dx in backward */
    int set;             /* backward: dx is fresh, write it (softmax only) */
} sm_job;

static inline int64_t valid_len(const sm_job *j, int64_t r)
{
    int64_t len = j->cols;
    if (j->mask && j->mask[r] < len)
        len = j->mask[r];
    if (j->causal && r % j->cols + 1 < len)
        len = r % j->cols + 1;
    return len;
}

static void sm_fwd(void *arg, int64_t s, int64_t e, int chunk)
{
    (void)chunk;
    const sm_job *j = arg;
    int64_t c = j->cols;
    for (int64_t r = s; r < e; r++) {
        const float *x = j->x + r * c;
        float *y = j->out + r * c;
        int64_t len = valid_len(j, r);
        if (!j->log) { /* softmax_rows.c */
            rec_sm_row_fwd(x, y, len, c);
            continue;
        }
        for (int64_t k = len; k < c; k++)
            y[k] = 0.0f;
        if (len == 0)
            continue;
        float mx = -INFINITY;
        for (int64_t k = 0; k < len; k++)
            mx = x[k] > mx ? x[k] : mx;
        double sum = 0;
        if (j->log) {
            for (int64_t k = 0; k < len; k++)
                sum += expf(x[k] - mx);
            float lse = mx + (float)log(sum);
            for (int64_t k = 0; k < len; k++)
                y[k] = x[k] - lse;
        } else {
            for (int64_t k = 0; k < len; k++) {
                y[k] = expf(x[k] - mx);
                sum += y[k];
            }
            float inv = (float)(1.0 / sum);
            for (int64_t k = 0; k < len; k++)
                y[k] *= inv;
        }
    }
}

static void sm_bwd(void *arg, int64_t s, int64_t e, int chunk)
{
    (void)chunk;
    const sm_job *j = arg;
    int64_t c = j->cols;
    for (int64_t r = s; r < e; r++) {
        const float *y = j->y + r * c, *dy = j->dy + r * c;
        float *restrict dx = j->out + r * c;
        int64_t len = valid_len(j, r);
        if (!j->log) {
            rec_sm_row_bwd(y, dy, dx, j->set, len, c);
            continue;
        }
        double acc = 0;
        if (j->log) { /* dx = dy - softmax * sum(dy) */
            for (int64_t k = 0; k < len; k++)
                acc += dy[k];
            float sdy = (float)acc;
            for (int64_t k = 0; k < len; k++)
                dx[k] += dy[k] - expf(y[k]) * sdy;
        } else {      /* dx = y * (dy - y . dy) */
            for (int64_t k = 0; k < len; k++)
                acc += (double)dy[k] * y[k];
            float dot = (float)acc;
            for (int64_t k = 0; k < len; k++)
                dx[k] += y[k] * (dy[k] - dot);
        }
    }
}

static void sm_back(rec_graph *g, rec_node *n)
{
    float beta = 1.0f;
    float *dx = n->i[0] ? rec_grad_of(g, n->in[0]) : rec_grad_full(g, n->in[0], &beta);
    if (!dx)
        return;
    rec_tensor *a = n->in[0];
    sm_job j = { (int)n->i[0], (int)n->i[1], rec_cols(a), n->nin > 1 ? n->in[1]->iv : NULL,
                 a->v, n->out->v, n->out->g, dx, beta == 0.0f };
    rec_parallel_for(rec_rows(a), rec_row_grain(j.cols), sm_bwd, &j);
}

static rec_tensor *softmax_like(rec_graph *g, const char *fn, int log, rec_tensor *a,
                                int causal, rec_tensor *mask)
{
    if (!rec_op_input(g, fn, "a", a))
        return NULL;
    int64_t rows = rec_rows(a), cols = rec_cols(a);
    if (mask) {
        char sa[REC_SHAPE_STR], sm[REC_SHAPE_STR];
        if (mask->dtype != REC_I32 || mask->n != rows)
            return rec_graph_fail(g, REC_E_INVALID, "%s: mask %s%s does not fit a %s (want I32 "
                                  "[%lld])", fn, mask->dtype != REC_I32 ? "F32 " : "I32 ",
                                  rec_shape_str(mask, sm), rec_shape_str(a, sa),
                                  (long long)rows);
        for (int64_t r = 0; r < rows; r++)
            if (mask->iv[r] < 0 || mask->iv[r] > cols)
                return rec_graph_fail(g, REC_E_RANGE, "%s: mask[%lld] = %d is outside [0, %lld]",
                                      fn, (long long)r, mask->iv[r], (long long)cols);
    }
    rec_tensor *in[2] = { a, mask };
    rec_node *node;
    rec_tensor *y = rec_op_out(g, a->nd, a->shape, sm_back, mask ? 2 : 1, in, &node);
    if (!y)
        return NULL;
    /* with no columns nothing is masked (and r % T must not divide by 0) */
    int causal_on = causal != 0 && cols > 0;
    sm_job j = { log, causal_on, cols, mask ? mask->iv : NULL, a->v, NULL, NULL, y->v, 0 };
    rec_parallel_for(rows, rec_row_grain(cols), sm_fwd, &j);
    if (node) {
        node->i[0] = log;
        node->i[1] = causal_on;
    }
    return y;
}

rec_tensor *rec_softmax(rec_graph *g, rec_tensor *a, int causal, rec_tensor *mask)
{
    return softmax_like(g, "rec_softmax", 0, a, causal, mask);
}

rec_tensor *rec_log_softmax(rec_graph *g, rec_tensor *a, int causal, rec_tensor *mask)
{
    return softmax_like(g, "rec_log_softmax", 1, a, causal, mask);
}

/* ---- layer norm ------------------------------------------------------------
 * saved: mean and rstd = 1 / sqrt(var + eps) per row, [rows, 2]. */

typedef struct ln_job {
    int64_t cols;
    float eps;
    const float *x, *gamma, *beta, *dy;
    float *out;          /* y in forward, dx in backward */
    float *stats;
    int set;             /* backward: dx is fresh, write it */
} ln_job;

/* The row arithmetic is in layernorm_rows.c (AVX-512 or plain C). */
static void ln_fwd(void *arg, int64_t s, int64_t e, int chunk)
{
    (void)chunk;
    const ln_job *j = arg;
    rec_ln_rows_fwd(j->x, j->out, j->stats, s, e, j->cols, j->eps, j->gamma, j->beta);
}

static void ln_bwd(void *arg, int64_t s, int64_t e, int chunk)
{
    (void)chunk;
    const ln_job *j = arg;
    rec_ln_rows_bwd(j->x, j->dy, j->out, j->set, j->stats, s, e, j->cols, j->gamma);
}

static void ln_back(rec_graph *g, rec_node *n)
{
    rec_tensor *x = n->in[0];
    rec_tensor *gamma = n->i[0] ? n->in[1] : NULL;
    rec_tensor *beta = n->i[1] ? n->in[1 + (n->i[0] != 0)] : NULL;
    float bx;
    float *dx = rec_grad_full(g, x, &bx);
    float *dg = gamma ? rec_grad_of(g, gamma) : NULL;
    float *db = beta ? rec_grad_of(g, beta) : NULL;
    if (rec_graph_status(g))
        return;
    int64_t rows = rec_rows(x), c = rec_cols(x);
    if (dx) {
        ln_job j = { c, 0.0f, x->v, gamma ? gamma->v : NULL, NULL, n->out->g, dx, n->saved,
                     bx == 0.0f };
        rec_parallel_for(rows, rec_row_grain(c), ln_bwd, &j);
    }
    /* parameter gradients sum over rows: one pass, rows in order */
    if (dg || db)
        rec_ln_params_bwd(x->v, n->out->g, n->saved, rows, c, dg, db);
}

rec_tensor *rec_layernorm(rec_graph *g, rec_tensor *x, rec_tensor *gamma, rec_tensor *beta,
                          float eps)
{
    static const char fn[] = "rec_layernorm";
    if (!rec_op_input(g, fn, "x", x) || (gamma && !rec_op_input(g, fn, "gamma", gamma)) ||
        (beta && !rec_op_input(g, fn, "beta", beta)))
        return NULL;
    int64_t rows = rec_rows(x), cols = rec_cols(x);
    char sx[REC_SHAPE_STR], sp[REC_SHAPE_STR];
    const rec_tensor *p[2] = { gamma, beta };
    for (int i = 0; i < 2; i++)
        if (p[i] && (p[i]->n != cols || rec_cols(p[i]) != cols))
            return rec_graph_fail(g, REC_E_INVALID, "%s: x %s and %s %s do not match (want "
                                  "[%lld])", fn, rec_shape_str(x, sx), i ? "beta" : "gamma",
                                  rec_shape_str(p[i], sp), (long long)cols);
    if (!(eps >= 0.0f && eps < INFINITY))
        return rec_graph_fail(g, REC_E_RANGE, "%s: eps = %g, want a finite value >= 0", fn,
                              (double)eps);
    rec_tensor *in[3] = { x, NULL, NULL };
    int nin = 1;
    if (gamma)
        in[nin++] = gamma;
    if (beta)
        in[nin++] = beta;
    rec_node *node;
    rec_tensor *y = rec_op_out(g, x->nd, x->shape, ln_back, nin, in, &node);
    float *stats = y ? rec_graph_alloc(g, (size_t)(rows ? 2 * rows : 2) * sizeof *stats) : NULL;
    if (!stats)
        return NULL;
    if (node) {
        node->i[0] = gamma != NULL;
        node->i[1] = beta != NULL;
        node->saved = stats;
    }
    if (cols == 0) { /* no values; rows get mean 0, rstd 0 for backward */
        memset(stats, 0, (size_t)(rows ? 2 * rows : 2) * sizeof *stats);
        return y;
    }
    ln_job j = { cols, eps, x->v, gamma ? gamma->v : NULL, beta ? beta->v : NULL, NULL, y->v,
                 stats, 0 };
    rec_parallel_for(rows, rec_row_grain(cols), ln_fwd, &j);
    return y;
}

/* ---- softmax over segments of rows (graph attention) ---------------------
 * Segment s is rows off[s] .. off[s+1]-1 of x [E, H]; each column (head) is
 * normalised over the segment's rows.  A segment is one node's incoming
 * edges, so this is GAT's softmax over each node's neighbours.  Segments are
 * disjoint: threads split them with no shared writes. */
typedef struct segsm_job {
    const int32_t *off;
    int64_t cols;
    const float *x, *y, *dy;
    float *out;          /* y in forward, dx in backward */
} segsm_job;

static void segsm_fwd(void *arg, int64_t s0, int64_t s1, int chunk)
{
    (void)chunk;
    const segsm_job *j = arg;
    int64_t c = j->cols;
    for (int64_t s = s0; s < s1; s++) {
        int64_t b = j->off[s], e = j->off[s + 1];
        for (int64_t h = 0; h < c; h++) {
            float mx = -INFINITY;
            for (int64_t r = b; r < e; r++)
                mx = j->x[r * c + h] > mx ? j->x[r * c + h] : mx;
            double sum = 0;
            for (int64_t r = b; r < e; r++) {
                float v = expf(j->x[r * c + h] - mx);
                j->out[r * c + h] = v;
                sum += v;
            }
            float inv = (float)(1.0 / sum);
            for (int64_t r = b; r < e; r++)
                j->out[r * c + h] *= inv;
        }
    }
}

/* dx = y * (dy - sum_segment(y * dy)), per column */
static void segsm_bwd(void *arg, int64_t s0, int64_t s1, int chunk)
{
    (void)chunk;
    const segsm_job *j = arg;
    int64_t c = j->cols;
    for (int64_t s = s0; s < s1; s++) {
        int64_t b = j->off[s], e = j->off[s + 1];
        for (int64_t h = 0; h < c; h++) {
            double acc = 0;
            for (int64_t r = b; r < e; r++)
                acc += (double)j->y[r * c + h] * j->dy[r * c + h];
            float dot = (float)acc;
            for (int64_t r = b; r < e; r++)
                j->out[r * c + h] += j->y[r * c + h] * (j->dy[r * c + h] - dot);
        }
    }
}

static void segsm_back(rec_graph *g, rec_node *n)
{
    float *dx = rec_grad_of(g, n->in[0]);
    if (!dx)
        return;
    segsm_job j = { n->in[1]->iv, rec_cols(n->in[0]), NULL, n->out->v, n->out->g, dx };
    int64_t nseg = n->in[1]->n - 1;
    rec_parallel_for(nseg, 1 + REC_EW_GRAIN / (1 + rec_rows(n->in[0]) / (nseg ? nseg : 1)),
                     segsm_bwd, &j);
}

rec_tensor *rec_segment_softmax(rec_graph *g, rec_tensor *x, rec_tensor *offsets)
{
    static const char fn[] = "rec_segment_softmax";
    if (!rec_op_input(g, fn, "x", x))
        return NULL;
    int64_t rows = rec_rows(x), cols = rec_cols(x);
    if (!offsets || offsets->dtype != REC_I32 || offsets->n < 1)
        return rec_graph_fail(g, REC_E_INVALID, "%s: offsets must be I32 [segments + 1]", fn);
    const int32_t *off = offsets->iv;
    int64_t nseg = offsets->n - 1;
    if (off[0] != 0 || off[nseg] != rows)
        return rec_graph_fail(g, REC_E_INVALID, "%s: offsets run %d .. %d, want 0 .. %lld (the "
                              "rows of x)", fn, off[0], off[nseg], (long long)rows);
    for (int64_t s = 0; s < nseg; s++)
        if (off[s + 1] < off[s])
            return rec_graph_fail(g, REC_E_INVALID, "%s: offsets[%lld] = %d > offsets[%lld] = "
                                  "%d", fn, (long long)s, off[s], (long long)s + 1, off[s + 1]);
    rec_tensor *in[2] = { x, offsets };
    rec_tensor *y = rec_op_out(g, x->nd, x->shape, segsm_back, 2, in, NULL);
    if (!y)
        return NULL;
    segsm_job j = { off, cols, x->v, NULL, NULL, y->v };
    rec_parallel_for(nseg, 1 + REC_EW_GRAIN / (1 + rows / (nseg ? nseg : 1)), segsm_fwd, &j);
    return y;
}
