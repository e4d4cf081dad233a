/* Top-k selection over a score vector: a size-k min-heap, then sorted best
 * first.  Entries that are -INFINITY or NaN are never selected (callers mask
 * excluded items that way).  Ties go to the lower index, so results are
 * deterministic. */
#ifndef LIBREC_TOPK_IMPL_H
#define LIBREC_TOPK_IMPL_H

#include <stddef.h>
#include <stdint.h>

/* Returns the count written (<= k) to idx and val (both with room for k). */
size_t rec_topk(const float *scores, int64_t n, size_t k, int32_t *idx, float *val);

/* Streaming form for blocked scans: keep a heap across calls. heap_idx and
 * heap_val hold k entries; *size starts at 0. */
void rec_topk_push(int32_t *heap_idx, float *heap_val, size_t k, size_t *size, int32_t i,
                   float v);
/* Sorts a heap best first (in place); returns its size. */
size_t rec_topk_finish(int32_t *heap_idx, float *heap_val, size_t size);

#endif
