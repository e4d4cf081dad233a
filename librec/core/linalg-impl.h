/* Small dense solvers for the models that need them (fold-in, ALS):
 * LAPACK-free on purpose, the systems are dim x dim with dim <= a few hundred. */
#ifndef LIBREC_LINALG_IMPL_H
#define LIBREC_LINALG_IMPL_H

#include "core-impl.h"

/* Solves A x = b for symmetric positive definite A [n,n] (row-major, double).
 * A is overwritten by its Cholesky factor, b by x.  REC_E_RANGE when A is not
 * positive definite. */
rec_status rec_cholesky_solve(int n, double *a, double *b);

/* out[j] = cosine of rows i and j of V [n, d] (0 when either is zero): the
 * item similarity of the factor models. */
void rec_cosine_to_row(int32_t n, int d, const float *v, int32_t i, float *out);

#endif
