/* Neighbour sampling into blocks: the same seed gives the same blocks
 * whatever the other seeds; fan-out bounds; every sampled edge is an edge;
 * the block layout the layers rely on; the normalisations' values; the
 * uniformity of the draw; bad arguments and out of memory. */
#include "testutil.h"

#include "data/graph_sample-impl.h"

#include <math.h>
#include <string.h>

/* 6 users x 8 items: user u has items u .. u + 4 (mod 8) and user 5 every
 * item; so degrees vary from 2 to 8. */
static rec_uigraph *graph(void)
{
    int32_t us[64], is[64];
    int n = 0;
    for (int u = 0; u < 5; u++)
        for (int k = 0; k < 5; k++) {
            us[n] = u;
            is[n++] = (u + k) % 8;
        }
    for (int i = 0; i < 8; i++) {
        us[n] = 5;
        is[n++] = i;
    }
    rec_uigraph *g;
    ck_assert_int_eq(rec_uigraph_from_pairs(&g, 6, 8, n, us, is, "t"), REC_OK);
    return g;
}

static int is_edge(const rec_uigraph *g, int32_t a, int32_t b)
{
    if (a > b) {
        int32_t t = a;
        a = b;
        b = t;
    }
    if (a >= g->nusers || b < g->nusers)
        return 0;
    for (int64_t k = g->uptr[a]; k < g->uptr[a + 1]; k++)
        if (g->uitem[k] == b - g->nusers)
            return 1;
    return 0;
}

/* The layout and bounds every block set must have. */
static void check_blocks(const rec_uigraph *g, const rec_blocks *bs, const int32_t *seeds,
                         int32_t n, const int *fan, rec_block_norm norm)
{
    ck_assert_int_eq(bs->b[bs->layers - 1].ndst, n);
    ck_assert_mem_eq(bs->b[bs->layers - 1].src, seeds, (size_t)n * sizeof *seeds);
    for (int l = 0; l < bs->layers; l++) {
        const rec_block *b = &bs->b[l];
        ck_assert_int_eq(b->adj.rows, b->ndst);
        ck_assert_int_eq(b->adj.cols, b->nsrc);
        ck_assert_int_le(b->ndst, b->nsrc);
        if (l + 1 < bs->layers) { /* this block's destinations: the next one's sources */
            ck_assert_int_eq(b->ndst, bs->b[l + 1].nsrc);
            ck_assert_mem_eq(b->src, bs->b[l + 1].src, (size_t)b->ndst * sizeof *b->src);
        }
        for (int32_t s = 0; s < b->nsrc; s++) /* sources distinct */
            for (int32_t t = 0; t < s; t++)
                ck_assert_int_ne(b->src[s], b->src[t]);
        for (int32_t v = 0; v < b->ndst; v++) {
            int32_t node = b->src[v];
            int64_t deg = rec_uigraph_degree(g, node), p0 = b->adj.indptr[v];
            int64_t want = fan[l] && deg > fan[l] ? fan[l] : deg;
            if (norm == REC_BLOCK_GCN) { /* self-loop first */
                ck_assert_int_eq(b->adj.indices[p0], v);
                ck_assert_float_eq_tol(b->adj.vals[p0], 1.0f / (float)(deg + 1), 1e-7f);
                p0++;
            }
            ck_assert_int_eq(b->adj.indptr[v + 1] - p0, want);
            double sum = 0;
            for (int64_t k = p0; k < b->adj.indptr[v + 1]; k++) {
                int32_t u = b->src[b->adj.indices[k]];
                ck_assert_msg(is_edge(g, node, u), "block %d: %d-%d is no edge", l, node, u);
                for (int64_t q = p0; q < k; q++)
                    ck_assert_int_ne(b->adj.indices[q], b->adj.indices[k]);
                sum += b->adj.vals[k];
                if (norm == REC_BLOCK_GCN)
                    ck_assert_float_eq_tol(b->adj.vals[k],
                                           (float)((double)deg / want /
                                                   sqrt((deg + 1.0) *
                                                        (rec_uigraph_degree(g, u) + 1.0))),
                                           1e-6f);
            }
            if (norm == REC_BLOCK_MEAN && want)
                ck_assert_double_eq_tol(sum, 1.0, 1e-6);
        }
    }
}

START_TEST(sample_layout_bounds_edges)
{
    rec_uigraph *g = graph();
    const int32_t seeds[] = { 0, 9, 5, 13 };
    const int fans[][3] = { { 2, 3, 1 }, { 0, 0, 0 }, { 3, 0, 2 } };
    for (int norm = 0; norm < 2; norm++)
        for (int f = 0; f < 3; f++)
            for (int layers = 1; layers <= 3; layers++) {
                rec_blocks *bs;
                ck_assert_int_eq(rec_uigraph_sample(g, seeds, 4, layers, fans[f], 7,
                                                    (rec_block_norm)norm, &bs, "t"), REC_OK);
                ck_assert_int_eq(bs->layers, layers);
                check_blocks(g, bs, seeds, 4, fans[f], (rec_block_norm)norm);
                rec_blocks_destroy(bs);
            }
    rec_uigraph_destroy(g);
}
END_TEST

/* Node v's sampled neighbours (sorted node ids) in the top block. */
static int top_sample(const rec_blocks *bs, int32_t v, int32_t *out)
{
    const rec_block *b = &bs->b[bs->layers - 1];
    int n = 0;
    for (int64_t k = b->adj.indptr[v]; k < b->adj.indptr[v + 1]; k++)
        out[n++] = b->src[b->adj.indices[k]];
    return n;
}

START_TEST(sample_is_seeded)
{
    rec_uigraph *g = graph();
    const int fan[2] = { 3, 3 };
    const int32_t s1[] = { 5, 6 }, s2[] = { 1, 2, 3, 5 };
    rec_blocks *a, *b, *c, *d;
    ck_assert_int_eq(rec_uigraph_sample(g, s1, 2, 2, fan, 11, REC_BLOCK_MEAN, &a, "t"), REC_OK);
    ck_assert_int_eq(rec_uigraph_sample(g, s1, 2, 2, fan, 11, REC_BLOCK_MEAN, &b, "t"), REC_OK);
    for (int l = 0; l < 2; l++) { /* same seed: the same blocks, bit for bit */
        ck_assert_int_eq(a->b[l].nsrc, b->b[l].nsrc);
        ck_assert_int_eq(a->b[l].adj.nnz, b->b[l].adj.nnz);
        ck_assert_mem_eq(a->b[l].src, b->b[l].src, (size_t)a->b[l].nsrc * sizeof(int32_t));
        ck_assert_mem_eq(a->b[l].adj.indices, b->b[l].adj.indices,
                         (size_t)a->b[l].adj.nnz * sizeof(int32_t));
    }
    /* user 5 (degree 8 > 3) keeps the same 3 items among other seeds ... */
    ck_assert_int_eq(rec_uigraph_sample(g, s2, 4, 2, fan, 11, REC_BLOCK_MEAN, &c, "t"), REC_OK);
    int32_t x[8], y[8];
    ck_assert_int_eq(top_sample(a, 0, x), 3);
    ck_assert_int_eq(top_sample(c, 3, y), 3);
    ck_assert_mem_eq(x, y, 3 * sizeof *x);
    /* ... and another seed draws another sample of some node */
    int differ = 0;
    for (uint64_t s = 12; s < 20 && !differ; s++) {
        ck_assert_int_eq(rec_uigraph_sample(g, s1, 2, 2, fan, s, REC_BLOCK_MEAN, &d, "t"),
                         REC_OK);
        ck_assert_int_eq(top_sample(d, 0, y), 3);
        differ = memcmp(x, y, sizeof x[0] * 3) != 0;
        rec_blocks_destroy(d);
    }
    ck_assert(differ);
    rec_blocks_destroy(a);
    rec_blocks_destroy(b);
    rec_blocks_destroy(c);
    rec_uigraph_destroy(g);
}
END_TEST

/* Each of user 5's 8 items is kept with probability 3/8 over seeds. */
START_TEST(sample_is_uniform)
{
    rec_uigraph *g = graph();
    const int fan[1] = { 3 };
    const int32_t seed[1] = { 5 };
    int count[8] = { 0 };
    enum { RUNS = 4000 };
    for (uint64_t s = 0; s < RUNS; s++) {
        rec_blocks *b;
        ck_assert_int_eq(rec_uigraph_sample(g, seed, 1, 1, fan, s, REC_BLOCK_MEAN, &b, "t"),
                         REC_OK);
        int32_t x[8];
        int n = top_sample(b, 0, x);
        for (int k = 0; k < n; k++)
            count[x[k] - 6]++;
        rec_blocks_destroy(b);
    }
    for (int i = 0; i < 8; i++) /* sd of each frequency ~ 0.0077: 5 sd */
        ck_assert_double_eq_tol(count[i] / (double)RUNS, 3.0 / 8, 0.04);
    rec_uigraph_destroy(g);
}
END_TEST

START_TEST(sample_bad_arguments)
{
    rec_uigraph *g = graph();
    rec_blocks *b = (rec_blocks *)1;
    const int fan[2] = { 2, 2 }, neg[2] = { 2, -1 };
    const int32_t seeds[] = { 0, 3, 0 }, far[] = { 14 };
    ck_assert_int_eq(rec_uigraph_sample(g, seeds, 2, 2, fan, 1, REC_BLOCK_MEAN, NULL, "f"),
                     REC_E_INVALID);
    ck_assert_int_eq(rec_uigraph_sample(NULL, seeds, 2, 2, fan, 1, REC_BLOCK_MEAN, &b, "f"),
                     REC_E_INVALID);
    ck_assert_ptr_null(b);
    ck_assert_str_eq(rec_last_error(), "f: graph, seeds or fanout is NULL");
    ck_assert_int_eq(rec_uigraph_sample(g, seeds, 2, 0, fan, 1, REC_BLOCK_MEAN, &b, "f"),
                     REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "f: layers = 0, want 1 .. 8");
    ck_assert_int_eq(rec_uigraph_sample(g, seeds, 2, 2, neg, 1, REC_BLOCK_MEAN, &b, "f"),
                     REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "f: fanout[1] = -1, want >= 0");
    ck_assert_int_eq(rec_uigraph_sample(g, far, 1, 2, fan, 1, REC_BLOCK_MEAN, &b, "f"),
                     REC_E_RANGE);
    ck_assert_str_eq(rec_last_error(), "f: seed 0 is node 14, outside the 14 nodes");
    ck_assert_int_eq(rec_uigraph_sample(g, seeds, 3, 2, fan, 1, REC_BLOCK_MEAN, &b, "f"),
                     REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "f: seed 2 repeats node 0 (seed 0)");
    ck_assert_int_eq(rec_uigraph_sample(g, seeds, 2, 2, fan, 1, (rec_block_norm)5, &b, "f"),
                     REC_E_INVALID);
    ck_assert_ptr_null(b);
    rec_uigraph_destroy(g);
}
END_TEST

START_TEST(sample_out_of_memory)
{
    rec_uigraph *g = graph();
    const int fan[3] = { 2, 2, 2 };
    const int32_t seeds[] = { 0, 9 };
    tu_alloc_install();
    rec_status st = REC_E_NOMEM;
    long n;
    for (n = 1; st == REC_E_NOMEM; n++) {
        rec_blocks *b = NULL;
        tu_alloc_fail_at(n);
        st = rec_uigraph_sample(g, seeds, 2, 3, fan, 1, REC_BLOCK_GCN, &b, "f");
        if (st == REC_E_NOMEM) {
            ck_assert_ptr_null(b);
            ck_assert_int_eq(tu_alloc_live(), 0);
            ck_assert_str_eq(rec_last_error(), "f: out of memory");
        }
        rec_blocks_destroy(b);
    }
    ck_assert_int_eq(st, REC_OK);
    ck_assert_int_gt(n, 10);
    ck_assert_int_eq(tu_alloc_live(), 0);
    tu_alloc_remove();
    rec_uigraph_destroy(g);
}
END_TEST

Suite *rec_graph_sample_suite(void)
{
    Suite *s = suite_create("graph_sample");
    TCase *t = tcase_create("sample");
    tcase_add_test(t, sample_layout_bounds_edges);
    tcase_add_test(t, sample_is_seeded);
    tcase_add_test(t, sample_is_uniform);
    tcase_add_test(t, sample_bad_arguments);
    tcase_add_test(t, sample_out_of_memory);
    suite_add_tcase(s, t);
    return s;
}
