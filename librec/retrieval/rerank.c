/* The re-ranking pipeline: stages by kind and params, the caller's arrays
 * copied into them, and rec_rerank_apply running them in order over one
 * working list. */
#include "rerank-impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const rec_param_spec boost_spec[] = {
    { "mode", REC_PARAM_STR, "add", 0, 0, "add|mul", "score + weight, or score * weight" },
};
static const rec_param_spec cap_spec[] = {
    { "max", REC_PARAM_INT, "1", 1, INT32_MAX, NULL, "at most this many items per group" },
};
static const rec_param_spec mmr_spec[] = {
    { "lambda", REC_PARAM_FLOAT, "0.7", 0, 1, NULL,
      "weight of relevance against diversity (1 keeps the order)" },
};
static const rec_param_spec explore_spec[] = {
    { "method", REC_PARAM_STR, "epsilon", 0, 0, "epsilon|softmax",
      "epsilon-greedy slots, or sampling by softmax of the scores" },
    { "epsilon", REC_PARAM_FLOAT, "0.1", 0, 1, NULL, "chance that a slot takes a random item" },
    { "temperature", REC_PARAM_FLOAT, "1", 1e-6, 1e6, NULL, "softmax temperature" },
    { "seed", REC_PARAM_INT, "0", 0, (double)INT64_MAX, NULL, "seed of the draws" },
};

static const struct {
    const char *name;
    rr_kind kind;
    const rec_param_spec *spec;
    size_t nspec;
} kinds[] = {
    { "hide", RR_HIDE, NULL, 0 },
    { "boost", RR_BOOST, boost_spec, 1 },
    { "cap", RR_CAP, cap_spec, 1 },
    { "mmr", RR_MMR, mmr_spec, 1 },
    { "no_repeat", RR_NO_REPEAT, NULL, 0 },
    { "explore", RR_EXPLORE, explore_spec, 4 },
};
#define NKINDS (sizeof kinds / sizeof *kinds)

REC_API rec_status rec_rerank_stage_create(rec_rerank_stage **out, const char *kind,
                                           const rec_params *params)
{
    static const char *fn = "rec_rerank_stage_create";
    REC_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    REC_CHECK_ARG(kind, fn, "kind is NULL");
    size_t k = 0;
    while (k < NKINDS && strcmp(kinds[k].name, kind))
        k++;
    if (k == NKINDS)
        return rec_err(REC_E_INVALID,
                       "%s: unknown kind '%s' (hide, boost, cap, mmr, no_repeat, explore)", fn,
                       kind);
    const rec_param_spec *sp = kinds[k].spec;
    size_t ns = kinds[k].nspec;
    REC_TRY(rec_params_check(params, sp, ns, fn));
    rec_rerank_stage *s = rec_calloc(1, sizeof *s);
    if (!s)
        return rec_nomem(fn);
    s->kind = kinds[k].kind;
    s->name = kinds[k].name;
    switch (s->kind) {
    case RR_BOOST: s->mul = !strcmp(rec_params_str(params, sp, ns, "mode"), "mul"); break;
    case RR_CAP: s->max = rec_params_int(params, sp, ns, "max"); break;
    case RR_MMR: s->lambda = rec_params_flt(params, sp, ns, "lambda"); break;
    case RR_EXPLORE:
        s->softmax = !strcmp(rec_params_str(params, sp, ns, "method"), "softmax");
        s->epsilon = rec_params_flt(params, sp, ns, "epsilon");
        s->temperature = rec_params_flt(params, sp, ns, "temperature");
        s->seed = (uint64_t)rec_params_int(params, sp, ns, "seed");
        break;
    default: break;
    }
    *out = s;
    return REC_OK;
}

static void drop_arrays(rec_rerank_stage *s)
{
    rec_free(s->weights, s->weights ? s->nitems * sizeof *s->weights : 0);
    rec_free(s->groups, s->groups ? s->nitems * sizeof *s->groups : 0);
    rec_free(s->vecs, s->vecs ? s->nitems * (size_t)s->dim * sizeof *s->vecs : 0);
    s->weights = NULL;
    s->groups = NULL;
    s->vecs = NULL;
    s->nitems = 0;
    s->dim = 0;
}

REC_API void rec_rerank_stage_destroy(rec_rerank_stage *s)
{
    if (!s)
        return;
    rec_free(s->deny, s->deny_cap * sizeof *s->deny);
    drop_arrays(s);
    rec_free(s, sizeof *s);
}

static rec_status want_kind(const rec_rerank_stage *s, rr_kind k1, rr_kind k2, const char *fn,
                            const char *kinds_ok)
{
    REC_CHECK_ARG(s, fn, "stage is NULL");
    if (s->kind != k1 && s->kind != k2)
        return rec_err(REC_E_INVALID, "%s: the stage is '%s', not %s", fn, s->name, kinds_ok);
    return REC_OK;
}

REC_API rec_status rec_rerank_stage_set_items(rec_rerank_stage *s, const int32_t *items,
                                              size_t n)
{
    static const char *fn = "rec_rerank_stage_set_items";
    REC_TRY(want_kind(s, RR_HIDE, RR_HIDE, fn, "'hide'"));
    REC_CHECK_ARG(items || n == 0, fn, "items is NULL");
    for (size_t i = 0; i < n; i++)
        if (items[i] < 0)
            return rec_err(REC_E_RANGE, "%s: items[%zu] = %d is negative", fn, i,
                           (int)items[i]);
    if (!n)
        return REC_OK;
    size_t total = s->ndeny + n;
    int32_t *d = rec_malloc(total * sizeof *d);
    if (!d)
        return rec_nomem(fn);
    if (s->ndeny)
        memcpy(d, s->deny, s->ndeny * sizeof *d);
    memcpy(d + s->ndeny, items, n * sizeof *d);
    qsort(d, total, sizeof *d, rec_cmp_i32);
    size_t m = 0;
    for (size_t i = 0; i < total; i++)
        if (!m || d[i] != d[m - 1])
            d[m++] = d[i];
    rec_free(s->deny, s->deny_cap * sizeof *s->deny);
    s->deny = d;
    s->deny_cap = total;
    s->ndeny = m;
    return REC_OK;
}

REC_API rec_status rec_rerank_stage_set_predicate(rec_rerank_stage *s,
                                                  rec_rerank_predicate pred, void *user)
{
    REC_TRY(want_kind(s, RR_HIDE, RR_HIDE, "rec_rerank_stage_set_predicate", "'hide'"));
    s->pred = pred;
    s->pred_user = user;
    return REC_OK;
}

REC_API rec_status rec_rerank_stage_set_weights(rec_rerank_stage *s, const float *weights,
                                                size_t nitems)
{
    static const char *fn = "rec_rerank_stage_set_weights";
    REC_TRY(want_kind(s, RR_BOOST, RR_BOOST, fn, "'boost'"));
    REC_CHECK_ARG(weights, fn, "weights is NULL");
    REC_CHECK_ARG(nitems > 0, fn, "nitems is 0");
    for (size_t i = 0; i < nitems; i++)
        if (!isfinite(weights[i]))
            return rec_err(REC_E_INVALID, "%s: weights[%zu] = %g is not a finite number", fn,
                           i, (double)weights[i]);
    float *w = rec_malloc(nitems * sizeof *w);
    if (!w)
        return rec_nomem(fn);
    memcpy(w, weights, nitems * sizeof *w);
    drop_arrays(s);
    s->weights = w;
    s->nitems = nitems;
    return REC_OK;
}

REC_API rec_status rec_rerank_stage_set_groups(rec_rerank_stage *s, const int32_t *groups,
                                               size_t nitems)
{
    static const char *fn = "rec_rerank_stage_set_groups";
    REC_TRY(want_kind(s, RR_CAP, RR_MMR, fn, "'cap' or 'mmr'"));
    REC_CHECK_ARG(groups, fn, "groups is NULL");
    REC_CHECK_ARG(nitems > 0, fn, "nitems is 0");
    int32_t *g = rec_malloc(nitems * sizeof *g);
    if (!g)
        return rec_nomem(fn);
    int32_t top = -1;
    for (size_t i = 0; i < nitems; i++) {
        g[i] = groups[i] < 0 ? -1 : groups[i];
        if (g[i] > top)
            top = g[i];
    }
    if (top == INT32_MAX) {
        rec_free(g, nitems * sizeof *g);
        return rec_err(REC_E_RANGE, "%s: a group is 2^31-1; groups must be below it", fn);
    }
    drop_arrays(s);
    s->groups = g;
    s->nitems = nitems;
    s->ngroups = top + 1;
    return REC_OK;
}

REC_API rec_status rec_rerank_stage_set_vectors(rec_rerank_stage *s, const float *vecs,
                                                size_t nitems, int dim)
{
    static const char *fn = "rec_rerank_stage_set_vectors";
    REC_TRY(want_kind(s, RR_MMR, RR_MMR, fn, "'mmr'"));
    REC_CHECK_ARG(vecs, fn, "vecs is NULL");
    REC_CHECK_ARG(nitems > 0, fn, "nitems is 0");
    if (dim < 1 || dim > 65536)
        return rec_err(REC_E_INVALID, "%s: dim = %d is outside [1, 65536]", fn, dim);
    size_t total;
    if (!rec_mul_ok(nitems, (size_t)dim, &total) || !rec_mul_ok(total, sizeof(float), &total))
        return rec_err(REC_E_RANGE, "%s: %zu x %d vectors overflow", fn, nitems, dim);
    for (size_t i = 0; i < nitems * (size_t)dim; i++)
        if (!isfinite(vecs[i]))
            return rec_err(REC_E_INVALID, "%s: vecs[%zu] (item %zu) is not a finite number", fn,
                           i, i / (size_t)dim);
    float *v = rec_malloc(total);
    if (!v)
        return rec_nomem(fn);
    /* Unit rows once here, so a similarity is one dot product per pair. */
    for (size_t i = 0; i < nitems; i++) {
        const float *x = vecs + i * (size_t)dim;
        double ss = 0;
        for (int j = 0; j < dim; j++)
            ss += (double)x[j] * x[j];
        float inv = ss > 0 ? (float)(1.0 / sqrt(ss)) : 0.0f;
        for (int j = 0; j < dim; j++)
            v[i * (size_t)dim + j] = x[j] * inv;
    }
    drop_arrays(s);
    s->vecs = v;
    s->dim = dim;
    s->nitems = nitems;
    return REC_OK;
}

REC_API rec_status rec_rerank_create(rec_rerank **out)
{
    REC_CHECK_ARG(out, "rec_rerank_create", "out is NULL");
    *out = rec_calloc(1, sizeof **out);
    return *out ? REC_OK : rec_nomem("rec_rerank_create");
}

REC_API void rec_rerank_destroy(rec_rerank *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        rec_rerank_stage_destroy(r->stage[i]);
    rec_free(r->stage, r->cap * sizeof *r->stage);
    rec_free(r, sizeof *r);
}

REC_API rec_status rec_rerank_add(rec_rerank *r, rec_rerank_stage *s)
{
    static const char *fn = "rec_rerank_add";
    REC_CHECK_ARG(r, fn, "pipeline is NULL");
    REC_CHECK_ARG(s, fn, "stage is NULL");
    for (size_t i = 0; i < r->n; i++)
        REC_CHECK_ARG(r->stage[i] != s, fn, "the stage is already in the pipeline");
    if (s->kind == RR_BOOST && !s->weights)
        return rec_err(REC_E_STATE, "%s: the boost stage has no weights "
                       "(rec_rerank_stage_set_weights)", fn);
    if ((s->kind == RR_CAP || s->kind == RR_MMR) && !s->groups && !s->vecs)
        return rec_err(REC_E_STATE, "%s: the %s stage has no groups%s", fn, s->name,
                       s->kind == RR_MMR ? " or vectors" : "");
    if (r->n == r->cap) {
        size_t nc = r->cap ? 2 * r->cap : 4;
        rec_rerank_stage **g = rec_realloc(r->stage, r->cap * sizeof *g, nc * sizeof *g);
        if (!g)
            return rec_nomem(fn);
        r->stage = g;
        r->cap = nc;
    }
    r->stage[r->n++] = s;
    return REC_OK;
}

REC_API rec_status rec_rerank_size(const rec_rerank *r, size_t *n)
{
    REC_CHECK_ARG(r && n, "rec_rerank_size", "NULL argument");
    *n = r->n;
    return REC_OK;
}

/* ---- the working list ---------------------------------------------------- */

typedef struct rr_entry {
    float score;
    int32_t item;
    size_t pos;
} rr_entry;

static int by_score(const void *a, const void *b)
{
    const rr_entry *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

rec_status rr_sort(rr_list *l)
{
    if (l->n < 2)
        return REC_OK;
    rr_entry *e = rec_malloc(l->n * sizeof *e);
    if (!e)
        return rec_nomem(RR_APPLY);
    for (size_t j = 0; j < l->n; j++)
        e[j] = (rr_entry){ l->score[j], l->item[j], j };
    qsort(e, l->n, sizeof *e, by_score);
    for (size_t j = 0; j < l->n; j++) {
        l->score[j] = e[j].score;
        l->item[j] = e[j].item;
    }
    rec_free(e, l->n * sizeof *e);
    return REC_OK;
}

int rr_contains(const int32_t *a, size_t n, int32_t x)
{
    return n && bsearch(&x, a, n, sizeof *a, rec_cmp_i32) != NULL;
}

void rr_move(rr_list *l, size_t t, size_t j)
{
    int32_t it = l->item[j];
    float sc = l->score[j];
    memmove(l->item + t + 1, l->item + t, (j - t) * sizeof *l->item);
    memmove(l->score + t + 1, l->score + t, (j - t) * sizeof *l->score);
    l->item[t] = it;
    l->score[t] = sc;
}

static rec_status run(const rec_rerank_stage *s, rr_list *l, const rr_call *c)
{
    switch (s->kind) {
    case RR_HIDE: return rr_hide(s, l, c);
    case RR_BOOST: return rr_boost(s, l, c);
    case RR_CAP: return rr_cap(s, l, c);
    case RR_MMR: return rr_mmr(s, l, c);
    case RR_NO_REPEAT: return rr_no_repeat(s, l, c);
    case RR_EXPLORE: return rr_explore(s, l, c);
    }
    return REC_OK;
}

static rec_status check_input(const rec_rerank *r, const int32_t *items, const float *scores,
                              size_t n)
{
    for (size_t j = 0; j < n; j++) {
        if (isnan(scores[j]))
            return rec_err(REC_E_INVALID, "%s: scores[%zu] is NaN", RR_APPLY, j);
        if (items[j] < 0)
            return rec_err(REC_E_RANGE, "%s: items[%zu] = %d is negative", RR_APPLY, j,
                           (int)items[j]);
        for (size_t i = 0; i < r->n; i++) {
            const rec_rerank_stage *s = r->stage[i];
            if (s->nitems && (size_t)items[j] >= s->nitems)
                return rec_err(REC_E_RANGE,
                               "%s: items[%zu] = %d is beyond the %zu items of stage %zu "
                               "('%s')", RR_APPLY, j, (int)items[j], s->nitems, i, s->name);
        }
    }
    return REC_OK;
}

REC_API rec_status rec_rerank_apply(const rec_rerank *r, const int32_t *items,
                                    const float *scores, size_t n, const int32_t *recent,
                                    size_t nrecent, uint64_t seed, size_t k,
                                    int32_t *out_items, float *out_scores, size_t *nout)
{
    REC_CHECK_ARG(nout, RR_APPLY, "nout is NULL");
    *nout = 0;
    REC_CHECK_ARG(r, RR_APPLY, "pipeline is NULL");
    REC_CHECK_ARG(items || n == 0, RR_APPLY, "items is NULL");
    REC_CHECK_ARG(scores || n == 0, RR_APPLY, "scores is NULL");
    REC_CHECK_ARG(recent || nrecent == 0, RR_APPLY, "recent is NULL");
    REC_CHECK_ARG(out_items || k == 0, RR_APPLY, "out_items is NULL");
    REC_TRY(check_input(r, items, scores, n));
    rr_list l = { NULL, NULL, n };
    int32_t *rs = NULL;
    rec_status st = REC_OK;
    size_t cap = n ? n : 1;
    l.item = rec_malloc(cap * sizeof *l.item);
    l.score = rec_malloc(cap * sizeof *l.score);
    if (nrecent)
        rs = rec_malloc(nrecent * sizeof *rs);
    if (!l.item || !l.score || (nrecent && !rs)) {
        st = rec_nomem(RR_APPLY);
        goto done;
    }
    if (n) {
        memcpy(l.item, items, n * sizeof *l.item);
        memcpy(l.score, scores, n * sizeof *l.score);
    }
    if (nrecent) {
        memcpy(rs, recent, nrecent * sizeof *rs);
        qsort(rs, nrecent, sizeof *rs, rec_cmp_i32);
    }
    rr_call c = { rs, nrecent, seed, k };
    st = rr_sort(&l);
    for (size_t i = 0; !st && i < r->n; i++)
        st = run(r->stage[i], &l, &c);
    if (!st) {
        size_t m = l.n < k ? l.n : k;
        if (m) {
            memcpy(out_items, l.item, m * sizeof *out_items);
            if (out_scores)
                memcpy(out_scores, l.score, m * sizeof *out_scores);
        }
        *nout = m;
    }
done:
    rec_free(l.item, cap * sizeof *l.item);
    rec_free(l.score, cap * sizeof *l.score);
    rec_free(rs, nrecent * sizeof *rs);
    return st;
}
