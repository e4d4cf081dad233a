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
} cli_opts;

typedef struct cli_progress {
    double start;
    const char *prefix;
} cli_progress;

int cli_parse(int argc, char **argv, cli_opts *o);
void cli_free(cli_opts *o);
/* Prints "librec: what: message" and returns the exit code. */
int cli_fail(rec_status st, const char *what);
int cli_usage_error(const char *fmt, const char *arg);
int cli_load_data(const cli_opts *o, rec_dataset **d);
rec_progress_fn cli_progress_fn(cli_progress *p, int quiet, const char *prefix);
void cli_json_str(FILE *f, const char *s);
/* `librec eval` (cli_eval.c). */
int cli_eval(cli_opts *o);

#endif
