/* Which fields feed the dnn kind, resolved against the training data, and
 * their values per user and item copied into the model (numerics z-scored
 * with the training statistics unless normalize = none). */
#include "dnn-impl.h"
#include "fset-impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const side_name[2] = { "user", "item" };

static rec_dnn_slot *slot_add(rec_dnn_side *sd, const char *fn)
{
    if (sd->n == sd->cap) {
        int cap = sd->cap ? 2 * sd->cap : 8;
        rec_dnn_slot *p = rec_realloc(sd->s, (size_t)sd->cap * sizeof *p, (size_t)cap * sizeof *p);
        if (!p) {
            rec_nomem(fn);
            return NULL;
        }
        sd->s = p;
        sd->cap = cap;
    }
    rec_dnn_slot *sl = &sd->s[sd->n++];
    memset(sl, 0, sizeof *sl);
    sl->sf = -1;
    sl->inv = 1;
    return sl;
}

static int slot_find(const rec_dnn_side *sd, int field)
{
    for (int k = 0; k < sd->n; k++)
        if (sd->s[k].field == field)
            return k;
    return -1;
}

/* Copies field f's values for rows entities into sl. */
static rec_status slot_fill(rec_dnn_slot *sl, const rec_field *f, int32_t rows, int zscore,
                            const char *fn)
{
    size_t nr = (size_t)rows;
    if (sl->type == REC_DNN_ID) {
        sl->card = rows;
        return REC_OK;
    }
    if (sl->type == REC_DNN_CAT) {
        sl->card = rec_ds_field_vocab_size(f);
        if (!(sl->codes = rec_malloc(nr * sizeof *sl->codes)))
            return rec_nomem(fn);
        for (int32_t e = 0; e < rows; e++)
            sl->codes[e] = e < f->rows ? f->codes[e] : -1;
        return REC_OK;
    }
    if (sl->type == REC_DNN_MH) {
        sl->card = rec_ds_field_vocab_size(f);
        int64_t nv = 0;
        for (int32_t e = 0; e < rows && e < f->rows; e++)
            nv += f->ptr[e + 1] - f->ptr[e];
        sl->ptr = rec_malloc((nr + 1) * sizeof *sl->ptr);
        sl->vals = rec_malloc((size_t)(nv ? nv : 1) * sizeof *sl->vals);
        if (!sl->ptr || !sl->vals) {
            rec_free(sl->ptr, (nr + 1) * sizeof *sl->ptr);
            rec_free(sl->vals, (size_t)(nv ? nv : 1) * sizeof *sl->vals);
            sl->ptr = NULL;
            sl->vals = NULL;
            return rec_nomem(fn);
        }
        sl->ptr[0] = 0;
        for (int32_t e = 0; e < rows; e++) {
            int64_t at = sl->ptr[e];
            if (e < f->rows)
                for (int64_t j = f->ptr[e]; j < f->ptr[e + 1]; j++)
                    sl->vals[at++] = f->vals[j];
            sl->ptr[e + 1] = at;
        }
        return REC_OK;
    }
    if (sl->type == REC_DNN_VEC) {
        /* the dataset's normalisation (none, l2 or zscore) only */
        sl->card = f->vdim;
        if (!(sl->num = rec_malloc(nr * (size_t)f->vdim * sizeof *sl->num)))
            return rec_nomem(fn);
        for (int32_t e = 0; e < rows; e++)
            rec_field_vector(f, e, sl->num + (size_t)e * (size_t)f->vdim);
        return REC_OK;
    }
    /* numeric: the dataset's own normalisation first, then ours */
    sl->card = 1;
    if (!(sl->num = rec_malloc(nr * sizeof *sl->num)))
        return rec_nomem(fn);
    double sum = 0, sq = 0;
    int64_t cnt = 0;
    for (int32_t e = 0; e < rows; e++) {
        double x = rec_field_number(f, e);
        sl->num[e] = (float)x;
        if (!isnan(x)) {
            sum += x;
            sq += x * x;
            cnt++;
        }
    }
    double mean = cnt ? sum / (double)cnt : 0, var = cnt ? sq / (double)cnt - mean * mean : 0;
    /* kept as floats in the model file: a value given at call time goes
     * through the same two numbers as the training data's */
    sl->mu = zscore ? (float)mean : 0.0f;
    sl->inv = zscore && var > 1e-12 ? (float)(1 / sqrt(var)) : 1.0f;
    for (int32_t e = 0; e < rows; e++) {
        float x = sl->num[e];
        /* a missing value sits at the mean (0 once centred) */
        sl->num[e] = isnan(x) ? 0.0f : rec_dnn_num(sl, x);
    }
    return REC_OK;
}

float rec_dnn_num(const rec_dnn_slot *sl, float x)
{
    return (float)(((double)x - (double)sl->mu) * (double)sl->inv);
}

static int field_type(const rec_field *f)
{
    switch (f->type) {
    case REC_FEATURE_CATEGORICAL: return REC_DNN_CAT;
    case REC_FEATURE_MULTIHOT: return REC_DNN_MH;
    case REC_FEATURE_NUMERIC: return REC_DNN_NUM;
    case REC_FEATURE_DENSE: return f->vdim ? REC_DNN_VEC : -1;
    default: return -1;
    }
}

/* A per-interaction context named name as a user slot: a categorical
 * field of the rows (its vocabulary the dataset's, or the hours and
 * weekdays), also added to the user schema at the slot's ctx index. */
static rec_status add_context(const rec_dataset *d, rec_dnn *s, const char *name, int deep,
                              const char *what, int *slot, const char *fn)
{
    rec_dnn_side *sd = &s->side[REC_SIDE_USER];
    int c = s->usch ? rec_features_find(s->usch, name) : -1;
    int k = c >= 0 ? slot_find(sd, -2 - c) : -1;
    if (k >= 0) {
        if (deep && sd->s[k].deep)
            return rec_err(REC_E_INVALID, "%s: %s: '%s' is listed twice", fn, what, name);
        sd->s[k].deep |= deep;
        *slot = k;
        return REC_OK;
    }
    REC_TRY(rec_features_schema_add_context(&s->usch, d, name, fn));
    /* only contexts enter usch, each once: its index is the next context's */
    c = rec_features_find(s->usch, name);
    rec_dnn_slot *sl = slot_add(sd, fn);
    if (!sl)
        return REC_E_NOMEM;
    int32_t n = s->usch->f[c]->vocab->n;
    sl->type = REC_DNN_CTX;
    sl->deep = deep;
    sl->card = n > 0 ? n : 1; /* declared, never set: one row no code reaches */
    sl->ctx = c;
    s->nctx++;
    sl->field = -2 - c; /* apart from the id's -1 and the fields' indices */
    *slot = sd->n - 1;
    return REC_OK;
}

/* Adds the field named name[0..len) ("id" for the ID) of side sd to its
 * slots; *slot its index (an existing one when already there). */
static rec_status add_named(const rec_dataset *d, rec_dnn *s, int side, const char *name,
                            size_t len, int deep, int zscore, const char *what, int *slot,
                            const char *fn)
{
    rec_dnn_side *sd = &s->side[side];
    char buf[256];
    if (len == 0 || len >= sizeof buf)
        return rec_err(REC_E_INVALID, "%s: %s: empty or too long a field name", fn, what);
    memcpy(buf, name, len);
    buf[len] = 0;
    int field = -1, type = REC_DNN_ID;
    const rec_field *f = NULL;
    if (side == REC_SIDE_USER && rec_ds_context_known(d, buf))
        return add_context(d, s, buf, deep, what, slot, fn);
    if (side == REC_SIDE_USER && !strncmp(buf, "time:", 5))
        return rec_err(REC_E_INVALID, "%s: %s: '%s' is not a context: the derived ones are "
                       "time:hour and time:weekday", fn, what, buf);
    if (strcmp(buf, "id") != 0) {
        field = rec_features_find(side == REC_SIDE_USER ? d->ufeat : d->ifeat, buf);
        f = field >= 0 ? rec_ds_field_at(d, (rec_side)side, field) : NULL;
        if (!f)
            return rec_err(REC_E_NOTFOUND, "%s: %s: the training data has no %s field '%s'%s",
                           fn, what, side_name[side], buf,
                           side == REC_SIDE_USER ? " nor a context of that name (declare one "
                           "with rec_dataset_add_context, or time:hour, time:weekday)" : "");
        type = field_type(f);
        if (type < 0)
            return rec_err(REC_E_INVALID,
                           "%s: %s: %s field '%s' is %s; use categorical, numeric, "
                           "multi-hot or dense fields (or tfidf for text)",
                           fn, what, side_name[side], buf,
                           f->type == REC_FEATURE_TEXT ? "text" : "dense with no vector");
    }
    int k = slot_find(sd, field);
    if (k >= 0) {
        if (deep && sd->s[k].deep)
            return rec_err(REC_E_INVALID, "%s: %s: '%s' is listed twice", fn, what, buf);
        sd->s[k].deep |= deep;
        *slot = k;
        return REC_OK;
    }
    rec_dnn_slot *sl = slot_add(sd, fn);
    if (!sl)
        return REC_E_NOMEM;
    sl->type = type;
    sl->deep = deep;
    sl->field = field;
    *slot = sd->n - 1;
    return slot_fill(sl, f, sd->rows, zscore, fn);
}

static void trim(const char **b, const char **e)
{
    while (*b < *e && (**b == ' ' || **b == '\t'))
        (*b)++;
    while (*e > *b && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
        (*e)--;
}

static rec_status features_of(const rec_model *m, const rec_dataset *d, rec_dnn *s, int side,
                              int zscore, const char *fn)
{
    const char *key = side == REC_SIDE_USER ? "user_features" : "item_features";
    const char *list = rec_model_str(m, key);
    int slot;
    if (strcmp(list, "auto") == 0) {
        REC_TRY(add_named(d, s, side, "id", 2, 1, zscore, key, &slot, fn));
        for (int k = 0; k < rec_ds_num_fields(d, (rec_side)side); k++) {
            const rec_field *f = rec_ds_field_at(d, (rec_side)side, k);
            if (f && field_type(f) >= 0 && f->cross_a < 0)
                REC_TRY(add_named(d, s, side, f->name, strlen(f->name), 1, zscore, key, &slot,
                                  fn));
        }
        return REC_OK;
    }
    rec_list_iter it;
    const char *b;
    size_t len;
    rec_list_start(&it, list);
    if (!it.next)
        return rec_err(REC_E_INVALID, "%s: %s is empty: name fields, or \"auto\"", fn, key);
    while (rec_list_next(&it, &b, &len))
        REC_TRY(add_named(d, s, side, b, len, 1, zscore, key, &slot, fn));
    return REC_OK;
}

static rec_status cross_add(rec_dnn *s, int us, int is, int64_t max_buckets, const char *fn)
{
    for (int c = 0; c < s->ncross; c++)
        if (s->cross[c].us == us && s->cross[c].is == is)
            return rec_err(REC_E_INVALID, "%s: crosses: a pair is listed twice", fn);
    if (s->ncross == s->cross_cap) {
        int cap = s->cross_cap ? 2 * s->cross_cap : 4;
        rec_dnn_cross *p = rec_realloc(s->cross, (size_t)s->cross_cap * sizeof *p,
                                       (size_t)cap * sizeof *p);
        if (!p)
            return rec_nomem(fn);
        s->cross = p;
        s->cross_cap = cap;
    }
    int64_t prod = (int64_t)s->side[0].s[us].card * s->side[1].s[is].card;
    rec_dnn_cross *c = &s->cross[s->ncross++];
    memset(c, 0, sizeof *c);
    c->us = us;
    c->is = is;
    c->buckets = prod < 1 ? 1 : prod <= max_buckets ? prod : max_buckets;
    return REC_OK;
}

static int crossable(const rec_dnn_slot *sl)
{
    return sl->type != REC_DNN_NUM && sl->type != REC_DNN_VEC;
}

static rec_status crosses_of(const rec_model *m, const rec_dataset *d, rec_dnn *s, int zscore,
                             const char *fn)
{
    const char *list = rec_model_str(m, "crosses");
    int64_t maxb = rec_model_int(m, "cross_buckets");
    /* the dataset's declared crosses (one side's "a x b" fields) are wide inputs */
    for (int side = 0; side < 2; side++)
        for (int k = 0; k < rec_ds_num_fields(d, (rec_side)side); k++) {
            const rec_field *f = rec_ds_field_at(d, (rec_side)side, k);
            int slot;
            if (f && f->cross_a >= 0 && field_type(f) >= 0 && slot_find(&s->side[side], k) < 0)
                REC_TRY(add_named(d, s, side, f->name, strlen(f->name), 0, zscore, "crosses",
                                  &slot, fn));
        }
    if (strcmp(list, "auto") == 0) {
        /* every categorical / multi-hot user feature x every item one */
        int nu = s->side[0].n, ni = s->side[1].n;
        for (int a = 0; a < nu; a++)
            for (int b = 0; b < ni; b++) {
                const rec_dnn_slot *x = &s->side[0].s[a], *y = &s->side[1].s[b];
                if (x->deep && y->deep &&
                    (x->type == REC_DNN_CAT || x->type == REC_DNN_MH || x->type == REC_DNN_CTX) &&
                    (y->type == REC_DNN_CAT || y->type == REC_DNN_MH))
                    REC_TRY(cross_add(s, a, b, maxb, fn));
            }
        return REC_OK;
    }
    if (strcmp(list, "none") == 0 || !*list)
        return REC_OK;
    rec_list_iter it;
    const char *b;
    size_t len;
    rec_list_start(&it, list);
    while (rec_list_next(&it, &b, &len)) {
        const char *e = b + len, *x = NULL;
        for (const char *q = b; q + 2 < e; q++)
            if (q[0] == ' ' && q[1] == 'x' && q[2] == ' ') {
                x = q;
                break;
            }
        if (!x)
            return rec_err(REC_E_INVALID,
                           "%s: crosses: expected 'user_field x item_field', got '%.*s'", fn,
                           (int)(e - b), b);
        const char *ub = b, *ue = x, *ib = x + 3, *ie = e;
        trim(&ub, &ue);
        trim(&ib, &ie);
        int us, is;
        REC_TRY(add_named(d, s, REC_SIDE_USER, ub, (size_t)(ue - ub), 0, zscore, "crosses",
                          &us, fn));
        REC_TRY(add_named(d, s, REC_SIDE_ITEM, ib, (size_t)(ie - ib), 0, zscore, "crosses",
                          &is, fn));
        if (!crossable(&s->side[0].s[us]) || !crossable(&s->side[1].s[is]))
            return rec_err(REC_E_INVALID,
                           "%s: crosses: '%.*s' crosses a numeric field (cross its buckets: "
                           "rec_dataset_cross with a numeric field)",
                           fn, (int)(e - b), b);
        REC_TRY(cross_add(s, us, is, maxb, fn));
    }
    return REC_OK;
}

/* The call-time schemas: the user slots' fields after the contexts (all
 * of which resolve has added), the item slots' in isch; a dataset's
 * declared cross is left out (a set gives its parts, not the cross). */
static rec_status schemas_of(const rec_dataset *d, rec_dnn *s, const char *fn)
{
    if (!s->usch && rec_features_create(&s->usch))
        return rec_nomem(fn);
    if (rec_features_create(&s->isch))
        return rec_nomem(fn);
    for (int side = 0; side < 2; side++) {
        rec_dnn_side *sd = &s->side[side];
        rec_features **sch = side ? &s->isch : &s->usch;
        for (int k = 0; k < sd->n; k++) {
            rec_dnn_slot *sl = &sd->s[k];
            const rec_field *f = sl->field >= 0 ? rec_ds_field_at(d, (rec_side)side, sl->field)
                                                : NULL;
            if (sl->type == REC_DNN_CTX)
                sl->sf = sl->ctx;
            if (!f || f->cross_a >= 0)
                continue;
            REC_TRY(rec_features_schema_add(sch, d, (rec_side)side, f->name, fn));
            sl->sf = rec_features_find(*sch, f->name);
        }
    }
    REC_TRY(rec_features_encode(s->usch, &s->ublob, &s->ublen, fn));
    REC_TRY(rec_features_encode(s->isch, &s->iblob, &s->iblen, fn));
    s->has_fields = 1;
    return REC_OK;
}

rec_status rec_dnn_resolve(const rec_model *m, const rec_dataset *d, rec_dnn *s, const char *fn)
{
    int zscore = strcmp(rec_model_str(m, "normalize"), "zscore") == 0;
    s->side[0].rows = m->nusers;
    s->side[1].rows = m->nitems;
    REC_TRY(features_of(m, d, s, REC_SIDE_USER, zscore, fn));
    REC_TRY(features_of(m, d, s, REC_SIDE_ITEM, zscore, fn));
    if (s->wide)
        REC_TRY(crosses_of(m, d, s, zscore, fn));
    REC_TRY(schemas_of(d, s, fn));
    return rec_dnn_layout(s, fn);
}

static void slot_free(rec_dnn_slot *sl, int32_t rows)
{
    size_t nr = (size_t)rows;
    if (sl->codes)
        rec_free(sl->codes, nr * sizeof *sl->codes);
    if (sl->ptr) {
        int64_t nv = sl->ptr[rows];
        if (sl->vals)
            rec_free(sl->vals, (size_t)(nv ? nv : 1) * sizeof *sl->vals);
        rec_free(sl->ptr, (nr + 1) * sizeof *sl->ptr);
    }
    if (sl->num)
        rec_free(sl->num, nr * (sl->type == REC_DNN_VEC ? (size_t)sl->card : 1) *
                              sizeof *sl->num);
}

/* A side's call-time schema and its encoded copy. */
static void schema_drop(rec_features **sch, char **blob, size_t *len)
{
    rec_features_unref(*sch);
    rec_free(*blob, *len);
    *sch = NULL;
    *blob = NULL;
    *len = 0;
}

void rec_dnn_features_free(rec_dnn *s)
{
    for (int side = 0; side < 2; side++) {
        rec_dnn_side *sd = &s->side[side];
        size_t n = (size_t)sd->n;
        rec_free(s->lay[side], n * 3 * sizeof(int32_t));
        rec_free(s->sfl[side], (n ? n : 1) * sizeof(int32_t));
        rec_free(s->stats[side], (n ? n : 1) * 2 * sizeof(float));
        s->lay[side] = NULL;
        s->sfl[side] = NULL;
        s->stats[side] = NULL;
        for (int k = 0; k < sd->n; k++)
            slot_free(&sd->s[k], sd->rows);
        rec_free(sd->s, (size_t)sd->cap * sizeof *sd->s);
        memset(sd, 0, sizeof *sd);
    }
    schema_drop(&s->isch, &s->iblob, &s->iblen);
    schema_drop(&s->usch, &s->ublob, &s->ublen);
    s->has_fields = 0;
    rec_free(s->xlay, (size_t)(s->ncross ? s->ncross : 1) * 3 * sizeof(int64_t));
    s->xlay = NULL;
    rec_free(s->cross, (size_t)s->cross_cap * sizeof *s->cross);
    s->cross = NULL;
    s->ncross = s->cross_cap = 0;
    s->nctx = 0;
}

/* File layout: "layout.user" / "layout.item" I32 [n, 3] = (type, deep, card);
 * "cross" I64 [ncross, 3] = (user slot, item slot, buckets); per slot
 * "<side>.<k>.codes" I32 [rows], ".ptr" I64 [rows + 1] and ".vals" I32,
 * ".num" F32 [rows]. */
rec_status rec_dnn_layout(rec_dnn *s, const char *fn)
{
    /* without contexts an empty user schema: a call-time set leaves all missing */
    if (!s->usch && rec_features_create(&s->usch))
        return rec_nomem(fn);
    for (int side = 0; side < 2; side++) {
        const rec_dnn_side *sd = &s->side[side];
        int32_t *l = rec_malloc((size_t)sd->n * 3 * sizeof *l);
        if (!l)
            return rec_nomem(fn);
        s->lay[side] = l;
        size_t n1 = (size_t)(sd->n ? sd->n : 1);
        if (!(s->sfl[side] = rec_malloc(n1 * sizeof(int32_t))) ||
            !(s->stats[side] = rec_malloc(n1 * 2 * sizeof(float))))
            return rec_nomem(fn);
        for (int k = 0; k < sd->n; k++) {
            l[3 * k] = sd->s[k].type;
            l[3 * k + 1] = sd->s[k].deep;
            l[3 * k + 2] = sd->s[k].card;
            s->sfl[side][k] = sd->s[k].sf;
            s->stats[side][2 * k] = sd->s[k].mu;
            s->stats[side][2 * k + 1] = sd->s[k].inv;
        }
    }
    int64_t *x = rec_malloc((size_t)(s->ncross ? s->ncross : 1) * 3 * sizeof *x);
    if (!x)
        return rec_nomem(fn);
    s->xlay = x;
    for (int c = 0; c < s->ncross; c++) {
        x[3 * c] = s->cross[c].us;
        x[3 * c + 1] = s->cross[c].is;
        x[3 * c + 2] = s->cross[c].buckets;
    }
    return REC_OK;
}

rec_status rec_dnn_features_save(const rec_dnn *s, rec_lrm_writer *w)
{
    /* the writer keeps pointers until the save: everything lives in the state */
    int64_t xs[2] = { s->ncross, 3 };
    if (s->nctx || s->has_fields)
        REC_TRY(rec_lrm_add_blob(w, "dnn.schema.user", s->ublob, s->ublen));
    if (s->has_fields) {
        REC_TRY(rec_lrm_add_blob(w, "dnn.schema.item", s->iblob, s->iblen));
        for (int side = 0; side < 2; side++) {
            char name[64];
            int64_t n1[1] = { s->side[side].n }, n2[2] = { s->side[side].n, 2 };
            snprintf(name, sizeof name, "dnn.sfield.%s", side_name[side]);
            REC_TRY(rec_lrm_add_tensor(w, name, REC_LRM_I32, 1, n1, s->sfl[side]));
            snprintf(name, sizeof name, "dnn.stats.%s", side_name[side]);
            REC_TRY(rec_lrm_add_tensor(w, name, REC_LRM_F32, 2, n2, s->stats[side]));
        }
    }
    if (s->wide)
        REC_TRY(rec_lrm_add_tensor(w, "cross", REC_LRM_I64, 2, xs, s->xlay));
    for (int side = 0; side < 2; side++) {
        const rec_dnn_side *sd = &s->side[side];
        char name[64];
        int64_t ls[2] = { sd->n, 3 };
        snprintf(name, sizeof name, "layout.%s", side_name[side]);
        REC_TRY(rec_lrm_add_tensor(w, name, REC_LRM_I32, 2, ls, s->lay[side]));
        for (int k = 0; k < sd->n; k++) {
            const rec_dnn_slot *sl = &sd->s[k];
            int64_t shp[1] = { sd->rows }, shp1[1] = { (int64_t)sd->rows + 1 };
            if (sl->codes) {
                snprintf(name, sizeof name, "%s.%d.codes", side_name[side], k);
                REC_TRY(rec_lrm_add_tensor(w, name, REC_LRM_I32, 1, shp, sl->codes));
            }
            if (sl->ptr) {
                int64_t nv[1] = { sl->ptr[sd->rows] };
                snprintf(name, sizeof name, "%s.%d.ptr", side_name[side], k);
                REC_TRY(rec_lrm_add_tensor(w, name, REC_LRM_I64, 1, shp1, sl->ptr));
                snprintf(name, sizeof name, "%s.%d.vals", side_name[side], k);
                REC_TRY(rec_lrm_add_tensor(w, name, REC_LRM_I32, 1, nv, sl->vals));
            }
            if (sl->num) {
                int64_t nn[1] = { sl->type == REC_DNN_VEC ? shp[0] * sl->card : shp[0] };
                snprintf(name, sizeof name, "%s.%d.num", side_name[side], k);
                REC_TRY(rec_lrm_add_tensor(w, name, REC_LRM_F32, 1, nn, sl->num));
            }
        }
    }
    return REC_OK;
}

static rec_status load_side(rec_dnn *s, int side, const rec_lrm_reader *r, const char *fn)
{
    rec_dnn_side *sd = &s->side[side];
    char name[64];
    int64_t shape[REC_LRM_MAX_DIMS];
    const void *p;
    snprintf(name, sizeof name, "layout.%s", side_name[side]);
    REC_TRY(rec_lrm_tensor(r, name, REC_LRM_I32, 2, shape, &p));
    if (shape[1] != 3 || shape[0] < 1 || shape[0] > 4096)
        return rec_err(REC_E_FORMAT, "%s: tensor %s has shape [%lld, %lld], want [1..4096, 3]",
                       fn, name, (long long)shape[0], (long long)shape[1]);
    const int32_t *lay = p;
    size_t nr = (size_t)sd->rows;
    for (int64_t k = 0; k < shape[0]; k++) {
        int type = lay[3 * k], deep = lay[3 * k + 1];
        int32_t card = lay[3 * k + 2];
        if (type < REC_DNN_ID || type > REC_DNN_CTX || (deep != 0 && deep != 1) || card < 1 ||
            (type == REC_DNN_CTX && side != REC_SIDE_USER) ||
            (type == REC_DNN_ID && (side == REC_SIDE_USER ? card != sd->rows
                                                          : card > sd->rows)) || (type == REC_DNN_NUM && card != 1) ||
            (type == REC_DNN_VEC && card > 65536))
            return rec_err(REC_E_FORMAT, "%s: %s: bad entry %lld (%d, %d, %d)", fn, name,
                           (long long)k, type, deep, (int)card);
        rec_dnn_slot *sl = slot_add(sd, fn);
        if (!sl)
            return REC_E_NOMEM;
        sl->type = type;
        sl->deep = deep;
        sl->card = card;
        sl->field = -1;
        if (type == REC_DNN_CTX) {
            sl->ctx = s->nctx++;
            sl->field = -2 - sl->ctx;
        }
        int64_t want[1] = { sd->rows }, want1[1] = { (int64_t)sd->rows + 1 };
        if (type == REC_DNN_CAT) {
            snprintf(name, sizeof name, "%s.%d.codes", side_name[side], (int)k);
            REC_TRY(rec_lrm_tensor_expect(r, name, REC_LRM_I32, 1, want, &p));
            if (!(sl->codes = rec_malloc(nr * sizeof *sl->codes)))
                return rec_nomem(fn);
            memcpy(sl->codes, p, nr * sizeof *sl->codes);
            for (size_t e = 0; e < nr; e++)
                if (sl->codes[e] < -1 || sl->codes[e] >= card)
                    return rec_err(REC_E_FORMAT, "%s: %s: code %d out of range", fn, name,
                                   (int)sl->codes[e]);
        } else if (type == REC_DNN_MH) {
            snprintf(name, sizeof name, "%s.%d.ptr", side_name[side], (int)k);
            REC_TRY(rec_lrm_tensor_expect(r, name, REC_LRM_I64, 1, want1, &p));
            const int64_t *ptr = p;
            REC_TRY(rec_csr_check(1, fn, name, (int64_t)nr, ptr, -1, NULL, 0, 0));
            int64_t nv[1] = { ptr[nr] };
            if (!(sl->ptr = rec_malloc((nr + 1) * sizeof *sl->ptr)))
                return rec_nomem(fn);
            memcpy(sl->ptr, ptr, (nr + 1) * sizeof *sl->ptr);
            snprintf(name, sizeof name, "%s.%d.vals", side_name[side], (int)k);
            REC_TRY(rec_lrm_tensor_expect(r, name, REC_LRM_I32, 1, nv, &p));
            if (!(sl->vals = rec_malloc((size_t)(nv[0] ? nv[0] : 1) * sizeof *sl->vals)))
                return rec_nomem(fn);
            REC_TRY(rec_csr_check(1, fn, name, (int64_t)nr, ptr, nv[0], p, 0, card));
            if (nv[0])
                memcpy(sl->vals, p, (size_t)nv[0] * sizeof *sl->vals);
        } else if (type == REC_DNN_NUM || type == REC_DNN_VEC) {
            size_t w = type == REC_DNN_VEC ? (size_t)card : 1;
            int64_t wantn[1] = { (int64_t)(nr * w) };
            snprintf(name, sizeof name, "%s.%d.num", side_name[side], (int)k);
            REC_TRY(rec_lrm_tensor_expect(r, name, REC_LRM_F32, 1, wantn, &p));
            if (!(sl->num = rec_malloc(nr * w * sizeof *sl->num)))
                return rec_nomem(fn);
            memcpy(sl->num, p, nr * w * sizeof *sl->num);
        }
    }
    return REC_OK;
}

/* Blob name decoded into *fs, with a copy kept for the next save. */
static rec_status load_blob(const rec_lrm_reader *r, const char *name, rec_features **fs,
                            char **copy, size_t *len, const char *fn)
{
    const void *p;
    REC_TRY(rec_lrm_blob(r, name, &p, len));
    REC_TRY(rec_features_decode(p, *len, fs, fn));
    if (!(*copy = rec_malloc(*len ? *len : 1)))
        return rec_nomem(fn);
    memcpy(*copy, p, *len);
    return REC_OK;
}

/* Slot sl's schema field f codes what the slot reads: its type, and a
 * vocabulary or width no larger than its table. */
static int field_fits(const rec_dnn_slot *sl, const rec_field *f)
{
    switch (sl->type) {
    case REC_DNN_CAT:
    case REC_DNN_CTX:
        return f->type == REC_FEATURE_CATEGORICAL && f->vocab && f->vocab->n <= sl->card;
    case REC_DNN_MH:
        return f->type == REC_FEATURE_MULTIHOT && f->vocab && f->vocab->n <= sl->card;
    case REC_DNN_NUM: return f->type == REC_FEATURE_NUMERIC;
    case REC_DNN_VEC: return f->type == REC_FEATURE_DENSE && f->vdim == sl->card;
    default: return 0;
    }
}

/* The schemas: the user one (contexts first, in slot ctx order) and, in a
 * file with call-time fields, the item one and each slot's field and
 * numeric statistics. */
static rec_status load_schema(rec_dnn *s, const rec_lrm_reader *r, const char *fn)
{
    s->has_fields = rec_lrm_has_tensor(r, "dnn.sfield.user");
    if (s->nctx || s->has_fields)
        REC_TRY(load_blob(r, "dnn.schema.user", &s->usch, &s->ublob, &s->ublen, fn));
    if (s->has_fields)
        REC_TRY(load_blob(r, "dnn.schema.item", &s->isch, &s->iblob, &s->iblen, fn));
    if (s->usch && (s->has_fields ? s->usch->n < s->nctx : s->usch->n != s->nctx))
        return rec_err(REC_E_FORMAT, "%s: dnn.schema.user has %d fields for %d contexts", fn,
                       s->usch->n, s->nctx);
    for (int side = 0; side < 2; side++) {
        rec_dnn_side *sd = &s->side[side];
        const rec_features *sch = side ? s->isch : s->usch;
        const int32_t *sf = NULL;
        const float *st = NULL;
        if (s->has_fields) {
            char name[64];
            int64_t n1[1] = { sd->n }, n2[2] = { sd->n, 2 };
            const void *p;
            snprintf(name, sizeof name, "dnn.sfield.%s", side_name[side]);
            REC_TRY(rec_lrm_tensor_expect(r, name, REC_LRM_I32, 1, n1, &p));
            sf = p;
            snprintf(name, sizeof name, "dnn.stats.%s", side_name[side]);
            REC_TRY(rec_lrm_tensor_expect(r, name, REC_LRM_F32, 2, n2, &p));
            st = p;
        }
        for (int k = 0; k < sd->n; k++) {
            rec_dnn_slot *sl = &sd->s[k];
            int j = sl->type == REC_DNN_CTX ? sl->ctx : sf ? sf[k] : -1;
            if (sf && sl->type == REC_DNN_CTX && sf[k] != sl->ctx)
                j = -2;
            if (st) {
                sl->mu = st[2 * k];
                sl->inv = st[2 * k + 1];
            }
            if (j == -1 && sl->type != REC_DNN_CTX)
                continue;
            if (j < 0 || j >= sch->n || !field_fits(sl, sch->f[j]) ||
                (sl->type != REC_DNN_CTX && j < (side ? 0 : s->nctx)) ||
                !isfinite(sl->mu) || !isfinite(sl->inv))
                return rec_err(REC_E_FORMAT, "%s: the %s field schema does not match slot %d",
                               fn, side_name[side], k);
            sl->sf = j;
        }
    }
    return REC_OK;
}

rec_status rec_dnn_features_load(rec_dnn *s, const rec_lrm_reader *r, int32_t nusers,
                                 int32_t nitems)
{
    static const char fn[] = "rec_model_load(dnn)";
    s->side[0].rows = nusers;
    s->side[1].rows = nitems;
    REC_TRY(load_side(s, 0, r, fn));
    REC_TRY(load_side(s, 1, r, fn));
    REC_TRY(load_schema(s, r, fn));
    if (!s->wide)
        return rec_dnn_layout(s, fn);
    int64_t shape[REC_LRM_MAX_DIMS];
    const void *p;
    REC_TRY(rec_lrm_tensor(r, "cross", REC_LRM_I64, 2, shape, &p));
    if (shape[1] != 3 || shape[0] > 4096)
        return rec_err(REC_E_FORMAT, "%s: tensor cross has a bad shape", fn);
    const int64_t *c = p;
    for (int64_t k = 0; k < shape[0]; k++) {
        if (c[3 * k] < 0 || c[3 * k] >= s->side[0].n || c[3 * k + 1] < 0 ||
            c[3 * k + 1] >= s->side[1].n || c[3 * k + 2] < 1 || c[3 * k + 2] > (1 << 30))
            return rec_err(REC_E_FORMAT, "%s: cross %lld is out of range", fn, (long long)k);
        REC_TRY(cross_add(s, (int)c[3 * k], (int)c[3 * k + 1], c[3 * k + 2], fn));
        if (s->cross[k].buckets != c[3 * k + 2])
            return rec_err(REC_E_FORMAT, "%s: cross %lld: bucket count disagrees", fn,
                           (long long)k);
    }
    return rec_dnn_layout(s, fn);
}

/* ---- per-interaction context ------------------------------------------------ */

/* Column-major, [nctx, rows]: each context filled in one pass. */
rec_status rec_dnn_row_contexts(const rec_dnn *s, const rec_dataset *d, int32_t **codes,
                                const char *fn)
{
    *codes = NULL;
    if (!s->nctx)
        return REC_OK;
    size_t nr = (size_t)rec_ds_num_rows(d);
    int32_t *c = rec_malloc((nr ? nr : 1) * (size_t)s->nctx * sizeof *c);
    if (!c)
        return rec_nomem(fn);
    for (int k = 0; k < s->nctx; k++)
        rec_ds_context_fill(d, s->usch->f[k]->name, c + (size_t)k * nr);
    *codes = c;
    return REC_OK;
}

void rec_dnn_row_contexts_free(const rec_dnn *s, const rec_dataset *d, int32_t *codes)
{
    size_t nr = (size_t)rec_ds_num_rows(d);
    if (codes)
        rec_free(codes, (nr ? nr : 1) * (size_t)s->nctx * sizeof *codes);
}

rec_status rec_dnn_schema(const rec_model *m, rec_side side, rec_features **out,
                          const char *fn)
{
    const rec_dnn *s = m->state;
    if (side == REC_SIDE_ITEM && !s->has_fields)
        return rec_err(REC_E_UNSUPPORTED, "%s: this dnn model's file predates call-time item "
                       "features: fit it again", fn);
    *out = side == REC_SIDE_ITEM ? s->isch : s->usch;
    return REC_OK;
}

rec_status rec_dnn_context_codes(const rec_dnn *s, const rec_feature_set *fs, int32_t *codes,
                                 const char *fn)
{
    for (int k = 0; k < s->nctx; k++) {
        const rec_field *f = s->usch->f[k];
        const fset_val *v = NULL;
        codes[k] = -1;
        if (fs)
            REC_TRY(rec_fset_value(fs, f, &v, fn));
        if (v)
            codes[k] = rec_fset_code(f, v);
    }
    return REC_OK;
}
