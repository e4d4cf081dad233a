/* Comma lists in parameter values ("64,64", "genre, year", "ndcg@10,recall@10"):
 * one walker and one integer reader for every key that takes a list. */
#include "core-impl.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void rec_list_start(rec_list_iter *it, const char *list)
{
    const char *p = list;
    while (*p && isspace((unsigned char)*p))
        p++;
    it->next = *p ? list : NULL;
}

int rec_list_next(rec_list_iter *it, const char **entry, size_t *len)
{
    const char *p = it->next;
    if (!p)
        return 0;
    const char *c = strchr(p, ','), *e = c ? c : p + strlen(p);
    while (p < e && isspace((unsigned char)*p))
        p++;
    while (e > p && isspace((unsigned char)e[-1]))
        e--;
    *entry = p;
    *len = (size_t)(e - p);
    it->next = c ? c + 1 : NULL;
    return 1;
}

rec_status rec_list_ints(const char *list, int64_t lo, int64_t hi, int64_t *out, int max, int *n,
                         const char *fn, const char *key)
{
    rec_list_iter it;
    const char *s;
    size_t len;
    *n = 0;
    rec_list_start(&it, list);
    while (rec_list_next(&it, &s, &len)) {
        char buf[32], *end;
        long long v = 0;
        int ok = len > 0 && len < sizeof buf;
        if (ok) {
            memcpy(buf, s, len);
            buf[len] = 0;
            errno = 0;
            v = strtoll(buf, &end, 10);
            ok = *end == 0 && errno == 0 && isdigit((unsigned char)buf[len - 1]) && v >= lo
                 && v <= hi;
        }
        if (!ok)
            return rec_err(REC_E_INVALID,
                           "%s: %s: expected integers in %lld..%lld separated by commas, "
                           "got '%s'",
                           fn, key, (long long)lo, (long long)hi, list);
        if (*n == max)
            return rec_err(REC_E_INVALID, "%s: %s: at most %d values, got '%s'", fn, key, max,
                           list);
        out[(*n)++] = v;
    }
    return REC_OK;
}
