/* list.c - `gpuctl list`: arguments, the one-shot pass and --watch.
 *
 * One-shot means one pass: one snapshot, no sleeping, no subprocess, and
 * /proc read only for the pids on a GPU.  What is shown and the JSON
 * document are src/doc's (snapshot_doc.h); the table is list_table.c.
 */
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/audit.h"
#include "cli/cli.h"
#include "cli/list.h"
#include "cli/opts.h"
#include "cluster/agent.h"
#include "core/filter.h"
#include "core/str.h"
#include "core/term.h"
#include "doc/json.h"
#include "doc/snapshot_doc.h"
#include "feed/feed.h"

struct list_args {
    struct cli_common common;
    struct options_parsed parsed;          /* owns the strings of the lists */
    bool details, containers, ascii, no_color, watch;
    double watch_secs;                 /* 0: from configuration */
    const char *output;
    struct filter filter;
    int *only;
    const char **users;
    pid_t *pids;
    const char *regex;
    const char *cluster;               /* --cluster URL */
};

/* ---- arguments --------------------------------------------------------------- */

/* The option table (list_opts.c) fills a list_request; these turn its
 * values into the filter. */

static int take_vendor(struct list_args *a, const char *v)
{
    enum vendor vendor;
    if (strcmp(v, "all") == 0) {
        a->filter.vendor_mask = 0;
        return 0;
    }
    if (model_vendor_parse(v, &vendor) < 0 || vendor == VENDOR_UNKNOWN || vendor == VENDOR_OTHER)
        return cli_usage_error("list", "--vendor: '%s' is not one of nvidia, amd, intel, apple, "
                               "all", v);
    if (vendor == VENDOR_APPLE) {
        fputs("gpuctl: --vendor apple: Apple Silicon GPUs are only supported on macOS; this is "
              "Linux\n", stderr);
        return EXIT_UNSUPPORTED;
    }
    a->filter.vendor_mask |= 1u << vendor;
    return 0;
}

static int take_request(struct list_args *a, const struct list_request *q)
{
    a->details = q->details;
    a->containers = q->containers;
    a->ascii = q->ascii;
    a->no_color = q->no_color;
    a->watch = options_given(&list_options, &a->parsed, "watch");
    a->watch_secs = q->watch_secs;
    a->output = q->output;
    a->regex = q->filter;
    a->cluster = q->cluster;
    a->filter.only_visible = q->only_visible;
    a->filter.compute = q->compute;
    a->filter.graphics = q->graphics;
    a->filter.users_set = options_given(&list_options, &a->parsed, "user");
    for (size_t i = 0; i < q->vendor.count; i++) {
        int rc = take_vendor(a, q->vendor.values[i]);
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_args(struct list_args *a, int argc, char **argv)
{
    struct list_request q = {0};
    int rc = cli_parse_options(&list_options, argc, argv, &q, &a->parsed, &a->common);
    if (rc)
        return rc;
    if ((rc = take_request(a, &q)))
        return rc;
    return cli_filter_lists(&a->filter, &a->only, &a->users, &a->pids, &q.only, &q.user,
                            &q.pid);
}

static void free_args(struct list_args *a)
{
    filter_clear(&a->filter);
    options_parsed_clear(&a->parsed);
    free(a->only);
    free(a->users);
    free(a->pids);
}

/* ---- applying configuration ------------------------------------------------ */

static int apply_flags(struct cli_ctx *ctx, struct list_args *a)
{
    struct error e = {0};
    if (a->output && config_set_from_flag(&ctx->cfg, CONFIG_OUTPUT_FORMAT, a->output, &e) < 0)
        return cli_usage_error("list", "--output: %s", e.msg);
    if (a->details && config_set_from_flag(&ctx->cfg, CONFIG_SHOW_DETAILS, "true", &e) < 0)
        return cli_fail(&e);
    if (a->no_color && config_set_from_flag(&ctx->cfg, CONFIG_USE_COLORS, "false", &e) < 0)
        return cli_fail(&e);
    enum output_format f = ctx->cfg.output_format;
    if (f != OUTPUT_TABLE && f != OUTPUT_JSON && f != OUTPUT_NDJSON) {
        enum config_origin from = ctx->cfg.origin[CONFIG_OUTPUT_FORMAT];
        if (from == CONFIG_FROM_FLAG)
            return cli_usage_error("list", "--output %s is not supported by list; use table or "
                                   "json", config_output_format_name(f));
        /* Not the user's arguments: their configuration (exit 1, not 3). */
        fprintf(stderr, "gpuctl: output_format '%s' (from %s) is not supported by list; use "
                "table or json, or pass --output\n", config_output_format_name(f),
                config_origin_name(from));
        return EXIT_GENERAL;
    }
    if (a->regex) {
        if (filter_set_regex(&a->filter, a->regex, &e) < 0)
            return cli_usage_error("list", "--filter: %s", e.msg);
    }
    return 0;
}

/* A --pid naming no process at all is a mistake worth an error, unlike a
 * process that simply has nothing on a GPU. */
static int check_pids_exist(const struct list_args *a)
{
    for (size_t i = 0; i < a->filter.pid_count; i++) {
        if (kill(a->pids[i], 0) < 0 && errno == ESRCH) {
            fprintf(stderr, "gpuctl: no process with pid %d\n", (int)a->pids[i]);
            return EXIT_GENERAL;
        }
    }
    return 0;
}

/* ---- one pass ------------------------------------------------------------------ */

struct list_run {
    struct cli_ctx ctx;
    struct list_args args;
    struct snapshot_ctx *sctx;        /* one-shot only: --watch subscribes to a feed */
    char self_user[64];
    bool color, ascii, tty;
    struct cli_audit_hook audit;
};

/* fr: the --watch frame s came in (its stale marks), NULL one-shot. */
static int render(struct list_run *r, const struct snapshot *s, const struct feed_frame *fr,
                  FILE *out)
{
    const struct config *cfg = &r->ctx.cfg;
    struct doc_snapshot_request req = {
        .filter = &r->args.filter, .cuda_visible_devices = getenv("CUDA_VISIBLE_DEVICES"),
        .self_user = r->self_user, .details = cfg->show_details,
        .containers = r->args.containers,
        .device_stale = fr ? fr->device_stale : NULL,
    };
    struct doc_snapshot_view shown;
    struct error e = {0};
    int rc = doc_snapshot_view_init(&shown, s, &req, &e);
    if (rc == 0 && cfg->output_format == OUTPUT_TABLE) {
        struct list_view v = {
            .shown = &shown, .ascii = r->ascii, .color = r->color,
            .width = cfg->table_width ? cfg->table_width : term_width(STDOUT_FILENO),
            .self_user = r->self_user, .stale_for_s = fr ? fr->stale_for_s : 0,
        };
        rc = list_render_table(&v, out);
    } else if (rc == 0) {
        bool compact = r->args.watch || cfg->output_format == OUTPUT_NDJSON;
        rc = doc_snapshot_write_view(&shown, out, compact, &e);
    }
    doc_snapshot_view_clear(&shown);
    return rc;
}

/* ---- --cluster: every node of a coordinator ------------------------------- */

/* One node of the coordinator's cluster snapshot, decoded for drawing. */
struct cluster_row {
    struct snapshot *snap;
    struct doc_snapshot_view view;
    char error[ERROR_MSG_MAX];
};

static void cluster_row_decode(const json_t *node, const struct doc_snapshot_request *req,
                               struct cluster_row *row, struct list_host_view *out)
{
    const char *status = json_string_value(json_object_get(node, "status"));
    const json_t *doc = json_object_get(node, "snapshot");
    struct error e = {0};
    out->host = json_string_value(json_object_get(node, "id"));
    out->error = row->error;
    if (!doc || json_is_null(doc)) {
        snprintf(row->error, sizeof row->error, "%s, no snapshot yet", status ? status : "?");
    } else if (status && !strcmp(status, "offline")) {
        snprintf(row->error, sizeof row->error, "offline since %s",
                 json_string_value(json_object_get(node, "last_seen")));
    } else if (doc_snapshot_decode(doc, &row->snap, &e) < 0) {
        snprintf(row->error, sizeof row->error, "%s", e.msg);
    } else if (doc_snapshot_view_init(&row->view, row->snap, req, &e) < 0) {
        snprintf(row->error, sizeof row->error, "%s", e.msg);
    } else {
        out->shown = &row->view;
    }
}

static int draw_cluster(struct list_run *r, const json_t *doc, FILE *out)
{
    const json_t *nodes = json_object_get(doc, "nodes");
    size_t n = json_array_size(nodes);
    struct cluster_row *rows = calloc(n ? n : 1, sizeof *rows);
    struct list_host_view *hosts = calloc(n ? n : 1, sizeof *hosts);
    int rc = rows && hosts ? 0 : -ENOMEM;
    const struct config *cfg = &r->ctx.cfg;
    struct doc_snapshot_request req = {.filter = &r->args.filter, .self_user = r->self_user,
                                       .details = cfg->show_details,
                                       .containers = r->args.containers};
    for (size_t i = 0; rc == 0 && i < n; i++)
        cluster_row_decode(json_array_get(nodes, i), &req, &rows[i], &hosts[i]);
    struct list_view style = {
        .ascii = r->ascii, .color = r->color, .host_heading = "NODE",
        .width = cfg->table_width ? cfg->table_width : term_width(STDOUT_FILENO),
        .self_user = r->self_user,
    };
    if (rc == 0)
        rc = list_render_hosts(hosts, n, &style, cfg->show_details, out);
    for (size_t i = 0; rows && i < n; i++) {
        doc_snapshot_view_clear(&rows[i].view);
        snapshot_free(rows[i].snap);
    }
    free(rows);
    free(hosts);
    return rc;
}

/* GET URL/api/cluster/snapshot; the document as it came with --output
 * json, else one table of every node's GPUs (and processes). */
static int cluster_pass(struct list_run *r)
{
    if (r->args.watch)
        return cli_usage_error("list", "--cluster draws the cluster once; it does not take "
                               "--watch");
    char *token = NULL;
    int rc = cli_read_token("list", NULL, &token);
    if (rc)
        return rc;
    char url[2048];
    snprintf(url, sizeof url, "%s/api/cluster/snapshot", r->args.cluster);
    char *body = NULL;
    size_t len = 0;
    struct error e = {0};
    rc = cluster_http_get(url, token, r->ctx.cfg.default_timeout_secs, &body, &len, &e);
    free(token);
    if (rc < 0)
        return cli_fail(&e);
    json_error_t je;
    json_t *doc = json_loadb(body, len, 0, &je);
    free(body);
    if (!json_is_object(doc)) {
        json_decref(doc);
        fprintf(stderr, "gpuctl: %s did not answer a cluster snapshot document\n", url);
        return EXIT_GENERAL;
    }
    if (r->ctx.cfg.output_format != OUTPUT_TABLE)
        rc = doc_json_write(json_incref(doc), stdout, r->ctx.cfg.output_format == OUTPUT_NDJSON);
    else
        rc = draw_cluster(r, doc, stdout);
    json_decref(doc);
    if (rc < 0) {
        fprintf(stderr, "gpuctl: cannot write the output: %s\n", strerror(-rc));
        return EXIT_GENERAL;
    }
    return 0;
}

/* The /proc files worth reading for this output: a plain table shows only
 * the top process's name (from stat); filters need what they match on. */
static unsigned host_fields_needed(const struct list_run *r)
{
    const struct filter *f = &r->args.filter;
    if (r->ctx.cfg.output_format != OUTPUT_TABLE || r->ctx.cfg.show_details)
        return SNAPSHOT_HOST_ALL;
    return (f->users_set ? SNAPSHOT_HOST_USER : 0u) | (f->regex ? SNAPSHOT_HOST_CMDLINE : 0u) |
           cli_audit_hook_host_fields(&r->ctx);
}

static double watch_secs(const struct list_run *r)
{
    return r->args.watch_secs > 0 ? r->args.watch_secs : r->ctx.cfg.watch_interval_secs;
}

/* The recording interval of --watch, in whole seconds (at least 1). */
static unsigned watch_interval(const struct list_run *r)
{
    double secs = watch_secs(r);
    return secs < 1 ? 1u : (unsigned)(secs + 0.5);
}

static struct snapshot_options snapshot_wanted(const struct list_run *r)
{
    return (struct snapshot_options){.processes = true, .host_processes = true,
                                     .host_fields = host_fields_needed(r)};
}

/* Records and shows one snapshot; fr is the --watch frame it came in (NULL
 * one-shot).  A stale frame repeats an older sample: it is shown, marked,
 * but not recorded twice. */
static int show(struct list_run *r, const struct snapshot *s, const struct feed_frame *fr,
                FILE *out)
{
    if (!fr || !fr->stale)
        cli_audit_hook_record(&r->audit, &r->ctx, s, fr ? watch_interval(r) : 0);
    int rc = render(r, s, fr, out);
    if (rc < 0) {
        if (rc != -EPIPE)
            fprintf(stderr, "gpuctl: cannot write the output: %s\n", strerror(-rc));
        return EXIT_GENERAL;
    }
    return EXIT_OK;
}

/* --vendor that matches no GPU of the machine: an empty table would read
 * as "no GPU here", so say what was asked for and which vendors there are. */
static void note_vendors_found(const struct list_run *r, const struct snapshot *s)
{
    unsigned mask = r->args.filter.vendor_mask;
    if (!mask || s->device_count == 0)
        return;
    size_t per[VENDOR_SIMULATED + 1] = {0};
    for (size_t i = 0; i < s->device_count; i++) {
        if (mask & (1u << s->devices[i].vendor))
            return;
        if ((unsigned)s->devices[i].vendor <= VENDOR_SIMULATED)
            per[s->devices[i].vendor]++;
    }
    char asked[128] = "", found[256] = "";
    size_t na = 0, nf = 0;
    for (unsigned v = 0; v <= VENDOR_SIMULATED; v++) {
        if ((mask & (1u << v)) && na < sizeof asked)
            na += (size_t)snprintf(asked + na, sizeof asked - na, "%s%s", na ? ", " : "",
                                   model_vendor_name((enum vendor)v));
        if (per[v] && nf < sizeof found)
            nf += (size_t)snprintf(found + nf, sizeof found - nf, "%s%zu %s", nf ? ", " : "",
                                   per[v], model_vendor_name((enum vendor)v));
    }
    fprintf(stderr, "gpuctl: no GPU of vendor %s on this machine; found: %s\n", asked, found);
}

static int one_pass(struct list_run *r, FILE *out)
{
    struct error e = {0};
    struct snapshot *s;
    struct snapshot_options opts = snapshot_wanted(r);
    if (snapshot_take(r->sctx, &opts, &s, &e) < 0)
        return cli_fail(&e);
    int rc = show(r, s, NULL, out);
    if (rc == EXIT_OK && r->ctx.cfg.output_format == OUTPUT_TABLE)
        note_vendors_found(r, s);     /* JSON says it with its empty list */
    snapshot_free(s);
    return rc;
}

/* ---- --watch -------------------------------------------------------------------- */

/* Set by the SIGINT/SIGTERM handler: the only way a signal can talk to the
 * redraw loop, hence the one global. */
static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* SA_RESTART: a frame blocked on a slow reader finishes writing instead of
 * failing with EINTR; the wait for the next frame is never restarted (poll
 * always reports EINTR), so the loop still wakes at once. */
static void install_stop_handlers(void)
{
    struct sigaction sa = {.sa_handler = on_stop_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void list_paint_frame(const char *frame, size_t len)
{
    fputs("\033[H", stdout);
    for (size_t i = 0; i < len; i++) {
        if (frame[i] == '\n')
            fputs("\033[K", stdout);
        fputc(frame[i], stdout);
    }
    fputs("\033[J", stdout);
    fflush(stdout);
}

static void log_sources(const struct list_run *r, const struct source_status *st, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (st[i].started)
            cli_log(&r->ctx, LOG_DEBUG, "source %s started", st[i].name);
        else
            cli_log(&r->ctx, LOG_INFO, "source %s: %s", st[i].name, st[i].message);
    }
}

static int show_frame(struct list_run *r, const struct feed_frame *fr, bool screen)
{
    if (!screen)
        return show(r, fr->snap, fr, stdout);
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    int rc = mem ? show(r, fr->snap, fr, mem) : EXIT_GENERAL;
    if (mem && fclose(mem) == 0 && rc == EXIT_OK)
        list_paint_frame(text, len);
    free(text);
    return rc;
}

/* Each frame of the feed, as it comes: a sample that hangs in the driver
 * still gives a frame every interval, its GPUs marked stale. */
static int follow_feed(struct list_run *r, struct feed_sub *sub, bool screen)
{
    int rc = EXIT_OK;
    bool logged = false;
    while (!stop_requested && rc == EXIT_OK) {
        struct feed_frame *fr = feed_sub_wait(sub, -1);
        struct error e = {0};
        if (!fr) {
            if (feed_sub_error(sub, &e) < 0)
                rc = cli_fail(&e);
            continue;
        }
        if (!logged) {
            log_sources(r, fr->snap->sources, fr->snap->source_count);
            logged = true;
        }
        rc = show_frame(r, fr, screen);
        feed_frame_unref(fr);
    }
    return rc;
}

static int watch_loop(struct list_run *r)
{
    bool screen = r->tty && r->ctx.cfg.output_format == OUTPUT_TABLE;
    const struct feed_options fo = {.interval_s = watch_secs(r), .snap = snapshot_wanted(r),
                                    .timeout_s = r->ctx.cfg.default_timeout_secs};
    struct feed *feed = NULL;
    struct feed_sub *sub = NULL;
    struct error e = {0};
    if (feed_start(&feed, &fo, &e) < 0)
        return cli_fail(&e);
    if (feed_subscribe(feed, &sub, &e) < 0) {
        feed_stop(feed);
        return cli_fail(&e);
    }
    install_stop_handlers();
    if (screen)
        fputs("\033[?1049h\033[?25l", stdout);   /* alternate screen, hide cursor */
    int rc = follow_feed(r, sub, screen);
    if (screen)
        fputs("\033[?25h\033[?1049l", stdout);    /* cursor back, original screen */
    fflush(stdout);
    feed_unsubscribe(sub);
    feed_stop(feed);
    return rc;
}

/* ---- command --------------------------------------------------------------------- */

static void find_self_user(char *buf, size_t size)
{
    struct passwd pw, *res = NULL;
    char scratch[1024];
    if (getpwuid_r(getuid(), &pw, scratch, sizeof scratch, &res) == 0 && res)
        str_copy(buf, size, res->pw_name);
    else
        snprintf(buf, size, "%u", (unsigned)getuid());
}

static int prepare(struct list_run *r, int argc, char **argv)
{
    int rc = parse_args(&r->args, argc, argv);
    if (rc)
        return rc;
    if ((rc = cli_load_config(&r->ctx, &r->args.common)) || (rc = apply_flags(&r->ctx, &r->args)))
        return rc;
    find_self_user(r->self_user, sizeof r->self_user);
    r->tty = term_is_tty(STDOUT_FILENO);
    r->color = term_use_color(STDOUT_FILENO, r->ctx.cfg.use_colors);
    r->ascii = r->args.ascii;
    return check_pids_exist(&r->args);
}

int cmd_list(int argc, char **argv)
{
    struct list_run r = {0};
    int rc = prepare(&r, argc, argv);
    if (rc == 0) {
        struct error e = {0};
        const struct source_status *st;
        if (r.args.cluster) {
            rc = cluster_pass(&r);
        } else if (r.args.watch) {
            rc = watch_loop(&r);
        } else if (snapshot_ctx_open(&r.sctx, &e) < 0) {
            rc = cli_fail(&e);
        } else {
            size_t n = snapshot_ctx_sources(r.sctx, &st);
            log_sources(&r, st, n);
            rc = one_pass(&r, stdout);
        }
    }
    snapshot_ctx_close(r.sctx);
    cli_audit_hook_close(&r.audit);
    free_args(&r.args);
    return rc < 0 ? EXIT_OK : rc;
}
