/* Symmetric eigen-decomposition by cyclic Jacobi rotations (Golub and Van
 * Loan, Matrix Computations, 8.5): each rotation zeroes one off-diagonal
 * pair; a sweep visits every pair and convergence is quadratic, so a
 * handful of sweeps reach double precision.  Chosen over LAPACK on purpose:
 * the matrices here are covariances of model vectors (dim up to a few
 * hundred), where n^3 per sweep is milliseconds, and Jacobi's eigenvectors
 * are accurate even for nearly equal eigenvalues. */
#include "linalg-impl.h"

#include <math.h>
#include <string.h>

/* The pair (p, q) of A [n,n] zeroed by J^T A J, J the rotation in the
 * (p, q) plane; V = V J accumulates the eigenvectors as columns. */
static void rotate(int n, double *a, double *v, int p, int q)
{
    double apq = a[(size_t)p * n + q];
    double theta = (a[(size_t)q * n + q] - a[(size_t)p * n + p]) / (2 * apq);
    /* t = tan(phi), the smaller root of t^2 + 2 t theta - 1 = 0 */
    double t = fabs(theta) > 1e150 ? 1 / (2 * theta)
                                   : (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
    double c = 1 / sqrt(t * t + 1), s = t * c;
    for (int k = 0; k < n; k++) { /* columns p, q of A J */
        double kp = a[(size_t)k * n + p], kq = a[(size_t)k * n + q];
        a[(size_t)k * n + p] = c * kp - s * kq;
        a[(size_t)k * n + q] = s * kp + c * kq;
    }
    for (int k = 0; k < n; k++) { /* rows p, q of J^T (A J) */
        double pk = a[(size_t)p * n + k], qk = a[(size_t)q * n + k];
        a[(size_t)p * n + k] = c * pk - s * qk;
        a[(size_t)q * n + k] = s * pk + c * qk;
    }
    a[(size_t)p * n + q] = a[(size_t)q * n + p] = 0; /* exactly, not by rounding */
    for (int k = 0; k < n; k++) {
        double kp = v[(size_t)k * n + p], kq = v[(size_t)k * n + q];
        v[(size_t)k * n + p] = c * kp - s * kq;
        v[(size_t)k * n + q] = s * kp + c * kq;
    }
}

rec_status rec_eigen_sym(int n, double *a, double *w, double *v)
{
    size_t nn = (size_t)n * n;
    double *vc = rec_malloc(nn * sizeof *vc); /* eigenvectors as columns */
    int *order = rec_malloc((size_t)n * sizeof *order);
    if (!vc || !order) {
        rec_free(vc, nn * sizeof *vc);
        rec_free(order, (size_t)n * sizeof *order);
        return rec_nomem("rec_eigen_sym");
    }
    memset(vc, 0, nn * sizeof *vc);
    for (int i = 0; i < n; i++)
        vc[(size_t)i * n + i] = 1;
    double all = 0;
    for (size_t i = 0; i < nn; i++)
        all += a[i] * a[i];
    for (int sweep = 0; sweep < 64; sweep++) {
        double off = 0;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++)
                off += a[(size_t)p * n + q] * a[(size_t)p * n + q];
        if (off <= 1e-32 * all || off == 0)
            break;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++)
                if (a[(size_t)p * n + q] != 0)
                    rotate(n, a, vc, p, q);
    }
    /* Descending order (insertion sort: n is small; ties keep index order). */
    for (int i = 0; i < n; i++) {
        int j = i;
        double d = a[(size_t)i * n + i];
        for (; j > 0 && a[(size_t)order[j - 1] * n + order[j - 1]] < d; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    for (int k = 0; k < n; k++) {
        int c = order[k];
        w[k] = a[(size_t)c * n + c];
        int big = 0;
        for (int i = 1; i < n; i++)
            if (fabs(vc[(size_t)i * n + c]) > fabs(vc[(size_t)big * n + c]))
                big = i;
        double sign = vc[(size_t)big * n + c] < 0 ? -1 : 1;
        for (int i = 0; i < n; i++)
            v[(size_t)k * n + i] = sign * vc[(size_t)i * n + c];
    }
    rec_free(vc, nn * sizeof *vc);
    rec_free(order, (size_t)n * sizeof *order);
    return REC_OK;
}
