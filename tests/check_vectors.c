/* Dense vector fields (REC_FEATURE_DENSE): set and read with normalisation,
 * .npy and delimited loading with every malformed-input message, all or
 * nothing under failing allocations, and the twotower and dnn towers that
 * take them (round trips through a model file; an unused field changes
 * nothing). */
#include "testutil.h"

#include <librec/librec.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* tu_tmp_path's buffer is static: a test holding two paths copies them. */
static void tmp(char *buf, const char *name)
{
    snprintf(buf, 512, "%s", tu_tmp_path(name));
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void write_text(const char *path, const char *text)
{
    write_file(path, text, strlen(text));
}

/* A .npy file: header dict padded to a 64-byte boundary as NumPy does. */
static void write_npy(const char *path, int major, const char *dict, const void *data,
                      size_t bytes)
{
    char buf[4096];
    size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
    size_t hl = ((pre + dl + 1 + 63) / 64) * 64 - pre;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (char)major;
    buf[7] = 0;
    buf[8] = (char)(hl & 0xff);
    buf[9] = (char)(hl >> 8);
    if (major != 1)
        buf[10] = buf[11] = 0;
    memset(buf + pre, ' ', hl);
    memcpy(buf + pre, dict, dl);
    buf[pre + hl - 1] = '\n';
    memcpy(buf + pre + hl, data, bytes);
    write_file(path, buf, pre + hl + bytes);
}

static rec_dataset *three_items(void)
{
    rec_dataset *d;
    ck_assert_int_eq(rec_dataset_create(&d), REC_OK);
    ck_assert_int_eq(rec_dataset_add(d, "u1", "a", 1, REC_NO_TIME), REC_OK);
    ck_assert_int_eq(rec_dataset_add(d, "u1", "b", 1, REC_NO_TIME), REC_OK);
    ck_assert_int_eq(rec_dataset_add(d, "u2", "c", 1, REC_NO_TIME), REC_OK);
    return d;
}

static void vec_of(const rec_dataset *d, const char *field, int32_t e, float *out, size_t want)
{
    int k;
    size_t dim;
    ck_assert_int_eq(rec_dataset_field_index(d, REC_SIDE_ITEM, field, &k), REC_OK);
    ck_assert_int_eq(rec_dataset_feature_vector(d, REC_SIDE_ITEM, k, e, out, &dim), REC_OK);
    ck_assert_uint_eq(dim, want);
}

START_TEST(set_read_and_normalise)
{
    rec_dataset *d = three_items();
    int k;
    ck_assert_int_eq(rec_dataset_add_field(d, REC_SIDE_ITEM, "emb", REC_FEATURE_DENSE, &k),
                     REC_OK);
    const float a[2] = { 3, 4 }, b[2] = { 1, 0 };
    ck_assert_int_eq(rec_dataset_set_vector(d, REC_SIDE_ITEM, "emb", "a", a, 2, 0), REC_OK);
    ck_assert_int_eq(rec_dataset_set_vector(d, REC_SIDE_ITEM, "emb", "b", b, 2, 0), REC_OK);
    float v[2];
    vec_of(d, "emb", 0, v, 2);
    ck_assert_float_eq(v[0], 3);
    ck_assert_float_eq(v[1], 4);
    vec_of(d, "emb", 2, v, 2); /* "c" has none: zeros */
    ck_assert_float_eq(v[0], 0);
    ck_assert_float_eq(v[1], 0);
    ck_assert_int_eq(rec_dataset_normalize(d, REC_SIDE_ITEM, "emb", "l2"), REC_OK);
    vec_of(d, "emb", 0, v, 2);
    ck_assert_float_near(v[0], 0.6, 1e-6);
    ck_assert_float_near(v[1], 0.8, 1e-6);
    /* z-score over a and b only: column 0 mean 2 std 1, column 1 mean 2 std 2 */
    ck_assert_int_eq(rec_dataset_normalize(d, REC_SIDE_ITEM, "emb", "zscore"), REC_OK);
    vec_of(d, "emb", 1, v, 2);
    ck_assert_float_near(v[0], -1, 1e-6);
    ck_assert_float_near(v[1], -1, 1e-6);
    vec_of(d, "emb", 2, v, 2);
    ck_assert_float_eq(v[0], 0);
    /* errors name what is wrong */
    ck_assert_int_eq(rec_dataset_normalize(d, REC_SIDE_ITEM, "emb", "minmax"), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_dataset_normalize: method 'minmax' is not one of "
                                       "none|l2|zscore (field 'emb' is dense)");
    const float c3[3] = { 1, 2, 3 };
    ck_assert_int_eq(rec_dataset_set_vector(d, REC_SIDE_ITEM, "emb", "c", c3, 3, 0),
                     REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(),
                     "rec_dataset_set_vector: field 'emb' has 2 dims, the vector 3");
    ck_assert_int_eq(rec_dataset_set_vector(d, REC_SIDE_ITEM, "emb", "zz", a, 2, 0),
                     REC_E_NOTFOUND);
    ck_assert_str_eq(rec_last_error(), "rec_dataset_set_vector: unknown item id 'zz'");
    const float bad[2] = { 1, NAN };
    ck_assert_int_eq(rec_dataset_set_vector(d, REC_SIDE_ITEM, "emb", "c", bad, 2, 0),
                     REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_dataset_set_vector: field 'emb': v[1] is not finite");
    ck_assert_int_eq(rec_dataset_set_feature(d, REC_SIDE_ITEM, "emb", "c", "1", 0),
                     REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "is dense; set it with rec_dataset_set_vector"));
    ck_assert_int_eq(rec_dataset_add_field(d, REC_SIDE_ITEM, "n", REC_FEATURE_NUMERIC, NULL),
                     REC_OK);
    ck_assert_int_eq(rec_dataset_set_vector(d, REC_SIDE_ITEM, "n", "c", a, 2, 0), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_dataset_set_vector: field 'n' is numeric");
    ck_assert_int_eq(rec_dataset_cross(d, REC_SIDE_ITEM, "emb", "n", 4, NULL), REC_E_INVALID);
    ck_assert_int_eq(rec_dataset_field_index(d, REC_SIDE_ITEM, "n", &k), REC_OK);
    size_t dim;
    ck_assert_int_eq(rec_dataset_feature_vector(d, REC_SIDE_ITEM, k, 0, v, &dim), REC_E_INVALID);
    /* a new id through create_ids, and the vector follows it */
    ck_assert_int_eq(rec_dataset_set_vector(d, REC_SIDE_ITEM, "emb", "new", b, 2, 1), REC_OK);
    ck_assert_int_eq(rec_dataset_normalize(d, REC_SIDE_ITEM, "emb", "none"), REC_OK);
    vec_of(d, "emb", 3, v, 2);
    ck_assert_float_eq(v[0], 1);
    rec_dataset_destroy(d);
}
END_TEST

#define DICT32 "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }"

START_TEST(npy_float32_and_float64)
{
    const float f32[6] = { 1, 2, 3, 4, 5, 6 };
    const double f64[6] = { 1.5, 2.5, 3.5, 4.5, 5.5, 6.5 };
    char p32[512], p64[512], ids[512];
    tmp(p32, "v32.npy");
    tmp(p64, "v64.npy");
    tmp(ids, "ids.txt");
    write_npy(p32, 1, DICT32, f32, sizeof f32);
    write_npy(p64, 2, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }", f64,
              sizeof f64);
    write_text(ids, "c\na\nb\n");
    rec_dataset *d = three_items();
    ck_assert_msg(rec_dataset_load_vectors(d, REC_SIDE_ITEM, "e32", p32, ids, NULL) == REC_OK,
                  "%s", rec_last_error());
    ck_assert_int_eq(rec_dataset_load_vectors(d, REC_SIDE_ITEM, "e64", p64, ids, NULL), REC_OK);
    float v[2];
    vec_of(d, "e32", 2, v, 2); /* "c" is row 0 */
    ck_assert_float_eq(v[0], 1);
    ck_assert_float_eq(v[1], 2);
    vec_of(d, "e32", 0, v, 2); /* "a" is row 1 */
    ck_assert_float_eq(v[0], 3);
    vec_of(d, "e64", 1, v, 2); /* "b" is row 2 */
    ck_assert_float_eq(v[0], 5.5f);
    ck_assert_float_eq(v[1], 6.5f);
    /* loading again replaces; another dim for the same field is refused */
    write_npy(p32, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f32,
              sizeof f32);
    write_text(ids, "a\nb\n");
    ck_assert_int_eq(rec_dataset_load_vectors(d, REC_SIDE_ITEM, "e64", p32, ids, NULL),
                     REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "vectors of 3 dims for field 'e64' of 2"));
    rec_dataset_destroy(d);
}
END_TEST

/* Every fault of the .npy and its ids file, and that d is left unchanged. */
START_TEST(npy_errors_name_the_fault)
{
    const float f32[6] = { 1, 2, 3, 4, 5, 6 };
    char p[512], ids[512], none[512];
    tmp(p, "bad.npy");
    tmp(ids, "bad_ids.txt");
    tmp(none, "none.npy");
    static const struct {
        const char *dict;
        size_t bytes;
        const char *ids, *msg;
    } cases[] = {
        { "{'descr': '>f4', 'fortran_order': False, 'shape': (3, 2), }", 24, "a\nb\nc\n",
          "dtype '>f4' is not little-endian float32 ('<f4') or float64 ('<f8')" },
        { "{'descr': '<i4', 'fortran_order': False, 'shape': (3, 2), }", 24, "a\nb\nc\n",
          "dtype '<i4' is not" },
        { "{'descr': '<f4', 'fortran_order': True, 'shape': (3, 2), }", 24, "a\nb\nc\n",
          "Fortran order" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2, 1), }", 24, "a\nb\nc\n",
          "array has 3 dimensions; want (rows, dim)" },
        { "{'descr': '<f4', 'fortran_order': False, }", 24, "a\nb\nc\n",
          "header lacks 'shape'" },
        { DICT32, 20, "a\nb\nc\n", "data is 20 bytes; shape (3, 2) needs 24" },
        { DICT32, 24, "a\nb\n", "2 ids for the 3 rows" },
        { DICT32, 24, "a\nb\nc\nd\n", "more ids than the 3 rows" },
        { DICT32, 24, "a\n\nc\n", "bad_ids.txt: line 2: empty id" },
        { DICT32, 24, "a\nzz\nc\n", "bad_ids.txt: line 2: unknown item id 'zz' (option "
                                    "unknown=skip drops it)" },
    };
    rec_dataset *d = three_items();
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        write_npy(p, 1, cases[c].dict, f32, cases[c].bytes);
        write_text(ids, cases[c].ids);
        rec_status st = rec_dataset_load_vectors(d, REC_SIDE_ITEM, "e", p, ids, NULL);
        ck_assert_msg(st == REC_E_FORMAT || st == REC_E_NOTFOUND, "case %zu: %d", c, st);
        ck_assert_msg(strstr(rec_last_error(), cases[c].msg), "case %zu: %s", c,
                      rec_last_error());
        int n;
        ck_assert_int_eq(rec_dataset_num_fields(d, REC_SIDE_ITEM, &n), REC_OK);
        ck_assert_int_eq(n, 0); /* nothing half-written */
    }
    write_file(p, "NOTNUMPY0123", 12);
    ck_assert_int_eq(rec_dataset_load_vectors(d, REC_SIDE_ITEM, "e", p, ids, NULL),
                     REC_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "not a .npy file"));
    ck_assert_int_eq(rec_dataset_load_vectors(d, REC_SIDE_ITEM, "e", p, NULL, NULL),
                     REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "a .npy file needs ids_path"));
    ck_assert_int_eq(rec_dataset_load_vectors(d, REC_SIDE_ITEM, "e", none, ids, NULL), REC_E_IO);
    /* unknown=skip drops the row; a typo of an option suggests the key */
    write_npy(p, 1, DICT32, f32, 24);
    write_text(ids, "a\nzz\nc\n");
    rec_params *o;
    ck_assert_int_eq(rec_params_create(&o), REC_OK);
    ck_assert_int_eq(rec_params_parse(o, "unknwn=skip"), REC_OK);
    ck_assert_int_eq(rec_dataset_load_vectors(d, REC_SIDE_ITEM, "e", p, ids, o), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "did you mean 'unknown'?"));
    rec_params_destroy(o);
    ck_assert_int_eq(rec_params_create(&o), REC_OK);
    ck_assert_int_eq(rec_params_parse(o, "unknown=skip"), REC_OK);
    ck_assert_int_eq(rec_dataset_load_vectors(d, REC_SIDE_ITEM, "e", p, ids, o), REC_OK);
    rec_params_destroy(o);
    float v[2];
    vec_of(d, "e", 2, v, 2);
    ck_assert_float_eq(v[0], 5);
    vec_of(d, "e", 1, v, 2);
    ck_assert_float_eq(v[0], 0);
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(text_columns)
{
    const char *p = tu_tmp_path("vec.csv");
    write_text(p, "item,x,y,z\nb,1,2,3\na,4,5,6\n");
    rec_dataset *d = three_items();
    ck_assert_msg(rec_dataset_load_vectors(d, REC_SIDE_ITEM, "all", p, NULL, NULL) == REC_OK,
                  "%s", rec_last_error());
    rec_params *o;
    ck_assert_int_eq(rec_params_create(&o), REC_OK);
    ck_assert_int_eq(rec_params_parse(o, "columns=z,x"), REC_OK);
    ck_assert_int_eq(rec_dataset_load_vectors(d, REC_SIDE_ITEM, "zx", p, NULL, o), REC_OK);
    float v[3];
    vec_of(d, "all", 1, v, 3);
    ck_assert_float_eq(v[0], 1);
    ck_assert_float_eq(v[2], 3);
    vec_of(d, "zx", 0, v, 2);
    ck_assert_float_eq(v[0], 6);
    ck_assert_float_eq(v[1], 4);
    /* no header: every column after the id */
    write_text(p, "a 1.5 2\nc 3 4\n");
    rec_params_destroy(o);
    ck_assert_int_eq(rec_params_create(&o), REC_OK);
    ck_assert_int_eq(rec_params_parse(o, "delimiter=space"), REC_OK);
    ck_assert_int_eq(rec_dataset_load_vectors(d, REC_SIDE_ITEM, "sp", p, NULL, o), REC_OK);
    vec_of(d, "sp", 0, v, 2);
    ck_assert_float_eq(v[0], 1.5);
    rec_params_destroy(o);
    static const struct {
        const char *text, *msg;
    } bad[] = {
        { "a,1,2\nb,1\n", "line 2, column 1: expected 3 columns, got 2" },
        { "a,1,2\nb,1,x2\n", "line 2, column 5: 'x2' is not a finite number" },
        { "a,1,2\nzz,1,2\n", "line 2: unknown item id 'zz'" },
        { "a\n", "line 1, column 1: expected an id and at least one number, got 1 column" },
        { "", "empty file: no vectors" },
    };
    int n0;
    ck_assert_int_eq(rec_dataset_num_fields(d, REC_SIDE_ITEM, &n0), REC_OK);
    for (size_t c = 0; c < sizeof bad / sizeof *bad; c++) {
        write_text(p, bad[c].text);
        rec_status st = rec_dataset_load_vectors(d, REC_SIDE_ITEM, "bad", p, NULL, NULL);
        ck_assert_msg(st == REC_E_FORMAT || st == REC_E_NOTFOUND, "case %zu", c);
        ck_assert_msg(strstr(rec_last_error(), bad[c].msg), "case %zu: %s", c, rec_last_error());
        int n;
        ck_assert_int_eq(rec_dataset_num_fields(d, REC_SIDE_ITEM, &n), REC_OK);
        ck_assert_int_eq(n, n0);
    }
    write_text(p, "item,x\na,1\n");
    ck_assert_int_eq(rec_params_create(&o), REC_OK);
    ck_assert_int_eq(rec_params_parse(o, "columns=x,w"), REC_OK);
    ck_assert_int_eq(rec_dataset_load_vectors(d, REC_SIDE_ITEM, "bad", p, NULL, o),
                     REC_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "no column 'w' in the header"));
    rec_params_destroy(o);
    rec_dataset_destroy(d);
}
END_TEST

/* Every allocation of a load fails in turn: REC_E_NOMEM, nothing leaked,
 * and the dataset has no field until one load succeeds. */
START_TEST(load_under_failing_allocations)
{
    const float f32[6] = { 1, 2, 3, 4, 5, 6 };
    char p[512], ids[512], csv[512];
    tmp(p, "oom.npy");
    tmp(ids, "oom_ids.txt");
    tmp(csv, "oom.csv");
    write_npy(p, 1, DICT32, f32, sizeof f32);
    write_text(ids, "a\nb\nc\n");
    write_text(csv, "id,x,y\na,1,2\nc,3,4\n");
    for (int which = 0; which < 2; which++) {
        long n;
        rec_status st = REC_E_NOMEM;
        for (n = 1; st == REC_E_NOMEM && n < 1000; n++) {
            /* the dataset is made and destroyed under the counting allocator,
             * so whatever the failed load left in it is counted too */
            tu_alloc_install();
            rec_dataset *d = three_items();
            tu_alloc_fail_at(n);
            st = which ? rec_dataset_load_vectors(d, REC_SIDE_ITEM, "e", csv, NULL, NULL)
                       : rec_dataset_load_vectors(d, REC_SIDE_ITEM, "e", p, ids, NULL);
            tu_alloc_fail_at(0);
            if (st == REC_E_NOMEM) {
                /* no vector went in: no field, or the field declared empty */
                int nf, k;
                size_t dim = 0;
                ck_assert_int_eq(rec_dataset_num_fields(d, REC_SIDE_ITEM, &nf), REC_OK);
                if (nf) {
                    ck_assert_int_eq(rec_dataset_field_index(d, REC_SIDE_ITEM, "e", &k), REC_OK);
                    ck_assert_int_eq(rec_dataset_feature_vector(d, REC_SIDE_ITEM, k, 0, NULL,
                                                                &dim), REC_OK);
                }
                ck_assert_uint_eq(dim, 0);
            } else {
                ck_assert_int_eq(st, REC_OK);
                float v[2];
                vec_of(d, "e", 2, v, 2);
                ck_assert_float_eq(v[0], which ? 3 : 5);
            }
            rec_dataset_destroy(d);
            long long live = tu_alloc_live();
            tu_alloc_remove();
            ck_assert_msg(live == 0, "load %d, failure %ld: %lld bytes live", which, n, live);
        }
        ck_assert_int_eq(st, REC_OK);
        ck_assert_int_gt(n, 3);
    }
}
END_TEST

/* The generated data with an item vector that carries each item's genres
 * (plus noise), and a user vector. */
static rec_dataset *with_vectors(int declare_only)
{
    rec_dataset *d = tu_generate(80, 60, 10);
    ck_assert_int_eq(rec_dataset_add_field(d, REC_SIDE_ITEM, "emb", REC_FEATURE_DENSE, NULL),
                     REC_OK);
    if (declare_only)
        return d;
    int kg;
    ck_assert_int_eq(rec_dataset_field_index(d, REC_SIDE_ITEM, "genres", &kg), REC_OK);
    int32_t nitems;
    ck_assert_int_eq(rec_dataset_num_items(d, &nitems), REC_OK);
    for (int32_t i = 0; i < nitems; i++) {
        float v[6] = { 0 };
        const int32_t *codes;
        int32_t nc;
        ck_assert_int_eq(rec_dataset_feature_codes(d, REC_SIDE_ITEM, kg, i, &codes, &nc),
                         REC_OK);
        for (int32_t c = 0; c < nc; c++)
            v[codes[c] % 6] += 1;
        v[(i * 7) % 6] += 0.25f;
        const char *id;
        ck_assert_int_eq(rec_dataset_item_id(d, i, &id), REC_OK);
        ck_assert_int_eq(rec_dataset_set_vector(d, REC_SIDE_ITEM, "emb", id, v, 6, 0), REC_OK);
    }
    ck_assert_int_eq(rec_dataset_normalize(d, REC_SIDE_ITEM, "emb", "l2"), REC_OK);
    return d;
}

static void sizes(const rec_dataset *d, size_t *nu, size_t *ni)
{
    int32_t u, i;
    ck_assert_int_eq(rec_dataset_num_users(d, &u), REC_OK);
    ck_assert_int_eq(rec_dataset_num_items(d, &i), REC_OK);
    *nu = (size_t)u;
    *ni = (size_t)i;
}

static void all_scores(const rec_model *m, const rec_dataset *d, float *out, size_t nu,
                       size_t ni)
{
    for (size_t u = 0; u < nu; u++) {
        const char *uid;
        ck_assert_int_eq(rec_dataset_user_id(d, (int32_t)u, &uid), REC_OK);
        for (size_t i = 0; i < ni; i++) {
            const char *iid;
            ck_assert_int_eq(rec_dataset_item_id(d, (int32_t)i, &iid), REC_OK);
            ck_assert_int_eq(rec_model_score(m, uid, iid, &out[u * ni + i]), REC_OK);
        }
    }
}

static void round_trip(const char *kind, const char *const *kv, int nkv)
{
    rec_dataset *d = with_vectors(0);
    rec_model *m = tu_fit(kind, d, kv, nkv);
    size_t nu, ni;
    sizes(d, &nu, &ni);
    float *a = malloc(nu * ni * sizeof *a), *b = malloc(nu * ni * sizeof *b);
    all_scores(m, d, a, nu, ni);
    const char *path = tu_tmp_path("vec_model.lrm");
    ck_assert_int_eq(rec_model_save(m, path), REC_OK);
    rec_model *l;
    ck_assert_msg(rec_model_load(&l, path) == REC_OK, "%s", rec_last_error());
    all_scores(l, d, b, nu, ni);
    ck_assert_int_eq(memcmp(a, b, nu * ni * sizeof *a), 0);
    /* the vectors are the model's: scores differ from a model without them */
    rec_dataset *plain = tu_generate(80, 60, 10);
    char ifeat[64];
    snprintf(ifeat, sizeof ifeat, "item_features=id");
    const char *kv2[8];
    int n2 = 0;
    for (int k = 0; k < nkv; k++)
        if (strncmp(kv[k], "item_features=", 14))
            kv2[n2++] = kv[k];
    kv2[n2++] = ifeat;
    rec_model *o = tu_fit(kind, plain, kv2, n2);
    all_scores(o, plain, b, nu, ni);
    ck_assert_int_ne(memcmp(a, b, nu * ni * sizeof *a), 0);
    rec_model_destroy(o);
    rec_dataset_destroy(plain);
    free(a);
    free(b);
    rec_model_destroy(l);
    rec_model_destroy(m);
    rec_dataset_destroy(d);
}

START_TEST(twotower_takes_vectors_and_round_trips)
{
    static const char *kv[] = { "epochs=2", "dim=4", "tower=8,8", "batch=64",
                                "item_features=id,emb" };
    round_trip("twotower", kv, 5);
}
END_TEST

START_TEST(dnn_takes_vectors_and_round_trips)
{
    static const char *kv[] = { "epochs=1", "dim=4", "hidden=8,4", "batch=64", "negatives=1",
                                "item_features=id,emb" };
    round_trip("dnn", kv, 6);
}
END_TEST

/* A dense field nobody uses changes nothing: the same seed gives the same
 * twotower, bit for bit, with and without it. */
START_TEST(unused_field_costs_nothing)
{
    static const char *kv[] = { "epochs=2", "dim=4", "tower=8,8", "batch=64",
                                "item_features=id,genres" };
    rec_dataset *with = with_vectors(0), *without = tu_generate(80, 60, 10);
    rec_model *a = tu_fit("twotower", with, kv, 5), *b = tu_fit("twotower", without, kv, 5);
    size_t nu, ni;
    sizes(with, &nu, &ni);
    float *sa = malloc(nu * ni * sizeof *sa), *sb = malloc(nu * ni * sizeof *sb);
    all_scores(a, with, sa, nu, ni);
    all_scores(b, without, sb, nu, ni);
    ck_assert_int_eq(memcmp(sa, sb, nu * ni * sizeof *sa), 0);
    free(sa);
    free(sb);
    rec_model_destroy(a);
    rec_model_destroy(b);
    rec_dataset_destroy(with);
    rec_dataset_destroy(without);
    /* a declared field without vectors is an error only when asked for */
    rec_dataset *empty = with_vectors(1);
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    ck_assert_int_eq(rec_params_parse(p, "item_features=id,emb"), REC_OK);
    rec_model *m;
    ck_assert_int_eq(rec_model_create(&m, "twotower", p), REC_OK);
    ck_assert_int_eq(rec_model_fit(m, empty, NULL, NULL), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "dense field 'emb' holds no vector"));
    rec_model_destroy(m);
    ck_assert_int_eq(rec_model_create(&m, "dnn", p), REC_OK);
    ck_assert_int_eq(rec_model_fit(m, empty, NULL, NULL), REC_E_INVALID);
    ck_assert_ptr_nonnull(strstr(rec_last_error(), "is dense with no vector"));
    rec_model_destroy(m);
    rec_params_destroy(p);
    rec_dataset_destroy(empty);
}
END_TEST

Suite *rec_vectors_suite(void)
{
    Suite *s = suite_create("vectors");
    TCase *t = tcase_create("vectors");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, set_read_and_normalise);
    tcase_add_test(t, npy_float32_and_float64);
    tcase_add_test(t, npy_errors_name_the_fault);
    tcase_add_test(t, text_columns);
    tcase_add_test(t, load_under_failing_allocations);
    tcase_add_test(t, twotower_takes_vectors_and_round_trips);
    tcase_add_test(t, dnn_takes_vectors_and_round_trips);
    tcase_add_test(t, unused_field_costs_nothing);
    suite_add_tcase(s, t);
    return s;
}
