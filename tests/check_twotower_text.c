/* Text fields of "twotower" (twotower_text.c): the hashed tokens, the mean
 * encoder by hand, finite-difference gradients of the conv and transformer
 * encoders, learning from titles, cold items known by a title alone (in the
 * catalogue at fit and added at call time), save/load, bad parameters,
 * allocation failures. */
#include "testutil.h"
#include "models/twotower-impl.h"

#include <librec/librec.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rec_model *fit_kv(const rec_dataset *d, const char *kv)
{
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    char buf[512];
    snprintf(buf, sizeof buf, "%s", kv);
    for (char *t = strtok(buf, " "); t; t = strtok(NULL, " "))
        ck_assert_msg(rec_params_parse(p, t) == REC_OK, "%s", rec_last_error());
    rec_model *m;
    ck_assert_msg(rec_model_create(&m, "twotower", p) == REC_OK, "%s", rec_last_error());
    rec_params_destroy(p);
    rec_status st = rec_model_fit(m, d, NULL, NULL);
    ck_assert_msg(st == REC_OK, "%s", rec_last_error());
    return m;
}

/* Users a0..a5 rate films whose titles say "space", b0..b5 films whose
 * titles say "love"; the genres are the same for all, so only the title
 * tells them apart.  Two films nobody rated: "Space Wars" and "Love Letters". */
static rec_dataset *titles(void)
{
    static const char *space[6] = { "Space Odyssey", "Lost in Space", "Space Cowboys",
                                     "Space Station", "Outer Space Ghosts", "Space Jam" };
    static const char *love[6] = { "Love Actually", "Crazy Love", "Love Story",
                                   "Endless Love", "Love and Mercy", "Shakespeare in Love" };
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    ck_assert_int_eq(rec_dataset_add_field(d, REC_SIDE_ITEM, "title", REC_FEATURE_TEXT, NULL),
                     REC_OK);
    ck_assert_int_eq(rec_dataset_add_field(d, REC_SIDE_ITEM, "genres", REC_FEATURE_MULTIHOT,
                                           NULL), REC_OK);
    char u[16], i[16];
    for (int k = 0; k < 6; k++)
        for (int j = 0; j < 4; j++) {
            snprintf(u, sizeof u, "a%d", k);
            snprintf(i, sizeof i, "S%d", (k + j) % 6);
            ck_assert_int_eq(rec_dataset_add(d, u, i, NAN, REC_NO_TIME), REC_OK);
            snprintf(u, sizeof u, "b%d", k);
            snprintf(i, sizeof i, "L%d", (k + j) % 6);
            ck_assert_int_eq(rec_dataset_add(d, u, i, NAN, REC_NO_TIME), REC_OK);
        }
    for (int k = 0; k < 6; k++) {
        snprintf(i, sizeof i, "S%d", k);
        rec_dataset_set_feature(d, REC_SIDE_ITEM, "title", i, space[k], 1);
        rec_dataset_set_feature(d, REC_SIDE_ITEM, "genres", i, "Drama", 1);
        snprintf(i, sizeof i, "L%d", k);
        rec_dataset_set_feature(d, REC_SIDE_ITEM, "title", i, love[k], 1);
        rec_dataset_set_feature(d, REC_SIDE_ITEM, "genres", i, "Drama", 1);
    }
    ck_assert_int_eq(rec_dataset_set_feature(d, REC_SIDE_ITEM, "title", "newS", "Space Wars", 1),
                     REC_OK);
    ck_assert_int_eq(rec_dataset_set_feature(d, REC_SIDE_ITEM, "title", "newL", "Love Letters",
                                             1), REC_OK);
    return d;
}

static tt_feat *text_feat(const rec_model *m, const char *name)
{
    twotower *s = m->state;
    for (int k = 0; k < s->it.nf; k++)
        if (!strcmp(s->it.f[k].name, name)) {
            ck_assert_int_eq(s->it.f[k].kind, TT_TEXT);
            return &s->it.f[k];
        }
    ck_abort_msg("no item feature %s", name);
    return NULL;
}

/* A brand-new item described by its title alone at call time. */
static void add_titled(rec_model *m, const char *id, const char *title)
{
    rec_feature_set *fs;
    ck_assert_int_eq(rec_feature_set_create(&fs, m, REC_SIDE_ITEM), REC_OK);
    ck_assert_int_eq(rec_feature_set_set(fs, "title", title), REC_OK);
    const rec_feature_set *one[1] = { fs };
    const char *ids[1] = { id };
    rec_status st = rec_model_add_items(m, ids, one, 1);
    ck_assert_msg(st == REC_OK, "%s", rec_last_error());
    rec_feature_set_destroy(fs);
}

/* ---- tokens and the mean by hand ------------------------------------------------ */

START_TEST(tokens_are_hashed_words)
{
    int32_t a[8], b[8], n, nb;
    /* stop words and one-letter tokens dropped, case folded */
    ck_assert_int_eq(tt_text_codes("The Matrix (1999)", 1024, 8, NULL, a, &n, "t"), REC_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(tt_text_codes("matrix 1999 a", 1024, 8, NULL, b, &nb, "t"), REC_OK);
    ck_assert_int_eq(nb, 2);
    ck_assert_int_eq(a[0], b[0]);
    ck_assert_int_eq(a[1], b[1]);
    ck_assert_int_ne(a[0], a[1]);
    for (int k = 0; k < 2; k++)
        ck_assert(a[k] >= 0 && a[k] < 1024);
    /* the first max tokens only, in order */
    ck_assert_int_eq(tt_text_codes("aa bb cc dd ee", 1024, 3, NULL, a, &n, "t"), REC_OK);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(tt_text_codes("cc", 1024, 3, NULL, b, &nb, "t"), REC_OK);
    ck_assert_int_eq(b[0], a[2]);
    ck_assert_int_eq(tt_text_codes("", 1024, 3, NULL, a, &n, "t"), REC_OK);
    ck_assert_int_eq(n, 0);
}
END_TEST

START_TEST(mean_encoder_by_hand)
{
    rec_dataset *d = titles();
    rec_model *m = fit_kv(d, "epochs=2 batch=16 dim=4 tower=8,8 text_buckets=64 "
                             "item_features=title,genres user_features=id");
    tt_feat *f = text_feat(m, "title");
    ck_assert_int_eq(f->enc, TT_ENC_MEAN);
    ck_assert_int_eq(f->vocab, 64);
    ck_assert_int_eq(f->emb.num, 64);
    int32_t items[3];
    static const char *ids[3] = { "S1", "L5", "newS" };
    static const char *text[3] = { "Lost in Space", "Shakespeare in Love", "Space Wars" };
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(rec_model_item_index(m, ids[k], &items[k]), REC_OK);
    rec_graph *g;
    ck_assert_int_eq(rec_graph_create(&g), REC_OK);
    rec_graph_set_grad(g, 0);
    rec_tensor *y = tt_text_forward(g, f, items, 3, sizeof *items, NULL, 1);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(y->shape[0], 3);
    ck_assert_int_eq(y->shape[1], 4);
    const float *w = f->emb.weight->v;
    for (int k = 0; k < 3; k++) {
        int32_t c[8], n;
        ck_assert_int_eq(tt_text_codes(text[k], 64, 16, NULL, c, &n, "t"), REC_OK);
        ck_assert_int_eq(n, 2); /* "in" is a stop word */
        for (int j = 0; j < 4; j++) {
            double want = 0.5 * ((double)w[c[0] * 4 + j] + (double)w[c[1] * 4 + j]);
            ck_assert_double_eq_tol(y->v[k * 4 + j], want, 1e-6);
        }
    }
    rec_graph_destroy(g);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* text_min_items=2: a word of one trained title is dropped, at fit, at call
 * time and after a load; a word of an untrained title does not count. */
START_TEST(rare_words_dropped)
{
    rec_dataset *d = titles();
    rec_dataset_set_feature(d, REC_SIDE_ITEM, "title", "newL", "Wars", 0); /* "Love Letters Wars" */
    rec_model *m = fit_kv(d, "epochs=1 batch=16 text_min_items=2 item_features=title "
                             "user_features=id,title_hist");
    tt_feat *f = text_feat(m, "title");
    ck_assert_ptr_nonnull(f->known);
    int32_t c[8], n, space, i;
    ck_assert_int_eq(tt_text_codes("space", f->vocab, 16, NULL, &space, &n, "t"), REC_OK);
    ck_assert_int_eq(f->known[space], 1);
    /* Space Wars: "wars" is in no trained title (newS and newL are untrained) */
    ck_assert_int_eq(rec_model_item_index(m, "newS", &i), REC_OK);
    ck_assert_int_eq(f->ptr[i + 1] - f->ptr[i], 1);
    ck_assert_int_eq(f->val[f->ptr[i]], space);
    ck_assert_int_eq(tt_text_codes("Space Wars Odyssey Lost", f->vocab, 16, f->known, c, &n, "t"),
                     REC_OK);
    ck_assert_int_eq(n, 1); /* odyssey and lost: one trained title each */
    ck_assert_int_eq(c[0], space);
    /* the user tower's title_hist keeps the same words */
    const twotower *s = m->state;
    ck_assert_ptr_nonnull(s->ut.f[1].known);
    ck_assert_int_eq(memcmp(s->ut.f[1].known, f->known, (size_t)f->vocab * sizeof *f->known), 0);
    add_titled(m, "wars2", "Space Wars");
    ck_assert_float_eq_tol(tu_score(m, "a0", "wars2"), tu_score(m, "a0", "newS"), 1e-6);
    const char *path = tu_tmp_path("tt_text_known.lrm");
    ck_assert_int_eq(rec_model_save(m, path), REC_OK);
    rec_model *l;
    ck_assert_int_eq(rec_model_load(&l, path), REC_OK);
    const tt_feat *lf = text_feat(l, "title");
    ck_assert_ptr_nonnull(lf->known);
    ck_assert_int_eq(memcmp(lf->known, f->known, (size_t)f->vocab * sizeof *f->known), 0);
    add_titled(l, "wars3", "Space Wars");
    ck_assert_float_eq(tu_score(l, "a0", "wars3"), tu_score(l, "a0", "wars2"));
    rec_model_destroy(l);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* ---- gradients -------------------------------------------------------------------- */

typedef struct gctx {
    tt_feat *f;
    int32_t items[5];
    int k;
} gctx;

static rec_tensor *build_text(rec_graph *g, void *arg)
{
    gctx *c = arg;
    return tu_wsum(g, tt_text_forward(g, c->f, c->items, 5, sizeof *c->items, NULL, c->k));
}

/* Every param of the model is checked (those outside the encoder have zero
 * gradients both ways); texts of 0, 1, 2 and more tokens than text_len. */
static void gradcheck(const char *enc, double atol)
{
    rec_dataset *d = titles();
    rec_dataset_set_feature(d, REC_SIDE_ITEM, "title", "S0", "space odyssey extra words here", 0);
    rec_dataset_set_feature(d, REC_SIDE_ITEM, "title", "empty", "", 1);
    char kv[256];
    snprintf(kv, sizeof kv, "epochs=1 batch=16 dim=4 tower=4,4 text_buckets=16 text_len=4 "
             "text_heads=2 text_layers=2 item_features=title user_features=id text_encoder=%s",
             enc);
    rec_model *m = fit_kv(d, kv);
    gctx c = { text_feat(m, "title"), { 0 }, 0 };
    static const char *ids[5] = { "S0", "empty", "L2", "newS", "L4" };
    for (int k = 0; k < 5; k++)
        ck_assert_int_eq(rec_model_item_index(m, ids[k], &c.items[k]), REC_OK);
    twotower *s = m->state;
    tu_gradcheck(s->ps, build_text, &c, 1e-3, atol, 2e-2);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}

START_TEST(conv_encoder_gradients)
{
    gradcheck("conv", 2e-4);
}
END_TEST

START_TEST(transformer_encoder_gradients)
{
    /* float32 noise of the differences: the key bias, whose exact gradient
     * is 0 (a shift of every score of a query), shows 4e-4 */
    gradcheck("transformer", 1e-3);
}
END_TEST

/* ---- learning, cold items, files ---------------------------------------------------- */

START_TEST(titles_carry_cold_items)
{
    static const char *enc[3] = { "mean", "conv", "transformer" };
    rec_dataset *d = titles();
    for (int e = 0; e < 3; e++) {
        char kv[256];
        snprintf(kv, sizeof kv, "epochs=40 batch=16 lr=0.01 item_features=title,genres "
                 "user_features=id text_encoder=%s", enc[e]);
        rec_model *m = fit_kv(d, kv);
        /* the title decides for the films nobody rated */
        char u[16];
        for (int k = 0; k < 6; k++) {
            snprintf(u, sizeof u, "a%d", k);
            ck_assert_msg(tu_score(m, u, "newS") > tu_score(m, u, "newL"), "%s %s", enc[e], u);
            snprintf(u, sizeof u, "b%d", k);
            ck_assert_msg(tu_score(m, u, "newL") > tu_score(m, u, "newS"), "%s %s", enc[e], u);
        }
        /* added at call time with the same title: the same vector */
        add_titled(m, "wars2", "Space Wars");
        add_titled(m, "never", "Space Love Gargleblaster");
        ck_assert_float_eq_tol(tu_score(m, "a0", "wars2"), tu_score(m, "a0", "newS"), 1e-6);
        ck_assert_float_eq_tol(tu_score(m, "b2", "wars2"), tu_score(m, "b2", "newS"), 1e-6);
        /* and recommended */
        const char *items[20];
        size_t n;
        ck_assert_int_eq(rec_model_recommend(m, "a1", 20, 0, items, NULL, &n), REC_OK);
        int found = 0;
        for (size_t k = 0; k < n; k++)
            found |= !strcmp(items[k], "wars2");
        ck_assert(found);
        rec_model_destroy(m);
    }
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(save_load_identical)
{
    static const char *enc[3] = { "mean", "conv", "transformer" };
    rec_dataset *d = tu_generate(40, 60, 10);
    for (int e = 0; e < 3; e++) {
        char kv[256];
        snprintf(kv, sizeof kv, "epochs=2 batch=64 item_features=id,title,genres,year "
                 "user_features=id,genres_hist text_buckets=512 text_encoder=%s", enc[e]);
        rec_model *m = fit_kv(d, kv);
        add_titled(m, "added", "a brand new title");
        const char *path = tu_tmp_path("tt_text.lrm");
        ck_assert_int_eq(rec_model_save(m, path), REC_OK);
        rec_model *l;
        rec_status st = rec_model_load(&l, path);
        ck_assert_msg(st == REC_OK, "%s", rec_last_error());
        size_t ni, nl;
        ck_assert_int_eq(rec_model_num_items(m, &ni), REC_OK);
        ck_assert_int_eq(rec_model_num_items(l, &nl), REC_OK);
        ck_assert_uint_eq(ni, nl);
        float *a = malloc(ni * sizeof *a), *b = malloc(ni * sizeof *b);
        int32_t *idx = malloc(ni * sizeof *idx);
        for (size_t i = 0; i < ni; i++)
            idx[i] = (int32_t)i;
        for (int32_t u = 0; u < 40; u += 13) {
            ck_assert_int_eq(rec_model_score_items(m, u, idx, ni, a), REC_OK);
            ck_assert_int_eq(rec_model_score_items(l, u, idx, ni, b), REC_OK);
            for (size_t i = 0; i < ni; i++)
                ck_assert_float_eq(a[i], b[i]);
        }
        /* a title given at call time codes the same in the loaded model */
        add_titled(m, "later", "Galaxy Quest");
        add_titled(l, "later", "Galaxy Quest");
        int32_t im, il;
        ck_assert_int_eq(rec_model_item_index(m, "later", &im), REC_OK);
        ck_assert_int_eq(rec_model_item_index(l, "later", &il), REC_OK);
        ck_assert_int_eq(rec_model_score_items(m, 3, &im, 1, a), REC_OK);
        ck_assert_int_eq(rec_model_score_items(l, 3, &il, 1, b), REC_OK);
        ck_assert_float_eq(a[0], b[0]);
        free(a);
        free(b);
        free(idx);
        rec_model_destroy(m);
        rec_model_destroy(l);
    }
    rec_dataset_destroy(d);
}
END_TEST

/* ---- errors --------------------------------------------------------------------------- */

START_TEST(bad_params)
{
    tu_create_fails("twotower", "text_encoder=lstm", REC_E_INVALID, "text_encoder");
    tu_create_fails("twotower", "text_encoder=", REC_E_INVALID, "text_encoder");
    tu_create_fails("twotower", "text_buckets=8", REC_E_RANGE, "text_buckets");
    tu_create_fails("twotower", "text_len=2", REC_E_RANGE, "text_len");
    tu_create_fails("twotower", "text_layers=5", REC_E_RANGE, "text_layers");
    tu_create_fails("twotower", "text_heads=0", REC_E_RANGE, "text_heads");
    rec_dataset *d = tu_generate(10, 20, 4);
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    ck_assert_int_eq(rec_params_parse(p, "item_features=title"), REC_OK);
    ck_assert_int_eq(rec_params_parse(p, "text_encoder=transformer"), REC_OK);
    ck_assert_int_eq(rec_params_parse(p, "dim=6"), REC_OK);
    ck_assert_int_eq(rec_params_parse(p, "text_heads=4"), REC_OK);
    rec_model *m;
    ck_assert_int_eq(rec_model_create(&m, "twotower", p), REC_OK);
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_E_INVALID);
    ck_assert_msg(strstr(rec_last_error(), "text_heads = 4 must divide dim = 6"), "got '%s'",
                  rec_last_error());
    rec_model_destroy(m);
    rec_params_destroy(p);
    /* a dense value for a text field at call time */
    m = fit_kv(d, "epochs=1 item_features=title");
    rec_feature_set *fs;
    ck_assert_int_eq(rec_feature_set_create(&fs, m, REC_SIDE_ITEM), REC_OK);
    float v[2] = { 1, 2 };
    ck_assert_int_eq(rec_feature_set_set_vector(fs, "title", v, 2), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "not dense"));
    rec_feature_set_destroy(fs);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(fit_survives_allocation_failures)
{
    rec_dataset *d = tu_generate(12, 20, 5);
    rec_model *warm = fit_kv(d, "epochs=1 item_features=title"); /* builds d's caches */
    rec_model_destroy(warm);
    static const char *enc[3] = { "mean", "conv", "transformer" };
    for (int e = 0; e < 3; e++) {
        rec_params *p;
        ck_assert_int_eq(rec_params_create(&p), REC_OK);
        ck_assert_int_eq(rec_params_parse(p, "epochs=1"), REC_OK);
        ck_assert_int_eq(rec_params_parse(p, "batch=16"), REC_OK);
        ck_assert_int_eq(rec_params_parse(p, "text_buckets=64"), REC_OK);
        ck_assert_int_eq(rec_params_parse(p, "item_features=id,title,genres"), REC_OK);
        ck_assert_int_eq(rec_params_set_str(p, "text_encoder", enc[e]), REC_OK);
        ck_assert_int_gt(tu_fit_fails_cleanly("twotower", p, d), 10);
        rec_params_destroy(p);
    }
    rec_dataset_destroy(d);
}
END_TEST

/* rec_model_add_items with a text: all or nothing under every failure
 * (the model is loaded in setup and destroyed in cleanup, so what a
 * successful add keeps is freed in the count). */
typedef struct addctx {
    const char *path;
    rec_model *m;
    rec_feature_set *fs;
} addctx;

static void add_setup(void *arg)
{
    addctx *c = arg;
    ck_assert_int_eq(rec_model_load(&c->m, c->path), REC_OK);
    ck_assert_int_eq(rec_feature_set_create(&c->fs, c->m, REC_SIDE_ITEM), REC_OK);
    ck_assert_int_eq(rec_feature_set_set(c->fs, "title", "The Thing from Another World"),
                     REC_OK);
}

static rec_status add_run(void *arg)
{
    addctx *c = arg;
    const rec_feature_set *one[1] = { c->fs };
    const char *ids[1] = { "thing" };
    size_t before, after;
    ck_assert_int_eq(rec_model_num_items(c->m, &before), REC_OK);
    rec_status st = rec_model_add_items(c->m, ids, one, 1);
    ck_assert_int_eq(rec_model_num_items(c->m, &after), REC_OK);
    ck_assert_uint_eq(after, before + (st == REC_OK));
    return st;
}

static void add_cleanup(void *arg)
{
    addctx *c = arg;
    rec_feature_set_destroy(c->fs);
    rec_model_destroy(c->m);
    c->fs = NULL;
    c->m = NULL;
}

START_TEST(add_items_survives_allocation_failures)
{
    rec_dataset *d = tu_generate(12, 20, 5);
    rec_model *m = fit_kv(d, "epochs=1 batch=16 text_buckets=64 item_features=title,genres "
                             "text_encoder=transformer");
    addctx c = { tu_tmp_path("tt_text_nomem.lrm"), NULL, NULL };
    ck_assert_int_eq(rec_model_save(m, c.path), REC_OK);
    rec_model_destroy(m);
    tu_call call = { add_setup, add_run, add_cleanup };
    ck_assert_int_gt(tu_call_fails_cleanly(&call, &c), 3);
    rec_dataset_destroy(d);
}
END_TEST

Suite *rec_twotower_text_suite(void)
{
    Suite *s = suite_create("twotower_text");
    TCase *t = tcase_create("twotower_text");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, tokens_are_hashed_words);
    tcase_add_test(t, mean_encoder_by_hand);
    tcase_add_test(t, rare_words_dropped);
    tcase_add_test(t, conv_encoder_gradients);
    tcase_add_test(t, transformer_encoder_gradients);
    tcase_add_test(t, titles_carry_cold_items);
    tcase_add_test(t, save_load_identical);
    tcase_add_test(t, bad_params);
    tcase_add_test(t, fit_survives_allocation_failures);
    tcase_add_test(t, add_items_survives_allocation_failures);
    suite_add_tcase(s, t);
    return s;
}
