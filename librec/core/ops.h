/* Differentiable ops over the tape (see tensor-impl.h for the error model).
 * Shapes in comments: [rows, cols] means any leading dims flattened to rows
 * and the last dim as cols.  All F32 unless an index tensor (I32) is named.
 * Every op has a finite-difference gradient check in tests/. */
#ifndef LIBREC_OPS_H
#define LIBREC_OPS_H

#include "tensor-impl.h"

/* ---- products (ops_matmul.c) -------------------------------------------- */
/* C[m,n] = op(A) op(B); A [m,k] ([k,m] if ta), B [k,n] ([n,k] if tb). */
rec_tensor *rec_matmul(rec_graph *g, rec_tensor *a, rec_tensor *b, int ta, int tb);
/* Batched: A [B,m,k], B [B,k,n] (transposes per matrix as above) -> [B,m,n]. */
rec_tensor *rec_bmm(rec_graph *g, rec_tensor *a, rec_tensor *b, int ta, int tb);
/* y = x W^T + b: x [rows,in], W [out,in] (PyTorch's layout), b [out] or NULL. */
rec_tensor *rec_linear(rec_graph *g, rec_tensor *x, rec_tensor *w, rec_tensor *b);

/* ---- elementwise (ops_elementwise.c) --------------------------------------
 * b has a's shape, or [cols] (broadcast over rows), or one element. */
rec_tensor *rec_add(rec_graph *g, rec_tensor *a, rec_tensor *b);
rec_tensor *rec_sub(rec_graph *g, rec_tensor *a, rec_tensor *b);
rec_tensor *rec_mul(rec_graph *g, rec_tensor *a, rec_tensor *b);
rec_tensor *rec_scale(rec_graph *g, rec_tensor *a, float s);
rec_tensor *rec_relu(rec_graph *g, rec_tensor *a);
/* x > 0 ? x : slope x, slope in [0, 1) (NGCF's 0.2, as TensorFlow's default). */
rec_tensor *rec_leaky_relu(rec_graph *g, rec_tensor *a, float slope);
rec_tensor *rec_sigmoid(rec_graph *g, rec_tensor *a);
rec_tensor *rec_tanh(rec_graph *g, rec_tensor *a);
rec_tensor *rec_gelu(rec_graph *g, rec_tensor *a);   /* exact erf form, as PyTorch's default */
/* Inverted dropout with keep-prob 1-p; identity when not training or p == 0. */
rec_tensor *rec_dropout(rec_graph *g, rec_tensor *a, float p);

/* ---- reductions (ops_reduce.c) ------------------------------------------- */
rec_tensor *rec_sum(rec_graph *g, rec_tensor *a);    /* -> [1] */
rec_tensor *rec_mean(rec_graph *g, rec_tensor *a);   /* -> [1] */
rec_tensor *rec_sum_rows(rec_graph *g, rec_tensor *a); /* [rows,cols] -> [rows] */
rec_tensor *rec_rowdot(rec_graph *g, rec_tensor *a, rec_tensor *b); /* [r,c].[r,c] -> [r] */
/* Rows scaled to unit L2 norm: x / max(||x||, eps). */
rec_tensor *rec_l2_normalize(rec_graph *g, rec_tensor *a, float eps);

/* ---- softmax family (ops_softmax.c) --------------------------------------
 * Over the last dim.  Masking: mask (may be NULL) is I32 [rows] giving each
 * row's number of valid leading columns (padding after; 0 = whole row
 * masked, output row 0); causal != 0 additionally masks column j > (row %
 * T) where T = cols (rows are [.., T, T] attention scores). */
rec_tensor *rec_softmax(rec_graph *g, rec_tensor *a, int causal, rec_tensor *mask);
rec_tensor *rec_log_softmax(rec_graph *g, rec_tensor *a, int causal, rec_tensor *mask);
/* y = (x - mean) / sqrt(var + eps) * gamma + beta over the last dim;
 * gamma, beta [cols] (either may be NULL). */
rec_tensor *rec_layernorm(rec_graph *g, rec_tensor *x, rec_tensor *gamma, rec_tensor *beta,
                          float eps);
/* Softmax of each column of x [E, H] over the rows of each segment: segment
 * s is rows offsets[s] .. offsets[s+1]-1 (offsets I32 [S + 1], from 0 to E,
 * non-decreasing).  GAT's softmax over each node's incoming edges, one
 * column per head. */
rec_tensor *rec_segment_softmax(rec_graph *g, rec_tensor *x, rec_tensor *offsets);

/* ---- shape (ops_shape.c) --------------------------------------------------- */
rec_tensor *rec_reshape(rec_graph *g, rec_tensor *a, int nd, const int64_t *shape);
/* Swap the last two dims: [.., m, n] -> [.., n, m]. */
rec_tensor *rec_transpose(rec_graph *g, rec_tensor *a);
/* Concatenate along the last dim; all inputs have the same rows. */
rec_tensor *rec_concat(rec_graph *g, int n, rec_tensor *const *ts);
/* Columns [c0, c1) of every row. */
rec_tensor *rec_slice_cols(rec_graph *g, rec_tensor *a, int64_t c0, int64_t c1);
/* Rows [r0, r1) (over the flattened leading dims). */
rec_tensor *rec_slice_rows(rec_graph *g, rec_tensor *a, int64_t r0, int64_t r1);

/* ---- indexing and sparse (ops_gather.c, ops_segment.c, ops_spmm.c) ------- */
/* out[i] = table[idx[i]]: table [N,d], idx I32 [n] -> [n,d].  Negative idx
 * or idx == pad (pad >= 0) gives a zero row and no gradient.  REC_T_SPARSE
 * tables get a row-sparse gradient. */
rec_tensor *rec_gather(rec_graph *g, rec_tensor *table, rec_tensor *idx, int32_t pad);
typedef enum rec_reduce { REC_REDUCE_SUM = 0, REC_REDUCE_MEAN = 1, REC_REDUCE_MAX = 2 } rec_reduce;
/* Bags over x [n,d]: bag b is rows offsets[b] .. offsets[b+1]-1 (offsets I32
 * [nbags+1]); weights (F32 [n] or NULL) scale each row (sum/mean only); an
 * empty bag gives zeros.  -> [nbags, d]. */
rec_tensor *rec_segment_reduce(rec_graph *g, rec_tensor *x, rec_tensor *offsets,
                               rec_tensor *weights, rec_reduce mode);
/* Fused gather + segment reduce (the embedding bag): no [n,d] intermediate.
 * Negative ids are padding: skipped, not counted by mean nor seen by max. */
rec_tensor *rec_embedding_bag(rec_graph *g, rec_tensor *table, rec_tensor *idx,
                              rec_tensor *offsets, rec_tensor *weights, rec_reduce mode);
/* A constant CSR matrix [rows, cols]; its transpose is built on first use in
 * backward and cached (the struct must outlive the step). */
typedef struct rec_csr {
    int64_t rows, cols, nnz;
    const int64_t *indptr;   /* [rows+1] */
    const int32_t *indices;  /* [nnz]    */
    const float *vals;       /* [nnz], NULL means all ones */
    struct rec_csr *t;       /* cached transpose, owned */
} rec_csr;
void rec_csr_free_transpose(rec_csr *m);
/* Y = A X: A CSR [r,c], X [c,d] -> [r,d]; gradient flows to X. */
rec_tensor *rec_spmm(rec_graph *g, rec_csr *a, rec_tensor *x);
/* y [rows, d] = A x (x [cols, d]) outside any graph: the same threaded row
 * kernel, for solvers that iterate products (the spectral initialisation). */
void rec_csr_mul(const rec_csr *a, const float *x, int64_t d, float *y);
/* Y = (X + A X + ... + A^layers X) / (layers + 1) for a square A, layers
 * >= 1: LightGCN's layer-mean readout as one op, in layers passes over A
 * forward and backward, with one [rows, d] buffer beside Y (ops_spmm.c). */
rec_tensor *rec_spmm_mean_powers(rec_graph *g, rec_csr *a, rec_tensor *x, int layers);

/* ---- losses (ops_loss.c), all -> [1], mean over rows ---------------------- */
/* mean over elements of BCE(sigmoid(logit), target); target F32 same shape;
 * weight (may be NULL) F32 same shape: 0 drops an element (mean over the
 * weighted count). */
rec_tensor *rec_bce_logits(rec_graph *g, rec_tensor *logits, rec_tensor *target,
                           rec_tensor *weight);
/* mean over rows of -log softmax(logits)[target]; target I32 [rows]
 * (negative = ignored row). */
rec_tensor *rec_softmax_xent(rec_graph *g, rec_tensor *logits, rec_tensor *target);
/* mean of softplus(neg - pos) = -log sigmoid(pos - neg); pos, neg [n]. */
rec_tensor *rec_bpr(rec_graph *g, rec_tensor *pos, rec_tensor *neg);

/* ---- ops whose kernels live with their one user ------------------------------
 * The rest of the list: each records a tape node with its backward beside its
 * forward and a gradient check in tests/ like the ops above (the two heads
 * ops through rec_nn_mha_forward's), but is declared beside the layer or
 * model that uses it.
 *   rec_gru            nn/gru.c, nn-impl.h       fused GRU: x [B,T,in] -> [B,T,H]
 *   rec_nn_unfold      nn/conv1d.c, nn-impl.h    windows: [B,T,in] -> [B,T-k+1,k*in]
 *   rec_nn_mask_rows   nn/mask_rows.c, nn-impl.h x [rows,d] * keep[row] (I32 0/1)
 *   split_heads        nn/attention.c (static)   [B,T,3d] -> [B*H,T,d/H], q, k or v
 *   merge_heads        nn/attention.c (static)   [B*H,T,dh] -> [B,T,H*dh]
 *   tt_infonce         models/twotower_loss.c, twotower-impl.h
 *                      in-batch InfoNCE: U, V [B,d] -> [1]
 * A new op goes above, in core, unless only one layer can ever use it; then
 * it gets a line here. */

#endif
