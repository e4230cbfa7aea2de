/* main.c - gpuctl's entry point: global options and command dispatch.
 *
 * Each command lives in its own file and parses its own arguments (most
 * with their option table, cli/opts.h); this file takes the options that
 * may come before the command (--config, --log-level) and finds the
 * command, also when it is spelled as gpu-kill's operation flag (--list,
 * --kill, --reset, --audit, --guard).
 */
#include <locale.h>
#include <stdlib.h>
#include <signal.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/remote.h"
#include "remote/askpass.h"

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
    {"mcp", cmd_mcp},
    {"serve", cmd_serve},
    {"agent", cmd_agent},
};

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int help_command(int argc, char **argv)
{
    if (argc < 2) {
        cli_print_overview();
        return EXIT_OK;
    }
    if (cli_write_command_help(argv[1], stdout) < 0)
        return cli_usage_error(NULL, "no such command '%s'", argv[1]);
    return EXIT_OK;
}

/* gpu-kill's operations are flags (`gpukill --list --details`); here the
 * same words name the commands. */
static const char *operation_command(const char *arg)
{
    static const char *const ops[] = {"--list", "--kill", "--reset", "--audit", "--guard",
                                      "--server"};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(arg, ops[i]) == 0)
            return strcmp(arg, "--server") == 0 ? "serve" : ops[i] + 2;
    return NULL;
}

/* The remote options (--remote HOSTS, --ssh-user U, ...), collected from
 * before the command and from the command's arguments up to "--". */
struct remote_args {
    char **v;
    int count;
};

/* Moves the remote option at argv[i] (span arguments) into r and closes
 * the gap; returns the new argc. */
static int take_remote(struct remote_args *r, int argc, char **argv, int i, int span)
{
    for (int k = 0; k < span; k++)
        r->v[r->count++] = argv[i + k];
    memmove(argv + i, argv + i + span, (size_t)(argc - i - span + 1) * sizeof *argv);
    return argc - span;
}

/* The global options before the command: --config PATH, --log-level
 * LEVEL and --simulate GPUSxPROCS, in both spellings, and the remote options.  Returns the index of
 * the first other argument, or -1 after printing a usage error. */
static int take_global_options(int *argcp, char **argv, struct remote_args *remote)
{
    const char *config = NULL, *level = NULL, *simulate = NULL;
    int i = 1, argc = *argcp;
    for (; i < argc; i++) {
        const char *arg = argv[i];
        int span = cli_remote_option_span(argc, argv, i);
        if (span) {
            argc = take_remote(remote, argc, argv, i, span);
            i--;
            continue;
        }
        const char **slot = strncmp(arg, "--config", 8) == 0 && (!arg[8] || arg[8] == '=')
                              ? &config
                          : strncmp(arg, "--log-level", 11) == 0 && (!arg[11] || arg[11] == '=')
                              ? &level
                          : strncmp(arg, "--simulate", 10) == 0 && (!arg[10] || arg[10] == '=')
                              ? &simulate : NULL;
        if (!slot)
            break;
        const char *eq = strchr(arg, '=');
        if (eq) {
            *slot = eq + 1;
        } else if (i + 1 < argc) {
            *slot = argv[++i];
        } else {
            cli_usage_error(NULL, "option '%s' needs a value", arg);
            return -1;
        }
    }
    cli_set_global_options(config, level, simulate);
    *argcp = argc;
    return i;
}

/* The remote options written after the command (`gpuctl list --remote h`,
 * gpu-kill's `--list --remote h`), up to "--". */
static int take_trailing_remote(struct remote_args *remote, int argc, char **argv, int first)
{
    for (int i = first + 1; i < argc && strcmp(argv[i], "--") != 0;) {
        int span = cli_remote_option_span(argc, argv, i);
        if (span)
            argc = take_remote(remote, argc, argv, i, span);
        else
            i++;
    }
    return argc;
}

/* In gpu-kill's form the operation may come after other options
 * (`gpuctl --details --list`): moves it to the front of argv[first..].
 * Returns false when no argument is an operation. */
static bool hoist_operation(int argc, char **argv, int first)
{
    for (int i = first; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (!operation_command(argv[i]))
            continue;
        char *op = argv[i];
        memmove(argv + first + 1, argv + first, (size_t)(i - first) * sizeof *argv);
        argv[first] = op;
        return true;
    }
    return false;
}

static int dispatch(int argc, char **argv, struct remote_args *remote);

int main(int argc, char **argv)
{
    /* The terminal's character set is all gpuctl takes from the locale
     * (LC_CTYPE: wide characters, the monitor's UTF-8 check): numbers stay
     * in C format and messages in English, strerror's pieces included.
     * Loading every category cost each command 0.15 ms (two dozen files
     * tried under LANG=C.UTF-8), a fortieth of list's budget. */
    setlocale(LC_CTYPE, "");
    /* A closed pipe (gpuctl list | head) is a write error we report, not a kill. */
    signal(SIGPIPE, SIG_IGN);

    /* ssh started this gpuctl as its SSH_ASKPASS (--ssh-password). */
    if (argc == 2 && getenv(REMOTE_ASKPASS_ENV))
        return cli_remote_askpass(argv[1]);

    struct remote_args remote = {.v = calloc((size_t)argc + 1, sizeof *remote.v)};
    if (!remote.v) {
        fputs("gpuctl: out of memory\n", stderr);
        return EXIT_GENERAL;
    }
    int rc = dispatch(argc, argv, &remote);
    free(remote.v);
    return rc;
}

static int dispatch(int argc, char **argv, struct remote_args *remote)
{
    int first = take_global_options(&argc, argv, remote);
    if (first < 0)
        return EXIT_INVALID_ARGS;
    if (first >= argc) {
        cli_print_overview();
        return EXIT_INVALID_ARGS;
    }
    const char *name = argv[first];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        cli_print_overview();
        return EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
        cli_print_version();
        return EXIT_OK;
    }
    if (strcmp(name, "help") == 0)
        return help_command(argc - first, argv + first);
    if (name[0] == '-' && hoist_operation(argc, argv, first))
        name = argv[first];
    const char *op = operation_command(name);
    const struct command *cmd = find_command(op ? op : name);
    if (!cmd) {
        if (name[0] == '-')
            return cli_usage_error(NULL, "unknown option '%s' (options go after the command)",
                                   name);
        return cli_usage_error(NULL, "unknown command '%s'", name);
    }
    /* argv[0] of a command is its name, whichever way it was spelled. */
    argv[first] = (char *)cmd->name;
    /* Only the commands that run remotely look for remote options among
     * their own arguments: run's and select's commands keep theirs. */
    static const char *const remote_capable[] = {"list", "kill", "select", "audit", "guard",
                                                 "config"};
    bool capable = false;
    for (size_t i = 0; i < sizeof remote_capable / sizeof remote_capable[0]; i++)
        capable |= strcmp(cmd->name, remote_capable[i]) == 0;
    if (capable)
        argc = take_trailing_remote(remote, argc, argv, first);
    if (remote->count)
        return cli_remote_run(remote->v, remote->count, argc - first, argv + first);
    return cmd->run(argc - first, argv + first);
}
