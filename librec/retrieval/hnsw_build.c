/* Inserting a node into the HNSW graph: descend to its level, then on each
 * level below search ef_construction candidates, keep up to M of them with
 * the paper's heuristic (a candidate is dropped when it is closer to an
 * already kept neighbour than to the new node, which keeps links pointing
 * in different directions and the graph navigable on clustered data), link
 * both ways, and shrink any neighbour's list that overflows the same way.
 * Several inserts run at once: a node's lists are read and written under
 * its spin lock, the entry point under h->top. */
#include "hnsw-impl.h"
#include "topk-impl.h"

#include <string.h>

/* Keeps up to m of the n candidates ids (best first, scores cs against the
 * node they would link to) by the heuristic; returns the count in out. */
static int select_neighbours(const rec_hnsw *h, const int32_t *ids, const float *cs, int n,
                             int m, int32_t *out)
{
    int r = 0;
    for (int i = 0; i < n && r < m; i++) {
        const float *xi = rec_hnsw_vec(h, ids[i]);
        int keep = 1;
        for (int j = 0; j < r && keep; j++)
            keep = !(h->dot(xi, rec_hnsw_vec(h, out[j]), h->stride) > cs[i]);
        if (keep)
            out[r++] = ids[i];
    }
    return r;
}

/* Adds node to e's level-lc list, shrinking it by the heuristic when full. */
static void link_back(rec_hnsw *h, int32_t e, int32_t node, int lc)
{
    int mmax = lc ? h->M : h->M0;
    int32_t ids[1 + 2 * 512];
    float sc[1 + 2 * 512];
    rec_hnsw_spin_lock(h, e);
    int32_t *l = rec_hnsw_links(h, e, lc);
    if (!l) {
        /* e is a reused slot now lower than the stale link that led here */
        rec_hnsw_spin_unlock(h, e);
        return;
    }
    int c = l[0];
    for (int t = 0; t < c; t++)
        if (l[1 + t] == node) {
            rec_hnsw_spin_unlock(h, e);
            return;
        }
    if (c < mmax) {
        l[1 + c] = node;
        l[0] = c + 1;
        rec_hnsw_spin_unlock(h, e);
        return;
    }
    const float *xe = rec_hnsw_vec(h, e);
    /* The list plus node, sorted best first by score against e (insertion
     * sort: at most 2M + 1 entries). */
    int n = 0;
    for (int t = 0; t <= c; t++) {
        int32_t id = t < c ? l[1 + t] : node;
        float s = h->dot(xe, rec_hnsw_vec(h, id), h->stride);
        int p = n++;
        while (p > 0 && sc[p - 1] < s) {
            sc[p] = sc[p - 1];
            ids[p] = ids[p - 1];
            p--;
        }
        sc[p] = s;
        ids[p] = id;
    }
    l[0] = select_neighbours(h, ids, sc, n, mmax, l + 1);
    rec_hnsw_spin_unlock(h, e);
}

void rec_hnsw_insert(rec_hnsw *h, int32_t node, rec_hnsw_visit *v)
{
    int L = h->level[node];
    const float *q = rec_hnsw_vec(h, node);
    int32_t sel[512];
    pthread_mutex_lock(&h->top);
    int32_t ep = h->entry;
    int top = h->maxlevel;
    if (ep < 0) {
        h->entry = node;
        h->maxlevel = L;
        pthread_mutex_unlock(&h->top);
        return;
    }
    /* A node above the top keeps the lock until it becomes the entry, so
     * no other insert starts from a top that is about to change. */
    int hold = L > top;
    if (!hold)
        pthread_mutex_unlock(&h->top);
    if (top > L)
        ep = rec_hnsw_descend(h, q, ep, top, L, 1, node);
    for (int lc = L < top ? L : top; lc >= 0; lc--) {
        rec_hnsw_visit_begin(v);
        /* A reused slot may be reached through links into its old self:
         * marked visited, it is never its own neighbour nor expanded while
         * its lists are empty. */
        v->tag[node] = v->epoch;
        /* On out-of-memory the search keeps what it found: the node gets
         * fewer candidates, never a broken list. */
        (void)rec_hnsw_search_layer(h, v, q, ep, lc, (size_t)h->efc, NULL, 0, 1, 1);
        size_t n = rec_topk_finish(v->ri, v->rs, v->rn);
        size_t w = 0;
        for (size_t t = 0; t < n; t++)
            if (v->ri[t] != node) {
                v->ri[w] = v->ri[t];
                v->rs[w++] = v->rs[t];
            }
        if (w == 0)
            continue;
        ep = v->ri[0];
        int m = select_neighbours(h, v->ri, v->rs, (int)w, h->M, sel);
        /* Inserts running beside this one may already have linked to node
         * (link_back into its list): those links are kept, merged back by
         * the same rule, or their nodes could be left unreachable. */
        int32_t prev[1 + 2 * 512];
        rec_hnsw_spin_lock(h, node);
        int32_t *l = rec_hnsw_links(h, node, lc);
        int c = l[0];
        memcpy(prev, l + 1, (size_t)c * sizeof *prev);
        memcpy(l + 1, sel, (size_t)m * sizeof *sel);
        l[0] = m;
        rec_hnsw_spin_unlock(h, node);
        for (int t = 0; t < c; t++)
            link_back(h, node, prev[t], lc);
        for (int t = 0; t < m; t++)
            link_back(h, sel[t], node, lc);
    }
    if (hold) {
        h->entry = node;
        h->maxlevel = L;
        pthread_mutex_unlock(&h->top);
    }
}
