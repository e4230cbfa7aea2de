/* feed_env.h - an MCP environment (struct mcp_env) backed by the one
 * sampling loop (src/feed, ARCHITECTURE.md decision 10): what `gpuctl mcp`
 * uses, and what a server that already runs a feed (`gpuctl serve`) gives
 * its /mcp route.
 *
 * A read takes the feed's newest frame; a kill or reset waits for a frame
 * whose pass began after the request (the feed is kicked for it), so
 * nothing is signalled on data older than the request.  Waiting uses a
 * subscription of the caller's own, so any thread may ask.
 *
 * Thread use: mcp_feed_env_start and mcp_feed_env_clear from the thread
 * that owns the feed; the environment's functions from any thread once the
 * feed is started (or lent).  A lazy environment (stdio) starts its feed
 * at the first request, on the thread that handles requests.
 */
#ifndef GPUCTL_MCP_FEED_ENV_H
#define GPUCTL_MCP_FEED_ENV_H

#include <stdbool.h>

#include "core/config.h"
#include "feed/feed.h"
#include "mcp/catalog.h"

struct mcp_feed_env {
    struct mcp_env env;            /* hand &env to the server */
    struct feed *feed;
    bool own;                      /* the feed is started (and stopped) here */
    bool start_tried;
    struct error start_error;      /* why it could not be started */
};

/* An environment on cfg (timeouts, interval) and tables (the option
 * tables, e.g. cli_option_table; may be NULL).  With feed, that feed is
 * used and never stopped here; without, one is started by
 * mcp_feed_env_start or at the first request. */
void mcp_feed_env_init(struct mcp_feed_env *fe, struct feed *feed, const struct config *cfg,
                       const struct options_command *(*tables)(const char *command));

/* Starts the environment's own feed now (a no-op with a lent one).
 * Returns 0, or the feed's error (kept, and told to every request). */
int mcp_feed_env_start(struct mcp_feed_env *fe, struct error *e);

/* Stops the feed it started; accepts NULL. */
void mcp_feed_env_clear(struct mcp_feed_env *fe);

#endif
