/* Between the 2-D maps of vectors: the nearest-neighbour lists and the
 * fuzzy graph over them (project_knn.c), the PCA (project_pca.c) that
 * starts the layout, and the layout itself (project_layout.c). */
#ifndef LIBREC_PROJECT_IMPL_H
#define LIBREC_PROJECT_IMPL_H

#include "core/core-impl.h"

/* The k nearest neighbours of every vector of x [n, dim] among the others:
 * nbr [n, k] their rows nearest first (-1 where an HNSW search found fewer),
 * dist [n, k] their distances, computed in double from x: euclidean, or
 * 1 - cosine when cosine.  hnsw picks the HNSW index (seeded by seed) over
 * the exact flat one.  k <= n - 1.  fn names the public caller. */
rec_status rec_knn_lists(const float *x, size_t n, int dim, int k, int cosine, int hnsw,
                         uint64_t seed, int32_t *nbr, float *dist, const char *fn);

/* The symmetric fuzzy graph of kNN lists as directed edges, both directions
 * of every pair: edge e runs from head[e] to tail[e] with weight w[e] in
 * (0, 1].  Arrays owned by the graph (rec_fuzzy_graph_free). */
typedef struct rec_fuzzy_graph {
    size_t nedges, cap; /* cap: the arrays' length */
    int32_t *head, *tail;
    float *w;
} rec_fuzzy_graph;

/* UMAP's fuzzy simplicial set of the lists: w(i->j) = exp(-(d_ij - rho_i) /
 * sigma_i), rho_i the distance to i's nearest neighbour, sigma_i such that
 * i's weights sum to log2(k); symmetrised by fuzzy union, a + b - ab. */
rec_status rec_fuzzy_graph_build(size_t n, int k, const int32_t *nbr, const float *dist,
                                 rec_fuzzy_graph *g, const char *fn);
void rec_fuzzy_graph_free(rec_fuzzy_graph *g);

/* The checks every map makes of its input; fn names the public caller. */
rec_status rec_project_check(const float *x, size_t n, int dim, const char *fn);

/* rec_project_pca without the checks (project_pca.c). */
rec_status rec_pca_unchecked(const float *x, size_t n, int dim, int k, float *out, float *axes,
                             double *variance, double *total, const char *fn);

/* a, b of the layout's curve 1 / (1 + a d^(2b)), least-squares fitted to 1
 * below min_dist and exp(-(d - min_dist)) above it, as UMAP does with spread
 * 1 (min_dist 0.1: a = 1.577, b = 0.895). */
void rec_umap_curve(double min_dist, double *a, double *b);

#endif
