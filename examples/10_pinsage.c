/* Learning path 10: PinSage, graph convolutions on sampled neighbourhoods.
 *
 * LightGCN (08) propagates the whole graph at every training step: a step
 * costs what the graph costs, and the graph grows with the catalogue.
 * PinSage (Ying et al., KDD 2018) was built for a graph of 3 billion nodes:
 * it never touches the whole graph.  Random walks with restart from each
 * item (item -> user -> item hops) count visits; an item's neighbourhood is
 * its few most visited items, weighted by those counts.  A training step
 * embeds only its batch's items, through convolutions over those sampled
 * neighbourhoods (two layers: the batch, their neighbours, and theirs), and
 * learns from co-engaged pairs (two items a user took one after the other)
 * with a max-margin loss; from the second epoch on it adds hard negatives,
 * items ranked lower in the query's walk visits (the paper's curriculum).
 * Users are recommended their recent items' nearest items.
 *
 * The question: what does neighbour sampling buy as the graph grows?  We
 * time one epoch (the second, after the walks and warm-up) of pinsage and
 * of lightgcn at three generated sizes, each in batches of 512 pairs, and
 * divide by the number of batches: pinsage's cost per batch stays flat,
 * lightgcn's grows with the graph.  With a ratings file, the same on it,
 * and both models' Recall@20 / NDCG@20 against popularity on a 20% per-user
 * holdout, then one item's nearest items.
 *
 * usage: 10_pinsage [ratings-file]
 *   no argument: generated datasets of growing size, the quality on the
 *   middle one (1,000 users: the largest took three minutes more). */
#include <librec/librec.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHECK(call)                                                                       \
    do {                                                                                  \
        rec_status st_ = (call);                                                          \
        if (st_ != REC_OK) {                                                              \
            fprintf(stderr, "10_pinsage: %s: %s\n", rec_strerror(st_), rec_last_error()); \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The clock at the end of each epoch. */
static int stamp(void *user, int epoch, int epochs, double loss)
{
    (void)epochs, (void)loss;
    ((double *)user)[epoch] = seconds();
    return 0;
}

static rec_model *make(const char *kind, const char *const *kv, int n)
{
    rec_params *p;
    rec_model *m;
    CHECK(rec_params_create(&p));
    for (int k = 0; k < n; k++)
        CHECK(rec_params_parse(p, kv[k]));
    CHECK(rec_model_create(&m, kind, p));
    rec_params_destroy(p);
    return m;
}

/* Seconds of the second epoch of a 2-epoch fit, per batch of `batches`. */
static double per_batch(const char *kind, const char *const *kv, int n, const rec_dataset *d,
                        double batches)
{
    rec_model *m = make(kind, kv, n);
    double t[3] = { 0 };
    CHECK(rec_model_fit(m, d, stamp, t));
    rec_model_destroy(m);
    return (t[2] - t[1]) / batches;
}

static void cost(const rec_dataset *d, const char *what)
{
    int32_t nu, ni;
    int64_t rows;
    CHECK(rec_dataset_num_users(d, &nu));
    CHECK(rec_dataset_num_items(d, &ni));
    CHECK(rec_dataset_num_interactions(d, &rows));
    /* about one co-engaged pair per row (consecutive items of a user), one
     * edge per row */
    double pb = (double)(rows - nu) / 512.0, lb = (double)rows / 512.0;
    if (pb < 1)
        pb = 1;
    double ps = per_batch("pinsage", (const char *const[]){ "epochs=2", "batch=512" }, 2, d,
                          pb);
    /* lightgcn's step at the paper's 64 dimensions from a normal draw (the
     * spectral start would add its SVD to the first epoch's time) */
    double ls = per_batch("lightgcn", (const char *const[]){ "epochs=2", "batch=512",
                                                              "loss=bpr", "init=normal",
                                                              "renorm=0", "dim=64" }, 6, d, lb);
    printf("  %-16s %6d %6d %8lld   %8.2f   %8.2f   %6.1fx\n", what, (int)nu, (int)ni,
           (long long)rows, 1e3 * ps, 1e3 * ls, ls / ps);
    fflush(stdout);
}

static void quality(rec_dataset *d)
{
    rec_dataset *train, *test;
    CHECK(rec_dataset_split(d, "user:0.2", 0, 42, &train, &test));
    printf("\n  %-12s Recall@20 NDCG@20   (20%% of each user's items held out)\n", "model");
    const char *kinds[3] = { "popularity", "lightgcn", "pinsage" };
    rec_model *ps = NULL;
    for (int k = 0; k < 3; k++) {
        /* lightgcn at its former defaults (64 dimensions, normal start), as
         * examples/README.md's rows were measured */
        static const char *const former[] = { "init=normal", "renorm=0", "dim=64", "lr=0.005",
                                              "epochs=20" };
        rec_model *m = k == 1 ? make(kinds[k], former, 5) : make(kinds[k], NULL, 0);
        CHECK(rec_model_fit(m, train, NULL, NULL));
        rec_eval_result *r;
        double rc, nd;
        CHECK(rec_evaluate(m, test, "full", "recall@20,ndcg@20", 0, &r));
        CHECK(rec_eval_result_get(r, "recall@20", &rc));
        CHECK(rec_eval_result_get(r, "ndcg@20", &nd));
        rec_eval_result_destroy(r);
        printf("  %-12s %.4f    %.4f\n", kinds[k], rc, nd);
        fflush(stdout);
        if (k == 2)
            ps = m;
        else
            rec_model_destroy(m);
    }
    const char *item, *items[5];
    float sc[5];
    size_t n;
    CHECK(rec_dataset_item_id(train, 0, &item));
    CHECK(rec_model_similar(ps, item, 5, items, sc, &n));
    printf("\n  items nearest %s (cosine of the PinSage embeddings):\n", item);
    for (size_t k = 0; k < n; k++)
        printf("    %6.3f  %s\n", sc[k], items[k]);
    rec_model_destroy(ps);
    rec_dataset_destroy(train);
    rec_dataset_destroy(test);
}

int main(int argc, char **argv)
{
    printf("milliseconds per batch of 512 training pairs (the second epoch)\n");
    printf("  %-16s %6s %6s %8s   %8s   %8s   %7s\n", "data", "users", "items", "rows",
           "pinsage", "lightgcn", "ratio");
    if (argc > 1) {
        rec_dataset *d;
        CHECK(rec_dataset_load(&d, argv[1], NULL, NULL));
        cost(d, "file");
        quality(d);
        rec_dataset_destroy(d);
        return 0;
    }
    const int users[3] = { 250, 1000, 4000 };
    rec_dataset *mid = NULL;
    for (int s = 0; s < 3; s++) {
        rec_params *g;
        rec_dataset *d;
        char u[32], i[32];
        snprintf(u, sizeof u, "users=%d", users[s]);
        snprintf(i, sizeof i, "items=%d", users[s] * 8 / 5);
        CHECK(rec_params_create(&g));
        CHECK(rec_params_parse(g, u));
        CHECK(rec_params_parse(g, i));
        CHECK(rec_dataset_generate(&d, g));
        rec_params_destroy(g);
        cost(d, s == 0 ? "generated" : "");
        if (s == 1)
            mid = d; /* its quality after the table */
        else
            rec_dataset_destroy(d);
    }
    quality(mid);
    rec_dataset_destroy(mid);
    return 0;
}
