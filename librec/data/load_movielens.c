/* MovieLens side files next to the ratings: 100K (u.item, u.genre, u.user),
 * 1M (movies.dat, users.dat) and latest (movies.csv, tags.csv).
 * Item fields: title (text), genres (multi-hot), year (numeric, from the
 * title's "(1995)"), and for latest also tags (multi-hot, stripped and
 * lower-cased) and tag_text (text: every tag row as written, file order).
 * User fields: gender, occupation, zip (categorical) and age (numeric in
 * 100K; categorical in 1M, where it is an age-bucket code). */
#include "data/load-impl.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const char *ml100k_genres[19] = {
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western"
};

/* Year from a title ending in "(1995)" (blanks allowed after); 0 if none. */
static int title_year(const char *s, size_t n)
{
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\r'))
        n--;
    if (n < 6 || s[n - 1] != ')' || s[n - 6] != '(')
        return 0;
    int y = 0;
    for (size_t k = n - 5; k < n - 1; k++) {
        if (!isdigit((unsigned char)s[k]))
            return 0;
        y = y * 10 + (s[k] - '0');
    }
    return y;
}

typedef struct side {
    rec_loader *L;
    rec_text t;
    char path[4200];
} side;

static int open_side(side *S, rec_loader *L, const char *dir, const char *name, rec_status *st)
{
    S->L = L;
    snprintf(S->path, sizeof S->path, "%s%s", dir, name);
    if (!rec_file_exists(S->path))
        return 0;
    *st = rec_text_open(&S->t, S->path, L->fn);
    return *st == REC_OK;
}

static rec_status need_cols(side *S, int nf, int want, long line)
{
    if (nf < want) {
        rec_tok *f = &S->L->tok[nf - 1];
        return rec_text_error(&S->t, line, f->col + f->len, "expected %d columns, got %d",
                              want, nf);
    }
    return REC_OK;
}

/* Item rows common to all layouts: id, title, genre list (sep '|'). */
static rec_status put_movie(rec_loader *L, rec_field *title, rec_field *genres, rec_field *year,
                            rec_tok *id, rec_tok *ttl, const char *glist)
{
    int32_t e;
    REC_TRY(rec_load_entity(L, REC_SIDE_ITEM, id->s, id->len, &e));
    if (e < 0)
        return REC_OK;
    REC_TRY(rec_load_put(L, rec_field_put_text(title, e, ttl->s, ttl->len)));
    int y = title_year(ttl->s, ttl->len);
    if (y)
        REC_TRY(rec_load_put(L, rec_field_put_number(year, e, y)));
    for (const char *p = glist; glist && *p;) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n)
            REC_TRY(rec_load_put(L, rec_field_put_code(genres, e, p, n)));
        p += n + (bar != NULL);
    }
    return REC_OK;
}

static rec_status movies(rec_loader *L, const char *dir, int layout)
{
    static const char *names[] = { "u.item", "movies.dat", "movies.csv" };
    side S;
    rec_status st = REC_OK;
    if (!open_side(&S, L, dir, names[layout], &st))
        return st;
    rec_field *title, *genres, *year;
    const char *gname[64];
    int ng = 0;
    char gbuf[2048];
    size_t gl = 0;
    st = rec_load_field(L, REC_SIDE_ITEM, "title", REC_FEATURE_TEXT, &title);
    if (!st)
        st = rec_load_field(L, REC_SIDE_ITEM, "genres", REC_FEATURE_MULTIHOT, &genres);
    if (!st)
        st = rec_load_field(L, REC_SIDE_ITEM, "year", REC_FEATURE_NUMERIC, &year);
    if (!st && layout == 0) {
        /* u.genre names the 0/1 flag columns; the standard 19 otherwise. */
        for (; ng < 19; ng++)
            gname[ng] = ml100k_genres[ng];
        side G;
        rec_status gs = REC_OK;
        if (open_side(&G, L, dir, "u.genre", &gs)) {
            int nf, got;
            long line;
            ng = 0;
            while ((got = rec_text_record(&G.t, "|", 0, L->tok, MAXCOLS, &nf, &line)) > 0 &&
                   ng < 64) {
                size_t n = L->tok[0].len;
                if (gl + n + 1 > sizeof gbuf)
                    break;
                memcpy(gbuf + gl, L->tok[0].s, n + 1);
                gname[ng++] = gbuf + gl;
                gl += n + 1;
            }
            rec_text_close(&G.t);
            if (got < 0)
                gs = (rec_status)got;
        }
        st = gs;
    }
    int nf, got = 0;
    long line;
    const char *delim = layout == 0 ? "|" : layout == 1 ? "::" : ",";
    int first = 1;
    while (!st && (got = rec_text_record(&S.t, delim, layout == 2, L->tok, MAXCOLS, &nf,
                                         &line)) > 0) {
        rec_tok *f = L->tok;
        if (layout == 2 && first && !strcmp(f[0].s, "movieId")) {
            first = 0;
            continue;
        }
        first = 0;
        if (layout == 0) {
            if ((st = need_cols(&S, nf, 5 + ng, line)))
                break;
            char gl2[1024];
            size_t o = 0;
            gl2[0] = 0;
            for (int g = 0; g < ng; g++) {
                rec_tok *x = &f[5 + g];
                if (strcmp(x->s, "0") && strcmp(x->s, "1")) {
                    st = rec_text_error(&S.t, line, x->col, "genre flag '%s' is not 0 or 1",
                                        x->s);
                    break;
                }
                size_t n = strlen(gname[g]);
                if (x->s[0] == '1' && o + n + 2 < sizeof gl2) {
                    if (o)
                        gl2[o++] = '|';
                    memcpy(gl2 + o, gname[g], n + 1);
                    o += n;
                }
            }
            if (!st)
                st = put_movie(L, title, genres, year, &f[0], &f[1], gl2);
        } else {
            if ((st = need_cols(&S, nf, 3, line)))
                break;
            st = put_movie(L, title, genres, year, &f[0], &f[1], f[2].s);
        }
    }
    if (!st && got < 0)
        st = (rec_status)got;
    rec_text_close(&S.t);
    return st;
}

static rec_status tags(rec_loader *L, const char *dir)
{
    side S;
    rec_status st = REC_OK;
    if (!open_side(&S, L, dir, "tags.csv", &st))
        return st;
    rec_field *tg, *tt;
    st = rec_load_field(L, REC_SIDE_ITEM, "tags", REC_FEATURE_MULTIHOT, &tg);
    if (!st)
        st = rec_load_field(L, REC_SIDE_ITEM, "tag_text", REC_FEATURE_TEXT, &tt);
    int nf, got = 0, first = 1;
    long line;
    while (!st && (got = rec_text_record(&S.t, ",", 1, L->tok, MAXCOLS, &nf, &line)) > 0) {
        rec_tok *f = L->tok;
        if (first && !strcmp(f[0].s, "userId")) {
            first = 0;
            continue;
        }
        first = 0;
        if ((st = need_cols(&S, nf, 3, line)))
            break;
        int32_t e;
        if ((st = rec_load_entity(L, REC_SIDE_ITEM, f[1].s, f[1].len, &e)))
            break;
        /* Vocabulary: stripped, lower-cased (ASCII), over every tag row even
         * of unrated movies (as the peers count it); the text keeps the tag. */
        char low[512];
        const char *s = f[2].s;
        size_t n = f[2].len;
        while (n && isspace((unsigned char)*s))
            s++, n--;
        while (n && isspace((unsigned char)s[n - 1]))
            n--;
        if (n >= sizeof low)
            n = sizeof low - 1;
        for (size_t k = 0; k < n; k++)
            low[k] = (char)tolower((unsigned char)s[k]);
        int32_t code;
        if (n && rec_idmap_intern(tg->vocab, low, n, &code, NULL))
            st = rec_nomem(L->fn);
        if (e < 0)
            continue;
        if (!st && n)
            st = rec_load_put(L, rec_field_put_code(tg, e, low, n));
        if (!st)
            st = rec_load_put(L, rec_field_put_text(tt, e, f[2].s, f[2].len));
    }
    if (!st && got < 0)
        st = (rec_status)got;
    rec_text_close(&S.t);
    return st;
}

static rec_status users(rec_loader *L, const char *dir, int layout)
{
    side S;
    rec_status st = REC_OK;
    if (!open_side(&S, L, dir, layout == 0 ? "u.user" : "users.dat", &st))
        return st;
    rec_field *age, *gender, *occ, *zip;
    st = rec_load_field(L, REC_SIDE_USER, "age",
                        layout == 0 ? REC_FEATURE_NUMERIC : REC_FEATURE_CATEGORICAL, &age);
    if (!st)
        st = rec_load_field(L, REC_SIDE_USER, "gender", REC_FEATURE_CATEGORICAL, &gender);
    if (!st)
        st = rec_load_field(L, REC_SIDE_USER, "occupation", REC_FEATURE_CATEGORICAL, &occ);
    if (!st)
        st = rec_load_field(L, REC_SIDE_USER, "zip", REC_FEATURE_CATEGORICAL, &zip);
    int nf, got = 0;
    long line;
    while (!st && (got = rec_text_record(&S.t, layout == 0 ? "|" : "::", 0, L->tok, MAXCOLS,
                                         &nf, &line)) > 0) {
        rec_tok *f = L->tok;
        if ((st = need_cols(&S, nf, 5, line)))
            break;
        /* 100K: id|age|gender|occupation|zip; 1M: id::gender::age::occupation::zip */
        rec_tok *a = layout == 0 ? &f[1] : &f[2], *g = layout == 0 ? &f[2] : &f[1];
        double av = 0;
        if (layout == 0 && !rec_parse_double(a->s, &av)) {
            st = rec_text_error(&S.t, line, a->col, "age '%s' is not a number", a->s);
            break;
        }
        int32_t e;
        if ((st = rec_load_entity(L, REC_SIDE_USER, f[0].s, f[0].len, &e)) || e < 0)
            continue;
        st = layout == 0 ? rec_field_put_number(age, e, av)
                         : rec_field_put_code(age, e, a->s, a->len);
        if (!st)
            st = rec_field_put_code(gender, e, g->s, g->len);
        if (!st)
            st = rec_field_put_code(occ, e, f[3].s, f[3].len);
        if (!st)
            st = rec_field_put_code(zip, e, f[4].s, f[4].len);
        st = rec_load_put(L, st);
    }
    if (!st && got < 0)
        st = (rec_status)got;
    rec_text_close(&S.t);
    return st;
}

rec_status rec_load_movielens_side(rec_loader *L, const char *dir, int layout)
{
    REC_TRY(movies(L, dir, layout));
    if (layout == 2)
        return tags(L, dir);
    return users(L, dir, layout);
}
