/* Re-ranking stages for variety: per-group caps and MMR (maximal marginal
 * relevance, Carbonell & Goldstein 1998) over item vectors or groups. */
#include "rerank-impl.h"

#include <math.h>
#include <string.h>

rec_status rr_cap(const rec_rerank_stage *s, rr_list *l, const rr_call *c)
{
    size_t ng = s->ngroups ? (size_t)s->ngroups : 1;
    int64_t *count = rec_calloc(ng, sizeof *count);
    if (!count)
        return rec_nomem(RR_APPLY);
    size_t m = 0;
    for (size_t j = 0; j < l->n; j++) {
        int32_t g = s->groups[l->item[j]];
        if (g >= 0 && count[g]++ >= s->max)
            continue;
        l->item[m] = l->item[j];
        l->score[m++] = l->score[j];
    }
    l->n = m;
    rec_free(count, ng * sizeof *count);
    return REC_OK;
}

/* Similarity of items a and b: cosine of their unit vectors, or 1 for the
 * same (non-negative) group. */
static float sim(const rec_rerank_stage *s, int32_t a, int32_t b)
{
    if (s->vecs) {
        const float *x = s->vecs + (size_t)a * s->dim, *y = s->vecs + (size_t)b * s->dim;
        float d = 0;
        for (int j = 0; j < s->dim; j++)
            d += x[j] * y[j];
        return d;
    }
    return s->groups[a] >= 0 && s->groups[a] == s->groups[b] ? 1.0f : 0.0f;
}

/* Greedy MMR for the first min(k, n) slots; the rest keep their order.
 * maxsim[j] is candidate j's largest similarity to the items picked so far,
 * updated once per pick: O(k n dim). */
rec_status rr_mmr(const rec_rerank_stage *s, rr_list *l, const rr_call *c)
{
    size_t n = l->n, slots = c->k < n ? c->k : n;
    if (n < 2 || slots == 0)
        return REC_OK;
    float *maxsim = rec_malloc(n * sizeof *maxsim);
    if (!maxsim)
        return rec_nomem(RR_APPLY);
    /* Relevance is the score scaled to [0, 1] over the list, so lambda
     * weighs like against like (similarities are in [-1, 1]). */
    float lo = INFINITY, hi = -INFINITY;
    for (size_t j = 0; j < n; j++)
        if (isfinite(l->score[j])) {
            lo = fminf(lo, l->score[j]);
            hi = fmaxf(hi, l->score[j]);
        }
    double span = hi > lo ? (double)hi - lo : 0;
    for (size_t t = 0; t < slots; t++) {
        size_t best = t;
        double bestv = -INFINITY;
        for (size_t j = t; j < n; j++) {
            double sc = l->score[j];
            double rel = isfinite(sc) ? (span > 0 ? (sc - lo) / span : 1.0) : sc > 0 ? 1.0 : 0.0;
            double v = s->lambda * rel - (1 - s->lambda) * (t ? maxsim[j] : 0.0);
            if (v > bestv) { /* strict: a tie goes to the better-ranked item */
                bestv = v;
                best = j;
            }
        }
        if (best != t) {
            float ms = maxsim[best];
            memmove(maxsim + t + 1, maxsim + t, (best - t) * sizeof *maxsim);
            maxsim[t] = ms;
            rr_move(l, t, best);
        }
        for (size_t j = t + 1; j < n; j++) {
            float v = sim(s, l->item[t], l->item[j]);
            maxsim[j] = t == 0 || v > maxsim[j] ? v : maxsim[j];
        }
    }
    rec_free(maxsim, n * sizeof *maxsim);
    return REC_OK;
}
