/* LayerNorm over the last dim with a learned scale and shift. */
#include "nn-impl.h"

#include <math.h>

rec_status rec_nn_layernorm_init(rec_nn_layernorm *ln, rec_pstore *ps, const char *prefix,
                                 int64_t dim, float eps)
{
    static const char fn[] = "rec_nn_layernorm_init";
    REC_CHECK_ARG(ln, fn, "layer must not be NULL");
    if (dim <= 0)
        return rec_err(REC_E_RANGE, "%s: dim = %lld must be > 0", fn, (long long)dim);
    if (!(eps > 0.0f) || !isfinite(eps))
        return rec_err(REC_E_RANGE, "%s: eps = %g must be finite and > 0", fn, (double)eps);
    rec_tensor *w, *b;
    REC_TRY(rec_nn_param(ps, fn, prefix, "weight", 1, &dim, 0, &w));
    REC_TRY(rec_nn_param(ps, fn, prefix, "bias", 1, &dim, 0, &b));
    rec_init_const(w, 1.0f);
    rec_init_const(b, 0.0f);
    *ln = (rec_nn_layernorm){ w, b, dim, eps };
    return REC_OK;
}

rec_tensor *rec_nn_layernorm_forward(rec_graph *g, const rec_nn_layernorm *ln, rec_tensor *x)
{
    static const char fn[] = "rec_nn_layernorm_forward";
    if (!g) {
        rec_err(REC_E_INVALID, "%s: graph is NULL", fn);
        return NULL;
    }
    if (rec_graph_status(g))
        return NULL;
    if (!ln || !ln->weight)
        return rec_graph_fail(g, REC_E_INVALID, "%s: layer is NULL or not initialised", fn);
    if (!x)
        return rec_graph_fail(g, REC_E_INVALID, "%s: x is NULL", fn);
    if (rec_cols(x) != ln->dim)
        return rec_graph_fail(g, REC_E_INVALID, "%s: x has %lld columns, the layer normalises "
                              "%lld", fn, (long long)rec_cols(x), (long long)ln->dim);
    return rec_layernorm(g, x, ln->weight, ln->bias, ln->eps);
}
