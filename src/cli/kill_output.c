/* kill_output.c - `gpuctl kill` as a table or JSON (schema: docs/json/kill.md).
 *
 * One row per process, children first, as they were (or would be)
 * signalled.  The decisions were made by ops/kill.c; this file only turns
 * them into cells and keys.
 */
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "doc/json.h"
#include "cli/kill.h"
#include "core/table.h"
#include "core/units.h"

static void gpu_text(const struct kill_entry *en, char *buf, size_t size)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < en->gpu_count && at < size; i++) {
        int n = snprintf(buf + at, size - at, "%s%d", i ? "," : "", en->gpus[i]);
        if (n < 0)
            break;
        at += (size_t)n;
    }
    if (!en->gpu_count)
        snprintf(buf, size, "-");
}

static void signals_text(const struct kill_entry *en, char *buf, size_t size)
{
    char a[24], b[24];
    if (en->signal_count == 0) {
        snprintf(buf, size, "-");
        return;
    }
    kill_signal_name(en->signals[0], a, sizeof a);
    if (en->signal_count == 1) {
        snprintf(buf, size, "%s", a);
        return;
    }
    kill_signal_name(en->signals[1], b, sizeof b);
    snprintf(buf, size, "%s,%s", a, b);
}

static const char *command_text(const struct kill_entry *en)
{
    return en->host.cmdline ? en->host.cmdline : en->h.stat.comm;
}

static unsigned result_style(enum kill_outcome o)
{
    switch (o) {
    case KILL_OUTCOME_STILL_RUNNING:
    case KILL_OUTCOME_FAILED: return TABLE_STYLE_RED | TABLE_STYLE_BOLD;
    case KILL_OUTCOME_KILLED: return TABLE_STYLE_YELLOW;
    case KILL_OUTCOME_TERMINATED: return TABLE_STYLE_GREEN;
    case KILL_OUTCOME_PENDING: break;
    }
    return 0;
}

static void result_cell(struct table *t, const struct kill_entry *en)
{
    unsigned style = result_style(en->outcome);
    switch (en->outcome) {
    case KILL_OUTCOME_TERMINATED:
    case KILL_OUTCOME_KILLED:
        if (en->failure.msg[0])
            table_cell(t, style, "%s: %s", en->outcome == KILL_OUTCOME_KILLED ? "killed"
                                                                               : "terminated",
                       en->failure.msg);
        else
            table_cell(t, style, "%s after %.2f s", en->outcome == KILL_OUTCOME_KILLED
                                                        ? "killed" : "terminated",
                       en->ended_after_s);
        return;
    case KILL_OUTCOME_STILL_RUNNING:
        table_cell(t, style, "still running");
        return;
    case KILL_OUTCOME_FAILED:
        table_cell(t, style, "failed: %s", en->failure.msg);
        return;
    case KILL_OUTCOME_PENDING:
        break;
    }
    table_cell(t, style, "not signalled");
}

static struct table *new_table(bool done)
{
    static const struct table_column cols[] = {
        {"PID", TABLE_RIGHT, false, 0},
        {"USER", TABLE_LEFT, true, 4},
        {"GPU", TABLE_LEFT, false, 0},
        {"ROLE", TABLE_LEFT, false, 0},
        {"SIGNALS", TABLE_LEFT, false, 0},
        {"RESULT", TABLE_LEFT, true, 12},
        {"COMMAND", TABLE_LEFT, true, 12},
    };
    static const struct table_column short_cols[] = {
        {"PID", TABLE_RIGHT, false, 0},
        {"USER", TABLE_LEFT, true, 4},
        {"GPU", TABLE_LEFT, false, 0},
        {"ROLE", TABLE_LEFT, false, 0},
        {"COMMAND", TABLE_LEFT, true, 12},
    };
    return done ? table_new(cols, sizeof cols / sizeof cols[0])
                : table_new(short_cols, sizeof short_cols / sizeof short_cols[0]);
}

static void add_row(struct table *t, const struct kill_entry *en, bool done)
{
    char gpus[128], sigs[64];
    gpu_text(en, gpus, sizeof gpus);
    table_row(t);
    table_cell(t, 0, "%d", (int)en->h.id.pid);
    table_cell(t, 0, "%s", en->host.user[0] ? en->host.user : "N/A");
    table_cell(t, 0, "%s", gpus);
    table_cell(t, 0, "%s", kill_role_name(en->role));
    if (done) {
        signals_text(en, sigs, sizeof sigs);
        table_cell(t, 0, "%s", sigs);
        result_cell(t, en);
    }
    table_cell(t, 0, "%s", command_text(en));
}

void kill_plan_sentence(const struct kill_view *v, char *buf, size_t size)
{
    char sig[24];
    kill_signal_name(v->signal, sig, sizeof sig);
    size_t n = v->set->count;
    int at = snprintf(buf, size, "would send %s to %zu process%s, children first, and wait up to "
                      "%ld s", sig, n, n == 1 ? "" : "es", v->timeout_secs);
    if (at < 0 || (size_t)at >= size)
        return;
    if (v->force && v->signal != SIGKILL)
        snprintf(buf + at, size - (size_t)at, "; then SIGKILL whatever is still running");
    else if (!v->force)
        snprintf(buf + at, size - (size_t)at, "; without --force, no SIGKILL");
}

int kill_render_table(const struct kill_view *v, FILE *out)
{
    bool done = v->stage == KILL_VIEW_DONE;
    struct table *t = new_table(done);
    if (!t)
        return -ENOMEM;
    for (size_t k = 0; k < v->set->count; k++)
        add_row(t, &v->set->items[v->order[k]], done);
    if (v->stage == KILL_VIEW_DRY_RUN) {
        char plan[256];
        kill_plan_sentence(v, plan, sizeof plan);
        fprintf(out, "Dry run: %s.\n", plan);
    }
    struct table_render_options o = {.color = v->color, .width = v->width};
    int rc = table_render(t, out, &o);
    table_free(t);
    return rc;
}

/* ---- JSON ---------------------------------------------------------------------- */

static json_t *j_signal(int sig)
{
    char name[24];
    kill_signal_name(sig, name, sizeof name);
    return json_string(name);
}

static const char *result_name(const struct kill_view *v, const struct kill_entry *en)
{
    if (v->stage == KILL_VIEW_MATCHED)
        return "matched";
    if (v->stage == KILL_VIEW_DRY_RUN)
        return "would_signal";
    return kill_outcome_name(en->outcome);
}

static json_t *entry_json(const struct kill_view *v, const struct kill_entry *en)
{
    json_t *o = json_object(), *gpus = json_array(), *sigs = json_array();
    for (size_t i = 0; gpus && i < en->gpu_count; i++)
        json_array_append_new(gpus, json_integer(en->gpus[i]));
    for (size_t i = 0; sigs && i < en->signal_count; i++)
        json_array_append_new(sigs, j_signal(en->signals[i]));
    if (!o) {
        json_decref(gpus);
        json_decref(sigs);
        return NULL;
    }
    doc_json_put(o, "pid", json_integer(en->h.id.pid));
    doc_json_put(o, "start_time", doc_json_time(en->host.start_time));
    doc_json_put(o, "start_ticks", json_integer((json_int_t)en->h.id.start_ticks));
    doc_json_put(o, "name", json_string(en->h.stat.comm));
    doc_json_put(o, "user", en->host.user[0] ? json_string(en->host.user) : json_null());
    doc_json_put(o, "uid", en->host.uid.known ? json_integer(en->host.uid.v) : json_null());
    doc_json_put(o, "cmdline", en->host.cmdline ? json_string(en->host.cmdline) : json_null());
    doc_json_put(o, "gpus", gpus);
    doc_json_put(o, "role", json_string(kill_role_name(en->role)));
    doc_json_put(o, "target_pid", json_integer(en->target));
    doc_json_put(o, "result", json_string(result_name(v, en)));
    doc_json_put(o, "signals", sigs);
    bool ended = en->outcome == KILL_OUTCOME_TERMINATED || en->outcome == KILL_OUTCOME_KILLED;
    doc_json_put(o, "ended_after_s", ended && en->ended_after_s >= 0 && isfinite(en->ended_after_s)
                                ? json_real(en->ended_after_s) : json_null());
    doc_json_put(o, "reason", en->failure.msg[0] ? json_string(en->failure.msg) : json_null());
    return o;
}

static json_t *document(const struct kill_view *v)
{
    json_t *root = json_object(), *procs = json_array();
    if (!root || !procs) {
        json_decref(root);
        json_decref(procs);
        return NULL;
    }
    doc_json_put(root, "dry_run", json_boolean(v->stage == KILL_VIEW_DRY_RUN));
    doc_json_put(root, "batch_needed", json_boolean(v->stage == KILL_VIEW_MATCHED));
    doc_json_put(root, "signal", j_signal(v->signal));
    doc_json_put(root, "timeout_secs", json_integer(v->timeout_secs));
    doc_json_put(root, "force", json_boolean(v->force));
    doc_json_put(root, "tree", json_boolean(v->tree));
    doc_json_put(root, "group", json_boolean(v->group));
    for (size_t k = 0; k < v->set->count; k++)
        json_array_append_new(procs, entry_json(v, &v->set->items[v->order[k]]));
    doc_json_put(root, "processes", procs);
    return root;
}

int kill_render_json(const struct kill_view *v, FILE *out, bool compact)
{
    json_t *root = document(v);
    return root ? doc_json_write(root, out, compact) : -ENOMEM;
}
