/* The lightgcn model: its scores are the propagation of its layer-0 table
 * worked by hand on a tiny graph; both losses learn; save/load; the fold-in
 * formula against the saved item vectors; similar items; bad params;
 * allocation failures. */
#include "testutil.h"

#include "core/lrm-impl.h"
#include "data/graph-impl.h"
#include "models/graphmf-impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* u1: a b;  u2: b c;  u3: c.  Degrees u1 2, u2 2, u3 1, a 1, b 2, c 2. */
static rec_dataset *tiny(void)
{
    static const char *rows[][2] = { { "u1", "a" }, { "u1", "b" }, { "u2", "b" },
                                     { "u2", "c" }, { "u3", "c" } };
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    for (int k = 0; k < 5; k++)
        ck_assert_int_eq(rec_dataset_add(d, rows[k][0], rows[k][1], NAN, REC_NO_TIME), REC_OK);
    return d;
}

/* With lr = 0 the table stays at its seeded N(0, init_std) draw, which the
 * test redraws; the model's scores must be the 1-layer readout of it
 * through A's entries 1 / sqrt(deg a * deg b) worked out here. */
START_TEST(scores_are_the_propagated_init)
{
    /* _i == 1: similarity=cosine, whose scores are the cosines of the same rows */
    rec_dataset *d = tiny();
    const char *kv[] = { "dim=3", "layers=1", "lr=0", "epochs=1", "seed=7", "init_std=0.5",
                         _i ? "similarity=cosine" : "similarity=dot", "init=normal",
                         "renorm=0", "linear=0" };
    rec_model *m = tu_fit("lightgcn", d, kv, 10);
    rec_pstore *ps;
    ck_assert_int_eq(rec_pstore_create(&ps), REC_OK);
    int64_t shape[2] = { 6, 3 };
    rec_tensor *e0 = rec_pstore_add(ps, "E0", 2, shape, 0);
    rec_rng r;
    rec_rng_seed(&r, 7);
    rec_init_normal(e0, &r, 0, 0.5f);
    /* nodes: u1 u2 u3 a b c */
    double h = 1 / sqrt(2.0), A[6][6] = { { 0 } };
    A[0][3] = A[3][0] = h;    /* u1-a: 1/sqrt(2*1) */
    A[0][4] = A[4][0] = 0.5;  /* u1-b: 1/sqrt(2*2) */
    A[1][4] = A[4][1] = 0.5;  /* u2-b */
    A[1][5] = A[5][1] = 0.5;  /* u2-c */
    A[2][5] = A[5][2] = h;    /* u3-c: 1/sqrt(1*2) */
    double E[6][3];
    for (int x = 0; x < 6; x++)
        for (int c = 0; c < 3; c++) {
            double s = 0;
            for (int y = 0; y < 6; y++)
                s += A[x][y] * e0->v[y * 3 + c];
            E[x][c] = (e0->v[x * 3 + c] + s) / 2;
        }
    static const char *users[] = { "u1", "u2", "u3" }, *items[] = { "a", "b", "c" };
    for (int u = 0; u < 3; u++)
        for (int i = 0; i < 3; i++) {
            float s;
            ck_assert_int_eq(rec_model_score(m, users[u], items[i], &s), REC_OK);
            double want = 0, nu = 0, ni = 0;
            for (int c = 0; c < 3; c++) {
                want += E[u][c] * E[3 + i][c];
                nu += E[u][c] * E[u][c];
                ni += E[3 + i][c] * E[3 + i][c];
            }
            if (_i)
                want /= sqrt(nu * ni);
            ck_assert_double_eq_tol(s, want, 1e-5);
        }
    rec_pstore_destroy(ps);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* A gain of s^-1/2 with beta 0 weighs direction k by s_k, so at full rank
 * the start's user rows times its item rows rebuild R~ itself, up to the
 * common scale: sum_k s_k p_k q_k^T = R~. */
static double inv_sqrt_gain(void *ctx, double s)
{
    (void)ctx;
    return s > 0 ? 1 / sqrt(s) : 0;
}

START_TEST(spectral_start_rebuilds_the_graph)
{
    enum { NU = 12, NI = 9, NP = 40 };
    int32_t us[NP], is[NP];
    rec_rng r;
    rec_rng_seed(&r, 3);
    for (int k = 0; k < NP; k++) {
        us[k] = k < NU ? k : (int32_t)(rec_rng_u64(&r) % NU);
        is[k] = k < NI ? k : (int32_t)(rec_rng_u64(&r) % NI);
    }
    rec_uigraph *g;
    rec_csr *a;
    ck_assert_int_eq(rec_uigraph_from_pairs(&g, NU, NI, NP, us, is, "t"), REC_OK);
    ck_assert_int_eq(rec_uigraph_adjacency_renorm(g, REC_GRAPH_NORM_SYMMETRIC, 1.5, &a, "t"),
                     REC_OK);
    double rt[NU][NI] = { { 0 } }; /* R~ = (D + 1.5)^-1/2 R (D + 1.5)^-1/2 from the degrees */
    for (int u = 0; u < NU; u++)
        for (int64_t k = g->uptr[u]; k < g->uptr[u + 1]; k++) {
            int i = g->uitem[k];
            rt[u][i] = 1 / sqrt((rec_uigraph_degree(g, u) + 1.5) *
                                (rec_uigraph_degree(g, NU + i) + 1.5));
        }
    enum { DIM = 11 }; /* above the rank: the last columns come out 0 */
    float e0[(NU + NI) * DIM];
    ck_assert_int_eq(rec_graphmf_spectral(a, NU, NI, DIM, 2, 0.0, 0.1, inv_sqrt_gain, NULL, &r,
                                          e0, "t"), REC_OK);
    double num = 0, den = 0, dots[NU][NI];
    for (int u = 0; u < NU; u++)
        for (int i = 0; i < NI; i++) {
            double s = 0;
            for (int c = 0; c < DIM; c++)
                s += (double)e0[u * DIM + c] * e0[(NU + i) * DIM + c];
            dots[u][i] = s;
            num += s * rt[u][i];
            den += rt[u][i] * rt[u][i];
        }
    double scale = num / den, worst = 0;
    ck_assert(scale > 0);
    for (int u = 0; u < NU; u++)
        for (int i = 0; i < NI; i++)
            worst = fmax(worst, fabs(dots[u][i] / scale - rt[u][i]));
    ck_assert_msg(worst < 1e-4, "start rebuilds R~ to %g", worst);
    for (int x = 0; x < NU + NI; x++)
        for (int c = NI; c < DIM; c++)
            ck_assert_float_eq(e0[x * DIM + c], 0.0f);
    rec_uigraph_adj_free(a);
    rec_uigraph_destroy(g);
}
END_TEST

/* init=spectral, lr = 0: the model's scores are S = P diag(exp(beta s)) Q^T
 * times a constant, whatever the layers, because the start divides out the
 * propagation's gain.  At beta 0 that S is a multiple of a partial isometry,
 * S S^T S = c S, which a wrong gain (a weight varying with s) breaks. */
START_TEST(spectral_scores_are_the_filter)
{
    enum { NU = 30, NI = 20 };
    rec_dataset *d = tu_generate(NU, NI, 5);
    const char *kv[] = { "init=spectral", "spectral_beta=0", "dim=20", "lr=0", "epochs=1",
                         _i ? "layers=3" : "layers=1", "renorm=2", "linear=0" };
    rec_model *m = tu_fit("lightgcn", d, kv, 8);
    static double S[NU][NI], T[NI][NI], P[NU][NI];
    for (int u = 0; u < NU; u++) {
        const char *un, *in;
        ck_assert_int_eq(rec_dataset_user_id(d, u, &un), REC_OK);
        for (int i = 0; i < NI; i++) {
            float s;
            ck_assert_int_eq(rec_dataset_item_id(d, i, &in), REC_OK);
            ck_assert_int_eq(rec_model_score(m, un, in, &s), REC_OK);
            S[u][i] = s;
        }
    }
    for (int i = 0; i < NI; i++) /* T = S^T S */
        for (int j = 0; j < NI; j++) {
            T[i][j] = 0;
            for (int u = 0; u < NU; u++)
                T[i][j] += S[u][i] * S[u][j];
        }
    double num = 0, den = 0, big = 0;
    for (int u = 0; u < NU; u++)
        for (int j = 0; j < NI; j++) {
            P[u][j] = 0;
            for (int i = 0; i < NI; i++)
                P[u][j] += S[u][i] * T[i][j];
            num += P[u][j] * S[u][j];
            den += S[u][j] * S[u][j];
            big = fmax(big, fabs(S[u][j]));
        }
    double c = num / den, worst = 0;
    for (int u = 0; u < NU; u++)
        for (int j = 0; j < NI; j++)
            worst = fmax(worst, fabs(P[u][j] / c - S[u][j]));
    ck_assert_msg(worst < 1e-3 * big, "S S^T S / c - S reaches %g of %g", worst, big);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

static int keep_loss(void *user, int epoch, int epochs, double loss)
{
    double *l = user;
    l[epoch - 1] = loss;
    (void)epochs;
    return 0;
}

START_TEST(both_losses_learn)
{
    rec_dataset *d = tu_generate(60, 40, 8);
    static const char *losses[] = { "loss=softmax", "loss=bpr", "loss=softmax", "loss=ccl" };
    static const char *sims[] = { "similarity=dot", "similarity=dot", "similarity=cosine",
                                  "margin=0.5" };
    for (int k = 0; k < 4; k++) {
        rec_params *p;
        rec_model *m;
        ck_assert_int_eq(rec_params_create(&p), REC_OK);
        /* from the paper's normal start: the spectral one is near the end */
        const char *kv[] = { losses[k], "dim=8", "epochs=6", "batch=64", "negatives=16",
                             "lr=0.02", sims[k], "init=normal" };
        for (int j = 0; j < 8; j++)
            ck_assert_int_eq(rec_params_parse(p, kv[j]), REC_OK);
        ck_assert_int_eq(rec_model_create(&m, "lightgcn", p), REC_OK);
        double l[6];
        ck_assert_msg(rec_model_fit(m, d, keep_loss, l) == REC_OK, "%s", rec_last_error());
        ck_assert_msg(l[5] < 0.8 * l[0], "%s %s: loss %g -> %g", losses[k], sims[k], l[0], l[5]);
        /* seen items are excluded */
        const char *u, *ids[10];
        size_t n;
        ck_assert_int_eq(rec_dataset_user_id(d, 0, &u), REC_OK);
        ck_assert_int_eq(rec_model_recommend(m, u, 10, 0, ids, NULL, &n), REC_OK);
        ck_assert_uint_eq(n, 10);
        for (int64_t r = 0; r < 480; r++) {
            int32_t ru, ri;
            rec_dataset_row(d, r, &ru, &ri, NULL, NULL);
            const char *iname;
            rec_dataset_item_id(d, ri, &iname);
            for (size_t j = 0; ru == 0 && j < n; j++)
                ck_assert_str_ne(ids[j], iname);
        }
        rec_model_destroy(m);
        rec_params_destroy(p);
    }
    rec_dataset_destroy(d);
}
END_TEST

/* loss=ccl: with margin 1 no negative is penalised, so with lr = 0 and the
 * whole data in one batch the reported loss is 1 - the mean cosine of the
 * training pairs, which the stored (unit) vectors give as scores. */
START_TEST(ccl_loss_is_one_minus_the_mean_cosine)
{
    rec_dataset *d = tu_generate(20, 15, 4);
    rec_params *p;
    rec_model *m;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    const char *kv[] = { "loss=ccl", "margin=1", "dim=5", "epochs=1", "batch=100000", "lr=0",
                         "reg=0", "negatives=7", "linear=0" };
    for (int j = 0; j < 9; j++)
        ck_assert_int_eq(rec_params_parse(p, kv[j]), REC_OK);
    ck_assert_int_eq(rec_model_create(&m, "lightgcn", p), REC_OK);
    double l[1];
    ck_assert_msg(rec_model_fit(m, d, keep_loss, l) == REC_OK, "%s", rec_last_error());
    int64_t n;
    ck_assert_int_eq(rec_dataset_num_interactions(d, &n), REC_OK);
    double sum = 0;
    for (int64_t r = 0; r < n; r++) {
        int32_t u, i;
        const char *un, *in;
        float sc;
        rec_dataset_row(d, r, &u, &i, NULL, NULL);
        rec_dataset_user_id(d, u, &un);
        rec_dataset_item_id(d, i, &in);
        ck_assert_int_eq(rec_model_score(m, un, in, &sc), REC_OK);
        ck_assert_float_le(fabsf(sc), 1.0f + 1e-6f);
        sum += sc;
    }
    ck_assert_double_eq_tol(l[0], 1 - sum / (double)n, 1e-5);
    rec_model_destroy(m);
    rec_params_destroy(p);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(save_load_fold_in_similar)
{
    rec_dataset *d = tu_generate(30, 20, 5);
    const char *kv[] = { "dim=4", "epochs=2", "batch=32", "negatives=8", "renorm=3", "linear=0" };
    rec_model *m = tu_fit("lightgcn", d, kv, 6);
    const char *path = tu_tmp_path("lightgcn.lrm");
    ck_assert_int_eq(rec_model_save(m, path), REC_OK);
    rec_model *l; /* identical scores after the round trip are check_kinds.c's */
    ck_assert_int_eq(rec_model_load(&l, path), REC_OK);
    /* Fold-in of items 0 and 1 over the graph renormalised by 3, as trained:
     * e = (v0 / sqrt(deg 0 + 3) + v1 / sqrt(deg 1 + 3)) / sqrt(2 + 3). */
    rec_lrm_reader *r;
    ck_assert_int_eq(rec_lrm_open(path, &r), REC_OK);
    const void *pv;
    int64_t shape[4];
    ck_assert_int_eq(rec_lrm_tensor(r, "lightgcn.items", REC_LRM_F32, 2, shape, &pv), REC_OK);
    ck_assert_int_eq(shape[0], 20);
    ck_assert_int_eq(shape[1], 4);
    const float *V = pv;
    double deg[20] = { 0 };
    int pairs[30][20] = { { 0 } };
    int32_t nusers;
    int64_t rows;
    rec_dataset_num_users(d, &nusers);
    rec_dataset_num_interactions(d, &rows);
    for (int64_t k = 0; k < rows; k++) {
        int32_t ru, ri;
        rec_dataset_row(d, k, &ru, &ri, NULL, NULL);
        if (!pairs[ru][ri]++)
            deg[ri] += 1;
    }
    double e[4] = { 0 };
    for (int i = 0; i < 2; i++)
        for (int c = 0; c < 4; c++)
            e[c] += V[i * 4 + c] / sqrt(deg[i] + 3) / sqrt(2.0 + 3);
    const char *hist[2], *ids[20];
    float sc[20];
    size_t n;
    rec_dataset_item_id(d, 0, &hist[0]);
    rec_dataset_item_id(d, 1, &hist[1]);
    ck_assert_int_eq(rec_model_recommend_history(l, hist, NULL, 2, 20, REC_INCLUDE_SEEN, ids, sc,
                                                 &n), REC_OK);
    ck_assert_uint_eq(n, 20);
    for (size_t j = 0; j < n; j++) {
        int32_t i;
        for (i = 0; i < 20; i++) {
            const char *name;
            rec_dataset_item_id(d, i, &name);
            if (!strcmp(name, ids[j]))
                break;
        }
        double want = 0;
        for (int c = 0; c < 4; c++)
            want += e[c] * V[i * 4 + c];
        ck_assert_double_eq_tol(sc[j], want, 1e-5);
    }
    /* Similar: cosine of the item vectors, the item itself excluded or at 1. */
    ck_assert_int_eq(rec_model_similar(l, hist[0], 3, ids, sc, &n), REC_OK);
    ck_assert_uint_gt(n, 0);
    for (size_t j = 0; j < n; j++)
        ck_assert(sc[j] <= 1.0f + 1e-5f && sc[j] >= -1.0f - 1e-5f);
    rec_lrm_close(r);
    rec_model_destroy(l);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* tu_lrm_rewrite's keeps: a file as written before the linear filter, and
 * one whose weight is not a number. */
static int without_linear(const char *name, const void **data, void *ctx)
{
    (void)data, (void)ctx;
    return strcmp(name, "lightgcn.linear") != 0;
}

static int nan_linear(const char *name, const void **data, void *ctx)
{
    static const float nan_w = NAN;
    (void)ctx;
    if (!strcmp(name, "lightgcn.linear"))
        *data = &nan_w;
    return 1;
}

/* linear=w: the scores are the embeddings' plus w c (r_u R~^T R~)_i, with
 * R~ the renormalised user-item block worked out here and c the mean over
 * users of std(embedding row) / std(term row); the same for a fold-in
 * history, whose term is that of its items.  Such scores are not inner
 * products: no vectors, and index=hnsw is refused before training. */
START_TEST(linear_filter_is_the_item_item_term)
{
    rec_dataset *d = tiny();
    const char *kv[] = { "dim=3", "layers=1", "lr=0", "epochs=1", "seed=7", "init=normal",
                         "renorm=1", "linear=0" };
    rec_model *a = tu_fit("lightgcn", d, kv, 8);
    kv[7] = "linear=0.5";
    rec_model *b = tu_fit("lightgcn", d, kv, 8);
    /* rows u1 u2 u3, columns a b c; degrees u 2 2 1, items 1 2 2, each + 1 */
    static const double R[3][3] = { { 1, 1, 0 }, { 0, 1, 1 }, { 0, 0, 1 } };
    static const double du[3] = { 3, 3, 2 }, di[3] = { 2, 3, 3 };
    double Rt[3][3], L[3][3] = { { 0 } }, S[3][3];
    for (int u = 0; u < 3; u++)
        for (int i = 0; i < 3; i++)
            Rt[u][i] = R[u][i] / sqrt(du[u] * di[i]);
    for (int u = 0; u < 3; u++) /* L = R (R~^T R~) */
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                for (int v = 0; v < 3; v++)
                    L[u][i] += R[u][j] * Rt[v][j] * Rt[v][i];
    static const char *users[] = { "u1", "u2", "u3" }, *items[] = { "a", "b", "c" };
    double c = 0;
    for (int u = 0; u < 3; u++) {
        double se = 0, sse = 0, sl = 0, ssl = 0;
        for (int i = 0; i < 3; i++) {
            float s;
            ck_assert_int_eq(rec_model_score(a, users[u], items[i], &s), REC_OK);
            S[u][i] = s;
            se += s, sse += (double)s * s, sl += L[u][i], ssl += L[u][i] * L[u][i];
        }
        c += sqrt((sse / 3 - se * se / 9) / (ssl / 3 - sl * sl / 9)) / 3;
    }
    for (int u = 0; u < 3; u++)
        for (int i = 0; i < 3; i++) {
            float s;
            ck_assert_int_eq(rec_model_score(b, users[u], items[i], &s), REC_OK);
            ck_assert_double_eq_tol(s, S[u][i] + 0.5 * c * L[u][i], 1e-5);
        }
    /* a candidate list (one walk for all of it) scores as pair by pair */
    for (int32_t u = 0; u < 3; u++) {
        const int32_t cand[3] = { 2, 0, 1 };
        float got[3];
        ck_assert_int_eq(rec_model_score_items(b, u, cand, 3, got), REC_OK);
        for (int j = 0; j < 3; j++)
            ck_assert_float_eq(got[j], tu_score(b, users[u], items[cand[j]]));
    }
    /* u1's items as a history: the term is u1's, on the fold-in's embeddings */
    const char *hist[] = { "a", "b" }, *ids[3], *ids0[3];
    float sc[3], sc0[3];
    size_t n, n0;
    ck_assert_int_eq(rec_model_recommend_history(a, hist, NULL, 2, 3, REC_INCLUDE_SEEN, ids0,
                                                 sc0, &n0), REC_OK);
    ck_assert_int_eq(rec_model_recommend_history(b, hist, NULL, 2, 3, REC_INCLUDE_SEEN, ids, sc,
                                                 &n), REC_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(n0, 3);
    for (size_t j = 0; j < n; j++) {
        int i = ids[j][0] - 'a';
        size_t j0 = 0;
        while (j0 < n0 && strcmp(ids0[j0], ids[j]))
            j0++;
        ck_assert_uint_lt(j0, n0);
        ck_assert_double_eq_tol(sc[j], sc0[j0] + 0.5 * c * L[0][i], 1e-5);
    }
    int dim;
    ck_assert_int_eq(rec_model_vectors(a, REC_SIDE_ITEM, NULL, 0, &dim), REC_OK);
    tu_err_has(rec_model_vectors(b, REC_SIDE_ITEM, NULL, 0, &dim), REC_E_UNSUPPORTED,
               "linear=0");
    /* saved as "lightgcn.linear" = 0.5 c (check_kinds.c compares every score
     * after a round trip); a file written before the term (without it)
     * scores by the embeddings alone, as then; a weight that is not a
     * number is refused */
    char path[512];
    snprintf(path, sizeof path, "%s", tu_tmp_path("lightgcn_linear.lrm"));
    ck_assert_int_eq(rec_model_save(b, path), REC_OK);
    rec_lrm_reader *r;
    ck_assert_int_eq(rec_lrm_open(path, &r), REC_OK);
    const void *pw;
    int64_t shape[4];
    ck_assert_int_eq(rec_lrm_tensor(r, "lightgcn.linear", REC_LRM_F32, 1, shape, &pw), REC_OK);
    ck_assert_double_eq_tol(*(const float *)pw, 0.5 * c, 1e-5);
    rec_lrm_close(r);
    char old[512];
    snprintf(old, sizeof old, "%s", tu_tmp_path("lightgcn_before_linear.lrm"));
    tu_lrm_rewrite(path, old, without_linear, NULL);
    rec_model *o;
    ck_assert_int_eq(rec_model_load(&o, old), REC_OK);
    for (int u = 0; u < 3; u++)
        for (int i = 0; i < 3; i++)
            ck_assert_float_eq(tu_score(o, users[u], items[i]), tu_score(a, users[u], items[i]));
    rec_model_destroy(o);
    tu_lrm_rewrite(path, old, nan_linear, NULL);
    tu_err_has(rec_model_load(&o, old), REC_E_FORMAT, "lightgcn.linear is not a finite number");
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    ck_assert_int_eq(rec_params_parse(p, "index=hnsw"), REC_OK);
    rec_model *h;
    ck_assert_int_eq(rec_model_create(&h, "lightgcn", p), REC_OK);
    tu_err_has(rec_model_fit(h, d, NULL, NULL), REC_E_INVALID, "index=hnsw");
    rec_model_destroy(h);
    rec_params_destroy(p);
    rec_model_destroy(b);
    rec_model_destroy(a);
    rec_dataset_destroy(d);
}
END_TEST

/* dim=0 (the default): a quarter of the smaller side as a power of two in
 * [16, 512]; the fitted width survives save/load. */
START_TEST(dim_zero_follows_the_graph)
{
    static const int size[][3] = { { 300, 200, 32 }, { 40, 600, 16 }, { 3000, 2500, 512 } };
    rec_dataset *d = tu_generate(size[_i][0], size[_i][1], 3);
    int32_t nu, ni;
    rec_dataset_num_users(d, &nu);
    rec_dataset_num_items(d, &ni);
    int side = (nu < ni ? nu : ni) / 4, want = 16;
    while (want < 512 && 2 * want <= side)
        want *= 2;
    ck_assert_int_eq(want, size[_i][2]); /* the generator made every user and item */
    const char *kv[] = { "epochs=1", "batch=4096", "negatives=8", "layers=1", "init=normal" };
    rec_model *m = tu_fit("lightgcn", d, kv, 5);
    const char *path = tu_tmp_path("lightgcn_dim.lrm");
    ck_assert_int_eq(rec_model_save(m, path), REC_OK);
    rec_lrm_reader *r;
    ck_assert_int_eq(rec_lrm_open(path, &r), REC_OK);
    const void *pv;
    int64_t shape[4];
    ck_assert_int_eq(rec_lrm_tensor(r, "lightgcn.items", REC_LRM_F32, 2, shape, &pv), REC_OK);
    ck_assert_int_eq(shape[1], want);
    rec_lrm_close(r);
    rec_model *l;
    ck_assert_int_eq(rec_model_load(&l, path), REC_OK);
    rec_model_destroy(l);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

/* Each bad value fails create with its status, the message naming the key. */
START_TEST(bad_params)
{
    static const struct {
        const char *kv, *key;
        rec_status want;
    } bad[] = {
        { "loss=hinge", "loss", REC_E_INVALID },
        { "layers=17", "layers", REC_E_RANGE },
        { "similarity=euclid", "similarity", REC_E_INVALID },
        { "init=fourier", "init", REC_E_INVALID },
        { "renorm=-1", "renorm", REC_E_RANGE },
        { "dim=-1", "dim", REC_E_RANGE },
        { "linear=-0.5", "linear", REC_E_RANGE },
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++)
        tu_create_fails("lightgcn", bad[k].kv, bad[k].want, bad[k].key);
}
END_TEST

START_TEST(fit_survives_allocation_failures)
{
    rec_dataset *d = tiny();
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    ck_assert_int_eq(rec_params_parse(p, "dim=2"), REC_OK);
    ck_assert_int_eq(rec_params_parse(p, "epochs=1"), REC_OK);
    ck_assert_int_eq(rec_params_parse(p, "negatives=2"), REC_OK);
    rec_model *warm;
    ck_assert_int_eq(rec_model_create(&warm, "lightgcn", p), REC_OK);
    ck_assert_int_eq(rec_model_fit(warm, d, NULL, NULL), REC_OK); /* builds d's CSR caches */
    rec_model_destroy(warm);
    /* the default loss is check_kinds.c's; BPR draws through a sampler */
    ck_assert_int_eq(rec_params_parse(p, "loss=bpr"), REC_OK);
    ck_assert_int_gt(tu_fit_fails_cleanly("lightgcn", p, d), 10);
    rec_params_destroy(p);
    rec_dataset_destroy(d);
}
END_TEST

Suite *rec_lightgcn_suite(void)
{
    Suite *s = suite_create("lightgcn");
    TCase *t = tcase_create("lightgcn");
    tcase_set_timeout(t, 60);
    tcase_add_loop_test(t, scores_are_the_propagated_init, 0, 2);
    tcase_add_test(t, spectral_start_rebuilds_the_graph);
    tcase_add_loop_test(t, spectral_scores_are_the_filter, 0, 2);
    tcase_add_test(t, both_losses_learn);
    tcase_add_test(t, ccl_loss_is_one_minus_the_mean_cosine);
    tcase_add_test(t, save_load_fold_in_similar);
    tcase_add_test(t, linear_filter_is_the_item_item_term);
    tcase_add_loop_test(t, dim_zero_follows_the_graph, 0, 3);
    tcase_add_test(t, bad_params);
    tcase_add_test(t, fit_survives_allocation_failures);
    suite_add_tcase(s, t);
    return s;
}
