/* GAT's attention layer (see nn-impl.h).  Only ops: rec_linear for W,
 * rec_gather for the per-edge scores, rec_segment_softmax over each node's
 * neighbours, rec_embedding_bag weighted by the attention for the
 * aggregation (no [edges, F] intermediate), so backward comes from the
 * tape. */
#include "nn-impl.h"

#include <string.h>

/* GAT's LeakyReLU slope on the attention logits (the paper's 0.2). */
#define GAT_SLOPE 0.2f

rec_status rec_nn_gat_init(rec_nn_gat *l, rec_pstore *ps, const char *prefix, int64_t in,
                           int64_t out, int64_t heads, int concat, float dropout, rec_rng *rng)
{
    static const char fn[] = "rec_nn_gat_init";
    REC_CHECK_ARG(l && ps && prefix && rng, fn, "layer, store, prefix and rng must not be NULL");
    if (in <= 0 || out <= 0 || heads <= 0 || heads > REC_NN_GAT_MAX_HEADS)
        return rec_err(REC_E_RANGE, "%s: in = %lld, out = %lld, heads = %lld: want positive "
                       "sizes and at most %d heads", fn, (long long)in, (long long)out,
                       (long long)heads, REC_NN_GAT_MAX_HEADS);
    if (!(dropout >= 0.0f && dropout < 1.0f))
        return rec_err(REC_E_RANGE, "%s: dropout = %g is outside [0, 1)", fn, (double)dropout);
    *l = (rec_nn_gat){ .in = in, .out = out, .heads = heads, .concat = concat != 0,
                       .dropout = dropout };
    int64_t ws[2] = { heads * out, in }, as[2] = { heads, out };
    REC_TRY(rec_nn_param(ps, fn, prefix, "weight", 2, ws, 0, &l->weight));
    REC_TRY(rec_nn_param(ps, fn, prefix, "att_dst", 2, as, 0, &l->att_dst));
    REC_TRY(rec_nn_param(ps, fn, prefix, "att_src", 2, as, 0, &l->att_src));
    rec_nn_init_weight(l->weight, REC_NN_INIT_XAVIER_UNIFORM, 0, rng);
    rec_nn_init_weight(l->att_dst, REC_NN_INIT_XAVIER_UNIFORM, 0, rng);
    rec_nn_init_weight(l->att_src, REC_NN_INIT_XAVIER_UNIFORM, 0, rng);
    return REC_OK;
}

/* Per node and head a . (W x)_head: wx [N, H F], a [H, F] -> [N, H]. */
static rec_tensor *head_dots(rec_graph *g, rec_tensor *wx, rec_tensor *a, int64_t n,
                             int64_t heads, int64_t f)
{
    int64_t flat[1] = { heads * f }, rows[2] = { n * heads, f }, nh[2] = { n, heads };
    rec_tensor *p = rec_mul(g, wx, rec_reshape(g, a, 1, flat));
    return rec_reshape(g, rec_sum_rows(g, rec_reshape(g, p, 2, rows)), 2, nh);
}

rec_tensor *rec_nn_gat_forward(rec_graph *g, const rec_nn_gat *l, const rec_csr *nbr,
                               rec_tensor *x, rec_tensor **alpha)
{
    static const char fn[] = "rec_nn_gat_forward";
    if (!g) {
        rec_err(REC_E_INVALID, "%s: graph is NULL", fn);
        return NULL;
    }
    if (rec_graph_status(g))
        return NULL;
    if (!l || !nbr || !x)
        return rec_graph_fail(g, REC_E_INVALID, "%s: %s is NULL", fn,
                              !l ? "layer" : !nbr ? "nbr" : "x");
    int64_t n = nbr->rows, e = nbr->nnz, heads = l->heads, f = l->out;
    if (nbr->cols != n || e >= INT32_MAX)
        return rec_graph_fail(g, REC_E_INVALID, "%s: nbr is %lld x %lld with %lld entries, "
                              "want square with fewer than 2^31", fn, (long long)nbr->rows,
                              (long long)nbr->cols, (long long)e);
    if (x->nd != 2 || x->shape[0] != n || x->shape[1] != l->in)
        return rec_graph_fail(g, REC_E_INVALID, "%s: x must be [%lld, %lld] (one row per node)",
                              fn, (long long)n, (long long)l->in);
    for (int64_t a = 0; a < n; a++)
        if (nbr->indptr[a + 1] == nbr->indptr[a])
            return rec_graph_fail(g, REC_E_INVALID, "%s: node %lld has no neighbours (give "
                                  "every node a self-loop)", fn, (long long)a);
    /* Edge k of row a: a attends to src[k] = nbr->indices[k]; dst[k] = a. */
    rec_tensor *off = rec_tensor_i32(g, n + 1), *dst = rec_tensor_i32(g, e);
    rec_tensor *src = rec_tensor_wrap_i32(g, (int32_t *)nbr->indices, e);
    if (!src)
        return NULL;
    for (int64_t a = 0; a <= n; a++)
        off->iv[a] = (int32_t)nbr->indptr[a];
    for (int64_t a = 0; a < n; a++)
        for (int64_t k = nbr->indptr[a]; k < nbr->indptr[a + 1]; k++)
            dst->iv[k] = (int32_t)a;
    rec_tensor *wx = rec_linear(g, x, l->weight, NULL);                     /* [N, H F] */
    rec_tensor *sd = head_dots(g, wx, l->att_dst, n, heads, f);            /* [N, H]   */
    rec_tensor *ss = head_dots(g, wx, l->att_src, n, heads, f);
    rec_tensor *logit = rec_leaky_relu(g, rec_add(g, rec_gather(g, sd, dst, -1),
                                                  rec_gather(g, ss, src, -1)), GAT_SLOPE);
    rec_tensor *att = rec_segment_softmax(g, logit, off);                   /* [E, H]   */
    if (alpha)
        *alpha = att;
    rec_tensor *drop = rec_dropout(g, att, l->dropout);
    rec_tensor *outs[REC_NN_GAT_MAX_HEADS];
    int64_t flat[1] = { e };
    for (int64_t h = 0; h < heads; h++) {
        rec_tensor *w = rec_reshape(g, rec_slice_cols(g, drop, h, h + 1), 1, flat);
        outs[h] = rec_embedding_bag(g, rec_slice_cols(g, wx, h * f, (h + 1) * f), src, off, w,
                                    REC_REDUCE_SUM);                       /* [N, F]   */
    }
    if (heads == 1)
        return outs[0];
    if (l->concat)
        return rec_concat(g, (int)heads, outs);
    rec_tensor *s = outs[0];
    for (int64_t h = 1; h < heads; h++)
        s = rec_add(g, s, outs[h]);
    return rec_scale(g, s, 1.0f / (float)heads);
}
