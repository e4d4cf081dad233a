/* `librec eval --sweep KEY=V1,V2,...`: the same evaluation (split, seed,
 * metrics) once per value of one parameter, each run printed as eval
 * prints it, then a table of the metrics by value; with --plot, a chart of
 * each metric against the value (the values as categories, in the order
 * given), so a choice such as LightGCN's number of layers is read off one
 * command's output. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svg.h"

enum { MAX_VALUES = 32 };

static int sweep_plot(const cli_opts *o, const char *key, const char *const *vals, size_t nv,
                      const cli_metrics *runs)
{
    static const char *const colors[] = { "#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                          "#D55E00", "#56B4E9" };
    double hi = 0;
    for (size_t j = 0; j < nv; j++)
        for (size_t k = 0; k < runs[0].n; k++)
            if (isfinite(runs[j].v[k]))
                hi = fmax(hi, runs[j].v[k]);
    const char *base = strrchr(o->data, '/');
    char title[400];
    snprintf(title, sizeof title, "%s on %s, %s %s: the metrics by %s", o->model,
             base ? base + 1 : o->data, o->test ? "test" : "split", o->test ? o->test : o->split,
             key);
    svg g;
    if (svg_open(&g, o->plot, 720, 440, title)) {
        fprintf(stderr, "librec: --plot: cannot create %s: %s\n", o->plot, strerror(errno));
        return 1;
    }
    g.legend_low = 1;
    svg_axes(&g, 0, 1, 0, hi > 0 ? hi * 1.1 : 1, key, "metric (test)", vals, nv, 0);
    double x[MAX_VALUES], y[MAX_VALUES];
    for (size_t k = 0; k < runs[0].n; k++) {
        for (size_t j = 0; j < nv; j++) {
            x[j] = (double)j;
            y[j] = runs[j].v[k];
        }
        const char *c = colors[k % 6];
        svg_line(&g, x, y, nv, c, 0, runs[0].name[k]);
        svg_points(&g, x, y, nv, 3.5, c, NULL);
        for (size_t j = 0; j < nv; j++)
            if (isfinite(y[j])) {
                char b[32];
                snprintf(b, sizeof b, "%.4f", y[j]);
                svg_text(&g, x[j], y[j] + (g.y1 - g.y0) * 0.025, b, "middle");
            }
    }
    if (svg_close(&g)) {
        fprintf(stderr, "librec: --plot: cannot write %s: %s\n", o->plot, strerror(errno));
        remove(o->plot);
        return 1;
    }
    if (!o->quiet)
        fprintf(stderr, "librec: wrote %s\n", o->plot);
    return 0;
}

static int sweep(cli_opts *o)
{
    const char *eq = strchr(o->sweep, '=');
    if (!eq || eq == o->sweep || !eq[1])
        return cli_usage_error("--sweep '%s': want KEY=V1,V2,...", o->sweep);
    char key[128], list[1024];
    if ((size_t)(eq - o->sweep) >= sizeof key || strlen(eq + 1) >= sizeof list)
        return cli_usage_error("--sweep '%s': too long", o->sweep);
    snprintf(key, sizeof key, "%.*s", (int)(eq - o->sweep), o->sweep);
    snprintf(list, sizeof list, "%s", eq + 1);
    const char *vals[MAX_VALUES];
    size_t nv = 0;
    for (char *v = list, *end; v; v = end) {
        end = strchr(v, ',');
        if (end)
            *end++ = 0;
        if (!*v)
            return cli_usage_error("--sweep '%s': an empty value", o->sweep);
        if (nv == MAX_VALUES)
            return cli_usage_error("--sweep '%s': more than 32 values", o->sweep);
        vals[nv++] = v;
    }
    cli_metrics *runs = calloc(nv, sizeof *runs);
    if (!runs)
        return cli_fail(REC_E_NOMEM, NULL);
    int rc = 0;
    for (size_t j = 0; !rc && j < nv; j++) {
        char kv[1200];
        snprintf(kv, sizeof kv, "%s=%s", key, vals[j]);
        rec_status st = rec_params_parse(o->params, kv);
        if (st) {
            rc = cli_fail(st, "--sweep");
            break;
        }
        if (!o->json)
            printf("%s# %s\n", j ? "\n" : "", kv);
        fflush(stdout);
        rc = cli_eval_run(o, &runs[j]);
    }
    if (!rc && !o->json) {
        printf("\n%-12s", key);
        for (size_t k = 0; k < runs[0].n; k++)
            printf("  %12s", runs[0].name[k]);
        printf("\n");
        for (size_t j = 0; j < nv; j++) {
            printf("%-12s", vals[j]);
            for (size_t k = 0; k < runs[j].n; k++)
                printf("  %12.4f", runs[j].v[k]);
            printf("\n");
        }
    }
    if (!rc && o->plot)
        rc = sweep_plot(o, key, vals, nv, runs);
    free(runs);
    return rc;
}

int cli_eval(cli_opts *o)
{
    if (o->plot && !o->sweep)
        return cli_usage_error("%s", "eval --plot draws a --sweep KEY=V1,V2,...: give one");
    return o->sweep ? sweep(o) : cli_eval_run(o, NULL);
}
