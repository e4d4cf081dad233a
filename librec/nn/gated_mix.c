/* Gated mix of a long- and a short-term user vector:
 * gate = sigmoid(W [u_long; u_short] + b), out = u_short + gate * (u_long - u_short). */
#include "nn-impl.h"

rec_status rec_nn_gated_mix_init(rec_nn_gated_mix *m, rec_pstore *ps, const char *prefix,
                                 int64_t dim, rec_nn_init init, rec_rng *rng)
{
    static const char fn[] = "rec_nn_gated_mix_init";
    REC_CHECK_ARG(m, fn, "layer must not be NULL");
    if (dim <= 0)
        return rec_err(REC_E_RANGE, "%s: dim = %lld must be > 0", fn, (long long)dim);
    REC_TRY(rec_nn_linear_init(&m->gate, ps, prefix, 2 * dim, dim, 1, init, rng));
    m->dim = dim;
    return REC_OK;
}

rec_tensor *rec_nn_gated_mix_forward(rec_graph *g, const rec_nn_gated_mix *m,
                                     rec_tensor *u_long, rec_tensor *u_short)
{
    static const char fn[] = "rec_nn_gated_mix_forward";
    if (!g) {
        rec_err(REC_E_INVALID, "%s: graph is NULL", fn);
        return NULL;
    }
    if (rec_graph_status(g))
        return NULL;
    if (!m || !m->gate.weight)
        return rec_graph_fail(g, REC_E_INVALID, "%s: layer is NULL or not initialised", fn);
    if (!u_long || !u_short)
        return rec_graph_fail(g, REC_E_INVALID, "%s: u_long and u_short must not be NULL", fn);
    if (rec_cols(u_long) != m->dim || !rec_same_shape(u_long, u_short))
        return rec_graph_fail(g, REC_E_INVALID, "%s: u_long and u_short must both be [B, %lld]",
                              fn, (long long)m->dim);
    rec_tensor *both[2] = { u_long, u_short };
    rec_tensor *gate = rec_sigmoid(g, rec_nn_linear_forward(g, &m->gate, rec_concat(g, 2, both)));
    return rec_add(g, u_short, rec_mul(g, gate, rec_sub(g, u_long, u_short)));
}
