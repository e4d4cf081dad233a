/* A parameter store into and out of a model file: one F32 tensor
 * "<prefix><name>" per parameter, in the store's shapes.  The model rebuilds
 * its store from its params first, so a load checks every shape. */
#include "lrm-impl.h"
#include "tensor-impl.h"

#include <stdio.h>
#include <string.h>

static rec_status name_of(char *buf, const char *prefix, const char *name, const char *fn)
{
    int n = snprintf(buf, REC_LRM_MAX_NAME + 1, "%s%s", prefix, name);
    if (n < 0 || n > REC_LRM_MAX_NAME)
        return rec_err(REC_E_INVALID, "%s: '%s%s' is too long for a tensor name", fn, prefix,
                       name);
    return REC_OK;
}

rec_status rec_pstore_save(const rec_pstore *ps, rec_lrm_writer *w, const char *prefix,
                           const char *fn)
{
    char name[REC_LRM_MAX_NAME + 1];
    for (size_t k = 0; k < rec_pstore_count(ps); k++) {
        const rec_tensor *t = rec_pstore_at(ps, k);
        REC_TRY(name_of(name, prefix, t->name, fn));
        REC_TRY(rec_lrm_add_tensor(w, name, REC_LRM_F32, t->nd, t->shape, t->v));
    }
    return REC_OK;
}

rec_status rec_pstore_load(rec_pstore *ps, const rec_lrm_reader *r, const char *prefix,
                           const char *fn)
{
    char name[REC_LRM_MAX_NAME + 1];
    for (size_t k = 0; k < rec_pstore_count(ps); k++) {
        rec_tensor *t = rec_pstore_at(ps, k);
        const void *p;
        REC_TRY(name_of(name, prefix, t->name, fn));
        REC_TRY(rec_lrm_tensor_expect(r, name, REC_LRM_F32, t->nd, t->shape, &p));
        memcpy(t->v, p, (size_t)t->n * sizeof *t->v);
    }
    return REC_OK;
}
