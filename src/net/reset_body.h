/* reset_body.h - POST /api/v1/reset's body read as the options of
 * `gpuctl reset`.
 *
 * {"gpu": 0} or {"gpu": [0, 1]} or {"all": true}, with "force": true to end
 * the processes on the GPUs first; the MCP tool's "gpu_id" is taken for
 * "gpu".  Indices are checked by reset's option table, so a bad one gets
 * the CLI's sentence.  Called on a server thread; keeps no state.
 */
#ifndef GPUCTL_NET_RESET_BODY_H
#define GPUCTL_NET_RESET_BODY_H

#include <jansson.h>

#include "core/error.h"
#include "core/options.h"
#include "mcp/tools.h"

struct reset_body {
    struct mcp_reset_request q;   /* q.gpus points into gpus */
    int *gpus;                    /* owned */
};

/* Fills b from the JSON object body against table (reset's option table).
 * Returns 0, or -EINVAL with e naming the field; call
 * reset_body_clear either way. */
int reset_body_read(const struct options_command *table, const json_t *body,
                    struct reset_body *b, struct error *e);
void reset_body_clear(struct reset_body *b);

#endif
