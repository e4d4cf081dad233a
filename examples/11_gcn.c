/* Learning path 11: GCN, graph convolution with weights and a non-linearity.
 *
 * Kipf & Welling's GCN layer is H' = ReLU(Â H W): each node averages its
 * own and its neighbours' vectors (Â = D~^-1/2 (A + I) D~^-1/2, the
 * "renormalised" adjacency with self-loops) and passes the result through
 * a learned matrix and a ReLU.  LightGCN (08_lightgcn) is this layer with
 * W and the ReLU taken out and a free vector per node as the only input.
 * What do W and the ReLU buy, and what do they cost?
 *   1. quality: popularity, lightgcn and gcn on the same split;
 *   2. inputs: gcn from ID embeddings, from the item genres alone
 *      (ids=false: no node has a vector of its own), and from both;
 *   3. what only the inductive model can do: a new user's vector computed
 *      by the trained layers from the items given at call time.
 * gcn trains on mini-batch blocks, the 2-hop neighbourhood of each batch's
 * nodes (every neighbour by default; fanout=K samples K per node and layer,
 * so a step costs K^2 nodes per seed at most, not the graph).
 *
 * usage: 11_gcn [ratings-file [epochs]]
 *   no argument: the generated dataset. */
#include <librec/librec.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHECK(call)                                                                       \
    do {                                                                                  \
        rec_status st_ = (call);                                                          \
        if (st_ != REC_OK) {                                                              \
            fprintf(stderr, "11_gcn: %s: %s\n", rec_strerror(st_), rec_last_error());      \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Fits kind with n "key=value" settings and prints its test scores. */
static rec_model *run(const char *what, const char *kind, const char *const *kv, int n,
                      const rec_dataset *train, const rec_dataset *test)
{
    rec_params *p;
    rec_model *m;
    CHECK(rec_params_create(&p));
    for (int k = 0; k < n; k++)
        CHECK(rec_params_parse(p, kv[k]));
    CHECK(rec_model_create(&m, kind, p));
    rec_params_destroy(p);
    double t0 = seconds();
    CHECK(rec_model_fit(m, train, NULL, NULL));
    double fit = seconds() - t0;
    rec_eval_result *r;
    double rc, nd;
    CHECK(rec_evaluate(m, test, "full", "recall@20,ndcg@20", 0, &r));
    CHECK(rec_eval_result_get(r, "recall@20", &rc));
    CHECK(rec_eval_result_get(r, "ndcg@20", &nd));
    rec_eval_result_destroy(r);
    printf("  %-40s %.4f    %.4f   %6.1f s\n", what, rc, nd, fit);
    fflush(stdout);
    return m;
}

static void show(const char **items, const float *scores, size_t n)
{
    for (size_t k = 0; k < n; k++)
        printf("    %7.3f  %s\n", scores[k], items[k]);
}

int main(int argc, char **argv)
{
    rec_dataset *d, *train, *test;
    if (argc > 1)
        CHECK(rec_dataset_load(&d, argv[1], NULL, NULL));
    else
        CHECK(rec_dataset_generate(&d, NULL));
    char ep[32];
    snprintf(ep, sizeof ep, "epochs=%d", argc > 2 ? atoi(argv[2]) : 20);
    CHECK(rec_dataset_split(d, "user:0.2", 0, 42, &train, &test));
    int32_t nu, ni;
    int64_t rows;
    CHECK(rec_dataset_num_users(train, &nu));
    CHECK(rec_dataset_num_items(train, &ni));
    CHECK(rec_dataset_num_interactions(train, &rows));
    printf("%s: %d users, %d items, %lld training pairs; 20%% of each user's items held out\n\n",
           argc > 1 ? argv[1] : "generated data", (int)nu, (int)ni, (long long)rows);

    printf("1. quality (%s)\n  %-40s Recall@20 NDCG@20  fit\n", ep, "model");
    rec_model_destroy(run("popularity", "popularity", NULL, 0, train, test));
    /* lightgcn as gcn is, from a normal draw with 64 dimensions and lr 0.005 */
    rec_model_destroy(run("lightgcn (3 layers, no W, no ReLU)", "lightgcn",
                          (const char *const[]){ ep, "init=normal", "renorm=0", "dim=64",
                                                 "lr=0.005" }, 5, train, test));
    rec_model *best = run("gcn (2 layers, ids + features)", "gcn", (const char *const[]){ ep },
                          1, train, test);

    printf("\n2. inputs\n");
    rec_model_destroy(run("gcn, ids only", "gcn", (const char *const[]){ ep, "features=false" },
                          2, train, test));
    rec_model_destroy(run("gcn, features only (no node vectors)", "gcn",
                          (const char *const[]){ ep, "ids=false" }, 2, train, test));
    rec_model_destroy(run("gcn, 1 layer", "gcn", (const char *const[]){ ep, "layers=1" }, 2,
                          train, test));

    printf("\n3. a new user, through the trained layers\n");
    const char *items[5], *hist[3];
    float scores[5];
    size_t n;
    for (int k = 0; k < 3; k++)
        CHECK(rec_dataset_item_id(train, k, &hist[k]));
    CHECK(rec_model_recommend_history(best, hist, NULL, 3, 5, 0, items, scores, &n));
    printf("  who took %s, %s and %s:\n", hist[0], hist[1], hist[2]);
    show(items, scores, n);
    CHECK(rec_model_similar(best, hist[0], 5, items, scores, &n));
    printf("  items nearest %s:\n", hist[0]);
    show(items, scores, n);

    rec_model_destroy(best);
    rec_dataset_destroy(train);
    rec_dataset_destroy(test);
    rec_dataset_destroy(d);
    return 0;
}
