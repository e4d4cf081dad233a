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
 * new user's b_u is fitted to the history against the fixed b_i).  similar(i) ranks
 * every item by the prediction's similarity to i shrunk by the number of
 * common raters (similar_shrinkage below), not i's stored list. */
#include "knn-impl.h"

#include <math.h>
#include <string.h>

/* similar_shrinkage: msd scores two items with one or two common raters
 * about 1, so unshrunk, Toy Story's most similar items were films with 6
 * to 15 ratings (Gilda, 6 ratings, at 1.0).  Shrunk by the number n of
 * common raters, sim * n / (n + 50), the share of the top-10 similar items
 * that share a genre with the item, over the 1,297 items of ml-latest-small
 * with 20 or more ratings, rises from 0.569 (the stored lists, unshrunk)
 * to 0.747; 10 gives 0.715, 25 0.737, 100 0.750, 200 0.753, 500 0.752:
 * from 50 on the measure is flat (within its standard error, 0.004) while
 * the lists drift to the most rated films, so 50 (examples/README.md: the
 * table and its command, bench/similar_genres.c). */
static const rec_param_spec spec[] = {
    REC_KNN_SPEC,
    { "similar_shrinkage", REC_PARAM_FLOAT, "50", 0, 1e9, NULL,
      "similar items: sim * n/(n + similar_shrinkage) over n common ratings (0: unshrunk)" },
};
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
    if (rec_knn_similar(m->state, i, rec_model_flt(m, "similar_shrinkage"), out))
        return rec_nomem("itemcf: similar");
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
