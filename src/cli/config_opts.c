/* config_opts.c - the options of `gpuctl config show`. */
#include <stddef.h>

#include "cli/opts.h"

#define R(field) offsetof(struct config_request, field)

static const struct options_spec specs[] = {
    {.name = "output", .aliases = "-o", .type = OPTIONS_STRING, .metavar = "FORMAT",
     .config_key = "output_format", .env = "GPUCTL_OUTPUT_FORMAT",
     .flags = OPTIONS_ENV_DOCUMENTED, .help = "table (default) or json", .offset = R(output)},
    {.name = "ascii", .type = OPTIONS_FLAG, .help = "plain ASCII table lines",
     .offset = R(ascii)},
};

const struct options_command config_options = {
    .name = "config",
    .usage = "gpuctl config show [--output table|json]",
    .about = "Print each setting's effective value and where it came from: default,\n"
             "file, environment or flag.  Files: $XDG_CONFIG_HOME/gpuctl/config.toml\n"
             "(or --config PATH).  See docs/configuration.md.\n",
    .operands = "show",
    .max_operands = 1,
    .specs = specs,
    .count = sizeof specs / sizeof specs[0],
};
