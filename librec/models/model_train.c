/* The bridge from a model's keys to the trainer: every iterative model fits
 * through rec_model_train, so the epoch loop (shuffle, batches, divergence
 * check, progress and cancel, checkpoint and resume) exists once. */
#include "model-impl.h"

#include <string.h>

static int has_key(const rec_model *m, const char *key)
{
    for (size_t i = 0; i < m->vt->nspec; i++)
        if (!strcmp(m->vt->spec[i].key, key))
            return 1;
    return 0;
}

rec_status rec_model_train(const rec_model *m, const rec_trainer_vt *vt, void *ctx,
                           rec_pstore *ps, rec_optim *opt, rec_progress_fn cb, void *user,
                           const char *fn)
{
    rec_params *tp;
    rec_status st = rec_params_create(&tp);
    if (!st)
        st = rec_params_set_int(tp, "epochs", rec_model_int(m, "epochs"));
    if (!st)
        st = rec_params_set_int(tp, "batch", rec_model_int(m, "batch"));
    if (!st)
        st = rec_params_set_int(tp, "seed", rec_model_int(m, "seed"));
    if (!st)
        st = rec_params_set_int(tp, "validate_every", 0);
    if (!st && has_key(m, "checkpoint")) {
        st = rec_params_set_str(tp, "checkpoint", rec_model_str(m, "checkpoint"));
        if (!st)
            st = rec_params_set_int(tp, "checkpoint_every", rec_model_int(m, "checkpoint_every"));
        if (!st)
            st = rec_params_set_bool(tp, "resume", rec_model_bool(m, "resume"));
    }
    if (!st)
        st = rec_trainer_run(tp, vt, ctx, ps, opt, cb, user, NULL);
    if (st == REC_E_NOMEM && !*rec_last_error())
        rec_nomem(fn);
    rec_params_destroy(tp);
    return st;
}
