/* The demo: generate a dataset with learnable tastes, train a matrix
 * factorisation model through librec's autodiff core, watch the loss fall,
 * check it on each user's held-out last interaction, and recommend. */
#include <librec/librec.h>

#include <stdio.h>
#include <string.h>

#define CHECK(call)                                                                \
    do {                                                                           \
        rec_status st_ = (call);                                                   \
        if (st_ != REC_OK) {                                                       \
            fprintf(stderr, "demo: %s: %s\n", rec_strerror(st_), rec_last_error()); \
            return 1;                                                              \
        }                                                                          \
    } while (0)

static int progress(void *user, int epoch, int epochs, double loss)
{
    (void)user;
    char bar[21];
    int fill = epoch * 20 / epochs;
    memset(bar, '#', (size_t)fill);
    memset(bar + fill, '.', (size_t)(20 - fill));
    bar[20] = 0;
    printf("epoch %2d/%d [%s] loss %.4f\n", epoch, epochs, bar, loss);
    fflush(stdout);
    return 0;
}

int main(void)
{
    rec_dataset *all, *train, *test;
    CHECK(rec_dataset_generate(&all, NULL));
    int32_t nu, ni;
    int64_t nr;
    CHECK(rec_dataset_num_users(all, &nu));
    CHECK(rec_dataset_num_items(all, &ni));
    CHECK(rec_dataset_num_interactions(all, &nr));
    printf("librec %s demo: %d users, %d items, %lld interactions (generated)\n", rec_version(),
           nu, ni, (long long)nr);
    CHECK(rec_dataset_split(all, "last:1", 0, 0, &train, &test));

    rec_params *p;
    CHECK(rec_params_create(&p));
    CHECK(rec_params_set_int(p, "dim", 32));
    CHECK(rec_params_set_int(p, "epochs", 15));
    rec_model *m;
    CHECK(rec_model_create(&m, "mf", p));
    rec_params_destroy(p);
    printf("training mf (BPR, Adam) ...\n");
    CHECK(rec_model_fit(m, train, progress, NULL));

    /* Hit@10 on each user's last interaction, against chance. */
    int64_t nt, hits = 0;
    CHECK(rec_dataset_num_interactions(test, &nt));
    for (int64_t r = 0; r < nt; r++) {
        int32_t u, i;
        const char *uid, *iid, *recs[10];
        size_t n;
        CHECK(rec_dataset_row(test, r, &u, &i, NULL, NULL));
        CHECK(rec_dataset_user_id(test, u, &uid));
        CHECK(rec_dataset_item_id(test, i, &iid));
        CHECK(rec_model_recommend(m, uid, 10, 0, recs, NULL, &n));
        for (size_t k = 0; k < n; k++)
            hits += strcmp(recs[k], iid) == 0;
    }
    printf("hit@10 on held-out last items: %.3f (chance %.3f)\n", (double)hits / (double)nt,
           10.0 / ni);

    for (int32_t u = 0; u < 2; u++) {
        const char *uid, *recs[5];
        float sc[5];
        size_t n;
        CHECK(rec_dataset_user_id(all, u, &uid));
        CHECK(rec_model_recommend(m, uid, 5, 0, recs, sc, &n));
        printf("top-5 for user %s:", uid);
        for (size_t k = 0; k < n; k++)
            printf(" %s (%.2f)", recs[k], sc[k]);
        printf("\n");
    }
    rec_model_destroy(m);
    rec_dataset_destroy(train);
    rec_dataset_destroy(test);
    rec_dataset_destroy(all);
    return 0;
}
