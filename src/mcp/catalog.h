/* catalog.h - what the MCP server offers: its tools and resources, and the
 * environment they act on.
 *
 * A tool names its arguments with gpu-kill's names and says which option
 * of which command each one is (the option tables, core/options.h), so the
 * tool's inputSchema carries the option's help sentence and range and a
 * bad value is refused with the sentence the command line would print.
 * Every tool and resource answers with the document the CLI prints for the
 * same operation (src/doc).
 *
 * Thread use: a call uses the environment's snapshot source; one call at a
 * time per environment.
 */
#ifndef GPUCTL_MCP_CATALOG_H
#define GPUCTL_MCP_CATALOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "core/error.h"
#include "core/options.h"
#include "core/snapshot.h"

/* Where tools read the machine's state and find their option tables.  The
 * front end fills it (cli/mcp.c: from a feed); the server never opens a
 * GPU source itself. */
struct mcp_env {
    /* A snapshot with GPU processes and their host records (owners and
     * command lines): the newest one for a read; with fresh, one taken
     * after the call began (what a kill or reset is decided on).  *out is
     * borrowed until release(token).  Returns 0 or a negative code with e
     * filled. */
    int (*snapshot)(void *ctx, bool fresh, const struct snapshot **out, void **token,
                    struct error *e);
    void (*release)(void *ctx, void *token);
    void *ctx;
    /* The option table of a command ("kill"), or NULL; NULL function: no
     * tables (schemas then carry the tool's own sentences). */
    const struct options_command *(*options_table)(const char *command);
    const struct config *cfg;   /* default_timeout_secs, audit database; NULL: defaults */
};

enum mcp_arg_type { MCP_ARG_INTEGER, MCP_ARG_NUMBER, MCP_ARG_BOOLEAN, MCP_ARG_STRING };

struct mcp_arg {
    const char *name;         /* gpu-kill's name: "pid", "gpu_id" */
    enum mcp_arg_type type;
    bool required;
    const char *command;      /* the command whose option it is ("kill"), or NULL */
    const char *option;       /* that option's long name ("pid") */
    const char *help;         /* used when the option's help does not fit the tool */
    double min, max;          /* for numbers when no option gives a range (min == max: none) */
};

#define MCP_TOOL_READ_ONLY   0x1u
#define MCP_TOOL_DESTRUCTIVE 0x2u
#define MCP_TOOL_IDEMPOTENT  0x4u

/* A tool's arguments after checking: look them up by name. */
struct mcp_args {
    const json_t *obj;
};

struct mcp_tool {
    const char *name, *title, *description;
    unsigned hints;
    const struct mcp_arg *args;
    size_t arg_count;
    /* The schema of the structured result: a new reference. */
    json_t *(*output_schema)(void);
    /* Runs the tool.  Returns 0 with *doc (new reference, an object), or a
     * negative code with e filled: the call then answers isError with the
     * message. */
    int (*call)(const struct mcp_env *env, const struct mcp_args *a, json_t **doc,
                struct error *e);
};

const struct mcp_tool *mcp_tools_all(size_t *count);
const struct mcp_tool *mcp_tool_find(const char *name);

/* The tool's inputSchema (JSON Schema 2020-12 object).  New reference or NULL. */
json_t *mcp_tool_input_schema(const struct mcp_tool *t, const struct mcp_env *env);

/* Checks args (an object) against the tool's arguments: unknown names,
 * types, ranges, missing required ones.  Returns 0 or -EINVAL with e
 * naming the argument. */
int mcp_tool_check_args(const struct mcp_tool *t, const struct mcp_env *env,
                        const json_t *args, struct error *e);

/* Typed access to checked arguments; the default when absent. */
long long mcp_args_int(const struct mcp_args *a, const char *name, long long dflt);
double mcp_args_number(const struct mcp_args *a, const char *name, double dflt);
bool mcp_args_bool(const struct mcp_args *a, const char *name, bool dflt);
const char *mcp_args_string(const struct mcp_args *a, const char *name);
bool mcp_args_has(const struct mcp_args *a, const char *name);

/* Resources: gpu://list and the others as an array of Resource objects, the
 * templates as ResourceTemplate objects (new references). */
json_t *mcp_resources_list(void);
json_t *mcp_resource_templates(void);
/* The document behind uri.  0 with *doc, -ENOENT when no resource has that
 * URI (e names it), or another negative code with e filled. */
int mcp_resource_read(const struct mcp_env *env, const char *uri, json_t **doc,
                      struct error *e);

#endif
