/* "pinsage": PinSage (Ying et al., KDD 2018) on the item-item graph that
 * users' co-engagement implies.
 *
 * Neighbourhoods: random walks with restart from every item (item -> user
 * -> item hops, data/graph_walk-impl.h); an item's neighbours are its
 * `neighbours` most visited items, weighted by their visit counts
 * (normalised to add up to 1).
 * Embeddings: X [items, dim] learned input vectors (the paper's visual and
 * text features; a dataset here has none for every item), then `layers`
 * PinSage convolutions (rec_nn_pinsage_forward: importance pooling of the
 * neighbours' transformed vectors, concat with self, dense + ReLU, unit
 * norm), computed per batch on the sampled neighbourhoods only: a step costs
 * what its batch's neighbourhoods touch, not the graph's size.
 * Loss: max-margin on co-engaged pairs.  A pair is two items a user engaged
 * with one after the other (timestamp order), as the paper's "clicked right
 * after"; for each query q and positive p
 *   mean max(0, z_q . z_n - z_q . z_p + margin)
 * over `negatives` uniform items n shared by the batch (the paper's
 * minibatch negatives: embedded once, compared with every pair) and, from
 * the second epoch on, the
 * paper's curriculum: epoch e adds min(e - 1, hard) hard negatives per
 * pair, items ranked hard_lo .. hard_hi - 1 by q's walk visits (related to
 * q, but less than p).  Adam.  The defaults (2000 hops, hard negatives
 * from ranks 200-500) were chosen on a validation split of ml-latest-small
 * (examples/README.md has the runs): ranks 10-50 are items the query's
 * users take too, and as negatives they cost three quarters of the recall;
 * ranks 200-500 add 0.03 over no hard negatives.
 * Users: a user's scores are the mean of their `recent` last items'
 * similarities (z_h . z_i, cosines: z has unit norm), the nearest items of
 * their recent items; a history given at call time the same way, from its
 * last items.  similar(i) = z_i . z_j; explain(u, i) = the user's recent
 * items by their similarity to i. */
#include "model-impl.h"
#include "core/linalg-impl.h"
#include "data/graph_walk-impl.h"
#include "nn/nn-impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PS_MAX_LAYERS 3
#define PS_MAX_HARD 8

static const rec_param_spec spec[] = {
    { "dim", REC_PARAM_INT, "64", 1, 4096, NULL, "embedding size (inputs, hidden and outputs)" },
    { "layers", REC_PARAM_INT, "2", 1, PS_MAX_LAYERS, NULL, "convolution layers" },
    { "neighbours", REC_PARAM_INT, "10", 1, 1024, NULL,
      "most visited items pooled per item (T)" },
    { "walk_steps", REC_PARAM_INT, "2000", 1, 1 << 24, NULL,
      "random-walk hops per item for its visit counts" },
    { "restart", REC_PARAM_FLOAT, "0.5", 0, 0.99, NULL,
      "probability of returning to the query item after each hop" },
    { "margin", REC_PARAM_FLOAT, "0.1", 0, 10, NULL, "max-margin loss margin" },
    { "negatives", REC_PARAM_INT, "500", 1, 1 << 16, NULL,
      "uniform negatives shared by a batch (the paper's 500)" },
    { "hard", REC_PARAM_INT, "2", 0, PS_MAX_HARD, NULL,
      "most hard negatives per pair (epoch e uses min(e - 1, hard))" },
    { "hard_lo", REC_PARAM_INT, "200", 0, 4096, NULL, "hard negatives: first walk rank" },
    { "hard_hi", REC_PARAM_INT, "500", 1, 4096, NULL, "hard negatives: rank bound (exclusive)" },
    { "recent", REC_PARAM_INT, "200", 1, 4096, NULL,
      "a user's last items that score for them" },
    { "epochs", REC_PARAM_INT, "10", 1, 100000, NULL, "passes over the co-engaged pairs" },
    { "batch", REC_PARAM_INT, "512", 1, 1 << 20, NULL, "pairs per step" },
    { "lr", REC_PARAM_FLOAT, "0.005", 0, 10, NULL, "Adam learning rate" },
    { "init_std", REC_PARAM_FLOAT, "0.1", 0, 10, NULL, "std of the input vectors' init" },
    { "seed", REC_PARAM_INT, "42", 0, 9.2e18, NULL, "random seed" },
    REC_MODEL_CHECKPOINT_KEYS,
    REC_MODEL_VALIDATION_KEYS,
    REC_MODEL_INDEX_KEYS,
};
#define NSPEC (sizeof spec / sizeof *spec)

typedef struct ps_state {
    int dim, recent;
    float *Z;         /* [nitems, dim], unit rows */
    int32_t *last;    /* [nusers, recent]: most recent first, -1 after the last */
} ps_state;

static void ps_free(rec_model *m)
{
    ps_state *s = m->state;
    if (!s)
        return;
    rec_free(s->Z, (size_t)m->nitems * s->dim * sizeof *s->Z);
    rec_free(s->last, (size_t)m->nusers * s->recent * sizeof *s->last);
    rec_free(s, sizeof *s);
    m->state = NULL;
}

static rec_status alloc_state(rec_model *m, const char *fn)
{
    ps_state *s = rec_calloc(1, sizeof *s);
    if (!s)
        return rec_nomem(fn);
    m->state = s;
    s->dim = (int)rec_model_int(m, "dim");
    s->recent = (int)rec_model_int(m, "recent");
    s->Z = rec_malloc((size_t)m->nitems * s->dim * sizeof *s->Z);
    s->last = rec_malloc((size_t)m->nusers * s->recent * sizeof *s->last);
    return s->Z && s->last ? REC_OK : rec_nomem(fn);
}

/* ---- the embedding of a batch of items over their sampled neighbourhoods ---- */

typedef struct ps_fit {
    rec_model *m;
    const rec_walk_nbrs *nb;
    int T, layers, hard_now, hard_lo, hard_hi, negatives;
    float margin;
    rec_nn_pinsage conv[PS_MAX_LAYERS];
    rec_tensor *X;
    rec_graph *g;
    rec_optim *opt;
    int32_t *pos;       /* [nitems]: an item's row in the level being built, -1 */
    int32_t *pa, *pb;   /* [npairs] co-engaged (query, positive) */
    int64_t npairs;
} ps_fit;

/* Rows of level k-1 for the items of level k: each item and its neighbours,
 * once each.  in [n] -> *out [*nout] (arena); self [n] and, per item, its
 * neighbours' rows nrow / weights nw (bags off [n + 1]). */
static rec_status level_down(ps_fit *c, const int32_t *in, int64_t n, int32_t **out,
                             int64_t *nout, rec_tensor **self, rec_tensor **nrow,
                             rec_tensor **nw, rec_tensor **off)
{
    rec_graph *g = c->g;
    const rec_walk_nbrs *nb = c->nb;
    int64_t cap = n * (c->T + 1);
    int32_t *o = rec_graph_alloc(g, (size_t)(cap ? cap : 1) * sizeof *o);
    *self = rec_tensor_i32(g, n);
    *off = rec_tensor_i32(g, n + 1);
    int64_t ws = n * c->T > 0 ? n * c->T : 1;
    *nrow = rec_tensor_i32(g, ws);
    *nw = rec_tensor_1d(g, ws);
    if (!o || !*nw)
        return rec_graph_status(g);
    int64_t k = 0, e = 0;
#define ROW_OF(item, dst)                                                                      \
    do {                                                                                       \
        if (c->pos[item] < 0) {                                                                \
            c->pos[item] = (int32_t)k;                                                         \
            o[k++] = (item);                                                                   \
        }                                                                                      \
        (dst) = c->pos[item];                                                                  \
    } while (0)
    (*off)->iv[0] = 0;
    for (int64_t j = 0; j < n; j++) {
        int32_t q = in[j];
        ROW_OF(q, (*self)->iv[j]);
        const int32_t *ni = nb->idx + (int64_t)q * nb->top;
        const float *w = nb->w + (int64_t)q * nb->top;
        float sum = 0;
        int t = 0;
        for (; t < c->T && ni[t] >= 0; t++)
            sum += w[t];
        for (int u = 0; u < t; u++, e++) {
            ROW_OF(ni[u], (*nrow)->iv[e]);
            (*nw)->v[e] = w[u] / sum;
        }
        (*off)->iv[j + 1] = (int32_t)e;
    }
#undef ROW_OF
    for (int64_t j = 0; j < k; j++)
        c->pos[o[j]] = -1;
    (*nrow)->shape[0] = (*nrow)->n = e ? e : 0;
    (*nw)->shape[0] = (*nw)->n = e;
    *out = o;
    *nout = k;
    return REC_OK;
}

/* z [n, dim] for items[0..n) through every layer. */
static rec_tensor *embed(ps_fit *c, const int32_t *items, int64_t n)
{
    rec_graph *g = c->g;
    const int32_t *lv[PS_MAX_LAYERS + 1];
    int64_t ln[PS_MAX_LAYERS + 1];
    rec_tensor *self[PS_MAX_LAYERS], *nrow[PS_MAX_LAYERS], *nw[PS_MAX_LAYERS],
        *off[PS_MAX_LAYERS];
    lv[c->layers] = items;
    ln[c->layers] = n;
    for (int k = c->layers; k >= 1; k--) {
        int32_t *o = NULL;
        if (level_down(c, lv[k], ln[k], &o, &ln[k - 1], &self[k - 1], &nrow[k - 1], &nw[k - 1],
                       &off[k - 1]))
            return NULL;
        lv[k - 1] = o;
    }
    rec_tensor *ids = rec_tensor_wrap_i32(g, (int32_t *)lv[0], ln[0]);
    rec_tensor *h = rec_gather(g, c->X, ids, -1);
    for (int k = 1; k <= c->layers; k++)
        h = rec_nn_pinsage_forward(g, &c->conv[k - 1], h, self[k - 1], nrow[k - 1], off[k - 1],
                                   nw[k - 1]);
    return h;
}

/* ---- training ----------------------------------------------------------------- */

static rec_tensor *hinge(rec_graph *g, rec_tensor *pos, rec_tensor *zq, rec_tensor *zn,
                         float margin)
{
    rec_tensor *d = rec_sub(g, rec_rowdot(g, zq, zn), pos);
    rec_tensor *mt = rec_tensor_1d(g, 1);
    if (!mt)
        return NULL;
    mt->v[0] = margin;
    return rec_mean(g, rec_relu(g, rec_add(g, d, mt)));
}

/* The same against negatives zn [M, d] shared by every pair: [M, B] scores
 * so that pos [B] broadcasts over rows. */
static rec_tensor *hinge_shared(rec_graph *g, rec_tensor *pos, rec_tensor *zq, rec_tensor *zn,
                                float margin)
{
    rec_tensor *d = rec_sub(g, rec_matmul(g, zn, zq, 0, 1), pos);
    rec_tensor *mt = rec_tensor_1d(g, 1);
    if (!mt)
        return NULL;
    mt->v[0] = margin;
    return rec_mean(g, rec_relu(g, rec_add(g, d, mt)));
}

static rec_status begin_epoch(void *ctx, int epoch)
{
    ps_fit *c = ctx;
    int h = epoch - 1;
    c->hard_now = h < (int)rec_model_int(c->m, "hard") ? h : (int)rec_model_int(c->m, "hard");
    return REC_OK;
}

static rec_status step(void *ctx, const rec_batch *b, rec_rng *rng, double *loss)
{
    ps_fit *c = ctx;
    rec_graph *g = c->g;
    int32_t ni = c->m->nitems;
    int64_t n = b->n, groups = 2 + c->hard_now, nn = c->negatives;
    rec_graph_reset(g);
    int32_t *items = rec_graph_alloc(g, (size_t)(groups * n + nn) * sizeof *items);
    if (!items)
        return rec_graph_status(g);
    const rec_walk_nbrs *nb = c->nb;
    for (int64_t k = 0; k < n; k++) {
        int32_t q = c->pa[b->rows[k]], p = c->pb[b->rows[k]];
        items[k] = q;
        items[n + k] = p;
        for (int h = 0; h < c->hard_now; h++) {
            int32_t r = c->hard_lo + (int32_t)rec_rng_below(rng,
                                                             (uint32_t)(c->hard_hi - c->hard_lo));
            int32_t v = nb->idx[(int64_t)q * nb->top + r];
            /* a query with fewer ranked items than hard_lo + r: a uniform one */
            items[(2 + h) * n + k] = v >= 0 && v != p ? v : (int32_t)rec_rng_below(rng,
                                                                                 (uint32_t)ni);
        }
    }
    for (int64_t k = 0; k < nn; k++)
        items[groups * n + k] = (int32_t)rec_rng_below(rng, (uint32_t)ni);
    rec_tensor *z = embed(c, items, groups * n + nn);
    rec_tensor *zq = rec_slice_rows(g, z, 0, n), *zp = rec_slice_rows(g, z, n, 2 * n);
    rec_tensor *pos = rec_rowdot(g, zq, zp);
    rec_tensor *l = hinge_shared(g, pos, zq, rec_slice_rows(g, z, groups * n, groups * n + nn),
                                 c->margin);
    for (int h = 0; h < c->hard_now; h++)
        l = rec_add(g, l, hinge(g, pos, zq, rec_slice_rows(g, z, (2 + h) * n, (3 + h) * n),
                                c->margin));
    if (!l)
        return rec_graph_status(g);
    *loss = l->v[0];
    REC_TRY(rec_backward(g, l));
    return rec_optim_step(c->opt);
}

/* Z for every item, in chunks, no tape. */
static rec_status readout(ps_fit *c, ps_state *s)
{
    rec_graph *g = c->g;
    rec_graph_set_grad(g, 0);
    int32_t ni = c->m->nitems;
    enum { CHUNK = 1024 };
    int32_t ids[CHUNK];
    for (int32_t b = 0; b < ni; b += CHUNK) {
        int32_t e = b + CHUNK < ni ? b + CHUNK : ni;
        for (int32_t i = b; i < e; i++)
            ids[i - b] = i;
        rec_graph_reset(g);
        rec_tensor *z = embed(c, ids, e - b);
        if (!z)
            return rec_graph_status(g);
        memcpy(s->Z + (size_t)b * s->dim, z->v, (size_t)(e - b) * s->dim * sizeof *s->Z);
    }
    return REC_OK;
}

/* Validation scores through Z (rec_model_train); training goes on with
 * gradients. */
static rec_status sync(void *ctx)
{
    ps_fit *c = ctx;
    rec_status st = readout(c, c->m->state);
    rec_graph_set_grad(c->g, 1);
    return st;
}

/* Co-engaged pairs: consecutive distinct items in each user's time order;
 * and each user's `recent` last distinct items, most recent first. */
static rec_status pairs_and_recent(ps_fit *c, ps_state *s, const rec_dataset *d, const char *fn)
{
    const int64_t *ptr;
    const int32_t *it;
    REC_TRY(rec_ds_user_csr(d, &ptr, &it, NULL));
    rec_model *m = c->m;
    int64_t rows = ptr[m->nusers];
    size_t cap = (size_t)(rows ? rows : 1);
    c->pa = rec_malloc(cap * sizeof *c->pa);
    c->pb = rec_malloc(cap * sizeof *c->pb);
    if (!c->pa || !c->pb)
        return rec_nomem(fn);
    int64_t np = 0;
    for (int32_t u = 0; u < m->nusers; u++) {
        for (int64_t k = ptr[u]; k + 1 < ptr[u + 1]; k++)
            if (it[k] != it[k + 1]) {
                c->pa[np] = it[k];
                c->pb[np++] = it[k + 1];
            }
        int32_t *last = s->last + (size_t)u * s->recent;
        int r = 0;
        for (int64_t k = ptr[u + 1] - 1; k >= ptr[u] && r < s->recent; k--) {
            int dup = 0;
            for (int j = 0; j < r; j++)
                dup |= last[j] == it[k];
            if (!dup)
                last[r++] = it[k];
        }
        for (; r < s->recent; r++)
            last[r] = -1;
    }
    c->npairs = np;
    return np ? REC_OK : rec_err(REC_E_INVALID, "%s: no user has two distinct items, so there "
                                 "are no co-engaged pairs to train on", fn);
}

static rec_status ps_fit_model(rec_model *m, const rec_dataset *d, rec_progress_fn cb,
                               void *user)
{
    static const char fn[] = "rec_model_fit(pinsage)";
    int lo = (int)rec_model_int(m, "hard_lo"), hi = (int)rec_model_int(m, "hard_hi");
    if (lo >= hi)
        return rec_err(REC_E_INVALID, "%s: hard_lo = %d must be below hard_hi = %d", fn, lo, hi);
    REC_TRY(alloc_state(m, fn));
    ps_state *s = m->state;
    ps_fit c = { .m = m, .T = (int)rec_model_int(m, "neighbours"),
                 .layers = (int)rec_model_int(m, "layers"), .hard_lo = lo, .hard_hi = hi,
                 .margin = (float)rec_model_flt(m, "margin"),
                 .negatives = (int)rec_model_int(m, "negatives") };
    rec_uigraph *ug = NULL;
    rec_walk_nbrs *nb = NULL;
    rec_pstore *ps = NULL;
    rec_status st = pairs_and_recent(&c, s, d, fn);
    if (!st)
        st = rec_uigraph_build(&ug, d, fn);
    if (!st) {
        int top = c.T > hi ? c.T : hi;
        rec_walk_opts o = { .steps = rec_model_int(m, "walk_steps"),
                            .restart = (float)rec_model_flt(m, "restart"), .top = top,
                            .seed = (uint64_t)rec_model_int(m, "seed") };
        st = rec_walk_neighbours(ug, &o, &nb, fn);
        c.nb = nb;
    }
    if (!st) {
        c.pos = rec_malloc((size_t)m->nitems * sizeof *c.pos);
        st = c.pos ? REC_OK : rec_nomem(fn);
    }
    if (!st) {
        memset(c.pos, 0xff, (size_t)m->nitems * sizeof *c.pos);
        st = rec_pstore_create(&ps);
    }
    if (!st) {
        int64_t shape[2] = { m->nitems, s->dim };
        c.X = rec_pstore_add(ps, "X", 2, shape, 0);
        st = c.X ? REC_OK : REC_E_NOMEM;
    }
    rec_rng rng;
    rec_rng_seed(&rng, (uint64_t)rec_model_int(m, "seed"));
    if (!st)
        rec_init_normal(c.X, &rng, 0, (float)rec_model_flt(m, "init_std"));
    for (int k = 0; k < c.layers && !st; k++) {
        char name[32];
        snprintf(name, sizeof name, "conv.%d", k);
        st = rec_nn_pinsage_init(&c.conv[k], ps, name, s->dim, s->dim, s->dim, &rng);
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
    if (!st) {
        rec_trainer_vt vt = { .n_examples = c.npairs, .step = step,
                              .begin_epoch = begin_epoch, .sync = sync };
        st = rec_model_train(m, &vt, &c, ps, c.opt, cb, user, fn);
    }
    if (!st || st == REC_E_CANCELLED) { /* a cancelled model keeps the epochs it ran */
        rec_status rs = readout(&c, s);
        if (rs)
            st = rs;
    }
    if (st == REC_E_NOMEM && !*rec_last_error())
        rec_nomem(fn);
    rec_graph_destroy(c.g);
    rec_optim_destroy(c.opt);
    rec_pstore_destroy(ps);
    rec_free(c.pos, (size_t)m->nitems * sizeof *c.pos);
    size_t cap = (size_t)(rec_ds_num_rows(d) ? rec_ds_num_rows(d) : 1);
    rec_free(c.pa, cap * sizeof *c.pa);
    rec_free(c.pb, cap * sizeof *c.pb);
    rec_walk_nbrs_destroy(nb);
    rec_uigraph_destroy(ug);
    return st;
}

/* ---- serving ------------------------------------------------------------------ */

/* out[i] = mean over the items h[0..n) of Z[h] . Z[i]. */
static rec_status score_items(const rec_model *m, const int32_t *h, size_t n, float *out,
                              const char *fn)
{
    const ps_state *s = m->state;
    float *q = rec_calloc((size_t)s->dim, sizeof *q);
    if (!q)
        return rec_nomem(fn);
    size_t used = 0;
    for (size_t j = 0; j < n; j++)
        if (h[j] >= 0) {
            rec_saxpy(s->dim, 1.0f, s->Z + (size_t)h[j] * s->dim, q);
            used++;
        }
    float sc = used ? 1.0f / (float)used : 0.0f;
    rec_sgemv(0, m->nitems, s->dim, sc, s->Z, s->dim, q, 0.0f, out);
    rec_free(q, (size_t)s->dim * sizeof *q);
    return REC_OK;
}

/* A user's vector is the mean of its recent items' Z rows (score_items'
 * query), an item's its Z row. */
static rec_status ps_vectors(const rec_model *m, rec_side side, float *out, int *dim)
{
    const ps_state *s = m->state;
    if (side == REC_SIDE_ITEM)
        return rec_model_copy_vectors(m, side, NULL, s->Z, s->dim, out, dim);
    *dim = s->dim;
    for (int32_t u = 0; out && u < m->nusers; u++) {
        float *q = out + (size_t)u * s->dim;
        const int32_t *h = s->last + (size_t)u * s->recent;
        memset(q, 0, (size_t)s->dim * sizeof *q);
        size_t used = 0;
        for (int j = 0; j < s->recent; j++)
            if (h[j] >= 0) {
                rec_saxpy(s->dim, 1.0f, s->Z + (size_t)h[j] * s->dim, q);
                used++;
            }
        float sc = used ? 1.0f / (float)used : 0.0f;
        for (int t = 0; t < s->dim; t++)
            q[t] *= sc;
    }
    return REC_OK;
}

static rec_status ps_score_user(const rec_model *m, int32_t u, float *out)
{
    const ps_state *s = m->state;
    return score_items(m, s->last + (size_t)u * s->recent, (size_t)s->recent, out,
                       "rec_model_recommend(pinsage)");
}

/* The history's last `recent` items, in the order given (the last most
 * recent). */
static rec_status ps_score_history(const rec_model *m, const int32_t *items, const float *r,
                                   size_t n, float *out)
{
    (void)r;
    const ps_state *s = m->state;
    size_t k = n < (size_t)s->recent ? n : (size_t)s->recent;
    return score_items(m, items + (n - k), k, out, "rec_model_recommend_history(pinsage)");
}

static rec_status ps_similar(const rec_model *m, int32_t i, float *out)
{
    const ps_state *s = m->state;
    rec_sgemv(0, m->nitems, s->dim, 1.0f, s->Z, s->dim, s->Z + (size_t)i * s->dim, 0.0f, out);
    return REC_OK;
}

/* The user's recent items by their share of the score (z_h . z_i / recent). */
static rec_status ps_explain(const rec_model *m, int32_t u, int32_t i, size_t k,
                             const char **reasons, float *weights, size_t *n)
{
    const ps_state *s = m->state;
    const int32_t *last = s->last + (size_t)u * s->recent;
    rec_weighted *rk = rec_malloc((size_t)s->recent * sizeof *rk);
    if (!rk)
        return rec_nomem("rec_model_explain(pinsage)");
    int r = 0;
    for (; r < s->recent && last[r] >= 0; r++)
        ;
    for (int j = 0; j < r; j++)
        rk[j] = (rec_weighted){ rec_sdot(s->dim, s->Z + (size_t)last[j] * s->dim,
                                   s->Z + (size_t)i * s->dim) / (float)r, last[j] };
    qsort(rk, (size_t)r, sizeof *rk, rec_cmp_weighted);
    *n = (size_t)r < k ? (size_t)r : k;
    for (size_t j = 0; j < *n; j++) {
        reasons[j] = rec_idmap_name(m->items, rk[j].item);
        weights[j] = rk[j].w;
    }
    rec_free(rk, (size_t)s->recent * sizeof *rk);
    return REC_OK;
}

static rec_status ps_save(const rec_model *m, rec_lrm_writer *w)
{
    const ps_state *s = m->state;
    int64_t zs[2] = { m->nitems, s->dim }, ls[2] = { m->nusers, s->recent };
    REC_TRY(rec_lrm_add_tensor(w, "pinsage.items", REC_LRM_F32, 2, zs, s->Z));
    return rec_lrm_add_tensor(w, "pinsage.recent", REC_LRM_I32, 2, ls, s->last);
}

static rec_status ps_load(rec_model *m, const rec_lrm_reader *r)
{
    static const char fn[] = "rec_model_load(pinsage)";
    REC_TRY(alloc_state(m, fn));
    ps_state *s = m->state;
    int64_t zs[2] = { m->nitems, s->dim }, ls[2] = { m->nusers, s->recent };
    const void *pz, *pl;
    REC_TRY(rec_lrm_tensor_expect(r, "pinsage.items", REC_LRM_F32, 2, zs, &pz));
    REC_TRY(rec_lrm_tensor_expect(r, "pinsage.recent", REC_LRM_I32, 2, ls, &pl));
    memcpy(s->Z, pz, (size_t)m->nitems * s->dim * sizeof *s->Z);
    memcpy(s->last, pl, (size_t)m->nusers * s->recent * sizeof *s->last);
    for (size_t k = 0; k < (size_t)m->nusers * s->recent; k++)
        if (s->last[k] < -1 || s->last[k] >= m->nitems)
            return rec_err(REC_E_FORMAT, "%s: pinsage.recent[%zu] = %d is not an item", fn, k,
                           (int)s->last[k]);
    return REC_OK;
}

const rec_model_vt rec_pinsage_vt = {
    .kind = "pinsage",
    .summary = "PinSage: item embeddings by convolutions over random-walk neighbourhoods, "
               "max-margin loss with walk-ranked hard negatives; users from their recent items",
    .spec = spec,
    .nspec = NSPEC,
    .fit = ps_fit_model,
    .score_user = ps_score_user,
    .vectors = ps_vectors,
    .score_history = ps_score_history,
    .similar = ps_similar,
    .explain = ps_explain,
    .save = ps_save,
    .load = ps_load,
    .free_state = ps_free,
};
