/* The model glue of usercf and itemcf around the neighbour engine (knn.c):
 * the engine's settings read from the model's params, and the state's
 * allocation, fit with its one-pass progress call, save, load and
 * explanations as the rec_model_vt calls them. */
#include "knn-impl.h"

#include <stdio.h>
#include <string.h>

rec_status rec_knn_read_settings(rec_knn *s, const rec_model *m, const char *fn)
{
    const char *sim = rec_model_str(m, "similarity");
    if (strcmp(sim, "auto") == 0)
        s->sim = s->implicit ? REC_KNN_COSINE : REC_KNN_MSD;
    else if (strcmp(sim, "msd") == 0)
        s->sim = REC_KNN_MSD;
    else if (strcmp(sim, "cosine") == 0)
        s->sim = REC_KNN_COSINE;
    else if (strcmp(sim, "adjusted_cosine") == 0)
        s->sim = REC_KNN_ADJCOS;
    else if (strcmp(sim, "pearson") == 0)
        s->sim = REC_KNN_PEARSON;
    else if (strcmp(sim, "pearson_baseline") == 0)
        s->sim = REC_KNN_PEARSON_BASELINE;
    else
        s->sim = REC_KNN_JACCARD;
    if (s->implicit && s->sim != REC_KNN_COSINE && s->sim != REC_KNN_JACCARD)
        return rec_err(REC_E_INVALID,
                       "%s: similarity '%s' needs ratings; the dataset has none (use cosine "
                       "or jaccard)", fn, sim);
    const char *centring = rec_model_str(m, "centring");
    /* auto: baselines won on ml-latest-small and the generated data (5-fold
     * RMSE, see examples/README.md); implicit data never reads the centring */
    if (strcmp(centring, "auto") == 0)
        s->centring = s->implicit ? REC_KNN_CENTRE_MEAN : REC_KNN_CENTRE_BASELINE;
    else
        s->centring = strcmp(centring, "mean") == 0       ? REC_KNN_CENTRE_MEAN
                      : strcmp(centring, "baseline") == 0 ? REC_KNN_CENTRE_BASELINE
                                                          : REC_KNN_CENTRE_NONE;
    if (s->implicit && s->centring == REC_KNN_CENTRE_BASELINE)
        return rec_err(REC_E_INVALID,
                       "%s: centring 'baseline' needs ratings; the dataset has none (use "
                       "centring=mean or none)", fn);
    double reg_u = rec_model_flt(m, "bsl_reg_u"), reg_i = rec_model_flt(m, "bsl_reg_i");
    s->reg_rows = s->rows_are_items ? reg_i : reg_u;
    s->reg_cols = s->rows_are_items ? reg_u : reg_i;
    s->bsl_epochs = (int32_t)rec_model_int(m, "bsl_epochs");
    double sh = rec_model_flt(m, "shrinkage");
    s->shrink = sh >= 0                                                             ? sh
                : s->sim == REC_KNN_PEARSON || s->sim == REC_KNN_PEARSON_BASELINE ? 100.0
                                                                                  : 0.0;
    s->rank_shrink = sh >= 0 ? sh : 0.0;
    s->binary = s->implicit;
    s->min_support = (int32_t)rec_model_int(m, "min_support");
    const char *rk = rec_model_str(m, "ranking");
    s->ranking = strcmp(rk, "sum") == 0      ? REC_KNN_RANK_SUM
                 : strcmp(rk, "rating") == 0 ? REC_KNN_RANK_RATING
                                             : REC_KNN_RANK_PREDICTION;
    s->k = (int32_t)rec_model_int(m, "k");
    s->keep = (int32_t)rec_model_int(m, "keep");
    return REC_OK;
}

void rec_knn_model_free(rec_model *m)
{
    rec_knn *s = m->state;
    if (!s)
        return;
    rec_knn_free(s);
    rec_free(s, sizeof *s);
    m->state = NULL;
}

static rec_status model_alloc(rec_model *m)
{
    m->state = rec_calloc(1, sizeof(rec_knn));
    return m->state ? REC_OK : rec_nomem(m->vt->kind);
}

rec_status rec_knn_model_fit(rec_model *m, const rec_dataset *d, int rows_are_users,
                             rec_progress_fn cb, void *user)
{
    char fn[64];
    snprintf(fn, sizeof fn, "rec_model_fit(%s)", m->vt->kind);
    REC_TRY(model_alloc(m));
    return rec_knn_fit(m->state, m, d, rows_are_users, cb, user, fn);
}

rec_status rec_knn_model_save(const rec_model *m, rec_lrm_writer *w)
{
    return rec_knn_save(m->state, w);
}

rec_status rec_knn_model_load(rec_model *m, const rec_lrm_reader *r, int rows_are_users)
{
    REC_TRY(model_alloc(m));
    return rec_knn_load(m->state, m, r, rows_are_users);
}

rec_status rec_knn_model_explain(const rec_model *m, int32_t row, int32_t col,
                                 const rec_idmap *names, size_t k, const char **reasons,
                                 float *weights, size_t *n)
{
    int32_t *who = rec_malloc(k * sizeof *who);
    if (!who)
        return rec_nomem("rec_model_explain");
    *n = rec_knn_explain(m->state, row, col, k, who, weights);
    for (size_t j = 0; j < *n; j++)
        reasons[j] = rec_idmap_name(names, who[j]);
    rec_free(who, k * sizeof *who);
    return REC_OK;
}
