/* A rank's part of a dataset for data-parallel training: whole users, so the
 * negative sampler of the rank that trains a user sees all of its history,
 * and each row's place in the parent, so the trainer can cut the same global
 * batches on every rank. */
#include "data/data-impl.h"
#include "core/comm-impl.h"

REC_API rec_status rec_dataset_shard(const rec_dataset *d, int rank, int size,
                                     rec_dataset **out)
{
    static const char fn[] = "rec_dataset_shard";
    REC_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    REC_CHECK_ARG(d, fn, "dataset is NULL");
    if (size < 1 || rank < 0 || rank >= size)
        return rec_err(REC_E_RANGE, "%s: rank %d of size %d, want 0 <= rank < size", fn, rank,
                       size);
    int64_t n = 0;
    for (int64_t k = 0; k < d->n; k++)
        n += d->u[k] % size == rank;
    rec_dataset *s;
    if (rec_ds_new_like(d, &s))
        return rec_nomem(fn);
    s->grow = rec_malloc((size_t)(n ? n : 1) * sizeof *s->grow);
    s->gcount = n;
    s->gn = d->n;
    if (!s->grow) {
        s->gcount = 0;
        rec_dataset_destroy(s);
        return rec_nomem(fn);
    }
    for (int64_t k = 0; k < d->n; k++) {
        if (d->u[k] % size != rank)
            continue;
        if (rec_ds_push(s, d->u[k], d->i[k], d->r ? d->r[k] : 0.0f, d->t ? d->t[k] : 0)) {
            rec_dataset_destroy(s);
            return rec_nomem(fn);
        }
        s->grow[s->n - 1] = k;
        rec_ds_ctx_copy(s, s->n - 1, d, k);
    }
    *out = s;
    return REC_OK;
}

const int64_t *rec_ds_global_rows(const rec_dataset *d, int64_t *n_global)
{
    int pure = d->grow && d->gcount == d->n;
    *n_global = pure ? d->gn : d->n;
    return pure ? d->grow : NULL;
}

/* One row on the wire. */
typedef struct wire_row {
    int64_t g, t;
    int32_t u, i;
    float r;
    int32_t pad;
} wire_row;

/* Every allocation precedes an agreement, so no rank fails alone between
 * two collectives; the checks after the gather see the same rows on every
 * rank, so they reach the same verdict without another exchange. */
/* The per-interaction context codes of every shard's rows into w (declared
 * alike, rows already in global order): a second gather, nctx codes a row in
 * the rank order of the rows', so the code of all[k] is at k * nctx. */
static rec_status gather_contexts(rec_comm *c, const rec_dataset *s, rec_dataset *w,
                                  const int64_t *cnt, const int64_t *pos, int64_t ng)
{
    static const char fn[] = "rec_model_fit";
    int P = c->size, nc = s->nctx;
    int64_t n = s->n;
    size_t sb = (size_t)(n ? n : 1) * (size_t)nc * sizeof(int32_t);
    size_t ab = (size_t)(ng ? ng : 1) * (size_t)nc * sizeof(int32_t);
    int32_t *send = rec_malloc(sb), *all = rec_malloc(ab);
    size_t *rb = rec_malloc((size_t)P * sizeof *rb);
    rec_status st = send && all && rb ? REC_OK : rec_nomem(fn);
    st = rec_comm_sync(c, st, 0, NULL);
    if (!st) {
        for (int64_t k = 0; k < n; k++)
            for (int j = 0; j < nc; j++)
                send[k * nc + j] = s->ctx[j].code[k];
        for (int r = 0; r < P; r++)
            rb[r] = (size_t)cnt[r] * (size_t)nc * sizeof(int32_t);
        st = rec_comm_allgatherv(c, send, (size_t)n * (size_t)nc * sizeof(int32_t), all, rb);
    }
    for (int64_t k = 0; !st && k < ng; k++)
        for (int j = 0; j < nc && j < w->nctx; j++)
            w->ctx[j].code[k] = all[pos[k] * nc + j];
    rec_free(send, sb);
    rec_free(all, ab);
    rec_free(rb, (size_t)P * sizeof *rb);
    return st;
}

rec_status rec_ds_unshard(rec_comm *c, const rec_dataset *s, rec_dataset **whole)
{
    static const char fn[] = "rec_model_fit";
    int P = c->size;
    int64_t ng, n = s->n;
    const int64_t *g = rec_ds_global_rows(s, &ng);
    *whole = NULL;
    rec_status st = g ? REC_OK : rec_err(REC_E_INVALID, "%s: the dataset is not a shard", fn);
    size_t cbytes = (size_t)P * sizeof(int64_t), sbytes = (size_t)(n ? n : 1) * sizeof(wire_row);
    int64_t *cnt = st ? NULL : rec_malloc(cbytes);
    size_t *rb = st ? NULL : rec_malloc((size_t)P * sizeof *rb);
    wire_row *send = st ? NULL : rec_malloc(sbytes);
    if (!st && (!cnt || !rb || !send))
        st = rec_nomem(fn);
    double total = 0;
    st = rec_comm_sync(c, st, (double)n, &total);
    size_t tbytes = (size_t)(total > 0 ? total : 1) * sizeof(wire_row);
    size_t pbytes = (size_t)(ng > 0 ? ng : 1) * sizeof(int64_t);
    wire_row *all = NULL;
    int64_t *pos = NULL;
    if (!st) {
        all = rec_malloc(tbytes);
        pos = rec_malloc(pbytes);
        st = all && pos ? REC_OK : rec_nomem(fn);
        st = rec_comm_sync(c, st, 0, NULL);
    }
    if (!st)
        st = rec_comm_allgather(c, &n, sizeof n, cnt);
    if (!st) {
        for (int64_t k = 0; k < n; k++)
            send[k] = (wire_row){ .g = g[k], .t = s->t ? s->t[k] : 0, .u = s->u[k],
                                  .i = s->i[k], .r = s->r ? s->r[k] : 0.0f };
        for (int r = 0; r < P; r++)
            rb[r] = (size_t)cnt[r] * sizeof(wire_row);
        st = rec_comm_allgatherv(c, send, (size_t)n * sizeof(wire_row), all, rb);
    }
    /* from here the same rows on every rank: the same verdict everywhere */
    if (!st && (int64_t)total != ng)
        st = rec_err(REC_E_INVALID, "%s: the shards hold %.0f of %lld rows; give rank r "
                     "rec_dataset_shard(d, r, size)", fn, total, (long long)ng);
    for (int64_t k = 0; !st && k < ng; k++)
        pos[k] = -1;
    for (int64_t k = 0; !st && k < ng; k++) {
        int64_t at = all[k].g;
        if (at < 0 || at >= ng || pos[at] >= 0)
            st = rec_err(REC_E_INVALID, "%s: row %lld of the dataset is in two shards; give "
                         "rank r rec_dataset_shard(d, r, size)", fn, (long long)at);
        else
            pos[at] = k;
    }
    rec_dataset *w = NULL;
    rec_status ls = REC_OK;
    if (!st) {
        ls = rec_ds_new_like(s, &w) ? rec_nomem(fn) : REC_OK;
        for (int64_t k = 0; !ls && k < ng; k++) {
            const wire_row *x = &all[pos[k]];
            if (rec_ds_push(w, x->u, x->i, x->r, x->t))
                ls = rec_nomem(fn);
        }
        st = rec_comm_sync(c, ls, 0, NULL);
    }
    if (!st && s->nctx > 0)
        st = gather_contexts(c, s, w, cnt, pos, ng);
    rec_free(cnt, cbytes);
    rec_free(rb, (size_t)P * sizeof *rb);
    rec_free(send, sbytes);
    rec_free(all, tbytes);
    rec_free(pos, pbytes);
    if (st) {
        rec_dataset_destroy(w);
        return st;
    }
    *whole = w;
    return REC_OK;
}
