/* test_mcp.c - the MCP server's JSON-RPC layer and protocol: bad JSON,
 * wrong types, ids that are null, unknown methods, notifications without
 * replies, batches only in a 2025-03-26 session, huge messages, version
 * negotiation, the stateless 2026-07-28 requests, cancellation, read-only
 * mode, and the stdio transport over a pipe.  No GPU: the environment's
 * snapshot source fails, so tools answer isError. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcp/catalog.h"
#include "mcp/jsonrpc.h"
#include "mcp/server.h"
#include "mcp/stdio.h"

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

/* A machine of one GPU whose every figure is unknown, named "test GPU". */
static int one_gpu(void *ctx, bool fresh, const struct snapshot **out, void **token,
                   struct error *e)
{
    (void)ctx;
    (void)fresh;
    (void)e;
    static struct device d;
    static struct snapshot s;
    d.index = 0;
    strcpy(d.name, "test GPU");
    s.devices = &d;
    s.device_count = 1;
    *out = &s;
    *token = NULL;
    return 0;
}

static const struct mcp_env gpu_env = {.snapshot = one_gpu};

static struct mcp_server *server(bool read_only)
{
    struct mcp_server *s;
    struct mcp_server_options o = {.read_only = read_only, .env = &env,
                                   .server_version = "test"};
    struct error e = {0};
    assert_int_equal(mcp_server_new(&s, &o, &e), 0);
    return s;
}

/* Sends text; returns the decoded reply (NULL: none). */
static json_t *send_text(struct mcp_server *s, const char *text)
{
    char *reply;
    size_t len;
    assert_int_equal(mcp_server_handle(s, text, strlen(text), &reply, &len), 0);
    if (!reply)
        return NULL;
    assert_int_equal(strlen(reply), len);
    assert_null(strchr(reply, '\n'));
    json_error_t je;
    json_t *r = json_loads(reply, 0, &je);
    assert_non_null(r);
    free(reply);
    return r;
}

static int error_code(const json_t *r)
{
    return (int)json_integer_value(json_object_get(json_object_get(r, "error"), "code"));
}

static void initialize(struct mcp_server *s, const char *version)
{
    char text[512];
    snprintf(text, sizeof text,
             "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":"
             "{\"protocolVersion\":\"%s\",\"capabilities\":{},"
             "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}", version);
    json_t *r = send_text(s, text);
    assert_non_null(json_object_get(r, "result"));
    json_decref(r);
    assert_null(send_text(s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"));
}

static void test_text_that_is_not_json_is_a_parse_error_without_an_id(void **state)
{
    (void)state;
    struct mcp_server *s = server(false);
    json_t *r = send_text(s, "{\"jsonrpc\":\"2.0\",\"id\":1,");
    assert_int_equal(error_code(r), MCP_RPC_PARSE_ERROR);
    assert_null(json_object_get(r, "id"));          /* never "id": null */
    json_decref(r);
    r = send_text(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"ping\"}");
    assert_int_equal(error_code(r), MCP_RPC_PARSE_ERROR);
    json_decref(r);
    mcp_server_free(s);
}

static void test_a_null_or_fractional_id_is_an_invalid_request(void **state)
{
    (void)state;
    struct mcp_server *s = server(false);
    const char *bad[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"ping\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"ping\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *r = send_text(s, bad[i]);
        assert_int_equal(error_code(r), MCP_RPC_INVALID_REQUEST);
        assert_null(json_object_get(r, "id"));
        json_decref(r);
    }
    mcp_server_free(s);
}

static void test_wrong_types_are_refused_with_the_id_echoed(void **state)
{
    (void)state;
    struct mcp_server *s = server(false);
    json_t *r = send_text(s, "{\"jsonrpc\":\"1.0\",\"id\":7,\"method\":\"ping\"}");
    assert_int_equal(error_code(r), MCP_RPC_INVALID_REQUEST);
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 7);
    json_decref(r);
    r = send_text(s, "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":42}");
    assert_int_equal(error_code(r), MCP_RPC_INVALID_REQUEST);
    assert_string_equal(json_string_value(json_object_get(r, "id")), "a");
    json_decref(r);
    r = send_text(s, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"ping\",\"params\":[1]}");
    assert_int_equal(error_code(r), MCP_RPC_INVALID_PARAMS);
    json_decref(r);
    r = send_text(s, "42");
    assert_int_equal(error_code(r), MCP_RPC_INVALID_REQUEST);
    json_decref(r);
    mcp_server_free(s);
}

static void test_an_unknown_method_is_method_not_found(void **state)
{
    (void)state;
    struct mcp_server *s = server(false);
    initialize(s, "2025-11-25");
    json_t *r = send_text(s, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/destroy\"}");
    assert_int_equal(error_code(r), MCP_RPC_METHOD_NOT_FOUND);
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 3);
    json_decref(r);
    mcp_server_free(s);
}

static void test_notifications_and_responses_get_no_reply(void **state)
{
    (void)state;
    struct mcp_server *s = server(false);
    initialize(s, "2025-11-25");
    assert_null(send_text(s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/whatever\"}"));
    assert_null(send_text(s, "{\"jsonrpc\":\"2.0\",\"method\":\"tools/list\"}"));
    assert_null(send_text(s, "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{}}"));
    /* A notification that is malformed is not answered either. */
    assert_null(send_text(s, "{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":3}"));
    mcp_server_free(s);
}

static void test_negotiation_answers_the_clients_version_or_the_newest(void **state)
{
    (void)state;
    const char *asked[] = {"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "1999-01-01",
                           "2026-07-28"};
    const char *got[] = {"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2025-11-25",
                         "2025-11-25"};
    for (size_t i = 0; i < sizeof asked / sizeof asked[0]; i++) {
        struct mcp_server *s = server(false);
        char text[256];
        snprintf(text, sizeof text, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
                 "\"params\":{\"protocolVersion\":\"%s\",\"capabilities\":{}}}", asked[i]);
        json_t *r = send_text(s, text);
        assert_string_equal(json_string_value(json_object_get(json_object_get(r, "result"),
                                                               "protocolVersion")), got[i]);
        assert_string_equal(mcp_server_negotiated(s), got[i]);
        json_decref(r);
        r = send_text(s, text);   /* a second initialize is refused */
        assert_int_equal(error_code(r), MCP_RPC_INVALID_REQUEST);
        json_decref(r);
        mcp_server_free(s);
    }
}

static void test_requests_before_initialize_are_refused_but_ping_works(void **state)
{
    (void)state;
    struct mcp_server *s = server(false);
    json_t *r = send_text(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
    assert_int_equal(error_code(r), MCP_RPC_INVALID_REQUEST);
    json_decref(r);
    r = send_text(s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}");
    assert_true(json_is_object(json_object_get(r, "result")));
    json_decref(r);
    r = send_text(s, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"initialize\",\"params\":{}}");
    assert_int_equal(error_code(r), MCP_RPC_INVALID_PARAMS);
    json_decref(r);
    mcp_server_free(s);
}

static const char batch[] =
    "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},"
    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"},"
    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nope\"}]";

static void test_a_batch_is_answered_only_in_a_2025_03_26_session(void **state)
{
    (void)state;
    struct mcp_server *s = server(false);
    initialize(s, "2025-03-26");
    json_t *r = send_text(s, batch);
    assert_true(json_is_array(r));
    assert_int_equal(json_array_size(r), 2);     /* the notification gets no entry */
    assert_true(json_is_object(json_object_get(json_array_get(r, 0), "result")));
    assert_int_equal(error_code(json_array_get(r, 1)), MCP_RPC_METHOD_NOT_FOUND);
    json_decref(r);
    r = send_text(s, "[]");
    assert_int_equal(error_code(r), MCP_RPC_INVALID_REQUEST);
    json_decref(r);
    assert_null(send_text(s, "[{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"}]"));
    mcp_server_free(s);

    const char *without[] = {"2025-06-18", "2025-11-25", "2024-11-05"};
    for (size_t i = 0; i < 3; i++) {
        s = server(false);
        initialize(s, without[i]);
        r = send_text(s, batch);
        assert_true(json_is_object(r));
        assert_int_equal(error_code(r), MCP_RPC_INVALID_REQUEST);
        json_decref(r);
        mcp_server_free(s);
    }
}

static void test_a_huge_message_is_refused_without_being_parsed(void **state)
{
    (void)state;
    struct mcp_server *s = server(false);
    size_t n = MCP_RPC_MAX_MESSAGE + 10;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, ' ', n);
    big[n] = '\0';
    memcpy(big, "{\"a\":1}", 7);
    json_t *r = send_text(s, big);
    assert_int_equal(error_code(r), MCP_RPC_INVALID_REQUEST);
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(r, "error"),
                                                             "message")), "limit"));
    json_decref(r);
    free(big);
    mcp_server_free(s);
}

static json_t *result_of(json_t *r)
{
    json_t *res = json_object_get(r, "result");
    assert_non_null(res);
    return res;
}

static bool lists_tool(json_t *result, const char *name)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(result, "tools"), i, t)
        if (strcmp(json_string_value(json_object_get(t, "name")), name) == 0)
            return true;
    return false;
}

static void test_tools_carry_what_their_revision_has(void **state)
{
    (void)state;
    struct mcp_server *s = server(false);
    initialize(s, "2024-11-05");
    json_t *r = send_text(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
    json_t *t = json_array_get(json_object_get(result_of(r), "tools"), 0);
    assert_non_null(json_object_get(t, "inputSchema"));
    assert_null(json_object_get(t, "annotations"));
    assert_null(json_object_get(t, "outputSchema"));
    json_decref(r);
    mcp_server_free(s);

    s = server(false);
    initialize(s, "2025-11-25");
    r = send_text(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
    assert_true(lists_tool(result_of(r), "get_gpu_status"));
    t = json_array_get(json_object_get(result_of(r), "tools"), 0);
    assert_true(json_is_true(json_object_get(json_object_get(t, "annotations"),
                                             "readOnlyHint")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(t, "outputSchema"),
                                                          "type")), "object");
    json_decref(r);
    mcp_server_free(s);
}

static void test_a_failed_tool_is_a_result_with_is_error(void **state)
{
    (void)state;
    struct mcp_server *s = server(false);
    initialize(s, "2025-11-25");
    json_t *r = send_text(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                             "\"params\":{\"name\":\"list_gpus\"}}");
    json_t *res = result_of(r);
    assert_true(json_is_true(json_object_get(res, "isError")));
    const char *text = json_string_value(json_object_get(
        json_array_get(json_object_get(res, "content"), 0), "text"));
    assert_string_equal(text, "no GPU source in this test");
    json_decref(r);
    /* A bad argument is the tool's failure too, naming the argument. */
    r = send_text(s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":"
                     "{\"name\":\"get_gpu_status\",\"arguments\":{\"gpu_id\":\"zero\"}}}");
    res = result_of(r);
    assert_true(json_is_true(json_object_get(res, "isError")));
    text = json_string_value(json_object_get(json_array_get(json_object_get(res, "content"), 0),
                                             "text"));
    assert_non_null(strstr(text, "gpu_id"));
    json_decref(r);
    r = send_text(s, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":"
                     "{\"name\":\"list_gpus\",\"arguments\":{\"bogus\":1}}}");
    assert_true(json_is_true(json_object_get(result_of(r), "isError")));
    json_decref(r);
    /* An unknown tool is a protocol error. */
    r = send_text(s, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\","
                     "\"params\":{\"name\":\"format_disk\"}}");
    assert_int_equal(error_code(r), MCP_RPC_INVALID_PARAMS);
    json_decref(r);
    mcp_server_free(s);
}

static void test_an_unknown_resource_is_resource_not_found(void **state)
{
    (void)state;
    struct mcp_server *s = server(false);
    initialize(s, "2025-11-25");
    json_t *r = send_text(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\","
                             "\"params\":{\"uri\":\"gpu://nothing\"}}");
    assert_int_equal(error_code(r), -32002);
    json_decref(r);
    r = send_text(s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"resources/templates/list\"}");
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(
                            result_of(r), "resourceTemplates"), 0), "uriTemplate")),
                        "gpu://gpus/{index}");
    json_decref(r);
    mcp_server_free(s);
}

#define MODERN_META "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"%s\"," \
                    "\"io.modelcontextprotocol/clientCapabilities\":{}}"

static json_t *modern(struct mcp_server *s, const char *method, const char *version)
{
    char text[512];
    snprintf(text, sizeof text, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"%s\",\"params\":{"
             MODERN_META "}}", method, version);
    return send_text(s, text);
}

static void test_a_stateless_request_needs_no_initialize(void **state)
{
    (void)state;
    struct mcp_server *s = server(false);
    json_t *r = modern(s, "server/discover", "2026-07-28");
    json_t *res = result_of(r);
    assert_string_equal(json_string_value(json_object_get(res, "resultType")), "complete");
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(res, "supportedVersions"), 0)), "2026-07-28");
    assert_true(json_is_integer(json_object_get(res, "ttlMs")));
    json_decref(r);
    r = modern(s, "tools/list", "2026-07-28");
    assert_true(lists_tool(result_of(r), "list_gpus"));
    assert_string_equal(json_string_value(json_object_get(result_of(r), "resultType")),
                        "complete");
    json_decref(r);
    r = modern(s, "ping", "2026-07-28");          /* removed in the stateless revision */
    assert_int_equal(error_code(r), MCP_RPC_METHOD_NOT_FOUND);
    json_decref(r);
    assert_null(mcp_server_negotiated(s));
    mcp_server_free(s);
}

static void test_an_unsupported_stateless_version_lists_the_supported_ones(void **state)
{
    (void)state;
    struct mcp_server *s = server(false);
    json_t *r = modern(s, "tools/list", "1900-01-01");
    assert_int_equal(error_code(r), MCP_RPC_UNSUPPORTED_PROTOCOL_VERSION);
    json_t *data = json_object_get(json_object_get(r, "error"), "data");
    assert_string_equal(json_string_value(json_object_get(data, "requested")), "1900-01-01");
    assert_true(json_array_size(json_object_get(data, "supported")) >= 2);
    json_decref(r);
    /* Without clientCapabilities the request is malformed. */
    r = send_text(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{"
                     "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"}}}");
    assert_int_equal(error_code(r), MCP_RPC_INVALID_PARAMS);
    json_decref(r);
    /* server/discover without a version is not a legacy method. */
    r = send_text(s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"server/discover\"}");
    assert_int_equal(error_code(r), MCP_RPC_METHOD_NOT_FOUND);
    json_decref(r);
    mcp_server_free(s);
}

static void test_a_cancelled_request_is_never_answered(void **state)
{
    (void)state;
    struct mcp_server *s = server(false);
    initialize(s, "2025-11-25");
    assert_null(send_text(s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
                             "\"params\":{\"requestId\":\"r1\",\"reason\":\"user\"}}"));
    assert_null(send_text(s, "{\"jsonrpc\":\"2.0\",\"id\":\"r1\",\"method\":\"ping\"}"));
    /* Only that id: the next request with it is answered again. */
    json_t *r = send_text(s, "{\"jsonrpc\":\"2.0\",\"id\":\"r1\",\"method\":\"ping\"}");
    assert_non_null(r);
    json_decref(r);
    mcp_server_free(s);
}

static void test_read_only_offers_only_read_tools(void **state)
{
    (void)state;
    struct mcp_server *s = server(true);
    initialize(s, "2025-11-25");
    json_t *r = send_text(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(result_of(r), "tools"), i, t)
        assert_true(json_is_true(json_object_get(json_object_get(t, "annotations"),
                                                 "readOnlyHint")));
    json_decref(r);
    mcp_server_free(s);
}

/* The stdio transport over pipes: lines in, lines out, a request that a
 * later line of the same read cancels is skipped, and an over-long line is
 * answered once and skipped to its newline. */
static void test_stdio_answers_line_by_line(void **state)
{
    (void)state;
    int in[2], out[2];
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    const char input[] =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
        "{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{}}}\r\n"
        "\n"
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}\n"
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":"
        "{\"requestId\":2}}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}";
    assert_int_equal(write(in[1], input, sizeof input - 1), (ssize_t)(sizeof input - 1));
    close(in[1]);
    struct mcp_server *s = server(false);
    struct error e = {0};
    assert_int_equal(mcp_stdio_run(s, in[0], out[1], &e), 0);
    close(out[1]);
    char buf[8192];
    ssize_t n = read(out[0], buf, sizeof buf - 1);
    assert_true(n > 0);
    buf[n] = '\0';
    /* initialize and ping 3 are answered, ping 2 was cancelled. */
    char *second = strchr(buf, '\n');
    assert_non_null(second);
    assert_non_null(strstr(buf, "\"id\":1"));
    assert_null(strstr(buf, "\"id\":2"));
    assert_non_null(strstr(second + 1, "\"id\":3"));
    assert_string_equal(strchr(second + 1, '\n'), "\n");
    close(in[0]);
    close(out[0]);
    mcp_server_free(s);
}

static void test_stdio_skips_an_over_long_line_and_goes_on(void **state)
{
    (void)state;
    int fd = memfd_create("test-mcp-stdio", 0);   /* a file in memory, nothing on disk */
    assert_true(fd >= 0);
    size_t n = MCP_RPC_MAX_MESSAGE * 2;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, 'x', n);
    assert_int_equal(write(fd, big, n), (ssize_t)n);
    free(big);
    const char tail[] = "\n{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\"}\n";
    assert_int_equal(write(fd, tail, sizeof tail - 1), (ssize_t)(sizeof tail - 1));
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    int out[2];
    assert_int_equal(pipe(out), 0);
    struct mcp_server *s = server(false);
    struct error e = {0};
    assert_int_equal(mcp_stdio_run(s, fd, out[1], &e), 0);
    close(out[1]);
    char buf[4096];
    ssize_t got = read(out[0], buf, sizeof buf - 1);
    assert_true(got > 0);
    buf[got] = '\0';
    assert_non_null(strstr(buf, "-32600"));
    assert_non_null(strstr(buf, "\"id\":4"));
    /* One refusal for the long line, one answer for the ping. */
    assert_non_null(strchr(buf, '\n'));
    assert_string_equal(strchr(strchr(buf, '\n') + 1, '\n'), "\n");
    close(fd);
    close(out[0]);
    mcp_server_free(s);
}

/* A kill table of one option, as src/cli/kill_opts.c has it. */
static const struct options_spec kill_specs[] = {
    {.name = "pid", .type = OPTIONS_LIST, .elem = OPTIONS_UINT, .min = 1, .max = 4194304,
     .what = "a process id", .min_values = 1, .help = "these processes"},
};
static const struct options_command kill_table = {
    .name = "kill", .specs = kill_specs, .count = 1,
};

static const struct options_command *tables(const char *command)
{
    return strcmp(command, "kill") == 0 ? &kill_table : NULL;
}

static void test_arguments_take_range_and_refusals_from_the_option_table(void **state)
{
    (void)state;
    struct mcp_env with_tables = env;
    with_tables.options_table = tables;
    const struct mcp_tool *t = mcp_tool_find("kill_gpu_process");
    assert_non_null(t);
    json_t *schema = mcp_tool_input_schema(t, &with_tables);
    json_t *pid = json_object_get(json_object_get(schema, "properties"), "pid");
    assert_int_equal(json_integer_value(json_object_get(pid, "minimum")), 1);
    assert_int_equal(json_integer_value(json_object_get(pid, "maximum")), 4194304);
    assert_string_equal(json_string_value(json_object_get(pid, "type")), "integer");
    assert_string_equal(json_string_value(json_array_get(json_object_get(schema, "required"),
                                                         0)), "pid");
    assert_true(json_is_false(json_object_get(schema, "additionalProperties")));
    json_decref(schema);

    struct error e = {0};
    json_t *args = json_pack("{s:i}", "pid", 0);
    assert_int_equal(mcp_tool_check_args(t, &with_tables, args, &e), -EINVAL);
    /* The option table's own sentence, naming the argument first. */
    assert_non_null(strstr(e.msg, "argument 'pid'"));
    assert_non_null(strstr(e.msg, "a process id"));
    json_decref(args);
    args = json_pack("{s:b}", "force", 1);
    assert_int_equal(mcp_tool_check_args(t, &with_tables, args, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "needs the argument 'pid'"));
    json_decref(args);
    args = json_pack("{s:i,s:s}", "pid", 42, "force", "yes");
    assert_int_equal(mcp_tool_check_args(t, &with_tables, args, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "'force' must be a boolean"));
    json_decref(args);
    args = json_pack("{s:f}", "pid", 42.0);    /* a whole real is an integer */
    assert_int_equal(mcp_tool_check_args(t, &with_tables, args, &e), 0);
    json_decref(args);
}

/* The reply written as text carries the document once as text and once as
 * structuredContent, exactly as the reply built as an object does. */
static void test_a_tool_result_as_text_equals_the_result_as_an_object(void **state)
{
    (void)state;
    const char *versions[] = {"2025-11-25", "2025-03-26"};
    for (size_t i = 0; i < 2; i++) {
        struct mcp_server *a, *b;
        struct mcp_server_options o = {.env = &gpu_env, .server_version = "test"};
        struct error e = {0};
        assert_int_equal(mcp_server_new(&a, &o, &e), 0);
        assert_int_equal(mcp_server_new(&b, &o, &e), 0);
        initialize(a, versions[i]);
        initialize(b, versions[i]);
        const char *call = "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\","
                           "\"params\":{\"name\":\"list_gpus\"}}";
        json_t *as_text = send_text(a, call);
        json_t *msg = json_loads(call, 0, NULL), *as_object = NULL;
        assert_int_equal(mcp_server_handle_json(b, msg, &as_object), 0);
        assert_true(json_equal(as_text, as_object));
        json_t *result = json_object_get(as_text, "result");
        json_t *doc = json_object_get(result, "structuredContent");
        if (i == 0) {
            const char *text = json_string_value(json_object_get(
                json_array_get(json_object_get(result, "content"), 0), "text"));
            json_t *parsed = json_loads(text, 0, NULL);
            assert_true(json_equal(parsed, doc));
            assert_string_equal(json_string_value(json_object_get(json_array_get(
                                    json_object_get(doc, "gpus"), 0), "name")), "test GPU");
            json_decref(parsed);
        } else {
            assert_null(doc);            /* 2025-03-26 has no structured output */
        }
        json_decref(msg);
        json_decref(as_text);
        json_decref(as_object);
        mcp_server_free(a);
        mcp_server_free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_that_is_not_json_is_a_parse_error_without_an_id),
        cmocka_unit_test(test_a_null_or_fractional_id_is_an_invalid_request),
        cmocka_unit_test(test_wrong_types_are_refused_with_the_id_echoed),
        cmocka_unit_test(test_an_unknown_method_is_method_not_found),
        cmocka_unit_test(test_notifications_and_responses_get_no_reply),
        cmocka_unit_test(test_negotiation_answers_the_clients_version_or_the_newest),
        cmocka_unit_test(test_requests_before_initialize_are_refused_but_ping_works),
        cmocka_unit_test(test_a_batch_is_answered_only_in_a_2025_03_26_session),
        cmocka_unit_test(test_a_huge_message_is_refused_without_being_parsed),
        cmocka_unit_test(test_tools_carry_what_their_revision_has),
        cmocka_unit_test(test_a_failed_tool_is_a_result_with_is_error),
        cmocka_unit_test(test_an_unknown_resource_is_resource_not_found),
        cmocka_unit_test(test_a_stateless_request_needs_no_initialize),
        cmocka_unit_test(test_an_unsupported_stateless_version_lists_the_supported_ones),
        cmocka_unit_test(test_a_cancelled_request_is_never_answered),
        cmocka_unit_test(test_read_only_offers_only_read_tools),
        cmocka_unit_test(test_arguments_take_range_and_refusals_from_the_option_table),
        cmocka_unit_test(test_a_tool_result_as_text_equals_the_result_as_an_object),
        cmocka_unit_test(test_stdio_answers_line_by_line),
        cmocka_unit_test(test_stdio_skips_an_over_long_line_and_goes_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
