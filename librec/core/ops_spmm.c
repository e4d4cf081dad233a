/* Sparse (CSR) times dense: Y[r,d] = A[r,c] X[c,d].  The backward pass
 * dX += A^T dY runs the same row kernel over A's transpose, built once by a
 * counting sort and cached on the rec_csr, so every output row of both
 * passes is owned by one thread and no atomics are needed.  Building the
 * cache writes to the rec_csr: graphs running backward at the same time in
 * different threads need one rec_csr each (or a transpose built before). */
#include "ops.h"

#include "rowgather-impl.h"

#include <stdio.h>
#include <string.h>

typedef struct spmm_job {
    const rec_csr *a;
    const float *x;  /* [a->cols, d] */
    float *y;        /* [a->rows, d] */
    int64_t d, ntasks;
    int accumulate;
} spmm_job;

/* First row whose entries start at or after nnz position p: task boundaries
 * split the nonzeros evenly, so skewed degrees do not unbalance threads. */
static int64_t row_at(const rec_csr *a, int64_t task, int64_t ntasks)
{
    if (task <= 0)
        return 0;
    if (task >= ntasks)
        return a->rows;
    int64_t p = a->nnz * task / ntasks, lo = 0, hi = a->rows;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (a->indptr[mid] < p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void spmm_rows(void *arg, int64_t t0, int64_t t1, int chunk)
{
    (void)chunk;
    const spmm_job *j = arg;
    const rec_csr *a = j->a;
    int64_t d = j->d, r0 = row_at(a, t0, j->ntasks), r1 = row_at(a, t1, j->ntasks);
    /* Row r of y is the weighted bag of x's rows indices[indptr[r] ..]. */
    rec_rowsrc s = { j->x, a->indices, d, a->indptr[r1], -1 };
    rec_rg_warm(&s, a->indptr[r0]);
    for (int64_t r = r0; r < r1; r++) {
        float *restrict y = j->y + r * d;
        if (!j->accumulate)
            memset(y, 0, (size_t)d * sizeof *y);
        rec_rg_sum(&s, a->vals, a->indptr[r], a->indptr[r + 1], y);
    }
}

static void spmm_run(const rec_csr *a, const float *x, float *y, int64_t d, int accumulate)
{
    /* A few tasks per thread of at least ~32K multiply-adds each. */
    int64_t work = (a->nnz + a->rows) * (d ? d : 1);
    int64_t ntasks = 4 * (int64_t)rec_get_num_threads();
    if (work / 32768 < ntasks)
        ntasks = work / 32768 > 1 ? work / 32768 : 1;
    spmm_job j = { a, x, y, d, ntasks, accumulate };
    rec_parallel_for(ntasks, 1, spmm_rows, &j);
}

void rec_csr_free_transpose(rec_csr *m)
{
    if (!m || !m->t)
        return;
    rec_csr *t = m->t;
    rec_free((void *)t->indptr, (size_t)(t->rows + 1) * sizeof *t->indptr);
    rec_free((void *)t->indices, (size_t)(t->nnz ? t->nnz : 1) * sizeof *t->indices);
    if (t->vals)
        rec_free((void *)t->vals, (size_t)(t->nnz ? t->nnz : 1) * sizeof *t->vals);
    rec_free(t, sizeof *t);
    m->t = NULL;
}

/* Counting sort by column; entries of a transposed row keep A's row order,
 * so the backward sums run in a fixed order. */
static rec_csr *build_transpose(const rec_csr *a)
{
    size_t nz = (size_t)(a->nnz ? a->nnz : 1);
    rec_csr *t = rec_calloc(1, sizeof *t);
    int64_t *ptr = rec_calloc((size_t)a->cols + 1, sizeof *ptr);
    int32_t *idx = rec_malloc(nz * sizeof *idx);
    float *vals = a->vals ? rec_malloc(nz * sizeof *vals) : NULL;
    if (!t || !ptr || !idx || (a->vals && !vals)) {
        rec_free(t, sizeof *t);
        rec_free(ptr, ((size_t)a->cols + 1) * sizeof *ptr);
        rec_free(idx, nz * sizeof *idx);
        rec_free(vals, nz * sizeof *vals);
        return NULL;
    }
    for (int64_t k = 0; k < a->nnz; k++)
        ptr[a->indices[k] + 1]++;
    for (int64_t c = 0; c < a->cols; c++)
        ptr[c + 1] += ptr[c];
    /* ptr[c] is used as the fill cursor of row c, then shifted back. */
    for (int64_t r = 0; r < a->rows; r++) {
        for (int64_t k = a->indptr[r]; k < a->indptr[r + 1]; k++) {
            int64_t dst = ptr[a->indices[k]]++;
            idx[dst] = (int32_t)r;
            if (vals)
                vals[dst] = a->vals[k];
        }
    }
    memmove(ptr + 1, ptr, (size_t)a->cols * sizeof *ptr);
    ptr[0] = 0;
    *t = (rec_csr){ a->cols, a->rows, a->nnz, ptr, idx, vals, NULL };
    return t;
}

static void spmm_back(rec_graph *g, rec_node *n)
{
    rec_csr *a = n->saved;
    rec_tensor *x = n->in[0];
    float *dx = rec_grad_of(g, x);
    if (!dx)
        return;
    if (a->t && (a->t->rows != a->cols || a->t->nnz != a->nnz))
        rec_csr_free_transpose(a); /* the matrix was replaced under us */
    if (!a->t) {
        a->t = build_transpose(a);
        if (!a->t) {
            rec_graph_fail(g, REC_E_NOMEM, "rec_spmm: out of memory building the transpose");
            return;
        }
    }
    spmm_run(a->t, n->out->g, dx, rec_cols(x), 1);
}

static rec_tensor *check_csr(rec_graph *g, const rec_csr *a)
{
    if (a->rows < 0 || a->cols < 0 || a->nnz < 0 || a->rows >= INT32_MAX
        || a->cols >= INT32_MAX)
        return rec_graph_fail(g, REC_E_INVALID, "rec_spmm: bad CSR size %lld x %lld, nnz %lld",
                              (long long)a->rows, (long long)a->cols, (long long)a->nnz);
    if (!a->indptr || (a->nnz && !a->indices))
        return rec_graph_fail(g, REC_E_INVALID, "rec_spmm: CSR %s is NULL",
                              a->indptr ? "indices" : "indptr");
    rec_status st = rec_csr_check(0, "rec_spmm", "CSR", a->rows, a->indptr, a->nnz, a->indices,
                                  0, a->cols);
    if (st) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", rec_last_error());
        return rec_graph_fail(g, st, "%s", msg);
    }
    return (rec_tensor *)a; /* any non-NULL: valid */
}

rec_tensor *rec_spmm(rec_graph *g, rec_csr *a, rec_tensor *x)
{
    if (!g) {
        rec_err(REC_E_INVALID, "rec_spmm: graph is NULL");
        return NULL;
    }
    if (!a)
        return rec_graph_fail(g, REC_E_INVALID, "rec_spmm: a is NULL");
    if (!x)
        return rec_graph_fail(g, REC_E_INVALID, "rec_spmm: x is NULL");
    if (rec_graph_status(g))
        return NULL;
    if (x->dtype != REC_F32)
        return rec_graph_fail(g, REC_E_INVALID, "rec_spmm: x must be F32");
    if (!check_csr(g, a))
        return NULL;
    if (rec_rows(x) != a->cols)
        return rec_graph_fail(g, REC_E_INVALID,
                              "rec_spmm: x has %lld rows, want %lld (the columns of a)",
                              (long long)rec_rows(x), (long long)a->cols);
    int64_t d = rec_cols(x), shape[2] = { a->rows, d };
    rec_node *node;
    rec_tensor *out = rec_op_out(g, 2, shape, spmm_back, 1, &x, &node);
    if (!out)
        return NULL;
    spmm_run(a, x->v, out->v, d, 0);
    if (node)
        node->saved = a;
    return out;
}
