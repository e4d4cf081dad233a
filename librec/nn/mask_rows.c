/* y = x * keep[row]: zeroes padding positions (SASRec's x *= mask). */
#include "nn-impl.h"
#include "core/ops_dense-impl.h"

#include <string.h>

static void mask_back(rec_graph *g, rec_node *n)
{
    float beta;
    float *dx = rec_grad_full(g, n->in[0], &beta);
    if (!dx)
        return;
    const int32_t *keep = n->in[1]->iv;
    const float *dy = n->out->g;
    int64_t rows = rec_rows(n->in[0]), d = rec_cols(n->in[0]);
    /* row by row: one pool call per row cost more than the row */
    for (int64_t r = 0; r < rows; r++) {
        float *o = dx + r * d;
        if (beta == 0.0f && keep[r])
            memcpy(o, dy + r * d, (size_t)d * sizeof *o);
        else if (beta == 0.0f)
            memset(o, 0, (size_t)d * sizeof *o);
        else if (keep[r])
            for (int64_t k = 0; k < d; k++)
                o[k] += dy[r * d + k];
    }
}

rec_tensor *rec_nn_mask_rows(rec_graph *g, rec_tensor *x, rec_tensor *keep)
{
    static const char fn[] = "rec_nn_mask_rows";
    if (!rec_op_input(g, fn, "x", x))
        return NULL;
    int64_t rows = rec_rows(x), d = rec_cols(x);
    char sx[REC_SHAPE_STR];
    if (!keep || keep->dtype != REC_I32 || keep->n != rows)
        return rec_graph_fail(g, REC_E_INVALID, "%s: keep must be I32 with one value per row "
                              "of x %s (%lld)", fn, rec_shape_str(x, sx), (long long)rows);
    rec_tensor *in[2] = { x, keep };
    rec_tensor *y = rec_op_out(g, x->nd, x->shape, mask_back, 2, in, NULL);
    if (!y)
        return NULL;
    for (int64_t r = 0; r < rows; r++) {
        if (keep->iv[r])
            memcpy(y->v + r * d, x->v + r * d, (size_t)d * sizeof(float));
        else
            memset(y->v + r * d, 0, (size_t)d * sizeof(float));
    }
    return y;
}
