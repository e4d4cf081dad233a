/* Bag reductions: rec_segment_reduce over rows of x, and rec_embedding_bag,
 * the fused gather + reduce that reads table rows straight into the bag sums
 * (no [n,d] intermediate).  One kernel serves both: entry i of a bag is row i
 * of x, or row ids[i] of the table.
 *
 * Embedding-bag ids that are negative are padding: skipped, and not counted
 * by mean or considered by max (a bag of padding only gives zeros).
 *
 * Each bag is reduced by one thread in entry order, so results do not depend
 * on the thread count. */
#include "ops.h"

#include "rowgather-impl.h"

#include <string.h>

typedef struct bag_job {
    const float *src;      /* x [n,d], or the table [N,d] when ids is set     */
    const int32_t *ids;    /* [n] or NULL                                     */
    const int32_t *off;    /* [nbags+1]                                       */
    const int32_t *start;  /* [nbags+1]: first chunk row of each bag (backward) */
    const float *w;        /* [n] or NULL                                     */
    const float *dy;       /* [nbags,d] (backward)                           */
    float *out;            /* forward: [nbags,d]; backward: destination base  */
    float *dw;             /* [n] weight gradient or NULL                     */
    int32_t *arg;          /* [nbags,d]: entry index of each max, -1 if none  */
    int32_t *rows;         /* sparse chunk rows (backward into a chunk)       */
    int64_t n, d, nbags;
    int mode, dest;
} bag_job;

/* Where backward writes entry i: its row of dx, a fresh sparse chunk row
 * (assigned, with its table row recorded), or the dense table gradient. */
enum { DEST_ROWS, DEST_CHUNK, DEST_TABLE };

static inline const float *entry_row(const bag_job *j, int64_t i)
{
    if (!j->ids)
        return j->src + i * j->d;
    return j->ids[i] < 0 ? NULL : j->src + (int64_t)j->ids[i] * j->d;
}

/* Row arithmetic in blocks of 16 with a fixed trip count: compilers
 * vectorise these at -O2, where a loop of unknown length stays scalar. */
#define BLOCKED(d, body)                                                    \
    do {                                                                    \
        int64_t c_ = 0;                                                     \
        for (; c_ + 16 <= (d); c_ += 16)                                    \
            for (int k_ = 0; k_ < 16; k_++) {                               \
                int64_t c = c_ + k_;                                        \
                body;                                                       \
            }                                                               \
        for (int64_t c = c_; c < (d); c++) {                                \
            body;                                                           \
        }                                                                   \
    } while (0)

static inline void row_axpy(int64_t d, float s, const float *restrict x, float *restrict y)
{
    BLOCKED(d, y[c] += s * x[c]);
}

static inline void row_scaled(int64_t d, float s, const float *restrict x, float *restrict y)
{
    BLOCKED(d, y[c] = s * x[c]);
}

static inline float row_dot(int64_t d, const float *restrict x, const float *restrict y)
{
    float acc[16] = { 0 };
    int64_t c_ = 0;
    for (; c_ + 16 <= d; c_ += 16)
        for (int k = 0; k < 16; k++)
            acc[k] += x[c_ + k] * y[c_ + k];
    float s = 0.0f;
    for (int64_t c = c_; c < d; c++)
        s += x[c] * y[c];
    for (int k = 0; k < 16; k++)
        s += acc[k];
    return s;
}

/* Bags [b0, b1): one stream of entries, prefetched across bag boundaries. */
static void bag_forward(void *arg, int64_t b0, int64_t b1, int chunk)
{
    (void)chunk;
    const bag_job *j = arg;
    int64_t d = j->d;
    rec_rowsrc s = { j->src, j->ids, d, j->off[b1], -1 };
    rec_rg_warm(&s, j->off[b0]);
    if (j->mode != REC_REDUCE_MAX) {
        rec_rg_bags(&s, j->w, j->off, b0, b1, j->out, j->mode == REC_REDUCE_MEAN);
        return;
    }
    for (int64_t b = b0; b < b1; b++)
        rec_rg_max(&s, j->off[b], j->off[b + 1], j->out + b * d,
                   j->arg ? j->arg + b * d : NULL);
}

/* Bags [b0, b1) into rows of dx or into a chunk (DEST_ROWS, DEST_CHUNK),
 * and the weights' gradient (which reads the table rows again: prefetched). */
static void bag_backward(void *arg, int64_t b0, int64_t b1, int chunk)
{
    (void)chunk;
    const bag_job *j = arg;
    int64_t d = j->d;
    rec_rowsrc s = { j->src, j->ids, d, j->off[b1], -1 };
    int64_t ahead = rec_rowgather_ahead(d);
    if (j->dw)
        rec_rg_warm(&s, j->off[b0]);
    for (int64_t b = b0; b < b1; b++) {
        const float *restrict dy = j->dy + b * d;
        const int32_t *a = j->arg ? j->arg + b * d : NULL;
        int64_t k = j->start[b], cnt = j->start[b + 1] - j->start[b];
        float inv = j->mode == REC_REDUCE_MEAN && cnt > 1 ? 1.0f / (float)cnt : 1.0f;
        for (int64_t i = j->off[b]; i < j->off[b + 1]; i++) {
            if (j->dw)
                rec_rg_prefetch(&s, i + ahead);
            const float *restrict row = entry_row(j, i);
            if (!row)
                continue;
            float *restrict dst = NULL; /* stays NULL when only weights want a gradient */
            int assign = j->dest == DEST_CHUNK;
            if (j->out && j->dest == DEST_ROWS)
                dst = j->out + i * d;
            else if (j->out && j->dest == DEST_CHUNK)
                dst = j->out + k * d, j->rows[k] = j->ids[i];
            k++;
            if (dst && a) {
                if (assign) {
                    for (int64_t c = 0; c < d; c++)
                        dst[c] = a[c] == i ? dy[c] : 0.0f;
                } else {
                    for (int64_t c = 0; c < d; c++)
                        dst[c] += a[c] == i ? dy[c] : 0.0f;
                }
            } else if (dst) {
                float sc = j->w ? inv * j->w[i] : inv;
                if (assign)
                    row_scaled(d, sc, dy, dst);
                else
                    row_axpy(d, sc, dy, dst);
            }
            if (j->dw)
                j->dw[i] += inv * row_dot(d, dy, row);
        }
    }
}

/* Table rows [lo, hi) of a dense table gradient: bags may share rows, so
 * each chunk walks every bag and adds only into its own rows, each row in
 * entry order whatever the thread count. */
static void bag_scatter(void *arg, int64_t lo, int64_t hi, int chunk)
{
    (void)chunk;
    const bag_job *j = arg;
    int64_t d = j->d;
    rec_rowdst t = { j->out, j->ids, d, j->n, -1 };
    for (int64_t b = 0; b < j->nbags; b++) {
        const float *dy = j->dy + b * d;
        int64_t cnt = j->start[b + 1] - j->start[b];
        float inv = j->mode == REC_REDUCE_MEAN && cnt > 1 ? 1.0f / (float)cnt : 1.0f;
        if (j->mode != REC_REDUCE_MAX) {
            rec_rg_scatter(&t, j->off[b], j->off[b + 1], lo, hi, j->w, inv, dy, 0);
            continue;
        }
        const int32_t *a = j->arg + b * d;
        for (int64_t i = j->off[b]; i < j->off[b + 1]; i++) {
            int32_t r = j->ids[i];
            if (r < lo || r >= hi)
                continue;
            float *restrict dst = j->out + (int64_t)r * d;
            for (int64_t c = 0; c < d; c++)
                dst[c] += a[c] == i ? dy[c] : 0.0f;
        }
    }
}

/* Bags of about 32K multiply-adds per task: below that a wake-up costs more
 * than it saves. */
static int64_t bag_grain(int64_t n, int64_t nbags, int64_t d)
{
    int64_t per_bag = (nbags ? n / nbags : 0) * d + d + 1;
    return 1 + 32768 / per_bag;
}

/* ---- validation ----------------------------------------------------------- */

static int check_offsets(rec_graph *g, const char *fn, const rec_tensor *off, int64_t n,
                         const char *what)
{
    if (off->dtype != REC_I32 || off->nd != 1 || off->n < 1) {
        rec_graph_fail(g, REC_E_INVALID, "%s: offsets must be a non-empty 1-d I32 tensor", fn);
        return 0;
    }
    const int32_t *o = off->iv;
    if (o[0] != 0) {
        rec_graph_fail(g, REC_E_INVALID, "%s: offsets[0] = %d, want 0", fn, (int)o[0]);
        return 0;
    }
    for (int64_t b = 1; b < off->n; b++) {
        if (o[b] < o[b - 1]) {
            rec_graph_fail(g, REC_E_INVALID, "%s: offsets[%lld] = %d is less than offsets[%lld] = %d",
                           fn, (long long)b, (int)o[b], (long long)(b - 1), (int)o[b - 1]);
            return 0;
        }
    }
    if (o[off->n - 1] != n) {
        rec_graph_fail(g, REC_E_INVALID, "%s: offsets[%lld] = %d, want %lld (the number of %s)",
                       fn, (long long)(off->n - 1), (int)o[off->n - 1], (long long)n, what);
        return 0;
    }
    return 1;
}

static int check_common(rec_graph *g, const char *fn, const rec_tensor *offsets,
                        const rec_tensor *weights, rec_reduce mode, int64_t n, const char *what)
{
    if (mode != REC_REDUCE_SUM && mode != REC_REDUCE_MEAN && mode != REC_REDUCE_MAX) {
        rec_graph_fail(g, REC_E_INVALID, "%s: unknown reduce mode %d", fn, (int)mode);
        return 0;
    }
    if (n > INT32_MAX) {
        rec_graph_fail(g, REC_E_RANGE, "%s: %lld %s do not fit I32 offsets", fn, (long long)n,
                       what);
        return 0;
    }
    if (!check_offsets(g, fn, offsets, n, what))
        return 0;
    if (weights) {
        if (mode == REC_REDUCE_MAX) {
            rec_graph_fail(g, REC_E_INVALID, "%s: weights need mode sum or mean, not max", fn);
            return 0;
        }
        if (weights->dtype != REC_F32 || weights->n != n) {
            rec_graph_fail(g, REC_E_INVALID, "%s: weights must be F32 with %lld elements, got %lld",
                           fn, (long long)n, (long long)weights->n);
            return 0;
        }
    }
    return 1;
}

static int32_t *alloc_arg(rec_graph *g, rec_node *node, int64_t nbags, int64_t d, int mode)
{
    if (mode != REC_REDUCE_MAX || !node)
        return NULL; /* without a tape nothing needs the argmax: serving allocates nothing */
    int64_t cnt = nbags * d > 0 ? nbags * d : 1;
    int32_t *a = rec_graph_alloc(g, (size_t)cnt * sizeof *a);
    if (a)
        node->saved = a;
    return a;
}

/* ---- segment reduce ------------------------------------------------------- */

static void segment_back(rec_graph *g, rec_node *n)
{
    rec_tensor *x = n->in[0], *off = n->in[1], *w = n->nin > 2 ? n->in[2] : NULL;
    float *dx = rec_grad_of(g, x);
    float *dw = w ? rec_grad_of(g, w) : NULL;
    if (rec_graph_status(g) || (!dx && !dw))
        return;
    int64_t nbags = off->n - 1, d = rec_cols(x);
    bag_job j = { .src = x->v, .off = off->iv, .start = off->iv, .w = w ? w->v : NULL,
                  .dy = n->out->g, .dw = dw, .arg = n->saved, .n = rec_rows(x), .d = d,
                  .mode = (int)n->i[0], .dest = DEST_ROWS };
    /* Bags own disjoint rows of dx and entries of dw: no races. */
    j.out = dx;
    rec_parallel_for(nbags, bag_grain(j.n, nbags, d), bag_backward, &j);
}

rec_tensor *rec_segment_reduce(rec_graph *g, rec_tensor *x, rec_tensor *offsets,
                               rec_tensor *weights, rec_reduce mode)
{
    static const char fn[] = "rec_segment_reduce";
    if (!g) {
        rec_err(REC_E_INVALID, "%s: graph is NULL", fn);
        return NULL;
    }
    if (!x)
        return rec_graph_fail(g, REC_E_INVALID, "%s: x is NULL", fn);
    if (!offsets)
        return rec_graph_fail(g, REC_E_INVALID, "%s: offsets is NULL", fn);
    if (rec_graph_status(g))
        return NULL;
    if (x->dtype != REC_F32)
        return rec_graph_fail(g, REC_E_INVALID, "%s: x must be F32", fn);
    int64_t n = rec_rows(x), d = rec_cols(x);
    if (!check_common(g, fn, offsets, weights, mode, n, "rows of x"))
        return NULL;
    int64_t nbags = offsets->n - 1, shape[2] = { nbags, d };
    rec_node *node;
    rec_tensor *in[3] = { x, offsets, weights };
    rec_tensor *out = rec_op_out(g, 2, shape, segment_back, weights ? 3 : 2, in, &node);
    int32_t *arg = out ? alloc_arg(g, node, nbags, d, mode) : NULL;
    if (!out || (mode == REC_REDUCE_MAX && node && !arg))
        return NULL;
    bag_job j = { .src = x->v, .off = offsets->iv, .w = weights ? weights->v : NULL,
                  .out = out->v, .arg = arg, .n = n, .d = d, .mode = mode };
    rec_parallel_chunks(nbags, rec_rg_chunks(n, d, 4), bag_forward, &j);
    if (node)
        node->i[0] = mode;
    return out;
}

/* ---- embedding bag -------------------------------------------------------- */

static void bag_back(rec_graph *g, rec_node *n)
{
    rec_tensor *table = n->in[0], *ids = n->in[1], *off = n->in[2];
    rec_tensor *w = n->nin > 3 ? n->in[3] : NULL;
    int64_t nbags = off->n - 1, d = rec_cols(table), nneg = n->i[1], valid = ids->n - nneg;
    int sparse = (table->flags & (REC_T_SPARSE | REC_T_GRAD)) == (REC_T_SPARSE | REC_T_GRAD);
    float *gt = rec_grad_of(g, table);
    float *dw = w ? rec_grad_of(g, w) : NULL;
    if (rec_graph_status(g))
        return;
    bag_job j = { .src = table->v, .ids = ids->iv, .off = off->iv, .start = off->iv,
                  .w = w ? w->v : NULL, .dy = n->out->g, .arg = n->saved, .n = ids->n, .d = d,
                  .nbags = nbags, .mode = (int)n->i[0] };
    if (nneg) {
        /* Padding ids get no chunk row: bag b's rows start after the valid
         * ids of the bags before it. */
        int32_t *start = rec_graph_alloc(g, (size_t)(nbags + 1) * sizeof *start);
        if (!start)
            return;
        start[0] = 0;
        for (int64_t b = 0; b < nbags; b++) {
            int32_t c = 0;
            for (int32_t i = off->iv[b]; i < off->iv[b + 1]; i++)
                c += ids->iv[i] >= 0;
            start[b + 1] = start[b] + c;
        }
        j.start = start;
    }
    int64_t grain = bag_grain(ids->n, nbags, d);
    if (sparse) {
        /* One chunk: entry k of the bags (padding skipped) gets the bag's
         * gradient times its weight (/count for mean). */
        int32_t *rows = rec_graph_alloc(g, (size_t)(valid ? valid : 1) * sizeof *rows);
        float *vals = rec_graph_alloc(g, (size_t)(valid ? valid : 1) * (size_t)d * sizeof *vals);
        if (!rows || !vals)
            return;
        j.out = vals;
        j.rows = rows;
        j.dest = DEST_CHUNK;
        j.dw = dw;
        rec_parallel_for(nbags, grain, bag_backward, &j);
        if (valid)
            rec_rowgrad_push(g, table, valid, rows, vals);
        return;
    }
    j.dw = dw;
    if (gt) {
        j.out = gt;
        rec_parallel_chunks(rec_rows(table), rec_rg_chunks(ids->n, d, 1), bag_scatter, &j);
    }
    if (dw) {
        j.out = NULL; /* weights only: the kernel just fills dw */
        j.dest = DEST_ROWS;
        rec_parallel_for(nbags, grain, bag_backward, &j);
    }
}

rec_tensor *rec_embedding_bag(rec_graph *g, rec_tensor *table, rec_tensor *idx,
                              rec_tensor *offsets, rec_tensor *weights, rec_reduce mode)
{
    static const char fn[] = "rec_embedding_bag";
    if (!g) {
        rec_err(REC_E_INVALID, "%s: graph is NULL", fn);
        return NULL;
    }
    if (!table)
        return rec_graph_fail(g, REC_E_INVALID, "%s: table is NULL", fn);
    if (!idx)
        return rec_graph_fail(g, REC_E_INVALID, "%s: idx is NULL", fn);
    if (!offsets)
        return rec_graph_fail(g, REC_E_INVALID, "%s: offsets is NULL", fn);
    if (rec_graph_status(g))
        return NULL;
    if (table->dtype != REC_F32 || table->nd != 2)
        return rec_graph_fail(g, REC_E_INVALID, "%s: table must be a 2-d F32 tensor", fn);
    if (idx->dtype != REC_I32 || idx->nd != 1)
        return rec_graph_fail(g, REC_E_INVALID, "%s: idx must be a 1-d I32 tensor", fn);
    int64_t n = idx->n, nrows = table->shape[0], d = table->shape[1], nneg = 0;
    if (!check_common(g, fn, offsets, weights, mode, n, "ids"))
        return NULL;
    for (int64_t i = 0; i < n; i++) {
        int32_t r = idx->iv[i];
        if (r >= nrows)
            return rec_graph_fail(g, REC_E_RANGE,
                                  "%s: idx[%lld] = %d is out of range for a table of %lld rows",
                                  fn, (long long)i, (int)r, (long long)nrows);
        nneg += r < 0;
    }
    int64_t nbags = offsets->n - 1, shape[2] = { nbags, d };
    rec_node *node;
    rec_tensor *in[4] = { table, idx, offsets, weights };
    rec_tensor *out = rec_op_out(g, 2, shape, bag_back, weights ? 4 : 3, in, &node);
    int32_t *arg = out ? alloc_arg(g, node, nbags, d, mode) : NULL;
    if (!out || (mode == REC_REDUCE_MAX && node && !arg))
        return NULL;
    bag_job j = { .src = table->v, .ids = idx->iv, .off = offsets->iv,
                  .w = weights ? weights->v : NULL, .out = out->v, .arg = arg, .n = n, .d = d,
                  .mode = mode };
    rec_parallel_chunks(nbags, rec_rg_chunks(n, d, 4), bag_forward, &j);
    if (node) {
        node->i[0] = mode;
        node->i[1] = nneg;
    }
    return out;
}
