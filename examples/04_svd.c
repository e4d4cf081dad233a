/* Learning path 4: latent factors with SVD (biased matrix factorisation).
 *
 * A rating is predicted as mean + user bias + item bias + p_u . q_i, where
 * p_u and q_i are short vectors learned by SGD so that the predictions fit
 * the known ratings.  The factors are tastes nobody named: we look at the
 * items along the main axes of the item factors, measure RMSE and MAE by
 * 5-fold cross-validation, and fold in a new user from three ratings without
 * retraining.
 *
 * The public API scores; it does not hand out the factor matrices.  Factors
 * are defined only up to a rotation anyway, so we recover their principal
 * axes from the scores: after removing row and column means, the score
 * matrix is (P - mean P)(Q - mean Q)^T, and its top singular vectors are the
 * main directions of taste.
 *
 * usage: 04_svd [ratings-file]   (no argument: a generated dataset) */
#include <librec/librec.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(call)                                                                 \
    do {                                                                            \
        rec_status st_ = (call);                                                    \
        if (st_ != REC_OK) {                                                        \
            fprintf(stderr, "04_svd: %s: %s\n", rec_strerror(st_), rec_last_error()); \
            exit(1);                                                                \
        }                                                                           \
    } while (0)

#define AXES 3

static const rec_dataset *g_data;
static int g_title = -1, g_genres = -1; /* item fields, -1 when absent */

/* "title  [genre|genre]" from the item fields present, else the id. */
static const char *label(int32_t i)
{
    static char buf[200];
    const char *text = "", *id, *g;
    const int32_t *codes;
    int32_t n = 0;
    CHECK(rec_dataset_item_id(g_data, i, &id));
    if (g_title >= 0)
        CHECK(rec_dataset_feature_text(g_data, REC_SIDE_ITEM, g_title, i, &text));
    int len = snprintf(buf, sizeof buf, "%s  [", *text ? text : id);
    if (g_genres >= 0)
        CHECK(rec_dataset_feature_codes(g_data, REC_SIDE_ITEM, g_genres, i, &codes, &n));
    for (int32_t j = 0; j < n && len > 0 && (size_t)len < sizeof buf; j++) {
        CHECK(rec_dataset_field_value_name(g_data, REC_SIDE_ITEM, g_genres, codes[j], &g));
        len += snprintf(buf + len, sizeof buf - (size_t)len, "%s%s", j ? "|" : "", g);
    }
    if (len > 0 && (size_t)len < sizeof buf - 1)
        snprintf(buf + len, sizeof buf - (size_t)len, "]");
    return buf;
}

static rec_model *fit_svd(const rec_dataset *train)
{
    rec_params *p;
    rec_model *m;
    CHECK(rec_params_create(&p));
    CHECK(rec_params_set_int(p, "dim", 50));
    /* This walk-through studies the rating model.  By default "svd" also
     * fits a ranking head (the same model refitted with unrated items as
     * target 0) that top-N lists use; without it, recommendations and the
     * fold-in below rank by predicted rating, as this walk-through explains. */
    CHECK(rec_params_set_int(p, "rank_negatives", 0));
    CHECK(rec_model_create(&m, "svd", p));
    rec_params_destroy(p);
    CHECK(rec_model_fit(m, train, NULL, NULL));
    return m;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "04_svd: out of memory\n");
        exit(1);
    }
    return p;
}

/* The nu x ni score matrix, double-centred (row and column means
 * removed), so that it holds only the p_u . q_i part. */
static float *centred_scores(const rec_model *m, const rec_dataset *d, int32_t nu, int32_t ni)
{
    float *s = xcalloc((size_t)nu * (size_t)ni, sizeof *s);
    double *col = xcalloc((size_t)ni, sizeof *col);
    for (int32_t u = 0; u < nu; u++) {
        const char *uid, *iid;
        double row = 0;
        CHECK(rec_dataset_user_id(d, u, &uid));
        float *su = s + (size_t)u * (size_t)ni;
        for (int32_t i = 0; i < ni; i++) {
            CHECK(rec_dataset_item_id(d, i, &iid));
            CHECK(rec_model_score(m, uid, iid, &su[i]));
            row += su[i];
        }
        for (int32_t i = 0; i < ni; i++) {
            su[i] -= (float)(row / ni);
            col[i] += su[i];
        }
    }
    for (int32_t i = 0; i < ni; i++) /* rows now sum to zero: no grand mean left */
        col[i] /= nu;
    for (int32_t u = 0; u < nu; u++)
        for (int32_t i = 0; i < ni; i++)
            s[(size_t)u * (size_t)ni + i] -= (float)col[i];
    free(col);
    return s;
}

/* Top AXES right singular vectors of s (nu x ni) by power iteration with
 * deflation: axes[a * ni + i] is item i's coordinate on axis a (unit length),
 * sv[a] the singular value. */
static void principal_axes(const float *s, int32_t nu, int32_t ni, double *axes, double *sv)
{
    double *t = xcalloc((size_t)nu, sizeof *t);
    for (int a = 0; a < AXES; a++) {
        double *v = axes + (size_t)a * (size_t)ni, norm = 0;
        for (int32_t i = 0; i < ni; i++)
            v[i] = 1.0 + 0.01 * ((i * 7919 + a * 104729) % 101); /* fixed start */
        for (int it = 0; it < 60; it++) {
            for (int b = 0; b < a; b++) { /* stay orthogonal to earlier axes */
                double dot = 0, *w = axes + (size_t)b * (size_t)ni;
                for (int32_t i = 0; i < ni; i++)
                    dot += v[i] * w[i];
                for (int32_t i = 0; i < ni; i++)
                    v[i] -= dot * w[i];
            }
            for (int32_t u = 0; u < nu; u++) { /* t = S v */
                double acc = 0;
                const float *su = s + (size_t)u * (size_t)ni;
                for (int32_t i = 0; i < ni; i++)
                    acc += su[i] * v[i];
                t[u] = acc;
            }
            for (int32_t i = 0; i < ni; i++) /* v = S^T t */
                v[i] = 0;
            for (int32_t u = 0; u < nu; u++) {
                const float *su = s + (size_t)u * (size_t)ni;
                for (int32_t i = 0; i < ni; i++)
                    v[i] += su[i] * t[u];
            }
            norm = 0;
            for (int32_t i = 0; i < ni; i++)
                norm += v[i] * v[i];
            norm = sqrt(norm);
            for (int32_t i = 0; i < ni; i++)
                v[i] = norm > 0 ? v[i] / norm : 0;
        }
        sv[a] = sqrt(norm);
    }
    free(t);
}

/* Does a taste axis look like a genre?  For each axis, the correlation over
 * the items between the item's coordinate and "has genre g" (0/1), for every
 * genre; prints the two most positive and the two most negative. */
static void genres_of_axes(const double *axes, int32_t ni)
{
    int32_t ng;
    if (g_genres < 0)
        return;
    CHECK(rec_dataset_field_vocab(g_data, REC_SIDE_ITEM, g_genres, &ng));
    unsigned char *has = xcalloc((size_t)ng * (size_t)ni, 1);
    for (int32_t i = 0; i < ni; i++) {
        const int32_t *codes;
        int32_t n;
        CHECK(rec_dataset_feature_codes(g_data, REC_SIDE_ITEM, g_genres, i, &codes, &n));
        for (int32_t j = 0; j < n; j++)
            has[(size_t)codes[j] * (size_t)ni + i] = 1;
    }
    double *r = xcalloc((size_t)ng, sizeof *r);
    printf("\n== does an axis look like a genre? correlation of the item's coordinate with"
           " having the genre\n");
    for (int a = 0; a < AXES; a++) {
        const double *x = axes + (size_t)a * (size_t)ni;
        double mx = 0, sxx = 0;
        for (int32_t i = 0; i < ni; i++)
            mx += x[i] / ni;
        for (int32_t i = 0; i < ni; i++)
            sxx += (x[i] - mx) * (x[i] - mx);
        for (int32_t g = 0; g < ng; g++) {
            const unsigned char *h = has + (size_t)g * (size_t)ni;
            double mh = 0, shh = 0, sxh = 0;
            for (int32_t i = 0; i < ni; i++)
                mh += (double)h[i] / ni;
            for (int32_t i = 0; i < ni; i++) {
                shh += (h[i] - mh) * (h[i] - mh);
                sxh += (x[i] - mx) * (h[i] - mh);
            }
            r[g] = shh > 0 && sxx > 0 ? sxh / sqrt(sxx * shh) : 0;
        }
        int32_t top[2] = { -1, -1 }, bot[2] = { -1, -1 };
        for (int32_t g = 0; g < ng; g++) {
            if (top[0] < 0 || r[g] > r[top[0]])
                top[1] = top[0], top[0] = g;
            else if (top[1] < 0 || r[g] > r[top[1]])
                top[1] = g;
            if (bot[0] < 0 || r[g] < r[bot[0]])
                bot[1] = bot[0], bot[0] = g;
            else if (bot[1] < 0 || r[g] < r[bot[1]])
                bot[1] = g;
        }
        printf("  axis %d:", a + 1);
        int32_t show[4] = { top[0], top[1], bot[1], bot[0] };
        for (int j = 0; j < 4; j++)
            if (show[j] >= 0) {
                const char *name;
                CHECK(rec_dataset_field_value_name(g_data, REC_SIDE_ITEM, g_genres, show[j],
                                                   &name));
                printf("  %s %+.2f", name, r[show[j]]);
            }
        printf("\n");
    }
    free(r);
    free(has);
}

int main(int argc, char **argv)
{
    rec_dataset *all;
    if (argc > 1)
        CHECK(rec_dataset_load(&all, argv[1], "auto", NULL));
    else
        CHECK(rec_dataset_generate(&all, NULL));
    int32_t nu, ni;
    int64_t nr;
    CHECK(rec_dataset_num_users(all, &nu));
    CHECK(rec_dataset_num_items(all, &ni));
    CHECK(rec_dataset_num_interactions(all, &nr));
    printf("== data: %s\n%d users, %d items, %lld interactions\n",
           argc > 1 ? argv[1] : "generated (rec_dataset_generate defaults)", nu, ni,
           (long long)nr);
    g_data = all;
    if (rec_dataset_field_index(all, REC_SIDE_ITEM, "title", &g_title) != REC_OK)
        g_title = -1;
    if (rec_dataset_field_index(all, REC_SIDE_ITEM, "genres", &g_genres) != REC_OK)
        g_genres = -1;

    /* 5-fold cross-validation: each fold is the test set once. */
    printf("\n== predicted ratings, 5-fold cross-validation (50 factors)\n");
    rec_eval_result *folds[5], *cv;
    for (int f = 0; f < 5; f++) {
        rec_dataset *train, *test;
        double rmse, mae;
        CHECK(rec_dataset_split(all, "kfold:5", f, 7, &train, &test));
        rec_model *m = fit_svd(train);
        CHECK(rec_evaluate(m, test, "full", "rmse,mae", 0, &folds[f]));
        CHECK(rec_eval_result_get(folds[f], "rmse", &rmse));
        CHECK(rec_eval_result_get(folds[f], "mae", &mae));
        printf("  fold %d  RMSE %.4f  MAE %.4f\n", f, rmse, mae);
        rec_model_destroy(m);
        rec_dataset_destroy(train);
        rec_dataset_destroy(test);
    }
    CHECK(rec_eval_result_merge((const rec_eval_result *const *)folds, 5, &cv));
    for (size_t k = 0; k < 2; k++) {
        const char *name;
        double v, sd;
        CHECK(rec_eval_result_metric(cv, k, &name, &v, &sd));
        printf("  mean    %s %.4f +- %.4f\n", name, v, sd);
    }
    rec_eval_result_destroy(cv);
    for (int f = 0; f < 5; f++)
        rec_eval_result_destroy(folds[f]);

    /* The factors of a model trained on every rating. */
    rec_model *m = fit_svd(all);
    float *s = centred_scores(m, all, nu, ni);
    double *axes = xcalloc((size_t)AXES * (size_t)ni, sizeof *axes), sv[AXES];
    principal_axes(s, nu, ni, axes, sv);
    free(s);
    printf("\n== item coordinates on the first %d taste axes (singular values", AXES);
    for (int a = 0; a < AXES; a++)
        printf(" %.1f", sv[a]);
    printf(")\n");
    for (int32_t i = 0; i < ni && i < 5; i++) {
        printf("  ");
        for (int a = 0; a < AXES; a++)
            printf("%+.4f ", axes[(size_t)a * (size_t)ni + i]);
        printf(" %s\n", label(i));
    }
    genres_of_axes(axes, ni);

    /* Both ends of the first axis: its sign is arbitrary, its meaning not. */
    int32_t *order = xcalloc((size_t)ni, sizeof *order);
    for (int32_t i = 0; i < ni; i++)
        order[i] = i;
    for (int32_t i = 1; i < ni; i++) { /* insertion sort by axis 0, descending */
        int32_t x = order[i], j = i;
        for (; j > 0 && axes[order[j - 1]] < axes[x]; j--)
            order[j] = order[j - 1];
        order[j] = x;
    }
    printf("\n== one end of the first axis\n");
    for (int32_t j = 0; j < 5 && j < ni; j++)
        printf("  %+.4f  %s\n", axes[order[j]], label(order[j]));
    printf("== the other end\n");
    for (int32_t j = 0; j < 5 && j < ni; j++)
        printf("  %+.4f  %s\n", axes[order[ni - 1 - j]], label(order[ni - 1 - j]));

    /* A new user who loves one end and dislikes the other: fold in, no
     * retraining.  The recommendations should lie towards the loved end. */
    const char *hist[6], *items[5];
    float ratings[6] = { 5, 5, 5, 1, 1, 1 }, scores[5];
    size_t n;
    for (int j = 0; j < 3; j++) {
        CHECK(rec_dataset_item_id(all, order[j], &hist[j]));
        CHECK(rec_dataset_item_id(all, order[ni - 1 - j], &hist[3 + j]));
    }
    printf("\n== a new user rates the first end's top three 5 and the other end's 1;\n"
           "   fold-in recommends (score, position on the first axis)\n");
    CHECK(rec_model_recommend_history(m, hist, ratings, 6, 5, 0, items, scores, &n));
    for (size_t j = 0; j < n; j++) {
        int32_t i;
        CHECK(rec_dataset_item_index(all, items[j], &i));
        printf("  %.2f  %+.4f  %s\n", scores[j], axes[i], label(i));
    }
    free(order);
    free(axes);
    rec_model_destroy(m);
    rec_dataset_destroy(all);
    return 0;
}
