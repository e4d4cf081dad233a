/* The test harness itself: a data test must fail, saying where it looked,
 * when ../shared/data is missing (make check-data without its data used to
 * pass with every data test returning early). */
#include "testutil.h"

#include <string.h>

START_TEST(missing_data_is_reported_with_its_path)
{
    char why[1200];
    ck_assert_ptr_null(tu_data_at("/nonexistent/shared-data", why, sizeof why));
    ck_assert_str_eq(why, "no data: cannot read /nonexistent/shared-data/ml-latest-small/"
                          "ratings.csv (set SHARED_DATA=DIR for make check-data)");
    ck_assert_ptr_null(tu_data_at(NULL, why, sizeof why));
    ck_assert_ptr_nonnull(strstr(why, "LIBREC_DATA is not set"));
    ck_assert_ptr_null(tu_data_at("", why, sizeof why));
}
END_TEST

Suite *rec_testutil_suite(void)
{
    Suite *s = suite_create("testutil");
    TCase *t = tcase_create("data");
    tcase_add_test(t, missing_data_is_reported_with_its_path);
    suite_add_tcase(s, t);
    return s;
}
