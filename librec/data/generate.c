/* The synthetic dataset: users with latent tastes over genres, items with
 * genres and a popularity skew, sessions in which an item's successor (the
 * next item of its genre) tends to follow it, ratings from taste, and
 * generated titles and descriptions whose words carry the genre.  With
 * context > 0 a session's genre also follows the time it starts, so that a
 * model reading time:hour and time:weekday has something to find; at 0 no
 * random number is drawn for it and the data are those from before the
 * key (tests and documented numbers rest on them). */
#include "data/data-impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const rec_param_spec gen_spec[] = {
    { "users", REC_PARAM_INT, "500", 1, 10000000, NULL, "number of users" },
    { "items", REC_PARAM_INT, "800", 2, 10000000, NULL, "number of items" },
    { "genres", REC_PARAM_INT, "12", 2, 64, NULL, "number of genres" },
    { "interactions-per-user", REC_PARAM_INT, "40", 1, 100000, NULL,
      "mean interactions per user" },
    { "popularity", REC_PARAM_FLOAT, "1.0", 0, 3, NULL, "Zipf exponent of item popularity" },
    { "taste", REC_PARAM_FLOAT, "0.85", 0, 1, NULL,
      "share of a user's actions in the favourite genres" },
    { "interests", REC_PARAM_INT, "2", 1, 64, NULL,
      "favourite genres per user, distinct (2: the taste split 60/40; otherwise evenly)" },
    { "sequential", REC_PARAM_FLOAT, "0.6", 0, 1, NULL,
      "chance that the next action follows the item's successor" },
    { "session-length", REC_PARAM_INT, "6", 1, 1000, NULL, "mean session length" },
    { "ratings", REC_PARAM_BOOL, "true", 0, 0, NULL, "generate 1-5 star ratings" },
    { "seed", REC_PARAM_INT, "42", 0, 9.2e18, NULL, "random seed" },
    { "context", REC_PARAM_FLOAT, "0", 0, 1, NULL,
      "chance that a session's genre is one favoured at its start time (UTC day part, "
      "shifted at weekends)" },
};
#define NSPEC (sizeof gen_spec / sizeof gen_spec[0])

static const char *genre_names[] = { "Action", "Comedy", "Drama", "Horror", "Romance",
                                     "Sci-Fi", "Thriller", "Documentary", "Animation",
                                     "Fantasy", "Mystery", "Western", "Crime", "Musical",
                                     "War", "Adventure", "Family", "Noir" };
#define NNAMED 18
/* Words that carry each named genre into titles and descriptions. */
static const char *genre_words[NNAMED][4] = {
    { "Strike", "Fury", "Mission", "Blast" },     { "Wedding", "Mixup", "Holiday", "Prank" },
    { "Silence", "Letters", "Winter", "Promise" }, { "Haunting", "Cellar", "Curse", "Blood" },
    { "Kiss", "Paris", "Heart", "Summer" },       { "Orbit", "Android", "Galaxy", "Signal" },
    { "Witness", "Conspiracy", "Alibi", "Chase" }, { "Planet", "Rivers", "Inside", "Truth" },
    { "Dragonfly", "Toybox", "Meadow", "Pixel" },  { "Wizard", "Kingdom", "Sword", "Spell" },
    { "Riddle", "Manor", "Clue", "Vanishing" },    { "Canyon", "Outlaw", "Frontier", "Saddle" },
    { "Heist", "Mob", "Syndicate", "Verdict" },    { "Melody", "Stage", "Chorus", "Ballad" },
    { "Trench", "Battalion", "Front", "Medal" },   { "Island", "Treasure", "Voyage", "Jungle" },
    { "Puppy", "Grandma", "Picnic", "Treehouse" }, { "Shadow", "Rain", "Dame", "Cigarette" },
};
static const char *adjectives[] = { "Last", "Hidden", "Golden", "Broken", "Silent", "Lost",
                                    "Final", "Crimson", "Secret", "Endless", "Little", "Wild" };

typedef struct gen {
    int32_t nu, ni, ng;
    int32_t *gitems, *gstart;  /* items grouped by primary genre                 */
    double *gcum;              /* cumulative popularity within the genre group    */
    int32_t *prim, *succ;      /* primary genre, successor item                   */
    float *quality;
    unsigned char *seen;       /* [ni] per user, reset                            */
} gen;

static const char *gword(int g, int k)
{
    return g < NNAMED ? genre_words[g][k & 3] : "Theme";
}

static void genre_name(int g, char *buf, size_t n)
{
    if (g < NNAMED)
        snprintf(buf, n, "%s", genre_names[g]);
    else
        snprintf(buf, n, "Genre%d", g + 1);
}

/* Whether genre g is favoured at time t: the day part of t's hour, as
 * time:hour reads it (0 night 0-5 h, 1 morning, 2 afternoon, 3 evening),
 * is g mod 4 on weekdays and two parts later at weekends (time:weekday
 * 5, 6), so that the weekday carries something the hour alone does not. */
static int favoured_at(int g, int64_t t)
{
    int part = rec_ctx_time_code(REC_CTX_HOUR, t) / 6;
    int weekend = rec_ctx_time_code(REC_CTX_WEEKDAY, t) >= 5;
    return (g + 2 * weekend) % 4 == part;
}

/* The genre whose cumulative weight first exceeds x (the last one if none:
 * the weights may sum to a hair under x's range). */
static int draw_genre(const double *w, int ng, double x)
{
    double c = 0;
    for (int k = 0; k < ng; k++) {
        c += w[k];
        if (x < c)
            return k;
    }
    return ng - 1;
}

/* Item of genre g by popularity (binary search in the cumulative weights). */
static int32_t pick(const gen *G, rec_rng *r, int g)
{
    int32_t a = G->gstart[g], b = G->gstart[g + 1];
    if (a == b)
        return (int32_t)rec_rng_below(r, (uint32_t)G->ni);
    double x = rec_rng_uniform(r) * G->gcum[b - 1];
    int32_t lo = a, hi = b - 1;
    while (lo < hi) {
        int32_t m = (lo + hi) / 2;
        if (G->gcum[m] > x)
            hi = m;
        else
            lo = m + 1;
    }
    return G->gitems[lo];
}

static rec_status build(rec_dataset *d, const rec_params *p, gen *G, const char *fn)
{
    uint64_t seed = (uint64_t)rec_params_int(p, gen_spec, NSPEC, "seed");
    double alpha = rec_params_flt(p, gen_spec, NSPEC, "popularity");
    double taste = rec_params_flt(p, gen_spec, NSPEC, "taste");
    double seq = rec_params_flt(p, gen_spec, NSPEC, "sequential");
    int64_t per = rec_params_int(p, gen_spec, NSPEC, "interactions-per-user");
    int64_t slen = rec_params_int(p, gen_spec, NSPEC, "session-length");
    int ratings = rec_params_bool(p, gen_spec, NSPEC, "ratings");
    int nfav = (int)rec_params_int(p, gen_spec, NSPEC, "interests");
    double ctx = rec_params_flt(p, gen_spec, NSPEC, "context");
    int32_t nu = G->nu, ni = G->ni, ng = G->ng;
    rec_rng r;
    rec_rng_seed(&r, seed);
    char buf[512], name[64];
    int32_t idx;
    /* Ids first, so user k is index k-1 and item k index k-1. */
    for (int32_t u = 0; u < nu; u++) {
        int n = snprintf(name, sizeof name, "u%d", u + 1);
        REC_TRY(rec_ds_intern(d, REC_SIDE_USER, name, (size_t)n, &idx, fn));
    }
    for (int32_t i = 0; i < ni; i++) {
        int n = snprintf(name, sizeof name, "i%d", i + 1);
        REC_TRY(rec_ds_intern(d, REC_SIDE_ITEM, name, (size_t)n, &idx, fn));
    }
    rec_features *fi, *fu;
    int kg, kt, kd, ky, kl, kr, ka;
    REC_TRY(rec_ds_own_features(d, REC_SIDE_ITEM, &fi, fn));
    REC_TRY(rec_ds_own_features(d, REC_SIDE_USER, &fu, fn));
    REC_TRY(rec_features_add(fi, "genres", REC_FEATURE_MULTIHOT, &kg, fn));
    REC_TRY(rec_features_add(fi, "title", REC_FEATURE_TEXT, &kt, fn));
    REC_TRY(rec_features_add(fi, "description", REC_FEATURE_TEXT, &kd, fn));
    REC_TRY(rec_features_add(fi, "year", REC_FEATURE_NUMERIC, &ky, fn));
    REC_TRY(rec_features_add(fi, "length", REC_FEATURE_NUMERIC, &kl, fn));
    REC_TRY(rec_features_add(fu, "region", REC_FEATURE_CATEGORICAL, &kr, fn));
    REC_TRY(rec_features_add(fu, "age", REC_FEATURE_NUMERIC, &ka, fn));
#define PUT(x)                                                               \
    do {                                                                     \
        if ((x) != REC_OK)                                                   \
            return rec_nomem(fn);                                            \
    } while (0)
    /* Items: genres, popularity rank, words. */
    int32_t *rank = G->succ; /* borrowed as scratch for the popularity ranks */
    for (int32_t i = 0; i < ni; i++)
        rank[i] = i;
    rec_rng_shuffle_i32(&r, rank, (size_t)ni);
    for (int32_t i = 0; i < ni; i++) {
        int g = (int)rec_rng_below(&r, (uint32_t)ng);
        G->prim[i] = g;
        G->quality[i] = 0.5f * rec_rng_normal(&r);
        char gn[32];
        genre_name(g, gn, sizeof gn);
        PUT(rec_field_put_code(fi->f[kg], i, gn, strlen(gn)));
        int g2 = -1;
        if (rec_rng_uniform(&r) < 0.4f) {
            g2 = (int)rec_rng_below(&r, (uint32_t)ng);
            if (g2 != g) {
                genre_name(g2, gn, sizeof gn);
                PUT(rec_field_put_code(fi->f[kg], i, gn, strlen(gn)));
            } else {
                g2 = -1;
            }
        }
        const char *adj = adjectives[rec_rng_below(&r, 12)];
        int w = (int)rec_rng_below(&r, 4);
        int n = snprintf(buf, sizeof buf, "The %s %s%s", adj, gword(g, w),
                         rec_rng_uniform(&r) < 0.15f ? " II" : "");
        PUT(rec_field_put_text(fi->f[kt], i, buf, (size_t)n));
        n = snprintf(buf, sizeof buf,
                     "A %s story of %s and %s. %s meets %s in a tale of %s.",
                     adjectives[rec_rng_below(&r, 12)], gword(g, w + 1), gword(g, w + 2),
                     gword(g, w + 3), g2 >= 0 ? gword(g2, w) : gword(g, w),
                     g < NNAMED ? genre_names[g] : "themes");
        PUT(rec_field_put_text(fi->f[kd], i, buf, (size_t)n));
        PUT(rec_field_put_number(fi->f[ky], i, 1950 + rec_rng_below(&r, 74)));
        PUT(rec_field_put_number(fi->f[kl], i, floor(90 * exp(0.35 * rec_rng_normal(&r)))));
    }
    /* Group by primary genre; cumulative Zipf weights of the ranks. */
    for (int g = 0; g <= ng; g++)
        G->gstart[g] = 0;
    for (int32_t i = 0; i < ni; i++)
        G->gstart[G->prim[i] + 1]++;
    for (int g = 0; g < ng; g++)
        G->gstart[g + 1] += G->gstart[g];
    for (int32_t i = 0; i < ni; i++)
        G->gitems[G->gstart[G->prim[i]]++] = i;
    for (int g = ng; g > 0; g--)
        G->gstart[g] = G->gstart[g - 1];
    G->gstart[0] = 0;
    for (int g = 0; g < ng; g++) {
        double c = 0;
        for (int32_t k = G->gstart[g]; k < G->gstart[g + 1]; k++) {
            c += pow((double)rank[G->gitems[k]] + 1.0, -alpha);
            G->gcum[k] = c;
        }
    }
    for (int g = 0; g < ng; g++)
        for (int32_t k = G->gstart[g]; k < G->gstart[g + 1]; k++)
            G->succ[G->gitems[k]] =
                G->gitems[k + 1 < G->gstart[g + 1] ? k + 1 : G->gstart[g]];
    /* Users and their sessions. */
    double *pg = rec_malloc(2 * (size_t)ng * sizeof *pg);
    if (!pg)
        return rec_nomem(fn);
    double *pslot = pg + ng; /* pg kept to the genres favoured at a session's start */
    rec_status st = REC_OK;
    for (int32_t u = 0; u < nu && !st; u++) {
        int f1 = (int)rec_rng_below(&r, (uint32_t)ng);
        if (nfav == 2) { /* the draws and shares of the data before "interests" */
            int f2 = (int)rec_rng_below(&r, (uint32_t)(ng - 1));
            f2 += f2 >= f1;
            double rest = ng > 2 ? (1 - taste) / (ng - 2) : 0;
            for (int g = 0; g < ng; g++)
                pg[g] = g == f1 ? taste * 0.6 : g == f2 ? taste * 0.4 : rest;
            if (ng == 2) {
                pg[f1] += (1 - taste) * 0.5;
                pg[f2] += (1 - taste) * 0.5;
            }
        } else {
            /* nfav distinct genres, f1 first, each taste / nfav; a session
             * keeps to one genre, so a history interleaves the tastes */
            double rest = ng > nfav ? (1 - taste) / (ng - nfav) : 0;
            for (int g = 0; g < ng; g++)
                pg[g] = rest;
            pg[f1] = -1;
            for (int k = 1; k < nfav; k++) {
                int g = (int)rec_rng_below(&r, (uint32_t)(ng - k)), j = -1;
                while (g >= 0) /* the g-th genre not yet taken */
                    g -= pg[++j] >= 0;
                pg[j] = -1;
            }
            double fav = (taste + (ng == nfav ? 1 - taste : 0)) / nfav;
            for (int g = 0; g < ng; g++)
                pg[g] = pg[g] < 0 ? fav : pg[g];
        }
        char reg[16];
        int rg = rec_rng_uniform(&r) < 0.7f ? f1 % 4 : (int)rec_rng_below(&r, 4);
        int n = snprintf(reg, sizeof reg, "region%d", rg + 1);
        st = rec_field_put_code(fu->f[kr], u, reg, (size_t)n);
        if (!st)
            st = rec_field_put_number(fu->f[ka], u, 18 + rec_rng_below(&r, 50));
        int64_t want = (int64_t)llround((double)per * exp(0.5 * rec_rng_normal(&r)));
        want = want < 5 ? 5 : want;
        want = want > ni / 2 ? ni / 2 : want;
        want = want < 1 ? 1 : want;
        memset(G->seen, 0, (size_t)ni);
        int64_t t = 1500000000 + (int64_t)rec_rng_below(&r, 30000000);
        int64_t got = 0;
        while (got < want && !st) {
            double x = rec_rng_uniform(&r);
            int64_t len = 1 + (int64_t)floor(-log(1.0 - rec_rng_uniform(&r)) * (double)(slen - 1));
            t += 3600 * (6 + (int64_t)rec_rng_below(&r, 72));
            const double *w = pg;
            if (ctx > 0 && rec_rng_uniform(&r) < ctx) {
                double sum = 0;
                for (int k = 0; k < ng; k++)
                    sum += pslot[k] = favoured_at(k, t) ? pg[k] : 0;
                if (sum > 0) { /* else no genre is favoured then (genres < 4, or taste=1) */
                    w = pslot;
                    x *= sum;
                }
            }
            int g = draw_genre(w, ng, x);
            int32_t prev = -1;
            for (int64_t s = 0; s < len && got < want && !st; s++) {
                int32_t it = prev >= 0 && rec_rng_uniform(&r) < seq ? G->succ[prev]
                                                                    : pick(G, &r, g);
                for (int tries = 0; G->seen[it] && tries < 8; tries++)
                    it = pick(G, &r, g);
                if (G->seen[it]) {
                    int32_t k = (int32_t)rec_rng_below(&r, (uint32_t)ni);
                    while (G->seen[k])
                        k = k + 1 < ni ? k + 1 : 0;
                    it = k;
                }
                G->seen[it] = 1;
                float rating = 0;
                if (ratings) {
                    double a = pg[G->prim[it]] / pg[f1];
                    double v = 1.5 + 2.5 * a + G->quality[it] + 0.6 * rec_rng_normal(&r);
                    v = v < 1 ? 1 : v > 5 ? 5 : v;
                    rating = (float)floor(v + 0.5);
                }
                t += 60 + (int64_t)rec_rng_below(&r, 900);
                st = rec_ds_push(d, u, it, rating, t);
                prev = it;
                got++;
            }
        }
    }
    rec_free(pg, 2 * (size_t)ng * sizeof *pg);
    if (st)
        return st == REC_E_NOMEM ? rec_nomem(fn) : rec_err(st, "%s: too many rows", fn);
    if (rec_features_ready(fi, ni) || rec_features_ready(fu, nu))
        return rec_nomem(fn);
    return REC_OK;
#undef PUT
}

REC_API rec_status rec_dataset_generate(rec_dataset **out, const rec_params *opts)
{
    static const char fn[] = "rec_dataset_generate";
    REC_CHECK_ARG(out, fn, "out is NULL");
    *out = NULL;
    REC_TRY(rec_params_check(opts, gen_spec, NSPEC, fn));
    gen G;
    memset(&G, 0, sizeof G);
    G.nu = (int32_t)rec_params_int(opts, gen_spec, NSPEC, "users");
    G.ni = (int32_t)rec_params_int(opts, gen_spec, NSPEC, "items");
    G.ng = (int32_t)rec_params_int(opts, gen_spec, NSPEC, "genres");
    int64_t nfav = rec_params_int(opts, gen_spec, NSPEC, "interests");
    if (nfav > G.ng)
        return rec_err(REC_E_INVALID, "%s: interests=%lld favourite genres of %d genres", fn,
                       (long long)nfav, G.ng);
    size_t ni = (size_t)G.ni, ng = (size_t)G.ng;
    rec_dataset *d = NULL;
    rec_status st = rec_dataset_create(&d);
    if (!st) {
        d->has_r = rec_params_bool(opts, gen_spec, NSPEC, "ratings");
        d->has_t = 1;
        G.gitems = rec_malloc(ni * sizeof *G.gitems);
        G.gstart = rec_malloc((ng + 1) * sizeof *G.gstart);
        G.gcum = rec_malloc(ni * sizeof *G.gcum);
        G.prim = rec_malloc(ni * sizeof *G.prim);
        G.succ = rec_malloc(ni * sizeof *G.succ);
        G.quality = rec_malloc(ni * sizeof *G.quality);
        G.seen = rec_malloc(ni);
        if (!G.gitems || !G.gstart || !G.gcum || !G.prim || !G.succ || !G.quality || !G.seen)
            st = rec_nomem(fn);
        else
            st = build(d, opts, &G, fn);
    }
    rec_free(G.gitems, ni * sizeof *G.gitems);
    rec_free(G.gstart, (ng + 1) * sizeof *G.gstart);
    rec_free(G.gcum, ni * sizeof *G.gcum);
    rec_free(G.prim, ni * sizeof *G.prim);
    rec_free(G.succ, ni * sizeof *G.succ);
    rec_free(G.quality, ni * sizeof *G.quality);
    rec_free(G.seen, ni);
    if (st) {
        rec_dataset_destroy(d);
        return st;
    }
    *out = d;
    return REC_OK;
}
