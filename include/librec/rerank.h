/*
 * librec re-ranking: business rules applied to a scored candidate list, the
 * last step of retrieval -> ranking -> re-ranking.
 *
 * A rec_rerank is a pipeline of stages run in the order they were added.
 * Each stage is an object of one kind, configured by params (by key, so new
 * options never change a signature) and by the caller's per-item arrays:
 *
 *   "hide"       drops items of a deny set and items a caller predicate hides
 *                (out of stock, not for this audience).
 *   "boost"      per-item weights: score + w (mode "add") or score * w (mode
 *                "mul"); the list is re-sorted by the new scores.
 *   "cap"        at most "max" items per group (category, seller), groups
 *                from a caller array; later items of a full group are dropped.
 *   "mmr"        maximal marginal relevance (Carbonell & Goldstein, 1998):
 *                picks, one at a time, the item maximising
 *                lambda * rel - (1 - lambda) * max sim(item, picked), where
 *                rel is the score min-max scaled to [0, 1] over the list and
 *                sim the cosine of caller vectors or 1 for the same group (0
 *                otherwise).  lambda = 1 keeps the order.
 *   "no_repeat"  drops the items of the call's recent list (shown lately).
 *   "explore"    "epsilon": each slot takes a uniformly drawn remaining item
 *                with probability epsilon, else the best remaining one;
 *                "softmax": slots drawn without replacement with probability
 *                proportional to exp(score / temperature).  Seeded: the
 *                stage's "seed" and the call's seed fix the draws.
 *
 * Items are int32 indices in [0, nitems) of the arrays the stages were given
 * (a model's item order, or the caller's own numbering).  The input list is
 * first ordered by score, best first (ties keep their input order), and
 * every stage keeps an ordered list; output scores are the scores after
 * boosts (mmr and explore reorder without changing them).
 *
 * Thread safety: building stages and pipelines is not thread-safe on the
 * object being built.  rec_rerank_apply never modifies the pipeline (each
 * call has its own scratch), so any number of threads may apply one pipeline
 * at once; the caller's arrays and predicate must then be safe to read
 * concurrently.
 */
#ifndef LIBREC_RERANK_H
#define LIBREC_RERANK_H

#include "librec/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rec_rerank rec_rerank;
typedef struct rec_rerank_stage rec_rerank_stage;

/* A "hide" stage's predicate: nonzero hides item.  Called from the thread
 * that runs rec_rerank_apply. */
typedef int (*rec_rerank_predicate)(void *user, int32_t item);

/* A stage of kind "hide", "boost", "cap", "mmr", "no_repeat" or "explore"
 * with params (may be NULL: defaults; copied):
 *   boost:   "mode" = "add" (default) | "mul"
 *   cap:     "max" = 1..2^31-1 (default 1)
 *   mmr:     "lambda" in [0, 1] (default 0.7)
 *   explore: "method" = "epsilon" (default) | "softmax", "epsilon" in [0, 1]
 *            (default 0.1), "temperature" in [1e-6, 1e6] (default 1),
 *            "seed" (default 0)
 * Returns REC_OK, REC_E_INVALID (NULL out, unknown kind or key, wrong type),
 * REC_E_RANGE (a value outside its bounds) or REC_E_NOMEM; *out is NULL on
 * failure.  Thread-safe. */
REC_API rec_status rec_rerank_stage_create(rec_rerank_stage **out, const char *kind,
                                           const rec_params *params);
/* Releases a stage not added to a pipeline (a no-op for NULL). */
REC_API void rec_rerank_stage_destroy(rec_rerank_stage *s);

/* hide: adds n items to the deny set (copied).  REC_E_RANGE for a negative
 * item. */
REC_API rec_status rec_rerank_stage_set_items(rec_rerank_stage *s, const int32_t *items,
                                              size_t n);
/* hide: the predicate (NULL removes it); user is passed back unchanged. */
REC_API rec_status rec_rerank_stage_set_predicate(rec_rerank_stage *s,
                                                  rec_rerank_predicate pred, void *user);
/* boost: weights[i] for item i, nitems of them (copied); REC_E_INVALID
 * naming the entry for a NaN or infinite weight. */
REC_API rec_status rec_rerank_stage_set_weights(rec_rerank_stage *s, const float *weights,
                                                size_t nitems);
/* cap, mmr: groups[i] is item i's group (copied); a negative group means
 * none (never capped; similar to nothing). */
REC_API rec_status rec_rerank_stage_set_groups(rec_rerank_stage *s, const int32_t *groups,
                                               size_t nitems);
/* mmr: item i's vector is vecs[i*dim .. i*dim+dim) (row-major nitems x dim,
 * copied, 1 <= dim <= 65536); similarity is their cosine (0 for a zero
 * vector).  Replaces groups given before, as set_groups replaces vectors. */
REC_API rec_status rec_rerank_stage_set_vectors(rec_rerank_stage *s, const float *vecs,
                                                size_t nitems, int dim);
/* The setters above return REC_E_INVALID, naming the stage's kind, when
 * called on a stage of another kind, and REC_E_NOMEM (stage unchanged). */

/* An empty pipeline (it returns the list ordered by score).  Thread-safe. */
REC_API rec_status rec_rerank_create(rec_rerank **out);
/* Releases r and its stages (a no-op for NULL). */
REC_API void rec_rerank_destroy(rec_rerank *r);
/* Appends stage s; on success r owns it (never destroy s then).
 * REC_E_STATE names what a stage still lacks (boost without weights, cap or
 * mmr without groups or vectors).  Not thread-safe on r. */
REC_API rec_status rec_rerank_add(rec_rerank *r, rec_rerank_stage *s);
/* Number of stages.  Thread-safe. */
REC_API rec_status rec_rerank_size(const rec_rerank *r, size_t *n);

/* Runs the pipeline on n candidates (items[j], scores[j]) and writes the
 * first k of the result to out_items and out_scores (may be NULL), each with
 * room for k entries; *nout receives the count (< k when rules removed
 * items).  recent (may be NULL when nrecent is 0) is the call's list of
 * items shown lately, for "no_repeat" stages; seed the call's seed, for
 * "explore" stages.  Returns REC_OK, REC_E_INVALID (NULL pointers, a NaN
 * score), REC_E_RANGE (a negative item, or one at or beyond a stage's
 * nitems, named with its position) or REC_E_NOMEM.  Thread-safe. */
REC_API rec_status rec_rerank_apply(const rec_rerank *r, const int32_t *items,
                                    const float *scores, size_t n, const int32_t *recent,
                                    size_t nrecent, uint64_t seed, size_t k,
                                    int32_t *out_items, float *out_scores, size_t *nout);

#ifdef __cplusplus
}
#endif
#endif
