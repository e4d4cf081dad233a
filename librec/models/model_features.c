/* The model calls of call-time features: score and recommend for a user
 * described now (features and a history), and items added to a fitted
 * model's catalogue from their features.  The kinds do the coding
 * (vt->score_features, vt->add_items); here are the ids and the top-k. */
#include "fset-impl.h"
#include "retrieval/topk-impl.h"

#include <math.h>
#include <string.h>

static rec_status need_kind(const rec_model *m, const char *fn)
{
    REC_TRY(rec_model_need_fitted(m, fn));
    if (!m->vt->score_features)
        return rec_err(REC_E_UNSUPPORTED, "%s: %s takes no call-time features (twotower, "
                       "dnn, tfidf, gcn, graphsage and gat do)", fn, m->vt->kind);
    return REC_OK;
}

/* Scores of every item into *buf (allocated, nitems floats) for the user
 * described by fs and history; *hi (allocated, room nhistory + 1) and *nh
 * the known history items. */
/* The k best of buf [nitems] (excluded items already -INFINITY) as item
 * names, best first. */
static rec_status top_names(const rec_model *m, const float *buf, size_t k, const char **items,
                            float *scores, size_t *n, const char *fn)
{
    if (k > (size_t)m->nitems)
        k = (size_t)m->nitems;
    int32_t *idx = rec_malloc((k + 1) * sizeof *idx);
    float *val = rec_malloc((k + 1) * sizeof *val);
    rec_status st = idx && val ? REC_OK : rec_nomem(fn);
    if (!st) {
        size_t got = rec_topk(buf, m->nitems, k, idx, val);
        for (size_t j = 0; j < got; j++) {
            items[j] = rec_idmap_name(m->items, idx[j]);
            if (scores)
                scores[j] = val[j];
        }
        *n = got;
    }
    rec_free(idx, (k + 1) * sizeof *idx);
    rec_free(val, (k + 1) * sizeof *val);
    return st;
}

static rec_status score_all(const rec_model *m, const rec_feature_set *fs,
                            const char *const *history, size_t nhistory, float **buf,
                            int32_t **hi, size_t *nh, const char *fn)
{
    REC_CHECK_ARG(history || nhistory == 0, fn, "history is NULL");
    for (size_t j = 0; j < nhistory; j++)
        if (!history[j])
            return rec_err(REC_E_INVALID, "%s: history[%zu] is NULL", fn, j);
    REC_TRY(rec_fset_check(fs, REC_SIDE_USER, fn, "user"));
    *hi = rec_malloc((nhistory + 1) * sizeof **hi);
    *buf = rec_malloc(((size_t)m->nitems + 1) * sizeof **buf);
    if (!*hi || !*buf) {
        rec_free(*hi, (nhistory + 1) * sizeof **hi);
        rec_free(*buf, ((size_t)m->nitems + 1) * sizeof **buf);
        return rec_nomem(fn);
    }
    *nh = 0;
    for (size_t j = 0; j < nhistory; j++) {
        int32_t i = rec_idmap_find(m->items, history[j], strlen(history[j]));
        if (i >= 0)
            (*hi)[(*nh)++] = i;
    }
    rec_status st = m->vt->score_features(m, fs, *hi, *nh, *buf);
    if (st) {
        rec_free(*hi, (nhistory + 1) * sizeof **hi);
        rec_free(*buf, ((size_t)m->nitems + 1) * sizeof **buf);
    }
    return st;
}

REC_API rec_status rec_model_score_features(const rec_model *m, const rec_feature_set *user,
                                            const char *const *history, size_t nhistory,
                                            const char *item, float *score)
{
    static const char fn[] = "rec_model_score_features";
    REC_TRY(need_kind(m, fn));
    REC_CHECK_ARG(score, fn, "score is NULL");
    int32_t i, *hi;
    REC_TRY(rec_model_find_item(m, item, fn, &i));
    float *buf;
    size_t nh;
    REC_TRY(score_all(m, user, history, nhistory, &buf, &hi, &nh, fn));
    *score = buf[i];
    rec_free(hi, (nhistory + 1) * sizeof *hi);
    rec_free(buf, ((size_t)m->nitems + 1) * sizeof *buf);
    return REC_OK;
}

REC_API rec_status rec_model_recommend_features(const rec_model *m,
                                                const rec_feature_set *user,
                                                const char *const *history, size_t nhistory,
                                                size_t k, unsigned flags, const char **items,
                                                float *scores, size_t *n)
{
    static const char fn[] = "rec_model_recommend_features";
    REC_TRY(need_kind(m, fn));
    REC_CHECK_ARG(items && n, fn, "items or n is NULL");
    REC_CHECK_ARG(!(flags & ~REC_INCLUDE_SEEN), fn, "unknown flags");
    *n = 0;
    float *buf;
    int32_t *hi;
    size_t nh;
    REC_TRY(score_all(m, user, history, nhistory, &buf, &hi, &nh, fn));
    if (!(flags & REC_INCLUDE_SEEN))
        for (size_t j = 0; j < nh; j++)
            buf[hi[j]] = -INFINITY;
    rec_status st = top_names(m, buf, k, items, scores, n, fn);
    rec_free(hi, (nhistory + 1) * sizeof *hi);
    rec_free(buf, ((size_t)m->nitems + 1) * sizeof *buf);
    return st;
}

REC_API rec_status rec_model_add_items(rec_model *m, const char *const *ids,
                                       const rec_feature_set *const *features, size_t n)
{
    static const char fn[] = "rec_model_add_items";
    REC_TRY(rec_model_need_fitted(m, fn));
    if (!m->vt->add_items)
        return rec_err(REC_E_UNSUPPORTED, "%s: %s cannot add items from features "
                       "(twotower, dnn, tfidf, gcn, graphsage and gat can)", fn, m->vt->kind);
    REC_CHECK_ARG((ids && features) || n == 0, fn, "ids or features is NULL");
    if ((size_t)m->nitems + n > INT32_MAX)
        return rec_err(REC_E_RANGE, "%s: %zu more items overflow the catalogue", fn, n);
    for (size_t j = 0; j < n; j++) {
        if (!ids[j] || !*ids[j])
            return rec_err(REC_E_INVALID, "%s: ids[%zu] is NULL or empty", fn, j);
        if (!features[j])
            return rec_err(REC_E_INVALID, "%s: features[%zu] is NULL", fn, j);
        REC_TRY(rec_fset_check(features[j], REC_SIDE_ITEM, fn, "features[j]"));
    }
    if (n == 0)
        return REC_OK;
    /* the ids go into a copy of the map, swapped in once the kind has them */
    rec_idmap *map;
    if (rec_idmap_clone(m->items, &map))
        return rec_nomem(fn);
    rec_status st = REC_OK;
    for (size_t j = 0; !st && j < n; j++) {
        int32_t idx;
        int added;
        if (rec_idmap_intern(map, ids[j], strlen(ids[j]), &idx, &added))
            st = rec_nomem(fn);
        else if (!added)
            st = rec_err(REC_E_INVALID, "%s: ids[%zu] '%s' is %s", fn, j, ids[j],
                         idx < m->nitems ? "already in the catalogue" : "given twice");
    }
    if (!st)
        st = m->vt->add_items(m, features, n);
    if (st) {
        rec_idmap_unref(map);
        return st;
    }
    rec_idmap_unref(m->items);
    m->items = map;
    m->nitems += (int32_t)n;
    return REC_OK;
}

/* ---- a known user in a context given now ------------------------------------- */

/* Every item's score for known user `user` in the context fs sets, into
 * *buf (allocated, nitems + 1 floats); *u its index. */
static rec_status score_in_context(const rec_model *m, const char *user,
                                   const rec_feature_set *ctx, float **buf, int32_t *u,
                                   const char *fn)
{
    REC_TRY(rec_model_need_fitted(m, fn));
    if (!m->vt->score_context)
        return rec_err(REC_E_UNSUPPORTED, "%s: %s reads no per-interaction context "
                       "(twotower and dnn do)", fn, m->vt->kind);
    REC_TRY(rec_fset_check(ctx, REC_SIDE_USER, fn, "ctx"));
    REC_TRY(rec_model_find_user(m, user, fn, u));
    *buf = rec_malloc(((size_t)m->nitems + 1) * sizeof **buf);
    if (!*buf)
        return rec_nomem(fn);
    rec_status st = m->vt->score_context(m, *u, ctx, *buf);
    if (st)
        rec_free(*buf, ((size_t)m->nitems + 1) * sizeof **buf);
    return st;
}

REC_API rec_status rec_model_score_context(const rec_model *m, const char *user,
                                           const rec_feature_set *ctx, const char *item,
                                           float *score)
{
    static const char fn[] = "rec_model_score_context";
    REC_CHECK_ARG(m && score, fn, "model or score is NULL");
    REC_TRY(rec_model_need_fitted(m, fn));
    int32_t i, u;
    REC_TRY(rec_model_find_item(m, item, fn, &i));
    float *buf;
    REC_TRY(score_in_context(m, user, ctx, &buf, &u, fn));
    *score = buf[i];
    rec_free(buf, ((size_t)m->nitems + 1) * sizeof *buf);
    return REC_OK;
}

REC_API rec_status rec_model_recommend_context(const rec_model *m, const char *user,
                                               const rec_feature_set *ctx, size_t k,
                                               unsigned flags, const char **items,
                                               float *scores, size_t *n)
{
    static const char fn[] = "rec_model_recommend_context";
    REC_CHECK_ARG(m && items && n, fn, "model, items or n is NULL");
    REC_CHECK_ARG(!(flags & ~REC_INCLUDE_SEEN), fn, "unknown flags");
    *n = 0;
    float *buf;
    int32_t u;
    REC_TRY(score_in_context(m, user, ctx, &buf, &u, fn));
    if (!(flags & REC_INCLUDE_SEEN))
        for (int64_t j = m->seen_ptr[u]; j < m->seen_ptr[u + 1]; j++)
            buf[m->seen[j]] = -INFINITY;
    rec_status st = top_names(m, buf, k, items, scores, n, fn);
    rec_free(buf, ((size_t)m->nitems + 1) * sizeof *buf);
    return st;
}
