/* Per-interaction context: categorical values of a row rather than of its
 * user or item (the device, the country, the hour it happened), declared
 * per dataset and copied into splits with their rows, plus the hour and
 * weekday derived from the timestamps.  Models read a context like a
 * categorical field whose entity is the row. */
#include "data/data-impl.h"

#include <stdio.h>
#include <string.h>

int rec_ctx_derived(const char *name)
{
    return !strcmp(name, "time:hour") ? REC_CTX_HOUR
         : !strcmp(name, "time:weekday") ? REC_CTX_WEEKDAY : REC_CTX_DECLARED;
}

int32_t rec_ctx_time_code(int kind, int64_t t)
{
    int64_t day = t / 86400, sec = t % 86400;
    if (sec < 0) { /* floor division: -1 s is 23:59:59 of 1969-12-31 */
        sec += 86400;
        day--;
    }
    if (kind == REC_CTX_HOUR)
        return (int32_t)(sec / 3600);
    /* day 0 (1970-01-01) was a Thursday: 3 with Monday 0 */
    int64_t w = (day + 3) % 7;
    return (int32_t)(w < 0 ? w + 7 : w);
}

static int find(const rec_dataset *d, const char *name)
{
    for (int k = 0; k < d->nctx; k++)
        if (!strcmp(d->ctx[k].name, name))
            return k;
    return -1;
}

void rec_ds_ctx_free(rec_dataset *d)
{
    for (int k = 0; k < d->nctx; k++) {
        rec_free(d->ctx[k].name, strlen(d->ctx[k].name) + 1);
        rec_idmap_unref(d->ctx[k].vocab);
        rec_free(d->ctx[k].code, (size_t)(d->cap ? d->cap : 1) * sizeof *d->ctx[k].code);
    }
    rec_free(d->ctx, (size_t)d->nctx * sizeof *d->ctx);
    d->ctx = NULL;
    d->nctx = 0;
}

rec_status rec_ds_ctx_resize(rec_dataset *d, int64_t cap)
{
    if (!d->nctx)
        return REC_OK;
    int32_t *col[64];
    int32_t **nw = d->nctx <= 64 ? col : rec_malloc((size_t)d->nctx * sizeof *nw);
    if (!nw)
        return REC_E_NOMEM;
    size_t bytes = (size_t)(cap ? cap : 1) * sizeof(int32_t);
    int k = 0;
    for (; k < d->nctx; k++)
        if (!(nw[k] = rec_malloc(bytes)))
            break;
    rec_status st = REC_OK;
    if (k < d->nctx) {
        while (k--)
            rec_free(nw[k], bytes);
        st = REC_E_NOMEM;
    } else {
        for (k = 0; k < d->nctx; k++) {
            int32_t *old = d->ctx[k].code;
            int64_t keep = d->n < cap ? d->n : cap;
            if (keep && old)
                memcpy(nw[k], old, (size_t)keep * sizeof *old);
            for (int64_t r = keep; r < cap; r++)
                nw[k][r] = -1;
            rec_free(old, (size_t)(d->cap ? d->cap : 1) * sizeof *old);
            d->ctx[k].code = nw[k];
        }
    }
    if (nw != col)
        rec_free(nw, (size_t)d->nctx * sizeof *nw);
    return st;
}

/* Appends field name with vocabulary vocab (a reference taken) and a
 * column of d->cap missing codes. */
static rec_status append(rec_dataset *d, const char *name, rec_idmap *vocab)
{
    size_t nl = strlen(name) + 1, cb = (size_t)(d->cap ? d->cap : 1) * sizeof(int32_t);
    char *nm = rec_malloc(nl);
    int32_t *code = rec_malloc(cb);
    rec_ctxcol *a = rec_malloc(((size_t)d->nctx + 1) * sizeof *a);
    if (!a || !nm || !code) {
        rec_free(a, a ? ((size_t)d->nctx + 1) * sizeof *a : 0);
        rec_free(nm, nl);
        rec_free(code, cb);
        return REC_E_NOMEM;
    }
    if (d->nctx)
        memcpy(a, d->ctx, (size_t)d->nctx * sizeof *a);
    rec_free(d->ctx, (size_t)d->nctx * sizeof *a);
    d->ctx = a;
    memcpy(nm, name, nl);
    for (int64_t r = 0; r < d->cap; r++)
        code[r] = -1;
    a[d->nctx++] = (rec_ctxcol){ nm, rec_idmap_ref(vocab), code };
    return REC_OK;
}

rec_status rec_ds_ctx_like(rec_dataset *dst, const rec_dataset *src)
{
    for (int k = 0; k < src->nctx; k++)
        REC_TRY(append(dst, src->ctx[k].name, src->ctx[k].vocab));
    return REC_OK;
}

rec_status rec_ds_context_add(rec_dataset *d, const char *name, int *index, const char *fn)
{
    if (!name || !*name)
        return rec_err(REC_E_INVALID, "%s: context name is NULL or empty", fn);
    if (!strncmp(name, "time:", 5))
        return rec_err(REC_E_INVALID, "%s: context names starting with 'time:' are derived "
                       "from the timestamps (time:hour, time:weekday), not declared", fn);
    int k = find(d, name);
    if (k < 0) {
        rec_idmap *v;
        if (rec_idmap_create(&v))
            return rec_nomem(fn);
        rec_status st = append(d, name, v);
        rec_idmap_unref(v);
        if (st)
            return rec_nomem(fn);
        k = d->nctx - 1;
    }
    if (index)
        *index = k;
    return REC_OK;
}

rec_status rec_ds_context_put(rec_dataset *d, int k, int64_t r, const char *s, size_t len,
                              const char *fn)
{
    rec_ctxcol *c = &d->ctx[k];
    if (!len) {
        c->code[r] = -1;
        return REC_OK;
    }
    int32_t code = rec_idmap_find(c->vocab, s, len);
    if (code < 0) {
        /* a vocabulary shared with a split gets a copy first, as id maps do */
        if (__atomic_load_n(&c->vocab->refs, __ATOMIC_ACQUIRE) > 1) {
            rec_idmap *v;
            if (rec_idmap_clone(c->vocab, &v))
                return rec_nomem(fn);
            rec_idmap_unref(c->vocab);
            c->vocab = v;
        }
        rec_status st = rec_idmap_intern(c->vocab, s, len, &code, NULL);
        if (st == REC_E_NOMEM)
            return rec_nomem(fn);
        if (st)
            return rec_err(st, "%s: context '%s': too many distinct values", fn, c->name);
    }
    c->code[r] = code;
    return REC_OK;
}

static int unix_times(const rec_dataset *d)
{
    return d->has_t == 1 && !d->src_synth_time;
}

rec_status rec_ds_context_vocab(const rec_dataset *d, const char *name, rec_idmap **vocab,
                                const char *fn)
{
    int kind = rec_ctx_derived(name);
    if (kind) {
        if (!unix_times(d))
            return rec_err(REC_E_STATE, "%s: context '%s' is derived from the timestamps, and "
                           "the dataset has %s", fn, name,
                           d->has_t == 1 ? "only file-order ones" : "none");
        rec_idmap *v;
        if (rec_idmap_create(&v))
            return rec_nomem(fn);
        for (int j = 0; j < (kind == REC_CTX_HOUR ? 24 : 7); j++) {
            char b[4];
            int n = snprintf(b, sizeof b, "%d", j);
            int32_t code;
            if (rec_idmap_intern(v, b, (size_t)n, &code, NULL)) {
                rec_idmap_unref(v);
                return rec_nomem(fn);
            }
        }
        *vocab = v;
        return REC_OK;
    }
    int k = find(d, name);
    if (k < 0)
        return rec_err(REC_E_INVALID, "%s: '%s' is not a context of the dataset (declare it "
                       "with rec_dataset_add_context or the loader's context option, or use "
                       "time:hour, time:weekday)", fn, name);
    *vocab = rec_idmap_ref(d->ctx[k].vocab);
    return REC_OK;
}

int rec_ds_context_known(const rec_dataset *d, const char *name)
{
    return rec_ctx_derived(name) || find(d, name) >= 0;
}

void rec_ds_context_fill(const rec_dataset *d, const char *name, int32_t *codes)
{
    int kind = rec_ctx_derived(name);
    if (kind) {
        for (int64_t r = 0; r < d->n; r++)
            codes[r] = rec_ctx_time_code(kind, d->t[r]);
        return;
    }
    int k = find(d, name);
    if (d->n)
        memcpy(codes, d->ctx[k].code, (size_t)d->n * sizeof *codes);
}

/* ---- public ------------------------------------------------------------------ */

REC_API rec_status rec_dataset_add_context(rec_dataset *d, const char *name, int *index)
{
    REC_CHECK_ARG(d, "rec_dataset_add_context", "dataset is NULL");
    return rec_ds_context_add(d, name, index, "rec_dataset_add_context");
}

REC_API rec_status rec_dataset_set_context(rec_dataset *d, int64_t row, const char *name,
                                           const char *value)
{
    static const char fn[] = "rec_dataset_set_context";
    REC_CHECK_ARG(d && name, fn, "dataset or name is NULL");
    if (rec_ctx_derived(name))
        return rec_err(REC_E_INVALID, "%s: '%s' is derived from the row's timestamp and "
                       "cannot be set", fn, name);
    int k = find(d, name);
    if (k < 0)
        return rec_err(REC_E_INVALID, "%s: no context field '%s' (declare it with "
                       "rec_dataset_add_context)", fn, name);
    if (row < 0 || row >= d->n)
        return rec_err(REC_E_RANGE, "%s: row %lld of %lld", fn, (long long)row,
                       (long long)d->n);
    return rec_ds_context_put(d, k, row, value ? value : "", value ? strlen(value) : 0, fn);
}

REC_API rec_status rec_dataset_num_contexts(const rec_dataset *d, int *n)
{
    REC_CHECK_ARG(d && n, "rec_dataset_num_contexts", "dataset or n is NULL");
    *n = d->nctx;
    return REC_OK;
}

REC_API rec_status rec_dataset_context_name(const rec_dataset *d, int k, const char **name)
{
    static const char fn[] = "rec_dataset_context_name";
    REC_CHECK_ARG(d && name, fn, "dataset or name is NULL");
    if (k < 0 || k >= d->nctx)
        return rec_err(REC_E_RANGE, "%s: context %d of %d", fn, k, d->nctx);
    *name = d->ctx[k].name;
    return REC_OK;
}

REC_API rec_status rec_dataset_context_value(const rec_dataset *d, int64_t row,
                                             const char *name, const char **value)
{
    static const char fn[] = "rec_dataset_context_value";
    static const char *const digits[24] = { "0",  "1",  "2",  "3",  "4",  "5",  "6",  "7",
                                            "8",  "9",  "10", "11", "12", "13", "14", "15",
                                            "16", "17", "18", "19", "20", "21", "22", "23" };
    REC_CHECK_ARG(d && name && value, fn, "dataset, name or value is NULL");
    *value = NULL;
    int kind = rec_ctx_derived(name), k = kind ? -1 : find(d, name);
    if (kind && !unix_times(d))
        return rec_err(REC_E_STATE, "%s: context '%s' is derived from the timestamps, and "
                       "the dataset has %s", fn, name,
                       d->has_t == 1 ? "only file-order ones" : "none");
    if (!kind && k < 0)
        return rec_err(REC_E_INVALID, "%s: '%s' is not a context of the dataset", fn, name);
    if (row < 0 || row >= d->n)
        return rec_err(REC_E_RANGE, "%s: row %lld of %lld", fn, (long long)row,
                       (long long)d->n);
    if (kind) {
        *value = digits[rec_ctx_time_code(kind, d->t[row])];
        return REC_OK;
    }
    int32_t c = d->ctx[k].code[row];
    *value = c >= 0 ? rec_idmap_name(d->ctx[k].vocab, c) : NULL;
    return REC_OK;
}
