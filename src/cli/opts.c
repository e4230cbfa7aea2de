/* opts.c - the list of every command's option table, for --help, the
 * generator of the man page's option lists and completions (optgen.c) and
 * the tests that check nothing is missing from them.
 */
#include <string.h>

#include "cli/opts.h"

const struct options_command *const cli_option_tables[] = {
    &list_options,
    &top_options,
    &select_options,
    &kill_options,
    &reset_options,
    &audit_options,
    &guard_options,
    &mcp_options,
    &watch_options,
    &compare_options,
    &plot_options,
    &trace_options,
    &analyze_options,
    &run_options,
    &config_options,
    &serve_options,
    &agent_options,
    NULL,
};

const struct options_command *cli_option_table(const char *command)
{
    for (size_t i = 0; cli_option_tables[i]; i++)
        if (strcmp(cli_option_tables[i]->name, command) == 0)
            return cli_option_tables[i];
    return NULL;
}
