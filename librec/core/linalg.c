#include "linalg-impl.h"

#include <math.h>

rec_status rec_cholesky_factor(int n, double *a)
{
    for (int j = 0; j < n; j++) {
        double d = a[(size_t)j * n + j];
        for (int k = 0; k < j; k++)
            d -= a[(size_t)j * n + k] * a[(size_t)j * n + k];
        if (!(d > 0))
            return rec_err(REC_E_RANGE, "cholesky: matrix is not positive definite");
        d = sqrt(d);
        a[(size_t)j * n + j] = d;
        for (int i = j + 1; i < n; i++) {
            double s = a[(size_t)i * n + j];
            for (int k = 0; k < j; k++)
                s -= a[(size_t)i * n + k] * a[(size_t)j * n + k];
            a[(size_t)i * n + j] = s / d;
        }
    }
    return REC_OK;
}

rec_status rec_cholesky_solve(int n, double *a, double *b)
{
    REC_TRY(rec_cholesky_factor(n, a));
    for (int i = 0; i < n; i++) { /* L y = b */
        double s = b[i];
        for (int k = 0; k < i; k++)
            s -= a[(size_t)i * n + k] * b[k];
        b[i] = s / a[(size_t)i * n + i];
    }
    for (int i = n - 1; i >= 0; i--) { /* L^T x = y */
        double s = b[i];
        for (int k = i + 1; k < n; k++)
            s -= a[(size_t)k * n + i] * b[k];
        b[i] = s / a[(size_t)i * n + i];
    }
    return REC_OK;
}

void rec_rows_cosine(const float *a, int32_t n, int d, const float *q, float *out)
{
    rec_sgemv(0, n, d, 1.0f, a, d, q, 0.0f, out);
    float qn = sqrtf(rec_sdot(d, q, q));
    for (int32_t j = 0; j < n; j++) {
        const float *r = a + (size_t)j * d;
        float den = qn * sqrtf(rec_sdot(d, r, r));
        out[j] = den > 0 ? out[j] / den : 0.0f;
    }
}
