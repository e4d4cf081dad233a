/* Uniform k-hop neighbour sampling on the user-item graph (GraphSAGE,
 * Hamilton et al., NeurIPS 2017) into mini-batch blocks: the sampled
 * subgraph of each layer, as the inductive layers (rec_nn_gcn_forward,
 * rec_nn_sage_forward) consume it.  Internal to librec.
 *
 * Nodes are the graph's (users 0 .. nusers-1, then items).  For L layers
 * the blocks are built from the output side: block L-1 has the seeds as
 * its destination nodes; its source nodes are those destinations followed
 * by the neighbours sampled for them (first-seen order); block l-1 takes
 * block l's sources as its destinations.  So in every block the first ndst
 * sources ARE the destinations (what SAGE's "concat with self" reads), and
 * block 0's sources are the nodes whose input vectors the model computes.
 *
 * Node v of layer l keeps min(fanout[l], deg v) of its neighbours, drawn
 * uniformly without replacement (Floyd's algorithm, kept in adjacency
 * order), from its own RNG stream (seed, l * N + v): the sample of a node
 * depends on the seed, the layer and the node, never on the other seeds
 * of the batch or on how many threads build the blocks.  fanout 0 keeps
 * every neighbour (inference over full neighbourhoods).
 *
 * Each block's adjacency is a CSR [ndst, nsrc] over source positions with
 * the values its layer expects:
 *   MEAN  1 / n_v on each of v's n_v sampled neighbours (GraphSAGE's mean)
 *   GCN   the renormalised adjacency of Kipf & Welling, D~^-1/2 (A + I)
 *         D~^-1/2 with D~ = deg + 1 (full-graph degrees), estimated from the
 *         sample: v's self-loop 1 / (deg v + 1) (first in the row), each
 *         sampled neighbour u (deg v / n_v) / sqrt((deg v + 1)(deg u + 1)),
 *         so the row's expectation over samples is the exact row of Â and a
 *         fanout >= deg v gives it exactly. */
#ifndef LIBREC_GRAPH_SAMPLE_IMPL_H
#define LIBREC_GRAPH_SAMPLE_IMPL_H

#include "graph-impl.h"

#include <math.h>

#define REC_SAMPLE_MAX_LAYERS 8

typedef enum rec_block_norm { REC_BLOCK_MEAN = 0, REC_BLOCK_GCN = 1 } rec_block_norm;

typedef struct rec_block {
    int32_t ndst, nsrc;
    int32_t *src;     /* [nsrc] node ids; src[k] is destination k for k < ndst */
    rec_csr adj;      /* [ndst, nsrc]; its arrays belong to the block */
} rec_block;

typedef struct rec_blocks {
    int layers;
    rec_block b[REC_SAMPLE_MAX_LAYERS];   /* b[0] reads the inputs, b[layers-1] the seeds */
} rec_blocks;

/* The blocks of `layers` hops (1 .. REC_SAMPLE_MAX_LAYERS) around nseeds
 * distinct seed nodes; fanout[l] >= 0 per layer (0: all neighbours).
 * REC_E_INVALID for NULLs, bad sizes or a repeated seed, REC_E_RANGE for a
 * seed outside the graph, REC_E_NOMEM (nothing left allocated); fn names
 * the caller in messages. */
rec_status rec_uigraph_sample(const rec_uigraph *g, const int32_t *seeds, int32_t nseeds,
                              int layers, const int *fanout, uint64_t seed, rec_block_norm norm,
                              rec_blocks **out, const char *fn);
void rec_blocks_destroy(rec_blocks *b);

/* The GCN weight of edge (v, u) when v keeps n of its deg_v neighbours. */
static inline float rec_block_gcn_weight(int64_t deg_v, int64_t n, int64_t deg_u)
{
    return (float)(((double)deg_v / (double)n) / sqrt(((double)deg_v + 1) * ((double)deg_u + 1)));
}

#endif
