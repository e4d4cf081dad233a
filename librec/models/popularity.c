/* "popularity": items ranked by how often they were interacted with
 * (weight=count) or by the sum of their ratings (weight=rating_sum).  With
 * segment=<categorical user field>, a user with a value in that field gets
 * the popularity within the users sharing it; users without one, and
 * fold-in histories, get the global list.  The score of a pair is the same
 * number (a count or sum, not a rating). */
#include "model-impl.h"

#include <math.h>
#include <string.h>

static const rec_param_spec spec[] = {
    { "weight", REC_PARAM_STR, "count", 0, 0, "count|rating_sum",
      "count interactions, or sum their ratings (count when there are none)" },
    { "segment", REC_PARAM_STR, "", 0, 0, NULL,
      "categorical user field for per-segment popularity (empty: none)" },
};
#define NSPEC (sizeof spec / sizeof *spec)

typedef struct pop {
    float *global;   /* [nitems] */
    int32_t nseg;
    float *seg;      /* [nseg, nitems] */
    int32_t *code;   /* [nusers] segment of each user, -1 none */
    int32_t nusers, nitems;
} pop;

static void pop_free(rec_model *m)
{
    pop *s = m->state;
    if (!s)
        return;
    rec_free(s->global, ((size_t)s->nitems + 1) * sizeof *s->global);
    rec_free(s->seg, ((size_t)s->nseg * s->nitems + 1) * sizeof *s->seg);
    rec_free(s->code, ((size_t)s->nusers + 1) * sizeof *s->code);
    rec_free(s, sizeof *s);
}

static rec_status pop_alloc(rec_model *m, int32_t nseg, const char *fn)
{
    pop *s = rec_calloc(1, sizeof *s);
    if (!s)
        return rec_nomem(fn);
    m->state = s;
    s->nusers = m->nusers;
    s->nitems = m->nitems;
    s->nseg = nseg;
    s->global = rec_calloc((size_t)s->nitems + 1, sizeof *s->global);
    s->seg = rec_calloc((size_t)nseg * s->nitems + 1, sizeof *s->seg);
    s->code = rec_calloc((size_t)s->nusers + 1, sizeof *s->code);
    return s->global && s->seg && s->code ? REC_OK : rec_nomem(fn);
}

static rec_status pop_fit(rec_model *m, const rec_dataset *d, rec_progress_fn cb, void *user)
{
    const char *fn = "rec_model_fit(popularity)";
    const char *segname = rec_model_str(m, "segment");
    const rec_field *f = NULL;
    int32_t nseg = 0;
    if (*segname) {
        f = rec_ds_field(d, REC_SIDE_USER, segname);
        if (!f)
            return rec_err(REC_E_NOTFOUND, "%s: segment: the dataset has no user field '%s'",
                           fn, segname);
        if (f->type != REC_FEATURE_CATEGORICAL)
            return rec_err(REC_E_INVALID, "%s: segment: user field '%s' is not categorical", fn,
                           segname);
        nseg = rec_ds_field_vocab_size(f);
    }
    REC_TRY(pop_alloc(m, nseg, fn));
    pop *s = m->state;
    for (int32_t u = 0; u < s->nusers; u++)
        s->code[u] = f && u < f->rows ? f->codes[u] : -1;
    const int32_t *us = rec_ds_users_col(d), *is = rec_ds_items_col(d);
    const float *r = strcmp(rec_model_str(m, "weight"), "rating_sum") == 0
                         ? rec_ds_ratings_col(d) : NULL;
    int64_t n = rec_ds_num_rows(d);
    for (int64_t j = 0; j < n; j++) {
        float w = r ? r[j] : 1.0f;
        s->global[is[j]] += w;
        int32_t c = s->code[us[j]];
        if (c >= 0 && c < nseg)
            s->seg[(size_t)c * s->nitems + is[j]] += w;
    }
    return rec_model_step_done(m, "counts", 1, 1, cb, user, fn);
}

static const float *row_for(const pop *s, int32_t u)
{
    int32_t c = u >= 0 ? s->code[u] : -1;
    return c >= 0 && c < s->nseg ? s->seg + (size_t)c * s->nitems : s->global;
}

static rec_status pop_score_user(const rec_model *m, int32_t u, float *out)
{
    const pop *s = m->state;
    memcpy(out, row_for(s, u), (size_t)s->nitems * sizeof *out);
    return REC_OK;
}

static rec_status pop_score_pair(const rec_model *m, int32_t u, int32_t i, float *out)
{
    *out = row_for(m->state, u)[i];
    return REC_OK;
}

static rec_status pop_score_history(const rec_model *m, const int32_t *items, const float *r,
                                    size_t n, float *out)
{
    (void)items;
    (void)r;
    (void)n;
    return pop_score_user(m, -1, out);
}

static rec_status pop_save(const rec_model *m, rec_lrm_writer *w)
{
    const pop *s = m->state;
    int64_t ni = s->nitems, nu = s->nusers, sh[2] = { s->nseg, s->nitems };
    REC_TRY(rec_lrm_add_tensor(w, "pop.global", REC_LRM_F32, 1, &ni, s->global));
    REC_TRY(rec_lrm_add_tensor(w, "pop.segments", REC_LRM_F32, 2, sh, s->seg));
    return rec_lrm_add_tensor(w, "pop.user_segment", REC_LRM_I32, 1, &nu, s->code);
}

static rec_status pop_load(rec_model *m, const rec_lrm_reader *r)
{
    const void *g, *sg, *cd;
    int64_t sh[REC_LRM_MAX_DIMS], ni = m->nitems, nu = m->nusers;
    REC_TRY(rec_lrm_tensor_expect(r, "pop.global", REC_LRM_F32, 1, &ni, &g));
    REC_TRY(rec_lrm_tensor(r, "pop.segments", REC_LRM_F32, 2, sh, &sg));
    REC_TRY(rec_lrm_tensor_expect(r, "pop.user_segment", REC_LRM_I32, 1, &nu, &cd));
    if (sh[1] != ni || sh[0] > INT32_MAX)
        return rec_err(REC_E_FORMAT, "rec_model_load: popularity: segment table has bad shape");
    for (int64_t u = 0; u < nu; u++)
        if (((const int32_t *)cd)[u] < -1 || ((const int32_t *)cd)[u] >= sh[0])
            return rec_err(REC_E_FORMAT, "rec_model_load: popularity: bad user segment");
    REC_TRY(pop_alloc(m, (int32_t)sh[0], "rec_model_load"));
    pop *s = m->state;
    memcpy(s->global, g, (size_t)ni * sizeof *s->global);
    if (sh[0] > 0 && ni > 0)
        memcpy(s->seg, sg, (size_t)(sh[0] * ni) * sizeof *s->seg);
    memcpy(s->code, cd, (size_t)nu * sizeof *s->code);
    return REC_OK;
}

const rec_model_vt rec_popularity_vt = {
    .kind = "popularity",
    .summary = "most popular items, globally or per user segment",
    .spec = spec,
    .nspec = NSPEC,
    .fit = pop_fit,
    .score_user = pop_score_user,
    .score_history = pop_score_history,
    .score_pair = pop_score_pair,
    .similar = NULL,
    .save = pop_save,
    .load = pop_load,
    .free_state = pop_free,
};
