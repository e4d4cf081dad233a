/* W8 Funk SVD on ml-latest-small, the workload of the peer
 * ../shared/bench/peers/w8_funksvd.py: ratings.csv (100,836 ratings), 5-fold
 * cross-validation, Surprise's SVD defaults (100 factors, 20 epochs, lr
 * 0.005, reg 0.02, N(0, 0.1) init, biases 0, mu = train mean), SGD grouped
 * by user in order of first appearance of the (shuffled) train rows,
 * predictions clipped to the rating scale, unknown users/items drop their
 * terms.  Reported: fit seconds per fold (mean), RMSE and MAE (mean of folds).
 *
 * Folds: numpy's RandomState(0).permutation cannot be reproduced in C, so the
 * folds are rec_dataset_split "kfold:5" with seed 0 (rows shuffled by
 * librec's RNG, then cut into 5 folds of 20,168 / 20,167 rows) and the model
 * takes its train rows in a seeded random order ("shuffle", as Surprise's
 * shuffled KFold hands them over); the init is librec's normal stream, not
 * numpy's.  Same protocol, different random numbers: RMSE/MAE agree within
 * the fold-to-fold noise, not digit for digit.
 * Prints one JSON line on stdout, progress on stderr.
 * Usage: w8_svd [--data DIR] [--threads 2] */
#include "librec/librec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FOLDS 5

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int die(const char *what)
{
    fprintf(stderr, "w8_svd: %s: %s\n", what, rec_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    const char *data = "../shared/data";
    int threads = 2;
    for (int a = 1; a + 1 < argc; a += 2) {
        if (!strcmp(argv[a], "--data"))
            data = argv[a + 1];
        else if (!strcmp(argv[a], "--threads"))
            threads = atoi(argv[a + 1]);
        else {
            fprintf(stderr, "w8_svd: unknown option %s\n", argv[a]);
            return 2;
        }
    }
    rec_set_num_threads(threads);
    char path[4096];
    snprintf(path, sizeof path, "%s/ml-latest-small/ratings.csv", data);
    rec_params *o, *p;
    rec_dataset *d;
    if (rec_params_create(&o) || rec_params_set_bool(o, "features", 0))
        return die("params");
    if (rec_dataset_load(&d, path, "movielens", o))
        return die("load");
    int64_t n;
    rec_dataset_num_interactions(d, &n);
    /* Surprise's SVD settings, spelled out (the kind's defaults train longer
     * with more L2); rank_negatives=0: no top-N ranking head, since the peer
     * fits ratings only */
    if (rec_params_create(&p) || rec_params_set_int(p, "dim", 100) ||
        rec_params_set_int(p, "epochs", 20) || rec_params_set_float(p, "lr", 0.005) ||
        rec_params_set_float(p, "reg", 0.02) || rec_params_set_bool(p, "shuffle", 1) ||
        rec_params_set_int(p, "negatives", 0) || rec_params_set_int(p, "rank_negatives", 0) ||
        rec_params_set_int(p, "seed", 0))
        return die("params");
    double fit[FOLDS], rmse[FOLDS], mae[FOLDS], pred[FOLDS];
    for (int f = 0; f < FOLDS; f++) {
        rec_dataset *tr, *te;
        rec_model *m;
        rec_eval_result *r;
        if (rec_dataset_split(d, "kfold:5", f, 0, &tr, &te))
            return die("split");
        if (rec_model_create(&m, "svd", p))
            return die("create");
        double t0 = now();
        if (rec_model_fit(m, tr, NULL, NULL))
            return die("fit");
        double t1 = now();
        if (rec_evaluate(m, te, "full", "rmse,mae", 0, &r))
            return die("evaluate");
        pred[f] = now() - t1;
        fit[f] = t1 - t0;
        rec_eval_result_get(r, "rmse", &rmse[f]);
        rec_eval_result_get(r, "mae", &mae[f]);
        fprintf(stderr, "fold %d rmse %.4f mae %.4f fit %.3fs\n", f, rmse[f], mae[f], fit[f]);
        rec_eval_result_destroy(r);
        rec_model_destroy(m);
        rec_dataset_destroy(tr);
        rec_dataset_destroy(te);
    }
    double sf = 0, sr = 0, sm = 0, sp = 0;
    for (int f = 0; f < FOLDS; f++)
        sf += fit[f], sr += rmse[f], sm += mae[f], sp += pred[f];
    double upd = (double)(n - n / FOLDS) * 20.0 / (sf / FOLDS);
    printf("{\"workload\": \"W8_funksvd_ml-latest-small\", \"results\": {\"n_ratings\": %lld, "
           "\"threads\": %d, \"rmse_mean\": %.4f, \"mae_mean\": %.4f, ",
           (long long)n, threads, sr / FOLDS, sm / FOLDS);
    printf("\"rmse_folds\": [%.4f, %.4f, %.4f, %.4f, %.4f], ", rmse[0], rmse[1], rmse[2], rmse[3],
           rmse[4]);
    printf("\"fit_sec_per_fold_mean\": %.4f, \"fit_sec_total\": %.4f, "
           "\"sgd_updates_per_sec\": %.0f, \"predict_sec_per_fold_mean\": %.4f}}\n",
           sf / FOLDS, sf, upd, sp / FOLDS);
    rec_dataset_destroy(d);
    rec_params_destroy(o);
    rec_params_destroy(p);
    return 0;
}
