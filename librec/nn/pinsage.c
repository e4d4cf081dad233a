/* PinSage's convolution (see nn-impl.h).  Only ops: rec_linear, rec_relu,
 * rec_embedding_bag weighted by the walks' importance, rec_concat and
 * rec_l2_normalize, so backward comes from the tape. */
#include "nn-impl.h"

#include <stdio.h>

/* rec_l2_normalize's floor on the norm: a zero row stays zero. */
#define PINSAGE_NORM_EPS 1e-12f

rec_status rec_nn_pinsage_init(rec_nn_pinsage *l, rec_pstore *ps, const char *prefix,
                               int64_t in, int64_t hidden, int64_t out, rec_rng *rng)
{
    static const char fn[] = "rec_nn_pinsage_init";
    REC_CHECK_ARG(l && ps && prefix && rng, fn, "layer, store, prefix and rng must not be NULL");
    if (in <= 0 || hidden <= 0 || out <= 0)
        return rec_err(REC_E_RANGE, "%s: in = %lld, hidden = %lld, out = %lld must be > 0", fn,
                       (long long)in, (long long)hidden, (long long)out);
    char name[REC_NN_NAME_MAX];
    int len = snprintf(name, sizeof name, "%s.q", prefix);
    if (len < 0 || (size_t)len >= sizeof name)
        return rec_err(REC_E_INVALID, "%s: prefix '%s' is too long", fn, prefix);
    *l = (rec_nn_pinsage){ .in = in, .hidden = hidden, .out = out };
    REC_TRY(rec_nn_linear_init(&l->q, ps, name, in, hidden, 1, REC_NN_INIT_XAVIER_UNIFORM, rng));
    snprintf(name, sizeof name, "%s.w", prefix);
    return rec_nn_linear_init(&l->w, ps, name, in + hidden, out, 1, REC_NN_INIT_XAVIER_UNIFORM,
                              rng);
}

rec_tensor *rec_nn_pinsage_forward(rec_graph *g, const rec_nn_pinsage *l, rec_tensor *h,
                                   rec_tensor *self, rec_tensor *nbrs, rec_tensor *offsets,
                                   rec_tensor *weights)
{
    static const char fn[] = "rec_nn_pinsage_forward";
    if (!g) {
        rec_err(REC_E_INVALID, "%s: graph is NULL", fn);
        return NULL;
    }
    if (rec_graph_status(g))
        return NULL;
    if (!l || !h || !self || !nbrs || !offsets || !weights)
        return rec_graph_fail(g, REC_E_INVALID, "%s: %s is NULL", fn,
                              !l ? "layer" : !h ? "h" : !self ? "self" : !nbrs ? "nbrs"
                              : !offsets ? "offsets" : "weights");
    if (h->nd != 2 || h->shape[1] != l->in)
        return rec_graph_fail(g, REC_E_INVALID, "%s: h must be [rows, %lld]", fn,
                              (long long)l->in);
    if (self->dtype != REC_I32 || offsets->dtype != REC_I32 || offsets->n != self->n + 1)
        return rec_graph_fail(g, REC_E_INVALID, "%s: offsets must be I32 [%lld] (one bag per "
                              "entry of self, plus one)", fn, (long long)self->n + 1);
    /* The transform once per row of h, not once per neighbour entry: the
     * bags gather from it (a row is in many neighbourhoods). */
    rec_tensor *m = rec_relu(g, rec_nn_linear_forward(g, &l->q, h));           /* [R, hid] */
    rec_tensor *pooled = rec_embedding_bag(g, m, nbrs, offsets, weights, REC_REDUCE_SUM);
    rec_tensor *cat[2] = { rec_gather(g, h, self, -1), pooled };                /* [B, ..] */
    rec_tensor *z = rec_relu(g, rec_nn_linear_forward(g, &l->w, rec_concat(g, 2, cat)));
    return rec_l2_normalize(g, z, PINSAGE_NORM_EPS);
}
