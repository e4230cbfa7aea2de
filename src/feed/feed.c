/* feed.c - the one sampling loop (see feed.h for the threads and who may
 * call what).
 *
 * The pass thread owns the sources, the sampler, the identity cache and its
 * own procfs handle; nothing else touches them, so they need no lock.  The
 * clock thread and the callers share the rest under one mutex: the newest
 * frame, the subscriptions, the status.  Frames are immutable and counted,
 * so a subscriber reads one without any lock while the next is published.
 * A stale frame shows an older frame's snapshot: it holds a reference to
 * that frame instead of copying it.  Drawing and printing are left to the
 * subscribers.
 */
#include "feed/feed.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/sampler.h"
#include "sources/procfs.h"

/* ---- frames -------------------------------------------------------------------------- */

struct frame_box {
    struct feed_frame pub;           /* first: a feed_frame pointer is a frame_box pointer */
    atomic_uint refs;
    struct feed_frame *base;         /* stale frames: the frame whose snapshot is shown */
    bool *stale;                     /* owned, per device */
    struct host_process *ancestors;  /* owned (fresh frames) */
};

static struct frame_box *box_of(struct feed_frame *f)
{
    return (struct frame_box *)f;
}

struct feed_frame *feed_frame_ref(struct feed_frame *f)
{
    atomic_fetch_add_explicit(&box_of(f)->refs, 1, memory_order_relaxed);
    return f;
}

void feed_frame_unref(struct feed_frame *f)
{
    if (!f)
        return;
    struct frame_box *b = box_of(f);
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (b->base) {
        feed_frame_unref(b->base);
    } else {
        snapshot_free(f->snap);
        for (size_t i = 0; i < f->ancestor_count; i++)
            model_host_process_clear(&b->ancestors[i]);
        free(b->ancestors);
    }
    free(b->stale);
    free(b);
}

/* A fresh frame around snap (taken over), nothing stale. */
static struct frame_box *box_new(struct snapshot *snap)
{
    struct frame_box *b = calloc(1, sizeof *b);
    bool *stale = calloc(snap->device_count ? snap->device_count : 1, sizeof *stale);
    if (!b || !stale) {
        free(b);
        free(stale);
        return NULL;
    }
    atomic_init(&b->refs, 1);
    b->stale = stale;
    b->pub.snap = snap;
    b->pub.device_stale = stale;
    return b;
}

/* ---- ancestors ----------------------------------------------------------------------- */

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
        if (snapshot_host_process(s, pid) || have_pid(*list, *n, pid))
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

static int add_ancestors(struct frame_box *b)
{
    size_t n = 0;
    int rc = feed_read_ancestors(b->pub.snap, &b->ancestors, &n);
    b->pub.ancestors = b->ancestors;
    b->pub.ancestor_count = n;
    return rc;
}

int feed_frame_wrap(struct snapshot *snap, bool ancestors, struct feed_frame **out,
                    struct error *e)
{
    *out = NULL;
    struct frame_box *b = box_new(snap);
    if (!b) {
        snapshot_free(snap);
        return error_set(e, -ENOMEM, "out of memory taking a sample");
    }
    if (ancestors && add_ancestors(b) < 0) {
        feed_frame_unref(&b->pub);
        return error_set(e, -ENOMEM, "out of memory reading the process tree");
    }
    *out = &b->pub;
    return 0;
}

/* ---- the identity cache -------------------------------------------------------------- */

/* What is read once per process, not every pass: the owner and the command
 * line of a (pid, start time) seldom change, and reading them (the status
 * file for root's processes, the other process's memory for the command
 * line) costs more than the stat file the rates need. */
struct ident_entry {
    pid_t pid;
    uint64_t start_ticks;
    struct opt_i64 uid;
    char user[64];
    char *cmdline;               /* owned; NULL when unreadable */
};

struct ident_cache {
    struct ident_entry *items;   /* by pid, then start time */
    size_t count;
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

/* One entry for hp: from the old cache, or read now.  False when the
 * process is gone since the snapshot (its row then says N/A). */
static bool ident_lookup(const struct ident_cache *old, struct procfs *pf,
                         const struct host_process *hp, struct ident_entry *out)
{
    const struct ident_entry *hit = ident_find(old, hp->pid, hp->start_ticks);
    if (hit) {
        *out = *hit;
        out->cmdline = hit->cmdline ? strdup(hit->cmdline) : NULL;
        return true;
    }
    struct host_process fresh = {0};
    struct error err = {0};
    if (procfs_read_process_fields(pf, hp->pid, PROCFS_WANT_USER | PROCFS_WANT_CMDLINE, &fresh,
                                   &err) < 0 || fresh.start_ticks != hp->start_ticks) {
        model_host_process_clear(&fresh);
        return false;
    }
    *out = (struct ident_entry){hp->pid, hp->start_ticks, fresh.uid, "", fresh.cmdline};
    memcpy(out->user, fresh.user, sizeof out->user);
    return true;
}

/* Fills the owner and command line of snap's processes; the next cache
 * holds exactly the processes of this snapshot (hprocs are in pid order). */
static int fill_identities(struct ident_cache *cache, struct procfs *pf, struct snapshot *snap)
{
    struct ident_cache next = {calloc(snap->hproc_count + 1, sizeof *next.items), 0};
    if (!next.items)
        return -ENOMEM;
    for (size_t i = 0; i < snap->hproc_count; i++) {
        struct host_process *hp = &snap->hprocs[i];
        struct ident_entry *e = &next.items[next.count];
        if (!hp->exists || !ident_lookup(cache, pf, hp, e))
            continue;
        next.count++;
        hp->uid = e->uid;
        memcpy(hp->user, e->user, sizeof hp->user);
        free(hp->cmdline);
        hp->cmdline = e->cmdline ? strdup(e->cmdline) : NULL;
    }
    ident_cache_clear(cache);
    *cache = next;
    return 0;
}

/* ---- the feed ------------------------------------------------------------------------ */

struct feed_sub {
    struct feed *feed;
    int fd;                           /* eventfd */
    uint64_t seen_seq;                /* under feed->mu */
    uint64_t seen_failures;
};

struct feed {
    struct feed_options opt;
    pthread_t clock_thread, pass_thread;
    pthread_mutex_t mu;
    pthread_cond_t clock_cv;          /* the clock waits: time, kick, stop, a finished pass */
    pthread_cond_t pass_cv;           /* the pass thread waits for a request */
    pthread_cond_t done_cv;           /* feed_stop waits for a running pass */

    /* the pass thread's own */
    struct snapshot_ctx *ctx;
    struct sampler *sampler;
    struct procfs *procfs;
    struct ident_cache idents;

    /* under mu */
    bool stop, kick, ancestors_on, interval_changed;
    bool pass_requested, pass_ancestors, in_pass, closing, abandoned;
    struct feed_frame *result;        /* a finished pass, for the clock to publish */
    bool result_ready;
    char result_error[ERROR_MSG_MAX];
    int result_code;
    struct feed_frame *latest;        /* what subscribers get */
    struct feed_frame *last_good;     /* the newest fresh frame */
    uint64_t seq, failures;
    bool busy;                        /* from the clock's view: request to publication */
    struct timespec busy_since, last_done;
    char error[ERROR_MSG_MAX];
    int error_code;
    struct feed_sub **subs;
    size_t sub_count;
};

static struct timespec mono_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t;
}

static double seconds_between(struct timespec a, struct timespec b)
{
    return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

static struct timespec plus_seconds(struct timespec t, double secs)
{
    long long ns = t.tv_nsec + (long long)(secs * 1e9);
    t.tv_sec += (time_t)(ns / 1000000000LL);
    t.tv_nsec = (long)(ns % 1000000000LL);
    return t;
}

static bool not_before(struct timespec a, struct timespec b)
{
    return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec >= b.tv_nsec);
}

/* The first tick of the grid start + k * interval after now: passes keep
 * their pace over hours (no drift from wake-up latency), and ticks missed
 * while a pass overran are skipped, not caught up in a burst. */
static struct timespec next_on_grid(struct timespec start, double interval_s,
                                    struct timespec now)
{
    long long step = (long long)(interval_s * 1e9 + 0.5);
    if (step < 1)
        step = 1;
    long long since = (long long)(now.tv_sec - start.tv_sec) * 1000000000LL +
                      (now.tv_nsec - start.tv_nsec);
    long long k = since < 0 ? 0 : since / step + 1;
    return plus_seconds(start, (double)(k * step) / 1e9);
}

/* One pass: the snapshot with rates, then what the options add. */
static struct feed_frame *take_frame(struct feed *f, bool ancestors, struct error *e)
{
    struct snapshot *snap = NULL;
    if (sampler_take(f->sampler, &f->opt.snap, &snap, e) < 0)
        return NULL;
    if (f->opt.cache_identities && fill_identities(&f->idents, f->procfs, snap) < 0) {
        snapshot_free(snap);
        error_set(e, -ENOMEM, "out of memory taking a sample");
        return NULL;
    }
    struct feed_frame *fr = NULL;
    return feed_frame_wrap(snap, ancestors, &fr, e) < 0 ? NULL : fr;
}

/* Wakes every subscriber (mu held).  A full eventfd counter cannot happen
 * in practice (2^64 - 2 wake-ups); a failed write only means it is awake. */
static void wake_subscribers(struct feed *f)
{
    for (size_t i = 0; i < f->sub_count; i++) {
        uint64_t one = 1;
        ssize_t w = write(f->subs[i]->fd, &one, sizeof one);
        (void)w;
    }
}

static void publish(struct feed *f, struct feed_frame *fr)
{
    box_of(fr)->pub.seq = ++f->seq;
    feed_frame_unref(f->latest);
    f->latest = fr;
    wake_subscribers(f);
}

/* The pass came back (mu held). */
static void accept_result(struct feed *f)
{
    struct feed_frame *fr = f->result;
    f->result = NULL;
    f->result_ready = false;
    f->busy = false;
    if (!fr) {
        f->failures++;
        memcpy(f->error, f->result_error, sizeof f->error);
        f->error_code = f->result_code < 0 ? f->result_code : -EIO;
        wake_subscribers(f);
        return;
    }
    f->error[0] = '\0';
    f->last_done = fr->snap->mono;
    feed_frame_unref(f->last_good);
    f->last_good = feed_frame_ref(fr);
    publish(f, fr);
}

/* The pass overran: the last good snapshot again, every device stale (mu
 * held).  Without a good pass yet there is nothing to show. */
static void publish_stale(struct feed *f, struct timespec now)
{
    if (!f->last_good)
        return;
    struct feed_frame *base = f->last_good;
    struct frame_box *b = calloc(1, sizeof *b);
    size_t n = base->snap->device_count;
    bool *stale = calloc(n ? n : 1, sizeof *stale);
    if (!b || !stale) {
        free(b);
        free(stale);
        return;                  /* out of memory: subscribers keep the frame they have */
    }
    for (size_t i = 0; i < n; i++)
        stale[i] = true;
    atomic_init(&b->refs, 1);
    b->base = feed_frame_ref(base);
    b->stale = stale;
    b->pub = (struct feed_frame){
        .snap = base->snap, .device_stale = stale, .stale = n > 0,
        .stale_for_s = seconds_between(f->busy_since, now),
        .ancestors = base->ancestors, .ancestor_count = base->ancestor_count};
    publish(f, &b->pub);
}

static void request_pass(struct feed *f, struct timespec now)
{
    f->kick = false;
    f->busy = true;
    f->busy_since = now;
    f->pass_requested = true;
    f->pass_ancestors = f->ancestors_on;
    pthread_cond_signal(&f->pass_cv);
}

/* The clock: a pass on every tick of the grid (a pass slower than the
 * interval is followed by the next on the following tick), a stale frame
 * when one overruns timeout_s and each interval after. */
static void *clock_main(void *arg)
{
    struct feed *f = arg;
    struct timespec start = mono_now(), next_tick = start, stale_due = start;
    pthread_mutex_lock(&f->mu);
    while (!f->stop) {
        struct timespec now = mono_now();
        if (f->interval_changed) {       /* a new grid from the last pass's start */
            f->interval_changed = false;
            next_tick = plus_seconds(start, f->opt.interval_s);
        }
        if (f->result_ready)
            accept_result(f);
        if (!f->busy && (f->kick || not_before(now, next_tick))) {
            request_pass(f, now);
            if (not_before(now, next_tick))
                start = next_tick;       /* on the grid: keep it */
            next_tick = next_on_grid(start, f->opt.interval_s, now);
            stale_due = plus_seconds(now, f->opt.timeout_s);
        }
        bool watch_stale = f->busy && f->opt.timeout_s > 0;
        if (watch_stale && not_before(now, stale_due)) {
            publish_stale(f, now);
            stale_due = plus_seconds(now, f->opt.interval_s);
        }
        if (f->result_ready || f->stop)
            continue;
        if (f->busy && !watch_stale)
            pthread_cond_wait(&f->clock_cv, &f->mu);
        else
            pthread_cond_timedwait(&f->clock_cv, &f->mu, f->busy ? &stale_due : &next_tick);
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

static void feed_free(struct feed *f)
{
    if (!f)
        return;
    feed_frame_unref(f->result);
    feed_frame_unref(f->latest);
    feed_frame_unref(f->last_good);
    ident_cache_clear(&f->idents);
    procfs_close(f->procfs);
    sampler_free(f->sampler);
    snapshot_ctx_close(f->ctx);
    free(f->subs);
    pthread_cond_destroy(&f->clock_cv);
    pthread_cond_destroy(&f->pass_cv);
    pthread_cond_destroy(&f->done_cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

/* The only thread that calls the sources.  Abandoned by feed_stop while
 * stuck, it frees the feed itself if the call ever returns. */
static void *pass_main(void *arg)
{
    struct feed *f = arg;
    pthread_mutex_lock(&f->mu);
    for (;;) {
        while (!f->closing && !f->pass_requested)
            pthread_cond_wait(&f->pass_cv, &f->mu);
        if (f->closing)
            break;
        f->pass_requested = false;
        f->in_pass = true;
        bool ancestors = f->pass_ancestors;
        pthread_mutex_unlock(&f->mu);

        struct error e = {0};
        struct feed_frame *fr = take_frame(f, ancestors, &e);

        pthread_mutex_lock(&f->mu);
        f->in_pass = false;
        pthread_cond_broadcast(&f->done_cv);
        if (f->abandoned) {
            feed_frame_unref(fr);
            break;
        }
        f->result = fr;
        memcpy(f->result_error, e.msg, sizeof f->result_error);
        f->result_code = e.code;
        f->result_ready = true;
        pthread_cond_signal(&f->clock_cv);
    }
    bool abandoned = f->abandoned;
    pthread_mutex_unlock(&f->mu);
    if (abandoned)
        feed_free(f);
    return NULL;
}

static int init_sync(struct feed *f)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return -ENOMEM;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->clock_cv, &ca);
    pthread_cond_init(&f->done_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&f->pass_cv, NULL);
    pthread_mutex_init(&f->mu, NULL);
    return 0;
}

/* Both threads block every signal: SIGWINCH, SIGTSTP, SIGTERM and SIGINT
 * reach the caller's threads, the ones that act on them. */
static int start_threads(struct feed *f, struct error *e)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&f->pass_thread, NULL, pass_main, f);
    if (rc == 0 && (rc = pthread_create(&f->clock_thread, NULL, clock_main, f)) != 0) {
        pthread_mutex_lock(&f->mu);
        f->closing = true;
        pthread_cond_signal(&f->pass_cv);
        pthread_mutex_unlock(&f->mu);
        pthread_join(f->pass_thread, NULL);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return error_set(e, -rc, "cannot start the sampling threads: %s", strerror(rc));
    return 0;
}

static int open_sources(struct feed *f, struct error *e)
{
    int rc = snapshot_ctx_open(&f->ctx, e);
    if (rc == 0)
        rc = sampler_create(&f->sampler, f->ctx, e);
    if (rc == 0 && f->opt.cache_identities)
        rc = procfs_open(&f->procfs, e);
    return rc;
}

int feed_start(struct feed **out, const struct feed_options *o, struct error *e)
{
    *out = NULL;
    if (!(o->interval_s > 0))
        return error_set(e, -EINVAL, "the sampling interval must be more than 0 seconds");
    struct feed *f = calloc(1, sizeof *f);
    if (!f)
        return error_set(e, -ENOMEM, "out of memory starting the sampling loop");
    f->opt = *o;
    f->ancestors_on = o->ancestors;
    if (init_sync(f) < 0) {
        free(f);
        return error_set(e, -ENOMEM, "out of memory starting the sampling loop");
    }
    int rc = open_sources(f, e);
    if (rc == 0)
        rc = start_threads(f, e);
    if (rc < 0) {
        feed_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

/* How long feed_stop lets a running pass finish before abandoning it. */
#define STOP_GRACE_S 1.0

void feed_stop(struct feed *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->mu);
    f->stop = true;
    pthread_cond_broadcast(&f->clock_cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->clock_thread, NULL);

    struct timespec until = plus_seconds(mono_now(), STOP_GRACE_S);
    pthread_mutex_lock(&f->mu);
    while (f->in_pass && pthread_cond_timedwait(&f->done_cv, &f->mu, &until) != ETIMEDOUT)
        ;
    if (f->in_pass) {
        f->abandoned = true;             /* stuck in a driver call: it frees the feed */
        pthread_mutex_unlock(&f->mu);
        pthread_detach(f->pass_thread);
        return;
    }
    f->closing = true;
    pthread_cond_signal(&f->pass_cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->pass_thread, NULL);
    feed_free(f);
}

struct feed_frame *feed_latest(struct feed *f)
{
    pthread_mutex_lock(&f->mu);
    struct feed_frame *fr = f->latest ? feed_frame_ref(f->latest) : NULL;
    pthread_mutex_unlock(&f->mu);
    return fr;
}

void feed_status(struct feed *f, struct feed_status *out)
{
    struct timespec now = mono_now();
    pthread_mutex_lock(&f->mu);
    out->busy = f->busy;
    out->busy_for_s = f->busy ? seconds_between(f->busy_since, now) : 0;
    out->have_data = f->last_good != NULL;
    out->age_s = f->last_good ? seconds_between(f->last_done, now) : 0;
    out->failures = f->failures;
    memcpy(out->error, f->error, sizeof out->error);
    pthread_mutex_unlock(&f->mu);
}

void feed_kick(struct feed *f)
{
    pthread_mutex_lock(&f->mu);
    f->kick = true;
    pthread_cond_signal(&f->clock_cv);
    pthread_mutex_unlock(&f->mu);
}

int feed_set_interval(struct feed *f, double interval_s, struct error *e)
{
    if (!(interval_s > 0))
        return error_set(e, -EINVAL, "the sampling interval must be more than 0 seconds");
    pthread_mutex_lock(&f->mu);
    if (f->opt.interval_s != interval_s) {
        f->opt.interval_s = interval_s;
        f->interval_changed = true;
        pthread_cond_signal(&f->clock_cv);
    }
    pthread_mutex_unlock(&f->mu);
    return 0;
}

void feed_set_ancestors(struct feed *f, bool on)
{
    pthread_mutex_lock(&f->mu);
    f->ancestors_on = on;
    pthread_mutex_unlock(&f->mu);
}

/* ---- subscriptions ------------------------------------------------------------------- */

int feed_subscribe(struct feed *f, struct feed_sub **out, struct error *e)
{
    *out = NULL;
    struct feed_sub *s = calloc(1, sizeof *s);
    if (!s)
        return error_set(e, -ENOMEM, "out of memory subscribing to the sampling loop");
    s->feed = f;
    s->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->fd < 0) {
        int rc = error_set(e, -errno, "cannot create an eventfd: %s", strerror(errno));
        free(s);
        return rc;
    }
    pthread_mutex_lock(&f->mu);
    struct feed_sub **grown = realloc(f->subs, (f->sub_count + 1) * sizeof *grown);
    if (grown) {
        f->subs = grown;
        f->subs[f->sub_count++] = s;
        s->seen_failures = f->failures;
        if (f->latest) {                 /* a frame is already there: readable at once */
            uint64_t one = 1;
            ssize_t w = write(s->fd, &one, sizeof one);
            (void)w;
        }
    }
    pthread_mutex_unlock(&f->mu);
    if (!grown) {
        close(s->fd);
        free(s);
        return error_set(e, -ENOMEM, "out of memory subscribing to the sampling loop");
    }
    *out = s;
    return 0;
}

int feed_sub_fd(const struct feed_sub *s)
{
    return s->fd;
}

struct feed_frame *feed_sub_take(struct feed_sub *s)
{
    uint64_t count;
    ssize_t r = read(s->fd, &count, sizeof count);   /* EAGAIN: nothing new */
    (void)r;
    struct feed *f = s->feed;
    pthread_mutex_lock(&f->mu);
    struct feed_frame *fr = NULL;
    if (f->latest && f->latest->seq > s->seen_seq) {
        fr = feed_frame_ref(f->latest);
        s->seen_seq = fr->seq;
    }
    pthread_mutex_unlock(&f->mu);
    return fr;
}

struct feed_frame *feed_sub_wait(struct feed_sub *s, int timeout_ms)
{
    struct feed_frame *fr = feed_sub_take(s);
    if (fr)
        return fr;
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) <= 0)
        return NULL;                     /* time is up, or a signal */
    return feed_sub_take(s);
}

int feed_sub_error(struct feed_sub *s, struct error *e)
{
    struct feed *f = s->feed;
    int rc = 0;
    pthread_mutex_lock(&f->mu);
    if (f->failures != s->seen_failures) {
        s->seen_failures = f->failures;
        rc = error_set(e, f->error_code, "%s", f->error);
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

void feed_unsubscribe(struct feed_sub *s)
{
    if (!s)
        return;
    struct feed *f = s->feed;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->sub_count; i++) {
        if (f->subs[i] == s) {
            f->subs[i] = f->subs[--f->sub_count];
            break;
        }
    }
    pthread_mutex_unlock(&f->mu);
    close(s->fd);
    free(s);
}
