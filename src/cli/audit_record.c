/* audit_record.c - `gpuctl audit record`: the recording daemon.
 *
 * A snapshot every interval, on the monotonic clock so a wall-clock jump
 * neither bunches nor skips samples, appended through the store.  A failed
 * sample (a GPU that went away, a database locked past the busy timeout)
 * is reported and the daemon goes on; only a database that cannot be
 * opened at all, or no GPU source at start, ends it.  SIGINT and SIGTERM
 * end it after the sample in progress (systemd's stop), with status 0.
 * The unit file is docs/gpuctl-audit.service.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/audit.h"

#define DEFAULT_INTERVAL_S 60UL

/* Set by the signal handler; the only way it can reach the loop. */
static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* No SA_RESTART: the sleep between samples must wake at once. */
static void install_handlers(void)
{
    struct sigaction sa = {.sa_handler = on_stop};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static void sleep_until(struct timespec *next, unsigned long secs)
{
    next->tv_sec += (time_t)secs;
    while (!stop_requested &&
           clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL) == EINTR)
        ;
}

static int record_once(struct cli_ctx *ctx, struct snapshot_ctx *sctx, struct audit_db *db,
                       unsigned interval)
{
    struct snapshot_options opts = {
        .processes = true, .host_processes = true,
        .host_fields = SNAPSHOT_HOST_USER | SNAPSHOT_HOST_CMDLINE | SNAPSHOT_HOST_CONTAINER};
    struct snapshot *s = NULL;
    struct error e = {0};
    int rc = snapshot_take(sctx, &opts, &s, &e);
    if (!rc)
        rc = audit_record_snapshot(db, s, interval, &e);
    if (rc)
        fprintf(stderr, "gpuctl: audit record: %s\n", e.msg);
    else
        cli_log(ctx, LOG_DEBUG, "recorded %zu GPUs and %zu processes", s->device_count,
                s->gproc_count);
    snapshot_free(s);
    return rc;
}

int cli_audit_record(struct cli_ctx *ctx, const char *interval_text, const char *count_text)
{
    unsigned long interval = DEFAULT_INTERVAL_S, count = 0;
    if (interval_text && (!cli_parse_uint(interval_text, 86400, &interval) || interval == 0))
        return cli_usage_error("record", "--interval: '%s' is not a whole number of seconds "
                                         "from 1 to 86400", interval_text);
    if (count_text && (!cli_parse_uint(count_text, ULONG_MAX, &count) || count == 0))
        return cli_usage_error("record", "--count: '%s' is not a whole number of samples, "
                                         "1 or more", count_text);
    struct error e = {0};
    struct audit_db *db = NULL;
    if (audit_open(NULL, 0, &db, &e) != 0)
        return cli_fail(&e);
    audit_set_retention_days(db, (unsigned)ctx->cfg.audit_retention_days);
    struct snapshot_ctx *sctx = NULL;
    if (snapshot_ctx_open(&sctx, &e) != 0) {
        audit_close(db);
        return cli_fail(&e);
    }
    cli_log(ctx, LOG_INFO, "recording every %lu s into %s", interval, audit_path(db));
    install_handlers();
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    unsigned long done = 0;
    int failures = 0;
    while (!stop_requested) {
        failures += record_once(ctx, sctx, db, (unsigned)interval) != 0;
        if (count && ++done >= count)
            break;
        sleep_until(&next, interval);
    }
    snapshot_ctx_close(sctx);
    audit_close(db);
    /* --count: the caller asked for samples, so a failed one is a failure */
    return count && failures ? EXIT_GENERAL : EXIT_OK;
}
