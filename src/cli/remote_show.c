/* remote_show.c - drawing what the hosts of `--remote` answered: list's
 * snapshots through list_table.c with a HOST column, kill's documents as
 * one table of processes, select's choices as `host: CUDA_VISIBLE_DEVICES`
 * lines.  Hosts that failed are shown in their row (or on stderr for
 * select), never dropped.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/audit.h"
#include "cli/list.h"
#include "cli/remote.h"
#include "core/table.h"
#include "doc/audit_doc.h"
#include "doc/select_doc.h"
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
    struct list_view style = {.ascii = ascii, .color = color};
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
    struct table *t = table_new(cols, sizeof cols / sizeof cols[0]);
    if (!t) {
        fputs("gpuctl: out of memory\n", stderr);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        if (hosts[i].doc && json_is_array(json_object_get(hosts[i].doc, "processes")))
            kill_rows(t, &hosts[i]);
    for (size_t i = 0; i < n; i++) {
        if (hosts[i].status == REMOTE_OK)
            continue;
        table_row(t);
        table_cell(t, TABLE_STYLE_CYAN, "%s", hosts[i].label);
        table_cell(t, TABLE_STYLE_DIM, "-");
        table_cell(t, TABLE_STYLE_DIM, "-");
        table_cell(t, TABLE_STYLE_DIM, "-");
        table_cell(t, TABLE_STYLE_DIM, "-");
        table_cell(t, TABLE_STYLE_RED, "%s", remote_status_name(hosts[i].status));
        table_cell(t, TABLE_STYLE_RED, "%s", hosts[i].error);
    }
    struct table_render_options o = {.ascii = ascii, .color = color};
    int rc = table_render(t, out, &o);
    table_free(t);
    return rc < 0 ? write_failed() : 0;
}

/* ---- select -------------------------------------------------------------------------- */

/* One host's choice: its line (or the reason on stderr), and with json its
 * selection document in place of the snapshot. */
static int select_on(struct cli_remote_host *h, const struct cli_select_hosts *sel, bool json,
                     FILE *out)
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
        if (!json)
            fprintf(stderr, "%s: not enough devices: %s\n", h->label, h->error);
    } else if (!json && fprintf(out, "%s: %s\n", h->label, ids) < 0) {
        rc = -EIO;
    }
    if (json) {
        struct doc_select_request q = {.constraints = &sel->k, .result = &res,
                                       .uuid = sel->uuid};
        json_t *doc = doc_select_build(&q, &e);
        json_decref(h->doc);
        h->doc = doc;
        if (!doc)
            rc = -ENOMEM;
    }
    free(ids);
    select_result_clear(&res);
    return rc;
}

int cli_remote_show_select(struct cli_remote_host *hosts, size_t n,
                           const struct cli_select_hosts *sel, bool json, FILE *out)
{
    for (size_t i = 0; i < n; i++) {
        if (!hosts[i].snap) {
            if (!json)
                fprintf(stderr, "%s: %s\n", hosts[i].label, hosts[i].error);
            json_decref(hosts[i].doc);
            hosts[i].doc = NULL;
            continue;
        }
        int rc = select_on(&hosts[i], sel, json, out);
        if (rc == -ENOMEM) {
            fputs("gpuctl: out of memory\n", stderr);
            return 1;
        }
        if (rc < 0)
            return write_failed();
    }
    if (!json && fflush(out) == EOF)
        return write_failed();
    return 0;
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
