/* fuzz_mcp_rpc.c - feeds arbitrary bytes to the MCP server as one message,
 * both before initialize and in a 2025-03-26 session (where batch arrays
 * are allowed), with a snapshot source that always fails.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run(data, size, NULL);
    run(data, size, "2025-03-26");
    return 0;
}
