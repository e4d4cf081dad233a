/* The "tfidf" model on ml-latest-small: every movie of movies.csv (loaded
 * with catalog=all), text = title + genres + tags as the scikit-learn peer
 * (../shared/bench/peers/w5_tfidf.py) builds it. */
#include "testutil.h"

#include "core/lrm-impl.h"
#include "librec/librec.h"

#include <stdio.h>
#include <string.h>

START_TEST(movielens_titles_genres_tags)
{
    const char *dir = tu_data_dir();
    char path[4096];
    snprintf(path, sizeof path, "%s/ml-latest-small/ratings.csv", dir);
    rec_params *o, *p;
    ck_assert_int_eq(rec_params_create(&o), REC_OK);
    rec_params_set_str(o, "catalog", "all");
    rec_dataset *d;
    ck_assert_msg(rec_dataset_load(&d, path, "movielens", o) == REC_OK, "%s", rec_last_error());
    int32_t ni;
    rec_dataset_num_items(d, &ni);
    ck_assert_int_eq(ni, 9742);

    /* the peer's recipe: no stop words, raw tf; tag_text keeps every tag row */
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    rec_params_set_str(p, "fields", "title,genres,tag_text");
    rec_params_set_str(p, "stop_words", "none");
    rec_params_set_bool(p, "sublinear_tf", 0);
    rec_model *m;
    ck_assert_int_eq(rec_model_create(&m, "tfidf", p), REC_OK);
    ck_assert_msg(rec_model_fit(m, d, NULL, NULL) == REC_OK, "%s", rec_last_error());
    const char *file = tu_tmp_path("tfidf-ml.lrm");
    ck_assert_int_eq(rec_model_save(m, file), REC_OK);
    rec_lrm_reader *r;
    ck_assert_int_eq(rec_lrm_open(file, &r), REC_OK);
    int64_t shape[REC_LRM_MAX_DIMS], nnz;
    const void *data;
    ck_assert_int_eq(rec_lrm_tensor(r, "tfidf.idf", REC_LRM_F32, 1, shape, &data), REC_OK);
    int64_t vocab = shape[0];
    ck_assert_int_eq(rec_lrm_tensor(r, "tfidf.data", REC_LRM_F32, 1, shape, &data), REC_OK);
    nnz = shape[0];
    rec_lrm_close(r);
    printf("tfidf on ml-latest-small (title+genres+tags, %d movies): vocab %lld (peer 10165), "
           "nnz %lld\n", ni, (long long)vocab, (long long)nnz);
    /* the peer's token pattern differs only at the edges ("(no genres
     * listed)" is dropped there, symbols like ½ count here) */
    ck_assert_int_ge(vocab, 10165 - 20);
    ck_assert_int_le(vocab, 10165 + 20);

    /* Toy Story's neighbours include Toy Story 2 */
    const char *ids[5];
    float sc[5];
    size_t n;
    ck_assert_int_eq(rec_model_similar(m, "1", 5, ids, sc, &n), REC_OK);
    ck_assert_uint_eq(n, 5);
    int found = 0;
    for (size_t k = 0; k < n; k++)
        found |= strcmp(ids[k], "3114") == 0;
    ck_assert_msg(found, "Toy Story 2 not among Toy Story's top 5: %s %s %s %s %s", ids[0],
                  ids[1], ids[2], ids[3], ids[4]);
    rec_model_destroy(m);

    /* defaults (all fields, stop words, sublinear tf) work too, and a user's
     * profile recommends unseen movies only */
    ck_assert_int_eq(rec_model_create(&m, "tfidf", NULL), REC_OK);
    ck_assert_msg(rec_model_fit(m, d, NULL, NULL) == REC_OK, "%s", rec_last_error());
    ck_assert_int_eq(rec_model_similar(m, "1", 5, ids, sc, &n), REC_OK);
    found = 0;
    for (size_t k = 0; k < n; k++)
        found |= strcmp(ids[k], "3114") == 0;
    ck_assert(found);
    ck_assert_int_eq(rec_model_recommend(m, "1", 5, 0, ids, sc, &n), REC_OK);
    ck_assert_uint_eq(n, 5);
    ck_assert_float_gt(sc[0], 0);
    rec_model_destroy(m);
    rec_params_destroy(p);
    rec_params_destroy(o);
    rec_dataset_destroy(d);
}
END_TEST

/* books.csv alone: 10,000 books, no interactions.  tfidf fits the
 * catalogue; The Hunger Games' neighbours are its sequels, and a history of
 * it given at call time recommends them. */
START_TEST(goodbooks_catalogue_alone)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/goodbooks-10k/books.csv", tu_data_dir());
    rec_dataset *d;
    ck_assert_msg(rec_dataset_load(&d, path, "goodbooks", NULL) == REC_OK, "%s",
                  rec_last_error());
    rec_model *m;
    ck_assert_int_eq(rec_model_create(&m, "tfidf", NULL), REC_OK);
    ck_assert_msg(rec_model_fit(m, d, NULL, NULL) == REC_OK, "%s", rec_last_error());
    const char *items[10];
    float sc[10];
    size_t n;
    ck_assert_int_eq(rec_model_similar(m, "1", 10, items, sc, &n), REC_OK);
    int found17 = 0, found20 = 0;
    for (size_t k = 0; k < n; k++) {
        found17 |= !strcmp(items[k], "17"); /* Catching Fire */
        found20 |= !strcmp(items[k], "20"); /* Mockingjay */
    }
    ck_assert(found17 && found20);
    const char *hist[] = { "1" };
    ck_assert_int_eq(rec_model_recommend_history(m, hist, NULL, 1, 10, 0, items, sc, &n),
                     REC_OK);
    found17 = 0;
    for (size_t k = 0; k < n; k++)
        found17 |= !strcmp(items[k], "17");
    ck_assert(found17);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}
END_TEST

Suite *rec_tfidf_real_suite(void)
{
    Suite *s = suite_create("tfidf_real");
    TCase *t = tcase_create("movielens");
    tcase_add_test(t, movielens_titles_genres_tags);
    tcase_add_test(t, goodbooks_catalogue_alone);
    tcase_set_timeout(t, 120);
    suite_add_tcase(s, t);
    return s;
}
