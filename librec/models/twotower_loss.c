/* The in-batch softmax of "twotower" as one fused op: logits U V^T / t
 * (minus log-Q), row softmax with a vectorised exp, cross-entropy on the
 * diagonal; backward from the saved probabilities with two GEMMs.  The
 * composed version (matmul, scale, sub, softmax_xent) spends most of a W2
 * step in libm's expf and in [B, B] temporaries; this keeps one [B, B]
 * buffer and computes each exp once. */
#include "twotower-impl.h"

#include <math.h>

#if defined(__SSE2__)
#include <emmintrin.h>

/* e^x for x in [-87, 0] (softmax arguments after the row max): 2^n e^r
 * with |r| <= ln2/2, degree-6 Taylor-like minimax polynomial. */
static inline __m128 exp_neg4(__m128 x)
{
    x = _mm_max_ps(x, _mm_set1_ps(-87.0f));
    __m128i ni = _mm_cvtps_epi32(_mm_mul_ps(x, _mm_set1_ps(1.44269504089f)));
    __m128 n = _mm_cvtepi32_ps(ni);
    __m128 r = _mm_sub_ps(x, _mm_mul_ps(n, _mm_set1_ps(0.693145751953125f)));
    r = _mm_sub_ps(r, _mm_mul_ps(n, _mm_set1_ps(1.428606765330187e-06f)));
    __m128 p = _mm_set1_ps(1.0f / 720);
    p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.0f / 120));
    p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.0f / 24));
    p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.0f / 6));
    p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(0.5f));
    p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.0f));
    p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.0f));
    __m128i e = _mm_slli_epi32(_mm_add_epi32(ni, _mm_set1_epi32(127)), 23);
    return _mm_mul_ps(p, _mm_castsi128_ps(e));
}
#endif

/* x[k] = e^(x[k] - m); returns the sum (in double over blocks of four). */
static double exp_shift_sum(float *x, int64_t n, float m)
{
    int64_t k = 0;
    double s = 0;
#if defined(__SSE2__)
    __m128 mm = _mm_set1_ps(m), acc = _mm_setzero_ps();
    for (; k + 4 <= n; k += 4) {
        __m128 e = exp_neg4(_mm_sub_ps(_mm_loadu_ps(x + k), mm));
        _mm_storeu_ps(x + k, e);
        acc = _mm_add_ps(acc, e);
    }
    float a[4];
    _mm_storeu_ps(a, acc);
    s = (double)a[0] + a[1] + a[2] + a[3];
#endif
    for (; k < n; k++) {
        x[k] = expf(x[k] - m);
        s += x[k];
    }
    return s;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define TT_AVX2 __attribute__((target("avx2,fma")))

TT_AVX2 static inline __m256 exp_neg8(__m256 x)
{
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504089f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187e-06f), r);
    __m256 p = _mm256_set1_ps(1.0f / 720);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n),
                                                   _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/* One row, 8 lanes: x -= logq; softmax in place; returns log-sum-exp. */
TT_AVX2 static double softmax_row_avx2(float *x, const float *logq, int64_t n)
{
    int64_t k = 0;
    __m256 mv = _mm256_set1_ps(-INFINITY);
    for (; k + 8 <= n; k += 8) {
        __m256 v = _mm256_loadu_ps(x + k);
        if (logq) {
            v = _mm256_sub_ps(v, _mm256_loadu_ps(logq + k));
            _mm256_storeu_ps(x + k, v);
        }
        mv = _mm256_max_ps(mv, v);
    }
    float a[8], m = -INFINITY;
    _mm256_storeu_ps(a, mv);
    for (int t = 0; t < 8; t++)
        m = a[t] > m ? a[t] : m;
    for (int64_t t = k; t < n; t++) {
        if (logq)
            x[t] -= logq[t];
        m = x[t] > m ? x[t] : m;
    }
    __m256 mm = _mm256_set1_ps(m), acc = _mm256_setzero_ps();
    for (k = 0; k + 8 <= n; k += 8) {
        __m256 e = exp_neg8(_mm256_sub_ps(_mm256_loadu_ps(x + k), mm));
        _mm256_storeu_ps(x + k, e);
        acc = _mm256_add_ps(acc, e);
    }
    _mm256_storeu_ps(a, acc);
    double s = (double)a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
    for (; k < n; k++) {
        x[k] = expf(x[k] - m);
        s += x[k];
    }
    __m256 inv = _mm256_set1_ps((float)(1.0 / s));
    for (k = 0; k + 8 <= n; k += 8)
        _mm256_storeu_ps(x + k, _mm256_mul_ps(_mm256_loadu_ps(x + k), inv));
    for (; k < n; k++)
        x[k] *= (float)(1.0 / s);
    return (double)m + log(s);
}

static int force_sse;

static int have_avx2(void)
{
    /* No cached flag: __builtin_cpu_supports only reads what the runtime
     * set at start-up, while a static written by the first caller is a data
     * race when pool threads make that call together (TSAN=1 reports it). */
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && !force_sse;
}

void tt_infonce_force_sse(int on)
{
    force_sse = on;
}
#else
static int have_avx2(void)
{
    return 0;
}

void tt_infonce_force_sse(int on)
{
    (void)on;
}
static double softmax_row_avx2(float *x, const float *logq, int64_t n)
{
    (void)x, (void)logq, (void)n;
    return 0;
}
#endif

typedef struct nce_job {
    float *p;           /* [B, B] logits in, probabilities out */
    const float *logq;  /* [B] or NULL */
    double *loss;       /* [B] */
    int64_t b;
} nce_job;

static void nce_rows(void *arg, int64_t r0, int64_t r1, int chunk)
{
    (void)chunk;
    const nce_job *j = arg;
    int64_t b = j->b;
    if (have_avx2()) {
        for (int64_t r = r0; r < r1; r++) {
            float *x = j->p + r * b;
            float diag = x[r] - (j->logq ? j->logq[r] : 0.0f);
            j->loss[r] = softmax_row_avx2(x, j->logq, b) - diag;
        }
        return;
    }
    for (int64_t r = r0; r < r1; r++) {
        float *x = j->p + r * b;
        if (j->logq)
            for (int64_t k = 0; k < b; k++)
                x[k] -= j->logq[k];
        float m = x[0];
        for (int64_t k = 1; k < b; k++)
            m = x[k] > m ? x[k] : m;
        float diag = x[r];
        double s = exp_shift_sum(x, b, m);
        j->loss[r] = (double)m + log(s) - diag;
        float inv = (float)(1.0 / s);
        for (int64_t k = 0; k < b; k++)
            x[k] *= inv;
    }
}

static void nce_back(rec_graph *g, rec_node *n)
{
    rec_tensor *u = n->in[0], *v = n->in[1];
    float *p = n->saved;
    int64_t b = u->shape[0], d = u->shape[1];
    float *du = rec_grad_of(g, u), *dv = rec_grad_of(g, v);
    if (rec_graph_status(g))
        return;
    /* dL/dlogits = (P - I) / B; logits = U V^T / t */
    for (int64_t r = 0; r < b; r++)
        p[r * b + r] -= 1.0f;
    float a = n->out->g[0] * n->f[0] / (float)b;
    if (du)
        rec_sgemm(0, 0, (int)b, (int)d, (int)b, a, p, (int)b, v->v, (int)d, 1.0f, du, (int)d);
    if (dv)
        rec_sgemm(1, 0, (int)b, (int)d, (int)b, a, p, (int)b, u->v, (int)d, 1.0f, dv, (int)d);
}

rec_tensor *tt_infonce(rec_graph *g, rec_tensor *u, rec_tensor *v, float temperature,
                       const float *logq)
{
    if (!u || !v)
        return NULL;
    if (u->nd != 2 || !rec_same_shape(u, v) || u->shape[0] < 1)
        return rec_graph_fail(g, REC_E_INVALID, "tt_infonce: U and V must both be [B, d]");
    int64_t b = u->shape[0], d = u->shape[1], one = 1;
    float *p = rec_graph_alloc(g, (size_t)(b * b) * sizeof *p);
    double *loss = rec_graph_alloc(g, (size_t)b * sizeof *loss);
    rec_tensor *in[2] = { u, v };
    rec_node *node = NULL;
    rec_tensor *out = p && loss ? rec_op_out(g, 1, &one, nce_back, 2, in, &node) : NULL;
    if (!out)
        return NULL;
    float it = 1.0f / temperature;
    rec_sgemm(0, 1, (int)b, (int)b, (int)d, it, u->v, (int)d, v->v, (int)d, 0.0f, p, (int)b);
    nce_job j = { p, logq, loss, b };
    rec_parallel_for(b, 1 + 16384 / (b + 1), nce_rows, &j);
    double sum = 0;
    for (int64_t r = 0; r < b; r++)
        sum += loss[r];
    out->v[0] = (float)(sum / (double)b);
    if (node) {
        node->saved = p;
        node->f[0] = it;
    }
    return out;
}
