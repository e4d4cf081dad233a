/* Adam and AdamW with PyTorch's formulas.  At the param's step t:
 *   g += wd * w                      (Adam: L2 in the gradient)
 *   w *= 1 - lr * wd                 (AdamW instead: decoupled decay)
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * For sparse tables this runs on the touched rows only (SparseAdam). */
#define REC_OPTIM_INTERNAL
#include "train/train-impl.h"

#include <math.h>

#define ADAM_KEYS                                                                              \
    { "beta1", REC_PARAM_FLOAT, "0.9", 0, 1, NULL, "first-moment decay, in [0, 1)" },          \
    { "beta2", REC_PARAM_FLOAT, "0.999", 0, 1, NULL, "second-moment decay, in [0, 1)" },       \
    { "eps", REC_PARAM_FLOAT, "1e-8", 0, 1, NULL, "added to the denominator" }

static const rec_param_spec adam_spec[] = { REC_OPTIM_COMMON_SPEC("0.001", "0"), ADAM_KEYS };
static const rec_param_spec adamw_spec[] = { REC_OPTIM_COMMON_SPEC("0.001", "0.01"), ADAM_KEYS };

static int adam_nslots(const rec_optim *o)
{
    (void)o;
    return 2;
}

static void moments_coef(const rec_optim *o, const rec_optim_param *p, rec_optim_coef *c)
{
    double t = (double)p->step;
    c->beta1 = (float)o->beta1;
    c->beta2 = (float)o->beta2;
    c->omb1 = (float)(1.0 - o->beta1);
    c->omb2 = (float)(1.0 - o->beta2);
    c->eps = (float)o->eps;
    c->step_size = (float)(o->lr_now / (1.0 - pow(o->beta1, t)));
    c->inv_sqrt_bc2 = (float)(1.0 / sqrt(1.0 - pow(o->beta2, t)));
    c->decay = 1.0f;
}

static void adam_coef(const rec_optim *o, const rec_optim_param *p, rec_optim_coef *c)
{
    moments_coef(o, p, c);
}

static void adamw_coef(const rec_optim *o, const rec_optim_param *p, rec_optim_coef *c)
{
    moments_coef(o, p, c);
    c->decay = (float)(1.0 - o->lr_now * o->wd);
    c->wd = 0.0f;
}

static void adam_kernel(const rec_optim_coef *c, float *w, float *g, float *m, float *v,
                        int64_t n)
{
    const float gs = c->gscale, wd = c->wd, b1 = c->beta1, b2 = c->beta2, eps = c->eps;
    const float omb1 = c->omb1, omb2 = c->omb2;
    const float step = c->step_size, ibc2 = c->inv_sqrt_bc2, decay = c->decay;
    for (int64_t i = 0; i < n; i++) {
        float x = w[i] * decay;
        float d = g[i] * gs + wd * w[i];
        if (c->zero_g)
            g[i] = 0.0f;
        float mi = b1 * m[i] + omb1 * d;
        float vi = b2 * v[i] + omb2 * d * d;
        m[i] = mi;
        v[i] = vi;
        w[i] = x - step * mi / (sqrtf(vi) * ibc2 + eps);
    }
}

const rec_optim_kind rec_optim_kind_adam = {
    "adam", adam_spec, sizeof adam_spec / sizeof *adam_spec, { "exp_avg", "exp_avg_sq" },
    adam_nslots, adam_coef, adam_kernel,
};

const rec_optim_kind rec_optim_kind_adamw = {
    "adamw", adamw_spec, sizeof adamw_spec / sizeof *adamw_spec, { "exp_avg", "exp_avg_sq" },
    adam_nslots, adamw_coef, adam_kernel,
};
