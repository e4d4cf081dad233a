/* Item text in the two-tower model, two ways (examples/README.md, section
 * "(d) Cold start"):
 *   trained  item_features=title,... : the tower's own text encoder
 *            (text_encoder=mean|conv|transformer), trained with the towers;
 *   --dense K  precomputed vectors: TF-IDF of each movie's title and genres
 *            (hashed terms, smoothed idf, unit rows) projected to K
 *            dimensions by a seeded Gaussian random projection, loaded as
 *            the dense item field "tfidf" (give item_features=tfidf,...).
 * Any other --model (tfidf) is fitted and scored the same way.
 * The split is `librec eval`'s --split cold-items:0.2 (seed 42), scored by
 * the cold protocol; --valid fits on its training part split again
 * (cold-items:0.2, seed 7) and scores that held-out part, the validation
 * split defaults are chosen on, never the test items; --valid-seed S
 * draws that validation split with seed S instead (more folds, less noise).
 * --warm scores warm items instead: --split holdout:0.2 (seed 42; --valid
 * splits its training part again the same way), the full protocol.
 * Serving: every catalogue item described again at call time (title,
 * genres, year; with --dense its vector computed from that text) and added
 * under a new id with rec_model_add_items, in CPU milliseconds per 1,000
 * items.  Times are CPU seconds of the process beside the fit's wall time.
 * Prints one JSON line on stdout.
 * Usage: text_encoder --data ratings.csv [--valid | --valid-seed S] [--warm] [--model KIND]
 *                     [--dense K] [KEY=VALUE ...]   (the model's params) */
#include <librec/librec.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds of the process (every thread): on a shared machine the wall
 * clock measures the neighbours as much as the work. */
static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int die(const char *what)
{
    fprintf(stderr, "text_encoder: %s: %s\n", what, rec_last_error());
    return 1;
}

/* ---- TF-IDF + random projection, self-contained ------------------------- */

enum { NT = 1 << 18 };  /* hashed term space */

static uint64_t mix(uint64_t h)
{
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

/* Terms of a title (lower-case ASCII letter/digit runs of 2 or more) and of
 * genres ("g:" + value) into t[max]; returns the count. */
static int terms(const char *title, const char *genres, uint32_t *t, int max)
{
    int n = 0;
    for (int pass = 0; pass < 2; pass++) {
        const char *s = pass ? genres : title;
        while (s && *s && n < max) {
            uint64_t h = pass ? 0x9e3779b97f4a7c15ULL : 0xcbf29ce484222325ULL;
            int len = 0;
            for (; *s && (pass ? *s != '|' : isalnum((unsigned char)*s) != 0); s++, len++)
                h = (h ^ (uint64_t)tolower((unsigned char)*s)) * 0x100000001b3ULL;
            if (len >= 2 || (pass && len))
                t[n++] = (uint32_t)(mix(h) % NT);
            if (*s)
                s++;
        }
    }
    return n;
}

/* One value of the term's fixed Gaussian column j (Box-Muller on two hashes). */
static float gauss(uint32_t term, int j)
{
    uint64_t a = mix(((uint64_t)term << 20) ^ (uint64_t)j), b = mix(a + 0x632be59bd9b4e019ULL);
    double u = ((double)(a >> 11) + 0.5) / 9007199254740992.0;
    double v = (double)(b >> 11) / 9007199254740992.0;
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

/* The unit K-vector of a text given the idf table. */
static void embed(const char *title, const char *genres, const float *idf, int K, float *out)
{
    uint32_t t[256];
    int n = terms(title, genres, t, 256);
    memset(out, 0, (size_t)K * sizeof *out);
    double norm = 0;
    for (int a = 0; a < n; a++) {
        int dup = 0;
        for (int b = 0; b < a; b++)
            dup |= t[b] == t[a];
        if (dup)
            continue;
        int tf = 0;
        for (int b = 0; b < n; b++)
            tf += t[b] == t[a];
        float w = (float)tf * idf[t[a]];
        norm += (double)w * w;
        for (int j = 0; j < K; j++)
            out[j] += w * gauss(t[a], j);
    }
    double s = 0;
    for (int j = 0; j < K; j++)
        s += (double)out[j] * out[j];
    for (int j = 0; j < K; j++)
        out[j] = s > 0 ? (float)(out[j] / sqrt(s)) : 0.0f;
    (void)norm;
}

typedef struct fields {
    int title, genres, year;
} fields;

static const char *title_of(const rec_dataset *d, const fields *f, int32_t i)
{
    const char *t = "";
    rec_dataset_feature_text(d, REC_SIDE_ITEM, f->title, i, &t);
    return t;
}

/* "Action|Comedy" into buf. */
static const char *genres_of(const rec_dataset *d, const fields *f, int32_t i, char *buf,
                             size_t cap)
{
    const int32_t *c;
    int32_t n = 0;
    size_t at = 0;
    buf[0] = 0;
    if (rec_dataset_feature_codes(d, REC_SIDE_ITEM, f->genres, i, &c, &n))
        return buf;
    for (int32_t j = 0; j < n; j++) {
        const char *v;
        if (!rec_dataset_field_value_name(d, REC_SIDE_ITEM, f->genres, c[j], &v))
            at += (size_t)snprintf(buf + at, cap - at, "%s%s", j ? "|" : "", v);
        if (at >= cap)
            break;
    }
    return buf;
}

static float *idf_table(const rec_dataset *d, const fields *f, int32_t ni)
{
    float *idf = calloc(NT, sizeof *idf);
    if (!idf)
        return NULL;
    char g[512];
    uint32_t t[256];
    for (int32_t i = 0; i < ni; i++) {
        int n = terms(title_of(d, f, i), genres_of(d, f, i, g, sizeof g), t, 256);
        for (int a = 0; a < n; a++) {
            int dup = 0;
            for (int b = 0; b < a; b++)
                dup |= t[b] == t[a];
            if (!dup)
                idf[t[a]] += 1;
        }
    }
    for (int k = 0; k < NT; k++)
        idf[k] = (float)(log((1.0 + ni) / (1.0 + idf[k])) + 1.0);
    return idf;
}

static int add_dense(rec_dataset *d, const fields *f, int K, float **idf_out)
{
    int32_t ni;
    rec_dataset_num_items(d, &ni);
    float *idf = idf_table(d, f, ni), *v = malloc((size_t)K * sizeof *v);
    if (!idf || !v || rec_dataset_add_field(d, REC_SIDE_ITEM, "tfidf", REC_FEATURE_DENSE, NULL))
        return die("dense field");
    char g[512];
    for (int32_t i = 0; i < ni; i++) {
        const char *id;
        embed(title_of(d, f, i), genres_of(d, f, i, g, sizeof g), idf, K, v);
        if (rec_dataset_item_id(d, i, &id) ||
            rec_dataset_set_vector(d, REC_SIDE_ITEM, "tfidf", id, v, (size_t)K, 0))
            return die("rec_dataset_set_vector");
    }
    free(v);
    *idf_out = idf;
    return 0;
}

/* Milliseconds per 1,000 items to describe every catalogue item again and
 * add it under a new id; -1 when the model has no call-time features. */
static double serve_ms(rec_model *m, const rec_dataset *d, const fields *f, int K,
                       const float *idf)
{
    int32_t ni;
    rec_dataset_num_items(d, &ni);
    rec_feature_set **fs = calloc((size_t)ni, sizeof *fs);
    char **ids = calloc((size_t)ni, sizeof *ids);
    float *v = malloc((size_t)(K ? K : 1) * sizeof *v);
    if (!fs || !ids || !v)
        return -1;
    double t0 = cpu(), ms = -1;
    char g[512], y[32];
    int k = 0;
    for (; k < ni; k++) {
        const char *t = title_of(d, f, k), *gs = genres_of(d, f, k, g, sizeof g);
        double yr;
        ids[k] = malloc(32);
        if (!ids[k] || rec_feature_set_create(&fs[k], m, REC_SIDE_ITEM))
            break;
        snprintf(ids[k], 32, "new:%d", k);
        /* a field the model does not read is REC_E_NOTFOUND: skipped */
        rec_feature_set_set(fs[k], "title", t);
        if (*gs)
            rec_feature_set_set(fs[k], "genres", gs);
        if (!rec_dataset_feature_number(d, REC_SIDE_ITEM, f->year, k, &yr) && !isnan(yr)) {
            snprintf(y, sizeof y, "%.0f", yr);
            rec_feature_set_set(fs[k], "year", y);
        }
        if (K) {
            embed(t, gs, idf, K, v);
            rec_feature_set_set_vector(fs[k], "tfidf", v, (size_t)K);
        }
    }
    if (k == ni && !rec_model_add_items(m, (const char *const *)ids,
                                        (const rec_feature_set *const *)fs, (size_t)ni))
        ms = (cpu() - t0) * 1e3 / ni * 1000;
    for (int j = 0; j < ni; j++) {
        rec_feature_set_destroy(fs[j]);
        free(ids[j]);
    }
    free(fs);
    free(ids);
    free(v);
    return ms;
}

int main(int argc, char **argv)
{
    const char *data = NULL, *kind = "twotower";
    int valid = 0, K = 0;
    unsigned long long vseed = 7;
    int warm = 0;
    rec_params *p;
    if (rec_params_create(&p))
        return die("params");
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--data") && a + 1 < argc)
            data = argv[++a];
        else if (!strcmp(argv[a], "--model") && a + 1 < argc)
            kind = argv[++a];
        else if (!strcmp(argv[a], "--dense") && a + 1 < argc)
            K = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--valid"))
            valid = 1;
        else if (!strcmp(argv[a], "--warm"))
            warm = 1;
        else if (!strcmp(argv[a], "--valid-seed") && a + 1 < argc)
            valid = 1, vseed = strtoull(argv[++a], NULL, 10);
        else if (rec_params_parse(p, argv[a]))
            return die(argv[a]);
    }
    if (!data || K < 0 || K > 4096) {
        fprintf(stderr, "usage: text_encoder --data ratings.csv [--valid | --valid-seed S] "
                        "[--warm] [--model KIND] "
                        "[--dense K] [KEY=VALUE ...]\n");
        return 2;
    }
    rec_dataset *d, *tr, *te;
    if (rec_dataset_load(&d, data, "auto", NULL))
        return die(data);
    fields f;
    if (rec_dataset_field_index(d, REC_SIDE_ITEM, "title", &f.title) ||
        rec_dataset_field_index(d, REC_SIDE_ITEM, "genres", &f.genres) ||
        rec_dataset_field_index(d, REC_SIDE_ITEM, "year", &f.year))
        return die("item fields title, genres, year (MovieLens' movies.csv)");
    float *idf = NULL;
    double t0 = cpu();
    if (K && add_dense(d, &f, K, &idf))
        return 1;
    double dense_s = cpu() - t0;
    const char *split = warm ? "holdout:0.2" : "cold-items:0.2";
    if (rec_dataset_split(d, split, 0, 42, &tr, &te))
        return die("split");
    if (valid) {
        rec_dataset *t2, *va;
        if (rec_dataset_split(tr, split, 0, vseed, &t2, &va))
            return die("validation split");
        rec_dataset_destroy(tr);
        rec_dataset_destroy(te);
        tr = t2;
        te = va;
    }
    rec_model *m;
    if (rec_model_create(&m, kind, p))
        return die("rec_model_create");
    t0 = now();
    double c0 = cpu();
    if (rec_model_fit(m, tr, NULL, NULL))
        return die("rec_model_fit");
    double fit_s = now() - t0, fit_cpu = cpu() - c0;
    rec_eval_result *r;
    double auc, rec, ndcg;
    if (rec_evaluate(m, te, warm ? "full" : "cold", "auc,recall@20,ndcg@20", 42, &r) ||
        rec_eval_result_get(r, "auc", &auc) || rec_eval_result_get(r, "recall@20", &rec) ||
        rec_eval_result_get(r, "ndcg@20", &ndcg))
        return die("rec_evaluate");
    double ms = serve_ms(m, d, &f, K, idf);
    printf("{\"model\": \"%s\", \"split\": \"%s%s\", \"dense\": %d, \"auc\": %.4f, "
           "\"recall@20\": %.4f, \"ndcg@20\": %.4f, \"fit_seconds\": %.1f, "
           "\"fit_cpu_seconds\": %.1f, \"dense_cpu_seconds\": %.2f, "
           "\"serve_cpu_ms_per_1000\": %.1f}\n", kind, warm ? "warm " : "", valid ? "validation" : "test", K, auc,
           rec, ndcg, fit_s, fit_cpu, dense_s, ms);
    rec_eval_result_destroy(r);
    rec_model_destroy(m);
    rec_params_destroy(p);
    rec_dataset_destroy(tr);
    rec_dataset_destroy(te);
    rec_dataset_destroy(d);
    free(idf);
    return 0;
}
