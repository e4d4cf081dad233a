/* State of the factorisation kinds "svd" and "als", shared with their tests
 * (which check updates and normal equations against the raw factors). */
#ifndef LIBREC_FACTOR_IMPL_H
#define LIBREC_FACTOR_IMPL_H

#include "model-impl.h"

/* "svd": r_hat(u, i) = mu + bu[u] + bi[i] + P[u].Q[i], clipped to [lo, hi]. */
typedef struct rec_svd_state {
    int dim;
    float *P, *Q;        /* [nusers, dim], [nitems, dim]                    */
    float *bu, *bi;      /* [nusers], [nitems] (zero when not biased)       */
    float *glob;         /* [3] mu, lo, hi: train mean and rating range     */
    uint8_t *uknown;     /* [nusers] 1 when the user had training ratings   */
    uint8_t *iknown;     /* [nitems]                                        */
} rec_svd_state;

/* "als": score(u, i) = X[u].Y[i]. */
typedef struct rec_als_state {
    int dim;
    float *X, *Y;        /* [nusers, dim], [nitems, dim] */
} rec_als_state;

#endif
