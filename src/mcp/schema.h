/* schema.h - JSON Schemas of the documents the MCP tools answer with
 * (their outputSchema).  Every function returns a new reference or NULL.
 */
#ifndef GPUCTL_MCP_SCHEMA_H
#define GPUCTL_MCP_SCHEMA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The snapshot document (docs/json/list.md), from the field table. */
json_t *mcp_schema_snapshot(void);

/* A top-level key every document of one kind has. */
struct mcp_schema_key {
    const char *key;
    const char *type;        /* "object", "array", "integer", "number", "string", "boolean" */
    bool nullable;
    const char *description;
};

/* An object schema requiring those keys (others allowed). */
json_t *mcp_schema_object(const struct mcp_schema_key *keys, size_t count);

/* The top levels of the other documents (src/doc): kill, reset, select,
 * audit summary, rogue scan, policies and policy test. */
json_t *mcp_schema_kill(void);
json_t *mcp_schema_reset(void);
json_t *mcp_schema_select(void);
json_t *mcp_schema_audit_summary(void);
json_t *mcp_schema_rogue(void);
json_t *mcp_schema_policies(void);
json_t *mcp_schema_policies_test(void);

#endif
