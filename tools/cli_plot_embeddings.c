/* `librec plot-embeddings --load M --out MAP.svg`: the model's item (or
 * user) vectors (rec_model_vectors) on a plane, by rec_project_neighbors
 * (UMAP's layout, the default) or rec_project_pca, coloured by a
 * categorical or multi-hot field of the training data (--data; a multi-hot
 * value counts by its first entry), the largest categories in the legend
 * and the rest as "other", and the titles of the most popular items.
 * Whether the colours cluster is measured, not only drawn: the share of
 * each point's 10 nearest neighbours that have its colour, in the plane
 * and in the model's own space (cosine), beside the share two random
 * points would have (the chance level).  With --axes, a heat map of the
 * principal axes against the field instead (cli_plot_axes.c).  The SVG is
 * written under a temporary name and renamed, so a failure leaves no file
 * behind. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "svg.h"

enum { NCOLORS = 8, AGREE_K = 10 };

/* Okabe-Ito, colour-blind safe; "other" is grey. */
static const char *const palette[NCOLORS] = { "#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                              "#D55E00", "#56B4E9", "#F0E442", "#000000" };

typedef struct plot {
    const cli_opts *o;
    rec_model *m;
    rec_dataset *d;
    int users;            /* the map is of users, not items */
    size_t n;
    int dim;
    float *x, *xy;        /* [n, dim] vectors, [n, 2] their map */
    int32_t *data_row;    /* [n] the entity's index in --data, -1 if absent */
    int32_t *cat;         /* [n] its field value (first of a multi-hot), -1 none */
    int64_t *count;       /* [n] its interactions in --data */
    int field, title;     /* field indices in --data, -1 when none */
    double var[2], total; /* pca */
} plot;

static void plot_free(plot *p)
{
    free(p->x);
    free(p->xy);
    free(p->data_row);
    free(p->cat);
    free(p->count);
    rec_dataset_destroy(p->d);
    rec_model_destroy(p->m);
}

/* The names of the side's categorical and multi-hot fields, for a message. */
static void list_fields(const rec_dataset *d, rec_side side, char *buf, size_t cap)
{
    int nf = 0;
    size_t len = 0;
    buf[0] = 0;
    rec_dataset_num_fields(d, side, &nf);
    for (int k = 0; k < nf; k++) {
        const char *name;
        rec_feature_type t;
        if (!rec_dataset_field_info(d, side, k, &name, &t) &&
            (t == REC_FEATURE_CATEGORICAL || t == REC_FEATURE_MULTIHOT) && len < cap)
            len += (size_t)snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", name);
    }
    if (!len)
        snprintf(buf, cap, "none");
}

/* --color's field, each point's value, --data's rows and titles. */
static int read_data(plot *p)
{
    const cli_opts *o = p->o;
    rec_side side = p->users ? REC_SIDE_USER : REC_SIDE_ITEM;
    const char *what = p->users ? "user" : "item";
    p->field = p->title = -1;
    if (o->color) {
        int k;
        rec_feature_type t = 0;
        const char *name;
        char fields[512];
        if (rec_dataset_field_index(p->d, side, o->color, &k) ||
            rec_dataset_field_info(p->d, side, k, &name, &t) ||
            (t != REC_FEATURE_CATEGORICAL && t != REC_FEATURE_MULTIHOT)) {
            list_fields(p->d, side, fields, sizeof fields);
            fprintf(stderr,
                    "librec: --color '%s': %s has no categorical or multi-hot %s field '%s' "
                    "(its fields of that kind: %s)\n",
                    o->color, o->data, what, o->color, fields);
            return 2;
        }
        p->field = k;
    }
    int k;
    rec_feature_type t;
    const char *name;
    if (!p->users && !rec_dataset_field_index(p->d, REC_SIDE_ITEM, "title", &k) &&
        !rec_dataset_field_info(p->d, REC_SIDE_ITEM, k, &name, &t) && t == REC_FEATURE_TEXT)
        p->title = k;
    int32_t nd = 0;
    if (p->users)
        rec_dataset_num_users(p->d, &nd);
    else
        rec_dataset_num_items(p->d, &nd);
    int64_t *by_data = calloc((size_t)nd + 1, sizeof *by_data);
    p->data_row = malloc(p->n * sizeof *p->data_row);
    p->cat = malloc(p->n * sizeof *p->cat);
    p->count = calloc(p->n ? p->n : 1, sizeof *p->count);
    if (!by_data || !p->data_row || !p->cat || !p->count) {
        free(by_data);
        return cli_fail_run(REC_E_NOMEM, "plot-embeddings");
    }
    int64_t rows = 0;
    rec_dataset_num_interactions(p->d, &rows);
    for (int64_t r = 0; r < rows; r++) {
        int32_t u, i;
        if (!rec_dataset_row(p->d, r, &u, &i, NULL, NULL))
            by_data[p->users ? u : i]++;
    }
    size_t found = 0;
    for (size_t j = 0; j < p->n; j++) {
        const char *id;
        int32_t e = -1;
        rec_status st = p->users ? rec_model_user_id(p->m, (int32_t)j, &id)
                                 : rec_model_item_id(p->m, (int32_t)j, &id);
        if (!st && (p->users ? rec_dataset_user_index(p->d, id, &e)
                             : rec_dataset_item_index(p->d, id, &e)))
            e = -1;
        p->data_row[j] = e;
        p->cat[j] = -1;
        if (e < 0)
            continue;
        found++;
        p->count[j] = by_data[e];
        if (p->field < 0)
            continue;
        const int32_t *codes;
        int32_t nc = 0;
        rec_dataset_field_info(p->d, side, p->field, &name, &t);
        if (t == REC_FEATURE_CATEGORICAL)
            rec_dataset_feature_code(p->d, side, p->field, e, &p->cat[j]);
        else if (!rec_dataset_feature_codes(p->d, side, p->field, e, &codes, &nc) && nc > 0)
            p->cat[j] = codes[0];
    }
    free(by_data);
    if (!found) {
        fprintf(stderr,
                "librec: --data %s shares no %s id with the model %s: is it the data the model "
                "was trained on?\n",
                o->data, what, o->load);
        return 1;
    }
    return 0;
}

/* The share of the k nearest neighbours of each point with a category that
 * have its category (points without one neither ask nor count), by a flat
 * index over v [n, dim]: cosine, or euclidean through the inner product of
 * [v, -|v|^2 / 2] with [v, 1].  NAN when no point has a category. */
static double agreement(const float *v, size_t n, int dim, int euclid, const int32_t *cat,
                        rec_status *st)
{
    size_t k = AGREE_K + 1 < n ? AGREE_K + 1 : n, cols = (size_t)dim + (euclid != 0);
    rec_params *pr = NULL;
    rec_index *ix = NULL;
    float *b = malloc(n * cols * sizeof *b), *sc = malloc(n * k * sizeof *sc);
    int32_t *lab = malloc(n * k * sizeof *lab);
    double share = NAN;
    *st = b && sc && lab ? rec_params_create(&pr) : REC_E_NOMEM;
    if (!*st)
        *st = rec_params_set_str(pr, "metric", euclid ? "ip" : "cosine");
    if (!*st)
        *st = rec_index_create_kind(&ix, "flat", (int)cols, pr);
    if (!*st) {
        for (size_t i = 0; i < n; i++) {
            double sq = 0;
            for (int c = 0; c < dim; c++) {
                b[i * cols + (size_t)c] = v[i * (size_t)dim + (size_t)c];
                sq += (double)v[i * (size_t)dim + c] * v[i * (size_t)dim + c];
            }
            if (euclid)
                b[i * cols + (size_t)dim] = (float)(-sq / 2);
        }
        *st = rec_index_add(ix, b, n);
    }
    if (!*st && euclid)
        for (size_t i = 0; i < n; i++)
            b[i * cols + (size_t)dim] = 1;
    if (!*st)
        *st = rec_index_search(ix, b, n, k, NULL, lab, sc);
    if (!*st) {
        long same = 0, all = 0;
        for (size_t i = 0; i < n; i++) {
            if (cat[i] < 0)
                continue;
            for (size_t j = 0, m = 0; j < k && m < AGREE_K; j++) {
                int32_t l = lab[i * k + j];
                if (l < 0 || (size_t)l == i || cat[l] < 0)
                    continue;
                same += cat[l] == cat[i];
                all++;
                m++;
            }
        }
        share = all ? (double)same / (double)all : NAN;
    }
    rec_index_destroy(ix);
    rec_params_destroy(pr);
    free(b);
    free(sc);
    free(lab);
    return share;
}

/* Two random points with a category share it with this probability. */
static double chance(const int32_t *cat, size_t n, int32_t ncodes)
{
    double *c = calloc((size_t)ncodes + 1, sizeof *c), all = 0, s = 0;
    if (!c)
        return NAN;
    for (size_t i = 0; i < n; i++)
        if (cat[i] >= 0 && cat[i] < ncodes) {
            c[cat[i]]++;
            all++;
        }
    for (int32_t j = 0; j < ncodes; j++)
        s += all > 0 ? (c[j] / all) * (c[j] / all) : 0;
    free(c);
    return all > 0 ? s : NAN;
}

static int by_count_desc(const void *a, const void *b, void *ctx)
{
    const int64_t *c = ctx;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return c[x] != c[y] ? (c[x] < c[y] ? 1 : -1) : (x > y) - (x < y);
}

/* Sorts idx (n entries) by key[idx] descending, ties by index. */
static void sort_desc(int32_t *idx, size_t n, const int64_t *key)
{
    qsort_r(idx, n, sizeof *idx, by_count_desc, (void *)key);
}

static int draw(plot *p, const char *path, size_t nlabels, int32_t ncodes)
{
    const cli_opts *o = p->o;
    rec_side side = p->users ? REC_SIDE_USER : REC_SIDE_ITEM;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (size_t j = 0; j < p->n; j++) {
        x0 = fmin(x0, p->xy[2 * j]);
        x1 = fmax(x1, p->xy[2 * j]);
        y0 = fmin(y0, p->xy[2 * j + 1]);
        y1 = fmax(y1, p->xy[2 * j + 1]);
    }
    int pca = !strcmp(o->method, "pca");
    char title[512], xl[64] = "", yl[64] = "";
    snprintf(title, sizeof title, "%s: %zu %s vectors (dim %d) by %s%s%s", rec_model_kind(p->m),
             p->n, p->users ? "user" : "item", p->dim, o->method, o->color ? ", colour: " : "",
             o->color ? o->color : "");
    if (pca && p->total > 0) {
        snprintf(xl, sizeof xl, "PC1 (%.1f%% of the variance)", 100 * p->var[0] / p->total);
        snprintf(yl, sizeof yl, "PC2 (%.1f%% of the variance)", 100 * p->var[1] / p->total);
    } else if (pca) {
        snprintf(xl, sizeof xl, "PC1");
        snprintf(yl, sizeof yl, "PC2");
    }
    svg g;
    if (svg_open(&g, path, 900, 720, title)) {
        fprintf(stderr, "librec: --out: cannot create %s: %s\n", path, strerror(errno));
        return 1;
    }
    g.right = g.w - 230; /* the legend sits right of the map */
    svg_axes(&g, x0, x1, y0, y1, xl, yl, NULL, 0, 0);
    /* Categories by size: the largest NCOLORS get colours, the rest grey. */
    int64_t *size = calloc((size_t)ncodes + 1, sizeof *size);
    int32_t *order = malloc(((size_t)ncodes + 1) * sizeof *order);
    double *px = malloc((p->n ? p->n : 1) * sizeof *px), *py = malloc((p->n ? p->n : 1) * sizeof *py);
    int32_t *pick = malloc((p->n ? p->n : 1) * sizeof *pick);
    if (!size || !order || !px || !py || !pick) {
        free(size), free(order), free(px), free(py), free(pick);
        svg_close(&g);
        return cli_fail_run(REC_E_NOMEM, "plot-embeddings");
    }
    for (size_t j = 0; j < p->n; j++)
        if (p->cat[j] >= 0 && p->cat[j] < ncodes)
            size[p->cat[j]]++;
    for (int32_t c = 0; c < ncodes; c++)
        order[c] = c;
    sort_desc(order, (size_t)ncodes, size);
    int shown = 0;
    while (shown < ncodes && shown < NCOLORS && size[order[shown]] > 0)
        shown++;
    int *slot = malloc(((size_t)ncodes + 1) * sizeof *slot);
    if (!slot) {
        free(size), free(order), free(px), free(py), free(pick);
        svg_close(&g);
        return cli_fail_run(REC_E_NOMEM, "plot-embeddings");
    }
    for (int32_t c = 0; c < ncodes; c++)
        slot[c] = -1;
    for (int s = 0; s < shown; s++)
        slot[order[s]] = s;
    g.opacity = 0.7;
    double r = p->n > 5000 ? 1.6 : p->n > 500 ? 2.2 : 3.5;
    /* "other" first, underneath; then the categories, largest first, so
     * the small ones stay visible on top.  Legends are drawn afterwards,
     * right of the plot area. */
    size_t m = 0;
    int64_t others = 0;
    for (size_t j = 0; j < p->n; j++)
        if (p->cat[j] < 0 || p->cat[j] >= ncodes || slot[p->cat[j]] < 0) {
            px[m] = p->xy[2 * j];
            py[m++] = p->xy[2 * j + 1];
        }
    others = (int64_t)m;
    svg_points(&g, px, py, m, r, "#BBBBBB", NULL);
    for (int s = 0; s < shown; s++) {
        m = 0;
        for (size_t j = 0; j < p->n; j++)
            if (p->cat[j] >= 0 && p->cat[j] < ncodes && slot[p->cat[j]] == s) {
                px[m] = p->xy[2 * j];
                py[m++] = p->xy[2 * j + 1];
            }
        svg_points(&g, px, py, m, r, palette[s], NULL);
    }
    g.opacity = 0;
    /* Titles of the most popular: a ringed dot and the title beside it, or
     * left of it when that is taken; a title that would cover a placed one
     * gives its place to the next most popular. */
    size_t nl = 0;
    double (*box)[4] = malloc((nlabels ? nlabels : 1) * sizeof *box); /* x0 y0 x1 y1, px */
    if (p->title >= 0 && nlabels && box) {
        for (size_t j = 0; j < p->n; j++)
            pick[j] = (int32_t)j;
        sort_desc(pick, p->n, p->count);
        for (size_t q = 0; q < p->n && q < 50 * nlabels && nl < nlabels && p->count[pick[q]] > 0;
             q++) {
            const char *t;
            int32_t e = p->data_row[pick[q]];
            if (e < 0 || rec_dataset_feature_text(p->d, REC_SIDE_ITEM, p->title, e, &t) || !*t)
                continue;
            char buf[160];
            svg_shorten(t, 28, buf, sizeof buf);
            double lx = p->xy[2 * pick[q]], ly = p->xy[2 * pick[q] + 1];
            double cx = g.left + (lx - g.x0) / (g.x1 - g.x0) * (g.right - g.left);
            double cy = g.bottom - (ly - g.y0) / (g.y1 - g.y0) * (g.bottom - g.top);
            double w = 6.6 * (double)strlen(buf), placed = 0;
            for (int side_ = 0; side_ < 2 && !placed; side_++) {
                double b[4] = { side_ ? cx - 6 - w : cx + 6, cy - 14, side_ ? cx - 6 : cx + 6 + w,
                                cy + 2 };
                int clash = b[0] < 0 || b[2] > g.w;
                for (size_t z = 0; z < nl && !clash; z++)
                    clash = b[0] < box[z][2] && box[z][0] < b[2] && b[1] < box[z][3] &&
                            box[z][1] < b[3];
                if (clash)
                    continue;
                memcpy(box[nl++], b, sizeof b);
                fprintf(g.f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"4\" fill=\"none\" "
                             "stroke=\"black\"/>\n<text x=\"%.2f\" y=\"%.2f\" "
                             "text-anchor=\"%s\">",
                        cx, cy, side_ ? cx - 6 : cx + 6, cy - 3, side_ ? "end" : "start");
                svg_escape(g.f, buf);
                fputs("</text>\n", g.f);
                placed = 1;
            }
        }
    }
    free(box);
    /* The legend, right of the map. */
    g.right = g.w - 20;
    char label[200];
    for (int s = 0; s < shown; s++) {
        const char *v = "?";
        rec_dataset_field_value_name(p->d, side, p->field, order[s], &v);
        char name[100];
        svg_shorten(v, 18, name, sizeof name);
        snprintf(label, sizeof label, "%s (%lld)", name, (long long)size[order[s]]);
        svg_points(&g, NULL, NULL, 0, r, palette[s], label);
    }
    if (o->color && others) {
        snprintf(label, sizeof label, "other or none (%lld)", (long long)others);
        svg_points(&g, NULL, NULL, 0, r, "#BBBBBB", label);
    }
    free(size), free(order), free(px), free(py), free(pick), free(slot);
    if (svg_close(&g)) {
        fprintf(stderr, "librec: --out: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    return 0;
}

/* The directory of path exists and is one (checked before any work). */
static int out_dir_ok(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        return 1;
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    struct stat s;
    if (!dir[0])
        return 1;
    if (stat(dir, &s) || !S_ISDIR(s.st_mode)) {
        fprintf(stderr, "librec: --out %s: directory %s does not exist\n", path, dir);
        return 0;
    }
    return 1;
}

static int project(plot *p, rec_params *params)
{
    const cli_opts *o = p->o;
    rec_status st;
    if (!strcmp(o->method, "pca")) {
        st = rec_project_pca(p->x, p->n, p->dim, p->dim < 2 ? 1 : 2, p->xy, NULL, p->var,
                             &p->total);
        if (!st && p->dim < 2) /* one axis: the map is a line */
            for (size_t j = p->n; j-- > 0;) {
                p->xy[2 * j] = p->xy[j];
                p->xy[2 * j + 1] = 0;
            }
    } else {
        st = rec_project_neighbors(p->x, p->n, p->dim, params, p->xy);
    }
    return st ? cli_fail(st, "plot-embeddings") : 0;
}

int cli_plot_embeddings(cli_opts *o)
{
    if (!o->load || !o->out)
        return cli_usage_error("%s", "plot-embeddings needs --load FILE.lrm and --out MAP.svg");
    uint64_t naxes = 0;
    if (o->axes && !cli_parse_uint("--axes", o->axes, 1, 16, &naxes))
        return 2;
    if (o->axes && (!o->color || !o->data))
        return cli_usage_error("%s", "--axes needs --data PATH and --color FIELD: the heat map "
                                     "sets the principal axes against the field's values");
    if (o->axes && o->method && strcmp(o->method, "pca"))
        return cli_usage_error("--method '%s': --axes takes the principal axes (pca)", o->method);
    if (o->axes && o->label)
        return cli_usage_error("%s", "--label titles points of a map; --axes draws a heat map");
    if (!o->method)
        o->method = o->axes ? "pca" : "umap";
    if (strcmp(o->method, "umap") && strcmp(o->method, "pca"))
        return cli_usage_error("--method '%s': want umap (a neighbour embedding, UMAP's layout) "
                               "or pca", o->method);
    const char *what = o->what ? o->what : "items";
    if (strcmp(what, "items") && strcmp(what, "users"))
        return cli_usage_error("--what '%s': want items or users", what);
    uint64_t nlabels = 8;
    if (o->label && !cli_parse_uint("--label", o->label, 0, 1000, &nlabels))
        return 2;
    if (!o->data && (o->color || o->label))
        return cli_usage_error("%s needs --data PATH, the data the model was trained on: a model "
                               "file keeps vectors and ids, not fields, titles or counts",
                               o->color ? "--color" : "--label");
    size_t np = 0;
    rec_params_count(o->params, &np);
    if (np && !strcmp(o->method, "pca"))
        return cli_usage_error("%s", "--param: pca takes no parameters (they are umap's)");
    if (!out_dir_ok(o->out))
        return 2;
    int has_seed = 0;
    for (size_t i = 0; i < np; i++) {
        const char *key;
        if (!rec_params_key(o->params, i, &key, NULL) && !strcmp(key, "seed"))
            has_seed = 1;
    }
    if (!has_seed && !strcmp(o->method, "umap") &&
        rec_params_set_int(o->params, "seed", (int64_t)(o->seed & INT64_MAX)))
        return cli_fail(REC_E_NOMEM, NULL);
    plot p = { .o = o, .users = !strcmp(what, "users"), .field = -1, .title = -1 };
    rec_status st = rec_model_load(&p.m, o->load);
    if (st)
        return cli_fail(st, "cannot load model");
    rec_side side = p.users ? REC_SIDE_USER : REC_SIDE_ITEM;
    st = p.users ? rec_model_num_users(p.m, &p.n) : rec_model_num_items(p.m, &p.n);
    if (!st)
        st = rec_model_vectors(p.m, side, NULL, 0, &p.dim);
    if (!st && !(p.x = malloc((p.n ? p.n : 1) * (size_t)p.dim * sizeof *p.x)))
        st = REC_E_NOMEM;
    if (!st)
        st = rec_model_vectors(p.m, side, p.x, p.n * (size_t)p.dim, &p.dim);
    if (!st && !(p.xy = malloc((p.n ? p.n : 1) * 2 * sizeof *p.xy)))
        st = REC_E_NOMEM;
    if (st) {
        int rc = cli_fail_run(st, "plot-embeddings");
        plot_free(&p);
        return rc;
    }
    int rc = 0;
    if (o->data && !(rc = cli_load_data(o, &p.d)))
        rc = read_data(&p);
    if (!o->data) {
        p.cat = malloc((p.n ? p.n : 1) * sizeof *p.cat);
        p.count = calloc(p.n ? p.n : 1, sizeof *p.count);
        p.data_row = malloc((p.n ? p.n : 1) * sizeof *p.data_row);
        if (!p.cat || !p.count || !p.data_row)
            rc = cli_fail_run(REC_E_NOMEM, "plot-embeddings");
        for (size_t j = 0; !rc && j < p.n; j++)
            p.cat[j] = p.data_row[j] = -1;
    }
    if (rc) {
        plot_free(&p);
        return rc;
    }
    if (o->label && nlabels && p.title < 0) {
        fprintf(stderr, "librec: --label: %s has no %s titles (a text field 'title')\n", o->data,
                p.users ? "user" : "item");
        plot_free(&p);
        return 2;
    }
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", o->out, (long)getpid());
    if (o->axes) {
        rc = cli_plot_axes(o, (int)naxes, p.x, p.n, p.dim, p.data_row, p.d, side, p.field,
                           rec_model_kind(p.m), tmp);
        if (!rc && rename(tmp, o->out)) {
            fprintf(stderr, "librec: %s: cannot rename into place: %s\n", o->out,
                    strerror(errno));
            rc = 1;
        }
        if (rc)
            remove(tmp);
        else if (!o->quiet && !o->json)
            fprintf(stderr, "librec: wrote %s: %d principal axes of %zu vectors against %s\n",
                    o->out, (int)naxes, p.n, o->color);
        plot_free(&p);
        return rc;
    }
    double t = cli_now();
    if ((rc = project(&p, o->params))) {
        plot_free(&p);
        return rc;
    }
    double secs = cli_now() - t;
    int32_t ncodes = 0;
    if (p.field >= 0)
        rec_dataset_field_vocab(p.d, side, p.field, &ncodes);
    double in_map = NAN, in_space = NAN, base = NAN;
    if (p.field >= 0) {
        rec_status a = REC_OK, b = REC_OK;
        in_map = agreement(p.xy, p.n, 2, 1, p.cat, &a);
        in_space = agreement(p.x, p.n, p.dim, 0, p.cat, &b);
        base = chance(p.cat, p.n, ncodes);
        if (a || b) {
            plot_free(&p);
            return cli_fail_run(a ? a : b, "plot-embeddings");
        }
    }
    rc = draw(&p, tmp, (size_t)nlabels, ncodes);
    if (!rc && rename(tmp, o->out)) {
        fprintf(stderr, "librec: %s: cannot rename into place: %s\n", o->out, strerror(errno));
        rc = 1;
    }
    if (rc)
        remove(tmp);
    if (!rc && o->json) {
        printf("{\"out\": ");
        cli_json_str(stdout, o->out);
        printf(", \"model\": ");
        cli_json_str(stdout, rec_model_kind(p.m));
        printf(", \"what\": \"%s\", \"points\": %zu, \"dim\": %d, \"method\": \"%s\", "
               "\"seconds\": %.3f",
               what, p.n, p.dim, o->method, secs);
        if (!strcmp(o->method, "pca"))
            printf(", \"explained\": [%.6g, %.6g]", p.total > 0 ? p.var[0] / p.total : 0,
                   p.total > 0 ? p.var[1] / p.total : 0);
        if (p.field >= 0) {
            printf(", \"color\": ");
            cli_json_str(stdout, o->color);
            printf(", \"knn_agreement_2d\": ");
            cli_json_num(stdout, in_map, "no point has a value of the field");
            printf(", \"knn_agreement_full\": ");
            cli_json_num(stdout, in_space, "no point has a value of the field");
            printf(", \"chance\": ");
            cli_json_num(stdout, base, "no point has a value of the field");
        }
        printf("}\n");
    } else if (!rc && !o->quiet) {
        fprintf(stderr, "librec: wrote %s: %zu %s vectors of dim %d by %s in %.1f s\n", o->out,
                p.n, p.users ? "user" : "item", p.dim, o->method, secs);
        if (p.field >= 0)
            fprintf(stderr,
                    "librec: %s of the %d nearest neighbours: %.3f agree on the map, %.3f in "
                    "the model's space (cosine), %.3f by chance\n",
                    o->color, AGREE_K, in_map, in_space, base);
    }
    plot_free(&p);
    return rc;
}
