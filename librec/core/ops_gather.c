/* Embedding lookup: out[i] = table[idx[i]].  The gradient of a REC_T_SPARSE
 * table is a chunk of touched rows (no catalog-sized buffer); a dense table
 * accumulates into its gradient buffer. */
#include "ops.h"

#include <string.h>

/* Rows are fetched this many ids ahead: random table rows miss every cache,
 * and a miss takes about as long as copying 16 rows. */
#define AHEAD 16
#if defined(__GNUC__)
#define PREFETCH(p, rw) __builtin_prefetch((p), (rw))
#else
#define PREFETCH(p, rw) ((void)(p))
#endif
/* First four cache lines of row r of a [.., d] matrix at base (a macro:
 * GCC deletes calls to a function that only prefetches). */
#define PREFETCH_ROW(base, r, d, rw)                                        \
    do {                                                                    \
        const char *p_ = (const char *)((base) + (int64_t)(r) * (d));       \
        int64_t bytes_ = (d) * (int64_t)sizeof(float);                      \
        PREFETCH(p_, rw);                                                   \
        if (bytes_ > 64)                                                    \
            PREFETCH(p_ + 64, rw);                                          \
        if (bytes_ > 128)                                                   \
            PREFETCH(p_ + 128, rw);                                         \
        if (bytes_ > 192)                                                   \
            PREFETCH(p_ + 192, rw);                                         \
    } while (0)

typedef struct gather_job {
    const float *table;
    const int32_t *idx;
    float *out;
    int64_t d, nrows;
    int32_t pad;
} gather_job;

/* Rows [b, e) of out [n,d]; idx was validated, so idx < nrows here. */
static void gather_rows(void *arg, int64_t b, int64_t e, int chunk)
{
    (void)chunk;
    const gather_job *j = arg;
    size_t bytes = (size_t)j->d * sizeof(float);
    for (int64_t i = b; i < e; i++) {
        if (i + AHEAD < e && j->idx[i + AHEAD] >= 0)
            PREFETCH_ROW(j->table, j->idx[i + AHEAD], j->d, 0);
        int32_t r = j->idx[i];
        float *dst = j->out + i * j->d;
        if (r < 0 || r == j->pad)
            memset(dst, 0, bytes);
        else
            memcpy(dst, j->table + (int64_t)r * j->d, bytes);
    }
}

static void gather_back(rec_graph *g, rec_node *n)
{
    rec_tensor *table = n->in[0];
    const int32_t *idx = n->in[1]->iv;
    int32_t pad = (int32_t)n->i[0];
    int64_t cnt = n->in[1]->n, valid = n->i[1], d = rec_cols(table);
    const float *dy = n->out->g;
    if (table->flags & REC_T_SPARSE) {
        /* Rows are copied so the chunk never points at caller memory; the
         * values are the output gradient itself when no row was padding. */
        int32_t *rows = rec_graph_alloc(g, (size_t)(valid ? valid : 1) * sizeof *rows);
        float *vals = valid == cnt ? (float *)dy
                                   : rec_graph_alloc(g, (size_t)(valid ? valid : 1) * (size_t)d
                                                            * sizeof *vals);
        if (!rows || !vals)
            return;
        int64_t k = 0;
        for (int64_t i = 0; i < cnt; i++) {
            if (idx[i] < 0 || idx[i] == pad)
                continue;
            rows[k] = idx[i];
            if (vals != dy)
                memcpy(vals + k * d, dy + i * d, (size_t)d * sizeof *vals);
            k++;
        }
        if (valid)
            rec_rowgrad_push(g, table, valid, rows, vals);
        return;
    }
    float *gt = rec_grad_of(g, table);
    if (!gt)
        return;
    for (int64_t i = 0; i < cnt; i++) {
        if (i + AHEAD < cnt && idx[i + AHEAD] >= 0)
            PREFETCH_ROW(gt, idx[i + AHEAD], d, 1);
        if (idx[i] < 0 || idx[i] == pad)
            continue;
        float *restrict dst = gt + (int64_t)idx[i] * d;
        const float *restrict src = dy + i * d;
        int64_t j = 0;
        for (; j + 16 <= d; j += 16) /* fixed trip count: vectorised at -O2 */
            for (int k = 0; k < 16; k++)
                dst[j + k] += src[j + k];
        for (; j < d; j++)
            dst[j] += src[j];
    }
}

rec_tensor *rec_gather(rec_graph *g, rec_tensor *table, rec_tensor *idx, int32_t pad)
{
    if (!g) {
        rec_err(REC_E_INVALID, "rec_gather: graph is NULL");
        return NULL;
    }
    if (!table)
        return rec_graph_fail(g, REC_E_INVALID, "rec_gather: table is NULL");
    if (!idx)
        return rec_graph_fail(g, REC_E_INVALID, "rec_gather: idx is NULL");
    if (rec_graph_status(g))
        return NULL;
    if (table->dtype != REC_F32 || table->nd != 2)
        return rec_graph_fail(g, REC_E_INVALID, "rec_gather: table must be a 2-d F32 tensor");
    if (idx->dtype != REC_I32)
        return rec_graph_fail(g, REC_E_INVALID, "rec_gather: idx must be I32");
    if (idx->nd >= REC_MAX_DIMS)
        return rec_graph_fail(g, REC_E_INVALID, "rec_gather: idx has %d dimensions (at most %d)",
                              idx->nd, REC_MAX_DIMS - 1);
    int64_t nrows = table->shape[0], d = table->shape[1], valid = 0;
    for (int64_t i = 0; i < idx->n; i++) {
        int32_t r = idx->iv[i];
        if (r >= nrows)
            return rec_graph_fail(g, REC_E_RANGE,
                                  "rec_gather: idx[%lld] = %d is out of range for a table of "
                                  "%lld rows",
                                  (long long)i, (int)r, (long long)nrows);
        valid += r >= 0 && r != pad;
    }
    /* [.., n] ids -> [.., n, d] */
    int64_t shape[REC_MAX_DIMS];
    for (int k = 0; k < idx->nd; k++)
        shape[k] = idx->shape[k];
    shape[idx->nd] = d;
    rec_node *node;
    rec_tensor *in[2] = { table, idx };
    rec_tensor *out = rec_op_out(g, idx->nd + 1, shape, gather_back, 2, in, &node);
    if (!out)
        return NULL;
    gather_job j = { table->v, idx->iv, out->v, d, nrows, pad };
    int64_t grain = d > 0 ? 1 + 16384 / d : idx->n;
    rec_parallel_for(idx->n, grain, gather_rows, &j);
    if (node) {
        node->i[0] = pad;
        node->i[1] = valid;
    }
    return out;
}
