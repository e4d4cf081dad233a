/* rec_comm: the collectives distributed training needs, over any transport
 * (a table of byte-moving functions).  The reduction is ours, not the
 * transport's, so it is the same sum in the same order on every backend:
 * a reduce-scatter (alltoallv of blocks, each rank sums its block in rank
 * order) then an allgatherv of the blocks, 2 (size - 1) / size of the buffer
 * sent per rank, as a ring allreduce, and the same bits on every rank. */
#include "core/comm-impl.h"

#include <stdio.h>
#include <string.h>

/* The agreement record: a status and a value per rank. */
typedef struct sync_rec {
    int64_t st;
    double v;
} sync_rec;

static rec_status comm_new(rec_comm **out, const rec_comm_ops *ops, void *ctx, int rank,
                           int size, const char *fn)
{
    rec_comm *c = rec_calloc(1, sizeof *c);
    size_t *counts = rec_calloc(2 * (size_t)size, sizeof *counts);
    /* allocated here: an agreement must never fail alone on one rank */
    sync_rec *recs = rec_calloc((size_t)size, sizeof *recs);
    if (!c || !counts || !recs) {
        rec_free(c, sizeof *c);
        rec_free(counts, 2 * (size_t)size * sizeof *counts);
        rec_free(recs, (size_t)size * sizeof *recs);
        return rec_nomem(fn);
    }
    c->recs = recs;
    c->ops = *ops;
    c->ctx = ctx;
    c->rank = rank;
    c->size = size;
    c->counts = counts;
    *out = c;
    return REC_OK;
}

REC_API rec_status rec_comm_create_ops(rec_comm **out, const rec_comm_ops *ops, void *ctx,
                                       int rank, int size)
{
    static const char fn[] = "rec_comm_create_ops";
    REC_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    REC_CHECK_ARG(ops, fn, "ops is NULL");
    REC_CHECK_ARG(ops->allgatherv && ops->alltoallv && ops->bcast && ops->barrier, fn,
                  "ops lacks allgatherv, alltoallv, bcast or barrier");
    if (size < 1 || rank < 0 || rank >= size)
        return rec_err(REC_E_RANGE, "%s: rank %d of size %d, want 0 <= rank < size", fn, rank,
                       size);
    return comm_new(out, ops, ctx, rank, size, fn);
}

/* One rank: nothing to exchange; the collectives below never reach these. */
static int one_agv(void *ctx, const void *s, size_t b, void *r, const size_t *rb)
{
    return 0;
}
static int one_a2a(void *ctx, const void *s, const size_t *sb, void *r, const size_t *rb)
{
    return 0;
}
static int one_bcast(void *ctx, void *buf, size_t b, int root) { return 0; }
static int one_barrier(void *ctx) { return 0; }

REC_API rec_status rec_comm_create_single(rec_comm **out)
{
    static const rec_comm_ops one = { one_agv, one_a2a, one_bcast, one_barrier, NULL };
    REC_CHECK_ARG(out, "rec_comm_create_single", "out is NULL");
    return comm_new(out, &one, NULL, 0, 1, "rec_comm_create_single");
}

REC_API void rec_comm_destroy(rec_comm *c)
{
    if (!c)
        return;
    if (c->ops.destroy)
        c->ops.destroy(c->ctx);
    rec_free(c->counts, 2 * (size_t)c->size * sizeof *c->counts);
    rec_free(c->recs, (size_t)c->size * sizeof(sync_rec));
    rec_free(c->tmp, c->tcap * sizeof *c->tmp);
    rec_free(c, sizeof *c);
}

REC_API int rec_comm_rank(const rec_comm *c) { return c ? c->rank : -1; }
REC_API int rec_comm_size(const rec_comm *c) { return c ? c->size : 0; }

REC_API rec_status rec_comm_bytes(const rec_comm *c, uint64_t *sent, uint64_t *received)
{
    REC_CHECK_ARG(c, "rec_comm_bytes", "communicator is NULL");
    if (sent)
        *sent = c->sent;
    if (received)
        *received = c->received;
    return REC_OK;
}

static rec_status failed(const char *fn)
{
    return rec_err(REC_E_IO, "%s: the transport failed", fn);
}

REC_API rec_status rec_comm_allgatherv(rec_comm *c, const void *send, size_t bytes, void *recv,
                                       const size_t *recv_bytes)
{
    static const char fn[] = "rec_comm_allgatherv";
    REC_CHECK_ARG(c, fn, "communicator is NULL");
    REC_CHECK_ARG(recv_bytes, fn, "recv_bytes is NULL");
    REC_CHECK_ARG((send || !bytes) && recv, fn, "send or recv is NULL");
    if (recv_bytes[c->rank] != bytes)
        return rec_err(REC_E_INVALID, "%s: rank %d sends %zu bytes but recv_bytes[%d] = %zu", fn,
                       c->rank, bytes, c->rank, recv_bytes[c->rank]);
    size_t total = 0;
    for (int r = 0; r < c->size; r++)
        total += recv_bytes[r];
    if (c->size == 1) {
        if ((const char *)recv != (const char *)send && bytes)
            memmove(recv, send, bytes);
        return REC_OK;
    }
    if (c->ops.allgatherv(c->ctx, send, bytes, recv, recv_bytes))
        return failed(fn);
    c->sent += (uint64_t)bytes * (uint64_t)(c->size - 1);
    c->received += total - bytes;
    return REC_OK;
}

REC_API rec_status rec_comm_allgather(rec_comm *c, const void *send, size_t bytes, void *recv)
{
    REC_CHECK_ARG(c, "rec_comm_allgather", "communicator is NULL");
    for (int r = 0; r < c->size; r++)
        c->counts[r] = bytes;
    return rec_comm_allgatherv(c, send, bytes, recv, c->counts);
}

REC_API rec_status rec_comm_alltoallv(rec_comm *c, const void *send, const size_t *send_bytes,
                                      void *recv, const size_t *recv_bytes)
{
    static const char fn[] = "rec_comm_alltoallv";
    REC_CHECK_ARG(c, fn, "communicator is NULL");
    REC_CHECK_ARG(send_bytes && recv_bytes, fn, "send_bytes or recv_bytes is NULL");
    REC_CHECK_ARG(send && recv, fn, "send or recv is NULL");
    if (send_bytes[c->rank] != recv_bytes[c->rank])
        return rec_err(REC_E_INVALID, "%s: rank %d sends itself %zu bytes but expects %zu", fn,
                       c->rank, send_bytes[c->rank], recv_bytes[c->rank]);
    if (c->size == 1) {
        if (send_bytes[0])
            memmove(recv, send, send_bytes[0]);
        return REC_OK;
    }
    if (c->ops.alltoallv(c->ctx, send, send_bytes, recv, recv_bytes))
        return failed(fn);
    for (int r = 0; r < c->size; r++)
        if (r != c->rank) {
            c->sent += send_bytes[r];
            c->received += recv_bytes[r];
        }
    return REC_OK;
}

REC_API rec_status rec_comm_bcast(rec_comm *c, void *buf, size_t bytes, int root)
{
    static const char fn[] = "rec_comm_bcast";
    REC_CHECK_ARG(c, fn, "communicator is NULL");
    REC_CHECK_ARG(buf || !bytes, fn, "buf is NULL");
    if (root < 0 || root >= c->size)
        return rec_err(REC_E_RANGE, "%s: root %d outside [0, %d)", fn, root, c->size);
    if (c->size == 1 || !bytes)
        return REC_OK;
    if (c->ops.bcast(c->ctx, buf, bytes, root))
        return failed(fn);
    if (c->rank == root)
        c->sent += (uint64_t)bytes * (uint64_t)(c->size - 1);
    else
        c->received += bytes;
    return REC_OK;
}

REC_API rec_status rec_comm_barrier(rec_comm *c)
{
    REC_CHECK_ARG(c, "rec_comm_barrier", "communicator is NULL");
    if (c->size > 1 && c->ops.barrier(c->ctx))
        return failed("rec_comm_barrier");
    return REC_OK;
}

/* Block r of n floats split in size parts: [lo, hi). */
static void block(size_t n, int size, int r, size_t *lo, size_t *hi)
{
    *lo = n * (size_t)r / (size_t)size;
    *hi = n * (size_t)(r + 1) / (size_t)size;
}

rec_status rec_comm_reserve(rec_comm *c, size_t n, const char *fn)
{
    size_t lo, hi;
    block(n, c->size, c->rank, &lo, &hi);
    size_t need = (hi - lo) * (size_t)c->size;
    if (c->size == 1 || need <= c->tcap)
        return REC_OK;
    float *t = rec_malloc(need * sizeof *t);
    if (!t)
        return rec_nomem(fn);
    rec_free(c->tmp, c->tcap * sizeof *c->tmp);
    c->tmp = t;
    c->tcap = need;
    return REC_OK;
}

REC_API rec_status rec_comm_allreduce_f32(rec_comm *c, float *buf, size_t n)
{
    static const char fn[] = "rec_comm_allreduce_f32";
    REC_CHECK_ARG(c, fn, "communicator is NULL");
    REC_CHECK_ARG(buf || !n, fn, "buf is NULL");
    if (c->size == 1 || !n)
        return REC_OK;
    int p = c->size;
    size_t lo, hi;
    block(n, p, c->rank, &lo, &hi);
    size_t mine = hi - lo;
    REC_TRY(rec_comm_reserve(c, n, fn));
    size_t *sb = c->counts, *rb = c->counts + p;
    for (int r = 0; r < p; r++) {
        size_t a, b;
        block(n, p, r, &a, &b);
        sb[r] = (b - a) * sizeof(float);
        rb[r] = mine * sizeof(float);
    }
    /* tmp[r][0..mine): rank r's copy of this rank's block */
    REC_TRY(rec_comm_alltoallv(c, buf, sb, c->tmp, rb));
    float *out = buf + lo;
    memcpy(out, c->tmp, mine * sizeof *out);
    for (int r = 1; r < p; r++) {
        const float *x = c->tmp + (size_t)r * mine;
        for (size_t j = 0; j < mine; j++)
            out[j] += x[j];
    }
    for (int r = 0; r < p; r++)
        rb[r] = sb[r];
    return rec_comm_allgatherv(c, out, mine * sizeof *out, buf, rb);
}

rec_status rec_comm_sync(rec_comm *c, rec_status st, double v, double *sum)
{
    if (c->size == 1) {
        if (sum)
            *sum = v;
        return st;
    }
    /* the message of this rank's failure, kept before a collective overwrites it */
    char msg[REC_COMM_MSG];
    snprintf(msg, sizeof msg, "%s", st ? rec_last_error() : "");
    sync_rec mine = { st, v }, *recs = c->recs;
    rec_status rc = rec_comm_allgather(c, &mine, sizeof mine, recs);
    if (rc) {
        c->agreed_failures++;
        return rc;
    }
    int bad = -1, cancel = -1;
    double s = 0.0;
    for (int r = 0; r < c->size; r++) {
        if (recs[r].st == REC_E_CANCELLED && cancel < 0)
            cancel = r;
        else if (recs[r].st && recs[r].st != REC_E_CANCELLED && bad < 0)
            bad = r;
        s += recs[r].v;
    }
    if (bad < 0)
        bad = cancel;
    if (bad < 0) {
        if (sum)
            *sum = s;
        return REC_OK;
    }
    rec_status out = (rec_status)recs[bad].st;
    c->agreed_failures++;
    REC_TRY(rec_comm_bcast(c, msg, sizeof msg, bad));
    msg[sizeof msg - 1] = 0;
    return rec_err(out, "%s (rank %d)", msg, bad);
}
