/* The `librec` program as scripts use it: train / eval / recommend /
 * similar on a small ratings file, the --json objects they print, and one
 * clear line on stderr with a non-zero exit for every bad input, leaving no
 * half-written model file and nothing on stdout (tu_cli_run runs the
 * build's own binary as a child process). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A failed command: non-zero exit, nothing on stdout, one line on stderr
 * starting "librec: " that contains want. */
static void expect_failure(const tu_cli *r, const char *want)
{
    ck_assert_msg(r->code != 0, "exit 0; stdout: %s", r->out);
    ck_assert_msg(r->out[0] == 0, "stdout on failure: %s", r->out);
    /* A failure after a load follows the load's summary line. */
    const char *err = r->err, *nl = strchr(err, '\n');
    if (nl && strstr(err, " users, ") && strstr(err, " users, ") < nl)
        err = nl + 1;
    ck_assert_msg(strncmp(err, "librec: ", 8) == 0, "stderr: %s", r->err);
    nl = strchr(err, '\n');
    ck_assert_msg(nl && nl[1] == 0, "not one line: %s", r->err);
    ck_assert_msg(strstr(err, want), "stderr lacks '%s': %s", want, r->err);
}

/* 40 users x 30 items in two taste groups (even users like items 0-14,
 * odd users 15-29), ids as strings the program must hand back. */
static const char *ratings_file(void)
{
    static char path[600];
    snprintf(path, sizeof path, "%s", tu_tmp_path("ratings.csv"));
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "userId,movieId,rating,timestamp\n");
    long t = 1000;
    for (int u = 0; u < 40; u++)
        for (int i = 0; i < 30; i++) {
            if ((u * 7 + i * 3) % 4 == 0)
                continue;
            int liked = (i < 15) == (u % 2 == 0);
            int r = liked ? 4 + (u + i) % 2 : 1 + (u + i) % 2;
            fprintf(f, "user%d,movie%d,%d,%ld\n", u, i, r, t++);
        }
    fclose(f);
    return path;
}

START_TEST(eval_prints_fold_means_and_stds_as_json)
{
    const char *data = ratings_file();
    tu_cli *r = malloc(sizeof *r);
    tu_cli_run(r, (const char *[]){ "eval", "--model", "svd", "--data", data, "--split", "kfold:3",
                                    "--metrics", "rmse,mae", "--json", "--param", "n_factors=8",
                                    NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_ptr_nonnull(strstr(r->out, "\"model\": \"svd\""));
    ck_assert_ptr_nonnull(strstr(r->out, "\"split\": \"kfold:3\""));
    ck_assert_int_eq((int)tu_json_num(r->out, "folds"), 3);
    const char *std = strstr(r->out, "\"std\": {");
    ck_assert_ptr_nonnull(std);
    double rmse = tu_json_num(r->out, "rmse"), mae = tu_json_num(r->out, "mae");
    double rmse_sd = tu_json_num(std, "rmse");
    /* Two clear taste groups on a 1-5 scale: far better than guessing the
     * mean (about 1.6), and the folds differ a little. */
    ck_assert_msg(rmse > 0 && rmse < 1.2, "rmse %g", rmse);
    ck_assert_msg(mae > 0 && mae <= rmse, "mae %g", mae);
    ck_assert_msg(rmse_sd > 0 && rmse_sd < 0.5, "rmse std %g", rmse_sd);
    /* Not a terminal: no progress bar. */
    ck_assert_ptr_null(strchr(r->err, '\r'));
    /* One JSON object, one line. */
    ck_assert_msg(strchr(r->out, '\n') == r->out + strlen(r->out) - 1, "%s", r->out);

    /* Leave-last-out, full ranking, every ranking metric by name. */
    tu_cli_run(r, (const char *[]){ "eval", "--model", "itemcf", "--data", data, "--split",
                                    "last:1", "--metrics",
                                    "hit@10,ndcg@10,mrr,precision@5,recall@5", "--json", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_int_eq((int)tu_json_num(r->out, "users"), 40);
    double hit = tu_json_num(r->out, "hit@10");
    ck_assert_msg(hit > 0.5 && hit <= 1, "itemcf hit@10 %g on two clean groups", hit);
    ck_assert(tu_json_num(r->out, "ndcg@10") > 0 && tu_json_num(r->out, "mrr") > 0);

    /* A ranking-only model is refused for rmse rather than scored. */
    tu_cli_run(r, (const char *[]){ "eval", "--model", "popularity", "--data", data, "--split",
                                    "holdout:0.2", "--metrics", "rmse", "--json", NULL });
    expect_failure(r, "'rmse' needs a model that predicts ratings");
    free(r);
}
END_TEST

START_TEST(train_recommend_similar_round_trip)
{
    const char *data = ratings_file();
    char model[600];
    snprintf(model, sizeof model, "%s", tu_tmp_path("icf.lrm"));
    tu_cli *r = malloc(sizeof *r);
    tu_cli_run(
        r, (const char *[]){ "train", "--model", "itemcf", "--data", data, "--out", model, NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_ptr_nonnull(strstr(r->err, "saved itemcf model to"));
    ck_assert_int_eq(access(model, R_OK), 0);

    tu_cli_run(r, (const char *[]){ "recommend", "--load", model, "--user", "user0", "-k", "5",
                                    "--json", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_ptr_nonnull(strstr(r->out, "{\"user\": \"user0\", \"items\": ["));
    /* user0 (even) rated every movie i < 15 with (7u + 3i) % 4 != 0 except
     * those it skipped: 0, 4, 8, 12 (and 16, 20, 24, 28 of the other group).
     * Its unseen liked-group items rank first, as the user's own ids. */
    int n = 0, liked = 0;
    for (const char *p = r->out; (p = strstr(p, "\"item\": \"movie")); n++) {
        p += strlen("\"item\": \"movie");
        int i = atoi(p);
        ck_assert_msg(i % 4 == 0, "user0 already rated movie%d: %s", i, r->out);
        liked += i < 15;
    }
    ck_assert_int_eq(n, 5);
    ck_assert_msg(liked == 4, "the 4 unseen liked movies first: %s", r->out);
    ck_assert(!isnan(tu_json_num(r->out, "score")));

    /* Plain text: rank, id, score per line. */
    tu_cli_run(
        r, (const char *[]){ "recommend", "--load", model, "--user", "user0", "-k", "2", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_ptr_nonnull(strstr(r->out, "1\tmovie"));
    ck_assert_ptr_nonnull(strstr(r->out, "\n2\tmovie"));

    tu_cli_run(r, (const char *[]){ "similar", "--load", model, "--item", "movie3", "-k", "3",
                                    "--json", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_ptr_nonnull(strstr(r->out, "{\"item\": \"movie3\", \"items\": ["));
    for (const char *p = r->out + 10; (p = strstr(p, "\"item\": \"movie"));) {
        p += strlen("\"item\": \"movie");
        ck_assert_msg(atoi(p) < 15, "movie3's neighbours are in its group: %s", r->out);
    }

    tu_cli_run(r, (const char *[]){ "recommend", "--load", model, "--user", "nobody", NULL });
    expect_failure(r, "nobody");
    tu_cli_run(r, (const char *[]){ "similar", "--load", model, "--item", "movie99", NULL });
    expect_failure(r, "movie99");
    free(r);
}
END_TEST

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(bad_input_gives_one_clear_line)
{
    const char *data = ratings_file();
    tu_cli *r = malloc(sizeof *r);
    tu_cli_run(r, (const char *[]){ "eval", "--model", "svd", "--data", "/nonexistent/r.csv",
                                    "--split", "kfold:5", "--metrics", "rmse", NULL });
    expect_failure(r, "/nonexistent/r.csv");

    char bad[600];
    snprintf(bad, sizeof bad, "%s", tu_tmp_path("bad.csv"));
    write_file(bad, "user,item,rating\nu1,i1,4\nu2,i2,four\nu3,i3,2\n");
    tu_cli_run(r, (const char *[]){ "train", "--model", "svd", "--data", bad, "--format", "csv",
                                    "--out", tu_tmp_path("never.lrm"), NULL });
    expect_failure(r, "line 3");
    ck_assert_msg(strstr(r->err, "bad.csv"), "names the file: %s", r->err);
    /* the column is where the bad field starts: "u2,i2," is 6 characters */
    ck_assert_msg(strstr(r->err, "line 3, column 7: rating 'four'"), "%s", r->err);
    ck_assert_int_ne(access(tu_tmp_path("never.lrm"), F_OK), 0);

    tu_cli_run(
        r, (const char *[]){ "train", "--model", "svdd", "--data", data, "--out", "x.lrm", NULL });
    expect_failure(r, "svdd");
    ck_assert_int_eq(r->code, 2);
    tu_cli_run(r, (const char *[]){ "eval", "--model", "svd", "--data", data, "--split", "kfold:5",
                                    "--metrics", "rmse", "--param", "n_factorz=8", NULL });
    expect_failure(r, "n_factorz");
    tu_cli_run(r, (const char *[]){ "eval", "--model", "svd", "--data", data, "--split", "kfold:5",
                                    "--metrics", "rmse", "--param", "n_factors=-3", NULL });
    expect_failure(r, "n_factors");
    tu_cli_run(r, (const char *[]){ "eval", "--model", "svd", "--data", data, "--split", "kfold:0",
                                    "--metrics", "rmse", NULL });
    expect_failure(r, "kfold:0");
    tu_cli_run(r, (const char *[]){ "eval", "--model", "svd", "--data", data, "--split", "kfold:5",
                                    "--metrics", "rmse,ndgc@10", NULL });
    expect_failure(r, "ndgc@10");
    tu_cli_run(r, (const char *[]){ "eval", "--model", "svd", "--data", data, "--split", "kfold:5",
                                    "--metrics", "rmse", "--protocol", "sampled:x", NULL });
    expect_failure(r, "sampled:x");
    tu_cli_run(r, (const char *[]){ "eval", "--model", "svd", "--data", data, "--split", "kfold:5",
                                    NULL });
    expect_failure(r, "--metrics");
    tu_cli_run(r, (const char *[]){ "eval", "--model", "svd", "--data", data, "--splitt", "kfold:5",
                                    NULL });
    expect_failure(r, "--splitt");
    tu_cli_run(r, (const char *[]){ "recommend", "--load", data, "--user", "user0", NULL });
    expect_failure(r, "cannot load model");
    tu_cli_run(r, (const char *[]){ "frobnicate", NULL });
    expect_failure(r, "frobnicate");
    free(r);
}
END_TEST

START_TEST(failed_training_leaves_the_old_model_file)
{
    const char *data = ratings_file();
    char model[600];
    snprintf(model, sizeof model, "%s", tu_tmp_path("keep.lrm"));
    tu_cli *r = malloc(sizeof *r);
    tu_cli_run(r, (const char *[]){ "train", "--model", "popularity", "--data", data, "--out",
                                    model, "--quiet", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_msg(r->err[0] == 0, "--quiet prints nothing: %s", r->err);
    struct stat before, after;
    ck_assert_int_eq(stat(model, &before), 0);
    static char a[1 << 16], b[1 << 16];
    tu_slurp(model, a, sizeof a);
    /* A model file that is not one: the loader's error, then the same file. */
    char bad[600];
    snprintf(bad, sizeof bad, "%s", tu_tmp_path("bad.csv"));
    write_file(bad, "user,item\nu1\n");
    tu_cli_run(r, (const char *[]){ "train", "--model", "popularity", "--data", bad, "--format",
                                    "csv", "--out", model, NULL });
    expect_failure(r, "line 2");
    ck_assert_int_eq(stat(model, &after), 0);
    ck_assert_int_eq(before.st_size, after.st_size);
    tu_slurp(model, b, sizeof b);
    ck_assert_int_eq(memcmp(a, b, (size_t)before.st_size), 0);
    /* A directory that does not exist: an error, no file anywhere. */
    tu_cli_run(r, (const char *[]){ "train", "--model", "popularity", "--data", data, "--out",
                                    "/nonexistent-dir/m.lrm", NULL });
    expect_failure(r, "/nonexistent-dir/m.lrm");
    free(r);
}
END_TEST

START_TEST(every_load_says_what_it_read)
{
    const char *data = ratings_file();
    char model[600], want[900];
    snprintf(model, sizeof model, "%s", tu_tmp_path("pop.lrm"));
    tu_cli *r = malloc(sizeof *r);
    tu_cli_run(r, (const char *[]){ "train", "--model", "popularity", "--data", data, "--out",
                                    model, NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    snprintf(want, sizeof want, "librec: %s: 40 users, 30 items, 900 interactions, ratings 1 to "
                                "5, timestamps 1000 to 1899, format movielens (detected), "
                                "header skipped\n", data);
    ck_assert_msg(strncmp(r->err, want, strlen(want)) == 0, "stderr: %s", r->err);
    tu_cli_run(r, (const char *[]){ "train", "--model", "popularity", "--data", data, "--out",
                                    model, "--quiet", NULL });
    ck_assert_msg(r->code == 0 && r->err[0] == 0, "--quiet: %s", r->err);
    /* goodbooks' tags.csv: loads, but says which columns became users and items */
    char tags[600];
    snprintf(tags, sizeof tags, "%s", tu_tmp_path("tags.csv"));
    write_file(tags, "tag_id,tag_name\n0,-\n1,--1-\n");
    tu_cli_run(r, (const char *[]){ "train", "--model", "popularity", "--data", tags, "--out",
                                    model, "--quiet", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    snprintf(want, sizeof want, "librec: warning: %s: the header names no user and item columns; "
                                "took column 1 'tag_id' as user, column 2 'tag_name' as item "
                                "(set columns to choose)\n", tags);
    ck_assert_str_eq(r->err, want);
    free(r);
}
END_TEST

START_TEST(help_lists_a_models_params_from_the_library)
{
    tu_cli *r = malloc(sizeof *r);
    tu_cli_run(r, (const char *[]){ "help", "svd", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_ptr_nonnull(strstr(r->out, "--param n_factors=100  (int in [1, 4096])"));
    ck_assert_ptr_nonnull(strstr(r->out, "--param lr_all="));
    tu_cli_run(r, (const char *[]){ "models", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    const char *kinds[] = { "popularity", "usercf", "itemcf", "tfidf",    "svd",   "svdpp",
                            "als",        "mf",     "dnn",    "twotower", "sasrec",
                            "lightgcn" };
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
        ck_assert_msg(strstr(r->out, kinds[k]), "models lacks %s", kinds[k]);
    tu_cli_run(r, (const char *[]){ "help", "nosuchmodel", NULL });
    expect_failure(r, "nosuchmodel");
    free(r);
}
END_TEST

static const char *write_text(const char *name, const char *text)
{
    static char keep[4][600];
    static int k;
    char *path = keep[k++ & 3];
    snprintf(path, 600, "%s", tu_tmp_path(name));
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* A published split in LightGCN's layout, ranked by popularity (train
 * counts: item 1 x3, 2 x3, 3 x1, 4 x1; ties to the earlier item).
 *   user 0 (train 1 2 3): ranks 4; test {4} (9 is unknown): hit at 1
 *   user 1 (train 1 2):   ranks 3 4; test {3, 4}: hits at 1 and 2
 *   user 2 (train 1 4):   ranks 2 3; test {3}: hit at 2
 *   user 7: unknown.
 * recall@1 = (1 + 1/2 + 0) / 3, ndcg@1 = (1 + 1 + 0) / 3,
 * recall@2 = 1, ndcg@2 = (1 + 1 + 1/log2(3)) / 3. */
START_TEST(eval_on_a_given_test_file)
{
    const char *train = write_text("lg_train.txt", "0 1 2 3\n1 1 2\n2 1 4\n3 2\n");
    const char *test = write_text("lg_test.txt", "0 4 9\n1 3 4\n2 3\n7 1\n");
    tu_cli *r = malloc(sizeof *r);
    tu_cli_run(r, (const char *[]){ "eval", "--model", "popularity", "--data", train, "--test",
                                    test, "--format", "lightgcn", "--metrics",
                                    "recall@1,ndcg@1,recall@2,ndcg@2", "--json", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_float_near(tu_json_num(r->out, "recall@1"), 0.5, 1e-6);
    ck_assert_float_near(tu_json_num(r->out, "ndcg@1"), 2.0 / 3, 1e-6);
    ck_assert_float_near(tu_json_num(r->out, "recall@2"), 1.0, 1e-6);
    ck_assert_float_near(tu_json_num(r->out, "ndcg@2"), (2 + 1 / log2(3.0)) / 3, 1e-6);
    ck_assert_int_eq((int)tu_json_num(r->out, "users"), 3);
    ck_assert_int_eq((int)tu_json_num(r->out, "skipped_rows"), 2);
    ck_assert_int_eq((int)tu_json_num(r->out, "unknown_users"), 1);
    ck_assert_int_eq((int)tu_json_num(r->out, "unknown_items"), 1);
    tu_cli_run(r, (const char *[]){ "eval", "--model", "popularity", "--data", train, "--test",
                                    test, "--format", "lightgcn", "--metrics", "recall@1",
                                    NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_ptr_nonnull(strstr(r->out, "skipped 2 test rows: 1 users and 1 items absent from "
                                         "training"));
    tu_cli_run(r, (const char *[]){ "eval", "--model", "popularity", "--data", train, "--test",
                                    test, "--split", "user:0.2", "--metrics", "recall@1",
                                    NULL });
    expect_failure(r, "--split HOW or --test PATH, not both");
    tu_cli_run(r, (const char *[]){ "eval", "--model", "popularity", "--data", train, "--test",
                                    tu_tmp_path("no_such_test.txt"), "--metrics", "recall@1",
                                    NULL });
    expect_failure(r, "cannot load test data");
    tu_cli_run(r, (const char *[]){ "eval", "--model", "popularity", "--data", train, "--test",
                                    write_text("lg_empty.txt", "\n\n"), "--format",
                                    "lightgcn", "--metrics", "recall@1", NULL });
    expect_failure(r, "empty file: no users");
    free(r);
}
END_TEST

Suite *rec_cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, eval_prints_fold_means_and_stds_as_json);
    tcase_add_test(tc, train_recommend_similar_round_trip);
    tcase_add_test(tc, bad_input_gives_one_clear_line);
    tcase_add_test(tc, failed_training_leaves_the_old_model_file);
    tcase_add_test(tc, help_lists_a_models_params_from_the_library);
    tcase_add_test(tc, every_load_says_what_it_read);
    tcase_add_test(tc, eval_on_a_given_test_file);
    suite_add_tcase(s, tc);
    return s;
}
