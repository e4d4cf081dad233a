/* What user-CF and item-CF share: the rating matrix in both orientations,
 * sparse similarity search keeping the top neighbours of every row, and the
 * neighbour-weighted prediction.
 *
 * Terms: "rows" are the entities the similarities are between (users for
 * usercf, items for itemcf), "cols" the other side.  R is rows x cols,
 * stored as CSR by rows (sorted by col, one entry per pair) and by cols.
 *
 * Ranking (score_user, score_history) of rating data by sum|rating uses
 * its own neighbour lists, by binary cosine over the whole rows (the
 * implicit model's, shrinkage only when set explicitly): msd, pearson and
 * rating cosine measure agreement over the common cols, so two items with
 * one common rater score 1 and rare items top every sum; top-N needs how
 * often the two are consumed together against how often each is
 * (Deshpande & Karypis 2004; Sarwar et al. 2001).
 *
 * Similarities (between rows a and b over their common cols, n = |common|):
 *   cosine           sum xa xb / sqrt(sum xa^2 * sum xb^2), sums over the
 *                    common cols for rating data (as Surprise); over the
 *                    whole rows for implicit data (binary: n / sqrt(|a||b|))
 *   adjusted_cosine  cosine over the common cols of x - mean of the col
 *   pearson          correlation over the common cols
 *   msd              1 / (sum (xa - xb)^2 / n + 1) (Surprise's default)
 *   jaccard          n / (|a| + |b| - n), on the sets of cols
 *   pearson_baseline sum ea eb / sqrt(sum ea^2 * sum eb^2), e = x - b the
 *                    residual from the baseline (Koren 2010; Surprise),
 *                    shrunk by (n - 1) / (n - 1 + shrinkage) instead, and
 *                    0 below 2 common cols
 * then shrunk: sim * n / (n + shrinkage).  Pairs with n < min_support and
 * similarities <= 0 are dropped (Surprise's KNNWithMeans only uses positive
 * ones).  Each row keeps `keep` rows, chosen by sim * n / (n + 10) (so
 * pairs with one or two common ratings, which msd/cosine/jaccard score 1,
 * do not crowd out well supported ones) and stored by sim, best first. */
#define REC_KNN_SUPPORT 10.0
#ifndef LIBREC_KNN_IMPL_H
#define LIBREC_KNN_IMPL_H

#include "model-impl.h"

typedef enum rec_knn_sim {
    REC_KNN_COSINE,
    REC_KNN_ADJCOS,
    REC_KNN_PEARSON,
    REC_KNN_MSD,
    REC_KNN_JACCARD,
    REC_KNN_PEARSON_BASELINE
} rec_knn_sim;

/* What a prediction centres on (see rec_knn_predict):
 *   NONE      the similarity-weighted mean of the neighbours' values
 *   MEAN      mean_a + weighted deviations from the neighbours' means
 *   BASELINE  b_ac + weighted deviations from the neighbours' baselines,
 *             b_xc = mu + rbias[x] + cbias[c] (Koren 2010's KNNBaseline) */
enum { REC_KNN_CENTRE_NONE, REC_KNN_CENTRE_MEAN, REC_KNN_CENTRE_BASELINE };

/* How top-N ranking (score_user, score_history) scores an item, from the
 * same neighbours a prediction takes (the k most similar that hold it):
 *   SUM         sum of their similarities (Deshpande & Karypis' item-based
 *               top-N; the implicit-data score); ratings do not enter
 *   RATING      sum of similarity * rating / top of the rating range
 *   PREDICTION  the rating prediction, as score_pair gives it: items that
 *               one similar neighbour rated highly rank first, whatever
 *               their support, so this ranks poorly at top-N */
enum { REC_KNN_RANK_SUM, REC_KNN_RANK_RATING, REC_KNN_RANK_PREDICTION };

typedef struct rec_knn {
    /* settings */
    rec_knn_sim sim;
    int implicit;           /* no ratings: values are 1, scores sum sims     */
    int binary;             /* similarities of the 0/1 pattern (implicit, or
                               the ranking lists of rating data)             */
    int centring;           /* REC_KNN_CENTRE_*                              */
    int ranking;            /* REC_KNN_RANK_*: how score_user ranks          */
    int rows_are_items;     /* itemcf's orientation                          */
    int32_t k;              /* neighbours used per prediction                */
    int32_t keep;           /* neighbours stored per row                     */
    double shrink, rank_shrink;
    int32_t min_support;
    double reg_rows, reg_cols; /* baseline regularisation of each side       */
    int32_t bsl_epochs;
    float rmin, rmax;       /* rating range of the training data             */
    float gmean;            /* global mean rating                            */
    float scalars[4];       /* rmin, rmax, gmean, implicit: as saved         */
    int64_t dims[2];        /* nrows, ncols: as saved                        */
    /* R by rows and by cols */
    int32_t nrows, ncols;
    int64_t nnz, nn;        /* entries of R, of the neighbour lists          */
    int64_t *rptr;          /* [nrows+1]                                     */
    int32_t *rcol;          /* [nnz] sorted per row                          */
    float *rval;            /* [nnz]                                         */
    int64_t *cptr;          /* [ncols+1]                                     */
    int32_t *crow;          /* [nnz] sorted per col                          */
    float *cval;            /* [nnz]                                         */
    float *rmean;           /* [nrows] mean value of each row                */
    float *cmean;           /* [ncols] mean value of each col                */
    double *rnorm2;         /* [nrows] sum of squares of each row            */
    /* baselines mu + rbias[a] + cbias[c] (mu = gmean), NULL unless
     * rec_knn_uses_baseline */
    float *rbias;           /* [nrows]                                       */
    float *cbias;           /* [ncols]                                       */
    /* neighbours */
    int64_t *nptr;          /* [nrows+1]                                     */
    int32_t *nbr;           /* [nptr[nrows]] best first                      */
    float *nsim;            /* [nptr[nrows]]                                 */
    /* ranking neighbours of rating data ranked by sum|rating: binary cosine
     * (as the implicit model has), NULL otherwise (the lists above serve) */
    int64_t rnn;
    int64_t *rnptr;         /* [nrows+1]                                     */
    int32_t *rnbr;          /* [rnn]                                         */
    float *rnsim;           /* [rnn]                                         */
    /* the lists rec_knn_score_col walks (rec_knn_rank_lists), reversed: for
     * each row b, the rows a whose list holds b, with the similarity
     * (derived at fit and load; lets item-CF scoring touch only the rows
     * near a history instead of every row's list) */
    int64_t *bptr;          /* [nrows+1]                                     */
    int32_t *brow;          /* [bptr[nrows]]                                 */
    float *bsim;            /* [bptr[nrows]]                                 */
} rec_knn;

/* Shared parameter specs (k, similarity, shrinkage, min_support, centring,
 * keep), for the kinds' tables. */
#define REC_KNN_SPEC                                                                        \
    { "k", REC_PARAM_INT, "40", 1, 1e6, NULL, "neighbours used in a prediction" },          \
    { "similarity", REC_PARAM_STR, "auto", 0, 0,                                            \
      "auto|msd|cosine|adjusted_cosine|pearson|jaccard|pearson_baseline",                   \
      "auto: msd for rating data, cosine for implicit data" },                              \
    { "shrinkage", REC_PARAM_FLOAT, "-1", -1, 1e9, NULL,                                    \
      "sim * n/(n + shrinkage) over n common ratings ((n-1)/(n-1 + shrinkage) for "         \
      "pearson_baseline); -1: 100 for pearson and pearson_baseline, else 0" },              \
    { "min_support", REC_PARAM_INT, "1", 1, 1e9, NULL,                                      \
      "fewest common ratings for a nonzero similarity" },                                   \
    { "centring", REC_PARAM_STR, "auto", 0, 0, "auto|none|mean|baseline",                  \
      "baseline: mu + b_u + b_i + weighted deviations from the baselines (KNNBaseline); "   \
      "mean: mean + weighted deviations (KNNWithMeans); none: weighted mean; auto: "        \
      "baseline for rating data (implicit data scores similarity sums)" },                  \
    { "bsl_reg_u", REC_PARAM_FLOAT, "15", 0, 1e9, NULL,                                     \
      "baselines (centring=baseline, pearson_baseline): regularisation of user biases" },   \
    { "bsl_reg_i", REC_PARAM_FLOAT, "10", 0, 1e9, NULL,                                     \
      "baselines: regularisation of item biases" },                                         \
    { "bsl_epochs", REC_PARAM_INT, "10", 0, 1e6, NULL,                                      \
      "baselines: alternating least squares sweeps (items, then users)" },                  \
    { "keep", REC_PARAM_INT, "500", 1, 1e6, NULL,                                           \
      "neighbours stored per row, from which a prediction takes its k" },                  \
    { "ranking", REC_PARAM_STR, "sum", 0, 0, "sum|rating|prediction",                       \
      "top-N score: sum of the similarities (cosine of 0/1 rows) of the k neighbours that " \
      "hold the item, or of similarity * rating / top rating, or the rating prediction "  \
      "(a pair's score is always the prediction)" }

/* Reads the settings from m's params; rows_are_users picks the orientation.
 * Builds R from the dataset, the similarities and the neighbour lists,
 * reporting each step to cb (rec_model_step_done). */
rec_status rec_knn_fit(rec_knn *s, rec_model *m, const rec_dataset *d, int rows_are_users,
                       rec_progress_fn cb, void *user, const char *fn);
void rec_knn_free(rec_knn *s);

/* Prediction for (row a, col c) from the neighbours of a that have col c:
 * a rating (clipped) for rating data, a similarity sum for implicit data.
 * With centring=baseline, b_ac + sum sim (x_bc - b_bc) / sum sim, or b_ac
 * when no neighbour has c. */
float rec_knn_predict(const rec_knn *s, int32_t a, int32_t c);

/* The neighbours of row a that have col c, as rec_knn_predict uses them,
 * with their part of the prediction (sim * deviation / sum of sims; the
 * similarity itself for implicit data): the k largest into who/w, largest
 * first.  Returns the count. */
size_t rec_knn_explain(const rec_knn *s, int32_t a, int32_t c, size_t k, int32_t *who, float *w);

/* out[ncols]: ranking scores of every col for row a, through the rows of
 * a's neighbours (user-CF).  nbr/nsim/nn: the neighbour list (a's own, or a
 * folded-in one), mean the row's mean, bias its baseline bias (read with
 * centring=baseline); rank a REC_KNN_RANK_* (implicit data and histories
 * without ratings always score similarity sums). */
rec_status rec_knn_score_row(const rec_knn *s, const int32_t *nbr, const float *nsim, int64_t nn,
                             float mean, float bias, int rank, float *out);
/* out[nrows]: ranking scores of every row for a col given densely as
 * x[nrows] (NaN: absent), through each row's neighbour list (item-CF);
 * cbias the col's baseline bias (read with centring=baseline).
 * REC_E_NOMEM (no message) when its scratch cannot be allocated. */
rec_status rec_knn_score_col(const rec_knn *s, const float *x, float cbias, int rank, float *out);

/* Similarities of a query vector over cols (idx[n], val[n]; val NULL =
 * implicit ones) to every row; the top `keep` go to nbr/nsim (room for keep),
 * *nn their count.  bias: the query's baseline bias (pearson_baseline).
 * for_ranking: the similarity the ranking lists use. */
rec_status rec_knn_query(const rec_knn *s, const int32_t *idx, const float *val, int64_t n,
                         float bias, int for_ranking, int32_t *nbr, float *nsim, int64_t *nn);

/* out[nrows]: row a's similarity to every row (0 for rows with none, and
 * for a itself) under the prediction's similarity measure and min_support,
 * shrunk by `shrink` in place of the "shrinkage" setting, over all rows (not
 * only a's stored list).  What item-CF's similar() shows.  REC_E_NOMEM, no
 * message. */
rec_status rec_knn_similar(const rec_knn *s, int32_t a, double shrink, float *out);

/* ---- baselines (knn_baseline.c) ---- */

/* Whether the settings read baselines (centring=baseline, pearson_baseline). */
int rec_knn_uses_baseline(const rec_knn *s);
/* s->rbias/cbias by alternating least squares on R (Koren 2010, section
 * 2.1, as Surprise's baseline_only: all biases 0, then bsl_epochs sweeps of
 * item biases b_i = sum_u (r - mu - b_u) / (reg_i + n_i), then user biases
 * b_u = sum_i (r - mu - b_i) / (reg_u + n_u)).  REC_E_NOMEM, no message. */
rec_status rec_knn_baselines(rec_knn *s);
/* The bias of an entity outside the model, a new row (is_row) or col, from
 * its values over the other side (idx[n], val[n]) with that side's biases
 * fixed: the least-squares step above, which is exact in one step. */
float rec_knn_new_bias(const rec_knn *s, const int32_t *idx, const float *val, size_t n,
                       int is_row);
/* Save/load of the bias vectors ("knn.rbias", "knn.cbias"), only when the
 * settings use them; load checks shapes and finiteness (REC_E_FORMAT). */
rec_status rec_knn_save_baselines(const rec_knn *s, rec_lrm_writer *w);
rec_status rec_knn_load_baselines(rec_knn *s, const rec_lrm_reader *r);
void rec_knn_free_baselines(rec_knn *s);

/* The neighbour lists ranking uses: the binary ones of rating data ranked
 * by sum|rating, else the prediction's. */
void rec_knn_rank_lists(const rec_knn *s, const int64_t **ptr, const int32_t **nbr,
                        const float **sim);

/* Save/load of the settings-independent state (R, means, neighbours) under
 * tensor names prefixed "knn.".  Load re-derives the col orientation. */
rec_status rec_knn_save(const rec_knn *s, rec_lrm_writer *w);
rec_status rec_knn_load(rec_knn *s, const rec_model *m, const rec_lrm_reader *r, int rows_are_users);

/* ---- model glue (knn_model.c) ---- */

/* The engine's settings (similarity, centring, shrinkage, k, keep, ranking,
 * ...) from m's params into s; s->implicit must be set first. */
rec_status rec_knn_read_settings(rec_knn *s, const rec_model *m, const char *fn);
/* Model glue shared by usercf and itemcf (rows_are_users picks the
 * orientation): the state's allocation and release, fit with its one-pass
 * progress call, save and load, and explanations named from `names`. */
void rec_knn_model_free(rec_model *m);
rec_status rec_knn_model_fit(rec_model *m, const rec_dataset *d, int rows_are_users,
                             rec_progress_fn cb, void *user);
rec_status rec_knn_model_save(const rec_model *m, rec_lrm_writer *w);
rec_status rec_knn_model_load(rec_model *m, const rec_lrm_reader *r, int rows_are_users);
rec_status rec_knn_model_explain(const rec_model *m, int32_t row, int32_t col,
                                 const rec_idmap *names, size_t k, const char **reasons,
                                 float *weights, size_t *n);

#endif
