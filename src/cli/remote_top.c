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
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/frame_slot.h"
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
    struct tui_source source;
    struct cli_frame_slot slot;   /* the newest frame, for the monitor */
};

/* "HOST: what detail" as the reason the frames stopped. */
static void set_error(struct cli_remote_top *t, const char *what, const char *detail)
{
    char why[ERROR_MSG_MAX];
    /* A long reason is cut: the header has one line for it anyway. */
    if (snprintf(why, sizeof why, "%s: %s%s", t->label, what, detail) < 0)
        snprintf(why, sizeof why, "%s: the stream stopped", t->label);
    cli_frame_slot_fail(&t->slot, why);
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
    cli_frame_slot_put(&t->slot, fr, NULL);
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
    return ((struct cli_remote_top *)ctx)->slot.efd;
}

static struct feed_frame *source_take(void *ctx)
{
    return cli_frame_slot_take(&((struct cli_remote_top *)ctx)->slot, NULL);
}

static void source_status(void *ctx, struct feed_status *out)
{
    cli_frame_slot_status(&((struct cli_remote_top *)ctx)->slot, out);
}

/* ---- life --------------------------------------------------------------------------- */

int cli_remote_top_open(struct cli_remote_top **out, const char *label, char **argv,
                        char *const *envp, double first_frame_secs, struct error *e)
{
    struct cli_remote_top *t = calloc(1, sizeof *t);
    if (!t)
        return error_set(e, -ENOMEM, "out of memory");
    t->label = label;
    t->host.argv = argv;
    t->source = (struct tui_source){.ctx = t, .fd = source_fd, .take = source_take,
                                    .status = source_status};
    int rc = cli_frame_slot_init(&t->slot, NULL, e);
    if (rc == 0)
        rc = remote_stream_open(&t->stream, &t->host, 1, envp, first_frame_secs, e);
    if (rc == 0) {
        rc = cli_thread_start_unsignalled(&t->thread, drive, t);
        t->running = rc == 0;
        if (rc < 0)
            error_set(e, rc, "cannot start the stream's thread: %s", strerror(-rc));
    }
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
    cli_frame_slot_clear(&t->slot);
    free(t);
}
