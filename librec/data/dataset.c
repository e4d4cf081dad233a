/* The dataset: interaction columns over shared id maps, counts, id lookups,
 * the cached per-user / per-item CSR views and the fingerprint. */
#include "data/data-impl.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

REC_API rec_status rec_dataset_create(rec_dataset **out)
{
    REC_CHECK_ARG(out, "rec_dataset_create", "out is NULL");
    *out = NULL;
    rec_dataset *d = rec_calloc(1, sizeof *d);
    if (!d)
        return rec_nomem("rec_dataset_create");
    d->has_r = d->has_t = -1;
    d->src_header = -1;
    if (rec_idmap_create(&d->users) || rec_idmap_create(&d->items)) {
        rec_dataset_destroy(d);
        return rec_nomem("rec_dataset_create");
    }
    *out = d;
    return REC_OK;
}

void rec_ds_drop_caches(rec_dataset *d)
{
    size_t nu = (size_t)d->ucsr_n, ni = (size_t)d->icsr_n, n = (size_t)d->n;
    if (d->uptr) {
        rec_free(d->uptr, (nu + 1) * sizeof *d->uptr);
        rec_free(d->urow, n * sizeof *d->urow);
        rec_free(d->uitem, n * sizeof *d->uitem);
        rec_free(d->urat, d->urat ? n * sizeof *d->urat : 0);
    }
    if (d->iptr) {
        rec_free(d->iptr, (ni + 1) * sizeof *d->iptr);
        rec_free(d->irow, n * sizeof *d->irow);
        rec_free(d->iuser, n * sizeof *d->iuser);
        rec_free(d->irat, d->irat ? n * sizeof *d->irat : 0);
    }
    d->uptr = d->urow = d->iptr = d->irow = NULL;
    d->uitem = d->iuser = NULL;
    d->urat = d->irat = NULL;
}

REC_API void rec_dataset_destroy(rec_dataset *d)
{
    if (!d)
        return;
    rec_ds_drop_caches(d);
    rec_ds_ctx_free(d);
    size_t c = (size_t)d->cap;
    rec_free(d->u, c * sizeof *d->u);
    rec_free(d->i, c * sizeof *d->i);
    rec_free(d->r, c * sizeof *d->r);
    rec_free(d->t, c * sizeof *d->t);
    if (d->grow)
        rec_free(d->grow, (size_t)d->gcount * sizeof *d->grow);
    rec_idmap_unref(d->users);
    rec_idmap_unref(d->items);
    rec_features_unref(d->ufeat);
    rec_features_unref(d->ifeat);
    rec_free(d->warn, d->warn_cap);
    rec_free(d, sizeof *d);
}

rec_status rec_ds_warn(rec_dataset *d, const char *fmt, ...)
{
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof line - 1 ? (size_t)n : sizeof line - 2;
    line[len++] = '\n';
    size_t have = d->warn ? strlen(d->warn) : 0;
    if (have + len + 1 > d->warn_cap) {
        size_t cap = (have + len + 1) * 2;
        char *w = rec_realloc(d->warn, d->warn_cap, cap);
        if (!w)
            return REC_E_NOMEM;
        d->warn = w;
        d->warn_cap = cap;
    }
    memcpy(d->warn + have, line, len);
    d->warn[have + len] = 0;
    return REC_OK;
}

static rec_status grow(rec_dataset *d)
{
    int64_t nc = d->cap ? d->cap * 2 : 256;
    size_t o = (size_t)d->cap, n = (size_t)nc;
    /* New blocks first, old ones freed only when all succeeded. */
    int32_t *u = rec_malloc(n * sizeof *u), *i = rec_malloc(n * sizeof *i);
    float *r = d->has_r == 1 ? rec_malloc(n * sizeof *r) : NULL;
    int64_t *t = d->has_t == 1 ? rec_malloc(n * sizeof *t) : NULL;
    if (!u || !i || (d->has_r == 1 && !r) || (d->has_t == 1 && !t)) {
        rec_free(u, n * sizeof *u);
        rec_free(i, n * sizeof *i);
        rec_free(r, n * sizeof *r);
        rec_free(t, n * sizeof *t);
        return REC_E_NOMEM;
    }
    if (rec_ds_ctx_resize(d, nc)) {
        rec_free(u, n * sizeof *u);
        rec_free(i, n * sizeof *i);
        rec_free(r, n * sizeof *r);
        rec_free(t, n * sizeof *t);
        return REC_E_NOMEM;
    }
    size_t k = (size_t)d->n;
    if (k) {
        memcpy(u, d->u, k * sizeof *u);
        memcpy(i, d->i, k * sizeof *i);
        if (r)
            memcpy(r, d->r, k * sizeof *r);
        if (t)
            memcpy(t, d->t, k * sizeof *t);
    }
    rec_free(d->u, o * sizeof *u);
    rec_free(d->i, o * sizeof *i);
    rec_free(d->r, o * sizeof *r);
    rec_free(d->t, o * sizeof *t);
    d->u = u;
    d->i = i;
    d->r = r;
    d->t = t;
    d->cap = nc;
    return REC_OK;
}

rec_status rec_ds_push(rec_dataset *d, int32_t u, int32_t i, float r, int64_t t)
{
    if (d->n == d->cap) {
        if (d->n >= INT32_MAX)
            return REC_E_RANGE;
        REC_TRY(grow(d));
    }
    if (d->uptr || d->iptr)
        rec_ds_drop_caches(d);
    d->u[d->n] = u;
    d->i[d->n] = i;
    if (d->r)
        d->r[d->n] = r;
    if (d->t)
        d->t[d->n] = t;
    for (int k = 0; k < d->nctx; k++)
        d->ctx[k].code[d->n] = -1;
    d->n++;
    return REC_OK;
}

rec_status rec_ds_new_like(const rec_dataset *src, rec_dataset **out)
{
    rec_dataset *d = rec_calloc(1, sizeof *d);
    if (!d)
        return REC_E_NOMEM;
    d->users = rec_idmap_ref(src->users);
    d->items = rec_idmap_ref(src->items);
    d->ufeat = src->ufeat;
    d->ifeat = src->ifeat;
    if (d->ufeat)
        __atomic_add_fetch(&d->ufeat->refs, 1, __ATOMIC_RELAXED);
    if (d->ifeat)
        __atomic_add_fetch(&d->ifeat->refs, 1, __ATOMIC_RELAXED);
    d->has_r = src->has_r;
    d->has_t = src->has_t;
    d->src_header = -1;
    if (rec_ds_ctx_like(d, src)) {
        rec_dataset_destroy(d);
        return REC_E_NOMEM;
    }
    *out = d;
    return REC_OK;
}

rec_status rec_ds_intern(rec_dataset *d, rec_side side, const char *s, size_t len,
                         int32_t *idx, const char *fn)
{
    rec_idmap **m = side == REC_SIDE_USER ? &d->users : &d->items;
    int32_t k = rec_idmap_find(*m, s, len);
    if (k >= 0) {
        *idx = k;
        return REC_OK;
    }
    if (__atomic_load_n(&(*m)->refs, __ATOMIC_ACQUIRE) > 1) {
        rec_idmap *c;
        if (rec_idmap_clone(*m, &c))
            return rec_nomem(fn);
        rec_idmap_unref(*m);
        *m = c;
    }
    rec_status st = rec_idmap_intern(*m, s, len, idx, NULL);
    if (st == REC_E_NOMEM)
        return rec_nomem(fn);
    if (st)
        return rec_err(st, "%s: more than %d %s ids", fn, INT32_MAX,
                       side == REC_SIDE_USER ? "user" : "item");
    /* Per-entity caches are sized by the number of ids. */
    if (d->uptr || d->iptr)
        rec_ds_drop_caches(d);
    return REC_OK;
}

REC_API rec_status rec_dataset_add(rec_dataset *d, const char *user, const char *item,
                                   double rating, int64_t timestamp)
{
    static const char fn[] = "rec_dataset_add";
    REC_CHECK_ARG(d, fn, "dataset is NULL");
    REC_CHECK_ARG(user && *user, fn, "user id is NULL or empty");
    REC_CHECK_ARG(item && *item, fn, "item id is NULL or empty");
    int hr = !isnan(rating), ht = timestamp != REC_NO_TIME;
    /* Ratings are stored as floats: 1e39 is finite as a double but not as
     * a float, and an infinite rating poisons every model trained on it. */
    if (hr && !isfinite((float)rating))
        return rec_err(REC_E_INVALID, "%s: rating %g is not a finite float (|rating| < 3.4e38)",
                       fn, rating);
    if (d->has_r >= 0 && d->has_r != hr)
        return rec_err(REC_E_INVALID, "%s: the dataset %s ratings but this row %s one", fn,
                       d->has_r ? "has" : "has no", hr ? "has" : "lacks");
    if (d->has_t >= 0 && d->has_t != ht)
        return rec_err(REC_E_INVALID, "%s: the dataset %s timestamps but this row %s one", fn,
                       d->has_t ? "has" : "has no", ht ? "has" : "lacks");
    if (d->n >= INT32_MAX)
        return rec_err(REC_E_RANGE, "%s: too many rows", fn);
    /* Keep d unchanged on failure: ids interned before a failed push stay
     * (harmless: an id with no rows), but the row is not half-written. */
    int32_t u, i;
    REC_TRY(rec_ds_intern(d, REC_SIDE_USER, user, strlen(user), &u, fn));
    REC_TRY(rec_ds_intern(d, REC_SIDE_ITEM, item, strlen(item), &i, fn));
    if (d->has_r < 0) {
        d->has_r = hr;
        d->has_t = ht;
    }
    rec_status st = rec_ds_push(d, u, i, (float)rating, timestamp);
    if (st == REC_E_NOMEM)
        return rec_nomem(fn);
    return st;
}

/* ---- counts and ids ---------------------------------------------------- */

int32_t rec_ds_num_users(const rec_dataset *d) { return d->users->n; }
int32_t rec_ds_num_items(const rec_dataset *d) { return d->items->n; }
int64_t rec_ds_num_rows(const rec_dataset *d) { return d->n; }
const int32_t *rec_ds_users_col(const rec_dataset *d) { return d->u; }
const int32_t *rec_ds_items_col(const rec_dataset *d) { return d->i; }
const float *rec_ds_ratings_col(const rec_dataset *d) { return d->has_r == 1 ? d->r : NULL; }
const int64_t *rec_ds_times_col(const rec_dataset *d) { return d->has_t == 1 ? d->t : NULL; }
rec_idmap *rec_ds_user_map(const rec_dataset *d) { return d->users; }
rec_idmap *rec_ds_item_map(const rec_dataset *d) { return d->items; }

const char *rec_ds_user_name(const rec_dataset *d, int32_t u)
{
    return u >= 0 && u < d->users->n ? rec_idmap_name(d->users, u) : NULL;
}

const char *rec_ds_item_name(const rec_dataset *d, int32_t i)
{
    return i >= 0 && i < d->items->n ? rec_idmap_name(d->items, i) : NULL;
}

static rec_status find(const rec_idmap *m, const char *ext, int32_t *out, const char *fn,
                       const char *what)
{
    REC_CHECK_ARG(ext, fn, "id is NULL");
    REC_CHECK_ARG(out, fn, "out is NULL");
    int32_t k = rec_idmap_find(m, ext, strlen(ext));
    if (k < 0)
        return rec_err(REC_E_NOTFOUND, "%s: unknown %s id '%s'", fn, what, ext);
    *out = k;
    return REC_OK;
}

rec_status rec_ds_user_find(const rec_dataset *d, const char *ext, int32_t *u)
{
    return find(d->users, ext, u, "rec_ds_user_find", "user");
}

rec_status rec_ds_item_find(const rec_dataset *d, const char *ext, int32_t *i)
{
    return find(d->items, ext, i, "rec_ds_item_find", "item");
}

#define COUNT_FN(name, type, expr)                                           \
    REC_API rec_status name(const rec_dataset *d, type *n)                   \
    {                                                                        \
        REC_CHECK_ARG(d, #name, "dataset is NULL");                          \
        REC_CHECK_ARG(n, #name, "out is NULL");                              \
        *n = (expr);                                                         \
        return REC_OK;                                                       \
    }
COUNT_FN(rec_dataset_num_users, int32_t, d->users->n)
COUNT_FN(rec_dataset_num_items, int32_t, d->items->n)
COUNT_FN(rec_dataset_num_interactions, int64_t, d->n)
COUNT_FN(rec_dataset_has_ratings, int, d->has_r == 1)
COUNT_FN(rec_dataset_has_timestamps, int, d->has_t == 1)

REC_API rec_status rec_dataset_row(const rec_dataset *d, int64_t r, int32_t *user,
                                   int32_t *item, double *rating, int64_t *timestamp)
{
    REC_CHECK_ARG(d, "rec_dataset_row", "dataset is NULL");
    if (r < 0 || r >= d->n)
        return rec_err(REC_E_RANGE, "rec_dataset_row: row %lld outside [0, %lld)",
                       (long long)r, (long long)d->n);
    if (user)
        *user = d->u[r];
    if (item)
        *item = d->i[r];
    if (rating)
        *rating = d->has_r == 1 ? (double)d->r[r] : NAN;
    if (timestamp)
        *timestamp = d->has_t == 1 ? d->t[r] : REC_NO_TIME;
    return REC_OK;
}

static rec_status id_of(const rec_idmap *m, int32_t k, const char **id, const char *fn,
                        const char *what)
{
    REC_CHECK_ARG(id, fn, "out is NULL");
    if (k < 0 || k >= m->n)
        return rec_err(REC_E_RANGE, "%s: %s index %d outside [0, %d)", fn, what, (int)k,
                       (int)m->n);
    *id = rec_idmap_name(m, k);
    return REC_OK;
}

REC_API rec_status rec_dataset_user_id(const rec_dataset *d, int32_t u, const char **id)
{
    REC_CHECK_ARG(d, "rec_dataset_user_id", "dataset is NULL");
    return id_of(d->users, u, id, "rec_dataset_user_id", "user");
}

REC_API rec_status rec_dataset_item_id(const rec_dataset *d, int32_t i, const char **id)
{
    REC_CHECK_ARG(d, "rec_dataset_item_id", "dataset is NULL");
    return id_of(d->items, i, id, "rec_dataset_item_id", "item");
}

REC_API rec_status rec_dataset_user_index(const rec_dataset *d, const char *id, int32_t *u)
{
    REC_CHECK_ARG(d, "rec_dataset_user_index", "dataset is NULL");
    return find(d->users, id, u, "rec_dataset_user_index", "user");
}

REC_API rec_status rec_dataset_item_index(const rec_dataset *d, const char *id, int32_t *i)
{
    REC_CHECK_ARG(d, "rec_dataset_item_index", "dataset is NULL");
    return find(d->items, id, i, "rec_dataset_item_index", "item");
}

/* ---- CSR views ------------------------------------------------------------ */

/* Rows grouped by key (user or item) and, within a key, ordered by
 * (timestamp, row): a counting sort by key keeps row order, then each group
 * is insertion/merge sorted by timestamp (stable). */
static void sort_group_by_time(int64_t *rows, int64_t n, const int64_t *t, int64_t *tmp)
{
    if (n < 2)
        return;
    if (n <= 16) {
        for (int64_t a = 1; a < n; a++) {
            int64_t x = rows[a], b = a;
            while (b > 0 && t[rows[b - 1]] > t[x]) {
                rows[b] = rows[b - 1];
                b--;
            }
            rows[b] = x;
        }
        return;
    }
    int64_t h = n / 2;
    sort_group_by_time(rows, h, t, tmp);
    sort_group_by_time(rows + h, n - h, t, tmp);
    int64_t a = 0, b = h, o = 0;
    while (a < h && b < n)
        tmp[o++] = t[rows[b]] < t[rows[a]] ? rows[b++] : rows[a++];
    while (a < h)
        tmp[o++] = rows[a++];
    while (b < n)
        tmp[o++] = rows[b++];
    memcpy(rows, tmp, (size_t)n * sizeof *rows);
}

static rec_status build_csr(const rec_dataset *d, const int32_t *key, const int32_t *other,
                            int32_t nkeys, int64_t **pptr, int64_t **prow, int32_t **pval,
                            float **prat)
{
    size_t n = (size_t)d->n, nk = (size_t)nkeys;
    int64_t *ptr = rec_calloc(nk + 1, sizeof *ptr);
    int64_t *row = rec_malloc(n * sizeof *row);
    int32_t *val = rec_malloc(n * sizeof *val);
    float *rat = d->has_r == 1 ? rec_malloc(n * sizeof *rat) : NULL;
    int64_t *tmp = d->has_t == 1 ? rec_malloc(n * sizeof *tmp) : NULL;
    if (!ptr || !row || !val || (d->has_r == 1 && !rat) || (d->has_t == 1 && !tmp)) {
        rec_free(ptr, (nk + 1) * sizeof *ptr);
        rec_free(row, n * sizeof *row);
        rec_free(val, n * sizeof *val);
        rec_free(rat, n * sizeof *rat);
        rec_free(tmp, n * sizeof *tmp);
        return REC_E_NOMEM;
    }
    for (size_t r = 0; r < n; r++)
        ptr[key[r] + 1]++;
    for (size_t k = 0; k < nk; k++)
        ptr[k + 1] += ptr[k];
    /* Scatter rows in order (ptr[k] serves as key k's cursor), then shift
     * ptr back so ptr[k] is the start of key k again. */
    for (size_t r = 0; r < n; r++)
        row[ptr[key[r]]++] = (int64_t)r;
    for (size_t k = nk; k > 0; k--)
        ptr[k] = ptr[k - 1];
    ptr[0] = 0;
    if (d->has_t == 1)
        for (size_t k = 0; k < nk; k++)
            sort_group_by_time(row + ptr[k], ptr[k + 1] - ptr[k], d->t, tmp);
    for (size_t e = 0; e < n; e++) {
        val[e] = other[row[e]];
        if (rat)
            rat[e] = d->r[row[e]];
    }
    rec_free(tmp, n * sizeof *tmp);
    *pptr = ptr;
    *prow = row;
    *pval = val;
    *prat = rat;
    return REC_OK;
}

static rec_status ensure_user_csr(const rec_dataset *cd)
{
    rec_dataset *d = (rec_dataset *)cd; /* the cache is logically const */
    if (d->uptr && d->ucsr_n == d->users->n)
        return REC_OK;
    if (d->uptr)
        rec_ds_drop_caches(d);
    REC_TRY(build_csr(d, d->u, d->i, d->users->n, &d->uptr, &d->urow, &d->uitem, &d->urat));
    d->ucsr_n = d->users->n;
    return REC_OK;
}

static rec_status ensure_item_csr(const rec_dataset *cd)
{
    rec_dataset *d = (rec_dataset *)cd;
    if (d->iptr && d->icsr_n == d->items->n)
        return REC_OK;
    if (d->iptr)
        rec_ds_drop_caches(d);
    REC_TRY(build_csr(d, d->i, d->u, d->items->n, &d->iptr, &d->irow, &d->iuser, &d->irat));
    d->icsr_n = d->items->n;
    return REC_OK;
}

rec_status rec_ds_user_csr(const rec_dataset *d, const int64_t **indptr, const int32_t **items,
                           const float **ratings)
{
    if (ensure_user_csr(d))
        return rec_nomem("rec_ds_user_csr");
    if (indptr)
        *indptr = d->uptr;
    if (items)
        *items = d->uitem;
    if (ratings)
        *ratings = d->urat;
    return REC_OK;
}

rec_status rec_ds_user_csr_rows(const rec_dataset *d, const int64_t **rows)
{
    if (ensure_user_csr(d))
        return rec_nomem("rec_ds_user_csr_rows");
    *rows = d->urow;
    return REC_OK;
}

rec_status rec_ds_item_csr(const rec_dataset *d, const int64_t **indptr, const int32_t **users,
                           const float **ratings)
{
    if (ensure_item_csr(d))
        return rec_nomem("rec_ds_item_csr");
    if (indptr)
        *indptr = d->iptr;
    if (users)
        *users = d->iuser;
    if (ratings)
        *ratings = d->irat;
    return REC_OK;
}

/* ---- fingerprint ------------------------------------------------------------ */

uint64_t rec_ds_fingerprint(const rec_dataset *d)
{
    /* Over external ids, so the hash does not depend on index assignment
     * beyond the rows themselves. */
    uint64_t h = rec_hash_bytes(&d->n, sizeof d->n, 0x6c69627265630001ULL);
    for (int64_t r = 0; r < d->n; r++) {
        const char *u = rec_idmap_name(d->users, d->u[r]);
        const char *i = rec_idmap_name(d->items, d->i[r]);
        uint64_t row[3];
        row[0] = rec_hash_bytes(u, strlen(u), 1);
        row[1] = rec_hash_bytes(i, strlen(i), 2);
        row[2] = 0;
        if (d->has_r == 1) {
            float x = d->r[r];
            uint32_t bits;
            memcpy(&bits, &x, sizeof bits);
            row[2] ^= bits;
        }
        if (d->has_t == 1)
            row[2] ^= (uint64_t)d->t[r] * 0x9e3779b97f4a7c15ULL;
        h = rec_hash_bytes(row, sizeof row, h);
    }
    return h;
}

REC_API rec_status rec_dataset_fingerprint(const rec_dataset *d, uint64_t *hash)
{
    REC_CHECK_ARG(d, "rec_dataset_fingerprint", "dataset is NULL");
    REC_CHECK_ARG(hash, "rec_dataset_fingerprint", "out is NULL");
    *hash = rec_ds_fingerprint(d);
    return REC_OK;
}
