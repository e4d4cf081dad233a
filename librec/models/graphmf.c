/* The shared fit, scoring, fold-in and storage of lightgcn and ngcf (see
 * graphmf-impl.h). */
#include "graphmf-impl.h"
#include "core/linalg-impl.h"
#include "data/graph-impl.h"
#include "retrieval/index-impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void rec_graphmf_free(rec_model *m)
{
    rec_graphmf *s = m->state;
    if (!s)
        return;
    rec_graphmf_linear_free(m);
    rec_free(s->U, (size_t)m->nusers * s->width * sizeof *s->U);
    rec_free(s->V, (size_t)m->nitems * s->width * sizeof *s->V);
    rec_free(s->inv_sqrt_deg, (size_t)m->nitems * sizeof *s->inv_sqrt_deg);
    rec_free(s, sizeof *s);
    m->state = NULL;
}

static rec_status alloc_state(rec_model *m, int width, const char *fn)
{
    rec_graphmf *s = rec_calloc(1, sizeof *s);
    if (!s)
        return rec_nomem(fn);
    m->state = s;
    s->width = width;
    s->U = rec_malloc((size_t)m->nusers * width * sizeof *s->U);
    s->V = rec_malloc((size_t)m->nitems * width * sizeof *s->V);
    s->inv_sqrt_deg = rec_calloc((size_t)m->nitems, sizeof *s->inv_sqrt_deg);
    return s->U && s->V && s->inv_sqrt_deg ? REC_OK : rec_nomem(fn);
}

/* dim=0: a quarter of the graph's smaller side, as a power of two in
 * [16, 512].  A spectral start of rank near that side is the whole
 * interaction matrix, not a low-pass filter of it: on ml-latest-small's 610
 * users 128 did best on validation and 512 worst, on Gowalla's 29,858 512
 * beat 256 (examples/README.md, "The spectral start").  The fitted model's
 * user and item counts give the same width at load. */
int rec_graphmf_dim(const rec_model *m)
{
    int64_t dim = rec_model_int(m, "dim");
    if (dim > 0)
        return (int)dim;
    int32_t side = (m->nusers < m->nitems ? m->nusers : m->nitems) / 4;
    int w = 16;
    while (w < 512 && 2 * w <= side)
        w *= 2;
    return w;
}

void rec_graphmf_spectral_keys(const rec_model *m, rec_graphmf_layer *l,
                               double (*gain)(void *ctx, double s))
{
    l->renorm = rec_model_flt(m, "renorm");
    l->gain = strcmp(rec_model_str(m, "init"), "spectral") ? NULL : gain;
    l->spectral_iters = (int)rec_model_int(m, "spectral_iters");
    l->spectral_beta = rec_model_flt(m, "spectral_beta");
}

/* Item degrees from the model's record of training items (sorted per user;
 * a repeated item counts once, as in the graph), renormalised as the graph. */
static void item_degrees(rec_model *m, double renorm)
{
    rec_graphmf *s = m->state;
    s->renorm = (float)renorm;
    for (int32_t u = 0; u < m->nusers; u++)
        for (int64_t k = m->seen_ptr[u]; k < m->seen_ptr[u + 1]; k++)
            if (k == m->seen_ptr[u] || m->seen[k] != m->seen[k - 1])
                s->inv_sqrt_deg[m->seen[k]] += 1.0f;
    for (int32_t i = 0; i < m->nitems; i++)
        s->inv_sqrt_deg[i] =
            s->inv_sqrt_deg[i] > 0 ? 1.0f / sqrtf(s->inv_sqrt_deg[i] + s->renorm) : 0.0f;
}

typedef struct fitctx {
    rec_model *m;
    const rec_graphmf_layer *layer;
    const rec_uigraph *ug;
    rec_csr *adj;
    int32_t *edge_user;  /* [nedges] the user of each edge */
    rec_tensor *E0;
    rec_graph *g;
    rec_optim *opt;
    rec_sampler *smp;    /* bpr */
    int bpr, ccl, negatives, cosine;
    float temperature, reg, margin, neg_weight;
} fitctx;

/* rec_l2_normalize's floor on a row's norm: a zero row (an item no batch
 * reached) stays zero rather than dividing by zero. */
#define GRAPHMF_NORM_EPS 1e-12f

/* reg * sum of squares of E0's rows idx / (2 B). */
static rec_tensor *l2_rows(rec_graph *g, rec_tensor *e0, rec_tensor *idx, float reg, int64_t b)
{
    rec_tensor *x = rec_gather(g, e0, idx, -1);
    return rec_scale(g, rec_sum(g, rec_mul(g, x, x)), reg / (2.0f * (float)b));
}

/* SimpleX's cosine contrastive loss over unit rows: mean over the batch of
 * (1 - cos(u, i)) + w * mean over the shared negatives of max(0, cos(u, j) - m).
 * The positive's hinge at 1 is never active (a cosine is at most 1). */
static rec_tensor *ccl_loss(rec_graph *g, rec_tensor *eu, rec_tensor *ei, rec_tensor *ej,
                            float margin, float w)
{
    rec_tensor *m = rec_tensor_zeros(g, REC_F32, 1, (const int64_t[]){ 1 });
    if (!m)
        return NULL;
    m->v[0] = margin;
    rec_tensor *pos = rec_scale(g, rec_mean(g, rec_rowdot(g, eu, ei)), -1.0f);
    rec_tensor *neg = rec_mean(g, rec_relu(g, rec_sub(g, rec_matmul(g, eu, ej, 0, 1), m)));
    rec_tensor *l = rec_add(g, pos, rec_scale(g, neg, w));
    /* + 1: the loss is 1 - mean cos, >= 0 as reported, with the same gradient */
    rec_tensor *one = l ? rec_tensor_zeros(g, REC_F32, 1, (const int64_t[]){ 1 }) : NULL;
    if (!one)
        return NULL;
    one->v[0] = 1.0f;
    return rec_add(g, l, one);
}

static rec_status step(void *ctx, const rec_batch *b, rec_rng *rng, double *loss)
{
    fitctx *c = ctx;
    rec_graph *g = c->g;
    int32_t nu = c->m->nusers, ni = c->m->nitems;
    int64_t n = b->n, nneg = c->bpr ? n : c->negatives;
    rec_graph_reset(g);
    if (c->layer->stochastic)
        rec_graph_seed(g, rec_rng_u64(rng));
    rec_tensor *tu = rec_tensor_i32(g, n), *ti = rec_tensor_i32(g, n);
    rec_tensor *tj = rec_tensor_i32(g, nneg);
    if (!tj)
        return rec_graph_status(g);
    for (int64_t k = 0; k < n; k++) {
        int32_t e = b->rows[k];
        tu->iv[k] = c->edge_user[e];
        ti->iv[k] = nu + c->ug->uitem[e];
    }
    if (c->bpr)
        for (int64_t k = 0; k < n; k++) {
            rec_rng er; /* the example's own stream: the same draws on any rank */
            rec_batch_rng(b, k, &er);
            REC_TRY(rec_sampler_draw(c->smp, &er, tu->iv[k], 1, tj->iv + k));
            /* a user who has seen every item has no negative: padding */
            tj->iv[k] = tj->iv[k] >= 0 ? nu + tj->iv[k] : -1;
        }
    else
        for (int64_t k = 0; k < nneg; k++)
            tj->iv[k] = nu + (int32_t)rec_rng_below(rng, (uint32_t)ni);
    rec_tensor *E = c->layer->propagate(c->layer->ctx, g, c->adj, c->E0);
    rec_tensor *eu = rec_gather(g, E, tu, -1), *ei = rec_gather(g, E, ti, -1);
    rec_tensor *ej = rec_gather(g, E, tj, -1), *l;
    if (c->cosine) {
        eu = rec_l2_normalize(g, eu, GRAPHMF_NORM_EPS);
        ei = rec_l2_normalize(g, ei, GRAPHMF_NORM_EPS);
        ej = rec_l2_normalize(g, ej, GRAPHMF_NORM_EPS);
    }
    if (c->bpr)
        l = rec_bpr(g, rec_rowdot(g, eu, ei), rec_rowdot(g, eu, ej));
    else if (c->ccl)
        l = ccl_loss(g, eu, ei, ej, c->margin, c->neg_weight);
    else
        /* 1/T on the [B, d] user rows, not on the [B, M] logits: the same
         * logits for a fraction of the passes */
        l = rec_loss_sampled_softmax(g, rec_scale(g, eu, 1.0f / c->temperature), ei, ej, NULL,
                                     NULL, 1.0f);
    if (c->reg > 0) {
        l = rec_add(g, l, l2_rows(g, c->E0, tu, c->reg, n));
        l = rec_add(g, l, l2_rows(g, c->E0, ti, c->reg, n));
        if (c->bpr)
            l = rec_add(g, l, l2_rows(g, c->E0, tj, c->reg, n));
    }
    if (!l)
        return rec_graph_status(g);
    *loss = l->v[0];
    REC_TRY(rec_backward(g, l));
    return rec_optim_step(c->opt);
}

/* The propagation of the trained parameters into the model's U and V, with
 * dropout off. */
static rec_status readout(rec_model *m, fitctx *c)
{
    rec_graphmf *s = m->state;
    rec_graph *g = c->g;
    rec_graph_reset(g);
    rec_graph_set_grad(g, 0);
    rec_graph_set_training(g, 0);
    rec_tensor *E = c->layer->propagate(c->layer->ctx, g, c->adj, c->E0);
    if (!E)
        return rec_graph_status(g);
    memcpy(s->U, E->v, (size_t)m->nusers * s->width * sizeof *s->U);
    memcpy(s->V, E->v + (size_t)m->nusers * s->width,
           (size_t)m->nitems * s->width * sizeof *s->V);
    if (c->cosine) /* scores are then cosines, and so is every consumer's dot */
        for (int64_t r = 0; r < (int64_t)m->nusers + m->nitems; r++)
            rec_index_normalise(r < m->nusers ? s->U + (size_t)r * s->width
                                              : s->V + (size_t)(r - m->nusers) * s->width,
                                s->width);
    return c->layer->keep ? c->layer->keep(c->layer->ctx, m) : REC_OK;
}

/* Validation scores through U and V (rec_model_train); training goes on
 * with gradients and dropout. */
static rec_status sync(void *ctx)
{
    fitctx *c = ctx;
    rec_status st = readout(c->m, c);
    rec_graph_set_grad(c->g, 1);
    rec_graph_set_training(c->g, 1);
    return st;
}

int rec_graphmf_unit_rows(const rec_model *m)
{
    return !strcmp(rec_model_str(m, "similarity"), "cosine") ||
           !strcmp(rec_model_str(m, "loss"), "ccl");
}

rec_status rec_graphmf_fit(rec_model *m, const rec_dataset *d, const rec_graphmf_layer *layer,
                           rec_progress_fn cb, void *user, const char *fn)
{
    if (rec_model_has_key(m, "linear") && rec_model_flt(m, "linear") > 0 &&
        !strcmp(rec_model_str(m, "index"), "hnsw"))
        return rec_err(REC_E_INVALID, "%s: index=hnsw searches inner products of vectors, and "
                       "linear=%g adds an item-item term to the scores (set linear=0, or "
                       "index=exact)", fn, rec_model_flt(m, "linear"));
    REC_TRY(alloc_state(m, layer->width, fn));
    item_degrees(m, layer->renorm);
    fitctx c = { .m = m, .layer = layer, .bpr = !strcmp(rec_model_str(m, "loss"), "bpr"),
                 .negatives = (int)rec_model_int(m, "negatives"),
                 .temperature = (float)rec_model_flt(m, "temperature"),
                 .reg = (float)rec_model_flt(m, "reg"),
                 .ccl = !strcmp(rec_model_str(m, "loss"), "ccl"),
                 .margin = (float)rec_model_flt(m, "margin"),
                 .neg_weight = (float)rec_model_flt(m, "neg_weight"),
                 .cosine = rec_graphmf_unit_rows(m) };
    rec_uigraph *ug = NULL;
    rec_pstore *ps = NULL;
    rec_status st = rec_uigraph_build(&ug, d, fn);
    c.ug = ug;
    if (!st && ug->nedges == 0)
        st = rec_err(REC_E_INVALID, "%s: the dataset has no interactions", fn);
    if (!st)
        st = rec_uigraph_adjacency_renorm(ug, REC_GRAPH_NORM_SYMMETRIC, layer->renorm, &c.adj,
                                          fn);
    if (!st) {
        c.edge_user = rec_malloc((size_t)ug->nedges * sizeof *c.edge_user);
        st = c.edge_user ? REC_OK : rec_nomem(fn);
    }
    if (!st) {
        for (int32_t u = 0; u < ug->nusers; u++)
            for (int64_t k = ug->uptr[u]; k < ug->uptr[u + 1]; k++)
                c.edge_user[k] = u;
        st = rec_pstore_create(&ps);
    }
    if (!st) {
        int64_t shape[2] = { (int64_t)m->nusers + m->nitems, rec_graphmf_dim(m) };
        c.E0 = rec_pstore_add(ps, "E0", 2, shape, 0);
        st = c.E0 ? REC_OK : REC_E_NOMEM;
    }
    if (!st) {
        rec_rng rng;
        rec_rng_seed(&rng, (uint64_t)rec_model_int(m, "seed"));
        rec_init_normal(c.E0, &rng, 0, (float)rec_model_flt(m, "init_std"));
        if (layer->gain)
            st = rec_graphmf_spectral(c.adj, m->nusers, m->nitems, (int)c.E0->shape[1],
                                      layer->spectral_iters, layer->spectral_beta,
                                      rec_model_flt(m, "init_std"), layer->gain, layer->ctx,
                                      &rng, c.E0->v, fn);
        if (!st && layer->init)
            st = layer->init(layer->ctx, ps, &rng);
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
        rec_status rs = readout(m, &c);
        if (!rs && rec_model_has_key(m, "linear"))
            rs = rec_graphmf_linear_fit(m, rec_model_flt(m, "linear"), fn);
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
    rec_uigraph_adj_free(c.adj);
    rec_uigraph_destroy(ug);
    return st;
}

rec_status rec_graphmf_score_user(const rec_model *m, int32_t u, float *out)
{
    const rec_graphmf *s = m->state;
    rec_sgemv(0, m->nitems, s->width, 1.0f, s->V, s->width, s->U + (size_t)u * s->width, 0.0f,
              out);
    return rec_graphmf_linear_add(m, m->seen + m->seen_ptr[u],
                                  (size_t)(m->seen_ptr[u + 1] - m->seen_ptr[u]),
                                  "rec_model_recommend", out);
}

rec_status rec_graphmf_vectors(const rec_model *m, rec_side side, float *out, int *dim)
{
    const rec_graphmf *s = m->state;
    if (s->lin_w != 0.0f)
        return rec_err(REC_E_UNSUPPORTED, "rec_model_vectors: %s's scores add the linear "
                       "filter's item-item term (linear > 0), so they are not inner products "
                       "of vectors; linear=0 gives them", m->vt->kind);
    return rec_model_copy_vectors(m, side, s->U, s->V, s->width, out, dim);
}

rec_status rec_graphmf_score_pair(const rec_model *m, int32_t u, int32_t i, float *out)
{
    const rec_graphmf *s = m->state;
    *out = rec_sdot(s->width, s->U + (size_t)u * s->width, s->V + (size_t)i * s->width);
    return rec_graphmf_linear_items(m, u, &i, 1, "rec_model_score", out);
}

/* A candidate list: the dots, then the linear term from one walk of u's
 * items (not one per candidate, as scoring pair by pair would be). */
rec_status rec_graphmf_score_items(const rec_model *m, int32_t u, const int32_t *items, size_t n,
                                   float *out)
{
    const rec_graphmf *s = m->state;
    for (size_t j = 0; j < n; j++)
        out[j] = rec_sdot(s->width, s->U + (size_t)u * s->width,
                          s->V + (size_t)items[j] * s->width);
    return rec_graphmf_linear_items(m, u, items, n, "rec_model_score_items", out);
}

/* The fold-in of graphmf-impl.h.  Ratings, when given, are ignored: the
 * graph's edges are binary. */
rec_status rec_graphmf_score_history(const rec_model *m, const int32_t *items, const float *r,
                                     size_t n, float *out)
{
    (void)r;
    const rec_graphmf *s = m->state;
    int d = s->width;
    float *uv = rec_calloc((size_t)d, sizeof *uv);
    if (!uv) {
        char fn[64];
        snprintf(fn, sizeof fn, "rec_model_recommend_history(%s)", m->vt->kind);
        return rec_nomem(fn);
    }
    float scale = n ? 1.0f / sqrtf((float)n + s->renorm) : 0.0f;
    for (size_t h = 0; h < n; h++)
        rec_saxpy(d, scale * s->inv_sqrt_deg[items[h]], s->V + (size_t)items[h] * d, uv);
    rec_sgemv(0, m->nitems, d, 1.0f, s->V, d, uv, 0.0f, out);
    rec_free(uv, (size_t)d * sizeof *uv);
    return rec_graphmf_linear_add(m, items, n, "rec_model_recommend_history", out);
}

/* Cosine between propagated item vectors. */
rec_status rec_graphmf_similar(const rec_model *m, int32_t i, float *out)
{
    const rec_graphmf *s = m->state;
    rec_rows_cosine(s->V, m->nitems, s->width, s->V + (size_t)i * s->width, out);
    return REC_OK;
}

/* "<kind>.users" / "<kind>.items" (kinds are short, registry names). */
static void names(const rec_model *m, char *users, char *items, size_t cap)
{
    snprintf(users, cap, "%s.users", m->vt->kind);
    snprintf(items, cap, "%s.items", m->vt->kind);
}

rec_status rec_graphmf_save(const rec_model *m, rec_lrm_writer *w)
{
    const rec_graphmf *s = m->state;
    char un[64], in[64];
    names(m, un, in, sizeof un);
    int64_t us[2] = { m->nusers, s->width }, is[2] = { m->nitems, s->width };
    REC_TRY(rec_lrm_add_tensor(w, un, REC_LRM_F32, 2, us, s->U));
    REC_TRY(rec_lrm_add_tensor(w, in, REC_LRM_F32, 2, is, s->V));
    return rec_graphmf_linear_save(m, w);
}

rec_status rec_graphmf_load(rec_model *m, const rec_lrm_reader *r, int width, double renorm,
                            const char *fn)
{
    REC_TRY(alloc_state(m, width, fn));
    rec_graphmf *s = m->state;
    char un[64], in[64];
    names(m, un, in, sizeof un);
    int64_t us[2] = { m->nusers, width }, is[2] = { m->nitems, width };
    const void *pu, *pi;
    REC_TRY(rec_lrm_tensor_expect(r, un, REC_LRM_F32, 2, us, &pu));
    REC_TRY(rec_lrm_tensor_expect(r, in, REC_LRM_F32, 2, is, &pi));
    memcpy(s->U, pu, (size_t)m->nusers * width * sizeof *s->U);
    memcpy(s->V, pi, (size_t)m->nitems * width * sizeof *s->V);
    item_degrees(m, renorm);
    return rec_graphmf_linear_load(m, r, fn);
}
