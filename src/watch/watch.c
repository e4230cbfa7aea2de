/* watch.c - one snapshot into the rows of `gpuctl watch`, the --match
 * pattern, and the rules for an output file that already exists.
 *
 * A row is one GPU process on one GPU at one sample; unknown values are
 * empty CSV fields or JSON nulls, never zeros.  Sleeping, signals and
 * flushing belong to the CLI loop; the schedule is schedule.c's.
 */
#include "watch/watch.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <jansson.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/csv.h"
#include "core/str.h"
#include "sources/procfs.h"

#define MIB (1024.0 * 1024.0)
#define MAX_CPUS 1024

const char *const watch_columns[WATCH_EXTENDED_COLUMNS] = {
    "timestamp", "gpu_index", "pid", "cmd", "gpu_mem_mib", "sm_util_pct", "mem_util_pct",
    "sys_used_mib", "cpu_cores", "cpu_pct", "host_rss_mib",
};

/* ---- --match ------------------------------------------------------------------------ */

int watch_matcher_init(struct watch_matcher *m, const char *pattern, struct error *e)
{
    memset(m, 0, sizeof *m);
    int code;
    PCRE2_SIZE offset;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF,
                                   &code, &offset, NULL);
    if (re) {
        m->re = re;
        m->match_data = pcre2_match_data_create_from_pattern(re, NULL);
        if (!m->match_data) {
            watch_matcher_clear(m);
            return error_set(e, -ENOMEM, "out of memory compiling '%s'", pattern);
        }
        return 0;
    }
    PCRE2_UCHAR msg[200];
    if (pcre2_get_error_message(code, msg, sizeof msg) < 0)
        str_copy((char *)msg, sizeof msg, "invalid pattern");
    snprintf(m->why, sizeof m->why, "%s at position %zu", (const char *)msg, (size_t)offset + 1);
    m->literal = strdup(pattern);
    if (!m->literal)
        return error_set(e, -ENOMEM, "out of memory keeping '%s'", pattern);
    return 0;
}

bool watch_matcher_hits(const struct watch_matcher *m, const char *text)
{
    if (!text)
        return false;
    if (m->literal)
        return strstr(text, m->literal) != NULL;
    return pcre2_match(m->re, (PCRE2_SPTR)text, strlen(text), 0, 0, m->match_data, NULL) >= 0;
}

void watch_matcher_clear(struct watch_matcher *m)
{
    if (!m)
        return;
    pcre2_match_data_free(m->match_data);
    pcre2_code_free(m->re);
    free(m->literal);
    memset(m, 0, sizeof *m);
}

/* ---- the output file ------------------------------------------------------------------ */

/* The first line of the file, without its line end (malloc'd, caller
 * frees); NULL in *line for an empty file. */
static int first_line(FILE *f, char **line)
{
    size_t cap = 0;
    *line = NULL;
    errno = 0;
    ssize_t n = getline(line, &cap, f);
    if (n < 0) {
        free(*line);
        *line = NULL;
        return errno ? -errno : 0;
    }
    (*line)[strcspn(*line, "\r\n")] = '\0';
    return 0;
}

static void header_text(bool extended, char *buf, size_t size)
{
    size_t n = extended ? WATCH_EXTENDED_COLUMNS : WATCH_BASIC_COLUMNS, used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? "," : "", watch_columns[i]);
}

/* JSON lines "have the same header" when the first object has exactly
 * these keys. */
static bool jsonl_keys_match(const char *line, bool extended)
{
    size_t n = extended ? WATCH_EXTENDED_COLUMNS : WATCH_BASIC_COLUMNS;
    json_t *o = json_loads(line, JSON_DECODE_ANY, NULL);
    bool same = json_is_object(o) && json_object_size(o) == n;
    for (size_t i = 0; same && i < n; i++)
        same = json_object_get(o, watch_columns[i]) != NULL;
    json_decref(o);
    return same;
}

static int refuse_columns(const char *path, const char *line, bool extended,
                          enum watch_format format, struct error *e)
{
    char want[256], other[256];
    header_text(extended, want, sizeof want);
    header_text(!extended, other, sizeof other);
    bool flip = format == WATCH_CSV ? strcmp(line, other) == 0 : jsonl_keys_match(line, !extended);
    const char *hint = !flip ? "" : extended ? "; drop --extended to append to it"
                                             : "; add --extended to append to it";
    if (format == WATCH_JSONL)
        return error_set(e, -EEXIST, "%s:1: the first record's keys are not those of a "
                         "watch%s log; appending would mix records (use another file%s)",
                         path, extended ? " --extended" : "", hint);
    return error_set(e, -EEXIST, "%s:1: the file's header is '%.200s', not '%s'; appending "
                     "would mix columns (use another file%s)", path, line, want, hint);
}

static int check_existing(FILE *f, const char *path, bool extended, enum watch_format format,
                          bool *has_content, struct error *e)
{
    char *line;
    int rc = first_line(f, &line);
    if (rc < 0)
        return error_set(e, rc, "cannot read %s: %s", path, strerror(-rc));
    *has_content = line != NULL;
    char want[256];
    header_text(extended, want, sizeof want);
    if (line && (format == WATCH_CSV ? strcmp(line, want) != 0 : !jsonl_keys_match(line, extended)))
        rc = refuse_columns(path, line, extended, format, e);
    free(line);
    return rc;
}

int watch_open_output(const char *path, bool append, bool extended, enum watch_format format,
                      struct outfile *out, bool *write_header, struct error *e)
{
    *write_header = false;
    int rc = append ? outfile_open_append(out, path, e) : outfile_open(out, path, e);
    if (rc < 0)
        return rc;
    bool has_content = false;
    if (append) {
        rc = check_existing(out->f, path, extended, format, &has_content, e);
        if (rc < 0) {
            outfile_discard(out);
            return rc;
        }
    }
    *write_header = format == WATCH_CSV && !has_content;
    return 0;
}

int watch_write_header(FILE *out, bool extended)
{
    return csv_write_record(out, watch_columns,
                            extended ? WATCH_EXTENDED_COLUMNS : WATCH_BASIC_COLUMNS);
}

/* ---- rows --------------------------------------------------------------------------- */

char *watch_format_cpus(const int *cpus, size_t count, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < count; i++) {
        int n = snprintf(buf + used, size - used, "%s%d", i ? "/" : "", cpus[i]);
        if (n < 0 || (size_t)n >= size - used) {
            buf[used] = '\0';
            break;
        }
        used += (size_t)n;
    }
    return buf;
}

static bool selected(const struct watch_select *sel, const struct gpu_process *gp,
                     const struct host_process *hp)
{
    if (sel->pid_count) {
        for (size_t i = 0; i < sel->pid_count; i++)
            if (sel->pids[i] == gp->pid)
                return true;
        return false;
    }
    if (sel->match)
        return hp && watch_matcher_hits(sel->match, hp->cmdline);
    return true;
}

/* The values of one row, as text; "" is unknown. */
struct row {
    char ts[32], gpu[16], pid[16], mem[32], sm[16], mbw[16];
    const char *cmd;
    char sys[32], cpus[4096], cpu_pct[32], rss[32];
    bool cpus_known;
    int cpu_list[MAX_CPUS];
    size_t cpu_count;
};

static void fmt_mib(char *buf, size_t size, struct opt_u64 v)
{
    buf[0] = '\0';
    if (v.known)
        snprintf(buf, size, "%.0f", (double)v.v / MIB);
}

static void fmt_pct(char *buf, size_t size, struct opt_f64 v)
{
    buf[0] = '\0';
    if (!v.known)
        return;
    if (v.v == (double)(long long)v.v)
        snprintf(buf, size, "%lld", (long long)v.v);
    else
        snprintf(buf, size, "%.1f", v.v);
}

static void fill_extended(struct row *r, const struct snapshot *s, const struct gpu_process *gp,
                          const struct host_process *hp)
{
    const struct host_info *h = &s->host;
    struct opt_u64 used = {0};
    if (h->mem_total_bytes.known && h->mem_available_bytes.known &&
        h->mem_total_bytes.v >= h->mem_available_bytes.v)
        OPT_SET(used, h->mem_total_bytes.v - h->mem_available_bytes.v);
    fmt_mib(r->sys, sizeof r->sys, used);
    r->cpus_known = false;
    r->cpus[0] = '\0';
    if (hp && hp->exists &&
        procfs_read_thread_cpus(gp->pid, r->cpu_list, MAX_CPUS, &r->cpu_count, NULL) == 0 &&
        r->cpu_count > 0) {
        r->cpus_known = true;
        watch_format_cpus(r->cpu_list, r->cpu_count, r->cpus, sizeof r->cpus);
    }
    fmt_pct(r->cpu_pct, sizeof r->cpu_pct, hp ? hp->cpu_pct_interval : (struct opt_f64){0});
    fmt_mib(r->rss, sizeof r->rss, hp ? hp->rss_bytes : (struct opt_u64){0});
}

static void fill_row(struct row *r, const struct snapshot *s, const struct gpu_process *gp,
                     const struct host_process *hp, bool extended)
{
    struct tm tm;
    time_t secs = s->wall.tv_sec;
    if (!localtime_r(&secs, &tm) || !strftime(r->ts, sizeof r->ts, "%Y-%m-%dT%H:%M:%S", &tm))
        r->ts[0] = '\0';
    snprintf(r->gpu, sizeof r->gpu, "%d", gp->device_index);
    snprintf(r->pid, sizeof r->pid, "%d", (int)gp->pid);
    r->cmd = hp && hp->cmdline ? hp->cmdline : hp ? hp->name : "";
    fmt_mib(r->mem, sizeof r->mem, gp->gpu_mem_bytes);
    fmt_pct(r->sm, sizeof r->sm, gp->sm_pct);
    fmt_pct(r->mbw, sizeof r->mbw, gp->mem_bw_pct);
    if (extended)
        fill_extended(r, s, gp, hp);
}

static int write_csv_row(FILE *out, const struct row *r, bool extended)
{
    const char *f[WATCH_EXTENDED_COLUMNS] = {r->ts, r->gpu, r->pid, r->cmd, r->mem, r->sm,
                                             r->mbw, r->sys, r->cpus, r->cpu_pct, r->rss};
    return csv_write_record(out, f, extended ? WATCH_EXTENDED_COLUMNS : WATCH_BASIC_COLUMNS);
}

/* JSON number from the row's text (already rounded as the CSV shows it),
 * or null when unknown. */
static json_t *num_or_null(const char *text)
{
    if (!*text)
        return json_null();
    if (!strchr(text, '.'))
        return json_integer(strtoll(text, NULL, 10));
    return json_real(strtod(text, NULL));
}

static json_t *int_or_null(const char *text)
{
    return *text ? json_integer(strtoll(text, NULL, 10)) : json_null();
}

static json_t *cpus_json(const struct row *r)
{
    if (!r->cpus_known)
        return json_null();
    json_t *a = json_array();
    for (size_t i = 0; a && i < r->cpu_count; i++)
        json_array_append_new(a, json_integer(r->cpu_list[i]));
    return a;
}

static int write_json_row(FILE *out, const struct row *r, bool extended)
{
    json_t *o = json_object();
    if (!o)
        return -ENOMEM;
    json_object_set_new(o, "timestamp", json_string(r->ts));
    json_object_set_new(o, "gpu_index", int_or_null(r->gpu));
    json_object_set_new(o, "pid", int_or_null(r->pid));
    json_object_set_new(o, "cmd", json_string(r->cmd));
    json_object_set_new(o, "gpu_mem_mib", int_or_null(r->mem));
    json_object_set_new(o, "sm_util_pct", num_or_null(r->sm));
    json_object_set_new(o, "mem_util_pct", num_or_null(r->mbw));
    if (extended) {
        json_object_set_new(o, "sys_used_mib", int_or_null(r->sys));
        json_object_set_new(o, "cpu_cores", cpus_json(r));
        json_object_set_new(o, "cpu_pct", num_or_null(r->cpu_pct));
        json_object_set_new(o, "host_rss_mib", int_or_null(r->rss));
    }
    int rc = json_dumpf(o, out, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    json_decref(o);
    if (rc < 0 || fputc('\n', out) == EOF)
        return errno ? -errno : -EIO;
    return 0;
}

int watch_write_sample(FILE *out, enum watch_format format, bool extended,
                       const struct snapshot *s, const struct watch_select *sel, size_t *rows)
{
    *rows = 0;
    struct row *r = malloc(sizeof *r);
    if (!r)
        return -ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < s->gproc_count && rc == 0; i++) {
        const struct gpu_process *gp = &s->gprocs[i];
        const struct host_process *hp = snapshot_host_process(s, gp->pid);
        if (!selected(sel, gp, hp))
            continue;
        fill_row(r, s, gp, hp, extended);
        rc = format == WATCH_CSV ? write_csv_row(out, r, extended)
                                 : write_json_row(out, r, extended);
        if (rc == 0)
            (*rows)++;
    }
    free(r);
    return rc;
}
