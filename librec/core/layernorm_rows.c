/* Layer norm row kernels: an AVX-512 path and a plain C path that give the
 * same bits.  At SASRec's 50 columns a row is three full vectors and a
 * tail; the earlier loops (16 float lanes combined in double, one after
 * another, and scalar tails, under -march=x86-64-v2) spent most of a row's
 * ~300 cycles in those serial steps (bench/README.md, the W1 profile).
 *
 * The order, which both paths follow: a row's sums run in 16 lanes, value
 * k into lane k % 16 (past the row's end a lane adds nothing), then the
 * lanes fold in halves (lane l += lane l + 8, then + 4, + 2, + 1), all in
 * float; products are a multiply then an add (no fused multiply-add). */
#include "core-impl.h"

#include <math.h>

#define W 16

static float fold(float *acc)
{
    for (int h = W / 2; h >= 1; h /= 2)
        for (int l = 0; l < h; l++)
            acc[l] += acc[l + h];
    return acc[0];
}

static float rstd_of(float sq, int64_t c, float eps)
{
    return 1.0f / sqrtf(sq / (float)c + eps);
}

static void fwd_c(const float *x, float *y, float *stats, int64_t r0, int64_t r1, int64_t c,
                  float eps, const float *gamma, const float *beta)
{
    for (int64_t r = r0; r < r1; r++) {
        const float *xr = x + r * c;
        float *yr = y + r * c;
        float acc[W] = { 0 };
        for (int64_t k = 0; k < c; k++)
            acc[k % W] += xr[k];
        float mu = fold(acc) / (float)c;
        float sq[W] = { 0 };
        for (int64_t k = 0; k < c; k++) {
            float d = xr[k] - mu;
            sq[k % W] += d * d;
        }
        float rstd = rstd_of(fold(sq), c, eps);
        stats[2 * r] = mu;
        stats[2 * r + 1] = rstd;
        for (int64_t k = 0; k < c; k++) {
            float v = (xr[k] - mu) * rstd;
            if (gamma)
                v *= gamma[k];
            if (beta)
                v += beta[k];
            yr[k] = v;
        }
    }
}

static void bwd_c(const float *x, const float *dy, float *dx, int set, const float *stats,
                  int64_t r0, int64_t r1, int64_t c, const float *gamma)
{
    for (int64_t r = r0; r < r1; r++) {
        const float *xr = x + r * c, *d = dy + r * c;
        float *o = dx + r * c, mu = stats[2 * r], rstd = stats[2 * r + 1];
        float ag[W] = { 0 }, agx[W] = { 0 };
        for (int64_t k = 0; k < c; k++) {
            float gh = gamma ? d[k] * gamma[k] : d[k];
            ag[k % W] += gh;
            agx[k % W] += gh * ((xr[k] - mu) * rstd);
        }
        float mg = fold(ag) / (float)c, mgx = fold(agx) / (float)c;
        for (int64_t k = 0; k < c; k++) {
            float gh = gamma ? d[k] * gamma[k] : d[k];
            float v = rstd * (gh - mg - ((xr[k] - mu) * rstd) * mgx);
            o[k] = set ? v : o[k] + v;
        }
    }
}

static void params_c(const float *x, const float *dy, const float *stats, int64_t rows,
                     int64_t c, float *dg, float *db)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * c, *d = dy + r * c;
        float mu = stats[2 * r], rstd = stats[2 * r + 1];
        for (int64_t k = 0; k < c; k++) {
            if (dg)
                dg[k] += d[k] * ((xr[k] - mu) * rstd);
            if (db)
                db[k] += d[k];
        }
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include "simd512-impl.h"

static AVX512 void fwd_512(const float *x, float *y, float *stats, int64_t r0, int64_t r1,
                           int64_t c, float eps, const float *gamma, const float *beta)
{
    for (int64_t r = r0; r < r1; r++) {
        const float *xr = x + r * c;
        float *yr = y + r * c;
        __m512 acc = _mm512_setzero_ps();
        for (int64_t k = 0; k < c; k += W)
            acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(tail16(c - k), xr + k));
        float mu = fold512_add(acc) / (float)c;
        __m512 m = _mm512_set1_ps(mu), sq = _mm512_setzero_ps();
        for (int64_t k = 0; k < c; k += W) {
            __mmask16 t = tail16(c - k);
            __m512 d = _mm512_maskz_sub_ps(t, _mm512_maskz_loadu_ps(t, xr + k), m);
            sq = _mm512_add_ps(sq, _mm512_mul_ps(d, d));
        }
        float rstd = rstd_of(fold512_add(sq), c, eps);
        stats[2 * r] = mu;
        stats[2 * r + 1] = rstd;
        __m512 rs = _mm512_set1_ps(rstd);
        for (int64_t k = 0; k < c; k += W) {
            __mmask16 t = tail16(c - k);
            __m512 v = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(t, xr + k), m), rs);
            if (gamma)
                v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(t, gamma + k));
            if (beta)
                v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(t, beta + k));
            _mm512_mask_storeu_ps(yr + k, t, v);
        }
    }
}

static AVX512 void bwd_512(const float *x, const float *dy, float *dx, int set,
                           const float *stats, int64_t r0, int64_t r1, int64_t c,
                           const float *gamma)
{
    for (int64_t r = r0; r < r1; r++) {
        const float *xr = x + r * c, *d = dy + r * c;
        float *o = dx + r * c;
        __m512 m = _mm512_set1_ps(stats[2 * r]), rs = _mm512_set1_ps(stats[2 * r + 1]);
        __m512 ag = _mm512_setzero_ps(), agx = _mm512_setzero_ps();
        for (int64_t k = 0; k < c; k += W) {
            __mmask16 t = tail16(c - k);
            __m512 gh = _mm512_maskz_loadu_ps(t, d + k);
            if (gamma)
                gh = _mm512_mul_ps(gh, _mm512_maskz_loadu_ps(t, gamma + k));
            __m512 xh = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(t, xr + k), m), rs);
            ag = _mm512_add_ps(ag, gh);
            agx = _mm512_add_ps(agx, _mm512_maskz_mul_ps(t, gh, xh));
        }
        __m512 mg = _mm512_set1_ps(fold512_add(ag) / (float)c);
        __m512 mgx = _mm512_set1_ps(fold512_add(agx) / (float)c);
        for (int64_t k = 0; k < c; k += W) {
            __mmask16 t = tail16(c - k);
            __m512 gh = _mm512_maskz_loadu_ps(t, d + k);
            if (gamma)
                gh = _mm512_mul_ps(gh, _mm512_maskz_loadu_ps(t, gamma + k));
            __m512 xh = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(t, xr + k), m), rs);
            __m512 v = _mm512_sub_ps(_mm512_sub_ps(gh, mg), _mm512_mul_ps(xh, mgx));
            v = _mm512_mul_ps(rs, v);
            if (!set)
                v = _mm512_add_ps(_mm512_maskz_loadu_ps(t, o + k), v);
            _mm512_mask_storeu_ps(o + k, t, v);
        }
    }
}

/* columns in blocks of 4 vectors, the sums in registers over all rows */
static AVX512 void params_512(const float *x, const float *dy, const float *stats,
                              int64_t rows, int64_t c, float *dg, float *db)
{
    for (int64_t k0 = 0; k0 < c; k0 += 4 * W) {
        __mmask16 t[4];
        __m512 g[4], b[4];
        for (int v = 0; v < 4; v++) {
            t[v] = k0 + v * W < c ? tail16(c - k0 - v * W) : 0;
            g[v] = dg ? _mm512_maskz_loadu_ps(t[v], dg + k0 + v * W) : _mm512_setzero_ps();
            b[v] = db ? _mm512_maskz_loadu_ps(t[v], db + k0 + v * W) : _mm512_setzero_ps();
        }
        for (int64_t r = 0; r < rows; r++) {
            const float *xr = x + r * c + k0, *d = dy + r * c + k0;
            __m512 m = _mm512_set1_ps(stats[2 * r]), rs = _mm512_set1_ps(stats[2 * r + 1]);
            for (int v = 0; v < 4; v++) {
                if (!t[v])
                    break;
                __m512 dv = _mm512_maskz_loadu_ps(t[v], d + v * W);
                __m512 xh = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(t[v], xr + v * W),
                                                        m), rs);
                g[v] = _mm512_add_ps(g[v], _mm512_mul_ps(dv, xh));
                b[v] = _mm512_add_ps(b[v], dv);
            }
        }
        for (int v = 0; v < 4; v++) {
            if (dg)
                _mm512_mask_storeu_ps(dg + k0 + v * W, t[v], g[v]);
            if (db)
                _mm512_mask_storeu_ps(db + k0 + v * W, t[v], b[v]);
        }
    }
}

#else

static void fwd_512(const float *x, float *y, float *stats, int64_t r0, int64_t r1, int64_t c,
                    float eps, const float *gamma, const float *beta)
{
    fwd_c(x, y, stats, r0, r1, c, eps, gamma, beta);
}

static void bwd_512(const float *x, const float *dy, float *dx, int set, const float *stats,
                    int64_t r0, int64_t r1, int64_t c, const float *gamma)
{
    bwd_c(x, dy, dx, set, stats, r0, r1, c, gamma);
}

static void params_512(const float *x, const float *dy, const float *stats, int64_t rows,
                       int64_t c, float *dg, float *db)
{
    params_c(x, dy, stats, rows, c, dg, db);
}

#endif

void rec_ln_rows_fwd(const float *x, float *y, float *stats, int64_t r0, int64_t r1, int64_t c,
                     float eps, const float *gamma, const float *beta)
{
    if (rec_simd_path() == REC_SIMD_AVX512)
        fwd_512(x, y, stats, r0, r1, c, eps, gamma, beta);
    else
        fwd_c(x, y, stats, r0, r1, c, eps, gamma, beta);
}

void rec_ln_rows_bwd(const float *x, const float *dy, float *dx, int set, const float *stats,
                     int64_t r0, int64_t r1, int64_t c, const float *gamma)
{
    if (rec_simd_path() == REC_SIMD_AVX512)
        bwd_512(x, dy, dx, set, stats, r0, r1, c, gamma);
    else
        bwd_c(x, dy, dx, set, stats, r0, r1, c, gamma);
}

void rec_ln_params_bwd(const float *x, const float *dy, const float *stats, int64_t rows,
                       int64_t c, float *dg, float *db)
{
    if (rec_simd_path() == REC_SIMD_AVX512)
        params_512(x, dy, stats, rows, c, dg, db);
    else
        params_c(x, dy, stats, rows, c, dg, db);
}
