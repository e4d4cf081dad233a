/* Principal components of a table of vectors: the covariance in double,
 * its eigenvectors by Jacobi rotations (rec_eigen_sym), the centred rows
 * projected on the leading ones.  The covariance, not an SVD of the n x dim
 * table: dim is small (model factors), n up to millions, so the dim x dim
 * matrix is the cheap side and one pass over the rows builds it. */
#include "core/linalg-impl.h"
#include "project-impl.h"

#include <math.h>
#include <string.h>

#define MAX_PCA_DIM 1024

rec_status rec_project_check(const float *x, size_t n, int dim, const char *fn)
{
    REC_CHECK_ARG(x, fn, "x is NULL");
    REC_CHECK_ARG(n > 0, fn, "n is 0");
    if (n > INT32_MAX)
        return rec_err(REC_E_INVALID, "%s: n = %zu is more than 2^31 - 1 vectors", fn, n);
    if (dim < 1 || dim > 65536)
        return rec_err(REC_E_INVALID, "%s: dim = %d is outside [1, 65536]", fn, dim);
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < dim; c++)
            if (!isfinite(x[i * (size_t)dim + c]))
                return rec_err(REC_E_INVALID, "%s: row %zu, column %d is not a finite number",
                               fn, i, c);
    return REC_OK;
}

rec_status rec_pca_unchecked(const float *x, size_t n, int dim, int k, float *out, float *axes,
                             double *variance, double *total, const char *fn)
{
    size_t d = (size_t)dim, dd = d * d;
    double *cov = rec_calloc(dd, sizeof *cov), *vec = rec_malloc(dd * sizeof *vec);
    double *mean = rec_calloc(d, sizeof *mean), *w = rec_malloc(d * sizeof *w);
    double *row = rec_malloc(d * sizeof *row);
    rec_status st = REC_OK;
    if (!cov || !vec || !mean || !w || !row) {
        st = rec_nomem(fn);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < d; c++)
            mean[c] += x[i * d + c];
    for (size_t c = 0; c < d; c++)
        mean[c] /= (double)n;
    /* Upper triangle, row by row: cov[p][q] += (x_p - mean_p)(x_q - mean_q). */
    for (size_t i = 0; i < n; i++) {
        for (size_t c = 0; c < d; c++)
            row[c] = x[i * d + c] - mean[c];
        for (size_t p = 0; p < d; p++) {
            double rp = row[p], *cp = cov + p * d;
            for (size_t q = p; q < d; q++)
                cp[q] += rp * row[q];
        }
    }
    double scale = n > 1 ? 1.0 / (double)(n - 1) : 1.0, trace = 0;
    for (size_t p = 0; p < d; p++) {
        for (size_t q = p; q < d; q++)
            cov[q * d + p] = cov[p * d + q] *= scale;
        trace += cov[p * d + p];
    }
    if ((st = rec_eigen_sym(dim, cov, w, vec)))
        goto done;
    if (out)
        for (size_t i = 0; i < n; i++) {
            for (size_t c = 0; c < d; c++)
                row[c] = x[i * d + c] - mean[c];
            for (int j = 0; j < k; j++) {
                double s = 0;
                for (size_t c = 0; c < d; c++)
                    s += row[c] * vec[(size_t)j * d + c];
                out[i * (size_t)k + (size_t)j] = (float)s;
            }
        }
    if (axes)
        for (size_t j = 0; j < (size_t)k * d; j++)
            axes[j] = (float)vec[j];
    if (variance)
        for (int j = 0; j < k; j++)
            variance[j] = w[j] > 0 ? w[j] : 0; /* rounding leaves -1e-17 on a flat axis */
    if (total)
        *total = trace;
done:
    rec_free(cov, dd * sizeof *cov);
    rec_free(vec, dd * sizeof *vec);
    rec_free(mean, d * sizeof *mean);
    rec_free(w, d * sizeof *w);
    rec_free(row, d * sizeof *row);
    return st;
}

REC_API rec_status rec_project_pca(const float *x, size_t n, int dim, int k, float *out,
                                   float *axes, double *variance, double *total)
{
    static const char fn[] = "rec_project_pca";
    if (dim > MAX_PCA_DIM)
        return rec_err(REC_E_INVALID, "%s: dim = %d is more than %d (the solver costs dim^3)",
                       fn, dim, MAX_PCA_DIM);
    REC_TRY(rec_project_check(x, n, dim, fn));
    if (k < 1 || k > dim)
        return rec_err(REC_E_INVALID, "%s: k = %d is outside [1, dim = %d]", fn, k, dim);
    return rec_pca_unchecked(x, n, dim, k, out, axes, variance, total, fn);
}
