/* Test-only: recomputes the CRCs of a crafted .lrm image so mutations reach
 * the parsers behind them (check_lrm.c and the fuzz target). */
#include "lrm_fix_crcs.h"

#include "core/lrm_format-impl.h"

void rec_lrm_fix_crcs(void *bytes, size_t len)
{
    unsigned char *b = bytes;
    if (!b || len < HDR_LEN)
        return;
    uint64_t nsec = get32(b + 16), names_len = get32(b + 20);
    uint64_t table_len = nsec * ENT_LEN + names_len;
    if (table_len <= len - HDR_LEN) {
        for (uint64_t i = 0; i < nsec; i++) {
            unsigned char *e = b + HDR_LEN + i * ENT_LEN;
            uint64_t off = get64(e + 8), sl = get64(e + 16);
            if (off <= len && sl <= len - off)
                put32(e + 24, rec_crc32c(0, b + off, (size_t)sl));
        }
        put32(b + 32, rec_crc32c(0, b + HDR_LEN, (size_t)table_len));
    }
    put32(b + 60, rec_crc32c(0, b, 60));
}
