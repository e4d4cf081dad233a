/*
 * One interface for every recommender, classical or neural: create from a
 * kind and params, fit on a dataset, score, recommend top-k for a known user
 * or for a history given at call time, similar items, save and load.
 *
 * Thread safety: create/fit/destroy need exclusive access to the model.  A
 * fitted or loaded model is read-only for scoring: any number of threads may
 * call rec_model_score, rec_model_recommend, rec_model_recommend_history and
 * rec_model_similar on it at once.  Per-call settings (k, flags) are
 * arguments, never state of the model.
 *
 * Ids: every call takes and returns the caller's own external ids (the
 * strings of the training data).  Returned id strings are owned by the model
 * and stay valid until it is destroyed.
 */
#ifndef LIBREC_MODEL_H
#define LIBREC_MODEL_H

#include "librec/core.h"
#include "librec/data.h"
#include "librec/retrieval.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rec_model rec_model;

/* rec_model_fit reports each epoch to a rec_progress_fn (librec/core.h). */

/* Flags of the recommend calls. */
#define REC_INCLUDE_SEEN 1u /* do not exclude the user's training items */

/* Model kinds, in a stable order: i = 0, 1, ... until REC_E_RANGE. */
REC_API rec_status rec_model_kind_at(size_t i, const char **kind, const char **summary);

/* The kind's parameters: key, type, default (as text), bounds (for numbers),
 * choices ("a|b|c" or NULL) and a one-line help.  i = 0, 1, ... until
 * REC_E_RANGE.  Strings are static. */
REC_API rec_status rec_model_param_at(const char *kind, size_t i, const char **key,
                                      rec_param_type *type, const char **def, double *lo,
                                      double *hi, const char **choices, const char **help);

/* Creates an unfitted model.  params (may be NULL: defaults) is validated
 * against the kind's keys and copied. */
REC_API rec_status rec_model_create(rec_model **out, const char *kind, const rec_params *params);
REC_API void rec_model_destroy(rec_model *m);
REC_API const char *rec_model_kind(const rec_model *m);

/* Trains on train (which may be destroyed afterwards: the model keeps the id
 * maps and each user's training items).  Fitting again starts over. */
REC_API rec_status rec_model_fit(rec_model *m, const rec_dataset *train, rec_progress_fn progress,
                                 void *user);

/* From inside the progress callback of m's fit: what its epoch and epochs
 * count, a static string.  "epoch" for models training in epochs (svd then
 * "ranking head epoch" for its second phase); the step just finished for
 * one-pass models ("ratings", "baselines", "similarities", "ranking lists"
 * for itemcf and usercf, "counts" for popularity, "item vectors" for
 * tfidf).  NULL outside a fit. */
REC_API const char *rec_model_fit_step(const rec_model *m);

/* Data-parallel training: the next fits train together with the other
 * ranks of c (rec_comm(3)), each rank calling rec_model_fit on its own part
 * of the data (rec_dataset_shard, or the whole dataset on every rank), with
 * the same kind and params.  The fit starts with an agreement on what every
 * rank fits (status, kind and params, id counts, shard or whole, rows): a
 * rank that differs fails the fit on every rank at once.  On shards, the
 * ranks gather the whole dataset first, so every rank's model keeps every
 * user's seen items and the other state a kind takes from the data, as a
 * fit of all of it in one process; mf and dnn then train on their shard's
 * rows, the other kinds on the gathered data.  The models trained through
 * librec's trainer exchange their gradients at every step, so every rank
 * ends with the same parameters: those of one process training on all the
 * data with the same global batches, up to the order of floating-point sums
 * (in rec_comm's fixed order: the same result on every run).  An error on
 * any rank, wherever it happens, makes rec_model_fit fail on every rank
 * with the same status and that rank's message.  als solves a block of
 * users, then of items, per rank and gathers the factors: the same bits as
 * one process.  Other kinds fit the whole data on every rank.  c is kept,
 * not owned (it must outlive the fits); NULL detaches.  Not thread-safe
 * with a fit of m. */
REC_API rec_status rec_model_set_comm(rec_model *m, rec_comm *c);

/* Training a ranking stage (available since 0.2): the next fits of ranker
 * learn to order the n candidates retrieval (a fitted model, of any kind)
 * returns for each user, as a served pipeline asks it to: retrieval's top
 * n by rec_model_recommend, its training items excluded.  A kind that can
 * (dnn) then draws its negatives from those lists (param negatives_from =
 * candidates) and may learn their order pairwise (loss = ranknet).  The
 * lists are computed at the start of each fit of ranker, from a retrieval
 * model that must have been fitted on the same training data (rec_model_fit
 * fails with REC_E_INVALID otherwise); n larger than the catalogue takes
 * every unseen item.  retrieval is kept, not owned: it must stay fitted and
 * unchanged until ranker's fits are done; a fitted ranker no longer needs
 * it (it is not saved).  NULL detaches.  Returns REC_OK; REC_E_INVALID
 * (ranker NULL, retrieval == ranker, n == 0); REC_E_STATE (retrieval not
 * fitted); REC_E_UNSUPPORTED (a kind that does not train on candidates).
 * Not thread-safe with a fit of ranker. */
REC_API rec_status rec_model_set_candidates(rec_model *ranker, const rec_model *retrieval,
                                            size_t n);

/* The latest validation of a fit with valid_ratio > 0 (kinds with the
 * validation keys): the valid_metric's name (owned by m), the epoch it was
 * computed after and its value; NULL, 0 and NAN when there has been none.
 * Called from the progress callback of epoch e, *epoch == e when that
 * epoch was validated.  Any out-pointer may be NULL.  Returns REC_OK or
 * REC_E_INVALID (m NULL).  Available since 0.2.  Like rec_model_fit_step,
 * for the thread running the fit (its progress callback) or after it. */
REC_API rec_status rec_model_fit_valid(const rec_model *m, const char **metric, int *epoch,
                                       double *value);

/* Predicted score (a rating for rating models) of item for user. */
REC_API rec_status rec_model_score(const rec_model *m, const char *user, const char *item,
                                   float *score);

/* Top-k items for a user seen in training, best first, excluding the user's
 * training items unless REC_INCLUDE_SEEN.  items and scores (may be NULL)
 * have room for k entries; *n receives how many were written (< k when the
 * catalogue runs out). */
REC_API rec_status rec_model_recommend(const rec_model *m, const char *user, size_t k,
                                       unsigned flags, const char **items, float *scores,
                                       size_t *n);

/* Top-k for an anonymous user described by a history given now (fold-in):
 * items (external ids; unknown ones are skipped) with optional ratings (NULL
 * = implicit).  The history's items are excluded unless REC_INCLUDE_SEEN.
 * REC_E_INVALID naming the entry for a NULL item or a rating that is NaN or
 * infinite; REC_E_UNSUPPORTED for kinds that cannot fold in.  dnn: the
 * user has no id embedding and every user field missing; with
 * history=mean its history field is the mean over the items given (their
 * ratings unused), with history=none the history is not read and every
 * fold-in is the same anonymous-user ranking. */
REC_API rec_status rec_model_recommend_history(const rec_model *m, const char *const *history,
                                               const float *ratings, size_t nhistory, size_t k,
                                               unsigned flags, const char **items,
                                               float *scores, size_t *n);

/* The k items most similar to item (itself excluded).  REC_E_UNSUPPORTED for
 * kinds without an item similarity. */
REC_API rec_status rec_model_similar(const rec_model *m, const char *item, size_t k,
                                     const char **items, float *scores, size_t *n);

/* Why item would be recommended to user: up to k (reason, weight) pairs,
 * largest weight first.  Reasons are the user's own items that drove the
 * score (itemcf: the neighbours of item among the user's items, weight their
 * contribution to the prediction), the neighbours who rated it (usercf:
 * user ids), the terms shared by the user's profile and the item (tfidf:
 * weight the term's share of the cosine), or the user's history items by
 * the last position's attention in the last block (sasrec: averaged over
 * heads, adding up to 1 over the history; gat likewise by its attention).  reasons and weights (may be NULL)
 * have room for k entries; *n receives the count.  Strings are owned by the
 * model.  REC_E_UNSUPPORTED for kinds that cannot explain. */
REC_API rec_status rec_model_explain(const rec_model *m, const char *user, const char *item,
                                     size_t k, const char **reasons, float *weights,
                                     size_t *n);

/* Counts of the id maps the model was fitted (or loaded) with. */
REC_API rec_status rec_model_num_users(const rec_model *m, size_t *n);
REC_API rec_status rec_model_num_items(const rec_model *m, size_t *n);

/* Writes the model to one .lrm file (a temporary file renamed over path, so
 * a failure leaves an existing file intact).  The temporary file is
 * "<path>.tmp-<pid>-<n>" (decimal pid of the saving process, n counting its
 * saves from 0); one whose pid no longer runs was left by a killed process
 * and may be removed. */
REC_API rec_status rec_model_save(const rec_model *m, const char *path);
/* Reads a model saved by rec_model_save; REC_E_FORMAT for a truncated,
 * corrupted or foreign file, with a message. */
REC_API rec_status rec_model_load(rec_model **out, const char *path);

/* ---- serving many users (available since 0.2) -----------------------------
 * Dense indices: users 0..num_users-1 and items 0..num_items-1 in the order
 * of the model's id maps (the training data's order of first appearance).
 * All of these only read the model: thread-safe as rec_model_recommend. */

/* External id <-> dense index.  REC_E_NOTFOUND naming an unknown id,
 * REC_E_RANGE for an index outside the map; *id is owned by the model. */
REC_API rec_status rec_model_user_index(const rec_model *m, const char *id, int32_t *u);
REC_API rec_status rec_model_item_index(const rec_model *m, const char *id, int32_t *i);
REC_API rec_status rec_model_user_id(const rec_model *m, int32_t u, const char **id);
REC_API rec_status rec_model_item_id(const rec_model *m, int32_t i, const char **id);

/* Top-k for n users in one call.  Row q of items (and of scores, which may
 * be NULL), entries [q*k, q*k+k), receives user users[q]'s item indices best
 * first, padded with -1 (score -INFINITY) when fewer than k pass.  Each row
 * equals what rec_model_recommend returns for that user with the same k and
 * flags; filter (may be NULL; built over num_items labels) further removes
 * items: its deny and allow sets apply to every user, its exclude lists (if
 * any, one per user: n of them) to row q, and its predicate is asked
 * (q, item) for the items still in play.  Users are spread over librec's
 * pool; the rows do not depend on the thread count.
 * Returns REC_OK; REC_E_INVALID (NULL pointers, k == 0, unknown flags, a
 * filter over another number of labels or queries); REC_E_RANGE naming the
 * first user index out of range; REC_E_STATE (not fitted); REC_E_NOMEM; or
 * the kind's scoring error.  Nothing is written on an argument error. */
REC_API rec_status rec_model_recommend_batch(const rec_model *m, const int32_t *users, size_t n,
                                             size_t k, unsigned flags, const rec_filter *filter,
                                             int32_t *items, float *scores);

/* The same with external user ids; REC_E_NOTFOUND names the first unknown
 * one.  Items are still returned as indices (rec_model_item_id). */
REC_API rec_status rec_model_recommend_batch_ids(const rec_model *m, const char *const *users,
                                                 size_t n, size_t k, unsigned flags,
                                                 const rec_filter *filter, int32_t *items,
                                                 float *scores);

/* Scores of a list of items for one user (a candidate list to rank):
 * scores[j] is what rec_model_score gives for (user, items[j]), all in one
 * call (one forward pass per 2048 items for dnn).  An items[j] of -1 (the
 * padding of rec_model_recommend_batch) scores -INFINITY.  Returns REC_OK;
 * REC_E_INVALID (NULL pointers with n > 0); REC_E_RANGE naming the user or
 * the first item index out of range (nothing written); REC_E_STATE (not
 * fitted); REC_E_NOMEM; or the kind's scoring error.  Available since 0.2. */
REC_API rec_status rec_model_score_items(const rec_model *m, int32_t user, const int32_t *items,
                                         size_t n, float *scores);

/* Vectors whose inner products are the model's ranking scores: user u's row
 * dotted with item i's row is the score rec_model_recommend ranks by (up to
 * float rounding).  *dim receives their dimension; with out non-NULL, the
 * side's rows are written to out (row-major, num_users or num_items rows of
 * *dim floats; size is out's room in floats).  Kinds: mf, als, twotower,
 * lightgcn with linear=0 (its default adds an item-item term), ngcf, gcn,
 * graphsage (their factors, tower or last-layer outputs); svd and svdpp (the
 * ranking head, or the rating model when it has none, as
 * [p, b_u, 1, 1] and [q, 1, b_i, mu]: dimension factors + 3); sasrec's
 * items (its item embeddings) and users (the last state over each user's
 * training history).  REC_E_UNSUPPORTED for other kinds; REC_E_RANGE when
 * size is too small (nothing written). */
REC_API rec_status rec_model_vectors(const rec_model *m, rec_side side, float *out, size_t size,
                                     int *dim);

/* ---- call-time features: cold start without refitting (since 0.2) --------
 * A feature set describes one user or item now, the way a dataset row would:
 * categorical values, numbers, multi-hot values, text and dense vectors, by
 * field name.  Made against a fitted model, it knows the fields the model
 * reads (with their vocabularies and normalisations, kept in the model and
 * its file); made against a dataset, that dataset's fields.  Values are
 * coded and normalised by the model when used, as the training data's
 * were: a categorical or multi-hot value the training data did not have
 * falls in the out-of-vocabulary bucket (an all-zero embedding, as a
 * missing value), a field left unset is missing.  Kinds: twotower (the
 * fields of its towers), dnn (the categorical, numeric, multi-hot and
 * dense fields its user_features and item_features name, and its
 * contexts), tfidf (the text and multi-hot item fields it read; no user
 * field), gcn and graphsage (the categorical and multi-hot fields of each
 * side they embedded), gat (a user is a history: no user field; the
 * categorical and multi-hot item fields it embedded); the others give
 * REC_E_UNSUPPORTED.
 * A feature set is not thread-safe; the model calls below only read it. */
typedef struct rec_feature_set rec_feature_set;

/* A feature set of side's entities against fitted model m's schema, or
 * against dataset d's fields.  REC_E_STATE for an unfitted model,
 * REC_E_UNSUPPORTED for a kind (or a model file older than the schema)
 * without call-time features. */
REC_API rec_status rec_feature_set_create(rec_feature_set **out, const rec_model *m,
                                          rec_side side);
REC_API rec_status rec_feature_set_create_dataset(rec_feature_set **out, const rec_dataset *d,
                                                  rec_side side);
REC_API void rec_feature_set_destroy(rec_feature_set *fs);
/* Unsets every value (the set can describe the next entity). */
REC_API void rec_feature_set_clear(rec_feature_set *fs);

/* Sets field name from text as rec_dataset_set_feature does: categorical
 * (replaces), numeric (a finite decimal number), multi-hot (adds one value
 * or several separated by '|'), text (appended after a space).
 * REC_E_NOTFOUND naming a field the schema lacks; REC_E_INVALID for a
 * dense field (rec_feature_set_set_vector) or a number that does not
 * parse. */
REC_API rec_status rec_feature_set_set(rec_feature_set *fs, const char *name,
                                       const char *value);
/* A numeric field's value; REC_E_INVALID for another type or a value that
 * is not finite. */
REC_API rec_status rec_feature_set_set_number(rec_feature_set *fs, const char *name,
                                              double value);
/* A dense field's vector v[dim] (copied; normalised by the model as the
 * field's training vectors were); REC_E_INVALID for another type, another
 * dim than the field's, or a value that is not finite. */
REC_API rec_status rec_feature_set_set_vector(rec_feature_set *fs, const char *name,
                                              const float *v, size_t dim);

/* Score of item for a user described now: user features (a user feature
 * set, may be NULL) and a history of items (external ids, unknown ones
 * skipped; may be empty).  Such a user has no id embedding (zeros).  A dnn
 * reads the history with history=mean only (its mean history field);
 * with history=none every anonymous user with the same features scores
 * alike.  REC_E_NOTFOUND for an unknown item. */
REC_API rec_status rec_model_score_features(const rec_model *m, const rec_feature_set *user,
                                            const char *const *history, size_t nhistory,
                                            const char *item, float *score);
/* Top-k for a user described now (as above), best first; the history's
 * items are excluded unless REC_INCLUDE_SEEN.  Arguments and results as
 * rec_model_recommend_history. */
REC_API rec_status rec_model_recommend_features(const rec_model *m,
                                                const rec_feature_set *user,
                                                const char *const *history, size_t nhistory,
                                                size_t k, unsigned flags, const char **items,
                                                float *scores, size_t *n);
/* ---- per-interaction context at call time (since 0.2) ---------------------
 * A model whose user_features name context fields (time:hour,
 * time:weekday or a context the training data declared, rec_dataset(3):
 * twotower's user tower, dnn's network) learnt each training interaction
 * in its own context.
 * rec_model_score and rec_model_recommend serve a known user with every
 * context missing (the all-zero row of an unknown value); these serve the
 * user in a context given now.  ctx is a user feature set of m
 * (rec_feature_set_create): its context fields are read, e.g.
 * rec_feature_set_set(ctx, "time:weekday", "6"); a value the training
 * data did not have, or a context left unset, is missing; the user's own
 * id, features and history are the model's, as in rec_model_recommend.
 * ctx may be NULL (every context missing).  The context fields are also
 * fields of a user feature set given to rec_model_score_features and
 * rec_model_recommend_features (an anonymous user in a context; twotower
 * and dnn).  Kinds: twotower and dnn; REC_E_UNSUPPORTED for the others.  REC_E_NOTFOUND for
 * an unknown user or item; REC_E_STATE for an unfitted model. */
REC_API rec_status rec_model_score_context(const rec_model *m, const char *user,
                                           const rec_feature_set *ctx, const char *item,
                                           float *score);
/* Top-k for the user in the context, best first, its training items
 * excluded unless REC_INCLUDE_SEEN; results as rec_model_recommend. */
REC_API rec_status rec_model_recommend_context(const rec_model *m, const char *user,
                                               const rec_feature_set *ctx, size_t k,
                                               unsigned flags, const char **items,
                                               float *scores, size_t *n);

/* Adds n items, ids[j] described by item feature set features[j], to a
 * fitted model's catalogue: from now on they are recommended, scored,
 * similar-able (rec_model_similar) and saved like the training items, with
 * the vectors their features give (twotower, gcn, graphsage, gat: those
 * of an item present at fit with these features and no interactions, for
 * gat its layers applied to the mean of its feature embeddings, attending
 * to itself alone; dnn: the scores of such an item, but for its id
 * embedding, which is zeros, and for the history table, which has no row
 * for it; tfidf: the fitted vocabulary and idf, not refitted, unknown words
 * ignored).  All or nothing:
 * REC_E_INVALID for an id already in the catalogue (or twice in ids), a
 * NULL entry or a user feature set; the model is unchanged on any error.
 * Needs exclusive access to m (not thread-safe with any other call on m). */
REC_API rec_status rec_model_add_items(rec_model *m, const char *const *ids,
                                       const rec_feature_set *const *features, size_t n);

#ifdef __cplusplus
}
#endif
#endif
