/* "graphsage": GraphSAGE (Hamilton, Ying & Leskovec, NeurIPS 2017) as an
 * inductive recommender.  Node inputs (ID and feature embeddings, see
 * gnn-impl.h) go through L SAGE layers over uniformly sampled neighbours:
 *   h_v = act(W_k [h_v ; agg_{u in N(v)} h_u] + b_k)
 * with agg the mean or the max-pool (max of ReLU(P h_u + p)), ReLU on every
 * layer but the last, and the output scaled to unit L2 norm, so scores are
 * cosines (hence the lower default temperature).  A node's vector is a
 * function of its inputs and its neighbours', never a free parameter: a
 * user folded in from a history, or an item unseen at fit with features,
 * gets one from the same function (examples/12_graphsage.c). */
#include "gnn-impl.h"

#include <string.h>

static const rec_param_spec spec[] = {
    { "aggregator", REC_PARAM_STR, "mean", 0, 0, "mean|pool",
      "neighbour aggregator: mean, or max-pool over a ReLU layer" },
    REC_GNN_KEYS("0.1", "10"),
};
#define NSPEC (sizeof spec / sizeof *spec)

static rec_status init(rec_gnn *s, const rec_model *m, int k, rec_pstore *ps, const char *prefix,
                       rec_rng *rng)
{
    int last = k + 1 == s->layers;
    rec_nn_sage_agg agg = strcmp(rec_model_str(m, "aggregator"), "pool") ? REC_NN_SAGE_MEAN
                                                                          : REC_NN_SAGE_POOL;
    return rec_nn_sage_init(&s->sage[k], ps, prefix, s->dim, s->dim, agg,
                            last ? REC_NN_ACT_NONE : REC_NN_ACT_RELU, last, rng);
}

static rec_tensor *forward(const rec_gnn *s, rec_graph *g, int k, rec_csr *a, rec_tensor *x)
{
    return rec_nn_sage_forward(g, &s->sage[k], a, x);
}

static const rec_gnn_kind kind = { .norm = REC_BLOCK_MEAN, .init = init, .forward = forward };

static rec_status sage_fit(rec_model *m, const rec_dataset *d, rec_progress_fn cb, void *user)
{
    return rec_gnn_fit(m, d, &kind, cb, user, "rec_model_fit(graphsage)");
}

static rec_status sage_load(rec_model *m, const rec_lrm_reader *r)
{
    return rec_gnn_load(m, r, &kind, "rec_model_load(graphsage)");
}

const rec_model_vt rec_graphsage_vt = {
    .kind = "graphsage",
    .summary = "GraphSAGE: mean or max-pool aggregation of sampled neighbours, concat with "
               "self, L2-normalised output; inductive (new users and items)",
    .spec = spec,
    .nspec = NSPEC,
    .fit = sage_fit,
    .score_user = rec_gnn_score_user,
    .vectors = rec_gnn_vectors,
    .score_history = rec_gnn_score_history,
    .score_pair = rec_gnn_score_pair,
    .similar = rec_gnn_similar,
    .save = rec_gnn_save,
    .load = sage_load,
    .free_state = rec_gnn_free,
    .schema = rec_gnn_schema,
    .score_features = rec_gnn_score_features,
    .add_items = rec_gnn_add_items,
};
