/* mcp.c - `gpuctl mcp`: the MCP server on stdin and stdout (src/mcp), for
 * AI assistants.
 *
 * This front end loads the configuration and gives the server its
 * environment: GPU state from one feed (src/feed, ARCHITECTURE.md decision
 * 10), started at the first request that needs it so the server answers
 * initialize at once, and the option tables its tools are described by.
 * A read takes the newest frame; a kill or reset waits for a frame whose
 * pass began after the request (the feed is kicked for it), so nothing is
 * signalled on old data.  stdout carries protocol messages only; every
 * diagnostic goes to stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "feed/feed.h"
#include "mcp/server.h"
#include "mcp/stdio.h"
#include "version.h"

struct mcp_cli {
    struct cli_ctx ctx;
    struct feed *feed;             /* started at the first request that needs it */
    struct feed_sub *sub;
    struct error start_error;      /* why it could not be started */
    bool start_tried;
};

static int start_feed(struct mcp_cli *m, struct error *e)
{
    if (!m->start_tried) {
        m->start_tried = true;
        const struct config *cfg = &m->ctx.cfg;
        const struct feed_options fo = {
            .interval_s = cfg->watch_interval_secs > 0 ? cfg->watch_interval_secs : 1,
            .snap = {.processes = true, .host_processes = true,
                     .host_fields = SNAPSHOT_HOST_USER | SNAPSHOT_HOST_CMDLINE},
            .timeout_s = cfg->default_timeout_secs,
            .cache_identities = true,
        };
        if (feed_start(&m->feed, &fo, &m->start_error) < 0 ||
            feed_subscribe(m->feed, &m->sub, &m->start_error) < 0) {
            feed_stop(m->feed);
            m->feed = NULL;
        }
    }
    if (m->feed)
        return 0;
    *e = m->start_error;
    return e->code ? e->code : -ENODEV;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t latest_seq(struct feed *f)
{
    struct feed_frame *fr = feed_latest(f);
    uint64_t seq = fr ? fr->seq : 0;
    feed_frame_unref(fr);
    return seq;
}

/* Waits for a frame that fits: any for a read, one of a pass begun after
 * now (not stale) when fresh.  NULL with e filled when none comes within
 * default_timeout_secs and one interval. */
static struct feed_frame *wait_frame(struct mcp_cli *m, bool fresh, struct error *e)
{
    const struct config *cfg = &m->ctx.cfg;
    double limit = cfg->default_timeout_secs + (cfg->watch_interval_secs > 0
                                                    ? cfg->watch_interval_secs : 1);
    double deadline = now_s() + limit;
    struct feed_status st;
    feed_status(m->feed, &st);
    /* A pass already running began before the request: its frame is not
     * fresh, the one after it is. */
    uint64_t need = latest_seq(m->feed) + (st.busy ? 2 : 1);
    if (!fresh) {
        struct feed_frame *f = feed_latest(m->feed);
        if (f)
            return f;
        need = 1;
    }
    struct feed_frame *f = feed_sub_take(m->sub);
    if (f && f->seq >= need && !(fresh && f->stale))
        return f;
    feed_frame_unref(f);
    feed_kick(m->feed);
    for (double left; (left = deadline - now_s()) > 0;) {
        f = feed_sub_wait(m->sub, (int)(left * 1000) + 1);
        if (f && f->seq >= need && !(fresh && f->stale))
            return f;
        feed_frame_unref(f);
        int rc = feed_sub_error(m->sub, e);
        if (rc < 0)
            return NULL;
        feed_kick(m->feed);
    }
    error_set(e, -ETIMEDOUT, "the GPU sources gave no %sdata within %g s",
              fresh ? "fresh " : "", limit);
    return NULL;
}

static int take_snapshot(void *arg, bool fresh, const struct snapshot **out, void **token,
                         struct error *e)
{
    struct mcp_cli *m = arg;
    *out = NULL;
    *token = NULL;
    int rc = start_feed(m, e);
    if (rc < 0)
        return rc;
    struct feed_frame *f = wait_frame(m, fresh, e);
    if (!f)
        return e->code ? e->code : -ETIMEDOUT;
    *out = f->snap;
    *token = f;
    return 0;
}

static void release_snapshot(void *arg, void *token)
{
    (void)arg;
    feed_frame_unref(token);
}

int cmd_mcp(int argc, char **argv)
{
    struct mcp_request q = {0};
    struct options_parsed parsed;
    struct cli_common common = {0};
    int rc = cli_parse_options(&mcp_options, argc, argv, &q, &parsed, &common);
    options_parsed_clear(&parsed);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    struct mcp_cli m = {0};
    if ((rc = cli_load_config(&m.ctx, &common)))
        return rc;
    struct mcp_env env = {
        .snapshot = take_snapshot, .release = release_snapshot, .ctx = &m,
        .options_table = cli_option_table, .cfg = &m.ctx.cfg,
    };
    struct mcp_server_options o = {.read_only = q.read_only, .env = &env,
                                   .server_version = GPUCTL_VERSION};
    struct mcp_server *server;
    struct error e = {0};
    if (mcp_server_new(&server, &o, &e) < 0)
        return cli_fail(&e);
    cli_log(&m.ctx, LOG_INFO, "MCP server ready on stdin/stdout%s",
            q.read_only ? " (read-only)" : "");
    rc = mcp_stdio_run(server, STDIN_FILENO, STDOUT_FILENO, &e);
    mcp_server_free(server);
    feed_unsubscribe(m.sub);
    feed_stop(m.feed);
    if (rc == -EPIPE)
        return EXIT_OK;     /* the client went away: its choice, not our failure */
    return rc < 0 ? cli_fail(&e) : EXIT_OK;
}
