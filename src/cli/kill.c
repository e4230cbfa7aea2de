/* kill.c - `gpuctl kill`: arguments, choosing the processes, reporting the
 * safety checks' refusals, and the run.
 *
 * Named processes (--pid) are opened before anything else, so every check
 * concerns the process that will be signalled; a pattern (--filter) picks
 * among the processes a snapshot shows on the GPUs, each opened with the
 * start time the snapshot saw.  Nothing is signalled unless every process
 * passes every check.  The checks, the order and the waiting are
 * ops/kill.c's; the rendering is kill_output.c's.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/kill.h"
#include "cli/opts.h"
#include "core/term.h"

struct kill_args {
    struct cli_common common;
    struct options_parsed parsed;
    pid_t *pids;
    size_t pid_count;
    const char *regex, *timeout, *signal, *output;
    bool batch, force, tree, group, dry_run;
};

struct kill_cmd {
    struct cli_ctx ctx;
    struct kill_args a;
    int signal;
    struct filter filter;
    struct kill_set set;
    struct snapshot_ctx *sctx;
    struct snapshot *snap;
};

static int out_of_memory(void)
{
    fputs("gpuctl: out of memory\n", stderr);
    return EXIT_GENERAL;
}

/* ---- arguments ------------------------------------------------------------------ */

/* The option table (kill_opts.c) fills a kill_request; this copies it into
 * kill_args, whose pid array the checks use. */
static int parse_args(struct kill_args *a, int argc, char **argv)
{
    struct kill_request q = {0};
    int rc = cli_parse_options(&kill_options, argc, argv, &q, &a->parsed, &a->common);
    if (rc)
        return rc;
    a->pids = calloc(q.pid.count + 1, sizeof *a->pids);
    if (!a->pids) {
        fputs("gpuctl: out of memory\n", stderr);
        return EXIT_GENERAL;
    }
    for (size_t i = 0; i < q.pid.count; i++)
        a->pids[a->pid_count++] = (pid_t)atol(q.pid.values[i]);
    a->regex = q.filter;
    a->timeout = q.timeout;
    a->signal = q.signal;
    a->output = q.output;
    a->batch = q.batch;
    a->force = q.force;
    a->tree = q.tree;
    a->group = q.group;
    a->dry_run = q.dry_run;
    if ((a->pid_count > 0) == (a->regex != NULL))
        return cli_usage_error("kill", "name the processes with either --pid or --filter");
    return 0;
}

/* ---- configuration -------------------------------------------------------------- */

static int apply_flags(struct kill_cmd *c)
{
    struct error e = {0};
    int rc = cli_apply_table_or_json(&c->ctx, "kill", c->a.output);
    if (rc)
        return rc;
    if (c->a.timeout &&
        config_set_from_flag(&c->ctx.cfg, CONFIG_DEFAULT_TIMEOUT_SECS, c->a.timeout, &e) < 0)
        return cli_usage_error("kill", "--timeout-secs: %s", e.msg);
    c->signal = SIGTERM;
    if (c->a.signal && kill_signal_parse(c->a.signal, &c->signal) < 0)
        return cli_usage_error("kill", "--signal: '%s' is not a signal name (TERM, SIGINT, ...) "
                               "or number (1-64)", c->a.signal);
    if (c->a.regex && filter_set_regex(&c->filter, c->a.regex, &e) < 0)
        return cli_usage_error("kill", "--filter: %s", e.msg);
    return 0;
}

/* ---- choosing the processes ------------------------------------------------------- */

/* Opens every named process first: the checks then concern these. */
static int add_named(struct kill_cmd *c)
{
    int rc = EXIT_OK;
    for (size_t i = 0; i < c->a.pid_count; i++) {
        struct error e = {0};
        if (kill_set_add(&c->set, c->a.pids[i], PROC_IDENT_ANY_START, KILL_ROLE_TARGET, 0,
                         &e) < 0) {
            int code = cli_fail(&e);
            rc = rc ? rc : code;
        }
    }
    return rc;
}

/* The GPU processes, to check --pid against or to match --filter on.  With
 * --pid --force the check is skipped, so no GPU source is no error. */
static int take_snapshot(struct kill_cmd *c)
{
    struct error e = {0};
    struct snapshot_options opts = {.processes = true, .host_processes = true,
                                    .host_fields = SNAPSHOT_HOST_USER | SNAPSHOT_HOST_CMDLINE};
    int rc = snapshot_ctx_open(&c->sctx, &e);
    if (rc == 0)
        rc = snapshot_take(c->sctx, &opts, &c->snap, &e);
    if (rc == 0)
        return 0;
    bool named = c->a.pid_count > 0;
    if (named && c->a.force) {
        cli_log(&c->ctx, LOG_INFO, "not checking GPU use (--force): %s", e.msg);
        return 0;
    }
    if (named)
        error_prefix(&e, "cannot tell whether the processes use a GPU (pass --force to signal "
                     "them anyway)");
    else
        error_prefix(&e, "cannot list the GPU processes to match --filter against");
    return cli_fail(&e);
}

static int add_matched(struct kill_cmd *c)
{
    struct kill_pick *picks;
    size_t n;
    if (kill_select(c->snap, &c->filter, &picks, &n) < 0)
        return out_of_memory();
    char why[256];
    if (filter_regex_failure(&c->filter, why, sizeof why) < 0) {
        /* a pattern PCRE2 gave up on is not "nothing matches" */
        free(picks);
        fprintf(stderr, "gpuctl: --filter '%s' could not be matched against every process "
                "(%s): simplify the pattern; nothing was signalled\n", c->a.regex, why);
        return EXIT_INVALID_ARGS;
    }
    int rc = EXIT_OK;
    for (size_t i = 0; i < n && rc == EXIT_OK; i++) {
        struct error e = {0};
        int r = kill_set_add(&c->set, picks[i].pid, picks[i].start_ticks, KILL_ROLE_TARGET, 0, &e);
        if (r == -ESRCH || r == -ESTALE)
            cli_log(&c->ctx, LOG_INFO, "skipping a match that has exited: %s", e.msg);
        else if (r < 0)
            rc = cli_fail(&e);
    }
    free(picks);
    if (rc == EXIT_OK && c->set.count == 0) {
        if (n == 0)
            fprintf(stderr, "gpuctl: no GPU process matches '%s'\n", c->a.regex);
        else
            fprintf(stderr, "gpuctl: the %zu GPU process%s matching '%s' ha%s exited\n", n,
                    n == 1 ? "" : "es", c->a.regex, n == 1 ? "s" : "ve");
        return EXIT_GENERAL;
    }
    return rc;
}

/* ---- refusals, output, run ---------------------------------------------------------- */

static int report_refusals(const struct kill_cmd *c)
{
    int rc = EXIT_OK;
    for (size_t i = 0; i < c->set.count; i++) {
        const struct kill_entry *en = &c->set.items[i];
        if (!en->refusal.code)
            continue;
        bool gpu = en->refused_off_gpu && !c->a.force;
        fprintf(stderr, "gpuctl: %s%s\n", en->refusal.msg,
                gpu ? "; pass --force to signal it anyway" : "");
        if (!rc)
            rc = cli_exit_code(en->refusal.code);
    }
    fputs("gpuctl: nothing was signalled\n", stderr);
    return rc;
}

static int render(struct kill_cmd *c, enum doc_kill_stage stage)
{
    const struct config *cfg = &c->ctx.cfg;
    size_t *order = malloc((c->set.count ? c->set.count : 1) * sizeof *order);
    if (!order)
        return out_of_memory();
    struct cli_kill_view v = {
        .doc = {.set = &c->set, .order = order, .stage = stage, .signal = c->signal,
                .timeout_secs = cfg->default_timeout_secs, .force = c->a.force,
                .tree = c->a.tree, .group = c->a.group},
        .color = term_use_color(STDOUT_FILENO, cfg->use_colors),
        .width = cfg->table_width ? cfg->table_width : term_width(STDOUT_FILENO),
    };
    kill_set_order(&c->set, order);
    int rc = cfg->output_format == OUTPUT_TABLE
                 ? cli_kill_render_table(&v, stdout)
                 : cli_kill_render_json(&v, stdout, cfg->output_format == OUTPUT_NDJSON);
    free(order);
    if (rc < 0 && rc != -EPIPE)
        fprintf(stderr, "gpuctl: cannot write the output: %s\n", strerror(-rc));
    return rc < 0 ? EXIT_GENERAL : EXIT_OK;
}

static int list_matches(struct kill_cmd *c)
{
    int rc = render(c, DOC_KILL_MATCHED);
    size_t n = c->set.count;
    fprintf(stderr, "gpuctl: --filter '%s' matches %zu process%s; pass --batch to signal %s\n",
            c->a.regex, n, n == 1 ? "" : "es", n == 1 ? "it" : "them all");
    return rc ? rc : EXIT_INVALID_ARGS;
}

static int run_kill(struct kill_cmd *c)
{
    struct error e = {0};
    struct kill_run_options o = {.signal = c->signal, .force = c->a.force,
                                 .timeout_ms = (long)c->ctx.cfg.default_timeout_secs * 1000L};
    int left = kill_set_run(&c->set, &o, &e);
    if (left < 0)
        return cli_fail(&e);
    int rc = render(c, DOC_KILL_DONE);
    if (left > 0) {
        fprintf(stderr, "gpuctl: %d of %zu process%s did not end%s\n", left, c->set.count,
                c->set.count == 1 ? "" : "es",
                c->a.force || c->signal == SIGKILL ? "" : " (--force sends SIGKILL after the wait)");
        return EXIT_GENERAL;
    }
    return rc;
}

/* ---- command ----------------------------------------------------------------------- */

static int choose(struct kill_cmd *c)
{
    int rc;
    struct error e = {0};
    if (c->a.pid_count && (rc = add_named(c)))
        return rc;
    if ((rc = take_snapshot(c)))
        return rc;
    if (c->a.regex && (rc = add_matched(c)))
        return rc;
    bool listing = c->a.regex && !c->a.batch;
    if (!listing && kill_set_expand(&c->set, c->a.tree, c->a.group, &e) < 0)
        return cli_fail(&e);
    if (c->snap && kill_set_note_gpus(&c->set, c->snap) < 0)
        return out_of_memory();
    return listing ? list_matches(c) : EXIT_OK;
}

static int prepare(struct kill_cmd *c, int argc, char **argv)
{
    int rc = parse_args(&c->a, argc, argv);
    if (rc)
        return rc;
    if ((rc = cli_load_config(&c->ctx, &c->a.common)) || (rc = apply_flags(c)))
        return rc;
    struct error e = {0};
    if (kill_set_init(&c->set, &e) < 0)
        return cli_fail(&e);
    return EXIT_OK;
}

static int execute(struct kill_cmd *c)
{
    int rc = choose(c);
    if (rc)
        return rc;
    if (kill_set_check(&c->set, !c->a.force) > 0)
        return report_refusals(c);
    if (c->a.dry_run)
        return render(c, DOC_KILL_DRY_RUN);
    return run_kill(c);
}

int cmd_kill(int argc, char **argv)
{
    struct kill_cmd c = {0};
    int rc = prepare(&c, argc, argv);
    if (rc == EXIT_OK)
        rc = execute(&c);
    kill_set_free(&c.set);
    snapshot_free(c.snap);
    snapshot_ctx_close(c.sctx);
    filter_clear(&c.filter);
    free(c.a.pids);
    options_parsed_clear(&c.a.parsed);
    return rc < 0 ? EXIT_OK : rc;
}
