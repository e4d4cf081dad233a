/* Internal services of the core layer: errors, allocation, parameter specs,
 * RNG, thread pool and the BLAS glue.  Not installed; hidden symbols. */
#ifndef LIBREC_CORE_IMPL_H
#define LIBREC_CORE_IMPL_H

#include "librec/core.h"

#include <stdarg.h>
#include <stdint.h>

#if defined(__GNUC__)
#define REC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define REC_PRINTF(a, b)
#endif

/* ---- errors: set the thread-local message and return the status -------- */
rec_status rec_err(rec_status st, const char *fmt, ...) REC_PRINTF(2, 3);
rec_status rec_verr(rec_status st, const char *fmt, va_list ap);
/* Shorthand for the most common cases; fn is the public function's name. */
#define REC_CHECK_ARG(cond, fn, what)                                        \
    do {                                                                     \
        if (!(cond))                                                         \
            return rec_err(REC_E_INVALID, "%s: %s", (fn), (what));           \
    } while (0)
#define REC_TRY(expr)                                                        \
    do {                                                                     \
        rec_status rec_try_st_ = (expr);                                     \
        if (rec_try_st_ != REC_OK)                                           \
            return rec_try_st_;                                              \
    } while (0)
rec_status rec_nomem(const char *fn);

/* ---- compressed rows (CSR) ------------------------------------------------
 * The one check of a CSR structure, a caller's or a file's: indptr[0] = 0,
 * indptr never decreases over rows + 1 entries, indptr[rows] = nnz (skipped
 * when nnz < 0) and, unless indices is NULL, every indices[k] in [lo, hi).
 * A caller's arrays (in_file = 0) fail with REC_E_INVALID, or REC_E_RANGE for
 * an index outside [lo, hi) as everywhere in the API; a model file's
 * (in_file = 1) with REC_E_FORMAT.  The message "fn: what: ..." names the entry. */
rec_status rec_csr_check(int in_file, const char *fn, const char *what, int64_t rows,
                         const int64_t *indptr, int64_t nnz, const int32_t *indices, int64_t lo,
                         int64_t hi);

/* ---- comma lists in parameter values ---------------------------------------
 * rec_list_start then rec_list_next walks "a, b,c": each entry trimmed of
 * spaces, len 0 for an empty one (",," or a trailing comma: the caller
 * decides); a blank list has no entries.  rec_list_ints reads a list of up
 * to max integers in [lo, hi] into out[*n] ("fn: key: ..." on error). */
typedef struct rec_list_iter {
    const char *next;
} rec_list_iter;
void rec_list_start(rec_list_iter *it, const char *list);
int rec_list_next(rec_list_iter *it, const char **entry, size_t *len);
rec_status rec_list_ints(const char *list, int64_t lo, int64_t hi, int64_t *out, int max, int *n,
                         const char *fn, const char *key);

/* qsort order of int32_t values, ascending. */
int rec_cmp_i32(const void *a, const void *b);

/* An item with a weight (explain's reasons); rec_cmp_weighted orders them by
 * weight, highest first, ties to the lower item, so lists are deterministic. */
typedef struct rec_weighted {
    float w;
    int32_t item;
} rec_weighted;
int rec_cmp_weighted(const void *a, const void *b);

/* ---- allocation through the host's hooks -------------------------------
 * Every allocation in librec goes through these; rec_free needs the size.
 * They set no error message: callers report REC_E_NOMEM with rec_nomem(). */
void *rec_malloc(size_t size);
void *rec_calloc(size_t n, size_t size);
void *rec_realloc(void *p, size_t old_size, size_t new_size);
void rec_free(void *p, size_t size);
char *rec_strdup(const char *s);
void rec_strfree(char *s);
/* 64-byte aligned blocks (SIMD and cache lines). */
void *rec_aligned_alloc(size_t size);
void rec_aligned_free(void *p, size_t size);
/* Asks the OS for 2 MB pages on the 2 MB-aligned part of a fresh block of
 * at least 4 MB (before it is first written): a big table read at random
 * then costs no TLB miss per row.  Advice only; nothing where unsupported. */
void rec_advise_huge_pages(void *p, size_t size);
/* Overflow-checked n * size; returns 0 on overflow. */
int rec_mul_ok(size_t n, size_t size, size_t *out);

/* ---- parameter specs -----------------------------------------------------
 * Each model or component publishes a table of its keys; rec_params_check
 * rejects unknown keys, wrong types and out-of-range values.  The getters
 * return the default when the key is absent (the table is the default). */
typedef struct rec_param_spec {
    const char *key;
    rec_param_type type;
    const char *def;   /* default as text: "64", "0.001", "true", "cosine" */
    double lo, hi;     /* inclusive bounds for INT/FLOAT                    */
    const char *choices; /* for STR: "a|b|c", or NULL for free text         */
    const char *help;
} rec_param_spec;

rec_status rec_params_check(const rec_params *p, const rec_param_spec *spec,
                            size_t nspec, const char *fn);
int64_t rec_params_int(const rec_params *p, const rec_param_spec *spec, size_t nspec,
                       const char *key);
double rec_params_flt(const rec_params *p, const rec_param_spec *spec, size_t nspec,
                      const char *key);
int rec_params_bool(const rec_params *p, const rec_param_spec *spec, size_t nspec,
                    const char *key);
const char *rec_params_str(const rec_params *p, const rec_param_spec *spec, size_t nspec,
                           const char *key);
rec_status rec_params_clone(const rec_params *src, rec_params **out);
/* A copy with every alias renamed to the key it stands for in spec (the
 * bag passed rec_params_check against spec). */
rec_status rec_params_clone_canonical(const rec_params *src, const rec_param_spec *spec,
                                      size_t nspec, rec_params **out);

/* ---- the parameter vocabulary (param_vocab.c) ----------------------------
 * One name per idea across every component: dim, epochs, lr, reg, batch,
 * negatives, seed, init_std.  Old names are aliases: rec_params_check and
 * the getters above accept an alias wherever its canonical key is in the
 * spec (and the alias itself is not). */
/* The canonical key of alias, or NULL when key is no alias. */
const char *rec_param_alias_of(const char *alias);
/* The spec key (or the canonical key of an alias) nearest to an unknown
 * key, or NULL when none is close enough to be a likely typo. */
const char *rec_param_suggest(const char *key, const rec_param_spec *spec, size_t nspec);

/* ---- RNG -----------------------------------------------------------------
 * xoshiro256** seeded through splitmix64.  rec_rng_stream gives stream k of
 * a seed, so a shard's numbers depend on (seed, shard), never on which
 * thread runs it. */
typedef struct rec_rng {
    uint64_t s[4];
} rec_rng;
void rec_rng_seed(rec_rng *r, uint64_t seed);
void rec_rng_stream(rec_rng *r, uint64_t seed, uint64_t stream);
uint64_t rec_rng_u64(rec_rng *r);
uint32_t rec_rng_below(rec_rng *r, uint32_t n);   /* uniform in [0, n) */
float rec_rng_uniform(rec_rng *r);                /* [0, 1)            */
float rec_rng_normal(rec_rng *r);                 /* N(0, 1)           */
void rec_rng_shuffle_i32(rec_rng *r, int32_t *a, size_t n);

/* ---- thread pool -----------------------------------------------------------
 * rec_parallel_for splits [0, n) into at most rec_get_num_threads() contiguous
 * chunks of at least `grain` items and calls fn(arg, begin, end, chunk) on
 * each; chunk numbering is stable for given (n, grain, threads).  Nested
 * calls run inline.  BLAS is single-threaded inside.  Waiting threads sleep
 * on a condition variable rather than spin, so they leave the cores to BLAS. */
typedef void (*rec_range_fn)(void *arg, int64_t begin, int64_t end, int chunk);
void rec_parallel_for(int64_t n, int64_t grain, rec_range_fn fn, void *arg);
/* Same, but chunk boundaries depend only on n and nchunks (not on threads):
 * use when each chunk owns an RNG stream or a partial sum. */
void rec_parallel_chunks(int64_t n, int nchunks, rec_range_fn fn, void *arg);
int rec_in_parallel(void);

/* ---- row kernels in AVX-512 and plain C ------------------------------------
 * dropout_mask.c, layernorm_rows.c and softmax_rows.c each have an AVX-512
 * path and a plain C path that agree bit for bit.  rec_simd_path is the one
 * in use; rec_simd_force is for the tests (not thread safe with running
 * kernels; AVX-512 on a CPU without it gives the C path) and returns the
 * path now in use. */
enum { REC_SIMD_AUTO, REC_SIMD_C, REC_SIMD_AVX512 };
int rec_simd_force(int path);
int rec_simd_path(void);

/* ---- dropout masks (dropout_mask.c) ---------------------------------------
 * Value i of a tensor is kept when rec_drop_hash(key, i) >= thresh; bit l
 * of bits[w] says whether value 16w + l was kept.  rec_drop_fwd writes
 * y = kept ? x * scale : 0 and the bits for words [w0, w1) of n values;
 * rec_drop_bwd writes (set) or adds dy * scale on the kept values. */
uint32_t rec_drop_hash(uint64_t key, int64_t i);
void rec_drop_fwd(uint64_t key, uint32_t thresh, float scale, const float *x, float *y,
                  uint16_t *bits, int64_t w0, int64_t w1, int64_t n);
void rec_drop_bwd(const uint16_t *bits, float scale, const float *dy, float *dx, int set,
                  int64_t w0, int64_t w1, int64_t n);

/* ---- layer norm rows (layernorm_rows.c) ------------------------------------
 * Rows [r0, r1) of x [rows, c]: rec_ln_rows_fwd writes y = (x - mean) rstd
 * gamma + beta (gamma, beta may be NULL) and stats [rows, 2] = (mean, rstd =
 * 1 / sqrt(var + eps)); rec_ln_rows_bwd writes (set) or adds dx from dy and
 * the stats; rec_ln_params_bwd adds dgamma, dbeta (either may be NULL) over
 * all rows in order. */
void rec_ln_rows_fwd(const float *x, float *y, float *stats, int64_t r0, int64_t r1, int64_t c,
                     float eps, const float *gamma, const float *beta);
void rec_ln_rows_bwd(const float *x, const float *dy, float *dx, int set, const float *stats,
                     int64_t r0, int64_t r1, int64_t c, const float *gamma);
void rec_ln_params_bwd(const float *x, const float *dy, const float *stats, int64_t rows,
                       int64_t c, float *dg, float *db);

/* ---- softmax rows (softmax_rows.c) -----------------------------------------
 * rec_sm_row_fwd: y[0..len) = softmax of x[0..len), y[len..c) = 0;
 * rec_sm_row_bwd: dx = y (dy - y . dy) over [0, len), written (set, with
 * zeros on [len, c)) or added.  rec_sm_exp is the exp they use. */
float rec_sm_exp(float x);
void rec_sm_row_fwd(const float *x, float *y, int64_t len, int64_t c);
void rec_sm_row_bwd(const float *y, const float *dy, float *dx, int set, int64_t len, int64_t c);

/* ---- BLAS glue (the only place that includes cblas.h) ---------------------
 * Row-major C[m,n] = alpha * op(A)[m,k] op(B)[k,n] + beta * C. */
void rec_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
               const float *a, int lda, const float *b, int ldb, float beta,
               float *c, int ldc);
/* The small-product kernel under rec_sgemm (gemm_small.c): AVX-512 when the
 * CPU has it, else BLAS.  rec_gemm_small computes the product and returns 1,
 * or returns 0 when it leaves the shape (or the CPU) to BLAS; every element
 * is the same fused multiply-add chain over k whatever the split, so the
 * AVX-512 and C paths agree bit for bit.  rec_gemm_force is for the tests
 * (not thread safe with running products; AVX-512 on a CPU without it gives
 * the C path); returns the path now in use. */
enum { REC_GEMM_AUTO, REC_GEMM_BLAS, REC_GEMM_C, REC_GEMM_AVX512 };
int rec_gemm_small(int trans_a, int trans_b, int m, int n, int k, float alpha,
                   const float *a, int lda, const float *b, int ldb, float beta,
                   float *c, int ldc);
int rec_gemm_force(int path);
int rec_gemm_path(void);
/* y = alpha * op(A) x + beta * y, A row-major [m, n]. */
void rec_sgemv(int trans, int m, int n, float alpha, const float *a, int lda,
               const float *x, float beta, float *y);
float rec_sdot(int n, const float *x, const float *y);
void rec_saxpy(int n, float alpha, const float *x, float *y);
/* Sets BLAS to one thread, once per process; safe from any thread. */
void rec_blas_single_threaded(void);
const char *rec_blas_name(void);

#endif
