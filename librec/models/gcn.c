/* "gcn": graph convolutional network (Kipf & Welling, ICLR 2017) as an
 * inductive recommender.  Node inputs X (ID and feature embeddings, see
 * gnn-impl.h) go through L layers over the renormalised user-item graph
 * Â = D~^-1/2 (A + I) D~^-1/2 (D~ = degree + 1):
 *   H_{k+1} = ReLU(Â H_k W_k^T + b_k),  the last layer linear (no ReLU),
 * with Â exact by default (fanout 0: every neighbour of the batch's
 * nodes), or estimated from `fanout` sampled neighbours per node (an
 * unbiased row, rec_uigraph_sample's REC_BLOCK_GCN); score(u, i) =
 * H_L[u] . H_L[users + i].  The default was chosen on a validation split
 * of ml-latest-small: Recall@20 0.198 with every neighbour, 0.172 with 25
 * sampled, 0.153 with 10 (the estimate's variance costs more than the
 * neighbourhood's size saves on a graph this size).
 *
 * Against lightgcn (the same graph, the same loss): the weights and the
 * ReLU are what LightGCN's paper removed; they cost quality when ID
 * embeddings are all a node has, and they are what lets a node without a
 * trained vector (a new user from its items, an item from its features)
 * get one.  examples/README.md ("GCN vs LightGCN") has the runs. */
#include "gnn-impl.h"

static const rec_param_spec spec[] = {
    REC_GNN_KEYS("0.2", "0"),
};
#define NSPEC (sizeof spec / sizeof *spec)

static rec_status init(rec_gnn *s, const rec_model *m, int k, rec_pstore *ps, const char *prefix,
                       rec_rng *rng)
{
    (void)m;
    return rec_nn_gcn_init(&s->gcn[k], ps, prefix, s->dim, s->dim,
                           k + 1 < s->layers ? REC_NN_ACT_RELU : REC_NN_ACT_NONE, rng);
}

static rec_tensor *forward(const rec_gnn *s, rec_graph *g, int k, rec_csr *a, rec_tensor *x)
{
    return rec_nn_gcn_forward(g, &s->gcn[k], a, x);
}

static const rec_gnn_kind kind = { .norm = REC_BLOCK_GCN, .init = init, .forward = forward };

static rec_status gcn_fit(rec_model *m, const rec_dataset *d, rec_progress_fn cb, void *user)
{
    return rec_gnn_fit(m, d, &kind, cb, user, "rec_model_fit(gcn)");
}

static rec_status gcn_load(rec_model *m, const rec_lrm_reader *r)
{
    return rec_gnn_load(m, r, &kind, "rec_model_load(gcn)");
}

const rec_model_vt rec_gcn_vt = {
    .kind = "gcn",
    .summary = "GCN: ReLU(Â X W) layers over the renormalised user-item graph from ID and "
               "feature inputs, sampled neighbours; inductive fold-in",
    .spec = spec,
    .nspec = NSPEC,
    .fit = gcn_fit,
    .score_user = rec_gnn_score_user,
    .vectors = rec_gnn_vectors,
    .score_history = rec_gnn_score_history,
    .score_pair = rec_gnn_score_pair,
    .similar = rec_gnn_similar,
    .save = rec_gnn_save,
    .load = gcn_load,
    .free_state = rec_gnn_free,
    .schema = rec_gnn_schema,
    .score_features = rec_gnn_score_features,
    .add_items = rec_gnn_add_items,
};
