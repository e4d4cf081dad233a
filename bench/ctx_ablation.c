/* The per-interaction context ablation of examples/README.md: one fit of
 * a twotower (or of --kind dnn: the kinds that read contexts), then every
 * held-out row ranked in its own context (its time:hour, time:weekday and
 * declared context values, for the contexts the model reads) by
 * rec_model_recommend_context, training items excluded.
 *   recall@20  the share of a user's held-out rows whose item is in the top
 *              20 of its row's ranking, averaged over users;
 *   ndcg@20    1 / log2(1 + rank) of that item (0 past 20), likewise.
 * A model without contexts gets the same ranking for each of a user's rows,
 * so both are measured by the same protocol (which is not rec_evaluate's:
 * there one ranking per user meets all of the user's held-out items).
 * The split is per user by time, --split (default last:5: each user's five
 * latest rows held out, a user keeping one row at least); --valid fits on
 * the training part split again the same way and scores that part's
 * held-out rows, the validation split, never the test items.  Without
 * --data the generated dataset, with rec_dataset_generate's options from
 * --gen KEY=VALUE (repeatable): at its defaults its timestamps carry no
 * hour or weekday pattern (a control); --gen context=0.8 draws 80% of the
 * sessions from the genres favoured at the day part they start in.  Other
 * KEY=VALUE pairs are the model's.  Prints one JSON line.
 * Usage: ctx_ablation [--data ratings.csv | --gen KEY=VALUE ...] [--split last:N]
 *                     [--valid] [--kind K] [KEY=VALUE ...] */
#include <librec/librec.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int die(const char *what)
{
    fprintf(stderr, "ctx_ablation: %s: %s\n", what, rec_last_error());
    return 1;
}

typedef struct timing {
    double last, sum;
    int n;
} timing;

static int on_epoch(void *user, int epoch, int epochs, double loss)
{
    timing *t = user;
    double x = now();
    t->sum += x - t->last;
    t->n++;
    fprintf(stderr, "epoch %d/%d %.2fs loss %.4f\n", epoch, epochs, x - t->last, loss);
    t->last = x;
    return 0;
}

/* Sets row r's context values the model reads (others are not its fields). */
static int set_context(rec_feature_set *fs, const rec_dataset *d, int64_t r)
{
    static const char *const derived[2] = { "time:hour", "time:weekday" };
    int nd = 0;
    rec_dataset_num_contexts(d, &nd);
    rec_feature_set_clear(fs);
    for (int k = -2; k < nd; k++) {
        const char *name, *v;
        if (k < 0)
            name = derived[k + 2];
        else if (rec_dataset_context_name(d, k, &name))
            return -1;
        rec_status st = rec_dataset_context_value(d, r, name, &v);
        if (st == REC_E_STATE)
            continue; /* no timestamps */
        if (st)
            return -1;
        st = v ? rec_feature_set_set(fs, name, v) : REC_OK;
        if (st && st != REC_E_NOTFOUND)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *data = NULL, *how = "last:5", *kind = "twotower";
    int valid = 0;
    char gen[512] = "generated"; /* and the --gen options, for the JSON line */
    rec_params *p, *gp;
    if (rec_params_create(&p) || rec_params_create(&gp))
        return die("params");
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--data") && a + 1 < argc)
            data = argv[++a];
        else if (!strcmp(argv[a], "--split") && a + 1 < argc)
            how = argv[++a];
        else if (!strcmp(argv[a], "--valid"))
            valid = 1;
        else if (!strcmp(argv[a], "--kind") && a + 1 < argc)
            kind = argv[++a];
        else if (!strcmp(argv[a], "--gen") && a + 1 < argc) {
            if (rec_params_parse(gp, argv[++a]))
                return die(argv[a]);
            size_t n = strlen(gen);
            snprintf(gen + n, sizeof gen - n, " %s", argv[a]);
        }
        else if (rec_params_parse(p, argv[a]))
            return die(argv[a]);
    }
    rec_dataset *d, *tr, *te;
    if (data ? rec_dataset_load(&d, data, "auto", NULL) : rec_dataset_generate(&d, gp))
        return die(data ? data : "rec_dataset_generate");
    if (rec_dataset_split(d, how, 0, 42, &tr, &te))
        return die("split");
    if (valid) {
        rec_dataset *t2, *va;
        if (rec_dataset_split(tr, how, 0, 7, &t2, &va))
            return die("validation split");
        rec_dataset_destroy(tr);
        rec_dataset_destroy(te);
        tr = t2;
        te = va;
    }
    rec_model *m;
    if (rec_model_create(&m, kind, p))
        return die("rec_model_create");
    timing t = { now(), 0, 0 };
    double t0 = t.last;
    if (rec_model_fit(m, tr, on_epoch, &t))
        return die("rec_model_fit");
    double fit_s = now() - t0;
    rec_feature_set *fs;
    if (rec_feature_set_create(&fs, m, REC_SIDE_USER))
        return die("rec_feature_set_create");
    int32_t nu;
    int64_t nr;
    rec_dataset_num_users(d, &nu);
    rec_dataset_num_interactions(te, &nr);
    double *rsum = calloc((size_t)nu, sizeof *rsum), *nsum = calloc((size_t)nu, sizeof *nsum);
    int64_t *cnt = calloc((size_t)nu, sizeof *cnt);
    if (!rsum || !nsum || !cnt)
        return 1;
    const char *items[20];
    for (int64_t r = 0; r < nr; r++) {
        int32_t u, i;
        const char *uid, *iid;
        size_t n;
        if (rec_dataset_row(te, r, &u, &i, NULL, NULL) || rec_dataset_user_id(te, u, &uid) ||
            rec_dataset_item_id(te, i, &iid) || set_context(fs, te, r))
            return die("test row");
        if (rec_model_recommend_context(m, uid, fs, 20, 0, items, NULL, &n))
            return die("rec_model_recommend_context");
        cnt[u]++;
        for (size_t j = 0; j < n; j++)
            if (!strcmp(items[j], iid)) {
                rsum[u] += 1;
                nsum[u] += 1 / log2((double)j + 2);
                break;
            }
    }
    double rec = 0, ndcg = 0;
    int users = 0;
    for (int32_t u = 0; u < nu; u++)
        if (cnt[u]) {
            rec += rsum[u] / (double)cnt[u];
            ndcg += nsum[u] / (double)cnt[u];
            users++;
        }
    printf("{\"kind\": \"%s\", \"data\": \"%s\", \"split\": \"%s %s\", \"users\": %d, "
           "\"rows\": %lld, \"recall@20\": %.4f, \"ndcg@20\": %.4f, \"epoch_seconds\": %.2f, "
           "\"fit_seconds\": %.1f}\n", kind, data ? data : gen, how,
           valid ? "validation" : "test", users, (long long)nr, users ? rec / users : 0.0,
           users ? ndcg / users : 0.0, t.n ? t.sum / t.n : 0.0, fit_s);
    free(rsum);
    free(nsum);
    free(cnt);
    rec_feature_set_destroy(fs);
    rec_model_destroy(m);
    rec_params_destroy(p);
    rec_params_destroy(gp);
    rec_dataset_destroy(tr);
    rec_dataset_destroy(te);
    rec_dataset_destroy(d);
    return 0;
}
