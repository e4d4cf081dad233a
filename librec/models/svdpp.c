/* "svdpp": SVD++ (Koren 2008) with Surprise's SVDpp semantics and defaults:
 *   r_hat = mu + b_u + b_i + q_i . (p_u + |N(u)|^-1/2 sum_{j in N(u)} y_j)
 * N(u) the user's training items.  Per rating, as "svd" plus
 *   q_i += lr (e (p_u + imp_u) - reg q_i)
 *   y_j += lr (e |N(u)|^-1/2 q_i - reg y_j)   for every j in N(u)
 * Surprise recomputes imp_u and touches every y_j at each rating, which
 * costs |N(u)| d per rating.  Every y_j of the user receives the same
 * update y <- a y + c (a = 1 - lr reg, c = lr e |N(u)|^-1/2 q_i), and ratings
 * are visited grouped by user, so the sum of the y_j and the pending update
 * (y_j <- a^K y_j + D) are carried through the user's block in closed form
 * and applied once at its end: the same arithmetic at d per rating.
 * After training, p_u + imp_u is stored as the user's vector, so scoring,
 * fold-in, similar items and the file are those of "svd" without its ranking
 * head: top-N ranks by predicted rating.  Defaults are Surprise's (20
 * factors, lr 0.007) except shuffle (true, as its shuffled KFold; 5-fold
 * RMSE on ml-latest-small 0.8654 in file order, 0.8603 shuffled) and
 * longer, better regularised training, as for "svd": 30 epochs, reg 0.05
 * (ml-latest-small 0.8552, the same with whole-star ratings in random
 * order 0.8734 -> 0.8676, generated data 0.932 -> 0.895). */
#include "factor-impl.h"

#include <math.h>
#include <string.h>

static const rec_param_spec spec[] = {
    REC_SVD_SPEC_FIT("20", "30", "0.007"),
    REC_SVD_SPEC_ORDER,
};
#define NSPEC (sizeof spec / sizeof *spec)

/* One user's block of ratings.  y [nitems, d]; w: 3 d floats of scratch. */
static double user_block(rec_svd_state *s, float *y, int32_t u, const int32_t *items,
                         const float *rats, int64_t n, float lr, float reg, float *w)
{
    const int d = s->dim;
    float *sum = w, *pend = w + d, *imp = w + 2 * d;
    float inv = 1.0f / sqrtf((float)n), a = 1.0f - lr * reg, ak = 1.0f;
    memset(sum, 0, 2 * (size_t)d * sizeof *sum);
    for (int64_t h = 0; h < n; h++) {
        const float *yj = y + (size_t)items[h] * d;
        for (int k = 0; k < d; k++)
            sum[k] += yj[k];
    }
    float *p = s->P + (size_t)u * d;
    double sse = 0;
    for (int64_t h = 0; h < n; h++) {
        int32_t i = items[h];
        float *q = s->Q + (size_t)i * d;
        float dot = 0;
        for (int k = 0; k < d; k++) {
            imp[k] = sum[k] * inv;
            dot += q[k] * (p[k] + imp[k]);
        }
        float e = rats[h] - (s->glob[0] + s->bu[u] + s->bi[i] + dot);
        sse += (double)e * e;
        s->bu[u] += lr * (e - reg * s->bu[u]);
        s->bi[i] += lr * (e - reg * s->bi[i]);
        float ce = lr * e * inv, nf = (float)n;
        for (int k = 0; k < d; k++) {
            float pk = p[k], qk = q[k], c = ce * qk;
            p[k] = pk + lr * (e * qk - reg * pk);
            q[k] = qk + lr * (e * (pk + imp[k]) - reg * qk);
            pend[k] = a * pend[k] + c;
            sum[k] = a * sum[k] + nf * c;
        }
        ak *= a;
    }
    for (int64_t h = 0; h < n; h++) {
        float *yj = y + (size_t)items[h] * d;
        for (int k = 0; k < d; k++)
            yj[k] = ak * yj[k] + pend[k];
    }
    return sse;
}

static rec_status svdpp_fit(rec_model *m, const rec_dataset *d, rec_progress_fn cb, void *user)
{
    const char *fn = "rec_model_fit(svdpp)";
    rec_rng rng;
    rec_svd_order o;
    rec_status st = rec_svd_setup(m, d, 1, &rng, &o, fn);
    if (st) {
        rec_svd_order_free(&o);
        return st;
    }
    rec_svd_state *s = m->state;
    int dim = s->dim;
    size_t yb = ((size_t)m->nitems * dim + 3 * (size_t)dim) * sizeof(float);
    float *y = rec_malloc(yb);
    st = y ? REC_OK : rec_nomem(fn);
    float mean = (float)rec_model_flt(m, "init_mean");
    float sd = (float)rec_model_flt(m, "init_std");
    for (size_t k = 0; !st && k < (size_t)m->nitems * dim; k++) /* after P and Q */
        y[k] = mean + sd * rec_rng_normal(&rng);
    float *w = y ? y + (size_t)m->nitems * dim : NULL;
    int epochs = (int)rec_model_int(m, "epochs");
    float lr = (float)rec_model_flt(m, "lr"), reg = (float)rec_model_flt(m, "reg");
    for (int ep = 1; !st && ep <= epochs; ep++) {
        double sse = 0;
        for (int32_t j = 0; j < o.nvis; j++)
            sse += user_block(s, y, o.users[j], o.items + o.ptr[j], o.rats + o.ptr[j],
                              o.ptr[j + 1] - o.ptr[j], lr, reg, w);
        if (!isfinite(sse))
            st = rec_err(REC_E_RANGE, "%s: the training error diverged at epoch %d "
                         "(lower lr)", fn, ep);
        else if (cb && cb(user, ep, epochs, sse / (double)o.n))
            st = rec_err(REC_E_CANCELLED, "%s: cancelled at epoch %d", fn, ep);
    }
    /* the user's vector becomes p_u + imp_u (also when cancelled) */
    for (int32_t j = 0; y && (!st || st == REC_E_CANCELLED) && j < o.nvis; j++) {
        int64_t n = o.ptr[j + 1] - o.ptr[j];
        float inv = 1.0f / sqrtf((float)n), *p = s->P + (size_t)o.users[j] * dim;
        for (int64_t h = o.ptr[j]; h < o.ptr[j + 1]; h++)
            rec_saxpy(dim, inv, y + (size_t)o.items[h] * dim, p);
    }
    rec_free(y, yb);
    rec_svd_order_free(&o);
    return st;
}

static rec_status svdpp_load(rec_model *m, const rec_lrm_reader *r)
{
    return rec_svd_load_state(m, r, 1);
}

const rec_model_vt rec_svdpp_vt = {
    .kind = "svdpp",
    .summary = "SVD++: biased MF with implicit feedback of the rated items (Surprise's SVDpp)",
    .spec = spec,
    .nspec = NSPEC,
    .fit = svdpp_fit,
    .score_user = rec_svd_score_user,
    .vectors = rec_svd_vectors,
    .score_history = rec_svd_score_history,
    .score_pair = rec_svd_score_pair,
    .predicts_ratings = rec_svd_predicts_ratings,
    .similar = rec_svd_similar,
    .save = rec_svd_save,
    .load = svdpp_load,
    .free_state = rec_svd_free,
};
