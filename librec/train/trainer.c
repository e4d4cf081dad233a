/* The trainer loop: shuffled batches, validation with early stopping and a
 * kept best copy of the params, progress and cancel, checkpoint and resume. */
#include "train-impl.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

static const rec_param_spec spec[] = {
    { "epochs", REC_PARAM_INT, "10", 1, 1e9, NULL, "passes over the training data" },
    { "batch", REC_PARAM_INT, "1024", 1, 1 << 30, NULL,
      "examples per step (trainer-made batches)" },
    { "seed", REC_PARAM_INT, "42", 0, 9.2e18, NULL, "seed of the run's random stream" },
    { "patience", REC_PARAM_INT, "0", 0, 1e9, NULL,
      "stop after this many validations without improvement (0 = never)" },
    { "metric", REC_PARAM_STR, "metric", 0, 0, NULL, "name of the validation metric" },
    { "metric_mode", REC_PARAM_STR, "max", 0, 0, "max|min", "whether higher or lower is better" },
    { "validate_every", REC_PARAM_INT, "1", 0, 1e9, NULL, "epochs between validations (0 = never)" },
    { "restore_best", REC_PARAM_BOOL, "true", 0, 1, NULL,
      "end with the params of the best validation" },
    { "checkpoint", REC_PARAM_STR, "", 0, 0, NULL, "checkpoint file (empty = none)" },
    { "checkpoint_every", REC_PARAM_INT, "1", 1, 1e9, NULL,
      "epochs between checkpoints (the last epoch is always saved)" },
    { "resume", REC_PARAM_BOOL, "false", 0, 1, NULL,
      "continue from the checkpoint file when it exists" },
};
#define NSPEC (sizeof spec / sizeof *spec)

static const char FN[] = "rec_trainer_run";

const rec_param_spec *rec_trainer_spec(size_t *n)
{
    if (n)
        *n = NSPEC;
    return spec;
}

typedef struct run {
    const rec_trainer_vt *vt;
    void *ctx;
    rec_pstore *ps;
    rec_optim *opt;
    rec_train_state st;
    int64_t epochs, batch, patience, every_val, every_ckpt;
    int maximize, restore_best;
    const char *metric, *ckpt;
    int32_t *perm;      /* [n_examples], distributed: [n_global] */
    int64_t *order;     /* [ocap] model-made batch order */
    int64_t ocap;
    /* distributed */
    rec_comm *comm;     /* NULL: this process alone */
    int agreed;         /* this rank's failure is known to every rank */
    int64_t nperm;      /* examples permuted: n_examples or n_global */
    int32_t *local;     /* [n_global] local row of a global row, or -1 */
    int32_t *rows;      /* [batch] this rank's part of a batch */
    int64_t *ids;       /* [batch] their global ids */
} run;

/* A failure of this rank: in a distributed run, the other ranks learn it at
 * their next agreement (once). */
static rec_status fail(run *r, rec_status st)
{
    if (st && r->comm && !r->agreed) {
        r->agreed = 1;
        st = rec_comm_sync(r->comm, st, 0, NULL);
    }
    return st;
}

/* This rank's part of global batch perm[lo, hi) into b (rows, ids, n). */
static void my_part(run *r, int64_t lo, int64_t hi, rec_batch *b)
{
    if (!r->comm) {
        b->rows = r->perm + lo;
        b->n = hi - lo;
        return;
    }
    int64_t n = 0;
    if (r->local) {
        for (int64_t k = lo; k < hi; k++) {
            int32_t l = r->local[r->perm[k]];
            if (l >= 0) {
                r->rows[n] = l;
                r->ids[n++] = r->perm[k];
            }
        }
    } else {
        int64_t len = hi - lo, P = r->comm->size, me = r->comm->rank;
        for (int64_t k = lo + len * me / P; k < lo + len * (me + 1) / P; k++) {
            r->rows[n] = r->perm[k];
            r->ids[n++] = r->perm[k];
        }
    }
    b->rows = r->rows;
    b->ids = r->ids;
    b->n = n;
}

/* One step; in a distributed run an idle rank (no example of this batch)
 * still joins the exchange, and a step that failed before its exchange
 * joins the agreement with its failure. */
static rec_status one_step(run *r, rec_batch *b, double *l)
{
    rec_rng srng;
    rec_rng_stream(&srng, b->seed, 0);
    if (!r->comm)
        return r->vt->step(r->ctx, b, &srng, l);
    int failed_together = 0;
    int64_t before = rec_optim_agreements(r->opt, NULL);
    rec_optim_set_share(r->opt, (double)b->n);
    rec_status st;
    if (b->n == 0 && !r->vt->make_batches) {
        *l = 0;
        st = rec_optim_step_idle(r->opt);
    } else {
        st = r->vt->step(r->ctx, b, &srng, l);
    }
    if (rec_optim_agreements(r->opt, &failed_together) != before && failed_together)
        r->agreed = 1;
    return st;
}

static void copy_params(rec_pstore *ps, float *buf, int to_store)
{
    size_t np = rec_pstore_count(ps);
    for (size_t i = 0; i < np; i++) {
        rec_tensor *t = rec_pstore_at(ps, i);
        size_t n = (size_t)t->n * sizeof(float);
        if (to_store)
            memcpy(t->v, buf, n);
        else
            memcpy(buf, t->v, n);
        buf += t->n;
    }
}

static rec_status one_epoch(run *r, int ep, double *mean)
{
    const rec_trainer_vt *vt = r->vt;
    int64_t nb;
    if (vt->begin_epoch)
        REC_TRY(vt->begin_epoch(r->ctx, ep));
    if (vt->make_batches) {
        nb = 0;
        REC_TRY(vt->make_batches(r->ctx, ep, &r->st.rng, &nb));
        if (nb < 0)
            return rec_err(REC_E_RANGE, "%s: make_batches returned %lld batches", FN,
                           (long long)nb);
        if (nb > r->ocap) {
            int64_t *o = rec_realloc(r->order, (size_t)r->ocap * sizeof *o,
                                     (size_t)nb * sizeof *o);
            if (!o)
                return rec_nomem(FN);
            r->order = o;
            r->ocap = nb;
        }
        for (int64_t k = 0; k < nb; k++)
            r->order[k] = k;
        for (int64_t k = nb; k > 1; k--) { /* Fisher-Yates with 64-bit indices */
            int64_t j = (int64_t)(rec_rng_u64(&r->st.rng) % (uint64_t)k), t = r->order[k - 1];
            r->order[k - 1] = r->order[j];
            r->order[j] = t;
        }
    } else { /* from the identity each epoch: an epoch's order depends on the RNG
              * alone, so a resumed run needs nothing else */
        for (int64_t k = 0; k < r->nperm; k++)
            r->perm[k] = (int32_t)k;
        rec_rng_shuffle_i32(&r->st.rng, r->perm, (size_t)r->nperm);
        nb = (r->nperm + r->batch - 1) / r->batch;
    }
    double sum = 0;
    for (int64_t k = 0; k < nb; k++) {
        rec_batch b = { k, NULL, 0, 0, NULL };
        int64_t lo = k * r->batch, hi = lo + r->batch;
        if (hi > r->nperm)
            hi = r->nperm;
        if (vt->make_batches)
            b.index = r->order[k];
        else
            my_part(r, lo, hi, &b);
        b.seed = rec_rng_u64(&r->st.rng);
        double l = 0;
        REC_TRY(fail(r, one_step(r, &b, &l)));
        if (!isfinite(l))
            return fail(r, rec_err(REC_E_RANGE, "%s: the loss is %g at epoch %d, batch %lld", FN,
                                   l, ep, (long long)b.index));
        /* a distributed batch's loss: the ranks' means weighted by their share */
        sum += r->comm ? l * rec_optim_share_weight(r->opt) : l;
    }
    if (r->comm) {
        rec_status st = rec_comm_sync(r->comm, REC_OK, sum, &sum);
        r->agreed = st != REC_OK;
        REC_TRY(st);
    }
    *mean = nb ? sum / (double)nb : NAN;
    return REC_OK;
}

static rec_status validate(run *r, int ep)
{
    double m = NAN;
    rec_status vs = r->vt->validate(r->ctx, ep, &m);
    if (r->comm) { /* rank 0's metric decides for all: the same stops everywhere */
        vs = rec_comm_sync(r->comm, vs, r->comm->rank == 0 ? m : 0.0, &m);
        r->agreed = vs != REC_OK;
    }
    REC_TRY(vs);
    int better = isfinite(m) && (!isfinite(r->st.best) ||
                                 (r->maximize ? m > r->st.best : m < r->st.best));
    if (!better) {
        r->st.bad++;
        return REC_OK;
    }
    r->st.best = m;
    r->st.best_epoch = ep;
    r->st.bad = 0;
    if (r->restore_best) {
        copy_params(r->ps, r->st.best_params, 0);
        r->st.nbest = rec_pstore_numel(r->ps);
        if (r->vt->snapshot)
            REC_TRY(r->vt->snapshot(r->ctx));
    }
    return REC_OK;
}

static rec_status loop(run *r, rec_progress_fn progress, void *user, rec_train_result *res)
{
    int stop = r->patience && r->st.bad >= r->patience; /* a resumed run that had stopped */
    for (int ep = (int)r->st.epoch + 1; !stop && ep <= r->epochs; ep++) {
        double mean = NAN;
        REC_TRY(fail(r, one_epoch(r, ep, &mean)));
        res->last_loss = mean;
        if (r->vt->validate && r->every_val && ep % r->every_val == 0)
            REC_TRY(fail(r, validate(r, ep)));
        r->st.epoch = ep;
        res->epochs_run = ep;
        stop = r->patience && r->st.bad >= r->patience;
        /* every rank holds the same params: rank 0 writes them */
        if (*r->ckpt && (ep % r->every_ckpt == 0 || ep == r->epochs || stop) &&
            (!r->comm || r->comm->rank == 0))
            REC_TRY(fail(r, rec_checkpoint_save(r->ckpt, r->ps, r->opt, &r->st, r->metric)));
        if (progress && progress(user, ep, (int)r->epochs, mean))
            return fail(r, rec_err(REC_E_CANCELLED, "%s: cancelled at epoch %d", FN, ep));
    }
    res->stopped_early = stop;
    return REC_OK;
}

rec_status rec_trainer_run(const rec_params *p, const rec_trainer_vt *vt, void *ctx,
                           rec_pstore *ps, rec_optim *opt, rec_progress_fn progress, void *user,
                           rec_train_result *res)
{
    REC_CHECK_ARG(vt, FN, "callbacks (vt) is NULL");
    REC_CHECK_ARG(vt->step, FN, "vt->step is NULL");
    REC_CHECK_ARG(ps, FN, "parameter store is NULL");
    REC_CHECK_ARG(opt, FN, "optimizer is NULL");
    REC_TRY(rec_params_check(p, spec, NSPEC, FN));
    rec_comm *comm = vt->comm && vt->comm->size > 1 ? vt->comm : NULL;
    if (!vt->make_batches && !comm && (vt->n_examples < 1 || vt->n_examples > INT32_MAX))
        return rec_err(REC_E_INVALID, "%s: vt->n_examples = %lld, want 1 .. 2^31-1 (or a "
                       "make_batches callback)", FN, (long long)vt->n_examples);
    if (comm) {
        rec_status cs = REC_OK;
        if (vt->make_batches)
            cs = rec_err(REC_E_UNSUPPORTED, "%s: distributed training needs trainer-made "
                         "batches (this model cuts its own)", FN);
        else if (vt->n_global == -1)
            cs = rec_err(REC_E_UNSUPPORTED, "%s: this model's examples are not the dataset's "
                         "rows, so it cannot train on shards: give every rank the whole "
                         "dataset (each still computes its part of every batch)", FN);
        else if (vt->n_global < 1 || vt->n_global > INT32_MAX || vt->n_examples < 0 ||
                 vt->n_examples > vt->n_global || (!vt->gids && vt->n_examples != vt->n_global))
            cs = rec_err(REC_E_INVALID, "%s: rank %d holds %lld of %lld examples", FN,
                         comm->rank, (long long)vt->n_examples, (long long)vt->n_global);
        double held = 0, global = 0;
        REC_TRY(rec_comm_sync(comm, cs, (double)vt->n_examples, &held));
        /* every rank must cut the same batches of the same rows */
        REC_TRY(rec_comm_sync(comm, REC_OK, (double)vt->n_global, &global));
        rec_status agree_st = REC_OK;
        if (global != (double)vt->n_global * comm->size)
            agree_st = rec_err(REC_E_INVALID, "%s: the ranks disagree on the number of "
                               "examples (rank %d has %lld)", FN, comm->rank,
                               (long long)vt->n_global);
        else if (vt->gids && held != (double)vt->n_global)
            agree_st = rec_err(REC_E_INVALID, "%s: the shards hold %.0f of %lld examples; "
                               "give rank r rec_dataset_shard(d, r, size)", FN, held,
                               (long long)vt->n_global);
        REC_TRY(rec_comm_sync(comm, agree_st, 0, NULL));
    }
    rec_train_result dummy;
    if (!res)
        res = &dummy;
    *res = (rec_train_result){ 0, 0, 0, NAN, NAN, 0 };
    run r = { .vt = vt, .ctx = ctx, .ps = ps, .opt = opt, .comm = comm };
    r.nperm = comm ? vt->n_global : vt->n_examples;
    r.epochs = rec_params_int(p, spec, NSPEC, "epochs");
    r.batch = rec_params_int(p, spec, NSPEC, "batch");
    r.patience = rec_params_int(p, spec, NSPEC, "patience");
    r.every_val = rec_params_int(p, spec, NSPEC, "validate_every");
    r.every_ckpt = rec_params_int(p, spec, NSPEC, "checkpoint_every");
    r.maximize = !strcmp(rec_params_str(p, spec, NSPEC, "metric_mode"), "max");
    r.restore_best = rec_params_bool(p, spec, NSPEC, "restore_best");
    r.metric = rec_params_str(p, spec, NSPEC, "metric");
    r.ckpt = rec_params_str(p, spec, NSPEC, "checkpoint");
    int resume = rec_params_bool(p, spec, NSPEC, "resume");
    if (resume && !*r.ckpt)
        return rec_err(REC_E_INVALID, "%s: 'resume' needs a 'checkpoint' path", FN);
    if (r.patience && !(vt->validate && r.every_val))
        return rec_err(REC_E_INVALID, "%s: 'patience' needs a validate callback and "
                       "'validate_every' >= 1", FN);
    rec_rng_seed(&r.st.rng, (uint64_t)rec_params_int(p, spec, NSPEC, "seed"));
    r.st.best = NAN;

    int64_t numel = rec_pstore_numel(ps);
    size_t bbytes = (size_t)(numel ? numel : 1) * sizeof(float);
    size_t pbytes = (size_t)(vt->make_batches ? 1 : r.nperm) * sizeof *r.perm;
    rec_status st = REC_OK;
    if (r.restore_best && !(r.st.best_params = rec_malloc(bbytes)))
        st = rec_nomem(FN);
    if (!st && !(r.perm = rec_malloc(pbytes)))
        st = rec_nomem(FN);
    size_t lbytes = comm && vt->gids ? (size_t)r.nperm * sizeof *r.local : 0;
    size_t bsz = (size_t)(r.batch < r.nperm ? r.batch : r.nperm);
    if (!st && comm) {
        r.rows = rec_malloc(bsz * sizeof *r.rows);
        r.ids = rec_malloc(bsz * sizeof *r.ids);
        if (!r.rows || !r.ids || (lbytes && !(r.local = rec_malloc(lbytes))))
            st = rec_nomem(FN);
    }
    if (!st && r.local) {
        for (int64_t g = 0; g < r.nperm; g++)
            r.local[g] = -1;
        for (int64_t k = 0; k < vt->n_examples; k++) {
            int64_t g = vt->gids[k];
            if (g < 0 || g >= r.nperm || r.local[g] >= 0) {
                st = rec_err(REC_E_INVALID, "%s: global row %lld of example %lld is out of "
                             "range or repeated", FN, (long long)g, (long long)k);
                break;
            }
            r.local[g] = (int32_t)k;
        }
    }
    if (comm)
        rec_optim_set_comm(opt, comm);
    struct stat sb;
    if (!st && resume) {
        if (stat(r.ckpt, &sb) == 0) {
            st = rec_checkpoint_load(r.ckpt, ps, opt, &r.st);
            res->resumed_from = (int)r.st.epoch;
            res->epochs_run = (int)r.st.epoch;
        } else if (errno != ENOENT) {
            st = rec_err(REC_E_IO, "%s: cannot stat checkpoint '%s': %s", FN, r.ckpt,
                         strerror(errno));
        }
    }
    if (!st)
        st = loop(&r, progress, user, res);
    else
        st = fail(&r, st);
    if (!st && r.restore_best && r.st.nbest) {
        copy_params(ps, r.st.best_params, 1);
        if (vt->restore)
            st = vt->restore(ctx);
    }
    /* the last agreement: every rank ends with the same status */
    if (comm && !r.agreed)
        st = rec_comm_sync(comm, st, 0, NULL);
    if (comm)
        rec_optim_set_comm(opt, NULL);
    res->best_epoch = (int)r.st.best_epoch;
    res->best_metric = r.st.best;
    if (r.st.best_params)
        rec_free(r.st.best_params, bbytes);
    if (r.perm)
        rec_free(r.perm, pbytes);
    if (r.order)
        rec_free(r.order, (size_t)r.ocap * sizeof *r.order);
    rec_free(r.local, lbytes);
    rec_free(r.rows, r.rows ? bsz * sizeof *r.rows : 0);
    rec_free(r.ids, r.ids ? bsz * sizeof *r.ids : 0);
    return st;
}
