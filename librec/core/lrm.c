/* The .lrm model file container: a writer that saves atomically (temporary
 * file, fsync, rename) and a reader that validates every byte before a model
 * sees any of it.  The layout is described in lrm-impl.h. */
#include "lrm-impl.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

static void put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static uint16_t get16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint64_t align64(uint64_t x) { return (x + 63) & ~(uint64_t)63; }

size_t rec_lrm_dtype_size(rec_lrm_dtype dt)
{
    switch (dt) {
    case REC_LRM_F32: return 4;
    case REC_LRM_I32: return 4;
    case REC_LRM_I64: return 8;
    case REC_LRM_U8: return 1;
    }
    return 0;
}

static const char *dtype_name(rec_lrm_dtype dt)
{
    switch (dt) {
    case REC_LRM_F32: return "f32";
    case REC_LRM_I32: return "i32";
    case REC_LRM_I64: return "i64";
    case REC_LRM_U8: return "u8";
    }
    return "?";
}

/* "3x4" (or "scalar"), for messages. */
static const char *shape_str(char *buf, size_t cap, int nd, const int64_t *shape)
{
    if (nd == 0)
        return "scalar";
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < nd && at < cap; i++)
        at += (size_t)snprintf(buf + at, cap - at, i ? "x%lld" : "%lld", (long long)shape[i]);
    return buf;
}

/* Elements times dtype size, or 0 on overflow (*ok = 0).  A zero dimension
 * makes the tensor empty whatever the others are. */
static uint64_t shape_bytes(int nd, const uint64_t *shape, size_t esize, int *ok)
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
static int name_ok(const char *s, size_t n)
{
    if (n == 0 || n > REC_LRM_MAX_NAME)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    return 1;
}

static int key_ok(const char *s, size_t n, int meta)
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

/* ========================================================================
 * Writer
 * ======================================================================== */

typedef struct witem {
    uint32_t type;            /* REC_LRM_SEC_TENSOR or _BLOB */
    char *name;
    rec_lrm_dtype dt;
    int nd;
    uint64_t shape[REC_LRM_MAX_DIMS];
    const void *data;         /* the caller's, not copied */
    uint64_t len;
} witem;

typedef struct wmeta {
    char *key, *val;
} wmeta;

struct rec_lrm_writer {
    char *kind;
    wmeta *meta;
    size_t nmeta, capmeta;
    unsigned char *params;    /* the serialised "params" section */
    size_t params_len;
    witem *items;
    size_t nitems, capitems;
};

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 1;
    size_t nc = *cap ? *cap * 2 : 8;
    void *p = rec_realloc(*arr, *cap * elem, nc * elem);
    if (!p)
        return 0;
    *arr = p;
    *cap = nc;
    return 1;
}

static rec_status meta_set(rec_lrm_writer *w, const char *key, const char *value, const char *fn)
{
    for (size_t i = 0; i < w->nmeta; i++) {
        if (strcmp(w->meta[i].key, key) == 0) {
            char *v = rec_strdup(value);
            if (!v)
                return rec_nomem(fn);
            rec_strfree(w->meta[i].val);
            w->meta[i].val = v;
            return REC_OK;
        }
    }
    if (w->nmeta >= REC_LRM_MAX_ENTRIES)
        return rec_err(REC_E_RANGE, "%s: more than %d metadata entries", fn, REC_LRM_MAX_ENTRIES);
    if (!grow((void **)&w->meta, &w->capmeta, w->nmeta, sizeof *w->meta))
        return rec_nomem(fn);
    char *k = rec_strdup(key);
    char *v = rec_strdup(value);
    if (!k || !v) {
        rec_strfree(k);
        rec_strfree(v);
        return rec_nomem(fn);
    }
    w->meta[w->nmeta++] = (wmeta){ k, v };
    return REC_OK;
}

rec_status rec_lrm_writer_create(const char *kind, rec_lrm_writer **out)
{
    const char *fn = "rec_lrm_writer_create";
    REC_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    REC_CHECK_ARG(kind, fn, "kind is NULL");
    if (!name_ok(kind, strlen(kind)))
        return rec_err(REC_E_INVALID, "%s: bad kind '%s' (1..%d printable characters, no spaces)",
                       fn, kind, REC_LRM_MAX_NAME);
    rec_lrm_writer *w = rec_calloc(1, sizeof *w);
    if (!w)
        return rec_nomem(fn);
    w->kind = rec_strdup(kind);
    if (!w->kind) {
        rec_lrm_writer_destroy(w);
        return rec_nomem(fn);
    }
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    if (!gmtime_r(&now, &tm) || !strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(when, sizeof when, "unknown");
    rec_status st = meta_set(w, "librec.version", rec_version(), fn);
    if (st == REC_OK)
        st = meta_set(w, "librec.created", when, fn);
    if (st != REC_OK) {
        rec_lrm_writer_destroy(w);
        return st;
    }
    *out = w;
    return REC_OK;
}

void rec_lrm_writer_destroy(rec_lrm_writer *w)
{
    if (!w)
        return;
    rec_strfree(w->kind);
    for (size_t i = 0; i < w->nmeta; i++) {
        rec_strfree(w->meta[i].key);
        rec_strfree(w->meta[i].val);
    }
    rec_free(w->meta, w->capmeta * sizeof *w->meta);
    rec_free(w->params, w->params_len);
    for (size_t i = 0; i < w->nitems; i++)
        rec_strfree(w->items[i].name);
    rec_free(w->items, w->capitems * sizeof *w->items);
    rec_free(w, sizeof *w);
}

rec_status rec_lrm_add_meta(rec_lrm_writer *w, const char *key, const char *value)
{
    const char *fn = "rec_lrm_add_meta";
    REC_CHECK_ARG(w, fn, "writer is NULL");
    REC_CHECK_ARG(key, fn, "key is NULL");
    REC_CHECK_ARG(value, fn, "value is NULL");
    if (!key_ok(key, strlen(key), 1))
        return rec_err(REC_E_INVALID, "%s: bad key '%s' (letters, digits, _ . - @ only)", fn, key);
    return meta_set(w, key, value, fn);
}

/* params section: u32 count, then per key
 *   u32 type, u32 klen, u32 vlen, key, NUL, value[vlen]
 * INT: i64, FLOAT: f64 bits, BOOL: one byte 0/1, STR: text and its NUL. */
static rec_status param_value(const rec_params *p, const char *key, rec_param_type t,
                              unsigned char *v8, const char **s, uint32_t *vlen)
{
    int64_t i;
    double f;
    int b;
    switch (t) {
    case REC_PARAM_INT:
        REC_TRY(rec_params_get_int(p, key, &i));
        put64(v8, (uint64_t)i);
        *vlen = 8;
        return REC_OK;
    case REC_PARAM_FLOAT: {
        REC_TRY(rec_params_get_float(p, key, &f));
        uint64_t bits;
        memcpy(&bits, &f, 8);
        put64(v8, bits);
        *vlen = 8;
        return REC_OK;
    }
    case REC_PARAM_BOOL:
        REC_TRY(rec_params_get_bool(p, key, &b));
        v8[0] = b != 0;
        *vlen = 1;
        return REC_OK;
    case REC_PARAM_STR:
        REC_TRY(rec_params_get_str(p, key, s));
        if (strlen(*s) >= UINT32_MAX)
            return rec_err(REC_E_RANGE, "rec_lrm_add_params: value of '%s' is too long", key);
        *vlen = (uint32_t)strlen(*s) + 1;
        return REC_OK;
    }
    return rec_err(REC_E_INVALID, "rec_lrm_add_params: '%s' has unknown type %d", key, (int)t);
}

rec_status rec_lrm_add_params(rec_lrm_writer *w, const rec_params *p)
{
    const char *fn = "rec_lrm_add_params";
    REC_CHECK_ARG(w, fn, "writer is NULL");
    REC_CHECK_ARG(p, fn, "params is NULL");
    size_t n, total = 4;
    REC_TRY(rec_params_count(p, &n));
    if (n > REC_LRM_MAX_ENTRIES)
        return rec_err(REC_E_RANGE, "%s: more than %d parameters", fn, REC_LRM_MAX_ENTRIES);
    /* two passes: size, then bytes */
    for (int pass = 0; pass < 2; pass++) {
        unsigned char *buf = NULL;
        size_t at = 4;
        if (pass == 1) {
            buf = rec_malloc(total);
            if (!buf)
                return rec_nomem(fn);
            put32(buf, (uint32_t)n);
        }
        for (size_t i = 0; i < n; i++) {
            const char *key, *s = NULL;
            rec_param_type t;
            unsigned char v8[8];
            uint32_t vlen;
            rec_status st = rec_params_key(p, i, &key, &t);
            if (st == REC_OK)
                st = param_value(p, key, t, v8, &s, &vlen);
            if (st != REC_OK) {
                rec_free(buf, total);
                return st;
            }
            size_t klen = strlen(key);
            size_t need = 12 + klen + 1 + vlen;
            if (pass == 0) {
                if (total > SIZE_MAX - need)
                    return rec_err(REC_E_RANGE, "%s: parameters too large", fn);
                total += need;
                continue;
            }
            put32(buf + at, (uint32_t)t);
            put32(buf + at + 4, (uint32_t)klen);
            put32(buf + at + 8, vlen);
            memcpy(buf + at + 12, key, klen + 1);
            memcpy(buf + at + 12 + klen + 1, s ? (const void *)s : v8, vlen);
            at += need;
        }
        if (pass == 1) {
            rec_free(w->params, w->params_len);
            w->params = buf;
            w->params_len = total;
        }
    }
    return REC_OK;
}

static rec_status add_item(rec_lrm_writer *w, const witem *it, const char *fn)
{
    if (!name_ok(it->name, strlen(it->name)))
        return rec_err(REC_E_INVALID, "%s: bad name '%s' (1..%d printable characters, no spaces)",
                       fn, it->name, REC_LRM_MAX_NAME);
    for (size_t i = 0; i < w->nitems; i++)
        if (w->items[i].type == it->type && strcmp(w->items[i].name, it->name) == 0)
            return rec_err(REC_E_INVALID, "%s: '%s' was already added", fn, it->name);
    if (w->nitems >= REC_LRM_MAX_SECTIONS - 3)
        return rec_err(REC_E_RANGE, "%s: more than %d tensors and blobs", fn,
                       REC_LRM_MAX_SECTIONS - 3);
    if (!grow((void **)&w->items, &w->capitems, w->nitems, sizeof *w->items))
        return rec_nomem(fn);
    char *name = rec_strdup(it->name);
    if (!name)
        return rec_nomem(fn);
    w->items[w->nitems] = *it;
    w->items[w->nitems++].name = name;
    return REC_OK;
}

rec_status rec_lrm_add_tensor(rec_lrm_writer *w, const char *name, rec_lrm_dtype dt, int nd,
                              const int64_t *shape, const void *data)
{
    const char *fn = "rec_lrm_add_tensor";
    REC_CHECK_ARG(w, fn, "writer is NULL");
    REC_CHECK_ARG(name, fn, "name is NULL");
    if (!rec_lrm_dtype_size(dt))
        return rec_err(REC_E_INVALID, "%s: '%s': unknown dtype %d", fn, name, (int)dt);
    if (nd < 0 || nd > REC_LRM_MAX_DIMS)
        return rec_err(REC_E_INVALID, "%s: '%s': nd = %d is outside [0, %d]", fn, name, nd,
                       REC_LRM_MAX_DIMS);
    if (nd > 0 && !shape)
        return rec_err(REC_E_INVALID, "%s: '%s': shape is NULL", fn, name);
    witem it = { REC_LRM_SEC_TENSOR, (char *)name, dt, nd, { 0 }, data, 0 };
    for (int i = 0; i < nd; i++) {
        if (shape[i] < 0)
            return rec_err(REC_E_INVALID, "%s: '%s': shape[%d] = %lld is negative", fn, name, i,
                           (long long)shape[i]);
        it.shape[i] = (uint64_t)shape[i];
    }
    int ok;
    it.len = shape_bytes(nd, it.shape, rec_lrm_dtype_size(dt), &ok);
    if (!ok || it.len > SIZE_MAX)
        return rec_err(REC_E_RANGE, "%s: '%s': shape too large", fn, name);
    if (it.len && !data)
        return rec_err(REC_E_INVALID, "%s: '%s': data is NULL", fn, name);
    return add_item(w, &it, fn);
}

rec_status rec_lrm_add_blob(rec_lrm_writer *w, const char *name, const void *data, size_t len)
{
    const char *fn = "rec_lrm_add_blob";
    REC_CHECK_ARG(w, fn, "writer is NULL");
    REC_CHECK_ARG(name, fn, "name is NULL");
    if (len && !data)
        return rec_err(REC_E_INVALID, "%s: '%s': data is NULL", fn, name);
    witem it = { REC_LRM_SEC_BLOB, (char *)name, 0, 0, { 0 }, data, len };
    return add_item(w, &it, fn);
}

/* ---- laying out and emitting a file ---------------------------------------
 * Each section is a small head (the tensor descriptor) and a body (the
 * caller's data, written in place).  CRCs are computed before anything is
 * written because the table comes first. */

typedef struct psec {
    uint32_t type, name_off, crc;
    const char *name;
    uint64_t off, len;
    unsigned char head[DESC_LEN];
    size_t head_len;
    const void *body;
    uint64_t body_len;
} psec;

typedef struct plan {
    psec *sec;
    size_t nsec;
    unsigned char *meta;      /* the "meta" section */
    size_t meta_len;
    unsigned char *front;     /* header, table, names, padding */
    size_t front_len;
    uint64_t total;
} plan;

static void plan_free(plan *pl)
{
    rec_free(pl->sec, pl->nsec * sizeof *pl->sec);
    rec_free(pl->meta, pl->meta_len);
    rec_free(pl->front, pl->front_len);
}

/* meta section: u32 count, then per pair u32 klen, u32 vlen, key, NUL, value, NUL */
static rec_status build_meta(const rec_lrm_writer *w, plan *pl, const char *fn)
{
    size_t total = 4;
    for (size_t i = 0; i < w->nmeta; i++) {
        size_t vl = strlen(w->meta[i].val);
        if (vl >= UINT32_MAX || total > SIZE_MAX / 2 - vl)
            return rec_err(REC_E_RANGE, "%s: metadata '%s' is too long", fn, w->meta[i].key);
        total += 8 + strlen(w->meta[i].key) + 1 + vl + 1;
    }
    unsigned char *b = rec_malloc(total);
    if (!b)
        return rec_nomem(fn);
    put32(b, (uint32_t)w->nmeta);
    size_t at = 4;
    for (size_t i = 0; i < w->nmeta; i++) {
        size_t kl = strlen(w->meta[i].key), vl = strlen(w->meta[i].val);
        put32(b + at, (uint32_t)kl);
        put32(b + at + 4, (uint32_t)vl);
        memcpy(b + at + 8, w->meta[i].key, kl + 1);
        memcpy(b + at + 8 + kl + 1, w->meta[i].val, vl + 1);
        at += 8 + kl + 1 + vl + 1;
    }
    pl->meta = b;
    pl->meta_len = total;
    return REC_OK;
}

static const unsigned char EMPTY_PARAMS[4];   /* count 0 */

static rec_status plan_build(const rec_lrm_writer *w, plan *pl, const char *fn)
{
    memset(pl, 0, sizeof *pl);
    REC_TRY(build_meta(w, pl, fn));
    size_t n = 3 + w->nitems;
    pl->sec = rec_calloc(n, sizeof *pl->sec);
    if (!pl->sec)
        return rec_nomem(fn);
    pl->nsec = n;
    psec *s = pl->sec;
    s[0] = (psec){ .type = REC_LRM_SEC_KIND, .name = "kind", .body = w->kind,
                   .body_len = strlen(w->kind) + 1 };
    s[1] = (psec){ .type = REC_LRM_SEC_META, .name = "meta", .body = pl->meta,
                   .body_len = pl->meta_len };
    s[2] = (psec){ .type = REC_LRM_SEC_PARAMS, .name = "params",
                   .body = w->params ? (const void *)w->params : EMPTY_PARAMS,
                   .body_len = w->params ? w->params_len : sizeof EMPTY_PARAMS };
    for (size_t i = 0; i < w->nitems; i++) {
        const witem *it = &w->items[i];
        psec *p = &s[3 + i];
        p->type = it->type;
        p->name = it->name;
        p->body = it->data;
        p->body_len = it->len;
        if (it->type == REC_LRM_SEC_TENSOR) {
            /* descriptor: u32 dtype, u32 nd, u64 shape[4], u64 data bytes, 16 zero */
            put32(p->head, (uint32_t)it->dt);
            put32(p->head + 4, (uint32_t)it->nd);
            for (int d = 0; d < REC_LRM_MAX_DIMS; d++)
                put64(p->head + 8 + 8 * d, it->shape[d]);
            put64(p->head + 40, it->len);
            p->head_len = DESC_LEN;
        }
    }
    uint64_t names_len = 0;
    for (size_t i = 0; i < n; i++) {
        s[i].name_off = (uint32_t)names_len;
        names_len += strlen(s[i].name) + 1;
    }
    uint64_t at = align64(HDR_LEN + n * ENT_LEN + names_len);
    pl->front_len = (size_t)at;
    for (size_t i = 0; i < n; i++) {
        s[i].off = at;
        s[i].len = s[i].head_len + s[i].body_len;
        uint32_t c = rec_crc32c(0, s[i].head, s[i].head_len);
        s[i].crc = s[i].body_len ? rec_crc32c(c, s[i].body, (size_t)s[i].body_len) : c;
        at = s[i].off + s[i].len;
        if (i + 1 < n)
            at = align64(at);
    }
    pl->total = at;
    if (pl->total > SIZE_MAX)
        return rec_err(REC_E_RANGE, "%s: model too large", fn);

    unsigned char *f = rec_calloc(1, pl->front_len);
    if (!f)
        return rec_nomem(fn);
    pl->front = f;
    unsigned char *names = f + HDR_LEN + n * ENT_LEN;
    for (size_t i = 0; i < n; i++) {
        unsigned char *e = f + HDR_LEN + i * ENT_LEN;
        put32(e, s[i].type);
        put32(e + 4, s[i].name_off);
        put64(e + 8, s[i].off);
        put64(e + 16, s[i].len);
        put32(e + 24, s[i].crc);
        memcpy(names + s[i].name_off, s[i].name, strlen(s[i].name) + 1);
    }
    memcpy(f, MAGIC, 8);
    put16(f + 8, REC_LRM_MAJOR);
    put16(f + 10, REC_LRM_MINOR);
    put32(f + 12, BOM);
    put32(f + 16, (uint32_t)n);
    put32(f + 20, (uint32_t)names_len);
    put64(f + 24, pl->total);
    put32(f + 32, rec_crc32c(0, f + HDR_LEN, (size_t)(n * ENT_LEN + names_len)));
    put32(f + 60, rec_crc32c(0, f, 60));
    return REC_OK;
}

/* Where the bytes go: a file descriptor or a buffer of plan.total bytes. */
typedef struct sink {
    int fd;
    unsigned char *mem;
    uint64_t pos;
    const char *path;
} sink;

static rec_status sink_write(sink *k, const void *p, uint64_t n)
{
    if (k->mem) {
        memcpy(k->mem + k->pos, p, (size_t)n);
        k->pos += n;
        return REC_OK;
    }
    const unsigned char *b = p;
    while (n) {
        size_t chunk = n > (1u << 30) ? (1u << 30) : (size_t)n;
        ssize_t got = write(k->fd, b, chunk);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return rec_err(REC_E_IO, "%s: write failed at byte %llu: %s", k->path,
                           (unsigned long long)k->pos, got < 0 ? strerror(errno) : "no progress");
        b += got;
        n -= (uint64_t)got;
        k->pos += (uint64_t)got;
    }
    return REC_OK;
}

static rec_status plan_emit(const plan *pl, sink *k)
{
    REC_TRY(sink_write(k, pl->front, pl->front_len));
    for (size_t i = 0; i < pl->nsec; i++) {
        const psec *s = &pl->sec[i];
        if (s->head_len)
            REC_TRY(sink_write(k, s->head, s->head_len));
        if (s->body_len)
            REC_TRY(sink_write(k, s->body, s->body_len));
        if (i + 1 < pl->nsec)
            REC_TRY(sink_write(k, ZEROS, align64(k->pos) - k->pos));
    }
    return REC_OK;
}

rec_status rec_lrm_save_mem(rec_lrm_writer *w, void **bytes, size_t *len)
{
    const char *fn = "rec_lrm_save_mem";
    REC_CHECK_ARG(w, fn, "writer is NULL");
    REC_CHECK_ARG(bytes && len, fn, "bytes or len is NULL");
    if (HOST_BIG_ENDIAN)
        return rec_err(REC_E_UNSUPPORTED, "%s: big-endian hosts cannot write .lrm files", fn);
    plan pl;
    rec_status st = plan_build(w, &pl, fn);
    unsigned char *mem = NULL;
    if (st == REC_OK) {
        mem = rec_malloc((size_t)pl.total);
        if (!mem)
            st = rec_nomem(fn);
    }
    if (st == REC_OK) {
        sink k = { -1, mem, 0, "<memory>" };
        st = plan_emit(&pl, &k);
    }
    if (st == REC_OK) {
        *bytes = mem;
        *len = (size_t)pl.total;
    } else {
        rec_free(mem, (size_t)pl.total);
    }
    plan_free(&pl);
    return st;
}

/* fsync the directory holding path so the rename itself is durable; best
 * effort (some file systems refuse it).  buf has room for path. */
static void sync_dir(const char *path, char *buf)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        strcpy(buf, ".");
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        memcpy(buf, path, n);
        buf[n] = 0;
    }
    int fd = open(buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

rec_status rec_lrm_save(rec_lrm_writer *w, const char *path)
{
    static atomic_ulong serial;
    const char *fn = "rec_lrm_save";
    REC_CHECK_ARG(w, fn, "writer is NULL");
    REC_CHECK_ARG(path, fn, "path is NULL");
    REC_CHECK_ARG(*path, fn, "path is empty");
    if (HOST_BIG_ENDIAN)
        return rec_err(REC_E_UNSUPPORTED, "%s: big-endian hosts cannot write .lrm files", fn);
    size_t tmp_size = strlen(path) + 64;
    char *tmp = rec_malloc(tmp_size);
    if (!tmp)
        return rec_nomem(fn);
    snprintf(tmp, tmp_size, "%s.tmp-%ld-%lu", path, (long)getpid(),
             (unsigned long)atomic_fetch_add(&serial, 1));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        rec_status st = rec_err(REC_E_IO, "%s: cannot create temporary file %s: %s", path, tmp,
                                strerror(errno));
        rec_free(tmp, tmp_size);
        return st;
    }
    /* Built after the temporary file exists, so allocation failures also
     * exercise the cleanup below. */
    plan pl;
    rec_status st = plan_build(w, &pl, fn);
    if (st == REC_OK) {
        sink k = { fd, NULL, 0, tmp };
        st = plan_emit(&pl, &k);
    }
    if (st == REC_OK && fsync(fd) != 0)
        st = rec_err(REC_E_IO, "%s: fsync failed: %s", tmp, strerror(errno));
    if (close(fd) != 0 && st == REC_OK)
        st = rec_err(REC_E_IO, "%s: close failed: %s", tmp, strerror(errno));
    if (st == REC_OK && rename(tmp, path) != 0)
        st = rec_err(REC_E_IO, "%s: cannot rename %s over it: %s", path, tmp, strerror(errno));
    if (st != REC_OK)
        unlink(tmp);
    else
        sync_dir(path, tmp);
    plan_free(&pl);
    rec_free(tmp, tmp_size);
    return st;
}

/* ========================================================================
 * Reader
 * ======================================================================== */

typedef struct rsec {
    const char *name;
    const unsigned char *p;   /* the section's bytes */
    uint64_t len;
    rec_lrm_dtype dt;
    int nd;
    int64_t shape[REC_LRM_MAX_DIMS];
} rsec;

typedef struct rpair {
    const char *key, *val;
} rpair;

enum { OWN_NONE, OWN_MMAP, OWN_HEAP };

struct rec_lrm_reader {
    char *name;
    const unsigned char *base;
    size_t size;
    int own;
    int major, minor;
    const char *kind;
    rsec *items;              /* tensors [0, ntens), then blobs [tens_cap, ...) */
    size_t ntens, nblob, tens_cap, items_cap;
    rpair *meta;
    size_t nmeta;
    const unsigned char *params;
    uint64_t params_len;
    size_t nparams;
};

static rec_status ferr(const rec_lrm_reader *r, const char *fmt, ...) REC_PRINTF(2, 3);
static rec_status ferr(const rec_lrm_reader *r, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rec_err(REC_E_FORMAT, "%s: %s", r->name, msg);
}

static const char *sec_type_name(uint32_t t)
{
    switch (t) {
    case REC_LRM_SEC_KIND: return "kind";
    case REC_LRM_SEC_META: return "metadata";
    case REC_LRM_SEC_PARAMS: return "params";
    case REC_LRM_SEC_TENSOR: return "tensor";
    case REC_LRM_SEC_BLOB: return "blob";
    }
    return "unknown";
}

/* A NUL-terminated string of exactly len bytes at p (len excludes the NUL). */
static int cstr_ok(const unsigned char *p, uint64_t len)
{
    return p[len] == 0 && memchr(p, 0, (size_t)len) == NULL;
}

static rec_status parse_kind(rec_lrm_reader *r, const unsigned char *p, uint64_t len)
{
    if (len < 2 || !cstr_ok(p, len - 1) || !name_ok((const char *)p, (size_t)len - 1))
        return ferr(r, "model kind is malformed");
    r->kind = (const char *)p;
    return REC_OK;
}

static rec_status parse_meta(rec_lrm_reader *r, const unsigned char *p, uint64_t len)
{
    if (len < 4)
        return ferr(r, "metadata section is %llu bytes, too short", (unsigned long long)len);
    uint32_t n = get32(p);
    /* the smallest pair takes 11 bytes: bound the count before allocating */
    if (n > REC_LRM_MAX_ENTRIES || n > (len - 4) / 11)
        return ferr(r, "metadata count %u does not fit its section", n);
    if (n) {
        r->meta = rec_calloc(n, sizeof *r->meta);
        if (!r->meta)
            return rec_nomem("rec_lrm_open");
    }
    r->nmeta = n;
    uint64_t at = 4;
    for (uint32_t i = 0; i < n; i++) {
        if (len - at < 8)
            return ferr(r, "metadata entry %u is truncated", i);
        uint64_t kl = get32(p + at), vl = get32(p + at + 4);
        at += 8;
        if (kl + vl + 2 > len - at)
            return ferr(r, "metadata entry %u runs past its section", i);
        const unsigned char *k = p + at, *v = k + kl + 1;
        if (!cstr_ok(k, kl) || !key_ok((const char *)k, (size_t)kl, 1))
            return ferr(r, "metadata entry %u has a malformed key", i);
        if (!cstr_ok(v, vl))
            return ferr(r, "metadata '%s' has a malformed value", (const char *)k);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(r->meta[j].key, (const char *)k) == 0)
                return ferr(r, "metadata key '%s' appears twice", (const char *)k);
        r->meta[i] = (rpair){ (const char *)k, (const char *)v };
        at += kl + vl + 2;
    }
    if (at != len)
        return ferr(r, "%llu stray bytes after the metadata", (unsigned long long)(len - at));
    return REC_OK;
}

/* Checked here so that rec_lrm_params can only fail for lack of memory. */
static rec_status parse_params(rec_lrm_reader *r, const unsigned char *p, uint64_t len)
{
    if (len < 4)
        return ferr(r, "params section is %llu bytes, too short", (unsigned long long)len);
    uint32_t n = get32(p);
    if (n > REC_LRM_MAX_ENTRIES || n > (len - 4) / 15)
        return ferr(r, "parameter count %u does not fit its section", n);
    uint64_t at = 4;
    for (uint32_t i = 0; i < n; i++) {
        if (len - at < 12)
            return ferr(r, "parameter %u is truncated", i);
        uint32_t t = get32(p + at);
        uint64_t kl = get32(p + at + 4), vl = get32(p + at + 8);
        at += 12;
        if (kl + 1 + vl > len - at)
            return ferr(r, "parameter %u runs past its section", i);
        const unsigned char *k = p + at, *v = k + kl + 1;
        if (!cstr_ok(k, kl) || !key_ok((const char *)k, (size_t)kl, 0))
            return ferr(r, "parameter %u has a malformed key", i);
        const char *key = (const char *)k;
        int ok;
        switch (t) {
        case REC_PARAM_INT: ok = vl == 8; break;
        case REC_PARAM_FLOAT: {
            uint64_t bits = vl == 8 ? get64(v) : 0;
            double d;
            memcpy(&d, &bits, 8);
            ok = vl == 8 && !isnan(d);
            break;
        }
        case REC_PARAM_BOOL: ok = vl == 1 && v[0] <= 1; break;
        case REC_PARAM_STR: ok = vl >= 1 && cstr_ok(v, vl - 1); break;
        default:
            return ferr(r, "parameter '%s' has unknown type %u", key, t);
        }
        if (!ok)
            return ferr(r, "parameter '%s' has a malformed value", key);
        /* keys were checked one by one above, so earlier ones are strings */
        const unsigned char *q = p + 4;
        for (uint32_t j = 0; j < i; j++) {
            uint64_t kj = get32(q + 4), vj = get32(q + 8);
            if (strcmp((const char *)q + 12, key) == 0)
                return ferr(r, "parameter '%s' appears twice", key);
            q += 12 + kj + 1 + vj;
        }
        at += kl + 1 + vl;
    }
    if (at != len)
        return ferr(r, "%llu stray bytes after the params", (unsigned long long)(len - at));
    r->params = p;
    r->params_len = len;
    r->nparams = n;
    return REC_OK;
}

static rec_status parse_tensor(rec_lrm_reader *r, rsec *t, const unsigned char *p, uint64_t len)
{
    if (len < DESC_LEN)
        return ferr(r, "tensor '%s' is %llu bytes, shorter than its descriptor", t->name,
                    (unsigned long long)len);
    uint32_t dt = get32(p), nd = get32(p + 4);
    size_t es = rec_lrm_dtype_size((rec_lrm_dtype)dt);
    if (!es)
        return ferr(r, "tensor '%s' has unknown dtype %u", t->name, dt);
    if (nd > REC_LRM_MAX_DIMS)
        return ferr(r, "tensor '%s' has %u dimensions (at most %d)", t->name, nd,
                    REC_LRM_MAX_DIMS);
    uint64_t shape[REC_LRM_MAX_DIMS];
    for (int d = 0; d < REC_LRM_MAX_DIMS; d++) {
        shape[d] = get64(p + 8 + 8 * d);
        if ((uint32_t)d >= nd && shape[d] != 0)
            return ferr(r, "tensor '%s' has a nonzero size in unused dimension %d", t->name, d);
        if (shape[d] > (uint64_t)INT64_MAX)
            return ferr(r, "tensor '%s' has a negative size in dimension %d", t->name, d);
        t->shape[d] = (int64_t)shape[d];
    }
    uint64_t data_len = get64(p + 40);
    if (memcmp(p + 48, ZEROS, DESC_LEN - 48) != 0)
        return ferr(r, "tensor '%s' has nonzero reserved bytes", t->name);
    int ok;
    uint64_t need = shape_bytes((int)nd, shape, es, &ok);
    char sb[128];
    if (!ok)
        return ferr(r, "tensor '%s': shape %s overflows", t->name,
                    shape_str(sb, sizeof sb, (int)nd, t->shape));
    if (need != data_len || data_len != len - DESC_LEN)
        return ferr(r, "tensor '%s': shape %s of %s needs %llu bytes, section holds %llu",
                    t->name, shape_str(sb, sizeof sb, (int)nd, t->shape),
                    dtype_name((rec_lrm_dtype)dt), (unsigned long long)need,
                    (unsigned long long)(len - DESC_LEN));
    t->dt = (rec_lrm_dtype)dt;
    t->nd = (int)nd;
    return REC_OK;
}

/* Validates the header, table and every section of r->base[0, r->size). */
static rec_status parse(rec_lrm_reader *r)
{
    const unsigned char *b = r->base;
    size_t n = r->size;
    if (n == 0)
        return ferr(r, "empty file, not a librec model file");
    if (memcmp(b, MAGIC, n < 8 ? n : 8) != 0)
        return ferr(r, "not a librec model file (bad magic)");
    if (n < HDR_LEN)
        return ferr(r, "truncated at byte %zu of at least %d (header)", n, HDR_LEN);
    /* The version comes before the CRC: a newer major may lay its header out
     * differently, and deserves a message that says so. */
    r->major = get16(b + 8);
    r->minor = get16(b + 10);
    if (r->major > REC_LRM_MAJOR)
        return ferr(r, "format version %d.%d is newer than this librec supports (%d.%d); "
                    "upgrade librec", r->major, r->minor, REC_LRM_MAJOR, REC_LRM_MINOR);
    if (r->major < 1)
        return ferr(r, "unknown format version %d.%d", r->major, r->minor);
    uint32_t bom = get32(b + 12);
    if (bom == 0x04030201u)
        return ferr(r, "big-endian file; this librec reads little-endian files only");
    if (bom != BOM)
        return ferr(r, "bad byte-order mark 0x%08x", bom);
    if (rec_crc32c(0, b, 60) != get32(b + 60))
        return ferr(r, "header CRC mismatch");
    if (get32(b + 36) != 0)
        return ferr(r, "unknown header flags 0x%x", get32(b + 36));
    if (memcmp(b + 40, ZEROS, 20) != 0)
        return ferr(r, "nonzero reserved header bytes");
    uint64_t file_len = get64(b + 24);
    if (file_len > n)
        return ferr(r, "truncated at byte %zu of %llu", n, (unsigned long long)file_len);
    if (file_len < n)
        return ferr(r, "%llu stray bytes after the end of the model at byte %llu",
                    (unsigned long long)(n - file_len), (unsigned long long)file_len);
    uint32_t nsec = get32(b + 16), names_len = get32(b + 20);
    if (nsec < 3 || nsec > REC_LRM_MAX_SECTIONS)
        return ferr(r, "section count %u is outside [3, %d]", nsec, REC_LRM_MAX_SECTIONS);
    if (names_len == 0 || names_len > MAX_NAMES_LEN)
        return ferr(r, "section name pool of %u bytes is out of range", names_len);
    uint64_t table_end = HDR_LEN + (uint64_t)nsec * ENT_LEN + names_len;
    if (table_end > file_len)
        return ferr(r, "section table (bytes 64..%llu) runs past the end of the file (%llu)",
                    (unsigned long long)table_end, (unsigned long long)file_len);
    if (rec_crc32c(0, b + HDR_LEN, (size_t)(table_end - HDR_LEN)) != get32(b + 32))
        return ferr(r, "section table CRC mismatch");
    const unsigned char *names = b + HDR_LEN + (size_t)nsec * ENT_LEN;
    if (names[names_len - 1] != 0)
        return ferr(r, "section name pool is not NUL-terminated");

    /* first pass: counts, so one array holds tensors then blobs */
    size_t ntens = 0, nblob = 0;
    for (uint32_t i = 0; i < nsec; i++) {
        uint32_t t = get32(b + HDR_LEN + (size_t)i * ENT_LEN);
        ntens += t == REC_LRM_SEC_TENSOR;
        nblob += t == REC_LRM_SEC_BLOB;
    }
    if (ntens + nblob) {
        r->items = rec_calloc(ntens + nblob, sizeof *r->items);
        if (!r->items)
            return rec_nomem("rec_lrm_open");
        r->items_cap = ntens + nblob;
        r->tens_cap = ntens;
    }
    int seen[REC_LRM_SEC_BLOB + 1] = { 0 };
    uint64_t end = table_end;
    for (uint32_t i = 0; i < nsec; i++) {
        const unsigned char *e = b + HDR_LEN + (size_t)i * ENT_LEN;
        uint32_t type = get32(e), name_off = get32(e + 4), crc = get32(e + 24);
        uint64_t off = get64(e + 8), len = get64(e + 16);
        if (name_off >= names_len)
            return ferr(r, "section %u: name offset %u is outside the pool", i, name_off);
        const char *name = (const char *)names + name_off;
        if (!name_ok(name, strlen(name)))
            return ferr(r, "section %u has a malformed name", i);
        if (get32(e + 28) != 0)
            return ferr(r, "section '%s' has nonzero reserved bytes", name);
        uint64_t want = align64(end);
        if (off != want)
            return ferr(r, "section '%s' starts at byte %llu, expected %llu", name,
                        (unsigned long long)off, (unsigned long long)want);
        if (want > file_len || len > file_len - off)
            return ferr(r, "section '%s' (%llu bytes at %llu) runs past the end of the file "
                        "(%llu bytes)", name, (unsigned long long)len, (unsigned long long)off,
                        (unsigned long long)file_len);
        for (uint64_t z = end; z < off; z++)
            if (b[z])
                return ferr(r, "nonzero padding at byte %llu", (unsigned long long)z);
        if (rec_crc32c(0, b + off, (size_t)len) != crc)
            return ferr(r, "section '%s' (%s) CRC mismatch", name, sec_type_name(type));
        end = off + len;
        const unsigned char *p = b + off;
        if (type >= REC_LRM_SEC_KIND && type <= REC_LRM_SEC_PARAMS && seen[type]++)
            return ferr(r, "more than one %s section", sec_type_name(type));
        rec_status st = REC_OK;
        switch (type) {
        case REC_LRM_SEC_KIND: st = parse_kind(r, p, len); break;
        case REC_LRM_SEC_META: st = parse_meta(r, p, len); break;
        case REC_LRM_SEC_PARAMS: st = parse_params(r, p, len); break;
        case REC_LRM_SEC_TENSOR:
        case REC_LRM_SEC_BLOB: {
            size_t from = type == REC_LRM_SEC_TENSOR ? 0 : ntens;
            size_t cnt = type == REC_LRM_SEC_TENSOR ? r->ntens : r->nblob;
            for (size_t j = from; j < from + cnt; j++)
                if (strcmp(r->items[j].name, name) == 0)
                    return ferr(r, "%s '%s' appears twice", sec_type_name(type), name);
            rsec *t = &r->items[from + cnt];
            t->name = name;
            t->p = p;
            t->len = len;
            if (type == REC_LRM_SEC_TENSOR) {
                st = parse_tensor(r, t, p, len);
                r->ntens++;
            } else {
                r->nblob++;
            }
            break;
        }
        default:
            /* a newer minor version may add section types older readers skip */
            if (r->major == REC_LRM_MAJOR && r->minor > REC_LRM_MINOR)
                break;
            return ferr(r, "section '%s' has unknown type %u", name, type);
        }
        if (st != REC_OK)
            return st;
    }
    if (end != file_len)
        return ferr(r, "%llu bytes after the last section", (unsigned long long)(file_len - end));
    for (uint32_t t = REC_LRM_SEC_KIND; t <= REC_LRM_SEC_PARAMS; t++)
        if (!seen[t])
            return ferr(r, "no %s section", sec_type_name(t));
    return REC_OK;
}

void rec_lrm_close(rec_lrm_reader *r)
{
    if (!r)
        return;
    rec_free(r->items, r->items_cap * sizeof *r->items);
    rec_free(r->meta, r->nmeta * sizeof *r->meta);
    if (r->own == OWN_MMAP)
        munmap((void *)r->base, r->size);
    else if (r->own == OWN_HEAP)
        rec_aligned_free((void *)r->base, r->size);
    rec_strfree(r->name);
    rec_free(r, sizeof *r);
}

/* Takes ownership of base (per own) in every case. */
static rec_status reader_new(const char *name, const unsigned char *base, size_t size, int own,
                             rec_lrm_reader **out, const char *fn)
{
    rec_lrm_reader *r = rec_calloc(1, sizeof *r);
    char *nm = rec_strdup(name);
    if (!r || !nm) {
        rec_free(r, sizeof *r);
        rec_strfree(nm);
        if (own == OWN_MMAP)
            munmap((void *)base, size);
        else if (own == OWN_HEAP)
            rec_aligned_free((void *)base, size);
        return rec_nomem(fn);
    }
    r->name = nm;
    r->base = base;
    r->size = size;
    r->own = own;
    rec_status st = parse(r);
    if (st != REC_OK) {
        rec_lrm_close(r);
        return st;
    }
    *out = r;
    return REC_OK;
}

rec_status rec_lrm_open_mem(const void *bytes, size_t len, rec_lrm_reader **out)
{
    const char *fn = "rec_lrm_open_mem";
    REC_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    REC_CHECK_ARG(bytes || len == 0, fn, "bytes is NULL");
    if (len == 0 || ((uintptr_t)bytes & 63) == 0)
        return reader_new("<memory>", bytes, len, OWN_NONE, out, fn);
    /* unaligned bytes would give unaligned tensor data: copy them */
    unsigned char *copy = rec_aligned_alloc(len);
    if (!copy)
        return rec_nomem(fn);
    memcpy(copy, bytes, len);
    return reader_new("<memory>", copy, len, OWN_HEAP, out, fn);
}

rec_status rec_lrm_open(const char *path, rec_lrm_reader **out)
{
    const char *fn = "rec_lrm_open";
    REC_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    REC_CHECK_ARG(path, fn, "path is NULL");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rec_err(REC_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rec_status st = rec_err(REC_E_IO, "%s: not a regular file", path);
        close(fd);
        return st;
    }
    if ((uint64_t)sb.st_size > SIZE_MAX / 2) {
        close(fd);
        return rec_err(REC_E_FORMAT, "%s: file too large", path);
    }
    size_t size = (size_t)sb.st_size;
    const unsigned char *base = NULL;
    int own = OWN_NONE;
    if (size) {
        void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m != MAP_FAILED) {
            base = m;
            own = OWN_MMAP;
        } else {
            unsigned char *buf = rec_aligned_alloc(size);
            if (!buf) {
                close(fd);
                return rec_nomem(fn);
            }
            size_t got = 0;
            while (got < size) {
                ssize_t k = pread(fd, buf + got, size - got, (off_t)got);
                if (k < 0 && errno == EINTR)
                    continue;
                if (k <= 0) {
                    rec_status st = rec_err(REC_E_IO, "%s: read failed at byte %zu: %s", path,
                                            got, k < 0 ? strerror(errno) : "file shrank");
                    rec_aligned_free(buf, size);
                    close(fd);
                    return st;
                }
                got += (size_t)k;
            }
            base = buf;
            own = OWN_HEAP;
        }
    }
    close(fd);
    return reader_new(path, base, size, own, out, fn);
}

/* ---- accessors -------------------------------------------------------------- */

const char *rec_lrm_kind(const rec_lrm_reader *r)
{
    return r ? r->kind : NULL;
}

void rec_lrm_format_version(const rec_lrm_reader *r, int *major, int *minor)
{
    if (major)
        *major = r ? r->major : 0;
    if (minor)
        *minor = r ? r->minor : 0;
}

rec_status rec_lrm_params(const rec_lrm_reader *r, rec_params **out)
{
    const char *fn = "rec_lrm_params";
    REC_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    REC_CHECK_ARG(r, fn, "reader is NULL");
    rec_params *p;
    REC_TRY(rec_params_create(&p));
    const unsigned char *q = r->params + 4;
    for (size_t i = 0; i < r->nparams; i++) {
        uint32_t t = get32(q), kl = get32(q + 4), vl = get32(q + 8);
        const char *key = (const char *)q + 12;
        const unsigned char *v = q + 12 + kl + 1;
        uint64_t bits = vl == 8 ? get64(v) : 0;
        double d;
        memcpy(&d, &bits, 8);
        rec_status st = REC_OK;
        switch (t) {
        case REC_PARAM_INT: st = rec_params_set_int(p, key, (int64_t)bits); break;
        case REC_PARAM_FLOAT: st = rec_params_set_float(p, key, d); break;
        case REC_PARAM_BOOL: st = rec_params_set_bool(p, key, v[0]); break;
        case REC_PARAM_STR: st = rec_params_set_str(p, key, (const char *)v); break;
        }
        if (st != REC_OK) {
            rec_params_destroy(p);
            return st == REC_E_NOMEM ? st : ferr(r, "parameter '%s' is not valid", key);
        }
        q += 12 + kl + 1 + vl;
    }
    *out = p;
    return REC_OK;
}

rec_status rec_lrm_meta(const rec_lrm_reader *r, const char *key, const char **value)
{
    const char *fn = "rec_lrm_meta";
    REC_CHECK_ARG(r, fn, "reader is NULL");
    REC_CHECK_ARG(key, fn, "key is NULL");
    REC_CHECK_ARG(value, fn, "value is NULL");
    for (size_t i = 0; i < r->nmeta; i++) {
        if (strcmp(r->meta[i].key, key) == 0) {
            *value = r->meta[i].val;
            return REC_OK;
        }
    }
    *value = NULL;
    return rec_err(REC_E_NOTFOUND, "%s: no metadata '%s'", r->name, key);
}

size_t rec_lrm_meta_count(const rec_lrm_reader *r)
{
    return r ? r->nmeta : 0;
}

rec_status rec_lrm_meta_at(const rec_lrm_reader *r, size_t i, const char **key,
                           const char **value)
{
    const char *fn = "rec_lrm_meta_at";
    REC_CHECK_ARG(r, fn, "reader is NULL");
    REC_CHECK_ARG(key && value, fn, "key or value is NULL");
    if (i >= r->nmeta)
        return rec_err(REC_E_RANGE, "%s: index %zu >= count %zu", fn, i, r->nmeta);
    *key = r->meta[i].key;
    *value = r->meta[i].val;
    return REC_OK;
}

static const rsec *find_item(const rec_lrm_reader *r, size_t from, size_t n, const char *name)
{
    for (size_t i = from; i < from + n; i++)
        if (strcmp(r->items[i].name, name) == 0)
            return &r->items[i];
    return NULL;
}

static rec_status tensor_get(const rec_lrm_reader *r, const char *name, rec_lrm_dtype dt,
                             int nd, const int64_t *want, int64_t *shape_out,
                             const void **data, const char *fn)
{
    REC_CHECK_ARG(r, fn, "reader is NULL");
    REC_CHECK_ARG(name, fn, "name is NULL");
    REC_CHECK_ARG(data, fn, "data is NULL");
    if (!rec_lrm_dtype_size(dt))
        return rec_err(REC_E_INVALID, "%s: '%s': unknown dtype %d", fn, name, (int)dt);
    if (nd < 0 || nd > REC_LRM_MAX_DIMS)
        return rec_err(REC_E_INVALID, "%s: '%s': nd = %d is outside [0, %d]", fn, name, nd,
                       REC_LRM_MAX_DIMS);
    *data = NULL;
    const rsec *t = find_item(r, 0, r->ntens, name);
    if (!t)
        return ferr(r, "no tensor '%s'", name);
    if (t->dt != dt)
        return ferr(r, "tensor '%s' is %s, expected %s", name, dtype_name(t->dt),
                    dtype_name(dt));
    char sb[128], wb[128];
    if (t->nd != nd)
        return ferr(r, "tensor '%s' has shape %s, expected %d dimensions", name,
                    shape_str(sb, sizeof sb, t->nd, t->shape), nd);
    if (want) {
        for (int d = 0; d < nd; d++)
            if (want[d] >= 0 && want[d] != t->shape[d])
                return ferr(r, "tensor '%s' has shape %s, expected %s", name,
                            shape_str(sb, sizeof sb, t->nd, t->shape),
                            shape_str(wb, sizeof wb, nd, want));
    }
    if (shape_out)
        memcpy(shape_out, t->shape, sizeof t->shape);
    *data = t->len > DESC_LEN ? t->p + DESC_LEN : NULL;
    return REC_OK;
}

rec_status rec_lrm_tensor(const rec_lrm_reader *r, const char *name, rec_lrm_dtype dt, int nd,
                          int64_t *shape_out, const void **data)
{
    return tensor_get(r, name, dt, nd, NULL, shape_out, data, "rec_lrm_tensor");
}

rec_status rec_lrm_tensor_expect(const rec_lrm_reader *r, const char *name, rec_lrm_dtype dt,
                                 int nd, const int64_t *want, const void **data)
{
    REC_CHECK_ARG(want || nd == 0, "rec_lrm_tensor_expect", "want is NULL");
    return tensor_get(r, name, dt, nd, want, NULL, data, "rec_lrm_tensor_expect");
}

int rec_lrm_has_tensor(const rec_lrm_reader *r, const char *name)
{
    return r && name && find_item(r, 0, r->ntens, name) != NULL;
}

size_t rec_lrm_tensor_count(const rec_lrm_reader *r)
{
    return r ? r->ntens : 0;
}

rec_status rec_lrm_tensor_at(const rec_lrm_reader *r, size_t i, const char **name,
                             rec_lrm_dtype *dt, int *nd, int64_t *shape_out,
                             const void **data, size_t *bytes)
{
    const char *fn = "rec_lrm_tensor_at";
    REC_CHECK_ARG(r, fn, "reader is NULL");
    if (i >= r->ntens)
        return rec_err(REC_E_RANGE, "%s: index %zu >= count %zu", fn, i, r->ntens);
    const rsec *t = &r->items[i];
    if (name)
        *name = t->name;
    if (dt)
        *dt = t->dt;
    if (nd)
        *nd = t->nd;
    if (shape_out)
        memcpy(shape_out, t->shape, sizeof t->shape);
    if (data)
        *data = t->len > DESC_LEN ? t->p + DESC_LEN : NULL;
    if (bytes)
        *bytes = (size_t)(t->len - DESC_LEN);
    return REC_OK;
}

rec_status rec_lrm_blob(const rec_lrm_reader *r, const char *name, const void **data,
                        size_t *len)
{
    const char *fn = "rec_lrm_blob";
    REC_CHECK_ARG(r, fn, "reader is NULL");
    REC_CHECK_ARG(name, fn, "name is NULL");
    REC_CHECK_ARG(data && len, fn, "data or len is NULL");
    const rsec *b = find_item(r, r->tens_cap, r->nblob, name);
    if (!b)
        return ferr(r, "no blob '%s'", name);
    *data = b->len ? b->p : NULL;
    *len = (size_t)b->len;
    return REC_OK;
}

size_t rec_lrm_blob_count(const rec_lrm_reader *r)
{
    return r ? r->nblob : 0;
}

rec_status rec_lrm_blob_at(const rec_lrm_reader *r, size_t i, const char **name,
                           const void **data, size_t *len)
{
    const char *fn = "rec_lrm_blob_at";
    REC_CHECK_ARG(r, fn, "reader is NULL");
    if (i >= r->nblob)
        return rec_err(REC_E_RANGE, "%s: index %zu >= count %zu", fn, i, r->nblob);
    const rsec *b = &r->items[r->tens_cap + i];
    if (name)
        *name = b->name;
    if (data)
        *data = b->len ? b->p : NULL;
    if (len)
        *len = (size_t)b->len;
    return REC_OK;
}

void rec_lrm_fix_crcs(void *bytes, size_t len)
{
    unsigned char *b = bytes;
    if (!b || len < HDR_LEN)
        return;
    uint64_t nsec = get32(b + 16), names_len = get32(b + 20);
    uint64_t table_len = nsec * ENT_LEN + names_len;
    if (table_len <= len - HDR_LEN) {
        for (uint64_t i = 0; i < nsec; i++) {
            unsigned char *e = b + HDR_LEN + i * ENT_LEN;
            uint64_t off = get64(e + 8), sl = get64(e + 16);
            if (off <= len && sl <= len - off)
                put32(e + 24, rec_crc32c(0, b + off, (size_t)sl));
        }
        put32(b + 32, rec_crc32c(0, b + HDR_LEN, (size_t)table_len));
    }
    put32(b + 60, rec_crc32c(0, b, 60));
}
