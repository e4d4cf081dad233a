/* The optimizer driver: kinds and their keys, state allocation, global-norm
 * clipping, learning-rate schedules, and the threaded update of dense params
 * and (lazily) of sparse tables.  The per-element arithmetic of each kind is
 * in optim_<kind>.c. */
#define REC_OPTIM_INTERNAL
#include "train/train-impl.h"

#include <math.h>
#include <string.h>

/* Elements per parallel chunk at least: smaller updates stay on one thread. */
#define UPDATE_GRAIN 32768
/* Chunks of the norm's partial sums: fixed by the size alone, so the sum's
 * rounding never depends on the thread count. */
#define NORM_CHUNK 65536
#define NORM_MAX_CHUNKS 64
/* Rows ahead to prefetch in sparse updates. */
#define PREFETCH_AHEAD 8

static const rec_optim_kind *const kinds[] = {
    &rec_optim_kind_sgd, &rec_optim_kind_adam, &rec_optim_kind_adamw, &rec_optim_kind_adagrad,
};

static const rec_optim_kind *kind_find(const char *name)
{
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (strcmp(kinds[i]->name, name) == 0)
            return kinds[i];
    return NULL;
}

const rec_param_spec *rec_optim_spec(const char *kind, size_t *n)
{
    const rec_optim_kind *k = kind ? kind_find(kind) : NULL;
    if (n)
        *n = k ? k->nspec : 0;
    return k ? k->spec : NULL;
}

#define FN_CREATE "rec_optim_create"

static int kind_has(const rec_optim_kind *k, const char *key)
{
    for (size_t i = 0; i < k->nspec; i++)
        if (!strcmp(k->spec[i].key, key))
            return 1;
    return 0;
}

/* A key's bounds from the kind's table; keys the kind lacks are not checked
 * (their fields are ignored). */
static rec_status in_bounds(const rec_optim_kind *k, const char *key, double v)
{
    for (size_t i = 0; i < k->nspec; i++) {
        const rec_param_spec *s = &k->spec[i];
        if (strcmp(s->key, key))
            continue;
        if (!(v >= s->lo && v <= s->hi))
            return rec_err(REC_E_RANGE, "%s: parameter '%s' = %g is outside [%g, %g]",
                           FN_CREATE, key, v, s->lo, s->hi);
        return REC_OK;
    }
    return REC_OK;
}

static rec_status config_check(const rec_optim_kind *k, const rec_optim_config *c)
{
    const struct { const char *key; double v; } f[] = {
        { "lr", c->lr }, { "weight_decay", c->weight_decay }, { "clip_norm", c->clip_norm },
        { "momentum", c->momentum }, { "beta1", c->beta1 }, { "beta2", c->beta2 },
        { "eps", c->eps }, { "initial_accumulator_value", c->initial_accumulator_value },
        { "warmup_steps", (double)c->warmup_steps }, { "step_size", (double)c->step_size },
        { "total_steps", (double)c->total_steps }, { "gamma", c->gamma },
        { "min_lr", c->min_lr },
    };
    for (size_t i = 0; i < sizeof f / sizeof *f; i++)
        REC_TRY(in_bounds(k, f[i].key, f[i].v));
    if (c->lr_schedule < REC_LR_CONSTANT || c->lr_schedule > REC_LR_COSINE)
        return rec_err(REC_E_INVALID, "%s: lr_schedule %d is not one of REC_LR_*", FN_CREATE,
                       c->lr_schedule);
    /* Bounds the spec's inclusive ranges cannot say. */
    if (kind_has(k, "beta1") && (c->beta1 >= 1.0 || c->beta2 >= 1.0))
        return rec_err(REC_E_RANGE, "%s: parameter '%s' = %g must be below 1", FN_CREATE,
                       c->beta1 >= 1.0 ? "beta1" : "beta2",
                       c->beta1 >= 1.0 ? c->beta1 : c->beta2);
    if (kind_has(k, "nesterov") && c->nesterov && c->momentum <= 0.0)
        return rec_err(REC_E_INVALID, "%s: 'nesterov' needs a 'momentum' above 0", FN_CREATE);
    if (c->lr_schedule == REC_LR_WARMUP && c->warmup_steps < 1)
        return rec_err(REC_E_INVALID, "%s: lr_schedule 'warmup' needs 'warmup_steps' >= 1",
                       FN_CREATE);
    if (c->lr_schedule == REC_LR_COSINE && c->total_steps <= c->warmup_steps)
        return rec_err(REC_E_INVALID,
                       "%s: lr_schedule 'cosine' needs 'total_steps' (%lld) above "
                       "'warmup_steps' (%lld)",
                       FN_CREATE, (long long)c->total_steps, (long long)c->warmup_steps);
    return REC_OK;
}

/* p's keys (or the kind's defaults) as a config. */
static void config_read(const rec_optim_kind *k, const rec_params *p, rec_optim_config *c)
{
    const rec_param_spec *s = k->spec;
    size_t n = k->nspec;
    c->kind = k->name;
    c->lr = rec_params_flt(p, s, n, "lr");
    c->momentum = rec_params_flt(p, s, n, "momentum");
    c->nesterov = rec_params_bool(p, s, n, "nesterov");
    c->beta1 = rec_params_flt(p, s, n, "beta1");
    c->beta2 = rec_params_flt(p, s, n, "beta2");
    c->eps = rec_params_flt(p, s, n, "eps");
    c->weight_decay = rec_params_flt(p, s, n, "weight_decay");
    c->clip_norm = rec_params_flt(p, s, n, "clip_norm");
    c->initial_accumulator_value = rec_params_flt(p, s, n, "initial_accumulator_value");
    c->warmup_steps = rec_params_int(p, s, n, "warmup_steps");
    c->step_size = rec_params_int(p, s, n, "step_size");
    c->total_steps = rec_params_int(p, s, n, "total_steps");
    c->gamma = rec_params_flt(p, s, n, "gamma");
    c->min_lr = rec_params_flt(p, s, n, "min_lr");
    const char *sched = rec_params_str(p, s, n, "lr_schedule");
    c->lr_schedule = !strcmp(sched, "warmup") ? REC_LR_WARMUP
                     : !strcmp(sched, "step") ? REC_LR_STEP
                     : !strcmp(sched, "cosine") ? REC_LR_COSINE
                                                : REC_LR_CONSTANT;
}

rec_status rec_optim_config_init(rec_optim_config *c, const char *kind)
{
    REC_CHECK_ARG(c, "rec_optim_config_init", "config is NULL");
    REC_CHECK_ARG(kind, "rec_optim_config_init", "kind is NULL");
    const rec_optim_kind *k = kind_find(kind);
    if (!k)
        return rec_err(REC_E_NOTFOUND, "rec_optim_config_init: unknown kind '%s' "
                       "(sgd|adam|adamw|adagrad)", kind);
    config_read(k, NULL, c);
    return REC_OK;
}

rec_status rec_optim_create_config(rec_optim **out, const rec_optim_config *c, rec_pstore *ps)
{
    REC_CHECK_ARG(out, FN_CREATE, "out is NULL");
    *out = NULL;
    REC_CHECK_ARG(c, FN_CREATE, "config is NULL");
    REC_CHECK_ARG(c->kind, FN_CREATE, "config->kind is NULL");
    REC_CHECK_ARG(ps, FN_CREATE, "parameter store is NULL");
    const rec_optim_kind *k = kind_find(c->kind);
    if (!k)
        return rec_err(REC_E_NOTFOUND, "%s: unknown kind '%s' (sgd|adam|adamw|adagrad)",
                       FN_CREATE, c->kind);
    REC_TRY(config_check(k, c));
    rec_optim *o = rec_calloc(1, sizeof *o);
    if (!o)
        return rec_nomem(FN_CREATE);
    *o = (rec_optim){
        .kind = k, .ps = ps, .lr = c->lr, .momentum = c->momentum, .beta1 = c->beta1,
        .beta2 = c->beta2, .eps = c->eps, .wd = c->weight_decay, .clip = c->clip_norm,
        .init_acc = c->initial_accumulator_value, .nesterov = c->nesterov,
        .schedule = c->lr_schedule, .warmup = c->warmup_steps, .step_size = c->step_size,
        .total = c->total_steps, .gamma = c->gamma, .min_lr = c->min_lr,
    };
    *out = o;
    return REC_OK;
}

rec_status rec_optim_create(rec_optim **out, const char *kind, const rec_params *p,
                            rec_pstore *ps)
{
    REC_CHECK_ARG(out, FN_CREATE, "out is NULL");
    *out = NULL;
    REC_CHECK_ARG(kind, FN_CREATE, "kind is NULL");
    REC_CHECK_ARG(ps, FN_CREATE, "parameter store is NULL");
    const rec_optim_kind *k = kind_find(kind);
    if (!k)
        return rec_err(REC_E_NOTFOUND, "%s: unknown kind '%s' (sgd|adam|adamw|adagrad)",
                       FN_CREATE, kind);
    REC_TRY(rec_params_check(p, k->spec, k->nspec, FN_CREATE));
    rec_optim_config c;
    config_read(k, p, &c);
    return rec_optim_create_config(out, &c, ps);
}

static void param_free(const rec_optim *o, rec_optim_param *p)
{
    for (int s = 0; s < 2; s++)
        rec_aligned_free(p->s[s], (size_t)p->t->n * sizeof(float));
    rec_coalesce_free(&p->co);
    (void)o;
}

void rec_optim_destroy(rec_optim *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->np; i++)
        param_free(o, &o->p[i]);
    rec_free(o->p, o->pcap * sizeof *o->p);
    rec_exchange_free(o->x);
    rec_free(o, sizeof *o);
}

static rec_status prepare(rec_optim *o, const char *fn)
{
    size_t n = rec_pstore_count(o->ps);
    if (n <= o->np)
        return REC_OK;
    if (n > o->pcap) {
        rec_optim_param *np = rec_realloc(o->p, o->pcap * sizeof *np, n * sizeof *np);
        if (!np)
            return rec_nomem(fn);
        o->p = np;
        o->pcap = n;
    }
    int nslots = o->kind->nslots(o);
    float init = o->kind == &rec_optim_kind_adagrad ? (float)o->init_acc : 0.0f;
    for (size_t i = o->np; i < n; i++) {
        rec_optim_param *p = &o->p[i];
        memset(p, 0, sizeof *p);
        p->t = rec_pstore_at(o->ps, i);
        rec_coalesce_init(&p->co);
        for (int s = 0; s < nslots; s++) {
            p->s[s] = rec_aligned_alloc((size_t)p->t->n * sizeof(float));
            if (!p->s[s]) {
                for (size_t j = o->np; j <= i; j++)
                    param_free(o, &o->p[j]);
                return rec_nomem(fn);
            }
            if (init == 0.0f) {
                memset(p->s[s], 0, (size_t)p->t->n * sizeof(float));
            } else {
                for (int64_t e = 0; e < p->t->n; e++)
                    p->s[s][e] = init;
            }
        }
    }
    o->np = n;
    return REC_OK;
}

rec_status rec_optim_prepare(rec_optim *o)
{
    REC_CHECK_ARG(o, "rec_optim_prepare", "optimizer is NULL");
    return prepare(o, "rec_optim_prepare");
}

/* ---- learning rate --------------------------------------------------------- */

static double lr_at(const rec_optim *o, int64_t t)
{
    if (t < o->warmup)
        return o->lr * (double)(t + 1) / (double)o->warmup;
    int64_t u = t - o->warmup;
    switch (o->schedule) {
    case REC_LR_STEP: {
        double lr = o->lr * pow(o->gamma, (double)(u / o->step_size));
        return lr > o->min_lr ? lr : o->min_lr;
    }
    case REC_LR_COSINE: {
        double span = (double)(o->total - o->warmup);
        double x = (double)u < span ? (double)u / span : 1.0;
        return o->min_lr + (o->lr - o->min_lr) * 0.5 * (1.0 + cos(M_PI * x));
    }
    default:
        return o->lr;
    }
}

double rec_optim_lr(const rec_optim *o) { return o ? lr_at(o, o->steps) : 0.0; }

rec_status rec_optim_set_lr(rec_optim *o, double lr)
{
    REC_CHECK_ARG(o, "rec_optim_set_lr", "optimizer is NULL");
    if (!(lr >= 0.0 && lr <= 1e6))
        return rec_err(REC_E_RANGE, "rec_optim_set_lr: lr = %g is outside [0, 1e+06]", lr);
    o->lr = lr;
    return REC_OK;
}

int64_t rec_optim_steps(const rec_optim *o) { return o ? o->steps : 0; }

const char *rec_optim_kind_name(const rec_optim *o) { return o ? o->kind->name : ""; }

/* ---- state for checkpoints ---------------------------------------------------- */

size_t rec_optim_state_count(const rec_optim *o)
{
    return o ? o->np * (size_t)o->kind->nslots(o) : 0;
}

rec_status rec_optim_state_at(const rec_optim *o, size_t i, rec_optim_state *out)
{
    REC_CHECK_ARG(o && out, "rec_optim_state_at", "optimizer or out is NULL");
    size_t ns = (size_t)o->kind->nslots(o), n = rec_optim_state_count(o);
    if (i >= n)
        return rec_err(REC_E_RANGE, "rec_optim_state_at: index %zu >= count %zu", i, n);
    rec_optim_param *p = &o->p[i / ns];
    int s = (int)(i % ns);
    *out = (rec_optim_state){ p->t->name, o->kind->slot_name[s], p->s[s], p->t->n, &p->step };
    return REC_OK;
}

/* ---- global gradient norm --------------------------------------------------- */

typedef struct sq_job {
    const float *x;             /* dense: n floats                    */
    float *const *rows;         /* sparse: n rows of cols floats      */
    int64_t cols;
    double part[NORM_MAX_CHUNKS];
} sq_job;

static void sq_sum(void *arg, int64_t b, int64_t e, int chunk)
{
    sq_job *j = arg;
    double s = 0.0;
    if (j->rows) {
        for (int64_t r = b; r < e; r++)
            for (int64_t i = 0; i < j->cols; i++)
                s += (double)j->rows[r][i] * j->rows[r][i];
    } else {
        for (int64_t i = b; i < e; i++)
            s += (double)j->x[i] * j->x[i];
    }
    j->part[chunk] = s;
}

/* Sum of squares of n items of `per` floats each, in chunks fixed by size. */
static double sumsq(sq_job *j, int64_t n, int64_t per)
{
    int64_t nc = (n * per + NORM_CHUNK - 1) / NORM_CHUNK;
    int chunks = nc < NORM_MAX_CHUNKS ? (int)nc : NORM_MAX_CHUNKS;
    if (chunks > n)
        chunks = (int)n;
    rec_parallel_chunks(n, chunks, sq_sum, j);
    double s = 0.0;
    for (int c = 0; c < chunks; c++)
        s += j->part[c];
    return s;
}

static double grad_norm(const rec_optim *o)
{
    double s = 0.0;
    for (size_t i = 0; i < o->np; i++) {
        const rec_optim_param *p = &o->p[i];
        sq_job j;
        if (p->t->flags & REC_T_SPARSE) {
            j.x = NULL;
            j.rows = p->ugrad;
            j.cols = p->co.cols;
            s += sumsq(&j, p->un, p->co.cols);
        } else {
            j.x = p->t->g;
            j.rows = NULL;
            j.cols = 1;
            s += sumsq(&j, p->t->n, 1);
        }
    }
    return sqrt(s);
}

/* ---- the update ---------------------------------------------------------------- */

typedef struct upd_job {
    const rec_optim_coef *c;
    rec_optim_kernel kernel;
    rec_optim_param *p;
} upd_job;

static void dense_range(void *arg, int64_t b, int64_t e, int chunk)
{
    (void)chunk;
    const upd_job *j = arg;
    rec_optim_param *p = j->p;
    j->kernel(j->c, p->t->v + b, p->t->g + b, p->s[0] ? p->s[0] + b : NULL,
              p->s[1] ? p->s[1] + b : NULL, e - b);
}

/* Coalesced rows [b, e): each touches its own row of the table and state. */
static void sparse_range(void *arg, int64_t b, int64_t e, int chunk)
{
    (void)chunk;
    const upd_job *j = arg;
    rec_optim_param *p = j->p;
    int64_t d = p->co.cols;
    for (int64_t i = b; i < e; i++) {
        int64_t off = (int64_t)p->urows[i] * d;
#if defined(__GNUC__) && !defined(REC_NO_PREFETCH)
        /* Touched rows are scattered over a table larger than the caches:
         * fetch a few rows ahead so the misses overlap. */
        if (i + PREFETCH_AHEAD < e) {
            int64_t ahead = (int64_t)p->urows[i + PREFETCH_AHEAD] * d;
            for (int64_t x = 0; x < d; x += 16) { /* every 64-byte line */
                __builtin_prefetch(p->t->v + ahead + x, 1);
                if (p->s[0])
                    __builtin_prefetch(p->s[0] + ahead + x, 1);
                if (p->s[1])
                    __builtin_prefetch(p->s[1] + ahead + x, 1);
            }
        }
#endif
        j->kernel(j->c, p->t->v + off, p->ugrad[i], p->s[0] ? p->s[0] + off : NULL,
                  p->s[1] ? p->s[1] + off : NULL, d);
    }
}

static void update_param(rec_optim *o, rec_optim_param *p, double gscale)
{
    int sparse = (p->t->flags & REC_T_SPARSE) != 0;
    if (sparse && p->un == 0)
        return; /* untouched this step: lazy, nothing moves, step count stays */
    p->step++;
    rec_optim_coef c;
    memset(&c, 0, sizeof c);
    c.lr = (float)o->lr_now;
    c.gscale = (float)gscale;
    c.wd = (float)o->wd;
    c.zero_g = !sparse;
    o->kind->coef(o, p, &c);
    upd_job j = { &c, o->kind->kernel, p };
    if (sparse) {
        int64_t d = p->co.cols;
        rec_parallel_for(p->un, d >= UPDATE_GRAIN ? 1 : UPDATE_GRAIN / d, sparse_range, &j);
    } else {
        rec_parallel_for(p->t->n, UPDATE_GRAIN, dense_range, &j);
    }
}

/* Coalesces every sparse table's chunks (none when idle) into co, the rows
 * the update reads unless the exchange replaces them. */
static rec_status coalesce_all(rec_optim *o)
{
    for (size_t i = 0; i < o->np; i++) {
        rec_optim_param *p = &o->p[i];
        p->co.n = 0;
        if ((p->t->flags & REC_T_SPARSE) && !o->idle) {
            rec_status st = rec_rowgrad_coalesce(&p->co, p->t, "rec_optim_step");
            if (st) {
                for (size_t k = 0; k <= i; k++)
                    o->p[k].co.n = 0;
                return st;
            }
        }
        p->urows = p->co.rows;
        p->ugrad = p->co.grad;
        p->un = p->co.n;
    }
    return REC_OK;
}

rec_status rec_optim_step(rec_optim *o)
{
    REC_CHECK_ARG(o, "rec_optim_step", "optimizer is NULL");
    int dist = o->comm && o->comm->size > 1;
    /* Everything that can fail comes before the first write to a param; a
     * distributed step joins the agreement with its failure too. */
    rec_status st = prepare(o, "rec_optim_step");
    if (!st)
        st = coalesce_all(o);
    if (dist)
        st = rec_grad_exchange(o, st);
    if (st) {
        for (size_t i = 0; i < o->np; i++)
            o->p[i].co.n = o->p[i].un = 0;
        return st;
    }
    double gscale = 1.0;
    if (o->clip > 0.0) {
        double norm = grad_norm(o);
        /* PyTorch's clip_grad_norm_: the epsilon keeps a zero norm finite. */
        if (norm > o->clip)
            gscale = o->clip / (norm + 1e-6);
    }
    o->lr_now = lr_at(o, o->steps);
    for (size_t i = 0; i < o->np; i++)
        update_param(o, &o->p[i], gscale);
    for (size_t i = 0; i < o->np; i++)
        o->p[i].co.n = o->p[i].un = 0;
    o->steps++;
    return REC_OK;
}

rec_status rec_optim_step_idle(rec_optim *o)
{
    REC_CHECK_ARG(o, "rec_optim_step_idle", "optimizer is NULL");
    o->idle = 1;
    o->local_n = 0;
    /* the model did not run backward: no gradient of its own */
    for (size_t i = 0; i < o->np; i++)
        if (!(o->p[i].t->flags & REC_T_SPARSE) && o->p[i].t->g)
            memset(o->p[i].t->g, 0, (size_t)o->p[i].t->n * sizeof(float));
    rec_status st = rec_optim_step(o);
    o->idle = 0;
    return st;
}

void rec_optim_set_comm(rec_optim *o, rec_comm *c) { o->comm = c; }
void rec_optim_set_share(rec_optim *o, double local_n) { o->local_n = local_n; }
double rec_optim_share_weight(const rec_optim *o) { return o->weight; }

int64_t rec_optim_agreements(const rec_optim *o, int *last_failed)
{
    if (last_failed)
        *last_failed = o->agree_failed;
    return o->agreements;
}
