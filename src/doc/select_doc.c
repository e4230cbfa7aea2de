/* select_doc.c - the selection document (select_doc.h).
 *
 * The choice was made by ops/select.c; this file names it, and spells the
 * CUDA_VISIBLE_DEVICES value the same way `gpuctl select` prints it.
 */
#include "doc/select_doc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc/build.h"
#include "doc/json.h"

static bool uuid_format(const struct doc_select_request *r)
{
    return r->uuid || r->result->uuid_required;
}

/* The comma-separated identifiers, or null when one cannot be named. */
static json_t *visible_devices(struct doc_build *b, const struct doc_select_request *r)
{
    const struct select_result *res = r->result;
    bool uuid = uuid_format(r);
    size_t size = res->count * (sizeof res->devices[0].uuid + 1) + 1;
    char *text = malloc(size);
    if (!text) {
        b->failed = true;
        return NULL;
    }
    size_t at = 0;
    text[0] = '\0';
    for (size_t i = 0; i < res->count; i++) {
        const struct select_device *d = &res->devices[i];
        if (uuid && !d->uuid[0]) {
            free(text);
            return json_null();
        }
        int n = uuid ? snprintf(text + at, size - at, "%s%s", i ? "," : "", d->uuid)
                     : snprintf(text + at, size - at, "%s%d", i ? "," : "", d->cuda_index);
        at += n > 0 ? (size_t)n : 0;
    }
    json_t *v = json_string(text);
    free(text);
    return v;
}

static json_t *size_limit(bool set, uint64_t bytes)
{
    return set ? json_integer((json_int_t)bytes) : json_null();
}

static json_t *pct_limit(bool set, unsigned pct)
{
    return set ? json_integer(pct) : json_null();
}

static json_t *constraints_json(struct doc_build *b, const struct select_constraints *k)
{
    json_t *o = doc_object(b), *users = doc_array(b);
    for (size_t i = 0; users && i < k->free_user_count; i++)
        doc_append(b, users, doc_json_text(k->free_users[i]));
    doc_put(b, o, "min_count", json_integer((json_int_t)k->min_count));
    bool no_max = k->max_count == SELECT_NO_MAX;
    doc_put(b, o, "max_count", no_max ? json_null() : json_integer((json_int_t)k->max_count));
    doc_put(b, o, "min_free_memory_bytes", size_limit(k->min_free_set, k->min_free_bytes));
    doc_put(b, o, "min_total_memory_bytes", size_limit(k->min_total_set, k->min_total_bytes));
    doc_put(b, o, "max_gpu_utilization_pct", pct_limit(k->max_gpu_util_set, k->max_gpu_util_pct));
    doc_put(b, o, "max_memory_utilization_pct",
            pct_limit(k->max_mem_util_set, k->max_mem_util_pct));
    doc_put(b, o, "tolerance_pct", json_integer(k->tolerance_pct));
    doc_put(b, o, "inherit", json_boolean(k->inherit));
    doc_put(b, o, "account_as_free", users);
    return o;
}

static json_t *device_json(struct doc_build *b, const struct select_device *d)
{
    json_t *o = doc_object(b);
    doc_put(b, o, "gpu", json_integer(d->device_index));
    doc_put(b, o, "mig", d->mig >= 0 ? json_integer(d->mig) : json_null());
    doc_put(b, o, "cuda_index", json_integer(d->cuda_index));
    doc_put(b, o, "uuid", doc_json_str(d->uuid));
    doc_put(b, o, "memory_free_bytes", doc_json_u64(d->mem_free_bytes));
    doc_put(b, o, "memory_used_bytes", doc_json_u64(d->mem_used_bytes));
    doc_put(b, o, "memory_total_bytes", doc_json_u64(d->mem_total_bytes));
    doc_put(b, o, "utilization_gpu_pct", doc_json_f64(d->util_gpu_pct, -1));
    doc_put(b, o, "utilization_memory_pct", doc_json_f64(d->util_mem_pct, -1));
    doc_put(b, o, "relaxed", json_integer(d->relaxed));
    return o;
}

json_t *doc_select_build(const struct doc_select_request *r, struct error *e)
{
    struct doc_build b = {0};
    const struct select_result *res = r->result;
    json_t *root = doc_object(&b), *devices = doc_array(&b);
    for (size_t i = 0; devices && i < res->count; i++)
        doc_append(&b, devices, device_json(&b, &res->devices[i]));
    doc_put(&b, root, "enough", json_boolean(res->enough));
    doc_put(&b, root, "reason", res->enough ? json_null() : doc_json_str(res->reason));
    doc_put(&b, root, "qualified", json_integer((json_int_t)res->qualified));
    doc_put(&b, root, "format", json_string(uuid_format(r) ? "uuid" : "index"));
    doc_put(&b, root, "cuda_visible_devices", visible_devices(&b, r));
    doc_put(&b, root, "constraints", constraints_json(&b, r->constraints));
    doc_put(&b, root, "devices", devices);
    return doc_finish(&b, root, e);
}
