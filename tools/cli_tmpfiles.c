/* The temporary files of a save (rec_model_save writes PATH.tmp-PID-N and
 * renames it over PATH, see rec_model(3)): removed when a signal ends this
 * process mid-save, and swept when a dead process left them behind. */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static const int signals[] = { SIGINT, SIGTERM, SIGHUP, SIGXFSZ };
#define NSIG_GUARDED (sizeof signals / sizeof *signals)

/* Filled before the handlers are installed, read-only after: the handler
 * may only use what is already there. */
static char guard_dir[4096], guard_prefix[512];
static size_t guard_prefix_len;

/* Splits path into its directory (into dir, "." if none) and base name. */
static const char *split_path(const char *path, char *dir, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, cap, ".");
        return path;
    }
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    snprintf(dir, cap, "%.*s", (int)n, path);
    return slash + 1;
}

/* Async-signal-safe: open, getdents64, unlinkat, close and raise only (no
 * opendir, which allocates).  Removes this process's temporary files of the
 * output, then dies of the signal as it would have. */
static void on_signal(int sig)
{
    int saved = errno;
    int fd = open(guard_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        static char buf[8192];
        ssize_t n;
        while ((n = getdents64(fd, buf, sizeof buf)) > 0) {
            for (ssize_t off = 0; off < n;) {
                struct dirent64 *e = (struct dirent64 *)(buf + off);
                if (strncmp(e->d_name, guard_prefix, guard_prefix_len) == 0)
                    unlinkat(fd, e->d_name, 0);
                off += e->d_reclen;
            }
        }
        close(fd);
    }
    errno = saved;
    signal(sig, SIG_DFL);
    raise(sig);
}

void cli_tmp_guard(const char *out)
{
    const char *base = split_path(out, guard_dir, sizeof guard_dir);
    int n = snprintf(guard_prefix, sizeof guard_prefix, "%s.tmp-%ld-", base, (long)getpid());
    if (n <= 0 || (size_t)n >= sizeof guard_prefix || strlen(out) >= sizeof guard_dir)
        return; /* a name too long to guard; the save itself still works */
    guard_prefix_len = (size_t)n;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < NSIG_GUARDED; i++)
        sigaddset(&sa.sa_mask, signals[i]); /* one handler run at a time */
    for (size_t i = 0; i < NSIG_GUARDED; i++) {
        struct sigaction old;
        /* A signal the caller ignores (nohup) stays ignored; an ignored
         * SIGXFSZ makes the write fail, and the save removes its file. */
        if (sigaction(signals[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        sigaction(signals[i], &sa, NULL);
    }
}

/* "BASE.tmp-PID-N" with digits only: its PID, else 0. */
static long temp_owner(const char *name, const char *base, size_t blen)
{
    if (strncmp(name, base, blen) != 0 || strncmp(name + blen, ".tmp-", 5) != 0)
        return 0;
    const char *p = name + blen + 5;
    size_t d1 = strspn(p, "0123456789");
    if (d1 == 0 || d1 > 9 || p[d1] != '-')
        return 0;
    const char *q = p + d1 + 1;
    size_t d2 = strspn(q, "0123456789");
    if (d2 == 0 || q[d2] != 0)
        return 0;
    return atol(p);
}

void cli_tmp_sweep(const char *out, int quiet)
{
    char dir[4096];
    const char *base = split_path(out, dir, sizeof dir);
    size_t blen = strlen(base);
    DIR *d = opendir(dir);
    if (!d)
        return; /* the save will say what is wrong with the directory */
    struct dirent *e;
    while ((e = readdir(d))) {
        long pid = temp_owner(e->d_name, base, blen);
        /* Only files of processes that no longer exist: a live one may be
         * saving right now. */
        if (pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) == 0 && !quiet)
            fprintf(stderr, "librec: removed %s/%s, left by process %ld that no longer runs\n",
                    dir, e->d_name, pid);
    }
    closedir(d);
}
