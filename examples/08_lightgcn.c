/* Learning path 8: LightGCN, graph convolution on the user-item graph.
 *
 * Users and items are the nodes of one bipartite graph, an interaction is
 * an edge.  LightGCN (He et al., SIGIR 2020) gives every node an embedding
 * and smooths it over the graph: one layer replaces each node's vector by
 * the sum of its neighbours', each scaled by 1 / sqrt(deg a * deg b); after
 * L layers a user's vector has heard from items three hops away (the items
 * of users who share items with it).  The final vector of a node is the
 * mean of its L + 1 layer vectors and the score is a dot product, as in
 * matrix factorisation: with L = 0 it IS matrix factorisation.  Unlike
 * NGCF and GCN there is no weight matrix and no non-linearity between
 * layers; the paper shows those only made training harder.
 *
 * We hold out 20% of each user's items (the split of LightGCN's own
 * experiments), rank the whole catalogue without the training items and
 * report Recall@20 and NDCG@20 as the paper computes them:
 *   1. popularity and mf as the baselines;
 *   2. LightGCN with 0 to 4 layers: what propagation adds over L = 0;
 *   3. the loss: the paper's BPR (one sampled negative per pair) against a
 *      sampled softmax over many shared negatives, for the same epochs;
 *   4. the start: sections 2 and 3 start from the paper's normal draw with
 *      64 dimensions; librec's defaults start from the graph's spectrum
 *      (its top singular vectors, weighted so that propagated scores are a
 *      low-pass filter) and refine it for 5 epochs, and add to the scores
 *      the item-item term r_u R~^T R~ (linear=0.2, GF-CF's linear filter),
 *      which keeps the item pairs a low-rank model smooths away
 *      (linear=0 everywhere else here: the paper's scores);
 *   5. one user's recommendations, a new user folded in from three items,
 *      and an item's nearest items.
 *
 * usage: 08_lightgcn [ratings-file [epochs]]
 *   no argument: the generated dataset. */
#include <librec/librec.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHECK(call)                                                                       \
    do {                                                                                  \
        rec_status st_ = (call);                                                          \
        if (st_ != REC_OK) {                                                              \
            fprintf(stderr, "08_lightgcn: %s: %s\n", rec_strerror(st_), rec_last_error()); \
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
    printf("  %-36s %.4f    %.4f   %6.1f s\n", what, rc, nd, fit);
    fflush(stdout); /* each line as it comes: a fit takes a while on real data */
    return m;
}

static void show(const char *title, const char **items, const float *scores, size_t n)
{
    printf("%s\n", title);
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

    printf("  %-36s Recall@20 NDCG@20  fit\n", "model");
    rec_model_destroy(run("popularity", "popularity", NULL, 0, train, test));
    rec_model_destroy(run("mf (BPR)", "mf", NULL, 0, train, test));

    /* the paper's start and graph, with 64 dimensions */
#define PAPER "init=normal", "renorm=0", "dim=64", "linear=0"
    printf("\n1. layers (normal start, sampled softmax, lr 0.005, %s)\n", ep);
    for (int l = 0; l <= 4; l++) {
        char what[64], lk[32];
        snprintf(what, sizeof what, "lightgcn, %d layer%s%s", l, l == 1 ? "" : "s",
                 l == 0 ? " (= MF)" : "");
        snprintf(lk, sizeof lk, "layers=%d", l);
        rec_model_destroy(run(what, "lightgcn",
                              (const char *const[]){ lk, ep, "lr=0.005", PAPER }, 7, train, test));
    }

    printf("\n2. loss (normal start, 3 layers, %s)\n", ep);
    rec_model_destroy(run("BPR, lr 0.001 (the paper's)", "lightgcn",
                          (const char *const[]){ "loss=bpr", "lr=0.001", ep, PAPER }, 7, train,
                          test));
    rec_model_destroy(run("BPR, lr 0.005", "lightgcn",
                          (const char *const[]){ "loss=bpr", "lr=0.005", ep, PAPER }, 7, train,
                          test));
    printf("  %-36s (the 3-layer row above)\n", "sampled softmax, lr 0.005");

    printf("\n3. the start (3 layers)\n");
    rec_model_destroy(run("spectral start alone (lr 0)", "lightgcn",
                          (const char *const[]){ "lr=0", "epochs=1", "linear=0" }, 3, train,
                          test));
    rec_model_destroy(run("spectral start + 5 epochs", "lightgcn",
                          (const char *const[]){ "linear=0" }, 1, train, test));
    rec_model *best = run("defaults: + the linear filter", "lightgcn", NULL, 0, train, test);

    printf("\n4. using the model (the defaults)\n");
    const char *user, *items[5], *hist[3];
    float scores[5];
    size_t n;
    CHECK(rec_dataset_user_id(train, 0, &user));
    CHECK(rec_model_recommend(best, user, 5, 0, items, scores, &n));
    printf("  user %s:\n", user);
    show("", items, scores, n);
    for (int k = 0; k < 3; k++)
        CHECK(rec_dataset_item_id(train, k, &hist[k]));
    CHECK(rec_model_recommend_history(best, hist, NULL, 3, 5, 0, items, scores, &n));
    printf("  a new user who took %s, %s and %s (folded in):\n", hist[0], hist[1], hist[2]);
    show("", items, scores, n);
    CHECK(rec_model_similar(best, hist[0], 5, items, scores, &n));
    printf("  items nearest %s (cosine of the propagated vectors):\n", hist[0]);
    show("", items, scores, n);

    rec_model_destroy(best);
    rec_dataset_destroy(train);
    rec_dataset_destroy(test);
    rec_dataset_destroy(d);
    return 0;
}
