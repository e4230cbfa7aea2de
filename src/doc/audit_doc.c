/* audit_doc.c - the audit documents (audit_doc.h; docs/json/audit.md).
 *
 * Times are RFC 3339 UTC with milliseconds, as programs compare them.  The
 * figures are the store's (src/store/audit.c); nothing is computed here
 * beyond units.
 */
#include "doc/audit_doc.h"

#include <stdio.h>
#include <time.h>

#include "doc/build.h"
#include "doc/json.h"

#define DIGITS 10   /* significant digits of every real in these documents */

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

void doc_audit_time_rfc3339(int64_t ms, char *buf, size_t size)
{
    int64_t secs = floor_div(ms, 1000);
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
        snprintf(buf, size, "%s", ms < 0 ? "0000-01-01T00:00:00.000Z" : "9999-12-31T23:59:59.999Z");
        return;
    }
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%03dZ", (int)(ms - secs * 1000));
}

static json_t *time_json(int64_t ms)
{
    char buf[48];
    doc_audit_time_rfc3339(ms, buf, sizeof buf);
    return json_string(buf);
}

static json_t *opt_time(struct opt_u64 v)
{
    return v.known ? time_json((int64_t)v.v) : json_null();
}

static json_t *real(double v)
{
    return doc_real_digits(v, DIGITS);
}

static json_t *opt_real(struct opt_f64 v)
{
    return v.known ? real(v.v) : json_null();
}

/* ---- records ----------------------------------------------------------------------- */

const char *doc_audit_query_key(const struct doc_audit_query_request *r)
{
    return r->gpus ? "gpus" : "processes";
}

json_t *doc_audit_query_head(const struct doc_audit_query_request *r, struct error *e)
{
    struct doc_build b = {0};
    json_t *o = doc_object(&b);
    doc_put(&b, o, "database", doc_json_str(r->database));
    doc_put(&b, o, "from", time_json(r->filter->from_ms));
    doc_put(&b, o, "to", time_json(r->filter->to_ms));
    doc_put(&b, o, "user", doc_json_str(r->filter->user));
    doc_put(&b, o, "process", doc_json_str(r->filter->process));
    return doc_finish(&b, o, e);
}

json_t *doc_audit_proc_record(const struct audit_proc_record *rec, struct error *e)
{
    struct doc_build b = {0};
    json_t *o = doc_object(&b);
    struct opt_f64 start = {(double)rec->start_time_s.v, rec->start_time_s.known};
    doc_put(&b, o, "time", time_json(rec->time_ms));
    doc_put(&b, o, "host", doc_json_text(rec->host));
    doc_put(&b, o, "gpu", json_integer(rec->gpu_index));
    doc_put(&b, o, "pid", json_integer(rec->pid));
    doc_put(&b, o, "start_time", doc_json_time(start));
    doc_put(&b, o, "user", doc_json_str(rec->user));
    doc_put(&b, o, "name", doc_json_str(rec->name));
    doc_put(&b, o, "command", doc_json_str(rec->cmdline));
    doc_put(&b, o, "container", doc_json_str(rec->container));
    doc_put(&b, o, "gpu_memory_bytes", doc_json_u64(rec->gpu_mem_bytes));
    doc_put(&b, o, "sm_pct", opt_real(rec->sm_pct));
    return doc_finish(&b, o, e);
}

json_t *doc_audit_gpu_record(const struct audit_gpu_record *rec, struct error *e)
{
    struct doc_build b = {0};
    json_t *o = doc_object(&b);
    struct opt_f64 watts = {(double)rec->power_mw.v / 1000.0, rec->power_mw.known};
    doc_put(&b, o, "time", time_json(rec->time_ms));
    doc_put(&b, o, "host", doc_json_text(rec->host));
    doc_put(&b, o, "gpu", json_integer(rec->gpu_index));
    doc_put(&b, o, "uuid", doc_json_str(rec->uuid));
    doc_put(&b, o, "vendor", rec->vendor == VENDOR_UNKNOWN
                                 ? json_null() : json_string(model_vendor_name(rec->vendor)));
    doc_put(&b, o, "name", doc_json_str(rec->name));
    doc_put(&b, o, "memory_used_bytes", doc_json_u64(rec->mem_used_bytes));
    doc_put(&b, o, "memory_total_bytes", doc_json_u64(rec->mem_total_bytes));
    doc_put(&b, o, "utilization_pct", opt_real(rec->util_pct));
    doc_put(&b, o, "temperature_c", doc_json_i64(rec->temp_c));
    doc_put(&b, o, "power_w", opt_real(watts));
    return doc_finish(&b, o, e);
}

struct collect {
    json_t *records;
    struct error *e;
};

static int collect_proc(const struct audit_proc_record *rec, void *arg)
{
    struct collect *c = arg;
    json_t *o = doc_audit_proc_record(rec, c->e);
    return !o || json_array_append_new(c->records, o) < 0 ? -ENOMEM : 0;
}

static int collect_gpu(const struct audit_gpu_record *rec, void *arg)
{
    struct collect *c = arg;
    json_t *o = doc_audit_gpu_record(rec, c->e);
    return !o || json_array_append_new(c->records, o) < 0 ? -ENOMEM : 0;
}

json_t *doc_audit_query_build(struct audit_db *db, const struct doc_audit_query_request *r,
                              struct error *e)
{
    json_t *root = doc_audit_query_head(r, e);
    struct collect c = {json_array(), e};
    int rc = root && c.records ? 0 : -ENOMEM;
    if (rc == 0 && db)
        rc = r->gpus ? audit_query_gpus(db, r->filter, collect_gpu, &c, e)
                     : audit_query_processes(db, r->filter, collect_proc, &c, e);
    if (rc == 0 && json_object_set_new(root, doc_audit_query_key(r), c.records) == 0)
        return root;
    if (rc == 0)
        c.records = NULL;    /* set_new released it */
    if (rc == 0 || rc == -ENOMEM)
        error_set(e, -ENOMEM, "out of memory while building a JSON document");
    json_decref(c.records);
    json_decref(root);
    return NULL;
}

/* ---- summary ----------------------------------------------------------------------- */

static json_t *usage_json(struct doc_build *b, const struct audit_usage *u, size_t n,
                          const char *key)
{
    json_t *a = doc_array(b);
    for (size_t i = 0; a && i < n; i++) {
        json_t *o = doc_object(b);
        doc_put(b, o, key, doc_json_text(u[i].key));
        doc_put(b, o, "rows", json_integer((json_int_t)u[i].rows));
        doc_put(b, o, "gpu_memory_gib_hours", real(u[i].gpu_mem_gib_hours));
        doc_put(b, o, "sm_pct_hours", real(u[i].sm_pct_hours));
        doc_put(b, o, "peak_memory_bytes", doc_json_u64(u[i].peak_mem_bytes));
        doc_append(b, a, o);
    }
    return a;
}

static json_t *gpus_json(struct doc_build *b, const struct audit_summary *s)
{
    json_t *a = doc_array(b);
    for (size_t i = 0; a && i < s->gpu_count; i++) {
        const struct audit_gpu_usage *g = &s->gpus[i];
        json_t *o = doc_object(b);
        doc_put(b, o, "host", doc_json_text(g->host));
        doc_put(b, o, "gpu", json_integer(g->gpu_index));
        doc_put(b, o, "uuid", doc_json_str(g->uuid));
        doc_put(b, o, "name", doc_json_str(g->name));
        doc_put(b, o, "rows", json_integer((json_int_t)g->rows));
        doc_put(b, o, "utilization_avg_pct", opt_real(g->util_avg_pct));
        doc_put(b, o, "utilization_peak_pct", opt_real(g->util_peak_pct));
        doc_put(b, o, "memory_peak_bytes", doc_json_u64(g->mem_peak_bytes));
        doc_append(b, a, o);
    }
    return a;
}

static json_t *hours_json(struct doc_build *b, const struct audit_summary *s)
{
    json_t *a = doc_array(b);
    for (int h = 0; a && h < 24; h++) {
        const struct audit_hour_bin *bin = &s->hours[h];
        json_t *o = doc_object(b);
        doc_put(b, o, "hour", json_integer(bin->hour));
        doc_put(b, o, "process_rows", json_integer((json_int_t)bin->proc_rows));
        doc_put(b, o, "gpu_memory_gib_hours", real(bin->gpu_mem_gib_hours));
        doc_put(b, o, "sm_pct_hours", real(bin->sm_pct_hours));
        doc_put(b, o, "utilization_avg_pct", opt_real(bin->util_avg_pct));
        doc_append(b, a, o);
    }
    return a;
}

static json_t *busiest_json(struct doc_build *b, const struct audit_summary *s)
{
    json_t *a = doc_array(b);
    for (size_t i = 0; a && i < s->busiest_count; i++) {
        const struct audit_period *p = &s->busiest[i];
        json_t *o = doc_object(b);
        doc_put(b, o, "start", time_json(p->start_ms));
        doc_put(b, o, "end", time_json(p->end_ms));
        doc_put(b, o, "process_rows", json_integer((json_int_t)p->proc_rows));
        doc_put(b, o, "gpu_memory_gib_hours", real(p->gpu_mem_gib_hours));
        doc_put(b, o, "sm_pct_hours", real(p->sm_pct_hours));
        doc_put(b, o, "utilization_avg_pct", opt_real(p->util_avg_pct));
        doc_append(b, a, o);
    }
    return a;
}

json_t *doc_audit_summary_build(const struct audit_summary *s, struct error *e)
{
    struct doc_build b = {0};
    json_t *o = doc_object(&b);
    doc_put(&b, o, "from", time_json(s->from_ms));
    doc_put(&b, o, "to", time_json(s->to_ms));
    doc_put(&b, o, "samples", json_integer((json_int_t)s->samples));
    doc_put(&b, o, "process_rows", json_integer((json_int_t)s->proc_rows));
    doc_put(&b, o, "gpu_rows", json_integer((json_int_t)s->gpu_rows));
    doc_put(&b, o, "first", opt_time(s->first_ms));
    doc_put(&b, o, "last", opt_time(s->last_ms));
    doc_put(&b, o, "top_users", usage_json(&b, s->users, s->user_count, "user"));
    doc_put(&b, o, "top_processes", usage_json(&b, s->processes, s->process_count, "name"));
    doc_put(&b, o, "gpus", gpus_json(&b, s));
    doc_put(&b, o, "hourly", hours_json(&b, s));
    doc_put(&b, o, "busiest", busiest_json(&b, s));
    return doc_finish(&b, o, e);
}
