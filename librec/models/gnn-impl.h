/* The glue shared by the inductive graph models (gcn, graphsage): node
 * vectors computed from the nodes' inputs and their sampled neighbourhoods,
 * so a node needs no trained vector of its own.  Internal.
 *
 * Inputs: node v's layer-0 vector is
 *   x_v = id_v + mean of the feature embeddings of v's feature codes
 * where id_v is a row of an ID table [N, dim] (N = users + items, users
 * first) for nodes with training edges and zero for nodes without (an item
 * unseen at fit, an anonymous user), and the feature codes are every
 * categorical and multi-hot field of the node's side in the dataset (one
 * table over all fields; numeric and text fields are not read).  "ids" and
 * "features" turn either part off.
 *
 * Training goes through the trainer: per batch of training pairs (the
 * graph's distinct edges) the users, positives and negatives are the seeds
 * of rec_uigraph_sample ("fanout" neighbours per node and layer, a fresh
 * sampling seed each step from the trainer's RNG); the kind's L layers map
 * block 0's source inputs to the seeds' vectors; the loss is graphmf's
 * (sampled softmax over shared uniform negatives with temperature, or BPR
 * with one negative per pair), Adam on every table and weight.
 *
 * Inference uses every neighbour (fanout 0: the exact aggregate the samples
 * estimated), layer by layer over all nodes in chunks, keeping each layer's
 * table H_k [N, dim] (k = 0 .. L): scores are dot products of H_L's user
 * and item rows; similar items the cosine of H_L's item rows.
 *
 * Fold-in (rec_model_recommend_history): an anonymous user (x = 0) linked
 * to the given items runs the kind's layers on the stored H_k item rows:
 * h_{k+1} = layer_k(block [1, 1 + n] of the user and its n items, [h_k ;
 * H_k[items]]), so the vector comes from the same function the training
 * users' did, not from an approximation.  The other nodes are not
 * re-propagated (the new edges would move them by O(1 / deg)).
 *
 * Call-time features (gnn_features.c): the model keeps the feature table
 * and the fields it coded (schemas with their vocabularies, user fields
 * then item fields, as the codes are offset).  A user described now
 * (rec_model_score_features) is the fold-in above with x = the mean of its
 * feature embeddings instead of 0.  An item added from its features
 * (rec_model_add_items) is a node with no edges: x = the mean of its
 * feature embeddings (no ID row, as any node without training edges), and
 * each layer sees itself alone (GCN: the self-loop of weight 1 / (0 + 1);
 * SAGE: an empty neighbourhood beside itself), exactly what the readout
 * gives an item of the training catalogue without interactions; its rows
 * are appended to every H_k, so histories holding it fold in through it.
 * Nothing else moves (no edge is added).
 *
 * Stored: "gnn.H" [(L + 1) N, dim] and the layers' weights under "gnn.";
 * "gnn.features" [vocab, dim] with "gnn.schema.user" / ".item", and
 * "gnn.features.vocab" [1] (0: the model read no fields); item degrees
 * come back from the model's training items. */
#ifndef LIBREC_GNN_IMPL_H
#define LIBREC_GNN_IMPL_H

#include "model-impl.h"
#include "core/ops.h"
#include "data/graph_sample-impl.h"
#include "nn/nn-impl.h"

#define REC_GNN_MAX_LAYERS 4

/* The keys every inductive graph kind takes after its own; temp and fan
 * are the defaults of "temperature" and "fanout" (strings). */
#define REC_GNN_KEYS(temp, fan)                                                                \
    { "layers", REC_PARAM_INT, "2", 1, REC_GNN_MAX_LAYERS, NULL, "graph layers (hops)" },      \
    { "fanout", REC_PARAM_INT, fan, 0, 1 << 20, NULL,                                          \
      "neighbours sampled per node and layer while training (0 = all)" },                      \
    { "dim", REC_PARAM_INT, "64", 1, 4096, NULL, "width of every layer" },                     \
    { "ids", REC_PARAM_BOOL, "true", 0, 1, NULL,                                               \
      "ID embeddings in the inputs (nodes without training edges get none)" },                 \
    { "features", REC_PARAM_BOOL, "true", 0, 1, NULL,                                          \
      "the dataset's categorical and multi-hot fields in the inputs" },                        \
    { "loss", REC_PARAM_STR, "softmax", 0, 0, "softmax|bpr",                                   \
      "sampled softmax over shared negatives, or BPR with one negative per pair" },            \
    { "negatives", REC_PARAM_INT, "1024", 1, 1 << 20, NULL,                                    \
      "softmax: uniform items shared by a batch as negatives" },                               \
    { "temperature", REC_PARAM_FLOAT, temp, 1e-4, 1e4, NULL,                                   \
      "softmax: logits are scores / temperature" },                                            \
    { "epochs", REC_PARAM_INT, "20", 1, 100000, NULL, "passes over the training pairs" },      \
    { "batch", REC_PARAM_INT, "2048", 1, 1 << 24, NULL, "training pairs per step" },           \
    { "lr", REC_PARAM_FLOAT, "0.005", 0, 10, NULL, "Adam learning rate" },                     \
    { "init_std", REC_PARAM_FLOAT, "0.1", 0, 10, NULL,                                         \
      "std of the ID and feature embeddings' normal initialisation" },                         \
    { "seed", REC_PARAM_INT, "42", 0, 9.2e18, NULL, "random seed" },                           \
    REC_MODEL_CHECKPOINT_KEYS,                                                                 \
    REC_MODEL_VALIDATION_KEYS,                                                                 \
    REC_MODEL_INDEX_KEYS

typedef struct rec_gnn rec_gnn;

/* The fields a model's inputs coded, with their embedding table: what its
 * call-time features read (gnn_features.c; gat keeps one too, item side
 * only).  has_schema 0 in a file from before them; feat NULL (fvocab 0)
 * when the model read no fields, else [fvocab, dim] coded as usch's fields
 * then isch's (either NULL: none). */
typedef struct rec_gnn_fields {
    int has_schema, dim;
    rec_features *usch, *isch;
    char *ublob, *iblob;
    size_t ublen, iblen;
    float *feat;
    int32_t fvocab;
} rec_gnn_fields;

/* Every node's feature codes (N = users + items, users first), one code
 * space over the categorical and multi-hot fields of the sides read, user
 * fields first: ptr [nodes + 1], val [ptr[nodes]]. */
typedef struct rec_gnn_codes {
    int64_t *ptr;
    int32_t *val;
    int64_t nodes, nval;
    int32_t vocab;
} rec_gnn_codes;

/* What a kind adds: its layers' parameters and forward. */
typedef struct rec_gnn_kind {
    rec_block_norm norm;
    /* Adds layer k's parameters ("<prefix>...") to ps. */
    rec_status (*init)(rec_gnn *s, const rec_model *m, int k, rec_pstore *ps, const char *prefix,
                       rec_rng *rng);
    /* Layer k: a [ndst, nsrc], x [nsrc, dim] -> [ndst, dim]. */
    rec_tensor *(*forward)(const rec_gnn *s, rec_graph *g, int k, rec_csr *a, rec_tensor *x);
} rec_gnn_kind;

/* The model's state (m->state). */
struct rec_gnn {
    const rec_gnn_kind *kind;
    int layers, dim;
    int64_t nodes;
    rec_pstore *ps;          /* the layers' weights, for fold-in */
    rec_nn_gcn gcn[REC_GNN_MAX_LAYERS];
    rec_nn_sage sage[REC_GNN_MAX_LAYERS];
    float *H;                /* [(layers + 1) * nodes, dim] */
    int32_t *item_deg;       /* [nitems] training degree */
    rec_gnn_fields fx;       /* call-time features */
};

rec_status rec_gnn_fit(rec_model *m, const rec_dataset *d, const rec_gnn_kind *kind,
                       rec_progress_fn cb, void *user, const char *fn);
rec_status rec_gnn_load(rec_model *m, const rec_lrm_reader *r, const rec_gnn_kind *kind,
                        const char *fn);
void rec_gnn_free(rec_model *m);
rec_status rec_gnn_score_user(const rec_model *m, int32_t u, float *out);
rec_status rec_gnn_score_pair(const rec_model *m, int32_t u, int32_t i, float *out);
rec_status rec_gnn_vectors(const rec_model *m, rec_side side, float *out, int *dim);
rec_status rec_gnn_score_history(const rec_model *m, const int32_t *items, const float *r,
                                 size_t n, float *out);
rec_status rec_gnn_similar(const rec_model *m, int32_t i, float *out);
rec_status rec_gnn_save(const rec_model *m, rec_lrm_writer *w);

/* The fold-in from x0 [dim] (the user's layer-0 vector) and items[n]:
 * every item's score into out[nitems]; fn names the caller. */
rec_status rec_gnn_fold_in(const rec_model *m, const float *x0, const int32_t *items, size_t n,
                           float *out, const char *fn);
/* An isolated node's layers: x [n, dim] (n <= chunk) of nodes with no edges
 * through layer k into y [n, dim]. */
rec_status rec_gnn_isolated(const rec_gnn *s, int k, const float *x, int32_t n, float *y,
                            const char *fn);

/* gnn_features.c.  users: 0 reads the item side's fields only (the user
 * nodes then have no codes).  prefix names the stored tensors. */
rec_status rec_gnn_codes_take(const rec_model *m, const rec_dataset *d, int users,
                              rec_gnn_codes *f, const char *fn);
void rec_gnn_codes_free(rec_gnn_codes *f);
rec_status rec_gnn_fields_build(rec_gnn_fields *fx, const rec_dataset *d, int users, int dim,
                                const float *feat, int32_t fvocab, const char *fn);
void rec_gnn_fields_free(rec_gnn_fields *fx);
rec_status rec_gnn_fields_save(const rec_gnn_fields *fx, rec_lrm_writer *w, const char *prefix);
/* A file without the tensors leaves has_schema 0. */
rec_status rec_gnn_fields_load(rec_gnn_fields *fx, const rec_lrm_reader *r, const char *prefix,
                               int dim, const char *fn);
rec_status rec_gnn_fields_schema(const rec_gnn_fields *fx, const rec_model *m, rec_side side,
                                 rec_features **out, const char *fn);
/* For add_items: REC_E_UNSUPPORTED unless fx codes item fields. */
rec_status rec_gnn_fields_items(const rec_gnn_fields *fx, const rec_model *m, const char *fn);
/* x [dim] = the mean of the feature embeddings of the codes fs gives side's
 * fields, as the training inputs average a node's codes; zeros for none. */
rec_status rec_gnn_fields_mean(const rec_gnn_fields *fx, rec_side side,
                               const rec_feature_set *fs, float *x, const char *fn);
rec_status rec_gnn_schema(const rec_model *m, rec_side side, rec_features **out,
                          const char *fn);
rec_status rec_gnn_score_features(const rec_model *m, const rec_feature_set *fs,
                                  const int32_t *hist, size_t nh, float *out);
rec_status rec_gnn_add_items(rec_model *m, const rec_feature_set *const *fs, size_t n);

#endif
