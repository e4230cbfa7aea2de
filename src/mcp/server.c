/* server.c - the MCP protocol over any transport: lifecycle and version
 * negotiation, batches where the revision has them, cancellation, and the
 * methods of the tools and resources features.
 *
 * Transports (mcp/stdio.c, the HTTP route) hand it whole message texts and
 * send back what it returns; the tools and resources themselves are
 * mcp/tools.c's and mcp/resources.c's.  What each revision gets:
 * - 2024-11-05: tools without annotations, title or output schemas;
 * - 2025-03-26: tool annotations, and JSON-RPC batch arrays;
 * - 2025-06-18 and 2025-11-25: titles, outputSchema and structuredContent,
 *   no batches;
 * - 2026-07-28 (a request carrying its version in _meta): stateless, with
 *   server/discover, resultType, ttlMs and cacheScope in results.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "doc/json.h"
#include "mcp/jsonrpc.h"
#include "mcp/server.h"

#define META_VERSION "io.modelcontextprotocol/protocolVersion"
#define META_CAPABILITIES "io.modelcontextprotocol/clientCapabilities"
#define META_SERVER_INFO "io.modelcontextprotocol/serverInfo"
#define RESOURCE_NOT_FOUND_LEGACY (-32002)
#define CANCELLED_MAX 64
/* How long a modern client may cache what never changes while we run. */
#define TTL_STATIC_MS 300000

static const char *const versions[] = {
    MCP_VERSION_MODERN, "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05",
};
#define VERSION_COUNT (sizeof versions / sizeof versions[0])

struct mcp_server {
    struct mcp_server_options o;
    const char *negotiated;        /* legacy version from initialize; NULL before */
    bool no_token;                 /* over HTTP without the bearer token */
    /* While mcp_server_handle answers one message: a tool result's
     * structuredContent is left out of the reply object and its text kept
     * here, to be written into the reply text as it is (see splice). */
    bool splice_allowed;
    char *splice_text;
    json_t *cancelled[CANCELLED_MAX];   /* ids cancelled before their request was handled */
    size_t cancel_next;
};

/* How one request is being served. */
struct call {
    struct mcp_server *s;
    const struct mcp_rpc_msg *m;
    bool modern;
    const char *version;           /* the revision that applies to this request */
};

bool mcp_server_version_supported(const char *version)
{
    for (size_t i = 0; version && i < VERSION_COUNT; i++)
        if (strcmp(version, versions[i]) == 0)
            return true;
    return false;
}

/* Whether the revision in force is at least since (dates compare as text). */
static bool since(const struct call *c, const char *version)
{
    return strcmp(c->version, version) >= 0;
}

int mcp_server_new(struct mcp_server **out, const struct mcp_server_options *o,
                   struct error *e)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return error_set(e, -ENOMEM, "out of memory for the MCP server");
    (*out)->o = *o;
    return 0;
}

void mcp_server_free(struct mcp_server *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < CANCELLED_MAX; i++)
        json_decref(s->cancelled[i]);
    free(s->splice_text);
    free(s);
}

void mcp_server_set_authorized(struct mcp_server *s, bool authorized)
{
    s->no_token = !authorized;
}

const char *mcp_server_negotiated(const struct mcp_server *s)
{
    return s->negotiated;
}

bool mcp_server_maybe_cancel(const char *buf, size_t len)
{
    static const char needle[] = "notifications/cancelled";
    return memmem(buf, len, needle, sizeof needle - 1) != NULL;
}

/* --- cancellation ------------------------------------------------------ */

static void note_cancelled(struct mcp_server *s, const json_t *params)
{
    json_t *id = json_object_get(params, "requestId");
    if (!json_is_string(id) && !json_is_integer(id))
        return;
    json_decref(s->cancelled[s->cancel_next]);
    s->cancelled[s->cancel_next] = json_deep_copy(id);
    s->cancel_next = (s->cancel_next + 1) % CANCELLED_MAX;
}

/* True (forgetting it) when id was cancelled before its request came up. */
static bool take_cancelled(struct mcp_server *s, const json_t *id)
{
    for (size_t i = 0; i < CANCELLED_MAX; i++) {
        if (s->cancelled[i] && json_equal(s->cancelled[i], id)) {
            json_decref(s->cancelled[i]);
            s->cancelled[i] = NULL;
            return true;
        }
    }
    return false;
}

/* --- results ----------------------------------------------------------- */

static json_t *server_info(const struct mcp_server *s)
{
    return json_pack("{s:s,s:s,s:s}", "name", "gpuctl", "title", "gpuctl",
                     "version", s->o.server_version ? s->o.server_version : "unknown");
}

static json_t *capabilities(void)
{
    return json_pack("{s:{s:b},s:{s:b,s:b}}", "tools", "listChanged", 0, "resources",
                     "subscribe", 0, "listChanged", 0);
}

static const char instructions[] =
    "gpuctl shows and manages the GPUs of this machine.  Read state with list_gpus, "
    "get_gpu_status, list_processes, select_gpus, audit_summary, scan_rogue_activity and "
    "test_policies (or the gpu:// resources).  kill_gpu_process, kill_processes_by_name and "
    "reset_gpu end processes or reset GPUs, and create_user_policy edits guard.toml: confirm "
    "with the user first.  kill_processes_by_name without force only lists what it would "
    "end.";

/* A modern result carries resultType, and cacheable ones ttlMs and
 * cacheScope; serverInfo rides in _meta. */
static json_t *finish(const struct call *c, json_t *result, int ttl_ms, const char *scope)
{
    if (!result || !c->modern)
        return result;
    doc_json_put(result, "resultType", json_string("complete"));
    if (ttl_ms >= 0) {
        doc_json_put(result, "ttlMs", json_integer(ttl_ms));
        doc_json_put(result, "cacheScope", json_string(scope));
    }
    doc_json_put(result, "_meta", json_pack("{s:o}", META_SERVER_INFO, server_info(c->s)));
    return result;
}

static json_t *supported_list(void)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < VERSION_COUNT; i++)
        json_array_append_new(a, json_string(versions[i]));
    return a;
}

/* --- methods ----------------------------------------------------------- */

static json_t *do_initialize(struct call *c, struct mcp_rpc_fault *f)
{
    struct mcp_server *s = c->s;
    if (s->negotiated) {
        mcp_rpc_fault_set(f, MCP_RPC_INVALID_REQUEST, c->m->id,
                          "initialize was already done (protocol version %s)", s->negotiated);
        return NULL;
    }
    json_t *asked = json_object_get(c->m->params, "protocolVersion");
    if (!json_is_string(asked)) {
        mcp_rpc_fault_set(f, MCP_RPC_INVALID_PARAMS, c->m->id,
                          "initialize needs params.protocolVersion (a string)");
        return NULL;
    }
    /* The client's version when we speak it, else our newest: the client
     * decides whether it can go on with that (lifecycle, "Version
     * Negotiation").  The stateless revision is not a session's. */
    s->negotiated = versions[1];
    for (size_t i = 1; i < VERSION_COUNT; i++)
        if (strcmp(json_string_value(asked), versions[i]) == 0)
            s->negotiated = versions[i];
    c->version = s->negotiated;
    json_t *r = json_pack("{s:s,s:o,s:o}", "protocolVersion", s->negotiated, "capabilities",
                          capabilities(), "serverInfo", server_info(s));
    if (r && since(c, "2025-03-26"))
        doc_json_put(r, "instructions", json_string(instructions));
    return r;
}

static json_t *do_discover(struct call *c)
{
    json_t *r = json_pack("{s:o,s:o,s:o,s:s}", "supportedVersions", supported_list(),
                          "capabilities", capabilities(), "serverInfo", server_info(c->s),
                          "instructions", instructions);
    return finish(c, r, TTL_STATIC_MS, "public");
}

static bool tool_offered(const struct mcp_server *s, const struct mcp_tool *t)
{
    return t && (!s->o.read_only || (t->hints & MCP_TOOL_READ_ONLY));
}

static json_t *annotations(const struct mcp_tool *t)
{
    bool ro = t->hints & MCP_TOOL_READ_ONLY;
    json_t *a = json_pack("{s:s,s:b}", "title", t->title, "readOnlyHint", ro);
    if (a && !ro) {
        doc_json_put(a, "destructiveHint", json_boolean(t->hints & MCP_TOOL_DESTRUCTIVE));
        doc_json_put(a, "idempotentHint", json_boolean(t->hints & MCP_TOOL_IDEMPOTENT));
    }
    /* Everything happens on this machine, nothing in an open world. */
    if (a)
        doc_json_put(a, "openWorldHint", json_false());
    return a;
}

static json_t *tool_json(const struct call *c, const struct mcp_tool *t)
{
    json_t *o = json_pack("{s:s,s:s,s:o}", "name", t->name, "description", t->description,
                          "inputSchema", mcp_tool_input_schema(t, c->s->o.env));
    if (!o)
        return NULL;
    if (since(c, "2025-06-18")) {
        doc_json_put(o, "title", json_string(t->title));
        doc_json_put(o, "outputSchema", t->output_schema());
    }
    if (since(c, "2025-03-26"))
        doc_json_put(o, "annotations", annotations(t));
    return o;
}

static bool cursor_refused(struct call *c, struct mcp_rpc_fault *f)
{
    /* Every list fits one page, so no cursor was ever handed out. */
    if (!json_object_get(c->m->params, "cursor"))
        return false;
    mcp_rpc_fault_set(f, MCP_RPC_INVALID_PARAMS, c->m->id,
                      "params.cursor names no page: every list is answered whole");
    return true;
}

static json_t *do_tools_list(struct call *c, struct mcp_rpc_fault *f)
{
    if (cursor_refused(c, f))
        return NULL;
    size_t n;
    const struct mcp_tool *all = mcp_tools_all(&n);
    json_t *tools = json_array();
    for (size_t i = 0; tools && i < n; i++) {
        if (!tool_offered(c->s, &all[i]))
            continue;
        json_t *t = tool_json(c, &all[i]);
        if (!t || json_array_append_new(tools, t) < 0) {
            json_decref(tools);
            return NULL;
        }
    }
    return finish(c, json_pack("{s:o}", "tools", tools), TTL_STATIC_MS, "public");
}

/* A document's compact text as a JSON string.  jansson writes valid UTF-8
 * (documents repair what they take from outside), so the text is not
 * checked again: on 256 processes that check cost more than the dump.
 * With keep, *keep receives the text itself (malloc'd). */
static json_t *dumped_text(const json_t *doc, char **keep)
{
    char *buf = json_dumps(doc, doc_json_dump_flags(true));
    json_t *text = buf ? json_stringn_nocheck(buf, strlen(buf)) : NULL;
    if (keep && text)
        *keep = buf;
    else
        free(buf);
    return text;
}

/* The document as a tool result: its text, and the object itself where
 * the revision has structured output.  When the reply is written as text
 * at once, the object is not put in the result: the same text goes into
 * the reply (splice), so a large document is serialised once, not twice. */
static json_t *tool_result(const struct call *c, json_t *doc, const struct error *failure)
{
    bool structured = doc && !failure && since(c, "2025-06-18");
    bool splice = structured && c->s->splice_allowed && !c->s->splice_text;
    json_t *text = failure ? doc_json_text(failure->msg)
                           : dumped_text(doc, splice ? &c->s->splice_text : NULL);
    json_t *r = json_pack("{s:[{s:s,s:o}],s:b}", "content", "type", "text", "text", text,
                          "isError", failure != NULL);
    if (r && structured && !splice)
        doc_json_put(r, "structuredContent", json_incref(doc));
    if (!r) {
        free(c->s->splice_text);
        c->s->splice_text = NULL;
    }
    return r;
}

static json_t *do_tools_call(struct call *c, struct mcp_rpc_fault *f)
{
    json_t *name = json_object_get(c->m->params, "name");
    json_t *args = json_object_get(c->m->params, "arguments");
    if (!json_is_string(name)) {
        mcp_rpc_fault_set(f, MCP_RPC_INVALID_PARAMS, c->m->id,
                          "tools/call needs params.name (a string)");
        return NULL;
    }
    const struct mcp_tool *t = mcp_tool_find(json_string_value(name));
    if (!tool_offered(c->s, t)) {
        mcp_rpc_fault_set(f, MCP_RPC_INVALID_PARAMS, c->m->id, "unknown tool '%s'%s",
                          json_string_value(name),
                          t ? " (the server is read-only: it offers no tool that changes "
                              "anything)" : "");
        return NULL;
    }
    if (args && !json_is_object(args)) {
        mcp_rpc_fault_set(f, MCP_RPC_INVALID_PARAMS, c->m->id,
                          "params.arguments of %s must be an object", t->name);
        return NULL;
    }
    json_t *empty = args ? NULL : json_object();
    struct mcp_args a = {.obj = args ? args : empty};
    struct error e = {0};
    json_t *doc = NULL;
    /* A bad argument is the tool's failure, not the protocol's: the model
     * reads the message and corrects itself (SEP-1303, 2025-11-25). */
    int rc = mcp_tool_check_args(t, c->s->o.env, a.obj, &e);
    if (rc == 0 && c->s->no_token && !(t->hints & MCP_TOOL_READ_ONLY))
        rc = error_set(&e, -EACCES, "%s changes this machine: it needs the server's bearer "
                       "token (Authorization: Bearer TOKEN)", t->name);
    if (rc == 0)
        rc = t->call(c->s->o.env, &a, &doc, &e);
    if (rc == 0 && !doc)
        rc = error_set(&e, -ENOMEM, "out of memory for the result of %s", t->name);
    json_t *r = tool_result(c, doc, rc < 0 ? &e : NULL);
    json_decref(doc);
    json_decref(empty);
    return finish(c, r, -1, NULL);
}

static json_t *do_resources_list(struct call *c, struct mcp_rpc_fault *f)
{
    if (cursor_refused(c, f))
        return NULL;
    return finish(c, json_pack("{s:o}", "resources", mcp_resources_list()), TTL_STATIC_MS,
                  "public");
}

static json_t *do_templates_list(struct call *c, struct mcp_rpc_fault *f)
{
    if (cursor_refused(c, f))
        return NULL;
    return finish(c, json_pack("{s:o}", "resourceTemplates", mcp_resource_templates()),
                  TTL_STATIC_MS, "public");
}

static json_t *do_resources_read(struct call *c, struct mcp_rpc_fault *f)
{
    json_t *uri = json_object_get(c->m->params, "uri");
    if (!json_is_string(uri)) {
        mcp_rpc_fault_set(f, MCP_RPC_INVALID_PARAMS, c->m->id,
                          "resources/read needs params.uri (a string)");
        return NULL;
    }
    struct error e = {0};
    json_t *doc = NULL;
    int rc = mcp_resource_read(c->s->o.env, json_string_value(uri), &doc, &e);
    if (rc == -ENOENT) {
        /* -32002 until 2025-11-25; the stateless revision uses -32602. */
        mcp_rpc_fault_set(f, c->modern ? MCP_RPC_INVALID_PARAMS : RESOURCE_NOT_FOUND_LEGACY,
                          c->m->id, "%s", e.msg);
        return NULL;
    }
    if (rc < 0) {
        mcp_rpc_fault_set(f, MCP_RPC_INTERNAL_ERROR, c->m->id, "%s", e.msg);
        return NULL;
    }
    json_t *text = dumped_text(doc, NULL);
    json_decref(doc);
    json_t *r = json_pack("{s:[{s:O,s:s,s:o}]}", "contents", "uri", uri, "mimeType",
                          "application/json", "text", text);
    return finish(c, r, 0, "private");
}

/* --- dispatch ---------------------------------------------------------- */

typedef json_t *(*method_fn)(struct call *c, struct mcp_rpc_fault *f);

static json_t *do_ping(struct call *c, struct mcp_rpc_fault *f)
{
    (void)f;
    return finish(c, json_object(), -1, NULL);
}

static json_t *do_discover_method(struct call *c, struct mcp_rpc_fault *f)
{
    (void)f;
    return do_discover(c);
}

struct method {
    const char *name;
    method_fn fn;
    bool legacy, modern;           /* the eras that have it */
};

static const struct method methods[] = {
    {"ping", do_ping, true, false},
    {"server/discover", do_discover_method, false, true},
    {"tools/list", do_tools_list, true, true},
    {"tools/call", do_tools_call, true, true},
    {"resources/list", do_resources_list, true, true},
    {"resources/read", do_resources_read, true, true},
    {"resources/templates/list", do_templates_list, true, true},
};

static const struct method *find_method(const char *name)
{
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(methods[i].name, name) == 0)
            return &methods[i];
    return NULL;
}

/* The request's era: modern when _meta names a protocol version.  Returns
 * 0, or the code with f filled for a modern request that is malformed or
 * asks for a version we do not serve statelessly (data: supported). */
static int choose_era(struct call *c, struct mcp_rpc_fault *f, json_t **data)
{
    json_t *meta = json_object_get(c->m->params, "_meta");
    json_t *v = json_is_object(meta) ? json_object_get(meta, META_VERSION) : NULL;
    c->modern = v != NULL;
    c->version = c->s->negotiated ? c->s->negotiated : MCP_VERSION_LATEST_LEGACY;
    if (!c->modern)
        return 0;
    if (!json_is_string(v))
        return mcp_rpc_fault_set(f, MCP_RPC_INVALID_PARAMS, c->m->id,
                                 "_meta[\"%s\"] must be a string", META_VERSION);
    if (strcmp(json_string_value(v), MCP_VERSION_MODERN) != 0) {
        *data = json_pack("{s:o,s:O}", "supported", supported_list(), "requested", v);
        return mcp_rpc_fault_set(f, MCP_RPC_UNSUPPORTED_PROTOCOL_VERSION, c->m->id,
                                 "unsupported protocol version '%s' in _meta (a request "
                                 "carrying its version is served by %s)",
                                 json_string_value(v), MCP_VERSION_MODERN);
    }
    if (!json_is_object(json_object_get(meta, META_CAPABILITIES)))
        return mcp_rpc_fault_set(f, MCP_RPC_INVALID_PARAMS, c->m->id,
                                 "_meta[\"%s\"] (an object) is required with a protocol "
                                 "version in _meta", META_CAPABILITIES);
    c->version = MCP_VERSION_MODERN;
    return 0;
}

static json_t *handle_request(struct mcp_server *s, const struct mcp_rpc_msg *m)
{
    struct call c = {.s = s, .m = m};
    struct mcp_rpc_fault f = {0};
    json_t *data = NULL, *result = NULL;
    if (take_cancelled(s, m->id))
        return NULL;
    if (strcmp(m->method, "initialize") == 0) {
        c.version = MCP_VERSION_LATEST_LEGACY;
        result = do_initialize(&c, &f);
    } else if (choose_era(&c, &f, &data) == 0) {
        const struct method *me = find_method(m->method);
        if (!me || !(c.modern ? me->modern : me->legacy))
            mcp_rpc_fault_set(&f, MCP_RPC_METHOD_NOT_FOUND, m->id,
                              "method '%s' not found%s", m->method,
                              me ? (c.modern ? " in the stateless revision " MCP_VERSION_MODERN
                                             : " (it needs _meta[\"" META_VERSION "\"])")
                                 : "");
        else if (!c.modern && !s->negotiated && strcmp(m->method, "ping") != 0)
            mcp_rpc_fault_set(&f, MCP_RPC_INVALID_REQUEST, m->id,
                              "%s before initialize: send initialize first, or give the "
                              "protocol version in _meta[\"" META_VERSION "\"]", m->method);
        else
            result = me->fn(&c, &f);
    }
    if (result)
        return mcp_rpc_result(m->id, result);
    if (!f.code)
        mcp_rpc_fault_set(&f, MCP_RPC_INTERNAL_ERROR, m->id, "out of memory answering %s",
                          m->method);
    return mcp_rpc_error(m->id, f.code, f.message, data);
}

static void handle_notification(struct mcp_server *s, const struct mcp_rpc_msg *m)
{
    /* notifications/initialized changes nothing here: the server sends no
     * requests it would have to hold back until then, and answers a
     * client that sends requests before it.  Any other notification needs
     * no action either. */
    if (strcmp(m->method, "notifications/cancelled") == 0)
        note_cancelled(s, m->params);
}

/* One message of a batch or alone.  Returns the reply (new reference) or
 * NULL when none is due. */
static json_t *handle_one(struct mcp_server *s, json_t *msg, bool in_batch)
{
    struct mcp_rpc_msg m;
    struct mcp_rpc_fault f = {0};
    if (mcp_rpc_classify(msg, &m, &f) != 0)
        return mcp_rpc_fault_reply(&f);
    switch (m.kind) {
    case MCP_RPC_RESPONSE:
        return NULL;    /* we send no requests; a stray response is dropped */
    case MCP_RPC_NOTIFICATION:
        handle_notification(s, &m);
        return NULL;
    case MCP_RPC_REQUEST:
        break;
    }
    if (in_batch && strcmp(m.method, "initialize") == 0)
        return mcp_rpc_error(m.id, MCP_RPC_INVALID_REQUEST,
                             "initialize must not be part of a batch", NULL);
    return handle_request(s, &m);
}

static json_t *handle_batch(struct mcp_server *s, json_t *batch)
{
    /* Batches exist only in revision 2025-03-26 (added there, removed in
     * 2025-06-18). */
    if (!s->negotiated || strcmp(s->negotiated, "2025-03-26") != 0)
        return mcp_rpc_error(NULL, MCP_RPC_INVALID_REQUEST,
                             s->negotiated ? "batch arrays are not part of this protocol "
                                             "version: send one message at a time"
                                           : "a batch array cannot come before initialize",
                             NULL);
    if (json_array_size(batch) == 0)
        return mcp_rpc_error(NULL, MCP_RPC_INVALID_REQUEST, "empty batch array", NULL);
    json_t *replies = json_array();
    if (!replies)
        return NULL;
    size_t i;
    json_t *msg;
    json_array_foreach(batch, i, msg) {
        json_t *r = handle_one(s, msg, true);
        if (r)
            json_array_append_new(replies, r);
    }
    if (json_array_size(replies) == 0) {
        json_decref(replies);
        return NULL;
    }
    return replies;
}

int mcp_server_handle_json(struct mcp_server *s, json_t *msg, json_t **reply)
{
    *reply = json_is_array(msg) ? handle_batch(s, msg) : handle_one(s, msg, false);
    return 0;
}

/* Writes ,"structuredContent":TEXT into the reply text of a tool result,
 * as the last member of "result": the text ends with the result's '}' and
 * the message's.  Returns the new text (text is freed) or NULL. */
static char *splice(char *text, size_t *len, const char *structured)
{
    static const char key[] = ",\"structuredContent\":";
    size_t slen = strlen(structured), klen = sizeof key - 1;
    if (*len < 2 || strcmp(text + *len - 2, "}}") != 0) {
        free(text);
        return NULL;
    }
    char *out = realloc(text, *len + klen + slen + 1);
    if (!out) {
        free(text);
        return NULL;
    }
    char *at = out + *len - 2;
    memcpy(at + klen + slen, "}}", 3);
    memcpy(at, key, klen);
    memcpy(at + klen, structured, slen);
    *len += klen + slen;
    return out;
}

int mcp_server_handle(struct mcp_server *s, const char *buf, size_t len, char **reply,
                      size_t *reply_len)
{
    *reply = NULL;
    *reply_len = 0;
    struct mcp_rpc_fault f = {0};
    json_t *msg = mcp_rpc_decode(buf, len, &f);
    json_t *r = msg ? NULL : mcp_rpc_fault_reply(&f);
    s->splice_allowed = json_is_object(msg);
    if (msg)
        mcp_server_handle_json(s, msg, &r);
    s->splice_allowed = false;
    json_decref(msg);
    char *structured = s->splice_text;
    s->splice_text = NULL;
    if (r) {
        *reply = mcp_rpc_dump(r, reply_len);
        if (*reply && structured && json_object_get(r, "result"))
            *reply = splice(*reply, reply_len, structured);
    }
    free(structured);
    json_decref(r);
    return !r || *reply ? 0 : -ENOMEM;
}
