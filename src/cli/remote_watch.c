/* remote_watch.c - `gpuctl --remote HOSTS list --watch`: every host runs
 * `gpuctl list --watch … --output ndjson` over its own ssh session and
 * prints one snapshot document a frame; the latest of each host is
 * decoded as it arrives and all hosts are drawn in one table, redrawn at
 * most twice per interval (over the previous frame on a terminal, one
 * after another otherwise).  A host whose stream ends keeps its row with
 * the reason; Ctrl-C ends every session.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/list.h"
#include "cli/remote.h"
#include "core/term.h"
#include "doc/snapshot_doc.h"
#include "remote/stream.h"

struct watched {
    const char *label;
    struct snapshot *snap;        /* the latest frame */
    char error[600];              /* why it shows no frame ("" while fine) */
    bool failed_before_stop;
};

struct watch {
    struct watched *hosts;
    struct remote_stream_host *streams;
    size_t n;
    const struct cli_remote_watch *opt;
    bool changed;
};

/* Set by the SIGINT/SIGTERM handler; the only way a signal reaches the
 * loop, hence the one global. */
static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static double now_secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int on_line(void *ctx, size_t i, const char *line, size_t len)
{
    struct watch *w = ctx;
    struct watched *h = &w->hosts[i];
    struct snapshot *snap;
    struct error e = {0};
    w->changed = true;
    if (doc_snapshot_decode_buffer(line, len, &snap, &e) < 0) {
        snprintf(h->error, sizeof h->error, "cannot read its snapshot: %s", e.msg);
        return 0;
    }
    snapshot_free(h->snap);
    h->snap = snap;
    h->error[0] = '\0';
    return 0;
}

/* A host whose ssh ended: why, as the one-shot commands say it. */
static void note_ended(struct watch *w)
{
    for (size_t i = 0; i < w->n; i++) {
        struct remote_stream_host *s = &w->streams[i];
        struct watched *h = &w->hosts[i];
        if (!s->ended || h->failed_before_stop || stop_requested)
            continue;
        h->failed_before_stop = true;
        w->changed = true;
        snapshot_free(h->snap);
        h->snap = NULL;
        if (s->spawn_error) {
            snprintf(h->error, sizeof h->error, "cannot run ssh: %s", strerror(s->spawn_error));
        } else if (s->too_long) {
            snprintf(h->error, sizeof h->error, "the remote printed a line over 64 MiB");
        } else if (remote_classify(s->wait_status, s->timed_out, s->err, s->err_len, h->error,
                                   sizeof h->error) == REMOTE_OK) {
            snprintf(h->error, sizeof h->error, "the remote list --watch ended");
        }
    }
}

static int draw(struct watch *w, FILE *out)
{
    struct doc_snapshot_view *views = calloc(w->n, sizeof *views);
    struct list_host_view *rows = calloc(w->n, sizeof *rows);
    struct doc_snapshot_request req = {.details = w->opt->details,
                                       .containers = w->opt->containers};
    int rc = views && rows ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < w->n; i++) {
        struct error e = {0};
        rows[i].host = w->hosts[i].label;
        rows[i].error = w->hosts[i].error[0] ? w->hosts[i].error : "waiting for the first frame";
        if (w->hosts[i].snap && !w->hosts[i].error[0] &&
            (rc = doc_snapshot_view_init(&views[i], w->hosts[i].snap, &req, &e)) == 0)
            rows[i].shown = &views[i];
    }
    struct list_view style = {.ascii = w->opt->ascii, .color = w->opt->color,
                              .width = term_width(STDOUT_FILENO)};
    if (rc == 0)
        rc = list_render_hosts(rows, w->n, &style, w->opt->details, out);
    for (size_t i = 0; views && i < w->n; i++)
        doc_snapshot_view_clear(&views[i]);
    free(views);
    free(rows);
    return rc;
}

/* One frame: over the previous one on a terminal, else after it. */
static int paint(struct watch *w)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        return -ENOMEM;
    time_t t = time(NULL);
    struct tm tm;
    char when[16] = "";
    if (localtime_r(&t, &tm))
        strftime(when, sizeof when, "%H:%M:%S", &tm);
    fprintf(mem, "%zu host%s, every %gs  %s\n", w->n, w->n == 1 ? "" : "s",
            w->opt->interval_secs, when);
    int rc = draw(w, mem);
    if (fclose(mem) != 0 && rc == 0)
        rc = -ENOMEM;
    if (rc == 0) {
        if (w->opt->screen) {
            list_paint_frame(text, len);
        } else {
            fwrite(text, 1, len, stdout);
            fputc('\n', stdout);
            if (fflush(stdout) == EOF)
                rc = -EIO;
        }
    }
    free(text);
    w->changed = false;
    return rc;
}

static bool all_answered(const struct watch *w)
{
    for (size_t i = 0; i < w->n; i++)
        if (!w->streams[i].lines && !w->streams[i].ended)
            return false;
    return true;
}

static int follow(struct watch *w, struct remote_stream *s)
{
    double start = now_secs(), half = w->opt->interval_secs / 2, next = 0;
    bool painted = false;
    struct error e = {0};
    while (!stop_requested && remote_stream_running(s) > 0) {
        if (remote_stream_poll(s, 100, on_line, w, &e) < 0)
            return cli_fail(&e);
        note_ended(w);
        double now = now_secs();
        bool ready = painted || all_answered(w) || now >= start + w->opt->interval_secs;
        if (w->changed && ready && now >= next) {
            int rc = paint(w);
            if (rc < 0) {
                if (rc != -EPIPE)
                    fprintf(stderr, "gpuctl: cannot write the output: %s\n", strerror(-rc));
                return EXIT_GENERAL;
            }
            painted = true;
            next = now + half;
        }
    }
    note_ended(w);
    if (w->changed && !stop_requested && paint(w) < 0)
        return EXIT_GENERAL;
    return EXIT_OK;
}

int cli_remote_watch(const struct cli_remote_watch *opt)
{
    struct watch w = {.n = opt->n, .opt = opt};
    w.hosts = calloc(opt->n, sizeof *w.hosts);
    w.streams = calloc(opt->n, sizeof *w.streams);
    if (!w.hosts || !w.streams) {
        free(w.hosts);
        free(w.streams);
        fputs("gpuctl: out of memory\n", stderr);
        return EXIT_GENERAL;
    }
    for (size_t i = 0; i < opt->n; i++) {
        w.hosts[i].label = opt->labels[i];
        w.streams[i].argv = opt->argvs[i];
    }
    struct sigaction sa = {.sa_handler = on_stop}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    struct remote_stream *s;
    struct error e = {0};
    int rc = remote_stream_open(&s, w.streams, opt->n, opt->envp, opt->first_frame_secs, &e) < 0
                 ? cli_fail(&e) : follow(&w, s);
    remote_stream_close(s);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    size_t failed = 0;
    for (size_t i = 0; i < opt->n; i++) {
        failed += w.hosts[i].failed_before_stop;
        snapshot_free(w.hosts[i].snap);
        remote_stream_host_clear(&w.streams[i]);
    }
    fprintf(stderr, "gpuctl: %zu host%s: %zu watched to the end, %zu failed\n", opt->n,
            opt->n == 1 ? "" : "s", opt->n - failed, failed);
    free(w.hosts);
    free(w.streams);
    return rc ? rc : failed ? EXIT_GENERAL : EXIT_OK;
}
