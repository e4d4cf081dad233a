/* Do item-CF's "similar items" look right to a person?  A proxy that needs
 * no judge: over every item of ml-latest-small with at least 20 ratings,
 * the share of its top-10 similar items (rec_model_similar, the default
 * itemcf model fitted on all the ratings) that share a genre with it, and
 * the median number of ratings of those neighbours (rare items at
 * similarity 1.0 are what a person distrusts).  Also prints Toy Story's
 * top 5.  This is how the default similar_shrinkage was chosen; it is not
 * a test-set quality number.
 * Usage: similar_genres [--data DIR] [KEY=VALUE ...]   (itemcf params) */
#include <librec/librec.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPN 10
#define MIN_RATINGS 20

static int die(const char *what)
{
    fprintf(stderr, "similar_genres: %s: %s\n", what, rec_last_error());
    return 1;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int shares(const int32_t *a, int32_t na, const int32_t *b, int32_t nb)
{
    for (int32_t x = 0; x < na; x++)
        for (int32_t y = 0; y < nb; y++)
            if (a[x] == b[y])
                return 1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = "../shared/data";
    rec_params *p;
    if (rec_params_create(&p))
        return die("params");
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--data") && a + 1 < argc)
            dir = argv[++a];
        else if (rec_params_parse(p, argv[a]))
            return die(argv[a]);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/ml-latest-small/ratings.csv", dir);
    rec_dataset *d;
    rec_model *m;
    if (rec_dataset_load(&d, path, "movielens", NULL))
        return die(path);
    if (rec_model_create(&m, "itemcf", p) || rec_model_fit(m, d, NULL, NULL))
        return die("itemcf");
    int32_t ni;
    int64_t nr;
    int g;
    rec_dataset_num_items(d, &ni);
    rec_dataset_num_interactions(d, &nr);
    if (rec_dataset_field_index(d, REC_SIDE_ITEM, "genres", &g))
        return die("genres");
    int *count = calloc((size_t)ni, sizeof *count);
    int *support = malloc((size_t)ni * TOPN * sizeof *support);
    for (int64_t r = 0; r < nr; r++) {
        int32_t i;
        rec_dataset_row(d, r, NULL, &i, NULL, NULL);
        count[i]++;
    }
    long queries = 0, hits = 0, shown = 0;
    size_t ns = 0;
    for (int32_t i = 0; i < ni; i++) {
        if (count[i] < MIN_RATINGS)
            continue;
        const char *id, *items[TOPN];
        float scores[TOPN];
        size_t n;
        const int32_t *gi;
        int32_t ngi;
        rec_dataset_item_id(d, i, &id);
        rec_dataset_feature_codes(d, REC_SIDE_ITEM, g, i, &gi, &ngi);
        if (rec_model_similar(m, id, TOPN, items, scores, &n))
            return die(id);
        queries++;
        for (size_t j = 0; j < n; j++) {
            int32_t k;
            const int32_t *gk;
            int32_t ngk;
            rec_dataset_item_index(d, items[j], &k);
            rec_dataset_feature_codes(d, REC_SIDE_ITEM, g, k, &gk, &ngk);
            hits += shares(gi, ngi, gk, ngk);
            shown++;
            support[ns++] = count[k];
        }
    }
    qsort(support, ns, sizeof *support, cmp_int);
    printf("items with >= %d ratings: %ld; top-%d similar sharing a genre: %.3f; median "
           "ratings of a neighbour: %d\n", MIN_RATINGS, queries, TOPN,
           shown ? (double)hits / (double)shown : 0.0, ns ? support[ns / 2] : 0);
    const char *items[5];
    float scores[5];
    size_t n;
    if (rec_model_similar(m, "1", 5, items, scores, &n))
        return die("1");
    printf("Toy Story (1995):");
    for (size_t j = 0; j < n; j++) {
        int32_t k;
        int t;
        const char *title;
        rec_dataset_item_index(d, items[j], &k);
        rec_dataset_field_index(d, REC_SIDE_ITEM, "title", &t);
        rec_dataset_feature_text(d, REC_SIDE_ITEM, t, k, &title);
        printf("%s %s [%d ratings] %.3f", j ? ";" : "", title, count[k], (double)scores[j]);
    }
    printf("\n");
    free(count);
    free(support);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
    rec_params_destroy(p);
    return 0;
}
