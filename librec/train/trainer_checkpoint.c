/* Trainer checkpoints: params, optimizer state and the loop's own state in
 * one .lrm, written atomically and read back only after all of it checks. */
#define REC_OPTIM_INTERNAL /* restoring the optimizer's step count */
#include "train-impl.h"
#include "core/lrm-impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define KIND "checkpoint"
#define BLOB "trainer"
#define BLOB_VERSION 1u
#define BLOB_LEN 88 /* u32 version, u32 0, i64 epoch, u64 rng[4], f64 best,
                       i64 best_epoch, i64 bad, i64 has_best, i64 optim steps */

static void put64(unsigned char *p, uint64_t v)
{
    for (int k = 0; k < 8; k++)
        p[k] = (unsigned char)(v >> (8 * k));
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int k = 0; k < 8; k++)
        v |= (uint64_t)p[k] << (8 * k);
    return v;
}

static uint64_t dbits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double bitsd(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* "<prefix><a>[.<b>]" into buf; REC_E_INVALID when it does not fit a name. */
static rec_status name_of(char *buf, const char *prefix, const char *a, const char *b,
                          const char *fn)
{
    int n = b ? snprintf(buf, REC_LRM_MAX_NAME + 1, "%s%s.%s", prefix, a, b)
              : snprintf(buf, REC_LRM_MAX_NAME + 1, "%s%s", prefix, a);
    if (n < 0 || n > REC_LRM_MAX_NAME)
        return rec_err(REC_E_INVALID, "%s: '%s' is too long for a name in a checkpoint", fn, a);
    return REC_OK;
}

static rec_status fill(rec_lrm_writer *w, const rec_pstore *ps, const rec_optim *o,
                       const rec_train_state *st, const char *metric, unsigned char *blob,
                       const char *fn)
{
    char name[REC_LRM_MAX_NAME + 1];
    size_t ns = rec_optim_state_count(o);
    REC_TRY(rec_pstore_save(ps, w, "param.", fn));
    for (size_t i = 0; i < ns; i++) {
        rec_optim_state s;
        int64_t one = 1;
        REC_TRY(rec_optim_state_at(o, i, &s));
        REC_TRY(name_of(name, "optim.", s.param, s.slot, fn));
        REC_TRY(rec_lrm_add_tensor(w, name, REC_LRM_F32, 1, &s.n, s.v));
        REC_TRY(name_of(name, "optim_step.", s.param, s.slot, fn));
        REC_TRY(rec_lrm_add_tensor(w, name, REC_LRM_I64, 1, &one, s.step));
    }
    int has_best = st->best_params && st->nbest > 0;
    if (has_best)
        REC_TRY(rec_lrm_add_tensor(w, "best", REC_LRM_F32, 1, &st->nbest, st->best_params));
    memset(blob, 0, BLOB_LEN);
    put64(blob, BLOB_VERSION);
    put64(blob + 8, (uint64_t)st->epoch);
    for (int k = 0; k < 4; k++)
        put64(blob + 16 + 8 * k, st->rng.s[k]);
    put64(blob + 48, dbits(st->best));
    put64(blob + 56, (uint64_t)st->best_epoch);
    put64(blob + 64, (uint64_t)st->bad);
    put64(blob + 72, (uint64_t)has_best);
    put64(blob + 80, (uint64_t)rec_optim_steps(o));
    REC_TRY(rec_lrm_add_blob(w, BLOB, blob, BLOB_LEN));
    REC_TRY(rec_lrm_add_meta(w, "optim.kind", rec_optim_kind_name(o)));
    if (metric && *metric && isfinite(st->best)) {
        char key[REC_LRM_MAX_NAME + 1], val[32];
        REC_TRY(name_of(key, "metrics.", metric, NULL, fn));
        snprintf(val, sizeof val, "%.9g", st->best);
        REC_TRY(rec_lrm_add_meta(w, key, val));
    }
    return REC_OK;
}

rec_status rec_checkpoint_save(const char *path, const rec_pstore *ps, const rec_optim *o,
                               const rec_train_state *st, const char *metric)
{
    static const char fn[] = "rec_checkpoint_save";
    REC_CHECK_ARG(path && *path, fn, "path is NULL or empty");
    REC_CHECK_ARG(ps && o && st, fn, "store, optimizer or state is NULL");
    rec_lrm_writer *w;
    unsigned char blob[BLOB_LEN];
    REC_TRY(rec_lrm_writer_create(KIND, &w));
    rec_status s = fill(w, ps, o, st, metric, blob, fn);
    if (!s)
        s = rec_lrm_save(w, path);
    rec_lrm_writer_destroy(w);
    return s;
}

/* ---- load ------------------------------------------------------------------ */

typedef struct pending {
    const void **param;         /* [np] */
    const void **state;         /* [ns] */
    const void **step;          /* [ns] */
    size_t np, ns;
} pending;

static rec_status check_all(const rec_lrm_reader *r, const char *path, rec_pstore *ps,
                            rec_optim *o, rec_train_state *st, pending *pd,
                            const unsigned char **blob, const void **best)
{
    char name[REC_LRM_MAX_NAME + 1];
    static const char fn[] = "rec_checkpoint_load";
    if (strcmp(rec_lrm_kind(r), KIND))
        return rec_err(REC_E_FORMAT, "%s: not a trainer checkpoint (kind '%s')", path,
                       rec_lrm_kind(r));
    const void *b;
    size_t len;
    REC_TRY(rec_lrm_blob(r, BLOB, &b, &len));
    *blob = b;
    if (len != BLOB_LEN || get64(*blob) != BLOB_VERSION)
        return rec_err(REC_E_FORMAT, "%s: trainer state of %zu bytes, version %llu (want %d, "
                       "%u)", path, len, (unsigned long long)(len >= 8 ? get64(*blob) : 0),
                       BLOB_LEN, BLOB_VERSION);
    int64_t epoch = (int64_t)get64(*blob + 8), bad = (int64_t)get64(*blob + 64);
    int64_t has_best = (int64_t)get64(*blob + 72), steps = (int64_t)get64(*blob + 80);
    if (epoch < 0 || bad < 0 || steps < 0 || (has_best != 0 && has_best != 1))
        return rec_err(REC_E_FORMAT, "%s: trainer state out of range (epoch %lld, steps %lld)",
                       path, (long long)epoch, (long long)steps);
    const char *kind;
    if (rec_lrm_meta(r, "optim.kind", &kind) != REC_OK)
        return rec_err(REC_E_FORMAT, "%s: no optimizer kind in the metadata", path);
    if (strcmp(kind, rec_optim_kind_name(o)))
        return rec_err(REC_E_FORMAT, "%s: saved with optimizer '%s', resumed with '%s'", path,
                       kind, rec_optim_kind_name(o));
    for (size_t i = 0; i < pd->np; i++) {
        const rec_tensor *t = rec_pstore_at(ps, i);
        REC_TRY(name_of(name, "param.", t->name, NULL, fn));
        REC_TRY(rec_lrm_tensor_expect(r, name, REC_LRM_F32, t->nd, t->shape, &pd->param[i]));
    }
    for (size_t i = 0; i < pd->ns; i++) {
        rec_optim_state s;
        int64_t one = 1;
        REC_TRY(rec_optim_state_at(o, i, &s));
        REC_TRY(name_of(name, "optim.", s.param, s.slot, fn));
        REC_TRY(rec_lrm_tensor_expect(r, name, REC_LRM_F32, 1, &s.n, &pd->state[i]));
        REC_TRY(name_of(name, "optim_step.", s.param, s.slot, fn));
        REC_TRY(rec_lrm_tensor_expect(r, name, REC_LRM_I64, 1, &one, &pd->step[i]));
        int64_t v;
        memcpy(&v, pd->step[i], sizeof v);
        if (v < 0)
            return rec_err(REC_E_FORMAT, "%s: tensor '%s' holds a negative step", path, name);
    }
    int64_t numel = rec_pstore_numel(ps);
    *best = NULL;
    if (has_best)
        REC_TRY(rec_lrm_tensor_expect(r, "best", REC_LRM_F32, 1, &numel, best));
    size_t want = pd->np + 2 * pd->ns + (size_t)has_best;
    if (rec_lrm_tensor_count(r) != want)
        return rec_err(REC_E_FORMAT, "%s: %zu tensors, want %zu for this model and optimizer",
                       path, rec_lrm_tensor_count(r), want);
    (void)st;
    return REC_OK;
}

rec_status rec_checkpoint_load(const char *path, rec_pstore *ps, rec_optim *o,
                               rec_train_state *st)
{
    static const char fn[] = "rec_checkpoint_load";
    REC_CHECK_ARG(path && *path, fn, "path is NULL or empty");
    REC_CHECK_ARG(ps && o && st, fn, "store, optimizer or state is NULL");
    REC_TRY(rec_optim_prepare(o));
    pending pd = { NULL, NULL, NULL, rec_pstore_count(ps), rec_optim_state_count(o) };
    size_t bytes = (pd.np + 2 * pd.ns + 1) * sizeof(void *);
    const void **ptrs = rec_malloc(bytes);
    if (!ptrs)
        return rec_nomem(fn);
    pd.param = ptrs;
    pd.state = ptrs + pd.np;
    pd.step = ptrs + pd.np + pd.ns;
    rec_lrm_reader *r = NULL;
    const unsigned char *blob = NULL;
    const void *best = NULL;
    rec_status s = rec_lrm_open(path, &r);
    if (!s)
        s = check_all(r, path, ps, o, st, &pd, &blob, &best);
    if (!s) { /* everything checked: nothing below can fail */
        for (size_t i = 0; i < pd.np; i++) {
            rec_tensor *t = rec_pstore_at(ps, i);
            memcpy(t->v, pd.param[i], (size_t)t->n * sizeof(float));
        }
        for (size_t i = 0; i < pd.ns; i++) {
            rec_optim_state os;
            rec_optim_state_at(o, i, &os);
            memcpy(os.v, pd.state[i], (size_t)os.n * sizeof(float));
            memcpy(os.step, pd.step[i], sizeof *os.step);
        }
        o->steps = (int64_t)get64(blob + 80);
        st->epoch = (int64_t)get64(blob + 8);
        for (int k = 0; k < 4; k++)
            st->rng.s[k] = get64(blob + 16 + 8 * k);
        st->best = bitsd(get64(blob + 48));
        st->best_epoch = (int64_t)get64(blob + 56);
        st->bad = (int64_t)get64(blob + 64);
        st->nbest = 0;
        if (best && st->best_params) {
            st->nbest = rec_pstore_numel(ps);
            memcpy(st->best_params, best, (size_t)st->nbest * sizeof(float));
        }
    }
    rec_lrm_close(r);
    rec_free(ptrs, bytes);
    return s;
}
