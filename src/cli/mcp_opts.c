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
    {.name = "http", .type = OPTIONS_FLAG, .group = "Streamable HTTP",
     .help = "serve MCP over Streamable HTTP at /mcp (and GET /health) instead of stdio",
     .offset = R(http)},
    {.name = "listen", .type = OPTIONS_STRING, .metavar = "ADDR:PORT",
     .help = "where --http listens (default 127.0.0.1:3001, or 127.0.0.1:$MCP_PORT)",
     .offset = R(listen)},
    {.name = "token-file", .type = OPTIONS_STRING, .metavar = "FILE", .env = "GPUCTL_TOKEN",
     .flags = OPTIONS_ENV_DOCUMENTED,
     .help = "the bearer token that tools which change anything need over --http (and every "
             "request off loopback); GPUCTL_TOKEN gives the token itself",
     .offset = R(token_file)},
};

const struct options_command mcp_options = {
    .name = "mcp",
    .usage = "gpuctl mcp [--read-only] [--http [--listen ADDR:PORT] [--token-file FILE]]",
    .about = "Serve the Model Context Protocol on stdin and stdout, for AI assistants:\n"
             "newline-delimited JSON-RPC, nothing else on stdout, diagnostics on stderr.\n"
             "Tools list GPUs and processes, select GPUs, summarise the audit history,\n"
             "scan for rogue use, test and create policies, kill processes and reset\n"
             "GPUs with the same checks as the commands; resources gpu://list,\n"
             "gpu://processes, gpu://audit, gpu://policies, gpu://rogue-detection and\n"
             "gpu://gpus/{index}.  An assistant's configuration starts it as\n"
             "{\"mcpServers\": {\"gpuctl\": {\"command\": \"gpuctl\", \"args\": [\"mcp\"]}}}.\n",
    .epilog = "With --http: Streamable HTTP on ADDR:PORT/mcp (sessions from initialize,\n"
              "Origin checked, the token for kill, reset and policy creation), until\n"
              "SIGINT or SIGTERM.  A non-loopback address needs a token.\n"
              "Exit status: 0 when the client closes stdin (or on a signal with --http);\n"
              "1 when reading or writing fails or the address cannot be bound; 3 invalid\n"
              "arguments.\n",
    .specs = specs,
    .count = sizeof specs / sizeof specs[0],
};
