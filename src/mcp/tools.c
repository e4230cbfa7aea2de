/* tools.c - the MCP tools: gpu-kill's six with its argument names and
 * gpuctl's own, each calling the service and the document builder the
 * matching command uses, so a tool answers with the JSON the CLI prints.
 *
 * The tools that read the machine take the environment's snapshot (a feed
 * frame in `gpuctl mcp`), never a GPU source of their own.  Protocol
 * matters (which revision sees what, errors) are mcp/server.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc/snapshot_doc.h"
#include "mcp/catalog.h"
#include "mcp/schema.h"
#include "mcp/tools.h"

/* ---- the snapshot and the documents built from it -------------------------- */

int mcp_env_snapshot(const struct mcp_env *env, const struct snapshot **out, void **token,
                     struct error *e)
{
    if (!env || !env->snapshot)
        return error_set(e, -EIO, "no GPU state is available to this server");
    return env->snapshot(env->ctx, out, token, e);
}

void mcp_env_release(const struct mcp_env *env, void *token)
{
    if (env && env->release)
        env->release(env->ctx, token);
}

/* "no GPU 9: this machine has GPUs 0-7" */
static int no_such_gpu(const struct snapshot *s, long long index, struct error *e)
{
    if (s->device_count == 0)
        return error_set(e, -ENODEV, "no GPU %lld: this machine shows no GPU", index);
    int lo = s->devices[0].index, hi = s->devices[s->device_count - 1].index;
    if (lo == hi)
        return error_set(e, -ENODEV, "no GPU %lld: this machine has GPU %d", index, lo);
    return error_set(e, -ENODEV, "no GPU %lld: this machine has GPUs %d-%d", index, lo, hi);
}

int mcp_snapshot_doc(const struct mcp_env *env, const struct mcp_snapshot_query *q,
                     json_t **doc, struct error *e)
{
    const struct snapshot *s;
    void *token = NULL;
    int rc = mcp_env_snapshot(env, &s, &token, e);
    if (rc < 0)
        return rc;
    struct filter f = {0};
    int only = (int)q->gpu;
    const char *users[1] = {q->user};
    if (q->gpu >= 0) {
        if (!snapshot_device(s, only)) {
            rc = no_such_gpu(s, q->gpu, e);
            goto out;
        }
        f.only = &only;
        f.only_count = 1;
    }
    if (q->user) {
        f.users = users;
        f.user_count = 1;
        f.users_set = true;
    }
    if (q->pattern && (rc = filter_set_regex(&f, q->pattern, e)) < 0)
        goto out;
    struct doc_snapshot_request r = {.filter = &f, .details = q->details};
    *doc = doc_snapshot_build(s, &r, e);
    rc = *doc ? 0 : -ENOMEM;
out:
    filter_clear(&f);
    mcp_env_release(env, token);
    return rc;
}

static int call_list_gpus(const struct mcp_env *env, const struct mcp_args *a, json_t **doc,
                          struct error *e)
{
    (void)a;
    struct mcp_snapshot_query q = {.gpu = -1};
    return mcp_snapshot_doc(env, &q, doc, e);
}

static int call_get_gpu_status(const struct mcp_env *env, const struct mcp_args *a,
                               json_t **doc, struct error *e)
{
    struct mcp_snapshot_query q = {.gpu = mcp_args_int(a, "gpu_id", -1), .details = true};
    return mcp_snapshot_doc(env, &q, doc, e);
}

static int call_list_processes(const struct mcp_env *env, const struct mcp_args *a,
                               json_t **doc, struct error *e)
{
    struct mcp_snapshot_query q = {.gpu = mcp_args_int(a, "gpu_id", -1), .details = true,
                                   .user = mcp_args_string(a, "user"),
                                   .pattern = mcp_args_string(a, "filter")};
    return mcp_snapshot_doc(env, &q, doc, e);
}

/* ---- the table ------------------------------------------------------------------ */

static const struct mcp_arg gpu_status_args[] = {
    {.name = "gpu_id", .type = MCP_ARG_INTEGER, .command = "list", .option = "only",
     .help = "the GPU's index (gpuctl list shows them); every GPU when left out"},
};

static const struct mcp_arg list_processes_args[] = {
    {.name = "user", .type = MCP_ARG_STRING, .command = "list", .option = "user",
     .help = "only this user's processes"},
    {.name = "gpu_id", .type = MCP_ARG_INTEGER, .command = "list", .option = "only",
     .help = "only the processes on the GPU of this index"},
    {.name = "filter", .type = MCP_ARG_STRING, .command = "list", .option = "filter"},
};

#define ARGS(a) a, sizeof a / sizeof a[0]

static const struct mcp_tool tools[] = {
    {.name = "list_gpus", .title = "List GPUs",
     .description = "Every GPU of this machine with its memory, utilisation, temperature, "
                    "power and the process using the most memory (the JSON of gpuctl list).",
     .hints = MCP_TOOL_READ_ONLY, .output_schema = mcp_schema_snapshot,
     .call = call_list_gpus},
    {.name = "get_gpu_status", .title = "GPU status",
     .description = "Detailed status of one GPU (or of every GPU) and the processes on it "
                    "(the JSON of gpuctl list --details).",
     .hints = MCP_TOOL_READ_ONLY, .args = ARGS(gpu_status_args),
     .output_schema = mcp_schema_snapshot, .call = call_get_gpu_status},
    {.name = "list_processes", .title = "List GPU processes",
     .description = "The processes using a GPU, with owner, command line and GPU memory; "
                    "narrowed by user, GPU or a regular expression on name and command line.",
     .hints = MCP_TOOL_READ_ONLY, .args = ARGS(list_processes_args),
     .output_schema = mcp_schema_snapshot, .call = call_list_processes},
};

const struct mcp_tool *mcp_tools_all(size_t *count)
{
    *count = sizeof tools / sizeof tools[0];
    return tools;
}

const struct mcp_tool *mcp_tool_find(const char *name)
{
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++)
        if (strcmp(tools[i].name, name) == 0)
            return &tools[i];
    return NULL;
}
