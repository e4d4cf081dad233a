/* Saving and loading an index in a .lrm file.  Kinds "index.flat" and
 * "index.hnsw"; params dim, metric (and the HNSW build params); tensors:
 *   vectors  F32 [n, dim] (flat) or [n, stride] (hnsw, zero-padded rows)
 *   links0   I32 [n, 1 + 2M]   level-0 lists (count, ids)
 *   upper    I32 [sum of levels * (1 + M)]  levels 1.. of each node in turn
 *   levels   U8 [n], dead U8 [n], freed I32 [nfree] (slots to reuse, in order)
 *   state    I64 [3]: entry, top level, levels drawn
 * An HNSW load keeps vectors and links0 in the read-only mapping (the bulk
 * of the file) and checks every link, so a corrupted file is REC_E_FORMAT,
 * never a wild read in a later search. */
#include "core/lrm-impl.h"
#include "hnsw-impl.h"
#include "index-impl.h"

#include <stdio.h>
#include <string.h>

static rec_status put_params(rec_lrm_writer *w, const rec_index *ix)
{
    rec_params *p;
    REC_TRY(rec_params_create(&p));
    rec_status st = rec_params_set_int(p, "dim", ix->dim);
    if (!st)
        st = rec_params_set_str(p, "metric", ix->cosine ? "cosine" : "ip");
    const rec_hnsw *h = ix->hnsw;
    if (!st && h)
        st = rec_params_set_int(p, "M", h->M);
    if (!st && h)
        st = rec_params_set_int(p, "ef_construction", h->efc);
    if (!st && h)
        st = rec_params_set_int(p, "ef", ix->ef_default);
    if (!st && h)
        st = rec_params_set_int(p, "seed", (int64_t)h->seed);
    if (!st)
        st = rec_lrm_add_params(w, p);
    rec_params_destroy(p);
    return st;
}

/* Adds the index's tensors under prefix, with a head I64 [7]: hnsw (0/1),
 * dim, cosine, M, ef_construction, ef, seed.  The writer keeps pointers, so
 * what is built here (the head, the graph's state and its upper lists) goes
 * in *keep, *kb bytes, which must live until w is saved. */
rec_status rec_index_put(rec_lrm_writer *w, const rec_index *ix, const char *prefix,
                         void **keep, size_t *kb)
{
    const rec_hnsw *h = ix->hnsw;
    int64_t n = h ? h->n : ix->n, total = 0;
    for (int64_t i = 0; h && i < n; i++)
        total += (int64_t)h->level[i] * (1 + h->M);
    *kb = 10 * sizeof(int64_t) + ((size_t)total + 1) * sizeof(int32_t);
    int64_t *head = *keep = rec_malloc(*kb), *state = head + 7;
    if (!head)
        return rec_nomem("rec_index_save");
    int64_t hv[7] = { h != NULL, ix->dim, ix->cosine, h ? h->M : 0, h ? h->efc : 0,
                      ix->ef_default, h ? (int64_t)h->seed : 0 };
    memcpy(head, hv, sizeof hv);
    char name[REC_LRM_MAX_NAME + 1];
    rec_status st = REC_OK;
#define PUT(nm, dt, nd, shape, data)                                                            \
    if (!st) {                                                                                  \
        snprintf(name, sizeof name, "%s%s", prefix, nm);                                        \
        st = rec_lrm_add_tensor(w, name, dt, nd, shape, data);                                  \
    }
    int64_t seven = 7;
    PUT("head", REC_LRM_I64, 1, &seven, head)
    if (!h) {
        int64_t xs[2] = { ix->n, ix->dim };
        PUT("vectors", REC_LRM_F32, 2, xs, ix->x)
        return st;
    }
    state[0] = h->entry;
    state[1] = h->maxlevel;
    state[2] = (int64_t)h->drawn;
    int32_t *u = (int32_t *)(state + 3);
    for (int64_t i = 0, o = 0; i < n; i++) {
        size_t len = (size_t)h->level[i] * (size_t)(1 + h->M);
        if (len)
            memcpy(u + o, h->up[i], len * sizeof *u);
        o += (int64_t)len;
    }
    int64_t xs[2] = { n, (int64_t)h->stride }, ls[2] = { n, 1 + h->M0 }, nf = h->nfree, three = 3;
    PUT("vectors", REC_LRM_F32, 2, xs, h->x)
    PUT("links0", REC_LRM_I32, 2, ls, h->l0)
    PUT("upper", REC_LRM_I32, 1, &total, u)
    PUT("levels", REC_LRM_U8, 1, &n, h->level)
    PUT("dead", REC_LRM_U8, 1, &n, h->dead)
    PUT("freed", REC_LRM_I32, 1, &nf, h->freed)
    PUT("state", REC_LRM_I64, 1, &three, state)
#undef PUT
    return st;
}

REC_API rec_status rec_index_save(const rec_index *ix, const char *path)
{
    static const char fn[] = "rec_index_save";
    REC_CHECK_ARG(ix, fn, "index is NULL");
    REC_CHECK_ARG(path, fn, "path is NULL");
    rec_index *lk = (rec_index *)ix;
    pthread_rwlock_rdlock(&lk->lock);
    rec_lrm_writer *w;
    rec_status st = rec_lrm_writer_create(ix->hnsw ? "index.hnsw" : "index.flat", &w);
    if (!st) {
        void *keep = NULL;
        size_t kb = 0;
        st = put_params(w, ix);
        if (!st)
            st = rec_index_put(w, ix, "", &keep, &kb);
        if (!st)
            st = rec_lrm_save(w, path);
        rec_free(keep, kb);
        rec_lrm_writer_destroy(w);
    }
    pthread_rwlock_unlock(&lk->lock);
    return st;
}

/* ---- load ---- */

static rec_status bad(const char *path, const char *what)
{
    return rec_err(REC_E_FORMAT, "%s: %s", path, what);
}

/* Checks a link list: count within max, ids in [0, n). */
static int list_ok(const int32_t *l, int max, int64_t n)
{
    if (l[0] < 0 || l[0] > max)
        return 0;
    for (int t = 0; t < l[0]; t++)
        if (l[1 + t] < 0 || l[1 + t] >= n)
            return 0;
    return 1;
}

static rec_status load_hnsw(rec_index *ix, rec_lrm_reader *r, const char *prefix,
                            const int64_t hp[4], const char *path)
{
    int64_t M = hp[0], efc = hp[1], ef = hp[2], seed = hp[3];
    if (M < 2 || M > 512 || efc < 1 || efc > 100000 || ef < 1 || ef > 100000 || seed < 0)
        return bad(path, "missing or bad HNSW params (M, ef_construction, ef, seed)");
    REC_TRY(rec_hnsw_create(&ix->hnsw, ix->dim, ix->cosine, (int)M, (int)efc, (uint64_t)seed));
    ix->ef_default = (int)ef;
    rec_hnsw *h = ix->hnsw;
    int64_t shape[REC_LRM_MAX_DIMS];
    const void *xd, *ld, *ud, *lvd, *dd, *fd, *sd;
    char nm[7][REC_LRM_MAX_NAME + 1];
    static const char *const names[7] = { "vectors", "links0", "levels", "dead",
                                          "state", "freed", "upper" };
    for (int t = 0; t < 7; t++)
        snprintf(nm[t], sizeof nm[t], "%s%s", prefix, names[t]);
    REC_TRY(rec_lrm_tensor(r, nm[0], REC_LRM_F32, 2, shape, &xd));
    int64_t n = shape[0];
    if (shape[1] != (int64_t)h->stride || n > INT32_MAX)
        return bad(path, "vectors: shape does not match dim");
    REC_TRY(rec_lrm_tensor_expect(r, nm[1], REC_LRM_I32, 2, (int64_t[]){ n, 1 + h->M0 }, &ld));
    REC_TRY(rec_lrm_tensor_expect(r, nm[2], REC_LRM_U8, 1, &n, &lvd));
    REC_TRY(rec_lrm_tensor_expect(r, nm[3], REC_LRM_U8, 1, &n, &dd));
    REC_TRY(rec_lrm_tensor_expect(r, nm[4], REC_LRM_I64, 1, (int64_t[]){ 3 }, &sd));
    REC_TRY(rec_lrm_tensor(r, nm[5], REC_LRM_I32, 1, shape, &fd));
    int64_t nfree = shape[0];
    REC_TRY(rec_lrm_tensor(r, nm[6], REC_LRM_I32, 1, shape, &ud));
    int64_t total = shape[0];
    const uint8_t *lv = lvd, *dead = dd;
    const int32_t *l0 = ld, *up = ud, *fr = fd;
    const int64_t *state = sd;
    int64_t want = 0, ndead = 0;
    for (int64_t i = 0; i < n; i++) {
        if (lv[i] > REC_HNSW_MAX_LEVEL || dead[i] > 1)
            return bad(path, "levels or dead: value out of range");
        want += (int64_t)lv[i] * (1 + M);
        ndead += dead[i];
        if (!list_ok(l0 + i * (1 + h->M0), h->M0, n))
            return bad(path, "links0: a list has a bad count or id");
    }
    if (want != total)
        return bad(path, "upper: size does not match the levels");
    for (int64_t o = 0; o < total; o += 1 + M)
        if (!list_ok(up + o, (int)M, n))
            return bad(path, "upper: a list has a bad count or id");
    int64_t entry = state[0], top = state[1];
    if (n == 0 ? entry != -1 : (entry < 0 || entry >= n || top != lv[entry]) || state[2] < n)
        return bad(path, "state: bad entry point");
    if (nfree > ndead)
        return bad(path, "freed: more slots than deleted labels");
    for (int64_t i = 0; i < nfree; i++)
        if (fr[i] < 0 || fr[i] >= n || !dead[fr[i]] || fr[i] == entry)
            return bad(path, "freed: a slot that is not deleted");
    /* Owned small tables, then the mapped ones. */
    size_t c = (size_t)n;
    h->up = rec_calloc(c ? c : 1, sizeof *h->up);
    h->level = rec_malloc(c ? c : 1);
    h->dead = rec_malloc(c ? c : 1);
    h->freed = rec_malloc((c ? c : 1) * sizeof *h->freed);
    h->spin = rec_calloc(c ? c : 1, 1);
    h->cap = n ? n : 1;
    h->n = 0; /* destroy frees up[0..n) only once they exist */
    if (!h->up || !h->level || !h->dead || !h->freed || !h->spin)
        return rec_nomem("rec_index_load");
    if (c) {
        memcpy(h->level, lv, c);
        memcpy(h->dead, dead, c);
    }
    if (nfree)
        memcpy(h->freed, fr, (size_t)nfree * sizeof *fr);
    for (int64_t i = 0, o = 0; i < n; i++) {
        size_t len = (size_t)lv[i] * (size_t)(1 + M);
        if (!len)
            continue;
        if (!(h->up[i] = rec_malloc(len * sizeof(int32_t)))) {
            h->n = i;
            return rec_nomem("rec_index_load");
        }
        memcpy(h->up[i], up + o, len * sizeof(int32_t));
        o += (int64_t)len;
    }
    h->n = n;
    h->ndead = ndead;
    h->nfree = nfree;
    h->entry = (int32_t)entry;
    h->maxlevel = n ? (int)top : -1;
    h->drawn = (uint64_t)state[2];
    h->x = (float *)xd;
    h->l0 = (int32_t *)ld;
    h->reader = r;
    if (n == 0)
        return rec_hnsw_own(h, "rec_index_load");
    return REC_OK;
}

REC_API rec_status rec_index_load(const char *path, rec_index **out)
{
    static const char fn[] = "rec_index_load";
    REC_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    REC_CHECK_ARG(path, fn, "path is NULL");
    rec_lrm_reader *r;
    REC_TRY(rec_lrm_open(path, &r));
    const char *kind = rec_lrm_kind(r);
    int hnsw = strcmp(kind, "index.hnsw") == 0;
    rec_params *p = NULL;
    rec_index *ix = NULL;
    rec_status st = hnsw || strcmp(kind, "index.flat") == 0
                        ? REC_OK
                        : rec_err(REC_E_FORMAT, "%s: not an index file (kind '%s')", path, kind);
    int64_t dim = 0;
    const char *metric = NULL;
    if (!st)
        st = rec_lrm_params(r, &p);
    if (!st && (rec_params_get_int(p, "dim", &dim) || rec_params_get_str(p, "metric", &metric)))
        st = bad(path, "missing params dim and metric");
    if (!st && (st = rec_index_create(&ix, (int)(dim > 0 && dim <= 65536 ? dim : 0), metric))) {
        char why[256];
        snprintf(why, sizeof why, "bad params: %s", rec_last_error());
        st = bad(path, why);
    }
    int64_t hp[4] = { 0, 0, 0, -1 };
    if (!st && hnsw && (rec_params_get_int(p, "M", &hp[0]) ||
                        rec_params_get_int(p, "ef_construction", &hp[1]) ||
                        rec_params_get_int(p, "ef", &hp[2]) || rec_params_get_int(p, "seed", &hp[3])))
        st = bad(path, "missing or bad HNSW params (M, ef_construction, ef, seed)");
    if (!st && hnsw) {
        st = load_hnsw(ix, r, "", hp, path);
        if (!st)
            r = NULL; /* the index keeps the mapping */
    } else if (!st) {
        int64_t shape[REC_LRM_MAX_DIMS];
        const void *x;
        st = rec_lrm_tensor(r, "vectors", REC_LRM_F32, 2, shape, &x);
        if (!st && shape[1] != dim)
            st = bad(path, "vectors: shape does not match dim");
        if (!st && shape[0] > INT32_MAX)
            st = bad(path, "vectors: more than 2^31-1 rows");
        if (!st)
            st = rec_flat_add_locked(ix, x, (size_t)shape[0], fn);
    }
    rec_params_destroy(p);
    rec_lrm_close(r);
    if (st) {
        rec_index_destroy(ix);
        return st;
    }
    *out = ix;
    return REC_OK;
}

rec_status rec_index_get(rec_lrm_reader *r, const char *prefix, const char *path,
                         rec_index **out, int *took)
{
    *out = NULL;
    *took = 0;
    char name[REC_LRM_MAX_NAME + 1];
    snprintf(name, sizeof name, "%shead", prefix);
    const void *hd;
    REC_TRY(rec_lrm_tensor_expect(r, name, REC_LRM_I64, 1, (int64_t[]){ 7 }, &hd));
    const int64_t *head = hd;
    if (head[0] < 0 || head[0] > 1 || head[1] < 1 || head[1] > 65536 || head[2] < 0 ||
        head[2] > 1)
        return bad(path, "index head: bad kind, dim or metric");
    rec_index *ix;
    REC_TRY(rec_index_create(&ix, (int)head[1], head[2] ? "cosine" : "ip"));
    rec_status st;
    if (head[0]) {
        st = load_hnsw(ix, r, prefix, head + 3, path);
        *took = !st;
    } else {
        int64_t shape[REC_LRM_MAX_DIMS];
        const void *x;
        snprintf(name, sizeof name, "%svectors", prefix);
        st = rec_lrm_tensor(r, name, REC_LRM_F32, 2, shape, &x);
        if (!st && (shape[1] != head[1] || shape[0] > INT32_MAX))
            st = bad(path, "index vectors: shape does not match dim");
        if (!st)
            st = rec_flat_add_locked(ix, x, (size_t)shape[0], "rec_model_load");
    }
    if (st) {
        rec_index_destroy(ix);
        return st;
    }
    *out = ix;
    return REC_OK;
}
