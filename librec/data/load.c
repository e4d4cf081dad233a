/* rec_dataset_load: format detection, delimited interactions (csv, tsv,
 * "::"), SASRec pairs and LightGCN adjacency lines. */
#include "data/load-impl.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const rec_param_spec load_spec[] = {
    { "columns", REC_PARAM_STR, "", 0, 0, NULL,
      "delimited column names in order: user,item,rating,timestamp or - to skip" },
    { "delimiter", REC_PARAM_STR, "", 0, 0, NULL,
      "field delimiter (default from the format)" },
    { "header", REC_PARAM_STR, "auto", 0, 0, "auto|yes|no", "first line is a header" },
    { "features", REC_PARAM_BOOL, "true", 0, 0, NULL, "read sibling side-feature files" },
    { "catalog", REC_PARAM_STR, "rated", 0, 0, "rated|all",
      "items: only rated ones, or all listed in the item file" },
    { "unknown", REC_PARAM_STR, "add", 0, 0, "add|skip|error",
      "rec_dataset_load_like: ids the reference lacks" },
    { "context", REC_PARAM_STR, "", 0, 0, NULL,
      "delimited columns read as per-interaction context fields, by header or columns name" },
};
#define NSPEC (sizeof load_spec / sizeof load_spec[0])

/* ---- paths --------------------------------------------------------------- */

const char *rec_path_base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

const char *rec_path_dir(const char *path, char *buf, size_t n)
{
    size_t k = (size_t)(rec_path_base(path) - path);
    if (k >= n)
        k = n - 1;
    memcpy(buf, path, k);
    buf[k] = 0;
    return buf;
}

int rec_file_exists(const char *path)
{
    return access(path, R_OK) == 0;
}

/* ---- shared helpers ------------------------------------------------------ */

rec_status rec_load_put(rec_loader *L, rec_status st)
{
    if (st == REC_E_NOMEM)
        return rec_nomem(L->fn);
    if (st)
        return rec_err(st, "%s: too many distinct feature values", L->fn);
    return REC_OK;
}

rec_status rec_load_entity(rec_loader *L, rec_side side, const char *s, size_t len,
                           int32_t *e)
{
    if (L->catalog_all)
        return rec_ds_intern(L->d, side, s, len, e, L->fn);
    *e = rec_idmap_find(side == REC_SIDE_USER ? L->d->users : L->d->items, s, len);
    return REC_OK;
}

rec_status rec_load_field(rec_loader *L, rec_side side, const char *name,
                          rec_feature_type type, rec_field **f)
{
    rec_features *fs;
    int k;
    REC_TRY(rec_ds_own_features(L->d, side, &fs, L->fn));
    REC_TRY(rec_features_add(fs, name, type, &k, L->fn));
    *f = fs->f[k];
    return REC_OK;
}

static void trim(rec_tok *t)
{
    if (t->quoted)
        return;
    while (t->len && (t->s[0] == ' ' || t->s[0] == '\t')) {
        t->s++;
        t->len--;
        t->col++;
    }
    while (t->len && (t->s[t->len - 1] == ' ' || t->s[t->len - 1] == '\t'))
        t->s[--t->len] = 0;
}

/* Interns an interaction id; *idx = -1 means "skip the row". */
static rec_status row_id(rec_loader *L, rec_text *t, rec_side side, rec_tok *k, long line,
                         int32_t *idx)
{
    trim(k);
    const char *what = side == REC_SIDE_USER ? "user" : "item";
    if (!k->len)
        return rec_text_error(t, line, k->col, "empty %s id", what);
    if (L->unknown != UNKNOWN_ADD) {
        *idx = rec_idmap_find(side == REC_SIDE_USER ? L->d->users : L->d->items, k->s, k->len);
        if (*idx >= 0)
            return REC_OK;
        if (L->unknown == UNKNOWN_SKIP)
            return REC_OK;
        rec_text_error(t, line, k->col, "unknown %s id '%s'", what, k->s);
        return REC_E_NOTFOUND;
    }
    return rec_ds_intern(L->d, side, k->s, k->len, idx, L->fn);
}

static rec_status push(rec_loader *L, int32_t u, int32_t i, float r, int64_t ts)
{
    rec_status st = rec_ds_push(L->d, u, i, r, ts);
    if (st == REC_E_NOMEM)
        return rec_nomem(L->fn);
    if (st)
        return rec_err(st, "%s: more than %d rows", L->fn, INT32_MAX);
    return REC_OK;
}

/* ---- delimited interactions ------------------------------------------------ */

/* COL_CTX + j: the context option's j-th name. */
enum { COL_SKIP, COL_USER, COL_ITEM, COL_RATING, COL_TIME, COL_CTX };
enum { MAXCTX = 32 };

/* Index of word w[0..n) in the context option, or -1. */
static int context_index(const rec_loader *L, const char *w, size_t n)
{
    rec_list_iter it;
    const char *p;
    size_t len;
    int j = 0;
    rec_list_start(&it, L->context ? L->context : "");
    while (rec_list_next(&it, &p, &len)) {
        if (len == n && !memcmp(p, w, n))
            return j;
        j++;
    }
    return -1;
}

static int lower_has(const char *s, const char *word)
{
    char b[64];
    size_t n = 0;
    for (; *s && n + 1 < sizeof b; s++)
        b[n++] = (char)tolower((unsigned char)*s);
    b[n] = 0;
    return strstr(b, word) != NULL;
}

static int header_role(const char *s)
{
    static const char *items[] = { "item", "movie", "book", "product", "track", "song",
                                   "artist", "business", "isbn", "asin" };
    if (lower_has(s, "user"))
        return COL_USER;
    for (size_t k = 0; k < sizeof items / sizeof *items; k++)
        if (lower_has(s, items[k]))
            return COL_ITEM;
    if (lower_has(s, "rating") || lower_has(s, "score") || lower_has(s, "stars"))
        return COL_RATING;
    if (lower_has(s, "time") || lower_has(s, "date"))
        return COL_TIME;
    return -1;
}

static int has_digit(const char *s)
{
    for (; *s; s++)
        if (*s >= '0' && *s <= '9')
            return 1;
    return 0;
}

static int parse_columns(rec_loader *L, const char *spec, int *role, int ncols)
{
    int n = 0;
    rec_list_iter it;
    const char *p;
    size_t len;
    rec_list_start(&it, spec);
    while (rec_list_next(&it, &p, &len)) {
        char w[32];
        if (len >= sizeof w)
            len = sizeof w - 1;
        memcpy(w, p, len);
        w[len] = 0;
        int r;
        if (!strcmp(w, "user"))
            r = COL_USER;
        else if (!strcmp(w, "item"))
            r = COL_ITEM;
        else if (!strcmp(w, "rating"))
            r = COL_RATING;
        else if (!strcmp(w, "timestamp") || !strcmp(w, "time"))
            r = COL_TIME;
        else if (!strcmp(w, "-") || !strcmp(w, "skip") || !strcmp(w, "_"))
            r = COL_SKIP;
        else if (context_index(L, w, len) >= 0)
            r = COL_CTX + context_index(L, w, len);
        else
            return (int)rec_err(REC_E_INVALID,
                                "%s: columns: '%s' is not user, item, rating, timestamp, - or "
                                "a name of the context option", L->fn, w);
        if (n == MAXCOLS)
            return (int)rec_err(REC_E_INVALID, "%s: columns: more than %d", L->fn, MAXCOLS);
        role[n++] = r;
    }
    for (int k = n; k < ncols; k++)
        role[k] = COL_SKIP;
    return n;
}

/* An id of the integer kind (digits, optional sign, blanks around). */
static int int_id(const char *s, size_t len)
{
    while (len && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
        len--;
    if (len && (*s == '-' || *s == '+'))
        s++, len--;
    if (!len)
        return 0;
    for (size_t k = 0; k < len; k++)
        if (s[k] < '0' || s[k] > '9')
            return 0;
    return 1;
}

/* Whether field `col` of the next `lines` records (read from the raw text,
 * which rec_text_record has not split yet; quotes are stripped but not
 * unescaped, enough to tell the kind of an id) is an integer in every one
 * of them, at least one record seen.  This is what "the kind of id the
 * rest of the file has" means for header detection. */
static int rest_int_ids(const rec_text *t, const char *delim, int quote, int col, int lines)
{
    const char *b = t->buf;
    size_t p = t->pos, dlen = delim ? strlen(delim) : 0;
    int seen = 0;
    while (p < t->len && seen < lines) {
        size_t e = p;
        while (e < t->len && b[e] != '\n')
            e++;
        /* field boundaries on [p, e) */
        size_t q = p, fs = p, fe = e;
        int k = 0, inq = 0, found = 0, blank = 1;
        for (size_t r = p; r < e; r++)
            blank &= b[r] == ' ' || b[r] == '\t' || b[r] == '\r';
        if (blank) {
            p = e + 1;
            continue;
        }
        if (!delim)
            while (q < e && (b[q] == ' ' || b[q] == '\t'))
                q++;
        fs = q;
        for (; q <= e; q++) {
            int end = q == e;
            if (!end && quote && b[q] == '"')
                inq = !inq;
            int at = !end && !inq &&
                     (delim ? (dlen == 1 ? b[q] == delim[0] : !strncmp(b + q, delim, dlen))
                            : (b[q] == ' ' || b[q] == '\t'));
            if (end || at) {
                if (k == col) {
                    fe = q;
                    found = 1;
                    break;
                }
                k++;
                q += delim ? dlen - 1 : 0;
                if (!delim)
                    while (q + 1 < e && (b[q + 1] == ' ' || b[q + 1] == '\t'))
                        q++;
                fs = q + 1;
            }
        }
        if (!found)
            return 0;
        if (quote && fe > fs + 1 && b[fs] == '"' && b[fe - 1] == '"')
            fs++, fe--;
        if (!int_id(b + fs, fe - fs))
            return 0;
        seen++;
        p = e + 1;
    }
    return seen > 0;
}

/* A word that names a column rather than being an id: it has no digits and
 * header_role knows it. */
static int names_column(const char *s)
{
    return !has_digit(s) && header_role(s) >= 0;
}

/* The column of each name of the context option (named in the columns
 * option, else in the header) into cc, the dataset's field for it into ck;
 * named: role[] is the columns option's, not guessed. */
static rec_status context_columns(rec_loader *L, rec_text *t, const rec_tok *f, int *role,
                                  int ncols, int is_header, int named, int *cc, int *ck,
                                  int *nctx)
{
    rec_list_iter it;
    const char *p;
    size_t len;
    int j = 0;
    rec_list_start(&it, L->context ? L->context : "");
    while (rec_list_next(&it, &p, &len)) {
        char w[128];
        if (j == MAXCTX || !len || len >= sizeof w)
            return rec_err(REC_E_INVALID, "%s: context: %s", L->fn,
                           j == MAXCTX ? "more than 32 columns" : "empty or too long a name");
        memcpy(w, p, len);
        w[len] = 0;
        int col = -1;
        for (int k = 0; k < ncols && col < 0; k++)
            if (role[k] == COL_CTX + j)
                col = k;
        for (int k = 0; k < ncols && col < 0 && is_header; k++)
            if (f[k].len == len && !memcmp(f[k].s, p, len))
                col = k;
        if (col < 0)
            return rec_err(REC_E_INVALID, "%s: %s: context column '%s' is named neither in the "
                           "header nor in the columns option", L->fn, t->path, w);
        /* a header's name outranks a guess from it (a "datetime" column) */
        if (named && role[col] != COL_SKIP && role[col] != COL_CTX + j)
            return rec_err(REC_E_INVALID, "%s: %s: context column '%s' is the %s column", L->fn,
                           t->path, w, role[col] == COL_USER ? "user" : role[col] == COL_ITEM
                           ? "item" : role[col] == COL_RATING ? "rating" : role[col] == COL_TIME
                           ? "timestamp" : "another context's");
        role[col] = COL_CTX + j;
        cc[j] = col;
        REC_TRY(rec_ds_context_add(L->d, w, &ck[j], L->fn));
        j++;
    }
    *nctx = j;
    return REC_OK;
}

/* Ratings written as integers at or above this look like Unix timestamps
 * (1e8 s is March 1973), not like a rating scale. */
#define EPOCH_LIKE 1e8

rec_status rec_load_delimited(rec_loader *L, rec_text *t, const char *delim, int quote,
                              const char *columns, int header, int synth_time)
{
    rec_tok *f = L->tok;
    int nf;
    long line;
    int got = rec_text_record(t, delim, quote, f, MAXCOLS, &nf, &line);
    if (got < 0)
        return (rec_status)got;
    if (got == 0)
        return rec_text_error(t, t->line, 1, "empty file: no interactions");
    int ncols = nf;
    int role[MAXCOLS];
    int named = 0;
    if (columns && *columns) {
        int n = parse_columns(L, columns, role, ncols);
        if (n < 0)
            return (rec_status)n;
        if (n != ncols) {
            if (L->user_columns)
                return rec_text_error(t, line, 1,
                                      "the columns option names %d columns, the line has %d",
                                      n, ncols);
            return rec_text_error(t, line, 1, "expected %d columns (%s), got %d", n, columns,
                                  ncols);
        }
        named = 1;
    } else {
        for (int k = 0; k < ncols; k++)
            role[k] = k < 4 ? COL_USER + k : COL_SKIP;
    }
    int pu = -1, pi = -1;
    for (int k = 0; k < ncols; k++) {
        pu = pu < 0 && role[k] == COL_USER ? k : pu;
        pi = pi < 0 && role[k] == COL_ITEM ? k : pi;
    }
    /* Header: a line whose user or item field is not an id of the kind the
     * rest of the file has (a word over integer ids), or whose user and item
     * fields both name columns (files whose ids are words).  A first line
     * that reads as data but for a bad rating is data, and its error says so. */
    int is_header = header == 1;
    if (header < 0 && pu >= 0 && pi >= 0) {
        int differs = 0, word = 0;
        for (int c = 0; c < 2; c++) {
            int k = c ? pi : pu;
            if (!int_id(f[k].s, f[k].len) && rest_int_ids(t, delim, quote, k, 50)) {
                differs = 1;
                word |= !has_digit(f[k].s);
            }
        }
        int numbers_fail = 0;
        for (int k = 0; k < ncols; k++) {
            double v;
            int64_t ts;
            numbers_fail |= (role[k] == COL_RATING && !rec_parse_double(f[k].s, &v)) ||
                            (role[k] == COL_TIME && !rec_parse_time(f[k].s, &ts));
        }
        is_header = (differs && (word || numbers_fail)) ||
                    (names_column(f[pu].s) && names_column(f[pi].s));
    }
    int by_name = 0;
    if (is_header && !named) {
        int hr[MAXCOLS], hu = 0, hi = 0;
        for (int k = 0; k < ncols; k++) {
            hr[k] = header_role(f[k].s);
            hu += hr[k] == COL_USER;
            hi += hr[k] == COL_ITEM;
        }
        by_name = hu == 1 && hi == 1;
        if (by_name)
            for (int k = 0; k < ncols; k++)
                role[k] = hr[k] < 0 ? COL_SKIP : hr[k];
    }
    int cc[MAXCTX], ck[MAXCTX], nctx = 0;
    REC_TRY(context_columns(L, t, f, role, ncols, is_header, named, cc, ck, &nctx));
    int cu = -1, ci = -1, cr = -1, ct = -1;
    for (int k = 0; k < ncols; k++) {
        int *slot = role[k] == COL_USER ? &cu : role[k] == COL_ITEM ? &ci
                  : role[k] == COL_RATING ? &cr : role[k] == COL_TIME ? &ct : NULL;
        if (slot && *slot >= 0)
            return rec_err(REC_E_INVALID, "%s: %s: column %d repeats a role", L->fn, t->path,
                           k + 1);
        if (slot)
            *slot = k;
    }
    if (cu < 0 || ci < 0)
        return rec_text_error(t, line, 1, "expected at least 2 columns (user, item), got %d",
                              ncols);

    /* Columns taken by position under a header that does not name them: say
     * which, or tags.csv (tag_id,tag_name) loads as users and items unnoticed. */
    if (is_header && !named && !by_name) {
        char extra[300] = "";
        if (cr >= 0)
            snprintf(extra, sizeof extra, ", column %d '%.60s' as rating", cr + 1, f[cr].s);
        if (ct >= 0)
            snprintf(extra + strlen(extra), sizeof extra - strlen(extra),
                     ", column %d '%.60s' as timestamp", ct + 1, f[ct].s);
        if (rec_ds_warn(L->d, "%s: the header names no user and item columns; took column %d "
                              "'%.60s' as user, column %d '%.60s' as item%s (set columns to "
                              "choose)", t->path, cu + 1, f[cu].s, ci + 1, f[ci].s, extra))
            return rec_nomem(L->fn);
    }
    L->d->has_r = cr >= 0;
    L->d->has_t = ct >= 0 || synth_time;
    L->d->src_header = is_header;
    L->d->src_synth_time = synth_time;
    /* A rating column that no one named (neither the columns option nor the
     * header) may be a timestamp column: user,item,timestamp files are common. */
    int rating_by_position = cr >= 0 && !named && !by_name;
    if (is_header)
        got = rec_text_record(t, delim, quote, f, MAXCOLS, &nf, &line);
    int64_t rows = 0;
    for (; got > 0; got = rec_text_record(t, delim, quote, f, MAXCOLS, &nf, &line)) {
        if (nf != ncols) {
            size_t col = nf > ncols ? f[ncols].col : f[nf - 1].col + f[nf - 1].len +
                                                         (f[nf - 1].quoted ? 2 : 0);
            return rec_text_error(t, line, col, "expected %d columns, got %d", ncols, nf);
        }
        int32_t u = -1, i = -1;
        double r = 0;
        int64_t ts = synth_time ? rows : 0;
        if (cr >= 0 && !rec_parse_double(f[cr].s, &r)) {
            if (rows == 0 && !is_header && header < 0 && !has_digit(f[cr].s))
                return rec_text_error(t, line, f[cr].col,
                                      "rating '%s' is not a number (line 1 is data, "
                                      "not a header: its user and item are ids like the "
                                      "rest's; set header=yes if it is one)", f[cr].s);
            return rec_text_error(t, line, f[cr].col,
                                  "rating '%s' is not a number (decimal only)", f[cr].s);
        }
        if (cr >= 0 && !isfinite((float)r))
            return rec_text_error(t, line, f[cr].col,
                                  "rating '%s' is too large for a float (|rating| < 3.4e38)",
                                  f[cr].s);
        if (rating_by_position && r >= EPOCH_LIKE && int_id(f[cr].s, f[cr].len)) {
            char cols[4 * MAXCOLS] = "";
            for (int k = 0, o = 0; k < ncols && o < (int)sizeof cols - 12; k++)
                o += snprintf(cols + o, sizeof cols - (size_t)o, "%s%s", k ? "," : "",
                              k == cu ? "user" : k == ci ? "item" : k == cr ? "timestamp" : "-");
            return rec_text_error(t, line, f[cr].col,
                                  "rating '%s' looks like a Unix timestamp, not a rating; name "
                                  "the columns, e.g. columns=%s (librec --columns %s)", f[cr].s,
                                  cols, cols);
        }
        if (ct >= 0 && !rec_parse_time(f[ct].s, &ts)) {
            if (rows == 0 && !is_header && header < 0 && !has_digit(f[ct].s))
                return rec_text_error(t, line, f[ct].col,
                                      "timestamp '%s' is not an integer or an ISO-8601 date "
                                      "(line 1 is data, not a header: its user and item are "
                                      "ids like the rest's; set header=yes if it is one)",
                                      f[ct].s);
            return rec_text_error(t, line, f[ct].col,
                                  "timestamp '%s' is not an integer or an ISO-8601 date",
                                  f[ct].s);
        }
        REC_TRY(row_id(L, t, REC_SIDE_USER, &f[cu], line, &u));
        REC_TRY(row_id(L, t, REC_SIDE_ITEM, &f[ci], line, &i));
        rows++;
        if (u < 0 || i < 0)
            continue;
        REC_TRY(push(L, u, i, (float)r, ts));
        for (int c = 0; c < nctx; c++) {
            trim(&f[cc[c]]);
            REC_TRY(rec_ds_context_put(L->d, ck[c], L->d->n - 1, f[cc[c]].s, f[cc[c]].len,
                                       L->fn));
        }
    }
    if (got < 0)
        return (rec_status)got;
    if (rows == 0)
        return rec_text_error(t, t->line, 1, "no interactions after the header");
    return REC_OK;
}

/* LightGCN: "user item item ..." per line (a line may hold thousands of
 * items, so it is scanned directly rather than through a token array). */
static rec_status load_lightgcn(rec_loader *L, rec_text *t)
{
    L->d->has_r = 0;
    L->d->has_t = 0;
    char *b = t->buf;
    size_t p = t->pos;
    int64_t users = 0;
    for (long line = 1; p < t->len; line++) {
        size_t start = p;
        int32_t u = -2;
        while (p < t->len && b[p] != '\n') {
            while (p < t->len && (b[p] == ' ' || b[p] == '\t' || b[p] == '\r'))
                p++;
            if (p >= t->len || b[p] == '\n')
                break;
            rec_tok k = { b + p, 0, p - start + 1, 0 };
            while (p < t->len && b[p] != ' ' && b[p] != '\t' && b[p] != '\r' && b[p] != '\n')
                p++;
            k.len = (size_t)(b + p - k.s);
            const char *nul = memchr(k.s, 0, k.len);
            if (nul)
                return rec_text_error(t, line, k.col + (size_t)(nul - k.s),
                                      "NUL byte inside an id");
            char save = b[p];
            b[p] = 0;
            int32_t idx;
            rec_status st = row_id(L, t, u == -2 ? REC_SIDE_USER : REC_SIDE_ITEM, &k, line, &idx);
            b[p] = save;
            if (st)
                return st;
            if (u == -2) {
                u = idx;
                users++;
            } else if (u >= 0 && idx >= 0) {
                REC_TRY(push(L, u, idx, 0, 0));
            }
        }
        p++;
    }
    if (!users)
        return rec_text_error(t, 1, 1, "empty file: no users");
    return REC_OK;
}

/* ---- detection --------------------------------------------------------------- */

enum { FMT_AUTO, FMT_CSV, FMT_TSV, FMT_PAIRS, FMT_MOVIELENS, FMT_GOODBOOKS, FMT_LIGHTGCN };

static int first_line(const rec_text *t, char *buf, size_t n)
{
    size_t p = t->pos, k = 0;
    while (p < t->len && (t->buf[p] == '\n' || t->buf[p] == '\r'))
        p++;
    while (p < t->len && t->buf[p] != '\n' && t->buf[p] != '\r' && k + 1 < n)
        buf[k++] = t->buf[p++];
    buf[k] = 0;
    return (int)k;
}

static int dcolon_fields(const char *line)
{
    int n = 1;
    for (const char *p = strstr(line, "::"); p; p = strstr(p + 2, "::"))
        n++;
    return n;
}

/* Smallest and largest number of blank-separated tokens over the first
 * non-empty lines. */
static void token_range(const rec_text *t, int lines, int *lo, int *hi)
{
    *lo = 0;
    *hi = 0;
    size_t p = t->pos;
    for (int l = 0; l < lines && p < t->len;) {
        int n = 0, in = 0;
        for (; p < t->len && t->buf[p] != '\n'; p++) {
            int blank = t->buf[p] == ' ' || t->buf[p] == '\t' || t->buf[p] == '\r';
            n += !blank && !in;
            in = !blank;
        }
        p++;
        if (!n)
            continue;
        *lo = l == 0 || n < *lo ? n : *lo;
        *hi = n > *hi ? n : *hi;
        l++;
    }
}

static int detect(const char *path, const rec_text *t)
{
    const char *base = rec_path_base(path);
    char line[512];
    first_line(t, line, sizeof line);
    size_t bl = strlen(base);
    int ends_dat = bl > 4 && !strcmp(base + bl - 4, ".dat");
    int ends_data = bl > 5 && !strcmp(base + bl - 5, ".data");
    if (!strcmp(base, "u.data") || (ends_data && strchr(line, '\t')))
        return FMT_MOVIELENS;
    /* ratings.dat is user::item::rating::timestamp; other "::" files (2 or
     * 3 fields, or any name) are read as delimited below. */
    if (ends_dat && strstr(line, "::") && dcolon_fields(line) == 4)
        return FMT_MOVIELENS;
    if (!strncmp(line, "userId,movieId", 14))
        return FMT_MOVIELENS;
    if (!strncmp(line, "user_id,book_id", 15) || !strncmp(line, "book_id,goodreads_book_id", 25))
        return FMT_GOODBOOKS;
    if (strstr(line, "::"))
        return FMT_CSV; /* "::" delimited, handled by the csv path */
    if (strchr(line, '\t'))
        return FMT_TSV;
    if (strchr(line, ','))
        return FMT_CSV;
    if (!strcmp(base, "train.txt") || !strcmp(base, "test.txt"))
        return FMT_LIGHTGCN;
    /* Blank-separated ids: every line a pair, or "user item item ...".
     * Anything else (one token per line, prose) is not interactions. */
    int lo, hi;
    token_range(t, 50, &lo, &hi);
    if (lo == 2 && hi == 2)
        return FMT_PAIRS;
    if (lo >= 2)
        return FMT_LIGHTGCN;
    return FMT_AUTO;
}

/* Indexed by FMT_*. */
static const char *const fmt_names[] = { "auto", "csv", "tsv", "pairs", "movielens",
                                         "goodbooks", "lightgcn" };

static int format_code(const char *s)
{
    for (int k = 0; k < 7; k++)
        if (!strcmp(s, fmt_names[k]))
            return k;
    return -1;
}

/* Delimiter option to the tokenizer's form. */
static const char *delim_of(const char *opt, const char *dflt)
{
    if (!opt || !*opt)
        return dflt;
    if (!strcmp(opt, "space"))
        return NULL;
    if (!strcmp(opt, "tab"))
        return "\t";
    return opt;
}

static rec_status load_movielens(rec_loader *L, rec_text *t, const char *path)
{
    const char *base = rec_path_base(path);
    char line[256];
    first_line(t, line, sizeof line);
    size_t bl = strlen(base);
    int layout;
    rec_status st;
    if (strstr(line, "::")) {
        layout = 1;
        st = rec_load_delimited(L, t, "::", 0, "user,item,rating,timestamp", 0, 0);
    } else if (bl > 4 && !strcmp(base + bl - 4, ".csv")) {
        layout = 2;
        st = rec_load_delimited(L, t, ",", 1, "", -1, 0);
    } else {
        layout = 0;
        st = rec_load_delimited(L, t, "\t", 0, "user,item,rating,timestamp", 0, 0);
    }
    if (st || !L->features)
        return st;
    char dir[4096];
    return rec_load_movielens_side(L, rec_path_dir(path, dir, sizeof dir), layout);
}

static rec_status load_goodbooks(rec_loader *L, rec_text *t, const char *path)
{
    char dir[4096];
    rec_path_dir(path, dir, sizeof dir);
    if (!strcmp(rec_path_base(path), "books.csv")) {
        /* The catalogue alone: every book an item, no interactions. */
        L->d->has_r = L->d->has_t = 0;
        L->catalog_all = 1;
        return rec_load_goodbooks_books(L, dir);
    }
    REC_TRY(rec_load_delimited(L, t, ",", 1, "", -1, 0));
    return L->features ? rec_load_goodbooks_books(L, dir) : REC_OK;
}

static rec_status load_into(rec_loader *L, const char *path, const char *format)
{
    int fmt = format_code(format ? format : "auto");
    if (fmt < 0)
        return rec_err(REC_E_INVALID,
                       "%s: format '%s' is not one of auto|csv|tsv|pairs|movielens|goodbooks|"
                       "lightgcn", L->fn, format);
    rec_text t;
    REC_TRY(rec_text_open(&t, path, L->fn));
    int detected = fmt == FMT_AUTO;
    if (detected)
        fmt = detect(path, &t);
    if (fmt == FMT_AUTO) {
        rec_text_close(&t);
        return rec_err(REC_E_FORMAT,
                       "%s: %s: cannot tell the format (not delimited interactions, pairs or "
                       "per-user lines); name it", L->fn, path);
    }
    const char *columns = rec_params_str(L->opts, load_spec, NSPEC, "columns");
    const char *hdr = rec_params_str(L->opts, load_spec, NSPEC, "header");
    int header = !strcmp(hdr, "yes") ? 1 : !strcmp(hdr, "no") ? 0 : -1;
    const char *dopt = rec_params_str(L->opts, load_spec, NSPEC, "delimiter");
    static const char *delims[] = { "", ",", "\t", "tab", "::", ";", "|", "space" };
    int dok = 0;
    for (size_t k = 0; k < sizeof delims / sizeof *delims; k++)
        dok |= !strcmp(dopt, delims[k]);
    if (!dok) {
        rec_text_close(&t);
        return rec_err(REC_E_INVALID, "%s: delimiter '%s' is not one of , tab :: ; | space",
                       L->fn, dopt);
    }
    /* Layout options only shape delimited files; elsewhere the layout is
     * fixed, and an option that would be ignored is an error instead. */
    if (fmt != FMT_CSV && fmt != FMT_TSV && (*columns || *dopt || header >= 0)) {
        rec_text_close(&t);
        return rec_err(REC_E_INVALID,
                       "%s: %s: options columns, delimiter and header apply to csv and tsv, "
                       "not to format %s%s; name --format csv or tsv",
                       L->fn, path, fmt_names[fmt], format && strcmp(format, "auto") ? "" : " (detected)");
    }
    L->d->src_format = fmt_names[fmt];
    L->d->src_detected = detected;
    L->d->src_header = -1;
    L->user_columns = *columns != 0;
    L->context = rec_params_str(L->opts, load_spec, NSPEC, "context");
    if (*L->context && (fmt == FMT_PAIRS || fmt == FMT_LIGHTGCN)) {
        rec_text_close(&t);
        return rec_err(REC_E_INVALID, "%s: %s: option context applies to delimited files, "
                       "not to format %s", L->fn, path, fmt_names[fmt]);
    }
    rec_status st;
    switch (fmt) {
    case FMT_CSV: {
        char line[512];
        first_line(&t, line, sizeof line);
        const char *dd = strstr(line, "::") ? "::" : ",";
        const char *delim = delim_of(dopt, dd);
        st = rec_load_delimited(L, &t, delim, delim && delim[0] == ',', columns, header, 0);
        break;
    }
    case FMT_TSV:
        st = rec_load_delimited(L, &t, delim_of(dopt, "\t"), 0, columns, header, 0);
        break;
    case FMT_PAIRS: {
        /* Pairs are blank-separated; a "::" or comma file named pairs would
         * otherwise fail on a column count the user never set. */
        char line[512];
        first_line(&t, line, sizeof line);
        const char *sep = strstr(line, "::") ? "::" : strchr(line, ',') ? "," : NULL;
        if (sep && !strpbrk(line, " \t")) {
            st = rec_text_error(&t, 1, (size_t)(strstr(line, sep) - line) + 1,
                                "format pairs is 'user item' separated by blanks; this line "
                                "is '%s'-separated (use format csv, or auto)", sep);
            break;
        }
        st = rec_load_delimited(L, &t, NULL, 0, "user,item", 0, 1);
        break;
    }
    case FMT_LIGHTGCN:
        st = load_lightgcn(L, &t);
        break;
    case FMT_MOVIELENS:
        st = load_movielens(L, &t, path);
        break;
    default:
        st = load_goodbooks(L, &t, path);
        break;
    }
    rec_text_close(&t);
    if (!st)
        st = rec_features_ready(L->d->ifeat, L->d->items->n) ? rec_nomem(L->fn) : REC_OK;
    if (!st)
        st = rec_features_ready(L->d->ufeat, L->d->users->n) ? rec_nomem(L->fn) : REC_OK;
    return st;
}

static rec_status load_common(rec_dataset **out, const char *path, const char *format,
                              const rec_params *opts, const rec_dataset *like, const char *fn)
{
    REC_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    REC_CHECK_ARG(path, fn, "path is NULL");
    REC_TRY(rec_params_check(opts, load_spec, NSPEC, fn));
    rec_loader *L = rec_calloc(1, sizeof *L);
    if (!L)
        return rec_nomem(fn);
    L->fn = fn;
    L->opts = opts;
    L->features = rec_params_bool(opts, load_spec, NSPEC, "features");
    L->catalog_all = !strcmp(rec_params_str(opts, load_spec, NSPEC, "catalog"), "all");
    rec_status st;
    if (like) {
        const char *u = rec_params_str(opts, load_spec, NSPEC, "unknown");
        L->unknown = !strcmp(u, "skip") ? UNKNOWN_SKIP : !strcmp(u, "error") ? UNKNOWN_ERROR
                                                                              : UNKNOWN_ADD;
        /* The reference's features are shared, not re-read. */
        L->features = 0;
        L->catalog_all = 0;
        st = rec_ds_new_like(like, &L->d) ? rec_nomem(fn) : REC_OK;
        if (!st)
            L->d->has_r = L->d->has_t = -1;
    } else {
        st = rec_dataset_create(&L->d);
        if (st)
            st = rec_nomem(fn);
    }
    if (!st)
        st = load_into(L, path, format);
    if (st)
        rec_dataset_destroy(L->d);
    else
        *out = L->d;
    rec_free(L, sizeof *L);
    return st;
}

REC_API rec_status rec_dataset_load(rec_dataset **out, const char *path, const char *format,
                                    const rec_params *opts)
{
    return load_common(out, path, format, opts, NULL, "rec_dataset_load");
}

REC_API rec_status rec_dataset_load_like(rec_dataset **out, const char *path,
                                         const char *format, const rec_params *opts,
                                         const rec_dataset *ids_from)
{
    REC_CHECK_ARG(ids_from, "rec_dataset_load_like", "ids_from is NULL");
    return load_common(out, path, format, opts, ids_from, "rec_dataset_load_like");
}
