/* Serving an inner-product model from its vectors: one path for every kind
 * with vt->vectors, so no kind carries its own copy.  With index=exact the
 * item vectors are packed for the block kernel (ipblock-impl.h), which a
 * single recommend and a batch share, so a batch row equals a single call
 * bit for bit while a batch reads the items once per 8 users.  With
 * index=hnsw:  The index holds the item vectors and is built at the end
 * of fit, saved in the model's file under "index." and mapped back at load
 * (no rebuild); the user vectors are the queries, taken from the kind once
 * after fit or load.  The seen items, and a batch's allow/deny sets,
 * exclude lists and predicate, are applied inside the search (which keeps
 * walking past filtered nodes), never by dropping results afterwards. */
#include "model-impl.h"
#include "retrieval/index-impl.h"

#include <stdio.h>
#include <string.h>

static int wants_hnsw(const rec_model *m)
{
    return rec_model_has_key(m, "index") && strcmp(rec_model_str(m, "index"), "hnsw") == 0;
}

void rec_model_index_free(rec_model *m)
{
    rec_index_destroy(m->ix);
    rec_ippack_free(&m->pack);
    rec_free(m->uvec, ((size_t)m->nusers * (size_t)m->vdim + 1) * sizeof *m->uvec);
    m->ix = NULL;
    m->uvec = NULL;
    m->vdim = 0;
}

/* The user vectors [nusers, d] into m->uvec. */
static rec_status take_users(rec_model *m, int d, const char *fn)
{
    size_t bytes = ((size_t)m->nusers * (size_t)d + 1) * sizeof *m->uvec;
    float *u = rec_malloc(bytes);
    if (!u)
        return rec_nomem(fn);
    int dd = 0;
    rec_status st = m->vt->vectors(m, REC_SIDE_USER, u, &dd);
    if (!st && dd != d)
        st = rec_err(REC_E_INVALID, "%s: %s's user vectors have %d dimensions, its items %d",
                     fn, m->vt->kind, dd, d);
    if (st) {
        rec_free(u, bytes);
        return st;
    }
    m->uvec = u;
    m->vdim = d;
    return REC_OK;
}

/* The index over the item vectors, with the model's index_* params. */
static rec_status build(rec_model *m, int d, rec_index **out, const char *fn)
{
    size_t bytes = ((size_t)m->nitems * (size_t)d + 1) * sizeof(float);
    float *items = rec_malloc(bytes);
    rec_params *p = NULL;
    rec_index *ix = NULL;
    rec_status st = items ? rec_params_create(&p) : rec_nomem(fn);
    int dd = 0;
    if (!st)
        st = m->vt->vectors(m, REC_SIDE_ITEM, items, &dd);
    if (!st)
        st = rec_params_set_int(p, "M", rec_model_int(m, "index_m"));
    if (!st)
        st = rec_params_set_int(p, "ef_construction", rec_model_int(m, "index_ef_construction"));
    if (!st)
        st = rec_params_set_int(p, "ef", rec_model_int(m, "index_ef"));
    if (!st && rec_model_has_key(m, "seed"))
        st = rec_params_set_int(p, "seed", rec_model_int(m, "seed"));
    if (!st)
        st = rec_index_create_kind(&ix, "hnsw", d, p);
    if (!st)
        st = rec_index_add(ix, items, (size_t)m->nitems);
    rec_params_destroy(p);
    rec_free(items, bytes);
    if (st) {
        rec_index_destroy(ix);
        return st;
    }
    *out = ix;
    return REC_OK;
}

/* The item vectors packed for the exact block kernel into pk. */
static rec_status pack(rec_model *m, int d, rec_ippack *pk, const char *fn)
{
    size_t bytes = ((size_t)m->nitems * (size_t)d + 1) * sizeof(float);
    float *items = rec_malloc(bytes);
    int dd;
    rec_status st = items ? m->vt->vectors(m, REC_SIDE_ITEM, items, &dd) : rec_nomem(fn);
    if (!st)
        st = rec_ippack_build(pk, items, m->nitems, d, fn);
    rec_free(items, bytes);
    return st;
}

/* Users, then the index or the pack (none for a kind that searches its own
 * index: twotower). */
static rec_status prepare(rec_model *m, const char *fn)
{
    int hnsw = wants_hnsw(m);
    if (!m->vt->vectors || (!hnsw && m->vt->recommend))
        return REC_OK;
    int d;
    rec_status st = m->vt->vectors(m, REC_SIDE_ITEM, NULL, &d);
    /* A fit whose scores are not inner products (graphmf's linear filter)
     * is served by the kind's own scoring. */
    if (st == REC_E_UNSUPPORTED && !hnsw)
        return REC_OK;
    REC_TRY(st);
    REC_TRY(take_users(m, d, fn));
    return hnsw ? build(m, d, &m->ix, fn) : pack(m, d, &m->pack, fn);
}

rec_status rec_model_index_items(rec_model *m, int32_t nitems, rec_index **ix, rec_ippack *pk,
                                 const char *fn)
{
    *ix = NULL;
    memset(pk, 0, sizeof *pk);
    if (!m->ix && !m->pack.p)
        return REC_OK;
    int32_t was = m->nitems;
    m->nitems = nitems;
    rec_status st = m->ix ? build(m, m->vdim, ix, fn) : pack(m, m->vdim, pk, fn);
    m->nitems = was;
    return st;
}

void rec_model_index_take_items(rec_model *m, rec_index *ix, rec_ippack *pk)
{
    if (!m->ix && !m->pack.p)
        return;
    if (m->ix) {
        rec_index_destroy(m->ix);
        m->ix = ix;
    } else {
        rec_ippack_free(&m->pack);
        m->pack = *pk;
    }
}

void rec_model_pack_scores(const rec_model *m, const int32_t *users, int nq, float *q,
                           float *out, size_t ld)
{
    size_t d = (size_t)m->vdim;
    for (int r = 0; r < nq; r++)
        memcpy(q + (size_t)r * d, m->uvec + (size_t)users[r] * d, d * sizeof *q);
    rec_ipblock_scores(&m->pack, q, nq, out, ld);
}

rec_status rec_model_index_build(rec_model *m, const char *fn)
{
    rec_model_index_free(m);
    rec_status st = prepare(m, fn);
    if (st)
        rec_model_index_free(m);
    return st;
}

rec_status rec_model_index_put(const rec_model *m, rec_lrm_writer *w, void **keep, size_t *kb)
{
    *keep = NULL;
    *kb = 0;
    return m->ix ? rec_index_put(w, m->ix, "index.", keep, kb) : REC_OK;
}

rec_status rec_model_index_load(rec_model *m, rec_lrm_reader *r, const char *path, int *took)
{
    static const char fn[] = "rec_model_load";
    *took = 0;
    if (!wants_hnsw(m))
        return prepare(m, fn);
    if (!m->vt->vectors)
        return rec_err(REC_E_FORMAT, "%s: %s has no vectors to index", path, m->vt->kind);
    int d;
    REC_TRY(m->vt->vectors(m, REC_SIDE_ITEM, NULL, &d));
    REC_TRY(take_users(m, d, fn));
    /* A file without the index (written before the model had one) builds it. */
    if (!rec_lrm_has_tensor(r, "index.head"))
        return build(m, d, &m->ix, fn);
    REC_TRY(rec_index_get(r, "index.", path, &m->ix, took));
    size_t n;
    int id;
    rec_index_size(m->ix, &n);
    rec_index_dim(m->ix, &id);
    if (n != (size_t)m->nitems || id != d || !m->ix->hnsw)
        return rec_err(REC_E_FORMAT, "%s: the index holds %zu vectors of %d dimensions, the "
                       "model %d items of %d", path, n, id, m->nitems, d);
    return REC_OK;
}

/* A batch's per-user exclude lists and predicate, asked for user q of the
 * batch while the index searches one query (its query 0). */
typedef struct caller_rules {
    const rec_filter *f;
    size_t q;
} caller_rules;

static int caller_keeps(int32_t j, size_t q0, void *ctx)
{
    (void)q0;
    const caller_rules *c = ctx;
    return !rec_filter_excluded(c->f, c->q, j) &&
           (!c->f->pred || c->f->pred(j, c->q, c->f->pred_ctx));
}

rec_status rec_model_index_recommend(const rec_model *m, int32_t u, size_t k, int include_seen,
                                     const rec_filter *f, size_t q, int32_t *idx, float *val,
                                     size_t *got, const char *fn)
{
    /* One filter for this query: the caller's sets, u's seen items as the
     * exclude list of query 0 (m->seen is sorted per user), the caller's
     * own lists and predicate through caller_keeps. */
    int64_t xptr[2] = { m->seen_ptr[u], m->seen_ptr[u + 1] };
    caller_rules rules = { f, q };
    rec_filter g = { .nlabels = m->nitems };
    if (f) {
        g.words = f->words;
        g.deny = f->deny;
        g.allow = f->allow;
        if (f->nq || f->pred) {
            g.pred = caller_keeps;
            g.pred_ctx = &rules;
        }
    }
    if (!include_seen) {
        g.nq = 1;
        g.xptr = xptr;
        g.xids = m->seen;
    }
    const float *qv = m->uvec + (size_t)u * (size_t)m->vdim;
    REC_TRY(rec_index_search_as(m->ix, qv, 1, k, (size_t)m->ix->ef_default, &g, idx, val, fn));
    size_t n = 0;
    while (n < k && idx[n] >= 0)
        n++;
    *got = n;
    return REC_OK;
}
