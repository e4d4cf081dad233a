/* Popularity-weighted negatives: Vose's alias table over count^alpha, one
 * 64-bit draw per proposal (high half picks the slot, low half the coin). */
#include "sampler-impl.h"

#include <math.h>

void rec_sampler_free_popularity(rec_sampler *s)
{
    size_t n = (size_t)s->nitems;
    if (s->prob)
        rec_free(s->prob, n * sizeof *s->prob);
    if (s->thr)
        rec_free(s->thr, n * sizeof *s->thr);
    if (s->alias)
        rec_free(s->alias, n * sizeof *s->alias);
    s->prob = NULL;
    s->thr = NULL;
    s->alias = NULL;
}

rec_status rec_sampler_build_alias(rec_sampler *s, const int64_t *counts)
{
    static const char fn[] = "rec_sampler_create";
    size_t n = (size_t)s->nitems;
    s->prob = rec_malloc(n * sizeof *s->prob);
    s->thr = rec_malloc(n * sizeof *s->thr);
    s->alias = rec_malloc(n * sizeof *s->alias);
    double *scaled = rec_malloc(n * sizeof *scaled);
    int32_t *small = rec_malloc(n * sizeof *small), *large = rec_malloc(n * sizeof *large);
    rec_status st = REC_OK;
    if (!s->prob || !s->thr || !s->alias || !scaled || !small || !large) {
        st = rec_nomem(fn);
        goto out;
    }
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        /* pow(0, 0) = 1: alpha = 0 is uniform over every item */
        scaled[i] = counts[i] > 0 || s->alpha == 0 ? pow((double)counts[i], s->alpha) : 0.0;
        sum += scaled[i];
    }
    if (!(sum > 0)) { /* no interactions at all: uniform */
        for (size_t i = 0; i < n; i++)
            scaled[i] = 1.0;
        sum = (double)n;
    }
    size_t ns = 0, nl = 0;
    for (size_t i = 0; i < n; i++) {
        s->prob[i] = (float)(scaled[i] / sum);
        scaled[i] = scaled[i] / sum * (double)n;
        if (scaled[i] < 1.0)
            small[ns++] = (int32_t)i;
        else
            large[nl++] = (int32_t)i;
    }
    /* Vose: each small slot is topped up from a large one. */
    while (ns && nl) {
        int32_t a = small[--ns], b = large[nl - 1];
        s->thr[a] = (uint32_t)(scaled[a] * 4294967296.0);
        s->alias[a] = b;
        scaled[b] -= 1.0 - scaled[a];
        if (scaled[b] < 1.0) {
            nl--;
            small[ns++] = b;
        }
    }
    /* What remains is full up to rounding. */
    while (nl) {
        int32_t b = large[--nl];
        s->thr[b] = UINT32_MAX;
        s->alias[b] = b;
    }
    while (ns) {
        int32_t a = small[--ns];
        s->thr[a] = UINT32_MAX;
        s->alias[a] = a;
    }
out:
    if (scaled)
        rec_free(scaled, n * sizeof *scaled);
    if (small)
        rec_free(small, n * sizeof *small);
    if (large)
        rec_free(large, n * sizeof *large);
    return st;
}

/* The slot index takes the high 32 bits times n (bias below n / 2^32). */
static inline int32_t propose(const rec_sampler *s, rec_rng *r)
{
    uint64_t x = rec_rng_u64(r);
    uint32_t k = (uint32_t)(((x >> 32) * (uint64_t)(uint32_t)s->nitems) >> 32);
    return (uint32_t)x < s->thr[k] ? (int32_t)k : s->alias[k];
}

int32_t rec_sampler_popularity_neg(const rec_sampler *s, rec_rng *r, int32_t u)
{
    if (rec_sampler_num_negatives(s, u) <= 0)
        return -1;
    for (int32_t t = 0; t < s->max_tries; t++) {
        int32_t i = propose(s, r);
        if (!rec_sampler_is_positive(s, u, i))
            return i;
    }
    return rec_sampler_uniform_neg(s, r, u);
}
