/* http.h - gpuctl's HTTP layer on libmicrohttpd: listening (TLS through
 * GnuTLS), a route table, the safety rules of ARCHITECTURE.md decision 15
 * (bearer token, Origin, bounded bodies, headers and connections), JSON
 * error bodies, and the hand-over of WebSocket upgrades.
 *
 * It knows nothing about GPUs: the routes' handlers (net/api.c) build the
 * bodies.  Handlers run on libmicrohttpd's threads and must not block; the
 * upgrade callback runs there too and only passes the socket on.
 */
#ifndef GPUCTL_NET_HTTP_H
#define GPUCTL_NET_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <sys/socket.h>

#include "core/error.h"
#include "net/blob.h"

/* Who may call a route. */
enum http_access {
    HTTP_ACCESS_READ,     /* anyone on a loopback bind; the token when bound elsewhere */
    HTTP_ACCESS_CHANGE,   /* the token, always; a browser's Origin must be this server */
    HTTP_ACCESS_PUBLIC,   /* anyone, always: the dashboard's files, which hold no data */
    /* as CHANGE, and the handler may wait (a kill waits for its processes):
     * it runs on a thread of its own while the connection is suspended, so
     * no server thread waits with it; at most HTTP_MAX_JOBS at once (503) */
    HTTP_ACCESS_CHANGE_WAITS,
    /* as READ, and the handler runs on a thread of its own in the same way:
     * a long read (a coordinator's view of 10,000 nodes) never holds one of
     * the server threads that short requests (pushes) need; shares the
     * HTTP_MAX_JOBS */
    HTTP_ACCESS_READ_WAITS,
};

struct http_request {
    const char *method;
    const char *path;          /* without the query string */
    const char *param;         /* the segment a "/x/{}" route matched, else NULL */
    const char *body;          /* NUL-terminated; "" when none */
    size_t body_len;
    void *conn;                /* libmicrohttpd's connection, for the functions below */
    const struct http_server *server;
};

/* A request header (case-insensitive name), or NULL when absent. */
const char *http_request_header(const struct http_request *r, const char *name);
/* Whether the request carries the server's bearer token (compared in
 * constant time); false when the server has none.  For routes of READ
 * access that decide per request what needs the token (MCP's tools). */
bool http_request_has_token(const struct http_request *r);
/* Whether the request has no Origin or one naming this server, the check
 * CHANGE routes get, for routes that apply it to every request. */
bool http_request_origin_allowed(const struct http_request *r);

/* A query argument (decoded), or NULL when absent. */
const char *http_request_query(const struct http_request *r, const char *key);
/* Calls fn for each query argument in order (value NULL for "?flag");
 * stops at and returns fn's first non-zero result. */
int http_request_query_each(const struct http_request *r,
                            int (*fn)(void *cls, const char *key, const char *value),
                            void *cls);

/* One more response header; both strings outlive the reply (static). */
struct http_header {
    const char *name;
    const char *value;
};

#define HTTP_REPLY_MAX_HEADERS 6

struct http_reply {
    unsigned status;           /* 0 means 200 */
    const char *content_type;  /* a static string; NULL means application/json */
    struct net_blob *body;     /* owned by the reply */
    const char *header_name;   /* one more response header (a static name), or NULL */
    char header_value[64];     /* its value */
    /* Static headers (both strings outlive the reply), the first with a
     * NULL name ends them.  A "Cache-Control" here replaces the default
     * "no-store". */
    struct http_header headers[HTTP_REPLY_MAX_HEADERS];
};

/* A blob of doc as compact JSON (key order kept, the documents' number
 * format) and a newline; takes the reference.  NULL when doc is NULL or
 * memory runs out. */
struct net_blob *http_json_blob(json_t *doc);

/* Fills out with the JSON error document {"error":{"code":name,"message":msg}}.
 * Returns 0, or -ENOMEM. */
int http_reply_error(struct http_reply *out, unsigned status, const char *name,
                     const char *message);

/* The HTTP status and error name for a project error code (core/error.h,
 * negative): -EINVAL 400 "invalid_argument", -ENOENT/-ESRCH 404,
 * -EEXIST/-EBUSY 409, -ENOTSUP 422 "unsupported", -EACCES/-EPERM 403,
 * -ERROR_GPU_LIBRARY/-EAGAIN 503, anything else 500. */
unsigned http_status_for_error(int code, const char **name);

/* A route's handler: fills out and returns 0, or returns a negative code
 * with e filled (turned into the error document of http_status_for_error).
 * Runs on a server thread; ctx is http_server_options.ctx. */
typedef int (*http_handler_fn)(void *ctx, const struct http_request *req,
                               struct http_reply *out, struct error *e);

struct http_route {
    const char *method;        /* "GET", "POST", "PUT", "DELETE" */
    const char *path;          /* exact, or with one "{}" standing for one segment
                                  ("/x/{}", "/x/{}/y"; at most 255 bytes) */
    enum http_access access;
    http_handler_fn handler;
};

/* Handlers of HTTP_ACCESS_CHANGE_WAITS and HTTP_ACCESS_READ_WAITS routes
 * run at most this many at once (then 503). */
#define HTTP_MAX_JOBS 8

/* An upgraded connection's handle; close it exactly once, from any thread. */
struct http_upgraded;
void http_upgraded_close(struct http_upgraded *up);

/* Receives a WebSocket client after the 101 answer was sent: fd is the
 * socket to read and write (never to close), extra the bytes the client had
 * already sent after its request. */
typedef void (*http_upgrade_fn)(void *ctx, int fd, const char *extra, size_t extra_len,
                                struct http_upgraded *up);

struct http_server_options {
    const char *listen;            /* "ADDR:PORT" or "[V6ADDR]:PORT"; port 0 picks one */
    const char *token;             /* bearer token, NULL or "" for none */
    const char *tls_cert_pem;      /* PEM texts; both or neither */
    const char *tls_key_pem;
    unsigned max_connections;      /* HTTP and WebSocket together */
    size_t max_body;               /* bytes of a request body */
    unsigned max_headers;          /* header lines of a request */
    unsigned idle_timeout_s;       /* an HTTP connection silent this long is closed */
    unsigned threads;              /* libmicrohttpd's epoll threads */
    const struct http_route *routes;
    size_t route_count;
    /* Routes of several modules on one server: route_ctx[i] (when not
     * NULL) is routes[i]'s ctx instead of ctx.  NULL: ctx for all. */
    void *const *route_ctx;
    const char *ws_path;           /* the WebSocket route (READ access), or NULL */
    http_upgrade_fn on_upgrade;
    /* A second WebSocket route of another module (the coordinator's), with
     * its own ctx; NULL path: none. */
    const char *ws_path2;
    http_upgrade_fn on_upgrade2;
    void *upgrade_ctx2;
    void *ctx;
};

/* Parses "ADDR:PORT" into *out (numeric addresses and "localhost").
 * Returns 0 or -EINVAL naming the value. */
int http_parse_listen(const char *spec, struct sockaddr_storage *out, socklen_t *len,
                      struct error *e);
/* True when the address is 127.0.0.0/8 or ::1 (or ::ffff:127.x). */
bool http_addr_is_loopback(const struct sockaddr_storage *addr);

struct http_server;

/* Starts listening.  A non-loopback address without a token is refused
 * with -EINVAL (decision 15), as are half a TLS pair and a bad address;
 * -EADDRINUSE and the like when the socket cannot be bound. */
int http_server_start(struct http_server **out, const struct http_server_options *o,
                      struct error *e);
/* The port actually bound (useful with port 0). */
unsigned http_server_port(const struct http_server *s);
/* Stops taking new connections (before closing the upgraded ones). */
void http_server_quiesce(struct http_server *s);
/* Waits for the blocking handlers still running, then stops.  Accepts NULL. */
void http_server_stop(struct http_server *s);

#endif
