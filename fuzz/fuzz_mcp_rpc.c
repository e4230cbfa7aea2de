/* fuzz_mcp_rpc.c - feeds arbitrary bytes to the MCP server as one message,
 * both before initialize and in a 2025-03-26 session (where batch arrays
 * are allowed), with a snapshot source that always fails; and as the body
 * of a POST to the Streamable HTTP endpoint, without a session (where it
 * may be a stateless request or initialize) and in one.
 *
 * Besides memory errors it checks the server's promises, aborting when one
 * is broken: every reply is one JSON text without a newline, an object or
 * (in the batch session only) an array of objects, each with "jsonrpc":
 * "2.0" and either a result or an error whose code is an integer, and no
 * reply ever carries "id": null.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mcp/http.h"
#include "mcp/server.h"

static void check(bool ok)
{
    if (!ok)
        abort();
}

static int no_snapshot(void *ctx, bool fresh, const struct snapshot **out, void **token,
                       struct error *e)
{
    (void)ctx;
    (void)fresh;
    *out = NULL;
    *token = NULL;
    return error_set(e, -ENODEV, "no GPU source while fuzzing");
}

static const struct mcp_env env = {.snapshot = no_snapshot};

static void check_message(const json_t *m)
{
    check(json_is_object(m));
    const json_t *v = json_object_get(m, "jsonrpc");
    check(json_is_string(v) && strcmp(json_string_value(v), "2.0") == 0);
    const json_t *id = json_object_get(m, "id");
    check(!id || json_is_string(id) || json_is_integer(id));
    const json_t *err = json_object_get(m, "error");
    check((json_object_get(m, "result") != NULL) != (err != NULL));
    check(!err || json_is_integer(json_object_get(err, "code")));
}

static void run(const uint8_t *data, size_t size, const char *version)
{
    struct mcp_server *s;
    struct mcp_server_options o = {.env = &env, .server_version = "fuzz"};
    struct error e = {0};
    if (mcp_server_new(&s, &o, &e) < 0)
        return;
    char *reply;
    size_t len;
    if (version) {
        char init[256];
        snprintf(init, sizeof init, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\","
                 "\"params\":{\"protocolVersion\":\"%s\"}}", version);
        if (mcp_server_handle(s, init, strlen(init), &reply, &len) == 0)
            free(reply);
    }
    if (mcp_server_handle(s, (const char *)data, size, &reply, &len) == 0 && reply) {
        check(strlen(reply) == len && !memchr(reply, '\n', len));
        json_t *r = json_loadb(reply, len, 0, NULL);
        check(r != NULL);
        if (json_is_array(r)) {
            check(version && strcmp(version, "2025-03-26") == 0 && json_array_size(r) > 0);
            size_t i;
            json_t *m;
            json_array_foreach(r, i, m)
                check_message(m);
        } else {
            check_message(r);
        }
        json_decref(r);
        free(reply);
    }
    mcp_server_free(s);
}

/* One POST of data; the status is one the transport gives, and a body
 * (when there is one) is JSON. */
static void post(struct mcp_http *h, const uint8_t *data, size_t size, const char *session,
                 char *session_out)
{
    struct mcp_http_request req = {
        .method = "POST", .accept = "application/json, text/event-stream",
        .content_type = "application/json", .session_id = session,
        .protocol_version = session ? NULL : "2026-07-28", .origin_ok = true,
        .body = (const char *)data, .body_len = size,
    };
    struct mcp_http_response out;
    if (mcp_http_handle(h, &req, &out) < 0)
        return;
    static const unsigned statuses[] = {200, 202, 400, 404, 500};
    bool known = false;
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        known = known || out.status == statuses[i];
    check(known);
    check((out.body == NULL) == (out.status == 202));
    if (out.body) {
        json_t *r = json_loadb(out.body, out.body_len, 0, NULL);
        check(r != NULL);
        json_decref(r);
    }
    if (session_out)
        memcpy(session_out, out.session_id, sizeof out.session_id);
    free(out.body);
}

static void run_http(const uint8_t *data, size_t size)
{
    struct mcp_http *h;
    struct mcp_http_options o = {.env = &env, .server_version = "fuzz", .max_sessions = 2};
    struct error e = {0};
    if (mcp_http_new(&h, &o, &e) < 0)
        return;
    post(h, data, size, NULL, NULL);
    static const char init[] = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\","
                               "\"params\":{\"protocolVersion\":\"2025-03-26\"}}";
    char session[40] = "";
    post(h, (const uint8_t *)init, sizeof init - 1, NULL, session);
    check(strlen(session) == 32);
    post(h, data, size, session, NULL);
    mcp_http_free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run(data, size, NULL);
    run(data, size, "2025-03-26");
    run_http(data, size);
    return 0;
}
