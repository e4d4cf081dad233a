/* Field schemas: the fields a model reads, without their rows, kept with
 * the model so that a value given at call time (rec_feature_set) gets the
 * code and normalisation it would have had in the training data.
 *
 * Blob layout (host byte order, as the rest of a .lrm file):
 *   "LRFS" i32 nfields, then per field:
 *   name NUL, i32 type, i32 norm, f64 na, f64 nb, i32 vdim, i32 nvocab,
 *   u64 vocab bytes, the vocabulary's names (NUL-terminated, code order),
 *   f64 vmean[vdim], f64 vinv[vdim] (dense fields only). */
#include "data/data-impl.h"

#include <math.h>
#include <string.h>

/* mean and inv: vdim doubles each, maybe unaligned (inside a blob). */
static rec_status copy_dense_stats(rec_field *f, const void *mean, const void *inv)
{
    size_t vd = (size_t)f->vdim;
    /* + 1 byte, as rec_field_ready_dense allocates (rec_field_free_dense frees) */
    f->vmean = rec_malloc(vd * sizeof *f->vmean + 1);
    f->vinv = rec_malloc(vd * sizeof *f->vinv + 1);
    if (!f->vmean || !f->vinv) {
        rec_field_free_dense(f);
        return REC_E_NOMEM;
    }
    memcpy(f->vmean, mean, vd * sizeof *f->vmean);
    memcpy(f->vinv, inv, vd * sizeof *f->vinv);
    return REC_OK;
}

rec_status rec_features_schema_add(rec_features **fs, const rec_dataset *d, rec_side side,
                                   const char *name, const char *fn)
{
    if (!*fs)
        REC_TRY(rec_features_create(fs) ? rec_nomem(fn) : REC_OK);
    if (rec_features_find(*fs, name) >= 0)
        return REC_OK;
    const rec_field *src = rec_ds_field(d, side, name);
    if (!src)
        return rec_err(REC_E_INVALID, "%s: no %s field '%s'", fn,
                       side == REC_SIDE_USER ? "user" : "item", name);
    int k;
    REC_TRY(rec_features_add(*fs, name, src->type, &k, fn));
    rec_field *f = (*fs)->f[k];
    f->norm = src->norm;
    f->na = src->na;
    f->nb = src->nb;
    f->ready = 1;
    if (src->vocab) {
        rec_idmap *v;
        if (rec_idmap_clone(src->vocab, &v))
            return rec_nomem(fn);
        rec_idmap_unref(f->vocab);
        f->vocab = v;
    }
    if (src->type == REC_FEATURE_DENSE && src->vdim) {
        f->vdim = src->vdim;
        if (copy_dense_stats(f, src->vmean, src->vinv))
            return rec_nomem(fn);
    }
    return REC_OK;
}

rec_status rec_features_schema_add_context(rec_features **fs, const rec_dataset *d,
                                           const char *name, const char *fn)
{
    if (!*fs)
        REC_TRY(rec_features_create(fs) ? rec_nomem(fn) : REC_OK);
    if (rec_features_find(*fs, name) >= 0)
        return REC_OK;
    rec_idmap *src, *v;
    REC_TRY(rec_ds_context_vocab(d, name, &src, fn));
    rec_status st = rec_idmap_clone(src, &v) ? rec_nomem(fn) : REC_OK;
    rec_idmap_unref(src);
    if (st)
        return st;
    int k;
    st = rec_features_add(*fs, name, REC_FEATURE_CATEGORICAL, &k, fn);
    if (st) {
        rec_idmap_unref(v);
        return st;
    }
    rec_field *f = (*fs)->f[k];
    f->ready = 1;
    rec_idmap_unref(f->vocab);
    f->vocab = v;
    return REC_OK;
}

/* ---- blob ----------------------------------------------------------------- */

typedef struct wbuf {
    char *p;
    size_t len, cap;
    int bad;
} wbuf;

static void put(wbuf *b, const void *x, size_t n)
{
    if (b->bad)
        return;
    if (b->len + n > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->len + n)
            nc *= 2;
        char *q = rec_realloc(b->p, b->cap, nc);
        if (!q) {
            b->bad = 1;
            return;
        }
        b->p = q;
        b->cap = nc;
    }
    memcpy(b->p + b->len, x, n);
    b->len += n;
}

static void put_i32(wbuf *b, int32_t v)
{
    put(b, &v, sizeof v);
}

rec_status rec_features_encode(const rec_features *fs, char **blob, size_t *len,
                               const char *fn)
{
    wbuf b = { 0 };
    put(&b, "LRFS", 4);
    put_i32(&b, fs ? fs->n : 0);
    for (int k = 0; fs && k < fs->n; k++) {
        const rec_field *f = fs->f[k];
        put(&b, f->name, strlen(f->name) + 1);
        put_i32(&b, (int32_t)f->type);
        put_i32(&b, f->norm);
        put(&b, &f->na, sizeof f->na);
        put(&b, &f->nb, sizeof f->nb);
        int32_t vd = f->type == REC_FEATURE_DENSE && f->vmean ? f->vdim : 0;
        put_i32(&b, vd);
        size_t vb = 0;
        const char *names = f->vocab ? rec_idmap_blob(f->vocab, &vb) : "";
        put_i32(&b, f->vocab ? f->vocab->n : 0);
        uint64_t vb64 = vb;
        put(&b, &vb64, sizeof vb64);
        put(&b, names, vb);
        if (vd) {
            put(&b, f->vmean, (size_t)vd * sizeof *f->vmean);
            put(&b, f->vinv, (size_t)vd * sizeof *f->vinv);
        }
    }
    if (b.bad) {
        rec_free(b.p, b.cap);
        return rec_nomem(fn);
    }
    /* shrink to len so the caller frees exactly len bytes */
    char *q = rec_realloc(b.p, b.cap, b.len);
    if (!q) {
        rec_free(b.p, b.cap);
        return rec_nomem(fn);
    }
    *blob = q;
    *len = b.len;
    return REC_OK;
}

typedef struct rbuf {
    const char *p;
    size_t len, at;
} rbuf;

static int get(rbuf *b, void *x, size_t n)
{
    if (n > b->len - b->at)
        return 0;
    memcpy(x, b->p + b->at, n);
    b->at += n;
    return 1;
}

static rec_status decode_field(rbuf *b, rec_features *fs, int k, const char *fn)
{
    const char *name = b->p + b->at, *end = memchr(name, 0, b->len - b->at);
    if (!end || end == name)
        return rec_err(REC_E_FORMAT, "%s: schema field %d has no name", fn, k);
    b->at += (size_t)(end - name) + 1;
    int32_t type, norm, vd, nv;
    double na, nb;
    uint64_t vb;
    if (!get(b, &type, 4) || !get(b, &norm, 4) || !get(b, &na, 8) || !get(b, &nb, 8) ||
        !get(b, &vd, 4) || !get(b, &nv, 4) || !get(b, &vb, 8))
        return rec_err(REC_E_FORMAT, "%s: schema field '%s' is truncated", fn, name);
    if (type < REC_FEATURE_CATEGORICAL || type > REC_FEATURE_DENSE || norm < REC_NORM_NONE ||
        norm > REC_NORM_L2 || !isfinite(na) || !isfinite(nb) || vd < 0 || vd > 65536 ||
        nv < 0 || vb > b->len - b->at || (vd && type != REC_FEATURE_DENSE) ||
        (nv && type != REC_FEATURE_CATEGORICAL && type != REC_FEATURE_MULTIHOT))
        return rec_err(REC_E_FORMAT, "%s: schema field '%s' is malformed", fn, name);
    if (rec_features_find(fs, name) >= 0)
        return rec_err(REC_E_FORMAT, "%s: schema field '%s' appears twice", fn, name);
    int at;
    REC_TRY(rec_features_add(fs, name, (rec_feature_type)type, &at, fn));
    rec_field *f = fs->f[at];
    f->norm = norm;
    f->na = na;
    f->nb = nb;
    f->ready = 1;
    if (f->vocab) {
        rec_idmap *v;
        rec_status st = rec_idmap_from_blob(&v, b->p + b->at, (size_t)vb, nv);
        if (st == REC_E_NOMEM) /* not the file's fault */
            return rec_nomem(fn);
        if (st)
            return rec_err(REC_E_FORMAT, "%s: schema field '%s': %s", fn, name,
                           rec_last_error());
        rec_idmap_unref(f->vocab);
        f->vocab = v;
    }
    b->at += (size_t)vb;
    if (vd) {
        size_t bytes = (size_t)vd * sizeof(double);
        if (2 * bytes > b->len - b->at)
            return rec_err(REC_E_FORMAT, "%s: schema field '%s' is truncated", fn, name);
        f->vdim = vd;
        if (copy_dense_stats(f, b->p + b->at, b->p + b->at + bytes))
            return rec_nomem(fn);
        b->at += 2 * bytes;
    }
    return REC_OK;
}

rec_status rec_features_decode(const void *blob, size_t len, rec_features **out,
                               const char *fn)
{
    rbuf b = { blob, len, 0 };
    char magic[4];
    int32_t n;
    *out = NULL;
    if (!get(&b, magic, 4) || memcmp(magic, "LRFS", 4) || !get(&b, &n, 4) || n < 0)
        return rec_err(REC_E_FORMAT, "%s: not a field schema", fn);
    rec_features *fs;
    if (rec_features_create(&fs))
        return rec_nomem(fn);
    rec_status st = REC_OK;
    for (int32_t k = 0; !st && k < n; k++)
        st = decode_field(&b, fs, k, fn);
    if (!st && b.at != b.len)
        st = rec_err(REC_E_FORMAT, "%s: %zu bytes after the field schema", fn, b.len - b.at);
    if (st) {
        rec_features_unref(fs);
        return st;
    }
    *out = fs;
    return REC_OK;
}
