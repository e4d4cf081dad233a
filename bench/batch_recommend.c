/* Batch recommend vs one call per user, and Dataset-from-arrays speed.
 *   build/bench/batch_recommend [ratings.csv] [kind] [threads]
 * Fits the kind (default als) on the file (default ml-latest-small), then
 * times top-10 for every user: rec_model_recommend per user, and one
 * rec_model_recommend_batch; checks the two agree bit for bit.  Then times
 * rec_dataset_from_arrays on 1,000,000 random rows. */
#include "librec/librec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int die(const char *what)
{
    fprintf(stderr, "%s: %s\n", what, rec_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "../shared/data/ml-latest-small/ratings.csv";
    const char *kind = argc > 2 ? argv[2] : "als";
    if (argc > 3 && rec_set_num_threads(atoi(argv[3])))
        return die("threads");
    enum { K = 10, REPS = 5 };
    rec_dataset *d;
    rec_model *m;
    if (rec_dataset_load(&d, path, NULL, NULL))
        return die("load");
    if (rec_model_create(&m, kind, NULL))
        return die("create");
    double t0 = now();
    if (rec_model_fit(m, d, NULL, NULL))
        return die("fit");
    printf("fit %s: %.3f s\n", kind, now() - t0);
    size_t nu;
    rec_model_num_users(m, &nu);
    int32_t *users = malloc(nu * sizeof *users), *bi = malloc(nu * K * sizeof *bi);
    float *bs = malloc(nu * K * sizeof *bs), *ls = malloc(nu * K * sizeof *ls);
    const char **li = malloc(nu * K * sizeof *li);
    for (size_t u = 0; u < nu; u++)
        users[u] = (int32_t)u;
    double loop = 1e9, bat = 1e9;
    for (int r = 0; r < REPS; r++) {
        t0 = now();
        for (size_t u = 0; u < nu; u++) {
            const char *id;
            size_t n;
            rec_model_user_id(m, (int32_t)u, &id);
            if (rec_model_recommend(m, id, K, 0, li + u * K, ls + u * K, &n))
                return die("recommend");
        }
        double t = now() - t0;
        loop = t < loop ? t : loop;
        t0 = now();
        if (rec_model_recommend_batch(m, users, nu, K, 0, NULL, bi, bs))
            return die("batch");
        t = now() - t0;
        bat = t < bat ? t : bat;
    }
    size_t diff = 0;
    for (size_t j = 0; j < nu * K; j++) {
        const char *id;
        rec_model_item_id(m, bi[j], &id);
        diff += strcmp(id, li[j]) != 0 || memcmp(&bs[j], &ls[j], sizeof(float)) != 0;
    }
    printf("recommend k=%d for %zu users, best of %d, %d threads: one call per user %.4f s, "
           "batch %.4f s (%.1fx); %zu differences\n", K, nu, REPS, rec_get_num_threads(), loop,
           bat, loop / bat, diff);

    size_t n = 1000000;
    int64_t *uc = malloc(n * sizeof *uc), *ic = malloc(n * sizeof *ic);
    float *rc = malloc(n * sizeof *rc);
    srand(1);
    for (size_t j = 0; j < n; j++) {
        uc[j] = rand() % 100000;
        ic[j] = rand() % 50000;
        rc[j] = (float)(rand() % 5 + 1);
    }
    double best = 1e9;
    for (int r = 0; r < REPS; r++) {
        rec_dataset *a;
        t0 = now();
        if (rec_dataset_from_arrays(&a, uc, ic, rc, NULL, n))
            return die("from_arrays");
        double t = now() - t0;
        best = t < best ? t : best;
        rec_dataset_destroy(a);
    }
    printf("rec_dataset_from_arrays, %zu rows (100,000 users, 50,000 items): %.4f s\n", n, best);
    free(uc), free(ic), free(rc), free(users), free(bi), free(bs), free(ls), free(li);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
    return diff != 0;
}
