/* What every model kind implements, and the state the generic layer keeps
 * for all of them (id maps, each user's training items).  Models work on
 * dense indices; model.c translates external ids and does top-k. */
#ifndef LIBREC_MODEL_IMPL_H
#define LIBREC_MODEL_IMPL_H

#include "librec/model.h"
#include "core/core-impl.h"
#include "core/lrm-impl.h"
#include "data/data-impl.h"
#include "train/train-impl.h"
#include "retrieval/ipblock-impl.h"

typedef struct rec_model_vt {
    const char *kind;
    const char *summary;
    const rec_param_spec *spec;
    size_t nspec;
    /* Trains from train (indices match m->users/m->items, already set). */
    rec_status (*fit)(rec_model *m, const rec_dataset *train, rec_progress_fn cb, void *user);
    /* Scores of every item for user u: out[nitems]. */
    rec_status (*score_user)(const rec_model *m, int32_t u, float *out);
    /* Optional (NULL: unsupported): scores for a history given at call time. */
    rec_status (*score_history)(const rec_model *m, const int32_t *items, const float *ratings,
                                size_t n, float *out);
    /* Optional: one pair (NULL: taken from score_user).  It ranks as
     * score_user does unless predicts_ratings says it is a rating. */
    rec_status (*score_pair)(const rec_model *m, int32_t u, int32_t i, float *out);
    /* Optional (NULL: never): 1 when this fitted model's score_pair is a
     * rating on the training data's scale, which RMSE/MAE compare with the
     * test ratings; its ranking then comes from score_user only, which may
     * order items otherwise (a rating model ranks for top-N differently). */
    int (*predicts_ratings)(const rec_model *m);
    /* Optional: similarity of every item to item i: out[nitems]. */
    rec_status (*similar)(const rec_model *m, int32_t i, float *out);
    /* Optional: up to k reasons (strings owned by the model) with weights,
     * largest first, for (u, i); *n the count. */
    rec_status (*explain)(const rec_model *m, int32_t u, int32_t i, size_t k,
                          const char **reasons, float *weights, size_t *n);
    /* Model-specific tensors into / out of a model file. */
    rec_status (*save)(const rec_model *m, rec_lrm_writer *w);
    rec_status (*load)(rec_model *m, const rec_lrm_reader *r);
    void (*free_state)(rec_model *m);
    /* Optional (NULL: score_user, then top-k here): the top k for user u
     * from the kind's own index, best first, ties to the lower index, the
     * user's training items excluded unless include_seen; idx and val have
     * room for k (<= nitems); *n the count. */
    rec_status (*recommend)(const rec_model *m, int32_t u, size_t k, int include_seen,
                            int32_t *idx, float *val, size_t *n);
    /* 1 when fit accepts a catalogue with no interactions (a content model
     * that needs items and their features only); 0: such a fit is refused. */
    int fits_catalogue;
    /* Optional (NULL: none): vectors whose inner products are the kind's
     * ranking scores, user u's . item i's = score_user(u)[i] up to rounding.
     * Sets *dim; with out non-NULL also writes the side's rows, out[n, *dim].
     * REC_E_UNSUPPORTED (with a message) for a side the kind cannot give. */
    rec_status (*vectors)(const rec_model *m, rec_side side, float *out, int *dim);
    /* 1 when a distributed fit may train on each rank's shard: the kind's
     * examples are the dataset's rows and nothing else it keeps comes from
     * other users' rows (or it reads that from m->fit_whole).  0: every
     * rank fits the gathered whole dataset (model_dist.c). */
    int row_shards;
    /* Optional (NULL: score_pair per item, else score_user): what score_pair
     * gives for (u, items[j]), into out[n]; every items[j] in [0, nitems). */
    rec_status (*score_items)(const rec_model *m, int32_t u, const int32_t *items, size_t n,
                              float *out);
    /* Call-time features (NULL: unsupported; feature_set.c, model_features.c).
     * schema: the fields of side the kind reads, borrowed (*out NULL: none);
     * REC_E_UNSUPPORTED with a message when the model has none (an old file).
     * score_features: every item's score, out[nitems], for a user described
     * by fs (may be NULL) and a history.  add_items: n more items, indices
     * nitems.., described by fs[n], all or nothing; model.c then grows
     * m->items and m->nitems (which the kind's state must then match). */
    rec_status (*schema)(const rec_model *m, rec_side side, rec_features **out,
                         const char *fn);
    rec_status (*score_features)(const rec_model *m, const rec_feature_set *fs,
                                 const int32_t *hist, size_t nh, float *out);
    rec_status (*add_items)(rec_model *m, const rec_feature_set *const *fs, size_t n);
    /* score_context: every item's score, out[nitems], for known user u in
     * the context fields fs (may be NULL) sets. */
    rec_status (*score_context)(const rec_model *m, int32_t u, const rec_feature_set *fs,
                                float *out);
} rec_model_vt;

struct rec_model {
    const rec_model_vt *vt;
    rec_params *params;   /* validated copy */
    void *state;          /* the kind's own */
    int fitted;
    rec_idmap *users, *items;   /* private copies of the training maps */
    int32_t nusers, nitems;
    int64_t *seen_ptr;    /* [nusers+1] CSR of training items per user */
    const rec_dataset *valid; /* during fit with valid_ratio > 0: the held-out
                                 part (REC_MODEL_VALIDATION_KEYS), else NULL */
    int32_t *seen;        /* [seen_ptr[nusers]] sorted per user */
    size_t seen_cap;      /* allocated entries of seen */
    uint64_t fingerprint; /* of the training data */
    const char *step;     /* what progress counts during fit (rec_model_fit_step) */
    rec_comm *comm;       /* rec_model_set_comm: train with other ranks   */
    const rec_dataset *fit_data; /* during fit: the data being fitted     */
    const rec_dataset *fit_whole; /* during fit: all of it (fit_data is a rank's
                                     shard in a distributed fit, model_dist.c) */
    int valid_epoch;      /* epoch of the latest validation (0: none yet) */
    double valid_value;   /* its valid_metric (rec_model_fit_valid) */
    rec_index *ix;        /* index=hnsw: the item vectors' index, else NULL  */
    rec_ippack pack;      /* index=exact: the item vectors packed for the
                             block kernel (.p NULL: the kind scores itself) */
    float *uvec;          /* with ix or pack: the user vectors [nusers, vdim] */
    int vdim;
    const rec_model *cand_model; /* rec_model_set_candidates: kept, not owned */
    size_t cand_n;        /* candidates per user it retrieves for a fit */
};

/* The fit of model.c: the model's ids, seen items and fingerprint from
 * whole, the kind trained on rows (whole itself, or this rank's shard of
 * it in a distributed fit).  On failure (but a cancel) the model is left
 * unfitted, with the kind's message. */
rec_status rec_model_fit_on(rec_model *m, const rec_dataset *whole, const rec_dataset *rows,
                            rec_progress_fn cb, void *user);
void rec_model_drop_fit(rec_model *m);
/* rec_model_fit with a communicator of more than one rank (model_dist.c). */
rec_status rec_model_fit_ranks(rec_model *m, const rec_dataset *train, rec_progress_fn cb,
                               void *user);

/* Param getters bound to the model's spec. */
int64_t rec_model_int(const rec_model *m, const char *key);
double rec_model_flt(const rec_model *m, const char *key);
int rec_model_bool(const rec_model *m, const char *key);
const char *rec_model_str(const rec_model *m, const char *key);

/* A one-pass fit finished step i of n, named step ("similarities"): the
 * progress callback is told (epoch i of n, loss NAN).  Only after the last
 * step may it stop the fit (REC_E_CANCELLED): before, the model would be
 * half-built. */
rec_status rec_model_step_done(rec_model *m, const char *step, int i, int n, rec_progress_fn cb,
                               void *user, const char *fn);

/* Runs the trainer (model_train.c) with the model's "epochs", "batch" and
 * "seed" keys, and "checkpoint", "checkpoint_every" and "resume" when the
 * kind has them (REC_MODEL_CHECKPOINT_KEYS).  With m->valid set (a kind
 * with REC_MODEL_VALIDATION_KEYS fitted with valid_ratio > 0), every
 * validate_every epochs vt->sync (when set) brings the model's scoring
 * state up to the params, and valid_metric on m->valid (full ranking, the
 * training items excluded) decides early stopping (patience) and which
 * epoch's params the model ends with.  fn names the caller in an
 * out-of-memory message. */
rec_status rec_model_train(const rec_model *m, const rec_trainer_vt *vt, void *ctx,
                           rec_pstore *ps, rec_optim *opt, rec_progress_fn cb, void *user,
                           const char *fn);

/* The trainer's checkpoint keys, for the spec of a kind whose step depends
 * only on its params, optimizer and the trainer's RNG (so a resumed fit
 * equals one straight through). */
#define REC_MODEL_CHECKPOINT_KEYS                                                              \
    { "checkpoint", REC_PARAM_STR, "", 0, 0, NULL,                                             \
      "checkpoint file written during fit (empty = none)" },                                   \
    { "checkpoint_every", REC_PARAM_INT, "1", 1, 1e9, NULL,                                    \
      "epochs between checkpoints (the last is always written)" },                             \
    { "resume", REC_PARAM_BOOL, "false", 0, 1, NULL,                                           \
      "continue fit from the checkpoint file when it exists" }

/* 1 when the kind's spec has key (model_train.c). */
int rec_model_has_key(const rec_model *m, const char *key);

/* Checks that valid_metric names one metric; *minimize (may be NULL) is 1
 * for rmse and mae.  REC_E_INVALID naming the key otherwise. */
rec_status rec_model_valid_metric(const rec_model *m, int *minimize);

/* Validation keys, for the spec of a kind whose scores can be evaluated
 * between epochs (through vt->sync when its scoring state is derived from
 * the params).  rec_model_fit holds out valid_ratio of each user's rows
 * (seeded by "seed"), trains on the rest and, after the fit, counts the
 * held-out rows among the user's seen items again. */
#define REC_MODEL_VALIDATION_KEYS                                                              \
    { "valid_ratio", REC_PARAM_FLOAT, "0", 0, 0.9, NULL,                                       \
      "share of each user's interactions held out for validation and early stopping "         \
      "(0 = none)" },                                                                          \
    { "valid_metric", REC_PARAM_STR, "ndcg@20", 0, 0, NULL,                                    \
      "validation metric (rmse and mae are minimised, the others maximised)" },               \
    { "patience", REC_PARAM_INT, "3", 0, 1e9, NULL,                                            \
      "stop after this many validations without improvement (0 = never stop early)" },        \
    { "validate_every", REC_PARAM_INT, "1", 1, 1e9, NULL, "epochs between validations" },    \
    { "restore_best", REC_PARAM_BOOL, "true", 0, 1, NULL,                                      \
      "end with the params of the best validation (false: those of the last epoch)" }

/* For model.c and model_serve.c: REC_E_INVALID / REC_E_STATE naming fn
 * unless m is fitted; an external id's dense index, REC_E_NOTFOUND naming
 * fn and the id when unknown. */
rec_status rec_model_need_fitted(const rec_model *m, const char *fn);
rec_status rec_model_find_user(const rec_model *m, const char *user, const char *fn, int32_t *u);
rec_status rec_model_find_item(const rec_model *m, const char *item, const char *fn, int32_t *i);

/* The vt->vectors of a kind that keeps both tables, users[nusers, d] and
 * items[nitems, d] (model_serve.c). */
rec_status rec_model_copy_vectors(const rec_model *m, rec_side side, const float *users,
                                  const float *items, int d, float *out, int *dim);

/* The serving index keys, for the spec of a kind with vt->vectors
 * (model_index.c serves every such kind through one path). */
#define REC_MODEL_INDEX_KEYS                                                                   \
    { "index", REC_PARAM_STR, "exact", 0, 0, "exact|hnsw",                                     \
      "how recommend finds the top k: exact (every item scored) or hnsw (an approximate "      \
      "index over the item vectors, built at fit and saved with the model)" },                 \
    { "index_m", REC_PARAM_INT, "16", 2, 512, NULL, "hnsw: links per node (M)" },              \
    { "index_ef_construction", REC_PARAM_INT, "200", 1, 100000, NULL,                          \
      "hnsw: search width while building" },                                                   \
    { "index_ef", REC_PARAM_INT, "64", 1, 100000, NULL,                                        \
      "hnsw: search width of each recommend (at least k)" }

/* model_index.c: the serving state of a kind with vectors.  build: after
 * fit, (re)builds m->uvec and either m->ix (index=hnsw) or m->pack
 * (index=exact, for a kind without vt->recommend); nothing for a kind
 * without vectors.  put: the index's
 * tensors into w; *keep (*kb bytes) must live until w is saved.  load: the
 * saved index back (or built when the file has none); *took = 1 when the
 * index now owns r.  recommend: the top k of user u (<= nitems) through
 * m->ix, u's seen items excluded unless include_seen, and f (may be NULL;
 * query q of it) applied inside the search; *got the count.  free: drops
 * both. */
rec_status rec_model_index_build(rec_model *m, const char *fn);
/* Exact scores of nq (1..REC_IPBLOCK_MAXQ) users through m->pack:
 * out[r * ld + i] for item i of users[r], ld >= rec_ippack_padded(nitems);
 * q[nq * vdim] is scratch.  The same bits for a user in any block. */
void rec_model_pack_scores(const rec_model *m, const int32_t *users, int nq, float *q,
                           float *out, size_t ld);
rec_status rec_model_index_put(const rec_model *m, rec_lrm_writer *w, void **keep, size_t *kb);
rec_status rec_model_index_load(rec_model *m, rec_lrm_reader *r, const char *path, int *took);
rec_status rec_model_index_recommend(const rec_model *m, int32_t u, size_t k, int include_seen,
                                     const rec_filter *f, size_t q, int32_t *idx, float *val,
                                     size_t *got, const char *fn);
void rec_model_index_free(rec_model *m);
/* For rec_model_add_items: the item side of the serving state (the hnsw
 * index or the exact pack, whichever m has; neither: *ix NULL, pk zeroed)
 * built from the kind's vectors as if m had nitems items, into *ix or pk,
 * m's own left as they are.  take: those replace m's (the old ones freed);
 * nothing fails. */
rec_status rec_model_index_items(rec_model *m, int32_t nitems, rec_index **ix, rec_ippack *pk,
                                 const char *fn);
void rec_model_index_take_items(rec_model *m, rec_index *ix, rec_ippack *pk);
/* For a fit of m with a retrieval model attached (rec_model_set_candidates,
 * model_candidates.c): REC_E_STATE naming fn when it is no longer fitted,
 * REC_E_INVALID when it was fitted on other data than m's fit (another
 * fingerprint). */
rec_status rec_model_check_candidates(const rec_model *m, const char *fn);
/* The candidates fitted model r retrieves for each of m's users: its top n
 * by rec_model_recommend (fewer when the catalogue runs out; r's training
 * items excluded), best first, in m's item indices (matched by id).  CSR
 * *ptr [m->nusers + 1], *items [(*ptr)[nusers]]; free both with
 * rec_model_candidates_free. */
rec_status rec_model_candidates(const rec_model *m, const rec_model *r, size_t n,
                                const char *fn, int64_t **ptr, int32_t **items);
void rec_model_candidates_free(const rec_model *m, int64_t *ptr, int32_t *items);

/* The registry (registry.c). */
const rec_model_vt *rec_model_vt_find(const char *kind);
const rec_model_vt *rec_model_vt_at(size_t i);

#endif
