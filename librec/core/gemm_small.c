/* Small dense products without BLAS: C = alpha op(A) op(B) + beta C for
 * the narrow shapes of the sequence models (SASRec at d = 50: [6400, 50] x
 * [50, 150], 50 x 50 x 50 attention slices, [150, 6400] x [6400, 50] weight
 * gradients).
 *
 * Why not OpenBLAS.  At these sizes its packing of both operands and its
 * separate pass zeroing or scaling C cost as much as the products (bench/
 * README, the SASRec profile), and OpenBLAS 0.3.21 does not know newer
 * Intel models (family 6 model 207, the bench machine) and falls back to its
 * SSE3 "Prescott" kernels, a third of the AVX-512 speed.  Here a tile of up
 * to 6 rows x 64 columns of C is kept in 24 AVX-512 registers while the
 * inner dimension streams past: A is read in place (a broadcast per
 * element), B row by row in place (B^T is first copied to a [k, 64] block
 * on the stack, the only packing), and C is written once, never zeroed.
 *
 * Every element of C is a fused multiply-add chain over p = 0..k-1 in
 * order, then alpha and beta; the tiling and the caller's split by rows or
 * columns never change it.  So results do not depend on the thread count,
 * and the plain C kernel below (fmaf in the same order) is bit-identical:
 * the tests compare the two exactly.  The C kernel is the reference only:
 * a CPU without AVX-512 keeps OpenBLAS, which is faster than scalar fmaf. */
#include "core-impl.h"

#include <stdatomic.h>
#include <math.h>

/* the [k, 64] copy of B^T lives on the stack: 32 KB at most */
#define TB_COLS 64
#define TB_MAX_K 128
/* inner-dimension block of the long A^T B products (see gemm_512_kblocks) */
#define KC 128

/* c = alpha * acc + beta * c, as the AVX-512 kernel rounds it */
static inline float finish(float acc, float alpha, float beta, float c)
{
    float r = alpha == 1.0f ? acc : alpha * acc;
    return beta == 0.0f ? r : beta == 1.0f ? c + r : beta * c + r;
}

static void gemm_c(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                   const float *b, int ldb, float beta, float *c, int ldc)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float acc = 0.0f;
            for (int p = 0; p < k; p++) {
                float x = ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
                float y = tb ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j];
                acc = fmaf(x, y, acc);
            }
            float *o = c + (size_t)i * ldc + j;
            *o = finish(acc, alpha, beta, *o);
        }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))
#define INLINE inline __attribute__((always_inline))

static INLINE AVX512 __mmask16 mask16(int n)
{
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
}

/* A partial sum carried between blocks of the inner dimension: w [rows,
 * ldw]; in says the chain starts from w (else from 0), out that it stops
 * there (else alpha and beta finish it into C). */
typedef struct carry {
    float *w;
    int ldw, in, out;
} carry;

/* C[R rows, NV vectors (the last masked by ml)] over p = 0..k-1; b points
 * at the tile's first column of a [k, *] row-major block with leading dim
 * ldb.  R and NV are constants after inlining: the accumulators are
 * registers. */
static INLINE AVX512 void tile(int R, int NV, int ta, int k, float alpha, const float *a,
                               int lda, const float *b, int ldb, float beta, float *c, int ldc,
                               __mmask16 ml, const carry *cw)
{
    __m512 acc[6][4];
#pragma GCC unroll 6
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            acc[r][v] = cw && cw->in ? _mm512_loadu_ps(cw->w + (size_t)r * cw->ldw + 16 * v)
                                     : _mm512_setzero_ps();
    for (int p = 0; p < k; p++) {
        const float *bp = b + (size_t)p * ldb;
        __m512 y[4];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            y[v] = v == NV - 1 ? _mm512_maskz_loadu_ps(ml, bp + 16 * v)
                               : _mm512_loadu_ps(bp + 16 * v);
#pragma GCC unroll 6
        for (int r = 0; r < R; r++) {
            __m512 x = _mm512_set1_ps(ta ? a[(size_t)p * lda + r] : a[(size_t)r * lda + p]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++)
                acc[r][v] = _mm512_fmadd_ps(x, y[v], acc[r][v]);
        }
    }
    if (cw && cw->out) {
#pragma GCC unroll 6
        for (int r = 0; r < R; r++)
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++)
                _mm512_storeu_ps(cw->w + (size_t)r * cw->ldw + 16 * v, acc[r][v]);
        return;
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 6
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
            __mmask16 mk = v == NV - 1 ? ml : (__mmask16)0xFFFF;
            float *o = c + (size_t)r * ldc + 16 * v;
            __m512 t = alpha == 1.0f ? acc[r][v] : _mm512_mul_ps(va, acc[r][v]);
            if (beta != 0.0f) {
                __m512 old = _mm512_maskz_loadu_ps(mk, o);
                t = _mm512_add_ps(beta == 1.0f ? old : _mm512_mul_ps(vb, old), t);
            }
            _mm512_mask_storeu_ps(o, mk, t);
        }
}

#define TILE(R, NV) tile(R, NV, ta, k, alpha, ai, lda, b, ldb, beta, ci, ldc, ml, cr)
#define TILE_NV(R)                                                                             \
    do {                                                                                       \
        switch (nv) {                                                                          \
        case 1: TILE(R, 1); break;                                                             \
        case 2: TILE(R, 2); break;                                                             \
        case 3: TILE(R, 3); break;                                                             \
        default: TILE(R, 4); break;                                                            \
        }                                                                                      \
    } while (0)

/* C[:, 0..nc) for nc <= 64, B already as a [k, nc] row-major block; cw
 * (NULL: none) carries the partial sums of a blocked inner dimension, its
 * w pointing at this panel's first column. */
static AVX512 void panel(int ta, int m, int nc, int k, float alpha, const float *a, int lda,
                         const float *b, int ldb, float beta, float *c, int ldc,
                         const carry *cw)
{
    int nv = (nc + 15) / 16;
    __mmask16 ml = mask16(nc - 16 * (nv - 1));
    for (int i0 = 0; i0 < m; i0 += 6) {
        const float *ai = ta ? a + i0 : a + (size_t)i0 * lda;
        float *ci = c + (size_t)i0 * ldc;
        carry rows, *cr = NULL;
        if (cw) {
            rows = *cw;
            rows.w += (size_t)i0 * cw->ldw;
            cr = &rows;
        }
        switch (m - i0 < 6 ? m - i0 : 6) {
        case 1: TILE_NV(1); break;
        case 2: TILE_NV(2); break;
        case 3: TILE_NV(3); break;
        case 4: TILE_NV(4); break;
        case 5: TILE_NV(5); break;
        default: TILE_NV(6); break;
        }
    }
}

static AVX512 void gemm_512(int ta, int tb, int m, int n, int k, float alpha, const float *a,
                            int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    float bt[TB_MAX_K * TB_COLS];
    for (int j0 = 0; j0 < n; j0 += TB_COLS) {
        int nc = n - j0 < TB_COLS ? n - j0 : TB_COLS;
        if (tb) { /* rows j0.. of B [n, k] -> bt [k, nc] */
            for (int j = 0; j < nc; j++) {
                const float *src = b + (size_t)(j0 + j) * ldb;
                for (int p = 0; p < k; p++)
                    bt[p * TB_COLS + j] = src[p];
            }
            panel(ta, m, nc, k, alpha, a, lda, bt, TB_COLS, beta, c + j0, ldc, NULL);
        } else {
            panel(ta, m, nc, k, alpha, a, lda, b + j0, ldb, beta, c + j0, ldc, NULL);
        }
    }
}

/* A^T B with a long inner dimension (weight gradients: k = the batch's
 * rows): unblocked, every 6-row tile would stream all of A and B from
 * memory again, and A's rows are read 24 bytes at a time.  So k goes in
 * blocks of KC rows (B's block, 128 x 64 floats, stays in L1; 150 x 50 x
 * 6400: 1.90 ms unblocked, 1.58 / 1.43 / 1.44 ms at KC = 64 / 128 / 256),
 * the partial sums in w [m, n64] (n64 = n rounded up to 64) between
 * blocks: a float stored and reloaded, so each element is still one
 * unbroken FMA chain. */
static AVX512 void gemm_512_kblocks(int m, int n, int k, float alpha, const float *a, int lda,
                                    const float *b, int ldb, float beta, float *c, int ldc,
                                    float *w, int ldw)
{
    for (int p0 = 0; p0 < k; p0 += KC) {
        int kc = k - p0 < KC ? k - p0 : KC;
        for (int j0 = 0; j0 < n; j0 += TB_COLS) {
            int nc = n - j0 < TB_COLS ? n - j0 : TB_COLS;
            carry cw = { w + j0, ldw, p0 > 0, p0 + kc < k };
            panel(1, m, nc, kc, alpha, a + (size_t)p0 * lda, lda, b + (size_t)p0 * ldb + j0,
                  ldb, beta, c + j0, ldc, &cw);
        }
    }
}

static int has_512(void)
{
    return __builtin_cpu_supports("avx512f");
}

#else

static void gemm_512(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                     const float *b, int ldb, float beta, float *c, int ldc)
{
    gemm_c(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

static void gemm_512_kblocks(int m, int n, int k, float alpha, const float *a, int lda,
                             const float *b, int ldb, float beta, float *c, int ldc, float *w,
                             int ldw)
{
    (void)w, (void)ldw;
    gemm_c(1, 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

static int has_512(void)
{
    return 0;
}

#endif

/* 0 until the first call picks one (atomic: first calls may race, they
 * store the same value) */
static atomic_int path_now;

static int best_path(void)
{
    return has_512() ? REC_GEMM_AVX512 : REC_GEMM_BLAS;
}

int rec_gemm_force(int path)
{
    int p = path == REC_GEMM_AUTO ? best_path()
            : path == REC_GEMM_AVX512 && !has_512() ? REC_GEMM_C
                                                     : path;
    atomic_store_explicit(&path_now, p, memory_order_relaxed);
    return p;
}

int rec_gemm_path(void)
{
    int p = atomic_load_explicit(&path_now, memory_order_relaxed);
    if (!p) {
        p = best_path();
        atomic_store_explicit(&path_now, p, memory_order_relaxed);
    }
    return p;
}

int rec_gemm_small(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                   const float *b, int ldb, float beta, float *c, int ldc)
{
    int path = rec_gemm_path();
    if (path == REC_GEMM_BLAS || k <= 0 || (tb && k > TB_MAX_K))
        return 0;
    if (path == REC_GEMM_AVX512 && ta && !tb && k > 2 * KC) {
        int ldw = (n + TB_COLS - 1) / TB_COLS * TB_COLS;
        size_t bytes = (size_t)m * ldw * sizeof(float);
        float *w = rec_malloc(bytes);
        if (w) {
            gemm_512_kblocks(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, w, ldw);
            rec_free(w, bytes);
            return 1;
        }
    }
    if (path == REC_GEMM_AVX512)
        gemm_512(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else
        gemm_c(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return 1;
}
