/* Per-feature gates (nn-impl.h has the maths).  The gate of block j is
 * spread over the block's columns by a product with a constant 0/1 matrix
 * [nf, in], so blocks of any width (an embedding, one numeric column) take
 * the same path and the tape gives backward. */
#include "nn-impl.h"

#include <string.h>

rec_status rec_nn_feature_gate_init(rec_nn_feature_gate *fg, rec_pstore *ps, const char *prefix,
                                    int nf, const int64_t *widths, int64_t ctx, rec_rng *rng)
{
    static const char fn[] = "rec_nn_feature_gate_init";
    REC_CHECK_ARG(fg && widths && rng, fn, "layer, widths and rng must not be NULL");
    if (nf < 1 || nf > REC_NN_GATE_MAX)
        return rec_err(REC_E_RANGE, "%s: %d features is outside [1, %d]", fn, nf,
                       REC_NN_GATE_MAX);
    memset(fg, 0, sizeof *fg);
    for (int j = 0; j < nf; j++) {
        if (widths[j] <= 0)
            return rec_err(REC_E_RANGE, "%s: width of feature %d = %lld must be > 0", fn, j,
                           (long long)widths[j]);
        fg->width[j] = widths[j];
        fg->in += widths[j];
    }
    REC_TRY(rec_nn_linear_init(&fg->gate, ps, prefix, ctx, nf, 1, REC_NN_INIT_DEFAULT, rng));
    /* every gate 2 sigmoid(0) = 1: the layer starts as the identity */
    memset(fg->gate.weight->v, 0, (size_t)fg->gate.weight->n * sizeof(float));
    memset(fg->gate.bias->v, 0, (size_t)nf * sizeof(float));
    fg->nf = nf;
    fg->ctx = ctx;
    return REC_OK;
}

rec_tensor *rec_nn_feature_gate_forward(rec_graph *g, const rec_nn_feature_gate *fg,
                                        rec_tensor *x, rec_tensor *c, rec_tensor **gates)
{
    static const char fn[] = "rec_nn_feature_gate_forward";
    if (!g) {
        rec_err(REC_E_INVALID, "%s: graph is NULL", fn);
        return NULL;
    }
    if (rec_graph_status(g))
        return NULL;
    if (!fg || fg->nf < 1)
        return rec_graph_fail(g, REC_E_INVALID, "%s: layer is NULL or not initialised", fn);
    if (!x || !c || x->nd != 2 || c->nd != 2 || x->shape[1] != fg->in ||
        c->shape[1] != fg->ctx || c->shape[0] != x->shape[0])
        return rec_graph_fail(g, REC_E_INVALID, "%s: x must be [B, %lld] and c [B, %lld]", fn,
                              (long long)fg->in, (long long)fg->ctx);
    int64_t shp[2] = { fg->nf, fg->in };
    rec_tensor *spread = rec_tensor_zeros(g, REC_F32, 2, shp);
    if (!spread)
        return NULL;
    int64_t at = 0;
    for (int j = 0; j < fg->nf; j++)
        for (int64_t k = 0; k < fg->width[j]; k++)
            spread->v[j * fg->in + at++] = 1.0f;
    rec_tensor *a = rec_scale(g, rec_sigmoid(g, rec_nn_linear_forward(g, &fg->gate, c)), 2.0f);
    if (gates)
        *gates = a;
    return rec_mul(g, x, rec_matmul(g, a, spread, 0, 0));
}
