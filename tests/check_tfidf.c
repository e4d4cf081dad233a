/* The "tfidf" content model and its tokenizer: tokens, TF-IDF weights and
 * cosines against hand-computed values, similar items, profile
 * recommendation, never-rated items, save/load, bad parameters, OOM. */
#include "testutil.h"

#include "librec/model.h"
#include "models/tokenize-impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- tokenizer ------------------------------------------------------------- */

typedef struct toks {
    char buf[1024];
    size_t len;
} toks;

static rec_status collect(void *user, const char *tok, size_t len)
{
    toks *t = user;
    if (t->len)
        t->buf[t->len++] = ' ';
    memcpy(t->buf + t->len, tok, len);
    t->len += len;
    t->buf[t->len] = 0;
    return REC_OK;
}

/* The tokens of s joined by single spaces. */
static const char *tokens(const char *s, size_t len, int stop)
{
    static toks t;
    char scratch[512];
    t.len = 0;
    t.buf[0] = 0;
    ck_assert_int_eq(rec_tokenize(s, len, stop, scratch, collect, &t), REC_OK);
    return t.buf;
}
#define TOKS(s, stop) tokens((s), strlen(s), (stop))

static rec_status stop_at_second(void *user, const char *tok, size_t len)
{
    int *n = user;
    return ++*n == 2 ? rec_err(REC_E_CANCELLED, "stop") : REC_OK;
}

START_TEST(tokenizer_rules)
{
    ck_assert_str_eq(TOKS("Toy Story (1995)", 0), "toy story 1995");
    ck_assert_str_eq(TOKS("Amélie ÉCOLE naïve", 0), "amélie école naïve");
    ck_assert_str_eq(TOKS("ŁÓDŹ Ÿes İs", 0), "łódź ÿes is");
    ck_assert_str_eq(TOKS("ΑΘΗΝΑ Москва", 0), "αθηνα москва");
    ck_assert_str_eq(TOKS("Sci-Fi|Film-Noir, don't: x.y a_b", 0), "sci fi film noir don a_b");
    ck_assert_str_eq(TOKS("a b c 7 42 x1", 0), "42 x1");         /* 1-char tokens dropped */
    ck_assert_str_eq(TOKS("é ß ab", 0), "ab");                   /* one code point, 2 bytes */
    ck_assert_str_eq(TOKS("東京 tower—bridge × 2×3", 0), "東京 tower bridge");
    ck_assert_str_eq(TOKS("The Lord of the Rings and me", 1), "lord rings");
    ck_assert_str_eq(TOKS("The Lord of the Rings and me", 0), "the lord of the rings and me");
    ck_assert_str_eq(TOKS("", 1), "");
    ck_assert_str_eq(TOKS(" ,;!? ", 1), "");
    /* invalid UTF-8: stray continuation, overlong, truncated, surrogate, 0xFF */
    ck_assert_str_eq(TOKS("ab\x80" "cd \xC0\xAFxy q\xE2\x82", 0), "ab cd xy");
    ck_assert_str_eq(TOKS("zz\xED\xA0\x80yy\xFFww", 0), "zz yy ww");
    ck_assert_str_eq(tokens("caf\xC3", 4, 0), "caf");  /* cut at the end of the input */
    ck_assert_str_eq(tokens("hello world", 5, 0), "hello"); /* len, not NUL, bounds it */
    ck_assert(rec_stop_word_en("the", 3));
    ck_assert(rec_stop_word_en("yourselves", 10));
    ck_assert(!rec_stop_word_en("them_", 5));
    ck_assert(!rec_stop_word_en("movie", 5));
    int n = 0;
    char scratch[32];
    ck_assert_int_eq(rec_tokenize("one two three", 13, 0, scratch, stop_at_second, &n),
                     REC_E_CANCELLED);
    ck_assert_int_eq(n, 2);
}
END_TEST

/* ---- the model ------------------------------------------------------------- */

static void text(rec_dataset *d, const char *field, const char *item, const char *v)
{
    ck_assert_int_eq(rec_dataset_set_feature(d, REC_SIDE_ITEM, field, item, v, 1), REC_OK);
}

/* Three documents:  a = "apple banana apple", b = "banana cherry",
 * c = "cherry date"; u1 rated a, u2 rated b. */
static rec_dataset *toy(void)
{
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    ck_assert_int_eq(rec_dataset_add(d, "u1", "a", 5, 1), REC_OK);
    ck_assert_int_eq(rec_dataset_add(d, "u2", "b", 3, 2), REC_OK);
    ck_assert_int_eq(rec_dataset_add_field(d, REC_SIDE_ITEM, "title", REC_FEATURE_TEXT, NULL),
                     REC_OK);
    text(d, "title", "a", "Apple banana APPLE");
    text(d, "title", "b", "banana, cherry!");
    text(d, "title", "c", "cherry date");
    return d;
}

static rec_model *fit(rec_dataset *d, rec_params *p)
{
    rec_model *m;
    ck_assert_int_eq(rec_model_create(&m, "tfidf", p), REC_OK);
    ck_assert_msg(rec_model_fit(m, d, NULL, NULL) == REC_OK, "%s", rec_last_error());
    return m;
}

static float sim(const rec_model *m, const char *a, const char *b)
{
    const char *ids[8];
    float sc[8];
    size_t n;
    ck_assert_int_eq(rec_model_similar(m, a, 8, ids, sc, &n), REC_OK);
    for (size_t k = 0; k < n; k++)
        if (strcmp(ids[k], b) == 0)
            return sc[k];
    ck_abort_msg("%s not among the items similar to %s", b, a);
    return 0;
}

START_TEST(tfidf_values_by_hand)
{
    /* idf smooth: ln(4/2)+1 for apple/date (df 1), ln(4/3)+1 for banana/cherry;
     * plain: ln(3/1)+1, ln(3/2)+1.  tf of apple in a: 2 -> 1 + ln 2 sublinear.
     * Row a sublinear+smooth: (1.6931*1.6931, 1.2877)/|.| = (0.912202, 0.409742),
     * b = (0.707107, 0.707107), c = (0.605349, 0.795961).  Expected cosines
     * a.b and b.c for (sublinear, smooth) in {11, 10, 01, 00}: */
    static const double ab[4] = { 0.289731, 0.260084, 0.251329, 0.224525 };
    static const double bc[4] = { 0.428046, 0.393470, 0.428046, 0.393470 };
    rec_dataset *d = toy();
    for (int k = 0; k < 4; k++) {
        rec_params *p;
        ck_assert_int_eq(rec_params_create(&p), REC_OK);
        rec_params_set_bool(p, "sublinear_tf", k < 2);
        rec_params_set_bool(p, "smooth_idf", k % 2 == 0);
        rec_params_set_str(p, "stop_words", "none");
        rec_model *m = fit(d, p);
        ck_assert_float_near(sim(m, "a", "b"), ab[k], 1e-5);
        ck_assert_float_near(sim(m, "b", "a"), ab[k], 1e-5);
        ck_assert_float_near(sim(m, "b", "c"), bc[k], 1e-5);
        ck_assert_float_near(sim(m, "a", "c"), 0, 1e-7);
        /* u1's profile is row a itself: its scores are the cosines with a
         * times (1 + raters)^0.25 (popularity_prior's default); a and b
         * have one rater each */
        float s;
        double f = pow(2, 0.25);
        ck_assert_int_eq(rec_model_score(m, "u1", "b", &s), REC_OK);
        ck_assert_float_near(s, ab[k] * f, 1e-5);
        ck_assert_int_eq(rec_model_score(m, "u1", "a", &s), REC_OK);
        ck_assert_float_near(s, f, 1e-5);
        rec_model_destroy(m);
        rec_params_destroy(p);
    }
    rec_dataset_destroy(d);
}
END_TEST

/* The popularity factor by hand on toy(): u2's profile is row b; a has
 * one rater, c none (cold).  Scores: a = ab (1 + 1)^alpha, c = bc. */
START_TEST(popularity_prior_by_hand)
{
    const double ab = 0.289731, bc = 0.428046;
    rec_dataset *d = toy();
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    rec_params_set_str(p, "stop_words", "none");
    /* default 0.25: the cold c (0.428) still beats a (0.345) */
    rec_model *m = fit(d, p);
    const char *ids[3];
    float sc[3];
    size_t n;
    ck_assert_int_eq(rec_model_recommend(m, "u2", 3, 0, ids, sc, &n), REC_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(ids[0], "c");
    ck_assert_float_near(sc[0], bc, 1e-5);
    ck_assert_str_eq(ids[1], "a");
    ck_assert_float_near(sc[1], ab * pow(2, 0.25), 1e-5);
    /* an anonymous history gets the same factor */
    const char *h[] = { "b" };
    ck_assert_int_eq(rec_model_recommend_history(m, h, NULL, 1, 3, 0, ids, sc, &n), REC_OK);
    ck_assert_str_eq(ids[0], "c");
    ck_assert_float_near(sc[1], ab * pow(2, 0.25), 1e-5);
    /* explanation weights sum to the score, factor included */
    const char *why[8];
    float w[8];
    size_t nr;
    ck_assert_int_eq(rec_model_explain(m, "u2", "a", 8, why, w, &nr), REC_OK);
    ck_assert_uint_eq(nr, 1);
    ck_assert_str_eq(why[0], "banana");
    ck_assert_float_near(w[0], ab * pow(2, 0.25), 1e-5);
    rec_model_destroy(m);
    /* alpha 1: a = 2 ab = 0.579 now first; the factor survives save/load */
    rec_params_set_float(p, "popularity_prior", 1);
    m = fit(d, p);
    ck_assert_int_eq(rec_model_recommend(m, "u2", 3, 0, ids, sc, &n), REC_OK);
    ck_assert_str_eq(ids[0], "a");
    ck_assert_float_near(sc[0], 2 * ab, 1e-5);
    ck_assert_float_near(sc[1], bc, 1e-5);
    const char *file = tu_tmp_path("tfidf-prior.lrm");
    ck_assert_int_eq(rec_model_save(m, file), REC_OK);
    rec_model *l;
    ck_assert_msg(rec_model_load(&l, file) == REC_OK, "%s", rec_last_error());
    float x;
    ck_assert_int_eq(rec_model_score(l, "u2", "a", &x), REC_OK);
    ck_assert_float_near(x, 2 * ab, 1e-5);
    ck_assert_int_eq(rec_model_score(l, "u2", "c", &x), REC_OK);
    ck_assert_float_near(x, bc, 1e-5);
    rec_model_destroy(l);
    rec_model_destroy(m);
    /* 0: pure content */
    rec_params_set_float(p, "popularity_prior", 0);
    m = fit(d, p);
    ck_assert_int_eq(rec_model_score(m, "u2", "a", &x), REC_OK);
    ck_assert_float_near(x, ab, 1e-5);
    rec_model_destroy(m);
    /* out of range */
    const double badv[] = { -0.5, 10.5 };
    for (int k = 0; k < 2; k++) {
        rec_params_set_float(p, "popularity_prior", badv[k]);
        ck_assert_int_ne(rec_model_create(&m, "tfidf", p), REC_OK);
        ck_assert_ptr_nonnull(strstr(rec_last_error(), "popularity_prior"));
    }
    rec_params_destroy(p);
    rec_dataset_destroy(d);
}
END_TEST

/* Title + genres: a "apple"/Red, b "apple"/Blue, c "pear"/Red.  idf
 * apple = red = ln(4/3) + 1, blue = pear = ln 2 + 1.  genres:2 doubles
 * the genre counts before tf: cos(a, c), cos(a, b) by hand. */
START_TEST(field_weights_by_hand)
{
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    ck_assert_int_eq(rec_dataset_add(d, "u", "a", 1, 1), REC_OK);
    rec_dataset_add_field(d, REC_SIDE_ITEM, "title", REC_FEATURE_TEXT, NULL);
    rec_dataset_add_field(d, REC_SIDE_ITEM, "genres", REC_FEATURE_MULTIHOT, NULL);
    static const char *items[][3] = { { "a", "apple", "Red" }, { "b", "apple", "Blue" },
                                      { "c", "pear", "Red" } };
    for (int k = 0; k < 3; k++) {
        text(d, "title", items[k][0], items[k][1]);
        text(d, "genres", items[k][0], items[k][2]);
    }
    static const struct {
        const char *fw;
        int sub;
        double ac, ab;
    } cases[] = {
        { "", 0, 0.428046, 0.428046 },             /* equal weights: one shared term */
        { "genres:2", 0, 0.747376, 0.158954 },     /* tf 2 */
        { "genres:2", 1, 0.680053, 0.208371 },     /* tf 1 + ln 2 */
        { "genres:0.5", 1, 0.158954, 0.747376 },   /* below 1 tf stays linear */
        { "title:1,genres:0", 1, 0, 1 },           /* genres left out */
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        rec_params *p;
        ck_assert_int_eq(rec_params_create(&p), REC_OK);
        rec_params_set_str(p, "field_weights", cases[k].fw);
        rec_params_set_bool(p, "sublinear_tf", cases[k].sub);
        rec_model *m = fit(d, p);
        ck_assert_float_near(sim(m, "a", "c"), cases[k].ac, 1e-5);
        ck_assert_float_near(sim(m, "a", "b"), cases[k].ab, 1e-5);
        rec_model_destroy(m);
        rec_params_destroy(p);
    }
    /* malformed lists fail at fit, naming the problem */
    static const struct {
        const char *fw, *msg;
        rec_status st;
    } bad[] = {
        { "genres", "expected name:weight", REC_E_INVALID },
        { ":2", "expected name:weight", REC_E_INVALID },
        { "genres:", "expected name:weight", REC_E_INVALID },
        { "genres:x", "weight 'x' of 'genres'", REC_E_RANGE },
        { "genres:-1", "weight '-1' of 'genres'", REC_E_RANGE },
        { "year:1", "'year' is not a field read", REC_E_INVALID },
        { "genres:1,", "empty pair", REC_E_INVALID },
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        rec_params *p;
        rec_model *m;
        ck_assert_int_eq(rec_params_create(&p), REC_OK);
        rec_params_set_str(p, "field_weights", bad[k].fw);
        ck_assert_int_eq(rec_model_create(&m, "tfidf", p), REC_OK);
        ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), bad[k].st);
        ck_assert_msg(strstr(rec_last_error(), bad[k].msg), "%s: %s", bad[k].fw,
                      rec_last_error());
        ck_assert_ptr_nonnull(strstr(rec_last_error(), "field_weights"));
        rec_model_destroy(m);
        rec_params_destroy(p);
    }
    rec_dataset_destroy(d);
}
END_TEST

/* Films with genres (multi-hot) and titles; "x9" is never rated. */
static rec_dataset *films(void)
{
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    static const char *rows[][3] = {
        { "u1", "m1", "5" }, { "u1", "m2", "1" }, { "u2", "m3", "4" }, { "u2", "m4", "4" },
        { "u3", "m5", "2" }, { "u3", "m1", "4" },
    };
    for (size_t k = 0; k < sizeof rows / sizeof *rows; k++)
        ck_assert_int_eq(rec_dataset_add(d, rows[k][0], rows[k][1], atof(rows[k][2]), (int64_t)k),
                         REC_OK);
    rec_dataset_add_field(d, REC_SIDE_ITEM, "title", REC_FEATURE_TEXT, NULL);
    rec_dataset_add_field(d, REC_SIDE_ITEM, "genres", REC_FEATURE_MULTIHOT, NULL);
    rec_dataset_add_field(d, REC_SIDE_ITEM, "year", REC_FEATURE_NUMERIC, NULL);
    static const char *items[][3] = {
        { "m1", "Space Robots", "Sci-Fi|Action" },
        { "m2", "Romance in Paris", "Romance|Drama" },
        { "m3", "Robots of Space II", "Sci-Fi|Action" },
        { "m4", "Paris Love Story", "Romance" },
        { "m5", "Quiet Drama", "Drama" },
        { "x9", "Space Robots Return", "Sci-Fi" },
    };
    for (size_t k = 0; k < sizeof items / sizeof *items; k++) {
        text(d, "title", items[k][0], items[k][1]);
        text(d, "genres", items[k][0], items[k][2]);
        text(d, "year", items[k][0], "1999");
    }
    return d;
}

START_TEST(similar_and_profiles)
{
    rec_dataset *d = films();
    /* the rating-deviation profile of all the user's items */
    rec_params *pd;
    ck_assert_int_eq(rec_params_create(&pd), REC_OK);
    ck_assert_int_eq(rec_params_set_str(pd, "profile", "deviation"), REC_OK);
    ck_assert_int_eq(rec_params_set_float(pd, "recency_halflife", 0), REC_OK);
    rec_model *m = fit(d, pd);
    rec_params_destroy(pd);
    const char *ids[8];
    float sc[8];
    size_t n;
    /* m1 = space robots sci fi action: m3 and x9 share most, then nothing */
    ck_assert_int_eq(rec_model_similar(m, "m1", 8, ids, sc, &n), REC_OK);
    ck_assert_uint_eq(n, 5);
    ck_assert(strcmp(ids[0], "m3") == 0 || strcmp(ids[0], "x9") == 0);
    ck_assert(strcmp(ids[1], "m3") == 0 || strcmp(ids[1], "x9") == 0);
    for (size_t k = 1; k < n; k++)
        ck_assert_float_le(sc[k], sc[k - 1]);
    ck_assert_float_gt(sc[1], 0.3f);
    ck_assert_float_eq(sc[2], 0);
    /* the never-rated x9 has neighbours too, m1 first (three shared terms) */
    ck_assert_int_eq(rec_model_similar(m, "x9", 2, ids, sc, &n), REC_OK);
    ck_assert_str_eq(ids[0], "m1");
    ck_assert_float_gt(sc[0], sc[1]);
    /* u1 liked m1 (5) more than m2 (1): mean-centred weights favour sci-fi,
     * so the unseen x9 and m3 lead, and m1/m2 are excluded */
    ck_assert_int_eq(rec_model_recommend(m, "u1", 4, 0, ids, sc, &n), REC_OK);
    ck_assert_uint_eq(n, 4);
    for (size_t k = 0; k < n; k++)
        ck_assert(strcmp(ids[k], "m1") != 0 && strcmp(ids[k], "m2") != 0);
    ck_assert(strcmp(ids[0], "x9") == 0 || strcmp(ids[0], "m3") == 0);
    ck_assert(strcmp(ids[1], "x9") == 0 || strcmp(ids[1], "m3") == 0);
    ck_assert_int_eq(rec_model_recommend(m, "u1", 6, REC_INCLUDE_SEEN, ids, sc, &n), REC_OK);
    ck_assert_str_eq(ids[0], "m1");
    /* u2 rated m3 and m4 equally: plain sum, both neighbourhoods */
    ck_assert_int_eq(rec_model_recommend(m, "u2", 1, 0, ids, sc, &n), REC_OK);
    ck_assert(strcmp(ids[0], "x9") == 0 || strcmp(ids[0], "m1") == 0 ||
              strcmp(ids[0], "m2") == 0);
    /* a history of the romance films only */
    const char *h[] = { "m4", "nope" };
    ck_assert_int_eq(rec_model_recommend_history(m, h, NULL, 2, 2, 0, ids, sc, &n), REC_OK);
    ck_assert_str_eq(ids[0], "m2");
    float r2[] = { 5, 1 };
    const char *h2[] = { "m2", "m1" };
    ck_assert_int_eq(rec_model_recommend_history(m, h2, r2, 2, 1, 0, ids, sc, &n), REC_OK);
    ck_assert_str_eq(ids[0], "m4");
    rec_model_destroy(m);

    /* fields: the genres alone make m1, m3 identical */
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    rec_params_set_str(p, "fields", "genres");
    m = fit(d, p);
    ck_assert_float_near(sim(m, "m1", "m3"), 1, 1e-6);
    rec_model_destroy(m);
    /* min_df 2 drops terms in one film only: m5 = "quiet drama" + Drama
     * loses "quiet" and moves closer to m2 (Drama) */
    rec_params_set_str(p, "fields", "title,genres");
    m = fit(d, p);
    float before = sim(m, "m5", "m2");
    rec_model_destroy(m);
    rec_params_set_int(p, "min_df", 2);
    m = fit(d, p);
    ck_assert_float_gt(before, 0);
    ck_assert_float_gt(sim(m, "m5", "m2"), before + 0.05f);
    ck_assert_float_near(sim(m, "m5", "m2"), sim(m, "m2", "m5"), 1e-6);
    rec_model_destroy(m);
    rec_params_set_str(p, "fields", "title");
    /* max_features 1 keeps the most frequent title term (robots and space,
     * 3 films each; paris 2): m1, m3, x9 become identical, m2 and m4 empty */
    rec_params_set_int(p, "min_df", 1);
    rec_params_set_int(p, "max_features", 1);
    m = fit(d, p);
    ck_assert_float_near(sim(m, "m1", "m3"), 1, 1e-6);
    ck_assert_float_near(sim(m, "x9", "m1"), 1, 1e-6);
    ck_assert_float_eq(sim(m, "m2", "m4"), 0);
    rec_model_destroy(m);
    rec_params_destroy(p);
    rec_dataset_destroy(d);
}
END_TEST

static void expect_fit_error(rec_dataset *d, const char *key, const char *sval, long ival,
                             rec_status want, const char *msg)
{
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    if (sval)
        rec_params_set_str(p, key, sval);
    else
        rec_params_set_int(p, key, ival);
    rec_model *m = NULL;
    rec_status st = rec_model_create(&m, "tfidf", p);
    if (st == REC_OK)
        st = rec_model_fit(m, d, NULL, NULL);
    ck_assert_int_eq(st, want);
    ck_assert_msg(strstr(rec_last_error(), msg), "message '%s' lacks '%s'", rec_last_error(),
                  msg);
    rec_model_destroy(m);
    rec_params_destroy(p);
}

/* A catalogue with no interactions (books.csv alone): tfidf fits it, finds
 * neighbours by content and recommends from a history given at call time,
 * through a model file too; a kind that learns from interactions refuses. */
START_TEST(catalogue_without_interactions)
{
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    ck_assert_int_eq(rec_dataset_add_field(d, REC_SIDE_ITEM, "title", REC_FEATURE_TEXT, NULL),
                     REC_OK);
    static const char *books[][2] = {
        { "b1", "dragons of the northern mountains" },
        { "b2", "the dragons return to the mountains" },
        { "b3", "a cookbook of winter soups" },
        { "b4", "soups and stews for cold winter nights" },
        { "b5", "gardening in small spaces" },
    };
    for (int b = 0; b < 5; b++)
        ck_assert_int_eq(rec_dataset_set_feature(d, REC_SIDE_ITEM, "title", books[b][0],
                                                 books[b][1], 1), REC_OK);
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    ck_assert_int_eq(rec_params_parse(p, "popularity_prior=0"), REC_OK);
    rec_model *m;
    ck_assert_int_eq(rec_model_create(&m, "tfidf", p), REC_OK);
    ck_assert_msg(rec_model_fit(m, d, NULL, NULL) == REC_OK, "%s", rec_last_error());
    const char *path = tu_tmp_path("catalogue.lrm");
    ck_assert_int_eq(rec_model_save(m, path), REC_OK);
    rec_model *l;
    ck_assert_int_eq(rec_model_load(&l, path), REC_OK);
    const rec_model *both[2] = { m, l };
    for (int k = 0; k < 2; k++) {
        size_t nu, n;
        ck_assert_int_eq(rec_model_num_users(both[k], &nu), REC_OK);
        ck_assert_uint_eq(nu, 0);
        const char *items[4];
        float sc[4];
        ck_assert_int_eq(rec_model_similar(both[k], "b1", 4, items, sc, &n), REC_OK);
        ck_assert_uint_ge(n, 1);
        ck_assert_str_eq(items[0], "b2");
        const char *hist[] = { "b3" };
        ck_assert_int_eq(rec_model_recommend_history(both[k], hist, NULL, 1, 2, 0, items, sc,
                                                     &n), REC_OK);
        ck_assert_uint_ge(n, 1);
        ck_assert_str_eq(items[0], "b4");
        ck_assert_float_gt(sc[0], 0);
        ck_assert_int_eq(rec_model_recommend(both[k], "nobody", 2, 0, items, sc, &n),
                         REC_E_NOTFOUND);
    }
    rec_model_destroy(l);
    rec_model_destroy(m);
    ck_assert_int_eq(rec_model_create(&m, "mf", NULL), REC_OK);
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_model_fit: the dataset has no interactions");
    rec_model_destroy(m);
    rec_dataset *empty;
    ck_assert_int_eq(rec_dataset_create(&empty), REC_OK);
    ck_assert_int_eq(rec_model_create(&m, "tfidf", p), REC_OK);
    ck_assert_int_eq(rec_model_fit(m, empty, NULL, NULL), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_model_fit: the dataset has no interactions and no "
                                       "items");
    rec_model_destroy(m);
    rec_dataset_destroy(empty);
    rec_params_destroy(p);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(bad_params)
{
    rec_dataset *d = films();
    expect_fit_error(d, "fields", "title,plot", 0, REC_E_INVALID, "no item field 'plot'");
    expect_fit_error(d, "fields", "year", 0, REC_E_INVALID,
                     "'year' is not a text or multi-hot field");
    expect_fit_error(d, "fields", "title,", 0, REC_E_INVALID, "empty or too long name");
    expect_fit_error(d, "fields", ",title", 0, REC_E_INVALID, "empty or too long name");
    expect_fit_error(d, "stop_words", "french", 0, REC_E_INVALID, "stop_words");
    expect_fit_error(d, "min_df", NULL, 0, REC_E_RANGE, "min_df");
    expect_fit_error(d, "max_features", NULL, -1, REC_E_RANGE, "max_features");
    expect_fit_error(d, "ngram", NULL, 2, REC_E_INVALID, "ngram");
    rec_dataset_destroy(d);
    /* no text at all */
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    ck_assert_int_eq(rec_dataset_add(d, "u", "i", 1, 0), REC_OK);
    expect_fit_error(d, "min_df", NULL, 1, REC_E_INVALID, "no text or multi-hot item fields");
    rec_dataset_destroy(d);
}
END_TEST

static int stop_now(void *user, int epoch, int epochs, double loss)
{
    return 1;
}

/* Allocation failures of fit, load and the queries are check_kinds.c's. */
START_TEST(cancel)
{
    rec_dataset *d = films();
    rec_model *m;
    ck_assert_int_eq(rec_model_create(&m, "tfidf", NULL), REC_OK);
    ck_assert_int_eq(rec_model_fit(m, d, stop_now, NULL), REC_E_CANCELLED);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

Suite *rec_tfidf_suite(void)
{
    Suite *s = suite_create("tfidf");
    TCase *t = tcase_create("tokenizer");
    tcase_add_test(t, tokenizer_rules);
    suite_add_tcase(s, t);
    t = tcase_create("model");
    tcase_add_test(t, tfidf_values_by_hand);
    tcase_add_test(t, popularity_prior_by_hand);
    tcase_add_test(t, field_weights_by_hand);
    tcase_add_test(t, similar_and_profiles);
    tcase_add_test(t, bad_params);
    tcase_add_test(t, catalogue_without_interactions);
    tcase_add_test(t, cancel);
    tcase_set_timeout(t, 60);
    suite_add_tcase(s, t);
    return s;
}
