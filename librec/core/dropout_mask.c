/* Dropout masks from a counter-based hash: element i is kept when
 * hash(key, i) >= thresh, so any element's draw is known without the ones
 * before it.  A sequential generator (xoshiro per block of 16384 values)
 * made the mask one dependent chain of 64-bit draws and took about a third
 * of dropout's time in the SASRec profile (bench/README.md); the hash runs
 * 16 lanes at once and the keep mask is one bit per value (the AVX-512
 * compare's mask register, stored as is), read back by the backward.
 *
 * The hash is two rounds of a 32-bit integer mixer (xorshift-multiply, the
 * constants of Wellons' "lowbias32" search), keyed by the two halves of a
 * 64-bit seed; the index's high 32 bits are folded into the key, so a
 * tensor past 2^32 values does not repeat its mask.  Integer arithmetic and
 * one float multiply: the AVX-512 and C paths give the same bits, which the
 * tests check. */
#include "core-impl.h"

#include <string.h>

static inline uint32_t mix32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x21f0aaadu;
    x ^= x >> 15;
    x *= 0xd35a2d97u;
    x ^= x >> 15;
    return x;
}

/* the key of word w's 16 values: the seed's low half with the index's high
 * half folded in (16 divides 2^32: a word never straddles) */
static inline uint32_t word_key(uint64_t key, int64_t w)
{
    return (uint32_t)key + (uint32_t)((uint64_t)(w * 16) >> 32) * 0x9e3779b9u;
}

uint32_t rec_drop_hash(uint64_t key, int64_t i)
{
    return mix32(mix32((uint32_t)i + word_key(key, i / 16)) ^ (uint32_t)(key >> 32));
}

static inline float masked(float v, int keep)
{
    return keep ? v : 0.0f;
}

static void fwd_c(uint64_t key, uint32_t thresh, float scale, const float *x, float *y,
                  uint16_t *bits, int64_t w0, int64_t w1, int64_t n)
{
    for (int64_t w = w0; w < w1; w++) {
        int64_t i0 = w * 16, cnt = n - i0 < 16 ? n - i0 : 16;
        unsigned m = 0;
        for (int l = 0; l < cnt; l++) {
            int k = rec_drop_hash(key, i0 + l) >= thresh;
            m |= (unsigned)k << l;
            y[i0 + l] = masked(x[i0 + l] * scale, k);
        }
        bits[w] = (uint16_t)m;
    }
}

static void bwd_c(const uint16_t *bits, float scale, const float *dy, float *dx, int set,
                  int64_t w0, int64_t w1, int64_t n)
{
    for (int64_t w = w0; w < w1; w++) {
        int64_t i0 = w * 16, cnt = n - i0 < 16 ? n - i0 : 16;
        for (int l = 0; l < cnt; l++) {
            float v = masked(dy[i0 + l] * scale, bits[w] >> l & 1);
            dx[i0 + l] = set ? v : dx[i0 + l] + v;
        }
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include "simd512-impl.h"

static inline AVX512 __m512i mix512(__m512i x)
{
    x = _mm512_xor_si512(x, _mm512_srli_epi32(x, 16));
    x = _mm512_mullo_epi32(x, _mm512_set1_epi32((int)0x21f0aaadu));
    x = _mm512_xor_si512(x, _mm512_srli_epi32(x, 15));
    x = _mm512_mullo_epi32(x, _mm512_set1_epi32((int)0xd35a2d97u));
    return _mm512_xor_si512(x, _mm512_srli_epi32(x, 15));
}

static AVX512 void fwd_512(uint64_t key, uint32_t thresh, float scale, const float *x,
                           float *y, uint16_t *bits, int64_t w0, int64_t w1, int64_t n)
{
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i k1 = _mm512_set1_epi32((int)(uint32_t)(key >> 32));
    const __m512i th = _mm512_set1_epi32((int)thresh);
    const __m512 sc = _mm512_set1_ps(scale);
    for (int64_t w = w0; w < w1; w++) {
        int64_t i0 = w * 16;
        __mmask16 t = tail16(n - i0);
        __m512i idx = _mm512_add_epi32(_mm512_set1_epi32((int)((uint32_t)i0 + word_key(key, w))),
                                       lane);
        __m512i h = mix512(_mm512_xor_si512(mix512(idx), k1));
        __mmask16 m = _mm512_mask_cmpge_epu32_mask(t, h, th);
        __m512 v = _mm512_maskz_mul_ps(m, _mm512_maskz_loadu_ps(t, x + i0), sc);
        _mm512_mask_storeu_ps(y + i0, t, v);
        bits[w] = (uint16_t)m;
    }
}

static AVX512 void bwd_512(const uint16_t *bits, float scale, const float *dy, float *dx,
                           int set, int64_t w0, int64_t w1, int64_t n)
{
    const __m512 sc = _mm512_set1_ps(scale);
    for (int64_t w = w0; w < w1; w++) {
        int64_t i0 = w * 16;
        __mmask16 t = tail16(n - i0);
        __m512 v = _mm512_maskz_mul_ps((__mmask16)(bits[w] & t), _mm512_maskz_loadu_ps(t, dy + i0),
                                       sc);
        if (!set)
            v = _mm512_add_ps(_mm512_maskz_loadu_ps(t, dx + i0), v);
        _mm512_mask_storeu_ps(dx + i0, t, v);
    }
}

#else

static void fwd_512(uint64_t key, uint32_t thresh, float scale, const float *x, float *y,
                    uint16_t *bits, int64_t w0, int64_t w1, int64_t n)
{
    fwd_c(key, thresh, scale, x, y, bits, w0, w1, n);
}

static void bwd_512(const uint16_t *bits, float scale, const float *dy, float *dx, int set,
                    int64_t w0, int64_t w1, int64_t n)
{
    bwd_c(bits, scale, dy, dx, set, w0, w1, n);
}

#endif

void rec_drop_fwd(uint64_t key, uint32_t thresh, float scale, const float *x, float *y,
                  uint16_t *bits, int64_t w0, int64_t w1, int64_t n)
{
    if (rec_simd_path() == REC_SIMD_AVX512)
        fwd_512(key, thresh, scale, x, y, bits, w0, w1, n);
    else
        fwd_c(key, thresh, scale, x, y, bits, w0, w1, n);
}

void rec_drop_bwd(const uint16_t *bits, float scale, const float *dy, float *dx, int set,
                  int64_t w0, int64_t w1, int64_t n)
{
    if (rec_simd_path() == REC_SIMD_AVX512)
        bwd_512(bits, scale, dy, dx, set, w0, w1, n);
    else
        bwd_c(bits, scale, dy, dx, set, w0, w1, n);
}
