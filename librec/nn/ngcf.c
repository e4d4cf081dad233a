/* NGCF's propagation with the concatenated readout (see nn-impl.h).  Only
 * ops: the tape gives backward, the transposed adjacency rec_spmm caches on
 * adj serves every layer and step. */
#include "nn-impl.h"

#include <stdio.h>

rec_status rec_nn_ngcf_init(rec_nn_ngcf *n, rec_pstore *ps, const char *prefix, int64_t dim,
                            int64_t width, int layers, float dropout, rec_rng *rng)
{
    static const char fn[] = "rec_nn_ngcf_init";
    REC_CHECK_ARG(n && prefix && rng, fn, "layer, prefix and rng must not be NULL");
    if (layers < 0 || layers > REC_NN_NGCF_MAX_LAYERS)
        return rec_err(REC_E_RANGE, "%s: layers = %d, want 0 .. %d", fn, layers,
                       REC_NN_NGCF_MAX_LAYERS);
    if (!(dropout >= 0.0f && dropout < 1.0f))
        return rec_err(REC_E_RANGE, "%s: dropout = %g is outside [0, 1)", fn, (double)dropout);
    if (dim <= 0 || width <= 0)
        return rec_err(REC_E_RANGE, "%s: %s = %lld must be > 0", fn, dim <= 0 ? "dim" : "width",
                       (long long)(dim <= 0 ? dim : width));
    *n = (rec_nn_ngcf){ .layers = layers, .dim = dim, .width = width, .dropout = dropout };
    for (int k = 0; k < layers; k++) {
        char name[REC_NN_NAME_MAX];
        int len = snprintf(name, sizeof name, "%s.%d.w1", prefix, k);
        if (len < 0 || (size_t)len >= sizeof name)
            return rec_err(REC_E_INVALID, "%s: prefix '%s' is too long", fn, prefix);
        int64_t in = k ? width : dim;
        REC_TRY(rec_nn_linear_init(&n->w1[k], ps, name, in, width, 1,
                                   REC_NN_INIT_XAVIER_UNIFORM, rng));
        snprintf(name, sizeof name, "%s.%d.w2", prefix, k);
        REC_TRY(rec_nn_linear_init(&n->w2[k], ps, name, in, width, 1,
                                   REC_NN_INIT_XAVIER_UNIFORM, rng));
    }
    return REC_OK;
}

/* NGCF's LeakyReLU slope (tf.nn.leaky_relu's default in the authors' code). */
#define NGCF_SLOPE 0.2f
/* rec_l2_normalize's floor on the norm: a zero row stays zero. */
#define NGCF_NORM_EPS 1e-12f

rec_tensor *rec_nn_ngcf_forward(rec_graph *g, const rec_nn_ngcf *n, rec_csr *adj,
                                rec_tensor *e0)
{
    static const char fn[] = "rec_nn_ngcf_forward";
    if (!g) {
        rec_err(REC_E_INVALID, "%s: graph is NULL", fn);
        return NULL;
    }
    if (rec_graph_status(g))
        return NULL;
    if (!n || !adj || !e0)
        return rec_graph_fail(g, REC_E_INVALID, "%s: %s is NULL", fn,
                              !n ? "layer" : !adj ? "adj" : "e0");
    if (adj->rows != adj->cols)
        return rec_graph_fail(g, REC_E_INVALID, "%s: the adjacency is %lld x %lld, want square",
                              fn, (long long)adj->rows, (long long)adj->cols);
    if (e0->nd != 2 || e0->shape[0] != adj->rows || e0->shape[1] != n->dim)
        return rec_graph_fail(g, REC_E_INVALID, "%s: e0 must be [%lld, %lld] (one row per node)",
                              fn, (long long)adj->rows, (long long)n->dim);
    rec_tensor *parts[REC_NN_NGCF_MAX_LAYERS + 1] = { e0 };
    rec_tensor *e = e0, *keep = NULL;
    float p = n->node_dropout;
    if (n->layers && p > 0 && rec_graph_training(g)) {
        if (!(p < 1.0f))
            return rec_graph_fail(g, REC_E_RANGE, "%s: node_dropout = %g is outside [0, 1)", fn,
                                  (double)p);
        keep = rec_tensor_i32(g, adj->rows);
        if (!keep)
            return NULL;
        rec_rng *r = rec_graph_rng(g);
        for (int64_t v = 0; v < adj->rows; v++)
            keep->iv[v] = rec_rng_uniform(r) >= p;
    }
    for (int k = 0; k < n->layers; k++) {
        rec_tensor *msg = keep ? rec_scale(g, rec_nn_mask_rows(g, e, keep), 1.0f / (1.0f - p)) : e;
        rec_tensor *s = rec_spmm(g, adj, msg);
        rec_tensor *sum = rec_linear(g, rec_add(g, s, e), n->w1[k].weight, n->w1[k].bias);
        rec_tensor *bi = rec_linear(g, rec_mul(g, s, e), n->w2[k].weight, n->w2[k].bias);
        e = rec_dropout(g, rec_leaky_relu(g, rec_add(g, sum, bi), NGCF_SLOPE), n->dropout);
        parts[k + 1] = rec_l2_normalize(g, e, NGCF_NORM_EPS);
    }
    return n->layers ? rec_concat(g, n->layers + 1, parts) : e0;
}
