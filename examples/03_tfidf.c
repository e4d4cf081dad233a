/* Learning path 3: content-based recommendation with TF-IDF.
 *
 * An item is a document: the words of its text fields (title, description)
 * and the values of its multi-hot fields (genres, tags).  Words are weighted
 * by (1 + ln tf) * idf, so a word that every item has counts for little;
 * items are similar when their weighted vectors point the same way, and a
 * user is the sum of the items they chose.  Because nothing here needs other
 * users' behaviour, an item nobody has rated still gets neighbours.
 *
 * usage: 03_tfidf [ratings-file]   (no argument: a generated dataset)
 * With a MovieLens ratings.csv, movies.csv and tags.csv next to it are read,
 * and catalog=all keeps the movies that nobody rated. */
#include <librec/librec.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call)                                                                   \
    do {                                                                              \
        rec_status st_ = (call);                                                      \
        if (st_ != REC_OK) {                                                          \
            fprintf(stderr, "03_tfidf: %s: %s\n", rec_strerror(st_), rec_last_error()); \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

/* Prints item i's text and multi-hot fields, each cut to a line. */
static void describe(const rec_dataset *d, int32_t i)
{
    int nf;
    CHECK(rec_dataset_num_fields(d, REC_SIDE_ITEM, &nf));
    for (int k = 0; k < nf; k++) {
        const char *name;
        rec_feature_type type;
        char line[120];
        size_t len = 0;
        line[0] = 0;
        CHECK(rec_dataset_field_info(d, REC_SIDE_ITEM, k, &name, &type));
        if (type == REC_FEATURE_TEXT) {
            const char *text;
            CHECK(rec_dataset_feature_text(d, REC_SIDE_ITEM, k, i, &text));
            snprintf(line, sizeof line, "%s", text);
        } else if (type == REC_FEATURE_MULTIHOT) {
            const int32_t *codes;
            int32_t n;
            CHECK(rec_dataset_feature_codes(d, REC_SIDE_ITEM, k, i, &codes, &n));
            for (int32_t j = 0; j < n && len < sizeof line - 1; j++) {
                const char *v;
                CHECK(rec_dataset_field_value_name(d, REC_SIDE_ITEM, k, codes[j], &v));
                int w = snprintf(line + len, sizeof line - len, "%s%s", j ? "|" : "", v);
                len += w > 0 ? (size_t)w : 0;
            }
        } else {
            continue;
        }
        printf("    %-12s %s\n", name, line);
    }
}

static void similar(const rec_model *m, const rec_dataset *d, int title, const char *item)
{
    const char *ids[5];
    float s[5];
    size_t n;
    CHECK(rec_model_similar(m, item, 5, ids, s, &n));
    for (size_t j = 0; j < n; j++) {
        int32_t i;
        const char *text = "";
        CHECK(rec_dataset_item_index(d, ids[j], &i));
        if (title >= 0)
            CHECK(rec_dataset_feature_text(d, REC_SIDE_ITEM, title, i, &text));
        printf("    %.3f  [%s] %s\n", s[j], ids[j], text);
    }
}

/* Adds item "new-1", a sequel of item i that nobody has rated: its text
 * fields copied with " Returns" after the title, its multi-hot values too. */
static void add_sequel(rec_dataset *d, int32_t i)
{
    int nf;
    CHECK(rec_dataset_num_fields(d, REC_SIDE_ITEM, &nf));
    for (int k = 0; k < nf; k++) {
        const char *name, *text;
        rec_feature_type type;
        char buf[512];
        CHECK(rec_dataset_field_info(d, REC_SIDE_ITEM, k, &name, &type));
        if (type == REC_FEATURE_TEXT) {
            CHECK(rec_dataset_feature_text(d, REC_SIDE_ITEM, k, i, &text));
            snprintf(buf, sizeof buf, "%s", text);
            CHECK(rec_dataset_set_feature(d, REC_SIDE_ITEM, name, "new-1", buf, 1));
            if (!strcmp(name, "title"))
                CHECK(rec_dataset_set_feature(d, REC_SIDE_ITEM, name, "new-1", "Returns", 1));
        } else if (type == REC_FEATURE_MULTIHOT) {
            const int32_t *codes;
            int32_t n;
            CHECK(rec_dataset_feature_codes(d, REC_SIDE_ITEM, k, i, &codes, &n));
            for (int32_t j = 0; j < n; j++) {
                CHECK(rec_dataset_field_value_name(d, REC_SIDE_ITEM, k, codes[j], &text));
                snprintf(buf, sizeof buf, "%s", text);
                CHECK(rec_dataset_set_feature(d, REC_SIDE_ITEM, name, "new-1", buf, 1));
            }
        }
    }
}

static rec_model *fit(const char *kind, const rec_dataset *train)
{
    rec_model *m;
    CHECK(rec_model_create(&m, kind, NULL));
    CHECK(rec_model_fit(m, train, NULL, NULL));
    return m;
}

static void ranking(const char *name, const rec_model *m, const rec_dataset *test)
{
    rec_eval_result *r;
    double hit, ndcg;
    CHECK(rec_evaluate(m, test, "full", "hit@10,ndcg@10", 0, &r));
    CHECK(rec_eval_result_get(r, "hit@10", &hit));
    CHECK(rec_eval_result_get(r, "ndcg@10", &ndcg));
    printf("  %-11s hit@10 %.4f  ndcg@10 %.4f\n", name, hit, ndcg);
    rec_eval_result_destroy(r);
}

int main(int argc, char **argv)
{
    rec_dataset *all, *train, *test;
    if (argc > 1) {
        rec_params *opts;
        CHECK(rec_params_create(&opts));
        CHECK(rec_params_set_str(opts, "catalog", "all"));
        CHECK(rec_dataset_load(&all, argv[1], "auto", opts));
        rec_params_destroy(opts);
    } else {
        CHECK(rec_dataset_generate(&all, NULL));
    }
    int32_t nu, ni;
    int64_t nr;
    int nf, title;
    CHECK(rec_dataset_num_users(all, &nu));
    CHECK(rec_dataset_num_items(all, &ni));
    CHECK(rec_dataset_num_interactions(all, &nr));
    printf("== data: %s\n%d users, %d items, %lld interactions\nitem fields:",
           argc > 1 ? argv[1] : "generated (rec_dataset_generate defaults)", nu, ni,
           (long long)nr);
    CHECK(rec_dataset_num_fields(all, REC_SIDE_ITEM, &nf));
    for (int k = 0; k < nf; k++) {
        const char *name;
        rec_feature_type type;
        CHECK(rec_dataset_field_info(all, REC_SIDE_ITEM, k, &name, &type));
        printf(" %s (%s)", name, type == REC_FEATURE_TEXT       ? "text"
                                 : type == REC_FEATURE_MULTIHOT ? "multi-hot"
                                                                : "not read by tfidf");
    }
    printf("\n");
    if (rec_dataset_field_index(all, REC_SIDE_ITEM, "title", &title) != REC_OK)
        title = -1;

    /* Rows per item: the most rated item, and a cold one that nobody rated.
     * When every item has ratings (the generated data), a new item arrives
     * with text only: a sequel of the most rated one. */
    int64_t *count = calloc((size_t)ni + 1, sizeof *count);
    if (!count)
        return 1;
    for (int64_t r = 0; r < nr; r++) {
        int32_t i;
        CHECK(rec_dataset_row(all, r, NULL, &i, NULL, NULL));
        count[i]++;
    }
    int32_t top = 0, cold = -1;
    for (int32_t i = 0; i < ni; i++) {
        if (count[i] > count[top])
            top = i;
        if (count[i] == 0 && cold < 0)
            cold = i;
    }
    if (cold < 0) {
        add_sequel(all, top);
        CHECK(rec_dataset_item_index(all, "new-1", &cold));
    }
    free(count);
    CHECK(rec_dataset_split(all, "last:1", 0, 0, &train, &test));

    rec_model *m = fit("tfidf", train);
    const char *id;
    CHECK(rec_dataset_item_id(all, top, &id));
    printf("\n== the most rated item, %s, as a document\n", id);
    describe(all, top);
    printf("  most similar by text:\n");
    similar(m, all, title, id);

    CHECK(rec_dataset_item_id(all, cold, &id));
    printf("\n== a cold item, %s: nobody rated it\n", id);
    describe(all, cold);
    printf("  it still has neighbours by text:\n");
    similar(m, all, title, id);

    const char *me, *items[5], *why[5];
    float scores[5], w[5];
    size_t n, nw;
    CHECK(rec_dataset_user_id(train, 0, &me));
    printf("\n== top-5 for user %s, with the terms the item shares with the user's profile\n",
           me);
    CHECK(rec_model_recommend(m, me, 5, 0, items, scores, &n));
    for (size_t j = 0; j < n; j++) {
        int32_t i;
        const char *text = "";
        CHECK(rec_dataset_item_index(all, items[j], &i));
        if (title >= 0)
            CHECK(rec_dataset_feature_text(all, REC_SIDE_ITEM, title, i, &text));
        printf("  %.3f  [%s] %s\n         terms:", scores[j], items[j], text);
        CHECK(rec_model_explain(m, me, items[j], 5, why, w, &nw));
        for (size_t q = 0; q < nw; q++)
            printf(" %s (%.2f)", why[q], w[q]);
        printf("\n");
    }

    printf("\n== next-item test: each user's last interaction, full ranking\n");
    rec_model *pop = fit("popularity", train);
    ranking("popularity", pop, test);
    ranking("tfidf", m, test);
    rec_model_destroy(pop);
    rec_model_destroy(m);
    rec_dataset_destroy(train);
    rec_dataset_destroy(test);
    rec_dataset_destroy(all);
    return 0;
}
