/* Random walks with restart and their visit-count neighbourhoods (see
 * graph_walk-impl.h). */
#include "graph_walk-impl.h"

#include <stdlib.h>
#include <string.h>

void rec_walk_run(const rec_uigraph *g, int32_t q, int64_t steps, float restart, rec_rng *rng,
                  int32_t *counts, int32_t *trace)
{
    if (g->iptr[q + 1] == g->iptr[q])
        return;
    int32_t at = q;
    for (int64_t s = 0; s < steps; s++) {
        int64_t ib = g->iptr[at], id = g->iptr[at + 1] - ib;
        int32_t u = g->iuser[ib + rec_rng_below(rng, (uint32_t)id)];
        /* a user reached from an item has at least that item */
        int64_t ub = g->uptr[u], ud = g->uptr[u + 1] - ub;
        int32_t to = g->uitem[ub + rec_rng_below(rng, (uint32_t)ud)];
        counts[to]++;
        if (trace) {
            trace[3 * s] = at;
            trace[3 * s + 1] = u;
            trace[3 * s + 2] = to;
        }
        at = restart > 0 && rec_rng_uniform(rng) < restart ? q : to;
    }
}

void rec_walk_nbrs_destroy(rec_walk_nbrs *nb)
{
    if (!nb)
        return;
    size_t n = (size_t)nb->nitems * (size_t)nb->top;
    n = n ? n : 1;
    rec_free(nb->idx, n * sizeof *nb->idx);
    rec_free(nb->visits, n * sizeof *nb->visits);
    rec_free(nb->w, n * sizeof *nb->w);
    rec_free(nb, sizeof *nb);
}

/* Fixed chunks (not threads) own the count buffers, so the work split never
 * touches the results: each item's walk uses only its own stream. */
#define WALK_CHUNKS 16

typedef struct walk_job {
    const rec_uigraph *g;
    const rec_walk_opts *o;
    rec_walk_nbrs *nb;
    int32_t *counts[WALK_CHUNKS];  /* [nitems] each, zero between items */
    int32_t *trace[WALK_CHUNKS];   /* [steps, 3]: the landings to read back */
    int32_t *vis[WALK_CHUNKS];     /* [steps, 2]: (item, visits) to rank */
} walk_job;

typedef struct visit {
    int32_t item, n;
} visit;

static int by_visits(const void *a, const void *b)
{
    const visit *x = a, *y = b;
    if (x->n != y->n)
        return x->n > y->n ? -1 : 1;
    return (x->item > y->item) - (x->item < y->item);
}

static void walk_range(void *arg, int64_t b, int64_t e, int chunk)
{
    walk_job *j = arg;
    const rec_walk_opts *o = j->o;
    int32_t *cnt = j->counts[chunk], *tr = j->trace[chunk], top = o->top;
    visit *v = (visit *)j->vis[chunk];
    for (int64_t q = b; q < e; q++) {
        rec_rng rng;
        rec_rng_stream(&rng, o->seed, (uint64_t)q);
        int64_t steps = j->g->iptr[q + 1] > j->g->iptr[q] ? o->steps : 0;
        rec_walk_run(j->g, (int32_t)q, steps, o->restart, &rng, cnt, tr);
        /* The landings list every touched item: O(steps), not O(items),
         * and each count read once (then cleared) gives the distinct ones. */
        int32_t nv = 0;
        for (int64_t s = 0; s < steps; s++) {
            int32_t i = tr[3 * s + 2];
            if (cnt[i] && i != q)
                v[nv++] = (visit){ i, cnt[i] };
            cnt[i] = 0;
        }
        qsort(v, (size_t)nv, sizeof *v, by_visits);
        int32_t *idx = j->nb->idx + q * top, *vis = j->nb->visits + q * top;
        float *w = j->nb->w + q * top;
        int64_t total = 0;
        for (int32_t k = 0; k < top; k++) {
            idx[k] = k < nv ? v[k].item : -1;
            vis[k] = k < nv ? v[k].n : 0;
            total += vis[k];
        }
        for (int32_t k = 0; k < top; k++)
            w[k] = total ? (float)((double)vis[k] / (double)total) : 0.0f;
    }
}

rec_status rec_walk_neighbours(const rec_uigraph *g, const rec_walk_opts *o,
                               rec_walk_nbrs **out, const char *fn)
{
    REC_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    REC_CHECK_ARG(g && o, fn, "graph or options is NULL");
    if (o->steps < 1 || o->steps > (1 << 24))
        return rec_err(REC_E_RANGE, "%s: walk steps = %lld, want 1 .. %d", fn,
                       (long long)o->steps, 1 << 24);
    if (!(o->restart >= 0.0f && o->restart < 1.0f))
        return rec_err(REC_E_RANGE, "%s: restart = %g is outside [0, 1)", fn,
                       (double)o->restart);
    if (o->top < 1 || o->top > 4096)
        return rec_err(REC_E_RANGE, "%s: top = %d, want 1 .. 4096", fn, (int)o->top);
    rec_walk_nbrs *nb = rec_calloc(1, sizeof *nb);
    if (!nb)
        return rec_nomem(fn);
    nb->nitems = g->nitems;
    nb->top = o->top;
    size_t n = (size_t)g->nitems * (size_t)o->top;
    n = n ? n : 1;
    nb->idx = rec_malloc(n * sizeof *nb->idx);
    nb->visits = rec_malloc(n * sizeof *nb->visits);
    nb->w = rec_malloc(n * sizeof *nb->w);
    walk_job j = { .g = g, .o = o, .nb = nb };
    size_t ni = (size_t)(g->nitems ? g->nitems : 1), ns = (size_t)o->steps;
    int ok = nb->idx && nb->visits && nb->w;
    for (int c = 0; c < WALK_CHUNKS && ok; c++) {
        j.counts[c] = rec_calloc(ni, sizeof *j.counts[c]);
        j.trace[c] = rec_malloc(3 * ns * sizeof *j.trace[c]);
        j.vis[c] = rec_malloc(2 * ns * sizeof *j.vis[c]);
        ok = j.counts[c] && j.trace[c] && j.vis[c];
    }
    if (ok && g->nitems)
        rec_parallel_chunks(g->nitems, WALK_CHUNKS, walk_range, &j);
    for (int c = 0; c < WALK_CHUNKS; c++) {
        rec_free(j.counts[c], ni * sizeof *j.counts[c]);
        rec_free(j.trace[c], 3 * ns * sizeof *j.trace[c]);
        rec_free(j.vis[c], 2 * ns * sizeof *j.vis[c]);
    }
    if (!ok) {
        rec_walk_nbrs_destroy(nb);
        return rec_nomem(fn);
    }
    *out = nb;
    return REC_OK;
}
