/* "twotower": a user tower and an item tower (feature embeddings -> MLP ->
 * L2 norm) scored by their dot product, trained with in-batch InfoNCE (with
 * or without the log-Q correction), BCE over hard + random negatives, or a
 * mix.  Item vectors are precomputed into a flat index at fit and load;
 * items without training interactions get a zero id embedding, so their
 * vectors come from their features alone (cold start: load the data with
 * catalog=all and they are recommended like any other).
 *
 * Features (user_features, item_features: comma-separated):
 *   id               the entity's id embedding
 *   <field>          a field of the tower's side: categorical (Embedding),
 *                    multi-hot (EmbeddingBag, mean) or numeric (one column)
 *   <item field>_hist  user only: weighted mean over the multiset of the
 *                    item field's codes of the user's training items (W2's
 *                    user genre bag: "genres_hist")
 *   hist_bag         user only: mean of an item table over the user's
 *                    earlier items
 *   hist_gru         user only: GRU over the user's last hist_len items
 *   <context>        user only: a per-interaction context (time:hour,
 *                    time:weekday or one the data declares): an Embedding
 *                    of each training row's own value, so a pair's
 *                    negatives meet the user in the positive's context;
 *                    at call time rec_model_recommend_context's (the
 *                    precomputed user vectors have every context missing)
 *   <text field>     hashed token embeddings through the text encoder
 *                    (text_encoder: mean, conv or transformer;
 *                    twotower_text.c), trained with the towers
 * hist_bag and hist_gru see, for a training pair, only the items before it
 * in time (no leak of the target); at scoring, the whole training history.
 *
 * Cold items: id_dropout trains with a share of the items' id rows replaced
 * by the zero row a cold item has, so the item tower learns to score from
 * features alone (DropoutNet, Volkovs et al. 2017, drops its preference
 * inputs in training for the same reason); on ml-latest-small's cold-items
 * validation split its AUC rose with the share (0.770 at 0, 0.787 at 0.5,
 * 0.791 at 0.9).  It is 0 by default because the default item tower is the
 * id alone.  Users and items not in the training data are also described
 * at call time (twotower_features.c).
 *
 * The user tower's body (twotower_towers.c): user_tower=moe replaces its
 * MLP by a mixture of experts (nn/moe.c) whose balance term joins the loss
 * with weight moe_balance; feature_gate puts per-feature gates read from
 * the context before it (nn/feature_gate.c).  Both are off by default and
 * then build nothing, so default models are the ones before them. */
#include "twotower-impl.h"
#include "core/ops.h"
#include "train/train-impl.h"
#include "retrieval/topk-impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const rec_param_spec spec[] = {
    { "user_features", REC_PARAM_STR, "id", 0, 0, NULL,
      "user tower inputs: id, user fields, <item field>_hist (multi-hot, categorical or text), "
      "hist_bag, hist_gru, hist_attn, hist_hier, per-interaction contexts (time:hour, "
      "time:weekday, declared ones)" },
    { "item_features", REC_PARAM_STR, "id", 0, 0, NULL,
      "item tower inputs: id and item fields (categorical, multi-hot, numeric, dense, text)" },
    { "text_encoder", REC_PARAM_STR, "mean", 0, 0, "mean|conv|transformer",
      "text fields: token embeddings pooled by their mean, a width-3 convolution with ReLU "
      "and max over positions, or a bidirectional transformer read at a [CLS] token" },
    { "text_buckets", REC_PARAM_INT, "32768", 16, 1 << 24, NULL,
      "text fields: rows of the token table each token is hashed into" },
    { "text_len", REC_PARAM_INT, "16", 3, 512, NULL,
      "text fields: first tokens of a text read (English stop words dropped)" },
    { "text_min_items", REC_PARAM_INT, "1", 1, 1000000, NULL,
      "text fields: words kept only when the texts of this many trained items (users for "
      "a user field) have them; 1 keeps every word" },
    { "text_layers", REC_PARAM_INT, "1", 1, TT_TEXT_MAX_LAYERS, NULL,
      "text_encoder=transformer: blocks (self-attention + FFN, pre-LayerNorm)" },
    { "text_heads", REC_PARAM_INT, "2", 1, 64, NULL,
      "text_encoder=transformer: attention heads (must divide dim)" },
    { "dim", REC_PARAM_INT, "32", 1, 4096, NULL, "width of every feature embedding" },
    { "tower", REC_PARAM_STR, "64,64", 0, 0, NULL,
      "MLP layer sizes of each tower (ReLU between; the last is the output)" },
    { "temperature", REC_PARAM_FLOAT, "0.05", 1e-4, 100, NULL, "logits = u.v / temperature" },
    { "loss", REC_PARAM_STR, "infonce_logq", 0, 0, "infonce|infonce_logq|bce|mix",
      "in-batch softmax, with log-Q correction, BCE over negatives, or the mix" },
    { "lambda", REC_PARAM_FLOAT, "0.5", 0, 1, NULL, "mix: weight of InfoNCE (BCE gets 1-lambda)" },
    { "neg_hard", REC_PARAM_INT, "2", 0, 1000, NULL,
      "bce/mix: negatives per pair from the user's current top items" },
    { "neg_random", REC_PARAM_INT, "4", 0, 1000, NULL, "bce/mix: uniform negatives per pair" },
    { "hard_pool", REC_PARAM_INT, "50", 1, REC_SAMPLER_MAX_HARD_K, NULL,
      "top unseen items per user (refreshed each epoch) the hard negatives come from" },
    { "hist_len", REC_PARAM_INT, "20", 1, 4096, NULL,
      "hist_gru, hist_attn, hist_hier: last items read" },
    { "segment", REC_PARAM_INT, "20", 1, 4096, NULL,
      "hist_hier: items per segment of the first GRU (the second reads the segments)" },
    { "interests", REC_PARAM_INT, "1", 1, REC_NN_ATTN_POOL_MAX, NULL,
      "vectors per user, one per head of hist_attn (which it needs); an item scores the best "
      "over them, and training uses the interest that scores the positive best" },
    { "numeric_norm", REC_PARAM_STR, "zscore", 0, 0, "zscore|none",
      "numeric fields the data leaves unnormalised: standardised over the training "
      "entities (zscore) or read raw" },
    { "id_dropout", REC_PARAM_FLOAT, "0", 0, 1, NULL,
      "share of training items seen with the zero id row of a cold item, so the item "
      "tower learns to score from features alone" },
    { "user_tower", REC_PARAM_STR, "mlp", 0, 0, "mlp|moe",
      "user tower body: one MLP, or a mixture of experts (each an MLP shaped as tower) "
      "under a softmax gate that reads the tower input" },
    { "experts", REC_PARAM_INT, "4", 1, REC_NN_MOE_MAX, NULL,
      "user_tower=moe: number of expert MLPs" },
    { "moe_balance", REC_PARAM_FLOAT, "0.01", 0, 100, NULL,
      "user_tower=moe: weight of the load-balancing term K sum_k P_k^2 - 1 (P_k the batch's "
      "mean gate share of expert k; the squared coefficient of variation) added to the loss" },
    { "feature_gate", REC_PARAM_BOOL, "false", 0, 0, NULL,
      "user tower: scale each feature's columns by 2 sigmoid(w . [tower input, "
      "log(1 + history length)] + b) before the body, so the context decides which lead" },
    { "epochs", REC_PARAM_INT, "20", 1, 100000, NULL, "passes over the interactions" },
    { "batch", REC_PARAM_INT, "1024", 2, 1 << 20, NULL, "interactions per step" },
    { "lr", REC_PARAM_FLOAT, "0.01", 0, 10, NULL, "Adam learning rate" },
    { "reg", REC_PARAM_FLOAT, "0", 0, 100, NULL, "Adam L2 penalty" },
    { "sparse", REC_PARAM_BOOL, "true", 0, 0, NULL,
      "row-sparse embedding gradients (lazy Adam); false: dense Adam as PyTorch's default" },
    { "seed", REC_PARAM_INT, "42", 0, 9.2e18, NULL, "random seed" },
    REC_MODEL_CHECKPOINT_KEYS,
    REC_MODEL_VALIDATION_KEYS,
    REC_MODEL_INDEX_KEYS,
};
#define NSPEC (sizeof spec / sizeof *spec)

#define FN "rec_model_fit(twotower)"

enum { L_INFONCE, L_LOGQ, L_BCE, L_MIX };

/* Names of saved tensors must outlive the writer: kept in the state. */
typedef struct tt_names {
    char s[TT_MAX_FEAT * 2 * 5][48];
    int64_t umeta[TT_MAX_FEAT * 2], imeta[TT_MAX_FEAT * 2];
} tt_names;

static void tt_free(rec_model *m)
{
    twotower *s = m->state;
    if (!s)
        return;
    tt_tower_free(&s->ut);
    tt_tower_free(&s->it);
    rec_pstore_destroy(s->ps);
    rec_index_destroy(s->ix);
    rec_free(s->trained, (size_t)m->nitems * sizeof *s->trained);
    if (s->hptr) {
        rec_free(s->hitems, ((size_t)s->hptr[m->nusers] + 1) * sizeof *s->hitems);
        rec_free(s->hptr, ((size_t)m->nusers + 1) * sizeof *s->hptr);
    }
    rec_free(s->uvec, (size_t)m->nusers * s->interests * s->out_dim * sizeof *s->uvec);
    rec_free(s->ivec, (size_t)m->nitems * s->out_dim * sizeof *s->ivec);
    rec_free(s->names, sizeof(tt_names));
    tt_schema_free(s);
    rec_free(s, sizeof *s);
    m->state = NULL;
}

static int loss_kind(const rec_model *m)
{
    const char *l = rec_model_str(m, "loss");
    return !strcmp(l, "infonce") ? L_INFONCE : !strcmp(l, "infonce_logq") ? L_LOGQ
         : !strcmp(l, "bce") ? L_BCE : L_MIX;
}

/* "64,64" -> sizes; fn names the caller. */
static rec_status parse_tower(const rec_model *m, int64_t *sizes, int *n, const char *fn)
{
    REC_TRY(rec_list_ints(rec_model_str(m, "tower"), 1, 65536, sizes, REC_NN_MLP_MAX, n, fn,
                          "tower"));
    if (*n == 0)
        return rec_err(REC_E_INVALID, "%s: tower is empty", fn);
    return REC_OK;
}

static rec_status alloc_state(rec_model *m, int64_t *sizes, int *nsizes, const char *fn)
{
    twotower *s = rec_calloc(1, sizeof *s);
    if (!s)
        return rec_nomem(fn);
    m->state = s;
    s->names = rec_calloc(1, sizeof(tt_names));
    if (!s->names)
        return rec_nomem(fn);
    s->dim = (int)rec_model_int(m, "dim");
    s->hist_len = (int)rec_model_int(m, "hist_len");
    s->segment = (int)rec_model_int(m, "segment");
    s->interests = (int)rec_model_int(m, "interests");
    REC_TRY(parse_tower(m, sizes, nsizes, fn));
    s->out_dim = (int)sizes[*nsizes - 1];
    return rec_pstore_create(&s->ps);
}

/* Every user and item vector, then the index over the item vectors. */
static rec_status compute_vectors(rec_model *m)
{
    twotower *s = m->state;
    size_t ub = (size_t)m->nusers * s->interests * s->out_dim * sizeof *s->uvec;
    size_t ib = (size_t)m->nitems * s->out_dim * sizeof *s->ivec;
    if (!s->uvec)
        s->uvec = rec_malloc(ub ? ub : 1);
    if (!s->ivec)
        s->ivec = rec_malloc(ib ? ib : 1);
    if (!s->uvec || !s->ivec)
        return rec_nomem("twotower vectors");
    rec_graph *g;
    REC_TRY(rec_graph_create(&g));
    rec_graph_set_grad(g, 0);
    rec_graph_set_training(g, 0);
    rec_status st = REC_OK;
    enum { CH = 1024 };
    int32_t ids[CH];
    tt_uq q[CH];
    for (int64_t b = 0; !st && b < m->nitems; b += CH) {
        int64_t n = m->nitems - b < CH ? m->nitems - b : CH;
        for (int64_t k = 0; k < n; k++)
            ids[k] = (int32_t)(b + k);
        rec_graph_reset(g);
        rec_tensor *v = tt_item_forward(g, m, ids, n, NULL);
        if (!v)
            st = rec_graph_status(g);
        else
            memcpy(s->ivec + b * s->out_dim, v->v, (size_t)v->n * sizeof *v->v);
    }
    for (int64_t b = 0; !st && b < m->nusers; b += CH) {
        int64_t n = m->nusers - b < CH ? m->nusers - b : CH;
        for (int64_t k = 0; k < n; k++) {
            int32_t u = (int32_t)(b + k);
            q[k] = (tt_uq){ u, s->hitems + s->hptr[u], s->hptr[u + 1] - s->hptr[u], NULL, NULL };
        }
        rec_graph_reset(g);
        rec_tensor *v = tt_user_forward(g, m, q, n, NULL);
        if (!v)
            st = rec_graph_status(g);
        else
            memcpy(s->uvec + b * s->interests * s->out_dim, v->v, (size_t)v->n * sizeof *v->v);
    }
    rec_graph_destroy(g);
    if (st)
        return st;
    rec_index *ix;
    REC_TRY(tt_build_index(s, m->nitems, &ix));
    rec_index_destroy(s->ix);
    s->ix = ix;
    return REC_OK;
}

rec_status tt_build_index(const twotower *s, int64_t n, rec_index **out)
{
    REC_TRY(rec_index_create(out, s->out_dim, "ip"));
    rec_status st = rec_index_add(*out, s->ivec, (size_t)n);
    if (st) {
        rec_index_destroy(*out);
        *out = NULL;
    }
    return st;
}

rec_status tt_max_scores(const twotower *s, int64_t nitems, const float *u, float *out)
{
    rec_sgemv(0, (int)nitems, s->out_dim, 1.0f, s->ivec, s->out_dim, u, 0.0f, out);
    if (s->interests == 1)
        return REC_OK;
    size_t bytes = ((size_t)nitems + 1) * sizeof *out;
    float *o = rec_malloc(bytes);
    if (!o)
        return rec_nomem("twotower scores");
    for (int h = 1; h < s->interests; h++) {
        rec_sgemv(0, (int)nitems, s->out_dim, 1.0f, s->ivec, s->out_dim,
                  u + (size_t)h * s->out_dim, 0.0f, o);
        for (int64_t i = 0; i < nitems; i++)
            out[i] = o[i] > out[i] ? o[i] : out[i];
    }
    rec_free(o, bytes);
    return REC_OK;
}

typedef struct hit {
    int32_t i;
    float v;
} hit;

static int by_item_then_score(const void *a, const void *b)
{
    const hit *x = a, *y = b;
    return x->i != y->i ? (x->i > y->i) - (x->i < y->i) : (x->v < y->v) - (x->v > y->v);
}

/* The top k of K lists of k (idx [K * k], -1 padded, val beside) by an
 * item's best score over the lists, best first, ties to the lower index,
 * -1 padded; h [K * k] and hv [k] scratch.  With each list an interest's
 * top k, this is the top k of the best score over the interests: an item
 * of that top k is in the top k of the interest that gives its best score. */
static void merge_best(const int32_t *idx, const float *val, int K, size_t k, hit *h,
                       float *hv, int32_t *oi, float *ov)
{
    size_t n = 0, size = 0;
    for (size_t j = 0; j < (size_t)K * k; j++)
        if (idx[j] >= 0)
            h[n++] = (hit){ idx[j], val[j] };
    qsort(h, n, sizeof *h, by_item_then_score); /* each item's best first */
    for (size_t j = 0; j < n; j++)
        if (!j || h[j].i != h[j - 1].i)
            rec_topk_push(oi, hv, k, &size, h[j].i, h[j].v);
    rec_topk_finish(oi, hv, size);
    for (size_t j = 0; j < k; j++) {
        if (j >= size)
            oi[j] = -1;
        if (ov)
            ov[j] = j < size ? hv[j] : 0.0f;
    }
}

/* The index searched with each of user u's K vectors, filter f (one query,
 * may be NULL) applied to each, merged by best score into idx/val [k]. */
static rec_status search_interests(const twotower *s, const float *uv, size_t k,
                                   const rec_filter *f, int32_t *idx, float *val)
{
    size_t nk = (size_t)s->interests * k;
    size_t bytes = nk * (sizeof(int32_t) + sizeof(float) + sizeof(hit)) + k * sizeof(float);
    char *buf = rec_malloc(bytes ? bytes : 1);
    if (!buf)
        return rec_nomem("twotower recommend");
    hit *h = (hit *)buf;
    int32_t *ii = (int32_t *)(h + nk);
    float *vv = (float *)(ii + nk);
    rec_status st = REC_OK;
    for (int q = 0; !st && q < s->interests; q++)
        st = rec_index_search(s->ix, uv + (size_t)q * s->out_dim, 1, k, f, ii + (size_t)q * k,
                              vv + (size_t)q * k);
    if (!st)
        merge_best(ii, vv, s->interests, k, h, vv + nk, idx, val);
    rec_free(buf, bytes ? bytes : 1);
    return st;
}

/* Training context of one fit. */
typedef struct fitctx {
    rec_model *m;
    rec_graph *g;
    rec_optim *opt;
    rec_sampler *smp;
    const int32_t *us, *is;
    int32_t *pos;       /* [rows] position of the row in its user's history */
    float *logq;        /* [nitems] log share of training rows               */
    int32_t *hard;      /* [nusers * pool] current top unseen items, -1 pad  */
    int pool, nhard, nrand, loss;
    float temp, lambda;
    float balance;      /* moe_balance with user_tower=moe, else 0         */
    double id_dropout;
    int32_t *ctx[TT_MAX_FEAT]; /* TT_CTX user feature k: [rows] each row's code */
    int nctx;
} fitctx;

/* Before each epoch: each user's top unseen items (hard negatives) from the
 * index of the current vectors. */
/* Validation scores through the vectors (rec_model_train). */
static rec_status sync_vectors(void *ctx)
{
    return compute_vectors(((fitctx *)ctx)->m);
}

static rec_status refresh_hard(void *ctx, int epoch)
{
    (void)epoch;
    fitctx *c = ctx;
    if (!c->hard)
        return REC_OK;
    rec_model *m = c->m;
    twotower *s = m->state;
    REC_TRY(compute_vectors(m));
    rec_filter *f;
    REC_TRY(rec_filter_create(&f, (size_t)m->nitems));
    rec_status st = REC_OK;
    if (s->interests == 1) {
        st = rec_filter_exclude_csr(f, (size_t)m->nusers, m->seen_ptr, m->seen);
        if (!st)
            st = rec_index_search(s->ix, s->uvec, (size_t)m->nusers, (size_t)c->pool, f,
                                  c->hard, NULL);
    }
    for (int32_t u = 0; !st && u < m->nusers && s->interests > 1; u++) {
        int64_t ptr[2] = { 0, m->seen_ptr[u + 1] - m->seen_ptr[u] };
        st = rec_filter_exclude_csr(f, 1, ptr, m->seen + m->seen_ptr[u]);
        if (!st)
            st = search_interests(s, s->uvec + (size_t)u * s->interests * s->out_dim,
                                  (size_t)c->pool, f, c->hard + (int64_t)u * c->pool, NULL);
    }
    rec_filter_destroy(f);
    return st;
}

rec_tensor *tt_best_interest(rec_graph *g, rec_tensor *U, rec_tensor *V, int K)
{
    if (!U || !V)
        return NULL;
    int64_t n = V->shape[0], d = V->shape[1];
    rec_tensor *sel = rec_tensor_i32(g, n);
    if (!sel)
        return NULL;
    for (int64_t b = 0; b < n; b++) {
        int best = 0;
        float bv = 0;
        for (int h = 0; h < K; h++) {
            float v = rec_sdot((int)d, U->v + (b * K + h) * d, V->v + b * d);
            if (!h || v > bv) {
                best = h;
                bv = v;
            }
        }
        sel->iv[b] = (int32_t)(b * K + best);
    }
    return rec_gather(g, U, sel, -1);
}

static rec_status step(void *ctx, const rec_batch *bt, rec_rng *rng, double *loss)
{
    fitctx *c = ctx;
    rec_model *m = c->m;
    twotower *s = m->state;
    rec_graph *g = c->g;
    const int32_t *rows = bt->rows;
    int64_t n = bt->n;
    rec_graph_reset(g);
    tt_uq *q = rec_graph_alloc(g, (size_t)n * sizeof *q);
    rec_tensor *items = rec_tensor_i32(g, n);
    if (!q || !items)
        return rec_graph_status(g);
    int nf = s->ut.nf;
    int32_t *cx = c->nctx ? rec_graph_alloc(g, (size_t)n * nf * sizeof *cx) : NULL;
    if (c->nctx && !cx)
        return rec_graph_status(g);
    for (int64_t b = 0; b < n; b++) {
        int32_t r = rows[b], u = c->us[r];
        /* the negatives meet the user in the positive's context */
        for (int k = 0; cx && k < nf; k++)
            cx[b * nf + k] = c->ctx[k] ? c->ctx[k][r] : -1;
        q[b] = (tt_uq){ u, s->hitems + s->hptr[u], c->pos[r], NULL, cx ? cx + b * nf : NULL };
        items->iv[b] = c->is[r];
    }
    uint8_t *drop = NULL;
    if (c->id_dropout > 0) {
        drop = rec_graph_alloc(g, (size_t)n);
        if (!drop)
            return rec_graph_status(g);
        for (int64_t b = 0; b < n; b++) {
            rec_rng er; /* the example's own stream, as the negatives' */
            rec_batch_rng(bt, b, &er);
            drop[b] = rec_rng_uniform(&er) < c->id_dropout;
        }
    }
    rec_tensor *bal = NULL;
    rec_tensor *U = tt_user_forward(g, m, q, n, c->balance > 0 ? &bal : NULL);
    rec_tensor *V = tt_item_forward(g, m, items->iv, n, drop);
    if (s->interests > 1)
        U = tt_best_interest(g, U, V, s->interests);
    float it = 1.0f / c->temp;
    rec_tensor *lc = NULL, *lb = NULL, *l;
    if (c->loss != L_BCE) {
        float *lq = NULL;
        if (c->loss == L_LOGQ) {
            lq = rec_graph_alloc(g, (size_t)n * sizeof *lq);
            if (!lq)
                return rec_graph_status(g);
            for (int64_t b = 0; b < n; b++)
                lq[b] = c->logq[items->iv[b]];
        }
        lc = tt_infonce(g, U, V, c->temp, lq);
    }
    if (c->loss == L_BCE || c->loss == L_MIX) {
        int64_t k = c->nhard + c->nrand;
        rec_tensor *neg = rec_tensor_i32(g, n * k);
        if (!neg)
            return rec_graph_status(g);
        for (int64_t b = 0; b < n; b++) {
            int32_t u = q[b].u, *o = neg->iv + b * k;
            int64_t got = 0;
            rec_rng er; /* the example's own stream: the same draws on any rank */
            rec_batch_rng(bt, b, &er);
            for (int h = 0; h < c->nhard && c->hard; h++) {
                int32_t j = c->hard[(int64_t)u * c->pool + rec_rng_below(&er, (uint32_t)c->pool)];
                if (j >= 0)
                    o[got++] = j;
            }
            if (got < k)
                REC_TRY(rec_sampler_draw(c->smp, &er, u, k - got, o + got));
        }
        rec_tensor *Vn = tt_item_forward(g, m, neg->iv, n * k, NULL);
        int64_t s3[3] = { n, k, s->out_dim }, u3[3] = { n, 1, s->out_dim }, s2[2] = { n, k };
        rec_tensor *ln = rec_reshape(g, rec_bmm(g, rec_reshape(g, U, 3, u3),
                                                rec_reshape(g, Vn, 3, s3), 0, 1), 2, s2);
        rec_tensor *lp = rec_scale(g, rec_rowdot(g, U, V), it);
        lb = rec_loss_bce_negatives(g, lp, rec_scale(g, ln, it));
    }
    l = c->loss == L_MIX ? rec_loss_mixed(g, c->lambda, lc, lb) : lc ? lc : lb;
    if (bal)
        l = rec_add(g, l, rec_scale(g, bal, c->balance));
    if (!l)
        return rec_graph_status(g);
    *loss = l->v[0];
    REC_TRY(rec_backward(g, l));
    return rec_optim_step(c->opt);
}

/* Each user's training items in time order, each row's place in them, the
 * items' training counts. */
static rec_status take_history(rec_model *m, const rec_dataset *d, fitctx *c)
{
    twotower *s = m->state;
    const int64_t *ptr, *rows;
    const int32_t *items;
    REC_TRY(rec_ds_user_csr(d, &ptr, &items, NULL));
    REC_TRY(rec_ds_user_csr_rows(d, &rows));
    int64_t nh = ptr[m->nusers], nr = rec_ds_num_rows(d);
    s->hptr = rec_malloc(((size_t)m->nusers + 1) * sizeof *s->hptr);
    s->hitems = s->hptr ? rec_malloc(((size_t)nh + 1) * sizeof *s->hitems) : NULL;
    if (!s->hitems) {
        rec_free(s->hptr, ((size_t)m->nusers + 1) * sizeof *s->hptr);
        s->hptr = NULL;
        return rec_nomem(FN);
    }
    memcpy(s->hptr, ptr, ((size_t)m->nusers + 1) * sizeof *s->hptr);
    memcpy(s->hitems, items, (size_t)nh * sizeof *s->hitems);
    s->trained = rec_calloc((size_t)m->nitems ? (size_t)m->nitems : 1, sizeof *s->trained);
    c->pos = rec_malloc((size_t)nr * sizeof *c->pos);
    c->logq = rec_malloc((size_t)m->nitems * sizeof *c->logq + 1);
    if (!s->trained || !c->pos || !c->logq)
        return rec_nomem(FN);
    for (int32_t u = 0; u < m->nusers; u++)
        for (int64_t j = ptr[u]; j < ptr[u + 1]; j++)
            c->pos[rows[j]] = (int32_t)(j - ptr[u]);
    for (int64_t r = 0; r < nr; r++)
        s->trained[c->is[r]]++;
    for (int32_t i = 0; i < m->nitems; i++) {
        c->logq[i] = s->trained[i] ? (float)log((double)s->trained[i] / (double)nr) : 0.0f;
        s->trained[i] = s->trained[i] > 0;
    }
    return REC_OK;
}

static rec_status make_model(rec_model *m, const rec_dataset *d, const int64_t *sizes, int ns,
                             rec_rng *rng)
{
    twotower *s = m->state;
    REC_TRY(tt_parse(&s->ut, rec_model_str(m, "user_features"), REC_SIDE_USER, d, FN));
    REC_TRY(tt_parse(&s->it, rec_model_str(m, "item_features"), REC_SIDE_ITEM, d, FN));
    REC_TRY(tt_check_interests(m, &s->ut, FN));
    REC_TRY(tt_take_data(m, &s->ut, REC_SIDE_USER, d));
    REC_TRY(tt_take_data(m, &s->it, REC_SIDE_ITEM, d));
    REC_TRY(tt_user_multisets(m, &s->ut));
    REC_TRY(tt_schema_build(m, d));
    REC_TRY(tt_build(m, &s->ut, "user", sizes, ns, rng));
    return tt_build(m, &s->it, "item", sizes, ns, rng);
}

static rec_status tt_fit(rec_model *m, const rec_dataset *d, rec_progress_fn cb, void *user)
{
    int64_t sizes[REC_NN_MLP_MAX];
    int ns;
    REC_TRY(alloc_state(m, sizes, &ns, FN));
    fitctx c = { .m = m, .us = rec_ds_users_col(d), .is = rec_ds_items_col(d) };
    c.loss = loss_kind(m);
    c.temp = (float)rec_model_flt(m, "temperature");
    c.lambda = (float)rec_model_flt(m, "lambda");
    c.nhard = (int)rec_model_int(m, "neg_hard");
    c.nrand = (int)rec_model_int(m, "neg_random");
    c.pool = (int)rec_model_int(m, "hard_pool");
    c.id_dropout = rec_model_flt(m, "id_dropout");
    if (!strcmp(rec_model_str(m, "user_tower"), "moe"))
        c.balance = (float)rec_model_flt(m, "moe_balance");
    int64_t nr = rec_ds_num_rows(d);
    int use_neg = c.loss == L_BCE || c.loss == L_MIX;
    rec_status st = REC_OK;
    if (use_neg && c.nhard + c.nrand == 0)
        st = rec_err(REC_E_INVALID, "%s: loss %s needs neg_hard + neg_random >= 1", FN,
                     rec_model_str(m, "loss"));
    rec_rng rng; /* the init's stream; the trainer's is rec_rng_seed(seed) */
    rec_rng_stream(&rng, (uint64_t)rec_model_int(m, "seed"), 1);
    if (!st)
        st = take_history(m, d, &c);
    if (!st)
        st = make_model(m, d, sizes, ns, &rng);
    for (int k = 0; !st && k < ((twotower *)m->state)->ut.nf; k++) {
        if (((twotower *)m->state)->ut.f[k].kind != TT_CTX)
            continue;
        c.ctx[k] = rec_malloc((size_t)(nr ? nr : 1) * sizeof *c.ctx[k]);
        if (!c.ctx[k])
            st = rec_nomem(FN);
        else
            rec_ds_context_fill(d, ((twotower *)m->state)->ut.f[k].name, c.ctx[k]);
        c.nctx++;
    }
    if (!st && use_neg) {
        st = rec_sampler_create(&c.smp, d, NULL);
        if (!st && c.nhard > 0) {
            c.hard = rec_malloc((size_t)m->nusers * c.pool * sizeof *c.hard);
            if (!c.hard)
                st = rec_nomem(FN);
        }
    }
    rec_optim_config oc;
    if (!st)
        st = rec_optim_config_init(&oc, "adam");
    if (!st) {
        oc.lr = rec_model_flt(m, "lr");
        oc.weight_decay = rec_model_flt(m, "reg");
        st = rec_optim_create_config(&c.opt, &oc, ((twotower *)m->state)->ps);
    }
    if (!st)
        st = rec_graph_create(&c.g);
    if (!st) {
        rec_trainer_vt vt = { .n_examples = nr, .step = step, .begin_epoch = refresh_hard,
                              .sync = sync_vectors };
        st = rec_model_train(m, &vt, &c, ((twotower *)m->state)->ps, c.opt, cb, user, FN);
    }
    rec_graph_destroy(c.g);
    rec_optim_destroy(c.opt);
    rec_sampler_destroy(c.smp);
    rec_free(c.pos, (size_t)nr * sizeof *c.pos);
    rec_free(c.logq, (size_t)m->nitems * sizeof *c.logq + 1);
    rec_free(c.hard, (size_t)m->nusers * c.pool * sizeof *c.hard);
    for (int k = 0; k < TT_MAX_FEAT; k++)
        rec_free(c.ctx[k], (size_t)(nr ? nr : 1) * sizeof *c.ctx[k]);
    if (!st || st == REC_E_CANCELLED) {
        rec_status vs = compute_vectors(m);
        if (vs)
            return vs;
    }
    return st;
}

/* With K interests an item's score is its best over the user's vectors. */
static rec_status tt_score_user(const rec_model *m, int32_t u, float *out)
{
    const twotower *s = m->state;
    return tt_max_scores(s, m->nitems, s->uvec + (size_t)u * s->interests * s->out_dim, out);
}

static rec_status tt_score_pair(const rec_model *m, int32_t u, int32_t i, float *out)
{
    const twotower *s = m->state;
    const float *uv = s->uvec + (size_t)u * s->interests * s->out_dim;
    *out = rec_sdot(s->out_dim, uv, s->ivec + (size_t)i * s->out_dim);
    for (int h = 1; h < s->interests; h++) {
        float v = rec_sdot(s->out_dim, uv + (size_t)h * s->out_dim,
                           s->ivec + (size_t)i * s->out_dim);
        *out = v > *out ? v : *out;
    }
    return REC_OK;
}

/* The user's vector searched in the item index, training items excluded
 * by a one-query filter; with K interests, each of its vectors, merged by
 * best score. */
static rec_status tt_recommend(const rec_model *m, int32_t u, size_t k, int include_seen,
                               int32_t *idx, float *val, size_t *n)
{
    const twotower *s = m->state;
    rec_filter *f = NULL;
    rec_status st = REC_OK;
    if (!include_seen) {
        int64_t ptr[2] = { 0, m->seen_ptr[u + 1] - m->seen_ptr[u] };
        st = rec_filter_create(&f, (size_t)m->nitems);
        if (!st)
            st = rec_filter_exclude_csr(f, 1, ptr, m->seen + m->seen_ptr[u]);
    }
    if (!st && s->interests > 1)
        st = search_interests(s, s->uvec + (size_t)u * s->interests * s->out_dim, k, f, idx,
                              val);
    else if (!st)
        st = rec_index_search(s->ix, s->uvec + (size_t)u * s->out_dim, 1, k, f, idx, val);
    rec_filter_destroy(f);
    *n = 0;
    while (!st && *n < k && idx[*n] >= 0)
        (*n)++;
    return st;
}

/* An anonymous user: the user tower over the history (unknown id). */
static rec_status tt_score_history(const rec_model *m, const int32_t *items, const float *r,
                                   size_t n, float *out)
{
    const twotower *s = m->state;
    rec_graph *g;
    REC_TRY(rec_graph_create(&g));
    rec_graph_set_grad(g, 0);
    tt_uq q = { -1, items, (int64_t)n, NULL, NULL };
    rec_tensor *u = tt_user_forward(g, m, &q, 1, NULL);
    rec_status st = u ? REC_OK : rec_graph_status(g);
    if (!st)
        st = tt_max_scores(s, m->nitems, u->v, out);
    rec_graph_destroy(g);
    return st;
}

static rec_status tt_similar(const rec_model *m, int32_t i, float *out)
{
    const twotower *s = m->state;
    rec_sgemv(0, m->nitems, s->out_dim, 1.0f, s->ivec, s->out_dim,
              s->ivec + (size_t)i * s->out_dim, 0.0f, out);
    return REC_OK;
}

/* ---- files ---------------------------------------------------------------- */

static rec_status save_tower(const rec_model *m, rec_lrm_writer *w, const tt_tower *t,
                             const char *side, int64_t *meta, int *slot)
{
    twotower *s = m->state;
    tt_names *nm = s->names;
    for (int k = 0; k < t->nf; k++) {
        meta[2 * k] = t->f[k].kind;
        meta[2 * k + 1] = t->f[k].vocab;
    }
    char *name = nm->s[(*slot)++];
    snprintf(name, 48, "tt.%s.meta", side);
    int64_t shp[2] = { t->nf, 2 };
    REC_TRY(rec_lrm_add_tensor(w, name, REC_LRM_I64, 2, shp, meta));
    for (int k = 0; k < t->nf; k++) {
        const tt_feat *f = &t->f[k];
        int64_t n = f->nent, n1 = f->nent + 1;
        int64_t ndata = f->kind == TT_VEC ? n * f->vocab : n;
        if (f->code || f->num) {
            name = nm->s[(*slot)++];
            snprintf(name, 48, "tt.%s.%d.data", side, k);
            REC_TRY(f->code ? rec_lrm_add_tensor(w, name, REC_LRM_I32, 1, &n, f->code)
                            : rec_lrm_add_tensor(w, name, REC_LRM_F32, 1, &ndata, f->num));
        }
        if (f->known) {
            int64_t nb = f->vocab;
            name = nm->s[(*slot)++];
            snprintf(name, 48, "tt.%s.%d.known", side, k);
            REC_TRY(rec_lrm_add_tensor(w, name, REC_LRM_I32, 1, &nb, f->known));
        }
        if (f->ptr) {
            int64_t nv = f->ptr[n];
            name = nm->s[(*slot)++];
            snprintf(name, 48, "tt.%s.%d.ptr", side, k);
            REC_TRY(rec_lrm_add_tensor(w, name, REC_LRM_I64, 1, &n1, f->ptr));
            name = nm->s[(*slot)++];
            snprintf(name, 48, "tt.%s.%d.val", side, k);
            REC_TRY(rec_lrm_add_tensor(w, name, REC_LRM_I32, 1, &nv, f->val));
        }
    }
    return REC_OK;
}

static rec_status tt_save(const rec_model *m, rec_lrm_writer *w)
{
    const twotower *s = m->state;
    tt_names *nm = s->names;
    int slot = 0;
    int64_t ni = m->nitems, nu1 = (int64_t)m->nusers + 1, nh = s->hptr[m->nusers];
    REC_TRY(rec_lrm_add_tensor(w, "tt.trained", REC_LRM_I32, 1, &ni, s->trained));
    REC_TRY(rec_lrm_add_tensor(w, "tt.hist.ptr", REC_LRM_I64, 1, &nu1, s->hptr));
    REC_TRY(rec_lrm_add_tensor(w, "tt.hist.items", REC_LRM_I32, 1, &nh, s->hitems));
    REC_TRY(save_tower(m, w, &s->ut, "user", nm->umeta, &slot));
    REC_TRY(save_tower(m, w, &s->it, "item", nm->imeta, &slot));
    REC_TRY(tt_schema_save(m, w));
    return rec_pstore_save(s->ps, w, "", "rec_model_save(twotower)");
}

#define LD "rec_model_load(twotower)"

static rec_status load_tower(rec_model *m, const rec_lrm_reader *r, tt_tower *t,
                             const char *spec_str, rec_side side)
{
    const char *sn = side == REC_SIDE_USER ? "user" : "item";
    int64_t nent = side == REC_SIDE_USER ? m->nusers : m->nitems;
    REC_TRY(tt_parse(t, spec_str, side, NULL, LD));
    char name[48];
    snprintf(name, sizeof name, "tt.%s.meta", sn);
    int64_t want[2] = { t->nf, 2 };
    const void *p;
    REC_TRY(rec_lrm_tensor_expect(r, name, REC_LRM_I64, 2, want, &p));
    const int64_t *meta = p;
    for (int k = 0; k < t->nf; k++) {
        tt_feat *f = &t->f[k];
        f->kind = (int)meta[2 * k];
        int hist = (f->kind >= TT_HFIELD && f->kind <= TT_HGRU) || f->kind >= TT_HATTN;
        if (f->kind < TT_ID || f->kind > TT_HHIER || meta[2 * k + 1] < 0 ||
            (f->kind == TT_TEXT && meta[2 * k + 1] < 1) ||
            meta[2 * k + 1] > INT32_MAX || (side == REC_SIDE_ITEM && (hist || f->kind == TT_CTX)) ||
            (f->kind == TT_VEC && (meta[2 * k + 1] < 1 || meta[2 * k + 1] > 65536)))
            return rec_err(REC_E_FORMAT, "%s: bad %s feature %d", LD, sn, k);
        f->vocab = (int32_t)meta[2 * k + 1];
        int64_t own = f->kind == TT_HFIELD ? m->nitems : nent, n1 = own + 1;
        if (f->kind == TT_CAT || f->kind == TT_NUM || f->kind == TT_VEC) {
            snprintf(name, sizeof name, "tt.%s.%d.data", sn, k);
            int cat = f->kind == TT_CAT;
            int64_t len = f->kind == TT_VEC ? own * f->vocab : own;
            REC_TRY(rec_lrm_tensor_expect(r, name, cat ? REC_LRM_I32 : REC_LRM_F32, 1, &len, &p));
            size_t bytes = (size_t)len * 4;
            void *dst = rec_malloc(bytes ? bytes : 1);
            if (!dst)
                return rec_nomem(LD);
            memcpy(dst, p, bytes);
            f->nent = own;
            if (cat) {
                f->code = dst;
                for (int64_t e = 0; e < own; e++)
                    if (f->code[e] < -1 || f->code[e] >= f->vocab)
                        return rec_err(REC_E_FORMAT, "%s: %s feature %d: code out of range",
                                       LD, sn, k);
            } else {
                f->num = dst;
            }
        } else if (f->kind == TT_BAG || f->kind == TT_HFIELD || f->kind == TT_TEXT) {
            snprintf(name, sizeof name, "tt.%s.%d.ptr", sn, k);
            REC_TRY(rec_lrm_tensor_expect(r, name, REC_LRM_I64, 1, &n1, &p));
            const int64_t *ptr = p;
            snprintf(name, sizeof name, "tt.%s.%d.val", sn, k);
            int64_t shp[REC_LRM_MAX_DIMS];
            REC_TRY(rec_lrm_tensor(r, name, REC_LRM_I32, 1, shp, &p));
            const int32_t *val = p;
            REC_TRY(rec_csr_check(1, LD, name, own, ptr, shp[0], val, 0, f->vocab));
            f->ptr = rec_malloc((size_t)n1 * sizeof *f->ptr);
            f->val = f->ptr ? rec_malloc(((size_t)shp[0] + 1) * sizeof *f->val) : NULL;
            if (!f->val) {
                rec_free(f->ptr, (size_t)n1 * sizeof *f->ptr);
                f->ptr = NULL;
                return rec_nomem(LD);
            }
            f->nent = own;
            memcpy(f->ptr, ptr, (size_t)n1 * sizeof *f->ptr);
            memcpy(f->val, val, (size_t)shp[0] * sizeof *f->val);
            snprintf(name, sizeof name, "tt.%s.%d.known", sn, k);
            if (rec_lrm_has_tensor(r, name)) { /* text_min_items > 1 */
                int64_t nb = f->vocab;
                REC_TRY(rec_lrm_tensor_expect(r, name, REC_LRM_I32, 1, &nb, &p));
                f->known = rec_malloc((size_t)nb * sizeof *f->known);
                if (!f->known)
                    return rec_nomem(LD);
                memcpy(f->known, p, (size_t)nb * sizeof *f->known);
            }
        } else if (f->kind == TT_ID && (f->vocab > nent ||
                                        (side == REC_SIDE_USER && f->vocab != nent))) {
            /* items added after the fit (rec_model_add_items) have no id row */
            return rec_err(REC_E_FORMAT, "%s: %s id table has %d rows for %lld ids", LD, sn,
                           f->vocab, (long long)nent);
        }
    }
    return REC_OK;
}

static rec_status tt_load(rec_model *m, const rec_lrm_reader *r)
{
    int64_t sizes[REC_NN_MLP_MAX];
    int ns;
    REC_TRY(alloc_state(m, sizes, &ns, LD));
    twotower *s = m->state;
    const void *p, *q;
    int64_t ni = m->nitems, nu1 = (int64_t)m->nusers + 1, shp[REC_LRM_MAX_DIMS];
    REC_TRY(rec_lrm_tensor_expect(r, "tt.trained", REC_LRM_I32, 1, &ni, &p));
    s->trained = rec_malloc((size_t)ni * sizeof *s->trained);
    if (!s->trained)
        return rec_nomem(LD);
    memcpy(s->trained, p, (size_t)ni * sizeof *s->trained);
    REC_TRY(rec_lrm_tensor_expect(r, "tt.hist.ptr", REC_LRM_I64, 1, &nu1, &p));
    REC_TRY(rec_lrm_tensor(r, "tt.hist.items", REC_LRM_I32, 1, shp, &q));
    const int64_t *hp = p;
    const int32_t *hi = q;
    REC_TRY(rec_csr_check(1, LD, "tt.hist", m->nusers, hp, shp[0], hi, 0, m->nitems));
    s->hptr = rec_malloc((size_t)nu1 * sizeof *s->hptr);
    s->hitems = s->hptr ? rec_malloc(((size_t)shp[0] + 1) * sizeof *s->hitems) : NULL;
    if (!s->hitems) {
        rec_free(s->hptr, (size_t)nu1 * sizeof *s->hptr);
        s->hptr = NULL;
        return rec_nomem(LD);
    }
    memcpy(s->hptr, hp, (size_t)nu1 * sizeof *s->hptr);
    memcpy(s->hitems, hi, (size_t)shp[0] * sizeof *s->hitems);
    REC_TRY(load_tower(m, r, &s->ut, rec_model_str(m, "user_features"), REC_SIDE_USER));
    REC_TRY(load_tower(m, r, &s->it, rec_model_str(m, "item_features"), REC_SIDE_ITEM));
    REC_TRY(tt_check_interests(m, &s->ut, LD));
    REC_TRY(tt_user_multisets(m, &s->ut));
    rec_rng rng;
    rec_rng_seed(&rng, 0);
    REC_TRY(tt_build(m, &s->ut, "user", sizes, ns, &rng));
    REC_TRY(tt_build(m, &s->it, "item", sizes, ns, &rng));
    REC_TRY(rec_pstore_load(s->ps, r, "", LD));
    REC_TRY(tt_schema_load(m, r));
    return compute_vectors(m);
}

static rec_status tt_vectors(const rec_model *m, rec_side side, float *out, int *dim)
{
    const twotower *s = m->state;
    if (side == REC_SIDE_USER && s->interests > 1)
        return rec_err(REC_E_UNSUPPORTED, "rec_model_vectors(twotower): interests=%d gives %d "
                       "vectors per user and scores an item by the best of them, which no one "
                       "vector's inner product is", s->interests, s->interests);
    return rec_model_copy_vectors(m, side, s->uvec, s->ivec, s->out_dim, out, dim);
}

const rec_model_vt rec_twotower_vt = {
    .kind = "twotower",
    .summary = "two-tower retrieval: feature towers, MLP, L2 norm, in-batch softmax or BCE",
    .spec = spec,
    .nspec = NSPEC,
    .fit = tt_fit,
    .score_user = tt_score_user,
    .vectors = tt_vectors,
    .score_history = tt_score_history,
    .score_pair = tt_score_pair,
    .similar = tt_similar,
    .save = tt_save,
    .load = tt_load,
    .free_state = tt_free,
    .recommend = tt_recommend,
    .schema = tt_vt_schema,
    .score_features = tt_score_features,
    .score_context = tt_score_context,
    .add_items = tt_add_items,
};
