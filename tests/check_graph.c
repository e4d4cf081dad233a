/* The graph layer: the bipartite graph of a dataset both ways, duplicate
 * pairs, degrees, and the symmetric and row normalisations against values
 * worked by hand on a tiny dataset; bad input and out-of-memory paths. */
#include "testutil.h"

#include "data/graph-impl.h"

#include <math.h>
#include <string.h>

/* u1: a b;  u2: b c b (a duplicate);  u3: c.  Nodes 0..2 users, 3..5 items
 * a, b, c.  Degrees: u1 2, u2 2, u3 1, a 1, b 2, c 2. */
static rec_dataset *tiny(void)
{
    static const char *rows[][2] = { { "u1", "a" }, { "u1", "b" }, { "u2", "b" },
                                     { "u2", "c" }, { "u2", "b" }, { "u3", "c" } };
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    for (int k = 0; k < 6; k++)
        ck_assert_int_eq(rec_dataset_add(d, rows[k][0], rows[k][1], NAN, REC_NO_TIME), REC_OK);
    return d;
}

static void expect_row(const rec_csr *a, int64_t r, int n, const int32_t *cols,
                       const double *vals)
{
    ck_assert_int_eq(a->indptr[r + 1] - a->indptr[r], n);
    for (int k = 0; k < n; k++) {
        ck_assert_int_eq(a->indices[a->indptr[r] + k], cols[k]);
        ck_assert_double_eq_tol(a->vals[a->indptr[r] + k], vals[k], 1e-7);
    }
}

START_TEST(bipartite_both_ways)
{
    rec_dataset *d = tiny();
    rec_uigraph *g;
    ck_assert_int_eq(rec_uigraph_build(&g, d, "t"), REC_OK);
    ck_assert_int_eq(g->nusers, 3);
    ck_assert_int_eq(g->nitems, 3);
    ck_assert_int_eq(g->nedges, 5); /* (u2, b) once */
    static const int64_t uptr[] = { 0, 2, 4, 5 }, iptr[] = { 0, 1, 3, 5 };
    static const int32_t uitem[] = { 0, 1, 1, 2, 2 }, iuser[] = { 0, 0, 1, 1, 2 };
    ck_assert_mem_eq(g->uptr, uptr, sizeof uptr);
    ck_assert_mem_eq(g->uitem, uitem, sizeof uitem);
    ck_assert_mem_eq(g->iptr, iptr, sizeof iptr);
    ck_assert_mem_eq(g->iuser, iuser, sizeof iuser);
    static const int64_t deg[] = { 2, 2, 1, 1, 2, 2 };
    for (int x = 0; x < 6; x++)
        ck_assert_int_eq(rec_uigraph_degree(g, x), deg[x]);
    rec_uigraph_destroy(g);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(symmetric_normalisation)
{
    rec_dataset *d = tiny();
    rec_uigraph *g;
    rec_csr *a;
    ck_assert_int_eq(rec_uigraph_build(&g, d, "t"), REC_OK);
    ck_assert_int_eq(rec_uigraph_adjacency(g, REC_GRAPH_NORM_SYMMETRIC, &a, "t"), REC_OK);
    ck_assert_int_eq(a->rows, 6);
    ck_assert_int_eq(a->cols, 6);
    ck_assert_int_eq(a->nnz, 10);
    /* 1 / sqrt(deg a * deg b): 1/sqrt(2) for an edge to a degree-1 node, 1/2 otherwise. */
    double h = 1 / sqrt(2.0);
    expect_row(a, 0, 2, (const int32_t[]){ 3, 4 }, (const double[]){ h, 0.5 });
    expect_row(a, 1, 2, (const int32_t[]){ 4, 5 }, (const double[]){ 0.5, 0.5 });
    expect_row(a, 2, 1, (const int32_t[]){ 5 }, (const double[]){ h });
    expect_row(a, 3, 1, (const int32_t[]){ 0 }, (const double[]){ h });
    expect_row(a, 4, 2, (const int32_t[]){ 0, 1 }, (const double[]){ 0.5, 0.5 });
    expect_row(a, 5, 2, (const int32_t[]){ 1, 2 }, (const double[]){ 0.5, h });
    rec_uigraph_adj_free(a);
    rec_uigraph_destroy(g);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(row_normalisation_and_isolated_nodes)
{
    /* 4 users (user 3 has no edge) x 3 items (item 2 has none). */
    static const int32_t us[] = { 0, 0, 1, 2, 0 }, is[] = { 0, 1, 1, 1, 0 };
    rec_uigraph *g;
    rec_csr *a;
    ck_assert_int_eq(rec_uigraph_from_pairs(&g, 4, 3, 5, us, is, "t"), REC_OK);
    ck_assert_int_eq(g->nedges, 4);
    ck_assert_int_eq(rec_uigraph_adjacency(g, REC_GRAPH_NORM_ROW, &a, "t"), REC_OK);
    ck_assert_int_eq(a->rows, 7);
    expect_row(a, 0, 2, (const int32_t[]){ 4, 5 }, (const double[]){ 0.5, 0.5 });
    expect_row(a, 1, 1, (const int32_t[]){ 5 }, (const double[]){ 1 });
    expect_row(a, 2, 1, (const int32_t[]){ 5 }, (const double[]){ 1 });
    expect_row(a, 3, 0, NULL, NULL);
    expect_row(a, 4, 1, (const int32_t[]){ 0 }, (const double[]){ 1 });
    expect_row(a, 5, 3, (const int32_t[]){ 0, 1, 2 }, (const double[]){ 1 / 3.0, 1 / 3.0,
                                                                         1 / 3.0 });
    expect_row(a, 6, 0, NULL, NULL);
    /* Every non-empty row of D^-1 A sums to 1. */
    for (int64_t r = 0; r < a->rows; r++) {
        double s = 0;
        for (int64_t k = a->indptr[r]; k < a->indptr[r + 1]; k++)
            s += a->vals[k];
        ck_assert(a->indptr[r + 1] == a->indptr[r] || fabs(s - 1) < 1e-6);
    }
    rec_uigraph_adj_free(a);
    rec_uigraph_destroy(g);
}
END_TEST

START_TEST(bad_input)
{
    rec_uigraph *g = (rec_uigraph *)1;
    static const int32_t us[] = { 0, 2 }, is[] = { 0, 1 };
    ck_assert_int_eq(rec_uigraph_from_pairs(&g, 2, 2, 2, us, is, "fn"), REC_E_RANGE);
    ck_assert_ptr_null(g);
    ck_assert_str_eq(rec_last_error(), "fn: pair 1 is (user 2, item 1), outside 2 users x 2 items");
    ck_assert_int_eq(rec_uigraph_build(&g, NULL, "fn"), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "fn: dataset is NULL");
    ck_assert_int_eq(rec_uigraph_from_pairs(&g, 2, 2, 2, NULL, is, "fn"), REC_E_INVALID);
    ck_assert_int_eq(rec_uigraph_from_pairs(&g, 2, 2, 0, NULL, NULL, "fn"), REC_OK);
    rec_csr *a;
    ck_assert_int_eq(rec_uigraph_adjacency(g, (rec_graph_norm)7, &a, "fn"), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "fn: unknown normalisation 7");
    ck_assert_int_eq(rec_uigraph_adjacency(g, REC_GRAPH_NORM_SYMMETRIC, &a, "fn"), REC_OK);
    ck_assert_int_eq(a->nnz, 0);
    rec_uigraph_adj_free(a);
    rec_uigraph_destroy(g);
    rec_uigraph_adj_free(NULL);
    rec_uigraph_destroy(NULL);
}
END_TEST

START_TEST(out_of_memory)
{
    rec_dataset *d = tiny();
    long k;
    for (k = 1; k < 1000; k++) {
        tu_alloc_install();
        tu_alloc_fail_at(k);
        rec_uigraph *g = NULL;
        rec_csr *a = NULL;
        rec_status st = rec_uigraph_build(&g, d, "t");
        if (!st)
            st = rec_uigraph_adjacency(g, REC_GRAPH_NORM_SYMMETRIC, &a, "t");
        tu_alloc_fail_at(0);
        rec_uigraph_adj_free(a);
        rec_uigraph_destroy(g);
        long long live = tu_alloc_live();
        tu_alloc_remove();
        ck_assert_msg(live == 0, "allocation %ld: %lld bytes leaked", k, live);
        if (!st)
            break;
        ck_assert_int_eq(st, REC_E_NOMEM);
        ck_assert_ptr_null(a);
    }
    ck_assert_int_gt(k, 5);
    rec_dataset_destroy(d);
}
END_TEST

Suite *rec_graph_suite(void)
{
    Suite *s = suite_create("graph");
    TCase *t = tcase_create("graph");
    tcase_add_test(t, bipartite_both_ways);
    tcase_add_test(t, symmetric_normalisation);
    tcase_add_test(t, row_normalisation_and_isolated_nodes);
    tcase_add_test(t, bad_input);
    tcase_add_test(t, out_of_memory);
    suite_add_tcase(s, t);
    return s;
}
