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

/* The XML checker the SVG tests rely on accepts what it must and rejects
 * each fault it claims to find. */
START_TEST(xml_checker_accepts_and_rejects)
{
    char why[200];
    static const char *const good[] = {
        "<a/>",
        "<?xml version=\"1.0\"?>\n<!-- c --><svg x='1' y=\"&amp;&lt;&#60;&#x3c;\">t &gt; u"
        "<g><text>a &amp; b</text></g></svg>\n",
    };
    for (size_t k = 0; k < sizeof good / sizeof *good; k++)
        ck_assert_msg(tu_xml_well_formed(good[k], why, sizeof why), "%s: %s", good[k], why);
    static const struct {
        const char *doc, *why;
    } bad[] = {
        { "", "no root element" },
        { "<a><b></a></b>", "end tag does not match" },
        { "<a>x & y</a>", "bare '&'" },
        { "<a>&nbsp;</a>", "unknown entity" },
        { "<a x=\"<\"/>", "'<' in an attribute value" },
        { "<a x=1/>", "not quoted" },
        { "<a x='1' x='2'/>", "repeated" },
        { "<a x='1'y='2'/>", "separated by space" },
        { "<a/><b/>", "second root" },
        { "<a>", "not closed" },
        { "<a>\001</a>", "control character" },
        { "<a/>text", "outside the root" },
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        ck_assert_msg(!tu_xml_well_formed(bad[k].doc, why, sizeof why), "accepted %s", bad[k].doc);
        ck_assert_msg(strstr(why, bad[k].why), "%s: %s", bad[k].doc, why);
    }
}
END_TEST

Suite *rec_testutil_suite(void)
{
    Suite *s = suite_create("testutil");
    TCase *t = tcase_create("data");
    tcase_add_test(t, missing_data_is_reported_with_its_path);
    tcase_add_test(t, xml_checker_accepts_and_rejects);
    suite_add_tcase(s, t);
    return s;
}
