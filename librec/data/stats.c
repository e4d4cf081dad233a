/* A dataset examined before anyone models it (the learning path's "data
 * detective"): sizes and density, how long the tail is, how active users and
 * items are, the ratings and the months, the cold and the duplicated, and the
 * signs of a file read the wrong way.  One pass to count, a few sorts of
 * per-user/per-item counts; everything is computed once at creation and read
 * by key afterwards, so new statistics never change a signature. */
#include "data/data-impl.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The values, in the order rec_dataset_stats_value_at lists them. */
enum {
    V_USERS, V_ITEMS, V_INTERACTIONS, V_PAIRS, V_DENSITY, V_ACTIVE_USERS, V_ACTIVE_ITEMS,
    V_TOP1, V_TOP10, V_TOP20, V_GINI,
    V_USER_Q, /* min, p25, median, p75, p90, p99, max, mean */
    V_ITEM_Q = V_USER_Q + 8,
    V_R_MIN = V_ITEM_Q + 8, V_R_MAX, V_R_MEAN, V_R_VALUES,
    V_T_FIRST, V_T_LAST, V_T_DAYS, V_MONTHS,
    V_COLD_T, V_COLD_USERS, V_COLD_ITEMS, V_DUP_PAIRS, V_DUP_ROWS,
    NVAL
};

static const char *const value_names[NVAL] = {
    "users", "items", "interactions", "pairs", "density", "active_users", "active_items",
    "top1_share", "top10_share", "top20_share", "gini",
    "user_min", "user_p25", "user_median", "user_p75", "user_p90", "user_p99", "user_max",
    "user_mean",
    "item_min", "item_p25", "item_median", "item_p75", "item_p90", "item_p99", "item_max",
    "item_mean",
    "rating_min", "rating_max", "rating_mean", "rating_values",
    "time_first", "time_last", "time_span_days", "months",
    "cold_threshold", "cold_users", "cold_items", "duplicate_pairs", "duplicate_rows",
};

enum { S_LONG_TAIL, S_USER_ACTIVITY, S_ITEM_ACTIVITY, S_RATINGS, S_MONTHS, NSER };
static const char *const series_names[NSER] = {
    "long_tail", "user_activity", "item_activity", "ratings", "months",
};

struct rec_dataset_stats {
    double v[NVAL];
    double *x[NSER], *y[NSER];
    size_t n[NSER];
    char *warn;
    size_t wlen, wcap;
};

static const rec_param_spec stats_spec[] = {
    { "cold", REC_PARAM_INT, "5", 1, 1e9, NULL,
      "users and items with fewer interactions than this count as cold" },
};
#define NSPEC (sizeof stats_spec / sizeof *stats_spec)

REC_API void rec_dataset_stats_destroy(rec_dataset_stats *s)
{
    if (!s)
        return;
    for (int k = 0; k < NSER; k++) {
        rec_free(s->x[k], s->n[k] * sizeof(double));
        rec_free(s->y[k], s->n[k] * sizeof(double));
    }
    rec_free(s->warn, s->wcap);
    rec_free(s, sizeof *s);
}

static rec_status series_alloc(rec_dataset_stats *s, int k, size_t n)
{
    s->n[k] = n;
    if (!n)
        return REC_OK;
    s->x[k] = rec_calloc(n, sizeof(double));
    s->y[k] = rec_calloc(n, sizeof(double));
    return s->x[k] && s->y[k] ? REC_OK : REC_E_NOMEM;
}

static rec_status warn(rec_dataset_stats *s, const char *fmt, ...) REC_PRINTF(2, 3);
static rec_status warn(rec_dataset_stats *s, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    if (s->wlen + len + 2 > s->wcap) {
        size_t cap = (s->wlen + len + 2) * 2;
        char *w = rec_realloc(s->warn, s->wcap, cap);
        if (!w)
            return REC_E_NOMEM;
        s->warn = w;
        s->wcap = cap;
    }
    memcpy(s->warn + s->wlen, line, len);
    s->wlen += len;
    s->warn[s->wlen++] = '\n';
    s->warn[s->wlen] = 0;
    return REC_OK;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_f(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Quantile q of sorted c[0..n) by linear interpolation between order
 * statistics (NumPy's default, R's type 7), so hand checks are easy. */
static double quantile(const int64_t *c, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)pos;
    if (lo + 1 >= n)
        return (double)c[n - 1];
    return (double)c[lo] + (pos - (double)lo) * (double)(c[lo + 1] - c[lo]);
}

/* min, p25, median, p75, p90, p99, max, mean of the counts c[0..n) (sorted
 * here), and the activity histogram over doubling bins [1,2), [2,4), [4,8)...
 * (entities with no interaction are left out of the histogram). */
static rec_status activity(rec_dataset_stats *s, int64_t *c, size_t n, int64_t total, double *q,
                           int ser)
{
    for (int k = 0; k < 8; k++)
        q[k] = NAN;
    if (!n)
        return REC_OK;
    qsort(c, n, sizeof *c, cmp_i64);
    static const double at[] = { 0, 0.25, 0.5, 0.75, 0.9, 0.99, 1 };
    for (int k = 0; k < 7; k++)
        q[k] = quantile(c, n, at[k]);
    q[7] = (double)total / (double)n;
    if (c[n - 1] < 1)
        return REC_OK;
    size_t bins = 1;
    while ((INT64_C(1) << bins) <= c[n - 1])
        bins++;
    REC_TRY(series_alloc(s, ser, bins));
    for (size_t b = 0; b < bins; b++)
        s->x[ser][b] = (double)(INT64_C(1) << b);
    for (size_t j = 0; j < n; j++) {
        if (c[j] < 1)
            continue;
        size_t b = 0;
        while ((INT64_C(1) << (b + 1)) <= c[j])
            b++;
        s->y[ser][b] += 1;
    }
    return REC_OK;
}

/* Share of interactions held by the top ceil(p * items) items (at least
 * one), with c sorted ascending. */
static double top_share(const int64_t *c, size_t n, int64_t total, double p)
{
    size_t k = (size_t)ceil(p * (double)n - 1e-9);
    k = k < 1 ? 1 : k > n ? n : k;
    int64_t held = 0;
    for (size_t j = n - k; j < n; j++)
        held += c[j];
    return (double)held / (double)total;
}

/* The item popularity view: top shares, Gini, and the long-tail curve
 * (x = share of the catalogue, most popular first; y = share of the
 * interactions those items hold) at up to 101 points. c sorted ascending. */
static rec_status long_tail(rec_dataset_stats *s, const int64_t *c, size_t n, int64_t total)
{
    s->v[V_TOP1] = s->v[V_TOP10] = s->v[V_TOP20] = s->v[V_GINI] = NAN;
    if (!n || total <= 0)
        return REC_OK;
    s->v[V_TOP1] = top_share(c, n, total, 0.01);
    s->v[V_TOP10] = top_share(c, n, total, 0.10);
    s->v[V_TOP20] = top_share(c, n, total, 0.20);
    /* Gini of the counts, ascending, 1-based rank i:
     * G = sum_i (2i - n - 1) c_i / (n sum_i c_i); 0 when every item is as
     * popular, (n-1)/n when one item holds everything. */
    double g = 0;
    for (size_t j = 0; j < n; j++)
        g += (2.0 * (double)(j + 1) - (double)n - 1) * (double)c[j];
    s->v[V_GINI] = g / ((double)n * (double)total);
    size_t pts = (n < 100 ? n : 100) + 1;
    REC_TRY(series_alloc(s, S_LONG_TAIL, pts));
    int64_t held = 0;
    size_t taken = 0;
    for (size_t j = 0; j < pts; j++) {
        size_t k = (size_t)llround((double)j * (double)n / (double)(pts - 1));
        for (; taken < k; taken++)
            held += c[n - 1 - taken];
        s->x[S_LONG_TAIL][j] = (double)k / (double)n;
        s->y[S_LONG_TAIL][j] = (double)held / (double)total;
    }
    return REC_OK;
}

static rec_status ratings(rec_dataset_stats *s, const float *r, int64_t n)
{
    s->v[V_R_MIN] = s->v[V_R_MAX] = s->v[V_R_MEAN] = s->v[V_R_VALUES] = NAN;
    if (!r || !n)
        return REC_OK;
    float *v = rec_malloc((size_t)n * sizeof *v);
    if (!v)
        return REC_E_NOMEM;
    memcpy(v, r, (size_t)n * sizeof *v);
    qsort(v, (size_t)n, sizeof *v, cmp_f);
    double sum = 0;
    size_t distinct = 0;
    for (int64_t k = 0; k < n; k++) {
        sum += v[k];
        distinct += k == 0 || v[k] != v[k - 1];
    }
    s->v[V_R_MIN] = v[0];
    s->v[V_R_MAX] = v[n - 1];
    s->v[V_R_MEAN] = sum / (double)n;
    s->v[V_R_VALUES] = (double)distinct;
    /* One bar per value for a rating scale; 20 equal bins (x = left edge)
     * for anything with more values, such as a misread column. */
    rec_status st;
    if (distinct <= 64) {
        st = series_alloc(s, S_RATINGS, distinct);
        for (int64_t k = 0, b = -1; !st && k < n; k++) {
            if (k == 0 || v[k] != v[k - 1])
                s->x[S_RATINGS][++b] = v[k];
            s->y[S_RATINGS][b] += 1;
        }
    } else {
        double lo = v[0], w = ((double)v[n - 1] - lo) / 20;
        st = series_alloc(s, S_RATINGS, 20);
        for (int b = 0; !st && b < 20; b++)
            s->x[S_RATINGS][b] = lo + b * w;
        for (int64_t k = 0; !st && k < n; k++) {
            int b = (int)(((double)v[k] - lo) / w);
            s->y[S_RATINGS][b > 19 ? 19 : b] += 1;
        }
    }
    rec_free(v, (size_t)n * sizeof *v);
    return st;
}

/* year * 12 + (month - 1) of a Unix time, UTC (Howard Hinnant's
 * civil_from_days: exact, and no gmtime call per row). */
static int64_t month_of(int64_t t)
{
    int64_t z = (t >= 0 ? t / 86400 : (t - 86399) / 86400) + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    return y * 12 + (m - 1);
}

/* Unix time, as rec_dataset_summary judges it: 1973 (1e8 s) to 9999. */
static int unix_time(int64_t lo, int64_t hi)
{
    return lo >= 0 && hi >= 100000000 && hi <= INT64_C(253402300799);
}

static rec_status times(rec_dataset_stats *s, const rec_dataset *d)
{
    const int64_t *t = rec_ds_times_col(d);
    s->v[V_T_FIRST] = s->v[V_T_LAST] = s->v[V_T_DAYS] = s->v[V_MONTHS] = NAN;
    if (!t || !d->n || d->src_synth_time)
        return REC_OK;
    int64_t lo = t[0], hi = t[0];
    for (int64_t k = 1; k < d->n; k++) {
        lo = t[k] < lo ? t[k] : lo;
        hi = t[k] > hi ? t[k] : hi;
    }
    s->v[V_T_FIRST] = (double)lo;
    s->v[V_T_LAST] = (double)hi;
    if (!unix_time(lo, hi))
        return REC_OK;
    s->v[V_T_DAYS] = (double)(hi - lo) / 86400;
    /* Every calendar month from the first to the last, empty ones too (a
     * gap in the data is worth seeing); x = year + (month - 1) / 12. */
    int64_t m0 = month_of(lo), months = month_of(hi) - m0 + 1;
    REC_TRY(series_alloc(s, S_MONTHS, (size_t)months));
    for (int64_t m = 0; m < months; m++)
        s->x[S_MONTHS][m] = (double)(m0 + m) / 12;
    for (int64_t k = 0; k < d->n; k++)
        s->y[S_MONTHS][month_of(t[k]) - m0] += 1;
    int64_t active = 0;
    for (int64_t m = 0; m < months; m++)
        active += s->y[S_MONTHS][m] > 0;
    s->v[V_MONTHS] = (double)active;
    return REC_OK;
}

static int is_number(const char *id)
{
    char *end;
    strtod(id, &end);
    return *id && !*end;
}

/* A header line read as data leaves one id that is not a number, and it is
 * the first one (index 0), among ids that all are. */
static rec_status header_as_id(rec_dataset_stats *s, const rec_idmap *m, const char *side)
{
    if (m->n < 3 || is_number(rec_idmap_name(m, 0)))
        return REC_OK;
    for (int32_t k = 1; k < m->n; k++)
        if (!is_number(rec_idmap_name(m, k)))
            return REC_OK;
    return warn(s, "the first %s id '%s' is the only one that is not a number: is it a header "
                "line read as data? (--header yes)", side, rec_idmap_name(m, 0));
}

static rec_status misread(rec_dataset_stats *s, const rec_dataset *d)
{
    const double *v = s->v;
    /* Ratings all past 1e8 look like seconds since 1970 (1973 onward). */
    if (s->n[S_RATINGS] && v[V_R_MIN] >= 1e8)
        REC_TRY(warn(s, "the ratings look like Unix times (%.0f to %.0f): is the timestamp "
                     "column read as the rating? (--columns)", v[V_R_MIN], v[V_R_MAX]));
    REC_TRY(header_as_id(s, d->users, "user"));
    REC_TRY(header_as_id(s, d->items, "item"));
    if (d->n >= 2 && v[V_ITEM_Q + 6] == 1 && v[V_ACTIVE_ITEMS] == (double)d->items->n)
        REC_TRY(warn(s, "every item occurs once (%d items): is the item column a row id or a "
                     "timestamp? (--columns)", (int)d->items->n));
    if (d->n >= 2 && v[V_USER_Q + 6] == 1 && v[V_ACTIVE_USERS] == (double)d->users->n)
        REC_TRY(warn(s, "every user occurs once (%d users): is the user column a row id, or "
                     "are these anonymous sessions? (--columns)", (int)d->users->n));
    return REC_OK;
}

static rec_status compute(rec_dataset_stats *s, const rec_dataset *d, int64_t cold)
{
    size_t nu = (size_t)d->users->n, ni = (size_t)d->items->n, n = (size_t)d->n;
    double *v = s->v;
    v[V_USERS] = (double)nu;
    v[V_ITEMS] = (double)ni;
    v[V_INTERACTIONS] = (double)n;
    v[V_COLD_T] = (double)cold;
    int64_t *uc = rec_calloc(nu ? nu : 1, sizeof *uc), *ic = rec_calloc(ni ? ni : 1, sizeof *ic);
    uint64_t *pair = rec_malloc((n ? n : 1) * sizeof *pair);
    rec_status st = uc && ic && pair ? REC_OK : REC_E_NOMEM;
    if (!st) {
        for (size_t k = 0; k < n; k++) {
            uc[d->u[k]]++;
            ic[d->i[k]]++;
            pair[k] = (uint64_t)(uint32_t)d->u[k] << 32 | (uint32_t)d->i[k];
        }
        /* Duplicates: pairs seen more than once, and the rows past the first. */
        qsort(pair, n, sizeof *pair, cmp_u64);
        size_t pairs = 0, dup_pairs = 0;
        for (size_t k = 0; k < n; k++) {
            pairs += k == 0 || pair[k] != pair[k - 1];
            dup_pairs += k > 0 && pair[k] == pair[k - 1] && (k < 2 || pair[k - 1] != pair[k - 2]);
        }
        v[V_PAIRS] = (double)pairs;
        v[V_DUP_PAIRS] = (double)dup_pairs;
        v[V_DUP_ROWS] = (double)(n - pairs);
        v[V_DENSITY] = nu && ni ? (double)pairs / ((double)nu * (double)ni) : NAN;
        size_t au = 0, ai = 0, cu = 0, ci = 0;
        for (size_t k = 0; k < nu; k++) {
            au += uc[k] > 0;
            cu += uc[k] < cold;
        }
        for (size_t k = 0; k < ni; k++) {
            ai += ic[k] > 0;
            ci += ic[k] < cold;
        }
        v[V_ACTIVE_USERS] = (double)au;
        v[V_ACTIVE_ITEMS] = (double)ai;
        v[V_COLD_USERS] = (double)cu;
        v[V_COLD_ITEMS] = (double)ci;
        st = activity(s, uc, nu, (int64_t)n, v + V_USER_Q, S_USER_ACTIVITY);
    }
    if (!st)
        st = activity(s, ic, ni, (int64_t)n, v + V_ITEM_Q, S_ITEM_ACTIVITY);
    if (!st)
        st = long_tail(s, ic, ni, (int64_t)n);
    if (!st)
        st = ratings(s, rec_ds_ratings_col(d), d->n);
    if (!st)
        st = times(s, d);
    if (!st)
        st = misread(s, d);
    rec_free(uc, (nu ? nu : 1) * sizeof *uc);
    rec_free(ic, (ni ? ni : 1) * sizeof *ic);
    rec_free(pair, (n ? n : 1) * sizeof *pair);
    return st;
}

REC_API rec_status rec_dataset_stats_compute(rec_dataset_stats **out, const rec_dataset *d,
                                             const rec_params *opts)
{
    static const char fn[] = "rec_dataset_stats_compute";
    REC_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    REC_CHECK_ARG(d, fn, "dataset is NULL");
    REC_TRY(rec_params_check(opts, stats_spec, NSPEC, fn));
    rec_dataset_stats *s = rec_calloc(1, sizeof *s);
    if (!s)
        return rec_err(REC_E_NOMEM, "%s: out of memory", fn);
    rec_status st = compute(s, d, rec_params_int(opts, stats_spec, NSPEC, "cold"));
    if (st) {
        rec_dataset_stats_destroy(s);
        return rec_err(st, "%s: out of memory", fn);
    }
    *out = s;
    return REC_OK;
}

REC_API rec_status rec_dataset_stats_value_at(const rec_dataset_stats *s, size_t i,
                                              const char **key, double *value)
{
    static const char fn[] = "rec_dataset_stats_value_at";
    REC_CHECK_ARG(s, fn, "stats is NULL");
    if (i >= NVAL)
        return rec_err(REC_E_RANGE, "%s: index %zu past the last value (%d)", fn, i, NVAL - 1);
    if (key)
        *key = value_names[i];
    if (value)
        *value = s->v[i];
    return REC_OK;
}

REC_API rec_status rec_dataset_stats_get(const rec_dataset_stats *s, const char *key,
                                         double *value)
{
    static const char fn[] = "rec_dataset_stats_get";
    REC_CHECK_ARG(s, fn, "stats is NULL");
    REC_CHECK_ARG(key, fn, "key is NULL");
    REC_CHECK_ARG(value, fn, "value is NULL");
    for (int k = 0; k < NVAL; k++)
        if (!strcmp(key, value_names[k])) {
            *value = s->v[k];
            return REC_OK;
        }
    return rec_err(REC_E_NOTFOUND, "%s: no value named '%s'", fn, key);
}

REC_API rec_status rec_dataset_stats_series_at(const rec_dataset_stats *s, size_t i,
                                               const char **key, const double **x,
                                               const double **y, size_t *n)
{
    static const char fn[] = "rec_dataset_stats_series_at";
    REC_CHECK_ARG(s, fn, "stats is NULL");
    if (i >= NSER)
        return rec_err(REC_E_RANGE, "%s: index %zu past the last series (%d)", fn, i, NSER - 1);
    if (key)
        *key = series_names[i];
    if (x)
        *x = s->x[i];
    if (y)
        *y = s->y[i];
    if (n)
        *n = s->n[i];
    return REC_OK;
}

REC_API rec_status rec_dataset_stats_warnings(const rec_dataset_stats *s, const char **text)
{
    REC_CHECK_ARG(s, "rec_dataset_stats_warnings", "stats is NULL");
    REC_CHECK_ARG(text, "rec_dataset_stats_warnings", "text is NULL");
    *text = s->warn ? s->warn : "";
    return REC_OK;
}
