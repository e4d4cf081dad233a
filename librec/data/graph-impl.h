/* The user-item bipartite graph of a dataset, and its normalised adjacency
 * for graph convolutions (LightGCN, NGCF, GCN).  Internal to librec.
 *
 * Nodes: users 0 .. nusers-1, then items nusers .. nusers+nitems-1 (one
 * embedding table, users first, as LightGCN's code lays it out).  Edges are
 * the distinct (user, item) pairs of the dataset: a pair seen twice is one
 * edge of weight 1 (LightGCN's R is binary).
 *
 * The adjacency A = [[0, R], [R^T, 0]] of N = nusers + nitems nodes:
 *   symmetric  D^-1/2 A D^-1/2: entry (a, b) = 1 / sqrt(deg a * deg b)
 *              (LightGCN, NGCF, GCN)
 *   row        D^-1 A:         entry (a, b) = 1 / deg a (mean aggregation)
 * A node without edges has an empty row (no division by zero). */
#ifndef LIBREC_GRAPH_IMPL_H
#define LIBREC_GRAPH_IMPL_H

#include "core/ops.h"
#include "librec/data.h"

#include <stdint.h>

typedef struct rec_uigraph {
    int32_t nusers, nitems;
    int64_t nedges;
    int64_t *uptr;      /* [nusers+1] user -> items CSR               */
    int32_t *uitem;     /* [nedges]   ascending per user              */
    int64_t *iptr;      /* [nitems+1] item -> users CSR (the transpose) */
    int32_t *iuser;     /* [nedges]   ascending per item              */
} rec_uigraph;

typedef enum rec_graph_norm {
    REC_GRAPH_NORM_SYMMETRIC = 0,
    REC_GRAPH_NORM_ROW = 1
} rec_graph_norm;

/* From the dataset's rows (ids as its dense indices).  REC_E_INVALID for a
 * NULL argument, REC_E_NOMEM; fn names the caller in messages. */
rec_status rec_uigraph_build(rec_uigraph **out, const rec_dataset *d, const char *fn);
/* From n (user, item) pairs in any order, duplicates allowed.  REC_E_RANGE
 * (naming the pair) for an index outside [0, nusers) / [0, nitems). */
rec_status rec_uigraph_from_pairs(rec_uigraph **out, int32_t nusers, int32_t nitems,
                                  int64_t n, const int32_t *users, const int32_t *items,
                                  const char *fn);
void rec_uigraph_destroy(rec_uigraph *g);

/* Degree of node a (users first, then items). */
static inline int64_t rec_uigraph_degree(const rec_uigraph *g, int64_t a)
{
    return a < g->nusers ? g->uptr[a + 1] - g->uptr[a]
                         : g->iptr[a - g->nusers + 1] - g->iptr[a - g->nusers];
}

/* The normalised (nusers+nitems)^2 adjacency as a new CSR with values,
 * columns ascending in each row.  The CSR owns its arrays; free it with
 * rec_uigraph_adj_free (which frees a transpose rec_spmm cached too). */
rec_status rec_uigraph_adjacency(const rec_uigraph *g, rec_graph_norm norm, rec_csr **out,
                                 const char *fn);
/* The same with every degree taken as deg + alpha (alpha >= 0, else
 * REC_E_INVALID): the renormalised (D + alpha I)^-1/2 A (D + alpha I)^-1/2.
 * alpha damps the entries of low-degree nodes, whose few edges otherwise
 * weigh most; SVD-GCN (Peng et al., CIKM 2022) finds its spectrum a better
 * filter.  alpha = 0 is rec_uigraph_adjacency. */
rec_status rec_uigraph_adjacency_renorm(const rec_uigraph *g, rec_graph_norm norm, double alpha,
                                        rec_csr **out, const char *fn);
void rec_uigraph_adj_free(rec_csr *a);

#endif
