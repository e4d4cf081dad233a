/* The one check of a compressed-row structure, for every caller: the arrays a
 * user passes (samplers, filters, spmm) and the ones a model file holds. */
#include "core-impl.h"

rec_status rec_csr_check(int in_file, const char *fn, const char *what, int64_t rows,
                         const int64_t *indptr, int64_t nnz, const int32_t *indices, int64_t lo,
                         int64_t hi)
{
    /* A file's bad arrays are a malformed file; a caller's are a bad argument,
     * or an index out of range, as everywhere else in the API. */
    rec_status st = in_file ? REC_E_FORMAT : REC_E_INVALID;
    rec_status range = in_file ? REC_E_FORMAT : REC_E_RANGE;
    if (indptr[0] != 0)
        return rec_err(st, "%s: %s: indptr[0] = %lld, want 0", fn, what, (long long)indptr[0]);
    for (int64_t r = 0; r < rows; r++)
        if (indptr[r + 1] < indptr[r])
            return rec_err(st, "%s: %s: indptr decreases at row %lld (%lld > %lld)", fn, what,
                           (long long)r, (long long)indptr[r], (long long)indptr[r + 1]);
    if (nnz >= 0 && indptr[rows] != nnz)
        return rec_err(st, "%s: %s: indptr ends at %lld, want nnz = %lld", fn, what,
                       (long long)indptr[rows], (long long)nnz);
    if (!indices)
        return REC_OK;
    for (int64_t k = 0; k < indptr[rows]; k++)
        if (indices[k] < lo || indices[k] >= hi)
            return rec_err(range, "%s: %s: indices[%lld] = %d is outside [%lld, %lld)", fn, what,
                           (long long)k, (int)indices[k], (long long)lo, (long long)hi);
    return REC_OK;
}
