/* "tfidf" between its files: tfidf.c (fit, scoring, storage) and
 * tfidf_features.c (call-time features: the fields it read kept as a
 * schema, items added from their text, a user from a history).  Internal. */
#ifndef LIBREC_TFIDF_IMPL_H
#define LIBREC_TFIDF_IMPL_H

#include "model-impl.h"
#include "tokenize-impl.h"

#define TFIDF_MAX_FIELDS 64

typedef struct tfidf {
    int32_t nterms;
    int64_t nnz;
    char *vocab;      /* nterms NUL-terminated terms, in term order (sorted) */
    size_t vocab_len;
    float *idf;       /* [nterms] */
    int64_t *ptr;     /* [nitems+1] item rows */
    int32_t *col;     /* [nnz] terms, increasing per row */
    float *val;       /* [nnz] L2-normalised weights */
    int64_t *tptr;    /* [nterms+1] inverted index: term -> items */
    int32_t *titem;   /* [nnz] */
    float *tval;      /* [nnz] */
    float *uw;        /* [nuw] profile weight per m->seen entry, NULL: none */
    int64_t nuw;
    float *prior;     /* [nitems] popularity_prior * ln(1 + training raters), from m->seen
                         at fit and at load (not stored); NULL: pure content */
    /* the fields read, for call-time items: NULL isch in a file from before
     * them.  Field k (fit order) is isch's field fidx[k], weight fw[k]. */
    rec_features *isch;
    char *iblob;      /* isch encoded, for the next save */
    size_t iblen;
    int32_t nf;
    int32_t fidx[TFIDF_MAX_FIELDS];
    float fw[TFIDF_MAX_FIELDS];
} tfidf;

/* Documents being tokenized: the terms of every token in first-seen order. */
typedef struct corpus {
    rec_idmap *terms;  /* raw vocabulary, first-seen order */
    int64_t *tok;      /* field << 32 | term of every token, documents one after the other */
    size_t ntok, cap;
    int reps;          /* times to emit the current token (multi-hot counts) */
    int64_t field;     /* index of the field being read */
    char *scratch;
    size_t scap;
    const char *fn;    /* names the caller in an out-of-memory message */
} corpus;

#define TERM_OF(key) ((int32_t)((key) & 0xFFFFFFFF))
#define FIELD_OF(key) ((int)((key) >> 32))

/* Appends text's tokens (each reps times) as field c->field's to c. */
rec_status tfidf_tokenize(corpus *c, const char *text, int reps, int stop);
/* qsort order of corpus keys. */
int tfidf_cmp_key(const void *a, const void *b);
/* One item's row into col/val from its sorted (field, term) keys, raw
 * terms mapped by remap (-1: not in the vocabulary): tf_t = sum over
 * fields of fw[f] * count(f, t), weight tf_weight(tf_t) * idf_t,
 * L2-normalised, columns increasing.  acc[nterms] is zero on entry and on
 * return.  Returns the entry count. */
int64_t tfidf_item_row(const tfidf *s, const int64_t *key, size_t n, const int32_t *remap,
                       const float *fw, int sub, float *acc, int32_t *col, float *val);
/* s->tptr/titem/tval from the rows of nitems items (freed by the caller on
 * failure, as tfidf_index_free does). */
rec_status tfidf_build_index(tfidf *s, int32_t nitems);
void tfidf_index_free(tfidf *s);
rec_status tfidf_score_history(const rec_model *m, const int32_t *items, const float *r,
                               size_t n, float *out);

/* tfidf_features.c */
rec_status tfidf_schema_build(const rec_dataset *d, tfidf *s, const rec_field *const *fs,
                              int nf, const float *fw, const char *fn);
void tfidf_schema_free(tfidf *s);
rec_status tfidf_schema_save(const tfidf *s, rec_lrm_writer *w);
rec_status tfidf_schema_load(tfidf *s, const rec_lrm_reader *r);
rec_status tfidf_schema(const rec_model *m, rec_side side, rec_features **out, const char *fn);
rec_status tfidf_score_features(const rec_model *m, const rec_feature_set *fs,
                                const int32_t *hist, size_t nh, float *out);
rec_status tfidf_add_items(rec_model *m, const rec_feature_set *const *fs, size_t n);

#endif
