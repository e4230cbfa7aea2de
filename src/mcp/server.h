/* server.h - the MCP protocol: one server per client connection (the stdio
 * process, or one Streamable HTTP session), fed message texts by a
 * transport and answering with message texts.
 *
 * A dual-era server (MCP 2026-07-28, "Versioning"): a client that opens
 * with `initialize` gets the legacy, session-based revision it negotiates
 * (2025-11-25, 2025-06-18, 2025-03-26 or 2024-11-05); a request that
 * carries `_meta["io.modelcontextprotocol/protocolVersion"]` is served
 * statelessly by revision 2026-07-28, with or without an `initialize`
 * before it.  docs/mcp.md lists what is implemented of each revision.
 *
 * Thread use: one thread at a time per server.
 */
#ifndef GPUCTL_MCP_SERVER_H
#define GPUCTL_MCP_SERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "mcp/catalog.h"

#define MCP_VERSION_MODERN "2026-07-28"
#define MCP_VERSION_LATEST_LEGACY "2025-11-25"

struct mcp_server_options {
    bool read_only;                /* only the tools that change nothing are offered */
    const struct mcp_env *env;     /* borrowed; outlives the server */
    const char *server_version;    /* serverInfo.version ("0.1.0 (abc123)") */
};

struct mcp_server;

/* Returns 0 or -ENOMEM with e filled.  Free with mcp_server_free (accepts
 * NULL). */
int mcp_server_new(struct mcp_server **out, const struct mcp_server_options *o,
                   struct error *e);
void mcp_server_free(struct mcp_server *s);

/* Handles one message text (a message or a batch array).  *reply receives
 * the text to send back (malloc'd, compact JSON without a newline) or NULL
 * when nothing is answered (notifications, responses, cancelled requests).
 * Returns 0, or -ENOMEM (nothing is answered then). */
int mcp_server_handle(struct mcp_server *s, const char *buf, size_t len, char **reply,
                      size_t *reply_len);

/* The same for a decoded message: *reply is a new reference or NULL. */
int mcp_server_handle_json(struct mcp_server *s, json_t *msg, json_t **reply);

/* Whether the requests handled next carry the bearer token of an HTTP
 * server: without it a tool that changes anything fails (isError).  A
 * new server is authorized (stdio needs no token). */
void mcp_server_set_authorized(struct mcp_server *s, bool authorized);

/* The legacy revision initialize negotiated, or NULL before initialize. */
const char *mcp_server_negotiated(const struct mcp_server *s);

/* Whether text is a version this server speaks (legacy or modern). */
bool mcp_server_version_supported(const char *version);

/* Whether the text of one message may be a notifications/cancelled
 * (a cheap test, for transports that act on cancellations first). */
bool mcp_server_maybe_cancel(const char *buf, size_t len);

#endif
