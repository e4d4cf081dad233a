/* rec_dataset_stats: every value and series on a six-row dataset worked out
 * by hand, the misread-file warnings each on the file that should raise it
 * (and none on a clean one), bad arguments, and out-of-memory paths. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* users u1 u2 u3, items i1 i2 i3; (u1, i1) twice; times in January,
 * on the leap day 2020-02-29 23:59:59 and at 2020-03-01 00:00:00 UTC. */
static rec_dataset *six_rows(void)
{
    static const struct {
        const char *u, *i;
        double r;
        int64_t t;
    } rows[] = {
        { "u1", "i1", 5, 1579046400 }, { "u1", "i2", 3, 1579046401 },
        { "u1", "i1", 4, 1579046402 }, { "u2", "i1", 4, 1579046403 },
        { "u2", "i3", 2, 1583020799 }, { "u3", "i1", 1, 1583020800 },
    };
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    for (size_t k = 0; k < 6; k++)
        ck_assert_int_eq(rec_dataset_add(d, rows[k].u, rows[k].i, rows[k].r, rows[k].t), REC_OK);
    return d;
}

static double get(const rec_dataset_stats *s, const char *key)
{
    double v = -12345;
    ck_assert_msg(rec_dataset_stats_get(s, key, &v) == REC_OK, "%s: %s", key, rec_last_error());
    return v;
}

static void series(const rec_dataset_stats *s, size_t i, const char *key, size_t n,
                   const double *x, const double *y)
{
    const char *k;
    const double *sx, *sy;
    size_t sn;
    ck_assert_int_eq(rec_dataset_stats_series_at(s, i, &k, &sx, &sy, &sn), REC_OK);
    ck_assert_str_eq(k, key);
    ck_assert_msg(sn == n, "%s: %zu points, want %zu", key, sn, n);
    for (size_t j = 0; j < n; j++) {
        ck_assert_msg(fabs(sx[j] - x[j]) < 1e-9, "%s x[%zu] %g, want %g", key, j, sx[j], x[j]);
        ck_assert_msg(fabs(sy[j] - y[j]) < 1e-9, "%s y[%zu] %g, want %g", key, j, sy[j], y[j]);
    }
}

START_TEST(six_rows_by_hand)
{
    rec_dataset *d = six_rows();
    rec_dataset_stats *s;
    ck_assert_int_eq(rec_dataset_stats_compute(&s, d, NULL), REC_OK);
    static const struct {
        const char *key;
        double v;
    } want[] = {
        { "users", 3 }, { "items", 3 }, { "interactions", 6 }, { "pairs", 5 },
        { "density", 5.0 / 9 }, { "active_users", 3 }, { "active_items", 3 },
        /* item counts 4, 1, 1: the top item (ceil of 1%, 10%, 20% of 3) */
        { "top1_share", 4.0 / 6 }, { "top10_share", 4.0 / 6 }, { "top20_share", 4.0 / 6 },
        /* ascending 1, 1, 4: ((-2)*1 + 0*1 + 2*4) / (3 * 6) */
        { "gini", 1.0 / 3 },
        /* user counts 1, 2, 3; quantile q at position q * 2 */
        { "user_min", 1 }, { "user_p25", 1.5 }, { "user_median", 2 }, { "user_p75", 2.5 },
        { "user_p90", 2.8 }, { "user_p99", 2.98 }, { "user_max", 3 }, { "user_mean", 2 },
        { "item_min", 1 }, { "item_p25", 1 }, { "item_median", 1 }, { "item_p75", 2.5 },
        { "item_p90", 3.4 }, { "item_p99", 3.94 }, { "item_max", 4 }, { "item_mean", 2 },
        { "rating_min", 1 }, { "rating_max", 5 }, { "rating_mean", 19.0 / 6 },
        { "rating_values", 5 },
        { "time_first", 1579046400 }, { "time_last", 1583020800 },
        { "time_span_days", 46 }, /* Jan 15 to Mar 1: 16 + 29 + 1 */
        { "months", 3 },
        { "cold_threshold", 5 }, { "cold_users", 3 }, { "cold_items", 3 },
        { "duplicate_pairs", 1 }, { "duplicate_rows", 1 },
    };
    size_t n = sizeof want / sizeof *want;
    for (size_t k = 0; k < n; k++) {
        double v = get(s, want[k].key);
        ck_assert_msg(fabs(v - want[k].v) < 1e-9, "%s = %.12g, want %.12g", want[k].key, v,
                      want[k].v);
    }
    /* value_at lists exactly these, in this order. */
    for (size_t k = 0; k < n; k++) {
        const char *key;
        double v;
        ck_assert_int_eq(rec_dataset_stats_value_at(s, k, &key, &v), REC_OK);
        ck_assert_str_eq(key, want[k].key);
    }
    ck_assert_int_eq(rec_dataset_stats_value_at(s, n, NULL, NULL), REC_E_RANGE);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "rec_dataset_stats_value_at"));
    series(s, 0, "long_tail", 4, (double[]){ 0, 1.0 / 3, 2.0 / 3, 1 },
           (double[]){ 0, 4.0 / 6, 5.0 / 6, 1 });
    series(s, 1, "user_activity", 2, (double[]){ 1, 2 }, (double[]){ 1, 2 });
    series(s, 2, "item_activity", 3, (double[]){ 1, 2, 4 }, (double[]){ 2, 0, 1 });
    series(s, 3, "ratings", 5, (double[]){ 1, 2, 3, 4, 5 }, (double[]){ 1, 1, 1, 2, 1 });
    /* The leap day's last second is February's, the next second March's. */
    series(s, 4, "months", 3, (double[]){ 2020, 2020 + 1.0 / 12, 2020 + 2.0 / 12 },
           (double[]){ 4, 1, 1 });
    ck_assert_int_eq(rec_dataset_stats_series_at(s, 5, NULL, NULL, NULL, NULL), REC_E_RANGE);
    const char *w;
    ck_assert_int_eq(rec_dataset_stats_warnings(s, &w), REC_OK);
    ck_assert_str_eq(w, "");
    rec_dataset_stats_destroy(s);

    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    ck_assert_int_eq(rec_params_set_int(p, "cold", 2), REC_OK);
    ck_assert_int_eq(rec_dataset_stats_compute(&s, d, p), REC_OK);
    ck_assert_float_near(get(s, "cold_threshold"), 2, 0);
    ck_assert_float_near(get(s, "cold_users"), 1, 0); /* u3 */
    ck_assert_float_near(get(s, "cold_items"), 2, 0); /* i2, i3 */
    rec_dataset_stats_destroy(s);
    rec_params_destroy(p);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(no_ratings_no_times_no_rows)
{
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    rec_dataset_stats *s;
    ck_assert_int_eq(rec_dataset_stats_compute(&s, d, NULL), REC_OK);
    ck_assert_float_near(get(s, "interactions"), 0, 0);
    ck_assert(isnan(get(s, "gini")));
    ck_assert(isnan(get(s, "density")));
    ck_assert(isnan(get(s, "user_median")));
    rec_dataset_stats_destroy(s);
    ck_assert_int_eq(rec_dataset_add(d, "a", "x", NAN, REC_NO_TIME), REC_OK);
    ck_assert_int_eq(rec_dataset_add(d, "b", "x", NAN, REC_NO_TIME), REC_OK);
    ck_assert_int_eq(rec_dataset_stats_compute(&s, d, NULL), REC_OK);
    ck_assert(isnan(get(s, "rating_mean")));
    ck_assert(isnan(get(s, "time_first")));
    ck_assert(isnan(get(s, "months")));
    ck_assert_float_near(get(s, "gini"), 0, 1e-12); /* one item holds all: (n-1)/n = 0 */
    size_t n = 9;
    ck_assert_int_eq(rec_dataset_stats_series_at(s, 3, NULL, NULL, NULL, &n), REC_OK);
    ck_assert_int_eq((int)n, 0);
    ck_assert_int_eq(rec_dataset_stats_series_at(s, 4, NULL, NULL, NULL, &n), REC_OK);
    ck_assert_int_eq((int)n, 0);
    rec_dataset_stats_destroy(s);
    rec_dataset_destroy(d);
}
END_TEST

static const char *warnings_of(rec_dataset *d)
{
    static char text[2048];
    rec_dataset_stats *s;
    ck_assert_int_eq(rec_dataset_stats_compute(&s, d, NULL), REC_OK);
    const char *w;
    ck_assert_int_eq(rec_dataset_stats_warnings(s, &w), REC_OK);
    snprintf(text, sizeof text, "%s", w);
    rec_dataset_stats_destroy(s);
    rec_dataset_destroy(d);
    return text;
}

START_TEST(warnings_name_the_misreading)
{
    /* user,item,timestamp,rating read as user,item,rating,timestamp */
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    for (int k = 0; k < 6; k++) {
        char u[16], i[16];
        snprintf(u, sizeof u, "%d", k % 3);
        snprintf(i, sizeof i, "%d", k % 2);
        ck_assert_int_eq(rec_dataset_add(d, u, i, 1.5e9 + k * 1000, 4), REC_OK);
    }
    const char *w = warnings_of(d);
    ck_assert_msg(strstr(w, "the ratings look like Unix times") && strstr(w, "--columns"), "%s",
                  w);
    ck_assert_ptr_null(strstr(w, "header"));

    /* A "user,item" header read as a row. */
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    ck_assert_int_eq(rec_dataset_add(d, "user", "item", NAN, REC_NO_TIME), REC_OK);
    for (int k = 0; k < 6; k++) {
        char u[16], i[16];
        snprintf(u, sizeof u, "%d", k % 3);
        snprintf(i, sizeof i, "%d", k % 4);
        ck_assert_int_eq(rec_dataset_add(d, u, i, NAN, REC_NO_TIME), REC_OK);
    }
    w = warnings_of(d);
    ck_assert_msg(strstr(w, "the first user id 'user' is the only one that is not a number"),
                  "%s", w);
    ck_assert_msg(strstr(w, "the first item id 'item' is the only one"), "%s", w);

    /* The item column is a row number. */
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    for (int k = 0; k < 6; k++) {
        char u[16], i[16];
        snprintf(u, sizeof u, "u%d", k % 2);
        snprintf(i, sizeof i, "%d", k);
        ck_assert_int_eq(rec_dataset_add(d, u, i, NAN, REC_NO_TIME), REC_OK);
    }
    w = warnings_of(d);
    ck_assert_msg(strstr(w, "every item occurs once (6 items)"), "%s", w);
    ck_assert_ptr_null(strstr(w, "every user"));
}
END_TEST

START_TEST(bad_arguments)
{
    rec_dataset *d = six_rows();
    rec_dataset_stats *s = (rec_dataset_stats *)d;
    ck_assert_int_eq(rec_dataset_stats_compute(&s, NULL, NULL), REC_E_INVALID);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "rec_dataset_stats_compute: dataset is NULL"));
    ck_assert_int_eq(rec_dataset_stats_compute(NULL, d, NULL), REC_E_INVALID);
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    ck_assert_int_eq(rec_params_set_int(p, "cold", 0), REC_OK);
    ck_assert_int_eq(rec_dataset_stats_compute(&s, d, p), REC_E_RANGE);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "cold"));
    rec_params_destroy(p);
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    ck_assert_int_eq(rec_params_set_int(p, "threshold", 3), REC_OK);
    ck_assert_int_ne(rec_dataset_stats_compute(&s, d, p), REC_OK);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "threshold"));
    rec_params_destroy(p);
    ck_assert_int_eq(rec_dataset_stats_compute(&s, d, NULL), REC_OK);
    double v;
    ck_assert_int_eq(rec_dataset_stats_get(s, "median", &v), REC_E_NOTFOUND);
    ck_assert_str_eq(rec_last_error(), "rec_dataset_stats_get: no value named 'median'");
    ck_assert_int_eq(rec_dataset_stats_get(s, NULL, &v), REC_E_INVALID);
    ck_assert_int_eq(rec_dataset_stats_warnings(s, NULL), REC_E_INVALID);
    ck_assert_int_eq(rec_dataset_stats_value_at(NULL, 0, NULL, NULL), REC_E_INVALID);
    rec_dataset_stats_destroy(s);
    rec_dataset_stats_destroy(NULL);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(out_of_memory_leaves_nothing)
{
    rec_dataset *d = six_rows();
    rec_dataset_stats *s;
    tu_alloc_install();
    ck_assert_int_eq(rec_dataset_stats_compute(&s, d, NULL), REC_OK);
    rec_dataset_stats_destroy(s);
    long total = tu_alloc_count();
    tu_alloc_remove();
    ck_assert_int_gt(total, 8);
    for (long k = 1; k <= total; k++) {
        tu_alloc_install();
        tu_alloc_fail_at(k);
        s = (rec_dataset_stats *)d;
        ck_assert_int_eq(rec_dataset_stats_compute(&s, d, NULL), REC_E_NOMEM);
        ck_assert_ptr_null(s);
        ck_assert_int_eq(tu_alloc_live(), 0);
        tu_alloc_remove();
    }
    rec_dataset_destroy(d);
}
END_TEST

Suite *rec_stats_suite(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("stats");
    tcase_add_test(tc, six_rows_by_hand);
    tcase_add_test(tc, no_ratings_no_times_no_rows);
    tcase_add_test(tc, warnings_name_the_misreading);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, out_of_memory_leaves_nothing);
    suite_add_tcase(s, tc);
    return s;
}
