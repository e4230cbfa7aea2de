/* stdio.h - the stdio transport of MCP: newline-delimited JSON-RPC on two
 * file descriptors (what an assistant's configuration starts as
 * `gpuctl mcp`).  Nothing but protocol messages is written to out.
 */
#ifndef GPUCTL_MCP_STDIO_H
#define GPUCTL_MCP_STDIO_H

#include "core/error.h"
#include "mcp/server.h"

/* Serves messages read from in_fd until end of input, answering on out_fd.
 * A line longer than MCP_RPC_MAX_MESSAGE is answered with an invalid
 * request error and skipped.  Returns 0 at end of input, or a negative
 * code with e filled when reading or writing fails (-EPIPE: the client
 * went away). */
int mcp_stdio_run(struct mcp_server *s, int in_fd, int out_fd, struct error *e);

#endif
