/* Data-parallel training over the threaded communicator: N = 1, 2 and 4
 * ranks, each fitting its shard (or the whole data), end with the
 * parameters of one process fitting everything with the same global batches
 * (within 1e-5 in relative L2 norm: only the order of float sums differs),
 * and with the same bits on every rank; the sparse (row, gradient) path and
 * the dense path for tables whose rows the ranks mostly touch; an error or a
 * cancel on one rank stops every rank with that rank's message. */
#include "testutil.h"
#include "models/model-impl.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define MAXR 4

/* A fitted model's parameters: its tensors as saved, in memory. */
typedef struct snap {
    void *bytes;
    size_t len;
} snap;

static rec_status take(const rec_model *m, snap *s)
{
    rec_lrm_writer *w;
    REC_TRY(rec_lrm_writer_create(m->vt->kind, &w));
    rec_status st = m->vt->save(m, w);
    if (!st)
        st = rec_lrm_save_mem(w, &s->bytes, &s->len);
    rec_lrm_writer_destroy(w);
    return st;
}

/* ||a - b|| / ||b|| over every float of the two snapshots (L2).  A norm,
 * not an entry-wise ratio: a parameter whose true gradient is zero (the key
 * bias of attention: softmax ignores a shift shared by every key) gets a
 * gradient of rounding noise, which Adam turns into steps of size lr
 * whatever the noise's sign, so its entries differ at 1e-5 while the model
 * does not. */
static double rel_diff(const snap *a, const snap *b)
{
    rec_lrm_reader *ra, *rb;
    ck_assert_int_eq(rec_lrm_open_mem(a->bytes, a->len, &ra), REC_OK);
    ck_assert_int_eq(rec_lrm_open_mem(b->bytes, b->len, &rb), REC_OK);
    ck_assert_uint_eq(rec_lrm_tensor_count(ra), rec_lrm_tensor_count(rb));
    double dd = 0, yy = 0;
    for (size_t i = 0; i < rec_lrm_tensor_count(ra); i++) {
        const char *na, *nb;
        rec_lrm_dtype da, db;
        int nda, ndb;
        int64_t sa[8], sb[8];
        const void *pa, *pb;
        size_t la, lb;
        ck_assert_int_eq(rec_lrm_tensor_at(ra, i, &na, &da, &nda, sa, &pa, &la), REC_OK);
        ck_assert_int_eq(rec_lrm_tensor_at(rb, i, &nb, &db, &ndb, sb, &pb, &lb), REC_OK);
        ck_assert_str_eq(na, nb);
        ck_assert_uint_eq(la, lb);
        if (da != REC_LRM_F32) {
            ck_assert(la == 0 || !memcmp(pa, pb, la));
            continue;
        }
        const float *x = pa, *y = pb;
        for (size_t k = 0; k < la / 4; k++) {
            double e = (double)x[k] - y[k];
            dd += e * e;
            yy += (double)y[k] * y[k];
        }
    }
    rec_lrm_close(ra);
    rec_lrm_close(rb);
    return yy > 0 ? sqrt(dd / yy) : sqrt(dd);
}

static void snap_free(snap *s)
{
    rec_free(s->bytes, s->len);
    s->bytes = NULL;
}

typedef struct job {
    const char *kind;
    const char *const *kv;
    int nkv;
    const rec_dataset *d;
    int shard;          /* 1: each rank fits rec_dataset_shard, 0: all of d */
    int cancel_rank;    /* a rank whose progress callback stops at epoch 2 */
    snap out[MAXR];
    char msg[MAXR][512];
} job;

static rec_model *make(const job *j)
{
    rec_params *p;
    ck_assert_int_eq(rec_params_create(&p), REC_OK);
    for (int k = 0; k < j->nkv; k++)
        ck_assert_int_eq(rec_params_parse(p, j->kv[k]), REC_OK);
    rec_model *m;
    ck_assert_msg(rec_model_create(&m, j->kind, p) == REC_OK, "%s", rec_last_error());
    rec_params_destroy(p);
    return m;
}

static int stop_at_2(void *user, int epoch, int epochs, double loss)
{
    return epoch == 2;
}

static rec_status fit_rank(rec_comm *c, int rank, void *arg)
{
    job *j = arg;
    rec_dataset *part = NULL;
    const rec_dataset *d = j->d;
    if (j->shard) {
        REC_TRY(rec_dataset_shard(j->d, rank, rec_comm_size(c), &part));
        d = part;
    }
    rec_model *m = make(j);
    rec_status st = rec_model_set_comm(m, c);
    if (!st)
        st = rec_model_fit(m, d, rank == j->cancel_rank ? stop_at_2 : NULL, NULL);
    snprintf(j->msg[rank], sizeof j->msg[rank], "%s", st ? rec_last_error() : "");
    if (!st)
        st = take(m, &j->out[rank]);
    rec_model_destroy(m);
    rec_dataset_destroy(part);
    return st;
}

/* Fits kind alone, then at 1, 2 and 4 ranks (sharded, then not), and
 * compares; returns the worst relative difference seen. */
static double check_kind_tol(const char *kind, const char *const *kv, int nkv,
                             const rec_dataset *d, int shards, double tol)
{
    job j = { .kind = kind, .kv = kv, .nkv = nkv, .d = d, .cancel_rank = -1 };
    rec_model *ref = make(&j);
    ck_assert_msg(rec_model_fit(ref, d, NULL, NULL) == REC_OK, "%s", rec_last_error());
    snap want;
    ck_assert_int_eq(take(ref, &want), REC_OK);
    rec_model_destroy(ref);
    double worst = 0;
    for (int shard = shards; shard >= 0; shard--) {
        for (int n = 1; n <= MAXR; n *= 2) {
            j.shard = shard;
            tu_ranks(n, fit_rank, &j, NULL);
            double e = rel_diff(&j.out[0], &want);
            ck_assert_msg(e <= tol, "%s at %d ranks (shard %d): relative difference %g",
                          kind, n, shard, e);
            if (n == 1)
                ck_assert_msg(e == 0, "%s: 1 rank differs from no communicator (%g)", kind, e);
            worst = fmax(worst, e);
            for (int r = 0; r < n; r++) { /* every rank holds the same bits */
                ck_assert_uint_eq(j.out[r].len, j.out[0].len);
                ck_assert_msg(rel_diff(&j.out[r], &j.out[0]) == 0, "%s: rank %d differs", kind,
                              r);
            }
            for (int r = 0; r < n; r++)
                snap_free(&j.out[r]);
        }
    }
    snap_free(&want);
    return worst;
}

static double check_kind_on(const char *kind, const char *const *kv, int nkv,
                            const rec_dataset *d, int shards)
{
    return check_kind_tol(kind, kv, nkv, d, shards, 1e-5);
}

static double check_kind(const char *kind, const char *const *kv, int nkv, const rec_dataset *d)
{
    return check_kind_on(kind, kv, nkv, d, 1);
}

/* Large tables, small batches: each rank sends its (row, gradient) pairs. */
START_TEST(mf_sparse_rows_match_one_process)
{
    rec_dataset *d = tu_generate(400, 300, 6);
    static const char *const kv[] = { "dim=8", "epochs=3", "batch=32", "optimizer=sgd",
                                      "lr=0.05" };
    check_kind("mf", kv, 5, d);
    static const char *const adam[] = { "dim=8", "epochs=3", "batch=32", "optimizer=adam" };
    check_kind("mf", adam, 4, d);
    rec_dataset_destroy(d);
}
END_TEST

/* Small tables: the ranks touch most rows, the tables go dense. */
START_TEST(mf_dense_rows_match_one_process)
{
    rec_dataset *d = tu_generate(40, 30, 8);
    static const char *const kv[] = { "dim=6", "epochs=4", "batch=64", "optimizer=adagrad",
                                      "lr=0.05" };
    check_kind("mf", kv, 5, d);
    rec_dataset_destroy(d);
}
END_TEST

/* Dense layers (one fused allreduce) and embeddings; the loss is a mean
 * over kept negative slots, which the ranks weigh in by. */
START_TEST(dnn_matches_one_process)
{
    rec_dataset *d = tu_generate(200, 150, 6);
    static const char *const kv[] = { "epochs=2", "batch=64", "dropout=0", "negatives=3" };
    check_kind("dnn", kv, 4, d);
    rec_dataset_destroy(d);
}
END_TEST

/* Towers with sampled negatives (in-batch InfoNCE couples the whole batch:
 * not split over ranks, see rec_model_set_comm(3)).  Every rank gets the
 * whole dataset: the user tower reads each user's history, which the model
 * keeps, and a shard's model would keep only its own users'. */
START_TEST(twotower_bce_matches_one_process)
{
    rec_dataset *d = tu_generate(200, 150, 6);
    static const char *const kv[] = { "epochs=2", "batch=64", "loss=bce", "neg_hard=0" };
    check_kind_on("twotower", kv, 4, d, 0);
    rec_dataset_destroy(d);
}
END_TEST

/* Examples are users' sequences: every rank gets the whole dataset.  Adam
 * on attention's key bias (true gradient zero, rounding noise in practice:
 * steps of lr in either direction) and 8 steps put sasrec at 1.4e-5, hence
 * 3e-5 here. */
START_TEST(sasrec_matches_one_process_and_refuses_shards)
{
    rec_dataset *d = tu_generate(120, 80, 10);
    static const char *const kv[] = { "epochs=2", "batch=32", "dropout=0", "maxlen=8" };
    check_kind_tol("sasrec", kv, 4, d, 0, 3e-5);
    job j = { .kind = "sasrec", .kv = kv, .nkv = 4, .d = d, .shard = 1, .cancel_rank = -1 };
    rec_status st[2];
    tu_ranks(2, fit_rank, &j, st);
    for (int r = 0; r < 2; r++) {
        ck_assert_int_eq(st[r], REC_E_UNSUPPORTED);
        ck_assert_str_eq(j.msg[r], "rec_trainer_run: this model's examples are not the "
                                   "dataset's rows, so it cannot train on shards: give every "
                                   "rank the whole dataset (each still computes its part of "
                                   "every batch) (rank 0)");
    }
    rec_dataset_destroy(d);
}
END_TEST

/* Propagation over the whole graph on every rank; the batches split. */
START_TEST(lightgcn_matches_one_process)
{
    rec_dataset *d = tu_generate(100, 80, 6);
    static const char *const kv[] = { "epochs=2", "batch=64", "dim=8" };
    check_kind_on("lightgcn", kv, 3, d, 0);
    rec_dataset_destroy(d);
}
END_TEST

/* ALS: each rank solves a block of users, then of items; the same bits as
 * one process, at every rank count (whole dataset on every rank). */
START_TEST(als_blocks_are_bitwise_one_process)
{
    rec_dataset *d = tu_generate(90, 70, 8);
    static const char *const kv[] = { "epochs=3", "dim=6" };
    check_kind_tol("als", kv, 2, d, 0, 0.0);
    static const char *const cg[] = { "epochs=2", "dim=6", "cg_steps=3" };
    check_kind_tol("als", cg, 3, d, 0, 0.0);
    job j = { .kind = "als", .kv = kv, .nkv = 2, .d = d, .shard = 1, .cancel_rank = -1 };
    rec_status st[2];
    tu_ranks(2, fit_rank, &j, st);
    for (int r = 0; r < 2; r++) {
        ck_assert_int_eq(st[r], REC_E_UNSUPPORTED);
        ck_assert_str_eq(j.msg[r], "rec_model_fit(als): an item's solve reads every user's "
                                   "interactions with it: give every rank the whole dataset, "
                                   "not a shard (rank 0)");
    }
    job k = { .kind = "als", .kv = kv, .nkv = 2, .d = d, .shard = 0, .cancel_rank = 2 };
    rec_status cs[3];
    tu_ranks(3, fit_rank, &k, cs);
    for (int r = 0; r < 3; r++) {
        ck_assert_int_eq(cs[r], REC_E_CANCELLED);
        ck_assert_str_eq(k.msg[r], "rec_model_fit(als): cancelled at iteration 2 (rank 2)");
    }
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(cancel_on_one_rank_stops_all)
{
    rec_dataset *d = tu_generate(50, 40, 6);
    static const char *const kv[] = { "dim=4", "epochs=5", "batch=16" };
    job j = { .kind = "mf", .kv = kv, .nkv = 3, .d = d, .shard = 1, .cancel_rank = 1 };
    rec_status st[MAXR];
    tu_ranks(3, fit_rank, &j, st);
    for (int r = 0; r < 3; r++) {
        ck_assert_int_eq(st[r], REC_E_CANCELLED);
        ck_assert_str_eq(j.msg[r], "rec_trainer_run: cancelled at epoch 2 (rank 1)");
    }
    rec_dataset_destroy(d);
}
END_TEST

/* Rank 1 fits the whole data while the others fit shards: refused on all. */
static rec_status mixed_rank(rec_comm *c, int rank, void *arg)
{
    job *j = arg; /* shared by the rank threads: read only */
    rec_dataset *part = NULL;
    if (rank != 1)
        REC_TRY(rec_dataset_shard(j->d, rank, rec_comm_size(c), &part));
    rec_model *m = make(j);
    rec_model_set_comm(m, c);
    rec_status st = rec_model_fit(m, part ? part : j->d, NULL, NULL);
    snprintf(j->msg[rank], sizeof j->msg[rank], "%s", st ? rec_last_error() : "");
    rec_model_destroy(m);
    rec_dataset_destroy(part);
    return st;
}

START_TEST(shards_that_do_not_add_up_are_refused_on_every_rank)
{
    rec_dataset *d = tu_generate(30, 20, 5);
    static const char *const kv[] = { "dim=4", "epochs=1" };
    job j = { .kind = "mf", .kv = kv, .nkv = 2, .d = d, .shard = 1, .cancel_rank = -1 };
    rec_status st[3];
    tu_ranks(3, mixed_rank, &j, st);
    for (int r = 0; r < 3; r++) {
        ck_assert_int_eq(st[r], REC_E_INVALID);
        ck_assert_str_eq(j.msg[r], "rec_trainer_run: the shards hold 302 of 182 examples; give "
                                   "rank r rec_dataset_shard(d, r, size) (rank 0)");
    }
    rec_dataset_destroy(d);
}
END_TEST

START_TEST(shard_keeps_whole_users_and_the_catalog)
{
    rec_dataset *d = tu_generate(30, 20, 5), *s[3];
    int64_t rows = 0;
    for (int r = 0; r < 3; r++) {
        ck_assert_int_eq(rec_dataset_shard(d, r, 3, &s[r]), REC_OK);
        ck_assert_int_eq(rec_ds_num_users(s[r]), rec_ds_num_users(d));
        ck_assert_int_eq(rec_ds_num_items(s[r]), rec_ds_num_items(d));
        rows += rec_ds_num_rows(s[r]);
        const int32_t *u = rec_ds_users_col(s[r]);
        int64_t ng;
        const int64_t *g = rec_ds_global_rows(s[r], &ng);
        ck_assert_int_eq(ng, rec_ds_num_rows(d));
        for (int64_t k = 0; k < rec_ds_num_rows(s[r]); k++) {
            ck_assert_int_eq(u[k] % 3, r);
            ck_assert_int_eq(rec_ds_users_col(d)[g[k]], u[k]);
            ck_assert_int_eq(rec_ds_items_col(d)[g[k]], rec_ds_items_col(s[r])[k]);
            if (k)
                ck_assert_int_lt(g[k - 1], g[k]);
        }
    }
    ck_assert_int_eq(rows, rec_ds_num_rows(d));
    for (int r = 0; r < 3; r++)
        rec_dataset_destroy(s[r]);
    rec_dataset *x = (rec_dataset *)1;
    ck_assert_int_eq(rec_dataset_shard(d, 3, 3, &x), REC_E_RANGE);
    ck_assert_ptr_null(x);
    ck_assert_str_eq(rec_last_error(),
                     "rec_dataset_shard: rank 3 of size 3, want 0 <= rank < size");
    ck_assert_int_eq(rec_dataset_shard(NULL, 0, 1, &x), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_dataset_shard: dataset is NULL");
    rec_dataset_destroy(d);
}
END_TEST

Suite *rec_distributed_suite(void)
{
    Suite *s = suite_create("distributed");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, shard_keeps_whole_users_and_the_catalog);
    tcase_add_test(tc, mf_sparse_rows_match_one_process);
    tcase_add_test(tc, mf_dense_rows_match_one_process);
    tcase_add_test(tc, dnn_matches_one_process);
    tcase_add_test(tc, twotower_bce_matches_one_process);
    tcase_add_test(tc, sasrec_matches_one_process_and_refuses_shards);
    tcase_add_test(tc, lightgcn_matches_one_process);
    tcase_add_test(tc, als_blocks_are_bitwise_one_process);
    tcase_add_test(tc, cancel_on_one_rank_stops_all);
    tcase_add_test(tc, shards_that_do_not_add_up_are_refused_on_every_rank);
    suite_add_tcase(s, tc);
    return s;
}
