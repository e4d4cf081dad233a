/* The real samples in ../shared/data: ml-latest-small and goodbooks-10k. */
#include "testutil.h"

#include "data/data-impl.h"

#include <stdio.h>
#include <string.h>

static rec_dataset *load(const char *rel, const char *fmt)
{
    const char *dir = tu_data_dir();
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    rec_dataset *d = NULL;
    rec_status st = rec_dataset_load(&d, path, fmt, NULL);
    ck_assert_msg(st == REC_OK, "%s: %s", path, rec_last_error());
    return d;
}

START_TEST(ml_latest_small)
{
    rec_dataset *d = load("ml-latest-small/ratings.csv", "auto");
    ck_assert_int_eq(rec_ds_num_rows(d), 100836);
    ck_assert_int_eq(rec_ds_num_users(d), 610);
    ck_assert_int_eq(rec_ds_num_items(d), 9724);
    ck_assert_ptr_nonnull(rec_ds_ratings_col(d));
    ck_assert_ptr_nonnull(rec_ds_times_col(d));
    int32_t i;
    ck_assert_int_eq(rec_dataset_item_index(d, "1", &i), REC_OK);
    ck_assert_str_eq(rec_ds_item_text(d, i, "title"), "Toy Story (1995)");
    int32_t n;
    rec_ds_item_multihot(d, i, "genres", &n);
    ck_assert_int_eq(n, 5);
    ck_assert_int_eq(rec_ds_field_vocab_size(rec_ds_field(d, REC_SIDE_ITEM, "genres")), 20);
    ck_assert_int_eq(rec_ds_field_vocab_size(rec_ds_field(d, REC_SIDE_ITEM, "tags")), 1475);
    ck_assert_str_eq(rec_ds_item_text(d, i, "tag_text"), "pixar pixar fun");
    rec_dataset *tr, *te;
    ck_assert_int_eq(rec_dataset_split(d, "last:1", 0, 0, &tr, &te), REC_OK);
    ck_assert_int_eq(rec_ds_num_rows(te), 610);
    ck_assert_int_eq(rec_ds_num_rows(tr), 100226);
    rec_dataset_destroy(tr);
    rec_dataset_destroy(te);
    ck_assert_int_eq(rec_dataset_split(d, "kfold:5", 0, 0, &tr, &te), REC_OK);
    ck_assert_int_eq(rec_ds_num_rows(te), 20168);
    rec_dataset_destroy(tr);
    rec_dataset_destroy(te);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(ml_latest_small_catalog)
{
    const char *dir = tu_data_dir();
    char path[1024];
    snprintf(path, sizeof path, "%s/ml-latest-small/ratings.csv", dir);
    rec_params *o;
    rec_params_create(&o);
    rec_params_set_str(o, "catalog", "all");
    rec_dataset *d = NULL;
    ck_assert_int_eq(rec_dataset_load(&d, path, "movielens", o), REC_OK);
    ck_assert_int_eq(rec_ds_num_items(d), 9742);
    rec_params_destroy(o);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(goodbooks_books)
{
    rec_dataset *d = load("goodbooks-10k/books.csv", "auto");
    ck_assert_int_eq(rec_ds_num_items(d), 10000);
    ck_assert_int_eq(rec_ds_num_rows(d), 0);
    int32_t i;
    ck_assert_int_eq(rec_dataset_item_index(d, "2", &i), REC_OK);
    ck_assert_str_eq(rec_ds_item_text(d, i, "authors_text"), "J.K. Rowling, Mary GrandPr\xc3\xa9");
    ck_assert_str_eq(rec_ds_item_text(d, i, "title"),
                     "Harry Potter and the Sorcerer's Stone (Harry Potter, #1)");
    const rec_field *lang = rec_ds_field(d, REC_SIDE_ITEM, "language_code");
    ck_assert_ptr_nonnull(lang);
    ck_assert_str_eq(rec_idmap_name(lang->vocab, lang->codes[i]), "eng");
    rec_dataset_destroy(d);
}
END_TEST

Suite *rec_data_real_suite(void)
{
    Suite *s = suite_create("data-real");
    TCase *t = tcase_create("shared");
    tcase_add_test(t, ml_latest_small);
    tcase_add_test(t, ml_latest_small_catalog);
    tcase_add_test(t, goodbooks_books);
    tcase_set_timeout(t, 60);
    suite_add_tcase(s, t);
    return s;
}
