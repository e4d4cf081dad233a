/* The dnn kind's call-time entities: a user described by a feature set
 * (no training row) and items added to the catalogue from theirs.  Each
 * value is coded and normalised as the training data's were (the model's
 * schemas, the slots' numeric statistics), so an added item with the
 * features of a training item that never had an interaction scores as
 * that one would, but for its id row (none: the all-zero row). */
#include "dnn-impl.h"
#include "fset-impl.h"

#include <math.h>
#include <string.h>

/* One slot's value as given, coded: code (cat), bag[nbag] (mh, allocated),
 * num (num: 1, vec: card floats, allocated); unset leaves them missing. */
typedef struct coded {
    int32_t code;
    int32_t *bag, nbag;
    float *num;
} coded;

static size_t num_width(const rec_dnn_slot *sl)
{
    return sl->type == REC_DNN_VEC ? (size_t)sl->card : 1;
}

static void coded_free(const rec_dnn_slot *sl, coded *c)
{
    rec_free(c->bag, ((size_t)c->nbag + 1) * sizeof *c->bag);
    rec_free(c->num, c->num ? num_width(sl) * sizeof *c->num : 0);
    c->bag = NULL;
    c->num = NULL;
    c->nbag = 0;
}

static rec_status code_one(const rec_dnn_slot *sl, const rec_features *sch,
                           const rec_feature_set *fs, coded *c, const char *fn)
{
    memset(c, 0, sizeof *c);
    c->code = -1;
    if (!fs || sl->sf < 0 || sl->type == REC_DNN_ID || sl->type == REC_DNN_CTX)
        return REC_OK;
    const rec_field *f = sch->f[sl->sf];
    const fset_val *v;
    REC_TRY(rec_fset_value(fs, f, &v, fn));
    if (!v)
        return REC_OK;
    if (sl->type == REC_DNN_CAT) {
        c->code = rec_fset_code(f, v);
    } else if (sl->type == REC_DNN_MH) {
        size_t room = ((size_t)v->nvals + 1) * sizeof *c->bag;
        if (!(c->bag = rec_malloc(room)))
            return rec_nomem(fn);
        c->nbag = rec_fset_codes(f, v, c->bag);
        int32_t *q = rec_realloc(c->bag, room, ((size_t)c->nbag + 1) * sizeof *q);
        if (!q) {
            rec_free(c->bag, room);
            c->bag = NULL;
            c->nbag = 0;
            return rec_nomem(fn);
        }
        c->bag = q;
    } else {
        if (!(c->num = rec_malloc(num_width(sl) * sizeof *c->num)))
            return rec_nomem(fn);
        if (sl->type == REC_DNN_VEC) {
            rec_field_norm_vector(f, v->vec, c->num);
        } else {
            /* through float, as the dataset stores a number */
            double x = rec_field_norm_number(f, (double)(float)v->num);
            c->num[0] = isfinite(x) ? rec_dnn_num(sl, (float)x) : 0.0f;
        }
    }
    return REC_OK;
}

void rec_dnn_user_free(const rec_dnn *s, rec_dnn_user *u)
{
    const rec_dnn_side *sd = &s->side[REC_SIDE_USER];
    size_t n1 = (size_t)(u->n ? u->n : 1);
    for (int k = 0; k < u->n && u->bag && u->num; k++) {
        coded c = { -1, u->bag[k], u->nbag[k], u->num[k] };
        coded_free(&sd->s[k], &c);
    }
    rec_free(u->code, n1 * sizeof *u->code);
    rec_free(u->bag, n1 * sizeof *u->bag);
    rec_free(u->nbag, n1 * sizeof *u->nbag);
    rec_free(u->num, n1 * sizeof *u->num);
    memset(u, 0, sizeof *u);
}

rec_status rec_dnn_user_make(const rec_dnn *s, const rec_feature_set *fs, rec_dnn_user *u,
                             const char *fn)
{
    const rec_dnn_side *sd = &s->side[REC_SIDE_USER];
    size_t n1 = (size_t)(sd->n ? sd->n : 1);
    memset(u, 0, sizeof *u);
    u->n = sd->n;
    u->code = rec_malloc(n1 * sizeof *u->code);
    u->bag = rec_calloc(n1, sizeof *u->bag);
    u->nbag = rec_calloc(n1, sizeof *u->nbag);
    u->num = rec_calloc(n1, sizeof *u->num);
    rec_status st = u->code && u->bag && u->nbag && u->num ? REC_OK : rec_nomem(fn);
    for (int k = 0; !st && k < sd->n; k++) {
        coded c;
        st = code_one(&sd->s[k], s->usch, fs, &c, fn);
        u->code[k] = c.code;
        u->bag[k] = c.bag;
        u->nbag[k] = c.nbag;
        u->num[k] = c.num;
    }
    if (st)
        rec_dnn_user_free(s, u);
    return st;
}

/* Slot sl's per-item arrays grown by n items (coded c[n]) into g, a zeroed
 * slot of the same type and card; the old arrays stay. */
static rec_status grow_slot(const rec_dnn_slot *sl, rec_dnn_slot *g, int32_t rows,
                            const coded *c, size_t n)
{
    size_t nr = (size_t)rows, nn = nr + n;
    if (sl->type == REC_DNN_CAT) {
        if (!(g->codes = rec_malloc(nn * sizeof *g->codes)))
            return REC_E_NOMEM;
        memcpy(g->codes, sl->codes, nr * sizeof *g->codes);
        for (size_t j = 0; j < n; j++)
            g->codes[nr + j] = c[j].code;
    } else if (sl->type == REC_DNN_MH) {
        int64_t tot = sl->ptr[rows];
        for (size_t j = 0; j < n; j++)
            tot += c[j].nbag;
        g->ptr = rec_malloc((nn + 1) * sizeof *g->ptr);
        g->vals = g->ptr ? rec_malloc((size_t)(tot ? tot : 1) * sizeof *g->vals) : NULL;
        if (!g->vals) {
            rec_free(g->ptr, (nn + 1) * sizeof *g->ptr);
            g->ptr = NULL;
            return REC_E_NOMEM;
        }
        memcpy(g->ptr, sl->ptr, (nr + 1) * sizeof *g->ptr);
        memcpy(g->vals, sl->vals, (size_t)sl->ptr[rows] * sizeof *g->vals);
        int64_t at = sl->ptr[rows];
        for (size_t j = 0; j < n; j++) {
            if (c[j].nbag)
                memcpy(g->vals + at, c[j].bag, (size_t)c[j].nbag * sizeof *g->vals);
            at += c[j].nbag;
            g->ptr[nr + j + 1] = at;
        }
    } else if (sl->type == REC_DNN_NUM || sl->type == REC_DNN_VEC) {
        size_t w = num_width(sl);
        if (!(g->num = rec_malloc(nn * w * sizeof *g->num)))
            return REC_E_NOMEM;
        memcpy(g->num, sl->num, nr * w * sizeof *g->num);
        for (size_t j = 0; j < n; j++) {
            float *dst = g->num + (nr + j) * w;
            if (c[j].num)
                memcpy(dst, c[j].num, w * sizeof *dst);
            else
                memset(dst, 0, w * sizeof *dst);
        }
    }
    return REC_OK;
}

/* The arrays of slot sl over rows entities. */
static void arrays_free(const rec_dnn_slot *sl, int32_t rows)
{
    size_t nr = (size_t)rows;
    rec_free(sl->codes, sl->codes ? nr * sizeof *sl->codes : 0);
    if (sl->ptr) {
        int64_t nv = sl->ptr[rows];
        rec_free(sl->vals, (size_t)(nv ? nv : 1) * sizeof *sl->vals);
        rec_free(sl->ptr, (nr + 1) * sizeof *sl->ptr);
    }
    rec_free(sl->num, sl->num ? nr * num_width(sl) * sizeof *sl->num : 0);
}

rec_status rec_dnn_grow_items(rec_dnn *s, const rec_feature_set *const *fs, size_t n,
                              const char *fn)
{
    if (!s->has_fields)
        return rec_err(REC_E_UNSUPPORTED, "%s: this dnn model's file predates call-time item "
                       "features: fit it again", fn);
    rec_dnn_side *sd = &s->side[REC_SIDE_ITEM];
    int32_t rows = sd->rows;
    size_t ns = (size_t)sd->n, cells = ns * n;
    coded *c = rec_calloc(cells + 1, sizeof *c);
    rec_dnn_slot *g = rec_calloc(ns + 1, sizeof *g);
    rec_status st = c && g ? REC_OK : rec_nomem(fn);
    /* every set coded first: a bad one is refused before anything grows */
    for (size_t j = 0; !st && j < n; j++)
        for (size_t k = 0; !st && k < ns; k++)
            st = code_one(&sd->s[k], s->isch, fs[j], &c[k * n + j], fn);
    for (size_t k = 0; !st && k < ns; k++) {
        g[k].type = sd->s[k].type;
        g[k].card = sd->s[k].card;
        if (grow_slot(&sd->s[k], &g[k], rows, c + k * n, n))
            st = rec_nomem(fn);
    }
    if (!st) { /* nothing fails from here: the grown arrays replace the old */
        for (size_t k = 0; k < ns; k++) {
            rec_dnn_slot *sl = &sd->s[k];
            arrays_free(sl, rows);
            sl->codes = g[k].codes;
            sl->ptr = g[k].ptr;
            sl->vals = g[k].vals;
            sl->num = g[k].num;
        }
        sd->rows = rows + (int32_t)n;
    } else {
        for (size_t k = 0; g && k < ns; k++)
            if (g[k].codes || g[k].ptr || g[k].num)
                arrays_free(&g[k], (int32_t)((size_t)rows + n));
    }
    for (size_t q = 0; c && q < cells; q++)
        coded_free(&sd->s[q / (n ? n : 1)], &c[q]);
    rec_free(c, (cells + 1) * sizeof *c);
    rec_free(g, (ns + 1) * sizeof *g);
    return st;
}
