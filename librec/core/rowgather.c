/* The row-gather primitive (see rowgather-impl.h): walkers that prefetch a
 * fixed distance ahead and hand rows in blocks to an AVX-512, AVX2 or C
 * kernel chosen at run time.
 *
 * Prefetch distance.  A 1e6 x 64 table (256 MB, 4 KB pages), 81,920 uniform
 * ids, one thread summing rows, best of 40 runs (bench/micro's "ceiling"
 * loop; 2026-12-05, AMD EPYC Zen 5 VM, load 5-6 from other builds):
 *     rows ahead     0     4     8    12    16    24    32    48    64
 *     Mrows/s       29    37    45    51    62    69    45    50    66
 * 24 rows (96 cache lines in flight) was best in every repeat; past that
 * the prefetches outrun the core's miss buffers and are dropped.  So the
 * distance is 96 lines' worth of rows: 24 rows of 64 floats, more for
 * narrower rows, at least 4.  Up to 8 lines of a row are prefetched; the
 * hardware prefetcher follows longer rows. */
#include "core-impl.h"
#include "rowgather-impl.h"

#include <stdatomic.h>
#include <string.h>

#define LINES_AHEAD 96
#define MAX_LINES 8
/* Sums of rows this wide (floats) skip walk_sum_512: its 64-column passes
 * fetch every row again per pass.  The block loop takes each row whole, one
 * contiguous stream the hardware prefetcher follows; on the AVX-512 path the
 * software prefetches of the rows ahead then only cost (on the AVX2 path
 * they still pay).  Gowalla's normalised graph (1.6M entries) times a
 * [70839, d] matrix, the median of best-of-5 runs (AMD EPYC VM, 2026-12-06):
 *   d 512, 1 thread: 163 ms (passes) -> 131 (blocks, no prefetch);
 *   2 threads: 87 -> 74 (80 with the prefetches);
 *   d 1024, 1 thread: 350 -> 247; 2 threads: 192 -> 133;
 *   AVX2 path, d 512, 1 thread: 143 with the prefetches, 155 without.
 * At d 256 the passes are as fast or faster (77 against 80 ms). */
#define WIDE_ROW 512

typedef struct rg_kernels {
    /* out[c] += w_i * rows_i[c] (w NULL: + rows_i[c]), i = 0..n-1 in order */
    void (*sum)(int64_t d, int n, const float *const *rows, const float *w, float *out);
    /* rows_i[c] > out[c]: out[c] = rows_i[c], arg[c] = ent[i] (arg may be NULL) */
    void (*max)(int64_t d, int n, const float *const *rows, const int32_t *ent, float *out,
                int32_t *arg);
    /* dst_i[c] += s_i * src_i[c], i in order (dst rows may repeat) */
    void (*axpy)(int64_t d, int n, float *const *dst, const float *s, const float *const *src);
} rg_kernels;

/* ---- plain C: the reference every path must match bit for bit ------------- */

static void sum_c(int64_t d, int n, const float *const *rows, const float *w, float *out)
{
    for (int i = 0; i < n; i++) {
        const float *restrict r = rows[i];
        if (w) {
            float s = w[i];
            for (int64_t c = 0; c < d; c++)
                out[c] += s * r[c];
        } else {
            for (int64_t c = 0; c < d; c++)
                out[c] += r[c];
        }
    }
}

static void max_c(int64_t d, int n, const float *const *rows, const int32_t *ent, float *out,
                  int32_t *arg)
{
    for (int i = 0; i < n; i++) {
        const float *restrict r = rows[i];
        for (int64_t c = 0; c < d; c++) {
            if (r[c] > out[c]) {
                out[c] = r[c];
                if (arg)
                    arg[c] = ent[i];
            }
        }
    }
}

static void axpy_c(int64_t d, int n, float *const *dst, const float *s, const float *const *src)
{
    for (int i = 0; i < n; i++) {
        float *restrict y = dst[i];
        const float *restrict x = src[i];
        for (int64_t c = 0; c < d; c++)
            y[c] += s[i] * x[c];
    }
}

static const rg_kernels K_C = { sum_c, max_c, axpy_c };

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))
#define AVX2 __attribute__((target("avx2")))

/* ---- AVX-512: 64 columns (4 registers) per pass over the block ------------ */

static inline AVX512 __mmask16 mask16(int64_t n)
{
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
}

AVX512 static void sum_512(int64_t d, int n, const float *const *rows, const float *w,
                           float *out)
{
    int64_t c = 0;
    for (; c + 64 <= d; c += 64) {
        __m512 a0 = _mm512_loadu_ps(out + c), a1 = _mm512_loadu_ps(out + c + 16);
        __m512 a2 = _mm512_loadu_ps(out + c + 32), a3 = _mm512_loadu_ps(out + c + 48);
        for (int i = 0; i < n; i++) {
            const float *r = rows[i] + c;
            __m512 x0 = _mm512_loadu_ps(r), x1 = _mm512_loadu_ps(r + 16);
            __m512 x2 = _mm512_loadu_ps(r + 32), x3 = _mm512_loadu_ps(r + 48);
            if (w) {
                __m512 s = _mm512_set1_ps(w[i]);
                x0 = _mm512_mul_ps(s, x0), x1 = _mm512_mul_ps(s, x1);
                x2 = _mm512_mul_ps(s, x2), x3 = _mm512_mul_ps(s, x3);
            }
            a0 = _mm512_add_ps(a0, x0), a1 = _mm512_add_ps(a1, x1);
            a2 = _mm512_add_ps(a2, x2), a3 = _mm512_add_ps(a3, x3);
        }
        _mm512_storeu_ps(out + c, a0), _mm512_storeu_ps(out + c + 16, a1);
        _mm512_storeu_ps(out + c + 32, a2), _mm512_storeu_ps(out + c + 48, a3);
    }
    for (; c < d; c += 16) {
        __mmask16 m = mask16(d - c);
        __m512 a = _mm512_maskz_loadu_ps(m, out + c);
        for (int i = 0; i < n; i++) {
            __m512 x = _mm512_maskz_loadu_ps(m, rows[i] + c);
            if (w)
                x = _mm512_mul_ps(_mm512_set1_ps(w[i]), x);
            a = _mm512_add_ps(a, x);
        }
        _mm512_mask_storeu_ps(out + c, m, a);
    }
}

AVX512 static void max_512(int64_t d, int n, const float *const *rows, const int32_t *ent,
                           float *out, int32_t *arg)
{
    for (int64_t c = 0; c < d; c += 16) {
        __mmask16 m = mask16(d - c);
        __m512 o = _mm512_maskz_loadu_ps(m, out + c);
        __m512i a = arg ? _mm512_maskz_loadu_epi32(m, arg + c) : _mm512_setzero_si512();
        for (int i = 0; i < n; i++) {
            __m512 x = _mm512_maskz_loadu_ps(m, rows[i] + c);
            __mmask16 gt = _mm512_mask_cmp_ps_mask(m, x, o, _CMP_GT_OQ);
            o = _mm512_mask_mov_ps(o, gt, x);
            a = _mm512_mask_mov_epi32(a, gt, _mm512_set1_epi32(ent[i]));
        }
        _mm512_mask_storeu_ps(out + c, m, o);
        if (arg)
            _mm512_mask_storeu_epi32(arg + c, m, a);
    }
}

AVX512 static void axpy_512(int64_t d, int n, float *const *dst, const float *s,
                            const float *const *src)
{
    for (int i = 0; i < n; i++) {
        __m512 v = _mm512_set1_ps(s[i]);
        float *y = dst[i];
        const float *x = src[i];
        for (int64_t c = 0; c < d; c += 16) {
            __mmask16 m = mask16(d - c);
            __m512 t = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, x + c));
            _mm512_mask_storeu_ps(y + c, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, y + c), t));
        }
    }
}

static const rg_kernels K_512 = { sum_512, max_512, axpy_512 };

/* ---- AVX2: 32 columns (4 registers) per pass, the tail in C order --------- */

AVX2 static void sum_256(int64_t d, int n, const float *const *rows, const float *w,
                         float *out)
{
    int64_t c = 0;
    for (; c + 32 <= d; c += 32) {
        __m256 a0 = _mm256_loadu_ps(out + c), a1 = _mm256_loadu_ps(out + c + 8);
        __m256 a2 = _mm256_loadu_ps(out + c + 16), a3 = _mm256_loadu_ps(out + c + 24);
        for (int i = 0; i < n; i++) {
            const float *r = rows[i] + c;
            __m256 x0 = _mm256_loadu_ps(r), x1 = _mm256_loadu_ps(r + 8);
            __m256 x2 = _mm256_loadu_ps(r + 16), x3 = _mm256_loadu_ps(r + 24);
            if (w) {
                __m256 s = _mm256_set1_ps(w[i]);
                x0 = _mm256_mul_ps(s, x0), x1 = _mm256_mul_ps(s, x1);
                x2 = _mm256_mul_ps(s, x2), x3 = _mm256_mul_ps(s, x3);
            }
            a0 = _mm256_add_ps(a0, x0), a1 = _mm256_add_ps(a1, x1);
            a2 = _mm256_add_ps(a2, x2), a3 = _mm256_add_ps(a3, x3);
        }
        _mm256_storeu_ps(out + c, a0), _mm256_storeu_ps(out + c + 8, a1);
        _mm256_storeu_ps(out + c + 16, a2), _mm256_storeu_ps(out + c + 24, a3);
    }
    for (; c + 8 <= d; c += 8) {
        __m256 a = _mm256_loadu_ps(out + c);
        for (int i = 0; i < n; i++) {
            __m256 x = _mm256_loadu_ps(rows[i] + c);
            if (w)
                x = _mm256_mul_ps(_mm256_set1_ps(w[i]), x);
            a = _mm256_add_ps(a, x);
        }
        _mm256_storeu_ps(out + c, a);
    }
    if (c < d) {
        const float *tail[REC_RG_BLOCK];
        for (int i = 0; i < n; i++)
            tail[i] = rows[i] + c;
        sum_c(d - c, n, tail, w, out + c);
    }
}

AVX2 static void max_256(int64_t d, int n, const float *const *rows, const int32_t *ent,
                         float *out, int32_t *arg)
{
    int64_t c = 0;
    for (; c + 8 <= d; c += 8) {
        __m256 o = _mm256_loadu_ps(out + c);
        __m256i a = arg ? _mm256_loadu_si256((const __m256i *)(arg + c))
                        : _mm256_setzero_si256();
        for (int i = 0; i < n; i++) {
            __m256 x = _mm256_loadu_ps(rows[i] + c);
            __m256 gt = _mm256_cmp_ps(x, o, _CMP_GT_OQ);
            o = _mm256_blendv_ps(o, x, gt);
            a = _mm256_castps_si256(_mm256_blendv_ps(
                _mm256_castsi256_ps(a), _mm256_castsi256_ps(_mm256_set1_epi32(ent[i])), gt));
        }
        _mm256_storeu_ps(out + c, o);
        if (arg)
            _mm256_storeu_si256((__m256i *)(arg + c), a);
    }
    if (c < d) {
        const float *tail[REC_RG_BLOCK];
        for (int i = 0; i < n; i++)
            tail[i] = rows[i] + c;
        max_c(d - c, n, tail, ent, out + c, arg ? arg + c : NULL);
    }
}

AVX2 static void axpy_256(int64_t d, int n, float *const *dst, const float *s,
                          const float *const *src)
{
    for (int i = 0; i < n; i++) {
        __m256 v = _mm256_set1_ps(s[i]);
        float *y = dst[i];
        const float *x = src[i];
        int64_t c = 0;
        for (; c + 8 <= d; c += 8)
            _mm256_storeu_ps(y + c, _mm256_add_ps(_mm256_loadu_ps(y + c),
                                                  _mm256_mul_ps(v, _mm256_loadu_ps(x + c))));
        for (; c < d; c++)
            y[c] += s[i] * x[c];
    }
}

static const rg_kernels K_256 = { sum_256, max_256, axpy_256 };

static int cpu_has(int path)
{
    return path == REC_RG_AVX512 ? __builtin_cpu_supports("avx512f")
           : path == REC_RG_AVX2 ? __builtin_cpu_supports("avx2")
                                 : path == REC_RG_C;
}

/* An asm statement, not __builtin_prefetch: GCC 12's dead-code elimination
 * deleted every __builtin_prefetch of the walkers below (a prefetch has no
 * result, and one under a loop or a chain of tests was dropped: the object
 * file had none, and the forward waited on memory row by row).  A volatile
 * asm cannot be deleted.  prefetcht0 for writes too (prefetchw needs
 * PRFCHW, which x86-64-v2 does not promise). */
#define PREFETCH(p, rw) __asm__ volatile("prefetcht0 %0" : : "m"(*(const char *)(p)))

#else

static int cpu_has(int path)
{
    return path == REC_RG_C;
}

#define PREFETCH(p, rw) ((void)(p))

#endif

/* ---- dispatch -------------------------------------------------------------- */

/* 0 until the first call picks one.  Atomic: threads recommending at once
 * may all make that first call (they store the same value). */
static atomic_int path_now;

static int best_path(void)
{
    if (cpu_has(REC_RG_AVX512))
        return REC_RG_AVX512;
    return cpu_has(REC_RG_AVX2) ? REC_RG_AVX2 : REC_RG_C;
}

int rec_rowgather_force(int path)
{
    int p = path == REC_RG_AUTO ? best_path() : cpu_has(path) ? path : REC_RG_C;
    atomic_store_explicit(&path_now, p, memory_order_relaxed);
    return p;
}

int rec_rowgather_path(void)
{
    int p = atomic_load_explicit(&path_now, memory_order_relaxed);
    if (!p) {
        p = best_path();
        atomic_store_explicit(&path_now, p, memory_order_relaxed);
    }
    return p;
}

static const rg_kernels *kernels(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    switch (rec_rowgather_path()) {
    case REC_RG_AVX512:
        return &K_512;
    case REC_RG_AVX2:
        return &K_256;
    default:
        break;
    }
#endif
    return &K_C;
}

/* ---- prefetch -------------------------------------------------------------- */

static int64_t ahead_override;

void rec_rowgather_set_ahead(int64_t rows)
{
    ahead_override = rows > 0 ? rows : 0;
}

int64_t rec_rowgather_ahead(int64_t d)
{
    if (ahead_override)
        return ahead_override;
    int64_t lines = (d * (int64_t)sizeof(float) + 63) / 64;
    if (lines > MAX_LINES)
        lines = MAX_LINES;
    int64_t rows = LINES_AHEAD / (lines ? lines : 1);
    return rows < 4 ? 4 : rows;
}

/* A macro, not a function: GCC finds a function made only of prefetches
 * pure and deletes its calls. */
#define PREFETCH_ROW(p, d, rw)                                              \
    do {                                                                    \
        const char *p_ = (const char *)(p);                                 \
        int64_t n_ = ((d) * (int64_t)sizeof(float) + 63) / 64;              \
        if (n_ > MAX_LINES)                                                 \
            n_ = MAX_LINES;                                                 \
        for (int64_t l_ = 0; l_ < n_; l_++)                                 \
            PREFETCH(p_ + 64 * l_, rw);                                     \
    } while (0)

static inline const float *src_row(const rec_rowsrc *s, int64_t i)
{
    if (!s->ids)
        return s->base + i * s->d;
    int32_t r = s->ids[i];
    return r < 0 || r == s->pad ? NULL : s->base + (int64_t)r * s->d;
}

static inline void prefetch_src(const rec_rowsrc *s, int64_t i)
{
    if (s->ids && i < s->end) {
        const float *p = src_row(s, i);
        if (p)
            PREFETCH_ROW(p, s->d, 0);
    }
}

void rec_rg_prefetch(const rec_rowsrc *s, int64_t i)
{
    prefetch_src(s, i);
}

void rec_rg_warm(const rec_rowsrc *s, int64_t b)
{
    int64_t a = rec_rowgather_ahead(s->d);
    for (int64_t i = b; i < b + a; i++)
        prefetch_src(s, i);
}

/* ---- the fused AVX-512 sum ------------------------------------------------- */

#if defined(__x86_64__) && defined(__GNUC__)
/* Why a second sum walker: the block walker below first collects 16 row
 * pointers (about 20 instructions a row, no row read) and only then reads
 * the rows, so the core's reorder window holds one block's loads at a time.
 * On the micro shapes (1e6 x 64, 4096 bags x 20, one thread, thread CPU
 * time, medians of 25 alternated calls, load 12) it moved 15-19 M rows/s,
 * while one tight loop that reads each row into four accumulator registers
 * as soon as its id is known moved 50-65 M rows/s, with or without software
 * prefetch: on this Zen 5 a prefetch waits for its line like a load, so the
 * rows in flight come from a short loop body, not from prefetches.  This
 * walker is that loop: 64 columns per pass over the entries, the sums kept
 * in registers (masked for a narrower tail), the same multiply then add in
 * entry order as sum_c, so the bits do not change. */
static inline AVX512 __mmask16 mask_cols(int64_t n)
{
    return n <= 0 ? (__mmask16)0 : mask16(n);
}

/* One pass over entries [b, e) for columns [c, c + 64) (fewer in the masked
 * tail pass): inlined twice, with full = 1 (plain loads) and full = 0. */
static inline __attribute__((always_inline)) AVX512 int64_t
pass_512(const rec_rowsrc *s, const float *w, int64_t b, int64_t e, float *o, int64_t c,
         int64_t ahead, int full)
{
    const int32_t *ids = s->ids;
    const float *base = s->base + c;
    int64_t d = s->d, end = s->end, lines = (d * (int64_t)sizeof(float) + 63) / 64, cnt = 0;
    int32_t pad = s->pad;
    if (lines > MAX_LINES)
        lines = MAX_LINES;
    __mmask16 m0 = full ? 0xFFFF : mask_cols(d - c), m1 = full ? 0xFFFF : mask_cols(d - c - 16);
    __mmask16 m2 = full ? 0xFFFF : mask_cols(d - c - 32);
    __mmask16 m3 = full ? 0xFFFF : mask_cols(d - c - 48);
#define LD(m, p) (full ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps((m), (p)))
    __m512 a0 = LD(m0, o), a1 = LD(m1, o + 16), a2 = LD(m2, o + 32), a3 = LD(m3, o + 48);
    for (int64_t i = b; i < e; i++) {
        const float *r;
        if (ids) {
            int64_t q = i + ahead;
            if (c == 0 && q < end && ids[q] >= 0 && ids[q] != pad) {
                const char *p = (const char *)(s->base + (int64_t)ids[q] * d);
                for (int64_t l = 0; l < lines; l++)
                    PREFETCH(p + 64 * l, 0);
            }
            int32_t id = ids[i];
            if (id < 0 || id == pad)
                continue;
            r = base + (int64_t)id * d;
        } else {
            r = base + i * d;
        }
        cnt++;
        __m512 x0 = LD(m0, r), x1 = LD(m1, r + 16), x2 = LD(m2, r + 32), x3 = LD(m3, r + 48);
        if (w) {
            __m512 v = _mm512_set1_ps(w[i]);
            x0 = _mm512_mul_ps(v, x0), x1 = _mm512_mul_ps(v, x1);
            x2 = _mm512_mul_ps(v, x2), x3 = _mm512_mul_ps(v, x3);
        }
        a0 = _mm512_add_ps(a0, x0), a1 = _mm512_add_ps(a1, x1);
        a2 = _mm512_add_ps(a2, x2), a3 = _mm512_add_ps(a3, x3);
    }
#undef LD
    if (full) {
        _mm512_storeu_ps(o, a0), _mm512_storeu_ps(o + 16, a1);
        _mm512_storeu_ps(o + 32, a2), _mm512_storeu_ps(o + 48, a3);
    } else {
        _mm512_mask_storeu_ps(o, m0, a0), _mm512_mask_storeu_ps(o + 16, m1, a1);
        _mm512_mask_storeu_ps(o + 32, m2, a2), _mm512_mask_storeu_ps(o + 48, m3, a3);
    }
    return cnt;
}

/* Bags [b0, b1) of entries off[b]..off[b+1], d <= 64: out row b = the sum
 * (times 1/count for mean when count > 1, as the C path's scale), one tight
 * loop for all the bags so rows of the next bag are in flight while this
 * one finishes. */
static inline __attribute__((always_inline)) AVX512 void
bags_512(const rec_rowsrc *s, const float *w, const int32_t *off, int64_t b0, int64_t b1,
         float *out, int mean, int64_t ahead, int full)
{
    const int32_t *ids = s->ids;
    const float *base = s->base;
    int64_t d = s->d, end = s->end, lines = (d * (int64_t)sizeof(float) + 63) / 64;
    int32_t pad = s->pad;
    __mmask16 m0 = full ? 0xFFFF : mask_cols(d), m1 = full ? 0xFFFF : mask_cols(d - 16);
    __mmask16 m2 = full ? 0xFFFF : mask_cols(d - 32), m3 = full ? 0xFFFF : mask_cols(d - 48);
#define LD(m, p) (full ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps((m), (p)))
    for (int64_t b = b0; b < b1; b++) {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        int64_t cnt = 0;
        for (int64_t i = off[b]; i < off[b + 1]; i++) {
            int64_t q = i + ahead;
            if (q < end && ids[q] >= 0 && ids[q] != pad) {
                const char *p = (const char *)(base + (int64_t)ids[q] * d);
                for (int64_t l = 0; l < lines; l++)
                    PREFETCH(p + 64 * l, 0);
            }
            int32_t id = ids[i];
            if (id < 0 || id == pad)
                continue;
            const float *r = base + (int64_t)id * d;
            cnt++;
            __m512 x0 = LD(m0, r), x1 = LD(m1, r + 16), x2 = LD(m2, r + 32);
            __m512 x3 = LD(m3, r + 48);
            if (w) {
                __m512 v = _mm512_set1_ps(w[i]);
                x0 = _mm512_mul_ps(v, x0), x1 = _mm512_mul_ps(v, x1);
                x2 = _mm512_mul_ps(v, x2), x3 = _mm512_mul_ps(v, x3);
            }
            a0 = _mm512_add_ps(a0, x0), a1 = _mm512_add_ps(a1, x1);
            a2 = _mm512_add_ps(a2, x2), a3 = _mm512_add_ps(a3, x3);
        }
        if (mean && cnt > 1) {
            __m512 v = _mm512_set1_ps(1.0f / (float)cnt);
            a0 = _mm512_mul_ps(a0, v), a1 = _mm512_mul_ps(a1, v);
            a2 = _mm512_mul_ps(a2, v), a3 = _mm512_mul_ps(a3, v);
        }
        float *o = out + b * d;
        if (full) {
            _mm512_storeu_ps(o, a0), _mm512_storeu_ps(o + 16, a1);
            _mm512_storeu_ps(o + 32, a2), _mm512_storeu_ps(o + 48, a3);
        } else {
            _mm512_mask_storeu_ps(o, m0, a0), _mm512_mask_storeu_ps(o + 16, m1, a1);
            _mm512_mask_storeu_ps(o + 32, m2, a2), _mm512_mask_storeu_ps(o + 48, m3, a3);
        }
    }
#undef LD
}

AVX512 static void walk_bags_512(const rec_rowsrc *s, const float *w, const int32_t *off,
                                 int64_t b0, int64_t b1, float *out, int mean, int64_t ahead)
{
    if (s->d == 64)
        bags_512(s, w, off, b0, b1, out, mean, ahead, 1);
    else
        bags_512(s, w, off, b0, b1, out, mean, ahead, 0);
}

/* Rows [b, e) copied to out [e - b, d] as soon as each id is read (zeros
 * for a skipped entry): for the reason above, not a memcpy call per row. */
AVX512 static void walk_copy_512(const rec_rowsrc *s, int64_t b, int64_t e, float *out,
                                 int64_t ahead)
{
    int64_t d = s->d;
    for (int64_t i = b; i < e; i++) {
        prefetch_src(s, i + ahead);
        const float *r = src_row(s, i);
        float *o = out + (i - b) * d;
        if (d == 64 && r) {
            __m512 x0 = _mm512_loadu_ps(r), x1 = _mm512_loadu_ps(r + 16);
            __m512 x2 = _mm512_loadu_ps(r + 32), x3 = _mm512_loadu_ps(r + 48);
            _mm512_storeu_ps(o, x0), _mm512_storeu_ps(o + 16, x1);
            _mm512_storeu_ps(o + 32, x2), _mm512_storeu_ps(o + 48, x3);
            continue;
        }
        for (int64_t c = 0; c < d; c += 16) {
            __mmask16 m = mask16(d - c);
            __m512 x = r ? _mm512_maskz_loadu_ps(m, r + c) : _mm512_setzero_ps();
            _mm512_mask_storeu_ps(o + c, m, x);
        }
    }
}

AVX512 static int64_t walk_sum_512(const rec_rowsrc *s, const float *w, int64_t b, int64_t e,
                                   float *out, int64_t ahead)
{
    int64_t d = s->d, cnt = 0, c = 0;
    for (; c + 64 <= d; c += 64)
        cnt = pass_512(s, w, b, e, out + c, c, ahead, 1);
    if (c < d)
        cnt = pass_512(s, w, b, e, out + c, c, ahead, 0);
    return cnt;
}
#endif

/* ---- walkers --------------------------------------------------------------- */

int64_t rec_rg_sum(const rec_rowsrc *s, const float *w, int64_t b, int64_t e, float *out)
{
    int64_t a = rec_rowgather_ahead(s->d), cnt = 0;
    int wide = s->d >= WIDE_ROW, avx512 = rec_rowgather_path() == REC_RG_AVX512;
#if defined(__x86_64__) && defined(__GNUC__)
    if (avx512 && !wide)
        return walk_sum_512(s, w, b, e, out, a);
#endif
    int prefetch = !(wide && avx512);
    const rg_kernels *k = kernels();
    const float *rows[REC_RG_BLOCK];
    float ws[REC_RG_BLOCK];
    int n = 0;
    for (int64_t i = b; i < e; i++) {
        if (prefetch)
            prefetch_src(s, i + a);
        const float *r = src_row(s, i);
        if (!r)
            continue;
        rows[n] = r;
        if (w)
            ws[n] = w[i];
        if (++n == REC_RG_BLOCK) {
            k->sum(s->d, n, rows, w ? ws : NULL, out);
            cnt += n;
            n = 0;
        }
    }
    if (n)
        k->sum(s->d, n, rows, w ? ws : NULL, out);
    return cnt + n;
}

void rec_rg_bags(const rec_rowsrc *s, const float *w, const int32_t *off, int64_t b0,
                 int64_t b1, float *out, int mean)
{
    int64_t d = s->d;
#if defined(__x86_64__) && defined(__GNUC__)
    if (s->ids && d <= 64 && rec_rowgather_path() == REC_RG_AVX512) {
        walk_bags_512(s, w, off, b0, b1, out, mean, rec_rowgather_ahead(d));
        return;
    }
#endif
    for (int64_t b = b0; b < b1; b++) {
        float *o = out + b * d;
        memset(o, 0, (size_t)d * sizeof *o);
        int64_t cnt = rec_rg_sum(s, w, off[b], off[b + 1], o);
        if (mean && cnt > 1) {
            float inv = 1.0f / (float)cnt;
            for (int64_t c = 0; c < d; c++)
                o[c] *= inv;
        }
    }
}

int64_t rec_rg_max(const rec_rowsrc *s, int64_t b, int64_t e, float *out, int32_t *arg)
{
    const rg_kernels *k = kernels();
    int64_t a = rec_rowgather_ahead(s->d), d = s->d, cnt = 0, i = b;
    /* The first used entry initialises out and arg. */
    for (; i < e; i++) {
        prefetch_src(s, i + a);
        const float *r = src_row(s, i);
        if (!r)
            continue;
        memcpy(out, r, (size_t)d * sizeof *out);
        for (int64_t c = 0; arg && c < d; c++)
            arg[c] = (int32_t)i;
        cnt = 1;
        i++;
        break;
    }
    if (!cnt) {
        memset(out, 0, (size_t)d * sizeof *out);
        for (int64_t c = 0; arg && c < d; c++)
            arg[c] = -1;
        return 0;
    }
    const float *rows[REC_RG_BLOCK];
    int32_t ent[REC_RG_BLOCK];
    int n = 0;
    for (; i < e; i++) {
        prefetch_src(s, i + a);
        const float *r = src_row(s, i);
        if (!r)
            continue;
        rows[n] = r;
        ent[n] = (int32_t)i;
        if (++n == REC_RG_BLOCK) {
            k->max(d, n, rows, ent, out, arg);
            cnt += n;
            n = 0;
        }
    }
    if (n)
        k->max(d, n, rows, ent, out, arg);
    return cnt + n;
}

void rec_rg_copy(const rec_rowsrc *s, int64_t b, int64_t e, float *out)
{
    int64_t a = rec_rowgather_ahead(s->d), d = s->d;
#if defined(__x86_64__) && defined(__GNUC__)
    if (rec_rowgather_path() == REC_RG_AVX512) {
        walk_copy_512(s, b, e, out, a);
        return;
    }
#endif
    size_t bytes = (size_t)d * sizeof *out;
    for (int64_t i = b; i < e; i++) {
        prefetch_src(s, i + a);
        const float *r = src_row(s, i);
        if (r)
            memcpy(out + (i - b) * d, r, bytes);
        else
            memset(out + (i - b) * d, 0, bytes);
    }
}

void rec_rg_scatter(const rec_rowdst *t, int64_t b, int64_t e, int64_t lo, int64_t hi,
                    const float *w, float s, const float *src, int64_t step)
{
    const rg_kernels *k = kernels();
    int64_t a = rec_rowgather_ahead(t->d), d = t->d;
    float *dst[REC_RG_BLOCK];
    const float *from[REC_RG_BLOCK];
    float sc[REC_RG_BLOCK];
    int n = 0;
    for (int64_t i = b; i < e; i++) {
        if (i + a < t->end) {
            int32_t p = t->ids[i + a];
            if (p >= lo && p < hi && p != t->pad)
                PREFETCH_ROW(t->base + (int64_t)p * d, d, 1);
        }
        int32_t r = t->ids[i];
        if (r < lo || r >= hi || r < 0 || r == t->pad)
            continue;
        dst[n] = t->base + (int64_t)r * d;
        from[n] = src + (i - b) * step;
        sc[n] = w ? s * w[i] : s;
        if (++n == REC_RG_BLOCK) {
            k->axpy(d, n, dst, sc, from);
            n = 0;
        }
    }
    if (n)
        k->axpy(d, n, dst, sc, from);
}

void rec_rg_sum_ptrs(int64_t d, const float *const *rows, int64_t n, float *out)
{
    const rg_kernels *k = kernels();
    int64_t a = rec_rowgather_ahead(d);
    for (int64_t i = 0; i < n && i < a; i++)
        PREFETCH_ROW(rows[i], d, 0);
    for (int64_t i = 0; i < n; i += REC_RG_BLOCK) {
        int m = n - i < REC_RG_BLOCK ? (int)(n - i) : REC_RG_BLOCK;
        for (int j = 0; j < m && i + a + j < n; j++)
            PREFETCH_ROW(rows[i + a + j], d, 0);
        k->sum(d, m, rows + i, NULL, out);
    }
}

/* Below 64K floats (1,000 rows of 64, ~15 us of gathering at the 24 ns a
 * row measured above) one thread does it all: a pool wake-up costs a few
 * us, and a task much smaller than that gains nothing from a second thread.
 * A first estimate: the machine was too busy this session to measure the
 * crossover (bench/README.md). */
#define MIN_FLOATS_FOR_2 65536

static int64_t min_floats_override = -1;

void rec_rowgather_set_min_work(int64_t floats)
{
    min_floats_override = floats;
}

int rec_rg_chunks(int64_t n, int64_t d, int per_thread)
{
    int t = rec_in_parallel() ? 1 : rec_get_num_threads();
    int64_t work = n * (d > 0 ? d : 1);
    int64_t min = min_floats_override >= 0 ? min_floats_override : MIN_FLOATS_FOR_2;
    if (t <= 1 || work < min || n < 2)
        return 1;
    /* past the threshold at least 2 chunks, never more chunks than rows */
    int64_t by_size = min > 0 ? work / min : per_thread * t;
    if (by_size < 2)
        by_size = 2;
    if (by_size > per_thread * t)
        by_size = per_thread * t;
    return by_size < n ? (int)by_size : (int)n;
}
