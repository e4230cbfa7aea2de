/* fanout.c - bounded, deadline-driven fan-out of ssh processes (fanout.h).
 *
 * Each running job has a slot: its pid, a pidfd (so its exit wakes the
 * poll like its output does), and the read ends of its stdout and stderr
 * pipes.  A job ends when it has been reaped and both pipes are closed; a
 * descendant that keeps a pipe open (a backgrounded ssh master that did
 * not let go of it) is given one second after the reap, then its pipes are
 * closed on our side.  What the output means is the caller's business.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "remote/fanout.h"

extern char **environ;

#define DEFAULT_PARALLEL 32
#define DEFAULT_MAX_OUTPUT (64u << 20)
#define MAX_STDERR (1u << 20)
#define KILL_GRACE_SECS 1.0
#define PIPE_GRACE_SECS 1.0

struct slot {
    struct remote_job *job;
    pid_t pid;
    int pidfd;               /* -1 when the kernel has no pidfd_open: waitpid is polled */
    int fd[2];               /* stdout, stderr; -1 once closed */
    size_t cap[2];
    double start, deadline, term_sent_at, reaped_at;
    bool reaped;
};

static double now_secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int remote_spawn(char *const *argv, char *const *envp, pid_t *pid, int *out_fd, int *err_fd)
{
    int out[2] = {-1, -1}, err[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc)
        return -rc;
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
        rc = errno;
        goto done;
    }
    /* ssh reads nothing from us: a password comes through SSH_ASKPASS. */
    if ((rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) ||
        (rc = posix_spawn_file_actions_adddup2(&fa, out[1], 1)) ||
        (rc = posix_spawn_file_actions_adddup2(&fa, err[1], 2)))
        goto done;
    rc = posix_spawnp(pid, argv[0], &fa, NULL, argv, envp ? envp : environ);
done:
    posix_spawn_file_actions_destroy(&fa);
    if (out[1] >= 0)
        close(out[1]);
    if (err[1] >= 0)
        close(err[1]);
    if (rc) {
        if (out[0] >= 0)
            close(out[0]);
        if (err[0] >= 0)
            close(err[0]);
        return -rc;
    }
    *out_fd = out[0];
    *err_fd = err[0];
    return 0;
}

static int spawn_job(struct slot *s, const struct remote_fanout_options *o)
{
    int rc = remote_spawn(s->job->argv, o->envp, &s->pid, &s->fd[0], &s->fd[1]);
    if (rc == 0)
        s->pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
    return rc;
}

static int start_slot(struct slot *s, struct remote_job *job, const struct remote_fanout_options *o)
{
    memset(s, 0, sizeof *s);
    s->job = job;
    s->pidfd = s->fd[0] = s->fd[1] = -1;
    s->start = now_secs();
    s->deadline = o->deadline_secs > 0 ? s->start + o->deadline_secs : 0;
    int rc = spawn_job(s, o);
    if (rc < 0) {
        job->spawn_error = -rc;
        job->wait_status = 127 << 8;
        s->job = NULL;
    }
    return rc;
}

/* Reads what is there on pipe k; closes it at EOF.  -ENOMEM on failure. */
static int drain(struct slot *s, int k, size_t max_output)
{
    struct remote_job *j = s->job;
    char **buf = k ? &j->err : &j->out;
    size_t *len = k ? &j->err_len : &j->out_len;
    size_t limit = k ? MAX_STDERR : max_output;
    if (s->cap[k] - *len < 4096 + 1) {
        size_t cap = s->cap[k] ? 2 * s->cap[k] : 16384;
        char *grown = realloc(*buf, cap);
        if (!grown)
            return -ENOMEM;
        *buf = grown;
        s->cap[k] = cap;
    }
    ssize_t n = read(s->fd[k], *buf + *len, s->cap[k] - *len - 1);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0) {
        close(s->fd[k]);
        s->fd[k] = -1;
        return 0;
    }
    *len += (size_t)n;
    (*buf)[*len] = '\0';
    if (*len > limit) {
        *len = limit;
        (*buf)[*len] = '\0';
        if (!k && !j->truncated) {
            j->truncated = true;
            kill(s->pid, SIGKILL);
        }
    }
    return 0;
}

static void try_reap(struct slot *s, double now)
{
    int status;
    if (s->reaped)
        return;
    pid_t r = waitpid(s->pid, &status, WNOHANG);
    if (r == s->pid) {
        s->reaped = true;
        s->reaped_at = now;
        s->job->wait_status = status;
    }
}

static void enforce_deadline(struct slot *s, double now)
{
    if (s->reaped || !s->deadline || now < s->deadline)
        return;
    if (!s->term_sent_at) {
        s->job->timed_out = true;
        kill(s->pid, SIGTERM);
        s->term_sent_at = now;
    } else if (now >= s->term_sent_at + KILL_GRACE_SECS) {
        kill(s->pid, SIGKILL);
    }
}

/* True when the slot's job is over; its descriptors are closed then. */
static bool finish_if_done(struct slot *s, double now)
{
    if (!s->reaped)
        return false;
    bool open = s->fd[0] >= 0 || s->fd[1] >= 0;
    if (open && now < s->reaped_at + PIPE_GRACE_SECS)
        return false;
    for (int k = 0; k < 2; k++)
        if (s->fd[k] >= 0)
            close(s->fd[k]);
    if (s->pidfd >= 0)
        close(s->pidfd);
    s->job->seconds = now - s->start;
    s->job = NULL;
    return true;
}

/* How long poll may sleep: until the nearest deadline, kill or pipe grace. */
static int poll_timeout_ms(const struct slot *slots, size_t n, double now)
{
    double next = now + 1.0;
    for (size_t i = 0; i < n; i++) {
        const struct slot *s = &slots[i];
        if (!s->job)
            continue;
        if (s->pidfd < 0 && !s->reaped)
            next = next < now + 0.02 ? next : now + 0.02;
        if (s->reaped)
            next = next < s->reaped_at + PIPE_GRACE_SECS ? next : s->reaped_at + PIPE_GRACE_SECS;
        else if (s->term_sent_at) {
            /* After the SIGKILL its pidfd says when it is gone; look now and then. */
            double at = s->term_sent_at + KILL_GRACE_SECS;
            at = at > now ? at : now + 0.05;
            next = next < at ? next : at;
        }
        else if (s->deadline)
            next = next < s->deadline ? next : s->deadline;
    }
    double ms = (next - now) * 1000.0;
    return ms <= 0 ? 0 : (int)ms + 1;
}

static void abandon(struct slot *slots, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct slot *s = &slots[i];
        if (!s->job)
            continue;
        if (!s->reaped) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &s->job->wait_status, 0);
        }
        for (int k = 0; k < 2; k++)
            if (s->fd[k] >= 0)
                close(s->fd[k]);
        if (s->pidfd >= 0)
            close(s->pidfd);
        s->job = NULL;
    }
}

/* One round: poll every running slot, read, reap, enforce deadlines. */
static int step(struct slot *slots, size_t n, struct pollfd *pfd, size_t max_output)
{
    size_t np = 0;
    for (size_t i = 0; i < n; i++) {
        struct slot *s = &slots[i];
        int fds[3] = {s->job ? s->fd[0] : -1, s->job ? s->fd[1] : -1,
                      s->job && !s->reaped ? s->pidfd : -1};
        for (int k = 0; k < 3; k++)
            pfd[np++] = (struct pollfd){.fd = fds[k], .events = POLLIN};
    }
    if (poll(pfd, np, poll_timeout_ms(slots, n, now_secs())) < 0 && errno != EINTR)
        return -errno;
    double now = now_secs();
    for (size_t i = 0; i < n; i++) {
        struct slot *s = &slots[i];
        if (!s->job)
            continue;
        for (int k = 0; k < 2; k++) {
            if (s->fd[k] >= 0 && (pfd[3 * i + k].revents & (POLLIN | POLLHUP | POLLERR))) {
                int rc = drain(s, k, max_output);
                if (rc < 0)
                    return rc;
            }
        }
        try_reap(s, now);
        enforce_deadline(s, now);
    }
    return 0;
}

int remote_fanout_run(struct remote_job *jobs, size_t n, const struct remote_fanout_options *o,
                      struct error *e)
{
    size_t parallel = o->parallel ? o->parallel : DEFAULT_PARALLEL;
    size_t max_output = o->max_output ? o->max_output : DEFAULT_MAX_OUTPUT;
    if (parallel > n)
        parallel = n ? n : 1;
    struct slot *slots = calloc(parallel, sizeof *slots);
    struct pollfd *pfd = calloc(3 * parallel, sizeof *pfd);
    if (!slots || !pfd) {
        free(slots);
        free(pfd);
        return error_set(e, -ENOMEM, "out of memory");
    }
    size_t next = 0, running = 0;
    int rc = 0;
    while (rc == 0 && (next < n || running > 0)) {
        for (size_t i = 0; i < parallel && next < n; i++) {
            if (slots[i].job)
                continue;
            if (start_slot(&slots[i], &jobs[next++], o) == 0)
                running++;
        }
        if (running == 0)
            continue;
        rc = step(slots, parallel, pfd, max_output);
        double now = now_secs();
        for (size_t i = 0; rc == 0 && i < parallel; i++)
            if (slots[i].job && finish_if_done(&slots[i], now))
                running--;
    }
    if (rc < 0) {
        abandon(slots, parallel);
        error_set(e, rc, "waiting for ssh: %s", strerror(-rc));
    }
    free(slots);
    free(pfd);
    return rc;
}

void remote_job_clear(struct remote_job *j)
{
    if (!j)
        return;
    free(j->out);
    free(j->err);
    j->out = j->err = NULL;
    j->out_len = j->err_len = 0;
}
