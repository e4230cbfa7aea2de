/* data.c - the logs `gpuctl plot` reads, turned into series.
 *
 * A file's format is recognised from its header alone (see plot_detect);
 * every later row must have that many fields, a readable timestamp and
 * numbers where numbers go, else it is skipped and counted.  An empty
 * value is a gap, not a zero.  Rows of one timestamp are combined: a
 * process on two GPUs, or several processes on one GPU with --per-gpu,
 * are summed.  Drawing is left to the renderers.
 */
#include "plot/plot.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/csv.h"
#include "core/grow.h"
#include "core/str.h"
#include "core/term.h"

#define MAX_INPUT (1u << 30)

const char *const plot_panel_titles[PLOT_PANEL_COUNT] = {
    "GPU memory (MiB)", "System memory (MiB)", "CPU (%)",
};

enum kind { KIND_PROCESS_MEM, KIND_GPU_MEM, KIND_TOTAL_MEM, KIND_SYS, KIND_RSS, KIND_CPU };

/* ---- format detection ---------------------------------------------------------------- */

static const char *const watch_names[] = {
    "timestamp", "gpu_index", "pid", "cmd", "gpu_mem_mib", "sm_util_pct", "mem_util_pct",
    "sys_used_mib", "cpu_cores", "cpu_pct", "host_rss_mib",
};
static const char *const timeline_names[] = {
    "timestamp", "elapsed_seconds", "total_rss_kib", "total_rss_mib", "process_count",
    "gpu_mem_mib",
};
static const char *const helper_optional[] = {"sys_used_mib", "cpu_cores", "cpu_pct"};

static bool names_are(const char *const *fields, size_t count, const char *const *names)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(fields[i], names[i]) != 0)
            return false;
    return true;
}

static void columns_none(struct plot_columns *c, enum plot_input input, size_t count)
{
    *c = (struct plot_columns){.input = input, .count = count, .timestamp = 0, .gpu_index = -1,
                               .pid = -1, .cmd = -1, .gpu_mem = -1, .sys_used = -1,
                               .cpu_pct = -1, .rss = -1};
}

/* timestamp,used_mib then any of sys_used_mib, cpu_cores, cpu_pct, in that
 * order, each at most once. */
static bool detect_helper(const char *const *fields, size_t count, struct plot_columns *c)
{
    if (count < 2 || strcmp(fields[0], "timestamp") != 0 || strcmp(fields[1], "used_mib") != 0)
        return false;
    columns_none(c, PLOT_INPUT_HELPER, count);
    c->gpu_mem = 1;
    size_t next = 0;
    for (size_t i = 2; i < count; i++) {
        while (next < 3 && strcmp(fields[i], helper_optional[next]) != 0)
            next++;
        if (next == 3)
            return false;
        if (next == 0)
            c->sys_used = (int)i;
        else if (next == 2)
            c->cpu_pct = (int)i;
        next++;
    }
    return true;
}

bool plot_detect(const char *const *fields, size_t count, struct plot_columns *c)
{
    if ((count == 7 || count == 11) && names_are(fields, count, watch_names)) {
        columns_none(c, count == 7 ? PLOT_INPUT_WATCH : PLOT_INPUT_WATCH_EXTENDED, count);
        c->gpu_index = 1;
        c->pid = 2;
        c->cmd = 3;
        c->gpu_mem = 4;
        if (count == 11) {
            c->sys_used = 7;
            c->cpu_pct = 9;
            c->rss = 10;
        }
        return true;
    }
    if ((count == 5 || count == 6) && names_are(fields, count, timeline_names)) {
        columns_none(c, PLOT_INPUT_TIMELINE, count);
        c->rss = 3;
        c->gpu_mem = count == 6 ? 5 : -1;
        return true;
    }
    return detect_helper(fields, count, c);
}

/* ---- values -------------------------------------------------------------------------- */

static bool parse_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (**p < '0' || **p > '9')
            return false;
        v = v * 10 + (**p - '0');
    }
    *out = v;
    return true;
}

static bool parse_zone(const char *p, bool *utc, long *offset)
{
    *utc = false;
    *offset = 0;
    if (*p == '\0')
        return true;
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
        return *utc = true;
    if (*p != '+' && *p != '-')
        return false;
    int sign = *p++ == '-' ? -1 : 1, hh, mm;
    if (!parse_digits(&p, 2, &hh))
        return false;
    if (*p == ':')
        p++;
    if (!parse_digits(&p, 2, &mm) || *p != '\0' || hh > 23 || mm > 59)
        return false;
    *utc = true;
    *offset = sign * (hh * 3600L + mm * 60L);
    return true;
}

static bool parse_epoch(const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end || errno || !isfinite(v) || v < 0 || v > 1e11)
        return false;
    *out = v;
    return true;
}

bool plot_parse_time(const char *text, double *out)
{
    const char *p = text;
    struct tm tm = {0};
    int y, mo, d, h, mi, s;
    if (!parse_digits(&p, 4, &y) || *p != '-')
        return parse_epoch(text, out);
    p++;
    if (!parse_digits(&p, 2, &mo) || *p++ != '-' || !parse_digits(&p, 2, &d) ||
        (*p != 'T' && *p != ' ') || !(p++, parse_digits(&p, 2, &h)) || *p++ != ':' ||
        !parse_digits(&p, 2, &mi) || *p++ != ':' || !parse_digits(&p, 2, &s))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return false;
    double frac = 0;
    if (*p == '.' || *p == ',') {
        double scale = 0.1;
        if (*++p < '0' || *p > '9')
            return false;
        for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
            frac += (*p - '0') * scale;
    }
    bool utc;
    long offset;
    if (!parse_zone(p, &utc, &offset))
        return false;
    tm = (struct tm){.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                     .tm_min = mi, .tm_sec = s, .tm_isdst = -1};
    time_t t = utc ? timegm(&tm) - offset : mktime(&tm);
    if (t == (time_t)-1 && !(y == 1969 || y == 1970))
        return false;
    *out = (double)t + frac;
    return true;
}

/* A number, or empty (unknown: *known false).  False for anything else. */
static bool parse_value(const char *text, double *out, bool *known)
{
    *known = false;
    if (*text == '\0')
        return true;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end || errno || !isfinite(v) || v < 0)
        return false;
    *out = v;
    *known = true;
    return true;
}

/* ---- series -------------------------------------------------------------------------- */

/* Series are found by a hash of their key (kind, file, gpu, pid), so a log
 * of many processes costs one probe per row, not a scan of every series. */
static size_t key_hash(int kind, int file, int gpu, pid_t pid)
{
    uint64_t h = (uint64_t)(uint32_t)pid * 0x9e3779b97f4a7c15ull;
    h ^= ((uint64_t)(uint32_t)gpu << 32 | (uint32_t)file) * 0xc2b2ae3d27d4eb4full;
    h ^= (uint64_t)(uint32_t)kind * 0x165667b19e3779f9ull;
    return (size_t)(h ^ (h >> 29));
}

static bool same_key(const struct plot_series *s, int kind, int file, int gpu, pid_t pid)
{
    return s->kind == kind && s->file == file && s->gpu == gpu && s->pid == pid;
}

/* The index slot holding the series of this key, or the empty one where it
 * would go. */
static size_t *index_slot(struct plot_data *d, int kind, int file, int gpu, pid_t pid)
{
    size_t k = key_hash(kind, file, gpu, pid) & (d->index_cap - 1);
    while (d->index[k] && !same_key(&d->series[d->index[k] - 1], kind, file, gpu, pid))
        k = (k + 1) & (d->index_cap - 1);
    return &d->index[k];
}

/* Keeps the index at most half full (with room for one more). */
static int index_grow(struct plot_data *d)
{
    if ((d->count + 1) * 2 <= d->index_cap)
        return 0;
    size_t cap = d->index_cap ? d->index_cap * 2 : 64;
    size_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -ENOMEM;
    free(d->index);
    d->index = slots;
    d->index_cap = cap;
    for (size_t i = 0; i < d->count; i++) {
        const struct plot_series *s = &d->series[i];
        *index_slot(d, s->kind, s->file, s->gpu, s->pid) = i + 1;
    }
    return 0;
}

static struct plot_series *find_series(struct plot_data *d, int kind, int file, int gpu,
                                       pid_t pid)
{
    if (index_grow(d) < 0)
        return NULL;
    size_t *slot = index_slot(d, kind, file, gpu, pid);
    if (*slot)
        return &d->series[*slot - 1];
    if (grow_for_one((void **)&d->series, &d->cap, d->count, sizeof *d->series, 8) < 0)
        return NULL;
    struct plot_series *s = &d->series[d->count++];
    *s = (struct plot_series){.kind = kind, .file = file, .gpu = gpu, .pid = pid};
    *slot = d->count;
    return s;
}

/* Adds v at t.  A second value from the same sample (group) is summed
 * into the point (sum) or dropped: the same figure repeated per row. */
static int add_point(struct plot_series *s, double t, double v, size_t group, bool sum)
{
    if (s->count > 0 && s->last_group == group) {
        if (sum)
            s->pts[s->count - 1].v += v;
        return 0;
    }
    if (grow_for_one((void **)&s->pts, &s->cap, s->count, sizeof *s->pts, 64) < 0)
        return -ENOMEM;
    s->pts[s->count++] = (struct plot_point){.t = t, .v = v};
    s->last_group = group;
    return 0;
}

/* Rows of one sample: consecutive rows with one timestamp, until a
 * (gpu, pid) pair repeats (two samples within one second).  The pairs seen
 * are a hash set whose entries carry the group's id, so starting a new
 * group empties it without touching it. */
struct seen_pair {
    size_t group;             /* 0: empty */
    long gpu;
    pid_t pid;
};

struct sample_group {
    size_t id;
    double t;
    struct seen_pair *seen;
    size_t count, cap;        /* pairs of this group; slots (a power of two) */
};

struct row_ctx {
    struct plot_data *d;
    const struct plot_options *o;
    const struct plot_columns *c;
    int file;
    struct sample_group g;
};

struct row_values {
    double t, gpu_mem, sys, cpu, rss;
    bool has_gpu_mem, has_sys, has_cpu, has_rss;
    long gpu;
    pid_t pid;
    const char *cmd;
};

static bool pid_wanted(const struct plot_options *o, pid_t pid)
{
    if (!o->pid_count)
        return true;
    for (size_t i = 0; i < o->pid_count; i++)
        if (o->pids[i] == pid)
            return true;
    return false;
}

/* Labels hold outside text (another user's command line, a file name):
 * every control character, escape sequences included, becomes '?' before
 * it can reach a terminal or an SVG, as the tables do. */
static int set_label(char *dst, size_t size, const char *text)
{
    char *safe = term_sanitize(text, strlen(text));
    if (!safe)
        return -ENOMEM;
    str_copy(dst, size, safe);
    free(safe);
    return 0;
}

static int add_to(struct row_ctx *x, int kind, enum plot_panel panel, int gpu, pid_t pid,
                  double t, double v, bool sum, const char *label)
{
    struct plot_series *s = find_series(x->d, kind, x->file, gpu, pid);
    if (!s)
        return -ENOMEM;
    if (s->count == 0) {
        s->panel = panel;
        if (set_label(s->label, sizeof s->label, label) < 0)
            return -ENOMEM;
    }
    return add_point(s, t, v, x->g.id, sum);
}

static void process_label(char *buf, size_t size, pid_t pid, const char *cmd)
{
    snprintf(buf, size, "%d %.100s", (int)pid, cmd ? cmd : "");
    size_t n = strlen(buf);
    while (n && buf[n - 1] == ' ')
        buf[--n] = '\0';
}

static struct seen_pair *seen_slot(const struct sample_group *g, long gpu, pid_t pid)
{
    size_t k = key_hash(0, 0, (int)gpu, pid) & (g->cap - 1);
    while (g->seen[k].group == g->id && !(g->seen[k].gpu == gpu && g->seen[k].pid == pid))
        k = (k + 1) & (g->cap - 1);
    return &g->seen[k];
}

/* Keeps the set at most half full; only this group's pairs move over. */
static int seen_grow(struct sample_group *g)
{
    if ((g->count + 1) * 2 <= g->cap)
        return 0;
    size_t old_cap = g->cap, cap = g->cap ? g->cap * 2 : 64;
    struct seen_pair *old = g->seen;
    g->seen = calloc(cap, sizeof *g->seen);
    if (!g->seen) {
        g->seen = old;
        return -ENOMEM;
    }
    g->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].group == g->id)
            *seen_slot(g, old[i].gpu, old[i].pid) = old[i];
    free(old);
    return 0;
}

static int enter_group(struct sample_group *g, const struct row_values *r, bool keyed)
{
    bool repeat = keyed && g->cap && seen_slot(g, r->gpu, r->pid)->group == g->id;
    if (g->id == 0 || r->t != g->t || repeat || !keyed) {
        g->id++;
        g->t = r->t;
        g->count = 0;
    }
    if (!keyed)
        return 0;
    if (seen_grow(g) < 0)
        return -ENOMEM;
    *seen_slot(g, r->gpu, r->pid) = (struct seen_pair){.group = g->id, .gpu = r->gpu,
                                                       .pid = r->pid};
    g->count++;
    return 0;
}

static int add_row(struct row_ctx *x, const struct row_values *r)
{
    if (enter_group(&x->g, r, x->c->pid >= 0) < 0)
        return -ENOMEM;
    char label[160];
    int rc = 0;
    bool per_process = x->c->pid >= 0;
    if (per_process && !pid_wanted(x->o, r->pid))
        return 0;
    if (r->has_gpu_mem && per_process && x->o->per_gpu) {
        snprintf(label, sizeof label, "GPU %ld", r->gpu);
        rc = add_to(x, KIND_GPU_MEM, PLOT_GPU_MEM, (int)r->gpu, 0, r->t, r->gpu_mem, true,
                    label);
    } else if (r->has_gpu_mem && per_process) {
        process_label(label, sizeof label, r->pid, r->cmd);
        rc = add_to(x, KIND_PROCESS_MEM, PLOT_GPU_MEM, -1, r->pid, r->t, r->gpu_mem, true,
                    label);
    } else if (r->has_gpu_mem) {
        rc = add_to(x, KIND_TOTAL_MEM, PLOT_GPU_MEM, -1, 0, r->t, r->gpu_mem, true,
                    x->c->input == PLOT_INPUT_TIMELINE ? "job GPU memory" : "GPU memory used");
    }
    if (rc == 0 && r->has_sys)
        rc = add_to(x, KIND_SYS, PLOT_SYS_MEM, -1, 0, r->t, r->sys, false, "system RAM used");
    if (rc == 0 && r->has_rss && !per_process)
        rc = add_to(x, KIND_RSS, PLOT_SYS_MEM, -1, 0, r->t, r->rss, false, "job RSS");
    if (rc == 0 && r->has_cpu) {
        if (per_process)
            process_label(label, sizeof label, r->pid, r->cmd);
        rc = add_to(x, KIND_CPU, PLOT_CPU, -1, per_process ? r->pid : 0, r->t, r->cpu, false,
                    per_process ? label : "CPU");
    }
    return rc;
}

static bool parse_id(const char *text, long max, long *out)
{
    char *end;
    errno = 0;
    if (*text < '0' || *text > '9')
        return false;
    *out = strtol(text, &end, 10);
    return !errno && !*end && *out <= max;
}

static bool column_value(const struct csv_record *rec, int col, double *v, bool *known)
{
    *known = false;
    return col < 0 || parse_value(rec->fields[col], v, known);
}

/* Fills r from rec; false (with why) for a malformed row. */
static bool read_row(const struct plot_columns *c, const struct csv_record *rec,
                     struct row_values *r, const char **why)
{
    *r = (struct row_values){0};
    if (rec->count != c->count)
        return *why = "wrong number of fields", false;
    if (!plot_parse_time(rec->fields[c->timestamp], &r->t))
        return *why = "unreadable timestamp", false;
    if (c->pid >= 0) {
        long pid, gpu;
        if (!parse_id(rec->fields[c->pid], 4194304, &pid) || pid == 0 ||
            !parse_id(rec->fields[c->gpu_index], 65535, &gpu))
            return *why = "unreadable gpu_index or pid", false;
        r->pid = (pid_t)pid;
        r->gpu = gpu;
        r->cmd = rec->fields[c->cmd];
    }
    if (!column_value(rec, c->gpu_mem, &r->gpu_mem, &r->has_gpu_mem) ||
        !column_value(rec, c->sys_used, &r->sys, &r->has_sys) ||
        !column_value(rec, c->cpu_pct, &r->cpu, &r->has_cpu) ||
        !column_value(rec, c->rss, &r->rss, &r->has_rss))
        return *why = "a value is not a number", false;
    return true;
}

static void note_malformed(struct plot_data *d, const char *name, size_t line, const char *why)
{
    if (d->malformed++ == 0)
        snprintf(d->first_malformed, sizeof d->first_malformed, "%s:%zu: %s", name, line, why);
}

static int read_header(struct csv_reader *r, struct csv_record *rec, const char *name,
                       struct plot_columns *c, struct error *e)
{
    int rc = csv_read_record(r, rec);
    if (rc == 0)
        return error_set(e, -ERROR_PARSE, "%s:1: the file is empty", name);
    if (rc == -ENOMEM)
        return error_set(e, rc, "out of memory reading %s", name);
    if (rc < 0 || !plot_detect(rec->fields, rec->count, c))
        return error_set(e, -ERROR_PARSE,
                         "%s:%zu: unrecognised header; expected a gpuctl watch log "
                         "(timestamp,gpu_index,pid,cmd,...), the helper's "
                         "timestamp,used_mib[,...] or a gpuctl run --timeline log",
                         name, rec->line);
    return 0;
}

static int read_rows(struct csv_reader *r, struct csv_record *rec, struct row_ctx *x,
                     const char *name, size_t *rows)
{
    int rc;
    while ((rc = csv_read_record(r, rec)) != 0) {
        struct row_values v;
        const char *why = "not valid CSV";
        if (rc == -ENOMEM)
            return rc;
        if (rc < 0 || !read_row(x->c, rec, &v, &why)) {
            note_malformed(x->d, name, rec->line, why);
            continue;
        }
        if (add_row(x, &v) < 0)
            return -ENOMEM;
        (*rows)++;
    }
    return 0;
}

int plot_data_add(struct plot_data *d, const char *name, const char *buf, size_t len,
                  const struct plot_options *o, struct error *e)
{
    struct csv_reader r;
    struct csv_record rec = {0};
    struct plot_columns c;
    csv_reader_init(&r, buf, len);
    int rc = read_header(&r, &rec, name, &c, e);
    size_t rows = 0, header_line = rec.line;
    struct row_ctx x = {.d = d, .o = o, .c = &c, .file = (int)d->files};
    if (rc == 0 && (rc = read_rows(&r, &rec, &x, name, &rows)) < 0)
        error_set(e, rc, "out of memory reading %s", name);
    csv_record_free(&rec);
    free(x.g.seen);
    if (rc == 0 && rows == 0)
        rc = error_set(e, -ERROR_PARSE, "%s:%zu: no data rows after the header", name,
                       header_line + 1);
    if (rc == 0)
        d->files++;
    return rc;
}

int plot_data_add_file(struct plot_data *d, const char *path, const struct plot_options *o,
                       struct error *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return error_set(e, -errno, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    int rc = 0;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > MAX_INPUT)
        rc = error_set(e, -EINVAL, "%s is not a regular file of at most 1 GiB", path);
    else if (!(buf = malloc((size_t)st.st_size + 1)))
        rc = error_set(e, -ENOMEM, "out of memory reading %s", path);
    while (rc == 0 && len < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = error_set(e, -errno, "cannot read %s: %s", path, strerror(errno));
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (rc == 0)
        rc = plot_data_add(d, path, buf, len, o, e);
    free(buf);
    return rc;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void set_gap(struct plot_series *s)
{
    s->gap_s = 0;
    if (s->count < 3)
        return;
    double *steps = malloc((s->count - 1) * sizeof *steps);
    if (!steps)
        return;   /* no gaps drawn: the chart is still right, only bridged */
    for (size_t i = 1; i < s->count; i++)
        steps[i - 1] = s->pts[i].t - s->pts[i - 1].t;
    qsort(steps, s->count - 1, sizeof *steps, compare_doubles);
    double median = steps[(s->count - 1) / 2];
    free(steps);
    s->gap_s = median > 0 ? 3 * median : 0;
}

bool plot_series_gap(const struct plot_series *s, size_t i)
{
    return i > 0 && i < s->count && s->gap_s > 0 && s->pts[i].t - s->pts[i - 1].t > s->gap_s;
}

void plot_data_finish(struct plot_data *d, const char *const *names)
{
    for (size_t i = 0; i < d->count; i++)
        set_gap(&d->series[i]);
    if (d->files < 2)
        return;
    for (size_t i = 0; i < d->count; i++) {
        struct plot_series *s = &d->series[i];
        const char *base = strrchr(names[s->file], '/');
        base = base ? base + 1 : names[s->file];
        char label[sizeof s->label + 64];
        snprintf(label, sizeof label, "%.60s: %s", base, s->label);
        if (set_label(s->label, sizeof s->label, label) < 0)
            str_copy(s->label, sizeof s->label, "?");
    }
}

void plot_data_free(struct plot_data *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->count; i++)
        free(d->series[i].pts);
    free(d->series);
    free(d->index);
    d->series = NULL;
    d->index = NULL;
    d->count = d->cap = d->index_cap = 0;
}

bool plot_data_has_panel(const struct plot_data *d, enum plot_panel p)
{
    for (size_t i = 0; i < d->count; i++)
        if (d->series[i].panel == p && d->series[i].count > 0)
            return true;
    return false;
}

bool plot_time_range(const struct plot_data *d, double *t0, double *t1)
{
    bool any = false;
    for (size_t i = 0; i < d->count; i++) {
        for (size_t j = 0; j < d->series[i].count; j++) {
            double t = d->series[i].pts[j].t;
            if (!any || t < *t0)
                *t0 = t;
            if (!any || t > *t1)
                *t1 = t;
            any = true;
        }
    }
    return any;
}

double plot_panel_max(const struct plot_data *d, enum plot_panel p)
{
    double m = 0;
    for (size_t i = 0; i < d->count; i++)
        if (d->series[i].panel == p)
            for (size_t j = 0; j < d->series[i].count; j++)
                if (d->series[i].pts[j].v > m)
                    m = d->series[i].pts[j].v;
    return m;
}

void plot_palette(size_t i, unsigned char rgb[3])
{
    /* twenty colours that stay apart (ten strong, then ten light ones of
     * other hues); past twenty the renderers add line styles
     * (plot_line_style), so two series never look alike */
    static const unsigned char colors[PLOT_PALETTE_SIZE][3] = {
        {31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40}, {148, 103, 189},
        {140, 86, 75}, {227, 119, 194}, {23, 190, 207}, {188, 189, 34}, {127, 127, 127},
        {0, 0, 128}, {255, 215, 0}, {0, 100, 0}, {128, 0, 0}, {0, 206, 209},
        {255, 105, 180}, {85, 107, 47}, {210, 105, 30}, {75, 0, 130}, {0, 0, 0},
    };
    memcpy(rgb, colors[i % (sizeof colors / sizeof colors[0])], 3);
}
