/* SGD with optional momentum and Nesterov momentum, as torch.optim.SGD with
 * dampening 0: g += wd * w; buf = momentum * buf + g (a zero buffer makes the
 * first step buf = g, as PyTorch's clone); w -= lr * (nesterov ? g +
 * momentum * buf : buf). */
#define REC_OPTIM_INTERNAL
#include "train/train-impl.h"

static const rec_param_spec sgd_spec[] = {
    REC_OPTIM_COMMON_SPEC("0.01", "0"),
    { "momentum", REC_PARAM_FLOAT, "0", 0, 1, NULL, "momentum factor" },
    { "nesterov", REC_PARAM_BOOL, "false", 0, 0, NULL, "Nesterov momentum (needs momentum)" },
};

static int sgd_nslots(const rec_optim *o) { return o->momentum > 0.0 ? 1 : 0; }

static void sgd_coef(const rec_optim *o, const rec_optim_param *p, rec_optim_coef *c)
{
    (void)p;
    c->momentum = (float)o->momentum;
    c->nesterov = o->nesterov;
}

static void sgd_kernel(const rec_optim_coef *c, float *w, float *g, float *buf, float *unused,
                       int64_t n)
{
    (void)unused;
    const float lr = c->lr, gs = c->gscale, wd = c->wd, mom = c->momentum;
    for (int64_t i = 0; i < n; i++) {
        float d = g[i] * gs + wd * w[i];
        if (c->zero_g)
            g[i] = 0.0f;
        if (buf) {
            float b = mom * buf[i] + d;
            buf[i] = b;
            d = c->nesterov ? d + mom * b : b;
        }
        w[i] -= lr * d;
    }
}

const rec_optim_kind rec_optim_kind_sgd = {
    "sgd", sgd_spec, sizeof sgd_spec / sizeof *sgd_spec, { "momentum_buffer", NULL },
    sgd_nslots, sgd_coef, sgd_kernel,
};
