/* Chains every suite the build found (suites.h is generated from the
 * `Suite *rec_<area>_suite(void)` definitions in tests/).  Check's own
 * CK_RUN_SUITE=name and CK_RUN_CASE=name select a part.
 *
 * The suites are independent, so they run on LIBREC_TEST_JOBS worker
 * processes (default: the online CPUs, at most 4) that take the next suite
 * from a shared queue; each suite's report is printed whole when it ends.
 * LIBREC_TEST_JOBS=1, or CK_RUN_SUITE, runs them in this process, in order. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#ifdef REC_DATA_SUITES
#define SUITE(f) Suite *f(void);
#include "data_suites.h"
#undef SUITE
#define SUITE(f) f,
static Suite *(*const suites[])(void) = {
#include "data_suites.h"
    NULL };
#else
#define SUITE(f) Suite *f(void);
#include "suites.h"
#undef SUITE
#define SUITE(f) f,
static Suite *(*const suites[])(void) = {
#include "suites.h"
    NULL };
#endif

/* What a worker tells the parent about one suite; small enough for the pipe
 * to deliver whole when several workers write at once. */
typedef struct {
    int suite, run, failed;
    double seconds;
} suite_result;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int run_serial(void)
{
    SRunner *sr = NULL;
    for (size_t i = 0; suites[i]; i++) {
        Suite *s = suites[i]();
        if (!sr)
            sr = srunner_create(s);
        else
            srunner_add_suite(sr, s);
    }
    if (!sr)
        return 0;
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

static int jobs_wanted(void)
{
    const char *e = getenv("LIBREC_TEST_JOBS");
    if (getenv("CK_RUN_SUITE"))
        return 1;
    if (e && *e)
        return atoi(e) > 0 ? atoi(e) : 1;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 4 ? 4 : (int)n;
}

/* One worker: runs queued suites with stdout sent to the suite's report
 * file, until the queue is empty. */
static void worker(int queue, int results, const char *dir)
{
    int i;
    while (read(queue, &i, sizeof i) == (ssize_t)sizeof i) {
        char path[512];
        snprintf(path, sizeof path, "%s/%d.out", dir, i);
        fflush(stdout);
        int saved = dup(STDOUT_FILENO);
        if (!freopen(path, "w", stdout))
            _exit(3);
        double t0 = now();
        SRunner *sr = srunner_create(suites[i]());
        srunner_run_all(sr, CK_NORMAL);
        suite_result r = { i, srunner_ntests_run(sr), srunner_ntests_failed(sr), now() - t0 };
        srunner_free(sr);
        fflush(stdout);
        dup2(saved, STDOUT_FILENO);
        close(saved);
        if (write(results, &r, sizeof r) != (ssize_t)sizeof r)
            _exit(3);
    }
    _exit(0);
}

static void print_report(const char *dir, int i)
{
    char path[512], buf[8192];
    snprintf(path, sizeof path, "%s/%d.out", dir, i);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, stdout);
    fclose(f);
    remove(path);
    fflush(stdout);
}

static int run_parallel(int nsuites, int jobs)
{
    char dir[] = "/tmp/librec-check-XXXXXX";
    int queue[2], results[2];
    if (!mkdtemp(dir) || pipe(queue) || pipe(results)) {
        perror("check_all");
        return EXIT_FAILURE;
    }
    /* The whole queue fits in the pipe's buffer: written before any worker starts. */
    for (int i = 0; i < nsuites; i++)
        if (write(queue[1], &i, sizeof i) != (ssize_t)sizeof i) {
            perror("check_all: queue");
            return EXIT_FAILURE;
        }
    close(queue[1]);
    fflush(stdout);
    fflush(stderr);
    for (int w = 0; w < jobs; w++) {
        pid_t p = fork();
        if (p < 0) {
            perror("check_all: fork");
            return EXIT_FAILURE;
        }
        if (p == 0) {
            close(results[0]);
            worker(queue[0], results[1], dir);
        }
    }
    close(queue[0]);
    close(results[1]);

    int done = 0, run = 0, failed = 0;
    double t0 = now();
    suite_result r;
    ssize_t got;
    while ((got = read(results[0], &r, sizeof r)) == (ssize_t)sizeof r ||
           (got < 0 && errno == EINTR)) {
        if (got < 0)
            continue;
        print_report(dir, r.suite);
        printf("(%.1f s)\n", r.seconds);
        done++;
        run += r.run;
        failed += r.failed;
    }
    close(results[0]);
    int crashed = 0, status;
    while (wait(&status) > 0)
        crashed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    rmdir(dir);
    printf("\nAll suites: %d of %d ran on %d workers in %.1f s: %d checks, %d failed%s\n", done,
           nsuites, jobs, now() - t0, run, failed, crashed ? ", a worker died" : "");
    return failed || crashed || done != nsuites ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main(void)
{
#ifdef REC_DATA_SUITES
    /* Say once, up front, why every data test is about to fail. */
    char why[1200];
    if (!tu_data_at(getenv("LIBREC_DATA"), why, sizeof why)) {
        fprintf(stderr, "check_data: %s\n", why);
        return EXIT_FAILURE;
    }
#endif
    int nsuites = 0;
    while (suites[nsuites])
        nsuites++;
    int jobs = jobs_wanted();
    if (jobs > nsuites)
        jobs = nsuites;
    return jobs <= 1 ? run_serial() : run_parallel(nsuites, jobs);
}
