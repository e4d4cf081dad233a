/* The communicator behind rec_comm (comm.c, comm_threads.c) and the one
 * agreement step distributed training builds on (rec_comm_sync).  Not
 * installed; hidden symbols. */
#ifndef LIBREC_COMM_IMPL_H
#define LIBREC_COMM_IMPL_H

#include "core/core-impl.h"

struct rec_comm {
    rec_comm_ops ops;
    void *ctx;
    int rank, size;
    uint64_t sent, received;   /* payload bytes to and from other ranks */
    size_t *counts;            /* [2 * size] scratch byte counts        */
    float *tmp;                /* allreduce scratch, tcap floats        */
    size_t tcap;
};

/* The longest message an error on one rank carries to the others. */
#define REC_COMM_MSG 512

/* Every rank calls it at the same point with its own status st and a value
 * v.  When every status is REC_OK, *sum (may be NULL) is the sum of the
 * values in rank order and REC_OK is returned.  Otherwise every rank
 * returns the status of the lowest failing rank with that rank's message
 * (its rec_last_error(), "(rank r)" appended), so all ranks stop together
 * with one message.  A rank that fails between two agreements calls this
 * with its status (and returns what it returns); the others meet it at
 * their next agreement.  A transport failure is REC_E_IO. */
rec_status rec_comm_sync(rec_comm *c, rec_status st, double v, double *sum);

#endif
