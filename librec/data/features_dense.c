/* Dense vector fields (REC_FEATURE_DENSE): one vector of vdim floats per
 * entity, as RecBole's float_seq, for precomputed text, image or graph
 * embeddings.  Vectors arrive as pending records (like numbers), become a
 * [rows, vdim] table on first read, and are normalised when read: L2 (each
 * row to unit length; what cosine-trained encoders expect) or z-score per
 * column (statistics over the entities that have a vector). */
#include "data/data-impl.h"

#include <math.h>
#include <string.h>

int rec_field_dense_norm(const char *method)
{
    if (!strcmp(method, "none"))
        return REC_NORM_NONE;
    if (!strcmp(method, "l2"))
        return REC_NORM_L2;
    if (!strcmp(method, "zscore"))
        return REC_NORM_ZSCORE;
    return -1;
}

/* Room for n more vectors of dim floats and n more records, reserved before
 * any is written so that a batch is put whole or not at all. */
static rec_status reserve(rec_field *f, int64_t n, int32_t dim)
{
    size_t need = f->pvlen + (size_t)n * (size_t)dim;
    if (need > f->pvcap) {
        size_t nc = f->pvcap ? f->pvcap : 256;
        while (nc < need)
            nc *= 2;
        float *p = rec_realloc(f->pvec, f->pvcap * sizeof *p, nc * sizeof *p);
        if (!p)
            return REC_E_NOMEM;
        f->pvec = p;
        f->pvcap = nc;
    }
    if (f->np + n > f->pcap) {
        int64_t nc = f->pcap ? f->pcap : 64;
        while (nc < f->np + n)
            nc *= 2;
        int32_t *pe = rec_malloc((size_t)nc * sizeof *pe);
        int64_t *pv = rec_malloc((size_t)nc * sizeof *pv);
        if (!pe || !pv) {
            rec_free(pe, (size_t)nc * sizeof *pe);
            rec_free(pv, (size_t)nc * sizeof *pv);
            return REC_E_NOMEM;
        }
        if (f->np) {
            memcpy(pe, f->pe, (size_t)f->np * sizeof *pe);
            memcpy(pv, f->pv, (size_t)f->np * sizeof *pv);
        }
        rec_free(f->pe, (size_t)f->pcap * sizeof *pe);
        rec_free(f->pv, (size_t)f->pcap * sizeof *pv);
        f->pe = pe;
        f->pv = pv;
        f->pcap = nc;
    }
    return REC_OK;
}

rec_status rec_field_put_vectors(rec_field *f, const int32_t *e, const float *v, int64_t n,
                                 int32_t dim)
{
    if (f->vdim && dim != f->vdim)
        return REC_E_INVALID;
    REC_TRY(reserve(f, n, dim));
    for (int64_t k = 0; k < n; k++) {
        f->pe[f->np] = e[k];
        f->pv[f->np] = (int64_t)f->pvlen;
        memcpy(f->pvec + f->pvlen, v + (size_t)k * (size_t)dim, (size_t)dim * sizeof *v);
        f->pvlen += (size_t)dim;
        f->np++;
    }
    f->vdim = dim;
    f->ready = 0;
    return REC_OK;
}

void rec_field_free_dense(rec_field *f)
{
    size_t vd = (size_t)f->vdim;
    rec_free(f->vec, f->vec ? (size_t)f->rows * vd * sizeof *f->vec + 1 : 0);
    rec_free(f->vmean, f->vmean ? vd * sizeof *f->vmean + 1 : 0);
    rec_free(f->vinv, f->vinv ? vd * sizeof *f->vinv + 1 : 0);
    f->vec = NULL;
    f->vmean = f->vinv = NULL;
}

rec_status rec_field_ready_dense(rec_field *f, int32_t rows)
{
    size_t vd = (size_t)f->vdim, nr = (size_t)rows;
    /* + 1 byte: a field with no vector yet (vdim 0) still owns a block */
    f->vec = rec_malloc(nr * vd * sizeof *f->vec + 1);
    f->vmean = rec_malloc(vd * sizeof *f->vmean + 1);
    f->vinv = rec_malloc(vd * sizeof *f->vinv + 1);
    if (!f->vec || !f->vmean || !f->vinv) {
        f->rows = rows;
        rec_field_free_dense(f);
        return REC_E_NOMEM;
    }
    for (size_t k = 0; k < nr * vd; k++)
        f->vec[k] = NAN;
    for (int64_t p = 0; p < f->np; p++)
        if (f->pe[p] < rows)
            memcpy(f->vec + (size_t)f->pe[p] * vd, f->pvec + f->pv[p], vd * sizeof *f->vec);
    /* Column statistics over the entities with a vector, for z-score. */
    for (size_t j = 0; j < vd; j++) {
        double s = 0, s2 = 0;
        int64_t n = 0;
        for (size_t e = 0; e < nr; e++) {
            double x = f->vec[e * vd + j];
            if (isnan(f->vec[e * vd]))
                continue;
            s += x;
            s2 += x * x;
            n++;
        }
        double mean = n ? s / (double)n : 0, var = n ? s2 / (double)n - mean * mean : 0;
        f->vmean[j] = mean;
        f->vinv[j] = var > 1e-300 ? 1.0 / sqrt(var) : 1.0;
    }
    return REC_OK;
}

int rec_field_vector(const rec_field *f, int32_t e, float *out)
{
    size_t vd = (size_t)f->vdim;
    const float *x = e >= 0 && e < f->rows ? f->vec + (size_t)e * vd : NULL;
    if (!x || !vd || isnan(x[0])) {
        memset(out, 0, vd * sizeof *out);
        return 0;
    }
    rec_field_norm_vector(f, x, out);
    return 1;
}

void rec_field_norm_vector(const rec_field *f, const float *x, float *out)
{
    size_t vd = (size_t)f->vdim;
    if (f->norm == REC_NORM_ZSCORE) {
        for (size_t j = 0; j < vd; j++)
            out[j] = (float)((x[j] - f->vmean[j]) * f->vinv[j]);
    } else if (f->norm == REC_NORM_L2) {
        double s = 0;
        for (size_t j = 0; j < vd; j++)
            s += (double)x[j] * x[j];
        float inv = s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
        for (size_t j = 0; j < vd; j++)
            out[j] = x[j] * inv;
    } else {
        memcpy(out, x, vd * sizeof *out);
    }
}
