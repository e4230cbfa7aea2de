/* mcp_opts.c - the options of `gpuctl mcp`, the MCP server an assistant
 * starts (docs/mcp.md).
 */
#include <stddef.h>

#include "cli/opts.h"

#define R(field) offsetof(struct mcp_request, field)

static const struct options_spec specs[] = {
    {.name = "read-only", .type = OPTIONS_FLAG,
     .help = "offer only the tools that change nothing (no kill, reset or policy creation)",
     .offset = R(read_only)},
};

const struct options_command mcp_options = {
    .name = "mcp",
    .usage = "gpuctl mcp [--read-only]",
    .about = "Serve the Model Context Protocol on stdin and stdout, for AI assistants:\n"
             "newline-delimited JSON-RPC, nothing else on stdout, diagnostics on stderr.\n"
             "Tools list GPUs and processes, select GPUs, summarise the audit history,\n"
             "scan for rogue use, test and create policies, kill processes and reset\n"
             "GPUs with the same checks as the commands; resources gpu://list,\n"
             "gpu://processes, gpu://audit, gpu://policies, gpu://rogue-detection and\n"
             "gpu://gpus/{index}.  An assistant's configuration starts it as\n"
             "{\"mcpServers\": {\"gpuctl\": {\"command\": \"gpuctl\", \"args\": [\"mcp\"]}}}.\n",
    .epilog = "Exit status: 0 when the client closes stdin; 1 when reading or writing\n"
              "fails; 3 invalid arguments.\n",
    .specs = specs,
    .count = sizeof specs / sizeof specs[0],
};
