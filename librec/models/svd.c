/* "svd": biased matrix factorisation for explicit ratings trained by plain
 * SGD, with Surprise's SVD semantics (its parameter names are aliases):
 *   r_hat = mu + b_u + b_i + q_i . p_u,  e = r - r_hat, per rating
 *   b_u += lr (e - reg b_u);  b_i += lr (e - reg b_i)
 *   p_u += lr (e q_i - reg p_u);  q_i += lr (e p_u_old - reg q_i)
 * P is drawn before Q from one seeded normal stream; ratings are visited
 * grouped by user (users in order of first appearance in the training rows,
 * each user's ratings in row order), the same order every epoch; "shuffle"
 * first permutes the rows once, as Surprise's shuffled KFold does.  A user or
 * item without training ratings contributes no terms to a prediction.
 *
 * Defaults: Surprise's, except shuffle (true: its KFold hands rows over
 * shuffled, and row order within a user is otherwise the file's, often
 * sorted by item), epochs 40 and reg 0.05 (Surprise's 20 epochs at lr
 * 0.005 stop before the fit converges; trained longer, 0.02 overfits).  On
 * 5-fold RMSE these win over Surprise's on ml-latest-small, on 60% user
 * samples of it with integer ratings and on generated data (examples/README.md).
 *
 * Top-N ("negatives" > 0): a model fitted to the observed ratings alone
 * never sees what users do not pick, so ranking by predicted rating puts
 * items a few raters loved above what people watch (Cremonesi, Koren and
 * Turrin 2010: rating-trained MF below popularity at top-N, PureSVD, which
 * reads missing entries as 0, far above).  With negatives = n, after each
 * rating's update n items the user has not rated in training are drawn
 * uniformly and updated the same way towards 0 (the "missing as negative"
 * view of PureSVD and WRMF, sampled as in pointwise MF); mu becomes the mean
 * of all targets, sum r / (N (1 + n)).  Scores then estimate rating times
 * chance of being rated, fit for ranking, not as ratings (RMSE worsens).
 * Data without ratings (every target 1) uses NEG_IMPLICIT by default.
 *
 * Ranking head ("rank_negatives" > 0, the default when negatives is 0): the
 * rating model stays Surprise's and answers every pair score (RMSE, MAE),
 * while a second set of factors and biases, fitted after it as above with
 * rank_negatives sampled unrated items per rating, answers top-N (scores of
 * every item, fold-in of a history, similar items).  Files without the head
 * (written before it existed, or rank_negatives=0) rank by the ratings. */
#include "factor-impl.h"
#include "core/linalg-impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* negatives=-1 on data without ratings: each interaction comes with this many
 * sampled unobserved items (pointwise MF; chosen on a validation split of
 * ml-latest-small's training part, see examples/README.md). */
#define NEG_IMPLICIT 4
#define NEG_IMPLICIT_S "4"

/* rank_negatives=-1 when the rating model sees no negatives (chosen on a
 * validation split of ml-latest-small's training part, see examples/README.md). */
#define RANK_NEG 4
#define RANK_NEG_S "4"

static const rec_param_spec spec[] = {
    REC_SVD_SPEC_FIT("100", "40", "0.005"),
    { "biased", REC_PARAM_BOOL, "true", 0, 0, NULL,
      "use the global mean and user/item biases" },
    REC_SVD_SPEC_ORDER,
    { "negatives", REC_PARAM_INT, "-1", -1, 1000, NULL,
      "unrated items sampled per rating as target 0 (missing as negative, for top-N); "
      "-1: 0 with ratings (Surprise's SVD), " NEG_IMPLICIT_S " without" },
    { "rank_negatives", REC_PARAM_INT, "-1", -1, 1000, NULL,
      "top-N ranks by a second fit with this many unrated items per rating as target 0 "
      "(scores of pairs stay the rating model's); 0: rank by predicted rating; "
      "-1: " RANK_NEG_S " when negatives is 0, else 0" },
};
#define NSPEC (sizeof spec / sizeof *spec)

static size_t gram_bytes(int dim)
{
    size_t z = (size_t)dim + 1;
    return (z * z + z) * sizeof(double);
}

static void rank_free(const rec_model *m, rec_svd_state *s)
{
    size_t nu = (size_t)m->nusers, ni = (size_t)m->nitems, d = (size_t)s->dim;
    rec_free(s->RP, (nu * d + 1) * sizeof(float));
    rec_free(s->RQ, (ni * d + 1) * sizeof(float));
    rec_free(s->rbu, (nu + 1) * sizeof(float));
    rec_free(s->rbi, (ni + 1) * sizeof(float));
    rec_free(s->rglob, 2 * sizeof(float));
    rec_free(s->rgram, gram_bytes(s->dim));
    s->RP = s->RQ = s->rbu = s->rbi = s->rglob = NULL;
    s->rgram = NULL;
}

static rec_status rank_alloc(const rec_model *m, rec_svd_state *s, const char *fn)
{
    size_t nu = (size_t)m->nusers, ni = (size_t)m->nitems, d = (size_t)s->dim;
    s->RP = rec_calloc(nu * d + 1, sizeof(float));
    s->RQ = rec_calloc(ni * d + 1, sizeof(float));
    s->rbu = rec_calloc(nu + 1, sizeof(float));
    s->rbi = rec_calloc(ni + 1, sizeof(float));
    s->rglob = rec_calloc(2, sizeof(float));
    s->rgram = rec_calloc(1, gram_bytes(s->dim));
    if (!s->RP || !s->RQ || !s->rbu || !s->rbi || !s->rglob || !s->rgram)
        return rec_nomem(fn);
    return REC_OK;
}

/* What the ranking head's fold-in needs of every item at once: G = sum_i
 * f_i f_i^T and g = sum_i t_i f_i, f_i = [RQ[i]; 1], t_i = -mu - rbi[i] (the
 * residual target of an unrated item), over the trained items. */
static void rank_gram(const rec_model *m, rec_svd_state *s)
{
    int d = s->dim, z = d + 1;
    double *G = s->rgram, *g = G + (size_t)z * z;
    memset(G, 0, gram_bytes(d));
    for (int32_t i = 0; i < m->nitems; i++) {
        if (!s->iknown[i])
            continue;
        const float *q = s->RQ + (size_t)i * d;
        double t = -(double)s->rglob[0] - s->rbi[i];
        for (int x = 0; x < z; x++) {
            double fx = x < d ? q[x] : 1.0;
            g[x] += t * fx;
            for (int w = 0; w <= x; w++)
                G[(size_t)x * z + w] += fx * (w < d ? q[w] : 1.0);
        }
    }
    for (int x = 0; x < z; x++)
        for (int w = x + 1; w < z; w++)
            G[(size_t)x * z + w] = G[(size_t)w * z + x];
}

void rec_svd_free(rec_model *m)
{
    rec_svd_state *s = m->state;
    if (!s)
        return;
    size_t nu = (size_t)m->nusers, ni = (size_t)m->nitems, d = (size_t)s->dim;
    /* every array has one spare entry, so empty catalogues allocate */
    rec_free(s->P, (nu * d + 1) * sizeof(float));
    rec_free(s->Q, (ni * d + 1) * sizeof(float));
    rec_free(s->bu, (nu + 1) * sizeof(float));
    rec_free(s->bi, (ni + 1) * sizeof(float));
    rec_free(s->glob, 3 * sizeof(float));
    rec_free(s->uknown, nu + 1);
    rec_free(s->iknown, ni + 1);
    rank_free(m, s);
    rec_free(s, sizeof *s);
    m->state = NULL;
}

static rec_status svd_alloc(rec_model *m, int biased, const char *fn)
{
    rec_svd_state *s = rec_calloc(1, sizeof *s);
    if (!s)
        return rec_nomem(fn);
    m->state = s;
    s->biased = biased;
    size_t nu = (size_t)m->nusers, ni = (size_t)m->nitems;
    s->dim = (int)rec_model_int(m, "dim");
    size_t d = (size_t)s->dim;
    s->P = rec_calloc(nu * d + 1, sizeof(float));
    s->Q = rec_calloc(ni * d + 1, sizeof(float));
    s->bu = rec_calloc(nu + 1, sizeof(float));
    s->bi = rec_calloc(ni + 1, sizeof(float));
    s->glob = rec_calloc(3, sizeof(float));
    s->uknown = rec_calloc(nu + 1, 1);
    s->iknown = rec_calloc(ni + 1, 1);
    if (!s->P || !s->Q || !s->bu || !s->bi || !s->glob || !s->uknown || !s->iknown)
        return rec_nomem(fn);
    return REC_OK;
}

/* The rating order of Surprise's trainset: per user (in order of first
 * appearance) that user's rows in row order, rows taken in perm's order
 * (NULL: the dataset's).  items/rats [n]. */
static rec_status visit_order(const rec_model *m, const rec_dataset *d, const int32_t *perm,
                              int32_t *users, int64_t *ptr, int32_t *items, float *rats,
                              int32_t *nvis)
{
    int64_t n = rec_ds_num_rows(d);
    const int32_t *uc = rec_ds_users_col(d), *ic = rec_ds_items_col(d);
    const float *rc = rec_ds_ratings_col(d);
    size_t nu = (size_t)m->nusers;
    int32_t *rank = rec_malloc(nu * sizeof *rank + 1);
    if (!rank)
        return rec_nomem("rec_model_fit(svd)");
    for (size_t u = 0; u < nu; u++)
        rank[u] = -1;
    int32_t k = 0;
    memset(ptr, 0, (nu + 1) * sizeof *ptr);
    for (int64_t x = 0; x < n; x++) {
        int64_t r = perm ? perm[x] : x;
        if (rank[uc[r]] < 0) {
            rank[uc[r]] = k;
            users[k++] = uc[r];
        }
        ptr[rank[uc[r]] + 1]++;
    }
    for (int32_t j = 0; j < k; j++)
        ptr[j + 1] += ptr[j];
    for (int64_t x = 0; x < n; x++) {
        int64_t r = perm ? perm[x] : x;
        int64_t at = ptr[rank[uc[r]]]++;
        items[at] = ic[r];
        rats[at] = rc ? rc[r] : 1.0f;
    }
    for (int32_t j = k; j > 0; j--)
        ptr[j] = ptr[j - 1];
    ptr[0] = 0;
    *nvis = k;
    rec_free(rank, nu * sizeof *rank + 1);
    return REC_OK;
}

#if defined(__GNUC__)
/* 4-lane vectors through the compiler's vector extension: -O2 neither
 * vectorises a float reduction (no reassociation) nor, on older compilers,
 * any loop; this keeps the per-rating cost at d/4 multiply-adds per pass. */
typedef float v4 __attribute__((vector_size(16)));
static inline v4 ld4(const float *p)
{
    v4 v;
    memcpy(&v, p, sizeof v);
    return v;
}
#endif

/* p . q, then p += lr (e q - reg p) and q += lr (e p_old - reg q), given the
 * error e the caller computes from the dot (two passes over d). */
static inline float dot_d(const float *restrict p, const float *restrict q, int d)
{
    int k = 0;
    float dot = 0;
#if defined(__GNUC__)
    v4 a = { 0, 0, 0, 0 }, b = { 0, 0, 0, 0 };
    for (; k + 8 <= d; k += 8) {
        a += ld4(p + k) * ld4(q + k);
        b += ld4(p + k + 4) * ld4(q + k + 4);
    }
    a += b;
    dot = (a[0] + a[1]) + (a[2] + a[3]);
#endif
    for (; k < d; k++)
        dot += p[k] * q[k];
    return dot;
}

static inline void update_d(float *restrict p, float *restrict q, int d, float lr, float e,
                            float reg)
{
    int k = 0;
#if defined(__GNUC__)
    v4 ve = { e, e, e, e }, vr = { reg, reg, reg, reg }, vl = { lr, lr, lr, lr };
    for (; k + 4 <= d; k += 4) {
        v4 pk = ld4(p + k), qk = ld4(q + k);
        v4 np = pk + vl * (ve * qk - vr * pk), nq = qk + vl * (ve * pk - vr * qk);
        memcpy(p + k, &np, sizeof np);
        memcpy(q + k, &nq, sizeof nq);
    }
#endif
    for (; k < d; k++) {
        float pk = p[k], qk = q[k];
        p[k] = pk + lr * (e * qk - reg * pk);
        q[k] = qk + lr * (e * pk - reg * qk);
    }
}

/* One SGD step of (u, i) towards target r; returns the error. */
static inline float sgd_step(rec_svd_state *s, int32_t u, int32_t i, float r, float lr, float reg,
                             int biased)
{
    const int d = s->dim;
    float *p = s->P + (size_t)u * d, *q = s->Q + (size_t)i * d;
    float e = r - (s->glob[0] + s->bu[u] + s->bi[i] + dot_d(p, q, d));
    if (biased) {
        s->bu[u] += lr * (e - reg * s->bu[u]);
        s->bi[i] += lr * (e - reg * s->bi[i]);
    }
    update_d(p, q, d, lr, e, reg);
    return e;
}

/* An item u has not rated in training, uniformly; -1 when u has rated
 * (nearly) all of them (64 draws all hit). */
static int32_t draw_unrated(const rec_model *m, int32_t u, rec_rng *rng)
{
    const int32_t *seen = m->seen + m->seen_ptr[u];
    size_t n = (size_t)(m->seen_ptr[u + 1] - m->seen_ptr[u]);
    for (int t = 0; t < 64; t++) {
        int32_t j = (int32_t)rec_rng_below(rng, (uint32_t)m->nitems);
        if (!bsearch(&j, seen, n, sizeof *seen, rec_cmp_i32))
            return j;
    }
    return -1;
}

/* One epoch over the visit order, each rating followed by neg sampled
 * unrated items with target 0; returns the sum of squared errors of the
 * ratings. */
static double sgd_epoch(const rec_model *m, rec_svd_state *s, const rec_svd_order *o, float lr,
                        float reg, int biased, int neg, rec_rng *rng)
{
    double sse = 0;
    for (int32_t j = 0; j < o->nvis; j++) {
        int32_t u = o->users[j];
        for (int64_t h = o->ptr[j]; h < o->ptr[j + 1]; h++) {
            float e = sgd_step(s, u, o->items[h], o->rats[h], lr, reg, biased);
            sse += (double)e * e;
            for (int k = 0; k < neg; k++) {
                int32_t i = draw_unrated(m, u, rng);
                if (i >= 0)
                    sgd_step(s, u, i, 0.0f, lr, reg, biased);
            }
        }
    }
    return sse;
}

/* P then Q from rng, N(init_mean, init_std) element by element. */
static void init_factors(const rec_model *m, float *P, size_t np, float *Q, size_t nq,
                         rec_rng *rng)
{
    float mean = (float)rec_model_flt(m, "init_mean");
    float sd = (float)rec_model_flt(m, "init_std");
    for (size_t k = 0; k < np; k++)
        P[k] = mean + sd * rec_rng_normal(rng);
    for (size_t k = 0; k < nq; k++)
        Q[k] = mean + sd * rec_rng_normal(rng);
}

rec_status rec_svd_setup(rec_model *m, const rec_dataset *d, int biased, rec_rng *rng,
                         rec_svd_order *o, const char *fn)
{
    memset(o, 0, sizeof *o);
    REC_TRY(svd_alloc(m, biased, fn));
    rec_svd_state *s = m->state;
    size_t nu = (size_t)m->nusers, ni = (size_t)m->nitems, dim = (size_t)s->dim;
    rec_rng_seed(rng, (uint64_t)rec_model_int(m, "seed"));
    init_factors(m, s->P, nu * dim, s->Q, ni * dim, rng);

    int64_t n = rec_ds_num_rows(d);
    const float *rc = rec_ds_ratings_col(d);
    double sum = 0;
    float lo = rc ? rc[0] : 1.0f, hi = lo;
    for (int64_t r = 0; r < n; r++) {
        float v = rc ? rc[r] : 1.0f;
        sum += v;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        s->uknown[rec_ds_users_col(d)[r]] = 1;
        s->iknown[rec_ds_items_col(d)[r]] = 1;
    }
    s->glob[0] = biased ? (float)(sum / (double)n) : 0.0f;
    s->glob[1] = lo;
    s->glob[2] = hi;

    o->bytes = nu * sizeof(int32_t) + (nu + 1) * sizeof(int64_t) +
               (size_t)n * (sizeof(int32_t) + sizeof(float));
    o->ptr = rec_malloc(o->bytes);
    if (!o->ptr)
        return rec_nomem(fn);
    o->users = (int32_t *)(o->ptr + nu + 1);
    o->items = o->users + nu;
    o->rats = (float *)(o->items + n);
    o->n = n;
    int32_t *perm = NULL;
    size_t permb = (size_t)n * sizeof *perm;
    rec_status st = REC_OK;
    if (rec_model_bool(m, "shuffle")) {
        if (!(perm = rec_malloc(permb)))
            st = rec_nomem(fn);
        for (int64_t r = 0; !st && r < n; r++)
            perm[r] = (int32_t)r;
        rec_rng srng; /* its own stream: the init does not depend on shuffle */
        rec_rng_stream(&srng, (uint64_t)rec_model_int(m, "seed"), 1);
        if (!st)
            rec_rng_shuffle_i32(&srng, perm, (size_t)n);
    }
    if (!st)
        st = visit_order(m, d, perm, o->users, o->ptr, o->items, o->rats, &o->nvis);
    rec_free(perm, permb);
    return st;
}

void rec_svd_order_free(rec_svd_order *o)
{
    rec_free(o->ptr, o->bytes);
    o->ptr = NULL;
}

/* n epochs of SGD on the factors in s, each rating followed by neg sampled
 * unrated items; progress reports epoch ep of n, counted by step (the
 * rating model's "epoch", then the ranking head's).  what names the factors
 * in the divergence error. */
static rec_status run_epochs(rec_model *m, rec_svd_state *s, const rec_svd_order *o, int neg,
                             rec_rng *nrng, int n, const char *step, rec_progress_fn cb,
                             void *user, const char *fn, const char *what)
{
    float lr = (float)rec_model_flt(m, "lr"), reg = (float)rec_model_flt(m, "reg");
    m->step = step;
    for (int ep = 1; ep <= n; ep++) {
        double sse = sgd_epoch(m, s, o, lr, reg, s->biased, neg, nrng);
        if (!isfinite(sse))
            return rec_err(REC_E_RANGE, "%s: %s training error diverged at epoch %d "
                           "(lower lr)", fn, what, ep);
        if (cb && cb(user, ep, n, sse / (double)o->n))
            return rec_err(REC_E_CANCELLED, "%s: cancelled at epoch %d", fn, ep);
    }
    return REC_OK;
}

/* The ranking head: the model fitted again from its own init, each rating
 * followed by rn sampled unrated items with target 0 (as "negatives"), into
 * RP, RQ, rbu, rbi; the rating model is left as it is. */
static rec_status fit_rank_head(rec_model *m, const rec_svd_order *o, int rn, int epochs,
                                rec_progress_fn cb, void *user, const char *fn)
{
    rec_svd_state *s = m->state;
    REC_TRY(rank_alloc(m, s, fn));
    size_t nu = (size_t)m->nusers, ni = (size_t)m->nitems, dim = (size_t)s->dim;
    uint64_t seed = (uint64_t)rec_model_int(m, "seed");
    rec_rng irng, nrng; /* streams of their own: the rating model is unchanged */
    rec_rng_stream(&irng, seed, 3);
    rec_rng_stream(&nrng, seed, 4);
    init_factors(m, s->RP, nu * dim, s->RQ, ni * dim, &irng);
    double sum = 0;
    for (int64_t h = 0; h < o->n; h++)
        sum += o->rats[h];
    s->rglob[0] = s->biased && o->n ? (float)(sum / ((double)o->n * (1 + rn))) : 0.0f;
    s->rglob[1] = (float)rn;
    float g3[3] = { s->rglob[0], s->glob[1], s->glob[2] };
    rec_svd_state h = *s;
    h.P = s->RP, h.Q = s->RQ, h.bu = s->rbu, h.bi = s->rbi, h.glob = g3;
    rec_status st = run_epochs(m, &h, o, rn, &nrng, epochs, "ranking head epoch", cb, user, fn,
                               "the ranking head's");
    /* a cancelled fit stays usable (rec_model_fit keeps it) */
    if (!st || st == REC_E_CANCELLED)
        rank_gram(m, s);
    return st;
}

/* Progress counts the rating model's epochs, then the ranking head's
 * (rec_model_fit_step names which), each from 1 to epochs. */
static rec_status svd_fit(rec_model *m, const rec_dataset *d, rec_progress_fn cb, void *user)
{
    const char *fn = "rec_model_fit(svd)";
    int biased = rec_model_bool(m, "biased");
    rec_rng rng;
    rec_svd_order o;
    rec_status st = rec_svd_setup(m, d, biased, &rng, &o, fn);
    int epochs = (int)rec_model_int(m, "epochs");
    int neg = (int)rec_model_int(m, "negatives");
    if (neg < 0)
        neg = rec_ds_ratings_col(d) ? 0 : NEG_IMPLICIT;
    int rn = (int)rec_model_int(m, "rank_negatives");
    if (rn < 0)
        rn = neg == 0 ? RANK_NEG : 0;
    rec_rng nrng; /* its own stream: negatives=0 trains exactly as before */
    rec_rng_stream(&nrng, (uint64_t)rec_model_int(m, "seed"), 2);
    if (!st && neg > 0) {
        rec_svd_state *s = m->state;
        s->glob[0] /= (float)(1 + neg);
    }
    if (!st)
        st = run_epochs(m, m->state, &o, neg, &nrng, epochs, "epoch", cb, user, fn, "the");
    if (!st && rn > 0)
        st = fit_rank_head(m, &o, rn, epochs, cb, user, fn);
    rec_svd_order_free(&o);
    return st;
}

/* One set of factors: the rating model's, or the ranking head's. */
typedef struct head {
    const float *P, *Q, *bu, *bi;
    float mu;
} head;

static head rating_head(const rec_svd_state *s)
{
    head h = { s->P, s->Q, s->bu, s->bi, s->glob[0] };
    return h;
}

/* What top-N ranks by: the ranking head when the model has one. */
static head ranking_head(const rec_svd_state *s)
{
    if (!s->RP)
        return rating_head(s);
    head h = { s->RP, s->RQ, s->rbu, s->rbi, s->rglob[0] };
    return h;
}

/* Unclipped; the terms of an untrained user or item are dropped. */
static float predict(const rec_svd_state *s, const head *h, int32_t u, int32_t i)
{
    float v = h->mu;
    if (s->uknown[u])
        v += h->bu[u];
    if (s->iknown[i])
        v += h->bi[i];
    if (s->uknown[u] && s->iknown[i])
        v += rec_sdot(s->dim, h->P + (size_t)u * s->dim, h->Q + (size_t)i * s->dim);
    return v;
}

/* The ranking score as one inner product: user [p, b_u, 1, 1] dotted with
 * item [q, 1, b_i, mu] is predict()'s sum, an untrained side's terms zeroed
 * as predict() drops them. */
rec_status rec_svd_vectors(const rec_model *m, rec_side side, float *out, int *dim)
{
    const rec_svd_state *s = m->state;
    head h = ranking_head(s);
    int d = s->dim;
    *dim = d + 3;
    if (!out)
        return REC_OK;
    int user = side == REC_SIDE_USER;
    int32_t rows = user ? m->nusers : m->nitems;
    for (int32_t r = 0; r < rows; r++) {
        float *o = out + (size_t)r * (d + 3);
        int known = user ? s->uknown[r] : s->iknown[r];
        if (known)
            memcpy(o, (user ? h.P : h.Q) + (size_t)r * d, (size_t)d * sizeof *o);
        else
            memset(o, 0, (size_t)d * sizeof *o);
        float b = known ? (user ? h.bu : h.bi)[r] : 0.0f;
        o[d] = user ? b : 1.0f;
        o[d + 1] = user ? 1.0f : b;
        o[d + 2] = user ? 1.0f : h.mu;
    }
    return REC_OK;
}

int rec_svd_predicts_ratings(const rec_model *m)
{
    (void)m;
    return 1;
}

/* Always the rating model (RMSE and MAE judge it), clipped to the range. */
rec_status rec_svd_score_pair(const rec_model *m, int32_t u, int32_t i, float *out)
{
    const rec_svd_state *s = m->state;
    head h = rating_head(s);
    float v = predict(s, &h, u, i);
    *out = v < s->glob[1] ? s->glob[1] : v > s->glob[2] ? s->glob[2] : v;
    return REC_OK;
}

rec_status rec_svd_score_user(const rec_model *m, int32_t u, float *out)
{
    const rec_svd_state *s = m->state;
    head h = ranking_head(s);
    for (int32_t i = 0; i < m->nitems; i++)
        out[i] = predict(s, &h, u, i);
    return REC_OK;
}

/* Fold-in: x = [p; b_u] (b_u only when biased) minimising what one SGD epoch
 * over the history minimises, with the items fixed:
 *   sum_h (y_h - f_h.x)^2 + c sum_{j unrated} (t_j - f_j.x)^2 + lambda |x|^2
 * f = [Q[i]; 1], y_h the rating minus mu + b_i, t_j = -mu - b_j.  c is the
 * expected number of draws of each unrated item, neg n / (nitems - n), and
 * lambda = reg times the user's steps per epoch, n (1 + neg); neg is 0
 * for the rating model (plain ridge on the history) and the head's count for
 * the ranking head, whose G and g (rank_gram) give the unrated sums as all
 * items minus the history.  An implicit history (ratings NULL) counts as the
 * top of the rating range. */
rec_status rec_svd_score_history(const rec_model *m, const int32_t *items, const float *r,
                                    size_t n, float *out)
{
    const rec_svd_state *s = m->state;
    head hd = ranking_head(s);
    int d = s->dim, biased = s->biased, z = d + biased;
    size_t bytes = ((size_t)z * z + (size_t)z) * sizeof(double) + (size_t)d * sizeof(float);
    double *a = rec_calloc(1, bytes);
    if (!a)
        return rec_nomem("rec_model_recommend_history");
    double *b = a + (size_t)z * z;
    float *pv = (float *)(b + z);
    size_t used = 0;
    for (size_t h = 0; h < n; h++)
        used += s->iknown[items[h]] != 0;
    double neg = s->RP ? s->rglob[1] : 0.0;
    double c = used < (size_t)m->nitems ? neg * (double)used / (double)(m->nitems - used) : 0;
    for (size_t h = 0; h < n; h++) {
        int32_t i = items[h];
        if (!s->iknown[i])
            continue;
        const float *q = hd.Q + (size_t)i * d;
        double t = -(double)hd.mu - hd.bi[i];
        double y = (r ? r[h] : s->glob[2]) + t;
        for (int x = 0; x < z; x++) {
            double fx = x < d ? q[x] : 1.0;
            b[x] += (y - c * t) * fx;
            for (int w = 0; w < z; w++)
                a[(size_t)x * z + w] += (1.0 - c) * fx * (w < d ? q[w] : 1.0);
        }
    }
    if (c > 0) {
        /* the head's G and g have the bias column whatever biased is */
        const double *G = s->rgram, *g = G + (size_t)(d + 1) * (d + 1);
        for (int x = 0; x < z; x++) {
            b[x] += c * g[x];
            for (int w = 0; w < z; w++)
                a[(size_t)x * z + w] += c * G[(size_t)x * (d + 1) + w];
        }
    }
    double lambda = rec_model_flt(m, "reg") * (double)(used ? used : 1) * (1.0 + neg);
    for (int x = 0; x < z; x++)
        a[(size_t)x * z + x] += lambda > 1e-9 ? lambda : 1e-9;
    rec_status st = rec_cholesky_solve(z, a, b);
    if (!st) {
        for (int k = 0; k < d; k++)
            pv[k] = (float)b[k];
        float base = hd.mu + (biased ? (float)b[d] : 0.0f);
        for (int32_t i = 0; i < m->nitems; i++)
            out[i] = s->iknown[i]
                         ? base + hd.bi[i] + rec_sdot(d, pv, hd.Q + (size_t)i * d)
                         : base;
    }
    rec_free(a, bytes);
    return st;
}

/* Cosine of the item factors top-N ranks by. */
rec_status rec_svd_similar(const rec_model *m, int32_t i, float *out)
{
    const rec_svd_state *s = m->state;
    head h = ranking_head(s);
    int d = s->dim;
    rec_rows_cosine(h.Q, m->nitems, d, h.Q + (size_t)i * d, out);
    /* items without training ratings keep their random init: no similarity */
    for (int32_t j = 0; j < m->nitems; j++)
        if (!s->iknown[j])
            out[j] = 0.0f;
    return REC_OK;
}

rec_status rec_svd_save(const rec_model *m, rec_lrm_writer *w)
{
    const rec_svd_state *s = m->state;
    int64_t ps[2] = { m->nusers, s->dim }, qs[2] = { m->nitems, s->dim }, three = 3;
    REC_TRY(rec_lrm_add_tensor(w, "P", REC_LRM_F32, 2, ps, s->P));
    REC_TRY(rec_lrm_add_tensor(w, "Q", REC_LRM_F32, 2, qs, s->Q));
    REC_TRY(rec_lrm_add_tensor(w, "bu", REC_LRM_F32, 1, ps, s->bu));
    REC_TRY(rec_lrm_add_tensor(w, "bi", REC_LRM_F32, 1, qs, s->bi));
    REC_TRY(rec_lrm_add_tensor(w, "global", REC_LRM_F32, 1, &three, s->glob));
    REC_TRY(rec_lrm_add_tensor(w, "user_known", REC_LRM_U8, 1, ps, s->uknown));
    REC_TRY(rec_lrm_add_tensor(w, "item_known", REC_LRM_U8, 1, qs, s->iknown));
    if (!s->RP)
        return REC_OK;
    int64_t two = 2;
    REC_TRY(rec_lrm_add_tensor(w, "rank.P", REC_LRM_F32, 2, ps, s->RP));
    REC_TRY(rec_lrm_add_tensor(w, "rank.Q", REC_LRM_F32, 2, qs, s->RQ));
    REC_TRY(rec_lrm_add_tensor(w, "rank.bu", REC_LRM_F32, 1, ps, s->rbu));
    REC_TRY(rec_lrm_add_tensor(w, "rank.bi", REC_LRM_F32, 1, qs, s->rbi));
    return rec_lrm_add_tensor(w, "rank.global", REC_LRM_F32, 1, &two, s->rglob);
}

static rec_status load_one(const rec_lrm_reader *r, const char *name, rec_lrm_dtype dt, int nd,
                           const int64_t *shape, void *dst, size_t bytes)
{
    const void *p;
    REC_TRY(rec_lrm_tensor_expect(r, name, dt, nd, shape, &p));
    if (bytes)
        memcpy(dst, p, bytes);
    return REC_OK;
}

/* The ranking head, when the file has one (files written before it existed,
 * and models fitted with rank_negatives=0, rank by the rating model). */
static rec_status load_rank_head(rec_model *m, const rec_lrm_reader *r)
{
    if (!rec_lrm_has_tensor(r, "rank.P"))
        return REC_OK;
    rec_svd_state *s = m->state;
    REC_TRY(rank_alloc(m, s, "rec_model_load"));
    size_t nu = (size_t)m->nusers, ni = (size_t)m->nitems, d = (size_t)s->dim;
    int64_t ps[2] = { m->nusers, s->dim }, qs[2] = { m->nitems, s->dim }, two = 2;
    REC_TRY(load_one(r, "rank.P", REC_LRM_F32, 2, ps, s->RP, nu * d * sizeof(float)));
    REC_TRY(load_one(r, "rank.Q", REC_LRM_F32, 2, qs, s->RQ, ni * d * sizeof(float)));
    REC_TRY(load_one(r, "rank.bu", REC_LRM_F32, 1, ps, s->rbu, nu * sizeof(float)));
    REC_TRY(load_one(r, "rank.bi", REC_LRM_F32, 1, qs, s->rbi, ni * sizeof(float)));
    REC_TRY(load_one(r, "rank.global", REC_LRM_F32, 1, &two, s->rglob, 2 * sizeof(float)));
    if (!isfinite(s->rglob[0]) || !(s->rglob[1] >= 1 && s->rglob[1] <= 1000))
        return rec_err(REC_E_FORMAT, "rec_model_load(svd): bad rank.global tensor");
    rank_gram(m, s);
    return REC_OK;
}

static rec_status svd_load(rec_model *m, const rec_lrm_reader *r)
{
    return rec_svd_load_state(m, r, rec_model_bool(m, "biased"));
}

rec_status rec_svd_load_state(rec_model *m, const rec_lrm_reader *r, int biased)
{
    REC_TRY(svd_alloc(m, biased, "rec_model_load"));
    rec_svd_state *s = m->state;
    size_t nu = (size_t)m->nusers, ni = (size_t)m->nitems, d = (size_t)s->dim;
    int64_t ps[2] = { m->nusers, s->dim }, qs[2] = { m->nitems, s->dim }, three = 3;
    REC_TRY(load_one(r, "P", REC_LRM_F32, 2, ps, s->P, nu * d * sizeof(float)));
    REC_TRY(load_one(r, "Q", REC_LRM_F32, 2, qs, s->Q, ni * d * sizeof(float)));
    REC_TRY(load_one(r, "bu", REC_LRM_F32, 1, ps, s->bu, nu * sizeof(float)));
    REC_TRY(load_one(r, "bi", REC_LRM_F32, 1, qs, s->bi, ni * sizeof(float)));
    REC_TRY(load_one(r, "global", REC_LRM_F32, 1, &three, s->glob, 3 * sizeof(float)));
    REC_TRY(load_one(r, "user_known", REC_LRM_U8, 1, ps, s->uknown, nu));
    REC_TRY(load_one(r, "item_known", REC_LRM_U8, 1, qs, s->iknown, ni));
    if (!(s->glob[1] <= s->glob[2]) || !isfinite(s->glob[0]))
        return rec_err(REC_E_FORMAT, "rec_model_load(svd): bad global tensor");
    return load_rank_head(m, r);
}

const rec_model_vt rec_svd_vt = {
    .kind = "svd",
    .summary = "biased matrix factorisation of ratings by SGD (Surprise's SVD)",
    .spec = spec,
    .nspec = NSPEC,
    .fit = svd_fit,
    .score_user = rec_svd_score_user,
    .vectors = rec_svd_vectors,
    .score_history = rec_svd_score_history,
    .score_pair = rec_svd_score_pair,
    .predicts_ratings = rec_svd_predicts_ratings,
    .similar = rec_svd_similar,
    .save = rec_svd_save,
    .load = svd_load,
    .free_state = rec_svd_free,
};
