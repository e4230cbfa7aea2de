/* audit_jsonl.c - gpu-kill's audit.jsonl: parsing one line, importing a
 * file, and exporting history in the same shape.
 *
 * gpu-kill appends, per snapshot, one record per GPU (pid null) followed
 * by one record per process on it, all with the snapshot's timestamp.  The
 * parser takes outside input (a buffer and a length, fuzzed by
 * fuzz/fuzz_audit_jsonl.c) and is strict about types and ranges, so a bad
 * line is refused with its reason instead of storing a wrong figure.
 * Where gpu-kill invented zeros (process utilisation, temperature, power)
 * nothing is read; where gpuctl knows nothing, export writes null.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "store/audit_internal.h"

/* ------------------------------------------------------------ time */

static bool digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dim[m - 1];
}

/* RFC 3339: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM). */
static bool parse_rfc3339(const char *s, size_t n, int64_t *ms)
{
    int y, mo, d, h, mi, sec;
    if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
        s[13] != ':' || s[16] != ':' || !digits(s, 4, &y) || !digits(s + 5, 2, &mo) ||
        !digits(s + 8, 2, &d) || !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) ||
        !digits(s + 17, 2, &sec))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
        return false;
    size_t i = 19;
    int frac_ms = 0;
    if (i < n && s[i] == '.') {
        size_t start = ++i;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (i - start < 3)
                frac_ms = frac_ms * 10 + (s[i] - '0');
        if (i == start)
            return false;
        for (size_t k = i - start; k < 3; k++)
            frac_ms *= 10;
    }
    int offset_min = 0;
    if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh, om;
        if (!digits(s + i + 1, 2, &oh) || !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return false;
        offset_min = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
        i += 6;
    }
    if (i != n)
        return false;
    if (sec == 60)
        sec = 59;   /* a leap second is stored as the second before it */
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
                   offset_min * 60;
    *ms = secs * 1000 + frac_ms;
    return true;
}

/* ------------------------------------------------------------ fields */

/* A string field (null or missing: ""); false when of another type. */
static bool get_str(json_t *o, const char *key, char *out, size_t size)
{
    json_t *v = json_object_get(o, key);
    out[0] = '\0';
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v))
        return false;
    str_copy(out, size, json_string_value(v));
    return true;
}

/* A number field within [lo, hi]; null or missing leaves *known false. */
static bool get_num(json_t *o, const char *key, double lo, double hi, double *out, bool *known)
{
    json_t *v = json_object_get(o, key);
    *known = false;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_number(v))
        return false;
    double d = json_number_value(v);
    if (!(d >= lo && d <= hi))
        return false;
    *out = d;
    *known = true;
    return true;
}

static int bad(struct error *e, const char *key, const char *what)
{
    return error_set(e, -ERROR_PARSE, "\"%s\" %s", key, what);
}

static int parse_gpu_fields(json_t *o, struct audit_jsonl_record *r, struct error *e)
{
    double d;
    bool known;
    if (!get_num(o, "utilization_pct", 0, 100, &d, &known))
        return bad(e, "utilization_pct", "must be a number from 0 to 100 or null");
    if (known)
        OPT_SET(r->util_pct, d);
    if (!get_num(o, "temperature_c", -273, 1000, &d, &known))
        return bad(e, "temperature_c", "must be a number of degrees or null");
    if (known)
        OPT_SET(r->temp_c, (int64_t)(d < 0 ? d - 0.5 : d + 0.5));
    if (!get_num(o, "power_w", 0, 1e6, &d, &known))
        return bad(e, "power_w", "must be a number of watts, 0 or more, or null");
    if (known)
        OPT_SET(r->power_mw, (uint64_t)(d * 1000 + 0.5));
    return 0;
}

static int parse_process_fields(json_t *o, struct audit_jsonl_record *r, struct error *e)
{
    double d;
    bool known;
    if (!get_str(o, "user", r->user, sizeof r->user))
        return bad(e, "user", "must be a string or null");
    if (!get_str(o, "process_name", r->process_name, sizeof r->process_name))
        return bad(e, "process_name", "must be a string or null");
    if (!get_str(o, "container", r->container, sizeof r->container))
        return bad(e, "container", "must be a string or null");
    if (!get_num(o, "sm_pct", 0, 100, &d, &known))
        return bad(e, "sm_pct", "must be a number from 0 to 100 or null");
    if (known)
        OPT_SET(r->util_pct, d);
    if (!get_num(o, "start_time", 0, 1e11, &d, &known) || (known && d != (double)(int64_t)d))
        return bad(e, "start_time", "must be whole epoch seconds or null");
    if (known)
        OPT_SET(r->start_time_s, (int64_t)d);
    json_t *cmd = json_object_get(o, "command");
    if (cmd && !json_is_null(cmd)) {
        if (!json_is_string(cmd))
            return bad(e, "command", "must be a string or null");
        if (!(r->command = strdup(json_string_value(cmd))))
            return error_set(e, -ENOMEM, "out of memory");
    }
    return 0;
}

/* What gpuctl's export adds to gpu-kill's fields: the exact memory in KiB
 * (null: unknown), and "unknown", the gpu-kill fields written as 0 for
 * want of a value.  Names this version does not know are ignored. */
static int parse_gpuctl_extras(json_t *o, struct audit_jsonl_record *r, struct error *e)
{
    json_t *kib = json_object_get(o, "memory_used_kib");
    if (kib) {
        if (!json_is_null(kib) &&
            (!json_is_integer(kib) || json_integer_value(kib) < 0 ||
             json_integer_value(kib) > (json_int_t)1 << 50))
            return bad(e, "memory_used_kib", "must be a whole number of KiB, 0 or more, or null");
        r->mem_bytes = (struct opt_u64){0};
        if (!json_is_null(kib))
            OPT_SET(r->mem_bytes, (uint64_t)json_integer_value(kib) * 1024);
    }
    json_t *unknown = json_object_get(o, "unknown");
    if (!unknown || json_is_null(unknown))
        return 0;
    if (!json_is_array(unknown))
        return bad(e, "unknown", "must be a list of field names");
    size_t i;
    json_t *name;
    json_array_foreach(unknown, i, name) {
        const char *n = json_string_value(name);
        if (!n)
            return bad(e, "unknown", "must be a list of field names");
        if (strcmp(n, "memory_used_mb") == 0 && !kib)
            r->mem_bytes = (struct opt_u64){0};
        else if (strcmp(n, "utilization_pct") == 0 && !r->is_process)
            r->util_pct = (struct opt_f64){0};
        else if (strcmp(n, "temperature_c") == 0)
            r->temp_c = (struct opt_i64){0};
        else if (strcmp(n, "power_w") == 0)
            r->power_mw = (struct opt_u64){0};
    }
    return 0;
}

static int parse_object(json_t *o, struct audit_jsonl_record *r, struct error *e)
{
    json_t *ts = json_object_get(o, "timestamp");
    if (!ts)
        return error_set(e, -ERROR_PARSE, "no \"timestamp\"");
    if (!json_is_string(ts) ||
        !parse_rfc3339(json_string_value(ts), json_string_length(ts), &r->time_ms))
        return bad(e, "timestamp", "must be an RFC 3339 time such as 2025-01-31T12:00:00Z");
    json_t *gi = json_object_get(o, "gpu_index");
    if (!gi)
        return error_set(e, -ERROR_PARSE, "no \"gpu_index\"");
    if (!json_is_integer(gi) || json_integer_value(gi) < 0 || json_integer_value(gi) > 65535)
        return bad(e, "gpu_index", "must be a whole number from 0 to 65535");
    r->gpu_index = (int)json_integer_value(gi);
    if (!get_str(o, "gpu_name", r->gpu_name, sizeof r->gpu_name))
        return bad(e, "gpu_name", "must be a string or null");
    if (!get_str(o, "gpu_uuid", r->gpu_uuid, sizeof r->gpu_uuid))
        return bad(e, "gpu_uuid", "must be a string or null");
    if (!get_str(o, "host", r->host, sizeof r->host))
        return bad(e, "host", "must be a string or null");
    json_t *id = json_object_get(o, "id");
    if (id && !json_is_null(id) && !json_is_integer(id))
        return bad(e, "id", "must be a whole number or null");
    double mb;
    bool known;
    if (!get_num(o, "memory_used_mb", 0, 1e12, &mb, &known))
        return bad(e, "memory_used_mb", "must be a number of MiB, 0 or more, or null");
    if (known)
        OPT_SET(r->mem_bytes, (uint64_t)(mb * 1048576.0 + 0.5));
    json_t *pid = json_object_get(o, "pid");
    int rc;
    if (!pid || json_is_null(pid)) {
        rc = parse_gpu_fields(o, r, e);
    } else {
        if (!json_is_integer(pid) || json_integer_value(pid) < 1 ||
            json_integer_value(pid) > 4194304)
            return bad(e, "pid", "must be a process id or null");
        r->is_process = true;
        r->pid = (pid_t)json_integer_value(pid);
        rc = parse_process_fields(o, r, e);
    }
    return rc ? rc : parse_gpuctl_extras(o, r, e);
}

int audit_jsonl_parse(const char *buf, size_t len, struct audit_jsonl_record *out,
                      struct error *e)
{
    memset(out, 0, sizeof *out);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    json_error_t jerr;
    json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o)
        return error_set(e, -ERROR_PARSE, "not JSON (column %d: %s)", jerr.column, jerr.text);
    int rc = json_is_object(o) ? parse_object(o, out, e)
                               : error_set(e, -ERROR_PARSE, "not a JSON object");
    json_decref(o);
    return rc;
}

void audit_jsonl_record_clear(struct audit_jsonl_record *r)
{
    if (!r)
        return;
    free(r->command);
    r->command = NULL;
}

/* ------------------------------------------------------------ import */

#define IMPORT_BATCH 512       /* samples per transaction */

struct import_batch {
    struct audit_jsonl_record *recs;
    size_t count, cap;
    size_t sample_starts[IMPORT_BATCH + 1];
    size_t samples;
};

static void batch_reset(struct import_batch *b)
{
    for (size_t i = 0; i < b->count; i++)
        audit_jsonl_record_clear(&b->recs[i]);
    b->count = 0;
    b->samples = 0;
}

/* Takes the samples that were already stored out of the figures. */
static void count_skipped(const struct import_batch *b, const bool *skipped,
                          struct audit_import_stats *st)
{
    for (size_t k = 0; k < b->samples; k++) {
        if (!skipped[k])
            continue;
        st->samples--;
        st->skipped_samples++;
        for (size_t i = b->sample_starts[k]; i < b->sample_starts[k + 1]; i++) {
            if (b->recs[i].is_process)
                st->process_records--;
            else
                st->gpu_records--;
            st->skipped_records++;
        }
    }
}

/* Writes the batch's samples in one transaction; those already stored
 * (the same host and time) are skipped. */
static int batch_flush(struct audit_db *db, struct import_batch *b, struct audit_import_stats *stats,
                       struct error *e)
{
    if (b->samples == 0)
        return 0;
    b->sample_starts[b->samples] = b->count;
    struct audit_sample *s = calloc(b->samples, sizeof *s);
    struct audit_gpu_record *g = calloc(b->count + 1, sizeof *g);
    struct audit_proc_record *p = calloc(b->count + 1, sizeof *p);
    bool *skipped = calloc(b->samples, sizeof *skipped);
    int rc = s && g && p && skipped ? 0 : error_set(e, -ENOMEM, "out of memory importing");
    size_t ng = 0, np = 0;
    for (size_t k = 0; !rc && k < b->samples; k++) {
        const struct audit_jsonl_record *first = &b->recs[b->sample_starts[k]];
        s[k] = (struct audit_sample){.time_ms = first->time_ms,
                                     .host = first->host[0] ? first->host : NULL,
                                     .gpus = g + ng, .procs = p + np};
        for (size_t i = b->sample_starts[k]; i < b->sample_starts[k + 1]; i++) {
            const struct audit_jsonl_record *r = &b->recs[i];
            if (r->is_process) {
                p[np++] = (struct audit_proc_record){
                    .gpu_index = r->gpu_index, .pid = r->pid, .start_time_s = r->start_time_s,
                    .user = r->user, .name = r->process_name, .cmdline = r->command,
                    .container = r->container, .gpu_mem_bytes = r->mem_bytes,
                    .sm_pct = r->util_pct};
                s[k].proc_count++;
            } else {
                g[ng++] = (struct audit_gpu_record){
                    .gpu_index = r->gpu_index, .uuid = r->gpu_uuid, .vendor = VENDOR_UNKNOWN,
                    .name = r->gpu_name, .mem_used_bytes = r->mem_bytes, .util_pct = r->util_pct,
                    .temp_c = r->temp_c, .power_mw = r->power_mw};
                s[k].gpu_count++;
            }
        }
    }
    if (!rc)
        rc = audit_write_samples(db, s, b->samples, 0, skipped, e);
    if (!rc)
        count_skipped(b, skipped, stats);
    free(skipped);
    free(s);
    free(g);
    free(p);
    batch_reset(b);
    return rc;
}

static int batch_add(struct audit_db *db, struct import_batch *b, struct audit_jsonl_record *r,
                     struct audit_import_stats *st, struct error *e)
{
    const struct audit_jsonl_record *last = b->count ? &b->recs[b->count - 1] : NULL;
    bool new_sample = !last || last->time_ms != r->time_ms || strcmp(last->host, r->host) != 0;
    if (new_sample && b->samples == IMPORT_BATCH) {
        int rc = batch_flush(db, b, st, e);
        if (rc)
            return rc;
    }
    if (b->count == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        struct audit_jsonl_record *n = realloc(b->recs, cap * sizeof *n);
        if (!n)
            return error_set(e, -ENOMEM, "out of memory importing");
        b->recs = n;
        b->cap = cap;
    }
    if (new_sample || b->samples == 0) {
        b->sample_starts[b->samples++] = b->count;
        st->samples++;
    }
    b->recs[b->count++] = *r;
    r->command = NULL;   /* moved */
    if (r->is_process)
        st->process_records++;
    else
        st->gpu_records++;
    return 0;
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return false;
    return true;
}

/* One record's bytes: parsed, then added to the batch, or told to bad_cb. */
static int import_record(struct audit_db *db, struct import_batch *b, const char *buf,
                         size_t len, size_t line, audit_bad_line_cb bad_cb, void *arg,
                         struct audit_import_stats *st, struct error *e)
{
    struct audit_jsonl_record r;
    struct error le = {0};
    if (audit_jsonl_parse(buf, len, &r, &le) != 0) {
        audit_jsonl_record_clear(&r);
        st->bad_lines++;
        if (bad_cb)
            bad_cb(line, le.msg, arg);
        return 0;
    }
    int rc = batch_add(db, b, &r, st, e);
    audit_jsonl_record_clear(&r);
    return rc;
}

static int import_lines(struct audit_db *db, struct import_batch *b, FILE *in,
                        audit_bad_line_cb bad_cb, void *arg, struct audit_import_stats *st,
                        struct error *e)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while (!rc && (n = getline(&line, &cap, in)) >= 0) {
        st->lines++;
        if (!blank(line, (size_t)n))
            rc = import_record(db, b, line, (size_t)n, st->lines, bad_cb, arg, st, e);
    }
    free(line);
    if (!rc && ferror(in))
        rc = error_set(e, -EIO, "reading failed after line %zu", st->lines);
    return rc;
}

static size_t skip_space(const char *buf, size_t len, size_t pos)
{
    while (pos < len && (buf[pos] == ' ' || buf[pos] == '\t' || buf[pos] == '\r' ||
                         buf[pos] == '\n'))
        pos++;
    return pos;
}

int audit_json_array_next(const char *buf, size_t len, size_t *pos, size_t *start,
                          size_t *elem_len, struct error *e)
{
    size_t p = skip_space(buf, len, *pos);
    if (*pos == 0) {
        if (p >= len || buf[p] != '[')
            return error_set(e, -ERROR_PARSE, "not a JSON array");
        p = skip_space(buf, len, p + 1);
        if (p < len && buf[p] == ']')
            goto closing;
    } else if (p < len && buf[p] == ',') {
        p = skip_space(buf, len, p + 1);
    } else if (p < len && buf[p] == ']') {
        goto closing;
    } else {
        *pos = p;
        return error_set(e, -ERROR_PARSE, "expected \",\" or \"]\" after a record");
    }
    json_error_t jerr;
    json_t *v = json_loadb(buf + p, len - p, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &jerr);
    if (!v) {
        *pos = p;
        return error_set(e, -ERROR_PARSE, "not JSON (%s)", jerr.text);
    }
    json_decref(v);
    *start = p;
    *elem_len = (size_t)jerr.position;
    *pos = p + (size_t)jerr.position;
    return 1;
closing:
    *pos = skip_space(buf, len, p + 1);
    if (*pos != len)
        return error_set(e, -ERROR_PARSE, "text after the closing \"]\"");
    return 0;
}

static int read_all(FILE *in, char **out, size_t *len, struct error *e)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, in);
        if (n < cap)
            break;
        char *bigger = realloc(buf, cap * 2);
        if (!bigger)
            free(buf);
        buf = bigger;
        cap *= 2;
    }
    if (!buf)
        return error_set(e, -ENOMEM, "out of memory reading the file");
    if (ferror(in)) {
        free(buf);
        return error_set(e, -EIO, "reading failed");
    }
    *out = buf;
    *len = n;
    return 0;
}

static size_t count_newlines(const char *buf, size_t from, size_t to)
{
    size_t n = 0;
    for (size_t i = from; i < to; i++)
        n += buf[i] == '\n';
    return n;
}

/* A JSON array of records (gpu-kill's `--audit --output json`): each
 * element is a record, told by the line it starts on.  A bad element is
 * skipped; text that is not JSON ends the file, since where the next
 * element starts cannot be known. */
static int import_array(struct audit_db *db, struct import_batch *b, FILE *in,
                        audit_bad_line_cb bad_cb, void *arg, struct audit_import_stats *st,
                        struct error *e)
{
    char *buf = NULL;
    size_t len = 0, pos = 0, start = 0, elen = 0, line = 1, counted = 0;
    int rc = read_all(in, &buf, &len, e), more;
    while (!rc) {
        struct error ae = {0};
        more = audit_json_array_next(buf, len, &pos, &start, &elen, &ae);
        size_t at = more > 0 ? start : pos < len ? pos : len;
        line += count_newlines(buf, counted, at);
        counted = at;
        if (more <= 0) {
            if (more < 0) {
                st->bad_lines++;
                if (bad_cb)
                    bad_cb(line, ae.msg, arg);
            }
            break;
        }
        rc = import_record(db, b, buf + start, elen, line, bad_cb, arg, st, e);
    }
    if (len)
        st->lines = line + count_newlines(buf, counted, len) - (buf[len - 1] == '\n');
    free(buf);
    return rc;
}

/* '[' as the first character that is not white space: a JSON array. */
static bool starts_array(FILE *in)
{
    int c;
    while ((c = getc(in)) == ' ' || c == '\t' || c == '\r' || c == '\n')
        ;
    if (c == EOF)
        return false;
    ungetc(c, in);
    return c == '[';
}

int audit_import_jsonl(struct audit_db *db, FILE *in, audit_bad_line_cb bad_cb, void *arg,
                       struct audit_import_stats *st, struct error *e)
{
    memset(st, 0, sizeof *st);
    struct import_batch b = {0};
    int rc = starts_array(in) ? import_array(db, &b, in, bad_cb, arg, st, e)
                              : import_lines(db, &b, in, bad_cb, arg, st, e);
    if (!rc)
        rc = batch_flush(db, &b, st, e);
    batch_reset(&b);
    free(b.recs);
    return rc;
}

/* ------------------------------------------------------------ export */

static json_t *text_or_null(const unsigned char *s)
{
    return s && *s ? json_string((const char *)s) : json_null();
}

/* RFC 3339 UTC with milliseconds, as chrono writes it (fewer digits). */
static json_t *timestamp(int64_t ms)
{
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    char buf[48];
    if (!gmtime_r(&secs, &tm))
        return json_null();
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof buf - n, ".%03dZ", (int)(ms - (int64_t)secs * 1000));
    return json_string(buf);
}

static void put(json_t *o, const char *key, json_t *v)
{
    if (v)
        json_object_set_new(o, key, v);
}

/* gpu-kill's reader (serde, struct AuditRecord) declares memory_used_mb
 * u32, utilization_pct f32, temperature_c i32 and power_w f32: plain
 * numbers, never null, and its reader stops at the first line that breaks
 * that.  A value gpuctl does not know is written as 0, as gpu-kill itself
 * writes what it did not measure, and its key is listed in "unknown" (a
 * key gpu-kill ignores) so that gpuctl's own import keeps it unknown. */
static void put_required(json_t *o, json_t *unknown, const char *key, bool known, json_t *v)
{
    if (!known) {
        json_t *zero = json_is_integer(v) ? json_integer(0) : json_real(0.0);
        json_decref(v);
        v = zero;
        json_array_append_new(unknown, json_string(key));
    }
    put(o, key, v);
}

/* Columns: 0 t, 1 host, 2 kind (0 GPU, 1 process), 3 gpu idx, 4 gpu name,
 * 5 uuid, 6 pid, 7 start, 8 user, 9 name, 10 cmd, 11 container,
 * 12 mem kib, 13 util/sm, 14 temp, 15 power mw */
static json_t *export_object(sqlite3_stmt *st)
{
    bool proc = sqlite3_column_int(st, 2) == 1;
    int64_t t = sqlite3_column_int64(st, 0);
    json_t *o = json_object(), *unknown = json_array();
    if (!o || !unknown) {
        json_decref(o);
        json_decref(unknown);
        return NULL;
    }
#define KNOWN(i) (sqlite3_column_type(st, (i)) != SQLITE_NULL)
    int64_t kib = sqlite3_column_int64(st, 12);
    put(o, "id", json_integer(t + (proc ? sqlite3_column_int64(st, 6) : 0)));
    put(o, "timestamp", timestamp(t));
    put(o, "gpu_index", json_integer(sqlite3_column_int(st, 3)));
    put(o, "gpu_name", json_string((const char *)sqlite3_column_text(st, 4)));
    put(o, "pid", proc ? json_integer(sqlite3_column_int64(st, 6)) : json_null());
    put(o, "user", proc ? text_or_null(sqlite3_column_text(st, 8)) : json_null());
    put(o, "process_name", proc ? text_or_null(sqlite3_column_text(st, 9)) : json_null());
    put_required(o, unknown, "memory_used_mb", KNOWN(12), json_integer((kib + 512) / 1024));
    /* on a process record gpu-kill's zeros are its own "not measured" */
    put_required(o, unknown, "utilization_pct", proc || KNOWN(13),
                 json_real(proc ? 0.0 : sqlite3_column_double(st, 13)));
    put_required(o, unknown, "temperature_c", proc || KNOWN(14),
                 json_integer(proc ? 0 : sqlite3_column_int64(st, 14)));
    put_required(o, unknown, "power_w", proc || KNOWN(15),
                 json_real(proc ? 0.0 : (double)sqlite3_column_int64(st, 15) / 1000.0));
    put(o, "container", proc ? text_or_null(sqlite3_column_text(st, 11)) : json_null());
    put(o, "host", json_string((const char *)sqlite3_column_text(st, 1)));
    put(o, "gpu_uuid", text_or_null(sqlite3_column_text(st, 5)));
    /* the exact figure behind the rounded memory_used_mb */
    put(o, "memory_used_kib", KNOWN(12) ? json_integer(kib) : json_null());
    if (proc) {
        put(o, "start_time", KNOWN(7) ? json_integer(sqlite3_column_int64(st, 7)) : json_null());
        put(o, "command", text_or_null(sqlite3_column_text(st, 10)));
        put(o, "sm_pct", KNOWN(13) ? json_real(sqlite3_column_double(st, 13)) : json_null());
    }
#undef KNOWN
    if (json_array_size(unknown))
        put(o, "unknown", unknown);
    else
        json_decref(unknown);
    return o;
}

static int export_rows(struct audit_db *db, sqlite3_stmt *st, audit_line_cb cb, void *arg,
                       struct error *e)
{
    int step, rc = 0;
    while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = export_object(st);
        char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(o);
        if (!text)
            return error_set(e, -ENOMEM, "out of memory exporting");
        rc = cb(text, strlen(text), arg);
        free(text);
    }
    if (!rc && step != SQLITE_DONE)
        rc = audit_sql_error(db, e, "exporting the audit database");
    return rc;
}

int audit_export_jsonl(struct audit_db *db, const struct audit_filter *f, audit_line_cb cb,
                       void *arg, struct error *e)
{
    audit_catch_up(db);
    bool filtered = f->user || f->process;
    int rc = f->process ? audit_select_names(db, f->process, e) : 0;
    if (rc)
        return rc;
    char sql[2600];
    snprintf(sql, sizeof sql,
             "SELECT s.t, h.name, 0, d.idx, d.name, d.uuid, NULL, NULL, NULL, NULL, NULL, NULL,"
             " g.mem_used_kib, g.util_pct, g.temp_c, g.power_mw, s.id"
             " FROM samples s JOIN gpu_samples g ON g.sample_id = s.id"
             " JOIN devices d ON d.id = g.device_id JOIN hosts h ON h.id = s.host_id"
             " WHERE s.t >= ?1 AND s.t < ?2 AND NOT ?4"
             " UNION ALL "
             "SELECT s.t, h.name, 1, p.gpu, coalesce((SELECT d.name FROM gpu_samples g"
             " JOIN devices d ON d.id = g.device_id WHERE g.sample_id = s.id AND d.idx = p.gpu),"
             " ''), coalesce((SELECT d.uuid FROM gpu_samples g JOIN devices d"
             " ON d.id = g.device_id WHERE g.sample_id = s.id AND d.idx = p.gpu), ''),"
             " p.pid, p.start_s, u.name, n.name, c.text, k.name, ps.mem_kib, ps.sm_pct,"
             " NULL, NULL, s.id"
             " FROM samples s JOIN proc_samples ps ON ps.sample_id = s.id"
             " JOIN procs p ON p.id = ps.proc_id JOIN hosts h ON h.id = s.host_id"
             " JOIN users u ON u.id = p.user_id JOIN pnames n ON n.id = p.name_id"
             " JOIN cmdlines c ON c.id = p.cmd_id JOIN containers k ON k.id = p.container_id"
             " WHERE s.t >= ?1 AND s.t < ?2%s%s"
             " ORDER BY 1, 17, 4, 3, 7",
             f->user ? " AND u.name = ?3" : "",
             f->process ? " AND p.name_id IN (SELECT id FROM temp.audit_sel_name)" : "");
    sqlite3_stmt *st;
    rc = audit_prepare(db, sql, &st, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, f->from_ms);
    sqlite3_bind_int64(st, 2, f->to_ms);
    if (f->user)
        sqlite3_bind_text(st, 3, f->user, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 4, filtered);
    rc = export_rows(db, st, cb, arg, e);
    sqlite3_finalize(st);
    return rc;
}
