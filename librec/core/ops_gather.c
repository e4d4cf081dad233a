/* Embedding lookup: out[i] = table[idx[i]].  The gradient of a REC_T_SPARSE
 * table is a chunk of touched rows (no catalog-sized buffer); a dense table
 * accumulates into its gradient buffer. */
#include "ops.h"

#include "rowgather-impl.h"

#include <string.h>

typedef struct gather_job {
    const float *table;
    const int32_t *idx;
    float *out;         /* forward: [n,d]; backward: the dense table gradient */
    const float *dy;    /* [n,d] (backward) */
    int64_t d, n, nrows;
    int32_t pad;
} gather_job;

/* Rows [b, e) of out [n,d]; idx was validated, so idx < nrows here. */
static void gather_rows(void *arg, int64_t b, int64_t e, int chunk)
{
    (void)chunk;
    const gather_job *j = arg;
    rec_rowsrc s = { j->table, j->idx, j->d, e, j->pad };
    rec_rg_warm(&s, b);
    rec_rg_copy(&s, b, e, j->out + b * j->d);
}

/* Table rows [lo, hi) of the dense gradient: each chunk reads every id and
 * adds only its own rows, so rows are summed in id order with no races. */
static void scatter_rows(void *arg, int64_t lo, int64_t hi, int chunk)
{
    (void)chunk;
    const gather_job *j = arg;
    rec_rowdst t = { j->out, j->idx, j->d, j->n, j->pad };
    rec_rg_scatter(&t, 0, j->n, lo, hi, NULL, 1.0f, j->dy, j->d);
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
    gather_job j = { .idx = idx, .out = gt, .dy = dy, .d = d, .n = cnt,
                     .nrows = rec_rows(table), .pad = pad };
    rec_parallel_chunks(j.nrows, rec_rg_chunks(cnt, d, 1), scatter_rows, &j);
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
    gather_job j = { .table = table->v, .idx = idx->iv, .out = out->v, .d = d, .n = idx->n,
                     .nrows = nrows, .pad = pad };
    rec_parallel_chunks(idx->n, rec_rg_chunks(idx->n, d, 4), gather_rows, &j);
    if (node) {
        node->i[0] = pad;
        node->i[1] = valid;
    }
    return out;
}
