/* http_route.c - mounts MCP's Streamable HTTP transport (mcp/http.c) on
 * gpuctl's HTTP layer (net/http.c): reads the headers the transport needs,
 * decides Origin and the bearer token the way every other route of the
 * server does, and turns the transport's answer into a reply.
 *
 * The routes are of READ access: on a loopback address anyone may list and
 * read (a non-loopback server wants the token for everything, as the HTTP
 * layer rules), and a tool that changes anything is refused, request by
 * request, unless the token came with it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/http_route.h"

int mcp_http_route_handle(void *ctx, const struct http_request *req, struct http_reply *out,
                          struct error *e)
{
    struct mcp_http_request r = {
        .method = req->method,
        .accept = http_request_header(req, "Accept"),
        .content_type = http_request_header(req, "Content-Type"),
        .session_id = http_request_header(req, "Mcp-Session-Id"),
        .protocol_version = http_request_header(req, "Mcp-Protocol-Version"),
        .origin_ok = http_request_origin_allowed(req),
        .authorized = http_request_has_token(req),
        .body = req->body,
        .body_len = req->body_len,
    };
    struct mcp_http_response resp;
    if (mcp_http_handle(ctx, &r, &resp) < 0)
        return error_set(e, -ENOMEM, "out of memory answering an MCP request");
    out->status = resp.status;
    out->content_type = resp.content_type;
    out->body = resp.body ? net_blob_copy(resp.body, resp.body_len) : NULL;
    free(resp.body);
    if (resp.body && !out->body)
        return error_set(e, -ENOMEM, "out of memory answering an MCP request");
    if (resp.session_id[0]) {
        out->header_name = "Mcp-Session-Id";
        snprintf(out->header_value, sizeof out->header_value, "%s", resp.session_id);
    } else if (resp.allow) {
        out->header_name = "Allow";
        snprintf(out->header_value, sizeof out->header_value, "%s", resp.allow);
    }
    return 0;
}

static int health(void *ctx, const struct http_request *req, struct http_reply *out,
                  struct error *e)
{
    (void)req;
    char text[128];
    int n = snprintf(text, sizeof text, "{\"status\":\"ok\",\"sessions\":%zu}",
                     mcp_http_session_count(ctx));
    out->body = net_blob_copy(text, (size_t)n);
    return out->body ? 0 : error_set(e, -ENOMEM, "out of memory answering /health");
}

void mcp_http_routes(const char *path, struct http_route out[MCP_HTTP_ROUTE_COUNT])
{
    out[0] = (struct http_route){"POST", path, HTTP_ACCESS_READ, mcp_http_route_handle};
    out[1] = (struct http_route){"GET", path, HTTP_ACCESS_READ, mcp_http_route_handle};
    out[2] = (struct http_route){"DELETE", path, HTTP_ACCESS_READ, mcp_http_route_handle};
    out[3] = (struct http_route){"GET", "/health", HTTP_ACCESS_READ, health};
}
