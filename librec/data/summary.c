/* What a dataset holds, in one line a person can check at a glance after a
 * load ("is that my data, read the way I meant?"), and the load's warnings. */
#include "data/data-impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

typedef struct out {
    char *buf;
    size_t size, len; /* len may pass size: then the line was cut */
} out;

static void put(out *o, const char *fmt, ...) REC_PRINTF(2, 3);
static void put(out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->len < o->size ? o->size - o->len : 0;
    int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

/* "YYYY-MM-DD" of Unix time t (UTC). */
static void day(int64_t t, char b[16])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm))
        strftime(b, 16, "%Y-%m-%d", &tm);
    else
        snprintf(b, 16, "?");
}

REC_API rec_status rec_dataset_summary(const rec_dataset *d, char *buf, size_t size)
{
    static const char fn[] = "rec_dataset_summary";
    REC_CHECK_ARG(d, fn, "dataset is NULL");
    REC_CHECK_ARG(buf && size, fn, "buf is NULL or size is 0");
    out o = { buf, size, 0 };
    buf[0] = 0;
    put(&o, "%d users, %d items, %lld interactions", (int)d->users->n, (int)d->items->n,
        (long long)d->n);
    const float *r = rec_ds_ratings_col(d);
    const int64_t *t = rec_ds_times_col(d);
    if (r && d->n) {
        float lo = r[0], hi = r[0];
        for (int64_t k = 1; k < d->n; k++) {
            lo = r[k] < lo ? r[k] : lo;
            hi = r[k] > hi ? r[k] : hi;
        }
        put(&o, ", ratings %g to %g", (double)lo, (double)hi);
    } else {
        put(&o, ", no ratings");
    }
    if (t && d->n && d->src_synth_time) {
        put(&o, ", timestamps: file order");
    } else if (t && d->n) {
        int64_t lo = t[0], hi = t[0];
        for (int64_t k = 1; k < d->n; k++) {
            lo = t[k] < lo ? t[k] : lo;
            hi = t[k] > hi ? t[k] : hi;
        }
        put(&o, ", timestamps %lld to %lld", (long long)lo, (long long)hi);
        /* Seconds since 1970 (1e8 s is 1973; 253402300799 the end of 9999). */
        if (lo >= 0 && hi >= 100000000 && hi <= INT64_C(253402300799)) {
            char a[16], b[16];
            day(lo, a);
            day(hi, b);
            put(&o, " (%s to %s)", a, b);
        }
    } else {
        put(&o, ", no timestamps");
    }
    if (d->src_format)
        put(&o, ", format %s (%s)", d->src_format, d->src_detected ? "detected" : "named");
    if (d->src_header >= 0)
        put(&o, ", %s", d->src_header ? "header skipped" : "no header");
    if (o.len >= size)
        return rec_err(REC_E_RANGE, "%s: the line needs %zu bytes, size is %zu", fn, o.len + 1,
                       size);
    return REC_OK;
}

REC_API rec_status rec_dataset_warnings(const rec_dataset *d, const char **text)
{
    REC_CHECK_ARG(d, "rec_dataset_warnings", "dataset is NULL");
    REC_CHECK_ARG(text, "rec_dataset_warnings", "text is NULL");
    *text = d->warn ? d->warn : "";
    return REC_OK;
}
