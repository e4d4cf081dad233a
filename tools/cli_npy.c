/* NumPy .npy files of float32 matrices (format 1.0 written; 1.0 to 3.0
 * read): the magic "\x93NUMPY", the version, a little-endian header length,
 * a Python dict literal padded with spaces to a multiple of 64 bytes, then
 * the rows.  Only what vectors need: '<f4', C order, 1 or 2 dimensions. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* The value after 'key': in the header dict, or NULL. */
static const char *dict_value(const char *h, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof pat, "'%s':", key);
    const char *p = strstr(h, pat);
    if (!p)
        return NULL;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    return p;
}

int cli_npy_read(const char *path, float **out, size_t *rows, size_t *cols)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "librec: %s: cannot open: %s\n", path, strerror(errno));
        return 1;
    }
    unsigned char pre[12];
    char *hdr = NULL;
    const char *why = NULL;
    size_t hlen = 0, r = 0, c = 1;
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        why = "not a .npy file (no \\x93NUMPY magic)";
    } else if (pre[6] == 1) {
        hlen = pre[8] | (size_t)pre[9] << 8;
    } else if (pre[6] == 2 || pre[6] == 3) {
        if (fread(pre + 10, 1, 2, f) != 2)
            why = "truncated header";
        hlen = pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    } else {
        why = "unknown .npy format version";
    }
    if (!why && (hlen == 0 || hlen > 1 << 20))
        why = "bad header length";
    if (!why && !(hdr = calloc(1, hlen + 1)))
        why = "out of memory";
    if (!why && fread(hdr, 1, hlen, f) != hlen)
        why = "truncated header";
    const char *d = why ? NULL : dict_value(hdr, "descr");
    const char *fo = why ? NULL : dict_value(hdr, "fortran_order");
    const char *sh = why ? NULL : dict_value(hdr, "shape");
    if (!why && (!d || strncmp(d, "'<f4'", 5) != 0))
        why = "dtype is not float32 ('<f4'); convert with x.astype('<f4')";
    if (!why && (!fo || strncmp(fo, "False", 5) != 0))
        why = "Fortran order is not supported; save np.ascontiguousarray(x)";
    if (!why) {
        char *e;
        if (!sh || *sh != '(')
            why = "no shape in the header";
        else {
            r = strtoull(sh + 1, &e, 10);
            while (*e == ' ')
                e++;
            if (e == sh + 1 || *e != ',')
                why = "shape is not (rows,) or (rows, cols)";
            else {
                e++;
                while (*e == ' ')
                    e++;
                if (*e != ')') {
                    const char *s0 = e;
                    c = strtoull(s0, &e, 10);
                    while (*e == ' ' || *e == ',')
                        e++;
                    if (e == s0 || *e != ')')
                        why = "shape has more than 2 dimensions";
                }
            }
        }
    }
    float *x = NULL;
    if (!why && (c == 0 || c > 65536 || r > ((size_t)1 << 40) / c))
        why = "shape out of range";
    if (!why && !(x = malloc(r * c * sizeof *x + 1)))
        why = "out of memory";
    if (!why && fread(x, sizeof *x, r * c, f) != r * c)
        why = "truncated data (fewer rows than the shape says)";
    fclose(f);
    free(hdr);
    if (why) {
        free(x);
        fprintf(stderr, "librec: %s: %s\n", path, why);
        return 1;
    }
    *out = x;
    *rows = r;
    *cols = c;
    return 0;
}

int cli_npy_write(const char *path, const float *x, size_t rows, size_t cols)
{
    char h[128];
    int n = snprintf(h, sizeof h, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }",
                     rows, cols);
    size_t total = ((size_t)n + 10 + 1 + 63) / 64 * 64, hlen = total - 10;
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "librec: %s: cannot create: %s\n", path, strerror(errno));
        return 1;
    }
    unsigned char pre[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 255),
                              (unsigned char)(hlen >> 8) };
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(h, 1, (size_t)n, f) == (size_t)n;
    for (size_t i = (size_t)n; ok && i + 1 < hlen; i++)
        ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF && fwrite(x, sizeof *x, rows * cols, f) == rows * cols;
    ok = (fclose(f) == 0) && ok;
    if (!ok)
        fprintf(stderr, "librec: %s: write failed: %s\n", path, strerror(errno));
    return !ok;
}
