/* qsort comparators shared across the layers. */
#include "core-impl.h"

int rec_cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

int rec_cmp_weighted(const void *a, const void *b)
{
    const rec_weighted *x = a, *y = b;
    if (x->w != y->w)
        return x->w > y->w ? -1 : 1;
    return (x->item > y->item) - (x->item < y->item);
}
