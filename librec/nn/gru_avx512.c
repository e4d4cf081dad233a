/* AVX-512 kernels of the fused GRU (gru.c), chosen at run time.
 *
 * Per step the work is small (h [B, H] x W_hh^T [H, 3H]), so BLAS calls on
 * batch slices cost more in packing and call overhead than in arithmetic.
 * These kernels do each step in one pass over the batch:
 *
 * forward, 6 rows x 16 hidden units at a time: the r, z, n pre-activations
 *   of x_t (k < I) and of h_t (k < H) in 24 accumulators, from weights packed
 *   k-major per unit block, then the gates in registers, writing h_{t+1},
 *   out and the saved gates (r, z, n, hn).  No [B*T, 3H] input projection
 *   is ever stored: x_t's part is summed with h_t's in the same registers.
 * backward, 6 rows at a time: the gate derivatives (dHH_t = [da_r, da_z,
 *   da_n r] and da_n), then dh_t = dht z + dHH_t W_hh and
 *   dx_t += [da_r, da_z, da_n] W_ih with 6 x 64 accumulators, reading the
 *   weights as stored.  In the same parallel region each part adds step
 *   t+1's share to dW_hh, dW_ih and the biases for its own rows of units,
 *   while that step's dHH and da_n ([B, 3H] and [B, H], double-buffered)
 *   are still in cache: no [T*B, 3H] buffers, no packing, no column sums.
 *
 * H and I need not be multiples of 16: the last block of units is masked.
 * Each output element is one fixed-order sum, so results do not depend on
 * how the batch is split (nor on the thread count).  A short last row block
 * repeats its last row: the repeat computes and stores the same values. */
#include "gru-impl.h"
#include "core/ops_dense-impl.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))

int rec_gru_avx512_ok(void)
{
    return __builtin_cpu_supports("avx512f");
}

static inline __mmask16 tail_mask(int n) /* lanes [0, min(n, 16)) */
{
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
}

/* Per block j of 16 units: [I + H][3][16] weights (x part rows, then h part
 * rows; r, z, n), then 4 x 16 biases: b_ir + b_hr, b_iz + b_hz, b_in, b_hn.
 * Units past H are zero. */
static size_t pack_block_size(int I, int H) { return (size_t)(I + H) * 48 + 64; }

static void pack(const gru_state *s, float *wp)
{
    int I = s->I, H = s->H, HB = (H + 15) / 16;
    const float *wi = s->w_ih->v, *wh = s->w_hh->v, *bi = s->b_ih->v, *bh = s->b_hh->v;
    memset(wp, 0, (size_t)HB * pack_block_size(I, H) * sizeof(float));
    for (int j = 0; j < HB; j++) {
        float *o = wp + (size_t)j * pack_block_size(I, H);
        for (int l = 0; l < 16 && j * 16 + l < H; l++) {
            int u = j * 16 + l;
            for (int g = 0; g < 3; g++) {
                for (int k = 0; k < I; k++)
                    o[((size_t)k * 3 + g) * 16 + l] = wi[(size_t)(g * H + u) * I + k];
                for (int k = 0; k < H; k++)
                    o[((size_t)(I + k) * 3 + g) * 16 + l] = wh[(size_t)(g * H + u) * H + k];
            }
            float *bb = o + (size_t)(I + H) * 48;
            bb[l] = bi[u] + bh[u];
            bb[16 + l] = bi[H + u] + bh[H + u];
            bb[32 + l] = bi[2 * H + u];
            bb[48 + l] = bh[2 * H + u];
        }
    }
}

/* Cephes' expf polynomial (as gru.c's SSE2 version), 16 lanes. */
static inline AVX512 __m512 exp16(__m512 x)
{
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
    __m512i ni = _mm512_cvtps_epi32(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)));
    __m512 n = _mm512_cvtepi32_ps(ni);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1.0f));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(ni, _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

static inline AVX512 __m512 sigmoid16(__m512 x)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    return _mm512_div_ps(one, _mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

static inline AVX512 __m512 tanh16(__m512 x)
{
    const __m512 one = _mm512_set1_ps(1.0f), two = _mm512_set1_ps(2.0f);
    __m512 e = exp16(_mm512_mul_ps(two, x));
    return _mm512_sub_ps(one, _mm512_div_ps(two, _mm512_add_ps(e, one)));
}

#define FR 6 /* forward rows per block */

static AVX512 void step_fwd(void *arg, int64_t b0, int64_t b1, int chunk)
{
    (void)chunk;
    const gru_job *jb = arg;
    const gru_state *s = jb->s;
    int H = s->H, I = s->I, T = s->T, t = jb->t, B = s->B, HB = (H + 15) / 16;
    const float *hs_t = s->hs + (size_t)t * B * H, *xs_t = s->xt + (size_t)t * B * I;
    float *hs_n = s->hs + (size_t)(t + 1) * B * H;
    size_t bsz = pack_block_size(I, H);
    for (int64_t rb = b0; rb < b1; rb += FR) {
        int row[FR];
        const float *hp[FR], *xp[FR];
#pragma GCC unroll 8
        for (int i = 0; i < FR; i++) {
            row[i] = (int)(rb + i < b1 ? rb + i : b1 - 1);
            hp[i] = hs_t + (size_t)row[i] * H;
            xp[i] = xs_t + (size_t)row[i] * I;
        }
        for (int j = 0; j < HB; j++) {
            const float *w = jb->wp + (size_t)j * bsz;
            __m512 ar[FR], az[FR], axn[FR], ahn[FR];
#pragma GCC unroll 8
            for (int i = 0; i < FR; i++)
                ar[i] = az[i] = axn[i] = ahn[i] = _mm512_setzero_ps();
            for (int k = 0; k < I; k++) {
                const float *wk = w + (size_t)k * 48;
                __m512 wr = _mm512_loadu_ps(wk), wz = _mm512_loadu_ps(wk + 16);
                __m512 wn = _mm512_loadu_ps(wk + 32);
#pragma GCC unroll 8
                for (int i = 0; i < FR; i++) {
                    __m512 a = _mm512_set1_ps(xp[i][k]);
                    ar[i] = _mm512_fmadd_ps(a, wr, ar[i]);
                    az[i] = _mm512_fmadd_ps(a, wz, az[i]);
                    axn[i] = _mm512_fmadd_ps(a, wn, axn[i]);
                }
            }
            for (int k = 0; k < H; k++) {
                const float *wk = w + (size_t)(I + k) * 48;
                __m512 wr = _mm512_loadu_ps(wk), wz = _mm512_loadu_ps(wk + 16);
                __m512 wn = _mm512_loadu_ps(wk + 32);
#pragma GCC unroll 8
                for (int i = 0; i < FR; i++) {
                    __m512 a = _mm512_set1_ps(hp[i][k]);
                    ar[i] = _mm512_fmadd_ps(a, wr, ar[i]);
                    az[i] = _mm512_fmadd_ps(a, wz, az[i]);
                    ahn[i] = _mm512_fmadd_ps(a, wn, ahn[i]);
                }
            }
            const float *bb = w + (size_t)(I + H) * 48;
            __m512 brz_r = _mm512_loadu_ps(bb), brz_z = _mm512_loadu_ps(bb + 16);
            __m512 b_in = _mm512_loadu_ps(bb + 32), b_hn = _mm512_loadu_ps(bb + 48);
            int u = j * 16;
            __mmask16 m = tail_mask(H - u);
#pragma GCC unroll 8
            for (int i = 0; i < FR; i++) {
                size_t bt = (size_t)row[i] * T + t;
                float *gt = s->gates + ((size_t)t * B + row[i]) * 4 * H;
                __m512 r = sigmoid16(_mm512_add_ps(ar[i], brz_r));
                __m512 z = sigmoid16(_mm512_add_ps(az[i], brz_z));
                __m512 hn = _mm512_add_ps(ahn[i], b_hn);
                __m512 n = tanh16(_mm512_fmadd_ps(r, hn, _mm512_add_ps(axn[i], b_in)));
                __m512 h = _mm512_fmadd_ps(z, _mm512_sub_ps(_mm512_maskz_loadu_ps(m, hp[i] + u), n),
                                           n);
                _mm512_mask_storeu_ps(hs_n + (size_t)row[i] * H + u, m, h);
                _mm512_mask_storeu_ps(jb->out + bt * H + u, m, h);
                _mm512_mask_storeu_ps(gt + u, m, r);
                _mm512_mask_storeu_ps(gt + H + u, m, z);
                _mm512_mask_storeu_ps(gt + 2 * H + u, m, n);
                _mm512_mask_storeu_ps(gt + 3 * H + u, m, hn);
            }
        }
        for (int i = 0; i < FR && rb + i < b1; i++)
            if (!rec_gru_valid(s, row[i], t)) { /* padding: carry the state, output zero */
                memcpy(hs_n + (size_t)row[i] * H, hp[i], (size_t)H * sizeof(float));
                memset(jb->out + ((size_t)row[i] * T + t) * H, 0, (size_t)H * sizeof(float));
            }
    }
}

#define BR 6 /* backward rows per block */

/* Gate derivatives of one row; dhp receives dht z (the products are added later). */
static AVX512 void bwd_row(const gru_job *jb, int b)
{
    const gru_state *s = jb->s;
    int H = s->H, H3 = 3 * H, T = s->T, t = jb->t, B = s->B;
    size_t tb = (size_t)t * B + b;
    const float *dh = jb->dh + (size_t)b * H;
    float *dhp = jb->dh_prev + (size_t)b * H;
    float *dg = jb->dhh_u[t & 1] + (size_t)b * H3, *dan_row = jb->dan_u[t & 1] + (size_t)b * H;
    if (!rec_gru_valid(s, b, t)) { /* the state was carried: so is its gradient */
        memcpy(dhp, dh, (size_t)H * sizeof(float));
        memset(dg, 0, (size_t)H3 * sizeof(float));
        memset(dan_row, 0, (size_t)H * sizeof(float));
        return;
    }
    const float *hp = s->hs + tb * H;
    const float *gt = s->gates + tb * 4 * H;
    const float *dout = jb->dout ? jb->dout + ((size_t)b * T + t) * H : NULL;
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int u = 0; u < H; u += 16) {
        __mmask16 m = tail_mask(H - u);
        __m512 r = _mm512_maskz_loadu_ps(m, gt + u), z = _mm512_maskz_loadu_ps(m, gt + H + u);
        __m512 n = _mm512_maskz_loadu_ps(m, gt + 2 * H + u);
        __m512 hn = _mm512_maskz_loadu_ps(m, gt + 3 * H + u);
        __m512 dht = _mm512_maskz_loadu_ps(m, dh + u);
        if (dout)
            dht = _mm512_add_ps(dht, _mm512_maskz_loadu_ps(m, dout + u));
        __m512 omz = _mm512_sub_ps(one, z);
        __m512 dan = _mm512_mul_ps(_mm512_mul_ps(dht, omz), _mm512_fnmadd_ps(n, n, one));
        __m512 dar = _mm512_mul_ps(_mm512_mul_ps(dan, hn), _mm512_mul_ps(r, _mm512_sub_ps(one, r)));
        __m512 hpv = _mm512_maskz_loadu_ps(m, hp + u);
        __m512 daz = _mm512_mul_ps(_mm512_mul_ps(dht, _mm512_sub_ps(hpv, n)), _mm512_mul_ps(z, omz));
        _mm512_mask_storeu_ps(dg + u, m, dar);
        _mm512_mask_storeu_ps(dg + H + u, m, daz);
        _mm512_mask_storeu_ps(dg + 2 * H + u, m, _mm512_mul_ps(dan, r));
        _mm512_mask_storeu_ps(dan_row + u, m, dan);
        _mm512_mask_storeu_ps(dhp + u, m, _mm512_mul_ps(dht, z));
    }
}

/* o[i][c0 .. c0+16 NV) += sum over k < K of a[i][k] w[k][c0 ..] for BR rows;
 * w rows are ldw apart; the last vector is masked by mlast.  Every row's
 * init is loaded before any row is stored (rows may repeat). */
#define BWD_TILE(NV)                                                                       \
    static AVX512 void tile##NV(float *const *o, const float *const *a, const float *w,    \
                                int ldw, int K, int c0, __mmask16 mlast)                   \
    {                                                                                      \
        __m512 acc[BR][NV];                                                                \
        _Pragma("GCC unroll 8") for (int i = 0; i < BR; i++)                               \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                           \
                acc[i][v] = _mm512_maskz_loadu_ps(v == NV - 1 ? mlast : 0xFFFF,            \
                                                  o[i] + c0 + 16 * v);                     \
        for (int k = 0; k < K; k++) {                                                      \
            __m512 wv[NV];                                                                 \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                           \
                wv[v] = _mm512_maskz_loadu_ps(v == NV - 1 ? mlast : 0xFFFF,                \
                                              w + (size_t)k * ldw + c0 + 16 * v);          \
            _Pragma("GCC unroll 8") for (int i = 0; i < BR; i++) {                         \
                __m512 x = _mm512_set1_ps(a[i][k]);                                        \
                _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                       \
                    acc[i][v] = _mm512_fmadd_ps(x, wv[v], acc[i][v]);                      \
            }                                                                              \
        }                                                                                  \
        _Pragma("GCC unroll 8") for (int i = 0; i < BR; i++)                               \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                           \
                _mm512_mask_storeu_ps(o[i] + c0 + 16 * v, v == NV - 1 ? mlast : 0xFFFF,    \
                                      acc[i][v]);                                          \
    }
BWD_TILE(4)
BWD_TILE(2)
BWD_TILE(1)

/* o[i][0 .. C) += a[i][0 .. K) w [K, C] (rows ldw apart) for BR rows. */
static AVX512 void rows_gemm(float *const *o, const float *const *a, const float *w, int ldw,
                             int K, int C)
{
    int c0 = 0;
    for (; c0 + 64 <= C; c0 += 64)
        tile4(o, a, w, ldw, K, c0, 0xFFFF);
    if (c0 + 16 < C) {
        tile2(o, a, w, ldw, K, c0, tail_mask(C - c0 - 16));
        c0 += 32;
    }
    for (; c0 < C; c0 += 16)
        tile1(o, a, w, ldw, K, c0, tail_mask(C - c0));
}

/* dW rows m0 .. m0+R of one step: o[i][c0 .. c0+16 NV) += sum over b < K of
 * a[b lda + i] x[b ldx + c0 ..] (o rows ldo apart); bias[0 .. R) += the sums
 * of a's columns when bias is not NULL. */
#define DW_TILE(R, NV)                                                                     \
    static AVX512 void dw##R##_##NV(float *o, int ldo, const float *a, int lda,            \
                                    const float *x, int ldx, int K, int c0,                \
                                    __mmask16 mlast, float *bias)                          \
    {                                                                                      \
        __m512 acc[R][NV], sb = _mm512_setzero_ps();                                       \
        _Pragma("GCC unroll 8") for (int i = 0; i < R; i++)                                \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                           \
                acc[i][v] = _mm512_maskz_loadu_ps(v == NV - 1 ? mlast : 0xFFFF,            \
                                                  o + (size_t)i * ldo + c0 + 16 * v);      \
        for (int k = 0; k < K; k++) {                                                      \
            __m512 xv[NV];                                                                 \
            const float *ak = a + (size_t)k * lda;                                         \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                           \
                xv[v] = _mm512_maskz_loadu_ps(v == NV - 1 ? mlast : 0xFFFF,                \
                                              x + (size_t)k * ldx + c0 + 16 * v);          \
            _Pragma("GCC unroll 8") for (int i = 0; i < R; i++) {                          \
                __m512 s_ = _mm512_set1_ps(ak[i]);                                         \
                _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                       \
                    acc[i][v] = _mm512_fmadd_ps(s_, xv[v], acc[i][v]);                     \
            }                                                                              \
            sb = _mm512_add_ps(sb, _mm512_maskz_loadu_ps((__mmask16)((1u << R) - 1), ak)); \
        }                                                                                  \
        _Pragma("GCC unroll 8") for (int i = 0; i < R; i++)                                \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                           \
                _mm512_mask_storeu_ps(o + (size_t)i * ldo + c0 + 16 * v,                   \
                                      v == NV - 1 ? mlast : 0xFFFF, acc[i][v]);            \
        if (bias) {                                                                        \
            __mmask16 mb = (__mmask16)((1u << R) - 1);                                     \
            _mm512_mask_storeu_ps(bias, mb, _mm512_add_ps(_mm512_maskz_loadu_ps(mb, bias), sb)); \
        }                                                                                  \
    }
DW_TILE(6, 4)
DW_TILE(6, 2)
DW_TILE(6, 1)
DW_TILE(1, 4)
DW_TILE(1, 2)
DW_TILE(1, 1)

/* o [R, C] += a^T x over K rows for R = 6 or 1, column tiles of 64, 32, 16. */
static AVX512 void dw_rows(int R, float *o, int ldo, const float *a, int lda, const float *x,
                           int ldx, int K, int C, float *bias)
{
    int c0 = 0;
    for (; c0 + 64 <= C; c0 += 64, bias = NULL)
        (R == 6 ? dw6_4 : dw1_4)(o, ldo, a, lda, x, ldx, K, c0, 0xFFFF, bias);
    if (c0 + 16 < C) {
        (R == 6 ? dw6_2 : dw1_2)(o, ldo, a, lda, x, ldx, K, c0, tail_mask(C - c0 - 16), bias);
        c0 += 32;
        bias = NULL;
    }
    for (; c0 < C; c0 += 16, bias = NULL)
        (R == 6 ? dw6_1 : dw1_1)(o, ldo, a, lda, x, ldx, K, c0, tail_mask(C - c0), bias);
}

/* This part's share of step u's weight and bias gradients: rows of dW_hh
 * and dW_ih (units, gate-major) in tiles of 6 (single rows at the end of
 * the r,z and n segments), split by part so that each element's sum runs
 * over steps, then batch rows, in one order whatever the split. */
static AVX512 void step_dw(const gru_job *jb, int u, int part, int nparts)
{
    const gru_state *s = jb->s;
    int H = s->H, H3 = 3 * H, I = s->I, B = s->B;
    const float *dg = jb->dhh_u[u & 1], *dn = jb->dan_u[u & 1];
    const float *xu = s->xt + (size_t)u * B * I, *hu = s->hs + (size_t)u * B * H;
    int nt = jb->ntiles, t0 = nt * part / nparts, t1 = nt * (part + 1) / nparts;
    for (int ti = t0; ti < t1; ti++) {
        int m0 = jb->tiles[ti] >> 3, R = jb->tiles[ti] & 7;
        if (jb->dwhh)
            dw_rows(R, jb->dwhh + (size_t)m0 * H, H, dg + m0, H3, hu, H, B, H,
                    jb->dbhh ? jb->dbhh + m0 : NULL);
        if (jb->dwih) {
            const float *a = m0 < 2 * H ? dg + m0 : dn + (m0 - 2 * H);
            dw_rows(R, jb->dwih + (size_t)m0 * I, I, a, m0 < 2 * H ? H3 : H, xu, I, B, I,
                    jb->dbih ? jb->dbih + m0 : NULL);
        }
    }
}

static AVX512 void step_bwd(void *arg, int64_t b0, int64_t b1, int chunk)
{
    (void)chunk;
    const gru_job *jb = arg;
    const gru_state *s = jb->s;
    int H = s->H, H3 = 3 * H, I = s->I, T = s->T, t = jb->t;
    if (t + 1 < T) /* step t+1's dHH and da_n are complete: its weight gradients */
        step_dw(jb, t + 1, chunk, jb->nparts);
    if (t < 0)
        return;
    for (int64_t rb = b0; rb < b1; rb += BR) {
        float *dhp[BR], *dxr[BR];
        const float *dg[BR], *dn[BR];
        for (int i = 0; i < BR; i++) {
            int b = (int)(rb + i < b1 ? rb + i : b1 - 1);
            if (rb + i < b1)
                bwd_row(jb, b);
            dhp[i] = jb->dh_prev + (size_t)b * H;
            dg[i] = jb->dhh_u[t & 1] + (size_t)b * H3;
            dn[i] = jb->dan_u[t & 1] + (size_t)b * H;
            dxr[i] = jb->dx ? jb->dx + ((size_t)b * T + t) * I : NULL;
        }
        rows_gemm(dhp, dg, s->w_hh->v, H, H3, H);
        if (jb->dx) { /* dXW_t = [da_r, da_z, da_n]: the first 2H of dHH_t, then da_n */
            rows_gemm(dxr, dg, s->w_ih->v, I, 2 * H, I);
            rows_gemm(dxr, dn, s->w_ih->v + (size_t)2 * H * I, I, H, I);
        }
    }
}

/* One batch part per thread, in whole forward row blocks. */
static int parts(int B)
{
    int p = rec_in_parallel() ? 1 : rec_get_num_threads();
    int blocks = (B + FR - 1) / FR;
    return p < blocks ? p : blocks;
}

int rec_gru_fwd_avx512(rec_graph *g, gru_state *s, float *out)
{
    int B = s->B, T = s->T, I = s->I, H = s->H;
    float *wp = rec_graph_alloc(g, (size_t)(H + 15) / 16 * pack_block_size(I, H) * sizeof(float));
    float *xt = rec_graph_alloc(g, (size_t)T * B * I * sizeof(float));
    if (!wp || !xt)
        return -1;
    pack(s, wp);
    const float *x = s->x->v;
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++)
            memcpy(xt + ((size_t)t * B + b) * I, x + ((size_t)b * T + t) * I,
                   (size_t)I * sizeof(float));
    s->xt = xt;
    gru_job j = { .s = s, .out = out, .wp = wp };
    int nc = parts(B);
    for (int t = 0; t < T; t++) {
        j.t = t;
        rec_parallel_chunks(B, nc, step_fwd, &j);
    }
    return 0;
}

void rec_gru_back_avx512(rec_graph *g, const gru_state *s, const float *dout)
{
    int B = s->B, T = s->T, H = s->H, H3 = 3 * H;
    size_t bh = (size_t)B * H;
    float *dh = rec_graph_alloc(g, bh * sizeof(float));
    float *dh_prev = rec_graph_alloc(g, bh * sizeof(float));
    float *dhh = rec_graph_alloc(g, 2 * bh * 3 * sizeof(float));
    float *dan = rec_graph_alloc(g, 2 * bh * sizeof(float));
    int32_t *tiles = rec_graph_alloc(g, (size_t)H3 * sizeof(int32_t));
    float *dx = rec_grad_of(g, s->x), *dwih = rec_grad_of(g, s->w_ih);
    float *dwhh = rec_grad_of(g, s->w_hh), *dh0 = s->h0 ? rec_grad_of(g, s->h0) : NULL;
    float *dbih = rec_grad_of(g, s->b_ih), *dbhh = rec_grad_of(g, s->b_hh);
    if (rec_graph_status(g) || !tiles)
        return;
    /* row tiles (m0 << 3 | rows) over units [0, 2H) and [2H, 3H) */
    int nt = 0;
    for (int seg = 0; seg < 2; seg++) {
        int m = seg ? 2 * H : 0, end = seg ? H3 : 2 * H;
        for (; m + 6 <= end; m += 6)
            tiles[nt++] = m << 3 | 6;
        for (; m < end; m++)
            tiles[nt++] = m << 3 | 1;
    }
    memset(dh, 0, bh * sizeof(float));
    gru_job j = { .s = s, .dout = dout, .dh = dh, .dh_prev = dh_prev, .dx = dx,
                  .dhh_u = { dhh, dhh + bh * 3 }, .dan_u = { dan, dan + bh },
                  .tiles = tiles, .ntiles = nt, .dwhh = dwhh, .dwih = dwih,
                  .dbhh = dbhh, .dbih = dbih };
    j.nparts = parts(B);
    for (int t = T - 1; t >= -1; t--) { /* t = -1: step 0's weight gradients only */
        j.t = t;
        rec_parallel_chunks(B, j.nparts, step_bwd, &j);
        float *tmp = (float *)j.dh;
        j.dh = j.dh_prev;
        j.dh_prev = tmp;
    }
    if (dh0) /* after the extra swap, j.dh_prev holds the gradient of h_0 */
        rec_accum(dh0, j.dh_prev, (int64_t)bh);
}

#else
int rec_gru_avx512_ok(void) { return 0; }
int rec_gru_fwd_avx512(rec_graph *g, gru_state *s, float *out) { return -1; }
void rec_gru_back_avx512(rec_graph *g, const gru_state *s, const float *dout) {}
#endif
