/* jsonrpc.h - JSON-RPC 2.0 as MCP uses it: decoding one message text
 * (a single message or, where the caller allows it, a batch array),
 * telling requests, notifications and responses apart, and building
 * results and errors.
 *
 * MCP's rules on top of JSON-RPC 2.0: a request id is a string or an
 * integer and never null; params, when present, are an object; an error
 * that answers no identifiable request carries no id at all (never
 * "id": null).  Everything here is transport-free: the stdio and HTTP
 * front ends frame messages, this module only reads and writes them.
 *
 * Thread use: no state; any thread.
 */
#ifndef GPUCTL_MCP_JSONRPC_H
#define GPUCTL_MCP_JSONRPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The error codes of JSON-RPC 2.0 (section 5.1). */
#define MCP_RPC_PARSE_ERROR      (-32700)
#define MCP_RPC_INVALID_REQUEST  (-32600)
#define MCP_RPC_METHOD_NOT_FOUND (-32601)
#define MCP_RPC_INVALID_PARAMS   (-32602)
#define MCP_RPC_INTERNAL_ERROR   (-32603)
/* MCP 2026-07-28: a request's protocol version the server does not speak. */
#define MCP_RPC_UNSUPPORTED_PROTOCOL_VERSION (-32022)

/* The largest message text decoded; a longer one is an invalid request
 * (the transports bound their reads with it too). */
#define MCP_RPC_MAX_MESSAGE (4u * 1024u * 1024u)

enum mcp_rpc_kind {
    MCP_RPC_REQUEST,        /* method and id: answered */
    MCP_RPC_NOTIFICATION,   /* method, no id: never answered */
    MCP_RPC_RESPONSE,       /* result or error with an id: a reply to us */
};

/* One classified message.  Every pointer borrows from the message object
 * given to mcp_rpc_classify, which must outlive it. */
struct mcp_rpc_msg {
    enum mcp_rpc_kind kind;
    json_t *id;             /* string or integer; NULL for a notification */
    const char *method;     /* NULL for a response */
    json_t *params;         /* an object, or NULL when absent */
};

/* Why a message was refused: a JSON-RPC code, one sentence, and the id to
 * answer with when one could be read (NULL: answer without an id; a
 * notification that is refused is not answered at all, see answer). */
struct mcp_rpc_fault {
    int code;
    char message[256];
    json_t *id;             /* borrowed from the message, or NULL */
    bool answer;            /* false: the refused message was a notification */
};

/* Decodes buf[0..len) as one JSON value.  Returns the value (a new
 * reference), or NULL with f filled: -32700 for text that is not JSON
 * (naming the line and column), -32600 for more than MCP_RPC_MAX_MESSAGE
 * bytes.  Objects with a repeated key are refused as not JSON. */
json_t *mcp_rpc_decode(const char *buf, size_t len, struct mcp_rpc_fault *f);

/* Checks that m is one JSON-RPC 2.0 message and fills out.  Returns 0, or
 * the JSON-RPC code with f filled (-32600: not an object, "jsonrpc" not
 * "2.0", an id that is null or not a string or integer, a method that is
 * not a string, both or neither of result and error; -32602: params that
 * are not an object). */
int mcp_rpc_classify(json_t *m, struct mcp_rpc_msg *out, struct mcp_rpc_fault *f);

/* {"jsonrpc":"2.0","id":id,"result":result}; takes the reference to
 * result.  New reference, or NULL (ENOMEM). */
json_t *mcp_rpc_result(json_t *id, json_t *result);

/* {"jsonrpc":"2.0","id":id,"error":{"code","message","data"}}; the id is
 * left out when NULL, data when NULL (its reference is taken). */
json_t *mcp_rpc_error(json_t *id, int code, const char *message, json_t *data);

/* The error answering a fault (NULL when the fault is not answered). */
json_t *mcp_rpc_fault_reply(const struct mcp_rpc_fault *f);

/* Fills f; returns code. */
int mcp_rpc_fault_set(struct mcp_rpc_fault *f, int code, json_t *id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The compact text of a message, without a newline (the stdio transport
 * adds one; JSON text never contains a raw newline).  malloc'd, or NULL. */
char *mcp_rpc_dump(const json_t *m, size_t *len);

#endif
