/* Dense mixture of experts: K MLPs mixed by a softmax gate (nn-impl.h has
 * the maths).  Every expert runs on every row, so the layer is K MLPs'
 * work and the tape's ops give backward; the balance term is what keeps
 * the gate from settling on one expert early (the rich-get-richer loop
 * Shazeer et al. 2017 describe: a favoured expert trains faster, so it is
 * favoured more). */
#include "nn-impl.h"

#include <stdio.h>
#include <string.h>

rec_status rec_nn_moe_init(rec_nn_moe *m, rec_pstore *ps, const char *prefix, int k, int n,
                           const int64_t *dims, int64_t gate_in, rec_nn_act act, rec_rng *rng)
{
    static const char fn[] = "rec_nn_moe_init";
    REC_CHECK_ARG(m && prefix && dims && rng, fn, "layer, prefix, dims and rng must not be NULL");
    if (k < 1 || k > REC_NN_MOE_MAX)
        return rec_err(REC_E_RANGE, "%s: %d experts is outside [1, %d]", fn, k, REC_NN_MOE_MAX);
    if (gate_in <= 0)
        return rec_err(REC_E_RANGE, "%s: gate_in = %lld must be > 0", fn, (long long)gate_in);
    memset(m, 0, sizeof *m);
    char name[REC_NN_NAME_MAX];
    for (int e = 0; e < k; e++) {
        int len = snprintf(name, sizeof name, "%s.expert%d", prefix, e);
        if (len < 0 || (size_t)len >= sizeof name)
            return rec_err(REC_E_INVALID, "%s: prefix '%s' is too long", fn, prefix);
        REC_TRY(rec_nn_mlp_init(&m->expert[e], ps, name, n, dims, act, 0.0f, 0,
                                REC_NN_INIT_DEFAULT, rng));
    }
    snprintf(name, sizeof name, "%s.gate", prefix);
    REC_TRY(rec_nn_linear_init(&m->gate, ps, name, gate_in, k, 1, REC_NN_INIT_DEFAULT, rng));
    m->k = k;
    m->in = dims[0];
    m->out = dims[n];
    m->gate_in = gate_in;
    return REC_OK;
}

rec_tensor *rec_nn_moe_forward(rec_graph *g, const rec_nn_moe *m, rec_tensor *x, rec_tensor *z,
                               rec_tensor **probs)
{
    static const char fn[] = "rec_nn_moe_forward";
    if (!g) {
        rec_err(REC_E_INVALID, "%s: graph is NULL", fn);
        return NULL;
    }
    if (rec_graph_status(g))
        return NULL;
    if (!m || m->k < 1)
        return rec_graph_fail(g, REC_E_INVALID, "%s: layer is NULL or not initialised", fn);
    if (!x || !z || x->nd != 2 || z->nd != 2 || x->shape[1] != m->in ||
        z->shape[1] != m->gate_in || z->shape[0] != x->shape[0])
        return rec_graph_fail(g, REC_E_INVALID, "%s: x must be [B, %lld] and z [B, %lld]", fn,
                              (long long)m->in, (long long)m->gate_in);
    int64_t B = x->shape[0];
    rec_tensor *outs[REC_NN_MOE_MAX];
    for (int e = 0; e < m->k; e++)
        if (!(outs[e] = rec_nn_mlp_forward(g, &m->expert[e], x)))
            return NULL;
    /* [B, K * out] -> [B, K, out]; the mix is a [1, K] x [K, out] product per row */
    int64_t s3[3] = { B, m->k, m->out }, p3[3] = { B, 1, m->k }, s2[2] = { B, m->out };
    rec_tensor *ex = rec_reshape(g, m->k == 1 ? outs[0] : rec_concat(g, m->k, outs), 3, s3);
    rec_tensor *p = rec_softmax(g, rec_nn_linear_forward(g, &m->gate, z), 0, NULL);
    if (probs)
        *probs = p;
    return rec_reshape(g, rec_bmm(g, rec_reshape(g, p, 3, p3), ex, 0, 0), 2, s2);
}

rec_tensor *rec_nn_moe_balance(rec_graph *g, rec_tensor *probs)
{
    static const char fn[] = "rec_nn_moe_balance";
    if (!g) {
        rec_err(REC_E_INVALID, "%s: graph is NULL", fn);
        return NULL;
    }
    if (rec_graph_status(g))
        return NULL;
    if (!probs || probs->nd != 2 || probs->shape[0] < 1)
        return rec_graph_fail(g, REC_E_INVALID, "%s: probs must be [B, K] with B >= 1", fn);
    int64_t B = probs->shape[0], K = probs->shape[1];
    rec_tensor *mean = rec_tensor_2d(g, 1, B), *one = rec_tensor_1d(g, 1);
    if (!one)
        return NULL;
    for (int64_t b = 0; b < B; b++)
        mean->v[b] = 1.0f / (float)B;
    one->v[0] = -1.0f;
    rec_tensor *share = rec_matmul(g, mean, probs, 0, 0); /* [1, K]: P_k */
    return rec_add(g, rec_scale(g, rec_rowdot(g, share, share), (float)K), one);
}
