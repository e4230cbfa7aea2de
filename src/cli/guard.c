/* guard.c - `gpuctl guard`: editing guard.toml, testing the policies
 * against the live snapshot, the enforcement daemon (`guard run`) and its
 * record (`guard status`).
 *
 * Every edit is made on a copy of the configuration, validated whole
 * (policy/guard_config.h) and written atomically, so a refused change
 * leaves guard.toml as it was.  gpu-kill's spellings (--guard-add-user,
 * --guard-memory-limit, ...) are the same options with "guard-" in front.
 * Evaluating and enforcing are policy/guard_eval.c's and guard_daemon.c's.
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "core/table.h"
#include "core/term.h"
#include "core/units.h"
#include "doc/json.h"
#include "doc/policies_doc.h"
#include "policy/guard_daemon.h"

#define CMD "guard"

enum guard_target { TARGET_NONE, TARGET_USER, TARGET_GROUP, TARGET_GPU, TARGET_TIME };

struct guard_args {
    struct cli_common common;
    struct options_parsed parsed;
    const char *sub;                       /* "run", "status" or NULL */
    enum guard_target add;
    const char *add_name;
    struct guard_request q;                /* filled by the option table, guard_opts.c */
};

struct guard_cmd {
    struct cli_ctx ctx;
    struct guard_args a;
    char path[4096];
};


/* ---- arguments ------------------------------------------------------------------ */

/* gpu-kill's group- and gpu- limits are the general limits, given to the
 * one kind of policy they name. */
static int take_prefixed(const char *flag, const char *value, bool fits, const char *needs,
                         const char **general)
{
    if (!value)
        return 0;
    if (!fits)
        return cli_usage_error(CMD, "%s goes with %s", flag, needs);
    if (*general)
        return cli_usage_error(CMD, "%s and the same limit without the prefix contradict each "
                               "other", flag);
    *general = value;
    return 0;
}

static int take_target(struct guard_args *a)
{
    const struct { const char *name; enum guard_target t; } adders[] = {
        {a->q.add_user, TARGET_USER}, {a->q.add_group, TARGET_GROUP},
        {a->q.add_gpu, TARGET_GPU}, {a->q.add_time, TARGET_TIME},
    };
    for (size_t k = 0; k < sizeof adders / sizeof adders[0]; k++) {
        if (!adders[k].name)
            continue;
        if (a->add != TARGET_NONE)
            return cli_usage_error(CMD, "one --add-* option at a time");
        a->add = adders[k].t;
        a->add_name = adders[k].name;
    }
    struct guard_request *q = &a->q;
    bool group = a->add == TARGET_GROUP, gpu = a->add == TARGET_GPU;
    int rc = take_prefixed("--group-memory-limit", q->group_memory, group, "--add-group",
                           &q->memory);
    if (rc == 0)
        rc = take_prefixed("--group-utilization-limit", q->group_utilization, group,
                           "--add-group", &q->utilization);
    if (rc == 0)
        rc = take_prefixed("--group-process-limit", q->group_processes, group, "--add-group",
                           &q->processes);
    if (rc == 0)
        rc = take_prefixed("--gpu-memory-limit", q->gpu_memory, gpu, "--add-gpu", &q->memory);
    if (rc == 0)
        rc = take_prefixed("--gpu-utilization-limit", q->gpu_utilization, gpu, "--add-gpu",
                           &q->utilization);
    return rc;
}

static int parse_args(struct guard_args *a, int argc, char **argv)
{
    int rc = cli_parse_options(&guard_options, argc, argv, &a->q, &a->parsed, &a->common);
    if (rc)
        return rc;
    if (a->parsed.operand_count) {
        const char *op = a->parsed.operands[0];
        if ((strcmp(op, "run") != 0 && strcmp(op, "status") != 0) || op != argv[1])
            return cli_unknown_argument(CMD, op, " (subcommands: run, status)");
        a->sub = op;
    }
    if ((rc = take_target(a)))
        return rc;
    if (a->q.enable && a->q.disable)
        return cli_usage_error(CMD, "--enable and --disable contradict each other");
    if ((a->q.dry_run || a->q.toggle_dry_run) + a->q.enforce > 1 ||
        (a->q.dry_run && a->q.toggle_dry_run))
        return cli_usage_error(CMD, "choose one of --dry-run, --enforce and --toggle-dry-run");
    return 0;
}

/* ---- values ------------------------------------------------------------------------- */

static int number(const char *flag, const char *text, double min, double max, double *out)
{
    char *end;
    double v = strtod(text, &end);
    if (!*text || *end || !(v >= min && v <= max))
        return cli_usage_error(CMD, "%s: '%s' is not a number from %g to %g", flag, text, min,
                               max);
    *out = v;
    return 0;
}

static int opt_number(const char *flag, const char *text, double max, struct opt_f64 *out)
{
    double v = 0;
    if (!text)
        return 0;
    int rc = number(flag, text, 0, max, &v);
    if (rc == 0)
        OPT_SET(*out, v);
    return rc;
}

static int count(const char *flag, const char *text, struct opt_u64 *out)
{
    unsigned long v;
    if (!text)
        return 0;
    if (!cli_parse_uint(text, 1000000, &v))
        return cli_usage_error(CMD, "%s: '%s' is not a whole number", flag, text);
    OPT_SET(*out, v);
    return 0;
}

static int gpu_list(const char *flag, const char *text, uint64_t *out)
{
    if (!text)
        return 0;
    if (guard_parse_gpu_list(text, out) < 0)
        return cli_usage_error(CMD, "%s: '%s' is not a list of GPU indices such as 0,2 (0-%d)",
                               flag, text, GUARD_MAX_GPUS - 1);
    return 0;
}

static int user_list(const char *text, struct policy_strlist *l)
{
    if (!text)
        return 0;
    policy_strlist_free(l);
    if (policy_strlist_split(l, text) < 0)
        return EXIT_GENERAL;
    return 0;
}

static int days_list(const char *text, unsigned *days)
{
    if (!text)
        return 0;
    char *copy = strdup(text), *save = NULL;
    unsigned set = 0;
    int rc = copy ? 0 : EXIT_GENERAL;
    for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t && rc == 0;
         t = strtok_r(NULL, ",", &save)) {
        int wday;
        if (guard_parse_day(t, &wday) < 0)
            rc = cli_usage_error(CMD, "--days: '%s' is not a day (mon, tue, ... or monday)", t);
        set |= 1u << (wday & 7);
    }
    free(copy);
    if (rc == 0)
        *days = set;
    return rc;
}

static int clock_value(const char *flag, const char *text, int *out)
{
    if (!text)
        return 0;
    if (guard_parse_clock(text, out) < 0)
        return cli_usage_error(CMD, "%s: '%s' is not a time of day (HH:MM)", flag, text);
    return 0;
}

/* "02:00-04:00" */
static int window_value(const char *text, struct guard_window *w)
{
    char start[16], end[16];
    const char *dash = text ? strchr(text, '-') : NULL;
    if (!text)
        return 0;
    if (!dash || dash - text >= (long)sizeof start || strlen(dash + 1) >= sizeof end)
        return cli_usage_error(CMD, "--maintenance: '%s' is not HH:MM-HH:MM", text);
    snprintf(start, sizeof start, "%.*s", (int)(dash - text), text);
    snprintf(end, sizeof end, "%s", dash + 1);
    w->set = true;
    if (!w->days)
        w->days = 0x7f;
    int rc = clock_value("--maintenance", start, &w->start_min);
    return rc ? rc : clock_value("--maintenance", end, &w->end_min);
}

/* ---- edits ------------------------------------------------------------------------ */

static int limits(const struct guard_args *a, struct guard_limits *l)
{
    int rc = opt_number("--memory-limit", a->q.memory ? a->q.memory : NULL, 1e9, &l->memory_gb);
    if (rc == 0)
        rc = opt_number("--utilization-limit", a->q.utilization, 100, &l->utilization_pct);
    if (rc == 0)
        rc = opt_number("--duration-limit", a->q.duration, 1e9, &l->duration_hours);
    if (rc == 0)
        rc = count("--process-limit", a->q.processes, &l->max_processes);
    return rc;
}

static int add_user(struct guard_config *c, const struct guard_args *a)
{
    struct guard_user_policy *u = guard_config_add_user(c, a->add_name);
    if (!u)
        return EXIT_GENERAL;
    int rc = limits(a, &u->limits);
    if (rc == 0 && a->q.priority) {
        char *end;
        long long p = strtoll(a->q.priority, &end, 10);
        if (!*a->q.priority || *end)
            return cli_usage_error(CMD, "--priority: '%s' is not a whole number", a->q.priority);
        u->priority = p;
    }
    if (rc == 0)
        rc = gpu_list("--allowed-gpus", a->q.allowed_gpus, &u->allowed_gpus);
    return rc ? rc : gpu_list("--blocked-gpus", a->q.blocked_gpus, &u->blocked_gpus);
}

static int add_group(struct guard_config *c, const struct guard_args *a)
{
    struct guard_group_policy *g = guard_config_add_group(c, a->add_name);
    if (!g)
        return EXIT_GENERAL;
    int rc = user_list(a->q.members, &g->members);
    if (rc == 0)
        rc = limits(a, &g->total);
    if (rc == 0)
        rc = gpu_list("--allowed-gpus", a->q.allowed_gpus, &g->allowed_gpus);
    return rc ? rc : gpu_list("--blocked-gpus", a->q.blocked_gpus, &g->blocked_gpus);
}

static int gpu_index(const char *flag, const char *text, int *out)
{
    unsigned long v;
    if (!cli_parse_uint(text, GUARD_MAX_GPUS - 1, &v))
        return cli_usage_error(CMD, "%s: '%s' is not a GPU index (0-%d)", flag, text,
                               GUARD_MAX_GPUS - 1);
    *out = (int)v;
    return 0;
}

static int add_gpu(struct guard_config *c, const struct guard_args *a)
{
    int idx = 0;
    int rc = gpu_index("--add-gpu", a->add_name, &idx);
    struct guard_gpu_policy *g = rc ? NULL : guard_config_add_gpu(c, idx);
    if (rc || !g)
        return rc ? rc : EXIT_GENERAL;
    rc = opt_number("--memory-limit", a->q.memory, 1e9, &g->max_memory_gb);
    if (rc == 0)
        rc = opt_number("--utilization-limit", a->q.utilization, 100, &g->max_utilization_pct);
    if (rc == 0)
        rc = opt_number("--reserved-memory", a->q.reserved, 1e9, &g->reserved_memory_gb);
    if (rc == 0)
        rc = user_list(a->q.allowed_users, &g->allowed_users);
    if (rc == 0)
        rc = user_list(a->q.blocked_users, &g->blocked_users);
    if (rc == 0)
        rc = window_value(a->q.maintenance, &g->maintenance);
    if (rc == 0 && a->q.days && !g->maintenance.set)
        return cli_usage_error(CMD, "--days with --add-gpu needs --maintenance");
    return rc ? rc : days_list(a->q.days, &g->maintenance.days);
}

static int add_time(struct guard_config *c, const struct guard_args *a)
{
    struct guard_time_policy *t = guard_config_add_time(c, a->add_name);
    if (!t)
        return EXIT_GENERAL;
    if (strlen(a->add_name) >= sizeof t->name)
        return cli_usage_error(CMD, "--add-time-policy: the name is longer than %zu bytes",
                               sizeof t->name - 1);
    int rc = clock_value("--start", a->q.start, &t->window.start_min);
    if (rc == 0)
        rc = clock_value("--end", a->q.end, &t->window.end_min);
    if (rc == 0)
        rc = days_list(a->q.days, &t->window.days);
    if (rc == 0)
        rc = user_list(a->q.users, &t->users);
    return rc ? rc : limits(a, &t->limits);
}

static int remove_one(struct guard_config *c, const struct guard_args *a)
{
    int idx = 0;
    if (a->q.remove_user && !guard_config_remove_user(c, a->q.remove_user))
        return cli_usage_error(CMD, "there is no user policy '%s'", a->q.remove_user);
    if (a->q.remove_group && !guard_config_remove_group(c, a->q.remove_group))
        return cli_usage_error(CMD, "there is no group policy '%s'", a->q.remove_group);
    if (a->q.remove_gpu && (gpu_index("--remove-gpu", a->q.remove_gpu, &idx) ||
                          !guard_config_remove_gpu(c, idx)))
        return cli_usage_error(CMD, "there is no GPU policy '%s'", a->q.remove_gpu);
    if (a->q.remove_time && !guard_config_remove_time(c, a->q.remove_time))
        return cli_usage_error(CMD, "there is no time policy '%s'", a->q.remove_time);
    return 0;
}

static int global_edits(struct guard_config *c, const struct guard_args *a)
{
    if (a->q.enable || a->q.disable)
        c->enabled = a->q.enable;
    if (a->q.dry_run || a->q.enforce)
        c->dry_run = a->q.dry_run;
    if (a->q.toggle_dry_run)
        c->dry_run = !c->dry_run;
    if (a->q.mode && strcmp(a->q.mode, "soft") != 0 && strcmp(a->q.mode, "hard") != 0)
        return cli_usage_error(CMD, "--mode: '%s' is not soft or hard", a->q.mode);
    if (a->q.mode)
        c->enforcement = strcmp(a->q.mode, "hard") == 0 ? GUARD_HARD : GUARD_SOFT;
    if (a->q.webhook && strlen(a->q.webhook) >= sizeof c->webhook_url)
        return cli_usage_error(CMD, "--webhook: the URL is too long");
    if (a->q.webhook)
        snprintf(c->webhook_url, sizeof c->webhook_url, "%s", a->q.webhook);
    int rc = a->q.grace ? number("--grace-period", a->q.grace, 0, 1e9, &c->grace_period_secs) : 0;
    if (rc == 0 && a->q.interval && !a->sub)
        rc = number("--interval", a->q.interval, 0.01, 1e6, &c->check_interval_secs);
    return rc;
}

static bool has_edits(const struct guard_args *a)
{
    return a->q.enable || a->q.disable || a->q.dry_run || a->q.enforce || a->q.toggle_dry_run ||
           a->q.mode || a->q.webhook || a->q.grace || (a->q.interval && !a->sub) ||
           a->add != TARGET_NONE || a->q.remove_user || a->q.remove_group || a->q.remove_gpu ||
           a->q.remove_time || a->q.import_file;
}

static bool limit_flags_without_target(const struct guard_args *a)
{
    return a->add == TARGET_NONE &&
           (a->q.memory || a->q.utilization || a->q.processes || a->q.duration || a->q.priority ||
            a->q.members || a->q.allowed_gpus || a->q.blocked_gpus || a->q.allowed_users ||
            a->q.blocked_users || a->q.reserved || a->q.maintenance || a->q.days || a->q.start || a->q.end ||
            a->q.users);
}

static int import_config(struct guard_config *c, const char *file)
{
    json_error_t jerr;
    json_t *doc = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        fprintf(stderr, "gpuctl: %s:%d:%d: %s; nothing was imported\n", file, jerr.line,
                jerr.column, jerr.text);
        return EXIT_GENERAL;
    }
    struct error e = {0};
    struct guard_config next;
    int rc = guard_config_from_json(&next, doc, file, &e);
    json_decref(doc);
    if (rc < 0) {
        fprintf(stderr, "gpuctl: %s; nothing was imported\n", e.msg);
        return EXIT_GENERAL;
    }
    guard_config_free(c);
    *c = next;
    return 0;
}

/* GPU indices are checked against the machine when a GPU source starts;
 * without one the check waits for `guard run`, which refuses unknown GPUs. */
static int check_gpus(const struct guard_config *c, struct guard_cmd *g)
{
    struct error e = {0};
    struct snapshot_ctx *sctx;
    struct snapshot *snap = NULL;
    struct snapshot_options o = {0};
    if (c->gpu_count == 0 && c->user_count == 0 && c->group_count == 0)
        return 0;
    if (snapshot_ctx_open(&sctx, &e) < 0) {
        cli_log(&g->ctx, LOG_INFO, "not checking GPU indices: %s", e.msg);
        return 0;
    }
    int rc = snapshot_take(sctx, &o, &snap, &e);
    if (rc == 0 && guard_config_check_gpus(c, snap->device_count, NULL, &e) < 0)
        rc = -EINVAL;
    snapshot_free(snap);
    snapshot_ctx_close(sctx);
    if (rc == -EINVAL) {
        fprintf(stderr, "gpuctl: %s; nothing was changed\n", e.msg);
        return EXIT_INVALID_ARGS;
    }
    return 0;
}

static int edit(struct guard_cmd *g, struct guard_config *cfg)
{
    const struct guard_args *a = &g->a;
    struct guard_config next;
    if (guard_config_copy(&next, cfg) < 0)
        return EXIT_GENERAL;
    int rc = a->q.import_file ? import_config(&next, a->q.import_file) : 0;
    if (rc == 0)
        rc = global_edits(&next, a);
    if (rc == 0)
        rc = remove_one(&next, a);
    if (rc == 0 && a->add == TARGET_USER)
        rc = add_user(&next, a);
    else if (rc == 0 && a->add == TARGET_GROUP)
        rc = add_group(&next, a);
    else if (rc == 0 && a->add == TARGET_GPU)
        rc = add_gpu(&next, a);
    else if (rc == 0 && a->add == TARGET_TIME)
        rc = add_time(&next, a);
    struct error e = {0};
    if (rc == 0 && guard_config_validate(&next, &e) < 0) {
        fprintf(stderr, "gpuctl: %s; nothing was changed\n", e.msg);
        rc = EXIT_INVALID_ARGS;
    }
    if (rc == 0)
        rc = check_gpus(&next, g);
    if (rc == 0 && guard_config_save(&next, g->path, &e) < 0)
        rc = cli_fail(&e);
    if (rc) {
        guard_config_free(&next);
        return rc;
    }
    fprintf(stderr, "gpuctl: saved %s\n", g->path);
    guard_config_free(cfg);
    *cfg = next;
    return 0;
}

/* ---- showing and testing ----------------------------------------------------------- */

static int output_format(struct guard_cmd *g, enum output_format *out)
{
    struct error e = {0};
    if (g->a.q.output && config_set_from_flag(&g->ctx.cfg, CONFIG_OUTPUT_FORMAT, g->a.q.output, &e) < 0)
        return cli_usage_error(CMD, "--output: %s", e.msg);
    *out = g->ctx.cfg.output_format;
    if (*out != OUTPUT_TABLE && *out != OUTPUT_JSON)
        return cli_usage_error(CMD, "guard prints a table or json, not %s",
                               config_output_format_name(*out));
    return 0;
}

static int show(const struct guard_cmd *g, const struct guard_config *c)
{
    char *text = guard_config_to_toml(c);
    if (!text)
        return EXIT_GENERAL;
    printf("# %s\n%s", g->path, text);
    free(text);
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_GENERAL;
}

static int injected_clock(struct guard_clock *clock, bool *fixed)
{
    const char *now = getenv("GPUCTL_GUARD_NOW");
    *fixed = now && *now;
    if (!*fixed) {
        guard_clock_now(clock);
        return 0;
    }
    if (guard_clock_parse(now, clock) < 0) {
        fprintf(stderr, "gpuctl: GPUCTL_GUARD_NOW='%s' is not a local time "
                "(YYYY-MM-DDTHH:MM[:SS])\n", now);
        return EXIT_INVALID_ARGS;
    }
    return 0;
}

static int test_table(const struct guard_cmd *g, const struct guard_config *c,
                      const struct guard_violations *vs)
{
    static const struct table_column cols[] = {
        {"POLICY", TABLE_LEFT, true, 8}, {"RULE", TABLE_LEFT, false, 0},
        {"PID", TABLE_RIGHT, false, 0}, {"USER", TABLE_LEFT, true, 6},
        {"PROCESS", TABLE_LEFT, true, 8}, {"GPU", TABLE_RIGHT, false, 0},
        {"DETAIL", TABLE_LEFT, true, 20}, {"ACTION", TABLE_LEFT, true, 12},
    };
    char action[128];
    doc_policies_planned_action(c, action, sizeof action);
    printf("Guard is %s; mode %s%s.\n", c->enabled ? "enabled" : "disabled",
           c->enforcement == GUARD_HARD ? "hard" : "soft", c->dry_run ? " (dry run)" : "");
    if (vs->count == 0) {
        puts("No policy is violated now.");
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_GENERAL;
    }
    struct table *t = table_new(cols, sizeof cols / sizeof cols[0]);
    if (!t)
        return EXIT_GENERAL;
    for (size_t i = 0; i < vs->count; i++) {
        const struct guard_violation *v = &vs->items[i];
        table_row(t);
        table_cell(t, 0, "%s", v->policy);
        table_cell(t, 0, "%s", v->rule);
        table_cell(t, 0, "%d", (int)v->pid);
        table_cell(t, 0, "%s", v->user);
        table_cell(t, 0, "%s", v->name);
        if (v->gpu >= 0)
            table_cell(t, 0, "%d", v->gpu);
        else
            table_cell(t, 0, "-");
        table_cell(t, 0, "%s", v->detail);
        table_cell(t, 0, "%s", action);
    }
    struct table_render_options o = {
        .color = term_use_color(STDOUT_FILENO, g->ctx.cfg.use_colors),
        .width = g->ctx.cfg.table_width ? g->ctx.cfg.table_width : term_width(STDOUT_FILENO)};
    int rc = table_render(t, stdout, &o);
    table_free(t);
    return rc < 0 ? EXIT_GENERAL : EXIT_OK;
}

static int test_json(const struct guard_config *c, const struct guard_violations *vs)
{
    struct error e = {0};
    struct doc_policies_test_request r = {.config = c, .violations = vs};
    json_t *root = doc_policies_test_build(&r, &e);
    if (!root)
        return cli_fail(&e);
    return doc_json_write(root, stdout, false) < 0 ? EXIT_GENERAL : EXIT_OK;
}

static int test_policies(struct guard_cmd *g, const struct guard_config *c)
{
    enum output_format fmt = OUTPUT_TABLE;
    struct guard_clock clock;
    bool fixed;
    int rc = output_format(g, &fmt);
    if (rc == 0)
        rc = injected_clock(&clock, &fixed);
    if (rc)
        return rc;
    struct error e = {0};
    struct snapshot_ctx *sctx = NULL;
    struct snapshot *snap = NULL;
    struct snapshot_options o = {.processes = true, .host_processes = true,
                                 .host_fields = SNAPSHOT_HOST_USER | SNAPSHOT_HOST_CMDLINE};
    struct guard_violations vs = {0};
    if (snapshot_ctx_open(&sctx, &e) < 0 || snapshot_take(sctx, &o, &snap, &e) < 0 ||
        guard_config_check_gpus(c, snap->device_count, g->path, &e) < 0 ||
        guard_evaluate(c, snap, &clock, &vs, &e) < 0)
        rc = cli_fail(&e);
    if (rc == 0)
        rc = fmt == OUTPUT_JSON ? test_json(c, &vs) : test_table(g, c, &vs);
    guard_violations_free(&vs);
    snapshot_free(snap);
    snapshot_ctx_close(sctx);
    return rc;
}

/* ---- run ---------------------------------------------------------------------------- */

static volatile sig_atomic_t stop_flag, reload_flag;

static void on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void on_hup(int sig)
{
    (void)sig;
    reload_flag = 1;
}

static void daemon_log(void *arg, enum guard_log_level level, const char *msg)
{
    const struct cli_ctx *ctx = arg;
    static const char *const names[] = {"error", "warning", "info", "debug"};
    if (level == GUARD_LOG_DEBUG && ctx->log_level < LOG_DEBUG)
        return;
    char stamp[32] = "";
    time_t t = time(NULL);
    struct tm tm;
    if (localtime_r(&t, &tm))
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "%s gpuctl guard: %s: %s\n", stamp, names[level], msg);
    fflush(stderr);
}

static int run_daemon(struct guard_cmd *g)
{
    struct guard_clock clock;
    bool fixed;
    int rc = injected_clock(&clock, &fixed);
    double interval = 0;
    if (rc == 0 && g->a.q.interval)
        rc = number("--interval", g->a.q.interval, 0.01, 1e6, &interval);
    if (rc)
        return rc;
    struct error e = {0};
    struct policy_store *store = NULL;
    if (policy_store_open(NULL, false, &store, &e) < 0) {
        error_prefix(&e, "guard records violations in the audit database");
        return cli_fail(&e);
    }
    struct sigaction sa = {.sa_handler = on_stop};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    struct sigaction hup = {.sa_handler = on_hup};
    sigemptyset(&hup.sa_mask);
    sigaction(SIGHUP, &hup, NULL);
    struct guard_daemon_options o = {.config_path = g->path, .store = store, .once = g->a.q.once,
                                     .stop = &stop_flag, .reload = &reload_flag,
                                     .webhook_timeout_s = g->ctx.cfg.default_timeout_secs,
                                     .fixed_clock = fixed ? &clock : NULL,
                                     .interval_override_s = interval, .log = daemon_log,
                                     .sample_timeout_s = g->ctx.cfg.default_timeout_secs,
                                     .log_arg = &g->ctx};
    rc = guard_daemon_run(&o, &e) < 0 ? cli_fail(&e) : EXIT_OK;
    policy_store_close(store);
    return rc;
}

/* ---- status ------------------------------------------------------------------------- */

static void format_time(double t, char *buf, size_t size)
{
    struct opt_f64 v = {t, true};
    if (units_format_rfc3339_utc(v.v, buf, size) < 0)
        snprintf(buf, size, "%.0f", t);
}

static int status_table(const struct guard_cmd *g, const struct policy_event *evs, size_t n,
                        double hours)
{
    static const struct table_column cols[] = {
        {"TIME", TABLE_LEFT, false, 0}, {"POLICY", TABLE_LEFT, true, 8},
        {"RULE", TABLE_LEFT, false, 0}, {"PID", TABLE_RIGHT, false, 0},
        {"USER", TABLE_LEFT, true, 6}, {"ACTION", TABLE_LEFT, false, 0},
        {"OK", TABLE_LEFT, false, 0}, {"MESSAGE", TABLE_LEFT, true, 20},
    };
    if (n == 0) {
        printf("No violations in the last %g hours.\n", hours);
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_GENERAL;
    }
    struct table *t = table_new(cols, sizeof cols / sizeof cols[0]);
    if (!t)
        return EXIT_GENERAL;
    for (size_t i = 0; i < n; i++) {
        const struct policy_event *ev = &evs[i];
        char when[40];
        format_time(ev->has_action ? ev->action_time_s : ev->time_s, when, sizeof when);
        table_row(t);
        table_cell(t, 0, "%s", when);
        table_cell(t, 0, "%s", ev->policy);
        table_cell(t, 0, "%s", ev->rule);
        table_cell(t, 0, "%d", (int)ev->pid);
        table_cell(t, 0, "%s", ev->user[0] ? ev->user : "N/A");
        table_cell(t, 0, "%s%s", ev->has_action && ev->dry_run ? "would " : "",
                   ev->has_action ? ev->action : "-");
        table_cell(t, ev->has_action && !ev->success ? TABLE_STYLE_RED : 0, "%s",
                   !ev->has_action ? "-" : ev->success ? "yes" : "no");
        table_cell(t, 0, "%s", ev->has_action && ev->message[0] ? ev->message : ev->detail);
    }
    struct table_render_options o = {
        .color = term_use_color(STDOUT_FILENO, g->ctx.cfg.use_colors),
        .width = g->ctx.cfg.table_width ? g->ctx.cfg.table_width : term_width(STDOUT_FILENO)};
    int rc = table_render(t, stdout, &o);
    table_free(t);
    return rc < 0 ? EXIT_GENERAL : EXIT_OK;
}

static int status(struct guard_cmd *g)
{
    enum output_format fmt = OUTPUT_TABLE;
    double hours = 24;
    unsigned long limit = 50;
    int rc = output_format(g, &fmt);
    if (rc == 0 && g->a.q.hours)
        rc = number("--hours", g->a.q.hours, 0.001, 1e6, &hours);
    if (rc == 0 && g->a.q.limit && !cli_parse_uint(g->a.q.limit, 1000000, &limit))
        rc = cli_usage_error(CMD, "--limit: '%s' is not a whole number", g->a.q.limit);
    if (rc)
        return rc;
    struct error e = {0};
    struct policy_store *store = NULL;
    struct policy_event *evs = NULL;
    size_t n = 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    rc = policy_store_open(NULL, true, &store, &e);
    if (rc == 0)
        rc = policy_store_events(store, hours, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9,
                                 (size_t)limit, &evs, &n, &e);
    policy_store_close(store);
    if (rc < 0 && rc != -ENOENT)
        return cli_fail(&e);
    if (fmt == OUTPUT_JSON) {
        struct doc_policies_events_request r = {.events = evs, .count = n, .hours = hours};
        json_t *root = doc_policies_events_build(&r, &e);
        rc = !root ? cli_fail(&e) : doc_json_write(root, stdout, false) < 0 ? EXIT_GENERAL
                                                                             : EXIT_OK;
    } else {
        rc = status_table(g, evs, n, hours);
    }
    free(evs);
    return rc;
}

/* ---- the command ------------------------------------------------------------------- */

static int dispatch(struct guard_cmd *g)
{
    const struct guard_args *a = &g->a;
    struct error e = {0};
    struct guard_config cfg;
    if (a->sub && strcmp(a->sub, "status") == 0)
        return status(g);
    if (guard_config_load(&cfg, g->path, true, NULL, &e) < 0)
        return cli_fail(&e);
    int rc = has_edits(a) ? edit(g, &cfg) : 0;
    if (rc == 0 && a->sub && strcmp(a->sub, "run") == 0)
        rc = run_daemon(g);
    if (rc == 0 && a->q.export_config) {
        json_t *doc = doc_policies_build(&cfg, &e);
        int wrc = doc ? doc_json_write(doc, stdout, false) : 0;
        rc = !doc ? cli_fail(&e) : wrc < 0 ? cli_output_failed(wrc) : EXIT_OK;
    }
    if (rc == 0 && a->q.show)
        rc = show(g, &cfg);
    if (rc == 0 && a->q.test)
        rc = test_policies(g, &cfg);
    if (rc == 0 && !a->sub && !has_edits(a) && !a->q.export_config && !a->q.test && !a->q.show)
        rc = show(g, &cfg);
    guard_config_free(&cfg);
    return rc;
}

static int check_and_run(struct guard_cmd *g)
{
    const struct guard_args *a = &g->a;
    if (limit_flags_without_target(a))
        return cli_usage_error(CMD, "policy options such as --memory-limit go with --add-user, "
                               "--add-group, --add-gpu or --add-time-policy");
    if (a->sub && strcmp(a->sub, "run") != 0 && (a->q.once || a->q.interval))
        return cli_usage_error(CMD, "--once and --interval go with `guard run`");
    if ((a->q.hours || a->q.limit) && !(a->sub && strcmp(a->sub, "status") == 0))
        return cli_usage_error(CMD, "--hours and --limit go with `guard status`");
    int rc = cli_load_config(&g->ctx, &a->common);
    if (rc)
        return rc;
    struct error e = {0};
    if (a->q.file)
        snprintf(g->path, sizeof g->path, "%s", a->q.file);
    else if (policy_config_path(g->path, sizeof g->path, "guard.toml", &e) < 0)
        return cli_fail(&e);
    return dispatch(g);
}

int cmd_guard(int argc, char **argv)
{
    struct guard_cmd g = {0};
    int rc = parse_args(&g.a, argc, argv);
    if (rc == 0)
        rc = check_and_run(&g);
    options_parsed_clear(&g.a.parsed);
    return rc < 0 ? EXIT_OK : rc;
}
