/* The inductive graph kinds (gcn, graphsage) beyond the contract every kind
 * passes in check_kinds.c: the fold-in is the model's own function (a user
 * folded in from its training items gets its trained vector back when
 * users have no inputs of their own), items unseen at fit get vectors from
 * their features, and the keys' errors. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const kinds[][2] = {
    { "gcn", "layers=2" }, { "graphsage", "aggregator=mean" }, { "graphsage", "aggregator=pool" }
};

/* User 0's distinct training items as external ids; returns the count. */
static size_t history_of_user0(const rec_dataset *d, const char **out, size_t cap)
{
    int64_t n;
    size_t h = 0;
    ck_assert_int_eq(rec_dataset_num_interactions(d, &n), REC_OK);
    for (int64_t r = 0; r < n; r++) {
        int32_t u, i;
        ck_assert_int_eq(rec_dataset_row(d, r, &u, &i, NULL, NULL), REC_OK);
        if (u != 0)
            continue;
        const char *id;
        ck_assert_int_eq(rec_dataset_item_id(d, i, &id), REC_OK);
        int dup = 0;
        for (size_t k = 0; k < h; k++)
            dup |= !strcmp(out[k], id);
        if (!dup && h < cap)
            out[h++] = id;
    }
    return h;
}

/* The generated interactions and item genres, without the user fields. */
static rec_dataset *without_user_fields(const rec_dataset *g)
{
    rec_dataset *d;
    int64_t n;
    int32_t ni;
    int k;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    ck_assert_int_eq(rec_dataset_num_interactions(g, &n), REC_OK);
    for (int64_t r = 0; r < n; r++) {
        int32_t u, i;
        const char *us, *is;
        ck_assert_int_eq(rec_dataset_row(g, r, &u, &i, NULL, NULL), REC_OK);
        ck_assert_int_eq(rec_dataset_user_id(g, u, &us), REC_OK);
        ck_assert_int_eq(rec_dataset_item_id(g, i, &is), REC_OK);
        ck_assert_int_eq(rec_dataset_add(d, us, is, NAN, REC_NO_TIME), REC_OK);
    }
    ck_assert_int_eq(rec_dataset_num_items(g, &ni), REC_OK);
    ck_assert_int_eq(rec_dataset_field_index(g, REC_SIDE_ITEM, "genres", &k), REC_OK);
    ck_assert_int_eq(rec_dataset_add_field(d, REC_SIDE_ITEM, "genres", REC_FEATURE_MULTIHOT,
                                           NULL), REC_OK);
    for (int32_t i = 0; i < ni; i++) {
        const int32_t *codes;
        int32_t nc;
        const char *is, *name;
        ck_assert_int_eq(rec_dataset_item_id(g, i, &is), REC_OK);
        ck_assert_int_eq(rec_dataset_feature_codes(g, REC_SIDE_ITEM, k, i, &codes, &nc), 0);
        for (int32_t j = 0; j < nc; j++) {
            ck_assert_int_eq(rec_dataset_field_value_name(g, REC_SIDE_ITEM, k, codes[j], &name),
                             0);
            ck_assert_int_eq(rec_dataset_set_feature(d, REC_SIDE_ITEM, "genres", is, name, 0),
                             REC_OK);
        }
    }
    return d;
}

/* With ids=false a training user's input is zero, as an anonymous user's:
 * folding in its own items must give its scores (inference and fold-in both
 * use every neighbour). */
START_TEST(fold_in_is_the_model_function)
{
    rec_dataset *gen = tu_generate(60, 80, 15), *d = without_user_fields(gen);
    rec_dataset_destroy(gen);
    const char *hist[64], *user;
    size_t nh = history_of_user0(d, hist, 64);
    ck_assert_int_gt(nh, 3);
    ck_assert_int_eq(rec_dataset_user_id(d, 0, &user), REC_OK);
    for (size_t k = 0; k < 3; k++) {
        const char *kv[] = { "ids=false", "epochs=2", "dim=8", "negatives=32", "batch=128",
                             kinds[k][1] };
        rec_model *m = tu_fit(kinds[k][0], d, kv, 6);
        const char *a[10], *b[10];
        float sa[10], sb[10];
        size_t na, nb;
        ck_assert_int_eq(rec_model_recommend(m, user, 10, REC_INCLUDE_SEEN, a, sa, &na), 0);
        ck_assert_int_eq(rec_model_recommend_history(m, hist, NULL, nh, 10, REC_INCLUDE_SEEN,
                                                     b, sb, &nb), 0);
        ck_assert_int_eq(na, 10);
        ck_assert_int_eq(nb, 10);
        for (size_t j = 0; j < 10; j++) {
            ck_assert_str_eq(a[j], b[j]);
            ck_assert_float_eq_tol(sa[j], sb[j], 1e-4f * (1 + fabsf(sa[j])));
        }
        /* not a constant list */
        ck_assert_float_ne(sb[0], sb[9]);
        rec_model_destroy(m);
    }
    rec_dataset_destroy(d);
}
END_TEST

/* Items "new0" and "new1" with the genres of item 0 and no interaction. */
static void add_unseen_items(rec_dataset *d)
{
    const char *id0;
    ck_assert_int_eq(rec_dataset_item_id(d, 0, &id0), REC_OK);
    int k;
    ck_assert_int_eq(rec_dataset_field_index(d, REC_SIDE_ITEM, "genres", &k), REC_OK);
    const int32_t *codes;
    int32_t n;
    ck_assert_int_eq(rec_dataset_feature_codes(d, REC_SIDE_ITEM, k, 0, &codes, &n), REC_OK);
    ck_assert_int_gt(n, 0);
    for (int32_t j = 0; j < n; j++) {
        const char *name;
        ck_assert_int_eq(rec_dataset_field_value_name(d, REC_SIDE_ITEM, k, codes[j], &name), 0);
        ck_assert_int_eq(rec_dataset_set_feature(d, REC_SIDE_ITEM, "genres", "new0", name, 1),
                         REC_OK);
        ck_assert_int_eq(rec_dataset_set_feature(d, REC_SIDE_ITEM, "genres", "new1", name, 1),
                         REC_OK);
    }
}

START_TEST(unseen_items_from_features)
{
    rec_dataset *d = tu_generate(60, 80, 15);
    add_unseen_items(d);
    const char *user;
    ck_assert_int_eq(rec_dataset_user_id(d, 0, &user), REC_OK);
    for (size_t k = 0; k < 3; k++) {
        const char *kv[] = { "epochs=2", "dim=8", "negatives=32", "batch=128", kinds[k][1] };
        rec_model *m = tu_fit(kinds[k][0], d, kv, 5);
        float s0, s1;
        ck_assert_int_eq(rec_model_score(m, user, "new0", &s0), REC_OK);
        ck_assert_int_eq(rec_model_score(m, user, "new1", &s1), REC_OK);
        /* the same inputs, no edges: the same vector, and not a zero one */
        ck_assert_float_eq(s0, s1);
        ck_assert_float_ne(s0, 0.0f);
        const char *sim[1];
        float ss[1];
        size_t ns;
        ck_assert_int_eq(rec_model_similar(m, "new0", 1, sim, ss, &ns), REC_OK);
        ck_assert_str_eq(sim[0], "new1");
        ck_assert_float_eq_tol(ss[0], 1.0f, 1e-5f);
        rec_model_destroy(m);
    }
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(gnn_bad_keys)
{
    rec_dataset *d = tu_generate(30, 40, 10);
    const char *kinds2[] = { "gcn", "graphsage" };
    for (int k = 0; k < 2; k++) {
        rec_params *p;
        rec_model *m;
        ck_assert_int_eq(rec_params_create(&p), REC_OK);
        ck_assert_int_eq(rec_params_parse(p, "ids=false"), REC_OK);
        ck_assert_int_eq(rec_params_parse(p, "features=false"), REC_OK);
        ck_assert_int_eq(rec_model_create(&m, kinds2[k], p), REC_OK);
        ck_assert_int_eq(rec_model_fit(m, d, NULL, NULL), REC_E_INVALID);
        char want[160];
        snprintf(want, sizeof want, "rec_model_fit(%s): ids = false needs features, but the "
                 "dataset has no categorical or multi-hot field", kinds2[k]);
        /* the generated data has genres: with features off there is no input */
        ck_assert_str_eq(rec_last_error(), want);
        rec_model_destroy(m);
        rec_params_destroy(p);
        ck_assert_int_eq(rec_params_create(&p), REC_OK);
        ck_assert_int_eq(rec_params_parse(p, "layers=5"), REC_OK);
        ck_assert_int_eq(rec_model_create(&m, kinds2[k], p), REC_E_RANGE);
        rec_params_destroy(p);
    }
    rec_dataset_destroy(d);
}
END_TEST

Suite *rec_gnn_suite(void)
{
    Suite *s = suite_create("gnn");
    TCase *t = tcase_create("inductive");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, fold_in_is_the_model_function);
    tcase_add_test(t, unseen_items_from_features);
    tcase_add_test(t, gnn_bad_keys);
    suite_add_tcase(s, t);
    return s;
}
