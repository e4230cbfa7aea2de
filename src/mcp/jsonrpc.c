/* jsonrpc.c - reading and writing JSON-RPC 2.0 messages for the MCP
 * server (mcp/server.c calls it for every message any transport receives).
 *
 * It checks the shape of one message and nothing about MCP's methods: what
 * a method may be called with is the server's business, how messages are
 * framed is the transports'.  Refusals carry the code JSON-RPC 2.0 assigns
 * and a sentence naming what was wrong, so a client author can fix the
 * request from the error alone.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc/json.h"
#include "mcp/jsonrpc.h"

int mcp_rpc_fault_set(struct mcp_rpc_fault *f, int code, json_t *id, const char *fmt, ...)
{
    f->code = code;
    f->id = id;
    f->answer = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof f->message, fmt, ap);
    va_end(ap);
    return code;
}

json_t *mcp_rpc_decode(const char *buf, size_t len, struct mcp_rpc_fault *f)
{
    if (len > MCP_RPC_MAX_MESSAGE) {
        mcp_rpc_fault_set(f, MCP_RPC_INVALID_REQUEST, NULL,
                          "message of %zu bytes is larger than the limit of %u bytes", len,
                          MCP_RPC_MAX_MESSAGE);
        return NULL;
    }
    json_error_t je;
    json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!v)
        mcp_rpc_fault_set(f, MCP_RPC_PARSE_ERROR, NULL, "parse error at line %d, column %d: %s",
                          je.line, je.column, je.text);
    return v;
}

/* A JSON-RPC id as MCP allows it: a string or an integer (never null). */
static bool id_valid(const json_t *id)
{
    return json_is_string(id) || json_is_integer(id);
}

static int classify_response(json_t *m, json_t *id, struct mcp_rpc_msg *out,
                             struct mcp_rpc_fault *f)
{
    bool has_result = json_object_get(m, "result") != NULL;
    bool has_error = json_object_get(m, "error") != NULL;
    if (has_result == has_error)
        return mcp_rpc_fault_set(f, MCP_RPC_INVALID_REQUEST, NULL,
                                 "a message without \"method\" must be a response with "
                                 "exactly one of \"result\" and \"error\"");
    if (!id_valid(id) && !(has_error && !id))
        return mcp_rpc_fault_set(f, MCP_RPC_INVALID_REQUEST, NULL,
                                 "a response's \"id\" must be a string or an integer");
    out->kind = MCP_RPC_RESPONSE;
    out->id = id;
    return 0;
}

int mcp_rpc_classify(json_t *m, struct mcp_rpc_msg *out, struct mcp_rpc_fault *f)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(m))
        return mcp_rpc_fault_set(f, MCP_RPC_INVALID_REQUEST, NULL,
                                 "a message must be a JSON object, not %s",
                                 json_is_array(m) ? "an array" : "a bare value");
    json_t *id = json_object_get(m, "id");
    /* The id is echoed in the refusal only when it is one a client could
     * have sent; a refused message that has no id is a notification. */
    json_t *echo = id_valid(id) ? id : NULL;
    const json_t *version = json_object_get(m, "jsonrpc");
    if (!json_is_string(version) || strcmp(json_string_value(version), "2.0") != 0)
        return mcp_rpc_fault_set(f, MCP_RPC_INVALID_REQUEST, echo,
                                 "\"jsonrpc\" must be the string \"2.0\"");
    json_t *method = json_object_get(m, "method");
    if (!method)
        return classify_response(m, id, out, f);
    if (id && !id_valid(id))
        return mcp_rpc_fault_set(f, MCP_RPC_INVALID_REQUEST, NULL,
                                 "\"id\" must be a string or an integer, not %s",
                                 json_is_null(id) ? "null" : "another type");
    if (!json_is_string(method)) {
        mcp_rpc_fault_set(f, MCP_RPC_INVALID_REQUEST, echo, "\"method\" must be a string");
        f->answer = id != NULL;
        return f->code;
    }
    json_t *params = json_object_get(m, "params");
    if (params && !json_is_object(params)) {
        mcp_rpc_fault_set(f, MCP_RPC_INVALID_PARAMS, echo,
                          "\"params\" of %s must be an object", json_string_value(method));
        f->answer = id != NULL;
        return f->code;
    }
    out->kind = id ? MCP_RPC_REQUEST : MCP_RPC_NOTIFICATION;
    out->id = id;
    out->method = json_string_value(method);
    out->params = params;
    return 0;
}

json_t *mcp_rpc_result(json_t *id, json_t *result)
{
    if (!result)
        return NULL;
    return json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id", id, "result", result);
}

json_t *mcp_rpc_error(json_t *id, int code, const char *message, json_t *data)
{
    /* "o" hands each reference to json_pack, which drops it on failure. */
    json_t *err = json_pack("{s:i,s:o}", "code", code, "message", doc_json_text(message));
    if (!err) {
        json_decref(data);
        return NULL;
    }
    if (data && json_object_set_new(err, "data", data) < 0) {
        json_decref(err);
        return NULL;
    }
    json_t *m = id ? json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id", id, "error", err)
                   : json_pack("{s:s,s:o}", "jsonrpc", "2.0", "error", err);
    return m;
}

json_t *mcp_rpc_fault_reply(const struct mcp_rpc_fault *f)
{
    if (!f->answer)
        return NULL;
    return mcp_rpc_error(f->id, f->code, f->message, NULL);
}

char *mcp_rpc_dump(const json_t *m, size_t *len)
{
    char *text = json_dumps(m, doc_json_dump_flags(true));
    if (text && len)
        *len = strlen(text);
    return text;
}
