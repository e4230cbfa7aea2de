/* policy_store.c - src/policy's adapter over store/audit.h.
 *
 * Converts between the audit store's records (milliseconds, borrowed
 * strings valid during a callback) and the policy modules' own (seconds,
 * owned copies).  SQL and the schema are the store's.
 */
#include "policy/policy_store.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "store/audit.h"

struct policy_store {
    struct audit_db *db;
};

int policy_store_open(const char *path, bool readonly, struct policy_store **out,
                      struct error *e)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return error_set(e, -ENOMEM, "out of memory");
    int rc = audit_open(path, readonly ? AUDIT_OPEN_READONLY : 0, &(*out)->db, e);
    if (rc < 0) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

void policy_store_close(struct policy_store *s)
{
    if (!s)
        return;
    audit_close(s->db);
    free(s);
}

const char *policy_store_path(const struct policy_store *s)
{
    return audit_path(s->db);
}

static int64_t ms(double s)
{
    return (int64_t)llround(s * 1000.0);
}

static int take_row(const struct audit_proc_record *r, void *arg)
{
    struct rogue_sample s = {.time = (double)r->time_ms / 1000.0, .gpu = r->gpu_index,
                             .pid = r->pid, .gpu_mem_bytes = r->gpu_mem_bytes,
                             .sm_pct = r->sm_pct,
                             .cmdline = r->cmdline && *r->cmdline ? (char *)r->cmdline : NULL};
    if (r->start_time_s.known)
        OPT_SET(s.start_time, (double)r->start_time_s.v);
    str_copy(s.user, sizeof s.user, r->user ? r->user : "");
    str_copy(s.name, sizeof s.name, r->name ? r->name : "");
    return rogue_history_add(arg, &s) < 0 ? -ENOMEM : 0;
}

int policy_store_history(struct policy_store *s, double hours, double now_s,
                         struct rogue_history *out, struct error *e)
{
    struct audit_filter f = {.from_ms = ms(now_s - hours * 3600.0), .to_ms = ms(now_s) + 1};
    int rc = audit_query_processes(s->db, &f, take_row, out, e);
    if (rc == -ENOMEM)
        error_set(e, rc, "out of memory reading the audit history");
    return rc;
}

int policy_store_violation(struct policy_store *s, const struct guard_violation *v,
                           double now_s, int64_t *id, struct error *e)
{
    struct audit_violation av = {.time_ms = ms(now_s), .policy = v->policy, .user = v->user,
                                 .pid = v->pid, .gpu_index = v->gpu, .violation = v->rule,
                                 .detail = v->detail};
    if (v->start_time.known)
        OPT_SET(av.start_time_s, (int64_t)v->start_time.v);
    return audit_violation_add(s->db, &av, id, e);
}

int policy_store_action(struct policy_store *s, int64_t violation_id, const char *action,
                        bool dry_run, bool success, const char *message, double now_s,
                        struct error *e)
{
    struct audit_action a = {.time_ms = ms(now_s), .action = action, .dry_run = dry_run,
                             .success = success, .message = message};
    return audit_action_add(s->db, violation_id, &a, NULL, e);
}

struct events {
    struct policy_event *items;
    size_t count;
};

static int take_event(const struct audit_policy_event *ev, void *arg)
{
    struct events *out = arg;
    struct policy_event *grown = realloc(out->items, (out->count + 1) * sizeof *grown);
    if (!grown)
        return -ENOMEM;
    out->items = grown;
    struct policy_event *p = &out->items[out->count++];
    *p = (struct policy_event){.time_s = (double)ev->v.time_ms / 1000.0, .pid = ev->v.pid,
                               .gpu = ev->v.gpu_index, .has_action = ev->has_action};
    str_copy(p->policy, sizeof p->policy, ev->v.policy ? ev->v.policy : "");
    str_copy(p->rule, sizeof p->rule, ev->v.violation ? ev->v.violation : "");
    str_copy(p->user, sizeof p->user, ev->v.user ? ev->v.user : "");
    str_copy(p->detail, sizeof p->detail, ev->v.detail ? ev->v.detail : "");
    if (ev->has_action) {
        p->action_time_s = (double)ev->a.time_ms / 1000.0;
        str_copy(p->action, sizeof p->action, ev->a.action ? ev->a.action : "");
        str_copy(p->message, sizeof p->message, ev->a.message ? ev->a.message : "");
        p->dry_run = ev->a.dry_run;
        p->success = ev->a.success;
    }
    return 0;
}

int policy_store_events(struct policy_store *s, double hours, double now_s, size_t limit,
                        struct policy_event **out, size_t *count, struct error *e)
{
    struct events ev = {0};
    struct audit_filter f = {.from_ms = ms(now_s - hours * 3600.0), .to_ms = ms(now_s) + 1};
    int rc = audit_query_policy_events(s->db, &f, limit, take_event, &ev, e);
    if (rc < 0) {
        free(ev.items);
        if (rc == -ENOMEM)
            error_set(e, rc, "out of memory reading the guard's events");
        return rc;
    }
    *out = ev.items;
    *count = ev.count;
    return 0;
}
