/* kill_doc.c - the kill document (kill_doc.h; schema docs/json/kill.md).
 *
 * One object per process in the order given, children first, as they were
 * (or would be) signalled.  The decisions were made by ops/kill.c; this
 * file only names them.
 */
#include "doc/kill_doc.h"

#include <errno.h>
#include <math.h>

#include "doc/build.h"
#include "doc/json.h"

static json_t *signal_json(int sig)
{
    char name[24];
    kill_signal_name(sig, name, sizeof name);
    return json_string(name);
}

const char *doc_kill_result_name(const struct doc_kill_request *r, const struct kill_entry *en)
{
    if (r->stage == DOC_KILL_MATCHED)
        return "matched";
    if (r->stage == DOC_KILL_DRY_RUN)
        return "would_signal";
    return kill_outcome_name(en->outcome);
}

static json_t *ended_after(const struct kill_entry *en)
{
    bool ended = en->outcome == KILL_OUTCOME_TERMINATED || en->outcome == KILL_OUTCOME_KILLED;
    return ended && en->ended_after_s >= 0 && isfinite(en->ended_after_s)
               ? doc_json_real(en->ended_after_s, 3) : json_null();
}

static json_t *entry_json(struct doc_build *b, const struct doc_kill_request *r,
                          const struct kill_entry *en)
{
    json_t *o = doc_object(b), *gpus = doc_array(b), *sigs = doc_array(b);
    for (size_t i = 0; gpus && i < en->gpu_count; i++)
        doc_append(b, gpus, json_integer(en->gpus[i]));
    for (size_t i = 0; sigs && i < en->signal_count; i++)
        doc_append(b, sigs, signal_json(en->signals[i]));
    doc_put(b, o, "pid", json_integer(en->h.id.pid));
    doc_put(b, o, "start_time", doc_json_time(en->host.start_time));
    doc_put(b, o, "start_ticks", json_integer((json_int_t)en->h.id.start_ticks));
    doc_put(b, o, "name", doc_json_text(en->h.stat.comm));
    doc_put(b, o, "user", doc_json_str(en->host.user));
    doc_put(b, o, "uid", en->host.uid.known ? json_integer(en->host.uid.v) : json_null());
    doc_put(b, o, "cmdline", en->host.cmdline ? doc_json_text(en->host.cmdline) : json_null());
    doc_put(b, o, "gpus", gpus);
    doc_put(b, o, "role", json_string(kill_role_name(en->role)));
    doc_put(b, o, "target_pid", json_integer(en->target));
    doc_put(b, o, "result", json_string(doc_kill_result_name(r, en)));
    doc_put(b, o, "signals", sigs);
    doc_put(b, o, "ended_after_s", ended_after(en));
    doc_put(b, o, "reason", doc_json_str(en->failure.msg));
    return o;
}

static json_t *processes(struct doc_build *b, const struct doc_kill_request *r)
{
    json_t *procs = doc_array(b);
    for (size_t k = 0; procs && k < r->set->count; k++)
        doc_append(b, procs, entry_json(b, r, &r->set->items[r->order[k]]));
    return procs;
}

json_t *doc_kill_processes(const struct doc_kill_request *r, struct error *e)
{
    struct doc_build b = {0};
    return doc_finish(&b, processes(&b, r), e);
}

json_t *doc_kill_build(const struct doc_kill_request *r, struct error *e)
{
    struct doc_build b = {0};
    json_t *root = doc_object(&b);
    doc_put(&b, root, "dry_run", json_boolean(r->stage == DOC_KILL_DRY_RUN));
    doc_put(&b, root, "batch_needed", json_boolean(r->stage == DOC_KILL_MATCHED));
    doc_put(&b, root, "signal", signal_json(r->signal));
    doc_put(&b, root, "timeout_secs", json_integer(r->timeout_secs));
    doc_put(&b, root, "force", json_boolean(r->force));
    doc_put(&b, root, "tree", json_boolean(r->tree));
    doc_put(&b, root, "group", json_boolean(r->group));
    doc_put(&b, root, "processes", processes(&b, r));
    return doc_finish(&b, root, e);
}
