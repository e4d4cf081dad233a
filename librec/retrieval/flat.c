/* The flat (exact) index: vectors in one row-major table; a search computes
 * [query block x item block] score tiles with sgemm and streams each tile
 * row through the query's top-k heap, rejecting 32 scores at a time against
 * the heap's minimum.  On CPUs with AVX-512 a fused kernel
 * (flat_avx512.c) replaces sgemm + scan: it packs each item block once and
 * compares the scores with the heap minima while they are still in
 * registers, which is about 1.6x the BLAS path here (OpenBLAS picks its
 * AVX2 kernels on this Zen 5).
 *
 * Blocks have fixed sizes (QB queries x IB items) whatever the thread count,
 * so every score comes out of the same sgemm call shape and the results do
 * not depend on the threads: with many queries each pool chunk takes whole
 * query blocks; with few, chunks take ranges of item blocks, keep their own
 * heaps and the heaps are merged under the total order (score desc, label
 * asc), which is exact. */
#include "flat-impl.h"
#include "retrieval/topk-impl.h"

#include <math.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#ifndef QB
#define QB 128   /* queries per tile: a 128 x 1024 float tile is 512 KiB, in L2 */
#endif
#ifndef IB
#define IB 1024  /* items per tile */
#endif
#define MAX_DIM 65536

struct rec_index {
    int dim;
    int cosine;
    int64_t n, cap;  /* vectors, rows allocated */
    float *x;        /* [cap, dim], 64-byte aligned */
};

REC_API rec_status rec_index_create(rec_index **out, int dim, const char *metric)
{
    static const char fn[] = "rec_index_create";
    REC_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    if (dim < 1 || dim > MAX_DIM)
        return rec_err(REC_E_INVALID, "%s: dim = %d is outside [1, %d]", fn, dim, MAX_DIM);
    REC_CHECK_ARG(metric, fn, "metric is NULL");
    int cosine;
    if (strcmp(metric, "ip") == 0)
        cosine = 0;
    else if (strcmp(metric, "cosine") == 0)
        cosine = 1;
    else
        return rec_err(REC_E_INVALID, "%s: unknown metric '%s' (expected 'ip' or 'cosine')", fn,
                       metric);
    rec_index *ix = rec_calloc(1, sizeof *ix);
    if (!ix)
        return rec_nomem(fn);
    ix->dim = dim;
    ix->cosine = cosine;
    *out = ix;
    return REC_OK;
}

REC_API void rec_index_destroy(rec_index *ix)
{
    if (!ix)
        return;
    if (ix->x)
        rec_aligned_free(ix->x, (size_t)ix->cap * (size_t)ix->dim * sizeof(float));
    rec_free(ix, sizeof *ix);
}

static void normalise(float *v, int dim)
{
    double s = 0;
    for (int d = 0; d < dim; d++)
        s += (double)v[d] * v[d];
    if (s > 0) {
        float inv = (float)(1.0 / sqrt(s));
        for (int d = 0; d < dim; d++)
            v[d] *= inv;
    }
}

REC_API rec_status rec_index_add(rec_index *ix, const float *vecs, size_t n)
{
    static const char fn[] = "rec_index_add";
    REC_CHECK_ARG(ix, fn, "index is NULL");
    if (n == 0)
        return REC_OK;
    REC_CHECK_ARG(vecs, fn, "vecs is NULL");
    if (n > (size_t)INT32_MAX - (size_t)ix->n)
        return rec_err(REC_E_RANGE, "%s: %lld + %zu vectors exceed 2^31-1", fn,
                       (long long)ix->n, n);
    size_t dim = (size_t)ix->dim, row = dim * sizeof(float);
    int64_t need = ix->n + (int64_t)n;
    if (need > ix->cap) {
        int64_t cap = ix->cap * 2 > need ? ix->cap * 2 : need;
        if (cap < 1024)
            cap = 1024;
        if (cap > INT32_MAX)
            cap = INT32_MAX;
        size_t bytes;
        if (!rec_mul_ok((size_t)cap, row, &bytes))
            return rec_err(REC_E_NOMEM, "%s: %lld vectors of %zu floats overflow", fn,
                           (long long)cap, dim);
        float *x = rec_aligned_alloc(bytes);
        if (!x)
            return rec_nomem(fn);
        if (ix->x) {
            memcpy(x, ix->x, (size_t)ix->n * row);
            rec_aligned_free(ix->x, (size_t)ix->cap * row);
        }
        ix->x = x;
        ix->cap = cap;
    }
    float *dst = ix->x + (size_t)ix->n * dim;
    memcpy(dst, vecs, n * row);
    if (ix->cosine)
        for (size_t i = 0; i < n; i++)
            normalise(dst + i * dim, ix->dim);
    ix->n = need;
    return REC_OK;
}

REC_API rec_status rec_index_size(const rec_index *ix, size_t *n)
{
    REC_CHECK_ARG(ix, "rec_index_size", "index is NULL");
    REC_CHECK_ARG(n, "rec_index_size", "n is NULL");
    *n = (size_t)ix->n;
    return REC_OK;
}

REC_API rec_status rec_index_dim(const rec_index *ix, int *dim)
{
    REC_CHECK_ARG(ix, "rec_index_dim", "index is NULL");
    REC_CHECK_ARG(dim, "rec_index_dim", "dim is NULL");
    *dim = ix->dim;
    return REC_OK;
}

/* ---- search ------------------------------------------------------------- */

/* Nonzero when any of p[0..32) > thr (NaN compares false). */
static inline int any_above32(const float *p, float thr)
{
#if defined(__SSE2__)
    __m128 m0 = _mm_max_ps(_mm_loadu_ps(p), _mm_loadu_ps(p + 4));
    __m128 m1 = _mm_max_ps(_mm_loadu_ps(p + 8), _mm_loadu_ps(p + 12));
    __m128 m2 = _mm_max_ps(_mm_loadu_ps(p + 16), _mm_loadu_ps(p + 20));
    __m128 m3 = _mm_max_ps(_mm_loadu_ps(p + 24), _mm_loadu_ps(p + 28));
    __m128 m = _mm_max_ps(_mm_max_ps(m0, m1), _mm_max_ps(m2, m3));
    return _mm_movemask_ps(_mm_cmpgt_ps(m, _mm_set1_ps(thr)));
#else
    int any = 0;
    for (int t = 0; t < 32; t++)
        any |= p[t] > thr;
    return any;
#endif
}

/* Streams one tile row (len scores of labels base..base+len) into h.
 * Scanning labels in increasing order makes the strict `> min` test exact:
 * an equal score with a higher label never enters a full heap. */
void rec_flat_scan_row(const float *row, int64_t len, int32_t base, rec_heap *h, size_t k,
                       const rec_filter *f, size_t q)
{
    float thr = h->size == k ? h->val[0] : -INFINITY;
    int64_t j = 0;
    for (;;) {
        int64_t end;
        if (j + 32 <= len) {
            if (!any_above32(row + j, thr)) {
                j += 32;
                continue;
            }
            end = j + 32;
        } else if (j < len) {
            end = len;
        } else {
            break;
        }
        for (; j < end; j++) {
            float v = row[j];
            if (!(v > thr))
                continue;
            int32_t lab = base + (int32_t)j;
            if (f && !rec_filter_keep(f, q, lab))
                continue;
            rec_topk_push(h->idx, h->val, k, &h->size, lab, v);
            if (h->size == k)
                thr = h->val[0];
        }
    }
}

static int kernel_on = 1;

void rec_flat_set_kernel(int on)
{
    kernel_on = on;
}

typedef struct search {
    const rec_index *ix;
    const float *q;        /* [nq, dim], normalised for cosine */
    size_t nq, k;
    const rec_filter *f;
    int64_t nqb, nib;      /* query blocks, item blocks */
    rec_heap *heaps;       /* by query blocks: [nq]; by item blocks: [nchunks * nq] */
    int by_items;
    int simd;              /* the fused AVX-512 kernel, else sgemm tiles */
    float *scratch;        /* [nchunks, per_chunk]: a tile, or a packed item block */
    size_t per_chunk;
} search;

/* Scores query block qb against item block ib into heaps h[0..); with the
 * kernel, buf already holds item block ib packed. */
static void run_block(const search *s, float *buf, int64_t qb, int64_t ib, rec_heap *h)
{
    const rec_index *ix = s->ix;
    int dim = ix->dim;
    int64_t q0 = qb * QB, q1 = q0 + QB < (int64_t)s->nq ? q0 + QB : (int64_t)s->nq;
    int64_t i0 = ib * IB, i1 = i0 + IB < ix->n ? i0 + IB : ix->n;
    if (s->simd) {
        rec_flat_scan_avx512(s->q + (size_t)q0 * dim, (int)(q1 - q0), dim, buf, i1 - i0,
                             (int32_t)i0, h, s->k, s->f, (size_t)q0);
        return;
    }
    rec_sgemm(0, 1, (int)(q1 - q0), (int)(i1 - i0), dim, 1.0f, s->q + (size_t)q0 * dim, dim,
              ix->x + (size_t)i0 * dim, dim, 0.0f, buf, IB);
    for (int64_t q = q0; q < q1; q++)
        rec_flat_scan_row(buf + (size_t)(q - q0) * IB, i1 - i0, (int32_t)i0, &h[q - q0], s->k,
                          s->f, (size_t)q);
}

static void pack_block(const search *s, float *buf, int64_t ib)
{
    const rec_index *ix = s->ix;
    int64_t i0 = ib * IB, i1 = i0 + IB < ix->n ? i0 + IB : ix->n;
    if (s->simd)
        rec_flat_pack32(ix->x + (size_t)i0 * ix->dim, ix->dim, i1 - i0, buf);
}

/* Item block outer: each block of vectors is read from memory (and packed)
 * once per chunk and reused by all of the chunk's query blocks. */
static void by_query_blocks(void *arg, int64_t b, int64_t e, int chunk)
{
    const search *s = arg;
    float *buf = s->scratch + (size_t)chunk * s->per_chunk;
    for (int64_t ib = 0; ib < s->nib; ib++) {
        pack_block(s, buf, ib);
        for (int64_t qb = b; qb < e; qb++)
            run_block(s, buf, qb, ib, s->heaps + qb * QB);
    }
}

static void by_item_blocks(void *arg, int64_t b, int64_t e, int chunk)
{
    const search *s = arg;
    float *buf = s->scratch + (size_t)chunk * s->per_chunk;
    rec_heap *h = s->heaps + (size_t)chunk * s->nq;
    for (int64_t ib = b; ib < e; ib++) {
        pack_block(s, buf, ib);
        for (int64_t qb = 0; qb < s->nqb; qb++)
            run_block(s, buf, qb, ib, h + qb * QB);
    }
}

REC_API rec_status rec_index_search(const rec_index *ix, const float *queries, size_t nq,
                                    size_t k, const rec_filter *filter, int32_t *labels,
                                    float *scores)
{
    static const char fn[] = "rec_index_search";
    REC_CHECK_ARG(ix, fn, "index is NULL");
    REC_CHECK_ARG(k > 0, fn, "k is 0");
    if (nq == 0)
        return REC_OK;
    REC_CHECK_ARG(queries, fn, "queries is NULL");
    REC_CHECK_ARG(labels, fn, "labels is NULL");
    if (filter && filter->nq && filter->nq != nq)
        return rec_err(REC_E_INVALID, "%s: the filter has exclude lists for %zu queries, not %zu",
                       fn, filter->nq, nq);
    size_t out_n;
    if (!rec_mul_ok(nq, k, &out_n) || out_n > (size_t)1 << 40)
        return rec_err(REC_E_INVALID, "%s: nq * k = %zu * %zu is too large", fn, nq, k);
    int dim = ix->dim;
    search s = { .ix = ix, .nq = nq, .k = k, .f = filter };
    s.nqb = ((int64_t)nq + QB - 1) / QB;
    s.nib = (ix->n + IB - 1) / IB;
    int threads = rec_in_parallel() ? 1 : rec_get_num_threads();
    s.by_items = s.nqb < threads && s.nib > 1;
    /* More chunks than threads, taken dynamically by the pool, so a core
     * slowed by other work does not hold the rest up; a chunk keeps a few
     * query blocks so each item block read from memory serves them all. */
    int64_t want = s.by_items ? s.nib : (s.nqb + 3) / 4;
    if (threads > 1 && !s.by_items && want < threads)
        want = s.nqb < threads ? s.nqb : threads;
    int64_t cap = threads > 1 ? (int64_t)threads * 8 : 1;
    int nchunks = (int)(want < cap ? want : cap);
    if (nchunks < 1)
        nchunks = 1;

    /* Scratch: tiles or packed item blocks, heaps (their arrays), a
     * normalised copy of the queries for cosine, and the heap values when
     * scores is NULL. */
    size_t nheaps = s.by_items ? (size_t)nchunks * nq : nq;
    s.simd = kernel_on && rec_flat_avx512_ok();
    s.per_chunk = s.simd ? (size_t)IB * (size_t)dim : (size_t)QB * IB;
    size_t tile_bytes = ix->n ? (size_t)nchunks * s.per_chunk * sizeof(float) : 0;
    size_t heap_bytes = nheaps * sizeof(rec_heap);
    size_t entries = s.by_items || !scores ? nheaps * k : 0;
    size_t ent_bytes = entries * (sizeof(int32_t) + sizeof(float));
    size_t qbytes = ix->cosine ? nq * (size_t)dim * sizeof(float) : 0;
    size_t total = tile_bytes + heap_bytes + ent_bytes + qbytes;
    char *mem = rec_aligned_alloc(total);
    if (!mem)
        return rec_nomem(fn);
    s.scratch = (float *)mem;
    s.heaps = (rec_heap *)(mem + tile_bytes);
    float *ent_val = (float *)(mem + tile_bytes + heap_bytes);
    int32_t *ent_idx = (int32_t *)(ent_val + entries);
    float *qn = (float *)(mem + tile_bytes + heap_bytes + ent_bytes);
    s.q = queries;
    if (ix->cosine) {
        memcpy(qn, queries, qbytes);
        for (size_t q = 0; q < nq; q++)
            normalise(qn + q * (size_t)dim, dim);
        s.q = qn;
    }
    for (size_t h = 0; h < nheaps; h++) {
        s.heaps[h].size = 0;
        if (s.by_items || !scores) {
            s.heaps[h].idx = ent_idx + h * k;
            s.heaps[h].val = ent_val + h * k;
        } else {
            s.heaps[h].idx = labels + h * k;
            s.heaps[h].val = scores + h * k;
        }
    }

    if (ix->n) {
        if (s.by_items)
            rec_parallel_chunks(s.nib, nchunks, by_item_blocks, &s);
        else
            rec_parallel_chunks(s.nqb, nchunks, by_query_blocks, &s);
    }

    for (size_t q = 0; q < nq; q++) {
        int32_t *lab = labels + q * k;
        float tmpv = 0, *val = scores ? scores + q * k : &tmpv;
        size_t n;
        if (s.by_items) {
            /* Merge the chunks' heaps into the output (exact under the
             * total order), through the first chunk's heap arrays. */
            rec_heap *h0 = &s.heaps[q];
            for (int c = 1; c < nchunks; c++) {
                const rec_heap *hc = &s.heaps[(size_t)c * nq + q];
                for (size_t j = 0; j < hc->size; j++)
                    rec_topk_push(h0->idx, h0->val, k, &h0->size, hc->idx[j], hc->val[j]);
            }
            n = rec_topk_finish(h0->idx, h0->val, h0->size);
            memcpy(lab, h0->idx, n * sizeof *lab);
            if (scores)
                memcpy(val, h0->val, n * sizeof *val);
        } else {
            rec_heap *h = &s.heaps[q];
            n = rec_topk_finish(h->idx, h->val, h->size);
            if (!scores)
                memcpy(lab, h->idx, n * sizeof *lab);
        }
        for (size_t j = n; j < k; j++) {
            lab[j] = -1;
            if (scores)
                val[j] = -INFINITY;
        }
    }
    rec_aligned_free(mem, total);
    return REC_OK;
}
