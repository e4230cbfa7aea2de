/* audit_rogue.c - `gpuctl audit --rogue`: scanning the live snapshot and
 * the audit history for miners, suspicious processes, resource abuse and
 * exfiltration, and editing, showing, exporting and importing rogue.toml.
 *
 * Edits (thresholds, allow-lists, an import) are applied to a copy of the
 * configuration, validated whole and written atomically; a scan given in
 * the same command then uses the new configuration.  Detection is
 * policy/rogue.c's; this file parses, loads and prints.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/audit_rogue.h"
#include "cli/cli.h"
#include "core/table.h"
#include "core/term.h"
#include "doc/json.h"
#include "doc/rogue_doc.h"
#include "policy/policy_store.h"
#include "policy/rogue.h"

#define CMD "audit"

struct rogue_args {
    bool scan, show_config, export_config;
    const char *hours, *output, *import_file;
    const char *memory, *utilization, *duration, *confidence;
    const char *wl_process, *unwl_process, *wl_user, *unwl_user;
};

bool audit_rogue_wanted(const struct audit_request *q)
{
    return q->rogue || q->rogue_config || q->rogue_export || q->rogue_import ||
           q->rogue_memory || q->rogue_utilization || q->rogue_duration || q->rogue_confidence ||
           q->rogue_wl_process || q->rogue_unwl_process || q->rogue_wl_user || q->rogue_unwl_user;
}

/* ---- arguments ------------------------------------------------------------------ */

/* The audit table (audit_opts.c) parsed the command line; these are its
 * rogue values. */
static void take_request(struct rogue_args *a, const struct audit_request *q)
{
    a->scan = q->rogue;
    a->show_config = q->rogue_config;
    a->export_config = q->rogue_export;
    a->hours = q->hours;
    a->output = q->output;
    a->import_file = q->rogue_import;
    a->memory = q->rogue_memory;
    a->utilization = q->rogue_utilization;
    a->duration = q->rogue_duration;
    a->confidence = q->rogue_confidence;
    a->wl_process = q->rogue_wl_process;
    a->unwl_process = q->rogue_unwl_process;
    a->wl_user = q->rogue_wl_user;
    a->unwl_user = q->rogue_unwl_user;
}

static bool has_edits(const struct rogue_args *a)
{
    return a->import_file || a->memory || a->utilization || a->duration || a->confidence ||
           a->wl_process || a->unwl_process || a->wl_user || a->unwl_user;
}

/* ---- configuration edits ---------------------------------------------------------- */

static int number_flag(const char *flag, const char *text, double min, double max, double *out)
{
    char *end;
    double v = text ? strtod(text, &end) : 0;
    if (!text || !*text || *end || !(v >= min && v <= max))
        return cli_usage_error(CMD, "%s: '%s' is not a number from %g to %g", flag,
                               text ? text : "", min, max);
    *out = v;
    return 0;
}

static int import_json(struct rogue_config *cfg, const char *file)
{
    json_error_t jerr;
    json_t *doc = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc && jerr.line < 1) {    /* not read at all: no position to give */
        fprintf(stderr, "gpuctl: %s; nothing was imported\n", jerr.text);
        return EXIT_GENERAL;
    }
    if (!doc) {
        fprintf(stderr, "gpuctl: %s:%d:%d: %s; nothing was imported\n", file, jerr.line,
                jerr.column, jerr.text);
        return EXIT_GENERAL;
    }
    struct error e = {0};
    struct rogue_config next;
    int rc = rogue_config_from_json(&next, doc, &e);
    json_decref(doc);
    if (rc < 0) {
        fprintf(stderr, "gpuctl: %s: %s; nothing was imported\n", file, e.msg);
        return EXIT_GENERAL;
    }
    rogue_config_free(cfg);
    *cfg = next;
    return 0;
}

static int list_edit(struct policy_strlist *l, const char *add, const char *remove,
                     const char *what)
{
    if (add && !*add)
        return cli_usage_error(CMD, "an empty %s name matches nothing; nothing was changed",
                               what);
    if (add && !policy_strlist_has(l, add) && policy_strlist_add(l, add) < 0) {
        fputs("gpuctl: out of memory\n", stderr);
        return EXIT_GENERAL;
    }
    if (add)
        fprintf(stderr, "gpuctl: %s '%s' is allow-listed\n", what, add);
    if (remove && policy_strlist_remove(l, remove) == 0)
        fprintf(stderr, "gpuctl: %s '%s' was not allow-listed\n", what, remove);
    else if (remove)
        fprintf(stderr, "gpuctl: %s '%s' is no longer allow-listed\n", what, remove);
    return 0;
}

static int apply_edits(struct rogue_config *cfg, const struct rogue_args *a)
{
    int rc = a->import_file ? import_json(cfg, a->import_file) : 0;
    if (rc == 0 && a->memory)
        rc = number_flag("--rogue-memory-threshold", a->memory, 0, 1e6, &cfg->max_memory_usage_gb);
    if (rc == 0 && a->utilization)
        rc = number_flag("--rogue-utilization-threshold", a->utilization, 0, 100,
                         &cfg->max_utilization_pct);
    if (rc == 0 && a->duration)
        rc = number_flag("--rogue-duration-threshold", a->duration, 0, 1e6,
                         &cfg->max_duration_hours);
    if (rc == 0 && a->confidence)
        rc = number_flag("--rogue-confidence-threshold", a->confidence, 0, 1,
                         &cfg->min_confidence_threshold);
    if (rc == 0)
        rc = list_edit(&cfg->allowed_processes, a->wl_process, a->unwl_process, "process");
    if (rc == 0)
        rc = list_edit(&cfg->allowed_users, a->wl_user, a->unwl_user, "user");
    return rc;
}

static int load_config(struct rogue_config *cfg, char *path, size_t size)
{
    struct error e = {0};
    bool created;
    if (policy_config_path(path, size, "rogue.toml", &e) < 0 ||
        rogue_config_load(cfg, path, true, &created, &e) < 0)
        return cli_fail(&e);
    if (created)
        fprintf(stderr, "gpuctl: created %s with the default detection settings\n", path);
    return 0;
}

/* ---- scanning -------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The history is optional: no database yet means nothing recorded. */
static int read_history(struct rogue_history *h, double hours, bool *have)
{
    struct error e = {0};
    struct policy_store *st;
    *have = false;
    int rc = policy_store_open(NULL, true, &st, &e);
    if (rc == -ENOENT)
        return 0;
    if (rc == 0)
        rc = policy_store_history(st, hours, now_s(), h, &e);
    policy_store_close(st);
    if (rc < 0)
        return cli_fail(&e);
    *have = true;
    return 0;
}

static int take_live(struct snapshot_ctx **ctx, struct snapshot **snap, const struct cli_ctx *c)
{
    struct error e = {0};
    struct snapshot_options o = {.processes = true, .host_processes = true,
                                 .host_fields = SNAPSHOT_HOST_USER | SNAPSHOT_HOST_CMDLINE};
    int rc = snapshot_ctx_open(ctx, &e);
    if (rc == 0)
        rc = snapshot_take(*ctx, &o, snap, &e);
    if (rc < 0)
        cli_log(c, LOG_WARN, "scanning the history only: %s", e.msg);
    return rc;
}

/* ---- output ---------------------------------------------------------------------- */

static unsigned risk_style(enum rogue_risk r)
{
    return r >= ROGUE_RISK_HIGH ? TABLE_STYLE_RED | TABLE_STYLE_BOLD
                                : r == ROGUE_RISK_MEDIUM ? TABLE_STYLE_YELLOW : TABLE_STYLE_NONE;
}

static void join_evidence(const struct rogue_finding *f, char *buf, size_t size)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < f->evidence_count && at < size; i++) {
        int n = snprintf(buf + at, size - at, "%s%s", i ? "; " : "", f->evidence[i].text);
        if (n < 0)
            break;
        at += (size_t)n;
    }
}

static int render_table(const struct rogue_report *r, const struct cli_ctx *c, double hours,
                        bool history)
{
    static const struct table_column cols[] = {
        {"RISK", TABLE_LEFT, false, 0}, {"CONF", TABLE_RIGHT, false, 0},
        {"CATEGORY", TABLE_LEFT, false, 0}, {"PID", TABLE_RIGHT, false, 0},
        {"USER", TABLE_LEFT, true, 6}, {"PROCESS", TABLE_LEFT, true, 8},
        {"EVIDENCE", TABLE_LEFT, true, 20}, {"RECOMMENDATION", TABLE_LEFT, true, 20},
    };
    char scope[200];
    snprintf(scope, sizeof scope, "%zu live GPU process%s%s", r->live_processes,
             r->live_processes == 1 ? "" : "es", "");
    if (history)
        snprintf(scope + strlen(scope), sizeof scope - strlen(scope),
                 ", %zu history rows of the last %g h", r->history_rows, hours);
    if (r->count == 0) {
        printf("No suspicious usage found (scanned %s).\n", scope);
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_GENERAL;
    }
    struct table *t = table_new(cols, sizeof cols / sizeof cols[0]);
    if (!t)
        return EXIT_GENERAL;
    for (size_t i = 0; i < r->count; i++) {
        const struct rogue_finding *f = &r->findings[i];
        char ev[2048];
        join_evidence(f, ev, sizeof ev);
        table_row(t);
        table_cell(t, risk_style(f->risk), "%s", rogue_risk_name(f->risk));
        table_cell(t, 0, "%.2f", f->confidence);
        table_cell(t, 0, "%s", rogue_category_name(f->category));
        table_cell(t, 0, "%d%s", (int)f->pid, f->live ? "" : "*");
        table_cell(t, 0, "%s", f->user[0] ? f->user : "N/A");
        table_cell(t, 0, "%s", f->name[0] ? f->name : "N/A");
        table_cell(t, 0, "%s", ev);
        table_cell(t, 0, "%s", f->recommendation);
    }
    struct table_render_options o = {
        .color = term_use_color(STDOUT_FILENO, c->cfg.use_colors),
        .width = c->cfg.table_width ? c->cfg.table_width : term_width(STDOUT_FILENO)};
    printf("%zu finding%s (scanned %s; * = no longer running)\n", r->count,
           r->count == 1 ? "" : "s", scope);
    int rc = table_render(t, stdout, &o);
    table_free(t);
    return rc < 0 ? EXIT_GENERAL : EXIT_OK;
}

static int render_json(const struct rogue_report *r, double hours, bool history, bool live)
{
    struct error e = {0};
    struct doc_rogue_request req = {.report = r, .hours = hours, .history = history,
                                    .live = live};
    json_t *root = doc_rogue_build(&req, &e);
    if (!root)
        return cli_fail(&e);
    return doc_json_write(root, stdout, false) < 0 ? EXIT_GENERAL : EXIT_OK;
}

/* ---- the command ------------------------------------------------------------------- */

static int scan(const struct rogue_config *cfg, const struct rogue_args *a, struct cli_ctx *c)
{
    double hours = 24;
    if (a->hours && (number_flag("--hours", a->hours, 0, 1e6, &hours) || hours <= 0))
        return EXIT_INVALID_ARGS;
    struct error e = {0};
    if (a->output && config_set_from_flag(&c->cfg, CONFIG_OUTPUT_FORMAT, a->output, &e) < 0)
        return cli_usage_error(CMD, "--output: %s", e.msg);
    enum output_format fmt = c->cfg.output_format;
    if (fmt != OUTPUT_TABLE && fmt != OUTPUT_JSON)
        return cli_usage_error(CMD, "--rogue prints a table or json, not %s",
                               config_output_format_name(fmt));
    struct rogue_history hist = {0};
    bool have_hist;
    int rc = read_history(&hist, hours, &have_hist);
    struct snapshot_ctx *sctx = NULL;
    struct snapshot *snap = NULL;
    bool live = rc == 0 && take_live(&sctx, &snap, c) == 0;
    if (rc == 0 && !live && !have_hist) {
        fputs("gpuctl: nothing to scan: no GPU source started and there is no audit history\n",
              stderr);
        rc = EXIT_GPU_LIBRARY;
    }
    struct rogue_report rep = {0};
    struct rogue_input in = {.snap = snap, .history = have_hist ? &hist : NULL};
    if (rc == 0 && rogue_scan(cfg, &in, &rep, &e) < 0)
        rc = cli_fail(&e);
    if (rc == 0)
        rc = fmt == OUTPUT_JSON ? render_json(&rep, hours, have_hist, live)
                                : render_table(&rep, c, hours, have_hist);
    rogue_report_free(&rep);
    snapshot_free(snap);
    snapshot_ctx_close(sctx);
    rogue_history_free(&hist);
    return rc;
}

static int show_config(const struct rogue_config *cfg, const char *path)
{
    char *text = rogue_config_to_toml(cfg);
    if (!text)
        return EXIT_GENERAL;
    printf("# %s\n%s", path, text);
    free(text);
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_GENERAL;
}

static int run(struct rogue_args *a, struct cli_ctx *c)
{
    struct rogue_config cfg;
    char path[4096];
    int rc = load_config(&cfg, path, sizeof path);
    if (rc)
        return rc;
    if (has_edits(a)) {
        struct error e = {0};
        rc = apply_edits(&cfg, a);
        if (rc == 0 && (rogue_config_validate(&cfg, &e) < 0 ||
                        rogue_config_save(&cfg, path, &e) < 0))
            rc = cli_fail(&e);
        if (rc == 0)
            fprintf(stderr, "gpuctl: saved %s\n", path);
    }
    if (rc == 0 && a->export_config) {
        struct error e = {0};
        json_t *doc = doc_rogue_config_build(&cfg, &e);
        rc = !doc ? cli_fail(&e) : doc_json_write(doc, stdout, false) < 0 ? EXIT_GENERAL : EXIT_OK;
    }
    if (rc == 0 && a->show_config)
        rc = show_config(&cfg, path);
    if (rc == 0 && a->scan)
        rc = scan(&cfg, a, c);
    rogue_config_free(&cfg);
    return rc;
}

int cli_audit_rogue(const struct audit_request *q, const struct cli_common *common)
{
    struct rogue_args a = {0};
    take_request(&a, q);
    if (!a.scan && (a.hours || a.output))
        return cli_usage_error(CMD, "--hours and --output go with --rogue here");
    struct cli_ctx c = {0};
    int rc = cli_load_config(&c, common);
    return rc ? rc : run(&a, &c);
}
