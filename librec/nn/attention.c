/* Multi-head self-attention with nn.MultiheadAttention's semantics:
 *   [q k v] = x W_in^T + b_in          x [B, T, d], W_in [3d, d]
 *   per head h (d split into H heads of dh = d / H):
 *   A = softmax(q_h k_h^T / sqrt(dh), causal, key padding);  A = Dropout(A)
 *   out = concat_h(A v_h) W_out^T + b_out
 * Scores and context are one op each over all batch rows and heads. */
#include "nn-impl.h"
#include "core/ops_dense-impl.h"

#include <math.h>
#include <string.h>

/* The heads are read and written in place in qkv [B*T, 3d] and ctx [B*T, d]
 * by strided products (leading dims 3d and d), not copied to [B*H, T, dh]:
 * at SASRec's d = 50 the copies and their backward took as long as the
 * products.  Slice (b, h) of q starts at qkv + b*T*3d + h*dh, k d floats
 * later, v 2d later. */
typedef struct heads_job {
    int64_t T, H, dh;
    const float *qkv, *att;  /* qkv [B*T, 3d]; att [B*H, T, T] (context only) */
    float *out;              /* scores [B*H, T, T] or ctx [B*T, d] */
    const float *dout;       /* backward: the output's gradient */
    float *dqkv, *datt;      /* backward: dqkv accumulates, datt as beta_att says */
    float scale, beta_att;
} heads_job;

static const float *slice(const heads_job *j, const float *base, int64_t bh, int which)
{
    int64_t b = bh / j->H, h = bh % j->H, d = j->H * j->dh;
    return base + b * j->T * 3 * d + which * d + h * j->dh;
}

/* scores_bh [T, T] = scale q_bh k_bh^T */
static void scores_fwd(void *arg, int64_t s, int64_t e, int chunk)
{
    (void)chunk;
    const heads_job *j = arg;
    int T = (int)j->T, ld = (int)(3 * j->H * j->dh);
    for (int64_t bh = s; bh < e; bh++)
        rec_sgemm(0, 1, T, T, (int)j->dh, j->scale, slice(j, j->qkv, bh, 0), ld,
                  slice(j, j->qkv, bh, 1), ld, 0.0f, j->out + bh * T * T, T);
}

/* dq += scale dS k, dk += scale dS^T q */
static void scores_bwd(void *arg, int64_t s, int64_t e, int chunk)
{
    (void)chunk;
    const heads_job *j = arg;
    int T = (int)j->T, dh = (int)j->dh, ld = (int)(3 * j->H * j->dh);
    for (int64_t bh = s; bh < e; bh++) {
        const float *ds = j->dout + bh * T * T;
        rec_sgemm(0, 0, T, dh, T, j->scale, ds, T, slice(j, j->qkv, bh, 1), ld, 1.0f,
                  (float *)slice(j, j->dqkv, bh, 0), ld);
        rec_sgemm(1, 0, T, dh, T, j->scale, ds, T, slice(j, j->qkv, bh, 0), ld, 1.0f,
                  (float *)slice(j, j->dqkv, bh, 1), ld);
    }
}

/* ctx_bh [T, dh] (rows of ctx, leading dim d) = att_bh v_bh */
static float *ctx_slice(const heads_job *j, float *base, int64_t bh)
{
    int64_t b = bh / j->H, h = bh % j->H;
    return base + b * j->T * j->H * j->dh + h * j->dh;
}

static void ctx_fwd(void *arg, int64_t s, int64_t e, int chunk)
{
    (void)chunk;
    const heads_job *j = arg;
    int T = (int)j->T, dh = (int)j->dh, ld = (int)(3 * j->H * j->dh);
    for (int64_t bh = s; bh < e; bh++)
        rec_sgemm(0, 0, T, dh, T, 1.0f, j->att + bh * T * T, T, slice(j, j->qkv, bh, 2), ld,
                  0.0f, ctx_slice(j, j->out, bh), (int)(j->H * dh));
}

/* datt = dctx v^T (as beta_att says), dv += att^T dctx */
static void ctx_bwd(void *arg, int64_t s, int64_t e, int chunk)
{
    (void)chunk;
    const heads_job *j = arg;
    int T = (int)j->T, dh = (int)j->dh, ld = (int)(3 * j->H * j->dh), d = (int)(j->H * dh);
    for (int64_t bh = s; bh < e; bh++) {
        const float *dc = ctx_slice(j, (float *)j->dout, bh);
        if (j->datt)
            rec_sgemm(0, 1, T, T, dh, 1.0f, dc, d, slice(j, j->qkv, bh, 2), ld, j->beta_att,
                      j->datt + bh * T * T, T);
        if (j->dqkv)
            rec_sgemm(1, 0, T, dh, T, 1.0f, j->att + bh * T * T, T, dc, d, 1.0f,
                      (float *)slice(j, j->dqkv, bh, 2), ld);
    }
}

/* One pool task per ~256K flops, as rec_bmm splits its slices. */
static void heads_run(heads_job *j, int64_t BH, rec_range_fn fn)
{
    double flops = 2.0 * j->T * j->T * j->dh;
    rec_parallel_for(BH, (int64_t)(262144.0 / (flops > 0 ? flops : 1)) + 1, fn, j);
}

static void scores_back(rec_graph *g, rec_node *n)
{
    float *dqkv = rec_grad_of(g, n->in[0]);
    if (!dqkv)
        return;
    heads_job j = { n->out->shape[1], n->i[0], n->i[1], n->in[0]->v, NULL, NULL, n->out->g,
                    dqkv, NULL, n->f[0], 0.0f };
    heads_run(&j, n->out->shape[0], scores_bwd);
}

/* [B*H, T, T] = scale q_h k_h^T over qkv [B, T, 3d] */
static rec_tensor *heads_scores(rec_graph *g, rec_tensor *qkv, int64_t H, float scale)
{
    if (!qkv)
        return NULL;
    int64_t B = qkv->shape[0], T = qkv->shape[1], dh = qkv->shape[2] / 3 / H;
    int64_t s[3] = { B * H, T, T };
    rec_node *node;
    rec_tensor *out = rec_op_out(g, 3, s, scores_back, 1, &qkv, &node);
    if (!out)
        return NULL;
    heads_job j = { T, H, dh, qkv->v, NULL, out->v, NULL, NULL, NULL, scale, 0.0f };
    heads_run(&j, B * H, scores_fwd);
    if (node) {
        node->i[0] = H;
        node->i[1] = dh;
        node->f[0] = scale;
    }
    return out;
}

static void ctx_back(rec_graph *g, rec_node *n)
{
    rec_tensor *att = n->in[0], *qkv = n->in[1];
    heads_job j = { att->shape[1], n->i[0], n->i[1], qkv->v, att->v, NULL, n->out->g, NULL,
                    NULL, 1.0f, 1.0f };
    j.datt = rec_grad_full(g, att, &j.beta_att);
    j.dqkv = rec_grad_of(g, qkv);
    if (rec_graph_status(g))
        return;
    heads_run(&j, att->shape[0], ctx_bwd);
}

/* ctx [B, T, d] = concat_h att_h v_h over att [B*H, T, T], qkv [B, T, 3d] */
static rec_tensor *heads_context(rec_graph *g, rec_tensor *att, rec_tensor *qkv, int64_t H)
{
    if (!att || !qkv)
        return NULL;
    int64_t B = qkv->shape[0], T = qkv->shape[1], d = qkv->shape[2] / 3, s[3] = { B, T, d };
    rec_tensor *in[2] = { att, qkv };
    rec_node *node;
    rec_tensor *out = rec_op_out(g, 3, s, ctx_back, 2, in, &node);
    if (!out)
        return NULL;
    heads_job j = { T, H, d / H, qkv->v, att->v, out->v, NULL, NULL, NULL, 1.0f, 0.0f };
    heads_run(&j, B * H, ctx_fwd);
    if (node) {
        node->i[0] = H;
        node->i[1] = d / H;
    }
    return out;
}

rec_status rec_nn_mha_init(rec_nn_mha *a, rec_pstore *ps, const char *prefix, int64_t dim,
                           int64_t heads, float dropout, rec_nn_init init, rec_rng *rng)
{
    static const char fn[] = "rec_nn_mha_init";
    REC_CHECK_ARG(a && rng, fn, "layer and rng must not be NULL");
    if (dim <= 0 || heads <= 0 || dim % heads)
        return rec_err(REC_E_INVALID, "%s: dim = %lld must be a positive multiple of heads = "
                       "%lld", fn, (long long)dim, (long long)heads);
    if (!(dropout >= 0.0f && dropout < 1.0f))
        return rec_err(REC_E_RANGE, "%s: dropout = %g is outside [0, 1)", fn, (double)dropout);
    int64_t sin[2] = { 3 * dim, dim }, sb = 3 * dim, sout[2] = { dim, dim };
    rec_tensor *iw, *ib, *ow, *ob;
    REC_TRY(rec_nn_param(ps, fn, prefix, "in_proj_weight", 2, sin, 0, &iw));
    REC_TRY(rec_nn_param(ps, fn, prefix, "in_proj_bias", 1, &sb, 0, &ib));
    REC_TRY(rec_nn_param(ps, fn, prefix, "out_proj.weight", 2, sout, 0, &ow));
    REC_TRY(rec_nn_param(ps, fn, prefix, "out_proj.bias", 1, &dim, 0, &ob));
    /* PyTorch: xavier-uniform over the whole [3d, d] in_proj, out_proj as a Linear */
    rec_nn_init_weight(iw, init == REC_NN_INIT_DEFAULT ? REC_NN_INIT_XAVIER_UNIFORM : init, 1.0f,
                       rng);
    rec_nn_init_weight(ow, init, 1.0f, rng);
    rec_init_const(ib, 0.0f);
    rec_init_const(ob, 0.0f);
    *a = (rec_nn_mha){ iw, ib, ow, ob, dim, heads, dropout };
    return REC_OK;
}

rec_tensor *rec_nn_mha_forward(rec_graph *g, const rec_nn_mha *a, rec_tensor *x, int causal,
                               rec_tensor *lengths)
{
    static const char fn[] = "rec_nn_mha_forward";
    if (!g) {
        rec_err(REC_E_INVALID, "%s: graph is NULL", fn);
        return NULL;
    }
    if (!a || !a->in_w)
        return rec_graph_fail(g, REC_E_INVALID, "%s: layer is NULL or not initialised", fn);
    if (!rec_op_input(g, fn, "x", x))
        return NULL;
    char sx[REC_SHAPE_STR];
    if (x->nd != 3 || x->shape[2] != a->dim || x->shape[0] < 1 || x->shape[1] < 1)
        return rec_graph_fail(g, REC_E_INVALID, "%s: x %s must be [B, T, %lld]", fn,
                              rec_shape_str(x, sx), (long long)a->dim);
    int64_t B = x->shape[0], T = x->shape[1], H = a->heads, dh = a->dim / H;
    rec_tensor *mask = NULL;
    if (lengths) {
        if (lengths->dtype != REC_I32 || lengths->n != B)
            return rec_graph_fail(g, REC_E_INVALID, "%s: lengths must be I32 [%lld]", fn,
                                  (long long)B);
        mask = rec_tensor_i32(g, B * H * T);
        if (!mask)
            return NULL;
        for (int64_t b = 0; b < B; b++) {
            if (lengths->iv[b] < 0 || lengths->iv[b] > T)
                return rec_graph_fail(g, REC_E_RANGE, "%s: lengths[%lld] = %d is outside "
                                      "[0, %lld]", fn, (long long)b, lengths->iv[b],
                                      (long long)T);
            for (int64_t r = 0; r < H * T; r++)
                mask->iv[b * H * T + r] = lengths->iv[b];
        }
    }
    rec_tensor *qkv = rec_linear(g, x, a->in_w, a->in_b);
    rec_tensor *s = heads_scores(g, qkv, H, (float)(1.0 / sqrt((double)dh)));
    rec_tensor *att = rec_dropout(g, rec_softmax(g, s, causal, mask), a->dropout);
    rec_tensor *ctx = heads_context(g, att, qkv, H);
    return rec_linear(g, ctx, a->out_w, a->out_b);
}
