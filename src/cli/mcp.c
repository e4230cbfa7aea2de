/* mcp.c - `gpuctl mcp`: the MCP server (src/mcp) for AI assistants, on
 * stdin and stdout, or with --http over Streamable HTTP on gpuctl's HTTP
 * layer (net/http.h) at /mcp, with GET /health.
 *
 * This front end loads the configuration and gives the server its
 * environment: GPU state from one feed (src/feed, ARCHITECTURE.md decision
 * 10), started at the first request that needs it so the server answers
 * initialize at once (--http starts it before serving), and the option
 * tables its tools are described by.
 * A read takes the newest frame; a kill or reset waits for a frame whose
 * pass began after the request (the feed is kicked for it), so nothing is
 * signalled on old data.  stdout carries protocol messages only; every
 * diagnostic goes to stderr.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "feed/feed.h"
#include "mcp/http_route.h"
#include "mcp/jsonrpc.h"
#include "mcp/server.h"
#include "mcp/stdio.h"
#include "version.h"

struct mcp_cli {
    struct cli_ctx ctx;
    struct feed *feed;             /* started by the thread that runs the transport */
    struct error start_error;      /* why it could not be started */
    bool start_tried;
};

/* Starts the feed (once; its failure is kept and told to every request).
 * Only the thread that stops it may call this: stdio's at its first
 * request, --http's before it serves. */
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
        if (feed_start(&m->feed, &fo, &m->start_error) < 0)
            m->feed = NULL;
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

/* Waits on its own subscription (so any thread may wait) for a frame
 * numbered need or later, not stale when fresh. */
static struct feed_frame *wait_for(struct mcp_cli *m, uint64_t need, bool fresh, double limit,
                                   struct error *e)
{
    struct feed_sub *sub;
    if (feed_subscribe(m->feed, &sub, e) < 0)
        return NULL;
    double deadline = now_s() + limit;
    struct feed_frame *f = feed_sub_take(sub);
    feed_kick(m->feed);
    for (double left = limit; !(f && f->seq >= need && !(fresh && f->stale));
         left = deadline - now_s()) {
        feed_frame_unref(f);
        f = NULL;
        if (left <= 0) {
            error_set(e, -ETIMEDOUT, "the GPU sources gave no %sdata within %g s",
                      fresh ? "fresh " : "", limit);
            break;
        }
        f = feed_sub_wait(sub, (int)(left * 1000) + 1);
        if (!f && feed_sub_error(sub, e) < 0)
            break;
        if (!f || f->seq < need)
            feed_kick(m->feed);
    }
    feed_unsubscribe(sub);
    return f;
}

/* A frame for a read (the newest), or for an action (fresh: one whose pass
 * began after now).  NULL with e filled when none comes within
 * default_timeout_secs and one interval. */
static struct feed_frame *frame_for(struct mcp_cli *m, bool fresh, struct error *e)
{
    const struct config *cfg = &m->ctx.cfg;
    double limit = cfg->default_timeout_secs + (cfg->watch_interval_secs > 0
                                                    ? cfg->watch_interval_secs : 1);
    if (!fresh) {
        struct feed_frame *f = feed_latest(m->feed);
        return f ? f : wait_for(m, 1, false, limit, e);
    }
    /* A pass already running began before the request: its frame is not
     * fresh, the one after it is. */
    struct feed_status st;
    feed_status(m->feed, &st);
    return wait_for(m, latest_seq(m->feed) + (st.busy ? 2 : 1), true, limit, e);
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
    struct feed_frame *f = frame_for(m, fresh, e);
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

/* The token from --token-file (trailing white space cut) or GPUCTL_TOKEN;
 * *token stays NULL when neither gives one.  Returns 0 or an exit code
 * after saying what is wrong. */
static int read_token(const char *file, char **token)
{
    *token = NULL;
    if (!file) {
        const char *env = getenv("GPUCTL_TOKEN");
        if (env && *env && !(*token = strdup(env)))
            return cli_usage_error("mcp", "out of memory");
        return 0;
    }
    FILE *f = fopen(file, "r");
    if (!f)
        return cli_usage_error("mcp", "--token-file: cannot read %s: %s", file,
                               strerror(errno));
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    bool whole = feof(f);
    fclose(f);
    while (n > 0 && strchr(" \t\r\n", buf[n - 1]))
        n--;
    buf[n] = '\0';
    if (!whole || n == 0 || strlen(buf) != n)
        return cli_usage_error("mcp", "--token-file: %s holds no token (one line, at most "
                               "1 KiB)", file);
    *token = strdup(buf);
    return *token ? 0 : cli_usage_error("mcp", "out of memory");
}

/* Where --http listens: --listen, else 127.0.0.1:$MCP_PORT, else :3001. */
static const char *listen_address(const char *flag, char *buf, size_t size)
{
    if (flag)
        return flag;
    const char *port = getenv("MCP_PORT");
    snprintf(buf, size, "127.0.0.1:%s", port && *port ? port : "3001");
    return buf;
}

/* Serves Streamable HTTP until SIGINT or SIGTERM. */
static int serve_http(struct mcp_cli *m, const struct mcp_request *q,
                      const struct mcp_server_options *so)
{
    struct error e = {0};
    char *token = NULL;
    int rc = read_token(q->token_file, &token);
    if (rc)
        return rc;
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    /* Blocked before any thread starts, so every thread inherits it and
     * only sigwait below takes them. */
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    if (start_feed(m, &e) < 0)
        cli_log(&m->ctx, LOG_WARN, "serving without GPU state: %s", e.msg);
    struct mcp_http *endpoint = NULL;
    struct mcp_http_options ho = {.read_only = so->read_only, .env = so->env,
                                  .server_version = so->server_version};
    struct http_route routes[MCP_HTTP_ROUTE_COUNT];
    mcp_http_routes("/mcp", routes);
    char buf[64];
    struct http_server_options o = {
        .listen = listen_address(q->listen, buf, sizeof buf), .token = token,
        .max_connections = 64, .max_body = MCP_RPC_MAX_MESSAGE, .max_headers = 64,
        .idle_timeout_s = 60, .threads = 4, .routes = routes,
        .route_count = MCP_HTTP_ROUTE_COUNT,
    };
    struct http_server *server = NULL;
    error_clear(&e);
    rc = mcp_http_new(&endpoint, &ho, &e);
    o.ctx = endpoint;
    if (rc == 0)
        rc = http_server_start(&server, &o, &e);
    if (rc == 0) {
        /* The port bound is said too, for --listen ADDR:0. */
        fprintf(stderr, "gpuctl: MCP over Streamable HTTP at /mcp on %s, port %u\n",
                o.listen, http_server_port(server));
        int sig;
        sigwait(&stop, &sig);
        http_server_stop(server);
    }
    mcp_http_free(endpoint);
    free(token);
    return rc < 0 ? cli_fail(&e) : EXIT_OK;
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
    if ((q.listen || q.token_file) && !q.http)
        return cli_usage_error("mcp", "--listen and --token-file belong to --http");
    struct mcp_cli m = {0};
    if ((rc = cli_load_config(&m.ctx, &common)))
        return rc;
    struct mcp_env env = {
        .snapshot = take_snapshot, .release = release_snapshot, .ctx = &m,
        .options_table = cli_option_table, .cfg = &m.ctx.cfg,
    };
    struct mcp_server_options o = {.read_only = q.read_only, .env = &env,
                                   .server_version = GPUCTL_VERSION};
    int out;
    if (q.http) {
        out = serve_http(&m, &q, &o);
    } else {
        struct mcp_server *server;
        struct error e = {0};
        if (mcp_server_new(&server, &o, &e) < 0)
            return cli_fail(&e);
        cli_log(&m.ctx, LOG_INFO, "MCP server ready on stdin/stdout%s",
                q.read_only ? " (read-only)" : "");
        rc = mcp_stdio_run(server, STDIN_FILENO, STDOUT_FILENO, &e);
        mcp_server_free(server);
        /* The client going away (EPIPE) is its choice, not our failure. */
        out = rc < 0 && rc != -EPIPE ? cli_fail(&e) : EXIT_OK;
    }
    feed_stop(m.feed);
    return out;
}
