/* "gat": Graph Attention Networks (Velickovic et al., ICLR 2018) on the
 * user-item graph, inductive on both sides.
 *
 *   X_0[i]  = E_0[i] + F[i], E_0[i] a learned vector per item with training
 *             edges (zero for an item without, when F is read) and F[i] the
 *             mean of the feature embeddings of the item's codes in every
 *             categorical and multi-hot item field of the dataset (one table
 *             over all fields, gnn's; zero when the dataset has none, or
 *             with features=false: then X_0[i] = E_0[i] for every item, the
 *             model of before item features)
 *   X_0[u]  = mean of X_0 over u's items: users have no vector of their own,
 *             so a user is whatever their items say (a new user too)
 *   X_{k+1} = GAT_k(X_k) over each node's neighbours and itself
 *             (rec_nn_gat_forward: heads concatenated, dim / heads wide
 *             each, or averaged, dim wide; attention dropout)
 *   E       = (X_0 + X_1 + ... + X_L) / (L + 1)   (LightGCN's readout: no
 *             activation between layers, the attention is the non-linearity)
 * score(u, i) = E[u] . E[users + i].
 *
 * Training, scoring of known users, similar items and U/V storage are
 * graphmf's (graphmf-impl.h); the layer's weights and each layer's item
 * inputs X_k[items] are kept beside them, so that:
 *   - a new user with history H (rec_model_recommend_history) is run through
 *     the same layers on the graph {user} + H, which for a training user's
 *     own items gives exactly their training vector (the items are not
 *     re-propagated: the new edges would move them by O(1 / degree));
 *   - explain(u, i) gives u's items with the highest last-layer attention
 *     (averaged over heads): what the user's vector attended to;
 *   - an item added from its features (rec_model_add_items) is a node with
 *     no edges: X_0 = the mean of its feature embeddings, and each layer's
 *     attention is over itself alone (weight 1), so its vector is the
 *     layers applied to that input, what the readout gives an item of the
 *     training catalogue with those features and no interactions.  Its rows
 *     join the kept X_k, so histories holding it fold in through it; no
 *     edge is added, nothing else moves.
 * The item fields and their table are kept as gnn's (rec_gnn_fields) and
 * stored as "gat.features", "gat.features.vocab" and "gat.schema.item"; a
 * file without them (from before) loads as before and adds no items. */
#include "graphmf-impl.h"
#include "gnn-impl.h"
#include "retrieval/index-impl.h"
#include "nn/nn-impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GAT_MAX_LAYERS 4

static const rec_param_spec spec[] = {
    { "layers", REC_PARAM_INT, "2", 0, GAT_MAX_LAYERS, NULL,
      "attention layers (0 = items' vectors, users their mean)" },
    { "heads", REC_PARAM_INT, "2", 1, REC_NN_GAT_MAX_HEADS, NULL,
      "attention heads per layer (dim must divide by heads when concatenated)" },
    { "concat", REC_PARAM_BOOL, "true", 0, 1, NULL,
      "concatenate the heads (dim / heads each) or average them (dim each)" },
    { "att_dropout", REC_PARAM_FLOAT, "0.1", 0, 0.99, NULL,
      "dropout on the attention weights while training" },
    { "features", REC_PARAM_BOOL, "true", 0, 1, NULL,
      "the dataset's categorical and multi-hot item fields in the items' inputs (an item "
      "without training edges is then its features alone)" },
    REC_GRAPHMF_KEYS,
};
#define NSPEC (sizeof spec / sizeof *spec)

/* What the model keeps beyond U and V (graphmf's kind pointer). */
typedef struct gat_kept {
    int layers;
    int64_t dim, heads, out;                /* out: per-head width */
    float *w[GAT_MAX_LAYERS];               /* [heads out, dim] */
    float *ad[GAT_MAX_LAYERS], *as[GAT_MAX_LAYERS]; /* [heads, out] */
    float *x[GAT_MAX_LAYERS];               /* [nitems, dim]: layer k's item inputs */
    rec_gnn_fields fx;                      /* the item fields read (item side only) */
} gat_kept;

static int64_t per_head(int64_t dim, int64_t heads, int concat)
{
    return concat ? dim / heads : dim;
}

static void kept_free(gat_kept *k, int32_t nitems)
{
    if (!k)
        return;
    size_t ws = (size_t)(k->heads * k->out * k->dim), as = (size_t)(k->heads * k->out);
    for (int l = 0; l < GAT_MAX_LAYERS; l++) {
        rec_free(k->w[l], ws * sizeof(float));
        rec_free(k->ad[l], as * sizeof(float));
        rec_free(k->as[l], as * sizeof(float));
        rec_free(k->x[l], (size_t)nitems * (size_t)k->dim * sizeof(float));
    }
    rec_gnn_fields_free(&k->fx);
    rec_free(k, sizeof *k);
}

static rec_status kept_alloc(rec_model *m, gat_kept **out, const char *fn)
{
    int64_t dim = rec_model_int(m, "dim"), heads = rec_model_int(m, "heads");
    gat_kept *k = rec_calloc(1, sizeof *k);
    if (!k)
        return rec_nomem(fn);
    *k = (gat_kept){ .layers = (int)rec_model_int(m, "layers"), .dim = dim, .heads = heads,
                     .out = per_head(dim, heads, rec_model_bool(m, "concat")) };
    size_t ws = (size_t)(k->heads * k->out * dim), as = (size_t)(k->heads * k->out);
    int ok = 1;
    for (int l = 0; l < k->layers && ok; l++) {
        k->w[l] = rec_malloc(ws * sizeof(float));
        k->ad[l] = rec_malloc(as * sizeof(float));
        k->as[l] = rec_malloc(as * sizeof(float));
        k->x[l] = rec_malloc((size_t)m->nitems * (size_t)dim * sizeof(float));
        ok = k->w[l] && k->ad[l] && k->as[l] && k->x[l];
    }
    if (!ok) {
        kept_free(k, m->nitems);
        return rec_nomem(fn);
    }
    *out = k;
    return REC_OK;
}

static void gat_free(rec_model *m)
{
    rec_graphmf *s = m->state;
    if (s)
        kept_free(s->kind, m->nitems);
    rec_graphmf_free(m);
}

/* ---- the layer graphmf trains ---------------------------------------------- */

typedef struct gat_ctx {
    rec_nn_gat net[GAT_MAX_LAYERS];
    int layers, concat;
    int64_t dim, heads;
    float dropout;
    int32_t nusers;
    rec_csr nbr, mean;          /* built from the adjacency on first use */
    int built;
    rec_tensor *x[GAT_MAX_LAYERS]; /* the last propagation's layer inputs */
    /* item features (codes.vocab 0: none read, X_0 = E_0) */
    const rec_dataset *d;
    float init_std;
    rec_gnn_codes codes;
    int32_t *off;               /* [N + 1] codes.ptr for the embedding bag */
    int32_t *idrow;             /* [N] E_0 row of each node, -1: an item without edges */
    rec_tensor *feat;           /* [vocab, dim] */
} gat_ctx;

static void csr_free(rec_csr *a)
{
    size_t nz = (size_t)(a->nnz ? a->nnz : 1);
    rec_free((void *)a->indptr, (size_t)(a->rows + 1) * sizeof *a->indptr);
    rec_free((void *)a->indices, nz * sizeof *a->indices);
    rec_free((void *)a->vals, nz * sizeof *a->vals);
}

static rec_status csr_alloc(rec_csr *a, int64_t rows, int64_t nnz)
{
    size_t nz = (size_t)(nnz ? nnz : 1);
    *a = (rec_csr){ rows, rows, nnz, rec_malloc((size_t)(rows + 1) * sizeof(int64_t)),
                    rec_malloc(nz * sizeof(int32_t)), rec_malloc(nz * sizeof(float)), NULL };
    return a->indptr && a->indices && a->vals ? REC_OK : REC_E_NOMEM;
}

/* From the adjacency's pattern: nbr = A + I (columns ascending), and mean,
 * whose user rows average the user's items and item rows copy the item. */
static rec_status build(gat_ctx *c, const rec_csr *adj)
{
    int64_t n = adj->rows, nu = c->nusers;
    int64_t nmean = adj->indptr[nu] + (n - nu);
    if (csr_alloc(&c->nbr, n, adj->nnz + n) || csr_alloc(&c->mean, n, nmean))
        return REC_E_NOMEM;
    int64_t *np = (int64_t *)c->nbr.indptr, *mp = (int64_t *)c->mean.indptr;
    int32_t *ni = (int32_t *)c->nbr.indices, *mi = (int32_t *)c->mean.indices;
    float *nv = (float *)c->nbr.vals, *mv = (float *)c->mean.vals;
    int64_t k = 0, q = 0;
    np[0] = mp[0] = 0;
    for (int64_t a = 0; a < n; a++) {
        int self = 0;
        int64_t b = adj->indptr[a], e = adj->indptr[a + 1];
        for (int64_t p = b; p < e; p++) {
            if (!self && adj->indices[p] > a)
                ni[k] = (int32_t)a, nv[k++] = 1, self = 1;
            ni[k] = adj->indices[p], nv[k++] = 1;
            if (a < nu)
                mi[q] = adj->indices[p], mv[q++] = 1.0f / (float)(e - b);
        }
        if (!self)
            ni[k] = (int32_t)a, nv[k++] = 1;
        if (a >= nu)
            mi[q] = (int32_t)a, mv[q++] = 1;
        np[a + 1] = k;
        mp[a + 1] = q;
        if (c->idrow)
            c->idrow[a] = a >= nu && b == e ? -1 : (int32_t)a;
    }
    c->built = 1;
    return REC_OK;
}

static rec_status init(void *ctx, rec_pstore *ps, rec_rng *rng)
{
    gat_ctx *c = ctx;
    int64_t out = per_head(c->dim, c->heads, c->concat);
    for (int l = 0; l < c->layers; l++) {
        char name[32];
        snprintf(name, sizeof name, "gat.%d", l);
        REC_TRY(rec_nn_gat_init(&c->net[l], ps, name, c->dim, out, c->heads, c->concat,
                                c->dropout, rng));
    }
    if (c->codes.vocab) {
        int64_t fs[2] = { c->codes.vocab, c->dim };
        if (!(c->feat = rec_pstore_add(ps, "feat", 2, fs, 0)))
            return REC_E_NOMEM;
        rec_init_normal(c->feat, rng, 0, c->init_std);
    }
    return REC_OK;
}

/* X_0's item rows before the users' means: E_0 (no row for an item without
 * edges) plus the mean of the item's feature embeddings. */
static rec_tensor *item_inputs(gat_ctx *c, rec_graph *g, rec_tensor *e0)
{
    int64_t n = c->codes.nodes;
    rec_tensor *idx = rec_tensor_wrap_i32(g, c->idrow, n);
    rec_tensor *codes = rec_tensor_wrap_i32(g, c->codes.val, c->codes.nval);
    rec_tensor *off = rec_tensor_wrap_i32(g, c->off, n + 1);
    return rec_add(g, rec_gather(g, e0, idx, -1),
                   rec_embedding_bag(g, c->feat, codes, off, NULL, REC_REDUCE_MEAN));
}

static rec_tensor *propagate(void *ctx, rec_graph *g, rec_csr *adj, rec_tensor *e0)
{
    gat_ctx *c = ctx;
    if (!c->built && build(c, adj))
        return rec_graph_fail(g, REC_E_NOMEM, "rec_model_fit(gat): out of memory");
    rec_tensor *x = rec_spmm(g, &c->mean, c->feat ? item_inputs(c, g, e0) : e0), *acc = x;
    for (int l = 0; l < c->layers; l++) {
        c->x[l] = x;
        x = rec_nn_gat_forward(g, &c->net[l], &c->nbr, x, NULL);
        acc = rec_add(g, acc, x);
    }
    return c->layers ? rec_scale(g, acc, 1.0f / (float)(c->layers + 1)) : acc;
}

static rec_status keep(void *ctx, rec_model *m)
{
    gat_ctx *c = ctx;
    /* Called after every validation of a fit (graphmf's readout), then at
     * the end: the first call allocates, the later ones overwrite. */
    gat_kept *k = ((rec_graphmf *)m->state)->kind;
    if (!k) {
        REC_TRY(kept_alloc(m, &k, "rec_model_fit(gat)"));
        ((rec_graphmf *)m->state)->kind = k;
    }
    size_t ws = (size_t)(k->heads * k->out * k->dim), as = (size_t)(k->heads * k->out);
    for (int l = 0; l < k->layers; l++) {
        memcpy(k->w[l], c->net[l].weight->v, ws * sizeof(float));
        memcpy(k->ad[l], c->net[l].att_dst->v, as * sizeof(float));
        memcpy(k->as[l], c->net[l].att_src->v, as * sizeof(float));
        memcpy(k->x[l], c->x[l]->v + (size_t)c->nusers * k->dim,
               (size_t)m->nitems * (size_t)k->dim * sizeof(float));
    }
    return rec_gnn_fields_build(&k->fx, c->d, 0, (int)k->dim, c->feat ? c->feat->v : NULL,
                                c->feat ? c->codes.vocab : 0, "rec_model_fit(gat)");
}

/* The item codes of d (none with features=false or without item fields)
 * in the forms item_inputs wraps. */
static rec_status take_codes(gat_ctx *c, const rec_model *m, const rec_dataset *d,
                             const char *fn)
{
    if (!rec_model_bool(m, "features"))
        return REC_OK;
    REC_TRY(rec_gnn_codes_take(m, d, 0, &c->codes, fn));
    if (c->codes.nval == 0 || c->codes.nval >= INT32_MAX) {
        /* no item has a code: nothing to read (or too many for the bag) */
        rec_gnn_codes_free(&c->codes);
        c->codes = (rec_gnn_codes){ 0 };
        return REC_OK;
    }
    int64_t n = c->codes.nodes;
    c->off = rec_malloc((size_t)(n + 1) * sizeof *c->off);
    c->idrow = rec_malloc((size_t)n * sizeof *c->idrow);
    if (!c->off || !c->idrow)
        return rec_nomem(fn);
    for (int64_t v = 0; v <= n; v++)
        c->off[v] = (int32_t)c->codes.ptr[v];
    return REC_OK;
}

static rec_status gat_fit(rec_model *m, const rec_dataset *d, rec_progress_fn cb, void *user)
{
    static const char fn[] = "rec_model_fit(gat)";
    gat_ctx c = { .layers = (int)rec_model_int(m, "layers"), .dim = rec_model_int(m, "dim"),
                  .heads = rec_model_int(m, "heads"), .concat = rec_model_bool(m, "concat"),
                  .dropout = (float)rec_model_flt(m, "att_dropout"), .nusers = m->nusers,
                  .d = d, .init_std = (float)rec_model_flt(m, "init_std") };
    if (c.concat && c.dim % c.heads)
        return rec_err(REC_E_INVALID, "%s: dim = %lld does not divide into %lld concatenated "
                       "heads", fn, (long long)c.dim, (long long)c.heads);
    rec_graphmf_layer l = { .width = (int)c.dim, .stochastic = c.dropout > 0 && c.layers > 0,
                            .init = init, .propagate = propagate, .keep = keep, .ctx = &c };
    rec_status st = take_codes(&c, m, d, fn);
    if (!st)
        st = rec_graphmf_fit(m, d, &l, cb, user, fn);
    rec_csr_free_transpose(&c.mean);
    csr_free(&c.nbr);
    csr_free(&c.mean);
    int64_t n = c.codes.nodes;
    rec_free(c.off, (size_t)(n + 1) * sizeof *c.off);
    rec_free(c.idrow, (size_t)n * sizeof *c.idrow);
    rec_gnn_codes_free(&c.codes);
    return st;
}

/* ---- a user from their items, through the kept layers ------------------------ */

/* Layer l of the kept weights on g, without dropout. */
static rec_nn_gat kept_layer(rec_graph *g, const gat_kept *k, int l)
{
    int64_t ws[2] = { k->heads * k->out, k->dim }, as[2] = { k->heads, k->out };
    return (rec_nn_gat){ rec_tensor_wrap(g, k->w[l], 2, ws), rec_tensor_wrap(g, k->ad[l], 2, as),
                         rec_tensor_wrap(g, k->as[l], 2, as), k->dim, k->out, k->heads,
                         k->heads * k->out == k->dim && k->heads > 1, 0.0f };
}

/* The user vector [dim] of distinct items h[0..n) (ascending, n >= 1) into
 * uv; att (NULL or [n]) gets the last layer's attention on each item,
 * averaged over heads.  The graph is {user} + h: the user attends to itself
 * and its items, each item to itself (its row is not used).  *g is created
 * here and destroyed by the caller. */
static rec_status fold_in(const rec_model *m, const int32_t *h, int64_t n, float *uv,
                          float *att, rec_graph **gp)
{
    const gat_kept *k = ((const rec_graphmf *)m->state)->kind;
    int64_t dim = k->dim, nn = n + 1;
    REC_TRY(rec_graph_create(gp));
    rec_graph *g = *gp;
    rec_graph_set_grad(g, 0);
    int64_t *ptr = rec_graph_alloc(g, (size_t)(nn + 1) * sizeof *ptr);
    int32_t *idx = rec_graph_alloc(g, (size_t)(2 * n + 1) * sizeof *idx);
    int64_t xs[2] = { nn, dim };
    rec_tensor *x = rec_tensor_zeros(g, REC_F32, 2, xs), *acc = rec_tensor_zeros(g, REC_F32, 1,
                                                                               &dim);
    if (!ptr || !idx || !x || !acc)
        return rec_graph_status(g) ? rec_graph_status(g) : REC_E_NOMEM;
    ptr[0] = 0;
    for (int64_t j = 0; j <= n; j++)
        idx[j] = (int32_t)j;
    ptr[1] = nn;
    for (int64_t j = 1; j <= n; j++) {
        idx[n + j] = (int32_t)j;
        ptr[j + 1] = n + 1 + j;
    }
    rec_csr nbr = { nn, nn, 2 * n + 1, ptr, idx, NULL, NULL };
    for (int l = 0; l <= k->layers; l++) {
        /* row 0: the user's X_l; rows 1..n: the items' X_l */
        if (l < k->layers)
            for (int64_t j = 0; j < n; j++)
                memcpy(x->v + (j + 1) * dim, k->x[l] + (size_t)h[j] * dim,
                       (size_t)dim * sizeof *x->v);
        if (l == 0) {
            for (int64_t j = 0; j < n; j++)
                for (int64_t c = 0; c < dim; c++)
                    x->v[c] += x->v[(j + 1) * dim + c];
            for (int64_t c = 0; c < dim; c++)
                x->v[c] /= (float)n;
        }
        for (int64_t c = 0; c < dim; c++)
            acc->v[c] += x->v[c];
        if (l == k->layers)
            break;
        rec_nn_gat layer = kept_layer(g, k, l);
        rec_tensor *alpha, *y = rec_nn_gat_forward(g, &layer, &nbr, x, &alpha);
        if (!y)
            return rec_graph_status(g);
        memcpy(x->v, y->v, (size_t)dim * sizeof *x->v);
        if (att && l == k->layers - 1)
            for (int64_t j = 0; j < n; j++) {
                float s = 0;
                for (int64_t hh = 0; hh < k->heads; hh++)
                    s += alpha->v[(j + 1) * k->heads + hh];
                att[j] = s / (float)k->heads;
            }
    }
    for (int64_t c = 0; c < dim; c++)
        uv[c] = acc->v[c] / (float)(k->layers + 1);
    return REC_OK;
}

/* Sorted distinct copy of items[0..n) into a new array; *m its length. */
static rec_status distinct(const int32_t *items, size_t n, int32_t **out, int64_t *len,
                           const char *fn)
{
    *out = rec_malloc((n ? n : 1) * sizeof **out);
    if (!*out)
        return rec_nomem(fn);
    memcpy(*out, items, n * sizeof **out);
    qsort(*out, n, sizeof **out, rec_cmp_i32);
    int64_t w = 0;
    for (size_t j = 0; j < n; j++)
        if (!w || (*out)[w - 1] != (*out)[j])
            (*out)[w++] = (*out)[j];
    *len = w;
    return REC_OK;
}

static rec_status gat_history(const rec_model *m, const int32_t *items, const float *r,
                              size_t n, float *out)
{
    (void)r;
    static const char fn[] = "rec_model_recommend_history(gat)";
    const rec_graphmf *s = m->state;
    int32_t *h;
    int64_t nh;
    REC_TRY(distinct(items, n, &h, &nh, fn));
    float *uv = rec_calloc((size_t)s->width, sizeof *uv);
    rec_graph *g = NULL;
    rec_status st = uv ? REC_OK : rec_nomem(fn);
    if (!st && nh)
        st = fold_in(m, h, nh, uv, NULL, &g);
    if (st == REC_E_NOMEM)
        rec_nomem(fn);
    if (!st)
        rec_sgemv(0, m->nitems, s->width, 1.0f, s->V, s->width, uv, 0.0f, out);
    rec_graph_destroy(g);
    rec_free(uv, (size_t)s->width * sizeof *uv);
    rec_free(h, (n ? n : 1) * sizeof *h);
    return st;
}

/* Call-time features: a user is their items (the fold-in above), so a
 * user feature set has no fields; an item set has the item fields read. */
static rec_status gat_schema(const rec_model *m, rec_side side, rec_features **out,
                             const char *fn)
{
    if (side == REC_SIDE_ITEM)
        return rec_gnn_fields_schema(&((const gat_kept *)((const rec_graphmf *)m->state)->kind)
                                          ->fx, m, side, out, fn);
    *out = NULL;
    return REC_OK;
}

static rec_status gat_score_features(const rec_model *m, const rec_feature_set *fs,
                                     const int32_t *hist, size_t nh, float *out)
{
    (void)fs;
    return gat_history(m, hist, NULL, nh, out);
}

/* ---- items added from their features ----------------------------------------- */

/* Nodes without edges per forward pass: bounds the graph's arena. */
#define ADD_CHUNK 1024

/* h [n, dim] (n <= ADD_CHUNK) of nodes without edges through kept layer l,
 * in place: each attends to itself alone. */
static rec_status isolated(const gat_kept *k, int l, float *h, int64_t n, const char *fn)
{
    rec_graph *g;
    if (rec_graph_create(&g))
        return rec_nomem(fn);
    rec_graph_set_grad(g, 0);
    rec_graph_set_training(g, 0);
    int64_t *ptr = rec_graph_alloc(g, (size_t)(n + 1) * sizeof *ptr);
    int32_t *idx = rec_graph_alloc(g, (size_t)(n ? n : 1) * sizeof *idx);
    int64_t xs[2] = { n, k->dim };
    rec_tensor *x = ptr && idx ? rec_tensor_wrap(g, h, 2, xs) : NULL;
    rec_status st = x ? REC_OK : REC_E_NOMEM;
    if (!st) {
        for (int64_t j = 0; j <= n; j++)
            ptr[j] = j;
        for (int64_t j = 0; j < n; j++)
            idx[j] = (int32_t)j;
        rec_csr nbr = { n, n, n, ptr, idx, NULL, NULL };
        rec_nn_gat layer = kept_layer(g, k, l);
        rec_tensor *y = rec_nn_gat_forward(g, &layer, &nbr, x, NULL);
        if (y)
            memcpy(h, y->v, (size_t)(n * k->dim) * sizeof *h);
        else
            st = rec_graph_status(g);
    }
    if (st == REC_E_NOMEM)
        rec_nomem(fn);
    rec_graph_destroy(g);
    return st;
}

/* New items' rows: h [n, dim] their X_0 from their features; x[l] [nn,
 * dim] get their layer inputs at row ni on, V [nn, width] their vectors. */
static rec_status new_rows(const rec_model *m, float *h, size_t n, float **x, float *V)
{
    static const char fn[] = "rec_model_add_items(gat)";
    const gat_kept *k = ((const rec_graphmf *)m->state)->kind;
    size_t d = (size_t)k->dim, ni = (size_t)m->nitems;
    float *acc = V + ni * d;
    memcpy(acc, h, n * d * sizeof *acc);
    for (int l = 0; l < k->layers; l++) {
        memcpy(x[l] + ni * d, h, n * d * sizeof *h);
        for (size_t b = 0; b < n; b += ADD_CHUNK)
            REC_TRY(isolated(k, l, h + b * d, (int64_t)(n - b < ADD_CHUNK ? n - b : ADD_CHUNK),
                             fn));
        for (size_t j = 0; j < n * d; j++)
            acc[j] += h[j];
    }
    int cosine = rec_graphmf_unit_rows(m);
    for (size_t j = 0; j < n; j++) {
        for (size_t c = 0; c < d; c++)
            acc[j * d + c] /= (float)(k->layers + 1);
        if (cosine) /* as graphmf's readout stores every row */
            rec_index_normalise(acc + j * d, (int)d);
    }
    return REC_OK;
}

static rec_status gat_add_items(rec_model *m, const rec_feature_set *const *fs, size_t n)
{
    static const char fn[] = "rec_model_add_items(gat)";
    rec_graphmf *s = m->state;
    gat_kept *k = s->kind;
    REC_TRY(rec_gnn_fields_items(&k->fx, m, fn));
    size_t d = (size_t)k->dim, ni = (size_t)m->nitems, nn = ni + n;
    float *x[GAT_MAX_LAYERS] = { 0 };
    float *V = rec_malloc(nn * d * sizeof *V), *h = rec_malloc(n * d * sizeof *h);
    float *deg = rec_calloc(nn, sizeof *deg);
    int ok = V && h && deg;
    for (int l = 0; l < k->layers; l++)
        ok &= (x[l] = rec_malloc(nn * d * sizeof(float))) != NULL;
    rec_index *ix = NULL;
    rec_ippack pk = { 0 };
    rec_status st = ok ? REC_OK : rec_nomem(fn);
    for (size_t j = 0; !st && j < n; j++)
        st = rec_gnn_fields_mean(&k->fx, REC_SIDE_ITEM, fs[j], h + j * d, fn);
    if (!st) {
        memcpy(V, s->V, ni * d * sizeof *V);
        for (int l = 0; l < k->layers; l++)
            memcpy(x[l], k->x[l], ni * d * sizeof(float));
        st = new_rows(m, h, n, x, V);
    }
    if (!st) { /* the serving state over the grown item rows */
        float *was = s->V;
        s->V = V;
        st = rec_model_index_items(m, (int32_t)nn, &ix, &pk, fn);
        s->V = was;
    }
    if (!st) { /* nothing fails from here; the new items have no degree */
        memcpy(deg, s->inv_sqrt_deg, ni * sizeof *deg);
        rec_free(s->V, ni * d * sizeof *s->V);
        rec_free(s->inv_sqrt_deg, ni * sizeof *s->inv_sqrt_deg);
        s->V = V;
        s->inv_sqrt_deg = deg;
        for (int l = 0; l < k->layers; l++) {
            rec_free(k->x[l], ni * d * sizeof(float));
            k->x[l] = x[l];
        }
        rec_model_index_take_items(m, ix, &pk);
    } else {
        rec_index_destroy(ix);
        rec_ippack_free(&pk);
        rec_free(V, nn * d * sizeof *V);
        rec_free(deg, nn * sizeof *deg);
        for (int l = 0; l < k->layers; l++)
            rec_free(x[l], nn * d * sizeof(float));
    }
    rec_free(h, n * d * sizeof *h);
    return st;
}

/* u's items with the highest last-layer attention: the same for every i. */
static rec_status gat_explain(const rec_model *m, int32_t u, int32_t i, size_t k,
                              const char **reasons, float *weights, size_t *n)
{
    (void)i;
    static const char fn[] = "rec_model_explain(gat)";
    const gat_kept *kept = ((const rec_graphmf *)m->state)->kind;
    *n = 0;
    if (!kept->layers)
        return REC_OK;
    size_t nseen = (size_t)(m->seen_ptr[u + 1] - m->seen_ptr[u]);
    int32_t *h;
    int64_t nh;
    REC_TRY(distinct(m->seen + m->seen_ptr[u], nseen, &h, &nh, fn));
    float *uv = rec_malloc((size_t)kept->dim * sizeof *uv);
    float *att = rec_malloc((size_t)(nh ? nh : 1) * sizeof *att);
    rec_weighted *rk = rec_malloc((size_t)(nh ? nh : 1) * sizeof *rk);
    rec_graph *g = NULL;
    rec_status st = uv && att && rk ? REC_OK : rec_nomem(fn);
    if (!st && nh)
        st = fold_in(m, h, nh, uv, att, &g);
    if (st == REC_E_NOMEM)
        rec_nomem(fn);
    if (!st) {
        for (int64_t j = 0; j < nh; j++)
            rk[j] = (rec_weighted){ att[j], h[j] };
        qsort(rk, (size_t)nh, sizeof *rk, rec_cmp_weighted);
        for (int64_t j = 0; j < nh && (size_t)j < k; j++) {
            reasons[j] = rec_idmap_name(m->items, rk[j].item);
            weights[j] = rk[j].w;
            *n = (size_t)j + 1;
        }
    }
    rec_graph_destroy(g);
    rec_free(uv, (size_t)kept->dim * sizeof *uv);
    rec_free(att, (size_t)(nh ? nh : 1) * sizeof *att);
    rec_free(rk, (size_t)(nh ? nh : 1) * sizeof *rk);
    rec_free(h, (nseen ? nseen : 1) * sizeof *h);
    return st;
}

/* ---- storage ---------------------------------------------------------------- */

static rec_status gat_save(const rec_model *m, rec_lrm_writer *w)
{
    REC_TRY(rec_graphmf_save(m, w));
    const gat_kept *k = ((const rec_graphmf *)m->state)->kind;
    int64_t ws[2] = { k->heads * k->out, k->dim }, as[2] = { k->heads, k->out };
    int64_t xs[2] = { m->nitems, k->dim };
    for (int l = 0; l < k->layers; l++) {
        char name[48];
        snprintf(name, sizeof name, "gat.%d.weight", l);
        REC_TRY(rec_lrm_add_tensor(w, name, REC_LRM_F32, 2, ws, k->w[l]));
        snprintf(name, sizeof name, "gat.%d.att_dst", l);
        REC_TRY(rec_lrm_add_tensor(w, name, REC_LRM_F32, 2, as, k->ad[l]));
        snprintf(name, sizeof name, "gat.%d.att_src", l);
        REC_TRY(rec_lrm_add_tensor(w, name, REC_LRM_F32, 2, as, k->as[l]));
        snprintf(name, sizeof name, "gat.%d.items", l);
        REC_TRY(rec_lrm_add_tensor(w, name, REC_LRM_F32, 2, xs, k->x[l]));
    }
    return rec_gnn_fields_save(&k->fx, w, "gat");
}

static rec_status gat_load(rec_model *m, const rec_lrm_reader *r)
{
    static const char fn[] = "rec_model_load(gat)";
    REC_TRY(rec_graphmf_load(m, r, (int)rec_model_int(m, "dim"), 0, fn));
    gat_kept *k;
    REC_TRY(kept_alloc(m, &k, fn));
    ((rec_graphmf *)m->state)->kind = k;
    int64_t ws[2] = { k->heads * k->out, k->dim }, as[2] = { k->heads, k->out };
    int64_t xs[2] = { m->nitems, k->dim };
    for (int l = 0; l < k->layers; l++) {
        struct { const char *suffix; const int64_t *shape; float *dst; } t[4] = {
            { "weight", ws, k->w[l] }, { "att_dst", as, k->ad[l] }, { "att_src", as, k->as[l] },
            { "items", xs, k->x[l] } };
        for (int j = 0; j < 4; j++) {
            char name[48];
            const void *p;
            snprintf(name, sizeof name, "gat.%d.%s", l, t[j].suffix);
            REC_TRY(rec_lrm_tensor_expect(r, name, REC_LRM_F32, 2, t[j].shape, &p));
            memcpy(t[j].dst, p, (size_t)(t[j].shape[0] * t[j].shape[1]) * sizeof(float));
        }
    }
    return rec_gnn_fields_load(&k->fx, r, "gat", (int)k->dim, fn);
}

const rec_model_vt rec_gat_vt = {
    .kind = "gat",
    .summary = "GAT: multi-head attention over the user-item graph; items from their IDs and "
               "features, users from their items, so new users fold in through the layers "
               "and new items enter from their features; explains by attention",
    .spec = spec,
    .nspec = NSPEC,
    .fit = gat_fit,
    .score_user = rec_graphmf_score_user,
    .score_history = gat_history,
    .score_pair = rec_graphmf_score_pair,
    .similar = rec_graphmf_similar,
    .explain = gat_explain,
    .save = gat_save,
    .load = gat_load,
    .free_state = gat_free,
    .vectors = rec_graphmf_vectors,
    .schema = gat_schema,
    .score_features = gat_score_features,
    .add_items = gat_add_items,
};
