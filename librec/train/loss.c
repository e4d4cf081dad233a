/* Training losses built on the ops: BCE over explicit negatives (its own
 * op), in-batch InfoNCE and sampled softmax with log-Q correction (composed
 * from matmul / rowdot / softmax_xent, which is already overflow-free), and
 * the mixed objective. */
#include "train-impl.h"
#include "core/ops.h"

#include <math.h>

/* NULL graph: message only.  NULL input: a sticky error unless one is set
 * (an earlier op failed and returned the NULL we see). */
static int bad_inputs(rec_graph *g, const char *fn, int n, rec_tensor *const *t,
                      const char *const *names)
{
    if (!g) {
        rec_err(REC_E_INVALID, "%s: graph is NULL", fn);
        return 1;
    }
    for (int k = 0; k < n; k++)
        if (!t[k]) {
            rec_graph_fail(g, REC_E_INVALID, "%s: %s is NULL", fn, names[k]);
            return 1;
        }
    for (int k = 0; k < n; k++)
        if (t[k]->dtype != REC_F32) {
            rec_graph_fail(g, REC_E_INVALID, "%s: %s must be F32", fn, names[k]);
            return 1;
        }
    return rec_graph_status(g) != REC_OK;
}

static inline double softplus(double z)
{
    return (z > 0 ? z : 0) + log1p(exp(-fabs(z)));
}

static inline float sigmoidf_(float z)
{
    return z >= 0 ? 1.0f / (1.0f + expf(-z)) : expf(z) / (1.0f + expf(z));
}

/* ---- BCE over explicit negatives ----------------------------------------- */

static void bce_neg_back(rec_graph *g, rec_node *n)
{
    rec_tensor *pos = n->in[0], *neg = n->in[1];
    float *dp = rec_grad_of(g, pos), *dn = rec_grad_of(g, neg);
    if (rec_graph_status(g) || pos->n == 0)
        return;
    float s = n->out->g[0] / (float)pos->n;
    if (dp) /* d softplus(-x) = sigmoid(x) - 1 */
        for (int64_t b = 0; b < pos->n; b++)
            dp[b] += s * (sigmoidf_(pos->v[b]) - 1.0f);
    if (dn)
        for (int64_t k = 0; k < neg->n; k++)
            dn[k] += s * sigmoidf_(neg->v[k]);
}

rec_tensor *rec_loss_bce_negatives(rec_graph *g, rec_tensor *pos, rec_tensor *neg)
{
    static const char fn[] = "rec_loss_bce_negatives";
    rec_tensor *in[2] = { pos, neg };
    static const char *const names[2] = { "pos", "neg" };
    if (bad_inputs(g, fn, 2, in, names))
        return NULL;
    if (rec_rows(neg) != pos->n || neg->nd < 2)
        return rec_graph_fail(g, REC_E_INVALID, "%s: neg must be [B, N] with B = %lld (the "
                              "elements of pos); it has %lld rows", fn, (long long)pos->n,
                              (long long)rec_rows(neg));
    double sum = 0;
    for (int64_t b = 0; b < pos->n; b++)
        sum += softplus(-(double)pos->v[b]);
    for (int64_t k = 0; k < neg->n; k++)
        sum += softplus(neg->v[k]);
    int64_t one = 1;
    rec_tensor *out = rec_op_out(g, 1, &one, bce_neg_back, 2, in, NULL);
    if (!out)
        return NULL;
    out->v[0] = pos->n ? (float)(sum / (double)pos->n) : 0.0f;
    return out;
}

/* ---- RankNet over groups --------------------------------------------------- */

/* Calls f(ctx, a, b, pair weight) for every ordered pair of a group that
 * counts: labels[a] > labels[b], both weights nonzero. */
typedef void (*pair_fn)(void *ctx, int64_t a, int64_t b, double w);

static void each_pair(const rec_tensor *lab, const rec_tensor *w, const rec_tensor *off,
                      pair_fn f, void *ctx)
{
    for (int64_t gi = 0; gi + 1 < off->n; gi++)
        for (int64_t a = off->iv[gi]; a < off->iv[gi + 1]; a++) {
            double wa = w ? w->v[a] : 1.0;
            if (wa == 0)
                continue;
            for (int64_t b = off->iv[gi]; b < off->iv[gi + 1]; b++) {
                double wb = w ? w->v[b] : 1.0;
                if (wb != 0 && lab->v[a] > lab->v[b])
                    f(ctx, a, b, wa * wb);
            }
        }
}

typedef struct ranknet_acc {
    const float *s;
    float *ds;
    double sum, wsum, scale;
} ranknet_acc;

static void ranknet_fwd(void *ctx, int64_t a, int64_t b, double w)
{
    ranknet_acc *c = ctx;
    c->sum += w * softplus((double)c->s[b] - c->s[a]);
    c->wsum += w;
}

/* d softplus(s_b - s_a) / d s_b = sigmoid(s_b - s_a) = -(d / d s_a) */
static void ranknet_bwd(void *ctx, int64_t a, int64_t b, double w)
{
    ranknet_acc *c = ctx;
    float d = (float)(c->scale * w) * sigmoidf_(c->s[b] - c->s[a]);
    c->ds[a] -= d;
    c->ds[b] += d;
}

static void ranknet_back(rec_graph *g, rec_node *n)
{
    rec_tensor *s = n->in[0];
    float *ds = rec_grad_of(g, s);
    if (rec_graph_status(g) || !ds || n->f[0] == 0.0f)
        return;
    ranknet_acc c = { s->v, ds, 0, 0, n->out->g[0] / (double)n->f[0] };
    each_pair(n->in[1], n->saved, n->in[2], ranknet_bwd, &c);
}

rec_tensor *rec_loss_ranknet(rec_graph *g, rec_tensor *scores, rec_tensor *labels,
                             rec_tensor *weight, rec_tensor *offsets)
{
    static const char fn[] = "rec_loss_ranknet";
    rec_tensor *in[2] = { scores, labels };
    static const char *const names[2] = { "scores", "labels" };
    if (bad_inputs(g, fn, 2, in, names))
        return NULL;
    int64_t n = scores->n;
    if (labels->n != n)
        return rec_graph_fail(g, REC_E_INVALID, "%s: labels has %lld elements, scores %lld", fn,
                              (long long)labels->n, (long long)n);
    if (weight && (weight->dtype != REC_F32 || weight->n != n))
        return rec_graph_fail(g, REC_E_INVALID, "%s: weight must be F32 with %lld elements "
                              "(one per score)", fn, (long long)n);
    if (!offsets || offsets->dtype != REC_I32 || offsets->n < 1)
        return rec_graph_fail(g, REC_E_INVALID, "%s: offsets must be I32 [groups + 1]", fn);
    if (offsets->iv[0] != 0 || offsets->iv[offsets->n - 1] != n)
        return rec_graph_fail(g, REC_E_INVALID, "%s: offsets must run from 0 to %lld (the "
                              "scores); they run from %d to %d", fn, (long long)n,
                              (int)offsets->iv[0], (int)offsets->iv[offsets->n - 1]);
    for (int64_t k = 1; k < offsets->n; k++)
        if (offsets->iv[k] < offsets->iv[k - 1])
            return rec_graph_fail(g, REC_E_INVALID, "%s: offsets decrease at %lld (%d < %d)", fn,
                                  (long long)k, (int)offsets->iv[k], (int)offsets->iv[k - 1]);
    ranknet_acc c = { scores->v, NULL, 0, 0, 0 };
    each_pair(labels, weight, offsets, ranknet_fwd, &c);
    rec_tensor *all[3] = { scores, labels, offsets };
    int64_t one = 1;
    rec_node *node;
    /* only scores can carry a gradient: labels, weight and offsets are data */
    rec_tensor *out = rec_op_out(g, 1, &one, ranknet_back, 3, all, &node);
    if (!out)
        return NULL;
    out->v[0] = c.wsum != 0 ? (float)(c.sum / c.wsum) : 0.0f;
    if (node) {
        node->saved = weight;
        node->f[0] = (float)c.wsum;
    }
    return out;
}

/* ---- softmax family -------------------------------------------------------- */

static int bad_temperature(rec_graph *g, const char *fn, float t)
{
    if (t > 0 && isfinite(t))
        return 0;
    rec_graph_fail(g, REC_E_INVALID, "%s: temperature = %g, want a finite value > 0", fn,
                   (double)t);
    return 1;
}

/* logq as a 1-D [n] tensor (a view of any shape with n elements). */
static rec_tensor *as_vector(rec_graph *g, rec_tensor *t, int64_t n, const char *fn,
                             const char *name, const char *what)
{
    if (t->dtype != REC_F32 || t->n != n)
        return rec_graph_fail(g, REC_E_INVALID, "%s: %s has %lld elements, want %lld (%s)", fn,
                              name, (long long)t->n, (long long)n, what);
    return t->nd == 1 ? t : rec_reshape(g, t, 1, &n);
}

/* Target column c for every one of rows rows. */
static rec_tensor *targets(rec_graph *g, int64_t rows, int diagonal)
{
    rec_tensor *t = rec_tensor_i32(g, rows);
    if (t)
        for (int64_t r = 0; r < rows; r++)
            t->iv[r] = diagonal ? (int32_t)r : 0;
    return t;
}

rec_tensor *rec_loss_infonce(rec_graph *g, rec_tensor *u, rec_tensor *v, float temperature,
                             rec_tensor *logq)
{
    static const char fn[] = "rec_loss_infonce";
    rec_tensor *in[2] = { u, v };
    static const char *const names[2] = { "U", "V" };
    if (bad_inputs(g, fn, 2, in, names) || bad_temperature(g, fn, temperature))
        return NULL;
    if (u->nd != 2 || !rec_same_shape(u, v))
        return rec_graph_fail(g, REC_E_INVALID, "%s: U and V must both be [B, d] (U has %lld "
                              "elements, V %lld)", fn, (long long)u->n, (long long)v->n);
    int64_t b = u->shape[0];
    if (b > INT32_MAX)
        return rec_graph_fail(g, REC_E_RANGE, "%s: batch of %lld rows is too large", fn,
                              (long long)b);
    rec_tensor *l = rec_scale(g, rec_matmul(g, u, v, 0, 1), 1.0f / temperature); /* [B, B] */
    if (logq) {
        rec_tensor *q = as_vector(g, logq, b, fn, "logq", "one per in-batch item");
        l = q ? rec_sub(g, l, q) : NULL;
    }
    return l ? rec_softmax_xent(g, l, targets(g, b, 1)) : NULL;
}

rec_tensor *rec_loss_sampled_softmax(rec_graph *g, rec_tensor *u, rec_tensor *vpos,
                                     rec_tensor *vneg, rec_tensor *logq_pos,
                                     rec_tensor *logq_neg, float temperature)
{
    static const char fn[] = "rec_loss_sampled_softmax";
    rec_tensor *in[3] = { u, vpos, vneg };
    static const char *const names[3] = { "U", "V_pos", "V_neg" };
    if (bad_inputs(g, fn, 3, in, names) || bad_temperature(g, fn, temperature))
        return NULL;
    if (u->nd != 2 || !rec_same_shape(u, vpos))
        return rec_graph_fail(g, REC_E_INVALID, "%s: U and V_pos must both be [B, d] (U has "
                              "%lld elements, V_pos %lld)", fn, (long long)u->n,
                              (long long)vpos->n);
    if (vneg->nd != 2 || vneg->shape[1] != u->shape[1])
        return rec_graph_fail(g, REC_E_INVALID, "%s: V_neg must be [M, d] with d = %lld", fn,
                              (long long)u->shape[1]);
    int64_t b = u->shape[0], m = vneg->shape[0], col[2] = { b, 1 };
    float it = 1.0f / temperature;
    rec_tensor *pos = rec_scale(g, rec_rowdot(g, u, vpos), it);               /* [B]    */
    rec_tensor *neg = rec_scale(g, rec_matmul(g, u, vneg, 0, 1), it);         /* [B, M] */
    if (logq_pos) {
        rec_tensor *q = as_vector(g, logq_pos, b, fn, "logq_pos", "one per row");
        pos = q ? rec_sub(g, pos, q) : NULL;
    }
    if (logq_neg) {
        rec_tensor *q = as_vector(g, logq_neg, m, fn, "logq_neg", "one per negative");
        neg = q ? rec_sub(g, neg, q) : NULL;
    }
    rec_tensor *parts[2] = { rec_reshape(g, pos, 2, col), neg };
    if (!parts[0] || !parts[1])
        return NULL;
    return rec_softmax_xent(g, rec_concat(g, 2, parts), targets(g, b, 0));
}

rec_tensor *rec_loss_mixed(rec_graph *g, float lambda, rec_tensor *contrastive, rec_tensor *bce)
{
    static const char fn[] = "rec_loss_mixed";
    rec_tensor *in[2] = { contrastive, bce };
    static const char *const names[2] = { "contrastive", "bce" };
    if (bad_inputs(g, fn, 2, in, names))
        return NULL;
    if (!(lambda >= 0.0f && lambda <= 1.0f))
        return rec_graph_fail(g, REC_E_INVALID, "%s: lambda = %g is outside [0, 1]", fn,
                              (double)lambda);
    if (contrastive->n != 1 || bce->n != 1)
        return rec_graph_fail(g, REC_E_INVALID, "%s: both losses must be scalars ([1]); they "
                              "have %lld and %lld elements", fn, (long long)contrastive->n,
                              (long long)bce->n);
    return rec_add(g, rec_scale(g, contrastive, lambda), rec_scale(g, bce, 1.0f - lambda));
}
