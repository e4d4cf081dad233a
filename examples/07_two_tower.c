/* Learning path 7: two-tower retrieval.
 *
 * One network turns a user into a vector, another turns an item into a
 * vector, and the score is their dot product.  Each tower concatenates
 * embeddings of its features (the id, the genres, the tags, the user's
 * history...), passes them through a small MLP and normalises the result to
 * unit length.  Because the item side depends on the item alone, every item
 * vector is computed once after training and kept in a flat index: serving
 * a user is one vector and one index search, and an item nobody has rated
 * yet gets a vector from its features alone (cold start).
 *
 * We hold out each user's last item and rank the whole catalogue
 * (Recall@10, NDCG@10):
 *   1. features: id only, then adding genres (item genres, and the genre
 *      mix of the user's history), then every item field, then no ids;
 *   2. losses: softmax over the other items of the batch (InfoNCE), the
 *      same with the log-Q correction (popular items appear in many batches
 *      as negatives, so plain InfoNCE pushes them down; subtracting the log
 *      of their batch frequency undoes that), binary cross-entropy against
 *      hard (the user's current top unseen items) and random negatives, and
 *      a mix of InfoNCE and BCE;
 *   3. retrieval through the index: a user's top items, a history given at
 *      call time, and a cold item's neighbours.
 *
 * usage: 07_two_tower [ratings-file [epochs]]
 *   no argument: the generated dataset (item genres, year, length; user
 *   region and age) plus one new item with item 0's genres and no
 *   interactions.  With MovieLens ratings.csv the sibling movies.csv and
 *   tags.csv give genres, tags and year, and catalog=all keeps the movies
 *   nobody rated: they are the cold items. */
#include <librec/librec.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "progress.h"

#define CHECK(call)                                                                       \
    do {                                                                                  \
        rec_status st_ = (call);                                                          \
        if (st_ != REC_OK) {                                                              \
            fprintf(stderr, "07_two_tower: %s: %s\n", rec_strerror(st_), rec_last_error()); \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

static const rec_dataset *g_data;
static int g_title = -1, g_genres = -1;

/* "title [genre|genre]" when the fields exist, else the id. */
static const char *label(const char *id)
{
    static char buf[160];
    int32_t i;
    const char *text = "";
    if (rec_dataset_item_index(g_data, id, &i) != REC_OK)
        return id;
    if (g_title >= 0)
        CHECK(rec_dataset_feature_text(g_data, REC_SIDE_ITEM, g_title, i, &text));
    int len = *text ? snprintf(buf, sizeof buf, "%.60s (%s) [", text, id)
                    : snprintf(buf, sizeof buf, "%s [", id);
    const int32_t *codes;
    int32_t n = 0;
    if (g_genres >= 0)
        CHECK(rec_dataset_feature_codes(g_data, REC_SIDE_ITEM, g_genres, i, &codes, &n));
    for (int32_t j = 0; j < n && len > 0 && (size_t)len < sizeof buf - 2; j++) {
        const char *g;
        CHECK(rec_dataset_field_value_name(g_data, REC_SIDE_ITEM, g_genres, codes[j], &g));
        len += snprintf(buf + len, sizeof buf - (size_t)len, "%s%s", j ? "|" : "", g);
    }
    if (len > 0 && (size_t)len < sizeof buf - 1)
        snprintf(buf + len, sizeof buf - (size_t)len, "]");
    return buf;
}

static int has_item_field(const char *name, rec_feature_type want)
{
    int k;
    rec_feature_type t;
    if (rec_dataset_field_index(g_data, REC_SIDE_ITEM, name, &k) != REC_OK)
        return 0;
    CHECK(rec_dataset_field_info(g_data, REC_SIDE_ITEM, k, NULL, &t));
    return t == want;
}

/* Fits a two-tower with extra "key=value" settings, prints its scores. */
static rec_model *run(const char *what, const char *ufeat, const char *ifeat, const char *loss,
                      int epochs, const rec_dataset *train, const rec_dataset *test)
{
    rec_params *p;
    rec_model *m;
    CHECK(rec_params_create(&p));
    CHECK(rec_params_set_str(p, "user_features", ufeat));
    CHECK(rec_params_set_str(p, "item_features", ifeat));
    CHECK(rec_params_set_str(p, "loss", loss));
    CHECK(rec_params_set_int(p, "epochs", epochs));
    CHECK(rec_model_create(&m, "twotower", p));
    rec_params_destroy(p);
    CHECK(rec_model_fit(m, train, show_progress, (void *)what));
    rec_eval_result *r;
    double rc, nd;
    CHECK(rec_evaluate(m, test, "full", "recall@10,ndcg@10", 0, &r));
    CHECK(rec_eval_result_get(r, "recall@10", &rc));
    CHECK(rec_eval_result_get(r, "ndcg@10", &nd));
    rec_eval_result_destroy(r);
    printf("  %-34s %-14s %-28s %-13s %.4f   %.4f\n", what, ufeat, ifeat, loss, rc, nd);
    fflush(stdout); /* each line as it comes: a fit takes seconds on real data */
    return m;
}

static void show(const char *title, const char **items, const float *scores, size_t n)
{
    printf("%s\n", title);
    for (size_t k = 0; k < n; k++)
        printf("    %6.3f  %s\n", scores[k], label(items[k]));
}

int main(int argc, char **argv)
{
    rec_dataset *d, *train, *test;
    int epochs = argc > 2 ? atoi(argv[2]) : 20;
    if (argc > 1) {
        rec_params *o;
        CHECK(rec_params_create(&o));
        CHECK(rec_params_set_str(o, "catalog", "all"));
        CHECK(rec_dataset_load(&d, argv[1], NULL, o));
        rec_params_destroy(o);
    } else {
        CHECK(rec_dataset_generate(&d, NULL));
        /* a new release nobody has taken yet, with the genres of item 0 */
        const int32_t *codes;
        int32_t nc;
        int gk;
        CHECK(rec_dataset_field_index(d, REC_SIDE_ITEM, "genres", &gk));
        CHECK(rec_dataset_feature_codes(d, REC_SIDE_ITEM, gk, 0, &codes, &nc));
        for (int32_t j = 0; j < nc; j++) {
            const char *g;
            CHECK(rec_dataset_field_value_name(d, REC_SIDE_ITEM, gk, codes[j], &g));
            CHECK(rec_dataset_set_feature(d, REC_SIDE_ITEM, "genres", "new-release", g, 1));
        }
        CHECK(rec_dataset_set_feature(d, REC_SIDE_ITEM, "title", "new-release",
                                      "A New Release", 0));
    }
    g_data = d;
    rec_dataset_field_index(d, REC_SIDE_ITEM, "title", &g_title);
    rec_dataset_field_index(d, REC_SIDE_ITEM, "genres", &g_genres);
    CHECK(rec_dataset_split(d, "last:1", 0, 0, &train, &test));
    int32_t nu, ni;
    int64_t nr;
    CHECK(rec_dataset_num_users(d, &nu));
    CHECK(rec_dataset_num_items(d, &ni));
    CHECK(rec_dataset_num_interactions(train, &nr));
    printf("%d users, %d items, %lld training interactions; last item of each user held "
           "out, whole catalogue ranked, %d epochs\n\n", nu, ni, (long long)nr, epochs);

    /* Feature sets from the fields this dataset has. */
    int genres = has_item_field("genres", REC_FEATURE_MULTIHOT);
    int tags = has_item_field("tags", REC_FEATURE_MULTIHOT);
    char all_items[128] = "id", no_id[128] = "";
    const char *fields[] = { "genres", "tags", "year", "length" };
    for (size_t k = 0; k < sizeof fields / sizeof *fields; k++) {
        int idx;
        if (rec_dataset_field_index(d, REC_SIDE_ITEM, fields[k], &idx) != REC_OK)
            continue;
        strcat(all_items, ",");
        strcat(all_items, fields[k]);
        strcat(no_id, *no_id ? "," : "");
        strcat(no_id, fields[k]);
    }
    const char *ug = genres ? "id,genres_hist" : "id";

    rec_model *pop;
    rec_eval_result *r;
    double prc, pnd;
    CHECK(rec_model_create(&pop, "popularity", NULL));
    CHECK(rec_model_fit(pop, train, NULL, NULL));
    CHECK(rec_evaluate(pop, test, "full", "recall@10,ndcg@10", 0, &r));
    CHECK(rec_eval_result_get(r, "recall@10", &prc));
    CHECK(rec_eval_result_get(r, "ndcg@10", &pnd));
    rec_eval_result_destroy(r);
    rec_model_destroy(pop);

    printf("1. Features (loss: in-batch InfoNCE with log-Q correction, the default)\n");
    printf("  %-34s %-14s %-28s %-13s %-8s %s\n", "", "user tower", "item tower", "loss",
           "Recall@10", "NDCG@10");
    printf("  %-34s %-14s %-28s %-13s %.4f   %.4f\n", "most popular (for scale)", "", "", "",
           prc, pnd);
    rec_model *m;
    m = run("ids only", "id", "id", "infonce_logq", epochs, train, test);
    rec_model_destroy(m);
    if (genres) {
        m = run("+ genres", ug, "id,genres", "infonce_logq", epochs, train, test);
        rec_model_destroy(m);
    }
    m = run("+ every item field", ug, all_items, "infonce_logq", epochs, train, test);
    rec_model_destroy(m);
    if (*no_id && genres) {
        m = run("features only (no ids)", "genres_hist", no_id, "infonce_logq", epochs, train, test);
        rec_model_destroy(m);
    }
    if (tags) {
        m = run("W2's set", ug, "id,genres,tags", "infonce_logq", epochs, train, test);
        rec_model_destroy(m);
    }

    printf("\n2. Losses (features: %s | %s)\n", ug, all_items);
    const char *losses[] = { "infonce", "infonce_logq", "bce", "mix" };
    rec_model *best = NULL;
    for (size_t k = 0; k < 4; k++) {
        m = run(k == 2 ? "BCE, 2 hard + 4 random negatives" : k == 3 ? "0.5 InfoNCE + 0.5 BCE"
                : k == 1 ? "InfoNCE with log-Q correction" : "InfoNCE",
                ug, all_items, losses[k], epochs, train, test);
        if (k == 1)
            best = m;
        else
            rec_model_destroy(m);
    }
    printf("\n  (InfoNCE alone treats every other item of the batch as a negative: popular\n"
           "   items are negatives most often, so they sink; log-Q gives them back.)\n");

    printf("\n3. Retrieval through the index (the log-Q model)\n");
    const char *user, *items[5];
    float scores[5];
    size_t n;
    CHECK(rec_dataset_user_id(d, 0, &user));
    CHECK(rec_model_recommend(best, user, 5, 0, items, scores, &n));
    char title[128];
    snprintf(title, sizeof title, "  user %s, top 5 unseen items:", user);
    show(title, items, scores, n);

    /* an anonymous user: the user tower over a history given now */
    const char *hist[3];
    for (int k = 0; k < 3; k++)
        CHECK(rec_dataset_item_id(d, k, &hist[k]));
    printf("  a new user who took:\n");
    for (int k = 0; k < 3; k++)
        printf("           %s\n", label(hist[k]));
    CHECK(rec_model_recommend_history(best, hist, NULL, 3, 5, 0, items, scores, &n));
    show("  gets:", items, scores, n);

    /* a cold item: never in training, its vector from its features alone */
    int32_t cold = -1;
    char *rated = calloc((size_t)ni, 1);
    if (!rated)
        return 1;
    for (int64_t row = 0; row < nr; row++) {
        int32_t it;
        CHECK(rec_dataset_row(train, row, NULL, &it, NULL, NULL));
        rated[it] = 1;
    }
    for (int32_t i = ni - 1; i >= 0 && cold < 0; i--) {
        const int32_t *codes;
        int32_t nc = 0;
        if (!rated[i] && g_genres >= 0)
            CHECK(rec_dataset_feature_codes(d, REC_SIDE_ITEM, g_genres, i, &codes, &nc));
        if (!rated[i] && nc > 0)
            cold = i;
    }
    free(rated);
    if (cold >= 0) {
        const char *id;
        CHECK(rec_dataset_item_id(d, cold, &id));
        printf("  cold item (no training interaction): %s\n", label(id));
        CHECK(rec_model_similar(best, id, 5, items, scores, &n));
        show("  its nearest items, by features alone:", items, scores, n);
    } else {
        printf("  (every item has training interactions: give a MovieLens ratings.csv to see\n"
               "   cold items, which catalog=all keeps)\n");
    }
    rec_model_destroy(best);
    rec_dataset_destroy(train);
    rec_dataset_destroy(test);
    rec_dataset_destroy(d);
    return 0;
}
