/* Micro-kernels of the tensor core, on the shapes of the PyTorch peer
 * ../shared/bench/peers/w7_microkernels.py, at each thread count:
 *   sgemm    rec_sgemm 4096^3 (GFLOP/s)
 *   linear   Linear(512,512) on x[1024,512] (x needs grad): fwd + bwd of sum,
 *            through the tape and as the same kernels called raw
 *   mlp      x[1024,512] -> Linear 512 -> ReLU -> Linear 512 -> mean, backward
 *            and an Adam step, through the tape and raw
 *   embbag   EmbeddingBag(1e6 x 64, mean), 4096 bags x 20 uniform ids: fwd +
 *            bwd of sum with a sparse gradient (optionally coalesced as an
 *            optimizer would) and with a dense one (persistent, zeroed each
 *            iteration, as PyTorch allocates a zeroed one); forward only
 *   gather   1e6 x 64 table, 81920 uniform ids: fwd + bwd of sum, sparse and
 *            dense gradient; forward only, in rows/s and as a fraction of
 *   ceiling  a pure random-read loop over the same ids (each row read whole,
 *            prefetched the same distance ahead, split over the same
 *            threads): what the memory allows a gather
 * Protocol (the peer's): warm-ups, then the median wall time of N reps; the
 * tape and raw variants of a kernel alternate call by call.
 * Prints one JSON line on stdout, progress on stderr.
 * Usage: micro [--threads 2,1] [--reps 20] [--sgemm-n 4096] [--sgemm-reps 5]
 *              [--only sgemm|linear|mlp|emb]   (one group, for profiling)
 *              [--ahead ROWS]   (the gathers' prefetch distance, for tuning)
 *              [--min-work FLOATS]   (the size below which a gather stays on
 *                                     one thread; 0 always splits: for finding
 *                                     the crossover with the small-input sweep
 *                                     embbag_fwd_us_<N>_bags, N bags of 20) */
#include "core/ops.h"
#include "core/rowgather-impl.h"
#include "train/train-impl.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NTAB 1000000
#define DIM 64
#define NBAGS 4096
#define BAG 20
#define NIDS (NBAGS * BAG)
#define ROWS 1024
#define HID 512

static void die(const char *what)
{
    fprintf(stderr, "micro: %s: %s\n", what, rec_last_error());
    exit(1);
}

static void *xalloc(size_t bytes)
{
    void *p = rec_aligned_alloc(bytes);
    if (!p) {
        fprintf(stderr, "micro: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return p;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef void (*bench_fn)(void *ctx);

static double median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* Median seconds of `reps` calls of a after `warmup` untimed ones; with b,
 * the calls alternate a, b, a, b... and *tb gets b's median, so a load
 * change on the machine hits both sides of a tape/raw ratio alike. */
static double bench2(bench_fn a, bench_fn b, void *ctx, int reps, int warmup, double *tb)
{
    for (int i = 0; i < warmup; i++) {
        a(ctx);
        if (b)
            b(ctx);
    }
    double *t = rec_malloc(2 * (size_t)reps * sizeof *t);
    if (!t)
        die("bench");
    for (int i = 0; i < reps; i++) {
        double t0 = now();
        a(ctx);
        t[i] = now() - t0;
        if (b) {
            t0 = now();
            b(ctx);
            t[reps + i] = now() - t0;
        }
    }
    double ma = median(t, reps);
    if (b)
        *tb = median(t + reps, reps);
    rec_free(t, 2 * (size_t)reps * sizeof *t);
    return ma;
}

static double bench(bench_fn fn, void *ctx, int reps, int warmup)
{
    return bench2(fn, NULL, ctx, reps, warmup, NULL);
}

static void fill_normal(float *v, int64_t n, rec_rng *r, float std)
{
    for (int64_t i = 0; i < n; i++)
        v[i] = std * rec_rng_normal(r);
}

/* ---- JSON output ------------------------------------------------------------ */

static char out_buf[1 << 14];
static size_t out_len;

static void put(const char *fmt, ...) REC_PRINTF(1, 2);
static void put(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(out_buf + out_len, sizeof out_buf - out_len, fmt, ap);
    va_end(ap);
    if (w > 0 && (size_t)w < sizeof out_buf - out_len)
        out_len += (size_t)w;
}

static int first_key;

static void result(const char *key, double v)
{
    put("%s\"%s\": %.6g", first_key ? "" : ", ", key, v);
    first_key = 0;
    fprintf(stderr, "  %-36s %10.4f\n", key, v);
}

/* ---- sgemm ------------------------------------------------------------------ */

typedef struct sgemm_ctx {
    int n;
    float *a, *b, *c;
} sgemm_ctx;

static void run_sgemm(void *p)
{
    sgemm_ctx *s = p;
    rec_sgemm(0, 0, s->n, s->n, s->n, 1.0f, s->a, s->n, s->b, s->n, 0.0f, s->c, s->n);
}

static double bench_sgemm(int n, int reps)
{
    size_t bytes = (size_t)n * n * sizeof(float);
    sgemm_ctx s = { n, xalloc(bytes), xalloc(bytes), xalloc(bytes) };
    rec_rng r;
    rec_rng_seed(&r, 3);
    fill_normal(s.a, (int64_t)n * n, &r, 1.0f);
    fill_normal(s.b, (int64_t)n * n, &r, 1.0f);
    double t = bench(run_sgemm, &s, reps, 1);
    rec_aligned_free(s.a, bytes);
    rec_aligned_free(s.b, bytes);
    rec_aligned_free(s.c, bytes);
    return 2.0 * n * n * (double)n / t / 1e9;
}

/* ---- raw kernels shared by linear and mlp -------------------------------------- */

/* y [rows,out] = b (broadcast) + x [rows,in] W^T, W [out,in] */
static void raw_linear(const float *x, const float *w, const float *b, float *y, int rows,
                       int in, int out)
{
    for (int r = 0; r < rows; r++)
        memcpy(y + (size_t)r * out, b, (size_t)out * sizeof *y);
    rec_sgemm(0, 1, rows, out, in, 1.0f, x, in, w, in, 1.0f, y, out);
}

/* The raw loops below are written in fixed 16-wide blocks over restrict
 * parameters, the form GCC vectorises at -O2 (and branch-free, so a random
 * ReLU mask costs no mispredictions): the best plain C, for the tape to
 * be measured against. */
#define BLOCKED(n, body)                                                    \
    do {                                                                    \
        int64_t i_ = 0, nb_ = (n) / 16 * 16;                                \
        for (; i_ < nb_; i_ += 16)                                          \
            for (int k_ = 0; k_ < 16; k_++) {                               \
                int64_t i = i_ + k_;                                        \
                body;                                                       \
            }                                                               \
        for (int64_t i = i_; i < (n); i++) {                                \
            body;                                                           \
        }                                                                   \
    } while (0)

static void raw_fill(float *restrict y, float v, int64_t n) { BLOCKED(n, y[i] = v); }
static void raw_add(float *restrict y, const float *restrict x, int64_t n)
{
    BLOCKED(n, y[i] += x[i]);
}
static void raw_relu(float *restrict y, int64_t n) { BLOCKED(n, y[i] = y[i] > 0.0f ? y[i] : 0.0f); }
/* d = h > 0 ? d : 0 */
static void raw_relu_mask(float *restrict d, const float *restrict h, int64_t n)
{
    BLOCKED(n, d[i] = h[i] > 0.0f ? d[i] : 0.0f);
}

/* db [cols] = column sums of dy [rows,cols] */
static void raw_colsum(const float *dy, float *db, int rows, int cols)
{
    memset(db, 0, (size_t)cols * sizeof *db);
    for (int r = 0; r < rows; r++)
        raw_add(db, dy + (size_t)r * cols, cols);
}

static double raw_total(const float *y, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += y[i];
    return s;
}

/* ---- Linear(512,512) fwd + bwd of sum -------------------------------------- */

typedef struct lin_ctx {
    rec_graph *g;
    rec_pstore *ps;
    rec_tensor *w, *b;
    float *x;
    /* raw buffers */
    float *y, *dy, *dx, *dw, *db;
    double loss;
} lin_ctx;

static void run_linear_tape(void *p)
{
    lin_ctx *c = p;
    rec_graph_reset(c->g);
    rec_pstore_zero_grad(c->ps);
    int64_t s[2] = { ROWS, HID };
    rec_tensor *x = rec_tensor_wrap(c->g, c->x, 2, s);
    if (x)
        x->flags |= REC_T_GRAD;
    rec_tensor *loss = rec_sum(c->g, rec_linear(c->g, x, c->w, c->b));
    if (rec_backward(c->g, loss))
        die("linear (tape)");
    c->loss = loss->v[0];
}

static void run_linear_raw(void *p)
{
    lin_ctx *c = p;
    raw_linear(c->x, c->w->v, c->b->v, c->y, ROWS, HID, HID);
    c->loss = raw_total(c->y, (int64_t)ROWS * HID);
    raw_fill(c->dy, 1.0f, (int64_t)ROWS * HID);
    rec_sgemm(0, 0, ROWS, HID, HID, 1.0f, c->dy, HID, c->w->v, HID, 0.0f, c->dx, HID);
    rec_sgemm(1, 0, HID, HID, ROWS, 1.0f, c->dy, HID, c->x, HID, 0.0f, c->dw, HID);
    raw_colsum(c->dy, c->db, ROWS, HID);
}

static double max_rel_diff(const float *a, const float *b, int64_t n)
{
    double m = 0, scale = 1e-6;
    for (int64_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(b[i]));
    for (int64_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i] - b[i]));
    return m / scale;
}

static void bench_linear(int reps, double *tape, double *raw)
{
    lin_ctx c = { 0 };
    size_t act = (size_t)ROWS * HID * sizeof(float);
    if (rec_graph_create(&c.g) || rec_pstore_create(&c.ps))
        die("linear");
    int64_t ws[2] = { HID, HID }, bs[1] = { HID };
    c.w = rec_pstore_add(c.ps, "w", 2, ws, 0);
    c.b = rec_pstore_add(c.ps, "b", 1, bs, 0);
    if (!c.w || !c.b)
        die("linear");
    rec_rng r;
    rec_rng_seed(&r, 4);
    rec_init_uniform(c.w, &r, -1.0f / sqrtf(HID), 1.0f / sqrtf(HID));
    rec_init_uniform(c.b, &r, -1.0f / sqrtf(HID), 1.0f / sqrtf(HID));
    c.x = xalloc(act);
    fill_normal(c.x, (int64_t)ROWS * HID, &r, 1.0f);
    c.y = xalloc(act);
    c.dy = xalloc(act);
    c.dx = xalloc(act);
    c.dw = xalloc((size_t)HID * HID * sizeof(float));
    c.db = xalloc((size_t)HID * sizeof(float));

    /* Both paths must compute the same thing before their times mean anything. */
    run_linear_tape(&c);
    double lt = c.loss;
    run_linear_raw(&c);
    double e = fmax(max_rel_diff(c.w->g, c.dw, (int64_t)HID * HID),
                    max_rel_diff(c.b->g, c.db, HID));
    if (e > 1e-4 || fabs(lt - c.loss) > 1e-3 * fmax(1.0, fabs(c.loss))) {
        fprintf(stderr, "micro: linear tape and raw disagree (grad %g, loss %g vs %g)\n", e,
                lt, c.loss);
        exit(1);
    }
    *tape = bench2(run_linear_tape, run_linear_raw, &c, reps, 3, raw);
    rec_aligned_free(c.x, act);
    rec_aligned_free(c.y, act);
    rec_aligned_free(c.dy, act);
    rec_aligned_free(c.dx, act);
    rec_aligned_free(c.dw, (size_t)HID * HID * sizeof(float));
    rec_aligned_free(c.db, (size_t)HID * sizeof(float));
    rec_graph_destroy(c.g);
    rec_pstore_destroy(c.ps);
}

/* ---- MLP training step ------------------------------------------------------- */

typedef struct mlp_ctx {
    rec_graph *g;
    rec_pstore *ps;
    rec_optim *opt;
    rec_tensor *w1, *b1, *w2, *b2;
    float *x;
    float *h, *y, *dy, *dh; /* raw buffers, [ROWS, HID] each */
    double loss;
    int step;               /* 0: forward + backward only (for the check) */
} mlp_ctx;

static void run_mlp_tape(void *p)
{
    mlp_ctx *c = p;
    rec_graph *g = c->g;
    rec_graph_reset(g);
    int64_t s[2] = { ROWS, HID };
    rec_tensor *x = rec_tensor_wrap(g, c->x, 2, s);
    rec_tensor *h = rec_relu(g, rec_linear(g, x, c->w1, c->b1));
    rec_tensor *loss = rec_mean(g, rec_linear(g, h, c->w2, c->b2));
    if (rec_backward(g, loss))
        die("mlp (tape)");
    c->loss = loss->v[0];
    if (c->step && rec_optim_step(c->opt))
        die("mlp (tape) adam");
}

static void run_mlp_raw(void *p)
{
    mlp_ctx *c = p;
    int64_t n = (int64_t)ROWS * HID;
    raw_linear(c->x, c->w1->v, c->b1->v, c->h, ROWS, HID, HID);
    raw_relu(c->h, n);
    raw_linear(c->h, c->w2->v, c->b2->v, c->y, ROWS, HID, HID);
    c->loss = raw_total(c->y, n) / (double)n;
    raw_fill(c->dy, (float)(1.0 / (double)n), n);
    /* dW2 = dy^T h, db2, dh = dy W2 masked by relu, dW1 = dh^T x, db1 */
    rec_sgemm(1, 0, HID, HID, ROWS, 1.0f, c->dy, HID, c->h, HID, 0.0f, c->w2->g, HID);
    raw_colsum(c->dy, c->b2->g, ROWS, HID);
    rec_sgemm(0, 0, ROWS, HID, HID, 1.0f, c->dy, HID, c->w2->v, HID, 0.0f, c->dh, HID);
    raw_relu_mask(c->dh, c->h, n);
    rec_sgemm(1, 0, HID, HID, ROWS, 1.0f, c->dh, HID, c->x, HID, 0.0f, c->w1->g, HID);
    raw_colsum(c->dh, c->b1->g, ROWS, HID);
    if (c->step && rec_optim_step(c->opt))
        die("mlp (raw) adam");
}

static void bench_mlp(int reps, double *tape, double *raw)
{
    mlp_ctx c = { 0 };
    size_t act = (size_t)ROWS * HID * sizeof(float);
    if (rec_graph_create(&c.g) || rec_pstore_create(&c.ps))
        die("mlp");
    int64_t ws[2] = { HID, HID }, bs[1] = { HID };
    c.w1 = rec_pstore_add(c.ps, "w1", 2, ws, 0);
    c.b1 = rec_pstore_add(c.ps, "b1", 1, bs, 0);
    c.w2 = rec_pstore_add(c.ps, "w2", 2, ws, 0);
    c.b2 = rec_pstore_add(c.ps, "b2", 1, bs, 0);
    if (!c.w1 || !c.b1 || !c.w2 || !c.b2 || rec_optim_create(&c.opt, "adam", NULL, c.ps))
        die("mlp");
    rec_rng r;
    rec_rng_seed(&r, 5);
    float bound = 1.0f / sqrtf(HID);
    rec_init_uniform(c.w1, &r, -bound, bound);
    rec_init_uniform(c.b1, &r, -bound, bound);
    rec_init_uniform(c.w2, &r, -bound, bound);
    rec_init_uniform(c.b2, &r, -bound, bound);
    c.x = xalloc(act);
    fill_normal(c.x, (int64_t)ROWS * HID, &r, 1.0f);
    c.h = xalloc(act);
    c.y = xalloc(act);
    c.dy = xalloc(act);
    c.dh = xalloc(act);

    /* Same loss and gradients from both paths (before any update). */
    float *saved = xalloc((size_t)HID * HID * sizeof(float));
    run_mlp_tape(&c);
    double lt = c.loss;
    memcpy(saved, c.w1->g, (size_t)HID * HID * sizeof(float));
    run_mlp_raw(&c);
    double e = max_rel_diff(saved, c.w1->g, (int64_t)HID * HID);
    if (e > 1e-4 || fabs(lt - c.loss) > 1e-4 * fmax(1.0, fabs(c.loss))) {
        fprintf(stderr, "micro: mlp tape and raw disagree (dW1 %g, loss %g vs %g)\n", e, lt,
                c.loss);
        exit(1);
    }
    rec_aligned_free(saved, (size_t)HID * HID * sizeof(float));
    rec_pstore_zero_grad(c.ps);
    c.step = 1;
    *tape = bench2(run_mlp_tape, run_mlp_raw, &c, reps, 3, raw);
    rec_aligned_free(c.x, act);
    rec_aligned_free(c.h, act);
    rec_aligned_free(c.y, act);
    rec_aligned_free(c.dy, act);
    rec_aligned_free(c.dh, act);
    rec_optim_destroy(c.opt);
    rec_graph_destroy(c.g);
    rec_pstore_destroy(c.ps);
}

/* ---- embedding bag and gather -------------------------------------------------- */

typedef struct emb_ctx {
    rec_graph *g;
    rec_pstore *ps;
    rec_tensor *table;
    int32_t *ids, *offsets;
    rec_coalesce co;
    int coalesce;
    int nbags; /* bags of the forward-only runs (0: NBAGS) */
} emb_ctx;

static void emb_inputs(emb_ctx *c, rec_tensor **ids, rec_tensor **off)
{
    *ids = rec_tensor_wrap_i32(c->g, c->ids, NIDS);
    *off = rec_tensor_wrap_i32(c->g, c->offsets, NBAGS + 1);
}

static void run_embbag(void *p)
{
    emb_ctx *c = p;
    rec_graph_reset(c->g);
    if (c->table->g) /* dense: what PyTorch's freshly zeroed grad costs */
        rec_pstore_zero_grad(c->ps);
    rec_tensor *ids, *off;
    emb_inputs(c, &ids, &off);
    rec_tensor *out = rec_embedding_bag(c->g, c->table, ids, off, NULL, REC_REDUCE_MEAN);
    if (rec_backward(c->g, rec_sum(c->g, out)))
        die("embedding bag");
    if (c->coalesce && rec_rowgrad_coalesce(&c->co, c->table, "micro"))
        die("coalesce");
}

static void run_embbag_fwd(void *p)
{
    emb_ctx *c = p;
    rec_graph_reset(c->g);
    rec_graph_set_grad(c->g, 0);
    int nb = c->nbags ? c->nbags : NBAGS;
    rec_tensor *ids = rec_tensor_wrap_i32(c->g, c->ids, (int64_t)nb * BAG);
    rec_tensor *off = rec_tensor_wrap_i32(c->g, c->offsets, nb + 1);
    rec_tensor *out = rec_embedding_bag(c->g, c->table, ids, off, NULL, REC_REDUCE_MEAN);
    rec_graph_set_grad(c->g, 1);
    if (!out)
        die("embedding bag (forward)");
}

static void run_gather(void *p)
{
    emb_ctx *c = p;
    rec_graph_reset(c->g);
    if (c->table->g)
        rec_pstore_zero_grad(c->ps);
    rec_tensor *ids = rec_tensor_wrap_i32(c->g, c->ids, NIDS);
    rec_tensor *out = rec_gather(c->g, c->table, ids, -1);
    if (rec_backward(c->g, rec_sum(c->g, out)))
        die("gather");
}

static void run_gather_fwd(void *p)
{
    emb_ctx *c = p;
    rec_graph_reset(c->g);
    rec_graph_set_grad(c->g, 0);
    rec_tensor *ids = rec_tensor_wrap_i32(c->g, c->ids, NIDS);
    rec_tensor *out = rec_gather(c->g, c->table, ids, -1);
    rec_graph_set_grad(c->g, 1);
    if (!out)
        die("gather (forward)");
}

/* The ceiling: every line of each row read at random (one float from each
 * 64-byte line, four scalar sums: the shortest loop body, so the most rows
 * in flight), with the gathers' prefetch distance and thread split, and
 * nothing else done with them. */
#if defined(__x86_64__) && defined(__GNUC__)
#define PF(p) __asm__ volatile("prefetcht0 %0" : : "m"(*(const char *)(p)))
#else
#define PF(p) __builtin_prefetch(p)
#endif

typedef struct ceil_ctx {
    const float *table;
    const int32_t *ids;
    float part[64];
} ceil_ctx;

static void ceiling_rows(void *arg, int64_t b, int64_t e, int chunk)
{
    ceil_ctx *c = arg;
    int64_t ahead = rec_rowgather_ahead(DIM);
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (int64_t i = b; i < e; i++) {
        if (i + ahead < e) {
            const char *p = (const char *)(c->table + (int64_t)c->ids[i + ahead] * DIM);
            PF(p);
            PF(p + 64);
            PF(p + 128);
            PF(p + 192);
        }
        const float *restrict r = c->table + (int64_t)c->ids[i] * DIM;
        s0 += r[0], s1 += r[16], s2 += r[32], s3 += r[48];
    }
    c->part[chunk % 64] = s0 + s1 + s2 + s3;
}

static void run_ceiling(void *p)
{
    emb_ctx *c = p;
    static ceil_ctx cc;
    cc.table = c->table->v;
    cc.ids = c->ids;
    rec_parallel_chunks(NIDS, rec_rg_chunks(NIDS, DIM, 4), ceiling_rows, &cc);
}

/* The small-input sweep: bags of 20 ids, forward only (tape off). */
static const int SMALL_BAGS[] = { 4, 16, 64, 256, 1024 };
#define NSMALL (int)(sizeof SMALL_BAGS / sizeof *SMALL_BAGS)

typedef struct emb_times {
    double sparse, sparse_coalesce, dense, fwd, gather_sparse, gather_dense, gather_fwd,
        ceiling, small[NSMALL];
} emb_times;

static void emb_table(emb_ctx *c, unsigned flags)
{
    rec_pstore_destroy(c->ps);
    c->ps = NULL;
    int64_t s[2] = { NTAB, DIM };
    if (rec_pstore_create(&c->ps) || !(c->table = rec_pstore_add(c->ps, "emb", 2, s, flags)))
        die("embedding table");
    rec_rng r;
    rec_rng_seed(&r, 6);
    /* nn.Embedding draws N(0, 1); the values do not change the timing, and
     * uniform fills 64M values many times faster. */
    rec_init_uniform(c->table, &r, -1.0f, 1.0f);
}

static void bench_emb(int reps, emb_times *t)
{
    emb_ctx c = { 0 };
    if (rec_graph_create(&c.g))
        die("embedding");
    rec_coalesce_init(&c.co);
    c.ids = rec_malloc(NIDS * sizeof *c.ids);
    c.offsets = rec_malloc((NBAGS + 1) * sizeof *c.offsets);
    if (!c.ids || !c.offsets)
        die("embedding");
    rec_rng r;
    rec_rng_seed(&r, 1);
    for (int i = 0; i < NIDS; i++)
        c.ids[i] = (int32_t)rec_rng_below(&r, NTAB);
    for (int b = 0; b <= NBAGS; b++)
        c.offsets[b] = b * BAG;

    emb_table(&c, REC_T_SPARSE);
    t->sparse = bench(run_embbag, &c, reps, 3);
    c.coalesce = 1;
    t->sparse_coalesce = bench(run_embbag, &c, reps, 3);
    c.coalesce = 0;
    t->gather_sparse = bench(run_gather, &c, reps, 3);
    emb_table(&c, 0);
    t->dense = bench(run_embbag, &c, reps, 3);
    t->fwd = bench(run_embbag_fwd, &c, reps, 3);
    for (int k = 0; k < NSMALL; k++) {
        c.nbags = SMALL_BAGS[k];
        t->small[k] = bench(run_embbag_fwd, &c, reps * 10, 5);
    }
    c.nbags = 0;
    t->gather_dense = bench(run_gather, &c, reps, 3);
    /* alternated, so a change of load hits both sides of the fraction */
    t->gather_fwd = bench2(run_gather_fwd, run_ceiling, &c, reps, 3, &t->ceiling);

    rec_coalesce_free(&c.co);
    rec_free(c.ids, NIDS * sizeof *c.ids);
    rec_free(c.offsets, (NBAGS + 1) * sizeof *c.offsets);
    rec_graph_destroy(c.g);
    rec_pstore_destroy(c.ps);
}

/* ---- main ---------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    const char *threads = "2,1";
    const char *only = NULL;
    int reps = 20, sgemm_n = 4096, sgemm_reps = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--sgemm-n") && i + 1 < argc)
            sgemm_n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--sgemm-reps") && i + 1 < argc)
            sgemm_reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--ahead") && i + 1 < argc)
            rec_rowgather_set_ahead(atoi(argv[++i]));
        else if (!strcmp(argv[i], "--min-work") && i + 1 < argc)
            rec_rowgather_set_min_work(atoll(argv[++i]));
        else {
            fprintf(stderr, "usage: %s [--threads 2,1] [--reps N] [--sgemm-n N] "
                    "[--sgemm-reps N] [--only sgemm|linear|mlp|emb] [--ahead ROWS] "
                    "[--min-work FLOATS]\n", argv[0]);
            return 2;
        }
    }
    if (reps < 1 || sgemm_reps < 1 || sgemm_n < 1) {
        fprintf(stderr, "micro: reps and sizes must be positive\n");
        return 2;
    }
    put("{\"workload\": \"librec_micro\", \"results\": {");
    const char *p = threads;
    int firstt = 1;
    while (*p) {
        char *end;
        long nt = strtol(p, &end, 10);
        if (end == p || nt < 1) {
            fprintf(stderr, "micro: bad --threads '%s'\n", threads);
            return 2;
        }
        p = *end == ',' ? end + 1 : end;
        if (rec_set_num_threads((int)nt))
            die("rec_set_num_threads");
        fprintf(stderr, "threads %ld\n", nt);
        put("%s\"threads_%ld\": {", firstt ? "" : ", ", nt);
        firstt = 0;
        first_key = 1;

        if (!only || !strcmp(only, "sgemm")) {
            result("sgemm_gflops", bench_sgemm(sgemm_n, sgemm_reps));
            result("sgemm_n", sgemm_n);
        }
        double tape, raw;
        if (!only || !strcmp(only, "linear")) {
            bench_linear(reps * 5, &tape, &raw);
            result("linear512_fwd_bwd_ms", tape * 1e3);
            result("linear512_fwd_bwd_gflops", 3 * 2.0 * ROWS * HID * HID / tape / 1e9);
            result("linear512_raw_ms", raw * 1e3);
            result("linear512_tape_overhead_pct", (tape / raw - 1) * 100);
        }
        if (!only || !strcmp(only, "mlp")) {
            bench_mlp(reps * 5, &tape, &raw);
            result("mlp512_step_ms", tape * 1e3);
            result("mlp512_raw_ms", raw * 1e3);
            result("mlp512_tape_overhead_pct", (tape / raw - 1) * 100);
        }
        if (only && strcmp(only, "emb")) {
            put("}");
            continue;
        }
        emb_times et;
        bench_emb(reps, &et);
        result("embbag_fwd_bwd_ms_sparse", et.sparse * 1e3);
        result("embbag_fwd_bwd_coalesce_ms_sparse", et.sparse_coalesce * 1e3);
        result("embbag_fwd_bwd_ms_dense", et.dense * 1e3);
        result("embbag_fwd_only_ms", et.fwd * 1e3);
        result("gather_fwd_bwd_ms_sparse", et.gather_sparse * 1e3);
        result("gather_fwd_bwd_ms_dense", et.gather_dense * 1e3);
        result("gather_fwd_only_ms", et.gather_fwd * 1e3);
        result("gather_mrows_per_s", NIDS / et.gather_fwd / 1e6);
        result("ceiling_mrows_per_s", NIDS / et.ceiling / 1e6);
        result("gather_fraction_of_ceiling", et.ceiling / et.gather_fwd);
        result("embbag_fwd_mrows_per_s", NIDS / et.fwd / 1e6);
        for (int k = 0; k < NSMALL; k++) {
            char key[64];
            snprintf(key, sizeof key, "embbag_fwd_us_%d_bags", SMALL_BAGS[k]);
            result(key, et.small[k] * 1e6);
        }
        put("}");
    }
    put("}, \"env\": {\"librec\": \"%s\", \"blas\": \"%s\", \"OPENBLAS_CORETYPE\": \"%s\"}}",
        rec_version(), rec_blas_name(),
        getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "");
    printf("%s\n", out_buf);
    return 0;
}
