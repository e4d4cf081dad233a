/* "ngcf": Neural Graph Collaborative Filtering (Wang et al., SIGIR 2019).
 * Node embeddings E_0 [N, d] (users then items) go through L NGCF layers
 * over the symmetric normalised user-item graph A (rec_nn_ngcf_forward):
 *   E_{k+1} = Dropout(LeakyReLU(W1_k (A E_k + E_k) + W2_k ((A E_k) (.) E_k) + b))
 * (with node_dropout, a step's dropped nodes send no messages: their rows of
 * E_k are zeroed in A E_k, the rest scaled by 1 / (1 - p)), and the readout
 * concatenates [E_0, E_1 / |E_1|, ..., E_L / |E_L|], E_0 dim wide and every
 * later layer layer_dim, so the final vectors are dim + L layer_dim wide;
 * score(u, i) = E[u] . E[users + i].
 *
 * E_0 takes lightgcn's spectral start by default (init=spectral, renorm,
 * dim=0: graphmf_spectral.c): E_0's block of the readout is E_0 itself, so
 * with a gain of 1 that block of the scores starts as SVD-GCN's low-pass
 * filter, and the layers, narrow beside a wide E_0, learn what it misses.
 * init=normal renorm=0 dim=64 is the paper's start, graph and width.
 *
 * Fit (BPR as the paper, or the sampled softmax; Adam on E_0 and the W's),
 * scoring, similar items, storage and fold-in are graphmf's, shared with
 * lightgcn (graphmf-impl.h documents them).  Fold-in skips the layers'
 * transformations: it is one propagation step of the final item vectors,
 * an approximation of what NGCF would give the new user. */
#include "graphmf-impl.h"
#include "nn/nn-impl.h"

static const rec_param_spec spec[] = {
    { "layers", REC_PARAM_INT, "3", 0, REC_NN_NGCF_MAX_LAYERS, NULL,
      "NGCF layers (0 = matrix factorisation); vectors are dim + layers * layer_dim wide" },
    { "dropout", REC_PARAM_FLOAT, "0.1", 0, 0.99, NULL,
      "message dropout on each layer's output while training (the paper's 0.1)" },
    { "node_dropout", REC_PARAM_FLOAT, "0", 0, 0.99, NULL,
      "node dropout while training: the share of nodes whose outgoing messages a step drops "
      "(off by default, as in the authors' code; they tried 0.1)" },
    { "layer_dim", REC_PARAM_INT, "64", 1, 4096, NULL,
      "width of every NGCF layer's output (the authors' layer_size); E_0 is dim wide" },
    REC_GRAPHMF_SPECTRAL_KEYS,
    /* A spectral E_0 of rms 0.2 scores about four times the 0.1 of
     * lightgcn's, and T 0.8 brings its logits back to lightgcn's: the
     * layers' unit blocks, whose random start is noise, then weigh a quarter
     * as much.  At lightgcn's scale validation fell after the first epoch.
     * 2 epochs: validation peaks after 1 on ml-latest-small and levels off
     * at 4 on Gowalla; 2 loses least on the worse of the two
     * (examples/README.md, "NGCF on Gowalla"). */
    REC_GRAPHMF_KEYS_SCALED("2", "0.001", "0.8", "0.2"),
};
#define NSPEC (sizeof spec / sizeof *spec)

typedef struct ngcf_ctx {
    rec_nn_ngcf net;
    int64_t dim, width;
    int layers;
    float dropout, node_dropout;
} ngcf_ctx;

static rec_status init(void *ctx, rec_pstore *ps, rec_rng *rng)
{
    ngcf_ctx *c = ctx;
    rec_status st = rec_nn_ngcf_init(&c->net, ps, "ngcf", c->dim, c->width, c->layers,
                                     c->dropout, rng);
    c->net.node_dropout = c->node_dropout;
    return st;
}

static rec_tensor *propagate(void *ctx, rec_graph *g, rec_csr *adj, rec_tensor *e0)
{
    return rec_nn_ngcf_forward(g, &((const ngcf_ctx *)ctx)->net, adj, e0);
}

/* E_0's block of the readout is E_0 itself: no eigenvector is scaled. */
static double gain(void *ctx, double s)
{
    (void)ctx;
    (void)s;
    return 1.0;
}

static int width(const rec_model *m)
{
    return (int)(rec_graphmf_dim(m) + rec_model_int(m, "layer_dim") * rec_model_int(m, "layers"));
}

static rec_status ngcf_fit(rec_model *m, const rec_dataset *d, rec_progress_fn cb, void *user)
{
    ngcf_ctx c = { .dim = rec_graphmf_dim(m), .width = rec_model_int(m, "layer_dim"),
                   .layers = (int)rec_model_int(m, "layers"),
                   .dropout = (float)rec_model_flt(m, "dropout"),
                   .node_dropout = (float)rec_model_flt(m, "node_dropout") };
    rec_graphmf_layer l = { .width = width(m), .stochastic = c.dropout > 0 || c.node_dropout > 0,
                            .init = init, .propagate = propagate, .ctx = &c };
    rec_graphmf_spectral_keys(m, &l, gain);
    return rec_graphmf_fit(m, d, &l, cb, user, "rec_model_fit(ngcf)");
}

static rec_status ngcf_load(rec_model *m, const rec_lrm_reader *r)
{
    return rec_graphmf_load(m, r, width(m), rec_model_flt(m, "renorm"), "rec_model_load(ngcf)");
}

const rec_model_vt rec_ngcf_vt = {
    .kind = "ngcf",
    .summary = "NGCF: graph convolution with feature transformations, LeakyReLU and the "
               "concatenated readout, started from the graph's spectrum; sampled-softmax or "
               "BPR loss",
    .spec = spec,
    .nspec = NSPEC,
    .fit = ngcf_fit,
    .score_user = rec_graphmf_score_user,
    .vectors = rec_graphmf_vectors,
    .score_history = rec_graphmf_score_history,
    .score_pair = rec_graphmf_score_pair,
    .similar = rec_graphmf_similar,
    .save = rec_graphmf_save,
    .load = ngcf_load,
    .free_state = rec_graphmf_free,
};
