/* The .lrm layout's constants and field codecs, shared by the writer
 * (lrm_write.c) and the reader (lrm_read.c); the layout itself is described
 * in lrm-impl.h.  Internal to core (and to the tests that craft files). */
#ifndef LIBREC_LRM_FORMAT_IMPL_H
#define LIBREC_LRM_FORMAT_IMPL_H

#include "lrm-impl.h"

#define HDR_LEN 64
#define ENT_LEN 32
#define DESC_LEN 64
#define BOM 0x01020304u
#define MAX_NAMES_LEN ((uint64_t)REC_LRM_MAX_SECTIONS * (REC_LRM_MAX_NAME + 1))

static const char MAGIC[8] = "LRECMDL";   /* with its NUL: 8 bytes */
static const unsigned char ZEROS[64];

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define HOST_BIG_ENDIAN 1
#else
#define HOST_BIG_ENDIAN 0
#endif

/* ---- little-endian fields, whatever the host order ---------------------- */

static inline void put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static inline void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static inline void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint16_t get16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static inline uint64_t align64(uint64_t x) { return (x + 63) & ~(uint64_t)63; }

/* Elements times dtype size, or 0 on overflow (*ok = 0).  A zero dimension
 * makes the tensor empty whatever the others are. */
static inline uint64_t shape_bytes(int nd, const uint64_t *shape, size_t esize, int *ok)
{
    uint64_t n = 1;
    *ok = 1;
    for (int i = 0; i < nd; i++)
        if (shape[i] == 0)
            return 0;
    for (int i = 0; i < nd; i++) {
        if (shape[i] > (uint64_t)INT64_MAX || n > (uint64_t)INT64_MAX / shape[i]) {
            *ok = 0;
            return 0;
        }
        n *= shape[i];
    }
    if (n > (uint64_t)INT64_MAX / esize) {
        *ok = 0;
        return 0;
    }
    return n * esize;
}

/* Names of sections and kinds: printable ASCII without spaces.  Keys: the
 * rec_params charset, plus '@' for metadata ("metrics.ndcg@10"). */
static inline int name_ok(const char *s, size_t n)
{
    if (n == 0 || n > REC_LRM_MAX_NAME)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    return 1;
}

static inline int key_ok(const char *s, size_t n, int meta)
{
    if (n == 0 || n > REC_LRM_MAX_NAME)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-' || (meta && c == '@')))
            return 0;
    }
    return 1;
}

#endif
