/* Random walks with restart on the item-item graph that the user-item
 * bipartite graph implies (PinSage, Ying et al., KDD 2018, section 3.2):
 * importance-based neighbourhoods.  Internal to librec.
 *
 * One hop goes item -> user -> item, each choice uniform over the current
 * node's edges (rec_uigraph), so item j is reached from item i with
 * probability sum_u 1/deg(i) 1/deg(u) over their common users.  After each
 * hop the walker returns to the query item with probability `restart`.  The
 * visit counts of a walk of `steps` hops are a Monte-Carlo estimate of the
 * query's personalised PageRank; the most visited items (the query itself
 * left out) are its neighbourhood, and their normalised counts are the
 * importance weights PinSage pools with.
 *
 * Each query item draws from its own RNG stream (seed, item), so the
 * neighbourhoods are the same whatever the thread count. */
#ifndef LIBREC_GRAPH_WALK_IMPL_H
#define LIBREC_GRAPH_WALK_IMPL_H

#include "graph-impl.h"

typedef struct rec_walk_opts {
    int64_t steps;   /* hops per query item, >= 1 */
    float restart;   /* in [0, 1): return to the query after a hop */
    int32_t top;     /* neighbours kept per item, >= 1 */
    uint64_t seed;
} rec_walk_opts;

/* The walks' neighbourhoods: row q (one per item) lists up to `top` items
 * other than q, most visited first (ties to the lower index), -1 after the
 * last; w is the row's visits over their sum (0 for padding). */
typedef struct rec_walk_nbrs {
    int32_t nitems, top;
    int32_t *idx;     /* [nitems, top] */
    int32_t *visits;  /* [nitems, top] */
    float *w;         /* [nitems, top] */
} rec_walk_nbrs;

/* One walk of steps hops from item q with rng: counts[j] (nitems, zeroed by
 * the caller) is increased by each landing on item j, q included, so the
 * counts add up to steps.  An item without users cannot move: no visits.
 * trace ([steps, 3] or NULL) gets each hop as (from item, user, to item). */
void rec_walk_run(const rec_uigraph *g, int32_t q, int64_t steps, float restart, rec_rng *rng,
                  int32_t *counts, int32_t *trace);

/* Every item's neighbourhood, threaded over items.  REC_E_INVALID / RANGE
 * for NULLs and options out of range, REC_E_NOMEM; fn names the caller. */
rec_status rec_walk_neighbours(const rec_uigraph *g, const rec_walk_opts *o,
                               rec_walk_nbrs **out, const char *fn);
void rec_walk_nbrs_destroy(rec_walk_nbrs *nb);

#endif
