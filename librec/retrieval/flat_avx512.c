/* The AVX-512 kernel of the flat index: 8 queries x 32 items per step, 16
 * accumulators kept in registers over the dimension, then each query's 32
 * scores are compared with its heap minimum in registers and only rows
 * holding a candidate reach the scalar heap code.  Compiled for AVX-512 by
 * function attribute and chosen at run time, so the library still runs on
 * any x86-64 (and elsewhere the BLAS path is used). */
#include "flat-impl.h"

#include <math.h>
#include <string.h>

void rec_flat_pack32(const float *x, int dim, int64_t n, float *out)
{
    int64_t np = (n + 31) / 32;
    for (int64_t p = 0; p < np; p++) {
        float *o = out + (size_t)p * 32 * dim;
        int64_t j1 = n - p * 32 < 32 ? n - p * 32 : 32;
        if (j1 < 32)
            memset(o, 0, (size_t)32 * dim * sizeof *o);
        for (int64_t j = 0; j < j1; j++) {
            const float *xr = x + (size_t)(p * 32 + j) * dim;
            for (int d = 0; d < dim; d++)
                o[(size_t)d * 32 + j] = xr[d];
        }
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

int rec_flat_avx512_ok(void)
{
    return __builtin_cpu_supports("avx512f");
}

#define FMA2(r)                                                                  \
    do {                                                                         \
        __m512 a_ = _mm512_set1_ps(qr##r[d]);                                    \
        c##r##0 = _mm512_fmadd_ps(a_, b0, c##r##0);                              \
        c##r##1 = _mm512_fmadd_ps(a_, b1, c##r##1);                              \
    } while (0)

__attribute__((target("avx512f"))) void
rec_flat_scan_avx512(const float *q, int nq, int dim, const float *packed, int64_t n,
                     int32_t base, rec_heap *h, size_t k, const rec_filter *f, size_t q0)
{
    int64_t np = (n + 31) / 32;
    float buf[32] __attribute__((aligned(64)));
    for (int64_t p = 0; p < np; p++) {
        const float *b = packed + (size_t)p * 32 * dim;
        int64_t valid = n - p * 32 < 32 ? n - p * 32 : 32;
        __mmask16 v0 = valid >= 16 ? 0xFFFF : (__mmask16)((1u << valid) - 1);
        __mmask16 v1 = valid >= 32 ? 0xFFFF
                       : valid > 16 ? (__mmask16)((1u << (valid - 16)) - 1) : 0;
        for (int g = 0; g < nq; g += 8) {
            int nr = nq - g < 8 ? nq - g : 8;
            /* Missing rows of a short group repeat row 0; their results are
             * ignored. */
            const float *qr0 = q + (size_t)g * dim;
            const float *qr1 = nr > 1 ? qr0 + dim : qr0, *qr2 = nr > 2 ? qr0 + 2 * dim : qr0;
            const float *qr3 = nr > 3 ? qr0 + 3 * dim : qr0, *qr4 = nr > 4 ? qr0 + 4 * dim : qr0;
            const float *qr5 = nr > 5 ? qr0 + 5 * dim : qr0, *qr6 = nr > 6 ? qr0 + 6 * dim : qr0;
            const float *qr7 = nr > 7 ? qr0 + 7 * dim : qr0;
            __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00,
                   c21 = c00, c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00,
                   c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
            for (int d = 0; d < dim; d++) {
                __m512 b0 = _mm512_load_ps(b + (size_t)d * 32);
                __m512 b1 = _mm512_load_ps(b + (size_t)d * 32 + 16);
                FMA2(0);
                FMA2(1);
                FMA2(2);
                FMA2(3);
                FMA2(4);
                FMA2(5);
                FMA2(6);
                FMA2(7);
            }
            __m512 c[16] = { c00, c01, c10, c11, c20, c21, c30, c31,
                             c40, c41, c50, c51, c60, c61, c70, c71 };
            for (int r = 0; r < nr; r++) {
                rec_heap *hr = &h[g + r];
                float thr = hr->size == k ? hr->val[0] : -INFINITY;
                __m512 t = _mm512_set1_ps(thr);
                __mmask16 m0 = _mm512_mask_cmp_ps_mask(v0, c[2 * r], t, _CMP_GT_OQ);
                __mmask16 m1 = _mm512_mask_cmp_ps_mask(v1, c[2 * r + 1], t, _CMP_GT_OQ);
                if (!(m0 | m1))
                    continue;
                _mm512_store_ps(buf, c[2 * r]);
                _mm512_store_ps(buf + 16, c[2 * r + 1]);
                rec_flat_scan_row(buf, valid, base + (int32_t)(p * 32), hr, k, f,
                                  q0 + (size_t)(g + r));
            }
        }
    }
}

#else

int rec_flat_avx512_ok(void)
{
    return 0;
}

void rec_flat_scan_avx512(const float *q, int nq, int dim, const float *packed, int64_t n,
                          int32_t base, rec_heap *h, size_t k, const rec_filter *f, size_t q0)
{
    (void)q, (void)nq, (void)dim, (void)packed, (void)n, (void)base, (void)h, (void)k,
        (void)f, (void)q0;
}

#endif
