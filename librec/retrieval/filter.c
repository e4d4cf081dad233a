/* Building search filters: deny/allow bitmaps and per-query exclude lists. */
#include "filter-impl.h"

#include <stdlib.h>
#include <string.h>

REC_API rec_status rec_filter_create(rec_filter **out, size_t nlabels)
{
    REC_CHECK_ARG(out, "rec_filter_create", "out is NULL");
    *out = NULL;
    if (nlabels > (size_t)INT32_MAX)
        return rec_err(REC_E_RANGE, "rec_filter_create: nlabels = %zu exceeds 2^31-1", nlabels);
    rec_filter *f = rec_calloc(1, sizeof *f);
    if (!f)
        return rec_nomem("rec_filter_create");
    f->nlabels = (int64_t)nlabels;
    f->words = (nlabels + 63) / 64;
    *out = f;
    return REC_OK;
}

static void drop_exclude(rec_filter *f)
{
    if (f->xptr) {
        rec_free(f->xids, f->xcap * sizeof *f->xids);
        rec_free(f->xptr, (f->nq + 1) * sizeof *f->xptr);
    }
    f->xptr = NULL;
    f->xids = NULL;
    f->nq = 0;
}

REC_API void rec_filter_destroy(rec_filter *f)
{
    if (!f)
        return;
    size_t bytes = (f->words ? f->words : 1) * sizeof(uint64_t);
    rec_free(f->deny, bytes);
    rec_free(f->allow, bytes);
    drop_exclude(f);
    rec_free(f, sizeof *f);
}

/* The bitmap behind *slot, created zeroed on first use. */
static rec_status bitmap(rec_filter *f, uint64_t **slot, const char *fn)
{
    if (!*slot) {
        *slot = rec_calloc(f->words ? f->words : 1, sizeof(uint64_t));
        if (!*slot)
            return rec_nomem(fn);
    }
    return REC_OK;
}

static rec_status set_labels(rec_filter *f, uint64_t **slot, const int32_t *labels, size_t n,
                             const char *fn)
{
    REC_CHECK_ARG(f, fn, "filter is NULL");
    REC_CHECK_ARG(labels || n == 0, fn, "labels is NULL");
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 0 || (int64_t)labels[i] >= f->nlabels)
            return rec_err(REC_E_RANGE, "%s: labels[%zu] = %d is outside [0, %lld)", fn, i,
                           labels[i], (long long)f->nlabels);
    REC_TRY(bitmap(f, slot, fn));
    for (size_t i = 0; i < n; i++)
        (*slot)[labels[i] >> 6] |= (uint64_t)1 << (labels[i] & 63);
    return REC_OK;
}

static rec_status set_bits(rec_filter *f, uint64_t **slot, const uint8_t *bits, size_t nbits,
                           const char *fn)
{
    REC_CHECK_ARG(f, fn, "filter is NULL");
    REC_CHECK_ARG(bits || nbits == 0, fn, "bits is NULL");
    if ((int64_t)nbits > f->nlabels)
        return rec_err(REC_E_RANGE, "%s: nbits = %zu exceeds the filter's %lld labels", fn,
                       nbits, (long long)f->nlabels);
    REC_TRY(bitmap(f, slot, fn));
    for (size_t j = 0; j < nbits; j++)
        if (bits[j >> 3] >> (j & 7) & 1)
            (*slot)[j >> 6] |= (uint64_t)1 << (j & 63);
    return REC_OK;
}

REC_API rec_status rec_filter_deny(rec_filter *f, const int32_t *labels, size_t n)
{
    return set_labels(f, f ? &f->deny : NULL, labels, n, "rec_filter_deny");
}

REC_API rec_status rec_filter_allow(rec_filter *f, const int32_t *labels, size_t n)
{
    return set_labels(f, f ? &f->allow : NULL, labels, n, "rec_filter_allow");
}

REC_API rec_status rec_filter_deny_bitmap(rec_filter *f, const uint8_t *bits, size_t nbits)
{
    return set_bits(f, f ? &f->deny : NULL, bits, nbits, "rec_filter_deny_bitmap");
}

REC_API rec_status rec_filter_allow_bitmap(rec_filter *f, const uint8_t *bits, size_t nbits)
{
    return set_bits(f, f ? &f->allow : NULL, bits, nbits, "rec_filter_allow_bitmap");
}

REC_API rec_status rec_filter_exclude_csr(rec_filter *f, size_t nq, const int64_t *indptr,
                                          const int32_t *ids)
{
    static const char fn[] = "rec_filter_exclude_csr";
    REC_CHECK_ARG(f, fn, "filter is NULL");
    REC_CHECK_ARG(indptr, fn, "indptr is NULL");
    REC_CHECK_ARG(nq > 0, fn, "nq is 0");
    REC_TRY(rec_csr_check(0, fn, "exclude lists", (int64_t)nq, indptr, -1, NULL, 0, 0));
    int64_t nnz = indptr[nq];
    REC_CHECK_ARG(ids || nnz == 0, fn, "ids is NULL");
    REC_TRY(rec_csr_check(0, fn, "exclude lists", (int64_t)nq, indptr, nnz, ids, 0,
                          f->nlabels));
    int64_t *ptr = rec_malloc((nq + 1) * sizeof *ptr);
    int32_t *xs = rec_malloc(((size_t)nnz + 1) * sizeof *xs);
    if (!ptr || !xs) {
        rec_free(ptr, (nq + 1) * sizeof *ptr);
        rec_free(xs, ((size_t)nnz + 1) * sizeof *xs);
        return rec_nomem(fn);
    }
    /* Rows sorted and deduplicated so a search can binary-search them. */
    int64_t w = 0;
    ptr[0] = 0;
    for (size_t q = 0; q < nq; q++) {
        int64_t b = w, len = indptr[q + 1] - indptr[q];
        memcpy(xs + b, ids + indptr[q], (size_t)len * sizeof *xs);
        qsort(xs + b, (size_t)len, sizeof *xs, rec_cmp_i32);
        for (int64_t j = 0; j < len; j++)
            if (w == b || xs[w - 1] != xs[b + j])
                xs[w++] = xs[b + j];
        ptr[q + 1] = w;
    }
    drop_exclude(f);
    f->xptr = ptr;
    f->xids = xs;
    f->xcap = (size_t)nnz + 1;
    f->nq = nq;
    return REC_OK;
}

REC_API rec_status rec_filter_set_predicate(rec_filter *f, rec_filter_fn fn, void *ctx)
{
    REC_CHECK_ARG(f, "rec_filter_set_predicate", "filter is NULL");
    f->pred = fn;
    f->pred_ctx = fn ? ctx : NULL;
    return REC_OK;
}
