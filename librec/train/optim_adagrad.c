/* Adagrad as torch.optim.Adagrad with lr_decay 0 (the schedules cover it):
 *   g += wd * w;  sum += g^2;  w -= lr * g / (sqrt(sum) + eps)
 * sum starts at initial_accumulator_value.  For sparse tables only the
 * touched rows' sums grow. */
#define REC_OPTIM_INTERNAL
#include "train/train-impl.h"

#include <math.h>

static const rec_param_spec adagrad_spec[] = {
    REC_OPTIM_COMMON_SPEC("0.01", "0"),
    { "eps", REC_PARAM_FLOAT, "1e-10", 0, 1, NULL, "added to the denominator" },
    { "initial_accumulator_value", REC_PARAM_FLOAT, "0", 0, 1e6, NULL,
      "starting value of the squared-gradient sums" },
};

static int adagrad_nslots(const rec_optim *o)
{
    (void)o;
    return 1;
}

static void adagrad_coef(const rec_optim *o, const rec_optim_param *p, rec_optim_coef *c)
{
    (void)p;
    c->eps = (float)o->eps;
}

static void adagrad_kernel(const rec_optim_coef *c, float *w, float *g, float *sum,
                           float *unused, int64_t n)
{
    (void)unused;
    const float lr = c->lr, gs = c->gscale, wd = c->wd, eps = c->eps;
    for (int64_t i = 0; i < n; i++) {
        float d = g[i] * gs + wd * w[i];
        if (c->zero_g)
            g[i] = 0.0f;
        float s = sum[i] + d * d;
        sum[i] = s;
        w[i] -= lr * d / (sqrtf(s) + eps);
    }
}

const rec_optim_kind rec_optim_kind_adagrad = {
    "adagrad", adagrad_spec, sizeof adagrad_spec / sizeof *adagrad_spec, { "sum", NULL },
    adagrad_nslots, adagrad_coef, adagrad_kernel,
};
