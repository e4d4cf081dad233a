/* `librec explain` (why an item is recommended to a user, from
 * rec_model_explain) and the bar charts of `explain --plot` and
 * `similar --plot`: the model's list of (item, weight) as bars on their
 * side, best first, labelled by the items' titles when --data has them;
 * for an explanation, each of the user's own items also says how far back
 * in the user's history (by timestamp in --data) it lies, since a
 * sequential model weighs recent items differently. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "svg.h"

typedef struct when {
    int64_t ts, row;
    int32_t item;
} when;

static int by_time(const void *a, const void *b)
{
    const when *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

/* back[j]: how many of user's items in d come after ids[j] by time (the
 * last occurrence), -1 when ids[j] is not one of them. */
static int how_far_back(const rec_dataset *d, const char *user, const char *const *ids, size_t n,
                        int64_t *back)
{
    for (size_t j = 0; j < n; j++)
        back[j] = -1;
    int32_t u;
    int64_t rows = 0, m = 0;
    if (!user || rec_dataset_user_index(d, user, &u))
        return 0;
    rec_dataset_num_interactions(d, &rows);
    for (int64_t r = 0; r < rows; r++) {
        int32_t ru;
        if (!rec_dataset_row(d, r, &ru, NULL, NULL, NULL) && ru == u)
            m++;
    }
    when *h = malloc((size_t)(m ? m : 1) * sizeof *h);
    if (!h)
        return cli_fail_run(REC_E_NOMEM, "--plot");
    m = 0;
    for (int64_t r = 0; r < rows; r++) {
        int32_t ru, ri;
        int64_t ts = 0;
        if (!rec_dataset_row(d, r, &ru, &ri, NULL, &ts) && ru == u)
            h[m++] = (when){ ts, r, ri };
    }
    qsort(h, (size_t)m, sizeof *h, by_time);
    for (size_t j = 0; j < n; j++) {
        int32_t i;
        if (rec_dataset_item_index(d, ids[j], &i))
            continue;
        for (int64_t t = m; t-- > 0;)
            if (h[t].item == i) {
                back[j] = m - 1 - t;
                break;
            }
    }
    free(h);
    return 0;
}

/* The item's title in d (a text field "title"), else its id. */
static const char *title_of(const rec_dataset *d, int field, const char *id)
{
    int32_t i;
    const char *t;
    if (d && field >= 0 && !rec_dataset_item_index(d, id, &i) &&
        !rec_dataset_feature_text(d, REC_SIDE_ITEM, field, i, &t) && *t)
        return t;
    return id;
}

int cli_bars_write(const cli_opts *o, const char *user, int items, const char *subject,
                   const char *head, const char *tail, const char *const *ids, const float *w,
                   size_t n, const char *xlabel)
{
    rec_dataset *d = NULL;
    int rc = o->data ? cli_load_data(o, &d) : 0, field = -1;
    rec_feature_type t;
    const char *name;
    if (d && (rec_dataset_field_index(d, REC_SIDE_ITEM, "title", &field) ||
              rec_dataset_field_info(d, REC_SIDE_ITEM, field, &name, &t) ||
              t != REC_FEATURE_TEXT))
        field = -1;
    char(*label)[128] = malloc((n ? n : 1) * sizeof *label);
    const char **lp = malloc((n ? n : 1) * sizeof *lp);
    double *v = malloc((n ? n : 1) * sizeof *v);
    int64_t *back = malloc((n ? n : 1) * sizeof *back);
    if (!rc && (!label || !lp || !v || !back))
        rc = cli_fail_run(REC_E_NOMEM, "--plot");
    if (!rc && d && items)
        rc = how_far_back(d, user, ids, n, back);
    for (size_t j = 0; !rc && j < n; j++) {
        char s[96];
        svg_shorten(items ? title_of(d, field, ids[j]) : ids[j], 44, s, sizeof s);
        if (!d || !items || back[j] < 0)
            snprintf(label[j], sizeof label[j], "%s", s);
        else if (back[j] == 0)
            snprintf(label[j], sizeof label[j], "%s (latest)", s);
        else
            snprintf(label[j], sizeof label[j], "%s (%lld back)", s, (long long)back[j]);
        lp[j] = label[j];
        v[j] = w[j];
    }
    char title[400], s[96];
    svg_shorten(title_of(d, field, subject), 60, s, sizeof s);
    snprintf(title, sizeof title, "%s%s%s", head, s, tail);
    svg g;
    if (!rc && svg_open(&g, o->plot, 860, 90 + 26 * (double)(n < 4 ? 4 : n), title)) {
        fprintf(stderr, "librec: --plot: cannot create %s: %s\n", o->plot, strerror(errno));
        rc = 1;
    }
    if (!rc) {
        svg_hbars(&g, lp, v, n, "#0072B2", xlabel, "%.3f");
        if (svg_close(&g)) {
            fprintf(stderr, "librec: --plot: cannot write %s: %s\n", o->plot, strerror(errno));
            remove(o->plot);
            rc = 1;
        }
    }
    if (!rc && !o->quiet)
        fprintf(stderr, "librec: wrote %s\n", o->plot);
    free(label);
    free(lp);
    free(v);
    free(back);
    rec_dataset_destroy(d);
    return rc;
}

int cli_explain(cli_opts *o)
{
    if (!o->load || !o->user)
        return cli_usage_error("%s", "explain needs --load FILE.lrm and --user ID");
    if (o->data && !o->plot)
        return cli_usage_error("%s", "--data is read for --plot's titles: give --plot BARS.svg");
    rec_model *m;
    rec_status st = rec_model_load(&m, o->load);
    if (st)
        return cli_fail(st, "cannot load model");
    const char *item = o->item, *top[1];
    size_t n = 0, nitems = 0, k = o->k;
    /* Without --item: the user's first recommendation. */
    if (!item && !(st = rec_model_recommend(m, o->user, 1, 0, top, NULL, &n)) && n == 1)
        item = top[0];
    if (!item && !st) {
        fprintf(stderr, "librec: explain: user %s has no recommendation to explain\n", o->user);
        rec_model_destroy(m);
        return 1;
    }
    rec_model_num_items(m, &nitems);
    if (k > nitems + 64) /* reasons are items, users or terms: room without a huge k */
        k = nitems + 64;
    const char **why = calloc(k ? k : 1, sizeof *why);
    float *w = calloc(k ? k : 1, sizeof *w);
    if (!st && (!why || !w))
        st = REC_E_NOMEM;
    if (!st)
        st = rec_model_explain(m, o->user, item, k, why, w, &n);
    int rc = st ? cli_fail(st, "explain failed") : 0;
    if (!rc && o->json) {
        printf("{\"user\": ");
        cli_json_str(stdout, o->user);
        printf(", \"item\": ");
        cli_json_str(stdout, item);
        printf(", \"reasons\": ");
        cli_json_pairs(stdout, "reason", "weight", why, w, n,
                       "the model's weight is not a finite number");
        printf("}\n");
    } else if (!rc) {
        printf("# why %s for user %s\n", item, o->user);
        for (size_t j = 0; j < n; j++)
            printf("%zu\t%s\t%.6g\n", j + 1, why[j], w[j]);
    }
    if (!rc && o->plot) {
        /* usercf's reasons are users, tfidf's terms; the other kinds' the user's items */
        const char *kind = rec_model_kind(m);
        char head[300], tail[300];
        snprintf(head, sizeof head, "%s: why user %s gets ", kind, o->user);
        snprintf(tail, sizeof tail, ", by the user's %s", !strcmp(kind, "usercf") ? "neighbours"
                                                          : !strcmp(kind, "tfidf") ? "terms"
                                                                                   : "items");
        rc = cli_bars_write(o, o->user, strcmp(kind, "usercf") && strcmp(kind, "tfidf"), item,
                            head, tail, why, w, n, "weight (rec_model_explain)");
    }
    free(why);
    free(w);
    rec_model_destroy(m);
    return rc;
}
