/* The .lrm writer: collects a model's kind, params, metadata, tensors and
 * blobs, lays them out (lrm_format-impl.h) and saves atomically (temporary
 * file, fsync, rename) or into memory. */
#include "lrm_format-impl.h"

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
