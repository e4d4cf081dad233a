/* W2 two-tower on ml-latest-small, the protocol of the peer
 * ../shared/bench/peers/w2_twotower.py: leave-last-out by timestamp (ties
 * to the later row in file order), user tower [id | genre multiset of the
 * user's train items], item tower [id | genres bag | tags bag], 32-wide
 * embeddings, MLP 64-64, L2 norm, in-batch softmax at temperature 0.05,
 * Adam 1e-3 (dense, as PyTorch's default embeddings), batch 1024, 20 epochs,
 * full-catalogue Recall@10 / NDCG@10 with train items masked.
 * Prints one JSON line on stdout, progress on stderr.
 * Usage: twotower [--data DIR] [--epochs 20] [--loss infonce|infonce_logq|bce|mix]
 *                 [--sparse 0|1] [--threads 2] [--seed 0] */
#include <librec/librec.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct timing {
    double last, ep[1000];
    int n;
} timing;

static int on_epoch(void *user, int epoch, int epochs, double loss)
{
    timing *t = user;
    double x = now();
    if (t->n < 1000)
        t->ep[t->n++] = x - t->last;
    fprintf(stderr, "epoch %d/%d %.3fs loss %.4f\n", epoch, epochs, x - t->last, loss);
    t->last = x;
    return 0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int die(const char *what)
{
    fprintf(stderr, "twotower: %s: %s\n", what, rec_last_error());
    return 1;
}

static rec_status eval(const rec_model *m, const rec_dataset *te, double *rc, double *nd)
{
    rec_eval_result *r;
    rec_status st = rec_evaluate(m, te, "full", "recall@10,ndcg@10", 0, &r);
    if (st)
        return st;
    rec_eval_result_get(r, "recall@10", rc);
    rec_eval_result_get(r, "ndcg@10", nd);
    rec_eval_result_destroy(r);
    return REC_OK;
}

int main(int argc, char **argv)
{
    const char *data = "../shared/data", *loss = "infonce";
    int epochs = 20, sparse = 0, threads = 2, seed = 0;
    for (int a = 1; a + 1 < argc; a += 2) {
        if (!strcmp(argv[a], "--data"))
            data = argv[a + 1];
        else if (!strcmp(argv[a], "--epochs"))
            epochs = atoi(argv[a + 1]);
        else if (!strcmp(argv[a], "--loss"))
            loss = argv[a + 1];
        else if (!strcmp(argv[a], "--sparse"))
            sparse = atoi(argv[a + 1]);
        else if (!strcmp(argv[a], "--threads"))
            threads = atoi(argv[a + 1]);
        else if (!strcmp(argv[a], "--seed"))
            seed = atoi(argv[a + 1]);
    }
    rec_set_num_threads(threads);
    char path[1024];
    snprintf(path, sizeof path, "%s/ml-latest-small/ratings.csv", data);
    rec_dataset *d, *tr, *te;
    if (rec_dataset_load(&d, path, "movielens", NULL))
        return die(path);
    if (rec_dataset_split(d, "last:1", 0, 0, &tr, &te))
        return die("split");
    int64_t ntr;
    int32_t nu, ni;
    rec_dataset_num_interactions(tr, &ntr);
    rec_dataset_num_users(d, &nu);
    rec_dataset_num_items(d, &ni);

    rec_params *p;
    rec_params_create(&p);
    rec_params_set_str(p, "user_features", "id,genres_hist");
    rec_params_set_str(p, "item_features", "id,genres,tags");
    rec_params_set_int(p, "dim", 32);
    rec_params_set_str(p, "tower", "64,64");
    rec_params_set_float(p, "temperature", 0.05);
    rec_params_set_str(p, "loss", loss);
    rec_params_set_int(p, "epochs", epochs);
    rec_params_set_int(p, "batch", 1024);
    rec_params_set_float(p, "lr", 1e-3);
    rec_params_set_bool(p, "sparse", sparse);
    rec_params_set_int(p, "seed", seed);
    rec_model *m;
    if (rec_model_create(&m, "twotower", p))
        return die("create");
    rec_params_destroy(p);
    timing t = { .last = now() };
    double t0 = t.last;
    if (rec_model_fit(m, tr, on_epoch, &t))
        return die("fit");
    double train = now() - t0, first = t.ep[0];
    double e0 = now(), rc, nd, prc, pnd;
    if (eval(m, te, &rc, &nd))
        return die("evaluate");
    double eval_sec = now() - e0;
    rec_model *pop;
    if (rec_model_create(&pop, "popularity", NULL) || rec_model_fit(pop, tr, NULL, NULL) ||
        eval(pop, te, &prc, &pnd))
        return die("popularity");
    qsort(t.ep, (size_t)t.n, sizeof *t.ep, cmp_d);
    double med = t.n % 2 ? t.ep[t.n / 2] : 0.5 * (t.ep[t.n / 2 - 1] + t.ep[t.n / 2]);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"workload\": \"W2_twotower_ml-latest-small\", \"results\": {\"n_users\": %d, "
           "\"n_items\": %d, \"n_train\": %lld, \"loss\": \"%s\", \"seed\": %d, \"sparse\": %d, "
           "\"threads\": %d, \"epochs\": %d, \"sec_per_epoch_median\": %.4f, "
           "\"sec_per_epoch_first\": %.4f, \"train_sec_total\": %.3f, \"recall10\": %.4f, "
           "\"ndcg10\": %.4f, \"popularity_recall10\": %.4f, \"popularity_ndcg10\": %.4f, "
           "\"eval_sec\": %.3f, \"peak_rss_mb\": %.1f}}\n",
           nu, ni, (long long)ntr, loss, seed, sparse, threads, t.n, med, first, train, rc, nd, prc,
           pnd, eval_sec, ru.ru_maxrss / 1024.0);
    rec_model_destroy(pop);
    rec_model_destroy(m);
    rec_dataset_destroy(te);
    rec_dataset_destroy(tr);
    rec_dataset_destroy(d);
    return 0;
}
