/* Learning path 12: GraphSAGE, embedding items that were not there at fit.
 *
 * GraphSAGE (Hamilton et al., 2017) learns a function, not a table: a
 * node's vector is computed from its own inputs (here: an ID embedding
 * when it had training edges, plus its feature fields, e.g. genres) and an
 * aggregate (mean, or max-pool) of a sample of its neighbours' vectors,
 * concatenated, through a weight matrix, and scaled to unit length.  A
 * node without a trained ID row still gets a vector: from its features,
 * and from whatever edges it has.
 *
 * The question: can it rank items no one interacted with at fit?  We take
 * one item in ten out of the training graph entirely (their interactions
 * removed, their genres kept), fit, and for every test user rank only
 * those cold items: Recall@10 among the cold items, against chance and
 * against the same model without features (a cold item then has nothing).
 * Then the usual full-catalogue quality of both aggregators.
 *
 * usage: 12_graphsage [ratings-file [epochs]]
 *   no argument: the generated dataset. */
#include <librec/librec.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(call)                                                                       \
    do {                                                                                  \
        rec_status st_ = (call);                                                          \
        if (st_ != REC_OK) {                                                              \
            fprintf(stderr, "12_graphsage: %s: %s\n", rec_strerror(st_), rec_last_error()); \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

static rec_model *fit(const char *kind, const char *const *kv, int n, const rec_dataset *train)
{
    rec_params *p;
    rec_model *m;
    CHECK(rec_params_create(&p));
    for (int k = 0; k < n; k++)
        CHECK(rec_params_parse(p, kv[k]));
    CHECK(rec_model_create(&m, kind, p));
    rec_params_destroy(p);
    CHECK(rec_model_fit(m, train, NULL, NULL));
    return m;
}

static int is_cold(int32_t i) { return i % 10 == 5; }

/* train without the cold items' rows, every item's categorical and
 * multi-hot fields kept (cold items exist through them alone). */
static rec_dataset *without_cold(const rec_dataset *train, const rec_dataset *all)
{
    rec_dataset *d;
    int64_t n;
    CHECK(rec_dataset_create(&d));
    CHECK(rec_dataset_num_interactions(train, &n));
    for (int64_t r = 0; r < n; r++) {
        int32_t u, i;
        double rt;
        int64_t t;
        const char *us, *is;
        CHECK(rec_dataset_row(train, r, &u, &i, &rt, &t));
        CHECK(rec_dataset_item_id(train, i, &is));
        int32_t ia;
        CHECK(rec_dataset_item_index(all, is, &ia));
        if (is_cold(ia))
            continue;
        CHECK(rec_dataset_user_id(train, u, &us));
        CHECK(rec_dataset_add(d, us, is, rt, t));
    }
    int nf;
    int32_t ni;
    CHECK(rec_dataset_num_fields(all, REC_SIDE_ITEM, &nf));
    CHECK(rec_dataset_num_items(all, &ni));
    for (int k = 0; k < nf; k++) {
        const char *name;
        rec_feature_type type;
        CHECK(rec_dataset_field_info(all, REC_SIDE_ITEM, k, &name, &type));
        if (type != REC_FEATURE_MULTIHOT && type != REC_FEATURE_CATEGORICAL)
            continue;
        CHECK(rec_dataset_add_field(d, REC_SIDE_ITEM, name, type, NULL));
        for (int32_t i = 0; i < ni; i++) {
            const char *is, *v;
            CHECK(rec_dataset_item_id(all, i, &is));
            const int32_t *codes = NULL;
            int32_t nc = 0, c;
            if (type == REC_FEATURE_MULTIHOT) {
                CHECK(rec_dataset_feature_codes(all, REC_SIDE_ITEM, k, i, &codes, &nc));
            } else {
                CHECK(rec_dataset_feature_code(all, REC_SIDE_ITEM, k, i, &c));
                codes = &c;
                nc = c >= 0;
            }
            for (int32_t j = 0; j < nc; j++) {
                CHECK(rec_dataset_field_value_name(all, REC_SIDE_ITEM, k, codes[j], &v));
                CHECK(rec_dataset_set_feature(d, REC_SIDE_ITEM, name, is, v, 1));
            }
        }
    }
    return d;
}

/* Recall@10 among the cold items, over test users with a cold test item. */
static double cold_recall(const rec_model *m, const rec_dataset *test, const rec_dataset *all,
                          int32_t *ncold_out)
{
    int32_t nu, ni;
    int64_t n;
    CHECK(rec_dataset_num_users(test, &nu));
    CHECK(rec_dataset_num_items(all, &ni));
    CHECK(rec_dataset_num_interactions(test, &n));
    int32_t *cold = malloc(sizeof *cold * (size_t)ni), nc = 0;
    float *sc = malloc(sizeof *sc * (size_t)ni);
    char *rel = calloc((size_t)ni, 1);
    for (int32_t i = 0; i < ni; i++)
        if (is_cold(i))
            cold[nc++] = i;
    double sum = 0;
    int users = 0;
    for (int32_t u = 0; u < nu; u++) {
        const char *us;
        CHECK(rec_dataset_user_id(test, u, &us));
        int nrel = 0;
        memset(rel, 0, (size_t)ni);
        for (int64_t r = 0; r < n; r++) { /* the user's cold test items */
            int32_t ru, ri, ia;
            const char *is;
            CHECK(rec_dataset_row(test, r, &ru, &ri, NULL, NULL));
            if (ru != u)
                continue;
            CHECK(rec_dataset_item_id(test, ri, &is));
            CHECK(rec_dataset_item_index(all, is, &ia));
            if (is_cold(ia) && !rel[ia]) {
                rel[ia] = 1;
                nrel++;
            }
        }
        if (!nrel)
            continue;
        for (int32_t k = 0; k < nc; k++) {
            const char *is;
            CHECK(rec_dataset_item_id(all, cold[k], &is));
            if (rec_model_score(m, us, is, &sc[k]) != REC_OK)
                sc[k] = -INFINITY;
        }
        int hits = 0;
        for (int32_t k = 0; k < nc; k++) { /* in the top 10 when fewer than 10 score higher */
            int above = 0;
            for (int32_t j = 0; j < nc; j++)
                above += sc[j] > sc[k] || (sc[j] == sc[k] && j < k);
            hits += above < 10 && rel[cold[k]];
        }
        sum += (double)hits / (nrel < 10 ? nrel : 10);
        users++;
    }
    *ncold_out = nc;
    free(cold);
    free(sc);
    free(rel);
    return users ? sum / users : 0;
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
    rec_dataset *warm = without_cold(train, d);
    int64_t rows;
    CHECK(rec_dataset_num_interactions(warm, &rows));
    printf("%s: one item in ten held out of training entirely; %lld training pairs left\n\n",
           argc > 1 ? argv[1] : "generated data", (long long)rows);

    printf("1. ranking the cold items only (Recall@10 among them)\n");
    int32_t nc;
    rec_model *m = fit("graphsage", (const char *const[]){ ep }, 1, warm);
    double with = cold_recall(m, test, d, &nc);
    rec_model *m0 = fit("graphsage", (const char *const[]){ ep, "features=false" }, 2, warm);
    double without = cold_recall(m0, test, d, &nc);
    printf("  chance (10 of %d cold items)            %.4f\n", (int)nc, 10.0 / nc);
    printf("  graphsage without features              %.4f\n", without);
    printf("  graphsage, ids + features (defaults)    %.4f\n", with);

    printf("\n2. the whole catalogue, trained on every item (Recall@20 / NDCG@20)\n");
    const char *aggs[2] = { "aggregator=mean", "aggregator=pool" };
    for (int k = 0; k < 2; k++) {
        rec_model *f = fit("graphsage", (const char *const[]){ ep, aggs[k] }, 2, train);
        rec_eval_result *r;
        double rc, nd;
        CHECK(rec_evaluate(f, test, "full", "recall@20,ndcg@20", 0, &r));
        CHECK(rec_eval_result_get(r, "recall@20", &rc));
        CHECK(rec_eval_result_get(r, "ndcg@20", &nd));
        rec_eval_result_destroy(r);
        printf("  graphsage, %-28s %.4f    %.4f\n", aggs[k], rc, nd);
        rec_model_destroy(f);
    }
    rec_model_destroy(m);
    rec_model_destroy(m0);
    rec_dataset_destroy(warm);
    rec_dataset_destroy(train);
    rec_dataset_destroy(test);
    rec_dataset_destroy(d);
    return 0;
}
