/* "sasrec": self-attentive sequential recommendation (Kang & McAuley, ICDM
 * 2018), trained through the autodiff core.
 *
 * A user's training items in time order (the dataset's user CSR: timestamp,
 * then file order) are the sequence.  Item index i is table row i + 1; row 0
 * is padding.  For a window s [B, L] (right-aligned, left zero padding):
 *   x = E[s] * sqrt(d) + P[1..L] (zero on padding), Dropout, padding rows 0
 *   blocks pre-LN causal self-attention + FFN (nn/transformer.c), final LN
 *   score(t, i) = out_t . E[i + 1]          (the item table is the output layer)
 * Training: input seq[:-1], targets seq[1:] in the last-L window, one uniform
 * negative per target outside the user's training items, loss = mean
 * BCE(pos, 1) + mean BCE(neg, 0) over non-padding positions, Adam, batches
 * of users through the trainer (rec_model_train).
 * Scoring a history: its last L items through the network (no dropout); the
 * last position's output against every item (one sgemv).
 * explain(u, i): u's history items with the attention the last position
 * pays them in the last block (averaged over heads), renormalised over the
 * history (a history shorter than L leaves padding positions in the window,
 * which the reference does not mask and which take a share); the same for
 * every i, since the last state scores every item. */
#include "model-impl.h"
#include "nn/nn-impl.h"
#include "retrieval/topk-impl.h"
#include "train/train-impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_BLOCKS 8

static const rec_param_spec spec[] = {
    { "maxlen", REC_PARAM_INT, "50", 1, 4096, NULL, "items of history the model looks at" },
    { "dim", REC_PARAM_INT, "50", 1, 4096, NULL, "hidden size (item and position vectors)" },
    { "blocks", REC_PARAM_INT, "2", 1, MAX_BLOCKS, NULL, "stacked self-attention blocks" },
    { "heads", REC_PARAM_INT, "1", 1, 256, NULL, "attention heads (must divide dim)" },
    { "dropout", REC_PARAM_FLOAT, "0.5", 0, 0.95, NULL,
      "dropout on embeddings, attention weights and FFN" },
    { "lr", REC_PARAM_FLOAT, "0.001", 0, 10, NULL, "Adam learning rate" },
    { "beta2", REC_PARAM_FLOAT, "0.98", 0, 0.999999, NULL, "Adam second-moment decay" },
    { "reg", REC_PARAM_FLOAT, "0", 0, 100, NULL, "L2 penalty added to the gradients (Adam)" },
    { "batch", REC_PARAM_INT, "128", 1, 1 << 20, NULL, "users per step" },
    { "epochs", REC_PARAM_INT, "200", 1, 100000, NULL, "passes over the users" },
    { "seed", REC_PARAM_INT, "42", 0, 9.2e18, NULL, "random seed" },
    REC_MODEL_CHECKPOINT_KEYS,
    REC_MODEL_VALIDATION_KEYS,
    REC_MODEL_INDEX_KEYS,
};
#define NSPEC (sizeof spec / sizeof *spec)

typedef struct sasrec {
    rec_pstore *ps;
    rec_nn_embedding item;           /* [nitems + 1, d], row 0 padding */
    rec_nn_position pos;             /* [L + 1, d], row 0 padding */
    rec_nn_transformer blk[MAX_BLOCKS];
    rec_nn_layernorm ln;
    int L, d, nblocks, heads;
    float dropout;
    int64_t *hptr;                   /* [nusers + 1] */
    int32_t *hist;                   /* each user's last L training items, time order */
    int64_t nhist;
} sasrec;

static void sasrec_free(rec_model *m)
{
    sasrec *s = m->state;
    if (!s)
        return;
    rec_pstore_destroy(s->ps);
    rec_free(s->hptr, ((size_t)m->nusers + 1) * sizeof *s->hptr);
    rec_free(s->hist, ((size_t)s->nhist + 1) * sizeof *s->hist);
    rec_free(s, sizeof *s);
    m->state = NULL;
}

/* The network's parameters, initialised as the reference: xavier-normal
 * weights, FFN biases PyTorch's default, attention biases 0, LN (1, 0). */
static rec_status sasrec_alloc(rec_model *m, const char *fn, uint64_t seed)
{
    sasrec *s = rec_calloc(1, sizeof *s);
    if (!s)
        return rec_nomem(fn);
    m->state = s;
    s->L = (int)rec_model_int(m, "maxlen");
    s->d = (int)rec_model_int(m, "dim");
    s->nblocks = (int)rec_model_int(m, "blocks");
    s->heads = (int)rec_model_int(m, "heads");
    s->dropout = (float)rec_model_flt(m, "dropout");
    if (s->d % s->heads)
        return rec_err(REC_E_INVALID, "%s(sasrec): dim = %d must be a multiple of heads = %d",
                       fn, s->d, s->heads);
    rec_rng rng; /* stream 1: the trainer draws from stream 0 (rec_rng_seed(seed)) */
    rec_rng_stream(&rng, seed, 1);
    REC_TRY(rec_pstore_create(&s->ps));
    rec_nn_embedding_opts eo = rec_nn_embedding_defaults();
    eo.padding_idx = 0;
    eo.init = REC_NN_INIT_XAVIER_NORMAL;
    REC_TRY(rec_nn_embedding_init(&s->item, s->ps, "item", (int64_t)m->nitems + 1, s->d, &eo,
                                  &rng));
    REC_TRY(rec_nn_position_init(&s->pos, s->ps, "pos", s->L, s->d, 1,
                                 REC_NN_INIT_XAVIER_NORMAL, &rng));
    for (int b = 0; b < s->nblocks; b++) {
        char name[32];
        snprintf(name, sizeof name, "block%d", b);
        REC_TRY(rec_nn_transformer_init(&s->blk[b], s->ps, name, s->d, s->heads, s->d,
                                        s->dropout, 1e-8f, REC_NN_INIT_XAVIER_NORMAL, &rng));
    }
    return rec_nn_layernorm_init(&s->ln, s->ps, "ln_last", s->d, 1e-8f);
}

/* The input of block nb [B, L, d] for windows seq (I32 [B, L], table rows,
 * 0 = padding); keep (I32 [B, L]) marks the non-padding positions. */
static rec_tensor *blocks(rec_graph *g, const sasrec *s, rec_tensor *seq, rec_tensor *keep,
                          int64_t B, int nb)
{
    rec_tensor *x = rec_nn_embedding_forward(g, (rec_nn_embedding *)&s->item, seq);
    x = rec_scale(g, x, sqrtf((float)s->d));
    x = rec_add(g, x, rec_nn_position_forward(g, &s->pos, B, s->L, keep));
    x = rec_nn_mask_rows(g, rec_dropout(g, x, s->dropout), keep);
    for (int b = 0; b < nb; b++)
        x = rec_nn_transformer_forward(g, &s->blk[b], x, keep, NULL);
    return x;
}

/* Final-LN outputs [B, L, d]. */
static rec_tensor *features(rec_graph *g, const sasrec *s, rec_tensor *seq, rec_tensor *keep,
                            int64_t B)
{
    return rec_nn_layernorm_forward(g, &s->ln, blocks(g, s, seq, keep, B, s->nblocks));
}

/* Right-aligns the last L of items[0..n) (dense indices) as table rows. */
static void window(int32_t *dst, int L, const int32_t *items, int64_t n)
{
    int64_t k = n < L ? n : L;
    memset(dst, 0, (size_t)(L - k) * sizeof *dst);
    for (int64_t j = 0; j < k; j++)
        dst[L - k + j] = items[n - k + j] + 1;
}

typedef struct fit_ctx {
    rec_model *m;
    rec_graph *g;
    rec_optim *opt;
    rec_sampler *smp;
    int32_t nu;          /* users with >= 2 training items */
    int32_t *users;      /* [nu] their indices */
    int32_t *in, *tgt;   /* [nu, L] input windows and target windows */
} fit_ctx;

/* One step over the batch's users (positions in c->users).  Dropout draws
 * from a seed taken from the trainer's stream, so a resumed fit is exact. */
static rec_status step(void *ctx, const rec_batch *bt, rec_rng *rng, double *loss)
{
    const fit_ctx *c = ctx;
    rec_model *m = c->m;
    sasrec *s = m->state;
    rec_graph *g = c->g;
    rec_graph_reset(g);
    rec_graph_set_training(g, 1);
    rec_graph_seed(g, rec_rng_u64(rng));
    int64_t B = bt->n, L = s->L, sh[2] = { B, L };
    rec_tensor *seq = rec_tensor_new(g, REC_I32, 2, sh), *keep = rec_tensor_new(g, REC_I32, 2, sh);
    rec_tensor *pos = rec_tensor_i32(g, B * L), *neg = rec_tensor_i32(g, B * L);
    rec_tensor *w = rec_tensor_1d(g, B * L), *ones = rec_tensor_1d(g, B * L);
    int64_t bl = B * L;
    rec_tensor *zeros = rec_tensor_zeros(g, REC_F32, 1, &bl);
    if (!zeros)
        return rec_graph_status(g);
    for (int64_t r = 0; r < B; r++) {
        int32_t k = bt->rows[r];
        const int32_t *in = c->in + (size_t)k * L, *tg = c->tgt + (size_t)k * L;
        int64_t o = r * L, first = L;
        for (int64_t t = 0; t < L; t++) {
            seq->iv[o + t] = in[t];
            keep->iv[o + t] = in[t] != 0;
            pos->iv[o + t] = tg[t];
            w->v[o + t] = tg[t] != 0 ? 1.0f : 0.0f;
            ones->v[o + t] = 1.0f;
            neg->iv[o + t] = 0;
            if (tg[t] != 0 && first == L)
                first = t;
        }
        rec_rng er; /* the sequence's own stream: the same draws on any rank */
        rec_batch_rng(bt, r, &er);
        REC_TRY(rec_sampler_draw(c->smp, &er, c->users[k], L - first, neg->iv + o + first));
        for (int64_t t = first; t < L; t++)
            neg->iv[o + t] = neg->iv[o + t] < 0 ? 0 : neg->iv[o + t] + 1;
    }
    int64_t rs[2] = { B * L, s->d };
    rec_tensor *out = rec_reshape(g, features(g, s, seq, keep, B), 2, rs);
    rec_tensor *pl = rec_rowdot(g, out, rec_nn_embedding_forward(g, &s->item, pos));
    rec_tensor *nl = rec_rowdot(g, out, rec_nn_embedding_forward(g, &s->item, neg));
    rec_tensor *l = rec_add(g, rec_bce_logits(g, pl, ones, w), rec_bce_logits(g, nl, zeros, w));
    if (!l)
        return rec_graph_status(g);
    *loss = l->v[0];
    REC_TRY(rec_backward(g, l));
    /* both terms are means over the target positions: ranks weigh in by them */
    double targets = 0;
    for (int64_t k = 0; k < bl; k++)
        targets += w->v[k];
    rec_optim_set_share(c->opt, targets);
    return rec_optim_step(c->opt);
}

static void ctx_free(fit_ctx *c, int L, int32_t nusers)
{
    rec_free(c->users, ((size_t)nusers + 1) * sizeof *c->users);
    rec_free(c->in, ((size_t)nusers * L + 1) * sizeof *c->in);
    rec_free(c->tgt, ((size_t)nusers * L + 1) * sizeof *c->tgt);
}

/* Keeps every user's last L training items (what scoring reads), and builds
 * the training windows of the users with at least two items. */
static rec_status prepare(rec_model *m, const rec_dataset *d, fit_ctx *c)
{
    sasrec *s = m->state;
    const int64_t *ptr;
    const int32_t *items;
    REC_TRY(rec_ds_user_csr(d, &ptr, &items, NULL));
    int32_t nu = m->nusers;
    int L = s->L;
    s->hptr = rec_malloc(((size_t)nu + 1) * sizeof *s->hptr);
    int64_t nh = 0;
    for (int32_t u = 0; u < nu; u++)
        nh += ptr[u + 1] - ptr[u] < L ? ptr[u + 1] - ptr[u] : L;
    s->nhist = nh;
    s->hist = rec_malloc(((size_t)nh + 1) * sizeof *s->hist);
    c->users = rec_malloc(((size_t)nu + 1) * sizeof *c->users);
    c->in = rec_malloc(((size_t)nu * L + 1) * sizeof *c->in);
    c->tgt = rec_malloc(((size_t)nu * L + 1) * sizeof *c->tgt);
    if (!s->hptr || !s->hist || !c->users || !c->in || !c->tgt)
        return rec_nomem("rec_model_fit(sasrec)");
    s->hptr[0] = 0;
    c->nu = 0;
    for (int32_t u = 0; u < nu; u++) {
        int64_t n = ptr[u + 1] - ptr[u], k = n < L ? n : L;
        memcpy(s->hist + s->hptr[u], items + ptr[u + 1] - k, (size_t)k * sizeof *s->hist);
        s->hptr[u + 1] = s->hptr[u] + k;
        if (n < 2)
            continue;
        window(c->in + (size_t)c->nu * L, L, items + ptr[u], n - 1);
        window(c->tgt + (size_t)c->nu * L, L, items + ptr[u] + 1, n - 1);
        c->users[c->nu++] = u;
    }
    return REC_OK;
}

static rec_status sasrec_fit(rec_model *m, const rec_dataset *d, rec_progress_fn cb, void *user)
{
    static const char fn[] = "rec_model_fit";
    uint64_t seed = (uint64_t)rec_model_int(m, "seed");
    REC_TRY(sasrec_alloc(m, fn, seed));
    sasrec *s = m->state;
    fit_ctx c = { .m = m };
    rec_status st = prepare(m, d, &c);
    if (!st && c.nu == 0)
        st = rec_err(REC_E_INVALID, "%s(sasrec): no user has two or more training items", fn);
    rec_optim_config oc;
    if (!st)
        st = rec_optim_config_init(&oc, "adam");
    if (!st) {
        oc.lr = rec_model_flt(m, "lr");
        oc.beta1 = 0.9;
        oc.beta2 = rec_model_flt(m, "beta2");
        oc.weight_decay = rec_model_flt(m, "reg");
        st = rec_optim_create_config(&c.opt, &oc, s->ps);
    }
    if (!st)
        st = rec_sampler_create(&c.smp, d, NULL);
    if (!st)
        st = rec_graph_create(&c.g);
    if (!st) {
        rec_trainer_vt vt = { .n_examples = c.nu, .step = step };
        st = rec_model_train(m, &vt, &c, s->ps, c.opt, cb, user, "rec_model_fit(sasrec)");
    }
    rec_graph_destroy(c.g);
    rec_sampler_destroy(c.smp);
    rec_optim_destroy(c.opt);
    ctx_free(&c, s->L, m->nusers);
    return st;
}

/* Scores of every item after the history items[0..n) (dense indices, time
 * order; only the last L count).  A graph per call keeps concurrent callers
 * apart. */
/* The network's last state over a history: state[d], which scores item i
 * as its dot product with item i's embedding. */
static rec_status last_state(const rec_model *m, const int32_t *items, int64_t n, float *state)
{
    const sasrec *s = m->state;
    rec_graph *g;
    REC_TRY(rec_graph_create(&g));
    rec_graph_set_grad(g, 0);
    rec_graph_set_training(g, 0);
    int64_t sh[2] = { 1, s->L };
    rec_tensor *seq = rec_tensor_new(g, REC_I32, 2, sh), *keep = rec_tensor_new(g, REC_I32, 2, sh);
    rec_tensor *h = NULL;
    if (keep) {
        window(seq->iv, s->L, items, n);
        for (int t = 0; t < s->L; t++)
            keep->iv[t] = seq->iv[t] != 0;
        h = features(g, s, seq, keep, 1);
    }
    rec_status st = rec_graph_status(g);
    if (!st && h)
        memcpy(state, h->v + (size_t)(s->L - 1) * s->d, (size_t)s->d * sizeof *state);
    rec_graph_destroy(g);
    return st;
}

static rec_status score_seq(const rec_model *m, const int32_t *items, int64_t n, float *out)
{
    const sasrec *s = m->state;
    float local[256];
    float *state = s->d <= 256 ? local : rec_malloc((size_t)s->d * sizeof *state);
    if (!state)
        return rec_nomem("rec_model_recommend");
    rec_status st = last_state(m, items, n, state);
    if (!st)
        rec_sgemv(0, m->nitems, s->d, 1.0f, s->item.weight->v + s->d, s->d, state, 0.0f, out);
    if (state != local)
        rec_free(state, (size_t)s->d * sizeof *state);
    return st;
}

/* Items: their embeddings (row 0, the padding, left out); users: the last
 * state over each user's training history, as score_user computes it. */
static rec_status sasrec_vectors(const rec_model *m, rec_side side, float *out, int *dim)
{
    const sasrec *s = m->state;
    *dim = s->d;
    if (!out)
        return REC_OK;
    if (side == REC_SIDE_ITEM) {
        memcpy(out, s->item.weight->v + s->d, (size_t)m->nitems * s->d * sizeof *out);
        return REC_OK;
    }
    for (int32_t u = 0; u < m->nusers; u++)
        REC_TRY(last_state(m, s->hist + s->hptr[u], s->hptr[u + 1] - s->hptr[u],
                           out + (size_t)u * s->d));
    return REC_OK;
}

static rec_status sasrec_score_user(const rec_model *m, int32_t u, float *out)
{
    const sasrec *s = m->state;
    return score_seq(m, s->hist + s->hptr[u], s->hptr[u + 1] - s->hptr[u], out);
}

static rec_status sasrec_score_history(const rec_model *m, const int32_t *items,
                                       const float *ratings, size_t n, float *out)
{
    (void)ratings; /* the order of the items is the signal, not their ratings */
    return score_seq(m, items, (int64_t)n, out);
}

/* att[L]: the last position's attention over the window of items[0..n), in
 * the last block, averaged over heads.  The layer keeps its weights inside
 * the softmax op, so they are recomputed from the block's input and its q,
 * k projections, as rec_nn_mha_forward forms them (causal: the last
 * position sees every position). */
static rec_status last_attention(const rec_model *m, const int32_t *items, int64_t n, float *att)
{
    const sasrec *s = m->state;
    const rec_nn_mha *a = &s->blk[s->nblocks - 1].attn;
    rec_graph *g;
    REC_TRY(rec_graph_create(&g));
    rec_graph_set_grad(g, 0);
    rec_graph_set_training(g, 0);
    int L = s->L, d = s->d, H = s->heads, dh = d / H;
    int64_t sh[2] = { 1, L };
    rec_tensor *seq = rec_tensor_new(g, REC_I32, 2, sh), *keep = rec_tensor_new(g, REC_I32, 2, sh);
    rec_tensor *qkv = NULL;
    if (keep) {
        window(seq->iv, L, items, n);
        for (int t = 0; t < L; t++)
            keep->iv[t] = seq->iv[t] != 0;
        rec_tensor *x = blocks(g, s, seq, keep, 1, s->nblocks - 1);
        x = rec_nn_layernorm_forward(g, &s->blk[s->nblocks - 1].ln_a, x);
        qkv = rec_linear(g, x, a->in_w, a->in_b); /* [1, L, 3d]: q, k, v blocks */
    }
    rec_status st = rec_graph_status(g);
    double *e = st || !qkv ? NULL : rec_malloc((size_t)L * sizeof *e);
    if (!st && qkv && !e)
        st = rec_nomem("rec_model_explain(sasrec)");
    if (!st && qkv) {
        memset(att, 0, (size_t)L * sizeof *att);
        const float *q = qkv->v + (size_t)(L - 1) * 3 * d;
        double scale = 1.0 / sqrt((double)dh);
        for (int h = 0; h < H; h++) {
            double mx = -INFINITY, z = 0;
            for (int t = 0; t < L; t++) {
                const float *k = qkv->v + (size_t)t * 3 * d + d + (size_t)h * dh;
                e[t] = 0;
                for (int j = 0; j < dh; j++)
                    e[t] += (double)q[h * dh + j] * k[j];
                e[t] *= scale;
                mx = fmax(mx, e[t]);
            }
            for (int t = 0; t < L; t++)
                z += e[t] = exp(e[t] - mx);
            for (int t = 0; t < L; t++)
                att[t] += (float)(e[t] / z / H);
        }
    }
    rec_free(e, (size_t)L * sizeof *e);
    rec_graph_destroy(g);
    return st;
}

/* u's history items by the last position's attention, largest first; an
 * item in the window more than once adds up its positions' shares. */
static rec_status sasrec_explain(const rec_model *m, int32_t u, int32_t i, size_t k,
                                 const char **reasons, float *weights, size_t *n)
{
    (void)i;
    const sasrec *s = m->state;
    const int32_t *h = s->hist + s->hptr[u];
    int64_t nh = s->hptr[u + 1] - s->hptr[u], first = s->L - nh;
    *n = 0;
    if (nh == 0)
        return REC_OK;
    size_t cap = (size_t)nh;
    float *att = rec_malloc((size_t)s->L * sizeof *att), *w = rec_malloc(cap * sizeof *w);
    int32_t *item = rec_malloc(cap * sizeof *item), *top = rec_malloc(cap * sizeof *top);
    rec_status st = att && w && item && top ? last_attention(m, h, nh, att)
                                            : rec_nomem("rec_model_explain");
    if (!st) {
        double total = 0;
        for (int64_t t = 0; t < nh; t++)
            total += att[first + t];
        int64_t nr = 0; /* distinct items, in order of first appearance */
        for (int64_t t = 0; t < nh; t++) {
            int64_t j = 0;
            while (j < nr && item[j] != h[t])
                j++;
            if (j == nr) {
                item[nr] = h[t];
                w[nr++] = 0;
            }
            w[j] += total > 0 ? (float)(att[first + t] / total) : 0;
        }
        *n = rec_topk(w, nr, k < cap ? k : cap, top, weights);
        for (size_t j = 0; j < *n; j++)
            reasons[j] = rec_idmap_name(m->items, item[top[j]]);
    }
    rec_free(att, (size_t)s->L * sizeof *att);
    rec_free(w, cap * sizeof *w);
    rec_free(item, cap * sizeof *item);
    rec_free(top, cap * sizeof *top);
    return st;
}

static rec_status sasrec_save(const rec_model *m, rec_lrm_writer *w)
{
    const sasrec *s = m->state;
    REC_TRY(rec_pstore_save(s->ps, w, "net.", "rec_model_save(sasrec)"));
    int64_t nu1 = (int64_t)m->nusers + 1;
    REC_TRY(rec_lrm_add_tensor(w, "hist.ptr", REC_LRM_I64, 1, &nu1, s->hptr));
    return rec_lrm_add_tensor(w, "hist.items", REC_LRM_I32, 1, &s->nhist, s->hist);
}

static rec_status sasrec_load(rec_model *m, const rec_lrm_reader *r)
{
    static const char fn[] = "rec_model_load";
    REC_TRY(sasrec_alloc(m, fn, 0));
    sasrec *s = m->state;
    REC_TRY(rec_pstore_load(s->ps, r, "net.", fn));
    int64_t nu1 = (int64_t)m->nusers + 1, sh[REC_LRM_MAX_DIMS];
    const void *pp, *pi;
    REC_TRY(rec_lrm_tensor_expect(r, "hist.ptr", REC_LRM_I64, 1, &nu1, &pp));
    REC_TRY(rec_lrm_tensor(r, "hist.items", REC_LRM_I32, 1, sh, &pi));
    const int64_t *ptr = pp;
    const int32_t *it = pi;
    REC_TRY(rec_csr_check(1, fn, "sasrec histories", m->nusers, ptr, sh[0], it, 0, m->nitems));
    for (int32_t u = 0; u < m->nusers; u++)
        if (ptr[u + 1] - ptr[u] > s->L)
            return rec_err(REC_E_FORMAT, "%s: sasrec history of user %d is longer than %d", fn,
                           u, s->L);
    s->hptr = rec_malloc((size_t)nu1 * sizeof *s->hptr);
    s->nhist = sh[0];
    s->hist = rec_malloc(((size_t)s->nhist + 1) * sizeof *s->hist);
    if (!s->hptr || !s->hist)
        return rec_nomem(fn);
    memcpy(s->hptr, ptr, (size_t)nu1 * sizeof *s->hptr);
    memcpy(s->hist, it, (size_t)s->nhist * sizeof *s->hist);
    return REC_OK;
}

const rec_model_vt rec_sasrec_vt = {
    .kind = "sasrec",
    .summary = "SASRec: causal self-attention over the user's item sequence, next-item scores",
    .spec = spec,
    .nspec = NSPEC,
    .fit = sasrec_fit,
    .score_user = sasrec_score_user,
    .vectors = sasrec_vectors,
    .score_history = sasrec_score_history,
    .explain = sasrec_explain,
    .save = sasrec_save,
    .load = sasrec_load,
    .free_state = sasrec_free,
};
