/* mcp_route.h - MCP's Streamable HTTP endpoint (mcp/http.h) on gpuctl's
 * HTTP layer: the handler that reads the headers the transport needs and
 * answers with what it decides.  `gpuctl serve` routes /mcp to it;
 * `gpuctl mcp --http` serves it alone, with GET /health.
 */
#ifndef GPUCTL_NET_MCP_ROUTE_H
#define GPUCTL_NET_MCP_ROUTE_H

#include "mcp/http.h"
#include "net/http.h"

/* Answers one request to the MCP endpoint (POST, GET or DELETE). */
int mcp_route_handle(struct mcp_http *endpoint, const struct http_request *req,
                     struct http_reply *out, struct error *e);

/* {"status":"ok","sessions":N}: GET /health of a server that is only the
 * endpoint. */
int mcp_route_health(struct mcp_http *endpoint, struct http_reply *out, struct error *e);

/* The routes of a server that is only the endpoint (its ctx is the struct
 * mcp_http): POST, GET and DELETE on path, and GET /health.  path must
 * outlive them. */
#define MCP_ROUTE_COUNT 4
void mcp_route_table(const char *path, struct http_route out[MCP_ROUTE_COUNT]);

#endif
