/* Serving many users from a fitted model: dense indices in and out, a batch
 * of users per call spread over librec's pool, per-call filters, and the
 * vectors behind the inner-product kinds.  Each user of a batch takes the
 * path rec_model_recommend takes for it (the kind's scores or its own index,
 * the seen items, the same top-k), so a batch equals one call per user. */
#include "model-impl.h"
#include "retrieval/filter-impl.h"
#include "retrieval/topk-impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

REC_API rec_status rec_model_user_index(const rec_model *m, const char *id, int32_t *u)
{
    REC_TRY(rec_model_need_fitted(m, "rec_model_user_index"));
    REC_CHECK_ARG(u, "rec_model_user_index", "u is NULL");
    return rec_model_find_user(m, id, "rec_model_user_index", u);
}

REC_API rec_status rec_model_item_index(const rec_model *m, const char *id, int32_t *i)
{
    REC_TRY(rec_model_need_fitted(m, "rec_model_item_index"));
    REC_CHECK_ARG(i, "rec_model_item_index", "i is NULL");
    return rec_model_find_item(m, id, "rec_model_item_index", i);
}

static rec_status id_at(const rec_model *m, const rec_idmap *map, int32_t n, int32_t x,
                        const char **id, const char *fn)
{
    REC_TRY(rec_model_need_fitted(m, fn));
    REC_CHECK_ARG(id, fn, "id is NULL");
    if (x < 0 || x >= n)
        return rec_err(REC_E_RANGE, "%s: index %d is outside [0, %d)", fn, x, n);
    *id = rec_idmap_name(map, x);
    return REC_OK;
}

REC_API rec_status rec_model_user_id(const rec_model *m, int32_t u, const char **id)
{
    return id_at(m, m ? m->users : NULL, m ? m->nusers : 0, u, id, "rec_model_user_id");
}

REC_API rec_status rec_model_item_id(const rec_model *m, int32_t i, const char **id)
{
    return id_at(m, m ? m->items : NULL, m ? m->nitems : 0, i, id, "rec_model_item_id");
}

/* ---- batches ---------------------------------------------------------------- */

typedef struct batch {
    const rec_model *m;
    const int32_t *users;
    size_t k, kk;           /* the caller's row length, and min(k, nitems) */
    int include_seen;
    const rec_filter *f;
    int32_t *items;
    float *scores;
    size_t ld;              /* a score row: nitems, or whole blocks with a pack */
    size_t per;             /* scratch floats per chunk */
    float *scratch;         /* [nchunks, per]: score rows (MAXQ with a pack),
                               top-k values, the block's user vectors */
    int32_t *idx;           /* [nchunks, kk] */
    rec_status *st;         /* [nchunks] first failure of each chunk */
    char (*msg)[256];       /* [nchunks] its message (rec_last_error is per thread) */
} batch;

/* Top kk of user u (position q of the batch) from its scores buf, which
 * this masks: the seen items, then the filter, as rec_model_recommend. */
static size_t select_top(const batch *b, size_t q, int32_t u, float *buf, int32_t *idx,
                         float *val)
{
    const rec_model *m = b->m;
    if (!b->include_seen)
        for (int64_t j = m->seen_ptr[u]; j < m->seen_ptr[u + 1]; j++)
            buf[m->seen[j]] = -INFINITY;
    if (b->f)
        for (int32_t j = 0; j < m->nitems; j++)
            if (buf[j] != -INFINITY && !rec_filter_keep(b->f, q, j))
                buf[j] = -INFINITY;
    return rec_topk(buf, m->nitems, b->kk, idx, val);
}

/* Top kk of user u (position q of the batch) into idx/val; *got the count. */
static rec_status one_user(const batch *b, size_t q, int32_t u, float *buf, int32_t *idx,
                           float *val, size_t *got)
{
    const rec_model *m = b->m;
    if (m->ix)
        return rec_model_index_recommend(m, u, b->kk, b->include_seen, b->f, q, idx, val, got,
                                         "rec_model_recommend_batch");
    /* Without a filter the kind's own index answers as rec_model_recommend
     * does; a filter needs every item's score. */
    if (m->vt->recommend && !b->f)
        return m->vt->recommend(m, u, b->kk, b->include_seen, idx, val, got);
    REC_TRY(m->vt->score_user(m, u, buf));
    *got = select_top(b, q, u, buf, idx, val);
    return REC_OK;
}

/* Row q of the output from the top-k found. */
static void emit(const batch *b, size_t q, const int32_t *idx, const float *val, size_t got)
{
    int32_t *oi = b->items + q * b->k;
    memcpy(oi, idx, got * sizeof *oi);
    for (size_t j = got; j < b->k; j++)
        oi[j] = -1;
    if (b->scores) {
        float *os = b->scores + q * b->k;
        memcpy(os, val, got * sizeof *os);
        for (size_t j = got; j < b->k; j++)
            os[j] = -INFINITY;
    }
}

static void run_chunk(void *arg, int64_t begin, int64_t end, int chunk)
{
    const batch *b = arg;
    const rec_model *m = b->m;
    float *buf = b->scratch + (size_t)chunk * b->per;
    int32_t *idx = b->idx + (size_t)chunk * b->kk;
    if (m->pack.p) {
        /* Up to MAXQ users per pass over the items. */
        float *val = buf + REC_IPBLOCK_MAXQ * b->ld, *qv = val + b->kk;
        for (int64_t q = begin; q < end; q += REC_IPBLOCK_MAXQ) {
            int nq = (int)(end - q < REC_IPBLOCK_MAXQ ? end - q : REC_IPBLOCK_MAXQ);
            rec_model_pack_scores(m, b->users + q, nq, qv, buf, b->ld);
            for (int r = 0; r < nq; r++) {
                size_t at = (size_t)q + (size_t)r;
                emit(b, at, idx, val, select_top(b, at, b->users[at], buf + r * b->ld, idx, val));
            }
        }
        return;
    }
    float *val = buf + b->ld;
    for (int64_t q = begin; q < end && !b->st[chunk]; q++) {
        size_t got = 0;
        rec_status st = one_user(b, (size_t)q, b->users[q], buf, idx, val, &got);
        if (st) {
            b->st[chunk] = st;
            snprintf(b->msg[chunk], sizeof b->msg[chunk], "%s", rec_last_error());
            return;
        }
        emit(b, (size_t)q, idx, val, got);
    }
}

REC_API rec_status rec_model_recommend_batch(const rec_model *m, const int32_t *users, size_t n,
                                             size_t k, unsigned flags, const rec_filter *filter,
                                             int32_t *items, float *scores)
{
    static const char fn[] = "rec_model_recommend_batch";
    REC_TRY(rec_model_need_fitted(m, fn));
    REC_CHECK_ARG(users || n == 0, fn, "users is NULL");
    REC_CHECK_ARG(items || n == 0, fn, "items is NULL");
    REC_CHECK_ARG(k > 0, fn, "k is 0");
    REC_CHECK_ARG(!(flags & ~REC_INCLUDE_SEEN), fn, "unknown flags");
    if (filter && filter->nlabels != m->nitems)
        return rec_err(REC_E_INVALID, "%s: the filter covers %lld labels, the model %d items", fn,
                       (long long)filter->nlabels, m->nitems);
    if (filter && filter->nq && filter->nq != n)
        return rec_err(REC_E_INVALID, "%s: the filter has exclude lists for %zu users, not %zu",
                       fn, filter->nq, n);
    size_t rows;
    if (!rec_mul_ok(n, k, &rows) || rows > (size_t)1 << 40)
        return rec_err(REC_E_INVALID, "%s: n * k = %zu * %zu is too large", fn, n, k);
    for (size_t q = 0; q < n; q++)
        if (users[q] < 0 || users[q] >= m->nusers)
            return rec_err(REC_E_RANGE, "%s: users[%zu] = %d is outside [0, %d)", fn, q,
                           users[q], m->nusers);
    if (n == 0)
        return REC_OK;
    batch b = { .m = m, .users = users, .k = k, .f = filter, .items = items, .scores = scores,
                .include_seen = (flags & REC_INCLUDE_SEEN) != 0 };
    b.kk = k < (size_t)m->nitems ? k : (size_t)m->nitems;
    /* A few chunks per thread, taken dynamically, so one slow user (a long
     * sasrec history) does not hold the rest up. */
    int threads = rec_in_parallel() ? 1 : rec_get_num_threads();
    size_t want = (size_t)threads * 4;
    int nchunks = (int)(n < want ? n : want);
    b.ld = m->pack.p ? rec_ippack_padded(m->nitems) : (size_t)m->nitems;
    b.per = m->pack.p ? REC_IPBLOCK_MAXQ * (b.ld + (size_t)m->vdim) + b.kk : b.ld + b.kk;
    size_t fl = (size_t)nchunks * b.per;
    size_t bytes = fl * sizeof(float) + (size_t)nchunks * b.kk * sizeof(int32_t) +
                   (size_t)nchunks * (sizeof(rec_status) + sizeof *b.msg);
    char *mem = rec_calloc(1, bytes);
    if (!mem)
        return rec_nomem(fn);
    b.scratch = (float *)mem;
    b.idx = (int32_t *)(b.scratch + fl);
    b.st = (rec_status *)(b.idx + (size_t)nchunks * b.kk);
    b.msg = (char (*)[256])(b.st + nchunks);
    rec_parallel_chunks((int64_t)n, nchunks, run_chunk, &b);
    rec_status st = REC_OK;
    for (int c = 0; c < nchunks && !st; c++)
        if (b.st[c])
            st = rec_err(b.st[c], "%s", b.msg[c]);
    rec_free(mem, bytes);
    return st;
}

REC_API rec_status rec_model_recommend_batch_ids(const rec_model *m, const char *const *users,
                                                 size_t n, size_t k, unsigned flags,
                                                 const rec_filter *filter, int32_t *items,
                                                 float *scores)
{
    static const char fn[] = "rec_model_recommend_batch_ids";
    REC_TRY(rec_model_need_fitted(m, fn));
    REC_CHECK_ARG(users || n == 0, fn, "users is NULL");
    int32_t *ux = rec_malloc((n ? n : 1) * sizeof *ux);
    if (!ux)
        return rec_nomem(fn);
    rec_status st = REC_OK;
    for (size_t q = 0; q < n && !st; q++) {
        if (!users[q])
            st = rec_err(REC_E_INVALID, "%s: users[%zu] is NULL", fn, q);
        else if ((ux[q] = rec_idmap_find(m->users, users[q], strlen(users[q]))) < 0)
            st = rec_err(REC_E_NOTFOUND, "%s: users[%zu] = '%s' is an unknown user", fn, q,
                         users[q]);
    }
    if (!st)
        st = rec_model_recommend_batch(m, ux, n, k, flags, filter, items, scores);
    rec_free(ux, (n ? n : 1) * sizeof *ux);
    return st;
}

/* ---- a candidate list ---------------------------------------------------------- */

/* Valid indices items[n] of user u into out[n], the way rec_model_score
 * scores one pair. */
static rec_status score_list(const rec_model *m, int32_t u, const int32_t *items, size_t n,
                             float *out, const char *fn)
{
    if (m->vt->score_items)
        return m->vt->score_items(m, u, items, n, out);
    if (m->vt->score_pair) {
        for (size_t j = 0; j < n; j++)
            REC_TRY(m->vt->score_pair(m, u, items[j], &out[j]));
        return REC_OK;
    }
    size_t ni = (size_t)m->nitems;
    float *all = rec_malloc(ni * sizeof *all);
    if (!all)
        return rec_nomem(fn);
    rec_status st = m->vt->score_user(m, u, all);
    for (size_t j = 0; !st && j < n; j++)
        out[j] = all[items[j]];
    rec_free(all, ni * sizeof *all);
    return st;
}

REC_API rec_status rec_model_score_items(const rec_model *m, int32_t user, const int32_t *items,
                                         size_t n, float *scores)
{
    static const char fn[] = "rec_model_score_items";
    REC_TRY(rec_model_need_fitted(m, fn));
    REC_CHECK_ARG(items || n == 0, fn, "items is NULL");
    REC_CHECK_ARG(scores || n == 0, fn, "scores is NULL");
    if (user < 0 || user >= m->nusers)
        return rec_err(REC_E_RANGE, "%s: user %d is outside [0, %d)", fn, user, m->nusers);
    size_t pad = 0;
    for (size_t j = 0; j < n; j++) {
        if (items[j] < -1 || items[j] >= m->nitems)
            return rec_err(REC_E_RANGE, "%s: items[%zu] = %d is outside [0, %d) (or -1)", fn, j,
                           items[j], m->nitems);
        pad += items[j] == -1;
    }
    if (!pad)
        return n ? score_list(m, user, items, n, scores, fn) : REC_OK;
    /* the padding out of the kind's way: score the rest, then spread back */
    size_t live = n - pad;
    int32_t *li = rec_malloc((live ? live : 1) * sizeof *li);
    float *ls = rec_malloc((live ? live : 1) * sizeof *ls);
    rec_status st = li && ls ? REC_OK : rec_nomem(fn);
    size_t q = 0;
    for (size_t j = 0; !st && j < n; j++)
        if (items[j] >= 0)
            li[q++] = items[j];
    if (!st && live)
        st = score_list(m, user, li, live, ls, fn);
    q = 0;
    for (size_t j = 0; !st && j < n; j++)
        scores[j] = items[j] >= 0 ? ls[q++] : -INFINITY;
    rec_free(li, (live ? live : 1) * sizeof *li);
    rec_free(ls, (live ? live : 1) * sizeof *ls);
    return st;
}

/* ---- vectors ---------------------------------------------------------------- */

rec_status rec_model_copy_vectors(const rec_model *m, rec_side side, const float *users,
                                  const float *items, int d, float *out, int *dim)
{
    *dim = d;
    if (out) {
        size_t rows = (size_t)(side == REC_SIDE_USER ? m->nusers : m->nitems);
        memcpy(out, side == REC_SIDE_USER ? users : items, rows * (size_t)d * sizeof *out);
    }
    return REC_OK;
}

REC_API rec_status rec_model_vectors(const rec_model *m, rec_side side, float *out, size_t size,
                                     int *dim)
{
    static const char fn[] = "rec_model_vectors";
    REC_TRY(rec_model_need_fitted(m, fn));
    REC_CHECK_ARG(dim, fn, "dim is NULL");
    REC_CHECK_ARG(side == REC_SIDE_USER || side == REC_SIDE_ITEM, fn, "side is not a rec_side");
    if (!m->vt->vectors)
        return rec_err(REC_E_UNSUPPORTED, "%s: %s's scores are not inner products of vectors",
                       fn, m->vt->kind);
    REC_TRY(m->vt->vectors(m, side, NULL, dim));
    if (!out)
        return REC_OK;
    size_t rows = (size_t)(side == REC_SIDE_USER ? m->nusers : m->nitems);
    size_t need = rows * (size_t)*dim;
    if (size < need)
        return rec_err(REC_E_RANGE, "%s: out has room for %zu floats, the %s vectors need %zu "
                       "(%zu x %d)", fn, size, side == REC_SIDE_USER ? "user" : "item", need,
                       rows, *dim);
    return m->vt->vectors(m, side, out, dim);
}
