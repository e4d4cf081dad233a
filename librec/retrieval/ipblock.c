/* The block kernels of ipblock-impl.h.  Shapes: queries [nq, d] row-major,
 * the pack [blocks, d, 16], out [nq, ld].  Each kernel is written for a
 * fixed count of queries and keeps the one summation order. */
#include "ipblock-impl.h"

#include <math.h>
#include <string.h>

rec_status rec_ippack_build(rec_ippack *pk, const float *items, int64_t n, int d,
                            const char *fn)
{
    size_t blocks = rec_ippack_padded(n) / REC_IPBLOCK_LANES;
    size_t bytes = (blocks ? blocks : 1) * (size_t)d * REC_IPBLOCK_LANES * sizeof(float);
    float *p = rec_aligned_alloc(bytes);
    if (!p)
        return rec_nomem(fn);
    memset(p, 0, bytes);
    for (int64_t i = 0; i < n; i++) {
        size_t b = (size_t)i / REC_IPBLOCK_LANES, j = (size_t)i % REC_IPBLOCK_LANES;
        float *dst = p + b * (size_t)d * REC_IPBLOCK_LANES + j;
        for (int t = 0; t < d; t++)
            dst[(size_t)t * REC_IPBLOCK_LANES] = items[(size_t)i * d + t];
    }
    pk->p = p;
    pk->n = n;
    pk->d = d;
    pk->bytes = bytes;
    return REC_OK;
}

void rec_ippack_free(rec_ippack *pk)
{
    if (pk->p)
        rec_aligned_free(pk->p, pk->bytes);
    memset(pk, 0, sizeof *pk);
}

typedef void (*ipblock_fn)(const rec_ippack *pk, const float *q, int nq, float *out, size_t ld);

static void scores_portable(const rec_ippack *pk, const float *q, int nq, float *out, size_t ld)
{
    size_t blocks = rec_ippack_padded(pk->n) / REC_IPBLOCK_LANES;
    int d = pk->d;
    for (size_t b = 0; b < blocks; b++) {
        const float *y = pk->p + b * (size_t)d * REC_IPBLOCK_LANES;
        for (int r = 0; r < nq; r++) {
            float acc[REC_IPBLOCK_LANES] = { 0 };
            const float *x = q + (size_t)r * d;
            for (int t = 0; t < d; t++)
                for (int j = 0; j < REC_IPBLOCK_LANES; j++)
                    acc[j] = fmaf(x[t], y[(size_t)t * REC_IPBLOCK_LANES + j], acc[j]);
            memcpy(out + (size_t)r * ld + b * REC_IPBLOCK_LANES, acc, sizeof acc);
        }
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* A tile: NQ queries x NB registers of items, NQ * NB accumulators.  y[c]
 * points at register c's lanes of coordinate 0; coordinate t is 16 floats
 * further on.  Inlined with constant NQ and NB, its loops unrolled so the
 * accumulators stay in registers (-O2 alone keeps them in memory: 8x
 * slower). */
#define TILE(NAME, TARGET, VEC, ZERO, LOAD, SET1, FMA, STORE)                                  \
    __attribute__((target(TARGET), always_inline)) static inline void NAME(                    \
        const float *const *y, int d, const float *q, float *const *out, size_t ld,            \
        const int NQ, const int NB)                                                            \
    {                                                                                          \
        VEC acc[8][4];                                                                         \
        _Pragma("GCC unroll 8") for (int r = 0; r < NQ; r++)                                   \
            _Pragma("GCC unroll 4") for (int c = 0; c < NB; c++) acc[r][c] = ZERO();           \
        for (int t = 0; t < d; t++) {                                                          \
            VEC v[4];                                                                          \
            _Pragma("GCC unroll 4") for (int c = 0; c < NB; c++)                               \
                v[c] = LOAD(y[c] + (size_t)t * REC_IPBLOCK_LANES);                             \
            _Pragma("GCC unroll 8") for (int r = 0; r < NQ; r++) {                             \
                VEC x = SET1(q[(size_t)r * d + t]);                                            \
                _Pragma("GCC unroll 4") for (int c = 0; c < NB; c++)                           \
                    acc[r][c] = FMA(x, v[c], acc[r][c]);                                       \
            }                                                                                  \
        }                                                                                      \
        _Pragma("GCC unroll 8") for (int r = 0; r < NQ; r++)                                   \
            _Pragma("GCC unroll 4") for (int c = 0; c < NB; c++)                               \
                STORE(out[c] + (size_t)r * ld, acc[r][c]);                                     \
    }
TILE(tile512, "avx512f", __m512, _mm512_setzero_ps, _mm512_load_ps, _mm512_set1_ps,
     _mm512_fmadd_ps, _mm512_storeu_ps)
TILE(tile256, "avx2,fma", __m256, _mm256_setzero_ps, _mm256_load_ps, _mm256_set1_ps,
     _mm256_fmadd_ps, _mm256_storeu_ps)

/* AVX-512: a register is a block of 16 items; NB blocks per tile (fewer
 * queries, more blocks, so even one query has independent FMA chains). */
#define RUN512(NQ, NB)                                                                         \
    __attribute__((target("avx512f"))) static void s512_##NQ(                                  \
        const rec_ippack *pk, const float *q, float *out, size_t ld)                          \
    {                                                                                          \
        size_t blocks = rec_ippack_padded(pk->n) / REC_IPBLOCK_LANES, b = 0;                   \
        size_t bs = (size_t)pk->d * REC_IPBLOCK_LANES;                                         \
        const float *y[4];                                                                     \
        float *o[4];                                                                           \
        for (; b + NB <= blocks; b += NB) {                                                    \
            for (int c = 0; c < NB; c++) {                                                     \
                y[c] = pk->p + (b + c) * bs;                                                   \
                o[c] = out + (b + c) * REC_IPBLOCK_LANES;                                      \
            }                                                                                  \
            tile512(y, pk->d, q, o, ld, NQ, NB);                                               \
        }                                                                                      \
        for (; b < blocks; b++) {                                                              \
            y[0] = pk->p + b * bs;                                                             \
            o[0] = out + b * REC_IPBLOCK_LANES;                                                \
            tile512(y, pk->d, q, o, ld, NQ, 1);                                                \
        }                                                                                      \
    }
RUN512(1, 4)
RUN512(2, 4)
RUN512(3, 2)
RUN512(4, 2)
RUN512(5, 2)
RUN512(6, 2)
RUN512(7, 2)
RUN512(8, 2)

/* AVX2: a register is half a block (8 items); NB halves per tile, within
 * AVX2's 16 registers. */
#define RUN256(NQ, NB)                                                                         \
    __attribute__((target("avx2,fma"))) static void s256_##NQ(                                 \
        const rec_ippack *pk, const float *q, float *out, size_t ld)                          \
    {                                                                                          \
        size_t halves = rec_ippack_padded(pk->n) / 8, h = 0;                                   \
        size_t bs = (size_t)pk->d * REC_IPBLOCK_LANES;                                         \
        const float *y[4];                                                                     \
        float *o[4];                                                                           \
        for (; h + NB <= halves; h += NB) {                                                    \
            for (int c = 0; c < NB; c++) {                                                     \
                y[c] = pk->p + (h + c) / 2 * bs + (h + c) % 2 * 8;                             \
                o[c] = out + (h + c) * 8;                                                      \
            }                                                                                  \
            tile256(y, pk->d, q, o, ld, NQ, NB);                                               \
        }                                                                                      \
        for (; h < halves; h++) {                                                              \
            y[0] = pk->p + h / 2 * bs + h % 2 * 8;                                             \
            o[0] = out + h * 8;                                                                \
            tile256(y, pk->d, q, o, ld, NQ, 1);                                                \
        }                                                                                      \
    }
RUN256(1, 4)
RUN256(2, 4)
RUN256(3, 2)
RUN256(4, 2)
RUN256(5, 1)
RUN256(6, 1)
RUN256(7, 1)
RUN256(8, 1)

__attribute__((target("avx512f"))) static void scores_avx512(const rec_ippack *pk,
                                                             const float *q, int nq,
                                                             float *out, size_t ld)
{
    switch (nq) {
    case 1: s512_1(pk, q, out, ld); break;
    case 2: s512_2(pk, q, out, ld); break;
    case 3: s512_3(pk, q, out, ld); break;
    case 4: s512_4(pk, q, out, ld); break;
    case 5: s512_5(pk, q, out, ld); break;
    case 6: s512_6(pk, q, out, ld); break;
    case 7: s512_7(pk, q, out, ld); break;
    default: s512_8(pk, q, out, ld); break;
    }
}

__attribute__((target("avx2,fma"))) static void scores_avx2(const rec_ippack *pk,
                                                            const float *q, int nq,
                                                            float *out, size_t ld)
{
    switch (nq) {
    case 1: s256_1(pk, q, out, ld); break;
    case 2: s256_2(pk, q, out, ld); break;
    case 3: s256_3(pk, q, out, ld); break;
    case 4: s256_4(pk, q, out, ld); break;
    case 5: s256_5(pk, q, out, ld); break;
    case 6: s256_6(pk, q, out, ld); break;
    case 7: s256_7(pk, q, out, ld); break;
    default: s256_8(pk, q, out, ld); break;
    }
}
#endif

static int force_portable;

void rec_ipblock_force_portable(int on)
{
    force_portable = on;
}

static ipblock_fn kernel(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (!force_portable) {
        if (__builtin_cpu_supports("avx512f"))
            return scores_avx512;
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            return scores_avx2;
    }
#endif
    return scores_portable;
}

void rec_ipblock_scores(const rec_ippack *pk, const float *queries, int nq, float *out,
                        size_t ld)
{
    kernel()(pk, queries, nq, out, ld);
}

const char *rec_ipblock_kernel_name(void)
{
    ipblock_fn f = kernel();
#if defined(__x86_64__) && defined(__GNUC__)
    if (f == scores_avx512)
        return "avx512";
    if (f == scores_avx2)
        return "avx2";
#endif
    return "portable";
}
