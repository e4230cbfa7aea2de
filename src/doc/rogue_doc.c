/* rogue_doc.c - the rogue scan's documents (rogue_doc.h).
 *
 * The findings were scored by policy/rogue.c; this file names them.
 */
#include "doc/rogue_doc.h"

#include "doc/build.h"
#include "doc/json.h"

static json_t *evidence_json(struct doc_build *b, const struct rogue_evidence *ev)
{
    json_t *o = doc_object(b);
    doc_put(b, o, "text", doc_json_text(ev->text));
    doc_put(b, o, "confidence", doc_json_real(ev->confidence, 3));
    return o;
}

static json_t *finding_json(struct doc_build *b, const struct rogue_finding *f)
{
    json_t *o = doc_object(b), *ev = doc_array(b);
    for (size_t i = 0; ev && i < f->evidence_count; i++)
        doc_append(b, ev, evidence_json(b, &f->evidence[i]));
    doc_put(b, o, "category", json_string(rogue_category_name(f->category)));
    doc_put(b, o, "risk", json_string(rogue_risk_name(f->risk)));
    doc_put(b, o, "risk_score", doc_json_real(f->risk_score, 3));
    doc_put(b, o, "confidence", doc_json_real(f->confidence, 3));
    doc_put(b, o, "pid", json_integer(f->pid));
    doc_put(b, o, "live", json_boolean(f->live));
    doc_put(b, o, "user", doc_json_str(f->user));
    doc_put(b, o, "process", doc_json_str(f->name));
    doc_put(b, o, "exe", doc_json_str(f->exe));
    doc_put(b, o, "command_line", doc_json_str(f->cmdline));
    doc_put(b, o, "gpu", f->gpu >= 0 ? json_integer(f->gpu) : json_null());
    doc_put(b, o, "evidence", ev);
    doc_put(b, o, "recommendation", doc_json_text(f->recommendation));
    return o;
}

static json_t *scanned_json(struct doc_build *b, const struct doc_rogue_request *r)
{
    json_t *o = doc_object(b);
    doc_put(b, o, "live", json_boolean(r->live));
    doc_put(b, o, "live_processes", json_integer((json_int_t)r->report->live_processes));
    doc_put(b, o, "history", json_boolean(r->history));
    doc_put(b, o, "hours", doc_json_real(r->hours, 3));
    doc_put(b, o, "history_rows", json_integer((json_int_t)r->report->history_rows));
    doc_put(b, o, "history_processes", json_integer((json_int_t)r->report->history_processes));
    return o;
}

json_t *doc_rogue_build(const struct doc_rogue_request *r, struct error *e)
{
    struct doc_build b = {0};
    json_t *root = doc_object(&b), *arr = doc_array(&b);
    for (size_t i = 0; arr && i < r->report->count; i++)
        doc_append(&b, arr, finding_json(&b, &r->report->findings[i]));
    doc_put(&b, root, "scanned", scanned_json(&b, r));
    doc_put(&b, root, "findings", arr);
    return doc_finish(&b, root, e);
}

json_t *doc_rogue_config_build(const struct rogue_config *c, struct error *e)
{
    struct doc_build b = {0};
    return doc_finish(&b, rogue_config_to_json(c), e);
}
