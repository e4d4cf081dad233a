/* Hard negatives: candidates per user from a fixed list or from the model's
 * current top-k (a callback), mixed with uniform negatives. */
#include "sampler-impl.h"

#include <string.h>

void rec_sampler_free_hard(rec_sampler *s)
{
    if (s->hard_ptr) {
        int64_t nnz = s->hard_ptr[s->nusers];
        rec_free(s->hard, (size_t)(nnz ? nnz : 1) * sizeof *s->hard);
        rec_free(s->hard_ptr, ((size_t)s->nusers + 1) * sizeof *s->hard_ptr);
    }
    s->hard_ptr = NULL;
    s->hard = NULL;
}

rec_status rec_sampler_set_hard_list(rec_sampler *s, const int64_t *indptr, const int32_t *items)
{
    static const char fn[] = "rec_sampler_set_hard_list";
    REC_CHECK_ARG(s, fn, "sampler is NULL");
    REC_CHECK_ARG(indptr, fn, "indptr is NULL");
    if (s->kind != REC_SAMPLER_HARD)
        return rec_err(REC_E_STATE, "%s: the sampler's kind is not 'hard'", fn);
    int32_t nu = s->nusers;
    REC_TRY(rec_csr_check(0, fn, "hard list", nu, indptr, -1, NULL, 0, 0));
    int64_t nnz = indptr[nu];
    REC_CHECK_ARG(items || nnz == 0, fn, "items is NULL");
    REC_TRY(rec_csr_check(0, fn, "hard list", nu, indptr, nnz, items, 0, s->nitems));
    int64_t *ptr = rec_malloc(((size_t)nu + 1) * sizeof *ptr);
    int32_t *it = ptr ? rec_malloc((size_t)(nnz ? nnz : 1) * sizeof *it) : NULL;
    if (!it) {
        if (ptr)
            rec_free(ptr, ((size_t)nu + 1) * sizeof *ptr);
        return rec_nomem(fn);
    }
    memcpy(ptr, indptr, ((size_t)nu + 1) * sizeof *ptr);
    if (nnz)
        memcpy(it, items, (size_t)nnz * sizeof *it);
    rec_sampler_free_hard(s);
    s->hard_ptr = ptr;
    s->hard = it;
    s->hard_fn = NULL;
    s->hard_ctx = NULL;
    return REC_OK;
}

rec_status rec_sampler_set_hard_fn(rec_sampler *s, rec_sampler_topk_fn f, void *ctx)
{
    static const char fn[] = "rec_sampler_set_hard_fn";
    REC_CHECK_ARG(s, fn, "sampler is NULL");
    REC_CHECK_ARG(f, fn, "callback is NULL");
    if (s->kind != REC_SAMPLER_HARD)
        return rec_err(REC_E_STATE, "%s: the sampler's kind is not 'hard'", fn);
    rec_sampler_free_hard(s);
    s->hard_fn = f;
    s->hard_ctx = ctx;
    return REC_OK;
}

/* A non-positive candidate by bounded rejection, or -1. */
static int32_t pick(const rec_sampler *s, rec_rng *r, int32_t u, const int32_t *cand, int32_t nc)
{
    if (nc <= 0)
        return -1;
    for (int32_t t = 0; t < s->max_tries; t++) {
        int32_t i = cand[rec_rng_below(r, (uint32_t)nc)];
        if (!rec_sampler_is_positive(s, u, i))
            return i;
    }
    return -1;
}

rec_status rec_sampler_draw_hard(const rec_sampler *s, rec_rng *r, int32_t u, int64_t n,
                                 int32_t *out)
{
    static const char fn[] = "rec_sampler_draw";
    if (!s->hard_ptr && !s->hard_fn)
        return rec_err(REC_E_STATE, "%s: kind 'hard' needs a candidate list or a top-k "
                       "callback (rec_sampler_set_hard_list / _fn)", fn);
    /* Candidates from the callback live on the stack: draws stay
     * allocation-free and thread-safe. */
    int32_t buf[REC_SAMPLER_MAX_HARD_K];
    const int32_t *cand = NULL;
    int32_t nc = -1; /* -1: not fetched yet */
    uint32_t thr = (uint32_t)(s->hard_ratio * 4294967295.0);
    for (int64_t k = 0; k < n; k++) {
        int hard = s->hard_ratio >= 1.0 || (uint32_t)rec_rng_u64(r) < thr;
        int32_t i = -1;
        if (hard) {
            if (nc < 0 && s->hard_ptr) {
                cand = s->hard + s->hard_ptr[u];
                nc = (int32_t)(s->hard_ptr[u + 1] - s->hard_ptr[u]);
            } else if (nc < 0) {
                nc = 0;
                REC_TRY(s->hard_fn(s->hard_ctx, u, s->hard_k, buf, &nc));
                if (nc < 0 || nc > s->hard_k)
                    return rec_err(REC_E_RANGE, "%s: the top-k callback returned %d items for "
                                   "k = %d", fn, (int)nc, (int)s->hard_k);
                for (int32_t c = 0; c < nc; c++)
                    if (buf[c] < 0 || buf[c] >= s->nitems)
                        return rec_err(REC_E_RANGE, "%s: the top-k callback returned item %d, "
                                       "outside [0, %d)", fn, (int)buf[c], (int)s->nitems);
                cand = buf;
            }
            i = pick(s, r, u, cand, nc);
        }
        out[k] = i >= 0 ? i : rec_sampler_uniform_neg(s, r, u);
    }
    return REC_OK;
}
