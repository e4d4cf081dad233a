/* The GCN layer (see nn-impl.h): one rec_spmm and one rec_linear, in the
 * order that multiplies fewer columns through the sparse product. */
#include "nn-impl.h"

rec_status rec_nn_gcn_init(rec_nn_gcn *l, rec_pstore *ps, const char *prefix, int64_t in,
                           int64_t out, rec_nn_act act, rec_rng *rng)
{
    REC_CHECK_ARG(l, "rec_nn_gcn_init", "layer is NULL");
    /* Glorot-uniform, the paper's initialiser */
    REC_TRY(rec_nn_linear_init(&l->lin, ps, prefix, in, out, 1, REC_NN_INIT_XAVIER_UNIFORM, rng));
    l->act = act;
    return REC_OK;
}

rec_status rec_nn_block_check(rec_graph *g, rec_csr *a, rec_tensor *x, int64_t in,
                              const char *fn)
{
    if (!a || !x)
        rec_graph_fail(g, REC_E_INVALID, "%s: %s is NULL", fn, !a ? "adjacency" : "x");
    else if (x->nd != 2 || x->shape[0] != a->cols || x->shape[1] != in)
        rec_graph_fail(g, REC_E_INVALID, "%s: x must be [%lld, %lld] (one row per source "
                       "node)", fn, (long long)a->cols, (long long)in);
    return rec_graph_status(g);
}

rec_tensor *rec_nn_gcn_forward(rec_graph *g, const rec_nn_gcn *l, rec_csr *a, rec_tensor *x)
{
    static const char fn[] = "rec_nn_gcn_forward";
    if (!g) {
        rec_err(REC_E_INVALID, "%s: graph is NULL", fn);
        return NULL;
    }
    if (rec_graph_status(g))
        return NULL;
    if (!l || !l->lin.weight)
        return rec_graph_fail(g, REC_E_INVALID, "%s: layer is NULL or not initialised", fn);
    if (rec_nn_block_check(g, a, x, l->lin.in, fn))
        return NULL;
    rec_tensor *y = l->lin.out < l->lin.in
                        ? rec_add(g, rec_spmm(g, a, rec_linear(g, x, l->lin.weight, NULL)),
                                  l->lin.bias)
                        : rec_linear(g, rec_spmm(g, a, x), l->lin.weight, l->lin.bias);
    return rec_nn_act_apply(g, l->act, y);
}
