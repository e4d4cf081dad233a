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
    /* rec_spmm_mean_powers' epilogue, while the row is in cache: y starts
     * as init's row (not zero), is scaled by scale, and with acc set is
     * also added to acc's row. */
    const float *init;
    float scale;
    float *acc;
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
        if (j->init)
            memcpy(y, j->init + r * d, (size_t)d * sizeof *y);
        else if (!j->accumulate)
            memset(y, 0, (size_t)d * sizeof *y);
        rec_rg_sum(&s, a->vals, a->indptr[r], a->indptr[r + 1], y);
        if (j->scale != 1.0f && !j->acc)
            for (int64_t c = 0; c < d; c++)
                y[c] *= j->scale;
        if (j->acc) {
            float *restrict o = j->acc + r * d;
            for (int64_t c = 0; c < d; c++)
                o[c] += j->scale * y[c];
        }
    }
}

static void spmm_go(spmm_job *j)
{
    /* A few tasks per thread of at least ~32K multiply-adds each. */
    int64_t work = (j->a->nnz + j->a->rows) * (j->d ? j->d : 1);
    j->ntasks = 4 * (int64_t)rec_get_num_threads();
    if (work / 32768 < j->ntasks)
        j->ntasks = work / 32768 > 1 ? work / 32768 : 1;
    rec_parallel_for(j->ntasks, 1, spmm_rows, j);
}

static void spmm_run(const rec_csr *a, const float *x, float *y, int64_t d, int accumulate)
{
    spmm_job j = { a, x, y, d, 0, accumulate, NULL, 1.0f, NULL };
    spmm_go(&j);
}

void rec_csr_mul(const rec_csr *a, const float *x, int64_t d, float *y)
{
    spmm_run(a, x, y, d, 0);
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

/* a's cached transpose, built on first use. */
static const rec_csr *transpose_of(rec_graph *g, rec_csr *a, const char *fn)
{
    if (a->t && (a->t->rows != a->cols || a->t->nnz != a->nnz))
        rec_csr_free_transpose(a); /* the matrix was replaced under us */
    if (!a->t) {
        a->t = build_transpose(a);
        if (!a->t)
            rec_graph_fail(g, REC_E_NOMEM, "%s: out of memory building the transpose", fn);
    }
    return a->t;
}

static void spmm_back(rec_graph *g, rec_node *n)
{
    rec_csr *a = n->saved;
    rec_tensor *x = n->in[0];
    float *dx = rec_grad_of(g, x);
    if (!dx)
        return;
    if (!transpose_of(g, a, "rec_spmm"))
        return;
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

/* ---- the layer mean of powers ------------------------------------------------
 * Y = s (X + A X + ... + A^L X), s = 1 / (L + 1), by Horner's rule: t = X,
 * then t = X + A t, L times, the last scaled.  Each step is one pass of the
 * row kernel with X's row as its start, so no sum of layers is kept and
 * only one [rows, d] buffer is needed beside Y; the backward is the same
 * rule over A^T and dY, its last step added into dX as the rows finish.
 * Nothing is saved for the backward but A: the map is linear. */
typedef struct powers_saved {
    rec_csr *a;
    int layers;
} powers_saved;

/* L steps of t = init + M t from t = init; the last into last (scaled by
 * s, or with acc: acc += s t).  The steps alternate between last and other
 * so that step L lands in last; other is not read when L is 1. */
static void horner(const rec_csr *m, const float *init, float *last, float *other, int layers,
                   int64_t d, float s, float *acc)
{
    const float *prev = init;
    for (int k = 1; k <= layers; k++) {
        float *dst = (layers - k) % 2 == 0 ? last : other;
        spmm_job j = { m, prev, dst, d, 0, 0, init, k == layers ? s : 1.0f,
                       k == layers ? acc : NULL };
        spmm_go(&j);
        prev = dst;
    }
}

static void powers_back(rec_graph *g, rec_node *n)
{
    powers_saved *ps = n->saved;
    rec_tensor *x = n->in[0];
    float *dx = rec_grad_of(g, x);
    if (!dx)
        return;
    const rec_csr *t = transpose_of(g, ps->a, "rec_spmm_mean_powers");
    int64_t d = rec_cols(x), rows = rec_rows(x);
    size_t nbuf = ps->layers > 1 ? 2 : 1;
    float *buf = t ? rec_graph_alloc(g, nbuf * (size_t)rows * d * sizeof *buf) : NULL;
    if (!buf)
        return;
    horner(t, n->out->g, buf, buf + (nbuf - 1) * (size_t)rows * d, ps->layers, d,
           1.0f / (float)(ps->layers + 1), dx);
}

rec_tensor *rec_spmm_mean_powers(rec_graph *g, rec_csr *a, rec_tensor *x, int layers)
{
    static const char fn[] = "rec_spmm_mean_powers";
    if (!g) {
        rec_err(REC_E_INVALID, "%s: graph is NULL", fn);
        return NULL;
    }
    if (rec_graph_status(g))
        return NULL;
    if (!a || !x)
        return rec_graph_fail(g, REC_E_INVALID, "%s: %s is NULL", fn, a ? "x" : "a");
    if (x->dtype != REC_F32)
        return rec_graph_fail(g, REC_E_INVALID, "%s: x must be F32", fn);
    if (layers < 1)
        return rec_graph_fail(g, REC_E_RANGE, "%s: layers = %d, want >= 1", fn, layers);
    if (!check_csr(g, a))
        return NULL;
    if (a->rows != a->cols || rec_rows(x) != a->rows)
        return rec_graph_fail(g, REC_E_INVALID,
                              "%s: a is %lld x %lld and x has %lld rows, want all equal", fn,
                              (long long)a->rows, (long long)a->cols, (long long)rec_rows(x));
    int64_t d = rec_cols(x), shape[2] = { a->rows, d };
    rec_node *node;
    rec_tensor *out = rec_op_out(g, 2, shape, powers_back, 1, &x, &node);
    float *tmp = out && layers > 1 ? rec_graph_alloc(g, (size_t)a->rows * d * sizeof *tmp) : NULL;
    if (!out || (layers > 1 && !tmp))
        return NULL;
    horner(a, x->v, out->v, tmp, layers, d, 1.0f / (float)(layers + 1), NULL);
    if (node) {
        powers_saved *ps = rec_graph_alloc(g, sizeof *ps);
        if (!ps)
            return NULL;
        *ps = (powers_saved){ a, layers };
        node->saved = ps;
    }
    return out;
}
