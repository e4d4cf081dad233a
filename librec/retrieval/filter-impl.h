/* The filter's representation, shared by filter.c (building) and flat.c
 * (searching).  Immutable while searches run. */
#ifndef LIBREC_FILTER_IMPL_H
#define LIBREC_FILTER_IMPL_H

#include "librec/retrieval.h"
#include "core/core-impl.h"

struct rec_filter {
    int64_t nlabels;
    size_t words;        /* 64-bit words of each bitmap                      */
    uint64_t *deny;      /* [words], NULL until something is denied          */
    uint64_t *allow;     /* [words], NULL: no allow set (all pass)           */
    size_t nq;           /* exclude lists: 0 = none                          */
    int64_t *xptr;       /* [nq+1]                                           */
    int32_t *xids;       /* [xptr[nq]], each row sorted ascending, distinct  */
    size_t xcap;         /* allocated entries of xids                        */
    rec_filter_fn pred;  /* caller's predicate, NULL: none                   */
    void *pred_ctx;
};

/* Does label j pass the deny and allow sets? */
static inline int rec_filter_pass(const rec_filter *f, int32_t j)
{
    if ((int64_t)j >= f->nlabels)
        return f->allow == NULL;
    uint64_t bit = (uint64_t)1 << (j & 63);
    if (f->deny && (f->deny[j >> 6] & bit))
        return 0;
    return !f->allow || (f->allow[j >> 6] & bit);
}

/* Is label j on query q's exclude list? (binary search of the sorted row) */
static inline int rec_filter_excluded(const rec_filter *f, size_t q, int32_t j)
{
    if (!f->nq)
        return 0;
    int64_t lo = f->xptr[q], hi = f->xptr[q + 1];
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (f->xids[mid] < j)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < f->xptr[q + 1] && f->xids[lo] == j;
}

/* May query q return label j: deny/allow sets, q's exclude list, then the
 * caller's predicate (last: it is the dearest). */
static inline int rec_filter_keep(const rec_filter *f, size_t q, int32_t j)
{
    return rec_filter_pass(f, j) && !rec_filter_excluded(f, q, j) &&
           (!f->pred || f->pred(j, q, f->pred_ctx));
}

#endif
