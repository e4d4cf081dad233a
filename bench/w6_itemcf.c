/* W6 item-CF on ml-latest-small, the workload of the peer
 * ../shared/bench/peers/w6_itemcf.py: leave-last-out by timestamp (ties: the
 * row later in file order is held out), binary values (ratings dropped at
 * load: columns user,item,-,timestamp), cosine of the 0/1 item columns,
 * 50 neighbours kept per item, seen items masked, top-10 for every user,
 * Recall@10 (= HR@10, one held-out item per user).  Timed from the fit
 * (building R) to the top-10 of all users (rec_model_recommend per user,
 * users split over the thread pool), as the peer times from building R.
 *
 * librec's itemcf is not the peer's R W term for term (see
 * README_classical.md): it keeps each item's 50 neighbours by
 * sim * n / (n + 10) (n = common users) rather than by the plain cosine,
 * and scores item j for user u through j's OWN list (sum of the similarities
 * of j's neighbours that u has: R W^T), where the peer pushes through the
 * lists of u's items (R W).
 * Prints one JSON line on stdout, progress on stderr.
 * Usage: w6_itemcf [--data DIR] [--threads 2] [--k 50] */
#include "core/core-impl.h"
#include "librec/librec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOPN 10

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int die(const char *what)
{
    fprintf(stderr, "w6_itemcf: %s: %s\n", what, rec_last_error());
    return 1;
}

typedef struct job {
    const rec_model *m;
    const rec_dataset *d;
    const char **top;   /* [nusers * TOPN] item ids, best first */
    int failed;
} job;

static void run_range(void *arg, int64_t b, int64_t e, int chunk)
{
    (void)chunk;
    job *j = arg;
    size_t n;
    for (int64_t u = b; u < e; u++) {
        const char *id;
        if (rec_dataset_user_id(j->d, (int32_t)u, &id) ||
            rec_model_recommend(j->m, id, TOPN, 0, j->top + u * TOPN, NULL, &n) ||
            n != TOPN) {
            j->failed = 1;
            return;
        }
    }
}

int main(int argc, char **argv)
{
    const char *data = "../shared/data";
    int threads = 2, k = 50;
    for (int a = 1; a + 1 < argc; a += 2) {
        if (!strcmp(argv[a], "--data"))
            data = argv[a + 1];
        else if (!strcmp(argv[a], "--threads"))
            threads = atoi(argv[a + 1]);
        else if (!strcmp(argv[a], "--k"))
            k = atoi(argv[a + 1]);
        else {
            fprintf(stderr, "w6_itemcf: unknown option %s\n", argv[a]);
            return 2;
        }
    }
    rec_set_num_threads(threads);
    char path[4096];
    snprintf(path, sizeof path, "%s/ml-latest-small/ratings.csv", data);
    rec_params *o, *p;
    rec_dataset *d, *tr, *te;
    if (rec_params_create(&o) || rec_params_set_str(o, "columns", "user,item,-,timestamp") ||
        rec_params_set_str(o, "header", "yes") || rec_params_set_bool(o, "features", 0))
        return die("params");
    if (rec_dataset_load(&d, path, "csv", o))
        return die("load");
    if (rec_dataset_split(d, "last:1", 0, 0, &tr, &te))
        return die("split");
    int32_t nu, ni;
    int64_t ntr, nte;
    rec_dataset_num_users(d, &nu);
    rec_dataset_num_items(d, &ni);
    rec_dataset_num_interactions(tr, &ntr);
    rec_dataset_num_interactions(te, &nte);
    if (rec_params_create(&p) || rec_params_set_str(p, "similarity", "cosine") ||
        rec_params_set_int(p, "k", k) || rec_params_set_int(p, "keep", k))
        return die("params");
    rec_model *m;
    if (rec_model_create(&m, "itemcf", p))
        return die("create");
    job j = { m, d, calloc((size_t)nu * TOPN, sizeof(char *)), 0 };
    if (!j.top)
        return 1;

    double t0 = now();
    if (rec_model_fit(m, tr, NULL, NULL))
        return die("fit");
    double t1 = now();
    rec_parallel_for(nu, 16, run_range, &j);
    double t2 = now();
    if (j.failed)
        return die("recommend");

    /* Recall@10: is each user's held-out item among their top-10? */
    int64_t hits = 0;
    for (int64_t r = 0; r < nte; r++) {
        int32_t u, it;
        const char *iid;
        rec_dataset_row(te, r, &u, &it, NULL, NULL);
        rec_dataset_item_id(d, it, &iid);
        for (int t = 0; t < TOPN; t++)
            hits += strcmp(j.top[(size_t)u * TOPN + t], iid) == 0;
    }
    double recall = nte ? (double)hits / (double)nte : 0;
    fprintf(stderr, "fit %.3fs top10 %.3fs total %.3fs recall@10 %.4f\n", t1 - t0, t2 - t1,
            t2 - t0, recall);
    printf("{\"workload\": \"W6_itemcf_ml-latest-small_binary\", \"results\": {\"n_users\": %d, "
           "\"n_items\": %d, \"n_train\": %lld, \"n_test\": %lld, \"k\": %d, \"threads\": %d, ",
           nu, ni, (long long)ntr, (long long)nte, k, threads);
    printf("\"fit_sec\": %.4f, \"top10_all_users_sec\": %.4f, \"total_sec\": %.4f, "
           "\"recall10\": %.4f}}\n", t1 - t0, t2 - t1, t2 - t0, recall);
    rec_model_destroy(m);
    rec_dataset_destroy(te);
    rec_dataset_destroy(tr);
    rec_dataset_destroy(d);
    rec_params_destroy(o);
    rec_params_destroy(p);
    free(j.top);
    return 0;
}
