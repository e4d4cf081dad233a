/* Writes the seed corpus for fuzz_lrm into the directory given as argv[1]:
 * small valid models with every section type, generated here rather than
 * committed as binaries. */
#include "core/lrm-impl.h"

#include <stdio.h>
#include <string.h>

static int emit(rec_lrm_writer *w, const char *dir, const char *name)
{
    void *b;
    size_t n;
    char path[1024];
    if (rec_lrm_save_mem(w, &b, &n) != REC_OK)
        return 1;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int bad = !f || fwrite(b, 1, n, f) != n;
    if (f)
        bad |= fclose(f) != 0;
    rec_free(b, n);
    rec_lrm_writer_destroy(w);
    if (bad)
        fprintf(stderr, "gen_seeds: cannot write %s\n", path);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_seeds DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    int bad = 0;
    rec_lrm_writer *w;

    if (rec_lrm_writer_create("popularity", &w) != REC_OK)
        return 1;
    bad |= emit(w, dir, "minimal.lrm");

    rec_params *p;
    if (rec_params_create(&p) != REC_OK)
        return 1;
    rec_params_set_int(p, "dim", 4);
    rec_params_set_float(p, "lr", 0.05);
    rec_params_set_str(p, "loss", "bpr");
    rec_params_set_bool(p, "bias", 1);
    float emb[3][4] = { { 1, 2, 3, 4 }, { -1, -2, -3, -4 }, { 0.5f, 0.25f, 0, 8 } };
    int32_t idx[5] = { 0, 2, 1, 2, 0 };
    int64_t n64 = 3;
    unsigned char mask[6] = { 1, 0, 1, 1, 0, 1 };
    const char ids[] = "alice\0bob\0carol";
    int64_t s2[2] = { 3, 4 }, s1[1] = { 5 }, s6[1] = { 6 }, s0[2] = { 0, 4 };
    if (rec_lrm_writer_create("two_tower", &w) != REC_OK)
        return 1;
    rec_lrm_add_params(w, p);
    rec_lrm_add_meta(w, "librec.created", "2024-01-01T00:00:00Z");
    rec_lrm_add_meta(w, "data.fingerprint", "sha256:0123");
    rec_lrm_add_meta(w, "metrics.ndcg@10", "0.25");
    rec_lrm_add_tensor(w, "user_emb", REC_LRM_F32, 2, s2, emb);
    rec_lrm_add_tensor(w, "idx", REC_LRM_I32, 1, s1, idx);
    rec_lrm_add_tensor(w, "n", REC_LRM_I64, 0, NULL, &n64);
    rec_lrm_add_tensor(w, "mask", REC_LRM_U8, 1, s6, mask);
    rec_lrm_add_tensor(w, "none", REC_LRM_F32, 2, s0, NULL);
    rec_lrm_add_blob(w, "user_ids", ids, sizeof ids);
    rec_lrm_add_blob(w, "empty", NULL, 0);
    bad |= emit(w, dir, "full.lrm");
    rec_params_destroy(p);
    return bad;
}
