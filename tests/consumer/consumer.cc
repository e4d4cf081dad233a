// A C++ program that uses librec only through its installed headers and
// pkg-config: proves the public headers work as C++ and the library links.
#include <librec/librec.h>

#include <cstdio>
#include <cstdlib>

static void check(rec_status st, const char *what)
{
    if (st != REC_OK) {
        std::fprintf(stderr, "consumer.cc: %s: %s: %s\n", what, rec_strerror(st),
                     rec_last_error());
        std::exit(1);
    }
}

int main()
{
    rec_params *gen = nullptr;
    check(rec_params_create(&gen), "rec_params_create");
    check(rec_params_set_int(gen, "users", 60), "users");
    check(rec_params_set_int(gen, "items", 80), "items");
    rec_dataset *data = nullptr;
    check(rec_dataset_generate(&data, gen), "rec_dataset_generate");
    rec_params_destroy(gen);

    rec_params *p = nullptr;
    check(rec_params_create(&p), "rec_params_create");
    check(rec_params_set_int(p, "epochs", 1), "epochs");
    rec_model *m = nullptr;
    check(rec_model_create(&m, "mf", p), "rec_model_create");
    rec_params_destroy(p);
    check(rec_model_fit(m, data, nullptr, nullptr), "rec_model_fit");

    const char *user = nullptr;
    check(rec_dataset_user_id(data, 0, &user), "rec_dataset_user_id");
    const char *items[5];
    float scores[5];
    size_t n = 0;
    check(rec_model_recommend(m, user, 5, 0, items, scores, &n), "rec_model_recommend");
    if (n == 0) {
        std::fprintf(stderr, "consumer.cc: no recommendation for user %s\n", user);
        return 1;
    }
    std::printf("librec %s (C++): top-%zu for user %s:", rec_version(), n, user);
    for (size_t k = 0; k < n; k++)
        std::printf(" %s (%.3f)", items[k], static_cast<double>(scores[k]));
    std::printf("\n");
    rec_model_destroy(m);
    rec_dataset_destroy(data);
    return 0;
}
