/* "dnn": ID embeddings + categorical / multi-hot embeddings + normalised
 * numerics -> MLP -> sigmoid, with an optional wide linear part over
 * features and user x item crosses (Wide & Deep, Cheng et al. 2016) and an
 * optional factorisation-machine term over the field vectors (DeepFM, Guo
 * et al. 2017).  Trained through the autodiff core with the trainer loop,
 * BCE on logits and lazy Adam on the row-sparse tables.
 *
 * Targets (param "target"):
 *   implicit   every training row is a positive; `negatives` uniformly
 *              sampled items the user never touched are negatives (default:
 *              ranking is what the walkthrough evaluates)
 *   threshold  rating >= threshold is a positive, a lower rating an observed
 *              negative, plus the sampled negatives
 *   rating     BCE against rating / max training rating on the observed rows
 *              only (no sampled negatives); scores are max rating * sigmoid,
 *              so RMSE applies
 * The score of the other targets is the probability sigmoid(logit).
 *
 * As the ranking stage of a pipeline (rec_model_set_candidates attaches a
 * fitted retrieval model and N):
 *   negatives_from = candidates  a row's negatives are drawn from the N
 *              items the retrieval model gives its user (its training items
 *              excluded, as served), candidate_share of them (the rest
 *              uniform): negatives like those the ranker will be shown.
 *              On data whose held-out items are in those lists it pushes
 *              them down (dnn_candidates.c): measure before choosing it
 *              (examples/14_pipeline.c prints both rankers)
 *   loss = ranknet  each row and its negatives are a group: RankNet (Burges
 *              2005) over its pairs, softplus(s_neg - s_pos); the logit is
 *              then an order, not a probability (the score stays its
 *              sigmoid)
 * Defaults (bce, uniform) train exactly as before.
 *
 * History (history = mean): one more deep field, the mean of an item table
 * over the user's training items (YouTube DNN, Covington et al. 2016),
 * each example's own item left out so that the network cannot find its
 * target in its input.  It is what scores a user known only by a history
 * (rec_model_recommend_history, rec_model_recommend_features).  Default
 * none: on ml-latest-small (validation = each user's last training
 * rating) mean gave known users NDCG@10 0.0264 vs 0.0276 (hit@10 0.0541
 * both) and doubled the fold-in hit@10 of users left out of the fit
 * (0.0492 vs 0.0246); on the generated data likewise (0.1097 vs 0.1149,
 * fold-in 0.215 vs 0.015).  Without it an anonymous user's scores are the
 * network's for no id, no features and no history.
 *
 * Call-time users and items (dnn_calltime.c): an anonymous user from a
 * feature set's user fields and contexts, items added from theirs.
 *
 * Per-interaction context (user_features naming time:hour, time:weekday or
 * a context the data declared): a categorical field whose value is the
 * training row's, its sampled negatives in the positive's context, as
 * twotower's user tower reads them; at call time the value a feature set
 * gives (rec_model_score_context), rec_model_score serving every context
 * missing (the all-zero row, as an unknown value). */
#include "dnn-impl.h"
#include "train/train-impl.h"

#include <math.h>
#include <string.h>

static const rec_param_spec spec[] = {
    { "user_features", REC_PARAM_STR, "auto", 0, 0, NULL,
      "user fields fed to the network, comma-separated ('id' for the ID embedding), and "
      "per-interaction contexts (time:hour, time:weekday or a declared one: each row in its "
      "own); auto = id and every categorical, numeric, multi-hot and dense field, no "
      "context" },
    { "item_features", REC_PARAM_STR, "auto", 0, 0, NULL,
      "item fields fed to the network, as user_features" },
    { "history", REC_PARAM_STR, "none", 0, 0, "none|mean",
      "mean: one more field, the mean of an item table over the user's training items (the "
      "example's item left out in training), which also scores a history given at call "
      "time; none: no history field" },
    { "dim", REC_PARAM_INT, "16", 1, 1024, NULL, "embedding size of every field" },
    { "hidden", REC_PARAM_STR, "64,32", 0, 0, NULL,
      "hidden layer sizes of the MLP, comma-separated (empty: a linear layer)" },
    { "dropout", REC_PARAM_FLOAT, "0.1", 0, 0.95, NULL, "dropout after each hidden layer" },
    { "wide", REC_PARAM_BOOL, "false", 0, 1, NULL,
      "add the wide linear part over features and crosses (Wide & Deep)" },
    { "crosses", REC_PARAM_STR, "auto", 0, 0, NULL,
      "user x item crosses of the wide part: 'region x genres,...'; auto = every categorical "
      "or multi-hot user feature x every such item feature; none = only the dataset's "
      "declared crosses" },
    { "cross_buckets", REC_PARAM_INT, "1048576", 1, 1 << 28, NULL,
      "rows of a cross's weight table; larger value products are hashed into this many" },
    { "fm", REC_PARAM_BOOL, "false", 0, 1, NULL,
      "add a factorisation-machine term over the field embeddings and first-order weights "
      "(DeepFM)" },
    { "normalize", REC_PARAM_STR, "zscore", 0, 0, "zscore|none",
      "numeric fields: z-score with the training statistics (after the dataset's own "
      "normalisation), or as they are" },
    { "target", REC_PARAM_STR, "implicit", 0, 0, "implicit|threshold|rating",
      "what is learnt: interactions vs sampled negatives, rating >= threshold, or rating / max" },
    { "threshold", REC_PARAM_FLOAT, "4", -1e9, 1e9, NULL,
      "target threshold: the smallest positive rating" },
    { "negatives", REC_PARAM_INT, "4", 0, 1000, NULL, "sampled negatives per positive" },
    { "loss", REC_PARAM_STR, "bce", 0, 0, "bce|ranknet",
      "pointwise BCE on each example, or pairwise RankNet of each positive over its "
      "negatives (target implicit or threshold)" },
    { "negatives_from", REC_PARAM_STR, "uniform", 0, 0, "uniform|candidates",
      "where negatives come from: uniformly from the items the user never touched, or from "
      "the user's retrieval candidates (rec_model_set_candidates)" },
    { "candidate_share", REC_PARAM_FLOAT, "1", 0, 1, NULL,
      "negatives_from candidates: the share of negatives drawn from the candidates, the rest "
      "uniform" },
    { "epochs", REC_PARAM_INT, "10", 1, 100000, NULL, "passes over the interactions" },
    { "batch", REC_PARAM_INT, "256", 1, 1 << 20, NULL,
      "interactions per step (each with its negatives)" },
    { "lr", REC_PARAM_FLOAT, "0.005", 0, 10, NULL,
      "Adam learning rate (0.001 with batch 1024 underfits the generated data in 10 epochs)" },
    { "reg", REC_PARAM_FLOAT, "0", 0, 100, NULL, "L2 penalty (Adam weight decay)" },
    { "init_std", REC_PARAM_FLOAT, "0.05", 0, 10, NULL,
      "std of the normal initialisation of the embeddings" },
    { "seed", REC_PARAM_INT, "42", 0, 9.2e18, NULL, "random seed" },
    REC_MODEL_VALIDATION_KEYS,
};
#define NSPEC (sizeof spec / sizeof *spec)

/* Items scored per forward pass of score_user. */
#define CHUNK 2048

static void dnn_free(rec_model *m)
{
    rec_dnn *s = m->state;
    if (!s)
        return;
    rec_dnn_features_free(s);
    rec_pstore_destroy(s->ps);
    rec_free(s, sizeof *s);
    m->state = NULL;
}

static rec_status dnn_alloc(rec_model *m, const char *fn)
{
    rec_dnn *s = rec_calloc(1, sizeof *s);
    if (!s)
        return rec_nomem(fn);
    m->state = s;
    s->dim = (int)rec_model_int(m, "dim");
    s->wide = rec_model_bool(m, "wide");
    s->fm = rec_model_bool(m, "fm");
    const char *t = rec_model_str(m, "target");
    s->target = !strcmp(t, "rating") ? REC_DNN_RATING
              : !strcmp(t, "threshold") ? REC_DNN_THRESHOLD : REC_DNN_IMPLICIT;
    s->rmax = 1;
    s->history = !strcmp(rec_model_str(m, "history"), "mean") ? REC_DNN_HIST_MEAN
                                                                : REC_DNN_HIST_NONE;
    /* the output layer is the MLP's last: at most REC_NN_MLP_MAX - 1 hidden ones */
    return rec_list_ints(rec_model_str(m, "hidden"), 1, 65536, s->hidden, REC_NN_MLP_MAX - 1,
                         &s->nhidden, fn, "hidden");
}

typedef struct fitctx {
    rec_model *m;
    rec_graph *g;
    rec_optim *opt;
    rec_sampler *smp;
    const int32_t *us, *is;
    const float *rt;
    const int32_t *ctx;     /* [nctx, rows]: each row's context codes */
    int64_t rows;
    int negatives, ranknet;
    float threshold;
} fitctx;

static rec_status step(void *ctx, const rec_batch *b, rec_rng *rng, double *loss)
{
    fitctx *c = ctx;
    rec_dnn *s = c->m->state;
    rec_graph *g = c->g;
    int per = 1 + (s->target == REC_DNN_RATING ? 0 : c->negatives);
    int64_t tot = b->n * per;
    rec_graph_reset(g);
    rec_tensor *u = rec_tensor_i32(g, tot), *it = rec_tensor_i32(g, tot);
    rec_tensor *y = rec_tensor_1d(g, tot), *w = rec_tensor_1d(g, tot);
    int nc = s->nctx;
    int32_t *cx = nc && w ? rec_graph_alloc(g, (size_t)tot * (size_t)nc * sizeof *cx) : NULL;
    if (!w || (nc && !cx))
        return rec_graph_status(g);
    for (int64_t k = 0; k < b->n; k++) {
        int32_t r = b->rows[k], base = (int32_t)(k * per);
        float t = 1.0f;
        if (s->target == REC_DNN_THRESHOLD)
            t = c->rt[r] >= c->threshold ? 1.0f : 0.0f;
        else if (s->target == REC_DNN_RATING)
            t = fminf(fmaxf(c->rt[r] / s->rmax, 0.0f), 1.0f);
        u->iv[base] = c->us[r];
        it->iv[base] = c->is[r];
        y->v[base] = t;
        w->v[base] = 1.0f;
        if (per > 1) { /* the example's own stream: the same draws on any rank */
            rec_rng er;
            rec_batch_rng(b, k, &er);
            REC_TRY(rec_sampler_draw(c->smp, &er, c->us[r], per - 1, it->iv + base + 1));
        }
        /* the negatives meet the user in the positive's context */
        for (int j = 0; j < per; j++)
            for (int q = 0; q < nc; q++)
                cx[(size_t)(base + j) * nc + q] = c->ctx[q * c->rows + r];
        for (int j = 1; j < per; j++) {
            u->iv[base + j] = c->us[r];
            y->v[base + j] = 0.0f;
            /* a user who has seen every item has no negative: a dropped slot */
            w->v[base + j] = it->iv[base + j] >= 0 ? 1.0f : 0.0f;
            if (it->iv[base + j] < 0)
                it->iv[base + j] = 0;
        }
    }
    rec_tensor *hv = NULL;
    if (s->history) { /* each row's user's items but its own, shared by its negatives */
        const rec_model *m = c->m;
        const int32_t **hs = rec_graph_alloc(g, (size_t)b->n * sizeof *hs);
        int64_t *hl = rec_graph_alloc(g, (size_t)b->n * sizeof *hl);
        int32_t *sk = rec_graph_alloc(g, (size_t)b->n * sizeof *sk);
        rec_tensor *rep = rec_tensor_i32(g, tot);
        if (!hs || !hl || !sk || !rep)
            return rec_graph_status(g);
        for (int64_t k = 0; k < b->n; k++) {
            int32_t r = b->rows[k], us = c->us[r];
            hs[k] = m->seen + m->seen_ptr[us];
            hl[k] = m->seen_ptr[us + 1] - m->seen_ptr[us];
            sk[k] = c->is[r];
        }
        for (int64_t k = 0; k < tot; k++)
            rep->iv[k] = (int32_t)(k / per);
        hv = rec_gather(g, rec_dnn_history(g, s, hs, hl, sk, b->n), rep, -1);
    }
    rec_dnn_in in = { u, it, cx, hv, NULL };
    rec_tensor *lg = rec_dnn_forward(g, s, &in), *l;
    double kept = 0;
    if (c->ranknet) { /* example k and its negatives are group k */
        rec_tensor *off = rec_tensor_i32(g, b->n + 1);
        if (!off)
            return rec_graph_status(g);
        for (int64_t k = 0; k <= b->n; k++)
            off->iv[k] = (int32_t)(k * per);
        l = rec_loss_ranknet(g, lg, y, w, off);
        /* a mean over the ordered pairs: a positive row's kept negatives */
        for (int64_t k = 0; k < b->n; k++)
            for (int j = 1; j < per; j++)
                kept += y->v[k * per] * w->v[k * per + j];
    } else {
        l = rec_bce_logits(g, lg, y, w);
        for (int64_t k = 0; k < tot; k++)
            kept += w->v[k];
    }
    if (!l)
        return rec_graph_status(g);
    *loss = l->v[0];
    REC_TRY(rec_backward(g, l));
    /* the loss is a mean over kept slots (pairs): ranks weigh in by that count */
    rec_optim_set_share(c->opt, kept);
    return rec_optim_step(c->opt);
}

static rec_status train(rec_model *m, const rec_dataset *d, rec_progress_fn cb, void *user,
                        const char *fn)
{
    rec_dnn *s = m->state;
    fitctx c = { .m = m, .us = rec_ds_users_col(d), .is = rec_ds_items_col(d),
                 .rt = rec_ds_ratings_col(d), .negatives = (int)rec_model_int(m, "negatives"),
                 .threshold = (float)rec_model_flt(m, "threshold"),
                 .rows = rec_ds_num_rows(d) };
    int32_t *ctx;
    REC_TRY(rec_dnn_row_contexts(s, d, &ctx, fn));
    c.ctx = ctx;
    rec_optim_config oc;
    rec_status st = rec_optim_config_init(&oc, "adam");
    oc.lr = rec_model_flt(m, "lr");
    oc.weight_decay = rec_model_flt(m, "reg");
    if (!st)
        st = rec_optim_create_config(&c.opt, &oc, s->ps);
    if (!st)
        st = rec_graph_create(&c.g);
    c.ranknet = !strcmp(rec_model_str(m, "loss"), "ranknet");
    if (!st && s->target != REC_DNN_RATING && c.negatives > 0) {
        if (m->cand_model)
            st = rec_dnn_candidate_sampler(m, d, &c.smp, fn);
        else
            st = rec_sampler_create(&c.smp, d, NULL);
    }
    if (!st) {
        rec_graph_set_training(c.g, 1);
        rec_graph_seed(c.g, (uint64_t)rec_model_int(m, "seed") ^ 0x5eedull);
        rec_trainer_vt vt = { .n_examples = rec_ds_num_rows(d), .step = step };
        st = rec_model_train(m, &vt, &c, s->ps, c.opt, cb, user, fn);
    }
    if (st == REC_E_NOMEM && !*rec_last_error())
        rec_nomem(fn);
    rec_sampler_destroy(c.smp);
    rec_graph_destroy(c.g);
    rec_optim_destroy(c.opt);
    rec_dnn_row_contexts_free(s, d, ctx);
    return st;
}

/* The ranking-stage keys agree with each other and with the attachment. */
static rec_status check_ranking(const rec_model *m, const rec_dnn *s, const char *fn)
{
    int cand = !strcmp(rec_model_str(m, "negatives_from"), "candidates");
    int ranknet = !strcmp(rec_model_str(m, "loss"), "ranknet");
    if (cand && !m->cand_model)
        return rec_err(REC_E_STATE, "%s: negatives_from 'candidates' needs a retrieval model: "
                       "attach one with rec_model_set_candidates", fn);
    if (!cand && m->cand_model)
        return rec_err(REC_E_INVALID, "%s: a retrieval model is attached "
                       "(rec_model_set_candidates) but negatives_from is 'uniform': set "
                       "negatives_from=candidates, or detach it", fn);
    if ((cand || ranknet) && s->target == REC_DNN_RATING)
        return rec_err(REC_E_INVALID, "%s: target 'rating' has no negatives: %s needs target "
                       "implicit or threshold", fn, ranknet ? "loss 'ranknet'" :
                       "negatives_from 'candidates'");
    if ((cand || ranknet) && rec_model_int(m, "negatives") < 1)
        return rec_err(REC_E_INVALID, "%s: negatives is 0: %s needs at least one per "
                       "positive", fn, ranknet ? "loss 'ranknet'" :
                       "negatives_from 'candidates'");
    return REC_OK;
}

static rec_status dnn_fit(rec_model *m, const rec_dataset *d, rec_progress_fn cb, void *user)
{
    static const char fn[] = "rec_model_fit(dnn)";
    REC_TRY(dnn_alloc(m, fn));
    rec_dnn *s = m->state;
    /* the scale is the whole data's, not this rank's shard's */
    const rec_dataset *all = m->fit_whole ? m->fit_whole : d;
    const float *rt = rec_ds_ratings_col(all);
    if (s->target != REC_DNN_IMPLICIT && !rt)
        return rec_err(REC_E_STATE, "%s: target '%s' needs ratings; the dataset has none", fn,
                       rec_model_str(m, "target"));
    if (s->target == REC_DNN_RATING) {
        float mx = 0;
        for (int64_t r = 0; r < rec_ds_num_rows(all); r++)
            mx = fmaxf(mx, rt[r]);
        if (!(mx > 0))
            return rec_err(REC_E_INVALID, "%s: target 'rating' needs a positive rating", fn);
        s->rmax = mx;
    }
    REC_TRY(check_ranking(m, s, fn));
    s->hrows = m->nitems;
    REC_TRY(rec_dnn_resolve(m, d, s, fn));
    rec_rng rng;
    rec_rng_seed(&rng, (uint64_t)rec_model_int(m, "seed"));
    REC_TRY(rec_dnn_build(s, (float)rec_model_flt(m, "dropout"),
                          (float)rec_model_flt(m, "init_std"), &rng));
    return train(m, d, cb, user, fn);
}

/* Who score_items scores for: user u (-1: anon, NULL for every field
 * missing) with history hist[nh] (history = mean; ignored otherwise). */
typedef struct who {
    int32_t u;
    const rec_dnn_user *anon;
    const int32_t *hist;
    int64_t nh;
} who;

static who known(const rec_model *m, int32_t u)
{
    who w = { u, NULL, m->seen + m->seen_ptr[u], m->seen_ptr[u + 1] - m->seen_ptr[u] };
    return w;
}

/* Scores of items[0..n) (items NULL: i0 .. i0+n-1) for w in context codes
 * ctx[nctx] (NULL: every context missing), in chunks, on a graph of the
 * call's own (so any number of threads may score at once). */
static rec_status score_items(const rec_model *m, const who *w, const int32_t *ctx,
                              const int32_t *items, int32_t i0, int32_t n, float *out,
                              const char *fn)
{
    const rec_dnn *s = m->state;
    int nc = s->nctx;
    int32_t *cx = NULL;
    size_t cb = (size_t)(n < 1 ? 1 : n < CHUNK ? n : CHUNK) * (size_t)nc * sizeof *cx;
    if (ctx && nc) { /* the same context for every pair of a chunk */
        if (!(cx = rec_malloc(cb)))
            return rec_nomem(fn);
        for (size_t k = 0; k < cb / sizeof *cx; k++)
            cx[k] = ctx[k % (size_t)nc];
    }
    rec_graph *g;
    rec_status gs = rec_graph_create(&g);
    if (gs) {
        rec_free(cx, cb);
        return gs;
    }
    rec_graph_set_grad(g, 0);
    rec_graph_set_training(g, 0);
    rec_status st = REC_OK;
    for (int32_t b = 0; !st && b < n; b += CHUNK) {
        int32_t len = n - b < CHUNK ? n - b : CHUNK;
        rec_graph_reset(g);
        rec_tensor *tu = rec_tensor_i32(g, len), *ti = rec_tensor_i32(g, len), *hv = NULL;
        if (tu && ti)
            for (int32_t k = 0; k < len; k++) {
                tu->iv[k] = w->u;
                ti->iv[k] = items ? items[b + k] : i0 + b + k;
            }
        if (ti && s->history) { /* one bag, every pair's */
            rec_tensor *rep = rec_tensor_i32(g, len);
            if (rep)
                memset(rep->iv, 0, (size_t)len * sizeof *rep->iv);
            hv = rep ? rec_gather(g, rec_dnn_history(g, s, &w->hist, &w->nh, NULL, 1), rep, -1)
                     : NULL;
        }
        rec_dnn_in in = { tu, ti, cx, hv, w->anon };
        rec_tensor *lg = tu && ti ? rec_dnn_forward(g, s, &in) : NULL;
        if (!lg) {
            st = rec_graph_status(g);
            if (st == REC_E_NOMEM)
                rec_nomem(fn);
            break;
        }
        for (int32_t k = 0; k < len; k++)
            out[b + k] = s->rmax / (1.0f + expf(-lg->v[k]));
    }
    rec_graph_destroy(g);
    rec_free(cx, cb);
    return st;
}

static rec_status dnn_score_user(const rec_model *m, int32_t u, float *out)
{
    who w = known(m, u);
    return score_items(m, &w, NULL, NULL, 0, m->nitems, out, "rec_model_recommend(dnn)");
}

static rec_status dnn_score_pair(const rec_model *m, int32_t u, int32_t i, float *out)
{
    who w = known(m, u);
    return score_items(m, &w, NULL, NULL, i, 1, out, "rec_model_score(dnn)");
}

static rec_status dnn_score_list(const rec_model *m, int32_t u, const int32_t *items, size_t n,
                                 float *out)
{
    /* score_items counts in int32_t: a list may repeat items past that */
    static const char fn[] = "rec_model_score_items(dnn)";
    const size_t most = (size_t)1 << 30;
    who w = known(m, u);
    for (size_t b = 0; b < n; b += most) {
        size_t len = n - b < most ? n - b : most;
        REC_TRY(score_items(m, &w, NULL, items + b, 0, (int32_t)len, out + b, fn));
    }
    return REC_OK;
}

static rec_status dnn_score_context(const rec_model *m, int32_t u, const rec_feature_set *fs,
                                    float *out)
{
    static const char fn[] = "rec_model_score_context(dnn)";
    const rec_dnn *s = m->state;
    int32_t one, *ctx = s->nctx > 1 ? rec_malloc((size_t)s->nctx * sizeof *ctx) : &one;
    if (!ctx)
        return rec_nomem(fn);
    rec_status st = rec_dnn_context_codes(s, fs, ctx, fn);
    who w = known(m, u);
    if (!st)
        st = score_items(m, &w, ctx, NULL, 0, m->nitems, out, fn);
    if (ctx != &one)
        rec_free(ctx, (size_t)s->nctx * sizeof *ctx);
    return st;
}

/* An anonymous user: no id row, every user field missing (the all-zero
 * rows, numerics at the training mean) and the history given; with
 * history = none the history is not read, and every anonymous user gets
 * this one score.  The ratings are not read either. */
static rec_status dnn_score_history(const rec_model *m, const int32_t *items, const float *r,
                                    size_t n, float *out)
{
    (void)r;
    who w = { -1, NULL, items, (int64_t)n };
    return score_items(m, &w, NULL, NULL, 0, m->nitems, out,
                       "rec_model_recommend_history(dnn)");
}

/* An anonymous user described by fs: its user fields and contexts, the
 * history as dnn_score_history reads it. */
static rec_status dnn_score_features(const rec_model *m, const rec_feature_set *fs,
                                     const int32_t *hist, size_t nh, float *out)
{
    static const char fn[] = "rec_model_score_features(dnn)";
    const rec_dnn *s = m->state;
    rec_dnn_user an;
    int32_t one, *ctx = s->nctx > 1 ? rec_malloc((size_t)s->nctx * sizeof *ctx) : &one;
    if (!ctx)
        return rec_nomem(fn);
    rec_status st = rec_dnn_context_codes(s, fs, ctx, fn);
    if (!st)
        st = rec_dnn_user_make(s, fs, &an, fn);
    if (!st) {
        who w = { -1, &an, hist, (int64_t)nh };
        st = score_items(m, &w, ctx, NULL, 0, m->nitems, out, fn);
        rec_dnn_user_free(s, &an);
    }
    if (ctx != &one)
        rec_free(ctx, (size_t)s->nctx * sizeof *ctx);
    return st;
}

static rec_status dnn_add_items(rec_model *m, const rec_feature_set *const *fs, size_t n)
{
    return rec_dnn_grow_items(m->state, fs, n, "rec_model_add_items(dnn)");
}

static rec_status dnn_save(const rec_model *m, rec_lrm_writer *w)
{
    const rec_dnn *s = m->state;
    int64_t one[1] = { 1 };
    REC_TRY(rec_lrm_add_tensor(w, "dnn.rmax", REC_LRM_F32, 1, one, &s->rmax));
    if (s->history)
        REC_TRY(rec_lrm_add_tensor(w, "dnn.hist.rows", REC_LRM_I32, 1, one, &s->hrows));
    REC_TRY(rec_dnn_features_save(s, w));
    return rec_pstore_save(s->ps, w, "", "rec_model_save(dnn)");
}

static rec_status dnn_load(rec_model *m, const rec_lrm_reader *r)
{
    static const char fn[] = "rec_model_load(dnn)";
    REC_TRY(dnn_alloc(m, fn));
    rec_dnn *s = m->state;
    int64_t one[1] = { 1 };
    const void *p;
    REC_TRY(rec_lrm_tensor_expect(r, "dnn.rmax", REC_LRM_F32, 1, one, &p));
    memcpy(&s->rmax, p, sizeof s->rmax);
    if (!(s->rmax > 0 && isfinite(s->rmax)))
        return rec_err(REC_E_FORMAT, "%s: dnn.rmax is not a positive number", fn);
    if (s->history) {
        REC_TRY(rec_lrm_tensor_expect(r, "dnn.hist.rows", REC_LRM_I32, 1, one, &p));
        memcpy(&s->hrows, p, sizeof s->hrows);
        if (s->hrows < 1 || s->hrows > m->nitems)
            return rec_err(REC_E_FORMAT, "%s: dnn.hist.rows %d is not in [1, %d]", fn,
                           (int)s->hrows, (int)m->nitems);
    }
    REC_TRY(rec_dnn_features_load(s, r, m->nusers, m->nitems));
    rec_rng rng;
    rec_rng_seed(&rng, 0);
    REC_TRY(rec_dnn_build(s, (float)rec_model_flt(m, "dropout"), 0.0f, &rng));
    return rec_pstore_load(s->ps, r, "", fn);
}

static int dnn_predicts_ratings(const rec_model *m)
{
    return ((const rec_dnn *)m->state)->target == REC_DNN_RATING;
}

const rec_model_vt rec_dnn_vt = {
    .kind = "dnn",
    .summary = "deep network over ID, categorical and numeric features; optional wide "
               "crosses (Wide & Deep) and FM term (DeepFM)",
    .spec = spec,
    .nspec = NSPEC,
    .fit = dnn_fit,
    .score_user = dnn_score_user,
    .score_pair = dnn_score_pair,
    .score_items = dnn_score_list,
    .predicts_ratings = dnn_predicts_ratings,
    .schema = rec_dnn_schema,
    .score_context = dnn_score_context,
    .score_history = dnn_score_history,
    .score_features = dnn_score_features,
    .add_items = dnn_add_items,
    .save = dnn_save,
    .load = dnn_load,
    .free_state = dnn_free,
    .row_shards = 1,
};
