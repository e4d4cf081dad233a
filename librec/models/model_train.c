/* The bridge from a model's keys to the trainer: every iterative model fits
 * through rec_model_train, so the epoch loop (shuffle, batches, divergence
 * check, progress and cancel, validation and early stopping, checkpoint and
 * resume) exists once. */
#include "model-impl.h"
#include "eval/eval-impl.h"

#include <math.h>
#include <string.h>

int rec_model_has_key(const rec_model *m, const char *key)
{
    for (size_t i = 0; i < m->vt->nspec; i++)
        if (!strcmp(m->vt->spec[i].key, key))
            return 1;
    return 0;
}

rec_status rec_model_valid_metric(const rec_model *m, int *minimize)
{
    static const char fn[] = "rec_model_fit";
    const char *name = rec_model_str(m, "valid_metric");
    rec_metric *ms;
    size_t n;
    REC_TRY(rec_metrics_parse(name, fn, &ms, &n));
    rec_status st = REC_OK;
    if (n != 1)
        st = rec_err(REC_E_INVALID, "%s: valid_metric '%s' must name one metric", fn, name);
    else if (minimize)
        *minimize = ms[0].kind == REC_M_RMSE || ms[0].kind == REC_M_MAE;
    rec_free(ms, n * sizeof *ms);
    return st;
}

/* The kind's trainer callbacks, with validation added in front of them. */
typedef struct valctx {
    rec_model *m;
    const rec_trainer_vt *vt;
    void *ctx;
} valctx;

static rec_status v_batches(void *c, int epoch, rec_rng *rng, int64_t *n)
{
    valctx *v = c;
    return v->vt->make_batches(v->ctx, epoch, rng, n);
}

static rec_status v_step(void *c, const rec_batch *b, rec_rng *rng, double *loss)
{
    valctx *v = c;
    return v->vt->step(v->ctx, b, rng, loss);
}

static rec_status v_snapshot(void *c)
{
    valctx *v = c;
    return v->vt->snapshot(v->ctx);
}

static rec_status v_restore(void *c)
{
    valctx *v = c;
    return v->vt->restore(v->ctx);
}

static rec_status v_begin(void *c, int epoch)
{
    valctx *v = c;
    return v->vt->begin_epoch(v->ctx, epoch);
}

/* The metric on the held-out rows, scored as a fitted model would score
 * them (the training items excluded). */
static rec_status v_validate(void *c, int epoch, double *metric)
{
    valctx *v = c;
    if (v->vt->sync)
        REC_TRY(v->vt->sync(v->ctx));
    const char *name = rec_model_str(v->m, "valid_metric");
    rec_eval_result *r;
    v->m->fitted = 1;
    rec_status st = rec_evaluate(v->m, v->m->valid, "full", name, 0, &r);
    v->m->fitted = 0;
    if (st)
        return st;
    st = rec_eval_result_metric(r, 0, NULL, metric, NULL);
    rec_eval_result_destroy(r);
    if (!st && !isfinite(*metric))
        *metric = NAN; /* no validation user: never "better" */
    if (!st) {
        /* For the progress callback of this epoch (rec_model_fit_valid). */
        v->m->valid_epoch = epoch;
        v->m->valid_value = *metric;
    }
    return st;
}

rec_status rec_model_train(const rec_model *m, const rec_trainer_vt *vt, void *ctx,
                           rec_pstore *ps, rec_optim *opt, rec_progress_fn cb, void *user,
                           const char *fn)
{
    int minimize = 0, validating = m->valid != NULL;
    ((rec_model *)m)->valid_epoch = 0;
    ((rec_model *)m)->valid_value = NAN;
    rec_status st = validating ? rec_model_valid_metric(m, &minimize) : REC_OK;
    rec_params *tp = NULL;
    if (!st)
        st = rec_params_create(&tp);
    if (!st)
        st = rec_params_set_int(tp, "epochs", rec_model_int(m, "epochs"));
    if (!st)
        st = rec_params_set_int(tp, "batch", rec_model_int(m, "batch"));
    if (!st)
        st = rec_params_set_int(tp, "seed", rec_model_int(m, "seed"));
    if (!st)
        st = rec_params_set_int(tp, "validate_every",
                                validating ? rec_model_int(m, "validate_every") : 0);
    if (!st && validating) {
        st = rec_params_set_int(tp, "patience", rec_model_int(m, "patience"));
        if (!st)
            st = rec_params_set_str(tp, "metric", rec_model_str(m, "valid_metric"));
        if (!st)
            st = rec_params_set_str(tp, "metric_mode", minimize ? "min" : "max");
        if (!st)
            st = rec_params_set_bool(tp, "restore_best", rec_model_bool(m, "restore_best"));
    }
    if (!st && rec_model_has_key(m, "checkpoint")) {
        st = rec_params_set_str(tp, "checkpoint", rec_model_str(m, "checkpoint"));
        if (!st)
            st = rec_params_set_int(tp, "checkpoint_every", rec_model_int(m, "checkpoint_every"));
        if (!st)
            st = rec_params_set_bool(tp, "resume", rec_model_bool(m, "resume"));
    }
    valctx v = { (rec_model *)m, vt, ctx };
    rec_trainer_vt w = {
        .n_examples = vt->n_examples,
        .make_batches = vt->make_batches ? v_batches : NULL,
        .step = v_step,
        .validate = v_validate,
        .snapshot = vt->snapshot ? v_snapshot : NULL,
        .restore = vt->restore ? v_restore : NULL,
        .begin_epoch = vt->begin_epoch ? v_begin : NULL,
    };
    rec_trainer_vt run = validating ? w : *vt;
    if (m->comm && m->fit_data) { /* the same batches of the global rows on every rank */
        run.comm = m->comm;
        int64_t ng;
        const int64_t *g = rec_ds_global_rows(m->fit_data, &ng);
        run.gids = NULL;
        run.n_global = vt->n_examples; /* the whole dataset on every rank */
        /* a shard's global ids are row ids: of no use to a model whose
         * examples are something else (users' sequences, graph edges) */
        if (g && vt->n_examples != rec_ds_num_rows(m->fit_data))
            run.n_global = -1;
        else if (g) {
            run.gids = g;
            run.n_global = ng;
        }
    }
    if (!st)
        st = rec_trainer_run(tp, &run, validating ? (void *)&v : ctx, ps, opt, cb, user, NULL);
    if (st == REC_E_NOMEM && !*rec_last_error())
        rec_nomem(fn);
    rec_params_destroy(tp);
    return st;
}
