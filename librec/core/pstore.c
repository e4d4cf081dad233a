/* Parameters: persistent tensors with persistent dense gradients.  Sparse
 * tables (REC_T_SPARSE) get no dense gradient: their backward pushes the
 * touched rows, so a step costs what the batch touches. */
#include "tensor-impl.h"

#include <math.h>
#include <string.h>

struct rec_pstore {
    rec_tensor **t;
    size_t n, cap;
};

rec_status rec_pstore_create(rec_pstore **out)
{
    if (!out)
        return rec_err(REC_E_INVALID, "rec_pstore_create: out is NULL");
    *out = rec_calloc(1, sizeof **out);
    return *out ? REC_OK : rec_nomem("rec_pstore_create");
}

static void tensor_free(rec_tensor *t)
{
    rec_aligned_free(t->v, (size_t)t->n * 4);
    rec_aligned_free(t->g, (size_t)t->n * 4);
    rec_strfree((char *)t->name);
    rec_free(t, sizeof *t);
}

void rec_pstore_destroy(rec_pstore *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        tensor_free(s->t[i]);
    rec_free(s->t, s->cap * sizeof *s->t);
    rec_free(s, sizeof *s);
}

rec_tensor *rec_pstore_add(rec_pstore *s, const char *name, int nd, const int64_t *shape,
                           unsigned flags)
{
    if (rec_pstore_find(s, name)) {
        rec_err(REC_E_INVALID, "parameter store: duplicate name '%s'", name);
        return NULL;
    }
    if (nd < 1 || nd > REC_MAX_DIMS) {
        rec_err(REC_E_INVALID, "parameter store: '%s' has %d dimensions", name, nd);
        return NULL;
    }
    int64_t n = 1;
    for (int i = 0; i < nd; i++) {
        if (shape[i] < 1 || n > INT64_MAX / 8 / shape[i]) {
            rec_err(REC_E_INVALID, "parameter store: '%s' has a bad dimension", name);
            return NULL;
        }
        n *= shape[i];
    }
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16;
        rec_tensor **nt = rec_realloc(s->t, s->cap * sizeof *nt, nc * sizeof *nt);
        if (!nt)
            goto nomem;
        s->t = nt;
        s->cap = nc;
    }
    rec_tensor *t = rec_calloc(1, sizeof *t);
    if (!t)
        goto nomem;
    t->nd = nd;
    memcpy(t->shape, shape, (size_t)nd * sizeof *shape);
    t->n = n;
    t->dtype = REC_F32;
    t->flags = flags | REC_T_PARAM | REC_T_GRAD;
    t->name = rec_strdup(name);
    t->v = rec_aligned_alloc((size_t)n * 4);
    if (!(flags & REC_T_SPARSE))
        t->g = rec_aligned_alloc((size_t)n * 4);
    if (!t->name || !t->v || (!(flags & REC_T_SPARSE) && !t->g)) {
        tensor_free(t);
        goto nomem;
    }
    /* embedding tables and their dense gradients are read and written at
     * random rows */
    rec_advise_huge_pages(t->v, (size_t)n * 4);
    rec_advise_huge_pages(t->g, (size_t)n * 4);
    memset(t->v, 0, (size_t)n * 4);
    if (t->g)
        memset(t->g, 0, (size_t)n * 4);
    s->t[s->n++] = t;
    return t;
nomem:
    rec_err(REC_E_NOMEM, "parameter store: out of memory adding '%s'", name);
    return NULL;
}

size_t rec_pstore_count(const rec_pstore *s) { return s->n; }

rec_tensor *rec_pstore_at(const rec_pstore *s, size_t i)
{
    return i < s->n ? s->t[i] : NULL;
}

rec_tensor *rec_pstore_find(const rec_pstore *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->t[i]->name, name) == 0)
            return s->t[i];
    return NULL;
}

void rec_pstore_zero_grad(rec_pstore *s)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->t[i]->g)
            memset(s->t[i]->g, 0, (size_t)s->t[i]->n * 4);
}

int64_t rec_pstore_numel(const rec_pstore *s)
{
    int64_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        n += s->t[i]->n;
    return n;
}

void rec_init_normal(rec_tensor *t, rec_rng *r, float mean, float std)
{
    for (int64_t i = 0; i < t->n; i++)
        t->v[i] = mean + std * rec_rng_normal(r);
}

void rec_init_uniform(rec_tensor *t, rec_rng *r, float lo, float hi)
{
    for (int64_t i = 0; i < t->n; i++)
        t->v[i] = lo + (hi - lo) * rec_rng_uniform(r);
}

void rec_init_xavier_normal(rec_tensor *t, rec_rng *r)
{
    double fan_out = (double)rec_rows(t), fan_in = (double)rec_cols(t);
    rec_init_normal(t, r, 0.0f, (float)sqrt(2.0 / (fan_in + fan_out)));
}

void rec_init_const(rec_tensor *t, float v)
{
    for (int64_t i = 0; i < t->n; i++)
        t->v[i] = v;
}
