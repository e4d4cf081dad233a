/* AVX-512 pieces shared by the row kernels (dropout_mask.c,
 * layernorm_rows.c, softmax_rows.c); x86-64 with GCC or Clang only. */
#ifndef LIBREC_SIMD512_IMPL_H
#define LIBREC_SIMD512_IMPL_H

#include <immintrin.h>
#include <stdint.h>

#define AVX512 __attribute__((target("avx512f")))

/* the first n of 16 lanes (n <= 0: none) */
static inline AVX512 __mmask16 tail16(int64_t n)
{
    return n <= 0 ? 0 : n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
}

/* the lanes' sum in the kernels' order: lane l + lane l + 8, then + 4, + 2,
 * + 1 (the C paths fold an array of 16 the same way) */
static inline AVX512 float fold512_add(__m512 v)
{
    __m256 h8 = _mm256_add_ps(_mm512_castps512_ps256(v),
                              _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 h4 = _mm_add_ps(_mm256_castps256_ps128(h8), _mm256_extractf128_ps(h8, 1));
    __m128 h2 = _mm_add_ps(h4, _mm_movehl_ps(h4, h4));
    return _mm_cvtss_f32(_mm_add_ss(h2, _mm_shuffle_ps(h2, h2, 1)));
}

#endif
