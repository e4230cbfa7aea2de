/* snapshot_decode.c - the snapshot document back into a snapshot
 * (doc_snapshot_decode in snapshot_doc.h).
 *
 * A remote host's or a node's document is decoded here and drawn by the
 * local table code.  Every metric is read through the field table, so a
 * key, unit or scale is never spelled twice; this file handles only the
 * top level and the keys that are not fields of one record (the container
 * text, engines, host visibility).  What the builder derives (pids,
 * top_proc, gpu_uuid) is ignored: it follows from the rest.
 */
#include "doc/snapshot_doc.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/fields.h"
#include "core/term.h"

/* The key being read, for messages: "procs[3].cmdline". */
struct where {
    const char *prefix;   /* "gpus[1]" or "" */
    const char *group;    /* "clocks" or NULL */
    const char *key;
};

static const char *path(const struct where *w, char *buf, size_t size)
{
    snprintf(buf, size, "%s%s%s%s%s", w->prefix, *w->prefix ? "." : "", w->group ? w->group : "",
             w->group ? "." : "", w->key);
    return buf;
}

static int bad(struct error *e, const struct where *w, const char *what, const json_t *got)
{
    static const char *const types[] = {
        [JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array", [JSON_STRING] = "a string",
        [JSON_INTEGER] = "an integer", [JSON_REAL] = "a real", [JSON_TRUE] = "true",
        [JSON_FALSE] = "false", [JSON_NULL] = "null",
    };
    char where[160];
    return error_set(e, -ERROR_PARSE, "snapshot document: %s: expected %s, got %s",
                     path(w, where, sizeof where), what,
                     got ? types[json_typeof(got)] : "nothing");
}

void doc_snapshot_copy_text(char *dst, size_t size, const char *s, size_t len)
{
    size_t n = 0;
    while (n < len) {
        uint32_t cp;
        size_t step = term_utf8_decode(s + n, len - n, &cp);
        if (n + step >= size)
            break;
        n += step;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* The date and time of "YYYY-MM-DDTHH:MM:SS" written with every digit, as
 * the documents write it: what sscanf would read from it, at a tenth of
 * the cost (a node's document holds a start time per process). */
static bool fixed_fields(const char *s, struct tm *tm)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    int v[6] = {0}, k = 0;
    for (size_t i = 0; i < sizeof shape - 1; i++) {
        if (shape[i] != 'd') {
            if (s[i] != shape[i])
                return false;
            k++;
        } else if (s[i] >= '0' && s[i] <= '9') {
            v[k] = v[k] * 10 + (s[i] - '0');
        } else {
            return false;
        }
    }
    *tm = (struct tm){.tm_year = v[0], .tm_mon = v[1], .tm_mday = v[2], .tm_hour = v[3],
                      .tm_min = v[4], .tm_sec = v[5]};
    return true;
}

bool doc_snapshot_parse_time(const char *s, double *out)
{
    struct tm tm = {0};
    int used = 19;
    if (!fixed_fields(s, &tm) &&
        (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6 || used != 19))
        return false;
    const char *p = s + used;
    double frac = 0;
    if (*p == '.') {
        double scale = 0.1;
        for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
            frac += (*p - '0') * scale;
    }
    if (strcmp(p, "Z") != 0 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
        tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return false;
    *out = (double)t + frac;
    return true;
}

/* The value of names that s spells; false when it is none of them. */
static bool name_value(const struct field_def *f, const char *s, long long *out)
{
    for (size_t i = 0; i < f->name_count; i++) {
        if (f->names[i] && strcmp(f->names[i], s) == 0) {
            *out = (long long)i;
            return true;
        }
    }
    return false;
}

static int get_integer(const json_t *j, const struct where *w, long long lo, long long hi,
                       long long *out, struct error *e)
{
    if (!json_is_integer(j))
        return bad(e, w, "an integer", j);
    json_int_t v = json_integer_value(j);
    char where[160];
    if (v < lo || v > hi)
        return error_set(e, -ERROR_PARSE, "snapshot document: %s: %lld is out of range",
                         path(w, where, sizeof where), (long long)v);
    *out = v;
    return 0;
}

static int decode_u64(const struct field_def *f, const json_t *j, const struct where *w,
                      struct opt_u64 *o, struct error *e)
{
    long long v = 0;
    int rc;
    if (f->json == FIELD_JSON_MILLI) {
        if (!json_is_number(j))
            return bad(e, w, "a number", j);
        /* at most 1e15 units, so the thousandths stay exact in a double */
        double x = json_number_value(j);
        if (!(x >= 0 && x <= 1e15))
            return bad(e, w, "a number from 0 to 1e15", j);
        OPT_SET(*o, (uint64_t)llround(x * 1000.0));
        return 0;
    }
    long long hi = f->json == FIELD_JSON_MIB ? (LLONG_MAX >> 20) : LLONG_MAX;
    if ((rc = get_integer(j, w, 0, hi, &v, e)) < 0)
        return rc;
    OPT_SET(*o, f->json == FIELD_JSON_MIB ? (uint64_t)v << 20 : (uint64_t)v);
    return 0;
}

/* A name field's value; an unknown name is an unknown value, not an error
 * (a newer gpuctl may know more vendors). */
static int decode_name(const struct field_def *f, const json_t *j, const struct where *w,
                       long long *out, bool *known, struct error *e)
{
    if (!json_is_string(j))
        return bad(e, w, "a string", j);
    *known = name_value(f, json_string_value(j), out);
    return 0;
}

static int decode_text(const struct field_def *f, const json_t *j, const struct where *w,
                       void *slot, struct error *e)
{
    if (!json_is_string(j))
        return bad(e, w, "a string", j);
    const char *s = json_string_value(j);
    size_t len = json_string_length(j);
    if (f->kind == FIELD_STR) {
        doc_snapshot_copy_text(slot, f->size, s, strnlen(s, len));
    } else if (f->kind == FIELD_CHAR) {
        /* one ASCII character; anything else (U+FFFD) reads as '?' */
        *(char *)slot = len == 1 && (unsigned char)s[0] < 0x80 ? s[0] : '?';
    } else {
        char **p = slot;
        free(*p);
        *p = strndup(s, strnlen(s, len));
        if (!*p)
            return error_set(e, -ENOMEM, "out of memory decoding the snapshot document");
    }
    return 0;
}

static int decode_opt_i64(const struct field_def *f, const json_t *j, const struct where *w,
                          struct opt_i64 *o, struct error *e)
{
    long long v = 0;
    bool known = true;
    int rc;
    if (f->kind == FIELD_BOOL) {
        if (!json_is_boolean(j))
            return bad(e, w, "true or false", j);
        OPT_SET(*o, json_is_true(j) ? 1 : 0);
        return 0;
    }
    rc = f->json == FIELD_JSON_NAME ? decode_name(f, j, w, &v, &known, e)
                                    : get_integer(j, w, LLONG_MIN, LLONG_MAX, &v, e);
    if (rc == 0 && known)
        OPT_SET(*o, v);
    return rc;
}

static int decode_f64(const struct field_def *f, const json_t *j, const struct where *w,
                      struct opt_f64 *o, struct error *e)
{
    if (f->json == FIELD_JSON_TIME) {
        double t;
        if (!json_is_string(j) || !doc_snapshot_parse_time(json_string_value(j), &t))
            return bad(e, w, "an RFC 3339 UTC time", j);
        OPT_SET(*o, t);
        return 0;
    }
    if (!json_is_number(j))
        return bad(e, w, "a number", j);
    OPT_SET(*o, json_number_value(j));
    return 0;
}

/* An int or unsigned the model always knows: an index, a pid, an id, an
 * enum.  Plain ones must be present; named ones fall back to 0. */
static int decode_always_known(const struct field_def *f, const json_t *j,
                               const struct where *w, void *slot, struct error *e)
{
    long long v = 0;
    bool known = true;
    int rc;
    if (f->json == FIELD_JSON_NAME) {
        if (!j || json_is_null(j))
            return 0;
        rc = decode_name(f, j, w, &v, &known, e);
    } else {
        rc = get_integer(j, w, f->kind == FIELD_INT ? INT_MIN : 0,
                         f->kind == FIELD_INT ? INT_MAX : UINT_MAX, &v, e);
    }
    if (rc < 0 || !known)
        return rc;
    if (f->kind == FIELD_INT)
        *(int *)slot = (int)v;
    else
        *(unsigned *)slot = (unsigned)v;
    return 0;
}

static int decode_field(const struct field_def *f, const json_t *j, const struct where *w,
                        void *rec, struct error *e)
{
    void *slot = fields_slot(f, rec);
    if (f->kind == FIELD_INT || f->kind == FIELD_UINT)
        return decode_always_known(f, j, w, slot, e);
    if (!j || json_is_null(j))
        return 0;
    switch (f->kind) {
    case FIELD_U64:
        return decode_u64(f, j, w, slot, e);
    case FIELD_I64:
    case FIELD_BOOL:
        return decode_opt_i64(f, j, w, slot, e);
    case FIELD_F64:
        return decode_f64(f, j, w, slot, e);
    case FIELD_STR:
    case FIELD_STRPTR:
    case FIELD_CHAR:
        return decode_text(f, j, w, slot, e);
    case FIELD_INT:
    case FIELD_UINT:
        break;
    }
    return 0;
}

/* Every document field of scope from obj into rec. */
static int decode_record(const json_t *obj, enum field_scope scope, const char *prefix,
                         void *rec, struct error *e)
{
    size_t n;
    const struct field_def *t = fields_all(&n);
    for (size_t i = 0; i < n; i++) {
        const struct field_def *f = &t[i];
        if (f->scope != scope || (f->flags & FIELD_F_NO_DOC))
            continue;
        struct where w = {prefix, f->group, f->key};
        const json_t *holder = obj;
        if (f->group) {
            holder = json_object_get(obj, f->group);
            if (holder && !json_is_object(holder) && !json_is_null(holder))
                return bad(e, &(struct where){prefix, NULL, f->group}, "an object", holder);
            if (!json_is_object(holder))
                holder = NULL;
        }
        int rc = decode_field(f, holder ? json_object_get(holder, f->key) : NULL, &w, rec, e);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The array at key (absent or null: none). */
static int get_array(const json_t *obj, const char *prefix, const char *key,
                     const json_t **out, struct error *e)
{
    const json_t *a = json_object_get(obj, key);
    *out = NULL;
    if (!a || json_is_null(a))
        return 0;
    if (!json_is_array(a))
        return bad(e, &(struct where){prefix, NULL, key}, "an array", a);
    *out = a;
    return 0;
}

static int each_object(const json_t *a, const char *name, size_t i, char *prefix, size_t size,
                       const json_t **out, struct error *e)
{
    snprintf(prefix, size, "%s[%zu]", name, i);
    *out = json_array_get(a, i);
    if (!json_is_object(*out))
        return error_set(e, -ERROR_PARSE, "snapshot document: %s: expected an object", prefix);
    return 0;
}

/* ---- devices ---- */

static int decode_migs(const json_t *dj, const char *prefix, struct device *d, struct error *e)
{
    const json_t *a;
    int rc = get_array(dj, prefix, "mig_instances", &a, e);
    if (rc < 0 || !a || json_array_size(a) == 0)
        return rc;
    d->migs = calloc(json_array_size(a), sizeof *d->migs);
    if (!d->migs)
        return error_set(e, -ENOMEM, "out of memory decoding the snapshot document");
    d->mig_count = json_array_size(a);
    char sub[96];
    for (size_t i = 0; i < d->mig_count; i++) {
        const json_t *mj;
        char name[48];
        snprintf(name, sizeof name, "%s.mig_instances", prefix);
        if ((rc = each_object(a, name, i, sub, sizeof sub, &mj, e)) < 0 ||
            (rc = decode_record(mj, FIELD_MIG, sub, &d->migs[i], e)) < 0)
            return rc;
    }
    return 0;
}

static int decode_devices(const json_t *root, struct snapshot *s, struct error *e)
{
    const json_t *a;
    int rc = get_array(root, "", "gpus", &a, e);
    if (rc < 0 || !a || json_array_size(a) == 0)
        return rc;
    s->devices = calloc(json_array_size(a), sizeof *s->devices);
    if (!s->devices)
        return error_set(e, -ENOMEM, "out of memory decoding the snapshot document");
    s->device_count = json_array_size(a);
    char prefix[32];
    for (size_t i = 0; i < s->device_count; i++) {
        const json_t *dj;
        struct device *d = &s->devices[i];
        if ((rc = each_object(a, "gpus", i, prefix, sizeof prefix, &dj, e)) < 0 ||
            (rc = decode_record(dj, FIELD_DEVICE, prefix, d, e)) < 0 ||
            (rc = decode_migs(dj, prefix, d, e)) < 0)
            return rc;
        /* lookups by index (snapshot_device) need each index once, in order */
        if (i > 0 && d->index <= s->devices[i - 1].index)
            return error_set(e, -ERROR_PARSE, "snapshot document: %s.gpu_index: %d after %d; "
                             "GPUs must be in increasing index order", prefix, d->index,
                             s->devices[i - 1].index);
        d->source_id = -1;
        d->source_slot = -1;
    }
    return 0;
}

/* ---- processes ---- */

/* Container facts from the short text ("docker:3f2a1b2c3d4e",
 * "k8s:<pod>/<cid>"), when the document has no container_kind. */
static void container_from_text(const char *text, struct container_info *c)
{
    const char *colon = strchr(text, ':');
    if (!colon)
        return;
    size_t klen = (size_t)(colon - text);
    const char *rest = colon + 1;
    if (klen == 3 && strncmp(text, "k8s", 3) == 0) {
        c->kind = CONTAINER_KUBERNETES;
        const char *slash = strchr(rest, '/');
        if (slash) {
            doc_snapshot_copy_text(c->pod_uid, sizeof c->pod_uid, rest, (size_t)(slash - rest));
            rest = slash + 1;
        }
        doc_snapshot_copy_text(c->id, sizeof c->id, rest, strlen(rest));
        return;
    }
    for (int k = CONTAINER_DOCKER; k <= CONTAINER_SYSTEMD; k++) {
        const char *name = model_container_kind_name((enum container_kind)k);
        if (strlen(name) == klen && strncmp(text, name, klen) == 0) {
            c->kind = (enum container_kind)k;
            doc_snapshot_copy_text(c->id, sizeof c->id, rest, strlen(rest));
            return;
        }
    }
}

static int decode_engines(const json_t *pj, const char *prefix, struct gpu_process *gp,
                          struct error *e)
{
    const json_t *o = json_object_get(pj, "engines_pct");
    const char *name;
    const json_t *v;
    if (!o || json_is_null(o))
        return 0;
    if (!json_is_object(o))
        return bad(e, &(struct where){prefix, NULL, "engines_pct"}, "an object", o);
    json_object_foreach((json_t *)o, name, v) {
        struct where w = {prefix, "engines_pct", name};
        if (gp->engine_count == GPU_PROC_MAX_ENGINES)
            return error_set(e, -ERROR_PARSE, "snapshot document: %s.engines_pct: more than "
                             "%d engine classes", prefix, GPU_PROC_MAX_ENGINES);
        if (!json_is_null(v) && !json_is_number(v))
            return bad(e, &w, "a number", v);
        size_t k = gp->engine_count++;
        doc_snapshot_copy_text(gp->engines[k].name, sizeof gp->engines[k].name, name, strlen(name));
        gp->engines[k].capacity = 1;
        if (json_is_number(v))
            OPT_SET(gp->engine_pct[k], json_number_value(v));
    }
    return 0;
}

/* Whether the entry carries host facts: host_visible, or when that key is
 * missing, any host field that is not null. */
static bool has_host_facts(const json_t *pj)
{
    const json_t *hv = json_object_get(pj, "host_visible");
    if (json_is_boolean(hv))
        return json_is_true(hv);
    size_t n;
    const struct field_def *t = fields_all(&n);
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_object_get(pj, t[i].key);
        if (t[i].scope == FIELD_HOST_PROCESS && v && !json_is_null(v))
            return true;
    }
    return false;
}

static int decode_host_process(const json_t *pj, const char *prefix, pid_t pid,
                               struct host_process *hp, struct error *e)
{
    hp->pid = pid;
    hp->exists = true;
    int rc = decode_record(pj, FIELD_HOST_PROCESS, prefix, hp, e);
    if (rc < 0)
        return rc;
    const json_t *text = json_object_get(pj, "container");
    if (!json_object_get(pj, "container_kind") && json_is_string(text))
        container_from_text(json_string_value(text), &hp->container);
    return 0;
}

static int by_pid(const void *a, const void *b)
{
    pid_t x = ((const struct host_process *)a)->pid, y = ((const struct host_process *)b)->pid;
    return (x > y) - (x < y);
}

/* Sorts the host processes by pid and keeps the first of each pid. */
static void unique_host_processes(struct snapshot *s)
{
    if (s->hproc_count < 2)
        return;
    qsort(s->hprocs, s->hproc_count, sizeof *s->hprocs, by_pid);
    size_t kept = 1;
    for (size_t i = 1; i < s->hproc_count; i++) {
        if (s->hprocs[i].pid == s->hprocs[kept - 1].pid)
            model_host_process_clear(&s->hprocs[i]);
        else
            s->hprocs[kept++] = s->hprocs[i];
    }
    s->hproc_count = kept;
}

static int decode_processes(const json_t *root, struct snapshot *s, struct error *e)
{
    const json_t *a;
    int rc = get_array(root, "", "procs", &a, e);
    if (rc < 0 || !a || json_array_size(a) == 0)
        return rc;
    size_t n = json_array_size(a);
    s->gprocs = calloc(n, sizeof *s->gprocs);
    s->hprocs = calloc(n, sizeof *s->hprocs);
    if (!s->gprocs || !s->hprocs)
        return error_set(e, -ENOMEM, "out of memory decoding the snapshot document");
    char prefix[32];
    for (size_t i = 0; i < n; i++) {
        const json_t *pj;
        struct gpu_process *gp = &s->gprocs[s->gproc_count];
        if ((rc = each_object(a, "procs", i, prefix, sizeof prefix, &pj, e)) < 0 ||
            (rc = decode_record(pj, FIELD_GPU_PROCESS, prefix, gp, e)) < 0 ||
            (rc = decode_engines(pj, prefix, gp, e)) < 0)
            return rc;
        s->gproc_count++;
        if (has_host_facts(pj)) {
            rc = decode_host_process(pj, prefix, gp->pid, &s->hprocs[s->hproc_count++], e);
            if (rc < 0)
                return rc;
        }
    }
    unique_host_processes(s);
    return 0;
}

/* ---- the top level ---- */

/* Source names point at static strings (struct source_status). */
static const char *source_name(const char *name)
{
    static const char *const known[] = {"nvml", "drm", "simulated"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(known[i], name) == 0)
            return known[i];
    return "unknown";
}

static int decode_sources(const json_t *root, struct snapshot *s, struct error *e)
{
    const json_t *a;
    int rc = get_array(root, "", "sources", &a, e);
    if (rc < 0 || !a)
        return rc;
    if (json_array_size(a) > SNAPSHOT_MAX_SOURCES)
        return error_set(e, -ERROR_PARSE, "snapshot document: sources: more than %d entries",
                         SNAPSHOT_MAX_SOURCES);
    char prefix[32];
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *o;
        if ((rc = each_object(a, "sources", i, prefix, sizeof prefix, &o, e)) < 0)
            return rc;
        struct source_status *st = &s->sources[s->source_count++];
        const json_t *name = json_object_get(o, "name"), *started = json_object_get(o, "started");
        const json_t *msg = json_object_get(o, "message");
        if (!json_is_string(name))
            return bad(e, &(struct where){prefix, NULL, "name"}, "a string", name);
        if (started && !json_is_boolean(started))
            return bad(e, &(struct where){prefix, NULL, "started"}, "true or false", started);
        if (msg && !json_is_null(msg) && !json_is_string(msg))
            return bad(e, &(struct where){prefix, NULL, "message"}, "a string", msg);
        st->name = source_name(json_string_value(name));
        st->started = json_is_true(started);
        if (json_is_string(msg))
            doc_snapshot_copy_text(st->message, sizeof st->message, json_string_value(msg),
                      strlen(json_string_value(msg)));
    }
    return 0;
}

static int top_text(const json_t *root, const char *key, char *dst, size_t size,
                    struct error *e)
{
    const json_t *j = json_object_get(root, key);
    if (!j || json_is_null(j))
        return 0;
    if (!json_is_string(j))
        return bad(e, &(struct where){"", NULL, key}, "a string", j);
    doc_snapshot_copy_text(dst, size, json_string_value(j), strlen(json_string_value(j)));
    return 0;
}

static int decode_top(const json_t *root, struct snapshot *s, struct error *e)
{
    const json_t *v = json_object_get(root, "schema_version");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1)
            return bad(e, &(struct where){"", NULL, "schema_version"}, "an integer from 1", v);
        if (json_integer_value(v) > DOC_SNAPSHOT_SCHEMA_VERSION)
            return error_set(e, -ERROR_PARSE, "snapshot document: schema_version %lld is newer "
                             "than this gpuctl reads (%d); update gpuctl",
                             (long long)json_integer_value(v), DOC_SNAPSHOT_SCHEMA_VERSION);
    }
    int rc = decode_record(root, FIELD_HOST, "", &s->host, e);
    if (rc < 0)
        return rc;
    const json_t *ts = json_object_get(root, "ts");
    double when;
    if (ts && !json_is_null(ts)) {
        if (!json_is_string(ts) || !doc_snapshot_parse_time(json_string_value(ts), &when))
            return bad(e, &(struct where){"", NULL, "ts"}, "an RFC 3339 UTC time", ts);
        s->wall.tv_sec = (time_t)floor(when);
        s->wall.tv_nsec = (long)((when - floor(when)) * 1e9);
    }
    if ((rc = top_text(root, "driver_version", s->driver_version, sizeof s->driver_version, e)) ||
        (rc = top_text(root, "cuda_version", s->cuda_version, sizeof s->cuda_version, e)) ||
        (rc = top_text(root, "nvml_version", s->nvml_version, sizeof s->nvml_version, e)))
        return rc;
    return decode_sources(root, s, e);
}

int doc_snapshot_decode(const json_t *doc, struct snapshot **out, struct error *e)
{
    *out = NULL;
    if (!json_is_object(doc))
        return error_set(e, -ERROR_PARSE, "snapshot document: expected a JSON object");
    struct snapshot *s = calloc(1, sizeof *s);
    if (!s)
        return error_set(e, -ENOMEM, "out of memory decoding the snapshot document");
    int rc = decode_top(doc, s, e);
    if (rc == 0)
        rc = decode_devices(doc, s, e);
    if (rc == 0)
        rc = decode_processes(doc, s, e);
    if (rc < 0) {
        snapshot_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int doc_snapshot_decode_buffer(const char *buf, size_t len, struct snapshot **out,
                               struct error *e)
{
    json_error_t je;
    *out = NULL;
    json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        return error_set(e, -ERROR_PARSE, "snapshot document: line %d, column %d: %s", je.line,
                         je.column, je.text);
    int rc = doc_snapshot_decode(doc, out, e);
    json_decref(doc);
    return rc;
}
