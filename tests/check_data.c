/* Datasets: loaders for every layout on tiny files, malformed input, id
 * maps, splits, the generator, side features, out-of-memory paths. */
#include "testutil.h"

#include "data/data-impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *write_file(const char *name, const char *text)
{
    const char *p = tu_tmp_path(name);
    static char keep[8][512];
    static int k;
    char *out = keep[k++ & 7];
    snprintf(out, 512, "%s", p);
    if (!text) {
        remove(out);
        return out;
    }
    FILE *f = fopen(out, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return out;
}

/* A fresh subdirectory of the temp dir, returned with a trailing '/'. */
static const char *subdir(const char *name)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "%s", tu_tmp_path(name));
    mkdir(buf, 0700);
    strcat(buf, "/");
    return buf;
}

static const char *in_dir(const char *dir, const char *name, const char *text)
{
    char rel[256];
    const char *base = strrchr(dir, '/');
    (void)base;
    /* dir ends in "/": name it relative to the temp dir. */
    const char *tmp = tu_tmp_path("");
    snprintf(rel, sizeof rel, "%s%s", dir + strlen(tmp), name);
    return write_file(rel, text);
}

static rec_dataset *load_ok(const char *path, const char *fmt, const rec_params *p)
{
    rec_dataset *d = NULL;
    rec_status st = rec_dataset_load(&d, path, fmt, p);
    if (st)
        ck_abort_msg("load %s: %s", path, rec_last_error());
    return d;
}

static void expect_row(const rec_dataset *d, int64_t r, const char *u, const char *i,
                       double rating, int64_t t)
{
    int32_t ui, ii;
    double rr;
    int64_t tt;
    ck_assert_int_eq(rec_dataset_row(d, r, &ui, &ii, &rr, &tt), REC_OK);
    ck_assert_str_eq(rec_ds_user_name(d, ui), u);
    ck_assert_str_eq(rec_ds_item_name(d, ii), i);
    if (isnan(rating))
        ck_assert(isnan(rr));
    else
        ck_assert_double_eq_tol(rr, rating, 1e-6);
    ck_assert_int_eq(tt, t);
}

START_TEST(csv_with_header_quotes_and_crlf)
{
    const char *p = write_file("a.csv", "userId,movieId,rating,timestamp\r\n"
                                        "u1,\"m,1\",4.5,100\r\n"
                                        "u2,m2,3,90\r\n"
                                        "\r\n"
                                        "u1,\"say \"\"hi\"\"\",1,80\r\n");
    rec_dataset *d = load_ok(p, "csv", NULL);
    int32_t nu, ni;
    int64_t n;
    int hr, ht;
    rec_dataset_num_users(d, &nu);
    rec_dataset_num_items(d, &ni);
    rec_dataset_num_interactions(d, &n);
    rec_dataset_has_ratings(d, &hr);
    rec_dataset_has_timestamps(d, &ht);
    ck_assert_int_eq(nu, 2);
    ck_assert_int_eq(ni, 3);
    ck_assert_int_eq(n, 3);
    ck_assert(hr && ht);
    expect_row(d, 0, "u1", "m,1", 4.5, 100);
    expect_row(d, 1, "u2", "m2", 3, 90);
    expect_row(d, 2, "u1", "say \"hi\"", 1, 80);
    /* per-user CSR is ordered by timestamp: u1 has (80: say "hi"), (100: m,1) */
    const int64_t *ptr;
    const int32_t *items;
    const float *r;
    ck_assert_int_eq(rec_ds_user_csr(d, &ptr, &items, &r), REC_OK);
    ck_assert_int_eq(ptr[0], 0);
    ck_assert_int_eq(ptr[1], 2);
    ck_assert_int_eq(ptr[2], 3);
    ck_assert_str_eq(rec_ds_item_name(d, items[0]), "say \"hi\"");
    ck_assert_float_eq(r[0], 1.0f);
    ck_assert_float_eq(r[1], 4.5f);
    const int64_t *iptr;
    const int32_t *iu;
    ck_assert_int_eq(rec_ds_item_csr(d, &iptr, &iu, NULL), REC_OK);
    ck_assert_int_eq(iptr[3], 3);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(csv_columns_option_and_no_header)
{
    const char *p = write_file("b.csv", "10,7,2.0\n11,7,5\n");
    rec_params *o;
    rec_params_create(&o);
    rec_params_set_str(o, "columns", "item,user,rating");
    rec_dataset *d = load_ok(p, "auto", o);
    expect_row(d, 0, "7", "10", 2.0, REC_NO_TIME);
    expect_row(d, 1, "7", "11", 5.0, REC_NO_TIME);
    int32_t n;
    rec_dataset_num_users(d, &n);
    ck_assert_int_eq(n, 1);
    rec_dataset_destroy(d);
    /* two columns: implicit feedback, no ratings */
    p = write_file("c.csv", "a,x\nb,y\n");
    d = load_ok(p, NULL, NULL);
    int hr;
    rec_dataset_has_ratings(d, &hr);
    ck_assert_int_eq(hr, 0);
    ck_assert_ptr_null(rec_ds_ratings_col(d));
    rec_dataset_destroy(d);
    rec_params_set_str(o, "columns", "item,user,bogus");
    ck_assert_int_eq(rec_dataset_load(&d, p, "csv", o), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "'bogus'"));
    ck_assert_ptr_null(d);
    rec_params_destroy(o);
}
END_TEST

START_TEST(tsv_dcolon_pairs_lightgcn)
{
    rec_dataset *d = load_ok(write_file("x.tsv", "1\t2\t3\t50\n1\t3\t4\t40\n"), "tsv", NULL);
    expect_row(d, 1, "1", "3", 4, 40);
    rec_dataset_destroy(d);
    d = load_ok(write_file("y.txt", "1::2::3::50\n2::2::1::60\n"), "auto", NULL);
    expect_row(d, 1, "2", "2", 1, 60);
    rec_dataset_destroy(d);
    /* pairs: line order is time order */
    d = load_ok(write_file("seq.txt", "1 5\n1 6\n2 5\n 1\t7 \n"), "pairs", NULL);
    expect_row(d, 0, "1", "5", NAN, 0);
    expect_row(d, 3, "1", "7", NAN, 3);
    rec_dataset_destroy(d);
    d = load_ok(write_file("seq2.txt", "1 5\n1 6\n"), "auto", NULL);
    int ht;
    rec_dataset_has_timestamps(d, &ht);
    ck_assert_int_eq(ht, 1);
    rec_dataset_destroy(d);
    /* lightgcn: one line per user */
    const char *tr = write_file("train.txt", "0 1 2 3\n1 2\n2\n");
    d = load_ok(tr, "auto", NULL);
    int64_t n;
    int32_t nu;
    rec_dataset_num_interactions(d, &n);
    rec_dataset_num_users(d, &nu);
    ck_assert_int_eq(n, 4);
    ck_assert_int_eq(nu, 3);
    expect_row(d, 3, "1", "2", NAN, REC_NO_TIME);
    /* test.txt shares train's ids */
    rec_dataset *te = NULL;
    ck_assert_int_eq(rec_dataset_load_like(&te, write_file("test.txt", "1 3\n0 9\n"),
                                           "lightgcn", NULL, d), REC_OK);
    int32_t u, i;
    rec_dataset_row(te, 0, &u, &i, NULL, NULL);
    ck_assert_int_eq(u, 1);
    ck_assert_str_eq(rec_ds_item_name(d, i), "3");
    int32_t nid, nid2;
    rec_dataset_num_items(te, &nid);
    rec_dataset_num_items(d, &nid2);
    ck_assert_int_eq(nid, 4); /* "9" added to the test's own copy */
    ck_assert_int_eq(nid2, 3);
    rec_dataset_destroy(te);
    rec_params *o;
    rec_params_create(&o);
    rec_params_set_str(o, "unknown", "error");
    te = NULL;
    ck_assert_int_eq(rec_dataset_load_like(&te, write_file("test.txt", "1 3\n0 9\n"),
                                           "lightgcn", o, d), REC_E_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "line 2, column 3"));
    ck_assert_ptr_null(te);
    rec_params_set_str(o, "unknown", "skip");
    ck_assert_int_eq(rec_dataset_load_like(&te, write_file("test.txt", "1 3\n0 9\n"),
                                           "lightgcn", o, d), REC_OK);
    rec_dataset_num_interactions(te, &n);
    ck_assert_int_eq(n, 1);
    rec_dataset_destroy(te);
    rec_params_destroy(o);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(movielens_100k_layout)
{
    const char *dir = subdir("ml100k");
    const char *p = in_dir(dir, "u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n");
    in_dir(dir, "u.item",
           "242|Kolya (1996)|24-Jan-1997||http://x|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
           "302|L.A. Confidential (1997)|01-Jan-1997||http://y|0|0|0|0|0|0|1|0|0|0|0|0|0|1|0|"
           "1|0|0|0\n"
           "303|Caf\xe9 (1997)|01-Jan-1997||http://z|0|0|0|0|0|0|1|0|0|0|0|0|0|1|0|1|0|0|0\n");
    in_dir(dir, "u.user", "196|49|M|writer|55105\n186|39|F|executive|00000\n");
    rec_dataset *d = load_ok(p, "auto", NULL);
    expect_row(d, 0, "196", "242", 3, 881250949);
    int32_t ni;
    rec_dataset_num_items(d, &ni);
    ck_assert_int_eq(ni, 2);
    ck_assert_str_eq(rec_ds_item_text(d, 1, "title"), "L.A. Confidential (1997)");
    int32_t n;
    const int32_t *g = rec_ds_item_multihot(d, 1, "genres", &n);
    ck_assert_int_eq(n, 3);
    const rec_field *gf = rec_ds_field(d, REC_SIDE_ITEM, "genres");
    ck_assert_str_eq(rec_idmap_name(gf->vocab, g[0]), "Crime");
    ck_assert_str_eq(rec_idmap_name(gf->vocab, g[1]), "Mystery");
    ck_assert_str_eq(rec_idmap_name(gf->vocab, g[2]), "Sci-Fi");
    int k;
    double v;
    ck_assert_int_eq(rec_dataset_field_index(d, REC_SIDE_USER, "age", &k), REC_OK);
    ck_assert_int_eq(rec_dataset_feature_number(d, REC_SIDE_USER, k, 1, &v), REC_OK);
    ck_assert_double_eq(v, 39);
    rec_dataset_destroy(d);
    /* catalog=all adds the unrated, Latin-1 titled item, converted to UTF-8 */
    rec_params *o;
    rec_params_create(&o);
    rec_params_set_str(o, "catalog", "all");
    d = load_ok(p, "movielens", o);
    rec_dataset_num_items(d, &ni);
    ck_assert_int_eq(ni, 3);
    ck_assert_str_eq(rec_ds_item_text(d, 2, "title"), "Caf\xc3\xa9 (1997)");
    rec_dataset_destroy(d);
    rec_params_destroy(o);
}
END_TEST

START_TEST(movielens_1m_and_latest_layouts)
{
    const char *dir = subdir("ml1m");
    const char *p = in_dir(dir, "ratings.dat", "1::1193::5::978300760\n2::1193::4::978300761\n");
    in_dir(dir, "movies.dat", "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n");
    in_dir(dir, "users.dat", "1::F::1::10::48067\n2::M::56::16::70072\n");
    rec_dataset *d = load_ok(p, "auto", NULL);
    expect_row(d, 1, "2", "1193", 4, 978300761);
    int k;
    int32_t code;
    const char *val;
    ck_assert_int_eq(rec_dataset_field_index(d, REC_SIDE_USER, "gender", &k), REC_OK);
    ck_assert_int_eq(rec_dataset_feature_code(d, REC_SIDE_USER, k, 1, &code), REC_OK);
    ck_assert_int_eq(rec_dataset_field_value_name(d, REC_SIDE_USER, k, code, &val), REC_OK);
    ck_assert_str_eq(val, "M");
    double y;
    ck_assert_int_eq(rec_dataset_field_index(d, REC_SIDE_ITEM, "year", &k), REC_OK);
    rec_dataset_feature_number(d, REC_SIDE_ITEM, k, 0, &y);
    ck_assert_double_eq(y, 1975);
    rec_dataset_destroy(d);

    dir = subdir("mllatest");
    p = in_dir(dir, "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,5\n1,2,3.5,6\n");
    in_dir(dir, "movies.csv", "movieId,title,genres\n1,\"American President, The (1995)\","
                              "Comedy|Drama|Romance\n2,Heat (1995),Action|Crime\n");
    in_dir(dir, "tags.csv", "userId,movieId,tag,timestamp\n1,1,Funny ,7\n1,1,funny,8\n"
                            "1,2,dark,9\n1,99,other,9\n");
    d = load_ok(p, "movielens", NULL);
    ck_assert_str_eq(rec_ds_item_text(d, 0, "title"), "American President, The (1995)");
    int32_t n;
    rec_ds_item_multihot(d, 0, "genres", &n);
    ck_assert_int_eq(n, 3);
    /* tags: distinct lower-cased, counted twice; text keeps every row */
    const int32_t *t = rec_ds_item_multihot(d, 0, "tags", &n);
    ck_assert_int_eq(n, 1);
    const rec_field *tf = rec_ds_field(d, REC_SIDE_ITEM, "tags");
    ck_assert_str_eq(rec_idmap_name(tf->vocab, t[0]), "funny");
    ck_assert_int_eq(tf->cnt[tf->ptr[0]], 2);
    ck_assert_int_eq(rec_ds_field_vocab_size(tf), 3);
    ck_assert_str_eq(rec_ds_item_text(d, 0, "tag_text"), "Funny  funny");
    rec_dataset_destroy(d);
    rec_params *o;
    rec_params_create(&o);
    rec_params_set_bool(o, "features", 0);
    d = load_ok(p, "movielens", o);
    ck_assert_int_eq(rec_ds_num_fields(d, REC_SIDE_ITEM), 0);
    rec_dataset_destroy(d);
    rec_params_destroy(o);
}
END_TEST

START_TEST(goodbooks_layout)
{
    const char *dir = subdir("gb");
    const char *p = in_dir(dir, "ratings.csv", "user_id,book_id,rating\n1,2,5\n2,1,3\n");
    in_dir(dir, "books.csv",
           "book_id,goodreads_book_id,authors,original_publication_year,title,language_code,"
           "ratings_count\n"
           "1,100,\"J.K. Rowling, Mary GrandPr\xc3\xa9\",1997.0,\"Harry, the Stone\",eng,4602479\n"
           "2,200,Suzanne Collins,,The Hunger Games,,4780653\n"
           "3,300,Nobody,2000,Unrated,eng,1\n");
    in_dir(dir, "book_tags.csv", "goodreads_book_id,tag_id,count\n100,1,9\n200,0,3\n100,0,1\n");
    in_dir(dir, "tags.csv", "tag_id,tag_name\n0,fantasy\n1,magic\n");
    rec_dataset *d = load_ok(p, "auto", NULL);
    int32_t ni, i;
    rec_dataset_num_items(d, &ni);
    ck_assert_int_eq(ni, 2);
    ck_assert_int_eq(rec_dataset_item_index(d, "1", &i), REC_OK);
    ck_assert_str_eq(rec_ds_item_text(d, i, "title"), "Harry, the Stone");
    int32_t n;
    const int32_t *a = rec_ds_item_multihot(d, i, "authors", &n);
    ck_assert_int_eq(n, 2);
    const rec_field *af = rec_ds_field(d, REC_SIDE_ITEM, "authors");
    ck_assert_str_eq(rec_idmap_name(af->vocab, a[1]), "Mary GrandPr\xc3\xa9");
    const int32_t *tg = rec_ds_item_multihot(d, i, "tags", &n);
    const rec_field *tf = rec_ds_field(d, REC_SIDE_ITEM, "tags");
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(rec_idmap_name(tf->vocab, tg[0]), "magic");
    const rec_field *yf = rec_ds_field(d, REC_SIDE_ITEM, "year");
    int32_t j;
    rec_dataset_item_index(d, "2", &j);
    ck_assert(isnan(rec_field_number(yf, j)));
    ck_assert_double_eq(rec_field_number(yf, i), 1997);
    rec_dataset_destroy(d);
    /* books.csv alone: the catalogue with no interactions */
    char bp[600];
    snprintf(bp, sizeof bp, "%sbooks.csv", dir);
    d = load_ok(bp, "goodbooks", NULL);
    rec_dataset_num_items(d, &ni);
    ck_assert_int_eq(ni, 3);
    ck_assert_int_eq(rec_ds_num_rows(d), 0);
    rec_dataset_destroy(d);
}
END_TEST

/* Malformed input: status, message naming file, line and column, no output. */
static void bad(const char *name, const char *text, const char *fmt, rec_status want,
                const char *needle)
{
    const char *p = write_file(name, text);
    rec_dataset *d = (rec_dataset *)(uintptr_t)1;
    tu_alloc_install();
    rec_status st = rec_dataset_load(&d, p, fmt, NULL);
    long long live = tu_alloc_live();
    tu_alloc_remove();
    ck_assert_msg(st == want, "%s: status %d, want %d (%s)", name, st, want, rec_last_error());
    ck_assert_ptr_null(d);
    ck_assert_msg(strstr(rec_last_error(), needle), "%s: '%s' lacks '%s'", name,
                  rec_last_error(), needle);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), name));
    ck_assert_int_eq(live, 0);
}

START_TEST(malformed_files)
{
    bad("m1.csv", "u,i,r\n1,2,3\n1,2\n", "csv", REC_E_FORMAT,
        "line 3, column 4: expected 3 columns, got 2");
    bad("m2.csv", "1,2,3\n1,2,3,4\n", "csv", REC_E_FORMAT, "line 2, column 7: expected 3");
    bad("m3.csv", "1,2,3.5\n1,2,abc\n", "csv", REC_E_FORMAT,
        "line 2, column 5: rating 'abc' is not a number");
    bad("m4.csv", "1,2,3,100\n1,2,3,1e5x\n", "csv", REC_E_FORMAT,
        "line 2, column 7: timestamp '1e5x' is not an integer");
    bad("m5.csv", "1,2,3\n1,\"abc,3\n", "csv", REC_E_FORMAT, "line 2, column 3: unterminated");
    bad("m6.csv", "", "csv", REC_E_FORMAT, "line 1, column 1: empty file");
    bad("m7.csv", "user,item,rating\n", "csv", REC_E_FORMAT, "no interactions");
    bad("m8.txt", "1 2\n1 2 3\n", "pairs", REC_E_FORMAT, "line 2, column 5: expected 2");
    bad("m9.csv", "1,,3\n", "csv", REC_E_FORMAT, "line 1, column 3: empty item id");
    bad("m10.csv", "1,\"a\"x,3\n", "csv", REC_E_FORMAT, "line 1, column 6: unexpected");
    bad("m11.data", "1\t2\t3\tx\n", "movielens", REC_E_FORMAT, "line 1, column 7: timestamp");
    bad("missing.csv", NULL, "csv", REC_E_IO, "cannot open");
    /* auto refuses what is not interactions rather than guessing. */
    bad("passwd", "root:x:0:0:root:/root:/bin/bash\nList Manager x y\n", "auto", REC_E_FORMAT,
        "cannot tell the format");
}
END_TEST

START_TEST(layout_options_only_for_delimited)
{
    const char *path = write_file("u.data", "1\t2\t3\t100\n");
    rec_params *o;
    rec_dataset *d = (rec_dataset *)1;
    rec_params_create(&o);
    rec_params_set_str(o, "columns", "item,user,rating,timestamp");
    ck_assert_int_eq(rec_dataset_load(&d, path, "auto", o), REC_E_INVALID);
    ck_assert_ptr_null(d);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "not to format movielens (detected)"));
    ck_assert_int_eq(rec_dataset_load(&d, path, "tsv", o), REC_OK);
    int32_t u;
    rec_dataset_row(d, 0, &u, NULL, NULL, NULL);
    const char *uid;
    rec_dataset_user_id(d, u, &uid);
    ck_assert_str_eq(uid, "2"); /* the columns were applied */
    rec_dataset_destroy(d);
    rec_params_destroy(o);
}
END_TEST

START_TEST(bad_arguments)
{
    rec_dataset *d = NULL;
    ck_assert_int_eq(rec_dataset_load(NULL, "x", NULL, NULL), REC_E_INVALID);
    ck_assert_int_eq(rec_dataset_load(&d, NULL, NULL, NULL), REC_E_INVALID);
    ck_assert_int_eq(rec_dataset_load(&d, "x", "xml", NULL), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "format 'xml'"));
    rec_params *o;
    rec_params_create(&o);
    rec_params_set_int(o, "colums", 3);
    ck_assert_int_eq(rec_dataset_load(&d, "x", NULL, o), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "unknown parameter 'colums'"));
    rec_params_destroy(o);
    ck_assert_ptr_null(d);
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    ck_assert_int_eq(rec_dataset_add(NULL, "u", "i", 1, 1), REC_E_INVALID);
    ck_assert_int_eq(rec_dataset_add(d, "", "i", 1, 1), REC_E_INVALID);
    ck_assert_int_eq(rec_dataset_add(d, "u", "i", 1, REC_NO_TIME), REC_OK);
    ck_assert_int_eq(rec_dataset_add(d, "u", "j", NAN, REC_NO_TIME), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "ratings"));
    ck_assert_int_eq(rec_dataset_add(d, "u", "j", 2, 5), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "timestamps"));
    int32_t x;
    const char *s;
    ck_assert_int_eq(rec_dataset_user_index(d, "nobody", &x), REC_E_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "unknown user id 'nobody'"));
    ck_assert_int_eq(rec_dataset_item_id(d, 1, &s), REC_E_RANGE);
    ck_assert_int_eq(rec_dataset_row(d, 1, NULL, NULL, NULL, NULL), REC_E_RANGE);
    rec_dataset *a, *b;
    ck_assert_int_eq(rec_dataset_split(d, "bogus", 0, 1, &a, &b), REC_E_INVALID);
    ck_assert_ptr_null(a);
    ck_assert_int_eq(rec_dataset_split(d, "holdout:1.5", 0, 1, &a, &b), REC_E_RANGE);
    ck_assert_int_eq(rec_dataset_split(d, "kfold:5", 5, 1, &a, &b), REC_E_RANGE);
    ck_assert_int_eq(rec_dataset_split(d, "time:5", 0, 1, &a, &b), REC_E_STATE);
    rec_dataset_destroy(d);
    rec_dataset_destroy(NULL);
}
END_TEST

START_TEST(id_round_trips)
{
    rec_dataset *d;
    rec_dataset_create(&d);
    char u[32], i[32];
    for (int k = 0; k < 5000; k++) {
        snprintf(u, sizeof u, "user-%d", k % 700);
        snprintf(i, sizeof i, "%d", (k * 7919) % 3001);
        ck_assert_int_eq(rec_dataset_add(d, u, i, NAN, k), REC_OK);
    }
    int32_t nu, ni;
    rec_dataset_num_users(d, &nu);
    rec_dataset_num_items(d, &ni);
    ck_assert_int_eq(nu, 700);
    ck_assert_int_eq(ni, 3001);
    for (int32_t k = 0; k < ni; k++) {
        const char *s;
        int32_t back;
        ck_assert_int_eq(rec_dataset_item_id(d, k, &s), REC_OK);
        ck_assert_int_eq(rec_dataset_item_index(d, s, &back), REC_OK);
        ck_assert_int_eq(back, k);
    }
    int32_t x;
    ck_assert_int_eq(rec_dataset_user_index(d, "user-0", &x), REC_OK);
    ck_assert_int_eq(x, 0);
    ck_assert_int_eq(rec_ds_user_find(d, "user-699", &x), REC_OK);
    ck_assert_str_eq(rec_ds_user_name(d, x), "user-699");
    ck_assert_ptr_null(rec_ds_user_name(d, 700));
    uint64_t h1, h2;
    rec_dataset_fingerprint(d, &h1);
    rec_dataset_add(d, "user-1", "0", NAN, 1);
    rec_dataset_fingerprint(d, &h2);
    ck_assert_uint_ne(h1, h2);
    rec_dataset_destroy(d);
}
END_TEST

/* 4 users x 5 rows with ties at the end for leave-last-out. */
static rec_dataset *small(void)
{
    rec_dataset *d;
    rec_dataset_create(&d);
    char u[16], i[16];
    for (int k = 0; k < 20; k++) {
        snprintf(u, sizeof u, "u%d", k % 4);
        snprintf(i, sizeof i, "i%d", k);
        /* timestamps: user's rows 0..4 at times 10,20,30,30,30 reversed-ish */
        int64_t t = (k / 4) < 2 ? 10 * (k / 4) : 30;
        rec_dataset_add(d, u, i, 1 + k % 5, t);
    }
    return d;
}

START_TEST(splits_last_and_valid)
{
    rec_dataset *d = small(), *tv, *te, *tr, *va;
    ck_assert_int_eq(rec_dataset_split(d, "last:1", 0, 0, &tv, &te), REC_OK);
    ck_assert_int_eq(rec_ds_num_rows(te), 4);
    ck_assert_int_eq(rec_ds_num_rows(tv), 16);
    /* tie at t=30: the row last in file order (i16..i19) is held out */
    for (int64_t r = 0; r < 4; r++) {
        int32_t i;
        rec_dataset_row(te, r, NULL, &i, NULL, NULL);
        ck_assert_int_eq(atoi(rec_ds_item_name(d, i) + 1), 16 + r);
    }
    ck_assert_ptr_eq(rec_ds_item_map(te), rec_ds_item_map(d));
    ck_assert_int_eq(rec_dataset_split(tv, "last:1", 0, 0, &tr, &va), REC_OK);
    ck_assert_int_eq(rec_ds_num_rows(va), 4);
    int32_t i;
    rec_dataset_row(va, 0, NULL, &i, NULL, NULL);
    ck_assert_str_eq(rec_ds_item_name(d, i), "i12");
    int32_t nu;
    rec_dataset_num_users(va, &nu);
    ck_assert_int_eq(nu, 4);
    rec_dataset_destroy(d); /* splits outlive their parent */
    ck_assert_str_eq(rec_ds_item_name(tr, 0), "i0");
    rec_dataset_destroy(tv);
    rec_dataset_destroy(te);
    rec_dataset_destroy(tr);
    rec_dataset_destroy(va);
}
END_TEST

static uint64_t rows_hash(const rec_dataset *d)
{
    return rec_ds_fingerprint(d);
}

/* cold-items:R / cold-users:R: a seeded share of the entities goes to test
 * with all its rows, so train and test share none of them. */
START_TEST(splits_cold)
{
    rec_dataset *d = tu_generate(60, 100, 10);
    for (int items = 0; items < 2; items++) {
        const char *how = items ? "cold-items:0.2" : "cold-users:0.2";
        rec_dataset *a, *b, *a2, *b2;
        ck_assert_int_eq(rec_dataset_split(d, how, 0, 7, &a, &b), REC_OK);
        ck_assert_int_eq(rec_ds_num_rows(a) + rec_ds_num_rows(b), rec_ds_num_rows(d));
        int32_t ne = items ? rec_ds_num_items(d) : rec_ds_num_users(d);
        unsigned char *in_train = calloc((size_t)ne, 1), *in_test = calloc((size_t)ne, 1);
        for (int64_t r = 0; r < rec_ds_num_rows(a); r++)
            in_train[items ? a->i[r] : a->u[r]] = 1;
        for (int64_t r = 0; r < rec_ds_num_rows(b); r++)
            in_test[items ? b->i[r] : b->u[r]] = 1;
        int32_t present = 0, cold = 0;
        for (int32_t e = 0; e < ne; e++) {
            ck_assert_msg(!(in_train[e] && in_test[e]), "%s: entity %d on both sides", how, e);
            present += in_train[e] || in_test[e];
            cold += in_test[e];
        }
        ck_assert_int_eq(cold, (int32_t)llround(0.2 * present));
        free(in_train);
        free(in_test);
        ck_assert_int_eq(rec_dataset_split(d, how, 0, 7, &a2, &b2), REC_OK);
        ck_assert_uint_eq(rows_hash(b), rows_hash(b2));
        rec_dataset_destroy(a2);
        rec_dataset_destroy(b2);
        rec_dataset_destroy(a);
        rec_dataset_destroy(b);
    }
    rec_dataset *a, *b;
    ck_assert_int_eq(rec_dataset_split(d, "cold-items:1", 0, 7, &a, &b), REC_E_RANGE);
    ck_assert_str_eq(rec_last_error(), "rec_dataset_split: ratio 1 outside (0, 1)");
    ck_assert_int_eq(rec_dataset_split(d, "cold-item:0.2", 0, 7, &a, &b), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "cold-items:R or cold-users:R"));
    rec_dataset_destroy(d);
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    ck_assert_int_eq(rec_dataset_add(d, "u", "only", 1, REC_NO_TIME), REC_OK);
    ck_assert_int_eq(rec_dataset_split(d, "cold-items:0.5", 0, 7, &a, &b), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(),
                     "rec_dataset_split: cold-items split needs at least 2 items with rows");
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(splits_random_kfold_time)
{
    rec_params *o;
    rec_params_create(&o);
    rec_params_set_int(o, "users", 60);
    rec_params_set_int(o, "items", 100);
    rec_params_set_int(o, "interactions-per-user", 10);
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_generate(&d, o), REC_OK);
    rec_params_destroy(o);
    int64_t n = rec_ds_num_rows(d);
    rec_dataset *a, *b, *a2, *b2;
    ck_assert_int_eq(rec_dataset_split(d, "holdout:0.25", 0, 7, &a, &b), REC_OK);
    ck_assert_int_eq(rec_ds_num_rows(b), llround(0.25 * (double)n));
    ck_assert_int_eq(rec_ds_num_rows(a) + rec_ds_num_rows(b), n);
    ck_assert_int_eq(rec_dataset_split(d, "holdout:0.25", 0, 7, &a2, &b2), REC_OK);
    ck_assert_uint_eq(rows_hash(b), rows_hash(b2));
    rec_dataset_destroy(a2);
    rec_dataset_destroy(b2);
    ck_assert_int_eq(rec_dataset_split(d, "holdout:0.25", 0, 8, &a2, &b2), REC_OK);
    ck_assert_uint_ne(rows_hash(b), rows_hash(b2));
    rec_dataset_destroy(a2);
    rec_dataset_destroy(b2);
    rec_dataset_destroy(a);
    rec_dataset_destroy(b);
    /* k-fold: the folds partition the rows (each row in exactly one test fold) */
    int *hits = calloc((size_t)n, sizeof *hits);
    int64_t total = 0;
    for (int f = 0; f < 3; f++) {
        ck_assert_int_eq(rec_dataset_split(d, "kfold:3", f, 5, &a, &b), REC_OK);
        int64_t nb = rec_ds_num_rows(b);
        ck_assert_int_eq(nb, n / 3 + (f < n % 3));
        ck_assert_int_eq(rec_ds_num_rows(a) + nb, n);
        /* rows are unique (user, item) pairs in generated data: find them back */
        for (int64_t r = 0; r < nb; r++) {
            int64_t t = rec_ds_times_col(b)[r];
            int32_t u = rec_ds_users_col(b)[r];
            for (int64_t q = 0; q < n; q++)
                if (rec_ds_times_col(d)[q] == t && rec_ds_users_col(d)[q] == u)
                    hits[q]++;
        }
        total += nb;
        rec_dataset_destroy(a);
        rec_dataset_destroy(b);
    }
    ck_assert_int_eq(total, n);
    for (int64_t q = 0; q < n; q++)
        ck_assert_int_eq(hits[q], 1);
    free(hits);
    /* per-user ratio: ceil(0.8 m) rows of each user stay */
    ck_assert_int_eq(rec_dataset_split(d, "user:0.2", 0, 3, &a, &b), REC_OK);
    const int64_t *pa, *pd;
    rec_ds_user_csr(a, &pa, NULL, NULL);
    rec_ds_user_csr(d, &pd, NULL, NULL);
    for (int32_t u = 0; u < rec_ds_num_users(d); u++) {
        int64_t m = pd[u + 1] - pd[u];
        ck_assert_int_eq(pa[u + 1] - pa[u], (int64_t)ceil(0.8 * (double)m - 1e-9));
    }
    rec_dataset_destroy(a);
    rec_dataset_destroy(b);
    /* time cut-off: every train row before, every test row at or after */
    const int64_t *t = rec_ds_times_col(d);
    int64_t cut = t[n / 2];
    char how[64];
    snprintf(how, sizeof how, "time:%lld", (long long)cut);
    ck_assert_int_eq(rec_dataset_split(d, how, 0, 0, &a, &b), REC_OK);
    for (int64_t r = 0; r < rec_ds_num_rows(a); r++)
        ck_assert_int_lt(rec_ds_times_col(a)[r], cut);
    for (int64_t r = 0; r < rec_ds_num_rows(b); r++)
        ck_assert_int_ge(rec_ds_times_col(b)[r], cut);
    ck_assert_int_eq(rec_ds_num_rows(a) + rec_ds_num_rows(b), n);
    rec_dataset_destroy(a);
    rec_dataset_destroy(b);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(generator_deterministic_and_learnable)
{
    rec_dataset *d1, *d2, *d3;
    ck_assert_int_eq(rec_dataset_generate(&d1, NULL), REC_OK);
    ck_assert_int_eq(rec_dataset_generate(&d2, NULL), REC_OK);
    rec_params *o;
    rec_params_create(&o);
    rec_params_set_int(o, "seed", 43);
    ck_assert_int_eq(rec_dataset_generate(&d3, o), REC_OK);
    ck_assert_uint_eq(rec_ds_fingerprint(d1), rec_ds_fingerprint(d2));
    ck_assert_uint_ne(rec_ds_fingerprint(d1), rec_ds_fingerprint(d3));
    ck_assert_int_eq(rec_ds_num_users(d1), 500);
    ck_assert_int_eq(rec_ds_num_items(d1), 800);
    ck_assert_str_eq(rec_ds_item_text(d1, 5, "title"), rec_ds_item_text(d2, 5, "title"));
    ck_assert_int_gt(strlen(rec_ds_item_text(d1, 5, "description")), 20);
    /* Taste: a user's top-2 genres hold far more than 2/12 of the actions. */
    const rec_field *g = rec_ds_field(d1, REC_SIDE_ITEM, "genres");
    ck_assert_ptr_nonnull(g);
    int32_t ng = rec_ds_field_vocab_size(g);
    ck_assert_int_eq(ng, 12);
    const int64_t *ptr;
    const int32_t *items;
    rec_ds_user_csr(d1, &ptr, &items, NULL);
    double share = 0, follow = 0, steps = 0;
    for (int32_t u = 0; u < 500; u++) {
        int cnt[12] = { 0 };
        for (int64_t k = ptr[u]; k < ptr[u + 1]; k++)
            cnt[g->vals[g->ptr[items[k]]]]++;
        int b1 = 0, b2 = 0;
        for (int x = 0; x < 12; x++)
            if (cnt[x] > b1) {
                b2 = b1;
                b1 = cnt[x];
            } else if (cnt[x] > b2) {
                b2 = cnt[x];
            }
        share += (double)(b1 + b2) / (double)(ptr[u + 1] - ptr[u]);
        /* Sequential structure: same primary genre as the previous action. */
        for (int64_t k = ptr[u] + 1; k < ptr[u + 1]; k++) {
            follow += g->vals[g->ptr[items[k]]] == g->vals[g->ptr[items[k - 1]]];
            steps++;
        }
    }
    share /= 500;
    ck_assert_double_gt(share, 0.6); /* chance: 2/12 */
    ck_assert_double_gt(follow / steps, 0.5);
    /* Popularity skew: the top 10% of items take a large share of actions. */
    const int64_t *iptr;
    rec_ds_item_csr(d1, &iptr, NULL, NULL);
    int64_t *c = malloc(800 * sizeof *c);
    for (int i = 0; i < 800; i++)
        c[i] = iptr[i + 1] - iptr[i];
    int64_t top = 0, all = rec_ds_num_rows(d1);
    for (int rep = 0; rep < 80; rep++) {
        int best = 0;
        for (int i = 1; i < 800; i++)
            best = c[i] > c[best] ? i : best;
        top += c[best];
        c[best] = -1;
    }
    free(c);
    ck_assert_double_gt((double)top / (double)all, 0.2); /* chance: 0.1 */
    rec_params_set_int(o, "genres", 1);
    rec_dataset *bad = NULL;
    ck_assert_int_eq(rec_dataset_generate(&bad, o), REC_E_RANGE);
    ck_assert_ptr_null(bad);
    rec_params_destroy(o);
    rec_dataset_destroy(d1);
    rec_dataset_destroy(d2);
    rec_dataset_destroy(d3);
}
END_TEST

/* The share of d's rows whose item's primary genre is favoured at the row's
 * time:hour and time:weekday, as the generator's context key favours them
 * (the day part hour/6 is genre mod 4 on weekdays, two parts later at
 * weekends), over all rows (weekend 0), or over weekend rows read with
 * (weekend 1) or without (weekend 2) the weekend shift. */
static double context_share(const rec_dataset *d, int weekend)
{
    static const char *const names[12] = { "Action", "Comedy", "Drama", "Horror",
                                           "Romance", "Sci-Fi", "Thriller", "Documentary",
                                           "Animation", "Fantasy", "Mystery", "Western" };
    const rec_field *g = rec_ds_field(d, REC_SIDE_ITEM, "genres");
    ck_assert_ptr_nonnull(g);
    int64_t hit = 0, all = 0;
    for (int64_t r = 0; r < rec_ds_num_rows(d); r++) {
        int32_t i;
        const char *hour, *day;
        ck_assert_int_eq(rec_dataset_row(d, r, NULL, &i, NULL, NULL), REC_OK);
        ck_assert_int_eq(rec_dataset_context_value(d, r, "time:hour", &hour), REC_OK);
        ck_assert_int_eq(rec_dataset_context_value(d, r, "time:weekday", &day), REC_OK);
        int we = atoi(day) >= 5;
        if (weekend && !we)
            continue;
        const char *name = rec_idmap_name(g->vocab, g->vals[g->ptr[i]]);
        int k = 0;
        while (k < 12 && strcmp(names[k], name))
            k++;
        ck_assert_int_lt(k, 12);
        hit += (k + 2 * (weekend != 2 && we)) % 4 == atoi(hour) / 6;
        all++;
    }
    ck_assert_int_gt(all, 1000);
    return (double)hit / (double)all;
}

/* context=0, the default, draws nothing more: the rows of before the key
 * (hard-coded from that build), for every other key too; context=0.8 puts
 * most sessions in their genre's day part, the weekday included. */
START_TEST(generator_context_effect)
{
    rec_dataset *d0, *dz, *dc, *dc2;
    rec_params *o;
    rec_params_create(&o);
    ck_assert_int_eq(rec_dataset_generate(&d0, NULL), REC_OK);
    rec_params_set_float(o, "context", 0);
    ck_assert_int_eq(rec_dataset_generate(&dz, o), REC_OK);
    ck_assert_int_eq(rec_ds_num_rows(d0), 22953);
    ck_assert_int_eq(rec_ds_num_rows(dz), 22953);
    ck_assert_uint_eq(rec_ds_fingerprint(d0), 0xfbb74e08d1a12de4ULL);
    for (int64_t r = 0; r < 22953; r++) {
        int32_t u0, i0, u1, i1;
        double x0, x1;
        int64_t t0, t1;
        ck_assert_int_eq(rec_dataset_row(d0, r, &u0, &i0, &x0, &t0), REC_OK);
        ck_assert_int_eq(rec_dataset_row(dz, r, &u1, &i1, &x1, &t1), REC_OK);
        ck_assert(u0 == u1 && i0 == i1 && x0 == x1 && t0 == t1);
    }
    expect_row(d0, 0, "u1", "i561", 4, 1516784427);
    expect_row(d0, 1000, "u17", "i64", 2, 1528905885);
    expect_row(d0, 10000, "u209", "i115", 4, 1505485484);
    expect_row(d0, 22952, "u500", "i640", 3, 1516347907);
    rec_dataset *d4;
    rec_params_set_int(o, "interests", 4);
    ck_assert_int_eq(rec_dataset_generate(&d4, o), REC_OK);
    ck_assert_uint_eq(rec_ds_fingerprint(d4), 0xd5d2a848ed997564ULL);
    rec_dataset_destroy(d4);
    rec_params_destroy(o);
    rec_params_create(&o);
    rec_params_set_float(o, "context", 0.8);
    ck_assert_int_eq(rec_dataset_generate(&dc, o), REC_OK);
    ck_assert_int_eq(rec_dataset_generate(&dc2, o), REC_OK);
    ck_assert_uint_eq(rec_ds_fingerprint(dc), rec_ds_fingerprint(dc2));
    ck_assert_uint_ne(rec_ds_fingerprint(dc), rec_ds_fingerprint(d0));
    /* 3 of the 12 genres are favoured at any time: chance is 1/4 */
    double s0 = context_share(d0, 0), sc = context_share(dc, 0);
    ck_assert_double_lt(s0, 0.3);
    ck_assert_double_gt(sc, 0.65);
    /* at weekends the favoured part shifts; read without the shift the
     * weekend rows look like no effect */
    ck_assert_double_gt(context_share(dc, 1), 0.65);
    ck_assert_double_lt(context_share(dc, 2), 0.3);
    ck_assert_double_lt(context_share(d0, 1), 0.3);
    /* With 2 genres and context=1 a weekday night is Action's alone (genre
     * 0's part), while no genre is favoured on weekday afternoons and
     * evenings: those sessions keep the plain tastes (Action: about half). */
    rec_dataset *few;
    rec_params_set_int(o, "genres", 2);
    rec_params_set_float(o, "context", 1);
    ck_assert_int_eq(rec_dataset_generate(&few, o), REC_OK);
    const rec_field *g = rec_ds_field(few, REC_SIDE_ITEM, "genres");
    int64_t act[2] = { 0, 0 }, all[2] = { 0, 0 };
    for (int64_t r = 0; r < rec_ds_num_rows(few); r++) {
        int32_t i;
        const char *hour, *day;
        rec_dataset_row(few, r, NULL, &i, NULL, NULL);
        rec_dataset_context_value(few, r, "time:hour", &hour);
        rec_dataset_context_value(few, r, "time:weekday", &day);
        int part = atoi(hour) / 6;
        if (atoi(day) >= 5 || part == 1)
            continue;
        int late = part >= 2;
        act[late] += !strcmp(rec_idmap_name(g->vocab, g->vals[g->ptr[i]]), "Action");
        all[late]++;
    }
    ck_assert_double_gt((double)act[0] / (double)all[0], 0.9);
    ck_assert_double_gt((double)act[1] / (double)all[1], 0.3);
    ck_assert_double_lt((double)act[1] / (double)all[1], 0.7);
    rec_dataset_destroy(few);
    rec_params_destroy(o);
    double bad[2] = { 1.5, -0.1 };
    for (int k = 0; k < 2; k++) {
        rec_dataset *none = (rec_dataset *)1;
        rec_params_create(&o);
        rec_params_set_float(o, "context", bad[k]);
        tu_err_has(rec_dataset_generate(&none, o), REC_E_RANGE, "'context'");
        ck_assert_ptr_null(none);
        rec_params_destroy(o);
    }
    rec_dataset_destroy(d0);
    rec_dataset_destroy(dz);
    rec_dataset_destroy(dc);
    rec_dataset_destroy(dc2);
}
END_TEST

START_TEST(features_set_normalize_cross)
{
    rec_dataset *d;
    rec_dataset_create(&d);
    rec_dataset_add(d, "u", "a", NAN, REC_NO_TIME);
    rec_dataset_add(d, "u", "b", NAN, REC_NO_TIME);
    rec_dataset_add(d, "u", "c", NAN, REC_NO_TIME);
    int kp, kg, kc, kt;
    ck_assert_int_eq(rec_dataset_add_field(d, REC_SIDE_ITEM, "price", REC_FEATURE_NUMERIC, &kp),
                     REC_OK);
    ck_assert_int_eq(rec_dataset_add_field(d, REC_SIDE_ITEM, "genres", REC_FEATURE_MULTIHOT,
                                           &kg), REC_OK);
    ck_assert_int_eq(rec_dataset_add_field(d, REC_SIDE_ITEM, "color",
                                           REC_FEATURE_CATEGORICAL, &kc), REC_OK);
    ck_assert_int_eq(rec_dataset_add_field(d, REC_SIDE_ITEM, "desc", REC_FEATURE_TEXT, &kt),
                     REC_OK);
    ck_assert_int_eq(rec_dataset_add_field(d, REC_SIDE_ITEM, "price", REC_FEATURE_TEXT, NULL),
                     REC_E_INVALID);
    ck_assert_int_eq(rec_dataset_set_feature(d, REC_SIDE_ITEM, "price", "a", "1", 0), REC_OK);
    ck_assert_int_eq(rec_dataset_set_feature(d, REC_SIDE_ITEM, "price", "b", "3", 0), REC_OK);
    ck_assert_int_eq(rec_dataset_set_feature(d, REC_SIDE_ITEM, "price", "c", "e", 0),
                     REC_E_INVALID);
    ck_assert_int_eq(rec_dataset_set_feature(d, REC_SIDE_ITEM, "price", "zz", "1", 0),
                     REC_E_NOTFOUND);
    rec_dataset_set_feature(d, REC_SIDE_ITEM, "genres", "a", "x|y", 0);
    rec_dataset_set_feature(d, REC_SIDE_ITEM, "genres", "b", "y", 0);
    rec_dataset_set_feature(d, REC_SIDE_ITEM, "color", "a", "red", 0);
    rec_dataset_set_feature(d, REC_SIDE_ITEM, "color", "b", "blue", 0);
    rec_dataset_set_feature(d, REC_SIDE_ITEM, "desc", "a", "hello", 0);
    rec_dataset_set_feature(d, REC_SIDE_ITEM, "desc", "a", "world", 0);
    double v;
    rec_dataset_feature_number(d, REC_SIDE_ITEM, kp, 1, &v);
    ck_assert_double_eq(v, 3);
    rec_dataset_feature_number(d, REC_SIDE_ITEM, kp, 2, &v);
    ck_assert(isnan(v));
    ck_assert_int_eq(rec_dataset_normalize(d, REC_SIDE_ITEM, "price", "minmax"), REC_OK);
    rec_dataset_feature_number(d, REC_SIDE_ITEM, kp, 1, &v);
    ck_assert_double_eq(v, 1);
    rec_dataset_normalize(d, REC_SIDE_ITEM, "price", "zscore");
    rec_dataset_feature_number(d, REC_SIDE_ITEM, kp, 0, &v);
    ck_assert_double_eq_tol(v, -1, 1e-12);
    rec_dataset_normalize(d, REC_SIDE_ITEM, "price", "log1p");
    rec_dataset_feature_number(d, REC_SIDE_ITEM, kp, 1, &v);
    ck_assert_double_eq_tol(v, log(4.0), 1e-12);
    ck_assert_int_eq(rec_dataset_normalize(d, REC_SIDE_ITEM, "price", "cube"), REC_E_INVALID);
    ck_assert_int_eq(rec_dataset_normalize(d, REC_SIDE_ITEM, "color", "zscore"), REC_E_INVALID);
    const char *s;
    rec_dataset_feature_text(d, REC_SIDE_ITEM, kt, 0, &s);
    ck_assert_str_eq(s, "hello world");
    rec_dataset_feature_text(d, REC_SIDE_ITEM, kt, 2, &s);
    ck_assert_str_eq(s, "");
    const int32_t *codes;
    int32_t n;
    rec_dataset_feature_codes(d, REC_SIDE_ITEM, kg, 0, &codes, &n);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(rec_dataset_feature_code(d, REC_SIDE_ITEM, kg, 0, &n), REC_E_INVALID);
    /* crosses: color x genres, and a numeric bucket x field */
    int kx, kb;
    ck_assert_int_eq(rec_dataset_cross(d, REC_SIDE_ITEM, "color", "genres", 0, &kx), REC_OK);
    rec_dataset_feature_codes(d, REC_SIDE_ITEM, kx, 0, &codes, &n);
    ck_assert_int_eq(n, 2);
    const char *name;
    rec_dataset_field_value_name(d, REC_SIDE_ITEM, kx, codes[1], &name);
    ck_assert_str_eq(name, "red x y");
    ck_assert_int_eq(rec_dataset_cross(d, REC_SIDE_ITEM, "price", "color", 1, NULL),
                     REC_E_RANGE);
    ck_assert_int_eq(rec_dataset_cross(d, REC_SIDE_ITEM, "price", "color", 2, &kb), REC_OK);
    rec_dataset_feature_codes(d, REC_SIDE_ITEM, kb, 1, &codes, &n);
    ck_assert_int_eq(n, 1);
    rec_dataset_field_value_name(d, REC_SIDE_ITEM, kb, codes[0], &name);
    ck_assert_str_eq(name, "price:q1 x blue");
    rec_dataset_feature_codes(d, REC_SIDE_ITEM, kb, 2, &codes, &n);
    ck_assert_int_eq(n, 0);
    /* features are shared with splits and frozen there */
    rec_dataset *a, *b;
    rec_dataset_split(d, "holdout:0.5", 0, 1, &a, &b);
    ck_assert_ptr_eq(rec_ds_field(a, REC_SIDE_ITEM, "desc"), rec_ds_field(d, REC_SIDE_ITEM, "desc"));
    ck_assert_int_eq(rec_dataset_set_feature(d, REC_SIDE_ITEM, "desc", "b", "x", 0), REC_E_STATE);
    rec_dataset_destroy(a);
    rec_dataset_destroy(b);
    ck_assert_int_eq(rec_dataset_set_feature(d, REC_SIDE_ITEM, "desc", "b", "x", 0), REC_OK);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(out_of_memory_everywhere)
{
    const char *dir = subdir("oom");
    const char *p = in_dir(dir, "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,5\n"
                                               "1,2,3.5,6\n2,2,1,7\n");
    in_dir(dir, "movies.csv", "movieId,title,genres\n1,A (1995),Comedy|Drama\n2,B,Action\n");
    in_dir(dir, "tags.csv", "userId,movieId,tag,timestamp\n1,1,fun,7\n");
    /* Count the allocations of a good load, then fail each one in turn. */
    tu_alloc_install();
    rec_dataset *d = NULL;
    ck_assert_int_eq(rec_dataset_load(&d, p, "auto", NULL), REC_OK);
    rec_dataset *a, *b;
    ck_assert_int_eq(rec_dataset_split(d, "last:1", 0, 0, &a, &b), REC_OK);
    rec_dataset_destroy(a);
    rec_dataset_destroy(b);
    rec_dataset_destroy(d);
    long total = tu_alloc_count();
    ck_assert_int_eq(tu_alloc_live(), 0);
    tu_alloc_remove();
    ck_assert_int_gt(total, 10);
    for (long k = 1; k <= total; k++) {
        tu_alloc_install();
        tu_alloc_fail_at(k);
        d = NULL;
        rec_status st = rec_dataset_load(&d, p, "auto", NULL);
        if (st == REC_OK) {
            st = rec_dataset_split(d, "last:1", 0, 0, &a, &b);
            if (st == REC_OK) {
                rec_dataset_destroy(a);
                rec_dataset_destroy(b);
            } else {
                ck_assert_ptr_null(a);
            }
            rec_dataset_destroy(d);
        } else {
            ck_assert_ptr_null(d);
        }
        ck_assert_msg(st == REC_OK || st == REC_E_NOMEM, "fail at %ld: %d %s", k, st,
                      rec_last_error());
        if (st)
            ck_assert_ptr_nonnull(strstr(rec_last_error(), "out of memory"));
        long long live = tu_alloc_live();
        tu_alloc_remove();
        ck_assert_msg(live == 0, "fail at %ld: %lld bytes leaked", k, live);
    }
    /* the generator too (small) */
    rec_params *o;
    rec_params_create(&o);
    rec_params_set_int(o, "users", 5);
    rec_params_set_int(o, "items", 20);
    rec_params_set_int(o, "interactions-per-user", 5);
    tu_alloc_install();
    ck_assert_int_eq(rec_dataset_generate(&d, o), REC_OK);
    rec_dataset_destroy(d);
    total = tu_alloc_count();
    tu_alloc_remove();
    for (long k = 1; k <= total; k++) {
        tu_alloc_install();
        tu_alloc_fail_at(k);
        d = NULL;
        rec_status st = rec_dataset_generate(&d, o);
        rec_dataset_destroy(d);
        long long live = tu_alloc_live();
        tu_alloc_remove();
        ck_assert_msg(st == REC_E_NOMEM, "generate fail at %ld: %d", k, st);
        ck_assert_msg(live == 0, "generate fail at %ld: %lld bytes leaked", k, live);
    }
    rec_params_destroy(o);
}
END_TEST

/* ---- data is never misread silently ---------------------------------------- */

/* path with exactly n bytes of text (which may hold NUL bytes). */
static const char *write_bytes(const char *name, const char *text, size_t n)
{
    const char *p = write_file(name, "");
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(text, 1, n, f);
    fclose(f);
    return p;
}

static void expect_summary(const rec_dataset *d, const char *want)
{
    char line[512];
    ck_assert_int_eq(rec_dataset_summary(d, line, sizeof line), REC_OK);
    ck_assert_str_eq(line, want);
}

START_TEST(ratings_beyond_float_are_refused)
{
    /* 1e39 is a finite double but +inf as a float. */
    bad("f1.csv", "1,2,3\n1,3,1e39\n", "csv", REC_E_FORMAT,
        "line 2, column 5: rating '1e39' is too large for a float");
    bad("f2.data", "1\t2\t3\t7\n1\t3\t-4e38\t8\n", "movielens", REC_E_FORMAT,
        "line 2, column 5: rating '-4e38' is too large");
    rec_dataset *d = load_ok(write_file("f3.csv", "1,2,3e38\n"), "csv", NULL);
    rec_dataset_destroy(d);
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    ck_assert_int_eq(rec_dataset_add(d, "u", "i", 1e39, REC_NO_TIME), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "rec_dataset_add: rating 1e+39 is not a "
                                                   "finite float"));
    ck_assert_int_eq(rec_dataset_add(d, "u", "i", -1e39, REC_NO_TIME), REC_E_INVALID);
    ck_assert_int_eq(rec_dataset_add(d, "u", "i", 3e38, REC_NO_TIME), REC_OK);
    int64_t n;
    rec_dataset_num_interactions(d, &n);
    ck_assert_int_eq(n, 1);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(ratings_are_decimal_only)
{
    bad("x1.csv", "1,2,3\n1,3,0x10\n", "csv", REC_E_FORMAT,
        "line 2, column 5: rating '0x10' is not a number");
    bad("x2.csv", "1,2,3\n1,3,inf\n", "csv", REC_E_FORMAT, "line 2, column 5: rating 'inf'");
    bad("x3.csv", "1,2,3\n1,3,nan\n", "csv", REC_E_FORMAT, "line 2, column 5: rating 'nan'");
    bad("x4.csv", "1,2,3\n1,3,Infinity\n", "csv", REC_E_FORMAT, "rating 'Infinity'");
    bad("x5.csv", "1,2,3\n1,3,1e\n", "csv", REC_E_FORMAT, "rating '1e'");
    bad("x6.csv", "1,2,3\n1,3,.\n", "csv", REC_E_FORMAT, "rating '.'");
    /* what decimals may look like */
    rec_dataset *d = load_ok(write_file("x7.csv", "1,2,-.5\n1,3,+2.\n1,4,25e-1\n1,5, 4.25 \n"
                                                  "1,6,1234567890123456789.5\n"),
                             "csv", NULL);
    expect_row(d, 0, "1", "2", -0.5, REC_NO_TIME);
    expect_row(d, 1, "1", "3", 2, REC_NO_TIME);
    expect_row(d, 2, "1", "4", 2.5, REC_NO_TIME);
    expect_row(d, 3, "1", "5", 4.25, REC_NO_TIME);
    double r;
    rec_dataset_row(d, 4, NULL, NULL, &r, NULL);
    ck_assert_double_eq_tol(r, 1234567890123456789.5, 1e12);
    rec_dataset_destroy(d);
    /* side-file numbers too: rec_dataset_set_feature */
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    ck_assert_int_eq(rec_dataset_add(d, "u", "i", 1, REC_NO_TIME), REC_OK);
    ck_assert_int_eq(rec_dataset_add_field(d, REC_SIDE_ITEM, "year", REC_FEATURE_NUMERIC, NULL),
                     REC_OK);
    ck_assert_int_eq(rec_dataset_set_feature(d, REC_SIDE_ITEM, "year", "i", "0x7d0", 0),
                     REC_E_INVALID);
    ck_assert_int_eq(rec_dataset_set_feature(d, REC_SIDE_ITEM, "year", "i", "1e39", 0),
                     REC_E_INVALID);
    ck_assert_int_eq(rec_dataset_set_feature(d, REC_SIDE_ITEM, "year", "i", "2000", 0), REC_OK);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(nul_bytes_in_ids_are_refused)
{
    const char *p = write_bytes("n1.csv", "1,2,3\n1,ab\0c,3\n", 15);
    rec_dataset *d = (rec_dataset *)1;
    ck_assert_int_eq(rec_dataset_load(&d, p, "csv", NULL), REC_E_FORMAT);
    ck_assert_ptr_null(d);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "n1.csv: line 2, column 5: NUL byte"));
    p = write_bytes("n2.csv", "1\0,2,3\n", 7);
    ck_assert_int_eq(rec_dataset_load(&d, p, "csv", NULL), REC_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "line 1, column 2: NUL byte"));
    /* a NUL would otherwise end "4" early and the rating read as 4 */
    p = write_bytes("n3.csv", "1,2,4\0x\n", 8);
    ck_assert_int_eq(rec_dataset_load(&d, p, "csv", NULL), REC_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "line 1, column 6: NUL byte"));
    p = write_bytes("train.txt", "0 1 2\n1 2 x\0y\n", 14);
    ck_assert_int_eq(rec_dataset_load(&d, p, "lightgcn", NULL), REC_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "line 2, column 6: NUL byte"));
    ck_assert_ptr_null(d);
}
END_TEST

START_TEST(a_bad_first_line_is_an_error_not_a_header)
{
    bad("h1.csv", "1,31,NA\n2,31,4\n3,32,5\n", "csv", REC_E_FORMAT,
        "line 1, column 6: rating 'NA' is not a number (line 1 is data, not a header");
    bad("h2.csv", "1,31,4.0abc\n2,31,4\n", "auto", REC_E_FORMAT,
        "line 1, column 6: rating '4.0abc' is not a number");
    bad("h3.csv", "1,31,4,x\n2,31,4,5\n", "csv", REC_E_FORMAT,
        "line 1, column 8: timestamp 'x' is not an integer or an ISO-8601 date");
    /* headers: words over integer ids, or column names over word ids */
    rec_dataset *d = load_ok(write_file("h4.csv", "uid,iid,r\n1,31,4\n2,31,5\n"), "csv", NULL);
    expect_row(d, 0, "1", "31", 4, REC_NO_TIME);
    expect_summary(d, "2 users, 1 items, 2 interactions, ratings 4 to 5, no timestamps, "
                      "format csv (named), header skipped");
    rec_dataset_destroy(d);
    d = load_ok(write_file("h5.csv", "user,item\nalice,x\nbob,y\n"), "csv", NULL);
    expect_row(d, 0, "alice", "x", NAN, REC_NO_TIME);
    rec_dataset_destroy(d);
    /* a quoted header over quoted integer ids */
    d = load_ok(write_file("h6.csv", "\"a\",\"b\"\n\"1\",\"2\"\n"), "csv", NULL);
    expect_row(d, 0, "1", "2", NAN, REC_NO_TIME);
    rec_dataset_destroy(d);
    /* header=yes still skips a first line of data-like text */
    rec_params *o;
    rec_params_create(&o);
    rec_params_set_str(o, "header", "yes");
    d = load_ok(write_file("h7.csv", "1,31,NA\n2,31,4\n"), "csv", o);
    expect_row(d, 0, "2", "31", 4, REC_NO_TIME);
    rec_dataset_destroy(d);
    rec_params_destroy(o);
}
END_TEST

START_TEST(dcolon_files_of_two_to_four_fields)
{
    rec_dataset *d = load_ok(write_file("ratings.dat", "1::10\n2::11\n"), "auto", NULL);
    expect_row(d, 1, "2", "11", NAN, REC_NO_TIME);
    expect_summary(d, "2 users, 2 items, 2 interactions, no ratings, no timestamps, "
                      "format csv (detected), no header");
    rec_dataset_destroy(d);
    d = load_ok(write_file("ratings.dat", "1::10::4\n2::11::3\n"), "auto", NULL);
    expect_row(d, 1, "2", "11", 3, REC_NO_TIME);
    rec_dataset_destroy(d);
    d = load_ok(write_file("ratings.dat", "1::10::4::978300760\n"), "auto", NULL);
    expect_row(d, 0, "1", "10", 4, 978300760);
    expect_summary(d, "1 users, 1 items, 1 interactions, ratings 4 to 4, timestamps "
                      "978300760 to 978300760 (2000-12-31 to 2000-12-31), format movielens "
                      "(detected), no header");
    rec_dataset_destroy(d);
    /* pairs and movielens name the layout the file lacks, not a columns option */
    bad("ratings.dat", "1::10\n2::11\n", "pairs", REC_E_FORMAT,
        "line 1, column 2: format pairs is 'user item' separated by blanks; this line is "
        "'::'-separated");
    ck_assert_ptr_null(strstr(rec_last_error(), "columns option"));
    bad("ratings.dat", "1::10\n2::11\n", "movielens", REC_E_FORMAT,
        "line 1, column 1: expected 4 columns (user,item,rating,timestamp), got 2");
}
END_TEST

START_TEST(epoch_ratings_and_iso_timestamps)
{
    bad("e1.csv", "1,2,964982703\n1,3,964982704\n", "auto", REC_E_FORMAT,
        "line 1, column 5: rating '964982703' looks like a Unix timestamp, not a rating; name "
        "the columns, e.g. columns=user,item,timestamp");
    bad("e2.csv", "1,2,964982703,x\n", "csv", REC_E_FORMAT,
        "e.g. columns=user,item,timestamp,- (librec --columns user,item,timestamp,-)");
    rec_params *o;
    rec_params_create(&o);
    rec_params_set_str(o, "columns", "user,item,timestamp");
    rec_dataset *d = load_ok(write_file("e3.csv", "1,2,964982703\n"), "csv", o);
    expect_row(d, 0, "1", "2", NAN, 964982703);
    rec_dataset_destroy(d);
    rec_params_destroy(o);
    /* a header that names the column a rating is believed */
    d = load_ok(write_file("e4.csv", "user,item,rating\n1,2,964982703\n"), "csv", NULL);
    double r;
    rec_dataset_row(d, 0, NULL, NULL, &r, NULL);
    ck_assert_double_eq(r, (float)964982703);
    rec_dataset_destroy(d);
    /* ISO-8601 dates and date-times (UTC unless an offset says otherwise) */
    d = load_ok(write_file("e5.csv", "1,2,4,2018-09-24\n1,3,4,2018-09-24T10:00:00Z\n"
                                     "1,4,4,2018-09-24 10:00:30.25+02:00\n"
                                     "1,5,4,2000-02-29T23:59\n1,6,4,1969-12-31T23:59:59-0100\n"),
                 "csv", NULL);
    expect_row(d, 0, "1", "2", 4, 1537747200);
    expect_row(d, 1, "1", "3", 4, 1537783200);
    expect_row(d, 2, "1", "4", 4, 1537776030);
    expect_row(d, 3, "1", "5", 4, 951868740);
    expect_row(d, 4, "1", "6", 4, 3599);
    rec_dataset_destroy(d);
    bad("e6.csv", "1,2,4,2018-09-24\n1,3,4,2018-02-29\n", "csv", REC_E_FORMAT,
        "line 2, column 7: timestamp '2018-02-29' is not an integer or an ISO-8601 date");
    bad("e7.csv", "1,2,4,2018-09-24\n1,3,4,2018-09-24T24:00\n", "csv", REC_E_FORMAT,
        "line 2, column 7: timestamp");
    bad("e8.csv", "1,2,4,2018-09-24\n1,3,4,2018-9-24\n", "csv", REC_E_FORMAT,
        "line 2, column 7: timestamp");
}
END_TEST

START_TEST(unnamed_columns_are_reported)
{
    /* goodbooks' tags.csv: nothing in it is a user or an item */
    rec_dataset *d = load_ok(write_file("tags.csv", "tag_id,tag_name\n0,-\n1,--1-\n"), "auto",
                             NULL);
    const char *w;
    ck_assert_int_eq(rec_dataset_warnings(d, &w), REC_OK);
    char want[600];
    snprintf(want, sizeof want, "%s: the header names no user and item columns; took column 1 "
                                "'tag_id' as user, column 2 'tag_name' as item (set columns to "
                                "choose)\n", tu_tmp_path("tags.csv"));
    ck_assert_str_eq(w, want);
    rec_dataset_destroy(d);
    d = load_ok(write_file("named.csv", "user_id,item_id,rating\n1,2,3\n"), "auto", NULL);
    ck_assert_int_eq(rec_dataset_warnings(d, &w), REC_OK);
    ck_assert_str_eq(w, "");
    rec_dataset_destroy(d);
    d = load_ok(write_file("pos.csv", "a,b,score\n1,2,3\n"), "auto", NULL);
    rec_dataset_warnings(d, &w);
    ck_assert_ptr_nonnull(strstr(w, "took column 1 'a' as user, column 2 'b' as item, "
                                    "column 3 'score' as rating"));
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(summary_says_what_was_read)
{
    rec_dataset *d = load_ok(write_file("seq.txt", "1 5\n1 6\n2 5\n"), "auto", NULL);
    expect_summary(d, "2 users, 2 items, 3 interactions, no ratings, timestamps: file order, "
                      "format pairs (detected), no header");
    char small[20];
    ck_assert_int_eq(rec_dataset_summary(d, small, sizeof small), REC_E_RANGE);
    ck_assert_str_eq(small, "2 users, 2 items, 3");
    ck_assert_int_eq(rec_dataset_summary(d, NULL, 10), REC_E_INVALID);
    ck_assert_int_eq(rec_dataset_summary(d, small, 0), REC_E_INVALID);
    ck_assert_int_eq(rec_dataset_summary(NULL, small, sizeof small), REC_E_INVALID);
    const char *w;
    ck_assert_int_eq(rec_dataset_warnings(NULL, &w), REC_E_INVALID);
    ck_assert_int_eq(rec_dataset_warnings(d, NULL), REC_E_INVALID);
    rec_dataset_destroy(d);
    d = load_ok(write_file("train.txt", "0 1 2\n1 2\n"), "auto", NULL);
    expect_summary(d, "2 users, 2 items, 3 interactions, no ratings, no timestamps, format "
                      "lightgcn (detected)");
    rec_dataset_destroy(d);
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    rec_dataset_add(d, "u", "i", 2.5, 5);
    expect_summary(d, "1 users, 1 items, 1 interactions, ratings 2.5 to 2.5, timestamps 5 to 5");
    rec_dataset_warnings(d, &w);
    ck_assert_str_eq(w, "");
    rec_dataset_destroy(d);
}
END_TEST

Suite *rec_data_suite(void)
{
    Suite *s = suite_create("data");
    TCase *t = tcase_create("loaders");
    tcase_add_test(t, csv_with_header_quotes_and_crlf);
    tcase_add_test(t, csv_columns_option_and_no_header);
    tcase_add_test(t, tsv_dcolon_pairs_lightgcn);
    tcase_add_test(t, movielens_100k_layout);
    tcase_add_test(t, movielens_1m_and_latest_layouts);
    tcase_add_test(t, goodbooks_layout);
    tcase_add_test(t, malformed_files);
    tcase_add_test(t, bad_arguments);
    tcase_add_test(t, layout_options_only_for_delimited);
    suite_add_tcase(s, t);
    t = tcase_create("misread");
    tcase_add_test(t, ratings_beyond_float_are_refused);
    tcase_add_test(t, ratings_are_decimal_only);
    tcase_add_test(t, nul_bytes_in_ids_are_refused);
    tcase_add_test(t, a_bad_first_line_is_an_error_not_a_header);
    tcase_add_test(t, dcolon_files_of_two_to_four_fields);
    tcase_add_test(t, epoch_ratings_and_iso_timestamps);
    tcase_add_test(t, unnamed_columns_are_reported);
    tcase_add_test(t, summary_says_what_was_read);
    suite_add_tcase(s, t);
    t = tcase_create("dataset");
    tcase_add_test(t, id_round_trips);
    tcase_add_test(t, splits_last_and_valid);
    tcase_add_test(t, splits_random_kfold_time);
    tcase_add_test(t, splits_cold);
    tcase_add_test(t, generator_deterministic_and_learnable);
    tcase_add_test(t, generator_context_effect);
    tcase_add_test(t, features_set_normalize_cross);
    tcase_add_test(t, out_of_memory_everywhere);
    tcase_set_timeout(t, 60);
    suite_add_tcase(s, t);
    return s;
}
