/* Text fields of "twotower": a trainable text encoder in the tower.
 *
 * A text field ("title") is tokenized as tfidf does (tokenize-impl.h,
 * English stop words dropped), each token hashed into one of text_buckets
 * rows of a token table (the hashing trick: no vocabulary to build or
 * store, and a word first seen at call time still has a row), and the
 * first text_len tokens go through the encoder text_encoder (with
 * text_min_items > 1, only tokens of the texts of that many trained
 * entities are kept, at fit and at call time: a word of one film's title
 * is an id in disguise, which a cold film cannot use):
 *   mean         the mean of the token rows (an EmbeddingBag)
 *   conv         width-3 convolution over the rows padded to text_len,
 *                ReLU, max over positions (nn/conv1d.c)
 *   transformer  [CLS] + the rows + learned positions, text_layers of
 *                SASRec's pre-LN block made bidirectional (keys past the
 *                text masked), LayerNorm of the [CLS] output (BERT's pooled
 *                token, Devlin et al. 2019)
 * giving dim columns of the tower input.  The table's gradient is
 * row-sparse as the id tables' (sparse=true), so a step costs the tokens
 * of the batch.  The buckets of each entity's tokens are kept per entity
 * and saved with the model; a text given at call time is hashed the same
 * way, so an item known only by its title gets a vector.
 *
 * The hash is FNV-1a over the token's bytes with splitmix64's finaliser:
 * fixed, so a model file means the same buckets on every platform. */
#include "twotower-impl.h"
#include "tokenize-impl.h"

#include <stdio.h>
#include <string.h>

static uint32_t bucket_of(const char *tok, size_t len, int32_t buckets)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t k = 0; k < len; k++) {
        h ^= (unsigned char)tok[k];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return (uint32_t)(h % (uint64_t)buckets);
}

typedef struct tokctx {
    int32_t *out, n, max, buckets;
    const int32_t *known;
} tokctx;

static rec_status on_token(void *user, const char *tok, size_t len)
{
    tokctx *c = user;
    if (c->n < c->max) {
        int32_t b = (int32_t)bucket_of(tok, len, c->buckets);
        if (c->known && !c->known[b])
            return REC_OK;
        if (c->out)
            c->out[c->n] = b;
        c->n++;
    }
    return REC_OK;
}

/* As tt_text_codes with scratch of strlen(s) bytes given; out may be NULL
 * (count only). */
static void codes_with(const char *s, size_t len, char *scratch, int32_t buckets, int32_t max,
                       const int32_t *known, int32_t *out, int32_t *n)
{
    tokctx c = { out, 0, max, buckets, known };
    rec_tokenize(s, len, 1, scratch, on_token, &c); /* on_token never fails */
    *n = c.n;
}

rec_status tt_text_codes(const char *s, int32_t buckets, int32_t max, const int32_t *known,
                         int32_t *out, int32_t *n, const char *fn)
{
    size_t len = strlen(s);
    char *scratch = rec_malloc(len + 1);
    if (!scratch)
        return rec_nomem(fn);
    codes_with(s, len, scratch, buckets, max, known, out, n);
    rec_free(scratch, len + 1);
    return REC_OK;
}

static const char *text_at(const rec_field *fd, int64_t e)
{
    return fd && e < fd->rows ? fd->text + fd->toff[e] : "";
}

/* known [vocab]: 1 for a bucket in the texts of at least min trained
 * entities (trained NULL: every entity); tmp holds tlen codes. */
static rec_status count_known(tt_feat *f, const rec_field *fd, int64_t nent,
                              const int32_t *trained, int64_t min, char *scratch, int32_t *tmp)
{
    f->known = rec_calloc((size_t)f->vocab, sizeof *f->known);
    if (!f->known)
        return rec_nomem("rec_model_fit(twotower)");
    for (int64_t e = 0; e < nent; e++) {
        if (trained && !trained[e])
            continue;
        const char *t = text_at(fd, e);
        int32_t c;
        codes_with(t, strlen(t), scratch, f->vocab, f->tlen, NULL, tmp, &c);
        for (int32_t j = 0; j < c; j++) {
            int dup = 0;
            for (int32_t i = 0; i < j && !dup; i++)
                dup = tmp[i] == tmp[j];
            if (!dup && f->known[tmp[j]] < INT32_MAX)
                f->known[tmp[j]]++;
        }
    }
    for (int32_t b = 0; b < f->vocab; b++)
        f->known[b] = f->known[b] >= min;
    return REC_OK;
}

rec_status tt_text_take(tt_feat *f, const rec_field *fd, int64_t nent, const int32_t *trained,
                        int64_t min_items)
{
    static const char fn[] = "rec_model_fit(twotower)";
    size_t cap = 0;
    for (int64_t e = 0; e < nent; e++) {
        size_t len = strlen(text_at(fd, e));
        cap = len > cap ? len : cap;
    }
    size_t tb = ((size_t)f->tlen + 1) * sizeof(int32_t);
    char *scratch = rec_malloc(cap + 1);
    int32_t *tmp = scratch ? rec_malloc(tb) : NULL;
    rec_status st = tmp ? REC_OK : rec_nomem(fn);
    if (!st && min_items > 1)
        st = count_known(f, fd, nent, trained, min_items, scratch, tmp);
    if (!st) {
        f->ptr = rec_malloc(((size_t)nent + 1) * sizeof *f->ptr);
        st = f->ptr ? REC_OK : rec_nomem(fn);
    }
    int32_t c;
    for (int64_t e = 0; !st && e < nent; e++) { /* counts first: val is allocated exactly */
        const char *t = text_at(fd, e);
        if (e == 0)
            f->ptr[0] = 0;
        codes_with(t, strlen(t), scratch, f->vocab, f->tlen, f->known, NULL, &c);
        f->ptr[e + 1] = f->ptr[e] + c;
    }
    if (!st && nent == 0)
        f->ptr[0] = 0;
    if (!st) {
        f->val = rec_malloc(((size_t)f->ptr[nent] + 1) * sizeof *f->val);
        if (!f->val) {
            rec_free(f->ptr, ((size_t)nent + 1) * sizeof *f->ptr);
            f->ptr = NULL;
            st = rec_nomem(fn);
        }
    }
    if (!st) {
        f->nent = nent;
        for (int64_t e = 0; e < nent; e++) {
            const char *t = text_at(fd, e);
            codes_with(t, strlen(t), scratch, f->vocab, f->tlen, f->known, f->val + f->ptr[e], &c);
        }
    }
    rec_free(tmp, tmp ? tb : 0);
    rec_free(scratch, scratch ? cap + 1 : 0);
    return st;
}

static int encoder_of(const rec_model *m)
{
    const char *e = rec_model_str(m, "text_encoder");
    return !strcmp(e, "conv") ? TT_ENC_CONV : !strcmp(e, "transformer") ? TT_ENC_TRANSFORMER
                                                                          : TT_ENC_MEAN;
}

rec_status tt_text_check(const rec_model *m, int dim, const char *fn)
{
    int64_t heads = rec_model_int(m, "text_heads");
    if (encoder_of(m) == TT_ENC_TRANSFORMER && dim % heads)
        return rec_err(REC_E_INVALID, "%s: text_heads = %lld must divide dim = %d", fn,
                       (long long)heads, dim);
    return REC_OK;
}

rec_status tt_text_build(rec_model *m, tt_feat *f, const char *name, int dim, rec_rng *rng)
{
    twotower *s = m->state;
    f->enc = encoder_of(m);
    f->tlen = (int)rec_model_int(m, "text_len");
    f->layers = (int)rec_model_int(m, "text_layers");
    REC_TRY(tt_text_check(m, dim, "rec_model_fit(twotower)"));
    rec_nn_embedding_opts eo = rec_nn_embedding_defaults();
    eo.sparse = rec_model_bool(m, "sparse");
    /* small rows: a bucket no training text reaches stays near zero, so an
     * unseen word at call time adds little noise */
    eo.init = REC_NN_INIT_NORMAL;
    eo.std = 0.1f;
    char n2[REC_NN_NAME_MAX + 16];
    snprintf(n2, sizeof n2, "%s.tok", name);
    int64_t rows = (int64_t)f->vocab + (f->enc == TT_ENC_TRANSFORMER);
    REC_TRY(rec_nn_embedding_init(&f->emb, s->ps, n2, rows, dim, &eo, rng));
    if (f->enc == TT_ENC_CONV) {
        snprintf(n2, sizeof n2, "%s.conv", name);
        return rec_nn_conv1d_init(&f->conv, s->ps, n2, dim, dim, 3, REC_NN_INIT_DEFAULT, rng);
    }
    if (f->enc != TT_ENC_TRANSFORMER)
        return REC_OK;
    snprintf(n2, sizeof n2, "%s.pos", name);
    REC_TRY(rec_nn_position_init(&f->pos, s->ps, n2, f->tlen + 1, dim, 0,
                                 REC_NN_INIT_XAVIER_NORMAL, rng));
    for (int l = 0; l < f->layers; l++) {
        snprintf(n2, sizeof n2, "%s.blk%d", name, l);
        REC_TRY(rec_nn_transformer_init(&f->blk[l], s->ps, n2, dim,
                                        rec_model_int(m, "text_heads"), dim, 0.0f, 1e-6f,
                                        REC_NN_INIT_DEFAULT, rng));
        f->blk[l].causal = 0;
    }
    snprintf(n2, sizeof n2, "%s.ln", name);
    return rec_nn_layernorm_init(&f->ln, s->ps, n2, dim, 1e-6f);
}

/* ids [n, T]: row b holds (with cls >= 0, cls first) entity b's tokens,
 * then -1; keep/len (may be NULL) the positions used and their count. */
static rec_tensor *padded(rec_graph *g, const tt_feat *f, const int32_t *ent, int64_t n,
                          int64_t stride, const tt_uq *q, int k, int64_t T, int32_t cls,
                          rec_tensor **keep, rec_tensor **len)
{
    rec_tensor *ids = rec_tensor_i32(g, n * T);
    rec_tensor *kp = keep ? rec_tensor_i32(g, n * T) : NULL;
    rec_tensor *ln = len ? rec_tensor_i32(g, n) : NULL;
    if (!ids || (keep && !kp) || (len && !ln))
        return NULL;
    for (int64_t b = 0; b < n; b++) {
        const int32_t *c;
        int64_t nc = tt_codes_of(f, ent, stride, q, k, b, &c), at = 0;
        int32_t *row = ids->iv + b * T;
        if (cls >= 0)
            row[at++] = cls;
        for (int64_t j = 0; j < nc && at < T; j++)
            row[at++] = c[j];
        if (kp)
            for (int64_t t = 0; t < T; t++)
                kp->iv[b * T + t] = t < at;
        if (ln)
            ln->iv[b] = (int32_t)at;
        for (; at < T; at++)
            row[at] = -1;
    }
    if (keep)
        *keep = kp;
    if (len)
        *len = ln;
    return ids;
}

rec_tensor *tt_text_forward(rec_graph *g, tt_feat *f, const int32_t *ent, int64_t n,
                            int64_t stride, const tt_uq *q, int k)
{
    int64_t d = f->emb.dim;
    if (f->enc == TT_ENC_MEAN) {
        rec_nn_embedding_bag eb = { f->emb, REC_REDUCE_MEAN };
        return tt_bags_forward(g, f, &eb, ent, n, stride, q, k);
    }
    if (f->enc == TT_ENC_CONV) {
        int64_t T = f->tlen, s3[3] = { n, T, d };
        rec_tensor *ids = padded(g, f, ent, n, stride, q, k, T, -1, NULL, NULL);
        return rec_nn_conv1d_encode(g, &f->conv,
                                    rec_reshape(g, rec_nn_embedding_forward(g, &f->emb, ids),
                                                3, s3));
    }
    int64_t T = f->tlen + 1, s3[3] = { n, T, d }, flat[2] = { n, T * d };
    rec_tensor *keep = NULL, *len = NULL;
    rec_tensor *ids = padded(g, f, ent, n, stride, q, k, T, f->vocab, &keep, &len);
    if (!ids)
        return NULL;
    rec_tensor *x = rec_add(g, rec_reshape(g, rec_nn_embedding_forward(g, &f->emb, ids), 3, s3),
                            rec_reshape(g, rec_nn_position_forward(g, &f->pos, n, T, keep), 3,
                                        s3));
    for (int l = 0; l < f->layers; l++)
        x = rec_nn_transformer_forward(g, &f->blk[l], x, keep, len);
    /* the [CLS] position is the first d columns of each row */
    return rec_nn_layernorm_forward(g, &f->ln, rec_slice_cols(g, rec_reshape(g, x, 2, flat), 0,
                                                              d));
}
