/* EmbeddingBag: sum, mean or max over bags of looked-up rows, one fused op
 * (no [n, d] intermediate).  Padding and hashing as Embedding. */
#include "nn-impl.h"

rec_status rec_nn_embedding_bag_init(rec_nn_embedding_bag *eb, rec_pstore *ps,
                                     const char *prefix, int64_t num, int64_t dim,
                                     rec_reduce mode, const rec_nn_embedding_opts *opts,
                                     rec_rng *rng)
{
    static const char fn[] = "rec_nn_embedding_bag_init";
    REC_CHECK_ARG(eb, fn, "layer must not be NULL");
    if (mode != REC_REDUCE_SUM && mode != REC_REDUCE_MEAN && mode != REC_REDUCE_MAX)
        return rec_err(REC_E_INVALID, "%s: unknown mode %d (want sum, mean or max)", fn,
                       (int)mode);
    if (opts && opts->max_norm != 0.0f)
        return rec_err(REC_E_INVALID, "%s: max_norm is not supported for bags", fn);
    REC_TRY(rec_nn_embedding_init(&eb->emb, ps, prefix, num, dim, opts, rng));
    eb->mode = mode;
    return REC_OK;
}

rec_tensor *rec_nn_embedding_bag_forward(rec_graph *g, rec_nn_embedding_bag *eb,
                                         rec_tensor *ids, rec_tensor *offsets,
                                         rec_tensor *weights)
{
    static const char fn[] = "rec_nn_embedding_bag_forward";
    if (!g) {
        rec_err(REC_E_INVALID, "%s: graph is NULL", fn);
        return NULL;
    }
    if (rec_graph_status(g))
        return NULL;
    if (!eb || !eb->emb.weight)
        return rec_graph_fail(g, REC_E_INVALID, "%s: layer is NULL or not initialised", fn);
    if (!ids || ids->dtype != REC_I32 || ids->nd != 1)
        return rec_graph_fail(g, REC_E_INVALID, "%s: ids must be a 1-d I32 tensor", fn);
    const rec_nn_embedding *e = &eb->emb;
    rec_tensor *rows = ids;
    if (e->hash_buckets > 0 || e->padding_idx >= 0) {
        rows = rec_tensor_i32(g, ids->n);
        if (!rows)
            return NULL;
    }
    for (int64_t i = 0; i < ids->n; i++) {
        if (e->hash_buckets == 0 && ids->iv[i] >= e->num)
            return rec_graph_fail(g, REC_E_RANGE, "%s: ids[%lld] = %d is out of range for a "
                                  "table of %lld rows", fn, (long long)i, (int)ids->iv[i],
                                  (long long)e->num);
        if (rows != ids)
            rows->iv[i] = rec_nn_embedding_row(e, ids->iv[i]);
    }
    return rec_embedding_bag(g, e->weight, rows, offsets, weights, eb->mode);
}
