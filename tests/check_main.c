/* Chains every suite the build found (suites.h is generated from the
 * `Suite *rec_<area>_suite(void)` definitions in tests/).  Check's own
 * CK_RUN_SUITE=name and CK_RUN_CASE=name select a part. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

#ifdef REC_DATA_SUITES
#define SUITE(f) Suite *f(void);
#include "data_suites.h"
#undef SUITE
#define SUITE(f) f,
static Suite *(*const suites[])(void) = {
#include "data_suites.h"
    NULL };
#else
#define SUITE(f) Suite *f(void);
#include "suites.h"
#undef SUITE
#define SUITE(f) f,
static Suite *(*const suites[])(void) = {
#include "suites.h"
    NULL };
#endif

int main(void)
{
#ifdef REC_DATA_SUITES
    /* Say once, up front, why every data test is about to fail. */
    char why[1200];
    if (!tu_data_at(getenv("LIBREC_DATA"), why, sizeof why)) {
        fprintf(stderr, "check_data: %s\n", why);
        return EXIT_FAILURE;
    }
#endif
    SRunner *sr = NULL;
    for (size_t i = 0; suites[i]; i++) {
        Suite *s = suites[i]();
        if (!sr)
            sr = srunner_create(s);
        else
            srunner_add_suite(sr, s);
    }
    if (!sr)
        return 0;
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
