/* Shared pieces of the librec command-line program. */
#ifndef LIBREC_CLI_H
#define LIBREC_CLI_H

#include <librec/librec.h>
#include <errno.h>
#include <stdio.h>

typedef struct cli_opts {
    const char *model, *model2, *data, *format, *out, *load, *user, *item;
    const char *split, *test, *protocol, *metrics, *plot, *sweep;
    rec_params *params, *load_opts;
    rec_params *params_a, *params_b; /* compare: --param and --param-a (-b) */
    size_t k;
    uint64_t seed;
    int json, quiet;
    /* recommend (cli_recommend.c) */
    const char *users, *history, *allow, *deny, *boost, *cap, *mmr, *mmr_field, *explore;
    size_t candidates;
    int include_seen;
    int distributed; /* train --distributed: under mpirun (MPI builds) */
    const char *what; /* export: items | users */
    const char *color, *method, *label, *axes; /* plot-embeddings */
    const char *normalize[16]; /* --normalize SIDE:FIELD=METHOD, applied at load */
    int nnormalize;
} cli_opts;

typedef struct cli_progress {
    double start, phase_start;
    const char *prefix;
    const rec_model *model;
} cli_progress;

/* Monotonic seconds. */
double cli_now(void);
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
/* Length of the well-formed UTF-8 sequence at s, 0 if there is none. */
int cli_utf8_len(const unsigned char *s);
/* v as a JSON number, or for NaN and infinities `null, "why": why` (the
 * caller is inside an object). */
void cli_json_num(FILE *f, double v, const char *why);
/* A JSON array of n objects {"<name_key>": names[j], "<value_key>": values[j]}
 * (a value that is not finite is written as cli_json_num writes it, with why). */
void cli_json_pairs(FILE *f, const char *name_key, const char *value_key, const char **names,
                    const float *values, size_t n, const char *why);
/* Temporary files of saving to out (cli_tmpfiles.c): the guard removes this
 * process's on SIGINT, SIGTERM, SIGHUP and SIGXFSZ, then dies of the
 * signal; the sweep removes those of processes that no longer run. */
void cli_tmp_guard(const char *out);
void cli_tmp_sweep(const char *out, int quiet);
/* `librec train --distributed` (mpi/cli_mpi.c, in MPI builds only). */
int cli_train_distributed(cli_opts *o);
/* `librec eval` (cli_eval.c; with --sweep, cli_sweep.c). */
int cli_eval(cli_opts *o);
/* One eval run; its metrics (up to CLI_MAX_METRICS) into keep when not NULL. */
enum { CLI_MAX_METRICS = 16 };
typedef struct cli_metrics {
    size_t n;
    char name[CLI_MAX_METRICS][32];
    double v[CLI_MAX_METRICS];
} cli_metrics;
int cli_eval_run(cli_opts *o, cli_metrics *keep);
/* `librec index build|search|bench` (cli_index.c); argv after "index". */
int cli_index(int argc, char **argv);
/* float32 .npy matrices (cli_npy.c): read gives a malloc'd [rows, cols]
 * table (cols 1 for a vector); both print "librec: path: why" and return
 * 1 on failure. */
int cli_npy_read(const char *path, float **x, size_t *rows, size_t *cols);
int cli_npy_write(const char *path, const float *x, size_t rows, size_t cols);
/* `librec export` (cli_export.c). */
int cli_export(cli_opts *o);
/* `librec recommend` (cli_recommend.c). */
int cli_recommend(cli_opts *o);
/* The loss of every epoch for `librec train --plot` (cli_curve.c): a
 * progress callback that records, then calls the bar's (bar_fn may be NULL). */
typedef struct cli_curve {
    const rec_model *model;
    rec_progress_fn bar_fn;
    void *bar;
    size_t n, cap;
    int *epoch;
    double *loss, *valid;  /* valid: the epoch's validation, NAN when none */
    char (*phase)[48];
    char valid_name[48];
    int nomem;
} cli_curve;
int cli_curve_progress(void *user, int epoch, int epochs, double loss);
/* The curve as SVG at path; 0, or 1 with the failure printed. */
int cli_curve_write(const cli_curve *c, const char *path, const char *title, int quiet);
void cli_curve_free(cli_curve *c);
/* `librec compare` (cli_compare.c). */
int cli_compare(cli_opts *o);
/* `librec stats` (cli_stats.c). */
int cli_stats(cli_opts *o);
/* `librec explain` (cli_explain.c). */
int cli_explain(cli_opts *o);
/* The bars of `explain --plot` and `similar --plot` at o->plot: ids[j]
 * with weight w[j], best first.  With --data, items (when items is set)
 * are labelled by their titles and, for user, by how far back in the
 * user's history they lie; the title is head, subject's title, tail.
 * 0, or an exit code with the failure printed. */
int cli_bars_write(const cli_opts *o, const char *user, int items, const char *subject,
                   const char *head, const char *tail, const char *const *ids, const float *w,
                   size_t n, const char *xlabel);
/* `librec plot-embeddings` (cli_plot_embeddings.c). */
int cli_plot_embeddings(cli_opts *o);
/* Its --axes K (1..16) heat map (cli_plot_axes.c) of x [n, dim] against
 * field of d (data_row[j]: entity j's row in d, -1 if absent), at path. */
int cli_plot_axes(const cli_opts *o, int K, const float *x, size_t n, int dim,
                  const int32_t *data_row, const rec_dataset *d, rec_side side, int field,
                  const char *kind, const char *path);

#endif
