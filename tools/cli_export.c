/* `librec export --load M --what items|users --out X.npy`: a fitted model's
 * vectors (rec_model_vectors) as a float32 NumPy matrix, one row per item or
 * user, and their ids beside it in X.tsv (line r: row r's id).  Both files
 * are written under temporary names and renamed, so a failure leaves no
 * half-written file and an existing one untouched. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* X.npy -> X.tsv; any other name gets ".tsv" appended. */
static int ids_path(const char *out, char *buf, size_t cap)
{
    size_t n = strlen(out);
    if (n > 4 && !strcmp(out + n - 4, ".npy"))
        n -= 4;
    return snprintf(buf, cap, "%.*s.tsv", (int)n, out) < (int)cap;
}

static int write_ids(const rec_model *m, int users, size_t n, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "librec: %s: cannot create: %s\n", path, strerror(errno));
        return 1;
    }
    int ok = 1;
    for (size_t r = 0; ok && r < n; r++) {
        const char *id;
        rec_status st = users ? rec_model_user_id(m, (int32_t)r, &id)
                              : rec_model_item_id(m, (int32_t)r, &id);
        ok = !st && fprintf(f, "%s\n", id) > 0;
    }
    ok = (fclose(f) == 0) && ok;
    if (!ok)
        fprintf(stderr, "librec: %s: write failed\n", path);
    return !ok;
}

int cli_export(cli_opts *o)
{
    if (!o->load || !o->out || !o->what)
        return cli_usage_error("%s", "export needs --load FILE.lrm --what items|users --out X.npy");
    int users = !strcmp(o->what, "users");
    if (!users && strcmp(o->what, "items"))
        return cli_usage_error("--what '%s': want items or users", o->what);
    char tsv[4096], tmp_npy[4200], tmp_tsv[4200];
    if (!ids_path(o->out, tsv, sizeof tsv))
        return cli_usage_error("%s", "--out: path too long");
    snprintf(tmp_npy, sizeof tmp_npy, "%s.tmp-%ld", o->out, (long)getpid());
    snprintf(tmp_tsv, sizeof tmp_tsv, "%s.tmp-%ld", tsv, (long)getpid());
    rec_model *m;
    rec_status st = rec_model_load(&m, o->load);
    if (st)
        return cli_fail(st, o->load);
    size_t n = 0;
    int dim = 0, rc = 0;
    st = users ? rec_model_num_users(m, &n) : rec_model_num_items(m, &n);
    if (!st)
        st = rec_model_vectors(m, users ? REC_SIDE_USER : REC_SIDE_ITEM, NULL, 0, &dim);
    float *x = NULL;
    if (!st && !(x = malloc((n ? n : 1) * (size_t)dim * sizeof *x)))
        st = REC_E_NOMEM;
    if (!st)
        st = rec_model_vectors(m, users ? REC_SIDE_USER : REC_SIDE_ITEM, x, n * (size_t)dim, &dim);
    if (st)
        rc = cli_fail(st, "export");
    if (!rc)
        rc = cli_npy_write(tmp_npy, x, n, (size_t)dim);
    if (!rc)
        rc = write_ids(m, users, n, tmp_tsv);
    if (!rc && (rename(tmp_npy, o->out) || rename(tmp_tsv, tsv))) {
        fprintf(stderr, "librec: %s: cannot rename into place: %s\n", o->out, strerror(errno));
        rc = 1;
    }
    if (rc) {
        remove(tmp_npy);
        remove(tmp_tsv);
    } else if (!o->quiet) {
        fprintf(stderr, "librec: wrote %zu %s vectors of dim %d to %s, their ids to %s\n", n,
                users ? "user" : "item", dim, o->out, tsv);
    }
    free(x);
    rec_model_destroy(m);
    return rc;
}
