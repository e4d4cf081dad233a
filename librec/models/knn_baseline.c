/* Baseline estimates for the neighbourhood models (see knn-impl.h):
 * b_xc = mu + rbias[x] + cbias[c] by alternating least squares, a new
 * entity's bias for fold-in, and the bias vectors in model files. */
#include "knn-impl.h"

#include <math.h>
#include <string.h>

int rec_knn_uses_baseline(const rec_knn *s)
{
    return !s->implicit &&
           (s->centring == REC_KNN_CENTRE_BASELINE || s->sim == REC_KNN_PEARSON_BASELINE);
}

/* out[a] = sum over a's entries of (value - mu - other[idx]) / (reg + count),
 * over n entities (ptr[n+1], idx, val): one side's least-squares step with
 * the other side held. */
static void side_step(const int64_t *ptr, const int32_t *idx, const float *val, int32_t n,
                      const float *other, double mu, double reg, float *out)
{
    for (int32_t a = 0; a < n; a++) {
        double dev = 0;
        for (int64_t e = ptr[a]; e < ptr[a + 1]; e++)
            dev += val[e] - mu - other[idx[e]];
        double den = reg + (double)(ptr[a + 1] - ptr[a]);
        out[a] = den > 0 ? (float)(dev / den) : 0.0f;
    }
}

rec_status rec_knn_baselines(rec_knn *s)
{
    size_t nr = s->nrows ? (size_t)s->nrows : 1, nc = s->ncols ? (size_t)s->ncols : 1;
    s->rbias = rec_calloc(nr, sizeof *s->rbias);
    s->cbias = rec_calloc(nc, sizeof *s->cbias);
    if (!s->rbias || !s->cbias)
        return REC_E_NOMEM;
    /* Items first, then users, as Koren 2010 and Surprise: which side is
     * the rows depends on the model. */
    for (int32_t ep = 0; ep < s->bsl_epochs; ep++) {
        if (s->rows_are_items) {
            side_step(s->rptr, s->rcol, s->rval, s->nrows, s->cbias, s->gmean, s->reg_rows,
                      s->rbias);
            side_step(s->cptr, s->crow, s->cval, s->ncols, s->rbias, s->gmean, s->reg_cols,
                      s->cbias);
        } else {
            side_step(s->cptr, s->crow, s->cval, s->ncols, s->rbias, s->gmean, s->reg_cols,
                      s->cbias);
            side_step(s->rptr, s->rcol, s->rval, s->nrows, s->cbias, s->gmean, s->reg_rows,
                      s->rbias);
        }
    }
    return REC_OK;
}

float rec_knn_new_bias(const rec_knn *s, const int32_t *idx, const float *val, size_t n,
                       int is_row)
{
    const float *other = is_row ? s->cbias : s->rbias;
    double dev = 0, den = (is_row ? s->reg_rows : s->reg_cols) + (double)n;
    for (size_t j = 0; j < n; j++)
        dev += val[j] - s->gmean - other[idx[j]];
    return den > 0 ? (float)(dev / den) : 0.0f;
}

rec_status rec_knn_save_baselines(const rec_knn *s, rec_lrm_writer *w)
{
    if (!rec_knn_uses_baseline(s))
        return REC_OK;
    /* The writer keeps the shape pointers until the save: dims lives in s. */
    REC_TRY(rec_lrm_add_tensor(w, "knn.rbias", REC_LRM_F32, 1, &s->dims[0], s->rbias));
    return rec_lrm_add_tensor(w, "knn.cbias", REC_LRM_F32, 1, &s->dims[1], s->cbias);
}

static rec_status load_vec(const rec_lrm_reader *r, const char *name, int64_t n, float **out)
{
    const void *p;
    REC_TRY(rec_lrm_tensor_expect(r, name, REC_LRM_F32, 1, &n, &p));
    const float *v = p;
    for (int64_t j = 0; j < n; j++)
        if (!isfinite(v[j]))
            return rec_err(REC_E_FORMAT, "rec_model_load: neighbour model: %s[%lld] is not finite",
                           name, (long long)j);
    *out = rec_malloc(n ? (size_t)n * sizeof **out : sizeof **out);
    if (!*out)
        return rec_nomem("rec_model_load");
    if (n)
        memcpy(*out, v, (size_t)n * sizeof **out);
    return REC_OK;
}

rec_status rec_knn_load_baselines(rec_knn *s, const rec_lrm_reader *r)
{
    if (!rec_knn_uses_baseline(s))
        return REC_OK;
    REC_TRY(load_vec(r, "knn.rbias", s->nrows, &s->rbias));
    return load_vec(r, "knn.cbias", s->ncols, &s->cbias);
}

void rec_knn_free_baselines(rec_knn *s)
{
    if (s->rbias)
        rec_free(s->rbias, (s->nrows ? (size_t)s->nrows : 1) * sizeof *s->rbias);
    if (s->cbias)
        rec_free(s->cbias, (s->ncols ? (size_t)s->ncols : 1) * sizeof *s->cbias);
    s->rbias = s->cbias = NULL;
}
