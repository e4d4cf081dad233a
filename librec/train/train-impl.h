/* Internal services of the training layer: samplers, losses, optimizers and
 * the trainer loop.  Not installed; hidden symbols.  Each component keeps its
 * declarations in its own delimited section below. */
#ifndef LIBREC_TRAIN_IMPL_H
#define LIBREC_TRAIN_IMPL_H

#include "core/comm-impl.h"
#include "core/tensor-impl.h"
#include "librec/data.h"   /* rec_dataset (samplers) */

#include <stdint.h>

/* ==== optimizers (optim.c, optim_sgd.c, optim_adam.c, optim_adagrad.c,
 *      rowgrad_coalesce.c) =================================================
 *
 * An optimizer updates every parameter of a rec_pstore from its gradients:
 *  - dense params from their persistent dense gradient t->g, which the step
 *    then zeroes (so the caller need not call rec_pstore_zero_grad);
 *  - REC_T_SPARSE tables from the rowgrad chunks of the last backward pass,
 *    LAZILY: only the touched rows' values and optimizer state change.  The
 *    chunks are read, never freed or cleared: call rec_graph_reset between
 *    steps, or the same sparse gradient is applied twice.
 *
 * Kinds and keys (validated by rec_params_check against the kind's table;
 * rec_optim_spec gives it):
 *   all:     lr, weight_decay, clip_norm (global L2 norm over dense and sparse
 *            gradients before weight decay, 0 = off), lr_schedule
 *            ("constant|warmup|step|cosine"), warmup_steps, step_size, gamma,
 *            total_steps, min_lr
 *   sgd:     momentum, nesterov (needs momentum > 0)
 *   adam:    beta1, beta2 (< 1), eps; weight_decay is L2 added to the gradient
 *   adamw:   as adam, weight_decay decoupled: w *= 1 - lr * wd before Adam
 *   adagrad: eps, initial_accumulator_value
 * The formulas are PyTorch's (torch.optim.SGD with dampening 0, Adam, AdamW,
 * Adagrad with lr_decay 0); sparse tables follow SparseAdam: moments of
 * untouched rows are not decayed, and bias correction uses the table's own
 * step count, which advances on every step that touches the table (dense
 * params advance on every step).  Weight decay on a sparse table applies to
 * the touched rows only.
 *
 * Learning rate at step t (t = steps done so far, W = warmup_steps):
 *   t < W:              lr * (t + 1) / W  (for every schedule)
 *   constant, warmup:   lr
 *   step:               max(min_lr, lr * gamma^floor((t - W) / step_size))
 *   cosine:             min_lr + (lr - min_lr) * (1 + cos(pi * u)) / 2,
 *                       u = min(1, (t - W) / (total_steps - W))
 * "warmup" needs warmup_steps >= 1, "cosine" total_steps > warmup_steps.
 *
 * Optimizer state (moments, momentum buffers, Adagrad sums) is allocated on
 * the first step (or by rec_optim_prepare) through rec_malloc, one buffer per
 * slot sized as its param; params added to the store later get theirs on the
 * next step.  Large update loops run through rec_parallel_for; results never
 * depend on the thread count.  An optimizer is not thread-safe: one call at a
 * time, and no op may run on its store during a step. */

typedef struct rec_optim rec_optim;

/* kind: "sgd" | "adam" | "adamw" | "adagrad"; p may be NULL (all defaults).
 * The optimizer keeps ps (not owned; it must outlive the optimizer) and
 * copies what it needs from p.  REC_E_INVALID for a NULL out/kind/ps, an
 * unknown key, a wrong type or inconsistent keys; REC_E_RANGE for a value
 * out of bounds; REC_E_NOTFOUND for an unknown kind; REC_E_NOMEM. */
rec_status rec_optim_create(rec_optim **out, const char *kind, const rec_params *p,
                            rec_pstore *ps);
void rec_optim_destroy(rec_optim *o);

/* The typed constructor models use instead of a params bag: every field of
 * the kind, checked against the kind's bounds as rec_optim_create checks its
 * keys (fields the kind has no key for are ignored).  Start from
 * rec_optim_config_init, which fills the kind's defaults. */
enum { REC_LR_CONSTANT, REC_LR_WARMUP, REC_LR_STEP, REC_LR_COSINE };
typedef struct rec_optim_config {
    const char *kind;                /* "sgd" | "adam" | "adamw" | "adagrad" */
    double lr, weight_decay, clip_norm;
    double momentum;                 /* sgd */
    int nesterov;                    /* sgd */
    double beta1, beta2, eps;        /* adam, adamw (eps: adagrad too) */
    double initial_accumulator_value; /* adagrad */
    int lr_schedule;                 /* REC_LR_* */
    int64_t warmup_steps, step_size, total_steps;
    double gamma, min_lr;
} rec_optim_config;

/* REC_E_NOTFOUND for an unknown kind. */
rec_status rec_optim_config_init(rec_optim_config *c, const char *kind);
/* REC_E_RANGE for a field out of bounds, REC_E_INVALID for inconsistent
 * fields, REC_E_NOMEM. */
rec_status rec_optim_create_config(rec_optim **out, const rec_optim_config *c, rec_pstore *ps);

/* The key table of a kind (NULL for an unknown kind), for --help and
 * wrappers. */
const rec_param_spec *rec_optim_spec(const char *kind, size_t *n);

/* One update of every param, then the dense gradients are zeroed.
 * REC_E_NOMEM (state or coalescing buffers), or REC_E_RANGE (a sparse
 * gradient row outside its table), leave every param, every gradient and the
 * state unchanged. */
rec_status rec_optim_step(rec_optim *o);

/* ---- distributed steps (grad_exchange.c) ------------------------------------
 * With a communicator of size > 1 attached, every step first exchanges the
 * gradients so every rank applies the same update, that of the global batch:
 * each rank's gradients (means over its local_n examples) are weighted by
 * local_n / (sum of local_n) and summed in rank order.  Dense params go
 * through one allreduce of one fused buffer; a sparse table's coalesced rows
 * through an allgatherv of (row, gradient) records merged in rank order, or,
 * when the ranks touch more than half its rows in total, as a dense block of
 * rows x (cols + 1) (the last column counts the ranks that touched the row,
 * so lazy optimizers still update exactly the union of touched rows) in the
 * same fused allreduce.  Both paths give the same sums.  The step starts with
 * an agreement (rec_comm_sync): an error on any rank, before or in its step,
 * makes every rank's step fail with that rank's message, params unchanged.
 * Size 1 or NULL: no exchange, bit for bit a local step. */
void rec_optim_set_comm(rec_optim *o, rec_comm *c);
/* This rank's weight in the coming step (>= 0): what its loss is a mean
 * over.  The trainer sets the example count before each step; a model
 * whose loss is a mean over something else (kept slots, target positions)
 * sets that instead, just before rec_optim_step. */
void rec_optim_set_share(rec_optim *o, double local_n);
/* This rank's share of the last exchanged step (local / sum; 1 alone). */
double rec_optim_share_weight(const rec_optim *o);
/* The step of a rank with no example in the batch: joins the exchange with
 * zero gradients (the model never ran, so its graph is not read). */
rec_status rec_optim_step_idle(rec_optim *o);
/* Agreements the optimizer has joined, and whether the last one failed (an
 * error every rank has seen). */
int64_t rec_optim_agreements(const rec_optim *o, int *last_failed);

/* Allocates the state of every param that has none yet (step does it too);
 * lets a checkpoint loader fill the state before the first step. */
rec_status rec_optim_prepare(rec_optim *o);

/* The learning rate the next step will use (after the schedule). */
double rec_optim_lr(const rec_optim *o);
/* Replaces the base learning rate (lr >= 0, finite); the schedule still
 * scales it. */
rec_status rec_optim_set_lr(rec_optim *o, double lr);
/* Steps done since creation. */
int64_t rec_optim_steps(const rec_optim *o);
const char *rec_optim_kind_name(const rec_optim *o);

/* State tensors, for checkpoints.  Entry i of rec_optim_state_count(o)
 * (0 before the first step or prepare); pointers stay valid until destroy. */
typedef struct rec_optim_state {
    const char *param;  /* the param's name in the store              */
    const char *slot;   /* "exp_avg", "exp_avg_sq", "momentum_buffer", "sum" */
    float *v;           /* n floats, laid out as the param             */
    int64_t n;
    int64_t *step;      /* the param's own step count (shared by its slots) */
} rec_optim_state;
size_t rec_optim_state_count(const rec_optim *o);
rec_status rec_optim_state_at(const rec_optim *o, size_t i, rec_optim_state *out);

/* ---- coalescing a sparse gradient (rowgrad_coalesce.c) ----------------------
 * Merges a table's rowgrad chunks into unique rows in ascending order with
 * summed gradients.  Entries are sorted by row with a stable LSD radix sort
 * (11-bit digits, as many passes as the table's row count needs), so every
 * row's sum is taken in chunk-list order whatever the thread count.  A row
 * seen once is not copied: its gradient pointer is the chunk's own row (so
 * the result lives only until rec_graph_reset); repeated rows are summed
 * into a buffer.  The buffers are kept and grown geometrically: no
 * allocation in steady state.  Cost O(entries * passes + repeated entries *
 * cols); memory O(entries + repeated rows * cols). */
typedef struct rec_coalesce {
    int32_t *rows;      /* [n] unique rows, ascending                        */
    float **grad;       /* [n] -> the row's summed gradient, cols floats;
                           read-only when it points into a chunk          */
    int64_t n, cols;
    /* buffers (private) */
    uint64_t *keys, *tmp;       /* [cap] row << 32 | entry            */
    float **src;                /* [cap] entry -> its gradient row    */
    int64_t *start;             /* [cap + 1] first sorted entry of each row */
    float *vals;                /* [vcap] sums of the repeated rows   */
    int64_t cap, rcap, vcap;    /* entries, rows (rows and grad), floats */
} rec_coalesce;

void rec_coalesce_init(rec_coalesce *c);
void rec_coalesce_free(rec_coalesce *c);
/* c->n = 0 when the table has no chunks.  REC_E_RANGE for a row outside
 * [0, rows), REC_E_NOMEM; fn names the caller in the message.  On error
 * c->n is 0. */
rec_status rec_rowgrad_coalesce(rec_coalesce *c, const rec_tensor *table, const char *fn);

#ifdef REC_OPTIM_INTERNAL
/* Shared by the optimizer files only. */

/* Per-param, per-step scalars the element kernels use. */
typedef struct rec_optim_coef {
    float lr, gscale, wd;       /* gscale: clipping factor (1 when off) */
    float momentum, beta1, beta2, eps;
    float omb1, omb2;           /* 1 - beta1, 1 - beta2 taken in double */
    float step_size, inv_sqrt_bc2; /* Adam: lr / (1 - b1^t), 1 / sqrt(1 - b2^t) */
    float decay;                /* AdamW: 1 - lr * wd                     */
    int nesterov, zero_g;       /* zero_g: clear g after reading it       */
} rec_optim_coef;

typedef struct rec_optim_param {
    rec_tensor *t;
    float *s[2];                /* state slots, t->n floats each, or NULL */
    int64_t step;
    rec_coalesce co;            /* sparse tables: this step's gradient  */
    /* what the update reads: co's rows, or the exchanged ones */
    const int32_t *urows;
    float *const *ugrad;
    int64_t un;
} rec_optim_param;

/* Updates w[0..n) from g with state s0, s1 (NULL when the kind has fewer). */
typedef void (*rec_optim_kernel)(const rec_optim_coef *c, float *w, float *g, float *s0,
                                 float *s1, int64_t n);

typedef struct rec_optim_kind {
    const char *name;
    const rec_param_spec *spec;
    size_t nspec;
    const char *slot_name[2];
    /* Number of slots needed (may depend on hyperparameters, e.g. momentum). */
    int (*nslots)(const rec_optim *o);
    /* Fills the kind's fields of c for param p (p->step already advanced). */
    void (*coef)(const rec_optim *o, const rec_optim_param *p, rec_optim_coef *c);
    rec_optim_kernel kernel;
} rec_optim_kind;

struct rec_optim {
    const rec_optim_kind *kind;
    rec_pstore *ps;
    rec_optim_param *p;
    size_t np, pcap;
    int64_t steps;
    /* hyperparameters (keys a kind lacks read as 0) */
    double lr, momentum, beta1, beta2, eps, wd, clip, init_acc;
    int nesterov;
    int schedule;               /* REC_LR_* */
    int64_t warmup, step_size, total;
    double gamma, min_lr;
    double lr_now;              /* lr of the step being applied */
    /* distributed (grad_exchange.c) */
    rec_comm *comm;
    double local_n, weight;
    int64_t agreements;
    int idle, agree_failed;
    struct rec_exchange *x;
};

/* Exchanges this step's gradients (local: the rank's status so far, joined
 * to the agreement); sets every param's urows/ugrad/un.  On failure nothing
 * is written to a param. */
rec_status rec_grad_exchange(rec_optim *o, rec_status local);
void rec_exchange_free(struct rec_exchange *x);

extern const rec_optim_kind rec_optim_kind_sgd, rec_optim_kind_adam, rec_optim_kind_adamw,
    rec_optim_kind_adagrad;

/* The keys every kind accepts, to splice into a kind's table. */
#define REC_OPTIM_COMMON_SPEC(lr_def, wd_def)                                                  \
    { "lr", REC_PARAM_FLOAT, lr_def, 0, 1e6, NULL, "learning rate" },                          \
    { "weight_decay", REC_PARAM_FLOAT, wd_def, 0, 1e6, NULL, "weight decay factor" },          \
    { "clip_norm", REC_PARAM_FLOAT, "0", 0, 1e30, NULL,                                        \
      "clip gradients to this global L2 norm (0 = off)" },                                     \
    { "lr_schedule", REC_PARAM_STR, "constant", 0, 0, "constant|warmup|step|cosine",           \
      "learning-rate schedule" },                                                              \
    { "warmup_steps", REC_PARAM_INT, "0", 0, 1e15, NULL, "linear warmup steps" },              \
    { "step_size", REC_PARAM_INT, "1000", 1, 1e15, NULL, "steps between decays (step)" },      \
    { "gamma", REC_PARAM_FLOAT, "0.1", 0, 1, NULL, "decay factor per step_size (step)" },      \
    { "total_steps", REC_PARAM_INT, "0", 0, 1e15, NULL, "length of the cosine schedule" },     \
    { "min_lr", REC_PARAM_FLOAT, "0", 0, 1e6, NULL, "floor of the decayed learning rate" }
#endif /* REC_OPTIM_INTERNAL */

/* ==== end of optimizers ==================================================== */

/* ==== samplers (sampler.c, sampler_popularity.c, sampler_hard.c) ==========
 *
 * A negative sampler: for a user, items the user has not interacted with in
 * training.  Built from a user CSR of training items (a copy is kept, sorted
 * and deduplicated per user, so membership is a binary search).
 *
 * Keys (rec_sampler_spec):
 *   kind        "uniform" | "popularity" | "hard"
 *   alpha       popularity: item i is proposed with probability
 *               count_i^alpha / sum_j count_j^alpha (count = training
 *               interactions; 0^alpha = 0 for alpha > 0, so unseen items
 *               are never proposed; alpha = 0 is uniform); alias table,
 *               O(1) per proposal
 *   hard_ratio  hard: each negative is, with this probability, taken from
 *               the user's hard candidates (a list given with
 *               rec_sampler_set_hard_list, or the top hard_k items returned
 *               by a callback set with rec_sampler_set_hard_fn), otherwise
 *               uniform
 *   hard_k      hard: how many items the callback is asked for
 *   max_tries   proposals drawn before falling back (see below)
 *
 * Rejection of positives: a proposal that is one of the user's training
 * items is redrawn, up to max_tries times.  When all tries hit positives (a
 * user who has seen nearly everything), the negative is drawn exactly
 * uniformly among the user's non-positive items, by rank (O(log positives)),
 * so uniform sampling is exact in every case and popularity sampling
 * degrades to uniform only for such users.  A hard slot whose candidates are
 * all positives (or empty) is filled from the uniform part.  A user who has
 * seen EVERY item has no negative: those slots get -1, which rec_gather
 * treats as padding (a zero row, no gradient).
 *
 * Thread safety: after the setters, a sampler is read-only: any number of
 * threads may call rec_sampler_draw at once, each with its own rec_rng
 * (e.g. rec_rng_stream(seed, shard)); the draws depend only on the RNG's
 * state, so results never depend on the thread count.  The setters are not
 * thread-safe and must precede the draws. */

typedef struct rec_sampler rec_sampler;

/* Hard-negative source: writes up to k item ids (the model's current top-k
 * for user, say) into items and their number into *n.  Called from
 * rec_sampler_draw, so from many threads at once when draws run in parallel
 * (the model must be read-only meanwhile).  A nonzero status aborts the
 * draw and is returned by it. */
typedef rec_status (*rec_sampler_topk_fn)(void *ctx, int32_t user, int32_t k, int32_t *items,
                                          int32_t *n);

#define REC_SAMPLER_MAX_HARD_K 1024

const rec_param_spec *rec_sampler_spec(size_t *n);

/* From a dataset's user CSR (rec_ds_user_csr: call it once beforehand when
 * other threads read d).  p may be NULL (defaults).  REC_E_INVALID for NULL
 * arguments, bad keys or a dataset without users or items; REC_E_RANGE for a
 * value out of bounds; REC_E_NOMEM. */
rec_status rec_sampler_create(rec_sampler **out, const rec_dataset *d, const rec_params *p);
/* From a CSR given directly: user u's items are items[indptr[u] ..
 * indptr[u+1]), in any order, duplicates allowed (they count for
 * popularity).  Copied.  REC_E_RANGE for an item outside [0, nitems) or a
 * decreasing indptr. */
rec_status rec_sampler_create_csr(rec_sampler **out, int32_t nusers, int32_t nitems,
                                  const int64_t *indptr, const int32_t *items,
                                  const rec_params *p);
void rec_sampler_destroy(rec_sampler *s);

/* Hard candidates per user (same CSR layout, nusers + 1 offsets; copied).
 * Replaces a callback.  REC_E_STATE unless kind is "hard". */
rec_status rec_sampler_set_hard_list(rec_sampler *s, const int64_t *indptr,
                                     const int32_t *items);
/* Replaces a list. */
rec_status rec_sampler_set_hard_fn(rec_sampler *s, rec_sampler_topk_fn fn, void *ctx);

/* n negatives for user into out[n].  REC_E_RANGE for a user outside
 * [0, nusers) or an out-of-range item from the hard callback; REC_E_STATE
 * for kind "hard" without a source; REC_E_INVALID for NULL arguments or
 * n < 0. */
rec_status rec_sampler_draw(const rec_sampler *s, rec_rng *rng, int32_t user, int64_t n,
                            int32_t *out);

/* 1 when item is one of user's training items (0 for ids out of range). */
int rec_sampler_is_positive(const rec_sampler *s, int32_t user, int32_t item);
/* Items the user has not interacted with. */
int32_t rec_sampler_num_negatives(const rec_sampler *s, int32_t user);
/* log of the probability that the random (non-hard) part proposes item:
 * -log(nitems) for uniform and hard, log(count^alpha / sum) for popularity
 * (-INFINITY for an item it never proposes).  This is the log-Q correction
 * of rec_loss_sampled_softmax; for in-batch negatives use a "popularity"
 * sampler with alpha = 1 (items enter a batch in proportion to their
 * interactions). */
double rec_sampler_log_q(const rec_sampler *s, int32_t item);
int32_t rec_sampler_num_users(const rec_sampler *s);
int32_t rec_sampler_num_items(const rec_sampler *s);

/* ==== end of samplers ====================================================== */

/* ==== losses (loss.c) =====================================================
 *
 * Graph-level loss builders, each -> [1], with the ops' error model (NULL
 * and a sticky graph error on bad input; NULL at once for a NULL input).
 * BPR is rec_bpr (ops.h); plain softmax cross-entropy is rec_softmax_xent. */

/* Binary cross-entropy with logits over explicit negatives: pos [B] (any
 * shape of B elements), neg [B, N] (rows = B):
 *   mean over b of  softplus(-pos_b) + sum_n softplus(neg_bn)
 * i.e. -log sigmoid(pos) - sum log(1 - sigmoid(neg)) per row, a dedicated
 * op (overflow-free, no [B, 1+N] concatenation). */
rec_tensor *rec_loss_bce_negatives(rec_graph *g, rec_tensor *pos, rec_tensor *neg);

/* In-batch InfoNCE: U [B, d], V [B, d] (row b of V is user b's positive and
 * everyone else's negative); logits L = U V^T / temperature, minus logq[j]
 * in column j when logq ([B], the log-probability that item j is in a
 * batch) is not NULL: the log-Q correction of sampled softmax (Yi et al.,
 * RecSys 2019).  Loss = mean over b of -log softmax(L_b)[b].  temperature
 * > 0 and finite. */
rec_tensor *rec_loss_infonce(rec_graph *g, rec_tensor *u, rec_tensor *v, float temperature,
                             rec_tensor *logq);

/* Sampled softmax with M shared negatives: U [B, d], V_pos [B, d], V_neg
 * [M, d]; logits of row b: [u_b.vpos_b / t - logq_pos[b],
 * u_b.vneg_m / t - logq_neg[m] for each m]; loss = mean over b of
 * -log softmax(row)[0].  logq_pos [B] and logq_neg [M] may each be NULL (no
 * correction). */
rec_tensor *rec_loss_sampled_softmax(rec_graph *g, rec_tensor *u, rec_tensor *vpos,
                                     rec_tensor *vneg, rec_tensor *logq_pos,
                                     rec_tensor *logq_neg, float temperature);

/* RankNet (Burges et al., ICML 2005) over groups of scored items: scores
 * [n] (any shape of n elements), labels F32 [n] (graded relevance), weight
 * F32 [n] or NULL (0 drops an item from every pair), offsets I32 [G + 1]
 * (group g is items offsets[g] .. offsets[g+1]-1; offsets[0] = 0,
 * offsets[G] = n, non-decreasing).  Every ordered pair (a, b) of a group
 * with labels[a] > labels[b] contributes w_a w_b softplus(s_b - s_a) =
 * -w_a w_b log sigmoid(s_a - s_b) (sigma 1; tied pairs carry no order and
 * are skipped); loss = that sum / sum of w_a w_b over the same pairs (0
 * when there is no pair).  With binary labels and one positive per group,
 * this is BPR's pairwise term over the group's negatives.  Cost O(sum of
 * group size^2). */
rec_tensor *rec_loss_ranknet(rec_graph *g, rec_tensor *scores, rec_tensor *labels,
                             rec_tensor *weight, rec_tensor *offsets);

/* lambda * contrastive + (1 - lambda) * bce, both [1]; lambda in [0, 1]. */
rec_tensor *rec_loss_mixed(rec_graph *g, float lambda, rec_tensor *contrastive, rec_tensor *bce);

/* ==== end of losses ======================================================== */

/* ==== trainer (trainer.c, trainer_checkpoint.c) ============================
 *
 * The epoch loop models call instead of writing their own:
 *
 *   for epoch = 1 .. epochs:
 *       batches: a fresh permutation of [0, n_examples) cut into slices of
 *                `batch` (vt->make_batches NULL), or vt->make_batches' count
 *                visited in a shuffled order
 *       loss    = mean of vt->step over the batches
 *       every validate_every epochs: vt->validate -> metric; a better one
 *                (metric_mode) keeps a copy of every param of the store (and
 *                calls vt->snapshot); patience validations in a row without
 *                improvement stop the run early
 *       every checkpoint_every epochs (and at the last): checkpoint
 *       progress(user, epoch, epochs, loss): nonzero -> REC_E_CANCELLED
 *   at the end (early stop or not) the best params are restored when
 *   restore_best and a validation ever ran (and vt->restore is called).
 *
 * All randomness of a run comes from one rec_rng seeded by `seed` and
 * passed to the callbacks; a step that needs parallel streams derives them
 * from it (rec_rng_u64 once, then rec_rng_stream).  So a run is a function
 * of the seed, and the checkpoint can capture it.
 *
 * Checkpoint: an .lrm of kind "checkpoint" written atomically (temporary
 * file + rename): every param ("param.<name>"), the optimizer's kind, step
 * count and state ("optim.<param>.<slot>" and its step), the kept best
 * params, and a "trainer" blob (epoch done, RNG state, best metric and
 * epoch, validations without improvement).  With resume = true and the file
 * present, the run loads it and continues at the next epoch: a run split by
 * a checkpoint gives the same params, bit for bit, as one run straight
 * through (given a step that depends only on the params, optimizer and
 * RNG).  A missing file starts afresh; a malformed one is REC_E_FORMAT and
 * leaves the store and optimizer untouched.  The model's own state outside
 * the store is not saved.
 *
 * vt->begin_epoch, when set, runs before each epoch's batches (a model
 * refreshing what its steps read, e.g. hard negatives from the current
 * params); it must depend only on the params, so resume stays exact.
 *
 * Keys (rec_trainer_spec): epochs, batch, seed, patience (0 = off), metric
 * (a name for messages and the checkpoint's metadata), metric_mode
 * ("max" | "min"), validate_every (0 = never), restore_best, checkpoint
 * (path, "" = none), checkpoint_every, resume. */

/* One batch handed to vt->step.  Trainer-made: rows[n] are example ids
 * (this rank's part of a slice of the epoch's permutation), index its
 * position.  Model-made: index is the model's batch id in [0, nbatches),
 * rows NULL, n 0.
 *
 * Randomness: the step's rng is a stream of its own, derived from seed (the
 * same on every rank), so what a step draws never shifts the trainer's
 * stream.  A step whose result must not depend on how the batch is split
 * over ranks draws each example's randomness from rec_batch_rng(b, k), a
 * stream keyed by the step and the example's global id (ids[k], or rows[k]
 * when ids is NULL). */
typedef struct rec_batch {
    int64_t index;
    const int32_t *rows;
    int64_t n;
    uint64_t seed;
    const int64_t *ids;
} rec_batch;

static inline void rec_batch_rng(const rec_batch *b, int64_t k, rec_rng *r)
{
    rec_rng_stream(r, b->seed, (uint64_t)(b->ids ? b->ids[k] : b->rows[k]) + 1);
}

typedef struct rec_trainer_vt {
    int64_t n_examples;    /* trainer-made batches: examples, < 2^31 */
    /* Optional: the model cuts its own batches for epoch (1-based); the
     * trainer visits 0 .. *nbatches - 1 in shuffled order. */
    rec_status (*make_batches)(void *ctx, int epoch, rec_rng *rng, int64_t *nbatches);
    /* Required: one optimisation step; *loss is the batch's loss. */
    rec_status (*step)(void *ctx, const rec_batch *b, rec_rng *rng, double *loss);
    /* Optional: the validation metric after `epoch`. */
    rec_status (*validate)(void *ctx, int epoch, double *metric);
    /* Optional: keep / bring back model state outside the store. */
    rec_status (*snapshot)(void *ctx);
    rec_status (*restore)(void *ctx);
    /* Optional: called before each epoch (1-based). */
    rec_status (*begin_epoch)(void *ctx, int epoch);
    /* Optional, for rec_model_train's validation: make the model's scoring
     * state (vectors derived from the params) reflect the params now. */
    rec_status (*sync)(void *ctx);
    /* Distributed (comm of size > 1; NULL: this process alone): the
     * examples are global rows [0, n_global), cut into the same batches of
     * `batch` on every rank; this rank's n_examples are global rows gids[k]
     * (ascending), or, with gids NULL, every rank holds all n_global =
     * n_examples rows and takes the r-th of size equal parts of each batch.
     * The optimizer exchanges the gradients (rec_optim_set_comm); the loss
     * is the global batch's; an error on any rank stops every rank with
     * that rank's message; only rank 0 writes the checkpoint; validation
     * runs on every rank and rank 0's metric decides. */
    rec_comm *comm;
    const int64_t *gids;
    int64_t n_global;
} rec_trainer_vt;

typedef struct rec_train_result {
    int epochs_run;        /* the last epoch completed (resumed ones count) */
    int resumed_from;      /* epoch read from the checkpoint, 0 when fresh  */
    int best_epoch;        /* 0 when no validation ran                     */
    double best_metric;    /* NAN when no validation ran                   */
    double last_loss;      /* mean loss of the last epoch run              */
    int stopped_early;
} rec_train_result;

const rec_param_spec *rec_trainer_spec(size_t *n);

/* Runs the loop on the params of ps with the optimizer opt (the step calls
 * rec_optim_step itself).  p may be NULL (defaults); progress may be NULL;
 * res may be NULL.  Returns the first error of a callback, REC_E_CANCELLED
 * when progress asks to stop (the params stay where the epoch left them),
 * REC_E_FORMAT / REC_E_IO for a checkpoint that cannot be read or written,
 * REC_E_RANGE for a non-finite loss, REC_E_INVALID for bad arguments or
 * keys, REC_E_NOMEM.  Not thread-safe with respect to ps and opt. */
rec_status rec_trainer_run(const rec_params *p, const rec_trainer_vt *vt, void *ctx,
                           rec_pstore *ps, rec_optim *opt, rec_progress_fn progress, void *user,
                           rec_train_result *res);

/* What a checkpoint holds besides params and optimizer (trainer_checkpoint.c). */
typedef struct rec_train_state {
    int64_t epoch;         /* epochs done */
    rec_rng rng;
    double best;           /* best metric so far (NAN: none) */
    int64_t best_epoch, bad;
    float *best_params;    /* NULL, or every param of the store in order */
    int64_t nbest;         /* floats in best_params (rec_pstore_numel) */
} rec_train_state;

/* Writes path atomically.  metric names the "metrics.<metric>" metadata. */
rec_status rec_checkpoint_save(const char *path, const rec_pstore *ps, const rec_optim *o,
                               const rec_train_state *st, const char *metric);
/* Reads path into ps, o and st after validating all of it (REC_E_FORMAT
 * naming the file and what is wrong; nothing changes then).  st->best_params
 * must have room for rec_pstore_numel(ps) floats; st->nbest is set to 0 when
 * the checkpoint holds no best params. */
rec_status rec_checkpoint_load(const char *path, rec_pstore *ps, rec_optim *o,
                               rec_train_state *st);

/* ==== end of trainer ======================================================= */

#endif
