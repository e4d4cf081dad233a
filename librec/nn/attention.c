/* Multi-head self-attention with nn.MultiheadAttention's semantics:
 *   [q k v] = x W_in^T + b_in          x [B, T, d], W_in [3d, d]
 *   per head h (d split into H heads of dh = d / H):
 *   A = softmax(q_h k_h^T / sqrt(dh), causal, key padding);  A = Dropout(A)
 *   out = concat_h(A v_h) W_out^T + b_out
 * The heads are laid out [B*H, T, dh] by a copy op, so scores and context
 * are one rec_bmm each over all batch rows and heads. */
#include "nn-impl.h"
#include "core/ops_dense-impl.h"

#include <math.h>
#include <string.h>

/* qkv [B*T, 3d] -> block `which` as [B*H, T, dh], times scale; i[] = B, T, H, which. */
static void heads_copy(const float *src, float *dst, int64_t B, int64_t T, int64_t H,
                       int64_t dh, int64_t which, float scale, int back)
{
    int64_t d = H * dh, ld = 3 * d;
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t t = 0; t < T; t++) {
                float *q = (float *)src + (b * T + t) * ld + which * d + h * dh;
                float *o = dst + ((b * H + h) * T + t) * dh;
                if (back)   /* src is dqkv (accumulated), dst is dout */
                    for (int64_t e = 0; e < dh; e++)
                        q[e] += o[e] * scale;
                else
                    for (int64_t e = 0; e < dh; e++)
                        o[e] = q[e] * scale;
            }
}

static void split_back(rec_graph *g, rec_node *n)
{
    float *dq = rec_grad_of(g, n->in[0]);
    if (!dq)
        return;
    int64_t B = n->i[0], T = n->i[1], H = n->i[2];
    heads_copy(dq, n->out->g, B, T, H, n->out->shape[2], n->i[3], n->f[0], 1);
}

static rec_tensor *split_heads(rec_graph *g, rec_tensor *qkv, int64_t B, int64_t T, int64_t H,
                               int64_t which, float scale)
{
    if (!qkv)
        return NULL;
    int64_t dh = rec_cols(qkv) / 3 / H, s[3] = { B * H, T, dh };
    rec_node *node;
    rec_tensor *out = rec_op_out(g, 3, s, split_back, 1, &qkv, &node);
    if (!out)
        return NULL;
    heads_copy(qkv->v, out->v, B, T, H, dh, which, scale, 0);
    if (node) {
        node->i[0] = B;
        node->i[1] = T;
        node->i[2] = H;
        node->i[3] = which;
        node->f[0] = scale;
    }
    return out;
}

/* ctx [B*H, T, dh] <-> [B, T, H*dh] */
static void merge_copy(float *heads, float *merged, int64_t B, int64_t T, int64_t H, int64_t dh,
                       int back)
{
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t t = 0; t < T; t++) {
                float *c = heads + ((b * H + h) * T + t) * dh;
                float *m = merged + (b * T + t) * H * dh + h * dh;
                if (back)   /* heads is dctx (accumulated), merged is dout */
                    for (int64_t e = 0; e < dh; e++)
                        c[e] += m[e];
                else
                    memcpy(m, c, (size_t)dh * sizeof(float));
            }
}

static void merge_back(rec_graph *g, rec_node *n)
{
    float *dc = rec_grad_of(g, n->in[0]);
    if (!dc)
        return;
    merge_copy(dc, n->out->g, n->i[0], n->in[0]->shape[1], n->i[1], n->in[0]->shape[2], 1);
}

static rec_tensor *merge_heads(rec_graph *g, rec_tensor *ctx, int64_t B, int64_t H)
{
    if (!ctx)
        return NULL;
    int64_t T = ctx->shape[1], dh = ctx->shape[2], s[3] = { B, T, H * dh };
    rec_node *node;
    rec_tensor *out = rec_op_out(g, 3, s, merge_back, 1, &ctx, &node);
    if (!out)
        return NULL;
    merge_copy(ctx->v, out->v, B, T, H, dh, 0);
    if (node) {
        node->i[0] = B;
        node->i[1] = H;
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
    rec_tensor *q = split_heads(g, qkv, B, T, H, 0, (float)(1.0 / sqrt((double)dh)));
    rec_tensor *k = split_heads(g, qkv, B, T, H, 1, 1.0f);
    rec_tensor *v = split_heads(g, qkv, B, T, H, 2, 1.0f);
    rec_tensor *att = rec_softmax(g, rec_bmm(g, q, k, 0, 1), causal, mask);
    att = rec_dropout(g, att, a->dropout);
    rec_tensor *ctx = merge_heads(g, rec_bmm(g, att, v, 0, 0), B, H);
    return rec_linear(g, ctx, a->out_w, a->out_b);
}
