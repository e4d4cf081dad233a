/* Indexing, sparse and loss ops: rec_gather, rec_segment_reduce,
 * rec_embedding_bag, rec_spmm, rec_bce_logits, rec_softmax_xent, rec_bpr.
 * Values against hand-computed examples, gradients by finite differences
 * (dense and REC_T_SPARSE tables), error statuses and messages, thread-count
 * independence, and no leaks under allocation failures. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EPS 1e-2
#define ATOL 1e-3
#define RTOL 1e-2

static rec_tensor *i32(rec_graph *g, const int32_t *v, int64_t n)
{
    rec_tensor *t = rec_tensor_i32(g, n);
    if (t && n)
        memcpy(t->iv, v, (size_t)n * sizeof *v);
    return t;
}

static rec_tensor *f32(rec_graph *g, const float *v, int64_t n)
{
    return rec_tensor_from(g, v, 1, &n);
}

static rec_tensor *mat(rec_graph *g, const float *v, int64_t rows, int64_t cols)
{
    int64_t s[2] = { rows, cols };
    return rec_tensor_from(g, v, 2, s);
}

static rec_tensor *param(rec_pstore *ps, const char *name, int64_t rows, int64_t cols,
                         unsigned flags, const float *v)
{
    int64_t s[2] = { rows, cols };
    rec_tensor *t = rec_pstore_add(ps, name, cols ? 2 : 1, s, flags);
    ck_assert_ptr_nonnull(t);
    if (v)
        memcpy(t->v, v, (size_t)t->n * sizeof *v);
    return t;
}

static void expect_rows(const rec_tensor *t, const float *want, int64_t n)
{
    ck_assert_int_eq(t->n, n);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(fabs(t->v[i] - want[i]) < 1e-5, "element %lld: got %g, want %g",
                      (long long)i, t->v[i], want[i]);
}

static void expect_error(rec_graph *g, const void *out, rec_status st, const char *msg)
{
    ck_assert_ptr_null(out);
    ck_assert_int_eq(rec_graph_status(g), st);
    ck_assert_msg(strstr(rec_last_error(), msg) != NULL, "message '%s' lacks '%s'",
                  rec_last_error(), msg);
    rec_graph_reset(g);
    ck_assert_int_eq(rec_graph_status(g), REC_OK);
}

/* Test-only op: the sum of up to 4 scalars, so one backward covers several ops. */
static void add_back(rec_graph *g, rec_node *n)
{
    for (int i = 0; i < n->nin; i++) {
        float *d = rec_grad_of(g, n->in[i]);
        if (d)
            d[0] += n->out->g[0];
    }
}

static rec_tensor *add_scalars(rec_graph *g, int n, rec_tensor *const *in)
{
    int64_t one = 1;
    rec_tensor *out = rec_op_out(g, 1, &one, add_back, n, in, NULL);
    if (out) {
        out->v[0] = 0;
        for (int i = 0; i < n; i++)
            out->v[0] += in[i]->v[0];
    }
    return out;
}

/* Rows of a densified sparse gradient (sum of all chunks). */
static float *densify(const rec_tensor *t, int64_t *nchunks, int64_t *nrows)
{
    int64_t d = rec_cols(t);
    float *out = calloc((size_t)t->n, sizeof *out);
    *nchunks = *nrows = 0;
    for (const rec_rowgrad *c = t->rg; c; c = c->next) {
        ++*nchunks;
        *nrows += c->n;
        for (int64_t i = 0; i < c->n; i++) {
            ck_assert_int_ge(c->rows[i], 0);
            ck_assert_int_lt(c->rows[i], t->shape[0]);
            for (int64_t j = 0; j < d; j++)
                out[(int64_t)c->rows[i] * d + j] += c->vals[i * d + j];
        }
    }
    return out;
}

/* ==== gather =============================================================== */

static const float T43[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

START_TEST(gather_values_and_padding)
{
    rec_graph *g;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_tensor *t = mat(g, T43, 4, 3);
    int32_t ids[5] = { 2, -1, 0, 3, 2 };
    rec_tensor *out = rec_gather(g, t, i32(g, ids, 5), 3); /* 3 is the padding row */
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(out->nd, 2);
    ck_assert_int_eq(out->shape[0], 5);
    ck_assert_int_eq(out->shape[1], 3);
    float want[15] = { 7, 8, 9, 0, 0, 0, 1, 2, 3, 0, 0, 0, 7, 8, 9 };
    expect_rows(out, want, 15);
    ck_assert_int_eq(out->flags & REC_T_GRAD, 0); /* constant table: no tape */
    /* [2,2] ids -> [2,2,3]; pad < 0 means only negative ids are padding */
    rec_tensor *ix = i32(g, (int32_t[]){ 3, 0, 1, -5 }, 4);
    ix->nd = 2;
    ix->shape[0] = ix->shape[1] = 2;
    out = rec_gather(g, t, ix, -1);
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(out->nd, 3);
    ck_assert_int_eq(out->shape[2], 3);
    float want2[12] = { 10, 11, 12, 1, 2, 3, 4, 5, 6, 0, 0, 0 };
    expect_rows(out, want2, 12);
    rec_graph_destroy(g);
}
END_TEST

typedef struct gather_ctx {
    rec_tensor *table;
    const int32_t *ids;
    int n;
    int32_t pad;
} gather_ctx;

static rec_tensor *build_gather(rec_graph *g, void *p)
{
    gather_ctx *c = p;
    return tu_wsum(g, rec_gather(g, c->table, i32(g, c->ids, c->n), c->pad));
}

START_TEST(gather_gradcheck_dense_and_sparse)
{
    static const int32_t ids[7] = { 1, 4, 1, -1, 0, 2, 4 }; /* repeats, negative, pad 2 */
    for (int sparse = 0; sparse < 2; sparse++) {
        rec_pstore *ps;
        ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
        gather_ctx c = { param(ps, "emb", 5, 3, sparse ? REC_T_SPARSE : 0, NULL), ids, 7, 2 };
        tu_fill(c.table, 11, -1, 1);
        tu_gradcheck(ps, build_gather, &c, EPS, ATOL, RTOL);
        rec_pstore_destroy(ps);
    }
}
END_TEST

START_TEST(gather_sparse_table_gets_rowgrad_only)
{
    rec_pstore *ps;
    rec_graph *g;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_tensor *t = param(ps, "emb", 6, 2, REC_T_SPARSE, NULL);
    tu_fill(t, 3, -1, 1);
    /* pad = 5: rows 4, 1, 4 are used; -1 and 5 are not */
    gather_ctx c = { t, (const int32_t[]){ 4, 1, 4, -1, 5 }, 5, 5 };
    rec_tensor *loss = build_gather(g, &c);
    ck_assert_int_eq(rec_backward(g, loss), REC_OK);
    ck_assert_ptr_null(t->g);
    ck_assert_ptr_nonnull(t->rg);
    int64_t nchunks, nrows;
    float *dense = densify(t, &nchunks, &nrows);
    ck_assert_int_eq(nchunks, 1);
    ck_assert_int_eq(nrows, 3);
    for (int64_t r = 0; r < 6; r++) {
        int used = r == 1 || r == 4;
        for (int j = 0; j < 2; j++)
            ck_assert_int_eq(dense[r * 2 + j] != 0.0f, used);
    }
    /* the chunk's rows are the used ids in order, and its values the output
     * gradient rows (tu_wsum's weights) */
    ck_assert_int_eq(t->rg->rows[0], 4);
    ck_assert_int_eq(t->rg->rows[1], 1);
    ck_assert_int_eq(t->rg->rows[2], 4);
    ck_assert_float_near(t->rg->vals[2], sin(2 * 1.713 + 0.37) + 0.25, 1e-5);
    free(dense);
    /* without padding the chunk still lists every row */
    rec_graph_reset(g);
    ck_assert_ptr_null(t->rg);
    c.n = 3;
    loss = build_gather(g, &c);
    ck_assert_int_eq(rec_backward(g, loss), REC_OK);
    ck_assert_int_eq(t->rg->n, 3);
    ck_assert_ptr_null(t->g);
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
}
END_TEST

START_TEST(gather_errors)
{
    rec_graph *g;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_tensor *t = mat(g, T43, 4, 3);
    rec_tensor *out = rec_gather(g, t, i32(g, (int32_t[]){ 0, 4 }, 2), -1);
    expect_error(g, out, REC_E_RANGE, "rec_gather: idx[1] = 4 is out of range for a table of 4 rows");
    t = mat(g, T43, 4, 3);
    /* sticky: after a failure later ops give NULL and keep the first error */
    rec_gather(g, t, i32(g, (int32_t[]){ 9 }, 1), -1);
    ck_assert_ptr_null(rec_gather(g, t, i32(g, (int32_t[]){ 0 }, 1), -1));
    expect_error(g, NULL, REC_E_RANGE, "idx[0] = 9");
    out = rec_gather(g, NULL, i32(g, (int32_t[]){ 0 }, 1), -1);
    expect_error(g, out, REC_E_INVALID, "rec_gather: table is NULL");
    out = rec_gather(g, mat(g, T43, 4, 3), NULL, -1);
    expect_error(g, out, REC_E_INVALID, "rec_gather: idx is NULL");
    out = rec_gather(g, mat(g, T43, 4, 3), f32(g, T43, 2), -1);
    expect_error(g, out, REC_E_INVALID, "rec_gather: idx must be I32");
    out = rec_gather(g, f32(g, T43, 12), i32(g, (int32_t[]){ 0 }, 1), -1);
    expect_error(g, out, REC_E_INVALID, "rec_gather: table must be a 2-d F32 tensor");
    ck_assert_ptr_null(rec_gather(NULL, t, t, 0));
    ck_assert_str_eq(rec_last_error(), "rec_gather: graph is NULL");
    rec_graph_destroy(g);
}
END_TEST

/* ==== segment reduce ======================================================= */

/* x [5,2]; bags {0,1}, {}, {2,3,4} */
static const float X52[10] = { 1, -2, 3, 4, -5, 6, 7, -8, 0.5f, 9 };
static const int32_t OFF3[4] = { 0, 2, 2, 5 };

START_TEST(segment_reduce_values)
{
    rec_graph *g;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_tensor *x = mat(g, X52, 5, 2), *off = i32(g, OFF3, 4);
    float w[5] = { 2, 0.5f, 1, -1, 4 };
    rec_tensor *s = rec_segment_reduce(g, x, off, NULL, REC_REDUCE_SUM);
    ck_assert_int_eq(s->shape[0], 3);
    ck_assert_int_eq(s->shape[1], 2);
    expect_rows(s, (float[]){ 4, 2, 0, 0, 2.5f, 7 }, 6);
    rec_tensor *m = rec_segment_reduce(g, x, off, NULL, REC_REDUCE_MEAN);
    expect_rows(m, (float[]){ 2, 1, 0, 0, 2.5f / 3, 7.0f / 3 }, 6);
    rec_tensor *mx = rec_segment_reduce(g, x, off, NULL, REC_REDUCE_MAX);
    expect_rows(mx, (float[]){ 3, 4, 0, 0, 7, 9 }, 6);
    rec_tensor *ws = rec_segment_reduce(g, x, off, f32(g, w, 5), REC_REDUCE_SUM);
    /* 2*(1,-2) + .5*(3,4); (-5,6) - (7,-8) + 4*(.5,9) */
    expect_rows(ws, (float[]){ 3.5f, -2, 0, 0, -10, 50 }, 6);
    rec_tensor *wm = rec_segment_reduce(g, x, off, f32(g, w, 5), REC_REDUCE_MEAN);
    expect_rows(wm, (float[]){ 1.75f, -1, 0, 0, -10.0f / 3, 50.0f / 3 }, 6);
    /* no bags at all */
    rec_tensor *none = rec_segment_reduce(g, rec_tensor_2d(g, 0, 2), i32(g, (int32_t[]){ 0 }, 1),
                                          NULL, REC_REDUCE_MEAN);
    ck_assert_ptr_nonnull(none);
    ck_assert_int_eq(none->shape[0], 0);
    ck_assert_int_eq(rec_graph_status(g), REC_OK);
    rec_graph_destroy(g);
}
END_TEST

typedef struct seg_ctx {
    rec_tensor *x, *w; /* w may be NULL */
    const int32_t *off;
    int nbags;
    rec_reduce mode;
} seg_ctx;

static rec_tensor *build_seg(rec_graph *g, void *p)
{
    seg_ctx *c = p;
    return tu_wsum(g, rec_segment_reduce(g, c->x, i32(g, c->off, c->nbags + 1), c->w, c->mode));
}

START_TEST(segment_reduce_gradcheck)
{
    static const int32_t off[5] = { 0, 3, 3, 4, 7 }; /* an empty bag and a bag of one */
    for (int mode = 0; mode < 3; mode++) {
        for (int weighted = 0; weighted < (mode == REC_REDUCE_MAX ? 1 : 2); weighted++) {
            rec_pstore *ps;
            ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
            seg_ctx c = { param(ps, "x", 7, 3, 0, NULL), NULL, off, 4, (rec_reduce)mode };
            /* distinct values 0.1 apart: max has no ties within 2 * EPS */
            for (int i = 0; i < 21; i++)
                c.x->v[i] = (float)((i * 8) % 21) * 0.1f - 1.0f;
            if (weighted) {
                c.w = param(ps, "w", 7, 0, 0, NULL);
                tu_fill(c.w, 5, -1.5f, 1.5f);
            }
            tu_gradcheck(ps, build_seg, &c, EPS, ATOL, RTOL);
            rec_pstore_destroy(ps);
        }
    }
}
END_TEST

START_TEST(segment_reduce_errors)
{
    rec_graph *g;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_tensor *x = mat(g, X52, 5, 2);
    struct {
        int32_t off[4];
        const char *msg;
    } bad[] = {
        { { 1, 2, 2, 5 }, "rec_segment_reduce: offsets[0] = 1, want 0" },
        { { 0, 3, 2, 5 }, "rec_segment_reduce: offsets[2] = 2 is less than offsets[1] = 3" },
        { { 0, 2, 2, 4 }, "rec_segment_reduce: offsets[3] = 4, want 5 (the number of rows of x)" },
        { { 0, 2, 2, 6 }, "offsets[3] = 6, want 5" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        x = mat(g, X52, 5, 2);
        rec_tensor *out = rec_segment_reduce(g, x, i32(g, bad[i].off, 4), NULL, REC_REDUCE_SUM);
        expect_error(g, out, REC_E_INVALID, bad[i].msg);
    }
    x = mat(g, X52, 5, 2);
    rec_tensor *out = rec_segment_reduce(g, x, f32(g, X52, 4), NULL, REC_REDUCE_SUM);
    expect_error(g, out, REC_E_INVALID, "offsets must be a non-empty 1-d I32 tensor");
    x = mat(g, X52, 5, 2);
    out = rec_segment_reduce(g, x, i32(g, OFF3, 4), f32(g, X52, 4), REC_REDUCE_SUM);
    expect_error(g, out, REC_E_INVALID, "weights must be F32 with 5 elements, got 4");
    x = mat(g, X52, 5, 2);
    out = rec_segment_reduce(g, x, i32(g, OFF3, 4), f32(g, X52, 5), REC_REDUCE_MAX);
    expect_error(g, out, REC_E_INVALID, "weights need mode sum or mean, not max");
    x = mat(g, X52, 5, 2);
    out = rec_segment_reduce(g, x, i32(g, OFF3, 4), NULL, (rec_reduce)7);
    expect_error(g, out, REC_E_INVALID, "rec_segment_reduce: unknown reduce mode 7");
    out = rec_segment_reduce(g, NULL, i32(g, OFF3, 4), NULL, REC_REDUCE_SUM);
    expect_error(g, out, REC_E_INVALID, "rec_segment_reduce: x is NULL");
    out = rec_segment_reduce(g, mat(g, X52, 5, 2), NULL, NULL, REC_REDUCE_SUM);
    expect_error(g, out, REC_E_INVALID, "rec_segment_reduce: offsets is NULL");
    rec_graph_destroy(g);
}
END_TEST

/* ==== embedding bag ======================================================== */

START_TEST(embedding_bag_values_match_gather_then_reduce)
{
    rec_graph *g;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_tensor *t = rec_tensor_2d(g, 9, 4);
    tu_fill(t, 21, -2, 2);
    /* repeated ids in a bag, an empty bag, a bag of one */
    int32_t ids[8] = { 3, 3, 0, 8, 5, 1, 3, 2 }, off[5] = { 0, 3, 3, 4, 8 };
    float w[8] = { 0.5f, 2, -1, 3, 1, 1, 0.25f, -2 };
    for (int mode = 0; mode < 3; mode++) {
        for (int weighted = 0; weighted < (mode == REC_REDUCE_MAX ? 1 : 2); weighted++) {
            rec_tensor *wt = weighted ? f32(g, w, 8) : NULL;
            rec_tensor *a = rec_embedding_bag(g, t, i32(g, ids, 8), i32(g, off, 5), wt, mode);
            rec_tensor *x = rec_gather(g, t, i32(g, ids, 8), -1);
            rec_tensor *b = rec_segment_reduce(g, x, i32(g, off, 5), wt, mode);
            ck_assert_ptr_nonnull(a);
            ck_assert_ptr_nonnull(b);
            ck_assert_int_eq(a->shape[0], 4);
            ck_assert_int_eq(a->shape[1], 4);
            expect_rows(a, b->v, 16);
        }
    }
    /* by hand: mean of rows 3, 3, 0 */
    rec_tensor *m = rec_embedding_bag(g, t, i32(g, ids, 8), i32(g, off, 5), NULL, REC_REDUCE_MEAN);
    for (int j = 0; j < 4; j++) {
        ck_assert_float_near(m->v[j], (2 * t->v[12 + j] + t->v[j]) / 3, 1e-6);
        ck_assert_float_eq(m->v[4 + j], 0.0f);
        ck_assert_float_eq(m->v[8 + j], t->v[32 + j]);
    }
    rec_graph_destroy(g);
}
END_TEST

START_TEST(embedding_bag_negative_ids_are_padding)
{
    rec_graph *g;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_tensor *t = mat(g, T43, 4, 3);
    /* bags {1, -1, 2}, {-1}, {-3, 0} */
    int32_t ids[6] = { 1, -1, 2, -1, -3, 0 }, off[4] = { 0, 3, 4, 6 };
    rec_tensor *m = rec_embedding_bag(g, t, i32(g, ids, 6), i32(g, off, 4), NULL, REC_REDUCE_MEAN);
    expect_rows(m, (float[]){ 5.5f, 6.5f, 7.5f, 0, 0, 0, 1, 2, 3 }, 9);
    rec_tensor *s = rec_embedding_bag(g, t, i32(g, ids, 6), i32(g, off, 4), NULL, REC_REDUCE_SUM);
    expect_rows(s, (float[]){ 11, 13, 15, 0, 0, 0, 1, 2, 3 }, 9);
    /* max ignores padding although the table row values are all positive */
    rec_tensor *neg = rec_tensor_2d(g, 4, 3);
    for (int i = 0; i < 12; i++)
        neg->v[i] = -T43[i];
    rec_tensor *mx = rec_embedding_bag(g, neg, i32(g, ids, 6), i32(g, off, 4), NULL,
                                       REC_REDUCE_MAX);
    expect_rows(mx, (float[]){ -4, -5, -6, 0, 0, 0, -1, -2, -3 }, 9);
    rec_graph_destroy(g);
}
END_TEST

typedef struct bag_ctx {
    rec_tensor *table, *w;
    const int32_t *ids, *off;
    int n, nbags;
    rec_reduce mode;
} bag_ctx;

static rec_tensor *build_bag(rec_graph *g, void *p)
{
    bag_ctx *c = p;
    return tu_wsum(g, rec_embedding_bag(g, c->table, i32(g, c->ids, c->n),
                                        i32(g, c->off, c->nbags + 1), c->w, c->mode));
}

START_TEST(embedding_bag_gradcheck)
{
    /* repeated id 2 in bag 0, empty bag 1, padding in bag 3 */
    static const int32_t ids[9] = { 2, 5, 2, 0, 4, -1, 1, 5, 3 }, off[5] = { 0, 3, 3, 4, 9 };
    for (int sparse = 0; sparse < 2; sparse++) {
        for (int mode = 0; mode < 3; mode++) {
            for (int weighted = 0; weighted < (mode == REC_REDUCE_MAX ? 1 : 2); weighted++) {
                rec_pstore *ps;
                ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
                bag_ctx c = { param(ps, "emb", 6, 3, sparse ? REC_T_SPARSE : 0, NULL), NULL,
                              ids, off, 9, 4, (rec_reduce)mode };
                for (int i = 0; i < 18; i++)
                    c.table->v[i] = (float)((i * 7) % 18) * 0.1f - 0.9f;
                if (weighted) {
                    c.w = param(ps, "w", 9, 0, 0, NULL);
                    tu_fill(c.w, 8, -1.5f, 1.5f);
                }
                tu_gradcheck(ps, build_bag, &c, EPS, ATOL, RTOL);
                rec_pstore_destroy(ps);
            }
        }
    }
}
END_TEST

START_TEST(embedding_bag_sparse_table_gets_one_chunk)
{
    rec_pstore *ps;
    rec_graph *g;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_tensor *t = param(ps, "emb", 50, 2, REC_T_SPARSE, NULL);
    tu_fill(t, 4, -1, 1);
    rec_tensor *w = param(ps, "w", 6, 0, 0, (const float[]){ 1, 2, 3, 4, 5, 6 });
    static const int32_t ids[6] = { 7, 42, 7, -1, 13, 0 }, off[4] = { 0, 3, 5, 6 };
    bag_ctx c = { t, w, ids, off, 6, 3, REC_REDUCE_MEAN };
    rec_tensor *loss = build_bag(g, &c);
    ck_assert_int_eq(rec_backward(g, loss), REC_OK);
    ck_assert_ptr_null(t->g);
    ck_assert_ptr_nonnull(t->rg);
    ck_assert_ptr_null(t->rg->next);
    ck_assert_int_eq(t->rg->n, 5);
    const int32_t rows[5] = { 7, 42, 7, 13, 0 };
    /* dy of bag b is tu_wsum's weights (b*2, b*2+1); counts 3, 1 (one pad), 1 */
    const float scale[5] = { 1.0f / 3, 2.0f / 3, 3.0f / 3, 5, 6 };
    const int bag[5] = { 0, 0, 0, 1, 2 };
    for (int k = 0; k < 5; k++) {
        ck_assert_int_eq(t->rg->rows[k], rows[k]);
        for (int j = 0; j < 2; j++) {
            double dy = sin((bag[k] * 2 + j) * 1.713 + 0.37) + 0.25;
            ck_assert_float_near(t->rg->vals[k * 2 + j], scale[k] * dy, 1e-5);
        }
    }
    int64_t nchunks, nrows;
    float *dense = densify(t, &nchunks, &nrows);
    for (int r = 0; r < 50; r++) {
        int used = r == 0 || r == 7 || r == 13 || r == 42;
        ck_assert_int_eq(dense[r * 2] != 0.0f || dense[r * 2 + 1] != 0.0f, used);
    }
    free(dense);
    /* the weight of the padding id gets no gradient */
    ck_assert_float_eq(w->g[3], 0.0f);
    ck_assert_float_ne(w->g[4], 0.0f);
    rec_graph_reset(g);
    ck_assert_ptr_null(t->rg);
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
}
END_TEST

START_TEST(embedding_bag_errors)
{
    rec_graph *g;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    int32_t ids[4] = { 0, 3, 1, 2 };
    struct {
        int32_t off[3];
        const char *msg;
    } bad[] = {
        { { -1, 2, 4 }, "rec_embedding_bag: offsets[0] = -1, want 0" },
        { { 0, 5, 4 }, "rec_embedding_bag: offsets[2] = 4 is less than offsets[1] = 5" },
        { { 0, 2, 3 }, "rec_embedding_bag: offsets[2] = 3, want 4 (the number of ids)" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rec_tensor *out = rec_embedding_bag(g, mat(g, T43, 4, 3), i32(g, ids, 4),
                                            i32(g, bad[i].off, 3), NULL, REC_REDUCE_MEAN);
        expect_error(g, out, REC_E_INVALID, bad[i].msg);
    }
    int32_t off[3] = { 0, 2, 4 };
    rec_tensor *out = rec_embedding_bag(g, mat(g, T43, 4, 3), i32(g, (int32_t[]){ 0, 1, 4, 2 }, 4),
                                        i32(g, off, 3), NULL, REC_REDUCE_SUM);
    expect_error(g, out, REC_E_RANGE,
                 "rec_embedding_bag: idx[2] = 4 is out of range for a table of 4 rows");
    out = rec_embedding_bag(g, mat(g, T43, 4, 3), i32(g, ids, 4), i32(g, off, 3),
                            f32(g, T43, 4), REC_REDUCE_MAX);
    expect_error(g, out, REC_E_INVALID, "rec_embedding_bag: weights need mode sum or mean");
    out = rec_embedding_bag(g, mat(g, T43, 4, 3), i32(g, ids, 4), i32(g, off, 3),
                            f32(g, T43, 3), REC_REDUCE_SUM);
    expect_error(g, out, REC_E_INVALID, "weights must be F32 with 4 elements, got 3");
    out = rec_embedding_bag(g, mat(g, T43, 4, 3), f32(g, T43, 4), i32(g, off, 3), NULL,
                            REC_REDUCE_SUM);
    expect_error(g, out, REC_E_INVALID, "rec_embedding_bag: idx must be a 1-d I32 tensor");
    out = rec_embedding_bag(g, f32(g, T43, 12), i32(g, ids, 4), i32(g, off, 3), NULL,
                            REC_REDUCE_SUM);
    expect_error(g, out, REC_E_INVALID, "rec_embedding_bag: table must be a 2-d F32 tensor");
    out = rec_embedding_bag(g, NULL, i32(g, ids, 4), i32(g, off, 3), NULL, REC_REDUCE_SUM);
    expect_error(g, out, REC_E_INVALID, "rec_embedding_bag: table is NULL");
    out = rec_embedding_bag(g, mat(g, T43, 4, 3), NULL, i32(g, off, 3), NULL, REC_REDUCE_SUM);
    expect_error(g, out, REC_E_INVALID, "rec_embedding_bag: idx is NULL");
    out = rec_embedding_bag(g, mat(g, T43, 4, 3), i32(g, ids, 4), NULL, NULL, REC_REDUCE_SUM);
    expect_error(g, out, REC_E_INVALID, "rec_embedding_bag: offsets is NULL");
    ck_assert_ptr_null(rec_embedding_bag(NULL, NULL, NULL, NULL, NULL, REC_REDUCE_SUM));
    ck_assert_str_eq(rec_last_error(), "rec_embedding_bag: graph is NULL");
    rec_graph_destroy(g);
}
END_TEST

/* ==== spmm ================================================================== */

/* A [3,4] = [[1 0 2 0], [0 0 0 0], [0 -1 0 3]] */
static const int64_t A_PTR[4] = { 0, 2, 2, 4 };
static const int32_t A_IDX[4] = { 0, 2, 1, 3 };
static const float A_VAL[4] = { 1, 2, -1, 3 };

static rec_csr csr_a(int ones)
{
    return (rec_csr){ 3, 4, 4, A_PTR, A_IDX, ones ? NULL : A_VAL, NULL };
}

START_TEST(spmm_values)
{
    rec_graph *g;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_csr a = csr_a(0), b = csr_a(1);
    rec_tensor *x = mat(g, (float[]){ 1, 2, 3, 4, 5, 6, 7, 8 }, 4, 2);
    rec_tensor *y = rec_spmm(g, &a, x);
    ck_assert_int_eq(y->shape[0], 3);
    ck_assert_int_eq(y->shape[1], 2);
    expect_rows(y, (float[]){ 11, 14, 0, 0, 18, 20 }, 6);
    y = rec_spmm(g, &b, x);
    expect_rows(y, (float[]){ 6, 8, 0, 0, 10, 12 }, 6);
    ck_assert_ptr_null(a.t); /* no backward, no transpose */
    rec_graph_destroy(g);
}
END_TEST

typedef struct spmm_ctx {
    rec_csr *a;
    rec_tensor *x;
} spmm_ctx;

static rec_tensor *build_spmm(rec_graph *g, void *p)
{
    spmm_ctx *c = p;
    return tu_wsum(g, rec_spmm(g, c->a, c->x));
}

/* x used twice: its gradient must accumulate over both products. */
static rec_tensor *build_spmm_twice(rec_graph *g, void *p)
{
    spmm_ctx *c = p;
    rec_csr *ones = c->a + 1;
    rec_tensor *parts[2] = { tu_wsum(g, rec_spmm(g, c->a, c->x)),
                             tu_wsum(g, rec_spmm(g, ones, c->x)) };
    return add_scalars(g, 2, parts);
}

START_TEST(spmm_gradcheck_and_transpose_cache)
{
    tu_alloc_install();
    for (int ones = 0; ones < 2; ones++) {
        rec_pstore *ps;
        ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
        rec_csr a = csr_a(ones);
        spmm_ctx c = { &a, param(ps, "x", 4, 3, 0, NULL) };
        tu_fill(c.x, 9, -1, 1);
        tu_gradcheck(ps, build_spmm, &c, EPS, ATOL, RTOL);
        ck_assert_ptr_nonnull(a.t);
        ck_assert_int_eq(a.t->rows, 4);
        ck_assert_int_eq(a.t->cols, 3);
        /* A^T row 3 holds (row 2, 3) */
        ck_assert_int_eq(a.t->indptr[3], 3);
        ck_assert_int_eq(a.t->indices[3], 2);
        if (!ones)
            ck_assert_float_eq(a.t->vals[3], 3.0f);
        else
            ck_assert_ptr_null(a.t->vals);
        rec_csr_free_transpose(&a);
        ck_assert_ptr_null(a.t);
        rec_csr_free_transpose(&a);
        rec_csr_free_transpose(NULL);
        rec_csr two[2] = { csr_a(0), csr_a(1) };
        c.a = two;
        tu_gradcheck(ps, build_spmm_twice, &c, EPS, ATOL, RTOL);
        rec_csr_free_transpose(&two[0]);
        rec_csr_free_transpose(&two[1]);
        rec_pstore_destroy(ps);
    }
    ck_assert_int_eq(tu_alloc_live(), 0);
    tu_alloc_remove();
}
END_TEST

START_TEST(spmm_transpose_out_of_memory)
{
    tu_alloc_install();
    rec_pstore *ps;
    rec_graph *g;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_csr a = csr_a(0);
    spmm_ctx c = { &a, param(ps, "x", 4, 3, 0, NULL) };
    ck_assert_int_eq(rec_backward(g, build_spmm(g, &c)), REC_OK);
    rec_csr_free_transpose(&a);
    rec_graph_reset(g);
    rec_tensor *loss = build_spmm(g, &c);
    tu_alloc_fail_at(1); /* the arena and tape are warm: the next allocation is the transpose's */
    ck_assert_int_eq(rec_backward(g, loss), REC_E_NOMEM);
    ck_assert_str_eq(rec_last_error(), "rec_spmm: out of memory building the transpose");
    ck_assert_ptr_null(a.t);
    tu_alloc_fail_at(0);
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
    ck_assert_int_eq(tu_alloc_live(), 0);
    tu_alloc_remove();
}
END_TEST

START_TEST(spmm_errors)
{
    rec_graph *g;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_csr a = csr_a(0);
    rec_tensor *out = rec_spmm(g, &a, mat(g, T43, 3, 4));
    expect_error(g, out, REC_E_INVALID, "rec_spmm: x has 3 rows, want 4 (the columns of a)");
    int32_t bad_idx[4] = { 0, 2, 4, 3 };
    rec_csr b = a;
    b.indices = bad_idx;
    out = rec_spmm(g, &b, mat(g, T43, 4, 3));
    expect_error(g, out, REC_E_RANGE, "rec_spmm: CSR: indices[2] = 4 is outside [0, 4)");
    int64_t bad_ptr[4] = { 0, 3, 2, 4 };
    b = a;
    b.indptr = bad_ptr;
    out = rec_spmm(g, &b, mat(g, T43, 4, 3));
    expect_error(g, out, REC_E_INVALID, "rec_spmm: CSR: indptr decreases at row 1 (3 > 2)");
    b = a;
    b.nnz = 3;
    out = rec_spmm(g, &b, mat(g, T43, 4, 3));
    expect_error(g, out, REC_E_INVALID, "rec_spmm: CSR: indptr ends at 4, want nnz = 3");
    b = a;
    b.indptr = NULL;
    out = rec_spmm(g, &b, mat(g, T43, 4, 3));
    expect_error(g, out, REC_E_INVALID, "rec_spmm: CSR indptr is NULL");
    out = rec_spmm(g, NULL, mat(g, T43, 4, 3));
    expect_error(g, out, REC_E_INVALID, "rec_spmm: a is NULL");
    out = rec_spmm(g, &a, NULL);
    expect_error(g, out, REC_E_INVALID, "rec_spmm: x is NULL");
    rec_graph_destroy(g);
}
END_TEST

/* ==== losses ================================================================ */

START_TEST(loss_values)
{
    rec_graph *g;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_tensor *x = f32(g, (float[]){ 0, 2, -3 }, 3), *t = f32(g, (float[]){ 1, 0, 1 }, 3);
    rec_tensor *l = rec_bce_logits(g, x, t, NULL);
    ck_assert_int_eq(l->n, 1);
    ck_assert_float_near(l->v[0], 1.9562208477, 1e-6);
    l = rec_bce_logits(g, x, t, f32(g, (float[]){ 1, 0, 2 }, 3)); /* over the weight sum 3 */
    ck_assert_float_near(l->v[0], 2.2634406279, 1e-6);
    l = rec_bce_logits(g, x, t, f32(g, (float[]){ 0, 0, 0 }, 3));
    ck_assert_float_eq(l->v[0], 0.0f);
    /* stable far from zero; a dropped element may even be inf */
    l = rec_bce_logits(g, f32(g, (float[]){ 100, -100, INFINITY }, 3),
                       f32(g, (float[]){ 0, 1, 0 }, 3), f32(g, (float[]){ 1, 1, 0 }, 3));
    ck_assert_float_near(l->v[0], 100.0, 1e-4);

    rec_tensor *z = mat(g, (float[]){ 1, 2, 3, 0, 0, 0, 5, 1, 1 }, 3, 3);
    l = rec_softmax_xent(g, z, i32(g, (int32_t[]){ 2, -1, 0 }, 3)); /* row 1 ignored */
    ck_assert_float_near(l->v[0], 0.2217911321, 1e-6);
    l = rec_softmax_xent(g, mat(g, (float[]){ 1000, 0, 0, 0 }, 2, 2),
                         i32(g, (int32_t[]){ 1, 1 }, 2));
    ck_assert_float_near(l->v[0], 500.0 + log(2.0) / 2, 1e-3);
    l = rec_softmax_xent(g, z, i32(g, (int32_t[]){ -1, -1, -1 }, 3));
    ck_assert_float_eq(l->v[0], 0.0f);

    l = rec_bpr(g, f32(g, (float[]){ 1, 0 }, 2), f32(g, (float[]){ 0, 2 }, 2));
    ck_assert_float_near(l->v[0], 1.2200948493, 1e-6);
    l = rec_bpr(g, f32(g, (float[]){ -200, 200 }, 2), f32(g, (float[]){ 200, -200 }, 2));
    ck_assert_float_near(l->v[0], 200.0, 1e-3);
    ck_assert_int_eq(rec_graph_status(g), REC_OK);
    rec_graph_destroy(g);
}
END_TEST

typedef struct loss_ctx {
    rec_tensor *a, *b;
    const float *t, *w;
    const int32_t *cls;
    int n, kind;
} loss_ctx;

static rec_tensor *build_loss(rec_graph *g, void *p)
{
    loss_ctx *c = p;
    switch (c->kind) {
    case 0:
        return rec_bce_logits(g, c->a, f32(g, c->t, c->n), c->w ? f32(g, c->w, c->n) : NULL);
    case 1:
        return rec_softmax_xent(g, c->a, i32(g, c->cls, c->n));
    default:
        return rec_bpr(g, c->a, c->b);
    }
}

START_TEST(loss_gradcheck)
{
    static const float t[6] = { 1, 0, 1, 1, 0, 0.3f }, w[6] = { 1, 0, 2, 0.5f, 1, 1 };
    static const int32_t cls[4] = { 2, -1, 0, 4 };
    for (int kind = 0; kind < 4; kind++) {
        rec_pstore *ps;
        ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
        loss_ctx c = { NULL, NULL, t, kind == 3 ? w : NULL, cls, 6, kind > 2 ? 0 : kind };
        if (c.kind == 1) {
            c.a = param(ps, "logits", 4, 5, 0, NULL);
            c.n = 4;
        } else {
            c.a = param(ps, "a", 6, 0, 0, NULL);
        }
        tu_fill(c.a, 30 + kind, -2, 2);
        if (c.kind == 2) {
            c.b = param(ps, "b", 6, 0, 0, NULL);
            tu_fill(c.b, 40, -2, 2);
        }
        tu_gradcheck(ps, build_loss, &c, EPS, ATOL, RTOL);
        if (c.kind == 1)
            for (int j = 0; j < 5; j++)
                ck_assert_float_eq(c.a->g[5 + j], 0.0f); /* ignored row */
        if (kind == 3)
            ck_assert_float_eq(c.a->g[1], 0.0f); /* weight 0 */
        rec_pstore_destroy(ps);
    }
}
END_TEST

START_TEST(loss_errors)
{
    rec_graph *g;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_tensor *out = rec_bce_logits(g, f32(g, T43, 3), f32(g, T43, 4), NULL);
    expect_error(g, out, REC_E_INVALID, "rec_bce_logits: target has 4 elements, logits 3");
    out = rec_bce_logits(g, f32(g, T43, 3), f32(g, T43, 3), f32(g, T43, 2));
    expect_error(g, out, REC_E_INVALID, "rec_bce_logits: weight has 2 elements, logits 3");
    out = rec_bce_logits(g, NULL, f32(g, T43, 3), NULL);
    expect_error(g, out, REC_E_INVALID, "rec_bce_logits: logits is NULL");
    out = rec_bce_logits(g, f32(g, T43, 3), NULL, NULL);
    expect_error(g, out, REC_E_INVALID, "rec_bce_logits: target is NULL");
    out = rec_bce_logits(g, f32(g, T43, 3), i32(g, (int32_t[]){ 1, 0, 1 }, 3), NULL);
    expect_error(g, out, REC_E_INVALID, "rec_bce_logits: logits and target must be F32");

    out = rec_softmax_xent(g, mat(g, T43, 4, 3), i32(g, (int32_t[]){ 0, 1, 3, 2 }, 4));
    expect_error(g, out, REC_E_RANGE,
                 "rec_softmax_xent: target[2] = 3 is out of range for 3 classes");
    out = rec_softmax_xent(g, mat(g, T43, 4, 3), i32(g, (int32_t[]){ 0, 1, 2 }, 3));
    expect_error(g, out, REC_E_INVALID,
                 "rec_softmax_xent: target has 3 elements, want 4 (the rows of logits)");
    out = rec_softmax_xent(g, mat(g, T43, 4, 3), f32(g, T43, 4));
    expect_error(g, out, REC_E_INVALID, "rec_softmax_xent: logits must be F32 and target I32");
    out = rec_softmax_xent(g, NULL, i32(g, (int32_t[]){ 0 }, 1));
    expect_error(g, out, REC_E_INVALID, "rec_softmax_xent: logits is NULL");

    out = rec_bpr(g, f32(g, T43, 3), f32(g, T43, 2));
    expect_error(g, out, REC_E_INVALID, "rec_bpr: neg has 2 elements, pos 3");
    out = rec_bpr(g, f32(g, T43, 3), NULL);
    expect_error(g, out, REC_E_INVALID, "rec_bpr: neg is NULL");
    ck_assert_ptr_null(rec_bpr(NULL, NULL, NULL));
    ck_assert_str_eq(rec_last_error(), "rec_bpr: graph is NULL");
    rec_graph_destroy(g);
}
END_TEST

/* ==== rows wider than the 16-float blocks =================================== */

typedef struct wide_ctx {
    rec_tensor *table, *w, *x;
    rec_csr *a;
} wide_ctx;

static const int32_t WIDE_IDS[7] = { 4, 0, 4, 2, -1, 6, 1 }, WIDE_OFF[4] = { 0, 3, 3, 7 };

static rec_tensor *build_wide(rec_graph *g, void *p)
{
    wide_ctx *c = p;
    rec_tensor *parts[4] = {
        tu_wsum(g, rec_embedding_bag(g, c->table, i32(g, WIDE_IDS, 7), i32(g, WIDE_OFF, 4), c->w,
                                     REC_REDUCE_MEAN)),
        tu_wsum(g, rec_gather(g, c->x, i32(g, (int32_t[]){ 3, 1, 3 }, 3), -1)),
        tu_wsum(g, rec_spmm(g, c->a, c->x)),
        tu_wsum(g, rec_segment_reduce(g, c->x, i32(g, (int32_t[]){ 0, 1, 4 }, 3), NULL,
                                      REC_REDUCE_SUM)),
    };
    return add_scalars(g, 4, parts);
}

START_TEST(wide_rows_values_and_gradients)
{
    enum { D = 19 }; /* one 16-float block and a tail of 3 */
    for (int sparse = 0; sparse < 2; sparse++) {
        rec_pstore *ps;
        ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
        rec_csr a = csr_a(0);
        wide_ctx c = { param(ps, "emb", 7, D, sparse ? REC_T_SPARSE : 0, NULL),
                       param(ps, "w", 7, 0, 0, NULL), param(ps, "x", 4, D, 0, NULL), &a };
        tu_fill(c.table, 50, -1, 1);
        tu_fill(c.w, 51, -1, 1);
        tu_fill(c.x, 52, -1, 1);
        /* forward against plain loops */
        rec_graph *g;
        ck_assert_int_eq(rec_graph_create(&g), REC_OK);
        rec_tensor *eb = rec_embedding_bag(g, c.table, i32(g, WIDE_IDS, 7), i32(g, WIDE_OFF, 4),
                                           c.w, REC_REDUCE_MEAN);
        rec_tensor *y = rec_spmm(g, &a, c.x);
        for (int j = 0; j < D; j++) {
            double b0 = 0, b2 = 0;
            for (int i = 0; i < 3; i++)
                b0 += c.w->v[i] * c.table->v[WIDE_IDS[i] * D + j];
            for (int i = 3; i < 7; i++)
                if (WIDE_IDS[i] >= 0)
                    b2 += c.w->v[i] * c.table->v[WIDE_IDS[i] * D + j];
            ck_assert_float_near(eb->v[j], b0 / 3, 1e-5);
            ck_assert_float_eq(eb->v[D + j], 0.0f);
            ck_assert_float_near(eb->v[2 * D + j], b2 / 3, 1e-5);
            ck_assert_float_near(y->v[j], c.x->v[j] + 2 * c.x->v[2 * D + j], 1e-5);
            ck_assert_float_near(y->v[2 * D + j], -c.x->v[D + j] + 3 * c.x->v[3 * D + j], 1e-5);
        }
        rec_graph_destroy(g);
        tu_gradcheck(ps, build_wide, &c, EPS, ATOL, RTOL);
        rec_csr_free_transpose(&a);
        rec_pstore_destroy(ps);
    }
}
END_TEST

/* ==== threads and memory ==================================================== */

/* Every op of this file on inputs big enough to be split, forward and
 * backward; returns a malloc'ed copy of all outputs and gradients. */
static float *run_all_ops(size_t *len)
{
    enum { N = 400, D = 16, BAGS = 300, LEN = 20, NZ = 6000, CLS = 64 };
    rec_pstore *ps;
    rec_graph *g;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_tensor *sp = param(ps, "sparse", N, D, REC_T_SPARSE, NULL);
    rec_tensor *dn = param(ps, "dense", N, D, 0, NULL);
    rec_tensor *lg = param(ps, "logits", 600, CLS, 0, NULL);
    tu_fill(sp, 1, -1, 1);
    tu_fill(dn, 2, -1, 1);
    tu_fill(lg, 3, -3, 3);
    int32_t *ids = malloc(BAGS * LEN * sizeof *ids), *off = malloc((BAGS + 1) * sizeof *off);
    int32_t *cls = malloc(600 * sizeof *cls), *cidx = malloc(NZ * sizeof *cidx);
    int64_t *ptr = malloc((N + 1) * sizeof *ptr);
    rec_rng r;
    rec_rng_seed(&r, 99);
    for (int i = 0; i < BAGS * LEN; i++)
        ids[i] = (int32_t)rec_rng_below(&r, N);
    for (int b = 0; b <= BAGS; b++)
        off[b] = b * LEN;
    for (int i = 0; i < 600; i++)
        cls[i] = (int32_t)rec_rng_below(&r, CLS);
    for (int i = 0; i <= N; i++)
        ptr[i] = (int64_t)NZ * i / N;
    for (int i = 0; i < NZ; i++)
        cidx[i] = (int32_t)rec_rng_below(&r, N);
    rec_csr a = { N, N, NZ, ptr, cidx, NULL, NULL };

    rec_tensor *eb = rec_embedding_bag(g, sp, i32(g, ids, BAGS * LEN), i32(g, off, BAGS + 1),
                                       NULL, REC_REDUCE_MEAN);
    rec_tensor *ebd = rec_embedding_bag(g, dn, i32(g, ids, BAGS * LEN), i32(g, off, BAGS + 1),
                                        NULL, REC_REDUCE_MAX);
    rec_tensor *ga = rec_gather(g, dn, i32(g, ids, BAGS * LEN), 5);
    rec_tensor *sr = rec_segment_reduce(g, ga, i32(g, off, BAGS + 1), NULL, REC_REDUCE_SUM);
    rec_tensor *sm = rec_spmm(g, &a, dn);
    rec_tensor *xe = rec_softmax_xent(g, lg, i32(g, cls, 600));
    rec_tensor *bags[2] = { tu_wsum(g, eb), tu_wsum(g, ebd) };
    rec_tensor *parts[4] = { add_scalars(g, 2, bags), tu_wsum(g, sr), tu_wsum(g, sm), xe };
    ck_assert_int_eq(rec_backward(g, add_scalars(g, 4, parts)), REC_OK);
    size_t n = (size_t)(eb->n + ebd->n + sr->n + sm->n + 1 + dn->n + lg->n)
               + (size_t)BAGS * LEN * D;
    float *out = malloc(n * sizeof *out), *o = out;
    memcpy(o, eb->v, eb->n * sizeof *o), o += eb->n;
    memcpy(o, ebd->v, ebd->n * sizeof *o), o += ebd->n;
    memcpy(o, sr->v, sr->n * sizeof *o), o += sr->n;
    memcpy(o, sm->v, sm->n * sizeof *o), o += sm->n;
    *o++ = xe->v[0];
    memcpy(o, dn->g, dn->n * sizeof *o), o += dn->n;
    memcpy(o, lg->g, lg->n * sizeof *o), o += lg->n;
    ck_assert_ptr_nonnull(sp->rg);
    ck_assert_ptr_null(sp->rg->next);
    ck_assert_int_eq(sp->rg->n, BAGS * LEN);
    memcpy(o, sp->rg->vals, (size_t)BAGS * LEN * D * sizeof *o), o += (int64_t)BAGS * LEN * D;
    ck_assert_int_eq(memcmp(sp->rg->rows, ids, BAGS * LEN * sizeof *ids), 0);
    *len = (size_t)(o - out);
    rec_csr_free_transpose(&a);
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
    free(ids);
    free(off);
    free(cls);
    free(cidx);
    free(ptr);
    return out;
}

START_TEST(same_results_with_one_and_two_threads)
{
    int keep = rec_get_num_threads();
    size_t n1, n2;
    ck_assert_int_eq(rec_set_num_threads(1), REC_OK);
    float *one = run_all_ops(&n1);
    ck_assert_int_eq(rec_set_num_threads(2), REC_OK);
    float *two = run_all_ops(&n2);
    ck_assert_int_eq(rec_set_num_threads(keep), REC_OK);
    ck_assert_uint_eq(n1, n2);
    ck_assert_int_eq(memcmp(one, two, n1 * sizeof *one), 0);
    free(one);
    free(two);
}
END_TEST

/* Every allocation of a small training step fails in turn: each failure is
 * reported as REC_E_NOMEM (never a crash) and nothing leaks. */
START_TEST(out_of_memory_anywhere_is_reported)
{
    tu_alloc_install();
    static const int32_t ids[6] = { 1, 3, 3, 0, 2, 4 }, off[3] = { 0, 4, 6 };
    for (long k = 1;; k++) {
        tu_alloc_fail_at(k);
        rec_pstore *ps = NULL;
        rec_graph *g = NULL;
        rec_status st = rec_pstore_create(&ps);
        if (!st)
            st = rec_graph_create(&g);
        rec_tensor *t = NULL, *u = NULL;
        if (!st) {
            t = rec_pstore_add(ps, "emb", 2, (int64_t[]){ 5, 4 }, REC_T_SPARSE);
            u = rec_pstore_add(ps, "user", 2, (int64_t[]){ 2, 4 }, 0);
            st = t && u ? REC_OK : REC_E_NOMEM;
        }
        if (!st) {
            rec_csr a = csr_a(0);
            rec_tensor *eb = rec_embedding_bag(g, t, i32(g, ids, 6), i32(g, off, 3), NULL,
                                               REC_REDUCE_MEAN);
            rec_tensor *gu = rec_gather(g, u, i32(g, (int32_t[]){ 0, 1 }, 2), -1);
            rec_tensor *x = rec_segment_reduce(g, eb, i32(g, (int32_t[]){ 0, 2 }, 2), NULL,
                                               REC_REDUCE_SUM);
            rec_tensor *sp = rec_spmm(g, &a, rec_gather(g, t, i32(g, ids, 4), -1));
            rec_tensor *parts[3] = { rec_bpr(g, gu, eb), rec_bce_logits(g, x, x, NULL),
                                     tu_wsum(g, sp) };
            rec_tensor *xe = rec_softmax_xent(g, sp, i32(g, (int32_t[]){ 1, -1, 3 }, 3));
            rec_tensor *all[4] = { parts[0], parts[1], parts[2], xe };
            rec_tensor *loss = xe ? add_scalars(g, 4, all) : NULL;
            st = loss ? rec_backward(g, loss) : rec_graph_status(g);
            rec_csr_free_transpose(&a);
        }
        rec_graph_destroy(g);
        rec_pstore_destroy(ps);
        ck_assert_int_eq(tu_alloc_live(), 0);
        if (!st)
            break;
        ck_assert_int_eq(st, REC_E_NOMEM);
        ck_assert_int_lt(k, 200);
    }
    tu_alloc_remove();
}
END_TEST

Suite *rec_ops_sparse_suite(void)
{
    Suite *s = suite_create("ops_sparse");
    TCase *t = tcase_create("gather");
    tcase_add_test(t, gather_values_and_padding);
    tcase_add_test(t, gather_gradcheck_dense_and_sparse);
    tcase_add_test(t, gather_sparse_table_gets_rowgrad_only);
    tcase_add_test(t, gather_errors);
    suite_add_tcase(s, t);
    t = tcase_create("segment");
    tcase_add_test(t, segment_reduce_values);
    tcase_add_test(t, segment_reduce_gradcheck);
    tcase_add_test(t, segment_reduce_errors);
    tcase_add_test(t, embedding_bag_values_match_gather_then_reduce);
    tcase_add_test(t, embedding_bag_negative_ids_are_padding);
    tcase_add_test(t, embedding_bag_gradcheck);
    tcase_add_test(t, embedding_bag_sparse_table_gets_one_chunk);
    tcase_add_test(t, embedding_bag_errors);
    suite_add_tcase(s, t);
    t = tcase_create("spmm");
    tcase_add_test(t, spmm_values);
    tcase_add_test(t, spmm_gradcheck_and_transpose_cache);
    tcase_add_test(t, spmm_transpose_out_of_memory);
    tcase_add_test(t, spmm_errors);
    suite_add_tcase(s, t);
    t = tcase_create("loss");
    tcase_add_test(t, loss_values);
    tcase_add_test(t, loss_gradcheck);
    tcase_add_test(t, loss_errors);
    suite_add_tcase(s, t);
    t = tcase_create("wide");
    tcase_add_test(t, wide_rows_values_and_gradients);
    suite_add_tcase(s, t);
    t = tcase_create("threads_and_memory");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, same_results_with_one_and_two_threads);
    tcase_add_test(t, out_of_memory_anywhere_is_reported);
    suite_add_tcase(s, t);
    return s;
}
