/* W3 LightGCN, the protocol of the peer ../shared/bench/peers/w3_lightgcn.py
 * on any ratings file librec reads: every rating a positive pair; per user a
 * seeded 80/20 holdout (ceil(0.8 n) rows train, `--split user:0.2`; the peer
 * draws its own permutation, so the held-out rows differ but not their
 * count); 64 dims, 3 layers, layer-mean readout; BPR with one uniform
 * negative per pair, reg 1e-4 on E0, Adam lr 1e-3, batch 2048, full-graph
 * propagation every batch; Recall@20 / NDCG@20 over all items with train
 * items masked.  `--recipe librec` trains with librec's own defaults instead
 * (the spectral start and the sampled softmax), for the kind's default
 * number of epochs unless --epochs is given.
 * Prints one JSON line on stdout, progress on stderr.
 * Usage: w3_lightgcn [--data PATH] [--format F] [--epochs N] [--threads 2]
 *                    [--model lightgcn|ngcf] [--recipe paper|librec]
 *                    [--param KEY=VALUE ...] */
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
    double last, ep[100000];
    int n;
} timing;

static int on_epoch(void *user, int epoch, int epochs, double loss)
{
    timing *t = user;
    double x = now();
    if (t->n < 100000)
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
    fprintf(stderr, "w3_lightgcn: %s: %s\n", what, rec_last_error());
    return 1;
}

static int usage(void)
{
    fprintf(stderr, "usage: w3_lightgcn [--data PATH] [--format F] [--epochs N] [--threads N]\n"
                    "                   [--model lightgcn|ngcf] [--recipe paper|librec]\n"
                    "                   [--param KEY=VALUE ...]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *data = "../shared/data/ml-latest-small/ratings.csv", *format = "auto";
    const char *model = "lightgcn", *recipe = "paper";
    const char *extra[64];
    int nextra = 0, epochs = 0, threads = 2; /* epochs 0: the recipe's (paper 50) */
    for (int a = 1; a < argc; a += 2) {
        if (a + 1 >= argc)
            return usage();
        const char *v = argv[a + 1];
        if (!strcmp(argv[a], "--data"))
            data = v;
        else if (!strcmp(argv[a], "--format"))
            format = v;
        else if (!strcmp(argv[a], "--epochs"))
            epochs = atoi(v);
        else if (!strcmp(argv[a], "--threads"))
            threads = atoi(v);
        else if (!strcmp(argv[a], "--model"))
            model = v;
        else if (!strcmp(argv[a], "--recipe"))
            recipe = v;
        else if (!strcmp(argv[a], "--param") && nextra < 64 && strchr(v, '='))
            extra[nextra++] = v;
        else
            return usage();
    }
    if (epochs < 0 || threads < 1 || (strcmp(recipe, "paper") && strcmp(recipe, "librec")))
        return usage();
    if (!epochs && !strcmp(recipe, "paper"))
        epochs = 50;
    rec_set_num_threads(threads);
    rec_dataset *d, *tr, *te;
    if (rec_dataset_load(&d, data, format, NULL))
        return die(data);
    if (rec_dataset_split(d, "user:0.2", 0, 0, &tr, &te))
        return die("split");
    int64_t ntr, nte;
    int32_t nu, ni;
    rec_dataset_num_interactions(tr, &ntr);
    rec_dataset_num_interactions(te, &nte);
    rec_dataset_num_users(d, &nu);
    rec_dataset_num_items(d, &ni);

    rec_params *p;
    if (rec_params_create(&p))
        return die("params");
    rec_status st = epochs ? rec_params_set_int(p, "epochs", epochs) : REC_OK;
    if (!strcmp(recipe, "paper")) {
        st = st ? st : rec_params_set_str(p, "loss", "bpr");
        st = st ? st : rec_params_set_float(p, "lr", 1e-3);
        st = st ? st : rec_params_set_int(p, "batch", 2048);
        st = st ? st : rec_params_set_float(p, "reg", 1e-4);
        st = st ? st : rec_params_set_float(p, "init_std", 0.1);
        st = st ? st : rec_params_set_int(p, "dim", 64);
        st = st ? st : rec_params_set_int(p, "layers", 3);
        /* the paper's normal start over D^-1/2 A D^-1/2, not librec's
         * spectral one, and its scores, without the linear filter */
        if (!strcmp(model, "lightgcn")) {
            st = st ? st : rec_params_set_str(p, "init", "normal");
            st = st ? st : rec_params_set_float(p, "renorm", 0);
            st = st ? st : rec_params_set_float(p, "linear", 0);
        }
    }
    /* parsed as the CLI's --param is, so numbers are numbers (set as
     * strings, every numeric key was refused at create) */
    for (int k = 0; k < nextra && !st; k++)
        st = rec_params_parse(p, extra[k]);
    if (st)
        return die("params");
    rec_model *m;
    if (rec_model_create(&m, model, p))
        return die("create");
    rec_params_destroy(p);
    static timing t;
    t.last = now();
    double t0 = t.last;
    if (rec_model_fit(m, tr, on_epoch, &t))
        return die("fit");
    double train = now() - t0, first = t.ep[0];
    double e0 = now(), rc, nd;
    rec_eval_result *r;
    if (rec_evaluate(m, te, "full", "recall@20,ndcg@20", 0, &r))
        return die("evaluate");
    rec_eval_result_get(r, "recall@20", &rc);
    rec_eval_result_get(r, "ndcg@20", &nd);
    rec_eval_result_destroy(r);
    double eval_sec = now() - e0;
    qsort(t.ep, (size_t)t.n, sizeof *t.ep, cmp_d);
    double med = t.n % 2 ? t.ep[t.n / 2] : 0.5 * (t.ep[t.n / 2 - 1] + t.ep[t.n / 2]);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"workload\": \"W3_%s\", \"results\": {\"data\": \"%s\", \"recipe\": \"%s\", "
           "\"n_users\": %d, \"n_items\": %d, \"n_train\": %lld, \"n_test\": %lld, "
           "\"threads\": %d, \"epochs_run\": %d, \"sec_per_epoch_median\": %.4f, "
           "\"sec_per_epoch_first\": %.4f, \"train_sec_total\": %.3f, \"recall20\": %.4f, "
           "\"ndcg20\": %.4f, \"eval_sec\": %.3f, \"peak_rss_mb\": %.1f}}\n",
           model, data, recipe, nu, ni, (long long)ntr, (long long)nte, threads, t.n, med, first,
           train, rc, nd, eval_sec, ru.ru_maxrss / 1024.0);
    rec_model_destroy(m);
    rec_dataset_destroy(te);
    rec_dataset_destroy(tr);
    rec_dataset_destroy(d);
    return 0;
}
