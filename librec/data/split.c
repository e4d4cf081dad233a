/* Seeded splits into train/test datasets that share the parent's id maps
 * and features: random holdout, per-user ratio, leave-last-out, k-fold,
 * temporal cut-off. */
#include "data/data-impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { S_HOLDOUT, S_USER, S_LAST, S_KFOLD, S_TIME, S_COLD_ITEMS, S_COLD_USERS };

/* Parses "name:arg"; returns the kind or -1. */
static int parse_how(const char *how, double *arg, int64_t *iarg)
{
    static const char *names[] = { "holdout", "user", "last", "kfold", "time", "cold-items",
                                   "cold-users" };
    const char *c = strchr(how, ':');
    if (!c)
        return -1;
    for (int k = 0; k < 7; k++) {
        size_t n = strlen(names[k]);
        if ((size_t)(c - how) == n && !strncmp(how, names[k], n)) {
            if (k == S_LAST || k == S_KFOLD || k == S_TIME) {
                if (!rec_parse_i64(c + 1, iarg))
                    return -1;
                *arg = (double)*iarg;
            } else if (!rec_parse_double(c + 1, arg)) {
                return -1;
            }
            return k;
        }
    }
    return -1;
}

/* Builds the two outputs from a per-row flag (1 = test), keeping order. */
static rec_status emit(const rec_dataset *d, const unsigned char *test, rec_dataset **tr,
                       rec_dataset **te, const char *fn)
{
    rec_dataset *a = NULL, *b = NULL;
    int64_t nt = 0;
    for (int64_t r = 0; r < d->n; r++)
        nt += test[r];
    if (rec_ds_new_like(d, &a) || rec_ds_new_like(d, &b))
        goto nomem;
    /* Exact capacities: one allocation per column. */
    for (int side = 0; side < 2; side++) {
        rec_dataset *x = side ? b : a;
        int64_t cap = side ? nt : d->n - nt;
        size_t c = (size_t)(cap ? cap : 1);
        /* context columns first, while x->cap is still the 0 they were
         * made for by rec_ds_new_like */
        if (rec_ds_ctx_resize(x, (int64_t)c))
            goto nomem;
        x->cap = (int64_t)c;
        x->u = rec_malloc(c * sizeof *x->u);
        x->i = rec_malloc(c * sizeof *x->i);
        x->r = d->has_r == 1 ? rec_malloc(c * sizeof *x->r) : NULL;
        x->t = d->has_t == 1 ? rec_malloc(c * sizeof *x->t) : NULL;
        if (!x->u || !x->i || (d->has_r == 1 && !x->r) || (d->has_t == 1 && !x->t))
            goto nomem;
    }
    for (int64_t r = 0; r < d->n; r++) {
        rec_dataset *x = test[r] ? b : a;
        int64_t k = x->n++;
        x->u[k] = d->u[r];
        x->i[k] = d->i[r];
        if (x->r)
            x->r[k] = d->r[r];
        if (x->t)
            x->t[k] = d->t[r];
        rec_ds_ctx_copy(x, k, d, r);
    }
    *tr = a;
    *te = b;
    return REC_OK;
nomem:
    rec_dataset_destroy(a);
    rec_dataset_destroy(b);
    return rec_nomem(fn);
}

/* Cold start: a seeded share R of the entities (items or users) that have
 * rows, rounded and kept within [1, count - 1], goes to test with every row
 * it has; so the model meets them first at test time. */
static rec_status cold_rows(const rec_dataset *d, int items, double ratio, rec_rng *rng,
                            unsigned char *flag, const char *fn)
{
    int32_t ne = items ? d->items->n : d->users->n;
    const int32_t *col = items ? d->i : d->u;
    unsigned char *pick = rec_calloc((size_t)ne + 1, 1);
    int32_t *present = rec_malloc(((size_t)ne + 1) * sizeof *present);
    if (!pick || !present) {
        rec_free(pick, (size_t)ne + 1);
        rec_free(present, ((size_t)ne + 1) * sizeof *present);
        return rec_nomem(fn);
    }
    for (int64_t r = 0; r < d->n; r++)
        pick[col[r]] = 1;
    size_t np = 0;
    for (int32_t e = 0; e < ne; e++)
        if (pick[e])
            present[np++] = e;
    memset(pick, 0, (size_t)ne + 1);
    rec_status st = REC_OK;
    if (np < 2) {
        st = rec_err(REC_E_INVALID, "%s: cold-%s split needs at least 2 %s with rows", fn,
                     items ? "items" : "users", items ? "items" : "users");
    } else {
        rec_rng_shuffle_i32(rng, present, np);
        size_t k = (size_t)llround(ratio * (double)np);
        k = k < 1 ? 1 : k > np - 1 ? np - 1 : k;
        for (size_t p = 0; p < k; p++)
            pick[present[p]] = 1;
        for (int64_t r = 0; r < d->n; r++)
            flag[r] = pick[col[r]];
    }
    rec_free(pick, (size_t)ne + 1);
    rec_free(present, ((size_t)ne + 1) * sizeof *present);
    return st;
}

REC_API rec_status rec_dataset_split(const rec_dataset *d, const char *how, int fold,
                                     uint64_t seed, rec_dataset **train, rec_dataset **test)
{
    static const char fn[] = "rec_dataset_split";
    REC_CHECK_ARG(train && test, fn, "train or test is NULL");
    *train = *test = NULL;
    REC_CHECK_ARG(d, fn, "dataset is NULL");
    REC_CHECK_ARG(how, fn, "how is NULL");
    double arg = 0;
    int64_t iarg = 0;
    int kind = parse_how(how, &arg, &iarg);
    if (kind < 0)
        return rec_err(REC_E_INVALID,
                       "%s: how '%s' is not holdout:R, user:R, last:N, kfold:K, time:T, "
                       "cold-items:R or cold-users:R", fn, how);
    int cold = kind == S_COLD_ITEMS || kind == S_COLD_USERS;
    if ((kind == S_HOLDOUT || kind == S_USER || cold) && !(arg > 0 && arg < 1))
        return rec_err(REC_E_RANGE, "%s: ratio %g outside (0, 1)", fn, arg);
    if (kind == S_LAST && (iarg < 1 || iarg > INT32_MAX))
        return rec_err(REC_E_RANGE, "%s: last:%lld: N must be >= 1", fn, (long long)iarg);
    if (kind == S_KFOLD && (iarg < 2 || iarg > INT32_MAX))
        return rec_err(REC_E_RANGE, "%s: kfold:%lld: K must be >= 2", fn, (long long)iarg);
    if (kind == S_KFOLD && (fold < 0 || fold >= iarg))
        return rec_err(REC_E_RANGE, "%s: fold %d outside [0, %lld)", fn, fold,
                       (long long)iarg);
    if (kind == S_TIME && d->has_t != 1)
        return rec_err(REC_E_STATE, "%s: time split of a dataset without timestamps", fn);
    size_t n = (size_t)d->n;
    unsigned char *flag = rec_calloc(n ? n : 1, 1);
    if (!flag)
        return rec_nomem(fn);
    rec_status st = REC_OK;
    rec_rng rng;
    rec_rng_seed(&rng, seed);
    if (kind == S_TIME) {
        for (size_t r = 0; r < n; r++)
            flag[r] = d->t[r] >= iarg;
    } else if (cold) {
        st = cold_rows(d, kind == S_COLD_ITEMS, arg, &rng, flag, fn);
    } else if (kind == S_HOLDOUT || kind == S_KFOLD) {
        /* A seeded permutation of the rows; the test rows are a slice of it. */
        int32_t *perm = rec_malloc((n ? n : 1) * sizeof *perm);
        if (!perm) {
            st = rec_nomem(fn);
        } else {
            for (size_t r = 0; r < n; r++)
                perm[r] = (int32_t)r;
            rec_rng_shuffle_i32(&rng, perm, n);
            size_t lo, hi;
            if (kind == S_HOLDOUT) {
                lo = 0;
                hi = (size_t)llround(arg * (double)n);
            } else {
                /* numpy array_split: the first n % K folds get one extra row. */
                size_t k = (size_t)iarg, base = n / k, extra = n % k, f = (size_t)fold;
                lo = f * base + (f < extra ? f : extra);
                hi = lo + base + (f < extra);
            }
            for (size_t p = lo; p < hi; p++)
                flag[perm[p]] = 1;
            rec_free(perm, (n ? n : 1) * sizeof *perm);
        }
    } else {
        /* Per user, over rows in (timestamp, file order). */
        const int64_t *ptr, *rows;
        st = rec_ds_user_csr(d, &ptr, NULL, NULL);
        if (!st)
            st = rec_ds_user_csr_rows(d, &rows);
        int32_t nu = d->users->n;
        int64_t *tmp = NULL;
        size_t tcap = 0;
        for (int32_t u = 0; !st && u < nu; u++) {
            int64_t a = ptr[u], m = ptr[u + 1] - a;
            if (m == 0)
                continue;
            if (kind == S_LAST) {
                int64_t h = iarg < m ? iarg : m - 1;
                for (int64_t k = m - h; k < m; k++)
                    flag[rows[a + k]] = 1;
            } else {
                /* ceil((1-R) m) rows stay: a seeded shuffle of the user's rows. */
                int64_t keep = (int64_t)ceil((1.0 - arg) * (double)m - 1e-9);
                if ((size_t)m > tcap) {
                    int64_t *nt = rec_realloc(tmp, tcap * sizeof *tmp, (size_t)m * sizeof *nt);
                    if (!nt) {
                        st = rec_nomem(fn);
                        break;
                    }
                    tmp = nt;
                    tcap = (size_t)m;
                }
                memcpy(tmp, rows + a, (size_t)m * sizeof *tmp);
                for (int64_t k = m - 1; k > 0; k--) {
                    int64_t j = rec_rng_below(&rng, (uint32_t)(k + 1));
                    int64_t x = tmp[k];
                    tmp[k] = tmp[j];
                    tmp[j] = x;
                }
                for (int64_t k = keep; k < m; k++)
                    flag[tmp[k]] = 1;
            }
        }
        rec_free(tmp, tcap * sizeof *tmp);
    }
    if (!st)
        st = emit(d, flag, train, test, fn);
    rec_free(flag, n ? n : 1);
    return st;
}
