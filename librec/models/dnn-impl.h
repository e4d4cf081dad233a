/* The "dnn" kind, shared by dnn.c (the model interface), dnn_features.c
 * (which fields feed the network, their values copied out of the dataset)
 * and dnn_net.c (parameters and the forward pass).
 *
 * The network for a (user, item) pair:
 *   fields   every user and item feature becomes a [d] vector: an ID or a
 *            categorical value looks up its row (so does a per-interaction
 *            context of the user side, data/context.c: the value of the row
 *            itself, at call time the feature set's, missing the all-zero
 *            row); a multi-hot set is the mean
 *            of its rows (an embedding bag); a numeric value x (normalised)
 *            scales the field's own vector, x * v_f; a dense vector x [k]
 *            (precomputed embedding) is projected, x W_f with W_f [k, d]
 *   deep     MLP(concat of the F field vectors [F*d]) -> [1]
 *   linear   (wide or fm) a learned weight per ID / category / multi-hot
 *            value (mean over the set), w_f * x for numerics, and (wide only)
 *            one weight per crossed value: user field value x item field
 *            value (Wide & Deep), plus the dataset's declared crosses
 *   fm       (fm) 0.5 * sum_d[(sum_f e_f)^2 - sum_f e_f^2], the pairwise
 *            dot products of the F field vectors (DeepFM)
 *   history  (history = mean) one more deep field: the mean of an item
 *            table's rows over the user's training items (YouTube DNN,
 *            Covington et al. 2016), the example's own item left out in
 *            training; at call time the history given
 *   logit    deep + linear + fm;  score = sigmoid(logit) (times the largest
 *            training rating for target "rating")
 */
#ifndef LIBREC_DNN_IMPL_H
#define LIBREC_DNN_IMPL_H

#include "model-impl.h"
#include "core/ops.h"
#include "nn/nn-impl.h"
#include "train/train-impl.h"

/* REC_DNN_VEC: a dense field, x [dim] times its table [dim, d] (card = dim).
 * REC_DNN_CTX: a per-interaction context (user side only), categorical with
 * the value of the row rather than of the entity (no per-entity codes). */
enum { REC_DNN_ID = 0, REC_DNN_CAT = 1, REC_DNN_MH = 2, REC_DNN_NUM = 3, REC_DNN_VEC = 4,
       REC_DNN_CTX = 5 };
enum { REC_DNN_IMPLICIT = 0, REC_DNN_THRESHOLD = 1, REC_DNN_RATING = 2 };

/* One feature of one side, with its values per entity (copied at fit, so the
 * model outlives the dataset). */
typedef struct rec_dnn_slot {
    int type;          /* REC_DNN_* */
    int deep;          /* feeds the deep part and the FM term; 0: wide only */
    int32_t card;      /* table rows: entities (id), vocabulary (cat, mh), 1 (num) */
    int field;         /* the dataset's field index during fit (-1: id) */
    int ctx;           /* ctx: its column in the rows' context codes and its
                          field in the user schema (usch->f[ctx]) */
    int32_t *codes;    /* cat [rows], -1 missing */
    int64_t *ptr;      /* mh [rows + 1] */
    int32_t *vals;     /* mh [ptr[rows]] */
    float *num;        /* num [rows], normalised, 0 when missing; vec [rows, card] */
    float mu, inv;     /* num: value = (x - mu) * inv, x as the dataset normalised it */
    int sf;            /* its field in the side's call-time schema (usch, isch); -1 none */
    rec_tensor *emb;   /* [card, d] (num: [1, d]); NULL unless deep */
    rec_tensor *lin;   /* [card, 1] (num: [1, 1]); NULL without a linear part */
} rec_dnn_slot;

typedef struct rec_dnn_side {
    rec_dnn_slot *s;
    int n, cap;
    int32_t rows;      /* users or items */
} rec_dnn_side;

/* A user field x item field cross of the wide part. */
typedef struct rec_dnn_cross {
    int us, is;        /* slots of side 0 (users) and side 1 (items) */
    int64_t buckets;   /* card_u * card_i when that fits, else hashed into this many */
    rec_tensor *w;     /* [buckets, 1] */
} rec_dnn_cross;

typedef struct rec_dnn {
    rec_pstore *ps;
    rec_dnn_side side[2];  /* REC_SIDE_USER, REC_SIDE_ITEM */
    rec_dnn_cross *cross;
    int ncross, cross_cap;
    rec_nn_mlp mlp;
    int dim, wide, fm, target, nhidden;
    int64_t hidden[REC_NN_MLP_MAX];
    float rmax;            /* target "rating": the largest training rating */
    int32_t *lay[2];       /* [side.n, 3] (type, deep, card): the file's layout */
    int64_t *xlay;         /* [ncross, 3] (user slot, item slot, buckets) */
    int nctx;              /* context slots of the user side */
    rec_features *usch;    /* their fields (categorical, the training vocabularies):
                              the schema of a call-time user feature set; NULL
                              without contexts */
    char *ublob;           /* usch encoded for the model file */
    size_t ublen;
    /* call-time features: usch holds the contexts (fields 0..nctx-1) and
     * then the user fields slots read (slot.sf); isch the item fields.
     * has_fields 0: a file from before them (contexts only, no isch). */
    rec_features *isch;
    char *iblob;
    size_t iblen;
    int has_fields;
    int32_t *sfl[2];       /* [side.n] each slot's sf: the file's copy */
    float *stats[2];       /* [side.n, 2] each slot's (mu, inv): the file's copy */
    int history;           /* REC_DNN_HIST_* */
    int32_t hrows;         /* rows of the history table: the trained items */
    rec_nn_embedding_bag hbag; /* [hrows, d], mean */
} rec_dnn;

enum { REC_DNN_HIST_NONE = 0, REC_DNN_HIST_MEAN = 1 };

/* A user described at call time (no training row: user index -1): per
 * user slot its code (cat), codes (mh), value (num: 1, vec: card floats);
 * -1, none or NULL: missing, as an unset field. */
typedef struct rec_dnn_user {
    int32_t *code;         /* [side.n] */
    int32_t **bag;         /* [side.n] */
    int32_t *nbag;         /* [side.n] */
    float **num;           /* [side.n] */
    int n;
} rec_dnn_user;

/* What one forward pass scores: pairs (users[k], items[k]), I32 [n] each;
 * a user -1 is anon (NULL: every field missing). */
typedef struct rec_dnn_in {
    rec_tensor *users, *items;
    const int32_t *ctx;         /* [n, nctx] pair k's context codes; NULL: missing */
    rec_tensor *hist;           /* [n, d] history vectors (history = mean), else NULL */
    const rec_dnn_user *anon;
} rec_dnn_in;

/* ---- dnn_features.c ---- */
/* Which fields feed the network (params user_features, item_features,
 * crosses, normalize) and their values, from train.  Messages name fn. */
rec_status rec_dnn_resolve(const rec_model *m, const rec_dataset *train, rec_dnn *s,
                           const char *fn);
/* The layout and values into / out of a model file. */
rec_status rec_dnn_features_save(const rec_dnn *s, rec_lrm_writer *w);
rec_status rec_dnn_features_load(rec_dnn *s, const rec_lrm_reader *r, int32_t nusers,
                                 int32_t nitems);
void rec_dnn_features_free(rec_dnn *s);
/* Fills lay and xlay from the slots (after resolve or load). */
rec_status rec_dnn_layout(rec_dnn *s, const char *fn);
/* The context codes of every row of d into codes[rows, nctx] (allocated;
 * NULL without contexts). */
rec_status rec_dnn_row_contexts(const rec_dnn *s, const rec_dataset *d, int32_t **codes,
                                const char *fn);
void rec_dnn_row_contexts_free(const rec_dnn *s, const rec_dataset *d, int32_t *codes);
/* vt->schema: the user side's context fields; fs's context codes into
 * codes[nctx] (fs NULL or a field unset: -1). */
rec_status rec_dnn_schema(const rec_model *m, rec_side side, rec_features **out,
                          const char *fn);
rec_status rec_dnn_context_codes(const rec_dnn *s, const rec_feature_set *fs, int32_t *codes,
                                 const char *fn);

/* A number x as the dataset normalised it, standardised as the slot's
 * training values were. */
float rec_dnn_num(const rec_dnn_slot *sl, float x);

/* ---- dnn_calltime.c ---- */
/* vt->schema of the item side; a feature set's values coded for the user
 * slots (rec_dnn_user_free after) or for n new items' slots, which
 * rec_dnn_grow_items appends to the item side (all or nothing). */
rec_status rec_dnn_user_make(const rec_dnn *s, const rec_feature_set *fs, rec_dnn_user *u,
                             const char *fn);
void rec_dnn_user_free(const rec_dnn *s, rec_dnn_user *u);
rec_status rec_dnn_grow_items(rec_dnn *s, const rec_feature_set *const *fs, size_t n,
                              const char *fn);

/* ---- dnn_net.c ---- */
/* Adds every parameter to s->ps (names derive from the layout only, so a
 * loaded model rebuilds the same store); rng NULL leaves them at zero. */
rec_status rec_dnn_build(rec_dnn *s, float dropout, float init_std, rec_rng *rng);
/* Logits [n] of the pairs of in. */
rec_tensor *rec_dnn_forward(rec_graph *g, const rec_dnn *s, const rec_dnn_in *in);
/* The history vectors of nb bags, bag b the items hist[b][0..hlen[b]) but
 * skip[b] (skip NULL or -1: none): -> [nb, d].  Items the table has no row
 * for (added after the fit) are left out, as the mean's padding. */
rec_tensor *rec_dnn_history(rec_graph *g, const rec_dnn *s, const int32_t *const *hist,
                            const int64_t *hlen, const int32_t *skip, int64_t nb);
/* FM second-order term of nf field vectors, each [n, d]: -> [n],
 * 0.5 * sum_d[(sum_f e_f)^2 - sum_f e_f^2] = sum_{f<g} <e_f, e_g>. */
rec_tensor *rec_dnn_fm(rec_graph *g, int nf, rec_tensor *const *e);

/* ---- dnn_candidates.c ---- */
/* negatives_from = candidates: a "hard" sampler over the lists of the
 * attached retrieval model (m->cand_model), candidate_share of the draws
 * from them, none of d's training items.  Errors name fn. */
rec_status rec_dnn_candidate_sampler(const rec_model *m, const rec_dataset *d, rec_sampler **out,
                                     const char *fn);

#endif
