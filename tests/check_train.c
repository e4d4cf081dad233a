/* Training stack: samplers (distributions, rejection of positives, hard
 * sources, determinism across thread counts), losses (hand values and
 * gradient checks), the trainer loop (early stopping, progress, cancel,
 * checkpoint/resume bit for bit, corrupted checkpoints), bad params and
 * out-of-memory paths. */
#include "testutil.h"
#include "core/lrm-impl.h"
#include "train/train-impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rec_params *mkp(const char *const *kv)
{
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    for (; kv && *kv; kv++)
        ck_assert_int_eq(rec_params_parse(p, *kv), REC_OK);
    return p;
}

/* 4 users, 10 items.  u0: 7 positives (3 negatives: 2, 5, 9); u1: none;
 * u2: every item; u3: items 1, 1 (duplicate), 4. */
static const int64_t U_PTR[5] = { 0, 7, 7, 17, 20 };
static const int32_t U_ITEMS[20] = { 8, 0, 1, 3, 4, 6, 7,  0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
                                     1, 4, 1 };

static rec_sampler *mks(const char *const *kv)
{
    rec_params *p = mkp(kv);
    rec_sampler *s;
    ck_assert_msg(rec_sampler_create_csr(&s, 4, 10, U_PTR, U_ITEMS, p) == REC_OK, "%s",
                  rec_last_error());
    rec_params_destroy(p);
    return s;
}

/* ---- samplers ------------------------------------------------------------- */

START_TEST(sampler_uniform_rejects_positives)
{
    /* max_tries 1 sends most draws of u0 through the exact fallback: the
     * mixture must still be uniform over {2, 5, 9}. */
    for (int tries = 1; tries <= 64; tries += 63) {
        char kv[32];
        snprintf(kv, sizeof kv, "max_tries=%d", tries);
        const char *args[] = { kv, NULL };
        rec_sampler *s = mks(args);
        rec_rng r;
        rec_rng_seed(&r, 1);
        enum { N = 30000 };
        static int32_t out[N];
        long cnt[10] = { 0 };
        ck_assert_int_eq(rec_sampler_draw(s, &r, 0, N, out), REC_OK);
        for (int k = 0; k < N; k++) {
            ck_assert_int_ge(out[k], 0);
            ck_assert_int_lt(out[k], 10);
            cnt[out[k]]++;
        }
        for (int i = 0; i < 10; i++) {
            if (i == 2 || i == 5 || i == 9)
                ck_assert_float_near(cnt[i] / (double)N, 1.0 / 3, 0.015);
            else
                ck_assert_int_eq(cnt[i], 0);
        }
        ck_assert_int_eq(rec_sampler_num_negatives(s, 0), 3);
        ck_assert_int_eq(rec_sampler_num_negatives(s, 3), 8); /* duplicates count once */
        ck_assert(rec_sampler_is_positive(s, 3, 1) && rec_sampler_is_positive(s, 3, 4));
        ck_assert(!rec_sampler_is_positive(s, 3, 2) && !rec_sampler_is_positive(s, 9, 1));
        /* u2 has seen everything: padding ids */
        ck_assert_int_eq(rec_sampler_draw(s, &r, 2, 5, out), REC_OK);
        for (int k = 0; k < 5; k++)
            ck_assert_int_eq(out[k], -1);
        ck_assert_float_near(rec_sampler_log_q(s, 3), -log(10.0), 1e-12);
        rec_sampler_destroy(s);
    }
}
END_TEST

START_TEST(sampler_popularity_matches_alpha)
{
    /* Item counts over all users: 0:2 1:4 2:1 3:2 4:3 5:1 6:2 7:2 8:2 9:1. */
    static const double count[10] = { 2, 4, 1, 2, 3, 1, 2, 2, 2, 1 };
    const double alphas[2] = { 0.5, 1.0 };
    for (int a = 0; a < 2; a++) {
        char kv[32];
        snprintf(kv, sizeof kv, "alpha=%g", alphas[a]);
        const char *args[] = { "kind=popularity", kv, NULL };
        rec_sampler *s = mks(args);
        double want[10], sum = 0;
        for (int i = 0; i < 10; i++)
            sum += want[i] = pow(count[i], alphas[a]);
        rec_rng r;
        rec_rng_seed(&r, 2);
        enum { N = 200000 };
        static int32_t out[N];
        long cnt[10] = { 0 };
        ck_assert_int_eq(rec_sampler_draw(s, &r, 1, N, out), REC_OK); /* u1: no positives */
        for (int k = 0; k < N; k++)
            cnt[out[k]]++;
        for (int i = 0; i < 10; i++) {
            ck_assert_float_near(cnt[i] / (double)N, want[i] / sum, 0.004);
            ck_assert_float_near(rec_sampler_log_q(s, i), log(want[i] / sum), 1e-6);
        }
        /* u3's positives are rejected; the rest keep their relative weights */
        memset(cnt, 0, sizeof cnt);
        ck_assert_int_eq(rec_sampler_draw(s, &r, 3, N, out), REC_OK);
        for (int k = 0; k < N; k++)
            cnt[out[k]]++;
        double rest = sum - want[1] - want[4];
        for (int i = 0; i < 10; i++)
            ck_assert_float_near(cnt[i] / (double)N, (i == 1 || i == 4) ? 0 : want[i] / rest,
                                 0.004);
        rec_sampler_destroy(s);
    }
}
END_TEST

START_TEST(sampler_popularity_unseen_items)
{
    /* Item 2 has no interaction: never proposed for alpha > 0, but the
     * exact fallback may still give it to a user who saw all the others. */
    static const int64_t ptr[3] = { 0, 3, 3 };
    static const int32_t it[3] = { 0, 1, 3 };
    const char *args[] = { "kind=popularity", "alpha=1", NULL };
    rec_params *p = mkp(args);
    rec_sampler *s;
    ck_assert_int_eq(rec_sampler_create_csr(&s, 2, 4, ptr, it, p), REC_OK);
    rec_params_destroy(p);
    ck_assert(isinf(rec_sampler_log_q(s, 2)) && rec_sampler_log_q(s, 2) < 0);
    rec_rng r;
    rec_rng_seed(&r, 3);
    int32_t out[200];
    ck_assert_int_eq(rec_sampler_draw(s, &r, 1, 200, out), REC_OK);
    for (int k = 0; k < 200; k++)
        ck_assert(out[k] == 0 || out[k] == 1 || out[k] == 3);
    ck_assert_int_eq(rec_sampler_draw(s, &r, 0, 20, out), REC_OK);
    for (int k = 0; k < 20; k++)
        ck_assert_int_eq(out[k], 2);
    rec_sampler_destroy(s);
}
END_TEST

START_TEST(sampler_hard_list)
{
    /* u3's hard candidates: 1 (a positive, never returned), 7, 8. */
    static const int64_t hp[5] = { 0, 0, 0, 0, 3 };
    static const int32_t hi[3] = { 1, 7, 8 };
    const char *all[] = { "kind=hard", "hard_ratio=1", NULL };
    rec_sampler *s = mks(all);
    ck_assert_int_eq(rec_sampler_set_hard_list(s, hp, hi), REC_OK);
    rec_rng r;
    rec_rng_seed(&r, 4);
    enum { N = 20000 };
    static int32_t out[N];
    ck_assert_int_eq(rec_sampler_draw(s, &r, 3, N, out), REC_OK);
    long c7 = 0;
    for (int k = 0; k < N; k++) {
        ck_assert(out[k] == 7 || out[k] == 8);
        c7 += out[k] == 7;
    }
    ck_assert_float_near(c7 / (double)N, 0.5, 0.02);
    /* u0 has no candidates: uniform negatives */
    ck_assert_int_eq(rec_sampler_draw(s, &r, 0, 100, out), REC_OK);
    for (int k = 0; k < 100; k++)
        ck_assert(out[k] == 2 || out[k] == 5 || out[k] == 9);
    rec_sampler_destroy(s);

    /* ratio 0.25: P(7 or 8) = 0.25 + 0.75 * 2/8 */
    const char *mix[] = { "kind=hard", "hard_ratio=0.25", NULL };
    s = mks(mix);
    ck_assert_int_eq(rec_sampler_set_hard_list(s, hp, hi), REC_OK);
    ck_assert_int_eq(rec_sampler_draw(s, &r, 3, N, out), REC_OK);
    long inlist = 0;
    for (int k = 0; k < N; k++) {
        ck_assert(!rec_sampler_is_positive(s, 3, out[k]));
        inlist += out[k] == 7 || out[k] == 8;
    }
    ck_assert_float_near(inlist / (double)N, 0.25 + 0.75 * 0.25, 0.015);
    rec_sampler_destroy(s);
}
END_TEST

typedef struct topk_ctx {
    int calls, bad;
} topk_ctx;

static rec_status topk(void *ctx, int32_t user, int32_t k, int32_t *items, int32_t *n)
{
    topk_ctx *c = ctx;
    c->calls++;
    ck_assert_int_eq(k, 3);
    items[0] = 0;          /* a positive of u0 */
    items[1] = 5;
    items[2] = c->bad ? 10 : 9;
    *n = 3;
    (void)user;
    return REC_OK;
}

START_TEST(sampler_hard_callback)
{
    const char *args[] = { "kind=hard", "hard_ratio=1", "hard_k=3", NULL };
    rec_sampler *s = mks(args);
    rec_rng r;
    rec_rng_seed(&r, 5);
    int32_t out[64];
    ck_assert_int_eq(rec_sampler_draw(s, &r, 0, 4, out), REC_E_STATE);
    ck_assert_str_eq(rec_last_error(), "rec_sampler_draw: kind 'hard' needs a candidate list "
                     "or a top-k callback (rec_sampler_set_hard_list / _fn)");
    topk_ctx c = { 0, 0 };
    ck_assert_int_eq(rec_sampler_set_hard_fn(s, topk, &c), REC_OK);
    ck_assert_int_eq(rec_sampler_draw(s, &r, 0, 64, out), REC_OK);
    ck_assert_int_eq(c.calls, 1); /* once per draw call */
    for (int k = 0; k < 64; k++)
        ck_assert(out[k] == 5 || out[k] == 9);
    c.bad = 1;
    ck_assert_int_eq(rec_sampler_draw(s, &r, 0, 4, out), REC_E_RANGE);
    ck_assert_str_eq(rec_last_error(),
                     "rec_sampler_draw: the top-k callback returned item 10, outside [0, 10)");
    rec_sampler_destroy(s);
}
END_TEST

/* Per-user draws in parallel chunks, each chunk with its own stream. */
typedef struct par_job {
    const rec_sampler *s;
    int32_t *out;   /* [users * 8] */
    int64_t users;
} par_job;

static void par_draw(void *arg, int64_t b, int64_t e, int chunk)
{
    par_job *j = arg;
    rec_rng r;
    rec_rng_stream(&r, 99, (uint64_t)chunk);
    for (int64_t u = b; u < e; u++)
        ck_assert_int_eq(rec_sampler_draw(j->s, &r, (int32_t)(u % 4), 8, j->out + u * 8),
                         REC_OK);
}

START_TEST(sampler_deterministic)
{
    const char *kinds[2][3] = { { "kind=uniform", NULL, NULL },
                                { "kind=popularity", "alpha=0.75", NULL } };
    for (int k = 0; k < 2; k++) {
        rec_sampler *s = mks(kinds[k]);
        int32_t a[64], b[64];
        rec_rng r1, r2;
        rec_rng_seed(&r1, 11);
        rec_rng_seed(&r2, 11);
        ck_assert_int_eq(rec_sampler_draw(s, &r1, 3, 64, a), REC_OK);
        ck_assert_int_eq(rec_sampler_draw(s, &r2, 3, 64, b), REC_OK);
        ck_assert_mem_eq(a, b, sizeof a);
        rec_rng_seed(&r2, 12);
        ck_assert_int_eq(rec_sampler_draw(s, &r2, 3, 64, b), REC_OK);
        ck_assert(memcmp(a, b, sizeof a) != 0);

        enum { USERS = 400 };
        static int32_t one[USERS * 8], two[USERS * 8];
        par_job j = { s, one, USERS };
        ck_assert_int_eq(rec_set_num_threads(1), REC_OK);
        rec_parallel_chunks(USERS, 8, par_draw, &j);
        ck_assert_int_eq(rec_set_num_threads(2), REC_OK);
        j.out = two;
        rec_parallel_chunks(USERS, 8, par_draw, &j);
        ck_assert_int_eq(rec_set_num_threads(0), REC_OK);
        ck_assert_mem_eq(one, two, sizeof one);
        rec_sampler_destroy(s);
    }
}
END_TEST

START_TEST(sampler_errors)
{
    rec_sampler *s = NULL;
    rec_params *p = mkp((const char *const[]){ "kind=random", NULL });
    ck_assert_int_eq(rec_sampler_create_csr(&s, 4, 10, U_PTR, U_ITEMS, p), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "rec_sampler_create"));
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "kind"));
    rec_params_destroy(p);
    p = mkp((const char *const[]){ "alpha=11", NULL });
    ck_assert_int_eq(rec_sampler_create_csr(&s, 4, 10, U_PTR, U_ITEMS, p), REC_E_RANGE);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "alpha"));
    rec_params_destroy(p);
    p = mkp((const char *const[]){ "colour=red", NULL });
    ck_assert_int_eq(rec_sampler_create_csr(&s, 4, 10, U_PTR, U_ITEMS, p), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "colour"));
    rec_params_destroy(p);
    ck_assert_int_eq(rec_sampler_create_csr(&s, 4, 9, U_PTR, U_ITEMS, NULL), REC_E_RANGE);
    ck_assert_str_eq(rec_last_error(),
                     "rec_sampler_create: positives: indices[16] = 9 is outside [0, 9)");
    static const int64_t dec[5] = { 0, 7, 6, 17, 20 };
    ck_assert_int_eq(rec_sampler_create_csr(&s, 4, 10, dec, U_ITEMS, NULL), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(),
                     "rec_sampler_create: positives: indptr decreases at row 1 (7 > 6)");
    ck_assert_int_eq(rec_sampler_create_csr(&s, 0, 10, U_PTR, U_ITEMS, NULL), REC_E_INVALID);
    ck_assert_int_eq(rec_sampler_create_csr(NULL, 4, 10, U_PTR, U_ITEMS, NULL), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_sampler_create: out is NULL");
    ck_assert_int_eq(rec_sampler_create(&s, NULL, NULL), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_sampler_create: dataset is NULL");
    ck_assert_ptr_null(s);

    s = mks(NULL);
    rec_rng r;
    rec_rng_seed(&r, 1);
    int32_t out[4];
    ck_assert_int_eq(rec_sampler_draw(s, &r, 4, 4, out), REC_E_RANGE);
    ck_assert_str_eq(rec_last_error(), "rec_sampler_draw: user 4 is outside [0, 4)");
    ck_assert_int_eq(rec_sampler_draw(s, &r, 0, -1, out), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_sampler_draw: n = -1 is negative");
    ck_assert_int_eq(rec_sampler_draw(s, NULL, 0, 1, out), REC_E_INVALID);
    ck_assert_int_eq(rec_sampler_draw(NULL, &r, 0, 1, out), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_sampler_draw: sampler is NULL");
    ck_assert_int_eq(rec_sampler_set_hard_list(s, U_PTR, U_ITEMS), REC_E_STATE);
    ck_assert_str_eq(rec_last_error(),
                     "rec_sampler_set_hard_list: the sampler's kind is not 'hard'");
    rec_sampler_destroy(s);
    s = mks((const char *const[]){ "kind=hard", NULL });
    static const int32_t badh[1] = { 12 };
    static const int64_t bp[5] = { 0, 1, 1, 1, 1 };
    ck_assert_int_eq(rec_sampler_set_hard_list(s, bp, badh), REC_E_RANGE);
    ck_assert_str_eq(rec_last_error(),
                     "rec_sampler_set_hard_list: hard list: indices[0] = 12 is outside [0, 10)");
    ck_assert_int_eq(rec_sampler_set_hard_fn(s, NULL, NULL), REC_E_INVALID);
    rec_sampler_destroy(s);
    rec_sampler_destroy(NULL);
}
END_TEST

START_TEST(sampler_from_dataset)
{
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    const char *rows[][2] = { { "a", "x" }, { "a", "y" }, { "b", "z" }, { "b", "x" } };
    for (int k = 0; k < 4; k++)
        ck_assert_int_eq(rec_dataset_add(d, rows[k][0], rows[k][1], 1.0f, 0), REC_OK);
    rec_sampler *s;
    ck_assert_int_eq(rec_sampler_create(&s, d, NULL), REC_OK);
    ck_assert_int_eq(rec_sampler_num_users(s), 2);
    ck_assert_int_eq(rec_sampler_num_items(s), 3);
    rec_rng r;
    rec_rng_seed(&r, 1);
    int32_t out[16];
    ck_assert_int_eq(rec_sampler_draw(s, &r, 0, 16, out), REC_OK);
    for (int k = 0; k < 16; k++)
        ck_assert_int_eq(out[k], 2); /* a saw x (0) and y (1) */
    rec_sampler_destroy(s);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(sampler_out_of_memory)
{
    const char *args[] = { "kind=popularity", NULL };
    rec_params *p = mkp(args);
    tu_alloc_install();
    int failures = 0;
    for (long n = 1;; n++) {
        long before = tu_alloc_count();
        tu_alloc_fail_at(n);
        rec_sampler *s = NULL;
        rec_status st = rec_sampler_create_csr(&s, 4, 10, U_PTR, U_ITEMS, p);
        tu_alloc_fail_at(0);
        if (st == REC_OK) { /* a failure it may absorb (shrinking), or none left */
            rec_sampler_destroy(s);
            ck_assert_int_eq(tu_alloc_live(), 0);
            if (tu_alloc_count() - before < n)
                break;
            continue;
        }
        failures++;
        ck_assert_int_eq(st, REC_E_NOMEM);
        ck_assert_ptr_null(s);
        ck_assert_int_eq(tu_alloc_live(), 0);
    }
    ck_assert_int_ge(failures, 5);
    ck_assert_int_eq(tu_alloc_live(), 0);
    tu_alloc_remove();
    rec_params_destroy(p);
}
END_TEST

/* ---- losses ------------------------------------------------------------------- */

static double sp(double z) { return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)); }

/* -log softmax(row)[t] in double. */
static double xent_row(const double *row, int n, int t)
{
    double m = row[0], s = 0;
    for (int k = 1; k < n; k++)
        m = row[k] > m ? row[k] : m;
    for (int k = 0; k < n; k++)
        s += exp(row[k] - m);
    return m + log(s) - row[t];
}

typedef struct loss_ctx {
    rec_pstore *ps;
    rec_tensor *a, *b, *c;
    float t, lambda;
    const float *logq, *logq2;
    int which;
} loss_ctx;

static rec_tensor *vec(rec_graph *g, const float *v, int64_t n)
{
    return v ? rec_tensor_from(g, v, 1, &n) : NULL;
}

static rec_tensor *build_loss(rec_graph *g, void *arg)
{
    loss_ctx *c = arg;
    switch (c->which) {
    case 0:
        return rec_loss_bce_negatives(g, c->a, c->b);
    case 1:
        return rec_loss_infonce(g, c->a, c->b, c->t, vec(g, c->logq, c->a->shape[0]));
    case 2:
        return rec_loss_sampled_softmax(g, c->a, c->b, c->c, vec(g, c->logq, c->a->shape[0]),
                                        vec(g, c->logq2, c->c->shape[0]), c->t);
    default:
        return rec_loss_mixed(g, c->lambda,
                              rec_loss_infonce(g, c->a, c->b, c->t, NULL),
                              rec_loss_bce_negatives(g, rec_rowdot(g, c->a, c->b),
                                                     rec_matmul(g, c->a, c->c, 0, 1)));
    }
}

static double eval(loss_ctx *c)
{
    rec_graph *g;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_tensor *l = build_loss(g, c);
    ck_assert_msg(l != NULL, "%s", rec_last_error());
    ck_assert_int_eq(l->n, 1);
    double v = l->v[0];
    rec_graph_destroy(g);
    return v;
}

static rec_tensor *param(rec_pstore *ps, const char *name, int64_t r, int64_t c, const float *v)
{
    int64_t s[2] = { r, c };
    rec_tensor *t = rec_pstore_add(ps, name, 2, s, 0);
    ck_assert_ptr_nonnull(t);
    memcpy(t->v, v, (size_t)(r * c) * sizeof *v);
    return t;
}

START_TEST(loss_bce_negatives)
{
    rec_pstore *ps;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    static const float pv[2] = { 1.0f, -2.0f }, nv[4] = { 0.5f, -1.0f, 2.0f, 0.0f };
    int64_t two = 2;
    rec_tensor *pos = rec_pstore_add(ps, "pos", 1, &two, 0);
    memcpy(pos->v, pv, sizeof pv);
    loss_ctx c = { ps, pos, param(ps, "neg", 2, 2, nv), NULL, 1, 0, NULL, NULL, 0 };
    double want = (sp(-1) + sp(0.5) + sp(-1) + sp(2) + sp(2) + sp(0)) / 2;
    ck_assert_float_near(eval(&c), want, 1e-6);
    tu_gradcheck(ps, build_loss, &c, 1e-3, 1e-4, 1e-3);
    /* large logits stay finite */
    pos->v[0] = 200.0f;
    c.b->v[0] = -200.0f;
    c.b->v[1] = 100.0f;
    ck_assert_float_near(eval(&c), (0 + 0 + 100 + sp(2) + sp(2) + sp(0)) / 2, 1e-4);
    rec_pstore_destroy(ps);
}
END_TEST

START_TEST(loss_infonce_by_hand)
{
    rec_pstore *ps;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    /* U V^T = [[1, 3], [2, 4]] */
    static const float uv[4] = { 1, 0, 0, 1 }, vv[4] = { 1, 2, 3, 4 };
    loss_ctx c = { ps, param(ps, "U", 2, 2, uv), param(ps, "V", 2, 2, vv), NULL, 0.5f, 0,
                   NULL, NULL, 1 };
    /* row 0: logits [2, 6], target 0; row 1: [4, 8], target 1 */
    double want = ((log(exp(2.0) + exp(6.0)) - 2) + (log(exp(4.0) + exp(8.0)) - 8)) / 2;
    ck_assert_float_near(eval(&c), want, 1e-5);
    /* log-Q shifts column j by -logq[j] exactly */
    static const float lq[2] = { -0.5f, -2.0f };
    c.logq = lq;
    double r0[2] = { 2 + 0.5, 6 + 2.0 }, r1[2] = { 4 + 0.5, 8 + 2.0 };
    ck_assert_float_near(eval(&c), (xent_row(r0, 2, 0) + xent_row(r1, 2, 1)) / 2, 1e-5);
    /* a constant log-Q changes nothing (softmax is shift-invariant) */
    static const float flat[2] = { -1.25f, -1.25f };
    c.logq = flat;
    ck_assert_float_near(eval(&c), want, 1e-5);
    c.logq = lq;
    tu_gradcheck(ps, build_loss, &c, 1e-2, 1e-4, 1e-2);
    rec_pstore_destroy(ps);

    /* a larger random case */
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    int64_t s[2] = { 5, 3 };
    c.a = rec_pstore_add(ps, "U", 2, s, 0);
    c.b = rec_pstore_add(ps, "V", 2, s, 0);
    tu_fill(c.a, 1, -1, 1);
    tu_fill(c.b, 2, -1, 1);
    static const float lq5[5] = { -1, -2, -0.5f, -3, -1.5f };
    c.logq = lq5;
    c.t = 0.5f;
    tu_gradcheck(ps, build_loss, &c, 1e-2, 2e-4, 2e-3);
    rec_pstore_destroy(ps);
}
END_TEST

START_TEST(loss_sampled_softmax_by_hand)
{
    rec_pstore *ps;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    static const float uv[4] = { 1, 2, -1, 0.5f }, pv[4] = { 0.5f, 1, 2, -1 },
                       nv[6] = { 1, 0, 0, 1, -1, -1 };
    loss_ctx c = { ps, param(ps, "U", 2, 2, uv), param(ps, "Vp", 2, 2, pv),
                   param(ps, "Vn", 3, 2, nv), 2.0f, 0, NULL, NULL, 2 };
    static const float lqp[2] = { -1, -2 }, lqn[3] = { -0.5f, -1.5f, -3 };
    for (int corr = 0; corr < 2; corr++) {
        c.logq = corr ? lqp : NULL;
        c.logq2 = corr ? lqn : NULL;
        double sum = 0;
        for (int b = 0; b < 2; b++) {
            double row[4];
            row[0] = (uv[2 * b] * pv[2 * b] + uv[2 * b + 1] * pv[2 * b + 1]) / 2.0 -
                     (corr ? lqp[b] : 0);
            for (int m = 0; m < 3; m++)
                row[1 + m] = (uv[2 * b] * nv[2 * m] + uv[2 * b + 1] * nv[2 * m + 1]) / 2.0 -
                             (corr ? lqn[m] : 0);
            sum += xent_row(row, 4, 0);
        }
        ck_assert_float_near(eval(&c), sum / 2, 1e-5);
        tu_gradcheck(ps, build_loss, &c, 1e-3, 1e-4, 1e-3);
    }
    rec_pstore_destroy(ps);
}
END_TEST

START_TEST(loss_mixed)
{
    rec_pstore *ps;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    static const float uv[4] = { 1, 2, -1, 0.5f }, pv[4] = { 0.5f, 1, 2, -1 },
                       nv[6] = { 1, 0, 0, 1, -1, -1 };
    loss_ctx c = { ps, param(ps, "U", 2, 2, uv), param(ps, "V", 2, 2, pv),
                   param(ps, "N", 3, 2, nv), 0.5f, 0.3f, NULL, NULL, 1 };
    double con = eval(&c);
    c.which = 3;
    c.lambda = 1.0f;
    ck_assert_float_near(eval(&c), con, 1e-6);
    c.lambda = 0.0f;
    double bce = eval(&c);
    c.lambda = 0.3f;
    ck_assert_float_near(eval(&c), 0.3 * con + 0.7 * bce, 1e-5);
    tu_gradcheck(ps, build_loss, &c, 1e-3, 1e-4, 1e-3);
    rec_pstore_destroy(ps);
}
END_TEST

/* RankNet: two groups, graded labels with a tie, one dropped item. */
typedef struct ranknet_ctx {
    rec_tensor *s;
    const float *lab, *w;
    const int32_t *off;
    int64_t n, ng;
} ranknet_ctx;

static rec_tensor *build_ranknet(rec_graph *g, void *arg)
{
    ranknet_ctx *c = arg;
    int64_t no = c->ng + 1;
    rec_tensor *off = rec_tensor_i32(g, no);
    if (off)
        memcpy(off->iv, c->off, (size_t)no * sizeof *off->iv);
    return rec_loss_ranknet(g, c->s, vec(g, c->lab, c->n), vec(g, c->w, c->n), off);
}

START_TEST(loss_ranknet_by_hand)
{
    rec_pstore *ps;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    /* group 0: items 0..3 with labels 2, 0, 1, 1 (items 2 and 3 tie);
     * group 1: items 4..6 with labels 1, 0, 0, item 6 dropped (weight 0) */
    static const float sv[7] = { 0.3f, 1.2f, -0.4f, 0.8f, -1.0f, 0.5f, 9.0f };
    static const float lab[7] = { 2, 0, 1, 1, 1, 0, 0 }, w1[7] = { 1, 1, 1, 1, 1, 1, 0 };
    static const int32_t off[3] = { 0, 4, 7 };
    int64_t seven = 7;
    rec_tensor *s = rec_pstore_add(ps, "s", 1, &seven, 0);
    memcpy(s->v, sv, sizeof sv);
    ranknet_ctx c = { s, lab, w1, off, 7, 2 };
    /* pairs (better, worse): (0,1) (0,2) (0,3) (2,1) (3,1) | (4,5); not (2,3), not 6 */
    double want = (sp(1.2 - 0.3) + sp(-0.4 - 0.3) + sp(0.8 - 0.3) + sp(1.2 + 0.4) +
                   sp(1.2 - 0.8) + sp(0.5 + 1.0)) / 6;
    rec_graph *g;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_tensor *l = build_ranknet(g, &c);
    ck_assert_ptr_nonnull(l);
    ck_assert_float_near(l->v[0], want, 1e-6);
    rec_graph_destroy(g);
    tu_gradcheck(ps, build_ranknet, &c, 1e-3, 1e-4, 1e-3);
    /* weights scale pairs: item 0 at weight 2 doubles its three pairs */
    static const float w2[7] = { 2, 1, 1, 1, 1, 1, 0 };
    c.w = w2;
    want = (2 * (sp(1.2 - 0.3) + sp(-0.4 - 0.3) + sp(0.8 - 0.3)) + sp(1.2 + 0.4) +
            sp(1.2 - 0.8) + sp(0.5 + 1.0)) / 9;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    l = build_ranknet(g, &c);
    ck_assert_float_near(l->v[0], want, 1e-6);
    rec_graph_destroy(g);
    tu_gradcheck(ps, build_ranknet, &c, 1e-3, 1e-4, 1e-3);
    /* no ordered pair (all labels equal): loss 0, gradient 0 */
    static const float flat[7] = { 1, 1, 1, 1, 1, 1, 1 };
    c.lab = flat;
    c.w = NULL;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    l = build_ranknet(g, &c);
    ck_assert_float_eq(l->v[0], 0.0f);
    rec_graph_destroy(g);
    tu_gradcheck(ps, build_ranknet, &c, 1e-3, 1e-6, 1e-3);
    rec_pstore_destroy(ps);

    /* a larger random case: 3 groups of 1 positive and 5 negatives, as dnn
     * builds them, plus large scores that must stay finite */
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    int64_t n18 = 18;
    s = rec_pstore_add(ps, "s", 1, &n18, 0);
    tu_fill(s, 3, -2, 2);
    float lab18[18] = { 0 };
    static const int32_t off3[4] = { 0, 6, 12, 18 };
    for (int k = 0; k < 3; k++)
        lab18[6 * k] = 1;
    ranknet_ctx c3 = { s, lab18, NULL, off3, 18, 3 };
    tu_gradcheck(ps, build_ranknet, &c3, 1e-3, 1e-4, 1e-3);
    s->v[0] = 300.0f;
    s->v[1] = -300.0f;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    l = build_ranknet(g, &c3);
    ck_assert(isfinite(l->v[0]));
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
}
END_TEST

START_TEST(loss_ranknet_errors)
{
    static const char *const want[] = {
        "rec_loss_ranknet: labels has 2 elements, scores 3",
        "rec_loss_ranknet: weight must be F32 with 3 elements (one per score)",
        "rec_loss_ranknet: offsets must be I32 [groups + 1]",
        "rec_loss_ranknet: offsets must run from 0 to 3 (the scores); they run from 0 to 2",
        "rec_loss_ranknet: offsets decrease at 2 (1 < 2)",
        "rec_loss_ranknet: scores is NULL",
    };
    for (int k = 0; k < 6; k++) {
        rec_graph *g;
        ck_assert_int_eq(rec_graph_create(&g), REC_OK);
        rec_tensor *s3 = rec_tensor_zeros(g, REC_F32, 1, (int64_t[]){ 3 });
        rec_tensor *s2 = rec_tensor_zeros(g, REC_F32, 1, (int64_t[]){ 2 });
        /* offsets {0, 1, 3}, or {0, 1, 2} (k 3), or {0, 2, 1, 3} (k 4) */
        rec_tensor *off = rec_tensor_i32(g, k == 4 ? 4 : 3);
        static const int32_t o3[3] = { 0, 1, 3 }, o3b[3] = { 0, 1, 2 }, o4[4] = { 0, 2, 1, 3 };
        memcpy(off->iv, k == 4 ? o4 : k == 3 ? o3b : o3, (size_t)off->n * sizeof *off->iv);
        rec_tensor *t = NULL;
        switch (k) {
        case 0: t = rec_loss_ranknet(g, s3, s2, NULL, off); break;
        case 1: t = rec_loss_ranknet(g, s3, s3, s2, off); break;
        case 2: t = rec_loss_ranknet(g, s3, s3, NULL, s3); break;
        case 3: t = rec_loss_ranknet(g, s3, s3, NULL, off); break;
        case 4: t = rec_loss_ranknet(g, s3, s3, NULL, off); break;
        default: t = rec_loss_ranknet(g, NULL, s3, NULL, off); break;
        }
        ck_assert_ptr_null(t);
        ck_assert_int_eq(rec_graph_status(g), REC_E_INVALID);
        ck_assert_str_eq(rec_last_error(), want[k]);
        rec_graph_destroy(g);
    }
}
END_TEST

START_TEST(loss_errors)
{
    rec_graph *g;
    rec_tensor *u, *v4, *p2, *q3;
    static const char *const want[] = {
        "rec_loss_infonce: temperature = 0, want a finite value > 0",
        "rec_loss_infonce: U and V must both be [B, d] (U has 6 elements, V 12)",
        "rec_loss_infonce: logq has 3 elements, want 2 (one per in-batch item)",
        "rec_loss_infonce: U is NULL",
        "rec_loss_bce_negatives: neg must be [B, N] with B = 3 (the elements of pos); it "
        "has 2 rows",
        "rec_loss_sampled_softmax: V_neg must be [M, d] with d = 3",
        "rec_loss_sampled_softmax: logq_neg has 2 elements, want 4 (one per negative)",
        "rec_loss_sampled_softmax: temperature = nan, want a finite value > 0",
        "rec_loss_mixed: lambda = 1.5 is outside [0, 1]",
        "rec_loss_mixed: both losses must be scalars ([1]); they have 2 and 2 elements",
    };
    for (int k = 0; k < 10; k++) {
        ck_assert_int_eq(rec_graph_create(&g), REC_OK);
        u = rec_tensor_zeros(g, REC_F32, 2, (int64_t[]){ 2, 3 });
        v4 = rec_tensor_zeros(g, REC_F32, 2, (int64_t[]){ 4, 3 });
        p2 = rec_tensor_zeros(g, REC_F32, 1, (int64_t[]){ 2 });
        q3 = rec_tensor_zeros(g, REC_F32, 1, (int64_t[]){ 3 });
        rec_tensor *t = NULL;
        switch (k) {
        case 0: t = rec_loss_infonce(g, u, u, 0.0f, NULL); break;
        case 1: t = rec_loss_infonce(g, u, v4, 1.0f, NULL); break;
        case 2: t = rec_loss_infonce(g, u, u, 1.0f, q3); break;
        case 3: t = rec_loss_infonce(g, NULL, u, 1.0f, NULL); break;
        case 4: t = rec_loss_bce_negatives(g, q3, u); break;
        case 5: t = rec_loss_sampled_softmax(g, u, u, p2, NULL, NULL, 1.0f); break;
        case 6: t = rec_loss_sampled_softmax(g, u, u, v4, NULL, p2, 1.0f); break;
        case 7: t = rec_loss_sampled_softmax(g, u, u, v4, NULL, NULL, NAN); break;
        case 8: t = rec_loss_mixed(g, 1.5f, p2, p2); break;
        default: t = rec_loss_mixed(g, 0.5f, p2, p2); break;
        }
        ck_assert_ptr_null(t);
        ck_assert_int_eq(rec_graph_status(g), REC_E_INVALID);
        ck_assert_str_eq(rec_last_error(), want[k]);
        rec_graph_destroy(g);
    }
    ck_assert_ptr_null(rec_loss_infonce(NULL, NULL, NULL, 1.0f, NULL));
    ck_assert_str_eq(rec_last_error(), "rec_loss_infonce: graph is NULL");
}
END_TEST

/* ---- trainer ---------------------------------------------------------------
 * A toy BPR model: P [4, 3] (row-sparse gradient), Q [10, 3] (dense), Adam,
 * one uniform negative per example from the sampler, 20 examples (u2 has
 * seen every item, so its negatives are padding). */

typedef struct toy {
    rec_pstore *ps;
    rec_tensor *P, *Q;
    rec_optim *opt;
    rec_graph *g;
    rec_sampler *smp;
    int32_t us[20], is[20];
    const double *script;   /* validation metrics by epoch, or NULL */
    int keep_epoch;         /* copy the params when validating this epoch */
    float kept[42];
    int steps, validations;
    int nan_at;             /* step that returns NaN (0 = none) */
} toy;

static void toy_init(toy *t, unsigned seed, const char *optim)
{
    memset(t, 0, sizeof *t);
    ck_assert_int_eq(rec_pstore_create(&t->ps), REC_OK);
    int64_t ps[2] = { 4, 3 }, qs[2] = { 10, 3 };
    t->P = rec_pstore_add(t->ps, "P", 2, ps, REC_T_SPARSE);
    t->Q = rec_pstore_add(t->ps, "Q", 2, qs, 0);
    ck_assert_ptr_nonnull(t->Q);
    tu_fill(t->P, seed, -0.5f, 0.5f);
    tu_fill(t->Q, seed + 100, -0.5f, 0.5f);
    rec_params *p = mkp((const char *const[]){ "lr=0.05", NULL });
    ck_assert_int_eq(rec_optim_create(&t->opt, optim, p, t->ps), REC_OK);
    rec_params_destroy(p);
    ck_assert_int_eq(rec_graph_create(&t->g), REC_OK);
    t->smp = mks(NULL);
    for (int u = 0, k = 0; u < 4; u++)
        for (int64_t e = U_PTR[u]; e < U_PTR[u + 1]; e++, k++) {
            t->us[k] = u;
            t->is[k] = U_ITEMS[e];
        }
}

static void toy_free(toy *t)
{
    rec_sampler_destroy(t->smp);
    rec_graph_destroy(t->g);
    rec_optim_destroy(t->opt);
    rec_pstore_destroy(t->ps);
}

static void toy_params(const toy *t, float *out)
{
    memcpy(out, t->P->v, 12 * sizeof *out);
    memcpy(out + 12, t->Q->v, 30 * sizeof *out);
}

static rec_status toy_step(void *ctx, const rec_batch *b, rec_rng *rng, double *loss)
{
    toy *t = ctx;
    rec_graph *g = t->g;
    rec_graph_reset(g);
    t->steps++;
    ck_assert_ptr_nonnull(b->rows);
    rec_tensor *tu = rec_tensor_i32(g, b->n), *ti = rec_tensor_i32(g, b->n),
               *tj = rec_tensor_i32(g, b->n);
    if (!tj)
        return rec_graph_status(g);
    for (int64_t k = 0; k < b->n; k++) {
        int32_t r = b->rows[k];
        tu->iv[k] = t->us[r];
        ti->iv[k] = t->is[r];
        REC_TRY(rec_sampler_draw(t->smp, rng, t->us[r], 1, tj->iv + k));
    }
    rec_tensor *U = rec_gather(g, t->P, tu, -1);
    rec_tensor *l = rec_bpr(g, rec_rowdot(g, U, rec_gather(g, t->Q, ti, -1)),
                            rec_rowdot(g, U, rec_gather(g, t->Q, tj, -1)));
    if (!l)
        return rec_graph_status(g);
    *loss = t->nan_at == t->steps ? NAN : l->v[0];
    REC_TRY(rec_backward(g, l));
    return rec_optim_step(t->opt);
}

static rec_status toy_validate(void *ctx, int epoch, double *metric)
{
    toy *t = ctx;
    t->validations++;
    if (epoch == t->keep_epoch)
        toy_params(t, t->kept);
    if (t->script) {
        *metric = t->script[epoch - 1];
        return REC_OK;
    }
    double s = 0; /* mean positive score */
    for (int k = 0; k < 20; k++)
        for (int d = 0; d < 3; d++)
            s += (double)t->P->v[t->us[k] * 3 + d] * t->Q->v[t->is[k] * 3 + d];
    *metric = s / 20;
    return REC_OK;
}

static const rec_trainer_vt TOY_VT = { .n_examples = 20, .step = toy_step,
                                       .validate = toy_validate };

typedef struct prog {
    int calls, cancel_at;
    int epochs[16];
    double loss[16];
} prog;

static int on_progress(void *user, int epoch, int epochs, double loss)
{
    prog *p = user;
    ck_assert_int_lt(p->calls, 16);
    p->epochs[p->calls] = epoch;
    p->loss[p->calls++] = loss;
    (void)epochs;
    return epoch == p->cancel_at;
}

static rec_status run(toy *t, const char *const *kv, prog *pg, rec_train_result *res)
{
    rec_params *p = mkp(kv);
    rec_status st = rec_trainer_run(p, &TOY_VT, t, t->ps, t->opt, pg ? on_progress : NULL, pg,
                                    res);
    rec_params_destroy(p);
    return st;
}

START_TEST(trainer_early_stopping)
{
    static const double script[10] = { 0.1, 0.5, 0.3, 0.2, 0.4, 0.9, 0.9, 0.9, 0.9, 0.9 };
    toy t;
    toy_init(&t, 1, "adam");
    t.script = script;
    t.keep_epoch = 2;
    prog pg = { 0, 0, { 0 }, { 0 } };
    rec_train_result res;
    char path[512], arg[600];
    snprintf(path, sizeof path, "%s", tu_tmp_path("early.ckpt"));
    snprintf(arg, sizeof arg, "checkpoint=%s", path);
    remove(path);
    const char *kv[] = { "epochs=10", "batch=6", "patience=2", arg, "checkpoint_every=3",
                         "resume=true", NULL };
    ck_assert_msg(run(&t, kv, &pg, &res) == REC_OK, "%s", rec_last_error());
    ck_assert_int_eq(res.epochs_run, 4);
    ck_assert_int_eq(res.stopped_early, 1);
    ck_assert_int_eq(res.best_epoch, 2);
    ck_assert_double_eq(res.best_metric, 0.5);
    ck_assert_int_eq(t.validations, 4);
    ck_assert_int_eq(t.steps, 4 * 4); /* ceil(20 / 6) batches per epoch */
    ck_assert_int_eq(pg.calls, 4);
    for (int e = 0; e < 4; e++) {
        ck_assert_int_eq(pg.epochs[e], e + 1);
        ck_assert(isfinite(pg.loss[e]) && pg.loss[e] > 0);
    }
    ck_assert_double_eq(res.last_loss, pg.loss[3]);
    float now[42];
    toy_params(&t, now);
    ck_assert_mem_eq(now, t.kept, sizeof now); /* restored to epoch 2 */
    float best2[42];
    memcpy(best2, t.kept, sizeof best2);
    toy_free(&t);
    /* the early stop was checkpointed (epoch 4, off the every-3 grid): resuming
     * runs nothing and ends on the same best params */
    toy_init(&t, 9, "adam");
    t.script = script;
    ck_assert_int_eq(run(&t, kv, NULL, &res), REC_OK);
    ck_assert_int_eq(res.resumed_from, 4);
    ck_assert_int_eq(res.stopped_early, 1);
    ck_assert_int_eq(t.steps, 0);
    toy_params(&t, now);
    ck_assert_mem_eq(now, best2, sizeof now);
    toy_free(&t);
    remove(path);

    /* lower is better; a late improvement resets the patience */
    static const double down[5] = { 0.5, 0.3, 0.4, 0.35, 0.2 };
    toy_init(&t, 1, "adam");
    t.script = down;
    t.keep_epoch = 5;
    const char *kv2[] = { "epochs=5", "patience=3", "metric_mode=min", NULL };
    ck_assert_int_eq(run(&t, kv2, NULL, &res), REC_OK);
    ck_assert_int_eq(res.epochs_run, 5);
    ck_assert_int_eq(res.stopped_early, 0);
    ck_assert_int_eq(res.best_epoch, 5);
    toy_params(&t, now);
    ck_assert_mem_eq(now, t.kept, sizeof now);
    toy_free(&t);

    /* restore_best=false keeps the last params */
    toy_init(&t, 1, "adam");
    t.script = script;
    t.keep_epoch = 4;
    const char *kv3[] = { "epochs=4", "restore_best=false", NULL };
    ck_assert_int_eq(run(&t, kv3, NULL, &res), REC_OK);
    ck_assert_int_eq(res.best_epoch, 2);
    toy_params(&t, now);
    ck_assert_mem_eq(now, t.kept, sizeof now);
    toy_free(&t);
}
END_TEST

START_TEST(trainer_progress_and_cancel)
{
    toy t;
    toy_init(&t, 1, "adam");
    prog pg = { 0, 2, { 0 }, { 0 } };
    rec_train_result res;
    const char *kv[] = { "epochs=5", "batch=20", "validate_every=0", NULL };
    ck_assert_int_eq(run(&t, kv, &pg, &res), REC_E_CANCELLED);
    ck_assert_str_eq(rec_last_error(), "rec_trainer_run: cancelled at epoch 2");
    ck_assert_int_eq(pg.calls, 2);
    ck_assert_int_eq(t.steps, 2);
    ck_assert_int_eq(t.validations, 0);
    ck_assert_int_eq(res.epochs_run, 2);
    ck_assert_int_eq(res.best_epoch, 0);
    ck_assert(isnan(res.best_metric));
    ck_assert_int_eq(rec_optim_steps(t.opt), 2);
    toy_free(&t);

    /* a non-finite loss stops the run */
    toy_init(&t, 1, "adam");
    t.nan_at = 3;
    const char *kv2[] = { "epochs=2", "batch=10", NULL };
    ck_assert_int_eq(run(&t, kv2, NULL, NULL), REC_E_RANGE);
    ck_assert_str_eq(rec_last_error(), "rec_trainer_run: the loss is nan at epoch 2, batch 0");
    toy_free(&t);
}
END_TEST

START_TEST(trainer_checkpoint_resume)
{
    char path[512], arg[600];
    snprintf(path, sizeof path, "%s", tu_tmp_path("train.ckpt"));
    snprintf(arg, sizeof arg, "checkpoint=%s", path);
    remove(path);
    rec_train_result res;

    toy a;
    toy_init(&a, 1, "adam");
    const char *straight[] = { "epochs=4", "batch=6", "seed=5", NULL };
    ck_assert_int_eq(run(&a, straight, NULL, &res), REC_OK);
    int best_epoch = res.best_epoch;
    ck_assert_int_ge(best_epoch, 1);

    toy b;
    toy_init(&b, 1, "adam");
    const char *first[] = { "epochs=2", "batch=6", "seed=5", arg, NULL };
    ck_assert_int_eq(run(&b, first, NULL, &res), REC_OK);
    ck_assert_int_eq(res.epochs_run, 2);
    toy_free(&b);

    toy c; /* different init: everything must come from the file */
    toy_init(&c, 9, "adam");
    const char *rest[] = { "epochs=4", "batch=6", "seed=5", arg, "resume=true", NULL };
    ck_assert_msg(run(&c, rest, NULL, &res) == REC_OK, "%s", rec_last_error());
    ck_assert_int_eq(res.resumed_from, 2);
    ck_assert_int_eq(res.epochs_run, 4);
    ck_assert_int_eq(res.best_epoch, best_epoch);
    ck_assert_int_eq(c.steps, 2 * 4);
    float pa[42], pc[42];
    toy_params(&a, pa);
    toy_params(&c, pc);
    ck_assert_mem_eq(pa, pc, sizeof pa);
    ck_assert_int_eq(rec_optim_steps(c.opt), rec_optim_steps(a.opt));
    ck_assert_int_eq(rec_optim_state_count(c.opt), rec_optim_state_count(a.opt));
    for (size_t i = 0; i < rec_optim_state_count(a.opt); i++) {
        rec_optim_state sa, sc;
        ck_assert_int_eq(rec_optim_state_at(a.opt, i, &sa), REC_OK);
        ck_assert_int_eq(rec_optim_state_at(c.opt, i, &sc), REC_OK);
        ck_assert_mem_eq(sa.v, sc.v, (size_t)sa.n * sizeof(float));
        ck_assert_int_eq(*sa.step, *sc.step);
    }
    toy_free(&c);

    /* the file is an .lrm with the best metric in its metadata */
    rec_lrm_reader *r;
    ck_assert_int_eq(rec_lrm_open(path, &r), REC_OK);
    ck_assert_str_eq(rec_lrm_kind(r), "checkpoint");
    const char *v;
    ck_assert_int_eq(rec_lrm_meta(r, "metrics.metric", &v), REC_OK);
    ck_assert_int_eq(rec_lrm_meta(r, "optim.kind", &v), REC_OK);
    ck_assert_str_eq(v, "adam");
    rec_lrm_close(r);

    /* resuming a finished run changes nothing and runs no step */
    toy_init(&c, 9, "adam");
    ck_assert_int_eq(run(&c, rest, NULL, &res), REC_OK);
    ck_assert_int_eq(c.steps, 0);
    toy_params(&c, pc);
    ck_assert_mem_eq(pa, pc, sizeof pa);
    toy_free(&c);

    /* a missing file starts afresh and equals the straight run */
    remove(path);
    toy_init(&c, 1, "adam");
    ck_assert_int_eq(run(&c, rest, NULL, &res), REC_OK);
    ck_assert_int_eq(res.resumed_from, 0);
    toy_params(&c, pc);
    ck_assert_mem_eq(pa, pc, sizeof pa);
    toy_free(&c);
    toy_free(&a);
    remove(path);
}
END_TEST

static void write_file(const char *path, const unsigned char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    fclose(f);
}

START_TEST(trainer_bad_checkpoint)
{
    char path[512], arg[600];
    snprintf(path, sizeof path, "%s", tu_tmp_path("bad.ckpt"));
    snprintf(arg, sizeof arg, "checkpoint=%s", path);
    remove(path);
    toy t;
    toy_init(&t, 1, "adam");
    const char *first[] = { "epochs=1", arg, NULL };
    ck_assert_int_eq(run(&t, first, NULL, NULL), REC_OK);
    toy_free(&t);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    static unsigned char img[1 << 16];
    size_t n = fread(img, 1, sizeof img, f);
    fclose(f);
    ck_assert_uint_gt(n, 256);
    ck_assert_uint_lt(n, sizeof img);

    const char *rest[] = { "epochs=3", arg, "resume=true", NULL };
    float before[42], after[42];
    for (int mode = 0; mode < 3; mode++) {
        if (mode == 0) { /* a flipped byte in the data */
            img[n / 2] ^= 0x40;
            write_file(path, img, n);
            img[n / 2] ^= 0x40;
        } else if (mode == 1) { /* truncated */
            write_file(path, img, n - 70);
        } else { /* saved by another model */
            write_file(path, (const unsigned char *)"LRECMDL", 8);
        }
        toy_init(&t, 9, "adam");
        toy_params(&t, before);
        ck_assert_int_eq(run(&t, rest, NULL, NULL), REC_E_FORMAT);
        ck_assert_ptr_nonnull(strstr(rec_last_error(), path));
        ck_assert_int_eq(t.steps, 0);
        toy_params(&t, after);
        ck_assert_mem_eq(before, after, sizeof before);
        ck_assert_int_eq(rec_optim_steps(t.opt), 0);
        toy_free(&t);
    }
    /* intact file, other optimizer */
    write_file(path, img, n);
    toy_init(&t, 9, "adagrad");
    ck_assert_int_eq(run(&t, rest, NULL, NULL), REC_E_FORMAT);
    char want[700];
    snprintf(want, sizeof want, "%s: saved with optimizer 'adam', resumed with 'adagrad'", path);
    ck_assert_str_eq(rec_last_error(), want);
    toy_free(&t);
    remove(path);
}
END_TEST

typedef struct mb_ctx {
    int seen[3][5];
    int epoch, k;
} mb_ctx;

static rec_status mb_make(void *ctx, int epoch, rec_rng *rng, int64_t *nb)
{
    mb_ctx *c = ctx;
    c->epoch = epoch;
    c->k = 0;
    *nb = 5;
    (void)rng;
    return REC_OK;
}

static rec_status mb_step(void *ctx, const rec_batch *b, rec_rng *rng, double *loss)
{
    mb_ctx *c = ctx;
    ck_assert_ptr_null(b->rows);
    c->seen[c->epoch - 1][c->k++] = (int)b->index;
    *loss = 1.0;
    (void)rng;
    return REC_OK;
}

START_TEST(trainer_model_batches)
{
    mb_ctx c;
    memset(&c, 0, sizeof c);
    rec_trainer_vt vt = { .make_batches = mb_make, .step = mb_step };
    rec_pstore *ps;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    rec_optim *o;
    ck_assert_int_eq(rec_optim_create(&o, "sgd", NULL, ps), REC_OK);
    rec_params *p = mkp((const char *const[]){ "epochs=3", NULL });
    rec_train_result res;
    ck_assert_int_eq(rec_trainer_run(p, &vt, &c, ps, o, NULL, NULL, &res), REC_OK);
    ck_assert_double_eq(res.last_loss, 1.0);
    int differ = 0;
    for (int e = 0; e < 3; e++) {
        int hit[5] = { 0 };
        for (int k = 0; k < 5; k++)
            hit[c.seen[e][k]]++;
        for (int k = 0; k < 5; k++)
            ck_assert_int_eq(hit[k], 1);
        differ |= memcmp(c.seen[e], c.seen[0], sizeof c.seen[0]) != 0;
    }
    ck_assert(differ);
    rec_params_destroy(p);
    rec_optim_destroy(o);
    rec_pstore_destroy(ps);
}
END_TEST

/* begin_epoch runs once before each epoch's steps, resumed epochs excluded;
 * an error from it stops the run. */
typedef struct be_ctx {
    int calls, steps, steps_at[8], fail_at;
} be_ctx;

static rec_status be_begin(void *ctx, int epoch)
{
    be_ctx *c = ctx;
    ck_assert_int_lt(c->calls, 8);
    ck_assert_int_eq(epoch, c->calls + 1);
    c->steps_at[c->calls++] = c->steps;
    if (epoch == c->fail_at)
        return rec_err(REC_E_STATE, "be_begin: refused epoch %d", epoch);
    return REC_OK;
}

static rec_status be_step(void *ctx, const rec_batch *b, rec_rng *rng, double *loss)
{
    be_ctx *c = ctx;
    c->steps++;
    *loss = (double)b->n;
    (void)rng;
    return REC_OK;
}

START_TEST(trainer_begin_epoch)
{
    rec_trainer_vt vt = { .n_examples = 10, .step = be_step, .begin_epoch = be_begin };
    rec_pstore *ps;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    rec_optim *o;
    ck_assert_int_eq(rec_optim_create(&o, "sgd", NULL, ps), REC_OK);
    rec_params *p = mkp((const char *const[]){ "epochs=3", "batch=4", NULL });
    be_ctx c = { 0, 0, { 0 }, 0 };
    ck_assert_int_eq(rec_trainer_run(p, &vt, &c, ps, o, NULL, NULL, NULL), REC_OK);
    ck_assert_int_eq(c.calls, 3);
    for (int e = 0; e < 3; e++)
        ck_assert_int_eq(c.steps_at[e], 3 * e); /* ceil(10 / 4) steps per epoch */
    c = (be_ctx){ 0, 0, { 0 }, 2 };
    ck_assert_int_eq(rec_trainer_run(p, &vt, &c, ps, o, NULL, NULL, NULL), REC_E_STATE);
    ck_assert_str_eq(rec_last_error(), "be_begin: refused epoch 2");
    ck_assert_int_eq(c.steps, 3);
    rec_params_destroy(p);
    rec_optim_destroy(o);
    rec_pstore_destroy(ps);
}
END_TEST

START_TEST(trainer_errors)
{
    toy t;
    toy_init(&t, 1, "adam");
    rec_trainer_vt vt = TOY_VT;
    ck_assert_int_eq(rec_trainer_run(NULL, NULL, &t, t.ps, t.opt, NULL, NULL, NULL),
                     REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_trainer_run: callbacks (vt) is NULL");
    ck_assert_int_eq(rec_trainer_run(NULL, &vt, &t, NULL, t.opt, NULL, NULL, NULL),
                     REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_trainer_run: parameter store is NULL");
    ck_assert_int_eq(rec_trainer_run(NULL, &vt, &t, t.ps, NULL, NULL, NULL, NULL),
                     REC_E_INVALID);
    vt.step = NULL;
    ck_assert_int_eq(rec_trainer_run(NULL, &vt, &t, t.ps, t.opt, NULL, NULL, NULL),
                     REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_trainer_run: vt->step is NULL");
    vt = TOY_VT;
    vt.n_examples = 0;
    ck_assert_int_eq(rec_trainer_run(NULL, &vt, &t, t.ps, t.opt, NULL, NULL, NULL),
                     REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_trainer_run: vt->n_examples = 0, want 1 .. 2^31-1 "
                     "(or a make_batches callback)");
    ck_assert_int_eq(run(&t, (const char *const[]){ "epochs=0", NULL }, NULL, NULL),
                     REC_E_RANGE);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "epochs"));
    ck_assert_int_eq(run(&t, (const char *const[]){ "dim=3", NULL }, NULL, NULL),
                     REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "dim"));
    ck_assert_int_eq(run(&t, (const char *const[]){ "metric_mode=up", NULL }, NULL, NULL),
                     REC_E_INVALID);
    ck_assert_int_eq(run(&t, (const char *const[]){ "resume=true", NULL }, NULL, NULL),
                     REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_trainer_run: 'resume' needs a 'checkpoint' path");
    ck_assert_int_eq(run(&t, (const char *const[]){ "patience=2", "validate_every=0", NULL },
                         NULL, NULL),
                     REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_trainer_run: 'patience' needs a validate callback "
                     "and 'validate_every' >= 1");
    ck_assert_int_eq(t.steps, 0);
    /* a checkpoint that cannot be written */
    ck_assert_int_eq(run(&t, (const char *const[]){ "epochs=1",
                                                    "checkpoint=/nonexistent-dir/x.ckpt", NULL },
                         NULL, NULL),
                     REC_E_IO);
    size_t n;
    ck_assert_ptr_nonnull(rec_trainer_spec(&n));
    ck_assert_uint_eq(n, 11);
    ck_assert_ptr_nonnull(rec_sampler_spec(&n));
    ck_assert_uint_eq(n, 5);
    toy_free(&t);
}
END_TEST

START_TEST(trainer_out_of_memory)
{
    char path[512], arg[600];
    snprintf(path, sizeof path, "%s", tu_tmp_path("oom.ckpt"));
    snprintf(arg, sizeof arg, "checkpoint=%s", path);
    const char *kv[] = { "epochs=2", "batch=10", arg, "resume=true", NULL };
    /* a checkpoint at epoch 1 to resume from */
    toy t;
    toy_init(&t, 1, "adam");
    remove(path);
    ck_assert_int_eq(run(&t, (const char *const[]){ "epochs=1", "batch=10", arg, NULL }, NULL,
                         NULL),
                     REC_OK);
    toy_free(&t);
    rec_params *p = mkp(kv);
    tu_alloc_install();
    int failures = 0;
    for (long n = 1;; n++) {
        tu_alloc_fail_at(0);
        toy_init(&t, 1, "adam");
        /* the checkpoint is rewritten by a successful run: restore it */
        tu_alloc_fail_at(n);
        rec_status st = rec_trainer_run(p, &TOY_VT, &t, t.ps, t.opt, NULL, NULL, NULL);
        tu_alloc_fail_at(0);
        toy_free(&t);
        ck_assert_int_eq(tu_alloc_live(), 0);
        if (st == REC_OK)
            break;
        failures++;
        ck_assert_msg(st == REC_E_NOMEM, "allocation %ld: %s", n, rec_last_error());
    }
    ck_assert_int_ge(failures, 3);
    tu_alloc_remove();
    rec_params_destroy(p);
    remove(path);
}
END_TEST

Suite *rec_train_suite(void)
{
    Suite *s = suite_create("train");
    TCase *c = tcase_create("sampler");
    tcase_add_test(c, sampler_uniform_rejects_positives);
    tcase_add_test(c, sampler_popularity_matches_alpha);
    tcase_add_test(c, sampler_popularity_unseen_items);
    tcase_add_test(c, sampler_hard_list);
    tcase_add_test(c, sampler_hard_callback);
    tcase_add_test(c, sampler_deterministic);
    tcase_add_test(c, sampler_errors);
    tcase_add_test(c, sampler_from_dataset);
    tcase_add_test(c, sampler_out_of_memory);
    suite_add_tcase(s, c);
    c = tcase_create("loss");
    tcase_add_test(c, loss_bce_negatives);
    tcase_add_test(c, loss_infonce_by_hand);
    tcase_add_test(c, loss_sampled_softmax_by_hand);
    tcase_add_test(c, loss_mixed);
    tcase_add_test(c, loss_errors);
    tcase_add_test(c, loss_ranknet_by_hand);
    tcase_add_test(c, loss_ranknet_errors);
    suite_add_tcase(s, c);
    c = tcase_create("trainer");
    tcase_add_test(c, trainer_early_stopping);
    tcase_add_test(c, trainer_progress_and_cancel);
    tcase_add_test(c, trainer_checkpoint_resume);
    tcase_add_test(c, trainer_bad_checkpoint);
    tcase_add_test(c, trainer_model_batches);
    tcase_add_test(c, trainer_begin_epoch);
    tcase_add_test(c, trainer_errors);
    tcase_add_test(c, trainer_out_of_memory);
    tcase_set_timeout(c, 60);
    suite_add_tcase(s, c);
    return s;
}
