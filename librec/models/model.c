/* The generic half of every model: parameter checking, id translation,
 * exclusion of seen items, top-k, and the file round trip.  Kinds supply
 * scores over dense indices through their vtable. */
#include "model-impl.h"
#include "retrieval/topk-impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

REC_API rec_status rec_model_kind_at(size_t i, const char **kind, const char **summary)
{
    const rec_model_vt *vt = rec_model_vt_at(i);
    if (!vt)
        return rec_err(REC_E_RANGE, "rec_model_kind_at: no kind at index %zu", i);
    if (kind)
        *kind = vt->kind;
    if (summary)
        *summary = vt->summary;
    return REC_OK;
}

static rec_status find_kind(const char *kind, const char *fn, const rec_model_vt **vt)
{
    REC_CHECK_ARG(kind, fn, "kind is NULL");
    *vt = rec_model_vt_find(kind);
    if (!*vt)
        return rec_err(REC_E_NOTFOUND, "%s: unknown model kind '%s'", fn, kind);
    return REC_OK;
}

REC_API rec_status rec_model_param_at(const char *kind, size_t i, const char **key,
                                      rec_param_type *type, const char **def, double *lo,
                                      double *hi, const char **choices, const char **help)
{
    const rec_model_vt *vt;
    REC_TRY(find_kind(kind, "rec_model_param_at", &vt));
    if (i >= vt->nspec)
        return rec_err(REC_E_RANGE, "rec_model_param_at: %s has %zu parameters", kind, vt->nspec);
    const rec_param_spec *s = &vt->spec[i];
    if (key) *key = s->key;
    if (type) *type = s->type;
    if (def) *def = s->def;
    if (lo) *lo = s->lo;
    if (hi) *hi = s->hi;
    if (choices) *choices = s->choices;
    if (help) *help = s->help;
    return REC_OK;
}

int64_t rec_model_int(const rec_model *m, const char *key)
{
    return rec_params_int(m->params, m->vt->spec, m->vt->nspec, key);
}
double rec_model_flt(const rec_model *m, const char *key)
{
    return rec_params_flt(m->params, m->vt->spec, m->vt->nspec, key);
}
int rec_model_bool(const rec_model *m, const char *key)
{
    return rec_params_bool(m->params, m->vt->spec, m->vt->nspec, key);
}
const char *rec_model_str(const rec_model *m, const char *key)
{
    return rec_params_str(m->params, m->vt->spec, m->vt->nspec, key);
}

static rec_status model_new(const rec_model_vt *vt, const rec_params *params, const char *fn,
                            rec_model **out)
{
    char where[96];
    snprintf(where, sizeof where, "%s(%s)", fn, vt->kind);
    REC_TRY(rec_params_check(params, vt->spec, vt->nspec, where));
    rec_model *m = rec_calloc(1, sizeof *m);
    if (!m)
        return rec_nomem(fn);
    m->vt = vt;
    rec_status st = rec_params_clone_canonical(params, vt->spec, vt->nspec, &m->params);
    if (st) {
        rec_free(m, sizeof *m);
        return st;
    }
    *out = m;
    return REC_OK;
}

REC_API rec_status rec_model_create(rec_model **out, const char *kind, const rec_params *params)
{
    REC_CHECK_ARG(out, "rec_model_create", "out is NULL");
    *out = NULL;
    const rec_model_vt *vt;
    REC_TRY(find_kind(kind, "rec_model_create", &vt));
    return model_new(vt, params, "rec_model_create", out);
}

void rec_model_drop_fit(rec_model *m)
{
    rec_model_index_free(m);
    if (m->vt->free_state)
        m->vt->free_state(m);
    m->state = NULL;
    rec_idmap_unref(m->users);
    rec_idmap_unref(m->items);
    m->users = m->items = NULL;
    if (m->seen_ptr) {
        rec_free(m->seen, m->seen_cap * sizeof *m->seen);
        rec_free(m->seen_ptr, ((size_t)m->nusers + 1) * sizeof *m->seen_ptr);
    }
    m->seen = NULL;
    m->seen_ptr = NULL;
    m->nusers = m->nitems = 0;
    m->fitted = 0;
}

REC_API void rec_model_destroy(rec_model *m)
{
    if (!m)
        return;
    rec_model_drop_fit(m);
    rec_params_destroy(m->params);
    rec_free(m, sizeof *m);
}

REC_API const char *rec_model_kind(const rec_model *m)
{
    return m ? m->vt->kind : NULL;
}

/* Each user's distinct items of d as the model's seen CSR (replacing any). */
static rec_status take_seen(rec_model *m, const rec_dataset *d)
{
    int32_t nu = m->nusers;
    const int64_t *ptr;
    const int32_t *items;
    REC_TRY(rec_ds_user_csr(d, &ptr, &items, NULL));
    int64_t *sp = rec_malloc(((size_t)nu + 1) * sizeof *sp);
    int32_t *seen = rec_malloc(((size_t)ptr[nu] + 1) * sizeof *seen);
    if (!sp || !seen) {
        rec_free(sp, ((size_t)nu + 1) * sizeof *sp);
        rec_free(seen, ((size_t)ptr[nu] + 1) * sizeof *seen);
        return rec_nomem("rec_model_fit");
    }
    int64_t w = 0;
    sp[0] = 0;
    for (int32_t u = 0; u < nu; u++) {
        int64_t b = w;
        memcpy(seen + w, items + ptr[u], (size_t)(ptr[u + 1] - ptr[u]) * sizeof *items);
        qsort(seen + b, (size_t)(ptr[u + 1] - ptr[u]), sizeof *seen, rec_cmp_i32);
        for (int64_t j = ptr[u]; j < ptr[u + 1]; j++) {
            int32_t it = seen[b + (j - ptr[u])];
            if (w == b || seen[w - 1] != it)
                seen[w++] = it;
        }
        sp[u + 1] = w;
    }
    if (m->seen_ptr) {
        rec_free(m->seen, m->seen_cap * sizeof *m->seen);
        rec_free(m->seen_ptr, ((size_t)nu + 1) * sizeof *m->seen_ptr);
    }
    m->seen_ptr = sp;
    m->seen = seen;
    m->seen_cap = (size_t)ptr[nu] + 1;
    return REC_OK;
}

/* Copies the dataset's id maps and each user's distinct training items. */
static rec_status take_ids(rec_model *m, const rec_dataset *d)
{
    /* Copies, not references: the dataset's maps may grow after the fit. */
    if (rec_idmap_clone(rec_ds_user_map(d), &m->users) ||
        rec_idmap_clone(rec_ds_item_map(d), &m->items))
        return rec_nomem("rec_model_fit");
    m->nusers = rec_ds_num_users(d);
    m->nitems = rec_ds_num_items(d);
    return take_seen(m, d);
}

/* The kind's fit, on all of train or (valid_ratio > 0) on the rows a seeded
 * per-user split keeps, the rest in m->valid for rec_model_train; the seen
 * items are all of train's afterwards either way. */
static rec_status fit_kind(rec_model *m, const rec_dataset *train, rec_progress_fn cb,
                           void *user)
{
    double vr = rec_model_has_key(m, "valid_ratio") ? rec_model_flt(m, "valid_ratio") : 0;
    if (vr <= 0)
        return m->vt->fit(m, train, cb, user);
    REC_TRY(rec_model_valid_metric(m, NULL));
    char how[64];
    snprintf(how, sizeof how, "user:%.17g", vr);
    rec_dataset *tr = NULL, *va = NULL;
    rec_status st = rec_dataset_split(train, how, 0, (uint64_t)rec_model_int(m, "seed"), &tr, &va);
    if (!st)
        st = take_seen(m, tr);
    if (!st) {
        m->valid = va;
        st = m->vt->fit(m, tr, cb, user);
        m->valid = NULL;
    }
    if (!st || st == REC_E_CANCELLED) {
        rec_status ss = take_seen(m, train);
        if (ss)
            st = ss;
    }
    rec_dataset_destroy(tr);
    rec_dataset_destroy(va);
    return st;
}

rec_status rec_model_fit_on(rec_model *m, const rec_dataset *whole, const rec_dataset *rows,
                            rec_progress_fn cb, void *user)
{
    rec_model_drop_fit(m);
    rec_status st = take_ids(m, whole);
    if (!st) {
        m->fingerprint = rec_ds_fingerprint(whole);
        m->step = "epoch";
        m->fit_data = rows;
        m->fit_whole = whole;
        st = fit_kind(m, rows, cb, user);
        m->fit_data = m->fit_whole = NULL;
        m->step = NULL;
    }
    if (st && st != REC_E_CANCELLED) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", rec_last_error());
        rec_model_drop_fit(m);
        return rec_err(st, "%s", msg);
    }
    rec_status si = rec_model_index_build(m, "rec_model_fit");
    if (si) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", rec_last_error());
        rec_model_drop_fit(m);
        return rec_err(si, "%s", msg);
    }
    m->fitted = 1;
    return st;
}

REC_API rec_status rec_model_fit(rec_model *m, const rec_dataset *train, rec_progress_fn cb,
                                 void *user)
{
    REC_CHECK_ARG(m, "rec_model_fit", "model is NULL");
    if (m->comm && m->comm->size > 1)
        return rec_model_fit_ranks(m, train, cb, user);
    REC_CHECK_ARG(train, "rec_model_fit", "dataset is NULL");
    if (rec_ds_num_rows(train) == 0 && !(m->vt->fits_catalogue && rec_ds_num_items(train) > 0))
        return rec_err(REC_E_INVALID, "rec_model_fit: the dataset has no interactions%s",
                       m->vt->fits_catalogue ? " and no items" : "");
    return rec_model_fit_on(m, train, train, cb, user);
}

REC_API rec_status rec_model_set_comm(rec_model *m, rec_comm *c)
{
    REC_CHECK_ARG(m, "rec_model_set_comm", "model is NULL");
    m->comm = c;
    return REC_OK;
}

REC_API const char *rec_model_fit_step(const rec_model *m)
{
    return m ? m->step : NULL;
}

REC_API rec_status rec_model_fit_valid(const rec_model *m, const char **metric, int *epoch,
                                       double *value)
{
    REC_CHECK_ARG(m, "rec_model_fit_valid", "model is NULL");
    int has = rec_model_has_key(m, "valid_metric") && m->valid_epoch > 0;
    if (metric)
        *metric = has ? rec_model_str(m, "valid_metric") : NULL;
    if (epoch)
        *epoch = has ? m->valid_epoch : 0;
    if (value)
        *value = has ? m->valid_value : NAN;
    return REC_OK;
}

rec_status rec_model_step_done(rec_model *m, const char *step, int i, int n, rec_progress_fn cb,
                               void *user, const char *fn)
{
    m->step = step;
    if (cb && cb(user, i, n, NAN) && i == n)
        return rec_err(REC_E_CANCELLED, "%s: cancelled", fn);
    return REC_OK;
}

rec_status rec_model_need_fitted(const rec_model *m, const char *fn)
{
    REC_CHECK_ARG(m, fn, "model is NULL");
    if (!m->fitted)
        return rec_err(REC_E_STATE, "%s: the model is not fitted", fn);
    return REC_OK;
}

rec_status rec_model_find_user(const rec_model *m, const char *user, const char *fn, int32_t *u)
{
    REC_CHECK_ARG(user, fn, "user is NULL");
    *u = rec_idmap_find(m->users, user, strlen(user));
    if (*u < 0)
        return rec_err(REC_E_NOTFOUND, "%s: unknown user '%s'", fn, user);
    return REC_OK;
}

rec_status rec_model_find_item(const rec_model *m, const char *item, const char *fn, int32_t *i)
{
    REC_CHECK_ARG(item, fn, "item is NULL");
    *i = rec_idmap_find(m->items, item, strlen(item));
    if (*i < 0)
        return rec_err(REC_E_NOTFOUND, "%s: unknown item '%s'", fn, item);
    return REC_OK;
}

REC_API rec_status rec_model_score(const rec_model *m, const char *user, const char *item,
                                   float *score)
{
    int32_t u, i;
    REC_TRY(rec_model_need_fitted(m, "rec_model_score"));
    REC_CHECK_ARG(score, "rec_model_score", "score is NULL");
    REC_TRY(rec_model_find_user(m, user, "rec_model_score", &u));
    REC_TRY(rec_model_find_item(m, item, "rec_model_score", &i));
    if (m->vt->score_pair)
        return m->vt->score_pair(m, u, i, score);
    float *all = rec_malloc((size_t)m->nitems * sizeof *all);
    if (!all)
        return rec_nomem("rec_model_score");
    rec_status st = m->vt->score_user(m, u, all);
    if (!st)
        *score = all[i];
    rec_free(all, (size_t)m->nitems * sizeof *all);
    return st;
}

/* Top-k of buf (masked entries already -inf) into caller arrays. */
static rec_status emit_topk(const rec_model *m, float *buf, size_t k, const char **items,
                            float *scores, size_t *n, const char *fn)
{
    if (k > (size_t)m->nitems)
        k = (size_t)m->nitems;
    int32_t *idx = rec_malloc((k ? k : 1) * sizeof *idx);
    float *val = rec_malloc((k ? k : 1) * sizeof *val);
    if (!idx || !val) {
        rec_free(idx, (k ? k : 1) * sizeof *idx);
        rec_free(val, (k ? k : 1) * sizeof *val);
        return rec_nomem(fn);
    }
    size_t got = rec_topk(buf, m->nitems, k, idx, val);
    for (size_t j = 0; j < got; j++) {
        items[j] = rec_idmap_name(m->items, idx[j]);
        if (scores)
            scores[j] = val[j];
    }
    *n = got;
    rec_free(idx, (k ? k : 1) * sizeof *idx);
    rec_free(val, (k ? k : 1) * sizeof *val);
    return REC_OK;
}

/* Top-k through the model's HNSW index or the kind's own (vt->recommend). */
static rec_status recommend_indexed(const rec_model *m, int32_t u, size_t k, unsigned flags,
                                    const char **items, float *scores, size_t *n,
                                    const char *fn)
{
    if (k > (size_t)m->nitems)
        k = (size_t)m->nitems;
    size_t cap = k ? k : 1;
    int32_t *idx = rec_malloc(cap * sizeof *idx);
    float *val = rec_malloc(cap * sizeof *val);
    rec_status st = idx && val ? REC_OK : rec_nomem(fn);
    size_t got = 0;
    int seen = (flags & REC_INCLUDE_SEEN) != 0;
    if (!st && k && m->ix)
        st = rec_model_index_recommend(m, u, k, seen, NULL, 0, idx, val, &got, fn);
    else if (!st && k)
        st = m->vt->recommend(m, u, k, seen, idx, val, &got);
    for (size_t j = 0; !st && j < got; j++) {
        items[j] = rec_idmap_name(m->items, idx[j]);
        if (scores)
            scores[j] = val[j];
    }
    *n = st ? 0 : got;
    rec_free(idx, cap * sizeof *idx);
    rec_free(val, cap * sizeof *val);
    return st;
}

REC_API rec_status rec_model_recommend(const rec_model *m, const char *user, size_t k,
                                       unsigned flags, const char **items, float *scores,
                                       size_t *n)
{
    const char *fn = "rec_model_recommend";
    int32_t u;
    REC_TRY(rec_model_need_fitted(m, fn));
    REC_CHECK_ARG(items && n, fn, "items or n is NULL");
    REC_CHECK_ARG(!(flags & ~REC_INCLUDE_SEEN), fn, "unknown flags");
    *n = 0;
    REC_TRY(rec_model_find_user(m, user, fn, &u));
    if (m->ix || m->vt->recommend)
        return recommend_indexed(m, u, k, flags, items, scores, n, fn);
    /* With a pack, the block kernel a batch uses (so its rows equal these
     * bits); its rows are padded to whole blocks, and the user's vector
     * needs a copy beside them. */
    size_t len = m->pack.p ? rec_ippack_padded(m->nitems) + (size_t)m->vdim : (size_t)m->nitems;
    float *buf = rec_malloc(len * sizeof *buf);
    if (!buf)
        return rec_nomem(fn);
    rec_status st = REC_OK;
    if (m->pack.p)
        rec_model_pack_scores(m, &u, 1, buf + rec_ippack_padded(m->nitems), buf,
                              rec_ippack_padded(m->nitems));
    else
        st = m->vt->score_user(m, u, buf);
    if (!st) {
        if (!(flags & REC_INCLUDE_SEEN))
            for (int64_t j = m->seen_ptr[u]; j < m->seen_ptr[u + 1]; j++)
                buf[m->seen[j]] = -INFINITY;
        st = emit_topk(m, buf, k, items, scores, n, fn);
    }
    rec_free(buf, len * sizeof *buf);
    return st;
}

REC_API rec_status rec_model_recommend_history(const rec_model *m, const char *const *history,
                                               const float *ratings, size_t nhistory, size_t k,
                                               unsigned flags, const char **items,
                                               float *scores, size_t *n)
{
    const char *fn = "rec_model_recommend_history";
    REC_TRY(rec_model_need_fitted(m, fn));
    REC_CHECK_ARG(items && n, fn, "items or n is NULL");
    REC_CHECK_ARG(history || nhistory == 0, fn, "history is NULL");
    REC_CHECK_ARG(!(flags & ~REC_INCLUDE_SEEN), fn, "unknown flags");
    *n = 0;
    if (!m->vt->score_history)
        return rec_err(REC_E_UNSUPPORTED, "%s: %s cannot fold in a new history", fn,
                       m->vt->kind);
    /* Checked before anything is allocated, so a refusal leaks nothing. */
    for (size_t j = 0; j < nhistory; j++) {
        if (!history[j])
            return rec_err(REC_E_INVALID, "%s: history[%zu] is NULL", fn, j);
        if (ratings && !isfinite(ratings[j]))
            return rec_err(REC_E_INVALID, "%s: history[%zu] ('%s') has rating %g", fn, j,
                           history[j], (double)ratings[j]);
    }
    size_t hbytes = (nhistory ? nhistory : 1) * (sizeof(int32_t) + sizeof(float));
    int32_t *hi = rec_malloc(hbytes);
    float *buf = rec_malloc((size_t)m->nitems * sizeof *buf);
    if (!hi || !buf) {
        rec_free(hi, hbytes);
        rec_free(buf, (size_t)m->nitems * sizeof *buf);
        return rec_nomem(fn);
    }
    float *hr = (float *)(hi + (nhistory ? nhistory : 1));
    size_t nh = 0;
    for (size_t j = 0; j < nhistory; j++) {
        int32_t i = rec_idmap_find(m->items, history[j], strlen(history[j]));
        if (i < 0)
            continue;
        hi[nh] = i;
        hr[nh] = ratings ? ratings[j] : 1.0f;
        nh++;
    }
    rec_status st = m->vt->score_history(m, hi, ratings ? hr : NULL, nh, buf);
    if (!st) {
        if (!(flags & REC_INCLUDE_SEEN))
            for (size_t j = 0; j < nh; j++)
                buf[hi[j]] = -INFINITY;
        st = emit_topk(m, buf, k, items, scores, n, fn);
    }
    rec_free(hi, hbytes);
    rec_free(buf, (size_t)m->nitems * sizeof *buf);
    return st;
}

REC_API rec_status rec_model_similar(const rec_model *m, const char *item, size_t k,
                                     const char **items, float *scores, size_t *n)
{
    const char *fn = "rec_model_similar";
    int32_t i;
    REC_TRY(rec_model_need_fitted(m, fn));
    REC_CHECK_ARG(items && n, fn, "items or n is NULL");
    *n = 0;
    REC_TRY(rec_model_find_item(m, item, fn, &i));
    if (!m->vt->similar)
        return rec_err(REC_E_UNSUPPORTED, "%s: %s has no item similarity", fn, m->vt->kind);
    float *buf = rec_malloc((size_t)m->nitems * sizeof *buf);
    if (!buf)
        return rec_nomem(fn);
    rec_status st = m->vt->similar(m, i, buf);
    if (!st) {
        buf[i] = -INFINITY;
        st = emit_topk(m, buf, k, items, scores, n, fn);
    }
    rec_free(buf, (size_t)m->nitems * sizeof *buf);
    return st;
}

REC_API rec_status rec_model_explain(const rec_model *m, const char *user, const char *item,
                                     size_t k, const char **reasons, float *weights, size_t *n)
{
    const char *fn = "rec_model_explain";
    int32_t u, i;
    REC_TRY(rec_model_need_fitted(m, fn));
    REC_CHECK_ARG(reasons && n, fn, "reasons or n is NULL");
    *n = 0;
    REC_TRY(rec_model_find_user(m, user, fn, &u));
    REC_TRY(rec_model_find_item(m, item, fn, &i));
    if (!m->vt->explain)
        return rec_err(REC_E_UNSUPPORTED, "%s: %s cannot explain its scores", fn, m->vt->kind);
    if (k == 0)
        return REC_OK;
    float local[64];
    float *w = weights ? weights : k <= 64 ? local : rec_malloc(k * sizeof *w);
    if (!w)
        return rec_nomem(fn);
    rec_status st = m->vt->explain(m, u, i, k, reasons, w, n);
    if (w != weights && w != local)
        rec_free(w, k * sizeof *w);
    return st;
}

REC_API rec_status rec_model_num_users(const rec_model *m, size_t *n)
{
    REC_TRY(rec_model_need_fitted(m, "rec_model_num_users"));
    REC_CHECK_ARG(n, "rec_model_num_users", "n is NULL");
    *n = (size_t)m->nusers;
    return REC_OK;
}

REC_API rec_status rec_model_num_items(const rec_model *m, size_t *n)
{
    REC_TRY(rec_model_need_fitted(m, "rec_model_num_items"));
    REC_CHECK_ARG(n, "rec_model_num_items", "n is NULL");
    *n = (size_t)m->nitems;
    return REC_OK;
}

/* ---- files ------------------------------------------------------------------ */

REC_API rec_status rec_model_save(const rec_model *m, const char *path)
{
    const char *fn = "rec_model_save";
    REC_TRY(rec_model_need_fitted(m, fn));
    REC_CHECK_ARG(path, fn, "path is NULL");
    rec_lrm_writer *w;
    REC_TRY(rec_lrm_writer_create(m->vt->kind, &w));
    char fp[32];
    snprintf(fp, sizeof fp, "%016llx", (unsigned long long)m->fingerprint);
    size_t ub, ib;
    const char *ublob = rec_idmap_blob(m->users, &ub), *iblob = rec_idmap_blob(m->items, &ib);
    int64_t nu1 = (int64_t)m->nusers + 1, nseen = m->seen_ptr[m->nusers];
    rec_status st = rec_lrm_add_params(w, m->params);
    if (!st)
        st = rec_lrm_add_meta(w, "data.fingerprint", fp);
    if (!st)
        st = rec_lrm_add_blob(w, "ids.users", ublob, ub);
    if (!st)
        st = rec_lrm_add_blob(w, "ids.items", iblob, ib);
    if (!st)
        st = rec_lrm_add_tensor(w, "seen.ptr", REC_LRM_I64, 1, &nu1, m->seen_ptr);
    if (!st)
        st = rec_lrm_add_tensor(w, "seen.items", REC_LRM_I32, 1, &nseen, m->seen);
    if (!st && m->vt->save)
        st = m->vt->save(m, w);
    void *keep = NULL;
    size_t kb = 0;
    if (!st)
        st = rec_model_index_put(m, w, &keep, &kb);
    if (!st)
        st = rec_lrm_save(w, path);
    rec_free(keep, kb);
    rec_lrm_writer_destroy(w);
    return st;
}

static rec_status load_common(rec_model *m, const rec_lrm_reader *r, const char *path)
{
    const void *ub, *ib, *ptr, *items;
    size_t ul, il;
    int64_t shp[REC_LRM_MAX_DIMS];
    REC_TRY(rec_lrm_tensor(r, "seen.ptr", REC_LRM_I64, 1, shp, &ptr));
    int64_t nu1 = shp[0];
    REC_TRY(rec_lrm_tensor(r, "seen.items", REC_LRM_I32, 1, shp, &items));
    int64_t nseen = shp[0];
    REC_TRY(rec_lrm_blob(r, "ids.users", &ub, &ul));
    REC_TRY(rec_lrm_blob(r, "ids.items", &ib, &il));
    if (nu1 < 1 || nu1 > INT32_MAX)
        return rec_err(REC_E_FORMAT, "%s: bad user count", path);
    const int64_t *p = ptr;
    /* Item count: names in the blob. */
    int32_t ni = 0;
    for (size_t j = 0; j < il; j++)
        ni += ((const char *)ib)[j] == 0;
    REC_TRY(rec_idmap_from_blob(&m->users, ub, ul, (int32_t)(nu1 - 1)));
    REC_TRY(rec_idmap_from_blob(&m->items, ib, il, ni));
    m->nusers = (int32_t)(nu1 - 1);
    m->nitems = ni;
    REC_TRY(rec_csr_check(1, path, "seen items", nu1 - 1, p, nseen, items, 0, ni));
    m->seen_ptr = rec_malloc((size_t)nu1 * sizeof *m->seen_ptr);
    m->seen = rec_malloc(((size_t)nseen + 1) * sizeof *m->seen);
    if (!m->seen_ptr || !m->seen) {
        rec_free(m->seen_ptr, (size_t)nu1 * sizeof *m->seen_ptr);
        rec_free(m->seen, ((size_t)nseen + 1) * sizeof *m->seen);
        m->seen_ptr = NULL;
        m->seen = NULL;
        return rec_nomem("rec_model_load");
    }
    m->seen_cap = (size_t)nseen + 1;
    memcpy(m->seen_ptr, ptr, (size_t)nu1 * sizeof *m->seen_ptr);
    if (nseen) /* a catalogue-only model (tfidf on items alone) has none: items is NULL */
        memcpy(m->seen, items, (size_t)nseen * sizeof *m->seen);
    const char *fp;
    if (rec_lrm_meta(r, "data.fingerprint", &fp) == REC_OK)
        m->fingerprint = strtoull(fp, NULL, 16);
    return REC_OK;
}

REC_API rec_status rec_model_load(rec_model **out, const char *path)
{
    const char *fn = "rec_model_load";
    REC_CHECK_ARG(out, fn, "out is NULL");
    REC_CHECK_ARG(path, fn, "path is NULL");
    *out = NULL;
    rec_lrm_reader *r;
    REC_TRY(rec_lrm_open(path, &r));
    const rec_model_vt *vt = rec_model_vt_find(rec_lrm_kind(r));
    rec_params *p = NULL;
    rec_model *m = NULL;
    rec_status st = vt ? REC_OK
                       : rec_err(REC_E_FORMAT, "%s: unknown model kind '%s'", path,
                                 rec_lrm_kind(r));
    if (!st)
        st = rec_lrm_params(r, &p);
    if (!st) {
        st = model_new(vt, p, fn, &m);
        if (st == REC_E_INVALID || st == REC_E_RANGE)
            st = rec_err(REC_E_FORMAT, "%s: bad parameters: %s", path, rec_last_error());
    }
    if (!st)
        st = load_common(m, r, path);
    if (!st && vt->load)
        st = vt->load(m, r);
    int took = 0;
    if (!st)
        st = rec_model_index_load(m, r, path, &took);
    rec_params_destroy(p);
    if (!took)
        rec_lrm_close(r);
    if (st) {
        if (st == REC_E_INVALID || st == REC_E_RANGE)
            st = REC_E_FORMAT;
        rec_model_destroy(m);
        return st;
    }
    m->fitted = 1;
    *out = m;
    return REC_OK;
}
