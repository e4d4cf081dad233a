/* The `librec` program as scripts use it: train / eval / recommend /
 * similar on a small ratings file, the --json objects they print, and one
 * clear line on stderr with a non-zero exit for every bad input, leaving no
 * half-written model file and nothing on stdout (tu_cli_run runs the
 * build's own binary as a child process). */
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

/* A cold-items split ranks the held-out items among the cold ones unless
 * --protocol says otherwise; a cold-users split ranks every item. */
START_TEST(eval_cold_splits_pick_their_protocol)
{
    const char *data = ratings_file();
    tu_cli *r = malloc(sizeof *r);
    tu_cli_run(r, (const char *[]){ "eval", "--model", "popularity", "--data", data, "--split",
                                    "cold-items:0.3", "--metrics", "auc,recall@5", "--json",
                                    NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_ptr_nonnull(strstr(r->out, "\"protocol\": \"cold\""));
    /* popularity scores every cold item 0: AUC among them is 1/2 exactly */
    ck_assert_double_eq_tol(tu_json_num(r->out, "auc"), 0.5, 1e-9);
    tu_cli_run(r, (const char *[]){ "eval", "--model", "popularity", "--data", data, "--split",
                                    "cold-items:0.3", "--protocol", "full", "--metrics", "auc",
                                    "--json", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_ptr_nonnull(strstr(r->out, "\"protocol\": \"full\""));
    ck_assert_double_lt(tu_json_num(r->out, "auc"), 0.5); /* warm items outrank them */
    tu_cli_run(r, (const char *[]){ "eval", "--model", "popularity", "--data", data, "--split",
                                    "cold-users:0.3", "--metrics", "auc", "--json", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_ptr_nonnull(strstr(r->out, "\"protocol\": \"full\""));
    free(r);
}
END_TEST

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
    ck_assert_ptr_nonnull(strstr(r->out, "--param dim=100  (int in [1, 4096])"));
    ck_assert_ptr_nonnull(strstr(r->out, "--param lr="));
    ck_assert_ptr_nonnull(strstr(r->out, "also: factors, n_factors, num_factors, embedding_size"));
    tu_cli_run(r, (const char *[]){ "models", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    const char *kinds[] = { "popularity", "usercf", "itemcf", "tfidf",    "svd",   "svdpp",
                            "als",        "mf",     "dnn",    "twotower", "sasrec",
                            "lightgcn",   "ngcf" };
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
        ck_assert_msg(strstr(r->out, kinds[k]), "models lacks %s", kinds[k]);
    tu_cli_run(r, (const char *[]){ "help", "nosuchmodel", NULL });
    expect_failure(r, "nosuchmodel");
    free(r);
}
END_TEST

/* A librec built without MPI (make check's) refuses --distributed. */
START_TEST(distributed_needs_an_mpi_build)
{
    tu_cli *r = malloc(sizeof *r);
    tu_cli_run(r, (const char *[]){ "train", "--distributed", "--model", "mf", "--data",
                                    "x.csv", "--out", "x.lrm", NULL });
    ck_assert_int_eq(r->code, 2);
    ck_assert_str_eq(r->err, "librec: --distributed needs a librec built with MPI (make MPI=1) "
                             "(see 'librec help')\n");
    free(r);
}
END_TEST

/* ---- a JSON checker: the whole text is one value (RFC 8259 grammar) ---- */

static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static const char *json_value(const char *p);

static const char *json_string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    for (; *p != '"'; p++) {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if ((unsigned char)*p >= 0x80) { /* UTF-8 (no overlong or surrogate check) */
            unsigned char c = (unsigned char)*p;
            int n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
            if (!n)
                return NULL;
            for (int i = 1; i < n; i++)
                if (((unsigned char)p[i] & 0xc0) != 0x80)
                    return NULL;
            p += n - 1;
            continue;
        }
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
                        return NULL;
                p += 4;
            } else if (!*p || !strchr("\"\\/bfnrt", *p))
                return NULL;
        }
    }
    return p + 1;
}

static const char *json_number(const char *p)
{
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return NULL;
    if (*p == '.') {
        if (!(*++p >= '0' && *p <= '9'))
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        if (*++p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return p;
}

static const char *json_members(const char *p, char close, int keyed)
{
    p = json_ws(p + 1);
    if (*p == close)
        return p + 1;
    for (;;) {
        if (keyed) {
            if (!(p = json_string(p)))
                return NULL;
            p = json_ws(p);
            if (*p++ != ':')
                return NULL;
        }
        if (!(p = json_value(p)))
            return NULL;
        p = json_ws(p);
        if (*p == close)
            return p + 1;
        if (*p++ != ',')
            return NULL;
        p = json_ws(p);
    }
}

static const char *json_value(const char *p)
{
    p = json_ws(p);
    if (*p == '{')
        return json_members(p, '}', 1);
    if (*p == '[')
        return json_members(p, ']', 0);
    if (*p == '"')
        return json_string(p);
    for (size_t i = 0; i < 3; i++) {
        const char *lit = (const char *[]){ "true", "false", "null" }[i];
        if (!strncmp(p, lit, strlen(lit)))
            return p + strlen(lit);
    }
    return json_number(p);
}

static void expect_json(const char *text)
{
    const char *end = json_value(text);
    ck_assert_msg(end && *json_ws(end) == 0, "not one JSON value: %s", text);
}

/* Every user's held-out row re-rates an item of their training rows, which
 * the full protocol drops, so no ranking metric has a user to average over:
 * NaN in the library, null (with the reason) in JSON, where a bare nan used
 * to be printed with exit 0. */
START_TEST(json_stays_valid_when_a_metric_is_undefined)
{
    char data[600];
    snprintf(data, sizeof data, "%s", tu_tmp_path("unseen.csv"));
    FILE *f = fopen(data, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "user,item,rating,timestamp\n");
    for (int u = 0; u < 12; u++) {
        for (int i = 0; i < 6; i++)
            fprintf(f, "u%d,i%d,%d,%d\n", u, (u + i) % 9, 1 + (u + i) % 5, 100 + i);
        fprintf(f, "u%d,i%d,4,900\n", u, u % 9);
    }
    fclose(f);
    tu_cli *r = malloc(sizeof *r);
    tu_cli_run(r, (const char *[]){ "eval", "--model", "popularity", "--data", data, "--split",
                                    "last:1", "--metrics", "ndcg@10,hit@5", "--json", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    expect_json(r->out);
    ck_assert_msg(strstr(r->out, "\"metrics\": {\"ndcg@10\": null, \"hit@5\": null}, "
                                 "\"std\": {\"ndcg@10\": null, \"hit@5\": null}"), "%s", r->out);
    ck_assert_msg(strstr(r->out, "\"undefined\": {\"ndcg@10\": \"no test user to average "
                                 "over"), "%s", r->out);
    /* The same as text: a dash and the reason, never "nan". */
    tu_cli_run(r, (const char *[]){ "eval", "--model", "popularity", "--data", data, "--split",
                                    "last:1", "--metrics", "ndcg@10", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_msg(strstr(r->out, "ndcg@10        -       (no test user"), "%s", r->out);
    ck_assert_ptr_null(strstr(r->out, "nan"));

    /* Defined values stay numbers, and "undefined" is empty. */
    const char *ok = ratings_file();
    tu_cli_run(r, (const char *[]){ "eval", "--model", "itemcf", "--data", ok, "--split",
                                    "last:1", "--metrics", "hit@10,rmse", "--json", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    expect_json(r->out);
    ck_assert_msg(strstr(r->out, "\"undefined\": {}, \"seed\": "), "%s", r->out);
    ck_assert(tu_json_num(r->out, "hit@10") > 0);
    free(r);
}
END_TEST

/* Ids are bytes; JSON text is UTF-8: an id that is not UTF-8 (added
 * through the API from a Latin-1 source; the file loaders convert) is
 * escaped byte by byte as \u00XX, one that is passes unchanged. */
START_TEST(json_strings_are_always_utf8)
{
    char model[600];
    snprintf(model, sizeof model, "%s", tu_tmp_path("latin1.lrm"));
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    for (int u = 0; u < 6; u++) {
        char us[8];
        snprintf(us, sizeof us, "u%d", u);
        ck_assert_int_eq(rec_dataset_add(d, us, "caf\xe9", 4, REC_NO_TIME), REC_OK);
        ck_assert_int_eq(rec_dataset_add(d, us, "na\xc3\xafve", 2 + u % 3, REC_NO_TIME), REC_OK);
        ck_assert_int_eq(rec_dataset_add(d, us, u % 2 ? "plain1" : "plain0", 3, REC_NO_TIME),
                         REC_OK);
    }
    ck_assert_int_eq(rec_dataset_add(d, "v", "plain0", 5, REC_NO_TIME), REC_OK);
    rec_model *m = tu_fit("itemcf", d, NULL, 0);
    ck_assert_int_eq(rec_model_save(m, model), REC_OK);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
    tu_cli *r = malloc(sizeof *r);
    tu_cli_run(r, (const char *[]){ "recommend", "--load", model, "--user", "v", "--json",
                                    NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    expect_json(r->out);
    ck_assert_msg(strstr(r->out, "\"caf\\u00e9\""), "%s", r->out);
    ck_assert_msg(strstr(r->out, "\"na\xc3\xafve\""), "%s", r->out);
    free(r);
}
END_TEST

START_TEST(numbers_on_the_command_line_are_strict)
{
    const char *data = ratings_file();
    char model[600];
    snprintf(model, sizeof model, "%s", tu_tmp_path("num.lrm"));
    tu_cli *r = malloc(sizeof *r);
    tu_cli_run(r, (const char *[]){ "train", "--model", "popularity", "--data", data, "--out",
                                    model, "--quiet", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    static const struct {
        const char *opt, *value, *want;
    } bad[] = {
        { "-k", "1e20", "-k: '1e20' is not a whole number from 1 to 2147483647" },
        { "-k", "99999999999999999999", "-k: '99999999999999999999' is not" },
        { "-k", "0", "-k: '0' is not" },
        { "-k", "-3", "-k: '-3' is not" },
        { "-k", " 5", "-k: ' 5' is not" },
        { "-k", "", "-k: '' is not" },
        { "--threads", "abc", "--threads: 'abc' is not a whole number from 0 to 256" },
        { "--threads", "257", "--threads: '257' is not" },
        { "--threads", "2x", "--threads: '2x' is not" },
        { "--seed", "-1", "--seed: '-1' is not" },
        { "--seed", "18446744073709551616", "--seed: '18446744073709551616' is not" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tu_cli_run(r, (const char *[]){ "recommend", "--load", model, "--user", "user0",
                                        bad[i].opt, bad[i].value, NULL });
        expect_failure(r, bad[i].want);
        ck_assert_int_eq(r->code, 2);
    }
    tu_cli_run(r, (const char *[]){ "eval", "--model", "popularity", "--data", data, "--split",
                                    "kfold:3x", "--metrics", "hit@10", NULL });
    expect_failure(r, "bad split 'kfold:3x'");
    ck_assert_int_eq(r->code, 2);
    /* -k far beyond the catalogue: the unseen items, nothing more, and no
     * allocation sized by k (ASan used to abort here). */
    tu_cli_run(r, (const char *[]){ "recommend", "--load", model, "--user", "user0", "-k",
                                    "2147483647", "--threads", "1", "--seed", "7", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    int lines = 0;
    for (const char *p = r->out; (p = strchr(p, '\n')); p++)
        lines++;
    ck_assert_int_eq(lines, 8); /* user0 skipped 8 of the 30 movies */
    free(r);
}
END_TEST

START_TEST(out_that_is_the_data_file_is_refused)
{
    const char *data = ratings_file();
    static char before[1 << 16], after[1 << 16];
    tu_slurp(data, before, sizeof before);
    char link[600], dotted[700];
    snprintf(link, sizeof link, "%s", tu_tmp_path("same.csv"));
    unlink(link);
    ck_assert_int_eq(symlink(data, link), 0);
    const char *slash = strrchr(data, '/');
    snprintf(dotted, sizeof dotted, "%.*s/./%s", (int)(slash - data), data, slash + 1);
    tu_cli *r = malloc(sizeof *r);
    const char *outs[] = { data, link, dotted };
    for (size_t i = 0; i < 3; i++) {
        tu_cli_run(r, (const char *[]){ "train", "--model", "popularity", "--data", data,
                                        "--out", outs[i], NULL });
        expect_failure(r, "is the --data file");
        ck_assert_int_eq(r->code, 2);
        tu_slurp(data, after, sizeof after);
        ck_assert_str_eq(before, after);
    }
    free(r);
}
END_TEST

/* librec(1) keeps exit code 2 for command-line mistakes: a run that fails
 * (svd diverging at a learning rate it accepts) is 1, with the hint. */
START_TEST(diverging_training_exits_1_with_the_hint)
{
    const char *data = ratings_file();
    tu_cli *r = malloc(sizeof *r);
    tu_cli_run(r, (const char *[]){ "train", "--model", "svd", "--data", data, "--param",
                                    "lr_all=10", "--out", tu_tmp_path("div.lrm"), NULL });
    expect_failure(r, "diverged");
    ck_assert_msg(strstr(r->err, "lower lr"), "%s", r->err);
    ck_assert_int_eq(r->code, 1);
    tu_cli_run(r, (const char *[]){ "eval", "--model", "svd", "--data", data, "--param",
                                    "lr_all=10", "--split", "kfold:3", "--metrics", "rmse", NULL });
    expect_failure(r, "diverged");
    ck_assert_int_eq(r->code, 1);
    free(r);
}
END_TEST

/* Names in dir that start with prefix. */
static int count_prefixed(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

/* A file-size limit below the model's size: SIGXFSZ arrives in the middle
 * of the save, every time (Ctrl-C, SIGTERM and SIGHUP take the same
 * handler).  The process still dies of it, and leaves no temporary file. */
START_TEST(a_signal_during_save_leaves_no_temporary_file)
{
    const char *data = ratings_file();
    char dir[600], model[700];
    snprintf(dir, sizeof dir, "%s", tu_tmp_path("sigdir"));
    mkdir(dir, 0700);
    snprintf(model, sizeof model, "%s/m.lrm", dir);
    const char *build = getenv("LIBREC_BUILD");
    ck_assert_ptr_nonnull(build);
    char exe[700];
    snprintf(exe, sizeof exe, "%s/bin/librec", build);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct rlimit lim = { 2048, 2048 };
        int null = open("/dev/null", O_RDWR);
        dup2(null, 1);
        dup2(null, 2);
        setrlimit(RLIMIT_FSIZE, &lim);
        execl(exe, exe, "train", "--model", "svd", "--param", "n_factors=16", "--data", data,
              "--out", model, (char *)NULL);
        _exit(127);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGXFSZ, "status %#x", status);
    ck_assert_int_eq(count_prefixed(dir, "m.lrm"), 0);
}
END_TEST

/* Temporary files of processes that no longer run are swept before a save
 * to the same output; a live process's (this test's) and other names stay. */
START_TEST(stale_temporary_files_of_dead_processes_are_swept)
{
    const char *data = ratings_file();
    char dir[600], path[800];
    snprintf(dir, sizeof dir, "%s", tu_tmp_path("sweep"));
    mkdir(dir, 0700);
    pid_t dead = fork();
    ck_assert_int_ge(dead, 0);
    if (dead == 0)
        _exit(0);
    ck_assert_int_eq(waitpid(dead, NULL, 0), dead);
    const char *names[] = { "m.lrm.tmp-%ld-0", "m.lrm.tmp-%ld-3", "m.lrm.tmp-%ld-0x",
                            "other.lrm.tmp-%ld-0", "m.lrm.tmp-%ld-1" };
    long pids[] = { dead, dead, dead, dead, (long)getpid() };
    for (size_t i = 0; i < 5; i++) {
        char name[64];
        snprintf(name, sizeof name, names[i], pids[i]);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        write_file(path, "half a model");
    }
    snprintf(path, sizeof path, "%s/m.lrm", dir);
    tu_cli *r = malloc(sizeof *r);
    tu_cli_run(r, (const char *[]){ "train", "--model", "popularity", "--data", data, "--out",
                                    path, NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    char want[128];
    snprintf(want, sizeof want, "m.lrm.tmp-%ld-3, left by process %ld that no longer runs",
             (long)dead, (long)dead);
    ck_assert_msg(strstr(r->err, want), "%s", r->err);
    /* left: m.lrm, the live process's file, the odd name, the other output's */
    ck_assert_int_eq(count_prefixed(dir, "m.lrm"), 3);
    ck_assert_int_eq(count_prefixed(dir, "other.lrm"), 1);
    snprintf(path, sizeof path, "%s/m.lrm.tmp-%ld-1", dir, (long)getpid());
    ck_assert_int_eq(access(path, F_OK), 0);
    free(r);
}
END_TEST

/* The librec program with stderr on a pseudo-terminal, as a person runs
 * it (the progress bar is only drawn on a terminal): what it wrote there. */
static void run_on_tty(const char *const *args, char *buf, size_t cap)
{
    const char *build = getenv("LIBREC_BUILD");
    ck_assert_ptr_nonnull(build);
    char exe[700];
    snprintf(exe, sizeof exe, "%s/bin/librec", build);
    int mfd = posix_openpt(O_RDWR | O_NOCTTY);
    ck_assert_int_ge(mfd, 0);
    ck_assert_int_eq(grantpt(mfd), 0);
    ck_assert_int_eq(unlockpt(mfd), 0);
    char slave[256];
    snprintf(slave, sizeof slave, "%s", ptsname(mfd));
    char *argv[40] = { exe };
    for (int n = 0; args[n] && n < 38; n++)
        argv[n + 1] = (char *)args[n];
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setsid();
        int sfd = open(slave, O_RDWR), null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(sfd, 2);
        close(mfd);
        execv(exe, argv);
        _exit(127);
    }
    size_t len = 0;
    for (ssize_t n; len + 1 < cap && (n = read(mfd, buf + len, cap - 1 - len)) > 0;)
        len += (size_t)n; /* ends with EIO once the child's terminal closes */
    buf[len] = 0;
    close(mfd);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", buf);
}

/* The progress bar shows the steps a one-pass model runs and the epochs a
 * model really runs, and "-" for a step without a loss: itemcf used to
 * show nothing until the end and then "loss nan", svd "epoch 3/6" for
 * n_epochs=3. */
START_TEST(progress_shows_steps_epochs_and_no_nan)
{
    const char *data = ratings_file();
    static char tty[16384];
    run_on_tty((const char *[]){ "train", "--model", "itemcf", "--data", data, "--out",
                                 tu_tmp_path("p_icf.lrm"), NULL },
               tty, sizeof tty);
    ck_assert_msg(strstr(tty, "] ratings 1/4  loss -  "), "%s", tty);
    ck_assert_msg(strstr(tty, "] similarities 3/4  loss -  "), "%s", tty);
    ck_assert_msg(strstr(tty, "] ranking lists 4/4  loss -  "), "%s", tty);
    ck_assert_msg(!strstr(tty, "nan"), "%s", tty);
    run_on_tty((const char *[]){ "train", "--model", "svd", "--param", "n_epochs=3", "--data",
                                 data, "--out", tu_tmp_path("p_svd.lrm"), NULL },
               tty, sizeof tty);
    ck_assert_msg(strstr(tty, "] epoch 3/3  loss "), "%s", tty);
    ck_assert_msg(strstr(tty, "] ranking head epoch 3/3  loss "), "%s", tty);
    ck_assert_msg(!strstr(tty, "/6"), "%s", tty);
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

/* ---- librec index ---- */

/* A .npy (format 1.0) of rows x cols floats; descr "<f4" unless told. */
static const char *write_npy(const char *name, const char *descr, size_t rows, size_t cols,
                             const float *x)
{
    static char path[600];
    snprintf(path, sizeof path, "%s", tu_tmp_path(name));
    char h[128];
    int n = snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': False, 'shape': (%zu, %zu), }",
                     descr, rows, cols);
    size_t hlen = ((size_t)n + 11 + 63) / 64 * 64 - 10;
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    unsigned char pre[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 255),
                              (unsigned char)(hlen >> 8) };
    fwrite(pre, 1, 10, f);
    fwrite(h, 1, (size_t)n, f);
    for (size_t i = (size_t)n; i + 1 < hlen; i++)
        fputc(' ', f);
    fputc('\n', f);
    fwrite(x, sizeof *x, rows * cols, f);
    fclose(f);
    return path;
}

static float *grid_vectors(size_t n, size_t d)
{
    float *x = malloc(n * d * sizeof *x);
    uint64_t s = 12345;
    for (size_t i = 0; i < n * d; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((s >> 40) / 16777216.0 - 0.5);
    }
    return x;
}

START_TEST(index_build_search_round_trip)
{
    tu_cli *r = malloc(sizeof *r);
    float *x = grid_vectors(120, 8);
    char vec[600], ix[600];
    snprintf(vec, sizeof vec, "%s", write_npy("v.npy", "<f4", 120, 8, x));
    snprintf(ix, sizeof ix, "%s", tu_tmp_path("v.lrm"));
    for (int hnsw = 0; hnsw < 2; hnsw++) {
        tu_cli_run(r, (const char *[]){ "index", "build", "--vectors", vec, "--kind",
                                        hnsw ? "hnsw" : "flat", "--param", "metric=cosine",
                                        "--out", ix, NULL });
        ck_assert_msg(r->code == 0, "%s", r->err);
        ck_assert_msg(strstr(r->err, "index of 120 vectors (dim 8)"), "%s", r->err);
        /* The index's own vectors as queries: each finds itself first
         * (cosine 1). */
        tu_cli_run(r, (const char *[]){ "index", "search", "--load", ix, "--queries", vec, "-k",
                                        "3", "--ef", "32", NULL });
        ck_assert_msg(r->code == 0, "%s", r->err);
        const char *line = r->out;
        for (int q = 0; q < 120; q++) {
            char want[64];
            snprintf(want, sizeof want, "{\"query\": %d, \"labels\": [%d, ", q, q);
            ck_assert_msg(strncmp(line, want, strlen(want)) == 0, "line %d: %.80s", q, line);
            const char *sc = strstr(line, "\"scores\": [");
            ck_assert_msg(sc && fabs(atof(sc + 11) - 1.0) < 1e-5, "line %d: %.120s", q, line);
            line = strchr(line, '\n') + 1;
        }
        ck_assert_int_eq(*line, 0);
    }
    free(x);
    free(r);
}
END_TEST

START_TEST(index_bench_prints_the_documented_json)
{
    tu_cli *r = malloc(sizeof *r);
    float *x = grid_vectors(500, 6), *q = grid_vectors(41, 6);
    char vec[600], qs[600];
    snprintf(vec, sizeof vec, "%s", write_npy("b.npy", "<f4", 500, 6, x));
    snprintf(qs, sizeof qs, "%s", write_npy("q.npy", "<f4", 40, 6, q + 6));
    tu_cli_run(r, (const char *[]){ "index", "bench", "--vectors", vec, "--queries", qs, "--kind",
                                    "hnsw", "--param", "M=8", "--param", "ef_construction=50",
                                    "--ef", "8,500", "--threads", "2", "--json", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_msg(strncmp(r->out, "{\"build_seconds\": ", 18) == 0, "%s", r->out);
    ck_assert_double_ge(tu_json_num(r->out, "build_seconds"), 0);
    ck_assert_double_eq(tu_json_num(r->out, "threads"), 2);
    const char *res = strstr(r->out, "\"results\": [{\"ef\": 8, \"qps\": ");
    ck_assert_msg(res, "%s", r->out);
    const char *last = strstr(res, "{\"ef\": 500, ");
    ck_assert_msg(last, "%s", r->out);
    /* ef = all 500 vectors: the walk sees every node reachable from the
     * entry point, which with the pruned neighbour lists of a threaded
     * build is nearly all (HNSW does not promise all: one query in 40
     * missed one neighbour in a CI run) */
    ck_assert_double_ge(tu_json_num(last, "recall@10"), 0.99);
    ck_assert_double_gt(tu_json_num(last, "qps"), 0);
    ck_assert_msg(strcmp(r->out + strlen(r->out) - 3, "]}\n") == 0, "%s", r->out);
    free(x), free(q);
    free(r);
}
END_TEST

START_TEST(index_bad_input_gives_one_clear_line)
{
    tu_cli *r = malloc(sizeof *r);
    float x[12] = { 0 };
    char vec[600], out[600], f8[600], q2[600];
    snprintf(vec, sizeof vec, "%s", write_npy("ok.npy", "<f4", 4, 3, x));
    snprintf(out, sizeof out, "%s", tu_tmp_path("x.lrm"));
    snprintf(f8, sizeof f8, "%s", write_npy("f8.npy", "<f8", 2, 3, x));
    snprintf(q2, sizeof q2, "%s", write_npy("q2.npy", "<f4", 2, 2, x));
    tu_cli_run(r, (const char *[]){ "index", "build", "--vectors", vec, NULL });
    expect_failure(r, "index build needs --vectors X.npy, --kind flat|hnsw and --out IX.lrm");
    ck_assert_int_eq(r->code, 2);
    tu_cli_run(r, (const char *[]){ "index", "build", "--vectors", f8, "--kind", "flat", "--out",
                                    out, NULL });
    expect_failure(r, "f8.npy: dtype is not float32 ('<f4')");
    ck_assert_int_eq(r->code, 1);
    tu_cli_run(r, (const char *[]){ "index", "build", "--vectors", vec, "--kind", "ivf", "--out",
                                    out, NULL });
    expect_failure(r, "unknown kind 'ivf'");
    tu_cli_run(r, (const char *[]){ "index", "build", "--vectors", vec, "--kind", "hnsw",
                                    "--param", "M=1", "--out", out, NULL });
    expect_failure(r, "M");
    tu_cli_run(r, (const char *[]){ "index", "build", "--vectors", vec, "--kind", "flat", "--out",
                                    out, NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    tu_cli_run(r, (const char *[]){ "index", "search", "--load", out,
                                    "--queries", q2, NULL });
    expect_failure(r, "q2.npy: queries have 2 columns, the index 3");
    tu_cli_run(r, (const char *[]){ "index", "search", "--load", vec, "--queries", q2, NULL });
    expect_failure(r, "ok.npy");
    tu_cli_run(r, (const char *[]){ "index", "bench", "--vectors", vec, "--queries", vec,
                                    "--kind", "flat", "--ef", "8,x", NULL });
    expect_failure(r, "--ef: 'x' is not a whole number");
    tu_cli_run(r, (const char *[]){ "index", "frobnicate", NULL });
    expect_failure(r, "unknown index command 'frobnicate'");
    free(r);
}
END_TEST

/* ---- recommend --users: many users in one process, with rules ------------- */

/* ratings_file() with a movies.csv beside it: titles "Film i (2000)" and
 * genres G0, G1, G2 by i % 3 (a categorical field for --cap and --mmr). */
static const char *ratings_with_titles(void)
{
    const char *data = ratings_file();
    FILE *f = fopen(tu_tmp_path("movies.csv"), "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "movieId,title,genres\n");
    for (int i = 0; i < 30; i++)
        fprintf(f, "movie%d,Film %d (2000),G%d\n", i, i, i % 3);
    fclose(f);
    return data;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; (s = strchr(s, '\n')); s++)
        n++;
    return n;
}

/* The items of the first JSON line of out, in order, into ids (at most 32). */
static int json_items(const char *out, int *ids)
{
    int n = 0;
    const char *end = strchr(out, '\n');
    for (const char *p = out; n < 32 && (p = strstr(p, "\"item\": \"movie")) && p < end;) {
        p += strlen("\"item\": \"movie");
        ids[n++] = atoi(p);
    }
    return n;
}

START_TEST(recommend_users_answers_many_users_as_json_lines)
{
    const char *data = ratings_with_titles();
    char model[600], users[600];
    snprintf(model, sizeof model, "%s", tu_tmp_path("users.lrm"));
    snprintf(users, sizeof users, "%s", tu_tmp_path("users.txt"));
    tu_cli *r = malloc(sizeof *r), *one = malloc(sizeof *one);
    tu_cli_run(r, (const char *[]){ "train", "--model", "itemcf", "--data", data, "--out", model,
                                    "--quiet", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    write_file(users, "user0\n\nnobody\nuser1\r\n");
    tu_cli_run(r, (const char *[]){ "recommend", "--load", model, "--users", users, "-k", "4",
                                    "--data", data, "--quiet", NULL });
    /* one line per user, the unknown one an error object; exit 1 for it */
    ck_assert_int_eq(r->code, 1);
    ck_assert_ptr_nonnull(strstr(r->err, "1 of the users could not be answered"));
    ck_assert_int_eq(count_lines(r->out), 3);
    ck_assert_msg(!strncmp(r->out, "{\"user\": \"user0\", \"items\": [{\"item\": \"movie", 42),
                  "%s", r->out);
    ck_assert_ptr_nonnull(strstr(r->out, "\n{\"user\": \"nobody\", \"error\": \""));
    ck_assert_ptr_nonnull(strstr(r->out, "unknown user 'nobody'"));
    ck_assert_ptr_nonnull(strstr(r->out, "\n{\"user\": \"user1\", \"items\": ["));
    /* titles from the training data, beside each item */
    int ids[32], n = json_items(r->out, ids);
    ck_assert_int_eq(n, 4);
    char want[64];
    snprintf(want, sizeof want, "\"item\": \"movie%d\", \"score\": ", ids[0]);
    ck_assert_ptr_nonnull(strstr(r->out, want));
    snprintf(want, sizeof want, "\"title\": \"Film %d (2000)\"}", ids[0]);
    ck_assert_msg(strstr(r->out, want), "%s", r->out);
    /* the same answer as one --user call */
    tu_cli_run(one, (const char *[]){ "recommend", "--load", model, "--user", "user0", "-k", "4",
                                      "--json", "--data", data, "--quiet", NULL });
    ck_assert_msg(one->code == 0, "%s", one->err);
    ck_assert_msg(!strncmp(one->out, r->out, strlen(one->out)), "%s\nvs\n%s", one->out, r->out);

    /* stdin: nothing in, nothing out */
    tu_cli_run(r, (const char *[]){ "recommend", "--load", model, "--users", "-", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_str_eq(r->out, "");

    /* an anonymous history folds in; its items are not recommended */
    tu_cli_run(r, (const char *[]){ "recommend", "--load", model, "--history", "movie1,movie2",
                                    "-k", "3", "--json", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_ptr_nonnull(strstr(r->out, "{\"history\": \"movie1,movie2\", \"items\": ["));
    ck_assert_int_eq(json_items(r->out, ids), 3);
    for (int j = 0; j < 3; j++)
        ck_assert(ids[j] != 1 && ids[j] != 2);
    free(r);
    free(one);
}
END_TEST

START_TEST(recommend_rules_deny_allow_boost_cap_mmr)
{
    const char *data = ratings_with_titles();
    char model[600], deny[600], allow[600], boost[600], users[600];
    snprintf(model, sizeof model, "%s", tu_tmp_path("rules.lrm"));
    snprintf(deny, sizeof deny, "%s", tu_tmp_path("deny.txt"));
    snprintf(allow, sizeof allow, "%s", tu_tmp_path("allow.txt"));
    snprintf(boost, sizeof boost, "%s", tu_tmp_path("boost.txt"));
    snprintf(users, sizeof users, "%s", tu_tmp_path("u.txt"));
    tu_cli *r = malloc(sizeof *r);
    tu_cli_run(r, (const char *[]){ "train", "--model", "itemcf", "--data", data, "--out", model,
                                    "--quiet", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    int base[32], ids[32];
    tu_cli_run(r, (const char *[]){ "recommend", "--load", model, "--user", "user0", "-k", "8",
                                    "--json", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_int_eq(json_items(r->out, base), 8); /* user0 left exactly 8 unseen */

    /* --deny drops the top two, the rest keep their order */
    char text[128];
    snprintf(text, sizeof text, "movie%d\nmovie%d\n", base[0], base[1]);
    write_file(deny, text);
    tu_cli_run(r, (const char *[]){ "recommend", "--load", model, "--user", "user0", "-k", "8",
                                    "--json", "--deny", deny, NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_int_eq(json_items(r->out, ids), 6);
    for (int j = 0; j < 6; j++)
        ck_assert_int_eq(ids[j], base[j + 2]);

    /* --allow: only seen items allowed -> nothing, unless --include-seen
     * (user0 rated movie1 and movie2) */
    write_file(allow, "movie1\nmovie2\nnot-an-item\n");
    tu_cli_run(r, (const char *[]){ "recommend", "--load", model, "--user", "user0", "--json",
                                    "--allow", allow, NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_str_eq(r->out, "{\"user\": \"user0\", \"items\": []}\n");
    tu_cli_run(r, (const char *[]){ "recommend", "--load", model, "--user", "user0", "--json",
                                    "--allow", allow, "--include-seen", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_int_eq(json_items(r->out, ids), 2);
    ck_assert((ids[0] == 1 && ids[1] == 2) || (ids[0] == 2 && ids[1] == 1));

    /* --boost lifts the last item to the top */
    snprintf(text, sizeof text, "movie%d,100\n", base[7]);
    write_file(boost, text);
    tu_cli_run(r, (const char *[]){ "recommend", "--load", model, "--user", "user0", "-k", "2",
                                    "--json", "--boost", boost, NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_int_eq(json_items(r->out, ids), 2);
    ck_assert_int_eq(ids[0], base[7]);
    ck_assert_int_eq(ids[1], base[0]);

    /* --cap genres=1: three genres, so at most three items, one of each */
    write_file(users, "user0\nuser1\nuser2\n");
    tu_cli_run(r, (const char *[]){ "recommend", "--load", model, "--users", users, "-k", "5",
                                    "--data", data, "--cap", "genres=1", "--quiet", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_int_eq(count_lines(r->out), 3);
    for (const char *line = r->out; *line; line = strchr(line, '\n') + 1) {
        int n = json_items(line, ids), seen[3] = { 0 };
        ck_assert_int_eq(n, 3);
        for (int j = 0; j < n; j++)
            ck_assert_msg(!seen[ids[j] % 3]++, "genre G%d twice: %s", ids[j] % 3, line);
    }
    /* --mmr 0 over genres: the first three slots are three genres, and all
     * of the user's unseen items still come back */
    tu_cli_run(r, (const char *[]){ "recommend", "--load", model, "--user", "user0", "-k", "8",
                                    "--json", "--data", data, "--mmr", "0", "--mmr-field",
                                    "genres", "--quiet", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_int_eq(json_items(r->out, ids), 8);
    ck_assert(ids[0] % 3 != ids[1] % 3 && ids[0] % 3 != ids[2] % 3 && ids[1] % 3 != ids[2] % 3);
    ck_assert_int_eq(ids[0], base[0]);

    /* bad rules: one clear line each */
    tu_cli_run(r, (const char *[]){ "recommend", "--load", model, "--user", "user0", "--cap",
                                    "genres=2", NULL });
    expect_failure(r, "--cap needs --data PATH");
    tu_cli_run(r, (const char *[]){ "recommend", "--load", model, "--user", "user0", "--cap",
                                    "genres=0", "--data", data, NULL });
    expect_failure(r, "--cap: '0' is not a whole number from 1");
    tu_cli_run(r, (const char *[]){ "recommend", "--load", model, "--user", "user0", "--mmr",
                                    "1.5", "--mmr-field", "genres", "--data", data, NULL });
    expect_failure(r, "--mmr: '1.5' is not a number from 0 to 1");
    tu_cli_run(r, (const char *[]){ "recommend", "--load", model, "--user", "user0", "--mmr",
                                    "0.5", "--data", data, NULL });
    expect_failure(r, "--mmr needs --mmr-field FIELD");
    tu_cli_run(r, (const char *[]){ "recommend", "--load", model, "--user", "user0", "--cap",
                                    "title=1", "--data", data, NULL });
    expect_failure(r, "--cap: item field 'title' is not categorical");
    write_file(boost, "movie3;2\n");
    tu_cli_run(r, (const char *[]){ "recommend", "--load", model, "--user", "user0", "--boost",
                                    boost, NULL });
    expect_failure(r, "line 1: expected ITEM,WEIGHT with a finite weight, got 'movie3;2'");
    char missing[600];
    snprintf(missing, sizeof missing, "%s", tu_tmp_path("no-such-file"));
    tu_cli_run(r, (const char *[]){ "recommend", "--load", model, "--user", "user0", "--deny",
                                    missing, NULL });
    expect_failure(r, "--deny: cannot open");
    tu_cli_run(r, (const char *[]){ "recommend", "--load", model, "--user", "user0", "--users",
                                    users, NULL });
    expect_failure(r, "recommend takes one of --user ID, --users FILE and --history");
    free(r);
}
END_TEST

/* ---- librec stats ------------------------------------------------------------ */

/* Six rows worked out by hand (check_stats.c has every value): 3 users, 3
 * items, (u1, i1) twice, item counts 4, 1, 1 (Gini 1/3), January to March
 * 2020 with the leap day's last second in February. */
static const char *six_rows_csv(const char *name)
{
    return write_text(name, "userId,movieId,rating,timestamp\n"
                            "u1,i1,5,1579046400\nu1,i2,3,1579046401\nu1,i1,4,1579046402\n"
                            "u2,i1,4,1579046403\nu2,i3,2,1583020799\nu3,i1,1,1583020800\n");
}

START_TEST(stats_counts_a_crafted_file_by_hand)
{
    const char *data = six_rows_csv("six.csv");
    tu_cli *r = malloc(sizeof *r);
    tu_cli_run(r, (const char *[]){ "stats", "--data", data, "--json", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_float_near(tu_json_num(r->out, "users"), 3, 0);
    ck_assert_float_near(tu_json_num(r->out, "items"), 3, 0);
    ck_assert_float_near(tu_json_num(r->out, "interactions"), 6, 0);
    ck_assert_float_near(tu_json_num(r->out, "pairs"), 5, 0);
    ck_assert_float_near(tu_json_num(r->out, "duplicate_rows"), 1, 0);
    ck_assert_float_near(tu_json_num(r->out, "gini"), 1.0 / 3, 1e-9);
    ck_assert_float_near(tu_json_num(r->out, "user_p90"), 2.8, 1e-9);
    ck_assert_float_near(tu_json_num(r->out, "cold_users"), 3, 0);
    ck_assert_ptr_nonnull(strstr(r->out, "\"months\": {\"x\": [\"2020-01\", \"2020-02\", "
                                         "\"2020-03\"], \"y\": [4, 1, 1]}"));
    ck_assert_ptr_nonnull(strstr(r->out, "\"ratings\": {\"x\": [1, 2, 3, 4, 5], "
                                         "\"y\": [1, 1, 1, 2, 1]}"));
    ck_assert_ptr_nonnull(strstr(r->out, "\"warnings\": []}\n"));
    tu_cli_run(r, (const char *[]){ "stats", "--data", data, "--param", "cold=2", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_ptr_nonnull(strstr(r->out, "size: 3 users, 3 items, 6 interactions, 5 distinct "
                                         "pairs, density 55.56%\n"));
    ck_assert_ptr_nonnull(strstr(r->out, "time: 2020-01-15 to 2020-03-01 (46 days), 3 of 3 "
                                         "months with interactions, busiest 2020-01 (4)\n"));
    ck_assert_ptr_nonnull(strstr(r->out, "cold (fewer than 2 interactions): 1 users, 2 items\n"));
    ck_assert_ptr_nonnull(strstr(r->out, "duplicates: 1 pairs occur more than once (1 extra "
                                         "rows)\n"));
    tu_cli_run(r, (const char *[]){ "stats", "--data", data, "--param", "cold=0", NULL });
    expect_failure(r, "cold");
    tu_cli_run(r, (const char *[]){ "stats", "--json", NULL });
    expect_failure(r, "--data PATH is required");
    free(r);
}
END_TEST

START_TEST(stats_warns_of_a_misread_file)
{
    /* A header that names the rating and timestamp columns the wrong way
     * round (the loader trusts a header; read by position it would refuse
     * epoch-sized ratings itself): the ratings are seconds since 1970. */
    const char *data = write_text("swapped.csv", "userId,movieId,rating,timestamp\n"
                                                 "1,10,1500000000,4\n1,11,1500000100,3\n"
                                                 "2,10,1500000200,5\n");
    tu_cli *r = malloc(sizeof *r);
    tu_cli_run(r, (const char *[]){ "stats", "--data", data, "--json", "--quiet", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_ptr_nonnull(strstr(r->err, "librec: warning: the ratings look like Unix times "
                                         "(1500000000 to 1500000256): is the timestamp column "
                                         "read as the rating? (--columns)\n"));
    ck_assert_ptr_nonnull(strstr(r->out, "\"warnings\": [\"the ratings look like Unix times"));
    tu_cli_run(r, (const char *[]){ "stats", "--data", data, "--format", "csv", "--columns",
                                    "user,item,timestamp,rating", "--json", "--quiet", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_str_eq(r->err, "");
    ck_assert_float_near(tu_json_num(r->out, "rating_max"), 5, 0);
    free(r);
}
END_TEST

START_TEST(stats_plots_are_well_formed_svg)
{
    /* A file name with every XML special character and a byte that is not
     * UTF-8: the titles that show it must still make well-formed files. */
    const char *data = six_rows_csv("a&b<\"c'>\xff.csv");
    char dir[600], path[700];
    snprintf(dir, sizeof dir, "%s", tu_tmp_path("plots"));
    tu_cli *r = malloc(sizeof *r);
    tu_cli_run(r, (const char *[]){ "stats", "--data", data, "--plot", dir, NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    static const char *const charts[] = { "long_tail", "user_activity", "item_activity",
                                          "ratings", "months" };
    static char text[65536], why[200];
    for (size_t k = 0; k < sizeof charts / sizeof *charts; k++) {
        snprintf(path, sizeof path, "%s/%s.svg", dir, charts[k]);
        tu_slurp(path, text, sizeof text);
        ck_assert_msg(strstr(text, "<svg "), "%s: %s", path, text);
        ck_assert_msg(tu_xml_well_formed(text, why, sizeof why), "%s: %s", path, why);
        ck_assert_ptr_nonnull(strstr(text, "a&amp;b&lt;&quot;c&apos;&gt;?.csv: "));
        ck_assert_ptr_nonnull(strstr(r->err, path));
    }
    /* The long tail passes through (20%, 66.67%) on 0-100 axes: 3 items,
     * the top one holds 4 of 6 rows. */
    snprintf(path, sizeof path, "%s/long_tail.svg", dir);
    tu_slurp(path, text, sizeof text);
    ck_assert_ptr_nonnull(strstr(text, ">top 20%: 67%</text>"));
    ck_assert_ptr_nonnull(strstr(text, ">this data (Gini 0.33)</text>"));
    /* A directory that cannot be made: one line naming it, exit 1. */
    snprintf(path, sizeof path, "%s/long_tail.svg/sub", dir);
    tu_cli_run(r, (const char *[]){ "stats", "--data", data, "--plot", path, "--quiet", NULL });
    ck_assert_int_eq(r->code, 1);
    ck_assert_ptr_nonnull(strstr(r->err, "librec: --plot: cannot create directory"));
    free(r);
}
END_TEST

/* ---- librec compare ------------------------------------------------------------ */

/* 40 users in two groups of 10 items (even users i0-i9, odd users i10-i19),
 * 7 items each in time order; every item is equally popular, so popularity
 * falls back to the lowest indices and finds the held-out last item of 16
 * users at k = 5 (hit@5 0.4) while item-CF finds all 40 (1.0). */
static const char *groups_file(void)
{
    static char path[600];
    snprintf(path, sizeof path, "%s", tu_tmp_path("groups.csv"));
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "user,item,timestamp\n");
    for (int u = 0; u < 40; u++)
        for (int j = 0; j < 7; j++)
            fprintf(f, "u%d,i%d,%d\n", u, (u % 2) * 10 + (u * 3 + j) % 10, u * 100 + j);
    fclose(f);
    return path;
}

static double json_in(const char *json, const char *metric, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": {", metric);
    const char *p = strstr(json, pat);
    ck_assert_msg(p != NULL, "no %s in %s", metric, json);
    return tu_json_num(p, key);
}

START_TEST(compare_identical_models_differ_by_nothing)
{
    const char *data = groups_file();
    tu_cli *r = malloc(sizeof *r);
    tu_cli_run(r, (const char *[]){ "compare", "--model", "itemcf", "--model", "itemcf", "--data",
                                    data, "--split", "last:1", "--metrics", "hit@5,ndcg@5,mrr",
                                    "--json", "--quiet", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    const char *ms[] = { "hit@5", "ndcg@5", "mrr" };
    for (int k = 0; k < 3; k++) {
        ck_assert_float_near(json_in(r->out, ms[k], "diff"), 0, 0);
        ck_assert_float_near(json_in(r->out, ms[k], "ci_low"), 0, 0);
        ck_assert_float_near(json_in(r->out, ms[k], "ci_high"), 0, 0);
        ck_assert_float_near(json_in(r->out, ms[k], "p"), 1, 0);
    }
    ck_assert_float_near(tu_json_num(r->out, "users"), 40, 0);
    ck_assert_float_near(tu_json_num(r->out, "resamples"), 1000, 0);
    free(r);
}
END_TEST

START_TEST(compare_a_real_difference)
{
    const char *data = groups_file();
    tu_cli *r = malloc(sizeof *r), *s = malloc(sizeof *s);
    tu_cli_run(r, (const char *[]){ "compare", "--model", "itemcf", "--model", "popularity",
                                    "--data", data, "--split", "last:1", "--metrics",
                                    "hit@5,coverage@5", "--seed", "7", "--json", "--quiet",
                                    NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_float_near(json_in(r->out, "hit@5", "a"), 1.0, 1e-9);
    ck_assert_float_near(json_in(r->out, "hit@5", "b"), 0.4, 1e-9);
    ck_assert_float_near(json_in(r->out, "hit@5", "diff"), 0.6, 1e-9);
    /* Per-user differences are 24 ones and 16 zeros: the mean's standard
     * error is sqrt(0.6 * 0.4 / 40) = 0.077, so the 95% interval is near
     * 0.6 -+ 0.15, and far from 0. */
    double lo = json_in(r->out, "hit@5", "ci_low"), hi = json_in(r->out, "hit@5", "ci_high");
    ck_assert_msg(fabs(lo - 0.45) < 0.04 && fabs(hi - 0.75) < 0.04, "CI [%g, %g]", lo, hi);
    ck_assert_double_lt(json_in(r->out, "hit@5", "p"), 0.01);
    ck_assert_ptr_nonnull(strstr(r->out, "\"why\": \"not a per-user metric"));
    /* Swapped, the same resamples give the negated difference and interval. */
    tu_cli_run(s, (const char *[]){ "compare", "--model", "popularity", "--model", "itemcf",
                                    "--data", data, "--split", "last:1", "--metrics", "hit@5",
                                    "--seed", "7", "--json", "--quiet", NULL });
    ck_assert_msg(s->code == 0, "%s", s->err);
    ck_assert_float_near(json_in(s->out, "hit@5", "diff"), -0.6, 1e-9);
    ck_assert_float_near(json_in(s->out, "hit@5", "ci_low"), -hi, 1e-12);
    ck_assert_float_near(json_in(s->out, "hit@5", "ci_high"), -lo, 1e-12);
    /* Seeded: the same seed gives the same output. */
    tu_cli_run(s, (const char *[]){ "compare", "--model", "itemcf", "--model", "popularity",
                                    "--data", data, "--split", "last:1", "--metrics",
                                    "hit@5,coverage@5", "--seed", "7", "--json", "--quiet",
                                    NULL });
    ck_assert_str_eq(s->out, r->out);
    tu_cli_run(r, (const char *[]){ "compare", "--model", "itemcf", "--model", "popularity",
                                    "--data", data, "--split", "last:1", "--metrics", "hit@5",
                                    "--quiet", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_ptr_nonnull(strstr(r->out, "itemcf (A) vs popularity (B) on "));
    ck_assert_ptr_nonnull(strstr(r->out, "  hit@5               1.0000    0.4000    +0.6000  "));
    ck_assert_ptr_nonnull(strstr(r->out, "<0.002\n"));
    free(r);
    free(s);
}
END_TEST

START_TEST(compare_bad_command_lines)
{
    const char *data = groups_file();
    tu_cli *r = malloc(sizeof *r);
    tu_cli_run(r, (const char *[]){ "compare", "--model", "itemcf", "--data", data, "--split",
                                    "last:1", "--metrics", "hit@5", NULL });
    expect_failure(r, "compare needs --model A --model B");
    tu_cli_run(r, (const char *[]){ "compare", "--model", "itemcf", "--model", "popularity",
                                    "--data", data, "--split", "kfold:5", "--metrics", "hit@5",
                                    NULL });
    expect_failure(r, "--split 'kfold:5' has several");
    tu_cli_run(r, (const char *[]){ "compare", "--model", "a", "--model", "b", "--model", "c",
                                    NULL });
    expect_failure(r, "--model given more than twice");
    tu_cli_run(r, (const char *[]){ "train", "--model", "itemcf", "--model", "popularity",
                                    "--data", data, "--out", tu_tmp_path("x.lrm"), NULL });
    expect_failure(r, "only compare takes two models");
    tu_cli_run(r, (const char *[]){ "compare", "--model", "itemcf", "--model", "popularity",
                                    "--param-b", "neighbours=5", "--data", data, "--split",
                                    "last:1", "--metrics", "hit@5", NULL });
    expect_failure(r, "bad model B");
    free(r);
}
END_TEST

/* ---- librec eval --json: the folds, their times, the seed and params ------------ */

START_TEST(eval_json_reports_each_fold_seed_and_params)
{
    const char *data = ratings_file();
    tu_cli *r = malloc(sizeof *r);
    tu_cli_run(r, (const char *[]){ "eval", "--model", "svd", "--data", data, "--split",
                                    "kfold:3", "--metrics", "rmse,mae", "--param", "n_epochs=5",
                                    "--seed", "7", "--json", "--quiet", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_float_near(tu_json_num(r->out, "seed"), 7, 0);
    const char *params = strstr(r->out, "\"params\": {");
    ck_assert_ptr_nonnull(params);
    /* given by an old name, reported by its own */
    ck_assert_float_near(tu_json_num(params, "epochs"), 5, 0);
    ck_assert_float_near(tu_json_num(params, "dim"), 100, 0); /* the default */
    ck_assert_ptr_nonnull(strstr(params, "\"biased\": true"));
    /* Three folds, each with its times and values; the top-level values are
     * their mean and population standard deviation. */
    const char *p = strstr(r->out, "\"per_fold\": [");
    ck_assert_ptr_nonnull(p);
    double v[3], sum = 0, sq = 0;
    for (int f = 0; f < 3; f++) {
        char want[32];
        snprintf(want, sizeof want, "{\"fold\": %d, ", f + 1);
        p = strstr(p, want);
        ck_assert_msg(p != NULL, "no fold %d in %s", f + 1, r->out);
        ck_assert_double_ge(tu_json_num(p, "fit_seconds"), 0);
        ck_assert_double_ge(tu_json_num(p, "test_seconds"), 0);
        ck_assert_float_near(tu_json_num(p, "rows"), 300, 0); /* 900 rows / 3 */
        v[f] = tu_json_num(p, "rmse");
        sum += v[f];
    }
    ck_assert_ptr_null(strstr(p, "{\"fold\": 4, "));
    double mean = sum / 3;
    for (int f = 0; f < 3; f++)
        sq += (v[f] - mean) * (v[f] - mean);
    ck_assert_float_near(tu_json_num(r->out, "rmse"), mean, 2e-5);
    const char *std = strstr(r->out, "\"std\": {");
    ck_assert_float_near(tu_json_num(std, "rmse"), sqrt(sq / 3), 2e-5);
    ck_assert_msg(v[0] != v[1] || v[1] != v[2], "three folds with one value: %s", r->out);
    free(r);
}
END_TEST

/* ---- librec train --plot ------------------------------------------------------ */

static int count_of(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

START_TEST(train_plots_the_loss_of_every_epoch)
{
    const char *data = ratings_file();
    char curve[600], model[600];
    snprintf(curve, sizeof curve, "%s", tu_tmp_path("curve.svg"));
    snprintf(model, sizeof model, "%s", tu_tmp_path("curve.lrm"));
    tu_cli *r = malloc(sizeof *r);
    static char text[65536], why[200];
    /* svd: 3 epochs of its factors, then 3 of its ranking head: one line
     * and one dot per epoch for each step. */
    tu_cli_run(r, (const char *[]){ "train", "--model", "svd", "--data", data, "--param",
                                    "n_epochs=3", "--out", model, "--plot", curve, NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_ptr_nonnull(strstr(r->err, "librec: wrote "));
    tu_slurp(curve, text, sizeof text);
    ck_assert_msg(tu_xml_well_formed(text, why, sizeof why), "%s: %s", why, text);
    ck_assert_ptr_nonnull(strstr(text, ">svd: training loss per epoch</text>"));
    ck_assert_int_eq(count_of(text, "<circle "), 6);
    ck_assert_int_eq(count_of(text, "<polyline "), 2);
    ck_assert_ptr_nonnull(strstr(text, ">ranking head epoch</text>"));
    /* A fit that validates: the validation metric of each validated epoch
     * in a second panel (mf, 4 epochs, validated every 2). */
    tu_cli_run(r, (const char *[]){ "train", "--model", "mf", "--data", data, "--param",
                                    "epochs=4", "--param", "valid_ratio=0.2", "--param",
                                    "validate_every=2", "--param", "patience=0", "--out", model,
                                    "--plot", curve, "--quiet", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    tu_slurp(curve, text, sizeof text);
    ck_assert_msg(tu_xml_well_formed(text, why, sizeof why), "%s: %s", why, text);
    ck_assert_ptr_nonnull(strstr(text, ">validation ndcg@20</text>"));
    ck_assert_int_eq(count_of(text, "<circle "), 4 + 2);
    ck_assert_int_eq(count_of(text, "<polyline "), 2);
    /* A one-pass model has no loss: the chart says so. */
    tu_cli_run(r, (const char *[]){ "train", "--model", "itemcf", "--data", data, "--out", model,
                                    "--plot", curve, "--quiet", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    tu_slurp(curve, text, sizeof text);
    ck_assert_msg(tu_xml_well_formed(text, why, sizeof why), "%s: %s", why, text);
    ck_assert_int_eq(count_of(text, "<circle "), 0);
    ck_assert_ptr_nonnull(strstr(text, "this model reports no training loss"));
    /* A chart that cannot be written fails the run, naming the path. */
    snprintf(curve, sizeof curve, "%s", tu_tmp_path("no/such/dir/curve.svg"));
    tu_cli_run(r, (const char *[]){ "train", "--model", "itemcf", "--data", data, "--out", model,
                                    "--plot", curve, "--quiet", NULL });
    ck_assert_int_eq(r->code, 1);
    ck_assert_ptr_nonnull(strstr(r->err, "librec: --plot: cannot create "));
    free(r);
}
END_TEST

/* ---- librec export ---- */

START_TEST(export_writes_vectors_and_ids)
{
    tu_cli *r = malloc(sizeof *r);
    const char *data = write_text("exp.csv", "u1,a,5\nu1,b,3\nu2,b,4\nu2,c,2\nu3,a,1\n"
                                             "u3,d,4\nu4,e,5\nu4,a,3\n");
    char model[600], npy[600], tsv[600], text[4096];
    snprintf(model, sizeof model, "%s", tu_tmp_path("exp.lrm"));
    snprintf(npy, sizeof npy, "%s", tu_tmp_path("items.npy"));
    snprintf(tsv, sizeof tsv, "%s", tu_tmp_path("items.tsv"));
    tu_cli_run(r, (const char *[]){ "train", "--model", "mf", "--data", data, "--param", "dim=3",
                                    "--param", "epochs=1", "--out", model, "--quiet", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    tu_cli_run(r, (const char *[]){ "export", "--load", model, "--what", "items", "--out", npy,
                                    "--quiet", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    /* NumPy 1.0: magic, then a header naming float32 and the shape, then
     * 5 items x 3 floats; the ids in first-appearance order beside it. */
    FILE *f = fopen(npy, "rb");
    ck_assert_ptr_nonnull(f);
    size_t got = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    ck_assert_int_eq(memcmp(text, "\x93NUMPY\x01\x00", 8), 0);
    size_t hlen = (unsigned char)text[8] | (size_t)(unsigned char)text[9] << 8;
    ck_assert_uint_eq(got, 10 + hlen + 5 * 3 * sizeof(float));
    text[10 + hlen] = 0;
    ck_assert_ptr_nonnull(strstr(text + 10, "'descr': '<f4'"));
    ck_assert_ptr_nonnull(strstr(text + 10, "'shape': (5, 3)"));
    tu_slurp(tsv, text, sizeof text);
    ck_assert_str_eq(text, "a\nb\nc\nd\ne\n");
    tu_cli_run(r, (const char *[]){ "export", "--load", model, "--what", "users", "--out", npy,
                                    NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_msg(strstr(r->err, "wrote 4 user vectors of dim 3"), "%s", r->err);
    tu_slurp(tsv, text, sizeof text);
    ck_assert_str_eq(text, "u1\nu2\nu3\nu4\n");
    /* Bad input: nothing written, one clear line. */
    char other[600];
    snprintf(other, sizeof other, "%s", tu_tmp_path("never.npy"));
    tu_cli_run(r, (const char *[]){ "export", "--load", model, "--what", "genres", "--out", other,
                                    NULL });
    ck_assert_int_eq(r->code, 2);
    expect_failure(r, "want items or users");
    tu_cli_run(r, (const char *[]){ "export", "--load", model, "--what", "items", NULL });
    expect_failure(r, "export needs --load FILE.lrm --what items|users --out X.npy");
    tu_cli_run(r, (const char *[]){ "train", "--model", "popularity", "--data", data, "--out",
                                    model, "--quiet", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    tu_cli_run(r, (const char *[]){ "export", "--load", model, "--what", "items", "--out", other,
                                    NULL });
    ck_assert_int_eq(r->code, 1);
    expect_failure(r, "librec: export: ");
    ck_assert_int_ne(access(other, F_OK), 0);
    free(r);
}
END_TEST

/* --normalize SIDE:FIELD=METHOD normalises a field of the data read; a
 * malformed spec is a usage error, an unknown field or method the
 * library's message. */
START_TEST(normalize_option_reaches_the_dataset)
{
    char dir[600], data[700], movies[700];
    snprintf(dir, sizeof dir, "%s", tu_tmp_path("normalize"));
    mkdir(dir, 0700);
    snprintf(data, sizeof data, "%s/ratings.csv", dir);
    snprintf(movies, sizeof movies, "%s/movies.csv", dir);
    FILE *f = fopen(data, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "userId,movieId,rating,timestamp\n");
    for (int u = 0; u < 12; u++)
        for (int i = 0; i < 8; i++)
            if ((u + i) % 3)
                fprintf(f, "u%d,m%d,4,%d\n", u, i, 1000 + u * 10 + i);
    fclose(f);
    f = fopen(movies, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "movieId,title,genres\n");
    for (int i = 0; i < 8; i++)
        fprintf(f, "m%d,Film %d (%d),%s\n", i, i, 1960 + 7 * i, i % 2 ? "Comedy" : "Drama");
    fclose(f);
    tu_cli *r = malloc(sizeof *r);
    tu_cli_run(r, (const char *[]){ "eval", "--model", "twotower", "--data", data,
                                    "--normalize", "item:year=zscore", "--param",
                                    "item_features=genres,year", "--param", "epochs=1",
                                    "--split", "holdout:0.3", "--metrics", "auc", "--quiet",
                                    NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    tu_cli_run(r, (const char *[]){ "eval", "--model", "twotower", "--data", data,
                                    "--normalize", "year=zscore", "--split", "holdout:0.3",
                                    "--metrics", "auc", NULL });
    expect_failure(r, "--normalize 'year=zscore': want user:FIELD=METHOD or item:FIELD=METHOD");
    ck_assert_int_eq(r->code, 2);
    tu_cli_run(r, (const char *[]){ "eval", "--model", "twotower", "--data", data,
                                    "--normalize", "item:nosuch=zscore", "--split",
                                    "holdout:0.3", "--metrics", "auc", NULL });
    expect_failure(r, "no item field 'nosuch'");
    tu_cli_run(r, (const char *[]){ "eval", "--model", "twotower", "--data", data,
                                    "--normalize", "item:year=cubic", "--split", "holdout:0.3",
                                    "--metrics", "auc", NULL });
    expect_failure(r, "method 'cubic'");
    remove(data);
    remove(movies);
    rmdir(dir);
    free(r);
}
END_TEST

Suite *rec_cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, eval_prints_fold_means_and_stds_as_json);
    tcase_add_test(tc, eval_cold_splits_pick_their_protocol);
    tcase_add_test(tc, train_recommend_similar_round_trip);
    tcase_add_test(tc, bad_input_gives_one_clear_line);
    tcase_add_test(tc, failed_training_leaves_the_old_model_file);
    tcase_add_test(tc, help_lists_a_models_params_from_the_library);
    tcase_add_test(tc, json_stays_valid_when_a_metric_is_undefined);
    tcase_add_test(tc, json_strings_are_always_utf8);
    tcase_add_test(tc, numbers_on_the_command_line_are_strict);
    tcase_add_test(tc, out_that_is_the_data_file_is_refused);
    tcase_add_test(tc, diverging_training_exits_1_with_the_hint);
    tcase_add_test(tc, a_signal_during_save_leaves_no_temporary_file);
    tcase_add_test(tc, stale_temporary_files_of_dead_processes_are_swept);
    tcase_add_test(tc, progress_shows_steps_epochs_and_no_nan);
    tcase_add_test(tc, every_load_says_what_it_read);
    tcase_add_test(tc, eval_on_a_given_test_file);
    tcase_add_test(tc, index_build_search_round_trip);
    tcase_add_test(tc, index_bench_prints_the_documented_json);
    tcase_add_test(tc, index_bad_input_gives_one_clear_line);
    tcase_add_test(tc, recommend_users_answers_many_users_as_json_lines);
    tcase_add_test(tc, recommend_rules_deny_allow_boost_cap_mmr);
    tcase_add_test(tc, distributed_needs_an_mpi_build);
    tcase_add_test(tc, stats_counts_a_crafted_file_by_hand);
    tcase_add_test(tc, stats_warns_of_a_misread_file);
    tcase_add_test(tc, stats_plots_are_well_formed_svg);
    tcase_add_test(tc, compare_identical_models_differ_by_nothing);
    tcase_add_test(tc, compare_a_real_difference);
    tcase_add_test(tc, compare_bad_command_lines);
    tcase_add_test(tc, eval_json_reports_each_fold_seed_and_params);
    tcase_add_test(tc, train_plots_the_loss_of_every_epoch);
    tcase_add_test(tc, export_writes_vectors_and_ids);
    tcase_add_test(tc, normalize_option_reaches_the_dataset);
    suite_add_tcase(s, tc);
    return s;
}
