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
    int32_t *perm;      /* [n_examples] */
    int64_t *order;     /* [ocap] model-made batch order */
    int64_t ocap;
} run;

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
        for (int64_t k = 0; k < vt->n_examples; k++)
            r->perm[k] = (int32_t)k;
        rec_rng_shuffle_i32(&r->st.rng, r->perm, (size_t)vt->n_examples);
        nb = (vt->n_examples + r->batch - 1) / r->batch;
    }
    double sum = 0;
    for (int64_t k = 0; k < nb; k++) {
        rec_batch b = { k, NULL, 0 };
        if (vt->make_batches) {
            b.index = r->order[k];
        } else {
            int64_t lo = k * r->batch, hi = lo + r->batch;
            b.rows = r->perm + lo;
            b.n = (hi < vt->n_examples ? hi : vt->n_examples) - lo;
        }
        double l = 0;
        REC_TRY(vt->step(r->ctx, &b, &r->st.rng, &l));
        if (!isfinite(l))
            return rec_err(REC_E_RANGE, "%s: the loss is %g at epoch %d, batch %lld", FN, l, ep,
                           (long long)b.index);
        sum += l;
    }
    *mean = nb ? sum / (double)nb : NAN;
    return REC_OK;
}

static rec_status validate(run *r, int ep)
{
    double m = NAN;
    REC_TRY(r->vt->validate(r->ctx, ep, &m));
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
        REC_TRY(one_epoch(r, ep, &mean));
        res->last_loss = mean;
        if (r->vt->validate && r->every_val && ep % r->every_val == 0)
            REC_TRY(validate(r, ep));
        r->st.epoch = ep;
        res->epochs_run = ep;
        stop = r->patience && r->st.bad >= r->patience;
        if (*r->ckpt && (ep % r->every_ckpt == 0 || ep == r->epochs || stop))
            REC_TRY(rec_checkpoint_save(r->ckpt, r->ps, r->opt, &r->st, r->metric));
        if (progress && progress(user, ep, (int)r->epochs, mean))
            return rec_err(REC_E_CANCELLED, "%s: cancelled at epoch %d", FN, ep);
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
    if (!vt->make_batches && (vt->n_examples < 1 || vt->n_examples > INT32_MAX))
        return rec_err(REC_E_INVALID, "%s: vt->n_examples = %lld, want 1 .. 2^31-1 (or a "
                       "make_batches callback)", FN, (long long)vt->n_examples);
    rec_train_result dummy;
    if (!res)
        res = &dummy;
    *res = (rec_train_result){ 0, 0, 0, NAN, NAN, 0 };
    run r = { .vt = vt, .ctx = ctx, .ps = ps, .opt = opt };
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
    size_t pbytes = (size_t)(vt->make_batches ? 1 : vt->n_examples) * sizeof *r.perm;
    rec_status st = REC_OK;
    if (r.restore_best && !(r.st.best_params = rec_malloc(bbytes)))
        st = rec_nomem(FN);
    if (!st && !(r.perm = rec_malloc(pbytes)))
        st = rec_nomem(FN);
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
    if (!st && r.restore_best && r.st.nbest) {
        copy_params(ps, r.st.best_params, 1);
        if (vt->restore)
            st = vt->restore(ctx);
    }
    res->best_epoch = (int)r.st.best_epoch;
    res->best_metric = r.st.best;
    if (r.st.best_params)
        rec_free(r.st.best_params, bbytes);
    if (r.perm)
        rec_free(r.perm, pbytes);
    if (r.order)
        rec_free(r.order, (size_t)r.ocap * sizeof *r.order);
    return st;
}
