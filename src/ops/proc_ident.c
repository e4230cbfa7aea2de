/* proc_ident.c - pidfd handles bound to (pid, start time).
 *
 * Opens, checks, signals and waits on processes through pidfds, and reads
 * their /proc/PID/stat through the proc root.  What to signal, in what
 * order, and which processes must never be signalled are kill.c's
 * decisions; this module only makes sure a signal reaches the process that
 * was meant.
 */
#include "ops/proc_ident.h"

#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <time.h>
#include <unistd.h>

#include "sources/rootfs.h"

int proc_ident_read_stat(pid_t pid, struct procfs_stat *out, struct error *e)
{
    char path[PATH_MAX], buf[2048];
    size_t len;
    int rc = rootfs_path(path, sizeof path, ROOTFS_PROC, "%d/stat", (int)pid);
    if (rc < 0)
        return error_set(e, rc, "the GPUCTL_PROC_ROOT path is too long");
    rc = rootfs_read_file(path, buf, sizeof buf, &len);
    if (rc == -ENOENT || rc == -ESRCH)
        return error_set(e, -ESRCH, "no process with pid %d", (int)pid);
    if (rc < 0)
        return error_set(e, rc, "cannot read %s: %s", path, strerror(-rc));
    if (procfs_parse_stat(buf, len, out) < 0)
        return error_set(e, -ERROR_PARSE, "%s is malformed", path);
    return 0;
}

static int open_pidfd(pid_t pid, struct error *e)
{
    int fd = pidfd_open(pid, 0);
    if (fd >= 0)
        return fd;
    switch (errno) {
    case ESRCH:
        return error_set(e, -ESRCH, "no process with pid %d", (int)pid);
    case EINVAL:
    case ENOENT:   /* what newer kernels answer for a thread that is not the leader */
        return error_set(e, -EINVAL, "%d is a thread id, not a process id", (int)pid);
    case ENOSYS:
        return error_set(e, -ENOTSUP, "cannot open process %d: this kernel has no pidfd_open "
                         "(Linux 5.3 or later is needed to signal processes safely)", (int)pid);
    default:
        return error_set(e, -errno, "cannot open process %d: %s", (int)pid, strerror(errno));
    }
}

int proc_handle_open(struct proc_handle *h, pid_t pid, uint64_t expected_start,
                     struct error *e)
{
    memset(h, 0, sizeof *h);
    h->pidfd = -1;
    h->id.pid = pid;
    if (pid <= 0)
        return error_set(e, -EINVAL, "%d is not a process id", (int)pid);
    int fd = open_pidfd(pid, e);
    if (fd < 0)
        return fd;
    h->pidfd = fd;
    int rc = proc_ident_read_stat(pid, &h->stat, e);
    if (rc == 0) {
        /* Alive after the read: the pid was not reused in between, so the
         * stat read is the pidfd's own process. */
        int gone = proc_handle_exited(h);
        if (gone != 0)
            rc = gone < 0 ? error_set(e, gone, "cannot poll process %d: %s", (int)pid,
                                      strerror(-gone))
                          : error_set(e, -ESRCH, "process %d (%s) has already exited",
                                      (int)pid, h->stat.comm);
    }
    if (rc == 0 && expected_start != PROC_IDENT_ANY_START &&
        h->stat.starttime != expected_start)
        rc = error_set(e, -ESTALE, "pid %d now belongs to another process (%s, started at "
                       "tick %llu, not %llu): the process selected has exited", (int)pid,
                       h->stat.comm, (unsigned long long)h->stat.starttime,
                       (unsigned long long)expected_start);
    if (rc < 0) {
        proc_handle_close(h);
        return rc;
    }
    h->id.start_ticks = h->stat.starttime;
    return 0;
}

void proc_handle_close(struct proc_handle *h)
{
    if (h->pidfd >= 0)
        close(h->pidfd);
    h->pidfd = -1;
}

bool proc_handle_is_kthread(const struct proc_handle *h)
{
    return (h->stat.flags & PROC_IDENT_PF_KTHREAD) != 0;
}

int proc_handle_signal(const struct proc_handle *h, int sig, struct error *e)
{
    if (pidfd_send_signal(h->pidfd, sig, NULL, 0) == 0)
        return 0;
    int err = errno;
    if (err == ESRCH)
        return error_set(e, -ESRCH, "process %d (%s) has exited", (int)h->id.pid, h->stat.comm);
    return error_set(e, -err, "cannot signal process %d (%s): %s", (int)h->id.pid,
                     h->stat.comm, strerror(err));
}

int proc_handle_exited(const struct proc_handle *h)
{
    struct pollfd p = {.fd = h->pidfd, .events = POLLIN};
    int n;
    while ((n = poll(&p, 1, 0)) < 0 && errno == EINTR)
        ;
    if (n < 0)
        return -errno;
    return n > 0 && (p.revents & (POLLIN | POLLHUP)) ? 1 : 0;
}

double proc_ident_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The pollfds of the handles not yet seen to exit; map[k] is the index of
 * fds[k] in hs. */
static size_t running_fds(const struct proc_handle *const *hs, size_t n, const bool *exited,
                          struct pollfd *fds, size_t *map)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (exited[i])
            continue;
        fds[k] = (struct pollfd){.fd = hs[i]->pidfd, .events = POLLIN};
        map[k++] = i;
    }
    return k;
}

static int wait_ms_left(double deadline)
{
    double left = (deadline - proc_ident_clock()) * 1000.0;
    if (left <= 0)
        return 0;
    return left > INT_MAX ? INT_MAX : (int)left + 1;
}

int proc_handles_wait(const struct proc_handle *const *hs, size_t n, bool *exited,
                      long timeout_ms, double *ended_at)
{
    struct pollfd *fds = calloc(n ? n : 1, sizeof *fds);
    size_t *map = calloc(n ? n : 1, sizeof *map);
    if (!fds || !map) {
        free(fds);
        free(map);
        return -ENOMEM;
    }
    double deadline = proc_ident_clock() + (double)timeout_ms / 1000.0;
    size_t k = running_fds(hs, n, exited, fds, map);
    int rc = 0;
    while (k > 0) {
        int ready = poll(fds, k, wait_ms_left(deadline));
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0) {
            rc = -errno;
            break;
        }
        double now = proc_ident_clock();
        for (size_t j = 0; j < k && ready > 0; j++) {
            if (fds[j].revents & POLLNVAL)
                rc = -EBADF;   /* a closed handle: a caller's bug, never a wait */
            if (!(fds[j].revents & (POLLIN | POLLHUP)))
                continue;
            exited[map[j]] = true;
            if (ended_at)
                ended_at[map[j]] = now;
        }
        k = running_fds(hs, n, exited, fds, map);
        if (rc < 0 || ready == 0 || now >= deadline)
            break;
    }
    free(fds);
    free(map);
    return rc < 0 ? rc : (int)k;
}
