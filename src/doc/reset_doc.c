/* reset_doc.c - the reset document (reset_doc.h): the processes ended
 * first (kill_doc.c's objects) and one object per GPU.
 */
#include "doc/reset_doc.h"

#include "doc/build.h"
#include "doc/json.h"

static const char *result_name(enum doc_reset_result r)
{
    switch (r) {
    case DOC_RESET_DONE: return "reset";
    case DOC_RESET_FAILED: return "failed";
    case DOC_RESET_NOT_ATTEMPTED: break;
    }
    return "not_attempted";
}

static json_t *command_json(const struct reset_method *m)
{
    char text[PATH_MAX + 160];
    if (!m)
        return json_null();
    reset_command_text(m, text, sizeof text);
    return doc_json_text(text);
}

static json_t *gpu_json(struct doc_build *b, const struct doc_reset_gpu *g)
{
    const struct device *d = g->device;
    json_t *o = doc_object(b);
    doc_put(b, o, "gpu", json_integer(d->index));
    doc_put(b, o, "name", doc_json_str(d->name));
    doc_put(b, o, "pci_bus_id", doc_json_str(d->pci_bus_id));
    doc_put(b, o, "uuid", doc_json_str(d->uuid));
    doc_put(b, o, "command", command_json(g->method));
    doc_put(b, o, "result", json_string(result_name(g->result)));
    doc_put(b, o, "output", doc_json_str(g->output));
    doc_put(b, o, "error", doc_json_str(g->error));
    return o;
}

json_t *doc_reset_build(const struct doc_reset_request *r, struct error *e)
{
    struct doc_build b = {0};
    json_t *root = doc_object(&b), *gpus = doc_array(&b);
    json_t *procs = r->ended ? doc_kill_processes(r->ended, e) : doc_array(&b);
    if (!procs)
        b.failed = true;
    for (size_t i = 0; gpus && i < r->gpu_count; i++)
        doc_append(&b, gpus, gpu_json(&b, &r->gpus[i]));
    doc_put(&b, root, "force", json_boolean(r->force));
    doc_put(&b, root, "processes", procs);
    doc_put(&b, root, "gpus", gpus);
    return doc_finish(&b, root, e);
}
