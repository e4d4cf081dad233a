/* Evaluation: every metric on hand-computed rankings, both protocols on a
 * hand-built dataset with a model of known scores (values worked out by
 * hand in the comments), determinism over seeds and thread counts on a
 * fitted "mf", fold merging, errors and allocation failure. */
#include "testutil.h"

#include <librec/librec.h>
#include <librec/eval.h>
#include <math.h>
#include <string.h>

#include "eval/eval-impl.h"
#include "models/model-impl.h"

#define TOL 1e-6

START_TEST(ranking_metrics_by_hand)
{
    /* list [5,3,9,1,7], relevant {3,1,8}: positions 1 and 3 of 3 relevant. */
    int32_t list[5] = { 5, 3, 9, 1, 7 }, rel[3] = { 3, 1, 8 };
    int64_t pos[3];
    size_t np = rec_metric_positions(list, 5, rel, 3, pos);
    ck_assert_uint_eq(np, 2);
    ck_assert_int_eq(pos[0], 1);
    ck_assert_int_eq(pos[1], 3);
    ck_assert_double_eq(rec_metric_hit(pos, np, 3, 1), 0.0);
    ck_assert_double_eq(rec_metric_hit(pos, np, 3, 2), 1.0);
    ck_assert_double_eq(rec_metric_precision(pos, np, 3, 2), 0.5);
    ck_assert_double_eq(rec_metric_precision(pos, np, 3, 5), 0.4);
    ck_assert_float_near(rec_metric_recall(pos, np, 3, 2), 1.0 / 3, TOL);
    ck_assert_float_near(rec_metric_recall(pos, np, 3, 5), 2.0 / 3, TOL);
    /* DCG 1/log2(3) + 1/log2(5) = 1.061606; IDCG(3) 1 + 0.630930 + 0.5 = 2.130930 */
    ck_assert_float_near(rec_metric_ndcg(pos, np, 3, 5), 0.498189, TOL);
    /* @2: 0.630930 / (1 + 0.630930) */
    ck_assert_float_near(rec_metric_ndcg(pos, np, 3, 2), 0.386853, TOL);
    /* AP@5: (1/2 + 2/4) / 3; AP@2: (1/2) / 2 */
    ck_assert_float_near(rec_metric_map(pos, np, 3, 5), 1.0 / 3, TOL);
    ck_assert_float_near(rec_metric_map(pos, np, 3, 2), 0.25, TOL);
    ck_assert_double_eq(rec_metric_mrr(pos, np, 3, 0), 0.5);
    ck_assert_double_eq(rec_metric_mrr(pos, np, 3, 1), 0.0);
    ck_assert_double_eq(rec_metric_mrr(pos, 0, 3, 0), 0.0);
    /* Nothing relevant found: all zero. */
    ck_assert_double_eq(rec_metric_ndcg(pos, 0, 3, 5), 0.0);
    ck_assert_double_eq(rec_metric_map(pos, 0, 3, 5), 0.0);
    /* AUC: 4 negatives; relevant 0 beaten by 1, relevant 1 by 2 with 1 tie:
     * (3 + 1 + 0.5) / 8 */
    int64_t gt[2] = { 1, 2 }, eq[2] = { 0, 1 };
    ck_assert_float_near(rec_metric_auc(gt, eq, 2, 4), 0.5625, TOL);
    ck_assert(isnan(rec_metric_auc(gt, eq, 2, 0)));
}
END_TEST

START_TEST(list_metrics_by_hand)
{
    /* Items' training users: 0 {0,1,2}, 1 {1,2}, 2 {}, 3 {3}. */
    int64_t ptr[5] = { 0, 3, 5, 5, 6 };
    int32_t users[6] = { 0, 1, 2, 1, 2, 3 };
    int32_t list[3] = { 0, 1, 2 };
    /* pairs: (0,1) 1 - 2/sqrt(6) = 0.183503; (0,2) 1; (1,2) 1 -> mean 0.727834 */
    ck_assert_float_near(rec_metric_diversity(list, 3, ptr, users), 0.727834, TOL);
    ck_assert(isnan(rec_metric_diversity(list, 1, ptr, users)));
    int64_t deg[4] = { 3, 2, 0, 1 };
    /* log2(4/3), log2(4/2), log2(4/1) (degree 0 counts as 1) */
    ck_assert_float_near(rec_metric_novelty(list, 3, deg, 4), 1.138346, TOL);
    int32_t l2[1] = { 3 };
    ck_assert_float_near(rec_metric_novelty(l2, 1, deg, 4), 2.0, TOL);
}
END_TEST

START_TEST(metric_names_parse)
{
    rec_metric *m;
    size_t n;
    ck_assert_int_eq(rec_metrics_parse(" RMSE, ndcg@10 ,mrr,mrr@5,hit@1", "f", &m, &n), REC_OK);
    ck_assert_uint_eq(n, 5);
    ck_assert_str_eq(m[0].name, "rmse");
    ck_assert_str_eq(m[1].name, "ndcg@10");
    ck_assert_int_eq(m[1].k, 10);
    ck_assert_int_eq(m[2].k, 0);
    ck_assert_int_eq(m[3].kind, REC_M_MRR);
    ck_assert_int_eq(m[3].k, 5);
    rec_free(m, n * sizeof *m);
    const char *bad[][2] = {
        { "ndgc@10", "unknown metric 'ndgc@10'" },
        { "ndcg@0", "'ndcg@0': the cutoff must be an integer in [1, 1000000]" },
        { "ndcg@x", "'ndcg@x': the cutoff" },
        { "ndcg@", "'ndcg@': the cutoff" },
        { "recall@10000000000", "the cutoff" },
        { "ndcg", "metric 'ndcg' needs a cutoff, e.g. 'ndcg@10'" },
        { "rmse@10", "metric 'rmse@10' takes no cutoff" },
        { "mae,,rmse", "empty entry" },
        { "", "empty entry" },
        { "hit@10,HIT@10", "'hit@10' is listed twice" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_int_eq(rec_metrics_parse(bad[i][0], "f", &m, &n), REC_E_INVALID);
        ck_assert_msg(strstr(rec_last_error(), bad[i][1]), "%s: %s", bad[i][0],
                      rec_last_error());
        ck_assert_ptr_null(m);
    }
}
END_TEST

/* ---- a model of known scores ----------------------------------------------
 * An "mf" fitted on the hand-built train set, whose scoring is swapped for a
 * fixed table (model indices: users u0..u3, items i0..i5). */
static const float table[4][6] = {
    { 0.9f, 0.8f, 0.7f, 0.1f, 0.5f, 0.3f },
    { 0.2f, 0.6f, 0.9f, 0.2f, 0.1f, 0.0f },
    { 1.0f, 0.9f, 0.4f, 0.2f, 0.3f, 0.9f },
    { 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f },
};

static rec_status table_user(const rec_model *m, int32_t u, float *out)
{
    memcpy(out, table[u], (size_t)m->nitems * sizeof *out);
    return REC_OK;
}

static rec_status table_pair(const rec_model *m, int32_t u, int32_t i, float *out)
{
    (void)m;
    *out = table[u][i];
    return REC_OK;
}

/* A rating model's pair score is a rating, here in the reverse order of
 * the ranking table, so that a ranking taken from it (or a rating taken
 * from score_user) changes every expected value. */
static rec_status rating_pair(const rec_model *m, int32_t u, int32_t i, float *out)
{
    (void)m;
    *out = 5.0f - 5.0f * table[u][i];
    return REC_OK;
}

static int rates(const rec_model *m)
{
    (void)m;
    return 1;
}

static rec_model_vt vt_rating, vt_pairs, vt_users;

/* How the known model scores: KNOWN_RATING predicts ratings (rating_pair)
 * and ranks by the table; KNOWN_PAIRS scores pairs from the table (a
 * ranking model, cheap for sampled ranking); KNOWN_USERS only whole rows. */
enum { KNOWN_USERS, KNOWN_RATING, KNOWN_PAIRS };

static void add_rows(rec_dataset *d, const char *const rows[][2], const double *r, size_t n)
{
    for (size_t k = 0; k < n; k++)
        ck_assert_int_eq(rec_dataset_add(d, rows[k][0], rows[k][1], r[k], REC_NO_TIME), REC_OK);
}

/* Train: u0 {i0,i1}, u1 {i2,i4}, u2 {i0}, u3 {i3,i4,i5} (added so that the
 * indices are u0..u3, i0..i5).  Test: u0 {i2:4, i3:2}, u1 {i0:3},
 * u2 {i5:5, i0:1} (i0 is also a training item of u2). */
static void known_model(rec_model **m, rec_dataset **train, rec_dataset **test, int how)
{
    static const char *const tr[][2] = { { "u0", "i0" }, { "u0", "i1" }, { "u1", "i2" },
                                         { "u2", "i0" }, { "u3", "i3" }, { "u1", "i4" },
                                         { "u3", "i4" }, { "u3", "i5" } };
    static const double trr[] = { 1, 2, 3, 4, 5, 1, 2, 3 };
    static const char *const te[][2] = { { "u2", "i5" }, { "u0", "i2" }, { "u1", "i0" },
                                         { "u0", "i3" }, { "u2", "i0" } };
    static const double ter[] = { 5, 4, 3, 2, 1 };
    ck_assert_int_eq(rec_dataset_create(train), REC_OK);
    ck_assert_int_eq(rec_dataset_create(test), REC_OK);
    add_rows(*train, tr, trr, 8);
    add_rows(*test, te, ter, 5);
    rec_params *p;
    rec_params_create(&p);
    rec_params_set_int(p, "epochs", 1);
    rec_params_set_int(p, "dim", 2);
    ck_assert_int_eq(rec_model_create(m, "mf", p), REC_OK);
    rec_params_destroy(p);
    ck_assert_int_eq(rec_model_fit(*m, *train, NULL, NULL), REC_OK);
    vt_pairs = *(*m)->vt;
    vt_pairs.score_user = table_user;
    vt_pairs.score_pair = table_pair;
    vt_pairs.predicts_ratings = NULL;
    vt_users = vt_pairs;
    vt_users.score_pair = NULL;
    vt_rating = vt_pairs;
    vt_rating.score_pair = rating_pair;
    vt_rating.predicts_ratings = rates;
    (*m)->vt = how == KNOWN_RATING ? &vt_rating : how == KNOWN_PAIRS ? &vt_pairs : &vt_users;
}

static void expect(const rec_eval_result *r, const char *name, double want)
{
    double v;
    ck_assert_msg(rec_eval_result_get(r, name, &v) == REC_OK, "%s missing", name);
    ck_assert_msg(fabs(v - want) < 1e-5, "%s = %.6f, expected %.6f", name, v, want);
}

static const char *all_metrics = "rmse,mae,hit@1,hit@2,precision@2,recall@2,ndcg@2,mrr,"
                                 "map@2,auc,coverage@2,diversity@2,novelty@2";

START_TEST(full_protocol_by_hand)
{
    rec_model *m;
    rec_dataset *train, *test;
    known_model(&m, &train, &test, KNOWN_RATING);
    rec_eval_result *r;
    ck_assert_int_eq(rec_evaluate(m, test, "full", all_metrics, 1, &r), REC_OK);
    /* Rankings after excluding training items (ties by index):
     *   u0: i2 i4 i5 i3, relevant {i2,i3} at 0 and 3, 2 negatives
     *   u1: i1 i0 i3 i5, relevant {i0} at 1 (i3 ties it), 3 negatives
     *   u2: i1 i5 i2 i4 i3, relevant {i5} at 1 (i1 ties it, lower index),
     *       i0 dropped (a training item), 4 negatives */
    /* ratings 5 - 5 table: errors 2.5 -2.5 -1 4.5 1 */
    expect(r, "rmse", sqrt(34.75 / 5));
    expect(r, "mae", 11.5 / 5);
    expect(r, "hit@1", 1.0 / 3);
    expect(r, "hit@2", 1.0);
    expect(r, "precision@2", 0.5);
    expect(r, "recall@2", (0.5 + 1 + 1) / 3);
    expect(r, "ndcg@2", (1 / (1 + 1 / log2(3)) + 2 / log2(3)) / 3);
    expect(r, "mrr", (1 + 0.5 + 0.5) / 3);
    expect(r, "map@2", 0.5);
    expect(r, "auc", (0.5 + 0.5 + 0.875) / 3); /* u1: (3-1-1+.5)/3; u2: (4-1+.5)/4 */
    expect(r, "coverage@2", 5.0 / 6);          /* {i2,i4} {i1,i0} {i1,i5} */
    /* 1 - cos of training-user vectors: (i2,i4) and (i1,i0) 1 - 1/sqrt(2), (i1,i5) 1 */
    expect(r, "diversity@2", (2 * (1 - 1 / sqrt(2)) + 1) / 3);
    expect(r, "novelty@2", (1.5 + 1.5 + 2) / 3); /* log2(4 / degree) */
    int64_t users, rows;
    int folds;
    ck_assert_int_eq(rec_eval_result_support(r, &users, &rows, &folds), REC_OK);
    ck_assert_int_eq(users, 3);
    ck_assert_int_eq(rows, 5);
    ck_assert_int_eq(folds, 1);
    size_t n;
    const char *name;
    double v, sd;
    ck_assert_int_eq(rec_eval_result_count(r, &n), REC_OK);
    ck_assert_uint_eq(n, 13);
    ck_assert_int_eq(rec_eval_result_metric(r, 6, &name, &v, &sd), REC_OK);
    ck_assert_str_eq(name, "ndcg@2");
    ck_assert_double_eq(sd, 0.0);
    ck_assert_int_eq(rec_eval_result_metric(r, 13, &name, &v, &sd), REC_E_RANGE);
    ck_assert_int_eq(rec_eval_result_get(r, "ndcg@3", &v), REC_E_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "no metric 'ndcg@3'"));
    rec_eval_result_destroy(r);
    rec_model_destroy(m);
    rec_dataset_destroy(train);
    rec_dataset_destroy(test);
}
END_TEST

static void check_sampled(int how)
{
    rec_model *m;
    rec_dataset *train, *test;
    known_model(&m, &train, &test, how);
    rec_eval_result *r;
    const char *ranking = all_metrics + strlen("rmse,mae,");
    if (how != KNOWN_RATING) {
        /* A ranking model's scores are no ratings: refused, naming the kind. */
        ck_assert_int_eq(rec_evaluate(m, test, "sampled:4", all_metrics, 9, &r),
                         REC_E_INVALID);
        ck_assert_ptr_null(r);
        ck_assert_ptr_nonnull(strstr(rec_last_error(), "rec_evaluate: 'rmse' needs a model "
                                                       "that predicts ratings; this 'mf'"));
    }
    /* sampled:4 takes every item each user has in neither train nor test:
     *   u0: relevant i2 (.7) i3 (.1), negatives i4 .5 i5 .3 -> positions 0, 3
     *   u1: relevant i0 (.2), negatives i1 .6 i3 .2 i5 0 -> position 1
     *   u2: relevant i0 (1.0) i5 (.9), negatives i1 .9 i2 i3 i4 -> 0, 1 (the
     *       tie with i1 favours the relevant item, as in SASRec) */
    ck_assert_int_eq(rec_evaluate(m, test, "sampled:4",
                                  how == KNOWN_RATING ? all_metrics : ranking, 9, &r),
                     REC_OK);
    if (how == KNOWN_RATING)
        expect(r, "rmse", sqrt(34.75 / 5));
    expect(r, "hit@1", 2.0 / 3);
    expect(r, "hit@2", 1.0);
    expect(r, "precision@2", 2.0 / 3);
    expect(r, "recall@2", (0.5 + 1 + 1) / 3);
    expect(r, "ndcg@2", (1 / (1 + 1 / log2(3)) + 1 / log2(3) + 1) / 3);
    expect(r, "mrr", (1 + 0.5 + 1) / 3);
    expect(r, "map@2", 2.0 / 3);
    expect(r, "auc", (0.5 + 0.5 + 7.5 / 8) / 3);
    expect(r, "coverage@2", 5.0 / 6); /* {i2,i4} {i1,i0} {i0,i5} */
    expect(r, "diversity@2", (2 * (1 - 1 / sqrt(2)) + 1) / 3); /* (i0,i5) share nobody */
    expect(r, "novelty@2", (1.5 + 1.5 + 1.5) / 3);
    rec_eval_result_destroy(r);
    rec_model_destroy(m);
    rec_dataset_destroy(train);
    rec_dataset_destroy(test);
}

/* "cold": only items without training rows are candidates.  Popularity
 * scores them all 0, so c (the lowest index of them) tops the cold list by
 * the index tie-break, while under "full" the warm b outranks it. */
START_TEST(cold_protocol_by_hand)
{
    rec_dataset *train, *test;
    ck_assert_int_eq(rec_dataset_create(&train), REC_OK);
    ck_assert_int_eq(rec_dataset_add(train, "u1", "a", 1, REC_NO_TIME), REC_OK);
    ck_assert_int_eq(rec_dataset_add(train, "u2", "a", 1, REC_NO_TIME), REC_OK);
    ck_assert_int_eq(rec_dataset_add(train, "u2", "b", 1, REC_NO_TIME), REC_OK);
    ck_assert_int_eq(rec_dataset_add_field(train, REC_SIDE_ITEM, "t", REC_FEATURE_TEXT, NULL),
                     REC_OK);
    static const char *cold[] = { "c", "d", "e" };
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(rec_dataset_set_feature(train, REC_SIDE_ITEM, "t", cold[k], "x", 1),
                         REC_OK);
    ck_assert_int_eq(rec_dataset_create(&test), REC_OK);
    ck_assert_int_eq(rec_dataset_add(test, "u1", "c", 1, REC_NO_TIME), REC_OK);
    ck_assert_int_eq(rec_dataset_add(test, "u1", "b", 1, REC_NO_TIME), REC_OK); /* warm: dropped */
    rec_model *m;
    ck_assert_int_eq(rec_model_create(&m, "popularity", NULL), REC_OK);
    ck_assert_int_eq(rec_model_fit(m, train, NULL, NULL), REC_OK);
    rec_eval_result *r;
    ck_assert_int_eq(rec_evaluate(m, test, "cold", "auc,recall@1,ndcg@2", 1, &r), REC_OK);
    expect(r, "auc", 0.5);   /* c ties d and e: 1/2 each */
    expect(r, "recall@1", 1); /* of the cold relevant {c} */
    expect(r, "ndcg@2", 1);
    rec_eval_result_destroy(r);
    ck_assert_int_eq(rec_evaluate(m, test, "full", "auc,recall@1", 1, &r), REC_OK);
    /* relevant {b, c}; negatives d, e (a is seen): b above both, c ties them */
    expect(r, "auc", (1 + 0.5) / 2);
    expect(r, "recall@1", 0.5);
    rec_eval_result_destroy(r);
    ck_assert_int_eq(rec_evaluate(m, test, "col", "auc", 1, &r), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "(expected 'full', 'sampled:N' or 'cold')"));
    rec_model_destroy(m);
    rec_dataset_destroy(train);
    rec_dataset_destroy(test);
}
END_TEST

START_TEST(sampled_protocol_by_hand)
{
    check_sampled(KNOWN_RATING); /* ranks by score_user, not by its ratings */
    check_sampled(KNOWN_PAIRS);  /* ranks by the pair scores */
    check_sampled(KNOWN_USERS);  /* a kind without pair scoring gives the same */
}
END_TEST

static rec_dataset *gen_data(void)
{
    rec_params *o;
    rec_dataset *d;
    rec_params_create(&o);
    rec_params_set_int(o, "users", 120);
    rec_params_set_int(o, "items", 300);
    rec_params_set_int(o, "interactions-per-user", 15);
    ck_assert_int_eq(rec_dataset_generate(&d, o), REC_OK);
    rec_params_destroy(o);
    return d;
}

static rec_model *fit_mf(const rec_dataset *train)
{
    rec_params *p;
    rec_model *m;
    rec_params_create(&p);
    rec_params_set_int(p, "epochs", 3);
    rec_params_set_int(p, "dim", 8);
    ck_assert_int_eq(rec_model_create(&m, "mf", p), REC_OK);
    rec_params_destroy(p);
    ck_assert_int_eq(rec_model_fit(m, train, NULL, NULL), REC_OK);
    return m;
}

static void values(const rec_eval_result *r, double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(rec_eval_result_metric(r, i, NULL, &v[i], NULL), REC_OK);
}

START_TEST(seeded_and_independent_of_threads)
{
    rec_dataset *d = gen_data(), *train, *test;
    ck_assert_int_eq(rec_dataset_split(d, "last:2", 0, 0, &train, &test), REC_OK);
    rec_model *m = fit_mf(train);
    const char *ms = "hit@10,ndcg@10,recall@5,mrr,map@10,auc,coverage@10,diversity@5,novelty@10";
    const char *protos[2] = { "full", "sampled:50" };
    int saved = rec_get_num_threads();
    for (int p = 0; p < 2; p++) {
        double v1[9], v2[9], v3[9];
        rec_eval_result *r;
        rec_set_num_threads(1);
        ck_assert_int_eq(rec_evaluate(m, test, protos[p], ms, 7, &r), REC_OK);
        values(r, v1, 9);
        int64_t users;
        rec_eval_result_support(r, &users, NULL, NULL);
        ck_assert_int_eq(users, 120);
        rec_eval_result_destroy(r);
        rec_set_num_threads(2);
        ck_assert_int_eq(rec_evaluate(m, test, protos[p], ms, 7, &r), REC_OK);
        values(r, v2, 9);
        rec_eval_result_destroy(r);
        ck_assert_mem_eq(v1, v2, sizeof v1);
        for (int i = 0; i < 9; i++)
            ck_assert(v1[i] >= 0 && isfinite(v1[i]));
        ck_assert_int_eq(rec_evaluate(m, test, protos[p], ms, 8, &r), REC_OK);
        values(r, v3, 9);
        rec_eval_result_destroy(r);
        if (p == 0)
            ck_assert_mem_eq(v1, v3, sizeof v1); /* full ranking draws nothing */
        else
            ck_assert(memcmp(v1, v3, sizeof v1) != 0); /* other negatives */
    }
    rec_set_num_threads(saved);
    rec_model_destroy(m);
    rec_dataset_destroy(train);
    rec_dataset_destroy(test);
    rec_dataset_destroy(d);
}
END_TEST

/* Scores: 1000 for the user's training items, else -item (lower index
 * first).  With exclusion, the top list is the lowest-indexed unseen items. */
static rec_status boost_seen(const rec_model *m, int32_t u, float *out)
{
    for (int32_t i = 0; i < m->nitems; i++)
        out[i] = -(float)i;
    for (int64_t j = m->seen_ptr[u]; j < m->seen_ptr[u + 1]; j++)
        out[m->seen[j]] = 1000.0f;
    return REC_OK;
}

/* The full protocol agrees with the model's own recommend lists: hit@10 and
 * ndcg@10 recomputed from rec_model_recommend for each test user. */
START_TEST(full_protocol_matches_recommend)
{
    rec_dataset *d = gen_data(), *train, *test;
    ck_assert_int_eq(rec_dataset_split(d, "last:1", 0, 0, &train, &test), REC_OK);
    rec_model *m = fit_mf(train);
    int64_t rows;
    ck_assert_int_eq(rec_dataset_num_interactions(test, &rows), REC_OK);
    double hit = 0, ndcg = 0;
    int64_t users = 0;
    for (int64_t r = 0; r < rows; r++) {
        int32_t u, i;
        const char *uid, *iid, *items[10];
        size_t n;
        ck_assert_int_eq(rec_dataset_row(test, r, &u, &i, NULL, NULL), REC_OK);
        rec_dataset_user_id(test, u, &uid);
        rec_dataset_item_id(test, i, &iid);
        /* Skip users whose test item is one of their training items (a
         * split shares its parent's indices, and so does the model). */
        int seen = 0;
        const int64_t *ptr = m->seen_ptr;
        for (int64_t j = ptr[u]; j < ptr[u + 1]; j++)
            seen |= m->seen[j] == i;
        if (seen)
            continue;
        users++;
        ck_assert_int_eq(rec_model_recommend(m, uid, 10, 0, items, NULL, &n), REC_OK);
        for (size_t p = 0; p < n; p++)
            if (strcmp(items[p], iid) == 0) {
                hit += 1;
                ndcg += 1 / log2((double)p + 2);
            }
    }
    ck_assert_int_gt(users, 100);
    rec_eval_result *res;
    ck_assert_int_eq(rec_evaluate(m, test, "full", "hit@10,ndcg@10", 3, &res), REC_OK);
    int64_t eu;
    rec_eval_result_support(res, &eu, NULL, NULL);
    ck_assert_int_eq(eu, users);
    expect(res, "hit@10", hit / (double)users);
    expect(res, "ndcg@10", ndcg / (double)users);
    ck_assert_double_gt(hit, 0);
    rec_eval_result_destroy(res);
    rec_model_destroy(m);
    rec_dataset_destroy(train);
    rec_dataset_destroy(test);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(full_ranking_excludes_training_items)
{
    rec_model *m;
    rec_dataset *train, *test;
    known_model(&m, &train, &test, KNOWN_USERS);
    static rec_model_vt vt;
    vt = *m->vt;
    vt.score_user = boost_seen;
    m->vt = &vt;
    rec_eval_result *r;
    /* Unseen orders: u0 i2 i3 i4 i5 (rel i2,i3 at 0,1); u1 i0 i1 i3 i5 (rel i0
     * at 0); u2 i1 i2 i3 i4 i5 (rel i5 at 4). */
    ck_assert_int_eq(rec_evaluate(m, test, NULL, "hit@1,precision@2,mrr", 0, &r), REC_OK);
    expect(r, "hit@1", 2.0 / 3);
    expect(r, "precision@2", (1 + 0.5 + 0) / 3);
    expect(r, "mrr", (1 + 1 + 0.2) / 3);
    rec_eval_result_destroy(r);
    rec_model_destroy(m);
    rec_dataset_destroy(train);
    rec_dataset_destroy(test);
}
END_TEST

START_TEST(folds_merge_to_mean_and_std)
{
    rec_model *m;
    rec_dataset *train, *test;
    known_model(&m, &train, &test, KNOWN_RATING);
    rec_eval_result *a, *b, *mg;
    ck_assert_int_eq(rec_evaluate(m, test, "full", "hit@1,mrr", 0, &a), REC_OK);
    ck_assert_int_eq(rec_evaluate(m, test, "sampled:4", "hit@1,mrr", 0, &b), REC_OK);
    const rec_eval_result *parts[2] = { a, b };
    ck_assert_int_eq(rec_eval_result_merge(parts, 2, &mg), REC_OK);
    double v, sd;
    /* hit@1: 1/3 and 2/3 -> mean 1/2, population std 1/6 */
    ck_assert_int_eq(rec_eval_result_metric(mg, 0, NULL, &v, &sd), REC_OK);
    ck_assert_float_near(v, 0.5, TOL);
    ck_assert_float_near(sd, 1.0 / 6, TOL);
    /* mrr: 2/3 and 5/6 */
    ck_assert_int_eq(rec_eval_result_metric(mg, 1, NULL, &v, &sd), REC_OK);
    ck_assert_float_near(v, 0.75, TOL);
    ck_assert_float_near(sd, 1.0 / 12, TOL);
    int64_t users;
    int folds;
    rec_eval_result_support(mg, &users, NULL, &folds);
    ck_assert_int_eq(users, 6);
    ck_assert_int_eq(folds, 2);
    /* Merging a merged result, different lists, NULL parts. */
    rec_eval_result *bad = (rec_eval_result *)1, *c;
    const rec_eval_result *p2[2] = { mg, a };
    ck_assert_int_eq(rec_eval_result_merge(p2, 2, &bad), REC_E_INVALID);
    ck_assert_ptr_null(bad);
    ck_assert_int_eq(rec_evaluate(m, test, "full", "mrr,hit@1", 0, &c), REC_OK);
    const rec_eval_result *p3[2] = { a, c };
    ck_assert_int_eq(rec_eval_result_merge(p3, 2, &bad), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "parts[1] has 'mrr' where parts[0] has"));
    const rec_eval_result *p4[2] = { a, NULL };
    ck_assert_int_eq(rec_eval_result_merge(p4, 2, &bad), REC_E_INVALID);
    ck_assert_int_eq(rec_eval_result_merge(p4, 0, &bad), REC_E_INVALID);
    rec_eval_result_destroy(a);
    rec_eval_result_destroy(b);
    rec_eval_result_destroy(c);
    rec_eval_result_destroy(mg);
    rec_eval_result_destroy(NULL);
    rec_model_destroy(m);
    rec_dataset_destroy(train);
    rec_dataset_destroy(test);
}
END_TEST

START_TEST(errors_name_the_argument)
{
    rec_model *m;
    rec_dataset *train, *test, *empty, *noratings;
    known_model(&m, &train, &test, KNOWN_RATING);
    rec_eval_result *r = (rec_eval_result *)1;
    ck_assert_int_eq(rec_evaluate(m, test, "full", "ndgc@10", 0, &r), REC_E_INVALID);
    ck_assert_ptr_null(r);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "rec_evaluate: unknown metric 'ndgc@10'"));
    ck_assert_int_eq(rec_evaluate(m, test, "full", "ndcg@0", 0, &r), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "'ndcg@0': the cutoff must be"));
    ck_assert_int_eq(rec_evaluate(m, test, "ful", "mrr", 0, &r), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "unknown protocol 'ful'"));
    ck_assert_int_eq(rec_evaluate(m, test, "sampled:0", "mrr", 0, &r), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "'sampled:0': N must be"));
    ck_assert_int_eq(rec_evaluate(m, test, "sampled:x", "mrr", 0, &r), REC_E_INVALID);
    ck_assert_int_eq(rec_evaluate(m, test, "full", NULL, 0, &r), REC_E_INVALID);
    ck_assert_int_eq(rec_evaluate(NULL, test, "full", "mrr", 0, &r), REC_E_INVALID);
    ck_assert_int_eq(rec_evaluate(m, NULL, "full", "mrr", 0, &r), REC_E_INVALID);
    ck_assert_int_eq(rec_evaluate(m, test, "full", "mrr", 0, NULL), REC_E_INVALID);
    ck_assert_int_eq(rec_dataset_create(&empty), REC_OK);
    ck_assert_int_eq(rec_evaluate(m, empty, "full", "mrr", 0, &r), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "no interactions"));
    ck_assert_int_eq(rec_dataset_create(&noratings), REC_OK);
    ck_assert_int_eq(rec_dataset_add(noratings, "u0", "i2", NAN, REC_NO_TIME), REC_OK);
    ck_assert_int_eq(rec_evaluate(m, noratings, "full", "mrr,mae", 0, &r), REC_E_STATE);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "'mae' needs a test dataset with ratings"));
    ck_assert_int_eq(rec_evaluate(m, noratings, "full", "mrr", 0, &r), REC_OK);
    expect(r, "mrr", 1.0); /* u0's i2 ranks first */
    rec_eval_result_destroy(r);
    rec_model *unfitted;
    ck_assert_int_eq(rec_model_create(&unfitted, "mf", NULL), REC_OK);
    ck_assert_int_eq(rec_evaluate(unfitted, test, "full", "mrr", 0, &r), REC_E_STATE);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "not fitted"));
    /* Users and items the model never saw are skipped: no user left -> NAN. */
    rec_dataset *strangers;
    ck_assert_int_eq(rec_dataset_create(&strangers), REC_OK);
    ck_assert_int_eq(rec_dataset_add(strangers, "nobody", "i1", 2.0, REC_NO_TIME), REC_OK);
    ck_assert_int_eq(rec_dataset_add(strangers, "u0", "nothing", 2.0, REC_NO_TIME), REC_OK);
    ck_assert_int_eq(rec_evaluate(m, strangers, "full", "rmse,ndcg@5", 0, &r), REC_OK);
    double v;
    ck_assert_int_eq(rec_eval_result_get(r, "ndcg@5", &v), REC_OK);
    ck_assert(isnan(v));
    ck_assert_int_eq(rec_eval_result_get(r, "rmse", &v), REC_OK);
    ck_assert(isnan(v));
    rec_eval_result_destroy(r);
    rec_dataset_destroy(strangers);
    rec_model_destroy(unfitted);
    rec_dataset_destroy(empty);
    rec_dataset_destroy(noratings);
    rec_model_destroy(m);
    rec_dataset_destroy(train);
    rec_dataset_destroy(test);
}
END_TEST

START_TEST(allocation_failures_leak_nothing)
{
    rec_model *m;
    rec_dataset *train, *test;
    known_model(&m, &train, &test, KNOWN_RATING);
    rec_eval_result *r;
    /* Warm the test set's per-user cache outside the failing allocator. */
    ck_assert_int_eq(rec_evaluate(m, test, "full", "mrr", 0, &r), REC_OK);
    rec_eval_result_destroy(r);
    const char *protos[2] = { "full", "sampled:3" };
    for (int p = 0; p < 2; p++) {
        long k;
        for (k = 1; k < 1000; k++) {
            tu_alloc_install();
            tu_alloc_fail_at(k);
            rec_status st = rec_evaluate(m, test, protos[p], all_metrics, 0, &r);
            if (st == REC_OK)
                rec_eval_result_destroy(r);
            long long live = tu_alloc_live();
            tu_alloc_remove();
            ck_assert_msg(live == 0, "allocation %ld: %lld bytes leaked", k, live);
            if (st == REC_OK)
                break;
            ck_assert_msg(st == REC_E_NOMEM, "allocation %ld: %s", k, rec_last_error());
        }
        ck_assert_int_gt(k, 5);
    }
    rec_model_destroy(m);
    rec_dataset_destroy(train);
    rec_dataset_destroy(test);
}
END_TEST

Suite *rec_eval_suite(void)
{
    Suite *s = suite_create("eval");
    TCase *tc = tcase_create("metrics");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, ranking_metrics_by_hand);
    tcase_add_test(tc, list_metrics_by_hand);
    tcase_add_test(tc, metric_names_parse);
    tcase_add_test(tc, full_protocol_by_hand);
    tcase_add_test(tc, sampled_protocol_by_hand);
    tcase_add_test(tc, cold_protocol_by_hand);
    tcase_add_test(tc, seeded_and_independent_of_threads);
    tcase_add_test(tc, full_protocol_matches_recommend);
    tcase_add_test(tc, full_ranking_excludes_training_items);
    tcase_add_test(tc, folds_merge_to_mean_and_std);
    tcase_add_test(tc, errors_name_the_argument);
    tcase_add_test(tc, allocation_failures_leak_nothing);
    suite_add_tcase(s, tc);
    return s;
}
