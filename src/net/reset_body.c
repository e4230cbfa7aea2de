/* reset_body.c - POST /api/v1/reset's body as `gpuctl reset`'s options
 * (net/reset_body.h).
 *
 * Each GPU index goes through the table's --gpu check (options_check_value)
 * and the flags must be JSON booleans, so the API refuses what the command
 * line refuses, with the same words; which GPUs, and what is checked before
 * a reset, is mcp_reset_gpus's, shared with the MCP tool.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/reset_body.h"

static int take_index(const struct options_spec *gpu, const json_t *v, struct reset_body *b,
                      struct error *e)
{
    if (!json_is_integer(v))
        return error_set(e, -EINVAL, "gpu: each GPU is an index (a whole number)");
    char text[32];
    snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v));
    int rc = gpu ? options_check_value(gpu, text, e) : 0;
    if (rc < 0)
        return rc;
    b->gpus[b->q.gpu_count++] = (int)json_integer_value(v);
    return 0;
}

static int take_gpus(const struct options_spec *gpu, const json_t *v, struct reset_body *b,
                     struct error *e)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    if (b->gpus)
        return error_set(e, -EINVAL, "give the GPUs once, as gpu (gpu_id is its old name)");
    if (n == 0 || n > 4096)
        return error_set(e, -EINVAL, "gpu: give from 1 to 4096 GPU indices");
    b->gpus = calloc(n, sizeof *b->gpus);
    if (!b->gpus)
        return error_set(e, -ENOMEM, "out of memory");
    b->q.gpus = b->gpus;
    if (!json_is_array(v))
        return take_index(gpu, v, b, e);
    for (size_t i = 0; i < n; i++) {
        int rc = take_index(gpu, json_array_get(v, i), b, e);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int take_flag(const char *key, const json_t *v, bool *out, struct error *e)
{
    if (!json_is_boolean(v))
        return error_set(e, -EINVAL, "%s: must be true or false", key);
    *out = json_is_true(v);
    return 0;
}

static int take_field(const struct options_command *table, const char *key, const json_t *v,
                      struct reset_body *b, struct error *e)
{
    if (strcmp(key, "gpu") == 0 || strcmp(key, "gpu_id") == 0)
        return take_gpus(options_find(table, "gpu"), v, b, e);
    if (strcmp(key, "all") == 0)
        return take_flag(key, v, &b->q.all, e);
    if (strcmp(key, "force") == 0)
        return take_flag(key, v, &b->q.force, e);
    return error_set(e, -EINVAL, "unknown field '%s' (the body takes gpu, all and force)",
                     key);
}

int reset_body_read(const struct options_command *table, const json_t *body,
                    struct reset_body *b, struct error *e)
{
    memset(b, 0, sizeof *b);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v) {
        int rc = take_field(table, key, v, b, e);
        if (rc < 0) {
            reset_body_clear(b);
            return rc;
        }
    }
    /* the CLI's rule and words */
    if ((b->q.gpu_count > 0) == b->q.all)
        return error_set(e, -EINVAL, "name the GPUs with either gpu or all");
    return 0;
}

void reset_body_clear(struct reset_body *b)
{
    if (!b)
        return;
    free(b->gpus);
    memset(b, 0, sizeof *b);
}
