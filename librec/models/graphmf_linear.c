/* The linear filter of graphmf's scores (key "linear"): score(u, i) =
 * E[u] . E[users + i] + w (r_u R~^T R~)_i, with r_u the user's 0/1 row of
 * training items and R~ = (D_u + a)^-1/2 R (D_i + a)^-1/2 the user-item
 * block of the propagated graph (a its renorm).
 *
 * Why: the propagated embeddings are a rank-dim filter of the graph; the
 * item-item co-occurrence R~^T R~ is the full-rank one that GF-CF (Shen et
 * al., CIKM 2021) adds to its low-pass filter, and it keeps the specific
 * pairs a rank-512 model smooths away.  On a Gowalla validation split it
 * lifts LightGCN's NDCG@20 by 4.5% and Recall@20 by 3% (examples/README.md,
 * "The linear filter").
 *
 * w = linear * c, with c the mean over up to 256 evenly spaced users of
 * std(embedding scores) / std(linear scores): the two terms' scales differ
 * by dataset and loss, the key is their ratio.  c is fixed at fit and kept
 * in the model's file ("<kind>.linear"); a file without it scores by the
 * embeddings alone, as it did when saved.
 *
 * Per user the term costs a pass over the items of the users who share an
 * item with them (two row walks over the training graph), not a product with
 * a dense item-item matrix. */
#include "graphmf-impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINEAR_CALIBRATION_USERS 256

void rec_graphmf_linear_free(rec_model *m)
{
    rec_graphmf *s = m->state;
    rec_free(s->iptr, ((size_t)m->nitems + 1) * sizeof *s->iptr);
    rec_free(s->iusers, (size_t)(s->lin_nnz ? s->lin_nnz : 1) * sizeof *s->iusers);
    rec_free(s->inv_udeg, (size_t)m->nusers * sizeof *s->inv_udeg);
    s->iptr = NULL;
    s->iusers = NULL;
    s->inv_udeg = NULL;
}

/* The item -> users CSR of the seen items (users ascending, a repeated item
 * once) and 1 / (deg u + a) per user. */
static rec_status build(rec_model *m, const char *fn)
{
    rec_graphmf *s = m->state;
    int64_t nnz = m->seen_ptr[m->nusers];
    s->lin_nnz = nnz;
    s->iptr = rec_calloc((size_t)m->nitems + 1, sizeof *s->iptr);
    s->iusers = rec_malloc((size_t)(nnz ? nnz : 1) * sizeof *s->iusers);
    s->inv_udeg = rec_calloc((size_t)m->nusers, sizeof *s->inv_udeg);
    if (!s->iptr || !s->iusers || !s->inv_udeg)
        return rec_nomem(fn);
    for (int32_t u = 0; u < m->nusers; u++) {
        int64_t deg = 0;
        for (int64_t k = m->seen_ptr[u]; k < m->seen_ptr[u + 1]; k++)
            if (k == m->seen_ptr[u] || m->seen[k] != m->seen[k - 1]) {
                s->iptr[m->seen[k] + 1]++;
                deg++;
            }
        s->inv_udeg[u] = deg ? 1.0f / ((float)deg + s->renorm) : 0.0f;
    }
    for (int32_t i = 0; i < m->nitems; i++)
        s->iptr[i + 1] += s->iptr[i];
    int64_t *fill = rec_malloc(((size_t)m->nitems + 1) * sizeof *fill);
    if (!fill)
        return rec_nomem(fn);
    memcpy(fill, s->iptr, ((size_t)m->nitems + 1) * sizeof *fill);
    for (int32_t u = 0; u < m->nusers; u++)
        for (int64_t k = m->seen_ptr[u]; k < m->seen_ptr[u + 1]; k++)
            if (k == m->seen_ptr[u] || m->seen[k] != m->seen[k - 1])
                s->iusers[fill[m->seen[k]]++] = u;
    rec_free(fill, ((size_t)m->nitems + 1) * sizeof *fill);
    return REC_OK;
}

/* A walk's scratch: the users' weights (zero but at the users in vs) and
 * the users it reached, ascending. */
typedef struct walk {
    float *wu;   /* [nusers] */
    int32_t *vs; /* [nusers] */
    size_t nv;
} walk;

static rec_status walk_alloc(const rec_model *m, walk *w, const char *fn)
{
    w->wu = rec_calloc((size_t)m->nusers, sizeof *w->wu);
    w->vs = rec_malloc((size_t)m->nusers * sizeof *w->vs);
    w->nv = 0;
    return w->wu && w->vs ? REC_OK : rec_nomem(fn);
}

static void walk_free(const rec_model *m, walk *w)
{
    rec_free(w->wu, (size_t)m->nusers * sizeof *w->wu);
    rec_free(w->vs, (size_t)m->nusers * sizeof *w->vs);
}

/* w->wu[v] <- (r R~^T)_v (deg v + a)^-1/2 for the items r (n of them, an
 * item repeated next to itself once, as the graph has it): the users'
 * weights before the second walk, each carrying the user side of both.
 * Only the users reached are touched, so a call costs the walk, not the
 * number of users. */
static void user_weights(const rec_graphmf *s, const int32_t *r, size_t n, walk *w)
{
    for (size_t h = 0; h < n; h++) {
        float a = s->inv_sqrt_deg[r[h]];
        if ((h && r[h] == r[h - 1]) || a == 0.0f)
            continue;
        for (int64_t k = s->iptr[r[h]]; k < s->iptr[r[h] + 1]; k++) {
            int32_t v = s->iusers[k];
            if (w->wu[v] == 0.0f)
                w->vs[w->nv++] = v;
            w->wu[v] += a;
        }
    }
    qsort(w->vs, w->nv, sizeof *w->vs, rec_cmp_i32);
    for (size_t k = 0; k < w->nv; k++)
        w->wu[w->vs[k]] *= s->inv_udeg[w->vs[k]];
}

/* The term, times weight, added to out [nitems], users ascending so that
 * every item's sum runs in the order rec_graphmf_linear_items's does. */
static void add_term(const rec_model *m, const walk *w, float weight, float *out)
{
    const rec_graphmf *s = m->state;
    for (size_t x = 0; x < w->nv; x++) {
        int32_t v = w->vs[x];
        float t = weight * w->wu[v];
        for (int64_t k = m->seen_ptr[v]; k < m->seen_ptr[v + 1]; k++)
            if (k == m->seen_ptr[v] || m->seen[k] != m->seen[k - 1])
                out[m->seen[k]] += t * s->inv_sqrt_deg[m->seen[k]];
    }
}

/* The walk of the items r into w, its scratch allocated; api names the
 * caller in a failure's message. */
static rec_status walk_items(const rec_model *m, const int32_t *r, size_t n, const char *api,
                             walk *w)
{
    char fn[64];
    snprintf(fn, sizeof fn, "%s(%s)", api, m->vt->kind);
    REC_TRY(walk_alloc(m, w, fn));
    user_weights(m->state, r, n, w);
    return REC_OK;
}

rec_status rec_graphmf_linear_add(const rec_model *m, const int32_t *r, size_t n,
                                  const char *api, float *out)
{
    const rec_graphmf *s = m->state;
    if (s->lin_w == 0.0f)
        return REC_OK;
    walk w;
    rec_status st = walk_items(m, r, n, api, &w);
    if (!st)
        add_term(m, &w, s->lin_w, out);
    walk_free(m, &w);
    return st;
}

rec_status rec_graphmf_linear_items(const rec_model *m, int32_t u, const int32_t *items,
                                    size_t n, const char *api, float *out)
{
    const rec_graphmf *s = m->state;
    if (s->lin_w == 0.0f)
        return REC_OK;
    walk w;
    rec_status st = walk_items(m, m->seen + m->seen_ptr[u],
                               (size_t)(m->seen_ptr[u + 1] - m->seen_ptr[u]), api, &w);
    for (size_t j = 0; !st && j < n; j++) {
        int32_t i = items[j];
        for (int64_t k = s->iptr[i]; k < s->iptr[i + 1]; k++) {
            float wv = w.wu[s->iusers[k]];
            if (wv != 0.0f)
                out[j] += s->lin_w * wv * s->inv_sqrt_deg[i];
        }
    }
    walk_free(m, &w);
    return st;
}

/* The mean over up to LINEAR_CALIBRATION_USERS users of std(E[u] . V) /
 * std(linear term of u): 0 when no user has a varying term. */
static rec_status calibrate(rec_model *m, double *c, const char *fn)
{
    rec_graphmf *s = m->state;
    size_t ni = (size_t)m->nitems;
    float *e = rec_malloc(ni * sizeof *e), *l = rec_malloc(ni * sizeof *l);
    walk w;
    rec_status st = walk_alloc(m, &w, fn);
    if (!st && !(e && l))
        st = rec_nomem(fn);
    int32_t n = m->nusers < LINEAR_CALIBRATION_USERS ? m->nusers : LINEAR_CALIBRATION_USERS;
    double sum = 0;
    int used = 0;
    for (int32_t k = 0; !st && k < n; k++) {
        int32_t u = (int32_t)((int64_t)k * m->nusers / n);
        rec_sgemv(0, m->nitems, s->width, 1.0f, s->V, s->width, s->U + (size_t)u * s->width,
                  0.0f, e);
        memset(l, 0, ni * sizeof *l);
        user_weights(s, m->seen + m->seen_ptr[u], (size_t)(m->seen_ptr[u + 1] - m->seen_ptr[u]),
                     &w);
        add_term(m, &w, 1.0f, l);
        for (size_t x = 0; x < w.nv; x++)
            w.wu[w.vs[x]] = 0.0f;
        w.nv = 0;
        double se = 0, sse = 0, sl = 0, ssl = 0;
        for (size_t i = 0; i < ni; i++) {
            se += e[i];
            sse += (double)e[i] * e[i];
            sl += l[i];
            ssl += (double)l[i] * l[i];
        }
        double ve = sse / ni - (se / ni) * (se / ni), vl = ssl / ni - (sl / ni) * (sl / ni);
        if (vl > 0 && ve > 0) {
            sum += sqrt(ve / vl);
            used++;
        }
    }
    *c = used ? sum / used : 0.0;
    rec_free(e, ni * sizeof *e);
    rec_free(l, ni * sizeof *l);
    walk_free(m, &w);
    return st;
}

rec_status rec_graphmf_linear_fit(rec_model *m, double linear, const char *fn)
{
    rec_graphmf *s = m->state;
    s->lin_w = 0.0f;
    if (!(linear > 0))
        return REC_OK;
    REC_TRY(build(m, fn));
    double c;
    REC_TRY(calibrate(m, &c, fn));
    s->lin_w = (float)(linear * c);
    return REC_OK;
}

static void name(const rec_model *m, char *out, size_t cap)
{
    snprintf(out, cap, "%s.linear", m->vt->kind);
}

rec_status rec_graphmf_linear_save(const rec_model *m, rec_lrm_writer *w)
{
    const rec_graphmf *s = m->state;
    if (s->lin_w == 0.0f)
        return REC_OK;
    char nm[64];
    name(m, nm, sizeof nm);
    return rec_lrm_add_tensor(w, nm, REC_LRM_F32, 1, (const int64_t[]){ 1 }, &s->lin_w);
}

rec_status rec_graphmf_linear_load(rec_model *m, const rec_lrm_reader *r, const char *fn)
{
    rec_graphmf *s = m->state;
    char nm[64];
    name(m, nm, sizeof nm);
    s->lin_w = 0.0f;
    if (!rec_lrm_has_tensor(r, nm))
        return REC_OK;
    const void *p;
    REC_TRY(rec_lrm_tensor_expect(r, nm, REC_LRM_F32, 1, (const int64_t[]){ 1 }, &p));
    float w;
    memcpy(&w, p, sizeof w);
    if (!isfinite(w))
        return rec_err(REC_E_FORMAT, "%s: %s is not a finite number", fn, nm);
    REC_TRY(build(m, fn));
    s->lin_w = w;
    return REC_OK;
}
