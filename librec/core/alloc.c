/* All of librec's memory comes through here so a host can supply its own
 * allocator (and tests can make the N-th allocation fail). */
#include "core-impl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

static void *std_alloc(void *u, size_t n) { (void)u; return malloc(n); }
static void *std_realloc(void *u, void *p, size_t o, size_t n)
{
    (void)u; (void)o;
    return realloc(p, n);
}
static void std_free(void *u, void *p, size_t n) { (void)u; (void)n; free(p); }

static rec_allocator hooks = { std_alloc, std_realloc, std_free, NULL };

REC_API rec_status rec_set_allocator(const rec_allocator *a)
{
    if (!a) {
        hooks = (rec_allocator){ std_alloc, std_realloc, std_free, NULL };
        return REC_OK;
    }
    if (!a->alloc || !a->free)
        return rec_err(REC_E_INVALID, "rec_set_allocator: alloc and free must be set");
    hooks = *a;
    return REC_OK;
}

int rec_mul_ok(size_t n, size_t size, size_t *out)
{
    if (size && n > SIZE_MAX / size)
        return 0;
    *out = n * size;
    return 1;
}

void *rec_malloc(size_t n)
{
    return hooks.alloc(hooks.user, n ? n : 1);
}

void *rec_calloc(size_t n, size_t size)
{
    size_t total;
    if (!rec_mul_ok(n, size, &total))
        return NULL;
    void *p = rec_malloc(total);
    if (p)
        memset(p, 0, total);
    return p;
}

void *rec_realloc(void *p, size_t old_size, size_t new_size)
{
    if (!p)
        return rec_malloc(new_size);
    if (hooks.realloc)
        return hooks.realloc(hooks.user, p, old_size, new_size ? new_size : 1);
    void *q = rec_malloc(new_size);
    if (!q)
        return NULL;
    memcpy(q, p, old_size < new_size ? old_size : new_size);
    rec_free(p, old_size);
    return q;
}

void rec_free(void *p, size_t size)
{
    if (p)
        hooks.free(hooks.user, p, size ? size : 1);
}

char *rec_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = rec_malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void rec_strfree(char *s)
{
    if (s)
        rec_free(s, strlen(s) + 1);
}

/* Over-allocate by 64 and keep the offset just before the aligned block. */
void *rec_aligned_alloc(size_t size)
{
    if (size > SIZE_MAX - 64)
        return NULL;
    unsigned char *raw = rec_malloc(size + 64);
    if (!raw)
        return NULL;
    uintptr_t a = ((uintptr_t)raw + 64) & ~(uintptr_t)63;
    unsigned char *p = (unsigned char *)a;
    p[-1] = (unsigned char)(p - raw);
    return p;
}

void rec_aligned_free(void *p, size_t size)
{
    if (!p)
        return;
    unsigned char *q = p;
    rec_free(q - q[-1], size + 64);
}

void rec_advise_huge_pages(void *p, size_t size)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (!p || size < 2 * huge)
        return;
    uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t e = ((uintptr_t)p + size) & ~(huge - 1);
    if (e > a)
        (void)madvise((void *)a, (size_t)(e - a), MADV_HUGEPAGE);
#else
    (void)p, (void)size;
#endif
}
