/*
 * librec_mpi: a rec_comm (librec/core.h, rec_comm(3)) over an MPI
 * communicator, for data-parallel training across machines.  A separate
 * library (librec_mpi.so.0, pkg-config librec_mpi), built with `make MPI=1`;
 * core librec knows nothing of MPI.
 *
 * The library never initialises or finalises MPI: the host program calls
 * MPI_Init (or MPI_Init_thread) before rec_mpi_comm_create and MPI_Finalize
 * after rec_comm_destroy.  Not part of librec.h (it needs <mpi.h>).
 */
#ifndef LIBREC_MPI_H
#define LIBREC_MPI_H

#include <mpi.h>

#include "librec/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A rec_comm whose ranks are comm's: comm is duplicated (MPI_Comm_dup, a
 * collective: every rank of comm must call this), so librec's traffic never
 * mixes with the caller's; rec_comm_destroy frees the duplicate
 * (MPI_Comm_free, also collective).  MPI must be initialised and not yet
 * finalised.  Returns REC_E_INVALID for a NULL out or MPI_COMM_NULL,
 * REC_E_STATE when MPI is not initialised or already finalised, REC_E_IO
 * when MPI_Comm_dup fails, REC_E_NOMEM; the status is the whole report
 * (rec_last_error() is not set by this call).  The duplicate returns MPI
 * errors as codes (MPI_ERRORS_RETURN), which the collectives turn into
 * REC_E_IO.  Threads: MPI_THREAD_FUNNELED is enough if one thread trains. */
REC_API rec_status rec_mpi_comm_create(rec_comm **out, MPI_Comm comm);

#ifdef __cplusplus
}
#endif
#endif
