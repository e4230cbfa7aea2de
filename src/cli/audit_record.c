/* audit_record.c - `gpuctl audit record`: the recording daemon.
 *
 * It subscribes to a feed (src/feed), which samples every interval on the
 * monotonic clock so a wall-clock jump neither bunches nor skips samples,
 * and appends each frame through the store.  A failed sample (a GPU that
 * went away, a database locked past the busy timeout) is reported and the
 * daemon goes on; a stale frame (the driver has not answered within
 * default_timeout_secs) repeats the last sample and is not recorded again.
 * Only a database that cannot be opened at all, or no GPU source at start,
 * ends it.  SIGINT and SIGTERM end it after the sample in progress
 * (systemd's stop), with status 0.  The unit file is
 * docs/gpuctl-audit.service.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/audit.h"
#include "feed/feed.h"

#define DEFAULT_INTERVAL_S 60UL

/* Set by the signal handler; the only way it can reach the loop. */
static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* No SA_RESTART: the wait for the next frame must wake at once. */
static void install_handlers(void)
{
    struct sigaction sa = {.sa_handler = on_stop};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int record_frame(struct cli_ctx *ctx, const struct feed_frame *fr, struct audit_db *db,
                        unsigned interval)
{
    struct error e = {0};
    int rc = audit_record_snapshot(db, fr->snap, interval, &e);
    if (rc)
        fprintf(stderr, "gpuctl: audit record: %s\n", e.msg);
    else
        cli_log(ctx, LOG_DEBUG, "recorded %zu GPUs and %zu processes", fr->snap->device_count,
                fr->snap->gproc_count);
    return rc;
}

/* The next sample from the feed: 0 with *out set (NULL: none this time,
 * a stale frame or a signal), or a failed pass's code (reported). */
static int next_sample(struct cli_ctx *ctx, struct feed_sub *sub, struct feed_frame **out)
{
    struct error e = {0};
    struct feed_frame *fr = feed_sub_wait(sub, -1);
    *out = NULL;
    if (!fr) {
        int rc = feed_sub_error(sub, &e);
        if (rc)
            fprintf(stderr, "gpuctl: audit record: %s\n", e.msg);
        return rc;
    }
    if (fr->stale) {
        cli_log(ctx, LOG_WARN, "no sample this interval: the GPU driver has not answered "
                "for %.0f s", fr->stale_for_s);
        feed_frame_unref(fr);
        return 0;
    }
    *out = fr;
    return 0;
}

static int record_loop(struct cli_ctx *ctx, struct feed_sub *sub, struct audit_db *db,
                       unsigned long interval, unsigned long count)
{
    unsigned long done = 0;
    int failures = 0;
    while (!stop_requested) {
        struct feed_frame *fr = NULL;
        int rc = next_sample(ctx, sub, &fr);
        if (!rc && !fr)
            continue;
        failures += rc != 0 || record_frame(ctx, fr, db, (unsigned)interval) != 0;
        feed_frame_unref(fr);
        if (count && ++done >= count)
            break;
    }
    return failures;
}

int cli_audit_record(struct cli_ctx *ctx, const char *interval_text, const char *count_text)
{
    unsigned long interval = DEFAULT_INTERVAL_S, count = 0;
    if (interval_text && (!cli_parse_uint(interval_text, 86400, &interval) || interval == 0))
        return cli_usage_error("audit", "--interval: '%s' is not a whole number of seconds "
                                         "from 1 to 86400", interval_text);
    if (count_text && (!cli_parse_uint(count_text, ULONG_MAX, &count) || count == 0))
        return cli_usage_error("audit", "--count: '%s' is not a whole number of samples, "
                                         "1 or more", count_text);
    struct error e = {0};
    struct audit_db *db = NULL;
    if (audit_open(NULL, 0, &db, &e) != 0)
        return cli_fail(&e);
    audit_set_retention_days(db, (unsigned)ctx->cfg.audit_retention_days);
    const struct feed_options fo = {
        .interval_s = (double)interval,
        .snap = {.processes = true, .host_processes = true,
                 .host_fields = SNAPSHOT_HOST_USER | SNAPSHOT_HOST_CMDLINE |
                                SNAPSHOT_HOST_CONTAINER},
        .timeout_s = ctx->cfg.default_timeout_secs,
    };
    struct feed *feed = NULL;
    struct feed_sub *sub = NULL;
    if (feed_start(&feed, &fo, &e) != 0 || feed_subscribe(feed, &sub, &e) != 0) {
        feed_stop(feed);
        audit_close(db);
        return cli_fail(&e);
    }
    cli_log(ctx, LOG_INFO, "recording every %lu s into %s", interval, audit_path(db));
    install_handlers();
    int failures = record_loop(ctx, sub, db, interval, count);
    feed_unsubscribe(sub);
    feed_stop(feed);
    audit_close(db);
    /* --count: the caller asked for samples, so a failed one is a failure */
    return count && failures ? EXIT_GENERAL : EXIT_OK;
}
