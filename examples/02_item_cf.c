/* Learning path 2: item-based collaborative filtering.
 *
 * "Users who liked this also liked..."  Items are similar when the same
 * users rated them alike; a user's score for an item is built from the
 * user's own items among its neighbours, so every recommendation comes with
 * its reasons.  For top-N lists the model is fitted on implicit feedback
 * (who interacted with what, ratings dropped: cosine similarity, scores are
 * sums of similarities).  We print the neighbours of a few popular items,
 * explain a user's recommendations, and measure hit@10 and ndcg@10 on each
 * user's last interaction against the popularity baseline and against the
 * same model fitted to predict ratings.
 *
 * usage: 02_item_cf [ratings-file]   (no argument: a generated dataset) */
#include <librec/librec.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(call)                                                                     \
    do {                                                                                \
        rec_status st_ = (call);                                                        \
        if (st_ != REC_OK) {                                                            \
            fprintf(stderr, "02_item_cf: %s: %s\n", rec_strerror(st_), rec_last_error()); \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

static const rec_dataset *g_data; /* for titles */
static int g_title = -1;          /* index of the item field "title", -1 if none */

/* "title [id]" when the dataset has titles (they need not be unique), else
 * the id.  Returns one of a few rotating buffers, so a printf may use two. */
static const char *label(const char *item)
{
    static char buf[4][160];
    static int next;
    int32_t i;
    const char *text;
    if (g_title < 0 || rec_dataset_item_index(g_data, item, &i) != REC_OK ||
        rec_dataset_feature_text(g_data, REC_SIDE_ITEM, g_title, i, &text) != REC_OK ||
        !*text)
        return item;
    char *b = buf[next++ % 4];
    snprintf(b, sizeof buf[0], "%s [%s]", text, item);
    return b;
}

/* The same rows without their ratings (timestamps kept). */
static rec_dataset *implicit_copy(const rec_dataset *d)
{
    rec_dataset *out;
    int64_t nr;
    CHECK(rec_dataset_create(&out));
    CHECK(rec_dataset_num_interactions(d, &nr));
    for (int64_t r = 0; r < nr; r++) {
        int32_t u, i;
        int64_t t;
        const char *uid, *iid;
        CHECK(rec_dataset_row(d, r, &u, &i, NULL, &t));
        CHECK(rec_dataset_user_id(d, u, &uid));
        CHECK(rec_dataset_item_id(d, i, &iid));
        CHECK(rec_dataset_add(out, uid, iid, NAN, t));
    }
    return out;
}

/* setting: "key=value" or NULL */
static rec_model *fit(const char *kind, const rec_dataset *train, const char *setting)
{
    rec_model *m;
    rec_params *p;
    CHECK(rec_params_create(&p));
    if (setting)
        CHECK(rec_params_parse(p, setting));
    CHECK(rec_model_create(&m, kind, p));
    rec_params_destroy(p);
    CHECK(rec_model_fit(m, train, NULL, NULL));
    return m;
}

static void ranking(const char *name, const rec_model *m, const rec_dataset *test)
{
    rec_eval_result *r;
    double hit, ndcg;
    int64_t users;
    CHECK(rec_evaluate(m, test, "full", "hit@10,ndcg@10", 0, &r));
    CHECK(rec_eval_result_get(r, "hit@10", &hit));
    CHECK(rec_eval_result_get(r, "ndcg@10", &ndcg));
    CHECK(rec_eval_result_support(r, &users, NULL, NULL));
    printf("  %-42s hit@10 %.4f  ndcg@10 %.4f  (%lld users)\n", name, hit, ndcg,
           (long long)users);
    rec_eval_result_destroy(r);
}

int main(int argc, char **argv)
{
    rec_dataset *all, *train, *test;
    if (argc > 1)
        CHECK(rec_dataset_load(&all, argv[1], "auto", NULL));
    else
        CHECK(rec_dataset_generate(&all, NULL));
    int32_t nu, ni;
    int64_t nr;
    CHECK(rec_dataset_num_users(all, &nu));
    CHECK(rec_dataset_num_items(all, &ni));
    CHECK(rec_dataset_num_interactions(all, &nr));
    printf("== data: %s\n%d users, %d items, %lld interactions\n",
           argc > 1 ? argv[1] : "generated (rec_dataset_generate defaults)", nu, ni,
           (long long)nr);
    g_data = all;
    if (rec_dataset_field_index(all, REC_SIDE_ITEM, "title", &g_title) != REC_OK)
        g_title = -1; /* no titles: print ids */
    /* Each user's last interaction (by timestamp) is the test; both copies
     * have the same rows in the same order, so they split alike. */
    rec_dataset *imp = implicit_copy(all), *itrain, *itest;
    CHECK(rec_dataset_split(all, "last:1", 0, 0, &train, &test));
    CHECK(rec_dataset_split(imp, "last:1", 0, 0, &itrain, &itest));

    rec_model *m = fit("itemcf", itrain, NULL);

    /* The three most rated training items, found by counting rows. */
    int64_t ntrain;
    CHECK(rec_dataset_num_interactions(train, &ntrain));
    int64_t *count = calloc((size_t)ni, sizeof *count);
    if (!count)
        return 1;
    for (int64_t r = 0; r < ntrain; r++) {
        int32_t i;
        CHECK(rec_dataset_row(train, r, NULL, &i, NULL, NULL));
        count[i]++;
    }
    printf("\n== items similar to the three most rated ones\n");
    for (int t = 0; t < 3; t++) {
        int32_t best = 0;
        for (int32_t i = 1; i < ni; i++)
            if (count[i] > count[best])
                best = i;
        count[best] = -1;
        const char *id, *sim[5];
        float s[5];
        size_t n;
        CHECK(rec_dataset_item_id(all, best, &id));
        CHECK(rec_model_similar(m, id, 5, sim, s, &n));
        printf("%s:\n", label(id));
        for (size_t j = 0; j < n; j++)
            printf("    %.3f  %s\n", s[j], label(sim[j]));
    }
    free(count);

    const char *me, *items[5], *why[3];
    float scores[5], w[3];
    size_t n, nw;
    CHECK(rec_dataset_user_id(train, 0, &me));
    printf("\n== top-5 for user %s, each explained by the user's own items\n", me);
    CHECK(rec_model_recommend(m, me, 5, 0, items, scores, &n));
    for (size_t j = 0; j < n; j++) {
        printf("  %.3f  %s\n", scores[j], label(items[j]));
        CHECK(rec_model_explain(m, me, items[j], 3, why, w, &nw));
        for (size_t q = 0; q < nw; q++)
            printf("          %+.3f  you had %s\n", w[q], label(why[q]));
    }

    printf("\n== next-item test: each user's last interaction, full ranking\n");
    /* Ranking by the predicted rating is what the lesson is about: rare items
     * rated 5 by one neighbour float to the top.  The default ranking=sum
     * (the classic top-N sum of similarities) is the third line. */
    rec_model *pop = fit("popularity", train, NULL);
    rec_model *rated = fit("itemcf", train, "ranking=prediction");
    ranking("popularity", pop, test);
    ranking("itemcf, ranked by predicted rating (msd, baseline)", rated, test);
    ranking("itemcf, implicit (cosine)", m, itest);
    rec_model_destroy(pop);
    rec_model_destroy(rated);
    rec_model_destroy(m);
    rec_dataset_destroy(train);
    rec_dataset_destroy(test);
    rec_dataset_destroy(itrain);
    rec_dataset_destroy(itest);
    rec_dataset_destroy(imp);
    rec_dataset_destroy(all);
    return 0;
}
