/* "itemcf": item-based collaborative filtering (KNNBaseline-style by
 * default, KNNWithMeans-style with centring=mean).
 * Rows are items: each item keeps its `keep` most similar items, computed
 * by sparse accumulation over the users' rows (no items x items matrix).
 * The rating of (u, i) is mu_i + sum sim(i,j) (r_uj - mu_j) / sum sim(i,j)
 * over the k most similar neighbours j of i that u rated (centring=mean),
 * b_ui + sum sim(i,j) (r_uj - b_uj) / sum sim(i,j) with the ALS baselines
 * b_ui = mu + b_u + b_i (centring=baseline: KNNBaseline), or their
 * similarity-weighted mean rating (centring=none), clipped to the
 * training rating range; with no such neighbour, mu_i (b_ui).  Implicit data:
 * the sum of those k similarities.  That prediction is the score of a pair
 * (RMSE/MAE).  Recommendations rank by "ranking": sum (default) of the
 * similarities of i's k most similar items that u has (Deshpande & Karypis'
 * item-based top-N), items compared by cosine of their 0/1 columns (see
 * knn-impl.h), rating (each similarity times u's rating / top rating) or
 * prediction (the rating prediction; poor at top-N: an item one neighbour
 * rated highly ranks first).  Fold-in does the same from the history's items
 * (similarity sums when the history has no ratings; with baselines, the
 * new user's b_u is fitted to the history against the fixed b_i).  similar(i) gives i's
 * stored neighbours by the prediction's similarity (0 for the others). */
#include "knn-impl.h"

#include <math.h>
#include <string.h>

static const rec_param_spec spec[] = { REC_KNN_SPEC };
#define NSPEC (sizeof spec / sizeof *spec)

static rec_status icf_fit(rec_model *m, const rec_dataset *d, rec_progress_fn cb, void *user)
{
    return rec_knn_model_fit(m, d, 0, cb, user);
}

static int icf_predicts_ratings(const rec_model *m)
{
    return !((const rec_knn *)m->state)->implicit;
}

static rec_status icf_score_pair(const rec_model *m, int32_t u, int32_t i, float *out)
{
    *out = rec_knn_predict(m->state, i, u);
    return REC_OK;
}

/* The user's ratings as a dense vector over items (NaN: unrated). */
static rec_status icf_score_dense(const rec_model *m, const int32_t *items, const float *r,
                                  size_t n, float ubias, int rank, float *out)
{
    const rec_knn *s = m->state;
    float *x = rec_malloc((size_t)s->nrows * sizeof *x);
    if (!x)
        return rec_nomem("itemcf: scoring");
    for (int32_t j = 0; j < s->nrows; j++)
        x[j] = NAN;
    for (size_t j = 0; j < n; j++)
        x[items[j]] = r ? r[j] : 1.0f;
    rec_status st = rec_knn_score_col(s, x, ubias, rank, out);
    rec_free(x, (size_t)s->nrows * sizeof *x);
    return st ? rec_nomem("itemcf: scoring") : REC_OK;
}

static rec_status icf_score_user(const rec_model *m, int32_t u, float *out)
{
    const rec_knn *s = m->state;
    /* Col u of R: gather it from the col orientation (users x items). */
    return icf_score_dense(m, s->crow + s->cptr[u], s->cval + s->cptr[u],
                           (size_t)(s->cptr[u + 1] - s->cptr[u]), s->cbias ? s->cbias[u] : 0.0f,
                           s->ranking, out);
}

static rec_status icf_score_history(const rec_model *m, const int32_t *items, const float *r,
                                    size_t n, float *out)
{
    const rec_knn *s = m->state;
    const float *val = s->implicit ? NULL : r;
    /* The new user's b_u, least squares against the items' fixed b_i. */
    float ubias = val && s->cbias ? rec_knn_new_bias(s, items, val, n, 0) : 0.0f;
    return icf_score_dense(m, items, val, n, ubias, val ? s->ranking : REC_KNN_RANK_SUM, out);
}

static rec_status icf_similar(const rec_model *m, int32_t i, float *out)
{
    const rec_knn *s = m->state;
    for (int32_t j = 0; j < s->nrows; j++)
        out[j] = 0.0f;
    for (int64_t e = s->nptr[i]; e < s->nptr[i + 1]; e++)
        out[s->nbr[e]] = s->nsim[e];
    return REC_OK;
}

static rec_status icf_explain(const rec_model *m, int32_t u, int32_t i, size_t k,
                              const char **reasons, float *weights, size_t *n)
{
    return rec_knn_model_explain(m, i, u, m->items, k, reasons, weights, n);
}

static rec_status icf_load(rec_model *m, const rec_lrm_reader *r)
{
    return rec_knn_model_load(m, r, 0);
}

const rec_model_vt rec_itemcf_vt = {
    .kind = "itemcf",
    .summary = "item-based neighbourhood model (k nearest items; predicts baseline-corrected, ranks by similarity sums)",
    .spec = spec,
    .nspec = NSPEC,
    .fit = icf_fit,
    .score_user = icf_score_user,
    .score_history = icf_score_history,
    .score_pair = icf_score_pair,
    .predicts_ratings = icf_predicts_ratings,
    .similar = icf_similar,
    .explain = icf_explain,
    .save = rec_knn_model_save,
    .load = icf_load,
    .free_state = rec_knn_model_free,
};
