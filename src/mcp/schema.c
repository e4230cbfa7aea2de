/* schema.c - the outputSchema of the MCP tools, derived from the field
 * table (core/fields.h) the way the documents themselves are, so the
 * schema a client validates against names every key, unit and help
 * sentence of the snapshot document exactly once (ARCHITECTURE.md
 * decision 7).
 *
 * The documents that are not built from the field table (kill, select,
 * audit, ...) get the schema of their top level: the keys every such
 * document has, each with its JSON type.
 */
#include <string.h>

#include "core/fields.h"
#include "doc/json.h"
#include "mcp/schema.h"

static const char *field_type(const struct field_def *f)
{
    if (f->json == FIELD_JSON_NAME || f->json == FIELD_JSON_TIME)
        return "string";
    if (f->json == FIELD_JSON_MILLI)
        return "number";
    switch (f->kind) {
    case FIELD_U64: case FIELD_I64: case FIELD_INT: case FIELD_UINT:
        return "integer";
    case FIELD_F64:
        return "number";
    case FIELD_BOOL:
        return "boolean";
    case FIELD_STR: case FIELD_STRPTR: case FIELD_CHAR:
        return "string";
    }
    return "string";
}

/* {"type": [t, "null"], "description": help (unit)}: unknown is null. */
static json_t *field_schema(const struct field_def *f)
{
    json_t *o = json_pack("{s:[s,s]}", "type", field_type(f), "null");
    if (o && f->help)
        doc_json_put(o, "description", json_string(f->help));
    return o;
}

/* The properties of the scopes in mask, groups as nested objects. */
static json_t *scope_properties(unsigned mask)
{
    json_t *props = json_object();
    size_t n;
    const struct field_def *t = fields_all(&n);
    for (size_t i = 0; props && i < n; i++) {
        const struct field_def *f = &t[i];
        if (!(mask & 1u << f->scope) || (f->flags & FIELD_F_NO_DOC))
            continue;
        json_t *target = props;
        if (f->group) {
            json_t *g = json_object_get(props, f->group);
            if (!g) {
                g = json_pack("{s:s,s:{}}", "type", "object", "properties");
                doc_json_put(props, f->group, g);
            }
            target = json_object_get(g, "properties");
        }
        if (target)
            doc_json_put(target, f->key, field_schema(f));
    }
    return props;
}

static json_t *object_of(json_t *props)
{
    return json_pack("{s:s,s:o}", "type", "object", "properties", props);
}

json_t *mcp_schema_snapshot(void)
{
    json_t *proc = object_of(scope_properties(1u << FIELD_GPU_PROCESS |
                                              1u << FIELD_HOST_PROCESS));
    json_t *gpu_props = scope_properties(1u << FIELD_DEVICE);
    if (gpu_props) {
        doc_json_put(gpu_props, "pids", json_pack("{s:s}", "type", "integer"));
        doc_json_put(gpu_props, "top_proc", json_pack("{s:[O,{s:s}]}", "anyOf", proc,
                                                      "type", "null"));
        doc_json_put(gpu_props, "mig_instances",
                     json_pack("{s:s,s:o}", "type", "array", "items",
                               object_of(scope_properties(1u << FIELD_MIG))));
    }
    json_t *host = scope_properties(1u << FIELD_HOST);
    json_t *root = json_pack("{s:s,s:o,s:[s,s]}", "type", "object", "properties", host,
                             "required", "gpus", "procs");
    json_t *rprops = json_object_get(root, "properties");
    if (rprops) {
        doc_json_put(rprops, "ts", json_pack("{s:[s,s]}", "type", "string", "null"));
        doc_json_put(rprops, "gpus", json_pack("{s:s,s:o}", "type", "array", "items",
                                               object_of(gpu_props)));
        doc_json_put(rprops, "procs", json_pack("{s:s,s:O}", "type", "array", "items", proc));
    } else {
        json_decref(gpu_props);
    }
    json_decref(proc);
    return root;
}

json_t *mcp_schema_object(const struct mcp_schema_key *keys, size_t count)
{
    json_t *props = json_object(), *required = json_array();
    for (size_t i = 0; props && required && i < count; i++) {
        json_t *p = keys[i].nullable
                        ? json_pack("{s:[s,s]}", "type", keys[i].type, "null")
                        : json_pack("{s:s}", "type", keys[i].type);
        if (p && keys[i].description)
            doc_json_put(p, "description", json_string(keys[i].description));
        doc_json_put(props, keys[i].key, p);
        json_array_append_new(required, json_string(keys[i].key));
    }
    return json_pack("{s:s,s:o,s:o}", "type", "object", "properties", props, "required",
                     required);
}

#define KEYS(k) mcp_schema_object(k, sizeof k / sizeof k[0])

json_t *mcp_schema_kill(void)
{
    static const struct mcp_schema_key k[] = {
        {"processes", "array", false, "each process chosen, with its result (docs/json/kill.md)"},
    };
    return KEYS(k);
}

json_t *mcp_schema_reset(void)
{
    static const struct mcp_schema_key k[] = {
        {"force", "boolean", false, "processes on the GPU were ended first"},
        {"processes", "array", false, "those processes, as in the kill document"},
        {"gpus", "array", false, "the GPU reset, with the command, its result and output"},
    };
    return KEYS(k);
}

json_t *mcp_schema_select(void)
{
    static const struct mcp_schema_key k[] = {
        {"enough", "boolean", false, "at least the asked number of GPUs qualified"},
        {"reason", "string", true, "why not, when not enough"},
        {"qualified", "integer", false, "GPUs that met every constraint"},
        {"cuda_visible_devices", "string", true, "the value for CUDA_VISIBLE_DEVICES"},
        {"devices", "array", false, "the GPUs chosen, best first"},
    };
    return KEYS(k);
}

json_t *mcp_schema_audit_summary(void)
{
    static const struct mcp_schema_key k[] = {
        {"samples", "integer", false, "recorder samples in the window"},
        {"top_users", "array", false, "users by GPU memory hours"},
        {"top_processes", "array", false, "process names by GPU memory hours"},
        {"gpus", "array", false, "per GPU: average and peak utilisation, peak memory"},
        {"hourly", "array", false, "usage by hour of the day"},
    };
    return KEYS(k);
}

json_t *mcp_schema_rogue(void)
{
    static const struct mcp_schema_key k[] = {
        {"scanned", "object", false, "what was scanned: live processes and history rows"},
        {"findings", "array", false, "each finding with its category, risk and evidence"},
    };
    return KEYS(k);
}

json_t *mcp_schema_policies(void)
{
    /* guard.toml as JSON (docs/json/guard.md): its tables as objects. */
    static const struct mcp_schema_key k[] = {
        {"global", "object", false, "enabled, dry_run, enforcement, grace period, interval"},
        {"time_policies", "array", false, "the time-of-day policies"},
    };
    return KEYS(k);
}

json_t *mcp_schema_policies_test(void)
{
    static const struct mcp_schema_key k[] = {
        {"enabled", "boolean", false, "the guard enforces the policies"},
        {"dry_run", "boolean", false, "the guard only reports what it would do"},
        {"enforcement", "string", false, "hard or soft"},
        {"violations", "array", false, "each violation found now and the planned action"},
    };
    return KEYS(k);
}
