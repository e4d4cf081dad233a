/* The only file that includes cblas.h.  BLAS stays single-threaded; large
 * products are split by rows (or columns) over librec's own pool. */
#include "core-impl.h"

#include <cblas.h>
#include <pthread.h>

#if defined(REC_BLAS_BLIS)
void bli_thread_set_num_threads(long n);
static void set_threads(int n) { bli_thread_set_num_threads(n); }
static const char *blas_name = "blis";
#elif defined(REC_BLAS_OPENBLAS)
void openblas_set_num_threads(int n);
static void set_threads(int n) { openblas_set_num_threads(n); }
static const char *blas_name = "openblas";
#else
static void set_threads(int n) { (void)n; }
static const char *blas_name = "cblas";
#endif

static pthread_once_t single = PTHREAD_ONCE_INIT;

static void set_single(void)
{
    set_threads(1);
}

/* Once per process: the BLAS thread-count setters are not safe to call
 * from several threads at once, and every caller wants 1 anyway. */
void rec_blas_single_threaded(void)
{
    pthread_once(&single, set_single);
}

const char *rec_blas_name(void)
{
    return blas_name;
}

/* Large products are cut in this many parts (fewer for narrow ones): one
 * per thread up to 4 threads. */
#define GEMM_PARTS 4

typedef struct gemm_job {
    int ta, tb, m, n, k, lda, ldb, ldc, split_rows;
    float alpha, beta;
    const float *a, *b;
    float *c;
} gemm_job;

static void gemm_part(void *arg, int64_t b, int64_t e, int chunk)
{
    (void)chunk;
    const gemm_job *g = arg;
    int cnt = (int)(e - b);
    if (g->split_rows) {
        /* rows b..e of op(A) and of C */
        const float *a = g->ta ? g->a + b : g->a + b * g->lda;
        if (rec_gemm_small(g->ta, g->tb, cnt, g->n, g->k, g->alpha, a, g->lda, g->b, g->ldb,
                           g->beta, g->c + b * g->ldc, g->ldc))
            return;
        cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans,
                    g->tb ? CblasTrans : CblasNoTrans, cnt, g->n, g->k, g->alpha, a, g->lda,
                    g->b, g->ldb, g->beta, g->c + b * g->ldc, g->ldc);
    } else {
        const float *bb = g->tb ? g->b + b * g->ldb : g->b + b;
        if (rec_gemm_small(g->ta, g->tb, g->m, cnt, g->k, g->alpha, g->a, g->lda, bb, g->ldb,
                           g->beta, g->c + b, g->ldc))
            return;
        cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans,
                    g->tb ? CblasTrans : CblasNoTrans, g->m, cnt, g->k, g->alpha, g->a, g->lda,
                    bb, g->ldb, g->beta, g->c + b, g->ldc);
    }
}

void rec_sgemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
               const float *b, int ldb, float beta, float *c, int ldc)
{
    if (m <= 0 || n <= 0)
        return;
    double flops = 2.0 * m * n * (k > 0 ? k : 1);
    if (rec_in_parallel() || flops < 4e6 || k <= 0) {
        if (k <= 0) {
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                    c[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[(size_t)i * ldc + j];
            return;
        }
        if (rec_gemm_small(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc))
            return;
        rec_blas_single_threaded();
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    gemm_job g = { ta, tb, m, n, k, lda, ldb, ldc, m >= n, alpha, beta, a, b, c };
    int64_t len = g.split_rows ? m : n;
    /* The parts depend on the shape only, never on the thread count: OpenBLAS
     * may sum a product of another shape in another order, and a fit must
     * give the same bits on 1 thread as on 2 (one thread runs the parts in
     * turn).  Parts of at least 16 rows keep whole micro-tiles. */
    int64_t tiles = (len + 15) / 16;
    int parts = tiles < GEMM_PARTS ? (int)tiles : GEMM_PARTS;
    if (parts <= 1) {
        gemm_part(&g, 0, len, 0);
        return;
    }
    rec_parallel_chunks(len, parts, gemm_part, &g);
}

void rec_sgemv(int trans, int m, int n, float alpha, const float *a, int lda, const float *x,
               float beta, float *y)
{
    rec_blas_single_threaded();
    cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, m, n, alpha, a, lda, x, 1,
                beta, y, 1);
}

float rec_sdot(int n, const float *x, const float *y)
{
    return cblas_sdot(n, x, 1, y, 1);
}

void rec_saxpy(int n, float alpha, const float *x, float *y)
{
    cblas_saxpy(n, alpha, x, 1, y, 1);
}
