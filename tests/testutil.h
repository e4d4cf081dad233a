/* Shared helpers for the libcheck suites: gradient checks, a failing
 * allocator for out-of-memory tests, temp paths. */
#ifndef LIBREC_TESTUTIL_H
#define LIBREC_TESTUTIL_H

#include <check.h>
#include <stddef.h>

#include "core/ops.h"
#include "librec/librec.h"

/* A loss built from params in a store; called repeatedly on a reset graph. */
typedef rec_tensor *(*tu_build_fn)(rec_graph *g, void *ctx);

/* Weighted sum sum_i out_i * w_i with fixed pseudo-random weights, a test-only
 * op: turns any output into a scalar whose gradient is not trivial. */
rec_tensor *tu_wsum(rec_graph *g, rec_tensor *out);

/* Compares the backward pass with central differences for every element of
 * every param in ps (dense or sparse), evaluated in double where possible.
 * Fails the current test (ck_assert) naming the param and element when
 * |analytic - numeric| > atol + rtol * |numeric|. */
void tu_gradcheck(rec_pstore *ps, tu_build_fn build, void *ctx, double eps, double atol,
                  double rtol);

/* A model of kind fitted on d with n "key=value" settings (rec_params_parse
 * types them); fails the test with rec_last_error() if either step fails. */
rec_model *tu_fit(const char *kind, const rec_dataset *d, const char *const *kv, int n);

/* Fill a param (or any tensor) with values from a fixed seed. */
/* The generated dataset with these sizes (rec_dataset_generate), asserted. */
rec_dataset *tu_generate(int users, int items, int per_user);
/* Fits kind with p on d failing the 1st, 2nd, ... allocation until it
 * succeeds; asserts REC_E_NOMEM and no leak each time; returns that count. */
long tu_fit_fails_cleanly(const char *kind, const rec_params *p, const rec_dataset *d);
/* The general loop behind it: setup (may be NULL) then run under an
 * allocator failing the 1st, 2nd, ... allocation of run, then cleanup
 * (which frees what setup and run made); asserts REC_E_NOMEM and no leak
 * each time until run succeeds; returns that count (under ThreadSanitizer
 * it steps past some allocations: testutil.c). */
typedef struct tu_call {
    void (*setup)(void *ctx);
    rec_status (*run)(void *ctx);
    void (*cleanup)(void *ctx);
} tu_call;
long tu_call_fails_cleanly(const tu_call *c, void *ctx);
void tu_fill(rec_tensor *t, unsigned seed, float lo, float hi);

/* Allocator that fails the n-th allocation from now (n >= 1; 0 = never) and
 * counts live bytes.  tu_alloc_install() must precede, tu_alloc_remove() follow. */
void tu_alloc_install(void);
void tu_alloc_remove(void);
void tu_alloc_fail_at(long n);
long tu_alloc_count(void);        /* allocations since install */
long long tu_alloc_live(void);    /* bytes allocated and not freed since install */

/* A fresh path under a per-process temporary directory (static buffer). */
const char *tu_tmp_path(const char *name);
/* Directory of ../shared/data (LIBREC_DATA); a data test that calls it
 * fails, saying where it looked, when the data is not there (a data test
 * that passed without its data would prove nothing). */
const char *tu_data_dir(void);
/* root if it holds the shared data, else NULL with the reason in why. */
const char *tu_data_at(const char *root, char *why, size_t n);

/* The whole file (up to cap - 1 bytes) into buf, NUL-terminated ("" when
 * it cannot be read). */
void tu_slurp(const char *path, char *buf, size_t cap);

/* The build's librec program ($LIBREC_BUILD/bin/librec) run with args
 * (NULL-terminated), stdin empty; its exit code, stdout and stderr.  Fails
 * the test if it cannot start or dies of a signal. */
typedef struct tu_cli {
    int code;
    char out[16384], err[4096];
} tu_cli;
void tu_cli_run(tu_cli *r, const char *const *args);

/* The number after "key": in a JSON text (NAN when absent). */
double tu_json_num(const char *json, const char *key);

/* Runs fn(comms[r], r, arg) on `size` threads, rank r on its own thread,
 * over a fresh rec_comm_create_threads group (freed after); fn returns a
 * status, and the ranks' statuses land in st[size] (may be NULL). */
typedef rec_status (*tu_rank_fn)(rec_comm *c, int rank, void *arg);
void tu_ranks(int size, tu_rank_fn fn, void *arg, rec_status *st);
/* The same over comms the caller made (and frees). */
void tu_ranks_on(rec_comm **comms, int size, tu_rank_fn fn, void *arg, rec_status *st);
/* 1 if text is well-formed XML (one root element, tags nested and matched,
 * attributes quoted and unique per tag, '&' only in the five named or
 * numeric entities, no '<' in text or values, no control characters), else
 * 0 with the first fault and its byte offset in why. */
int tu_xml_well_formed(const char *text, char *why, size_t n);

/* The generated data (60 users, 80 items, 15 each) with a cold item
 * "cold" (genres *g0|*g1, year and length; no interactions), a dense item
 * field "emb" (3 floats per item, z-scored) and year z-scored. */
rec_dataset *tu_data_with_cold(const char **g0, const char **g1);
/* The cold item's features again, on a set made against m. */
rec_feature_set *tu_cold_set(const rec_model *m, const char *g0, const char *g1,
                             int32_t cold_index);
/* Loads the model saved at path (nitems items) and adds two items, both
 * described by fields ("name=value", as rec_feature_set_set takes), under
 * an allocator failing the 1st, 2nd, ... allocation: each time
 * REC_E_NOMEM, no leak, still nitems items and still recommending, until
 * it succeeds; returns that count. */
long tu_add_items_fails_cleanly(const char *path, size_t nitems, const char *const *fields,
                                int nfields);
/* Model file src written again as dst (a file as an older version wrote
 * it, or a damaged one): its params, metadata, and the blobs and tensors
 * for which keep(name, data, ctx) is nonzero (data NULL for a blob; for a
 * tensor keep may point *data at other bytes of the same size). */
typedef int (*tu_lrm_keep_fn)(const char *name, const void **data, void *ctx);
void tu_lrm_rewrite(const char *src, const char *dst, tu_lrm_keep_fn keep, void *ctx);
/* rec_model_score(m, u, i), asserted REC_OK (the last error as the message). */
float tu_score(const rec_model *m, const char *u, const char *i);
/* Asserts status want and a last error holding needle. */
void tu_err_has(rec_status got, rec_status want, const char *needle);
/* rec_model_create(kind) with the one setting kv ("key=value") fails with
 * want, creates nothing and says needle. */
void tu_create_fails(const char *kind, const char *kv, rec_status want, const char *needle);
#define ck_assert_float_near(a, b, tol) ck_assert_double_le(fabs((double)(a) - (double)(b)), (tol))

#endif
