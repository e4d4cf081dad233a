/* Reading delimited text: the whole file in one buffer, records split in
 * place (fields are NUL-terminated inside the buffer, CSV quotes unescaped
 * in place), so a load makes no allocation per line or field. */
#include "data/data-impl.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 if all of s[0..n) is well-formed UTF-8. */
static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t k = 0;
    while (k < n) {
        unsigned char c = s[k];
        if (c < 0x80) {
            k++;
            continue;
        }
        int extra = (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : -1;
        if (extra < 0 || c == 0xc0 || c == 0xc1 || c > 0xf4 || k + (size_t)extra >= n)
            return 0;
        for (int j = 1; j <= extra; j++)
            if ((s[k + (size_t)j] & 0xc0) != 0x80)
                return 0;
        k += (size_t)extra + 1;
    }
    return 1;
}

rec_status rec_text_open(rec_text *t, const char *path, const char *fn)
{
    memset(t, 0, sizeof *t);
    t->fn = fn;
    t->path = path;
    t->line = 1;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return rec_err(REC_E_IO, "%s: cannot open '%s': %s", fn, path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = rec_malloc(cap);
    if (!buf) {
        fclose(fp);
        return rec_nomem(fn);
    }
    for (;;) {
        if (len + 1 >= cap) {
            char *nb = rec_realloc(buf, cap, cap * 2);
            if (!nb) {
                rec_free(buf, cap);
                fclose(fp);
                return rec_nomem(fn);
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, fp);
        len += got;
        if (got == 0)
            break;
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        rec_free(buf, cap);
        return rec_err(REC_E_IO, "%s: cannot read '%s'", fn, path);
    }
    buf[len] = 0;
    if (!utf8_valid((const unsigned char *)buf, len)) {
        /* Latin-1: each byte >= 0x80 becomes two bytes. */
        size_t extra = 0;
        for (size_t k = 0; k < len; k++)
            extra += (unsigned char)buf[k] >= 0x80;
        size_t ncap = len + extra + 1;
        char *nb = rec_malloc(ncap);
        if (!nb) {
            rec_free(buf, cap);
            return rec_nomem(fn);
        }
        size_t o = 0;
        for (size_t k = 0; k < len; k++) {
            unsigned char c = (unsigned char)buf[k];
            if (c < 0x80) {
                nb[o++] = (char)c;
            } else {
                nb[o++] = (char)(0xc0 | (c >> 6));
                nb[o++] = (char)(0x80 | (c & 0x3f));
            }
        }
        nb[o] = 0;
        rec_free(buf, cap);
        buf = nb;
        cap = ncap;
        len = o;
    }
    /* A UTF-8 byte order mark is not part of the first field. */
    if (len >= 3 && (unsigned char)buf[0] == 0xef && (unsigned char)buf[1] == 0xbb &&
        (unsigned char)buf[2] == 0xbf)
        t->pos = 3;
    t->buf = buf;
    t->len = len;
    t->cap = cap;
    return REC_OK;
}

void rec_text_close(rec_text *t)
{
    if (t->buf)
        rec_free(t->buf, t->cap);
    t->buf = NULL;
}

rec_status rec_text_error(const rec_text *t, long line, size_t col, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rec_err(REC_E_FORMAT, "%s: %s: line %ld, column %zu: %s", t->fn, t->path, line, col,
                   msg);
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

int rec_text_record(rec_text *t, const char *delim, int quote, rec_tok *f, int maxf, int *nf,
                    long *line)
{
    char *b = t->buf;
    size_t p = t->pos;
    /* Skip blank lines (and lines of only blanks). */
    for (;;) {
        size_t q = p;
        while (q < t->len && (is_blank(b[q]) || b[q] == '\r'))
            q++;
        if (q < t->len && b[q] == '\n') {
            p = q + 1;
            t->line++;
            continue;
        }
        if (q >= t->len) {
            t->pos = t->len;
            *nf = 0;
            return 0;
        }
        break;
    }
    size_t dlen = delim ? strlen(delim) : 0;
    long rec_line = t->line;
    size_t line_start = p;
    int n = 0;
    *line = rec_line;
    for (;;) {
        if (!delim)
            while (p < t->len && is_blank(b[p]))
                p++;
        if (n == maxf)
            return rec_text_error(t, rec_line, p - line_start + 1, "more than %d columns", maxf);
        rec_tok *tk = &f[n++];
        tk->col = p - line_start + 1;
        tk->quoted = 0;
        if (quote && b[p] == '"') {
            /* Quoted field: unescape "" in place; it may span lines. */
            tk->quoted = 1;
            size_t w = p, r = p + 1;
            tk->s = b + p;
            for (;;) {
                if (r >= t->len)
                    return rec_text_error(t, rec_line, tk->col, "unterminated quote");
                if (b[r] == '"') {
                    if (r + 1 < t->len && b[r + 1] == '"') {
                        b[w++] = '"';
                        r += 2;
                        continue;
                    }
                    r++;
                    break;
                }
                if (b[r] == '\n')
                    t->line++;
                b[w++] = b[r++];
            }
            tk->len = w - p;
            if (memchr(tk->s, 0, tk->len))
                return rec_text_error(t, rec_line, tk->col, "NUL byte inside a field");
            /* Only blanks may follow the closing quote before the delimiter. */
            while (r < t->len && is_blank(b[r]) && !(delim && dlen == 1 && b[r] == delim[0]))
                r++;
            p = r;
            int at_end = p >= t->len || b[p] == '\n' || b[p] == '\r';
            int at_delim = !at_end && (delim ? strncmp(b + p, delim, dlen) == 0 : is_blank(b[p]));
            if (!at_end && !at_delim)
                return rec_text_error(t, t->line, p - line_start + 1,
                                      "unexpected character after closing quote");
            b[w] = 0;
            if (at_delim) {
                p += delim ? dlen : 0;
                continue;
            }
        } else {
            size_t s = p;
            if (delim && dlen == 1) {
                char d = delim[0];
                while (p < t->len && b[p] != d && b[p] != '\n')
                    p++;
            } else if (delim) {
                while (p < t->len && b[p] != '\n' && strncmp(b + p, delim, dlen) != 0)
                    p++;
            } else {
                while (p < t->len && b[p] != '\n' && !is_blank(b[p]))
                    p++;
            }
            size_t e = p;
            if (e > s && b[e - 1] == '\r' && (p >= t->len || b[p] == '\n'))
                e--;
            tk->s = b + s;
            tk->len = e - s;
            const char *nul = memchr(tk->s, 0, tk->len);
            if (nul)
                return rec_text_error(t, rec_line, tk->col + (size_t)(nul - tk->s),
                                      "NUL byte inside a field");
            int at_delim = p < t->len && b[p] != '\n';
            if (!delim && at_delim) {
                /* Trailing blanks at the end of a line are not a field. */
                size_t q = p;
                while (q < t->len && (is_blank(b[q]) || b[q] == '\r'))
                    q++;
                if (q >= t->len || b[q] == '\n') {
                    b[e] = 0;
                    p = q;
                    goto end_line;
                }
            }
            if (at_delim) {
                b[e] = 0;
                p += delim ? dlen : 1;
                continue;
            }
            /* b[e] may be the newline itself: step over it before the NUL. */
            while (p < t->len && b[p] == '\r')
                p++;
            if (p < t->len && b[p] == '\n')
                p++;
            b[e] = 0;
            goto next_record;
        }
    end_line:
        /* End of record: step over the newline. */
        while (p < t->len && b[p] == '\r')
            p++;
        if (p < t->len && b[p] == '\n')
            p++;
    next_record:
        t->line++;
        t->pos = p;
        *nf = n;
        return 1;
    }
}

int rec_parse_i64(const char *s, int64_t *v)
{
    while (is_blank(*s))
        s++;
    int neg = 0;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (*s < '0' || *s > '9')
        return 0;
    uint64_t x = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (x > (UINT64_MAX - 9) / 10)
            return 0;
        x = x * 10 + (uint64_t)(*s - '0');
    }
    while (is_blank(*s))
        s++;
    if (*s || x > (uint64_t)INT64_MAX)
        return 0;
    *v = neg ? -(int64_t)x : (int64_t)x;
    return 1;
}

/* Decimal only: [sign] digits [. digits] [e [sign] digits], or with the
 * digits after the point alone ("-.5").  strtod would also take hex
 * ("0x10" = 16), "inf", "nan" and "infinity", none of which is a rating a
 * file means to give. */
static const char *decimal_end(const char *p)
{
    if (*p == '-' || *p == '+')
        p++;
    int digits = 0;
    for (; *p >= '0' && *p <= '9'; p++)
        digits++;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            digits++;
    if (!digits)
        return NULL;
    if (*p == 'e' || *p == 'E') {
        const char *q = p + 1;
        if (*q == '-' || *q == '+')
            q++;
        if (*q < '0' || *q > '9')
            return NULL;
        while (*q >= '0' && *q <= '9')
            q++;
        p = q;
    }
    return p;
}

int rec_parse_double(const char *s, double *v)
{
    while (is_blank(*s))
        s++;
    /* Fast path for plain decimals ("4.5", "-3", "0.25"); strtod otherwise. */
    const char *p = s;
    int neg = 0;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    uint64_t m = 0;
    int digits = 0, frac = 0;
    for (; *p >= '0' && *p <= '9' && digits < 15; p++, digits++)
        m = m * 10 + (uint64_t)(*p - '0');
    if (*p == '.') {
        p++;
        for (; *p >= '0' && *p <= '9' && digits < 15; p++, digits++, frac++)
            m = m * 10 + (uint64_t)(*p - '0');
    }
    const char *q = p;
    while (is_blank(*q))
        q++;
    if (digits > 0 && !*q) {
        static const double p10[] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
                                      1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18 };
        double x = (double)m / p10[frac];
        *v = neg ? -x : x;
        return 1;
    }
    const char *e = decimal_end(s);
    if (!e)
        return 0;
    while (is_blank(*e))
        e++;
    if (*e)
        return 0;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (!isfinite(x))
        return 0;
    *v = x;
    return 1;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* n digits at *p as a number, advancing *p; -1 when they are not digits. */
static int digits_at(const char **p, int n)
{
    int v = 0;
    for (int k = 0; k < n; k++) {
        char c = (*p)[k];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    return v;
}

/* ISO-8601: YYYY-MM-DD, optionally followed by T or a space and
 * hh:mm[:ss[.fraction]], then Z or +hh[:]mm / -hh[:]mm (UTC when absent);
 * seconds since 1970-01-01T00:00:00Z (fractions dropped). */
static int parse_iso8601(const char *s, int64_t *v)
{
    const char *p = s;
    int y = digits_at(&p, 4);
    if (y < 0 || *p++ != '-')
        return 0;
    int mo = digits_at(&p, 2);
    if (mo < 1 || mo > 12 || *p++ != '-')
        return 0;
    int d = digits_at(&p, 2);
    static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
        return 0;
    int64_t secs = days_from_civil(y, mo, d) * 86400;
    if (*p == 'T' || (*p == ' ' && p[1] >= '0' && p[1] <= '9')) {
        p++;
        int h = digits_at(&p, 2);
        if (h < 0 || h > 23 || *p++ != ':')
            return 0;
        int mi = digits_at(&p, 2);
        if (mi < 0 || mi > 59)
            return 0;
        int sec = 0;
        if (*p == ':') {
            p++;
            sec = digits_at(&p, 2);
            if (sec < 0 || sec > 60)
                return 0;
            if (*p == '.' || *p == ',') {
                p++;
                if (*p < '0' || *p > '9')
                    return 0;
                while (*p >= '0' && *p <= '9')
                    p++;
            }
        }
        secs += h * 3600 + mi * 60 + sec;
        if (*p == 'Z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1;
            int oh = digits_at(&p, 2);
            if (*p == ':')
                p++;
            int om = digits_at(&p, 2);
            if (oh < 0 || oh > 23 || om < 0 || om > 59)
                return 0;
            secs -= sign * (oh * 3600 + om * 60);
        }
    }
    while (is_blank(*p))
        p++;
    if (*p)
        return 0;
    *v = secs;
    return 1;
}

int rec_parse_time(const char *s, int64_t *v)
{
    while (is_blank(*s))
        s++;
    return rec_parse_i64(s, v) || parse_iso8601(s, v);
}
