/* http.c - the Streamable HTTP transport of MCP: sessions, the header
 * rules and the status codes (see http.h), around the protocol of
 * mcp/server.c.
 *
 * Each session is one mcp_server (its negotiated revision, its
 * cancellations), found by its MCP-Session-Id in a small table and used by
 * one request at a time.  Requests that carry their protocol version in
 * _meta (2026-07-28) go to one shared server that never saw initialize.
 * The HTTP server itself (listening, TLS, the token, body limits) is
 * net/http.c's, mounted by mcp/http_route.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "mcp/http.h"
#include "mcp/jsonrpc.h"

#define HEADER_MISMATCH (-32020)
#define META_VERSION "io.modelcontextprotocol/protocolVersion"

struct session {
    char id[33];
    struct mcp_server *server;
    pthread_mutex_t lock;          /* one request at a time */
    unsigned refs;                 /* the table's, and each request's using it */
    bool ended;
    uint64_t last_used;            /* request counter value at its last use */
};

struct mcp_http {
    struct mcp_http_options o;
    struct mcp_server_options so;
    pthread_mutex_t lock;          /* the table and counters */
    struct session **sessions;
    size_t count;
    uint64_t uses;
    struct session *stateless;     /* for requests that carry _meta versions */
};

static void session_unref(struct mcp_http *h, struct session *s)
{
    pthread_mutex_lock(&h->lock);
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&h->lock);
    if (!last)
        return;
    mcp_server_free(s->server);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static struct session *session_new(struct mcp_http *h, struct error *e)
{
    struct session *s = calloc(1, sizeof *s);
    if (!s) {
        error_set(e, -ENOMEM, "out of memory for an MCP session");
        return NULL;
    }
    unsigned char raw[16];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw ||
        mcp_server_new(&s->server, &h->so, e) < 0) {
        if (!e->code)
            error_set(e, -EIO, "no random bytes for an MCP session id");
        free(s);
        return NULL;
    }
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(s->id + 2 * i, 3, "%02x", raw[i]);
    pthread_mutex_init(&s->lock, NULL);
    s->refs = 1;
    return s;
}

int mcp_http_new(struct mcp_http **out, const struct mcp_http_options *o, struct error *e)
{
    struct mcp_http *h = calloc(1, sizeof *h);
    if (!h)
        return error_set(e, -ENOMEM, "out of memory for the MCP endpoint");
    h->o = *o;
    if (!h->o.max_sessions)
        h->o.max_sessions = MCP_HTTP_MAX_SESSIONS;
    h->so = (struct mcp_server_options){.read_only = o->read_only, .env = o->env,
                                        .server_version = o->server_version};
    h->sessions = calloc(h->o.max_sessions, sizeof *h->sessions);
    pthread_mutex_init(&h->lock, NULL);
    if (!h->sessions || !(h->stateless = session_new(h, e))) {
        mcp_http_free(h);
        return e->code ? e->code : error_set(e, -ENOMEM, "out of memory for the MCP endpoint");
    }
    *out = h;
    return 0;
}

void mcp_http_free(struct mcp_http *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->count; i++)
        session_unref(h, h->sessions[i]);
    if (h->stateless)
        session_unref(h, h->stateless);
    free(h->sessions);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

size_t mcp_http_session_count(struct mcp_http *h)
{
    pthread_mutex_lock(&h->lock);
    size_t n = h->count;
    pthread_mutex_unlock(&h->lock);
    return n;
}

/* Removes the session at index i from the table (the caller holds the lock). */
static struct session *table_take(struct mcp_http *h, size_t i)
{
    struct session *s = h->sessions[i];
    h->sessions[i] = h->sessions[--h->count];
    s->ended = true;
    return s;
}

/* Adds s; when the table is full the session used least recently ends. */
static void table_add(struct mcp_http *h, struct session *s)
{
    struct session *evicted = NULL;
    pthread_mutex_lock(&h->lock);
    if (h->count == h->o.max_sessions) {
        size_t idlest = 0;
        for (size_t i = 1; i < h->count; i++)
            if (h->sessions[i]->last_used < h->sessions[idlest]->last_used)
                idlest = i;
        evicted = table_take(h, idlest);
    }
    s->last_used = ++h->uses;
    s->refs++;                     /* the table's reference */
    h->sessions[h->count++] = s;
    pthread_mutex_unlock(&h->lock);
    if (evicted)
        session_unref(h, evicted);
}

/* The session named id with a reference for the caller, or NULL; with
 * end, it is taken out of the table too. */
static struct session *table_find(struct mcp_http *h, const char *id, bool end)
{
    struct session *found = NULL, *taken = NULL;
    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i < h->count; i++) {
        if (strcmp(h->sessions[i]->id, id) != 0)
            continue;
        found = h->sessions[i];
        found->refs++;
        found->last_used = ++h->uses;
        if (end)
            taken = table_take(h, i);
        break;
    }
    pthread_mutex_unlock(&h->lock);
    if (taken)
        session_unref(h, taken);   /* the table's reference; the caller keeps one */
    return found;
}

/* ---- answers ------------------------------------------------------------------- */

static int answer_text(struct mcp_http_response *out, unsigned status, const char *text)
{
    out->status = status;
    out->content_type = "application/json";
    out->body = strdup(text);
    out->body_len = out->body ? strlen(out->body) : 0;
    return out->body ? 0 : -ENOMEM;
}

/* A JSON-RPC error as the body of an HTTP status (no id: it answers the
 * transport, not one request). */
static int answer_error(struct mcp_http_response *out, unsigned status, int code,
                        const char *message)
{
    json_t *m = mcp_rpc_error(NULL, code, message, NULL);
    char *text = m ? mcp_rpc_dump(m, NULL) : NULL;
    json_decref(m);
    int rc = text ? answer_text(out, status, text) : -ENOMEM;
    free(text);
    return rc;
}

static bool names_type(const char *header, const char *type)
{
    for (const char *p = header; p && (p = strcasestr(p, type)); p += strlen(type)) {
        char after = p[strlen(type)];
        if (after == '\0' || after == ',' || after == ';' || after == ' ')
            return true;
    }
    return false;
}

/* ---- requests ---------------------------------------------------------------- */

/* Whether m (a message or a batch) holds a request, initialize, and the
 * protocol version of its first request's _meta. */
struct body_facts {
    bool has_request, initialize;
    const char *meta_version;
};

static void note_message(const json_t *m, struct body_facts *f)
{
    const json_t *method = json_object_get(m, "method");
    if (!json_is_string(method) || !json_object_get(m, "id"))
        return;
    f->has_request = true;
    if (strcmp(json_string_value(method), "initialize") == 0)
        f->initialize = true;
    const json_t *v = json_object_get(json_object_get(json_object_get(m, "params"), "_meta"),
                                      META_VERSION);
    if (json_is_string(v) && !f->meta_version)
        f->meta_version = json_string_value(v);
}

static struct body_facts facts_of(const json_t *body)
{
    struct body_facts f = {0};
    if (json_is_array(body)) {
        size_t i;
        json_t *m;
        json_array_foreach(body, i, m)
            note_message(m, &f);
    } else {
        note_message(body, &f);
        /* Anything that is not a well-formed notification or response
         * is answered (with its error). */
        if (!json_is_object(body) || !json_object_get(body, "jsonrpc"))
            f.has_request = true;
    }
    return f;
}

/* Runs body through the session's server and answers 200 with the reply,
 * or 202 when none is due. */
static int run(struct session *s, json_t *body, bool authorized, struct mcp_http_response *out)
{
    json_t *reply = NULL;
    pthread_mutex_lock(&s->lock);
    mcp_server_set_authorized(s->server, authorized);
    mcp_server_handle_json(s->server, body, &reply);
    pthread_mutex_unlock(&s->lock);
    if (!reply) {
        out->status = 202;
        return 0;
    }
    char *text = mcp_rpc_dump(reply, &out->body_len);
    json_decref(reply);
    if (!text)
        return -ENOMEM;
    out->status = 200;
    out->content_type = "application/json";
    out->body = text;
    return 0;
}

static int open_session(struct mcp_http *h, json_t *body, const struct mcp_http_request *req,
                        struct mcp_http_response *out)
{
    if (json_is_array(body))
        return answer_error(out, 400, MCP_RPC_INVALID_REQUEST,
                            "initialize must not be part of a batch");
    struct error e = {0};
    struct session *s = session_new(h, &e);
    if (!s)
        return answer_error(out, 500, MCP_RPC_INTERNAL_ERROR, e.msg);
    int rc = run(s, body, req->authorized, out);
    if (rc == 0 && mcp_server_negotiated(s->server)) {
        table_add(h, s);
        memcpy(out->session_id, s->id, sizeof s->id);
    }
    session_unref(h, s);
    return rc;
}

static int check_version_header(const struct mcp_http_request *req, const char *negotiated,
                                struct mcp_http_response *out, bool *refused)
{
    *refused = true;
    const char *v = req->protocol_version ? req->protocol_version : "2025-03-26";
    char msg[160];
    if (!mcp_server_version_supported(v)) {
        snprintf(msg, sizeof msg, "MCP-Protocol-Version '%.40s' is not a version this server "
                 "speaks", v);
        return answer_error(out, 400, MCP_RPC_INVALID_REQUEST, msg);
    }
    if (negotiated && req->protocol_version && strcmp(v, negotiated) != 0) {
        snprintf(msg, sizeof msg, "MCP-Protocol-Version '%.40s' is not the session's %s", v,
                 negotiated);
        return answer_error(out, 400, MCP_RPC_INVALID_REQUEST, msg);
    }
    *refused = false;
    return 0;
}

static int post(struct mcp_http *h, const struct mcp_http_request *req,
                struct mcp_http_response *out)
{
    if (!names_type(req->accept, "application/json") ||
        !names_type(req->accept, "text/event-stream"))
        return answer_error(out, 406, MCP_RPC_INVALID_REQUEST,
                            "Accept must name application/json and text/event-stream");
    if (!names_type(req->content_type, "application/json"))
        return answer_error(out, 415, MCP_RPC_INVALID_REQUEST,
                            "Content-Type must be application/json");
    struct mcp_rpc_fault f = {0};
    json_t *body = mcp_rpc_decode(req->body, req->body_len, &f);
    if (!body)
        return answer_error(out, 400, f.code, f.message);
    struct body_facts facts = facts_of(body);
    int rc;
    bool refused;
    if (facts.initialize) {
        rc = open_session(h, body, req, out);
    } else if (facts.meta_version && !req->session_id) {
        /* Stateless (2026-07-28): the header must say what _meta says. */
        if (!req->protocol_version || strcmp(req->protocol_version, facts.meta_version) != 0)
            rc = answer_error(out, 400, HEADER_MISMATCH, "MCP-Protocol-Version must equal "
                              "_meta[\"" META_VERSION "\"]");
        else
            rc = run(h->stateless, body, req->authorized, out);
    } else if (!req->session_id) {
        rc = answer_error(out, 400, MCP_RPC_INVALID_REQUEST,
                          "MCP-Session-Id is required after initialize");
    } else {
        struct session *s = table_find(h, req->session_id, false);
        if (!s) {
            rc = answer_error(out, 404, MCP_RPC_INVALID_REQUEST,
                              "no such session (it ended, or never was): initialize again");
        } else {
            rc = check_version_header(req, mcp_server_negotiated(s->server), out, &refused);
            if (rc == 0 && !refused)
                rc = run(s, body, req->authorized, out);
            session_unref(h, s);
        }
    }
    json_decref(body);
    return rc;
}

static int delete_session(struct mcp_http *h, const struct mcp_http_request *req,
                          struct mcp_http_response *out)
{
    if (!req->session_id)
        return answer_error(out, 400, MCP_RPC_INVALID_REQUEST,
                            "DELETE needs the MCP-Session-Id of the session to end");
    struct session *s = table_find(h, req->session_id, true);
    if (!s)
        return answer_error(out, 404, MCP_RPC_INVALID_REQUEST, "no such session");
    session_unref(h, s);
    out->status = 204;
    return 0;
}

int mcp_http_handle(struct mcp_http *h, const struct mcp_http_request *req,
                    struct mcp_http_response *out)
{
    memset(out, 0, sizeof *out);
    if (!req->origin_ok)
        return answer_error(out, 403, MCP_RPC_INVALID_REQUEST,
                            "a request from another site's page is refused (Origin)");
    if (strcmp(req->method, "POST") == 0)
        return post(h, req, out);
    if (strcmp(req->method, "DELETE") == 0)
        return delete_session(h, req, out);
    out->allow = "POST, DELETE";
    return answer_error(out, 405, MCP_RPC_INVALID_REQUEST,
                        "the MCP endpoint takes POST and DELETE; it opens no event stream "
                        "(the server sends nothing unasked)");
}
