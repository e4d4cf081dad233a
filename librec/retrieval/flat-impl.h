/* Internals of the flat index shared by flat.c and its SIMD kernels. */
#ifndef LIBREC_FLAT_IMPL_H
#define LIBREC_FLAT_IMPL_H

#include "filter-impl.h"

/* A query's top-k heap (arrays of k entries, worst at [0]). */
typedef struct rec_heap {
    int32_t *idx;
    float *val;
    size_t size;
} rec_heap;

/* Streams len scores of labels base..base+len-1, in label order, into h
 * (query q of the search, for its filter checks). */
void rec_flat_scan_row(const float *row, int64_t len, int32_t base, rec_heap *h, size_t k,
                       const rec_filter *f, size_t q);

/* Packs items x[0..n) (row-major, dim) into panels of 32 items:
 * out[p][d][j] = x[32p + j][d], zero past n.  out holds
 * ceil(n/32) * 32 * dim floats, 64-byte aligned. */
void rec_flat_pack32(const float *x, int dim, int64_t n, float *out);

/* Nonzero when the CPU runs the AVX-512 kernel (and the build has it). */
int rec_flat_avx512_ok(void);

/* Scores nq queries (row-major, dim) against n packed items labelled
 * base.. and streams every score into the queries' heaps h[0..nq): the
 * fused product + top-k scan (no score tile is stored). */
void rec_flat_scan_avx512(const float *q, int nq, int dim, const float *packed, int64_t n,
                          int32_t base, rec_heap *h, size_t k, const rec_filter *f, size_t q0);

/* Test hook: 0 forces the BLAS path, 1 (default) uses the kernel when the
 * CPU has it.  Not thread-safe with running searches. */
void rec_flat_set_kernel(int on);

#endif
