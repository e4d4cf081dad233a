/* Learning path 6: next-item recommendation with SASRec (self-attention
 * over the sequence of a user's actions; Kang & McAuley, ICDM 2018).
 *
 * The earlier models see a user as a set of items.  SASRec reads the items
 * in time order and predicts the next one: each position attends to the
 * positions before it (causal self-attention), learned position vectors tell
 * it how recent an item is, and the output at the last position is compared
 * with every item's embedding (the same table that encodes the input).
 * Training shows it, at every position, the true next item against one
 * random item the user never took (binary cross-entropy).
 *
 * We hold out each user's last action, train on the rest, and measure as the
 * paper does: the held-out item ranked against 100 random items the user
 * never touched (HR@10, NDCG@10), next to a most-popular baseline.  Then we
 * ask for the next items after histories given at call time, in their order
 * and reversed: the order changes the answer, which no set-based model can do.
 *
 * usage: 06_sasrec [--shuffle] [path [format [epochs]]]
 *   no argument: the generated dataset (its sessions follow items with their
 *   successors), 40 epochs; with a path the paper's 200 epochs.  format as
 *   rec_dataset_load ("auto", "pairs" for SASRec's "user item" files, ...).
 *   --shuffle permutes the order of each user's actions before their last
 *   (the held-out one stays last): does the model use the order? */
#include <librec/librec.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call)                                                                    \
    do {                                                                               \
        rec_status st_ = (call);                                                       \
        if (st_ != REC_OK) {                                                           \
            fprintf(stderr, "06_sasrec: %s: %s\n", rec_strerror(st_), rec_last_error()); \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

static const rec_dataset *g_data;
static int g_title = -1;

/* The item's title when the data has one, else its id. */
static const char *label(const char *id)
{
    int32_t i;
    const char *text = "";
    if (g_title >= 0 && rec_dataset_item_index(g_data, id, &i) == REC_OK)
        CHECK(rec_dataset_feature_text(g_data, REC_SIDE_ITEM, g_title, i, &text));
    return *text ? text : id;
}

static int by_time(const void *a, const void *b)
{
    const int64_t *x = a, *y = b; /* (timestamp, row) */
    return x[0] != y[0] ? (x[0] > y[0]) - (x[0] < y[0]) : (x[1] > y[1]) - (x[1] < y[1]);
}

static int show_loss(void *user, int epoch, int epochs, double loss)
{
    (void)user;
    if (epochs <= 50 || epoch % 10 == 0 || epoch == 1)
        printf("  epoch %3d/%d  loss %.4f\n", epoch, epochs, loss);
    return 0;
}

static void evaluate(const char *name, const rec_model *m, const rec_dataset *test)
{
    rec_eval_result *r;
    double hr, nd;
    int64_t users;
    CHECK(rec_evaluate(m, test, "sampled:100", "hit@10,ndcg@10", 2024, &r));
    CHECK(rec_eval_result_get(r, "hit@10", &hr));
    CHECK(rec_eval_result_get(r, "ndcg@10", &nd));
    CHECK(rec_eval_result_support(r, &users, NULL, NULL));
    printf("  %-12s HR@10 %.4f  NDCG@10 %.4f  (%lld users)\n", name, hr, nd, (long long)users);
    rec_eval_result_destroy(r);
}

static void next_items(const rec_model *m, const char *const *hist, size_t n)
{
    const char *items[5];
    float scores[5];
    size_t got;
    printf("  after:");
    for (size_t j = 0; j < n; j++)
        printf(" %s%s", label(hist[j]), j + 1 < n ? " ->" : "\n");
    CHECK(rec_model_recommend_history(m, hist, NULL, n, 5, 0, items, scores, &got));
    for (size_t j = 0; j < got; j++)
        printf("    %zu. %-40s %6.2f\n", j + 1, label(items[j]), scores[j]);
}

/* A copy of d in which each user's actions before their last are in a random
 * order: the timestamps earlier than the user's latest are permuted among
 * those rows (Fisher-Yates, a fixed seed), so the held-out last action stays
 * last.  Rows keep their file order, so ids keep their dense indices.  Only
 * the interactions are copied (titles are looked up in the original). */
static rec_dataset *shuffled(const rec_dataset *d)
{
    int64_t n;
    int32_t nu;
    int has_t;
    CHECK(rec_dataset_num_interactions(d, &n));
    CHECK(rec_dataset_num_users(d, &nu));
    CHECK(rec_dataset_has_timestamps(d, &has_t));
    if (!has_t) {
        fprintf(stderr, "06_sasrec: --shuffle needs timestamps\n");
        exit(1);
    }
    const char **users = malloc((size_t)n * sizeof *users);
    const char **items = malloc((size_t)n * sizeof *items);
    float *ratings = malloc((size_t)n * sizeof *ratings);
    int64_t *ts = malloc((size_t)n * sizeof *ts), *top = malloc((size_t)nu * sizeof *top);
    int64_t *start = calloc((size_t)nu + 1, sizeof *start), *rows = malloc((size_t)n * sizeof *rows);
    int32_t *owner = malloc((size_t)n * sizeof *owner);
    if (!users || !items || !ratings || !ts || !top || !start || !rows || !owner)
        exit(1);
    for (int32_t u = 0; u < nu; u++)
        top[u] = INT64_MIN;
    for (int64_t r = 0; r < n; r++) {
        int32_t i;
        double rt;
        CHECK(rec_dataset_row(d, r, &owner[r], &i, &rt, &ts[r]));
        CHECK(rec_dataset_user_id(d, owner[r], &users[r]));
        CHECK(rec_dataset_item_id(d, i, &items[r]));
        ratings[r] = (float)rt;
        if (ts[r] > top[owner[r]])
            top[owner[r]] = ts[r];
    }
    for (int64_t r = 0; r < n; r++) /* each user's rows before their latest time */
        if (ts[r] < top[owner[r]])
            start[owner[r] + 1]++;
    for (int32_t u = 0; u < nu; u++)
        start[u + 1] += start[u];
    int64_t *fill = malloc((size_t)nu * sizeof *fill);
    if (!fill)
        exit(1);
    memcpy(fill, start, (size_t)nu * sizeof *fill);
    for (int64_t r = 0; r < n; r++)
        if (ts[r] < top[owner[r]])
            rows[fill[owner[r]]++] = r;
    free(fill);
    uint64_t state = 12345;
    for (int32_t u = 0; u < nu; u++)
        for (int64_t j = start[u + 1] - start[u] - 1; j > 0; j--) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            int64_t k = (int64_t)((state >> 33) % (uint64_t)(j + 1));
            int64_t a = rows[start[u] + j], b = rows[start[u] + k], t = ts[a];
            ts[a] = ts[b], ts[b] = t;
        }
    int has_r;
    rec_dataset *out;
    CHECK(rec_dataset_has_ratings(d, &has_r));
    CHECK(rec_dataset_from_strings(&out, users, items, has_r ? ratings : NULL, ts, (size_t)n));
    free(users), free(items), free(ratings), free(ts), free(top), free(start), free(rows);
    free(owner);
    return out;
}

int main(int argc, char **argv)
{
    rec_dataset *all, *train, *test;
    int shuffle = argc > 1 && strcmp(argv[1], "--shuffle") == 0;
    if (shuffle)
        argv++, argc--;
    int epochs = argc > 1 ? 200 : 40;
    if (argc > 1)
        CHECK(rec_dataset_load(&all, argv[1], argc > 2 ? argv[2] : "auto", NULL));
    else
        CHECK(rec_dataset_generate(&all, NULL));
    if (argc > 3)
        epochs = atoi(argv[3]);
    g_data = all;
    if (rec_dataset_field_index(all, REC_SIDE_ITEM, "title", &g_title) != REC_OK)
        g_title = -1;
    rec_dataset *ordered = all;
    if (shuffle) {
        all = shuffled(ordered);
        printf("--shuffle: each user's actions before the last in a random order\n");
    }
    int32_t nu, ni;
    int64_t nr;
    CHECK(rec_dataset_num_users(all, &nu));
    CHECK(rec_dataset_num_items(all, &ni));
    CHECK(rec_dataset_num_interactions(all, &nr));
    printf("data: %s, %d users, %d items, %lld actions\n",
           argc > 1 ? argv[1] : "generated (rec_dataset_generate defaults)", nu, ni,
           (long long)nr);

    /* The last action of each user (by timestamp, else file order) is the test. */
    CHECK(rec_dataset_split(all, "last:1", 0, 0, &train, &test));

    /* The paper's settings for sparse data: 50 items of history, 50 dims,
     * 2 blocks, 1 head, dropout 0.5, Adam 1e-3, 128 users per batch. */
    rec_params *p;
    rec_model *m, *pop;
    CHECK(rec_params_create(&p));
    CHECK(rec_params_set_int(p, "epochs", epochs));
    CHECK(rec_model_create(&m, "sasrec", p));
    rec_params_destroy(p);
    printf("\ntraining sasrec (maxlen 50, dim 50, 2 blocks, 1 head, dropout 0.5), %d epochs:\n",
           epochs);
    CHECK(rec_model_fit(m, train, show_loss, NULL));
    CHECK(rec_model_create(&pop, "popularity", NULL));
    CHECK(rec_model_fit(pop, train, NULL, NULL));

    printf("\nheld-out last item against 100 sampled negatives:\n");
    evaluate("sasrec", m, test);
    evaluate("popularity", pop, test);

    /* A history given now: user 0's last three training actions (by
     * timestamp, ties in file order), in order and reversed.  The model needs
     * no retraining for a new history. */
    int64_t rows, k = 0;
    CHECK(rec_dataset_num_interactions(train, &rows));
    struct act { int64_t t, r; int32_t i; } *acts = calloc((size_t)rows + 1, sizeof *acts);
    if (!acts)
        return 1;
    for (int64_t r = 0; r < rows; r++) {
        int32_t u, i;
        int64_t t;
        CHECK(rec_dataset_row(train, r, &u, &i, NULL, &t));
        if (u == 0)
            acts[k++] = (struct act){ t, r, i };
    }
    qsort(acts, (size_t)k, sizeof *acts, by_time);
    const char *uid, *hist[3], *rev[3];
    CHECK(rec_dataset_user_id(train, 0, &uid));
    size_t n = k < 3 ? (size_t)k : 3;
    for (size_t j = 0; j < n; j++)
        CHECK(rec_dataset_item_id(train, acts[k - (int64_t)n + (int64_t)j].i, &hist[j]));
    free(acts);
    if (n == 3) {
        printf("\nnext items for a history given at call time (user %s's last three):\n", uid);
        next_items(m, hist, 3);
        for (int j = 0; j < 3; j++)
            rev[j] = hist[2 - j];
        printf("the same items in reverse order:\n");
        next_items(m, rev, 3);
        int64_t trows;
        CHECK(rec_dataset_num_interactions(test, &trows));
        for (int64_t r = 0; r < trows; r++) { /* what user 0 really did next */
            int32_t u, i;
            const char *id;
            CHECK(rec_dataset_row(test, r, &u, &i, NULL, NULL));
            if (u == 0) {
                CHECK(rec_dataset_item_id(test, i, &id));
                printf("user %s's held-out next item: %s\n", uid, label(id));
                break;
            }
        }
    }
    rec_model_destroy(pop);
    rec_model_destroy(m);
    rec_dataset_destroy(train);
    rec_dataset_destroy(test);
    if (all != ordered)
        rec_dataset_destroy(all);
    rec_dataset_destroy(ordered);
    return 0;
}
