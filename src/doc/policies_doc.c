/* policies_doc.c - the guard's documents (policies_doc.h).
 *
 * Violations were found by policy/guard_eval.c and recorded by
 * policy/policy_store.c; this file names them.
 */
#include "doc/policies_doc.h"

#include <stdio.h>

#include "core/units.h"
#include "doc/build.h"
#include "doc/json.h"

json_t *doc_policies_build(const struct guard_config *c, struct error *e)
{
    struct doc_build b = {0};
    return doc_finish(&b, guard_config_to_json(c), e);
}

void doc_policies_planned_action(const struct guard_config *c, char *buf, size_t size)
{
    const char *what = c->enforcement == GUARD_HARD ? "terminate" : "warn";
    if (c->enforcement == GUARD_HARD)
        snprintf(buf, size, "%s%s", c->dry_run ? "would " : "", what);
    else
        snprintf(buf, size, "%swarn, then terminate after %g s", c->dry_run ? "would " : "",
                 c->grace_period_secs);
}

static json_t *violation_json(struct doc_build *b, const struct guard_violation *v,
                              const char *action)
{
    json_t *o = doc_object(b);
    doc_put(b, o, "policy", doc_json_text(v->policy));
    doc_put(b, o, "rule", doc_json_text(v->rule));
    doc_put(b, o, "pid", json_integer(v->pid));
    doc_put(b, o, "start_time", doc_json_time(v->start_time));
    doc_put(b, o, "user", doc_json_str(v->user));
    doc_put(b, o, "process", doc_json_str(v->name));
    doc_put(b, o, "gpu", v->gpu >= 0 ? json_integer(v->gpu) : json_null());
    doc_put(b, o, "detail", doc_json_text(v->detail));
    doc_put(b, o, "action", doc_json_text(action));
    return o;
}

json_t *doc_policies_test_build(const struct doc_policies_test_request *r, struct error *e)
{
    const struct guard_config *c = r->config;
    char action[128];
    doc_policies_planned_action(c, action, sizeof action);
    struct doc_build b = {0};
    json_t *root = doc_object(&b), *arr = doc_array(&b);
    doc_put(&b, root, "enabled", json_boolean(c->enabled));
    doc_put(&b, root, "dry_run", json_boolean(c->dry_run));
    doc_put(&b, root, "enforcement", json_string(c->enforcement == GUARD_HARD ? "hard" : "soft"));
    for (size_t i = 0; arr && i < r->violations->count; i++)
        doc_append(&b, arr, violation_json(&b, &r->violations->items[i], action));
    doc_put(&b, root, "violations", arr);
    return doc_finish(&b, root, e);
}

/* RFC 3339 UTC; the number of seconds when the time cannot be shown so. */
static json_t *time_json(double t)
{
    char buf[40];
    if (units_format_rfc3339_utc(t, buf, sizeof buf) < 0)
        snprintf(buf, sizeof buf, "%.0f", t);
    return json_string(buf);
}

static json_t *action_json(struct doc_build *b, const struct policy_event *ev)
{
    if (!ev->has_action)
        return json_null();
    json_t *a = doc_object(b);
    doc_put(b, a, "time", time_json(ev->action_time_s));
    doc_put(b, a, "action", doc_json_text(ev->action));
    doc_put(b, a, "dry_run", json_boolean(ev->dry_run));
    doc_put(b, a, "success", json_boolean(ev->success));
    doc_put(b, a, "message", doc_json_str(ev->message));
    return a;
}

static json_t *event_json(struct doc_build *b, const struct policy_event *ev)
{
    json_t *o = doc_object(b);
    doc_put(b, o, "time", time_json(ev->time_s));
    doc_put(b, o, "policy", doc_json_text(ev->policy));
    doc_put(b, o, "rule", doc_json_text(ev->rule));
    doc_put(b, o, "pid", ev->pid ? json_integer(ev->pid) : json_null());
    doc_put(b, o, "user", doc_json_str(ev->user));
    doc_put(b, o, "gpu", ev->gpu >= 0 ? json_integer(ev->gpu) : json_null());
    doc_put(b, o, "detail", doc_json_str(ev->detail));
    doc_put(b, o, "action", action_json(b, ev));
    return o;
}

json_t *doc_policies_events_build(const struct doc_policies_events_request *r,
                                  struct error *e)
{
    struct doc_build b = {0};
    json_t *root = doc_object(&b), *arr = doc_array(&b);
    for (size_t i = 0; arr && i < r->count; i++)
        doc_append(&b, arr, event_json(&b, &r->events[i]));
    doc_put(&b, root, "hours", doc_json_real(r->hours, 3));
    doc_put(&b, root, "events", arr);
    return doc_finish(&b, root, e);
}
