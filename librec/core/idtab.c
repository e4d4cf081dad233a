#include "idtab-impl.h"

#include <string.h>

struct rec_idtab {
    char *chars;          /* names, NUL-terminated, back to back */
    size_t nchars, capchars;
    size_t *off;          /* name i starts at chars + off[i] */
    int32_t n, capn;
    int32_t *slots;       /* hash slots holding index+1, 0 = empty */
    size_t nslots;        /* power of two */
};

static uint64_t hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a, then a final mix */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    return h ^ (h >> 32);
}

rec_status rec_idtab_create(rec_idtab **out)
{
    *out = rec_calloc(1, sizeof **out);
    return *out ? REC_OK : rec_nomem("idtab");
}

void rec_idtab_destroy(rec_idtab *t)
{
    if (!t)
        return;
    rec_free(t->chars, t->capchars);
    rec_free(t->off, (size_t)t->capn * sizeof *t->off);
    rec_free(t->slots, t->nslots * sizeof *t->slots);
    rec_free(t, sizeof *t);
}

static int32_t probe(const rec_idtab *t, const char *s, size_t len, size_t *slot)
{
    size_t mask = t->nslots - 1, i = hash(s, len) & mask;
    for (;; i = (i + 1) & mask) {
        int32_t v = t->slots[i];
        if (!v) {
            *slot = i;
            return -1;
        }
        const char *name = t->chars + t->off[v - 1];
        if (strncmp(name, s, len) == 0 && name[len] == 0) {
            *slot = i;
            return v - 1;
        }
    }
}

static rec_status rehash(rec_idtab *t, size_t nslots)
{
    int32_t *ns = rec_calloc(nslots, sizeof *ns);
    if (!ns)
        return rec_nomem("idtab");
    rec_free(t->slots, t->nslots * sizeof *t->slots);
    t->slots = ns;
    t->nslots = nslots;
    for (int32_t k = 0; k < t->n; k++) {
        const char *name = t->chars + t->off[k];
        size_t slot;
        probe(t, name, strlen(name), &slot);
        t->slots[slot] = k + 1;
    }
    return REC_OK;
}

int32_t rec_idtab_find(const rec_idtab *t, const char *s, size_t len)
{
    if (!t->n)
        return -1;
    size_t slot;
    return probe(t, s, len, &slot);
}

rec_status rec_idtab_add(rec_idtab *t, const char *s, size_t len, int32_t *idx)
{
    if ((size_t)(t->n + 1) * 2 > t->nslots)
        REC_TRY(rehash(t, t->nslots ? t->nslots * 2 : 64));
    size_t slot;
    int32_t k = probe(t, s, len, &slot);
    if (k >= 0) {
        *idx = k;
        return REC_OK;
    }
    if (t->n == INT32_MAX - 1)
        return rec_err(REC_E_RANGE, "idtab: more than %d ids", INT32_MAX - 1);
    if (t->nchars + len + 1 > t->capchars) {
        size_t nc = t->capchars ? t->capchars * 2 : 4096;
        while (nc < t->nchars + len + 1)
            nc *= 2;
        char *c = rec_realloc(t->chars, t->capchars, nc);
        if (!c)
            return rec_nomem("idtab");
        t->chars = c;
        t->capchars = nc;
    }
    if (t->n == t->capn) {
        int32_t nc = t->capn ? t->capn * 2 : 256;
        size_t *o = rec_realloc(t->off, (size_t)t->capn * sizeof *o, (size_t)nc * sizeof *o);
        if (!o)
            return rec_nomem("idtab");
        t->off = o;
        t->capn = nc;
    }
    memcpy(t->chars + t->nchars, s, len);
    t->chars[t->nchars + len] = 0;
    t->off[t->n] = t->nchars;
    t->nchars += len + 1;
    t->slots[slot] = t->n + 1;
    *idx = t->n++;
    return REC_OK;
}

const char *rec_idtab_name(const rec_idtab *t, int32_t i)
{
    return i >= 0 && i < t->n ? t->chars + t->off[i] : NULL;
}

int32_t rec_idtab_size(const rec_idtab *t)
{
    return t->n;
}

const char *rec_idtab_blob(const rec_idtab *t, size_t *bytes)
{
    *bytes = t->nchars;
    return t->chars ? t->chars : "";
}

rec_status rec_idtab_from_blob(rec_idtab **out, const char *blob, size_t bytes, int32_t n)
{
    rec_idtab *t;
    *out = NULL;
    REC_TRY(rec_idtab_create(&t));
    size_t p = 0;
    for (int32_t k = 0; k < n; k++) {
        const char *end = p < bytes ? memchr(blob + p, 0, bytes - p) : NULL;
        int32_t idx;
        rec_status st = end ? rec_idtab_add(t, blob + p, (size_t)(end - blob - p), &idx)
                            : rec_err(REC_E_FORMAT, "id table: name %d is not terminated", k);
        if (!st && idx != k)
            st = rec_err(REC_E_FORMAT, "id table: name %d repeats name %d", k, idx);
        if (st) {
            rec_idtab_destroy(t);
            return st;
        }
        p = (size_t)(end - blob) + 1;
    }
    if (p != bytes) {
        rec_idtab_destroy(t);
        return rec_err(REC_E_FORMAT, "id table: %zu bytes after %d names", bytes - p, n);
    }
    *out = t;
    return REC_OK;
}
