/* Call-time features of "twotower": the schemas of the fields its towers
 * read (kept in the model and its file), a feature set coded into a tower
 * row, a user tower run over such a row (and a history), and items added
 * to the catalogue from their features.
 *
 * An added item gets exactly the per-entity values an item of the training
 * data with the same features and no interactions had (no id row: zeros),
 * so its vector is the one such an item has after the fit. */
#include "twotower-impl.h"
#include "fset-impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *hist_base(const tt_feat *f, char *buf, size_t cap)
{
    snprintf(buf, cap, "%.*s", (int)(strlen(f->name) - 5), f->name);
    return buf;
}

static int reads_field(const tt_feat *f)
{
    return f->kind == TT_CAT || f->kind == TT_NUM || f->kind == TT_BAG || f->kind == TT_VEC ||
           f->kind == TT_CTX || f->kind == TT_TEXT;
}

rec_status tt_schema_build(rec_model *m, const rec_dataset *d)
{
    static const char fn[] = "rec_model_fit(twotower)";
    twotower *s = m->state;
    char base[TT_NAME_MAX];
    for (int k = 0; k < s->ut.nf; k++) {
        const tt_feat *f = &s->ut.f[k];
        if (f->kind == TT_CTX)
            REC_TRY(rec_features_schema_add_context(&s->usch, d, f->name, fn));
        else if (reads_field(f))
            REC_TRY(rec_features_schema_add(&s->usch, d, REC_SIDE_USER, f->name, fn));
        else if (f->kind == TT_HFIELD)
            REC_TRY(rec_features_schema_add(&s->isch, d, REC_SIDE_ITEM,
                                            hist_base(f, base, sizeof base), fn));
    }
    for (int k = 0; k < s->it.nf; k++)
        if (reads_field(&s->it.f[k]))
            REC_TRY(rec_features_schema_add(&s->isch, d, REC_SIDE_ITEM, s->it.f[k].name, fn));
    /* the towers' own standardisation of raw numbers becomes the schema's */
    for (int side = 0; side < 2; side++) {
        const tt_tower *t = side ? &s->it : &s->ut;
        rec_features *sch = side ? s->isch : s->usch;
        for (int k = 0; k < t->nf; k++) {
            if (t->f[k].kind != TT_NUM)
                continue;
            rec_field *f = sch->f[rec_features_find(sch, t->f[k].name)];
            double na, nb;
            tt_num_stats(m, rec_ds_field(d, side ? REC_SIDE_ITEM : REC_SIDE_USER, f->name),
                         side ? m->nitems : m->nusers, &na, &nb);
            if (na != 0 || nb != 1) {
                f->norm = REC_NORM_ZSCORE;
                f->na = na;
                f->nb = nb;
            }
        }
    }
    REC_TRY(rec_features_encode(s->usch, &s->ublob, &s->ublen, fn));
    REC_TRY(rec_features_encode(s->isch, &s->iblob, &s->iblen, fn));
    s->has_schema = 1;
    return REC_OK;
}

void tt_schema_free(twotower *s)
{
    rec_features_unref(s->usch);
    rec_features_unref(s->isch);
    rec_free(s->ublob, s->ublen);
    rec_free(s->iblob, s->iblen);
    s->usch = s->isch = NULL;
    s->ublob = s->iblob = NULL;
}

rec_status tt_schema_save(const rec_model *m, rec_lrm_writer *w)
{
    const twotower *s = m->state;
    if (!s->has_schema)
        return REC_OK;
    REC_TRY(rec_lrm_add_blob(w, "tt.schema.user", s->ublob, s->ublen));
    return rec_lrm_add_blob(w, "tt.schema.item", s->iblob, s->iblen);
}

/* Decodes blob name into *fs and keeps a copy for the next save. */
static rec_status load_one(const rec_lrm_reader *r, const char *name, rec_features **fs,
                           char **copy, size_t *len)
{
    static const char fn[] = "rec_model_load(twotower)";
    const void *p;
    REC_TRY(rec_lrm_blob(r, name, &p, len));
    REC_TRY(rec_features_decode(p, *len, fs, fn));
    *copy = rec_malloc(*len ? *len : 1);
    if (!*copy)
        return rec_nomem(fn);
    memcpy(*copy, p, *len);
    return REC_OK;
}

/* The schema must code what the towers read: each field there, typed as
 * the tower's kind wants and a vocabulary no larger than its table. */
static rec_status check_tower(const tt_tower *t, const rec_features *own,
                              const rec_features *items)
{
    char base[TT_NAME_MAX];
    for (int k = 0; k < t->nf; k++) {
        const tt_feat *f = &t->f[k];
        const rec_features *fs = f->kind == TT_HFIELD ? items : own;
        const char *name = f->kind == TT_HFIELD ? hist_base(f, base, sizeof base) : f->name;
        if (!reads_field(f) && f->kind != TT_HFIELD)
            continue;
        int j = rec_features_find(fs, name);
        const rec_field *fd = j >= 0 ? fs->f[j] : NULL;
        int ok = fd != NULL;
        if (ok && f->kind == TT_HFIELD && fd->type == REC_FEATURE_TEXT)
            ok = 1;
        else if (ok && (f->kind == TT_CAT || f->kind == TT_CTX || f->kind == TT_BAG ||
                        f->kind == TT_HFIELD))
            ok = fd->vocab && fd->vocab->n <= f->vocab &&
                 (fd->type == (f->kind == TT_CAT || f->kind == TT_CTX ? REC_FEATURE_CATEGORICAL
                                                 : REC_FEATURE_MULTIHOT) ||
                  (f->kind == TT_HFIELD && fd->type == REC_FEATURE_CATEGORICAL));
        else if (ok && f->kind == TT_NUM)
            ok = fd->type == REC_FEATURE_NUMERIC;
        else if (ok && f->kind == TT_TEXT)
            ok = fd->type == REC_FEATURE_TEXT;
        else if (ok)
            ok = fd->type == REC_FEATURE_DENSE && fd->vdim == f->vocab;
        if (!ok)
            return rec_err(REC_E_FORMAT, "rec_model_load(twotower): the field schema does "
                           "not match feature '%s'", f->name);
    }
    return REC_OK;
}

rec_status tt_schema_load(rec_model *m, const rec_lrm_reader *r)
{
    twotower *s = m->state;
    int found = 0;
    for (size_t i = 0; i < rec_lrm_blob_count(r); i++) {
        const char *name;
        const void *p;
        size_t len;
        REC_TRY(rec_lrm_blob_at(r, i, &name, &p, &len));
        found += !strcmp(name, "tt.schema.user") || !strcmp(name, "tt.schema.item");
    }
    if (!found)
        return REC_OK; /* a file from before call-time features */
    REC_TRY(load_one(r, "tt.schema.user", &s->usch, &s->ublob, &s->ublen));
    REC_TRY(load_one(r, "tt.schema.item", &s->isch, &s->iblob, &s->iblen));
    REC_TRY(check_tower(&s->ut, s->usch, s->isch));
    REC_TRY(check_tower(&s->it, s->isch, s->isch));
    s->has_schema = 1;
    return REC_OK;
}

rec_status tt_vt_schema(const rec_model *m, rec_side side, rec_features **out,
                        const char *fn)
{
    const twotower *s = m->state;
    if (!s->has_schema)
        return rec_err(REC_E_UNSUPPORTED, "%s: this twotower model was saved without its "
                       "field schema (before call-time features); fit it again", fn);
    *out = side == REC_SIDE_USER ? s->usch : s->isch;
    return REC_OK;
}

/* ---- a feature set as a tower row ------------------------------------------ */

static void row_free(tt_row *r, const tt_tower *t)
{
    for (int k = 0; k < t->nf; k++) {
        const tt_feat *f = &t->f[k];
        rec_free(r->num[k], r->num[k] ? (size_t)(f->kind == TT_VEC ? f->vocab : 1) *
                                            sizeof(float) : 0);
        rec_free(r->bag[k], r->bag[k] ? ((size_t)r->nbag[k] + 1) * sizeof(int32_t) : 0);
        r->num[k] = NULL;
        r->bag[k] = NULL;
    }
}

/* Codes and normalises fs's values for tower t (schema sch) into r. */
static rec_status row_make(const tt_tower *t, const rec_features *sch,
                           const rec_feature_set *fs, tt_row *r, const char *fn)
{
    memset(r, 0, sizeof *r);
    rec_status st = REC_OK;
    for (int k = 0; !st && k < t->nf; k++) {
        const tt_feat *f = &t->f[k];
        r->code[k] = -1;
        if (!fs || !reads_field(f)) /* no set (a history only): every field missing */
            continue;
        const rec_field *fd = sch->f[rec_features_find(sch, f->name)];
        const fset_val *v;
        st = rec_fset_value(fs, fd, &v, fn);
        if (st || !v)
            continue;
        if (f->kind == TT_CAT || f->kind == TT_CTX) {
            r->code[k] = rec_fset_code(fd, v);
        } else if (f->kind == TT_BAG || f->kind == TT_TEXT) {
            size_t room = ((size_t)(f->kind == TT_BAG ? v->nvals : f->tlen) + 1) *
                          sizeof(int32_t);
            int32_t *b = rec_malloc(room), *q = NULL, got = 0;
            if (b && f->kind == TT_TEXT)
                st = tt_text_codes(v->s ? v->s : "", f->vocab, f->tlen, f->known, b, &got, fn);
            else if (b)
                got = rec_fset_codes(fd, v, b);
            if (b && !st) {
                /* to the count kept, the size row_free gives */
                q = rec_realloc(b, room, ((size_t)got + 1) * sizeof *b);
            }
            if (!q) {
                rec_free(b, room);
                st = rec_nomem(fn);
                break;
            }
            r->bag[k] = q;
            r->nbag[k] = got;
        } else {
            size_t w = f->kind == TT_VEC ? (size_t)f->vocab : 1;
            r->num[k] = rec_malloc(w * sizeof *r->num[k]);
            if (!r->num[k]) {
                st = rec_nomem(fn);
                break;
            }
            if (f->kind == TT_VEC) {
                rec_field_norm_vector(fd, v->vec, r->num[k]);
            } else {
                /* through float, as the dataset stores a number */
                double x = rec_field_norm_number(fd, (double)(float)v->num);
                r->num[k][0] = isfinite(x) ? (float)x : 0.0f;
            }
        }
    }
    if (st)
        row_free(r, t);
    return st;
}

rec_status tt_score_features(const rec_model *m, const rec_feature_set *fs,
                             const int32_t *hist, size_t nh, float *out)
{
    static const char fn[] = "rec_model_score_features(twotower)";
    const twotower *s = m->state;
    rec_features *sch;
    if (fs)
        REC_TRY(tt_vt_schema(m, REC_SIDE_USER, &sch, fn));
    tt_row row;
    REC_TRY(row_make(&s->ut, s->usch, fs, &row, fn));
    rec_graph *g = NULL;
    rec_status st = rec_graph_create(&g);
    if (!st) {
        rec_graph_set_grad(g, 0);
        rec_graph_set_training(g, 0);
        tt_uq q = { -1, hist, (int64_t)nh, &row, NULL };
        rec_tensor *u = tt_user_forward(g, m, &q, 1, NULL);
        st = u ? REC_OK : rec_graph_status(g);
        if (!st)
            st = tt_max_scores(s, m->nitems, u->v, out);
        rec_graph_destroy(g);
    }
    row_free(&row, &s->ut);
    return st;
}

rec_status tt_score_context(const rec_model *m, int32_t u, const rec_feature_set *fs,
                            float *out)
{
    static const char fn[] = "rec_model_score_context(twotower)";
    const twotower *s = m->state;
    rec_features *sch;
    if (fs)
        REC_TRY(tt_vt_schema(m, REC_SIDE_USER, &sch, fn));
    /* only the context fields of the set: the user's own features stay */
    tt_row row;
    REC_TRY(row_make(&s->ut, s->usch, fs, &row, fn));
    int32_t ctx[TT_MAX_FEAT];
    for (int k = 0; k < s->ut.nf; k++)
        ctx[k] = s->ut.f[k].kind == TT_CTX ? row.code[k] : -1;
    row_free(&row, &s->ut);
    rec_graph *g = NULL;
    rec_status st = rec_graph_create(&g);
    if (!st) {
        rec_graph_set_grad(g, 0);
        rec_graph_set_training(g, 0);
        tt_uq q = { u, s->hitems + s->hptr[u], s->hptr[u + 1] - s->hptr[u], NULL, ctx };
        rec_tensor *v = tt_user_forward(g, m, &q, 1, NULL);
        st = v ? REC_OK : rec_graph_status(g);
        if (!st)
            rec_sgemv(0, m->nitems, s->out_dim, 1.0f, s->ivec, s->out_dim, v->v, 0.0f, out);
        rec_graph_destroy(g);
    }
    return st;
}

/* ---- items added from their features ---------------------------------------- */

/* f's per-entity arrays over nent + n entities: the first nent copied, the
 * rest from rows[j].  Called on a zeroed copy of f that receives them. */
static rec_status grow_feat(const tt_feat *old, tt_feat *f, int k, const tt_row *rows,
                            const int32_t *const *hcodes, const int32_t *hn, size_t n)
{
    int64_t ne = old->nent, nn = ne + (int64_t)n;
    f->nent = nn;
    if (old->kind == TT_CAT) {
        f->code = rec_malloc((size_t)nn * sizeof *f->code);
        if (!f->code)
            return REC_E_NOMEM;
        memcpy(f->code, old->code, (size_t)ne * sizeof *f->code);
        for (size_t j = 0; j < n; j++)
            f->code[ne + (int64_t)j] = rows[j].code[k];
    } else if (old->kind == TT_NUM || old->kind == TT_VEC) {
        size_t w = old->kind == TT_VEC ? (size_t)old->vocab : 1;
        f->num = rec_malloc((size_t)nn * w * sizeof *f->num);
        if (!f->num)
            return REC_E_NOMEM;
        memcpy(f->num, old->num, (size_t)ne * w * sizeof *f->num);
        for (size_t j = 0; j < n; j++) {
            float *dst = f->num + (size_t)(ne + (int64_t)j) * w;
            if (rows[j].num[k])
                memcpy(dst, rows[j].num[k], w * sizeof *dst);
            else
                memset(dst, 0, w * sizeof *dst);
        }
    } else { /* TT_BAG from rows, TT_HFIELD from hcodes */
        int64_t total = old->ptr[ne];
        for (size_t j = 0; j < n; j++)
            total += hcodes ? hn[j] : rows[j].nbag[k];
        f->ptr = rec_malloc(((size_t)nn + 1) * sizeof *f->ptr);
        f->val = f->ptr ? rec_malloc(((size_t)total + 1) * sizeof *f->val) : NULL;
        if (!f->val) {
            rec_free(f->ptr, ((size_t)nn + 1) * sizeof *f->ptr);
            f->ptr = NULL;
            return REC_E_NOMEM;
        }
        memcpy(f->ptr, old->ptr, ((size_t)ne + 1) * sizeof *f->ptr);
        memcpy(f->val, old->val, (size_t)old->ptr[ne] * sizeof *f->val);
        int64_t w = old->ptr[ne];
        for (size_t j = 0; j < n; j++) {
            int32_t c = hcodes ? hn[j] : rows[j].nbag[k];
            if (c) /* an unset field has no codes and a NULL list */
                memcpy(f->val + w, hcodes ? hcodes[j] : rows[j].bag[k],
                       (size_t)c * sizeof *f->val);
            w += c;
            f->ptr[ne + (int64_t)j + 1] = w;
        }
    }
    return REC_OK;
}

/* Swaps the per-entity arrays of a and b (the layers stay). */
static void swap_data(tt_feat *a, tt_feat *b)
{
    tt_feat t = *a;
    a->code = b->code, a->num = b->num, a->ptr = b->ptr, a->val = b->val, a->nent = b->nent;
    b->code = t.code, b->num = t.num, b->ptr = t.ptr, b->val = t.val, b->nent = t.nent;
}

/* What add_items builds before anything in the model changes. */
typedef struct grow {
    tt_row *rows;            /* [n] item tower rows                            */
    int32_t **hcodes, *hn;   /* [nf of ut][n] HFIELD codes of the new items      */
    tt_feat uf[TT_MAX_FEAT], itf[TT_MAX_FEAT]; /* grown arrays, kind/vocab copied */
    int32_t *trained;
    float *ivec;
    rec_index *ix;
} grow;

static void grow_free(grow *G, const twotower *s, size_t n, int64_t ni)
{
    for (size_t j = 0; G->rows && j < n; j++)
        row_free(&G->rows[j], &s->it);
    rec_free(G->rows, (n + 1) * sizeof *G->rows);
    for (size_t j = 0; G->hcodes && j < (size_t)s->ut.nf * n; j++)
        if (G->hcodes[j])
            rec_free(G->hcodes[j], ((size_t)G->hn[j] + 1) * sizeof(int32_t));
    rec_free(G->hcodes, ((size_t)s->ut.nf * n + 1) * sizeof *G->hcodes);
    rec_free(G->hn, ((size_t)s->ut.nf * n + 1) * sizeof *G->hn);
    for (int k = 0; k < TT_MAX_FEAT; k++) {
        tt_feat_free(&G->uf[k]);
        tt_feat_free(&G->itf[k]);
    }
    rec_free(G->trained, (size_t)(ni + (int64_t)n) * sizeof *G->trained);
    rec_free(G->ivec, (size_t)(ni + (int64_t)n) * (size_t)s->out_dim * sizeof *G->ivec);
    rec_index_destroy(G->ix);
}

/* The codes of the item field under user feature f (<field>_hist) of each
 * new item, as take_bags would have copied them. */
static rec_status hist_codes(const twotower *s, const tt_feat *f,
                             const rec_feature_set *const *fs, size_t n, int32_t **codes,
                             int32_t *cnt, const char *fn)
{
    char base[TT_NAME_MAX];
    const rec_field *fd = s->isch->f[rec_features_find(s->isch, hist_base(f, base, sizeof base))];
    for (size_t j = 0; j < n; j++) {
        const fset_val *v;
        REC_TRY(rec_fset_value(fs[j], fd, &v, fn));
        int text = fd->type == REC_FEATURE_TEXT;
        int32_t room = v ? (text ? f->tlen : fd->type == REC_FEATURE_MULTIHOT ? v->nvals : 1)
                         : 0;
        codes[j] = rec_malloc(((size_t)room + 1) * sizeof **codes);
        if (!codes[j])
            return rec_nomem(fn);
        cnt[j] = room;
        int32_t got = 0;
        if (v && text) {
            REC_TRY(tt_text_codes(v->s ? v->s : "", f->vocab, f->tlen, f->known, codes[j], &got,
                                  fn));
        } else if (v && fd->type == REC_FEATURE_MULTIHOT) {
            got = rec_fset_codes(fd, v, codes[j]);
        } else if (v) {
            codes[j][0] = rec_fset_code(fd, v);
            got = codes[j][0] >= 0;
        }
        if (got != room) { /* shrink to the count, which the free uses */
            int32_t *q = rec_realloc(codes[j], ((size_t)room + 1) * sizeof *q,
                                     ((size_t)got + 1) * sizeof *q);
            if (!q)
                return rec_nomem(fn);
            codes[j] = q;
            cnt[j] = got;
        }
    }
    return REC_OK;
}

/* The new items' vectors into G->ivec (after the old ones) with the grown
 * item arrays swapped in for the forward pass and back out after. */
static rec_status new_vectors(rec_model *m, grow *G, size_t n)
{
    twotower *s = m->state;
    int64_t ni = m->nitems;
    for (int k = 0; k < s->it.nf; k++)
        swap_data(&s->it.f[k], &G->itf[k]);
    int32_t *tr = s->trained;
    s->trained = G->trained;
    rec_graph *g = NULL;
    rec_status st = rec_graph_create(&g);
    enum { CH = 1024 };
    int32_t ids[CH];
    if (!st) {
        rec_graph_set_grad(g, 0);
        rec_graph_set_training(g, 0);
    }
    for (size_t b = 0; !st && b < n; b += CH) {
        size_t c = n - b < CH ? n - b : CH;
        for (size_t j = 0; j < c; j++)
            ids[j] = (int32_t)(ni + (int64_t)(b + j));
        rec_graph_reset(g);
        rec_tensor *v = tt_item_forward(g, m, ids, (int64_t)c, NULL);
        if (!v)
            st = rec_graph_status(g);
        else
            memcpy(G->ivec + (size_t)(ni + (int64_t)b) * s->out_dim, v->v,
                   (size_t)v->n * sizeof *v->v);
    }
    rec_graph_destroy(g);
    s->trained = tr;
    for (int k = 0; k < s->it.nf; k++)
        swap_data(&s->it.f[k], &G->itf[k]);
    return st;
}

rec_status tt_add_items(rec_model *m, const rec_feature_set *const *fs, size_t n)
{
    static const char fn[] = "rec_model_add_items(twotower)";
    twotower *s = m->state;
    rec_features *sch;
    REC_TRY(tt_vt_schema(m, REC_SIDE_ITEM, &sch, fn));
    int64_t ni = m->nitems, nn = ni + (int64_t)n;
    grow G;
    memset(&G, 0, sizeof G);
    for (int k = 0; k < TT_MAX_FEAT; k++) {
        G.uf[k].kind = k < s->ut.nf ? s->ut.f[k].kind : 0;
        G.uf[k].vocab = k < s->ut.nf ? s->ut.f[k].vocab : 0;
        G.itf[k].kind = k < s->it.nf ? s->it.f[k].kind : 0;
        G.itf[k].vocab = k < s->it.nf ? s->it.f[k].vocab : 0;
    }
    rec_status st = REC_OK;
    G.rows = rec_calloc(n + 1, sizeof *G.rows);
    G.hcodes = rec_calloc((size_t)s->ut.nf * n + 1, sizeof *G.hcodes);
    G.hn = rec_calloc((size_t)s->ut.nf * n + 1, sizeof *G.hn);
    G.trained = rec_calloc((size_t)nn, sizeof *G.trained);
    G.ivec = rec_malloc((size_t)nn * (size_t)s->out_dim * sizeof *G.ivec);
    if (!G.rows || !G.hcodes || !G.hn || !G.trained || !G.ivec)
        st = rec_nomem(fn);
    for (size_t j = 0; !st && j < n; j++)
        st = row_make(&s->it, s->isch, fs[j], &G.rows[j], fn);
    for (int k = 0; !st && k < s->ut.nf; k++)
        if (s->ut.f[k].kind == TT_HFIELD)
            st = hist_codes(s, &s->ut.f[k], fs, n, G.hcodes + (size_t)k * n,
                            G.hn + (size_t)k * n, fn);
    for (int k = 0; !st && k < s->it.nf; k++)
        if (s->it.f[k].kind != TT_ID && grow_feat(&s->it.f[k], &G.itf[k], k, G.rows, NULL,
                                                  NULL, n))
            st = rec_nomem(fn);
    for (int k = 0; !st && k < s->ut.nf; k++)
        if (s->ut.f[k].kind == TT_HFIELD &&
            grow_feat(&s->ut.f[k], &G.uf[k], k, NULL,
                      (const int32_t *const *)(G.hcodes + (size_t)k * n), G.hn + (size_t)k * n,
                      n))
            st = rec_nomem(fn);
    if (!st) {
        memcpy(G.trained, s->trained, (size_t)ni * sizeof *G.trained);
        memcpy(G.ivec, s->ivec, (size_t)ni * s->out_dim * sizeof *G.ivec);
        st = new_vectors(m, &G, n);
    }
    if (!st) {
        float *iv = s->ivec;
        s->ivec = G.ivec; /* tt_build_index reads s->ivec */
        st = tt_build_index(s, nn, &G.ix);
        s->ivec = iv;
    }
    if (!st) { /* nothing fails from here: the grown state replaces the old */
        for (int k = 0; k < s->it.nf; k++)
            if (s->it.f[k].kind != TT_ID)
                swap_data(&s->it.f[k], &G.itf[k]);
        for (int k = 0; k < s->ut.nf; k++)
            if (s->ut.f[k].kind == TT_HFIELD)
                swap_data(&s->ut.f[k], &G.uf[k]);
        int32_t *tr = s->trained;
        float *iv = s->ivec;
        rec_index *ix = s->ix;
        s->trained = G.trained;
        s->ivec = G.ivec;
        s->ix = G.ix;
        /* the old arrays, sized for ni items, are freed below through G */
        G.trained = tr;
        G.ivec = iv;
        G.ix = ix;
        rec_free(G.trained, (size_t)ni * sizeof *G.trained);
        rec_free(G.ivec, (size_t)ni * (size_t)s->out_dim * sizeof *G.ivec);
        G.trained = NULL;
        G.ivec = NULL;
    }
    grow_free(&G, s, n, ni);
    return st;
}
