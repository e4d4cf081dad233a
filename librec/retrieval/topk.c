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

size_t rec_topk(const float *scores, int64_t n, size_t k, int32_t *idx, float *val)
{
    size_t size = 0;
    for (int64_t i = 0; i < n; i++) {
        float v = scores[i];
        /* Cheap reject before the heap call: the common case once full. */
        if (size == k && !(v > val[0]))
            continue;
        rec_topk_push(idx, val, k, &size, (int32_t)i, v);
    }
    return rec_topk_finish(idx, val, size);
}
