/* Shape ops: reshape, transpose of the last two dims, concat and slices.
 * reshape and slice_rows are views (they share the input's values, which
 * ops never write in place); the others copy. */
#include "ops_dense-impl.h"

#include <stdio.h>
#include <string.h>

const char *rec_shape_str(const rec_tensor *t, char *buf)
{
    size_t len = 0;
    buf[len++] = '[';
    for (int i = 0; i < t->nd && len < REC_SHAPE_STR - 24; i++)
        len += (size_t)snprintf(buf + len, REC_SHAPE_STR - len, i ? ",%lld" : "%lld",
                                (long long)t->shape[i]);
    buf[len++] = ']';
    buf[len] = '\0';
    return buf;
}

int rec_op_input(rec_graph *g, const char *fn, const char *what, const rec_tensor *t)
{
    if (!g || rec_graph_status(g))
        return 0;
    if (!t) {
        rec_graph_fail(g, REC_E_INVALID, "%s: %s is NULL", fn, what);
        return 0;
    }
    if (t->dtype != REC_F32) {
        rec_graph_fail(g, REC_E_INVALID, "%s: %s is I32, want F32", fn, what);
        return 0;
    }
    return 1;
}

typedef struct accum_job {
    float *dst;
    const float *src;
} accum_job;

EW_LOOPS static void accum_part(void *arg, int64_t b, int64_t e, int chunk)
{
    (void)chunk;
    const accum_job *j = arg;
    float *restrict d = j->dst;
    const float *restrict s = j->src;
    for (int64_t i = b; i < e; i++)
        d[i] += s[i];
}

void rec_accum(float *dst, const float *src, int64_t n)
{
    accum_job j = { dst, src };
    rec_parallel_for(n, REC_EW_GRAIN, accum_part, &j);
}

/* An op output that shares `base`'s values: rec_op_out records the node
 * (and the grad flag) for an empty tensor, then the header takes the real
 * shape, so the arena holds no copy. */
static rec_tensor *view_out(rec_graph *g, rec_tensor *a, float *base, int nd,
                            const int64_t *shape, rec_backward_fn bw, rec_node **node)
{
    int64_t zero = 0;
    rec_tensor *out = rec_op_out(g, 1, &zero, bw, 1, &a, node);
    if (!out)
        return NULL;
    out->nd = nd;
    out->n = 1;
    for (int i = 0; i < nd; i++) {
        out->shape[i] = shape[i];
        out->n *= shape[i];
    }
    out->v = base;
    return out;
}

/* ---- reshape ------------------------------------------------------------ */

static void reshape_back(rec_graph *g, rec_node *n)
{
    if (rec_grad_take(n->in[0], n->out))
        return;
    float *ga = rec_grad_of(g, n->in[0]);
    if (ga)
        rec_accum(ga, n->out->g, n->out->n);
}

rec_tensor *rec_reshape(rec_graph *g, rec_tensor *a, int nd, const int64_t *shape)
{
    static const char fn[] = "rec_reshape";
    if (!rec_op_input(g, fn, "a", a))
        return NULL;
    if (nd < 1 || nd > REC_MAX_DIMS || !shape)
        return rec_graph_fail(g, REC_E_INVALID, "%s: %d dimensions (want 1 to %d)%s", fn, nd,
                              REC_MAX_DIMS, shape ? "" : ", shape is NULL");
    int64_t s[REC_MAX_DIMS], known = 1;
    int infer = -1;
    for (int i = 0; i < nd; i++) {
        s[i] = shape[i];
        if (s[i] == -1 && infer < 0) {
            infer = i;
        } else if (s[i] < 0) {
            return rec_graph_fail(g, REC_E_INVALID, "%s: dimension %d is %lld", fn, i,
                                  (long long)s[i]);
        } else {
            known *= s[i];
        }
    }
    if (infer >= 0) {
        if (known == 0 || a->n % known)
            goto mismatch;
        s[infer] = a->n / known;
        known = a->n;
    }
    if (known != a->n)
        goto mismatch;
    return view_out(g, a, a->v, nd, s, reshape_back, NULL);
mismatch:;
    char buf[REC_SHAPE_STR];
    return rec_graph_fail(g, REC_E_INVALID, "%s: cannot view %s (%lld values) as %d dims "
                          "with %lld known values", fn, rec_shape_str(a, buf),
                          (long long)a->n, nd, (long long)known);
}

/* ---- transpose ---------------------------------------------------------- */

/* dst [n,m] (+)= src^T for each of `batch` matrices src [m,n], in 32 x 32
 * tiles; work items are (matrix, block of 32 src rows), whose dst columns
 * never overlap. */
typedef struct tr_job {
    const float *src;
    float *dst;
    int64_t m, n, rblocks;
    int add;
} tr_job;

#define TR_TILE 32

static void tr_part(void *arg, int64_t b, int64_t e, int chunk)
{
    (void)chunk;
    const tr_job *j = arg;
    int64_t m = j->m, n = j->n;
    for (int64_t it = b; it < e; it++) {
        int64_t mat = it / j->rblocks, r0 = (it % j->rblocks) * TR_TILE;
        int64_t r1 = r0 + TR_TILE < m ? r0 + TR_TILE : m;
        const float *s = j->src + mat * m * n;
        float *d = j->dst + mat * m * n;
        for (int64_t c0 = 0; c0 < n; c0 += TR_TILE) {
            int64_t c1 = c0 + TR_TILE < n ? c0 + TR_TILE : n;
            for (int64_t c = c0; c < c1; c++)
                for (int64_t r = r0; r < r1; r++) {
                    if (j->add)
                        d[c * m + r] += s[r * n + c];
                    else
                        d[c * m + r] = s[r * n + c];
                }
        }
    }
}

static void transpose_run(const float *src, float *dst, int64_t batch, int64_t m, int64_t n,
                          int add)
{
    if (!m || !n)
        return;
    tr_job j = { src, dst, m, n, (m + TR_TILE - 1) / TR_TILE, add };
    int64_t items = batch * j.rblocks;
    int64_t per = TR_TILE * n;
    rec_parallel_for(items, per >= REC_EW_GRAIN ? 1 : REC_EW_GRAIN / per, tr_part, &j);
}

static void transpose_back(rec_graph *g, rec_node *n)
{
    float *ga = rec_grad_of(g, n->in[0]);
    if (ga)
        transpose_run(n->out->g, ga, n->i[0], n->i[2], n->i[1], 1);
}

rec_tensor *rec_transpose(rec_graph *g, rec_tensor *a)
{
    static const char fn[] = "rec_transpose";
    if (!rec_op_input(g, fn, "a", a))
        return NULL;
    if (a->nd < 2) {
        char buf[REC_SHAPE_STR];
        return rec_graph_fail(g, REC_E_INVALID, "%s: a is %s, want at least 2 dims", fn,
                              rec_shape_str(a, buf));
    }
    int64_t s[REC_MAX_DIMS];
    memcpy(s, a->shape, sizeof s);
    int64_t m = s[a->nd - 2], n = s[a->nd - 1];
    s[a->nd - 2] = n;
    s[a->nd - 1] = m;
    rec_node *node;
    rec_tensor *out = rec_op_out(g, a->nd, s, transpose_back, 1, &a, &node);
    if (!out)
        return NULL;
    int64_t batch = m && n ? a->n / (m * n) : 0;
    transpose_run(a->v, out->v, batch, m, n, 0);
    if (node) {
        node->i[0] = batch;
        node->i[1] = m;
        node->i[2] = n;
    }
    return out;
}

/* ---- concat along the last dim ----------------------------------------- */

typedef struct cat_job {
    rec_tensor *const *ts;
    float **parts;     /* per input: its values (forward) or its gradient (backward) */
    float *whole;      /* [rows, total] */
    int n;
    int64_t total;
    int back;
} cat_job;

static void cat_part(void *arg, int64_t b, int64_t e, int chunk)
{
    (void)chunk;
    const cat_job *j = arg;
    for (int64_t r = b; r < e; r++) {
        float *row = j->whole + r * j->total;
        for (int i = 0; i < j->n; i++) {
            int64_t c = rec_cols(j->ts[i]);
            float *p = j->parts[i];
            if (p && j->back) {
                float *restrict d = p + r * c;
                for (int64_t k = 0; k < c; k++)
                    d[k] += row[k];
            } else if (p) {
                memcpy(row, p + r * c, (size_t)c * sizeof *row);
            }
            row += c;
        }
    }
}

typedef struct cat_saved {
    rec_tensor **ts;
    float **parts;
    int n;
} cat_saved;

static void concat_back(rec_graph *g, rec_node *n)
{
    cat_saved *s = n->saved;
    for (int i = 0; i < s->n; i++)
        s->parts[i] = rec_grad_of(g, s->ts[i]);
    if (rec_graph_status(g))
        return;
    cat_job j = { s->ts, s->parts, n->out->g, s->n, rec_cols(n->out), 1 };
    int64_t rows = rec_rows(n->out);
    rec_parallel_for(rows, rec_row_grain(j.total), cat_part, &j);
}

rec_tensor *rec_concat(rec_graph *g, int n, rec_tensor *const *ts)
{
    static const char fn[] = "rec_concat";
    if (!g || rec_graph_status(g))
        return NULL;
    if (n < 1 || !ts)
        return rec_graph_fail(g, REC_E_INVALID, "%s: %d inputs%s (want at least 1)", fn, n,
                              ts ? "" : " in a NULL array");
    int64_t rows = 0, total = 0;
    rec_tensor *rep = NULL; /* the input that carries the grad flag into rec_op_out */
    for (int i = 0; i < n; i++) {
        char what[32];
        snprintf(what, sizeof what, "input %d", i);
        if (!rec_op_input(g, fn, what, ts[i]))
            return NULL;
        if (i == 0)
            rows = rec_rows(ts[i]);
        if (rec_rows(ts[i]) != rows) {
            char b0[REC_SHAPE_STR], bi[REC_SHAPE_STR];
            return rec_graph_fail(g, REC_E_INVALID, "%s: input 0 is %s but input %d is %s "
                                  "(rows differ)", fn, rec_shape_str(ts[0], b0), i,
                                  rec_shape_str(ts[i], bi));
        }
        total += rec_cols(ts[i]);
        if (!rep || (!(rep->flags & REC_T_GRAD) && (ts[i]->flags & REC_T_GRAD)))
            rep = ts[i];
    }
    int64_t s[REC_MAX_DIMS];
    int nd = ts[0]->nd ? ts[0]->nd : 1;
    memcpy(s, ts[0]->shape, sizeof s);
    s[nd - 1] = total;
    rec_node *node;
    rec_tensor *out = rec_op_out(g, nd, s, concat_back, 1, &rep, &node);
    if (!out)
        return NULL;
    float **vals = rec_graph_alloc(g, (size_t)n * sizeof *vals);
    if (!vals)
        return NULL;
    for (int i = 0; i < n; i++)
        vals[i] = ts[i]->v;
    cat_job j = { ts, vals, out->v, n, total, 0 };
    rec_parallel_for(rows, rec_row_grain(total), cat_part, &j);
    if (node) {
        /* more than the node's 4 input slots may be needed: keep them all */
        cat_saved *sv = rec_graph_alloc(g, sizeof *sv);
        rec_tensor **keep = rec_graph_alloc(g, (size_t)n * sizeof *keep);
        if (!sv || !keep)
            return NULL;
        memcpy(keep, ts, (size_t)n * sizeof *keep);
        *sv = (cat_saved){ keep, vals, n };
        node->saved = sv;
    }
    return out;
}

/* ---- slices ------------------------------------------------------------- */

typedef struct cols_job {
    float *src, *dst; /* forward: a -> out; backward: dout -> da */
    int64_t cols, c0, w;
    int back;
} cols_job;

static void cols_part(void *arg, int64_t b, int64_t e, int chunk)
{
    (void)chunk;
    const cols_job *j = arg;
    for (int64_t r = b; r < e; r++) {
        if (j->back) {
            float *restrict d = j->dst + r * j->cols + j->c0;
            const float *restrict s = j->src + r * j->w;
            for (int64_t k = 0; k < j->w; k++)
                d[k] += s[k];
        } else {
            memcpy(j->dst + r * j->w, j->src + r * j->cols + j->c0, (size_t)j->w * 4);
        }
    }
}

static void slice_cols_back(rec_graph *g, rec_node *n)
{
    float *ga = rec_grad_of(g, n->in[0]);
    if (!ga)
        return;
    cols_job j = { n->out->g, ga, rec_cols(n->in[0]), n->i[0], rec_cols(n->out), 1 };
    rec_parallel_for(rec_rows(n->out), rec_row_grain(j.w), cols_part, &j);
}

rec_tensor *rec_slice_cols(rec_graph *g, rec_tensor *a, int64_t c0, int64_t c1)
{
    static const char fn[] = "rec_slice_cols";
    if (!rec_op_input(g, fn, "a", a))
        return NULL;
    int64_t cols = rec_cols(a);
    if (c0 < 0 || c1 < c0 || c1 > cols) {
        char buf[REC_SHAPE_STR];
        return rec_graph_fail(g, REC_E_RANGE, "%s: columns [%lld, %lld) are outside a %s", fn,
                              (long long)c0, (long long)c1, rec_shape_str(a, buf));
    }
    int64_t s[REC_MAX_DIMS];
    int nd = a->nd ? a->nd : 1;
    memcpy(s, a->shape, sizeof s);
    s[nd - 1] = c1 - c0;
    rec_node *node;
    rec_tensor *out = rec_op_out(g, nd, s, slice_cols_back, 1, &a, &node);
    if (!out)
        return NULL;
    cols_job j = { a->v, out->v, cols, c0, c1 - c0, 0 };
    rec_parallel_for(rec_rows(a), rec_row_grain(j.w), cols_part, &j);
    if (node)
        node->i[0] = c0;
    return out;
}

static void slice_rows_back(rec_graph *g, rec_node *n)
{
    float *ga = rec_grad_of(g, n->in[0]);
    if (ga)
        rec_accum(ga + n->i[0], n->out->g, n->out->n);
}

rec_tensor *rec_slice_rows(rec_graph *g, rec_tensor *a, int64_t r0, int64_t r1)
{
    static const char fn[] = "rec_slice_rows";
    if (!rec_op_input(g, fn, "a", a))
        return NULL;
    int64_t rows = rec_rows(a), cols = rec_cols(a);
    if (r0 < 0 || r1 < r0 || r1 > rows) {
        char buf[REC_SHAPE_STR];
        return rec_graph_fail(g, REC_E_RANGE, "%s: rows [%lld, %lld) are outside a %s", fn,
                              (long long)r0, (long long)r1, rec_shape_str(a, buf));
    }
    /* [r1-r0, cols]; a 1-D input (one row) stays 1-D */
    int64_t s[2] = { r1 - r0, cols };
    int64_t flat = (r1 - r0) * cols;
    rec_node *node;
    rec_tensor *out = a->nd >= 2 ? view_out(g, a, a->v + r0 * cols, 2, s, slice_rows_back, &node)
                                 : view_out(g, a, a->v + r0 * cols, 1, &flat, slice_rows_back,
                                            &node);
    if (out && node)
        node->i[0] = r0 * cols;
    return out;
}
