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
int mcp_env_snapshot(const struct mcp_env *env, const struct snapshot **out, void **token,
                     struct error *e);
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

#endif
