/* Internal view of datasets for models, training and evaluation: raw columns,
 * per-user/per-item CSR views, id lookups, side features.  Not installed. */
#ifndef LIBREC_DATA_IMPL_H
#define LIBREC_DATA_IMPL_H

#include "core/core-impl.h"
#include "librec/data.h"

#include <stdint.h>

/* ---- id map: external id string <-> dense index ---------------------------
 * Open addressing over a string arena; reference-counted so splits, models
 * and datasets share one map.  Ids are never removed. */
typedef struct rec_idmap {
    int refs;            /* atomic */
    int32_t n, cap;      /* ids, capacity of off[]/hash[]                    */
    size_t *off;         /* [n] offset of id i in arena (NUL-terminated)      */
    uint32_t *hash;      /* [n] hash of id i                                  */
    char *arena;
    size_t alen, acap;
    int32_t *slot;       /* [mask+1] index or -1                              */
    uint32_t mask;
} rec_idmap;

rec_status rec_idmap_create(rec_idmap **out);
rec_idmap *rec_idmap_ref(rec_idmap *m);
void rec_idmap_unref(rec_idmap *m);
rec_status rec_idmap_clone(const rec_idmap *m, rec_idmap **out);
/* Index of s[0..len) or -1. */
int32_t rec_idmap_find(const rec_idmap *m, const char *s, size_t len);
/* Index of s[0..len), added if new (*added = 1).  REC_E_NOMEM/REC_E_RANGE
 * with no message set: callers report. */
rec_status rec_idmap_intern(rec_idmap *m, const char *s, size_t len, int32_t *idx, int *added);
static inline const char *rec_idmap_name(const rec_idmap *m, int32_t i)
{
    return m->arena + m->off[i];
}
uint64_t rec_hash_bytes(const void *p, size_t n, uint64_t seed);
/* All names back to back, each NUL-terminated, in index order (for model
 * files), and the map rebuilt from such a blob holding exactly n distinct
 * names (REC_E_FORMAT with a message otherwise). */
static inline const char *rec_idmap_blob(const rec_idmap *m, size_t *bytes)
{
    *bytes = m->alen;
    return m->arena ? m->arena : "";
}
rec_status rec_idmap_from_blob(rec_idmap **out, const char *blob, size_t bytes, int32_t n);

/* ---- side features ---------------------------------------------------------
 * A field is filled through "pending" (entity, value) records in arrival
 * order; rec_fields_ready() turns them into the per-entity arrays below
 * (lazily, on first read).  After that, for rows = number of entities:
 *   categorical  codes[rows] (-1 missing), vocab
 *   numeric      num[rows] raw (NAN missing); rec_field_number() normalises
 *   multi-hot    ptr[rows+1], vals[ptr[e]..ptr[e+1]) distinct codes in first
 *                order, cnt[] how often each was set (tags set twice: 2), vocab
 *   text         toff[rows+1] offsets into text (each NUL-terminated)
 *   dense        vec[rows * vdim] raw (a NAN first float: missing),
 *                vmean/vinv[vdim] column statistics; rec_field_vector()
 *                normalises.  Pending vectors live in pvec, pv their offset. */
enum { REC_NORM_NONE, REC_NORM_MINMAX, REC_NORM_ZSCORE, REC_NORM_LOG1P, REC_NORM_LOG1P_Z,
       REC_NORM_L2 };

typedef struct rec_field {
    char *name;
    rec_feature_type type;
    int norm;
    double na, nb;           /* normalised = (f(x) - na) * nb                 */
    int cross_a, cross_b;    /* >= 0 for a crossed field                      */
    int buckets;
    rec_idmap *vocab;
    /* pending records, in order */
    int32_t *pe;             /* entity                                        */
    int64_t *pv;             /* code, or offset into ptext, or double bits    */
    int64_t np, pcap;
    char *ptext;
    size_t ptlen, ptcap;
    float *pvec;             /* dense: pending vectors, vdim floats each      */
    size_t pvlen, pvcap;
    int32_t vdim;            /* dense: floats per entity (0 before the first) */
    /* ready arrays */
    int ready;
    int32_t rows;
    int32_t *codes;
    float *num;
    int64_t *ptr;
    int32_t *vals;
    int32_t *cnt;
    int64_t *toff;
    char *text;
    size_t tlen;
    float *vec;
    double *vmean, *vinv;
} rec_field;

typedef struct rec_features {
    int refs;
    int n, cap;
    rec_field **f;           /* each field its own block: pointers stay valid */
} rec_features;

rec_status rec_features_create(rec_features **out);
void rec_features_unref(rec_features *fs);
int rec_features_find(const rec_features *fs, const char *name);
/* A feature type as messages name it ("categorical", "multi-hot", ...). */
const char *rec_feature_type_name(rec_feature_type t);
rec_status rec_features_add(rec_features *fs, const char *name, rec_feature_type type,
                            int *index, const char *fn);
/* Pending records; value strings are copied. */
rec_status rec_field_put_code(rec_field *f, int32_t e, const char *v, size_t len);
rec_status rec_field_put_number(rec_field *f, int32_t e, double v);
rec_status rec_field_put_text(rec_field *f, int32_t e, const char *v, size_t len);
/* Builds the ready arrays of every field for `rows` entities. */
rec_status rec_features_ready(rec_features *fs, int32_t rows);
double rec_field_number(const rec_field *f, int32_t e);
/* A raw number x normalised as the field's values are (NAN stays NAN). */
double rec_field_norm_number(const rec_field *f, double x);
/* ---- dense vectors (features_dense.c) ---- */
/* Pending vectors v[n, dim] of entities e[n], all or none (REC_E_NOMEM);
 * REC_E_INVALID when dim is not the field's. */
rec_status rec_field_put_vectors(rec_field *f, const int32_t *e, const float *v, int64_t n,
                                 int32_t dim);
rec_status rec_field_ready_dense(rec_field *f, int32_t rows);
void rec_field_free_dense(rec_field *f);
/* Entity e's normalised vector into out[vdim] (zeros when missing); 1 when
 * e has one. */
int rec_field_vector(const rec_field *f, int32_t e, float *out);
/* A raw vector x[vdim] normalised as the field's vectors are, into out. */
void rec_field_norm_vector(const rec_field *f, const float *x, float *out);
/* The method's REC_NORM_* for a dense field, or -1. */
int rec_field_dense_norm(const char *method);

/* ---- field schemas (features_schema.c) --------------------------------------
 * A schema is a rec_features whose fields hold no rows: the names, types,
 * vocabularies (cloned), normalisations and dense column statistics a model
 * read its features with, so values given at call time are coded and
 * normalised as the training data's were. */
/* The fields names[0..n) of d's side (each must exist: REC_E_INVALID naming
 * fn otherwise); fields already in *fs (created when NULL) are skipped. */
rec_status rec_features_schema_add(rec_features **fs, const rec_dataset *d, rec_side side,
                                   const char *name, const char *fn);
/* The same for context name of d (data/context.c): a categorical field. */
rec_status rec_features_schema_add_context(rec_features **fs, const rec_dataset *d,
                                           const char *name, const char *fn);
/* The schema as one blob (*blob allocated, *len bytes) for a model file,
 * and back (REC_E_FORMAT naming fn for a blob that is not one). */
rec_status rec_features_encode(const rec_features *fs, char **blob, size_t *len,
                               const char *fn);
rec_status rec_features_decode(const void *blob, size_t len, rec_features **out,
                               const char *fn);

/* ---- the dataset ---------------------------------------------------------- */
struct rec_dataset {
    rec_idmap *users, *items;
    rec_features *ufeat, *ifeat;
    int64_t n, cap;
    int32_t *u, *i;
    float *r;                /* NULL when no ratings                          */
    int64_t *t;              /* NULL when no timestamps                       */
    int has_r, has_t;        /* -1 undecided (no row yet), 0, 1               */
    /* caches, built on first use */
    int64_t *uptr, *urow;    /* user CSR: [nu+1], row ids sorted (t, row)      */
    int32_t *uitem;
    float *urat;
    int32_t ucsr_n;
    int64_t *iptr, *irow;
    int32_t *iuser;
    float *irat;
    int32_t icsr_n;
    /* How the rows were read, for rec_dataset_summary (set by the loaders;
     * src_format NULL for a dataset built by rec_dataset_add, generated or
     * split). */
    const char *src_format;  /* static string: "csv", "movielens", ...        */
    int src_detected;        /* the format was detected, not named            */
    int src_header;          /* -1 not a delimited file, 0 none, 1 skipped    */
    int src_synth_time;      /* timestamps are file order (pairs)             */
    char *warn;              /* load warnings, each ending in '\n'; NULL: none */
    size_t warn_cap;
    /* A shard (rec_dataset_shard): row k is row grow[k] of a parent of
     * gn rows, for the first gcount rows (rows added later make it a
     * plain dataset); NULL for any other dataset. */
    int64_t *grow;
    int64_t gn, gcount;
    /* Per-interaction context fields (context.c): each a code column of
     * cap rows, like u and i; vocabularies shared with splits. */
    struct rec_ctxcol *ctx;
    int nctx;
};

/* ---- per-interaction context (context.c) --------------------------------
 * A declared field holds one code per row (-1: missing) over a vocabulary
 * of value strings; the derived fields "time:hour" (0..23) and
 * "time:weekday" (0 Monday .. 6 Sunday), UTC, are computed from the
 * timestamps and never stored. */
typedef struct rec_ctxcol {
    char *name;
    rec_idmap *vocab;        /* reference-counted, shared with splits         */
    int32_t *code;           /* [cap]                                         */
} rec_ctxcol;

enum { REC_CTX_DECLARED = 0, REC_CTX_HOUR = 1, REC_CTX_WEEKDAY = 2 };
/* REC_CTX_HOUR / REC_CTX_WEEKDAY for the derived names, else 0. */
int rec_ctx_derived(const char *name);
/* The derived code of Unix time t (seconds, UTC; before 1970 too). */
int32_t rec_ctx_time_code(int kind, int64_t t);
/* dst declares src's fields (same vocabularies), with no rows. */
rec_status rec_ds_ctx_like(rec_dataset *dst, const rec_dataset *src);
/* Columns of cap rows (cap >= d->n), rows past n set missing, all or
 * nothing (REC_E_NOMEM, no message). */
rec_status rec_ds_ctx_resize(rec_dataset *d, int64_t cap);
void rec_ds_ctx_free(rec_dataset *d);
/* Row r of src's context into row k of dst (declared alike). */
static inline void rec_ds_ctx_copy(rec_dataset *dst, int64_t k, const rec_dataset *src,
                                   int64_t r)
{
    for (int c = 0; c < dst->nctx && c < src->nctx; c++)
        dst->ctx[c].code[k] = src->ctx[c].code[r];
}
/* Checks that name is a context of d (REC_E_INVALID: not declared;
 * REC_E_STATE: derived but d has no Unix timestamps; messages name fn)
 * and gives its vocabulary, a new reference (derived: "0", "1", ... in
 * code order). */
rec_status rec_ds_context_vocab(const rec_dataset *d, const char *name, rec_idmap **vocab,
                                const char *fn);
/* Whether name is a derived context or one d declares. */
int rec_ds_context_known(const rec_dataset *d, const char *name);
/* The codes of context name (checked by rec_ds_context_vocab) of every
 * row into codes[rows]. */
void rec_ds_context_fill(const rec_dataset *d, const char *name, int32_t *codes);
/* Declares a context field (errors name fn); *index may be NULL. */
rec_status rec_ds_context_add(rec_dataset *d, const char *name, int *index, const char *fn);
/* Row r's value of declared field k from s[0..len) ("" missing). */
rec_status rec_ds_context_put(rec_dataset *d, int k, int64_t r, const char *s, size_t len,
                              const char *fn);

/* Appends one warning line (printf format, no trailing newline) to d's load
 * warnings.  REC_E_NOMEM, no message set. */
rec_status rec_ds_warn(rec_dataset *d, const char *fmt, ...) REC_PRINTF(2, 3);
/* Appends a row by indices (no id checks); grows columns. */
rec_status rec_ds_push(rec_dataset *d, int32_t u, int32_t i, float r, int64_t t);
/* A dataset with no rows sharing src's maps and features (copy of has_r/t). */
rec_status rec_ds_new_like(const rec_dataset *src, rec_dataset **out);
void rec_ds_drop_caches(rec_dataset *d);
/* Interns an external id, cloning a shared map first. */
rec_status rec_ds_intern(rec_dataset *d, rec_side side, const char *s, size_t len,
                         int32_t *idx, const char *fn);
/* Ensures features are private to d (not shared with a split); creates them. */
rec_status rec_ds_own_features(rec_dataset *d, rec_side side, rec_features **fs,
                               const char *fn);

/* ---- the API models and evaluation use ------------------------------------ */
int32_t rec_ds_num_users(const rec_dataset *d);
int32_t rec_ds_num_items(const rec_dataset *d);
int64_t rec_ds_num_rows(const rec_dataset *d);
const int32_t *rec_ds_users_col(const rec_dataset *d);
const int32_t *rec_ds_items_col(const rec_dataset *d);
const float *rec_ds_ratings_col(const rec_dataset *d);   /* NULL if no ratings   */
const int64_t *rec_ds_times_col(const rec_dataset *d);   /* NULL if no times     */

/* Per-user rows sorted by (timestamp, file order): user u's items are
 * items[indptr[u] .. indptr[u+1]), ratings likewise (NULL when the dataset
 * has none; pass NULL if not wanted).  Built on first call and cached: the
 * first call is not thread-safe (models call it during fit), later calls are.
 * indptr has num_users + 1 entries. */
rec_status rec_ds_user_csr(const rec_dataset *d, const int64_t **indptr, const int32_t **items,
                           const float **ratings);
/* Per item: users, in the same (timestamp, file order). */
rec_status rec_ds_item_csr(const rec_dataset *d, const int64_t **indptr, const int32_t **users,
                           const float **ratings);
/* Row ids behind the CSR entries (same layout), e.g. to look up timestamps. */
rec_status rec_ds_user_csr_rows(const rec_dataset *d, const int64_t **rows);

const char *rec_ds_user_name(const rec_dataset *d, int32_t u);   /* NULL if out of range */
const char *rec_ds_item_name(const rec_dataset *d, int32_t i);
rec_status rec_ds_user_find(const rec_dataset *d, const char *ext, int32_t *u);
rec_status rec_ds_item_find(const rec_dataset *d, const char *ext, int32_t *i);
rec_idmap *rec_ds_user_map(const rec_dataset *d);   /* borrowed; rec_idmap_ref to keep */
rec_idmap *rec_ds_item_map(const rec_dataset *d);

/* Side features (build the index on first use; NULL / "" when absent). */
const rec_field *rec_ds_field(const rec_dataset *d, rec_side side, const char *name);
const rec_field *rec_ds_field_at(const rec_dataset *d, rec_side side, int k);
int rec_ds_num_fields(const rec_dataset *d, rec_side side);
const char *rec_ds_item_text(const rec_dataset *d, int32_t i, const char *field);
/* Distinct codes of a multi-hot field for item i (n = 0 when none). */
const int32_t *rec_ds_item_multihot(const rec_dataset *d, int32_t i, const char *field,
                                    int32_t *n);
/* Vocabulary size of a categorical / multi-hot field (0 when absent). */
int32_t rec_ds_field_vocab_size(const rec_field *f);

uint64_t rec_ds_fingerprint(const rec_dataset *d);
/* A shard's global row of each row ([rec_ds_num_rows], ascending) and its
 * parent's row count in *n_global; NULL (and *n_global = rows) otherwise. */
const int64_t *rec_ds_global_rows(const rec_dataset *d, int64_t *n_global);
/* Collective over c (every rank calls it, each with its shard of the same
 * dataset): that dataset on every rank, its rows in its order (so a fit of
 * it is the fit of the parent), gathered through c with one allgatherv of
 * 32 bytes a row.  Every rank returns the same status: REC_E_INVALID when
 * the shards do not partition the parent's rows. */
rec_status rec_ds_unshard(rec_comm *c, const rec_dataset *shard, rec_dataset **whole);

/* ---- text reading (loaders) ------------------------------------------------ */
typedef struct rec_text {
    const char *fn, *path;
    char *buf;               /* whole file, NUL-terminated, UTF-8             */
    size_t len, cap, pos;
    long line;               /* line of the next record (1-based)             */
} rec_text;

typedef struct rec_tok {
    char *s;                 /* NUL-terminated in the buffer                  */
    size_t len;
    size_t col;              /* 1-based byte column in its line               */
    int quoted;
} rec_tok;

/* Reads path whole (REC_E_IO naming it); Latin-1 converted to UTF-8. */
rec_status rec_text_open(rec_text *t, const char *path, const char *fn);
void rec_text_close(rec_text *t);
/* Next record split on delim ("," "\t" "::" or NULL for runs of blanks);
 * quote: honour CSV quotes.  Blank lines are skipped.  Returns 1 with
 * *nf fields, 0 at end of file, or a negative status (unterminated quote,
 * more than maxf fields) with the message set.  *line gets the record's line. */
int rec_text_record(rec_text *t, const char *delim, int quote, rec_tok *f, int maxf, int *nf,
                    long *line);
rec_status rec_text_error(const rec_text *t, long line, size_t col, const char *fmt, ...)
    REC_PRINTF(4, 5);
/* Strict parsers of a whole token (surrounding blanks allowed).  Doubles
 * are decimal and finite (no hex, inf or nan); a time is an integer or an
 * ISO-8601 date or date-time (seconds since 1970-01-01T00:00:00Z). */
int rec_parse_double(const char *s, double *v);
int rec_parse_i64(const char *s, int64_t *v);
int rec_parse_time(const char *s, int64_t *v);

#endif
