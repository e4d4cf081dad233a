/* Losses, each -> [1].  All are written in their overflow-free forms
 * (softplus via log1p(exp(-|x|)), log-sum-exp shifted by the row max) and
 * sum in double in a fixed order, so the value is the same at any thread
 * count.  Targets and weights are constants: only logits (and BPR's two
 * scores) get gradients. */
#include "ops.h"

#include <math.h>

static inline double softplus(double z)
{
    return (z > 0 ? z : 0) + log1p(exp(-fabs(z)));
}

static inline float sigmoidf_(float z)
{
    return z >= 0 ? 1.0f / (1.0f + expf(-z)) : expf(z) / (1.0f + expf(z));
}

static int null_args(rec_graph *g, const char *fn, const char *n1, const rec_tensor *a,
                     const char *n2, const rec_tensor *b)
{
    if (!g) {
        rec_err(REC_E_INVALID, "%s: graph is NULL", fn);
        return 1;
    }
    if (!a || !b) {
        rec_graph_fail(g, REC_E_INVALID, "%s: %s is NULL", fn, !a ? n1 : n2);
        return 1;
    }
    return rec_graph_status(g) != REC_OK;
}

/* ---- binary cross-entropy with logits ------------------------------------ */

static void bce_back(rec_graph *g, rec_node *n)
{
    rec_tensor *x = n->in[0], *t = n->in[1], *w = n->in[2];
    float *dx = rec_grad_of(g, x);
    if (!dx || n->f[0] == 0.0f)
        return;
    float s = n->out->g[0] / n->f[0]; /* d(loss) / weighted count */
    for (int64_t i = 0; i < x->n; i++) {
        float wi = w ? w->v[i] : 1.0f;
        if (wi != 0.0f)
            dx[i] += s * wi * (sigmoidf_(x->v[i]) - t->v[i]);
    }
}

rec_tensor *rec_bce_logits(rec_graph *g, rec_tensor *logits, rec_tensor *target,
                           rec_tensor *weight)
{
    static const char fn[] = "rec_bce_logits";
    if (null_args(g, fn, "logits", logits, "target", target))
        return NULL;
    if (logits->dtype != REC_F32 || target->dtype != REC_F32)
        return rec_graph_fail(g, REC_E_INVALID, "%s: logits and target must be F32", fn);
    if (!rec_same_shape(logits, target))
        return rec_graph_fail(g, REC_E_INVALID, "%s: target has %lld elements, logits %lld "
                              "(shapes must match)", fn, (long long)target->n,
                              (long long)logits->n);
    if (weight && (weight->dtype != REC_F32 || !rec_same_shape(logits, weight)))
        return rec_graph_fail(g, REC_E_INVALID, "%s: weight has %lld elements, logits %lld "
                              "(F32, shapes must match)", fn, (long long)weight->n,
                              (long long)logits->n);
    double sum = 0, wsum = 0;
    for (int64_t i = 0; i < logits->n; i++) {
        double wi = weight ? weight->v[i] : 1.0;
        if (wi == 0)
            continue; /* a dropped element contributes nothing, even if inf/NaN */
        double x = logits->v[i];
        sum += wi * (softplus(x) - x * target->v[i]);
        wsum += wi;
    }
    int64_t one = 1;
    rec_node *node;
    rec_tensor *out = rec_op_out(g, 1, &one, bce_back, 1, &logits, &node);
    if (!out)
        return NULL;
    out->v[0] = wsum != 0 ? (float)(sum / wsum) : 0.0f;
    if (node) {
        node->in[1] = target;
        node->in[2] = weight;
        node->f[0] = (float)wsum;
    }
    return out;
}

/* ---- softmax cross-entropy ------------------------------------------------ */

typedef struct xent_job {
    const float *x;      /* [rows, cols] */
    const int32_t *t;    /* [rows]       */
    float *lse;          /* [rows]: log-sum-exp of each counted row */
    double *loss;        /* [rows]: lse - x[t], 0 for ignored rows   */
    float *dx;           /* backward: [rows, cols] */
    float scale;         /* backward: d(loss) / counted rows */
    int64_t cols;
} xent_job;

static void xent_rows(void *arg, int64_t r0, int64_t r1, int chunk)
{
    (void)chunk;
    const xent_job *j = arg;
    int64_t c = j->cols;
    for (int64_t r = r0; r < r1; r++) {
        if (j->t[r] < 0) {
            j->loss[r] = 0;
            continue;
        }
        const float *x = j->x + r * c;
        float m = x[0];
        for (int64_t k = 1; k < c; k++)
            m = x[k] > m ? x[k] : m;
        float s = 0.0f;
        for (int64_t k = 0; k < c; k++)
            s += expf(x[k] - m);
        j->lse[r] = m + logf(s);
        j->loss[r] = (double)j->lse[r] - x[j->t[r]];
    }
}

static void xent_back_rows(void *arg, int64_t r0, int64_t r1, int chunk)
{
    (void)chunk;
    const xent_job *j = arg;
    int64_t c = j->cols;
    for (int64_t r = r0; r < r1; r++) {
        if (j->t[r] < 0)
            continue;
        const float *x = j->x + r * c;
        float *dx = j->dx + r * c, lse = j->lse[r];
        for (int64_t k = 0; k < c; k++)
            dx[k] += j->scale * expf(x[k] - lse);
        dx[j->t[r]] -= j->scale;
    }
}

static void xent_back(rec_graph *g, rec_node *n)
{
    rec_tensor *x = n->in[0], *t = n->in[1];
    float *dx = rec_grad_of(g, x);
    if (!dx || n->i[0] == 0)
        return;
    int64_t cols = rec_cols(x);
    xent_job j = { x->v, t->iv, n->saved, NULL, dx, n->out->g[0] / (float)n->i[0], cols };
    rec_parallel_for(rec_rows(x), 1 + 16384 / (cols + 1), xent_back_rows, &j);
}

rec_tensor *rec_softmax_xent(rec_graph *g, rec_tensor *logits, rec_tensor *target)
{
    static const char fn[] = "rec_softmax_xent";
    if (null_args(g, fn, "logits", logits, "target", target))
        return NULL;
    if (logits->dtype != REC_F32 || target->dtype != REC_I32)
        return rec_graph_fail(g, REC_E_INVALID, "%s: logits must be F32 and target I32", fn);
    int64_t rows = rec_rows(logits), cols = rec_cols(logits), counted = 0;
    if (target->n != rows)
        return rec_graph_fail(g, REC_E_INVALID, "%s: target has %lld elements, want %lld (the "
                              "rows of logits)", fn, (long long)target->n, (long long)rows);
    if (cols < 1)
        return rec_graph_fail(g, REC_E_INVALID, "%s: logits have no columns", fn);
    for (int64_t r = 0; r < rows; r++) {
        if (target->iv[r] >= cols)
            return rec_graph_fail(g, REC_E_RANGE,
                                  "%s: target[%lld] = %d is out of range for %lld classes", fn,
                                  (long long)r, (int)target->iv[r], (long long)cols);
        counted += target->iv[r] >= 0;
    }
    int64_t one = 1;
    rec_node *node;
    rec_tensor *out = rec_op_out(g, 1, &one, xent_back, 1, &logits, &node);
    float *lse = out ? rec_graph_alloc(g, (size_t)(rows ? rows : 1) * sizeof *lse) : NULL;
    double *loss = lse ? rec_graph_alloc(g, (size_t)(rows ? rows : 1) * sizeof *loss) : NULL;
    if (!loss)
        return NULL;
    xent_job j = { logits->v, target->iv, lse, loss, NULL, 0.0f, cols };
    rec_parallel_for(rows, 1 + 16384 / (cols + 1), xent_rows, &j);
    double sum = 0;
    for (int64_t r = 0; r < rows; r++)
        sum += loss[r];
    out->v[0] = counted ? (float)(sum / (double)counted) : 0.0f;
    if (node) {
        node->in[1] = target;
        node->saved = lse;
        node->i[0] = counted;
    }
    return out;
}

/* ---- BPR ------------------------------------------------------------------ */

static void bpr_back(rec_graph *g, rec_node *n)
{
    rec_tensor *pos = n->in[0], *neg = n->in[1];
    float *dp = rec_grad_of(g, pos), *dn = rec_grad_of(g, neg);
    if (rec_graph_status(g) || pos->n == 0)
        return;
    float s = n->out->g[0] / (float)pos->n;
    for (int64_t i = 0; i < pos->n; i++) {
        float d = s * sigmoidf_(neg->v[i] - pos->v[i]);
        if (dp)
            dp[i] -= d;
        if (dn)
            dn[i] += d;
    }
}

rec_tensor *rec_bpr(rec_graph *g, rec_tensor *pos, rec_tensor *neg)
{
    static const char fn[] = "rec_bpr";
    if (null_args(g, fn, "pos", pos, "neg", neg))
        return NULL;
    if (pos->dtype != REC_F32 || neg->dtype != REC_F32)
        return rec_graph_fail(g, REC_E_INVALID, "%s: pos and neg must be F32", fn);
    if (!rec_same_shape(pos, neg))
        return rec_graph_fail(g, REC_E_INVALID, "%s: neg has %lld elements, pos %lld (shapes "
                              "must match)", fn, (long long)neg->n, (long long)pos->n);
    double sum = 0;
    for (int64_t i = 0; i < pos->n; i++)
        sum += softplus((double)neg->v[i] - pos->v[i]);
    int64_t one = 1;
    rec_tensor *in[2] = { pos, neg };
    rec_tensor *out = rec_op_out(g, 1, &one, bpr_back, 2, in, NULL);
    if (!out)
        return NULL;
    out->v[0] = pos->n ? (float)(sum / (double)pos->n) : 0.0f;
    return out;
}
