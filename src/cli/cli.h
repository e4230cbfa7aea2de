/* cli.h - what the command-line front end shares between commands: exit
 * codes, diagnostics, the effective configuration and argument helpers.
 *
 * src/cli is the only place that prints errors and chooses exit codes
 * (ARCHITECTURE.md decision 10).
 */
#ifndef GPUCTL_CLI_CLI_H
#define GPUCTL_CLI_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <sys/types.h>
#include <stddef.h>

#include "core/config.h"
#include "core/error.h"
#include "core/options.h"

enum exit_code {
    EXIT_OK = 0,
    EXIT_GENERAL = 1,
    EXIT_GPU_LIBRARY = 2,
    EXIT_INVALID_ARGS = 3,
    EXIT_PERMISSION = 4,
    EXIT_UNSUPPORTED = 5,
};

/* Options every command accepts, before the command or after it. */
struct cli_common {
    const char *config_path;   /* --config */
    const char *log_level;     /* --log-level */
    const char *simulate;      /* --simulate GPUSxPROCS */
};

struct cli_ctx {
    struct config cfg;
    enum log_level log_level;
};

/* Exit code for a negative error code from below the CLI. */
int cli_exit_code(int code);

/* "gpuctl: <message>" on stderr; returns the exit code for e. */
int cli_fail(const struct error *e);
/* A failed write of a command's output (rc: -errno): says so on stderr,
 * except for a closed pipe (`| head`), which ends the output quietly as
 * the reader wanted; returns EXIT_GENERAL either way. */
int cli_output_failed(int rc);
/* --output (or output_format from the environment or the file) for a
 * command that answers in a table or JSON: sets ctx->cfg.output_format
 * from output when given; table, json and ndjson (compact JSON) are
 * accepted.  Returns 0, or the exit code after saying what is wrong. */
int cli_apply_table_or_json(struct cli_ctx *ctx, const char *command, const char *output);
/* "gpuctl: <message>" on stderr for a usage problem; returns 3. */
int cli_usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The usage error for an argument a command does not know: "unknown option"
 * when it starts with '-', else "unexpected argument" plus hint (may be ""). */
int cli_unknown_argument(const char *command, const char *arg, const char *hint);

void cli_log(const struct cli_ctx *ctx, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The options given before the command (`gpuctl --log-level debug list`):
 * main sets them once, before dispatch; a command's own --config and
 * --log-level win over them.  Single-threaded start-up only. */
void cli_set_global_options(const char *config_path, const char *log_level,
                            const char *simulate);

void cli_print_version(void);

/* Parses a command's arguments with its option table into req, then the
 * environment for what the flags left out; --config and --log-level go
 * into common.  Returns 0 to go on, -1 after printing --help or --version
 * (the command then exits 0), or an exit code after printing the usage
 * error.  Release p with options_parsed_clear in every case. */
int cli_parse_options(const struct options_command *cmd, int argc, char **argv, void *req,
                      struct options_parsed *p, struct cli_common *common);

/* The device and process lists of a filter from the option lists of --only,
 * --user and --pid (values already checked by the table): allocates *only,
 * *users and *pids (the caller frees them) and points f at them.  Returns 0
 * or EXIT_GENERAL after saying it is out of memory. */
struct filter;
int cli_filter_lists(struct filter *f, int **only, const char ***users, pid_t **pids,
                     const struct options_list *only_opt, const struct options_list *user_opt,
                     const struct options_list *pid_opt);

/* Writes the help of a command (generated from its option table where it
 * has one); -1 when there is no such command. */
int cli_write_command_help(const char *command, FILE *out);

/* Loads the configuration (file, environment) and applies --log-level.
 * Returns 0 or an exit code after printing the error. */
int cli_load_config(struct cli_ctx *ctx, const struct cli_common *c);

/* Parses a whole non-negative number; false on anything else. */
bool cli_parse_uint(const char *s, unsigned long max, unsigned long *out);
bool cli_parse_seconds(const char *s, double *out);

/* Commands: argv[0] is the command name. */
int cmd_list(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_select(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_reset(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_guard(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_top(int argc, char **argv);
/* cmd_top with frames from elsewhere (NULL: its own feed): frames->open
 * is called once every argument is checked, so a mistake is reported
 * before anything starts, and close after the monitor; with them the
 * monitor is read-only.  struct tui_source: tui/tui.h. */
struct tui_source;
struct cli_top_frames {
    int (*open)(void *ctx, const struct tui_source **src, struct error *e);
    void (*close)(void *ctx);
    void *ctx;
};
int cli_top_run(int argc, char **argv, const struct cli_top_frames *frames);
int cmd_run(int argc, char **argv);
int cmd_compare(int argc, char **argv);
/* Reads a whole small file (a token, a PEM; at most 1 MiB) into a new
 * string; on failure prints "gpuctl: CMD: ..." and returns an exit code. */
#define CLI_SMALL_FILE_MAX (1024 * 1024)
int cli_read_small_file(const char *cmd, const char *what, const char *path, char **out);
/* The bearer token from token_file (when not NULL) or GPUCTL_TOKEN,
 * trailing white space cut; *token stays NULL when neither gives one.
 * Returns 0 or an exit code after printing why. */
int cli_read_token(const char *cmd, const char *token_file, char **token);

/* Blocks SIGINT and SIGTERM (call it before any thread starts, so every
 * thread inherits the mask) and returns a signalfd that becomes readable
 * when one arrives; -1 after printing why it could not. */
int cli_stop_signal_fd(const char *cmd);

int cmd_agent(int argc, char **argv);
int cmd_mcp(int argc, char **argv);
int cmd_serve(int argc, char **argv);

void cli_print_overview(void);

#endif
