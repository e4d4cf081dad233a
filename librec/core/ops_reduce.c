/* Reductions: sum, mean, row sums, row dot products, row L2 normalisation.
 * Sums accumulate in double; a whole-tensor sum splits into a number of
 * partial sums fixed by the size alone, so it is the same for any thread
 * count. */
#include "ops_dense-impl.h"

#include <math.h>
#include <string.h>

/* ---- sum and mean ---------------------------------------------------------- */

#define SUM_PARTS 64
#define SUM_BLOCK 65536

typedef struct sum_job {
    const float *x;
    double part[SUM_PARTS];
} sum_job;

/* Sums in SUM_W double lanes (fixed-width blocks, which -O2 vectorises; double,
 * so that a large value does not swallow many small ones): the order depends
 * on the part's range alone. */
#define SUM_W 16

static void sum_part(void *arg, int64_t s, int64_t e, int chunk)
{
    sum_job *j = arg;
    const float *restrict x = j->x;
    double lane[SUM_W] = { 0 }, acc = 0;
    int64_t i = s;
    for (; i + SUM_W <= e; i += SUM_W)
        for (int l = 0; l < SUM_W; l++)
            lane[l] += x[i + l];
    for (int l = 0; l < SUM_W; l++)
        acc += lane[l];
    for (; i < e; i++)
        acc += x[i];
    j->part[chunk] = acc;
}

static double total(const float *x, int64_t n)
{
    int64_t blocks = (n + SUM_BLOCK - 1) / SUM_BLOCK;
    int parts = blocks < SUM_PARTS ? (int)blocks : SUM_PARTS;
    sum_job j;
    j.x = x;
    rec_parallel_chunks(n, parts, sum_part, &j);
    double acc = 0;
    for (int c = 0; c < parts; c++)
        acc += j.part[c];
    return acc;
}

typedef struct fill_job {
    float *dx;
    float v;
    int set;            /* dx is fresh (rec_grad_full): write, do not add */
} fill_job;

static void add_const(void *arg, int64_t s, int64_t e, int chunk)
{
    (void)chunk;
    const fill_job *j = arg;
    float *restrict dx = j->dx;
    const float v = j->v;
    int64_t i = s;
    if (j->set) {
        for (; i < e; i++)
            dx[i] = v;
        return;
    }
    for (; i + SUM_W <= e; i += SUM_W)
        for (int l = 0; l < SUM_W; l++)
            dx[i + l] += v;
    for (; i < e; i++)
        dx[i] += v;
}

/* d(sum)/dx = 1, d(mean)/dx = 1/n: f[0] holds that factor */
static void sum_back(rec_graph *g, rec_node *n)
{
    float beta;
    float *dx = rec_grad_full(g, n->in[0], &beta);
    if (!dx)
        return;
    fill_job j = { dx, n->out->g[0] * n->f[0], beta == 0.0f };
    rec_parallel_for(n->in[0]->n, REC_EW_GRAIN, add_const, &j);
}

static rec_tensor *sum_like(rec_graph *g, const char *fn, rec_tensor *a, int mean)
{
    if (!rec_op_input(g, fn, "a", a))
        return NULL;
    if (mean && a->n == 0)
        return rec_graph_fail(g, REC_E_INVALID, "%s: a has no elements", fn);
    int64_t one = 1;
    rec_node *node;
    rec_tensor *y = rec_op_out(g, 1, &one, sum_back, 1, &a, &node);
    if (!y)
        return NULL;
    double s = total(a->v, a->n);
    y->v[0] = (float)(mean ? s / (double)a->n : s);
    if (node)
        node->f[0] = mean ? (float)(1.0 / (double)a->n) : 1.0f;
    return y;
}

rec_tensor *rec_sum(rec_graph *g, rec_tensor *a)
{
    return sum_like(g, "rec_sum", a, 0);
}

rec_tensor *rec_mean(rec_graph *g, rec_tensor *a)
{
    return sum_like(g, "rec_mean", a, 1);
}

/* ---- row-wise: sum_rows, rowdot, l2_normalize ----------------------------- */

enum { R_SUM, R_DOT, R_L2 };

typedef struct row_job {
    int op;
    int64_t cols;
    float eps;
    const float *a, *b;
    float *y;           /* [rows] (sum, dot) or [rows, cols] (l2) */
    float *norm;        /* l2: max(||x||, eps) per row, negated when clamped */
    const float *dy;
    float *da, *db;
    int da_set, db_set; /* sum, dot: fresh gradients, written not added */
} row_job;

static void row_fwd(void *arg, int64_t s, int64_t e, int chunk)
{
    (void)chunk;
    const row_job *j = arg;
    int64_t c = j->cols;
    for (int64_t r = s; r < e; r++) {
        const float *x = j->a + r * c;
        double acc = 0;
        if (j->op == R_SUM) {
            for (int64_t k = 0; k < c; k++)
                acc += x[k];
            j->y[r] = (float)acc;
        } else if (j->op == R_DOT) {
            const float *z = j->b + r * c;
            for (int64_t k = 0; k < c; k++)
                acc += (double)x[k] * z[k];
            j->y[r] = (float)acc;
        } else {
            for (int64_t k = 0; k < c; k++)
                acc += (double)x[k] * x[k];
            double nrm = sqrt(acc), d = nrm > j->eps ? nrm : j->eps;
            j->norm[r] = (float)(nrm > j->eps ? d : -d); /* the sign keeps the regime */
            /* a zero row with eps = 0 stays zero rather than NaN */
            float inv = d > 0 ? (float)(1.0 / d) : 0.0f;
            float *y = j->y + r * c;
            for (int64_t k = 0; k < c; k++)
                y[k] = x[k] * inv;
        }
    }
}

static void row_bwd(void *arg, int64_t s, int64_t e, int chunk)
{
    (void)chunk;
    const row_job *j = arg;
    int64_t c = j->cols;
    for (int64_t r = s; r < e; r++) {
        const float *x = j->a + r * c;
        if (j->op == R_SUM) {
            float d = j->dy[r];
            float *restrict da = j->da + r * c;
            if (j->da_set)
                for (int64_t k = 0; k < c; k++)
                    da[k] = d;
            else
                for (int64_t k = 0; k < c; k++)
                    da[k] += d;
        } else if (j->op == R_DOT) {
            float d = j->dy[r];
            const float *z = j->b + r * c;
            if (j->da && j->da_set)
                for (int64_t k = 0; k < c; k++)
                    j->da[r * c + k] = d * z[k];
            else if (j->da)
                for (int64_t k = 0; k < c; k++)
                    j->da[r * c + k] += d * z[k];
            if (j->db && j->db_set)
                for (int64_t k = 0; k < c; k++)
                    j->db[r * c + k] = d * x[k];
            else if (j->db)
                for (int64_t k = 0; k < c; k++)
                    j->db[r * c + k] += d * x[k];
        } else {
            /* y = x / n with n = ||x|| > eps: dx = (dy - y (y . dy)) / n;
             * in the clamped regime n = eps is a constant: dx = dy / eps */
            const float *y = j->y + r * c, *dy = j->dy + r * c;
            float *restrict da = j->da + r * c;
            double nrm = j->norm[r], yd = 0;
            if (nrm == 0)
                continue;
            if (nrm > 0)
                for (int64_t k = 0; k < c; k++)
                    yd += (double)y[k] * dy[k];
            float inv = (float)(1.0 / fabs(nrm)), fyd = (float)yd;
            for (int64_t k = 0; k < c; k++)
                da[k] += (dy[k] - y[k] * fyd) * inv;
        }
    }
}

static void row_back(rec_graph *g, rec_node *n)
{
    rec_tensor *a = n->in[0], *b = n->nin > 1 ? n->in[1] : NULL;
    row_job j = { (int)n->i[0], rec_cols(a), n->f[0], a->v, b ? b->v : NULL, n->out->v,
                  n->saved, n->out->g, NULL, NULL, 0, 0 };
    if (j.op == R_SUM || j.op == R_DOT) { /* every row written: da first, then db */
        float ba, bb = 1.0f;
        j.da = rec_grad_full(g, a, &ba);
        j.db = b ? rec_grad_full(g, b, &bb) : NULL;
        j.da_set = j.da && ba == 0.0f;
        j.db_set = j.db && bb == 0.0f;
    } else {
        j.da = rec_grad_of(g, a);
    }
    if (rec_graph_status(g) || (!j.da && !j.db))
        return;
    rec_parallel_for(rec_rows(a), rec_row_grain(j.cols), row_bwd, &j);
}

static rec_tensor *rowwise(rec_graph *g, const char *fn, int op, rec_tensor *a, rec_tensor *b,
                           float eps)
{
    if (!rec_op_input(g, fn, "a", a) || (op == R_DOT && !rec_op_input(g, fn, "b", b)))
        return NULL;
    char sa[REC_SHAPE_STR], sb[REC_SHAPE_STR];
    if (op == R_DOT && !rec_same_shape(a, b))
        return rec_graph_fail(g, REC_E_INVALID, "%s: shapes %s and %s differ", fn,
                              rec_shape_str(a, sa), rec_shape_str(b, sb));
    if (op == R_L2 && !(eps >= 0.0f && eps < INFINITY))
        return rec_graph_fail(g, REC_E_RANGE, "%s: eps = %g, want a finite value >= 0", fn,
                              (double)eps);
    int64_t rows = rec_rows(a);
    /* sum/dot drop the last dim ([rows] for 1-D or 2-D inputs) */
    int64_t s[REC_MAX_DIMS];
    int nd = a->nd;
    memcpy(s, a->shape, sizeof s);
    if (op != R_L2) {
        nd = a->nd > 1 ? a->nd - 1 : 1;
        if (a->nd <= 1)
            s[0] = 1;
    }
    rec_tensor *in[2] = { a, b };
    rec_node *node;
    rec_tensor *y = rec_op_out(g, nd, s, row_back, op == R_DOT ? 2 : 1, in, &node);
    if (!y)
        return NULL;
    float *norm = NULL;
    if (op == R_L2 && !(norm = rec_graph_alloc(g, (size_t)(rows ? rows : 1) * sizeof *norm)))
        return NULL;
    row_job j = { op, rec_cols(a), eps, a->v, b ? b->v : NULL, y->v, norm, NULL, NULL, NULL,
                  0, 0 };
    rec_parallel_for(rows, rec_row_grain(j.cols), row_fwd, &j);
    if (node) {
        node->i[0] = op;
        node->f[0] = eps;
        node->saved = norm;
    }
    return y;
}

rec_tensor *rec_sum_rows(rec_graph *g, rec_tensor *a)
{
    return rowwise(g, "rec_sum_rows", R_SUM, a, NULL, 0.0f);
}

rec_tensor *rec_rowdot(rec_graph *g, rec_tensor *a, rec_tensor *b)
{
    return rowwise(g, "rec_rowdot", R_DOT, a, b, 0.0f);
}

rec_tensor *rec_l2_normalize(rec_graph *g, rec_tensor *a, float eps)
{
    return rowwise(g, "rec_l2_normalize", R_L2, a, NULL, eps);
}
