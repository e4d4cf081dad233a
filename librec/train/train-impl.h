/* Internal services of the training layer: samplers, losses, optimizers and
 * the trainer loop.  Not installed; hidden symbols.  Each component keeps its
 * declarations in its own delimited section below. */
#ifndef LIBREC_TRAIN_IMPL_H
#define LIBREC_TRAIN_IMPL_H

#include "core/tensor-impl.h"

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

/* The key table of a kind (NULL for an unknown kind), for --help and
 * wrappers. */
const rec_param_spec *rec_optim_spec(const char *kind, size_t *n);

/* One update of every param, then the dense gradients are zeroed.
 * REC_E_NOMEM (state or coalescing buffers), or REC_E_RANGE (a sparse
 * gradient row outside its table), leave every param, every gradient and the
 * state unchanged. */
rec_status rec_optim_step(rec_optim *o);

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
};

enum { REC_LR_CONSTANT, REC_LR_WARMUP, REC_LR_STEP, REC_LR_COSINE };

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

#endif
