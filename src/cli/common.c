/* common.c - exit codes, diagnostics and option handling shared by every
 * command.
 */
#include "cli/cli.h"
#include "core/filter.h"
#include "sources/simulated.h"
#include "version.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>

int cli_exit_code(int code)
{
    switch (-code) {
    case 0: return EXIT_OK;
    case ERROR_GPU_LIBRARY: return EXIT_GPU_LIBRARY;
    case EINVAL: return EXIT_INVALID_ARGS;
    case EACCES:
    case EPERM: return EXIT_PERMISSION;
    case ENOTSUP: return EXIT_UNSUPPORTED;
    default: return EXIT_GENERAL;
    }
}

int cli_fail(const struct error *e)
{
    fprintf(stderr, "gpuctl: %s\n", e->msg[0] ? e->msg : "unknown error");
    return cli_exit_code(e->code);
}

int cli_output_failed(int rc)
{
    if (rc != -EPIPE)
        fprintf(stderr, "gpuctl: cannot write the output: %s\n", strerror(rc < 0 ? -rc : EIO));
    return EXIT_GENERAL;
}

int cli_usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("gpuctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (command)
        fprintf(stderr, "\nSee 'gpuctl help %s'.\n", command);
    else
        fputs("\nSee 'gpuctl --help'.\n", stderr);
    return EXIT_INVALID_ARGS;
}

int cli_apply_table_or_json(struct cli_ctx *ctx, const char *command, const char *output)
{
    struct error e = {0};
    if (output && config_set_from_flag(&ctx->cfg, CONFIG_OUTPUT_FORMAT, output, &e) < 0)
        return cli_usage_error(command, "--output: %s", e.msg);
    enum output_format f = ctx->cfg.output_format;
    if (f == OUTPUT_TABLE || f == OUTPUT_JSON || f == OUTPUT_NDJSON)
        return 0;
    if (ctx->cfg.origin[CONFIG_OUTPUT_FORMAT] == CONFIG_FROM_FLAG)
        return cli_usage_error(command, "--output %s is not supported by %s; use table or json",
                               config_output_format_name(f), command);
    fprintf(stderr, "gpuctl: output_format '%s' (from %s) is not supported by %s; use table "
            "or json, or pass --output\n", config_output_format_name(f),
            config_origin_name(ctx->cfg.origin[CONFIG_OUTPUT_FORMAT]), command);
    return EXIT_GENERAL;
}

int cli_unknown_argument(const char *command, const char *arg, const char *hint)
{
    if (arg[0] == '-')
        return cli_usage_error(command, "unknown option '%s'", arg);
    return cli_usage_error(command, "unexpected argument '%s'%s", arg, hint);
}

void cli_log(const struct cli_ctx *ctx, enum log_level level, const char *fmt, ...)
{
    if (level > ctx->log_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "gpuctl: %s: ", config_log_level_name(level));
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Set once by main before any command runs; read-only afterwards. */
static struct cli_common global_options;

void cli_set_global_options(const char *config_path, const char *log_level,
                            const char *simulate)
{
    global_options.config_path = config_path;
    global_options.log_level = log_level;
    global_options.simulate = simulate;
}

void cli_print_version(void)
{
    printf("gpuctl %s (git %s, built %s)\n", GPUCTL_VERSION, GPUCTL_GIT_REVISION,
           GPUCTL_BUILD_DATE);
}

int cli_parse_options(const struct options_command *cmd, int argc, char **argv, void *req,
                      struct options_parsed *p, struct cli_common *common)
{
    struct error e = {0};
    if (options_parse(cmd, argc, argv, req, p, &e) < 0 ||
        (!p->help && !p->version && options_apply_env(cmd, req, p, &e) < 0)) {
        if (e.code == -ENOMEM) {
            fprintf(stderr, "gpuctl: %s\n", e.msg);
            return EXIT_GENERAL;
        }
        return cli_usage_error(cmd->name, "%s", e.msg);
    }
    if (p->help) {
        options_write_help(cmd, stdout);
        return -1;
    }
    if (p->version) {
        cli_print_version();
        return -1;
    }
    common->config_path = p->config_path;
    common->log_level = p->log_level;
    common->simulate = p->simulate;
    return 0;
}

/* --simulate GPUSxPROCS (or GPUCTL_SIMULATE): made-up GPUs instead of the
 * real sources, for every command of this run. */
static int apply_simulate(const char *flag)
{
    const char *spec = flag ? flag : getenv("GPUCTL_SIMULATE");
    if (!spec || !*spec)
        return 0;
    struct simulated_spec sim;
    struct error e = {0};
    if (simulated_parse_spec(spec, strlen(spec), &sim, &e) < 0)
        return cli_usage_error(NULL, "%s%s", flag ? "" : "GPUCTL_SIMULATE: ", e.msg);
    simulated_configure(&sim);
    return 0;
}

int cli_load_config(struct cli_ctx *ctx, const struct cli_common *given)
{
    struct error e = {0};
    struct cli_common merged = *given;
    if (!merged.config_path)
        merged.config_path = global_options.config_path;
    if (!merged.log_level)
        merged.log_level = global_options.log_level;
    if (!merged.simulate)
        merged.simulate = global_options.simulate;
    const struct cli_common *c = &merged;
    int rc = apply_simulate(c->simulate);
    if (rc)
        return rc;
    if (config_load(&ctx->cfg, c->config_path, &e) < 0) {
        fprintf(stderr, "gpuctl: %s\n", e.msg);
        return EXIT_GENERAL;
    }
    if (c->log_level && config_set_from_flag(&ctx->cfg, CONFIG_LOG_LEVEL, c->log_level, &e) < 0)
        return cli_usage_error(NULL, "--log-level: %s", e.msg);
    ctx->log_level = ctx->cfg.log_level;
    return 0;
}

bool cli_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return false;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

bool cli_parse_seconds(const char *s, double *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !(v > 0) || v > 86400)
        return false;
    *out = v;
    return true;
}

int cli_filter_lists(struct filter *f, int **only, const char ***users, pid_t **pids,
                     const struct options_list *only_opt, const struct options_list *user_opt,
                     const struct options_list *pid_opt)
{
    *only = calloc(only_opt->count + 1, sizeof **only);
    *users = calloc(user_opt->count + 1, sizeof **users);
    *pids = calloc(pid_opt->count + 1, sizeof **pids);
    if (!*only || !*users || !*pids) {
        fputs("gpuctl: out of memory\n", stderr);
        return EXIT_GENERAL;
    }
    for (size_t i = 0; i < only_opt->count; i++)
        (*only)[f->only_count++] = atoi(only_opt->values[i]);
    for (size_t i = 0; i < user_opt->count; i++)
        (*users)[f->user_count++] = user_opt->values[i];
    for (size_t i = 0; i < pid_opt->count; i++)
        (*pids)[f->pid_count++] = (pid_t)atol(pid_opt->values[i]);
    f->only = f->only_count ? *only : NULL;
    f->users = *users;
    f->pids = *pids;
    return 0;
}

int cli_read_small_file(const char *cmd, const char *what, const char *path, char **out)
{
    *out = NULL;
    FILE *f = fopen(path, "re");
    if (!f) {
        fprintf(stderr, "gpuctl: %s: cannot read %s %s: %s\n", cmd, what, path, strerror(errno));
        return errno == EACCES ? EXIT_PERMISSION : EXIT_INVALID_ARGS;
    }
    char *buf = malloc(CLI_SMALL_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, CLI_SMALL_FILE_MAX + 1, f) : 0;
    bool err = ferror(f);
    fclose(f);
    if (!buf || err || n > CLI_SMALL_FILE_MAX) {
        free(buf);
        fprintf(stderr, "gpuctl: %s: %s %s is %s\n", cmd, what, path,
                !buf ? "too big for memory" : err ? "unreadable" : "larger than 1 MiB");
        return EXIT_INVALID_ARGS;
    }
    buf[n] = '\0';
    *out = buf;
    return 0;
}

int cli_read_token(const char *cmd, const char *token_file, char **token)
{
    *token = NULL;
    if (token_file) {
        int rc = cli_read_small_file(cmd, "token file", token_file, token);
        if (rc)
            return rc;
    } else {
        const char *env = getenv("GPUCTL_TOKEN");
        if (!env || !*env)
            return 0;
        if (!(*token = strdup(env)))
            return EXIT_GENERAL;
    }
    size_t n = strlen(*token);
    while (n && strchr(" \t\r\n", (*token)[n - 1]))
        (*token)[--n] = '\0';
    if (n == 0 || strpbrk(*token, " \t\r\n")) {
        fprintf(stderr, "gpuctl: %s: the token %s must be one word, not empty\n", cmd,
                token_file ? token_file : "in GPUCTL_TOKEN");
        free(*token);
        *token = NULL;
        return EXIT_INVALID_ARGS;
    }
    return 0;
}

int cli_stop_signal_fd(const char *cmd)
{
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    int fd = -1;
    /* blocked before any thread starts, so every thread inherits it */
    if (sigprocmask(SIG_BLOCK, &stop, NULL) < 0 || (fd = signalfd(-1, &stop, SFD_CLOEXEC)) < 0)
        fprintf(stderr, "gpuctl: %s: cannot watch for signals: %s\n", cmd, strerror(errno));
    return fd;
}
