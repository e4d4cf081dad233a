/* The user-item bipartite graph as CSR both ways, and its normalised
 * adjacency (see graph-impl.h).  Built by counting sorts: O(rows + nodes),
 * no comparison sort, and the same arrays whatever the row order. */
#include "graph-impl.h"
#include "data-impl.h"

#include <math.h>
#include <string.h>

void rec_uigraph_destroy(rec_uigraph *g)
{
    if (!g)
        return;
    size_t ne = (size_t)(g->nedges ? g->nedges : 1);
    rec_free(g->uptr, ((size_t)g->nusers + 1) * sizeof *g->uptr);
    rec_free(g->iptr, ((size_t)g->nitems + 1) * sizeof *g->iptr);
    rec_free(g->uitem, ne * sizeof *g->uitem);
    rec_free(g->iuser, ne * sizeof *g->iuser);
    rec_free(g, sizeof *g);
}

/* CSR of n (row, col) pairs over `rows` rows by counting sort; the columns
 * of a row come out in input order.  ptr [rows+1], idx [n]. */
static void count_sort(int32_t rows, int64_t n, const int32_t *r, const int32_t *c,
                       int64_t *ptr, int32_t *idx)
{
    memset(ptr, 0, ((size_t)rows + 1) * sizeof *ptr);
    for (int64_t k = 0; k < n; k++)
        ptr[r[k] + 1]++;
    for (int32_t a = 0; a < rows; a++)
        ptr[a + 1] += ptr[a];
    for (int64_t k = 0; k < n; k++)
        idx[ptr[r[k]]++] = c[k];
    memmove(ptr + 1, ptr, (size_t)rows * sizeof *ptr);
    ptr[0] = 0;
}

/* Distinct (user, item) edges: each user's items ascending.  By item
 * first, then by user, so duplicates are neighbours and drop in one pass.
 * uptr [nusers+1] out; *edges (allocated, *w entries) out. */
static rec_status dedup_edges(int32_t nusers, int32_t nitems, int64_t n, const int32_t *users,
                              const int32_t *items, int64_t *uptr, int32_t **edges, int64_t *w)
{
    size_t nz = (size_t)(n ? n : 1);
    int64_t *tptr = rec_malloc(((size_t)nitems + 1) * sizeof *tptr);
    int32_t *tusr = rec_malloc(nz * sizeof *tusr), *titem = rec_malloc(nz * sizeof *titem);
    int32_t *all = rec_malloc(nz * sizeof *all);
    rec_status st = REC_E_NOMEM;
    if (tptr && tusr && titem && all) {
        count_sort(nitems, n, items, users, tptr, tusr);
        for (int32_t i = 0; i < nitems; i++)
            for (int64_t k = tptr[i]; k < tptr[i + 1]; k++)
                titem[k] = i;
        count_sort(nusers, n, tusr, titem, uptr, all);
        int64_t o = 0;
        for (int32_t u = 0; u < nusers; u++) {
            int64_t b = uptr[u], e = uptr[u + 1];
            uptr[u] = o;
            for (int64_t k = b; k < e; k++)
                if (k == b || all[k] != all[k - 1])
                    all[o++] = all[k];
        }
        uptr[nusers] = o;
        *w = o;
        *edges = rec_malloc((size_t)(o ? o : 1) * sizeof **edges);
        if (*edges) {
            memcpy(*edges, all, (size_t)o * sizeof **edges);
            st = REC_OK;
        }
    }
    rec_free(tptr, ((size_t)nitems + 1) * sizeof *tptr);
    rec_free(tusr, nz * sizeof *tusr);
    rec_free(titem, nz * sizeof *titem);
    rec_free(all, nz * sizeof *all);
    return st;
}

rec_status rec_uigraph_from_pairs(rec_uigraph **out, int32_t nusers, int32_t nitems,
                                  int64_t n, const int32_t *users, const int32_t *items,
                                  const char *fn)
{
    REC_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    REC_CHECK_ARG(n == 0 || (users && items), fn, "users or items is NULL");
    if (nusers < 0 || nitems < 0 || n < 0 || (int64_t)nusers + nitems >= INT32_MAX)
        return rec_err(REC_E_INVALID, "%s: bad graph size (%d users, %d items, %lld pairs)", fn,
                       (int)nusers, (int)nitems, (long long)n);
    for (int64_t k = 0; k < n; k++)
        if (users[k] < 0 || users[k] >= nusers || items[k] < 0 || items[k] >= nitems)
            return rec_err(REC_E_RANGE, "%s: pair %lld is (user %d, item %d), outside %d users "
                           "x %d items", fn, (long long)k, (int)users[k], (int)items[k],
                           (int)nusers, (int)nitems);
    rec_uigraph *g = rec_calloc(1, sizeof *g);
    if (!g)
        return rec_nomem(fn);
    g->nusers = nusers;
    g->nitems = nitems;
    g->uptr = rec_malloc(((size_t)nusers + 1) * sizeof *g->uptr);
    g->iptr = rec_malloc(((size_t)nitems + 1) * sizeof *g->iptr);
    rec_status st = g->uptr && g->iptr ? dedup_edges(nusers, nitems, n, users, items, g->uptr,
                                                     &g->uitem, &g->nedges)
                                       : REC_E_NOMEM;
    size_t nw = (size_t)(g->nedges ? g->nedges : 1);
    int32_t *eu = st ? NULL : rec_malloc(nw * sizeof *eu);
    g->iuser = eu ? rec_malloc(nw * sizeof *g->iuser) : NULL;
    if (!g->iuser) {
        rec_free(eu, nw * sizeof *eu);
        rec_uigraph_destroy(g);
        return rec_nomem(fn);
    }
    /* The transpose: users ascending per item. */
    for (int32_t u = 0; u < nusers; u++)
        for (int64_t k = g->uptr[u]; k < g->uptr[u + 1]; k++)
            eu[k] = u;
    count_sort(nitems, g->nedges, g->uitem, eu, g->iptr, g->iuser);
    rec_free(eu, nw * sizeof *eu);
    *out = g;
    return REC_OK;
}

rec_status rec_uigraph_build(rec_uigraph **out, const rec_dataset *d, const char *fn)
{
    REC_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    REC_CHECK_ARG(d, fn, "dataset is NULL");
    return rec_uigraph_from_pairs(out, rec_ds_num_users(d), rec_ds_num_items(d),
                                  rec_ds_num_rows(d), rec_ds_users_col(d), rec_ds_items_col(d),
                                  fn);
}

void rec_uigraph_adj_free(rec_csr *a)
{
    if (!a)
        return;
    rec_csr_free_transpose(a);
    size_t nz = (size_t)(a->nnz ? a->nnz : 1);
    rec_free((void *)a->indptr, (size_t)(a->rows + 1) * sizeof *a->indptr);
    rec_free((void *)a->indices, nz * sizeof *a->indices);
    rec_free((void *)a->vals, nz * sizeof *a->vals);
    rec_free(a, sizeof *a);
}

rec_status rec_uigraph_adjacency(const rec_uigraph *g, rec_graph_norm norm, rec_csr **out,
                                 const char *fn)
{
    return rec_uigraph_adjacency_renorm(g, norm, 0.0, out, fn);
}

rec_status rec_uigraph_adjacency_renorm(const rec_uigraph *g, rec_graph_norm norm, double alpha,
                                        rec_csr **out, const char *fn)
{
    REC_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    REC_CHECK_ARG(g, fn, "graph is NULL");
    if (norm != REC_GRAPH_NORM_SYMMETRIC && norm != REC_GRAPH_NORM_ROW)
        return rec_err(REC_E_INVALID, "%s: unknown normalisation %d", fn, (int)norm);
    if (!(alpha >= 0))
        return rec_err(REC_E_INVALID, "%s: renormalisation %g is not >= 0", fn, alpha);
    int64_t nodes = (int64_t)g->nusers + g->nitems, nnz = 2 * g->nedges;
    size_t nz = (size_t)(nnz ? nnz : 1);
    rec_csr *a = rec_calloc(1, sizeof *a);
    int64_t *ptr = rec_malloc((size_t)(nodes + 1) * sizeof *ptr);
    int32_t *idx = rec_malloc(nz * sizeof *idx);
    float *val = rec_malloc(nz * sizeof *val), *dinv = rec_malloc((size_t)(nodes ? nodes : 1)
                                                                   * sizeof *dinv);
    if (!a || !ptr || !idx || !val || !dinv) {
        rec_free(a, sizeof *a);
        rec_free(ptr, (size_t)(nodes + 1) * sizeof *ptr);
        rec_free(idx, nz * sizeof *idx);
        rec_free(val, nz * sizeof *val);
        rec_free(dinv, (size_t)(nodes ? nodes : 1) * sizeof *dinv);
        return rec_nomem(fn);
    }
    /* dinv[x] = deg^-1/2 (symmetric) or deg^-1 (row), taken in double and
     * rounded once; a symmetric entry is the float product of its ends'
     * (as LightGCN's code computes it). */
    for (int64_t x = 0; x < nodes; x++) {
        double dg = (double)rec_uigraph_degree(g, x);
        dinv[x] = dg > 0 ? (float)(norm == REC_GRAPH_NORM_ROW ? 1.0 / (dg + alpha)
                                                              : 1.0 / sqrt(dg + alpha)) : 0;
    }
    /* User rows list items (columns nusers + i, ascending); item rows list
     * users (ascending), which all precede the items: columns ascend. */
    int64_t k = 0;
    ptr[0] = 0;
    for (int64_t x = 0; x < nodes; x++) {
        int is_user = x < g->nusers;
        int64_t b = is_user ? g->uptr[x] : g->iptr[x - g->nusers];
        int64_t e = is_user ? g->uptr[x + 1] : g->iptr[x - g->nusers + 1];
        for (int64_t p = b; p < e; p++, k++) {
            int64_t y = is_user ? (int64_t)g->nusers + g->uitem[p] : g->iuser[p];
            idx[k] = (int32_t)y;
            val[k] = norm == REC_GRAPH_NORM_ROW ? dinv[x] : dinv[x] * dinv[y];
        }
        ptr[x + 1] = k;
    }
    rec_free(dinv, (size_t)(nodes ? nodes : 1) * sizeof *dinv);
    *a = (rec_csr){ nodes, nodes, nnz, ptr, idx, val, NULL };
    *out = a;
    return REC_OK;
}
