/* snapshot_doc.c - the snapshot document (snapshot_doc.h): choosing what is
 * shown, and building the JSON of it.
 *
 * Every metric's key, unit and precision come from the field table; this
 * file adds only what is not a field of one record: the top level, counts
 * and the top process of a GPU, the container text, the GPU's UUID on each
 * process, and the per-engine utilisation of DRM clients.  Unknown is null,
 * never 0.  Decoding is snapshot_decode.c's.
 */
#include "doc/snapshot_doc.h"

#include <stdlib.h>
#include <string.h>

#include "core/fields.h"
#include "core/units.h"
#include "doc/build.h"
#include "doc/json.h"

/* ---- what is shown ---------------------------------------------------------- */

static size_t select_processes(const struct snapshot *s, const struct doc_snapshot_request *r,
                               const bool *visible, const struct gpu_process **out)
{
    size_t n = 0;
    for (size_t i = 0; i < s->gproc_count; i++) {
        const struct gpu_process *gp = &s->gprocs[i];
        const struct device *d = snapshot_device(s, gp->device_index);
        const struct host_process *hp = snapshot_host_process(s, gp->pid);
        if (d && visible[d - s->devices] &&
            (!r->filter || filter_process(r->filter, gp, hp, r->self_user)))
            out[n++] = gp;
    }
    return n;
}

int doc_snapshot_view_init(struct doc_snapshot_view *v, const struct snapshot *s,
                           const struct doc_snapshot_request *r, struct error *e)
{
    *v = (struct doc_snapshot_view){
        .snap = s,
        .details = r->details || (r->filter && filter_process_has_criteria(r->filter)),
        .containers = r->containers,
        .schema_version = r->schema_version,
        .device_stale = r->device_stale,
    };
    v->device_visible = calloc(s->device_count ? s->device_count : 1, sizeof *v->device_visible);
    v->procs = calloc(s->gproc_count ? s->gproc_count : 1, sizeof *v->procs);
    if (!v->device_visible || !v->procs)
        return error_set(e, -ENOMEM, "out of memory choosing what to show");
    if (r->filter) {
        filter_devices(r->filter, s->devices, s->device_count, r->cuda_visible_devices,
                       v->device_visible);
    } else {
        for (size_t i = 0; i < s->device_count; i++)
            v->device_visible[i] = true;
    }
    v->proc_count = select_processes(s, r, v->device_visible, v->procs);
    return 0;
}

void doc_snapshot_view_clear(struct doc_snapshot_view *v)
{
    if (!v)
        return;
    free(v->device_visible);
    free(v->procs);
    v->device_visible = NULL;
    v->procs = NULL;
    v->proc_count = 0;
}

const struct gpu_process *doc_snapshot_top_process(const struct doc_snapshot_view *v,
                                                   int device_index, size_t *count)
{
    const struct gpu_process *top = NULL;
    *count = 0;
    for (size_t i = 0; i < v->proc_count; i++) {
        const struct gpu_process *gp = v->procs[i];
        if (gp->device_index != device_index)
            continue;
        ++*count;
        uint64_t mem = gp->gpu_mem_bytes.known ? gp->gpu_mem_bytes.v : 0;
        if (!top || mem > (top->gpu_mem_bytes.known ? top->gpu_mem_bytes.v : 0))
            top = gp;
    }
    return top;
}

/* ---- one field as JSON ------------------------------------------------------- */

static json_t *name_json(const struct field_def *f, long long value)
{
    if (value < 0 || (unsigned long long)value >= f->name_count || !f->names[value])
        return json_null();
    return json_string(f->names[value]);
}

static json_t *u64_json(const struct field_def *f, struct opt_u64 o)
{
    if (!o.known)
        return json_null();
    switch (f->json) {
    case FIELD_JSON_MIB:
        return json_integer((json_int_t)units_bytes_to_mib(o.v));
    case FIELD_JSON_MILLI:
        return doc_json_real((double)o.v / 1000.0, f->precision);
    default:
        return json_integer((json_int_t)o.v);
    }
}

static json_t *field_json(const struct field_def *f, const void *rec)
{
    const void *p = fields_cslot(f, rec);
    switch (f->kind) {
    case FIELD_U64:
        return u64_json(f, *(const struct opt_u64 *)p);
    case FIELD_I64: {
        const struct opt_i64 *o = p;
        if (!o->known)
            return json_null();
        return f->json == FIELD_JSON_NAME ? name_json(f, o->v) : json_integer((json_int_t)o->v);
    }
    case FIELD_F64: {
        const struct opt_f64 *o = p;
        return f->json == FIELD_JSON_TIME ? doc_json_time(*o) : doc_json_f64(*o, f->precision);
    }
    case FIELD_BOOL:
        return doc_json_bool(*(const struct opt_i64 *)p);
    case FIELD_STR: {
        size_t len = strnlen(p, f->size);
        return len ? doc_json_stringn(p, len) : json_null();
    }
    case FIELD_STRPTR:
        return doc_json_str(*(char *const *)p);
    case FIELD_CHAR: {
        const char *c = p;
        return *c ? doc_json_stringn(c, 1) : json_null();
    }
    case FIELD_INT: {
        int i = *(const int *)p;
        return f->json == FIELD_JSON_NAME ? name_json(f, i) : json_integer(i);
    }
    case FIELD_UINT: {
        unsigned u = *(const unsigned *)p;
        return f->json == FIELD_JSON_NAME ? name_json(f, u) : json_integer(u);
    }
    }
    return json_null();
}

/* Fills one object from the table, opening each field's group object
 * ("clocks", "pcie") where its first field falls. */
struct emit {
    struct doc_build *db;
    json_t *obj;
    json_t *group;           /* our own reference, released by emit_done */
    const char *group_name;
};

static void emit_done(struct emit *em)
{
    json_decref(em->group);
    em->group = NULL;
}

static void emit_field(struct emit *em, const struct field_def *f, const void *rec)
{
    json_t *target = em->obj;
    if (f->group) {
        if (!em->group_name || strcmp(em->group_name, f->group) != 0) {
            emit_done(em);
            em->group_name = f->group;
            em->group = doc_object(em->db);
            if (em->group && json_object_set(em->obj, f->group, em->group) < 0)
                em->db->failed = true;
        }
        target = em->group;
        if (!target)
            return;
    }
    doc_put(em->db, target, f->key, rec ? field_json(f, rec) : json_null());
}

static bool in_document(const struct field_def *f, const struct doc_snapshot_view *v)
{
    return !(f->flags & FIELD_F_NO_DOC) && (v->containers || !(f->flags & FIELD_F_CONTAINERS));
}

/* One build: the view, and the fields after which the document has keys
 * that are not fields of one record (found once per document). */
/* The document fields of one kind of object, in table order. */
struct field_list {
    const struct field_def *f[FIELDS_MAX];
    size_t n;
};

struct build {
    struct doc_build *db;    /* remembers a failed allocation */
    const struct doc_snapshot_view *v;
    const struct field_def *table;
    size_t count;
    struct field_list device, mig, process;
    const struct field_def *ecc, *mig_pending, *status, *start_time, *compute_iid, *sys_mem;
};

static void list_fields(const struct build *b, unsigned mask, struct field_list *out)
{
    out->n = 0;
    for (size_t i = 0; i < b->count; i++)
        if ((mask & 1u << b->table[i].scope) && in_document(&b->table[i], b->v))
            out->f[out->n++] = &b->table[i];
}

static void build_init(struct build *b, struct doc_build *db, const struct doc_snapshot_view *v)
{
    b->db = db;
    b->v = v;
    b->table = fields_all(&b->count);
    list_fields(b, 1u << FIELD_DEVICE, &b->device);
    list_fields(b, 1u << FIELD_MIG, &b->mig);
    list_fields(b, 1u << FIELD_GPU_PROCESS | 1u << FIELD_HOST_PROCESS, &b->process);
    b->ecc = fields_find(FIELD_DEVICE, "ecc_volatile");
    b->mig_pending = fields_find(FIELD_DEVICE, "mig_mode_pending");
    b->status = fields_find(FIELD_DEVICE, "status");
    b->start_time = fields_find(FIELD_HOST_PROCESS, "start_time");
    b->compute_iid = fields_find(FIELD_GPU_PROCESS, "compute_instance_id");
    b->sys_mem = fields_find(FIELD_GPU_PROCESS, "used_sys_mem_bytes");
}

/* ---- the records -------------------------------------------------------------- */

/* DRM engine utilisation by engine class; {} for other processes. */
static json_t *engines_json(struct doc_build *db, const struct gpu_process *gp)
{
    json_t *o = doc_object(db);
    for (size_t i = 0; o && i < gp->engine_count && i < GPU_PROC_MAX_ENGINES; i++)
        doc_put(db, o, gp->engines[i].name,
                     doc_json_f64(gp->engine_pct[i], DOC_JSON_PCT_DECIMALS));
    return o;
}

/* Called after each field is put, to add the keys that are not fields of
 * one record where the document has them. */
typedef void after_field_fn(json_t *o, const struct build *b, const struct field_def *f,
                            const void *ctx);

/* One object from the table: the fields of list, each read from
 * recs[its scope] (NULL: null values). */
static json_t *fields_object(const struct build *b, const struct field_list *list,
                             const void *const recs[], after_field_fn *after, const void *ctx)
{
    json_t *o = doc_object(b->db);
    if (!o)
        return NULL;
    struct emit em = {.db = b->db, .obj = o};
    for (size_t i = 0; i < list->n; i++) {
        const struct field_def *f = list->f[i];
        emit_field(&em, f, recs[f->scope]);
        if (after)
            after(o, b, f, ctx);
    }
    emit_done(&em);
    return o;
}

struct process_pair {
    const struct gpu_process *gp;
    const struct host_process *hp;   /* NULL: not visible on this host */
};

static void process_after(json_t *o, const struct build *b, const struct field_def *f,
                          const void *ctx)
{
    const struct process_pair *pp = ctx;
    const struct gpu_process *gp = pp->gp;
    const struct host_process *hp = pp->hp;
    if (f == b->start_time) {
        char cbuf[160];
        const struct device *d = snapshot_device(b->v->snap, gp->device_index);
        doc_put(b->db, o, "container", doc_json_str(hp ? model_container_text(
                                           &hp->container, false, cbuf, sizeof cbuf) : NULL));
        doc_put(b->db, o, "gpu_uuid", doc_json_str(d ? d->uuid : NULL));
    } else if (f == b->compute_iid) {
        doc_put(b->db, o, "host_visible", json_boolean(hp != NULL));
    } else if (f == b->sys_mem) {
        doc_put(b->db, o, "engines_pct", engines_json(b->db, gp));
    }
}

static json_t *process_json(const struct build *b, const struct gpu_process *gp)
{
    const struct host_process *hp = snapshot_host_process(b->v->snap, gp->pid);
    struct process_pair pp = {gp, hp && hp->exists ? hp : NULL};
    const void *recs[FIELD_HOST + 1] = {[FIELD_GPU_PROCESS] = gp, [FIELD_HOST_PROCESS] = pp.hp};
    return fields_object(b, &b->process, recs,
                         process_after, &pp);
}

static json_t *migs_json(const struct build *b, const struct device *d)
{
    json_t *a = doc_array(b->db);
    for (size_t i = 0; a && i < d->mig_count; i++) {
        const void *recs[FIELD_HOST + 1] = {[FIELD_MIG] = &d->migs[i]};
        doc_append(b->db, a, fields_object(b, &b->mig, recs, NULL, NULL));
    }
    return a;
}

static void device_after(json_t *o, const struct build *b, const struct field_def *f,
                         const void *ctx)
{
    const struct device *d = ctx;
    if (f == b->ecc) {
        size_t pids = 0;
        const struct gpu_process *top = doc_snapshot_top_process(b->v, d->index, &pids);
        doc_put(b->db, o, "pids", json_integer((json_int_t)pids));
        doc_put(b->db, o, "top_proc", top ? process_json(b, top) : json_null());
    } else if (f == b->mig_pending) {
        doc_put(b->db, o, "mig_instances", migs_json(b, d));
    } else if (f == b->status && b->v->device_stale) {
        doc_put(b->db, o, "stale", json_boolean(b->v->device_stale[d->index]));
    }
}

static json_t *device_json(const struct build *b, const struct device *d)
{
    const void *recs[FIELD_HOST + 1] = {[FIELD_DEVICE] = d};
    return fields_object(b, &b->device, recs, device_after, d);
}

static json_t *sources_json(struct doc_build *db, const struct snapshot *s)
{
    json_t *a = doc_array(db);
    for (size_t i = 0; a && i < s->source_count; i++) {
        json_t *o = doc_object(db);
        doc_put(db, o, "name", doc_json_str(s->sources[i].name));
        doc_put(db, o, "started", json_boolean(s->sources[i].started));
        doc_put(db, o, "message", doc_json_str(s->sources[i].message));
        doc_append(db, a, o);
    }
    return a;
}

/* ---- the document -------------------------------------------------------------- */

json_t *doc_snapshot_build_view(const struct doc_snapshot_view *v, struct error *e)
{
    const struct snapshot *s = v->snap;
    struct doc_build db = {0};
    struct build b;
    char ts[40];
    build_init(&b, &db, v);
    json_t *root = doc_object(&db);
    for (size_t i = 0; i < b.count; i++)
        if (b.table[i].scope == FIELD_HOST && in_document(&b.table[i], v))
            doc_put(&db, root, b.table[i].key, field_json(&b.table[i], &s->host));
    double now = (double)s->wall.tv_sec + s->wall.tv_nsec / 1e9;
    doc_put(&db, root, "ts", units_format_rfc3339_utc(now, ts, sizeof ts) == 0 ? json_string(ts)
                                                                              : json_null());
    doc_put(&db, root, "driver_version", doc_json_str(s->driver_version));
    doc_put(&db, root, "cuda_version", doc_json_str(s->cuda_version));
    doc_put(&db, root, "nvml_version", doc_json_str(s->nvml_version));
    doc_put(&db, root, "sources", sources_json(&db, s));
    json_t *gpus = doc_array(&db), *procs = doc_array(&db);
    for (size_t i = 0; gpus && i < s->device_count; i++)
        if (v->device_visible[i])
            doc_append(&db, gpus, device_json(&b, &s->devices[i]));
    for (size_t i = 0; procs && i < v->proc_count; i++)
        doc_append(&db, procs, process_json(&b, v->procs[i]));
    doc_put(&db, root, "gpus", gpus);
    doc_put(&db, root, "procs", procs);
    if (v->schema_version)
        doc_put(&db, root, "schema_version", json_integer(DOC_SNAPSHOT_SCHEMA_VERSION));
    return doc_finish(&db, root, e);
}

json_t *doc_snapshot_build(const struct snapshot *s, const struct doc_snapshot_request *r,
                           struct error *e)
{
    struct doc_snapshot_view v;
    json_t *doc = NULL;
    if (doc_snapshot_view_init(&v, s, r, e) == 0)
        doc = doc_snapshot_build_view(&v, e);
    doc_snapshot_view_clear(&v);
    return doc;
}
