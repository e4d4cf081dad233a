/* libFuzzer target for the .lrm reader: the bytes go through the same parser
 * as rec_lrm_open, twice: as given (so the header and CRC checks are fuzzed),
 * then with their CRCs recomputed (so mutations reach the section parsers
 * behind the CRCs).  Every accessor is then exercised on what loaded, and
 * every byte it hands out is read so ASan sees any out-of-bounds pointer. */
#include "core/lrm-impl.h"
#include "lrm_fix_crcs.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static volatile unsigned sink;

static void touch(const void *p, size_t n)
{
    const unsigned char *b = p;
    unsigned acc = 0;
    for (size_t i = 0; i < n; i++)
        acc += b[i];
    sink += acc;
}

static void exercise(const rec_lrm_reader *r)
{
    const char *kind = rec_lrm_kind(r);
    touch(kind, strlen(kind));
    rec_params *p;
    if (rec_lrm_params(r, &p) == REC_OK) {
        size_t n = 0;
        rec_params_count(p, &n);
        sink += (unsigned)n;
        rec_params_destroy(p);
    }
    for (size_t i = 0; i < rec_lrm_meta_count(r); i++) {
        const char *k, *v, *again;
        if (rec_lrm_meta_at(r, i, &k, &v) == REC_OK) {
            touch(v, strlen(v));
            if (rec_lrm_meta(r, k, &again) != REC_OK || again != v)
                abort();
        }
    }
    for (size_t i = 0; i < rec_lrm_tensor_count(r); i++) {
        const char *name;
        rec_lrm_dtype dt;
        int nd;
        int64_t shape[REC_LRM_MAX_DIMS];
        const void *d, *d2;
        size_t bytes;
        if (rec_lrm_tensor_at(r, i, &name, &dt, &nd, shape, &d, &bytes) != REC_OK)
            abort();
        touch(d, bytes);
        if (bytes && ((uintptr_t)d & 63))
            abort();   /* tensor data must be 64-byte aligned */
        if (rec_lrm_tensor(r, name, dt, nd, NULL, &d2) != REC_OK || d2 != d)
            abort();
        if (rec_lrm_tensor_expect(r, name, dt, nd, shape, &d2) != REC_OK)
            abort();
    }
    for (size_t i = 0; i < rec_lrm_blob_count(r); i++) {
        const char *name;
        const void *d;
        size_t len;
        if (rec_lrm_blob_at(r, i, &name, &d, &len) != REC_OK)
            abort();
        touch(d, len);
    }
}

static void load(const uint8_t *data, size_t size)
{
    rec_lrm_reader *r;
    if (rec_lrm_open_mem(data, size, &r) == REC_OK) {
        exercise(r);
        rec_lrm_close(r);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load(data, size);
    if (size >= 64) {
        uint8_t *copy = malloc(size);
        if (!copy)
            return 0;
        memcpy(copy, data, size);
        rec_lrm_fix_crcs(copy, size);
        load(copy, size);
        free(copy);
    }
    return 0;
}
