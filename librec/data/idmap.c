/* External id <-> dense index: open addressing (linear probing) over a
 * string arena, so interning an id costs no allocation in the common case. */
#include "data/data-impl.h"

#include <string.h>

uint64_t rec_hash_bytes(const void *p, size_t n, uint64_t seed)
{
    /* FNV-1a with a final avalanche: ids are short, so byte-wise is fine. */
    const unsigned char *s = p;
    uint64_t h = 0xcbf29ce484222325ULL ^ seed;
    for (size_t k = 0; k < n; k++) {
        h ^= s[k];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

rec_status rec_idmap_create(rec_idmap **out)
{
    rec_idmap *m = rec_calloc(1, sizeof *m);
    if (!m)
        return REC_E_NOMEM;
    m->refs = 1;
    *out = m;
    return REC_OK;
}

rec_idmap *rec_idmap_ref(rec_idmap *m)
{
    if (m)
        __atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
    return m;
}

void rec_idmap_unref(rec_idmap *m)
{
    if (!m || __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    rec_free(m->off, (size_t)m->cap * sizeof *m->off);
    rec_free(m->hash, (size_t)m->cap * sizeof *m->hash);
    rec_free(m->arena, m->acap);
    if (m->slot)
        rec_free(m->slot, ((size_t)m->mask + 1) * sizeof *m->slot);
    rec_free(m, sizeof *m);
}

static int32_t probe(const rec_idmap *m, const char *s, size_t len, uint32_t h, uint32_t *at)
{
    uint32_t k = h & m->mask;
    for (;;) {
        int32_t i = m->slot[k];
        if (i < 0) {
            *at = k;
            return -1;
        }
        if (m->hash[i] == h) {
            const char *t = m->arena + m->off[i];
            if (strncmp(t, s, len) == 0 && t[len] == 0)
                return i;
        }
        k = (k + 1) & m->mask;
    }
}

int32_t rec_idmap_find(const rec_idmap *m, const char *s, size_t len)
{
    if (!m->slot)
        return -1;
    uint32_t at;
    return probe(m, s, len, (uint32_t)rec_hash_bytes(s, len, 0), &at);
}

/* Table of nslots (a power of two) rebuilt from hash[]. */
static rec_status rehash(rec_idmap *m, uint32_t nslots)
{
    int32_t *slot = rec_malloc((size_t)nslots * sizeof *slot);
    if (!slot)
        return REC_E_NOMEM;
    memset(slot, 0xff, (size_t)nslots * sizeof *slot);
    for (int32_t i = 0; i < m->n; i++) {
        uint32_t k = m->hash[i] & (nslots - 1);
        while (slot[k] >= 0)
            k = (k + 1) & (nslots - 1);
        slot[k] = i;
    }
    if (m->slot)
        rec_free(m->slot, ((size_t)m->mask + 1) * sizeof *m->slot);
    m->slot = slot;
    m->mask = nslots - 1;
    return REC_OK;
}

rec_status rec_idmap_intern(rec_idmap *m, const char *s, size_t len, int32_t *idx, int *added)
{
    uint32_t h = (uint32_t)rec_hash_bytes(s, len, 0);
    uint32_t at = 0;
    if (added)
        *added = 0;
    if (m->slot) {
        int32_t i = probe(m, s, len, h, &at);
        if (i >= 0) {
            *idx = i;
            return REC_OK;
        }
    }
    if (m->n == INT32_MAX)
        return REC_E_RANGE;
    /* Grow everything first so a failure leaves the map unchanged. */
    if (m->n == m->cap) {
        int32_t nc = m->cap ? (m->cap > INT32_MAX / 2 ? INT32_MAX : m->cap * 2) : 64;
        size_t *off = rec_malloc((size_t)nc * sizeof *off);
        uint32_t *hh = rec_malloc((size_t)nc * sizeof *hh);
        if (!off || !hh) {
            rec_free(off, off ? (size_t)nc * sizeof *off : 0);
            rec_free(hh, hh ? (size_t)nc * sizeof *hh : 0);
            return REC_E_NOMEM;
        }
        if (m->n) {
            memcpy(off, m->off, (size_t)m->n * sizeof *off);
            memcpy(hh, m->hash, (size_t)m->n * sizeof *hh);
        }
        rec_free(m->off, (size_t)m->cap * sizeof *off);
        rec_free(m->hash, (size_t)m->cap * sizeof *hh);
        m->off = off;
        m->hash = hh;
        m->cap = nc;
    }
    if (m->alen + len + 1 > m->acap) {
        size_t na = m->acap ? m->acap * 2 : 1024;
        while (na < m->alen + len + 1)
            na *= 2;
        char *a = rec_realloc(m->arena, m->acap, na);
        if (!a)
            return REC_E_NOMEM;
        m->arena = a;
        m->acap = na;
    }
    if (!m->slot || (uint64_t)(m->n + 1) * 4 > ((uint64_t)m->mask + 1) * 3) {
        uint32_t ns = m->slot ? (m->mask + 1) * 2 : 128;
        REC_TRY(rehash(m, ns));
        probe(m, s, len, h, &at);
    }
    int32_t i = m->n++;
    memcpy(m->arena + m->alen, s, len);
    m->arena[m->alen + len] = 0;
    m->off[i] = m->alen;
    m->hash[i] = h;
    m->alen += len + 1;
    m->slot[at] = i;
    *idx = i;
    if (added)
        *added = 1;
    return REC_OK;
}

rec_status rec_idmap_clone(const rec_idmap *m, rec_idmap **out)
{
    rec_idmap *c;
    REC_TRY(rec_idmap_create(&c));
    if (m->cap) {
        c->off = rec_malloc((size_t)m->cap * sizeof *c->off);
        c->hash = rec_malloc((size_t)m->cap * sizeof *c->hash);
        c->cap = m->cap;
    }
    if (m->acap) {
        c->arena = rec_malloc(m->acap);
        c->acap = m->acap;
    }
    if (m->slot) {
        c->slot = rec_malloc(((size_t)m->mask + 1) * sizeof *c->slot);
        c->mask = m->mask;
    }
    if ((m->cap && (!c->off || !c->hash)) || (m->acap && !c->arena) || (m->slot && !c->slot)) {
        rec_idmap_unref(c);
        return REC_E_NOMEM;
    }
    c->n = m->n;
    c->alen = m->alen;
    if (m->n) {
        memcpy(c->off, m->off, (size_t)m->n * sizeof *c->off);
        memcpy(c->hash, m->hash, (size_t)m->n * sizeof *c->hash);
    }
    if (m->alen)
        memcpy(c->arena, m->arena, m->alen);
    if (m->slot)
        memcpy(c->slot, m->slot, ((size_t)m->mask + 1) * sizeof *c->slot);
    *out = c;
    return REC_OK;
}

rec_status rec_idmap_from_blob(rec_idmap **out, const char *blob, size_t bytes, int32_t n)
{
    rec_idmap *m;
    *out = NULL;
    if (rec_idmap_create(&m))
        return rec_nomem("id map");
    size_t p = 0;
    for (int32_t k = 0; k < n; k++) {
        const char *end = p < bytes ? memchr(blob + p, 0, bytes - p) : NULL;
        int32_t idx;
        int added;
        rec_status st = REC_OK;
        if (!end)
            st = rec_err(REC_E_FORMAT, "id map: name %d is not terminated", k);
        else if (rec_idmap_intern(m, blob + p, (size_t)(end - blob - p), &idx, &added))
            st = rec_nomem("id map");
        else if (!added)
            st = rec_err(REC_E_FORMAT, "id map: name %d repeats name %d", k, idx);
        if (st) {
            rec_idmap_unref(m);
            return st;
        }
        p = (size_t)(end - blob) + 1;
    }
    if (p != bytes) {
        rec_idmap_unref(m);
        return rec_err(REC_E_FORMAT, "id map: %zu bytes after %d names", bytes - p, n);
    }
    *out = m;
    return REC_OK;
}
