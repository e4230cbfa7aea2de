/* actions.c - signals from the monitor: the tagged processes, or else the
 * selected one, each through the pidfd-and-start-time check of
 * src/ops/kill.h, so a process that exited and whose pid was reused since
 * the last refresh is never hit.  Refusals (pid 1, gpuctl itself, another
 * user's process) come back as the status line's message.
 */
#include "tui/view.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/kill.h"

static size_t targets(const struct view *v, struct view_ident *out, size_t cap)
{
    if (v->tag_count) {
        size_t n = v->tag_count < cap ? v->tag_count : cap;
        memcpy(out, v->tags, n * sizeof *out);
        return n;
    }
    if (!v->has_sel || cap == 0)
        return 0;
    out[0] = v->sel;
    return 1;
}

void actions_describe(const struct view *v, int sig, char *buf, size_t size)
{
    char name[16];
    kill_signal_name(sig, name, sizeof name);
    struct view_ident one;
    size_t n = v->tag_count ? v->tag_count : targets(v, &one, 1);
    if (n == 1 && !v->tag_count) {
        const struct proc_row *r = view_selected(v);
        if (r && r->hp && r->hp->name[0])
            snprintf(buf, size, "Send %s to pid %d (%s)", name, (int)one.pid, r->hp->name);
        else
            snprintf(buf, size, "Send %s to pid %d", name, (int)one.pid);
    } else {
        snprintf(buf, size, "Send %s to %zu tagged processes", name, n);
    }
}

static void report(struct view *v, const char *signame, size_t sent, const struct error *first)
{
    if (first->code && sent == 0)
        view_set_status(v, true, "%s not sent: %s", signame, first->msg);
    else if (first->code)
        view_set_status(v, true, "%s sent to %zu process%s; %s", signame, sent,
                        sent == 1 ? "" : "es", first->msg);
    else
        view_set_status(v, false, "%s sent to %zu process%s", signame, sent, sent == 1 ? "" : "es");
}

void actions_signal(struct view *v, int sig)
{
    char name[16];
    kill_signal_name(sig, name, sizeof name);
    struct view_ident *ids = calloc(v->tag_count + 1, sizeof *ids);
    struct kill_set set;
    struct error e = {0}, first = {0};
    if (!ids || kill_set_init(&set, &e) < 0) {
        free(ids);
        view_set_status(v, true, "%s not sent: %s", name, e.msg[0] ? e.msg : "out of memory");
        return;
    }
    size_t n = targets(v, ids, v->tag_count + 1), sent = 0;
    for (size_t i = 0; i < n; i++) {
        struct error ae = {0};
        if (kill_set_add(&set, ids[i].pid, ids[i].start_ticks, KILL_ROLE_TARGET, ids[i].pid,
                         &ae) < 0 && !first.code)
            first = ae;
    }
    kill_set_check(&set, false);
    for (size_t i = 0; i < set.count; i++) {
        struct kill_entry *k = &set.items[i];
        struct error se = {0};
        if (k->refusal.code)
            se = k->refusal;
        else if (proc_handle_signal(&k->h, sig, &se) == 0)
            sent++;
        if (se.code && !first.code)
            first = se;
    }
    kill_set_free(&set);
    free(ids);
    report(v, name, sent, &first);
    if (sent && v->feed)
        feed_kick(v->feed);
}
