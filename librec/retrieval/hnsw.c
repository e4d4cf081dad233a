/* The HNSW object: slots, levels, tombstones and their reuse, and the
 * threaded add.  A deleted node stays in the graph as a tombstone: searches
 * walk through it (the graph stays connected) but never return it, and the
 * next add reuses its slot: the new vector gets the label, fresh lists and
 * a fresh level, so the memory stays flat under churn.  Old links into a
 * reused slot are kept: they are valid edges (to a different vector), and
 * link_back tolerates those that point above the slot's new level.  When
 * the top node is deleted, the live node of highest level takes its place
 * (the graph above that level is then unused until a higher node comes). */
#include "hnsw-impl.h"
#include "core/lrm-impl.h"
#include "index-impl.h"

#include <math.h>
#include <string.h>

void rec_hnsw_pool_drop(rec_hnsw *h);

rec_status rec_hnsw_create(rec_hnsw **out, int dim, int cosine, int M, int efc, uint64_t seed)
{
    rec_hnsw *h = rec_calloc(1, sizeof *h);
    if (!h)
        return rec_nomem("rec_index_create_kind");
    h->dim = dim;
    h->cosine = cosine;
    h->M = M;
    h->M0 = 2 * M;
    h->efc = efc;
    h->seed = seed;
    h->mult = 1.0 / log((double)M);
    h->stride = rec_dot_padded((size_t)dim);
    h->entry = -1;
    h->maxlevel = -1;
    h->dot = rec_dot_kernel();
    pthread_mutex_init(&h->top, NULL);
    pthread_mutex_init(&h->pool_mu, NULL);
    *out = h;
    return REC_OK;
}

static size_t up_bytes(const rec_hnsw *h, int level)
{
    return (size_t)level * (size_t)(1 + h->M) * sizeof(int32_t);
}

static size_t l0_row(const rec_hnsw *h)
{
    return (size_t)(1 + h->M0);
}

void rec_hnsw_destroy(rec_hnsw *h)
{
    if (!h)
        return;
    size_t cap = (size_t)h->cap;
    for (int64_t i = 0; i < h->n; i++)
        if (h->up && h->up[i])
            rec_free(h->up[i], up_bytes(h, h->level[i]));
    if (h->reader) {
        rec_lrm_close(h->reader);
    } else {
        rec_aligned_free(h->x, cap * h->stride * sizeof(float));
        rec_free(h->l0, cap * l0_row(h) * sizeof(int32_t));
    }
    rec_free(h->up, cap * sizeof *h->up);
    rec_free(h->level, cap);
    rec_free(h->dead, cap);
    rec_free(h->freed, cap * sizeof *h->freed);
    rec_free(h->spin, cap);
    rec_hnsw_pool_drop(h);
    pthread_mutex_destroy(&h->top);
    pthread_mutex_destroy(&h->pool_mu);
    rec_free(h, sizeof *h);
}

size_t rec_hnsw_slots(const rec_hnsw *h)
{
    return (size_t)h->n;
}

size_t rec_hnsw_live(const rec_hnsw *h)
{
    return (size_t)(h->n - h->ndead);
}

/* Moves every table to cap slots (or, for a loaded index, to owned memory
 * of its own size); all or nothing. */
static rec_status grow(rec_hnsw *h, int64_t cap, const char *fn)
{
    size_t c = (size_t)cap, oc = (size_t)h->cap, n = (size_t)h->n, xb, lb;
    if (!rec_mul_ok(c, h->stride * sizeof(float), &xb) ||
        !rec_mul_ok(c, l0_row(h) * sizeof(int32_t), &lb))
        return rec_err(REC_E_NOMEM, "%s: %lld slots overflow", fn, (long long)cap);
    float *x = rec_aligned_alloc(xb);
    int32_t *l0 = rec_malloc(lb);
    int32_t **up = rec_calloc(c, sizeof *up);
    int8_t *level = rec_calloc(c, 1);
    uint8_t *dead = rec_calloc(c, 1);
    int32_t *freed = rec_malloc(c * sizeof *freed);
    atomic_uchar *spin = rec_calloc(c, 1);
    if (!x || !l0 || !up || !level || !dead || !freed || !spin) {
        if (x)
            rec_aligned_free(x, xb);
        rec_free(l0, lb);
        rec_free(up, c * sizeof *up);
        rec_free(level, c);
        rec_free(dead, c);
        rec_free(freed, c * sizeof *freed);
        rec_free(spin, c);
        return rec_nomem(fn);
    }
    if (n) {
        memcpy(x, h->x, n * h->stride * sizeof(float));
        memcpy(l0, h->l0, n * l0_row(h) * sizeof(int32_t));
        memcpy(up, h->up, n * sizeof *up);
        memcpy(level, h->level, n);
        memcpy(dead, h->dead, n);
        memcpy(freed, h->freed, (size_t)h->nfree * sizeof *freed);
    }
    if (h->reader) {
        rec_lrm_close(h->reader);
        h->reader = NULL;
    } else {
        rec_aligned_free(h->x, oc * h->stride * sizeof(float));
        rec_free(h->l0, oc * l0_row(h) * sizeof(int32_t));
    }
    rec_free(h->up, oc * sizeof *h->up);
    rec_free(h->level, oc);
    rec_free(h->dead, oc);
    rec_free(h->freed, oc * sizeof *h->freed);
    rec_free(h->spin, oc);
    h->x = x;
    h->l0 = l0;
    h->up = up;
    h->level = level;
    h->dead = dead;
    h->freed = freed;
    h->spin = spin;
    h->cap = cap;
    return REC_OK;
}

rec_status rec_hnsw_own(rec_hnsw *h, const char *fn)
{
    return h->reader ? grow(h, h->cap, fn) : REC_OK;
}

/* Level of the d-th node drawn: floor(-ln(u) / ln M), u uniform in (0, 1]
 * from a hash of (seed, d), so levels depend on the seed and the order of
 * adds, never on threads. */
static int draw_level(const rec_hnsw *h, uint64_t d)
{
    uint64_t z = h->seed + (d + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    double u = ((double)(z >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double l = -log(u) * h->mult;
    return l >= REC_HNSW_MAX_LEVEL ? REC_HNSW_MAX_LEVEL : (int)l;
}

typedef struct add_job {
    rec_hnsw *h;
    const int32_t *slots;
} add_job;

static void add_range(void *arg, int64_t b, int64_t e, int chunk)
{
    (void)chunk;
    add_job *j = arg;
    /* The pool holds a fitted scratch per thread (reserved before). */
    rec_hnsw_visit *v = rec_hnsw_visit_get(j->h, (size_t)j->h->efc);
    for (int64_t i = b; i < e; i++)
        rec_hnsw_insert(j->h, j->slots[i], v);
    rec_hnsw_visit_put(j->h, v);
}

rec_status rec_hnsw_add(rec_hnsw *h, const float *vecs, size_t n, int32_t *labels,
                        const char *fn)
{
    size_t reuse = n < (size_t)h->nfree ? n : (size_t)h->nfree;
    size_t fresh = n - reuse;
    if (fresh > (size_t)INT32_MAX - (size_t)h->n)
        return rec_err(REC_E_RANGE, "%s: %lld + %zu vectors exceed 2^31-1", fn,
                       (long long)h->n, fresh);
    int64_t need = h->n + (int64_t)fresh;
    if (need > h->cap) {
        int64_t cap = h->cap * 2 > need ? h->cap * 2 : need;
        if (cap < 1024)
            cap = 1024;
        if (cap > INT32_MAX)
            cap = INT32_MAX;
        REC_TRY(grow(h, cap, fn));
    } else {
        REC_TRY(rec_hnsw_own(h, fn));
    }
    int threads = rec_in_parallel() ? 1 : rec_get_num_threads();
    int32_t *slots = rec_malloc(n * sizeof *slots);
    int32_t **ups = rec_calloc(n, sizeof *ups);
    int8_t *lv = rec_malloc(n);
    int ok = slots && ups && lv;
    for (size_t i = 0; ok && i < n; i++) {
        lv[i] = (int8_t)draw_level(h, h->drawn + i);
        if (lv[i] && !(ups[i] = rec_calloc(1, up_bytes(h, lv[i]))))
            ok = 0;
    }
    if (ok)
        ok = rec_hnsw_visit_reserve(h, threads, (size_t)h->efc) == REC_OK;
    if (!ok) {
        for (size_t i = 0; ups && i < n; i++)
            if (ups[i])
                rec_free(ups[i], up_bytes(h, lv[i]));
        rec_free(slots, n * sizeof *slots);
        rec_free(ups, n * sizeof *ups);
        rec_free(lv, n);
        return rec_nomem(fn);
    }
    h->drawn += n;
    for (size_t i = 0; i < n; i++) {
        int32_t s = i < reuse ? h->freed[--h->nfree] : (int32_t)h->n++;
        if (i < reuse) {
            if (h->up[s])
                rec_free(h->up[s], up_bytes(h, h->level[s]));
            h->dead[s] = 0;
            h->ndead--;
        }
        h->up[s] = ups[i];
        h->level[s] = lv[i];
        h->l0[(size_t)s * l0_row(h)] = 0;
        float *x = h->x + (size_t)s * h->stride;
        memcpy(x, vecs + i * (size_t)h->dim, (size_t)h->dim * sizeof *x);
        memset(x + h->dim, 0, (h->stride - (size_t)h->dim) * sizeof *x);
        if (h->cosine)
            rec_index_normalise(x, h->dim);
        slots[i] = s;
        if (labels)
            labels[i] = s;
    }
    add_job j = { .h = h, .slots = slots };
    size_t first = 0;
    if (h->entry < 0 && n) {
        add_range(&j, 0, 1, 0);
        first = 1;
    }
    /* Many small chunks taken in order, so the graph grows roughly in add
     * order and a core slowed by other work does not hold up the rest. */
    int64_t rest = (int64_t)(n - first);
    int64_t nchunks = threads > 1 ? rest / 32 : 1;
    if (nchunks > INT32_MAX / 2)
        nchunks = INT32_MAX / 2;
    if (rest > 0) {
        if (nchunks <= 1)
            add_range(&j, (int64_t)first, (int64_t)n, 0);
        else
            rec_parallel_chunks(rest, (int)nchunks, add_range, &(add_job){ h, slots + first });
    }
    rec_free(slots, n * sizeof *slots);
    rec_free(ups, n * sizeof *ups);
    rec_free(lv, n);
    return REC_OK;
}

rec_status rec_hnsw_delete(rec_hnsw *h, const int32_t *labels, size_t n, const char *fn)
{
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 0 || (int64_t)labels[i] >= h->n || h->dead[labels[i]])
            return rec_err(REC_E_NOTFOUND, "%s: labels[%zu] = %d is not a live label", fn, i,
                           labels[i]);
    REC_TRY(rec_hnsw_own(h, fn));
    for (size_t i = 0; i < n; i++) {
        int32_t s = labels[i];
        if (h->dead[s])
            continue; /* listed twice */
        h->dead[s] = 1;
        h->ndead++;
        if (s != h->entry)
            h->freed[h->nfree++] = s;
    }
    if (h->dead[h->entry]) {
        /* A new top: the live node of highest level (rare: one scan); the
         * old one's slot becomes reusable.  With no live node left, the
         * dead top keeps routing. */
        int32_t best = -1;
        for (int64_t i = 0; i < h->n; i++)
            if (!h->dead[i] && (best < 0 || h->level[i] > h->level[best]))
                best = (int32_t)i;
        if (best >= 0) {
            h->freed[h->nfree++] = h->entry;
            h->entry = best;
            h->maxlevel = h->level[best];
        }
    }
    return REC_OK;
}
