/* The rec_index handle shared by the flat index (flat.c), the HNSW graph
 * (hnsw*.c), the kind-aware calls (index.c) and the file I/O (index_file.c).
 * A flat index uses the table fields; an HNSW index keeps its vectors in
 * its graph and leaves them empty.  The lock gives the concurrency
 * contract: searches take it shared, add/delete exclusive. */
#ifndef LIBREC_INDEX_IMPL_H
#define LIBREC_INDEX_IMPL_H

#include "filter-impl.h"
#include "core/lrm-impl.h"

#include <pthread.h>

typedef struct rec_hnsw rec_hnsw;

struct rec_index {
    int dim;
    int cosine;
    int64_t n, cap;        /* flat: vectors, rows allocated */
    float *x;              /* flat: [cap, dim], 64-byte aligned */
    rec_hnsw *hnsw;        /* NULL for a flat index */
    int ef_default;        /* hnsw: the ef of rec_index_search */
    pthread_rwlock_t lock;
};

/* The lock, writer-preferring where the platform allows, so a steady stream
 * of searches cannot starve an add. */
void rec_index_lock_init(rec_index *ix);

/* The checks, the lock and the dispatch on the kind behind the public
 * search and add calls; fn names the public function in messages.  try:
 * REC_E_BUSY instead of waiting for the lock. */
rec_status rec_index_search_as(const rec_index *ix, const float *queries, size_t nq, size_t k,
                               size_t ef, const rec_filter *filter, int32_t *labels,
                               float *scores, const char *fn);
rec_status rec_index_add_as(rec_index *ix, const float *vecs, size_t n, int32_t *labels,
                            int try, const char *fn);

/* The flat index's search, with the caller holding the lock. */
rec_status rec_flat_search_locked(const rec_index *ix, const float *queries, size_t nq,
                                  size_t k, const rec_filter *filter, int32_t *labels,
                                  float *scores, const char *fn);
/* Appends n rows to the flat table (normalised for cosine), lock held. */
rec_status rec_flat_add_locked(rec_index *ix, const float *vecs, size_t n, const char *fn);

/* An index inside another .lrm file (a model's): its tensors named
 * prefix + "head", "vectors", ... added to w; *keep (*kb bytes, free with
 * rec_free) must live until w is saved.  rec_index_get reads them back from
 * r; an HNSW index then keeps its vectors and level-0 links in r's mapping
 * and takes r (*took = 1: it closes r when destroyed).  REC_E_FORMAT naming
 * path for a malformed index. */
rec_status rec_index_put(rec_lrm_writer *w, const rec_index *ix, const char *prefix,
                         void **keep, size_t *kb);
rec_status rec_index_get(rec_lrm_reader *r, const char *prefix, const char *path,
                         rec_index **out, int *took);

/* Scales v (dim floats) to unit length; a zero vector stays zero. */
void rec_index_normalise(float *v, int dim);

#endif
