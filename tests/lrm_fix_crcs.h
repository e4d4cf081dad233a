/* Test-only helper for crafting .lrm images (tests/lrm_fix_crcs.c). */
#ifndef LIBREC_TESTS_LRM_FIX_CRCS_H
#define LIBREC_TESTS_LRM_FIX_CRCS_H

#include <stddef.h>

/* Recomputes the header, table and section CRCs of a (possibly malformed)
 * image in place, as far as its bounds allow, so mutations reach the parsers
 * behind the CRCs. */
void rec_lrm_fix_crcs(void *bytes, size_t len);

#endif
