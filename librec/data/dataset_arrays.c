/* A dataset from whole columns at once (NumPy arrays, a C program's own
 * tables): one call instead of one rec_dataset_add per row.  Integer ids go
 * through a hash of int64 to dense index first, so each distinct id is
 * printed and interned once, not once per row. */
#include "data-impl.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Open addressing over int64 keys; slots hold dense index + 1 (0 = empty). */
typedef struct int_ids {
    int64_t *key;
    int32_t *val;
    size_t mask;
} int_ids;

static rec_status int_ids_init(int_ids *h, size_t n)
{
    size_t cap = 64;
    while (cap < 2 * n)
        cap *= 2;
    h->mask = cap - 1;
    h->key = rec_malloc(cap * sizeof *h->key);
    h->val = rec_calloc(cap, sizeof *h->val);
    return h->key && h->val ? REC_OK : REC_E_NOMEM;
}

static void int_ids_free(int_ids *h)
{
    if (!h->mask)
        return;
    rec_free(h->key, (h->mask + 1) * sizeof *h->key);
    rec_free(h->val, (h->mask + 1) * sizeof *h->val);
}

/* The slot of key x: its dense index + 1 is val[slot], 0 when new. */
static size_t int_ids_slot(const int_ids *h, int64_t x)
{
    size_t j = (size_t)(((uint64_t)x * 0x9E3779B97F4A7C15u) >> 20) & h->mask;
    while (h->val[j] && h->key[j] != x)
        j = (j + 1) & h->mask;
    return j;
}

/* Checks every row before anything is allocated, so bad input leaves
 * nothing behind and the message names the first bad row. */
static rec_status check_rows(const float *ratings, const int64_t *timestamps, size_t n,
                             const char *fn)
{
    if (n > (size_t)INT32_MAX - 1)
        return rec_err(REC_E_RANGE, "%s: n = %zu rows exceeds 2^31-1", fn, n);
    for (size_t r = 0; ratings && r < n; r++)
        if (!isfinite(ratings[r]))
            return rec_err(REC_E_INVALID, "%s: ratings[%zu] = %g is not finite", fn, r,
                           (double)ratings[r]);
    for (size_t r = 0; timestamps && r < n; r++)
        if (timestamps[r] == REC_NO_TIME)
            return rec_err(REC_E_INVALID, "%s: timestamps[%zu] is REC_NO_TIME", fn, r);
    return REC_OK;
}

/* An empty dataset sized for n rows, with the rating and timestamp columns
 * decided. */
static rec_status new_sized(size_t n, int has_r, int has_t, const char *fn, rec_dataset **out)
{
    rec_dataset *d;
    REC_TRY(rec_dataset_create(&d));
    d->has_r = has_r;
    d->has_t = has_t;
    size_t cap = n ? n : 1;
    d->u = rec_malloc(cap * sizeof *d->u);
    d->i = rec_malloc(cap * sizeof *d->i);
    d->r = has_r ? rec_malloc(cap * sizeof *d->r) : NULL;
    d->t = has_t ? rec_malloc(cap * sizeof *d->t) : NULL;
    d->cap = (int64_t)cap;
    if (!d->u || !d->i || (has_r && !d->r) || (has_t && !d->t)) {
        rec_dataset_destroy(d);
        return rec_nomem(fn);
    }
    *out = d;
    return REC_OK;
}

static void fill_values(rec_dataset *d, const float *ratings, const int64_t *timestamps,
                        size_t n)
{
    if (ratings)
        memcpy(d->r, ratings, n * sizeof *ratings);
    if (timestamps)
        memcpy(d->t, timestamps, n * sizeof *timestamps);
    d->n = (int64_t)n;
}

/* Dense indices of one integer id column, interning "%lld" of each new id.
 * Ids in a range not much wider than the column (the usual 1..n or 0..n-1)
 * are looked up in a table indexed by id - min, which reads memory in id
 * order; others go through a hash of the ids. */
static rec_status map_ints(rec_dataset *d, rec_side side, const int64_t *ids, size_t n,
                           int32_t *col, const char *fn)
{
    if (n == 0)
        return REC_OK;
    int64_t lo = ids[0], hi = ids[0];
    for (size_t r = 1; r < n; r++) {
        lo = ids[r] < lo ? ids[r] : lo;
        hi = ids[r] > hi ? ids[r] : hi;
    }
    uint64_t span = (uint64_t)hi - (uint64_t)lo;
    int dense = span < 4 * (uint64_t)n + 1024;
    int_ids h = { 0 };
    int32_t *direct = NULL;
    size_t dbytes = dense ? ((size_t)span + 1) * sizeof *direct : 0;
    rec_status st = REC_OK;
    if (dense) {
        direct = rec_calloc(1, dbytes);
        st = direct ? REC_OK : REC_E_NOMEM;
    } else {
        st = int_ids_init(&h, n);
    }
    if (st) {
        int_ids_free(&h);
        return rec_nomem(fn);
    }
    rec_idmap *m = side == REC_SIDE_USER ? d->users : d->items;
    for (size_t r = 0; r < n && !st; r++) {
        size_t j = dense ? (size_t)((uint64_t)ids[r] - (uint64_t)lo) : int_ids_slot(&h, ids[r]);
        int32_t *slot = dense ? &direct[j] : &h.val[j];
        if (!*slot) {
            char buf[24];
            int len = snprintf(buf, sizeof buf, "%" PRId64, ids[r]);
            int32_t idx;
            st = rec_idmap_intern(m, buf, (size_t)len, &idx, NULL);
            if (st == REC_E_NOMEM)
                st = rec_nomem(fn);
            if (!dense)
                h.key[j] = ids[r];
            *slot = idx + 1;
        }
        col[r] = *slot - 1;
    }
    if (dense)
        rec_free(direct, dbytes);
    else
        int_ids_free(&h);
    return st;
}

REC_API rec_status rec_dataset_from_arrays(rec_dataset **out, const int64_t *users,
                                           const int64_t *items, const float *ratings,
                                           const int64_t *timestamps, size_t n)
{
    static const char fn[] = "rec_dataset_from_arrays";
    REC_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    REC_CHECK_ARG((users && items) || n == 0, fn, "users or items is NULL");
    REC_TRY(check_rows(ratings, timestamps, n, fn));
    rec_dataset *d;
    REC_TRY(new_sized(n, ratings != NULL, timestamps != NULL, fn, &d));
    rec_status st = map_ints(d, REC_SIDE_USER, users, n, d->u, fn);
    if (!st)
        st = map_ints(d, REC_SIDE_ITEM, items, n, d->i, fn);
    if (st) {
        rec_dataset_destroy(d);
        return st;
    }
    fill_values(d, ratings, timestamps, n);
    *out = d;
    return REC_OK;
}

REC_API rec_status rec_dataset_from_strings(rec_dataset **out, const char *const *users,
                                            const char *const *items, const float *ratings,
                                            const int64_t *timestamps, size_t n)
{
    static const char fn[] = "rec_dataset_from_strings";
    REC_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    REC_CHECK_ARG((users && items) || n == 0, fn, "users or items is NULL");
    for (size_t r = 0; r < n; r++) {
        if (!users[r] || !*users[r])
            return rec_err(REC_E_INVALID, "%s: users[%zu] is NULL or empty", fn, r);
        if (!items[r] || !*items[r])
            return rec_err(REC_E_INVALID, "%s: items[%zu] is NULL or empty", fn, r);
    }
    REC_TRY(check_rows(ratings, timestamps, n, fn));
    rec_dataset *d;
    REC_TRY(new_sized(n, ratings != NULL, timestamps != NULL, fn, &d));
    rec_status st = REC_OK;
    for (size_t r = 0; r < n && !st; r++) {
        st = rec_idmap_intern(d->users, users[r], strlen(users[r]), &d->u[r], NULL);
        if (!st)
            st = rec_idmap_intern(d->items, items[r], strlen(items[r]), &d->i[r], NULL);
    }
    if (st) {
        rec_dataset_destroy(d);
        return rec_nomem(fn);
    }
    fill_values(d, ratings, timestamps, n);
    *out = d;
    return REC_OK;
}
