/* `librec train --distributed` under mpirun: every rank loads the data, fits
 * its shard with the others (librec_mpi's rec_comm over MPI_COMM_WORLD),
 * and rank 0 alone writes the model.  Every failure is agreed on by all
 * ranks before anyone stops, so one message (the lowest failing rank's,
 * printed by rank 0) and the same exit code everywhere.  This program is
 * the MPI host: it initialises and finalises MPI; the library never does. */
#include "../cli.h"

#include <librec/mpi.h>
#include <stdio.h>
#include <string.h>

enum { MSG = 512 };

typedef struct agree_rec {
    int32_t st, code;
    char msg[MSG];
} agree_rec;

/* Every rank's (status, exit code, message); returns the exit code of the
 * lowest failing rank (0 when none) and leaves its message in msg. */
static int agree(rec_comm *c, rec_status st, int code, const char *what, char *msg)
{
    int n = rec_comm_size(c);
    static agree_rec all[256]; /* 130 KiB: not on the stack */
    agree_rec mine = { st, code, "" };
    if (st)
        snprintf(mine.msg, sizeof mine.msg, "%s: %s", what,
                 *rec_last_error() ? rec_last_error() : rec_strerror(st));
    if (n > 256 || rec_comm_allgather(c, &mine, sizeof mine, all)) {
        snprintf(msg, MSG, "%s", "the MPI exchange of statuses failed");
        return 1;
    }
    for (int r = 0; r < n; r++)
        if (all[r].st) {
            /* a failure the library agreed on already names its rank */
            const char *tail = strrchr(all[r].msg, '(');
            if (tail && !strncmp(tail, "(rank ", 6))
                snprintf(msg, MSG, "%s", all[r].msg);
            else
                snprintf(msg, MSG, "%.*s (rank %d)", MSG - 16, all[r].msg, r);
            return all[r].code;
        }
    return 0;
}

static int train(cli_opts *o, rec_comm *c, int rank)
{
    char msg[MSG] = "";
    rec_model *m = NULL;
    rec_dataset *d = NULL, *part = NULL;
    rec_status st = rec_model_create(&m, o->model, o->params);
    int rc = agree(c, st, 2, "bad model", msg);
    if (!rc) {
        size_t n = 0;
        rec_params_count(o->load_opts, &n);
        st = rec_dataset_load(&d, o->data, o->format, n ? o->load_opts : NULL);
        if (!st)
            st = rec_dataset_shard(d, rank, rec_comm_size(c), &part);
        rc = agree(c, st, 1, "cannot load data", msg);
    }
    if (!rc && rank == 0 && !o->quiet) {
        char line[512];
        rec_dataset_summary(d, line, sizeof line);
        fprintf(stderr, "librec: %s; %d ranks, each fitting its shard\n", line,
                rec_comm_size(c));
    }
    if (!rc) {
        rec_model_set_comm(m, c);
        cli_progress p;
        rec_progress_fn cb = cli_progress_fn(&p, m, o->quiet || rank != 0, "");
        st = rec_model_fit(m, part, cb, &p);
        /* the trainer already made every rank fail alike; kinds that fit
         * alone (no trainer) are agreed on here */
        rc = agree(c, st, 1, "training failed", msg);
    }
    if (!rc) {
        st = REC_OK;
        if (rank == 0) {
            cli_tmp_sweep(o->out, o->quiet);
            cli_tmp_guard(o->out);
            st = rec_model_save(m, o->out);
        }
        rc = agree(c, st, 1, "cannot save the model", msg);
    }
    if (rank == 0) {
        if (rc)
            fprintf(stderr, "librec: %s\n", msg);
        else if (!o->quiet)
            fprintf(stderr, "librec: saved %s model to %s\n", o->model, o->out);
    }
    rec_dataset_destroy(part);
    rec_dataset_destroy(d);
    rec_model_destroy(m);
    return rc;
}

int cli_train_distributed(cli_opts *o)
{
    int init = 0;
    MPI_Initialized(&init);
    if (!init && MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        fprintf(stderr, "librec: --distributed: MPI_Init failed\n");
        return 1;
    }
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    rec_comm *c;
    rec_status st = rec_mpi_comm_create(&c, MPI_COMM_WORLD);
    int rc;
    if (st) {
        fprintf(stderr, "librec: --distributed: rec_mpi_comm_create: %s\n", rec_strerror(st));
        rc = 1;
    } else {
        rc = train(o, c, rank);
        rec_comm_destroy(c);
    }
    MPI_Finalize();
    return rc;
}
