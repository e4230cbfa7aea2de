/* agent.c - `gpuctl agent`: the command-line front of a cluster node
 * (src/cluster/agent.c does the work).
 *
 * Reads the options and the token, blocks SIGINT and SIGTERM into a
 * signalfd that stops the agent, and prints what the agent reports at the
 * configured log level.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "cluster/agent.h"

#define AGENT_DEFAULT_INTERVAL_S 5.0
#define AGENT_BACKOFF_MAX_S 60.0

static void agent_log(void *cls, enum log_level level, const char *message)
{
    cli_log(cls, level, "%s", message);
}

static int run_agent(struct cluster_agent_options *o)
{
    if ((o->stop_fd = cli_stop_signal_fd("agent")) < 0)
        return EXIT_GENERAL;
    struct error e = {0};
    int rc = cluster_agent_run(o, &e);
    close(o->stop_fd);
    return rc < 0 ? cli_fail(&e) : EXIT_OK;
}

int cmd_agent(int argc, char **argv)
{
    struct agent_request q = {0};
    struct options_parsed parsed;
    struct cli_common common = {0};
    int rc = cli_parse_options(&agent_options, argc, argv, &q, &parsed, &common);
    if (rc) {
        options_parsed_clear(&parsed);
        return rc < 0 ? EXIT_OK : rc;
    }
    struct cli_ctx ctx;
    char *token = NULL;
    rc = cli_load_config(&ctx, &common);
    if (rc == 0 && !q.coordinator)
        rc = cli_usage_error("agent", "--coordinator URL is required");
    if (rc == 0)
        rc = cli_read_token("agent", q.token_file, &token);
    if (rc == 0) {
        struct cluster_agent_options o = {
            .coordinator = q.coordinator, .token = token, .node_id = q.node_id,
            .api_url = q.api_url,
            .feed = {
                .interval_s = q.interval > 0 ? q.interval : AGENT_DEFAULT_INTERVAL_S,
                .snap = {.processes = true, .host_processes = true,
                         .host_fields = SNAPSHOT_HOST_ALL},
                .timeout_s = ctx.cfg.default_timeout_secs,
                .cache_identities = true,
            },
            .timeout_s = ctx.cfg.default_timeout_secs,
            .backoff_max_s = AGENT_BACKOFF_MAX_S,
            .log = agent_log, .cls = &ctx,
        };
        rc = run_agent(&o);
    }
    free(token);
    options_parsed_clear(&parsed);
    return rc;
}
