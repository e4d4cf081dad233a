/* "mf": matrix factorisation for implicit feedback trained through the
 * autodiff core (BPR over uniformly sampled negatives, lazy Adam on
 * row-sparse embedding gradients).  The demo model and the template every
 * neural model follows: a step builds the loss from ops, runs backward and
 * the optimizer; the trainer (rec_model_train) owns the epoch loop. */
#include "model-impl.h"
#include "core/linalg-impl.h"
#include "core/ops.h"
#include "train/train-impl.h"

#include <math.h>
#include <string.h>

static const rec_param_spec spec[] = {
    { "dim", REC_PARAM_INT, "32", 1, 4096, NULL, "latent factors per user and item" },
    { "epochs", REC_PARAM_INT, "20", 1, 100000, NULL, "passes over the interactions" },
    { "batch", REC_PARAM_INT, "1024", 1, 1 << 24, NULL, "interactions per step" },
    { "optimizer", REC_PARAM_STR, "adam", 0, 0, "adam|adagrad|sgd",
      "optimizer of the embeddings (lazy on the rows a step touches; sgd as in the BPR "
      "paper)" },
    { "lr", REC_PARAM_FLOAT, "0.01", 0, 10, NULL, "learning rate" },
    { "reg", REC_PARAM_FLOAT, "0.0001", 0, 100, NULL,
      "L2 penalty on the embeddings a step touches (the optimizer's weight decay)" },
    { "init_std", REC_PARAM_FLOAT, "0.1", 0, 10, NULL, "std of the normal initialisation" },
    { "fold_in_reg", REC_PARAM_FLOAT, "0.1", 0, 1e6, NULL,
      "ridge penalty when folding in a new history" },
    { "seed", REC_PARAM_INT, "42", 0, 9.2e18, NULL, "random seed" },
    REC_MODEL_CHECKPOINT_KEYS,
    REC_MODEL_VALIDATION_KEYS,
    REC_MODEL_INDEX_KEYS,
};
#define NSPEC (sizeof spec / sizeof *spec)

typedef struct mf {
    rec_pstore *ps;
    rec_tensor *P, *Q; /* [users, dim], [items, dim] */
    int dim;
} mf;

static void mf_free(rec_model *m)
{
    mf *s = m->state;
    if (!s)
        return;
    rec_pstore_destroy(s->ps);
    rec_free(s, sizeof *s);
}

static rec_status mf_alloc(rec_model *m)
{
    mf *s = rec_calloc(1, sizeof *s);
    if (!s)
        return rec_nomem("mf");
    m->state = s;
    s->dim = (int)rec_model_int(m, "dim");
    REC_TRY(rec_pstore_create(&s->ps));
    int64_t ps[2] = { m->nusers, s->dim }, qs[2] = { m->nitems, s->dim };
    s->P = rec_pstore_add(s->ps, "P", 2, ps, REC_T_SPARSE);
    s->Q = s->P ? rec_pstore_add(s->ps, "Q", 2, qs, REC_T_SPARSE) : NULL;
    return s->Q ? REC_OK : REC_E_NOMEM;
}

typedef struct fitctx {
    rec_model *m;
    rec_graph *g;
    rec_optim *opt;
    rec_sampler *smp;
    const int32_t *us, *is;
} fitctx;

/* One BPR step on the batch's interactions, one sampled negative each. */
static rec_status step(void *ctx, const rec_batch *b, rec_rng *rng, double *loss)
{
    fitctx *c = ctx;
    mf *s = c->m->state;
    rec_graph *g = c->g;
    int64_t n = b->n;
    rec_graph_reset(g);
    rec_tensor *tu = rec_tensor_i32(g, n), *ti = rec_tensor_i32(g, n), *tj = rec_tensor_i32(g, n);
    if (!tj)
        return rec_graph_status(g);
    for (int64_t k = 0; k < n; k++) {
        int32_t r = b->rows[k];
        tu->iv[k] = c->us[r];
        ti->iv[k] = c->is[r];
        /* -1 (a user who has seen every item) gathers a zero row: no gradient;
         * the example's own stream: the same negative however the batch is
         * split over ranks */
        rec_rng er;
        rec_batch_rng(b, k, &er);
        REC_TRY(rec_sampler_draw(c->smp, &er, c->us[r], 1, tj->iv + k));
    }
    rec_tensor *U = rec_gather(g, s->P, tu, -1);
    rec_tensor *pos = rec_rowdot(g, U, rec_gather(g, s->Q, ti, -1));
    rec_tensor *neg = rec_rowdot(g, U, rec_gather(g, s->Q, tj, -1));
    rec_tensor *l = rec_bpr(g, pos, neg);
    if (!l)
        return rec_graph_status(g);
    *loss = l->v[0];
    REC_TRY(rec_backward(g, l));
    return rec_optim_step(c->opt);
}

static rec_status mf_fit(rec_model *m, const rec_dataset *d, rec_progress_fn cb, void *user)
{
    static const char fn[] = "rec_model_fit(mf)";
    REC_TRY(mf_alloc(m));
    mf *s = m->state;
    /* the init has its own stream; the trainer's (seeded with seed) shuffles and samples */
    rec_rng rng;
    rec_rng_stream(&rng, (uint64_t)rec_model_int(m, "seed"), 1);
    rec_init_normal(s->P, &rng, 0, (float)rec_model_flt(m, "init_std"));
    rec_init_normal(s->Q, &rng, 0, (float)rec_model_flt(m, "init_std"));

    fitctx c = { .m = m, .us = rec_ds_users_col(d), .is = rec_ds_items_col(d) };
    rec_optim_config oc;
    rec_status st = rec_optim_config_init(&oc, rec_model_str(m, "optimizer"));
    oc.lr = rec_model_flt(m, "lr");
    oc.weight_decay = rec_model_flt(m, "reg");
    if (!st)
        st = rec_optim_create_config(&c.opt, &oc, s->ps);
    if (!st)
        st = rec_sampler_create(&c.smp, d, NULL);
    if (!st)
        st = rec_graph_create(&c.g);
    if (!st) {
        rec_trainer_vt vt = { .n_examples = rec_ds_num_rows(d), .step = step };
        st = rec_model_train(m, &vt, &c, s->ps, c.opt, cb, user, fn);
    }
    if (st == REC_E_NOMEM && !*rec_last_error())
        rec_nomem(fn);
    rec_graph_destroy(c.g);
    rec_sampler_destroy(c.smp);
    rec_optim_destroy(c.opt);
    return st;
}

static rec_status mf_score_user(const rec_model *m, int32_t u, float *out)
{
    const mf *s = m->state;
    rec_sgemv(0, m->nitems, s->dim, 1.0f, s->Q->v, s->dim, s->P->v + (size_t)u * s->dim, 0.0f,
              out);
    return REC_OK;
}

static rec_status mf_score_pair(const rec_model *m, int32_t u, int32_t i, float *out)
{
    const mf *s = m->state;
    *out = rec_sdot(s->dim, s->P->v + (size_t)u * s->dim, s->Q->v + (size_t)i * s->dim);
    return REC_OK;
}

/* Fold-in: the user vector that best reproduces the history's scores
 * (1 for implicit, the rating otherwise) under a ridge penalty. */
static rec_status mf_score_history(const rec_model *m, const int32_t *items, const float *r,
                                   size_t n, float *out)
{
    const mf *s = m->state;
    int d = s->dim;
    size_t bytes = ((size_t)d * d + 2 * (size_t)d) * sizeof(double);
    double *a = rec_calloc(1, bytes);
    if (!a)
        return rec_nomem("rec_model_recommend_history");
    double *b = a + (size_t)d * d;
    float *uv = (float *)(b + d);
    double lambda = rec_model_flt(m, "fold_in_reg");
    for (int k = 0; k < d; k++)
        a[(size_t)k * d + k] = lambda > 0 ? lambda : 1e-6;
    for (size_t h = 0; h < n; h++) {
        const float *q = s->Q->v + (size_t)items[h] * d;
        double y = r ? r[h] : 1.0;
        for (int x = 0; x < d; x++) {
            b[x] += y * q[x];
            for (int z = 0; z < d; z++)
                a[(size_t)x * d + z] += (double)q[x] * q[z];
        }
    }
    rec_status st = rec_cholesky_solve(d, a, b);
    if (!st) {
        for (int k = 0; k < d; k++)
            uv[k] = (float)b[k];
        rec_sgemv(0, m->nitems, d, 1.0f, s->Q->v, d, uv, 0.0f, out);
    }
    rec_free(a, bytes);
    return st;
}

static rec_status mf_similar(const rec_model *m, int32_t i, float *out)
{
    const mf *s = m->state;
    int d = s->dim;
    rec_rows_cosine(s->Q->v, m->nitems, d, s->Q->v + (size_t)i * d, out);
    return REC_OK;
}

static rec_status mf_save(const rec_model *m, rec_lrm_writer *w)
{
    const mf *s = m->state;
    REC_TRY(rec_lrm_add_tensor(w, "P", REC_LRM_F32, 2, s->P->shape, s->P->v));
    return rec_lrm_add_tensor(w, "Q", REC_LRM_F32, 2, s->Q->shape, s->Q->v);
}

static rec_status mf_load(rec_model *m, const rec_lrm_reader *r)
{
    REC_TRY(mf_alloc(m));
    mf *s = m->state;
    const void *p, *q;
    REC_TRY(rec_lrm_tensor_expect(r, "P", REC_LRM_F32, 2, s->P->shape, &p));
    REC_TRY(rec_lrm_tensor_expect(r, "Q", REC_LRM_F32, 2, s->Q->shape, &q));
    memcpy(s->P->v, p, (size_t)s->P->n * sizeof(float));
    memcpy(s->Q->v, q, (size_t)s->Q->n * sizeof(float));
    return REC_OK;
}

static rec_status mf_vectors(const rec_model *m, rec_side side, float *out, int *dim)
{
    const mf *s = m->state;
    return rec_model_copy_vectors(m, side, s->P->v, s->Q->v, s->dim, out, dim);
}

const rec_model_vt rec_mf_vt = {
    .kind = "mf",
    .summary = "matrix factorisation, BPR loss, trained through the autodiff core",
    .spec = spec,
    .nspec = NSPEC,
    .fit = mf_fit,
    .score_user = mf_score_user,
    .vectors = mf_vectors,
    .score_history = mf_score_history,
    .score_pair = mf_score_pair,
    .similar = mf_similar,
    .save = mf_save,
    .load = mf_load,
    .row_shards = 1,
    .free_state = mf_free,
};
