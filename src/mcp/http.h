/* http.h - MCP's Streamable HTTP transport, without the HTTP server: what
 * one request to the MCP endpoint is answered with, given its method,
 * headers and body.  The HTTP layer (net/http.h) is mounted on it by
 * mcp/http_route.c; this half holds the sessions and the rules.
 *
 * The rules (Streamable HTTP, 2025-03-26 to 2025-11-25, and the stateless
 * requests of 2026-07-28):
 * - POST carries one JSON-RPC message (or a batch in a 2025-03-26
 *   session); Accept must name application/json and text/event-stream
 *   (406 otherwise), Content-Type application/json (415).  Requests are
 *   answered with application/json; a body of only notifications or
 *   responses with 202 and no body.
 * - initialize opens a session: the answer carries MCP-Session-Id.  Every
 *   later request must carry it: 400 without, 404 for one that is unknown
 *   or ended.  DELETE with it ends the session.
 * - MCP-Protocol-Version, when given, must be a version we speak and, in
 *   a session, the negotiated one (400 otherwise); without it 2025-03-26
 *   is assumed, as the transport says.
 * - A request carrying its protocol version in _meta needs no session
 *   (2026-07-28); the header must then equal _meta's version (400, code
 *   -32020, otherwise).
 * - GET is 405: the server sends nothing unasked, so it opens no stream.
 * - An Origin header that does not name this server is 403; that check is
 *   the caller's (it knows the Host), passed in as origin_ok.
 * - Tools that change anything need the bearer token (authorized).
 *
 * Thread use: any thread; sessions are locked one at a time.
 */
#ifndef GPUCTL_MCP_HTTP_H
#define GPUCTL_MCP_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "mcp/server.h"

#define MCP_HTTP_MAX_SESSIONS 256

struct mcp_http_options {
    bool read_only;
    const struct mcp_env *env;
    const char *server_version;
    unsigned max_sessions;         /* 0: MCP_HTTP_MAX_SESSIONS; the idlest goes first */
};

struct mcp_http_request {
    const char *method;            /* "POST", "GET", "DELETE", ... */
    const char *accept, *content_type, *session_id, *protocol_version;   /* NULL: absent */
    bool origin_ok;                /* no Origin, or one naming this server */
    bool authorized;               /* carries the server's bearer token */
    const char *body;
    size_t body_len;
};

struct mcp_http_response {
    unsigned status;
    const char *content_type;      /* static; NULL with no body */
    char *body;                    /* malloc'd; NULL for none */
    size_t body_len;
    char session_id[40];           /* MCP-Session-Id to send; "" for none */
    const char *allow;             /* the Allow header of a 405; NULL otherwise */
};

struct mcp_http;

int mcp_http_new(struct mcp_http **out, const struct mcp_http_options *o, struct error *e);
void mcp_http_free(struct mcp_http *h);           /* accepts NULL */

/* Answers one request into out (free out->body).  Returns 0, or -ENOMEM. */
int mcp_http_handle(struct mcp_http *h, const struct mcp_http_request *req,
                    struct mcp_http_response *out);

/* Sessions open now (for tests and /health). */
size_t mcp_http_session_count(struct mcp_http *h);

#endif
