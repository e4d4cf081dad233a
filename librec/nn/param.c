/* Parameter naming and the weight initialisers the layers share. */
#include "nn-impl.h"

#include <math.h>
#include <stdio.h>

rec_status rec_nn_param(rec_pstore *ps, const char *fn, const char *prefix, const char *suffix,
                        int nd, const int64_t *shape, unsigned flags, rec_tensor **out)
{
    *out = NULL;
    if (!ps)
        return rec_err(REC_E_INVALID, "%s: parameter store is NULL", fn);
    if (!prefix)
        return rec_err(REC_E_INVALID, "%s: name prefix is NULL", fn);
    char name[REC_NN_NAME_MAX];
    int len = snprintf(name, sizeof name, "%s.%s", prefix, suffix);
    if (len < 0 || (size_t)len >= sizeof name)
        return rec_err(REC_E_INVALID, "%s: parameter name '%s.%s' is longer than %d bytes", fn,
                       prefix, suffix, REC_NN_NAME_MAX - 1);
    for (int i = 0; i < nd; i++)
        if (shape[i] <= 0)
            return rec_err(REC_E_INVALID, "%s: '%s' has dimension %d = %lld (want > 0)", fn,
                           name, i, (long long)shape[i]);
    if (rec_pstore_find(ps, name))
        return rec_err(REC_E_INVALID, "%s: parameter '%s' already exists", fn, name);
    *out = rec_pstore_add(ps, name, nd, shape, flags);
    return *out ? REC_OK : rec_nomem(fn);
}

void rec_nn_init_weight(rec_tensor *w, rec_nn_init init, float std, rec_rng *rng)
{
    double fan_in = (double)rec_cols(w), fan_out = (double)rec_rows(w);
    switch (init) {
    case REC_NN_INIT_XAVIER_NORMAL:
        rec_init_xavier_normal(w, rng);
        break;
    case REC_NN_INIT_XAVIER_UNIFORM: {
        float a = (float)sqrt(6.0 / (fan_in + fan_out));
        rec_init_uniform(w, rng, -a, a);
        break;
    }
    case REC_NN_INIT_NORMAL:
        rec_init_normal(w, rng, 0.0f, std);
        break;
    default: { /* kaiming_uniform(a = sqrt(5)) works out to U(+-1/sqrt(fan_in)) */
        float a = (float)(1.0 / sqrt(fan_in));
        rec_init_uniform(w, rng, -a, a);
        break;
    }
    }
}
