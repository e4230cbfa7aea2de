/* top.c - `gpuctl top`: arguments, environment and configuration for the
 * interactive monitor (src/tui).  Every value is checked here, before the
 * screen opens, so a mistake is a plain error message and exit 3, never a
 * garbled terminal.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/term.h"
#include "tui/tui.h"

struct top_args {
    struct cli_common common;
    struct tui_options opt;
    bool once, no_color, force_color, light, gpu_th_set, mem_th_set, interval_set;
    double gpu_th[2], mem_th[2];
    const char *mode, *interval;
    int *only;
    const char **users;
    pid_t *pids;
};

static bool flag(const char *arg, const char *name, bool *out)
{
    if (strcmp(arg, name) != 0)
        return false;
    *out = true;
    return true;
}

/* Values up to the next option, each split on commas. */
typedef int (*take_fn)(struct top_args *a, char *value);

static int take_values(struct top_args *a, int argc, char **argv, int *i, take_fn take)
{
    int n = 0;
    while (*i + 1 < argc && argv[*i + 1][0] != '-') {
        char *save = NULL, *arg = argv[++*i];
        for (char *tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            if (take(a, tok) < 0)
                return -1;
            n++;
        }
    }
    return n;
}

static int take_only(struct top_args *a, char *v)
{
    unsigned long idx;
    if (!cli_parse_uint(v, 4095, &idx))
        return cli_usage_error("top", "--only: '%s' is not a GPU index", v), -1;
    a->only[a->opt.filter.only_count++] = (int)idx;
    return 0;
}

static int take_pid(struct top_args *a, char *v)
{
    unsigned long pid;
    if (!cli_parse_uint(v, 4194304, &pid) || pid == 0)
        return cli_usage_error("top", "--pid: '%s' is not a process id", v), -1;
    a->pids[a->opt.filter.pid_count++] = (pid_t)pid;
    return 0;
}

static int take_user(struct top_args *a, char *v)
{
    a->users[a->opt.filter.user_count++] = v;
    return 0;
}

static int parse_multi(struct top_args *a, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    int n;
    if (strcmp(arg, "--only") == 0)
        n = take_values(a, argc, argv, i, take_only);
    else if (strcmp(arg, "--pid") == 0)
        n = take_values(a, argc, argv, i, take_pid);
    else if (strcmp(arg, "--user") == 0) {
        a->opt.filter.users_set = true;   /* no names: the caller's own processes */
        return take_values(a, argc, argv, i, take_user) < 0 ? EXIT_INVALID_ARGS : 0;
    } else
        return -1;
    if (n == 0)
        return cli_usage_error("top", "option '%s' needs at least one value", arg);
    return n < 0 ? EXIT_INVALID_ARGS : 0;
}

/* --gpu-util-thresh TH1 TH2 */
static int parse_thresholds(struct top_args *a, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    double *th = strcmp(arg, "--gpu-util-thresh") == 0 ? a->gpu_th
               : strcmp(arg, "--mem-util-thresh") == 0 ? a->mem_th : NULL;
    if (!th)
        return -1;
    if (*i + 2 >= argc)
        return cli_usage_error("top", "option '%s' needs two values, TH1 TH2", arg);
    struct error e = {0};
    for (int k = 0; k < 2; k++)
        if (tui_parse_threshold(argv[*i + 1 + k], &th[k], &e) < 0)
            return cli_usage_error("top", "%s: %s", arg, e.msg);
    *i += 2;
    if (tui_check_threshold_pair(th, &e) < 0)
        return cli_usage_error("top", "%s: %s", arg, e.msg);
    *(th == a->gpu_th ? &a->gpu_th_set : &a->mem_th_set) = true;
    return 0;
}

static int parse_valued(struct top_args *a, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    const char **slot = strcmp(arg, "--interval") == 0 ? &a->interval
                      : strcmp(arg, "--monitor") == 0 ? &a->mode : NULL;
    if (!slot)
        return -1;
    if (*i + 1 >= argc)
        return cli_usage_error("top", "option '%s' needs a value", arg);
    *slot = argv[++*i];
    return 0;
}

static int parse_one(struct top_args *a, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    int rc = cli_common_option(&a->common, "top", argc, argv, i);
    if (rc != 0)
        return rc < 0 ? EXIT_INVALID_ARGS : 0;
    struct filter *f = &a->opt.filter;
    if (flag(arg, "--once", &a->once) || flag(arg, "-1", &a->once) ||
        flag(arg, "--only-visible", &f->only_visible) || flag(arg, "--compute", &f->compute) ||
        flag(arg, "--graphics", &f->graphics) || flag(arg, "--ascii", &a->opt.ascii) ||
        flag(arg, "--no-color", &a->no_color) || flag(arg, "--force-color", &a->force_color) ||
        flag(arg, "--light", &a->light) || flag(arg, "--readonly", &a->opt.readonly))
        return 0;
    if ((rc = parse_multi(a, argc, argv, i)) >= 0)
        return rc;
    if ((rc = parse_thresholds(a, argc, argv, i)) >= 0)
        return rc;
    if ((rc = parse_valued(a, argc, argv, i)) >= 0)
        return rc;
    return cli_unknown_argument("top", arg, "");
}

/* Environment first, then flags over it (flag > environment > default). */
static int resolve(struct top_args *a, const struct cli_ctx *ctx)
{
    struct error e = {0};
    if (tui_options_from_env(&a->opt, &e) < 0)
        return cli_usage_error("top", "%s", e.msg);
    if (a->mode && tui_parse_mode(a->mode, &a->opt.mode, &e) < 0)
        return cli_usage_error("top", "--monitor: %s", e.msg);
    if (a->interval && tui_parse_interval(a->interval, &a->opt.interval_s, &e) < 0)
        return cli_usage_error("top", "--interval: %s", e.msg);
    enum config_origin from = ctx->cfg.origin[CONFIG_WATCH_INTERVAL_SECS];
    if (!a->interval && from != CONFIG_FROM_DEFAULT) {
        /* watch_interval_secs / GPUCTL_WATCH_INTERVAL, with top's floor */
        if (ctx->cfg.watch_interval_secs < TUI_INTERVAL_MIN)
            return cli_usage_error("top", "watch_interval_secs %g (from %s) is below top's "
                                   "floor of %.2f s", ctx->cfg.watch_interval_secs,
                                   config_origin_name(from), TUI_INTERVAL_MIN);
        a->opt.interval_s = ctx->cfg.watch_interval_secs;
    }
    if (a->light)
        a->opt.light = true;
    if (a->gpu_th_set)
        memcpy(a->opt.gpu_thresh, a->gpu_th, sizeof a->gpu_th);
    if (a->mem_th_set)
        memcpy(a->opt.mem_thresh, a->mem_th, sizeof a->mem_th);
    if (a->no_color && a->force_color)
        return cli_usage_error("top", "--no-color and --force-color contradict each other");
    /* colour: --force-color wins over a pipe and NO_COLOR; --no-color,
     * NO_COLOR, TERM=dumb and use_colors = false turn it off */
    a->opt.color = a->force_color ||
                   (!a->no_color && term_use_color(STDOUT_FILENO, ctx->cfg.use_colors));
    return 0;
}

static void find_self_user(char *buf, size_t size)
{
    struct passwd pw, *found = NULL;
    char tmp[4096];
    if (getpwuid_r(getuid(), &pw, tmp, sizeof tmp, &found) == 0 && found)
        snprintf(buf, size, "%s", pw.pw_name);
    else
        snprintf(buf, size, "%u", (unsigned)getuid());
}

static int run_top(struct top_args *a)
{
    struct cli_ctx ctx = {0};
    int rc = cli_load_config(&ctx, &a->common);
    if (rc)
        return rc;
    if ((rc = resolve(a, &ctx)) != 0)
        return rc;
    char self[64];
    find_self_user(self, sizeof self);
    a->opt.self_user = self;
    a->opt.filter.only = a->opt.filter.only_count ? a->only : NULL;
    a->opt.filter.users = a->users;
    a->opt.filter.pids = a->pids;
    struct error e = {0};
    rc = a->once ? tui_print_once(&a->opt, stdout, &e) : tui_run(&a->opt, &e);
    if (rc < 0)
        return cli_fail(&e);
    if (a->once && fflush(stdout) != 0) {
        perror("gpuctl: writing the frame");
        return EXIT_GENERAL;
    }
    return EXIT_OK;
}

int cmd_top(int argc, char **argv)
{
    struct top_args a;
    memset(&a, 0, sizeof a);
    tui_options_init(&a.opt);
    size_t n = (size_t)argc + 1;
    a.only = calloc(n, sizeof *a.only);
    a.users = calloc(n, sizeof *a.users);
    a.pids = calloc(n, sizeof *a.pids);
    int rc = 0;
    if (!a.only || !a.users || !a.pids) {
        fputs("gpuctl: out of memory\n", stderr);
        rc = EXIT_GENERAL;
    }
    for (int i = 1; i < argc && rc == 0; i++)
        rc = parse_one(&a, argc, argv, &i);
    if (rc == 0 && a.common.help)
        fputs(cli_command_help("top"), stdout);
    else if (rc == 0)
        rc = run_top(&a);
    free(a.only);
    free(a.users);
    free(a.pids);
    return rc;
}
