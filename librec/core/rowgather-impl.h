/* Random-row gathers at the memory's speed (rowgather.c): the one primitive
 * under EmbeddingBag, gather, the CSR x dense product and the sparse
 * gradient's scatter and coalescing.
 *
 * A row fetched at random from a table much larger than the caches costs a
 * DRAM miss (and a TLB miss); one at a time that is ~25 ns a row.  The
 * walkers below keep many rows in flight: row i + ahead is prefetched while
 * row i is used, rows are handed to the arithmetic in blocks of up to
 * REC_RG_BLOCK pointers, and the arithmetic is an AVX-512, AVX2 or plain C
 * kernel chosen at run time.  Every path does the same float operations in
 * the same order (a multiply then an add, never a fused multiply-add), so
 * all three give bit-identical results and the tests compare them exactly. */
#ifndef LIBREC_ROWGATHER_IMPL_H
#define LIBREC_ROWGATHER_IMPL_H

#include <stdint.h>

#define REC_RG_BLOCK 16

/* Kernel paths; REC_RG_AUTO picks the best the CPU runs. */
enum { REC_RG_AUTO, REC_RG_C, REC_RG_AVX2, REC_RG_AVX512 };

/* Forces a path for every later call (tests compare the paths; not thread
 * safe with running kernels).  A path the CPU or the build lacks gives
 * REC_RG_C.  Returns the path now in use. */
int rec_rowgather_force(int path);
int rec_rowgather_path(void);

/* Prefetch distance in rows (see rowgather.c for the measurement); the
 * setter is for bench/micro's tuning runs only (n <= 0 restores it). */
int64_t rec_rowgather_ahead(int64_t d);
void rec_rowgather_set_ahead(int64_t rows);

/* A table read by id: entry i is row ids[i] of base [.., d] (ids NULL: row
 * i itself); an id < 0 or == pad is skipped.  Prefetches never look at
 * entries at or past end. */
typedef struct rec_rowsrc {
    const float *base;
    const int32_t *ids;
    int64_t d, end;
    int32_t pad;
} rec_rowsrc;

/* Prefetches the first rows of entries [b, ...): call once where a thread's
 * stream of entries starts. */
void rec_rg_warm(const rec_rowsrc *s, int64_t b);

/* out[d] += sum over entries i in [b, e) of w[i] * row(i) (w NULL: 1), each
 * element summed in entry order.  Returns how many entries were used. */
int64_t rec_rg_sum(const rec_rowsrc *s, const float *w, int64_t b, int64_t e, float *out);

/* Bags [b0, b1), bag b the entries [off[b], off[b+1]): out row b (of
 * [.., d]) = the sum of its rows (weighted by w when set), scaled by
 * 1/count for mean when more than one entry is used; zeros for a bag with
 * none.  The same bits as rec_rg_sum into a zeroed row and a multiply by
 * 1/count.  Faster than a rec_rg_sum per bag: rows of the next bags are
 * read while one bag finishes. */
void rec_rg_bags(const rec_rowsrc *s, const float *w, const int32_t *off, int64_t b0,
                 int64_t b1, float *out, int mean);

/* out[d] = elementwise max over the entries of [b, e) (the first one wins a
 * tie); arg[c] = the entry index giving out[c], or -1 for every c and out
 * zero when no entry is used.  arg may be NULL (serving).  Returns the count. */
int64_t rec_rg_max(const rec_rowsrc *s, int64_t b, int64_t e, float *out, int32_t *arg);

/* out rows [b, e) of [.., d] = row(i), zeros for skipped entries. */
void rec_rg_copy(const rec_rowsrc *s, int64_t b, int64_t e, float *out);

/* Scatter-add into a table: for entries i in [b, e) whose id lies in
 * [lo, hi), row ids[i] of dst += (w ? s * w[i] : s) * (src + (i - b) * step)
 * (step 0: one source row for all).  Threads own disjoint [lo, hi): each
 * table row is summed in entry order whatever the thread count. */
typedef struct rec_rowdst {
    float *base;
    const int32_t *ids;
    int64_t d, end;
    int32_t pad;
} rec_rowdst;
void rec_rg_scatter(const rec_rowdst *t, int64_t b, int64_t e, int64_t lo, int64_t hi,
                    const float *w, float s, const float *src, int64_t step);

/* out[d] += rows[0] + ... + rows[n-1] for row pointers (any n), summed in
 * order, prefetching ahead through the list. */
void rec_rg_sum_ptrs(int64_t d, const float *const *rows, int64_t n, float *out);

/* Prefetches entry i's row (nothing past end or for a skipped id). */
void rec_rg_prefetch(const rec_rowsrc *s, int64_t i);

/* How many chunks to split a gather of n rows of d floats into for
 * rec_parallel_chunks: 1 below the size where a second thread pays for its
 * wake-up (see rowgather.c), else up to per_thread per thread (a
 * few let a thread slowed by the machine's other work not hold up the
 * rest; scatters, whose chunks each read every id, want 1). */
int rec_rg_chunks(int64_t n, int64_t d, int per_thread);

/* Overrides that size (floats of rows; 0: always split; < 0 restores it),
 * for bench/micro's crossover runs only. */
void rec_rowgather_set_min_work(int64_t floats);

#endif
