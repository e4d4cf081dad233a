/* Sparse gradient coalescing: a table's rowgrad chunks (rows may repeat,
 * within and across chunks) become unique ascending rows with summed values.
 *
 * Why a radix sort of the entries rather than a per-row marker array: its
 * cost and memory follow the batch (entries), not the catalog (table rows),
 * and its few sequential passes beat the random accesses a marker array
 * makes into a table-sized buffer.  LSD radix is stable, so each row's
 * entries stay in chunk-list order and the sums never depend on threads. */
#include "train/train-impl.h"
#include "core/rowgather-impl.h"

#include <string.h>

#define DIGIT_BITS 11
#define BUCKETS (1 << DIGIT_BITS)
/* Floats summed per parallel chunk at least: below this, threads cost more. */
#define ACC_GRAIN 32768

void rec_coalesce_init(rec_coalesce *c) { memset(c, 0, sizeof *c); }

void rec_coalesce_free(rec_coalesce *c)
{
    if (!c)
        return;
    rec_free(c->keys, (size_t)c->cap * sizeof *c->keys);
    rec_free(c->tmp, (size_t)c->cap * sizeof *c->tmp);
    rec_free(c->src, (size_t)c->cap * sizeof *c->src);
    rec_free(c->start, (size_t)(c->cap + 1) * sizeof *c->start);
    rec_free(c->rows, (size_t)c->rcap * sizeof *c->rows);
    rec_free(c->grad, (size_t)c->rcap * sizeof *c->grad);
    rec_aligned_free(c->vals, (size_t)c->vcap * sizeof *c->vals);
    rec_coalesce_init(c);
}

/* rows and grad share one capacity. */
static int grow_rows(rec_coalesce *c, int64_t nu)
{
    if (nu <= c->rcap)
        return 1;
    int64_t nc = c->rcap * 2 > nu ? c->rcap * 2 : nu;
    size_t nr, ng;
    if (!rec_mul_ok((size_t)nc, sizeof *c->rows, &nr) ||
        !rec_mul_ok((size_t)nc, sizeof *c->grad, &ng))
        return 0;
    int32_t *r = rec_malloc(nr);
    float **g = rec_malloc(ng);
    if (!r || !g) {
        rec_free(r, nr);
        rec_free(g, ng);
        return 0;
    }
    rec_free(c->rows, (size_t)c->rcap * sizeof *c->rows);
    rec_free(c->grad, (size_t)c->rcap * sizeof *c->grad);
    c->rows = r;
    c->grad = g;
    c->rcap = nc;
    return 1;
}

/* The four entry-sized buffers share one capacity: grow them together and
 * commit only when all succeeded. */
static int grow_entries(rec_coalesce *c, int64_t m)
{
    if (m <= c->cap)
        return 1;
    int64_t nc = c->cap * 2 > m ? c->cap * 2 : m;
    size_t nk, ns, nst;
    if (!rec_mul_ok((size_t)nc, sizeof *c->keys, &nk) ||
        !rec_mul_ok((size_t)nc, sizeof *c->src, &ns) ||
        !rec_mul_ok((size_t)nc + 1, sizeof *c->start, &nst))
        return 0;
    uint64_t *k = rec_malloc(nk), *t = rec_malloc(nk);
    float **s = rec_malloc(ns);
    int64_t *st = rec_malloc(nst);
    if (!k || !t || !s || !st) {
        rec_free(k, nk);
        rec_free(t, nk);
        rec_free(s, ns);
        rec_free(st, nst);
        return 0;
    }
    int64_t old = c->cap;
    rec_free(c->keys, (size_t)old * sizeof *c->keys);
    rec_free(c->tmp, (size_t)old * sizeof *c->tmp);
    rec_free(c->src, (size_t)old * sizeof *c->src);
    rec_free(c->start, old ? (size_t)(old + 1) * sizeof *c->start : 0);
    c->keys = k;
    c->tmp = t;
    c->src = s;
    c->start = st;
    c->cap = nc;
    return 1;
}

/* Stable LSD radix sort of a[0..n) on bits [32, 32 + bits) (the row). */
static uint64_t *radix_sort(uint64_t *a, uint64_t *tmp, int64_t n, int bits)
{
    int passes = (bits + DIGIT_BITS - 1) / DIGIT_BITS;
    if (passes == 0 || n < 2)
        return a;
    int dbits = (bits + passes - 1) / passes;
    int64_t cnt[BUCKETS];
    uint64_t mask = ((uint64_t)1 << dbits) - 1;
    for (int p = 0; p < passes; p++) {
        int shift = 32 + p * dbits;
        memset(cnt, 0, sizeof(int64_t) << dbits);
        for (int64_t i = 0; i < n; i++)
            cnt[(a[i] >> shift) & mask]++;
        int64_t sum = 0;
        for (int64_t b = 0; b <= (int64_t)mask; b++) {
            int64_t k = cnt[b];
            cnt[b] = sum;
            sum += k;
        }
        for (int64_t i = 0; i < n; i++)
            tmp[cnt[(a[i] >> shift) & mask]++] = a[i];
        uint64_t *x = a;
        a = tmp;
        tmp = x;
    }
    return a;
}

typedef struct acc_job {
    const rec_coalesce *c;
    const uint64_t *sorted;
    int64_t cols;
} acc_job;

/* Output rows [b, e): each repeated row is written by one chunk, summed in
 * entry order. */
static void accumulate(void *arg, int64_t b, int64_t e, int chunk)
{
    (void)chunk;
    const acc_job *j = arg;
    const rec_coalesce *c = j->c;
    int64_t d = j->cols;
    for (int64_t r = b; r < e; r++) {
        int64_t k = c->start[r], kend = c->start[r + 1];
        if (kend - k < 2)
            continue;
        float *out = c->grad[r];
        memcpy(out, c->src[(uint32_t)j->sorted[k]], (size_t)d * sizeof *out);
        const float *blk[REC_RG_BLOCK];
        for (k++; k < kend;) {
            int n = 0;
            for (; n < REC_RG_BLOCK && k < kend; n++, k++)
                blk[n] = c->src[(uint32_t)j->sorted[k]];
            rec_rg_sum_ptrs(d, blk, n, out);
        }
    }
}

rec_status rec_rowgrad_coalesce(rec_coalesce *c, const rec_tensor *table, const char *fn)
{
    c->n = 0;
    int64_t d = rec_cols(table), nrows = rec_rows(table);
    c->cols = d;
    int64_t m = 0;
    for (const rec_rowgrad *ch = table->rg; ch; ch = ch->next)
        m += ch->n;
    if (m == 0)
        return REC_OK;
    if (m > UINT32_MAX)
        return rec_err(REC_E_RANGE, "%s: '%s' has %lld gradient rows (at most 2^32 - 1)", fn,
                       table->name, (long long)m);
    if (!grow_entries(c, m))
        return rec_nomem(fn);

    /* Gather (row, entry) keys in chunk-list order; rows fit in 31 bits. */
    int64_t k = 0;
    for (const rec_rowgrad *ch = table->rg; ch; ch = ch->next) {
        for (int64_t i = 0; i < ch->n; i++, k++) {
            int32_t r = ch->rows[i];
            if (r < 0 || r >= nrows)
                return rec_err(REC_E_RANGE, "%s: '%s' has a gradient for row %d outside [0, %lld)",
                               fn, table->name, r, (long long)nrows);
            c->keys[k] = (uint64_t)(uint32_t)r << 32 | (uint64_t)k;
            c->src[k] = ch->vals + i * d;
        }
    }
    int bits = 0;
    while (bits < 31 && ((int64_t)1 << bits) < nrows)
        bits++;
    const uint64_t *sorted = radix_sort(c->keys, c->tmp, m, bits);

    /* Run boundaries, then the repeated rows' count sizes the sum buffer. */
    int64_t nu = 0;
    for (int64_t i = 0; i < m; i++)
        if (i == 0 || (sorted[i] >> 32) != (sorted[i - 1] >> 32))
            c->start[nu++] = i;
    c->start[nu] = m;
    int64_t ndup = 0;
    for (int64_t r = 0; r < nu; r++)
        ndup += c->start[r + 1] - c->start[r] > 1;
    size_t vneed;
    if (!rec_mul_ok((size_t)ndup, (size_t)d, &vneed) || !grow_rows(c, nu))
        return rec_nomem(fn);
    if ((int64_t)vneed > c->vcap) {
        int64_t nc = c->vcap * 2 > (int64_t)vneed ? c->vcap * 2 : (int64_t)vneed;
        float *v = rec_aligned_alloc((size_t)nc * sizeof *v);
        if (!v)
            return rec_nomem(fn);
        rec_aligned_free(c->vals, (size_t)c->vcap * sizeof *c->vals);
        c->vals = v;
        c->vcap = nc;
    }
    float *slot = c->vals;
    for (int64_t r = 0; r < nu; r++) {
        int64_t first = c->start[r];
        c->rows[r] = (int32_t)(sorted[first] >> 32);
        if (c->start[r + 1] - first > 1) {
            c->grad[r] = slot;
            slot += d;
        } else {
            c->grad[r] = c->src[(uint32_t)sorted[first]];
        }
    }

    acc_job j = { c, sorted, d };
    int64_t grain = d >= ACC_GRAIN ? 1 : ACC_GRAIN / d;
    if (ndup)
        rec_parallel_for(nu, grain, accumulate, &j);
    c->n = nu;
    return REC_OK;
}
