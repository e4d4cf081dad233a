/* The two towers of "twotower": the feature spec (which inputs each tower
 * concatenates), the per-entity feature data copied from the dataset, the
 * parameters, and the forward passes
 *   [feature embeddings | numeric columns] -> MLP -> L2 normalise. */
#include "twotower-impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *side_name(rec_side side)
{
    return side == REC_SIDE_USER ? "user" : "item";
}

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n > k && strcmp(s + n - k, suf) == 0;
}

/* Kind and vocab of token name on side (d given). */
static rec_status classify(tt_feat *f, rec_side side, const rec_dataset *d, const char *fn)
{
    const char *what = side == REC_SIDE_USER ? "user_features" : "item_features";
    if (!strcmp(f->name, "id")) {
        f->kind = TT_ID;
        f->vocab = side == REC_SIDE_USER ? rec_ds_num_users(d) : rec_ds_num_items(d);
        return REC_OK;
    }
    if (side == REC_SIDE_USER && !strcmp(f->name, "hist_bag")) {
        f->kind = TT_HBAG;
        f->vocab = rec_ds_num_items(d);
        return REC_OK;
    }
    if (side == REC_SIDE_USER && !strcmp(f->name, "hist_gru")) {
        f->kind = TT_HGRU;
        f->vocab = rec_ds_num_items(d);
        return REC_OK;
    }
    if (side == REC_SIDE_USER && !strcmp(f->name, "hist_attn")) {
        f->kind = TT_HATTN;
        f->vocab = rec_ds_num_items(d);
        return REC_OK;
    }
    if (side == REC_SIDE_USER && !strcmp(f->name, "hist_hier")) {
        f->kind = TT_HHIER;
        f->vocab = rec_ds_num_items(d);
        return REC_OK;
    }
    if (side == REC_SIDE_USER && rec_ds_context_known(d, f->name)) {
        rec_idmap *v;
        REC_TRY(rec_ds_context_vocab(d, f->name, &v, fn));
        f->kind = TT_CTX;
        f->vocab = v->n;
        rec_idmap_unref(v);
        return REC_OK;
    }
    if (side == REC_SIDE_USER && ends_with(f->name, "_hist")) {
        char base[TT_NAME_MAX];
        snprintf(base, sizeof base, "%.*s", (int)(strlen(f->name) - 5), f->name);
        const rec_field *fd = rec_ds_field(d, REC_SIDE_ITEM, base);
        if (!fd)
            return rec_err(REC_E_INVALID, "%s: %s: '%s' needs an item field '%s', which the "
                           "dataset lacks", fn, what, f->name, base);
        if (fd->type != REC_FEATURE_MULTIHOT && fd->type != REC_FEATURE_CATEGORICAL &&
            fd->type != REC_FEATURE_TEXT)
            return rec_err(REC_E_INVALID, "%s: %s: '%s': item field '%s' is not multi-hot, "
                           "categorical or text", fn, what, f->name, base);
        f->kind = TT_HFIELD;
        /* a text field's codes are its token buckets, set with the data */
        f->vocab = fd->type == REC_FEATURE_TEXT ? 0 : rec_ds_field_vocab_size(fd);
        return REC_OK;
    }
    const rec_field *fd = rec_ds_field(d, side, f->name);
    if (!fd)
        return rec_err(REC_E_INVALID, "%s: %s: unknown feature '%s' (use id, a %s field of "
                       "the dataset%s)", fn, what, f->name, side_name(side),
                       side == REC_SIDE_USER ? ", a context of it (time:hour, time:weekday or "
                       "a declared one), <item field>_hist, hist_bag, hist_gru, hist_attn or "
                       "hist_hier" : "");
    switch (fd->type) {
    case REC_FEATURE_CATEGORICAL:
        f->kind = TT_CAT;
        f->vocab = rec_ds_field_vocab_size(fd);
        return REC_OK;
    case REC_FEATURE_NUMERIC:
        f->kind = TT_NUM;
        f->vocab = 0;
        return REC_OK;
    case REC_FEATURE_MULTIHOT:
        f->kind = TT_BAG;
        f->vocab = rec_ds_field_vocab_size(fd);
        return REC_OK;
    case REC_FEATURE_DENSE:
        if (!fd->vdim)
            return rec_err(REC_E_INVALID, "%s: %s: dense field '%s' holds no vector", fn, what,
                           f->name);
        f->kind = TT_VEC;
        f->vocab = fd->vdim;
        return REC_OK;
    default: /* text: vocab (the buckets) is set with the data */
        f->kind = TT_TEXT;
        f->vocab = 0;
        return REC_OK;
    }
}

rec_status tt_parse(tt_tower *t, const char *spec, rec_side side, const rec_dataset *d,
                    const char *fn)
{
    const char *what = side == REC_SIDE_USER ? "user_features" : "item_features";
    t->nf = 0;
    rec_list_iter it;
    const char *p;
    size_t n;
    rec_list_start(&it, spec);
    while (rec_list_next(&it, &p, &n)) {
        if (n == 0 || n >= TT_NAME_MAX)
            return rec_err(REC_E_INVALID, "%s: %s: %s feature name in '%s'", fn, what,
                           n ? "too long a" : "empty", spec);
        if (t->nf == TT_MAX_FEAT)
            return rec_err(REC_E_INVALID, "%s: %s: more than %d features", fn, what,
                           TT_MAX_FEAT);
        tt_feat *f = &t->f[t->nf];
        memset(f, 0, sizeof *f);
        memcpy(f->name, p, n);
        f->name[n] = 0;
        for (int k = 0; k < t->nf; k++)
            if (!strcmp(t->f[k].name, f->name))
                return rec_err(REC_E_INVALID, "%s: %s: '%s' named twice", fn, what, f->name);
        t->nf++;
        if (d)
            REC_TRY(classify(f, side, d, fn));
    }
    if (t->nf == 0)
        return rec_err(REC_E_INVALID, "%s: %s is empty", fn, what);
    return REC_OK;
}

void tt_feat_free(tt_feat *f)
{
    rec_free(f->code, (size_t)f->nent * sizeof *f->code);
    rec_free(f->num, (size_t)f->nent * (f->kind == TT_VEC ? (size_t)f->vocab : 1) *
                         sizeof *f->num);
    if (f->ptr) {
        rec_free(f->val, ((size_t)f->ptr[f->nent] + 1) * sizeof *f->val);
        rec_free(f->ptr, ((size_t)f->nent + 1) * sizeof *f->ptr);
    }
    if (f->uptr) {
        rec_free(f->uval, ((size_t)f->reserved + 1) * sizeof *f->uval);
        rec_free(f->uw, ((size_t)f->reserved + 1) * sizeof *f->uw);
        rec_free(f->uptr, ((size_t)f->nuser + 1) * sizeof *f->uptr);
    }
    if (f->known)
        rec_free(f->known, (size_t)f->vocab * sizeof *f->known);
    f->known = NULL;
    f->code = NULL;
    f->num = NULL;
    f->ptr = f->uptr = NULL;
    f->val = f->uval = NULL;
    f->uw = NULL;
}

void tt_tower_free(tt_tower *t)
{
    for (int k = 0; k < t->nf; k++)
        tt_feat_free(&t->f[k]);
}

/* ptr/val of a multi-hot (or categorical, as one-code bags) field over
 * nent entities. */
static rec_status take_bags(tt_feat *f, const rec_field *fd, int64_t nent)
{
    int64_t total = 0;
    for (int64_t e = 0; e < nent && e < fd->rows; e++)
        total += fd->type == REC_FEATURE_MULTIHOT ? fd->ptr[e + 1] - fd->ptr[e]
                                                   : fd->codes[e] >= 0;
    f->ptr = rec_malloc(((size_t)nent + 1) * sizeof *f->ptr);
    f->val = f->ptr ? rec_malloc(((size_t)total + 1) * sizeof *f->val) : NULL;
    if (!f->val) {
        rec_free(f->ptr, ((size_t)nent + 1) * sizeof *f->ptr);
        f->ptr = NULL;
        return rec_nomem("rec_model_fit(twotower)");
    }
    f->nent = nent;
    int64_t w = 0;
    f->ptr[0] = 0;
    for (int64_t e = 0; e < nent; e++) {
        if (e < fd->rows) {
            if (fd->type == REC_FEATURE_MULTIHOT)
                for (int64_t j = fd->ptr[e]; j < fd->ptr[e + 1]; j++)
                    f->val[w++] = fd->vals[j];
            else if (fd->codes[e] >= 0)
                f->val[w++] = fd->codes[e];
        }
        f->ptr[e + 1] = w;
    }
    return REC_OK;
}

/* A numeric input the dataset left unnormalised (values such as years near
 * 2000) would swamp the embeddings beside it in the MLP's first layer, so
 * with numeric_norm=zscore the tower standardises it over the training
 * entities that have a value, as RecBole normalises float fields by default
 * (ml-latest-small, cold items, validation AUC 0.655 -> 0.785 with year). */
void tt_num_stats(const rec_model *m, const rec_field *fd, int64_t nent, double *na, double *nb)
{
    *na = 0;
    *nb = 1;
    if (fd->norm != REC_NORM_NONE || strcmp(rec_model_str(m, "numeric_norm"), "zscore"))
        return;
    double s = 0, s2 = 0;
    int64_t n = 0;
    for (int64_t e = 0; e < nent; e++) {
        double x = rec_field_number(fd, (int32_t)e);
        if (isnan(x))
            continue;
        s += x;
        s2 += x * x;
        n++;
    }
    if (!n)
        return;
    double mean = s / (double)n, var = s2 / (double)n - mean * mean;
    *na = mean;
    *nb = var > 1e-300 ? 1.0 / sqrt(var) : 1.0;
}

rec_status tt_take_data(rec_model *m, tt_tower *t, rec_side side, const rec_dataset *d)
{
    int64_t nent = side == REC_SIDE_USER ? m->nusers : m->nitems;
    for (int k = 0; k < t->nf; k++) {
        tt_feat *f = &t->f[k];
        const rec_field *fd = NULL;
        if (f->kind == TT_CAT || f->kind == TT_NUM || f->kind == TT_BAG || f->kind == TT_VEC ||
            f->kind == TT_TEXT)
            fd = rec_ds_field(d, side, f->name);
        if (f->kind == TT_HFIELD) {
            char base[TT_NAME_MAX];
            snprintf(base, sizeof base, "%.*s", (int)(strlen(f->name) - 5), f->name);
            const rec_field *bf = rec_ds_field(d, REC_SIDE_ITEM, base);
            if (bf->type == REC_FEATURE_TEXT) {
                f->vocab = (int32_t)rec_model_int(m, "text_buckets");
                f->tlen = (int)rec_model_int(m, "text_len");
                REC_TRY(tt_text_take(f, bf, m->nitems, ((twotower *)m->state)->trained,
                                     rec_model_int(m, "text_min_items")));
            } else {
                REC_TRY(take_bags(f, bf, m->nitems));
            }
        } else if (f->kind == TT_BAG) {
            REC_TRY(take_bags(f, fd, nent));
        } else if (f->kind == TT_TEXT) {
            f->vocab = (int32_t)rec_model_int(m, "text_buckets");
            f->tlen = (int)rec_model_int(m, "text_len");
            REC_TRY(tt_text_take(f, fd, nent,
                                 side == REC_SIDE_ITEM ? ((twotower *)m->state)->trained : NULL,
                                 rec_model_int(m, "text_min_items")));
        } else if (f->kind == TT_CAT) {
            f->code = rec_malloc((size_t)nent * sizeof *f->code);
            if (!f->code)
                return rec_nomem("rec_model_fit(twotower)");
            f->nent = nent;
            for (int64_t e = 0; e < nent; e++)
                f->code[e] = e < fd->rows ? fd->codes[e] : -1;
        } else if (f->kind == TT_NUM) {
            f->num = rec_malloc((size_t)nent * sizeof *f->num);
            if (!f->num)
                return rec_nomem("rec_model_fit(twotower)");
            f->nent = nent;
            double na, nb;
            tt_num_stats(m, fd, nent, &na, &nb);
            for (int64_t e = 0; e < nent; e++) {
                double v = (rec_field_number(fd, (int32_t)e) - na) * nb;
                f->num[e] = isfinite(v) ? (float)v : 0.0f;
            }
        } else if (f->kind == TT_VEC) {
            size_t w = (size_t)f->vocab;
            f->num = rec_malloc((size_t)nent * w * sizeof *f->num);
            if (!f->num)
                return rec_nomem("rec_model_fit(twotower)");
            f->nent = nent;
            for (int64_t e = 0; e < nent; e++)
                rec_field_vector(fd, (int32_t)e, f->num + (size_t)e * w);
        }
    }
    return REC_OK;
}

/* Distinct codes of feature f over items[0..n) with weights count / total,
 * into codes/w (room for the sum of the items' code counts); cnt is vocab
 * zeroed floats, left zeroed.  Returns the number of codes. */
static int64_t multiset(const tt_feat *f, const int32_t *items, int64_t n, float *cnt,
                        int32_t *codes, float *w)
{
    int64_t nc = 0;
    double total = 0;
    for (int64_t h = 0; h < n; h++) {
        int32_t i = items[h];
        if (i < 0 || i >= f->nent)
            continue;
        for (int64_t j = f->ptr[i]; j < f->ptr[i + 1]; j++) {
            int32_t c = f->val[j];
            if (cnt[c] == 0)
                codes[nc++] = c;
            cnt[c] += 1;
            total += 1;
        }
    }
    for (int64_t j = 0; j < nc; j++) {
        w[j] = (float)(cnt[codes[j]] / total);
        cnt[codes[j]] = 0;
    }
    return nc;
}

rec_status tt_user_multisets(rec_model *m, tt_tower *t)
{
    twotower *s = m->state;
    for (int k = 0; k < t->nf; k++) {
        tt_feat *f = &t->f[k];
        if (f->kind != TT_HFIELD)
            continue;
        int64_t total = 0;
        for (int64_t h = 0; h < s->hptr[m->nusers]; h++)
            total += f->ptr[s->hitems[h] + 1] - f->ptr[s->hitems[h]];
        f->nuser = m->nusers;
        f->uptr = rec_malloc(((size_t)m->nusers + 1) * sizeof *f->uptr);
        f->uval = rec_malloc(((size_t)total + 1) * sizeof *f->uval);
        f->uw = rec_malloc(((size_t)total + 1) * sizeof *f->uw);
        float *cnt = rec_calloc((size_t)f->vocab + 1, sizeof *cnt);
        if (!f->uptr || !f->uval || !f->uw || !cnt) {
            rec_free(cnt, ((size_t)f->vocab + 1) * sizeof *cnt);
            rec_free(f->uptr, ((size_t)m->nusers + 1) * sizeof *f->uptr);
            rec_free(f->uval, ((size_t)total + 1) * sizeof *f->uval);
            rec_free(f->uw, ((size_t)total + 1) * sizeof *f->uw);
            f->uptr = NULL;
            f->uval = NULL;
            f->uw = NULL;
            return rec_nomem("rec_model_fit(twotower)");
        }
        f->uptr[0] = 0;
        for (int32_t u = 0; u < m->nusers; u++) {
            int64_t b = f->uptr[u];
            f->uptr[u + 1] = b + multiset(f, s->hitems + s->hptr[u], s->hptr[u + 1] - s->hptr[u],
                                          cnt, f->uval + b, f->uw + b);
        }
        rec_free(cnt, ((size_t)f->vocab + 1) * sizeof *cnt);
        /* the reservation (every code of every history item, more than the
         * distinct ones) is kept; reserved records its size for the free */
        f->reserved = total;
    }
    return REC_OK;
}

rec_status tt_build(rec_model *m, tt_tower *t, const char *prefix, const int64_t *sizes,
                    int nsizes, rec_rng *rng)
{
    twotower *s = m->state;
    rec_nn_embedding_opts eo = rec_nn_embedding_defaults();
    eo.sparse = rec_model_bool(m, "sparse");
    char name[REC_NN_NAME_MAX];
    t->in_dim = 0;
    for (int k = 0; k < t->nf; k++) {
        tt_feat *f = &t->f[k];
        snprintf(name, sizeof name, "%s.%s", prefix, f->name);
        int64_t rows = f->vocab > 0 ? f->vocab : 1;
        switch (f->kind) {
        case TT_ID:
        case TT_CAT:
        case TT_CTX:
            REC_TRY(rec_nn_embedding_init(&f->emb, s->ps, name, rows, s->dim, &eo, rng));
            f->width = s->dim;
            break;
        case TT_NUM:
            f->width = 1;
            break;
        case TT_VEC:
            f->width = f->vocab;
            break;
        case TT_BAG:
        case TT_HFIELD:
        case TT_HBAG:
            f->tlen = (int)rec_model_int(m, "text_len"); /* a text _hist's call-time texts */
            REC_TRY(rec_nn_embedding_bag_init(&f->bag, s->ps, name, rows, s->dim,
                                              REC_REDUCE_MEAN, &eo, rng));
            f->width = s->dim;
            break;
        case TT_TEXT:
            REC_TRY(tt_text_build(m, f, name, s->dim, rng));
            f->width = s->dim;
            break;
        case TT_HGRU:
        case TT_HATTN:
        case TT_HHIER: {
            char n2[REC_NN_NAME_MAX + 16];
            snprintf(n2, sizeof n2, "%s.emb", name);
            REC_TRY(rec_nn_embedding_init(&f->emb, s->ps, n2, rows, s->dim, &eo, rng));
            if (f->kind == TT_HATTN) {
                snprintf(n2, sizeof n2, "%s.pool", name);
                REC_TRY(rec_nn_attn_pool_init(&f->pool, s->ps, n2, s->interests, s->dim, rng));
            } else {
                snprintf(n2, sizeof n2, "%s.gru", name);
                REC_TRY(rec_nn_gru_init(&f->gru, s->ps, n2, s->dim, s->dim, rng));
            }
            if (f->kind == TT_HHIER) {
                snprintf(n2, sizeof n2, "%s.top", name);
                REC_TRY(rec_nn_gru_init(&f->top, s->ps, n2, s->dim, s->dim, rng));
            }
            f->width = s->dim;
            break;
        }
        default:
            return rec_err(REC_E_FORMAT, "twotower: bad feature kind %d", f->kind);
        }
        t->in_dim += f->width;
    }
    int64_t dims[REC_NN_MLP_MAX + 1];
    dims[0] = t->in_dim;
    for (int k = 0; k < nsizes; k++)
        dims[k + 1] = sizes[k];
    int user = !strcmp(prefix, "user");
    t->interests = user ? s->interests : 1;
    t->experts = user && !strcmp(rec_model_str(m, "user_tower"), "moe")
                     ? (int)rec_model_int(m, "experts") : 0;
    t->gated = user && rec_model_bool(m, "feature_gate");
    /* the options' params come after the rest, so a model without them
     * draws the same initial values as before they existed */
    if (t->experts) {
        snprintf(name, sizeof name, "%s.moe", prefix);
        REC_TRY(rec_nn_moe_init(&t->moe, s->ps, name, t->experts, nsizes, dims, t->in_dim,
                                REC_NN_ACT_RELU, rng));
    } else {
        snprintf(name, sizeof name, "%s.mlp", prefix);
        REC_TRY(rec_nn_mlp_init(&t->mlp, s->ps, name, nsizes, dims, REC_NN_ACT_RELU, 0.0f, 0,
                                REC_NN_INIT_DEFAULT, rng));
    }
    if (!t->gated)
        return REC_OK;
    int64_t widths[TT_MAX_FEAT];
    for (int k = 0; k < t->nf; k++)
        widths[k] = t->f[k].width;
    snprintf(name, sizeof name, "%s.gate", prefix);
    return rec_nn_feature_gate_init(&t->fgate, s->ps, name, t->nf, widths, t->in_dim + 1, rng);
}

/* ids/offsets tensors of n bags whose codes come from get(b). */
typedef struct bag_in {
    rec_tensor *ids, *off, *w;
} bag_in;

static rec_tensor *finish(rec_graph *g, const tt_tower *t, rec_tensor **cols, int nc)
{
    rec_tensor *x = nc == 1 ? cols[0] : rec_concat(g, nc, cols);
    return rec_l2_normalize(g, rec_nn_mlp_forward(g, &t->mlp, x), 1e-12f);
}

/* The call-time row of query b (NULL for items and most users). */
static const tt_row *row_at(const tt_uq *q, int64_t b)
{
    return q ? q[b].row : NULL;
}

/* NUM: [n, 1]; VEC: [n, vocab], the rows of the entities (zeros when unknown),
 * or of feature k of the queries' call-time rows. */
static rec_tensor *numeric_col(rec_graph *g, const tt_feat *f, const int32_t *ent, int64_t n,
                               int64_t stride, const tt_uq *q, int k)
{
    int64_t w = f->kind == TT_VEC ? f->vocab : 1;
    rec_tensor *c = rec_tensor_2d(g, n, w);
    if (c)
        for (int64_t b = 0; b < n; b++) {
            int32_t e = *(const int32_t *)((const char *)ent + b * stride);
            const tt_row *r = row_at(q, b);
            if (r && r->num[k])
                memcpy(c->v + b * w, r->num[k], (size_t)w * sizeof *c->v);
            else if (!r && e >= 0 && e < f->nent)
                memcpy(c->v + b * w, f->num + (int64_t)e * w, (size_t)w * sizeof *c->v);
            else
                memset(c->v + b * w, 0, (size_t)w * sizeof *c->v);
        }
    return c;
}

static rec_tensor *code_ids(rec_graph *g, const tt_feat *f, const int32_t *ent, int64_t n,
                            int64_t stride, const int32_t *trained, const tt_uq *q, int k,
                            const uint8_t *drop)
{
    rec_tensor *ids = rec_tensor_i32(g, n);
    if (ids)
        for (int64_t b = 0; b < n; b++) {
            int32_t e = *(const int32_t *)((const char *)ent + b * stride);
            const tt_row *r = row_at(q, b);
            if (r) /* described now: no id row of its own */
                ids->iv[b] = f->kind == TT_ID ? -1 : r->code[k];
            else if (drop && drop[b])
                ids->iv[b] = -1;
            else if (f->kind == TT_ID)
                ids->iv[b] = e >= 0 && e < f->vocab && (!trained || trained[e]) ? e : -1;
            else
                ids->iv[b] = e >= 0 && e < f->nent ? f->code[e] : -1;
        }
    return ids;
}

int64_t tt_codes_of(const tt_feat *f, const int32_t *ent, int64_t stride, const tt_uq *q,
                    int k, int64_t b, const int32_t **codes)
{
    int32_t e = *(const int32_t *)((const char *)ent + b * stride);
    const tt_row *r = row_at(q, b);
    *codes = NULL;
    if (r) {
        *codes = r->bag[k];
        return r->nbag[k];
    }
    if (e < 0 || e >= f->nent)
        return 0;
    *codes = f->val + f->ptr[e];
    return f->ptr[e + 1] - f->ptr[e];
}

rec_tensor *tt_bags_forward(rec_graph *g, const tt_feat *f, rec_nn_embedding_bag *eb,
                            const int32_t *ent, int64_t n, int64_t stride, const tt_uq *q, int k)
{
    const int32_t *c;
    int64_t total = 0;
    for (int64_t b = 0; b < n; b++)
        total += tt_codes_of(f, ent, stride, q, k, b, &c);
    rec_tensor *ids = rec_tensor_i32(g, total), *off = rec_tensor_i32(g, n + 1);
    if (!off)
        return NULL;
    int64_t w = 0;
    off->iv[0] = 0;
    for (int64_t b = 0; b < n; b++) {
        int64_t nc = tt_codes_of(f, ent, stride, q, k, b, &c);
        if (nc)
            memcpy(ids->iv + w, c, (size_t)nc * sizeof *ids->iv);
        w += nc;
        off->iv[b + 1] = (int32_t)w;
    }
    return rec_nn_embedding_bag_forward(g, eb, ids, off, NULL);
}

/* Each query's context code of feature k: its call-time row's, else its
 * own (a training row's, or given with a known user), else missing. */
static rec_tensor *context_ids(rec_graph *g, const tt_feat *f, const tt_uq *q, int64_t n,
                               int k)
{
    rec_tensor *ids = rec_tensor_i32(g, n);
    if (ids)
        for (int64_t b = 0; b < n; b++) {
            int32_t c = q[b].row ? q[b].row->code[k] : q[b].ctx ? q[b].ctx[k] : -1;
            ids->iv[b] = c >= 0 && c < f->vocab ? c : -1;
        }
    return ids;
}

/* The _hist multiset of each query: precomputed for known users. */
static rec_tensor *hist_field(rec_graph *g, tt_feat *f, const tt_uq *q, int64_t n)
{
    int64_t total = 0;
    for (int64_t b = 0; b < n; b++) {
        if (q[b].u >= 0 && q[b].u < f->nuser) {
            total += f->uptr[q[b].u + 1] - f->uptr[q[b].u];
        } else {
            for (int64_t h = 0; h < q[b].hlen; h++) {
                int32_t i = q[b].hist[h];
                if (i >= 0 && i < f->nent)
                    total += f->ptr[i + 1] - f->ptr[i];
            }
        }
    }
    rec_tensor *ids = rec_tensor_i32(g, total), *off = rec_tensor_i32(g, n + 1);
    rec_tensor *w = rec_tensor_1d(g, total);
    float *cnt = rec_graph_alloc(g, ((size_t)f->vocab + 1) * sizeof *cnt);
    if (!w || !cnt)
        return NULL;
    memset(cnt, 0, ((size_t)f->vocab + 1) * sizeof *cnt);
    int64_t at = 0;
    off->iv[0] = 0;
    for (int64_t b = 0; b < n; b++) {
        if (q[b].u >= 0 && q[b].u < f->nuser) {
            int64_t k = f->uptr[q[b].u + 1] - f->uptr[q[b].u];
            memcpy(ids->iv + at, f->uval + f->uptr[q[b].u], (size_t)k * sizeof *ids->iv);
            memcpy(w->v + at, f->uw + f->uptr[q[b].u], (size_t)k * sizeof *w->v);
            at += k;
        } else {
            at += multiset(f, q[b].hist, q[b].hlen, cnt, ids->iv + at, w->v + at);
        }
        off->iv[b + 1] = (int32_t)at;
    }
    /* weights already sum to 1 per bag: a weighted sum is the weighted mean */
    ids->shape[0] = ids->n = at;
    w->shape[0] = w->n = at;
    rec_nn_embedding_bag eb = f->bag;
    eb.mode = REC_REDUCE_SUM;
    return rec_nn_embedding_bag_forward(g, &eb, ids, off, w);
}

static int32_t hist_id(const int32_t *trained, int32_t nitems, int32_t i)
{
    return i >= 0 && i < nitems && trained[i] ? i : -1;
}

static rec_tensor *hist_bag(rec_graph *g, const rec_model *m, tt_feat *f, const tt_uq *q,
                            int64_t n)
{
    const twotower *s = m->state;
    int64_t total = 0;
    for (int64_t b = 0; b < n; b++)
        total += q[b].hlen;
    rec_tensor *ids = rec_tensor_i32(g, total), *off = rec_tensor_i32(g, n + 1);
    if (!off)
        return NULL;
    int64_t at = 0;
    off->iv[0] = 0;
    for (int64_t b = 0; b < n; b++) {
        for (int64_t h = 0; h < q[b].hlen; h++)
            ids->iv[at++] = hist_id(s->trained, m->nitems, q[b].hist[h]);
        off->iv[b + 1] = (int32_t)at;
    }
    return rec_nn_embedding_bag_forward(g, &f->bag, ids, off, NULL);
}

/* The embeddings of each query's last hist_len items, left-aligned:
 * [n, hist_len, dim], *len [n] the valid positions (an empty history: one
 * zero input). */
static rec_tensor *last_items(rec_graph *g, const rec_model *m, tt_feat *f, const tt_uq *q,
                              int64_t n, rec_tensor **len)
{
    const twotower *s = m->state;
    int64_t T = s->hist_len;
    rec_tensor *ids = rec_tensor_i32(g, n * T);
    *len = rec_tensor_i32(g, n);
    if (!*len)
        return NULL;
    for (int64_t b = 0; b < n; b++) {
        int64_t take = q[b].hlen < T ? q[b].hlen : T;
        const int32_t *h = q[b].hist + q[b].hlen - take;
        for (int64_t t = 0; t < T; t++)
            ids->iv[b * T + t] = t < take ? hist_id(s->trained, m->nitems, h[t]) : -1;
        (*len)->iv[b] = (int32_t)(take > 0 ? take : 1);
    }
    int64_t shp[3] = { n, T, s->dim };
    return rec_reshape(g, rec_nn_embedding_forward(g, &f->emb, ids), 3, shp);
}

static rec_tensor *hist_gru(rec_graph *g, const rec_model *m, tt_feat *f, const tt_uq *q,
                            int64_t n)
{
    rec_tensor *len, *x = last_items(g, m, f, q, n, &len);
    return x ? rec_nn_gru_encode(g, &f->gru, x, len) : NULL;
}

/* hist_attn: each head's pooling of the last hist_len items, [n * K, dim]
 * (query b's heads in rows b*K ..). */
static rec_tensor *hist_attn(rec_graph *g, const rec_model *m, tt_feat *f, const tt_uq *q,
                             int64_t n)
{
    const twotower *s = m->state;
    rec_tensor *len, *x = last_items(g, m, f, q, n, &len);
    int64_t shp[2] = { n * f->pool.heads, s->dim };
    return x ? rec_reshape(g, rec_nn_attn_pool_forward(g, &f->pool, x, len, NULL), 2, shp)
             : NULL;
}

/* hist_hier: the last hist_len items cut into segments of `segment` items,
 * aligned to the end (the oldest segment may be short, the newest are
 * whole); a GRU reads each segment, its final state is the segment's
 * vector, and a second GRU reads those in time order.  Both GRUs' depth is
 * a segment or the number of segments, not the history's length (HRNN,
 * Quadrana et al., RecSys 2017, runs its session GRU under a user GRU the
 * same way).  Only real segments enter the first GRU; a gather places
 * their states, padding rows zero, in [n, S, dim] for the second. */
static rec_tensor *hist_hier(rec_graph *g, const rec_model *m, tt_feat *f, const tt_uq *q,
                             int64_t n)
{
    const twotower *s = m->state;
    int64_t T = s->hist_len, L = s->segment < T ? s->segment : T, S = (T + L - 1) / L;
    rec_tensor *nseg = rec_tensor_i32(g, n), *place = rec_tensor_i32(g, n * S);
    if (!place)
        return NULL;
    int64_t R = 0;
    for (int64_t b = 0; b < n; b++) {
        int64_t take = q[b].hlen < T ? q[b].hlen : T;
        int64_t ns = take > 0 ? (take + L - 1) / L : 1;
        nseg->iv[b] = (int32_t)ns;
        for (int64_t j = 0; j < S; j++)
            place->iv[b * S + j] = j < ns ? (int32_t)(R + j) : -1;
        R += ns;
    }
    rec_tensor *ids = rec_tensor_i32(g, R * L), *len = rec_tensor_i32(g, R);
    if (!len)
        return NULL;
    int64_t r = 0;
    for (int64_t b = 0; b < n; b++) {
        int64_t take = q[b].hlen < T ? q[b].hlen : T, ns = nseg->iv[b];
        const int32_t *h = q[b].hist + q[b].hlen - take;
        int64_t first = take - (ns - 1) * L; /* items in the oldest segment */
        for (int64_t j = 0; j < ns; j++, r++) {
            int64_t a = j ? first + (j - 1) * L : 0, k = j ? L : first;
            for (int64_t t = 0; t < L; t++)
                ids->iv[r * L + t] = t < k ? hist_id(s->trained, m->nitems, h[a + t]) : -1;
            len->iv[r] = (int32_t)(k > 0 ? k : 1); /* empty history: one zero input */
        }
    }
    int64_t xs[3] = { R, L, s->dim }, ss[3] = { n, S, s->dim };
    rec_tensor *x = rec_reshape(g, rec_nn_embedding_forward(g, &f->emb, ids), 3, xs);
    rec_tensor *h = rec_nn_gru_encode(g, &f->gru, x, len);
    rec_tensor *seg = rec_reshape(g, rec_gather(g, h, place, -1), 3, ss);
    return rec_nn_gru_encode(g, &f->top, seg, nseg);
}

/* The user tower's body over its input x [n, in_dim]: the feature gates,
 * read from x and log(1 + history length) (a user with two films and one
 * with two thousand may want different features to lead), then the MLP or
 * the experts, whose gate reads the same x the experts do. */
static rec_tensor *user_body(rec_graph *g, const tt_tower *t, const tt_uq *q, int64_t n,
                             rec_tensor *x, rec_tensor **balance)
{
    if (t->gated) {
        int64_t K = t->interests, rows = n * K;
        rec_tensor *hl = rec_tensor_2d(g, rows, 1);
        if (!hl)
            return NULL;
        for (int64_t b = 0; b < rows; b++)
            hl->v[b] = (float)log1p((double)q[b / K].hlen);
        rec_tensor *both[2] = { x, hl };
        x = rec_nn_feature_gate_forward(g, &t->fgate, x, rec_concat(g, 2, both), NULL);
    }
    if (!t->experts)
        return rec_nn_mlp_forward(g, &t->mlp, x);
    rec_tensor *p = NULL, *y = rec_nn_moe_forward(g, &t->moe, x, x, &p);
    if (y && balance)
        *balance = rec_nn_moe_balance(g, p);
    return balance && !*balance ? NULL : y;
}

rec_tensor *tt_user_forward(rec_graph *g, const rec_model *m, const tt_uq *q, int64_t n,
                            rec_tensor **balance)
{
    const twotower *s = m->state;
    tt_tower *t = (tt_tower *)&s->ut; /* the layers' forwards take non-const structs */
    rec_tensor *cols[TT_MAX_FEAT];
    for (int k = 0; k < t->nf; k++) {
        tt_feat *f = &t->f[k];
        switch (f->kind) {
        case TT_ID:
        case TT_CAT:
            cols[k] = rec_nn_embedding_forward(
                g, &f->emb, code_ids(g, f, &q->u, n, sizeof *q, NULL, q, k, NULL));
            break;
        case TT_NUM:
        case TT_VEC:
            cols[k] = numeric_col(g, f, &q->u, n, sizeof *q, q, k);
            break;
        case TT_CTX:
            cols[k] = rec_nn_embedding_forward(g, &f->emb, context_ids(g, f, q, n, k));
            break;
        case TT_BAG:
            cols[k] = tt_bags_forward(g, f, &f->bag, &q->u, n, sizeof *q, q, k);
            break;
        case TT_TEXT:
            cols[k] = tt_text_forward(g, f, &q->u, n, sizeof *q, q, k);
            break;
        case TT_HFIELD:
            cols[k] = hist_field(g, f, q, n);
            break;
        case TT_HBAG:
            cols[k] = hist_bag(g, m, f, q, n);
            break;
        case TT_HATTN:
            cols[k] = hist_attn(g, m, f, q, n);
            break;
        case TT_HHIER:
            cols[k] = hist_hier(g, m, f, q, n);
            break;
        default:
            cols[k] = hist_gru(g, m, f, q, n);
            break;
        }
        if (!cols[k])
            return NULL;
    }
    if (t->interests > 1) {
        /* every other column is the user's in each of its K rows */
        int64_t K = t->interests;
        rec_tensor *rep = rec_tensor_i32(g, n * K);
        if (!rep)
            return NULL;
        for (int64_t r = 0; r < n * K; r++)
            rep->iv[r] = (int32_t)(r / K);
        for (int k = 0; k < t->nf; k++)
            if (t->f[k].kind != TT_HATTN && !(cols[k] = rec_gather(g, cols[k], rep, -1)))
                return NULL;
    }
    if (balance)
        *balance = NULL;
    if (!t->gated && !t->experts)
        return finish(g, t, cols, t->nf);
    rec_tensor *x = t->nf == 1 ? cols[0] : rec_concat(g, t->nf, cols);
    return rec_l2_normalize(g, user_body(g, t, q, n, x, balance), 1e-12f);
}

rec_status tt_check_interests(const rec_model *m, const tt_tower *ut, const char *fn)
{
    int64_t K = rec_model_int(m, "interests");
    if (K == 1)
        return REC_OK;
    int attn = 0;
    for (int k = 0; k < ut->nf; k++)
        attn += ut->f[k].kind == TT_HATTN;
    if (!attn)
        return rec_err(REC_E_INVALID, "%s: interests=%lld needs hist_attn in user_features "
                       "(its heads give each interest its own vector)", fn, (long long)K);
    if (!strcmp(rec_model_str(m, "index"), "hnsw"))
        return rec_err(REC_E_UNSUPPORTED, "%s: interests=%lld gives %lld vectors per user; "
                       "index=hnsw serves one (use index=exact)", fn, (long long)K,
                       (long long)K);
    return REC_OK;
}

rec_tensor *tt_item_forward(rec_graph *g, const rec_model *m, const int32_t *items, int64_t n,
                            const uint8_t *drop)
{
    const twotower *s = m->state;
    tt_tower *t = (tt_tower *)&s->it;
    rec_tensor *cols[TT_MAX_FEAT];
    for (int k = 0; k < t->nf; k++) {
        tt_feat *f = &t->f[k];
        if (f->kind == TT_ID || f->kind == TT_CAT)
            cols[k] = rec_nn_embedding_forward(
                g, &f->emb, code_ids(g, f, items, n, sizeof *items, s->trained, NULL, k,
                                     f->kind == TT_ID ? drop : NULL));
        else if (f->kind == TT_NUM || f->kind == TT_VEC)
            cols[k] = numeric_col(g, f, items, n, sizeof *items, NULL, k);
        else if (f->kind == TT_TEXT)
            cols[k] = tt_text_forward(g, f, items, n, sizeof *items, NULL, k);
        else
            cols[k] = tt_bags_forward(g, f, &f->bag, items, n, sizeof *items, NULL, k);
        if (!cols[k])
            return NULL;
    }
    return finish(g, t, cols, t->nf);
}
