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

int mcp_env_snapshot(const struct mcp_env *env, bool fresh, const struct snapshot **out,
                     void **token, struct error *e)
{
    if (!env || !env->snapshot)
        return error_set(e, -EIO, "no GPU state is available to this server");
    return env->snapshot(env->ctx, fresh, out, token, e);
}

void mcp_env_release(const struct mcp_env *env, void *token)
{
    if (env && env->release)
        env->release(env->ctx, token);
}

/* "no GPU 9: this machine has GPUs 0-7" */
int mcp_no_such_gpu(const struct snapshot *s, long long index, struct error *e)
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
    int rc = mcp_env_snapshot(env, false, &s, &token, e);
    if (rc < 0)
        return rc;
    struct filter f = {0};
    int only = (int)q->gpu;
    const char *users[1] = {q->user};
    if (q->gpu >= 0) {
        if (!snapshot_device(s, only)) {
            rc = mcp_no_such_gpu(s, q->gpu, e);
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

static const struct mcp_arg kill_args[] = {
    {.name = "pid", .type = MCP_ARG_INTEGER, .required = true, .command = "kill",
     .option = "pid", .help = "the process to end"},
    {.name = "force", .type = MCP_ARG_BOOLEAN, .command = "kill", .option = "force"},
};

static const struct mcp_arg kill_by_name_args[] = {
    {.name = "pattern", .type = MCP_ARG_STRING, .required = true, .command = "kill",
     .option = "filter", .help = "PCRE2 pattern matched against the GPU processes' names "
                                 "and command lines"},
    {.name = "force", .type = MCP_ARG_BOOLEAN,
     .help = "end the matches (SIGTERM, SIGKILL after the wait); without it the matches "
             "are only listed"},
};

static const struct mcp_arg reset_args[] = {
    {.name = "gpu_id", .type = MCP_ARG_INTEGER, .required = true, .command = "reset",
     .option = "gpu", .help = "the index of the GPU to reset"},
    {.name = "force", .type = MCP_ARG_BOOLEAN, .command = "reset", .option = "force"},
};

static const struct mcp_arg select_args[] = {
    {.name = "count", .type = MCP_ARG_INTEGER, .command = "select", .option = "count",
     .help = "how many GPUs to choose (default 1)"},
    {.name = "min_free_gb", .type = MCP_ARG_NUMBER, .min = 0, .max = 1e6,
     .help = "free GPU memory each must have, GiB"},
    {.name = "max_util_pct", .type = MCP_ARG_INTEGER, .command = "select",
     .option = "max-gpu-utilization"},
};

static const struct mcp_arg hours_user_args[] = {
    {.name = "hours", .type = MCP_ARG_NUMBER, .min = 0.001, .max = 876000,
     .help = "the window of history, hours before now (default 24)"},
    {.name = "user", .type = MCP_ARG_STRING, .command = "audit", .option = "user"},
};

static const struct mcp_arg hours_args[] = {
    {.name = "hours", .type = MCP_ARG_NUMBER, .min = 0.001, .max = 876000,
     .help = "the window of history, hours before now (default 24)"},
};

static const struct mcp_arg policy_args[] = {
    {.name = "username", .type = MCP_ARG_STRING, .required = true, .command = "guard",
     .option = "add-user", .help = "the user the policy is for (added, or changed when the "
                                   "user has one)"},
    {.name = "memory_limit_gb", .type = MCP_ARG_NUMBER, .min = 0, .max = 1e9,
     .command = "guard", .option = "memory-limit"},
    {.name = "utilization_limit_pct", .type = MCP_ARG_NUMBER, .min = 0, .max = 100,
     .command = "guard", .option = "utilization-limit"},
    {.name = "process_limit", .type = MCP_ARG_INTEGER, .min = 0, .max = 1e6,
     .command = "guard", .option = "process-limit"},
};

#define ARGS(a) a, sizeof a / sizeof a[0]
#define READ MCP_TOOL_READ_ONLY

static const struct mcp_tool tools[] = {
    {.name = "list_gpus", .title = "List GPUs",
     .description = "Every GPU of this machine with its memory, utilisation, temperature, "
                    "power and the process using the most memory (the JSON of gpuctl list).",
     .hints = READ, .output_schema = mcp_schema_snapshot, .call = call_list_gpus},
    {.name = "get_gpu_status", .title = "GPU status",
     .description = "Detailed status of one GPU (or of every GPU) and the processes on it "
                    "(the JSON of gpuctl list --details).",
     .hints = READ, .args = ARGS(gpu_status_args), .output_schema = mcp_schema_snapshot,
     .call = call_get_gpu_status},
    {.name = "list_processes", .title = "List GPU processes",
     .description = "The processes using a GPU, with owner, command line and GPU memory; "
                    "narrowed by user, GPU or a regular expression on name and command line.",
     .hints = READ, .args = ARGS(list_processes_args), .output_schema = mcp_schema_snapshot,
     .call = call_list_processes},
    {.name = "select_gpus", .title = "Select GPUs",
     .description = "Choose the best GPUs for a job (most free memory, least busy) under the "
                    "given limits, with the value for CUDA_VISIBLE_DEVICES (gpuctl select).",
     .hints = READ, .args = ARGS(select_args), .output_schema = mcp_schema_select,
     .call = mcp_call_select_gpus},
    {.name = "audit_summary", .title = "GPU usage summary",
     .description = "Who and what used the GPUs over the last hours: GPU memory and "
                    "utilisation hours by user, process and GPU, busiest hours (gpuctl audit "
                    "--summary).",
     .hints = READ, .args = ARGS(hours_user_args), .output_schema = mcp_schema_audit_summary,
     .call = mcp_call_audit_summary},
    {.name = "scan_rogue_activity", .title = "Scan for rogue GPU use",
     .description = "Scan the running GPU processes and the recorded history for miners, "
                    "suspicious processes, resource abuse and data exfiltration, with the "
                    "evidence and a risk level for each finding (gpuctl audit --rogue).",
     .hints = READ, .args = ARGS(hours_args),
     .output_schema = mcp_schema_rogue, .call = mcp_call_scan_rogue_activity},
    {.name = "test_policies", .title = "Test GPU policies",
     .description = "Evaluate the usage policies (guard.toml) against the processes running "
                    "now: each violation and what the guard would do (gpuctl guard --test).",
     .hints = READ, .output_schema = mcp_schema_policies_test,
     .call = mcp_call_test_policies},
    {.name = "create_user_policy", .title = "Create a user policy",
     .description = "Add (or change) a user's GPU limits in guard.toml: memory in GB, "
                    "utilisation in percent, processes at once; answers with every policy "
                    "(gpuctl guard --add-user).",
     .hints = MCP_TOOL_IDEMPOTENT, .args = ARGS(policy_args),
     .output_schema = mcp_schema_policies, .call = mcp_call_create_user_policy},
    {.name = "kill_gpu_process", .title = "Kill a GPU process",
     .description = "End one GPU process: SIGTERM, a wait of default_timeout_secs, then "
                    "SIGKILL with force.  Refused for processes not on a GPU (unless force), "
                    "pid 1, gpuctl itself, its parent and other users' processes "
                    "(gpuctl kill --pid).",
     .hints = MCP_TOOL_DESTRUCTIVE, .args = ARGS(kill_args),
     .output_schema = mcp_schema_kill, .call = mcp_call_kill_gpu_process},
    {.name = "kill_processes_by_name", .title = "Kill GPU processes by name",
     .description = "Without force: list the GPU processes whose name or command line "
                    "matches the pattern.  With force: end them all (SIGTERM, then SIGKILL "
                    "after the wait), with the same checks as kill_gpu_process (gpuctl kill "
                    "--filter --batch --force).",
     .hints = MCP_TOOL_DESTRUCTIVE, .args = ARGS(kill_by_name_args),
     .output_schema = mcp_schema_kill, .call = mcp_call_kill_processes_by_name},
    {.name = "reset_gpu", .title = "Reset a GPU",
     .description = "Reset a GPU (nvidia-smi --gpu-reset for NVIDIA, amdgpu recovery for "
                    "AMD; needs root).  A GPU in use is refused unless force, which ends its "
                    "processes first (gpuctl reset).",
     .hints = MCP_TOOL_DESTRUCTIVE, .args = ARGS(reset_args),
     .output_schema = mcp_schema_reset, .call = mcp_call_reset_gpu},
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
