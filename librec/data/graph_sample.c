/* Uniform k-hop neighbour sampling into mini-batch blocks (see
 * graph_sample-impl.h).  One pass per layer: sample each destination's
 * neighbours from its own RNG stream, append unseen ones to the sources. */
#include "graph_sample-impl.h"
#include "data-impl.h"

#include <string.h>

static void free_block(rec_block *b)
{
    rec_csr_free_transpose(&b->adj);
    size_t nz = (size_t)(b->adj.nnz ? b->adj.nnz : 1);
    rec_free(b->src, (size_t)(b->nsrc ? b->nsrc : 1) * sizeof *b->src);
    rec_free((void *)b->adj.indptr, ((size_t)b->ndst + 1) * sizeof *b->adj.indptr);
    rec_free((void *)b->adj.indices, nz * sizeof *b->adj.indices);
    rec_free((void *)b->adj.vals, nz * sizeof *b->adj.vals);
}

void rec_blocks_destroy(rec_blocks *b)
{
    if (!b)
        return;
    for (int l = 0; l < REC_SAMPLE_MAX_LAYERS; l++)
        free_block(&b->b[l]);
    rec_free(b, sizeof *b);
}

/* Node v's neighbour k (0 <= k < deg v) as a node id. */
static int32_t neighbour(const rec_uigraph *g, int32_t v, int64_t k)
{
    return v < g->nusers ? g->nusers + g->uitem[g->uptr[v] + k]
                         : g->iuser[g->iptr[v - g->nusers] + k];
}

/* min(fan, deg) distinct positions in [0, deg), ascending, into pick
 * (Floyd's algorithm: fan draws whatever deg is).  Returns the count. */
static int64_t pick_positions(rec_rng *r, int64_t deg, int fan, int64_t *pick)
{
    if (fan == 0 || deg <= fan) {
        for (int64_t k = 0; k < deg; k++)
            pick[k] = k;
        return deg;
    }
    int64_t n = 0;
    for (int64_t j = deg - fan; j < deg; j++) {
        int64_t t = (int64_t)rec_rng_below(r, (uint32_t)(j + 1)), c = t;
        for (int64_t q = 0; q < n; q++)
            if (pick[q] == t) {
                c = j;
                break;
            }
        /* insertion keeps pick ascending */
        int64_t q = n++;
        while (q > 0 && pick[q - 1] > c) {
            pick[q] = pick[q - 1];
            q--;
        }
        pick[q] = c;
    }
    return n;
}

/* One block: dst (ndst distinct nodes, pos[] marks them as positions
 * 0..ndst-1 and is -1 elsewhere) -> sources and the normalised CSR.  pos
 * is left marking every source; the caller clears it. */
static rec_status build_block(const rec_uigraph *g, const int32_t *dst, int32_t ndst, int layer,
                              int fan, uint64_t seed, rec_block_norm norm, int32_t *pos,
                              int64_t *pick, rec_block *b)
{
    int64_t nodes = (int64_t)g->nusers + g->nitems, nnz = 0;
    for (int32_t k = 0; k < ndst; k++) {
        int64_t d = rec_uigraph_degree(g, dst[k]);
        nnz += (fan && d > fan ? fan : d) + (norm == REC_BLOCK_GCN);
    }
    /* sources are at most ndst + nnz; shrunk to fit below */
    int64_t cap = ndst + nnz < nodes ? ndst + nnz : nodes;
    size_t nz = (size_t)(nnz ? nnz : 1);
    int64_t *ptr = rec_malloc(((size_t)ndst + 1) * sizeof *ptr);
    int32_t *idx = rec_malloc(nz * sizeof *idx), *src = rec_malloc((size_t)(cap ? cap : 1)
                                                                    * sizeof *src);
    float *val = rec_malloc(nz * sizeof *val);
    b->ndst = ndst;
    b->nsrc = (int32_t)(cap ? cap : 1);
    b->src = src;
    b->adj = (rec_csr){ ndst, 0, nnz, ptr, idx, val, NULL };
    if (!ptr || !idx || !src || !val)
        return REC_E_NOMEM;
    memcpy(src, dst, (size_t)ndst * sizeof *src);
    int32_t nsrc = ndst;
    int64_t w = 0;
    ptr[0] = 0;
    for (int32_t k = 0; k < ndst; k++) {
        int32_t v = dst[k];
        int64_t deg = rec_uigraph_degree(g, v);
        rec_rng r;
        rec_rng_stream(&r, seed, (uint64_t)layer * (uint64_t)nodes + (uint64_t)v);
        int64_t n = pick_positions(&r, deg, fan, pick);
        if (norm == REC_BLOCK_GCN) {
            idx[w] = k;
            val[w++] = (float)(1.0 / ((double)deg + 1));
        }
        for (int64_t q = 0; q < n; q++) {
            int32_t u = neighbour(g, v, pick[q]);
            if (pos[u] < 0) {
                pos[u] = nsrc;
                src[nsrc++] = u;
            }
            idx[w] = pos[u];
            val[w++] = norm == REC_BLOCK_GCN ? rec_block_gcn_weight(deg, n,
                                                                    rec_uigraph_degree(g, u))
                                             : (float)(1.0 / (double)n);
        }
        ptr[k + 1] = w;
    }
    b->adj.cols = nsrc;
    /* keep src at its capacity: free_block frees what was allocated */
    b->nsrc = nsrc;
    if (nsrc < cap) {
        int32_t *s2 = rec_malloc((size_t)(nsrc ? nsrc : 1) * sizeof *s2);
        if (!s2) {
            b->nsrc = (int32_t)(cap ? cap : 1);
            return REC_E_NOMEM;
        }
        memcpy(s2, src, (size_t)nsrc * sizeof *s2);
        rec_free(src, (size_t)(cap ? cap : 1) * sizeof *src);
        b->src = s2;
    }
    return REC_OK;
}

rec_status rec_uigraph_sample(const rec_uigraph *g, const int32_t *seeds, int32_t nseeds,
                              int layers, const int *fanout, uint64_t seed, rec_block_norm norm,
                              rec_blocks **out, const char *fn)
{
    REC_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    REC_CHECK_ARG(g && fanout && (seeds || nseeds == 0), fn,
                  "graph, seeds or fanout is NULL");
    if (layers < 1 || layers > REC_SAMPLE_MAX_LAYERS)
        return rec_err(REC_E_INVALID, "%s: layers = %d, want 1 .. %d", fn, layers,
                       REC_SAMPLE_MAX_LAYERS);
    if (norm != REC_BLOCK_MEAN && norm != REC_BLOCK_GCN)
        return rec_err(REC_E_INVALID, "%s: unknown block normalisation %d", fn, (int)norm);
    int64_t fmax = 0; /* the most picks of one node; 0 = all neighbours */
    for (int l = 0; l < layers; l++) {
        if (fanout[l] < 0)
            return rec_err(REC_E_INVALID, "%s: fanout[%d] = %d, want >= 0", fn, l, fanout[l]);
        fmax = fanout[l] == 0 || fmax < 0 ? -1 : fanout[l] > fmax ? fanout[l] : fmax;
    }
    int64_t nodes = (int64_t)g->nusers + g->nitems, maxdeg = 0;
    if (nseeds < 0 || nseeds > nodes)
        return rec_err(REC_E_INVALID, "%s: %d seeds for a graph of %lld nodes", fn, (int)nseeds,
                       (long long)nodes);
    for (int32_t k = 0; k < nseeds; k++)
        if (seeds[k] < 0 || seeds[k] >= nodes)
            return rec_err(REC_E_RANGE, "%s: seed %d is node %d, outside the %lld nodes", fn,
                           (int)k, (int)seeds[k], (long long)nodes);
    for (int64_t v = 0; v < nodes; v++) {
        int64_t d = rec_uigraph_degree(g, v);
        maxdeg = d > maxdeg ? d : maxdeg;
    }
    int64_t npick = fmax >= 0 && fmax < maxdeg ? fmax : maxdeg;
    int32_t *pos = rec_malloc((size_t)(nodes ? nodes : 1) * sizeof *pos);
    int64_t *pick = rec_malloc((size_t)(npick ? npick : 1) * sizeof *pick);
    rec_blocks *bs = rec_calloc(1, sizeof *bs);
    rec_status st = pos && pick && bs ? REC_OK : REC_E_NOMEM;
    if (!st) {
        for (int64_t v = 0; v < nodes; v++)
            pos[v] = -1;
        for (int32_t k = 0; k < nseeds && !st; k++) {
            if (pos[seeds[k]] >= 0)
                st = rec_err(REC_E_INVALID, "%s: seed %d repeats node %d (seed %d)", fn, (int)k,
                             (int)seeds[k], (int)pos[seeds[k]]);
            pos[seeds[k]] = k;
        }
    }
    if (bs)
        bs->layers = layers;
    const int32_t *dst = seeds;
    int32_t ndst = nseeds;
    for (int l = layers - 1; l >= 0 && !st; l--) {
        rec_block *b = &bs->b[l];
        st = build_block(g, dst, ndst, l, fanout[l], seed, norm, pos, pick, b);
        if (!st) {
            /* the next block's destinations are these sources, marked as
             * positions 0..nsrc-1 already */
            dst = b->src;
            ndst = b->nsrc;
        }
    }
    rec_free(pos, (size_t)(nodes ? nodes : 1) * sizeof *pos);
    rec_free(pick, (size_t)(npick ? npick : 1) * sizeof *pick);
    if (st) {
        rec_blocks_destroy(bs);
        return st == REC_E_NOMEM ? rec_nomem(fn) : st;
    }
    *out = bs;
    return REC_OK;
}
