/* resources.c - the MCP resources: gpu-kill's gpu:// names and the
 * template gpu://gpus/{index}, each read as the document the CLI prints for
 * the same question (application/json).
 *
 * Resources are read-only views; what a resource holds is the same
 * snapshot document the list tools answer with, so a client that reads a
 * resource and one that calls a tool see the same JSON.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/catalog.h"
#include "mcp/tools.h"

#define GPU_TEMPLATE_PREFIX "gpu://gpus/"

struct resource {
    const char *uri, *name, *title, *description;
    int (*read)(const struct mcp_env *env, json_t **doc, struct error *e);
};

static int read_list(const struct mcp_env *env, json_t **doc, struct error *e)
{
    struct mcp_snapshot_query q = {.gpu = -1};
    return mcp_snapshot_doc(env, &q, doc, e);
}

static int read_processes(const struct mcp_env *env, json_t **doc, struct error *e)
{
    struct mcp_snapshot_query q = {.gpu = -1, .details = true};
    return mcp_snapshot_doc(env, &q, doc, e);
}

static const struct resource resources[] = {
    {"gpu://list", "gpu-list", "GPUs",
     "Every GPU with its state (the JSON of gpuctl list)", read_list},
    {"gpu://processes", "gpu-processes", "GPU processes",
     "Every GPU with its processes (the JSON of gpuctl list --details)", read_processes},
    {"gpu://audit", "gpu-audit", "GPU usage, last 24 hours",
     "Summary of the recorded GPU usage of the last 24 hours (gpuctl audit --summary)",
     mcp_read_audit},
    {"gpu://policies", "gpu-policies", "GPU usage policies",
     "The guard's policies from guard.toml (gpuctl guard --export-config)", mcp_read_policies},
    {"gpu://rogue-detection", "gpu-rogue-detection", "Rogue GPU use",
     "A scan of the running processes and the last 24 hours for miners, abuse and "
     "exfiltration (gpuctl audit --rogue)", mcp_read_rogue},
};
#define RESOURCE_COUNT (sizeof resources / sizeof resources[0])

json_t *mcp_resources_list(void)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < RESOURCE_COUNT; i++)
        json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:s}", "uri", resources[i].uri,
                                           "name", resources[i].name, "title",
                                           resources[i].title, "description",
                                           resources[i].description, "mimeType",
                                           "application/json"));
    return a;
}

json_t *mcp_resource_templates(void)
{
    return json_pack("[{s:s,s:s,s:s,s:s,s:s}]", "uriTemplate", GPU_TEMPLATE_PREFIX "{index}",
                     "name", "gpu", "title", "One GPU", "description",
                     "One GPU by its index, with its processes (gpuctl list --details "
                     "--only INDEX)", "mimeType", "application/json");
}

/* gpu://gpus/{index}: a whole decimal number, nothing else. */
static bool template_index(const char *uri, long long *index)
{
    size_t plen = strlen(GPU_TEMPLATE_PREFIX);
    if (strncmp(uri, GPU_TEMPLATE_PREFIX, plen) != 0)
        return false;
    const char *p = uri + plen;
    if (*p < '0' || *p > '9' || strlen(p) > 9)
        return false;
    char *end;
    *index = strtoll(p, &end, 10);
    return *end == '\0';
}

int mcp_resource_read(const struct mcp_env *env, const char *uri, json_t **doc,
                      struct error *e)
{
    *doc = NULL;
    for (size_t i = 0; i < RESOURCE_COUNT; i++)
        if (strcmp(resources[i].uri, uri) == 0)
            return resources[i].read(env, doc, e);
    long long index;
    if (template_index(uri, &index)) {
        struct mcp_snapshot_query q = {.gpu = index, .details = true};
        int rc = mcp_snapshot_doc(env, &q, doc, e);
        /* A GPU that does not exist is a resource that does not exist. */
        if (rc != -ENODEV)
            return rc;
        char why[ERROR_MSG_MAX];
        memcpy(why, e->msg, sizeof why);
        return error_set(e, -ENOENT, "resource %s not found: %s", uri, why);
    }
    return error_set(e, -ENOENT, "resource %s not found (resources/list and "
                     "resources/templates/list name them)", uri);
}
