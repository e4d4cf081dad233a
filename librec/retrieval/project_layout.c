/* rec_project_neighbors: UMAP's layout (McInnes, Healy and Melville, 2018,
 * section 3 and the reference code's optimize_layout_euclidean) over the
 * fuzzy neighbour graph of project_knn.c.
 *
 * In the plane, points i and j at squared distance d2 are neighbours with
 * probability q = 1 / (1 + a d2^b).  Each epoch pulls the ends of every
 * edge sampled (edge e every max_w / w_e epochs, so heavy edges pull more)
 * along the gradient of log q, and pushes the edge's head away from
 * `negatives` random points along that of log(1 - q); the step shrinks
 * linearly to 0.  Why not t-SNE: its repulsion needs all pairs (or a
 * Barnes-Hut tree) each step; negative sampling needs a few per edge, so
 * 10000 points take seconds.  The start is the PCA map scaled to [-10, 10]
 * (UMAP starts from a spectral layout; PCA is cheaper and also keeps the
 * global shape), with a tiny seeded jitter so equal vectors can part. */
#include "project-impl.h"

#include <librec/retrieval.h>
#include <math.h>
#include <string.h>

static const rec_param_spec spec[] = {
    { "neighbors", REC_PARAM_INT, "15", 2, 200, NULL, "neighbours per vector" },
    { "min_dist", REC_PARAM_FLOAT, "0.1", 0, 1, NULL, "how tightly neighbours may pack" },
    { "epochs", REC_PARAM_INT, "0", 0, 100000, NULL,
      "passes of the layout (0: 500 up to 10000 vectors, else 200)" },
    { "negatives", REC_PARAM_INT, "5", 1, 50, NULL, "random pairs pushed apart per edge" },
    { "lr", REC_PARAM_FLOAT, "1.0", 1e-6, 10, NULL, "first step size, decaying to 0" },
    { "metric", REC_PARAM_STR, "cosine", 0, 0, "cosine|euclidean", "distance of the vectors" },
    { "knn", REC_PARAM_STR, "auto", 0, 0, "auto|flat|hnsw",
      "neighbour index (auto: flat up to 20000 vectors)" },
    { "seed", REC_PARAM_INT, "42", 0, 9.007199254740992e15, NULL, "jitter and negative samples" },
};
#define NSPEC (sizeof spec / sizeof *spec)

void rec_umap_curve(double min_dist, double *a_out, double *b_out)
{
    /* Levenberg-Marquardt on 300 points of [0, 3], as scipy's curve_fit. */
    enum { NPT = 300 };
    double a = 1, b = 1, lambda = 1e-3;
    double sse = INFINITY;
    for (int it = 0; it < 200; it++) {
        double jtj[3] = { 0, 0, 0 }, jtr[2] = { 0, 0 }, cur = 0;
        for (int t = 1; t < NPT; t++) { /* x = 0: f = 1 = y for any a, b */
            double x = 3.0 * t / (NPT - 1), y = x < min_dist ? 1 : exp(-(x - min_dist));
            double p = pow(x, 2 * b), f = 1 / (1 + a * p), r = f - y;
            double ja = -p * f * f, jb = -a * p * 2 * log(x) * f * f;
            jtj[0] += ja * ja;
            jtj[1] += ja * jb;
            jtj[2] += jb * jb;
            jtr[0] += ja * r;
            jtr[1] += jb * r;
            cur += r * r;
        }
        if (it == 0)
            sse = cur;
        for (int tries = 0; tries < 20; tries++) {
            double m00 = jtj[0] * (1 + lambda), m11 = jtj[2] * (1 + lambda), m01 = jtj[1];
            double det = m00 * m11 - m01 * m01;
            double da = -(m11 * jtr[0] - m01 * jtr[1]) / det;
            double db = -(m00 * jtr[1] - m01 * jtr[0]) / det;
            double na = a + da, nb = b + db, next = 0;
            if (na > 0 && nb > 0 && isfinite(det))
                for (int t = 1; t < NPT; t++) {
                    double x = 3.0 * t / (NPT - 1), y = x < min_dist ? 1 : exp(-(x - min_dist));
                    double r = 1 / (1 + na * pow(x, 2 * nb)) - y;
                    next += r * r;
                }
            else
                next = INFINITY;
            if (next < sse) {
                a = na;
                b = nb;
                sse = next;
                lambda /= 10;
                break;
            }
            lambda *= 10;
        }
    }
    *a_out = a;
    *b_out = b;
}

static float clip4(float g)
{
    return g > 4 ? 4 : g < -4 ? -4 : g;
}

/* The SGD of the file comment over y [n, 2], on the calling thread. */
static void layout(float *y, size_t n, const rec_fuzzy_graph *g, int epochs, int negatives,
                   double lr, double a, double b, uint64_t seed, double *per_sample,
                   double *next_pos, double *next_neg)
{
    float wmax = 0;
    for (size_t e = 0; e < g->nedges; e++)
        wmax = g->w[e] > wmax ? g->w[e] : wmax;
    for (size_t e = 0; e < g->nedges; e++) {
        /* Edges too light to be sampled once in the run are left out, as UMAP does. */
        per_sample[e] = g->w[e] >= wmax / epochs ? (double)wmax / g->w[e] : -1;
        next_pos[e] = per_sample[e];
        next_neg[e] = per_sample[e] / negatives;
    }
    rec_rng rng;
    rec_rng_stream(&rng, seed, 1);
    float fa = (float)a, fb = (float)b;
    for (int ep = 0; ep < epochs; ep++) {
        float alpha = (float)(lr * (1 - (double)ep / epochs));
        for (size_t e = 0; e < g->nedges; e++) {
            if (per_sample[e] < 0 || next_pos[e] > ep)
                continue;
            float *yi = y + 2 * (size_t)g->head[e], *yj = y + 2 * (size_t)g->tail[e];
            float dx = yi[0] - yj[0], dy = yi[1] - yj[1], d2 = dx * dx + dy * dy;
            if (d2 > 0) {
                /* d log q / d d2, times 2 for d(d2)/dy */
                float pb = powf(d2, fb);
                float coef = -2 * fa * fb * pb / d2 / (fa * pb + 1);
                float gx = clip4(coef * dx) * alpha, gy = clip4(coef * dy) * alpha;
                yi[0] += gx;
                yi[1] += gy;
                yj[0] -= gx;
                yj[1] -= gy;
            }
            next_pos[e] += per_sample[e];
            double per_neg = per_sample[e] / negatives;
            int nneg = (int)((ep - next_neg[e]) / per_neg);
            for (int s = 0; s < nneg; s++) {
                uint32_t k = rec_rng_below(&rng, (uint32_t)n);
                if (k == (uint32_t)g->head[e])
                    continue;
                float *yk = y + 2 * (size_t)k;
                dx = yi[0] - yk[0];
                dy = yi[1] - yk[1];
                d2 = dx * dx + dy * dy;
                if (d2 > 0) {
                    float coef = 2 * fb / ((0.001f + d2) * (fa * powf(d2, fb) + 1));
                    yi[0] += clip4(coef * dx) * alpha;
                    yi[1] += clip4(coef * dy) * alpha;
                } else {
                    yi[0] += 4 * alpha; /* on top of each other: any push parts them */
                    yi[1] += 4 * alpha;
                }
            }
            next_neg[e] += nneg * per_neg;
        }
    }
}

/* The start: the PCA map (of the unit rows for cosine) scaled into
 * [-10, 10], or seeded uniform points when it is flat or dim too large. */
static rec_status start(const float *x, size_t n, int dim, int cosine, uint64_t seed, float *y,
                        const char *fn)
{
    rec_rng rng;
    rec_rng_stream(&rng, seed, 0);
    memset(y, 0, n * 2 * sizeof *y);
    if (dim <= 1024) {
        const float *src = x;
        float *unit = NULL;
        size_t usize = n * (size_t)dim * sizeof *unit;
        if (cosine) {
            if (!(unit = rec_malloc(usize)))
                return rec_nomem(fn);
            for (size_t i = 0; i < n; i++) {
                double s = 0;
                for (int c = 0; c < dim; c++)
                    s += (double)x[i * (size_t)dim + c] * x[i * (size_t)dim + c];
                float inv = s > 0 ? (float)(1 / sqrt(s)) : 0;
                for (int c = 0; c < dim; c++)
                    unit[i * (size_t)dim + c] = x[i * (size_t)dim + c] * inv;
            }
            src = unit;
        }
        int k = dim < 2 ? 1 : 2;
        float *p = rec_malloc(n * (size_t)k * sizeof *p);
        rec_status st = p ? rec_pca_unchecked(src, n, dim, k, p, NULL, NULL, NULL, fn)
                          : rec_nomem(fn);
        rec_free(unit, usize);
        if (st) {
            rec_free(p, n * (size_t)k * sizeof *p);
            return st;
        }
        for (size_t i = 0; i < n; i++)
            for (int c = 0; c < k; c++)
                y[2 * i + (size_t)c] = p[i * (size_t)k + (size_t)c];
        rec_free(p, n * (size_t)k * sizeof *p);
    }
    float big = 0;
    for (size_t i = 0; i < 2 * n; i++)
        big = fabsf(y[i]) > big ? fabsf(y[i]) : big;
    for (size_t i = 0; i < 2 * n; i++)
        y[i] = big > 0 ? y[i] * (10 / big) + 1e-4f * rec_rng_normal(&rng)
                       : 20 * rec_rng_uniform(&rng) - 10;
    return REC_OK;
}

REC_API rec_status rec_project_neighbors(const float *x, size_t n, int dim,
                                         const rec_params *params, float *out)
{
    static const char fn[] = "rec_project_neighbors";
    REC_TRY(rec_project_check(x, n, dim, fn));
    REC_CHECK_ARG(out, fn, "out is NULL");
    if (params)
        REC_TRY(rec_params_check(params, spec, NSPEC, fn));
    int k = (int)rec_params_int(params, spec, NSPEC, "neighbors");
    int epochs = (int)rec_params_int(params, spec, NSPEC, "epochs");
    int negatives = (int)rec_params_int(params, spec, NSPEC, "negatives");
    double min_dist = rec_params_flt(params, spec, NSPEC, "min_dist");
    double lr = rec_params_flt(params, spec, NSPEC, "lr");
    int cosine = strcmp(rec_params_str(params, spec, NSPEC, "metric"), "cosine") == 0;
    const char *knn = rec_params_str(params, spec, NSPEC, "knn");
    int hnsw = !strcmp(knn, "hnsw") || (!strcmp(knn, "auto") && n > 20000);
    uint64_t seed = (uint64_t)rec_params_int(params, spec, NSPEC, "seed");
    if (epochs == 0)
        epochs = n <= 10000 ? 500 : 200;
    if ((size_t)k > n - 1)
        k = (int)(n - 1);
    float *y = rec_malloc(n * 2 * sizeof *y);
    if (!y)
        return rec_nomem(fn);
    rec_status st = start(x, n, dim, cosine, seed, y, fn);
    if (st || k == 0) {
        if (!st)
            memcpy(out, y, n * 2 * sizeof *y);
        rec_free(y, n * 2 * sizeof *y);
        return st;
    }
    size_t nk = n * (size_t)k;
    int32_t *nbr = rec_malloc(nk * sizeof *nbr);
    float *dist = rec_malloc(nk * sizeof *dist);
    rec_fuzzy_graph g = { 0 };
    double *sched = NULL;
    size_t ssize = 0;
    if (!nbr || !dist) {
        st = rec_nomem(fn);
        goto done;
    }
    if ((st = rec_knn_lists(x, n, dim, k, cosine, hnsw, seed, nbr, dist, fn)) ||
        (st = rec_fuzzy_graph_build(n, k, nbr, dist, &g, fn)))
        goto done;
    ssize = 3 * (g.nedges ? g.nedges : 1) * sizeof *sched;
    if (!(sched = rec_malloc(ssize))) {
        st = rec_nomem(fn);
        goto done;
    }
    double a, b;
    rec_umap_curve(min_dist, &a, &b);
    layout(y, n, &g, epochs, negatives, lr, a, b, seed, sched, sched + g.nedges,
           sched + 2 * g.nedges);
    memcpy(out, y, n * 2 * sizeof *y);
done:
    rec_free(y, n * 2 * sizeof *y);
    rec_free(nbr, nk * sizeof *nbr);
    rec_free(dist, nk * sizeof *dist);
    rec_free(sched, ssize);
    rec_fuzzy_graph_free(&g);
    return st;
}
