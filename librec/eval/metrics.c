/* Pure metric functions over one user's ranking (see eval-impl.h for the
 * position convention) and over one recommended list. */
#include "eval-impl.h"

#include <math.h>

/* Hits among the first k positions. */
static size_t hits(const int64_t *pos, size_t npos, int k)
{
    size_t h = 0;
    while (h < npos && pos[h] < k)
        h++;
    return h;
}

double rec_metric_hit(const int64_t *pos, size_t npos, size_t nrel, int k)
{
    (void)nrel;
    return hits(pos, npos, k) > 0 ? 1.0 : 0.0;
}

double rec_metric_precision(const int64_t *pos, size_t npos, size_t nrel, int k)
{
    (void)nrel;
    return (double)hits(pos, npos, k) / k;
}

double rec_metric_recall(const int64_t *pos, size_t npos, size_t nrel, int k)
{
    return nrel ? (double)hits(pos, npos, k) / (double)nrel : 0.0;
}

double rec_metric_ndcg(const int64_t *pos, size_t npos, size_t nrel, int k)
{
    double dcg = 0, idcg = 0;
    size_t h = hits(pos, npos, k);
    for (size_t j = 0; j < h; j++)
        dcg += 1.0 / log2((double)pos[j] + 2.0);
    size_t ideal = nrel < (size_t)k ? nrel : (size_t)k;
    for (size_t j = 0; j < ideal; j++)
        idcg += 1.0 / log2((double)j + 2.0);
    return idcg > 0 ? dcg / idcg : 0.0;
}

double rec_metric_map(const int64_t *pos, size_t npos, size_t nrel, int k)
{
    size_t h = hits(pos, npos, k);
    size_t denom = nrel < (size_t)k ? nrel : (size_t)k;
    double s = 0;
    /* The j-th hit (0-based) sits at pos[j]: precision there is (j+1)/(pos+1). */
    for (size_t j = 0; j < h; j++)
        s += (double)(j + 1) / ((double)pos[j] + 1.0);
    return denom ? s / (double)denom : 0.0;
}

double rec_metric_mrr(const int64_t *pos, size_t npos, size_t nrel, int k)
{
    (void)nrel;
    if (npos == 0 || (k > 0 && pos[0] >= k))
        return 0.0;
    return 1.0 / ((double)pos[0] + 1.0);
}

double rec_metric_auc(const int64_t *gt, const int64_t *eq, size_t nrel, int64_t nneg)
{
    if (nrel == 0 || nneg <= 0)
        return NAN;
    double won = 0;
    for (size_t j = 0; j < nrel; j++)
        won += (double)(nneg - gt[j] - eq[j]) + 0.5 * (double)eq[j];
    return won / ((double)nrel * (double)nneg);
}

size_t rec_metric_positions(const int32_t *list, size_t n, const int32_t *rel, size_t nrel,
                            int64_t *pos)
{
    size_t np = 0;
    for (size_t p = 0; p < n; p++)
        for (size_t j = 0; j < nrel; j++)
            if (rel[j] == list[p]) {
                pos[np++] = (int64_t)p;
                break;
            }
    return np;
}

/* |a ∩ b| of two ascending lists. */
static int64_t common(const int32_t *a, int64_t na, const int32_t *b, int64_t nb)
{
    int64_t i = 0, j = 0, c = 0;
    while (i < na && j < nb) {
        if (a[i] < b[j])
            i++;
        else if (a[i] > b[j])
            j++;
        else
            c++, i++, j++;
    }
    return c;
}

double rec_metric_diversity(const int32_t *list, size_t n, const int64_t *ptr,
                            const int32_t *users)
{
    if (n < 2)
        return NAN;
    double s = 0;
    for (size_t a = 0; a < n; a++)
        for (size_t b = a + 1; b < n; b++) {
            int32_t i = list[a], j = list[b];
            int64_t ni = ptr[i + 1] - ptr[i], nj = ptr[j + 1] - ptr[j];
            double cos = 0;
            if (ni > 0 && nj > 0)
                cos = (double)common(users + ptr[i], ni, users + ptr[j], nj) /
                      sqrt((double)ni * (double)nj);
            s += 1.0 - cos;
        }
    return s / ((double)n * (double)(n - 1) / 2.0);
}

double rec_metric_novelty(const int32_t *list, size_t n, const int64_t *deg, int64_t nusers)
{
    if (n == 0 || nusers <= 0)
        return NAN;
    double s = 0;
    for (size_t p = 0; p < n; p++) {
        int64_t d = deg[list[p]] > 0 ? deg[list[p]] : 1;
        s += log2((double)nusers / (double)d);
    }
    return s / (double)n;
}
