/* Negative sampler: construction from a user CSR, positive lookup, the
 * uniform part, and the draw entry point (popularity and hard parts live in
 * their own files). */
#include "sampler-impl.h"
#include "data/data-impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const rec_param_spec spec[] = {
    { "kind", REC_PARAM_STR, "uniform", 0, 0, "uniform|popularity|hard",
      "how negatives are proposed" },
    { "alpha", REC_PARAM_FLOAT, "0.75", 0, 10, NULL,
      "popularity: propose items in proportion to count^alpha" },
    { "hard_ratio", REC_PARAM_FLOAT, "0.5", 0, 1, NULL,
      "hard: probability that a negative comes from the hard candidates" },
    { "hard_k", REC_PARAM_INT, "50", 1, REC_SAMPLER_MAX_HARD_K, NULL,
      "hard: candidates asked of the top-k callback" },
    { "max_tries", REC_PARAM_INT, "32", 1, 1e6, NULL,
      "proposals before drawing exactly among the user's negatives" },
};
#define NSPEC (sizeof spec / sizeof *spec)

const rec_param_spec *rec_sampler_spec(size_t *n)
{
    if (n)
        *n = NSPEC;
    return spec;
}

void rec_sampler_destroy(rec_sampler *s)
{
    if (!s)
        return;
    if (s->pos_ptr) {
        rec_free(s->pos, (size_t)s->pos_cap * sizeof *s->pos);
        rec_free(s->pos_ptr, ((size_t)s->nusers + 1) * sizeof *s->pos_ptr);
    }
    rec_sampler_free_popularity(s);
    rec_sampler_free_hard(s);
    rec_free(s, sizeof *s);
}

/* Sorted, deduplicated copy of the positives; counts[nitems] (may be NULL)
 * gets every entry, duplicates included. */
static rec_status copy_positives(rec_sampler *s, const int64_t *indptr, const int32_t *items,
                                 int64_t *counts, const char *fn)
{
    int32_t nu = s->nusers;
    REC_TRY(rec_csr_check(0, fn, "positives", nu, indptr, -1, items, 0, s->nitems));
    int64_t nnz = indptr[nu];
    s->pos_ptr = rec_calloc((size_t)nu + 1, sizeof *s->pos_ptr);
    s->pos = s->pos_ptr ? rec_malloc((size_t)(nnz ? nnz : 1) * sizeof *s->pos) : NULL;
    if (!s->pos) {
        if (s->pos_ptr)
            rec_free(s->pos_ptr, ((size_t)nu + 1) * sizeof *s->pos_ptr);
        s->pos_ptr = NULL;
        return rec_nomem(fn);
    }
    /* Unique entries are compacted in place: user u's start (w) never passes
     * its start in items (b). */
    int64_t w = 0;
    for (int32_t u = 0; u < nu; u++) {
        int64_t b = indptr[u], e = indptr[u + 1], start = w;
        memcpy(s->pos + w, items + b, (size_t)(e - b) * sizeof *items);
        qsort(s->pos + w, (size_t)(e - b), sizeof *s->pos, rec_cmp_i32);
        for (int64_t k = 0; k < e - b; k++) {
            int32_t it = s->pos[start + k];
            if (counts)
                counts[it]++;
            if (w == start || s->pos[w - 1] != it)
                s->pos[w++] = it;
        }
        s->pos_ptr[u] = start;
    }
    s->pos_cap = nnz ? nnz : 1;
    if (w < nnz) { /* give back what duplicates left unused; keep it if that fails */
        int32_t *p = rec_realloc(s->pos, (size_t)s->pos_cap * sizeof *s->pos,
                                 (size_t)(w ? w : 1) * sizeof *s->pos);
        if (p) {
            s->pos = p;
            s->pos_cap = w ? w : 1;
        }
    }
    s->pos_ptr[nu] = w;
    return REC_OK;
}

rec_status rec_sampler_create_csr(rec_sampler **out, int32_t nusers, int32_t nitems,
                                  const int64_t *indptr, const int32_t *items,
                                  const rec_params *p)
{
    static const char fn[] = "rec_sampler_create";
    REC_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    REC_CHECK_ARG(indptr, fn, "indptr is NULL");
    if (nusers < 1 || nitems < 1)
        return rec_err(REC_E_INVALID, "%s: need at least one user and one item (got %d users, "
                       "%d items)", fn, (int)nusers, (int)nitems);
    REC_CHECK_ARG(items || indptr[nusers] == 0, fn, "items is NULL");
    REC_TRY(rec_params_check(p, spec, NSPEC, fn));
    rec_sampler *s = rec_calloc(1, sizeof *s);
    if (!s)
        return rec_nomem(fn);
    const char *kind = rec_params_str(p, spec, NSPEC, "kind");
    s->kind = !strcmp(kind, "popularity") ? REC_SAMPLER_POPULARITY
              : !strcmp(kind, "hard")     ? REC_SAMPLER_HARD
                                          : REC_SAMPLER_UNIFORM;
    s->nusers = nusers;
    s->nitems = nitems;
    s->alpha = rec_params_flt(p, spec, NSPEC, "alpha");
    s->hard_ratio = rec_params_flt(p, spec, NSPEC, "hard_ratio");
    s->hard_k = (int32_t)rec_params_int(p, spec, NSPEC, "hard_k");
    s->max_tries = (int32_t)rec_params_int(p, spec, NSPEC, "max_tries");
    int64_t *counts = NULL;
    size_t cbytes = (size_t)nitems * sizeof *counts;
    rec_status st = REC_OK;
    if (s->kind == REC_SAMPLER_POPULARITY && !(counts = rec_calloc(1, cbytes)))
        st = rec_nomem(fn);
    if (!st)
        st = copy_positives(s, indptr, items, counts, fn);
    if (!st && counts)
        st = rec_sampler_build_alias(s, counts);
    if (counts)
        rec_free(counts, cbytes);
    if (st) {
        rec_sampler_destroy(s);
        return st;
    }
    *out = s;
    return REC_OK;
}

rec_status rec_sampler_create(rec_sampler **out, const rec_dataset *d, const rec_params *p)
{
    static const char fn[] = "rec_sampler_create";
    REC_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    REC_CHECK_ARG(d, fn, "dataset is NULL");
    const int64_t *ptr;
    const int32_t *items;
    REC_TRY(rec_ds_user_csr(d, &ptr, &items, NULL));
    return rec_sampler_create_csr(out, rec_ds_num_users(d), rec_ds_num_items(d), ptr, items, p);
}

static inline const int32_t *positives(const rec_sampler *s, int32_t u, int64_t *n)
{
    *n = s->pos_ptr[u + 1] - s->pos_ptr[u];
    return s->pos + s->pos_ptr[u];
}

int rec_sampler_is_positive(const rec_sampler *s, int32_t u, int32_t item)
{
    if (!s || u < 0 || u >= s->nusers || item < 0 || item >= s->nitems)
        return 0;
    int64_t n, lo = 0;
    const int32_t *a = positives(s, u, &n);
    int64_t hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (a[mid] < item)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && a[lo] == item;
}

int32_t rec_sampler_num_negatives(const rec_sampler *s, int32_t u)
{
    if (!s || u < 0 || u >= s->nusers)
        return 0;
    return (int32_t)(s->nitems - (s->pos_ptr[u + 1] - s->pos_ptr[u]));
}

/* The r-th (0-based) item that is not a positive of u.  With positives
 * p_0 < p_1 < ..., p_k - k counts the non-positives below p_k and never
 * decreases; the answer is r + k for the first k with p_k - k > r. */
static int32_t nth_negative(const rec_sampler *s, int32_t u, int64_t r)
{
    int64_t n;
    const int32_t *a = positives(s, u, &n);
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (a[mid] - mid > r)
            hi = mid;
        else
            lo = mid + 1;
    }
    return (int32_t)(r + lo);
}

int32_t rec_sampler_uniform_neg(const rec_sampler *s, rec_rng *r, int32_t u)
{
    int32_t nneg = rec_sampler_num_negatives(s, u);
    if (nneg <= 0)
        return -1;
    for (int32_t t = 0; t < s->max_tries; t++) {
        int32_t i = (int32_t)rec_rng_below(r, (uint32_t)s->nitems);
        if (!rec_sampler_is_positive(s, u, i))
            return i;
    }
    /* Rejection conditioned on success is uniform over the negatives, and
     * so is this: the mixture stays exactly uniform. */
    return nth_negative(s, u, rec_rng_below(r, (uint32_t)nneg));
}

rec_status rec_sampler_draw(const rec_sampler *s, rec_rng *rng, int32_t user, int64_t n,
                            int32_t *out)
{
    static const char fn[] = "rec_sampler_draw";
    REC_CHECK_ARG(s, fn, "sampler is NULL");
    REC_CHECK_ARG(rng, fn, "rng is NULL");
    REC_CHECK_ARG(out || n == 0, fn, "out is NULL");
    if (n < 0)
        return rec_err(REC_E_INVALID, "%s: n = %lld is negative", fn, (long long)n);
    if (user < 0 || user >= s->nusers)
        return rec_err(REC_E_RANGE, "%s: user %d is outside [0, %d)", fn, (int)user,
                       (int)s->nusers);
    switch (s->kind) {
    case REC_SAMPLER_POPULARITY:
        for (int64_t k = 0; k < n; k++)
            out[k] = rec_sampler_popularity_neg(s, rng, user);
        return REC_OK;
    case REC_SAMPLER_HARD:
        return rec_sampler_draw_hard(s, rng, user, n, out);
    default:
        for (int64_t k = 0; k < n; k++)
            out[k] = rec_sampler_uniform_neg(s, rng, user);
        return REC_OK;
    }
}

double rec_sampler_log_q(const rec_sampler *s, int32_t item)
{
    if (!s || item < 0 || item >= s->nitems)
        return -INFINITY;
    if (s->kind == REC_SAMPLER_POPULARITY)
        return s->prob[item] > 0 ? log((double)s->prob[item]) : -INFINITY;
    return -log((double)s->nitems);
}

int32_t rec_sampler_num_users(const rec_sampler *s) { return s ? s->nusers : 0; }
int32_t rec_sampler_num_items(const rec_sampler *s) { return s ? s->nitems : 0; }
