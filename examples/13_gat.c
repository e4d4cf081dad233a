/* Learning path 13: GAT, attention over the user-item graph.
 *
 * LightGCN (08) averages a node's neighbours with fixed weights,
 * 1 / sqrt(deg a * deg b).  A graph attention network (Velickovic et al.,
 * ICLR 2018) learns them: each layer scores every edge a -> b with a small
 * additive attention, LeakyReLU(a_dst . W x_a + a_src . W x_b), and a
 * softmax over a's neighbours (and a itself) turns the scores into weights
 * that add up to 1.  Several heads do this independently and are
 * concatenated.  librec's gat gives users no vector of their own: a user
 * starts as the mean of their items, so a user who was not in the training
 * graph is run through the same layers from the items they give.  And the
 * attention says which of a user's items their vector listened to.
 *
 * Here: 20% of each user's items held out, Recall@20 / NDCG@20 against
 * popularity and LightGCN; then one user's neighbours with their attention
 * weights (rec_model_explain), their recommendations, and a new user.
 *
 * usage: 13_gat [ratings-file [epochs]]
 *   no argument: the generated dataset. */
#include <librec/librec.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHECK(call)                                                                       \
    do {                                                                                  \
        rec_status st_ = (call);                                                          \
        if (st_ != REC_OK) {                                                              \
            fprintf(stderr, "13_gat: %s: %s\n", rec_strerror(st_), rec_last_error());     \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

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
    printf("  %-28s %.4f    %.4f   %6.1f s\n", what, rc, nd, fit);
    fflush(stdout);
    return m;
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

    printf("  %-28s Recall@20 NDCG@20  fit\n", "model");
    rec_model_destroy(run("popularity", "popularity", NULL, 0, train, test));
    /* lightgcn as gat is, from a normal draw with 64 dimensions and lr 0.005 */
    rec_model_destroy(run("lightgcn (3 layers)", "lightgcn",
                          (const char *const[]){ ep, "init=normal", "renorm=0", "dim=64",
                                                 "lr=0.005" }, 5, train, test));
    rec_model *m = run("gat (2 layers, 2 heads)", "gat", (const char *const[]){ ep }, 1, train,
                       test);

    const char *user, *items[10], *why[10];
    float scores[10], w[10];
    size_t n, nw;
    CHECK(rec_dataset_user_id(train, 0, &user));
    CHECK(rec_model_recommend(m, user, 5, 0, items, scores, &n));
    CHECK(rec_model_explain(m, user, items[0], 10, why, w, &nw));
    printf("\nuser %s: the items their vector attends to most (last layer, mean of heads)\n",
           user);
    float sum = 0;
    for (size_t k = 0; k < nw; k++) {
        printf("    %6.4f  %s\n", w[k], why[k]);
        sum += w[k];
    }
    printf("    (these %zu of the user's items hold %.0f%% of the attention; the rest is on "
           "the other items and the user itself)\n", nw, 100.0 * sum);
    printf("user %s: recommended\n", user);
    for (size_t k = 0; k < n; k++)
        printf("    %7.3f  %s\n", scores[k], items[k]);

    const char *hist[3];
    for (int k = 0; k < 3; k++)
        CHECK(rec_dataset_item_id(train, k, &hist[k]));
    CHECK(rec_model_recommend_history(m, hist, NULL, 3, 5, 0, items, scores, &n));
    printf("a new user who took %s, %s and %s (through the same layers):\n", hist[0], hist[1],
           hist[2]);
    for (size_t k = 0; k < n; k++)
        printf("    %7.3f  %s\n", scores[k], items[k]);

    rec_model_destroy(m);
    rec_dataset_destroy(train);
    rec_dataset_destroy(test);
    rec_dataset_destroy(d);
    return 0;
}
