/* Softmax row kernels (not log-softmax): an AVX-512 path and a plain C path
 * that give the same bits.  In SASRec's causal attention (50 x 50 scores
 * per user and head) the rows called glibc's expf once per value and summed
 * in double one value at a time: 7% of an epoch (bench/README.md).
 *
 * exp is Cephes' single-precision method: n = round(x log2 e), r = x - n ln 2
 * (in two parts), a degree-5 polynomial in r, times 2^n built in the
 * exponent bits; below -87.3 it is 0, above 88 it is clamped (a softmax
 * feeds it x - max <= 0).  Within 2 ulp of expf (the tests check).  Sums
 * and maxima run in 16 lanes, value k in lane k % 16, folded in halves
 * (lane l with l + 8, then + 4, + 2, + 1), all in float, a multiply then an
 * add (no fused multiply-add), so both paths round alike. */
#include "core-impl.h"

#include <math.h>
#include <string.h>

#define W 16

#define EXP_LO -87.3365447f   /* below: 2^n would be subnormal; returns 0 */
#define EXP_HI 88.0f
#define LOG2E 1.44269504088896341f
#define LN2_HI 0.693359375f
#define LN2_LO -2.12194440e-4f
#define P0 1.9875691500e-4f
#define P1 1.3981999507e-3f
#define P2 8.3334519073e-3f
#define P3 4.1665795894e-2f
#define P4 1.6666665459e-1f
#define P5 5.0000001201e-1f

/* maxps(a, b) and minps(a, b), NaN and signed zeros included */
static inline float max_ps(float a, float b) { return a > b ? a : b; }
static inline float min_ps(float a, float b) { return a < b ? a : b; }

float rec_sm_exp(float x)
{
    if (x != x)
        return x;
    if (x < EXP_LO)
        return 0.0f;
    x = min_ps(EXP_HI, x);
    float n = rintf(x * LOG2E);
    float r = x - n * LN2_HI;
    r = r - n * LN2_LO;
    float z = r * r;
    float p = P0 * r + P1;
    p = p * r + P2;
    p = p * r + P3;
    p = p * r + P4;
    p = p * r + P5;
    p = p * z + r + 1.0f;
    uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
    float s;
    memcpy(&s, &bits, sizeof s);
    return p * s;
}

static float fold_add(float *acc)
{
    for (int h = W / 2; h >= 1; h /= 2)
        for (int l = 0; l < h; l++)
            acc[l] += acc[l + h];
    return acc[0];
}

static float fold_max(float *acc)
{
    for (int h = W / 2; h >= 1; h /= 2)
        for (int l = 0; l < h; l++)
            acc[l] = max_ps(acc[l], acc[l + h]);
    return acc[0];
}

static void fwd_c(const float *x, float *y, int64_t len, int64_t c)
{
    float mx[W];
    for (int l = 0; l < W; l++)
        mx[l] = -INFINITY;
    for (int64_t k = 0; k < len; k++)
        mx[k % W] = max_ps(mx[k % W], x[k]);
    float m = fold_max(mx), acc[W] = { 0 };
    for (int64_t k = 0; k < len; k++) {
        y[k] = rec_sm_exp(x[k] - m);
        acc[k % W] += y[k];
    }
    float inv = 1.0f / fold_add(acc);
    for (int64_t k = 0; k < len; k++)
        y[k] *= inv;
    for (int64_t k = len; k < c; k++)
        y[k] = 0.0f;
}

static void bwd_c(const float *y, const float *dy, float *dx, int set, int64_t len, int64_t c)
{
    float acc[W] = { 0 };
    for (int64_t k = 0; k < len; k++)
        acc[k % W] += dy[k] * y[k];
    float dot = fold_add(acc);
    for (int64_t k = 0; k < len; k++) {
        float v = y[k] * (dy[k] - dot);
        dx[k] = set ? v : dx[k] + v;
    }
    for (int64_t k = len; set && k < c; k++)
        dx[k] = 0.0f;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include "simd512-impl.h"

static inline AVX512 __m512 exp512(__m512 x)
{
    __mmask16 zero = _mm512_cmp_ps_mask(x, _mm512_set1_ps(EXP_LO), _CMP_LT_OQ);
    x = _mm512_min_ps(_mm512_set1_ps(EXP_HI), x);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(LOG2E)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_sub_ps(x, _mm512_mul_ps(n, _mm512_set1_ps(LN2_HI)));
    r = _mm512_sub_ps(r, _mm512_mul_ps(n, _mm512_set1_ps(LN2_LO)));
    __m512 z = _mm512_mul_ps(r, r);
    __m512 p = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(P0), r), _mm512_set1_ps(P1));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(P2));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(P3));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(P4));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(P5));
    p = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(p, z), r), _mm512_set1_ps(1.0f));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)),
                                  23);
    return _mm512_maskz_mul_ps((__mmask16)~zero, p, _mm512_castsi512_ps(e));
}

static inline AVX512 float fold512_max(__m512 v)
{
    __m256 h8 = _mm256_max_ps(_mm512_castps512_ps256(v),
                              _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 h4 = _mm_max_ps(_mm256_castps256_ps128(h8), _mm256_extractf128_ps(h8, 1));
    __m128 h2 = _mm_max_ps(h4, _mm_movehl_ps(h4, h4));
    return _mm_cvtss_f32(_mm_max_ss(h2, _mm_shuffle_ps(h2, h2, 1)));
}

static AVX512 void fwd_512(const float *x, float *y, int64_t len, int64_t c)
{
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    __m512 mx = ninf;
    for (int64_t k = 0; k < len; k += W)
        mx = _mm512_max_ps(mx, _mm512_mask_loadu_ps(ninf, tail16(len - k), x + k));
    __m512 m = _mm512_set1_ps(fold512_max(mx)), acc = _mm512_setzero_ps();
    for (int64_t k = 0; k < len; k += W) {
        __mmask16 t = tail16(len - k);
        __m512 e = _mm512_maskz_mov_ps(t, exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(t, x + k), m)));
        acc = _mm512_add_ps(acc, e);
        _mm512_mask_storeu_ps(y + k, t, e);
    }
    __m512 inv = _mm512_set1_ps(1.0f / fold512_add(acc));
    for (int64_t k = 0; k < c; k += W) {
        __mmask16 t = tail16(c - k), v = tail16(len - k);
        _mm512_mask_storeu_ps(y + k, t, _mm512_maskz_mul_ps(v, _mm512_maskz_loadu_ps(v, y + k), inv));
    }
}

static AVX512 void bwd_512(const float *y, const float *dy, float *dx, int set, int64_t len,
                           int64_t c)
{
    __m512 acc = _mm512_setzero_ps();
    for (int64_t k = 0; k < len; k += W) {
        __mmask16 t = tail16(len - k);
        acc = _mm512_add_ps(acc, _mm512_mul_ps(_mm512_maskz_loadu_ps(t, dy + k),
                                               _mm512_maskz_loadu_ps(t, y + k)));
    }
    __m512 dot = _mm512_set1_ps(fold512_add(acc));
    for (int64_t k = 0; k < (set ? c : len); k += W) {
        __mmask16 t = tail16((set ? c : len) - k), v = tail16(len - k);
        __m512 r = _mm512_maskz_mul_ps(v, _mm512_maskz_loadu_ps(v, y + k),
                                       _mm512_sub_ps(_mm512_maskz_loadu_ps(v, dy + k), dot));
        if (!set)
            r = _mm512_add_ps(_mm512_maskz_loadu_ps(t, dx + k), r);
        _mm512_mask_storeu_ps(dx + k, t, r);
    }
}

#else

static void fwd_512(const float *x, float *y, int64_t len, int64_t c)
{
    fwd_c(x, y, len, c);
}

static void bwd_512(const float *y, const float *dy, float *dx, int set, int64_t len, int64_t c)
{
    bwd_c(y, dy, dx, set, len, c);
}

#endif

void rec_sm_row_fwd(const float *x, float *y, int64_t len, int64_t c)
{
    if (len <= 0) {
        memset(y, 0, (size_t)c * sizeof *y);
        return;
    }
    if (rec_simd_path() == REC_SIMD_AVX512)
        fwd_512(x, y, len, c);
    else
        fwd_c(x, y, len, c);
}

void rec_sm_row_bwd(const float *y, const float *dy, float *dx, int set, int64_t len, int64_t c)
{
    if (rec_simd_path() == REC_SIMD_AVX512)
        bwd_512(y, dy, dx, set, len, c);
    else
        bwd_c(y, dy, dx, set, len, c);
}
