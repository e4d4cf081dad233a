/*
 * librec evaluation: rating and ranking metrics of a fitted model on a test
 * set, under a full-ranking or a sampled-ranking protocol, and the mean and
 * standard deviation of several results (k-fold cross-validation).
 *
 * Metrics, named in a comma-separated list (case-insensitive, K >= 1):
 *   rmse, mae        over the test rows that have ratings (the model's score
 *                    is the predicted rating);
 *   hit@K            1 if a relevant item is in the top K;
 *   precision@K      relevant items in the top K, divided by K;
 *   recall@K         relevant items in the top K, divided by the number of
 *                    relevant items;
 *   ndcg@K           DCG of the top K (gain 1 / log2(position + 1)) divided
 *                    by the ideal DCG of min(relevant, K) hits;
 *   map@K            sum of precision@i at each relevant position i <= K,
 *                    divided by min(relevant, K);
 *   mrr, mrr@K       1 / position of the first relevant item (0 beyond K);
 *   auc              share of (relevant, non-relevant) candidate pairs in
 *                    which the relevant item scores higher (ties count 1/2);
 *   coverage@K       distinct items in all the top-K lists / catalogue size;
 *   diversity@K      mean over pairs of a top-K list of 1 - cosine of the two
 *                    items' training-user vectors (intra-list diversity);
 *   novelty@K        mean over a top-K list of log2(users / users of item),
 *                    the self-information of the item's training popularity
 *                    (an item nobody trained on counts as one user).
 * Per-user metrics are averaged over the users evaluated for them.
 *
 * Relevant items of a user are the user's distinct test items.  Users and
 * items are matched to the model by their external ids; test users or items
 * the model has never seen are skipped.
 * Protocols:
 *   "full"       every item is ranked except the user's training items (the
 *                model's own record of them); relevant items that are also
 *                training items are dropped.  Equal scores rank the lower
 *                item index first, as the model's recommend calls do.
 *   "sampled:N"  the user's relevant items plus N distinct negatives drawn
 *                uniformly, with the seed, from the items the user has in
 *                neither train nor test (all of them when fewer remain); as
 *                in SASRec's evaluation a relevant item ranks after the
 *                negatives that score strictly higher (ties favour it).
 *   "cold"       as "full" among the items without training rows only (a
 *                cold-items split's held-out items against each other);
 *                test items with training rows are not relevant.
 */
#ifndef LIBREC_EVAL_H
#define LIBREC_EVAL_H

#include "librec/core.h"
#include "librec/data.h"
#include "librec/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rec_eval_result rec_eval_result;

/* Evaluates fitted model m on test under protocol (NULL means "full") for
 * the comma-separated metrics.  seed draws the sampled negatives (one
 * random stream per user, so the values depend on (seed, data, model) and
 * never on the thread count).  Users are evaluated in parallel over
 * librec's pool.  *out receives a new result (rec_eval_result_destroy).
 * Returns REC_OK; REC_E_INVALID for NULL arguments, an unknown or malformed
 * metric or protocol (the message names it), a metric listed twice or an
 * empty test set; REC_E_STATE for an unfitted model, or for rmse/mae on a
 * test set without ratings; REC_E_NOMEM; or the model's scoring error.
 * A metric with no user (or row) to average over is NAN.  *out is NULL on
 * failure.  Thread-safe once test's per-user index exists: the first
 * evaluation (or fit) on a dataset builds it, so do not start two
 * evaluations of a fresh dataset at once; m is only read. */
REC_API rec_status rec_evaluate(const rec_model *m, const rec_dataset *test,
                                const char *protocol, const char *metrics, uint64_t seed,
                                rec_eval_result **out);

/* Releases r (a no-op for NULL). */
REC_API void rec_eval_result_destroy(rec_eval_result *r);

/* Number of metrics, in the order they were asked for. Thread-safe. */
REC_API rec_status rec_eval_result_count(const rec_eval_result *r, size_t *n);

/* Metric i: its canonical name ("ndcg@10"; owned by r), its value and its
 * standard deviation over folds (0 for a single evaluation).  Any out-pointer
 * may be NULL.  REC_E_RANGE for i >= count.  Thread-safe. */
REC_API rec_status rec_eval_result_metric(const rec_eval_result *r, size_t i, const char **name,
                                          double *value, double *std);

/* Value of a metric by name (case-insensitive); REC_E_NOTFOUND naming it
 * when absent.  Thread-safe. */
REC_API rec_status rec_eval_result_get(const rec_eval_result *r, const char *name,
                                       double *value);

/* Users evaluated for ranking metrics and test rows scored for rating
 * metrics (summed over folds for a merged result), and the number of folds
 * (1 for a single evaluation).  Any out-pointer may be NULL.  Thread-safe. */
REC_API rec_status rec_eval_result_support(const rec_eval_result *r, int64_t *users,
                                           int64_t *rows, int *folds);

/* Combines n results of the same metric list (e.g. the folds of a k-fold
 * split) into a new result whose values are the means of the parts and
 * whose std is their population standard deviation (divisor n).  NAN parts
 * are left out of a metric's mean and std.  Merging merged results is not
 * supported (REC_E_INVALID).  Returns REC_OK, REC_E_INVALID (NULL, n == 0,
 * different metric lists) or REC_E_NOMEM.  Thread-safe. */
REC_API rec_status rec_eval_result_merge(const rec_eval_result *const *parts, size_t n,
                                         rec_eval_result **out);

#ifdef __cplusplus
}
#endif
#endif
