/* Attention pooling with learned queries (nn-impl.h has the maths): the
 * multi-interest user encoder's heads.  Composed from ops, so the tape
 * gives backward; the padding is the softmax's leading-columns mask, so a
 * padded position gets weight 0 and no gradient. */
#include "nn-impl.h"

#include <math.h>
#include <string.h>

rec_status rec_nn_attn_pool_init(rec_nn_attn_pool *a, rec_pstore *ps, const char *prefix,
                                 int heads, int64_t dim, rec_rng *rng)
{
    static const char fn[] = "rec_nn_attn_pool_init";
    REC_CHECK_ARG(a && prefix && rng, fn, "layer, prefix and rng must not be NULL");
    if (heads < 1 || heads > REC_NN_ATTN_POOL_MAX)
        return rec_err(REC_E_RANGE, "%s: %d heads is outside [1, %d]", fn, heads,
                       REC_NN_ATTN_POOL_MAX);
    if (dim <= 0)
        return rec_err(REC_E_RANGE, "%s: dim = %lld must be > 0", fn, (long long)dim);
    memset(a, 0, sizeof *a);
    int64_t shp[2] = { heads, dim };
    REC_TRY(rec_nn_param(ps, fn, prefix, "query", 2, shp, 0, &a->query));
    /* distinct random queries: equal ones would get equal gradients and
     * the heads would stay one */
    rec_init_normal(a->query, rng, 0.0f, 1.0f);
    a->heads = heads;
    a->dim = dim;
    return REC_OK;
}

rec_tensor *rec_nn_attn_pool_forward(rec_graph *g, const rec_nn_attn_pool *a, rec_tensor *x,
                                     rec_tensor *lengths, rec_tensor **weights)
{
    static const char fn[] = "rec_nn_attn_pool_forward";
    if (!g) {
        rec_err(REC_E_INVALID, "%s: graph is NULL", fn);
        return NULL;
    }
    if (rec_graph_status(g))
        return NULL;
    if (!a || a->heads < 1)
        return rec_graph_fail(g, REC_E_INVALID, "%s: layer is NULL or not initialised", fn);
    if (!x || x->nd != 3 || x->shape[2] != a->dim)
        return rec_graph_fail(g, REC_E_INVALID, "%s: x must be [B, T, %lld]", fn,
                              (long long)a->dim);
    int64_t B = x->shape[0], T = x->shape[1], K = a->heads, d = a->dim;
    if (!lengths || lengths->dtype != REC_I32 || lengths->n != B)
        return rec_graph_fail(g, REC_E_INVALID, "%s: lengths must be I32 [B] (B = %lld)", fn,
                              (long long)B);
    rec_tensor *mask = rec_tensor_i32(g, B * K);
    if (!mask)
        return NULL;
    for (int64_t b = 0; b < B; b++) {
        int32_t n = lengths->iv[b];
        if (n < 1 || n > T)
            return rec_graph_fail(g, REC_E_INVALID, "%s: lengths[%lld] = %d is outside [1, %lld]",
                                  fn, (long long)b, n, (long long)T);
        for (int64_t h = 0; h < K; h++)
            mask->iv[b * K + h] = n;
    }
    int64_t flat[2] = { B * T, d }, btk[3] = { B, T, K }, rows[2] = { B * K, T },
            bkt[3] = { B, K, T };
    /* [B*T, d] x [K, d]^T -> [B, T, K] -> [B, K, T]: one score row per head */
    rec_tensor *s = rec_matmul(g, rec_reshape(g, x, 2, flat), a->query, 0, 1);
    s = rec_transpose(g, rec_reshape(g, s, 3, btk));
    s = rec_scale(g, rec_reshape(g, s, 2, rows), (float)(1.0 / sqrt((double)d)));
    rec_tensor *w = rec_reshape(g, rec_softmax(g, s, 0, mask), 3, bkt);
    if (weights)
        *weights = w;
    return rec_bmm(g, w, x, 0, 0);
}
