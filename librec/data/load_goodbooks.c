/* goodbooks-10k item files: books.csv (columns found by header name) and,
 * when present, book_tags.csv (goodreads_book_id,tag_id,count) with
 * tags.csv (tag_id,tag_name).  Items are keyed by book_id, the id used in
 * ratings.csv.  Item fields: title, original_title, authors_text (text),
 * authors (multi-hot, split on ", "), language_code (categorical), year,
 * average_rating, ratings_count, books_count (numeric), tags (multi-hot). */
#include "data/load-impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { C_ID, C_GR, C_TITLE, C_OTITLE, C_AUTH, C_LANG, C_YEAR, C_AVG, C_CNT, C_BCNT, NC };

static const char *colname[NC] = { "book_id", "goodreads_book_id", "title", "original_title",
                                   "authors", "language_code", "original_publication_year",
                                   "average_rating", "ratings_count", "books_count" };

static rec_status book_tags(rec_loader *L, const char *dir, rec_idmap *gr2e, int32_t *ents)
{
    char path[4200];
    snprintf(path, sizeof path, "%sbook_tags.csv", dir);
    char tpath[4200];
    snprintf(tpath, sizeof tpath, "%stags.csv", dir);
    if (!rec_file_exists(path) || !rec_file_exists(tpath))
        return REC_OK;
    rec_field *tg;
    REC_TRY(rec_load_field(L, REC_SIDE_ITEM, "tags", REC_FEATURE_MULTIHOT, &tg));
    /* tag_id -> name, kept as offsets into the tags.csv buffer. */
    rec_text tt, bt;
    REC_TRY(rec_text_open(&tt, tpath, L->fn));
    rec_idmap *names = NULL;
    rec_status st = rec_idmap_create(&names) ? rec_nomem(L->fn) : REC_OK;
    rec_idmap *tid = NULL;
    if (!st && rec_idmap_create(&tid))
        st = rec_nomem(L->fn);
    int nf, got = 0;
    long line;
    while (!st && (got = rec_text_record(&tt, ",", 1, L->tok, MAXCOLS, &nf, &line)) > 0) {
        if (!strcmp(L->tok[0].s, "tag_id"))
            continue;
        if (nf < 2) {
            st = rec_text_error(&tt, line, L->tok[0].col + L->tok[0].len,
                                "expected 2 columns, got %d", nf);
            break;
        }
        int32_t a, b;
        if (rec_idmap_intern(tid, L->tok[0].s, L->tok[0].len, &a, NULL) ||
            rec_idmap_intern(names, L->tok[1].s, L->tok[1].len, &b, NULL))
            st = rec_nomem(L->fn);
        else if (a != b) /* duplicate tag_id or name: keep ids aligned */
            st = rec_text_error(&tt, line, 1, "duplicate tag id or name '%s'", L->tok[1].s);
    }
    if (!st && got < 0)
        st = (rec_status)got;
    rec_text_close(&tt);
    if (!st)
        st = rec_text_open(&bt, path, L->fn);
    else
        bt.buf = NULL;
    while (!st && (got = rec_text_record(&bt, ",", 1, L->tok, MAXCOLS, &nf, &line)) > 0) {
        rec_tok *f = L->tok;
        if (!strcmp(f[0].s, "goodreads_book_id"))
            continue;
        if (nf < 2) {
            st = rec_text_error(&bt, line, f[0].col + f[0].len, "expected 3 columns, got %d",
                                nf);
            break;
        }
        int32_t g = rec_idmap_find(gr2e, f[0].s, f[0].len);
        int32_t k = rec_idmap_find(tid, f[1].s, f[1].len);
        if (k < 0) {
            st = rec_text_error(&bt, line, f[1].col, "unknown tag id '%s'", f[1].s);
            break;
        }
        if (g < 0 || ents[g] < 0)
            continue;
        const char *nm = rec_idmap_name(names, k);
        st = rec_load_put(L, rec_field_put_code(tg, ents[g], nm, strlen(nm)));
    }
    if (!st && got < 0)
        st = (rec_status)got;
    if (bt.buf)
        rec_text_close(&bt);
    rec_idmap_unref(names);
    rec_idmap_unref(tid);
    return st;
}

rec_status rec_load_goodbooks_books(rec_loader *L, const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%sbooks.csv", dir);
    if (!rec_file_exists(path)) {
        if (L->d->n == 0)
            return rec_err(REC_E_IO, "%s: cannot open '%s'", L->fn, path);
        return REC_OK;
    }
    rec_text t;
    REC_TRY(rec_text_open(&t, path, L->fn));
    rec_field *fl[NC] = { 0 };
    static const rec_feature_type ty[NC] = {
        0, 0, REC_FEATURE_TEXT, REC_FEATURE_TEXT, REC_FEATURE_TEXT, REC_FEATURE_CATEGORICAL,
        REC_FEATURE_NUMERIC, REC_FEATURE_NUMERIC, REC_FEATURE_NUMERIC, REC_FEATURE_NUMERIC };
    static const char *fname[NC] = { NULL, NULL, "title", "original_title", "authors_text",
                                     "language_code", "year", "average_rating",
                                     "ratings_count", "books_count" };
    rec_field *authors = NULL;
    rec_idmap *gr2e = NULL;   /* goodreads_book_id -> slot in ents */
    int32_t *ents = NULL;
    size_t ecap = 0;
    int col[NC];
    rec_status st = REC_OK;
    int nf, got;
    long line;
    got = rec_text_record(&t, ",", 1, L->tok, MAXCOLS, &nf, &line);
    if (got < 0)
        st = (rec_status)got;
    else if (got == 0)
        st = rec_text_error(&t, 1, 1, "empty file");
    int ncols = nf;
    for (int c = 0; !st && c < NC; c++) {
        col[c] = -1;
        for (int k = 0; k < nf; k++)
            if (!strcmp(L->tok[k].s, colname[c]))
                col[c] = k;
        if (c == C_ID && col[c] < 0)
            st = rec_text_error(&t, line, 1, "no book_id column in the header");
    }
    for (int c = 2; !st && c < NC; c++)
        if (col[c] >= 0)
            st = rec_load_field(L, REC_SIDE_ITEM, fname[c], ty[c], &fl[c]);
    if (!st && col[C_AUTH] >= 0)
        st = rec_load_field(L, REC_SIDE_ITEM, "authors", REC_FEATURE_MULTIHOT, &authors);
    if (!st && col[C_GR] >= 0 && rec_idmap_create(&gr2e))
        st = rec_nomem(L->fn);
    while (!st && (got = rec_text_record(&t, ",", 1, L->tok, MAXCOLS, &nf, &line)) > 0) {
        rec_tok *f = L->tok;
        if (nf != ncols) {
            size_t c = nf > ncols ? f[ncols].col : f[nf - 1].col + f[nf - 1].len;
            st = rec_text_error(&t, line, c, "expected %d columns, got %d", ncols, nf);
            break;
        }
        int32_t e;
        if ((st = rec_load_entity(L, REC_SIDE_ITEM, f[col[C_ID]].s, f[col[C_ID]].len, &e)))
            break;
        if (gr2e) {
            int32_t g;
            if (rec_idmap_intern(gr2e, f[col[C_GR]].s, f[col[C_GR]].len, &g, NULL)) {
                st = rec_nomem(L->fn);
                break;
            }
            if ((size_t)g >= ecap) {
                size_t nc = ecap ? ecap * 2 : 1024;
                int32_t *ne = rec_realloc(ents, ecap * sizeof *ne, nc * sizeof *ne);
                if (!ne) {
                    st = rec_nomem(L->fn);
                    break;
                }
                ents = ne;
                ecap = nc;
            }
            ents[g] = e;
        }
        if (e < 0)
            continue;
        for (int c = 2; !st && c < NC; c++) {
            if (!fl[c])
                continue;
            rec_tok *x = &f[col[c]];
            if (ty[c] == REC_FEATURE_NUMERIC) {
                double v;
                if (!x->len)
                    continue; /* missing year etc. */
                if (!rec_parse_double(x->s, &v) || !isfinite((float)v)) {
                    st = rec_text_error(&t, line, x->col, "%s '%s' is not a number",
                                        colname[c], x->s);
                    break;
                }
                st = rec_load_put(L, rec_field_put_number(fl[c], e, v));
            } else if (ty[c] == REC_FEATURE_CATEGORICAL) {
                if (x->len)
                    st = rec_load_put(L, rec_field_put_code(fl[c], e, x->s, x->len));
            } else if (x->len) {
                st = rec_load_put(L, rec_field_put_text(fl[c], e, x->s, x->len));
            }
        }
        if (!st && authors) {
            const char *p = f[col[C_AUTH]].s;
            while (!st && *p) {
                const char *c = strstr(p, ", ");
                size_t n = c ? (size_t)(c - p) : strlen(p);
                if (n)
                    st = rec_load_put(L, rec_field_put_code(authors, e, p, n));
                p += n + (c ? 2 : 0);
            }
        }
    }
    if (!st && got < 0)
        st = (rec_status)got;
    rec_text_close(&t);
    if (!st && gr2e)
        st = book_tags(L, dir, gr2e, ents);
    rec_free(ents, ecap * sizeof *ents);
    rec_idmap_unref(gr2e);
    return st;
}
