/* Row dot-product kernels chosen at run time (see dot-impl.h).  Two
 * accumulators hide the FMA latency; the widths are what a 64-float row
 * (the common embedding size) needs: 4 AVX-512 or 8 AVX2 steps. */
#include "dot-impl.h"

static float dot_portable(const float *a, const float *b, size_t n)
{
    float acc[REC_DOT_PAD] = { 0 };
    for (size_t i = 0; i < n; i += REC_DOT_PAD)
        for (int j = 0; j < REC_DOT_PAD; j++)
            acc[j] += a[i + j] * b[i + j];
    float s = 0;
    for (int j = 0; j < REC_DOT_PAD; j++)
        s += acc[j];
    return s;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__((target("avx512f"))) static float dot_avx512(const float *a, const float *b,
                                                           size_t n)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    if (i < n)
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

__attribute__((target("avx2,fma"))) static float dot_avx2(const float *a, const float *b,
                                                          size_t n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    for (size_t i = 0; i < n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    __m256 s = _mm256_add_ps(s0, s1);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}
#endif

static int force_portable;

void rec_dot_force_portable(int on)
{
    force_portable = on;
}

rec_dot_fn rec_dot_kernel(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (!force_portable) {
        if (__builtin_cpu_supports("avx512f"))
            return dot_avx512;
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            return dot_avx2;
    }
#endif
    return dot_portable;
}

const char *rec_dot_kernel_name(void)
{
    rec_dot_fn f = rec_dot_kernel();
#if defined(__x86_64__) && defined(__GNUC__)
    if (f == dot_avx512)
        return "avx512";
    if (f == dot_avx2)
        return "avx2";
#endif
    return f == dot_portable ? "portable" : "?";
}
