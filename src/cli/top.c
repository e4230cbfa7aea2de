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
#include "cli/cluster_top.h"
#include "cli/opts.h"
#include "core/term.h"
#include "tui/tui.h"

struct top_args {
    struct cli_common common;
    struct options_parsed parsed;     /* owns the strings of the lists */
    struct tui_options opt;
    bool once, no_color, force_color, light, gpu_th_set, mem_th_set, interval_set;
    double gpu_th[2], mem_th[2];
    const char *mode, *interval, *cluster, *token_file;
    int *only;
    const char **users;
    pid_t *pids;
};

/* --gpu-util-thresh TH1 TH2 (the table guarantees two values) */
static int take_thresholds(const char *flag, const struct options_list *l, double th[2],
                           bool *set)
{
    if (l->count == 0)
        return 0;
    struct error e = {0};
    for (int k = 0; k < 2; k++)
        if (tui_parse_threshold(l->values[k], &th[k], &e) < 0)
            return cli_usage_error("top", "%s: %s", flag, e.msg);
    if (tui_check_threshold_pair(th, &e) < 0)
        return cli_usage_error("top", "%s: %s", flag, e.msg);
    *set = true;
    return 0;
}

/* The option table (top_opts.c) fills a top_request; this moves it into
 * top_args and the monitor's options. */
static int take_request(struct top_args *a, const struct top_request *q)
{
    struct filter *f = &a->opt.filter;
    a->once = q->once;
    a->no_color = q->no_color;
    a->force_color = q->force_color;
    a->light = q->light;
    a->opt.ascii = q->ascii;
    a->opt.readonly = q->readonly;
    a->mode = q->monitor;
    a->interval = q->interval;
    a->cluster = q->cluster;
    a->token_file = q->token_file;
    f->only_visible = q->only_visible;
    f->compute = q->compute;
    f->graphics = q->graphics;
    f->users_set = options_given(&top_options, &a->parsed, "user");
    int rc = cli_filter_lists(f, &a->only, &a->users, &a->pids, &q->only, &q->user, &q->pid);
    if (rc)
        return rc;
    rc = take_thresholds("--gpu-util-thresh", &q->gpu_thresh, a->gpu_th, &a->gpu_th_set);
    return rc ? rc : take_thresholds("--mem-util-thresh", &q->mem_thresh, a->mem_th,
                                     &a->mem_th_set);
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

/* --cluster: the frames of a coordinator's cluster snapshot (cluster_top.c). */
struct cluster_frames {
    struct top_args *a;
    const struct cli_ctx *ctx;
    char *token;
    struct cli_cluster_top *t;
};

static int cluster_open(void *cls, const struct tui_source **src, struct error *e)
{
    struct cluster_frames *cf = cls;
    struct filter *f = &cf->a->opt.filter;
    struct cli_cluster_top_options o = {
        .url = cf->a->cluster, .token = cf->token, .interval_s = cf->a->opt.interval_s,
        .timeout_s = (long)cf->ctx->cfg.default_timeout_secs,
        .only = f->only, .only_count = f->only_count,
    };
    /* --only names each node's own indices: the source applies it, not the
     * monitor (whose devices are numbered across the cluster) */
    f->only = NULL;
    f->only_count = 0;
    int rc = cli_cluster_top_open(&cf->t, &o, e);
    if (rc == 0)
        *src = cli_cluster_top_source(cf->t);
    return rc;
}

static void cluster_close(void *cls)
{
    struct cluster_frames *cf = cls;
    cli_cluster_top_close(cf->t);
    cf->t = NULL;
}

/* What --cluster and --token-file do not go with. */
static int check_cluster(const struct top_args *a, const struct cli_top_frames *frames)
{
    if (!a->cluster)
        return a->token_file ? cli_usage_error("top", "--token-file goes with --cluster") : 0;
    if (frames)
        return cli_usage_error("top", "--cluster reads the coordinator from here; it does not "
                               "go with --remote");
    if (a->once)
        return cli_usage_error("top", "--cluster draws the live cluster; for one table, "
                               "gpuctl list --cluster URL");
    if (a->opt.filter.only_visible)
        return cli_usage_error("top", "--only-visible reads this machine's "
                               "CUDA_VISIBLE_DEVICES; it does not go with --cluster");
    return 0;
}

static int run_top(struct top_args *a, const struct cli_top_frames *frames)
{
    int rc = check_cluster(a, frames);
    if (rc)
        return rc;
    struct cli_ctx ctx = {0};
    rc = cli_load_config(&ctx, &a->common);
    if (rc)
        return rc;
    if ((rc = resolve(a, &ctx)) != 0)
        return rc;
    char self[64];
    find_self_user(self, sizeof self);
    a->opt.self_user = self;
    a->opt.timeout_s = ctx.cfg.default_timeout_secs;
    struct error e = {0};
    struct cluster_frames cf = {.a = a, .ctx = &ctx};
    const struct cli_top_frames cluster = {.open = cluster_open, .close = cluster_close,
                                           .ctx = &cf};
    if (a->cluster) {
        if ((rc = cli_read_token("top", a->token_file, &cf.token)) != 0)
            return rc;
        frames = &cluster;
    }
    if (frames) {
        const struct tui_source *src = NULL;
        a->opt.readonly = true;          /* another host's processes: nothing is signalled */
        rc = frames->open(frames->ctx, &src, &e);
        if (rc == 0)
            rc = tui_run_source(&a->opt, src, &e);
        frames->close(frames->ctx);
        free(cf.token);
    } else {
        rc = a->once ? tui_print_once(&a->opt, stdout, &e) : tui_run(&a->opt, &e);
    }
    if (rc < 0)
        return cli_fail(&e);
    if (a->once && fflush(stdout) != 0) {
        perror("gpuctl: writing the frame");
        return EXIT_GENERAL;
    }
    return EXIT_OK;
}

int cli_top_run(int argc, char **argv, const struct cli_top_frames *frames)
{
    struct top_args a;
    memset(&a, 0, sizeof a);
    tui_options_init(&a.opt);
    struct top_request q = {0};
    int rc = cli_parse_options(&top_options, argc, argv, &q, &a.parsed, &a.common);
    if (rc == 0)
        rc = take_request(&a, &q);
    if (rc == 0)
        rc = run_top(&a, frames);
    free(a.only);
    free(a.users);
    free(a.pids);
    options_parsed_clear(&a.parsed);
    return rc < 0 ? EXIT_OK : rc;
}

int cmd_top(int argc, char **argv)
{
    return cli_top_run(argc, argv, NULL);
}
