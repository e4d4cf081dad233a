/* SASRec's pre-LN transformer block (see nn-impl.h for the equations). */
#include "nn-impl.h"

#include <stdio.h>

rec_status rec_nn_transformer_init(rec_nn_transformer *b, rec_pstore *ps, const char *prefix,
                                   int64_t dim, int64_t heads, int64_t ff_dim, float dropout,
                                   float ln_eps, rec_nn_init init, rec_rng *rng)
{
    static const char fn[] = "rec_nn_transformer_init";
    REC_CHECK_ARG(b && rng, fn, "layer and rng must not be NULL");
    if (!prefix)
        return rec_err(REC_E_INVALID, "%s: name prefix is NULL", fn);
    char name[5][REC_NN_NAME_MAX];
    const char *part[5] = { "ln_a", "attn", "ln_f", "ff1", "ff2" };
    for (int i = 0; i < 5; i++) {
        int len = snprintf(name[i], REC_NN_NAME_MAX, "%s.%s", prefix, part[i]);
        if (len < 0 || len >= REC_NN_NAME_MAX)
            return rec_err(REC_E_INVALID, "%s: prefix '%s' is too long", fn, prefix);
    }
    REC_TRY(rec_nn_layernorm_init(&b->ln_a, ps, name[0], dim, ln_eps));
    REC_TRY(rec_nn_mha_init(&b->attn, ps, name[1], dim, heads, dropout, init, rng));
    REC_TRY(rec_nn_layernorm_init(&b->ln_f, ps, name[2], dim, ln_eps));
    REC_TRY(rec_nn_linear_init(&b->ff1, ps, name[3], dim, ff_dim, 1, init, rng));
    REC_TRY(rec_nn_linear_init(&b->ff2, ps, name[4], ff_dim, dim, 1, init, rng));
    b->dropout = dropout;
    b->causal = 1;
    return REC_OK;
}

rec_tensor *rec_nn_transformer_forward(rec_graph *g, const rec_nn_transformer *b,
                                       rec_tensor *x, rec_tensor *keep, rec_tensor *lengths)
{
    static const char fn[] = "rec_nn_transformer_forward";
    if (!g) {
        rec_err(REC_E_INVALID, "%s: graph is NULL", fn);
        return NULL;
    }
    if (!b || !b->ln_a.weight)
        return rec_graph_fail(g, REC_E_INVALID, "%s: layer is NULL or not initialised", fn);
    rec_tensor *h = rec_nn_layernorm_forward(g, &b->ln_a, x);
    x = rec_add(g, x, rec_nn_mha_forward(g, &b->attn, h, b->causal, lengths));
    h = rec_nn_layernorm_forward(g, &b->ln_f, x);
    h = rec_dropout(g, rec_relu(g, rec_nn_linear_forward(g, &b->ff1, h)), b->dropout);
    h = rec_dropout(g, rec_nn_linear_forward(g, &b->ff2, h), b->dropout);
    x = rec_add(g, x, h);
    return keep ? rec_nn_mask_rows(g, x, keep) : x;
}
