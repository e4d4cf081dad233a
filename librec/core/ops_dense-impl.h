/* Helpers shared by the dense ops (ops_matmul.c, ops_elementwise.c,
 * ops_reduce.c, ops_softmax.c, ops_shape.c): input checks that name the op,
 * shape formatting for messages, and the threading grain. */
#ifndef LIBREC_OPS_DENSE_IMPL_H
#define LIBREC_OPS_DENSE_IMPL_H

#include "ops.h"

/* Elementwise loops split into chunks of at least this many values, so small
 * tensors stay on the calling thread. */
#define REC_EW_GRAIN 16384

/* Rows per chunk for a row-wise loop over [rows, cols]. */
static inline int64_t rec_row_grain(int64_t cols)
{
    return cols >= REC_EW_GRAIN ? 1 : REC_EW_GRAIN / (cols > 0 ? cols : 1);
}

/* Room for "[a,b,c,d]" with 19-digit dims. */
#define REC_SHAPE_STR 96
/* Writes t's shape as "[2,3]" into buf and returns buf. */
const char *rec_shape_str(const rec_tensor *t, char *buf);

/* Validates input `what` of op `fn`: returns 1 when t is an F32 tensor and
 * the graph has no error yet.  Otherwise returns 0, having set the sticky
 * error (first one wins, so a NULL produced by an earlier failing op keeps
 * that op's message). */
int rec_op_input(rec_graph *g, const char *fn, const char *what, const rec_tensor *t);

/* -O2's "very cheap" cost model leaves a loop of unknown length scalar, and
 * the default target is SSE4.2: a loop function marked EW_LOOPS (one value
 * at a time, no reduction across values, and no fused multiply-add under
 * -std=c11) is vectorised, with an AVX-512 clone picked at load time where
 * the CPU has it.  Every clone does the same float operations on each
 * value, so the bits do not change.  Not under ASan or TSAN: the clones'
 * ifunc resolvers run while libraries are relocated, before the sanitizer's
 * runtime is up (check_all died at start under TSAN=1). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define EW_LOOPS                                                                               \
    __attribute__((target_clones("avx512f", "default"),                                       \
                   optimize("tree-vectorize", "vect-cost-model=dynamic")))
#else
#define EW_LOOPS
#endif

/* dst[i] += src[i] over n values. */
void rec_accum(float *dst, const float *src, int64_t n);

#endif
