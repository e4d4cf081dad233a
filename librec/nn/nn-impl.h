/* Neural layers built on the tensor core (internal: models use them, the
 * public API does not expose them).
 *
 * Each layer is a small struct holding its parameter tensors, created in a
 * caller-given rec_pstore under a name prefix ("user_tower.0" gives
 * "user_tower.0.weight", "user_tower.0.bias"), an init function (seeded,
 * PyTorch's default initialisers unless told) and a forward function
 * composed from ops, so backward comes from the tape.  The GRU is one fused
 * op with a hand-written backward through time (speed).
 *
 * Errors: init returns a status with the message set (bad size, duplicate
 * or too long a name, out of memory).  Forward follows the ops' error model:
 * NULL with a sticky status on the graph, messages naming the layer's
 * function and the bad argument.  The structs hold no memory of their own:
 * the store owns the parameters, so there is nothing to free.
 *
 * Shapes: [B, T, d] is batch-first; [rows, d] means any leading dims. */
#ifndef LIBREC_NN_IMPL_H
#define LIBREC_NN_IMPL_H

#include "core/ops.h"

/* Weight initialisers.  DEFAULT is PyTorch's for the layer: Linear and
 * Conv1d kaiming-uniform (U(+-1/sqrt(fan_in))), Embedding N(0, 1), GRU
 * U(+-1/sqrt(H)), attention in_proj xavier-uniform. */
typedef enum rec_nn_init {
    REC_NN_INIT_DEFAULT = 0,
    REC_NN_INIT_XAVIER_NORMAL = 1,
    REC_NN_INIT_XAVIER_UNIFORM = 2,
    REC_NN_INIT_NORMAL = 3        /* N(0, std) with the std the layer takes */
} rec_nn_init;

/* Longest parameter name (prefix + suffix) the layers build. */
#define REC_NN_NAME_MAX 128

/* Adds "<prefix>.<suffix>" to ps (nd dims, flags as rec_pstore_add) into
 * *out; fn names the caller in messages. */
rec_status rec_nn_param(rec_pstore *ps, const char *fn, const char *prefix, const char *suffix,
                        int nd, const int64_t *shape, unsigned flags, rec_tensor **out);
/* Fills a [out, in] weight: DEFAULT = U(+-1/sqrt(in)). */
void rec_nn_init_weight(rec_tensor *w, rec_nn_init init, float std, rec_rng *rng);

/* ---- Embedding (embedding.c) ------------------------------------------------ */
typedef struct rec_nn_embedding_opts {
    int32_t padding_idx;   /* row that is zero and gets no gradient; -1: none */
    float max_norm;        /* > 0: looked-up rows renormed to this L2 norm at forward */
    int64_t hash_buckets;  /* > 0: id -> hash(id, hash_seed) % buckets (table rows) */
    uint64_t hash_seed;
    int sparse;            /* REC_T_SPARSE table: row-sparse gradient */
    rec_nn_init init;      /* DEFAULT: N(0, 1); NORMAL: N(0, std) */
    float std;
} rec_nn_embedding_opts;
/* padding -1, no max-norm, no hashing, dense, N(0, 1). */
rec_nn_embedding_opts rec_nn_embedding_defaults(void);

typedef struct rec_nn_embedding {
    rec_tensor *weight;    /* [num, dim]; num = hash_buckets when hashing */
    int64_t num, dim;
    int32_t padding_idx;
    float max_norm;
    int64_t hash_buckets;
    uint64_t hash_seed;
} rec_nn_embedding;

/* num rows (ignored when hashing: the table has hash_buckets rows). opts may
 * be NULL (defaults).  The padding row is zeroed after init. */
rec_status rec_nn_embedding_init(rec_nn_embedding *e, rec_pstore *ps, const char *prefix,
                                 int64_t num, int64_t dim, const rec_nn_embedding_opts *opts,
                                 rec_rng *rng);
/* The table row of id: hash(id) % buckets when hashing, else id itself.
 * Deterministic for (id, seed); the padding id and negative ids map to -1. */
int32_t rec_nn_embedding_row(const rec_nn_embedding *e, int64_t id);
/* ids I32 of any shape (at most 3 dims) -> [.., dim].  Negative ids and the
 * padding id give zero rows and no gradient.  With max_norm the looked-up
 * rows of the table are renormed in place first (as PyTorch; no gradient
 * flows through the renorm). */
rec_tensor *rec_nn_embedding_forward(rec_graph *g, rec_nn_embedding *e, rec_tensor *ids);

/* ---- EmbeddingBag (embedding_bag.c) ------------------------------------------ */
typedef struct rec_nn_embedding_bag {
    rec_nn_embedding emb;  /* table, padding, hashing (max_norm unsupported) */
    rec_reduce mode;
} rec_nn_embedding_bag;

rec_status rec_nn_embedding_bag_init(rec_nn_embedding_bag *eb, rec_pstore *ps,
                                     const char *prefix, int64_t num, int64_t dim,
                                     rec_reduce mode, const rec_nn_embedding_opts *opts,
                                     rec_rng *rng);
/* ids I32 [n]; offsets I32 [nbags + 1] (bag b = ids offsets[b] ..
 * offsets[b+1]-1, PyTorch's include_last_offset=True); weights F32 [n] or
 * NULL (sum and mean only).  Padding ids are skipped and not counted by the
 * mean.  -> [nbags, dim]; an empty bag gives zeros. */
rec_tensor *rec_nn_embedding_bag_forward(rec_graph *g, rec_nn_embedding_bag *eb,
                                         rec_tensor *ids, rec_tensor *offsets,
                                         rec_tensor *weights);

/* ---- Linear and MLP (linear.c) ----------------------------------------------- */
typedef struct rec_nn_linear {
    rec_tensor *weight;    /* [out, in] */
    rec_tensor *bias;      /* [out] or NULL */
    int64_t in, out;
} rec_nn_linear;

rec_status rec_nn_linear_init(rec_nn_linear *l, rec_pstore *ps, const char *prefix,
                              int64_t in, int64_t out, int bias, rec_nn_init init,
                              rec_rng *rng);
/* x [rows, in] -> [rows, out] */
rec_tensor *rec_nn_linear_forward(rec_graph *g, const rec_nn_linear *l, rec_tensor *x);

typedef enum rec_nn_act {
    REC_NN_ACT_NONE = 0, REC_NN_ACT_RELU, REC_NN_ACT_GELU, REC_NN_ACT_TANH, REC_NN_ACT_SIGMOID
} rec_nn_act;
/* "relu" | "gelu" | "tanh" | "sigmoid" | "none" -> 0, or REC_E_INVALID with
 * the message naming fn. */
rec_status rec_nn_act_parse(const char *name, const char *fn, rec_nn_act *out);
rec_tensor *rec_nn_act_apply(rec_graph *g, rec_nn_act act, rec_tensor *x);

#define REC_NN_MLP_MAX 8
/* Layers i = 0 .. n-1 named "<prefix>.<i>": x = Dropout(act(Linear_i(x)));
 * the last layer's activation and dropout only when act_last. */
typedef struct rec_nn_mlp {
    rec_nn_linear layer[REC_NN_MLP_MAX];
    int n;
    rec_nn_act act;
    float dropout;
    int act_last;
} rec_nn_mlp;

/* dims[0] is the input size, dims[1..n] the layer outputs (1 <= n <= 8). */
rec_status rec_nn_mlp_init(rec_nn_mlp *m, rec_pstore *ps, const char *prefix, int n,
                           const int64_t *dims, rec_nn_act act, float dropout, int act_last,
                           rec_nn_init init, rec_rng *rng);
rec_tensor *rec_nn_mlp_forward(rec_graph *g, const rec_nn_mlp *m, rec_tensor *x);

/* ---- LayerNorm (layernorm.c) -------------------------------------------------- */
typedef struct rec_nn_layernorm {
    rec_tensor *weight, *bias;  /* [dim], 1 and 0 at init */
    int64_t dim;
    float eps;
} rec_nn_layernorm;

rec_status rec_nn_layernorm_init(rec_nn_layernorm *ln, rec_pstore *ps, const char *prefix,
                                 int64_t dim, float eps);
rec_tensor *rec_nn_layernorm_forward(rec_graph *g, const rec_nn_layernorm *ln, rec_tensor *x);

/* ---- GRU (gru.c) ---------------------------------------------------------------
 * PyTorch's single-layer GRU, batch_first:
 *   r = s(W_ir x + b_ir + W_hr h + b_hr),  z = s(W_iz x + b_iz + W_hz h + b_hz)
 *   n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) * n + z * h
 * Parameters as PyTorch names them: weight_ih_l0 [3H, in], weight_hh_l0
 * [3H, H], bias_ih_l0 and bias_hh_l0 [3H], gate blocks in order r, z, n. */
typedef struct rec_nn_gru {
    rec_tensor *w_ih, *w_hh, *b_ih, *b_hh;
    int64_t in, hidden;
} rec_nn_gru;

rec_status rec_nn_gru_init(rec_nn_gru *m, rec_pstore *ps, const char *prefix, int64_t in,
                           int64_t hidden, rec_rng *rng);
/* The fused op.  x [B, T, in]; h0 [B, H] or NULL (zeros); lengths I32 [B]
 * in [1, T] or NULL (all T).  Steps t >= lengths[b] are padding, as in a
 * packed sequence: the state is carried unchanged and the output row is
 * zero.  -> outputs [B, T, H].  Gradients flow to x, h0 and the weights. */
rec_tensor *rec_gru(rec_graph *g, rec_tensor *x, rec_tensor *h0, rec_tensor *w_ih,
                    rec_tensor *w_hh, rec_tensor *b_ih, rec_tensor *b_hh, rec_tensor *lengths);
/* rec_gru with the layer's weights; *h_last (if not NULL) receives the state
 * after each sequence's last valid step, [B, H]. */
rec_tensor *rec_nn_gru_forward(rec_graph *g, const rec_nn_gru *m, rec_tensor *x,
                               rec_tensor *h0, rec_tensor *lengths, rec_tensor **h_last);
/* The sequence encoder: the hidden state at each sequence's last valid step,
 * [B, H] (lengths may be NULL: all T). */
rec_tensor *rec_nn_gru_encode(rec_graph *g, const rec_nn_gru *m, rec_tensor *x,
                              rec_tensor *lengths);

/* ---- multi-head self-attention (attention.c) -------------------------------------
 * nn.MultiheadAttention(d, heads, dropout, batch_first=True) applied as
 * self-attention: in_proj_weight [3d, d] and in_proj_bias [3d] (q, k, v
 * blocks), out_proj.weight [d, d] and out_proj.bias [d]; heads split d;
 * dropout on the attention weights (training only). */
typedef struct rec_nn_mha {
    rec_tensor *in_w, *in_b, *out_w, *out_b;
    int64_t dim, heads;
    float dropout;
} rec_nn_mha;

/* in_proj xavier-uniform (or as init says), biases 0, out_proj kaiming-uniform. */
rec_status rec_nn_mha_init(rec_nn_mha *a, rec_pstore *ps, const char *prefix, int64_t dim,
                           int64_t heads, float dropout, rec_nn_init init, rec_rng *rng);
/* x [B, T, d] -> [B, T, d].  causal: position t attends to 0..t.  lengths
 * (I32 [B] or NULL) is a key-padding mask for right-padded sequences: keys
 * t >= lengths[b] are ignored; a query with no key left gets zeros. */
rec_tensor *rec_nn_mha_forward(rec_graph *g, const rec_nn_mha *a, rec_tensor *x, int causal,
                               rec_tensor *lengths);

/* ---- transformer block (transformer.c) --------------------------------------------
 * SASRec's pre-LN block:
 *   h = LN_a(x); x = x + MHA(h, h, h; causal unless the caller clears causal)
 *   x = x + Dropout(W2 Dropout(ReLU(W1 LN_f(x) + b1)) + b2)
 *   x = x * keep   (padding rows zero)
 * Names: <prefix>.ln_a, .attn, .ln_f, .ff1, .ff2. */
typedef struct rec_nn_transformer {
    rec_nn_layernorm ln_a, ln_f;
    rec_nn_mha attn;
    rec_nn_linear ff1, ff2;
    float dropout;
    int causal;            /* 1 after init (SASRec); 0: every position sees all keys */
} rec_nn_transformer;

rec_status rec_nn_transformer_init(rec_nn_transformer *b, rec_pstore *ps, const char *prefix,
                                   int64_t dim, int64_t heads, int64_t ff_dim, float dropout,
                                   float ln_eps, rec_nn_init init, rec_rng *rng);
/* x [B, T, d]; keep I32 [B, T] (1 = the position holds an item) or NULL;
 * lengths as rec_nn_mha_forward (NULL in SASRec). */
rec_tensor *rec_nn_transformer_forward(rec_graph *g, const rec_nn_transformer *b,
                                       rec_tensor *x, rec_tensor *keep, rec_tensor *lengths);

/* y = x * keep[row]: x [rows, d], keep I32 [rows] of 0/1 (mask_rows.c). */
rec_tensor *rec_nn_mask_rows(rec_graph *g, rec_tensor *x, rec_tensor *keep);

/* ---- learned positional embedding (position.c) ------------------------------------ */
typedef struct rec_nn_position {
    rec_tensor *weight;    /* [maxlen + 1, d] with padding (row 0), else [maxlen, d] */
    int64_t maxlen, dim;
    int padding;
} rec_nn_position;

/* padding != 0: SASRec's table, row 0 zero and positions 1..T. */
rec_status rec_nn_position_init(rec_nn_position *p, rec_pstore *ps, const char *prefix,
                                int64_t maxlen, int64_t dim, int padding, rec_nn_init init,
                                rec_rng *rng);
/* -> [B, T, d], row (b, t) = the embedding of position t (t + 1 with
 * padding); rows with keep[b, t] == 0 (keep I32 [B, T] or NULL) are zero
 * and get no gradient.  T <= maxlen. */
rec_tensor *rec_nn_position_forward(rec_graph *g, const rec_nn_position *p, int64_t batch,
                                    int64_t len, rec_tensor *keep);

/* ---- 1-D convolution sequence encoder (conv1d.c) ------------------------------------ */
typedef struct rec_nn_conv1d {
    rec_tensor *weight;    /* [out, k * in]: window rows t..t+k-1 flattened (k-major) */
    rec_tensor *bias;      /* [out] */
    int64_t in, out, kernel;
} rec_nn_conv1d;

rec_status rec_nn_conv1d_init(rec_nn_conv1d *c, rec_pstore *ps, const char *prefix,
                              int64_t in, int64_t out, int64_t kernel, rec_nn_init init,
                              rec_rng *rng);
/* x [B, T, in] (T >= kernel) -> max over t of ReLU(conv(x))[b, t, :], [B, out]. */
rec_tensor *rec_nn_conv1d_encode(rec_graph *g, const rec_nn_conv1d *c, rec_tensor *x);
/* The windows op: x [B, T, in] -> [B, T - k + 1, k * in]. */
rec_tensor *rec_nn_unfold(rec_graph *g, rec_tensor *x, int64_t kernel);

/* ---- gated mix of long- and short-term user vectors (gated_mix.c) -------------------
 * gate = sigmoid(W [u_long; u_short] + b),  out = gate * u_long + (1 - gate) * u_short.
 * W [d, 2d] ("<prefix>.weight"), b [d]. */
typedef struct rec_nn_gated_mix {
    rec_nn_linear gate;
    int64_t dim;
} rec_nn_gated_mix;

rec_status rec_nn_gated_mix_init(rec_nn_gated_mix *m, rec_pstore *ps, const char *prefix,
                                 int64_t dim, rec_nn_init init, rec_rng *rng);
/* u_long, u_short [B, d] -> [B, d] */
rec_tensor *rec_nn_gated_mix_forward(rec_graph *g, const rec_nn_gated_mix *m,
                                     rec_tensor *u_long, rec_tensor *u_short);

/* ---- dense mixture of experts (moe.c) ------------------------------------------------
 * Shazeer et al., ICLR 2017, with every expert on every row (MMoE's form,
 * Ma et al., KDD 2018, with one task):
 *   p = softmax(W_g z + b_g)  [B, K],   y = sum_k p[:, k] E_k(x)  [B, out]
 * E_k an MLP "<prefix>.expert<k>" (ReLU between layers, none after the last),
 * the gate a Linear "<prefix>.gate" [K, gate_in]; z is what the gate reads
 * (the experts' input itself, or any other rows of the batch).
 * The balance term over a batch is the squared coefficient of variation of
 * the experts' importance (Shazeer et al.'s sum_b p[b, k]), which with
 * P_k = mean_b p[b, k] is
 *   balance = K sum_k P_k^2 - 1
 * 0 when every expert gets the same mean share, K - 1 when one takes all.
 * The Switch Transformer's K sum_k f_k P_k counts rows routed to each
 * expert (f_k), which a dense gate does not do, so it is not used here. */
#define REC_NN_MOE_MAX 16
typedef struct rec_nn_moe {
    rec_nn_mlp expert[REC_NN_MOE_MAX];
    rec_nn_linear gate;
    int k;
    int64_t in, out, gate_in;
} rec_nn_moe;

/* k experts, each an MLP of n layers dims[0] .. dims[n] (rec_nn_mlp_init). */
rec_status rec_nn_moe_init(rec_nn_moe *m, rec_pstore *ps, const char *prefix, int k, int n,
                           const int64_t *dims, int64_t gate_in, rec_nn_act act, rec_rng *rng);
/* x [B, in], z [B, gate_in] -> [B, out]; *probs (probs may be NULL)
 * receives p [B, K]. */
rec_tensor *rec_nn_moe_forward(rec_graph *g, const rec_nn_moe *m, rec_tensor *x, rec_tensor *z,
                               rec_tensor **probs);
/* probs [B, K] -> [1], the balance term above. */
rec_tensor *rec_nn_moe_balance(rec_graph *g, rec_tensor *probs);

/* ---- per-feature gates (feature_gate.c) ------------------------------------------------
 * x [B, in] holds nf feature blocks side by side (block j is widths[j]
 * columns), c [B, ctx] the context the gates read:
 *   a = 2 sigmoid(W c + b)  [B, nf],   y[:, block j] = a[:, j] x[:, block j]
 * W [nf, ctx] ("<prefix>.weight") and b [nf] start at zero, so every gate
 * starts at 1 and the layer as the identity; the factor 2 lets a gate lift
 * a feature as well as damp it (the range (0, 2) of PEPNet's gate unit,
 * Chang et al., KDD 2023). */
#define REC_NN_GATE_MAX 16
typedef struct rec_nn_feature_gate {
    rec_nn_linear gate;
    int nf;
    int64_t width[REC_NN_GATE_MAX], in, ctx;
} rec_nn_feature_gate;

rec_status rec_nn_feature_gate_init(rec_nn_feature_gate *fg, rec_pstore *ps, const char *prefix,
                                    int nf, const int64_t *widths, int64_t ctx, rec_rng *rng);
/* x [B, in], c [B, ctx] -> [B, in]; *gates (gates may be NULL) receives a. */
rec_tensor *rec_nn_feature_gate_forward(rec_graph *g, const rec_nn_feature_gate *fg,
                                        rec_tensor *x, rec_tensor *c, rec_tensor **gates);

/* ---- attention pooling with learned queries (attn_pool.c) ------------------------------
 * K heads, each a learned query q_k [d] ("<prefix>.query" [K, d], N(0, 1)),
 * pool a sequence x [B, T, d] whose first lengths[b] positions are valid:
 *   w[b, k, t] = softmax_t(q_k . x[b, t] / sqrt(d))  over t < lengths[b]
 *   y[b, k]    = sum_t w[b, k, t] x[b, t]            -> [B, K, d]
 * The multi-interest user encoder (MIND, Li et al., CIKM 2019, pools the
 * history into K interest capsules by routing; ComiRec-SA, Cen et al.,
 * KDD 2020, by self-attention with a query per interest, as here). */
#define REC_NN_ATTN_POOL_MAX 16
typedef struct rec_nn_attn_pool {
    rec_tensor *query;
    int heads;
    int64_t dim;
} rec_nn_attn_pool;

rec_status rec_nn_attn_pool_init(rec_nn_attn_pool *a, rec_pstore *ps, const char *prefix,
                                 int heads, int64_t dim, rec_rng *rng);
/* x [B, T, d], lengths I32 [B] in [1, T] -> [B, K, d]; *weights (weights
 * may be NULL) receives w [B, K, T]. */
rec_tensor *rec_nn_attn_pool_forward(rec_graph *g, const rec_nn_attn_pool *a, rec_tensor *x,
                                     rec_tensor *lengths, rec_tensor **weights);

/* ---- LightGCN propagation (lightgcn.c) ------------------------------------------------
 * He et al., SIGIR 2020: no feature transformation, no non-linearity, no
 * self-loop; the readout is the mean of the layers:
 *   E_{k+1} = A E_k  (k = 0 .. L-1),   out = (E_0 + E_1 + ... + E_L) / (L + 1)
 * A is the normalised adjacency [N, N] (rec_uigraph_adjacency: D^-1/2 A D^-1/2
 * in the paper), E_0 [N, d] the node embeddings, users then items.
 * One rec_spmm_mean_powers: Horner's rule t = E_0 + A t, L times, so the
 * backward is the same rule over A^T (the transpose cached on adj, nothing
 * densified, threaded like the forward) and dY / (L + 1); a step holds two
 * [N, d] buffers whatever L is.  L = 0 gives E_0. */
#define REC_NN_LIGHTGCN_MAX_LAYERS 16
rec_tensor *rec_nn_lightgcn_forward(rec_graph *g, rec_csr *adj, rec_tensor *e0, int layers);

/* ---- NGCF propagation (ngcf.c) ---------------------------------------------------------
 * Wang et al., SIGIR 2019.  Per layer k = 0 .. L-1, with S = A E_k (A as above):
 *   E_{k+1} = Dropout(LeakyReLU(W1_k (S + E_k) + b1_k + W2_k (S (.) E_k) + b2_k))
 * (.) elementwise, LeakyReLU slope 0.2, Dropout the paper's message dropout
 * (training only).  The readout concatenates E_0 with every later layer's
 * output scaled to unit L2 norm per row (as NGCF's code does):
 *   out = [E_0, E_1 / |E_1|, ..., E_L / |E_L|]   [N, d + L w].
 * E_0 is d wide and every later layer w (the authors' code's embed_size and
 * layer_size): the weights are rec_nn_linear [d -> w] for the first layer,
 * [w -> w] after, with bias, named "<prefix>.<k>.w1" and "<prefix>.<k>.w2".  Composed of rec_spmm,
 * rec_add, rec_mul, rec_linear, rec_leaky_relu, rec_dropout, rec_l2_normalize
 * and rec_concat, so backward comes from the tape; it holds O(L) [N, d]
 * activations. */
#define REC_NN_NGCF_MAX_LAYERS 8
typedef struct rec_nn_ngcf {
    rec_nn_linear w1[REC_NN_NGCF_MAX_LAYERS], w2[REC_NN_NGCF_MAX_LAYERS];
    int layers;
    int64_t dim, width; /* E_0's, and every later layer's */
    float dropout;
    /* The paper's node dropout (0 after init): while training, each forward
     * drops every node's outgoing messages with this probability (the kept
     * ones scaled by 1 / (1 - p)), the same nodes in every layer; a node's
     * own term (S + E_k) keeps its row. */
    float node_dropout;
} rec_nn_ngcf;
/* Xavier-uniform weights (NGCF's initialiser), PyTorch's bias init. */
rec_status rec_nn_ngcf_init(rec_nn_ngcf *n, rec_pstore *ps, const char *prefix, int64_t dim,
                            int64_t width, int layers, float dropout, rec_rng *rng);
/* e0 [N, dim] -> [N, dim + layers width]. */
rec_tensor *rec_nn_ngcf_forward(rec_graph *g, const rec_nn_ngcf *n, rec_csr *adj,
                                rec_tensor *e0);

/* ---- GCN layer (gcn.c) --------------------------------------------------------------
 * Kipf & Welling, ICLR 2017:  Y = act(Â X W^T + b)  with Â [ndst, nsrc] any
 * normalised adjacency (the renormalised D~^-1/2 (A + I) D~^-1/2 of the paper,
 * or a sampled block of it: rec_uigraph_sample with REC_BLOCK_GCN), X [nsrc, in],
 * W [out, in] ("<prefix>.weight", with "<prefix>.bias").  The product is taken
 * in the cheaper order, Â (X W^T) when out < in, (Â X) W^T otherwise (the same
 * values); rec_spmm's backward is Â^T dY, nothing densified. */
typedef struct rec_nn_gcn {
    rec_nn_linear lin;
    rec_nn_act act;
} rec_nn_gcn;

rec_status rec_nn_gcn_init(rec_nn_gcn *l, rec_pstore *ps, const char *prefix, int64_t in,
                           int64_t out, rec_nn_act act, rec_rng *rng);
/* a [ndst, nsrc], x [nsrc, in] -> [ndst, out]. */
rec_tensor *rec_nn_gcn_forward(rec_graph *g, const rec_nn_gcn *l, rec_csr *a, rec_tensor *x);
/* The graph layers' check of a block and its input: a and x non-NULL, x
 * [a->cols, in]; fails g (message naming fn) and returns its status. */
rec_status rec_nn_block_check(rec_graph *g, rec_csr *a, rec_tensor *x, int64_t in,
                              const char *fn);

/* ---- GraphSAGE layer (sage.c) -------------------------------------------------------
 * Hamilton et al., NeurIPS 2017, with the destination nodes as the first
 * ndst rows of the sources (as rec_uigraph_sample lays blocks out):
 *   mean  n_v = sum_u a[v, u] x_u            (a's values: 1 / |N(v)|, REC_BLOCK_MEAN)
 *   pool  n_v = max_{u in N(v)} ReLU(P x_u + p)      (elementwise max; P [in, in])
 *   y_v = act(W [x_v ; n_v] + b)              (W [out, 2 in]: concat with self)
 *   y_v = y_v / max(|y_v|, 1e-12)             (when normalize)
 * A node without neighbours aggregates zeros.  Names "<prefix>.weight",
 * "<prefix>.bias", and for pool "<prefix>.pool.weight" / ".pool.bias".  Built
 * of rec_spmm (mean), rec_linear, rec_relu, rec_gather and rec_segment_reduce
 * max (pool), rec_slice_rows, rec_concat and rec_l2_normalize. */
typedef enum rec_nn_sage_agg { REC_NN_SAGE_MEAN = 0, REC_NN_SAGE_POOL = 1 } rec_nn_sage_agg;
typedef struct rec_nn_sage {
    rec_nn_linear lin, pool;
    rec_nn_sage_agg agg;
    rec_nn_act act;
    int normalize;
} rec_nn_sage;

rec_status rec_nn_sage_init(rec_nn_sage *l, rec_pstore *ps, const char *prefix, int64_t in,
                            int64_t out, rec_nn_sage_agg agg, rec_nn_act act, int normalize,
                            rec_rng *rng);
/* a [ndst, nsrc] (ndst <= nsrc), x [nsrc, in] -> [ndst, out]. */
rec_tensor *rec_nn_sage_forward(rec_graph *g, const rec_nn_sage *l, rec_csr *a, rec_tensor *x);
/* ---- GAT attention layer (gat.c) ---------------------------------------------------------
 * Velickovic et al., ICLR 2018.  Node a attends to the nodes of its row in
 * nbr (a CSR [N, N] whose values are ignored; include a itself for GAT's
 * self-loop).  Per head h, with z = W x [N, H F] split into heads z_h:
 *   e_ab  = LeakyReLU_0.2(a_dst_h . z_h[a] + a_src_h . z_h[b])
 *   alpha = softmax of e_a. over a's row (rec_segment_softmax)
 *   out_h[a] = sum_b Dropout(alpha_ab) z_h[b]
 * and the heads concatenated [N, H F] or averaged [N, F].  Dropout is the
 * paper's attention dropout (training only).  No activation on the output:
 * the caller adds one if it wants.  Parameters "<prefix>.weight" [H F, in],
 * "<prefix>.att_dst" and ".att_src" [H, F], Xavier-uniform (GAT's Glorot). */
#define REC_NN_GAT_MAX_HEADS 16
typedef struct rec_nn_gat {
    rec_tensor *weight, *att_dst, *att_src;
    int64_t in, out, heads;
    int concat;
    float dropout;
} rec_nn_gat;
rec_status rec_nn_gat_init(rec_nn_gat *l, rec_pstore *ps, const char *prefix, int64_t in,
                           int64_t out, int64_t heads, int concat, float dropout, rec_rng *rng);
/* x [N, in] -> [N, H F] or [N, F]; every row of nbr must be non-empty.
 * *alpha (when alpha is not NULL) receives the attention [nnz, H] before
 * dropout, row k for nbr's entry k. */
rec_tensor *rec_nn_gat_forward(rec_graph *g, const rec_nn_gat *l, const rec_csr *nbr,
                               rec_tensor *x, rec_tensor **alpha);

/* ---- PinSage convolution (pinsage.c) ---------------------------------------------------
 * Ying et al., KDD 2018, Algorithm 1 (CONVOLVE): for a node with
 * representation z and neighbourhood N (its random walks' most visited
 * nodes, importance weights alpha, data/graph_walk-impl.h):
 *   n     = sum_{v in N} alpha_v ReLU(Q z_v + q)   (importance pooling: a
 *           weighted mean when the weights add up to 1)
 *   z'    = ReLU(W [z, n] + w)                     (concat with self, dense)
 *   out   = z' / |z'|                              (normalisation)
 * Parameters "<prefix>.q" [hidden, in] and "<prefix>.w" [out, in + hidden],
 * with biases, Xavier-uniform. */
typedef struct rec_nn_pinsage {
    rec_nn_linear q, w;
    int64_t in, hidden, out;
} rec_nn_pinsage;
rec_status rec_nn_pinsage_init(rec_nn_pinsage *l, rec_pstore *ps, const char *prefix,
                               int64_t in, int64_t hidden, int64_t out, rec_rng *rng);
/* h [R, in] the representations of every node involved; node b of the
 * output is row self[b] of h (self I32 [B]) with neighbours the rows
 * nbrs[offsets[b] .. offsets[b+1]-1] (nbrs I32 [n], offsets I32 [B + 1]),
 * weights F32 [n] -> [B, out].  Q is applied once per row of h, and the
 * pooling gathers from that (rec_embedding_bag), so a row shared by many
 * neighbourhoods costs one transform. */
rec_tensor *rec_nn_pinsage_forward(rec_graph *g, const rec_nn_pinsage *l, rec_tensor *h,
                                   rec_tensor *self, rec_tensor *nbrs, rec_tensor *offsets,
                                   rec_tensor *weights);

#endif
