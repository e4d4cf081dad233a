/* Learning path 9: NGCF, and when high-order connectivity pays.
 *
 * NGCF (Wang et al., SIGIR 2019) propagates embeddings over the user-item
 * graph like LightGCN, but every layer also has weight matrices and a
 * non-linearity:
 *     E_{k+1} = LeakyReLU(W1 (A E_k + E_k) + W2 ((A E_k) * E_k))
 * and the final vector concatenates the layers.  A user's vector after
 * three layers carries what users with the same items liked: that is the
 * "high-order connectivity" the paper argues for.
 *
 * Whom should it help?  A user with many interactions is already pinned
 * down by them: matrix factorisation has plenty to learn from.  A user with
 * few interactions is where borrowing from the neighbourhood should pay.
 * So we split users into four groups by how many training items they have
 * and compare, per group, matrix factorisation (no propagation), NGCF and
 * LightGCN (propagation without NGCF's weights and non-linearity), on 20%
 * of each user's items held out, Recall@20 and NDCG@20 over the whole
 * catalogue.
 *
 * usage: 09_ngcf [ratings-file [epochs]]
 *   no argument: the generated dataset. */
#include <librec/librec.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(call)                                                                    \
    do {                                                                               \
        rec_status st_ = (call);                                                       \
        if (st_ != REC_OK) {                                                           \
            fprintf(stderr, "09_ngcf: %s: %s\n", rec_strerror(st_), rec_last_error()); \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

enum { GROUPS = 4, MODELS = 3 };

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static rec_model *fit(const char *kind, const char *epochs, const rec_dataset *train)
{
    rec_params *p;
    rec_model *m;
    CHECK(rec_params_create(&p));
    if (strcmp(kind, "mf"))
        CHECK(rec_params_parse(p, epochs));
    /* both graph models from the papers' start, a normal draw (std 0.1) over
     * D^-1/2 A D^-1/2 with 64 dimensions, lr 0.005 and temperature 0.2: the
     * comparison is of the layers, not of the spectral start they both take
     * by default */
    static const char *papers[] = { "init=normal", "renorm=0",       "dim=64",
                                    "lr=0.005",    "temperature=0.2", "init_std=0.1" };
    if (strcmp(kind, "mf"))
        for (size_t k = 0; k < sizeof papers / sizeof *papers; k++)
            CHECK(rec_params_parse(p, papers[k]));
    CHECK(rec_model_create(&m, kind, p));
    rec_params_destroy(p);
    printf("  fitting %-9s ...", kind);
    fflush(stdout);
    double t0 = seconds();
    CHECK(rec_model_fit(m, train, NULL, NULL));
    printf(" %.1f s\n", seconds() - t0);
    return m;
}

static void eval(const rec_model *m, const rec_dataset *test, double *rc, double *nd)
{
    rec_eval_result *r;
    CHECK(rec_evaluate(m, test, "full", "recall@20,ndcg@20", 0, &r));
    CHECK(rec_eval_result_get(r, "recall@20", rc));
    CHECK(rec_eval_result_get(r, "ndcg@20", nd));
    rec_eval_result_destroy(r);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
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
    int32_t nu;
    int64_t ntrain, ntest;
    CHECK(rec_dataset_num_users(train, &nu));
    CHECK(rec_dataset_num_interactions(train, &ntrain));
    CHECK(rec_dataset_num_interactions(test, &ntest));
    printf("%s: %d users, %lld training pairs, %lld held out (20%% per user)\n\n",
           argc > 1 ? argv[1] : "generated data", (int)nu, (long long)ntrain, (long long)ntest);

    /* Activity: training items per user; group bounds at the quartiles. */
    int *act = calloc((size_t)nu, sizeof *act), *sorted = malloc((size_t)nu * sizeof *sorted);
    if (!act || !sorted)
        return 1;
    for (int64_t r = 0; r < ntrain; r++) {
        int32_t u;
        CHECK(rec_dataset_row(train, r, &u, NULL, NULL, NULL));
        act[u]++;
    }
    memcpy(sorted, act, (size_t)nu * sizeof *act);
    qsort(sorted, (size_t)nu, sizeof *sorted, cmp_int);
    int bound[GROUPS + 1] = { 0 };
    for (int g = 1; g < GROUPS; g++)
        bound[g] = sorted[(size_t)nu * g / GROUPS];
    bound[GROUPS] = sorted[nu - 1] + 1;

    /* One test set per group: the held-out rows of its users. */
    rec_dataset *part[GROUPS];
    int members[GROUPS] = { 0 };
    for (int g = 0; g < GROUPS; g++)
        CHECK(rec_dataset_create(&part[g]));
    for (int32_t u = 0; u < nu; u++)
        for (int g = 0; g < GROUPS; g++)
            if (act[u] >= bound[g] && act[u] < bound[g + 1]) {
                members[g]++;
                break;
            }
    for (int64_t r = 0; r < ntest; r++) {
        int32_t u, i;
        CHECK(rec_dataset_row(test, r, &u, &i, NULL, NULL));
        const char *uid, *iid;
        CHECK(rec_dataset_user_id(test, u, &uid));
        CHECK(rec_dataset_item_id(test, i, &iid));
        int32_t tu;
        CHECK(rec_dataset_user_index(train, uid, &tu));
        for (int g = 0; g < GROUPS; g++)
            if (act[tu] >= bound[g] && act[tu] < bound[g + 1])
                CHECK(rec_dataset_add(part[g], uid, iid, NAN, REC_NO_TIME));
    }

    static const char *kinds[MODELS] = { "mf", "ngcf", "lightgcn" };
    rec_model *m[MODELS];
    printf("training (%s for ngcf and lightgcn, mf its defaults):\n", ep);
    for (int k = 0; k < MODELS; k++)
        m[k] = fit(kinds[k], ep, train);

    printf("\nRecall@20 / NDCG@20 by user activity (training items per user)\n");
    printf("  %-14s %5s   %-15s %-15s %-15s %s\n", "items", "users", "mf", "ngcf", "lightgcn",
           "ngcf - mf (recall)");
    double all[MODELS][2] = { { 0 } };
    for (int g = 0; g <= GROUPS; g++) {
        const rec_dataset *t = g < GROUPS ? part[g] : test;
        int64_t rows;
        CHECK(rec_dataset_num_interactions(t, &rows));
        if (rows == 0) /* equal quartiles: an empty group */
            continue;
        double v[MODELS][2];
        for (int k = 0; k < MODELS; k++)
            eval(m[k], t, &v[k][0], &v[k][1]);
        char label[32];
        if (g < GROUPS)
            snprintf(label, sizeof label, "%d-%d", bound[g], bound[g + 1] - 1);
        else
            snprintf(label, sizeof label, "all");
        printf("  %-14s %5d   %.4f/%.4f   %.4f/%.4f   %.4f/%.4f   %+.4f\n", label,
               g < GROUPS ? members[g] : (int)nu, v[0][0], v[0][1], v[1][0], v[1][1], v[2][0],
               v[2][1], v[1][0] - v[0][0]);
        if (g == GROUPS)
            memcpy(all, v, sizeof all);
    }
    printf("\nNGCF %s matrix factorisation overall by %.4f recall@20; LightGCN is %.4f %s NGCF.\n",
           all[1][0] >= all[0][0] ? "beats" : "trails", fabs(all[1][0] - all[0][0]),
           all[2][0] > all[1][0] ? all[2][0] - all[1][0] : all[1][0] - all[2][0],
           all[2][0] >= all[1][0] ? "above" : "below");

    for (int k = 0; k < MODELS; k++)
        rec_model_destroy(m[k]);
    for (int g = 0; g < GROUPS; g++)
        rec_dataset_destroy(part[g]);
    free(act);
    free(sorted);
    rec_dataset_destroy(train);
    rec_dataset_destroy(test);
    rec_dataset_destroy(d);
    return 0;
}
