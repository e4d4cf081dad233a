/* The tensor core: tensors, the per-step graph (arena + tape), reverse-mode
 * autodiff, and the parameter store.  Internal to librec (layers, models,
 * tests and benches use it; the public API exposes models, not tensors).
 *
 * Error model: ops never abort.  A failing op (shape mismatch, out of memory,
 * bad index) records a sticky status on its graph and returns NULL; every op
 * returns NULL at once when given a NULL input, so a forward pass can be
 * written straight through and checked once with rec_graph_status(). */
#ifndef LIBREC_TENSOR_IMPL_H
#define LIBREC_TENSOR_IMPL_H

#include "core-impl.h"

#include <stdint.h>

typedef enum rec_dtype { REC_F32 = 0, REC_I32 = 1 } rec_dtype;

enum {
    REC_T_GRAD = 1u,   /* gradient wanted (params, and anything computed from them) */
    REC_T_PARAM = 2u,  /* lives in a parameter store; grad persists across steps */
    REC_T_SPARSE = 4u  /* gradient kept as touched rows (embedding tables)       */
};

/* Rows of a sparse gradient: rows[i] gets vals[i*cols .. i*cols+cols).  The
 * same row may appear more than once (and in several chunks); optimizers
 * coalesce.  Chunks live in the graph arena and vanish at reset. */
typedef struct rec_rowgrad {
    struct rec_rowgrad *next;
    int64_t n;
    const int32_t *rows;
    float *vals;
} rec_rowgrad;

#define REC_MAX_DIMS 4

typedef struct rec_tensor {
    float *v;           /* F32 values, row-major                 */
    int32_t *iv;        /* I32 values                             */
    float *g;           /* dense gradient, NULL until first written */
    rec_rowgrad *rg;    /* sparse gradient chunks (REC_T_SPARSE)  */
    int64_t shape[REC_MAX_DIMS];
    int nd;
    int64_t n;          /* element count */
    rec_dtype dtype;
    unsigned flags;
    const char *name;   /* params only */
} rec_tensor;

/* Last dimension, and the product of the others. */
static inline int64_t rec_cols(const rec_tensor *t) { return t->nd ? t->shape[t->nd - 1] : 1; }
static inline int64_t rec_rows(const rec_tensor *t)
{
    int64_t r = 1; /* not n / cols: the last dim may be 0 */
    for (int i = 0; i + 1 < t->nd; i++)
        r *= t->shape[i];
    return r;
}

typedef struct rec_graph rec_graph;
typedef struct rec_node rec_node;
typedef void (*rec_backward_fn)(rec_graph *g, rec_node *n);

/* One recorded op.  Backward reads out->g and accumulates into the inputs'
 * gradients (rec_grad_of allocates a zeroed one on first use). */
struct rec_node {
    rec_backward_fn backward;
    rec_tensor *out;
    rec_tensor *in[4];
    int nin;
    void *saved;        /* op-specific state in the arena */
    float f[4];         /* small op arguments */
    int64_t i[4];
};

rec_status rec_graph_create(rec_graph **out);
void rec_graph_destroy(rec_graph *g);
/* Forget the tape and every activation (keeps the memory for the next step),
 * clear the sparse gradients of the tables this step touched, and the error. */
void rec_graph_reset(rec_graph *g);
rec_status rec_graph_status(const rec_graph *g);
/* Set the sticky error (first one wins) with a message; returns NULL so ops
 * can `return rec_graph_fail(...)`. */
void *rec_graph_fail(rec_graph *g, rec_status st, const char *fmt, ...) REC_PRINTF(3, 4);
/* Training mode turns dropout on; grad mode records the tape (default on). */
void rec_graph_set_training(rec_graph *g, int on);
int rec_graph_training(const rec_graph *g);
void rec_graph_set_grad(rec_graph *g, int on);
/* Seeds the stream used by dropout; step k of seed s draws the same masks
 * whatever the thread count. */
void rec_graph_seed(rec_graph *g, uint64_t seed);
rec_rng *rec_graph_rng(rec_graph *g);
/* Bytes currently used in the arena, and the peak since creation. */
size_t rec_graph_arena_used(const rec_graph *g);

/* Arena memory (64-byte aligned, uninitialised); NULL + sticky NOMEM on failure. */
void *rec_graph_alloc(rec_graph *g, size_t bytes);

/* New arena tensors.  shape has nd entries; the values are uninitialised
 * (rec_tensor_zeros: zeroed). */
rec_tensor *rec_tensor_new(rec_graph *g, rec_dtype dt, int nd, const int64_t *shape);
rec_tensor *rec_tensor_zeros(rec_graph *g, rec_dtype dt, int nd, const int64_t *shape);
rec_tensor *rec_tensor_2d(rec_graph *g, int64_t rows, int64_t cols);
rec_tensor *rec_tensor_1d(rec_graph *g, int64_t n);
rec_tensor *rec_tensor_i32(rec_graph *g, int64_t n);
/* Arena tensor copied from (or wrapping, without copy) caller memory. */
rec_tensor *rec_tensor_from(rec_graph *g, const float *v, int nd, const int64_t *shape);
rec_tensor *rec_tensor_wrap(rec_graph *g, float *v, int nd, const int64_t *shape);
rec_tensor *rec_tensor_wrap_i32(rec_graph *g, int32_t *iv, int64_t n);
int rec_same_shape(const rec_tensor *a, const rec_tensor *b);

/* Output tensor of an op: shape given, REC_T_GRAD set when any input has it
 * and grad mode is on.  Records a node when so; *node (may be NULL) receives
 * it for the op to fill saved state. */
rec_tensor *rec_op_out(rec_graph *g, int nd, const int64_t *shape, rec_backward_fn bw,
                       int nin, rec_tensor *const *in, rec_node **node);
/* The gradient buffer of t (allocated zeroed in the arena on first use;
 * params' is their persistent one).  NULL if t needs no gradient. */
float *rec_grad_of(rec_graph *g, rec_tensor *t);
/* The same for a backward that writes EVERY element of t's gradient: on
 * first use the buffer is not zeroed and *beta = 0 (write it), afterwards
 * *beta = 1 (add to it).  Saves zeroing and re-reading a buffer per op; take
 * the buffers in the order they are written. */
float *rec_grad_full(rec_graph *g, rec_tensor *t, float *beta);
/* For a backward whose gradient for input t is out's gradient as it is (a
 * residual add, a reshape): when t has no gradient yet (and is no param,
 * has out's size), t takes out's buffer and 1 is returned; else 0 and the
 * caller writes t's gradient as usual.  Only out's own backward may call it:
 * out's gradient is then complete and nothing reads it again. */
int rec_grad_take(rec_tensor *t, const rec_tensor *out);
/* Append a sparse gradient chunk to a REC_T_SPARSE table (rows and vals must
 * live at least until reset). */
void rec_rowgrad_push(rec_graph *g, rec_tensor *table, int64_t n, const int32_t *rows,
                      float *vals);

/* Seeds d(loss)/d(loss) = 1 for a scalar loss and runs the tape backwards. */
rec_status rec_backward(rec_graph *g, rec_tensor *loss);

/* ---- parameter store ------------------------------------------------------
 * Persistent tensors with persistent dense gradients (none for REC_T_SPARSE:
 * they collect rowgrad chunks each step).  Values start at zero. */
typedef struct rec_pstore rec_pstore;
rec_status rec_pstore_create(rec_pstore **out);
void rec_pstore_destroy(rec_pstore *s);
/* NULL on NOMEM or duplicate name (with the error message set). */
rec_tensor *rec_pstore_add(rec_pstore *s, const char *name, int nd, const int64_t *shape,
                           unsigned flags);
size_t rec_pstore_count(const rec_pstore *s);
rec_tensor *rec_pstore_at(const rec_pstore *s, size_t i);
rec_tensor *rec_pstore_find(const rec_pstore *s, const char *name);
void rec_pstore_zero_grad(rec_pstore *s);
/* Total values over all params. */
int64_t rec_pstore_numel(const rec_pstore *s);

/* Initialisers (seeded, deterministic). */
void rec_init_normal(rec_tensor *t, rec_rng *r, float mean, float std);
void rec_init_uniform(rec_tensor *t, rec_rng *r, float lo, float hi);
void rec_init_xavier_normal(rec_tensor *t, rec_rng *r); /* fan_in = cols, fan_out = rows */
void rec_init_const(rec_tensor *t, float v);

#endif
