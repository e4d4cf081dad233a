/* GRU as one fused op with a hand-written backward through time.
 *
 * Forward: XW = x W_ih^T + b_ih for all steps in one sgemm ([B*T, 3H]); then
 * per step, for a slice of the batch, one sgemm hh = h W_hh^T + b_hh and the
 * gates in a tight loop.  The slices are fixed by B alone (never by the
 * thread count), so results are the same on any number of threads.
 *
 * Saved: hs [T+1, B, H] (time-major: step t's states are contiguous for
 * the sgemms) and gates [T, B, 4H] = r, z, n, hn = W_hn h + b_hn.
 *
 * Backward, per step t from T-1 down, with dh the gradient of h_{t+1}:
 *   dht = dh + dout_t;  dn = dht (1 - z);  dz = dht (h_t - n)
 *   da_n = dn (1 - n^2);  da_r = da_n hn r (1 - r);  da_z = dz z (1 - z)
 *   dXW_t = [da_r, da_z, da_n];  dHH_t = [da_r, da_z, da_n r]
 *   dh_t = dht z + dHH_t W_hh              (one sgemm per slice)
 * then dW_hh = dHH^T hs, dW_ih = dXW^T x, dx = dXW W_ih: one sgemm each over
 * all steps, and the biases are column sums.
 *
 * With AVX-512 and H % 16 == 0 the steps run gru_avx512.c's fused kernels
 * (product and gates in one pass, no BLAS call per step) on one batch part
 * per thread; otherwise BLAS on batch slices fixed by B, as below. */
#include "gru-impl.h"
#include "core/ops_dense-impl.h"

#include <limits.h>
#include <math.h>
#include <string.h>

static inline int valid(const gru_state *s, int b, int t) { return rec_gru_valid(s, b, t); }

/* Gate activations over blocks of GBLK values.  libm's expf and tanhf do
 * not vectorise and took half the op's time; with SSE2 (every x86-64) exp
 * is Cephes' expf polynomial four lanes at a time (about 2 ulp; tanh as
 * 1 - 2 / (e^2v + 1), absolute error ~1e-7).  Elsewhere: libm. */
#define GBLK 16

#if defined(__SSE2__)
#include <emmintrin.h>

static inline __m128 exp4(__m128 x)
{
    x = _mm_min_ps(_mm_max_ps(x, _mm_set1_ps(-87.0f)), _mm_set1_ps(88.0f));
    __m128i ni = _mm_cvtps_epi32(_mm_mul_ps(x, _mm_set1_ps(1.44269504f))); /* nearest */
    __m128 n = _mm_cvtepi32_ps(ni);
    __m128 r = _mm_sub_ps(x, _mm_mul_ps(n, _mm_set1_ps(0.693359375f)));
    r = _mm_add_ps(r, _mm_mul_ps(n, _mm_set1_ps(2.12194440e-4f)));
    __m128 p = _mm_set1_ps(1.9875691500e-4f);
    p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.3981999507e-3f));
    p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(8.3334519073e-3f));
    p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(4.1665795894e-2f));
    p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.6666665459e-1f));
    p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(5.0000001201e-1f));
    p = _mm_add_ps(_mm_add_ps(_mm_mul_ps(_mm_mul_ps(p, r), r), r), _mm_set1_ps(1.0f));
    __m128i e = _mm_slli_epi32(_mm_add_epi32(ni, _mm_set1_epi32(127)), 23);
    return _mm_mul_ps(p, _mm_castsi128_ps(e));
}

static void sigmoid_blk(float *a)
{
    const __m128 one = _mm_set1_ps(1.0f);
    for (int i = 0; i < GBLK; i += 4) {
        __m128 x = _mm_loadu_ps(a + i);
        __m128 e = exp4(_mm_sub_ps(_mm_setzero_ps(), x));
        _mm_storeu_ps(a + i, _mm_div_ps(one, _mm_add_ps(one, e)));
    }
}

static void tanh_blk(float *a)
{
    const __m128 one = _mm_set1_ps(1.0f), two = _mm_set1_ps(2.0f);
    for (int i = 0; i < GBLK; i += 4) {
        __m128 x = _mm_loadu_ps(a + i);
        __m128 e = exp4(_mm_mul_ps(two, x));
        _mm_storeu_ps(a + i, _mm_sub_ps(one, _mm_div_ps(two, _mm_add_ps(e, one))));
    }
}
#else
static void sigmoid_blk(float *a)
{
    for (int i = 0; i < GBLK; i++)
        a[i] = 1.0f / (1.0f + expf(-a[i]));
}

static void tanh_blk(float *a)
{
    for (int i = 0; i < GBLK; i++)
        a[i] = tanhf(a[i]);
}
#endif

/* Gates of one row, values k0 .. k0+cnt-1 (cnt <= GBLK). */
static void gate_fwd(const float *restrict xr, const float *restrict hr,
                     const float *restrict hp, float *restrict hn, float *restrict o,
                     float *restrict gt, int H, int k0, int cnt)
{
    float r[GBLK] = { 0 }, z[GBLK] = { 0 }, n[GBLK] = { 0 };
    for (int v = 0; v < cnt; v++) {
        r[v] = xr[k0 + v] + hr[k0 + v];
        z[v] = xr[H + k0 + v] + hr[H + k0 + v];
    }
    sigmoid_blk(r);
    sigmoid_blk(z);
    for (int v = 0; v < cnt; v++)
        n[v] = xr[2 * H + k0 + v] + r[v] * hr[2 * H + k0 + v];
    tanh_blk(n);
    for (int v = 0; v < cnt; v++) {
        int k = k0 + v;
        float h = (1.0f - z[v]) * n[v] + z[v] * hp[k];
        hn[k] = h;
        o[k] = h;
        gt[k] = r[v];
        gt[H + k] = z[v];
        gt[2 * H + k] = n[v];
        gt[3 * H + k] = hr[2 * H + k];
    }
}

static void gru_step_fwd(void *arg, int64_t b0, int64_t b1, int chunk)
{
    (void)chunk;
    const gru_job *j = arg;
    const gru_state *s = j->s;
    int H = s->H, H3 = 3 * H, T = s->T, t = j->t, nb = (int)(b1 - b0);
    const float *hprev = s->hs + ((size_t)t * s->B + b0) * H;
    float *hnext = s->hs + ((size_t)(t + 1) * s->B + b0) * H;
    float *hh = j->hh + (size_t)b0 * H3;
    for (int b = 0; b < nb; b++)
        memcpy(hh + (size_t)b * H3, j->b_hh, (size_t)H3 * sizeof(float));
    rec_sgemm(0, 1, nb, H3, H, 1.0f, hprev, H, j->w_hh, H, 1.0f, hh, H3);
    for (int b = 0; b < nb; b++) {
        int bb = (int)b0 + b;
        const float *restrict hp = hprev + (size_t)b * H;
        float *restrict hn = hnext + (size_t)b * H;
        float *restrict o = j->out + ((size_t)bb * T + t) * H;
        if (!valid(s, bb, t)) { /* padding: carry the state, output zero */
            memcpy(hn, hp, (size_t)H * sizeof(float));
            memset(o, 0, (size_t)H * sizeof(float));
            continue;
        }
        const float *restrict xr = j->xw + ((size_t)bb * T + t) * H3;
        const float *restrict hr = hh + (size_t)b * H3;
        float *restrict gt = s->gates + ((size_t)t * s->B + bb) * 4 * H;
        for (int k0 = 0; k0 < H; k0 += GBLK)
            gate_fwd(xr, hr, hp, hn, o, gt, H, k0, H - k0 < GBLK ? H - k0 : GBLK);
    }
}

static void gru_step_bwd(void *arg, int64_t b0, int64_t b1, int chunk)
{
    (void)chunk;
    const gru_job *j = arg;
    const gru_state *s = j->s;
    int H = s->H, H3 = 3 * H, T = s->T, t = j->t, nb = (int)(b1 - b0);
    float *dhh = j->dhh + ((size_t)t * s->B + b0) * H3;
    for (int b = 0; b < nb; b++) {
        int bb = (int)b0 + b;
        const float *restrict dh = j->dh + (size_t)bb * H;
        float *restrict dhp = j->dh_prev + (size_t)bb * H;
        float *restrict dg = dhh + (size_t)b * H3;
        if (!valid(s, bb, t)) { /* the state was carried: so is its gradient */
            memcpy(dhp, dh, (size_t)H * sizeof(float));
            memset(dg, 0, (size_t)H3 * sizeof(float));
            memset(j->dxw + ((size_t)bb * T + t) * H3, 0, (size_t)H3 * sizeof(float));
            continue;
        }
        const float *restrict hp = s->hs + ((size_t)t * s->B + bb) * H;
        const float *restrict gt = s->gates + ((size_t)t * s->B + bb) * 4 * H;
        const float *restrict dout = j->dout ? j->dout + ((size_t)bb * T + t) * H : NULL;
        float *restrict dx = j->dxw + ((size_t)bb * T + t) * H3;
        for (int k = 0; k < H; k++) {
            float r = gt[k], z = gt[H + k], n = gt[2 * H + k], hnk = gt[3 * H + k];
            float dht = dh[k] + (dout ? dout[k] : 0.0f);
            float dan = dht * (1.0f - z) * (1.0f - n * n);
            float dar = dan * hnk * r * (1.0f - r);
            float daz = dht * (hp[k] - n) * z * (1.0f - z);
            dx[k] = dar;
            dx[H + k] = daz;
            dx[2 * H + k] = dan;
            dg[k] = dar;
            dg[H + k] = daz;
            dg[2 * H + k] = dan * r;
            dhp[k] = dht * z;
        }
    }
    rec_sgemm(0, 0, nb, H, H3, 1.0f, dhh, H3, j->w_hh, H, 1.0f, j->dh_prev + (size_t)b0 * H, H);
}

/* Batch slices: about 4K hidden values each (enough work per pool task,
 * and several slices per thread at the bench shape), never more than B. */
static int gru_chunks(int B, int H)
{
    int64_t c = ((int64_t)B * H + 4095) / 4096;
    if (c < 1)
        c = 1;
    if (c > B)
        c = B;
    if (c > 64)
        c = 64;
    return (int)c;
}

/* out[k] += sum over rows of m [rows, cols] */
static void add_colsum(float *restrict out, const float *restrict m, int64_t rows, int cols)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *restrict row = m + r * cols;
        for (int k = 0; k < cols; k++)
            out[k] += row[k];
    }
}

static void gru_back(rec_graph *g, rec_node *n)
{
    const gru_state *s = n->saved;
    if (s->xt) {
        rec_gru_back_avx512(g, s, n->out->g);
        return;
    }
    rec_tensor *x = s->x, *w_ih = s->w_ih, *w_hh = s->w_hh, *h0 = s->h0;
    int B = s->B, T = s->T, I = s->I, H = s->H, H3 = 3 * H;
    size_t bh = (size_t)B * H;
    float *dh = rec_graph_alloc(g, bh * sizeof(float));
    float *dh_prev = rec_graph_alloc(g, bh * sizeof(float));
    float *dxw = rec_graph_alloc(g, (size_t)B * T * H3 * sizeof(float));
    float *dhh = rec_graph_alloc(g, (size_t)T * B * H3 * sizeof(float));
    float *dx = rec_grad_of(g, x), *dwih = rec_grad_of(g, w_ih), *dwhh = rec_grad_of(g, w_hh);
    float *dh0 = h0 ? rec_grad_of(g, h0) : NULL;
    float *dbih = rec_grad_of(g, s->b_ih), *dbhh = rec_grad_of(g, s->b_hh);
    if (rec_graph_status(g))
        return;
    memset(dh, 0, bh * sizeof(float));
    gru_job j = { .s = s, .w_hh = w_hh->v, .dout = n->out->g, .dh = dh, .dh_prev = dh_prev,
                  .dxw = dxw, .dhh = dhh };
    int nc = gru_chunks(B, H);
    for (int t = T - 1; t >= 0; t--) {
        j.t = t;
        rec_parallel_chunks(B, nc, gru_step_bwd, &j);
        float *tmp = (float *)j.dh;
        j.dh = j.dh_prev;
        j.dh_prev = tmp;
    }
    if (dh0)
        rec_accum(dh0, j.dh, (int64_t)bh);
    int64_t bt = (int64_t)B * T;
    if (dwhh) /* [3H, H] += dHH^T [3H, T*B] hs [T*B, H] */
        rec_sgemm(1, 0, H3, H, (int)bt, 1.0f, dhh, H3, s->hs, H, 1.0f, dwhh, H);
    if (dwih) /* [3H, I] += dXW^T [3H, B*T] x [B*T, I] */
        rec_sgemm(1, 0, H3, I, (int)bt, 1.0f, dxw, H3, x->v, I, 1.0f, dwih, I);
    if (dx)   /* [B*T, I] += dXW W_ih */
        rec_sgemm(0, 0, (int)bt, I, H3, 1.0f, dxw, H3, w_ih->v, I, 1.0f, dx, I);
    if (dbhh)
        add_colsum(dbhh, dhh, bt, H3);
    if (dbih)
        add_colsum(dbih, dxw, bt, H3);
}

static int is_vec(const rec_tensor *t, int64_t n) { return t->nd == 1 && t->shape[0] == n; }

rec_tensor *rec_gru(rec_graph *g, rec_tensor *x, rec_tensor *h0, rec_tensor *w_ih,
                    rec_tensor *w_hh, rec_tensor *b_ih, rec_tensor *b_hh, rec_tensor *lengths)
{
    static const char fn[] = "rec_gru";
    if (!rec_op_input(g, fn, "x", x) || !rec_op_input(g, fn, "weight_ih", w_ih) ||
        !rec_op_input(g, fn, "weight_hh", w_hh) || !rec_op_input(g, fn, "bias_ih", b_ih) ||
        !rec_op_input(g, fn, "bias_hh", b_hh) || (h0 && !rec_op_input(g, fn, "h0", h0)))
        return NULL;
    char s1[REC_SHAPE_STR], s2[REC_SHAPE_STR];
    if (x->nd != 3 || x->shape[0] < 1 || x->shape[1] < 1 || x->shape[2] < 1)
        return rec_graph_fail(g, REC_E_INVALID, "%s: x %s must be [B, T, in] with B, T, in > 0",
                              fn, rec_shape_str(x, s1));
    int64_t B = x->shape[0], T = x->shape[1], I = x->shape[2];
    if (w_hh->nd != 2 || w_hh->shape[1] < 1 || w_hh->shape[0] != 3 * w_hh->shape[1])
        return rec_graph_fail(g, REC_E_INVALID, "%s: weight_hh %s must be [3H, H]", fn,
                              rec_shape_str(w_hh, s1));
    int64_t H = w_hh->shape[1];
    if (w_ih->nd != 2 || w_ih->shape[0] != 3 * H || w_ih->shape[1] != I)
        return rec_graph_fail(g, REC_E_INVALID, "%s: weight_ih %s does not fit x %s (want "
                              "[%lld, %lld])", fn, rec_shape_str(w_ih, s1), rec_shape_str(x, s2),
                              (long long)(3 * H), (long long)I);
    if (!is_vec(b_ih, 3 * H) || !is_vec(b_hh, 3 * H))
        return rec_graph_fail(g, REC_E_INVALID, "%s: bias_ih %s and bias_hh must be [%lld]", fn,
                              rec_shape_str(is_vec(b_ih, 3 * H) ? b_hh : b_ih, s1),
                              (long long)(3 * H));
    if (h0 && (h0->nd != 2 || h0->shape[0] != B || h0->shape[1] != H))
        return rec_graph_fail(g, REC_E_INVALID, "%s: h0 %s must be [%lld, %lld]", fn,
                              rec_shape_str(h0, s1), (long long)B, (long long)H);
    if (B * T * 4 * H > INT_MAX || I * 3 * H > INT_MAX)
        return rec_graph_fail(g, REC_E_INVALID, "%s: x %s with hidden %lld is too large", fn,
                              rec_shape_str(x, s1), (long long)H);
    if (lengths) {
        if (lengths->dtype != REC_I32 || lengths->n != B)
            return rec_graph_fail(g, REC_E_INVALID, "%s: lengths must be I32 [%lld]", fn,
                                  (long long)B);
        for (int64_t b = 0; b < B; b++)
            if (lengths->iv[b] < 1 || lengths->iv[b] > T)
                return rec_graph_fail(g, REC_E_RANGE, "%s: lengths[%lld] = %d is outside "
                                      "[1, %lld]", fn, (long long)b, lengths->iv[b],
                                      (long long)T);
    }
    int64_t os[3] = { B, T, H };
    /* The node sees four inputs, those wanting a gradient first (so that the
     * output wants one when any does); backward reads all six from the state. */
    rec_tensor *all[6] = { x, w_ih, w_hh, b_ih, b_hh, h0 }, *in[4];
    int nin = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < 6 && nin < 4; i++)
            if (all[i] && !!(all[i]->flags & REC_T_GRAD) == !pass)
                in[nin++] = all[i];
    rec_node *node;
    rec_tensor *out = rec_op_out(g, 3, os, gru_back, nin, in, &node);
    if (!out)
        return NULL;
    size_t bh = (size_t)(B * H);
    int simd = rec_gru_avx512_ok();
    gru_state *s = rec_graph_alloc(g, sizeof *s);
    float *hs = rec_graph_alloc(g, (size_t)(T + 1) * bh * sizeof(float));
    float *gates = rec_graph_alloc(g, (size_t)T * bh * 4 * sizeof(float));
    if (!s || !hs || !gates)
        return NULL;
    *s = (gru_state){ x, w_ih, w_hh, b_ih, b_hh, h0, (int)B, (int)T, (int)I, (int)H,
                      lengths ? lengths->iv : NULL, hs, gates, NULL };
    if (h0)
        memcpy(hs, h0->v, bh * sizeof(float));
    else
        memset(hs, 0, bh * sizeof(float));
    if (simd) {
        if (rec_gru_fwd_avx512(g, s, out->v))
            return NULL;
    } else {
        float *xw = rec_graph_alloc(g, (size_t)(B * T * 3 * H) * sizeof(float));
        float *hh = rec_graph_alloc(g, bh * 3 * sizeof(float));
        if (!xw || !hh)
            return NULL;
        int H3 = (int)(3 * H);
        for (int64_t r = 0; r < B * T; r++)
            memcpy(xw + r * H3, b_ih->v, (size_t)H3 * sizeof(float));
        rec_sgemm(0, 1, (int)(B * T), H3, (int)I, 1.0f, x->v, (int)I, w_ih->v, (int)I, 1.0f,
                  xw, H3);
        gru_job j = { .s = s, .xw = xw, .w_hh = w_hh->v, .b_hh = b_hh->v, .hh = hh,
                      .out = out->v };
        int nc = gru_chunks((int)B, (int)H);
        for (int t = 0; t < T; t++) {
            j.t = t;
            rec_parallel_chunks(B, nc, gru_step_fwd, &j);
        }
    }
    if (node)
        node->saved = s;
    return out;
}

/* ---- the layer ------------------------------------------------------------ */

rec_status rec_nn_gru_init(rec_nn_gru *m, rec_pstore *ps, const char *prefix, int64_t in,
                           int64_t hidden, rec_rng *rng)
{
    static const char fn[] = "rec_nn_gru_init";
    REC_CHECK_ARG(m && rng, fn, "layer and rng must not be NULL");
    if (in <= 0 || hidden <= 0)
        return rec_err(REC_E_RANGE, "%s: in = %lld and hidden = %lld must be > 0", fn,
                       (long long)in, (long long)hidden);
    int64_t sih[2] = { 3 * hidden, in }, shh[2] = { 3 * hidden, hidden }, sb = 3 * hidden;
    rec_tensor *t[4];
    REC_TRY(rec_nn_param(ps, fn, prefix, "weight_ih_l0", 2, sih, 0, &t[0]));
    REC_TRY(rec_nn_param(ps, fn, prefix, "weight_hh_l0", 2, shh, 0, &t[1]));
    REC_TRY(rec_nn_param(ps, fn, prefix, "bias_ih_l0", 1, &sb, 0, &t[2]));
    REC_TRY(rec_nn_param(ps, fn, prefix, "bias_hh_l0", 1, &sb, 0, &t[3]));
    float a = (float)(1.0 / sqrt((double)hidden)); /* PyTorch: every tensor U(+-1/sqrt(H)) */
    for (int i = 0; i < 4; i++)
        rec_init_uniform(t[i], rng, -a, a);
    *m = (rec_nn_gru){ t[0], t[1], t[2], t[3], in, hidden };
    return REC_OK;
}

/* out [B, T, H] -> row b at step lengths[b] - 1 (T - 1 without lengths). */
static rec_tensor *last_valid(rec_graph *g, rec_tensor *out, rec_tensor *lengths)
{
    if (!out)
        return NULL;
    int64_t B = out->shape[0], T = out->shape[1], H = out->shape[2];
    int64_t flat[2] = { B * T, H };
    rec_tensor *rows = rec_reshape(g, out, 2, flat);
    rec_tensor *idx = rows ? rec_tensor_i32(g, B) : NULL;
    if (!idx)
        return NULL;
    for (int64_t b = 0; b < B; b++)
        idx->iv[b] = (int32_t)(b * T + (lengths ? lengths->iv[b] : T) - 1);
    return rec_gather(g, rows, idx, -1);
}

rec_tensor *rec_nn_gru_forward(rec_graph *g, const rec_nn_gru *m, rec_tensor *x,
                               rec_tensor *h0, rec_tensor *lengths, rec_tensor **h_last)
{
    if (h_last)
        *h_last = NULL;
    if (!g) {
        rec_err(REC_E_INVALID, "rec_nn_gru_forward: graph is NULL");
        return NULL;
    }
    if (!m || !m->w_ih)
        return rec_graph_fail(g, REC_E_INVALID,
                              "rec_nn_gru_forward: layer is NULL or not initialised");
    rec_tensor *out = rec_gru(g, x, h0, m->w_ih, m->w_hh, m->b_ih, m->b_hh, lengths);
    if (out && h_last)
        *h_last = last_valid(g, out, lengths);
    return out;
}

rec_tensor *rec_nn_gru_encode(rec_graph *g, const rec_nn_gru *m, rec_tensor *x,
                              rec_tensor *lengths)
{
    rec_tensor *h = NULL;
    rec_nn_gru_forward(g, m, x, NULL, lengths, &h);
    return h;
}
