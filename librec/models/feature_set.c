/* rec_feature_set: one user or item described at call time, by field name,
 * against the schema of a fitted model or the fields of a dataset.  Values
 * are kept raw and coded by the model that reads them (rec_fset_*), so a
 * set made against a dataset serves any model fitted on its fields. */
#include "fset-impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *side_name(rec_side side)
{
    return side == REC_SIDE_USER ? "user" : "item";
}

static rec_status make(rec_feature_set **out, rec_features *schema, rec_side side,
                       const char *of, const char *fn)
{
    rec_feature_set *fs = rec_calloc(1, sizeof *fs);
    int nf = schema ? schema->n : 0;
    if (fs)
        fs->v = rec_calloc((size_t)nf + 1, sizeof *fs->v);
    if (!fs || !fs->v) {
        rec_free(fs, sizeof *fs);
        return rec_nomem(fn);
    }
    fs->side = side;
    fs->nf = nf;
    fs->of = of;
    if (schema)
        __atomic_add_fetch(&schema->refs, 1, __ATOMIC_ACQ_REL);
    fs->schema = schema;
    *out = fs;
    return REC_OK;
}

static rec_status check_side(rec_side side, const char *fn)
{
    if (side != REC_SIDE_USER && side != REC_SIDE_ITEM)
        return rec_err(REC_E_INVALID, "%s: side %d is neither REC_SIDE_USER nor REC_SIDE_ITEM",
                       fn, (int)side);
    return REC_OK;
}

REC_API rec_status rec_feature_set_create(rec_feature_set **out, const rec_model *m,
                                          rec_side side)
{
    static const char fn[] = "rec_feature_set_create";
    REC_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    REC_TRY(rec_model_need_fitted(m, fn));
    REC_TRY(check_side(side, fn));
    if (!m->vt->schema)
        return rec_err(REC_E_UNSUPPORTED, "%s: %s takes no call-time features (twotower, "
                       "dnn, tfidf, gcn, graphsage and gat do)", fn, m->vt->kind);
    rec_features *schema;
    REC_TRY(m->vt->schema(m, side, &schema, fn));
    return make(out, schema, side, "the model's", fn);
}

REC_API rec_status rec_feature_set_create_dataset(rec_feature_set **out, const rec_dataset *d,
                                                  rec_side side)
{
    static const char fn[] = "rec_feature_set_create_dataset";
    REC_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    REC_CHECK_ARG(d, fn, "dataset is NULL");
    REC_TRY(check_side(side, fn));
    /* The names and types only, copied: a reference to the dataset's own
     * fields would make them look shared with a split (rec_ds_own_features)
     * and refuse later changes to d. */
    int nf = rec_ds_num_fields(d, side);
    rec_features *names = NULL;
    if (nf > 0 && !rec_ds_field_at(d, side, 0))
        return rec_err(REC_E_NOMEM, "%s: out of memory readying the fields", fn);
    if (rec_features_create(&names))
        return rec_nomem(fn);
    rec_status st = REC_OK;
    for (int k = 0; !st && k < nf; k++) {
        const rec_field *f = rec_ds_field_at(d, side, k);
        st = rec_features_add(names, f->name, f->type, NULL, fn);
    }
    if (!st)
        st = make(out, names, side, "the dataset's", fn);
    rec_features_unref(names);
    return st;
}

static void val_free(fset_val *v)
{
    rec_free(v->s, v->scap);
    rec_free(v->vec, (size_t)v->vdim * sizeof *v->vec);
    memset(v, 0, sizeof *v);
}

REC_API void rec_feature_set_clear(rec_feature_set *fs)
{
    for (int k = 0; fs && k < fs->nf; k++)
        val_free(&fs->v[k]);
}

REC_API void rec_feature_set_destroy(rec_feature_set *fs)
{
    if (!fs)
        return;
    rec_feature_set_clear(fs);
    rec_free(fs->v, ((size_t)fs->nf + 1) * sizeof *fs->v);
    rec_features_unref(fs->schema);
    rec_free(fs, sizeof *fs);
}

/* Field name of fs's schema and its value slot. */
static rec_status slot(rec_feature_set *fs, const char *name, const rec_field **f,
                       fset_val **v, const char *fn)
{
    REC_CHECK_ARG(fs, fn, "feature set is NULL");
    REC_CHECK_ARG(name, fn, "name is NULL");
    int k = rec_features_find(fs->schema, name);
    if (k < 0 || k >= fs->nf) {
        char list[256] = "";
        size_t at = 0;
        for (int j = 0; j < fs->nf && at < sizeof list; j++)
            at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", j ? ", " : "",
                                   fs->schema->f[j]->name);
        return rec_err(REC_E_NOTFOUND, "%s: no %s field '%s' in %s schema (fields: %s)", fn,
                       side_name(fs->side), name, fs->of, fs->nf ? list : "none");
    }
    *f = fs->schema->f[k];
    *v = &fs->v[k];
    return REC_OK;
}

/* Appends s[0..n) and a NUL to v->s. */
static rec_status append(fset_val *v, const char *s, size_t n)
{
    if (v->slen + n + 1 > v->scap) {
        size_t nc = v->scap ? v->scap : 32;
        while (nc < v->slen + n + 1)
            nc *= 2;
        char *p = rec_realloc(v->s, v->scap, nc);
        if (!p)
            return REC_E_NOMEM;
        v->s = p;
        v->scap = nc;
    }
    memcpy(v->s + v->slen, s, n);
    v->slen += n;
    v->s[v->slen++] = 0;
    return REC_OK;
}

REC_API rec_status rec_feature_set_set(rec_feature_set *fs, const char *name,
                                       const char *value)
{
    static const char fn[] = "rec_feature_set_set";
    const rec_field *f;
    fset_val *v;
    REC_TRY(slot(fs, name, &f, &v, fn));
    REC_CHECK_ARG(value, fn, "value is NULL");
    double num;
    rec_status st = REC_OK;
    switch (f->type) {
    case REC_FEATURE_NUMERIC:
        if (!rec_parse_double(value, &num) || !isfinite((float)num))
            return rec_err(REC_E_INVALID, "%s: field '%s': '%s' is not a finite decimal number",
                           fn, name, value);
        v->num = num;
        break;
    case REC_FEATURE_DENSE:
        return rec_err(REC_E_INVALID, "%s: field '%s' is dense; set it with "
                       "rec_feature_set_set_vector", fn, name);
    case REC_FEATURE_CATEGORICAL:
        v->slen = 0;
        st = append(v, value, strlen(value));
        break;
    case REC_FEATURE_MULTIHOT:
        for (const char *p = value; !st && *p;) {
            const char *bar = strchr(p, '|');
            size_t n = bar ? (size_t)(bar - p) : strlen(p);
            if (n && !(st = append(v, p, n)))
                v->nvals++;
            p += n + (bar != NULL);
        }
        break;
    case REC_FEATURE_TEXT:
        if (v->slen) /* the NUL ending the text so far becomes the separating space */
            v->s[v->slen - 1] = ' ';
        st = append(v, value, strlen(value));
        if (st && v->slen)
            v->s[v->slen - 1] = 0;
        break;
    }
    if (st)
        return rec_nomem(fn);
    v->set = 1;
    return REC_OK;
}

REC_API rec_status rec_feature_set_set_number(rec_feature_set *fs, const char *name,
                                              double value)
{
    static const char fn[] = "rec_feature_set_set_number";
    const rec_field *f;
    fset_val *v;
    REC_TRY(slot(fs, name, &f, &v, fn));
    if (f->type != REC_FEATURE_NUMERIC)
        return rec_err(REC_E_INVALID, "%s: field '%s' is %s, not numeric", fn, name,
                       rec_feature_type_name(f->type));
    if (!isfinite((float)value))
        return rec_err(REC_E_INVALID, "%s: field '%s': %g is not a finite number", fn, name,
                       value);
    v->num = value;
    v->set = 1;
    return REC_OK;
}

REC_API rec_status rec_feature_set_set_vector(rec_feature_set *fs, const char *name,
                                              const float *x, size_t dim)
{
    static const char fn[] = "rec_feature_set_set_vector";
    const rec_field *f;
    fset_val *v;
    REC_TRY(slot(fs, name, &f, &v, fn));
    if (f->type != REC_FEATURE_DENSE)
        return rec_err(REC_E_INVALID, "%s: field '%s' is %s, not dense", fn, name,
                       rec_feature_type_name(f->type));
    REC_CHECK_ARG(x || dim == 0, fn, "v is NULL");
    if (dim == 0 || (f->vdim && dim != (size_t)f->vdim) || dim > 65536)
        return rec_err(REC_E_INVALID, "%s: field '%s' holds vectors of %d floats, not %zu", fn,
                       name, (int)f->vdim, dim);
    for (size_t j = 0; j < dim; j++)
        if (!isfinite(x[j]))
            return rec_err(REC_E_INVALID, "%s: field '%s': v[%zu] is %g", fn, name, j,
                           (double)x[j]);
    if ((size_t)v->vdim != dim) {
        float *p = rec_malloc(dim * sizeof *p);
        if (!p)
            return rec_nomem(fn);
        rec_free(v->vec, (size_t)v->vdim * sizeof *v->vec);
        v->vec = p;
        v->vdim = (int32_t)dim;
    }
    memcpy(v->vec, x, dim * sizeof *x);
    v->set = 1;
    return REC_OK;
}

/* ---- reading by a model ----------------------------------------------------- */

rec_status rec_fset_check(const rec_feature_set *fs, rec_side side, const char *fn,
                          const char *arg)
{
    if (fs && fs->side != side)
        return rec_err(REC_E_INVALID, "%s: %s is a feature set of %ss, not of %ss", fn, arg,
                       side_name(fs->side), side_name(side));
    return REC_OK;
}

rec_status rec_fset_value(const rec_feature_set *fs, const rec_field *f, const fset_val **v,
                          const char *fn)
{
    *v = NULL;
    int k = fs ? rec_features_find(fs->schema, f->name) : -1;
    if (k < 0 || k >= fs->nf || !fs->v[k].set)
        return REC_OK;
    const rec_field *g = fs->schema->f[k];
    if (g->type != f->type)
        return rec_err(REC_E_INVALID, "%s: field '%s' is %s in the feature set, %s in the "
                       "model", fn, f->name, rec_feature_type_name(g->type),
                       rec_feature_type_name(f->type));
    if (f->type == REC_FEATURE_DENSE && fs->v[k].vdim != f->vdim)
        return rec_err(REC_E_INVALID, "%s: field '%s' has %d floats in the feature set, %d in "
                       "the model", fn, f->name, (int)fs->v[k].vdim, (int)f->vdim);
    *v = &fs->v[k];
    return REC_OK;
}

int32_t rec_fset_code(const rec_field *f, const fset_val *v)
{
    if (!v || !f->vocab)
        return -1;
    return rec_idmap_find(f->vocab, v->s, strlen(v->s));
}

int32_t rec_fset_codes(const rec_field *f, const fset_val *v, int32_t *out)
{
    int32_t n = 0;
    const char *p = v ? v->s : NULL;
    for (int32_t j = 0; p && f->vocab && j < v->nvals; j++) {
        size_t len = strlen(p);
        int32_t c = rec_idmap_find(f->vocab, p, len);
        int dup = 0;
        for (int32_t q = 0; q < n && !dup; q++)
            dup = out[q] == c;
        if (c >= 0 && !dup)
            out[n++] = c;
        p += len + 1;
    }
    return n;
}
