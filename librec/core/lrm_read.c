/* The .lrm reader: validates every byte (CRCs, bounds, names, shapes) before
 * a model sees any of it, from memory or a memory-mapped file. */
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
