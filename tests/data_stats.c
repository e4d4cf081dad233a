/* `librec stats --json` on ml-latest-small's ratings.csv against a count
 * written here by hand, with no librec code: a plain read of the file's
 * lines, integer ids in arrays, the ratings by half-star. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(stats_json_matches_a_hand_count_of_ml_latest_small)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/ml-latest-small/ratings.csv", tu_data_dir());
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    enum { MAXU = 1000, MAXI = 200000 };
    int *uc = calloc(MAXU, sizeof *uc), *ic = calloc(MAXI, sizeof *ic);
    long stars[11] = { 0 }, rows = 0;
    long long tmin = -1, tmax = -1;
    char line[256];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f)); /* the header */
    while (fgets(line, sizeof line, f)) {
        int u, i;
        double r;
        long long t;
        ck_assert_int_eq(sscanf(line, "%d,%d,%lf,%lld", &u, &i, &r, &t), 4);
        ck_assert(u >= 0 && u < MAXU && i >= 0 && i < MAXI);
        uc[u]++;
        ic[i]++;
        stars[(int)lround(r * 2)]++;
        tmin = tmin < 0 || t < tmin ? t : tmin;
        tmax = t > tmax ? t : tmax;
        rows++;
    }
    fclose(f);
    long users = 0, items = 0, cold_items = 0, values = 0;
    for (int u = 0; u < MAXU; u++)
        users += uc[u] > 0;
    for (int i = 0; i < MAXI; i++) {
        items += ic[i] > 0;
        cold_items += ic[i] > 0 && ic[i] < 5;
    }
    for (int k = 0; k < 11; k++)
        values += stars[k] > 0;

    tu_cli *r = malloc(sizeof *r);
    tu_cli_run(r, (const char *[]){ "stats", "--data", path, "--json", "--quiet", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    printf("stats ml-latest-small: %ld users, %ld items, %ld rows, %ld cold items\n", users, items,
           rows, cold_items);
    ck_assert_float_near(tu_json_num(r->out, "users"), users, 0);
    ck_assert_float_near(tu_json_num(r->out, "items"), items, 0);
    ck_assert_float_near(tu_json_num(r->out, "interactions"), rows, 0);
    ck_assert_float_near(tu_json_num(r->out, "active_users"), users, 0);
    ck_assert_float_near(tu_json_num(r->out, "cold_items"), cold_items, 0);
    ck_assert_float_near(tu_json_num(r->out, "rating_values"), values, 0);
    ck_assert_float_near(tu_json_num(r->out, "time_first"), tmin, 0);
    ck_assert_float_near(tu_json_num(r->out, "time_last"), tmax, 0);
    /* The ratings histogram, value by value. */
    char want[512] = "\"ratings\": {\"x\": [";
    int first = 1;
    for (int k = 0; k < 11; k++)
        if (stars[k]) {
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%g", first ? "" : ", ",
                     k / 2.0);
            first = 0;
        }
    strcat(want, "], \"y\": [");
    first = 1;
    for (int k = 0; k < 11; k++)
        if (stars[k]) {
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%ld", first ? "" : ", ",
                     stars[k]);
            first = 0;
        }
    ck_assert_msg(strstr(r->out, want), "no %s in the output", want);
    /* The file is known to be clean: no pair twice, no misread sign. */
    ck_assert_float_near(tu_json_num(r->out, "duplicate_rows"), 0, 0);
    ck_assert_ptr_nonnull(strstr(r->out, "\"warnings\": []}"));
    free(r);
    free(uc);
    free(ic);
}
END_TEST

Suite *rec_data_stats_suite(void)
{
    Suite *s = suite_create("data_stats");
    TCase *tc = tcase_create("stats");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, stats_json_matches_a_hand_count_of_ml_latest_small);
    suite_add_tcase(s, tc);
    return s;
}
