/* qsort comparators shared across the layers. */
#include "core-impl.h"

int rec_cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}
