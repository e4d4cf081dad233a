/* The dnn kind's parameters and forward pass (see dnn-impl.h for the
 * network).  Tables are REC_T_SPARSE so a step's Adam update touches only
 * the rows its batch looked up. */
#include "dnn-impl.h"

#include <stdio.h>
#include <string.h>

static const char *const side_name[2] = { "user", "item" };

static rec_status add_param(rec_pstore *ps, const char *name, int64_t rows, int64_t cols,
                            unsigned flags, rec_tensor **out)
{
    int64_t shape[2] = { rows, cols };
    *out = rec_pstore_add(ps, name, 2, shape, flags);
    return *out ? REC_OK : REC_E_NOMEM;
}

rec_status rec_dnn_build(rec_dnn *s, float dropout, float init_std, rec_rng *rng)
{
    REC_TRY(rec_pstore_create(&s->ps));
    int linear = s->wide || s->fm, nf = 0;
    char name[64];
    for (int side = 0; side < 2; side++) {
        rec_dnn_side *sd = &s->side[side];
        for (int k = 0; k < sd->n; k++) {
            rec_dnn_slot *sl = &sd->s[k];
            unsigned fl = sl->type == REC_DNN_NUM || sl->type == REC_DNN_VEC ? 0 : REC_T_SPARSE;
            if (sl->deep) {
                snprintf(name, sizeof name, "%s.%d.emb", side_name[side], k);
                REC_TRY(add_param(s->ps, name, sl->card, s->dim, fl, &sl->emb));
                rec_init_normal(sl->emb, rng, 0, init_std);
                nf++;
            }
            /* wide-only slots exist for the wide part */
            if (linear && (sl->deep || s->wide)) {
                snprintf(name, sizeof name, "%s.%d.lin", side_name[side], k);
                REC_TRY(add_param(s->ps, name, sl->card, 1, fl, &sl->lin));
            }
        }
    }
    if (s->history) {
        rec_nn_embedding_opts eo = rec_nn_embedding_defaults();
        eo.sparse = 1;
        eo.init = REC_NN_INIT_NORMAL;
        eo.std = init_std;
        REC_TRY(rec_nn_embedding_bag_init(&s->hbag, s->ps, "hist", s->hrows, s->dim,
                                          REC_REDUCE_MEAN, &eo, rng));
        nf++;
    }
    for (int c = 0; c < s->ncross; c++) {
        snprintf(name, sizeof name, "cross.%d", c);
        REC_TRY(add_param(s->ps, name, s->cross[c].buckets, 1, REC_T_SPARSE, &s->cross[c].w));
    }
    int64_t dims[REC_NN_MLP_MAX + 1];
    dims[0] = (int64_t)nf * s->dim;
    for (int i = 0; i < s->nhidden; i++)
        dims[i + 1] = s->hidden[i];
    dims[s->nhidden + 1] = 1;
    return rec_nn_mlp_init(&s->mlp, s->ps, "deep", s->nhidden + 1, dims, REC_NN_ACT_RELU,
                           dropout, 0, REC_NN_INIT_DEFAULT, rng);
}

/* ids [tot] and offsets [n + 1] of n bags holding tot ids in all: a bag of
 * one -1 (padding) when every bag is empty, as the op wants at least one
 * id; bags_done fixes the offsets for that case once they are filled. */
static int bags_alloc(rec_graph *g, int64_t tot, int64_t n, rec_tensor **ids,
                      rec_tensor **off)
{
    *ids = rec_tensor_i32(g, tot ? tot : 1);
    *off = rec_tensor_i32(g, n + 1);
    if (!*ids || !*off)
        return 0;
    (*off)->iv[0] = 0;
    return 1;
}

static void bags_done(rec_tensor *ids, rec_tensor *off, int64_t tot, int64_t n)
{
    if (tot)
        return;
    ids->iv[0] = -1;
    for (int64_t k = 0; k < n; k++)
        off->iv[k + 1] = 1;
}

/* Entity e's values of multi-hot slot k (e -1: the call-time user's). */
static int64_t bag_at(const rec_dnn_slot *sl, int k, const rec_dnn_user *anon, int32_t e,
                      const int32_t **v)
{
    if (e < 0) {
        *v = anon ? anon->bag[k] : NULL;
        return anon ? anon->nbag[k] : 0;
    }
    *v = sl->vals + sl->ptr[e];
    return sl->ptr[e + 1] - sl->ptr[e];
}

/* Bags of slot k for entities ent[n]: ids and offsets [n + 1]. */
static void bags_of(rec_graph *g, const rec_dnn_slot *sl, int k0, const rec_dnn_user *anon,
                    const int32_t *ent, int64_t n, rec_tensor **ids, rec_tensor **off)
{
    int64_t tot = 0;
    const int32_t *v;
    for (int64_t k = 0; k < n; k++)
        tot += bag_at(sl, k0, anon, ent[k], &v);
    if (!bags_alloc(g, tot, n, ids, off)) {
        *ids = NULL;
        return;
    }
    int64_t at = 0;
    for (int64_t k = 0; k < n; k++) {
        int64_t c = bag_at(sl, k0, anon, ent[k], &v);
        for (int64_t j = 0; j < c; j++)
            (*ids)->iv[at++] = v[j];
        (*off)->iv[k + 1] = (int32_t)at;
    }
    bags_done(*ids, *off, tot, n);
}

/* table looked up for slot sl of entities ent[n]: -> [n, cols]. */
static rec_tensor *lookup(rec_graph *g, const rec_dnn_slot *sl, rec_tensor *table,
                          rec_tensor *ent, rec_tensor *idx, rec_tensor *ids, rec_tensor *off,
                          rec_tensor *x)
{
    switch (sl->type) {
    case REC_DNN_ID: return rec_gather(g, table, idx ? idx : ent, -1);
    case REC_DNN_CAT:
    case REC_DNN_CTX: return rec_gather(g, table, idx, -1);
    case REC_DNN_MH: return rec_embedding_bag(g, table, ids, off, NULL, REC_REDUCE_MEAN);
    default: return rec_matmul(g, x, table, 0, 0); /* [n, card] x [card, cols] */
    }
}

/* Pair k's code of context slot sl: -1 when missing or unknown. */
static int32_t ctx_code(const rec_dnn *s, const rec_dnn_slot *sl, const int32_t *ctx, int64_t k)
{
    int32_t c = ctx ? ctx[k * s->nctx + sl->ctx] : -1;
    return c >= 0 && c < sl->card ? c : -1;
}

/* The crossed values of entities (a, b) of cross c: bucket of
 * (value of user slot) x (value of item slot) for every pair; a context
 * slot's value is the pair's, code. */
static int values_of(const rec_dnn_slot *sl, int k, const rec_dnn_user *anon, int32_t e,
                     int32_t code, const int32_t **v, int32_t *one)
{
    if (sl->type == REC_DNN_CTX) {
        *one = code;
        *v = one;
        return code >= 0;
    }
    if (sl->type == REC_DNN_ID) { /* a call-time user or an added item: no id row */
        *one = e;
        *v = one;
        return e >= 0 && e < sl->card;
    }
    if (sl->type == REC_DNN_CAT) {
        *one = e >= 0 ? sl->codes[e] : anon ? anon->code[k] : -1;
        *v = one;
        return *one >= 0;
    }
    return (int)bag_at(sl, k, anon, e, v);
}

/* A pair's row when the product of the vocabularies is too large for one
 * row each: hashed, with the cross's index as salt. */
static int32_t hashed(const rec_dnn_cross *c, int64_t pair, int ci)
{
    uint64_t key[2] = { (uint64_t)pair, (uint64_t)ci };
    return (int32_t)(rec_hash_bytes(key, sizeof key, 0x9e3779b97f4a7c15ull) %
                     (uint64_t)c->buckets);
}

static rec_tensor *cross_term(rec_graph *g, const rec_dnn *s, int ci, const int32_t *u,
                              const int32_t *it, const int32_t *ctx, const rec_dnn_user *an,
                              int64_t n)
{
    const rec_dnn_cross *c = &s->cross[ci];
    const rec_dnn_slot *su = &s->side[0].s[c->us], *si = &s->side[1].s[c->is];
    int64_t prod = (int64_t)su->card * si->card, tot = 0;
    int exact = c->buckets == prod;
    const int32_t *va, *vb;
    int32_t oa, ob;
    for (int64_t k = 0; k < n; k++)
        tot += (int64_t)values_of(su, c->us, an, u[k], ctx_code(s, su, ctx, k), &va, &oa) *
               values_of(si, c->is, NULL, it[k], -1, &vb, &ob);
    rec_tensor *ids, *off;
    if (!bags_alloc(g, tot, n, &ids, &off))
        return NULL;
    int64_t at = 0;
    for (int64_t k = 0; k < n; k++) {
        int na = values_of(su, c->us, an, u[k], ctx_code(s, su, ctx, k), &va, &oa),
            nb = values_of(si, c->is, NULL, it[k], -1, &vb, &ob);
        for (int x = 0; x < na; x++)
            for (int y = 0; y < nb; y++)
            {
                int64_t pair = (int64_t)va[x] * si->card + vb[y];
                ids->iv[at++] = exact ? (int32_t)pair : hashed(c, pair, ci);
            }
        off->iv[k + 1] = (int32_t)at;
    }
    bags_done(ids, off, tot, n);
    return rec_embedding_bag(g, c->w, ids, off, NULL, REC_REDUCE_MEAN);
}

rec_tensor *rec_dnn_fm(rec_graph *g, int nf, rec_tensor *const *e)
{
    if (nf < 1)
        return rec_graph_fail(g, REC_E_INVALID, "rec_dnn_fm: no field vectors");
    rec_tensor *sum = e[0], *sq = rec_mul(g, e[0], e[0]);
    for (int f = 1; f < nf; f++) {
        sum = rec_add(g, sum, e[f]);
        sq = rec_add(g, sq, rec_mul(g, e[f], e[f]));
    }
    return rec_scale(g, rec_sum_rows(g, rec_sub(g, rec_mul(g, sum, sum), sq)), 0.5f);
}

rec_tensor *rec_dnn_history(rec_graph *g, const rec_dnn *s, const int32_t *const *hist,
                            const int64_t *hlen, const int32_t *skip, int64_t nb)
{
    int64_t tot = 0;
    for (int64_t b = 0; b < nb; b++)
        tot += hlen[b];
    rec_tensor *ids, *off;
    if (!bags_alloc(g, tot, nb, &ids, &off))
        return NULL;
    int64_t at = 0;
    for (int64_t b = 0; b < nb; b++) {
        int32_t sk = skip ? skip[b] : -1;
        for (int64_t h = 0; h < hlen[b]; h++) {
            int32_t i = hist[b][h];
            ids->iv[at++] = i >= 0 && i < s->hrows && i != sk ? i : -1;
        }
        off->iv[b + 1] = (int32_t)at;
    }
    bags_done(ids, off, tot, nb);
    rec_nn_embedding_bag eb = s->hbag; /* the forward takes it mutable; it is not written */
    return rec_nn_embedding_bag_forward(g, &eb, ids, off, NULL);
}

/* The number of entity e of slot sl (e -1: the call-time user's, k its
 * slot); 0 when missing. */
static const float *num_at(const rec_dnn_slot *sl, int k, const rec_dnn_user *anon, int32_t e)
{
    static const float zero[1];
    if (e >= 0)
        return sl->num + (size_t)e * (size_t)(sl->type == REC_DNN_VEC ? sl->card : 1);
    return anon && anon->num[k] ? anon->num[k] : zero;
}

rec_tensor *rec_dnn_forward(rec_graph *g, const rec_dnn *s, const rec_dnn_in *in)
{
    if (rec_graph_status(g))
        return NULL;
    rec_tensor *users = in->users, *items = in->items;
    const int32_t *ctx = in->ctx;
    const rec_dnn_user *anon = in->anon;
    int64_t n = users->n;
    int nf = 0;
    for (int side = 0; side < 2; side++)
        for (int k = 0; k < s->side[side].n; k++)
            nf += s->side[side].s[k].deep;
    if (s->history && !in->hist)
        return rec_graph_fail(g, REC_E_INVALID, "rec_dnn_forward: history = mean but no "
                              "history vectors");
    nf += s->history != 0;
    rec_tensor **fields = rec_graph_alloc(g, (size_t)(nf ? nf : 1) * sizeof *fields);
    if (!fields)
        return NULL;
    rec_tensor *lin = NULL;
    int f = 0;
    for (int side = 0; side < 2; side++) {
        const rec_dnn_side *sd = &s->side[side];
        rec_tensor *ent = side ? items : users;
        const rec_dnn_user *an = side ? NULL : anon;
        for (int k = 0; k < sd->n; k++) {
            const rec_dnn_slot *sl = &sd->s[k];
            if (!sl->emb && !sl->lin)
                continue;
            rec_tensor *idx = NULL, *ids = NULL, *off = NULL, *x = NULL;
            if (sl->type == REC_DNN_ID && sl->card < sd->rows) {
                /* items added after the fit have no id row: the missing one */
                if (!(idx = rec_tensor_i32(g, n)))
                    return NULL;
                for (int64_t r = 0; r < n; r++)
                    idx->iv[r] = ent->iv[r] < sl->card ? ent->iv[r] : -1;
            } else if (sl->type == REC_DNN_CAT) {
                if (!(idx = rec_tensor_i32(g, n)))
                    return NULL;
                for (int64_t r = 0; r < n; r++) {
                    int32_t e = ent->iv[r];
                    idx->iv[r] = e >= 0 ? sl->codes[e] : an ? an->code[k] : -1;
                }
            } else if (sl->type == REC_DNN_CTX) {
                if (!(idx = rec_tensor_i32(g, n)))
                    return NULL;
                for (int64_t r = 0; r < n; r++)
                    idx->iv[r] = ctx_code(s, sl, ctx, r);
            } else if (sl->type == REC_DNN_MH) {
                bags_of(g, sl, k, an, ent->iv, n, &ids, &off);
                if (!ids || !off)
                    return NULL;
            } else if (sl->type == REC_DNN_NUM || sl->type == REC_DNN_VEC) {
                size_t w = sl->type == REC_DNN_VEC ? (size_t)sl->card : 1;
                if (!(x = rec_tensor_2d(g, n, (int64_t)w)))
                    return NULL;
                for (int64_t r = 0; r < n; r++)
                    memcpy(x->v + (size_t)r * w, num_at(sl, k, an, ent->iv[r]),
                           w * sizeof *x->v);
            }
            if (sl->emb)
                fields[f++] = lookup(g, sl, sl->emb, ent, idx, ids, off, x);
            if (sl->lin) {
                rec_tensor *t = lookup(g, sl, sl->lin, ent, idx, ids, off, x);
                lin = lin ? rec_add(g, lin, t) : t;
            }
        }
    }
    if (s->history)
        fields[f++] = in->hist;
    for (int c = 0; c < s->ncross; c++) {
        rec_tensor *t = cross_term(g, s, c, users->iv, items->iv, ctx, anon, n);
        lin = lin ? rec_add(g, lin, t) : t;
    }
    int64_t flat[1] = { n };
    rec_tensor *out = rec_nn_mlp_forward(g, &s->mlp, nf ? rec_concat(g, nf, fields) : NULL);
    out = rec_reshape(g, out, 1, flat);
    if (lin)
        out = rec_add(g, out, rec_reshape(g, lin, 1, flat));
    if (s->fm && nf)
        out = rec_add(g, out, rec_dnn_fm(g, nf, fields));
    return out;
}
