#include "topk-impl.h"

#include <math.h>

/* "a ranks below b": lower score, or equal score and higher index. */
static inline int below(float va, int32_t ia, float vb, int32_t ib)
{
    return va < vb || (va == vb && ia > ib);
}

static void sift_down(int32_t *hi, float *hv, size_t n, size_t p)
{
    for (;;) {
        size_t l = 2 * p + 1, r = l + 1, m = p;
        if (l < n && below(hv[l], hi[l], hv[m], hi[m]))
            m = l;
        if (r < n && below(hv[r], hi[r], hv[m], hi[m]))
            m = r;
        if (m == p)
            return;
        float tv = hv[p];
        int32_t ti = hi[p];
        hv[p] = hv[m];
        hi[p] = hi[m];
        hv[m] = tv;
        hi[m] = ti;
        p = m;
    }
}

void rec_topk_push(int32_t *hi, float *hv, size_t k, size_t *size, int32_t i, float v)
{
    if (k == 0 || !(v > -INFINITY))
        return;
    size_t n = *size;
    if (n < k) {
        size_t c = n++;
        while (c > 0) {
            size_t p = (c - 1) / 2;
            if (!below(v, i, hv[p], hi[p]))
                break;
            hv[c] = hv[p];
            hi[c] = hi[p];
            c = p;
        }
        hv[c] = v;
        hi[c] = i;
        *size = n;
        return;
    }
    if (!below(hv[0], hi[0], v, i))
        return;
    hv[0] = v;
    hi[0] = i;
    sift_down(hi, hv, n, 0);
}

size_t rec_topk_finish(int32_t *hi, float *hv, size_t size)
{
    /* Heap sort: repeatedly move the worst to the end => best first. */
    for (size_t n = size; n > 1; n--) {
        float tv = hv[0];
        int32_t ti = hi[0];
        hv[0] = hv[n - 1];
        hi[0] = hi[n - 1];
        hv[n - 1] = tv;
        hi[n - 1] = ti;
        sift_down(hi, hv, n - 1, 0);
    }
    return size;
}

/* Does any of the 16 scores at s beat thr?  (The same test as the scalar
 * reject below, so skipping a block changes nothing.) */
static int any_above_portable(const float *s, float thr)
{
    int any = 0;
    for (int j = 0; j < 16; j++)
        any |= s[j] > thr;
    return any;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__((target("avx512f"))) static int any_above_avx512(const float *s, float thr)
{
    return _mm512_cmp_ps_mask(_mm512_loadu_ps(s), _mm512_set1_ps(thr), _CMP_GT_OQ) != 0;
}
#endif

size_t rec_topk(const float *scores, int64_t n, size_t k, int32_t *idx, float *val)
{
    int (*any_above)(const float *, float) = any_above_portable;
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx512f"))
        any_above = any_above_avx512;
#endif
    size_t size = 0;
    for (int64_t i = 0; i < n;) {
        /* Once the heap is full most blocks of 16 hold nothing better than
         * its worst: one compare for all of them (a batch's top-k would
         * otherwise cost a third of its scoring). */
        if (size == k && k && i + 16 <= n && !any_above(scores + i, val[0])) {
            i += 16;
            continue;
        }
        for (int64_t e = i + 16 < n ? i + 16 : n; i < e; i++) {
            float v = scores[i];
            /* Cheap reject before the heap call: the common case once full. */
            if (size == k && !(v > val[0]))
                continue;
            rec_topk_push(idx, val, k, &size, (int32_t)i, v);
        }
    }
    return rec_topk_finish(idx, val, size);
}
