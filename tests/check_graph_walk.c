/* Random walks with restart on the item-item graph (data/graph_walk.c):
 * every hop follows edges of the bipartite graph, a walk's visits add up
 * to its length, neighbourhoods by hand on a graph whose walk is forced,
 * the same neighbourhoods at 1 and 2 threads, and bad options. */
#include "testutil.h"

#include "data/graph_walk-impl.h"

#include <stdlib.h>
#include <string.h>

static int has_edge(const rec_uigraph *g, int32_t u, int32_t i)
{
    for (int64_t k = g->uptr[u]; k < g->uptr[u + 1]; k++)
        if (g->uitem[k] == i)
            return 1;
    return 0;
}

static rec_uigraph *generated(void)
{
    rec_dataset *d = tu_generate(60, 40, 6);
    rec_uigraph *g;
    ck_assert_int_eq(rec_uigraph_build(&g, d, "t"), REC_OK);
    rec_dataset_destroy(d);
    return g;
}

START_TEST(hops_follow_edges_and_visits_sum_to_length)
{
    rec_uigraph *g = generated();
    enum { STEPS = 500 };
    int32_t *cnt = calloc((size_t)g->nitems, sizeof *cnt), trace[3 * STEPS];
    for (int32_t q = 0; q < g->nitems; q++) {
        for (int r = 0; r < 3; r++) {
            float restart = r * 0.4f;
            rec_rng rng;
            rec_rng_stream(&rng, 7, (uint64_t)q);
            memset(cnt, 0, (size_t)g->nitems * sizeof *cnt);
            rec_walk_run(g, q, STEPS, restart, &rng, cnt, trace);
            int64_t sum = 0;
            for (int32_t i = 0; i < g->nitems; i++)
                sum += cnt[i];
            int moves = g->iptr[q + 1] > g->iptr[q];
            ck_assert_int_eq(sum, moves ? STEPS : 0);
            /* one ck_assert per walk: each costs a write to libcheck's pipe */
            int bad = -1;
            for (int s = 0; moves && s < STEPS && bad < 0; s++) {
                int32_t from = trace[3 * s], u = trace[3 * s + 1], to = trace[3 * s + 2];
                int ok = has_edge(g, u, from) && has_edge(g, u, to);
                /* the next hop starts where this one landed, or at the query */
                if (s + 1 < STEPS) {
                    int32_t next = trace[3 * (s + 1)];
                    ok &= next == to || (restart > 0 && next == q);
                }
                if (!ok)
                    bad = s;
            }
            ck_assert_msg(bad < 0, "item %d, restart %g: hop %d is not on the graph's edges "
                          "or does not start where the last one ended", q, (double)restart, bad);
            if (moves)
                ck_assert_int_eq(trace[0], q);
        }
    }
    free(cnt);
    rec_uigraph_destroy(g);
}
END_TEST

/* user 0 {0, 1}, user 1 {2}, item 3 without users: every walk from item 0
 * or 1 stays in {0, 1}, one from item 2 lands only on itself (no
 * neighbours), one from item 3 cannot move. */
START_TEST(neighbours_by_hand)
{
    static const int32_t us[] = { 0, 0, 1 }, is[] = { 0, 1, 2 };
    rec_uigraph *g;
    ck_assert_int_eq(rec_uigraph_from_pairs(&g, 2, 4, 3, us, is, "t"), REC_OK);
    rec_walk_opts o = { .steps = 2000, .restart = 0.3f, .top = 2, .seed = 5 };
    rec_walk_nbrs *nb;
    ck_assert_int_eq(rec_walk_neighbours(g, &o, &nb, "t"), REC_OK);
    for (int q = 0; q < 2; q++) {
        ck_assert_int_eq(nb->idx[2 * q], 1 - q);
        ck_assert_int_eq(nb->idx[2 * q + 1], -1);
        ck_assert_float_eq(nb->w[2 * q], 1.0f);
        ck_assert_float_eq(nb->w[2 * q + 1], 0.0f);
        /* half of the 2000 hops land on the other item (binomial sd ~22) */
        ck_assert_int_gt(nb->visits[2 * q], 900);
        ck_assert_int_lt(nb->visits[2 * q], 1100);
    }
    for (int k = 4; k < 8; k++) {
        ck_assert_int_eq(nb->idx[k], -1);
        ck_assert_int_eq(nb->visits[k], 0);
        ck_assert_float_eq(nb->w[k], 0.0f);
    }
    rec_walk_nbrs_destroy(nb);
    rec_uigraph_destroy(g);
}
END_TEST

START_TEST(same_at_one_and_two_threads)
{
    rec_uigraph *g = generated();
    rec_walk_opts o = { .steps = 300, .restart = 0.5f, .top = 10, .seed = 11 };
    rec_walk_nbrs *a, *b;
    int old = rec_get_num_threads();
    rec_set_num_threads(1);
    ck_assert_int_eq(rec_walk_neighbours(g, &o, &a, "t"), REC_OK);
    rec_set_num_threads(2);
    ck_assert_int_eq(rec_walk_neighbours(g, &o, &b, "t"), REC_OK);
    rec_set_num_threads(old);
    size_t n = (size_t)g->nitems * 10;
    ck_assert_mem_eq(a->idx, b->idx, n * sizeof *a->idx);
    ck_assert_mem_eq(a->visits, b->visits, n * sizeof *a->visits);
    ck_assert_mem_eq(a->w, b->w, n * sizeof *a->w);
    /* rows ranked by visits, weights normalised, the query never its own */
    for (int32_t q = 0; q < g->nitems; q++) {
        double s = 0;
        for (int k = 0; k < 10; k++) {
            ck_assert_int_ne(a->idx[q * 10 + k], q);
            if (k)
                ck_assert_int_le(a->visits[q * 10 + k], a->visits[q * 10 + k - 1]);
            s += a->w[q * 10 + k];
        }
        if (a->idx[q * 10] >= 0)
            ck_assert_double_eq_tol(s, 1.0, 1e-5);
    }
    /* another seed, other walks */
    o.seed = 12;
    rec_walk_nbrs_destroy(a);
    ck_assert_int_eq(rec_walk_neighbours(g, &o, &a, "t"), REC_OK);
    ck_assert(memcmp(a->visits, b->visits, n * sizeof *a->visits) != 0);
    rec_walk_nbrs_destroy(b);
    rec_walk_nbrs_destroy(a);
    rec_uigraph_destroy(g);
}
END_TEST

START_TEST(bad_options)
{
    rec_uigraph *g = generated();
    rec_walk_nbrs *nb = (rec_walk_nbrs *)1;
    rec_walk_opts o = { .steps = 0, .restart = 0.5f, .top = 4, .seed = 1 };
    ck_assert_int_eq(rec_walk_neighbours(g, &o, &nb, "f"), REC_E_RANGE);
    ck_assert_ptr_null(nb);
    ck_assert_str_eq(rec_last_error(), "f: walk steps = 0, want 1 .. 16777216");
    o.steps = 10;
    o.restart = 1.0f;
    ck_assert_int_eq(rec_walk_neighbours(g, &o, &nb, "f"), REC_E_RANGE);
    ck_assert_str_eq(rec_last_error(), "f: restart = 1 is outside [0, 1)");
    o.restart = 0.5f;
    o.top = 0;
    ck_assert_int_eq(rec_walk_neighbours(g, &o, &nb, "f"), REC_E_RANGE);
    ck_assert_str_eq(rec_last_error(), "f: top = 0, want 1 .. 4096");
    ck_assert_int_eq(rec_walk_neighbours(NULL, &o, &nb, "f"), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "f: graph or options is NULL");
    ck_assert_int_eq(rec_walk_neighbours(g, &o, NULL, "f"), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "f: out is NULL");
    rec_uigraph_destroy(g);
}
END_TEST

START_TEST(out_of_memory)
{
    rec_uigraph *g = generated();
    rec_walk_opts o = { .steps = 50, .restart = 0.5f, .top = 4, .seed = 1 };
    long k;
    for (k = 1;; k++) {
        tu_alloc_install();
        tu_alloc_fail_at(k);
        rec_walk_nbrs *nb = NULL;
        rec_status st = rec_walk_neighbours(g, &o, &nb, "t");
        tu_alloc_fail_at(0);
        rec_walk_nbrs_destroy(nb);
        long long live = tu_alloc_live();
        tu_alloc_remove();
        ck_assert_msg(live == 0, "allocation %ld: %lld bytes leaked", k, live);
        if (!st)
            break;
        ck_assert_int_eq(st, REC_E_NOMEM);
        ck_assert_ptr_null(nb);
    }
    ck_assert_int_gt(k, 5);
    rec_uigraph_destroy(g);
}
END_TEST

Suite *rec_graph_walk_suite(void)
{
    Suite *s = suite_create("graph_walk");
    TCase *t = tcase_create("graph_walk");
    tcase_add_test(t, hops_follow_edges_and_visits_sum_to_length);
    tcase_add_test(t, neighbours_by_hand);
    tcase_add_test(t, same_at_one_and_two_threads);
    tcase_add_test(t, bad_options);
    tcase_add_test(t, out_of_memory);
    suite_add_tcase(s, t);
    return s;
}
