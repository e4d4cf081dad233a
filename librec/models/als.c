/* "als": implicit-feedback matrix factorisation by alternating least squares
 * (Hu, Koren and Volinsky 2008).  Every observed (u, i) has preference 1 and
 * confidence c = 1 + alpha r (r = the rating when the data has ratings and
 * use_ratings is on, else 1); every other pair preference 0, confidence 1:
 *   min  sum_ui c_ui (p_ui - x_u.y_i)^2 + reg (sum |x_u|^2 + sum |y_i|^2)
 * Each half-step solves every user (item) exactly with the others fixed:
 *   (Y^T Y + reg I + sum_{i in u} (c_ui - 1) y_i y_i^T) x_u = sum_{i in u} c_ui y_i
 * so the dense Y^T Y is computed once per half-step (one sgemm) and each row
 * costs only its own interactions: by Cholesky (cg_steps 0) or by a few
 * conjugate-gradient steps warm-started from the previous vector (as the
 * `implicit` library does).  Rows are solved in parallel, each chunk with its
 * own scratch; a row's result does not depend on the thread count.
 * alpha defaults to 1 (implicit's default since 0.5): with 0.5..5 star ratings
 * the confidence then ranges over 1.5..6. */
#include "factor-impl.h"
#include "core/linalg-impl.h"

#include <math.h>
#include <string.h>

static const rec_param_spec spec[] = {
    { "dim", REC_PARAM_INT, "64", 1, 4096, NULL, "latent factors per user and item" },
    { "reg", REC_PARAM_FLOAT, "0.01", 0, 1e6, NULL, "L2 penalty on the factors" },
    { "epochs", REC_PARAM_INT, "15", 1, 100000, NULL, "alternating sweeps (users, items)" },
    { "alpha", REC_PARAM_FLOAT, "1", 0, 1e6, NULL, "confidence c = 1 + alpha * r" },
    { "use_ratings", REC_PARAM_BOOL, "true", 0, 0, NULL,
      "r is the rating when the data has ratings (else r = 1)" },
    { "cg_steps", REC_PARAM_INT, "3", 0, 4096, NULL,
      "conjugate-gradient steps per row; 0 solves exactly by Cholesky" },
    { "init_std", REC_PARAM_FLOAT, "0.01", 0, 10, NULL, "std of the normal initialisation" },
    { "seed", REC_PARAM_INT, "42", 0, 9.2e18, NULL, "random seed of the initialisation" },
    REC_MODEL_INDEX_KEYS,
};
#define NSPEC (sizeof spec / sizeof *spec)

static void als_free(rec_model *m)
{
    rec_als_state *s = m->state;
    if (!s)
        return;
    size_t d = (size_t)s->dim;
    rec_free(s->X, ((size_t)m->nusers * d + 1) * sizeof(float));
    rec_free(s->Y, ((size_t)m->nitems * d + 1) * sizeof(float));
    rec_free(s->G, d * d * sizeof(float));
    rec_free(s, sizeof *s);
    m->state = NULL;
}

static rec_status als_alloc(rec_model *m, const char *fn)
{
    rec_als_state *s = rec_calloc(1, sizeof *s);
    if (!s)
        return rec_nomem(fn);
    m->state = s;
    s->dim = (int)rec_model_int(m, "dim");
    size_t d = (size_t)s->dim;
    s->X = rec_calloc((size_t)m->nusers * d + 1, sizeof(float));
    s->Y = rec_calloc((size_t)m->nitems * d + 1, sizeof(float));
    s->G = rec_calloc(d * d, sizeof(float));
    return s->X && s->Y && s->G ? REC_OK : rec_nomem(fn);
}

/* The fold-in's Gram matrix of the item factors (als_score_history). */
static void item_gram(const rec_model *m, rec_als_state *s)
{
    rec_sgemm(1, 0, s->dim, s->dim, m->nitems, 1.0f, s->Y, s->dim, s->Y, s->dim, 0.0f, s->G,
              s->dim);
}

/* What one half-step solves: rows of `out` from CSR (ptr, idx, val) over the
 * fixed factors F, with G = F^T F [d, d]. */
typedef struct half {
    int d, cg;
    float reg, alpha;
    const float *F, *G;
    const int64_t *ptr;
    const int32_t *idx;
    const float *val;   /* NULL: r = 1 */
    float *out;
    void **scratch;     /* per chunk: d*d + d doubles, then 4 d floats */
    int failed;         /* a row was not positive definite (reg = 0)  */
} half;

static size_t scratch_bytes(int d)
{
    return ((size_t)d * d + (size_t)d) * sizeof(double) + 4 * (size_t)d * sizeof(float);
}

/* Exact solve of one row into x[d]; 0 or REC_E_RANGE. */
static rec_status solve_chol(const half *h, const int32_t *idx, const float *val, int64_t n,
                             double *a, float *x)
{
    int d = h->d;
    double *b = a + (size_t)d * d;
    for (size_t k = 0; k < (size_t)d * d; k++)
        a[k] = h->G[k];
    for (int k = 0; k < d; k++) {
        a[(size_t)k * d + k] += h->reg;
        b[k] = 0;
    }
    for (int64_t j = 0; j < n; j++) {
        const float *f = h->F + (size_t)idx[j] * d;
        double c = 1.0 + (double)h->alpha * (val ? val[j] : 1.0f);
        for (int p = 0; p < d; p++) {
            double cf = (c - 1.0) * f[p];
            double *row = a + (size_t)p * d;
            for (int q = 0; q < d; q++)
                row[q] += cf * f[q];
            b[p] += c * f[p];
        }
    }
    rec_status st = rec_cholesky_solve(d, a, b);
    if (st)
        return st;
    for (int k = 0; k < d; k++)
        x[k] = (float)b[k];
    return REC_OK;
}

/* A v for the row's system: (G + reg I) v + sum (c - 1)(f.v) f. */
static void apply(const half *h, const int32_t *idx, const float *val, int64_t n,
                  const float *v, float *out)
{
    int d = h->d;
    rec_sgemv(0, d, d, 1.0f, h->G, d, v, 0.0f, out);
    for (int k = 0; k < d; k++)
        out[k] += h->reg * v[k];
    for (int64_t j = 0; j < n; j++) {
        const float *f = h->F + (size_t)idx[j] * d;
        float w = h->alpha * (val ? val[j] : 1.0f) * rec_sdot(d, f, v);
        for (int k = 0; k < d; k++)
            out[k] += w * f[k];
    }
}

/* cg_steps of conjugate gradient from the current x (in place). */
static void solve_cg(const half *h, const int32_t *idx, const float *val, int64_t n, float *buf,
                     float *x)
{
    int d = h->d;
    float *r = buf, *p = r + d, *ap = p + d;
    apply(h, idx, val, n, x, ap);
    for (int k = 0; k < d; k++)
        r[k] = -ap[k];
    for (int64_t j = 0; j < n; j++) {
        const float *f = h->F + (size_t)idx[j] * d;
        float c = 1.0f + h->alpha * (val ? val[j] : 1.0f);
        for (int k = 0; k < d; k++)
            r[k] += c * f[k];
    }
    memcpy(p, r, (size_t)d * sizeof *p);
    float rs = rec_sdot(d, r, r);
    for (int it = 0; it < h->cg && rs > 1e-20f; it++) {
        apply(h, idx, val, n, p, ap);
        float pap = rec_sdot(d, p, ap);
        if (!(pap > 0))
            break;
        float step = rs / pap;
        for (int k = 0; k < d; k++) {
            x[k] += step * p[k];
            r[k] -= step * ap[k];
        }
        float rs2 = rec_sdot(d, r, r);
        for (int k = 0; k < d; k++)
            p[k] = r[k] + rs2 / rs * p[k];
        rs = rs2;
    }
}

static void solve_range(void *arg, int64_t b, int64_t e, int chunk)
{
    half *h = arg;
    double *a = h->scratch[chunk];
    float *buf = (float *)(a + (size_t)h->d * h->d + h->d);
    for (int64_t row = b; row < e; row++) {
        const int32_t *idx = h->idx + h->ptr[row];
        const float *val = h->val ? h->val + h->ptr[row] : NULL;
        int64_t n = h->ptr[row + 1] - h->ptr[row];
        float *x = h->out + (size_t)row * h->d;
        if (h->cg > 0)
            solve_cg(h, idx, val, n, buf, x);
        else if (solve_chol(h, idx, val, n, a, x))
            h->failed = 1; /* benign race: every writer stores 1 */
    }
}

/* Rows [lo, hi) of this rank's block (all rows alone). */
static void block_of(const rec_comm *c, int r, int64_t rows, int64_t *lo, int64_t *hi)
{
    int p = c ? c->size : 1;
    *lo = rows * r / p;
    *hi = rows * (r + 1) / p;
}

/* Distributed (c of size > 1, every rank holding the whole dataset): each
 * rank solves its block of rows, and the blocks are gathered, so every rank
 * holds every factor after each half-step.  A row's solve reads only G, F
 * and its own interactions, so the factors are the same bits as one
 * process's. */
static rec_status half_step(half *h, int64_t rows, int nf, int nchunks, rec_comm *c,
                            size_t *counts, const char *fn)
{
    float *g = (float *)h->G;
    rec_sgemm(1, 0, h->d, h->d, nf, 1.0f, h->F, h->d, h->F, h->d, 0.0f, g, h->d);
    h->failed = 0;
    int64_t lo, hi;
    block_of(c, c ? c->rank : 0, rows, &lo, &hi);
    half mine = *h;
    mine.ptr = h->ptr + lo;
    mine.out = h->out + (size_t)lo * h->d;
    rec_parallel_chunks(hi - lo, nchunks, solve_range, &mine);
    rec_status st = REC_OK;
    if (mine.failed)
        st = rec_err(REC_E_RANGE, "%s: a least-squares system is singular (use reg > 0)", fn);
    for (size_t k = (size_t)lo * h->d; !st && k < (size_t)hi * h->d; k++)
        if (!isfinite(h->out[k]))
            st = rec_err(REC_E_RANGE, "%s: the factors diverged", fn);
    if (!c)
        return st;
    REC_TRY(rec_comm_sync(c, st, 0, NULL));
    for (int r = 0; r < c->size; r++) {
        int64_t a, b;
        block_of(c, r, rows, &a, &b);
        counts[r] = (size_t)(b - a) * (size_t)h->d * sizeof(float);
    }
    return rec_comm_allgatherv(c, mine.out, counts[c->rank], h->out, counts);
}

static rec_status als_fit(rec_model *m, const rec_dataset *d, rec_progress_fn cb, void *user)
{
    const char *fn = "rec_model_fit(als)";
    REC_TRY(als_alloc(m, fn));
    rec_als_state *s = m->state;
    int dim = s->dim;
    rec_rng rng;
    rec_rng_seed(&rng, (uint64_t)rec_model_int(m, "seed"));
    float sd = (float)rec_model_flt(m, "init_std");
    for (size_t k = 0; k < (size_t)m->nusers * dim; k++)
        s->X[k] = sd * rec_rng_normal(&rng);
    for (size_t k = 0; k < (size_t)m->nitems * dim; k++)
        s->Y[k] = sd * rec_rng_normal(&rng);

    const int64_t *uptr, *iptr;
    const int32_t *uitems, *iusers;
    const float *urat, *irat;
    REC_TRY(rec_ds_user_csr(d, &uptr, &uitems, &urat));
    REC_TRY(rec_ds_item_csr(d, &iptr, &iusers, &irat));
    if (!rec_model_bool(m, "use_ratings"))
        urat = irat = NULL;

    int nchunks = rec_get_num_threads();
    nchunks = nchunks < 1 ? 1 : nchunks;
    size_t sb = scratch_bytes(dim), gb = (size_t)dim * dim * sizeof(float);
    size_t pb = (size_t)nchunks * sizeof(void *);
    void **scratch = rec_calloc(1, pb);
    float *g = rec_malloc(gb);
    rec_status st = scratch && g ? REC_OK : rec_nomem(fn);
    for (int c = 0; !st && c < nchunks; c++)
        if (!(scratch[c] = rec_malloc(sb)))
            st = rec_nomem(fn);
    half h = { .d = dim,
               .cg = (int)rec_model_int(m, "cg_steps"),
               .reg = (float)rec_model_flt(m, "reg"),
               .alpha = (float)rec_model_flt(m, "alpha"),
               .G = g,
               .scratch = scratch };
    int iters = (int)rec_model_int(m, "epochs");
    rec_comm *comm = m->comm && m->comm->size > 1 ? m->comm : NULL;
    size_t cb_bytes = comm ? (size_t)comm->size * sizeof(size_t) : 0;
    size_t *counts = comm && !st ? rec_malloc(cb_bytes) : NULL;
    if (comm && !st && !counts)
        st = rec_nomem(fn);
    int64_t ng;
    if (comm && !st && rec_ds_global_rows(d, &ng))
        st = rec_err(REC_E_UNSUPPORTED, "%s: an item's solve reads every user's interactions "
                     "with it: give every rank the whole dataset, not a shard", fn);
    if (comm) /* from here every rank fails together */
        st = rec_comm_sync(comm, st, 0, NULL);
    for (int it = 1; !st && it <= iters; it++) {
        h.F = s->Y, h.ptr = uptr, h.idx = uitems, h.val = urat, h.out = s->X;
        st = half_step(&h, m->nusers, m->nitems, nchunks, comm, counts, fn);
        h.F = s->X, h.ptr = iptr, h.idx = iusers, h.val = irat, h.out = s->Y;
        if (!st)
            st = half_step(&h, m->nitems, m->nusers, nchunks, comm, counts, fn);
        int cancel = !st && cb && cb(user, it, iters, NAN);
        if (cancel)
            st = rec_err(REC_E_CANCELLED, "%s: cancelled at iteration %d", fn, it);
        if (comm && (!st || cancel)) /* a cancel on one rank stops all */
            st = rec_comm_sync(comm, st, 0, NULL);
    }
    rec_free(counts, cb_bytes);
    for (int c = 0; scratch && c < nchunks; c++)
        rec_free(scratch[c], sb);
    rec_free(scratch, pb);
    rec_free(g, gb);
    if (!st || st == REC_E_CANCELLED) /* a cancelled fit stays usable */
        item_gram(m, s);
    return st;
}

static rec_status als_score_user(const rec_model *m, int32_t u, float *out)
{
    const rec_als_state *s = m->state;
    rec_sgemv(0, m->nitems, s->dim, 1.0f, s->Y, s->dim, s->X + (size_t)u * s->dim, 0.0f, out);
    return REC_OK;
}

static rec_status als_score_pair(const rec_model *m, int32_t u, int32_t i, float *out)
{
    const rec_als_state *s = m->state;
    *out = rec_sdot(s->dim, s->X + (size_t)u * s->dim, s->Y + (size_t)i * s->dim);
    return REC_OK;
}

/* Fold-in (implicit's recalculate_user): the user half-step for one history,
 * solved exactly, with the item factors fixed. */
static rec_status als_score_history(const rec_model *m, const int32_t *items, const float *r,
                                    size_t n, float *out)
{
    const char *fn = "rec_model_recommend_history(als)";
    const rec_als_state *s = m->state;
    int d = s->dim;
    size_t sb = scratch_bytes(d);
    double *a = rec_malloc(sb);
    rec_status st = a ? REC_OK : rec_nomem(fn);
    if (!st) {
        half h = { .d = d,
                   .reg = (float)rec_model_flt(m, "reg"),
                   .alpha = (float)rec_model_flt(m, "alpha"),
                   .F = s->Y,
                   .G = s->G };
        float *x = (float *)(a + (size_t)d * d + d);
        const float *val = rec_model_bool(m, "use_ratings") ? r : NULL;
        st = solve_chol(&h, items, val, (int64_t)n, a, x);
        if (st)
            st = rec_err(REC_E_RANGE, "%s: the history's system is singular", fn);
        else
            rec_sgemv(0, m->nitems, d, 1.0f, s->Y, d, x, 0.0f, out);
    }
    rec_free(a, sb);
    return st;
}

static rec_status als_similar(const rec_model *m, int32_t i, float *out)
{
    const rec_als_state *s = m->state;
    int d = s->dim;
    rec_rows_cosine(s->Y, m->nitems, d, s->Y + (size_t)i * d, out);
    return REC_OK;
}

static rec_status als_save(const rec_model *m, rec_lrm_writer *w)
{
    const rec_als_state *s = m->state;
    int64_t xs[2] = { m->nusers, s->dim }, ys[2] = { m->nitems, s->dim };
    REC_TRY(rec_lrm_add_tensor(w, "X", REC_LRM_F32, 2, xs, s->X));
    return rec_lrm_add_tensor(w, "Y", REC_LRM_F32, 2, ys, s->Y);
}

static rec_status als_load(rec_model *m, const rec_lrm_reader *r)
{
    REC_TRY(als_alloc(m, "rec_model_load"));
    rec_als_state *s = m->state;
    int64_t xs[2] = { m->nusers, s->dim }, ys[2] = { m->nitems, s->dim };
    const void *x, *y;
    REC_TRY(rec_lrm_tensor_expect(r, "X", REC_LRM_F32, 2, xs, &x));
    REC_TRY(rec_lrm_tensor_expect(r, "Y", REC_LRM_F32, 2, ys, &y));
    if (x)
        memcpy(s->X, x, (size_t)m->nusers * s->dim * sizeof(float));
    if (y)
        memcpy(s->Y, y, (size_t)m->nitems * s->dim * sizeof(float));
    item_gram(m, s);
    return REC_OK;
}

static rec_status als_vectors(const rec_model *m, rec_side side, float *out, int *dim)
{
    const rec_als_state *s = m->state;
    return rec_model_copy_vectors(m, side, s->X, s->Y, s->dim, out, dim);
}

const rec_model_vt rec_als_vt = {
    .kind = "als",
    .summary = "implicit-feedback matrix factorisation by alternating least squares",
    .spec = spec,
    .nspec = NSPEC,
    .fit = als_fit,
    .score_user = als_score_user,
    .vectors = als_vectors,
    .score_history = als_score_history,
    .score_pair = als_score_pair,
    .similar = als_similar,
    .save = als_save,
    .load = als_load,
    .free_state = als_free,
};
