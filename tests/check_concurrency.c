/* Many host threads reading one model at once, as a service's request
 * threads do right after it loads its model: the first calls start librec's
 * thread pool and set BLAS to one thread, and must do so exactly once.
 * Each round runs in a forked child of this test so the pool really is
 * fresh (never started) when the 16 threads arrive together; the test's own
 * process never starts it (the model is trained in a child too).  Built with
 * TSAN=1, ThreadSanitizer checks the same rounds for data races. */
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NTHREADS 16
#define NQUERY 8 /* users each thread asks for, in its own order */
#define K 10

typedef struct answer {
    const char *items[K];
    float scores[K];
    size_t n;
    rec_status st;
} answer;

typedef struct round_ctx {
    const rec_model *m;
    pthread_barrier_t go;
    const char *users[NQUERY];
    answer got[NTHREADS][NQUERY];
} round_ctx;

typedef struct worker_arg {
    round_ctx *c;
    int t;
} worker_arg;

static void *ask(void *p)
{
    worker_arg *a = p;
    round_ctx *c = a->c;
    pthread_barrier_wait(&c->go);
    for (int q = 0; q < NQUERY; q++) {
        int u = (q + a->t) % NQUERY;
        answer *r = &c->got[a->t][u];
        r->st = rec_model_recommend(c->m, c->users[u], K, 0, r->items, r->scores, &r->n);
    }
    return NULL;
}

/* Threads of this process that librec's pool started (it names them). */
static int pool_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[300], comm[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (f) {
            if (fgets(comm, sizeof comm, f))
                comm[strcspn(comm, "\n")] = 0;
            fclose(f);
        }
        n += strcmp(comm, "librec-pool") == 0;
    }
    closedir(d);
    return n;
}

/* One round in a fresh child: load, 16 threads at once, then the same
 * queries from one thread.  Writes what went wrong to fd; exit code 0 when
 * nothing did.  No ck_assert here: this is not the test's process. */
static int child_round(const char *path, int fd)
{
    rec_model *m;
    if (rec_model_load(&m, path)) {
        dprintf(fd, "load: %s", rec_last_error());
        return 1;
    }
    static round_ctx c;
    memset(&c, 0, sizeof c);
    c.m = m;
    size_t nu;
    rec_model_num_users(m, &nu);
    char names[NQUERY][16];
    for (int q = 0; q < NQUERY; q++) {
        snprintf(names[q], sizeof names[q], "u%zu", (size_t)q * 7 % nu + 1); /* ids from 1 */
        c.users[q] = names[q];
    }
    pthread_barrier_init(&c.go, NULL, NTHREADS);
    pthread_t tid[NTHREADS];
    worker_arg wa[NTHREADS];
    for (int t = 0; t < NTHREADS; t++) {
        wa[t] = (worker_arg){ &c, t };
        if (pthread_create(&tid[t], NULL, ask, &wa[t])) {
            dprintf(fd, "pthread_create failed");
            return 1;
        }
    }
    for (int t = 0; t < NTHREADS; t++)
        pthread_join(tid[t], NULL);
    int bad = 0;
    int pool = pool_threads(), want = rec_get_num_threads() - 1;
    if (pool != want) {
        dprintf(fd, "%d pool threads after the race, the pool has %d workers; ", pool, want);
        bad = 1;
    }
    for (int q = 0; q < NQUERY && !bad; q++) {
        answer ref;
        ref.st = rec_model_recommend(m, c.users[q], K, 0, ref.items, ref.scores, &ref.n);
        for (int t = 0; t < NTHREADS && !bad; t++) {
            const answer *r = &c.got[t][q];
            int same = r->st == ref.st && r->n == ref.n;
            for (size_t j = 0; same && j < ref.n; j++)
                same = r->items[j] == ref.items[j] &&
                       memcmp(&r->scores[j], &ref.scores[j], sizeof(float)) == 0;
            if (!same || ref.st || ref.n != K) {
                dprintf(fd, "thread %d, user %s: status %d, %zu items; alone: status %d, "
                        "%zu items", t, c.users[q], r->st, r->n, ref.st, ref.n);
                bad = 1;
            }
        }
    }
    pthread_barrier_destroy(&c.go);
    rec_model_destroy(m);
    return bad;
}

/* Runs fn(arg, fd) in a forked child; its exit code, what it wrote in msg.
 * A child that has not finished in 10 minutes is killed (a hang). */
static int in_child(int (*fn)(const char *, int), const char *arg, char *msg, size_t cap)
{
    int pfd[2];
    ck_assert_int_eq(pipe(pfd), 0);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(pfd[0]);
        _exit(fn(arg, pfd[1]));
    }
    close(pfd[1]);
    int status = 0;
    struct timespec tick = { 0, 20 * 1000 * 1000 };
    for (int waited = 0; waitpid(pid, &status, WNOHANG) == 0; waited++) {
        if (waited == 30000) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            snprintf(msg, cap, "hung");
            close(pfd[0]);
            return -1;
        }
        nanosleep(&tick, NULL);
    }
    ssize_t n = read(pfd[0], msg, cap - 1);
    msg[n > 0 ? n : 0] = 0;
    close(pfd[0]);
    if (WIFSIGNALED(status)) {
        snprintf(msg, cap, "died of signal %d", WTERMSIG(status));
        return -1;
    }
    return WEXITSTATUS(status);
}

static const char *train_kind;

/* The model, trained and saved in a child (training starts the pool). */
static int child_train(const char *path, int fd)
{
    rec_params *o, *p;
    rec_dataset *d;
    rec_model *m;
    rec_params_create(&o);
    rec_params_set_int(o, "users", 60);
    rec_params_set_int(o, "items", 80);
    rec_params_set_int(o, "interactions-per-user", 12);
    rec_params_create(&p);
    rec_params_set_int(p, "epochs", 2);
    if (!strcmp(train_kind, "sasrec")) {
        rec_params_set_int(p, "dim", 16);
        rec_params_set_int(p, "maxlen", 10);
        rec_params_set_int(p, "batch", 32);
    }
    rec_status st = rec_dataset_generate(&d, o);
    if (!st)
        st = rec_model_create(&m, train_kind, p);
    if (!st)
        st = rec_model_fit(m, d, NULL, NULL);
    if (!st)
        st = rec_model_save(m, path);
    if (st)
        dprintf(fd, "%s: %s", train_kind, rec_last_error());
    return st != REC_OK;
}

/* Rounds per kind: before the fix about one fresh process in three ended
 * with extra pool threads, so 20 rounds miss it with odds (2/3)^20 < 0.1%.
 * ThreadSanitizer reports the unordered accesses themselves, whether or not
 * a round goes wrong, so a few of its (slow) rounds are enough. */
#if defined(__SANITIZE_THREAD__)
#define ROUNDS 4
#else
#define ROUNDS 20
#endif

static void race_rounds(const char *kind)
{
    /* Under CK_FORK=no this process may already run the pool, and a forked
     * child would inherit a pool without its threads: nothing fresh to test. */
    const char *fork_mode = getenv("CK_FORK");
    if (fork_mode && !strcmp(fork_mode, "no"))
        return;
    char path[600], msg[1024];
    snprintf(path, sizeof path, "%s", tu_tmp_path(kind));
    train_kind = kind;
    int rc = in_child(child_train, path, msg, sizeof msg);
    ck_assert_msg(rc == 0, "training %s in a child: %s", kind, msg);
    for (int r = 0; r < ROUNDS; r++) {
        rc = in_child(child_round, path, msg, sizeof msg);
        ck_assert_msg(rc == 0, "%s, round %d: %s", kind, r, msg);
    }
}

START_TEST(sixteen_threads_recommend_right_after_load_sasrec)
{
    race_rounds("sasrec");
}
END_TEST

START_TEST(sixteen_threads_recommend_right_after_load_dnn)
{
    race_rounds("dnn");
}
END_TEST

/* The documented order: rec_set_num_threads before any other call, then
 * concurrent first use keeps that number (the one-time start must not
 * replace it with the default). */
static int child_set_then_race(const char *path, int fd)
{
    if (rec_set_num_threads(3)) {
        dprintf(fd, "rec_set_num_threads(3): %s", rec_last_error());
        return 1;
    }
    int rc = child_round(path, fd);
    if (!rc && rec_get_num_threads() != 3) {
        dprintf(fd, "%d threads after the race, 3 were set", rec_get_num_threads());
        return 1;
    }
    return rc;
}

START_TEST(threads_set_before_first_use_are_kept)
{
    const char *fork_mode = getenv("CK_FORK");
    if (fork_mode && !strcmp(fork_mode, "no"))
        return;
    char path[600], msg[1024];
    snprintf(path, sizeof path, "%s", tu_tmp_path("dnn3"));
    train_kind = "dnn";
    ck_assert_msg(in_child(child_train, path, msg, sizeof msg) == 0, "%s", msg);
    ck_assert_msg(in_child(child_set_then_race, path, msg, sizeof msg) == 0, "%s", msg);
}
END_TEST

Suite *rec_concurrency_suite(void)
{
    Suite *s = suite_create("concurrency");
    TCase *tc = tcase_create("first_use");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, sixteen_threads_recommend_right_after_load_sasrec);
    tcase_add_test(tc, sixteen_threads_recommend_right_after_load_dnn);
    tcase_add_test(tc, threads_set_before_first_use_are_kept);
    suite_add_tcase(s, tc);
    return s;
}
