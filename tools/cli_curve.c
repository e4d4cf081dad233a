/* `librec train --plot curve.svg`: the training loss of each epoch, recorded
 * from the progress callback rec_model_fit calls after every epoch (the one
 * trainer loop, rec_model_train, reports each epoch's loss there), one line
 * per step the model names (svd: "epoch", then "ranking head epoch"); and
 * below it, when the fit validates (valid_ratio > 0), the validation metric
 * of each validated epoch (rec_model_fit_valid). */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "svg.h"

int cli_curve_progress(void *user, int epoch, int epochs, double loss)
{
    cli_curve *c = user;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        int *e = realloc(c->epoch, cap * sizeof *e);
        if (e)
            c->epoch = e;
        double *l = realloc(c->loss, cap * sizeof *l);
        if (l)
            c->loss = l;
        char(*ph)[48] = realloc(c->phase, cap * sizeof *ph);
        if (ph)
            c->phase = ph;
        double *v = realloc(c->valid, cap * sizeof *v);
        if (v)
            c->valid = v;
        if (!e || !l || !ph || !v) {
            c->nomem = 1;
            return 1; /* stop: the curve could not be kept */
        }
        c->cap = cap;
    }
    const char *step = rec_model_fit_step(c->model);
    c->epoch[c->n] = epoch;
    c->loss[c->n] = loss;
    snprintf(c->phase[c->n], sizeof c->phase[c->n], "%s", step ? step : "epoch");
    const char *metric;
    int ve;
    double vv;
    rec_model_fit_valid(c->model, &metric, &ve, &vv);
    c->valid[c->n] = metric && ve == epoch ? vv : NAN;
    if (metric)
        snprintf(c->valid_name, sizeof c->valid_name, "%s", metric);
    c->n++;
    return c->bar_fn ? c->bar_fn(c->bar, epoch, epochs, loss) : 0;
}

void cli_curve_free(cli_curve *c)
{
    free(c->epoch);
    free(c->loss);
    free(c->phase);
    free(c->valid);
}

int cli_curve_write(const cli_curve *c, const char *path, const char *title, int quiet)
{
    static const char *const colors[] = { "#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                          "#D55E00", "#56B4E9" };
    double xmax = 1, ylo = INFINITY, yhi = -INFINITY;
    for (size_t j = 0; j < c->n; j++) {
        xmax = c->epoch[j] > xmax ? c->epoch[j] : xmax;
        if (isfinite(c->loss[j])) {
            ylo = c->loss[j] < ylo ? c->loss[j] : ylo;
            yhi = c->loss[j] > yhi ? c->loss[j] : yhi;
        }
    }
    int any = isfinite(ylo);
    if (!any)
        ylo = 0, yhi = 1;
    double vlo = INFINITY, vhi = -INFINITY;
    for (size_t j = 0; j < c->n; j++)
        if (isfinite(c->valid[j])) {
            vlo = c->valid[j] < vlo ? c->valid[j] : vlo;
            vhi = c->valid[j] > vhi ? c->valid[j] : vhi;
        }
    int validated = isfinite(vlo);
    svg g;
    if (svg_open(&g, path, 720, validated ? 700 : 440, title)) {
        fprintf(stderr, "librec: --plot: cannot create %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (validated)
        g.bottom = 330; /* the loss on top, the validation metric below */
    svg_axes(&g, 0, xmax, ylo < 0 ? ylo : 0, yhi, validated ? "" : "epoch", "training loss",
             NULL, 0, 0);
    double *x = malloc((c->n + 1) * sizeof *x), *y = malloc((c->n + 1) * sizeof *y);
    if (!x || !y) {
        free(x);
        free(y);
        svg_close(&g);
        return cli_fail_run(REC_E_NOMEM, "--plot");
    }
    /* One line per step, in the order the steps ran. */
    size_t start = 0;
    for (int line = 0; start < c->n; line++) {
        size_t end = start, n = 0;
        while (end < c->n && !strcmp(c->phase[end], c->phase[start])) {
            if (isfinite(c->loss[end])) {
                x[n] = c->epoch[end];
                y[n++] = c->loss[end];
            }
            end++;
        }
        if (n) {
            const char *color = colors[line % 6];
            svg_line(&g, x, y, n, color, 0, c->phase[start]);
            svg_points(&g, x, y, n, 2.5, color, NULL);
        }
        start = end;
    }
    if (!any)
        svg_text(&g, xmax / 2, 0.5, "this model reports no training loss (one pass, no epochs)",
                 "middle");
    if (validated) {
        size_t n = 0;
        for (size_t j = 0; j < c->n; j++)
            if (isfinite(c->valid[j])) {
                x[n] = c->epoch[j];
                y[n++] = c->valid[j];
            }
        char label[96];
        snprintf(label, sizeof label, "validation %s", c->valid_name);
        g.top = 390;
        g.bottom = g.h - 50;
        g.legends = 0;
        svg_axes(&g, 0, xmax, vlo < 0 ? vlo : 0, vhi, "epoch", label, NULL, 0, 0);
        svg_line(&g, x, y, n, colors[2], 0, label);
        svg_points(&g, x, y, n, 2.5, colors[2], NULL);
    }
    free(x);
    free(y);
    if (svg_close(&g)) {
        fprintf(stderr, "librec: --plot: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (!quiet)
        fprintf(stderr, "librec: wrote %s\n", path);
    return 0;
}
