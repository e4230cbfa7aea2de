/* http_route.h - the MCP endpoint as routes of gpuctl's HTTP layer
 * (net/http.h): `gpuctl mcp --http` serves them alone, with GET /health.
 */
#ifndef GPUCTL_MCP_HTTP_ROUTE_H
#define GPUCTL_MCP_HTTP_ROUTE_H

#include <stddef.h>

#include "mcp/http.h"
#include "net/http.h"

/* POST, GET and DELETE on path, and GET /health; their handlers take the
 * struct mcp_http as the server's ctx.  path must outlive the routes. */
#define MCP_HTTP_ROUTE_COUNT 4
void mcp_http_routes(const char *path, struct http_route out[MCP_HTTP_ROUTE_COUNT]);

/* The handler of the MCP endpoint, for servers that route themselves:
 * ctx is the struct mcp_http. */
int mcp_http_route_handle(void *ctx, const struct http_request *req, struct http_reply *out,
                          struct error *e);

#endif
