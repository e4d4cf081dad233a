/* Learning path 1: user-based collaborative filtering.
 *
 * "People who rated like you liked this."  For one user we find the taste
 * twins (users whose rating vectors point the same way), recommend what the
 * model's neighbours liked, show which neighbours drove each score, measure
 * the predicted ratings on held-out rows (RMSE, MAE), and compare the
 * similarity measures msd, cosine, pearson and pearson_baseline under two
 * centrings: the user's mean (KNNWithMeans) and the baseline mu + b_u + b_i
 * (KNNBaseline, the default).
 *
 * usage: 01_user_cf [ratings-file]   (no argument: a generated dataset) */
#include <librec/librec.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(call)                                                                     \
    do {                                                                                \
        rec_status st_ = (call);                                                        \
        if (st_ != REC_OK) {                                                            \
            fprintf(stderr, "01_user_cf: %s: %s\n", rec_strerror(st_), rec_last_error()); \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

static rec_model *fit_usercf(const rec_dataset *train, const char *similarity,
                             const char *centring)
{
    rec_params *p;
    rec_model *m;
    CHECK(rec_params_create(&p));
    CHECK(rec_params_set_str(p, "similarity", similarity));
    CHECK(rec_params_set_str(p, "centring", centring));
    CHECK(rec_model_create(&m, "usercf", p));
    rec_params_destroy(p);
    CHECK(rec_model_fit(m, train, NULL, NULL));
    return m;
}

static void rmse_mae(const rec_model *m, const rec_dataset *test, double *rmse, double *mae)
{
    rec_eval_result *r;
    CHECK(rec_evaluate(m, test, "full", "rmse,mae", 0, &r));
    CHECK(rec_eval_result_get(r, "rmse", rmse));
    CHECK(rec_eval_result_get(r, "mae", mae));
    rec_eval_result_destroy(r);
}

/* Cosine of user `me`'s rating vector with every user's (unrated = 0), and
 * how many items each shares with me.  One pass over the rows. */
static void taste_twins(const rec_dataset *d, int32_t me, double *cos, int32_t *common)
{
    int32_t nu, ni;
    int64_t nr;
    CHECK(rec_dataset_num_users(d, &nu));
    CHECK(rec_dataset_num_items(d, &ni));
    CHECK(rec_dataset_num_interactions(d, &nr));
    double *mine = calloc((size_t)ni, sizeof *mine), *norm2 = calloc((size_t)nu, sizeof *norm2);
    if (!mine || !norm2) {
        fprintf(stderr, "01_user_cf: out of memory\n");
        exit(1);
    }
    for (int32_t u = 0; u < nu; u++)
        cos[u] = 0, common[u] = 0;
    for (int64_t r = 0; r < nr; r++) {
        int32_t u, i;
        double x;
        CHECK(rec_dataset_row(d, r, &u, &i, &x, NULL));
        if (u == me)
            mine[i] = isnan(x) ? 1.0 : x;
    }
    for (int64_t r = 0; r < nr; r++) {
        int32_t u, i;
        double x;
        CHECK(rec_dataset_row(d, r, &u, &i, &x, NULL));
        x = isnan(x) ? 1.0 : x;
        norm2[u] += x * x;
        if (mine[i] != 0) {
            cos[u] += x * mine[i];
            common[u]++;
        }
    }
    for (int32_t u = 0; u < nu; u++)
        cos[u] = norm2[u] > 0 && norm2[me] > 0 ? cos[u] / sqrt(norm2[u] * norm2[me]) : 0;
    cos[me] = -1; /* not my own twin */
    free(mine);
    free(norm2);
}

int main(int argc, char **argv)
{
    rec_dataset *all, *train, *test;
    if (argc > 1)
        CHECK(rec_dataset_load(&all, argv[1], "auto", NULL));
    else
        CHECK(rec_dataset_generate(&all, NULL));
    int32_t nu, ni;
    int64_t nr;
    int rated;
    CHECK(rec_dataset_num_users(all, &nu));
    CHECK(rec_dataset_num_items(all, &ni));
    CHECK(rec_dataset_num_interactions(all, &nr));
    CHECK(rec_dataset_has_ratings(all, &rated));
    printf("== data: %s\n%d users, %d items, %lld interactions%s\n",
           argc > 1 ? argv[1] : "generated (rec_dataset_generate defaults)", nu, ni,
           (long long)nr, rated ? ", with ratings" : ", implicit");
    /* 20% of the rows are held out to check the predicted ratings. */
    CHECK(rec_dataset_split(all, "holdout:0.2", 0, 7, &train, &test));

    /* Taste twins of the first user, computed here from the raw vectors. */
    const char *me;
    CHECK(rec_dataset_user_id(train, 0, &me));
    double *cos = malloc((size_t)nu * sizeof *cos);
    int32_t *common = malloc((size_t)nu * sizeof *common);
    if (!cos || !common)
        return 1;
    taste_twins(train, 0, cos, common);
    printf("\n== taste twins of user %s (cosine of rating vectors)\n", me);
    for (int t = 0; t < 5; t++) {
        int32_t best = 0;
        for (int32_t u = 1; u < nu; u++)
            if (cos[u] > cos[best])
                best = u;
        const char *id;
        CHECK(rec_dataset_user_id(train, best, &id));
        printf("  user %-8s cosine %.3f  (%d items in common)\n", id, cos[best], common[best]);
        cos[best] = -2;
    }
    free(cos);
    free(common);

    /* The model: k nearest users by the default similarity (msd on ratings). */
    rec_model *m = fit_usercf(train, "auto", "auto");
    printf("\n== top-5 for user %s, each with the neighbours who drove its score\n", me);
    const char *items[5], *why[3];
    float scores[5], w[3];
    size_t n, nw;
    CHECK(rec_model_recommend(m, me, 5, 0, items, scores, &n));
    for (size_t j = 0; j < n; j++) {
        /* top-N ranks by similarity sums (ranking=sum), not by the rating */
        printf("  item %-8s score %.2f  because of", items[j], scores[j]);
        CHECK(rec_model_explain(m, me, items[j], 3, why, w, &nw));
        for (size_t q = 0; q < nw; q++)
            printf(" user %s (%+.2f)", why[q], w[q]);
        fputs(nw ? "\n" : " no neighbour (the baseline)\n", stdout);
    }

    if (!rated) {
        printf("\n(no ratings: RMSE/MAE need rated data)\n");
    } else {
        double rmse, mae;
        rmse_mae(m, test, &rmse, &mae);
        printf("\n== predicted ratings on the 20%% holdout\nRMSE %.4f  MAE %.4f\n", rmse, mae);
        printf("\n== which similarity and centring? (k = 40, RMSE / MAE)\n");
        printf("  %-16s  %-18s%s\n", "", "centring=mean", "centring=baseline");
        const char *sims[] = { "msd", "cosine", "pearson", "pearson_baseline" };
        const char *cents[] = { "mean", "baseline" };
        for (int s = 0; s < 4; s++) {
            printf("  %-16s", sims[s]);
            for (int c = 0; c < 2; c++) {
                rec_model *ms = fit_usercf(train, sims[s], cents[c]);
                rmse_mae(ms, test, &rmse, &mae);
                printf("%s%.4f / %.4f", c ? "   " : "  ", rmse, mae);
                rec_model_destroy(ms);
            }
            putchar('\n');
        }
    }
    rec_model_destroy(m);
    rec_dataset_destroy(train);
    rec_dataset_destroy(test);
    rec_dataset_destroy(all);
    return 0;
}
