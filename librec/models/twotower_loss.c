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
