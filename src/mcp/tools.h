/* tools.h - what the tools and the resources share: the environment's
 * snapshot and the snapshot document of a query on it.
 */
#ifndef GPUCTL_MCP_TOOLS_H
#define GPUCTL_MCP_TOOLS_H

#include <jansson.h>
#include <stdbool.h>

#include "mcp/catalog.h"

/* The environment's snapshot (see struct mcp_env); release the token with
 * mcp_env_release. */
int mcp_env_snapshot(const struct mcp_env *env, bool fresh, const struct snapshot **out,
                     void **token, struct error *e);
void mcp_env_release(const struct mcp_env *env, void *token);

struct mcp_snapshot_query {
    long long gpu;            /* one GPU's index, or -1 for all */
    bool details;             /* processes listed */
    const char *user;         /* only this user's processes; NULL: all */
    const char *pattern;      /* PCRE2 on name and command line; NULL: all */
};

/* The snapshot document (gpuctl list --output json) of q.  0 with *doc, or
 * a negative code with e filled (-ENODEV for a GPU index that does not
 * exist, -EINVAL for a bad pattern). */
int mcp_snapshot_doc(const struct mcp_env *env, const struct mcp_snapshot_query *q,
                     json_t **doc, struct error *e);

/* "no GPU 9: this machine has GPUs 0-7" in e; returns -ENODEV. */
int mcp_no_such_gpu(const struct snapshot *s, long long index, struct error *e);

/* The tools that act (actions.c) and report (reports.c): see the table in
 * tools.c for what each takes. */
typedef int mcp_tool_fn(const struct mcp_env *env, const struct mcp_args *a, json_t **doc,
                        struct error *e);
mcp_tool_fn mcp_call_kill_gpu_process, mcp_call_kill_processes_by_name, mcp_call_reset_gpu;
mcp_tool_fn mcp_call_select_gpus, mcp_call_audit_summary, mcp_call_scan_rogue_activity;
mcp_tool_fn mcp_call_test_policies, mcp_call_create_user_policy;

/* Resets the GPUs named (gpus) or every GPU (all; exactly one of the two)
 * as `gpuctl reset` does, with its checks in its order: the indices, a way
 * to reset each GPU, root, then the processes on them (refused without
 * force, ended together with it).  Every chosen GPU is tried; the first
 * failure is the error.  *doc: the reset document (doc/reset_doc.h). */
struct mcp_reset_request {
    const int *gpus;
    size_t gpu_count;
    bool all, force;
};
int mcp_reset_gpus(const struct mcp_env *env, const struct mcp_reset_request *q, json_t **doc,
                   struct error *e);

/* The documents behind gpu://audit (the last 24 hours' summary),
 * gpu://policies and gpu://rogue-detection (a 24-hour scan). */
int mcp_read_audit(const struct mcp_env *env, json_t **doc, struct error *e);
int mcp_read_policies(const struct mcp_env *env, json_t **doc, struct error *e);
int mcp_read_rogue(const struct mcp_env *env, json_t **doc, struct error *e);

#endif
