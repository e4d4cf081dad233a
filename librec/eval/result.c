/* The evaluation result: named values, their spread over folds, and the
 * merge of several folds into means and standard deviations. */
#include "eval-impl.h"

#include <math.h>
#include <string.h>
#include <strings.h>

rec_status rec_eval_result_new(const rec_metric *m, size_t n, rec_eval_result **out,
                               const char *fn)
{
    *out = NULL;
    rec_eval_result *r = rec_calloc(1, sizeof *r);
    if (!r)
        return rec_nomem(fn);
    r->m = rec_malloc(n * sizeof *r->m);
    r->value = rec_calloc(n, sizeof *r->value);
    r->std = rec_calloc(n, sizeof *r->std);
    r->n = n;
    r->folds = 1;
    if (!r->m || !r->value || !r->std) {
        rec_eval_result_destroy(r);
        return rec_nomem(fn);
    }
    memcpy(r->m, m, n * sizeof *r->m);
    *out = r;
    return REC_OK;
}

REC_API void rec_eval_result_destroy(rec_eval_result *r)
{
    if (!r)
        return;
    rec_free(r->m, r->n * sizeof *r->m);
    rec_free(r->value, r->n * sizeof *r->value);
    rec_free(r->std, r->n * sizeof *r->std);
    rec_free(r->uidx, (r->nu + 1) * sizeof *r->uidx);
    rec_free(r->usum, (r->nu * r->n + 1) * sizeof *r->usum);
    rec_free(r->ucnt, (r->nu * r->n + 1) * sizeof *r->ucnt);
    rec_free(r, sizeof *r);
}

REC_API rec_status rec_eval_result_count(const rec_eval_result *r, size_t *n)
{
    REC_CHECK_ARG(r, "rec_eval_result_count", "result is NULL");
    REC_CHECK_ARG(n, "rec_eval_result_count", "n is NULL");
    *n = r->n;
    return REC_OK;
}

REC_API rec_status rec_eval_result_metric(const rec_eval_result *r, size_t i, const char **name,
                                          double *value, double *std)
{
    REC_CHECK_ARG(r, "rec_eval_result_metric", "result is NULL");
    if (i >= r->n)
        return rec_err(REC_E_RANGE, "rec_eval_result_metric: i = %zu, the result has %zu metrics",
                       i, r->n);
    if (name)
        *name = r->m[i].name;
    if (value)
        *value = r->value[i];
    if (std)
        *std = r->std[i];
    return REC_OK;
}

REC_API rec_status rec_eval_result_get(const rec_eval_result *r, const char *name, double *value)
{
    REC_CHECK_ARG(r, "rec_eval_result_get", "result is NULL");
    REC_CHECK_ARG(name, "rec_eval_result_get", "name is NULL");
    REC_CHECK_ARG(value, "rec_eval_result_get", "value is NULL");
    for (size_t i = 0; i < r->n; i++)
        if (strcasecmp(r->m[i].name, name) == 0) {
            *value = r->value[i];
            return REC_OK;
        }
    return rec_err(REC_E_NOTFOUND, "rec_eval_result_get: no metric '%s' in the result", name);
}

REC_API rec_status rec_eval_result_support(const rec_eval_result *r, int64_t *users,
                                           int64_t *rows, int *folds)
{
    REC_CHECK_ARG(r, "rec_eval_result_support", "result is NULL");
    if (users)
        *users = r->users;
    if (rows)
        *rows = r->rows;
    if (folds)
        *folds = r->folds;
    return REC_OK;
}

REC_API rec_status rec_eval_result_merge(const rec_eval_result *const *parts, size_t n,
                                         rec_eval_result **out)
{
    static const char fn[] = "rec_eval_result_merge";
    REC_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    REC_CHECK_ARG(parts, fn, "parts is NULL");
    REC_CHECK_ARG(n > 0, fn, "n is 0");
    if (n > INT32_MAX)
        return rec_err(REC_E_INVALID, "%s: n = %zu is too large", fn, n);
    for (size_t p = 0; p < n; p++) {
        if (!parts[p])
            return rec_err(REC_E_INVALID, "%s: parts[%zu] is NULL", fn, p);
        if (parts[p]->folds != 1)
            return rec_err(REC_E_INVALID, "%s: parts[%zu] is itself a merged result", fn, p);
        if (parts[p]->n != parts[0]->n)
            return rec_err(REC_E_INVALID, "%s: parts[%zu] has %zu metrics, parts[0] has %zu", fn,
                           p, parts[p]->n, parts[0]->n);
        for (size_t i = 0; i < parts[0]->n; i++)
            if (strcmp(parts[p]->m[i].name, parts[0]->m[i].name) != 0)
                return rec_err(REC_E_INVALID, "%s: parts[%zu] has '%s' where parts[0] has '%s'",
                               fn, p, parts[p]->m[i].name, parts[0]->m[i].name);
    }
    rec_eval_result *r;
    REC_TRY(rec_eval_result_new(parts[0]->m, parts[0]->n, &r, fn));
    r->folds = (int)n;
    for (size_t p = 0; p < n; p++) {
        r->users += parts[p]->users;
        r->rows += parts[p]->rows;
    }
    for (size_t i = 0; i < r->n; i++) {
        double s = 0, ss = 0;
        size_t c = 0;
        for (size_t p = 0; p < n; p++)
            if (!isnan(parts[p]->value[i]))
                s += parts[p]->value[i], c++;
        double mean = c ? s / (double)c : NAN;
        for (size_t p = 0; p < n; p++)
            if (!isnan(parts[p]->value[i]))
                ss += (parts[p]->value[i] - mean) * (parts[p]->value[i] - mean);
        r->value[i] = mean;
        r->std[i] = c ? sqrt(ss / (double)c) : NAN;
    }
    *out = r;
    return REC_OK;
}

REC_API rec_status rec_eval_result_user_parts(const rec_eval_result *r, size_t i,
                                              const int32_t **users, const double **sums,
                                              const int64_t **counts, size_t *n)
{
    static const char fn[] = "rec_eval_result_user_parts";
    REC_CHECK_ARG(r, fn, "result is NULL");
    if (i >= r->n)
        return rec_err(REC_E_RANGE, "%s: i = %zu, the result has %zu metrics", fn, i, r->n);
    if (!r->kept)
        return rec_err(REC_E_STATE, "%s: the result keeps no per-user parts (made by "
                       "rec_evaluate or a merge, not rec_evaluate_per_user)", fn);
    if (users)
        *users = r->uidx;
    if (sums)
        *sums = r->usum ? r->usum + r->nu * i : NULL;
    if (counts)
        *counts = r->ucnt ? r->ucnt + r->nu * i : NULL;
    if (n)
        *n = r->nu;
    return REC_OK;
}
