/* Call-time features of gcn and graphsage (gnn-impl.h): the nodes' codes
 * at fit, the fields the inputs coded kept as schemas with the feature
 * table (gat's item inputs share these), a user described by features and
 * a history, and items added as nodes without edges. */
#include "gnn-impl.h"
#include "fset-impl.h"

#include <stdio.h>
#include <string.h>

static int coded(const rec_field *f)
{
    return f->type == REC_FEATURE_CATEGORICAL || f->type == REC_FEATURE_MULTIHOT;
}

/* The codes a field spans: its vocabulary's size, as take_features counted. */
static int32_t span(const rec_field *f)
{
    return f->vocab ? f->vocab->n : 0;
}

static int32_t schema_vocab(const rec_features *sch)
{
    int32_t v = 0;
    for (int k = 0; sch && k < sch->n; k++)
        v += span(sch->f[k]);
    return v;
}

/* ---- the nodes' codes at fit ----------------------------------------------- */

void rec_gnn_codes_free(rec_gnn_codes *f)
{
    rec_free(f->ptr, (size_t)(f->nodes + 1) * sizeof *f->ptr);
    rec_free(f->val, (size_t)(f->nval ? f->nval : 1) * sizeof *f->val);
}

/* Appends entity e's codes of every field of side (offset by the fields
 * before) at val + w (val NULL: counts only); returns the new w. */
static int64_t node_codes(const rec_dataset *d, rec_side side, int32_t e, int32_t base,
                          int32_t *val, int64_t w)
{
    for (int k = 0; k < rec_ds_num_fields(d, side); k++) {
        const rec_field *fd = rec_ds_field_at(d, side, k);
        if (fd->type == REC_FEATURE_CATEGORICAL && e < fd->rows && fd->codes[e] >= 0) {
            if (val)
                val[w] = base + fd->codes[e];
            w++;
        } else if (fd->type == REC_FEATURE_MULTIHOT && e < fd->rows) {
            for (int64_t j = fd->ptr[e]; j < fd->ptr[e + 1]; j++, w++)
                if (val)
                    val[w] = base + fd->vals[j];
        }
        if (coded(fd))
            base += rec_ds_field_vocab_size(fd);
    }
    return w;
}

static int32_t side_vocab(const rec_dataset *d, rec_side side)
{
    int32_t v = 0;
    for (int k = 0; k < rec_ds_num_fields(d, side); k++) {
        const rec_field *fd = rec_ds_field_at(d, side, k);
        if (coded(fd))
            v += rec_ds_field_vocab_size(fd);
    }
    return v;
}

rec_status rec_gnn_codes_take(const rec_model *m, const rec_dataset *d, int users,
                              rec_gnn_codes *f, const char *fn)
{
    int32_t uv = users ? side_vocab(d, REC_SIDE_USER) : 0;
    f->nodes = (int64_t)m->nusers + m->nitems;
    f->vocab = uv + side_vocab(d, REC_SIDE_ITEM);
    f->ptr = rec_malloc((size_t)(f->nodes + 1) * sizeof *f->ptr);
    if (!f->ptr)
        return rec_nomem(fn);
    for (int pass = 0; pass < 2; pass++) {
        int64_t w = 0;
        for (int64_t v = 0; v < f->nodes; v++) {
            f->ptr[v] = w;
            if (v < m->nusers)
                w = users ? node_codes(d, REC_SIDE_USER, (int32_t)v, 0, f->val, w) : w;
            else
                w = node_codes(d, REC_SIDE_ITEM, (int32_t)(v - m->nusers), uv, f->val, w);
        }
        f->ptr[f->nodes] = w;
        if (pass == 0) {
            f->nval = w;
            f->val = rec_malloc((size_t)(w ? w : 1) * sizeof *f->val);
            if (!f->val)
                return rec_nomem(fn);
        }
    }
    return REC_OK;
}

/* ---- the fields kept with the table ------------------------------------------ */

rec_status rec_gnn_fields_build(rec_gnn_fields *fx, const rec_dataset *d, int users, int dim,
                                const float *feat, int32_t fvocab, const char *fn)
{
    rec_gnn_fields_free(fx);
    fx->has_schema = 1;
    fx->dim = dim;
    if (!feat || fvocab == 0)
        return REC_OK; /* features=false, or no field to read: a set has no fields */
    for (int side = !users; side < 2; side++) {
        rec_side sd = side ? REC_SIDE_ITEM : REC_SIDE_USER;
        rec_features **sch = side ? &fx->isch : &fx->usch;
        for (int k = 0; k < rec_ds_num_fields(d, sd); k++) {
            const rec_field *f = rec_ds_field_at(d, sd, k);
            if (coded(f))
                REC_TRY(rec_features_schema_add(sch, d, sd, f->name, fn));
        }
        if (*sch)
            REC_TRY(rec_features_encode(*sch, side ? &fx->iblob : &fx->ublob,
                                        side ? &fx->iblen : &fx->ublen, fn));
    }
    if (schema_vocab(fx->usch) + schema_vocab(fx->isch) != fvocab)
        return rec_err(REC_E_INVALID, "%s: the fields code %d values, the table has %d", fn,
                       (int)(schema_vocab(fx->usch) + schema_vocab(fx->isch)), (int)fvocab);
    size_t bytes = (size_t)fvocab * (size_t)dim * sizeof *fx->feat;
    fx->feat = rec_malloc(bytes);
    if (!fx->feat)
        return rec_nomem(fn);
    memcpy(fx->feat, feat, bytes);
    fx->fvocab = fvocab;
    return REC_OK;
}

void rec_gnn_fields_free(rec_gnn_fields *fx)
{
    rec_features_unref(fx->usch);
    rec_features_unref(fx->isch);
    rec_free(fx->ublob, fx->ublen);
    rec_free(fx->iblob, fx->iblen);
    rec_free(fx->feat, (size_t)fx->fvocab * (size_t)fx->dim * sizeof *fx->feat);
    *fx = (rec_gnn_fields){ 0 };
}

rec_status rec_gnn_fields_save(const rec_gnn_fields *fx, rec_lrm_writer *w, const char *prefix)
{
    if (!fx->has_schema)
        return REC_OK;
    static const int64_t one = 1;
    char name[64];
    snprintf(name, sizeof name, "%s.features.vocab", prefix);
    REC_TRY(rec_lrm_add_tensor(w, name, REC_LRM_I32, 1, &one, &fx->fvocab));
    if (!fx->feat)
        return REC_OK;
    int64_t shape[2] = { fx->fvocab, fx->dim };
    snprintf(name, sizeof name, "%s.features", prefix);
    REC_TRY(rec_lrm_add_tensor(w, name, REC_LRM_F32, 2, shape, fx->feat));
    snprintf(name, sizeof name, "%s.schema.user", prefix);
    if (fx->usch)
        REC_TRY(rec_lrm_add_blob(w, name, fx->ublob, fx->ublen));
    snprintf(name, sizeof name, "%s.schema.item", prefix);
    if (fx->isch)
        REC_TRY(rec_lrm_add_blob(w, name, fx->iblob, fx->iblen));
    return REC_OK;
}

/* Blob name (when the file has it) into *sch, with a copy for the next save. */
static rec_status load_blob(const rec_lrm_reader *r, const char *name, rec_features **sch,
                            char **copy, size_t *len, const char *fn)
{
    for (size_t i = 0; i < rec_lrm_blob_count(r); i++) {
        const char *bn;
        const void *p;
        REC_TRY(rec_lrm_blob_at(r, i, &bn, &p, len));
        if (strcmp(bn, name))
            continue;
        REC_TRY(rec_features_decode(p, *len, sch, fn));
        for (int k = 0; k < (*sch)->n; k++)
            if (!coded((*sch)->f[k]))
                return rec_err(REC_E_FORMAT, "%s: %s: field '%s' is neither categorical nor "
                               "multi-hot", fn, name, (*sch)->f[k]->name);
        *copy = rec_malloc(*len ? *len : 1);
        if (!*copy)
            return rec_nomem(fn);
        memcpy(*copy, p, *len);
        return REC_OK;
    }
    *len = 0;
    return REC_OK;
}

rec_status rec_gnn_fields_load(rec_gnn_fields *fx, const rec_lrm_reader *r, const char *prefix,
                               int dim, const char *fn)
{
    char name[64];
    snprintf(name, sizeof name, "%s.features.vocab", prefix);
    fx->dim = dim;
    if (!rec_lrm_has_tensor(r, name))
        return REC_OK; /* a file from before call-time features */
    const void *p;
    int64_t one = 1;
    REC_TRY(rec_lrm_tensor_expect(r, name, REC_LRM_I32, 1, &one, &p));
    int32_t fv;
    memcpy(&fv, p, sizeof fv);
    fx->has_schema = 1;
    if (fv == 0)
        return REC_OK;
    snprintf(name, sizeof name, "%s.schema.user", prefix);
    REC_TRY(load_blob(r, name, &fx->usch, &fx->ublob, &fx->ublen, fn));
    snprintf(name, sizeof name, "%s.schema.item", prefix);
    REC_TRY(load_blob(r, name, &fx->isch, &fx->iblob, &fx->iblen, fn));
    if (fv < 0 || schema_vocab(fx->usch) + schema_vocab(fx->isch) != fv)
        return rec_err(REC_E_FORMAT, "%s: the feature table has %d rows, its fields code %d "
                       "values", fn, (int)fv, (int)(schema_vocab(fx->usch) +
                                                    schema_vocab(fx->isch)));
    int64_t shape[2] = { fv, dim };
    snprintf(name, sizeof name, "%s.features", prefix);
    REC_TRY(rec_lrm_tensor_expect(r, name, REC_LRM_F32, 2, shape, &p));
    size_t bytes = (size_t)fv * (size_t)dim * sizeof *fx->feat;
    fx->feat = rec_malloc(bytes);
    if (!fx->feat)
        return rec_nomem(fn);
    memcpy(fx->feat, p, bytes);
    fx->fvocab = fv;
    return REC_OK;
}

rec_status rec_gnn_fields_schema(const rec_gnn_fields *fx, const rec_model *m, rec_side side,
                                 rec_features **out, const char *fn)
{
    if (!fx->has_schema)
        return rec_err(REC_E_UNSUPPORTED, "%s: this %s model was saved without its field "
                       "schema (before call-time features); fit it again", fn, m->vt->kind);
    *out = side == REC_SIDE_USER ? fx->usch : fx->isch;
    return REC_OK;
}

rec_status rec_gnn_fields_items(const rec_gnn_fields *fx, const rec_model *m, const char *fn)
{
    rec_features *sch;
    REC_TRY(rec_gnn_fields_schema(fx, m, REC_SIDE_ITEM, &sch, fn));
    if (!fx->feat || !fx->isch || fx->isch->n == 0)
        return rec_err(REC_E_UNSUPPORTED, "%s: this %s model reads no item features "
                       "(features=false, or the training data had no categorical or multi-hot "
                       "item field): an added item would have nothing to be embedded from",
                       fn, m->vt->kind);
    return REC_OK;
}

rec_status rec_gnn_schema(const rec_model *m, rec_side side, rec_features **out,
                          const char *fn)
{
    return rec_gnn_fields_schema(&((const rec_gnn *)m->state)->fx, m, side, out, fn);
}

rec_status rec_gnn_fields_mean(const rec_gnn_fields *fx, rec_side side,
                               const rec_feature_set *fs, float *x, const char *fn)
{
    const rec_features *sch = side == REC_SIDE_USER ? fx->usch : fx->isch;
    int32_t base = side == REC_SIDE_USER ? 0 : schema_vocab(fx->usch);
    memset(x, 0, (size_t)fx->dim * sizeof *x);
    int64_t cnt = 0;
    for (int k = 0; fx->feat && sch && k < sch->n; base += span(sch->f[k]), k++) {
        const rec_field *f = sch->f[k];
        const fset_val *v;
        REC_TRY(rec_fset_value(fs, f, &v, fn));
        if (!v)
            continue;
        int32_t one, *codes = &one, nc;
        if (f->type == REC_FEATURE_MULTIHOT) {
            codes = rec_malloc(((size_t)v->nvals + 1) * sizeof *codes);
            if (!codes)
                return rec_nomem(fn);
            nc = rec_fset_codes(f, v, codes);
        } else {
            one = rec_fset_code(f, v);
            nc = one >= 0;
        }
        for (int32_t j = 0; j < nc; j++, cnt++) {
            const float *row = fx->feat + (size_t)(base + codes[j]) * (size_t)fx->dim;
            for (int c = 0; c < fx->dim; c++)
                x[c] += row[c];
        }
        if (codes != &one)
            rec_free(codes, ((size_t)v->nvals + 1) * sizeof *codes);
    }
    for (int c = 0; cnt && c < fx->dim; c++)
        x[c] /= (float)cnt;
    return REC_OK;
}

rec_status rec_gnn_score_features(const rec_model *m, const rec_feature_set *fs,
                                  const int32_t *hist, size_t nh, float *out)
{
    const rec_gnn *s = m->state;
    char fn[64];
    snprintf(fn, sizeof fn, "rec_model_score_features(%s)", m->vt->kind);
    rec_features *sch;
    if (fs) /* a set needs the fields (a history alone is served by any file) */
        REC_TRY(rec_gnn_schema(m, REC_SIDE_USER, &sch, fn));
    float *x0 = rec_malloc((size_t)s->dim * sizeof *x0);
    if (!x0)
        return rec_nomem(fn);
    rec_status st = rec_gnn_fields_mean(&s->fx, REC_SIDE_USER, fs, x0, fn);
    if (!st)
        st = rec_gnn_fold_in(m, x0, hist, nh, out, fn);
    rec_free(x0, (size_t)s->dim * sizeof *x0);
    return st;
}

/* ---- items added from their features ---------------------------------------- */

/* Isolated nodes per forward pass: bounds the graph's arena. */
#define ADD_CHUNK 1024

/* The layers of n new nodes whose layer-0 rows are at Hn + N (each layer
 * block NN rows): each layer's rows from the one before. */
static rec_status new_layers(const rec_gnn *s, float *Hn, int64_t N, int64_t NN, size_t n,
                             const char *fn)
{
    size_t d = (size_t)s->dim;
    for (int k = 0; k < s->layers; k++)
        for (size_t b = 0; b < n; b += ADD_CHUNK) {
            int32_t c = (int32_t)(n - b < ADD_CHUNK ? n - b : ADD_CHUNK);
            const float *x = Hn + ((size_t)k * (size_t)NN + (size_t)N + b) * d;
            float *y = Hn + ((size_t)(k + 1) * (size_t)NN + (size_t)N + b) * d;
            REC_TRY(rec_gnn_isolated(s, k, x, c, y, fn));
        }
    return REC_OK;
}

rec_status rec_gnn_add_items(rec_model *m, const rec_feature_set *const *fs, size_t n)
{
    rec_gnn *s = m->state;
    char fn[64];
    snprintf(fn, sizeof fn, "rec_model_add_items(%s)", m->vt->kind);
    REC_TRY(rec_gnn_fields_items(&s->fx, m, fn));
    int64_t N = s->nodes, NN = N + (int64_t)n;
    int32_t ni = m->nitems, nn = ni + (int32_t)n;
    size_t d = (size_t)s->dim, L1 = (size_t)s->layers + 1;
    size_t hb = L1 * (size_t)NN * d * sizeof(float);
    float *Hn = rec_malloc(hb);
    int32_t *deg = rec_calloc((size_t)nn, sizeof *deg);
    rec_index *ix = NULL;
    rec_ippack pk = { 0 };
    rec_status st = Hn && deg ? REC_OK : rec_nomem(fn);
    for (size_t k = 0; !st && k < L1; k++)
        memcpy(Hn + k * (size_t)NN * d, s->H + k * (size_t)N * d, (size_t)N * d * sizeof *Hn);
    for (size_t j = 0; !st && j < n; j++)
        st = rec_gnn_fields_mean(&s->fx, REC_SIDE_ITEM, fs[j], Hn + ((size_t)N + j) * d, fn);
    if (!st)
        st = new_layers(s, Hn, N, NN, n, fn);
    if (!st) { /* the serving state over the grown item rows */
        float *H = s->H;
        s->H = Hn;
        s->nodes = NN;
        st = rec_model_index_items(m, nn, &ix, &pk, fn);
        s->H = H;
        s->nodes = N;
    }
    if (!st) { /* nothing fails from here */
        memcpy(deg, s->item_deg, (size_t)ni * sizeof *deg);
        rec_free(s->H, L1 * (size_t)N * d * sizeof *s->H);
        rec_free(s->item_deg, (size_t)(ni ? ni : 1) * sizeof *s->item_deg);
        s->H = Hn;
        s->item_deg = deg;
        s->nodes = NN;
        rec_model_index_take_items(m, ix, &pk);
        return REC_OK;
    }
    rec_index_destroy(ix);
    rec_ippack_free(&pk);
    rec_free(Hn, hb);
    rec_free(deg, (size_t)nn * sizeof *deg);
    return st;
}
