/* The charts of the command line, as a learner runs them: `librec
 * similar --plot` and `librec explain` (bars), `plot-embeddings --axes`
 * (a heat map), `eval --sweep --plot` (metrics by a parameter); and
 * `librec plot-embeddings`: a map of a model's item
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

/* The model path for kind under name (train() keeps only two at a time). */
static const char *train_as(const char *kind, const char *data, const char *name, char *buf,
                            size_t cap)
{
    snprintf(buf, cap, "%s", train(kind, data, name));
    return buf;
}

/* The k-th tab-separated field of line j of text (1-based), into buf. */
static const char *field_of(const char *text, int line, int k, char *buf, size_t cap)
{
    const char *p = text;
    for (int j = 1; j < line && p; j++)
        if ((p = strchr(p, '\n')))
            p++;
    ck_assert_ptr_nonnull(p);
    for (int j = 1; j < k; j++) {
        p = strchr(p, '\t');
        ck_assert_ptr_nonnull(p);
        p++;
    }
    size_t n = strcspn(p, "\t\n");
    snprintf(buf, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
    return buf;
}

/* similar --plot: the k neighbours as bars labelled by title with their
 * similarity; explain: the reasons of rec_model_explain, as text, JSON and
 * bars that say how far back in the user's history each item lies. */
START_TEST(similar_and_explain_draw_bars)
{
    char dir[600], out[700], mbuf[700], id[64], sc[64], want[200];
    const char *data = two_taste_data(dir, sizeof dir);
    const char *model = train_as("itemcf", data, "plot_icf.lrm", mbuf, sizeof mbuf);
    snprintf(out, sizeof out, "%s/bars.svg", dir);
    tu_cli *r = malloc(sizeof *r);
    static char text[65536], why[200];
    tu_cli_run(r, (const char *[]){ "similar", "--load", model, "--item", "1", "-k", "5",
                                    "--plot", out, "--data", data, "--quiet", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    tu_slurp(out, text, sizeof text);
    ck_assert_msg(tu_xml_well_formed(text, why, sizeof why), "%s: %s", why, text);
    ck_assert_ptr_nonnull(strstr(text, ">itemcf: the 5 items most similar to Film 1 (2000)<"));
    ck_assert_int_eq(count_of(text, "<rect "), 1 + 5); /* the background and 5 bars */
    for (int j = 1; j <= 5; j++) {
        field_of(r->out, j, 2, id, sizeof id);
        field_of(r->out, j, 3, sc, sizeof sc);
        if (!strcmp(id, "0"))
            snprintf(want, sizeof want, ">Most Popular &amp; Co (1999)</text>");
        else
            snprintf(want, sizeof want, ">Film %s (2000)</text>", id);
        ck_assert_msg(strstr(text, want), "no label %s in %s", want, text);
        snprintf(want, sizeof want, ">%.3f</text>", atof(sc));
        ck_assert_msg(strstr(text, want), "no value %s in %s", want, text);
        ck_assert_msg(atoi(id) < 20, "a Horror film next to a Comedy: %s", r->out);
    }
    /* explain: user 0 took 0, 1, 2, 4, 5, 7, ..., 19 in that order. */
    static char plain[16384];
    tu_cli_run(r, (const char *[]){ "explain", "--load", model, "--user", "0", "--item", "3",
                                    "-k", "4", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    snprintf(plain, sizeof plain, "%s", r->out);
    ck_assert_msg(!strncmp(plain, "# why 3 for user 0\n", 19), "%s", plain);
    tu_cli_run(r, (const char *[]){ "explain", "--load", model, "--user", "0", "--item", "3",
                                    "-k", "4", "--json", "--plot", out, "--data", data,
                                    "--quiet", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    tu_slurp(out, text, sizeof text);
    ck_assert_msg(tu_xml_well_formed(text, why, sizeof why), "%s: %s", why, text);
    ck_assert_ptr_nonnull(strstr(text, ">itemcf: why user 0 gets Film 3 (2000), by the "
                                       "user&apos;s items<"));
    int reasons = 0;
    for (int j = 2; j <= 5; j++) {
        field_of(plain, j, 2, id, sizeof id);
        if (!*id)
            break;
        reasons++;
        int item = atoi(id), back = 0;
        for (int i = item + 1; i < 20; i++)
            back += i % 3 != 0;
        if (back == 0)
            snprintf(want, sizeof want, ">Film %d (2000) (latest)</text>", item);
        else if (item == 0)
            snprintf(want, sizeof want, ">Most Popular &amp; Co (1999) (%d back)</text>", back);
        else
            snprintf(want, sizeof want, ">Film %d (2000) (%d back)</text>", item, back);
        ck_assert_msg(strstr(text, want), "no label %s in %s", want, text);
        snprintf(want, sizeof want, "{\"reason\": \"%s\", \"weight\": ", id);
        ck_assert_msg(strstr(r->out, want), "%s not in %s", want, r->out);
    }
    ck_assert_int_ge(reasons, 1);
    ck_assert_int_eq(count_of(text, "<rect "), 1 + reasons);
    /* without --item: the user's first recommendation */
    tu_cli_run(r, (const char *[]){ "recommend", "--load", model, "--user", "0", "-k", "1",
                                    NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    field_of(r->out, 1, 2, id, sizeof id);
    tu_cli_run(r, (const char *[]){ "explain", "--load", model, "--user", "0", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    snprintf(want, sizeof want, "# why %s for user 0\n", id);
    ck_assert_msg(!strncmp(r->out, want, strlen(want)), "%s", r->out);
    /* errors: one line, nothing written */
    remove(out);
    tu_cli_run(r, (const char *[]){ "explain", "--load", model, "--plot", out, NULL });
    expect_error(r, "explain needs --load FILE.lrm and --user ID", out);
    ck_assert_int_eq(r->code, 2);
    tu_cli_run(r, (const char *[]){ "explain", "--load", model, "--user", "nobody", "--plot",
                                    out, NULL });
    expect_error(r, "nobody", out);
    tu_cli_run(r, (const char *[]){ "similar", "--load", model, "--item", "1", "--data", data,
                                    NULL });
    expect_error(r, "--data is read for --plot's titles", out);
    free(r);
}
END_TEST

/* plot-embeddings --axes: the principal axes against the genres.  The two
 * tastes are mf's first axis, so it correlates with Horror strongly and
 * with Comedy (its complement among these items) exactly oppositely. */
START_TEST(plot_axes_heat_map)
{
    char dir[600], out[700], mbuf[700], why[200];
    const char *data = two_taste_data(dir, sizeof dir);
    const char *model = train_as("mf", data, "plot_axes_mf.lrm", mbuf, sizeof mbuf);
    snprintf(out, sizeof out, "%s/axes.svg", dir);
    tu_cli *r = malloc(sizeof *r);
    static char text[65536];
    tu_cli_run(r, (const char *[]){ "plot-embeddings", "--load", model, "--data", data,
                                    "--color", "genres", "--axes", "2", "--out", out, "--json",
                                    "--quiet", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    const char *h = strstr(r->out, "\"Horror\": ["), *c = strstr(r->out, "\"Comedy\": [");
    const char *ro = strstr(r->out, "\"Romance\": [");
    ck_assert_msg(h && c && ro, "%s", r->out);
    double h1 = strtod(h + 11, NULL), c1 = strtod(c + 11, NULL), r1 = strtod(ro + 12, NULL);
    ck_assert_msg(fabs(h1) > 0.8, "axis 1 against Horror: %g (%s)", h1, r->out);
    ck_assert_float_near(c1, -h1, 1e-3);
    ck_assert_float_near(r1, c1, 1e-3);
    const char *ex = strstr(r->out, "\"explained\": [");
    ck_assert_ptr_nonnull(ex);
    ck_assert_msg(strtod(ex + 14, NULL) > 0.3, "%s", r->out);
    tu_slurp(out, text, sizeof text);
    ck_assert_msg(tu_xml_well_formed(text, why, sizeof why), "%s: %s", why, text);
    ck_assert_ptr_nonnull(strstr(text, ">Horror (20)</text>"));
    ck_assert_ptr_nonnull(strstr(text, ">Comedy (20)</text>"));
    ck_assert_ptr_nonnull(strstr(text, ">axis 1: "));
    ck_assert_ptr_nonnull(strstr(text, ">axis 2: "));
    char cell[32];
    snprintf(cell, sizeof cell, ">%+.2f</text>", h1);
    ck_assert_msg(strstr(text, cell), "no cell %s", cell);
    /* 3 genres x 2 axes, the 11 steps of the scale, the background */
    ck_assert_int_eq(count_of(text, "<rect "), 6 + 11 + 1);
    remove(out);
    tu_cli_run(r, (const char *[]){ "plot-embeddings", "--load", model, "--data", data,
                                    "--color", "genres", "--axes", "0", "--out", out, NULL });
    expect_error(r, "--axes: '0' is not a whole number from 1 to 16", out);
    tu_cli_run(r, (const char *[]){ "plot-embeddings", "--load", model, "--data", data,
                                    "--axes", "2", "--out", out, NULL });
    expect_error(r, "--axes needs --data PATH and --color FIELD", out);
    tu_cli_run(r, (const char *[]){ "plot-embeddings", "--load", model, "--data", data,
                                    "--color", "genres", "--axes", "2", "--method", "umap",
                                    "--out", out, NULL });
    expect_error(r, "--axes takes the principal axes (pca)", out);
    tu_cli_run(r, (const char *[]){ "plot-embeddings", "--load", model, "--data", data,
                                    "--color", "genres", "--axes", "17", "--out", out, NULL });
    expect_error(r, "--axes: '17' is not a whole number from 1 to 16", out);
    free(r);
}
END_TEST

/* eval --sweep: each value's run is the plain eval's (the same seeded
 * split and model), the table repeats them, the chart draws them. */
START_TEST(eval_sweep_tables_and_charts)
{
    char dir[600], out[700], why[200];
    const char *data = two_taste_data(dir, sizeof dir);
    snprintf(out, sizeof out, "%s/sweep.svg", dir);
    tu_cli *r = malloc(sizeof *r);
    static char text[65536], sweep[16384];
    tu_cli_run(r, (const char *[]){ "eval", "--model", "itemcf", "--data", data, "--split",
                                    "holdout:0.2", "--metrics", "hit@10,ndcg@10", "--sweep",
                                    "k=2,20", "--plot", out, "--quiet", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    snprintf(sweep, sizeof sweep, "%s", r->out);
    ck_assert_ptr_nonnull(strstr(sweep, "# k=2\n"));
    ck_assert_ptr_nonnull(strstr(sweep, "\n# k=20\n"));
    const char *tab = strstr(sweep, "\nk ");
    ck_assert_msg(tab, "%s", sweep);
    const char *ks[2] = { "2", "20" };
    for (int j = 0; j < 2; j++) {
        char kv[16];
        snprintf(kv, sizeof kv, "k=%s", ks[j]);
        tu_cli_run(r, (const char *[]){ "eval", "--model", "itemcf", "--data", data, "--split",
                                        "holdout:0.2", "--metrics", "hit@10,ndcg@10",
                                        "--param", kv, "--json", "--quiet", NULL });
        ck_assert_msg(r->code == 0, "%s", r->err);
        double hit = tu_json_num(r->out, "hit@10"), ndcg = tu_json_num(r->out, "ndcg@10");
        char row[128];
        snprintf(row, sizeof row, "\n%-12s  %12.4f  %12.4f\n", ks[j], hit, ndcg);
        ck_assert_msg(strstr(tab, row), "no row '%s' in %s", row + 1, sweep);
        snprintf(row, sizeof row, ">%.4f</text>", hit);
        tu_slurp(out, text, sizeof text);
        ck_assert_msg(strstr(text, row), "no point label %s", row);
    }
    ck_assert_msg(tu_xml_well_formed(text, why, sizeof why), "%s: %s", why, text);
    ck_assert_ptr_nonnull(strstr(text, ">hit@10</text>"));
    ck_assert_ptr_nonnull(strstr(text, ">ndcg@10</text>"));
    ck_assert_ptr_nonnull(strstr(text, ">20</text>"));
    ck_assert_int_eq(count_of(text, "<polyline "), 2);
    /* --json: one object per run, each with its value among the params */
    tu_cli_run(r, (const char *[]){ "eval", "--model", "itemcf", "--data", data, "--split",
                                    "holdout:0.2", "--metrics", "hit@10", "--sweep", "k=2,20",
                                    "--json", "--quiet", NULL });
    ck_assert_msg(r->code == 0, "%s", r->err);
    ck_assert_int_eq(count_of(r->out, "\n"), 2);
    ck_assert_ptr_nonnull(strstr(r->out, "\"k\": 2,"));
    ck_assert_ptr_nonnull(strstr(r->out, "\"k\": 20,"));
    remove(out);
    tu_cli_run(r, (const char *[]){ "eval", "--model", "itemcf", "--data", data, "--split",
                                    "holdout:0.2", "--metrics", "hit@10", "--plot", out, NULL });
    expect_error(r, "eval --plot draws a --sweep", out);
    ck_assert_int_eq(r->code, 2);
    tu_cli_run(r, (const char *[]){ "eval", "--model", "itemcf", "--data", data, "--split",
                                    "holdout:0.2", "--metrics", "hit@10", "--sweep", "k",
                                    "--plot", out, NULL });
    expect_error(r, "--sweep 'k': want KEY=V1,V2,...", out);
    tu_cli_run(r, (const char *[]){ "eval", "--model", "itemcf", "--data", data, "--split",
                                    "holdout:0.2", "--metrics", "hit@10", "--sweep", "k=2,,3",
                                    "--plot", out, NULL });
    expect_error(r, "an empty value", out);
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
    tcase_add_test(tc, similar_and_explain_draw_bars);
    tcase_add_test(tc, plot_axes_heat_map);
    tcase_add_test(tc, eval_sweep_tables_and_charts);
    suite_add_tcase(s, tc);
    return s;
}
