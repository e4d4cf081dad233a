/* A C program that uses librec only through its installed headers and
 * pkg-config, as the README shows: generate data, fit "mf", recommend. */
#include <librec/librec.h>

#include <stdio.h>

#define CHECK(call)                                                                     \
    do {                                                                                \
        rec_status st_ = (call);                                                        \
        if (st_ != REC_OK) {                                                            \
            fprintf(stderr, "consumer.c: %s: %s: %s\n", #call, rec_strerror(st_),        \
                    rec_last_error());                                                  \
            return 1;                                                                   \
        }                                                                               \
    } while (0)

int main(void)
{
    /* The headers and the loaded library must agree. */
    if (rec_version_number() != REC_VERSION_NUMBER) {
        fprintf(stderr, "consumer.c: header version %d, library %u\n", REC_VERSION_NUMBER,
                rec_version_number());
        return 1;
    }
    rec_params *gen;
    CHECK(rec_params_create(&gen));
    CHECK(rec_params_set_int(gen, "users", 60));
    CHECK(rec_params_set_int(gen, "items", 80));
    rec_dataset *data;
    CHECK(rec_dataset_generate(&data, gen));
    rec_params_destroy(gen);

    rec_params *p;
    CHECK(rec_params_create(&p));
    CHECK(rec_params_set_int(p, "epochs", 1));
    rec_model *m;
    CHECK(rec_model_create(&m, "mf", p));
    rec_params_destroy(p);
    CHECK(rec_model_fit(m, data, NULL, NULL));

    const char *user, *items[5];
    float scores[5];
    size_t n;
    CHECK(rec_dataset_user_id(data, 0, &user));
    CHECK(rec_model_recommend(m, user, 5, 0, items, scores, &n));
    if (n == 0) {
        fprintf(stderr, "consumer.c: no recommendation for user %s\n", user);
        return 1;
    }
    printf("librec %s (C): top-%zu for user %s:", rec_version(), n, user);
    for (size_t k = 0; k < n; k++)
        printf(" %s (%.3f)", items[k], (double)scores[k]);
    printf("\n");
    rec_model_destroy(m);
    rec_dataset_destroy(data);
    return 0;
}
