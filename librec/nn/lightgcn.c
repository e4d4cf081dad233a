/* LightGCN's propagation with the layer-mean readout (see nn-impl.h): one
 * rec_spmm_mean_powers, whose Horner form keeps no layer's output (the
 * readout is linear) and reads each layer's input once. */
#include "nn-impl.h"

rec_tensor *rec_nn_lightgcn_forward(rec_graph *g, rec_csr *adj, rec_tensor *e0, int layers)
{
    static const char fn[] = "rec_nn_lightgcn_forward";
    if (!g) {
        rec_err(REC_E_INVALID, "%s: graph is NULL", fn);
        return NULL;
    }
    if (rec_graph_status(g))
        return NULL;
    if (!adj || !e0)
        return rec_graph_fail(g, REC_E_INVALID, "%s: %s is NULL", fn, adj ? "e0" : "adj");
    if (layers < 0 || layers > REC_NN_LIGHTGCN_MAX_LAYERS)
        return rec_graph_fail(g, REC_E_RANGE, "%s: layers = %d, want 0 .. %d", fn, layers,
                              REC_NN_LIGHTGCN_MAX_LAYERS);
    if (adj->rows != adj->cols)
        return rec_graph_fail(g, REC_E_INVALID, "%s: the adjacency is %lld x %lld, want square",
                              fn, (long long)adj->rows, (long long)adj->cols);
    if (e0->nd != 2 || e0->shape[0] != adj->rows)
        return rec_graph_fail(g, REC_E_INVALID, "%s: e0 must be [%lld, d] (one row per node)",
                              fn, (long long)adj->rows);
    return layers ? rec_spmm_mean_powers(g, adj, e0, layers) : e0;
}
