/* feed.c - the sampling thread (see feed.h).  Owns the snapshot context and
 * the sampler while it runs; the UI thread only ever sees finished frames
 * and a few status fields under the mutex.  Every signal is blocked on this
 * thread, so SIGWINCH, SIGTSTP and SIGTERM always reach the UI thread,
 * which is the one that may touch the terminal.
 */
#include "tui/feed.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/sampler.h"
#include "sources/procfs.h"

/* What is read once per process, not every sample: the owner and the
 * command line of a (pid, start time) seldom change, and reading them (the
 * status file for root's processes, the other process's memory for the
 * command line) costs more than the stat file the rates need. */
struct ident_entry {
    pid_t pid;
    uint64_t start_ticks;
    struct opt_i64 uid;
    char user[64];
    char *cmdline;               /* owned; NULL when unreadable */
};

struct ident_cache {
    struct ident_entry *items;
    size_t count;
};

struct feed {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct snapshot_ctx *ctx;
    struct sampler *sampler;
    struct procfs *procfs;             /* the thread's: identities and ancestors */
    struct ident_cache idents;
    double interval_s;
    int pipe[2];
    /* under mu */
    bool stop, kick, tree, finished;
    struct feed_frame *ready;
    bool busy, have_data;
    struct timespec busy_since, last_done;
    char error[ERROR_MSG_MAX];
};

void feed_frame_free(struct feed_frame *f)
{
    if (!f)
        return;
    snapshot_free(f->snap);
    for (size_t i = 0; i < f->ancestor_count; i++)
        model_host_process_clear(&f->ancestors[i]);
    free(f->ancestors);
    free(f);
}

static double since(struct timespec a)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - a.tv_sec) + (double)(now.tv_nsec - a.tv_nsec) / 1e9;
}

/* ---- ancestors ----------------------------------------------------------------------- */

static bool is_gpu_pid(const struct snapshot *s, pid_t pid)
{
    const struct host_process *hp = snapshot_host_process(s, pid);
    return hp != NULL;
}

static bool have_pid(const struct host_process *list, size_t n, pid_t pid)
{
    for (size_t i = 0; i < n; i++)
        if (list[i].pid == pid)
            return true;
    return false;
}

static int cmp_hp(const void *a, const void *b)
{
    const struct host_process *x = a, *y = b;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

static int walk_up(struct procfs *pf, const struct snapshot *s, pid_t pid,
                   struct host_process **list, size_t *n, size_t *cap)
{
    for (int guard = 0; pid > 0 && guard < 64; guard++) {
        if (is_gpu_pid(s, pid) || have_pid(*list, *n, pid))
            return 0;
        if (*n == *cap) {
            size_t ncap = *cap ? *cap * 2 : 32;
            struct host_process *nl = realloc(*list, ncap * sizeof *nl);
            if (!nl)
                return -ENOMEM;
            *list = nl;
            *cap = ncap;
        }
        struct host_process *hp = &(*list)[*n];
        memset(hp, 0, sizeof *hp);
        struct error e = {0};
        if (procfs_read_process_fields(pf, pid, PROCFS_WANT_USER | PROCFS_WANT_CMDLINE, hp,
                                       &e) < 0) {
            model_host_process_clear(hp);
            return 0;           /* gone or unreadable: the branch stops here */
        }
        ++*n;
        pid = hp->ppid.known ? (pid_t)hp->ppid.v : 0;
    }
    return 0;
}

int feed_read_ancestors(const struct snapshot *snap, struct host_process **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    struct procfs *pf = NULL;
    struct error e = {0};
    if (procfs_open(&pf, &e) < 0)
        return 0;               /* no /proc: a tree of GPU processes only */
    (void)procfs_read_host(pf, NULL, NULL);
    size_t cap = 0;
    int rc = 0;
    for (size_t i = 0; i < snap->hproc_count && rc == 0; i++) {
        const struct host_process *hp = &snap->hprocs[i];
        if (hp->exists && hp->ppid.known)
            rc = walk_up(pf, snap, (pid_t)hp->ppid.v, out, count, &cap);
    }
    procfs_close(pf);
    if (rc < 0) {
        for (size_t i = 0; i < *count; i++)
            model_host_process_clear(&(*out)[i]);
        free(*out);
        *out = NULL;
        *count = 0;
        return rc;
    }
    qsort(*out, *count, sizeof **out, cmp_hp);
    return 0;
}

/* ---- the thread ---------------------------------------------------------------------- */

static const struct snapshot_options take_opts = {
    .processes = true,
    .host_processes = true,
    .host_fields = 0,            /* owner and command line: from the cache */
    .host_cpu = true,
};

static void ident_cache_clear(struct ident_cache *c)
{
    for (size_t i = 0; i < c->count; i++)
        free(c->items[i].cmdline);
    free(c->items);
    c->items = NULL;
    c->count = 0;
}

static const struct ident_entry *ident_find(const struct ident_cache *c, pid_t pid,
                                            uint64_t start)
{
    for (size_t lo = 0, hi = c->count; lo < hi;) {
        size_t mid = (lo + hi) / 2;
        const struct ident_entry *e = &c->items[mid];
        if (e->pid == pid && e->start_ticks == start)
            return e;
        if (e->pid < pid || (e->pid == pid && e->start_ticks < start))
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Fills the owner and command line of snap's processes from the cache, or
 * from /proc for processes it has not seen; the next cache holds exactly
 * the processes of this snapshot (hprocs are in pid order). */
static int fill_identities(struct feed *f, struct snapshot *snap)
{
    struct ident_cache next = {calloc(snap->hproc_count + 1, sizeof *next.items), 0};
    if (!next.items)
        return -ENOMEM;
    for (size_t i = 0; i < snap->hproc_count; i++) {
        struct host_process *hp = &snap->hprocs[i];
        if (!hp->exists)
            continue;
        struct ident_entry *e = &next.items[next.count];
        const struct ident_entry *old = ident_find(&f->idents, hp->pid, hp->start_ticks);
        if (old) {
            *e = *old;
            e->cmdline = old->cmdline ? strdup(old->cmdline) : NULL;
        } else {
            struct host_process fresh = {0};
            struct error err = {0};
            if (procfs_read_process_fields(f->procfs, hp->pid,
                                           PROCFS_WANT_USER | PROCFS_WANT_CMDLINE, &fresh,
                                           &err) < 0 || fresh.start_ticks != hp->start_ticks) {
                model_host_process_clear(&fresh);
                continue;        /* gone since the snapshot: its row says N/A */
            }
            *e = (struct ident_entry){hp->pid, hp->start_ticks, fresh.uid, "", fresh.cmdline};
            memcpy(e->user, fresh.user, sizeof e->user);
        }
        next.count++;
        hp->uid = e->uid;
        memcpy(hp->user, e->user, sizeof hp->user);
        free(hp->cmdline);
        hp->cmdline = e->cmdline ? strdup(e->cmdline) : NULL;
    }
    ident_cache_clear(&f->idents);
    f->idents = next;
    return 0;
}

static struct feed_frame *take_frame(struct feed *f, bool tree, struct error *e)
{
    struct feed_frame *fr = calloc(1, sizeof *fr);
    if (!fr) {
        error_set(e, -ENOMEM, "out of memory taking a sample");
        return NULL;
    }
    if (sampler_take(f->sampler, &take_opts, &fr->snap, e) < 0 ||
        fill_identities(f, fr->snap) < 0 ||
        (tree && feed_read_ancestors(fr->snap, &fr->ancestors, &fr->ancestor_count) < 0)) {
        if (!e->code)
            error_set(e, -ENOMEM, "out of memory taking a sample");
        feed_frame_free(fr);
        return NULL;
    }
    return fr;
}

static void publish(struct feed *f, struct feed_frame *fr, const struct error *e)
{
    pthread_mutex_lock(&f->mu);
    f->busy = false;
    if (fr) {
        feed_frame_free(f->ready);
        f->ready = fr;
        f->have_data = true;
        clock_gettime(CLOCK_MONOTONIC, &f->last_done);
        f->error[0] = '\0';
    } else {
        snprintf(f->error, sizeof f->error, "%s", e->msg);
    }
    pthread_mutex_unlock(&f->mu);
    char byte = 1;
    ssize_t w = write(f->pipe[1], &byte, 1);   /* full pipe: the UI is already woken */
    (void)w;
}

static void wait_interval(struct feed *f, struct timespec started)
{
    double secs = f->interval_s;
    /* from the start of the last sample, so refreshes keep their pace; a
     * sample slower than the interval is followed by the next at once */
    struct timespec until = started;
    until.tv_sec += (time_t)secs;
    until.tv_nsec += (long)((secs - (double)(time_t)secs) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (!f->stop && !f->kick &&
           pthread_cond_timedwait(&f->cv, &f->mu, &until) != ETIMEDOUT)
        ;
    f->kick = false;
}

static void *run(void *arg)
{
    struct feed *f = arg;
    pthread_mutex_lock(&f->mu);
    while (!f->stop) {
        f->busy = true;
        clock_gettime(CLOCK_MONOTONIC, &f->busy_since);
        bool tree = f->tree;
        struct timespec started = f->busy_since;
        pthread_mutex_unlock(&f->mu);

        struct error e = {0};
        struct feed_frame *fr = take_frame(f, tree, &e);
        publish(f, fr, &e);

        pthread_mutex_lock(&f->mu);
        wait_interval(f, started);
    }
    f->finished = true;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

static void feed_free(struct feed *f)
{
    if (!f)
        return;
    feed_frame_free(f->ready);
    ident_cache_clear(&f->idents);
    procfs_close(f->procfs);
    sampler_free(f->sampler);
    snapshot_ctx_close(f->ctx);
    close(f->pipe[0]);
    close(f->pipe[1]);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static int start_thread(struct feed *f, struct error *e)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&f->mu, NULL);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&f->thread, NULL, run, f);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return error_set(e, -rc, "cannot start the sampling thread: %s", strerror(rc));
    return 0;
}

int feed_start(struct feed **out, double interval_s, struct error *e)
{
    *out = NULL;
    struct feed *f = calloc(1, sizeof *f);
    if (!f)
        return error_set(e, -ENOMEM, "out of memory starting the monitor");
    f->interval_s = interval_s;
    f->pipe[0] = f->pipe[1] = -1;
    if (pipe2(f->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        int rc = error_set(e, -errno, "cannot create a pipe: %s", strerror(errno));
        free(f);
        return rc;
    }
    int rc = snapshot_ctx_open(&f->ctx, e);
    if (rc == 0)
        rc = sampler_create(&f->sampler, f->ctx, e);
    if (rc == 0)
        rc = procfs_open(&f->procfs, e);
    if (rc == 0)
        rc = start_thread(f, e);
    if (rc < 0) {
        procfs_close(f->procfs);
        sampler_free(f->sampler);
        snapshot_ctx_close(f->ctx);
        close(f->pipe[0]);
        close(f->pipe[1]);
        free(f);
        return rc;
    }
    *out = f;
    return 0;
}

void feed_stop(struct feed *f)
{
    if (!f)
        return;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += 1;
    pthread_mutex_lock(&f->mu);
    f->stop = true;
    pthread_cond_broadcast(&f->cv);
    while (!f->finished && pthread_cond_timedwait(&f->cv, &f->mu, &until) != ETIMEDOUT)
        ;
    bool finished = f->finished;
    pthread_mutex_unlock(&f->mu);
    if (!finished) {
        pthread_detach(f->thread);   /* stuck in a driver call: exit ends it */
        return;
    }
    pthread_join(f->thread, NULL);
    feed_free(f);
}

int feed_fd(const struct feed *f)
{
    return f->pipe[0];
}

struct feed_frame *feed_take(struct feed *f)
{
    char buf[64];
    while (read(f->pipe[0], buf, sizeof buf) > 0)
        ;
    pthread_mutex_lock(&f->mu);
    struct feed_frame *fr = f->ready;
    f->ready = NULL;
    pthread_mutex_unlock(&f->mu);
    return fr;
}

void feed_status(struct feed *f, struct feed_status *out)
{
    pthread_mutex_lock(&f->mu);
    out->busy = f->busy;
    out->busy_for_s = f->busy ? since(f->busy_since) : 0;
    out->have_data = f->have_data;
    out->age_s = f->have_data ? since(f->last_done) : 0;
    snprintf(out->error, sizeof out->error, "%s", f->error);
    pthread_mutex_unlock(&f->mu);
}

void feed_set_tree(struct feed *f, bool tree)
{
    pthread_mutex_lock(&f->mu);
    f->tree = tree;
    pthread_mutex_unlock(&f->mu);
}

void feed_kick(struct feed *f)
{
    pthread_mutex_lock(&f->mu);
    f->kick = true;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}
