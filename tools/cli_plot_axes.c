/* `librec plot-embeddings --axes N --color FIELD`: do the model's main
 * directions mean anything?  The first N principal axes of the vectors
 * (rec_project_pca) against the values of a categorical or multi-hot field
 * (every value of a multi-hot one): each cell is the correlation, over the
 * entities --data has, of an entity's coordinate on the axis with having
 * the value (0/1), drawn as a heat map.  Factors are defined only up to a
 * rotation, so the principal axes are the ones worth naming; an axis that
 * is a genre shows as one strong cell in its column. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "svg.h"

enum { MAX_ROWS = 24 };

typedef struct axes_run {
    float *xy;         /* [n, K] coordinates */
    double var[16], total;
    double *r;         /* [ncodes, K] correlations */
    int64_t *size;     /* [ncodes] entities with the value */
    int32_t *order;    /* values by size, largest first */
} axes_run;

static void run_free(axes_run *a)
{
    free(a->xy);
    free(a->r);
    free(a->size);
    free(a->order);
}

static int by_size(const void *x, const void *y, void *ctx)
{
    const int64_t *size = ctx;
    int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
    if (size[a] != size[b])
        return size[a] < size[b] ? 1 : -1;
    return (a > b) - (a < b);
}

/* Pearson's r of coordinate and membership from the sums over N entities:
 * sx, sxx of the coordinate, sxv of it over the nv entities with the value. */
static double corr(double N, double sx, double sxx, double sxv, double nv)
{
    double mx = sx / N, p = nv / N, vx = sxx / N - mx * mx, vv = p * (1 - p);
    return vx > 0 && vv > 0 ? (sxv / N - mx * p) / sqrt(vx * vv) : NAN;
}

static int correlate(axes_run *a, size_t n, int K, const int32_t *data_row, const rec_dataset *d,
                     rec_side side, int field, int32_t ncodes)
{
    double *sxv = calloc((size_t)ncodes * K + 1, sizeof *sxv), sx[16] = { 0 }, sxx[16] = { 0 };
    a->r = malloc(((size_t)ncodes * K + 1) * sizeof *a->r);
    a->size = calloc((size_t)ncodes + 1, sizeof *a->size);
    a->order = malloc(((size_t)ncodes + 1) * sizeof *a->order);
    if (!sxv || !a->r || !a->size || !a->order) {
        free(sxv);
        return cli_fail_run(REC_E_NOMEM, "plot-embeddings");
    }
    const char *name;
    rec_feature_type t;
    rec_dataset_field_info(d, side, field, &name, &t);
    double N = 0;
    for (size_t j = 0; j < n; j++) {
        if (data_row[j] < 0)
            continue;
        N++;
        const float *c = a->xy + j * (size_t)K;
        for (int k = 0; k < K; k++) {
            sx[k] += c[k];
            sxx[k] += (double)c[k] * c[k];
        }
        int32_t one, nc = 0;
        const int32_t *codes = NULL;
        if (t == REC_FEATURE_CATEGORICAL) {
            if (!rec_dataset_feature_code(d, side, field, data_row[j], &one) && one >= 0) {
                codes = &one;
                nc = 1;
            }
        } else if (rec_dataset_feature_codes(d, side, field, data_row[j], &codes, &nc)) {
            nc = 0;
        }
        for (int32_t q = 0; q < nc; q++) {
            if (codes[q] < 0 || codes[q] >= ncodes)
                continue;
            a->size[codes[q]]++;
            for (int k = 0; k < K; k++)
                sxv[(size_t)codes[q] * K + k] += c[k];
        }
    }
    for (int32_t v = 0; v < ncodes; v++) {
        a->order[v] = v;
        for (int k = 0; k < K; k++)
            a->r[(size_t)v * K + k] = corr(N, sx[k], sxx[k], sxv[(size_t)v * K + k],
                                           (double)a->size[v]);
    }
    free(sxv);
    qsort_r(a->order, (size_t)ncodes, sizeof *a->order, by_size, a->size);
    return 0;
}

static int draw(const cli_opts *o, const axes_run *a, int K, const rec_dataset *d, rec_side side,
                int field, int32_t shown, const char *kind, size_t n, int dim, const char *path)
{
    char title[400], caption[300], (*rl)[64] = malloc((size_t)(shown ? shown : 1) * sizeof *rl);
    char(*cl)[32] = malloc((size_t)K * sizeof *cl);
    const char **rows = malloc((size_t)(shown ? shown : 1) * sizeof *rows), *cols[16];
    double *v = malloc(((size_t)shown * K + 1) * sizeof *v);
    if (!rl || !cl || !rows || !v) {
        free(rl), free(cl), free(rows), free(v);
        return cli_fail_run(REC_E_NOMEM, "plot-embeddings");
    }
    for (int32_t r = 0; r < shown; r++) {
        const char *name = "?";
        char s[48];
        rec_dataset_field_value_name(d, side, field, a->order[r], &name);
        svg_shorten(name, 24, s, sizeof s);
        snprintf(rl[r], sizeof rl[r], "%s (%lld)", s, (long long)a->size[a->order[r]]);
        rows[r] = rl[r];
        for (int k = 0; k < K; k++)
            v[(size_t)r * K + k] = a->r[(size_t)a->order[r] * K + k];
    }
    for (int k = 0; k < K; k++) {
        snprintf(cl[k], sizeof cl[k], "axis %d: %.1f%%", k + 1,
                 a->total > 0 ? 100 * a->var[k] / a->total : 0.0);
        cols[k] = cl[k];
    }
    snprintf(title, sizeof title, "%s: %zu %s vectors (dim %d), principal axes against %s", kind,
             n, side == REC_SIDE_USER ? "user" : "item", dim, o->color);
    snprintf(caption, sizeof caption,
             "correlation of a coordinate with having the value (axis: its share of the variance)");
    svg g;
    int rc = 0;
    if (svg_open(&g, path, fmax(760, 250 + 100.0 * K), 120 + 28.0 * shown, title)) {
        fprintf(stderr, "librec: --out: cannot create %s: %s\n", path, strerror(errno));
        rc = 1;
    } else {
        svg_heatmap(&g, rows, (size_t)shown, cols, (size_t)K, v, "%+.2f", caption);
        if (svg_close(&g)) {
            fprintf(stderr, "librec: --out: cannot write %s: %s\n", path, strerror(errno));
            rc = 1;
        }
    }
    free(rl), free(cl), free(rows), free(v);
    return rc;
}

int cli_plot_axes(const cli_opts *o, int K, const float *x, size_t n, int dim,
                  const int32_t *data_row, const rec_dataset *d, rec_side side, int field,
                  const char *kind, const char *path)
{
    if (K > dim) {
        char msg[160];
        snprintf(msg, sizeof msg, "--axes %d: the vectors have only %d dimensions", K, dim);
        return cli_usage_error("%s", msg);
    }
    axes_run a = { 0 };
    int32_t ncodes = 0;
    rec_dataset_field_vocab(d, side, field, &ncodes);
    a.xy = malloc((n ? n : 1) * (size_t)K * sizeof *a.xy);
    if (!a.xy)
        return cli_fail_run(REC_E_NOMEM, "plot-embeddings");
    rec_status st = rec_project_pca(x, n, dim, K, a.xy, NULL, a.var, &a.total);
    int rc = st ? cli_fail_run(st, "plot-embeddings") : 0;
    if (!rc)
        rc = correlate(&a, n, K, data_row, d, side, field, ncodes);
    int32_t shown = 0;
    while (!rc && shown < ncodes && shown < MAX_ROWS && a.size[a.order[shown]] > 0)
        shown++;
    if (!rc)
        rc = draw(o, &a, K, d, side, field, shown, kind, n, dim, path);
    if (!rc && o->json) {
        printf("{\"out\": ");
        cli_json_str(stdout, o->out);
        printf(", \"model\": ");
        cli_json_str(stdout, kind);
        printf(", \"axes\": %d, \"explained\": [", K);
        for (int k = 0; k < K; k++)
            printf("%s%.6g", k ? ", " : "", a.total > 0 ? a.var[k] / a.total : 0);
        printf("], \"color\": ");
        cli_json_str(stdout, o->color);
        printf(", \"correlations\": {");
        for (int32_t r = 0; r < shown; r++) {
            const char *name = "?";
            rec_dataset_field_value_name(d, side, field, a.order[r], &name);
            printf("%s", r ? ", " : "");
            cli_json_str(stdout, name);
            printf(": [");
            for (int k = 0; k < K; k++) {
                double c = a.r[(size_t)a.order[r] * K + k];
                fputs(k ? ", " : "", stdout);
                if (isfinite(c))
                    printf("%.4f", c);
                else
                    printf("null");
            }
            printf("]");
        }
        printf("}}\n");
    }
    run_free(&a);
    return rc;
}
