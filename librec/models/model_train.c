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
    rec_trainer_vt dvt = *vt;
    if (m->comm && m->fit_data) { /* the same batches of the global rows on every rank */
        dvt.comm = m->comm;
        int64_t ng;
        const int64_t *g = rec_ds_global_rows(m->fit_data, &ng);
        dvt.gids = NULL;
        dvt.n_global = vt->n_examples; /* the whole dataset on every rank */
        /* a shard's global ids are row ids: of no use to a model whose
         * examples are something else (users' sequences, graph edges) */
        if (g && vt->n_examples != rec_ds_num_rows(m->fit_data))
            dvt.n_global = -1;
        else if (g) {
            dvt.gids = g;
            dvt.n_global = ng;
        }
    }
    if (!st)
        st = rec_trainer_run(tp, &dvt, ctx, ps, opt, cb, user, NULL);
    if (st == REC_E_NOMEM && !*rec_last_error())
        rec_nomem(fn);
    rec_params_destroy(tp);
    return st;
}
