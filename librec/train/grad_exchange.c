/* The gradient exchange of a distributed step (see train-impl.h): one
 * agreement, one allgather of the sparse tables' row counts, a second
 * agreement once every buffer is allocated (so no rank can fail between two
 * collectives the others are in), then one fused allreduce and one
 * allgatherv.  Every sum is taken in rank order, so the update is the same
 * bits on every rank.
 *
 * Record of a sparse row in the allgatherv: int32 row, then cols floats
 * (its gradient times the rank's weight); a rank's records are its tables'
 * coalesced rows, table by table, each ascending. */
#define REC_OPTIM_INTERNAL
#include "train/train-impl.h"

#include <string.h>

typedef struct rec_exchange {
    float *fused;
    size_t fcap;
    char *send, *recv;
    size_t scap, rcap;
    int64_t *cnt;       /* [(size + 1) * ns]: every rank's counts, then ours */
    size_t ccap;
    size_t *rb;         /* [size] bytes from each rank          */
    size_t rbcap;
    int *dense;         /* [np] 1: a sparse table goes dense     */
    size_t dcap;
    int32_t *rows;      /* merged rows of every sparse table     */
    float **grad;
    size_t xcap, gcap;
    float *sums;        /* merged gradients of repeated rows     */
    size_t sumcap;
} rec_exchange;

void rec_exchange_free(rec_exchange *x)
{
    if (!x)
        return;
    rec_free(x->fused, x->fcap * sizeof *x->fused);
    rec_free(x->send, x->scap);
    rec_free(x->recv, x->rcap);
    rec_free(x->cnt, x->ccap * sizeof *x->cnt);
    rec_free(x->rb, x->rbcap * sizeof *x->rb);
    rec_free(x->dense, x->dcap * sizeof *x->dense);
    rec_free(x->rows, x->xcap * sizeof *x->rows);
    rec_free(x->grad, x->gcap * sizeof *x->grad);
    rec_free(x->sums, x->sumcap * sizeof *x->sums);
    rec_free(x, sizeof *x);
}

/* *p holds *cap elements of size elem; at least need after (contents lost). */
static int reserve(void *pp, size_t *cap, size_t need, size_t elem)
{
    void **p = pp;
    if (need <= *cap)
        return 1;
    size_t nc = *cap * 2 > need ? *cap * 2 : need;
    void *q = rec_malloc(nc * elem);
    if (!q)
        return 0;
    rec_free(*p, *cap * elem);
    *p = q;
    *cap = nc;
    return 1;
}

/* rows x cols of a sparse table (its gradient rows have cols floats). */
static int64_t table_cols(const rec_tensor *t)
{
    return t->shape[0] ? t->n / t->shape[0] : 0;
}

static rec_status agree(rec_optim *o, rec_status st, double v, double *sum)
{
    st = rec_comm_sync(o->comm, st, v, sum);
    o->agreements++;
    o->agree_failed = st != REC_OK;
    return st;
}

/* Buffers sized from the counts; 0 when an allocation failed. */
static int plan(rec_optim *o, rec_exchange *x, size_t ns, size_t *fused_n, size_t *send_bytes,
                size_t *recv_total)
{
    rec_comm *c = o->comm;
    int P = c->size;
    size_t f = 0, out_rows = 0, sums = 0, k = 0;
    for (int r = 0; r < P; r++)
        x->rb[r] = 0;
    for (size_t i = 0; i < o->np; i++) {
        const rec_tensor *t = o->p[i].t;
        if (!(t->flags & REC_T_SPARSE)) {
            f += (size_t)t->n;
            continue;
        }
        int64_t cols = table_cols(t), rows = t->shape[0], tot = 0;
        for (int r = 0; r < P; r++)
            tot += x->cnt[(size_t)r * ns + k];
        x->dense[i] = 2 * tot > rows;
        if (x->dense[i]) {
            f += (size_t)(rows * (cols + 1));
            out_rows += (size_t)rows;
        } else {
            for (int r = 0; r < P; r++)
                x->rb[r] += (size_t)x->cnt[(size_t)r * ns + k] * (size_t)(4 + 4 * cols);
            out_rows += (size_t)tot;
            sums += (size_t)(tot * cols);
        }
        k++;
    }
    *fused_n = f;
    *send_bytes = x->rb[c->rank];
    *recv_total = 0;
    for (int r = 0; r < P; r++)
        *recv_total += x->rb[r];
    return reserve(&x->fused, &x->fcap, f ? f : 1, sizeof *x->fused) &&
           reserve(&x->send, &x->scap, *send_bytes ? *send_bytes : 1, 1) &&
           reserve(&x->recv, &x->rcap, *recv_total ? *recv_total : 1, 1) &&
           reserve(&x->rows, &x->xcap, out_rows ? out_rows : 1, sizeof *x->rows) &&
           reserve(&x->grad, &x->gcap, out_rows ? out_rows : 1, sizeof *x->grad) &&
           reserve(&x->sums, &x->sumcap, sums ? sums : 1, sizeof *x->sums);
}

/* Local gradients, weighted, into the fused buffer and the send records. */
static void pack(rec_optim *o, rec_exchange *x, float w)
{
    size_t f = 0;
    char *s = x->send;
    for (size_t i = 0; i < o->np; i++) {
        const rec_optim_param *p = &o->p[i];
        const rec_tensor *t = p->t;
        if (!(t->flags & REC_T_SPARSE)) {
            for (int64_t e = 0; e < t->n; e++)
                x->fused[f + (size_t)e] = t->g[e] * w;
            f += (size_t)t->n;
            continue;
        }
        int64_t cols = table_cols(t);
        if (x->dense[i]) {
            float *blk = x->fused + f;
            memset(blk, 0, (size_t)(t->shape[0] * (cols + 1)) * sizeof *blk);
            for (int64_t k = 0; k < p->un; k++) {
                float *row = blk + (size_t)p->urows[k] * (size_t)(cols + 1);
                for (int64_t e = 0; e < cols; e++)
                    row[e] = p->ugrad[k][e] * w;
                row[cols] = 1.0f;
            }
            f += (size_t)(t->shape[0] * (cols + 1));
        } else {
            for (int64_t k = 0; k < p->un; k++) {
                memcpy(s, &p->urows[k], 4);
                float *g = (float *)(void *)(s + 4);
                for (int64_t e = 0; e < cols; e++)
                    g[e] = p->ugrad[k][e] * w;
                s += 4 + 4 * cols;
            }
        }
    }
}

static int32_t rec_row(const char *rec)
{
    int32_t r;
    memcpy(&r, rec, 4);
    return r;
}

/* The summed gradients back into the params' update views. */
static void unpack(rec_optim *o, rec_exchange *x, size_t ns)
{
    int P = o->comm->size;
    size_t f = 0, out = 0, sums = 0, k = 0;
    const char *head[1024];
    int64_t left[1024];
    size_t base = 0;
    for (int r = 0; r < P; r++) { /* each rank's records start at its block */
        head[r] = x->recv + base;
        base += x->rb[r];
    }
    for (size_t i = 0; i < o->np; i++) {
        rec_optim_param *p = &o->p[i];
        rec_tensor *t = p->t;
        if (!(t->flags & REC_T_SPARSE)) {
            memcpy(t->g, x->fused + f, (size_t)t->n * sizeof *t->g);
            f += (size_t)t->n;
            continue;
        }
        int64_t cols = table_cols(t);
        p->co.cols = cols;
        p->urows = x->rows + out;
        p->ugrad = x->grad + out;
        int64_t n = 0;
        if (x->dense[i]) {
            float *blk = x->fused + f;
            for (int64_t r = 0; r < t->shape[0]; r++) {
                float *row = blk + (size_t)r * (size_t)(cols + 1);
                if (row[cols] > 0.0f) {
                    x->rows[out + (size_t)n] = (int32_t)r;
                    x->grad[out + (size_t)n] = row;
                    n++;
                }
            }
            f += (size_t)(t->shape[0] * (cols + 1));
        } else {
            size_t rs = (size_t)(4 + 4 * cols);
            for (int r = 0; r < P; r++)
                left[r] = x->cnt[(size_t)r * ns + k];
            for (;;) { /* merge the ranks' ascending rows; sum in rank order */
                int32_t lo = INT32_MAX;
                for (int r = 0; r < P; r++)
                    if (left[r] && rec_row(head[r]) < lo)
                        lo = rec_row(head[r]);
                if (lo == INT32_MAX)
                    break;
                float *dst = x->sums + sums;
                int first = 1;
                for (int r = 0; r < P; r++) {
                    if (!left[r] || rec_row(head[r]) != lo)
                        continue;
                    const float *g = (const float *)(const void *)(head[r] + 4);
                    if (first)
                        memcpy(dst, g, (size_t)cols * sizeof *dst);
                    else
                        for (int64_t e = 0; e < cols; e++)
                            dst[e] += g[e];
                    first = 0;
                    head[r] += rs;
                    left[r]--;
                }
                x->rows[out + (size_t)n] = lo;
                x->grad[out + (size_t)n] = dst;
                sums += (size_t)cols;
                n++;
            }
        }
        p->un = n;
        out += (size_t)n;
        k++;
    }
}

rec_status rec_grad_exchange(rec_optim *o, rec_status local)
{
    static const char fn[] = "rec_optim_step";
    rec_comm *c = o->comm;
    int P = c->size;
    if (P > 1024) /* the merge's heads live on the stack */
        local = local ? local : rec_err(REC_E_RANGE, "%s: %d ranks, at most 1024", fn, P);
    size_t ns = 0;
    for (size_t i = 0; i < o->np; i++)
        ns += (o->p[i].t->flags & REC_T_SPARSE) != 0;
    rec_exchange *x = o->x;
    if (!local && !x && !(x = o->x = rec_calloc(1, sizeof *x)))
        local = rec_nomem(fn);
    if (!local && !(reserve(&x->cnt, &x->ccap, ((size_t)P + 1) * (ns ? ns : 1), sizeof *x->cnt) &&
                    reserve(&x->rb, &x->rbcap, (size_t)P, sizeof *x->rb) &&
                    reserve(&x->dense, &x->dcap, o->np ? o->np : 1, sizeof *x->dense)))
        local = rec_nomem(fn);
    double total = 0;
    REC_TRY(agree(o, local, o->local_n, &total));
    int64_t *mine = x->cnt + (size_t)P * ns;
    for (size_t i = 0, k = 0; i < o->np; i++)
        if (o->p[i].t->flags & REC_T_SPARSE)
            mine[k++] = o->p[i].un;
    if (ns)
        REC_TRY(rec_comm_allgather(c, mine, ns * sizeof *mine, x->cnt));
    size_t fused_n, send_bytes, recv_total;
    rec_status st = plan(o, x, ns, &fused_n, &send_bytes, &recv_total) ? REC_OK : rec_nomem(fn);
    if (!st) /* the allreduce's scratch too: nothing may fail between the collectives */
        st = rec_comm_reserve(c, fused_n, fn);
    REC_TRY(agree(o, st, 0, NULL));
    o->weight = total > 0 ? o->local_n / total : 0.0;
    pack(o, x, (float)o->weight);
    if (fused_n)
        REC_TRY(rec_comm_allreduce_f32(c, x->fused, fused_n));
    if (recv_total)
        REC_TRY(rec_comm_allgatherv(c, x->send, send_bytes, x->recv, x->rb));
    unpack(o, x, ns);
    return REC_OK;
}
