/* The 2-D maps of vectors: the Jacobi eigen-solver against a hand-made
 * matrix, PCA on data whose axes and variances are known exactly, the
 * neighbour embedding's fuzzy graph and curve against UMAP's, its keeping
 * of well-separated clusters apart, its reproducibility (seed, threads),
 * and the errors of both calls. */
#include "testutil.h"

#include <librec/librec.h>
#include <librec/retrieval.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg-impl.h"
#include "retrieval/project-impl.h"

START_TEST(eigen_sym_diagonalises_a_known_matrix)
{
    /* A = Q diag(5, 2, -1, 0.5) Q^T with Q a product of two rotations. */
    enum { N = 4 };
    double lam[N] = { 2, 5, 0.5, -1 }, q[N][N] = { { 0 } }, a[N * N], a0[N * N], w[N], v[N * N];
    double c1 = cos(0.3), s1 = sin(0.3), c2 = cos(1.1), s2 = sin(1.1);
    double r1[N][N] = { { c1, -s1, 0, 0 }, { s1, c1, 0, 0 }, { 0, 0, 1, 0 }, { 0, 0, 0, 1 } };
    double r2[N][N] = { { 1, 0, 0, 0 }, { 0, c2, 0, -s2 }, { 0, 0, 1, 0 }, { 0, s2, 0, c2 } };
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            for (int k = 0; k < N; k++)
                q[i][j] += r1[i][k] * r2[k][j];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < N; k++)
                s += q[i][k] * lam[k] * q[j][k];
            a[i * N + j] = a0[i * N + j] = s;
        }
    ck_assert_int_eq(rec_eigen_sym(N, a, w, v), REC_OK);
    const double want[N] = { 5, 2, 0.5, -1 }; /* descending */
    for (int k = 0; k < N; k++) {
        ck_assert_float_near(w[k], want[k], 1e-12);
        /* A v = w v, |v| = 1, largest component positive */
        double norm = 0, big = 0;
        for (int i = 0; i < N; i++) {
            double av = 0;
            for (int j = 0; j < N; j++)
                av += a0[i * N + j] * v[k * N + j];
            ck_assert_float_near(av, w[k] * v[k * N + i], 1e-12);
            norm += v[k * N + i] * v[k * N + i];
            big = fabs(v[k * N + i]) > fabs(big) ? v[k * N + i] : big;
        }
        ck_assert_float_near(norm, 1, 1e-12);
        ck_assert(big > 0);
    }
}
END_TEST

/* The 8 corners of a box with half-sides 3, 1, 0.3, rotated and moved:
 * the covariance is exactly R diag(9, 1, 0.09) R^T * 8/7. */
static void box_corners(float *x, double r[3][3])
{
    double c = cos(0.7), s = sin(0.7), c2 = cos(-0.4), s2 = sin(-0.4);
    double a[3][3] = { { c, -s, 0 }, { s, c, 0 }, { 0, 0, 1 } };
    double b[3][3] = { { c2, 0, -s2 }, { 0, 1, 0 }, { s2, 0, c2 } };
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            r[i][j] = 0;
            for (int k = 0; k < 3; k++)
                r[i][j] += a[i][k] * b[k][j];
        }
    const double half[3] = { 3, 1, 0.3 }, shift[3] = { 10, -5, 2 };
    for (int p = 0; p < 8; p++) {
        double u[3] = { (p & 1 ? 1 : -1) * half[0], (p & 2 ? 1 : -1) * half[1],
                        (p & 4 ? 1 : -1) * half[2] };
        for (int i = 0; i < 3; i++)
            x[p * 3 + i] = (float)(shift[i] + r[i][0] * u[0] + r[i][1] * u[1] + r[i][2] * u[2]);
    }
}

START_TEST(pca_recovers_axes_and_explained_variance)
{
    float x[24], out[16], axes[6];
    double r[3][3], var[2], total;
    box_corners(x, r);
    ck_assert_int_eq(rec_project_pca(x, 8, 3, 2, out, axes, var, &total), REC_OK);
    ck_assert_float_near(var[0], 9 * 8.0 / 7, 1e-4);
    ck_assert_float_near(var[1], 1 * 8.0 / 7, 1e-4);
    ck_assert_float_near(total, (9 + 1 + 0.09) * 8.0 / 7, 1e-4);
    ck_assert_float_near(var[0] / total, 9 / 10.09, 1e-5);
    for (int k = 0; k < 2; k++) {
        /* axis k is column k of R, up to sign */
        double dot = 0;
        for (int i = 0; i < 3; i++)
            dot += axes[k * 3 + i] * r[i][k];
        ck_assert_float_near(fabs(dot), 1, 1e-5);
    }
    /* Coordinates: the corners sit at +-3 and +-1, signs as the axes say. */
    for (int p = 0; p < 8; p++) {
        ck_assert_float_near(fabs(out[p * 2]), 3, 1e-4);
        ck_assert_float_near(fabs(out[p * 2 + 1]), 1, 1e-4);
    }
    /* Outputs are optional; k = dim gives the full spectrum. */
    double all[3];
    ck_assert_int_eq(rec_project_pca(x, 8, 3, 3, NULL, NULL, all, NULL), REC_OK);
    ck_assert_float_near(all[2], 0.09 * 8.0 / 7, 1e-4);
}
END_TEST

START_TEST(pca_rejects_bad_input_and_writes_nothing)
{
    float x[6] = { 1, 2, 3, 4, NAN, 6 }, out[4] = { 7, 7, 7, 7 };
    ck_assert_int_eq(rec_project_pca(x, 3, 2, 2, out, NULL, NULL, NULL), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "rec_project_pca: row 2, column 0 is not"));
    ck_assert_float_near(out[0], 7, 0);
    x[4] = 5;
    ck_assert_int_eq(rec_project_pca(x, 3, 2, 3, out, NULL, NULL, NULL), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "k = 3 is outside [1, dim = 2]"));
    ck_assert_int_eq(rec_project_pca(x, 0, 2, 1, out, NULL, NULL, NULL), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "n is 0"));
    ck_assert_int_eq(rec_project_pca(NULL, 3, 2, 1, out, NULL, NULL, NULL), REC_E_INVALID);
    ck_assert_int_eq(rec_project_pca(x, 3, 2000, 1, out, NULL, NULL, NULL), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "dim = 2000 is more than 1024"));
    ck_assert_float_near(out[0], 7, 0);
}
END_TEST

START_TEST(umap_curve_matches_umaps_fit)
{
    /* umap.umap_.find_ab_params(1.0, 0.1) = (1.5769, 0.8951) and
     * (1.0, 0.5) = (0.5830, 1.3341). */
    double a, b;
    rec_umap_curve(0.1, &a, &b);
    ck_assert_float_near(a, 1.5769, 0.01);
    ck_assert_float_near(b, 0.8951, 0.005);
    rec_umap_curve(0.5, &a, &b);
    ck_assert_float_near(a, 0.5830, 0.01);
    ck_assert_float_near(b, 1.3341, 0.01);
}
END_TEST

/* C clusters of per points in dim dims: centres far apart (scale 10),
 * unit noise; label[i] = i % C. */
static float *clusters(int c, int per, int dim, unsigned seed, int *label)
{
    size_t n = (size_t)c * (size_t)per;
    float *x = malloc(n * (size_t)dim * sizeof *x), *centre = malloc((size_t)c * dim * sizeof *x);
    ck_assert_ptr_nonnull(x);
    rec_rng r;
    rec_rng_seed(&r, seed);
    for (int k = 0; k < c * dim; k++)
        centre[k] = 10 * rec_rng_normal(&r);
    for (size_t i = 0; i < n; i++) {
        label[i] = (int)(i % (size_t)c);
        for (int d = 0; d < dim; d++)
            x[i * (size_t)dim + (size_t)d] = centre[label[i] * dim + d] + rec_rng_normal(&r);
    }
    free(centre);
    return x;
}

/* The share of each point's 10 nearest in the plane with its label. */
static double agreement_2d(const float *y, size_t n, const int *label)
{
    long same = 0;
    for (size_t i = 0; i < n; i++) {
        double bd[10];
        size_t bl[10];
        for (int q = 0; q < 10; q++)
            bd[q] = INFINITY, bl[q] = 0;
        for (size_t j = 0; j < n; j++) {
            if (j == i)
                continue;
            double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
            double d = dx * dx + dy * dy;
            if (d >= bd[9])
                continue;
            int q = 9;
            for (; q > 0 && bd[q - 1] > d; q--)
                bd[q] = bd[q - 1], bl[q] = bl[q - 1];
            bd[q] = d, bl[q] = j;
        }
        for (int q = 0; q < 10; q++)
            same += label[bl[q]] == label[i];
    }
    return (double)same / (double)(n * 10);
}

START_TEST(neighbors_keep_separated_clusters_apart)
{
    enum { C = 6, PER = 150, DIM = 16 };
    int label[C * PER];
    float *x = clusters(C, PER, DIM, 7, label), *y = malloc(C * PER * 2 * sizeof *y);
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    ck_assert_int_eq(rec_params_set_int(p, "epochs", 200), REC_OK);
    for (int metric = 0; metric < 2; metric++) {
        ck_assert_int_eq(rec_params_set_str(p, "metric", metric ? "euclidean" : "cosine"), REC_OK);
        ck_assert_int_eq(rec_project_neighbors(x, C * PER, DIM, p, y), REC_OK);
        double agree = agreement_2d(y, C * PER, label);
        ck_assert_msg(agree > 0.95, "metric %d: 10-NN label agreement %g", metric, agree);
        for (int i = 0; i < C * PER * 2; i++)
            ck_assert(isfinite(y[i]));
    }
    /* The HNSW neighbours (cosine) give the same quality. */
    ck_assert_int_eq(rec_params_set_str(p, "metric", "cosine"), REC_OK);
    ck_assert_int_eq(rec_params_set_str(p, "knn", "hnsw"), REC_OK);
    ck_assert_int_eq(rec_project_neighbors(x, C * PER, DIM, p, y), REC_OK);
    ck_assert_double_gt(agreement_2d(y, C * PER, label), 0.95);
    rec_params_destroy(p);
    free(x);
    free(y);
}
END_TEST

START_TEST(neighbors_are_bit_identical_for_a_seed)
{
    enum { C = 4, PER = 100, DIM = 8, N = C * PER };
    int label[N];
    float *x = clusters(C, PER, DIM, 3, label);
    float *a = malloc(N * 2 * sizeof *a), *b = malloc(N * 2 * sizeof *b);
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    ck_assert_int_eq(rec_params_set_int(p, "epochs", 100), REC_OK);
    ck_assert_int_eq(rec_params_set_int(p, "seed", 5), REC_OK);
    int threads = rec_get_num_threads();
    rec_set_num_threads(1);
    ck_assert_int_eq(rec_project_neighbors(x, N, DIM, p, a), REC_OK);
    rec_set_num_threads(2);
    ck_assert_int_eq(rec_project_neighbors(x, N, DIM, p, b), REC_OK);
    rec_set_num_threads(threads);
    ck_assert_int_eq(memcmp(a, b, N * 2 * sizeof *a), 0);
    ck_assert_int_eq(rec_params_set_int(p, "seed", 6), REC_OK);
    ck_assert_int_eq(rec_project_neighbors(x, N, DIM, p, b), REC_OK);
    ck_assert_int_ne(memcmp(a, b, N * 2 * sizeof *a), 0);
    rec_params_destroy(p);
    free(x);
    free(a);
    free(b);
}
END_TEST

START_TEST(fuzzy_graph_is_symmetric_with_weights_in_0_1)
{
    enum { C = 3, PER = 40, DIM = 5, N = C * PER, K = 6 };
    int label[N];
    float *x = clusters(C, PER, DIM, 11, label), dist[N * K];
    int32_t nbr[N * K];
    ck_assert_int_eq(rec_knn_lists(x, N, DIM, K, 0, 0, 1, nbr, dist, "test"), REC_OK);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < K; j++) {
            ck_assert_int_ne(nbr[i * K + j], i); /* never itself */
            if (j)
                ck_assert(dist[i * K + j] >= dist[i * K + j - 1]);
        }
    rec_fuzzy_graph g;
    ck_assert_int_eq(rec_fuzzy_graph_build(N, K, nbr, dist, &g, "test"), REC_OK);
    ck_assert(g.nedges >= (size_t)N * K && g.nedges <= 2 * (size_t)N * K);
    for (size_t e = 0; e < g.nedges; e++) {
        ck_assert(g.w[e] > 0 && g.w[e] <= 1);
        size_t back = 0;
        for (size_t f = 0; f < g.nedges; f++)
            back += g.head[f] == g.tail[e] && g.tail[f] == g.head[e] && g.w[f] == g.w[e];
        ck_assert_uint_eq(back, 1);
    }
    /* Each vector's nearest neighbour is joined with weight 1 (d = rho). */
    for (size_t e = 0; e < g.nedges; e++)
        if (g.tail[e] == nbr[g.head[e] * K])
            ck_assert_float_near(g.w[e], 1, 1e-6); /* 1 + b - b, rounded */
    rec_fuzzy_graph_free(&g);
    free(x);
}
END_TEST

START_TEST(neighbors_reject_bad_input_and_write_nothing)
{
    float x[8] = { 1, 2, 3, 4, 5, 6, 7, INFINITY }, out[8] = { 7, 7, 7, 7, 7, 7, 7, 7 };
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    ck_assert_int_eq(rec_project_neighbors(x, 4, 2, NULL, out), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "row 3, column 1 is not a finite number"));
    x[7] = 8;
    ck_assert_int_eq(rec_params_set_int(p, "neigbors", 5), REC_OK);
    ck_assert_int_eq(rec_project_neighbors(x, 4, 2, p, out), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "neigbors"));
    rec_params_destroy(p);
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    ck_assert_int_eq(rec_params_set_str(p, "metric", "l1"), REC_OK);
    ck_assert_int_eq(rec_project_neighbors(x, 4, 2, p, out), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "metric"));
    ck_assert_int_eq(rec_project_neighbors(x, 4, 2, NULL, NULL), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "out is NULL"));
    ck_assert_int_eq(rec_project_neighbors(x, 0, 2, NULL, out), REC_E_INVALID);
    for (int i = 0; i < 8; i++)
        ck_assert_float_near(out[i], 7, 0);
    /* Fewer vectors than neighbours: every other one is a neighbour. */
    ck_assert_int_eq(rec_project_neighbors(x, 4, 2, NULL, out), REC_OK);
    for (int i = 0; i < 8; i++)
        ck_assert(isfinite(out[i]));
    ck_assert_int_eq(rec_project_neighbors(x, 1, 2, NULL, out), REC_OK);
    rec_params_destroy(p);
}
END_TEST

START_TEST(maps_fail_cleanly_when_memory_runs_out)
{
    enum { C = 2, PER = 20, DIM = 4, N = C * PER };
    int label[N];
    float *x = clusters(C, PER, DIM, 9, label), y[N * 2];
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    ck_assert_int_eq(rec_params_set_int(p, "epochs", 10), REC_OK);
    for (int which = 0; which < 2; which++) {
        long ok = 0;
        for (long fail = 1; fail < 200 && !ok; fail++) {
            tu_alloc_install();
            tu_alloc_fail_at(fail);
            rec_status st = which ? rec_project_neighbors(x, N, DIM, p, y)
                                  : rec_project_pca(x, N, DIM, 2, y, NULL, NULL, NULL);
            long long live = tu_alloc_live();
            tu_alloc_remove();
            ck_assert_msg(st == REC_OK || st == REC_E_NOMEM, "status %d", st);
            ck_assert_msg(live == 0, "%lld bytes leaked at failure %ld", live, fail);
            ok = st == REC_OK;
        }
        ck_assert(ok);
    }
    rec_params_destroy(p);
    free(x);
}
END_TEST

Suite *rec_project_suite(void)
{
    Suite *s = suite_create("project");
    TCase *tc = tcase_create("project");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, eigen_sym_diagonalises_a_known_matrix);
    tcase_add_test(tc, pca_recovers_axes_and_explained_variance);
    tcase_add_test(tc, pca_rejects_bad_input_and_writes_nothing);
    tcase_add_test(tc, umap_curve_matches_umaps_fit);
    tcase_add_test(tc, neighbors_keep_separated_clusters_apart);
    tcase_add_test(tc, neighbors_are_bit_identical_for_a_seed);
    tcase_add_test(tc, fuzzy_graph_is_symmetric_with_weights_in_0_1);
    tcase_add_test(tc, neighbors_reject_bad_input_and_write_nothing);
    tcase_add_test(tc, maps_fail_cleanly_when_memory_runs_out);
    suite_add_tcase(s, tc);
    return s;
}
