/* Run under mpirun at 1, 2 and 4 ranks (make check-mpi): this program owns
 * MPI (initialises it, finalises it), and librec_mpi only borrows a
 * duplicate of MPI_COMM_WORLD.  It checks the collectives over MPI (the
 * rank-order sum, gathers, broadcast), fits mf on each rank's shard against
 * a fit of all the data in this process alone (within 1e-5 in relative L2
 * norm; every rank the same bits), als bitwise equal to one process, stops
 * all ranks with one rank's cancel
 * and its message, prints the bytes exchanged per step, frees everything,
 * finalises and exits 0. */
#include <librec/librec.h>
#include <librec/mpi.h>

#include "core/lrm-impl.h"
#include "models/model-impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int rank, size;

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "mpi_train: rank %d: line %d: %s (%s)\n", rank, __LINE__, #cond,  \
                    rec_last_error());                                                        \
            MPI_Abort(MPI_COMM_WORLD, 1);                                                     \
        }                                                                                     \
    } while (0)

static void collectives(rec_comm *c)
{
    CHECK(rec_comm_rank(c) == rank && rec_comm_size(c) == size);
    float x[101];
    for (int j = 0; j < 101; j++)
        x[j] = (float)(rank + 1) * (float)j;
    CHECK(rec_comm_allreduce_f32(c, x, 101) == REC_OK);
    for (int j = 0; j < 101; j++)
        CHECK(x[j] == (float)(size * (size + 1) / 2) * (float)j);
    /* only rank order gives 1 (1e8 + 1 rounds to 1e8 in float) */
    static const float v[4] = { 1e8f, 1.0f, -1e8f, 1.0f };
    float y = v[rank % 4];
    CHECK(rec_comm_allreduce_f32(c, &y, 1) == REC_OK);
    if (size == 4)
        CHECK(y == 1.0f);
    size_t counts[64];
    char send[64], recv[64 * 65];
    for (int r = 0; r < size; r++)
        counts[r] = (size_t)r + 1;
    memset(send, 'a' + rank, sizeof send);
    CHECK(rec_comm_allgatherv(c, send, (size_t)rank + 1, recv, counts) == REC_OK);
    size_t off = 0;
    for (int r = 0; r < size; r++)
        for (int k = 0; k <= r; k++)
            CHECK(recv[off++] == 'a' + r);
    int b = rank == size - 1 ? 4242 : -1;
    CHECK(rec_comm_bcast(c, &b, sizeof b, size - 1) == REC_OK);
    CHECK(b == 4242);
    CHECK(rec_comm_barrier(c) == REC_OK);
}

static rec_model *kind_epochs(const char *k, int epochs)
{
    rec_params *p;
    char ep[32];
    snprintf(ep, sizeof ep, "epochs=%d", epochs);
    CHECK(rec_params_create(&p) == REC_OK);
    rec_params_parse(p, "dim=8");
    rec_params_parse(p, ep);
    if (!strcmp(k, "mf"))
        rec_params_parse(p, "batch=64");
    rec_model *m;
    CHECK(rec_model_create(&m, k, p) == REC_OK);
    rec_params_destroy(p);
    return m;
}

static rec_model *kind(const char *k) { return kind_epochs(k, 3); }
static rec_model *mf(void) { return kind("mf"); }

/* the saved tensors a and b of m in one array (n floats) */
static float *tensors(const rec_model *m, const char *a, const char *b, size_t *n)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/librec-mpi-%d-%d.lrm", (int)getpid(), rank);
    CHECK(rec_model_save(m, path) == REC_OK);
    rec_lrm_reader *r;
    CHECK(rec_lrm_open(path, &r) == REC_OK);
    const void *pp, *qq;
    int64_t ps[8], qs[8];
    CHECK(rec_lrm_tensor(r, a, REC_LRM_F32, 2, ps, &pp) == REC_OK);
    CHECK(rec_lrm_tensor(r, b, REC_LRM_F32, 2, qs, &qq) == REC_OK);
    size_t np = (size_t)(ps[0] * ps[1]), nq = (size_t)(qs[0] * qs[1]);
    float *out = malloc((np + nq) * sizeof *out);
    CHECK(out != NULL);
    memcpy(out, pp, np * sizeof *out);
    memcpy(out + np, qq, nq * sizeof *out);
    rec_lrm_close(r);
    unlink(path);
    *n = np + nq;
    return out;
}

static float *params(const rec_model *m, size_t *n) { return tensors(m, "P", "Q", n); }

static int cancel_at_2(void *u, int epoch, int epochs, double loss) { return epoch == 2; }

static void train(rec_comm *c)
{
    rec_params *g;
    CHECK(rec_params_create(&g) == REC_OK);
    rec_params_parse(g, "users=400");
    rec_params_parse(g, "items=300");
    rec_params_parse(g, "interactions-per-user=8");
    rec_dataset *d, *part;
    CHECK(rec_dataset_generate(&d, g) == REC_OK);
    rec_params_destroy(g);
    CHECK(rec_dataset_shard(d, rank, size, &part) == REC_OK);

    rec_model *alone = mf(), *m = mf();
    CHECK(rec_model_fit(alone, d, NULL, NULL) == REC_OK);
    CHECK(rec_model_set_comm(m, c) == REC_OK);
    /* the bytes of 2 epochs of steps: a 3-epoch fit's less a 1-epoch fit's
     * (the start of a fit, its agreement and the gather of the shards, is
     * the same in both) */
    uint64_t s0, r0, s1, r1, s2, r2;
    rec_model *one = kind_epochs("mf", 1);
    CHECK(rec_model_set_comm(one, c) == REC_OK);
    rec_comm_bytes(c, &s0, &r0);
    CHECK(rec_model_fit(one, part, NULL, NULL) == REC_OK);
    rec_comm_bytes(c, &s1, &r1);
    CHECK(rec_model_fit(m, part, NULL, NULL) == REC_OK);
    rec_comm_bytes(c, &s2, &r2);
    rec_model_destroy(one);
    uint64_t fit1_s = s1 - s0, fit1_r = r1 - r0;
    s0 = s1 + fit1_s;
    r0 = r1 + fit1_r;
    s1 = s2;
    r1 = r2;
    size_t n, na;
    float *w = params(m, &n), *want = params(alone, &na);
    CHECK(n == na);
    double dd = 0, yy = 0;
    for (size_t k = 0; k < n; k++) {
        dd += ((double)w[k] - want[k]) * ((double)w[k] - want[k]);
        yy += (double)want[k] * want[k];
    }
    double rel = sqrt(dd / yy);
    CHECK(rel <= 1e-5);
    /* every rank the same bits: rank 0's params broadcast and compared */
    float *w0 = malloc(n * sizeof *w0);
    CHECK(w0 != NULL);
    memcpy(w0, w, n * sizeof *w0);
    CHECK(rec_comm_bcast(c, w0, n * sizeof *w0, 0) == REC_OK);
    CHECK(!memcmp(w0, w, n * sizeof *w0));
    int64_t rows = 0;
    rec_dataset_num_interactions(d, &rows);
    int64_t steps = 2 * ((rows + 63) / 64);
    if (rank == 0)
        printf("mpi_train: %d ranks: mf dim 8, batch 64, %lld rows: relative L2 difference %.2g "
               "from one process; rank 0 sent %.0f and received %.0f bytes per step, and "
               "%.0f and %.0f in a 1-epoch fit\n",
               size, (long long)rows, rel, (double)(s1 - s0) / (double)steps,
               (double)(r1 - r0) / (double)steps, (double)fit1_s, (double)fit1_r);
    free(w0);
    free(w);
    free(want);
    /* every rank's model excludes every user's seen items, the other
     * ranks' users' too, as the model fitted alone does */
    size_t nu = 0, ni = 0;
    CHECK(rec_model_num_users(m, &nu) == REC_OK && rec_model_num_items(m, &ni) == REC_OK);
    const char **got = malloc(ni * sizeof *got), **ref = malloc(ni * sizeof *ref);
    CHECK(got && ref);
    for (int32_t u = 0; u < (int32_t)nu; u++) {
        const char *name = rec_idmap_name(m->users, u);
        size_t n1 = 0, n2 = 0;
        CHECK(rec_model_recommend(m, name, ni, 0, got, NULL, &n1) == REC_OK);
        CHECK(rec_model_recommend(alone, name, ni, 0, ref, NULL, &n2) == REC_OK);
        CHECK(n1 == n2 && n1 == ni - (size_t)(m->seen_ptr[u + 1] - m->seen_ptr[u]));
        CHECK(m->seen_ptr[u] == alone->seen_ptr[u] &&
              !memcmp(m->seen + m->seen_ptr[u], alone->seen + alone->seen_ptr[u],
                      (size_t)(m->seen_ptr[u + 1] - m->seen_ptr[u]) * sizeof *m->seen));
    }
    free(got);
    free(ref);

    /* one rank's cancel stops every rank with its message */
    rec_model *x = mf();
    rec_model_set_comm(x, c);
    rec_status st = rec_model_fit(x, part, rank == size - 1 ? cancel_at_2 : NULL, NULL);
    CHECK(st == REC_E_CANCELLED);
    char want_msg[128];
    if (size > 1)
        snprintf(want_msg, sizeof want_msg, "rec_trainer_run: cancelled at epoch 2 (rank %d)",
                 size - 1);
    else
        snprintf(want_msg, sizeof want_msg, "rec_trainer_run: cancelled at epoch 2");
    CHECK(!strcmp(rec_last_error(), want_msg));
    rec_model_destroy(x);

    /* ALS: blocks of users then items per rank, the same bits as alone */
    rec_model *als = kind("als"), *als1 = kind("als");
    rec_model_set_comm(als, c);
    CHECK(rec_model_fit(als, d, NULL, NULL) == REC_OK);
    CHECK(rec_model_fit(als1, d, NULL, NULL) == REC_OK);
    size_t an, bn;
    float *xa = tensors(als, "X", "Y", &an), *xb = tensors(als1, "X", "Y", &bn);
    CHECK(an == bn && !memcmp(xa, xb, an * sizeof *xa));
    if (rank == 0)
        printf("mpi_train: %d ranks: als bitwise equal to one process\n", size);
    free(xa);
    free(xb);
    rec_model_destroy(als);
    rec_model_destroy(als1);
    rec_model_destroy(m);
    rec_model_destroy(alone);
    rec_dataset_destroy(part);
    rec_dataset_destroy(d);
}

int main(int argc, char **argv)
{
    if (MPI_Init(&argc, &argv) != MPI_SUCCESS)
        return 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    CHECK(size <= 64);
    rec_set_num_threads(1);
    rec_comm *c;
    CHECK(rec_mpi_comm_create(&c, MPI_COMM_WORLD) == REC_OK);
    rec_comm *bad;
    CHECK(rec_mpi_comm_create(&bad, MPI_COMM_NULL) == REC_E_INVALID);
    collectives(c);
    train(c);
    rec_comm_destroy(c);
    /* the library left MPI alone: still initialised, ours to finalise */
    int fin = 1, init = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    CHECK(init && !fin);
    MPI_Finalize();
    return 0;
}
