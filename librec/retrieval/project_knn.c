/* The neighbour graph a 2-D map keeps: every vector's k nearest (by the
 * library's own indexes) and UMAP's fuzzy weights over them.
 * Euclidean neighbours come from an inner-product index: with stored rows
 * b = [x, -|x|^2 / 2] and queries [q, 1], the score q.x - |x|^2 / 2 ranks
 * like -|q - x|^2 (the |q|^2 term is the same for every row).  An HNSW
 * graph over inner products navigates badly (it is no metric: 0.69 of the
 * 10 nearest kept on clusters a cosine graph keeps entirely), so for HNSW
 * the rows become unit vectors [b / M, sqrt(1 - |b|^2 / M^2)], M the
 * largest |b|, and queries [q, 1, 0]: their cosine still ranks like
 * q.x - |x|^2 / 2 (Bachrach et al., RecSys 2014). */
#include "project-impl.h"

#include <librec/retrieval.h>
#include <math.h>
#include <string.h>

static double exact_dist(const float *a, const float *b, int dim, int cosine)
{
    double s = 0, na = 0, nb = 0;
    for (int c = 0; c < dim; c++) {
        if (cosine) {
            s += (double)a[c] * b[c];
            na += (double)a[c] * a[c];
            nb += (double)b[c] * b[c];
        } else {
            double t = (double)a[c] - b[c];
            s += t * t;
        }
    }
    if (!cosine)
        return sqrt(s);
    double d = na > 0 && nb > 0 ? 1 - s / sqrt(na * nb) : 1; /* a zero vector is unrelated */
    return d > 0 ? d : 0;
}

rec_status rec_knn_lists(const float *x, size_t n, int dim, int k, int cosine, int hnsw,
                         uint64_t seed, int32_t *nbr, float *dist, const char *fn)
{
    int unit = !cosine && hnsw; /* the unit-vector form of the file comment */
    int cols = cosine ? dim : dim + 1 + unit;
    size_t kk = (size_t)k + 1; /* the vector itself is usually its own best match */
    rec_params *p = NULL;
    rec_index *ix = NULL;
    float *base = NULL, *scores = NULL;
    int32_t *labels = NULL;
    size_t bsize = n * (size_t)cols * sizeof *base;
    rec_status st = rec_params_create(&p);
    if (!st)
        st = rec_params_set_str(p, "metric", cosine || unit ? "cosine" : "ip");
    if (!st && hnsw)
        st = rec_params_set_int(p, "seed", (int64_t)(seed & INT64_MAX));
    if (!st)
        st = rec_index_create_kind(&ix, hnsw ? "hnsw" : "flat", cols, p);
    if (st)
        goto done;
    base = rec_malloc(bsize);
    labels = rec_malloc(n * kk * sizeof *labels);
    scores = rec_malloc(n * kk * sizeof *scores);
    if (!base || !labels || !scores) {
        st = rec_nomem(fn);
        goto done;
    }
    double big = 0;
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * (size_t)dim;
        float *bi = base + i * (size_t)cols;
        memcpy(bi, xi, (size_t)dim * sizeof *bi);
        if (!cosine) {
            double sq = 0;
            for (int c = 0; c < dim; c++)
                sq += (double)xi[c] * xi[c];
            bi[dim] = (float)(-sq / 2);
            double nb = sq + (sq / 2) * (sq / 2);
            big = nb > big ? nb : big;
        }
    }
    if (unit && big > 0)
        for (size_t i = 0; i < n; i++) {
            float *bi = base + i * (size_t)cols;
            double nb = 0;
            for (int c = 0; c <= dim; c++)
                nb += (double)bi[c] * bi[c];
            /* Every row's norm becomes M, so the index's normalising
             * divides all of them by the same M. */
            bi[dim + 1] = (float)sqrt(big - nb > 0 ? big - nb : 0);
        }
    if ((st = rec_index_add_labels(ix, base, n, NULL)))
        goto done;
    if (!cosine)
        for (size_t i = 0; i < n; i++) { /* the rows become the queries */
            base[i * (size_t)cols + (size_t)dim] = 1;
            if (unit)
                base[i * (size_t)cols + (size_t)dim + 1] = 0;
        }
    /* ef: a search as wide as 4k finds nearly every true neighbour (HNSW). */
    size_t ef = kk * 4 > 64 ? kk * 4 : 64;
    if ((st = rec_index_search_ef(ix, base, n, kk, ef, NULL, labels, scores)))
        goto done;
    for (size_t i = 0; i < n; i++) {
        const int32_t *li = labels + i * kk;
        size_t self = kk - 1; /* not found (ties with duplicates): drop the last */
        for (size_t j = 0; j < kk; j++)
            if (li[j] == (int32_t)i) {
                self = j;
                break;
            }
        for (size_t j = 0, m = 0; j < kk; j++) {
            if (j == self)
                continue;
            int32_t l = li[j];
            nbr[i * (size_t)k + m] = l;
            dist[i * (size_t)k + m] =
                l < 0 ? INFINITY
                      : (float)exact_dist(x + i * (size_t)dim, x + (size_t)l * dim, dim, cosine);
            m++;
        }
    }
done:
    rec_params_destroy(p);
    rec_index_destroy(ix);
    rec_free(base, bsize);
    rec_free(labels, n * kk * sizeof *labels);
    rec_free(scores, n * kk * sizeof *scores);
    return st;
}

/* sigma of one vector: sum_j exp(-(d_j - rho) / sigma) = log2(k), by
 * bisection (the sum grows with sigma), as UMAP's smooth_knn_dist. */
static double smooth_sigma(const float *d, int k, double rho, double mean_all)
{
    double mean_i = 0;
    int finite = 0;
    for (int j = 0; j < k; j++)
        if (isfinite(d[j])) {
            mean_i += d[j];
            finite++;
        }
    mean_i = finite ? mean_i / finite : 0;
    double target = log2((double)k), lo = 0, hi = INFINITY, mid = 1;
    for (int it = 0; it < 64; it++) {
        double s = 0;
        for (int j = 0; j < k; j++)
            if (isfinite(d[j]))
                s += d[j] > rho ? exp(-(d[j] - rho) / mid) : 1;
        if (fabs(s - target) < 1e-5)
            break;
        if (s > target) {
            hi = mid;
            mid = (lo + hi) / 2;
        } else {
            lo = mid;
            mid = isinf(hi) ? mid * 2 : (lo + hi) / 2;
        }
    }
    /* Never so small that the nearest neighbour takes all the weight. */
    double floor_ = 1e-3 * (rho > 0 ? mean_i : mean_all);
    return mid > floor_ ? mid : floor_ > 0 ? floor_ : 1e-3;
}

rec_status rec_fuzzy_graph_build(size_t n, int k, const int32_t *nbr, const float *dist,
                                 rec_fuzzy_graph *g, const char *fn)
{
    memset(g, 0, sizeof *g);
    size_t nk = n * (size_t)k, cap = nk > 0 ? 2 * nk : 1;
    g->cap = cap;
    float *w = rec_malloc((nk ? nk : 1) * sizeof *w);
    g->head = rec_malloc(cap * sizeof *g->head);
    g->tail = rec_malloc(cap * sizeof *g->tail);
    g->w = rec_malloc(cap * sizeof *g->w);
    if (!w || !g->head || !g->tail || !g->w) {
        rec_free(w, (nk ? nk : 1) * sizeof *w);
        rec_fuzzy_graph_free(g);
        return rec_nomem(fn);
    }
    double mean_all = 0;
    size_t finite = 0;
    for (size_t e = 0; e < nk; e++)
        if (isfinite(dist[e])) {
            mean_all += dist[e];
            finite++;
        }
    mean_all = finite ? mean_all / (double)finite : 0;
    for (size_t i = 0; i < n; i++) {
        const float *d = dist + i * (size_t)k;
        double rho = 0;
        for (int j = 0; j < k; j++)
            if (isfinite(d[j]) && d[j] > 0) {
                rho = d[j];
                break;
            }
        double sigma = smooth_sigma(d, k, rho, mean_all);
        for (int j = 0; j < k; j++)
            w[i * (size_t)k + (size_t)j] =
                !isfinite(d[j]) ? 0 : d[j] <= rho ? 1 : (float)exp(-(d[j] - rho) / sigma);
    }
    /* Fuzzy union: pair (i, j) weighs a + b - ab, a = w(i->j), b = w(j->i)
     * (0 when j's list lacks i); both directions become edges, so each
     * vector is pulled by every pair it is in. */
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        for (int a = 0; a < k; a++) {
            int32_t j = nbr[i * (size_t)k + (size_t)a];
            float wa = w[i * (size_t)k + (size_t)a];
            if (j < 0 || wa <= 0)
                continue;
            float wb = 0;
            int back = 0;
            for (int b = 0; b < k; b++)
                if (nbr[(size_t)j * k + (size_t)b] == (int32_t)i) {
                    wb = w[(size_t)j * k + (size_t)b];
                    back = wb > 0;
                    break;
                }
            /* A pair in both lists is emitted once from each side. */
            float wu = wa + wb - wa * wb;
            g->head[m] = (int32_t)i;
            g->tail[m] = j;
            g->w[m++] = wu;
            if (!back) {
                g->head[m] = j;
                g->tail[m] = (int32_t)i;
                g->w[m++] = wu;
            }
        }
    g->nedges = m;
    rec_free(w, (nk ? nk : 1) * sizeof *w);
    return REC_OK;
}

void rec_fuzzy_graph_free(rec_fuzzy_graph *g)
{
    rec_free(g->head, g->cap * sizeof *g->head);
    rec_free(g->tail, g->cap * sizeof *g->tail);
    rec_free(g->w, g->cap * sizeof *g->w);
    memset(g, 0, sizeof *g);
}
