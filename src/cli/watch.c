/* watch.c - `gpuctl watch`: arguments, the output file, and the sampling
 * loop that people leave running next to a training job.
 *
 * SIGINT and SIGTERM are blocked for the whole run and taken with
 * sigtimedwait between samples, so a signal that arrives while a sample is
 * being taken ends the run right after it, with the rows already flushed,
 * and none can slip between a check and the sleep.  Rows, header rules and
 * the schedule are src/watch's.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/sampler.h"
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
    struct snapshot_ctx *sctx;
    struct sampler *sampler;
    FILE *out;                /* stdout, or of.f */
    struct outfile of;        /* the log file (watch_open_output) */
    bool published;           /* a replaced log has taken the old one's place */
    sigset_t stop_signals;
};

/* ---- arguments --------------------------------------------------------------------- */

static int take_pids(struct watch_args *a, int argc, char **argv, int *i)
{
    return cli_take_pids("watch", argc, argv, i, false, a->pids, &a->pid_count);
}

static const char **valued_slot(struct watch_args *a, const char *arg)
{
    static const struct { const char *name; size_t offset; } slots[] = {
        {"--match", offsetof(struct watch_args, match)},
        {"--interval", offsetof(struct watch_args, interval)},
        {"--output", offsetof(struct watch_args, output)},
        {"-o", offsetof(struct watch_args, output)},
        {"--count", offsetof(struct watch_args, count)},
        {"--duration", offsetof(struct watch_args, duration)},
        {"--format", offsetof(struct watch_args, format)},
    };
    for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++)
        if (strcmp(arg, slots[i].name) == 0)
            return (const char **)((char *)a + slots[i].offset);
    return NULL;
}

static int parse_one(struct watch_args *a, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    int rc = cli_common_option(&a->common, "watch", argc, argv, i);
    if (rc != 0)
        return rc < 0 ? EXIT_INVALID_ARGS : 0;
    bool *flag = strcmp(arg, "--append") == 0     ? &a->append
                 : strcmp(arg, "--extended") == 0 ? &a->extended
                                                  : NULL;
    if (flag) {
        *flag = true;
        return 0;
    }
    if (strcmp(arg, "--pid") == 0)
        return take_pids(a, argc, argv, i);
    const char **slot = valued_slot(a, arg);
    if (!slot)
        return cli_unknown_argument("watch", arg, "");
    if (*i + 1 >= argc)
        return cli_usage_error("watch", "option '%s' needs a value", arg);
    *slot = argv[++*i];
    return 0;
}

static int parse_args(struct watch_args *a, int argc, char **argv)
{
    a->pids = calloc((size_t)argc + 1, sizeof *a->pids);
    if (!a->pids) {
        fputs("gpuctl: out of memory\n", stderr);
        return EXIT_GENERAL;
    }
    for (int i = 1; i < argc; i++) {
        int rc = parse_one(a, argc, argv, &i);
        if (rc)
            return rc;
    }
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
    r->interval_s = DEFAULT_INTERVAL_S;
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

static int check_pids(const struct watch_args *a)
{
    for (size_t i = 0; i < a->pid_count; i++) {
        if (kill(a->pids[i], 0) < 0 && errno == ESRCH) {
            fprintf(stderr, "gpuctl: process %d does not exist\n", (int)a->pids[i]);
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

static int take_sample(struct watch_run *r)
{
    struct error e = {0};
    struct snapshot_options opts = {.processes = true, .host_processes = true,
                                    .host_fields = SNAPSHOT_HOST_CMDLINE};
    struct snapshot *s;
    if (sampler_take(r->sampler, &opts, &s, &e) < 0) {
        /* A logger outlives a bad moment of the driver: say so, keep going. */
        fprintf(stderr, "gpuctl: no sample this interval: %s\n", e.msg);
        return 0;
    }
    struct watch_select sel = {.pids = r->a.pids, .pid_count = r->a.pid_count,
                               .match = r->a.match ? &r->matcher : NULL};
    size_t rows;
    int rc = watch_write_sample(r->out, r->format, r->a.extended, s, &sel, &rows);
    snapshot_free(s);
    if (rc < 0)
        return write_failed(r->path, -rc);
    cli_log(&r->ctx, LOG_DEBUG, "sample: %zu row%s", rows, rows == 1 ? "" : "s");
    return flush_rows(r);
}

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* Waits until the monotonic time `until`; false when a stop signal came. */
static bool wait_until(struct watch_run *r, const struct timespec *until)
{
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double left = seconds_between(&now, until);
        if (left <= 0)
            return true;
        struct timespec rel = {.tv_sec = (time_t)left,
                               .tv_nsec = (long)((left - (double)(time_t)left) * 1e9)};
        int sig = sigtimedwait(&r->stop_signals, NULL, &rel);
        if (sig > 0)
            return false;
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
        int rc = take_sample(r);
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
        if (stop_pending() || !wait_until(r, &next))
            return EXIT_OK;
    }
}

static int open_sources(struct watch_run *r)
{
    struct error e = {0};
    if (snapshot_ctx_open(&r->sctx, &e) < 0) {
        error_prefix(&e, "nothing to watch");
        fprintf(stderr, "gpuctl: %s\n", e.msg);
        return EXIT_GENERAL;
    }
    if (sampler_create(&r->sampler, r->sctx, &e) < 0)
        return cli_fail(&e);
    return 0;
}

static int run_watch(struct watch_run *r)
{
    int rc;
    if ((rc = apply_values(r)) || (rc = prepare_match(r)) || (rc = check_pids(&r->a)))
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
    struct watch_run r = {0};
    int rc = parse_args(&r.a, argc, argv);
    if (rc == 0 && r.a.common.help) {
        fputs(cli_command_help("watch"), stdout);
    } else if (rc == 0 && (rc = cli_load_config(&r.ctx, &r.a.common)) == 0) {
        rc = run_watch(&r);
    }
    /* A log that failed before its first sample leaves the old file alone;
     * one ended cleanly (even before a sample) replaces it. */
    struct error e = {0};
    if (r.of.f && (rc == EXIT_OK || r.published) && outfile_commit(&r.of, &e) < 0 &&
        rc == EXIT_OK)
        rc = cli_fail(&e);
    outfile_discard(&r.of);
    sampler_free(r.sampler);
    snapshot_ctx_close(r.sctx);
    watch_matcher_clear(&r.matcher);
    free(r.path);
    free(r.a.pids);
    return rc;
}
