/* The twotower user-tower ablation of examples/README.md (mixture of
 * experts, feature gates): one fit and its recall@20 / ndcg@20 (full
 * ranking, training items excluded) with the seconds of each epoch.  The
 * split is `librec eval`'s --split user:0.2 --seed 42; --valid fits on that
 * training part split again (user:0.2, seed 7) and scores its held-out
 * part, the validation split defaults are chosen on, never the test items.
 * Without --data it runs on the generated dataset (rec_dataset_generate
 * defaults), which keeps its user fields (region, age) and item fields
 * (genres, year, length) that the CSV of bench/gen_data drops; --gen KEY=VALUE
 * (repeatable) sets a generator option (interests=4: four tastes per user).
 * Prints one JSON line on stdout.
 * Usage: tower_ablation [--data ratings.csv | --gen KEY=VALUE ...] [--valid]
 *                       [KEY=VALUE ...]   (twotower params) */
#include <librec/librec.h>

#include <stdio.h>
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
    fprintf(stderr, "tower_ablation: %s: %s\n", what, rec_last_error());
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

int main(int argc, char **argv)
{
    const char *data = NULL;
    int valid = 0;
    rec_params *p, *gp;
    if (rec_params_create(&p) || rec_params_create(&gp))
        return die("params");
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--data") && a + 1 < argc)
            data = argv[++a];
        else if (!strcmp(argv[a], "--valid"))
            valid = 1;
        else if (!strcmp(argv[a], "--gen") && a + 1 < argc) {
            if (rec_params_parse(gp, argv[++a]))
                return die(argv[a]);
        }
        else if (rec_params_parse(p, argv[a]))
            return die(argv[a]);
    }
    rec_dataset *d, *tr, *te;
    if (data ? rec_dataset_load(&d, data, "auto", NULL) : rec_dataset_generate(&d, gp))
        return die(data ? data : "rec_dataset_generate");
    if (rec_dataset_split(d, "user:0.2", 0, 42, &tr, &te))
        return die("split");
    if (valid) {
        rec_dataset *t2, *va;
        if (rec_dataset_split(tr, "user:0.2", 0, 7, &t2, &va))
            return die("validation split");
        rec_dataset_destroy(tr);
        rec_dataset_destroy(te);
        tr = t2;
        te = va;
    }
    rec_model *m;
    if (rec_model_create(&m, "twotower", p))
        return die("rec_model_create");
    timing t = { now(), 0, 0 };
    double t0 = t.last;
    if (rec_model_fit(m, tr, on_epoch, &t))
        return die("rec_model_fit");
    double fit_s = now() - t0;
    rec_eval_result *r;
    double rec, ndcg;
    if (rec_evaluate(m, te, "full", "recall@20,ndcg@20", 42, &r) ||
        rec_eval_result_get(r, "recall@20", &rec) || rec_eval_result_get(r, "ndcg@20", &ndcg))
        return die("rec_evaluate");
    printf("{\"data\": \"%s\", \"split\": \"%s\", \"recall@20\": %.4f, \"ndcg@20\": %.4f, "
           "\"epoch_seconds\": %.2f, \"fit_seconds\": %.1f}\n", data ? data : "generated",
           valid ? "validation" : "test", rec, ndcg, t.n ? t.sum / t.n : 0.0, fit_s);
    rec_eval_result_destroy(r);
    rec_model_destroy(m);
    rec_params_destroy(p);
    rec_params_destroy(gp);
    rec_dataset_destroy(tr);
    rec_dataset_destroy(te);
    rec_dataset_destroy(d);
    return 0;
}
