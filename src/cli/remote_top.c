/* remote_top.c - the frames of `gpuctl --remote HOST top`: the host runs
 * `gpuctl list --watch … --details --output ndjson` (remote/stream.c), and
 * each line it prints is decoded (doc_snapshot_decode) into a frame for
 * the monitor (tui_source).
 *
 * The stream is driven by a thread of its own, so a slow line or a host
 * that stops answering never holds up the keys; the newest frame is kept
 * under a lock and an eventfd tells the monitor's poll that there is
 * something to take.  Nothing here signals a process: the monitor runs
 * read-only (its kill keys say so).
 */
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "cli/remote.h"
#include "doc/snapshot_doc.h"
#include "feed/feed.h"
#include "remote/stream.h"
#include "tui/tui.h"

struct cli_remote_top {
    const char *label;
    struct remote_stream_host host;
    struct remote_stream *stream;
    pthread_t thread;
    bool running;                 /* the thread was started */
    atomic_bool stop;
    int efd;
    struct tui_source source;
    pthread_mutex_t lock;         /* guards what follows */
    struct feed_frame *latest;
    uint64_t seq, taken;          /* frames decoded / handed to the monitor */
    double latest_at;
    char error[ERROR_MSG_MAX];    /* why the frames stopped, "" while they come */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void wake(struct cli_remote_top *t)
{
    uint64_t one = 1;
    /* A full counter already wakes the reader; nothing else can fail here. */
    if (write(t->efd, &one, sizeof one) < 0)
        return;
}

/* "HOST: what detail" as the reason the frames stopped. */
static void set_error(struct cli_remote_top *t, const char *what, const char *detail)
{
    pthread_mutex_lock(&t->lock);
    /* A long reason is cut: the header has one line for it anyway. */
    if (snprintf(t->error, sizeof t->error, "%s: %s%s", t->label, what, detail) < 0)
        snprintf(t->error, sizeof t->error, "%s: the stream stopped", t->label);
    pthread_mutex_unlock(&t->lock);
    wake(t);
}

/* One ndjson line: a snapshot document, made into the newest frame. */
static int on_line(void *ctx, size_t host, const char *line, size_t len)
{
    struct cli_remote_top *t = ctx;
    (void)host;
    json_error_t je;
    struct error e = {0};
    struct snapshot *snap = NULL;
    struct feed_frame *fr = NULL;
    json_t *doc = json_loadb(line, len, 0, &je);
    if (!doc) {
        set_error(t, "the remote gpuctl printed no JSON document: ", je.text);
        return 0;
    }
    int rc = doc_snapshot_decode(doc, &snap, &e);
    json_decref(doc);
    if (rc == 0)
        rc = feed_frame_wrap(snap, false, &fr, &e);
    if (rc < 0) {
        set_error(t, "cannot read its snapshot: ", e.msg);
        return 0;
    }
    pthread_mutex_lock(&t->lock);
    feed_frame_unref(t->latest);
    t->latest = fr;
    t->seq++;
    t->latest_at = now_s();
    t->error[0] = '\0';
    pthread_mutex_unlock(&t->lock);
    wake(t);
    return 0;
}

static void *drive(void *arg)
{
    struct cli_remote_top *t = arg;
    struct error e = {0};
    while (!atomic_load(&t->stop) && remote_stream_running(t->stream) > 0) {
        if (remote_stream_poll(t->stream, 200, on_line, t, &e) < 0) {
            set_error(t, "", e.msg);
            return NULL;
        }
    }
    if (atomic_load(&t->stop))
        return NULL;
    char why[600];
    const struct remote_stream_host *h = &t->host;
    if (h->spawn_error)
        snprintf(why, sizeof why, "cannot run ssh: %s", strerror(h->spawn_error));
    else if (remote_classify(h->wait_status, h->timed_out, h->err, h->err_len, why,
                             sizeof why) == REMOTE_OK)
        snprintf(why, sizeof why, "its stream ended");
    set_error(t, "", why);
    return NULL;
}

/* ---- the monitor's side ------------------------------------------------------------- */

static int source_fd(void *ctx)
{
    return ((struct cli_remote_top *)ctx)->efd;
}

static struct feed_frame *source_take(void *ctx)
{
    struct cli_remote_top *t = ctx;
    uint64_t count;
    if (read(t->efd, &count, sizeof count) < 0)
        count = 0;               /* EAGAIN: nothing new since the last read */
    struct feed_frame *fr = NULL;
    pthread_mutex_lock(&t->lock);
    if (t->latest && t->seq != t->taken) {
        fr = feed_frame_ref(t->latest);
        t->taken = t->seq;
    }
    pthread_mutex_unlock(&t->lock);
    return fr;
}

static void source_status(void *ctx, struct feed_status *out)
{
    struct cli_remote_top *t = ctx;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&t->lock);
    out->have_data = t->latest != NULL;
    out->age_s = t->latest ? now_s() - t->latest_at : 0;
    out->failures = t->error[0] != '\0';
    snprintf(out->error, sizeof out->error, "%s", t->error);
    pthread_mutex_unlock(&t->lock);
}

/* ---- life --------------------------------------------------------------------------- */

/* The thread takes no signal: Ctrl-C, SIGTERM and SIGWINCH are the
 * monitor's. */
static int start_thread(struct cli_remote_top *t)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&t->thread, NULL, drive, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    t->running = rc == 0;
    return -rc;
}

int cli_remote_top_open(struct cli_remote_top **out, const char *label, char **argv,
                        char *const *envp, double first_frame_secs, struct error *e)
{
    struct cli_remote_top *t = calloc(1, sizeof *t);
    if (!t)
        return error_set(e, -ENOMEM, "out of memory");
    t->label = label;
    t->host.argv = argv;
    t->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    t->source = (struct tui_source){.ctx = t, .fd = source_fd, .take = source_take,
                                    .status = source_status};
    pthread_mutex_init(&t->lock, NULL);
    int rc = t->efd < 0 ? error_set(e, -errno, "eventfd: %s", strerror(errno)) : 0;
    if (rc == 0)
        rc = remote_stream_open(&t->stream, &t->host, 1, envp, first_frame_secs, e);
    if (rc == 0 && (rc = start_thread(t)) < 0)
        error_set(e, rc, "cannot start the stream's thread: %s", strerror(-rc));
    if (rc < 0) {
        cli_remote_top_close(t);
        return rc;
    }
    *out = t;
    return 0;
}

const struct tui_source *cli_remote_top_source(struct cli_remote_top *t)
{
    return &t->source;
}

void cli_remote_top_close(struct cli_remote_top *t)
{
    if (!t)
        return;
    atomic_store(&t->stop, true);
    if (t->running)
        pthread_join(t->thread, NULL);
    remote_stream_close(t->stream);
    remote_stream_host_clear(&t->host);
    feed_frame_unref(t->latest);
    pthread_mutex_destroy(&t->lock);
    if (t->efd >= 0)
        close(t->efd);
    free(t);
}
