/* A table of external ids: string <-> dense index (0..n-1 in insertion
 * order).  Strings live in one growing arena; lookups use open addressing. */
#ifndef LIBREC_IDTAB_IMPL_H
#define LIBREC_IDTAB_IMPL_H

#include "core-impl.h"

typedef struct rec_idtab rec_idtab;

rec_status rec_idtab_create(rec_idtab **out);
void rec_idtab_destroy(rec_idtab *t);
/* Index of s (len bytes, need not be NUL-terminated), added if new. */
rec_status rec_idtab_add(rec_idtab *t, const char *s, size_t len, int32_t *idx);
/* -1 when absent. */
int32_t rec_idtab_find(const rec_idtab *t, const char *s, size_t len);
const char *rec_idtab_name(const rec_idtab *t, int32_t i);
int32_t rec_idtab_size(const rec_idtab *t);
/* All names back to back, each NUL-terminated (for saving), and its size. */
const char *rec_idtab_blob(const rec_idtab *t, size_t *bytes);
/* Rebuilds a table from such a blob holding exactly n names. */
rec_status rec_idtab_from_blob(rec_idtab **out, const char *blob, size_t bytes, int32_t n);

#endif
