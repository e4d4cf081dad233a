/*
 * librec retrieval: exact top-k search over a flat table of item vectors
 * (inner product or cosine), with filters.
 *
 * A rec_index holds n vectors of a fixed dimension, labelled 0..n-1 in the
 * order they were added.  A search scores every query against every vector
 * with blocked matrix products and keeps the k best per query, best first;
 * equal scores go to the lower label, so results are deterministic and do
 * not depend on the thread count.
 *
 * Thread safety: rec_index_add and rec_index_destroy need exclusive access.
 * Searches never modify the index (each call has its own scratch), so any
 * number of threads may search one index at once.  A rec_filter is likewise
 * read-only during searches: build it first (not thread-safe), then share it.
 */
#ifndef LIBREC_RETRIEVAL_H
#define LIBREC_RETRIEVAL_H

#include "librec/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rec_index rec_index;
typedef struct rec_filter rec_filter;

/* ---- the flat index ------------------------------------------------------ */

/* An empty index of dim-dimensional vectors (1 <= dim <= 65536).  metric is
 * "ip" (inner product) or "cosine" (vectors and queries are normalised to
 * unit length; a zero vector stays zero and scores 0).  *out is NULL on
 * failure.  Returns REC_OK, REC_E_INVALID (NULL out, bad dim or metric) or
 * REC_E_NOMEM.  Thread-safe. */
REC_API rec_status rec_index_create(rec_index **out, int dim, const char *metric);

/* Releases ix (a no-op for NULL).  Not thread-safe on ix. */
REC_API void rec_index_destroy(rec_index *ix);

/* Appends n vectors (row-major, n x dim floats, copied; normalised for
 * "cosine"); they get labels size..size+n-1.  vecs may be NULL only when n
 * is 0.  Returns REC_OK, REC_E_INVALID, REC_E_RANGE (more than 2^31-1
 * vectors in all) or REC_E_NOMEM (ix unchanged).  Not thread-safe on ix. */
REC_API rec_status rec_index_add(rec_index *ix, const float *vecs, size_t n);

/* Number of vectors and their dimension.  Thread-safe. */
REC_API rec_status rec_index_size(const rec_index *ix, size_t *n);
REC_API rec_status rec_index_dim(const rec_index *ix, int *dim);

/* The k best vectors for each of nq queries (row-major, nq x dim).
 * labels[q*k .. q*k+k) receives query q's labels best first, and scores
 * (may be NULL) their scores; when fewer than k vectors pass the filter the
 * rest is padded with label -1 and score -INFINITY.  Vectors whose score is
 * NaN or -INFINITY are never returned.  filter may be NULL (no filtering);
 * when it has per-query exclude lists, their count must equal nq.
 * The work is split over librec's thread pool (rec_set_num_threads) by
 * blocks of queries, or by blocks of vectors when there are few queries;
 * the results are the same for any thread count.  On CPUs with AVX-512 a
 * fused kernel computes the scores (elsewhere BLAS does), so scores may
 * differ in the last bits from one CPU to another.
 * Returns REC_OK, REC_E_INVALID (NULL pointers, k == 0, filter built for
 * another query count) or REC_E_NOMEM.  Thread-safe. */
REC_API rec_status rec_index_search(const rec_index *ix, const float *queries, size_t nq,
                                    size_t k, const rec_filter *filter, int32_t *labels,
                                    float *scores);

/* ---- filters --------------------------------------------------------------
 * A filter says which labels a search may return: a deny set, an optional
 * allow set (once any label is allowed, only allowed labels pass), and
 * optional per-query exclude lists (e.g. each user's already-seen items as
 * the rows of a CSR matrix).  Labels are in [0, nlabels); labels at or above
 * nlabels are never denied, never allowed and never excluded. */

/* An empty filter (everything passes) over labels [0, nlabels).
 * Returns REC_OK, REC_E_INVALID, REC_E_RANGE (nlabels > 2^31-1) or
 * REC_E_NOMEM.  Thread-safe. */
REC_API rec_status rec_filter_create(rec_filter **out, size_t nlabels);
REC_API void rec_filter_destroy(rec_filter *f);

/* Adds n labels to the deny set / the allow set.  REC_E_RANGE names the
 * first label outside [0, nlabels) (f unchanged).  Not thread-safe on f. */
REC_API rec_status rec_filter_deny(rec_filter *f, const int32_t *labels, size_t n);
REC_API rec_status rec_filter_allow(rec_filter *f, const int32_t *labels, size_t n);

/* The same from bitmaps: bit j of byte j/8 (least significant bit first)
 * set means label j; nbits must not exceed nlabels. */
REC_API rec_status rec_filter_deny_bitmap(rec_filter *f, const uint8_t *bits, size_t nbits);
REC_API rec_status rec_filter_allow_bitmap(rec_filter *f, const uint8_t *bits, size_t nbits);

/* Per-query exclude lists in CSR form, copied: query q never gets the
 * labels ids[indptr[q] .. indptr[q+1]) (any order, repeats allowed).
 * indptr has nq + 1 non-decreasing entries starting at 0.  Replaces earlier
 * lists.  REC_E_INVALID for a malformed indptr, REC_E_RANGE for a label
 * outside [0, nlabels).  Not thread-safe on f. */
REC_API rec_status rec_filter_exclude_csr(rec_filter *f, size_t nq, const int64_t *indptr,
                                          const int32_t *ids);

/* Predicate of a filter: nonzero keeps label for query (its row in the
 * search's queries).  Called from the search's threads at once; it must
 * not call back into the index. */
typedef int (*rec_filter_fn)(int32_t label, size_t query, void *ctx);

/* Sets (fn non-NULL) or clears f's predicate, checked after the deny/allow
 * sets and exclude lists; ctx is passed through.  Not thread-safe on f. */
REC_API rec_status rec_filter_set_predicate(rec_filter *f, rec_filter_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
