/* main.c - gpuctl's entry point: global options and command dispatch.
 *
 * Each command lives in its own file and parses its own arguments; this
 * file only finds it.  Commands that are not built yet are simply absent.
 */
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "version.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
    {"list", cmd_list},
    {"select", cmd_select},
    {"kill", cmd_kill},
    {"reset", cmd_reset},
    {"config", cmd_config},
    {"trace", cmd_trace},
    {"analyze", cmd_analyze},
    {"guard", cmd_guard},
    {"audit", cmd_audit},
    {"watch", cmd_watch},
    {"plot", cmd_plot},
    {"top", cmd_top},
    {"run", cmd_run},
    {"compare", cmd_compare},
};

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void print_version(void)
{
    printf("gpuctl %s (git %s, built %s)\n", GPUCTL_VERSION, GPUCTL_GIT_REVISION,
           GPUCTL_BUILD_DATE);
}

static int help_command(int argc, char **argv)
{
    if (argc < 2) {
        cli_print_overview();
        return EXIT_OK;
    }
    const char *text = cli_command_help(argv[1]);
    if (!text)
        return cli_usage_error(NULL, "no such command '%s'", argv[1]);
    fputs(text, stdout);
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    /* Locale for the terminal's character set; numbers stay in C format. */
    setlocale(LC_ALL, "");
    setlocale(LC_NUMERIC, "C");
    /* A closed pipe (gpuctl list | head) is a write error we report, not a kill. */
    signal(SIGPIPE, SIG_IGN);

    if (argc < 2) {
        cli_print_overview();
        return EXIT_INVALID_ARGS;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        cli_print_overview();
        return EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
        print_version();
        return EXIT_OK;
    }
    if (strcmp(name, "help") == 0)
        return help_command(argc - 1, argv + 1);
    const struct command *cmd = find_command(name);
    if (!cmd) {
        if (name[0] == '-')
            return cli_usage_error(NULL, "unknown option '%s' (options go after the command)",
                                   name);
        return cli_usage_error(NULL, "unknown command '%s'", name);
    }
    return cmd->run(argc - 1, argv + 1);
}
