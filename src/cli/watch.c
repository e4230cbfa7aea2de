/* watch.c - `gpuctl watch`: arguments, the output file, and the loop
 * that people leave running next to a training job: it subscribes to a
 * feed (src/feed) and writes each frame's rows.
 *
 * SIGINT and SIGTERM are blocked for the whole run and read from a
 * signalfd next to the feed's fd, so a signal that arrives while rows are
 * being written ends the run right after them, with the rows already
 * flushed, and none can slip between a check and the wait.  Rows, header
 * rules and the schedule are src/watch's.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cli/cli.h"
#include "feed/feed.h"
#include "cli/opts.h"
#include "watch/watch.h"

#define DEFAULT_INTERVAL_S 30.0
#define DEFAULT_OUTPUT "./gpu_log.csv"

struct watch_args {
    struct cli_common common;
    pid_t *pids;
    size_t pid_count;
    const char *match, *interval, *output, *count, *duration, *format;
    bool append, extended;
};

struct watch_run {
    struct cli_ctx ctx;
    struct watch_args a;
    double interval_s, duration_s;
    unsigned long count;
    enum watch_format format;
    char *path;
    struct watch_matcher matcher;
    struct feed *feed;
    struct feed_sub *sub;
    FILE *out;                /* stdout, or of.f */
    struct outfile of;        /* the log file (watch_open_output) */
    bool published;           /* a replaced log has taken the old one's place */
    bool lost_said[64];       /* by GPU index: its loss is on stderr already */
    sigset_t stop_signals;
    int stop_fd;                      /* signalfd of stop_signals; -1 before */
};

/* ---- arguments --------------------------------------------------------------------- */

/* The option table (watch_opts.c) fills a watch_request. */
static int parse_args(struct watch_args *a, int argc, char **argv)
{
    struct watch_request q = {0};
    struct options_parsed p;
    int rc = cli_parse_options(&watch_options, argc, argv, &q, &p, &a->common);
    if (rc == 0 && !(a->pids = calloc(q.pid.count + 1, sizeof *a->pids))) {
        fputs("gpuctl: out of memory\n", stderr);
        rc = EXIT_GENERAL;
    }
    for (size_t i = 0; rc == 0 && i < q.pid.count; i++)
        a->pids[a->pid_count++] = (pid_t)atol(q.pid.values[i]);
    options_parsed_clear(&p);
    if (rc)
        return rc;
    a->match = q.match;
    a->interval = q.interval;
    a->output = q.output;
    a->count = q.count;
    a->duration = q.duration;
    a->format = q.format;
    a->append = q.append;
    a->extended = q.extended;
    if (a->pid_count && a->match)
        return cli_usage_error("watch", "choose the processes with either --pid or --match");
    if (a->count && a->duration)
        return cli_usage_error("watch", "give either --count or --duration, not both");
    return 0;
}

/* "~" and "~/..." are the home directory, as a shell would expand them. */
static char *expand_home(const char *path)
{
    const char *home = getenv("HOME");
    if (path[0] != '~' || (path[1] != '\0' && path[1] != '/') || !home || !*home)
        return strdup(path);
    char *out;
    return asprintf(&out, "%s%s", home, path + 1) < 0 ? NULL : out;
}

static int apply_values(struct watch_run *r)
{
    const struct watch_args *a = &r->a;
    /* watch keeps its own 30 s default, but watch_interval_secs set in the
     * environment (GPUCTL_WATCH_INTERVAL) or the file is honoured, as
     * --help, the man page and configuration.md say */
    const struct config *cfg = &r->ctx.cfg;
    r->interval_s = cfg->origin[CONFIG_WATCH_INTERVAL_SECS] != CONFIG_FROM_DEFAULT
        ? cfg->watch_interval_secs : DEFAULT_INTERVAL_S;
    if (a->interval && !cli_parse_seconds(a->interval, &r->interval_s))
        return cli_usage_error("watch", "--interval: '%s' is not a number of seconds "
                               "(more than 0, at most 86400)", a->interval);
    if (a->count && (!cli_parse_uint(a->count, 1000000000, &r->count) || r->count == 0))
        return cli_usage_error("watch", "--count: '%s' is not a whole number of samples "
                               "(at least 1)", a->count);
    if (a->duration && !cli_parse_seconds(a->duration, &r->duration_s))
        return cli_usage_error("watch", "--duration: '%s' is not a number of seconds "
                               "(more than 0, at most 86400)", a->duration);
    r->format = WATCH_CSV;
    if (a->format && strcmp(a->format, "jsonl") == 0)
        r->format = WATCH_JSONL;
    else if (a->format && strcmp(a->format, "csv") != 0)
        return cli_usage_error("watch", "--format: '%s' is not csv or jsonl", a->format);
    const char *out = a->output ? a->output : DEFAULT_OUTPUT;
    if (!*out)
        return cli_usage_error("watch", "--output needs a file name");
    r->path = expand_home(out);
    if (!r->path) {
        fputs("gpuctl: out of memory\n", stderr);
        return EXIT_GENERAL;
    }
    return 0;
}

static int prepare_match(struct watch_run *r)
{
    if (!r->a.match)
        return 0;
    struct error e = {0};
    if (watch_matcher_init(&r->matcher, r->a.match, &e) < 0)
        return cli_fail(&e);
    if (r->matcher.literal)
        fprintf(stderr, "gpuctl: --match: '%s' is not a valid regular expression (%s); "
                "matching it as literal text\n", r->a.match, r->matcher.why);
    return 0;
}

/* A pid /proc does not show may still be on a GPU (a process of another
 * pid namespace, a container's): it is checked against the first sample's
 * GPU processes before anything is logged. */
static bool pid_in_proc(pid_t pid)
{
    return kill(pid, 0) == 0 || errno != ESRCH;
}

static int check_pids_on_gpus(const struct watch_args *a, const struct snapshot *s)
{
    for (size_t i = 0; i < a->pid_count; i++) {
        if (pid_in_proc(a->pids[i]))
            continue;
        bool on_gpu = false;
        for (size_t k = 0; k < s->gproc_count && !on_gpu; k++)
            on_gpu = s->gprocs[k].pid == a->pids[i];
        if (!on_gpu) {
            fprintf(stderr, "gpuctl: process %d does not exist (not in /proc and on no GPU)\n",
                    (int)a->pids[i]);
            return EXIT_GENERAL;
        }
    }
    return 0;
}

/* ---- the loop ------------------------------------------------------------------------ */

/* A write error, said once; a closed pipe (watch -o - | head) is not worth
 * a message, as with list.  Returns the exit code. */
static int write_failed(const char *path, int err)
{
    if (err != EPIPE)
        fprintf(stderr, "gpuctl: cannot write %s: %s\n", path, strerror(err));
    return EXIT_GENERAL;
}

static int open_output(struct watch_run *r)
{
    struct error e = {0};
    bool header = false;
    if (strcmp(r->path, "-") == 0) {
        r->out = stdout;
        header = r->format == WATCH_CSV;
    } else if (watch_open_output(r->path, r->a.append, r->a.extended, r->format, &r->of,
                                 &header, &e) < 0) {
        return cli_fail(&e);
    } else {
        r->out = r->of.f;
    }
    if (header && watch_write_header(r->out, r->a.extended) < 0)
        return write_failed(r->path, errno);
    return 0;
}

/* Makes the rows visible to readers and durable: a watch may run for days
 * and the machine may go down with it.  fsync fails harmlessly (EINVAL) on
 * pipes and terminals. */
static int flush_rows(struct watch_run *r)
{
    if (fflush(r->out) == EOF)
        return write_failed(r->path, errno);
    if (r->out != stdout && fdatasync(fileno(r->out)) < 0 && errno != EINVAL) {
        fprintf(stderr, "gpuctl: cannot write %s to disk: %s\n", r->path, strerror(errno));
        return EXIT_GENERAL;
    }
    /* The first sample on disk: the new log replaces the old one now. */
    struct error e = {0};
    if (r->out != stdout && !r->published) {
        if (outfile_publish(&r->of, &e) < 0)
            return cli_fail(&e);
        r->published = true;
    }
    return 0;
}

/* A GPU that fell off the bus has no rows: said once on stderr (again
 * only if it comes back and is lost a second time), the others go on. */
static void say_lost_gpus(struct watch_run *r, const struct snapshot *s)
{
    for (size_t i = 0; i < s->device_count; i++) {
        const struct device *d = &s->devices[i];
        if (d->index < 0 || d->index >= 64)
            continue;
        bool lost = d->status[0] != '\0';
        if (lost && !r->lost_said[d->index])
            fprintf(stderr, "gpuctl: GPU %d (%s) is lost: %s; still logging the other GPUs\n",
                    d->index, d->name[0] ? d->name : "N/A", d->status);
        r->lost_said[d->index] = lost;
    }
}

/* One frame's rows.  A stale frame repeats the last sample (the driver
 * has not answered this one yet): it is not logged twice. */
static int write_frame(struct watch_run *r, const struct feed_frame *fr)
{
    say_lost_gpus(r, fr->snap);
    struct watch_select sel = {.pids = r->a.pids, .pid_count = r->a.pid_count,
                               .match = r->a.match ? &r->matcher : NULL};
    size_t rows;
    int rc = watch_write_sample(r->out, r->format, r->a.extended, fr->snap, &sel, &rows);
    if (rc < 0)
        return write_failed(r->path, -rc);
    cli_log(&r->ctx, LOG_DEBUG, "sample: %zu row%s", rows, rows == 1 ? "" : "s");
    return flush_rows(r);
}

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* The next fresh frame; NULL when a stop signal came.  A failed or stale
 * sample is reported and waited past: a logger outlives a bad moment of
 * the driver. */
static struct feed_frame *next_frame(struct watch_run *r)
{
    for (;;) {
        struct pollfd fds[2] = {{.fd = r->stop_fd, .events = POLLIN},
                                {.fd = feed_sub_fd(r->sub), .events = POLLIN}};
        if (poll(fds, 2, -1) < 0 && errno != EINTR)
            return NULL;
        if (fds[0].revents & POLLIN)
            return NULL;
        struct error e = {0};
        if (feed_sub_error(r->sub, &e) < 0)
            fprintf(stderr, "gpuctl: no sample this interval: %s\n", e.msg);
        struct feed_frame *fr = feed_sub_take(r->sub);
        if (fr && fr->stale)
            cli_log(&r->ctx, LOG_WARN, "no sample this interval: the GPU driver has not "
                    "answered for %.0f s", fr->stale_for_s);
        if (fr && !fr->stale)
            return fr;
        feed_frame_unref(fr);
    }
}

static bool stop_pending(void)
{
    sigset_t pending;
    if (sigpending(&pending) < 0)
        return false;
    return sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1;
}

static int sample_loop(struct watch_run *r)
{
    struct watch_schedule sched;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    watch_schedule_init(&sched, &start, r->interval_s);
    for (unsigned long taken = 0;;) {
        struct feed_frame *fr = next_frame(r);
        if (!fr)
            return EXIT_OK;
        int rc = taken == 0 ? check_pids_on_gpus(&r->a, fr->snap) : 0;
        if (rc == 0)
            rc = write_frame(r, fr);
        feed_frame_unref(fr);
        if (rc)
            return rc;
        if (r->count && ++taken >= r->count)
            return EXIT_OK;
        struct timespec now, next;
        clock_gettime(CLOCK_MONOTONIC, &now);
        uint64_t skipped;
        next = watch_schedule_next(&sched, &now, &skipped);
        if (skipped)
            cli_log(&r->ctx, LOG_WARN, "sampling fell behind; %llu sample%s skipped",
                    (unsigned long long)skipped, skipped == 1 ? "" : "s");
        if (r->duration_s > 0 && seconds_between(&start, &next) >= r->duration_s)
            return EXIT_OK;
        if (stop_pending())
            return EXIT_OK;
    }
}

/* The feed every row comes from, and the fd the stop signals arrive on. */
static int open_sources(struct watch_run *r)
{
    struct error e = {0};
    const struct feed_options fo = {
        .interval_s = r->interval_s,
        .snap = {.processes = true, .host_processes = true,
                 .host_fields = SNAPSHOT_HOST_CMDLINE},
        .timeout_s = r->ctx.cfg.default_timeout_secs,
    };
    if (feed_start(&r->feed, &fo, &e) < 0) {
        error_prefix(&e, "nothing to watch");
        fprintf(stderr, "gpuctl: %s\n", e.msg);
        return EXIT_GENERAL;
    }
    if (feed_subscribe(r->feed, &r->sub, &e) < 0)
        return cli_fail(&e);
    r->stop_fd = signalfd(-1, &r->stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
    if (r->stop_fd < 0) {
        fprintf(stderr, "gpuctl: cannot watch for signals: %s\n", strerror(errno));
        return EXIT_GENERAL;
    }
    return 0;
}

static int run_watch(struct watch_run *r)
{
    int rc;
    if ((rc = apply_values(r)) || (rc = prepare_match(r)))
        return rc;
    /* Blocked before the GPU library starts, so its threads (if any)
     * inherit the mask and a Ctrl-C during start-up is a clean stop too. */
    sigemptyset(&r->stop_signals);
    sigaddset(&r->stop_signals, SIGINT);
    sigaddset(&r->stop_signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &r->stop_signals, NULL);
    /* Sources before the file: no GPU means no file is created or emptied. */
    if ((rc = open_sources(r)) || (rc = open_output(r)))
        return rc;
    return stop_pending() ? EXIT_OK : sample_loop(r);
}

int cmd_watch(int argc, char **argv)
{
    struct watch_run r = {.stop_fd = -1};
    int rc = parse_args(&r.a, argc, argv);
    if (rc == 0 && (rc = cli_load_config(&r.ctx, &r.a.common)) == 0)
        rc = run_watch(&r);
    /* A log that failed before its first sample leaves the old file alone;
     * one ended cleanly (even before a sample) replaces it. */
    struct error e = {0};
    if (r.of.f && (rc == EXIT_OK || r.published) && outfile_commit(&r.of, &e) < 0 &&
        rc == EXIT_OK)
        rc = cli_fail(&e);
    outfile_discard(&r.of);
    feed_unsubscribe(r.sub);
    feed_stop(r.feed);
    if (r.stop_fd >= 0)
        close(r.stop_fd);
    watch_matcher_clear(&r.matcher);
    free(r.path);
    free(r.a.pids);
    return rc < 0 ? EXIT_OK : rc;
}
