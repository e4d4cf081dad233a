/* The .lrm model file container (internal): every model's save and load
 * goes through a writer and a reader defined here.
 *
 * File layout (all integers little-endian, fixed width):
 *
 *   header   64 bytes at 0
 *      0  char magic[8]      "LRECMDL\0"
 *      8  u16 major, u16 minor   format version (REC_LRM_MAJOR/MINOR)
 *     12  u32 byte-order mark    0x01020304
 *     16  u32 nsections      number of section table entries
 *     20  u32 names_len      bytes of the section name pool
 *     24  u64 file_len       total bytes in the file
 *     32  u32 table_crc      CRC32C of the table entries and the name pool
 *     36  u32 flags          0
 *     40  20 reserved bytes  0
 *     60  u32 header_crc     CRC32C of bytes [0, 60)
 *   table    nsections entries of 32 bytes at 64, then the name pool
 *      0  u32 type           REC_LRM_SEC_*
 *      4  u32 name_off       offset of a NUL-terminated name in the pool
 *      8  u64 offset, 16 u64 length   the section's bytes in the file
 *     24  u32 crc            CRC32C of the section's bytes
 *     28  u32 reserved       0
 *   sections, each at a 64-byte aligned offset, one after the other in table
 *   order; the gaps (to the next multiple of 64) are zero.  The file ends
 *   where the last section ends.
 *
 * A newer major version is refused with a message saying so; a newer minor
 * version may only add section types, which this reader skips.
 *
 * Every byte is checked: the header and table by their CRCs, sections by
 * theirs, padding by being zero, so any corruption is REC_E_FORMAT.
 *
 * Sections: "kind" (the model kind, NUL-terminated), "meta" (string pairs),
 * "params" (typed key/values), then any number of named tensors (a 64-byte
 * descriptor, then the data, so tensor data is 64-byte aligned in the file and
 * in a read-only mapping of it) and named blobs (raw bytes). */
#ifndef LIBREC_LRM_IMPL_H
#define LIBREC_LRM_IMPL_H

#include "core-impl.h"

#include <stddef.h>
#include <stdint.h>

#define REC_LRM_MAJOR 1
#define REC_LRM_MINOR 0
#define REC_LRM_MAX_DIMS 4
#define REC_LRM_MAX_SECTIONS 4096   /* tensors + blobs + 3                 */
#define REC_LRM_MAX_ENTRIES 4096    /* metadata pairs, parameters          */
#define REC_LRM_MAX_NAME 255        /* bytes in a name, key or kind        */

/* ---- CRC32C (Castagnoli), chainable: crc(crc(0, a), b) == crc(0, a||b) ---- */
uint32_t rec_crc32c(uint32_t crc, const void *p, size_t n);
/* The portable slicing-by-8 path, for tests that compare it with the
 * hardware one. */
uint32_t rec_crc32c_sw(uint32_t crc, const void *p, size_t n);

typedef enum rec_lrm_dtype {
    REC_LRM_F32 = 1,
    REC_LRM_I32 = 2,
    REC_LRM_I64 = 3,
    REC_LRM_U8 = 4
} rec_lrm_dtype;

enum {
    REC_LRM_SEC_KIND = 1,
    REC_LRM_SEC_META = 2,
    REC_LRM_SEC_PARAMS = 3,
    REC_LRM_SEC_TENSOR = 4,
    REC_LRM_SEC_BLOB = 5
};

size_t rec_lrm_dtype_size(rec_lrm_dtype dt);   /* 0 for an unknown dtype */

/* ---- writer ----------------------------------------------------------------
 * Collects what a model saves; nothing touches the disk until rec_lrm_save.
 * Tensor and blob data are NOT copied: they must stay valid and unchanged
 * until the save returns.  Names of tensors and blobs: 1..255 printable ASCII
 * characters without spaces, unique among tensors (resp. blobs).  A writer
 * is used by one thread at a time. */
typedef struct rec_lrm_writer rec_lrm_writer;

/* kind: the model kind ("als", "sasrec"); metadata "librec.version" and
 * "librec.created" (UTC, ISO 8601) are added here and may be replaced. */
rec_status rec_lrm_writer_create(const char *kind, rec_lrm_writer **out);
void rec_lrm_writer_destroy(rec_lrm_writer *w);
/* Serialises every key of p with its type and value (p may be destroyed
 * afterwards); a second call replaces the first. */
rec_status rec_lrm_add_params(rec_lrm_writer *w, const rec_params *p);
/* Metadata string pair; an existing key's value is replaced.  Keys use the
 * params charset (letters, digits, _ . - @); values are any text without NUL.
 * Models pass "data.fingerprint" and "metrics.<name>" here. */
rec_status rec_lrm_add_meta(rec_lrm_writer *w, const char *key, const char *value);
/* nd in [0, 4] (0: a scalar), shape[i] >= 0; data may be NULL only when the
 * tensor is empty. */
rec_status rec_lrm_add_tensor(rec_lrm_writer *w, const char *name, rec_lrm_dtype dt, int nd,
                              const int64_t *shape, const void *data);
rec_status rec_lrm_add_blob(rec_lrm_writer *w, const char *name, const void *data, size_t len);
/* Writes path.tmp-<pid>-<n> in path's directory, fsyncs it, renames it over
 * path and fsyncs the directory.  On any failure the temporary file is
 * removed and an existing file at path is left untouched.  REC_E_IO for
 * open/write/rename failures, REC_E_NOMEM, REC_E_INVALID.  The writer may be
 * saved again. */
rec_status rec_lrm_save(rec_lrm_writer *w, const char *path);
/* The same bytes into memory: *bytes from rec_malloc, free with
 * rec_free(*bytes, *len).  For tests and the fuzz corpus. */
rec_status rec_lrm_save_mem(rec_lrm_writer *w, void **bytes, size_t *len);

/* ---- reader ----------------------------------------------------------------
 * Opening validates the whole file (see the layout above): on success every
 * accessor below returns data that is in bounds and well formed.  Errors:
 * REC_E_FORMAT "<path>: <what>" for anything malformed, REC_E_IO when the file
 * cannot be opened or read, REC_E_NOMEM.  The file is memory-mapped read-only
 * (or read into 64-byte aligned memory when mapping fails); tensor and blob
 * pointers stay valid until rec_lrm_close.  rec_lrm_save replaces a file by
 * rename, never in place, so a mapping of the old file stays valid; a file
 * truncated in place by another program while mapped may fault (SIGBUS), as
 * with any mmap.  A reader is read-only after open: any number of threads may
 * call its accessors at once. */
typedef struct rec_lrm_reader rec_lrm_reader;

rec_status rec_lrm_open(const char *path, rec_lrm_reader **out);
/* Same from memory ("<memory>" in messages).  The bytes are used in place
 * when 64-byte aligned (they must then outlive the reader), else copied. */
rec_status rec_lrm_open_mem(const void *bytes, size_t len, rec_lrm_reader **out);
void rec_lrm_close(rec_lrm_reader *r);

const char *rec_lrm_kind(const rec_lrm_reader *r);
void rec_lrm_format_version(const rec_lrm_reader *r, int *major, int *minor);
/* A fresh rec_params with the saved keys; destroy it with rec_params_destroy. */
rec_status rec_lrm_params(const rec_lrm_reader *r, rec_params **out);
/* REC_E_NOTFOUND (with a message) when the key is absent: metadata is optional. */
rec_status rec_lrm_meta(const rec_lrm_reader *r, const char *key, const char **value);
size_t rec_lrm_meta_count(const rec_lrm_reader *r);
rec_status rec_lrm_meta_at(const rec_lrm_reader *r, size_t i, const char **key,
                           const char **value);

/* The tensor `name`, which must have dtype dt and nd dimensions: REC_E_FORMAT
 * naming the file and tensor when it is missing or differs.  shape_out
 * (REC_LRM_MAX_DIMS entries, may be NULL) receives the shape, *data the
 * 64-byte aligned data (NULL for an empty tensor). */
rec_status rec_lrm_tensor(const rec_lrm_reader *r, const char *name, rec_lrm_dtype dt, int nd,
                          int64_t *shape_out, const void **data);
/* Same, and the shape must equal want (an entry < 0 matches any size). */
rec_status rec_lrm_tensor_expect(const rec_lrm_reader *r, const char *name, rec_lrm_dtype dt,
                                 int nd, const int64_t *want, const void **data);
size_t rec_lrm_tensor_count(const rec_lrm_reader *r);
/* 1 when the file has a tensor `name` (an optional part of a model). */
int rec_lrm_has_tensor(const rec_lrm_reader *r, const char *name);
rec_status rec_lrm_tensor_at(const rec_lrm_reader *r, size_t i, const char **name,
                             rec_lrm_dtype *dt, int *nd, int64_t *shape_out,
                             const void **data, size_t *bytes);
/* The blob `name`: REC_E_FORMAT when missing. */
rec_status rec_lrm_blob(const rec_lrm_reader *r, const char *name, const void **data,
                        size_t *len);
size_t rec_lrm_blob_count(const rec_lrm_reader *r);
rec_status rec_lrm_blob_at(const rec_lrm_reader *r, size_t i, const char **name,
                           const void **data, size_t *len);

/* ---- parameter stores (pstore_file.c) ------------------------------------
 * Every parameter of ps as the F32 tensor "<prefix><name>"; load checks each
 * shape against the store (built from the model's params first) and copies. */
typedef struct rec_pstore rec_pstore;
rec_status rec_pstore_save(const rec_pstore *ps, rec_lrm_writer *w, const char *prefix,
                           const char *fn);
rec_status rec_pstore_load(rec_pstore *ps, const rec_lrm_reader *r, const char *prefix,
                           const char *fn);

#endif
