/* The neighbour engine shared by usercf and itemcf (see knn-impl.h): the
 * rating matrix in both orientations, sparse similarity accumulation
 * threaded over rows with a dense per-thread accumulator, top-k selection
 * with a heap, neighbour-weighted predictions, and the state's file
 * sections.  The rec_model side (settings from params, the vt's calls) is
 * knn_model.c. */
#include "knn-impl.h"

#include <stdio.h>
#include "retrieval/topk-impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void *xalloc(size_t n, size_t size)
{
    return rec_malloc((n ? n : 1) * size);
}
#define XFREE(p, n) rec_free((p), ((n) != 0 ? (size_t)(n) : 1) * sizeof *(p))

void rec_knn_free(rec_knn *s)
{
    int64_t nnz = s->nnz, nn = s->nn;
    if (s->rptr)
        XFREE(s->rptr, s->nrows + 1);
    XFREE(s->rcol, nnz);
    XFREE(s->rval, nnz);
    if (s->cptr)
        XFREE(s->cptr, s->ncols + 1);
    XFREE(s->crow, nnz);
    XFREE(s->cval, nnz);
    XFREE(s->rmean, s->nrows);
    XFREE(s->cmean, s->ncols);
    XFREE(s->rnorm2, s->nrows);
    if (s->nptr)
        XFREE(s->nptr, s->nrows + 1);
    XFREE(s->nbr, nn);
    XFREE(s->nsim, nn);
    if (s->rnptr)
        XFREE(s->rnptr, s->nrows + 1);
    XFREE(s->rnbr, s->rnn);
    XFREE(s->rnsim, s->rnn);
    if (s->bptr) {
        int64_t nb = s->bptr[s->nrows];
        XFREE(s->brow, nb);
        XFREE(s->bsim, nb);
        XFREE(s->bptr, s->nrows + 1);
    }
    rec_knn_free_baselines(s);
    memset(s, 0, sizeof *s);
}

/* ---- the matrix ---------------------------------------------------------- */

/* (ptr, idx, val) of n x m into its transpose; entries come out sorted by
 * the old row inside each new row. */
static rec_status transpose(int32_t n, int32_t m, const int64_t *ptr, const int32_t *idx,
                            const float *val, int64_t **tptr, int32_t **tidx, float **tval)
{
    int64_t nnz = ptr[n];
    *tptr = rec_calloc((size_t)m + 1, sizeof **tptr);
    *tidx = xalloc((size_t)nnz, sizeof **tidx);
    *tval = xalloc((size_t)nnz, sizeof **tval);
    int64_t *fill = xalloc((size_t)m, sizeof *fill);
    if (!*tptr || !*tidx || !*tval || !fill) {
        XFREE(fill, m);
        return REC_E_NOMEM;
    }
    for (int64_t e = 0; e < nnz; e++)
        (*tptr)[idx[e] + 1]++;
    for (int32_t c = 0; c < m; c++)
        (*tptr)[c + 1] += (*tptr)[c];
    memcpy(fill, *tptr, (size_t)m * sizeof *fill);
    for (int32_t r = 0; r < n; r++)
        for (int64_t e = ptr[r]; e < ptr[r + 1]; e++) {
            int64_t at = fill[idx[e]]++;
            (*tidx)[at] = r;
            (*tval)[at] = val[e];
        }
    XFREE(fill, m);
    return REC_OK;
}

typedef struct ent {
    int32_t item;
    int32_t pos;
    float r;
} ent;

static int cmp_ent(const void *a, const void *b)
{
    const ent *x = a, *y = b;
    if (x->item != y->item)
        return (x->item > y->item) - (x->item < y->item);
    return (x->pos > y->pos) - (x->pos < y->pos);
}

/* Users x items, one entry per pair (a repeated pair keeps its latest
 * rating), items sorted per user. */
static rec_status user_matrix(const rec_dataset *d, int implicit, int64_t **uptr, int32_t **uitem,
                              float **urat)
{
    int32_t nu = rec_ds_num_users(d);
    const int64_t *ptr;
    const int32_t *items;
    const float *rat;
    REC_TRY(rec_ds_user_csr(d, &ptr, &items, &rat));
    int64_t nnz = ptr[nu], maxn = 0;
    for (int32_t u = 0; u < nu; u++)
        if (ptr[u + 1] - ptr[u] > maxn)
            maxn = ptr[u + 1] - ptr[u];
    *uptr = xalloc((size_t)nu + 1, sizeof **uptr);
    *uitem = xalloc((size_t)nnz, sizeof **uitem);
    *urat = xalloc((size_t)nnz, sizeof **urat);
    ent *tmp = xalloc((size_t)maxn, sizeof *tmp);
    if (!*uptr || !*uitem || !*urat || !tmp) {
        XFREE(tmp, maxn);
        return REC_E_NOMEM;
    }
    int64_t w = 0;
    (*uptr)[0] = 0;
    for (int32_t u = 0; u < nu; u++) {
        int64_t n = ptr[u + 1] - ptr[u];
        for (int64_t j = 0; j < n; j++) {
            tmp[j].item = items[ptr[u] + j];
            tmp[j].pos = (int32_t)j;
            tmp[j].r = implicit ? 1.0f : rat[ptr[u] + j];
        }
        qsort(tmp, (size_t)n, sizeof *tmp, cmp_ent);
        for (int64_t j = 0; j < n; j++) {
            if (j + 1 < n && tmp[j + 1].item == tmp[j].item)
                continue; /* a later rating of the same item follows */
            (*uitem)[w] = tmp[j].item;
            (*urat)[w] = tmp[j].r;
            w++;
        }
        (*uptr)[u + 1] = w;
    }
    XFREE(tmp, maxn);
    return REC_OK;
}

/* Means, norms and the col orientation, from the row orientation. */
static rec_status derive(rec_knn *s)
{
    s->scalars[0] = s->rmin;
    s->scalars[1] = s->rmax;
    s->scalars[2] = s->gmean;
    s->scalars[3] = (float)s->implicit;
    s->dims[0] = s->nrows;
    s->dims[1] = s->ncols;
    REC_TRY(transpose(s->nrows, s->ncols, s->rptr, s->rcol, s->rval, &s->cptr, &s->crow,
                      &s->cval));
    s->rmean = xalloc((size_t)s->nrows, sizeof *s->rmean);
    s->cmean = xalloc((size_t)s->ncols, sizeof *s->cmean);
    s->rnorm2 = xalloc((size_t)s->nrows, sizeof *s->rnorm2);
    if (!s->rmean || !s->cmean || !s->rnorm2)
        return REC_E_NOMEM;
    for (int32_t a = 0; a < s->nrows; a++) {
        double sum = 0, sq = 0;
        for (int64_t e = s->rptr[a]; e < s->rptr[a + 1]; e++) {
            sum += s->rval[e];
            sq += (double)s->rval[e] * s->rval[e];
        }
        int64_t n = s->rptr[a + 1] - s->rptr[a];
        s->rmean[a] = n ? (float)(sum / (double)n) : s->gmean;
        s->rnorm2[a] = sq;
    }
    for (int32_t c = 0; c < s->ncols; c++) {
        double sum = 0;
        for (int64_t e = s->cptr[c]; e < s->cptr[c + 1]; e++)
            sum += s->cval[e];
        int64_t n = s->cptr[c + 1] - s->cptr[c];
        s->cmean[c] = n ? (float)(sum / (double)n) : s->gmean;
    }
    return REC_OK;
}

/* ---- similarities -------------------------------------------------------- */

typedef struct pair {
    float v;
    int32_t i;
} pair;

/* Best first; ties to the lower index, so lists are deterministic. */
static int cmp_pair(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? 1 : -1;
    return (x->i > y->i) - (x->i < y->i);
}

typedef struct scratch {
    int32_t *n, *touched;
    double *sxy, *sxx, *syy, *sx, *sy;
    pair *pair;     /* [keep] */
    int32_t rows;
    size_t keep;
} scratch;

static void scratch_free(scratch *w)
{
    XFREE(w->n, w->rows);
    XFREE(w->touched, w->rows);
    XFREE(w->sxy, w->rows);
    XFREE(w->sxx, w->rows);
    XFREE(w->syy, w->rows);
    XFREE(w->sx, w->rows);
    XFREE(w->sy, w->rows);
    XFREE(w->pair, w->keep);
}

static int scratch_alloc(scratch *w, int32_t rows, size_t keep)
{
    memset(w, 0, sizeof *w);
    w->rows = rows;
    w->keep = keep;
    w->pair = xalloc(keep, sizeof *w->pair);
    w->n = rec_calloc(rows ? (size_t)rows : 1, sizeof *w->n);
    w->touched = xalloc((size_t)rows, sizeof *w->touched);
    w->sxy = xalloc((size_t)rows, sizeof *w->sxy);
    w->sxx = xalloc((size_t)rows, sizeof *w->sxx);
    w->syy = xalloc((size_t)rows, sizeof *w->syy);
    w->sx = xalloc((size_t)rows, sizeof *w->sx);
    w->sy = xalloc((size_t)rows, sizeof *w->sy);
    if (w->pair && w->n && w->touched && w->sxy && w->sxx && w->syy && w->sx && w->sy)
        return 1;
    scratch_free(w);
    return 0;
}

static double sim_value(const rec_knn *s, const scratch *w, int32_t b, double qnorm2, int64_t qn)
{
    double n = w->n[b], v = 0;
    switch (s->sim) {
    case REC_KNN_COSINE:
    case REC_KNN_ADJCOS: {
        /* Rating cosine uses the common cols only (as Surprise); binary
         * vectors need the whole rows, or every pair would score 1. */
        double den = s->binary ? sqrt(qnorm2 * (double)(s->rptr[b + 1] - s->rptr[b]))
                               : sqrt(w->sxx[b] * w->syy[b]);
        /* binary cosine: every product is 1, so sxy is the count (not accumulated) */
        double xy = s->binary && s->sim == REC_KNN_COSINE ? n : w->sxy[b];
        v = den > 0 ? xy / den : 0;
        break;
    }
    case REC_KNN_PEARSON: {
        double num = n * w->sxy[b] - w->sx[b] * w->sy[b];
        double den = (n * w->sxx[b] - w->sx[b] * w->sx[b]) * (n * w->syy[b] - w->sy[b] * w->sy[b]);
        v = den > 0 ? num / sqrt(den) : 0;
        break;
    }
    case REC_KNN_MSD: {
        double d = w->sxx[b] - 2 * w->sxy[b] + w->syy[b];
        v = 1.0 / ((d > 0 ? d : 0) / n + 1.0);
        break;
    }
    case REC_KNN_JACCARD: {
        double un = (double)qn + (double)(s->rptr[b + 1] - s->rptr[b]) - n;
        v = un > 0 ? n / un : 0;
        break;
    }
    case REC_KNN_PEARSON_BASELINE: {
        /* x, y were accumulated as residuals from the baselines; one common
         * col says nothing of a correlation (Surprise drops it too) */
        double den = sqrt(w->sxx[b] * w->syy[b]);
        if (n < 2 || !(den > 0))
            return 0;
        v = w->sxy[b] / den;
        return s->shrink > 0 ? v * (n - 1) / (n - 1 + s->shrink) : v;
    }
    }
    if (s->shrink > 0)
        v *= n / (n + s->shrink);
    return v;
}

/* Similarities of the query (idx, val over cols) to all rows but self; the
 * best `keep` go into the heap (hidx/hval), returned sorted, count returned. */
static size_t query_rows(const rec_knn *s, scratch *w, const int32_t *idx, const float *val,
                         int64_t qn, float qbias, int32_t self, size_t keep, int32_t *hidx,
                         float *hval)
{
    int adj = s->sim == REC_KNN_ADJCOS, pb = s->sim == REC_KNN_PEARSON_BASELINE;
    int32_t nt = 0;
    double qnorm2 = 0;
    int64_t nacc = qn; /* query entries left for the general accumulation */
    /* Binary cosine and jaccard need only the common count n (x = y = 1):
     * counting alone is most of the fit of implicit data. */
    if (s->binary && (s->sim == REC_KNN_COSINE || s->sim == REC_KNN_JACCARD)) {
        qnorm2 = (double)qn;
        for (int64_t e = 0; e < qn; e++)
            for (int64_t f = s->cptr[idx[e]]; f < s->cptr[idx[e] + 1]; f++) {
                int32_t b = s->crow[f];
                if (b != self && w->n[b]++ == 0)
                    w->touched[nt++] = b;
            }
        nacc = 0;
    }
    for (int64_t e = 0; e < nacc; e++) {
        int32_t c = idx[e];
        /* pearson_baseline: residuals x - (mu + bias of the row + cbias[c]) */
        double off = adj ? s->cmean[c] : pb ? (double)s->gmean + s->cbias[c] : 0;
        double x = (val && !s->binary ? val[e] : 1.0) - off - (pb ? qbias : 0);
        qnorm2 += x * x;
        for (int64_t f = s->cptr[c]; f < s->cptr[c + 1]; f++) {
            int32_t b = s->crow[f];
            if (b == self)
                continue;
            double y = (s->binary ? 1.0 : s->cval[f]) - off - (pb ? s->rbias[b] : 0);
            if (w->n[b]++ == 0) {
                w->touched[nt++] = b;
                w->sxy[b] = w->sxx[b] = w->syy[b] = w->sx[b] = w->sy[b] = 0;
            }
            w->sxy[b] += x * y;
            w->sxx[b] += x * x;
            w->syy[b] += y * y;
            w->sx[b] += x;
            w->sy[b] += y;
        }
    }
    /* Which neighbours to store is decided on sim * n / (n + REC_KNN_SUPPORT)
     * so that the many pairs with one or two common ratings (msd, cosine
     * and jaccard give them 1) do not crowd out well supported ones; the
     * stored lists hold the plain similarities, best first, so a prediction
     * takes the k most similar among the stored. */
    size_t size = 0;
    for (int32_t t = 0; t < nt && keep; t++) {
        int32_t b = w->touched[t];
        if (w->n[b] >= s->min_support) {
            double v = sim_value(s, w, b, qnorm2, qn);
            if (v > 0)
                rec_topk_push(hidx, hval, keep, &size, b,
                              (float)(v * w->n[b] / (w->n[b] + REC_KNN_SUPPORT)));
        }
    }
    for (size_t j = 0; j < size; j++) {
        w->pair[j].i = hidx[j];
        w->pair[j].v = (float)sim_value(s, w, hidx[j], qnorm2, qn);
    }
    for (int32_t t = 0; t < nt; t++)
        w->n[w->touched[t]] = 0;
    qsort(w->pair, size, sizeof *w->pair, cmp_pair);
    for (size_t j = 0; j < size; j++) {
        hidx[j] = w->pair[j].i;
        hval[j] = w->pair[j].v;
    }
    return size;
}

rec_status rec_knn_similar(const rec_knn *s, int32_t a, double shrink, float *out)
{
    rec_knn v = *s;
    v.shrink = shrink;
    size_t keep = s->nrows > 1 ? (size_t)s->nrows - 1 : 1;
    scratch w;
    int32_t *idx = xalloc(keep, sizeof *idx);
    float *val = xalloc(keep, sizeof *val);
    if (!idx || !val || !scratch_alloc(&w, s->nrows, keep)) {
        XFREE(idx, keep);
        XFREE(val, keep);
        return REC_E_NOMEM;
    }
    size_t n = query_rows(&v, &w, s->rcol + s->rptr[a], s->rval + s->rptr[a],
                          s->rptr[a + 1] - s->rptr[a], s->rbias ? s->rbias[a] : 0.0f, a, keep,
                          idx, val);
    for (int32_t b = 0; b < s->nrows; b++)
        out[b] = 0.0f;
    for (size_t j = 0; j < n; j++)
        out[idx[j]] = val[j];
    scratch_free(&w);
    XFREE(idx, keep);
    XFREE(val, keep);
    return REC_OK;
}

typedef struct sim_job {
    const rec_knn *s;
    size_t keep;
    int32_t *nbr;   /* [nrows * keep] */
    float *sim;
    int64_t *cnt;   /* [nrows] */
    int failed;     /* atomic enough: only ever set to 1 */
} sim_job;

static void sim_range(void *arg, int64_t b, int64_t e, int chunk)
{
    (void)chunk;
    sim_job *j = arg;
    const rec_knn *s = j->s;
    scratch w;
    if (!scratch_alloc(&w, s->nrows, j->keep)) {
        j->failed = 1;
        return;
    }
    for (int64_t a = b; a < e; a++)
        j->cnt[a] = (int64_t)query_rows(s, &w, s->rcol + s->rptr[a], s->rval + s->rptr[a],
                                        s->rptr[a + 1] - s->rptr[a],
                                        s->rbias ? s->rbias[a] : 0.0f, (int32_t)a, j->keep,
                                        j->nbr + a * (int64_t)j->keep,
                                        j->sim + a * (int64_t)j->keep);
    scratch_free(&w);
}

/* The neighbour lists of every row under s's similarity into ptr/nbr/sim
 * (*nn entries). */
static rec_status neighbours(const rec_knn *s, int64_t **ptr, int32_t **nbr_out,
                             float **sim_out, int64_t *nn_out)
{
    size_t keep = (size_t)s->keep;
    if (keep > (size_t)s->nrows - 1)
        keep = (size_t)s->nrows - 1;
    size_t slots = (size_t)s->nrows * keep;
    sim_job j = { s, keep, xalloc(slots, sizeof(int32_t)), xalloc(slots, sizeof(float)),
                  xalloc((size_t)s->nrows, sizeof(int64_t)), 0 };
    *ptr = rec_calloc((size_t)s->nrows + 1, sizeof **ptr);
    rec_status st = REC_OK;
    if (!j.nbr || !j.sim || !j.cnt || !*ptr) {
        st = REC_E_NOMEM;
        goto out;
    }
    rec_parallel_for(s->nrows, 16, sim_range, &j);
    if (j.failed) {
        st = REC_E_NOMEM;
        goto out;
    }
    int64_t *p = *ptr;
    p[0] = 0;
    for (int32_t a = 0; a < s->nrows; a++)
        p[a + 1] = p[a] + j.cnt[a];
    int64_t nn = *nn_out = p[s->nrows];
    *nbr_out = xalloc((size_t)nn, sizeof **nbr_out);
    *sim_out = xalloc((size_t)nn, sizeof **sim_out);
    if (!*nbr_out || !*sim_out) {
        st = REC_E_NOMEM;
        goto out;
    }
    for (int32_t a = 0; a < s->nrows; a++) {
        memcpy(*nbr_out + p[a], j.nbr + (size_t)a * keep, (size_t)j.cnt[a] * sizeof(int32_t));
        memcpy(*sim_out + p[a], j.sim + (size_t)a * keep, (size_t)j.cnt[a] * sizeof(float));
    }
out:
    XFREE(j.nbr, slots);
    XFREE(j.sim, slots);
    XFREE(j.cnt, s->nrows);
    return st;
}

static int has_rank_lists(const rec_knn *s)
{
    return !s->implicit && s->ranking != REC_KNN_RANK_PREDICTION;
}

/* s seen through the ranking lists' similarity: cosine of the 0/1 rows. */
static rec_knn binary_view(const rec_knn *s)
{
    rec_knn v = *s;
    v.sim = REC_KNN_COSINE;
    v.binary = 1;
    v.shrink = s->rank_shrink;
    v.min_support = 1;
    return v;
}

void rec_knn_rank_lists(const rec_knn *s, const int64_t **ptr, const int32_t **nbr,
                        const float **sim)
{
    int r = s->rnptr != NULL;
    *ptr = r ? s->rnptr : s->nptr;
    *nbr = r ? s->rnbr : s->nbr;
    *sim = r ? s->rnsim : s->nsim;
}

/* s->bptr/brow/bsim: the ranking lists reversed (see knn-impl.h). */
static rec_status reverse_lists(rec_knn *s)
{
    const int64_t *ptr;
    const int32_t *nbr;
    const float *sim;
    rec_knn_rank_lists(s, &ptr, &nbr, &sim);
    float *tsim = NULL;
    int64_t *tptr = NULL;
    int32_t *trow = NULL;
    if (transpose(s->nrows, s->nrows, ptr, nbr, sim, &tptr, &trow, &tsim)) {
        if (tptr)
            XFREE(tptr, s->nrows + 1);
        XFREE(trow, ptr[s->nrows]);
        XFREE(tsim, ptr[s->nrows]);
        return REC_E_NOMEM;
    }
    s->bptr = tptr;
    s->brow = trow;
    s->bsim = tsim;
    return REC_OK;
}

rec_status rec_knn_fit(rec_knn *s, rec_model *m, const rec_dataset *d, int rows_are_users,
                       rec_progress_fn cb, void *user, const char *fn)
{
    memset(s, 0, sizeof *s);
    s->rows_are_items = !rows_are_users;
    s->implicit = rec_ds_ratings_col(d) == NULL;
    REC_TRY(rec_knn_read_settings(s, m, fn));
    int64_t n = rec_ds_num_rows(d);
    const float *r = rec_ds_ratings_col(d);
    double sum = 0;
    s->rmin = s->rmax = s->implicit ? 1.0f : r[0];
    for (int64_t j = 0; !s->implicit && j < n; j++) {
        sum += r[j];
        s->rmin = r[j] < s->rmin ? r[j] : s->rmin;
        s->rmax = r[j] > s->rmax ? r[j] : s->rmax;
    }
    s->gmean = s->implicit ? 1.0f : (float)(sum / (double)n);
    int32_t nu = rec_ds_num_users(d), ni = rec_ds_num_items(d);
    int64_t *uptr = NULL;
    int32_t *uitem = NULL;
    float *urat = NULL;
    rec_status st = user_matrix(d, s->implicit, &uptr, &uitem, &urat);
    if (st) {
        if (uptr)
            XFREE(uptr, nu + 1);
        XFREE(uitem, rec_ds_num_rows(d));
        XFREE(urat, rec_ds_num_rows(d));
        return st == REC_E_NOMEM ? rec_nomem(fn) : st;
    }
    /* Shrink the user matrix to its deduplicated size. */
    int64_t nnz = uptr[nu];
    if (nnz < n) {
        int32_t *a = xalloc((size_t)nnz, sizeof *a);
        float *b = xalloc((size_t)nnz, sizeof *b);
        if (a && b) {
            memcpy(a, uitem, (size_t)nnz * sizeof *a);
            memcpy(b, urat, (size_t)nnz * sizeof *b);
        }
        XFREE(uitem, n);
        XFREE(urat, n);
        uitem = a;
        urat = b;
        if (!a || !b) {
            XFREE(a, nnz);
            XFREE(b, nnz);
            XFREE(uptr, nu + 1);
            return rec_nomem(fn);
        }
    }
    s->nnz = nnz;
    if (rows_are_users) {
        s->nrows = nu;
        s->ncols = ni;
        s->rptr = uptr;
        s->rcol = uitem;
        s->rval = urat;
    } else {
        s->nrows = ni;
        s->ncols = nu;
        st = transpose(nu, ni, uptr, uitem, urat, &s->rptr, &s->rcol, &s->rval);
        if (st) {
            /* a partial transpose: free what was allocated with the right sizes */
            if (s->rptr)
                XFREE(s->rptr, ni + 1);
            XFREE(s->rcol, nnz);
            XFREE(s->rval, nnz);
            s->rptr = NULL;
            s->rcol = NULL;
            s->rval = NULL;
        }
        XFREE(uptr, nu + 1);
        XFREE(uitem, nnz);
        XFREE(urat, nnz);
        if (st)
            return rec_nomem(fn);
    }
    /* The steps, so a long fit shows where it is: the similarities take
     * most of the time. */
    int base = rec_knn_uses_baseline(s), ranked = has_rank_lists(s);
    int step = 0, steps = 2 + base + ranked;
    st = derive(s);
    if (!st)
        st = rec_model_step_done(m, "ratings", ++step, steps, cb, user, fn);
    if (!st && base && !(st = rec_knn_baselines(s)))
        st = rec_model_step_done(m, "baselines", ++step, steps, cb, user, fn);
    if (!st)
        st = neighbours(s, &s->nptr, &s->nbr, &s->nsim, &s->nn);
    if (!st && ranked) {
        st = rec_model_step_done(m, "similarities", ++step, steps, cb, user, fn);
        rec_knn v = binary_view(s);
        if (!st)
            st = neighbours(&v, &s->rnptr, &s->rnbr, &s->rnsim, &s->rnn);
    }
    if (!st)
        st = reverse_lists(s);
    if (!st)
        st = rec_model_step_done(m, ranked ? "ranking lists" : "similarities", ++step, steps, cb,
                                 user, fn);
    return st == REC_E_NOMEM ? rec_nomem(fn) : st;
}

/* ---- predictions --------------------------------------------------------- */

/* What neighbour b's value at a col with bias cb is measured from. */
static double offset(const rec_knn *s, int32_t b, double cb)
{
    switch (s->centring) {
    case REC_KNN_CENTRE_MEAN:
        return s->rmean[b];
    case REC_KNN_CENTRE_BASELINE:
        return (double)s->gmean + s->rbias[b] + cb;
    default:
        return 0;
    }
}

/* What a prediction centres on, and falls back to without neighbours: the
 * baseline mu + bias + cb, or the row's mean. */
static double centre(const rec_knn *s, double mean, double bias, double cb)
{
    return s->centring == REC_KNN_CENTRE_BASELINE ? (double)s->gmean + bias + cb : mean;
}

/* num: sum sim * (value - offset), den: sum sim, wsum: sum sim * value,
 * over the neighbours that hold the col; rank a REC_KNN_RANK_*; base from
 * centre(). */
static float finish(const rec_knn *s, double num, double den, double wsum, int rank, double base)
{
    if (s->implicit || rank == REC_KNN_RANK_SUM)
        return (float)den;
    if (rank == REC_KNN_RANK_RATING)
        return (float)(wsum / s->rmax);
    double v = base;
    if (den > 0)
        v = s->centring != REC_KNN_CENTRE_NONE ? base + num / den : num / den;
    return (float)(v < s->rmin ? s->rmin : v > s->rmax ? s->rmax : v);
}

static double row_bias(const rec_knn *s, int32_t a)
{
    return s->rbias ? s->rbias[a] : 0.0;
}

static double col_bias(const rec_knn *s, int32_t c)
{
    return s->cbias ? s->cbias[c] : 0.0;
}

/* Value of row b at col c, or NaN. */
static float entry(const rec_knn *s, int32_t b, int32_t c)
{
    int64_t lo = s->rptr[b], hi = s->rptr[b + 1];
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (s->rcol[mid] < c)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->rptr[b + 1] && s->rcol[lo] == c ? s->rval[lo] : NAN;
}

float rec_knn_predict(const rec_knn *s, int32_t a, int32_t c)
{
    double num = 0, den = 0, cb = col_bias(s, c);
    int32_t got = 0;
    for (int64_t e = s->nptr[a]; e < s->nptr[a + 1] && got < s->k; e++) {
        int32_t b = s->nbr[e];
        float r = entry(s, b, c);
        if (isnan(r))
            continue;
        num += s->nsim[e] * (r - offset(s, b, cb));
        den += s->nsim[e];
        got++;
    }
    return finish(s, num, den, 0, REC_KNN_RANK_PREDICTION,
                  centre(s, s->rmean[a], row_bias(s, a), cb));
}

size_t rec_knn_explain(const rec_knn *s, int32_t a, int32_t c, size_t k, int32_t *who, float *w)
{
    double den = 0;
    int32_t got = 0;
    for (int64_t e = s->nptr[a]; e < s->nptr[a + 1] && got < s->k; e++)
        if (!isnan(entry(s, s->nbr[e], c))) {
            den += s->nsim[e];
            got++;
        }
    size_t size = 0;
    got = 0;
    for (int64_t e = s->nptr[a]; e < s->nptr[a + 1] && got < s->k; e++) {
        int32_t b = s->nbr[e];
        float r = entry(s, b, c);
        if (isnan(r))
            continue;
        got++;
        double part = s->implicit ? s->nsim[e]
                                  : s->nsim[e] * (r - offset(s, b, col_bias(s, c))) / den;
        rec_topk_push(who, w, k, &size, b, (float)part);
    }
    return rec_topk_finish(who, w, size);
}

rec_status rec_knn_score_row(const rec_knn *s, const int32_t *nbr, const float *nsim, int64_t nn,
                             float mean, float bias, int rank, float *out)
{
    size_t nc = (size_t)s->ncols;
    int32_t *cnt = rec_calloc(nc ? nc : 1, sizeof *cnt);
    double *num = rec_calloc(nc ? 3 * nc : 1, sizeof *num);
    if (!cnt || !num) {
        XFREE(cnt, nc);
        XFREE(num, (3 * nc));
        return REC_E_NOMEM;
    }
    double *den = num + nc, *wsum = den + nc;
    /* Baseline offsets differ per col (cbias) only with centring=baseline;
     * the other centrings and the sum/rating ranks skip that load. */
    int per_col = s->centring == REC_KNN_CENTRE_BASELINE && rank == REC_KNN_RANK_PREDICTION &&
                  !s->implicit;
    for (int64_t e = 0; e < nn; e++) {
        int32_t b = nbr[e];
        double off = offset(s, b, 0);
        for (int64_t f = s->rptr[b]; f < s->rptr[b + 1]; f++) {
            int32_t c = s->rcol[f];
            if (cnt[c] >= s->k)
                continue;
            cnt[c]++;
            num[c] += nsim[e] * (s->rval[f] - off - (per_col ? s->cbias[c] : 0.0f));
            den[c] += nsim[e];
            wsum[c] += nsim[e] * s->rval[f];
        }
    }
    for (size_t c = 0; c < nc; c++)
        out[c] = finish(s, num[c], den[c], wsum[c], rank,
                        centre(s, mean, bias, per_col ? s->cbias[c] : 0.0));
    XFREE(cnt, nc);
    XFREE(num, (3 * nc));
    return REC_OK;
}

/* Row a's score from its list, the first k neighbours held in x. */
static float score_pull(const rec_knn *s, const int64_t *ptr, const int32_t *nbr,
                        const float *sim, const float *x, double cb, int rank, int32_t a)
{
    double num = 0, den = 0, wsum = 0;
    int32_t got = 0;
    for (int64_t e = ptr[a]; e < ptr[a + 1] && got < s->k; e++) {
        int32_t b = nbr[e];
        if (isnan(x[b]))
            continue;
        num += sim[e] * (x[b] - offset(s, b, cb));
        den += sim[e];
        wsum += sim[e] * x[b];
        got++;
    }
    return finish(s, num, den, wsum, rank, centre(s, s->rmean[a], row_bias(s, a), cb));
}

rec_status rec_knn_score_col(const rec_knn *s, const float *x, float cbias, int rank, float *out)
{
    const int64_t *ptr;
    const int32_t *nbr;
    const float *sim;
    /* score_user and score_history never ask for another list than these
     * (see has_rank_lists): bptr reverses exactly them */
    rec_knn_rank_lists(s, &ptr, &nbr, &sim);
    size_t nr = (size_t)s->nrows ? (size_t)s->nrows : 1;
    int32_t *cnt = rec_calloc(nr, sizeof *cnt);
    double *acc = rec_calloc(3 * nr, sizeof *acc);
    if (!cnt || !acc) {
        XFREE(cnt, nr);
        XFREE(acc, 3 * nr);
        return REC_E_NOMEM;
    }
    double *num = acc, *den = acc + nr, *wsum = acc + 2 * nr;
    /* Push each held row b into the rows a whose list holds it; a row with
     * more than k held neighbours takes only its first k, in list order, so
     * it is scored from its own list instead. */
    for (int32_t b = 0; b < s->nrows; b++) {
        if (isnan(x[b]))
            continue;
        double dev = x[b] - offset(s, b, cbias);
        for (int64_t e = s->bptr[b]; e < s->bptr[b + 1]; e++) {
            int32_t a = s->brow[e];
            cnt[a]++;
            num[a] += s->bsim[e] * dev;
            den[a] += s->bsim[e];
            wsum[a] += s->bsim[e] * x[b];
        }
    }
    for (int32_t a = 0; a < s->nrows; a++)
        out[a] = cnt[a] > s->k
                     ? score_pull(s, ptr, nbr, sim, x, cbias, rank, a)
                     : finish(s, num[a], den[a], wsum[a], rank,
                              centre(s, s->rmean[a], row_bias(s, a), cbias));
    XFREE(cnt, nr);
    XFREE(acc, 3 * nr);
    return REC_OK;
}

rec_status rec_knn_query(const rec_knn *s, const int32_t *idx, const float *val, int64_t n,
                         float bias, int for_ranking, int32_t *nbr, float *nsim, int64_t *nn)
{
    rec_knn v;
    if (for_ranking && has_rank_lists(s)) {
        v = binary_view(s);
        s = &v;
    }
    scratch w;
    size_t keep = (size_t)s->keep < (size_t)s->nrows ? (size_t)s->keep : (size_t)s->nrows;
    if (!scratch_alloc(&w, s->nrows, keep))
        return REC_E_NOMEM;
    *nn = (int64_t)query_rows(s, &w, idx, val, n, bias, -1, keep, nbr, nsim);
    scratch_free(&w);
    return REC_OK;
}

/* ---- files ---------------------------------------------------------------- */

rec_status rec_knn_save(const rec_knn *s, rec_lrm_writer *w)
{
    /* The writer keeps pointers until the save: no locals here. */
    int64_t n4 = 4, n2 = 2, r1 = (int64_t)s->nrows + 1, nnz = s->nnz, nn = s->nn;
    REC_TRY(rec_lrm_add_tensor(w, "knn.scalars", REC_LRM_F32, 1, &n4, s->scalars));
    REC_TRY(rec_lrm_add_tensor(w, "knn.dims", REC_LRM_I64, 1, &n2, s->dims));
    REC_TRY(rec_lrm_add_tensor(w, "knn.rptr", REC_LRM_I64, 1, &r1, s->rptr));
    REC_TRY(rec_lrm_add_tensor(w, "knn.rcol", REC_LRM_I32, 1, &nnz, s->rcol));
    REC_TRY(rec_lrm_add_tensor(w, "knn.rval", REC_LRM_F32, 1, &nnz, s->rval));
    REC_TRY(rec_lrm_add_tensor(w, "knn.nptr", REC_LRM_I64, 1, &r1, s->nptr));
    REC_TRY(rec_lrm_add_tensor(w, "knn.nbr", REC_LRM_I32, 1, &nn, s->nbr));
    REC_TRY(rec_lrm_add_tensor(w, "knn.nsim", REC_LRM_F32, 1, &nn, s->nsim));
    if (s->rnptr) {
        REC_TRY(rec_lrm_add_tensor(w, "knn.rank_nptr", REC_LRM_I64, 1, &r1, s->rnptr));
        REC_TRY(rec_lrm_add_tensor(w, "knn.rank_nbr", REC_LRM_I32, 1, &s->rnn, s->rnbr));
        REC_TRY(rec_lrm_add_tensor(w, "knn.rank_nsim", REC_LRM_F32, 1, &s->rnn, s->rnsim));
    }
    return rec_knn_save_baselines(s, w);
}

static rec_status bad(const char *what)
{
    return rec_err(REC_E_FORMAT, "rec_model_load: neighbour model: %s", what);
}

static rec_status load_rank_lists(rec_knn *s, const rec_lrm_reader *r)
{
    const void *nptr, *nbr, *nsim;
    int64_t shp[REC_LRM_MAX_DIMS], r1 = (int64_t)s->nrows + 1;
    REC_TRY(rec_lrm_tensor_expect(r, "knn.rank_nptr", REC_LRM_I64, 1, &r1, &nptr));
    REC_TRY(rec_lrm_tensor(r, "knn.rank_nbr", REC_LRM_I32, 1, shp, &nbr));
    int64_t nn = shp[0];
    REC_TRY(rec_lrm_tensor_expect(r, "knn.rank_nsim", REC_LRM_F32, 1, &nn, &nsim));
    REC_TRY(rec_csr_check(1, "rec_model_load", "neighbour model: ranking lists", s->nrows, nptr,
                          nn, nbr, 0, s->nrows));
    s->rnn = nn;
    s->rnptr = xalloc((size_t)r1, sizeof *s->rnptr);
    s->rnbr = xalloc((size_t)nn, sizeof *s->rnbr);
    s->rnsim = xalloc((size_t)nn, sizeof *s->rnsim);
    if (!s->rnptr || !s->rnbr || !s->rnsim)
        return rec_nomem("rec_model_load");
    memcpy(s->rnptr, nptr, (size_t)r1 * sizeof *s->rnptr);
    if (nn) {
        memcpy(s->rnbr, nbr, (size_t)nn * sizeof *s->rnbr);
        memcpy(s->rnsim, nsim, (size_t)nn * sizeof *s->rnsim);
    }
    return REC_OK;
}

rec_status rec_knn_load(rec_knn *s, const rec_model *m, const rec_lrm_reader *r, int rows_are_users)
{
    memset(s, 0, sizeof *s);
    s->rows_are_items = !rows_are_users;
    const void *sc, *dims, *rptr, *rcol, *rval, *nptr, *nbr, *nsim;
    int64_t shp[REC_LRM_MAX_DIMS], nnz, nn;
    REC_TRY(rec_lrm_tensor_expect(r, "knn.scalars", REC_LRM_F32, 1, (int64_t[]){ 4 }, &sc));
    REC_TRY(rec_lrm_tensor_expect(r, "knn.dims", REC_LRM_I64, 1, (int64_t[]){ 2 }, &dims));
    const int64_t *dm = dims;
    int64_t want_r = rows_are_users ? m->nusers : m->nitems;
    int64_t want_c = rows_are_users ? m->nitems : m->nusers;
    if (dm[0] != want_r || dm[1] != want_c)
        return bad("matrix shape does not match the id maps");
    const float *f = sc;
    s->rmin = f[0];
    s->rmax = f[1];
    s->gmean = f[2];
    s->implicit = f[3] != 0;
    s->nrows = (int32_t)want_r;
    s->ncols = (int32_t)want_c;
    int64_t r1 = want_r + 1;
    REC_TRY(rec_lrm_tensor_expect(r, "knn.rptr", REC_LRM_I64, 1, &r1, &rptr));
    REC_TRY(rec_lrm_tensor(r, "knn.rcol", REC_LRM_I32, 1, shp, &rcol));
    nnz = shp[0];
    REC_TRY(rec_lrm_tensor_expect(r, "knn.rval", REC_LRM_F32, 1, &nnz, &rval));
    REC_TRY(rec_lrm_tensor_expect(r, "knn.nptr", REC_LRM_I64, 1, &r1, &nptr));
    REC_TRY(rec_lrm_tensor(r, "knn.nbr", REC_LRM_I32, 1, shp, &nbr));
    nn = shp[0];
    REC_TRY(rec_lrm_tensor_expect(r, "knn.nsim", REC_LRM_F32, 1, &nn, &nsim));
    REC_TRY(rec_csr_check(1, "rec_model_load", "neighbour model: rating rows", want_r, rptr, nnz,
                          rcol, 0, want_c));
    REC_TRY(rec_csr_check(1, "rec_model_load", "neighbour model: neighbour lists", want_r, nptr,
                          nn, nbr, 0, want_r));
    rec_status st = rec_knn_read_settings(s, m, "rec_model_load");
    if (st)
        return st;
    s->nnz = nnz;
    s->nn = nn;
    s->rptr = xalloc((size_t)r1, sizeof *s->rptr);
    s->rcol = xalloc((size_t)nnz, sizeof *s->rcol);
    s->rval = xalloc((size_t)nnz, sizeof *s->rval);
    s->nptr = xalloc((size_t)r1, sizeof *s->nptr);
    s->nbr = xalloc((size_t)nn, sizeof *s->nbr);
    s->nsim = xalloc((size_t)nn, sizeof *s->nsim);
    if (!s->rptr || !s->rcol || !s->rval || !s->nptr || !s->nbr || !s->nsim)
        return rec_nomem("rec_model_load");
    memcpy(s->rptr, rptr, (size_t)r1 * sizeof *s->rptr);
    memcpy(s->nptr, nptr, (size_t)r1 * sizeof *s->nptr);
    if (nnz) {
        memcpy(s->rcol, rcol, (size_t)nnz * sizeof *s->rcol);
        memcpy(s->rval, rval, (size_t)nnz * sizeof *s->rval);
    }
    if (nn) {
        memcpy(s->nbr, nbr, (size_t)nn * sizeof *s->nbr);
        memcpy(s->nsim, nsim, (size_t)nn * sizeof *s->nsim);
    }
    if (has_rank_lists(s))
        REC_TRY(load_rank_lists(s, r));
    REC_TRY(rec_knn_load_baselines(s, r));
    st = derive(s);
    if (!st)
        st = reverse_lists(s);
    return st == REC_E_NOMEM ? rec_nomem("rec_model_load") : st;
}
