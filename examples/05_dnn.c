/* Learning path 5: a deep network over features, built up one kind of
 * feature at a time.
 *
 * Each (user, item) pair becomes a list of fields: the user's and the item's
 * IDs, their categorical values (a region, a genre set), their numbers (an
 * age, a year).  Every field is turned into a short vector (an embedding row,
 * the mean of the rows of a set, or a learned vector scaled by the number);
 * the vectors are concatenated and an MLP maps them to the probability that
 * the user interacts with the item.  Training shows it each interaction as a
 * positive and a few random items the user never touched as negatives.
 *
 * The walkthrough adds one thing per row and measures it on each user's last
 * interaction (AUC over all unseen items, hit@10, ndcg@10):
 *   1. IDs only: matrix factorisation learned by an MLP
 *   2. + categorical and multi-hot fields: items share what their genres share
 *   3. + numeric fields as they are: ages of 20..70 next to values near 0
 *   4. + the same numbers z-scored (the model's default): one scale for all
 *   5. + a wide linear part over crosses: user region x item genre (learned
 *      per pair), and a cross the dataset declares, item year-bucket x genre
 *      (rec_dataset_cross) - Wide & Deep
 *   6. + a factorisation-machine term: every pair of field vectors interacts
 *      by a dot product - DeepFM
 * rec_dataset_normalize (minmax, zscore, log1p) changes a numeric field in
 * the dataset itself; the model's z-score is then taken on top of it.
 *
 * usage: 05_dnn [ratings-file]   (no argument: a generated dataset) */
#include <librec/librec.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "progress.h"

#define CHECK(call)                                                                 \
    do {                                                                            \
        rec_status st_ = (call);                                                    \
        if (st_ != REC_OK) {                                                        \
            fprintf(stderr, "05_dnn: %s: %s\n", rec_strerror(st_), rec_last_error()); \
            exit(1);                                                                \
        }                                                                           \
    } while (0)

static const char *type_name(rec_feature_type t)
{
    switch (t) {
    case REC_FEATURE_CATEGORICAL: return "categorical";
    case REC_FEATURE_NUMERIC: return "numeric";
    case REC_FEATURE_MULTIHOT: return "multi-hot";
    default: return "text";
    }
}

/* "id,<fields of the wanted types>" of one side, printing them once. */
static void field_list(const rec_dataset *d, rec_side side, int numeric, char *out, size_t cap)
{
    int n;
    CHECK(rec_dataset_num_fields(d, side, &n));
    snprintf(out, cap, "id");
    for (int k = 0; k < n; k++) {
        const char *name;
        rec_feature_type t;
        CHECK(rec_dataset_field_info(d, side, k, &name, &t));
        int want = t == REC_FEATURE_CATEGORICAL || t == REC_FEATURE_MULTIHOT ||
                   (numeric && t == REC_FEATURE_NUMERIC);
        if (want && !strstr(name, " x ") && strlen(out) + strlen(name) + 2 < cap) {
            strcat(out, ",");
            strcat(out, name);
        }
    }
}

static void describe(const rec_dataset *d)
{
    for (int side = 0; side < 2; side++) {
        int n;
        CHECK(rec_dataset_num_fields(d, (rec_side)side, &n));
        printf("%s fields:", side ? "item" : "user");
        for (int k = 0; k < n; k++) {
            const char *name;
            rec_feature_type t;
            CHECK(rec_dataset_field_info(d, (rec_side)side, k, &name, &t));
            printf(" %s (%s)%s", name, type_name(t), k + 1 < n ? "," : "");
        }
        printf("%s\n", n ? "" : " none");
    }
}

typedef struct row {
    const char *label;
    const char *kind;
    const char *user_features, *item_features;
    const char *normalize;
    int wide, fm;
} row;

static void run(const row *r, const rec_dataset *train, const rec_dataset *test)
{
    rec_params *p;
    rec_model *m;
    CHECK(rec_params_create(&p));
    if (strcmp(r->kind, "dnn") == 0) {
        CHECK(rec_params_set_str(p, "user_features", r->user_features));
        CHECK(rec_params_set_str(p, "item_features", r->item_features));
        CHECK(rec_params_set_str(p, "normalize", r->normalize));
        CHECK(rec_params_set_bool(p, "wide", r->wide));
        CHECK(rec_params_set_bool(p, "fm", r->fm));
    }
    CHECK(rec_model_create(&m, r->kind, p));
    rec_params_destroy(p);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(rec_model_fit(m, train, show_progress, (void *)r->label));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    rec_eval_result *res;
    CHECK(rec_evaluate(m, test, "full", "auc,hit@10,ndcg@10", 1, &res));
    double auc, hit, ndcg;
    CHECK(rec_eval_result_get(res, "auc", &auc));
    CHECK(rec_eval_result_get(res, "hit@10", &hit));
    CHECK(rec_eval_result_get(res, "ndcg@10", &ndcg));
    printf("%-44s %6.4f  %6.4f  %7.4f  %5.1f s\n", r->label, auc, hit, ndcg,
           (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    rec_eval_result_destroy(res);
    rec_model_destroy(m);
}

int main(int argc, char **argv)
{
    rec_dataset *d, *train, *test;
    if (argc > 1)
        CHECK(rec_dataset_load(&d, argv[1], NULL, NULL));
    else
        CHECK(rec_dataset_generate(&d, NULL));
    int32_t nu, ni;
    int64_t nr;
    CHECK(rec_dataset_num_users(d, &nu));
    CHECK(rec_dataset_num_items(d, &ni));
    CHECK(rec_dataset_num_interactions(d, &nr));
    printf("%s: %d users, %d items, %lld interactions\n", argc > 1 ? argv[1] : "generated",
           (int)nu, (int)ni, (long long)nr);
    describe(d);

    /* A declared cross must come before the split (splits share features):
     * a numeric field is cut into equal-frequency buckets first. */
    int k;
    if (rec_dataset_field_index(d, REC_SIDE_ITEM, "year", &k) == REC_OK &&
        rec_dataset_field_index(d, REC_SIDE_ITEM, "genres", &k) == REC_OK) {
        CHECK(rec_dataset_cross(d, REC_SIDE_ITEM, "year", "genres", 5, NULL));
        printf("declared cross: item 'year x genres' (year in 5 buckets)\n");
    }
    CHECK(rec_dataset_split(d, "last:1", 0, 0, &train, &test));

    char ucat[512], icat[512], unum[512], inum[512];
    field_list(d, REC_SIDE_USER, 0, ucat, sizeof ucat);
    field_list(d, REC_SIDE_ITEM, 0, icat, sizeof icat);
    field_list(d, REC_SIDE_USER, 1, unum, sizeof unum);
    field_list(d, REC_SIDE_ITEM, 1, inum, sizeof inum);
    printf("\nuser features: %s\nitem features: %s\n\n", unum, inum);

    const row rows[] = {
        { "popularity (baseline)", "popularity", NULL, NULL, NULL, 0, 0 },
        { "1. IDs only", "dnn", "id", "id", "zscore", 0, 0 },
        { "2. + categorical / multi-hot", "dnn", ucat, icat, "zscore", 0, 0 },
        { "3. + numerics as they are", "dnn", unum, inum, "none", 0, 0 },
        { "4. + numerics z-scored", "dnn", unum, inum, "zscore", 0, 0 },
        { "5. + wide crosses (Wide & Deep)", "dnn", unum, inum, "zscore", 1, 0 },
        { "6. + FM term (DeepFM)", "dnn", unum, inum, "zscore", 0, 1 },
    };
    printf("%-44s %6s  %6s  %7s  %7s\n", "model (last item of each user)", "AUC", "hit@10",
           "ndcg@10", "fit");
    for (size_t r = 0; r < sizeof rows / sizeof *rows; r++)
        run(&rows[r], train, test);
    rec_dataset_destroy(train);
    rec_dataset_destroy(test);
    rec_dataset_destroy(d);
    return 0;
}
