/* State of the factorisation kinds "svd" and "als", shared with their tests
 * (which check updates and normal equations against the raw factors). */
#ifndef LIBREC_FACTOR_IMPL_H
#define LIBREC_FACTOR_IMPL_H

#include "model-impl.h"

/* "svd": r_hat(u, i) = mu + bu[u] + bi[i] + P[u].Q[i], clipped to [lo, hi]. */
typedef struct rec_svd_state {
    int dim, biased;
    float *P, *Q;        /* [nusers, dim], [nitems, dim]                    */
    float *bu, *bi;      /* [nusers], [nitems] (zero when not biased)       */
    float *glob;         /* [3] mu, lo, hi: train mean and rating range     */
    uint8_t *uknown;     /* [nusers] 1 when the user had training ratings   */
    uint8_t *iknown;     /* [nitems]                                        */
    /* The ranking head of "svd" (NULL when absent: top-N ranks by r_hat):
     * the same model refitted with sampled unrated items as target 0. */
    float *RP, *RQ;      /* [nusers, dim], [nitems, dim]                    */
    float *rbu, *rbi;    /* [nusers], [nitems]                              */
    float *rglob;        /* [2] its mu, and the negatives per rating        */
    double *rgram;       /* [(dim+1)^2 + dim+1] sum over items of f f^T and
                          * t f, f = [RQ[i]; 1], t = -mu - rbi[i] (fold-in) */
} rec_svd_state;

/* The keys "svd" and "svdpp" share (rec_svd_setup reads them; Surprise's
 * n_factors, n_epochs, lr_all, reg_all and init_std_dev are their aliases),
 * with each kind's defaults as text: the spec of each is
 * { REC_SVD_SPEC_FIT(...), its own keys, REC_SVD_SPEC_ORDER, its own keys }. */
#define REC_SVD_SPEC_FIT(dim, epochs, lr)                                                  \
    { "dim", REC_PARAM_INT, dim, 1, 4096, NULL, "latent factors per user and item" },      \
    { "epochs", REC_PARAM_INT, epochs, 1, 100000, NULL, "SGD passes over the ratings" },   \
    { "lr", REC_PARAM_FLOAT, lr, 0, 10, NULL, "SGD learning rate of every parameter" },    \
    { "reg", REC_PARAM_FLOAT, "0.05", 0, 100, NULL, "L2 penalty of every parameter" },     \
    { "init_mean", REC_PARAM_FLOAT, "0", -100, 100, NULL, "mean of the normal factor init" }, \
    { "init_std", REC_PARAM_FLOAT, "0.1", 0, 100, NULL, "std of the normal factor init" }
#define REC_SVD_SPEC_ORDER                                                                 \
    { "shuffle", REC_PARAM_BOOL, "true", 0, 0, NULL,                                       \
      "take the training rows in a seeded random order (as Surprise's shuffled KFold "     \
      "hands them over) before grouping them by user" },                                   \
    { "seed", REC_PARAM_INT, "42", 0, 9.2e18, NULL, "random seed of the init and shuffle" },  \
    REC_MODEL_INDEX_KEYS

/* Shared by "svd" and "svdpp" (svd.c): allocation, initialisation (P then Q
 * from rng, seeded by "seed"; keys dim, init_mean, init_std,
 * shuffle) and Surprise's visiting order of the ratings, grouped by user. */
typedef struct rec_svd_order {
    int64_t *ptr;        /* [nvis + 1] into items/rats per visited user */
    int32_t *users;      /* [nvis] in visiting order                    */
    int32_t *items;      /* [n]                                         */
    float *rats;         /* [n]                                         */
    int32_t nvis;
    int64_t n;
    size_t bytes;
} rec_svd_order;
rec_status rec_svd_setup(rec_model *m, const rec_dataset *d, int biased, rec_rng *rng,
                         rec_svd_order *o, const char *fn);
void rec_svd_order_free(rec_svd_order *o);
rec_status rec_svd_score_user(const rec_model *m, int32_t u, float *out);
int rec_svd_predicts_ratings(const rec_model *m);
rec_status rec_svd_score_pair(const rec_model *m, int32_t u, int32_t i, float *out);
rec_status rec_svd_score_history(const rec_model *m, const int32_t *items, const float *r,
                                 size_t n, float *out);
rec_status rec_svd_similar(const rec_model *m, int32_t i, float *out);
rec_status rec_svd_vectors(const rec_model *m, rec_side side, float *out, int *dim);
rec_status rec_svd_save(const rec_model *m, rec_lrm_writer *w);
rec_status rec_svd_load_state(rec_model *m, const rec_lrm_reader *r, int biased);
void rec_svd_free(rec_model *m);

/* "als": score(u, i) = X[u].Y[i]. */
typedef struct rec_als_state {
    int dim;
    float *X, *Y;        /* [nusers, dim], [nitems, dim] */
    float *G;            /* Y^T Y [dim, dim] after fit and load: a fold-in
                            needs it, and computing it per call was 80% of a
                            history request's time on ml-latest-small */
} rec_als_state;

#endif
