/* The one path switch of the row kernels that come as an AVX-512 and a plain
 * C pair (dropout_mask.c, layernorm_rows.c, softmax_rows.c). */
#include "core-impl.h"

#include <stdatomic.h>

static int has_512(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

/* 0 until the first call picks one (atomic: first calls may race, they
 * store the same value) */
static atomic_int path_now;

int rec_simd_force(int path)
{
    int p = path == REC_SIMD_C || !has_512() ? REC_SIMD_C : REC_SIMD_AVX512;
    atomic_store_explicit(&path_now, p, memory_order_relaxed);
    return p;
}

int rec_simd_path(void)
{
    int p = atomic_load_explicit(&path_now, memory_order_relaxed);
    return p ? p : rec_simd_force(REC_SIMD_AUTO);
}
