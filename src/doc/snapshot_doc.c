/* snapshot_doc.c - the snapshot document (snapshot_doc.h): choosing what is
 * shown, and building the JSON of it.
 *
 * Every metric's key, unit and precision come from the field table; this
 * file adds only what is not a field of one record: the top level, counts
 * and the top process of a GPU, the container text, the GPU's UUID on each
 * process, and the per-engine utilisation of DRM clients.  Unknown is null,
 * never 0.  The build is written once, against a sink (sink.h): a jansson
 * tree for front ends that keep the document, JSON text for those that
 * only write it out.  Decoding is snapshot_decode.c's.
 */
#include "doc/snapshot_doc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/fields.h"
#include "core/units.h"
#include "doc/json.h"
#include "doc/sink.h"

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

/* ---- one field ---------------------------------------------------------------- */

static void name_value(struct doc_sink *sk, const struct field_def *f, long long value)
{
    if (value < 0 || (unsigned long long)value >= f->name_count || !f->names[value])
        doc_sink_null(sk, f->key);
    else
        doc_sink_stringn(sk, f->key, f->names[value], strlen(f->names[value]));
}

static void u64_value(struct doc_sink *sk, const struct field_def *f, struct opt_u64 o)
{
    if (!o.known)
        doc_sink_null(sk, f->key);
    else if (f->json == FIELD_JSON_MIB)
        doc_sink_integer(sk, f->key, (json_int_t)units_bytes_to_mib(o.v));
    else if (f->json == FIELD_JSON_MILLI)
        doc_sink_real(sk, f->key, (double)o.v / 1000.0, f->precision);
    else
        doc_sink_integer(sk, f->key, (json_int_t)o.v);
}

static void i64_value(struct doc_sink *sk, const struct field_def *f, struct opt_i64 o)
{
    if (!o.known)
        doc_sink_null(sk, f->key);
    else if (f->json == FIELD_JSON_NAME)
        name_value(sk, f, o.v);
    else
        doc_sink_integer(sk, f->key, (json_int_t)o.v);
}

static void text_value(struct doc_sink *sk, const struct field_def *f, const char *p, size_t len)
{
    if (len)
        doc_sink_stringn(sk, f->key, p, len);
    else
        doc_sink_null(sk, f->key);
}

/* f's value in rec under f's key; rec NULL: null. */
static void field_value(struct doc_sink *sk, const struct field_def *f, const void *rec)
{
    if (!rec) {
        doc_sink_null(sk, f->key);
        return;
    }
    const void *p = fields_cslot(f, rec);
    switch (f->kind) {
    case FIELD_U64:
        u64_value(sk, f, *(const struct opt_u64 *)p);
        return;
    case FIELD_I64:
        i64_value(sk, f, *(const struct opt_i64 *)p);
        return;
    case FIELD_F64:
        if (f->json == FIELD_JSON_TIME)
            doc_sink_time(sk, f->key, *(const struct opt_f64 *)p);
        else
            doc_sink_f64(sk, f->key, *(const struct opt_f64 *)p, f->precision);
        return;
    case FIELD_BOOL:
        doc_sink_opt_bool(sk, f->key, *(const struct opt_i64 *)p);
        return;
    case FIELD_STR:
        text_value(sk, f, p, strnlen(p, f->size));
        return;
    case FIELD_STRPTR:
        doc_sink_str(sk, f->key, *(char *const *)p);
        return;
    case FIELD_CHAR:
        text_value(sk, f, p, *(const char *)p ? 1 : 0);
        return;
    case FIELD_INT:
        i64_value(sk, f, (struct opt_i64){.v = *(const int *)p, .known = true});
        return;
    case FIELD_UINT:
        i64_value(sk, f, (struct opt_i64){.v = *(const unsigned *)p, .known = true});
        return;
    }
    doc_sink_null(sk, f->key);
}

static bool in_document(const struct field_def *f, const struct doc_snapshot_view *v)
{
    return !(f->flags & FIELD_F_NO_DOC) && (v->containers || !(f->flags & FIELD_F_CONTAINERS));
}

/* The document fields of one kind of object, in table order. */
struct field_list {
    const struct field_def *f[FIELDS_MAX];
    size_t n;
};

/* One build: the view, the sink it goes into, and the fields after which
 * the document has keys that are not fields of one record (found once per
 * document). */
struct build {
    struct doc_sink *sk;
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

static void build_init(struct build *b, struct doc_sink *sk, const struct doc_snapshot_view *v)
{
    b->sk = sk;
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

/* DRM engine utilisation by engine class; {} for other processes.  A name
 * given twice is one key, at its first place with its last value (what a
 * JSON object holding it would show). */
static void engines_value(struct doc_sink *sk, const struct gpu_process *gp)
{
    size_t n = gp->engine_count < GPU_PROC_MAX_ENGINES ? gp->engine_count
                                                       : GPU_PROC_MAX_ENGINES;
    doc_sink_object(sk, "engines_pct");
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        size_t last = i;
        for (size_t j = 0; j < n; j++) {
            if (strcmp(gp->engines[j].name, gp->engines[i].name) != 0)
                continue;
            seen |= j < i;
            last = j;
        }
        if (!seen)
            doc_sink_f64(sk, gp->engines[i].name, gp->engine_pct[last], DOC_JSON_PCT_DECIMALS);
    }
    doc_sink_close(sk);
}

/* Called after each field is written, to add the keys that are not fields
 * of one record where the document has them.  Those fields are outside any
 * group, so the keys land in the record's own object. */
typedef void after_field_fn(const struct build *b, const struct field_def *f, const void *ctx);

/* One object from the table under key: the fields of list, each read from
 * recs[its scope] (NULL: null values), with each field's group object
 * ("clocks", "pcie") opened where its first field falls (a group's fields
 * are adjacent in the table). */
static void fields_object(const struct build *b, const char *key, const struct field_list *list,
                          const void *const recs[], after_field_fn *after, const void *ctx)
{
    const char *group = NULL;
    doc_sink_object(b->sk, key);
    for (size_t i = 0; i < list->n; i++) {
        const struct field_def *f = list->f[i];
        if (group && (!f->group || strcmp(group, f->group) != 0)) {
            doc_sink_close(b->sk);
            group = NULL;
        }
        if (f->group && !group) {
            group = f->group;
            doc_sink_object(b->sk, group);
        }
        field_value(b->sk, f, recs[f->scope]);
        if (after)
            after(b, f, ctx);
    }
    if (group)
        doc_sink_close(b->sk);
    doc_sink_close(b->sk);
}

struct process_pair {
    const struct gpu_process *gp;
    const struct host_process *hp;   /* NULL: not visible on this host */
};

static void process_after(const struct build *b, const struct field_def *f, const void *ctx)
{
    const struct process_pair *pp = ctx;
    const struct gpu_process *gp = pp->gp;
    const struct host_process *hp = pp->hp;
    if (f == b->start_time) {
        char cbuf[160];
        const struct device *d = snapshot_device(b->v->snap, gp->device_index);
        doc_sink_str(b->sk, "container", hp ? model_container_text(&hp->container, false, cbuf,
                                                                   sizeof cbuf) : NULL);
        doc_sink_str(b->sk, "gpu_uuid", d ? d->uuid : NULL);
    } else if (f == b->compute_iid) {
        doc_sink_bool(b->sk, "host_visible", hp != NULL);
    } else if (f == b->sys_mem) {
        engines_value(b->sk, gp);
    }
}

static void process_value(const struct build *b, const char *key, const struct gpu_process *gp)
{
    const struct host_process *hp = snapshot_host_process(b->v->snap, gp->pid);
    struct process_pair pp = {gp, hp && hp->exists ? hp : NULL};
    const void *recs[FIELD_HOST + 1] = {[FIELD_GPU_PROCESS] = gp, [FIELD_HOST_PROCESS] = pp.hp};
    fields_object(b, key, &b->process, recs, process_after, &pp);
}

static void migs_value(const struct build *b, const struct device *d)
{
    doc_sink_array(b->sk, "mig_instances");
    for (size_t i = 0; i < d->mig_count; i++) {
        const void *recs[FIELD_HOST + 1] = {[FIELD_MIG] = &d->migs[i]};
        fields_object(b, NULL, &b->mig, recs, NULL, NULL);
    }
    doc_sink_close(b->sk);
}

static void device_after(const struct build *b, const struct field_def *f, const void *ctx)
{
    const struct device *d = ctx;
    if (f == b->ecc) {
        size_t pids = 0;
        const struct gpu_process *top = doc_snapshot_top_process(b->v, d->index, &pids);
        doc_sink_integer(b->sk, "pids", (json_int_t)pids);
        if (top)
            process_value(b, "top_proc", top);
        else
            doc_sink_null(b->sk, "top_proc");
    } else if (f == b->mig_pending) {
        migs_value(b, d);
    } else if (f == b->status && b->v->device_stale) {
        doc_sink_bool(b->sk, "stale", b->v->device_stale[d->index]);
    }
}

static void device_value(const struct build *b, const struct device *d)
{
    const void *recs[FIELD_HOST + 1] = {[FIELD_DEVICE] = d};
    fields_object(b, NULL, &b->device, recs, device_after, d);
}

static void sources_value(struct doc_sink *sk, const struct snapshot *s)
{
    doc_sink_array(sk, "sources");
    for (size_t i = 0; i < s->source_count; i++) {
        doc_sink_object(sk, NULL);
        doc_sink_str(sk, "name", s->sources[i].name);
        doc_sink_bool(sk, "started", s->sources[i].started);
        doc_sink_str(sk, "message", s->sources[i].message);
        doc_sink_close(sk);
    }
    doc_sink_close(sk);
}

/* ---- the document -------------------------------------------------------------- */

void doc_snapshot_emit(const struct doc_snapshot_view *v, struct doc_sink *sk)
{
    const struct snapshot *s = v->snap;
    struct build b;
    build_init(&b, sk, v);
    doc_sink_object(sk, NULL);
    for (size_t i = 0; i < b.count; i++)
        if (b.table[i].scope == FIELD_HOST && in_document(&b.table[i], v))
            field_value(sk, &b.table[i], &s->host);
    double now = (double)s->wall.tv_sec + s->wall.tv_nsec / 1e9;
    doc_sink_time(sk, "ts", (struct opt_f64){.v = now, .known = true});
    doc_sink_str(sk, "driver_version", s->driver_version);
    doc_sink_str(sk, "cuda_version", s->cuda_version);
    doc_sink_str(sk, "nvml_version", s->nvml_version);
    sources_value(sk, s);
    doc_sink_array(sk, "gpus");
    for (size_t i = 0; i < s->device_count; i++)
        if (v->device_visible[i])
            device_value(&b, &s->devices[i]);
    doc_sink_close(sk);
    doc_sink_array(sk, "procs");
    for (size_t i = 0; i < v->proc_count; i++)
        process_value(&b, NULL, v->procs[i]);
    doc_sink_close(sk);
    if (v->schema_version)
        doc_sink_integer(sk, "schema_version", DOC_SNAPSHOT_SCHEMA_VERSION);
    doc_sink_close(sk);
}

json_t *doc_snapshot_build_view(const struct doc_snapshot_view *v, struct error *e)
{
    struct doc_tree_sink t;
    doc_tree_sink_init(&t);
    doc_snapshot_emit(v, &t.base);
    return doc_tree_sink_finish(&t, e);
}

char *doc_snapshot_dumps_view(const struct doc_snapshot_view *v, bool compact, size_t *len,
                              struct error *e)
{
    struct doc_text_sink t;
    doc_text_sink_init(&t, compact);
    doc_snapshot_emit(v, &t.base);
    return doc_text_sink_finish(&t, len, e);
}

int doc_snapshot_write_view(const struct doc_snapshot_view *v, FILE *out, bool compact,
                            struct error *e)
{
    size_t len = 0;
    char *text = doc_snapshot_dumps_view(v, compact, &len, e);
    if (!text)
        return e->code;
    errno = 0;
    bool written = fwrite(text, 1, len, out) == len && fputc('\n', out) != EOF;
    free(text);
    if (written && fflush(out) != EOF)
        return 0;
    int err = errno ? errno : EIO;
    return error_set(e, -err, "cannot write the snapshot document: %s", strerror(err));
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
