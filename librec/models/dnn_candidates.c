/* The negative sampler of dnn as a ranking stage (negatives_from =
 * candidates): a row's negatives come from the N items the attached
 * retrieval model lists for its user.
 *
 * No leak: the lists are what serving produces, the retrieval model's top
 * N with the user's training items excluded, from a model fitted on the
 * same training rows as the ranker (rec_model_check_candidates compares the
 * fingerprints).  They hold no training item, so the retrieval model's
 * memory of the training positives cannot reach the ranker through them:
 * the positives are the training rows (besides the candidates), the
 * negatives listed items the user never touched (the sampler knows every
 * training item and rejects them), candidate_share of them from the lists
 * and the rest uniformly from the catalogue.
 *
 * What it costs (measured, examples/14_pipeline.c): the user's held-out
 * items are in the list too (recall@100 0.77 on the generated data), and
 * with share 1 each listed item is drawn as a negative for its user about
 * negatives * rows * epochs / N times, 16 on the generated data against
 * 1.6 for a uniform draw over its 800 items: the ranker learns to push
 * exactly those items down. */
#include "dnn-impl.h"

rec_status rec_dnn_candidate_sampler(const rec_model *m, const rec_dataset *d, rec_sampler **out,
                                     const char *fn)
{
    *out = NULL;
    REC_TRY(rec_model_check_candidates(m, fn));
    int64_t *lp;
    int32_t *li;
    REC_TRY(rec_model_candidates(m, m->cand_model, m->cand_n, fn, &lp, &li));
    rec_params *p = NULL;
    rec_status st = rec_params_create(&p);
    if (!st)
        st = rec_params_set_str(p, "kind", "hard");
    if (!st)
        st = rec_params_set_float(p, "hard_ratio", rec_model_flt(m, "candidate_share"));
    if (!st)
        st = rec_sampler_create(out, d, p);
    if (!st)
        st = rec_sampler_set_hard_list(*out, lp, li);
    rec_params_destroy(p);
    rec_model_candidates_free(m, lp, li);
    if (st) {
        rec_sampler_destroy(*out);
        *out = NULL;
    }
    return st;
}
