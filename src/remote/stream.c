/* stream.c - line streams from long-running ssh commands (stream.h).
 *
 * Each host keeps a growing buffer of its stdout; complete lines are
 * handed over from its front and the rest moved down, so a document split
 * across reads is joined before anyone sees it.  What a line means is the
 * caller's business.
 */
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "remote/fanout.h"
#include "remote/stream.h"

#define MAX_LINE (64u << 20)
#define MAX_STDERR (64u << 10)

struct stream_slot {
    pid_t pid;
    int out, err, pidfd;      /* -1 once closed */
    char *buf;
    size_t len, cap;
    double deadline;          /* for the first line; 0: none or passed */
};

struct remote_stream {
    struct remote_stream_host *hosts;
    struct stream_slot *slots;
    size_t n;
    struct pollfd *pfd;
};

static double now_secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

int remote_stream_open(struct remote_stream **out, struct remote_stream_host *hosts, size_t n,
                       char *const *envp, double first_line_secs, struct error *e)
{
    struct remote_stream *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s || !(s->slots = calloc(n ? n : 1, sizeof *s->slots)) ||
        !(s->pfd = calloc(3 * (n ? n : 1), sizeof *s->pfd))) {
        if (s)
            free(s->slots);
        free(s);
        return error_set(e, -ENOMEM, "out of memory");
    }
    s->hosts = hosts;
    s->n = n;
    double now = now_secs();
    for (size_t i = 0; i < n; i++) {
        struct stream_slot *sl = &s->slots[i];
        sl->out = sl->err = sl->pidfd = -1;
        int rc = remote_spawn(hosts[i].argv, envp, &sl->pid, &sl->out, &sl->err);
        if (rc < 0) {
            hosts[i].ended = true;
            hosts[i].spawn_error = -rc;
            hosts[i].wait_status = 127 << 8;
            continue;
        }
        sl->pidfd = (int)syscall(SYS_pidfd_open, sl->pid, 0);
        sl->deadline = first_line_secs > 0 ? now + first_line_secs : 0;
    }
    *out = s;
    return 0;
}

/* Hands over every complete line in the slot's buffer. */
static int hand_over(struct remote_stream *s, size_t i, remote_stream_line_fn fn, void *ctx)
{
    struct stream_slot *sl = &s->slots[i];
    size_t start = 0;
    int rc = 0;
    for (;;) {
        char *nl = memchr(sl->buf + start, '\n', sl->len - start);
        if (!nl)
            break;
        size_t len = (size_t)(nl - (sl->buf + start));
        *nl = '\0';
        s->hosts[i].lines++;
        sl->deadline = 0;
        rc = fn(ctx, i, sl->buf + start, len);
        start += len + 1;
        if (rc < 0)
            break;
    }
    memmove(sl->buf, sl->buf + start, sl->len - start);
    sl->len -= start;
    return rc;
}

static int read_out(struct remote_stream *s, size_t i, remote_stream_line_fn fn, void *ctx)
{
    struct stream_slot *sl = &s->slots[i];
    if (sl->cap - sl->len < 65536 + 1) {
        size_t cap = sl->cap ? 2 * sl->cap : 131072;
        char *grown = realloc(sl->buf, cap);
        if (!grown)
            return -ENOMEM;
        sl->buf = grown;
        sl->cap = cap;
    }
    ssize_t got = read(sl->out, sl->buf + sl->len, sl->cap - sl->len - 1);
    if (got < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (got <= 0) {
        close_fd(&sl->out);
        return 0;
    }
    sl->len += (size_t)got;
    int rc = hand_over(s, i, fn, ctx);
    if (rc == 0 && sl->len > MAX_LINE && sl->pid > 0) {
        s->hosts[i].too_long = true;
        kill(sl->pid, SIGKILL);
        close_fd(&sl->out);
    }
    return rc;
}

static void read_err(struct remote_stream *s, size_t i)
{
    struct stream_slot *sl = &s->slots[i];
    struct remote_stream_host *h = &s->hosts[i];
    char buf[4096];
    ssize_t got = read(sl->err, buf, sizeof buf);
    if (got < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (got <= 0) {
        close_fd(&sl->err);
        return;
    }
    size_t keep = h->err_len + (size_t)got > MAX_STDERR ? MAX_STDERR - h->err_len
                                                         : (size_t)got;
    if (keep == 0)
        return;
    char *grown = realloc(h->err, h->err_len + keep + 1);
    if (!grown)
        return;                   /* stderr is advice; losing some is no failure */
    memcpy(grown + h->err_len, buf, keep);
    h->err = grown;
    h->err_len += keep;
    h->err[h->err_len] = '\0';
}

/* What is in the pipe when ssh has exited: read without waiting for an
 * EOF a lingering descendant could hold back. */
static int drain_now(struct remote_stream *s, size_t i, remote_stream_line_fn fn, void *ctx)
{
    struct stream_slot *sl = &s->slots[i];
    for (int rounds = 0; sl->out >= 0 && rounds < 4096; rounds++) {
        struct pollfd p = {.fd = sl->out, .events = POLLIN};
        if (poll(&p, 1, 0) <= 0)
            break;
        int rc = read_out(s, i, fn, ctx);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int reap(struct remote_stream *s, size_t i, double now, remote_stream_line_fn fn,
                void *ctx)
{
    struct stream_slot *sl = &s->slots[i];
    struct remote_stream_host *h = &s->hosts[i];
    if (h->ended)
        return 0;
    if (sl->deadline && now >= sl->deadline) {
        h->timed_out = true;
        kill(sl->pid, SIGKILL);
        sl->deadline = 0;         /* from now on its pidfd says when it is gone */
    }
    int status;
    if (waitpid(sl->pid, &status, WNOHANG) != sl->pid)
        return 0;
    h->wait_status = status;
    h->ended = true;
    close_fd(&sl->pidfd);
    int rc = drain_now(s, i, fn, ctx);
    for (int rounds = 0; sl->err >= 0 && rounds < 64; rounds++) {
        struct pollfd p = {.fd = sl->err, .events = POLLIN};
        if (poll(&p, 1, 0) <= 0)
            break;
        read_err(s, i);
    }
    close_fd(&sl->out);
    close_fd(&sl->err);
    return rc;
}

int remote_stream_poll(struct remote_stream *s, int timeout_ms, remote_stream_line_fn fn,
                       void *ctx, struct error *e)
{
    double now = now_secs();
    for (size_t i = 0; i < s->n; i++) {
        struct stream_slot *sl = &s->slots[i];
        bool live = !s->hosts[i].ended;
        s->pfd[3 * i] = (struct pollfd){.fd = live ? sl->out : -1, .events = POLLIN};
        s->pfd[3 * i + 1] = (struct pollfd){.fd = live ? sl->err : -1, .events = POLLIN};
        s->pfd[3 * i + 2] = (struct pollfd){.fd = live ? sl->pidfd : -1, .events = POLLIN};
        if (live && sl->deadline) {
            int ms = (int)((sl->deadline - now) * 1000.0) + 1;
            timeout_ms = ms < 0 ? 0 : ms < timeout_ms ? ms : timeout_ms;
        }
        if (live && sl->pidfd < 0 && timeout_ms > 50)
            timeout_ms = 50;      /* no pidfd: look for its exit often */
    }
    if (poll(s->pfd, 3 * s->n, timeout_ms) < 0 && errno != EINTR)
        return error_set(e, -errno, "waiting for ssh: %s", strerror(errno));
    now = now_secs();
    for (size_t i = 0; i < s->n; i++) {
        struct stream_slot *sl = &s->slots[i];
        if (s->hosts[i].ended)
            continue;
        if (sl->out >= 0 && (s->pfd[3 * i].revents & (POLLIN | POLLHUP | POLLERR))) {
            int rc = read_out(s, i, fn, ctx);
            if (rc < 0)
                return rc == -ENOMEM ? error_set(e, rc, "out of memory") : rc;
        }
        if (sl->err >= 0 && (s->pfd[3 * i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
            read_err(s, i);
        /* Reaped only once its output is drained, so no last line is lost. */
        if (sl->out < 0 || sl->pidfd < 0 || (s->pfd[3 * i + 2].revents & POLLIN) ||
            sl->deadline) {
            int rc = reap(s, i, now, fn, ctx);
            if (rc < 0)
                return rc == -ENOMEM ? error_set(e, rc, "out of memory") : rc;
        }
    }
    return 0;
}

size_t remote_stream_running(const struct remote_stream *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        n += !s->hosts[i].ended;
    return n;
}

void remote_stream_close(struct remote_stream *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        if (!s->hosts[i].ended)
            kill(s->slots[i].pid, SIGTERM);
    double until = now_secs() + 1.0;
    for (size_t i = 0; i < s->n; i++) {
        struct stream_slot *sl = &s->slots[i];
        while (!s->hosts[i].ended) {
            int status;
            bool late = now_secs() >= until;
            if (late)
                kill(sl->pid, SIGKILL);
            pid_t r = waitpid(sl->pid, &status, late ? 0 : WNOHANG);
            if (r == sl->pid) {
                s->hosts[i].ended = true;
                s->hosts[i].wait_status = status;
            } else if (r < 0 && errno != EINTR) {
                s->hosts[i].ended = true;
            } else if (r == 0) {
                struct timespec ts = {0, 10 * 1000 * 1000};
                nanosleep(&ts, NULL);
            }
        }
        close_fd(&sl->out);
        close_fd(&sl->err);
        close_fd(&sl->pidfd);
        free(sl->buf);
    }
    free(s->slots);
    free(s->pfd);
    free(s);
}

void remote_stream_host_clear(struct remote_stream_host *h)
{
    if (!h)
        return;
    free(h->err);
    h->err = NULL;
    h->err_len = 0;
}
