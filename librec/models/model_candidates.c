/* A ranking stage trained on what retrieval gives it: the retrieval model a
 * ranker is attached to (rec_model_set_candidates), and the candidate lists
 * a fit of the ranker reads from it.
 *
 * No leak: the lists are those serving produces (the retrieval model's top
 * n with its training items excluded), from a model fitted on the same
 * training rows as the ranker (checked by fingerprint), so the ranker never
 * sees a list built with anything a served request would not have.  They
 * hold no training positive (every training item is excluded), so a ranker
 * draws its positives from the training rows and its negatives from the
 * lists: the retrieval model's memory of the training items cannot put
 * them at the top of a list for the ranker to copy. */
#include "model-impl.h"

#include <string.h>

REC_API rec_status rec_model_set_candidates(rec_model *ranker, const rec_model *retrieval,
                                            size_t n)
{
    static const char fn[] = "rec_model_set_candidates";
    REC_CHECK_ARG(ranker, fn, "ranker is NULL");
    if (!retrieval) {
        ranker->cand_model = NULL;
        ranker->cand_n = 0;
        return REC_OK;
    }
    REC_CHECK_ARG(retrieval != ranker, fn, "retrieval is the ranker itself");
    REC_CHECK_ARG(n > 0, fn, "n is 0: a ranker needs at least one candidate per user");
    if (!rec_model_has_key(ranker, "negatives_from"))
        return rec_err(REC_E_UNSUPPORTED, "%s: kind %s does not train on candidates (dnn does)",
                       fn, ranker->vt->kind);
    if (!retrieval->fitted)
        return rec_err(REC_E_STATE, "%s: the retrieval model (%s) is not fitted", fn,
                       retrieval->vt->kind);
    ranker->cand_model = retrieval;
    ranker->cand_n = n;
    return REC_OK;
}

void rec_model_candidates_free(const rec_model *m, int64_t *ptr, int32_t *items)
{
    if (!ptr)
        return;
    size_t nnz = (size_t)ptr[m->nusers];
    rec_free(items, (nnz ? nnz : 1) * sizeof *items);
    rec_free(ptr, ((size_t)m->nusers + 1) * sizeof *ptr);
}

rec_status rec_model_check_candidates(const rec_model *m, const char *fn)
{
    const rec_model *r = m->cand_model;
    if (!r->fitted)
        return rec_err(REC_E_STATE, "%s: the retrieval model (%s, rec_model_set_candidates) is "
                       "no longer fitted", fn, r->vt->kind);
    if (r->fingerprint != m->fingerprint)
        return rec_err(REC_E_INVALID, "%s: the retrieval model (%s) was fitted on other data "
                       "(fingerprint %016llx, this fit's %016llx): fit both on the same "
                       "training set", fn, r->vt->kind, (unsigned long long)r->fingerprint,
                       (unsigned long long)m->fingerprint);
    return REC_OK;
}

rec_status rec_model_candidates(const rec_model *m, const rec_model *r, size_t n,
                                const char *fn, int64_t **ptr, int32_t **items)
{
    *ptr = NULL;
    *items = NULL;
    size_t k = n < (size_t)r->nitems ? n : (size_t)r->nitems;
    size_t nu = (size_t)m->nusers, rows = nu ? nu : 1, nri = (size_t)r->nitems;
    /* the same rows may number users and items otherwise: go through the ids */
    int32_t *ru = rec_malloc(rows * sizeof *ru), *imap = rec_malloc((nri ? nri : 1) * sizeof *imap);
    int32_t *got = rec_malloc(rows * k * sizeof *got);
    int64_t *p = rec_malloc((nu + 1) * sizeof *p);
    rec_status st = ru && imap && got && p ? REC_OK : rec_nomem(fn);
    size_t asked = 0;
    for (size_t u = 0; !st && u < nu; u++) {
        const char *id = rec_idmap_name(m->users, (int32_t)u);
        ru[u] = rec_idmap_find(r->users, id, strlen(id));
        if (ru[u] >= 0) /* ask only for the users retrieval knows, in order */
            ru[asked++] = ru[u];
    }
    for (size_t i = 0; !st && i < nri; i++) {
        const char *id = rec_idmap_name(r->items, (int32_t)i);
        imap[i] = rec_idmap_find(m->items, id, strlen(id));
    }
    if (!st && asked)
        st = rec_model_recommend_batch(r, ru, asked, k, 0, NULL, got, NULL);
    /* compact in place: row q of got -> the next user's entries */
    int64_t at = 0;
    size_t q = 0;
    if (!st) {
        p[0] = 0;
        for (size_t u = 0; u < nu; u++) {
            const char *id = rec_idmap_name(m->users, (int32_t)u);
            if (rec_idmap_find(r->users, id, strlen(id)) >= 0) {
                for (size_t j = 0; j < k; j++) {
                    int32_t it = got[q * k + j];
                    if (it >= 0 && imap[it] >= 0)
                        got[at++] = imap[it];
                }
                q++;
            }
            p[u + 1] = at;
        }
    }
    rec_free(ru, rows * sizeof *ru);
    rec_free(imap, (nri ? nri : 1) * sizeof *imap);
    int32_t *out = NULL;
    if (!st && !(out = rec_malloc((size_t)(at ? at : 1) * sizeof *out)))
        st = rec_nomem(fn);
    if (!st && at)
        memcpy(out, got, (size_t)at * sizeof *out);
    rec_free(got, rows * k * sizeof *got);
    if (st) {
        rec_free(p, (nu + 1) * sizeof *p);
        return st;
    }
    *ptr = p;
    *items = out;
    return REC_OK;
}
