/* "lightgcn": LightGCN (He et al., SIGIR 2020).  Node embeddings E_0 [N, d]
 * (N = users + items, users first) propagated over the symmetric
 * normalised user-item graph, A = D^-1/2 [[0, R], [R^T, 0]] D^-1/2, with
 * the layer-mean readout E = (E_0 + A E_0 + ... + A^L E_0) / (L + 1);
 * score(u, i) = E[u] . E[users + i].
 *
 * By default E_0 starts from the graph's top singular vectors, weighted so
 * that the propagated scores are already SVD-GCN's low-pass filter
 * (init=spectral, graphmf_spectral.c), over the adjacency renormalised by
 * degree + 3 (renorm), its rank a quarter of the graph's smaller side
 * (dim=0, rec_graphmf_dim); a few epochs of the sampled softmax then
 * refine it.
 * init=normal renorm=0 is the paper's start and graph.
 *
 * The scores add GF-CF's linear filter, the user's items times R~^T R~
 * (linear=0.2 of the embedding scores' spread, graphmf_linear.c): the
 * rank-dim embeddings smooth away the specific item pairs it keeps.
 * linear=0 is the paper's scores.
 *
 * Its fit (BPR as the paper, or the sampled softmax that converges in far
 * fewer epochs, with the paper's L2 on the batch's E_0 rows), scoring,
 * similar items, storage and fold-in are graphmf's, shared with ngcf
 * (graphmf-impl.h documents them); this file is the layer: no parameters
 * beyond E_0. */
#include "graphmf-impl.h"
#include "nn/nn-impl.h"

static const rec_param_spec spec[] = {
    { "layers", REC_PARAM_INT, "3", 0, REC_NN_LIGHTGCN_MAX_LAYERS, NULL,
      "propagation layers (0 = matrix factorisation)" },
    /* 0.2: on a Gowalla validation split (the term over the renorm=3
     * graph) 0.2 and 0.3 gave NDCG@20 0.1335 and 0.1333 against 0.1271
     * without; on ml-latest-small's 0.1, 0.2 and 0.4 gave 0.3065, 0.3051
     * and 0.3029 against 0.3044 (examples/README.md, "The linear filter"). */
    { "linear", REC_PARAM_FLOAT, "0.2", 0, 100, NULL,
      "weight of the linear filter's item-item term (r_u R~^T R~, GF-CF) added to the scores, "
      "relative to the spread of the embedding scores (0: embeddings alone)" },
    REC_GRAPHMF_SPECTRAL_KEYS,
    /* 5 epochs: on a Gowalla validation split dim 512 levels off by the
     * 5th (examples/README.md, "The spectral start"). */
    REC_GRAPHMF_KEYS_AT("5", "0.001"),
};
#define NSPEC (sizeof spec / sizeof *spec)

static rec_tensor *propagate(void *ctx, rec_graph *g, rec_csr *adj, rec_tensor *e0)
{
    return rec_nn_lightgcn_forward(g, adj, e0, *(const int *)ctx);
}

/* An eigenvector of A of eigenvalue s leaves the layer mean scaled by
 * (1 + s + ... + s^L) / (L + 1). */
static double gain(void *ctx, double s)
{
    int layers = *(const int *)ctx;
    double sum = 0, p = 1;
    for (int l = 0; l <= layers; l++, p *= s)
        sum += p;
    return sum / (layers + 1);
}

static rec_status lgcn_fit(rec_model *m, const rec_dataset *d, rec_progress_fn cb, void *user)
{
    int layers = (int)rec_model_int(m, "layers");
    rec_graphmf_layer l = { .width = rec_graphmf_dim(m), .propagate = propagate,
                            .ctx = &layers };
    rec_graphmf_spectral_keys(m, &l, gain);
    return rec_graphmf_fit(m, d, &l, cb, user, "rec_model_fit(lightgcn)");
}

static rec_status lgcn_load(rec_model *m, const rec_lrm_reader *r)
{
    return rec_graphmf_load(m, r, rec_graphmf_dim(m), rec_model_flt(m, "renorm"),
                            "rec_model_load(lightgcn)");
}

const rec_model_vt rec_lightgcn_vt = {
    .kind = "lightgcn",
    .summary = "LightGCN: embeddings propagated over the normalised user-item graph, "
               "layer-mean readout, started from its spectrum; sampled-softmax or BPR loss",
    .spec = spec,
    .nspec = NSPEC,
    .fit = lgcn_fit,
    .score_user = rec_graphmf_score_user,
    .vectors = rec_graphmf_vectors,
    .score_history = rec_graphmf_score_history,
    .score_pair = rec_graphmf_score_pair,
    .score_items = rec_graphmf_score_items,
    .similar = rec_graphmf_similar,
    .save = rec_graphmf_save,
    .load = lgcn_load,
    .free_state = rec_graphmf_free,
};
