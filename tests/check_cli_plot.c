/* `librec plot-embeddings` as a learner runs it: a map of a model's item
 * vectors coloured by the genres of the training data, well-formed SVG
 * with a legend and the most popular title, the agreement of neighbours'
 * genres reported as JSON, PCA's explained variance; and for every bad
 * input one clear line, a non-zero exit and no file written. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void expect_error(const tu_cli *r, const char *want, const char *out)
{
    ck_assert_msg(r->code != 0, "exit 0; stdout: %s", r->out);
    ck_assert_msg(r->out[0] == 0, "stdout on failure: %s", r->out);
    ck_assert_msg(strncmp(r->err, "librec: ", 8) == 0, "stderr: %s", r->err);
    const char *nl = strchr(r->err, '\n');
    ck_assert_msg(nl && nl[1] == 0, "not one line: %s", r->err);
    ck_assert_msg(strstr(r->err, want), "stderr lacks '%s': %s", want, r->err);
    ck_assert_msg(access(out, F_OK) != 0, "%s was written", out);
}

static int count_of(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

/* 40 users, 40 items in two tastes: even users rate items 0-19 (genre
 * "Comedy|Romance"), odd users items 20-39 ("Horror"); item 0 is rated by
 * everyone, so it is the most popular.  movies.csv beside the ratings
 * gives the titles and genres (MovieLens latest layout). */
static const char *two_taste_data(char *dir, size_t cap)
{
    snprintf(dir, cap, "%s", tu_tmp_path("plotdata"));
    char path[700];
    snprintf(path, sizeof path, "mkdir -p '%s'", dir);
    ck_assert_int_eq(system(path), 0);
    static char ratings[700];
    snprintf(ratings, sizeof ratings, "%s/ratings.csv", dir);
    FILE *f = fopen(ratings, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "userId,movieId,rating,timestamp\n");
    long t = 1000;
    for (int u = 0; u < 40; u++)
        for (int i = 0; i < 40; i++)
            if (i == 0 || ((i < 20) == (u % 2 == 0) && (u + i) % 3 != 0))
                fprintf(f, "%d,%d,%d,%ld\n", u, i, 4 + (u + i) % 2, t++);
    fclose(f);
    snprintf(path, sizeof path, "%s/movies.csv", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "movieId,title,genres\n");
    for (int i = 0; i < 40; i++)
        if (i == 0)
            fprintf(f, "0,\"Most Popular & Co (1999)\",Comedy|Romance\n");
        else
            fprintf(f, "%d,Film %d (2000),%s\n", i, i, i < 20 ? "Comedy|Romance" : "Horror");
    fclose(f);
    return ratings;
}

static const char *train(const char *kind, const char *data, const char *name)
{
    static char model[2][700];
    char *m = model[kind[0] == 'p'];
    snprintf(m, sizeof model[0], "%s", tu_tmp_path(name));
    tu_cli *r = malloc(sizeof *r);
    if (kind[0] == 'm')
        tu_cli_run(r, (const char *[]){ "train", "--model", kind, "--data", data, "--param",
                                        "epochs=30", "--out", m, "--quiet", NULL });
    else
        tu_cli_run(r, (const char *[]){ "train", "--model", kind, "--data", data, "--out", m,
                                        "--quiet", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    free(r);
    return m;
}

START_TEST(plot_embeddings_colours_by_genre_and_labels_titles)
{
    char dir[600], out[700];
    const char *data = two_taste_data(dir, sizeof dir);
    const char *model = train("mf", data, "plot_mf.lrm");
    snprintf(out, sizeof out, "%s/map.svg", dir);
    tu_cli *r = malloc(sizeof *r);
    static char text[65536], why[200];
    tu_cli_run(r, (const char *[]){ "plot-embeddings", "--load", model, "--data", data,
                                    "--color", "genres", "--out", out, "--param", "epochs=200",
                                    "--label", "1", "--json", "--quiet", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_int_eq((int)tu_json_num(r->out, "points"), 40);
    /* The two tastes are what mf learns: an item's neighbours share its
     * first genre far more often than chance (two equal halves: 0.5). */
    double chance = tu_json_num(r->out, "chance");
    ck_assert_float_near(chance, 0.5, 1e-9);
    ck_assert_msg(tu_json_num(r->out, "knn_agreement_full") > 0.8, "%s", r->out);
    ck_assert_msg(tu_json_num(r->out, "knn_agreement_2d") > 0.8, "%s", r->out);
    tu_slurp(out, text, sizeof text);
    ck_assert_msg(tu_xml_well_formed(text, why, sizeof why), "%s: %s", why, text);
    /* 40 dots and the one label's ring; a legend of both first genres. */
    ck_assert_int_eq(count_of(text, "<circle "), 41);
    ck_assert_ptr_nonnull(strstr(text, ">Comedy (20)</text>"));
    ck_assert_ptr_nonnull(strstr(text, ">Horror (20)</text>"));
    ck_assert_ptr_null(strstr(text, ">other or none"));
    ck_assert_ptr_nonnull(strstr(text, ">Most Popular &amp; Co (1999)</text>"));
    ck_assert_ptr_nonnull(strstr(text, "mf: 40 item vectors (dim "));
    /* The same seed draws the same map; PCA reports its explained shares. */
    static char again[65536];
    tu_cli_run(r, (const char *[]){ "plot-embeddings", "--load", model, "--data", data,
                                    "--color", "genres", "--out", out, "--param", "epochs=200",
                                    "--label", "1", "--quiet", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    tu_slurp(out, again, sizeof again);
    ck_assert_str_eq(text, again);
    tu_cli_run(r, (const char *[]){ "plot-embeddings", "--load", model, "--method", "pca",
                                    "--out", out, "--json", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    const char *ex = strstr(r->out, "\"explained\": [");
    ck_assert_ptr_nonnull(ex);
    double e1 = strtod(ex + 14, NULL), e2 = strtod(strchr(ex, ',') + 1, NULL);
    ck_assert_msg(e1 >= e2 && e2 > 0 && e1 + e2 <= 1 + 1e-9, "%s", r->out);
    tu_slurp(out, text, sizeof text);
    ck_assert_msg(tu_xml_well_formed(text, why, sizeof why), "%s: %s", why, text);
    ck_assert_ptr_nonnull(strstr(text, ">PC1 ("));
    ck_assert_int_eq(count_of(text, "<circle "), 40); /* no data: no labels */
    /* Users too, with no field: grey dots only. */
    tu_cli_run(r, (const char *[]){ "plot-embeddings", "--load", model, "--what", "users",
                                    "--out", out, "--quiet", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    tu_slurp(out, text, sizeof text);
    ck_assert_int_eq(count_of(text, "<circle "), 40);
    free(r);
}
END_TEST

START_TEST(plot_embeddings_bad_input_writes_nothing)
{
    char dir[600], out[700], missing[700], other[700];
    const char *data = two_taste_data(dir, sizeof dir);
    const char *model = train("mf", data, "plot_bad_mf.lrm");
    const char *pop = train("popularity", data, "plot_pop.lrm");
    snprintf(out, sizeof out, "%s/never.svg", dir);
    snprintf(missing, sizeof missing, "%s/no/such/dir/map.svg", dir);
    tu_cli *r = malloc(sizeof *r);
    tu_cli_run(r, (const char *[]){ "plot-embeddings", "--load", model, "--data", data,
                                    "--color", "genre", "--out", out, "--quiet", NULL });
    expect_error(r, "--color 'genre': ", out);
    ck_assert_ptr_nonnull(strstr(r->err, "(its fields of that kind: genres"));
    tu_cli_run(r, (const char *[]){ "plot-embeddings", "--load", model, "--data", data,
                                    "--color", "title", "--out", out, "--quiet", NULL });
    expect_error(r, "no categorical or multi-hot item field", out);
    tu_cli_run(r, (const char *[]){ "plot-embeddings", "--load", pop, "--out", out, NULL });
    expect_error(r, "popularity's scores are not inner products of vectors", out);
    ck_assert_int_eq(r->code, 1);
    tu_cli_run(r, (const char *[]){ "plot-embeddings", "--load", model, "--out", missing, NULL });
    expect_error(r, "does not exist", missing);
    tu_cli_run(r, (const char *[]){ "plot-embeddings", "--load", model, "--color", "genres",
                                    "--out", out, NULL });
    expect_error(r, "--color needs --data PATH, the data the model was trained on", out);
    tu_cli_run(r, (const char *[]){ "plot-embeddings", "--load", model, "--method", "tsne",
                                    "--out", out, NULL });
    expect_error(r, "--method 'tsne': want umap", out);
    tu_cli_run(r, (const char *[]){ "plot-embeddings", "--load", model, "--method", "pca",
                                    "--param", "neighbors=5", "--out", out, NULL });
    expect_error(r, "pca takes no parameters", out);
    tu_cli_run(r, (const char *[]){ "plot-embeddings", "--load", model, "--param",
                                    "neigbors=5", "--out", out, NULL });
    expect_error(r, "neigbors", out);
    tu_cli_run(r, (const char *[]){ "plot-embeddings", "--load", model, "--out", NULL });
    ck_assert_int_eq(r->code, 2);
    /* Data that is not the model's: no id in common. */
    snprintf(other, sizeof other, "%s", tu_tmp_path("other_ids.csv"));
    FILE *f = fopen(other, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "u1,zz1,5\nu2,zz2,4\n");
    fclose(f);
    tu_cli_run(r, (const char *[]){ "plot-embeddings", "--load", model, "--data", other,
                                    "--out", out, "--quiet", NULL });
    expect_error(r, "shares no item id with the model", out);
    free(r);
}
END_TEST

Suite *rec_cli_plot_suite(void)
{
    Suite *s = suite_create("cli_plot");
    TCase *tc = tcase_create("cli_plot");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, plot_embeddings_colours_by_genre_and_labels_titles);
    tcase_add_test(tc, plot_embeddings_bad_input_writes_nothing);
    suite_add_tcase(s, tc);
    return s;
}
