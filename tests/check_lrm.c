/* The .lrm container: CRC32C, round trips, corruption and truncation of every
 * byte, foreign and future files, atomic save, allocation failures. */
#include "testutil.h"

#include "core/lrm-impl.h"
#include "lrm_fix_crcs.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ---------------------------------------------------------------- */

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const unsigned char *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static void wr32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static void wr64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Offset of section i's table entry, and of its bytes. */
static unsigned char *entry_of(unsigned char *b, uint32_t i) { return b + 64 + 32 * (size_t)i; }
static unsigned char *section_of(unsigned char *b, uint32_t i)
{
    return b + rd64(entry_of(b, i) + 8);
}
/* Index of the section called name, or -1. */
static int section_named(unsigned char *b, const char *name)
{
    uint32_t n = rd32(b + 16);
    const char *pool = (const char *)b + 64 + 32 * (size_t)n;
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(pool + rd32(entry_of(b, i) + 4), name) == 0)
            return (int)i;
    return -1;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void write_file(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    fclose(f);
}

static char tmpdir[512];

static const char *path_of(const char *name)
{
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "%s", tu_tmp_path("x"));
        *strrchr(tmpdir, '/') = 0;
    }
    return tu_tmp_path(name);
}

/* Number of leftover temporary files (name.tmp-*) in the test directory. */
static int temp_files_left(void)
{
    DIR *d = opendir(tmpdir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strstr(e->d_name, ".tmp-") != NULL;
    closedir(d);
    return n;
}

static int has(const char *needle)
{
    return strstr(rec_last_error(), needle) != NULL;
}
#define ck_msg(needle) \
    ck_assert_msg(has(needle), "message '%s' lacks '%s'", rec_last_error(), needle)

/* ---- a model to save ------------------------------------------------------------ */

static float emb[3][5];
static int32_t ids[7] = { 4, -8, 15, 16, 23, 42, 2147483647 };
static int64_t big = -9000000000000LL;
static const char idmap[] = "u1\0u2\0user-three";

static rec_params *make_params(void)
{
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    ck_assert_int_eq(rec_params_set_int(p, "dim", -1234567890123LL), REC_OK);
    ck_assert_int_eq(rec_params_set_float(p, "lr", 0.0125), REC_OK);
    ck_assert_int_eq(rec_params_set_str(p, "loss", "bpr"), REC_OK);
    ck_assert_int_eq(rec_params_set_bool(p, "verbose", 1), REC_OK);
    ck_assert_int_eq(rec_params_set_float(p, "huge", -1e300), REC_OK);
    ck_assert_int_eq(rec_params_set_str(p, "empty", ""), REC_OK);
    return p;
}

/* Builds the sample writer; returns the first failing status (allocation
 * tests run it under a failing allocator). */
static rec_status build(const rec_params *p, rec_lrm_writer **out)
{
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 5; j++)
            emb[i][j] = (float)(i * 10 + j) + 0.25f;
    rec_lrm_writer *w;
    rec_status st = rec_lrm_writer_create("two_tower", &w);
    if (st)
        return st;
    int64_t s2[2] = { 3, 5 }, s1[1] = { 7 }, s0[2] = { 0, 4 };
    if (!st) st = rec_lrm_add_params(w, p);
    if (!st) st = rec_lrm_add_meta(w, "librec.created", "2024-01-02T03:04:05Z");
    if (!st) st = rec_lrm_add_meta(w, "data.fingerprint", "sha256:abc123");
    if (!st) st = rec_lrm_add_meta(w, "metrics.ndcg@10", "0.3125");
    if (!st) st = rec_lrm_add_tensor(w, "user_emb", REC_LRM_F32, 2, s2, emb);
    if (!st) st = rec_lrm_add_tensor(w, "item_ids", REC_LRM_I32, 1, s1, ids);
    if (!st) st = rec_lrm_add_tensor(w, "nothing", REC_LRM_F32, 2, s0, NULL);
    if (!st) st = rec_lrm_add_tensor(w, "count", REC_LRM_I64, 0, NULL, &big);
    if (!st) st = rec_lrm_add_blob(w, "user_ids", idmap, sizeof idmap);
    if (!st) st = rec_lrm_add_blob(w, "empty", NULL, 0);
    if (st) {
        rec_lrm_writer_destroy(w);
        return st;
    }
    *out = w;
    return REC_OK;
}

static void sample_bytes(unsigned char **bytes, size_t *len)
{
    rec_params *p = make_params();
    rec_lrm_writer *w;
    ck_assert_int_eq(build(p, &w), REC_OK);
    void *b;
    ck_assert_int_eq(rec_lrm_save_mem(w, &b, len), REC_OK);
    /* a malloc'd copy so tests can mutate and free it plainly */
    *bytes = malloc(*len);
    memcpy(*bytes, b, *len);
    rec_free(b, *len);
    rec_lrm_writer_destroy(w);
    rec_params_destroy(p);
}

static rec_status open_bytes(const unsigned char *b, size_t n)
{
    rec_lrm_reader *r = NULL;
    rec_status st = rec_lrm_open_mem(b, n, &r);
    if (st == REC_OK)
        rec_lrm_close(r);
    else
        ck_assert_ptr_null(r);
    return st;
}

/* ---- CRC32C ------------------------------------------------------------------ */

START_TEST(crc32c_known_values)
{
    unsigned char z[32] = { 0 }, ff[32];
    memset(ff, 0xff, sizeof ff);
    /* RFC 3720 (iSCSI) appendix B.4 and the usual check value */
    ck_assert_uint_eq(rec_crc32c(0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(rec_crc32c(0, z, 32), 0x8A9136AAu);
    ck_assert_uint_eq(rec_crc32c(0, ff, 32), 0x62A8AB43u);
    ck_assert_uint_eq(rec_crc32c(0, "", 0), 0);
    ck_assert_uint_eq(rec_crc32c_sw(0, "123456789", 9), 0xE3069283u);
    /* chaining, and both paths at every alignment and tail length */
    unsigned char buf[300];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 131 + 7);
    uint32_t whole = rec_crc32c(0, buf, sizeof buf);
    ck_assert_uint_eq(rec_crc32c(rec_crc32c(0, buf, 77), buf + 77, sizeof buf - 77), whole);
    for (size_t off = 0; off < 9; off++)
        for (size_t n = 0; n < 40; n++)
            ck_assert_uint_eq(rec_crc32c(0, buf + off, n + 200), rec_crc32c_sw(0, buf + off,
                                                                               n + 200));
}
END_TEST

/* ---- round trips ---------------------------------------------------------------- */

static void check_sample(rec_lrm_reader *r)
{
    ck_assert_str_eq(rec_lrm_kind(r), "two_tower");
    int ma, mi;
    rec_lrm_format_version(r, &ma, &mi);
    ck_assert_int_eq(ma, REC_LRM_MAJOR);
    ck_assert_int_eq(mi, REC_LRM_MINOR);

    rec_params *p;
    ck_assert_int_eq(rec_lrm_params(r, &p), REC_OK);
    size_t n;
    rec_params_count(p, &n);
    ck_assert_uint_eq(n, 6);
    const char *key;
    rec_param_type t;
    const rec_param_type want_t[6] = { REC_PARAM_INT, REC_PARAM_FLOAT, REC_PARAM_STR,
                                       REC_PARAM_BOOL, REC_PARAM_FLOAT, REC_PARAM_STR };
    const char *want_k[6] = { "dim", "lr", "loss", "verbose", "huge", "empty" };
    for (size_t i = 0; i < 6; i++) {
        ck_assert_int_eq(rec_params_key(p, i, &key, &t), REC_OK);
        ck_assert_str_eq(key, want_k[i]);
        ck_assert_int_eq(t, want_t[i]);
    }
    int64_t iv;
    double fv;
    int bv;
    const char *sv;
    ck_assert_int_eq(rec_params_get_int(p, "dim", &iv), REC_OK);
    ck_assert(iv == -1234567890123LL);
    ck_assert_int_eq(rec_params_get_float(p, "lr", &fv), REC_OK);
    ck_assert(fv == 0.0125);
    ck_assert_int_eq(rec_params_get_float(p, "huge", &fv), REC_OK);
    ck_assert(fv == -1e300);
    ck_assert_int_eq(rec_params_get_bool(p, "verbose", &bv), REC_OK);
    ck_assert_int_eq(bv, 1);
    ck_assert_int_eq(rec_params_get_str(p, "loss", &sv), REC_OK);
    ck_assert_str_eq(sv, "bpr");
    ck_assert_int_eq(rec_params_get_str(p, "empty", &sv), REC_OK);
    ck_assert_str_eq(sv, "");
    rec_params_destroy(p);

    const char *v;
    ck_assert_int_eq(rec_lrm_meta(r, "librec.version", &v), REC_OK);
    ck_assert_str_eq(v, rec_version());
    ck_assert_int_eq(rec_lrm_meta(r, "librec.created", &v), REC_OK);
    ck_assert_str_eq(v, "2024-01-02T03:04:05Z");   /* replaced, not duplicated */
    ck_assert_int_eq(rec_lrm_meta(r, "data.fingerprint", &v), REC_OK);
    ck_assert_str_eq(v, "sha256:abc123");
    ck_assert_int_eq(rec_lrm_meta(r, "metrics.ndcg@10", &v), REC_OK);
    ck_assert_str_eq(v, "0.3125");
    ck_assert_uint_eq(rec_lrm_meta_count(r), 4);
    ck_assert_int_eq(rec_lrm_meta_at(r, 3, &key, &v), REC_OK);
    ck_assert_str_eq(key, "metrics.ndcg@10");
    ck_assert_int_eq(rec_lrm_meta(r, "metrics.auc", &v), REC_E_NOTFOUND);
    ck_msg("no metadata 'metrics.auc'");

    int64_t shape[4];
    const void *d;
    ck_assert_int_eq(rec_lrm_tensor(r, "user_emb", REC_LRM_F32, 2, shape, &d), REC_OK);
    ck_assert_int_eq(shape[0], 3);
    ck_assert_int_eq(shape[1], 5);
    ck_assert_int_eq(shape[2], 0);
    ck_assert_uint_eq((uintptr_t)d % 64, 0);
    ck_assert_int_eq(memcmp(d, emb, sizeof emb), 0);
    ck_assert_float_eq(((const float *)d)[7], 12.25f);
    ck_assert_int_eq(rec_lrm_tensor(r, "item_ids", REC_LRM_I32, 1, shape, &d), REC_OK);
    ck_assert_int_eq(shape[0], 7);
    ck_assert_uint_eq((uintptr_t)d % 64, 0);
    ck_assert_int_eq(memcmp(d, ids, sizeof ids), 0);
    ck_assert_int_eq(rec_lrm_tensor(r, "nothing", REC_LRM_F32, 2, shape, &d), REC_OK);
    ck_assert_int_eq(shape[0], 0);
    ck_assert_int_eq(shape[1], 4);
    ck_assert_ptr_null(d);
    ck_assert_int_eq(rec_lrm_tensor(r, "count", REC_LRM_I64, 0, NULL, &d), REC_OK);
    ck_assert(*(const int64_t *)d == big);
    int64_t want[2] = { 3, -1 };
    ck_assert_int_eq(rec_lrm_tensor_expect(r, "user_emb", REC_LRM_F32, 2, want, &d), REC_OK);
    want[1] = 6;
    ck_assert_int_eq(rec_lrm_tensor_expect(r, "user_emb", REC_LRM_F32, 2, want, &d),
                     REC_E_FORMAT);
    ck_msg("tensor 'user_emb' has shape 3x5, expected 3x6");

    ck_assert_uint_eq(rec_lrm_tensor_count(r), 4);
    const char *name;
    rec_lrm_dtype dt;
    int nd;
    size_t bytes;
    ck_assert_int_eq(rec_lrm_tensor_at(r, 1, &name, &dt, &nd, shape, &d, &bytes), REC_OK);
    ck_assert_str_eq(name, "item_ids");
    ck_assert_int_eq(dt, REC_LRM_I32);
    ck_assert_int_eq(nd, 1);
    ck_assert_uint_eq(bytes, sizeof ids);

    size_t len;
    ck_assert_int_eq(rec_lrm_blob(r, "user_ids", &d, &len), REC_OK);
    ck_assert_uint_eq(len, sizeof idmap);
    ck_assert_int_eq(memcmp(d, idmap, sizeof idmap), 0);
    ck_assert_int_eq(rec_lrm_blob(r, "empty", &d, &len), REC_OK);
    ck_assert_uint_eq(len, 0);
    ck_assert_uint_eq(rec_lrm_blob_count(r), 2);
    ck_assert_int_eq(rec_lrm_blob_at(r, 1, &name, &d, &len), REC_OK);
    ck_assert_str_eq(name, "empty");
}

START_TEST(round_trip_file_and_memory)
{
    rec_params *p = make_params();
    rec_lrm_writer *w;
    ck_assert_int_eq(build(p, &w), REC_OK);
    rec_params_destroy(p);   /* the writer keeps its own copy */
    const char *path = path_of("round.lrm");
    ck_assert_int_eq(rec_lrm_save(w, path), REC_OK);
    ck_assert_int_eq(temp_files_left(), 0);
    rec_lrm_reader *r;
    ck_assert_int_eq(rec_lrm_open(path, &r), REC_OK);
    check_sample(r);
    rec_lrm_close(r);

    /* the same bytes in memory, and from an unaligned copy */
    size_t flen, mlen;
    char *fb = read_file(path, &flen);
    void *mb;
    ck_assert_int_eq(rec_lrm_save_mem(w, &mb, &mlen), REC_OK);
    ck_assert_uint_eq(flen, mlen);
    ck_assert_int_eq(memcmp(fb, mb, flen), 0);
    unsigned char *odd = malloc(flen + 1);
    memcpy(odd + 1, fb, flen);
    ck_assert_int_eq(rec_lrm_open_mem(odd + 1, flen, &r), REC_OK);
    check_sample(r);
    rec_lrm_close(r);
    free(odd);
    rec_free(mb, mlen);
    free(fb);
    rec_lrm_writer_destroy(w);
}
END_TEST

START_TEST(minimal_model_and_overwrite)
{
    rec_lrm_writer *w;
    ck_assert_int_eq(rec_lrm_writer_create("popularity", &w), REC_OK);
    const char *path = path_of("minimal.lrm");
    write_file(path, "old contents", 12);
    ck_assert_int_eq(rec_lrm_save(w, path), REC_OK);
    rec_lrm_writer_destroy(w);
    rec_lrm_reader *r;
    ck_assert_int_eq(rec_lrm_open(path, &r), REC_OK);
    ck_assert_str_eq(rec_lrm_kind(r), "popularity");
    rec_params *p;
    ck_assert_int_eq(rec_lrm_params(r, &p), REC_OK);
    size_t n = 9;
    rec_params_count(p, &n);
    ck_assert_uint_eq(n, 0);
    rec_params_destroy(p);
    const char *v;
    ck_assert_int_eq(rec_lrm_meta(r, "librec.created", &v), REC_OK);
    ck_assert_uint_eq(strlen(v), 20);   /* 2024-01-02T03:04:05Z */
    ck_assert_int_eq(v[10], 'T');
    ck_assert_uint_eq(rec_lrm_tensor_count(r), 0);
    ck_assert_uint_eq(rec_lrm_blob_count(r), 0);
    rec_lrm_close(r);
}
END_TEST

/* ---- corruption ----------------------------------------------------------------- */

START_TEST(every_byte_flip_is_rejected)
{
    unsigned char *b;
    size_t n;
    sample_bytes(&b, &n);
    ck_assert_int_eq(open_bytes(b, n), REC_OK);
    static const unsigned char masks[3] = { 0x01, 0x80, 0xff };
    for (size_t i = 0; i < n; i++) {
        for (int m = 0; m < 3; m++) {
            b[i] ^= masks[m];
            rec_status st = open_bytes(b, n);
            ck_assert_msg(st == REC_E_FORMAT, "flip 0x%02x at byte %zu of %zu: %s (%s)",
                          masks[m], i, n, rec_strerror(st), rec_last_error());
            ck_assert_msg(strncmp(rec_last_error(), "<memory>: ", 10) == 0, "%s",
                          rec_last_error());
            b[i] ^= masks[m];
        }
    }
    /* what the messages say for a few places */
    b[0] ^= 1;
    open_bytes(b, n);
    ck_msg("<memory>: not a librec model file (bad magic)");
    b[0] ^= 1;
    b[20] ^= 1;
    open_bytes(b, n);
    ck_msg("header CRC mismatch");
    b[20] ^= 1;
    b[64 + 8] ^= 1;
    open_bytes(b, n);
    ck_msg("section table CRC mismatch");
    b[64 + 8] ^= 1;
    int s = section_named(b, "user_emb");
    ck_assert_int_ge(s, 0);
    section_of(b, (uint32_t)s)[64 + 5] ^= 1;
    open_bytes(b, n);
    ck_msg("<memory>: section 'user_emb' (tensor) CRC mismatch");
    free(b);
}
END_TEST

START_TEST(every_truncation_is_rejected)
{
    unsigned char *b;
    size_t n;
    sample_bytes(&b, &n);
    for (size_t len = 0; len < n; len++) {
        rec_status st = open_bytes(b, len);
        ck_assert_msg(st == REC_E_FORMAT, "length %zu of %zu: %s", len, n, rec_strerror(st));
    }
    char want[128];
    open_bytes(b, 0);
    ck_msg("empty file");
    open_bytes(b, 5);
    ck_msg("truncated at byte 5 of at least 64");
    open_bytes(b, 123);
    snprintf(want, sizeof want, "<memory>: truncated at byte 123 of %zu", n);
    ck_msg(want);
    /* and the other way: bytes after the end */
    unsigned char *longer = malloc(n + 3);
    memcpy(longer, b, n);
    memset(longer + n, 0, 3);
    ck_assert_int_eq(open_bytes(longer, n + 3), REC_E_FORMAT);
    ck_msg("3 stray bytes after the end of the model");
    free(longer);

    /* the same through a file names the file */
    const char *path = path_of("cut.lrm");
    write_file(path, b, 456);
    rec_lrm_reader *r;
    ck_assert_int_eq(rec_lrm_open(path, &r), REC_E_FORMAT);
    snprintf(want, sizeof want, "%s: truncated at byte 456 of %zu", path, n);
    ck_msg(want);
    free(b);
}
END_TEST

START_TEST(foreign_and_missing_files)
{
    rec_lrm_reader *r = (rec_lrm_reader *)1;
    const char *path = path_of("ratings.csv");
    const char text[] = "user,item,rating\n1,2,5.0\n3,4,1.0\n7,8,2.5\n9,9,9\n";
    write_file(path, text, sizeof text - 1);
    ck_assert_int_eq(rec_lrm_open(path, &r), REC_E_FORMAT);
    ck_assert_ptr_null(r);
    char want[600];
    snprintf(want, sizeof want, "%s: not a librec model file (bad magic)", path);
    ck_assert_str_eq(rec_last_error(), want);
    /* a prefix of the magic is a truncated file, anything else is foreign */
    ck_assert_int_eq(open_bytes((const unsigned char *)"LREC", 4), REC_E_FORMAT);
    ck_msg("truncated at byte 4");
    ck_assert_int_eq(open_bytes((const unsigned char *)"LRECX", 5), REC_E_FORMAT);
    ck_msg("bad magic");

    path = path_of("empty.lrm");
    write_file(path, "", 0);
    ck_assert_int_eq(rec_lrm_open(path, &r), REC_E_FORMAT);
    ck_msg("empty.lrm: empty file");

    ck_assert_int_eq(rec_lrm_open(path_of("absent.lrm"), &r), REC_E_IO);
    ck_msg("absent.lrm: cannot open: No such file or directory");
    ck_assert_int_eq(rec_lrm_open(tmpdir, &r), REC_E_IO);
    ck_msg("not a regular file");
}
END_TEST

START_TEST(versions_and_byte_order)
{
    unsigned char *b;
    size_t n;
    sample_bytes(&b, &n);
    wr16(b + 8, 2);   /* a future major version */
    ck_assert_int_eq(open_bytes(b, n), REC_E_FORMAT);
    ck_assert_str_eq(rec_last_error(), "<memory>: format version 2.0 is newer than this librec "
                                       "supports (1.0); upgrade librec");
    rec_lrm_fix_crcs(b, n);   /* even with a valid CRC */
    ck_assert_int_eq(open_bytes(b, n), REC_E_FORMAT);
    ck_msg("format version 2.0 is newer");
    wr16(b + 8, 0);
    rec_lrm_fix_crcs(b, n);
    ck_assert_int_eq(open_bytes(b, n), REC_E_FORMAT);
    ck_msg("unknown format version 0.0");

    /* a newer minor version is readable and may add section types we skip */
    wr16(b + 8, 1);
    wr16(b + 10, 7);
    int s = section_named(b, "empty");
    wr32(entry_of(b, (uint32_t)s), 99);
    rec_lrm_fix_crcs(b, n);
    rec_lrm_reader *r;
    ck_assert_int_eq(rec_lrm_open_mem(b, n, &r), REC_OK);
    int ma, mi;
    rec_lrm_format_version(r, &ma, &mi);
    ck_assert_int_eq(ma, 1);
    ck_assert_int_eq(mi, 7);
    ck_assert_uint_eq(rec_lrm_blob_count(r), 1);
    const void *d;
    size_t len;
    ck_assert_int_eq(rec_lrm_blob(r, "empty", &d, &len), REC_E_FORMAT);
    ck_msg("<memory>: no blob 'empty'");
    rec_lrm_close(r);
    /* ... but not from our own minor version */
    wr16(b + 10, 0);
    rec_lrm_fix_crcs(b, n);
    ck_assert_int_eq(open_bytes(b, n), REC_E_FORMAT);
    ck_msg("section 'empty' has unknown type 99");

    wr32(b + 12, 0x04030201u);
    rec_lrm_fix_crcs(b, n);
    ck_assert_int_eq(open_bytes(b, n), REC_E_FORMAT);
    ck_msg("big-endian file");
    free(b);
}
END_TEST

/* Structural errors behind valid CRCs: what the fuzzer reaches too. */
START_TEST(malformed_sections_with_valid_crcs)
{
    unsigned char *b, *c;
    size_t n;
    sample_bytes(&b, &n);
    c = malloc(n);
    uint32_t t = (uint32_t)section_named(b, "user_emb");
    uint32_t k = (uint32_t)section_named(b, "kind");
    uint32_t p = (uint32_t)section_named(b, "params");
    uint32_t m = (uint32_t)section_named(b, "meta");
    uint32_t ids_sec = (uint32_t)section_named(b, "item_ids");

#define MUTATE(stmt, needle)                                                       \
    do {                                                                           \
        memcpy(c, b, n);                                                           \
        stmt;                                                                      \
        rec_lrm_fix_crcs(c, n);                                                    \
        ck_assert_int_eq(open_bytes(c, n), REC_E_FORMAT);                          \
        ck_msg(needle);                                                            \
    } while (0)

    MUTATE(wr64(section_of(c, t) + 8, 4),
           "tensor 'user_emb': shape 4x5 of f32 needs 80 bytes, section holds 60");
    MUTATE(wr64(section_of(c, t) + 8, UINT64_MAX / 2),
           "tensor 'user_emb': shape 9223372036854775807x5 overflows");
    MUTATE(wr64(section_of(c, t) + 8, UINT64_MAX), "negative size in dimension 0");
    MUTATE(wr32(section_of(c, t), 9), "tensor 'user_emb' has unknown dtype 9");
    MUTATE(wr32(section_of(c, t) + 4, 5), "has 5 dimensions (at most 4)");
    MUTATE(wr64(section_of(c, t) + 24, 1), "nonzero size in unused dimension 2");
    MUTATE(section_of(c, t)[50] = 1, "tensor 'user_emb' has nonzero reserved bytes");
    MUTATE(section_of(c, k)[3] = ' ', "model kind is malformed");
    MUTATE(section_of(c, k)[rd64(entry_of(c, k) + 16) - 1] = 'x', "model kind is malformed");
    MUTATE(wr32(section_of(c, p), 7), "parameter 6 is truncated");
    MUTATE(wr32(section_of(c, p), 50), "parameter count 50 does not fit");
    MUTATE(wr32(section_of(c, p) + 4, 9), "unknown type 9");
    MUTATE(section_of(c, p)[4 + 12] = '!', "parameter 0 has a malformed key");
    MUTATE(wr32(section_of(c, m), 3), "31 stray bytes after the metadata");
    MUTATE(wr32(section_of(c, m), 500), "metadata count 500 does not fit");
    MUTATE(wr32(entry_of(c, t), REC_LRM_SEC_META), "more than one metadata section");
    MUTATE(wr32(entry_of(c, k), REC_LRM_SEC_BLOB), "no kind section");
    /* the same name twice: point item_ids' name at user_emb's */
    MUTATE(memcpy(entry_of(c, ids_sec) + 4, entry_of(c, t) + 4, 4),
           "tensor 'user_emb' appears twice");
    MUTATE(wr64(entry_of(c, t) + 8, rd64(entry_of(c, t) + 8) + 64),
           "section 'user_emb' starts at byte");
    MUTATE(wr64(entry_of(c, t) + 16, n), "runs past the end of the file");
    MUTATE(wr32(c + 16, 5000), "section count 5000 is outside [3, 4096]");
    MUTATE(wr32(c + 16, 300), "section table (bytes 64..");
    MUTATE(wr32(c + 36, 2), "unknown header flags 0x2");
    MUTATE(c[50] = 1, "nonzero reserved header bytes");
    MUTATE(c[rd64(entry_of(c, 1) + 8) - 1] = 7, "nonzero padding at byte");
    MUTATE(wr32(entry_of(c, 0) + 4, 1u << 20), "name offset 1048576 is outside the pool");
#undef MUTATE
    free(c);
    free(b);
}
END_TEST

/* ---- atomic save ---------------------------------------------------------------- */

START_TEST(save_into_missing_directory)
{
    rec_lrm_writer *w;
    ck_assert_int_eq(rec_lrm_writer_create("als", &w), REC_OK);
    const char *path = path_of("no-such-dir/model.lrm");
    char keep[600];
    snprintf(keep, sizeof keep, "%s", path);
    ck_assert_int_eq(rec_lrm_save(w, keep), REC_E_IO);
    ck_msg("cannot create temporary file");
    ck_msg("No such file or directory");
    ck_assert(strncmp(rec_last_error(), keep, strlen(keep)) == 0);
    struct stat sb;
    *strrchr(keep, '/') = 0;
    ck_assert_int_eq(stat(keep, &sb), -1);
    ck_assert_int_eq(temp_files_left(), 0);
    rec_lrm_writer_destroy(w);
}
END_TEST

START_TEST(failed_save_keeps_old_file)
{
    const char *path0 = path_of("keep.lrm");
    char path[600];
    snprintf(path, sizeof path, "%s", path0);
    rec_lrm_writer *w;
    ck_assert_int_eq(rec_lrm_writer_create("old_model", &w), REC_OK);
    ck_assert_int_eq(rec_lrm_save(w, path), REC_OK);
    rec_lrm_writer_destroy(w);
    size_t olen;
    char *old = read_file(path, &olen);

    rec_params *p = make_params();
    tu_alloc_install();
    ck_assert_int_eq(build(p, &w), REC_OK);
    long fails = 0;
    for (long at = 1;; at++) {
        tu_alloc_fail_at(at);
        rec_status st = rec_lrm_save(w, path);
        tu_alloc_fail_at(0);
        if (st == REC_OK)
            break;
        ck_assert_int_eq(st, REC_E_NOMEM);
        ck_msg("rec_lrm_save: out of memory");
        size_t len;
        char *now = read_file(path, &len);
        ck_assert_uint_eq(len, olen);
        ck_assert_int_eq(memcmp(now, old, len), 0);
        free(now);
        ck_assert_int_eq(temp_files_left(), 0);
        fails++;
    }
    ck_assert_int_ge(fails, 3);
    rec_lrm_writer_destroy(w);
    ck_assert_int_eq(tu_alloc_live(), 0);
    tu_alloc_remove();
    rec_params_destroy(p);
    /* the successful save replaced it */
    rec_lrm_reader *r;
    ck_assert_int_eq(rec_lrm_open(path, &r), REC_OK);
    check_sample(r);
    rec_lrm_close(r);
    free(old);
}
END_TEST

/* A real write error: the file size limit stops the temporary file short. */
START_TEST(write_error_keeps_old_file)
{
    const char *path0 = path_of("limited.lrm");
    char path[600];
    snprintf(path, sizeof path, "%s", path0);
    rec_lrm_writer *w;
    ck_assert_int_eq(rec_lrm_writer_create("old_model", &w), REC_OK);
    ck_assert_int_eq(rec_lrm_save(w, path), REC_OK);
    rec_lrm_writer_destroy(w);
    size_t olen;
    char *old = read_file(path, &olen);

    size_t nbig = 1 << 16;
    float *bigdata = calloc(nbig, sizeof *bigdata);
    int64_t shape[1] = { (int64_t)nbig };
    ck_assert_int_eq(rec_lrm_writer_create("new_model", &w), REC_OK);
    ck_assert_int_eq(rec_lrm_add_tensor(w, "big", REC_LRM_F32, 1, shape, bigdata), REC_OK);

    struct rlimit keep, lim;
    getrlimit(RLIMIT_FSIZE, &keep);
    lim = keep;
    lim.rlim_cur = 4096;
    void (*was)(int) = signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    rec_status st = rec_lrm_save(w, path);
    setrlimit(RLIMIT_FSIZE, &keep);
    signal(SIGXFSZ, was);
    ck_assert_int_eq(st, REC_E_IO);
    ck_msg("write failed at byte 4096");
    size_t len;
    char *now = read_file(path, &len);
    ck_assert_uint_eq(len, olen);
    ck_assert_int_eq(memcmp(now, old, len), 0);
    ck_assert_int_eq(temp_files_left(), 0);
    free(now);
    free(old);
    free(bigdata);
    rec_lrm_writer_destroy(w);
}
END_TEST

/* ---- allocation failures ----------------------------------------------------- */

START_TEST(allocation_failure_in_build_and_save)
{
    rec_params *p = make_params();
    char path[600];
    snprintf(path, sizeof path, "%s", path_of("oom.lrm"));
    long at;
    for (at = 1;; at++) {
        tu_alloc_install();
        tu_alloc_fail_at(at);
        rec_lrm_writer *w = NULL;
        rec_status st = build(p, &w);
        if (st == REC_OK)
            st = rec_lrm_save(w, path);
        void *mem = NULL;
        size_t mlen = 0;
        if (st == REC_OK)
            st = rec_lrm_save_mem(w, &mem, &mlen);
        tu_alloc_fail_at(0);
        rec_free(mem, mlen);
        rec_lrm_writer_destroy(w);
        ck_assert_msg(tu_alloc_live() == 0, "failing allocation %ld leaks %lld bytes", at,
                      tu_alloc_live());
        tu_alloc_remove();
        if (st == REC_OK)
            break;
        ck_assert_msg(st == REC_E_NOMEM, "allocation %ld: %s", at, rec_last_error());
        ck_msg("out of memory");
        ck_assert_int_eq(temp_files_left(), 0);
    }
    ck_assert_int_gt(at, 10);
    rec_params_destroy(p);
}
END_TEST

START_TEST(allocation_failure_in_load)
{
    unsigned char *b;
    size_t n;
    sample_bytes(&b, &n);
    char path[600];
    snprintf(path, sizeof path, "%s", path_of("oomload.lrm"));
    write_file(path, b, n);
    unsigned char *odd = malloc(n + 1);   /* malloc's alignment + 1: never 64-aligned */
    memcpy(odd + 1, b, n);
    long at;
    for (at = 1;; at++) {
        tu_alloc_install();
        tu_alloc_fail_at(at);
        rec_lrm_reader *r = NULL, *rm = NULL;
        rec_params *p = NULL;
        rec_status st = rec_lrm_open(path, &r);
        if (st == REC_OK)
            st = rec_lrm_open_mem(odd + 1, n, &rm);
        if (st == REC_OK)
            st = rec_lrm_params(r, &p);
        tu_alloc_fail_at(0);
        if (st == REC_OK)
            check_sample(rm);
        rec_params_destroy(p);
        rec_lrm_close(rm);
        rec_lrm_close(r);
        ck_assert_msg(tu_alloc_live() == 0, "failing allocation %ld leaks %lld bytes", at,
                      tu_alloc_live());
        tu_alloc_remove();
        if (st == REC_OK)
            break;
        ck_assert_msg(st == REC_E_NOMEM, "allocation %ld: %s", at, rec_last_error());
        ck_msg("out of memory");
    }
    ck_assert_int_gt(at, 5);
    free(odd);
    free(b);
}
END_TEST

/* ---- bad arguments ------------------------------------------------------------ */

START_TEST(bad_arguments)
{
    rec_lrm_writer *w = (rec_lrm_writer *)1;
    rec_lrm_reader *r = (rec_lrm_reader *)1;
    int64_t shape[4] = { 2, 2, 0, 0 };
    float x[4] = { 0 };
    const void *d;
    size_t len;
    const char *s;

    ck_assert_int_eq(rec_lrm_writer_create(NULL, &w), REC_E_INVALID);
    ck_assert_ptr_null(w);
    ck_msg("rec_lrm_writer_create: kind is NULL");
    ck_assert_int_eq(rec_lrm_writer_create("als", NULL), REC_E_INVALID);
    ck_msg("rec_lrm_writer_create: out is NULL");
    ck_assert_int_eq(rec_lrm_writer_create("two words", &w), REC_E_INVALID);
    ck_msg("bad kind 'two words'");
    ck_assert_int_eq(rec_lrm_writer_create("", &w), REC_E_INVALID);

    ck_assert_int_eq(rec_lrm_writer_create("als", &w), REC_OK);
    ck_assert_int_eq(rec_lrm_add_params(NULL, NULL), REC_E_INVALID);
    ck_msg("rec_lrm_add_params: writer is NULL");
    ck_assert_int_eq(rec_lrm_add_params(w, NULL), REC_E_INVALID);
    ck_msg("rec_lrm_add_params: params is NULL");
    ck_assert_int_eq(rec_lrm_add_meta(w, NULL, "v"), REC_E_INVALID);
    ck_msg("rec_lrm_add_meta: key is NULL");
    ck_assert_int_eq(rec_lrm_add_meta(w, "k", NULL), REC_E_INVALID);
    ck_msg("rec_lrm_add_meta: value is NULL");
    ck_assert_int_eq(rec_lrm_add_meta(w, "a key", "v"), REC_E_INVALID);
    ck_msg("rec_lrm_add_meta: bad key 'a key'");
    ck_assert_int_eq(rec_lrm_add_tensor(NULL, "t", REC_LRM_F32, 2, shape, x), REC_E_INVALID);
    ck_msg("rec_lrm_add_tensor: writer is NULL");
    ck_assert_int_eq(rec_lrm_add_tensor(w, NULL, REC_LRM_F32, 2, shape, x), REC_E_INVALID);
    ck_msg("rec_lrm_add_tensor: name is NULL");
    ck_assert_int_eq(rec_lrm_add_tensor(w, "t", (rec_lrm_dtype)9, 2, shape, x), REC_E_INVALID);
    ck_msg("rec_lrm_add_tensor: 't': unknown dtype 9");
    ck_assert_int_eq(rec_lrm_add_tensor(w, "t", REC_LRM_F32, 5, shape, x), REC_E_INVALID);
    ck_msg("nd = 5 is outside [0, 4]");
    ck_assert_int_eq(rec_lrm_add_tensor(w, "t", REC_LRM_F32, 2, NULL, x), REC_E_INVALID);
    ck_msg("'t': shape is NULL");
    ck_assert_int_eq(rec_lrm_add_tensor(w, "t", REC_LRM_F32, 2, shape, NULL), REC_E_INVALID);
    ck_msg("'t': data is NULL");
    shape[1] = -2;
    ck_assert_int_eq(rec_lrm_add_tensor(w, "t", REC_LRM_F32, 2, shape, x), REC_E_INVALID);
    ck_msg("shape[1] = -2 is negative");
    shape[1] = INT64_MAX;
    ck_assert_int_eq(rec_lrm_add_tensor(w, "t", REC_LRM_F32, 2, shape, x), REC_E_RANGE);
    ck_msg("shape too large");
    shape[1] = 2;
    ck_assert_int_eq(rec_lrm_add_tensor(w, "t\n", REC_LRM_F32, 2, shape, x), REC_E_INVALID);
    ck_msg("bad name");
    ck_assert_int_eq(rec_lrm_add_tensor(w, "t", REC_LRM_F32, 2, shape, x), REC_OK);
    ck_assert_int_eq(rec_lrm_add_tensor(w, "t", REC_LRM_F32, 2, shape, x), REC_E_INVALID);
    ck_msg("'t' was already added");
    ck_assert_int_eq(rec_lrm_add_blob(w, "t", x, 3), REC_OK);   /* its own namespace */
    ck_assert_int_eq(rec_lrm_add_blob(w, "b", NULL, 3), REC_E_INVALID);
    ck_msg("rec_lrm_add_blob: 'b': data is NULL");
    ck_assert_int_eq(rec_lrm_add_blob(w, NULL, x, 3), REC_E_INVALID);
    ck_msg("rec_lrm_add_blob: name is NULL");
    ck_assert_int_eq(rec_lrm_save(NULL, "x"), REC_E_INVALID);
    ck_msg("rec_lrm_save: writer is NULL");
    ck_assert_int_eq(rec_lrm_save(w, NULL), REC_E_INVALID);
    ck_msg("rec_lrm_save: path is NULL");
    ck_assert_int_eq(rec_lrm_save(w, ""), REC_E_INVALID);
    ck_msg("rec_lrm_save: path is empty");
    ck_assert_int_eq(rec_lrm_save_mem(w, NULL, &len), REC_E_INVALID);
    ck_msg("rec_lrm_save_mem: bytes or len is NULL");

    ck_assert_int_eq(rec_lrm_open(NULL, &r), REC_E_INVALID);
    ck_assert_ptr_null(r);
    ck_msg("rec_lrm_open: path is NULL");
    ck_assert_int_eq(rec_lrm_open("x", NULL), REC_E_INVALID);
    ck_msg("rec_lrm_open: out is NULL");
    ck_assert_int_eq(rec_lrm_open_mem(NULL, 10, &r), REC_E_INVALID);
    ck_msg("rec_lrm_open_mem: bytes is NULL");

    void *mem;
    ck_assert_int_eq(rec_lrm_save_mem(w, &mem, &len), REC_OK);
    ck_assert_int_eq(rec_lrm_open_mem(mem, len, &r), REC_OK);
    ck_assert_int_eq(rec_lrm_tensor(NULL, "t", REC_LRM_F32, 2, shape, &d), REC_E_INVALID);
    ck_msg("rec_lrm_tensor: reader is NULL");
    ck_assert_int_eq(rec_lrm_tensor(r, NULL, REC_LRM_F32, 2, shape, &d), REC_E_INVALID);
    ck_msg("rec_lrm_tensor: name is NULL");
    ck_assert_int_eq(rec_lrm_tensor(r, "t", REC_LRM_F32, 2, shape, NULL), REC_E_INVALID);
    ck_msg("rec_lrm_tensor: data is NULL");
    ck_assert_int_eq(rec_lrm_tensor(r, "t", REC_LRM_F32, -1, shape, &d), REC_E_INVALID);
    ck_assert_int_eq(rec_lrm_tensor(r, "u", REC_LRM_F32, 2, shape, &d), REC_E_FORMAT);
    ck_msg("<memory>: no tensor 'u'");
    ck_assert_int_eq(rec_lrm_tensor(r, "t", REC_LRM_I32, 2, shape, &d), REC_E_FORMAT);
    ck_msg("<memory>: tensor 't' is f32, expected i32");
    ck_assert_int_eq(rec_lrm_tensor(r, "t", REC_LRM_F32, 1, shape, &d), REC_E_FORMAT);
    ck_msg("<memory>: tensor 't' has shape 2x2, expected 1 dimensions");
    ck_assert_int_eq(rec_lrm_tensor_expect(r, "t", REC_LRM_F32, 2, NULL, &d), REC_E_INVALID);
    ck_msg("rec_lrm_tensor_expect: want is NULL");
    ck_assert_int_eq(rec_lrm_tensor_at(r, 1, NULL, NULL, NULL, NULL, NULL, NULL), REC_E_RANGE);
    ck_msg("rec_lrm_tensor_at: index 1 >= count 1");
    ck_assert_int_eq(rec_lrm_blob(r, "t", &d, NULL), REC_E_INVALID);
    ck_msg("rec_lrm_blob: data or len is NULL");
    ck_assert_int_eq(rec_lrm_blob(r, "b", &d, &len), REC_E_FORMAT);
    ck_msg("<memory>: no blob 'b'");
    ck_assert_int_eq(rec_lrm_blob_at(r, 1, &s, &d, &len), REC_E_RANGE);
    ck_assert_int_eq(rec_lrm_meta(r, NULL, &s), REC_E_INVALID);
    ck_msg("rec_lrm_meta: key is NULL");
    ck_assert_int_eq(rec_lrm_meta(NULL, "k", &s), REC_E_INVALID);
    ck_assert_int_eq(rec_lrm_meta_at(r, 5, &s, &s), REC_E_RANGE);
    rec_params *p = (rec_params *)1;
    ck_assert_int_eq(rec_lrm_params(NULL, &p), REC_E_INVALID);
    ck_assert_ptr_null(p);
    ck_msg("rec_lrm_params: reader is NULL");
    ck_assert_ptr_null(rec_lrm_kind(NULL));
    ck_assert_uint_eq(rec_lrm_tensor_count(NULL), 0);
    rec_lrm_close(r);
    rec_free(mem, len);
    rec_lrm_writer_destroy(w);
    rec_lrm_writer_destroy(NULL);
    rec_lrm_close(NULL);
}
END_TEST

Suite *rec_lrm_suite(void)
{
    Suite *s = suite_create("lrm");
    TCase *tc = tcase_create("lrm");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, crc32c_known_values);
    tcase_add_test(tc, round_trip_file_and_memory);
    tcase_add_test(tc, minimal_model_and_overwrite);
    tcase_add_test(tc, every_byte_flip_is_rejected);
    tcase_add_test(tc, every_truncation_is_rejected);
    tcase_add_test(tc, foreign_and_missing_files);
    tcase_add_test(tc, versions_and_byte_order);
    tcase_add_test(tc, malformed_sections_with_valid_crcs);
    tcase_add_test(tc, save_into_missing_directory);
    tcase_add_test(tc, failed_save_keeps_old_file);
    tcase_add_test(tc, write_error_keeps_old_file);
    tcase_add_test(tc, allocation_failure_in_build_and_save);
    tcase_add_test(tc, allocation_failure_in_load);
    tcase_add_test(tc, bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}
