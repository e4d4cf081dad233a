/* The GraphSAGE layer (see nn-impl.h).  The pool aggregator gathers the
 * transformed sources once per edge, [nnz, in], and takes the max per
 * destination with rec_segment_reduce: its backward routes each column's
 * gradient to the one neighbour that held the max. */
#include "nn-impl.h"

#include <stdio.h>

rec_status rec_nn_sage_init(rec_nn_sage *l, rec_pstore *ps, const char *prefix, int64_t in,
                            int64_t out, rec_nn_sage_agg agg, rec_nn_act act, int normalize,
                            rec_rng *rng)
{
    static const char fn[] = "rec_nn_sage_init";
    REC_CHECK_ARG(l && prefix, fn, "layer or prefix is NULL");
    if (agg != REC_NN_SAGE_MEAN && agg != REC_NN_SAGE_POOL)
        return rec_err(REC_E_INVALID, "%s: unknown aggregator %d", fn, (int)agg);
    *l = (rec_nn_sage){ .agg = agg, .act = act, .normalize = normalize };
    REC_TRY(rec_nn_linear_init(&l->lin, ps, prefix, 2 * in, out, 1, REC_NN_INIT_XAVIER_UNIFORM,
                               rng));
    if (agg == REC_NN_SAGE_POOL) {
        char name[REC_NN_NAME_MAX];
        int n = snprintf(name, sizeof name, "%s.pool", prefix);
        if (n < 0 || (size_t)n >= sizeof name)
            return rec_err(REC_E_INVALID, "%s: prefix '%s' is too long", fn, prefix);
        REC_TRY(rec_nn_linear_init(&l->pool, ps, name, in, in, 1, REC_NN_INIT_XAVIER_UNIFORM,
                                   rng));
    }
    return REC_OK;
}

/* max over each destination's neighbours of ReLU(P x_u + p): [ndst, in]. */
static rec_tensor *pool(rec_graph *g, const rec_nn_sage *l, rec_csr *a, rec_tensor *x)
{
    rec_tensor *idx = rec_tensor_i32(g, a->nnz), *off = rec_tensor_i32(g, a->rows + 1);
    if (!off)
        return NULL;
    for (int64_t k = 0; k < a->nnz; k++)
        idx->iv[k] = a->indices[k];
    for (int64_t v = 0; v <= a->rows; v++)
        off->iv[v] = (int32_t)a->indptr[v];
    rec_tensor *p = rec_relu(g, rec_linear(g, x, l->pool.weight, l->pool.bias));
    return rec_segment_reduce(g, rec_gather(g, p, idx, -1), off, NULL, REC_REDUCE_MAX);
}

rec_tensor *rec_nn_sage_forward(rec_graph *g, const rec_nn_sage *l, rec_csr *a, rec_tensor *x)
{
    static const char fn[] = "rec_nn_sage_forward";
    if (!g) {
        rec_err(REC_E_INVALID, "%s: graph is NULL", fn);
        return NULL;
    }
    if (rec_graph_status(g))
        return NULL;
    if (!l || !l->lin.weight || (l->agg == REC_NN_SAGE_POOL && !l->pool.weight))
        return rec_graph_fail(g, REC_E_INVALID, "%s: layer is NULL or not initialised", fn);
    if (rec_nn_block_check(g, a, x, l->lin.in / 2, fn))
        return NULL;
    if (a->rows > a->cols)
        return rec_graph_fail(g, REC_E_INVALID, "%s: the block is %lld x %lld: the %lld "
                              "destinations must be the first rows of the sources", fn,
                              (long long)a->rows, (long long)a->cols, (long long)a->rows);
    if (a->nnz > INT32_MAX)
        return rec_graph_fail(g, REC_E_RANGE, "%s: %lld edges, at most %d", fn,
                              (long long)a->nnz, INT32_MAX);
    rec_tensor *parts[2] = { rec_slice_rows(g, x, 0, a->rows),
                             l->agg == REC_NN_SAGE_MEAN ? rec_spmm(g, a, x) : pool(g, l, a, x) };
    rec_tensor *y = rec_nn_act_apply(g, l->act, rec_linear(g, rec_concat(g, 2, parts),
                                                           l->lin.weight, l->lin.bias));
    return l->normalize ? rec_l2_normalize(g, y, 1e-12f) : y;
}
