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
    void *recs;                /* [size] rec_comm_sync's records        */
    uint64_t agreed_failures;  /* rec_comm_sync calls that returned one */
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
 * their next agreement.  A real error outranks a cancel (REC_E_CANCELLED):
 * the lowest rank with another status wins, else the lowest cancelled one.
 * A transport failure is REC_E_IO.  Every failure it returns (agreed or of
 * the transport) counts in c->agreed_failures, so a caller can tell a
 * failure the other ranks know from one of its own that they do not. */
rec_status rec_comm_sync(rec_comm *c, rec_status st, double v, double *sum);

/* Makes room for rec_comm_allreduce_f32 of up to n floats, so a caller can
 * allocate before an agreement and never fail alone inside the collective.
 * REC_E_NOMEM (with a message naming fn) on failure. */
rec_status rec_comm_reserve(rec_comm *c, size_t n, const char *fn);

#endif
