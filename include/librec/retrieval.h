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

/* ---- index kinds: flat and HNSW -------------------------------------------
 * An HNSW index (hierarchical navigable small-world graph) answers
 * approximate top-k searches in about log(n) vector reads.  Its labels are
 * slots: 0..n-1 in add order, except that a deleted label's slot is reused
 * by a later add (rec_index_add_labels reports the labels given).  A search
 * walks through deleted and filtered nodes and returns only live ones that
 * pass the filter, so it still returns k items while k pass.
 *
 * Concurrency (both kinds): every call takes the index's read-write lock:
 * searches, size and save shared (any number at once), add and delete
 * exclusive (they wait for running searches, and searches wait for them;
 * waiting writers go first).  The try_ variants return REC_E_BUSY instead
 * of waiting.  Only destroy needs the caller to stop all other calls. */

/* A new index of kind "flat" or "hnsw" over dim-dimensional vectors, set by
 * params (may be NULL: all defaults).  Keys: "metric" ("ip" | "cosine",
 * default "ip"); for "hnsw" also "M" (links per node, 2..512, default 16;
 * level 0 keeps 2M), "ef_construction" (search width while adding,
 * 1..100000, default 200), "ef" (the width rec_index_search uses, 1..100000,
 * default 64) and "seed" (the node levels, default 0).  Returns REC_OK,
 * REC_E_INVALID (unknown kind or key, bad value, dim outside [1, 65536]) or
 * REC_E_NOMEM.  Thread-safe. */
REC_API rec_status rec_index_create_kind(rec_index **out, const char *kind, int dim,
                                         const rec_params *params);

/* "flat" or "hnsw" (a static string).  Thread-safe. */
REC_API const char *rec_index_kind(const rec_index *ix);

/* The k best as rec_index_search does, with search width ef for HNSW
 * (ignored by the flat index): the search keeps the ef best nodes seen,
 * ef < k counts as k; higher is slower and more exact.  Shared lock. */
REC_API rec_status rec_index_search_ef(const rec_index *ix, const float *queries, size_t nq,
                                       size_t k, size_t ef, const rec_filter *filter,
                                       int32_t *labels, float *scores);

/* rec_index_add, writing the label given to each vector into labels[0..n)
 * (may be NULL).  HNSW inserts on rec_set_num_threads threads; the graph
 * then depends on the thread timing (with 1 thread, on the seed alone).
 * REC_E_NOMEM leaves the index unchanged.  Exclusive lock. */
REC_API rec_status rec_index_add_labels(rec_index *ix, const float *vecs, size_t n,
                                        int32_t *labels);

/* Deletes n live labels (HNSW only): they are never returned again and
 * their slots are reused by later adds.  REC_E_NOTFOUND (nothing deleted)
 * when a label is not live, REC_E_UNSUPPORTED for a flat index.
 * Exclusive lock. */
REC_API rec_status rec_index_delete(rec_index *ix, const int32_t *labels, size_t n);

/* Non-blocking add and delete: REC_E_BUSY, with nothing done, when a
 * search or another writer holds the lock. */
REC_API rec_status rec_index_try_add(rec_index *ix, const float *vecs, size_t n,
                                     int32_t *labels);
REC_API rec_status rec_index_try_delete(rec_index *ix, const int32_t *labels, size_t n);

/* Live vectors: size minus deleted labels.  Shared lock. */
REC_API rec_status rec_index_count(const rec_index *ix, size_t *n);

/* Saves the index (its kind, params, vectors and graph) to a .lrm file,
 * replacing path atomically.  REC_E_IO, REC_E_NOMEM.  Shared lock. */
REC_API rec_status rec_index_save(const rec_index *ix, const char *path);

/* Loads an index saved by rec_index_save.  An HNSW index's vectors and
 * level-0 links stay in the file, memory-mapped read-only, until the first
 * add or delete copies them.  REC_E_IO, REC_E_FORMAT (not an index file,
 * or a malformed one, with a message), REC_E_NOMEM.  Thread-safe. */
REC_API rec_status rec_index_load(const char *path, rec_index **out);

/* ---- 2-D maps of vectors (since 0.2) ----------------------------------------
 * Pictures of an embedding space (rec_model_vectors, an exported table):
 * rec_project_pca is linear and exact; rec_project_neighbors keeps each
 * vector's nearest neighbours near it in the plane, so clusters stay
 * clusters.  Both read x [n, dim] (row-major floats) and write nothing on
 * failure. */

/* The principal components of n vectors x [n, dim]: the k directions of
 * largest variance of the centred vectors, from a symmetric eigen-solver
 * (Jacobi rotations) on the dim x dim covariance.  Outputs, each may be NULL:
 *   out [n, k]      each vector's coordinates on the axes, after centring;
 *   axes [k, dim]   the unit axes, largest variance first, each signed so
 *                   that its largest component is positive;
 *   variance [k]    the variance along each axis (the covariance's
 *                   eigenvalues; the covariance divides by n - 1, by 1 when
 *                   n is 1);
 *   total           the total variance (the covariance's trace), so axis
 *                   j explains variance[j] / *total of it.
 * n >= 1, 1 <= k <= dim <= 1024.  Costs n dim^2 / 2 multiply-adds and about
 * 10 dim^3 for the solver.  Returns REC_OK, REC_E_INVALID (NULL x, bad n,
 * dim or k, a value that is not finite, naming its row) or REC_E_NOMEM.
 * Thread-safe. */
REC_API rec_status rec_project_pca(const float *x, size_t n, int dim, int k, float *out,
                                   float *axes, double *variance, double *total);

/* A 2-D map out [n, 2] of n vectors x [n, dim] that keeps neighbours
 * together, after UMAP (McInnes, Healy and Melville, 2018): each vector's
 * nearest neighbours (a flat or HNSW index) joined by fuzzy weights, then
 * laid out from the PCA map by stochastic gradient descent that pulls the
 * graph's edges together and pushes random pairs apart (negative sampling).
 * params (may be NULL), by key:
 *   "neighbors"  neighbours per vector (15, 2..200; at most n - 1 are used):
 *                more keeps more of the global shape, fewer finer clusters;
 *   "min_dist"   how tightly neighbours may pack in the plane (0.1, 0..1);
 *   "epochs"     passes of the layout (0: 500 up to 10000 vectors, else 200);
 *   "negatives"  random pairs pushed apart per pulled edge (5, 1..50);
 *   "lr"         the first step's size, decaying linearly to 0 (1.0);
 *   "metric"     "cosine" (default) or "euclidean" distance of the vectors;
 *   "knn"        "auto" (default: "flat", exact, up to 20000 vectors, else
 *                "hnsw"), "flat" or "hnsw";
 *   "seed"       the initial jitter and the negative samples (42).
 * The layout runs on one thread and the flat index's neighbours do not
 * depend on the thread count, so the same x, params and seed give the same
 * map, bit for bit (an HNSW graph built on several threads depends on
 * their timing).  About 10 s for 10000 vectors of dim 64 on one core.
 * Returns REC_OK, REC_E_INVALID (NULL pointers, n == 0, bad dim, an
 * unknown key or bad value, a value that is not finite) or REC_E_NOMEM.
 * Thread-safe. */
REC_API rec_status rec_project_neighbors(const float *x, size_t n, int dim,
                                         const rec_params *params, float *out);

#ifdef __cplusplus
}
#endif
#endif
