/* Learned positional embedding: one table row per position. */
#include "nn-impl.h"

rec_status rec_nn_position_init(rec_nn_position *p, rec_pstore *ps, const char *prefix,
                                int64_t maxlen, int64_t dim, int padding, rec_nn_init init,
                                rec_rng *rng)
{
    static const char fn[] = "rec_nn_position_init";
    REC_CHECK_ARG(p && rng, fn, "layer and rng must not be NULL");
    if (maxlen <= 0 || maxlen >= INT32_MAX || dim <= 0)
        return rec_err(REC_E_RANGE, "%s: maxlen = %lld and dim = %lld must be > 0", fn,
                       (long long)maxlen, (long long)dim);
    int64_t s[2] = { maxlen + (padding ? 1 : 0), dim };
    rec_tensor *w;
    REC_TRY(rec_nn_param(ps, fn, prefix, "weight", 2, s, 0, &w));
    if (init == REC_NN_INIT_DEFAULT)
        rec_init_normal(w, rng, 0.0f, 1.0f); /* nn.Embedding's N(0, 1) */
    else
        rec_nn_init_weight(w, init, 1.0f, rng);
    if (padding)
        for (int64_t k = 0; k < dim; k++)
            w->v[k] = 0.0f;
    *p = (rec_nn_position){ w, maxlen, dim, !!padding };
    return REC_OK;
}

rec_tensor *rec_nn_position_forward(rec_graph *g, const rec_nn_position *p, int64_t batch,
                                    int64_t len, rec_tensor *keep)
{
    static const char fn[] = "rec_nn_position_forward";
    if (!g) {
        rec_err(REC_E_INVALID, "%s: graph is NULL", fn);
        return NULL;
    }
    if (rec_graph_status(g))
        return NULL;
    if (!p || !p->weight)
        return rec_graph_fail(g, REC_E_INVALID, "%s: layer is NULL or not initialised", fn);
    if (batch < 1 || len < 1 || len > p->maxlen)
        return rec_graph_fail(g, REC_E_RANGE, "%s: batch = %lld and len = %lld must be >= 1, "
                              "len at most maxlen = %lld", fn, (long long)batch, (long long)len,
                              (long long)p->maxlen);
    if (keep && (keep->dtype != REC_I32 || keep->n != batch * len))
        return rec_graph_fail(g, REC_E_INVALID, "%s: keep must be I32 [%lld, %lld]", fn,
                              (long long)batch, (long long)len);
    int64_t s[2] = { batch, len };
    rec_tensor *idx = rec_tensor_new(g, REC_I32, 2, s);
    if (!idx)
        return NULL;
    int32_t base = p->padding ? 1 : 0;
    for (int64_t i = 0; i < batch * len; i++)
        idx->iv[i] = keep && !keep->iv[i] ? -1 : (int32_t)(i % len) + base;
    return rec_gather(g, p->weight, idx, p->padding ? 0 : -1);
}
