/* "tfidf": content-based recommendation from item text.  Each item's
 * document is the tokens of its text fields and the values of its
 * multi-hot fields; terms are weighted by (sublinear) term frequency times
 * smoothed inverse document frequency and each item row is L2-normalised
 * (scikit-learn's TfidfVectorizer defaults, with sublinear tf on).
 *
 *   similar(i)      cosine of row i with every row
 *   score_user(u)   cosine of the user's profile with every row, where the
 *                   profile is the sum of the user's training rows (in time
 *                   order), each weighted by "profile" (equal 1; liked 1
 *                   when rated above the user's mean, else 0; deviation
 *                   rating minus the mean, so items liked less pull away)
 *                   times 2^(-later / recency_halflife), later the number
 *                   of the user's items after it; plain when the weighted
 *                   sum is zero; the profile is normalised
 *   score_history   the same profile from the given items (oldest first)
 *
 * Both scores are then multiplied by (1 + raters)^popularity_prior, raters
 * the item's training users: a hybrid with an explicit, documented weight
 * (0 gives pure content).  An item no one rated keeps its content score,
 * so cold items stay recommendable.  "field_weights" scales the counts of
 * a field's terms before tf and idf.
 *
 * The defaults (equal, halflife 5) were chosen on a validation split
 * carved from ml-latest-small's training part (leave-last-out twice): what
 * a user picks next is most like what they picked last (sessions, a genre
 * binge), and whether they rated it above their mean says little about
 * what they watch next.  popularity_prior 0.25 was chosen the same way
 * (mean of three nested validation splits, with all fields and with
 * titles and genres only): content alone is level with popularity there,
 * content times (1 + raters)^0.25 well above it.  See examples/README.md
 * for the numbers.
 *
 * Every item with text gets a row, rated or not, so items no one has rated
 * (loaded with catalog=all) can be recommended and have neighbours.  Scores
 * walk an inverted index (term -> items): the cost is the postings of the
 * query's terms, never items x items.  Items added after the fit from
 * their text, and users served from a history by rec_model_score_features,
 * are tfidf_features.c's. */
#include "tfidf-impl.h"
#include "retrieval/topk-impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const rec_param_spec spec[] = {
    { "fields", REC_PARAM_STR, "", 0, 0, NULL,
      "comma-separated item fields to read (text or multi-hot); empty: all of them" },
    { "sublinear_tf", REC_PARAM_BOOL, "true", 0, 0, NULL, "term frequency 1 + ln(tf)" },
    { "smooth_idf", REC_PARAM_BOOL, "true", 0, 0, NULL,
      "idf = ln((1 + n) / (1 + df)) + 1 (else ln(n / df) + 1)" },
    { "min_df", REC_PARAM_INT, "1", 1, 2147483647.0, NULL,
      "drop terms found in fewer items than this" },
    { "max_features", REC_PARAM_INT, "0", 0, 2147483647.0, NULL,
      "keep the most frequent terms only (0: all)" },
    { "stop_words", REC_PARAM_STR, "english", 0, 0, "english|none",
      "drop common English words" },
    { "profile", REC_PARAM_STR, "equal", 0, 0, "deviation|liked|equal",
      "profile weight of a rated item: rating minus the user's mean, 1 above the mean "
      "(else 0), or 1 (data without ratings: always 1)" },
    { "recency_halflife", REC_PARAM_FLOAT, "5", 0, 1e9, NULL,
      "profile weight halves every this many later items of the user (0: no decay)" },
    { "field_weights", REC_PARAM_STR, "", 0, 0, NULL,
      "name:weight,... weight of a field's terms (unlisted fields: 1)" },
    { "popularity_prior", REC_PARAM_FLOAT, "0.25", 0, 10, NULL,
      "hybrid: scores are the content score times (1 + training raters)^this (0: pure "
      "content; an item no one rated keeps its content score)" },
};
enum { PROFILE_DEVIATION, PROFILE_LIKED, PROFILE_EQUAL };
#define NSPEC (sizeof spec / sizeof *spec)
#define FN "rec_model_fit(tfidf)"

static void tfidf_free(rec_model *m)
{
    tfidf *s = m->state;
    if (!s)
        return;
    /* arrays of nterms and nnz entries hold one more, so none is empty */
    size_t nt = (size_t)s->nterms + 1, nnz = (size_t)s->nnz + 1;
    rec_free(s->vocab, s->vocab_len);
    rec_free(s->idf, nt * sizeof *s->idf);
    rec_free(s->ptr, ((size_t)m->nitems + 1) * sizeof *s->ptr);
    rec_free(s->col, nnz * sizeof *s->col);
    rec_free(s->val, nnz * sizeof *s->val);
    tfidf_index_free(s);
    tfidf_schema_free(s);
    rec_free(s->uw, ((size_t)s->nuw + 1) * sizeof *s->uw);
    rec_free(s->prior, ((size_t)m->nitems + 1) * sizeof *s->prior);
    rec_free(s, sizeof *s);
    m->state = NULL;
}

/* ---- building the corpus --------------------------------------------------- */

static rec_status on_token(void *user, const char *tok, size_t len)
{
    corpus *c = user;
    int32_t id;
    int added;
    if (rec_idmap_intern(c->terms, tok, len, &id, &added))
        return rec_nomem(c->fn);
    for (int r = 0; r < c->reps; r++) {
        if (c->ntok == c->cap) {
            size_t nc = c->cap ? 2 * c->cap : 4096;
            int64_t *t = rec_realloc(c->tok, c->cap * sizeof *t, nc * sizeof *t);
            if (!t)
                return rec_nomem(c->fn);
            c->tok = t;
            c->cap = nc;
        }
        c->tok[c->ntok++] = c->field << 32 | id;
    }
    return REC_OK;
}

rec_status tfidf_tokenize(corpus *c, const char *text, int reps, int stop)
{
    size_t len = strlen(text);
    if (len > c->scap) {
        char *p = rec_realloc(c->scratch, c->scap, len);
        if (!p)
            return rec_nomem(c->fn);
        c->scratch = p;
        c->scap = len;
    }
    c->reps = reps;
    return rec_tokenize(text, len, stop, c->scratch, on_token, c);
}

/* Fields to read: the "fields" list, or every text and multi-hot item field
 * except a multi-hot X when a text field X_text holds the same values as
 * written (MovieLens "tags" / "tag_text"). */
static rec_status pick_names(const rec_model *m, const rec_dataset *d, const rec_field **out,
                             int *nout)
{
    const char *list = rec_model_str(m, "fields");
    int n = 0, nf = rec_ds_num_fields(d, REC_SIDE_ITEM);
    if (!*list) {
        for (int k = 0; k < nf && n < 64; k++) {
            const rec_field *f = rec_ds_field_at(d, REC_SIDE_ITEM, k);
            if (f->type == REC_FEATURE_MULTIHOT) {
                char tn[300];
                snprintf(tn, sizeof tn, "%s_text", f->name);
                const rec_field *t = rec_ds_field(d, REC_SIDE_ITEM, tn);
                if (t && t->type == REC_FEATURE_TEXT)
                    continue;
            } else if (f->type != REC_FEATURE_TEXT) {
                continue;
            }
            out[n++] = f;
        }
        if (!n)
            return rec_err(REC_E_INVALID, "%s: the dataset has no text or multi-hot item fields",
                           FN);
        *nout = n;
        return REC_OK;
    }
    rec_list_iter it;
    const char *p;
    size_t len;
    rec_list_start(&it, list);
    while (rec_list_next(&it, &p, &len)) {
        char name[256];
        if (len == 0 || len >= sizeof name)
            return rec_err(REC_E_INVALID, "%s: fields: empty or too long name in '%s'", FN, list);
        memcpy(name, p, len);
        name[len] = 0;
        const rec_field *f = rec_ds_field(d, REC_SIDE_ITEM, name);
        if (!f)
            return rec_err(REC_E_INVALID, "%s: fields: no item field '%s'", FN, name);
        if (f->type != REC_FEATURE_TEXT && f->type != REC_FEATURE_MULTIHOT)
            return rec_err(REC_E_INVALID, "%s: fields: '%s' is not a text or multi-hot field",
                           FN, name);
        if (n == 64)
            return rec_err(REC_E_INVALID, "%s: fields: more than 64 names", FN);
        out[n++] = f;
    }
    *nout = n;
    return REC_OK;
}

/* The fields to read and their weights fw[64] ("field_weights": name:w
 * pairs naming fields that are read; others 1). */
static rec_status pick_fields(const rec_model *m, const rec_dataset *d, const rec_field **out,
                              int *nout, float *fw)
{
    REC_TRY(pick_names(m, d, out, nout));
    for (int k = 0; k < *nout; k++)
        fw[k] = 1;
    const char *list = rec_model_str(m, "field_weights");
    rec_list_iter it;
    const char *p;
    size_t len;
    rec_list_start(&it, list);
    while (rec_list_next(&it, &p, &len)) {
        if (len == 0)
            return rec_err(REC_E_INVALID, "%s: field_weights: empty pair in '%s'", FN, list);
        const char *colon = memchr(p, ':', len);
        char name[256], num[64];
        size_t nl = colon ? (size_t)(colon - p) : 0, vl = colon ? len - nl - 1 : 0;
        if (!colon || nl == 0 || nl >= sizeof name || vl == 0 || vl >= sizeof num)
            return rec_err(REC_E_INVALID, "%s: field_weights: expected name:weight in '%s'", FN,
                           list);
        memcpy(name, p, nl);
        name[nl] = 0;
        memcpy(num, colon + 1, vl);
        num[vl] = 0;
        double v;
        if (!rec_parse_double(num, &v) || !(v >= 0) || v > 1e6)
            return rec_err(REC_E_RANGE, "%s: field_weights: weight '%s' of '%s' is not in "
                           "[0, 1e6]", FN, num, name);
        int k = 0;
        while (k < *nout && strcmp(out[k]->name, name) != 0)
            k++;
        if (k == *nout)
            return rec_err(REC_E_INVALID, "%s: field_weights: '%s' is not a field read", FN,
                           name);
        fw[k] = (float)v;
    }
    return REC_OK;
}

/* Tokens of every item: c->tok, item i's at [dptr[i], dptr[i+1]); the
 * weight of field k in fw[k]. */
static rec_status read_docs(const rec_model *m, const rec_dataset *d, corpus *c, int64_t *dptr,
                            float *fw)
{
    const rec_field *fs[64];
    int nf = 0;
    REC_TRY(pick_fields(m, d, fs, &nf, fw));
    REC_TRY(tfidf_schema_build(d, m->state, fs, nf, fw, FN));
    int stop = strcmp(rec_model_str(m, "stop_words"), "english") == 0;
    dptr[0] = 0;
    for (int32_t i = 0; i < m->nitems; i++) {
        for (int k = 0; k < nf; k++) {
            const rec_field *f = fs[k];
            c->field = k;
            if (f->type == REC_FEATURE_TEXT) {
                const char *t = rec_ds_item_text(d, i, f->name);
                if (t && *t)
                    REC_TRY(tfidf_tokenize(c, t, 1, stop));
                continue;
            }
            int32_t nv = 0;
            const int32_t *v = rec_ds_item_multihot(d, i, f->name, &nv);
            for (int32_t j = 0; j < nv; j++) {
                int reps = f->cnt ? f->cnt[(v - f->vals) + j] : 1;
                REC_TRY(tfidf_tokenize(c, rec_idmap_name(f->vocab, v[j]), reps, stop));
            }
        }
        dptr[i + 1] = (int64_t)c->ntok;
    }
    return REC_OK;
}

typedef struct term {
    const char *s;
    int64_t tf;    /* corpus frequency */
    int32_t old;
} term;

static int cmp_term_s(const void *a, const void *b)
{
    return strcmp(((const term *)a)->s, ((const term *)b)->s);
}

static int cmp_term_tf(const void *a, const void *b)
{
    const term *x = a, *y = b;
    if (x->tf != y->tf)
        return x->tf > y->tf ? -1 : 1;
    return strcmp(x->s, y->s);
}

void tfidf_index_free(tfidf *s)
{
    size_t nt = (size_t)s->nterms + 1, nnz = (size_t)s->nnz + 1;
    rec_free(s->tptr, nt * sizeof *s->tptr);
    rec_free(s->titem, nnz * sizeof *s->titem);
    rec_free(s->tval, nnz * sizeof *s->tval);
    s->tptr = NULL;
    s->titem = NULL;
    s->tval = NULL;
}

rec_status tfidf_build_index(tfidf *s, int32_t nitems)
{
    size_t nt = (size_t)s->nterms, nnz = (size_t)s->nnz;
    s->tptr = rec_calloc(nt + 1, sizeof *s->tptr);
    s->titem = rec_malloc((nnz + 1) * sizeof *s->titem);
    s->tval = rec_malloc((nnz + 1) * sizeof *s->tval);
    if (!s->tptr || !s->titem || !s->tval)
        return rec_nomem("tfidf");
    for (size_t k = 0; k < nnz; k++)
        s->tptr[s->col[k] + 1]++;
    for (size_t t = 0; t < nt; t++)
        s->tptr[t + 1] += s->tptr[t];
    int64_t *fill = rec_malloc((nt + 1) * sizeof *fill);
    if (!fill)
        return rec_nomem("tfidf");
    memcpy(fill, s->tptr, (nt + 1) * sizeof *fill);
    for (int32_t i = 0; i < nitems; i++)
        for (int64_t k = s->ptr[i]; k < s->ptr[i + 1]; k++) {
            int64_t at = fill[s->col[k]]++;
            s->titem[at] = i;
            s->tval[at] = s->val[k];
        }
    rec_free(fill, (nt + 1) * sizeof *fill);
    return REC_OK;
}


int tfidf_cmp_key(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Term frequency weight: 1 + ln(tf) when sublinear (tf itself below 1,
 * which only weighted counts reach, so the curve stays continuous). */
static double tf_weight(double tf, int sub)
{
    return sub && tf > 1 ? 1 + log(tf) : tf;
}

int64_t tfidf_item_row(const tfidf *s, const int64_t *key, size_t n, const int32_t *remap,
                        const float *fw, int sub, float *acc, int32_t *col, float *val)
{
    int64_t w = 0;
    for (size_t r = 0; r < n;) {
        size_t e = r + 1;
        while (e < n && key[e] == key[r])
            e++;
        int32_t t = remap[TERM_OF(key[r])];
        float f = fw[FIELD_OF(key[r])];
        if (t >= 0 && f > 0) {
            if (acc[t] == 0)
                col[w++] = t;
            acc[t] += f * (float)(e - r);
        }
        r = e;
    }
    double norm = 0;
    for (int64_t k = 0; k < w; k++) {
        int32_t t = col[k];
        val[k] = (float)(tf_weight(acc[t], sub) * s->idf[t]);
        acc[t] = 0;
        norm += (double)val[k] * val[k];
    }
    norm = sqrt(norm);
    for (int64_t k = 0; k < w && norm > 0; k++)
        val[k] = (float)(val[k] / norm);
    for (int64_t k = 1; k < w; k++) {
        int32_t cc = col[k];
        float vv = val[k];
        int64_t j = k;
        for (; j > 0 && col[j - 1] > cc; j--) {
            col[j] = col[j - 1];
            val[j] = val[j - 1];
        }
        col[j] = cc;
        val[j] = vv;
    }
    return w;
}

/* Rows from the documents: counts, term selection, weights, normalisation. */
static rec_status build_rows(rec_model *m, tfidf *s, corpus *c, const int64_t *dptr,
                             const float *fw)
{
    int32_t nraw = c->terms->n;
    size_t rawb = ((size_t)nraw + 1) * sizeof(int64_t);
    int64_t *df = rec_calloc((size_t)nraw + 1, sizeof *df);
    int64_t *ctf = rec_calloc((size_t)nraw + 1, sizeof *ctf);
    int32_t *remap = rec_malloc(((size_t)nraw + 1) * sizeof *remap);
    int32_t *last = rec_malloc(((size_t)nraw + 1) * sizeof *last);
    term *tl = rec_malloc(((size_t)nraw + 1) * sizeof *tl);
    float *acc = NULL;
    rec_status st = df && ctf && remap && last && tl ? REC_OK : rec_nomem(FN);
    for (int32_t t = 0; !st && t < nraw; t++)
        last[t] = -1;
    /* per document: sort the (field, term) keys; df counts a term once per
     * document, whatever its fields */
    for (int32_t i = 0; !st && i < m->nitems; i++) {
        int64_t *t = c->tok + dptr[i];
        size_t n = (size_t)(dptr[i + 1] - dptr[i]);
        qsort(t, n, sizeof *t, tfidf_cmp_key);
        for (size_t k = 0; k < n; k++) {
            int32_t id = TERM_OF(t[k]);
            ctf[id]++;
            if (last[id] != i) {
                last[id] = i;
                df[id]++;
            }
        }
    }
    int32_t nkeep = 0;
    int64_t min_df = rec_model_int(m, "min_df"), maxf = rec_model_int(m, "max_features");
    for (int32_t t = 0; !st && t < nraw; t++)
        if (df[t] >= min_df)
            tl[nkeep++] = (term){ rec_idmap_name(c->terms, t), ctf[t], t };
    if (!st && maxf > 0 && nkeep > maxf) {
        qsort(tl, (size_t)nkeep, sizeof *tl, cmp_term_tf);
        nkeep = (int32_t)maxf;
    }
    if (!st)
        qsort(tl, (size_t)nkeep, sizeof *tl, cmp_term_s);
    /* the kept vocabulary, sorted, and idf */
    s->nterms = nkeep;
    size_t vlen = 1;
    for (int32_t t = 0; !st && t < nkeep; t++)
        vlen += strlen(tl[t].s) + 1;
    if (!st) {
        s->vocab_len = vlen;
        s->vocab = rec_malloc(vlen);
        s->idf = rec_malloc(((size_t)nkeep + 1) * sizeof *s->idf);
        acc = rec_calloc((size_t)nkeep + 1, sizeof *acc);
        if (!s->vocab || !s->idf || !acc)
            st = rec_nomem(FN);
    }
    if (!st) {
        int smooth = rec_model_bool(m, "smooth_idf");
        double n = (double)m->nitems;
        size_t at = 0;
        for (int32_t t = 0; t < nraw; t++)
            remap[t] = -1;
        for (int32_t t = 0; t < nkeep; t++) {
            size_t l = strlen(tl[t].s) + 1;
            memcpy(s->vocab + at, tl[t].s, l);
            at += l;
            remap[tl[t].old] = t;
            double f = (double)df[tl[t].old];
            s->idf[t] = (float)(smooth ? log((1 + n) / (1 + f)) + 1 : log(n / f) + 1);
        }
        s->vocab[at] = 0;
    }
    /* rows: distinct kept terms of weighted fields per document */
    int64_t nnz = 0;
    for (int32_t t = 0; !st && t < nraw; t++)
        last[t] = -1;
    for (int32_t i = 0; !st && i < m->nitems; i++)
        for (int64_t k = dptr[i]; k < dptr[i + 1]; k++) {
            int32_t id = TERM_OF(c->tok[k]);
            if (remap[id] >= 0 && fw[FIELD_OF(c->tok[k])] > 0 && last[id] != i) {
                last[id] = i;
                nnz++;
            }
        }
    if (!st) {
        s->nnz = nnz;
        s->ptr = rec_malloc(((size_t)m->nitems + 1) * sizeof *s->ptr);
        s->col = rec_malloc(((size_t)nnz + 1) * sizeof *s->col);
        s->val = rec_malloc(((size_t)nnz + 1) * sizeof *s->val);
        if (!s->ptr || !s->col || !s->val)
            st = rec_nomem(FN);
    }
    if (!st) {
        int sub = rec_model_bool(m, "sublinear_tf");
        s->ptr[0] = 0;
        for (int32_t i = 0; i < m->nitems; i++) {
            int64_t b = s->ptr[i];
            b += tfidf_item_row(s, c->tok + dptr[i], (size_t)(dptr[i + 1] - dptr[i]), remap, fw,
                          sub, acc, s->col + b, s->val + b);
            s->ptr[i + 1] = b;
        }
    }
    rec_free(df, rawb);
    rec_free(ctf, rawb);
    rec_free(remap, ((size_t)nraw + 1) * sizeof *remap);
    rec_free(last, ((size_t)nraw + 1) * sizeof *last);
    rec_free(tl, ((size_t)nraw + 1) * sizeof *tl);
    rec_free(acc, ((size_t)nkeep + 1) * sizeof *acc);
    return st;
}

/* Profile weights of n items in time order (r NULL: no ratings) into w[n]:
 * the "profile" base (deviation r - mean, liked 1 when r > mean else 0,
 * equal 1; 1 for every item without ratings) times 2^(-age / halflife),
 * age the number of later items (halflife 0: no decay). */
static void weights_of(const float *r, size_t n, int mode, double halflife, float *w)
{
    double mean = 0;
    for (size_t h = 0; r && h < n; h++)
        mean += r[h];
    mean = n ? mean / (double)n : 0;
    for (size_t h = 0; h < n; h++) {
        double base = 1;
        if (r && mode == PROFILE_DEVIATION)
            base = r[h] - mean;
        else if (r && mode == PROFILE_LIKED)
            base = r[h] > mean;
        double age = (double)(n - 1 - h);
        w[h] = (float)(halflife > 0 ? base * exp2(-age / halflife) : base);
    }
}

static int profile_mode(const rec_model *m)
{
    const char *p = rec_model_str(m, "profile");
    return strcmp(p, "deviation") == 0 ? PROFILE_DEVIATION
           : strcmp(p, "liked") == 0   ? PROFILE_LIKED
                                       : PROFILE_EQUAL;
}

/* Profile weights per m->seen entry (weights_of over the user's training
 * rows in time order; a repeated item adds up).  None (NULL) when every
 * weight would be 1. */
static rec_status user_weights(rec_model *m, tfidf *s, const rec_dataset *d)
{
    const int64_t *ip;
    const int32_t *it;
    const float *rt;
    int mode = profile_mode(m);
    double half = rec_model_flt(m, "recency_halflife");
    if ((!rec_ds_ratings_col(d) || mode == PROFILE_EQUAL) && half <= 0)
        return REC_OK;
    REC_TRY(rec_ds_user_csr(d, &ip, &it, &rt));
    s->nuw = m->seen_ptr[m->nusers];
    s->uw = rec_calloc((size_t)s->nuw + 1, sizeof *s->uw);
    int64_t maxn = 0;
    for (int32_t u = 0; u < m->nusers; u++)
        maxn = ip[u + 1] - ip[u] > maxn ? ip[u + 1] - ip[u] : maxn;
    float *w = rec_malloc(((size_t)maxn + 1) * sizeof *w);
    if (!s->uw || !w) {
        rec_free(w, ((size_t)maxn + 1) * sizeof *w);
        return rec_nomem(FN);
    }
    for (int32_t u = 0; u < m->nusers; u++) {
        size_t nu = (size_t)(ip[u + 1] - ip[u]);
        weights_of(rt ? rt + ip[u] : NULL, nu, mode, half, w);
        const int32_t *a = m->seen + m->seen_ptr[u];
        size_t n = (size_t)(m->seen_ptr[u + 1] - m->seen_ptr[u]);
        for (size_t k = 0; k < nu; k++) {
            const int32_t *hit = bsearch(&it[ip[u] + k], a, n, sizeof *a, rec_cmp_i32);
            if (hit)
                s->uw[m->seen_ptr[u] + (hit - a)] += w[k];
        }
    }
    rec_free(w, ((size_t)maxn + 1) * sizeof *w);
    return REC_OK;
}

/* The popularity prior from m->seen (fit and load): prior[i] =
 * popularity_prior * ln(1 + number of training users of item i). */
static rec_status build_prior(rec_model *m, tfidf *s, const char *fn)
{
    double a = rec_model_flt(m, "popularity_prior");
    size_t ni = (size_t)m->nitems;
    if (a <= 0)
        return REC_OK;
    s->prior = rec_calloc(ni + 1, sizeof *s->prior);
    if (!s->prior)
        return rec_nomem(fn);
    for (int64_t e = 0; e < m->seen_ptr[m->nusers]; e++)
        s->prior[m->seen[e]] += 1;
    for (size_t i = 0; i < ni; i++)
        s->prior[i] = (float)(a * log1p(s->prior[i]));
    return REC_OK;
}

static rec_status tfidf_fit(rec_model *m, const rec_dataset *d, rec_progress_fn cb, void *user)
{
    tfidf *s = rec_calloc(1, sizeof *s);
    if (!s)
        return rec_nomem(FN);
    m->state = s;
    corpus c = { .fn = FN };
    float fw[64];
    size_t db = ((size_t)m->nitems + 1) * sizeof(int64_t);
    int64_t *dptr = rec_malloc(db);
    rec_status st = dptr ? rec_idmap_create(&c.terms) : rec_nomem(FN);
    if (st == REC_E_NOMEM)
        st = rec_nomem(FN);
    if (!st)
        st = read_docs(m, d, &c, dptr, fw);
    if (!st)
        st = build_rows(m, s, &c, dptr, fw);
    if (!st)
        st = tfidf_build_index(s, m->nitems);
    if (!st)
        st = user_weights(m, s, d);
    if (!st)
        st = build_prior(m, s, FN);
    rec_idmap_unref(c.terms);
    rec_free(c.tok, c.cap * sizeof *c.tok);
    rec_free(c.scratch, c.scap);
    rec_free(dptr, db);
    if (!st)
        st = rec_model_step_done(m, "item vectors", 1, 1, cb, user, FN);
    return st;
}

/* ---- scoring ------------------------------------------------------------------ */

/* out[j] = sum_t q[t] * X[j, t] over the query's nonzero terms. */
static void cosine_all(const rec_model *m, const tfidf *s, const int32_t *qt, const float *qv,
                       int64_t nq, float *out)
{
    memset(out, 0, (size_t)m->nitems * sizeof *out);
    for (int64_t k = 0; k < nq; k++) {
        int32_t t = qt[k];
        float w = qv[k];
        for (int64_t p = s->tptr[t]; p < s->tptr[t + 1]; p++)
            out[s->titem[p]] += w * s->tval[p];
    }
}

static rec_status tfidf_similar(const rec_model *m, int32_t i, float *out)
{
    const tfidf *s = m->state;
    cosine_all(m, s, s->col + s->ptr[i], s->val + s->ptr[i], s->ptr[i + 1] - s->ptr[i], out);
    return REC_OK;
}

/* Scratch for a profile over the vocabulary. */
typedef struct profile {
    char *buf;
    size_t bytes;
    float *acc;          /* [nterms] dense profile, normalised by build */
    float *qv;           /* [q] its nonzero values */
    int32_t *touched;    /* [q] their terms */
    int64_t q;
} profile;

/* The normalised profile of items (weights w, or all 1 when w is NULL or
 * sums to a zero vector): dense in p->acc and as a term list. */
static rec_status profile_build(const tfidf *s, const int32_t *items, const float *w, size_t n,
                                profile *p, const char *fn)
{
    size_t nt = (size_t)s->nterms + 1;
    p->bytes = nt * (2 * sizeof(float) + sizeof(int32_t) + 1);
    p->buf = rec_calloc(1, p->bytes);
    if (!p->buf)
        return rec_nomem(fn);
    float *acc = (float *)p->buf, *qv = acc + nt;
    int32_t *touched = (int32_t *)(qv + nt);
    unsigned char *mark = (unsigned char *)(touched + nt);
    int64_t nq = 0;
    double norm = 0;
    for (int pass = w ? 0 : 1; pass < 2 && norm == 0; pass++) {
        for (int64_t k = 0; k < nq; k++)
            acc[touched[k]] = 0;
        for (size_t h = 0; h < n; h++) {
            float wt = pass == 0 ? w[h] : 1.0f;
            for (int64_t k = s->ptr[items[h]]; k < s->ptr[items[h] + 1]; k++) {
                int32_t t = s->col[k];
                if (!mark[t]) {
                    mark[t] = 1;
                    touched[nq++] = t;
                }
                acc[t] += wt * s->val[k];
            }
        }
        norm = 0;
        for (int64_t k = 0; k < nq; k++)
            norm += (double)acc[touched[k]] * acc[touched[k]];
    }
    norm = sqrt(norm);
    int64_t q = 0;
    for (int64_t k = 0; k < nq; k++) {
        int32_t t = touched[k];
        acc[t] = norm > 0 ? (float)(acc[t] / norm) : 0.0f;
        if (acc[t] != 0) {
            touched[q] = t;
            qv[q++] = acc[t];
        }
    }
    p->acc = acc;
    p->qv = qv;
    p->touched = touched;
    p->q = q;
    return REC_OK;
}

/* Profile cosine with every item, times (1 + raters)^popularity_prior:
 * the content score stays the gate (no shared term: 0), and since the
 * factor multiplies, the ranking does not depend on the scale of a user's
 * cosines (shorter documents, fewer fields: larger cosines). */
static rec_status profile_scores(const rec_model *m, const int32_t *items, const float *w,
                                 size_t n, float *out, const char *fn)
{
    const tfidf *s = m->state;
    profile p;
    REC_TRY(profile_build(s, items, w, n, &p, fn));
    cosine_all(m, s, p.touched, p.qv, p.q, out);
    rec_free(p.buf, p.bytes);
    for (int32_t i = 0; s->prior && i < m->nitems; i++)
        out[i] *= expf(s->prior[i]);
    return REC_OK;
}

/* The terms of item i weighted by their share of the score (the cosine
 * with u's profile times the popularity factor); names found by walking
 * the sorted vocabulary once. */
static rec_status tfidf_explain(const rec_model *m, int32_t u, int32_t i, size_t k,
                                const char **reasons, float *weights, size_t *n)
{
    const tfidf *s = m->state;
    int64_t b = m->seen_ptr[u];
    profile p;
    REC_TRY(profile_build(s, m->seen + b, s->uw ? s->uw + b : NULL,
                          (size_t)(m->seen_ptr[u + 1] - b), &p, "rec_model_explain"));
    int32_t *who = rec_malloc(k * sizeof *who);
    if (!who) {
        rec_free(p.buf, p.bytes);
        return rec_nomem("rec_model_explain");
    }
    size_t size = 0;
    float factor = s->prior ? expf(s->prior[i]) : 1.0f;
    for (int64_t e = s->ptr[i]; e < s->ptr[i + 1]; e++) {
        float part = p.acc[s->col[e]] * s->val[e] * factor;
        if (part != 0)
            rec_topk_push(who, weights, k, &size, s->col[e], part);
    }
    *n = rec_topk_finish(who, weights, size);
    const char *name = s->vocab;
    for (int32_t t = 0; t < s->nterms; t++, name += strlen(name) + 1)
        for (size_t j = 0; j < *n; j++)
            if (who[j] == t)
                reasons[j] = name;
    rec_free(who, k * sizeof *who);
    rec_free(p.buf, p.bytes);
    return REC_OK;
}

static rec_status tfidf_score_user(const rec_model *m, int32_t u, float *out)
{
    const tfidf *s = m->state;
    int64_t b = m->seen_ptr[u];
    return profile_scores(m, m->seen + b, s->uw ? s->uw + b : NULL,
                          (size_t)(m->seen_ptr[u + 1] - b), out, "rec_model_recommend");
}

rec_status tfidf_score_history(const rec_model *m, const int32_t *items, const float *r,
                                      size_t n, float *out)
{
    const char *fn = "rec_model_recommend_history";
    int mode = profile_mode(m);
    double half = rec_model_flt(m, "recency_halflife");
    if (n == 0 || ((!r || mode == PROFILE_EQUAL) && half <= 0))
        return profile_scores(m, items, NULL, n, out, fn);
    float *w = rec_malloc(n * sizeof *w);
    if (!w)
        return rec_nomem(fn);
    weights_of(r, n, mode, half, w);
    rec_status st = profile_scores(m, items, w, n, out, fn);
    rec_free(w, n * sizeof *w);
    return st;
}

/* ---- model file ---------------------------------------------------------------- */

static rec_status tfidf_save(const rec_model *m, rec_lrm_writer *w)
{
    const tfidf *s = m->state;
    int64_t nt = s->nterms, nnz = s->nnz, np = (int64_t)m->nitems + 1, nuw = s->uw ? s->nuw : 0;
    REC_TRY(rec_lrm_add_blob(w, "tfidf.vocab", s->vocab, s->vocab_len));
    REC_TRY(rec_lrm_add_tensor(w, "tfidf.idf", REC_LRM_F32, 1, &nt, s->idf));
    REC_TRY(rec_lrm_add_tensor(w, "tfidf.indptr", REC_LRM_I64, 1, &np, s->ptr));
    REC_TRY(rec_lrm_add_tensor(w, "tfidf.indices", REC_LRM_I32, 1, &nnz, s->col));
    REC_TRY(rec_lrm_add_tensor(w, "tfidf.data", REC_LRM_F32, 1, &nnz, s->val));
    REC_TRY(rec_lrm_add_tensor(w, "tfidf.user_weights", REC_LRM_F32, 1, &nuw, s->uw));
    return tfidf_schema_save(s, w);
}

static rec_status bad(const char *what)
{
    return rec_err(REC_E_FORMAT, "rec_model_load(tfidf): %s", what);
}

static void *copy_of(const void *p, size_t used, size_t alloc)
{
    void *q = rec_malloc(alloc);
    if (q && used)
        memcpy(q, p, used);
    return q;
}

static rec_status tfidf_load(rec_model *m, const rec_lrm_reader *r)
{
    tfidf *s = rec_calloc(1, sizeof *s);
    if (!s)
        return rec_nomem("rec_model_load");
    m->state = s;
    const void *vb, *idf, *ptr, *col, *val, *uw;
    size_t vlen;
    int64_t sh[REC_LRM_MAX_DIMS], np = (int64_t)m->nitems + 1;
    REC_TRY(rec_lrm_blob(r, "tfidf.vocab", &vb, &vlen));
    REC_TRY(rec_lrm_tensor(r, "tfidf.idf", REC_LRM_F32, 1, sh, &idf));
    int64_t nt = sh[0];
    REC_TRY(rec_lrm_tensor_expect(r, "tfidf.indptr", REC_LRM_I64, 1, &np, &ptr));
    REC_TRY(rec_lrm_tensor(r, "tfidf.indices", REC_LRM_I32, 1, sh, &col));
    int64_t nnz = sh[0];
    REC_TRY(rec_lrm_tensor_expect(r, "tfidf.data", REC_LRM_F32, 1, &nnz, &val));
    REC_TRY(rec_lrm_tensor(r, "tfidf.user_weights", REC_LRM_F32, 1, sh, &uw));
    int64_t nuw = sh[0];
    const char *v = vb;
    int64_t nterm = 0;
    if (vlen == 0 || v[vlen - 1] != 0)
        return bad("vocabulary is not NUL-terminated");
    for (size_t k = 0; k + 1 < vlen; k++)
        nterm += v[k] == 0;
    if (nterm != nt || nt > INT32_MAX)
        return bad("vocabulary and idf sizes differ");
    if (nuw != 0 && nuw != m->seen_ptr[m->nusers])
        return bad("user weights do not match the training items");
    const int64_t *p = ptr;
    const int32_t *c = col;
    REC_TRY(rec_csr_check(1, "rec_model_load(tfidf)", "item rows", m->nitems, p, nnz, c, 0, nt));
    for (int32_t i = 0; i < m->nitems; i++)
        for (int64_t k = p[i] + 1; k < p[i + 1]; k++)
            if (c[k] <= c[k - 1])
                return bad("term indices out of order");
    s->nterms = (int32_t)nt;
    s->nnz = nnz;
    s->vocab_len = vlen;
    s->nuw = nuw;
    s->vocab = copy_of(vb, vlen, vlen);
    s->idf = copy_of(idf, (size_t)nt * sizeof(float), ((size_t)nt + 1) * sizeof(float));
    s->ptr = copy_of(ptr, (size_t)np * sizeof(int64_t), (size_t)np * sizeof(int64_t));
    s->col = copy_of(col, (size_t)nnz * sizeof(int32_t), ((size_t)nnz + 1) * sizeof(int32_t));
    s->val = copy_of(val, (size_t)nnz * sizeof(float), ((size_t)nnz + 1) * sizeof(float));
    if (nuw)
        s->uw = copy_of(uw, (size_t)nuw * sizeof(float), ((size_t)nuw + 1) * sizeof(float));
    if (!s->vocab || !s->idf || !s->ptr || !s->col || !s->val || (nuw && !s->uw))
        return rec_nomem("rec_model_load");
    REC_TRY(tfidf_build_index(s, m->nitems));
    REC_TRY(tfidf_schema_load(s, r));
    return build_prior(m, s, "rec_model_load");
}

const rec_model_vt rec_tfidf_vt = {
    .kind = "tfidf",
    .summary = "content-based: TF-IDF of item text, cosine item-item and profile-item",
    .spec = spec,
    .nspec = NSPEC,
    .fit = tfidf_fit,
    .score_user = tfidf_score_user,
    .score_history = tfidf_score_history,
    .similar = tfidf_similar,
    .explain = tfidf_explain,
    .save = tfidf_save,
    .load = tfidf_load,
    .free_state = tfidf_free,
    .fits_catalogue = 1,
    .schema = tfidf_schema,
    .score_features = tfidf_score_features,
    .add_items = tfidf_add_items,
};
