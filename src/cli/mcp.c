/* mcp.c - `gpuctl mcp`: the MCP server on stdin and stdout (src/mcp), for
 * AI assistants.
 *
 * This front end loads the configuration, opens the GPU sources once and
 * gives the server its environment: a snapshot with the GPU processes and
 * their owners and command lines, taken when a tool or resource asks (so
 * a kill decision is never made on old data), and the option tables its
 * tools are described by.  stdout carries protocol messages only; every
 * diagnostic goes to stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "core/snapshot.h"
#include "mcp/server.h"
#include "mcp/stdio.h"
#include "version.h"

struct mcp_cli {
    struct cli_ctx ctx;
    struct snapshot_ctx *sctx;     /* opened at the first request that needs it */
    struct error open_error;       /* why it could not be opened */
    bool open_tried;
};

static int take_snapshot(void *arg, const struct snapshot **out, void **token,
                         struct error *e)
{
    struct mcp_cli *m = arg;
    if (!m->open_tried) {
        m->open_tried = true;
        if (snapshot_ctx_open(&m->sctx, &m->open_error) < 0)
            m->sctx = NULL;
    }
    if (!m->sctx) {
        *e = m->open_error;
        return e->code ? e->code : -ENODEV;
    }
    struct snapshot_options opts = {.processes = true, .host_processes = true,
                                    .host_fields = SNAPSHOT_HOST_USER | SNAPSHOT_HOST_CMDLINE};
    struct snapshot *s = NULL;
    int rc = snapshot_take(m->sctx, &opts, &s, e);
    *out = s;
    *token = s;
    return rc;
}

static void release_snapshot(void *arg, void *token)
{
    (void)arg;
    snapshot_free(token);
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
    snapshot_ctx_close(m.sctx);
    if (rc == -EPIPE)
        return EXIT_OK;     /* the client went away: its choice, not our failure */
    return rc < 0 ? cli_fail(&e) : EXIT_OK;
}
