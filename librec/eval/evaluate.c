/* rec_evaluate: the full-ranking and sampled-ranking protocols.
 *
 * Test users are cut into a fixed number of chunks (independent of the
 * thread count); each chunk keeps its own partial sums, which are added in
 * chunk order, and each user draws its negatives from its own RNG stream
 * (seed, model user index), so the values never depend on the threads. */
#include "eval-impl.h"
#include "models/model-impl.h"
#include "retrieval/topk-impl.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NCHUNKS 64

/* flags[] bits per item while a user is being evaluated */
enum { F_SEEN = 1, F_TEST = 2, F_NEG = 4 };

typedef struct chunk_out {
    rec_status st;
    char msg[256];
    int64_t users;
} chunk_out;

typedef struct ctx {
    const rec_model *m;
    const rec_metric *met;
    size_t nmet;
    int full, nsamp;
    const uint8_t *warm;    /* "cold": [nitems] 1 for items with training rows, else NULL */
    uint64_t seed;
    const int32_t *eusers;  /* test users to evaluate (dataset indices) */
    int64_t neu;
    int64_t maxrows;        /* most test rows of one user */
    const int32_t *umap, *imap; /* dataset index -> model index or -1 */
    const int64_t *tptr;
    const int32_t *titem;
    const float *trat;
    int need_rank, need_rating, listk;
    int rates;                 /* the model's score_pair is a rating */
    const int64_t *iptr, *deg; /* item -> training users (CSR), degrees */
    const int32_t *iusers;
    _Atomic int32_t *minpos;   /* [nitems] best list position of each item */
    double *sum;               /* [NCHUNKS * nmet] */
    int64_t *cnt;              /* [NCHUNKS * nmet] */
    chunk_out *out;            /* [NCHUNKS] */
} ctx;

typedef struct scored {
    float s;
    int32_t i;
    int rel; /* sampled ties: relevant first */
} scored;

/* Best first: score desc, then relevant first, then index asc. */
static int cmp_scored(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    if (x->s != y->s)
        return x->s > y->s ? -1 : 1;
    if (x->rel != y->rel)
        return x->rel ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

static inline float clean(float v)
{
    return isnan(v) ? -INFINITY : v;
}

/* First t in rel[0..n) (sorted best first) that candidate (v, j) ranks
 * above: strictly higher score, or with ties_by_index an equal score and a
 * lower index.  The predicate is monotone over the sorted array. */
static size_t first_beaten(const scored *rel, size_t n, float v, int32_t j, int ties_by_index)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int above = v > rel[mid].s || (ties_by_index && v == rel[mid].s && j < rel[mid].i);
        if (above)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* First t with v >= rel[t].s. */
static size_t first_le(const scored *rel, size_t n, float v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v >= rel[mid].s)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

typedef struct scratch {
    float *scores;       /* [nitems] */
    uint8_t *flags;      /* [nitems] */
    int32_t *pool;       /* [nitems] sampled only */
    scored *rel;         /* [maxrows] */
    scored *cand;        /* [maxrows + nsamp] sampled only */
    int64_t *pos, *gt, *ge, *above; /* [maxrows + 1] */
    int32_t *list;       /* [listk] */
    float *listval;      /* [listk] */
    size_t bytes;
    char *mem;
} scratch;

static rec_status scratch_alloc(const ctx *c, scratch *s)
{
    size_t ni = (size_t)c->m->nitems, mr = (size_t)c->maxrows + 1;
    size_t nc = c->full ? 0 : mr + (size_t)c->nsamp, lk = (size_t)c->listk;
    size_t sizes[] = { ni * sizeof(float), ni * sizeof(int32_t) * !c->full, mr * sizeof(scored),
                       nc * sizeof(scored), 4 * mr * sizeof(int64_t), lk * sizeof(int32_t),
                       lk * sizeof(float), ni };
    size_t total = 0;
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++)
        total += (sizes[k] + 15) & ~(size_t)15;
    s->mem = rec_calloc(1, total);
    if (!s->mem)
        return rec_nomem("rec_evaluate");
    s->bytes = total;
    char *p = s->mem;
    void **slots[] = { (void **)&s->scores, (void **)&s->pool, (void **)&s->rel,
                       (void **)&s->cand, (void **)&s->pos, (void **)&s->list,
                       (void **)&s->listval, (void **)&s->flags };
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        *slots[k] = p;
        p += (sizes[k] + 15) & ~(size_t)15;
    }
    s->gt = s->pos + mr;
    s->ge = s->gt + mr;
    s->above = s->ge + mr;
    return REC_OK;
}

/* Draws up to nsamp distinct items with flags == 0 into s->cand[nrel..). */
static size_t sample_negatives(const ctx *c, scratch *s, int32_t mu, int64_t avail, size_t nrel)
{
    int32_t ni = c->m->nitems;
    size_t n = 0;
    rec_rng rng;
    rec_rng_stream(&rng, c->seed, (uint64_t)mu);
    if (avail <= c->nsamp || avail < ni / 8) {
        /* Few items left: enumerate them, then a partial Fisher-Yates. */
        int64_t np = 0;
        for (int32_t i = 0; i < ni; i++)
            if (!s->flags[i])
                s->pool[np++] = i;
        size_t want = (size_t)(np < c->nsamp ? np : c->nsamp);
        for (size_t t = 0; t < want; t++) {
            size_t r = t + rec_rng_below(&rng, (uint32_t)((size_t)np - t));
            int32_t tmp = s->pool[t];
            s->pool[t] = s->pool[r];
            s->pool[r] = tmp;
            s->cand[nrel + n++].i = s->pool[t];
        }
    } else {
        while (n < (size_t)c->nsamp) {
            int32_t i = (int32_t)rec_rng_below(&rng, (uint32_t)ni);
            if (s->flags[i])
                continue;
            s->flags[i] |= F_NEG;
            s->cand[nrel + n++].i = i;
        }
        for (size_t t = 0; t < n; t++)
            s->flags[s->cand[nrel + t].i] &= (uint8_t)~F_NEG;
    }
    return n;
}

static void add(const ctx *c, int chunk, size_t k, double v)
{
    if (isnan(v))
        return;
    c->sum[(size_t)chunk * c->nmet + k] += v;
    c->cnt[(size_t)chunk * c->nmet + k]++;
}

/* Positional and list metrics of one user. */
static void score_metrics(const ctx *c, int chunk, scratch *s, size_t nrel, int64_t nneg,
                          size_t listn)
{
    for (size_t k = 0; k < c->nmet; k++) {
        const rec_metric *mt = &c->met[k];
        size_t ln = listn < (size_t)mt->k ? listn : (size_t)mt->k;
        switch (mt->kind) {
        case REC_M_HIT: add(c, chunk, k, rec_metric_hit(s->pos, nrel, nrel, mt->k)); break;
        case REC_M_PRECISION:
            add(c, chunk, k, rec_metric_precision(s->pos, nrel, nrel, mt->k));
            break;
        case REC_M_RECALL: add(c, chunk, k, rec_metric_recall(s->pos, nrel, nrel, mt->k)); break;
        case REC_M_NDCG: add(c, chunk, k, rec_metric_ndcg(s->pos, nrel, nrel, mt->k)); break;
        case REC_M_MAP: add(c, chunk, k, rec_metric_map(s->pos, nrel, nrel, mt->k)); break;
        case REC_M_MRR: add(c, chunk, k, rec_metric_mrr(s->pos, nrel, nrel, mt->k)); break;
        case REC_M_AUC:
            for (size_t t = 0; t < nrel; t++)
                s->ge[t] -= s->gt[t]; /* ge becomes eq */
            add(c, chunk, k, rec_metric_auc(s->gt, s->ge, nrel, nneg));
            for (size_t t = 0; t < nrel; t++)
                s->ge[t] += s->gt[t];
            break;
        case REC_M_COVERAGE:
            for (size_t p = 0; p < ln; p++) {
                _Atomic int32_t *mp = &c->minpos[s->list[p]];
                int32_t cur = atomic_load_explicit(mp, memory_order_relaxed);
                while ((int32_t)p < cur &&
                       !atomic_compare_exchange_weak_explicit(mp, &cur, (int32_t)p,
                                                              memory_order_relaxed,
                                                              memory_order_relaxed))
                    ;
            }
            break;
        case REC_M_DIVERSITY:
            add(c, chunk, k, rec_metric_diversity(s->list, ln, c->iptr, c->iusers));
            break;
        case REC_M_NOVELTY:
            add(c, chunk, k, rec_metric_novelty(s->list, ln, c->deg, c->m->nusers));
            break;
        default: break;
        }
    }
}

/* One user: returns a status (the model's scoring error). */
static rec_status eval_user(const ctx *c, int chunk, scratch *s, int32_t u)
{
    const rec_model *m = c->m;
    int32_t mu = c->umap[u], ni = m->nitems;
    const int32_t *seen = m->seen + m->seen_ptr[mu];
    int64_t nseen = m->seen_ptr[mu + 1] - m->seen_ptr[mu], nflag = nseen;
    for (int64_t j = 0; j < nseen; j++)
        s->flags[seen[j]] = F_SEEN;
    size_t nrel = 0;
    for (int64_t r = c->tptr[u]; r < c->tptr[u + 1]; r++) {
        int32_t mi = c->imap[c->titem[r]];
        if (mi < 0 || (s->flags[mi] & F_TEST))
            continue;
        nflag += !s->flags[mi];
        s->flags[mi] |= F_TEST;
        if ((!c->full || !(s->flags[mi] & F_SEEN)) && !(c->warm && c->warm[mi]))
            s->rel[nrel++].i = mi;
    }
    /* Ratings come from score_pair alone; rankings from score_user unless
     * the model's pair score ranks the same and only a sample is scored. */
    int all = c->full || !m->vt->score_pair || c->rates;
    rec_status st = REC_OK;
    if (all && c->need_rank && nrel > 0)
        st = m->vt->score_user(m, mu, s->scores);
    float v;
    for (int64_t r = c->tptr[u]; r < c->tptr[u + 1] && !st && c->need_rating; r++) {
        int32_t mi = c->imap[c->titem[r]];
        if (mi < 0)
            continue;
        if ((st = m->vt->score_pair(m, mu, mi, &v)) != REC_OK)
            break;
        double e = (double)v - c->trat[r];
        for (size_t k = 0; k < c->nmet; k++)
            if (c->met[k].kind == REC_M_RMSE)
                add(c, chunk, k, e * e);
            else if (c->met[k].kind == REC_M_MAE)
                add(c, chunk, k, fabs(e));
    }
    if (!st && c->need_rank && nrel > 0) {
        size_t nc = nrel, listn = 0;
        int64_t nneg = 0;
        if (!c->full)
            nc += sample_negatives(c, s, mu, (int64_t)ni - nflag, nrel);
        scored *cs = c->full ? s->rel : s->cand;
        if (!c->full)
            memcpy(s->cand, s->rel, nrel * sizeof *s->rel);
        for (size_t t = 0; t < nc && !st; t++) {
            cs[t].rel = t < nrel;
            if (all)
                v = s->scores[cs[t].i];
            else
                st = m->vt->score_pair(m, mu, cs[t].i, &v);
            cs[t].s = clean(v);
        }
        if (!st) {
            for (size_t t = 0; t < nrel; t++)
                s->rel[t] = cs[t];
            qsort(s->rel, nrel, sizeof *s->rel, cmp_scored);
            memset(s->above, 0, (nrel + 1) * sizeof *s->above);
            memset(s->gt, 0, (nrel + 1) * sizeof *s->gt);
            memset(s->ge, 0, (nrel + 1) * sizeof *s->ge);
            float last = s->rel[nrel - 1].s;
            if (c->full) {
                for (int32_t j = 0; j < ni; j++) {
                    if ((s->flags[j] & (F_SEEN | F_TEST)) || (c->warm && c->warm[j]))
                        continue; /* excluded (seen, or warm under "cold"), or relevant */
                    nneg++;
                    float x = clean(s->scores[j]);
                    if (x < last)
                        continue; /* below every relevant item */
                    s->above[first_beaten(s->rel, nrel, x, j, 1)]++;
                    s->gt[first_beaten(s->rel, nrel, x, j, 0)]++;
                    s->ge[first_le(s->rel, nrel, x)]++;
                }
                /* Test items that were also training items are excluded,
                 * not negatives (the loop skipped both kinds). */
            } else {
                nneg = (int64_t)(nc - nrel);
                for (size_t t = nrel; t < nc; t++) {
                    float x = cs[t].s;
                    if (x < last)
                        continue;
                    size_t g = first_beaten(s->rel, nrel, x, 0, 0);
                    s->above[g]++;
                    s->gt[g]++;
                    s->ge[first_le(s->rel, nrel, x)]++;
                }
            }
            for (size_t t = 1; t < nrel; t++) {
                s->above[t] += s->above[t - 1];
                s->gt[t] += s->gt[t - 1];
                s->ge[t] += s->ge[t - 1];
            }
            for (size_t t = 0; t < nrel; t++)
                s->pos[t] = s->above[t] + (int64_t)t;
            if (c->listk > 0) {
                if (c->full) {
                    for (int64_t j = 0; j < nseen; j++)
                        s->scores[seen[j]] = -INFINITY;
                    for (int32_t j = 0; c->warm && j < ni; j++)
                        if (c->warm[j])
                            s->scores[j] = -INFINITY;
                    listn = rec_topk(s->scores, ni, (size_t)c->listk, s->list, s->listval);
                } else {
                    qsort(cs, nc, sizeof *cs, cmp_scored);
                    listn = nc < (size_t)c->listk ? nc : (size_t)c->listk;
                    for (size_t t = 0; t < listn; t++)
                        s->list[t] = cs[t].i;
                }
            }
            score_metrics(c, chunk, s, nrel, nneg, listn);
            c->out[chunk].users++;
        }
    }
    for (int64_t j = 0; j < nseen; j++)
        s->flags[seen[j]] = 0;
    for (int64_t r = c->tptr[u]; r < c->tptr[u + 1]; r++)
        if (c->imap[c->titem[r]] >= 0)
            s->flags[c->imap[c->titem[r]]] = 0;
    return st;
}

static void eval_chunk(void *arg, int64_t b, int64_t e, int chunk)
{
    const ctx *c = arg;
    scratch s = { 0 };
    rec_status st = scratch_alloc(c, &s);
    for (int64_t k = b; k < e && !st; k++)
        st = eval_user(c, chunk, &s, c->eusers[k]);
    if (st) {
        c->out[chunk].st = st;
        snprintf(c->out[chunk].msg, sizeof c->out[chunk].msg, "%s", rec_last_error());
    }
    rec_free(s.mem, s.bytes);
}

static rec_status parse_protocol(const char *p, int *full, int *nsamp, int *cold)
{
    static const char fn[] = "rec_evaluate";
    *full = 1;
    *nsamp = 0;
    *cold = p && strcmp(p, "cold") == 0;
    if (!p || strcmp(p, "full") == 0 || *cold)
        return REC_OK;
    if (strncmp(p, "sampled:", 8) == 0) {
        char *end;
        long n = strtol(p + 8, &end, 10);
        if (end != p + 8 && *end == '\0' && p[8] != '-' && p[8] != '+' && n >= 1 &&
            n <= 1000000) {
            *full = 0;
            *nsamp = (int)n;
            return REC_OK;
        }
        return rec_err(REC_E_INVALID, "%s: protocol '%s': N must be an integer in [1, 1000000]",
                       fn, p);
    }
    return rec_err(REC_E_INVALID, "%s: unknown protocol '%s' (expected 'full', 'sampled:N' or "
                   "'cold')", fn, p);
}

/* Item -> training users (ascending) from the model's per-user table. */
static rec_status item_users(const rec_model *m, int64_t **ptr, int64_t **deg, int32_t **users)
{
    size_t ni = (size_t)m->nitems, nnz = (size_t)m->seen_ptr[m->nusers];
    *ptr = rec_calloc(ni + 1, sizeof **ptr);
    *deg = rec_calloc(ni + 1, sizeof **deg);
    *users = rec_malloc((nnz + 1) * sizeof **users);
    if (!*ptr || !*deg || !*users)
        return rec_nomem("rec_evaluate");
    for (size_t j = 0; j < nnz; j++)
        (*deg)[m->seen[j]]++;
    for (size_t i = 0; i < ni; i++)
        (*ptr)[i + 1] = (*ptr)[i] + (*deg)[i];
    int64_t *fill = *deg; /* reuse as cursor, then restore */
    for (size_t i = 0; i < ni; i++)
        fill[i] = (*ptr)[i];
    for (int32_t u = 0; u < m->nusers; u++)
        for (int64_t j = m->seen_ptr[u]; j < m->seen_ptr[u + 1]; j++)
            (*users)[fill[m->seen[j]]++] = u;
    for (size_t i = 0; i < ni; i++)
        (*deg)[i] = (*ptr)[i + 1] - (*ptr)[i];
    return REC_OK;
}

/* The name of the first rating metric (rmse, mae) of the list; need_rating
 * says there is one. */
static const char *rating_metric(const rec_metric *met, size_t nmet)
{
    for (size_t k = 0; k < nmet; k++)
        if (met[k].kind == REC_M_RMSE || met[k].kind == REC_M_MAE)
            return met[k].name;
    return "rmse";
}

REC_API rec_status rec_evaluate(const rec_model *m, const rec_dataset *test,
                                const char *protocol, const char *metrics, uint64_t seed,
                                rec_eval_result **out)
{
    static const char fn[] = "rec_evaluate";
    REC_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    REC_CHECK_ARG(m, fn, "model is NULL");
    REC_CHECK_ARG(test, fn, "test dataset is NULL");
    REC_CHECK_ARG(metrics, fn, "metrics is NULL");
    if (!m->fitted)
        return rec_err(REC_E_STATE, "%s: the model is not fitted", fn);
    ctx c = { .m = m, .seed = seed };
    int cold;
    REC_TRY(parse_protocol(protocol, &c.full, &c.nsamp, &cold));
    rec_metric *met;
    size_t nmet;
    REC_TRY(rec_metrics_parse(metrics, fn, &met, &nmet));
    c.met = met;
    c.nmet = nmet;
    int need_items = 0, need_cov = 0;
    for (size_t k = 0; k < nmet; k++) {
        rec_metric_kind kd = met[k].kind;
        if (kd == REC_M_RMSE || kd == REC_M_MAE)
            c.need_rating = 1;
        else
            c.need_rank = 1;
        if (kd == REC_M_COVERAGE || kd == REC_M_DIVERSITY || kd == REC_M_NOVELTY)
            c.listk = met[k].k > c.listk ? met[k].k : c.listk;
        need_items |= kd == REC_M_DIVERSITY || kd == REC_M_NOVELTY;
        need_cov |= kd == REC_M_COVERAGE;
    }
    if (c.listk > m->nitems)
        c.listk = m->nitems;
    rec_status st = REC_OK;
    int32_t nu = rec_ds_num_users(test), ni = rec_ds_num_items(test);
    int32_t *umap = NULL, *imap = NULL, *eusers = NULL;
    int64_t *iptr = NULL, *deg = NULL;
    int32_t *iusers = NULL;
    _Atomic int32_t *minpos = NULL;
    uint8_t *warm = NULL;
    double *sum = NULL;
    int64_t *cnt = NULL;
    chunk_out *cout = NULL;
    rec_eval_result *res = NULL;
    size_t nnz_m = (size_t)m->seen_ptr[m->nusers];
    if (rec_ds_num_rows(test) == 0) {
        st = rec_err(REC_E_INVALID, "%s: the test dataset has no interactions", fn);
        goto done;
    }
    c.rates = m->vt->score_pair && m->vt->predicts_ratings && m->vt->predicts_ratings(m);
    if (c.need_rating && !c.rates) {
        st = rec_err(REC_E_INVALID,
                     "%s: '%s' needs a model that predicts ratings; this '%s' model's scores "
                     "only rank items (rating models: svd, svdpp, usercf and itemcf on rated "
                     "data, dnn with target=rating)",
                     fn, rating_metric(met, nmet), m->vt->kind);
        goto done;
    }
    if (c.need_rating && !rec_ds_ratings_col(test)) {
        st = rec_err(REC_E_STATE, "%s: '%s' needs a test dataset with ratings", fn,
                     rating_metric(met, nmet));
        goto done;
    }
    if ((st = rec_ds_user_csr(test, &c.tptr, &c.titem, &c.trat)) != REC_OK)
        goto done;
    umap = rec_malloc(((size_t)nu + 1) * sizeof *umap);
    imap = rec_malloc(((size_t)ni + 1) * sizeof *imap);
    eusers = rec_malloc(((size_t)nu + 1) * sizeof *eusers);
    sum = rec_calloc((size_t)NCHUNKS * nmet, sizeof *sum);
    cnt = rec_calloc((size_t)NCHUNKS * nmet, sizeof *cnt);
    cout = rec_calloc(NCHUNKS, sizeof *cout);
    if (!umap || !imap || !eusers || !sum || !cnt || !cout) {
        st = rec_nomem(fn);
        goto done;
    }
    for (int32_t i = 0; i < ni; i++) {
        const char *s = rec_ds_item_name(test, i);
        imap[i] = rec_idmap_find(m->items, s, strlen(s));
    }
    for (int32_t u = 0; u < nu; u++) {
        const char *s = rec_ds_user_name(test, u);
        umap[u] = rec_idmap_find(m->users, s, strlen(s));
        int64_t rows = c.tptr[u + 1] - c.tptr[u];
        if (umap[u] >= 0 && rows > 0) {
            eusers[c.neu++] = u;
            c.maxrows = rows > c.maxrows ? rows : c.maxrows;
        }
    }
    c.umap = umap;
    c.imap = imap;
    c.eusers = eusers;
    c.sum = sum;
    c.cnt = cnt;
    c.out = cout;
    if (need_items) {
        if ((st = item_users(m, &iptr, &deg, &iusers)) != REC_OK)
            goto done;
        c.iptr = iptr;
        c.deg = deg;
        c.iusers = iusers;
    }
    if (need_cov) {
        minpos = rec_malloc(((size_t)m->nitems + 1) * sizeof *minpos);
        if (!minpos) {
            st = rec_nomem(fn);
            goto done;
        }
        for (int32_t i = 0; i < m->nitems; i++)
            atomic_init(&minpos[i], INT32_MAX);
        c.minpos = minpos;
    }
    if (cold) {
        /* The candidates of "cold" are the items no training row touched. */
        warm = rec_calloc((size_t)m->nitems + 1, 1);
        if (!warm) {
            st = rec_nomem(fn);
            goto done;
        }
        for (size_t j = 0; j < nnz_m; j++)
            warm[m->seen[j]] = 1;
        c.warm = warm;
    }
    int nchunks = c.neu < NCHUNKS ? (int)c.neu : NCHUNKS;
    rec_parallel_chunks(c.neu, nchunks, eval_chunk, &c);
    for (int k = 0; k < nchunks; k++)
        if (cout[k].st) {
            st = rec_err(cout[k].st, "%s", cout[k].msg);
            goto done;
        }
    if ((st = rec_eval_result_new(met, nmet, &res, fn)) != REC_OK)
        goto done;
    for (int k = 0; k < nchunks; k++)
        res->users += cout[k].users;
    for (size_t k = 0; k < nmet; k++) {
        double s = 0;
        int64_t n = 0;
        for (int ch = 0; ch < nchunks; ch++) {
            s += sum[(size_t)ch * nmet + k];
            n += cnt[(size_t)ch * nmet + k];
        }
        double v = n ? s / (double)n : NAN;
        if (met[k].kind == REC_M_RMSE)
            v = sqrt(v);
        if (met[k].kind == REC_M_RMSE || met[k].kind == REC_M_MAE)
            res->rows = n;
        if (met[k].kind == REC_M_COVERAGE) {
            int64_t cov = 0;
            for (int32_t i = 0; i < m->nitems; i++)
                cov += atomic_load_explicit(&minpos[i], memory_order_relaxed) < met[k].k;
            v = res->users && m->nitems ? (double)cov / m->nitems : NAN;
        }
        res->value[k] = v;
    }
done:
    rec_free(met, nmet * sizeof *met);
    rec_free(umap, ((size_t)nu + 1) * sizeof *umap);
    rec_free(imap, ((size_t)ni + 1) * sizeof *imap);
    rec_free(eusers, ((size_t)nu + 1) * sizeof *eusers);
    rec_free(sum, (size_t)NCHUNKS * nmet * sizeof *sum);
    rec_free(cnt, (size_t)NCHUNKS * nmet * sizeof *cnt);
    rec_free(cout, NCHUNKS * sizeof *cout);
    if (iptr || deg || iusers) {
        rec_free(iptr, ((size_t)m->nitems + 1) * sizeof *iptr);
        rec_free(deg, ((size_t)m->nitems + 1) * sizeof *deg);
        rec_free(iusers, (nnz_m + 1) * sizeof *iusers);
    }
    rec_free(minpos, ((size_t)m->nitems + 1) * sizeof *minpos);
    rec_free(warm, warm ? (size_t)m->nitems + 1 : 0);
    if (st) {
        rec_eval_result_destroy(res);
        return st;
    }
    *out = res;
    return REC_OK;
}
