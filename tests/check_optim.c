/* Optimizers: each kind's update against hand-computed values, weight decay,
 * clipping, schedules, lazy sparse updates and coalescing, convergence,
 * thread-count independence, bad params and out-of-memory paths. */
#include "testutil.h"
#include "train/train-impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------ */

static rec_params *mkp(const char *const *kv)
{
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    for (; kv && *kv; kv++)
        ck_assert_int_eq(rec_params_parse(p, *kv), REC_OK);
    return p;
}

static rec_optim *mkopt(const char *kind, rec_pstore *ps, const char *const *kv)
{
    rec_params *p = mkp(kv);
    rec_optim *o;
    ck_assert_msg(rec_optim_create(&o, kind, p, ps) == REC_OK, "%s", rec_last_error());
    rec_params_destroy(p);
    return o;
}

static rec_tensor *dense1(rec_pstore *ps, const char *name, int64_t n, const float *v)
{
    rec_tensor *t = rec_pstore_add(ps, name, 1, &n, 0);
    ck_assert_ptr_nonnull(t);
    if (v)
        memcpy(t->v, v, (size_t)n * sizeof *v);
    return t;
}

static rec_tensor *table(rec_pstore *ps, const char *name, int64_t rows, int64_t cols)
{
    int64_t s[2] = { rows, cols };
    rec_tensor *t = rec_pstore_add(ps, name, 2, s, REC_T_SPARSE);
    ck_assert_ptr_nonnull(t);
    return t;
}

/* A rowgrad chunk copied into the graph arena. */
static void push(rec_graph *g, rec_tensor *t, int64_t n, const int32_t *rows, const float *vals)
{
    int64_t d = rec_cols(t);
    int32_t *r = rec_graph_alloc(g, (size_t)n * sizeof *r);
    float *v = rec_graph_alloc(g, (size_t)(n * d) * sizeof *v);
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_nonnull(v);
    memcpy(r, rows, (size_t)n * sizeof *r);
    memcpy(v, vals, (size_t)(n * d) * sizeof *v);
    rec_rowgrad_push(g, t, n, r, v);
    ck_assert_int_eq(rec_graph_status(g), REC_OK);
}

static float *state_of(rec_optim *o, const char *param, const char *slot)
{
    size_t n = rec_optim_state_count(o);
    for (size_t i = 0; i < n; i++) {
        rec_optim_state s;
        ck_assert_int_eq(rec_optim_state_at(o, i, &s), REC_OK);
        if (!strcmp(s.param, param) && !strcmp(s.slot, slot))
            return s.v;
    }
    ck_abort_msg("no state %s.%s", param, slot);
    return NULL;
}

/* PyTorch's Adam/AdamW on one element in double, for the references. */
typedef struct ref_adam {
    double w, m, v;
} ref_adam;

static void ref_adam_step(ref_adam *r, double g, int t, double lr, double b1, double b2,
                          double eps, double wd, int decoupled)
{
    if (decoupled)
        r->w *= 1.0 - lr * wd;
    else
        g += wd * r->w;
    r->m = b1 * r->m + (1 - b1) * g;
    r->v = b2 * r->v + (1 - b2) * g * g;
    double step = lr / (1 - pow(b1, t));
    r->w -= step * r->m / (sqrt(r->v) / sqrt(1 - pow(b2, t)) + eps);
}

/* ---- SGD ------------------------------------------------------------------------ */

START_TEST(sgd_plain_and_weight_decay)
{
    rec_pstore *ps;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    const float w0[3] = { 1, 2, -3 }, g0[3] = { 0.5f, -1, 2 };
    rec_tensor *w = dense1(ps, "w", 3, w0);
    memcpy(w->g, g0, sizeof g0);
    rec_optim *o = mkopt("sgd", ps, (const char *const[]){ "lr=0.1", NULL });
    ck_assert_int_eq(rec_optim_step(o), REC_OK);
    ck_assert_float_near(w->v[0], 0.95, 1e-7);
    ck_assert_float_near(w->v[1], 2.1, 1e-6);
    ck_assert_float_near(w->v[2], -3.2, 1e-6);
    for (int i = 0; i < 3; i++)
        ck_assert_float_eq(w->g[i], 0.0f); /* dense grads zeroed by the step */
    ck_assert_int_eq(rec_optim_steps(o), 1);
    ck_assert_uint_eq(rec_optim_state_count(o), 0); /* no momentum, no state */
    rec_optim_destroy(o);

    /* L2 weight decay: g + wd * w. */
    memcpy(w->v, w0, sizeof w0);
    memcpy(w->g, g0, sizeof g0);
    o = mkopt("sgd", ps, (const char *const[]){ "lr=0.1", "weight_decay=0.5", NULL });
    ck_assert_int_eq(rec_optim_step(o), REC_OK);
    ck_assert_float_near(w->v[0], 1 - 0.1 * (0.5 + 0.5), 1e-6);  /* 0.9 */
    ck_assert_float_near(w->v[1], 2 - 0.1 * (-1 + 1.0), 1e-6);   /* 2.0 */
    ck_assert_float_near(w->v[2], -3 - 0.1 * (2 - 1.5), 1e-6);   /* -3.05 */
    rec_optim_destroy(o);
    rec_pstore_destroy(ps);
}
END_TEST

START_TEST(sgd_momentum_and_nesterov)
{
    for (int nesterov = 0; nesterov <= 1; nesterov++) {
        rec_pstore *ps;
        ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
        const float w0[2] = { 1, -1 };
        rec_tensor *w = dense1(ps, "w", 2, w0);
        rec_optim *o = mkopt("sgd", ps,
                             (const char *const[]){ "lr=0.1", "momentum=0.9",
                                                    nesterov ? "nesterov=true" : "nesterov=false",
                                                    NULL });
        /* Same gradient g twice.  Plain: buf = g, 1.9 g; moves g, 1.9 g.
         * Nesterov: moves g + 0.9 g = 1.9 g, then g + 0.9 * 1.9 g = 2.71 g. */
        double mv1 = nesterov ? 1.9 : 1.0, mv2 = nesterov ? 2.71 : 1.9;
        for (int s = 0; s < 2; s++) {
            w->g[0] = 2;
            w->g[1] = -4;
            ck_assert_int_eq(rec_optim_step(o), REC_OK);
        }
        ck_assert_float_near(w->v[0], 1 - 0.1 * 2 * (mv1 + mv2), 1e-6);
        ck_assert_float_near(w->v[1], -1 + 0.1 * 4 * (mv1 + mv2), 1e-6);
        float *buf = state_of(o, "w", "momentum_buffer");
        ck_assert_float_near(buf[0], 2 * 1.9, 1e-6);
        ck_assert_float_near(buf[1], -4 * 1.9, 1e-6);
        rec_optim_destroy(o);
        rec_pstore_destroy(ps);
    }
}
END_TEST

/* ---- Adam, AdamW, Adagrad ---------------------------------------------------------- */

START_TEST(adam_first_step_is_lr_times_sign)
{
    rec_pstore *ps;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    const float w0[3] = { 1, 1, 1 }, g0[3] = { 0.5f, -3, 1e-3f };
    rec_tensor *w = dense1(ps, "w", 3, w0);
    memcpy(w->g, g0, sizeof g0);
    rec_optim *o = mkopt("adam", ps, (const char *const[]){ "lr=0.1", NULL });
    ck_assert_float_near(rec_optim_lr(o), 0.1, 1e-12);
    ck_assert_int_eq(rec_optim_step(o), REC_OK);
    /* m^ = g and v^ = g^2 after bias correction: w -= lr * g / (|g| + eps). */
    ck_assert_float_near(w->v[0], 0.9, 1e-6);
    ck_assert_float_near(w->v[1], 1.1, 1e-6);
    ck_assert_float_near(w->v[2], 1 - 0.1 * 1e-3 / (1e-3 + 1e-8), 1e-6);
    ck_assert_float_near(state_of(o, "w", "exp_avg")[0], 0.05, 1e-7);     /* 0.1 * 0.5 */
    ck_assert_float_near(state_of(o, "w", "exp_avg_sq")[1], 0.009, 1e-8); /* 0.001 * 9 */
    rec_optim_destroy(o);
    rec_pstore_destroy(ps);
}
END_TEST

/* Two steps with different gradients against PyTorch's formulas, for Adam
 * with L2 decay and AdamW with decoupled decay. */
START_TEST(adam_adamw_two_steps)
{
    const char *kinds[2] = { "adam", "adamw" };
    for (int k = 0; k < 2; k++) {
        rec_pstore *ps;
        ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
        const float w0[4] = { 0.5f, -1.5f, 2, 0 };
        const float g1[4] = { 0.3f, 0.2f, -1, 0.7f }, g2[4] = { -0.1f, 0.4f, -0.5f, 0.7f };
        rec_tensor *w = dense1(ps, "w", 4, w0);
        rec_optim *o = mkopt(kinds[k], ps,
                             (const char *const[]){ "lr=0.01", "beta1=0.8", "beta2=0.95",
                                                    "eps=1e-3", "weight_decay=0.1", NULL });
        ref_adam r[4];
        for (int i = 0; i < 4; i++)
            r[i] = (ref_adam){ w0[i], 0, 0 };
        for (int t = 1; t <= 2; t++) {
            memcpy(w->g, t == 1 ? g1 : g2, sizeof g1);
            ck_assert_int_eq(rec_optim_step(o), REC_OK);
            for (int i = 0; i < 4; i++) {
                ref_adam_step(&r[i], (t == 1 ? g1 : g2)[i], t, 0.01, 0.8, 0.95, 1e-3, 0.1, k);
                ck_assert_float_near(w->v[i], r[i].w, 1e-6);
            }
        }
        float *m = state_of(o, "w", "exp_avg"), *v = state_of(o, "w", "exp_avg_sq");
        for (int i = 0; i < 4; i++) {
            ck_assert_float_near(m[i], r[i].m, 1e-6);
            ck_assert_float_near(v[i], r[i].v, 1e-7);
        }
        rec_optim_destroy(o);
        rec_pstore_destroy(ps);
    }
    /* Hand check of one AdamW step: w = 2, g = 1, lr = 0.1, wd = 0.5:
     * decay to 2 * (1 - 0.05) = 1.9, then minus lr * 1 / (1 + eps) = 1.8. */
    rec_pstore *ps;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    rec_tensor *w = dense1(ps, "w", 1, (const float[]){ 2 });
    w->g[0] = 1;
    rec_optim *o = mkopt("adamw", ps, (const char *const[]){ "lr=0.1", "weight_decay=0.5", NULL });
    ck_assert_int_eq(rec_optim_step(o), REC_OK);
    ck_assert_float_near(w->v[0], 1.8, 1e-6);
    rec_optim_destroy(o);
    /* Adam's L2 instead: g = 1 + 0.5 * 2 = 2, first step moves lr: 2 - 0.1. */
    w->v[0] = 2;
    w->g[0] = 1;
    o = mkopt("adam", ps, (const char *const[]){ "lr=0.1", "weight_decay=0.5", NULL });
    ck_assert_int_eq(rec_optim_step(o), REC_OK);
    ck_assert_float_near(w->v[0], 1.9, 1e-6);
    rec_optim_destroy(o);
    rec_pstore_destroy(ps);
}
END_TEST

START_TEST(adagrad_steps)
{
    rec_pstore *ps;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    rec_tensor *w = dense1(ps, "w", 2, (const float[]){ 1, -1 });
    rec_optim *o = mkopt("adagrad", ps, (const char *const[]){ "lr=0.1", "eps=0", NULL });
    w->g[0] = 2;
    w->g[1] = -1;
    ck_assert_int_eq(rec_optim_step(o), REC_OK);
    /* sum = g^2: w -= 0.1 * g / |g|. */
    ck_assert_float_near(w->v[0], 0.9, 1e-6);
    ck_assert_float_near(w->v[1], -0.9, 1e-6);
    w->g[0] = 2;
    w->g[1] = 3;
    ck_assert_int_eq(rec_optim_step(o), REC_OK);
    ck_assert_float_near(w->v[0], 0.9 - 0.1 * 2 / sqrt(8), 1e-6);
    ck_assert_float_near(w->v[1], -0.9 - 0.1 * 3 / sqrt(10), 1e-6);
    ck_assert_float_near(state_of(o, "w", "sum")[1], 10, 1e-5);
    rec_optim_destroy(o);

    /* Initial accumulator and L2 weight decay: w = 1, g = 1 + 0.5 = 1.5,
     * sum = 4 + 2.25, w -= 0.2 * 1.5 / (2.5 + 0.5). */
    w->v[0] = 1;
    w->g[0] = 1;
    w->g[1] = 0;
    o = mkopt("adagrad", ps,
              (const char *const[]){ "lr=0.2", "initial_accumulator_value=4", "eps=0.5",
                                     "weight_decay=0.5", NULL });
    ck_assert_int_eq(rec_optim_step(o), REC_OK);
    ck_assert_float_near(w->v[0], 1 - 0.2 * 1.5 / 3.0, 1e-6);
    ck_assert_float_near(state_of(o, "w", "sum")[0], 6.25, 1e-6);
    rec_optim_destroy(o);
    rec_pstore_destroy(ps);
}
END_TEST

/* ---- clipping ------------------------------------------------------------------------ */

START_TEST(clip_by_global_norm_dense_and_sparse)
{
    rec_pstore *ps;
    rec_graph *g;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_tensor *w = dense1(ps, "w", 2, NULL);
    rec_tensor *e = table(ps, "emb", 4, 2);
    rec_optim *o = mkopt("sgd", ps, (const char *const[]){ "lr=1", "clip_norm=1", NULL });
    /* Dense g = (3, 0); row 2 gets (2, 0) twice, summed (4, 0): the norm is
     * 5 (not sqrt(17), which the un-summed chunks would give). */
    w->g[0] = 3;
    push(g, e, 1, (const int32_t[]){ 2 }, (const float[]){ 2, 0 });
    push(g, e, 1, (const int32_t[]){ 2 }, (const float[]){ 2, 0 });
    ck_assert_int_eq(rec_optim_step(o), REC_OK);
    double s = 1.0 / (5.0 + 1e-6);
    ck_assert_float_near(w->v[0], -3 * s, 1e-6);
    ck_assert_float_near(w->v[1], 0, 0);
    ck_assert_float_near(e->v[2 * 2], -4 * s, 1e-6);
    for (int i = 0; i < 8; i++)
        if (i != 4)
            ck_assert_float_eq(e->v[i], 0.0f);
    rec_optim_destroy(o);

    /* Below the threshold nothing is scaled. */
    rec_graph_reset(g);
    memset(w->v, 0, 2 * sizeof(float));
    memset(e->v, 0, 8 * sizeof(float));
    o = mkopt("sgd", ps, (const char *const[]){ "lr=1", "clip_norm=6", NULL });
    w->g[0] = 3;
    push(g, e, 1, (const int32_t[]){ 2 }, (const float[]){ 4, 0 });
    ck_assert_int_eq(rec_optim_step(o), REC_OK);
    ck_assert_float_near(w->v[0], -3, 1e-7);
    ck_assert_float_near(e->v[4], -4, 1e-7);
    rec_optim_destroy(o);
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
}
END_TEST

/* ---- schedules ------------------------------------------------------------------------ */

static void lr_seq(const char *const *kv, const int *steps, const double *want, int n)
{
    rec_pstore *ps;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    rec_optim *o = mkopt("sgd", ps, kv);
    int done = 0;
    for (int i = 0; i < n; i++) {
        while (done < steps[i]) {
            ck_assert_int_eq(rec_optim_step(o), REC_OK);
            done++;
        }
        ck_assert_int_eq(rec_optim_steps(o), steps[i]);
        ck_assert_msg(fabs(rec_optim_lr(o) - want[i]) < 1e-9, "%s: lr at step %d is %g, want %g",
                      kv[1], steps[i], rec_optim_lr(o), want[i]);
    }
    rec_optim_destroy(o);
    rec_pstore_destroy(ps);
}

START_TEST(lr_schedules)
{
    lr_seq((const char *const[]){ "lr=0.5", "lr_schedule=constant", NULL },
           (const int[]){ 0, 7 }, (const double[]){ 0.5, 0.5 }, 2);
    lr_seq((const char *const[]){ "lr=1", "lr_schedule=warmup", "warmup_steps=4", NULL },
           (const int[]){ 0, 1, 3, 4, 10 }, (const double[]){ 0.25, 0.5, 1, 1, 1 }, 5);
    lr_seq((const char *const[]){ "lr=1", "lr_schedule=step", "step_size=3", "gamma=0.5", NULL },
           (const int[]){ 0, 2, 3, 5, 6, 9 }, (const double[]){ 1, 1, 0.5, 0.5, 0.25, 0.125 },
           6);
    lr_seq((const char *const[]){ "lr=1", "lr_schedule=step", "step_size=3", "gamma=0.5",
                                  "min_lr=0.3", NULL },
           (const int[]){ 3, 6, 30 }, (const double[]){ 0.5, 0.3, 0.3 }, 3);
    lr_seq((const char *const[]){ "lr=1", "lr_schedule=cosine", "total_steps=10", "min_lr=0.1",
                                  NULL },
           (const int[]){ 0, 5, 10, 20 }, (const double[]){ 1, 0.55, 0.1, 0.1 }, 4);
    /* Warmup then cosine over the remaining 10 steps. */
    lr_seq((const char *const[]){ "lr=1", "lr_schedule=cosine", "total_steps=12",
                                  "warmup_steps=2", NULL },
           (const int[]){ 0, 1, 2, 7, 12 }, (const double[]){ 0.5, 1, 1, 0.5, 0 }, 5);
    lr_seq((const char *const[]){ "lr=2", "lr_schedule=step", "warmup_steps=2", "step_size=2",
                                  "gamma=0.1", NULL },
           (const int[]){ 0, 2, 4 }, (const double[]){ 1, 2, 0.2 }, 3);
}
END_TEST

START_TEST(lr_schedule_drives_the_update)
{
    rec_pstore *ps;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    rec_tensor *w = dense1(ps, "w", 1, NULL);
    rec_optim *o = mkopt("sgd", ps,
                         (const char *const[]){ "lr=1", "lr_schedule=warmup", "warmup_steps=4",
                                                NULL });
    w->g[0] = 1;
    ck_assert_int_eq(rec_optim_step(o), REC_OK);
    ck_assert_float_near(w->v[0], -0.25, 1e-7);
    w->g[0] = 1;
    ck_assert_int_eq(rec_optim_step(o), REC_OK);
    ck_assert_float_near(w->v[0], -0.75, 1e-7);
    /* set_lr replaces the base rate; the schedule still scales it. */
    ck_assert_int_eq(rec_optim_set_lr(o, 4), REC_OK);
    ck_assert_float_near(rec_optim_lr(o), 3, 1e-12);
    w->g[0] = 1;
    ck_assert_int_eq(rec_optim_step(o), REC_OK);
    ck_assert_float_near(w->v[0], -3.75, 1e-6);
    ck_assert_int_eq(rec_optim_set_lr(o, -1), REC_E_RANGE);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "rec_optim_set_lr: lr = -1 is outside"));
    ck_assert_int_eq(rec_optim_set_lr(o, NAN), REC_E_RANGE);
    ck_assert_float_near(rec_optim_lr(o), 4, 1e-12);
    rec_optim_destroy(o);
    rec_pstore_destroy(ps);
}
END_TEST

/* ---- sparse: coalescing and lazy updates ----------------------------------------- */

START_TEST(coalesce_small_and_range)
{
    rec_pstore *ps;
    rec_graph *g;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_tensor *e = table(ps, "emb", 10, 2);
    rec_coalesce c;
    rec_coalesce_init(&c);
    ck_assert_int_eq(rec_rowgrad_coalesce(&c, e, "t"), REC_OK);
    ck_assert_int_eq(c.n, 0);
    push(g, e, 4, (const int32_t[]){ 7, 1, 7, 9 }, (const float[]){ 1, 2, 3, 4, 5, 6, 7, 8 });
    push(g, e, 2, (const int32_t[]){ 9, 0 }, (const float[]){ 10, 20, 30, 40 });
    ck_assert_int_eq(rec_rowgrad_coalesce(&c, e, "t"), REC_OK);
    ck_assert_int_eq(c.n, 4);
    ck_assert_int_eq(c.cols, 2);
    const int32_t rows[4] = { 0, 1, 7, 9 };
    const float vals[8] = { 30, 40, 3, 4, 6, 8, 17, 28 };
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(c.rows[i], rows[i]);
    for (int i = 0; i < 8; i++)
        ck_assert_float_eq(c.grad[i / 2][i % 2], vals[i]);
    /* A row seen once is not copied: row 0 is entry 1 of the newest chunk. */
    ck_assert_ptr_eq(c.grad[0], e->rg->vals + 2);
    push(g, e, 1, (const int32_t[]){ 10 }, (const float[]){ 1, 1 });
    ck_assert_int_eq(rec_rowgrad_coalesce(&c, e, "tfn"), REC_E_RANGE);
    ck_assert_str_eq(rec_last_error(), "tfn: 'emb' has a gradient for row 10 outside [0, 10)");
    ck_assert_int_eq(c.n, 0);
    rec_coalesce_free(&c);
    rec_coalesce_free(&c); /* idempotent */
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
}
END_TEST

/* Many repeated ids in a table large enough for two radix passes, against a
 * dense accumulation. */
START_TEST(coalesce_random_matches_dense_sum)
{
    rec_pstore *ps;
    rec_graph *g;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    const int64_t N = 100000, d = 3, m = 6000;
    rec_tensor *e = table(ps, "emb", N, d);
    rec_rng r;
    rec_rng_seed(&r, 5);
    int32_t *rows = malloc(m * sizeof *rows);
    float *vals = malloc(m * d * sizeof *vals);
    double *ref = calloc(N * d, sizeof *ref);
    for (int64_t i = 0; i < m; i++) {
        /* Half the ids from a small hot set, so rows repeat often. */
        rows[i] = (int32_t)(i % 2 ? rec_rng_below(&r, 50) * 1999 : rec_rng_below(&r, (uint32_t)N));
        for (int64_t j = 0; j < d; j++) {
            vals[i * d + j] = (float)(j + 1) * 0.25f * (float)(i % 7);
            ref[rows[i] * d + j] += vals[i * d + j];
        }
    }
    push(g, e, 2500, rows, vals);
    push(g, e, m - 2500, rows + 2500, vals + 2500 * d);
    rec_coalesce c;
    rec_coalesce_init(&c);
    ck_assert_int_eq(rec_rowgrad_coalesce(&c, e, "t"), REC_OK);
    int64_t uniq = 0;
    char *seen = calloc(N, 1);
    for (int64_t i = 0; i < m; i++)
        if (!seen[rows[i]]++)
            uniq++;
    ck_assert_int_eq(c.n, uniq);
    for (int64_t i = 0; i < c.n; i++) {
        if (i)
            ck_assert_int_lt(c.rows[i - 1], c.rows[i]);
        for (int64_t j = 0; j < d; j++)
            ck_assert_float_near(c.grad[i][j], ref[c.rows[i] * d + j], 1e-3);
    }
    rec_coalesce_free(&c);
    free(seen);
    free(rows);
    free(vals);
    free(ref);
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
}
END_TEST

/* A table and a dense copy of it: the first lazy step equals the dense step
 * on the touched rows; a second step that touches another row leaves the
 * first rows and their moments exactly as they were. */
START_TEST(sparse_adam_is_lazy)
{
    rec_pstore *ps;
    rec_graph *g;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    const int64_t R = 5, d = 3;
    rec_tensor *e = table(ps, "emb", R, d);
    int64_t s2[2] = { R, d };
    rec_tensor *dn = rec_pstore_add(ps, "dense", 2, s2, 0);
    tu_fill(e, 3, -1, 1);
    memcpy(dn->v, e->v, (size_t)(R * d) * sizeof(float));
    float init[15];
    memcpy(init, e->v, sizeof init);
    rec_optim *o = mkopt("adam", ps, (const char *const[]){ "lr=0.05", "weight_decay=0.1", NULL });
    /* Row 1 twice in chunk A, row 3 in both chunks. */
    const float ga[9] = { 0.1f, -0.2f, 0.3f, 1, 2, -3, 0.5f, 0.25f, 0 };
    const float gb[3] = { -0.4f, 0.3f, 0.2f };
    push(g, e, 3, (const int32_t[]){ 1, 3, 1 }, ga);
    push(g, e, 1, (const int32_t[]){ 3 }, gb);
    /* The dense twin gets the summed gradient on the touched rows only. */
    for (int64_t j = 0; j < d; j++) {
        dn->g[1 * d + j] = ga[j] + ga[2 * d + j];
        dn->g[3 * d + j] = ga[d + j] + gb[j];
    }
    ck_assert_int_eq(rec_optim_step(o), REC_OK);
    float *me = state_of(o, "emb", "exp_avg"), *ve = state_of(o, "emb", "exp_avg_sq");
    float *md = state_of(o, "dense", "exp_avg"), *vd = state_of(o, "dense", "exp_avg_sq");
    for (int64_t r = 0; r < R; r++)
        for (int64_t j = 0; j < d; j++) {
            int64_t i = r * d + j;
            if (r == 1 || r == 3) {
                ck_assert_float_eq(e->v[i], dn->v[i]);
                ck_assert_float_eq(me[i], md[i]);
                ck_assert_float_eq(ve[i], vd[i]);
                ck_assert_float_ne(e->v[i], init[i]);
            } else {
                /* Untouched: no weight decay, no moment. */
                ck_assert_float_eq(e->v[i], init[i]);
                ck_assert_float_eq(me[i], 0.0f);
                ck_assert_float_eq(ve[i], 0.0f);
            }
        }
    ck_assert_int_eq(rec_graph_status(g), REC_OK);
    float after1[15], m1[15], v1[15];
    memcpy(after1, e->v, sizeof after1);
    memcpy(m1, me, sizeof m1);
    memcpy(v1, ve, sizeof v1);

    /* Step 2 touches row 0 only; its bias correction uses t = 2. */
    rec_graph_reset(g);
    push(g, e, 1, (const int32_t[]){ 0 }, (const float[]){ 0.7f, -0.1f, 0.05f });
    ck_assert_int_eq(rec_optim_step(o), REC_OK);
    for (int64_t i = d; i < R * d; i++) {
        ck_assert_float_eq(e->v[i], after1[i]);
        ck_assert_float_eq(me[i], m1[i]);
        ck_assert_float_eq(ve[i], v1[i]);
    }
    const float g0[3] = { 0.7f, -0.1f, 0.05f };
    for (int j = 0; j < 3; j++) {
        ref_adam ra = { init[j], 0, 0 };
        ref_adam_step(&ra, g0[j], 2, 0.05, 0.9, 0.999, 1e-8, 0.1, 0);
        ck_assert_float_near(e->v[j], ra.w, 1e-6);
        ck_assert_float_near(me[j], ra.m, 1e-7);
    }
    /* The dense twin (no grads this step) still decays its moments. */
    ck_assert_float_ne(md[1 * d], m1[1 * d]);
    rec_optim_state st;
    ck_assert_int_eq(rec_optim_state_at(o, 0, &st), REC_OK);
    ck_assert_str_eq(st.param, "emb");
    ck_assert_int_eq(*st.step, 2);
    ck_assert_int_eq(st.n, R * d);
    ck_assert_int_eq(rec_optim_state_at(o, 4, &st), REC_E_RANGE);
    ck_assert_str_eq(rec_last_error(), "rec_optim_state_at: index 4 >= count 4");

    /* A step with no sparse gradient: the table does not move or count. */
    rec_graph_reset(g);
    memcpy(after1, e->v, sizeof after1);
    ck_assert_int_eq(rec_optim_step(o), REC_OK);
    ck_assert_int_eq(memcmp(after1, e->v, sizeof after1), 0);
    ck_assert_int_eq(rec_optim_state_at(o, 0, &st), REC_OK);
    ck_assert_int_eq(*st.step, 2);
    ck_assert_int_eq(rec_optim_steps(o), 3);

    /* Step 4 touches row 2 for the first time: the table's own count (3),
     * not the optimizer's (4), drives the bias correction, as in PyTorch. */
    rec_graph_reset(g);
    push(g, e, 1, (const int32_t[]){ 2 }, (const float[]){ 0.3f, 0.3f, -0.6f });
    ck_assert_int_eq(rec_optim_step(o), REC_OK);
    for (int j = 0; j < 3; j++) {
        ref_adam ra = { init[2 * d + j], 0, 0 };
        ref_adam_step(&ra, j == 2 ? -0.6 : 0.3, 3, 0.05, 0.9, 0.999, 1e-8, 0.1, 0);
        ck_assert_float_near(e->v[2 * d + j], ra.w, 1e-6);
    }
    ck_assert_int_eq(*st.step, 3);
    rec_optim_destroy(o);
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
}
END_TEST

/* Sparse SGD (with decay and momentum) and Adagrad touch only the given rows. */
START_TEST(sparse_sgd_adagrad_touch_rows_only)
{
    const char *kinds[2] = { "sgd", "adagrad" };
    for (int k = 0; k < 2; k++) {
        rec_pstore *ps;
        rec_graph *g;
        ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
        ck_assert_int_eq(rec_graph_create(&g), REC_OK);
        rec_tensor *e = table(ps, "emb", 3, 2);
        rec_init_const(e, 1.0f);
        rec_optim *o = mkopt(kinds[k], ps,
                             k == 0 ? (const char *const[]){ "lr=0.1", "weight_decay=0.5",
                                                             "momentum=0.5", NULL }
                                    : (const char *const[]){ "lr=0.1", "weight_decay=0.5",
                                                             "eps=0", NULL });
        push(g, e, 2, (const int32_t[]){ 2, 2 }, (const float[]){ 1, 0, 0.5f, -1 });
        ck_assert_int_eq(rec_optim_step(o), REC_OK);
        /* Row 2's gradient (1.5, -1) + 0.5 * w = (2, -0.5). */
        if (k == 0) {
            ck_assert_float_near(e->v[4], 1 - 0.1 * 2, 1e-7);
            ck_assert_float_near(e->v[5], 1 + 0.1 * 0.5, 1e-7);
        } else {
            ck_assert_float_near(e->v[4], 0.9, 1e-7); /* lr * sign with eps 0 */
            ck_assert_float_near(e->v[5], 1.1, 1e-7);
        }
        for (int i = 0; i < 4; i++)
            ck_assert_float_eq(e->v[i], 1.0f);
        float *s = state_of(o, "emb", k == 0 ? "momentum_buffer" : "sum");
        for (int i = 0; i < 4; i++)
            ck_assert_float_eq(s[i], 0.0f);
        ck_assert_float_near(s[4], k == 0 ? 2 : 4, 1e-7);
        rec_optim_destroy(o);
        rec_graph_destroy(g);
        rec_pstore_destroy(ps);
    }
}
END_TEST

START_TEST(bad_sparse_row_changes_nothing)
{
    rec_pstore *ps;
    rec_graph *g;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_tensor *w = dense1(ps, "w", 2, (const float[]){ 1, 2 });
    rec_tensor *a = table(ps, "a", 4, 1);
    rec_tensor *b = table(ps, "b", 4, 1);
    rec_optim *o = mkopt("adam", ps, NULL);
    w->g[0] = 1;
    push(g, a, 1, (const int32_t[]){ 1 }, (const float[]){ 1 });
    push(g, b, 1, (const int32_t[]){ -1 }, (const float[]){ 1 });
    ck_assert_int_eq(rec_optim_step(o), REC_E_RANGE);
    ck_assert_str_eq(rec_last_error(),
                     "rec_optim_step: 'b' has a gradient for row -1 outside [0, 4)");
    ck_assert_float_eq(w->v[0], 1.0f);
    ck_assert_float_eq(w->g[0], 1.0f);
    ck_assert_float_eq(a->v[1], 0.0f);
    ck_assert_int_eq(rec_optim_steps(o), 0);
    rec_optim_destroy(o);
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
}
END_TEST

/* ---- convergence and threads ------------------------------------------------------ */

/* f(w) = sum_i a_i (w_i - c_i)^2, gradient 2 a_i (w_i - c_i). */
START_TEST(adam_minimises_quadratic)
{
    rec_pstore *ps;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    const float a[4] = { 1, 10, 0.1f, 3 }, c[4] = { 1, -2, 0.5f, 3 };
    rec_tensor *w = dense1(ps, "w", 4, NULL);
    rec_optim *o = mkopt("adam", ps,
                         (const char *const[]){ "lr=0.1", "lr_schedule=cosine",
                                                "total_steps=400", NULL });
    for (int s = 0; s < 400; s++) {
        for (int i = 0; i < 4; i++)
            w->g[i] = 2 * a[i] * (w->v[i] - c[i]);
        ck_assert_int_eq(rec_optim_step(o), REC_OK);
    }
    for (int i = 0; i < 4; i++)
        ck_assert_float_near(w->v[i], c[i], 1e-4);
    rec_optim_destroy(o);
    rec_pstore_destroy(ps);
}
END_TEST

/* Runs 3 clipped steps of `kind` on a large dense param and a sparse table
 * with `threads` threads; returns the values (caller frees). */
static float *run_threads(const char *kind, int threads)
{
    ck_assert_int_eq(rec_set_num_threads(threads), REC_OK);
    rec_pstore *ps;
    rec_graph *g;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    const int64_t n = 150000, R = 30000, d = 8, m = 12000;
    rec_tensor *w = dense1(ps, "w", n, NULL);
    rec_tensor *e = table(ps, "emb", R, d);
    tu_fill(w, 1, -1, 1);
    tu_fill(e, 2, -1, 1);
    rec_optim *o = mkopt(kind, ps, (const char *const[]){ "lr=0.01", "clip_norm=0.5",
                                                          "weight_decay=0.01", NULL });
    int32_t *rows = malloc(m * sizeof *rows);
    float *vals = malloc(m * d * sizeof *vals);
    rec_rng r;
    rec_rng_seed(&r, 9);
    for (int s = 0; s < 3; s++) {
        rec_graph_reset(g);
        for (int64_t i = 0; i < n; i++)
            w->g[i] = (float)sin((double)(i + s));
        for (int64_t i = 0; i < m; i++) {
            rows[i] = (int32_t)rec_rng_below(&r, (uint32_t)(i % 3 ? R : 100));
            for (int64_t j = 0; j < d; j++)
                vals[i * d + j] = rec_rng_uniform(&r) - 0.5f;
        }
        push(g, e, m / 2, rows, vals);
        push(g, e, m - m / 2, rows + m / 2, vals + m / 2 * d);
        ck_assert_int_eq(rec_optim_step(o), REC_OK);
    }
    float *out = malloc((size_t)(n + R * d) * sizeof *out);
    memcpy(out, w->v, (size_t)n * sizeof *out);
    memcpy(out + n, e->v, (size_t)(R * d) * sizeof *out);
    free(rows);
    free(vals);
    rec_optim_destroy(o);
    rec_graph_destroy(g);
    rec_pstore_destroy(ps);
    return out;
}

START_TEST(results_independent_of_threads)
{
    const char *kinds[3] = { "sgd", "adamw", "adagrad" };
    for (int k = 0; k < 3; k++) {
        float *a = run_threads(kinds[k], 1), *b = run_threads(kinds[k], 2),
              *c = run_threads(kinds[k], 3);
        size_t bytes = (size_t)(150000 + 30000 * 8) * sizeof(float);
        ck_assert_msg(memcmp(a, b, bytes) == 0, "%s: 1 vs 2 threads differ", kinds[k]);
        ck_assert_msg(memcmp(a, c, bytes) == 0, "%s: 1 vs 3 threads differ", kinds[k]);
        free(a);
        free(b);
        free(c);
    }
    ck_assert_int_eq(rec_set_num_threads(0), REC_OK);
}
END_TEST

/* ---- errors -------------------------------------------------------------------------- */

static void expect_bad(const char *kind, const char *const *kv, rec_pstore *ps, rec_status want,
                       const char *msg)
{
    rec_params *p = mkp(kv);
    rec_optim *o = (rec_optim *)(uintptr_t)1;
    ck_assert_int_eq(rec_optim_create(&o, kind, p, ps), want);
    ck_assert_ptr_null(o);
    ck_assert_msg(strstr(rec_last_error(), msg) != NULL, "message '%s' lacks '%s'",
                  rec_last_error(), msg);
    rec_params_destroy(p);
}

START_TEST(bad_params_are_rejected)
{
    rec_pstore *ps;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    expect_bad("adam", (const char *const[]){ "momentum=0.9", NULL }, ps, REC_E_INVALID,
               "rec_optim_create: unknown parameter 'momentum'");
    expect_bad("sgd", (const char *const[]){ "lr=-1", NULL }, ps, REC_E_RANGE,
               "rec_optim_create: parameter 'lr' = -1 is outside [0, 1e+06]");
    expect_bad("sgd", (const char *const[]){ "lr=fast", NULL }, ps, REC_E_INVALID,
               "parameter 'lr' wants a float, got a string");
    expect_bad("rmsprop", NULL, ps, REC_E_NOTFOUND,
               "rec_optim_create: unknown kind 'rmsprop' (sgd|adam|adamw|adagrad)");
    expect_bad("adam", NULL, NULL, REC_E_INVALID, "rec_optim_create: parameter store is NULL");
    expect_bad(NULL, NULL, ps, REC_E_INVALID, "rec_optim_create: kind is NULL");
    expect_bad("adam", (const char *const[]){ "beta1=1", NULL }, ps, REC_E_RANGE,
               "parameter 'beta1' = 1 must be below 1");
    expect_bad("adamw", (const char *const[]){ "beta2=1.5", NULL }, ps, REC_E_RANGE,
               "parameter 'beta2' = 1.5 is outside [0, 1]");
    expect_bad("sgd", (const char *const[]){ "nesterov=true", NULL }, ps, REC_E_INVALID,
               "'nesterov' needs a 'momentum' above 0");
    expect_bad("sgd", (const char *const[]){ "lr_schedule=warmup", NULL }, ps, REC_E_INVALID,
               "lr_schedule 'warmup' needs 'warmup_steps' >= 1");
    expect_bad("adagrad",
               (const char *const[]){ "lr_schedule=cosine", "total_steps=5", "warmup_steps=5",
                                      NULL },
               ps, REC_E_INVALID, "needs 'total_steps' (5) above 'warmup_steps' (5)");
    expect_bad("sgd", (const char *const[]){ "lr_schedule=linear", NULL }, ps, REC_E_INVALID,
               "'lr_schedule' = 'linear' is not one of constant|warmup|step|cosine");
    expect_bad("adagrad", (const char *const[]){ "step_size=0", NULL }, ps, REC_E_RANGE,
               "'step_size' = 0 is outside");
    ck_assert_int_eq(rec_optim_create(NULL, "sgd", NULL, ps), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_optim_create: out is NULL");
    ck_assert_int_eq(rec_optim_step(NULL), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_optim_step: optimizer is NULL");
    ck_assert_int_eq(rec_optim_set_lr(NULL, 1), REC_E_INVALID);
    rec_optim_destroy(NULL);

    size_t n;
    const rec_param_spec *s = rec_optim_spec("adamw", &n);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(n, 12);
    ck_assert_ptr_null(rec_optim_spec("nope", &n));
    ck_assert_uint_eq(n, 0);
    rec_pstore_destroy(ps);
}
END_TEST

/* The typed constructor: the defaults are the kind's table, the same
 * settings give the same steps as the params bag, and its fields are checked
 * as the bag's keys are. */
START_TEST(typed_config_matches_params)
{
    rec_optim_config c;
    ck_assert_int_eq(rec_optim_config_init(&c, "adam"), REC_OK);
    ck_assert_str_eq(c.kind, "adam");
    ck_assert_double_eq(c.lr, 0.001);
    ck_assert_double_eq(c.beta2, 0.999);
    ck_assert_int_eq(c.lr_schedule, REC_LR_CONSTANT);
    c.lr = 0.01;
    c.beta1 = 0.8;
    c.weight_decay = 0.1;
    c.lr_schedule = REC_LR_STEP;
    c.step_size = 1;
    c.gamma = 0.5;
    rec_pstore *ps;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    const float w0[3] = { 0.5f, -1.5f, 2 }, g0[3] = { 0.3f, 0.2f, -1 };
    rec_tensor *w = dense1(ps, "w", 3, w0);
    rec_optim *typed, *bag = mkopt("adam", ps, (const char *const[]){
        "lr=0.01", "beta1=0.8", "weight_decay=0.1", "lr_schedule=step", "step_size=1",
        "gamma=0.5", NULL });
    ck_assert_int_eq(rec_optim_create_config(&typed, &c, ps), REC_OK);
    float after[2][3];
    rec_optim *os[2] = { bag, typed };
    for (int k = 0; k < 2; k++) {
        memcpy(w->v, w0, sizeof w0);
        for (int t = 0; t < 3; t++) {
            memcpy(w->g, g0, sizeof g0);
            ck_assert_int_eq(rec_optim_step(os[k]), REC_OK);
        }
        memcpy(after[k], w->v, sizeof after[k]);
    }
    ck_assert_mem_eq(after[0], after[1], sizeof after[0]);
    ck_assert(after[0][0] != w0[0]);
    rec_optim_destroy(bag);
    rec_optim_destroy(typed);

    rec_optim *o = (rec_optim *)(uintptr_t)1;
    c.lr = -1;
    ck_assert_int_eq(rec_optim_create_config(&o, &c, ps), REC_E_RANGE);
    ck_assert_ptr_null(o);
    ck_assert_str_eq(rec_last_error(),
                     "rec_optim_create: parameter 'lr' = -1 is outside [0, 1e+06]");
    c.lr = 0.01;
    c.beta2 = 1;
    ck_assert_int_eq(rec_optim_create_config(&o, &c, ps), REC_E_RANGE);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "'beta2' = 1 must be below 1"));
    c.beta2 = 0.9;
    c.lr_schedule = 7;
    ck_assert_int_eq(rec_optim_create_config(&o, &c, ps), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "lr_schedule 7"));
    c.lr_schedule = REC_LR_CONSTANT;
    c.kind = "rmsprop";
    ck_assert_int_eq(rec_optim_create_config(&o, &c, ps), REC_E_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "unknown kind 'rmsprop'"));
    ck_assert_int_eq(rec_optim_config_init(&c, "rmsprop"), REC_E_NOTFOUND);
    ck_assert_int_eq(rec_optim_create_config(&o, NULL, ps), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_optim_create: config is NULL");
    /* a key the kind lacks is ignored, as the bag cannot even set it */
    ck_assert_int_eq(rec_optim_config_init(&c, "sgd"), REC_OK);
    c.beta1 = 5;
    c.initial_accumulator_value = -3;
    ck_assert_int_eq(rec_optim_create_config(&o, &c, ps), REC_OK);
    rec_optim_destroy(o);
    rec_pstore_destroy(ps);
}
END_TEST

/* Every allocation of create and of the first step fails in turn: NOMEM,
 * params and grads untouched, nothing leaked; a later step allocates nothing. */
START_TEST(out_of_memory_everywhere)
{
    const char *kinds[4] = { "sgd", "adam", "adamw", "adagrad" };
    for (int k = 0; k < 4; k++) {
        tu_alloc_install();
        rec_pstore *ps;
        rec_graph *g;
        ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
        ck_assert_int_eq(rec_graph_create(&g), REC_OK);
        rec_tensor *w = dense1(ps, "w", 3, (const float[]){ 1, 2, 3 });
        rec_tensor *e = table(ps, "emb", 6, 2);
        rec_params *p = mkp(k == 0 ? (const char *const[]){ "momentum=0.5", NULL } : NULL);
        int done = 0, failures = 0;
        for (long n = 1; !done && n < 200; n++) {
            rec_graph_reset(g);
            w->g[0] = 1;
            push(g, e, 3, (const int32_t[]){ 4, 1, 4 }, (const float[]){ 1, 2, 3, 4, 5, 6 });
            tu_alloc_fail_at(n);
            rec_optim *o = NULL;
            rec_status st = rec_optim_create(&o, kinds[k], p, ps);
            if (st == REC_OK) {
                st = rec_optim_step(o);
                if (st == REC_OK)
                    done = 1;
            }
            tu_alloc_fail_at(0);
            if (!done) {
                failures++;
                ck_assert_int_eq(st, REC_E_NOMEM);
                ck_assert_ptr_nonnull(strstr(rec_last_error(), "out of memory"));
                ck_assert_float_eq(w->v[0], 1.0f);
                ck_assert_float_eq(w->g[0], 1.0f);
                for (int i = 0; i < 12; i++)
                    ck_assert_float_eq(e->v[i], 0.0f);
                ck_assert_int_eq(rec_optim_steps(o), 0);
                rec_optim_destroy(o);
                continue;
            }
            ck_assert_float_ne(w->v[0], 1.0f);
            ck_assert_float_ne(e->v[8], 0.0f);
            /* Steady state: the same batch again costs no allocation. */
            for (int s = 0; s < 2; s++) {
                rec_graph_reset(g);
                push(g, e, 3, (const int32_t[]){ 4, 1, 4 },
                     (const float[]){ 1, 2, 3, 4, 5, 6 });
                long before = tu_alloc_count();
                ck_assert_int_eq(rec_optim_step(o), REC_OK);
                ck_assert_int_eq(tu_alloc_count(), before);
            }
            rec_optim_destroy(o);
        }
        ck_assert_msg(done, "%s: step never succeeded", kinds[k]);
        /* create (1) + param array + slots + coalesce buffers. */
        ck_assert_int_ge(failures, k == 0 ? 8 : 9);
        rec_params_destroy(p);
        rec_graph_destroy(g);
        rec_pstore_destroy(ps);
        ck_assert_int_eq(tu_alloc_live(), 0);
        tu_alloc_remove();
    }
}
END_TEST

Suite *rec_optim_suite(void)
{
    Suite *s = suite_create("optim");
    TCase *t = tcase_create("updates");
    tcase_add_test(t, sgd_plain_and_weight_decay);
    tcase_add_test(t, sgd_momentum_and_nesterov);
    tcase_add_test(t, adam_first_step_is_lr_times_sign);
    tcase_add_test(t, adam_adamw_two_steps);
    tcase_add_test(t, adagrad_steps);
    tcase_add_test(t, clip_by_global_norm_dense_and_sparse);
    tcase_add_test(t, lr_schedules);
    tcase_add_test(t, lr_schedule_drives_the_update);
    tcase_add_test(t, adam_minimises_quadratic);
    suite_add_tcase(s, t);
    TCase *sp = tcase_create("sparse");
    tcase_add_test(sp, coalesce_small_and_range);
    tcase_add_test(sp, coalesce_random_matches_dense_sum);
    tcase_add_test(sp, sparse_adam_is_lazy);
    tcase_add_test(sp, sparse_sgd_adagrad_touch_rows_only);
    tcase_add_test(sp, bad_sparse_row_changes_nothing);
    suite_add_tcase(s, sp);
    TCase *x = tcase_create("threads_and_errors");
    tcase_set_timeout(x, 60);
    tcase_add_test(x, results_independent_of_threads);
    tcase_add_test(x, bad_params_are_rejected);
    tcase_add_test(x, typed_config_matches_params);
    tcase_add_test(x, out_of_memory_everywhere);
    suite_add_tcase(s, x);
    return s;
}
