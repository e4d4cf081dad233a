/* Small dense algebra for the models that need it: solvers (fold-in, ALS),
 * LAPACK-free on purpose, the systems are dim x dim with dim <= a few hundred;
 * and the cosine of factor rows (similar items of every factor model). */
#ifndef LIBREC_LINALG_IMPL_H
#define LIBREC_LINALG_IMPL_H

#include "core-impl.h"

/* Solves A x = b for symmetric positive definite A [n,n] (row-major, double).
 * A is overwritten by its Cholesky factor, b by x.  REC_E_RANGE when A is not
 * positive definite. */
rec_status rec_cholesky_solve(int n, double *a, double *b);
/* The factor alone: A's lower triangle becomes L with A = L L^T (the upper
 * is left as it was).  REC_E_RANGE when A is not positive definite. */
rec_status rec_cholesky_factor(int n, double *a);

/* Eigen-decomposition of symmetric A [n,n] (row-major, double; destroyed)
 * by cyclic Jacobi rotations (eigen_sym.c): w [n] the eigenvalues in
 * descending order, v [n,n] row k the unit eigenvector of w[k], signed so
 * that its largest component is positive.  REC_E_NOMEM. */
rec_status rec_eigen_sym(int n, double *a, double *w, double *v);

/* out[j] = cos(a[j], q) for the rows of a [n, d]; 0 where a row or q is zero. */
void rec_rows_cosine(const float *a, int32_t n, int d, const float *q, float *out);

#endif
