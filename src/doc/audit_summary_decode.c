/* audit_summary_decode.c - the audit summary document back into a struct
 * audit_summary (doc_audit_summary_decode in audit_doc.h), so a remote
 * host's summary is merged and drawn by the local code.
 *
 * The document is outside data: every value is type-checked and a wrong
 * one is an error naming its key ("top_users[2].rows: expected a whole
 * number").  A key that an older gpuctl does not print is left unknown
 * (or zero for a count, empty for a list); only the window is required.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "doc/audit_doc.h"

struct reader {
    struct error *e;
    int rc;
    char where[96];      /* the object being read: "top_users[2]" */
};

static bool fail(struct reader *r, const char *key, const char *what)
{
    if (r->rc == 0)
        r->rc = error_set(r->e, -ERROR_PARSE, "audit summary document: %s%s%s: expected %s",
                          r->where, r->where[0] ? "." : "", key, what);
    return false;
}

static bool get_u64(struct reader *r, const json_t *o, const char *key, uint64_t *out)
{
    const json_t *v = json_object_get(o, key);
    *out = 0;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return fail(r, key, "a whole number");
    *out = (uint64_t)json_integer_value(v);
    return true;
}

static bool get_opt_u64(struct reader *r, const json_t *o, const char *key, struct opt_u64 *out)
{
    const json_t *v = json_object_get(o, key);
    *out = (struct opt_u64){0};
    if (!v || json_is_null(v))
        return true;
    if (!get_u64(r, o, key, &out->v))
        return false;
    out->known = true;
    return true;
}

static bool get_real(struct reader *r, const json_t *o, const char *key, struct opt_f64 *out)
{
    const json_t *v = json_object_get(o, key);
    *out = (struct opt_f64){0};
    if (!v || json_is_null(v))
        return true;
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return fail(r, key, "a number");
    *out = (struct opt_f64){.known = true, .v = json_number_value(v)};
    return true;
}

static double real_or_zero(struct reader *r, const json_t *o, const char *key)
{
    struct opt_f64 v;
    return get_real(r, o, key, &v) && v.known ? v.v : 0.0;
}

/* "2026-01-31T13:00:00.000Z" (what the builder writes) into ms. */
static bool parse_time(const char *s, int64_t *ms)
{
    struct tm tm = {0};
    int millis = 0, n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &millis, &n) != 7 || s[n] != '\0')
        return false;
    /* The builder writes the year 0 for a window open to all history. */
    if (tm.tm_year == 0) {
        *ms = -(INT64_C(1) << 62);
        return true;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    *ms = (int64_t)t * 1000 + millis;
    return true;
}

static bool get_time(struct reader *r, const json_t *o, const char *key, bool required,
                     struct opt_u64 *out)
{
    const json_t *v = json_object_get(o, key);
    int64_t ms;
    *out = (struct opt_u64){0};
    if ((!v || json_is_null(v)) && !required)
        return true;
    if (!json_is_string(v) || !parse_time(json_string_value(v), &ms))
        return fail(r, key, "a time like 2026-01-31T13:00:00.000Z");
    *out = (struct opt_u64){.known = true, .v = (uint64_t)ms};
    return true;
}

static bool get_text(struct reader *r, const json_t *o, const char *key, char **out)
{
    const json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v))
        return fail(r, key, "a string");
    if (!(*out = strdup(json_string_value(v)))) {
        r->rc = error_set(r->e, -ENOMEM, "out of memory");
        return false;
    }
    return true;
}

/* The array at key (absent: empty); *n receives its length. */
static const json_t *get_array(struct reader *r, const json_t *o, const char *key, size_t *n)
{
    const json_t *v = json_object_get(o, key);
    *n = 0;
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_array(v)) {
        fail(r, key, "an array");
        return NULL;
    }
    *n = json_array_size(v);
    return v;
}

static void *alloc_items(struct reader *r, size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p && r->rc == 0)
        r->rc = error_set(r->e, -ENOMEM, "out of memory");
    return p;
}

static const json_t *item(struct reader *r, const json_t *a, const char *key, size_t i)
{
    const json_t *o = json_array_get(a, i);
    snprintf(r->where, sizeof r->where, "%s[%zu]", key, i);
    if (!json_is_object(o)) {
        r->where[0] = '\0';
        char k[64];
        snprintf(k, sizeof k, "%s[%zu]", key, i);
        fail(r, k, "an object");
        return NULL;
    }
    return o;
}

static void read_usage(struct reader *r, const json_t *doc, const char *key, const char *name,
                       struct audit_usage **out, size_t *count)
{
    size_t n;
    const json_t *a = get_array(r, doc, key, &n);
    if (!(*out = alloc_items(r, n, sizeof **out)))
        return;
    for (size_t i = 0; r->rc == 0 && i < n; i++) {
        const json_t *o = item(r, a, key, i);
        struct audit_usage *u = &(*out)[i];
        *count = i + 1;
        if (!o || !get_text(r, o, name, &u->key) || !get_u64(r, o, "rows", &u->rows) ||
            !get_opt_u64(r, o, "peak_memory_bytes", &u->peak_mem_bytes))
            return;
        u->gpu_mem_gib_hours = real_or_zero(r, o, "gpu_memory_gib_hours");
        u->sm_pct_hours = real_or_zero(r, o, "sm_pct_hours");
        if (!u->key && !(u->key = strdup("")))
            r->rc = error_set(r->e, -ENOMEM, "out of memory");
    }
    r->where[0] = '\0';
}

static void read_gpus(struct reader *r, const json_t *doc, struct audit_summary *s)
{
    size_t n;
    const json_t *a = get_array(r, doc, "gpus", &n);
    if (!(s->gpus = alloc_items(r, n, sizeof *s->gpus)))
        return;
    for (size_t i = 0; r->rc == 0 && i < n; i++) {
        const json_t *o = item(r, a, "gpus", i);
        struct audit_gpu_usage *g = &s->gpus[i];
        uint64_t index;
        s->gpu_count = i + 1;
        if (!o || !get_text(r, o, "host", &g->host) || !get_text(r, o, "uuid", &g->uuid) ||
            !get_text(r, o, "name", &g->name) || !get_u64(r, o, "rows", &g->rows) ||
            !get_u64(r, o, "gpu", &index) ||
            !get_real(r, o, "utilization_avg_pct", &g->util_avg_pct) ||
            !get_real(r, o, "utilization_peak_pct", &g->util_peak_pct) ||
            !get_opt_u64(r, o, "memory_peak_bytes", &g->mem_peak_bytes))
            return;
        if (index > 65535) {
            fail(r, "gpu", "a GPU index from 0 to 65535");
            return;
        }
        g->gpu_index = (int)index;
    }
    r->where[0] = '\0';
}

static void read_hours(struct reader *r, const json_t *doc, struct audit_summary *s)
{
    size_t n;
    const json_t *a = get_array(r, doc, "hourly", &n);
    for (int h = 0; h < 24; h++)
        s->hours[h].hour = h;
    for (size_t i = 0; r->rc == 0 && i < n; i++) {
        const json_t *o = item(r, a, "hourly", i);
        uint64_t hour;
        if (!o || !get_u64(r, o, "hour", &hour))
            return;
        if (hour > 23) {
            fail(r, "hour", "an hour from 0 to 23");
            return;
        }
        struct audit_hour_bin *b = &s->hours[hour];
        if (!get_u64(r, o, "process_rows", &b->proc_rows) ||
            !get_real(r, o, "utilization_avg_pct", &b->util_avg_pct))
            return;
        b->gpu_mem_gib_hours = real_or_zero(r, o, "gpu_memory_gib_hours");
        b->sm_pct_hours = real_or_zero(r, o, "sm_pct_hours");
    }
    r->where[0] = '\0';
}

static void read_busiest(struct reader *r, const json_t *doc, struct audit_summary *s)
{
    size_t n;
    const json_t *a = get_array(r, doc, "busiest", &n);
    if (!(s->busiest = alloc_items(r, n, sizeof *s->busiest)))
        return;
    for (size_t i = 0; r->rc == 0 && i < n; i++) {
        const json_t *o = item(r, a, "busiest", i);
        struct audit_period *p = &s->busiest[i];
        struct opt_u64 start, end;
        s->busiest_count = i + 1;
        if (!o || !get_time(r, o, "start", true, &start) || !get_time(r, o, "end", true, &end) ||
            !get_u64(r, o, "process_rows", &p->proc_rows) ||
            !get_real(r, o, "utilization_avg_pct", &p->util_avg_pct))
            return;
        p->start_ms = (int64_t)start.v;
        p->end_ms = (int64_t)end.v;
        p->gpu_mem_gib_hours = real_or_zero(r, o, "gpu_memory_gib_hours");
        p->sm_pct_hours = real_or_zero(r, o, "sm_pct_hours");
    }
    r->where[0] = '\0';
}

int doc_audit_summary_decode(const json_t *doc, struct audit_summary **out, struct error *e)
{
    struct reader r = {.e = e};
    *out = NULL;
    if (!json_is_object(doc))
        return error_set(e, -ERROR_PARSE, "audit summary document: expected an object");
    struct audit_summary *s = calloc(1, sizeof *s);
    if (!s)
        return error_set(e, -ENOMEM, "out of memory");
    struct opt_u64 from, to;
    if (get_time(&r, doc, "from", true, &from) && get_time(&r, doc, "to", true, &to) &&
        get_u64(&r, doc, "samples", &s->samples) &&
        get_u64(&r, doc, "process_rows", &s->proc_rows) &&
        get_u64(&r, doc, "gpu_rows", &s->gpu_rows) && get_time(&r, doc, "first", false,
                                                               &s->first_ms) &&
        get_time(&r, doc, "last", false, &s->last_ms)) {
        s->from_ms = (int64_t)from.v;
        s->to_ms = (int64_t)to.v;
        read_usage(&r, doc, "top_users", "user", &s->users, &s->user_count);
        if (r.rc == 0)
            read_usage(&r, doc, "top_processes", "name", &s->processes, &s->process_count);
        if (r.rc == 0)
            read_gpus(&r, doc, s);
        if (r.rc == 0)
            read_hours(&r, doc, s);
        if (r.rc == 0)
            read_busiest(&r, doc, s);
    }
    if (r.rc < 0) {
        audit_summary_free(s);
        return r.rc;
    }
    *out = s;
    return 0;
}
