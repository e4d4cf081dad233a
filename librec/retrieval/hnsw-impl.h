/* The HNSW graph (Malkov & Yashunin, "Efficient and robust approximate
 * nearest neighbor search using Hierarchical Navigable Small World graphs",
 * 2016): every vector is a node on level 0 and, with probability M^-l, on
 * levels 1..l; a search descends greedily from the top node, then runs a
 * best-first search of width ef on level 0.  Scores are inner products
 * (cosine: of unit vectors); higher is closer.
 *
 * Split by job: hnsw.c (the object, slots, tombstones, add/delete),
 * hnsw_build.c (inserting nodes and choosing their neighbours),
 * hnsw_search.c (the layer search, the visited-list pool, queries).
 *
 * Layout, for n slots (labels) of which some are tombstones:
 *   x      [cap, stride]     vectors, zero-padded to stride = dim rounded up
 *                            to 16 floats (dot-impl.h), 64-byte aligned rows
 *   l0     [cap, 1 + M0]     level-0 lists: count, then up to M0 = 2M ids
 *   up     [cap] -> [level, 1 + M]  lists of levels 1..level, same shape
 *   level  [cap], dead [cap] (tombstones), freed [nfree] (slots to reuse)
 * While building, each node's lists are guarded by a one-byte spin lock
 * (several inserts run at once); searches run under the index's shared
 * lock, when nothing writes, and take no lock per node. */
#ifndef LIBREC_HNSW_IMPL_H
#define LIBREC_HNSW_IMPL_H

#include "dot-impl.h"
#include "filter-impl.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define REC_HNSW_MAX_LEVEL 24

typedef struct rec_hnsw rec_hnsw;

/* One search's scratch: visited tags compared with an epoch (a new search
 * bumps the epoch instead of clearing cap entries), the candidate max-heap
 * and the result min-heap. */
typedef struct rec_hnsw_visit {
    uint16_t *tag;
    size_t tcap;
    uint16_t epoch;
    float *cs;            /* candidates: max-heap on score */
    int32_t *ci;
    size_t ccap, cn;
    float *rs;            /* results: min-heap (rec_topk_push order) */
    int32_t *ri;
    size_t rcap, rn;
    float *q;             /* the query padded to stride (and normalised) */
    struct rec_hnsw_visit *next;
} rec_hnsw_visit;

struct rec_hnsw {
    int dim, cosine, M, M0, efc;
    uint64_t seed;
    double mult;              /* 1 / ln M: the level distribution */
    size_t stride;
    int64_t n, cap;           /* slots in use (the label range), allocated */
    int64_t ndead, nfree;
    uint64_t drawn;           /* levels drawn so far: the seed's stream */
    float *x;
    int32_t *l0;
    int32_t **up;
    int8_t *level;
    uint8_t *dead;
    int32_t *freed;           /* [cap] stack of reusable slots */
    atomic_uchar *spin;       /* [cap] per-node locks while building */
    int32_t entry;            /* the top node, -1 when empty */
    int maxlevel;
    pthread_mutex_t top;      /* entry and maxlevel while building */
    pthread_mutex_t pool_mu;
    rec_hnsw_visit *pool;
    rec_dot_fn dot;
    /* Loaded read-only: x and l0 point into the file's mapping until the
     * first add or delete copies them (rec_hnsw_own). */
    void *reader;
};

/* ---- the object (hnsw.c) ---- */
rec_status rec_hnsw_create(rec_hnsw **out, int dim, int cosine, int M, int efc, uint64_t seed);
void rec_hnsw_destroy(rec_hnsw *h);
size_t rec_hnsw_slots(const rec_hnsw *h);
size_t rec_hnsw_live(const rec_hnsw *h);
/* Inserts n vectors (dim floats each) into free slots, then new ones;
 * labels (may be NULL) receives each vector's slot.  All memory is taken
 * before the graph changes: on REC_E_NOMEM the index is as it was. */
rec_status rec_hnsw_add(rec_hnsw *h, const float *vecs, size_t n, int32_t *labels,
                        const char *fn);
/* Tombstones n labels; REC_E_NOTFOUND (nothing deleted) when one is not a
 * live label. */
rec_status rec_hnsw_delete(rec_hnsw *h, const int32_t *labels, size_t n, const char *fn);
/* Copies the mapped tables of a loaded index into owned memory. */
rec_status rec_hnsw_own(rec_hnsw *h, const char *fn);
static inline int32_t *rec_hnsw_links(const rec_hnsw *h, int32_t node, int lc)
{
    if (lc == 0)
        return h->l0 + (size_t)node * (size_t)(1 + h->M0);
    if (lc > h->level[node])
        return NULL;
    return h->up[node] + (size_t)(lc - 1) * (size_t)(1 + h->M);
}
static inline const float *rec_hnsw_vec(const rec_hnsw *h, int32_t node)
{
    return h->x + (size_t)node * h->stride;
}

/* ---- building (hnsw_build.c) ---- */
/* Links node (vector and level set, lists empty) into the graph; several
 * calls may run at once (per-node spin locks).  v: the thread's scratch. */
void rec_hnsw_insert(rec_hnsw *h, int32_t node, rec_hnsw_visit *v);

/* ---- searching (hnsw_search.c) ---- */
/* A scratch from the pool, sized for the current slots and ef; NULL when
 * out of memory.  Thread-safe. */
rec_hnsw_visit *rec_hnsw_visit_get(rec_hnsw *h, size_t ef);
void rec_hnsw_visit_put(rec_hnsw *h, rec_hnsw_visit *v);
/* Frees every pooled scratch (the index is being destroyed). */
void rec_hnsw_pool_drop(rec_hnsw *h);
/* Makes the pool hold at least count scratches sized for cap slots. */
rec_status rec_hnsw_visit_reserve(rec_hnsw *h, int count, size_t ef);
/* Starts a search: a new epoch (tags cleared when it wraps), heaps empty. */
void rec_hnsw_visit_begin(rec_hnsw_visit *v);
/* The greedy walk from ep down levels top..stop+1; returns the node
 * reached.  locked: take each node's spin lock (while building); skip: a
 * node never stepped on (the one being inserted), or -1. */
int32_t rec_hnsw_descend(const rec_hnsw *h, const float *q, int32_t ep, int top, int stop,
                         int locked, int32_t skip);
/* Best-first search of width ef on level lc from ep; v's result heap then
 * holds the best ef nodes that pass (dead and filtered nodes are walked
 * through, never returned; f NULL and dead_ok: every node passes).
 * Returns 0, or -1 when a heap could not grow. */
int rec_hnsw_search_layer(const rec_hnsw *h, rec_hnsw_visit *v, const float *q, int32_t ep,
                          int lc, size_t ef, const rec_filter *f, size_t qi, int dead_ok,
                          int locked);
/* k best for nq queries, ef the search width; see rec_index_search_ef. */
rec_status rec_hnsw_search(rec_hnsw *h, const float *queries, size_t nq, size_t k, size_t ef,
                           const rec_filter *f, int32_t *labels, float *scores, const char *fn);

/* Held for a list copy or update; yields when its holder was preempted
 * (the cores are shared). */
static inline void rec_hnsw_spin_lock(const rec_hnsw *h, int32_t node)
{
    while (atomic_exchange_explicit(&h->spin[node], 1, memory_order_acquire))
        for (int i = 0; atomic_load_explicit(&h->spin[node], memory_order_relaxed); i++)
            if (i > 64)
                sched_yield();
}
static inline void rec_hnsw_spin_unlock(const rec_hnsw *h, int32_t node)
{
    atomic_store_explicit(&h->spin[node], 0, memory_order_release);
}

#endif
