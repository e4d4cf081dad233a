/* The shared fit, inference, fold-in and storage of gcn and graphsage (see
 * gnn-impl.h; their call-time features are gnn_features.c's). */
#include "gnn-impl.h"
#include "core/linalg-impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Destinations per inference block: bounds the arena to a chunk's
 * neighbourhood, whatever the graph's size. */
#define READOUT_CHUNK 4096

static size_t h_floats(const rec_gnn *s)
{
    return (size_t)(s->layers + 1) * (size_t)s->nodes * (size_t)s->dim;
}

void rec_gnn_free(rec_model *m)
{
    rec_gnn *s = m->state;
    if (!s)
        return;
    rec_pstore_destroy(s->ps);
    rec_free(s->H, h_floats(s) * sizeof *s->H);
    rec_free(s->item_deg, (size_t)(m->nitems ? m->nitems : 1) * sizeof *s->item_deg);
    rec_gnn_fields_free(&s->fx);
    rec_free(s, sizeof *s);
    m->state = NULL;
}

static rec_status alloc_state(rec_model *m, const rec_gnn_kind *kind, const char *fn)
{
    rec_gnn *s = rec_calloc(1, sizeof *s);
    if (!s)
        return rec_nomem(fn);
    m->state = s;
    *s = (rec_gnn){ .kind = kind, .layers = (int)rec_model_int(m, "layers"),
                    .dim = (int)rec_model_int(m, "dim"),
                    .nodes = (int64_t)m->nusers + m->nitems };
    s->H = rec_malloc(h_floats(s) * sizeof *s->H);
    s->item_deg = rec_calloc((size_t)(m->nitems ? m->nitems : 1), sizeof *s->item_deg);
    if (!s->H || !s->item_deg)
        return rec_nomem(fn);
    /* the items' training degrees, from the model's distinct sorted lists */
    for (int32_t u = 0; u < m->nusers; u++)
        for (int64_t k = m->seen_ptr[u]; k < m->seen_ptr[u + 1]; k++)
            if (k == m->seen_ptr[u] || m->seen[k] != m->seen[k - 1])
                s->item_deg[m->seen[k]]++;
    return REC_OK;
}

/* Layer k of the kind into ps as "layer.<k>". */
static rec_status init_layers(rec_gnn *s, const rec_model *m, rec_pstore *ps, rec_rng *rng)
{
    for (int k = 0; k < s->layers; k++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "layer.%d", k);
        REC_TRY(s->kind->init(s, m, k, ps, prefix, rng));
    }
    return REC_OK;
}

/* The inputs of the training tables. */
typedef struct inputs {
    const rec_uigraph *ug;
    rec_tensor *id, *feat;   /* either may be NULL */
    const rec_gnn_codes *f;
} inputs;

/* x [n, dim] of nodes src[0..n): id row (zero without training edges) plus
 * the mean of the node's feature embeddings. */
static rec_tensor *input_rows(rec_graph *g, const inputs *in, const int32_t *src, int32_t n)
{
    rec_tensor *x = NULL;
    if (in->id) {
        rec_tensor *idx = rec_tensor_i32(g, n);
        if (!idx)
            return NULL;
        for (int32_t k = 0; k < n; k++)
            idx->iv[k] = rec_uigraph_degree(in->ug, src[k]) > 0 ? src[k] : -1;
        x = rec_gather(g, in->id, idx, -1);
    }
    if (in->feat) {
        int64_t tot = 0;
        for (int32_t k = 0; k < n; k++)
            tot += in->f->ptr[src[k] + 1] - in->f->ptr[src[k]];
        rec_tensor *codes = rec_tensor_i32(g, tot ? tot : 1), *off = rec_tensor_i32(g, n + 1);
        if (!off)
            return NULL;
        int64_t w = 0;
        for (int32_t k = 0; k < n; k++) {
            off->iv[k] = (int32_t)w;
            for (int64_t j = in->f->ptr[src[k]]; j < in->f->ptr[src[k] + 1]; j++)
                codes->iv[w++] = in->f->val[j];
        }
        off->iv[n] = (int32_t)w;
        codes->shape[0] = codes->n = w;
        rec_tensor *b = rec_embedding_bag(g, in->feat, codes, off, NULL, REC_REDUCE_MEAN);
        x = x ? rec_add(g, x, b) : b;
    }
    return x;
}

typedef struct fitctx {
    rec_model *m;
    rec_gnn *s;
    inputs in;
    int32_t *edge_user;   /* [nedges] */
    int32_t *mark;        /* [nodes] seed position or -1 */
    int32_t *seeds;       /* [nseed_cap] */
    int64_t nseed_cap;
    rec_graph *g;
    rec_optim *opt;
    rec_sampler *smp;
    int bpr, negatives, fanout[REC_GNN_MAX_LAYERS];
    float temperature;
    const char *fn;
} fitctx;

static int32_t add_seed(fitctx *c, int32_t *ns, int32_t node)
{
    if (c->mark[node] < 0) {
        c->mark[node] = *ns;
        c->seeds[(*ns)++] = node;
    }
    return c->mark[node];
}

/* The seeds' vectors [ns, dim] from their sampled blocks (*bs out). */
static rec_tensor *seed_rows(fitctx *c, int32_t ns, uint64_t seed, rec_blocks **bs)
{
    rec_graph *g = c->g;
    rec_status st = rec_uigraph_sample(c->in.ug, c->seeds, ns, c->s->layers, c->fanout, seed,
                                       c->s->kind->norm, bs, c->fn);
    if (st)
        return rec_graph_fail(g, st, "%s", rec_last_error());
    rec_tensor *x = input_rows(g, &c->in, (*bs)->b[0].src, (*bs)->b[0].nsrc);
    for (int k = 0; k < c->s->layers; k++)
        x = c->s->kind->forward(c->s, g, k, &(*bs)->b[k].adj, x);
    return x;
}

static rec_status step(void *ctx, const rec_batch *b, rec_rng *rng, double *loss)
{
    fitctx *c = ctx;
    rec_graph *g = c->g;
    int32_t nu = c->m->nusers, ni = c->m->nitems, ns = 0;
    int64_t n = b->n, nneg = c->bpr ? n : c->negatives;
    rec_graph_reset(g);
    rec_tensor *tu = rec_tensor_i32(g, n), *ti = rec_tensor_i32(g, n);
    rec_tensor *tj = rec_tensor_i32(g, nneg);
    if (!tj)
        return rec_graph_status(g);
    rec_status st = REC_OK;
    for (int64_t k = 0; k < n; k++) {
        int32_t e = b->rows[k];
        tu->iv[k] = add_seed(c, &ns, c->edge_user[e]);
        ti->iv[k] = add_seed(c, &ns, nu + c->in.ug->uitem[e]);
    }
    for (int64_t k = 0; k < nneg && !st; k++) {
        int32_t j = 0;
        if (c->bpr)
            st = rec_sampler_draw(c->smp, rng, c->seeds[tu->iv[k]], 1, &j);
        else
            j = (int32_t)rec_rng_below(rng, (uint32_t)ni);
        /* a user who has seen every item has no negative: padding */
        tj->iv[k] = j >= 0 ? add_seed(c, &ns, nu + j) : -1;
    }
    for (int32_t k = 0; k < ns; k++)
        c->mark[c->seeds[k]] = -1;
    if (st)
        return st;
    rec_blocks *bs = NULL;
    rec_tensor *x = seed_rows(c, ns, rec_rng_u64(rng), &bs);
    rec_tensor *eu = rec_gather(g, x, tu, -1), *ei = rec_gather(g, x, ti, -1);
    rec_tensor *ej = rec_gather(g, x, tj, -1), *l;
    if (c->bpr)
        l = rec_bpr(g, rec_rowdot(g, eu, ei), rec_rowdot(g, eu, ej));
    else
        l = rec_loss_sampled_softmax(g, rec_scale(g, eu, 1.0f / c->temperature), ei, ej, NULL,
                                     NULL, 1.0f);
    st = l ? REC_OK : rec_graph_status(g);
    if (!st) {
        *loss = l->v[0];
        st = rec_backward(g, l);
    }
    rec_blocks_destroy(bs);
    return st ? st : rec_optim_step(c->opt);
}

/* H_0 .. H_L of every node, full neighbourhoods, chunk by chunk. */
static rec_status readout(rec_gnn *s, rec_graph *g, const inputs *in, const char *fn)
{
    int64_t N = s->nodes, d = s->dim;
    int32_t *ids = rec_malloc(READOUT_CHUNK * sizeof *ids);
    if (!ids)
        return rec_nomem(fn);
    rec_graph_set_grad(g, 0);
    rec_graph_set_training(g, 0);
    const int all[1] = { 0 };
    rec_status st = REC_OK;
    for (int k = -1; k < s->layers && !st; k++) {
        float *hin = s->H + (size_t)(k < 0 ? 0 : k) * N * d, *hout = s->H + (size_t)(k + 1) * N * d;
        for (int64_t c0 = 0; c0 < N && !st; c0 += READOUT_CHUNK) {
            int32_t n = (int32_t)(N - c0 < READOUT_CHUNK ? N - c0 : READOUT_CHUNK);
            for (int32_t j = 0; j < n; j++)
                ids[j] = (int32_t)(c0 + j);
            rec_graph_reset(g);
            rec_tensor *y;
            rec_blocks *bs = NULL;
            if (k < 0) {
                y = input_rows(g, in, ids, n);
            } else {
                st = rec_uigraph_sample(in->ug, ids, n, 1, all, 0, s->kind->norm, &bs, fn);
                if (st)
                    break;
                const rec_block *b = &bs->b[0];
                rec_tensor *x = rec_tensor_2d(g, b->nsrc, d);
                if (x)
                    for (int32_t j = 0; j < b->nsrc; j++)
                        memcpy(x->v + (size_t)j * d, hin + (size_t)b->src[j] * d,
                               (size_t)d * sizeof *x->v);
                y = s->kind->forward(s, g, k, &bs->b[0].adj, x);
            }
            if (y)
                memcpy(hout + (size_t)c0 * d, y->v, (size_t)n * d * sizeof *y->v);
            else
                st = rec_graph_status(g);
            rec_blocks_destroy(bs);
        }
    }
    rec_free(ids, READOUT_CHUNK * sizeof *ids);
    return st;
}

/* Validation scores through H (rec_model_train), computed with the layers
 * being trained; training goes on with gradients and dropout. */
static rec_status sync(void *ctx)
{
    fitctx *c = ctx;
    rec_status st = readout(c->s, c->g, &c->in, c->fn);
    rec_graph_set_grad(c->g, 1);
    rec_graph_set_training(c->g, 1);
    return st;
}

/* The trained layers into the model's own store (the tables stay behind). */
static rec_status keep_layers(rec_model *m, rec_gnn *s, const rec_pstore *fitps)
{
    rec_rng r;
    rec_rng_seed(&r, 0);
    REC_TRY(rec_pstore_create(&s->ps));
    REC_TRY(init_layers(s, m, s->ps, &r));
    for (size_t k = 0; k < rec_pstore_count(s->ps); k++) {
        rec_tensor *t = rec_pstore_at(s->ps, k);
        const rec_tensor *from = rec_pstore_find(fitps, t->name);
        memcpy(t->v, from->v, (size_t)t->n * sizeof *t->v);
    }
    return REC_OK;
}

rec_status rec_gnn_fit(rec_model *m, const rec_dataset *d, const rec_gnn_kind *kind,
                       rec_progress_fn cb, void *user, const char *fn)
{
    REC_TRY(alloc_state(m, kind, fn));
    rec_gnn *s = m->state;
    int ids = rec_model_bool(m, "ids"), feats = rec_model_bool(m, "features");
    fitctx c = { .m = m, .s = s, .bpr = !strcmp(rec_model_str(m, "loss"), "bpr"),
                 .negatives = (int)rec_model_int(m, "negatives"),
                 .temperature = (float)rec_model_flt(m, "temperature"), .fn = fn };
    for (int k = 0; k < s->layers; k++)
        c.fanout[k] = (int)rec_model_int(m, "fanout");
    rec_gnn_codes f = { 0 };
    rec_uigraph *ug = NULL;
    rec_pstore *ps = NULL;
    rec_status st = rec_uigraph_build(&ug, d, fn);
    c.in.ug = ug;
    c.in.f = &f;
    if (!st && ug->nedges == 0)
        st = rec_err(REC_E_INVALID, "%s: the dataset has no interactions", fn);
    if (!st && feats)
        st = rec_gnn_codes_take(m, d, 1, &f, fn);
    if (!st && !ids && f.vocab == 0)
        st = rec_err(REC_E_INVALID, "%s: ids = false needs features, but the dataset has no "
                     "categorical or multi-hot field", fn);
    int64_t b = rec_model_int(m, "batch"), nneg = c.bpr ? b : c.negatives;
    c.nseed_cap = 2 * b + nneg < s->nodes ? 2 * b + nneg : s->nodes;
    if (!st) {
        c.edge_user = rec_malloc((size_t)ug->nedges * sizeof *c.edge_user);
        c.mark = rec_malloc((size_t)s->nodes * sizeof *c.mark);
        c.seeds = rec_malloc((size_t)c.nseed_cap * sizeof *c.seeds);
        st = c.edge_user && c.mark && c.seeds ? rec_pstore_create(&ps) : rec_nomem(fn);
    }
    if (!st) {
        for (int32_t u = 0; u < ug->nusers; u++)
            for (int64_t k = ug->uptr[u]; k < ug->uptr[u + 1]; k++)
                c.edge_user[k] = u;
        for (int64_t v = 0; v < s->nodes; v++)
            c.mark[v] = -1;
        rec_rng rng;
        rec_rng_seed(&rng, (uint64_t)rec_model_int(m, "seed"));
        float sd = (float)rec_model_flt(m, "init_std");
        int64_t is[2] = { s->nodes, s->dim }, fs[2] = { f.vocab, s->dim };
        if (ids && !(c.in.id = rec_pstore_add(ps, "id", 2, is, 0)))
            st = REC_E_NOMEM;
        if (!st && f.vocab && !(c.in.feat = rec_pstore_add(ps, "feat", 2, fs, 0)))
            st = REC_E_NOMEM;
        if (!st) {
            if (c.in.id)
                rec_init_normal(c.in.id, &rng, 0, sd);
            if (c.in.feat)
                rec_init_normal(c.in.feat, &rng, 0, sd);
            st = init_layers(s, m, ps, &rng);
        }
    }
    if (!st) {
        rec_optim_config oc;
        st = rec_optim_config_init(&oc, "adam");
        oc.lr = rec_model_flt(m, "lr");
        if (!st)
            st = rec_optim_create_config(&c.opt, &oc, ps);
    }
    if (!st)
        st = rec_graph_create(&c.g);
    if (!st && c.bpr)
        st = rec_sampler_create(&c.smp, d, NULL);
    if (!st) {
        rec_graph_set_training(c.g, 1);
        rec_trainer_vt vt = { .n_examples = ug->nedges, .step = step, .sync = sync };
        st = rec_model_train(m, &vt, &c, ps, c.opt, cb, user, fn);
    }
    if (!st || st == REC_E_CANCELLED) { /* a cancelled model keeps the epochs it ran */
        rec_status rs = keep_layers(m, s, ps);
        if (!rs)
            rs = readout(s, c.g, &c.in, fn);
        if (!rs)
            rs = rec_gnn_fields_build(&s->fx, d, 1, s->dim, c.in.feat ? c.in.feat->v : NULL,
                                      f.vocab, fn);
        if (rs)
            st = rs;
    }
    if (st == REC_E_NOMEM && !*rec_last_error())
        rec_nomem(fn);
    rec_sampler_destroy(c.smp);
    rec_graph_destroy(c.g);
    rec_optim_destroy(c.opt);
    rec_pstore_destroy(ps);
    rec_free(c.edge_user, (size_t)(ug ? ug->nedges : 0) * sizeof *c.edge_user);
    rec_free(c.mark, (size_t)s->nodes * sizeof *c.mark);
    rec_free(c.seeds, (size_t)c.nseed_cap * sizeof *c.seeds);
    rec_gnn_codes_free(&f);
    rec_uigraph_destroy(ug);
    return st;
}

static const float *item_rows(const rec_gnn *s, const rec_model *m, int k)
{
    return s->H + ((size_t)k * s->nodes + (size_t)m->nusers) * s->dim;
}

rec_status rec_gnn_score_user(const rec_model *m, int32_t u, float *out)
{
    const rec_gnn *s = m->state;
    const float *hu = s->H + ((size_t)s->layers * s->nodes + (size_t)u) * s->dim;
    rec_sgemv(0, m->nitems, s->dim, 1.0f, item_rows(s, m, s->layers), s->dim, hu, 0.0f, out);
    return REC_OK;
}

/* The last layer's user and item rows: their dot products are the scores. */
rec_status rec_gnn_vectors(const rec_model *m, rec_side side, float *out, int *dim)
{
    const rec_gnn *s = m->state;
    const float *users = s->H + (size_t)s->layers * s->nodes * s->dim;
    return rec_model_copy_vectors(m, side, users, item_rows(s, m, s->layers), s->dim, out, dim);
}

rec_status rec_gnn_score_pair(const rec_model *m, int32_t u, int32_t i, float *out)
{
    const rec_gnn *s = m->state;
    const float *hu = s->H + ((size_t)s->layers * s->nodes + (size_t)u) * s->dim;
    *out = rec_sdot(s->dim, hu, item_rows(s, m, s->layers) + (size_t)i * s->dim);
    return REC_OK;
}

rec_status rec_gnn_similar(const rec_model *m, int32_t i, float *out)
{
    const rec_gnn *s = m->state;
    const float *v = item_rows(s, m, s->layers);
    rec_rows_cosine(v, m->nitems, s->dim, v + (size_t)i * s->dim, out);
    return REC_OK;
}

/* The fold-in of gnn-impl.h.  Ratings, when given, are ignored: the
 * graph's edges are binary. */
rec_status rec_gnn_score_history(const rec_model *m, const int32_t *items, const float *r,
                                 size_t n, float *out)
{
    (void)r;
    char fn[64];
    snprintf(fn, sizeof fn, "rec_model_recommend_history(%s)", m->vt->kind);
    return rec_gnn_fold_in(m, NULL, items, n, out, fn);
}

rec_status rec_gnn_fold_in(const rec_model *m, const float *x0, const int32_t *items, size_t n,
                           float *out, const char *fn)
{
    const rec_gnn *s = m->state;
    int64_t d = s->dim, nz = (int64_t)n + 1;
    int64_t ptr[2] = { 0, 0 };
    int32_t *idx = rec_malloc((size_t)nz * sizeof *idx);
    float *val = rec_malloc((size_t)nz * sizeof *val);
    float *hu = rec_calloc((size_t)d, sizeof *hu);
    rec_graph *g = NULL;
    rec_status st = idx && val && hu ? rec_graph_create(&g) : rec_nomem(fn);
    if (!st && x0)
        memcpy(hu, x0, (size_t)d * sizeof *hu);
    if (!st) {
        /* the user's row: self-loop first (GCN), then its items */
        int64_t w = 0;
        if (s->kind->norm == REC_BLOCK_GCN) {
            idx[w] = 0;
            val[w++] = (float)(1.0 / ((double)n + 1));
        }
        for (size_t j = 0; j < n; j++) {
            idx[w] = (int32_t)j + 1;
            val[w++] = s->kind->norm == REC_BLOCK_GCN
                           ? rec_block_gcn_weight((int64_t)n, (int64_t)n, s->item_deg[items[j]])
                           : (float)(1.0 / (double)n);
        }
        ptr[1] = w;
        rec_graph_set_grad(g, 0);
        rec_graph_set_training(g, 0);
    }
    rec_csr a = { 1, nz, ptr[1], ptr, idx, val, NULL };
    for (int k = 0; k < s->layers && !st; k++) {
        rec_graph_reset(g);
        rec_tensor *x = rec_tensor_2d(g, nz, d);
        if (x) {
            memcpy(x->v, hu, (size_t)d * sizeof *hu);
            for (size_t j = 0; j < n; j++)
                memcpy(x->v + (j + 1) * d, item_rows(s, m, k) + (size_t)items[j] * d,
                       (size_t)d * sizeof *x->v);
        }
        rec_tensor *y = s->kind->forward(s, g, k, &a, x);
        if (y)
            memcpy(hu, y->v, (size_t)d * sizeof *hu);
        else
            st = rec_graph_status(g);
    }
    if (!st)
        rec_sgemv(0, m->nitems, (int)d, 1.0f, item_rows(s, m, s->layers), (int)d, hu, 0.0f,
                  out);
    if (st == REC_E_NOMEM && !*rec_last_error())
        rec_nomem(fn);
    rec_graph_destroy(g);
    rec_free(idx, (size_t)nz * sizeof *idx);
    rec_free(val, (size_t)nz * sizeof *val);
    rec_free(hu, (size_t)d * sizeof *hu);
    return st;
}

rec_status rec_gnn_isolated(const rec_gnn *s, int k, const float *x, int32_t n, float *y,
                            const char *fn)
{
    /* the readout's block of nodes without edges: GCN rows hold the
     * self-loop 1 / (0 + 1), mean rows nothing (SAGE reads the node beside) */
    int gcn = s->kind->norm == REC_BLOCK_GCN;
    int64_t *ptr = rec_malloc(((size_t)n + 1) * sizeof *ptr);
    int32_t *idx = rec_malloc(((size_t)n + 1) * sizeof *idx);
    float *val = rec_malloc(((size_t)n + 1) * sizeof *val);
    rec_graph *g = NULL;
    rec_status st = ptr && idx && val ? rec_graph_create(&g) : rec_nomem(fn);
    if (!st) {
        for (int32_t j = 0; j <= n; j++) {
            ptr[j] = gcn ? j : 0;
            idx[j] = j;
            val[j] = 1.0f;
        }
        rec_graph_set_grad(g, 0);
        rec_graph_set_training(g, 0);
        rec_csr a = { n, n, gcn ? n : 0, ptr, idx, val, NULL };
        rec_tensor *xt = rec_tensor_2d(g, n, s->dim);
        if (xt)
            memcpy(xt->v, x, (size_t)n * (size_t)s->dim * sizeof *xt->v);
        rec_tensor *yt = s->kind->forward(s, g, k, &a, xt);
        if (yt)
            memcpy(y, yt->v, (size_t)n * (size_t)s->dim * sizeof *y);
        else
            st = rec_graph_status(g);
        rec_csr_free_transpose(&a);
    }
    if (st == REC_E_NOMEM && !*rec_last_error())
        rec_nomem(fn);
    rec_graph_destroy(g);
    rec_free(ptr, ((size_t)n + 1) * sizeof *ptr);
    rec_free(idx, ((size_t)n + 1) * sizeof *idx);
    rec_free(val, ((size_t)n + 1) * sizeof *val);
    return st;
}

rec_status rec_gnn_save(const rec_model *m, rec_lrm_writer *w)
{
    const rec_gnn *s = m->state;
    int64_t shape[2] = { (int64_t)(s->layers + 1) * s->nodes, s->dim };
    REC_TRY(rec_lrm_add_tensor(w, "gnn.H", REC_LRM_F32, 2, shape, s->H));
    char fn[64];
    snprintf(fn, sizeof fn, "rec_model_save(%s)", m->vt->kind);
    REC_TRY(rec_pstore_save(s->ps, w, "gnn.", fn));
    return rec_gnn_fields_save(&s->fx, w, "gnn");
}

rec_status rec_gnn_load(rec_model *m, const rec_lrm_reader *r, const rec_gnn_kind *kind,
                        const char *fn)
{
    REC_TRY(alloc_state(m, kind, fn));
    rec_gnn *s = m->state;
    rec_rng rng;
    rec_rng_seed(&rng, 0);
    REC_TRY(rec_pstore_create(&s->ps));
    REC_TRY(init_layers(s, m, s->ps, &rng));
    REC_TRY(rec_pstore_load(s->ps, r, "gnn.", fn));
    int64_t shape[2] = { (int64_t)(s->layers + 1) * s->nodes, s->dim };
    const void *p;
    REC_TRY(rec_lrm_tensor_expect(r, "gnn.H", REC_LRM_F32, 2, shape, &p));
    memcpy(s->H, p, h_floats(s) * sizeof *s->H);
    return rec_gnn_fields_load(&s->fx, r, "gnn", s->dim, fn);
}
