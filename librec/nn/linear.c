/* Linear and the MLP (Linear -> activation -> dropout per layer). */
#include "nn-impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

rec_status rec_nn_linear_init(rec_nn_linear *l, rec_pstore *ps, const char *prefix,
                              int64_t in, int64_t out, int bias, rec_nn_init init,
                              rec_rng *rng)
{
    static const char fn[] = "rec_nn_linear_init";
    REC_CHECK_ARG(l && rng, fn, "layer and rng must not be NULL");
    if (in <= 0 || out <= 0)
        return rec_err(REC_E_RANGE, "%s: in = %lld and out = %lld must be > 0", fn,
                       (long long)in, (long long)out);
    int64_t ws[2] = { out, in };
    rec_tensor *w, *b = NULL;
    REC_TRY(rec_nn_param(ps, fn, prefix, "weight", 2, ws, 0, &w));
    if (bias)
        REC_TRY(rec_nn_param(ps, fn, prefix, "bias", 1, &out, 0, &b));
    rec_nn_init_weight(w, init, 1.0f, rng);
    if (b) { /* PyTorch's bias init whatever the weight's */
        float a = (float)(1.0 / sqrt((double)in));
        rec_init_uniform(b, rng, -a, a);
    }
    *l = (rec_nn_linear){ w, b, in, out };
    return REC_OK;
}

rec_tensor *rec_nn_linear_forward(rec_graph *g, const rec_nn_linear *l, rec_tensor *x)
{
    if (!g) {
        rec_err(REC_E_INVALID, "rec_nn_linear_forward: graph is NULL");
        return NULL;
    }
    if (!l || !l->weight)
        return rec_graph_fail(g, REC_E_INVALID,
                              "rec_nn_linear_forward: layer is NULL or not initialised");
    return rec_linear(g, x, l->weight, l->bias);
}

rec_status rec_nn_act_parse(const char *name, const char *fn, rec_nn_act *out)
{
    static const char *const names[] = { "none", "relu", "gelu", "tanh", "sigmoid" };
    for (int i = 0; name && i < 5; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (rec_nn_act)i;
            return REC_OK;
        }
    return rec_err(REC_E_INVALID, "%s: unknown activation '%s' (want relu, gelu, tanh, "
                   "sigmoid or none)", fn, name ? name : "(null)");
}

rec_tensor *rec_nn_act_apply(rec_graph *g, rec_nn_act act, rec_tensor *x)
{
    switch (act) {
    case REC_NN_ACT_NONE: return x;
    case REC_NN_ACT_RELU: return rec_relu(g, x);
    case REC_NN_ACT_GELU: return rec_gelu(g, x);
    case REC_NN_ACT_TANH: return rec_tanh(g, x);
    case REC_NN_ACT_SIGMOID: return rec_sigmoid(g, x);
    }
    return rec_graph_fail(g, REC_E_INVALID, "rec_nn_act_apply: unknown activation %d", (int)act);
}

rec_status rec_nn_mlp_init(rec_nn_mlp *m, rec_pstore *ps, const char *prefix, int n,
                           const int64_t *dims, rec_nn_act act, float dropout, int act_last,
                           rec_nn_init init, rec_rng *rng)
{
    static const char fn[] = "rec_nn_mlp_init";
    REC_CHECK_ARG(m && dims && rng, fn, "layer, dims and rng must not be NULL");
    if (n < 1 || n > REC_NN_MLP_MAX)
        return rec_err(REC_E_RANGE, "%s: %d layers is outside [1, %d]", fn, n, REC_NN_MLP_MAX);
    if (act < REC_NN_ACT_NONE || act > REC_NN_ACT_SIGMOID)
        return rec_err(REC_E_INVALID, "%s: unknown activation %d", fn, (int)act);
    if (!(dropout >= 0.0f && dropout < 1.0f))
        return rec_err(REC_E_RANGE, "%s: dropout = %g is outside [0, 1)", fn, (double)dropout);
    if (!prefix)
        return rec_err(REC_E_INVALID, "%s: name prefix is NULL", fn);
    memset(m, 0, sizeof *m);
    for (int i = 0; i < n; i++) {
        char name[REC_NN_NAME_MAX];
        int len = snprintf(name, sizeof name, "%s.%d", prefix, i);
        if (len < 0 || (size_t)len >= sizeof name)
            return rec_err(REC_E_INVALID, "%s: prefix '%s' is too long", fn, prefix);
        REC_TRY(rec_nn_linear_init(&m->layer[i], ps, name, dims[i], dims[i + 1], 1, init,
                                   rng));
    }
    m->n = n;
    m->act = act;
    m->dropout = dropout;
    m->act_last = act_last;
    return REC_OK;
}

rec_tensor *rec_nn_mlp_forward(rec_graph *g, const rec_nn_mlp *m, rec_tensor *x)
{
    if (!g) {
        rec_err(REC_E_INVALID, "rec_nn_mlp_forward: graph is NULL");
        return NULL;
    }
    if (!m || m->n < 1)
        return rec_graph_fail(g, REC_E_INVALID,
                              "rec_nn_mlp_forward: layer is NULL or not initialised");
    for (int i = 0; i < m->n; i++) {
        x = rec_nn_linear_forward(g, &m->layer[i], x);
        if (i + 1 < m->n || m->act_last) {
            x = rec_nn_act_apply(g, m->act, x);
            x = rec_dropout(g, x, m->dropout);
        }
    }
    return x;
}
