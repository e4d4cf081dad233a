/* Internals of the "twotower" kind shared by its files: the feature spec
 * of each tower, the towers' forward passes, and the model state. */
#ifndef LIBREC_TWOTOWER_IMPL_H
#define LIBREC_TWOTOWER_IMPL_H

#include "model-impl.h"
#include "nn/nn-impl.h"
#include "librec/retrieval.h"

#define TT_MAX_FEAT 16
#define TT_NAME_MAX 64

/* What one token of user_features / item_features stands for. */
enum {
    TT_ID = 1,    /* the entity's own id: Embedding (untrained or unknown: zero row) */
    TT_CAT,       /* categorical field of the tower's side: Embedding             */
    TT_NUM,       /* numeric field of the tower's side: one input column          */
    TT_BAG,       /* multi-hot field of the tower's side: EmbeddingBag, mean      */
    TT_HFIELD,    /* user "<item field>_hist": weighted mean over the multiset of
                     the item field's codes of the user's training items        */
    TT_HBAG,      /* user "hist_bag": mean of an item table over the history      */
    TT_HGRU,      /* user "hist_gru": GRU over the last hist_len history items    */
    TT_VEC,       /* dense field of the tower's side: vocab (= its dim) columns    */
    TT_CTX,       /* user: a per-interaction context (data/context.c): Embedding
                     of the row's value, at call time the feature set's        */
    TT_TEXT,      /* text field of the tower's side: hashed tokens (vocab buckets)
                     through the text encoder (twotower_text.c)                  */
    TT_HATTN,     /* user "hist_attn": one attention pooling of the last hist_len
                     items per interest (nn/attn_pool.c); kinds from here on
                     read the history                                           */
    TT_HHIER      /* user "hist_hier": GRU over segments of the last hist_len
                     items, then a GRU over the segments' final states          */
};

/* text_encoder: how a text field's token embeddings become one vector. */
enum { TT_ENC_MEAN, TT_ENC_CONV, TT_ENC_TRANSFORMER };
#define TT_TEXT_MAX_LAYERS 4

typedef struct tt_feat {
    int kind;
    char name[TT_NAME_MAX];
    int32_t vocab;        /* rows of its table                                  */
    int64_t nent;         /* entities its per-entity arrays cover               */
    int32_t *code;        /* CAT [nent], -1 missing                             */
    float *num;           /* NUM [nent], VEC [nent, vocab] normalised; 0 missing */
    int64_t *ptr;         /* BAG: entity codes; HFIELD: item codes; TEXT: token
                             buckets in text order, at most tlen [nent+1]        */
    int32_t *val;         /* [ptr[nent]]                                        */
    int64_t *uptr;        /* HFIELD: per user distinct codes [nusers+1]         */
    int32_t *uval;
    float *uw;            /* weights c_ug / sum_g c_ug                          */
    int64_t nuser, reserved; /* HFIELD: users, entries allocated in uval/uw */
    rec_nn_embedding emb;
    rec_nn_embedding_bag bag;
    rec_nn_gru gru;
    rec_nn_gru top;       /* HHIER: the GRU over the segment vectors            */
    rec_nn_attn_pool pool;
    /* TEXT: emb is the token table (one more row for transformer: its
     * [CLS]), then the encoder's layers */
    int enc, tlen, layers;
    int32_t *known;       /* TEXT, text HFIELD: [vocab] 1 = bucket kept; NULL: all */
    rec_nn_conv1d conv;
    rec_nn_position pos;
    rec_nn_transformer blk[TT_TEXT_MAX_LAYERS];
    rec_nn_layernorm ln;
    int width;            /* columns it adds to the tower input                 */
} tt_feat;

typedef struct tt_tower {
    tt_feat f[TT_MAX_FEAT];
    int nf;
    int in_dim;
    rec_nn_mlp mlp;       /* the body, unless experts                          */
    int experts;          /* user tower, user_tower=moe: K; 0: the MLP         */
    rec_nn_moe moe;
    int gated;            /* user tower, feature_gate: gates before the body   */
    rec_nn_feature_gate fgate;
    int interests;        /* user tower: rows per user (1, or the heads of
                             hist_attn)                                        */
} tt_tower;

/* One entity described at call time (twotower_features.c): per feature k
 * of a tower, what its per-entity arrays would hold for it. */
typedef struct tt_row {
    int32_t code[TT_MAX_FEAT];   /* TT_CAT: code, -1 missing or unknown          */
    float *num[TT_MAX_FEAT];     /* TT_NUM [1], TT_VEC [vocab] normalised; NULL:
                                    missing (zeros)                              */
    int32_t *bag[TT_MAX_FEAT];   /* TT_BAG: nbag distinct known codes; TT_TEXT:
                                    nbag token buckets                           */
    int32_t nbag[TT_MAX_FEAT];
} tt_row;

/* One user-tower query: user index (-1: anonymous) and a time-ordered
 * history; hist_bag and hist_gru read the history, the _hist fields read
 * the user's precomputed training multiset (or the history when anonymous).
 * row (NULL: none) replaces the user's own feature values. */
typedef struct tt_uq {
    int32_t u;
    const int32_t *hist;
    int64_t hlen;
    const tt_row *row;
    const int32_t *ctx;  /* [nf] TT_CTX feature k's code at ctx[k] (NULL: all
                            missing); a row's codes take precedence */
} tt_uq;

typedef struct twotower {
    rec_pstore *ps;
    tt_tower ut, it;
    int dim, out_dim, hist_len, segment;
    int interests;        /* K: user vectors per user, rows u*K .. u*K+K-1 of uvec */
    int32_t *trained;     /* [nitems] 1 when the item had training interactions */
    int64_t *hptr;        /* [nusers+1] each user's training items, time order  */
    int32_t *hitems;
    float *uvec, *ivec;   /* [nusers * K, out_dim], [nitems, out_dim], unit rows */
    rec_index *ix;        /* ivec, for retrieval and hard negatives             */
    void *names;          /* saved tensor names (twotower.c)                    */
    /* The fields the towers read, for call-time features; the blobs their
     * model file sections.  has_schema 0: loaded from a file without them. */
    rec_features *usch, *isch;
    char *ublob, *iblob;
    size_t ublen, iblen;
    int has_schema;
} twotower;

/* Parses the spec strings against the dataset's fields (d non-NULL at fit)
 * or the saved vocab sizes (d NULL at load: kinds and vocabs come from
 * kinds/vocabs).  Fills kinds and names only; data and params come later. */
rec_status tt_parse(tt_tower *t, const char *spec, rec_side side, const rec_dataset *d,
                    const char *fn);
/* Copies the per-entity feature data the tower needs from d. */
rec_status tt_take_data(rec_model *m, tt_tower *t, rec_side side, const rec_dataset *d);
/* The standardisation (x - na) * nb the tower applies to numeric field fd
 * over its first nent entities (0 and 1: none). */
void tt_num_stats(const rec_model *m, const rec_field *fd, int64_t nent, double *na,
                  double *nb);
/* Per-user weighted codes of every HFIELD feature from the histories. */
rec_status tt_user_multisets(rec_model *m, tt_tower *t);
/* Adds the tower's params under prefix and initialises them. */
rec_status tt_build(rec_model *m, tt_tower *t, const char *prefix, const int64_t *sizes,
                    int nsizes, rec_rng *rng);
void tt_tower_free(tt_tower *t);
/* Frees one feature's per-entity arrays. */
void tt_feat_free(tt_feat *f);

/* ---- text fields (twotower_text.c) ---- */
/* The token buckets of text s (at most max, in order; known non-NULL:
 * only buckets with known[b]) into out (NULL: count only); *n their
 * count.  fn names the caller in messages. */
rec_status tt_text_codes(const char *s, int32_t buckets, int32_t max, const int32_t *known,
                         int32_t *out, int32_t *n, const char *fn);
/* ptr/val of text field fd over nent entities (vocab, tlen set); with
 * min_items > 1 also known, the buckets of at least min_items entities
 * with trained[e] (NULL: all), and only those tokens kept. */
rec_status tt_text_take(tt_feat *f, const rec_field *fd, int64_t nent, const int32_t *trained,
                        int64_t min_items);
/* The encoder's params under name (f->vocab buckets, width dim). */
rec_status tt_text_build(rec_model *m, tt_feat *f, const char *name, int dim, rec_rng *rng);
/* Checks the text params against dim; fn names the caller. */
rec_status tt_text_check(const rec_model *m, int dim, const char *fn);
/* [n, dim]: the encoder over the tokens of each entity (tt_codes_of). */
rec_tensor *tt_text_forward(rec_graph *g, tt_feat *f, const int32_t *ent, int64_t n,
                            int64_t stride, const tt_uq *q, int k);
/* The codes of entity b (ent read with stride, or query b's call-time row
 * when q has one) for BAG and TEXT features: *codes and the count. */
int64_t tt_codes_of(const tt_feat *f, const int32_t *ent, int64_t stride, const tt_uq *q,
                    int k, int64_t b, const int32_t **codes);
/* Bags of those codes through eb -> [n, dim]. */
rec_tensor *tt_bags_forward(rec_graph *g, const tt_feat *f, rec_nn_embedding_bag *eb,
                            const int32_t *ent, int64_t n, int64_t stride, const tt_uq *q, int k);

/* ---- call-time features (twotower_features.c) ---- */
/* The schemas of the fields the towers read from d, and their blobs. */
rec_status tt_schema_build(rec_model *m, const rec_dataset *d);
/* The schemas back from their file sections (absent: has_schema 0). */
rec_status tt_schema_load(rec_model *m, const rec_lrm_reader *r);
rec_status tt_schema_save(const rec_model *m, rec_lrm_writer *w);
void tt_schema_free(twotower *s);
rec_status tt_vt_schema(const rec_model *m, rec_side side, rec_features **out,
                        const char *fn);
rec_status tt_score_features(const rec_model *m, const rec_feature_set *fs,
                             const int32_t *hist, size_t nh, float *out);
/* Known user u in the context fields fs sets (may be NULL: all missing). */
rec_status tt_score_context(const rec_model *m, int32_t u, const rec_feature_set *fs,
                            float *out);
rec_status tt_add_items(rec_model *m, const rec_feature_set *const *fs, size_t n);
/* The index over the first n item vectors (twotower.c). */
rec_status tt_build_index(const twotower *s, int64_t n, rec_index **out);

/* interests > 1 needs hist_attn in the user tower and the kind's own
 * index (index=exact): REC_E_INVALID / REC_E_UNSUPPORTED naming fn. */
rec_status tt_check_interests(const rec_model *m, const tt_tower *ut, const char *fn);
/* Score of every item for one user's K vectors u [K, out_dim]: the best
 * over the interests, out[nitems] (the first nitems item vectors). */
rec_status tt_max_scores(const twotower *s, int64_t nitems, const float *u, float *out);

/* Forward passes -> [n, out_dim] unit rows (NULL + sticky graph error);
 * the user tower with K interests gives [n * K, out_dim], query b's
 * interests in rows b*K .. b*K+K-1.
 * balance (may be NULL) receives the experts' balance term [1] of the
 * batch (rec_nn_moe_balance), NULL without experts. */
rec_tensor *tt_user_forward(rec_graph *g, const rec_model *m, const tt_uq *q, int64_t n,
                            rec_tensor **balance);
/* drop (NULL: none) [n]: nonzero gives item b the zero id row of a cold
 * item (id_dropout during training). */
rec_tensor *tt_item_forward(rec_graph *g, const rec_model *m, const int32_t *items, int64_t n,
                            const uint8_t *drop);

/* U [n * K, d] -> [n, d]: for each row b the interest that scores its
 * positive V[b] best (the first on ties); the gradient reaches that row of
 * U only.  The in-batch and sampled negatives are then scored against that
 * same interest (MIND's label-aware attention at its hard limit: the
 * positive picks the vector, the loss trains that one). */
rec_tensor *tt_best_interest(rec_graph *g, rec_tensor *U, rec_tensor *V, int K);

/* In-batch InfoNCE, fused (twotower_loss.c): U, V [B, d] -> [1], mean over
 * b of -log softmax(U V^T / t - logq)[b, b]; logq [B] or NULL. */
rec_tensor *tt_infonce(rec_graph *g, rec_tensor *u, rec_tensor *v, float temperature,
                       const float *logq);
/* Tests: nonzero runs the 4-lane kernel even where AVX2 is available. */
void tt_infonce_force_sse(int on);

#endif
