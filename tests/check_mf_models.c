/* The factorisation kinds "svd" (SGD, Surprise semantics) and "als"
 * (implicit ALS): one SGD epoch against a hand computation, ALS normal
 * equations, fold-in against the closed form, save/load, parameters and
 * errors, reproducibility and thread counts, allocation failures. */
#include "testutil.h"
#include "models/factor-impl.h"

#include <librec/librec.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rec_model *make(const char *kind, const char *kv)
{
    /* kv: "key=value key=value"; ints, floats (with a dot) and bools */
    rec_params *p;
    rec_model *m;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", kv ? kv : "");
    for (char *t = strtok(buf, " "); t; t = strtok(NULL, " ")) {
        char *eq = strchr(t, '=');
        *eq = 0;
        const char *v = eq + 1;
        if (!strcmp(v, "true") || !strcmp(v, "false"))
            rec_params_set_bool(p, t, !strcmp(v, "true"));
        else if (strchr(v, '.') || strchr(v, 'e'))
            rec_params_set_float(p, t, atof(v));
        else
            rec_params_set_int(p, t, atoll(v));
    }
    rec_status st = rec_model_create(&m, kind, p);
    ck_assert_msg(st == REC_OK, "%s", rec_last_error());
    rec_params_destroy(p);
    return m;
}

static void add(rec_dataset *d, const char *u, const char *i, double r, int64_t t)
{
    ck_assert_int_eq(rec_dataset_add(d, u, i, r, t), REC_OK);
}

/* ---- svd ------------------------------------------------------------------ */

/* Rows (a,x,4) (b,x,3) (a,y,2): Surprise visits a's ratings x, y, then b's.
 * With one factor initialised to 0.5 (std 0), lr 0.1, reg 0.05, mu = 3:
 *   a,x: e = 0.75    bu_a = .075  bi_x = .075  p_a = .5375   q_x = .5275
 *   a,y: e = -1.34375 ...   (values computed by hand in double, below) */
START_TEST(svd_one_epoch_by_hand)
{
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    add(d, "a", "x", 4, REC_NO_TIME);
    add(d, "b", "x", 3, REC_NO_TIME);
    add(d, "a", "y", 2, REC_NO_TIME);
    rec_model *m = make("svd", "n_factors=1 n_epochs=1 lr_all=0.1 reg_all=0.05 "
                               "init_mean=0.5 init_std_dev=0.0 shuffle=false");
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_OK);
    const rec_svd_state *s = m->state;
    /* users a=0 b=1, items x=0 y=1 */
    ck_assert_float_near(s->glob[0], 3.0, 1e-6);
    ck_assert_float_near(s->P[0], 0.4652, 1e-6);
    ck_assert_float_near(s->P[1], 0.47917625, 1e-6);
    ck_assert_float_near(s->Q[0], 0.5152, 1e-6);
    ck_assert_float_near(s->Q[1], 0.42567625, 1e-6);
    ck_assert_float_near(s->bu[0], -0.059625, 1e-6);
    ck_assert_float_near(s->bu[1], -0.03425, 1e-6);
    ck_assert_float_near(s->bi[0], 0.040375, 1e-6);
    ck_assert_float_near(s->bi[1], -0.13425, 1e-6);
    ck_assert_float_near(tu_score(m, "a", "x"), 3.22042104, 1e-5);
    ck_assert_float_near(tu_score(m, "a", "y"), 3.00414959, 1e-5);
    ck_assert_float_near(tu_score(m, "b", "x"), 3.25299660, 1e-5);
    ck_assert_float_near(tu_score(m, "b", "y"), 3.03547395, 1e-5);
    rec_model_destroy(m);

    /* Unbiased: no mu, no biases, only the product. */
    m = make("svd", "n_factors=1 n_epochs=1 lr_all=0.0 init_mean=0.5 init_std_dev=0.0 "
                    "biased=false");
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_OK);
    ck_assert_float_near(tu_score(m, "a", "x"), 2.0, 1e-6); /* 0.25 clipped to [2, 4] */
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* SVD++ against a direct transcription of Surprise's per-rating loop (every
 * y_j of the user updated at each rating), two epochs, same data and init:
 * the closed-form carrying of the y_j through a user's block is exact. */
START_TEST(svdpp_two_epochs_by_hand)
{
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    add(d, "a", "x", 4, REC_NO_TIME);
    add(d, "b", "x", 3, REC_NO_TIME);
    add(d, "a", "y", 2, REC_NO_TIME);
    rec_model *m = make("svdpp", "n_factors=1 n_epochs=2 lr_all=0.1 reg_all=0.05 "
                                 "init_mean=0.5 init_std_dev=0.0 shuffle=false");
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_OK);
    ck_assert_float_near(tu_score(m, "a", "x"), 3.34186461, 1e-5);
    ck_assert_float_near(tu_score(m, "a", "y"), 2.72567653, 1e-5);
    ck_assert_float_near(tu_score(m, "b", "x"), 3.31367710, 1e-5);
    ck_assert_float_near(tu_score(m, "b", "y"), 2.76188181, 1e-5);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* Predictions are clipped to the training range; a user or item without
 * training ratings (known only through the shared id map) keeps mu and the
 * other side's bias. */
START_TEST(svd_clips_and_drops_unknown_terms)
{
    rec_dataset *all, *train, *test;
    ck_assert_int_eq(rec_dataset_create(&all), REC_OK);
    add(all, "a", "x", 4, 1);
    add(all, "b", "x", 3, 1);
    add(all, "a", "y", 2, 1);
    add(all, "c", "z", 5, 10);
    ck_assert_int_eq(rec_dataset_split(all, "time:5", 0, 0, &train, &test), REC_OK);
    rec_model *m = make("svd", "n_factors=2 n_epochs=3 lr_all=0.1");
    ck_assert_int_eq(rec_model_fit(m, train, NULL, NULL), REC_OK);
    const rec_svd_state *s = m->state;
    float mu = s->glob[0];
    ck_assert_float_near(mu, 3.0, 1e-6);
    ck_assert_float_near(tu_score(m, "c", "z"), mu, 1e-6);
    ck_assert_float_near(tu_score(m, "c", "x"), mu + s->bi[0], 1e-6);
    ck_assert_float_near(tu_score(m, "a", "z"), mu + s->bu[0], 1e-6);
    rec_model_destroy(m);

    m = make("svd", "n_factors=1 n_epochs=1 lr_all=0.0 init_mean=3.0 init_std_dev=0.0 "
                    "rank_negatives=0");
    ck_assert_int_eq(rec_model_fit(m, train, NULL, NULL), REC_OK);
    ck_assert_float_near(tu_score(m, "a", "x"), 4.0, 0); /* 3 + 9 clipped */
    /* ranking keeps the unclipped scores */
    const char *ids[4];
    float sc[4];
    size_t n;
    ck_assert_int_eq(rec_model_recommend(m, "a", 4, REC_INCLUDE_SEEN, ids, sc, &n), REC_OK);
    ck_assert_float_near(sc[0], 12.0, 1e-5);
    rec_model_destroy(m);
    rec_dataset_destroy(train);
    rec_dataset_destroy(test);
    rec_dataset_destroy(all);
}
END_TEST

/* Fold-in solves [p; b] of the ridge problem with the items fixed; with one
 * factor it is a 2x2 system solved here by Cramer's rule. */
START_TEST(svd_fold_in_is_the_ridge_solution)
{
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    add(d, "a", "x", 4, REC_NO_TIME);
    add(d, "b", "x", 3, REC_NO_TIME);
    add(d, "a", "y", 2, REC_NO_TIME);
    add(d, "b", "z", 5, REC_NO_TIME);
    rec_model *m = make("svd", "n_factors=1 n_epochs=5 lr_all=0.1 reg_all=0.05 "
                               "rank_negatives=0");
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_OK);
    const rec_svd_state *s = m->state;
    ck_assert_ptr_null(s->RP);
    const char *hist[2] = { "y", "z" };
    float r[2] = { 1.5f, 4.5f };
    double a11 = 0.1, a12 = 0, a22 = 0.1, b1 = 0, b2 = 0; /* lambda = reg * 2 */
    int idx[2] = { 1, 2 };
    for (int h = 0; h < 2; h++) {
        double q = s->Q[idx[h]], y = r[h] - s->glob[0] - s->bi[idx[h]];
        a11 += q * q, a12 += q, a22 += 1, b1 += y * q, b2 += y;
    }
    double det = a11 * a22 - a12 * a12;
    double p = (b1 * a22 - a12 * b2) / det, b = (a11 * b2 - a12 * b1) / det;
    const char *ids[3];
    float sc[3];
    size_t n;
    ck_assert_int_eq(rec_model_recommend_history(m, hist, r, 2, 3, REC_INCLUDE_SEEN, ids, sc, &n),
                     REC_OK);
    ck_assert_uint_eq(n, 3);
    for (size_t k = 0; k < n; k++) {
        int32_t i = ids[k][0] - 'x';
        double want = s->glob[0] + b + s->bi[i] + p * s->Q[i];
        ck_assert_float_near(sc[k], want, 1e-4);
    }
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* l[0]: calls so far; l[1..21]: the losses in call order; l[22]: the
 * largest epoch count the callback was given. */
static int record_loss(void *user, int epoch, int epochs, double loss)
{
    double *l = user;
    int k = (int)++l[0];
    if (k <= 21)
        l[k] = loss;
    if (epochs > l[22])
        l[22] = epochs;
    return 0;
}

static int stop_at_two(void *user, int epoch, int epochs, double loss)
{
    return epoch == 2;
}

START_TEST(svd_learns_and_is_reproducible)
{
    rec_dataset *d = tu_generate(120, 150, 20);
    rec_model *m = make("svd", "n_factors=8 n_epochs=10"), *m2 = make("svd", "n_factors=8 "
                                                                              "n_epochs=10");
    rec_model *m3 = make("svd", "n_factors=8 n_epochs=10 seed=7");
    double loss[23] = { 0 }; /* 10 epochs of ratings, then 10 of the ranking head */
    ck_assert_int_eq(rec_model_fit(m, d, record_loss, loss), REC_OK);
    ck_assert_double_lt(loss[10], 0.9 * loss[1]);
    ck_assert_double_gt(loss[20], 0);
    ck_assert_double_eq(loss[0], 20);
    ck_assert_double_eq(loss[22], 10); /* each phase counts its own n_epochs */
    ck_assert_int_eq(rec_model_fit(m2, d, NULL, NULL), REC_OK);
    ck_assert_int_eq(rec_model_fit(m3, d, NULL, NULL), REC_OK);
    const rec_svd_state *a = m->state, *b = m2->state, *c = m3->state;
    size_t bytes = (size_t)m->nusers * 8 * sizeof(float);
    ck_assert_int_eq(memcmp(a->P, b->P, bytes), 0);
    ck_assert_int_ne(memcmp(a->P, c->P, bytes), 0);
    ck_assert_int_eq(rec_model_fit(m3, d, stop_at_two, NULL), REC_E_CANCELLED);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "cancelled at epoch 2"));
    rec_model_destroy(m);
    rec_model_destroy(m2);
    rec_model_destroy(m3);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(svd_bad_params_and_divergence)
{
    tu_create_fails("svd", "n_factors=0", REC_E_RANGE, "'n_factors' = 0 is outside");
    tu_create_fails("svd", "lr_al=0.1", REC_E_INVALID,
                    "unknown parameter 'lr_al' (did you mean 'lr'?)");
    tu_create_fails("svd", "reg_all=-1", REC_E_RANGE, "'reg_all'");

    rec_model *m;
    rec_dataset *d = tu_generate(50, 60, 10);
    m = make("svd", "n_factors=4 lr_all=9.0 reg_all=0.0 init_std_dev=50.0 n_epochs=50");
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_E_RANGE);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "rec_model_fit(svd): the training error "
                                                   "diverged"));
    float s;
    ck_assert_int_eq(rec_model_score(m, "1", "1", &s), REC_E_STATE);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* Every score, top-k list and similar list of the loaded model equals the
 * original's. */
static void check_round_trip(rec_model *m, const rec_dataset *d, const char *file)
{
    const char *path = tu_tmp_path(file);
    ck_assert_int_eq(rec_model_save(m, path), REC_OK);
    rec_model *l;
    rec_status st = rec_model_load(&l, path);
    ck_assert_msg(st == REC_OK, "%s", rec_last_error());
    ck_assert_str_eq(rec_model_kind(l), rec_model_kind(m));
    int32_t nu, ni;
    rec_dataset_num_users(d, &nu);
    rec_dataset_num_items(d, &ni);
    const char **a = calloc((size_t)ni, sizeof *a), **b = calloc((size_t)ni, sizeof *b);
    float *sa = calloc((size_t)ni, sizeof *sa), *sb = calloc((size_t)ni, sizeof *sb);
    size_t na, nb;
    for (int32_t u = 0; u < nu; u += 7) {
        const char *uid;
        rec_dataset_user_id(d, u, &uid);
        ck_assert_int_eq(rec_model_recommend(m, uid, (size_t)ni, 0, a, sa, &na), REC_OK);
        ck_assert_int_eq(rec_model_recommend(l, uid, (size_t)ni, 0, b, sb, &nb), REC_OK);
        ck_assert_uint_eq(na, nb);
        ck_assert_int_eq(memcmp(sa, sb, na * sizeof *sa), 0);
        for (size_t k = 0; k < na; k++)
            ck_assert_str_eq(a[k], b[k]);
        ck_assert_float_eq(tu_score(m, uid, a[0]), tu_score(l, uid, a[0]));
    }
    const char *iid;
    rec_dataset_item_id(d, 3, &iid);
    ck_assert_int_eq(rec_model_similar(m, iid, 10, a, sa, &na), REC_OK);
    ck_assert_int_eq(rec_model_similar(l, iid, 10, b, sb, &nb), REC_OK);
    ck_assert_uint_eq(na, nb);
    ck_assert_int_eq(memcmp(sa, sb, na * sizeof *sa), 0);
    ck_assert_float_le(sa[0], 1.0f + 1e-5f);
    const char *hist[3];
    rec_dataset_item_id(d, 0, &hist[0]);
    rec_dataset_item_id(d, 1, &hist[1]);
    rec_dataset_item_id(d, 2, &hist[2]);
    float hr[3] = { 4, 2, 5 };
    ck_assert_int_eq(rec_model_recommend_history(m, hist, hr, 3, 10, 0, a, sa, &na), REC_OK);
    ck_assert_int_eq(rec_model_recommend_history(l, hist, hr, 3, 10, 0, b, sb, &nb), REC_OK);
    ck_assert_uint_eq(na, nb);
    ck_assert_int_eq(memcmp(sa, sb, na * sizeof *sa), 0);
    free(a), free(b), free(sa), free(sb);
    rec_model_destroy(l);
}

/* ---- als ------------------------------------------------------------------ */

static rec_dataset *tiny_implicit(void)
{
    static const char *rows[][2] = { { "u1", "a" }, { "u1", "b" }, { "u2", "b" }, { "u2", "c" },
                                     { "u3", "a" }, { "u3", "d" }, { "u4", "e" }, { "u4", "c" },
                                     { "u4", "a" }, { "u5", "d" }, { "u5", "e" } };
    static const double r[] = { 5, 3, 4, 1, 2, 5, 3, 3, 4, 1, 2 };
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    for (size_t k = 0; k < sizeof rows / sizeof *rows; k++)
        add(d, rows[k][0], rows[k][1], r[k], REC_NO_TIME);
    return d;
}

/* Confidence of (u, i) and preference, from the dataset: c = 1 + alpha r. */
static void conf(const rec_dataset *d, int32_t u, int32_t i, double alpha, double *c, double *p)
{
    int64_t n;
    rec_dataset_num_interactions(d, &n);
    *c = 1, *p = 0;
    for (int64_t k = 0; k < n; k++) {
        int32_t uu, ii;
        double r;
        rec_dataset_row(d, k, &uu, &ii, &r, NULL);
        if (uu == u && ii == i)
            *c = 1 + alpha * r, *p = 1;
    }
}

/* The last half-step solved the items: the objective's gradient in every
 * y_i is zero: sum_u c_ui (x_u.y_i - p_ui) x_u + reg y_i = 0. */
START_TEST(als_item_step_solves_the_normal_equations)
{
    rec_dataset *d = tiny_implicit();
    rec_model *m = make("als", "factors=3 iterations=4 regularization=0.1 alpha=2.0 cg_steps=0");
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_OK);
    const rec_als_state *s = m->state;
    for (int32_t i = 0; i < m->nitems; i++) {
        double g[3] = { 0.1 * s->Y[i * 3], 0.1 * s->Y[i * 3 + 1], 0.1 * s->Y[i * 3 + 2] };
        double scale = 0;
        for (int32_t u = 0; u < m->nusers; u++) {
            double c, p, dot = 0;
            conf(d, u, i, 2.0, &c, &p);
            for (int k = 0; k < 3; k++)
                dot += (double)s->X[u * 3 + k] * s->Y[i * 3 + k];
            for (int k = 0; k < 3; k++) {
                g[k] += c * (dot - p) * s->X[u * 3 + k];
                scale += fabs(c * p * s->X[u * 3 + k]);
            }
        }
        for (int k = 0; k < 3; k++)
            ck_assert_msg(fabs(g[k]) < 1e-4 * scale, "item %d grad[%d] = %g (scale %g)", i, k,
                          g[k], scale);
    }
    /* observed pairs score higher than the mean of the others for most users */
    ck_assert_float_gt(tu_score(m, "u1", "a"), tu_score(m, "u1", "e"));
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* With as many CG steps as factors, CG solves each system exactly. */
START_TEST(als_cg_matches_cholesky)
{
    rec_dataset *d = tiny_implicit();
    rec_model *a = make("als", "factors=3 iterations=3 regularization=0.1 cg_steps=0");
    rec_model *b = make("als", "factors=3 iterations=3 regularization=0.1 cg_steps=3");
    ck_assert_int_eq(rec_model_fit(a, d, NULL, NULL), REC_OK);
    ck_assert_int_eq(rec_model_fit(b, d, NULL, NULL), REC_OK);
    const rec_als_state *sa = a->state, *sb = b->state;
    for (int32_t k = 0; k < a->nitems * 3; k++)
        ck_assert_float_near(sa->Y[k], sb->Y[k], 2e-3);
    rec_model_destroy(a);
    rec_model_destroy(b);
    rec_dataset_destroy(d);
}
END_TEST

/* Fold-in solves the user's half-step: the gradient in x of
 * sum_i c_i (x.y_i - p_i)^2 + reg |x|^2 vanishes, i.e.
 * x = -(1/reg) sum_i c_i (s_i - p_i) y_i with s = Y x the returned scores. */
START_TEST(als_fold_in_solves_the_user_step)
{
    rec_dataset *d = tiny_implicit();
    rec_model *m = make("als", "factors=3 iterations=3 regularization=0.5 alpha=3.0");
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_OK);
    const rec_als_state *s = m->state;
    const char *hist[2] = { "b", "d" };
    float hr[2] = { 2, 4 };
    const char *ids[5];
    float sc[5], byi[5];
    size_t n;
    ck_assert_int_eq(rec_model_recommend_history(m, hist, hr, 2, 5, REC_INCLUDE_SEEN, ids, sc,
                                                 &n), REC_OK);
    ck_assert_uint_eq(n, 5);
    for (size_t k = 0; k < n; k++)
        byi[ids[k][0] - 'a'] = sc[k];
    double x[3] = { 0 };
    for (int i = 0; i < 5; i++) {
        double c = 1, p = 0;
        if (i == 1)
            c = 1 + 3.0 * 2, p = 1;
        if (i == 3)
            c = 1 + 3.0 * 4, p = 1;
        for (int k = 0; k < 3; k++)
            x[k] -= c * (byi[i] - p) * s->Y[i * 3 + k] / 0.5;
    }
    for (int i = 0; i < 5; i++) {
        double dot = x[0] * s->Y[i * 3] + x[1] * s->Y[i * 3 + 1] + x[2] * s->Y[i * 3 + 2];
        ck_assert_float_near(dot, byi[i], 1e-4);
    }
    /* implicit history: r = 1 */
    ck_assert_int_eq(rec_model_recommend_history(m, hist, NULL, 2, 5, 0, ids, sc, &n), REC_OK);
    ck_assert_uint_eq(n, 3);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(als_threads_and_seed_reproducible)
{
    rec_dataset *d = tu_generate(150, 120, 15);
    int old = rec_get_num_threads();
    rec_set_num_threads(1);
    rec_model *a = make("als", "factors=8 iterations=3"), *b = make("als", "factors=8 "
                                                                           "iterations=3");
    ck_assert_int_eq(rec_model_fit(a, d, NULL, NULL), REC_OK);
    rec_set_num_threads(2);
    ck_assert_int_eq(rec_model_fit(b, d, NULL, NULL), REC_OK);
    rec_set_num_threads(old);
    const rec_als_state *sa = a->state, *sb = b->state;
    ck_assert_int_eq(memcmp(sa->X, sb->X, (size_t)a->nusers * 8 * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(sa->Y, sb->Y, (size_t)a->nitems * 8 * sizeof(float)), 0);
    rec_model_destroy(a);
    rec_model_destroy(b);
    rec_dataset_destroy(d);
}
END_TEST

/* Scripts and files from before the one vocabulary: a bag of old names
 * (Surprise's and implicit's) trains the model the new names train, and a
 * model file whose params carry the old names loads and scores the same. */
static void expect_same_model(const char *kind, const char *old_kv, const char *new_kv)
{
    rec_dataset *d = tu_generate(60, 40, 8);
    rec_model *o = make(kind, old_kv), *n = make(kind, new_kv);
    ck_assert_int_eq(rec_model_fit(o, d, NULL, NULL), REC_OK);
    ck_assert_int_eq(rec_model_fit(n, d, NULL, NULL), REC_OK);
    /* The file as an older librec wrote it: the params under old names. */
    rec_params *old = NULL;
    ck_assert_int_eq(rec_params_create(&old), REC_OK);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", old_kv);
    for (char *t = strtok(buf, " "); t; t = strtok(NULL, " "))
        ck_assert_int_eq(rec_params_parse(old, t), REC_OK);
    rec_params *canon = o->params;
    o->params = old;
    const char *path = tu_tmp_path("old_names.lrm");
    ck_assert_int_eq(rec_model_save(o, path), REC_OK);
    o->params = canon;
    rec_params_destroy(old);
    rec_model *l = NULL;
    ck_assert_msg(rec_model_load(&l, path) == REC_OK, "%s", rec_last_error());
    const char *key;
    ck_assert_int_eq(rec_params_key(l->params, 0, &key, NULL), REC_OK);
    ck_assert_str_eq(key, "dim");
    size_t ni;
    ck_assert_int_eq(rec_model_num_items(n, &ni), REC_OK);
    float *a = malloc(ni * sizeof *a), *b = malloc(ni * sizeof *b), *c = malloc(ni * sizeof *c);
    char **ids = malloc(ni * sizeof *ids);
    size_t got[3];
    const char *u = rec_idmap_name(rec_ds_user_map(d), 3);
    ck_assert_int_eq(rec_model_recommend(o, u, ni, REC_INCLUDE_SEEN, (const char **)ids, a,
                                         &got[0]), REC_OK);
    ck_assert_int_eq(rec_model_recommend(n, u, ni, REC_INCLUDE_SEEN, (const char **)ids, b,
                                         &got[1]), REC_OK);
    ck_assert_int_eq(rec_model_recommend(l, u, ni, REC_INCLUDE_SEEN, (const char **)ids, c,
                                         &got[2]), REC_OK);
    ck_assert_uint_eq(got[0], ni);
    ck_assert_int_eq(memcmp(a, b, ni * sizeof *a), 0);
    ck_assert_int_eq(memcmp(a, c, ni * sizeof *a), 0);
    free(a);
    free(b);
    free(c);
    free(ids);
    rec_model_destroy(o);
    rec_model_destroy(n);
    rec_model_destroy(l);
    rec_dataset_destroy(d);
}

START_TEST(old_parameter_names_train_and_load)
{
    expect_same_model("svd", "n_factors=3 n_epochs=2 lr_all=0.01 reg_all=0.1 init_std_dev=0.2",
                      "dim=3 epochs=2 lr=0.01 reg=0.1 init_std=0.2");
    expect_same_model("als", "factors=3 iterations=2 regularization=0.5",
                      "dim=3 epochs=2 reg=0.5");
    expect_same_model("mf", "n_factors=3 n_epochs=2 learning_rate=0.01 batch_size=16",
                      "dim=3 epochs=2 lr=0.01 batch=16");
}
END_TEST

START_TEST(als_bad_params)
{
    tu_create_fails("als", "alpha=-1", REC_E_RANGE, "'alpha' = -1");
    tu_create_fails("als", "cg_steps=three", REC_E_INVALID, "cg_steps");
    tu_create_fails("als", "factors=5000", REC_E_RANGE, "factors");
}
END_TEST

/* ---- svd's ranking head ---------------------------------------------------- */

/* The head answers top-N only: every pair score is the rating model's, which
 * is the same model as without a head (the head draws from its own streams). */
START_TEST(svd_rank_head_keeps_pair_scores)
{
    rec_dataset *d = tu_generate(60, 80, 12);
    rec_model *m = make("svd", "n_factors=6 n_epochs=5");
    rec_model *r = make("svd", "n_factors=6 n_epochs=5 rank_negatives=0");
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_OK);
    ck_assert_int_eq(rec_model_fit(r, d, NULL, NULL), REC_OK);
    const rec_svd_state *a = m->state, *b = r->state;
    ck_assert_ptr_nonnull(a->RP);
    ck_assert_ptr_null(b->RP);
    ck_assert_float_eq(a->rglob[1], 4); /* rank_negatives=-1 with ratings */
    size_t nu = (size_t)m->nusers, ni = (size_t)m->nitems;
    ck_assert_int_eq(memcmp(a->P, b->P, nu * 6 * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(a->Q, b->Q, ni * 6 * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(a->bi, b->bi, ni * sizeof(float)), 0);
    for (int32_t u = 0; u < m->nusers; u += 5) {
        const char *uid, *iid;
        rec_dataset_user_id(d, u, &uid);
        for (int32_t i = 0; i < m->nitems; i += 3) {
            rec_dataset_item_id(d, i, &iid);
            float v = a->glob[0] + a->bu[u] + a->bi[i];
            for (int k = 0; k < 6; k++)
                v += a->P[(size_t)u * 6 + k] * a->Q[(size_t)i * 6 + k];
            v = v < a->glob[1] ? a->glob[1] : v > a->glob[2] ? a->glob[2] : v;
            ck_assert_float_eq(tu_score(m, uid, iid), tu_score(r, uid, iid));
            ck_assert_float_near(tu_score(m, uid, iid), v, 1e-5);
        }
        /* while top-N scores are the head's */
        const char *top[1];
        float sc[1];
        size_t n;
        ck_assert_int_eq(rec_model_recommend(m, uid, 1, REC_INCLUDE_SEEN, top, sc, &n), REC_OK);
        int32_t i = -1;
        for (int32_t j = 0; j < m->nitems; j++) {
            rec_dataset_item_id(d, j, &iid);
            if (!strcmp(iid, top[0]))
                i = j;
        }
        ck_assert_int_ge(i, 0);
        float h = a->rglob[0] + a->rbu[u] + a->rbi[i];
        for (int k = 0; k < 6; k++)
            h += a->RP[(size_t)u * 6 + k] * a->RQ[(size_t)i * 6 + k];
        ck_assert_float_near(sc[0], h, 1e-4);
    }
    rec_model_destroy(m);
    rec_model_destroy(r);

    /* negatives > 0 already ranks: no head unless asked for */
    m = make("svd", "n_factors=2 n_epochs=2 negatives=2");
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_OK);
    ck_assert_ptr_null(((const rec_svd_state *)m->state)->RP);
    rec_model_destroy(m);
    m = make("svd", "n_factors=2 n_epochs=2 negatives=2 rank_negatives=3");
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_OK);
    ck_assert_float_eq(((const rec_svd_state *)m->state)->rglob[1], 3);
    rec_model_destroy(m);
    /* SVD++ ranks by its predicted ratings */
    m = make("svdpp", "n_factors=2 n_epochs=2");
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_OK);
    ck_assert_ptr_null(((const rec_svd_state *)m->state)->RP);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* "pop" is rated 4 by 60 of 80 users; five niche items are rated 5 by two
 * users each; everyone rates 8 of 30 fillers 2..4.  For u0 (fillers only)
 * the rating model puts a niche item above pop (higher predicted rating);
 * the ranking head, which also learns who rates what, puts pop first, for
 * u0 and for u0's history folded in. */
static rec_dataset *pop_and_niche(void)
{
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    char u[16], i[16];
    for (int k = 0; k < 80; k++) {
        snprintf(u, sizeof u, "u%d", k);
        for (int j = 0; j < 8; j++) {
            snprintf(i, sizeof i, "f%d", (k * 7 + j * 11) % 30);
            add(d, u, i, 2 + (k + j) % 3, REC_NO_TIME);
        }
        if (k >= 1 && k <= 60)
            add(d, u, "pop", 4, REC_NO_TIME);
        if (k >= 61 && k <= 70) {
            snprintf(i, sizeof i, "n%d", (k - 61) / 2);
            add(d, u, i, 5, REC_NO_TIME);
        }
    }
    return d;
}

START_TEST(svd_rank_head_ranks_the_popular_liked_item)
{
    rec_dataset *d = pop_and_niche();
    rec_model *m = make("svd", "n_factors=4 n_epochs=60 lr_all=0.02");
    rec_model *r = make("svd", "n_factors=4 n_epochs=60 lr_all=0.02 rank_negatives=0");
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_OK);
    ck_assert_int_eq(rec_model_fit(r, d, NULL, NULL), REC_OK);
    const char *top[3];
    size_t n;
    ck_assert_int_eq(rec_model_recommend(r, "u0", 3, 0, top, NULL, &n), REC_OK);
    ck_assert_msg(top[0][0] == 'n', "the rating model's first is %s", top[0]);
    ck_assert_int_eq(rec_model_recommend(m, "u0", 3, 0, top, NULL, &n), REC_OK);
    ck_assert_str_eq(top[0], "pop");

    const char *hist[8];
    float hr[8];
    char names[8][8];
    for (int j = 0; j < 8; j++) {
        snprintf(names[j], sizeof names[j], "f%d", (j * 11) % 30);
        hist[j] = names[j];
        hr[j] = (float)(2 + j % 3);
    }
    ck_assert_int_eq(rec_model_recommend_history(r, hist, hr, 8, 3, 0, top, NULL, &n), REC_OK);
    ck_assert_msg(top[0][0] == 'n', "the rating model's fold-in first is %s", top[0]);
    ck_assert_int_eq(rec_model_recommend_history(m, hist, hr, 8, 3, 0, top, NULL, &n), REC_OK);
    ck_assert_str_eq(top[0], "pop");
    rec_model_destroy(m);
    rec_model_destroy(r);
    rec_dataset_destroy(d);
}
END_TEST

/* The head's fold-in solves the expected objective of one SGD epoch: the
 * history as targets, each unrated item as target 0 weighted by its expected
 * draws c = neg n / (nitems - n), lambda = reg n (1 + neg).  One factor:
 * a 2x2 system by Cramer's rule. */
START_TEST(svd_rank_head_fold_in_closed_form)
{
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    add(d, "a", "x", 4, REC_NO_TIME);
    add(d, "b", "x", 3, REC_NO_TIME);
    add(d, "a", "y", 2, REC_NO_TIME);
    add(d, "b", "z", 5, REC_NO_TIME);
    rec_model *m = make("svd", "n_factors=1 n_epochs=5 lr_all=0.1 reg_all=0.05 "
                               "rank_negatives=2");
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_OK);
    const rec_svd_state *s = m->state;
    ck_assert_float_eq(s->rglob[1], 2);
    ck_assert_float_near(s->rglob[0], 3.5 / 3, 1e-6); /* mean of all targets */
    const char *hist[2] = { "y", "z" };
    float r[2] = { 1.5f, 4.5f };
    double c = 2.0 * 2 / (3 - 2), lambda = 0.05 * 2 * 3, mu = s->rglob[0];
    double qx = s->RQ[0], tx = -mu - s->rbi[0];
    double a11 = lambda + c * qx * qx, a12 = c * qx, a22 = lambda + c;
    double b1 = c * tx * qx, b2 = c * tx;
    for (int i = 1; i < 3; i++) {
        double q = s->RQ[i], y = r[i - 1] - mu - s->rbi[i];
        a11 += q * q, a12 += q, a22 += 1, b1 += y * q, b2 += y;
    }
    double det = a11 * a22 - a12 * a12;
    double p = (b1 * a22 - a12 * b2) / det, b = (a11 * b2 - a12 * b1) / det;
    const char *ids[3];
    float sc[3];
    size_t n;
    ck_assert_int_eq(rec_model_recommend_history(m, hist, r, 2, 3, REC_INCLUDE_SEEN, ids, sc, &n),
                     REC_OK);
    ck_assert_uint_eq(n, 3);
    for (size_t k = 0; k < n; k++) {
        int32_t i = ids[k][0] - 'x';
        ck_assert_float_near(sc[k], mu + b + s->rbi[i] + p * s->RQ[i], 1e-4);
    }
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* tu_lrm_rewrite's keep: without the ranking head (as written before it
 * existed) or, ctx pointing at a float[2], with a bad negatives count in
 * rank.global. */
static int rank_head(const char *name, const void **data, void *ctx)
{
    float *g = ctx;
    if (!data || strncmp(name, "rank.", 5)) /* every blob */
        return 1;
    if (g && !strcmp(name, "rank.global")) {
        memcpy(g, *data, 2 * sizeof *g);
        g[1] = 0;
        *data = g;
    }
    return g != NULL;
}

/* A copy of the model file src without the ranking head, or with a bad
 * negatives count in rank.global. */
static void rewrite(const char *src, const char *dst, int bad_global)
{
    float g[2];
    tu_lrm_rewrite(src, dst, rank_head, bad_global ? g : NULL);
}

/* The head's tensors round-trip (check_round_trip compares top-N, similar
 * and fold-in); a file without them loads and ranks by the ratings; a bad
 * rank.global is REC_E_FORMAT. */
START_TEST(svd_rank_head_files)
{
    rec_dataset *d = tu_generate(60, 80, 12);
    rec_model *m = make("svd", "n_factors=6 n_epochs=3");
    ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_OK);
    check_round_trip(m, d, "svd-head.lrm");
    rec_model *r = make("svd", "n_factors=6 n_epochs=3 rank_negatives=0");
    ck_assert_int_eq(rec_model_fit(r, d, NULL, NULL), REC_OK);

    char src[1024], old[1024]; /* tu_tmp_path's buffer is reused */
    snprintf(src, sizeof src, "%s", tu_tmp_path("svd-head.lrm"));
    snprintf(old, sizeof old, "%s", tu_tmp_path("svd-old.lrm"));
    rewrite(src, old, 0);
    rec_model *l;
    rec_status st = rec_model_load(&l, old);
    ck_assert_msg(st == REC_OK, "%s", rec_last_error());
    ck_assert_ptr_null(((const rec_svd_state *)l->state)->RP);
    int32_t ni;
    rec_dataset_num_items(d, &ni);
    const char **a = calloc((size_t)ni, sizeof *a), **b = calloc((size_t)ni, sizeof *b);
    float *sa = calloc((size_t)ni, sizeof *sa), *sb = calloc((size_t)ni, sizeof *sb);
    size_t na, nb;
    const char *uid;
    rec_dataset_user_id(d, 4, &uid);
    ck_assert_int_eq(rec_model_recommend(l, uid, (size_t)ni, 0, a, sa, &na), REC_OK);
    ck_assert_int_eq(rec_model_recommend(r, uid, (size_t)ni, 0, b, sb, &nb), REC_OK);
    ck_assert_uint_eq(na, nb);
    ck_assert_int_eq(memcmp(sa, sb, na * sizeof *sa), 0);
    ck_assert_float_eq(tu_score(l, uid, a[0]), tu_score(m, uid, a[0]));
    rec_model_destroy(l);

    rewrite(src, old, 1);
    ck_assert_int_eq(rec_model_load(&l, old), REC_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "rec_model_load(svd): bad rank.global"));
    free(a), free(b), free(sa), free(sb);
    rec_model_destroy(m);
    rec_model_destroy(r);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(svd_rank_negatives_bad_values)
{
    tu_create_fails("svd", "rank_negatives=-2", REC_E_RANGE, "'rank_negatives' = -2 is outside");
    tu_create_fails("svd", "rank_negatives=1001", REC_E_RANGE,
                    "'rank_negatives' = 1001 is outside");
    tu_create_fails("svd", "rank_negatives=2.5", REC_E_INVALID, "rank_negatives");
    /* SVD++ has no ranking head */
    tu_create_fails("svdpp", "rank_negatives=4", REC_E_INVALID,
                    "unknown parameter 'rank_negatives'");
}
END_TEST

/* ---- allocation failures -------------------------------------------------- */

typedef struct oom_ctx {
    rec_dataset *d;
    const char *kind, *kv;
    rec_model *m;
} oom_ctx;

/* The defaults of svd, svdpp and als are failed allocation by allocation in
 * check_kinds.c; this is ALS's Cholesky path (cg_steps=0). */
START_TEST(fit_survives_allocation_failures)
{
    static const char *kinds[][2] = { { "als", "factors=3 iterations=2 cg_steps=0" } };
    rec_dataset *d = tu_generate(20, 30, 6);
    rec_model *warm = make("als", "factors=2 iterations=1");
    ck_assert_int_eq(rec_model_fit(warm, d, NULL, NULL), REC_OK); /* builds d's CSR caches */
    rec_model_destroy(warm);
    for (size_t c = 0; c < sizeof kinds / sizeof *kinds; c++) {
        long k;
        for (k = 1; k < 100000; k++) {
            tu_alloc_install();
            rec_model *m = make(kinds[c][0], kinds[c][1]);
            tu_alloc_fail_at(k);
            rec_status st = rec_model_fit(m, d, NULL, NULL);
            const char *hist[1];
            rec_dataset_item_id(d, 0, &hist[0]);
            const char *ids[3];
            size_t n;
            if (!st) {
                tu_alloc_fail_at(1);
                ck_assert_int_eq(rec_model_recommend_history(m, hist, NULL, 1, 3, 0, ids, NULL,
                                                             &n), REC_E_NOMEM);
            }
            tu_alloc_fail_at(0);
            rec_model_destroy(m);
            long long live = tu_alloc_live();
            tu_alloc_remove();
            ck_assert_msg(live == 0, "%s allocation %ld: %lld bytes leaked", kinds[c][0], k,
                          live);
            if (st == REC_OK)
                break;
            ck_assert_msg(st == REC_E_NOMEM, "%s allocation %ld: %s (%s)", kinds[c][0], k,
                          rec_strerror(st), rec_last_error());
        }
        ck_assert_int_gt(k, 1);
    }
    rec_dataset_destroy(d);
}
END_TEST

Suite *rec_mf_models_suite(void)
{
    Suite *s = suite_create("mf_models");
    TCase *t = tcase_create("svd");
    tcase_add_test(t, svd_one_epoch_by_hand);
    tcase_add_test(t, old_parameter_names_train_and_load);
    tcase_add_test(t, svdpp_two_epochs_by_hand);
    tcase_add_test(t, svd_clips_and_drops_unknown_terms);
    tcase_add_test(t, svd_fold_in_is_the_ridge_solution);
    tcase_add_test(t, svd_learns_and_is_reproducible);
    tcase_add_test(t, svd_bad_params_and_divergence);
    tcase_add_test(t, svd_rank_head_keeps_pair_scores);
    tcase_add_test(t, svd_rank_head_ranks_the_popular_liked_item);
    tcase_add_test(t, svd_rank_head_fold_in_closed_form);
    tcase_add_test(t, svd_rank_head_files);
    tcase_add_test(t, svd_rank_negatives_bad_values);
    suite_add_tcase(s, t);
    t = tcase_create("als");
    tcase_add_test(t, als_item_step_solves_the_normal_equations);
    tcase_add_test(t, als_cg_matches_cholesky);
    tcase_add_test(t, als_fold_in_solves_the_user_step);
    tcase_add_test(t, als_threads_and_seed_reproducible);
    tcase_add_test(t, als_bad_params);
    tcase_add_test(t, fit_survives_allocation_failures);
    suite_add_tcase(s, t);
    return s;
}
