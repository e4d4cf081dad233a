/* rec_dataset_load_vectors: dense vectors from a NumPy .npy file with an
 * ids file beside it (what sentence-transformers, CLIP or a graph
 * embedding job writes), or from delimited text, one entity a line.  The
 * whole file is read and checked before the dataset is touched. */
#include "data/data-impl.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FN "rec_dataset_load_vectors"
#define MAX_DIM 65536

static const rec_param_spec spec[] = {
    { "unknown", REC_PARAM_STR, "error", 0, 0, "error|skip", "an id the dataset lacks" },
    { "delimiter", REC_PARAM_STR, ",", 0, 0, ",|tab|;|\\||space", "text: field delimiter" },
    { "columns", REC_PARAM_STR, "", 0, 0, NULL,
      "text: the header's columns that make the vector, in order (default all but the id)" },
};
#define NSPEC (sizeof spec / sizeof *spec)

/* What a load gathers before it touches the dataset. */
typedef struct vecs {
    int32_t *ent;
    float *v;
    int64_t n, cap;    /* rows kept, rows allocated */
    int32_t dim;
} vecs;

static void vecs_free(vecs *x)
{
    rec_free(x->ent, (size_t)x->cap * sizeof *x->ent);
    rec_free(x->v, (size_t)x->cap * (size_t)x->dim * sizeof *x->v);
}

static rec_status vecs_alloc(vecs *x, int64_t rows, int32_t dim)
{
    x->cap = rows > 0 ? rows : 1;
    x->dim = dim;
    x->ent = rec_malloc((size_t)x->cap * sizeof *x->ent);
    x->v = rec_malloc((size_t)x->cap * (size_t)dim * sizeof *x->v);
    if (!x->ent || !x->v) {
        vecs_free(x);
        memset(x, 0, sizeof *x);
        return rec_nomem(FN);
    }
    return REC_OK;
}

/* Entity of id s[0..len) on side, or -1 (skip) / an error naming where. */
static rec_status entity(const rec_dataset *d, rec_side side, const char *s, size_t len,
                         int skip, const char *path, long line, int32_t *e)
{
    *e = rec_idmap_find(side == REC_SIDE_USER ? d->users : d->items, s, len);
    if (*e < 0 && !skip)
        return rec_err(REC_E_NOTFOUND, FN ": %s: line %ld: unknown %s id '%.*s' (option "
                       "unknown=skip drops it)", path, line,
                       side == REC_SIDE_USER ? "user" : "item", (int)len, s);
    return REC_OK;
}

/* ---- .npy ---------------------------------------------------------------- */

typedef struct blob {
    char *b;
    size_t n, cap;
} blob;

static rec_status read_all(const char *path, blob *o)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return rec_err(REC_E_IO, FN ": %s: %s", path, strerror(errno));
    o->cap = 1 << 16;
    o->n = 0;
    o->b = rec_malloc(o->cap);
    while (o->b) {
        o->n += fread(o->b + o->n, 1, o->cap - o->n, f);
        if (o->n < o->cap)
            break;
        char *nb = rec_realloc(o->b, o->cap, o->cap * 2);
        if (!nb)
            rec_free(o->b, o->cap);
        o->b = nb;
        o->cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!o->b)
        return rec_nomem(FN);
    if (bad) {
        rec_free(o->b, o->cap);
        return rec_err(REC_E_IO, FN ": %s: read error", path);
    }
    return REC_OK;
}

/* The value text after 'key': in the header dict, or NULL. */
static const char *dict_value(const char *h, size_t hn, const char *key)
{
    char q[32];
    snprintf(q, sizeof q, "'%s'", key);
    size_t qn = strlen(q);
    for (size_t i = 0; i + qn <= hn; i++)
        if (!memcmp(h + i, q, qn)) {
            const char *p = h + i + qn;
            while (p < h + hn && (*p == ' ' || *p == ':'))
                p++;
            return p;
        }
    return NULL;
}

/* Parses the .npy header: rows, dim and 4 or 8 byte floats; *data the first
 * value.  NumPy's format: magic, version, header length (2 bytes in 1.0,
 * 4 in 2.0/3.0), then a Python dict literal padded with spaces. */
static rec_status npy_header(const char *path, const blob *f, int64_t *rows, int32_t *dim,
                             int *wide, const char **data)
{
    const unsigned char *u = (const unsigned char *)f->b;
    if (f->n < 10 || memcmp(f->b, "\x93NUMPY", 6) != 0)
        return rec_err(REC_E_FORMAT, FN ": %s: not a .npy file (no \\x93NUMPY magic)", path);
    int major = u[6];
    size_t hl, off;
    if (major == 1) {
        hl = (size_t)u[8] | (size_t)u[9] << 8;
        off = 10;
    } else if ((major == 2 || major == 3) && f->n >= 12) {
        hl = (size_t)u[8] | (size_t)u[9] << 8 | (size_t)u[10] << 16 | (size_t)u[11] << 24;
        off = 12;
    } else {
        return rec_err(REC_E_FORMAT, FN ": %s: .npy format version %d.%d is not 1.0, 2.0 or 3.0",
                       path, major, u[7]);
    }
    if (off + hl > f->n)
        return rec_err(REC_E_FORMAT, FN ": %s: .npy header of %zu bytes past the end of the "
                       "file", path, hl);
    const char *h = f->b + off;
    const char *descr = dict_value(h, hl, "descr"), *fo = dict_value(h, hl, "fortran_order"),
               *shape = dict_value(h, hl, "shape");
    if (!descr || !fo || !shape)
        return rec_err(REC_E_FORMAT, FN ": %s: .npy header lacks %s", path,
                       !descr ? "'descr'" : !fo ? "'fortran_order'" : "'shape'");
    if (!strncmp(descr, "'<f4'", 5) || !strncmp(descr, "'float32'", 9))
        *wide = 0;
    else if (!strncmp(descr, "'<f8'", 5) || !strncmp(descr, "'float64'", 9))
        *wide = 1;
    else {
        const char *q = descr + (*descr == '\'');
        int qn = 0;
        while (q + qn < h + hl && q[qn] != '\'' && q[qn] != ',' && qn < 16)
            qn++;
        return rec_err(REC_E_FORMAT, FN ": %s: .npy dtype '%.*s' is not little-endian float32 "
                       "('<f4') or float64 ('<f8')", path, qn, q);
    }
    if (strncmp(fo, "False", 5) != 0)
        return rec_err(REC_E_FORMAT, FN ": %s: .npy array is in Fortran order; save it in C "
                       "order (numpy.ascontiguousarray)", path);
    long long dims[3];
    int nd = 0;
    const char *p = shape, *end = h + hl;
    if (p >= end || *p != '(')
        return rec_err(REC_E_FORMAT, FN ": %s: .npy 'shape' is not a tuple", path);
    p++;
    while (p < end && *p != ')') {
        while (p < end && (*p == ' ' || *p == ','))
            p++;
        if (p < end && *p == ')')
            break;
        char *e;
        long long v = strtoll(p, &e, 10);
        if (e == p || v < 0 || nd == 3)
            return rec_err(REC_E_FORMAT, FN ": %s: .npy 'shape' is not a tuple of 1 or 2 sizes",
                           path);
        dims[nd++] = v;
        p = e;
    }
    if (nd != 2 && nd != 1)
        return rec_err(REC_E_FORMAT, FN ": %s: .npy array has %d dimensions; want (rows, dim)",
                       path, nd);
    long long dd = nd == 2 ? dims[1] : 1;
    if (dd < 1 || dd > MAX_DIM || dims[0] > INT32_MAX)
        return rec_err(REC_E_FORMAT, FN ": %s: .npy shape (%lld, %lld) outside (2^31-1, %d)",
                       path, dims[0], dd, MAX_DIM);
    size_t need = (size_t)dims[0] * (size_t)dd * (*wide ? 8 : 4);
    if (f->n - off - hl != need)
        return rec_err(REC_E_FORMAT, FN ": %s: .npy data is %zu bytes; shape (%lld, %lld) "
                       "needs %zu", path, f->n - off - hl, dims[0], dd, need);
    *rows = dims[0];
    *dim = (int32_t)dd;
    *data = f->b + off + hl;
    return REC_OK;
}

static rec_status load_npy(const rec_dataset *d, rec_side side, const char *path,
                           const char *ids_path, int skip, vecs *x)
{
    blob f = { 0 };
    REC_TRY(read_all(path, &f));
    int64_t rows = 0;
    int32_t dim = 0;
    int wide = 0;
    const char *data = NULL;
    rec_status st = npy_header(path, &f, &rows, &dim, &wide, &data);
    rec_text t = { 0 };
    if (!st)
        st = rec_text_open(&t, ids_path, FN);
    if (!st)
        st = vecs_alloc(x, rows, dim);
    /* ids: line r names row r; every line counts, a blank one is an error. */
    long line = 0;
    size_t p = 0;
    while (!st && p < t.len) {
        size_t q = p;
        while (q < t.len && t.buf[q] != '\n')
            q++;
        size_t n = q - p;
        while (n && (t.buf[p + n - 1] == '\r' || t.buf[p + n - 1] == ' '))
            n--;
        line++;
        if (line > rows) {
            st = rec_err(REC_E_FORMAT, FN ": %s: more ids than the %lld rows of %s", ids_path,
                         (long long)rows, path);
            break;
        }
        if (!n) {
            st = rec_err(REC_E_FORMAT, FN ": %s: line %ld: empty id", ids_path, line);
            break;
        }
        int32_t e;
        st = entity(d, side, t.buf + p, n, skip, ids_path, line, &e);
        if (!st && e >= 0) {
            float *dst = x->v + (size_t)x->n * (size_t)dim;
            const char *src = data + (size_t)(line - 1) * (size_t)dim * (wide ? 8 : 4);
            for (int32_t j = 0; j < dim && !st; j++) {
                double v;
                if (wide) {
                    memcpy(&v, src + 8 * (size_t)j, 8);
                } else {
                    float fv;
                    memcpy(&fv, src + 4 * (size_t)j, 4);
                    v = fv;
                }
                if (!isfinite((float)v))
                    st = rec_err(REC_E_FORMAT, FN ": %s: row %ld, column %d: value is not a "
                                 "finite float", path, line - 1, (int)j);
                dst[j] = (float)v;
            }
            x->ent[x->n++] = e;
        }
        p = q + 1;
    }
    if (!st && line != rows)
        st = rec_err(REC_E_FORMAT, FN ": %s: %ld ids for the %lld rows of %s", ids_path, line,
                     (long long)rows, path);
    rec_text_close(&t);
    rec_free(f.b, f.cap);
    return st;
}

/* ---- delimited text ------------------------------------------------------ */

static int is_number(const rec_tok *k)
{
    double v;
    return rec_parse_double(k->s, &v);
}

static rec_status load_text(const rec_dataset *d, rec_side side, const char *path,
                            const rec_params *opts, int skip, vecs *x)
{
    const char *dopt = rec_params_str(opts, spec, NSPEC, "delimiter");
    const char *delim = !strcmp(dopt, "tab") ? "\t" : !strcmp(dopt, "space") ? NULL : dopt;
    const char *columns = rec_params_str(opts, spec, NSPEC, "columns");
    rec_text t;
    REC_TRY(rec_text_open(&t, path, FN));
    enum { MAXF = MAX_DIM + 1 };
    rec_tok *f = rec_malloc(MAXF * sizeof *f);
    int *pick = rec_malloc(MAXF * sizeof *pick);
    rec_status st = f && pick ? REC_OK : rec_nomem(FN);
    int nf = 0, np = 0, got = 0;
    long line = 0;
    if (!st) {
        got = rec_text_record(&t, delim, 1, f, MAXF, &nf, &line);
        if (got < 0)
            st = (rec_status)got;
        else if (got == 0)
            st = rec_text_error(&t, t.line, 1, "empty file: no vectors");
        else if (nf < 2)
            st = rec_text_error(&t, line, 1, "expected an id and at least one number, got %d "
                                "column", nf);
    }
    int header = !st && !is_number(&f[1]);
    if (!st && *columns && !header)
        st = rec_text_error(&t, line, 1, "option columns names header columns, and this file "
                            "has no header");
    if (!st && *columns) {
        /* The named columns of the header, in the order given. */
        rec_list_iter it;
        const char *c;
        size_t cn;
        rec_list_start(&it, columns);
        while (!st && rec_list_next(&it, &c, &cn)) {
            int found = -1;
            for (int k = 1; k < nf && found < 0; k++)
                if (f[k].len == cn && !memcmp(f[k].s, c, cn))
                    found = k;
            if (found < 0)
                st = rec_text_error(&t, line, 1, "no column '%.*s' in the header", (int)cn, c);
            else
                pick[np++] = found;
        }
    } else if (!st) {
        for (int k = 1; k < nf; k++)
            pick[np++] = k;
    }
    int width = nf;
    if (!st && header)
        got = rec_text_record(&t, delim, 1, f, MAXF, &nf, &line);
    /* Rows are not counted ahead: grow by doubling. */
    if (!st)
        st = vecs_alloc(x, 1024, np);
    float *row = !st ? rec_malloc((size_t)np * sizeof *row) : NULL;
    if (!st && !row)
        st = rec_nomem(FN);
    for (; !st && got > 0; got = rec_text_record(&t, delim, 1, f, MAXF, &nf, &line)) {
        if (nf != width) {
            st = rec_text_error(&t, line, 1, "expected %d columns, got %d", width, nf);
            break;
        }
        for (int j = 0; j < np && !st; j++) {
            double v;
            const rec_tok *k = &f[pick[j]];
            if (!rec_parse_double(k->s, &v) || !isfinite((float)v))
                st = rec_text_error(&t, line, k->col, "'%s' is not a finite number", k->s);
            row[j] = (float)v;
        }
        int32_t e = -1;
        if (!st && f[0].len == 0)
            st = rec_text_error(&t, line, 1, "empty id");
        if (!st)
            st = entity(d, side, f[0].s, f[0].len, skip, path, line, &e);
        if (st || e < 0)
            continue;
        if (x->n == x->cap) {
            vecs y;
            st = vecs_alloc(&y, x->cap * 2, np);
            if (st)
                continue;
            memcpy(y.ent, x->ent, (size_t)x->n * sizeof *y.ent);
            memcpy(y.v, x->v, (size_t)x->n * (size_t)np * sizeof *y.v);
            y.n = x->n;
            vecs_free(x);
            *x = y;
        }
        memcpy(x->v + (size_t)x->n * (size_t)np, row, (size_t)np * sizeof *row);
        x->ent[x->n++] = e;
    }
    if (!st && got < 0)
        st = (rec_status)got;
    rec_free(row, (size_t)np * sizeof *row);
    rec_free(f, MAXF * sizeof *f);
    rec_free(pick, MAXF * sizeof *pick);
    rec_text_close(&t);
    return st;
}

REC_API rec_status rec_dataset_load_vectors(rec_dataset *d, rec_side side, const char *name,
                                            const char *path, const char *ids_path,
                                            const rec_params *opts)
{
    REC_CHECK_ARG(d, FN, "dataset is NULL");
    if (side != REC_SIDE_USER && side != REC_SIDE_ITEM)
        return rec_err(REC_E_INVALID, FN ": side %d is neither REC_SIDE_USER nor REC_SIDE_ITEM",
                       (int)side);
    REC_CHECK_ARG(name && *name, FN, "name is NULL or empty");
    REC_CHECK_ARG(path, FN, "path is NULL");
    REC_TRY(rec_params_check(opts, spec, NSPEC, FN));
    size_t pl = strlen(path);
    int npy = pl >= 4 && !strcmp(path + pl - 4, ".npy");
    if (npy && !ids_path)
        return rec_err(REC_E_INVALID, FN ": %s: a .npy file needs ids_path, the file of its "
                       "rows' ids", path);
    if (!npy && ids_path)
        return rec_err(REC_E_INVALID, FN ": %s: ids_path is for .npy files; text gives the id "
                       "in its first column", path);
    rec_features *fs;
    REC_TRY(rec_ds_own_features(d, side, &fs, FN));
    int k = rec_features_find(fs, name);
    if (k >= 0 && fs->f[k]->type != REC_FEATURE_DENSE)
        return rec_err(REC_E_INVALID, FN ": field '%s' exists and is not dense", name);
    int skip = !strcmp(rec_params_str(opts, spec, NSPEC, "unknown"), "skip");
    vecs x = { 0 };
    rec_status st = npy ? load_npy(d, side, path, ids_path, skip, &x)
                        : load_text(d, side, path, opts, skip, &x);
    if (!st && k >= 0 && fs->f[k]->vdim && fs->f[k]->vdim != x.dim)
        st = rec_err(REC_E_INVALID, FN ": %s: vectors of %d dims for field '%s' of %d", path,
                     (int)x.dim, name, (int)fs->f[k]->vdim);
    if (!st && k < 0)
        st = rec_features_add(fs, name, REC_FEATURE_DENSE, &k, FN);
    if (!st && rec_field_put_vectors(fs->f[k], x.ent, x.v, x.n, x.dim))
        st = rec_nomem(FN);
    vecs_free(&x);
    return st;
}
