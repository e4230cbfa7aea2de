/* remote_show.c - drawing what the hosts of `--remote` answered: list's
 * snapshots through list_table.c with a HOST column, kill's documents as
 * one table of processes, reset's as one table of GPUs, select's choices as `host: CUDA_VISIBLE_DEVICES`
 * lines.  Hosts that failed are shown in their row (or on stderr for
 * select), never dropped.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/audit.h"
#include "cli/list.h"
#include "cli/remote.h"
#include "core/table.h"
#include "core/term.h"
#include "doc/audit_doc.h"
#include "remote/audit_merge.h"

#define NA "N/A"

static int write_failed(void)
{
    fprintf(stderr, "gpuctl: cannot write the output: %s\n", strerror(errno));
    return 1;
}

/* ---- list ------------------------------------------------------------------------- */

int cli_remote_show_list(struct cli_remote_host *hosts, size_t n, bool details,
                         bool containers, bool ascii, bool color, FILE *out)
{
    struct doc_snapshot_view *views = calloc(n ? n : 1, sizeof *views);
    struct list_host_view *rows = calloc(n ? n : 1, sizeof *rows);
    int rc = views && rows ? 0 : -ENOMEM;
    struct doc_snapshot_request req = {.details = details, .containers = containers};
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct error e = {0};
        rows[i].host = hosts[i].label;
        rows[i].error = hosts[i].error;
        if (!hosts[i].snap)
            continue;
        if ((rc = doc_snapshot_view_init(&views[i], hosts[i].snap, &req, &e)) == 0)
            rows[i].shown = &views[i];
    }
    struct list_view style = {.ascii = ascii, .color = color, .width = term_width(fileno(out))};
    if (rc == 0)
        rc = list_render_hosts(rows, n, &style, details, out);
    for (size_t i = 0; views && i < n; i++)
        doc_snapshot_view_clear(&views[i]);
    free(views);
    free(rows);
    if (rc == -ENOMEM) {
        fputs("gpuctl: out of memory\n", stderr);
        return 1;
    }
    return rc < 0 ? write_failed() : 0;
}

/* A row per host that failed: HOST, `before` dashes, its status, `after`
 * dashes, its reason. */
static void failed_rows(struct table *t, const struct cli_remote_host *hosts, size_t n,
                        int before, int after)
{
    for (size_t i = 0; i < n; i++) {
        if (hosts[i].status == REMOTE_OK)
            continue;
        table_row(t);
        table_cell(t, TABLE_STYLE_CYAN, "%s", hosts[i].label);
        for (int c = 0; c < before; c++)
            table_cell(t, TABLE_STYLE_DIM, "-");
        table_cell(t, TABLE_STYLE_RED, "%s", remote_status_name(hosts[i].status));
        for (int c = 0; c < after; c++)
            table_cell(t, TABLE_STYLE_DIM, "-");
        table_cell(t, TABLE_STYLE_RED, "%s", hosts[i].error);
    }
}

/* One table for a command whose hosts answer with an array under key:
 * add_rows draws a host's entries, then a row per host that failed, its
 * status after `before` dashes. */
static int rows_table(const struct table_column *cols, size_t ncols,
                      struct cli_remote_host *hosts, size_t n, const char *key,
                      void (*add_rows)(struct table *, const struct cli_remote_host *),
                      int before, bool ascii, bool color, FILE *out)
{
    struct table *t = table_new(cols, ncols);
    if (!t) {
        fputs("gpuctl: out of memory\n", stderr);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        if (hosts[i].doc && json_is_array(json_object_get(hosts[i].doc, key)))
            add_rows(t, &hosts[i]);
    failed_rows(t, hosts, n, before, 0);
    struct table_render_options o = {.ascii = ascii, .color = color,
                                     .width = term_width(fileno(out))};
    int rc = table_render(t, out, &o);
    table_free(t);
    return rc < 0 ? write_failed() : 0;
}

/* ---- kill ----------------------------------------------------------------------- */

static const char *text_of(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : NA;
}

static void gpus_cell(struct table *t, const json_t *p)
{
    const json_t *gpus = json_object_get(p, "gpus");
    char buf[128] = "";
    size_t len = 0, i;
    json_t *g;
    if (!json_is_array(gpus)) {
        table_cell(t, 0, NA);
        return;
    }
    json_array_foreach(gpus, i, g) {
        if (len < sizeof buf)
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%lld", i ? "," : "",
                                    (long long)json_integer_value(g));
    }
    table_cell(t, 0, "%s", buf[0] ? buf : "-");
}

static void kill_rows(struct table *t, const struct cli_remote_host *h)
{
    const json_t *procs = json_object_get(h->doc, "processes");
    size_t i;
    json_t *p;
    json_array_foreach(procs, i, p) {
        const char *result = text_of(p, "result");
        bool bad = strcmp(result, "failed") == 0 || strcmp(result, "still_running") == 0;
        table_row(t);
        table_cell(t, TABLE_STYLE_CYAN, "%s", h->label);
        table_cell(t, 0, "%lld", (long long)json_integer_value(json_object_get(p, "pid")));
        table_cell(t, 0, "%s", text_of(p, "user"));
        table_cell(t, 0, "%s", text_of(p, "name"));
        gpus_cell(t, p);
        table_cell(t, bad ? TABLE_STYLE_RED : 0, "%s", result);
        const char *reason = json_string_value(json_object_get(p, "reason"));
        table_cell(t, TABLE_STYLE_DIM, "%s", reason ? reason : "");
    }
}

int cli_remote_show_kill(struct cli_remote_host *hosts, size_t n, bool ascii, bool color,
                         FILE *out)
{
    const struct table_column cols[] = {
        {"HOST", TABLE_LEFT, true, 4},   {"PID", TABLE_RIGHT, false, 0},
        {"USER", TABLE_LEFT, true, 4},   {"NAME", TABLE_LEFT, true, 4},
        {"GPUS", TABLE_LEFT, false, 0},  {"RESULT", TABLE_LEFT, false, 0},
        {"REASON", TABLE_LEFT, true, 6},
    };
    return rows_table(cols, sizeof cols / sizeof cols[0], hosts, n, "processes", kill_rows, 4,
                      ascii, color, out);
}

/* ---- reset ------------------------------------------------------------------------ */

/* What to say beside a GPU: why it failed, or what --force ended first. */
static void reset_detail_cell(struct table *t, const json_t *g, size_t ended)
{
    const char *error = json_string_value(json_object_get(g, "error"));
    if (error)
        table_cell(t, TABLE_STYLE_RED, "%s", error);
    else if (ended)
        table_cell(t, TABLE_STYLE_DIM, "after ending %zu process%s", ended,
                   ended == 1 ? "" : "es");
    else
        table_cell(t, TABLE_STYLE_DIM, "%s", "");
}

static void reset_rows(struct table *t, const struct cli_remote_host *h)
{
    const json_t *gpus = json_object_get(h->doc, "gpus");
    size_t ended = json_array_size(json_object_get(h->doc, "processes")), i;
    json_t *g;
    json_array_foreach(gpus, i, g) {
        const char *result = text_of(g, "result");
        table_row(t);
        table_cell(t, TABLE_STYLE_CYAN, "%s", h->label);
        table_cell(t, 0, "%lld", (long long)json_integer_value(json_object_get(g, "gpu")));
        table_cell(t, 0, "%s", text_of(g, "name"));
        table_cell(t, 0, "%s", text_of(g, "pci_bus_id"));
        table_cell(t, strcmp(result, "reset") == 0 ? 0 : TABLE_STYLE_RED, "%s", result);
        reset_detail_cell(t, g, ended);
    }
}

int cli_remote_show_reset(struct cli_remote_host *hosts, size_t n, bool ascii, bool color,
                          FILE *out)
{
    const struct table_column cols[] = {
        {"HOST", TABLE_LEFT, true, 4},   {"GPU", TABLE_RIGHT, false, 0},
        {"NAME", TABLE_LEFT, true, 8},   {"BUS ID", TABLE_LEFT, false, 0},
        {"RESULT", TABLE_LEFT, false, 0}, {"DETAIL", TABLE_LEFT, true, 6},
    };
    return rows_table(cols, sizeof cols / sizeof cols[0], hosts, n, "gpus", reset_rows, 3,
                      ascii, color, out);
}

/* ---- select -------------------------------------------------------------------------- */

/* One host's choice: its line, or the reason on stderr and the host
 * counted as failed. */
static int select_on(struct cli_remote_host *h, const struct cli_select_hosts *sel, FILE *out)
{
    struct select_result res = {0};
    struct error e = {0};
    if (select_devices(h->snap, &sel->k, &res, &e) < 0) {
        fprintf(stderr, "gpuctl: %s\n", e.msg);
        return -ENOMEM;
    }
    int rc = 0;
    char *ids = res.enough ? cli_select_ids(&res, sel->uuid || res.uuid_required) : NULL;
    if (!res.enough || !ids) {
        h->status = REMOTE_FAILED;
        snprintf(h->error, sizeof h->error, "%s", res.enough
                 ? "a device chosen there has no known UUID to print"
                 : res.reason);
        fprintf(stderr, "%s: not enough devices: %s\n", h->label, h->error);
    } else if (fprintf(out, "%s: %s\n", h->label, ids) < 0) {
        rc = -EIO;
    }
    free(ids);
    select_result_clear(&res);
    return rc;
}

int cli_remote_show_select(struct cli_remote_host *hosts, size_t n,
                           const struct cli_select_hosts *sel, FILE *out)
{
    for (size_t i = 0; i < n; i++) {
        if (!hosts[i].snap) {
            fprintf(stderr, "%s: %s\n", hosts[i].label, hosts[i].error);
            continue;
        }
        int rc = select_on(&hosts[i], sel, out);
        if (rc == -ENOMEM) {
            fputs("gpuctl: out of memory\n", stderr);
            return 1;
        }
        if (rc < 0)
            return write_failed();
    }
    return fflush(out) == EOF ? write_failed() : 0;
}

/* ---- audit --summary ------------------------------------------------------------- */

int cli_remote_show_audit(struct cli_remote_host *hosts, size_t n, size_t top, bool json,
                          json_t **merged_doc, FILE *out)
{
    const struct audit_summary **parts = calloc(n ? n : 1, sizeof *parts);
    const char **labels = calloc(n ? n : 1, sizeof *labels);
    struct audit_summary *merged = NULL;
    struct error e = {0};
    size_t k = 0;
    int rc = parts && labels ? 0 : error_set(&e, -ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (hosts[i].summary) {
            parts[k] = hosts[i].summary;
            labels[k++] = hosts[i].label;
        } else if (!json) {
            fprintf(stderr, "%s: %s\n", hosts[i].label, hosts[i].error);
        }
    }
    if (rc == 0)
        rc = remote_audit_merge(parts, labels, k, top, &merged, &e);
    free(parts);
    free(labels);
    if (rc == 0 && json) {
        if (!(*merged_doc = doc_audit_summary_build(merged, &e)))
            rc = e.code;
    } else if (rc == 0) {
        struct cli_ctx ctx = {0};
        struct cli_common common = {0};
        rc = cli_load_config(&ctx, &common);
        if (rc == 0 && cli_audit_print_summary(merged, OUTPUT_TABLE, false, &ctx, out) < 0)
            rc = write_failed();
    } else {
        fprintf(stderr, "gpuctl: %s\n", e.msg);
        rc = 1;
    }
    audit_summary_free(merged);
    return rc;
}

/* ---- audit --rogue ------------------------------------------------------------------ */

struct finding_ref {
    size_t host;
    const json_t *f;
};

static double score_of(const json_t *f)
{
    return json_number_value(json_object_get(f, "risk_score"));
}

static int by_risk(const void *pa, const void *pb)
{
    const struct finding_ref *a = pa, *b = pb;
    double sa = score_of(a->f), sb = score_of(b->f);
    if (sa != sb)
        return sa > sb ? -1 : 1;
    if (a->host != b->host)
        return a->host < b->host ? -1 : 1;
    json_int_t pa_ = json_integer_value(json_object_get(a->f, "pid"));
    json_int_t pb_ = json_integer_value(json_object_get(b->f, "pid"));
    return pa_ < pb_ ? -1 : pa_ > pb_;
}

static unsigned rogue_risk_style(const char *risk)
{
    return strcmp(risk, "high") == 0 || strcmp(risk, "critical") == 0
               ? TABLE_STYLE_RED | TABLE_STYLE_BOLD
               : strcmp(risk, "medium") == 0 ? TABLE_STYLE_YELLOW : 0;
}

static void evidence_cell(struct table *t, const json_t *f)
{
    char buf[2048];
    size_t at = 0, i;
    json_t *ev;
    buf[0] = '\0';
    json_array_foreach(json_object_get(f, "evidence"), i, ev) {
        const char *text = json_string_value(json_object_get(ev, "text"));
        int n = at < sizeof buf ? snprintf(buf + at, sizeof buf - at, "%s%s", i ? "; " : "",
                                           text ? text : "") : -1;
        if (n < 0)
            break;
        at += (size_t)n;
    }
    table_cell(t, 0, "%s", buf);
}

/* What to run about it: the host's own advice ("gpuctl kill --pid N"),
 * aimed at that host. */
static void recommendation_cell(struct table *t, const json_t *f, const char *label)
{
    const char *r = json_string_value(json_object_get(f, "recommendation"));
    if (r && strncmp(r, "gpuctl ", 7) == 0)
        table_cell(t, 0, "gpuctl --remote %s %s", label, r + 7);
    else
        table_cell(t, 0, "%s", r ? r : "");
}

static void finding_row(struct table *t, const json_t *f, const char *label)
{
    const char *risk = text_of(f, "risk");
    table_row(t);
    table_cell(t, TABLE_STYLE_CYAN, "%s", label);
    table_cell(t, rogue_risk_style(risk), "%s", risk);
    table_cell(t, 0, "%.2f", json_number_value(json_object_get(f, "confidence")));
    table_cell(t, 0, "%s", text_of(f, "category"));
    table_cell(t, 0, "%lld%s", (long long)json_integer_value(json_object_get(f, "pid")),
               json_is_false(json_object_get(f, "live")) ? "*" : "");
    table_cell(t, 0, "%s", text_of(f, "user"));
    table_cell(t, 0, "%s", text_of(f, "process"));
    evidence_cell(t, f);
    recommendation_cell(t, f, label);
}

int cli_remote_show_rogue(struct cli_remote_host *hosts, size_t n, bool ascii, bool color,
                          FILE *out)
{
    const struct table_column cols[] = {
        {"HOST", TABLE_LEFT, true, 4},      {"RISK", TABLE_LEFT, false, 0},
        {"CONF", TABLE_RIGHT, false, 0},    {"CATEGORY", TABLE_LEFT, false, 0},
        {"PID", TABLE_RIGHT, false, 0},     {"USER", TABLE_LEFT, true, 6},
        {"PROCESS", TABLE_LEFT, true, 8},   {"EVIDENCE", TABLE_LEFT, true, 20},
        {"RECOMMENDATION", TABLE_LEFT, true, 20},
    };
    size_t total = 0, k = 0;
    for (size_t i = 0; i < n; i++)
        total += json_array_size(json_object_get(hosts[i].doc, "findings"));
    struct finding_ref *refs = calloc(total ? total : 1, sizeof *refs);
    struct table *t = refs ? table_new(cols, sizeof cols / sizeof cols[0]) : NULL;
    if (!t) {
        free(refs);
        fputs("gpuctl: out of memory\n", stderr);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        size_t j;
        json_t *f;
        json_array_foreach(json_object_get(hosts[i].doc, "findings"), j, f)
            refs[k++] = (struct finding_ref){.host = i, .f = f};
    }
    qsort(refs, k, sizeof *refs, by_risk);
    for (size_t i = 0; i < k; i++)
        finding_row(t, refs[i].f, hosts[refs[i].host].label);
    failed_rows(t, hosts, n, 0, 5);
    free(refs);
    int rc = 0;
    if (k == 0 && table_row_count(t) == 0) {
        rc = fprintf(out, "No suspicious usage found on %zu host%s.\n", n, n == 1 ? "" : "s") < 0;
    } else {
        struct table_render_options o = {.ascii = ascii, .color = color,
                                     .width = term_width(fileno(out))};
        fprintf(out, "%zu finding%s on %zu host%s (* = no longer running)\n", k,
                k == 1 ? "" : "s", n, n == 1 ? "" : "s");
        rc = table_render(t, out, &o) < 0;
    }
    table_free(t);
    return rc || fflush(out) == EOF ? write_failed() : 0;
}

/* ---- tables of a document's array ------------------------------------------------ */

struct json_column {
    const char *title, *key;
    enum table_align align;
    bool flexible;
};

/* One cell of a document's value: text, a number, "-" for null or absent. */
static void json_cell(struct table *t, const json_t *v)
{
    if (json_is_string(v))
        table_cell(t, 0, "%s", json_string_value(v));
    else if (json_is_integer(v))
        table_cell(t, 0, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        table_cell(t, 0, "%.2f", json_real_value(v));
    else if (json_is_boolean(v))
        table_cell(t, 0, "%s", json_is_true(v) ? "true" : "false");
    else
        table_cell(t, TABLE_STYLE_DIM, "-");
}

/* A table with HOST and cols: a row per object of each host's array (key
 * in its document), then a row per host that failed. */
static int array_table(struct cli_remote_host *hosts, size_t n, const char *key,
                       const struct json_column *cols, size_t ncols, bool ascii, bool color,
                       FILE *out)
{
    struct table_column tc[16] = {{"HOST", TABLE_LEFT, true, 4}};
    for (size_t c = 0; c < ncols && c + 1 < 16; c++)
        tc[c + 1] = (struct table_column){cols[c].title, cols[c].align, cols[c].flexible, 0};
    struct table *t = table_new(tc, ncols + 1);
    if (!t) {
        fputs("gpuctl: out of memory\n", stderr);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        size_t j;
        json_t *o;
        json_array_foreach(json_object_get(hosts[i].doc, key), j, o) {
            table_row(t);
            table_cell(t, TABLE_STYLE_CYAN, "%s", hosts[i].label);
            for (size_t c = 0; c < ncols; c++)
                json_cell(t, json_object_get(o, cols[c].key));
        }
    }
    failed_rows(t, hosts, n, 0, 0);
    struct table_render_options o = {.ascii = ascii, .color = color,
                                     .width = term_width(fileno(out))};
    int rc = table_row_count(t) ? table_render(t, out, &o) : 0;
    table_free(t);
    return rc < 0 || fflush(out) == EOF ? write_failed() : 0;
}

/* ---- guard --test-policies ----------------------------------------------------------- */

int cli_remote_show_policies(struct cli_remote_host *hosts, size_t n, bool ascii, bool color,
                             FILE *out)
{
    static const struct json_column cols[] = {
        {"POLICY", "policy", TABLE_LEFT, false}, {"RULE", "rule", TABLE_LEFT, false},
        {"PID", "pid", TABLE_RIGHT, false},      {"USER", "user", TABLE_LEFT, true},
        {"PROCESS", "process", TABLE_LEFT, true}, {"GPU", "gpu", TABLE_RIGHT, false},
        {"DETAIL", "detail", TABLE_LEFT, true},  {"ACTION", "action", TABLE_LEFT, true},
    };
    for (size_t i = 0; i < n; i++) {
        const json_t *d = hosts[i].doc;
        if (hosts[i].status != REMOTE_OK)
            continue;
        size_t k = json_array_size(json_object_get(d, "violations"));
        fprintf(out, "%s: guard is %s; mode %s%s; %zu violation%s\n", hosts[i].label,
                json_is_true(json_object_get(d, "enabled")) ? "enabled" : "disabled",
                text_of(d, "enforcement"),
                json_is_false(json_object_get(d, "dry_run")) ? "" : " (dry run)", k,
                k == 1 ? "" : "s");
    }
    return array_table(hosts, n, "violations", cols, sizeof cols / sizeof cols[0], ascii, color,
                       out);
}

/* ---- config show ------------------------------------------------------------------------ */

/* config show's "keys" object as an array of {key, value, source}, so it
 * is drawn like the other documents' arrays. */
static json_t *config_rows(const json_t *doc)
{
    json_t *rows = json_array();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)json_object_get(doc, "keys"), key, v) {
        json_t *row = json_pack("{s:s, s:O, s:O}", "key", key, "value",
                                json_object_get(v, "value") ? json_object_get(v, "value")
                                                            : json_null(),
                                "source", json_object_get(v, "source") ? json_object_get(v, "source")
                                                                       : json_null());
        if (!row || json_array_append_new(rows, row) < 0) {
            json_decref(rows);
            return NULL;
        }
    }
    return rows;
}

int cli_remote_show_config(struct cli_remote_host *hosts, size_t n, bool ascii, bool color,
                           FILE *out)
{
    static const struct json_column cols[] = {
        {"KEY", "key", TABLE_LEFT, false}, {"VALUE", "value", TABLE_LEFT, true},
        {"SOURCE", "source", TABLE_LEFT, false},
    };
    json_t **saved = calloc(n ? n : 1, sizeof *saved);
    if (!saved) {
        fputs("gpuctl: out of memory\n", stderr);
        return 1;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (hosts[i].status != REMOTE_OK)
            continue;
        json_t *view = json_object();
        json_t *rows = config_rows(hosts[i].doc);
        if (!view || !rows || json_object_set_new(view, "rows", rows) < 0) {
            json_decref(view);
            rc = 1;
            break;
        }
        fprintf(out, "%s: %s%s\n", hosts[i].label, text_of(hosts[i].doc, "file"),
                json_is_false(json_object_get(hosts[i].doc, "file_found")) ? " (not found)" : "");
        saved[i] = hosts[i].doc;
        hosts[i].doc = view;
    }
    if (rc == 0)
        rc = array_table(hosts, n, "rows", cols, sizeof cols / sizeof cols[0], ascii, color, out);
    else
        fputs("gpuctl: out of memory\n", stderr);
    for (size_t i = 0; i < n; i++) {
        if (saved[i]) {
            json_decref(hosts[i].doc);
            hosts[i].doc = saved[i];
        }
    }
    free(saved);
    return rc;
}
