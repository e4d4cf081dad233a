/* Side features: typed fields filled by (entity, value) records, turned into
 * per-entity arrays on first read; normalisation and declared crosses. */
#include "data/data-impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

rec_status rec_features_create(rec_features **out)
{
    rec_features *fs = rec_calloc(1, sizeof *fs);
    if (!fs)
        return REC_E_NOMEM;
    fs->refs = 1;
    *out = fs;
    return REC_OK;
}

static void field_free_ready(rec_field *f)
{
    size_t rows = (size_t)f->rows;
    size_t nv = f->ptr ? (size_t)f->ptr[rows] : 0;
    rec_free(f->codes, rows * sizeof *f->codes);
    rec_free(f->num, rows * sizeof *f->num);
    rec_free(f->vals, nv * sizeof *f->vals);
    rec_free(f->cnt, nv * sizeof *f->cnt);
    rec_free(f->ptr, f->ptr ? (rows + 1) * sizeof *f->ptr : 0);
    rec_free(f->toff, f->toff ? (rows + 1) * sizeof *f->toff : 0);
    rec_free(f->text, f->tlen);
    rec_field_free_dense(f);
    f->codes = NULL;
    f->num = NULL;
    f->vals = f->cnt = NULL;
    f->ptr = f->toff = NULL;
    f->text = NULL;
    f->tlen = 0;
    f->rows = 0;
    f->ready = 0;
}

static void field_free_pending(rec_field *f)
{
    rec_free(f->pe, (size_t)f->pcap * sizeof *f->pe);
    rec_free(f->pv, (size_t)f->pcap * sizeof *f->pv);
    rec_free(f->ptext, f->ptcap);
    rec_free(f->pvec, f->pvcap * sizeof *f->pvec);
    f->pvec = NULL;
    f->pvlen = f->pvcap = 0;
    f->pe = NULL;
    f->pv = NULL;
    f->ptext = NULL;
    f->np = f->pcap = 0;
    f->ptlen = f->ptcap = 0;
}

void rec_features_unref(rec_features *fs)
{
    if (!fs || __atomic_sub_fetch(&fs->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    for (int k = 0; k < fs->n; k++) {
        rec_field *f = fs->f[k];
        field_free_ready(f);
        field_free_pending(f);
        rec_idmap_unref(f->vocab);
        rec_strfree(f->name);
        rec_free(f, sizeof *f);
    }
    rec_free(fs->f, (size_t)fs->cap * sizeof *fs->f);
    rec_free(fs, sizeof *fs);
}

int rec_features_find(const rec_features *fs, const char *name)
{
    for (int k = 0; fs && k < fs->n; k++)
        if (strcmp(fs->f[k]->name, name) == 0)
            return k;
    return -1;
}

const char *rec_feature_type_name(rec_feature_type t)
{
    switch (t) {
    case REC_FEATURE_CATEGORICAL: return "categorical";
    case REC_FEATURE_NUMERIC: return "numeric";
    case REC_FEATURE_MULTIHOT: return "multi-hot";
    case REC_FEATURE_TEXT: return "text";
    case REC_FEATURE_DENSE: return "dense";
    }
    return "?";
}

rec_status rec_features_add(rec_features *fs, const char *name, rec_feature_type type,
                            int *index, const char *fn)
{
    int k = rec_features_find(fs, name);
    if (k >= 0) {
        if (fs->f[k]->type != type)
            return rec_err(REC_E_INVALID, "%s: field '%s' exists as %s, not %s", fn, name,
                           rec_feature_type_name(fs->f[k]->type), rec_feature_type_name(type));
        if (index)
            *index = k;
        return REC_OK;
    }
    if (fs->n == fs->cap) {
        int nc = fs->cap ? fs->cap * 2 : 8;
        rec_field **nf = rec_realloc(fs->f, (size_t)fs->cap * sizeof *nf, (size_t)nc * sizeof *nf);
        if (!nf)
            return rec_nomem(fn);
        fs->f = nf;
        fs->cap = nc;
    }
    /* Fields are allocated one by one so pointers to them stay valid. */
    rec_field *f = rec_calloc(1, sizeof *f);
    if (!f)
        return rec_nomem(fn);
    f->type = type;
    f->cross_a = f->cross_b = -1;
    f->name = rec_strdup(name);
    if (!f->name || ((type == REC_FEATURE_CATEGORICAL || type == REC_FEATURE_MULTIHOT) &&
                     rec_idmap_create(&f->vocab))) {
        rec_strfree(f->name);
        rec_free(f, sizeof *f);
        return rec_nomem(fn);
    }
    fs->f[fs->n] = f;
    if (index)
        *index = fs->n;
    fs->n++;
    return REC_OK;
}

static rec_status put(rec_field *f, int32_t e, int64_t v)
{
    if (f->np == f->pcap) {
        int64_t nc = f->pcap ? f->pcap * 2 : 64;
        int32_t *pe = rec_malloc((size_t)nc * sizeof *pe);
        int64_t *pv = rec_malloc((size_t)nc * sizeof *pv);
        if (!pe || !pv) {
            rec_free(pe, (size_t)nc * sizeof *pe);
            rec_free(pv, (size_t)nc * sizeof *pv);
            return REC_E_NOMEM;
        }
        if (f->np) {
            memcpy(pe, f->pe, (size_t)f->np * sizeof *pe);
            memcpy(pv, f->pv, (size_t)f->np * sizeof *pv);
        }
        rec_free(f->pe, (size_t)f->pcap * sizeof *pe);
        rec_free(f->pv, (size_t)f->pcap * sizeof *pv);
        f->pe = pe;
        f->pv = pv;
        f->pcap = nc;
    }
    f->pe[f->np] = e;
    f->pv[f->np] = v;
    f->np++;
    f->ready = 0;
    return REC_OK;
}

rec_status rec_field_put_code(rec_field *f, int32_t e, const char *v, size_t len)
{
    int32_t code;
    REC_TRY(rec_idmap_intern(f->vocab, v, len, &code, NULL));
    return put(f, e, code);
}

rec_status rec_field_put_number(rec_field *f, int32_t e, double v)
{
    int64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return put(f, e, bits);
}

rec_status rec_field_put_text(rec_field *f, int32_t e, const char *v, size_t len)
{
    if (f->ptlen + len + 1 > f->ptcap) {
        size_t nc = f->ptcap ? f->ptcap * 2 : 4096;
        while (nc < f->ptlen + len + 1)
            nc *= 2;
        char *p = rec_realloc(f->ptext, f->ptcap, nc);
        if (!p)
            return REC_E_NOMEM;
        f->ptext = p;
        f->ptcap = nc;
    }
    REC_TRY(put(f, e, (int64_t)f->ptlen));
    memcpy(f->ptext + f->ptlen, v, len);
    f->ptext[f->ptlen + len] = 0;
    f->ptlen += len + 1;
    return REC_OK;
}

/* ---- building the per-entity arrays -------------------------------------- */

static double pending_number(const rec_field *f, int64_t k)
{
    double v;
    memcpy(&v, &f->pv[k], sizeof v);
    return v;
}

static void numeric_stats(rec_field *f)
{
    double lo = INFINITY, hi = -INFINITY, s = 0, s2 = 0;
    int64_t n = 0;
    int lg = f->norm == REC_NORM_LOG1P || f->norm == REC_NORM_LOG1P_Z;
    for (int32_t e = 0; e < f->rows; e++) {
        double x = f->num[e];
        if (isnan(x))
            continue;
        if (lg)
            x = log1p(x > 0 ? x : 0);
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
        s += x;
        s2 += x * x;
        n++;
    }
    f->na = 0;
    f->nb = 1;
    if (!n)
        return;
    if (f->norm == REC_NORM_MINMAX) {
        f->na = lo;
        f->nb = hi > lo ? 1.0 / (hi - lo) : 0;
    } else if (f->norm == REC_NORM_ZSCORE || f->norm == REC_NORM_LOG1P_Z) {
        double mean = s / (double)n, var = s2 / (double)n - mean * mean;
        f->na = mean;
        f->nb = var > 1e-300 ? 1.0 / sqrt(var) : 1.0;
    }
}

double rec_field_number(const rec_field *f, int32_t e)
{
    if (f->type != REC_FEATURE_NUMERIC || e < 0 || e >= f->rows)
        return NAN;
    return rec_field_norm_number(f, f->num[e]);
}

double rec_field_norm_number(const rec_field *f, double x)
{
    if (isnan(x))
        return x;
    if (f->norm == REC_NORM_LOG1P || f->norm == REC_NORM_LOG1P_Z)
        x = log1p(x > 0 ? x : 0);
    return (x - f->na) * f->nb;
}

static rec_status ready_multihot(rec_field *f, int32_t rows)
{
    size_t nr = (size_t)rows, nvoc = (size_t)f->vocab->n;
    int64_t *ptr = rec_calloc(nr + 1, sizeof *ptr);
    int64_t *order = rec_malloc((size_t)f->np * sizeof *order);
    int32_t *stamp = rec_malloc(nvoc * sizeof *stamp);
    int32_t *slot = rec_malloc(nvoc * sizeof *slot);
    int32_t *vals = NULL, *cnt = NULL;
    size_t nv = 0;
    int64_t total = 0;
    rec_status st = REC_E_NOMEM;
    if (!ptr || !order || !stamp || !slot)
        goto out;
    /* Group pending records by entity, keeping arrival order. */
    int64_t *cur = rec_calloc(nr + 1, sizeof *cur);
    if (!cur)
        goto out;
    for (int64_t k = 0; k < f->np; k++)
        if (f->pe[k] < rows)
            cur[f->pe[k] + 1]++;
    for (size_t e = 0; e < nr; e++)
        cur[e + 1] += cur[e];
    total = cur[nr];
    for (int64_t k = 0; k < f->np; k++)
        if (f->pe[k] < rows)
            order[cur[f->pe[k]]++] = k;
    rec_free(cur, (nr + 1) * sizeof *cur);
    /* Upper bound on distinct values is total. */
    vals = rec_malloc((size_t)total * sizeof *vals);
    cnt = rec_malloc((size_t)total * sizeof *cnt);
    if (!vals || !cnt)
        goto out;
    for (size_t v = 0; v < nvoc; v++)
        stamp[v] = -1;
    int64_t k = 0;
    for (size_t e = 0; e < nr; e++) {
        ptr[e] = (int64_t)nv;
        while (k < total && f->pe[order[k]] == (int32_t)e) {
            int32_t code = (int32_t)f->pv[order[k++]];
            if (stamp[code] == (int32_t)e) {
                cnt[slot[code]]++;
            } else {
                stamp[code] = (int32_t)e;
                slot[code] = (int32_t)nv;
                vals[nv] = code;
                cnt[nv++] = 1;
            }
        }
    }
    ptr[nr] = (int64_t)nv;
    /* Shrink to the distinct count so the sizes freed later are exact. */
    if (nv < (size_t)total) {
        int32_t *v2 = rec_malloc(nv * sizeof *v2), *c2 = rec_malloc(nv * sizeof *c2);
        if (!v2 || !c2) {
            rec_free(v2, nv * sizeof *v2);
            rec_free(c2, nv * sizeof *c2);
            goto out;
        }
        memcpy(v2, vals, nv * sizeof *v2);
        memcpy(c2, cnt, nv * sizeof *c2);
        rec_free(vals, (size_t)total * sizeof *vals);
        rec_free(cnt, (size_t)total * sizeof *cnt);
        vals = v2;
        cnt = c2;
        total = (int64_t)nv;
    }
    f->ptr = ptr;
    f->vals = vals;
    f->cnt = cnt;
    ptr = NULL;
    vals = cnt = NULL;
    st = REC_OK;
out:
    rec_free(ptr, (nr + 1) * sizeof *ptr);
    rec_free(order, (size_t)f->np * sizeof *order);
    rec_free(stamp, nvoc * sizeof *stamp);
    rec_free(slot, nvoc * sizeof *slot);
    /* Non-NULL only on failure before the shrink: sized by total. */
    rec_free(vals, (size_t)total * sizeof *vals);
    rec_free(cnt, (size_t)total * sizeof *cnt);
    return st;
}

static rec_status ready_text(rec_field *f, int32_t rows)
{
    size_t nr = (size_t)rows;
    int64_t *len = rec_calloc(nr + 1, sizeof *len);
    if (!len)
        return REC_E_NOMEM;
    /* Each entity: its pieces joined by single spaces, then a NUL. */
    for (int64_t k = 0; k < f->np; k++)
        if (f->pe[k] < rows)
            len[f->pe[k] + 1] += (int64_t)strlen(f->ptext + f->pv[k]) + 1;
    for (size_t e = 0; e < nr; e++)
        len[e + 1] += len[e];
    /* Entities with no text still need their NUL. */
    int64_t *off = rec_calloc(nr + 1, sizeof *off);
    if (!off) {
        rec_free(len, (nr + 1) * sizeof *len);
        return REC_E_NOMEM;
    }
    for (size_t e = 0; e < nr; e++) {
        int64_t piece = len[e + 1] - len[e];
        off[e + 1] = off[e] + (piece ? piece : 1);
    }
    rec_free(len, (nr + 1) * sizeof *len);
    size_t tl = (size_t)off[nr] + 1;
    char *text = rec_malloc(tl);
    int64_t *fill = rec_malloc((nr + 1) * sizeof *fill);
    if (!text || !fill) {
        rec_free(text, tl);
        rec_free(fill, (nr + 1) * sizeof *fill);
        rec_free(off, (nr + 1) * sizeof *off);
        return REC_E_NOMEM;
    }
    memcpy(fill, off, (nr + 1) * sizeof *fill);
    for (int64_t k = 0; k < f->np; k++) {
        int32_t e = f->pe[k];
        if (e >= rows)
            continue;
        const char *s = f->ptext + f->pv[k];
        size_t n = strlen(s);
        if (fill[e] > off[e])
            text[fill[e]++] = ' ';
        memcpy(text + fill[e], s, n);
        fill[e] += (int64_t)n;
    }
    for (size_t e = 0; e < nr; e++)
        text[fill[e]] = 0;
    text[tl - 1] = 0;
    rec_free(fill, (nr + 1) * sizeof *fill);
    f->toff = off;
    f->text = text;
    f->tlen = tl;
    return REC_OK;
}

/* Value labels of entity e in field s, for crosses (at most maxv). */
static rec_status cross_values(const rec_field *s, int32_t e, const double *cuts, int ncuts,
                               char (*buf)[96], int maxv, int *nv)
{
    *nv = 0;
    if (e >= s->rows)
        return REC_OK;
    if (s->type == REC_FEATURE_CATEGORICAL) {
        if (s->codes[e] >= 0)
            snprintf(buf[(*nv)++], 96, "%s", rec_idmap_name(s->vocab, s->codes[e]));
    } else if (s->type == REC_FEATURE_MULTIHOT) {
        for (int64_t k = s->ptr[e]; k < s->ptr[e + 1] && *nv < maxv; k++)
            snprintf(buf[(*nv)++], 96, "%s", rec_idmap_name(s->vocab, s->vals[k]));
    } else if (s->type == REC_FEATURE_NUMERIC) {
        double x = s->num[e];
        if (!isnan(x)) {
            int b = 0;
            while (b < ncuts && x >= cuts[b])
                b++;
            snprintf(buf[(*nv)++], 96, "%s:q%d", s->name, b);
        }
    }
    return REC_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Equal-frequency cut points of a numeric field (buckets - 1 of them). */
static rec_status bucket_cuts(const rec_field *s, int buckets, double **cuts, int *ncuts)
{
    *cuts = NULL;
    *ncuts = 0;
    if (s->type != REC_FEATURE_NUMERIC)
        return REC_OK;
    size_t n = 0;
    for (int32_t e = 0; e < s->rows; e++)
        n += !isnan(s->num[e]);
    if (!n)
        return REC_OK;
    double *v = rec_malloc(n * sizeof *v);
    double *c = rec_malloc((size_t)buckets * sizeof *c);
    if (!v || !c) {
        rec_free(v, n * sizeof *v);
        rec_free(c, (size_t)buckets * sizeof *c);
        return REC_E_NOMEM;
    }
    n = 0;
    for (int32_t e = 0; e < s->rows; e++)
        if (!isnan(s->num[e]))
            v[n++] = s->num[e];
    qsort(v, n, sizeof *v, cmp_double);
    for (int b = 1; b < buckets; b++)
        c[b - 1] = v[(size_t)((double)n * b / buckets)];
    rec_free(v, n * sizeof *v);
    *cuts = c;
    *ncuts = buckets - 1;
    return REC_OK;
}

static rec_status ready_cross(rec_features *fs, rec_field *f, int32_t rows)
{
    const rec_field *a = fs->f[f->cross_a], *b = fs->f[f->cross_b];
    /* Regenerate the pending records from the sources. */
    f->np = 0;
    rec_idmap *voc;
    if (rec_idmap_create(&voc))
        return REC_E_NOMEM;
    rec_idmap_unref(f->vocab);
    f->vocab = voc;
    double *ca = NULL, *cb = NULL;
    int na = 0, nb = 0;
    rec_status st = bucket_cuts(a, f->buckets, &ca, &na);
    if (!st)
        st = bucket_cuts(b, f->buckets, &cb, &nb);
    enum { MAXV = 64 };
    char (*va)[96] = rec_malloc(2 * MAXV * sizeof *va);
    if (!st && !va)
        st = REC_E_NOMEM;
    for (int32_t e = 0; !st && e < rows; e++) {
        int nva, nvb;
        cross_values(a, e, ca, na, va, MAXV, &nva);
        cross_values(b, e, cb, nb, va + MAXV, MAXV, &nvb);
        for (int x = 0; !st && x < nva; x++)
            for (int y = 0; !st && y < nvb; y++) {
                char lab[200];
                int n = snprintf(lab, sizeof lab, "%s x %s", va[x], va[MAXV + y]);
                st = rec_field_put_code(f, e, lab, (size_t)n < sizeof lab ? (size_t)n : sizeof lab - 1);
            }
    }
    rec_free(va, 2 * MAXV * sizeof *va);
    rec_free(ca, (size_t)f->buckets * sizeof *ca);
    rec_free(cb, (size_t)f->buckets * sizeof *cb);
    return st;
}

rec_status rec_features_ready(rec_features *fs, int32_t rows)
{
    int rebuilt = 0; /* crosses follow their sources */
    for (int k = 0; fs && k < fs->n; k++) {
        rec_field *f = fs->f[k];
        if (f->ready && f->rows == rows && (f->cross_a < 0 || !rebuilt))
            continue;
        rebuilt = 1;
        field_free_ready(f);
        if (f->cross_a >= 0)
            REC_TRY(ready_cross(fs, f, rows));
        size_t nr = (size_t)rows;
        f->rows = rows;
        switch (f->type) {
        case REC_FEATURE_CATEGORICAL:
            f->codes = rec_malloc(nr * sizeof *f->codes);
            if (!f->codes)
                goto nomem;
            for (size_t e = 0; e < nr; e++)
                f->codes[e] = -1;
            for (int64_t p = 0; p < f->np; p++)
                if (f->pe[p] < rows)
                    f->codes[f->pe[p]] = (int32_t)f->pv[p];
            break;
        case REC_FEATURE_NUMERIC:
            f->num = rec_malloc(nr * sizeof *f->num);
            if (!f->num)
                goto nomem;
            for (size_t e = 0; e < nr; e++)
                f->num[e] = NAN;
            for (int64_t p = 0; p < f->np; p++)
                if (f->pe[p] < rows)
                    f->num[f->pe[p]] = (float)pending_number(f, p);
            numeric_stats(f);
            break;
        case REC_FEATURE_MULTIHOT:
            if (ready_multihot(f, rows))
                goto nomem;
            break;
        case REC_FEATURE_TEXT:
            if (ready_text(f, rows))
                goto nomem;
            break;
        case REC_FEATURE_DENSE:
            if (rec_field_ready_dense(f, rows))
                goto nomem;
            break;
        }
        f->ready = 1;
        continue;
    nomem:
        field_free_ready(f);
        return REC_E_NOMEM;
    }
    return REC_OK;
}

/* ---- dataset-level access ---------------------------------------------------- */

static rec_features *side_fs(const rec_dataset *d, rec_side side)
{
    return side == REC_SIDE_USER ? d->ufeat : d->ifeat;
}

static int32_t side_rows(const rec_dataset *d, rec_side side)
{
    return side == REC_SIDE_USER ? d->users->n : d->items->n;
}

static rec_status ensure_ready(const rec_dataset *d, rec_side side, const char *fn)
{
    rec_features *fs = side_fs(d, side);
    if (fs && rec_features_ready(fs, side_rows(d, side)))
        return rec_nomem(fn);
    return REC_OK;
}

rec_status rec_ds_own_features(rec_dataset *d, rec_side side, rec_features **out,
                               const char *fn)
{
    rec_features **fs = side == REC_SIDE_USER ? &d->ufeat : &d->ifeat;
    if (!*fs) {
        if (rec_features_create(fs))
            return rec_nomem(fn);
    } else if (__atomic_load_n(&(*fs)->refs, __ATOMIC_ACQUIRE) > 1) {
        return rec_err(REC_E_STATE, "%s: features are shared with a split; set them before "
                                    "splitting", fn);
    }
    *out = *fs;
    return REC_OK;
}

static rec_status check_side(const rec_dataset *d, rec_side side, const char *fn)
{
    REC_CHECK_ARG(d, fn, "dataset is NULL");
    if (side != REC_SIDE_USER && side != REC_SIDE_ITEM)
        return rec_err(REC_E_INVALID, "%s: side %d is neither REC_SIDE_USER nor REC_SIDE_ITEM",
                       fn, (int)side);
    return REC_OK;
}

REC_API rec_status rec_dataset_add_field(rec_dataset *d, rec_side side, const char *name,
                                         rec_feature_type type, int *index)
{
    static const char fn[] = "rec_dataset_add_field";
    REC_TRY(check_side(d, side, fn));
    REC_CHECK_ARG(name && *name, fn, "name is NULL or empty");
    if (type < REC_FEATURE_CATEGORICAL || type > REC_FEATURE_DENSE)
        return rec_err(REC_E_INVALID, "%s: unknown feature type %d", fn, (int)type);
    rec_features *fs;
    REC_TRY(rec_ds_own_features(d, side, &fs, fn));
    return rec_features_add(fs, name, type, index, fn);
}

REC_API rec_status rec_dataset_set_feature(rec_dataset *d, rec_side side, const char *name,
                                           const char *id, const char *value, int create_ids)
{
    static const char fn[] = "rec_dataset_set_feature";
    REC_TRY(check_side(d, side, fn));
    REC_CHECK_ARG(name, fn, "name is NULL");
    REC_CHECK_ARG(id && *id, fn, "id is NULL or empty");
    REC_CHECK_ARG(value, fn, "value is NULL");
    rec_features *fs;
    REC_TRY(rec_ds_own_features(d, side, &fs, fn));
    int k = rec_features_find(fs, name);
    if (k < 0)
        return rec_err(REC_E_NOTFOUND, "%s: no %s field '%s'", fn,
                       side == REC_SIDE_USER ? "user" : "item", name);
    rec_field *f = fs->f[k];
    if (f->cross_a >= 0)
        return rec_err(REC_E_INVALID, "%s: field '%s' is a cross; it is computed", fn, name);
    if (f->type == REC_FEATURE_DENSE)
        return rec_err(REC_E_INVALID, "%s: field '%s' is dense; set it with "
                       "rec_dataset_set_vector", fn, name);
    double num = 0;
    /* stored as a float: a finite double beyond the float range is not one */
    if (f->type == REC_FEATURE_NUMERIC && (!rec_parse_double(value, &num) ||
                                           !isfinite((float)num)))
        return rec_err(REC_E_INVALID, "%s: field '%s': '%s' is not a finite decimal number", fn,
                       name, value);
    int32_t e;
    if (create_ids) {
        REC_TRY(rec_ds_intern(d, side, id, strlen(id), &e, fn));
    } else {
        e = rec_idmap_find(side == REC_SIDE_USER ? d->users : d->items, id, strlen(id));
        if (e < 0)
            return rec_err(REC_E_NOTFOUND, "%s: unknown %s id '%s'", fn,
                           side == REC_SIDE_USER ? "user" : "item", id);
    }
    rec_status st = REC_OK;
    switch (f->type) {
    case REC_FEATURE_CATEGORICAL:
        st = rec_field_put_code(f, e, value, strlen(value));
        break;
    case REC_FEATURE_NUMERIC:
        st = rec_field_put_number(f, e, num);
        break;
    case REC_FEATURE_MULTIHOT:
        for (const char *p = value; !st && *p;) {
            const char *bar = strchr(p, '|');
            size_t n = bar ? (size_t)(bar - p) : strlen(p);
            if (n)
                st = rec_field_put_code(f, e, p, n);
            p += n + (bar != NULL);
        }
        break;
    case REC_FEATURE_TEXT:
        st = rec_field_put_text(f, e, value, strlen(value));
        break;
    case REC_FEATURE_DENSE:
        break;
    }
    if (st == REC_E_NOMEM)
        return rec_nomem(fn);
    if (st)
        return rec_err(st, "%s: too many distinct values in field '%s'", fn, name);
    return REC_OK;
}

static rec_status get_field(const rec_dataset *d, rec_side side, int k, const char *fn,
                            rec_field **out)
{
    REC_TRY(check_side(d, side, fn));
    rec_features *fs = side_fs(d, side);
    int n = fs ? fs->n : 0;
    if (k < 0 || k >= n)
        return rec_err(REC_E_RANGE, "%s: field %d outside [0, %d)", fn, k, n);
    REC_TRY(ensure_ready(d, side, fn));
    *out = fs->f[k];
    return REC_OK;
}

REC_API rec_status rec_dataset_num_fields(const rec_dataset *d, rec_side side, int *n)
{
    REC_TRY(check_side(d, side, "rec_dataset_num_fields"));
    REC_CHECK_ARG(n, "rec_dataset_num_fields", "out is NULL");
    rec_features *fs = side_fs(d, side);
    *n = fs ? fs->n : 0;
    return REC_OK;
}

REC_API rec_status rec_dataset_field_info(const rec_dataset *d, rec_side side, int k,
                                          const char **name, rec_feature_type *type)
{
    rec_field *f;
    REC_TRY(get_field(d, side, k, "rec_dataset_field_info", &f));
    if (name)
        *name = f->name;
    if (type)
        *type = f->type;
    return REC_OK;
}

REC_API rec_status rec_dataset_field_index(const rec_dataset *d, rec_side side,
                                           const char *name, int *k)
{
    static const char fn[] = "rec_dataset_field_index";
    REC_TRY(check_side(d, side, fn));
    REC_CHECK_ARG(name && k, fn, "name or out is NULL");
    int x = rec_features_find(side_fs(d, side), name);
    if (x < 0)
        return rec_err(REC_E_NOTFOUND, "%s: no %s field '%s'", fn,
                       side == REC_SIDE_USER ? "user" : "item", name);
    *k = x;
    return REC_OK;
}

static rec_status want_type(const rec_field *f, rec_feature_type t1, rec_feature_type t2,
                            const char *fn)
{
    if (f->type != t1 && f->type != t2)
        return rec_err(REC_E_INVALID, "%s: field '%s' is %s", fn, f->name,
                       rec_feature_type_name(f->type));
    return REC_OK;
}

REC_API rec_status rec_dataset_field_vocab(const rec_dataset *d, rec_side side, int k,
                                           int32_t *size)
{
    static const char fn[] = "rec_dataset_field_vocab";
    rec_field *f;
    REC_CHECK_ARG(size, fn, "out is NULL");
    REC_TRY(get_field(d, side, k, fn, &f));
    REC_TRY(want_type(f, REC_FEATURE_CATEGORICAL, REC_FEATURE_MULTIHOT, fn));
    *size = f->vocab->n;
    return REC_OK;
}

REC_API rec_status rec_dataset_field_value_name(const rec_dataset *d, rec_side side, int k,
                                                int32_t j, const char **value)
{
    static const char fn[] = "rec_dataset_field_value_name";
    rec_field *f;
    REC_CHECK_ARG(value, fn, "out is NULL");
    REC_TRY(get_field(d, side, k, fn, &f));
    REC_TRY(want_type(f, REC_FEATURE_CATEGORICAL, REC_FEATURE_MULTIHOT, fn));
    if (j < 0 || j >= f->vocab->n)
        return rec_err(REC_E_RANGE, "%s: value %d outside [0, %d)", fn, (int)j,
                       (int)f->vocab->n);
    *value = rec_idmap_name(f->vocab, j);
    return REC_OK;
}

static rec_status entity_ok(const rec_dataset *d, rec_side side, int32_t e, const char *fn)
{
    int32_t n = side_rows(d, side);
    if (e < 0 || e >= n)
        return rec_err(REC_E_RANGE, "%s: %s index %d outside [0, %d)", fn,
                       side == REC_SIDE_USER ? "user" : "item", (int)e, (int)n);
    return REC_OK;
}

REC_API rec_status rec_dataset_feature_code(const rec_dataset *d, rec_side side, int k,
                                            int32_t e, int32_t *code)
{
    static const char fn[] = "rec_dataset_feature_code";
    rec_field *f;
    REC_CHECK_ARG(code, fn, "out is NULL");
    REC_TRY(get_field(d, side, k, fn, &f));
    REC_TRY(want_type(f, REC_FEATURE_CATEGORICAL, REC_FEATURE_CATEGORICAL, fn));
    REC_TRY(entity_ok(d, side, e, fn));
    *code = f->codes[e];
    return REC_OK;
}

REC_API rec_status rec_dataset_feature_number(const rec_dataset *d, rec_side side, int k,
                                              int32_t e, double *value)
{
    static const char fn[] = "rec_dataset_feature_number";
    rec_field *f;
    REC_CHECK_ARG(value, fn, "out is NULL");
    REC_TRY(get_field(d, side, k, fn, &f));
    REC_TRY(want_type(f, REC_FEATURE_NUMERIC, REC_FEATURE_NUMERIC, fn));
    REC_TRY(entity_ok(d, side, e, fn));
    *value = rec_field_number(f, e);
    return REC_OK;
}

REC_API rec_status rec_dataset_feature_codes(const rec_dataset *d, rec_side side, int k,
                                             int32_t e, const int32_t **codes, int32_t *n)
{
    static const char fn[] = "rec_dataset_feature_codes";
    rec_field *f;
    REC_CHECK_ARG(codes && n, fn, "out is NULL");
    REC_TRY(get_field(d, side, k, fn, &f));
    REC_TRY(want_type(f, REC_FEATURE_MULTIHOT, REC_FEATURE_MULTIHOT, fn));
    REC_TRY(entity_ok(d, side, e, fn));
    *n = (int32_t)(f->ptr[e + 1] - f->ptr[e]);
    *codes = *n ? f->vals + f->ptr[e] : NULL;
    return REC_OK;
}

REC_API rec_status rec_dataset_feature_text(const rec_dataset *d, rec_side side, int k,
                                            int32_t e, const char **text)
{
    static const char fn[] = "rec_dataset_feature_text";
    rec_field *f;
    REC_CHECK_ARG(text, fn, "out is NULL");
    REC_TRY(get_field(d, side, k, fn, &f));
    REC_TRY(want_type(f, REC_FEATURE_TEXT, REC_FEATURE_TEXT, fn));
    REC_TRY(entity_ok(d, side, e, fn));
    *text = f->text + f->toff[e];
    return REC_OK;
}

REC_API rec_status rec_dataset_set_vector(rec_dataset *d, rec_side side, const char *name,
                                          const char *id, const float *v, size_t dim,
                                          int create_ids)
{
    static const char fn[] = "rec_dataset_set_vector";
    REC_TRY(check_side(d, side, fn));
    REC_CHECK_ARG(name, fn, "name is NULL");
    REC_CHECK_ARG(id && *id, fn, "id is NULL or empty");
    REC_CHECK_ARG(v, fn, "v is NULL");
    if (dim < 1 || dim > (1u << 20))
        return rec_err(REC_E_INVALID, "%s: dim %zu outside [1, 1048576]", fn, dim);
    for (size_t j = 0; j < dim; j++)
        if (!isfinite(v[j]))
            return rec_err(REC_E_INVALID, "%s: field '%s': v[%zu] is not finite", fn, name, j);
    rec_features *fs;
    REC_TRY(rec_ds_own_features(d, side, &fs, fn));
    int k = rec_features_find(fs, name);
    if (k < 0)
        return rec_err(REC_E_NOTFOUND, "%s: no %s field '%s'", fn,
                       side == REC_SIDE_USER ? "user" : "item", name);
    rec_field *f = fs->f[k];
    REC_TRY(want_type(f, REC_FEATURE_DENSE, REC_FEATURE_DENSE, fn));
    if (f->vdim && (int32_t)dim != f->vdim)
        return rec_err(REC_E_INVALID, "%s: field '%s' has %d dims, the vector %zu", fn, name,
                       (int)f->vdim, dim);
    int32_t e;
    if (create_ids) {
        REC_TRY(rec_ds_intern(d, side, id, strlen(id), &e, fn));
    } else {
        e = rec_idmap_find(side == REC_SIDE_USER ? d->users : d->items, id, strlen(id));
        if (e < 0)
            return rec_err(REC_E_NOTFOUND, "%s: unknown %s id '%s'", fn,
                           side == REC_SIDE_USER ? "user" : "item", id);
    }
    if (rec_field_put_vectors(f, &e, v, 1, (int32_t)dim))
        return rec_nomem(fn);
    return REC_OK;
}

REC_API rec_status rec_dataset_feature_vector(const rec_dataset *d, rec_side side, int k,
                                              int32_t e, float *out, size_t *dim)
{
    static const char fn[] = "rec_dataset_feature_vector";
    rec_field *f;
    REC_CHECK_ARG(dim, fn, "dim is NULL");
    REC_TRY(get_field(d, side, k, fn, &f));
    REC_TRY(want_type(f, REC_FEATURE_DENSE, REC_FEATURE_DENSE, fn));
    *dim = (size_t)f->vdim;
    if (!out)
        return REC_OK;
    REC_TRY(entity_ok(d, side, e, fn));
    rec_field_vector(f, e, out);
    return REC_OK;
}

REC_API rec_status rec_dataset_normalize(rec_dataset *d, rec_side side, const char *name,
                                         const char *method)
{
    static const char fn[] = "rec_dataset_normalize";
    REC_TRY(check_side(d, side, fn));
    REC_CHECK_ARG(name && method, fn, "name or method is NULL");
    rec_features *fs0 = side_fs(d, side);
    int k0 = rec_features_find(fs0, name);
    if (k0 >= 0 && fs0->f[k0]->type == REC_FEATURE_DENSE) {
        int dm = rec_field_dense_norm(method);
        if (dm < 0)
            return rec_err(REC_E_INVALID, "%s: method '%s' is not one of none|l2|zscore "
                           "(field '%s' is dense)", fn, method, name);
        fs0->f[k0]->norm = dm; /* statistics are always kept: a read-time view */
        return REC_OK;
    }
    static const char *names[] = { "none", "minmax", "zscore", "log1p", "log1p-zscore" };
    int m = -1;
    for (int k = 0; k < 5; k++)
        if (strcmp(method, names[k]) == 0)
            m = k;
    if (m < 0)
        return rec_err(REC_E_INVALID,
                       "%s: method '%s' is not one of none|minmax|zscore|log1p|log1p-zscore", fn,
                       method);
    rec_features *fs = side_fs(d, side);
    int k = rec_features_find(fs, name);
    if (k < 0)
        return rec_err(REC_E_NOTFOUND, "%s: no %s field '%s'", fn,
                       side == REC_SIDE_USER ? "user" : "item", name);
    rec_field *f = fs->f[k];
    REC_TRY(want_type(f, REC_FEATURE_NUMERIC, REC_FEATURE_NUMERIC, fn));
    /* Normalisation is a read-time view: sharing with splits is harmless. */
    f->norm = m;
    if (f->ready)
        numeric_stats(f);
    return REC_OK;
}

REC_API rec_status rec_dataset_cross(rec_dataset *d, rec_side side, const char *a,
                                     const char *b, int buckets, int *index)
{
    static const char fn[] = "rec_dataset_cross";
    REC_TRY(check_side(d, side, fn));
    REC_CHECK_ARG(a && b, fn, "field name is NULL");
    rec_features *fs;
    REC_TRY(rec_ds_own_features(d, side, &fs, fn));
    int ka = rec_features_find(fs, a), kb = rec_features_find(fs, b);
    if (ka < 0 || kb < 0)
        return rec_err(REC_E_NOTFOUND, "%s: no field '%s'", fn, ka < 0 ? a : b);
    int num = fs->f[ka]->type == REC_FEATURE_NUMERIC || fs->f[kb]->type == REC_FEATURE_NUMERIC;
    if (fs->f[ka]->type == REC_FEATURE_TEXT || fs->f[kb]->type == REC_FEATURE_TEXT)
        return rec_err(REC_E_INVALID, "%s: text fields cannot be crossed", fn);
    if (fs->f[ka]->type == REC_FEATURE_DENSE || fs->f[kb]->type == REC_FEATURE_DENSE)
        return rec_err(REC_E_INVALID, "%s: dense fields cannot be crossed", fn);
    if (num && (buckets < 2 || buckets > 1000))
        return rec_err(REC_E_RANGE, "%s: buckets %d outside [2, 1000]", fn, buckets);
    char name[256];
    if ((size_t)snprintf(name, sizeof name, "%s x %s", a, b) >= sizeof name)
        return rec_err(REC_E_INVALID, "%s: field names too long", fn);
    int k;
    REC_TRY(rec_features_add(fs, name, REC_FEATURE_MULTIHOT, &k, fn));
    fs->f[k]->cross_a = ka;
    fs->f[k]->cross_b = kb;
    fs->f[k]->buckets = num ? buckets : 1;
    fs->f[k]->ready = 0;
    if (index)
        *index = k;
    return REC_OK;
}

/* ---- internal accessors ------------------------------------------------------ */

int rec_ds_num_fields(const rec_dataset *d, rec_side side)
{
    rec_features *fs = side_fs(d, side);
    return fs ? fs->n : 0;
}

const rec_field *rec_ds_field_at(const rec_dataset *d, rec_side side, int k)
{
    rec_features *fs = side_fs(d, side);
    if (!fs || k < 0 || k >= fs->n || ensure_ready(d, side, "rec_ds_field"))
        return NULL;
    return fs->f[k];
}

const rec_field *rec_ds_field(const rec_dataset *d, rec_side side, const char *name)
{
    return rec_ds_field_at(d, side, rec_features_find(side_fs(d, side), name));
}

const char *rec_ds_item_text(const rec_dataset *d, int32_t i, const char *field)
{
    const rec_field *f = rec_ds_field(d, REC_SIDE_ITEM, field);
    if (!f || f->type != REC_FEATURE_TEXT || i < 0 || i >= f->rows)
        return "";
    return f->text + f->toff[i];
}

const int32_t *rec_ds_item_multihot(const rec_dataset *d, int32_t i, const char *field,
                                    int32_t *n)
{
    const rec_field *f = rec_ds_field(d, REC_SIDE_ITEM, field);
    *n = 0;
    if (!f || f->type != REC_FEATURE_MULTIHOT || i < 0 || i >= f->rows)
        return NULL;
    *n = (int32_t)(f->ptr[i + 1] - f->ptr[i]);
    return f->vals + f->ptr[i];
}

int32_t rec_ds_field_vocab_size(const rec_field *f)
{
    return f && f->vocab ? f->vocab->n : 0;
}
