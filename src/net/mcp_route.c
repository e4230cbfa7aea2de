/* mcp_route.c - mounts MCP's Streamable HTTP transport (mcp/http.c) on
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

#include "net/mcp_route.h"

int mcp_route_handle(struct mcp_http *endpoint, const struct http_request *req,
                     struct http_reply *out, struct error *e)
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
    if (mcp_http_handle(endpoint, &r, &resp) < 0)
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

int mcp_route_health(struct mcp_http *endpoint, struct http_reply *out, struct error *e)
{
    char text[128];
    int n = snprintf(text, sizeof text, "{\"status\":\"ok\",\"sessions\":%zu}",
                     mcp_http_session_count(endpoint));
    out->body = net_blob_copy(text, (size_t)n);
    return out->body ? 0 : error_set(e, -ENOMEM, "out of memory answering /health");
}

static int route_mcp(void *ctx, const struct http_request *req, struct http_reply *out,
                     struct error *e)
{
    return mcp_route_handle(ctx, req, out, e);
}

static int route_health(void *ctx, const struct http_request *req, struct http_reply *out,
                        struct error *e)
{
    (void)req;
    return mcp_route_health(ctx, out, e);
}

void mcp_route_table(const char *path, struct http_route out[MCP_ROUTE_COUNT])
{
    out[0] = (struct http_route){"POST", path, HTTP_ACCESS_READ, route_mcp};
    out[1] = (struct http_route){"GET", path, HTTP_ACCESS_READ, route_mcp};
    out[2] = (struct http_route){"DELETE", path, HTTP_ACCESS_READ, route_mcp};
    out[3] = (struct http_route){"GET", "/health", HTTP_ACCESS_READ, route_health};
}
