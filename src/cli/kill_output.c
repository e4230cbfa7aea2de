/* kill_output.c - `gpuctl kill` as a table, or the kill document
 * (doc/kill_doc.c; schema docs/json/kill.md) printed.
 *
 * One row per process, children first, as they were (or would be)
 * signalled.  The decisions were made by ops/kill.c; this file only turns
 * them into cells.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/kill.h"
#include "core/table.h"
#include "core/units.h"
#include "doc/json.h"

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

void cli_kill_plan_sentence(const struct doc_kill_request *r, char *buf, size_t size)
{
    char sig[24];
    kill_signal_name(r->signal, sig, sizeof sig);
    size_t n = r->set->count;
    int at = snprintf(buf, size, "would send %s to %zu process%s, children first, and wait up to "
                      "%ld s", sig, n, n == 1 ? "" : "es", r->timeout_secs);
    if (at < 0 || (size_t)at >= size)
        return;
    if (r->force && r->signal != SIGKILL)
        snprintf(buf + at, size - (size_t)at, "; then SIGKILL whatever is still running");
    else if (!r->force && r->signal != SIGKILL)   /* SIGKILL itself needs no escalation */
        snprintf(buf + at, size - (size_t)at, "; without --force, no SIGKILL after it");
}

int cli_kill_render_table(const struct cli_kill_view *v, FILE *out)
{
    const struct doc_kill_request *r = &v->doc;
    bool done = r->stage == DOC_KILL_DONE;
    struct table *t = new_table(done);
    if (!t)
        return -ENOMEM;
    for (size_t k = 0; k < r->set->count; k++)
        add_row(t, &r->set->items[r->order[k]], done);
    if (r->stage == DOC_KILL_DRY_RUN) {
        char plan[256];
        cli_kill_plan_sentence(r, plan, sizeof plan);
        fprintf(out, "Dry run: %s.\n", plan);
    }
    struct table_render_options o = {.color = v->color, .width = v->width};
    int rc = table_render(t, out, &o);
    table_free(t);
    return rc;
}

int cli_kill_render_json(const struct cli_kill_view *v, FILE *out, bool compact)
{
    struct error e = {0};
    json_t *root = doc_kill_build(&v->doc, &e);
    return root ? doc_json_write(root, out, compact) : e.code;
}
