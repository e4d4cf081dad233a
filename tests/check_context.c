/* Per-interaction context: the derived hour and weekday buckets of known
 * timestamps, declared fields set by row and read from a CSV's extra
 * columns, their passage through splits, and every error. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

static const char *value(const rec_dataset *d, int64_t row, const char *name)
{
    const char *v = "unset";
    ck_assert_int_eq(rec_dataset_context_value(d, row, name, &v), REC_OK);
    return v;
}

START_TEST(derived_buckets)
{
    /* Hand-computed, UTC: 1970-01-01 00:00 Thursday; 1970-01-04 (259200 s)
     * Sunday; 1970-01-05 13:05 (4 * 86400 + 13 * 3600 + 300 = 392700)
     * Monday; 2001-09-09 01:46:40 (1e9 s) Sunday; 1969-12-31 23:59:59 (-1 s)
     * Wednesday. */
    int64_t t[5] = { 0, 259200, 392700, 1000000000, -1 };
    int64_t u[5] = { 1, 1, 2, 2, 3 }, it[5] = { 10, 11, 10, 12, 13 };
    const char *hour[5] = { "0", "0", "13", "1", "23" };
    const char *wday[5] = { "3", "6", "0", "6", "2" };
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_from_arrays(&d, u, it, NULL, t, 5), REC_OK);
    for (int r = 0; r < 5; r++) {
        ck_assert_str_eq(value(d, r, "time:hour"), hour[r]);
        ck_assert_str_eq(value(d, r, "time:weekday"), wday[r]);
    }
    int n = -1;
    ck_assert_int_eq(rec_dataset_num_contexts(d, &n), REC_OK);
    ck_assert_int_eq(n, 0); /* derived ones are not declared */
    const char *v;
    ck_assert_int_eq(rec_dataset_context_value(d, 5, "time:hour", &v), REC_E_RANGE);
    ck_assert_int_eq(rec_dataset_set_context(d, 0, "time:hour", "3"), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "derived"));
    rec_dataset_destroy(d);
    /* no timestamps: derived contexts are a state error */
    ck_assert_int_eq(rec_dataset_from_arrays(&d, u, it, NULL, NULL, 5), REC_OK);
    ck_assert_int_eq(rec_dataset_context_value(d, 0, "time:weekday", &v), REC_E_STATE);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "none"));
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(declared_and_split)
{
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    char us[8], is[8];
    for (int r = 0; r < 40; r++) {
        snprintf(us, sizeof us, "u%d", r % 4);
        snprintf(is, sizeof is, "i%d", r);
        ck_assert_int_eq(rec_dataset_add(d, us, is, NAN, 1000 + r), REC_OK);
    }
    ck_assert_int_eq(rec_dataset_set_context(d, 0, "device", "tv"), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "'device'"));
    int k = -1;
    ck_assert_int_eq(rec_dataset_add_context(d, "device", &k), REC_OK);
    ck_assert_int_eq(k, 0);
    ck_assert_int_eq(rec_dataset_add_context(d, "device", &k), REC_OK); /* no-op */
    ck_assert_int_eq(k, 0);
    ck_assert_int_eq(rec_dataset_add_context(d, "time:x", NULL), REC_E_INVALID);
    ck_assert_int_eq(rec_dataset_add_context(d, "", NULL), REC_E_INVALID);
    for (int r = 0; r < 40; r++)
        if (r % 5)
            ck_assert_int_eq(rec_dataset_set_context(d, r, "device", r % 2 ? "tv" : "phone"),
                             REC_OK);
    ck_assert_int_eq(rec_dataset_set_context(d, 40, "device", "tv"), REC_E_RANGE);
    ck_assert_ptr_null(value(d, 0, "device"));
    ck_assert_str_eq(value(d, 1, "device"), "tv");
    ck_assert_str_eq(value(d, 2, "device"), "phone");
    /* rows added after the declaration start missing */
    ck_assert_int_eq(rec_dataset_add(d, "u9", "i9", NAN, 5000), REC_OK);
    ck_assert_ptr_null(value(d, 40, "device"));
    ck_assert_int_eq(rec_dataset_set_context(d, 40, "device", "car"), REC_OK);
    const char *nm;
    ck_assert_int_eq(rec_dataset_context_name(d, 0, &nm), REC_OK);
    ck_assert_str_eq(nm, "device");
    ck_assert_int_eq(rec_dataset_context_name(d, 1, &nm), REC_E_RANGE);
    /* a split keeps each row's value: last:1 sends each user's latest row */
    rec_dataset *tr, *te;
    ck_assert_int_eq(rec_dataset_split(d, "last:1", 0, 1, &tr, &te), REC_OK);
    int64_t nte;
    ck_assert_int_eq(rec_dataset_num_interactions(te, &nte), REC_OK);
    ck_assert_int_eq(nte, 4); /* u9 keeps its one row in train */
    for (int64_t r = 0; r < nte; r++) {
        int64_t ts;
        ck_assert_int_eq(rec_dataset_row(te, r, NULL, NULL, NULL, &ts), REC_OK);
        int64_t src = ts - 1000;
        const char *want = src % 5 == 0 ? NULL
                         : src % 2 ? "tv" : "phone";
        const char *got = value(te, r, "device");
        if (want)
            ck_assert_str_eq(got, want);
        else
            ck_assert_ptr_null(got);
    }
    /* a new value set on the split does not reach the parent's vocabulary */
    ck_assert_int_eq(rec_dataset_set_context(te, 0, "device", "watch"), REC_OK);
    ck_assert_str_eq(value(te, 0, "device"), "watch");
    rec_dataset_destroy(d);
    ck_assert_str_eq(value(tr, 1, "device"), "tv");
    rec_dataset_destroy(tr);
    rec_dataset_destroy(te);
}
END_TEST

static const char *write_csv(const char *name, const char *text)
{
    const char *p = tu_tmp_path(name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return p;
}

START_TEST(csv_context)
{
    const char *p = write_csv("ctx.csv", "user,item,rating,device,timestamp,country\n"
                                         "a,x,4,tv,0,FR\n"
                                         "a,y,3,phone,259200,\n"
                                         "b,x,5, tv ,392700,DE\n");
    rec_params *o;
    ck_assert_int_eq(rec_params_create(&o), REC_OK);
    ck_assert_int_eq(rec_params_set_str(o, "context", "device,country"), REC_OK);
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_load(&d, p, "csv", o), REC_OK);
    int n;
    ck_assert_int_eq(rec_dataset_num_contexts(d, &n), REC_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(value(d, 0, "device"), "tv");
    ck_assert_str_eq(value(d, 1, "device"), "phone");
    ck_assert_str_eq(value(d, 2, "device"), "tv"); /* trimmed */
    ck_assert_str_eq(value(d, 0, "country"), "FR");
    ck_assert_ptr_null(value(d, 1, "country"));
    ck_assert_str_eq(value(d, 1, "time:weekday"), "6");
    ck_assert_str_eq(value(d, 2, "time:hour"), "13");
    int hr;
    ck_assert_int_eq(rec_dataset_has_ratings(d, &hr), REC_OK);
    ck_assert_int_eq(hr, 1);
    rec_dataset_destroy(d);
    /* without a header, through the columns option */
    p = write_csv("ctx2.csv", "a,x,tv\nb,y,phone\n");
    ck_assert_int_eq(rec_params_set_str(o, "context", "device"), REC_OK);
    ck_assert_int_eq(rec_params_set_str(o, "columns", "user,item,device"), REC_OK);
    ck_assert_int_eq(rec_dataset_load(&d, p, "csv", o), REC_OK);
    ck_assert_str_eq(value(d, 1, "device"), "phone");
    rec_dataset_destroy(d);
    /* a name in neither: an error naming it, nothing returned */
    ck_assert_int_eq(rec_params_set_str(o, "columns", ""), REC_OK);
    ck_assert_int_eq(rec_params_set_str(o, "context", "os"), REC_OK);
    d = (rec_dataset *)1;
    ck_assert_int_eq(rec_dataset_load(&d, p, "csv", o), REC_E_INVALID);
    ck_assert_ptr_null(d);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "'os'"));
    /* the context may not take the user column */
    p = write_csv("ctx3.csv", "user,item\na,x\n");
    ck_assert_int_eq(rec_params_set_str(o, "context", "user"), REC_OK);
    ck_assert_int_eq(rec_params_set_str(o, "columns", "user,item"), REC_OK);
    ck_assert_int_eq(rec_dataset_load(&d, p, "csv", o), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "user column"));
    rec_params_destroy(o);
}
END_TEST

/* ---- allocation failures: nothing leaks, nothing half-built ------------------ */

typedef struct oom_ctx {
    rec_dataset *d, *tr, *te;
    const char *path;
    rec_params *o;
} oom_ctx;

static rec_status run_load_split(void *p)
{
    oom_ctx *c = p;
    REC_TRY(rec_dataset_load(&c->d, c->path, "csv", c->o));
    REC_TRY(rec_dataset_add_context(c->d, "extra", NULL));
    REC_TRY(rec_dataset_set_context(c->d, 1, "extra", "v"));
    return rec_dataset_split(c->d, "holdout:0.5", 0, 3, &c->tr, &c->te);
}

static void cleanup_load_split(void *p)
{
    oom_ctx *c = p;
    rec_dataset_destroy(c->d);
    rec_dataset_destroy(c->tr);
    rec_dataset_destroy(c->te);
    c->d = c->tr = c->te = NULL;
}

START_TEST(alloc_failures)
{
    oom_ctx c = { 0 };
    c.path = write_csv("ctx_oom.csv", "user,item,device,timestamp\n"
                                      "a,x,tv,0\na,y,phone,100\nb,x,tv,200\nb,z,car,300\n");
    ck_assert_int_eq(rec_params_create(&c.o), REC_OK);
    ck_assert_int_eq(rec_params_set_str(c.o, "context", "device"), REC_OK);
    tu_call call = { NULL, run_load_split, cleanup_load_split };
    ck_assert_int_gt(tu_call_fails_cleanly(&call, &c), 5);
    rec_params_destroy(c.o);
}
END_TEST

Suite *rec_context_suite(void)
{
    Suite *s = suite_create("context");
    TCase *tc = tcase_create("context");
    tcase_add_test(tc, derived_buckets);
    tcase_add_test(tc, declared_and_split);
    tcase_add_test(tc, csv_context);
    tcase_add_test(tc, alloc_failures);
    suite_add_tcase(s, tc);
    return s;
}
