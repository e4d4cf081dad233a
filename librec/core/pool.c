/* The one thread pool.  Workers take fixed chunks from a shared counter, so
 * which thread runs a chunk never changes what the chunk computes.  BLAS is
 * kept single-threaded (rec_sgemm splits large products over this pool), so
 * no second pool spins against ours on small machines.  The pool starts
 * once (pthread_once): host threads making their first calls at the same
 * time, on a freshly loaded model, must not each start workers. */
#include "core-impl.h"

#include <pthread.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <unistd.h>

#define MAX_THREADS 256

typedef struct job {
    rec_range_fn fn;
    void *arg;
    int64_t n;
    int nchunks;
    atomic_int next;
    atomic_int done;
    int users;          /* workers holding a pointer to this job (under P.mu) */
} job;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake, finished;
    pthread_t tid[MAX_THREADS];
    int nworkers;       /* started threads (requested - 1) */
    int requested;      /* 0 until first use */
    uint64_t generation;
    job *cur;
    int quit;
} P = { .mu = PTHREAD_MUTEX_INITIALIZER,
        .wake = PTHREAD_COND_INITIALIZER,
        .finished = PTHREAD_COND_INITIALIZER };

static _Thread_local int in_region;

int rec_in_parallel(void)
{
    return in_region;
}

static void run_chunks(job *j)
{
    int c;
    while ((c = atomic_fetch_add(&j->next, 1)) < j->nchunks) {
        int64_t b = j->n * c / j->nchunks, e = j->n * (c + 1) / j->nchunks;
        j->fn(j->arg, b, e, c);
        if (atomic_fetch_add(&j->done, 1) + 1 == j->nchunks) {
            pthread_mutex_lock(&P.mu);
            pthread_cond_broadcast(&P.finished);
            pthread_mutex_unlock(&P.mu);
        }
    }
}

static void *worker(void *unused)
{
    (void)unused;
    uint64_t seen = 0;
    in_region = 1;
    for (;;) {
        pthread_mutex_lock(&P.mu);
        while (!P.quit && P.generation == seen)
            pthread_cond_wait(&P.wake, &P.mu);
        if (P.quit) {
            pthread_mutex_unlock(&P.mu);
            return NULL;
        }
        seen = P.generation;
        job *j = P.cur;
        if (j)
            j->users++;
        pthread_mutex_unlock(&P.mu);
        if (j) {
            run_chunks(j);
            /* The job lives on the caller's stack: it may return only once
             * no worker can touch it any more. */
            pthread_mutex_lock(&P.mu);
            if (--j->users == 0)
                pthread_cond_broadcast(&P.finished);
            pthread_mutex_unlock(&P.mu);
        }
    }
}

static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
}

static void stop_workers(void)
{
    pthread_mutex_lock(&P.mu);
    P.quit = 1;
    pthread_cond_broadcast(&P.wake);
    pthread_mutex_unlock(&P.mu);
    for (int i = 0; i < P.nworkers; i++)
        pthread_join(P.tid[i], NULL);
    P.nworkers = 0;
    P.quit = 0;
}

static rec_status start_workers(int n)
{
    for (int i = 0; i < n - 1; i++) {
        if (pthread_create(&P.tid[i], NULL, worker, NULL) != 0) {
            P.nworkers = i;
            return rec_err(REC_E_NOMEM, "rec_set_num_threads: could not start thread %d", i + 1);
        }
        /* Named so a host (and our tests) can tell the pool's threads apart
         * in top -H or /proc/PID/task/TID/comm. */
        pthread_setname_np(P.tid[i], "librec-pool");
        P.nworkers = i + 1;
    }
    return REC_OK;
}

static void at_exit_stop(void)
{
    stop_workers();
}

/* Starts (or restarts) the pool with n >= 1 threads.  Callers are
 * serialised: rec_set_num_threads by its contract, the first start by
 * pthread_once. */
static rec_status resize(int n)
{
    static int registered;
    if (P.requested == n && P.nworkers == n - 1)
        return REC_OK;
    stop_workers();
    P.requested = n;
    if (!registered) {
        atexit(at_exit_stop);
        registered = 1;
    }
    rec_status st = start_workers(n);
    if (st)
        P.requested = P.nworkers + 1;
    return st;
}

static pthread_once_t started = PTHREAD_ONCE_INIT;

/* The default pool, unless rec_set_num_threads came first.  A failure to
 * start a worker leaves a smaller pool (at least the calling thread). */
static void start_default(void)
{
    rec_blas_single_threaded();
    if (!P.requested)
        (void)resize(online_cpus());
}

REC_API rec_status rec_set_num_threads(int n)
{
    if (n < 0 || n > MAX_THREADS)
        return rec_err(REC_E_RANGE, "rec_set_num_threads: n = %d is outside [0, %d]", n,
                       MAX_THREADS);
    if (in_region)
        return rec_err(REC_E_STATE, "rec_set_num_threads: called inside a parallel region");
    rec_blas_single_threaded();
    rec_status st = resize(n ? n : online_cpus());
    /* P.requested is set now, so the one-time start only marks itself done. */
    pthread_once(&started, start_default);
    return st;
}

REC_API int rec_get_num_threads(void)
{
    pthread_once(&started, start_default);
    return P.requested;
}

void rec_parallel_chunks(int64_t n, int nchunks, rec_range_fn fn, void *arg)
{
    if (n <= 0)
        return;
    if (nchunks < 1)
        nchunks = 1;
    if (nchunks > n)
        nchunks = (int)n;
    int threads = rec_get_num_threads();
    int inline_run = in_region || threads <= 1 || nchunks == 1;
    job j = { .fn = fn, .arg = arg, .n = n, .nchunks = nchunks };
    atomic_init(&j.next, 0);
    atomic_init(&j.done, 0);
    if (!inline_run) {
        /* The pool runs one job at a time: a second host thread arriving
         * while another's job is live does its own work inline. */
        pthread_mutex_lock(&P.mu);
        if (P.cur)
            inline_run = 1;
        else
            P.cur = &j;
        pthread_mutex_unlock(&P.mu);
    }
    if (inline_run) {
        int saved = in_region;
        in_region = 1;
        for (int c = 0; c < nchunks; c++)
            fn(arg, n * c / nchunks, n * (c + 1) / nchunks, c);
        in_region = saved;
        return;
    }
    pthread_mutex_lock(&P.mu);
    P.generation++;
    pthread_cond_broadcast(&P.wake);
    pthread_mutex_unlock(&P.mu);
    in_region = 1;
    run_chunks(&j);
    in_region = 0;
    pthread_mutex_lock(&P.mu);
    while (atomic_load(&j.done) < nchunks || j.users > 0)
        pthread_cond_wait(&P.finished, &P.mu);
    P.cur = NULL;
    pthread_mutex_unlock(&P.mu);
}

void rec_parallel_for(int64_t n, int64_t grain, rec_range_fn fn, void *arg)
{
    if (n <= 0)
        return;
    if (grain < 1)
        grain = 1;
    int64_t by_grain = (n + grain - 1) / grain;
    int threads = in_region ? 1 : rec_get_num_threads();
    int nchunks = by_grain < threads ? (int)by_grain : threads;
    rec_parallel_chunks(n, nchunks, fn, arg);
}
