/* test_mcp_http.c - the Streamable HTTP rules of the MCP endpoint without
 * a socket: Accept and Content-Type, sessions issued at initialize and
 * required after it (400 without, 404 unknown or ended), DELETE, 202 for
 * notifications, MCP-Protocol-Version, GET 405, Origin 403, the stateless
 * 2026-07-28 requests and their header, the bearer token for tools that
 * change anything, and the bounded session table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mcp/http.h"
#include "mcp/jsonrpc.h"

static int no_snapshot(void *ctx, bool fresh, const struct snapshot **out, void **token,
                       struct error *e)
{
    (void)ctx;
    (void)fresh;
    *out = NULL;
    *token = NULL;
    return error_set(e, -ENODEV, "no GPU source in this test");
}

static const struct mcp_env env = {.snapshot = no_snapshot};

#define ACCEPT "application/json, text/event-stream"
#define INIT "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":" \
             "{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{}}}"
#define LIST "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}"

static struct mcp_http *endpoint(unsigned max_sessions)
{
    struct mcp_http *h;
    struct mcp_http_options o = {.env = &env, .server_version = "test",
                                 .max_sessions = max_sessions};
    struct error e = {0};
    assert_int_equal(mcp_http_new(&h, &o, &e), 0);
    return h;
}

static struct mcp_http_request post(const char *body, const char *session)
{
    return (struct mcp_http_request){
        .method = "POST", .accept = ACCEPT, .content_type = "application/json",
        .session_id = session, .origin_ok = true, .authorized = true,
        .body = body, .body_len = strlen(body)};
}

/* Handles req; returns the status, *body the decoded body (or NULL). */
static unsigned call(struct mcp_http *h, const struct mcp_http_request *req, json_t **body,
                     char *session)
{
    struct mcp_http_response out;
    assert_int_equal(mcp_http_handle(h, req, &out), 0);
    if (body)
        *body = out.body ? json_loadb(out.body, out.body_len, 0, NULL) : NULL;
    if (session)
        strcpy(session, out.session_id);
    free(out.body);
    return out.status;
}

static char *open_session(struct mcp_http *h)
{
    static char id[40];
    struct mcp_http_request r = post(INIT, NULL);
    assert_int_equal(call(h, &r, NULL, id), 200);
    assert_int_equal(strlen(id), 32);
    return id;
}

static void test_post_needs_both_accept_types_and_json(void **state)
{
    (void)state;
    struct mcp_http *h = endpoint(0);
    struct mcp_http_request r = post(INIT, NULL);
    r.accept = "application/json";
    assert_int_equal(call(h, &r, NULL, NULL), 406);
    r = post(INIT, NULL);
    r.content_type = "text/plain";
    assert_int_equal(call(h, &r, NULL, NULL), 415);
    r = post("{not json", NULL);
    json_t *body;
    assert_int_equal(call(h, &r, &body, NULL), 400);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(body, "error"),
                                                       "code")), MCP_RPC_PARSE_ERROR);
    json_decref(body);
    assert_int_equal(mcp_http_session_count(h), 0);
    mcp_http_free(h);
}

static void test_initialize_issues_a_session_that_later_requests_need(void **state)
{
    (void)state;
    struct mcp_http *h = endpoint(0);
    char id[40];
    strcpy(id, open_session(h));
    struct mcp_http_request r = post(LIST, NULL);
    assert_int_equal(call(h, &r, NULL, NULL), 400);
    r = post(LIST, "0123456789abcdef0123456789abcdef");
    assert_int_equal(call(h, &r, NULL, NULL), 404);
    r = post(LIST, id);
    json_t *body;
    assert_int_equal(call(h, &r, &body, NULL), 200);
    assert_true(json_is_array(json_object_get(json_object_get(body, "result"), "tools")));
    json_decref(body);
    /* A notification is accepted with 202 and no body. */
    r = post("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", id);
    assert_int_equal(call(h, &r, &body, NULL), 202);
    assert_null(body);
    mcp_http_free(h);
}

static void test_delete_ends_the_session(void **state)
{
    (void)state;
    struct mcp_http *h = endpoint(0);
    char id[40];
    strcpy(id, open_session(h));
    struct mcp_http_request r = {.method = "DELETE", .session_id = id, .origin_ok = true};
    assert_int_equal(call(h, &r, NULL, NULL), 204);
    assert_int_equal(call(h, &r, NULL, NULL), 404);
    struct mcp_http_request list = post(LIST, id);
    assert_int_equal(call(h, &list, NULL, NULL), 404);
    r.session_id = NULL;
    assert_int_equal(call(h, &r, NULL, NULL), 400);
    assert_int_equal(mcp_http_session_count(h), 0);
    mcp_http_free(h);
}

static void test_the_protocol_version_header_must_be_the_sessions(void **state)
{
    (void)state;
    struct mcp_http *h = endpoint(0);
    char id[40];
    strcpy(id, open_session(h));
    struct mcp_http_request r = post(LIST, id);
    r.protocol_version = "2025-06-18";
    assert_int_equal(call(h, &r, NULL, NULL), 400);
    r.protocol_version = "1999-01-01";
    assert_int_equal(call(h, &r, NULL, NULL), 400);
    r.protocol_version = "2025-11-25";
    assert_int_equal(call(h, &r, NULL, NULL), 200);
    r.protocol_version = NULL;      /* absent: 2025-03-26 is assumed, and accepted */
    assert_int_equal(call(h, &r, NULL, NULL), 200);
    mcp_http_free(h);
}

static void test_get_is_405_and_a_foreign_origin_403(void **state)
{
    (void)state;
    struct mcp_http *h = endpoint(0);
    struct mcp_http_request r = {.method = "GET", .origin_ok = true};
    struct mcp_http_response out;
    assert_int_equal(mcp_http_handle(h, &r, &out), 0);
    assert_int_equal(out.status, 405);
    assert_string_equal(out.allow, "POST, DELETE");
    free(out.body);
    r = post(INIT, NULL);
    r.origin_ok = false;
    assert_int_equal(call(h, &r, NULL, NULL), 403);
    assert_int_equal(mcp_http_session_count(h), 0);
    mcp_http_free(h);
}

#define MODERN "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\",\"params\":{\"_meta\":" \
               "{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"," \
               "\"io.modelcontextprotocol/clientCapabilities\":{}}}}"

static void test_a_stateless_request_needs_no_session_but_a_matching_header(void **state)
{
    (void)state;
    struct mcp_http *h = endpoint(0);
    struct mcp_http_request r = post(MODERN, NULL);
    json_t *body;
    assert_int_equal(call(h, &r, &body, NULL), 400);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(body, "error"),
                                                       "code")), -32020);
    json_decref(body);
    r.protocol_version = "2026-07-28";
    assert_int_equal(call(h, &r, &body, NULL), 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(body, "result"),
                                                          "resultType")), "complete");
    json_decref(body);
    assert_int_equal(mcp_http_session_count(h), 0);
    mcp_http_free(h);
}

static void test_a_tool_that_changes_anything_needs_the_token(void **state)
{
    (void)state;
    struct mcp_http *h = endpoint(0);
    char id[40];
    strcpy(id, open_session(h));
    struct mcp_http_request r = post("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\","
                                     "\"params\":{\"name\":\"kill_gpu_process\",\"arguments\":"
                                     "{\"pid\":999999}}}", id);
    r.authorized = false;
    json_t *body;
    assert_int_equal(call(h, &r, &body, NULL), 200);
    json_t *result = json_object_get(body, "result");
    assert_true(json_is_true(json_object_get(result, "isError")));
    assert_non_null(strstr(json_string_value(json_object_get(
                               json_array_get(json_object_get(result, "content"), 0), "text")),
                           "bearer token"));
    json_decref(body);
    mcp_http_free(h);
}

static void test_the_session_table_drops_the_idlest_when_full(void **state)
{
    (void)state;
    struct mcp_http *h = endpoint(2);
    char first[40], second[40];
    strcpy(first, open_session(h));
    strcpy(second, open_session(h));
    struct mcp_http_request r = post(LIST, first);     /* first is used again */
    assert_int_equal(call(h, &r, NULL, NULL), 200);
    open_session(h);                                   /* a third: second goes */
    assert_int_equal(mcp_http_session_count(h), 2);
    r = post(LIST, second);
    assert_int_equal(call(h, &r, NULL, NULL), 404);
    r = post(LIST, first);
    assert_int_equal(call(h, &r, NULL, NULL), 200);
    mcp_http_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_post_needs_both_accept_types_and_json),
        cmocka_unit_test(test_initialize_issues_a_session_that_later_requests_need),
        cmocka_unit_test(test_delete_ends_the_session),
        cmocka_unit_test(test_the_protocol_version_header_must_be_the_sessions),
        cmocka_unit_test(test_get_is_405_and_a_foreign_origin_403),
        cmocka_unit_test(test_a_stateless_request_needs_no_session_but_a_matching_header),
        cmocka_unit_test(test_a_tool_that_changes_anything_needs_the_token),
        cmocka_unit_test(test_the_session_table_drops_the_idlest_when_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
