/* http.c - the HTTP layer of gpuctl serve, on libmicrohttpd.
 *
 * libmicrohttpd parses requests, speaks TLS through GnuTLS and serves all
 * connections from a few epoll threads; this file adds what decision 15
 * asks of every gpuctl server: a refusal to listen beyond loopback without
 * a token, the bearer token compared in constant time, browsers' Origin
 * checked before anything changes state or a WebSocket opens, and bounds on
 * bodies, header lines and connections (header bytes are bounded by the
 * per-connection memory limit, idle connections by the timeout).  Errors
 * leave as the project's JSON error document.  Routes and their bodies are
 * the caller's (net/api.c); WebSocket clients are handed to the event loop
 * (net/wsloop.c) right after the 101 answer.
 */
#include "net/http.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "doc/json.h"
#include "net/netlib.h"
#include "net/ws.h"

/* libmicrohttpd's memory per connection: the request head (so it bounds
 * header bytes) and the response head.  It stays with a WebSocket client
 * after the upgrade, so it is most of what a client costs. */
#define HTTP_CONNECTION_MEMORY (16 * 1024)

/* Daemons of one server at most (http_server_options.threads). */
#define HTTP_MAX_DAEMONS 8

struct http_server {
    /* One libmicrohttpd daemon a thread.  With more than one, the acceptor
     * thread takes every connection from the listening socket and gives it
     * to the daemon holding the fewest: libmicrohttpd's own thread pool
     * lets whichever thread wakes first accept, and on a busy machine one
     * thread took 94,371 of 98,972 connections (measured with bench/serve),
     * so one core served and the other waited. */
    struct MHD_Daemon *daemon[HTTP_MAX_DAEMONS];
    unsigned daemons;
    atomic_uint held[HTTP_MAX_DAEMONS];   /* connections each daemon holds */
    unsigned held_limit;                  /* per daemon: max_connections shared out */
    int listen_fd;                        /* the acceptor's; -1 without one */
    int wake_fd;                          /* eventfd: the acceptor stops */
    pthread_t acceptor;
    bool accepting;
    struct http_server_options o;
    bool loopback;
    bool tls;
    uint8_t token_digest[32];  /* SHA-256 of the token, for the constant-time compare */
    bool has_token;
    unsigned port;
    pthread_mutex_t jobs_lock;    /* guards jobs */
    pthread_cond_t jobs_done;
    unsigned jobs;                /* blocking handlers running */
};

struct http_upgraded {
    struct MHD_UpgradeResponseHandle *urh;
};

/* What one request has collected between libmicrohttpd's calls. */
struct request_state {
    char *body;
    size_t len, cap;
    size_t declared;          /* the Content-Length, 0 when none */
    unsigned refuse;          /* a status decided before the body was read */
    struct http_upgraded up;  /* for the WebSocket route */
    bool second_ws;           /* it is ws_path2's */
    /* a blocking handler's run: 1 while its thread runs, 2 when done */
    atomic_int job;
    struct http_server *server;
    struct MHD_Connection *conn;
    const struct http_route *route;
    char *path, *param, *method;
    struct http_reply reply;
    int rc;
    struct error err;
};

/* --- addresses --- */

int http_parse_listen(const char *spec, struct sockaddr_storage *out, socklen_t *len,
                      struct error *e)
{
    char host[256];
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || !colon[1])
        return error_set(e, -EINVAL, "--listen %s: expected ADDRESS:PORT, e.g. 127.0.0.1:8080",
                         spec);
    size_t hlen = (size_t)(colon - spec);
    const char *h = spec;
    if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (hlen >= sizeof host)
        return error_set(e, -EINVAL, "--listen %s: the address is too long", spec);
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end || port > 65535 || colon[1] == '-' || colon[1] == '+')
        return error_set(e, -EINVAL, "--listen %s: the port must be 0 to 65535", spec);

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | AI_PASSIVE};
    if (strcmp(host, "localhost") != 0)
        hints.ai_flags |= AI_NUMERICHOST;
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(host, colon + 1, &hints, &ai);
    if (rc != 0 || !ai)
        return error_set(e, -EINVAL, "--listen %s: \"%s\" is not an IP address", spec, host);
    memset(out, 0, sizeof *out);
    memcpy(out, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

bool http_addr_is_loopback(const struct sockaddr_storage *addr)
{
    if (addr->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (addr->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)addr)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return true;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return false;
}

/* --- replies --- */

unsigned http_status_for_error(int code, const char **name)
{
    static const struct {
        int code;
        unsigned status;
        const char *name;
    } map[] = {
        {-EINVAL, 400, "invalid_argument"},   {-ERANGE, 400, "invalid_argument"},
        {-ERROR_PARSE, 400, "invalid_argument"}, {-EMSGSIZE, 413, "too_large"},
        {-EACCES, 403, "permission_denied"},  {-EPERM, 403, "permission_denied"},
        {-ENOENT, 404, "not_found"},          {-ESRCH, 404, "not_found"},
        {-ENODEV, 404, "not_found"},          {-EEXIST, 409, "conflict"},
        {-EBUSY, 409, "conflict"},            {-ENOTSUP, 422, "unsupported"},
        {-ERROR_GPU_LIBRARY, 503, "gpu_library"}, {-EAGAIN, 503, "unavailable"},
    };
    for (size_t i = 0; i < sizeof map / sizeof *map; i++) {
        if (map[i].code == code) {
            *name = map[i].name;
            return map[i].status;
        }
    }
    *name = "internal";
    return 500;
}

struct net_blob *http_json_blob(json_t *doc)
{
    if (!doc)
        return NULL;
    char *text = json_dumps(doc, doc_json_dump_flags(true));
    json_decref(doc);
    if (!text)
        return NULL;
    size_t n = strlen(text);
    /* one trailing newline, as the CLI's documents end */
    char *withnl = realloc(text, n + 2);
    if (!withnl) {
        free(text);
        return NULL;
    }
    withnl[n] = '\n';
    withnl[n + 1] = '\0';
    return net_blob_take(withnl, n + 1);
}

int http_reply_error(struct http_reply *out, unsigned status, const char *name,
                     const char *message)
{
    net_blob_unref(out->body);
    out->status = status;
    out->content_type = "application/json";
    out->body = http_json_blob(json_pack("{s:{s:s,s:s}}", "error", "code", name, "message",
                                         message));
    return out->body ? 0 : -ENOMEM;
}

static void blob_release(void *cls)
{
    net_blob_unref(cls);
}

/* Queues reply (consuming its body); extra is one more header or NULL. */
static enum MHD_Result send_reply(struct MHD_Connection *c, struct http_reply *reply,
                                  const char *extra_name, const char *extra_value)
{
    struct net_blob *body = reply->body ? reply->body : net_blob_copy("", 0);
    reply->body = NULL;
    if (!body)
        return MHD_NO;
    struct MHD_Response *resp = netlib()->create_response_from_buffer_with_free_callback_cls(
        net_blob_len(body), (void *)net_blob_data(body), blob_release, body);
    if (!resp) {
        net_blob_unref(body);
        return MHD_NO;
    }
    const char *type = reply->content_type ? reply->content_type : "application/json";
    bool own_cache = false;
    bool ok = netlib()->add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type) == MHD_YES &&
              netlib()->add_response_header(resp, "X-Content-Type-Options", "nosniff") == MHD_YES;
    for (size_t i = 0; ok && i < HTTP_REPLY_MAX_HEADERS && reply->headers[i].name; i++) {
        const struct http_header *h = &reply->headers[i];
        own_cache |= strcasecmp(h->name, MHD_HTTP_HEADER_CACHE_CONTROL) == 0;
        ok = netlib()->add_response_header(resp, h->name, h->value) == MHD_YES;
    }
    if (ok && !own_cache)
        ok = netlib()->add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") == MHD_YES;
    if (ok && extra_name)
        ok = netlib()->add_response_header(resp, extra_name, extra_value) == MHD_YES;
    if (ok && reply->header_name)
        ok = netlib()->add_response_header(resp, reply->header_name, reply->header_value) == MHD_YES;
    enum MHD_Result r = ok ? netlib()->queue_response(c, reply->status ? reply->status : 200, resp)
                           : MHD_NO;
    netlib()->destroy_response(resp);
    return r;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *name,
                                  const char *message, const char *extra_name,
                                  const char *extra_value)
{
    struct http_reply reply = {0};
    if (http_reply_error(&reply, status, name, message) < 0)
        return MHD_NO;
    return send_reply(c, &reply, extra_name, extra_value);
}

/* --- requests --- */

struct query_walk {
    int (*fn)(void *cls, const char *key, const char *value);
    void *cls;
    int rc;
};

static enum MHD_Result query_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    (void)kind;
    struct query_walk *w = cls;
    w->rc = w->fn(w->cls, key, value);
    return w->rc ? MHD_NO : MHD_YES;
}

const char *http_request_query(const struct http_request *r, const char *key)
{
    return netlib()->lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

int http_request_query_each(const struct http_request *r,
                            int (*fn)(void *cls, const char *key, const char *value),
                            void *cls)
{
    struct query_walk w = {fn, cls, 0};
    netlib()->get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, query_iter, &w);
    return w.rc;
}

/* Compares digests of both sides, so the time taken says nothing about the
 * token's length or the first differing byte. */
static bool token_matches(const struct http_server *s, const char *given, size_t len)
{
    uint8_t digest[32];
    if (netlib()->hash_fast(GNUTLS_DIG_SHA256, given, len, digest) < 0)
        return false;
    volatile uint8_t diff = 0;
    for (size_t i = 0; i < sizeof digest; i++)
        diff |= digest[i] ^ s->token_digest[i];
    return diff == 0;
}

/* 0 when the request may go on, else the status already queued is
 * signalled by returning the MHD result through *sent. */
static bool authorized(struct http_server *s, struct MHD_Connection *c, enum http_access access,
                       enum MHD_Result *sent)
{
    bool read = access == HTTP_ACCESS_READ || access == HTTP_ACCESS_READ_WAITS;
    bool need = access == HTTP_ACCESS_CHANGE || access == HTTP_ACCESS_CHANGE_WAITS ||
                (read && s->has_token && !s->loopback);
    if (!need)
        return true;
    if (!s->has_token) {
        *sent = send_error(c, 403, "forbidden",
                           "this server changes nothing: it was started without a token "
                           "(--token-file FILE or GPUCTL_TOKEN)",
                           NULL, NULL);
        return false;
    }
    const char *auth = netlib()->lookup_connection_value(c, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_AUTHORIZATION);
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
        *sent = send_error(c, 401, "unauthorized",
                           "this request needs the header \"Authorization: Bearer TOKEN\"",
                           MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
        return false;
    }
    const char *given = auth + 7;
    while (*given == ' ')
        given++;
    if (!token_matches(s, given, strlen(given))) {
        *sent = send_error(c, 403, "forbidden", "the bearer token is not this server's", NULL,
                           NULL);
        return false;
    }
    return true;
}

/* A browser's Origin must name this server (scheme, host and port as the
 * client addressed it); requests without Origin come from programs. */
static bool origin_allowed(const struct http_server *s, struct MHD_Connection *c)
{
    const char *origin = netlib()->lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    if (!origin)
        return true;
    const char *host = netlib()->lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (!host)
        return false;
    const char *scheme = s->tls ? "https://" : "http://";
    size_t sl = strlen(scheme);
    return strncasecmp(origin, scheme, sl) == 0 && strcasecmp(origin + sl, host) == 0;
}

const char *http_request_header(const struct http_request *r, const char *name)
{
    return netlib()->lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

bool http_request_has_token(const struct http_request *r)
{
    const char *auth = http_request_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!r->server->has_token || !auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return false;
    const char *given = auth + 7;
    while (*given == ' ')
        given++;
    return token_matches(r->server, given, strlen(given));
}

bool http_request_origin_allowed(const struct http_request *r)
{
    return origin_allowed(r->server, r->conn);
}

/* Whether path matches r; the segment a "{}" stands for is copied into
 * buf (size bytes) and *param points to it. */
static bool route_matches(const struct http_route *r, const char *path, char *buf, size_t size,
                          const char **param)
{
    *param = NULL;
    const char *hole = strstr(r->path, "{}");
    if (!hole)
        return strcmp(path, r->path) == 0;
    size_t prefix = (size_t)(hole - r->path);
    if (strncmp(path, r->path, prefix) != 0)
        return false;
    const char *seg = path + prefix;
    size_t len = strcspn(seg, "/");
    if (len == 0 || len >= size || strcmp(seg + len, hole + 2) != 0)
        return false;
    memcpy(buf, seg, len);
    buf[len] = '\0';
    *param = buf;
    return true;
}

/* Sends what a handler left: its reply, or the error document of rc. */
static enum MHD_Result send_result(struct MHD_Connection *c, int rc, struct http_reply *reply,
                                   const struct error *e)
{
    if (rc < 0) {
        const char *name;
        unsigned status = http_status_for_error(rc, &name);
        net_blob_unref(reply->body);
        reply->body = NULL;
        return send_error(c, status, name, e->msg[0] ? e->msg : "the request failed", NULL,
                          NULL);
    }
    return send_reply(c, reply, NULL, NULL);
}

/* The route's own ctx (route_ctx), else the server's. */
static void *handler_ctx(const struct http_server *s, const struct http_route *route)
{
    void *own = s->o.route_ctx ? s->o.route_ctx[route - s->o.routes] : NULL;
    return own ? own : s->o.ctx;
}

static enum MHD_Result run_handler(struct http_server *s, struct MHD_Connection *c,
                                   const struct http_route *route, const char *path,
                                   const char *param, const char *method,
                                   struct request_state *st)
{
    struct http_request req = {
        .method = method, .path = path, .param = param,
        .body = st->body ? st->body : "", .body_len = st->len, .conn = c, .server = s,
    };
    struct http_reply reply = {0};
    struct error e = {0};
    int rc = route->handler(handler_ctx(s, route), &req, &reply, &e);
    return send_result(c, rc, &reply, &e);
}

/* ---- handlers that wait ---- */

static void job_slot_free(struct http_server *s)
{
    pthread_mutex_lock(&s->jobs_lock);
    s->jobs--;
    pthread_cond_broadcast(&s->jobs_done);
    pthread_mutex_unlock(&s->jobs_lock);
}

static void *job_main(void *arg)
{
    struct request_state *st = arg;
    struct http_server *s = st->server;
    struct http_request req = {
        .method = st->method, .path = st->path, .param = st->param,
        .body = st->body ? st->body : "", .body_len = st->len, .conn = st->conn, .server = s,
    };
    st->rc = st->route->handler(handler_ctx(s, st->route), &req, &st->reply, &st->err);
    atomic_store(&st->job, 2);
    netlib()->resume_connection(st->conn);
    job_slot_free(s);
    return NULL;
}

/* Runs the handler on its own thread with the connection suspended;
 * libmicrohttpd calls on_request again once it is resumed, which sends the
 * result. */
static enum MHD_Result start_job(struct http_server *s, struct MHD_Connection *c,
                                 const struct http_route *route, const char *path,
                                 const char *param, const char *method,
                                 struct request_state *st)
{
    pthread_mutex_lock(&s->jobs_lock);
    bool room = s->jobs < HTTP_MAX_JOBS;
    if (room)
        s->jobs++;
    pthread_mutex_unlock(&s->jobs_lock);
    if (!room)
        return send_error(c, 503, "unavailable", "too many long requests are running; retry",
                          NULL, NULL);
    st->server = s;
    st->conn = c;
    st->route = route;
    st->path = strdup(path);
    st->param = param ? strdup(param) : NULL;
    st->method = strdup(method);
    pthread_attr_t attr;
    pthread_t thread;
    bool started = st->path && st->method && (!param || st->param) &&
                   pthread_attr_init(&attr) == 0;
    if (started) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        atomic_store(&st->job, 1);
        netlib()->suspend_connection(c);
        started = pthread_create(&thread, &attr, job_main, st) == 0;
        pthread_attr_destroy(&attr);
        if (!started) {
            atomic_store(&st->job, 0);
            netlib()->resume_connection(c);
        }
    }
    if (!started) {
        job_slot_free(s);
        return send_error(c, 500, "internal", "cannot start a thread for the request", NULL,
                          NULL);
    }
    return MHD_YES;
}

static void on_upgraded(void *cls, struct MHD_Connection *c, void *con_cls, const char *extra,
                        size_t extra_len, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    (void)c;
    struct http_server *s = cls;
    struct request_state *st = con_cls;
    st->up.urh = urh;
    if (st->second_ws)
        s->o.on_upgrade2(s->o.upgrade_ctx2, sock, extra, extra_len, &st->up);
    else
        s->o.on_upgrade(s->o.ctx, sock, extra, extra_len, &st->up);
}

void http_upgraded_close(struct http_upgraded *up)
{
    if (up && up->urh)
        netlib()->upgrade_action(up->urh, MHD_UPGRADE_ACTION_CLOSE);
}

static enum MHD_Result upgrade_websocket(struct http_server *s, struct MHD_Connection *c)
{
    if (!origin_allowed(s, c))
        return send_error(c, 403, "forbidden", "a WebSocket from another site's page is refused",
                          NULL, NULL);
    const char *key = netlib()->lookup_connection_value(c, MHD_HEADER_KIND, "Sec-WebSocket-Key");
    struct error e = {0};
    int rc = ws_handshake_check(
        netlib()->lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_UPGRADE),
        netlib()->lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONNECTION),
        netlib()->lookup_connection_value(c, MHD_HEADER_KIND, "Sec-WebSocket-Version"), key, &e);
    if (rc == -ENOTSUP)
        return send_error(c, 426, "upgrade_required", e.msg, "Sec-WebSocket-Version", "13");
    if (rc < 0)
        return send_error(c, 400, "invalid_argument", e.msg, NULL, NULL);
    char accept[WS_ACCEPT_LEN + 1];
    if (ws_accept_key(key, strlen(key), accept, &e) < 0)
        return send_error(c, 500, "internal", e.msg, NULL, NULL);
    struct MHD_Response *resp = netlib()->create_response_for_upgrade(on_upgraded, s);
    if (!resp)
        return MHD_NO;
    enum MHD_Result r = MHD_NO;
    if (netlib()->add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket") == MHD_YES &&
        netlib()->add_response_header(resp, "Sec-WebSocket-Accept", accept) == MHD_YES)
        r = netlib()->queue_response(c, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
    netlib()->destroy_response(resp);
    return r;
}

/* Looks the path up; sends 404/405 itself and returns NULL then. */
static const struct http_route *find_route(struct http_server *s, struct MHD_Connection *c,
                                           const char *path, const char *method,
                                           char *param_buf, size_t param_size,
                                           const char **param, enum MHD_Result *sent)
{
    char allow[64] = "";
    const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
    for (size_t i = 0; i < s->o.route_count; i++) {
        const struct http_route *r = &s->o.routes[i];
        if (!route_matches(r, path, param_buf, param_size, param))
            continue;
        if (strcmp(r->method, m) == 0)
            return r;
        size_t used = strlen(allow);
        snprintf(allow + used, sizeof allow - used, "%s%s", used ? ", " : "", r->method);
    }
    if (allow[0]) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s does not take %s; it takes %s", path, method, allow);
        *sent = send_error(c, 405, "method_not_allowed", msg, MHD_HTTP_HEADER_ALLOW, allow);
    } else {
        char msg[300];
        snprintf(msg, sizeof msg, "no such route: %.200s (see /api/v1/openapi.json)", path);
        *sent = send_error(c, 404, "not_found", msg, NULL, NULL);
    }
    return NULL;
}

static enum MHD_Result dispatch(struct http_server *s, struct MHD_Connection *c,
                                const char *path, const char *method, struct request_state *st)
{
    enum MHD_Result sent = MHD_NO;
    st->second_ws = s->o.ws_path2 && strcmp(path, s->o.ws_path2) == 0;
    if ((s->o.ws_path && strcmp(path, s->o.ws_path) == 0) || st->second_ws) {
        if (strcmp(method, "GET") != 0)
            return send_error(c, 405, "method_not_allowed", "a WebSocket opens with GET",
                              MHD_HTTP_HEADER_ALLOW, "GET");
        if (!authorized(s, c, HTTP_ACCESS_READ, &sent))
            return sent;
        return upgrade_websocket(s, c);
    }
    const char *param;
    char param_buf[256];
    const struct http_route *route =
        find_route(s, c, path, method, param_buf, sizeof param_buf, &param, &sent);
    if (!route)
        return sent;
    bool change = route->access == HTTP_ACCESS_CHANGE || route->access == HTTP_ACCESS_CHANGE_WAITS;
    if (change && !origin_allowed(s, c))
        return send_error(c, 403, "forbidden", "a state change from another site's page is refused",
                          NULL, NULL);
    if (!authorized(s, c, route->access, &sent))
        return sent;
    if (route->access == HTTP_ACCESS_CHANGE_WAITS || route->access == HTTP_ACCESS_READ_WAITS)
        return start_job(s, c, route, path, param, method, st);
    return run_handler(s, c, route, path, param, method, st);
}

/* First call for a request: refuse what is too big before reading a byte
 * of its body; note the size it declares. */
static unsigned precheck(const struct http_server *s, struct MHD_Connection *c,
                         struct request_state *st)
{
    int headers = netlib()->get_connection_values(c, MHD_HEADER_KIND, NULL, NULL);
    if (headers < 0 || (unsigned)headers > s->o.max_headers)
        return 431;
    const char *cl = netlib()->lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if (*end || n > s->o.max_body)
            return 413;
        st->declared = (size_t)n;
    }
    return 0;
}

static enum MHD_Result refuse(const struct http_server *s, struct MHD_Connection *c,
                              unsigned status)
{
    char msg[128];
    if (status == 431) {
        snprintf(msg, sizeof msg, "a request may carry at most %u header lines",
                 s->o.max_headers);
        return send_error(c, 431, "too_many_headers", msg, NULL, NULL);
    }
    snprintf(msg, sizeof msg, "a request body may hold at most %zu bytes", s->o.max_body);
    return send_error(c, 413, "too_large", msg, NULL, NULL);
}

static int append_body(const struct http_server *s, struct request_state *st, const char *data,
                       size_t n)
{
    if (n > s->o.max_body - st->len)
        return -EMSGSIZE;
    if (st->len + n + 1 > st->cap) {
        /* the declared size at once, up to 64 KiB (a coordinator takes
         * thousands of 50 KB pushes a second, each a chain of doublings
         * otherwise); past that, as the bytes come, so a client that only
         * declares much reserves little */
        size_t first = st->declared + 1 < 1024 ? 1024
                       : st->declared + 1 > 65536 ? 65536 : st->declared + 1;
        size_t cap = st->cap ? st->cap : first;
        while (cap < st->len + n + 1)
            cap *= 2;
        char *p = realloc(st->body, cap);
        if (!p)
            return -ENOMEM;
        st->body = p;
        st->cap = cap;
    }
    memcpy(st->body + st->len, data, n);
    st->len += n;
    st->body[st->len] = '\0';
    return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    struct http_server *s = cls;
    struct request_state *st = *con_cls;
    if (st && atomic_load(&st->job) == 2) {
        atomic_store(&st->job, 3);
        return send_result(c, st->rc, &st->reply, &st->err);
    }
    if (st && atomic_load(&st->job))
        return MHD_YES;
    if (!st) {
        st = calloc(1, sizeof *st);
        if (!st)
            return MHD_NO;
        *con_cls = st;
        st->refuse = precheck(s, c, st);
        if (st->refuse)
            return refuse(s, c, st->refuse);
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (st->refuse)
            return MHD_YES;
        int rc = append_body(s, st, upload_data, n);
        if (rc == -EMSGSIZE) {
            st->refuse = 413;
            return refuse(s, c, 413);
        }
        return rc < 0 ? MHD_NO : MHD_YES;
    }
    if (st->refuse)
        return MHD_YES;
    return dispatch(s, c, url, method, st);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct request_state *st = *con_cls;
    if (!st)
        return;
    net_blob_unref(st->reply.body);
    free(st->path);
    free(st->param);
    free(st->method);
    free(st->body);
    free(st);
    *con_cls = NULL;
}

/* libmicrohttpd's own diagnostics are not printed: this layer never
 * writes to stderr, and what a client did wrong reaches it as a status. */
static void quiet_logger(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    (void)fmt;
    (void)ap;
}

static int check_options(const struct http_server_options *o, bool loopback, struct error *e)
{
    bool token = o->token && o->token[0];
    if (!loopback && !token)
        return error_set(e, -EINVAL,
                         "refusing to listen on %s without a token: anyone who can reach it "
                         "could read this machine; give --token-file FILE or GPUCTL_TOKEN, or "
                         "listen on 127.0.0.1",
                         o->listen);
    if (!o->tls_cert_pem != !o->tls_key_pem)
        return error_set(e, -EINVAL, "TLS needs both --tls-cert and --tls-key");
    if (o->tls_cert_pem && netlib()->is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return error_set(e, -ENOTSUP, "this libmicrohttpd was built without TLS");
    if ((o->ws_path && !o->on_upgrade) || (o->ws_path2 && !o->on_upgrade2))
        return error_set(e, -EINVAL, "a WebSocket route needs an upgrade handler");
    return 0;
}

/* The socket is bound here rather than by libmicrohttpd so that a port in
 * use or a privileged port gets its own message. */
static int open_listener(const struct sockaddr_storage *addr, socklen_t alen,
                         const char *where, struct error *e)
{
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return error_set(e, -errno, "cannot open a socket for %s: %s", where, strerror(errno));
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        (addr->ss_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) ||
        bind(fd, (const struct sockaddr *)addr, alen) < 0 || listen(fd, SOMAXCONN) < 0) {
        int err = errno;
        close(fd);
        return error_set(e, -err, "cannot listen on %s: %s", where, strerror(err));
    }
    return fd;
}

static unsigned bound_port(int fd)
{
    struct sockaddr_storage a;
    socklen_t len = sizeof a;
    if (getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        return 0;
    if (a.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&a)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&a)->sin6_port);
}

/* GnuTLS reads the pair here first, so a bad file is named at start
 * instead of failing every handshake. */
static int check_tls_pair(const char *cert, const char *key, struct error *e)
{
    gnutls_certificate_credentials_t cred;
    if (netlib()->certificate_allocate_credentials(&cred) < 0)
        return error_set(e, -ENOMEM, "out of memory");
    gnutls_datum_t c = {(unsigned char *)cert, (unsigned)strlen(cert)};
    gnutls_datum_t k = {(unsigned char *)key, (unsigned)strlen(key)};
    int rc = netlib()->certificate_set_x509_key_mem(cred, &c, &k, GNUTLS_X509_FMT_PEM);
    netlib()->certificate_free_credentials(cred);
    if (rc < 0)
        return error_set(e, -EINVAL, "the TLS certificate and key are not a usable PEM pair: %s",
                         netlib()->strerror(rc));
    return 0;
}

/* Counts what each daemon holds, for the acceptor's choice and limit. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)c;
    (void)socket_ctx;
    atomic_uint *held = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        atomic_fetch_add(held, 1);
    else if (toe == MHD_CONNECTION_NOTIFY_CLOSED)
        atomic_fetch_sub(held, 1);
}

/* The daemon holding the fewest connections gets fd; with every daemon at
 * its share of the limit the connection is closed, as libmicrohttpd
 * closes one over its limit. */
static void hand_over(struct http_server *s, int fd, const struct sockaddr_storage *a,
                      socklen_t alen)
{
    unsigned best = 0;
    for (unsigned i = 1; i < s->daemons; i++)
        if (atomic_load(&s->held[i]) < atomic_load(&s->held[best]))
            best = i;
    if (atomic_load(&s->held[best]) >= s->held_limit) {
        close(fd);
        return;
    }
    /* it closes fd itself when it cannot take it */
    (void)netlib()->add_connection(s->daemon[best], fd, (const struct sockaddr *)a, alen);
}

/* Takes every waiting connection; false when the socket failed for good. */
static bool accept_waiting(struct http_server *s)
{
    for (;;) {
        struct sockaddr_storage a;
        socklen_t alen = sizeof a;
        int fd = accept4(s->listen_fd, (struct sockaddr *)&a, &alen,
                         SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd >= 0) {
            hand_over(s, fd, &a, alen);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
            continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            /* out of descriptors: the connection waits in the backlog
             * until one is closed, without spinning on it meanwhile */
            nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
            return true;
        }
        return errno == EAGAIN || errno == EWOULDBLOCK;
    }
}

static void *accept_loop(void *arg)
{
    struct http_server *s = arg;
    struct pollfd p[2] = {{.fd = s->listen_fd, .events = POLLIN},
                          {.fd = s->wake_fd, .events = POLLIN}};
    for (;;) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents || !accept_waiting(s))
            break;
    }
    return NULL;
}

/* The acceptor stops and the listening socket closes: no new connection
 * is taken, those held go on. */
static void stop_accepting(struct http_server *s)
{
    if (s->accepting) {
        uint64_t one = 1;
        if (write(s->wake_fd, &one, sizeof one) != sizeof one) {
            /* an eventfd's counter only fails to take 1 at its maximum,
             * which leaves it readable anyway */
        }
        pthread_join(s->acceptor, NULL);
        s->accepting = false;
    }
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    s->wake_fd = s->listen_fd = -1;
}

/* Signals reach the caller's threads (gpuctl serve's signalfd). */
static int start_acceptor(struct http_server *s, struct error *e)
{
    s->wake_fd = eventfd(0, EFD_CLOEXEC);
    if (s->wake_fd < 0)
        return error_set(e, -errno, "cannot make an eventfd: %s", strerror(errno));
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&s->acceptor, NULL, accept_loop, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return error_set(e, -rc, "cannot start the HTTP acceptor thread: %s", strerror(rc));
    s->accepting = true;
    return 0;
}

static void stop_daemons(struct http_server *s)
{
    for (unsigned i = 0; i < s->daemons; i++)
        netlib()->stop_daemon(s->daemon[i]);
    s->daemons = 0;
}

/* One daemon on the listening socket, or (threads > 1) one daemon a thread
 * without one, fed by the acceptor. */
static int start_daemons(struct http_server *s, const struct http_server_options *o,
                         bool ipv6, int lfd, struct error *e)
{
    unsigned n = o->threads ? o->threads : 1u;
    if (n > HTTP_MAX_DAEMONS)
        n = HTTP_MAX_DAEMONS;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_UPGRADE | MHD_USE_ITC |
                     MHD_ALLOW_SUSPEND_RESUME;
    if (ipv6)
        flags |= MHD_USE_IPv6;
    if (s->tls)
        flags |= MHD_USE_TLS;
    if (n > 1)
        flags |= MHD_USE_NO_LISTEN_SOCKET;
    struct MHD_OptionItem tls_opts[] = {
        {s->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, (void *)o->tls_cert_pem},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)o->tls_key_pem},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_OptionItem listen_opts[] = {
        {n > 1 ? MHD_OPTION_END : MHD_OPTION_LISTEN_SOCKET, lfd, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    s->held_limit = o->max_connections / n ? o->max_connections / n : 1;
    for (unsigned i = 0; i < n; i++) {
        s->daemon[i] = netlib()->start_daemon(
            flags, 0, NULL, NULL, on_request, s,
            MHD_OPTION_ARRAY, listen_opts,
            MHD_OPTION_CONNECTION_LIMIT, n > 1 ? s->held_limit : o->max_connections,
            MHD_OPTION_CONNECTION_TIMEOUT, o->idle_timeout_s,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONNECTION_MEMORY,
            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
            MHD_OPTION_NOTIFY_CONNECTION, on_connection, &s->held[i],
            MHD_OPTION_EXTERNAL_LOGGER, quiet_logger, s,
            MHD_OPTION_ARRAY, tls_opts,
            MHD_OPTION_END);
        if (!s->daemon[i]) {
            stop_daemons(s);
            return error_set(e, -EIO, "libmicrohttpd could not start on %s", o->listen);
        }
        s->daemons++;
    }
    if (n == 1)
        return 0;
    s->listen_fd = lfd;
    int rc = start_acceptor(s, e);
    if (rc < 0) {
        s->listen_fd = -1;       /* the caller closes it */
        stop_daemons(s);
    }
    return rc;
}

int http_server_start(struct http_server **out, const struct http_server_options *o,
                      struct error *e)
{
    *out = NULL;
    if (!netlib_load("the HTTP server", e))
        return e && e->code ? e->code : -ENOENT;
    struct sockaddr_storage addr;
    socklen_t alen;
    int rc = http_parse_listen(o->listen, &addr, &alen, e);
    if (rc < 0)
        return rc;
    bool loopback = http_addr_is_loopback(&addr);
    rc = check_options(o, loopback, e);
    if (rc < 0)
        return rc;
    if (o->tls_cert_pem) {
        rc = check_tls_pair(o->tls_cert_pem, o->tls_key_pem, e);
        if (rc < 0)
            return rc;
    }
    int lfd = open_listener(&addr, alen, o->listen, e);
    if (lfd < 0)
        return lfd;
    struct http_server *s = calloc(1, sizeof *s);
    if (!s) {
        close(lfd);
        return error_set(e, -ENOMEM, "out of memory");
    }
    s->o = *o;
    s->listen_fd = s->wake_fd = -1;
    pthread_mutex_init(&s->jobs_lock, NULL);
    pthread_cond_init(&s->jobs_done, NULL);
    s->loopback = loopback;
    s->tls = o->tls_cert_pem != NULL;
    s->has_token = o->token && o->token[0];
    if (s->has_token &&
        netlib()->hash_fast(GNUTLS_DIG_SHA256, o->token, strlen(o->token), s->token_digest) < 0) {
        rc = error_set(e, -EIO, "SHA-256 is not available from GnuTLS");
    } else {
        s->port = bound_port(lfd);
        rc = start_daemons(s, o, addr.ss_family == AF_INET6, lfd, e);
    }
    if (rc < 0) {
        close(lfd);
        if (s->wake_fd >= 0)
            close(s->wake_fd);
        pthread_mutex_destroy(&s->jobs_lock);
        pthread_cond_destroy(&s->jobs_done);
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

unsigned http_server_port(const struct http_server *s)
{
    return s->port;
}

void http_server_quiesce(struct http_server *s)
{
    if (!s || !s->daemons)
        return;
    if (s->listen_fd >= 0) {
        stop_accepting(s);
        return;
    }
    MHD_socket fd = netlib()->quiesce_daemon(s->daemon[0]);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}

void http_server_stop(struct http_server *s)
{
    if (!s)
        return;
    /* a suspended connection must be resumed before the daemon stops */
    pthread_mutex_lock(&s->jobs_lock);
    while (s->jobs)
        pthread_cond_wait(&s->jobs_done, &s->jobs_lock);
    pthread_mutex_unlock(&s->jobs_lock);
    stop_accepting(s);
    stop_daemons(s);
    pthread_mutex_destroy(&s->jobs_lock);
    pthread_cond_destroy(&s->jobs_done);
    free(s);
}
