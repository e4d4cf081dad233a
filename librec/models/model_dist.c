/* rec_model_fit on several ranks: one agreement on what every rank is about
 * to fit (kind, params, id maps, rows), so a rank with bad input stops all
 * of them before the first exchange; the whole dataset gathered from shards
 * (rec_ds_unshard), so every rank's model keeps every user's seen items,
 * the data's fingerprint and whatever else a kind derives from the data, as
 * a fit of the whole data in one process would; and a last agreement, so a
 * failure of one rank after (or outside) the trainer's exchanges fails
 * every rank with its message. */
#include "model-impl.h"

#include <stdio.h>
#include <string.h>

/* What a rank is about to fit. */
typedef struct fit_rec {
    uint64_t model;      /* hash of the kind and every param's value */
    int64_t rows;        /* this rank's rows                          */
    int64_t global;      /* rows of the dataset it is a shard of      */
    int32_t users, items, shard, pad;
} fit_rec;

static uint64_t model_hash(const rec_model *m)
{
    const rec_model_vt *vt = m->vt;
    uint64_t h = rec_hash_bytes(vt->kind, strlen(vt->kind), 0x6469737472696231ULL);
    for (size_t k = 0; k < vt->nspec; k++) {
        const char *key = vt->spec[k].key;
        char v[64];
        const char *val = v;
        switch (vt->spec[k].type) {
        case REC_PARAM_INT:
            snprintf(v, sizeof v, "%lld", (long long)rec_model_int(m, key));
            break;
        case REC_PARAM_FLOAT:
            snprintf(v, sizeof v, "%.17g", rec_model_flt(m, key));
            break;
        case REC_PARAM_BOOL:
            snprintf(v, sizeof v, "%d", rec_model_bool(m, key));
            break;
        default:
            val = rec_model_str(m, key);
            break;
        }
        h = rec_hash_bytes(key, strlen(key) + 1, h);
        h = rec_hash_bytes(val, strlen(val) + 1, h);
    }
    return h;
}

/* The same verdict on every rank (each holds every record). */
static rec_status verdict(const rec_model *m, const fit_rec *a, int P, int *sharded)
{
    static const char fn[] = "rec_model_fit";
    int64_t rows = 0;
    for (int r = 1; r < P; r++) {
        if (a[r].model != a[0].model)
            return rec_err(REC_E_INVALID, "%s: rank %d's model is not rank 0's (another kind or "
                           "other params): every rank fits the same kind with the same params",
                           fn, r);
        if (a[r].users != a[0].users || a[r].items != a[0].items)
            return rec_err(REC_E_INVALID, "%s: rank %d's dataset has %d users and %d items, "
                           "rank 0's %d and %d: every rank needs the same ids (a shard keeps "
                           "its dataset's)", fn, r, a[r].users, a[r].items, a[0].users,
                           a[0].items);
        if (a[r].shard != a[0].shard)
            return rec_err(REC_E_INVALID, "%s: rank %d holds %s and rank 0 %s: give every rank "
                           "its shard (rec_dataset_shard(d, rank, size)) or every rank the "
                           "whole dataset", fn, r, a[r].shard ? "a shard" : "a whole dataset",
                           a[0].shard ? "a shard" : "a whole dataset");
        if (a[r].global != a[0].global)
            return rec_err(REC_E_INVALID, "%s: rank %d's %s has %lld rows, rank 0's %lld", fn,
                           r, a[0].shard ? "shard is of a dataset that" : "dataset",
                           (long long)a[r].global, (long long)a[0].global);
    }
    for (int r = 0; r < P; r++)
        rows += a[r].rows;
    *sharded = a[0].shard;
    if (*sharded && rows != a[0].global)
        return rec_err(REC_E_INVALID, "%s: the shards hold %lld of %lld rows; give rank r "
                       "rec_dataset_shard(d, r, size)", fn, (long long)rows,
                       (long long)a[0].global);
    if (a[0].global == 0 && !(m->vt->fits_catalogue && a[0].items > 0))
        return rec_err(REC_E_INVALID, "%s: the dataset has no interactions%s", fn,
                       m->vt->fits_catalogue ? " and no items" : "");
    return REC_OK;
}

rec_status rec_model_fit_ranks(rec_model *m, const rec_dataset *train, rec_progress_fn cb,
                               void *user)
{
    rec_comm *c = m->comm;
    int P = c->size;
    fit_rec mine = { .model = model_hash(m) }, *all = rec_malloc((size_t)P * sizeof *all);
    rec_status st = train ? REC_OK : rec_err(REC_E_INVALID, "rec_model_fit: dataset is NULL");
    if (!st && !all)
        st = rec_nomem("rec_model_fit");
    if (train) {
        const int64_t *g = rec_ds_global_rows(train, &mine.global);
        mine.rows = rec_ds_num_rows(train);
        mine.users = rec_ds_num_users(train);
        mine.items = rec_ds_num_items(train);
        mine.shard = g != NULL;
    }
    /* the first agreement: this rank's own failures, then what each fits */
    st = rec_comm_sync(c, st, 0, NULL);
    if (!st)
        st = rec_comm_allgather(c, &mine, sizeof mine, all);
    int sharded = 0;
    if (!st)
        st = verdict(m, all, P, &sharded);
    rec_free(all, (size_t)P * sizeof *all);
    if (st)
        return st;
    rec_dataset *whole = NULL;
    if (sharded)
        REC_TRY(rec_ds_unshard(c, train, &whole));
    /* a kind whose examples are rows trains on its shard (the trainer cuts
     * the global batches); a validated fit splits each user's rows, which
     * needs the whole; the other kinds fit the whole on every rank */
    double vr = rec_model_has_key(m, "valid_ratio") ? rec_model_flt(m, "valid_ratio") : 0;
    const rec_dataset *w = whole ? whole : train;
    const rec_dataset *rows = whole && m->vt->row_shards && vr <= 0 ? train : w;
    uint64_t agreed = c->agreed_failures;
    st = rec_model_fit_on(m, w, rows, cb, user);
    /* the last agreement, unless a failure was agreed on already (then
     * every rank returns it): a rank that failed alone tells the others */
    if (c->agreed_failures == agreed) {
        rec_status all_st = rec_comm_sync(c, st, 0, NULL);
        if (all_st && all_st != REC_E_CANCELLED && m->fitted) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", rec_last_error());
            rec_model_drop_fit(m);
            rec_err(all_st, "%s", msg);
        }
        st = all_st;
    }
    rec_dataset_destroy(whole);
    return st;
}
