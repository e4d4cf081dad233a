/* W1 (../shared/bench/peers/w1_sasrec.py) with librec's "sasrec" kind: the
 * peer's data, split, model settings, epochs and evaluation protocol.
 *
 * Data (mlsmall.sasrec_sequences): every rating of ml-latest-small's
 * ratings.csv is an action; SASRec's 5-core rule in ONE pass (count actions
 * per user and per item over the whole file, drop a rating whose user or
 * item has fewer than 5; counts are not recomputed); ids re-indexed by first
 * appearance of the kept rows; each user's items by timestamp, ties in file
 * order.  Split: train = seq[:-2], valid = seq[-2], test = seq[-1].
 * The model is fitted on train (rows added user by user in sequence order,
 * so the dataset's (timestamp, file order) is the sequence order).
 * Test: input (train + valid)[-L:], candidates the test item + 100 negatives
 * drawn uniformly with replacement from items outside the user's whole
 * history; rank = negatives scoring strictly higher; HR@10, NDCG@10.
 * Epoch times come from the progress callback (data loading not timed);
 * cpu_sec_per_epoch is the process's CPU time over the fit (all threads)
 * divided by the epochs, cpu_sec_per_epoch_median the median of each
 * epoch's CPU time (the peer's time.perf_counter replaced by
 * time.process_time gives its twin).
 * Prints one JSON line.
 * Usage: sasrec [--epochs 200] [--threads 2] [--seed 0] [ratings.csv] */
#include "models/model-impl.h"

#include <librec/librec.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "sasrec bench: %s: %s\n", what, rec_last_error());
    exit(1);
}

typedef struct row { long u, i, t, k; } row;

static int cmp_row(const void *a, const void *b)
{
    const row *x = a, *y = b;
    if (x->u != y->u)
        return (x->u > y->u) - (x->u < y->u);
    if (x->t != y->t)
        return (x->t > y->t) - (x->t < y->t);
    return (x->k > y->k) - (x->k < y->k);
}

/* user + system CPU seconds of the whole process (every thread): on a
 * machine shared with other jobs it moves far less than the wall time */
static double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* dense re-index by first appearance: ids up to max_id */
static long remap(long *map, long id, long *n)
{
    if (map[id] == 0)
        map[id] = ++*n;
    return map[id];
}

typedef struct timing { double t0, c0, *ep, *cpu; int n; } timing;

static int on_epoch(void *user, int epoch, int epochs, double loss)
{
    timing *tm = user;
    double t = now(), c = cpu_now();
    tm->cpu[tm->n] = c - tm->c0;
    tm->ep[tm->n++] = t - tm->t0;
    tm->t0 = t;
    tm->c0 = c;
    if (epoch == 1 || epoch % 20 == 0 || epoch == epochs)
        fprintf(stderr, "epoch %d %.3fs loss %.4f\n", epoch, tm->ep[tm->n - 1], loss);
    return 0;
}

int main(int argc, char **argv)
{
    const char *path = "../shared/data/ml-latest-small/ratings.csv";
    int epochs = 200, threads = 2, seed = 0;
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--epochs") && a + 1 < argc)
            epochs = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--seed") && a + 1 < argc)
            seed = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--threads") && a + 1 < argc)
            threads = atoi(argv[++a]);
        else
            path = argv[a];
    }
    rec_set_num_threads(threads);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "sasrec bench: cannot open %s\n", path);
        return 1;
    }
    size_t cap = 1 << 17, n = 0;
    row *r = malloc(cap * sizeof *r);
    char line[512];
    long maxu = 0, maxi = 0;
    if (!fgets(line, sizeof line, f)) /* header */
        return 1;
    while (fgets(line, sizeof line, f)) {
        long u, i, t;
        double rating;
        if (sscanf(line, "%ld,%ld,%lf,%ld", &u, &i, &rating, &t) != 4)
            continue;
        if (n == cap)
            r = realloc(r, (cap *= 2) * sizeof *r);
        r[n] = (row){ u, i, t, (long)n };
        n++;
        maxu = u > maxu ? u : maxu;
        maxi = i > maxi ? i : maxi;
    }
    fclose(f);
    long *cu = calloc((size_t)maxu + 1, sizeof *cu), *ci = calloc((size_t)maxi + 1, sizeof *ci);
    long *um = calloc((size_t)maxu + 1, sizeof *um), *im = calloc((size_t)maxi + 1, sizeof *im);
    for (size_t k = 0; k < n; k++) {
        cu[r[k].u]++;
        ci[r[k].i]++;
    }
    size_t kept = 0;
    long nu = 0, ni = 0;
    for (size_t k = 0; k < n; k++) {
        if (cu[r[k].u] < 5 || ci[r[k].i] < 5)
            continue;
        row x = r[k];
        x.u = remap(um, x.u, &nu);
        x.i = remap(im, x.i, &ni);
        r[kept++] = x;
    }
    qsort(r, kept, sizeof *r, cmp_row);
    long *start = calloc((size_t)nu + 2, sizeof *start); /* user u's rows start[u]..start[u+1] */
    for (size_t k = 0; k < kept; k++)
        start[r[k].u + 1]++;
    for (long u = 1; u <= nu + 1; u++)
        start[u] += start[u - 1];

    rec_dataset *train;
    if (rec_dataset_create(&train))
        die("dataset");
    char us[32], is[32];
    for (long u = 1; u <= nu; u++) {
        long b = start[u], e = start[u + 1];
        long ntr = e - b >= 3 ? e - b - 2 : e - b;
        snprintf(us, sizeof us, "%ld", u);
        for (long k = b; k < b + ntr; k++) {
            snprintf(is, sizeof is, "%ld", r[k].i);
            if (rec_dataset_add(train, us, is, NAN, REC_NO_TIME))
                die("add");
        }
    }
    rec_params *p;
    rec_params_create(&p);
    rec_params_set_int(p, "epochs", epochs);
    rec_params_set_int(p, "seed", seed);
    rec_model *m;
    if (rec_model_create(&m, "sasrec", p))
        die("create");
    timing tm = { now(), cpu_now(), calloc((size_t)epochs + 1, sizeof(double)),
                  calloc((size_t)epochs + 1, sizeof(double)), 0 };
    double t0 = now(), c0 = cpu_now();
    if (rec_model_fit(m, train, on_epoch, &tm))
        die("fit");
    double train_total = now() - t0, train_cpu = cpu_now() - c0;

    /* model index of our item j (1..ni), -1 when j never appears in train */
    int32_t *mi = malloc(((size_t)ni + 1) * sizeof *mi);
    for (long j = 1; j <= ni; j++) {
        snprintf(is, sizeof is, "%ld", j);
        int32_t x;
        mi[j] = rec_dataset_item_index(train, is, &x) == REC_OK ? x : -1;
    }
    long missing = 0;
    for (long j = 1; j <= ni; j++)
        missing += mi[j] < 0;
    float *scores = malloc((size_t)m->nitems * sizeof *scores);
    int32_t *hist = malloc((size_t)kept * sizeof *hist);
    char *inhist = calloc((size_t)ni + 1, 1);
    /* test: the history up to the last item, which is the target; valid
     * (reported, not used for anything): the history up to the second to
     * last, the target (its own negatives' stream, so the test numbers are
     * those of the bench without it) */
    double hr = 0, nd = 0, vhr = 0, vnd = 0, te = now();
    long users = 0;
    for (int valid = 1; valid >= 0; valid--) {
        rec_rng rng;
        rec_rng_seed(&rng, valid ? 2025 : 2024);
        double *h_out = valid ? &vhr : &hr, *n_out = valid ? &vnd : &nd;
        users = 0;
        for (long u = 1; u <= nu; u++) {
            long b = start[u], e = start[u + 1];
            if (e - b < 3)
                continue;
            int64_t h = 0;
            for (long k = b; k < e - 1 - valid; k++)
                if (mi[r[k].i] >= 0)
                    hist[h++] = mi[r[k].i];
            if (m->vt->score_history(m, hist, NULL, (size_t)h, scores))
                die("score");
            for (long k = b; k < e; k++)
                inhist[r[k].i] = 1;
            long tgt = r[e - 1 - valid].i;
            float ts = mi[tgt] >= 0 ? scores[mi[tgt]] : -INFINITY;
            int rank = 0;
            for (int c = 0; c < 100; c++) {
                long j;
                do
                    j = 1 + (long)rec_rng_below(&rng, (uint32_t)ni);
                while (inhist[j]);
                float sj = mi[j] >= 0 ? scores[mi[j]] : -INFINITY;
                rank += sj > ts;
            }
            for (long k = b; k < e; k++)
                inhist[r[k].i] = 0;
            users++;
            if (rank < 10) {
                *h_out += 1;
                *n_out += 1.0 / log2(rank + 2.0);
            }
        }
    }
    double eval_sec = now() - te;
    double *sorted = malloc((size_t)tm.n * sizeof *sorted);
    memcpy(sorted, tm.ep, (size_t)tm.n * sizeof *sorted);
    qsort(sorted, (size_t)tm.n, sizeof *sorted, cmp_double);
    double med = tm.n % 2 ? sorted[tm.n / 2] : 0.5 * (sorted[tm.n / 2 - 1] + sorted[tm.n / 2]);
    memcpy(sorted, tm.cpu, (size_t)tm.n * sizeof *sorted);
    qsort(sorted, (size_t)tm.n, sizeof *sorted, cmp_double);
    double cpu_med = tm.n % 2 ? sorted[tm.n / 2]
                              : 0.5 * (sorted[tm.n / 2 - 1] + sorted[tm.n / 2]);
    double first3[3];
    int n3 = tm.n < 3 ? tm.n : 3;
    memcpy(first3, tm.ep, (size_t)n3 * sizeof *first3);
    qsort(first3, (size_t)n3, sizeof *first3, cmp_double);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"workload\": \"W1_sasrec_ml-latest-small\", \"results\": {\"n_users\": %ld, "
           "\"n_items\": %ld, \"n_actions\": %zu, \"items_not_in_train\": %ld, \"threads\": %d, "
           "\"epochs\": %d, \"sec_per_epoch_median_first3\": %.4f, "
           "\"sec_per_epoch_median_all\": %.4f, \"train_sec_total\": %.3f, "
           "\"cpu_sec_per_epoch\": %.4f, \"cpu_sec_per_epoch_median\": %.4f, "
           "\"test_hr10\": %.4f, \"test_ndcg10\": %.4f, \"valid_hr10\": %.4f, "
           "\"valid_ndcg10\": %.4f, \"eval_test_sec\": %.3f, "
           "\"eval_users\": %ld, \"peak_rss_mb\": %.1f}}\n",
           nu, ni, kept, missing, threads, tm.n, first3[n3 / 2], med, train_total,
           train_cpu / (tm.n ? tm.n : 1), cpu_med, hr / users,
           nd / users, vhr / users, vnd / users, eval_sec, users, ru.ru_maxrss / 1024.0);
    rec_model_destroy(m);
    rec_params_destroy(p);
    rec_dataset_destroy(train);
    free(sorted);
    free(tm.ep);
    free(tm.cpu);
    free(scores);
    free(hist);
    free(inhist);
    free(mi);
    free(start);
    free(cu);
    free(ci);
    free(um);
    free(im);
    free(r);
    return 0;
}
