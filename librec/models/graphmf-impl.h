/* The glue shared by the full-graph embedding models (lightgcn, ngcf):
 * layer-0 node embeddings E_0 [N, dim] (N = users + items, users first)
 * propagated over the symmetric normalised user-item graph by the kind's
 * layer into E [N, width]; score(u, i) = E[u] . E[users + i].  Internal.
 *
 * Training goes through the trainer, one full-graph propagation per batch
 * of training pairs (the graph's distinct edges), on the CSR built once:
 *   loss "bpr"      the papers': mean softplus(s_uj - s_ui), one uniform
 *                   negative j per pair that the user never touched
 *   loss "softmax"  sampled softmax: each pair's positive against
 *                   `negatives` uniform items shared by the batch, logits
 *                   s / temperature.  Many negatives per step give far more
 *                   signal per propagation than BPR's one, so it converges
 *                   in a few epochs where BPR at the papers' lr needs
 *                   hundreds (examples/README.md has the runs)
 * plus L2 on the batch's E_0 rows (LightGCN's; NGCF's code puts it on the
 * propagated rows, which also shrinks the layer weights through them):
 *   reg * (|e0_u|^2 + |e0_i|^2 [+ |e0_j|^2]) / (2 B).
 * Adam on every parameter (E_0 dense: every row gets a gradient through A).
 * The trained E is kept as U [users, width] and V [items, width], saved as
 * "<kind>.users" and "<kind>.items".
 *
 * Fold-in (rec_model_recommend_history): a new user with history H gets
 * what one propagation step gives a node linked to H, taken on the final
 * item vectors:  e_u = sum_{i in H} V[i] / sqrt((|H| + a) (deg i + a)), with
 * deg i the item's training degree and a the layer's renorm (the
 * (D + aI)^-1/2 graph), so the new user is weighted as the graph trained
 * on weighs its nodes.  The other nodes are not re-propagated (the new
 * edges would move them by O(1 / deg)), so folding in costs
 * O(|H| width + items width).  Exact for LightGCN's one-layer readout up to
 * the layer mean; for NGCF an approximation (it skips the transformations). */
#ifndef LIBREC_GRAPHMF_IMPL_H
#define LIBREC_GRAPHMF_IMPL_H

#include "model-impl.h"
#include "core/ops.h"

/* The keys of the spectral start and its graph (lightgcn, ngcf), dim=0's
 * rule (rec_graphmf_dim) included; rec_graphmf_spectral_keys reads them. */
#define REC_GRAPHMF_SPECTRAL_KEYS                                                              \
    { "init", REC_PARAM_STR, "spectral", 0, 0, "normal|spectral",                              \
      "E_0 from a normal draw (the paper), or from the normalised graph's top singular "       \
      "vectors, weighted so that the scores start as a low-pass filter (SVD-GCN)" },           \
    { "spectral_beta", REC_PARAM_FLOAT, "4", 0, 100, NULL,                                     \
      "init=spectral: singular direction k weighs exp(spectral_beta * s_k) in the scores" },   \
    { "spectral_iters", REC_PARAM_INT, "4", 0, 100, NULL,                                      \
      "init=spectral: subspace iterations of the randomized SVD" },                            \
    { "renorm", REC_PARAM_FLOAT, "3", 0, 1e6, NULL,                                            \
      "alpha of the adjacency (D + alpha I)^-1/2 A (D + alpha I)^-1/2 (0: the paper's)" },     \
    { "dim", REC_PARAM_INT, "0", 0, 4096, NULL,                                                \
      "width of E_0 (0: a quarter of the smaller side of the graph, as a power of two in "     \
      "[16, 512])" }

/* The keys every graphmf kind takes, after its own; their defaults. */
#define REC_GRAPHMF_KEYS                                                                       \
    { "dim", REC_PARAM_INT, "64", 1, 4096, NULL, "embedding size" },                           \
    REC_GRAPHMF_KEYS_AT("20", "0.005")
/* The keys but dim, with a kind's own defaults of epochs and lr (strings). */
#define REC_GRAPHMF_KEYS_AT(EPOCHS, LR) REC_GRAPHMF_KEYS_SCALED(EPOCHS, LR, "0.2", "0.1")
/* ... and of temperature and init_std (strings): the scale of the scores. */
#define REC_GRAPHMF_KEYS_SCALED(EPOCHS, LR, TEMP, STD)                                         \
    { "loss", REC_PARAM_STR, "softmax", 0, 0, "softmax|bpr|ccl",                               \
      "sampled softmax over shared negatives, BPR with one negative per pair (the paper), or "  \
      "the cosine contrastive loss of SimpleX over shared negatives (implies cosine)" },       \
    { "margin", REC_PARAM_FLOAT, "0.9", -1, 1, NULL,                                           \
      "ccl: a negative's cosine above this is penalised" },                                    \
    { "neg_weight", REC_PARAM_FLOAT, "150", 0, 1e6, NULL,                                      \
      "ccl: weight of the negatives' mean penalty against the positive's 1 - cosine" },         \
    { "negatives", REC_PARAM_INT, "1024", 1, 1 << 20, NULL,                                    \
      "softmax: uniform items shared by a batch as negatives" },                               \
    { "temperature", REC_PARAM_FLOAT, TEMP, 1e-4, 1e4, NULL,                                   \
      "softmax: logits are scores / temperature" },                                            \
    { "similarity", REC_PARAM_STR, "dot", 0, 0, "dot|cosine",                                  \
      "score of a user and an item: the dot product of their propagated rows, or their cosine "\
      "(rows L2-normalised in the loss and in the stored vectors)" },                          \
    { "epochs", REC_PARAM_INT, EPOCHS, 1, 100000, NULL, "passes over the training pairs" },    \
    { "batch", REC_PARAM_INT, "2048", 1, 1 << 24, NULL,                                        \
      "training pairs per step (one propagation each)" },                                      \
    { "lr", REC_PARAM_FLOAT, LR, 0, 10, NULL, "Adam learning rate" },                          \
    { "reg", REC_PARAM_FLOAT, "0.0001", 0, 100, NULL,                                          \
      "L2 penalty on the layer-0 embeddings of a batch's nodes" },                             \
    { "init_std", REC_PARAM_FLOAT, STD, 0, 10, NULL,                                           \
      "std of the normal initialisation (the spectral start: its rms entry)" },                \
    { "seed", REC_PARAM_INT, "42", 0, 9.2e18, NULL, "random seed" },                           \
    REC_MODEL_CHECKPOINT_KEYS,                                                                 \
    REC_MODEL_VALIDATION_KEYS,                                                                 \
    REC_MODEL_INDEX_KEYS

/* The model's state (m->state). */
typedef struct rec_graphmf {
    int width;           /* columns of the propagated rows */
    float *U, *V;        /* [nusers, width], [nitems, width] */
    float *inv_sqrt_deg; /* [nitems] (training degree + renorm)^-1/2 (0 for none), fold-in */
    float renorm;        /* the graph's (D + renorm I), fold-in */
    void *kind;          /* what the layer's keep adds (gat); its kind frees it */
    /* The linear filter (graphmf_linear.c): its weight (0: none), and with
     * one the item -> users CSR of the seen items and 1 / (deg u + renorm). */
    float lin_w;
    int64_t *iptr, lin_nnz;
    int32_t *iusers;
    float *inv_udeg;
} rec_graphmf;

/* What a kind adds: its layer's parameters and its propagation. */
typedef struct rec_graphmf_layer {
    int width;
    /* 1 when propagate draws from the graph's RNG (dropout): each step then
     * seeds it from the trainer's RNG, so a resumed fit equals one run
     * straight through. */
    int stochastic;
    /* After E_0 is drawn from rng: adds the layer's parameters to ps (may be
     * NULL: none). */
    rec_status (*init)(void *ctx, rec_pstore *ps, rec_rng *rng);
    /* E_0 [N, dim] -> E [N, width], NULL with the graph's status on failure. */
    rec_tensor *(*propagate)(void *ctx, rec_graph *g, rec_csr *adj, rec_tensor *e0);
    /* Optional: after the final propagation (dropout off, the parameters and
     * the graph's activations still alive), keeps in ((rec_graphmf *)
     * m->state)->kind what the kind needs beyond U and V. */
    rec_status (*keep)(void *ctx, rec_model *m);
    void *ctx;
    /* alpha of the propagated adjacency (D + alpha I)^-1/2 A (D + alpha I)^-1/2
     * (0: LightGCN's D^-1/2 A D^-1/2). */
    double renorm;
    /* Optional (lightgcn with init=spectral): the factor by which propagate
     * scales an eigenvector of A of eigenvalue s.  When set, E_0 starts from
     * A's top singular vectors (graphmf_spectral.c), weighted so that the
     * propagated scores are sum_k exp(spectral_beta s_k) p_k(u) q_k(i). */
    double (*gain)(void *ctx, double s);
    int spectral_iters;
    double spectral_beta;
} rec_graphmf_layer;

/* E_0 [nusers + nitems, dim] from the top min(dim, nusers, nitems) singular
 * triplets (s, p, q) of the user-item block of adj (graphmf_spectral.c):
 * user row u = p(u) f(s), item row i = q(i) f(s), f(s) = sqrt(exp(beta s)) /
 * gain(s); columns past the rank are 0; all scaled to an rms entry of rms.
 * iters subspace iterations; rng draws the start.  REC_E_NOMEM, REC_E_RANGE
 * when the graph has no spectrum to find. */
rec_status rec_graphmf_spectral(const rec_csr *adj, int32_t nusers, int32_t nitems, int dim,
                                int iters, double beta, double rms,
                                double (*gain)(void *, double), void *ctx, rec_rng *rng,
                                float *e0, const char *fn);

/* Fits E_0 and the layer's parameters, then keeps E in U and V.  A cancelled
 * fit keeps the epochs it ran.  fn names the caller in messages. */
rec_status rec_graphmf_fit(rec_model *m, const rec_dataset *d, const rec_graphmf_layer *layer,
                           rec_progress_fn cb, void *user, const char *fn);
/* The layer-0 width: "dim", or for dim=0 a rank from the graph's size
 * (graphmf.c). */
int rec_graphmf_dim(const rec_model *m);
/* Sets l's renorm and, with init=spectral, its spectral start (gain, iters,
 * beta) from REC_GRAPHMF_SPECTRAL_KEYS. */
void rec_graphmf_spectral_keys(const rec_model *m, rec_graphmf_layer *l,
                               double (*gain)(void *ctx, double s));
/* Reads "<kind>.users" and "<kind>.items" of width columns. */
rec_status rec_graphmf_load(rec_model *m, const rec_lrm_reader *r, int width, double renorm,
                            const char *fn);

/* The linear filter of graphmf_linear.c.  _fit sets its weight from the
 * key's value (<= 0: none) once U and V hold the trained rows; _add adds
 * the term of the items r (n; a user's seen row, or a fold-in history) to
 * out [nitems]; _items adds u's term for items[j] to out[j], one walk for
 * the list; _save and _load keep the weight as "<kind>.linear" (absent:
 * none).  api names the public call in a failure's message. */
rec_status rec_graphmf_linear_fit(rec_model *m, double linear, const char *fn);
rec_status rec_graphmf_linear_add(const rec_model *m, const int32_t *r, size_t n,
                                  const char *api, float *out);
rec_status rec_graphmf_linear_items(const rec_model *m, int32_t u, const int32_t *items,
                                    size_t n, const char *api, float *out);
rec_status rec_graphmf_linear_save(const rec_model *m, rec_lrm_writer *w);
rec_status rec_graphmf_linear_load(rec_model *m, const rec_lrm_reader *r, const char *fn);
void rec_graphmf_linear_free(rec_model *m);

/* Whether U and V are stored as unit rows (similarity=cosine, or the ccl
 * loss, which trains on them): a row a kind adds later must be too. */
int rec_graphmf_unit_rows(const rec_model *m);

/* The vtable entries that need nothing of the kind. */
void rec_graphmf_free(rec_model *m);
rec_status rec_graphmf_score_user(const rec_model *m, int32_t u, float *out);
rec_status rec_graphmf_score_pair(const rec_model *m, int32_t u, int32_t i, float *out);
rec_status rec_graphmf_score_items(const rec_model *m, int32_t u, const int32_t *items, size_t n,
                                   float *out);
rec_status rec_graphmf_score_history(const rec_model *m, const int32_t *items, const float *r,
                                     size_t n, float *out);
rec_status rec_graphmf_similar(const rec_model *m, int32_t i, float *out);
rec_status rec_graphmf_vectors(const rec_model *m, rec_side side, float *out, int *dim);
rec_status rec_graphmf_save(const rec_model *m, rec_lrm_writer *w);

#endif
