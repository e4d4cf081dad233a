/* Embedding: a table lookup with PyTorch's padding_idx and max_norm, and
 * hashed ids for high-cardinality fields (the hashing trick: the table has
 * a fixed number of buckets and collisions are accepted). */
#include "nn-impl.h"

#include <math.h>

rec_nn_embedding_opts rec_nn_embedding_defaults(void)
{
    rec_nn_embedding_opts o = { -1, 0.0f, 0, 0, 0, REC_NN_INIT_DEFAULT, 1.0f };
    return o;
}

rec_status rec_nn_embedding_init(rec_nn_embedding *e, rec_pstore *ps, const char *prefix,
                                 int64_t num, int64_t dim, const rec_nn_embedding_opts *opts,
                                 rec_rng *rng)
{
    static const char fn[] = "rec_nn_embedding_init";
    REC_CHECK_ARG(e && rng, fn, "layer and rng must not be NULL");
    rec_nn_embedding_opts o = opts ? *opts : rec_nn_embedding_defaults();
    if (o.hash_buckets < 0 || o.hash_buckets > INT32_MAX)
        return rec_err(REC_E_RANGE, "%s: hash_buckets = %lld is outside [0, %d]", fn,
                       (long long)o.hash_buckets, INT32_MAX);
    int64_t rows = o.hash_buckets > 0 ? o.hash_buckets : num;
    if (rows <= 0 || rows > INT32_MAX || dim <= 0)
        return rec_err(REC_E_RANGE, "%s: table [%lld, %lld] must have rows in [1, %d] and "
                       "dim > 0", fn, (long long)rows, (long long)dim, INT32_MAX);
    if (o.padding_idx < -1 || (o.hash_buckets == 0 && o.padding_idx >= rows))
        return rec_err(REC_E_RANGE, "%s: padding_idx = %d is outside [-1, %lld)", fn,
                       (int)o.padding_idx, (long long)rows);
    if (!(o.max_norm >= 0.0f) || !isfinite(o.max_norm))
        return rec_err(REC_E_RANGE, "%s: max_norm = %g must be finite and >= 0", fn,
                       (double)o.max_norm);
    int64_t shape[2] = { rows, dim };
    rec_tensor *w;
    REC_TRY(rec_nn_param(ps, fn, prefix, "weight", 2, shape, o.sparse ? REC_T_SPARSE : 0, &w));
    if (o.init == REC_NN_INIT_DEFAULT)
        rec_init_normal(w, rng, 0.0f, 1.0f);
    else
        rec_nn_init_weight(w, o.init, o.std, rng);
    /* with hashing the padding id never reaches the table (it maps to -1) */
    if (o.padding_idx >= 0 && o.hash_buckets == 0)
        for (int64_t k = 0; k < dim; k++)
            w->v[o.padding_idx * dim + k] = 0.0f;
    *e = (rec_nn_embedding){ w, rows, dim, o.padding_idx, o.max_norm, o.hash_buckets,
                             o.hash_seed };
    return REC_OK;
}

/* splitmix64's finaliser: every input bit moves every output bit. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

int32_t rec_nn_embedding_row(const rec_nn_embedding *e, int64_t id)
{
    if (id < 0 || (e->padding_idx >= 0 && id == e->padding_idx))
        return -1;
    if (e->hash_buckets <= 0)
        return (int32_t)id;
    uint64_t h = mix64((uint64_t)id + 0x9e3779b97f4a7c15ULL * (e->hash_seed + 1));
    return (int32_t)(h % (uint64_t)e->hash_buckets);
}

/* PyTorch's embedding_renorm_: rows with norm > max_norm are scaled by
 * max_norm / (norm + 1e-7).  Idempotent, so repeated ids are harmless. */
static void renorm_rows(rec_nn_embedding *e, const int32_t *rows, int64_t n)
{
    float *w = e->weight->v;
    for (int64_t i = 0; i < n; i++) {
        if (rows[i] < 0)
            continue;
        float *row = w + (int64_t)rows[i] * e->dim;
        double sq = 0;
        for (int64_t k = 0; k < e->dim; k++)
            sq += (double)row[k] * row[k];
        double norm = sqrt(sq);
        if (norm > e->max_norm) {
            float s = (float)(e->max_norm / (norm + 1e-7));
            for (int64_t k = 0; k < e->dim; k++)
                row[k] *= s;
        }
    }
}

rec_tensor *rec_nn_embedding_forward(rec_graph *g, rec_nn_embedding *e, rec_tensor *ids)
{
    static const char fn[] = "rec_nn_embedding_forward";
    if (!g) {
        rec_err(REC_E_INVALID, "%s: graph is NULL", fn);
        return NULL;
    }
    if (rec_graph_status(g))
        return NULL;
    if (!e || !e->weight)
        return rec_graph_fail(g, REC_E_INVALID, "%s: layer is NULL or not initialised", fn);
    if (!ids)
        return rec_graph_fail(g, REC_E_INVALID, "%s: ids is NULL", fn);
    if (ids->dtype != REC_I32)
        return rec_graph_fail(g, REC_E_INVALID, "%s: ids must be I32", fn);
    rec_tensor *rows = ids;
    if (e->hash_buckets > 0) {
        rows = rec_tensor_new(g, REC_I32, ids->nd, ids->shape);
        if (!rows)
            return NULL;
        for (int64_t i = 0; i < ids->n; i++)
            rows->iv[i] = rec_nn_embedding_row(e, ids->iv[i]);
    } else {
        for (int64_t i = 0; i < ids->n; i++)
            if (ids->iv[i] >= e->num)
                return rec_graph_fail(g, REC_E_RANGE, "%s: ids[%lld] = %d is out of range for "
                                      "a table of %lld rows", fn, (long long)i, (int)ids->iv[i],
                                      (long long)e->num);
    }
    if (e->max_norm > 0.0f) {
        if (rows == ids && e->padding_idx >= 0) {
            /* the padding row stays zero: skip it like a negative id */
            rows = rec_tensor_new(g, REC_I32, ids->nd, ids->shape);
            if (!rows)
                return NULL;
            for (int64_t i = 0; i < ids->n; i++)
                rows->iv[i] = rec_nn_embedding_row(e, ids->iv[i]);
        }
        renorm_rows(e, rows->iv, rows->n);
    }
    return rec_gather(g, e->weight, rows, rows == ids ? e->padding_idx : -1);
}
