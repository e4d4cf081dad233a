/* Dot products of single rows for graph search, where each step scores one
 * vector and a call to BLAS costs more than the product.  The kernel is
 * chosen once at run time from the CPU (AVX-512, AVX2+FMA, else portable C),
 * so one build runs everywhere.  Rows are padded with zeros to a multiple of
 * 16 floats (REC_DOT_PAD), so no kernel has a tail loop. */
#ifndef LIBREC_DOT_IMPL_H
#define LIBREC_DOT_IMPL_H

#include <stddef.h>

#define REC_DOT_PAD 16

/* a . b over n floats, n a multiple of REC_DOT_PAD. */
typedef float (*rec_dot_fn)(const float *a, const float *b, size_t n);

/* The best kernel for this CPU (the portable one while forced). */
rec_dot_fn rec_dot_kernel(void);

/* Test hook: nonzero forces the portable kernel for kernels picked after
 * the call.  Not thread-safe with running searches. */
void rec_dot_force_portable(int on);

/* Name of the kernel rec_dot_kernel returns ("avx512", "avx2", "portable"). */
const char *rec_dot_kernel_name(void);

/* n rounded up to a multiple of REC_DOT_PAD. */
static inline size_t rec_dot_padded(size_t n)
{
    return (n + REC_DOT_PAD - 1) / REC_DOT_PAD * REC_DOT_PAD;
}

#endif
