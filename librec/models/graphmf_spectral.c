/* The spectral start of graphmf's E_0 (init=spectral).
 *
 * Why: LightGCN's propagation is a low-pass filter.  On the bipartite A =
 * [[0, R~], [R~^T, 0]], each singular triplet (s, p, q) of R~ gives the
 * eigenvector [p; q] of A with eigenvalue s, so propagation only scales it,
 * by the layer's gain g(s) (the layer mean of s^l for LightGCN).  Started
 * from the top singular vectors, the model's scores are already the filter
 * sum_k f(s_k) p_k(u) q_k(i) that SVD-GCN (Peng et al., CIKM 2022) and GF-CF
 * (Shen et al., CIKM 2021) show to rank as well as LightGCN trained for a
 * thousand epochs; training then starts where BPR would take hours to reach.
 *
 * How: a randomized range finder with subspace iterations (Halko,
 * Martinsson and Tropp, SIAM Review 2011, algorithms 4.4 and 5.1), every
 * product a pass of the sparse row kernel over A, every orthonormalisation
 * CholeskyQR done twice, and the final small problem by Jacobi (eigen_sym). */
#include "graphmf-impl.h"
#include "core/linalg-impl.h"

#include <math.h>
#include <string.h>

/* Columns drawn beyond the rank asked for: the range finder's error falls
 * with the gap between s_k and s_{k+oversample} (Halko et al., 10.3). */
#define SPECTRAL_OVERSAMPLE 32

/* m [n, c] <- m R^-1 with m^T m = R^T R (CholeskyQR), through tmp [n, c].
 * A relative ridge keeps the factor defined when columns are dependent
 * (a graph of rank below c); those columns come out small, not NaN. */
static rec_status chol_orth(float *m, float *tmp, int64_t n, int c, double *gram, float *rinv)
{
    rec_sgemm(1, 0, c, c, (int)n, 1.0f, m, c, m, c, 0.0f, tmp, c);
    double top = 0;
    for (int a = 0; a < c; a++)
        top = fmax(top, tmp[(size_t)a * c + a]);
    if (!(top > 0))
        return REC_E_RANGE;
    for (size_t x = 0; x < (size_t)c * c; x++)
        gram[x] = tmp[x];
    for (int a = 0; a < c; a++)
        gram[(size_t)a * c + a] += 1e-6 * top;
    /* gram <- L (lower), then rinv = L^-T, upper triangular. */
    if (rec_cholesky_factor(c, gram))
        return REC_E_RANGE;
    memset(rinv, 0, (size_t)c * c * sizeof *rinv);
    for (int col = 0; col < c; col++) { /* column col of L^-1, by forward substitution */
        for (int i = col; i < c; i++) {
            double s = i == col ? 1.0 : 0.0;
            for (int k = col; k < i; k++)
                s -= gram[(size_t)i * c + k] * rinv[(size_t)col * c + k];
            rinv[(size_t)col * c + i] = (float)(s / gram[(size_t)i * c + i]);
        }
    }
    /* rinv row col holds column col of L^-1, so rinv is (L^-1)^T = L^-T. */
    memcpy(tmp, m, (size_t)n * c * sizeof *m);
    rec_sgemm(0, 0, (int)n, c, c, 1.0f, tmp, c, rinv, c, 0.0f, m, c);
    return REC_OK;
}

static rec_status orth(float *m, float *tmp, int64_t n, int c, double *gram, float *rinv)
{
    rec_status st = chol_orth(m, tmp, n, c, gram, rinv);
    return st ? st : chol_orth(m, tmp, n, c, gram, rinv);
}

rec_status rec_graphmf_spectral(const rec_csr *adj, int32_t nusers, int32_t nitems, int dim,
                                int iters, double beta, double rms,
                                double (*gain)(void *, double), void *ctx, rec_rng *rng,
                                float *e0, const char *fn)
{
    int64_t nodes = (int64_t)nusers + nitems;
    int rank = dim;
    if (rank > nusers)
        rank = nusers;
    if (rank > nitems)
        rank = nitems;
    int c = rank + SPECTRAL_OVERSAMPLE;
    if (c > nusers)
        c = nusers;
    if (c > nitems)
        c = nitems;
    if (rank < 1)
        return rec_err(REC_E_INVALID, "%s: init=spectral needs at least one user and one item",
                       fn);
    size_t big = (size_t)nodes * c, cc = (size_t)c * c;
    float *z = rec_malloc(big * sizeof *z), *w = rec_malloc(big * sizeof *w);
    float *tmp = rec_malloc(big * sizeof *tmp), *rinv = rec_malloc(cc * sizeof *rinv);
    double *gram = rec_malloc(cc * sizeof *gram), *eval = rec_malloc((size_t)c * sizeof *eval);
    double *evec = rec_malloc(cc * sizeof *evec);
    rec_status st = z && w && tmp && rinv && gram && eval && evec ? REC_OK : rec_nomem(fn);
    float *zu = z, *zi = z + (size_t)nusers * c, *wu = w, *wi = w + (size_t)nusers * c;
    if (!st) {
        memset(zu, 0, (size_t)nusers * c * sizeof *zu);
        for (size_t x = 0; x < (size_t)nitems * c; x++)
            zi[x] = rec_rng_normal(rng);
    }
    /* A's user rows hold R~ and its item rows R~^T, so one pass over A maps
     * an item block to R~ X (user rows) and a user block to R~^T Y. */
    for (int it = 0; !st && it <= iters; it++) {
        rec_csr_mul(adj, z, c, w); /* wu = R~ zi */
        st = orth(wu, tmp, nusers, c, gram, rinv);
        if (st)
            break;
        memset(wi, 0, (size_t)nitems * c * sizeof *wi);
        rec_csr_mul(adj, w, c, z); /* zi = R~^T wu */
        memset(zu, 0, (size_t)nusers * c * sizeof *zu);
        if (it < iters)
            st = orth(zi, tmp, nitems, c, gram, rinv);
    }
    /* Now wu = Y (orthonormal) and zi = R~^T Y = B^T; B B^T = Y^T R~ R~^T Y
     * has the squared singular values and the rotation of Y to U. */
    if (!st) {
        rec_sgemm(1, 0, c, c, nitems, 1.0f, zi, c, zi, c, 0.0f, tmp, c);
        for (size_t x = 0; x < cc; x++)
            gram[x] = tmp[x];
        st = rec_eigen_sym(c, gram, eval, evec);
    }
    if (st == REC_E_RANGE)
        st = rec_err(REC_E_RANGE, "%s: init=spectral: the graph's spectrum did not separate "
                     "(no interactions to start from?)", fn);
    if (!st) {
        /* rinv [c, rank] = the top eigenvectors as columns, each scaled so
         * that the propagated rows carry sqrt(exp(beta s)) of singular
         * direction k (score weight exp(beta s_k)). */
        float *rot = rinv;
        for (int k = 0; k < rank; k++) {
            double s = sqrt(fmax(eval[k], 0)), g = gain(ctx, s);
            double f = g > 0 ? sqrt(exp(beta * s)) / g : 0;
            for (int a = 0; a < c; a++)
                rot[(size_t)a * rank + k] = (float)(evec[(size_t)k * c + a] * f);
        }
        rec_sgemm(0, 0, nusers, rank, c, 1.0f, wu, c, rot, rank, 0.0f, tmp, rank);
        for (int32_t u = 0; u < nusers; u++)
            memcpy(e0 + (size_t)u * dim, tmp + (size_t)u * rank, (size_t)rank * sizeof *e0);
        for (int k = 0; k < rank; k++) {
            double s = sqrt(fmax(eval[k], 0));
            for (int a = 0; a < c; a++)
                rot[(size_t)a * rank + k] = s > 0 ? (float)(rot[(size_t)a * rank + k] / s) : 0;
        }
        rec_sgemm(0, 0, nitems, rank, c, 1.0f, zi, c, rot, rank, 0.0f, tmp, rank);
        for (int32_t i = 0; i < nitems; i++)
            memcpy(e0 + (size_t)(nusers + i) * dim, tmp + (size_t)i * rank,
                   (size_t)rank * sizeof *e0);
        for (int64_t r = 0; r < nodes && rank < dim; r++)
            memset(e0 + (size_t)r * dim + rank, 0, (size_t)(dim - rank) * sizeof *e0);
        /* Scores rank the same at any common scale; this one gives the loss
         * the magnitudes a normal start of this rms would. */
        double sq = 0;
        for (size_t x = 0; x < (size_t)nodes * dim; x++)
            sq += (double)e0[x] * e0[x];
        float k = sq > 0 ? (float)(rms / sqrt(sq / ((double)nodes * rank))) : 0.0f;
        for (size_t x = 0; x < (size_t)nodes * dim; x++)
            e0[x] *= k;
    }
    rec_free(z, big * sizeof *z);
    rec_free(w, big * sizeof *w);
    rec_free(tmp, big * sizeof *tmp);
    rec_free(rinv, cc * sizeof *rinv);
    rec_free(gram, cc * sizeof *gram);
    rec_free(eval, (size_t)c * sizeof *eval);
    rec_free(evec, cc * sizeof *evec);
    return st;
}
