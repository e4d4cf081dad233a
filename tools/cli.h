/* Shared pieces of the librec command-line program. */
#ifndef LIBREC_CLI_H
#define LIBREC_CLI_H

#include <librec/librec.h>
#include <stdio.h>

typedef struct cli_opts {
    const char *model, *data, *format, *out, *load, *user, *item;
    const char *split, *test, *protocol, *metrics;
    rec_params *params, *load_opts;
    size_t k;
    uint64_t seed;
    int json, quiet;
    /* recommend (cli_recommend.c) */
    const char *users, *history, *allow, *deny, *boost, *cap, *mmr, *mmr_field, *explore;
    size_t candidates;
    int include_seen;
} cli_opts;

typedef struct cli_progress {
    double start, phase_start;
    const char *prefix;
    const rec_model *model;
} cli_progress;

int cli_parse(int argc, char **argv, cli_opts *o);
void cli_free(cli_opts *o);
/* Prints "librec: what: message" and returns the exit code. */
int cli_fail(rec_status st, const char *what);
/* The same, with exit code 1: the command line was fine, the run failed. */
int cli_fail_run(rec_status st, const char *what);
int cli_usage_error(const char *fmt, const char *arg);
/* All of s as a decimal number in [lo, hi] into *v, or a usage error naming
 * opt (returns 0). */
int cli_parse_uint(const char *opt, const char *s, uint64_t lo, uint64_t hi, uint64_t *v);
int cli_load_data(const cli_opts *o, rec_dataset **d);
/* The progress bar of fitting m on stderr (NULL when quiet or not a tty). */
rec_progress_fn cli_progress_fn(cli_progress *p, const rec_model *m, int quiet,
                                const char *prefix);
void cli_json_str(FILE *f, const char *s);
/* v as a JSON number, or for NaN and infinities `null, "why": why` (the
 * caller is inside an object). */
void cli_json_num(FILE *f, double v, const char *why);
/* Temporary files of saving to out (cli_tmpfiles.c): the guard removes this
 * process's on SIGINT, SIGTERM, SIGHUP and SIGXFSZ, then dies of the
 * signal; the sweep removes those of processes that no longer run. */
void cli_tmp_guard(const char *out);
void cli_tmp_sweep(const char *out, int quiet);
/* `librec eval` (cli_eval.c). */
int cli_eval(cli_opts *o);
/* `librec recommend` (cli_recommend.c). */
int cli_recommend(cli_opts *o);

#endif
