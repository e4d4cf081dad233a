/* The factorisation kinds on MovieLens ml-latest-small: svd's 5-fold RMSE
 * and MAE against the peer (w8, Surprise's SVD: RMSE 0.8726, MAE 0.6701),
 * and svd's (ranking head) and als's leave-last-out Hit@10 against the
 * most-popular baseline. */
#include "testutil.h"

#include <librec/librec.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static rec_dataset *ratings(void)
{
    const char *dir = tu_data_dir();
    char path[1024];
    snprintf(path, sizeof path, "%s/ml-latest-small/ratings.csv", dir);
    rec_dataset *d;
    rec_status st = rec_dataset_load(&d, path, "csv", NULL);
    ck_assert_msg(st == REC_OK, "%s", rec_last_error());
    return d;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* 5-fold RMSE and MAE of a rating model (rows shuffled once, as Surprise's
 * KFold hands them over); prints per fold and the means. */
static void kfold(const char *kind, double *rmse_out, double *mae_out)
{
    rec_dataset *d = ratings();
    double rmse = 0, mae = 0, fit = 0;
    for (int f = 0; f < 5; f++) {
        rec_dataset *train, *test;
        ck_assert_int_eq(rec_dataset_split(d, "kfold:5", f, 1, &train, &test), REC_OK);
        rec_model *m;
        /* Surprise's KFold hands over the training ratings shuffled */
        rec_params *p;
        ck_assert_int_eq(rec_params_create(&p), REC_OK);
        rec_params_set_bool(p, "shuffle", 1);
        ck_assert_int_eq(rec_model_create(&m, kind, p), REC_OK);
        rec_params_destroy(p);
        double t0 = now();
        ck_assert_int_eq(rec_model_fit(m, train, NULL, NULL), REC_OK);
        double t = now() - t0;
        int64_t n;
        rec_dataset_num_interactions(test, &n);
        double se = 0, ae = 0;
        for (int64_t r = 0; r < n; r++) {
            int32_t u, i;
            double y;
            const char *uid, *iid;
            rec_dataset_row(test, r, &u, &i, &y, NULL);
            rec_dataset_user_id(test, u, &uid);
            rec_dataset_item_id(test, i, &iid);
            float s;
            ck_assert_int_eq(rec_model_score(m, uid, iid, &s), REC_OK);
            se += (y - s) * (y - s);
            ae += fabs(y - s);
        }
        double fr = sqrt(se / (double)n), fm = ae / (double)n;
        printf("%s fold %d: rmse %.4f mae %.4f fit %.3f s\n", kind, f, fr, fm, t);
        fflush(stdout);
        rmse += fr / 5, mae += fm / 5, fit += t / 5;
        rec_model_destroy(m);
        rec_dataset_destroy(train);
        rec_dataset_destroy(test);
    }
    printf("%s ml-latest-small 5-fold: rmse %.4f mae %.4f (peer w8 svd: 0.8726 / 0.6701), "
           "fit %.3f s per fold\n", kind, rmse, mae, fit);
    fflush(stdout);
    *rmse_out = rmse, *mae_out = mae;
    rec_dataset_destroy(d);
}

START_TEST(svd_5fold_rmse_mae)
{
    double rmse, mae;
    kfold("svd", &rmse, &mae);
    /* the defaults (40 epochs, reg 0.05) measured 0.8604 / 0.6596 */
    ck_assert_double_le(rmse, 0.866);
    ck_assert_double_le(mae, 0.665);
}
END_TEST

START_TEST(svdpp_5fold_rmse_mae)
{
    double rmse, mae;
    kfold("svdpp", &rmse, &mae);
    ck_assert_double_le(rmse, 0.87); /* the implicit term must pay for itself */
    ck_assert_double_le(mae, 0.67);
}
END_TEST


static const int64_t *g_cnt;
static int by_count(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (g_cnt[x] != g_cnt[y])
        return g_cnt[x] > g_cnt[y] ? -1 : 1;
    return (x > y) - (x < y);
}

static void leave_last_out_beats_popularity(const char *kind)
{
    rec_dataset *d = ratings(), *train, *test;
    ck_assert_int_eq(rec_dataset_split(d, "last:1", 0, 0, &train, &test), REC_OK);
    int32_t nu, ni;
    int64_t ntr, nte;
    rec_dataset_num_users(d, &nu);
    rec_dataset_num_items(d, &ni);
    rec_dataset_num_interactions(train, &ntr);
    rec_dataset_num_interactions(test, &nte);

    /* most popular by train counts, excluding the user's train items */
    int64_t *cnt = calloc((size_t)ni, sizeof *cnt);
    unsigned char *seen = calloc((size_t)nu * (size_t)ni, 1);
    int32_t *order = malloc((size_t)ni * sizeof *order);
    for (int64_t r = 0; r < ntr; r++) {
        int32_t u, i;
        rec_dataset_row(train, r, &u, &i, NULL, NULL);
        cnt[i]++;
        seen[(size_t)u * ni + i] = 1;
    }
    for (int32_t i = 0; i < ni; i++)
        order[i] = i;
    g_cnt = cnt;
    qsort(order, (size_t)ni, sizeof *order, by_count);

    rec_model *m;
    ck_assert_int_eq(rec_model_create(&m, kind, NULL), REC_OK);
    double t0 = now();
    ck_assert_int_eq(rec_model_fit(m, train, NULL, NULL), REC_OK);
    double t = now() - t0;
    int64_t hits = 0, pop_hits = 0;
    for (int64_t r = 0; r < nte; r++) {
        int32_t u, i;
        const char *uid, *iid, *recs[10];
        size_t n;
        rec_dataset_row(test, r, &u, &i, NULL, NULL);
        rec_dataset_user_id(test, u, &uid);
        rec_dataset_item_id(test, i, &iid);
        ck_assert_int_eq(rec_model_recommend(m, uid, 10, 0, recs, NULL, &n), REC_OK);
        for (size_t k = 0; k < n; k++)
            hits += strcmp(recs[k], iid) == 0;
        int taken = 0;
        for (int32_t k = 0; k < ni && taken < 10; k++) {
            if (seen[(size_t)u * ni + order[k]])
                continue;
            taken++;
            pop_hits += order[k] == i;
        }
    }
    double hr = (double)hits / (double)nte, phr = (double)pop_hits / (double)nte;
    printf("%s ml-latest-small leave-last-out: hit@10 %.4f, most-popular %.4f, fit %.3f s\n",
           kind, hr, phr, t);
    ck_assert_msg(hr > 1.5 * phr, "%s hit@10 %.4f is not clearly above popularity %.4f", kind,
                  hr, phr);
    rec_model_destroy(m);
    free(cnt), free(seen), free(order);
    rec_dataset_destroy(train);
    rec_dataset_destroy(test);
    rec_dataset_destroy(d);
}

START_TEST(als_leave_last_out_beats_popularity)
{
    leave_last_out_beats_popularity("als");
}
END_TEST

/* svd's ranking head (the default; 0.0803 against 0.0426 measured) */
START_TEST(svd_leave_last_out_beats_popularity)
{
    leave_last_out_beats_popularity("svd");
}
END_TEST

Suite *rec_mf_models_real_suite(void)
{
    Suite *s = suite_create("mf_models_real");
    TCase *t = tcase_create("movielens");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, svd_5fold_rmse_mae);
    tcase_add_test(t, svdpp_5fold_rmse_mae);
    tcase_add_test(t, als_leave_last_out_beats_popularity);
    tcase_add_test(t, svd_leave_last_out_beats_popularity);
    suite_add_tcase(s, t);
    return s;
}
