/* mcp.c - `gpuctl mcp`: the MCP server (src/mcp) for AI assistants, on
 * stdin and stdout, or with --http over Streamable HTTP on gpuctl's HTTP
 * layer (net/http.h) at /mcp, with GET /health.
 *
 * This front end loads the configuration and gives the server its
 * environment: GPU state from one feed (mcp/feed_env.h), started at the
 * first request that needs it so the server answers initialize at once
 * (--http starts it before serving), and the option tables its tools are
 * described by.  stdout carries protocol messages only; every diagnostic
 * goes to stderr.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "mcp/feed_env.h"
#include "mcp/jsonrpc.h"
#include "mcp/server.h"
#include "mcp/stdio.h"
#include "net/mcp_route.h"
#include "version.h"

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
static int serve_http(struct cli_ctx *ctx, struct mcp_feed_env *fe,
                      const struct mcp_request *q, const struct mcp_server_options *so)
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
    if (mcp_feed_env_start(fe, &e) < 0)
        cli_log(ctx, LOG_WARN, "serving without GPU state: %s", e.msg);
    struct mcp_http *endpoint = NULL;
    struct mcp_http_options ho = {.read_only = so->read_only, .env = so->env,
                                  .server_version = so->server_version};
    struct http_route routes[MCP_ROUTE_COUNT];
    mcp_route_table("/mcp", routes);
    char buf[64];
    struct http_server_options o = {
        .listen = listen_address(q->listen, buf, sizeof buf), .token = token,
        .max_connections = 64, .max_body = MCP_RPC_MAX_MESSAGE, .max_headers = 64,
        .idle_timeout_s = 60, .threads = 4, .routes = routes,
        .route_count = MCP_ROUTE_COUNT,
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
    struct cli_ctx ctx = {0};
    if ((rc = cli_load_config(&ctx, &common)))
        return rc;
    /* The feed starts at the first request that needs GPU state, so
     * initialize is answered before any source is opened. */
    struct mcp_feed_env fe;
    mcp_feed_env_init(&fe, NULL, &ctx.cfg, cli_option_table);
    struct mcp_server_options o = {.read_only = q.read_only, .env = &fe.env,
                                   .server_version = GPUCTL_VERSION};
    int out;
    if (q.http) {
        out = serve_http(&ctx, &fe, &q, &o);
    } else {
        struct mcp_server *server;
        struct error e = {0};
        if (mcp_server_new(&server, &o, &e) < 0)
            return cli_fail(&e);
        cli_log(&ctx, LOG_INFO, "MCP server ready on stdin/stdout%s",
                q.read_only ? " (read-only)" : "");
        rc = mcp_stdio_run(server, STDIN_FILENO, STDOUT_FILENO, &e);
        mcp_server_free(server);
        /* The client going away (EPIPE) is its choice, not our failure. */
        out = rc < 0 && rc != -EPIPE ? cli_fail(&e) : EXIT_OK;
    }
    mcp_feed_env_clear(&fe);
    return out;
}
