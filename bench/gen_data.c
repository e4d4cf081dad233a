/* The generated default dataset (rec_dataset_generate, what the examples
 * use with no argument) as a CSV file the command line reads, so that
 * `librec train --plot`, `librec stats --plot` and `librec eval` can be run
 * on the same data the examples print (the course's pictures in
 * examples/README.md come from it; nothing derived from ../shared/data is
 * committed).  Only the interactions are written: user,item,rating,timestamp.
 * Usage: gen_data OUT.csv [KEY=VALUE ...]   (rec_dataset_generate options) */
#include <librec/librec.h>

#include <stdio.h>
#include <string.h>

static int die(const char *what)
{
    fprintf(stderr, "gen_data: %s: %s\n", what, rec_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: gen_data OUT.csv [KEY=VALUE ...]\n");
        return 2;
    }
    rec_params *p;
    if (rec_params_create(&p))
        return die("params");
    for (int a = 2; a < argc; a++)
        if (rec_params_parse(p, argv[a]))
            return die(argv[a]);
    rec_dataset *d;
    if (rec_dataset_generate(&d, p))
        return die("rec_dataset_generate");
    rec_params_destroy(p);
    FILE *f = fopen(argv[1], "w");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    int64_t n;
    rec_dataset_num_interactions(d, &n);
    fprintf(f, "user,item,rating,timestamp\n");
    for (int64_t r = 0; r < n; r++) {
        int32_t u, i;
        double rating;
        int64_t t;
        const char *uid, *iid;
        if (rec_dataset_row(d, r, &u, &i, &rating, &t) || rec_dataset_user_id(d, u, &uid) ||
            rec_dataset_item_id(d, i, &iid))
            return die("row");
        fprintf(f, "%s,%s,%g,%lld\n", uid, iid, rating, (long long)t);
    }
    if (fclose(f)) {
        perror(argv[1]);
        return 1;
    }
    rec_dataset_destroy(d);
    return 0;
}
