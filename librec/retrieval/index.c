/* The calls that know the index kind: creation from params, the searches,
 * adds and deletes behind the index's read-write lock, and the counts. */
#include "hnsw-impl.h"
#include "index-impl.h"

#include <errno.h>
#include <string.h>

#define MAX_DIM 65536

static const rec_param_spec flat_spec[] = {
    { "metric", REC_PARAM_STR, "ip", 0, 0, "ip|cosine", "inner product, or cosine of the vectors" },
};

static const rec_param_spec hnsw_spec[] = {
    { "metric", REC_PARAM_STR, "ip", 0, 0, "ip|cosine", "inner product, or cosine of the vectors" },
    { "M", REC_PARAM_INT, "16", 2, 512, NULL, "links per node (2M on level 0)" },
    { "ef_construction", REC_PARAM_INT, "200", 1, 100000, NULL, "search width while adding" },
    { "ef", REC_PARAM_INT, "64", 1, 100000, NULL, "search width of rec_index_search" },
    { "seed", REC_PARAM_INT, "0", 0, 9.007199254740992e15, NULL, "seed of the node levels" },
};

#define NSPEC(s) (sizeof(s) / sizeof *(s))

void rec_index_lock_init(rec_index *ix)
{
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
#if defined(__GLIBC__)
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
    pthread_rwlock_init(&ix->lock, &a);
    pthread_rwlockattr_destroy(&a);
}

REC_API rec_status rec_index_create_kind(rec_index **out, const char *kind, int dim,
                                         const rec_params *params)
{
    static const char fn[] = "rec_index_create_kind";
    REC_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    REC_CHECK_ARG(kind, fn, "kind is NULL");
    int hnsw = strcmp(kind, "hnsw") == 0;
    if (!hnsw && strcmp(kind, "flat") != 0)
        return rec_err(REC_E_INVALID, "%s: unknown kind '%s' (expected 'flat' or 'hnsw')", fn,
                       kind);
    const rec_param_spec *spec = hnsw ? hnsw_spec : flat_spec;
    size_t ns = hnsw ? NSPEC(hnsw_spec) : NSPEC(flat_spec);
    if (dim < 1 || dim > MAX_DIM)
        return rec_err(REC_E_INVALID, "%s: dim = %d is outside [1, %d]", fn, dim, MAX_DIM);
    if (params)
        REC_TRY(rec_params_check(params, spec, ns, fn));
    rec_index *ix;
    REC_TRY(rec_index_create(&ix, dim, rec_params_str(params, spec, ns, "metric")));
    if (hnsw) {
        ix->ef_default = (int)rec_params_int(params, spec, ns, "ef");
        rec_status st = rec_hnsw_create(&ix->hnsw, dim, ix->cosine,
                                        (int)rec_params_int(params, spec, ns, "M"),
                                        (int)rec_params_int(params, spec, ns, "ef_construction"),
                                        (uint64_t)rec_params_int(params, spec, ns, "seed"));
        if (st != REC_OK) {
            rec_index_destroy(ix);
            return st;
        }
    }
    *out = ix;
    return REC_OK;
}

REC_API const char *rec_index_kind(const rec_index *ix)
{
    return !ix ? NULL : ix->hnsw ? "hnsw" : "flat";
}

rec_status rec_index_search_as(const rec_index *ix, const float *queries, size_t nq, size_t k,
                               size_t ef, const rec_filter *filter, int32_t *labels,
                               float *scores, const char *fn)
{
    REC_CHECK_ARG(ix, fn, "index is NULL");
    REC_CHECK_ARG(k > 0, fn, "k is 0");
    if (nq == 0)
        return REC_OK;
    REC_CHECK_ARG(queries, fn, "queries is NULL");
    REC_CHECK_ARG(labels, fn, "labels is NULL");
    if (filter && filter->nq && filter->nq != nq)
        return rec_err(REC_E_INVALID, "%s: the filter has exclude lists for %zu queries, not %zu",
                       fn, filter->nq, nq);
    size_t out_n;
    if (!rec_mul_ok(nq, k, &out_n) || out_n > (size_t)1 << 40)
        return rec_err(REC_E_INVALID, "%s: nq * k = %zu * %zu is too large", fn, nq, k);
    if (ix->hnsw && ef == 0)
        return rec_err(REC_E_INVALID, "%s: ef is 0", fn);
    rec_index *w = (rec_index *)ix; /* the lock is the only mutable part */
    pthread_rwlock_rdlock(&w->lock);
    rec_status st = ix->hnsw ? rec_hnsw_search(ix->hnsw, queries, nq, k, ef, filter, labels,
                                               scores, fn)
                             : rec_flat_search_locked(ix, queries, nq, k, filter, labels,
                                                      scores, fn);
    pthread_rwlock_unlock(&w->lock);
    return st;
}

REC_API rec_status rec_index_search_ef(const rec_index *ix, const float *queries, size_t nq,
                                       size_t k, size_t ef, const rec_filter *filter,
                                       int32_t *labels, float *scores)
{
    return rec_index_search_as(ix, queries, nq, k, ef, filter, labels, scores,
                               "rec_index_search_ef");
}

/* The exclusive lock, waited for or not. */
static rec_status write_lock(rec_index *ix, int try, const char *fn)
{
    if (!try) {
        pthread_rwlock_wrlock(&ix->lock);
        return REC_OK;
    }
    if (pthread_rwlock_trywrlock(&ix->lock) == EBUSY)
        return rec_err(REC_E_BUSY, "%s: the index is in use (searches or a writer)", fn);
    return REC_OK;
}

rec_status rec_index_add_as(rec_index *ix, const float *vecs, size_t n, int32_t *labels,
                            int try, const char *fn)
{
    REC_CHECK_ARG(ix, fn, "index is NULL");
    if (n == 0)
        return REC_OK;
    REC_CHECK_ARG(vecs, fn, "vecs is NULL");
    REC_TRY(write_lock(ix, try, fn));
    int64_t base = ix->n;
    rec_status st = ix->hnsw ? rec_hnsw_add(ix->hnsw, vecs, n, labels, fn)
                             : rec_flat_add_locked(ix, vecs, n, fn);
    if (st == REC_OK && !ix->hnsw && labels)
        for (size_t i = 0; i < n; i++)
            labels[i] = (int32_t)(base + (int64_t)i);
    pthread_rwlock_unlock(&ix->lock);
    return st;
}

REC_API rec_status rec_index_add_labels(rec_index *ix, const float *vecs, size_t n,
                                        int32_t *labels)
{
    return rec_index_add_as(ix, vecs, n, labels, 0, "rec_index_add_labels");
}

REC_API rec_status rec_index_try_add(rec_index *ix, const float *vecs, size_t n,
                                     int32_t *labels)
{
    return rec_index_add_as(ix, vecs, n, labels, 1, "rec_index_try_add");
}

static rec_status delete_as(rec_index *ix, const int32_t *labels, size_t n, int try,
                            const char *fn)
{
    REC_CHECK_ARG(ix, fn, "index is NULL");
    if (!ix->hnsw)
        return rec_err(REC_E_UNSUPPORTED, "%s: a flat index cannot delete", fn);
    if (n == 0)
        return REC_OK;
    REC_CHECK_ARG(labels, fn, "labels is NULL");
    REC_TRY(write_lock(ix, try, fn));
    rec_status st = rec_hnsw_delete(ix->hnsw, labels, n, fn);
    pthread_rwlock_unlock(&ix->lock);
    return st;
}

REC_API rec_status rec_index_delete(rec_index *ix, const int32_t *labels, size_t n)
{
    return delete_as(ix, labels, n, 0, "rec_index_delete");
}

REC_API rec_status rec_index_try_delete(rec_index *ix, const int32_t *labels, size_t n)
{
    return delete_as(ix, labels, n, 1, "rec_index_try_delete");
}

REC_API rec_status rec_index_count(const rec_index *ix, size_t *n)
{
    REC_CHECK_ARG(ix, "rec_index_count", "index is NULL");
    REC_CHECK_ARG(n, "rec_index_count", "n is NULL");
    rec_index *w = (rec_index *)ix;
    pthread_rwlock_rdlock(&w->lock);
    *n = ix->hnsw ? rec_hnsw_live(ix->hnsw) : (size_t)ix->n;
    pthread_rwlock_unlock(&w->lock);
    return REC_OK;
}
