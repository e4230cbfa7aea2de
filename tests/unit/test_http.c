/* test_http.c - the HTTP layer and the WebSocket loop over real loopback
 * sockets: routes, 404/405, JSON errors, the token (401 without, 403 wrong,
 * reads open on loopback), Origin on state changes and /ws, body and header
 * bounds, a non-loopback bind refused without a token, and a WebSocket
 * client that gets the greeting and each broadcast, a pong for its ping and
 * a close answered with its own code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/http.h"
#include "net/ws.h"
#include "net/wsloop.h"

struct world {
    struct http_server *http;
    struct wsloop *ws;
    int watch_fd;
    unsigned port;
    int changes;
};

static int echo_route(void *ctx, const struct http_request *req, struct http_reply *out,
                      struct error *e)
{
    (void)ctx;
    (void)e;
    char buf[256];
    const char *q = http_request_query(req, "q");
    snprintf(buf, sizeof buf, "{\"path\":\"%s\",\"param\":\"%s\",\"q\":\"%s\",\"body\":%zu}\n",
             req->path, req->param ? req->param : "", q ? q : "", req->body_len);
    out->body = net_blob_copy(buf, strlen(buf));
    return 0;
}

static int change_route(void *ctx, const struct http_request *req, struct http_reply *out,
                        struct error *e)
{
    (void)req;
    (void)out;
    struct world *w = ctx;
    w->changes++;
    return error_set(e, -ENOENT, "no process 4242 to kill");
}

/* A route of another module, with its own ctx (route_ctx). */
static int owned_route(void *ctx, const struct http_request *req, struct http_reply *out,
                       struct error *e)
{
    (void)e;
    char buf[256];
    snprintf(buf, sizeof buf, "{\"owner\":\"%s\",\"param\":\"%s\"}\n", (const char *)ctx,
             req->param);
    out->body = net_blob_copy(buf, strlen(buf));
    return 0;
}

static const struct http_route routes[] = {
    {"GET", "/echo", HTTP_ACCESS_READ, echo_route},
    {"GET", "/items/{}", HTTP_ACCESS_READ, echo_route},
    {"POST", "/change", HTTP_ACCESS_CHANGE, change_route},
    {"GET", "/items/{}/owner", HTTP_ACCESS_READ, owned_route},
};
static char other_module[] = "other";
static void *const route_ctx[] = {NULL, NULL, NULL, other_module};

static struct net_blob *next_message(void *ctx)
{
    struct world *w = ctx;
    uint64_t v;
    if (read(w->watch_fd, &v, sizeof v) < 0)
        return NULL;
    return wsloop_text_frame("tick", 4);
}

static struct net_blob *greeting(void *ctx)
{
    (void)ctx;
    return wsloop_text_frame("hello", 5);
}

static void upgraded(void *ctx, int fd, const char *extra, size_t n, struct http_upgraded *up)
{
    struct world *w = ctx;
    wsloop_add(w->ws, fd, extra, n, up);
}

static int start(void **state, const char *token)
{
    struct world *w = calloc(1, sizeof *w);
    struct error e = {0};
    w->watch_fd = eventfd(0, EFD_NONBLOCK);
    struct wsloop_options wo = {.max_message = 1024, .watch_fd = w->watch_fd,
                                .on_watch = next_message, .greeting = greeting, .ctx = w};
    assert_int_equal(wsloop_start(&w->ws, &wo, &e), 0);
    struct http_server_options o = {
        .listen = "127.0.0.1:0", .token = token, .max_connections = 64, .max_body = 100,
        .max_headers = 20, .idle_timeout_s = 10, .threads = 1, .routes = routes,
        .route_count = 4, .route_ctx = route_ctx, .ws_path = "/ws", .on_upgrade = upgraded, .ctx = w,
    };
    assert_int_equal(http_server_start(&w->http, &o, &e), 0);
    w->port = http_server_port(w->http);
    assert_true(w->port > 0);
    *state = w;
    return 0;
}

static int start_with_token(void **state)
{
    return start(state, "s3cret");
}

static int start_without_token(void **state)
{
    return start(state, NULL);
}

static int stop(void **state)
{
    struct world *w = *state;
    http_server_quiesce(w->http);
    wsloop_stop(w->ws);
    http_server_stop(w->http);
    close(w->watch_fd);
    free(w);
    return 0;
}

static int dial(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* True when buf holds a whole response: its head and Content-Length bytes. */
static bool response_complete(const char *buf, size_t len)
{
    const char *end = strstr(buf, "\r\n\r\n");
    const char *cl = strcasestr(buf, "\r\nContent-Length:");
    if (!end || !cl || cl > end)
        return false;
    return len >= (size_t)(end + 4 - buf) + strtoul(cl + 17, NULL, 10);
}

/* Reads one response (or until the peer closes); returns a malloc'd string. */
static char *read_all(int fd)
{
    size_t cap = 65536, len = 0;
    char *buf = calloc(1, cap);
    while (len + 1 < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) <= 0)
            break;
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        if (response_complete(buf, len))
            break;
    }
    return buf;
}

/* One request on its own connection; returns the whole response. */
static char *request(unsigned port, const char *text)
{
    int fd = dial(port);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    char *r = read_all(fd);
    close(fd);
    return r;
}

/* Reads the response head byte by byte, so no frame after it is taken. */
static char *read_head(int fd)
{
    size_t len = 0;
    char *buf = calloc(1, 4096);
    while (len < 4095 && !strstr(buf, "\r\n\r\n")) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) <= 0 || read(fd, buf + len, 1) != 1)
            break;
        len++;
    }
    return buf;
}

static void expect(unsigned port, const char *req, const char *status, const char *body_part)
{
    char *r = request(port, req);
    if (strncmp(r, status, strlen(status)) != 0 || (body_part && !strstr(r, body_part)))
        fail_msg("%s -> %s", req, r);
    free(r);
}

static void test_routes_params_and_queries(void **state)
{
    struct world *w = *state;
    expect(w->port, "GET /echo?q=a%20b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
           "HTTP/1.1 200", "\"q\":\"a b\"");
    expect(w->port, "GET /items/17 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
           "HTTP/1.1 200", "\"param\":\"17\"");
    expect(w->port, "GET /items/17/more HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
           "HTTP/1.1 404", "{\"error\":{\"code\":\"not_found\"");
    expect(w->port, "DELETE /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
           "HTTP/1.1 405", "method_not_allowed");
    /* A segment in the middle, and a route with a ctx of its own. */
    expect(w->port, "GET /items/n-1/owner HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
           "HTTP/1.1 200", "{\"owner\":\"other\",\"param\":\"n-1\"}");
    expect(w->port, "GET /items//owner HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
           "HTTP/1.1 404", "not_found");
    expect(w->port, "GET /items/n-1/owners HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
           "HTTP/1.1 404", "not_found");
    char *r = request(w->port, "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_non_null(strstr(r, "Content-Type: application/json"));
    assert_non_null(strstr(r, "X-Content-Type-Options: nosniff"));
    free(r);
}

static void test_state_changes_need_a_token_the_server_has(void **state)
{
    struct world *w = *state;
    expect(w->port, "POST /change HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                    "Connection: close\r\n\r\n",
           "HTTP/1.1 403", "without a token");
    assert_int_equal(w->changes, 0);
}

static void test_token_checks(void **state)
{
    struct world *w = *state;
    expect(w->port, "POST /change HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                    "Connection: close\r\n\r\n",
           "HTTP/1.1 401", "Authorization: Bearer");
    expect(w->port, "POST /change HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cre\r\n"
                    "Content-Length: 0\r\nConnection: close\r\n\r\n",
           "HTTP/1.1 403", "not this server's");
    assert_int_equal(w->changes, 0);
    /* the right token reaches the handler, whose error maps to 404 */
    expect(w->port, "POST /change HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\n"
                    "Content-Length: 0\r\nConnection: close\r\n\r\n",
           "HTTP/1.1 404", "\"message\":\"no process 4242 to kill\"");
    assert_int_equal(w->changes, 1);
    /* reads stay open on loopback */
    expect(w->port, "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
           "HTTP/1.1 200", NULL);
    /* another site's page may not change state, even with the token */
    char req[512];
    snprintf(req, sizeof req,
             "POST /change HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nOrigin: http://evil.example\r\n"
             "Authorization: Bearer s3cret\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
             w->port);
    expect(w->port, req, "HTTP/1.1 403", "another site");
    snprintf(req, sizeof req,
             "POST /change HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nOrigin: http://127.0.0.1:%u\r\n"
             "Authorization: Bearer s3cret\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
             w->port, w->port);
    expect(w->port, req, "HTTP/1.1 404", NULL);
    assert_int_equal(w->changes, 2);
}

static void test_bodies_and_headers_are_bounded(void **state)
{
    struct world *w = *state;
    expect(w->port, "POST /change HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n"
                    "Connection: close\r\n\r\n",
           "HTTP/1.1 413", "at most 100 bytes");
    char req[4096] = "GET /echo HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 25; i++)
        snprintf(req + strlen(req), sizeof req - strlen(req), "X-H%d: v\r\n", i);
    strcat(req, "Connection: close\r\n\r\n");
    expect(w->port, req, "HTTP/1.1 431", "header lines");
}

static void test_non_loopback_without_token_is_refused(void **state)
{
    (void)state;
    struct http_server *s = NULL;
    struct error e = {0};
    struct http_server_options o = {.listen = "0.0.0.0:0", .routes = routes, .route_count = 1,
                                    .max_connections = 4, .max_body = 10, .max_headers = 10};
    assert_int_equal(http_server_start(&s, &o, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "without a token"));
    assert_null(s);
    o.listen = "127.0.0.1";
    assert_int_equal(http_server_start(&s, &o, &e), -EINVAL);
    o.listen = "nowhere.example:80";
    assert_int_equal(http_server_start(&s, &o, &e), -EINVAL);
    o.listen = "127.0.0.1:99999";
    assert_int_equal(http_server_start(&s, &o, &e), -EINVAL);
}

/* Reads one server frame; returns its opcode and copies the payload. */
static unsigned read_frame(int fd, char *payload, size_t cap, size_t *len)
{
    uint8_t buf[4096];
    size_t have = 0;
    struct ws_frame_header h;
    for (;;) {
        int rc = ws_frame_header_parse(buf, have, &h);
        if (rc == 1 && have >= h.header_len + h.payload_len)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        assert_int_equal(poll(&p, 1, 5000), 1);
        ssize_t n = read(fd, buf + have, 1);   /* one byte at a time: never past a frame */
        assert_int_equal(n, 1);
        have++;
    }
    assert_false(h.masked);
    assert_true(h.payload_len < cap);
    memcpy(payload, buf + h.header_len, h.payload_len);
    payload[h.payload_len] = '\0';
    *len = h.payload_len;
    return h.opcode;
}

static void send_frame(int fd, unsigned opcode, const void *payload, size_t len)
{
    uint8_t buf[256];
    const uint8_t mask[4] = {1, 2, 3, 4};
    size_t n = ws_frame_header_write(buf, true, opcode, len);
    buf[1] |= 0x80;
    memcpy(buf + n, mask, 4);
    memcpy(buf + n + 4, payload, len);
    ws_mask(buf + n + 4, len, mask, 0);
    assert_int_equal(write(fd, buf, n + 4 + len), (ssize_t)(n + 4 + len));
}

static int ws_open(unsigned port, const char *origin)
{
    int fd = dial(port);
    char req[512];
    snprintf(req, sizeof req,
             "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             "Sec-WebSocket-Version: 13\r\n%s%s%s\r\n",
             port, origin ? "Origin: " : "", origin ? origin : "", origin ? "\r\n" : "");
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    return fd;
}

static void test_websocket_greeting_broadcast_ping_and_close(void **state)
{
    struct world *w = *state;
    int fd = ws_open(w->port, NULL);
    char *head = read_head(fd);
    assert_non_null(strstr(head, "HTTP/1.1 101"));
    assert_non_null(strstr(head, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    free(head);
    char payload[256];
    size_t len;
    assert_int_equal(read_frame(fd, payload, sizeof payload, &len), WS_OP_TEXT);
    assert_string_equal(payload, "hello");
    uint64_t one = 1;
    assert_int_equal(write(w->watch_fd, &one, sizeof one), 8);
    assert_int_equal(read_frame(fd, payload, sizeof payload, &len), WS_OP_TEXT);
    assert_string_equal(payload, "tick");
    send_frame(fd, WS_OP_PING, "abc", 3);
    assert_int_equal(read_frame(fd, payload, sizeof payload, &len), WS_OP_PONG);
    assert_string_equal(payload, "abc");
    uint8_t close_payload[WS_MAX_CONTROL_PAYLOAD];
    size_t cl = ws_close_payload(close_payload, 4001, "bye");
    send_frame(fd, WS_OP_CLOSE, close_payload, cl);
    assert_int_equal(read_frame(fd, payload, sizeof payload, &len), WS_OP_CLOSE);
    assert_int_equal((uint8_t)payload[0] << 8 | (uint8_t)payload[1], 4001);
    close(fd);
}

static void test_websocket_violations_close_with_their_code(void **state)
{
    struct world *w = *state;
    int fd = ws_open(w->port, NULL);
    free(read_head(fd));
    char payload[256];
    size_t len;
    assert_int_equal(read_frame(fd, payload, sizeof payload, &len), WS_OP_TEXT);
    /* a 2000-byte message is over the 1024-byte limit: refused from its header */
    uint8_t head[WS_MAX_HEADER + 4];
    size_t n = ws_frame_header_write(head, true, WS_OP_TEXT, 2000);
    head[1] |= 0x80;
    memset(head + n, 0, 4);
    assert_int_equal(write(fd, head, n + 4), (ssize_t)(n + 4));
    assert_int_equal(read_frame(fd, payload, sizeof payload, &len), WS_OP_CLOSE);
    assert_int_equal((uint8_t)payload[0] << 8 | (uint8_t)payload[1], WS_CLOSE_MESSAGE_TOO_BIG);
    close(fd);
}

static void test_websocket_from_another_site_is_refused(void **state)
{
    struct world *w = *state;
    int fd = ws_open(w->port, "http://evil.example");
    char *r = read_all(fd);
    assert_non_null(strstr(r, "HTTP/1.1 403"));
    free(r);
    close(fd);
    char origin[64];
    snprintf(origin, sizeof origin, "http://127.0.0.1:%u", w->port);
    fd = ws_open(w->port, origin);
    r = read_head(fd);
    assert_non_null(strstr(r, "HTTP/1.1 101"));
    free(r);
    close(fd);
}

static void test_websocket_needs_a_proper_handshake(void **state)
{
    struct world *w = *state;
    expect(w->port, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 400",
           "Upgrade: websocket");
    expect(w->port, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    "Sec-WebSocket-Version: 8\r\n\r\n",
           "HTTP/1.1 426", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_routes_params_and_queries, start_with_token, stop),
        cmocka_unit_test_setup_teardown(test_token_checks, start_with_token, stop),
        cmocka_unit_test_setup_teardown(test_bodies_and_headers_are_bounded, start_with_token,
                                        stop),
        cmocka_unit_test(test_non_loopback_without_token_is_refused),
        cmocka_unit_test_setup_teardown(test_websocket_greeting_broadcast_ping_and_close,
                                        start_with_token, stop),
        cmocka_unit_test_setup_teardown(test_websocket_violations_close_with_their_code,
                                        start_with_token, stop),
        cmocka_unit_test_setup_teardown(test_websocket_from_another_site_is_refused,
                                        start_with_token, stop),
        cmocka_unit_test_setup_teardown(test_websocket_needs_a_proper_handshake,
                                        start_with_token, stop),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    const struct CMUnitTest no_token[] = {
        cmocka_unit_test_setup_teardown(test_state_changes_need_a_token_the_server_has,
                                        start_without_token, stop),
    };
    return rc | cmocka_run_group_tests(no_token, NULL, NULL);
}
