/* Call-time features of "tfidf": the item fields it read kept as a schema
 * (in the model and its file), items added to the catalogue from their text
 * and multi-hot values, and a user served from a history.
 *
 * An added item's document is tokenized as a training item's was and
 * weighted with the fitted vocabulary and idf: a term the fit did not keep
 * is ignored, and the idf is not refitted (the new documents do not count
 * in any df), so every earlier row, similarity and score stays as it was.
 * An item with the same text as a training item gets that item's row.  An
 * item no one has rated has a popularity factor of 1 (tfidf.c).  tfidf
 * reads no user fields: a user is their history alone (score_history with
 * no ratings), and a user feature set has no fields. */
#include "tfidf-impl.h"
#include "fset-impl.h"

#include <stdlib.h>
#include <string.h>

rec_status tfidf_schema_build(const rec_dataset *d, tfidf *s, const rec_field *const *fs,
                              int nf, const float *fw, const char *fn)
{
    for (int k = 0; k < nf; k++) {
        REC_TRY(rec_features_schema_add(&s->isch, d, REC_SIDE_ITEM, fs[k]->name, fn));
        s->fidx[k] = rec_features_find(s->isch, fs[k]->name);
        s->fw[k] = fw[k];
    }
    s->nf = nf;
    return rec_features_encode(s->isch, &s->iblob, &s->iblen, fn);
}

void tfidf_schema_free(tfidf *s)
{
    rec_features_unref(s->isch);
    rec_free(s->iblob, s->iblen);
    s->isch = NULL;
    s->iblob = NULL;
}

rec_status tfidf_schema_save(const tfidf *s, rec_lrm_writer *w)
{
    if (!s->isch)
        return REC_OK;
    int64_t nf = s->nf;
    REC_TRY(rec_lrm_add_blob(w, "tfidf.schema.item", s->iblob, s->iblen));
    REC_TRY(rec_lrm_add_tensor(w, "tfidf.field_index", REC_LRM_I32, 1, &nf, s->fidx));
    return rec_lrm_add_tensor(w, "tfidf.field_weights", REC_LRM_F32, 1, &nf, s->fw);
}

rec_status tfidf_schema_load(tfidf *s, const rec_lrm_reader *r)
{
    static const char fn[] = "rec_model_load(tfidf)";
    int found = 0;
    for (size_t i = 0; i < rec_lrm_blob_count(r) && !found; i++) {
        const char *name;
        const void *p;
        size_t len;
        REC_TRY(rec_lrm_blob_at(r, i, &name, &p, &len));
        found = !strcmp(name, "tfidf.schema.item");
    }
    if (!found)
        return REC_OK; /* a file from before call-time features */
    const void *p, *fi, *fw;
    int64_t sh[REC_LRM_MAX_DIMS];
    REC_TRY(rec_lrm_blob(r, "tfidf.schema.item", &p, &s->iblen));
    REC_TRY(rec_features_decode(p, s->iblen, &s->isch, fn));
    s->iblob = rec_malloc(s->iblen ? s->iblen : 1);
    if (!s->iblob)
        return rec_nomem(fn);
    memcpy(s->iblob, p, s->iblen);
    REC_TRY(rec_lrm_tensor(r, "tfidf.field_index", REC_LRM_I32, 1, sh, &fi));
    if (sh[0] < 1 || sh[0] > TFIDF_MAX_FIELDS)
        return rec_err(REC_E_FORMAT, "%s: %lld fields read, not 1 to %d", fn, (long long)sh[0],
                       TFIDF_MAX_FIELDS);
    s->nf = (int32_t)sh[0];
    REC_TRY(rec_lrm_tensor_expect(r, "tfidf.field_weights", REC_LRM_F32, 1, sh, &fw));
    memcpy(s->fidx, fi, (size_t)s->nf * sizeof *s->fidx);
    memcpy(s->fw, fw, (size_t)s->nf * sizeof *s->fw);
    for (int k = 0; k < s->nf; k++) {
        const rec_field *f = s->fidx[k] >= 0 && s->fidx[k] < s->isch->n
                                 ? s->isch->f[s->fidx[k]] : NULL;
        if (!f || (f->type != REC_FEATURE_TEXT && f->type != REC_FEATURE_MULTIHOT) ||
            !(s->fw[k] >= 0))
            return rec_err(REC_E_FORMAT, "%s: field %d read is not a text or multi-hot field "
                           "of the schema", fn, k);
    }
    return REC_OK;
}

rec_status tfidf_schema(const rec_model *m, rec_side side, rec_features **out, const char *fn)
{
    const tfidf *s = m->state;
    if (!s->isch)
        return rec_err(REC_E_UNSUPPORTED, "%s: this tfidf model was saved without its field "
                       "schema (before call-time features); fit it again", fn);
    *out = side == REC_SIDE_ITEM ? s->isch : NULL; /* no user fields */
    return REC_OK;
}

rec_status tfidf_score_features(const rec_model *m, const rec_feature_set *fs,
                                const int32_t *hist, size_t nh, float *out)
{
    (void)fs; /* tfidf reads no user fields */
    return tfidf_score_history(m, hist, NULL, nh, out);
}

/* ---- items added from their features ---------------------------------------- */

/* The tokens of the n new documents into c (item j's at [dptr[j],
 * dptr[j + 1])), as read_docs reads a training item's fields. */
static rec_status read_new(const rec_model *m, const tfidf *s, const rec_feature_set *const *fs,
                           size_t n, corpus *c, int64_t *dptr, const char *fn)
{
    int stop = strcmp(rec_model_str(m, "stop_words"), "english") == 0;
    dptr[0] = 0;
    for (size_t j = 0; j < n; j++) {
        for (int k = 0; k < s->nf; k++) {
            const rec_field *f = s->isch->f[s->fidx[k]];
            const fset_val *v;
            REC_TRY(rec_fset_value(fs[j], f, &v, fn));
            c->field = k;
            if (v && f->type == REC_FEATURE_TEXT && v->s) {
                REC_TRY(tfidf_tokenize(c, v->s, 1, stop));
            } else if (v && f->type == REC_FEATURE_MULTIHOT) {
                /* a value given twice counts twice, as a tag set twice does */
                const char *p = v->s;
                for (int32_t q = 0; p && q < v->nvals; q++, p += strlen(p) + 1)
                    REC_TRY(tfidf_tokenize(c, p, 1, stop));
            }
        }
        dptr[j + 1] = (int64_t)c->ntok;
    }
    return REC_OK;
}

/* remap[t] for each raw term t of c: its index in the fitted vocabulary,
 * or -1. */
static rec_status map_terms(const tfidf *s, const corpus *c, int32_t *remap, const char *fn)
{
    rec_idmap *voc;
    if (rec_idmap_create(&voc))
        return rec_nomem(fn);
    rec_status st = REC_OK;
    const char *name = s->vocab;
    for (int32_t t = 0; !st && t < s->nterms; t++, name += strlen(name) + 1) {
        int32_t id;
        int added;
        if (rec_idmap_intern(voc, name, strlen(name), &id, &added))
            st = rec_nomem(fn);
    }
    for (int32_t t = 0; !st && t < c->terms->n; t++) {
        const char *w = rec_idmap_name(c->terms, t);
        remap[t] = rec_idmap_find(voc, w, strlen(w));
    }
    rec_idmap_unref(voc);
    return st;
}

/* What add_items builds before anything in the model changes: the rows of
 * every item (old then new), their index and the popularity factors. */
typedef struct grown {
    tfidf t;          /* ptr, col, val, nnz, tptr, titem, tval (nterms as s's) */
    float *prior;
} grown;

static void grown_free(grown *G, int32_t nitems)
{
    rec_free(G->t.ptr, ((size_t)nitems + 1) * sizeof *G->t.ptr);
    rec_free(G->t.col, ((size_t)G->t.nnz + 1) * sizeof *G->t.col);
    rec_free(G->t.val, ((size_t)G->t.nnz + 1) * sizeof *G->t.val);
    tfidf_index_free(&G->t);
    rec_free(G->prior, ((size_t)nitems + 1) * sizeof *G->prior);
}

/* The grown rows: the old ones, then the new documents' (col/val scratch
 * of c->ntok entries, then the exact arrays). */
static rec_status grow_rows(const rec_model *m, const tfidf *s, corpus *c, const int64_t *dptr,
                            const int32_t *remap, size_t n, grown *G, const char *fn)
{
    int32_t ni = m->nitems, nn = ni + (int32_t)n;
    size_t room = c->ntok + 1;
    int32_t *col = rec_malloc(room * sizeof *col);
    float *val = rec_malloc(room * sizeof *val);
    float *acc = rec_calloc((size_t)s->nterms + 1, sizeof *acc);
    int64_t *rp = rec_malloc((n + 1) * sizeof *rp);
    rec_status st = col && val && acc && rp ? REC_OK : rec_nomem(fn);
    if (!st) {
        int sub = rec_model_bool(m, "sublinear_tf");
        rp[0] = 0;
        for (size_t j = 0; j < n; j++) {
            int64_t *key = c->tok + dptr[j];
            size_t len = (size_t)(dptr[j + 1] - dptr[j]);
            qsort(key, len, sizeof *key, tfidf_cmp_key);
            rp[j + 1] = rp[j] + tfidf_item_row(s, key, len, remap, s->fw, sub, acc,
                                               col + rp[j], val + rp[j]);
        }
        G->t.nnz = s->nnz + rp[n];
        G->t.nterms = s->nterms;
        G->t.ptr = rec_malloc(((size_t)nn + 1) * sizeof *G->t.ptr);
        G->t.col = rec_malloc(((size_t)G->t.nnz + 1) * sizeof *G->t.col);
        G->t.val = rec_malloc(((size_t)G->t.nnz + 1) * sizeof *G->t.val);
        if (!G->t.ptr || !G->t.col || !G->t.val)
            st = rec_nomem(fn);
    }
    if (!st) {
        memcpy(G->t.ptr, s->ptr, ((size_t)ni + 1) * sizeof *G->t.ptr);
        for (size_t j = 0; j < n; j++)
            G->t.ptr[ni + (int32_t)j + 1] = s->nnz + rp[j + 1];
        memcpy(G->t.col, s->col, (size_t)s->nnz * sizeof *G->t.col);
        memcpy(G->t.val, s->val, (size_t)s->nnz * sizeof *G->t.val);
        memcpy(G->t.col + s->nnz, col, (size_t)rp[n] * sizeof *col);
        memcpy(G->t.val + s->nnz, val, (size_t)rp[n] * sizeof *val);
        st = tfidf_build_index(&G->t, nn) ? rec_nomem(fn) : REC_OK;
    }
    if (!st && s->prior) {
        G->prior = rec_calloc((size_t)nn + 1, sizeof *G->prior);
        if (!G->prior)
            st = rec_nomem(fn);
        else
            memcpy(G->prior, s->prior, (size_t)ni * sizeof *G->prior);
    }
    rec_free(col, room * sizeof *col);
    rec_free(val, room * sizeof *val);
    rec_free(acc, ((size_t)s->nterms + 1) * sizeof *acc);
    rec_free(rp, (n + 1) * sizeof *rp);
    return st;
}

rec_status tfidf_add_items(rec_model *m, const rec_feature_set *const *fs, size_t n)
{
    static const char fn[] = "rec_model_add_items(tfidf)";
    tfidf *s = m->state;
    rec_features *sch;
    REC_TRY(tfidf_schema(m, REC_SIDE_ITEM, &sch, fn));
    corpus c = { .fn = fn };
    grown G;
    memset(&G, 0, sizeof G);
    int64_t *dptr = rec_malloc((n + 1) * sizeof *dptr);
    int32_t *remap = NULL;
    rec_status st = dptr ? rec_idmap_create(&c.terms) : rec_nomem(fn);
    if (st == REC_E_NOMEM && dptr)
        st = rec_nomem(fn);
    if (!st)
        st = read_new(m, s, fs, n, &c, dptr, fn);
    if (!st) {
        remap = rec_malloc(((size_t)c.terms->n + 1) * sizeof *remap);
        st = remap ? map_terms(s, &c, remap, fn) : rec_nomem(fn);
    }
    if (!st)
        st = grow_rows(m, s, &c, dptr, remap, n, &G, fn);
    int32_t ni = m->nitems, nn = ni + (int32_t)n;
    if (!st) { /* nothing fails from here: the grown rows replace the old */
        tfidf old = *s;
        s->ptr = G.t.ptr, s->col = G.t.col, s->val = G.t.val, s->nnz = G.t.nnz;
        s->tptr = G.t.tptr, s->titem = G.t.titem, s->tval = G.t.tval;
        if (s->prior)
            s->prior = G.prior;
        /* the old arrays, sized for ni items, are freed through G */
        G.t.ptr = old.ptr, G.t.col = old.col, G.t.val = old.val, G.t.nnz = old.nnz;
        G.t.tptr = old.tptr, G.t.titem = old.titem, G.t.tval = old.tval;
        G.prior = old.prior;
        nn = ni;
    }
    grown_free(&G, nn);
    if (c.terms)
        rec_free(remap, ((size_t)c.terms->n + 1) * sizeof *remap);
    rec_idmap_unref(c.terms);
    rec_free(c.tok, c.cap * sizeof *c.tok);
    rec_free(c.scratch, c.scap);
    rec_free(dptr, (n + 1) * sizeof *dptr);
    return st;
}
