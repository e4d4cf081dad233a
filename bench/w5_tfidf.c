/* W5 TF-IDF on ml-latest-small, the workload of the peer
 * ../shared/bench/peers/w5_tfidf.py: every movie of movies.csv (loaded with
 * catalog=all), text = title + genres + every tags.csv row of the movie,
 * scikit-learn's TfidfVectorizer defaults (raw tf, smooth idf, no stop
 * words, l2 rows), then the 10 most similar items of EVERY item, self
 * excluded.  Timed: fit, then the all-items top-10 (rec_model_similar for
 * each item, items split over the thread pool), as the peer times
 * fit_transform and its blocked X X^T + argpartition.  Loading is not timed.
 * Known difference: the peer drops the genre placeholder "(no genres listed)",
 * librec's genres field keeps it (three more tokens on 34 movies).
 * Prints one JSON line on stdout, progress on stderr.
 * Usage: w5_tfidf [--data DIR] [--threads 2] */
#include "core/core-impl.h"
#include "core/lrm-impl.h"
#include "librec/librec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define K 10

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double rss_mb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double v = 0;
    size_t kl = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0)
            v = atof(line + kl) / 1024.0;
    if (f)
        fclose(f);
    return v;
}

static int die(const char *what)
{
    fprintf(stderr, "w5_tfidf: %s: %s\n", what, rec_last_error());
    return 1;
}

typedef struct job {
    const rec_model *m;
    const rec_dataset *d;
    float *top1;      /* [n] best similarity of each item */
    const char *first[3]; /* item 0's top-3 (external ids) */
    int failed;
} job;

static void run_range(void *arg, int64_t b, int64_t e, int chunk)
{
    (void)chunk;
    job *j = arg;
    const char *ids[K];
    float sc[K];
    size_t n;
    for (int64_t i = b; i < e; i++) {
        const char *id;
        if (rec_dataset_item_id(j->d, (int32_t)i, &id) ||
            rec_model_similar(j->m, id, K, ids, sc, &n) || n != K) {
            j->failed = 1;
            return;
        }
        j->top1[i] = sc[0];
        if (i == 0)
            for (int t = 0; t < 3; t++)
                j->first[t] = ids[t];
    }
}

int main(int argc, char **argv)
{
    const char *data = "../shared/data";
    int threads = 2;
    for (int a = 1; a + 1 < argc; a += 2) {
        if (!strcmp(argv[a], "--data"))
            data = argv[a + 1];
        else if (!strcmp(argv[a], "--threads"))
            threads = atoi(argv[a + 1]);
        else {
            fprintf(stderr, "w5_tfidf: unknown option %s\n", argv[a]);
            return 2;
        }
    }
    rec_set_num_threads(threads);
    char path[4096];
    snprintf(path, sizeof path, "%s/ml-latest-small/ratings.csv", data);
    rec_params *o, *p;
    rec_dataset *d;
    if (rec_params_create(&o) || rec_params_set_str(o, "catalog", "all"))
        return die("params");
    if (rec_dataset_load(&d, path, "movielens", o))
        return die("load");
    int32_t ni;
    rec_dataset_num_items(d, &ni);
    if (rec_params_create(&p) || rec_params_set_str(p, "fields", "title,genres,tag_text") ||
        rec_params_set_str(p, "stop_words", "none") || rec_params_set_bool(p, "sublinear_tf", 0))
        return die("params");
    rec_model *m;
    if (rec_model_create(&m, "tfidf", p))
        return die("create");
    job j = { m, d, calloc((size_t)ni, sizeof(float)), { "", "", "" }, 0 };
    if (!j.top1)
        return 1;
    double rss0 = rss_mb("VmRSS:");

    double t0 = now();
    if (rec_model_fit(m, d, NULL, NULL))
        return die("fit");
    double t1 = now();
    rec_parallel_for(ni, 64, run_range, &j);
    double t2 = now();
    if (j.failed)
        return die("similar");

    double mean1 = 0;
    for (int32_t i = 0; i < ni; i++)
        mean1 += j.top1[i];
    mean1 /= ni;
    /* vocabulary and nnz: the model's tensors, through a save (no public getter) */
    int64_t vocab = -1, nnz = -1, shape[REC_LRM_MAX_DIMS];
    const void *tv;
    rec_lrm_reader *r;
    if (!rec_model_save(m, "/tmp/w5_tfidf_bench.lrm") &&
        !rec_lrm_open("/tmp/w5_tfidf_bench.lrm", &r)) {
        if (!rec_lrm_tensor(r, "tfidf.idf", REC_LRM_F32, 1, shape, &tv))
            vocab = shape[0];
        if (!rec_lrm_tensor(r, "tfidf.data", REC_LRM_F32, 1, shape, &tv))
            nnz = shape[0];
        rec_lrm_close(r);
        remove("/tmp/w5_tfidf_bench.lrm");
    }
    fprintf(stderr, "fit %.3fs top10 %.3fs total %.3fs\n", t1 - t0, t2 - t1, t2 - t0);
    printf("{\"workload\": \"W5_tfidf_ml-latest-small\", \"results\": {\"n_items\": %d, "
           "\"vocab\": %lld, \"nnz\": %lld, \"threads\": %d, ", ni, (long long)vocab,
           (long long)nnz, threads);
    printf("\"fit_transform_sec\": %.4f, \"top10_all_items_sec\": %.4f, \"total_sec\": %.4f, "
           "\"peak_rss_mb\": %.1f, \"rss_growth_mb\": %.1f, ", t1 - t0, t2 - t1, t2 - t0,
           rss_mb("VmHWM:"), rss_mb("VmRSS:") - rss0);
    printf("\"mean_top1_sim\": %.4f, \"example_movie1_top3\": [\"%s\", \"%s\", \"%s\"]}}\n",
           mean1, j.first[0], j.first[1], j.first[2]);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
    rec_params_destroy(o);
    rec_params_destroy(p);
    free(j.top1);
    return 0;
}
