/* librec_mpi: rec_comm's four byte-moving collectives on a duplicate of the
 * caller's MPI communicator.  The reductions stay in librec's core (rank
 * order, the same bits on every rank), so MPI only moves bytes: MPI_BYTE
 * with int counts, so one call moves less than 2 GiB per rank (an error,
 * not a truncation, beyond). */
#include "librec/mpi.h"

#include <limits.h>
#include <stdlib.h>

typedef struct mpi_ctx {
    MPI_Comm comm;
    int rank, size;
    int *counts, *displs, *counts2, *displs2; /* [size] each */
} mpi_ctx;

/* size byte counts and their prefix sums as MPI ints; 0 when too large. */
static int to_int(const mpi_ctx *x, const size_t *bytes, int *counts, int *displs)
{
    size_t off = 0;
    for (int r = 0; r < x->size; r++) {
        if (bytes[r] > INT_MAX || off > INT_MAX)
            return 0;
        counts[r] = (int)bytes[r];
        displs[r] = (int)off;
        off += bytes[r];
    }
    return off <= INT_MAX;
}

static int m_allgatherv(void *ctx, const void *send, size_t bytes, void *recv,
                        const size_t *recv_bytes)
{
    mpi_ctx *x = ctx;
    if (!to_int(x, recv_bytes, x->counts, x->displs))
        return 1;
    /* librec's allreduce sends from its own place in the receive buffer */
    const char *mine = (const char *)recv + x->displs[x->rank];
    const void *s = send == (const void *)mine ? MPI_IN_PLACE : send;
    return MPI_Allgatherv(s, (int)bytes, MPI_BYTE, recv, x->counts, x->displs, MPI_BYTE,
                          x->comm) != MPI_SUCCESS;
}

static int m_alltoallv(void *ctx, const void *send, const size_t *send_bytes, void *recv,
                       const size_t *recv_bytes)
{
    mpi_ctx *x = ctx;
    if (!to_int(x, send_bytes, x->counts, x->displs) ||
        !to_int(x, recv_bytes, x->counts2, x->displs2))
        return 1;
    return MPI_Alltoallv(send, x->counts, x->displs, MPI_BYTE, recv, x->counts2, x->displs2,
                         MPI_BYTE, x->comm) != MPI_SUCCESS;
}

static int m_bcast(void *ctx, void *buf, size_t bytes, int root)
{
    mpi_ctx *x = ctx;
    if (bytes > INT_MAX)
        return 1;
    return MPI_Bcast(buf, (int)bytes, MPI_BYTE, root, x->comm) != MPI_SUCCESS;
}

static int m_barrier(void *ctx)
{
    return MPI_Barrier(((mpi_ctx *)ctx)->comm) != MPI_SUCCESS;
}

static void ctx_free(mpi_ctx *x)
{
    if (x->comm != MPI_COMM_NULL) {
        int fin = 0;
        MPI_Finalized(&fin);
        if (!fin) /* after MPI_Finalize the duplicate is gone with MPI */
            MPI_Comm_free(&x->comm);
    }
    free(x->counts);
    free(x->displs);
    free(x->counts2);
    free(x->displs2);
    free(x);
}

static void m_destroy(void *ctx) { ctx_free(ctx); }

REC_API rec_status rec_mpi_comm_create(rec_comm **out, MPI_Comm comm)
{
    static const rec_comm_ops ops = { m_allgatherv, m_alltoallv, m_bcast, m_barrier, m_destroy };
    if (!out || comm == MPI_COMM_NULL)
        return REC_E_INVALID;
    *out = NULL;
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (!init || fin)
        return REC_E_STATE;
    mpi_ctx *x = calloc(1, sizeof *x);
    if (!x)
        return REC_E_NOMEM;
    x->comm = MPI_COMM_NULL;
    int rc = MPI_Comm_dup(comm, &x->comm);
    if (rc != MPI_SUCCESS) {
        x->comm = MPI_COMM_NULL;
        ctx_free(x);
        return REC_E_IO;
    }
    /* errors come back as codes, never as an abort inside librec */
    MPI_Comm_set_errhandler(x->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(x->comm, &x->rank);
    MPI_Comm_size(x->comm, &x->size);
    size_t n = (size_t)x->size;
    x->counts = malloc(n * sizeof(int));
    x->displs = malloc(n * sizeof(int));
    x->counts2 = malloc(n * sizeof(int));
    x->displs2 = malloc(n * sizeof(int));
    if (!x->counts || !x->displs || !x->counts2 || !x->displs2) {
        ctx_free(x);
        return REC_E_NOMEM;
    }
    rec_status st = rec_comm_create_ops(out, &ops, x, x->rank, x->size);
    if (st)
        ctx_free(x);
    return st;
}
