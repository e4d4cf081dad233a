/* 1-D convolution sequence encoder: windows of k steps (an unfold op, each
 * window a contiguous slice of x), one Linear over all windows, ReLU, and a
 * max over time:  [B, T, in] -> [B, T-k+1, k*in] -> [B, T-k+1, out] -> [B, out]. */
#include "nn-impl.h"
#include "core/ops_dense-impl.h"

#include <math.h>
#include <string.h>

static void unfold_back(rec_graph *g, rec_node *n)
{
    float *dx = rec_grad_of(g, n->in[0]);
    if (!dx)
        return;
    rec_tensor *x = n->in[0];
    int64_t B = x->shape[0], T = x->shape[1], in = x->shape[2], k = n->i[0], W = T - k + 1;
    for (int64_t b = 0; b < B; b++)
        for (int64_t w = 0; w < W; w++)
            rec_accum(dx + (b * T + w) * in, n->out->g + (b * W + w) * k * in, k * in);
}

rec_tensor *rec_nn_unfold(rec_graph *g, rec_tensor *x, int64_t kernel)
{
    static const char fn[] = "rec_nn_unfold";
    if (!rec_op_input(g, fn, "x", x))
        return NULL;
    char sx[REC_SHAPE_STR];
    if (x->nd != 3 || kernel < 1 || x->shape[1] < kernel)
        return rec_graph_fail(g, REC_E_INVALID, "%s: x %s must be [B, T, in] with T >= "
                              "kernel = %lld", fn, rec_shape_str(x, sx), (long long)kernel);
    int64_t B = x->shape[0], T = x->shape[1], in = x->shape[2], W = T - kernel + 1;
    int64_t s[3] = { B, W, kernel * in };
    rec_node *node;
    rec_tensor *y = rec_op_out(g, 3, s, unfold_back, 1, &x, &node);
    if (!y)
        return NULL;
    for (int64_t b = 0; b < B; b++)
        for (int64_t w = 0; w < W; w++)
            memcpy(y->v + (b * W + w) * kernel * in, x->v + (b * T + w) * in,
                   (size_t)(kernel * in) * sizeof(float));
    if (node)
        node->i[0] = kernel;
    return y;
}

rec_status rec_nn_conv1d_init(rec_nn_conv1d *c, rec_pstore *ps, const char *prefix,
                              int64_t in, int64_t out, int64_t kernel, rec_nn_init init,
                              rec_rng *rng)
{
    static const char fn[] = "rec_nn_conv1d_init";
    REC_CHECK_ARG(c && rng, fn, "layer and rng must not be NULL");
    if (in <= 0 || out <= 0 || kernel <= 0)
        return rec_err(REC_E_RANGE, "%s: in = %lld, out = %lld and kernel = %lld must be > 0",
                       fn, (long long)in, (long long)out, (long long)kernel);
    rec_nn_linear l; /* PyTorch's Conv1d init is Linear's with fan_in = in * k */
    REC_TRY(rec_nn_linear_init(&l, ps, prefix, kernel * in, out, 1, init, rng));
    *c = (rec_nn_conv1d){ l.weight, l.bias, in, out, kernel };
    return REC_OK;
}

rec_tensor *rec_nn_conv1d_encode(rec_graph *g, const rec_nn_conv1d *c, rec_tensor *x)
{
    static const char fn[] = "rec_nn_conv1d_encode";
    if (!g) {
        rec_err(REC_E_INVALID, "%s: graph is NULL", fn);
        return NULL;
    }
    if (!c || !c->weight)
        return rec_graph_fail(g, REC_E_INVALID, "%s: layer is NULL or not initialised", fn);
    if (x && rec_cols(x) != c->in)
        return rec_graph_fail(g, REC_E_INVALID, "%s: x has %lld features, the layer takes %lld",
                              fn, (long long)rec_cols(x), (long long)c->in);
    rec_tensor *win = rec_nn_unfold(g, x, c->kernel);
    rec_tensor *y = rec_relu(g, rec_linear(g, win, c->weight, c->bias));
    if (!y)
        return NULL;
    int64_t B = win->shape[0], W = win->shape[1];
    rec_tensor *off = rec_tensor_i32(g, B + 1);
    if (!off)
        return NULL;
    for (int64_t b = 0; b <= B; b++)
        off->iv[b] = (int32_t)(b * W);
    int64_t flat[2] = { B * W, c->out };
    return rec_segment_reduce(g, rec_reshape(g, y, 2, flat), off, NULL, REC_REDUCE_MAX);
}
