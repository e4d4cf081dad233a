/* "usercf": user-based collaborative filtering (KNNBaseline-style by
 * default, KNNWithMeans-style with centring=mean).
 * Rows are users: a user's neighbours are the `keep` most similar users;
 * the rating of (u, i) is mu_u + sum sim(u,v) (r_vi - mu_v) / sum sim(u,v)
 * over the k most similar neighbours v who rated i (centring=mean), or
 * b_ui + sum sim(u,v) (r_vi - b_vi) / sum sim(u,v) with the ALS baselines
 * b_ui = mu + b_u + b_i (centring=baseline: KNNBaseline), or the
 * similarity-weighted mean of their ratings (centring=none), clipped to
 * the training rating range; with no such neighbour, mu_u (b_ui).  For implicit
 * data the score is the sum of those k similarities.  That prediction is
 * the score of a pair (RMSE/MAE).  Recommendations rank by "ranking": sum
 * (default) of the similarities of the k most similar users who have the
 * item, users compared by cosine of their 0/1 rows (see knn-impl.h: rating
 * similarities make rare items win), rating (the same, times their rating /
 * top rating) or prediction (the rating prediction; poor at top-N).
 * Fold-in computes the new user's similarity to every training user (and,
 * for baselines, their b_u from the history against the fixed b_i), then
 * scores the same way (a history without ratings scores similarity sums).
 * similar() is unsupported. */
#include "knn-impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const rec_param_spec spec[] = { REC_KNN_SPEC };
#define NSPEC (sizeof spec / sizeof *spec)

static rec_status ucf_fit(rec_model *m, const rec_dataset *d, rec_progress_fn cb, void *user)
{
    return rec_knn_model_fit(m, d, 1, cb, user);
}

static int ucf_predicts_ratings(const rec_model *m)
{
    return !((const rec_knn *)m->state)->implicit;
}

static rec_status ucf_score_pair(const rec_model *m, int32_t u, int32_t i, float *out)
{
    *out = rec_knn_predict(m->state, u, i);
    return REC_OK;
}

static rec_status ucf_score_user(const rec_model *m, int32_t u, float *out)
{
    const rec_knn *s = m->state;
    const int64_t *ptr = s->nptr;
    const int32_t *nbr = s->nbr;
    const float *sim = s->nsim;
    if (s->ranking != REC_KNN_RANK_PREDICTION)
        rec_knn_rank_lists(s, &ptr, &nbr, &sim);
    rec_status st = rec_knn_score_row(s, nbr + ptr[u], sim + ptr[u], ptr[u + 1] - ptr[u],
                                      s->rmean[u], s->rbias ? s->rbias[u] : 0.0f, s->ranking,
                                      out);
    return st == REC_E_NOMEM ? rec_nomem("usercf: scoring") : st;
}

typedef struct hent {
    int32_t item, pos;
    float r;
} hent;

static int cmp_hent(const void *a, const void *b)
{
    const hent *x = a, *y = b;
    if (x->item != y->item)
        return (x->item > y->item) - (x->item < y->item);
    return (x->pos > y->pos) - (x->pos < y->pos);
}

static rec_status fold_in(const rec_model *m, const int32_t *items, const float *r, size_t n,
                          float *out);

/* A history may name an item twice: the later rating counts, once. */
static rec_status ucf_score_history(const rec_model *m, const int32_t *items, const float *r,
                                    size_t n, float *out)
{
    size_t bytes = (n ? n : 1) * (sizeof(hent) + sizeof(int32_t) + sizeof(float));
    hent *h = rec_malloc(bytes);
    if (!h)
        return rec_nomem("rec_model_recommend_history(usercf)");
    int32_t *it = (int32_t *)(h + (n ? n : 1));
    float *rv = (float *)(it + (n ? n : 1));
    for (size_t j = 0; j < n; j++)
        h[j] = (hent){ items[j], (int32_t)j, r ? r[j] : 1.0f };
    qsort(h, n, sizeof *h, cmp_hent);
    size_t w = 0;
    for (size_t j = 0; j < n; j++)
        if (j + 1 == n || h[j + 1].item != h[j].item) {
            it[w] = h[j].item;
            rv[w++] = h[j].r;
        }
    rec_status st = fold_in(m, it, r ? rv : NULL, w, out);
    rec_free(h, bytes);
    return st;
}

static rec_status fold_in(const rec_model *m, const int32_t *items, const float *r, size_t n,
                          float *out)
{
    const rec_knn *s = m->state;
    size_t keep = (size_t)s->keep < (size_t)s->nrows ? (size_t)s->keep : (size_t)s->nrows;
    int32_t *nbr = rec_malloc((keep ? keep : 1) * sizeof *nbr);
    float *sim = rec_malloc((keep ? keep : 1) * sizeof *sim);
    rec_status st = nbr && sim ? REC_OK : REC_E_NOMEM;
    int64_t nn = 0;
    /* An implicit model compares sets: ratings given to it are ignored. */
    const float *val = s->implicit ? NULL : r;
    int rank = val ? s->ranking : REC_KNN_RANK_SUM;
    /* The new user's b_u, least squares against the items' fixed b_i. */
    float bias = val && s->rbias ? rec_knn_new_bias(s, items, val, n, 1) : 0.0f;
    if (!st)
        st = rec_knn_query(s, items, val, (int64_t)n, bias, rank != REC_KNN_RANK_PREDICTION, nbr,
                           sim, &nn);
    double mean = 0;
    for (size_t j = 0; val && j < n; j++)
        mean += val[j];
    mean = val && n ? mean / (double)n : s->gmean;
    if (!st)
        st = rec_knn_score_row(s, nbr, sim, nn, (float)mean, bias, rank, out);
    rec_free(nbr, (keep ? keep : 1) * sizeof *nbr);
    rec_free(sim, (keep ? keep : 1) * sizeof *sim);
    return st == REC_E_NOMEM ? rec_nomem("rec_model_recommend_history(usercf)") : st;
}

static rec_status ucf_explain(const rec_model *m, int32_t u, int32_t i, size_t k,
                              const char **reasons, float *weights, size_t *n)
{
    return rec_knn_model_explain(m, u, i, m->users, k, reasons, weights, n);
}

static rec_status ucf_load(rec_model *m, const rec_lrm_reader *r)
{
    return rec_knn_model_load(m, r, 1);
}

const rec_model_vt rec_usercf_vt = {
    .kind = "usercf",
    .summary = "user-based neighbourhood model (k nearest users; predicts baseline-corrected, ranks by similarity sums)",
    .spec = spec,
    .nspec = NSPEC,
    .fit = ucf_fit,
    .score_user = ucf_score_user,
    .score_history = ucf_score_history,
    .score_pair = ucf_score_pair,
    .predicts_ratings = ucf_predicts_ratings,
    .similar = NULL,
    .explain = ucf_explain,
    .save = rec_knn_model_save,
    .load = ucf_load,
    .free_state = rec_knn_model_free,
};
