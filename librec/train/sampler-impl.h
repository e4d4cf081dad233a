/* The sampler object, shared by sampler.c, sampler_popularity.c and
 * sampler_hard.c only (the API is in train-impl.h). */
#ifndef LIBREC_SAMPLER_IMPL_H
#define LIBREC_SAMPLER_IMPL_H

#include "train-impl.h"

enum { REC_SAMPLER_UNIFORM, REC_SAMPLER_POPULARITY, REC_SAMPLER_HARD };

struct rec_sampler {
    int kind;
    int32_t nusers, nitems;
    int32_t max_tries, hard_k;
    double alpha, hard_ratio;
    int64_t *pos_ptr;          /* [nusers + 1] */
    int32_t *pos;              /* [pos_ptr[nusers]] sorted, unique per user */
    int64_t pos_cap;           /* allocated entries of pos */
    /* popularity: proposal probabilities and Vose's alias table */
    float *prob;               /* [nitems] count^alpha / sum */
    uint32_t *thr;             /* [nitems] keep slot k when 32 random bits < thr[k] */
    int32_t *alias;            /* [nitems] */
    /* hard */
    int64_t *hard_ptr;         /* [nusers + 1] or NULL */
    int32_t *hard;
    rec_sampler_topk_fn hard_fn;
    void *hard_ctx;
};

/* The uniform part: a non-positive item of u, or -1 when u has none. */
int32_t rec_sampler_uniform_neg(const rec_sampler *s, rec_rng *r, int32_t u);
/* The popularity part (same contract). */
int32_t rec_sampler_popularity_neg(const rec_sampler *s, rec_rng *r, int32_t u);
/* Builds prob/thr/alias from the training counts of s->pos (before dedup):
 * counts[nitems]. */
rec_status rec_sampler_build_alias(rec_sampler *s, const int64_t *counts);
/* Fills out[n] for kind "hard". */
rec_status rec_sampler_draw_hard(const rec_sampler *s, rec_rng *r, int32_t u, int64_t n,
                                 int32_t *out);
void rec_sampler_free_popularity(rec_sampler *s);
void rec_sampler_free_hard(rec_sampler *s);

#endif
