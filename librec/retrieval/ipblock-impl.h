/* Inner products of a few queries (users) against every item, for exact
 * serving: one kernel for a single recommend and for batches, so a batch
 * row equals a single call bit for bit.  Each score is accumulated in one
 * fixed order whatever the number of queries scored together and whatever
 * the CPU: s = 0; for t = 0..d-1: s = fma(q[t], item[t], s).  The lanes of
 * a SIMD register are 16 items (the items are packed transposed, 16 to a
 * block), so no horizontal sum is needed and a block of up to 8 queries
 * shares each load of the item table (reading it once per 8 users instead
 * of once per user is the batch's speed-up).  The kernel is chosen once at
 * run time (AVX-512, AVX2+FMA, else portable C with fmaf). */
#ifndef LIBREC_IPBLOCK_IMPL_H
#define LIBREC_IPBLOCK_IMPL_H

#include "core/core-impl.h"

#define REC_IPBLOCK_LANES 16
#define REC_IPBLOCK_MAXQ 8

/* Items packed for the kernel: p[(b * d + t) * 16 + j] = item (16b + j)'s
 * coordinate t, zero for the padding items of the last block. */
typedef struct rec_ippack {
    float *p;
    int64_t n;      /* items */
    int d;
    size_t bytes;
} rec_ippack;

/* items[n, d] into pk (which owns its memory).  REC_E_NOMEM naming fn. */
rec_status rec_ippack_build(rec_ippack *pk, const float *items, int64_t n, int d,
                            const char *fn);
void rec_ippack_free(rec_ippack *pk);

/* n rounded up to whole blocks: the row length scores need. */
static inline size_t rec_ippack_padded(int64_t n)
{
    return ((size_t)n + REC_IPBLOCK_LANES - 1) / REC_IPBLOCK_LANES * REC_IPBLOCK_LANES;
}

/* out[q * ld + i] = queries[q, 0..d) . item i, for q < nq (1..8), i <
 * rec_ippack_padded(n) (the padding entries are 0); ld >= that. */
void rec_ipblock_scores(const rec_ippack *pk, const float *queries, int nq, float *out,
                        size_t ld);

/* Test hook: nonzero forces the portable kernel.  Not thread-safe. */
void rec_ipblock_force_portable(int on);
/* "avx512", "avx2" or "portable": the kernel in use. */
const char *rec_ipblock_kernel_name(void);

#endif
