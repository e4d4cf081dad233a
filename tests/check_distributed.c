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
 * not split over ranks, see rec_model_set_comm(3)).  The user tower reads
 * each user's history, which the model keeps: on shards every rank fits
 * the gathered whole dataset. */
START_TEST(twotower_bce_matches_one_process)
{
    rec_dataset *d = tu_generate(200, 150, 6);
    static const char *const kv[] = { "epochs=2", "batch=64", "loss=bce", "neg_hard=0" };
    check_kind("twotower", kv, 4, d);
    rec_dataset_destroy(d);
}
END_TEST

/* A declared per-interaction context travels with the rows a fit on shards
 * gathers (rec_ds_unshard): without it every gathered row trained with the
 * context missing and the ranks differed from one process. */
START_TEST(twotower_with_a_declared_context_matches_one_process)
{
    rec_dataset *d = tu_generate(200, 150, 6);
    ck_assert_int_eq(rec_dataset_add_context(d, "device", NULL), REC_OK);
    int64_t n;
    ck_assert_int_eq(rec_dataset_num_interactions(d, &n), REC_OK);
    static const char *dev[] = { "phone", "tv", NULL };
    for (int64_t r = 0; r < n; r++) {
        int32_t u, i;
        rec_dataset_row(d, r, &u, &i, NULL, NULL);
        ck_assert_int_eq(rec_dataset_set_context(d, r, "device", dev[(i + r) % 3]), REC_OK);
    }
    static const char *const kv[] = { "epochs=2", "batch=64", "loss=bce", "neg_hard=0",
                                      "user_features=id,device" };
    check_kind("twotower", kv, 5, d);
    rec_dataset_destroy(d);
}
END_TEST

/* Examples are users' sequences: on shards, every rank fits the gathered
 * whole dataset (each still computes its part of every batch).  Adam on
 * attention's key bias (true gradient zero, rounding noise in practice:
 * steps of lr in either direction) and 8 steps put sasrec at 1.4e-5, hence
 * 3e-5 here. */
START_TEST(sasrec_matches_one_process)
{
    rec_dataset *d = tu_generate(120, 80, 10);
    static const char *const kv[] = { "epochs=2", "batch=32", "dropout=0", "maxlen=8" };
    check_kind_tol("sasrec", kv, 4, d, 1, 3e-5);
    rec_dataset_destroy(d);
}
END_TEST

/* Propagation over the whole graph on every rank (gathered from shards);
 * the batches split. */
START_TEST(lightgcn_matches_one_process)
{
    rec_dataset *d = tu_generate(100, 80, 6);
    static const char *const kv[] = { "epochs=2", "batch=64", "dim=8" };
    check_kind("lightgcn", kv, 3, d);
    rec_dataset_destroy(d);
}
END_TEST

/* ALS: each rank solves a block of users, then of items; the same bits as
 * one process, at every rank count (on shards: of the gathered whole). */
START_TEST(als_blocks_are_bitwise_one_process)
{
    rec_dataset *d = tu_generate(90, 70, 8);
    static const char *const kv[] = { "epochs=3", "dim=6" };
    check_kind_tol("als", kv, 2, d, 1, 0.0);
    static const char *const cg[] = { "epochs=2", "dim=6", "cg_steps=3" };
    check_kind_tol("als", cg, 3, d, 0, 0.0);
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
        ck_assert_str_eq(j.msg[r], "rec_model_fit: rank 1 holds a whole dataset and rank 0 a "
                                   "shard: give every rank its shard (rec_dataset_shard(d, "
                                   "rank, size)) or every rank the whole dataset");
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

/* ---- every rank's model is one process's, beyond the params -------------- */

typedef struct seenjob {
    const char *kind;
    const char *const *kv;
    int nkv;
    const rec_dataset *d;
    const rec_model *ref;  /* fitted alone on all of d */
    int same_lists;        /* 1: the top-k lists must equal ref's too */
    long bad[MAXR];        /* per rank: users whose seen items or list differ */
    char msg[MAXR][512];
} seenjob;

/* Users of rank's model whose seen set, or whose full recommendation list
 * (every item but the seen ones), differs from ref's. */
static long seen_mismatches(const rec_model *m, const rec_model *ref, int same_lists)
{
    long bad = 0;
    if (m->nusers != ref->nusers || m->nitems != ref->nitems ||
        m->fingerprint != ref->fingerprint)
        return -1;
    size_t k = (size_t)ref->nitems;
    const char **items = malloc(k * sizeof *items), **want = malloc(k * sizeof *want);
    for (int32_t u = 0; u < ref->nusers; u++) {
        int64_t a = ref->seen_ptr[u], b = ref->seen_ptr[u + 1];
        int differs = m->seen_ptr[u] != a || m->seen_ptr[u + 1] != b ||
                      memcmp(m->seen + a, ref->seen + a, (size_t)(b - a) * sizeof *m->seen);
        const char *name = rec_idmap_name(ref->users, u);
        size_t n = 0, nw = 0;
        if (rec_model_recommend(m, name, k, 0, items, NULL, &n) ||
            rec_model_recommend(ref, name, k, 0, want, NULL, &nw))
            differs = 1;
        differs |= n != (size_t)(ref->nitems - (b - a)) || n != nw;
        for (size_t j = 0; j < n && !differs; j++) {
            int32_t i = rec_idmap_find(ref->items, items[j], strlen(items[j]));
            for (int64_t e = a; e < b; e++) /* a seen item recommended */
                differs |= ref->seen[e] == i;
            differs |= same_lists && strcmp(items[j], want[j]);
        }
        bad += differs;
    }
    free(items);
    free(want);
    return bad;
}

static rec_status seen_rank(rec_comm *c, int rank, void *arg)
{
    seenjob *j = arg;
    rec_dataset *part;
    REC_TRY(rec_dataset_shard(j->d, rank, rec_comm_size(c), &part));
    job mk = { .kind = j->kind, .kv = j->kv, .nkv = j->nkv };
    rec_model *m = make(&mk);
    rec_model_set_comm(m, c);
    rec_status st = rec_model_fit(m, part, NULL, NULL);
    snprintf(j->msg[rank], sizeof j->msg[rank], "%s", st ? rec_last_error() : "");
    if (!st)
        j->bad[rank] = seen_mismatches(m, j->ref, j->same_lists);
    rec_model_destroy(m);
    rec_dataset_destroy(part);
    return st;
}

static void check_seen(const char *kind, const char *const *kv, int nkv, int same_lists)
{
    rec_dataset *d = tu_generate(60, 50, 7);
    job mk = { .kind = kind, .kv = kv, .nkv = nkv };
    rec_model *ref = make(&mk);
    ck_assert_msg(rec_model_fit(ref, d, NULL, NULL) == REC_OK, "%s", rec_last_error());
    for (int n = 2; n <= MAXR; n *= 2) {
        seenjob j = { .kind = kind, .kv = kv, .nkv = nkv, .d = d, .ref = ref,
                      .same_lists = same_lists };
        tu_ranks(n, seen_rank, &j, NULL);
        for (int r = 0; r < n; r++)
            ck_assert_msg(j.bad[r] == 0, "%s at %d ranks: rank %d: %ld users' seen items or "
                          "lists differ from one process's", kind, n, r, j.bad[r]);
    }
    rec_model_destroy(ref);
    rec_dataset_destroy(d);
}

/* A fit on shards keeps every user's seen items on every rank (they are
 * excluded from recommendations, and a graph kind's graph is all of them),
 * and the whole data's fingerprint: rank 0 saves one process's model. */
START_TEST(every_rank_keeps_every_users_seen_items)
{
    static const char *const mf[] = { "dim=8", "epochs=2", "batch=32" };
    check_seen("mf", mf, 3, 0);
    static const char *const als[] = { "dim=6", "epochs=2" };
    check_seen("als", als, 2, 1);
    static const char *const gcn[] = { "dim=8", "epochs=2", "batch=64" };
    check_seen("lightgcn", gcn, 3, 0);
    static const char *const dnn[] = { "epochs=1", "batch=64", "dropout=0" };
    check_seen("dnn", dnn, 3, 0);
    /* a kind with no exchange at all: the counts of the whole data */
    check_seen("popularity", NULL, 0, 1);
    check_seen("itemcf", NULL, 0, 1);
}
END_TEST

/* 3 users on 4 ranks: rank 3's shard is empty; it joins every step idle. */
START_TEST(an_empty_shard_trains_idle)
{
    rec_dataset *d = tu_generate(3, 12, 5);
    static const char *const kv[] = { "dim=4", "epochs=3", "batch=4" };
    check_kind("mf", kv, 3, d);
    rec_dataset_destroy(d);
}
END_TEST

/* ---- one rank's bad input stops every rank with one message ------------- */

enum { BAD_PARAMS, BAD_NULL, BAD_IDS, BAD_KIND };

typedef struct badjob {
    const rec_dataset *d, *other;
    int bad_rank, how;
    char msg[MAXR][512];
} badjob;

static rec_status bad_rank(rec_comm *c, int rank, void *arg)
{
    badjob *j = arg;
    int mine = rank == j->bad_rank;
    rec_dataset *part;
    REC_TRY(rec_dataset_shard(mine && j->how == BAD_IDS ? j->other : j->d, rank,
                              rec_comm_size(c), &part));
    static const char *const kv[] = { "dim=4", "epochs=2", "batch=16" };
    static const char *const kv8[] = { "dim=8", "epochs=2", "batch=16" };
    job mk = { .kind = mine && j->how == BAD_KIND ? "dnn" : "mf", .nkv = 3,
               .kv = mine && j->how == BAD_PARAMS ? kv8 : kv };
    rec_model *m = make(&mk);
    rec_model_set_comm(m, c);
    rec_status st = rec_model_fit(m, mine && j->how == BAD_NULL ? NULL : part, NULL, NULL);
    snprintf(j->msg[rank], sizeof j->msg[rank], "%s", st ? rec_last_error() : "");
    rec_model_destroy(m);
    rec_dataset_destroy(part);
    return st;
}

START_TEST(bad_input_on_one_rank_stops_every_rank)
{
    rec_dataset *d = tu_generate(40, 30, 5), *other = tu_generate(41, 30, 5);
    static const char *const want[] = {
        [BAD_PARAMS] = "rec_model_fit: rank 2's model is not rank 0's (another kind or other "
                       "params): every rank fits the same kind with the same params",
        [BAD_NULL] = "rec_model_fit: dataset is NULL (rank 2)",
        [BAD_IDS] = "rec_model_fit: rank 2's dataset has 41 users and 30 items, rank 0's 40 "
                    "and 30: every rank needs the same ids (a shard keeps its dataset's)",
        [BAD_KIND] = "rec_model_fit: rank 2's model is not rank 0's (another kind or other "
                     "params): every rank fits the same kind with the same params",
    };
    for (int how = 0; how < 4; how++) {
        badjob j = { .d = d, .other = other, .bad_rank = 2, .how = how };
        rec_status st[3];
        tu_ranks(3, bad_rank, &j, st);
        for (int r = 0; r < 3; r++) {
            ck_assert_int_eq(st[r], REC_E_INVALID);
            ck_assert_str_eq(j.msg[r], want[how]);
        }
    }
    rec_dataset_destroy(other);
    rec_dataset_destroy(d);
}
END_TEST

/* The n-th allocation of a 2-rank fit fails, whichever rank (thread) makes
 * it, for n over the whole fit: before, in and after the trainer's steps.
 * Both ranks return (a hang is the test's timeout), with the same status
 * and message. */
typedef struct oomjob {
    rec_model *m[2];
    rec_dataset *part[2];
    char msg[2][512];
} oomjob;

static rec_status oom_rank(rec_comm *c, int rank, void *arg)
{
    oomjob *j = arg;
    rec_model_set_comm(j->m[rank], c);
    rec_status st = rec_model_fit(j->m[rank], j->part[rank], NULL, NULL);
    snprintf(j->msg[rank], sizeof j->msg[rank], "%s", st ? rec_last_error() : "");
    return st;
}

static void oom_sweep(const char *kind, const char *const *kv, int nkv)
{
    rec_dataset *d = tu_generate(30, 25, 5);
    job mk = { .kind = kind, .kv = kv, .nkv = nkv };
    oomjob j;
    for (int r = 0; r < 2; r++)
        ck_assert_int_eq(rec_dataset_shard(d, r, 2, &j.part[r]), REC_OK);
    long total = 0, failed = 0;
    for (long k = 0;; k += k < 200 ? 1 : 1 + total / 150) {
        rec_comm *comms[2];
        ck_assert_int_eq(rec_comm_create_threads(comms, 2), REC_OK);
        for (int r = 0; r < 2; r++) {
            j.m[r] = make(&mk);
            rec_ds_user_csr(j.part[r], NULL, NULL, NULL); /* caches built outside */
        }
        tu_alloc_install();
        tu_alloc_fail_at(k);
        rec_status st[2];
        tu_ranks_on(comms, 2, oom_rank, &j, st);
        tu_alloc_fail_at(0);
        if (!k)
            total = tu_alloc_count();
        tu_alloc_remove();
        for (int r = 0; r < 2; r++) {
            rec_model_destroy(j.m[r]);
            rec_comm_destroy(comms[r]);
        }
        ck_assert_msg(st[0] == st[1] && !strcmp(j.msg[0], j.msg[1]),
                      "%s, allocation %ld failed: rank 0: %s; rank 1: %s", kind, k, j.msg[0],
                      j.msg[1]);
        ck_assert_msg(st[0] == REC_OK || st[0] == REC_E_NOMEM, "%s, allocation %ld: %s", kind,
                      k, j.msg[0]);
        failed += st[0] != REC_OK;
        if (k > total)
            break;
    }
    ck_assert_msg(failed > 0, "%s: no failed allocation in %ld", kind, total);
    for (int r = 0; r < 2; r++)
        rec_dataset_destroy(j.part[r]);
    rec_dataset_destroy(d);
}

START_TEST(a_failure_anywhere_on_one_rank_stops_both)
{
    static const char *const mf[] = { "dim=4", "epochs=2", "batch=16" };
    oom_sweep("mf", mf, 3);
    static const char *const als[] = { "dim=4", "epochs=2" };
    oom_sweep("als", als, 2);
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
    tcase_add_test(tc, twotower_with_a_declared_context_matches_one_process);
    tcase_add_test(tc, sasrec_matches_one_process);
    tcase_add_test(tc, lightgcn_matches_one_process);
    tcase_add_test(tc, als_blocks_are_bitwise_one_process);
    tcase_add_test(tc, cancel_on_one_rank_stops_all);
    tcase_add_test(tc, shards_that_do_not_add_up_are_refused_on_every_rank);
    tcase_add_test(tc, every_rank_keeps_every_users_seen_items);
    tcase_add_test(tc, an_empty_shard_trains_idle);
    tcase_add_test(tc, bad_input_on_one_rank_stops_every_rank);
    tcase_add_test(tc, a_failure_anywhere_on_one_rank_stops_both);
    suite_add_tcase(s, tc);
    return s;
}
