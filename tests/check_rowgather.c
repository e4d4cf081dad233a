/* The row-gather primitive (librec/core/rowgather.c) under its users:
 * every kernel path (AVX-512, AVX2, plain C, forced in turn) gives the C
 * path's values bit for bit on odd shapes (dims not multiples of 16, empty
 * bags, padding, weights, max ties), the C path gives a naive loop's values,
 * gradients pass finite differences on every path, the work split gives the
 * same bits at 1 and 2 threads, and the forward without the tape allocates
 * nothing once the graph's arena has grown. */
#include "testutil.h"
#include "core/rowgather-impl.h"
#include "train/train-impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const int PATHS[3] = { REC_RG_C, REC_RG_AVX2, REC_RG_AVX512 };
/* 512 and 520 are wide rows (rowgather.c's WIDE_ROW), 520 with a masked tail. */
static const int64_t DIMS[] = { 1, 3, 7, 8, 15, 17, 31, 33, 63, 64, 65, 100, 130, 512, 520 };
#define NDIMS (int)(sizeof DIMS / sizeof *DIMS)

static rec_tensor *i32(rec_graph *g, const int32_t *v, int64_t n)
{
    rec_tensor *t = rec_tensor_i32(g, n);
    if (t && n)
        memcpy(t->iv, v, (size_t)n * sizeof *v);
    return t;
}

static rec_tensor *param(rec_pstore *ps, const char *name, int64_t rows, int64_t cols,
                         unsigned flags)
{
    int64_t s[2] = { rows, cols };
    rec_tensor *t = rec_pstore_add(ps, name, cols ? 2 : 1, s, flags);
    ck_assert_ptr_nonnull(t);
    return t;
}

/* Values from a small set, so max mode meets ties between rows. */
static void fill_ties(rec_tensor *t, unsigned seed)
{
    rec_rng r;
    rec_rng_seed(&r, seed);
    for (int64_t i = 0; i < t->n; i++)
        t->v[i] = (float)((int)rec_rng_below(&r, 7) - 3) * 0.25f;
}

/* Bags over NT rows: lengths 0..37 (some empty), ids with padding (-1). */
enum { NT = 97, NB = 23 };
typedef struct bags {
    int32_t off[NB + 1], ids[NB * 40];
    float w[NB * 40];
    int n;
} bags;

static void make_bags(bags *b, unsigned seed)
{
    rec_rng r;
    rec_rng_seed(&r, seed);
    b->off[0] = 0;
    for (int k = 0; k < NB; k++)
        b->off[k + 1] = b->off[k] + (k % 5 == 2 ? 0 : (int32_t)rec_rng_below(&r, 38));
    b->n = b->off[NB];
    for (int i = 0; i < b->n; i++) {
        b->ids[i] = rec_rng_below(&r, 9) == 0 ? -1 : (int32_t)rec_rng_below(&r, NT);
        b->w[i] = rec_rng_uniform(&r) * 2.0f - 1.0f;
    }
}

/* Outputs and gradients of every user of the primitive at dim d, appended
 * to out (n floats so far). */
static float *run_users(int64_t d, float *out, size_t *n)
{
    rec_pstore *ps;
    rec_graph *g;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    bags b;
    make_bags(&b, 7 + (unsigned)d);
    rec_tensor *dense = param(ps, "dense", NT, d, 0), *sparse = param(ps, "sparse", NT, d,
                                                                     REC_T_SPARSE);
    rec_tensor *w = param(ps, "w", b.n, 0, 0);
    fill_ties(dense, 1);
    fill_ties(sparse, 2);
    memcpy(w->v, b.w, (size_t)b.n * sizeof *b.w);
    /* A CSR over the same ids: row k holds bag k's non-padding ids. */
    int64_t ptr[NB + 1];
    int32_t cidx[NB * 40];
    float cval[NB * 40];
    ptr[0] = 0;
    for (int k = 0; k < NB; k++) {
        ptr[k + 1] = ptr[k];
        for (int i = b.off[k]; i < b.off[k + 1]; i++)
            if (b.ids[i] >= 0)
                cidx[ptr[k + 1]] = b.ids[i], cval[ptr[k + 1]++] = b.w[i];
    }
    rec_csr a = { NB, NT, ptr[NB], ptr, cidx, cval, NULL };

    rec_tensor *outs[9];
    int no = 0;
    rec_tensor *ids = i32(g, b.ids, b.n), *off = i32(g, b.off, NB + 1);
    for (int mode = 0; mode < 3; mode++)
        outs[no++] = rec_embedding_bag(g, dense, ids, off, mode == REC_REDUCE_MAX ? NULL : w,
                                       (rec_reduce)mode);
    outs[no++] = rec_embedding_bag(g, sparse, ids, off, NULL, REC_REDUCE_MAX);
    outs[no++] = rec_embedding_bag(g, sparse, ids, off, w, REC_REDUCE_MEAN);
    outs[no++] = rec_gather(g, dense, ids, 5);
    outs[no++] = rec_spmm(g, &a, dense);
    outs[no++] = rec_segment_reduce(g, outs[5], off, w, REC_REDUCE_SUM);
    outs[no++] = rec_embedding_bag(g, dense, ids, off, NULL, REC_REDUCE_SUM);
    rec_tensor *loss = tu_wsum(g, outs[0]);
    for (int k = 1; k < no; k++)
        loss = rec_add(g, loss, tu_wsum(g, outs[k]));
    ck_assert_int_eq(rec_backward(g, loss), REC_OK);
    rec_coalesce co;
    rec_coalesce_init(&co);
    ck_assert_int_eq(rec_rowgrad_coalesce(&co, sparse, "test"), REC_OK);

    size_t need = *n + (size_t)(dense->n + w->n) + (size_t)co.n * (size_t)(d + 1);
    for (int k = 0; k < no; k++)
        need += (size_t)outs[k]->n;
    out = realloc(out, need * sizeof *out);
    ck_assert_ptr_nonnull(out);
    for (int k = 0; k < no; k++)
        memcpy(out + *n, outs[k]->v, (size_t)outs[k]->n * sizeof *out), *n += outs[k]->n;
    memcpy(out + *n, dense->g, (size_t)dense->n * sizeof *out), *n += dense->n;
    memcpy(out + *n, w->g, (size_t)w->n * sizeof *out), *n += w->n;
    for (int64_t r = 0; r < co.n; r++) {
        out[(*n)++] = (float)co.rows[r];
        memcpy(out + *n, co.grad[r], (size_t)d * sizeof *out), *n += d;
    }
    rec_coalesce_free(&co);
    rec_csr_free_transpose(&a);
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
    return out;
}

static float *run_all_dims(size_t *n)
{
    float *out = NULL;
    *n = 0;
    for (int k = 0; k < NDIMS; k++)
        out = run_users(DIMS[k], out, n);
    return out;
}

START_TEST(every_path_gives_the_c_paths_bits)
{
    ck_assert_int_eq(rec_rowgather_force(REC_RG_C), REC_RG_C);
    size_t n0, n;
    float *ref = run_all_dims(&n0);
    for (int p = 1; p < 3; p++) {
        if (rec_rowgather_force(PATHS[p]) != PATHS[p])
            continue; /* this CPU lacks it: it would run (and was tested as) C */
        float *got = run_all_dims(&n);
        ck_assert_uint_eq(n, n0);
        for (size_t i = 0; i < n; i++)
            ck_assert_msg(memcmp(&got[i], &ref[i], sizeof *got) == 0,
                          "path %d, value %zu: %.9g, C gives %.9g", PATHS[p], i, got[i], ref[i]);
        free(got);
    }
    rec_rowgather_force(REC_RG_AUTO);
    free(ref);
}
END_TEST

/* The C path against the plainest loops: bag sums in entry order, mean as
 * a multiply by 1/count, max keeping the first of equal values. */
START_TEST(c_path_matches_naive_bags)
{
    rec_rowgather_force(REC_RG_C);
    for (int k = 0; k < NDIMS; k++) {
        int64_t d = DIMS[k];
        rec_pstore *ps;
        rec_graph *g;
        ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
        ck_assert_int_eq(rec_graph_create(&g), REC_OK);
        bags b;
        make_bags(&b, 100 + (unsigned)k);
        rec_tensor *t = param(ps, "t", NT, d, 0);
        fill_ties(t, 3);
        float *want = malloc((size_t)d * sizeof *want);
        for (int mode = 0; mode < 3; mode++) {
            rec_tensor *w = NULL;
            if (mode != REC_REDUCE_MAX) {
                int64_t s[1] = { b.n };
                w = rec_tensor_from(g, b.w, 1, s);
            }
            rec_tensor *o = rec_embedding_bag(g, t, i32(g, b.ids, b.n), i32(g, b.off, NB + 1),
                                              w, (rec_reduce)mode);
            ck_assert_ptr_nonnull(o);
            for (int bag = 0; bag < NB; bag++) {
                int cnt = 0;
                memset(want, 0, (size_t)d * sizeof *want);
                for (int i = b.off[bag]; i < b.off[bag + 1]; i++) {
                    if (b.ids[i] < 0)
                        continue;
                    const float *row = t->v + (int64_t)b.ids[i] * d;
                    for (int64_t c = 0; c < d; c++) {
                        if (mode == REC_REDUCE_MAX)
                            want[c] = cnt == 0 || row[c] > want[c] ? row[c] : want[c];
                        else
                            want[c] += b.w[i] * row[c];
                    }
                    cnt++;
                }
                if (mode == REC_REDUCE_MEAN && cnt > 1)
                    for (int64_t c = 0; c < d; c++)
                        want[c] *= 1.0f / (float)cnt;
                ck_assert_int_eq(memcmp(o->v + bag * d, want, (size_t)d * sizeof *want), 0);
            }
        }
        free(want);
        rec_graph_destroy(g);
        rec_pstore_destroy(ps);
    }
    rec_rowgather_force(REC_RG_AUTO);
}
END_TEST

/* The walkers themselves on every path against naive loops: rec_rg_bags
 * (sum and mean, weighted and not) and rec_rg_copy over 300 bags, so the
 * prefetch distance and a thread's run of bags are crossed, with empty bags
 * and a padding id of 3 (a real row, skipped) beside negative ids. */
START_TEST(walkers_match_naive_loops_on_every_path)
{
    enum { NBAGS = 300, ROWS = 41 };
    static const int64_t dims[] = { 1, 16, 50, 64, 65, 128 };
    int32_t off[NBAGS + 1], ids[NBAGS * 9];
    float w[NBAGS * 9];
    rec_rng r;
    rec_rng_seed(&r, 11);
    off[0] = 0;
    for (int b = 0; b < NBAGS; b++)
        off[b + 1] = off[b] + (b % 7 == 3 ? 0 : (int32_t)rec_rng_below(&r, 9));
    int n = off[NBAGS];
    for (int i = 0; i < n; i++) {
        ids[i] = rec_rng_below(&r, 10) == 0 ? -1 : (int32_t)rec_rng_below(&r, ROWS);
        w[i] = rec_rng_uniform(&r) * 2.0f - 1.0f;
    }
    for (size_t k = 0; k < sizeof dims / sizeof *dims; k++) {
        int64_t d = dims[k];
        float *tab = malloc((size_t)(ROWS * d) * sizeof *tab);
        float *got = malloc((size_t)(n + NBAGS) * (size_t)d * sizeof *got);
        float *want = malloc((size_t)d * sizeof *want);
        for (int64_t i = 0; i < ROWS * d; i++)
            tab[i] = rec_rng_uniform(&r) - 0.5f;
        rec_rowsrc s = { tab, ids, d, n, 3 };
        for (int p = 0; p < 3; p++) {
            if (rec_rowgather_force(PATHS[p]) != PATHS[p])
                continue;
            for (int v = 0; v < 4; v++) {
                const float *wv = v & 1 ? w : NULL;
                int mean = v >> 1;
                memset(got, 0xFF, (size_t)NBAGS * (size_t)d * sizeof *got);
                rec_rg_bags(&s, wv, off, 0, NBAGS, got, mean);
                for (int b = 0; b < NBAGS; b++) {
                    int cnt = 0;
                    memset(want, 0, (size_t)d * sizeof *want);
                    for (int i = off[b]; i < off[b + 1]; i++) {
                        if (ids[i] < 0 || ids[i] == 3)
                            continue;
                        for (int64_t c = 0; c < d; c++)
                            want[c] += (wv ? wv[i] : 1.0f) * tab[ids[i] * d + c];
                        cnt++;
                    }
                    if (mean && cnt > 1)
                        for (int64_t c = 0; c < d; c++)
                            want[c] *= 1.0f / (float)cnt;
                    ck_assert_msg(memcmp(got + b * d, want, (size_t)d * sizeof *want) == 0,
                                  "path %d, d %lld, variant %d, bag %d", PATHS[p], (long long)d,
                                  v, b);
                }
            }
            rec_rg_copy(&s, 5, n, got);
            for (int i = 5; i < n; i++)
                for (int64_t c = 0; c < d; c++) {
                    float e = ids[i] < 0 || ids[i] == 3 ? 0.0f : tab[ids[i] * d + c];
                    ck_assert_msg(got[(i - 5) * d + c] == e, "copy: path %d, d %lld, entry %d",
                                  PATHS[p], (long long)d, i);
                }
        }
        free(tab);
        free(got);
        free(want);
    }
    rec_rowgather_force(REC_RG_AUTO);
}
END_TEST

/* Max ties: the gradient goes to the first entry holding the maximum. */
START_TEST(max_ties_send_the_gradient_to_the_first)
{
    for (int p = 0; p < 3; p++) {
        rec_rowgather_force(PATHS[p]);
        rec_pstore *ps;
        rec_graph *g;
        ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
        ck_assert_int_eq(rec_graph_create(&g), REC_OK);
        rec_tensor *t = param(ps, "t", 4, 19, 0);
        for (int64_t i = 0; i < t->n; i++)
            t->v[i] = i < 19 ? 0.0f : 1.0f; /* rows 1, 2, 3 tie everywhere */
        rec_tensor *o = rec_embedding_bag(g, t, i32(g, (int32_t[]){ 0, 2, 1, 3 }, 4),
                                          i32(g, (int32_t[]){ 0, 4 }, 2), NULL, REC_REDUCE_MAX);
        ck_assert_int_eq(rec_backward(g, rec_sum(g, o)), REC_OK);
        for (int64_t c = 0; c < 19; c++) {
            ck_assert_float_eq(o->v[c], 1.0f);
            ck_assert_float_eq(t->g[c], 0.0f);      /* row 0: smaller */
            ck_assert_float_eq(t->g[2 * 19 + c], 1.0f); /* row 2: first of the ties */
            ck_assert_float_eq(t->g[19 + c], 0.0f);
            ck_assert_float_eq(t->g[3 * 19 + c], 0.0f);
        }
        rec_graph_destroy(g);
        rec_pstore_destroy(ps);
    }
    rec_rowgather_force(REC_RG_AUTO);
}
END_TEST

typedef struct grad_ctx {
    rec_tensor *table, *w;
    const bags *b;
    rec_csr *a;
    int mode;
} grad_ctx;

static rec_tensor *build_users(rec_graph *g, void *p)
{
    grad_ctx *c = p;
    rec_tensor *ids = i32(g, c->b->ids, c->b->n), *off = i32(g, c->b->off, NB + 1);
    rec_tensor *bag = rec_embedding_bag(g, c->table, ids, off,
                                        c->mode == REC_REDUCE_MAX ? NULL : c->w,
                                        (rec_reduce)c->mode);
    if (c->table->flags & REC_T_SPARSE)
        return tu_wsum(g, bag);
    return rec_add(g, tu_wsum(g, bag), tu_wsum(g, rec_spmm(g, c->a, c->table)));
}

START_TEST(gradients_pass_finite_differences_on_every_path)
{
    bags b;
    make_bags(&b, 55);
    int64_t ptr[NB + 1];
    int32_t cidx[NB * 40];
    ptr[0] = 0;
    for (int k = 0; k < NB; k++) {
        ptr[k + 1] = ptr[k];
        for (int i = b.off[k]; i < b.off[k + 1]; i++)
            if (b.ids[i] >= 0)
                cidx[ptr[k + 1]++] = b.ids[i];
    }
    rec_csr a = { NB, NT, ptr[NB], ptr, cidx, NULL, NULL };
    for (int p = 0; p < 3; p++) {
        rec_rowgather_force(PATHS[p]);
        for (int mode = 0; mode < 3; mode++) {
            for (int sparse = 0; sparse < 2; sparse++) {
                rec_pstore *ps;
                ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
                grad_ctx c = { param(ps, "t", NT, 17, sparse ? REC_T_SPARSE : 0),
                               param(ps, "w", b.n, 0, 0), &b, &a, mode };
                /* distinct values: no ties between rows, so finite differences
                 * never straddle a max's kink */
                for (int64_t i = 0; i < c.table->n; i++)
                    c.table->v[i] = (float)((i * 7919) % 1663) / 1663.0f - 0.5f;
                tu_fill(c.w, 9, -1.0f, 1.0f);
                tu_gradcheck(ps, build_users, &c, 1e-3, 2e-3, 2e-2);
                rec_pstore_destroy(ps);
            }
        }
        rec_csr_free_transpose(&a);
    }
    rec_rowgather_force(REC_RG_AUTO);
}
END_TEST

/* Big enough to be split over threads (dense scatters by table rows, bags
 * by chunks): the same bits at 1 and 2 threads. */
static float *run_split(size_t *n)
{
    enum { ROWS = 3000, D = 33, BAGS = 500, LEN = 12 };
    rec_pstore *ps;
    rec_graph *g;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_tensor *t = param(ps, "t", ROWS, D, 0), *w = param(ps, "w", BAGS * LEN, 0, 0);
    tu_fill(t, 4, -1, 1);
    tu_fill(w, 5, -1, 1);
    int32_t *ids = malloc(BAGS * LEN * sizeof *ids), off[BAGS + 1];
    rec_rng r;
    rec_rng_seed(&r, 12);
    for (int i = 0; i < BAGS * LEN; i++)
        ids[i] = (int32_t)rec_rng_below(&r, 200); /* many repeats across bags */
    for (int k = 0; k <= BAGS; k++)
        off[k] = k * LEN;
    rec_tensor *ti = i32(g, ids, BAGS * LEN), *to = i32(g, off, BAGS + 1);
    rec_tensor *o1 = rec_embedding_bag(g, t, ti, to, w, REC_REDUCE_MEAN);
    rec_tensor *o2 = rec_embedding_bag(g, t, ti, to, NULL, REC_REDUCE_MAX);
    rec_tensor *o3 = rec_gather(g, t, ti, -1);
    rec_tensor *loss = rec_add(g, rec_add(g, tu_wsum(g, o1), tu_wsum(g, o2)), tu_wsum(g, o3));
    ck_assert_int_eq(rec_backward(g, loss), REC_OK);
    *n = (size_t)(o1->n + o2->n + t->n + w->n);
    float *out = malloc(*n * sizeof *out), *o = out;
    memcpy(o, o1->v, (size_t)o1->n * sizeof *o), o += o1->n;
    memcpy(o, o2->v, (size_t)o2->n * sizeof *o), o += o2->n;
    memcpy(o, t->g, (size_t)t->n * sizeof *o), o += t->n;
    memcpy(o, w->g, (size_t)w->n * sizeof *o);
    free(ids);
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
    return out;
}

START_TEST(same_bits_at_one_and_two_threads)
{
    int keep = rec_get_num_threads();
    size_t n1, n2;
    ck_assert_int_eq(rec_set_num_threads(1), REC_OK);
    float *one = run_split(&n1);
    ck_assert_int_eq(rec_set_num_threads(2), REC_OK);
    ck_assert_int_gt(rec_rg_chunks(500 * 12, 33, 4), 1); /* really split */
    float *two = run_split(&n2);
    ck_assert_int_eq(rec_set_num_threads(keep), REC_OK);
    ck_assert_uint_eq(n1, n2);
    ck_assert_int_eq(memcmp(one, two, n1 * sizeof *one), 0);
    free(one);
    free(two);
}
END_TEST

START_TEST(small_inputs_stay_on_one_thread)
{
    int keep = rec_get_num_threads();
    ck_assert_int_eq(rec_set_num_threads(2), REC_OK);
    ck_assert_int_eq(rec_rg_chunks(20, 64, 4), 1);
    ck_assert_int_eq(rec_rg_chunks(0, 64, 4), 1);
    ck_assert_int_eq(rec_rg_chunks(81920, 64, 1), 2);
    ck_assert_int_eq(rec_rg_chunks(81920, 64, 4), 8);
    /* just past the threshold: two threads, not one chunk */
    ck_assert_int_eq(rec_rg_chunks(1500, 64, 4), 2);
    /* the bench's override: 0 splits everything, but never into more
     * chunks than rows; < 0 restores the threshold */
    rec_rowgather_set_min_work(0);
    ck_assert_int_eq(rec_rg_chunks(20, 64, 4), 8);
    ck_assert_int_eq(rec_rg_chunks(3, 64, 4), 3);
    ck_assert_int_eq(rec_rg_chunks(1, 64, 4), 1);
    rec_rowgather_set_min_work(-1);
    ck_assert_int_eq(rec_rg_chunks(20, 64, 4), 1);
    ck_assert_int_eq(rec_set_num_threads(keep), REC_OK);
}
END_TEST

/* Serving: once the arena has grown, a forward without the tape (every
 * reduce mode, gather, spmm) makes no allocation. */
START_TEST(forward_without_tape_allocates_nothing)
{
    bags b;
    make_bags(&b, 77);
    rec_pstore *ps;
    rec_graph *g;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_tensor *t = param(ps, "t", NT, 40, 0);
    fill_ties(t, 6);
    int64_t ptr[2] = { 0, 3 };
    int32_t cidx[3] = { 4, 1, 4 };
    rec_csr a = { 1, NT, 3, ptr, cidx, NULL, NULL };
    long before = 0;
    for (int round = 0; round < 3; round++) {
        if (round == 2) {
            tu_alloc_install();
            before = tu_alloc_count();
        }
        rec_graph_reset(g);
        rec_graph_set_grad(g, 0);
        rec_tensor *ids = rec_tensor_wrap_i32(g, b.ids, b.n);
        rec_tensor *off = rec_tensor_wrap_i32(g, b.off, NB + 1);
        for (int mode = 0; mode < 3; mode++)
            ck_assert_ptr_nonnull(rec_embedding_bag(g, t, ids, off, NULL, (rec_reduce)mode));
        ck_assert_ptr_nonnull(rec_gather(g, t, ids, -1));
        ck_assert_ptr_nonnull(rec_spmm(g, &a, t));
    }
    ck_assert_int_eq(tu_alloc_count(), before);
    tu_alloc_remove();
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
}
END_TEST

START_TEST(forcing_a_path)
{
    ck_assert_int_eq(rec_rowgather_force(REC_RG_C), REC_RG_C);
    ck_assert_int_eq(rec_rowgather_path(), REC_RG_C);
    int best = rec_rowgather_force(REC_RG_AUTO);
    ck_assert(best == REC_RG_C || best == REC_RG_AVX2 || best == REC_RG_AVX512);
    ck_assert_int_eq(rec_rowgather_force(99), REC_RG_C); /* unknown: the fallback */
    rec_rowgather_force(REC_RG_AUTO);
    ck_assert_int_eq(rec_rowgather_path(), best);
    /* 96 cache lines in flight, at least 4 rows */
    ck_assert_int_eq(rec_rowgather_ahead(64), 24);
    ck_assert_int_eq(rec_rowgather_ahead(16), 96);
    ck_assert_int_eq(rec_rowgather_ahead(4096), 12);
}
END_TEST

Suite *rec_rowgather_suite(void)
{
    Suite *s = suite_create("rowgather");
    TCase *t = tcase_create("paths");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, forcing_a_path);
    tcase_add_test(t, every_path_gives_the_c_paths_bits);
    tcase_add_test(t, c_path_matches_naive_bags);
    tcase_add_test(t, walkers_match_naive_loops_on_every_path);
    tcase_add_test(t, max_ties_send_the_gradient_to_the_first);
    suite_add_tcase(s, t);
    t = tcase_create("threads and serving");
    tcase_add_test(t, same_bits_at_one_and_two_threads);
    tcase_add_test(t, small_inputs_stay_on_one_thread);
    tcase_add_test(t, forward_without_tape_allocates_nothing);
    suite_add_tcase(s, t);
    /* sweeps every shape on one thread: not run under TSAN=1 (Makefile) */
    t = tcase_create("sweeps");
    tcase_set_tags(t, "sweep");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, gradients_pass_finite_differences_on_every_path);
    suite_add_tcase(s, t);
    return s;
}
