/* `librec stats`: the data detective.  Everything rec_dataset_stats_compute
 * finds, as a page a person reads, as JSON, or as SVG charts in --plot DIR
 * (long_tail.svg, user_activity.svg, item_activity.svg, ratings.svg and,
 * for Unix timestamps, months.svg). */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "svg.h"

static double val(const rec_dataset_stats *s, const char *key)
{
    double v = NAN;
    rec_dataset_stats_get(s, key, &v);
    return v;
}

typedef struct series {
    const char *key;
    const double *x, *y;
    size_t n;
} series;

static series get_series(const rec_dataset_stats *s, size_t i)
{
    series r = { 0 };
    rec_dataset_stats_series_at(s, i, &r.key, &r.x, &r.y, &r.n);
    return r;
}

/* "YYYY-MM" of a months series x (year + (month - 1) / 12). */
static void month_name(double x, char b[32])
{
    long m = lround(x * 12);
    snprintf(b, 32, "%04ld-%02ld", m / 12, m % 12 + 1);
}

/* "YYYY-MM-DD" of Unix time t (UTC). */
static void day(double t, char b[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm))
        strftime(b, 32, "%Y-%m-%d", &tm);
    else
        snprintf(b, 32, "?");
}

/* "1", "2-3", "4-7", ... for the doubling bins of an activity series. */
static void bin_name(double lo, char b[32])
{
    if (lo < 2)
        snprintf(b, 32, "%.0f", lo);
    else
        snprintf(b, 32, "%.0f-%.0f", lo, 2 * lo - 1);
}

static void print_json(const cli_opts *o, const rec_dataset_stats *s)
{
    printf("{\"data\": ");
    cli_json_str(stdout, o->data);
    const char *key;
    double v;
    for (size_t i = 0; rec_dataset_stats_value_at(s, i, &key, &v) == REC_OK; i++) {
        printf(", \"%s\": ", key);
        if (isfinite(v))
            printf("%.10g", v);
        else
            printf("null"); /* undefined for this data (no ratings, ...) */
    }
    printf(", \"series\": {");
    for (size_t i = 0;; i++) {
        series r = get_series(s, i);
        if (!r.key)
            break;
        printf("%s\"%s\": {\"x\": [", i ? ", " : "", r.key);
        for (size_t j = 0; j < r.n; j++) {
            char b[32];
            if (!strcmp(r.key, "months")) {
                month_name(r.x[j], b);
                printf("%s\"%s\"", j ? ", " : "", b);
            } else {
                printf("%s%.10g", j ? ", " : "", r.x[j]);
            }
        }
        printf("], \"y\": [");
        for (size_t j = 0; j < r.n; j++)
            printf("%s%.10g", j ? ", " : "", r.y[j]);
        printf("]}");
    }
    printf("}, \"warnings\": [");
    const char *w;
    rec_dataset_stats_warnings(s, &w);
    for (int first = 1; *w; first = 0) {
        const char *e = strchr(w, '\n');
        char line[600];
        snprintf(line, sizeof line, "%.*s", (int)(e - w), w);
        printf("%s", first ? "" : ", ");
        cli_json_str(stdout, line);
        w = e + 1;
    }
    printf("]}\n");
}

static void quantiles(const rec_dataset_stats *s, const char *side)
{
    static const char *const q[] = { "min", "p25", "median", "p75", "p90", "p99", "max",
                                     "mean" };
    printf("per %s:", side);
    for (size_t k = 0; k < sizeof q / sizeof *q; k++) {
        char key[32];
        snprintf(key, sizeof key, "%s_%s", side, q[k]);
        printf("%s %s %.4g", k ? "," : "", q[k], val(s, key));
    }
    printf("\n");
}

static void print_text(const rec_dataset_stats *s)
{
    printf("size: %.0f users, %.0f items, %.0f interactions, %.0f distinct pairs, density %.4g%%\n",
           val(s, "users"), val(s, "items"), val(s, "interactions"), val(s, "pairs"),
           100 * val(s, "density"));
    printf("active: %.0f users and %.0f items have at least one interaction\n",
           val(s, "active_users"), val(s, "active_items"));
    if (isfinite(val(s, "gini")))
        printf("long tail: the top 1%% of items hold %.1f%% of interactions, the top 10%% "
               "%.1f%%, the top 20%% %.1f%%; Gini %.3f\n",
               100 * val(s, "top1_share"), 100 * val(s, "top10_share"),
               100 * val(s, "top20_share"), val(s, "gini"));
    quantiles(s, "user");
    quantiles(s, "item");
    series r = get_series(s, 3);
    if (r.n) {
        printf("ratings: %.0f values from %g to %g, mean %.4g\n", val(s, "rating_values"),
               val(s, "rating_min"), val(s, "rating_max"), val(s, "rating_mean"));
        double top = 0;
        for (size_t j = 0; j < r.n; j++)
            top = r.y[j] > top ? r.y[j] : top;
        for (size_t j = 0; j < r.n; j++)
            printf("  %10g %10.0f  %.*s\n", r.x[j], r.y[j], (int)lround(40 * r.y[j] / top),
                   "########################################");
    } else {
        printf("ratings: none\n");
    }
    r = get_series(s, 4);
    if (r.n) {
        char a[32], b[32];
        size_t busiest = 0;
        for (size_t j = 0; j < r.n; j++)
            busiest = r.y[j] > r.y[busiest] ? j : busiest;
        day(val(s, "time_first"), a);
        day(val(s, "time_last"), b);
        printf("time: %s to %s (%.0f days), %.0f of %zu months with interactions", a, b,
               val(s, "time_span_days"), val(s, "months"), r.n);
        month_name(r.x[busiest], a);
        printf(", busiest %s (%.0f)\n", a, r.y[busiest]);
    } else if (isfinite(val(s, "time_first"))) {
        printf("time: %.0f to %.0f (not Unix times)\n", val(s, "time_first"),
               val(s, "time_last"));
    } else {
        printf("time: no timestamps\n");
    }
    printf("cold (fewer than %.0f interactions): %.0f users, %.0f items\n",
           val(s, "cold_threshold"), val(s, "cold_users"), val(s, "cold_items"));
    printf("duplicates: %.0f pairs occur more than once (%.0f extra rows)\n",
           val(s, "duplicate_pairs"), val(s, "duplicate_rows"));
}

static double max_of(const double *y, size_t n)
{
    double m = 0;
    for (size_t j = 0; j < n; j++)
        m = y[j] > m ? y[j] : m;
    return m;
}

/* dir/name.svg into path; 0, or a failure printed. */
static int chart_path(const char *dir, const char *name, char *path, size_t size)
{
    if ((size_t)snprintf(path, size, "%s/%s.svg", dir, name) < size)
        return 0;
    fprintf(stderr, "librec: --plot: the path '%s/%s.svg' is too long\n", dir, name);
    return 1;
}

static int chart_done(svg *g, const char *path, int quiet)
{
    if (svg_close(g)) {
        fprintf(stderr, "librec: --plot: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (!quiet)
        fprintf(stderr, "librec: wrote %s\n", path);
    return 0;
}

static int open_chart(svg *g, const char *dir, const char *name, const char *title, char *path,
                      size_t size)
{
    if (chart_path(dir, name, path, size))
        return 1;
    if (svg_open(g, path, 720, 440, title)) {
        fprintf(stderr, "librec: --plot: cannot create %s: %s\n", path, strerror(errno));
        return 1;
    }
    return 0;
}

static const char *const blue = "#0072B2", *const orange = "#E69F00";

static int plot_long_tail(const cli_opts *o, const rec_dataset_stats *s, const char *title)
{
    series r = get_series(s, 0);
    if (!r.n)
        return 0;
    char path[4096], label[96];
    svg g;
    if (open_chart(&g, o->plot, r.key, title, path, sizeof path))
        return 1;
    double x[101], y[101], even[2] = { 0, 100 };
    for (size_t j = 0; j < r.n; j++) {
        x[j] = 100 * r.x[j];
        y[j] = 100 * r.y[j];
    }
    svg_axes(&g, 0, 100, 0, 100, "% of items, most popular first", "% of interactions", NULL, 0,
             0);
    g.legend_low = 1; /* the curve fills the top left, the diagonal leaves the bottom right */
    snprintf(label, sizeof label, "this data (Gini %.2f)", val(s, "gini"));
    svg_line(&g, x, y, r.n, blue, 0, label);
    svg_line(&g, even, even, 2, orange, 1, "every item as popular");
    snprintf(label, sizeof label, "top 20%%: %.0f%%", 100 * val(s, "top20_share"));
    svg_points(&g, (double[]){ 20 }, (double[]){ 100 * val(s, "top20_share") }, 1, 4, blue,
               NULL);
    svg_text(&g, 22, 100 * val(s, "top20_share") - 6, label, "start");
    return chart_done(&g, path, o->quiet);
}

/* A histogram of categorical bars (activity bins, rating values). */
static int plot_bars(const cli_opts *o, const rec_dataset_stats *s, size_t i, const char *title,
                     const char *xlabel, const char *ylabel, int logy)
{
    series r = get_series(s, i);
    if (!r.n)
        return 0;
    char path[4096];
    svg g;
    if (open_chart(&g, o->plot, r.key, title, path, sizeof path))
        return 1;
    char(*names)[32] = calloc(r.n, sizeof *names);
    const char **cats = calloc(r.n, sizeof *cats);
    double *pos = calloc(r.n, sizeof *pos);
    if (!names || !cats || !pos) {
        free(names);
        free(cats);
        free(pos);
        svg_close(&g);
        return cli_fail_run(REC_E_NOMEM, "--plot");
    }
    for (size_t j = 0; j < r.n; j++) {
        if (i == 3)
            snprintf(names[j], 32, "%g", r.x[j]);
        else
            bin_name(r.x[j], names[j]);
        cats[j] = names[j];
        pos[j] = (double)j;
    }
    svg_axes(&g, 0, 0, logy ? 1 : 0, max_of(r.y, r.n), xlabel, ylabel, cats, r.n, logy);
    svg_bars(&g, pos, r.y, r.n, 0.8, blue, NULL);
    free(names);
    free(cats);
    free(pos);
    return chart_done(&g, path, o->quiet);
}

static int plot_months(const cli_opts *o, const rec_dataset_stats *s, const char *title)
{
    series r = get_series(s, 4);
    if (!r.n)
        return 0;
    char path[4096];
    svg g;
    if (open_chart(&g, o->plot, r.key, title, path, sizeof path))
        return 1;
    svg_axes(&g, r.x[0], r.x[r.n - 1] + 1.0 / 12, 0, max_of(r.y, r.n), "year (UTC)",
             "interactions per month", NULL, 0, 0);
    double *mid = malloc(r.n * sizeof *mid);
    if (!mid) {
        svg_close(&g);
        return cli_fail_run(REC_E_NOMEM, "--plot");
    }
    for (size_t j = 0; j < r.n; j++)
        mid[j] = r.x[j] + 1.0 / 24; /* a month's bar spans the month */
    svg_bars(&g, mid, r.y, r.n, 1.0 / 12, blue, NULL);
    free(mid);
    return chart_done(&g, path, o->quiet);
}

static int plot(const cli_opts *o, const rec_dataset_stats *s)
{
    if (mkdir(o->plot, 0777) && errno != EEXIST) {
        fprintf(stderr, "librec: --plot: cannot create directory %s: %s\n", o->plot,
                strerror(errno));
        return 1;
    }
    /* Titles name the file: a learner comparing charts sees which is which. */
    const char *base = strrchr(o->data, '/') ? strrchr(o->data, '/') + 1 : o->data;
    char t[4][512];
    snprintf(t[0], sizeof t[0], "%s: the long tail", base);
    snprintf(t[1], sizeof t[1], "%s: interactions per user", base);
    snprintf(t[2], sizeof t[2], "%s: interactions per item", base);
    snprintf(t[3], sizeof t[3], "%s: ratings", base);
    if (plot_long_tail(o, s, t[0]) ||
        plot_bars(o, s, 1, t[1], "interactions of a user", "users (log scale)", 1) ||
        plot_bars(o, s, 2, t[2], "interactions of an item", "items (log scale)", 1) ||
        plot_bars(o, s, 3, t[3], "rating", "interactions", 0))
        return 1;
    snprintf(t[0], sizeof t[0], "%s: interactions per month", base);
    return plot_months(o, s, t[0]);
}

int cli_stats(cli_opts *o)
{
    rec_dataset *d;
    int rc = cli_load_data(o, &d);
    if (rc)
        return rc;
    rec_dataset_stats *s;
    size_t nopts = 0;
    rec_params_count(o->params, &nopts);
    rec_status st = rec_dataset_stats_compute(&s, d, nopts ? o->params : NULL);
    rec_dataset_destroy(d);
    if (st)
        return cli_fail(st, "stats failed");
    /* The misread signs go to stderr as well, even under --json and --quiet:
     * the numbers above them may describe a file read the wrong way. */
    const char *w;
    rec_dataset_stats_warnings(s, &w);
    while (*w) {
        const char *e = strchr(w, '\n');
        fprintf(stderr, "librec: warning: %.*s\n", (int)(e - w), w);
        w = e + 1;
    }
    if (o->json)
        print_json(o, s);
    else
        print_text(s);
    rc = o->plot ? plot(o, s) : 0;
    rec_dataset_stats_destroy(s);
    return rc;
}
