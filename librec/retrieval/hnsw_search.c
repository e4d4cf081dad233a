/* Searching the HNSW graph: the visited-list pool, the greedy descent, the
 * best-first layer search with filters inside it, and the query calls. */
#include "hnsw-impl.h"
#include "index-impl.h"
#include "topk-impl.h"

#include <math.h>
#include <string.h>

/* ---- scratch pool ---- */

/* Grows v to tags for cap slots and heaps for ef results; 0 or -1. */
static int visit_fit(rec_hnsw_visit *v, size_t cap, size_t ef)
{
    if (v->tcap < cap) {
        uint16_t *t = rec_calloc(cap, sizeof *t);
        if (!t)
            return -1;
        rec_free(v->tag, v->tcap * sizeof *v->tag);
        v->tag = t;
        v->tcap = cap;
        v->epoch = 0;
    }
    if (v->rcap < ef) {
        float *rs = rec_malloc(ef * sizeof *rs);
        int32_t *ri = rec_malloc(ef * sizeof *ri);
        if (!rs || !ri) {
            rec_free(rs, ef * sizeof *rs);
            rec_free(ri, ef * sizeof *ri);
            return -1;
        }
        rec_free(v->rs, v->rcap * sizeof *v->rs);
        rec_free(v->ri, v->rcap * sizeof *v->ri);
        v->rs = rs;
        v->ri = ri;
        v->rcap = ef;
    }
    return 0;
}

static rec_hnsw_visit *visit_new(const rec_hnsw *h)
{
    rec_hnsw_visit *v = rec_calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->q = rec_aligned_alloc(h->stride * sizeof(float));
    if (!v->q) {
        rec_free(v, sizeof *v);
        return NULL;
    }
    return v;
}

static void visit_destroy(const rec_hnsw *h, rec_hnsw_visit *v)
{
    rec_free(v->tag, v->tcap * sizeof *v->tag);
    rec_free(v->cs, v->ccap * sizeof *v->cs);
    rec_free(v->ci, v->ccap * sizeof *v->ci);
    rec_free(v->rs, v->rcap * sizeof *v->rs);
    rec_free(v->ri, v->rcap * sizeof *v->ri);
    rec_aligned_free(v->q, h->stride * sizeof(float));
    rec_free(v, sizeof *v);
}

rec_hnsw_visit *rec_hnsw_visit_get(rec_hnsw *h, size_t ef)
{
    pthread_mutex_lock(&h->pool_mu);
    rec_hnsw_visit *v = h->pool;
    if (v)
        h->pool = v->next;
    pthread_mutex_unlock(&h->pool_mu);
    if (!v && !(v = visit_new(h)))
        return NULL;
    if (visit_fit(v, (size_t)h->cap, ef) != 0) {
        rec_hnsw_visit_put(h, v);
        return NULL;
    }
    return v;
}

void rec_hnsw_visit_put(rec_hnsw *h, rec_hnsw_visit *v)
{
    pthread_mutex_lock(&h->pool_mu);
    v->next = h->pool;
    h->pool = v;
    pthread_mutex_unlock(&h->pool_mu);
}

rec_status rec_hnsw_visit_reserve(rec_hnsw *h, int count, size_t ef)
{
    rec_hnsw_visit *got = NULL;
    int ok = 1;
    for (int i = 0; i < count; i++) {
        rec_hnsw_visit *v = rec_hnsw_visit_get(h, ef);
        if (!v) {
            ok = 0;
            break;
        }
        v->next = got;
        got = v;
    }
    while (got) {
        rec_hnsw_visit *n = got->next;
        rec_hnsw_visit_put(h, got);
        got = n;
    }
    return ok ? REC_OK : REC_E_NOMEM;
}

void rec_hnsw_pool_drop(rec_hnsw *h)
{
    while (h->pool) {
        rec_hnsw_visit *n = h->pool->next;
        visit_destroy(h, h->pool);
        h->pool = n;
    }
}

void rec_hnsw_visit_begin(rec_hnsw_visit *v)
{
    if (++v->epoch == 0) {
        memset(v->tag, 0, v->tcap * sizeof *v->tag);
        v->epoch = 1;
    }
    v->cn = 0;
    v->rn = 0;
}

/* ---- candidate max-heap ---- */

static int cand_push(rec_hnsw_visit *v, float s, int32_t id)
{
    if (v->cn == v->ccap) {
        size_t cap = v->ccap ? v->ccap * 2 : 256;
        float *cs = rec_malloc(cap * sizeof *cs);
        int32_t *ci = rec_malloc(cap * sizeof *ci);
        if (!cs || !ci) {
            rec_free(cs, cap * sizeof *cs);
            rec_free(ci, cap * sizeof *ci);
            return -1;
        }
        if (v->cn) {
            memcpy(cs, v->cs, v->cn * sizeof *cs);
            memcpy(ci, v->ci, v->cn * sizeof *ci);
        }
        rec_free(v->cs, v->ccap * sizeof *cs);
        rec_free(v->ci, v->ccap * sizeof *ci);
        v->cs = cs;
        v->ci = ci;
        v->ccap = cap;
    }
    size_t c = v->cn++;
    while (c > 0) {
        size_t p = (c - 1) / 2;
        if (!(v->cs[p] < s))
            break;
        v->cs[c] = v->cs[p];
        v->ci[c] = v->ci[p];
        c = p;
    }
    v->cs[c] = s;
    v->ci[c] = id;
    return 0;
}

static void cand_pop(rec_hnsw_visit *v)
{
    size_t n = --v->cn;
    float s = v->cs[n];
    int32_t id = v->ci[n];
    size_t p = 0;
    for (;;) {
        size_t l = 2 * p + 1, m = l;
        if (l >= n)
            break;
        if (l + 1 < n && v->cs[l + 1] > v->cs[l])
            m = l + 1;
        if (!(v->cs[m] > s))
            break;
        v->cs[p] = v->cs[m];
        v->ci[p] = v->ci[m];
        p = m;
    }
    v->cs[p] = s;
    v->ci[p] = id;
}

/* ---- walks ---- */

static inline void prefetch_node(const rec_hnsw *h, const rec_hnsw_visit *v, int32_t id)
{
    const char *p = (const char *)rec_hnsw_vec(h, id);
    __builtin_prefetch(v->tag + id);
    __builtin_prefetch(p);
    if (h->stride > 16)
        __builtin_prefetch(p + 64);
}

/* Node c's level-lc list copied to buf (count returned): under c's spin
 * lock while building, as another insert may be rewriting it. */
static inline int read_links(const rec_hnsw *h, int32_t c, int lc, int locked, int32_t *buf,
                             const int32_t **out)
{
    const int32_t *l = rec_hnsw_links(h, c, lc);
    if (!l)
        return 0;
    if (!locked) {
        *out = l + 1;
        return l[0];
    }
    rec_hnsw_spin_lock(h, c);
    int m = l[0];
    memcpy(buf, l + 1, (size_t)m * sizeof *buf);
    rec_hnsw_spin_unlock(h, c);
    *out = buf;
    return m;
}

int32_t rec_hnsw_descend(const rec_hnsw *h, const float *q, int32_t ep, int top, int stop,
                         int locked, int32_t skip)
{
    int32_t buf[1 + 2 * 512];
    float best = h->dot(q, rec_hnsw_vec(h, ep), h->stride);
    for (int lc = top; lc > stop; lc--) {
        for (int changed = 1; changed;) {
            changed = 0;
            const int32_t *nb;
            int m = read_links(h, ep, lc, locked, buf, &nb);
            for (int j = 0; j < m; j++) {
                if (j + 1 < m)
                    __builtin_prefetch(rec_hnsw_vec(h, nb[j + 1]));
                /* A stale link into a reused slot now below lc leads nowhere */
                if (nb[j] == skip || h->level[nb[j]] < lc)
                    continue;
                float s = h->dot(q, rec_hnsw_vec(h, nb[j]), h->stride);
                if (s > best) {
                    best = s;
                    ep = nb[j];
                    changed = 1;
                }
            }
        }
    }
    return ep;
}

static inline int passes(const rec_hnsw *h, int32_t c, const rec_filter *f, size_t qi,
                         int dead_ok)
{
    if (!dead_ok && h->dead[c])
        return 0;
    return !f || rec_filter_keep(f, qi, c);
}

int rec_hnsw_search_layer(const rec_hnsw *h, rec_hnsw_visit *v, const float *q, int32_t ep,
                          int lc, size_t ef, const rec_filter *f, size_t qi, int dead_ok,
                          int locked)
{
    int32_t buf[1 + 2 * 512];
    uint16_t e = v->epoch;
    v->tag[ep] = e;
    float s0 = h->dot(q, rec_hnsw_vec(h, ep), h->stride);
    if (passes(h, ep, f, qi, dead_ok))
        rec_topk_push(v->ri, v->rs, ef, &v->rn, ep, s0);
    if (cand_push(v, s0, ep) != 0)
        return -1;
    while (v->cn) {
        float cs = v->cs[0];
        int32_t c = v->ci[0];
        /* Stop when the best candidate cannot improve a full result set;
         * until it is full (filters reject, tombstones) keep walking. */
        if (v->rn == ef && cs < v->rs[0])
            break;
        cand_pop(v);
        const int32_t *nb;
        int m = read_links(h, c, lc, locked, buf, &nb);
        if (m > 0)
            prefetch_node(h, v, nb[0]);
        for (int j = 0; j < m; j++) {
            int32_t id = nb[j];
            if (j + 1 < m)
                prefetch_node(h, v, nb[j + 1]);
            if (v->tag[id] == e)
                continue;
            v->tag[id] = e;
            if (lc && h->level[id] < lc)
                continue;
            float s = h->dot(q, rec_hnsw_vec(h, id), h->stride);
            if (v->rn < ef || s > v->rs[0]) {
                if (cand_push(v, s, id) != 0)
                    return -1;
                if (passes(h, id, f, qi, dead_ok))
                    rec_topk_push(v->ri, v->rs, ef, &v->rn, id, s);
            }
        }
    }
    return 0;
}

/* ---- queries ---- */

typedef struct query_job {
    rec_hnsw *h;
    const float *queries;
    size_t k, ef;
    const rec_filter *f;
    int32_t *labels;
    float *scores;
    atomic_int failed;
} query_job;

static void one_query(const rec_hnsw *h, rec_hnsw_visit *v, const float *qin, size_t qi,
                      const query_job *j, int *failed)
{
    int32_t *lab = j->labels + qi * j->k;
    float *sc = j->scores ? j->scores + qi * j->k : NULL;
    size_t got = 0;
    if (h->entry >= 0) {
        memcpy(v->q, qin, (size_t)h->dim * sizeof *v->q);
        memset(v->q + h->dim, 0, (h->stride - (size_t)h->dim) * sizeof *v->q);
        if (h->cosine)
            rec_index_normalise(v->q, h->dim);
        int32_t ep = rec_hnsw_descend(h, v->q, h->entry, h->maxlevel, 0, 0, -1);
        rec_hnsw_visit_begin(v);
        if (rec_hnsw_search_layer(h, v, v->q, ep, 0, j->ef, j->f, qi, 0, 0) != 0) {
            *failed = 1;
            return;
        }
        got = rec_topk_finish(v->ri, v->rs, v->rn);
        if (got > j->k)
            got = j->k;
        memcpy(lab, v->ri, got * sizeof *lab);
        if (sc)
            memcpy(sc, v->rs, got * sizeof *sc);
    }
    for (size_t t = got; t < j->k; t++) {
        lab[t] = -1;
        if (sc)
            sc[t] = -INFINITY;
    }
}

static void query_range(void *arg, int64_t b, int64_t e, int chunk)
{
    (void)chunk;
    query_job *j = arg;
    rec_hnsw_visit *v = rec_hnsw_visit_get(j->h, j->ef);
    if (!v) {
        atomic_store(&j->failed, 1);
        return;
    }
    int failed = 0;
    for (int64_t q = b; q < e && !failed; q++)
        one_query(j->h, v, j->queries + (size_t)q * (size_t)j->h->dim, (size_t)q, j, &failed);
    rec_hnsw_visit_put(j->h, v);
    if (failed)
        atomic_store(&j->failed, 1);
}

rec_status rec_hnsw_search(rec_hnsw *h, const float *queries, size_t nq, size_t k, size_t ef,
                           const rec_filter *f, int32_t *labels, float *scores, const char *fn)
{
    query_job j = { .h = h, .queries = queries, .k = k, .ef = ef > k ? ef : k, .f = f,
                    .labels = labels, .scores = scores };
    atomic_init(&j.failed, 0);
    int threads = rec_in_parallel() ? 1 : rec_get_num_threads();
    /* Small chunks taken dynamically: queries differ in cost (filters). */
    int64_t nchunks = threads > 1 ? ((int64_t)nq + 15) / 16 : 1;
    if (nchunks > (int64_t)threads * 16)
        nchunks = (int64_t)threads * 16;
    if (nchunks < 1)
        nchunks = 1;
    if (nchunks == 1)
        query_range(&j, 0, (int64_t)nq, 0);
    else
        rec_parallel_chunks((int64_t)nq, (int)nchunks, query_range, &j);
    if (atomic_load(&j.failed))
        return rec_nomem(fn);
    return REC_OK;
}
