/* A rank's part of a dataset for data-parallel training: whole users, so the
 * negative sampler of the rank that trains a user sees all of its history,
 * and each row's place in the parent, so the trainer can cut the same global
 * batches on every rank. */
#include "data/data-impl.h"

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
