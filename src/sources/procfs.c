/* procfs.c - host processes, users and host memory from /proc.
 *
 * Turns the kernel's text files into struct host_process and struct
 * host_info: the parsers (stat, status, meminfo, cmdline) work on a buffer
 * and a length, and the readers feed them one pid at a time, because
 * one-shot commands look at the few pids that hold a GPU, never the whole
 * process table.  Each pid costs one directory open, then a handful of
 * openat/read/close triples on small stack buffers; no stdio.
 *
 * Left to others: container attribution from the cgroup text (cgroup.c),
 * rates between two readings (the sampler in core), and what to show
 * (front ends).  Every path goes through rootfs, so the tests run all of
 * this on fixture trees.
 */
#include "sources/procfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sources/rootfs.h"

#define PF_KTHREAD 0x00200000u

/* The first 24 fields of stat are required (rss is field 24); processor,
 * field 39, is the last one read. */
#define STAT_REQUIRED_FIELDS 24
#define STAT_LAST_FIELD 39

/* A long command line (a JVM's class path) is read in full up to this. */
#define CMDLINE_MAX (16u << 20)

struct user_entry {
    uid_t uid;
    char name[64];
};

struct procfs {
    int proc_fd;              /* <root>/proc, the base of every openat */
    char proc_path[PATH_MAX]; /* the same, for messages */
    struct host_info host;    /* from the latest procfs_read_host */
    bool host_read;           /* whether host holds a reading yet */
    char self_pidns[64];      /* target of self/ns/pid; "" when unreadable */
    struct user_entry *users; /* uid -> name cache */
    size_t user_count, user_cap;
};

/* ---- number parsing on (pointer, end) without NUL termination ---- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool parse_u64(const char **cur, const char *end, uint64_t *out)
{
    const char *p = *cur;
    uint64_t v = 0;
    if (p >= end || !is_digit(*p))
        return false;
    for (; p < end && is_digit(*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *cur = p;
    *out = v;
    return true;
}

static bool parse_i64(const char **cur, const char *end, int64_t *out)
{
    const char *p = *cur;
    bool neg = p < end && *p == '-';
    if (neg)
        p++;
    uint64_t mag;
    if (!parse_u64(&p, end, &mag))
        return false;
    if (mag > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
        return false;
    *out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    *cur = p;
    return true;
}

/* "123.45": the kernel's fixed-point output.  Hand-written because strtod
 * follows LC_NUMERIC, and a front end may have called setlocale. */
static bool parse_decimal(const char **cur, const char *end, double *out)
{
    uint64_t whole;
    if (!parse_u64(cur, end, &whole))
        return false;
    double v = (double)whole;
    const char *p = *cur;
    if (p < end && *p == '.') {
        double scale = 0.1;
        for (p++; p < end && is_digit(*p); p++, scale /= 10)
            v += (*p - '0') * scale;
    }
    *cur = p;
    *out = v;
    return true;
}

static void skip_blanks(const char **cur, const char *end)
{
    while (*cur < end && (**cur == ' ' || **cur == '\t'))
        (*cur)++;
}

static bool rest_is_blank(const char *p, const char *end)
{
    skip_blanks(&p, end);
    return p == end;
}

/* ---- /proc/PID/stat ---- */

struct field {
    const char *s;
    size_t n;
};

/* Splits what follows the comm into single-space separated fields 3.. */
static size_t split_stat_fields(const char *cur, const char *end, struct field *f, size_t max)
{
    size_t count = 0;
    while (cur < end && *cur == ' ' && count < max) {
        const char *start = ++cur;
        while (cur < end && *cur != ' ' && *cur != '\n')
            cur++;
        if (cur == start)
            break;
        f[count++] = (struct field){ start, (size_t)(cur - start) };
    }
    return count;
}

static bool field_u64(struct field f, uint64_t *out)
{
    const char *p = f.s;
    return parse_u64(&p, f.s + f.n, out) && p == f.s + f.n;
}

static bool field_i64(struct field f, int64_t *out)
{
    const char *p = f.s;
    return parse_i64(&p, f.s + f.n, out) && p == f.s + f.n;
}

static bool field_pid(struct field f, pid_t *out)
{
    int64_t v;
    if (!field_i64(f, &v) || v < 0 || v > INT_MAX)
        return false;
    *out = (pid_t)v;
    return true;
}

/* Fields 3.. land at f[n - 3]. */
static int stat_numbers(const struct field *f, size_t count, struct procfs_stat *out)
{
    uint64_t flags;
    int64_t rss, cpu;
    if (f[0].n != 1)
        return -ERROR_PARSE;
    out->state = f[0].s[0];
    if (!field_pid(f[4 - 3], &out->ppid) || !field_pid(f[5 - 3], &out->pgrp) ||
        !field_pid(f[6 - 3], &out->session) || !field_u64(f[9 - 3], &flags) ||
        flags > UINT_MAX || !field_u64(f[14 - 3], &out->utime) ||
        !field_u64(f[15 - 3], &out->stime) || !field_u64(f[22 - 3], &out->starttime) ||
        !field_u64(f[23 - 3], &out->vsize) || !field_i64(f[24 - 3], &rss) ||
        !field_u64(f[11 - 3], &out->cminflt) || !field_u64(f[13 - 3], &out->cmajflt))
        return -ERROR_PARSE;
    out->flags = (unsigned)flags;
    out->rss_pages = rss;
    if (count >= STAT_LAST_FIELD - 2) {
        if (!field_i64(f[STAT_LAST_FIELD - 3], &cpu) || cpu < INT_MIN || cpu > INT_MAX)
            return -ERROR_PARSE;
        out->processor = (int)cpu;
    }
    return 0;
}

int procfs_parse_stat(const char *buf, size_t len, struct procfs_stat *out)
{
    memset(out, 0, sizeof *out);
    out->processor = -1;
    const char *cur = buf, *end = buf + len;
    int64_t pid;
    if (!parse_i64(&cur, end, &pid) || pid <= 0 || pid > INT_MAX)
        return -ERROR_PARSE;
    if (end - cur < 2 || cur[0] != ' ' || cur[1] != '(')
        return -ERROR_PARSE;
    const char *comm = cur + 2;
    /* comm is whatever the process named itself, ')' and newlines included;
     * the kernel writes nothing after it that could hold a ')'. */
    const char *close = memrchr(comm, ')', (size_t)(end - comm));
    if (!close)
        return -ERROR_PARSE;
    out->pid = (pid_t)pid;
    size_t comm_len = (size_t)(close - comm);
    if (comm_len >= sizeof out->comm)
        comm_len = sizeof out->comm - 1;
    memcpy(out->comm, comm, comm_len);
    out->comm[comm_len] = '\0';

    struct field f[STAT_LAST_FIELD - 2];
    size_t count = split_stat_fields(close + 1, end, f, sizeof f / sizeof f[0]);
    if (count < STAT_REQUIRED_FIELDS - 2)
        return -ERROR_PARSE;
    return stat_numbers(f, count, out);
}

/* ---- "Key:  value" files: status and meminfo ---- */

struct keyed_line {
    struct field key, value;
};

/* Next line of buf split at its first ':'; lines without one are skipped. */
static bool next_keyed_line(const char **cur, const char *end, struct keyed_line *out)
{
    while (*cur < end) {
        const char *nl = memchr(*cur, '\n', (size_t)(end - *cur));
        const char *stop = nl ? nl : end;
        const char *colon = memchr(*cur, ':', (size_t)(stop - *cur));
        const char *start = *cur;
        *cur = nl ? nl + 1 : end;
        if (!colon)
            continue;
        out->key = (struct field){ start, (size_t)(colon - start) };
        out->value = (struct field){ colon + 1, (size_t)(stop - colon - 1) };
        return true;
    }
    return false;
}

static bool key_is(struct field key, const char *name)
{
    size_t n = strlen(name);
    return key.n == n && memcmp(key.s, name, n) == 0;
}

/* "   16318276 kB" */
static bool value_kib(struct field v, struct opt_u64 *out)
{
    const char *p = v.s, *end = v.s + v.n;
    uint64_t n;
    skip_blanks(&p, end);
    if (!parse_u64(&p, end, &n))
        return false;
    skip_blanks(&p, end);
    if (end - p >= 2 && p[0] == 'k' && p[1] == 'B')
        p += 2;
    if (!rest_is_blank(p, end))
        return false;
    OPT_SET(*out, n);
    return true;
}

/* "\t1000\t1000\t1000\t1000": the first number is the real uid. */
static bool value_first_id(struct field v, struct opt_i64 *out)
{
    const char *p = v.s, *end = v.s + v.n;
    uint64_t n;
    skip_blanks(&p, end);
    if (!parse_u64(&p, end, &n) || n > UINT32_MAX)
        return false;
    if (p < end && *p != ' ' && *p != '\t')
        return false;
    OPT_SET(*out, (int64_t)n);
    return true;
}

/* "\t4242\t17\t1": one pid per pid namespace level. */
static bool value_count_numbers(struct field v, int *out)
{
    const char *p = v.s, *end = v.s + v.n;
    int count = 0;
    for (;;) {
        uint64_t n;
        skip_blanks(&p, end);
        if (p == end)
            break;
        if (!parse_u64(&p, end, &n) || count == INT_MAX)
            return false;
        count++;
    }
    *out = count;
    return true;
}

/* "\tbash": the text after the tab, cut to fit. */
static void value_text(struct field v, char *out, size_t size)
{
    const char *p = v.s, *end = v.s + v.n;
    if (p < end && *p == '\t')
        p++;
    size_t n = (size_t)(end - p) < size - 1 ? (size_t)(end - p) : size - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

/* "\tS (sleeping)": the letter. */
static char value_first_char(struct field v)
{
    for (size_t i = 0; i < v.n; i++)
        if (v.s[i] != ' ' && v.s[i] != '\t')
            return v.s[i];
    return 0;
}

int procfs_parse_status(const char *buf, size_t len, struct procfs_status *out)
{
    memset(out, 0, sizeof *out);
    const char *cur = buf, *end = buf + len;
    struct keyed_line l;
    bool ok = true;
    while (next_keyed_line(&cur, end, &l)) {
        if (key_is(l.key, "Uid"))
            ok &= value_first_id(l.value, &out->uid);
        else if (key_is(l.key, "VmRSS"))
            ok &= value_kib(l.value, &out->vm_rss_kib);
        else if (key_is(l.key, "VmHWM"))
            ok &= value_kib(l.value, &out->vm_hwm_kib);
        else if (key_is(l.key, "NSpid"))
            ok &= value_count_numbers(l.value, &out->nspid_levels);
        else if (key_is(l.key, "Threads"))
            ok &= value_kib(l.value, &out->threads);
        else if (key_is(l.key, "PPid"))
            ok &= value_first_id(l.value, &out->ppid);
        else if (key_is(l.key, "Name"))
            value_text(l.value, out->name, sizeof out->name);
        else if (key_is(l.key, "State"))
            out->state = value_first_char(l.value);
    }
    return ok ? 0 : -ERROR_PARSE;
}

int procfs_parse_meminfo(const char *buf, size_t len, struct procfs_meminfo *out)
{
    memset(out, 0, sizeof *out);
    const char *cur = buf, *end = buf + len;
    struct keyed_line l;
    bool ok = true;
    while (next_keyed_line(&cur, end, &l)) {
        if (key_is(l.key, "MemTotal"))
            ok &= value_kib(l.value, &out->mem_total_kib);
        else if (key_is(l.key, "MemAvailable"))
            ok &= value_kib(l.value, &out->mem_available_kib);
        else if (key_is(l.key, "SwapTotal"))
            ok &= value_kib(l.value, &out->swap_total_kib);
        else if (key_is(l.key, "SwapFree"))
            ok &= value_kib(l.value, &out->swap_free_kib);
    }
    return ok ? 0 : -ERROR_PARSE;
}

int procfs_parse_uptime(const char *buf, size_t len, double *uptime_s)
{
    const char *cur = buf, *end = buf + len;
    if (!parse_decimal(&cur, end, uptime_s))
        return -ERROR_PARSE;
    return (cur == end || *cur == ' ' || *cur == '\n') ? 0 : -ERROR_PARSE;
}

int procfs_parse_loadavg(const char *buf, size_t len, double load[3])
{
    const char *cur = buf, *end = buf + len;
    for (int i = 0; i < 3; i++) {
        skip_blanks(&cur, end);
        if (!parse_decimal(&cur, end, &load[i]) || cur == end || *cur != ' ')
            return -ERROR_PARSE;
    }
    return 0;
}

int procfs_parse_btime(const char *buf, size_t len, uint64_t *btime)
{
    const char *cur = buf, *end = buf + len;
    struct field line;
    while (cur < end) {
        const char *nl = memchr(cur, '\n', (size_t)(end - cur));
        line = (struct field){ cur, (size_t)((nl ? nl : end) - cur) };
        cur = nl ? nl + 1 : end;
        if (line.n > 6 && memcmp(line.s, "btime ", 6) == 0) {
            const char *p = line.s + 6, *stop = line.s + line.n;
            skip_blanks(&p, stop);
            if (!parse_u64(&p, stop, btime) || !rest_is_blank(p, stop))
                return -ERROR_PARSE;
            return 0;
        }
    }
    return -ENOENT;
}

char *procfs_cmdline_join(const char *buf, size_t len)
{
    while (len > 0 && buf[len - 1] == '\0')
        len--;
    char *s = malloc(len + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; i < len; i++)
        s[i] = buf[i] == '\0' ? ' ' : buf[i];
    s[len] = '\0';
    return s;
}

/* ---- file reading relative to a directory fd ---- */

/* Reads up to size-1 bytes, NUL-terminates; *full when the buffer filled up
 * (the file may be longer).  A read shorter than asked is taken as the end:
 * the files read here (a process's stat, status, cmdline and cgroup, the
 * host's meminfo, stat, uptime ...) are made whole by the kernel at the
 * first read, so what a second read would say is only "end of file", and
 * that system call cost a list of 256 processes 768 more (fixture trees are
 * regular files, where a short read is the end too). */
static int read_at(int dirfd, const char *name, char *buf, size_t size, size_t *len, bool *full)
{
    *len = 0;
    *full = false;
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    size_t total = 0;
    int rc = 0;
    while (total < size - 1) {
        size_t want = size - 1 - total;
        ssize_t r = read(fd, buf + total, want);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            break;
        }
        total += (size_t)r;
        if ((size_t)r < want)
            break;
    }
    close(fd);
    buf[total] = '\0';
    *len = total;
    *full = total == size - 1;
    return rc;
}

/* A buffer that filled up ends in a partial line: keep whole lines only, so
 * a cut-off value is never taken for a real one. */
static size_t whole_lines(const char *buf, size_t len, bool full)
{
    if (!full)
        return len;
    const char *nl = memrchr(buf, '\n', len);
    return nl ? (size_t)(nl - buf) + 1 : 0;
}

/* Reads a whole file into a malloc'd, NUL-terminated buffer (caller frees);
 * a file longer than cap is cut at cap bytes. */
static int read_all_at(int dirfd, const char *name, size_t cap, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    size_t size = 0, total = 0;
    char *buf = NULL;
    int rc = 0;
    for (;;) {
        if (total == size) {
            if (size >= cap)
                break;
            size_t nsize = size ? size * 2 : 8192;
            nsize = nsize < cap ? nsize : cap;
            char *nbuf = realloc(buf, nsize + 1);
            if (!nbuf) {
                rc = -ENOMEM;
                break;
            }
            buf = nbuf;
            size = nsize;
        }
        ssize_t r = read(fd, buf + total, size - total);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            rc = -errno;
        if (r <= 0)
            break;
        total += (size_t)r;
    }
    close(fd);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[total] = '\0';
    *out = buf;
    *len = total;
    return 0;
}

/* ---- host facts ---- */

static void read_hostname(const struct procfs *p, struct host_info *h)
{
    char buf[sizeof h->hostname];
    size_t len;
    bool full;
    if (read_at(p->proc_fd, "sys/kernel/hostname", buf, sizeof buf, &len, &full) == 0) {
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
            buf[--len] = '\0';
        if (len > 0) {
            memcpy(h->hostname, buf, len + 1);
            return;
        }
    }
    if (gethostname(h->hostname, sizeof h->hostname - 1) < 0)
        h->hostname[0] = '\0';
    h->hostname[sizeof h->hostname - 1] = '\0';
}

static int read_host_meminfo(const struct procfs *p, struct host_info *h)
{
    char buf[8192];
    size_t len;
    bool full;
    int rc = read_at(p->proc_fd, "meminfo", buf, sizeof buf, &len, &full);
    if (rc < 0)
        return rc;
    struct procfs_meminfo m;
    rc = procfs_parse_meminfo(buf, whole_lines(buf, len, full), &m);
    if (m.mem_total_kib.known)
        OPT_SET(h->mem_total_bytes, m.mem_total_kib.v * 1024);
    if (m.mem_available_kib.known)
        OPT_SET(h->mem_available_bytes, m.mem_available_kib.v * 1024);
    if (m.swap_total_kib.known)
        OPT_SET(h->swap_total_bytes, m.swap_total_kib.v * 1024);
    if (m.swap_free_kib.known)
        OPT_SET(h->swap_free_bytes, m.swap_free_kib.v * 1024);
    return rc;
}

static int read_host_uptime(const struct procfs *p, struct host_info *h)
{
    char buf[128];
    size_t len;
    bool full;
    double up;
    int rc = read_at(p->proc_fd, "uptime", buf, sizeof buf, &len, &full);
    if (rc == 0 && (rc = procfs_parse_uptime(buf, len, &up)) == 0)
        OPT_SET(h->uptime_s, up);
    return rc;
}

static int read_host_loadavg(const struct procfs *p, struct host_info *h)
{
    char buf[256];
    size_t len;
    bool full;
    double load[3];
    int rc = read_at(p->proc_fd, "loadavg", buf, sizeof buf, &len, &full);
    if (rc == 0 && (rc = procfs_parse_loadavg(buf, len, load)) == 0) {
        OPT_SET(h->load1, load[0]);
        OPT_SET(h->load5, load[1]);
        OPT_SET(h->load15, load[2]);
    }
    return rc;
}

/* /proc/stat grows with the CPU and interrupt count (hundreds of KiB on a
 * large server, all generated on every read), hence the heap, and hence it
 * is read once per struct procfs: the boot time does not move. */
static int read_host_btime(const struct procfs *p, struct host_info *h)
{
    if (p->host.boot_time.known) {
        h->boot_time = p->host.boot_time;
        return 0;
    }
    char *buf;
    size_t len;
    uint64_t btime;
    int rc = read_all_at(p->proc_fd, "stat", CMDLINE_MAX, &buf, &len);
    if (rc < 0)
        return rc;
    rc = procfs_parse_btime(buf, len, &btime);
    free(buf);
    if (rc == 0)
        OPT_SET(h->boot_time, (double)btime);
    return rc;
}

int procfs_read_host(struct procfs *p, struct host_info *out, struct error *e)
{
    struct host_info h;
    memset(&h, 0, sizeof h);
    h.clock_ticks = sysconf(_SC_CLK_TCK);
    h.page_size = sysconf(_SC_PAGESIZE);
    read_hostname(p, &h);
    int rc_mem = read_host_meminfo(p, &h);
    int rc_up = read_host_uptime(p, &h);
    int rc_boot = read_host_btime(p, &h);
    int rc_load = read_host_loadavg(p, &h);
    p->host = h;
    p->host_read = true;
    if (out)
        *out = h;
    /* One missing file is an unknown field; all of them missing means the
     * root is wrong or /proc is not mounted, which a person should hear. */
    if (rc_mem < 0 && rc_up < 0 && rc_boot < 0 && rc_load < 0)
        return error_set(e, rc_mem, "cannot read the host facts under %s: meminfo: %s",
                         p->proc_path, rc_mem == -ERROR_PARSE ? "malformed" : strerror(-rc_mem));
    return 0;
}

const struct host_info *procfs_host(const struct procfs *p)
{
    return &p->host;
}

/* ---- users ---- */

static void lookup_user(uid_t uid, char *name, size_t size)
{
    struct passwd pw, *found = NULL;
    char stack[4096];
    char *buf = stack, *heap = NULL;
    size_t bufsize = sizeof stack;
    int rc;
    while ((rc = getpwuid_r(uid, &pw, buf, bufsize, &found)) == ERANGE && bufsize < (1u << 20)) {
        bufsize *= 4;
        char *nheap = realloc(heap, bufsize);
        if (!nheap)
            break;
        buf = heap = nheap;
    }
    if (rc == 0 && found && found->pw_name && found->pw_name[0])
        snprintf(name, size, "%s", found->pw_name);
    else
        snprintf(name, size, "%u", (unsigned)uid);
    free(heap);
}

void procfs_user_name(struct procfs *p, uid_t uid, char *buf, size_t size)
{
    if (size == 0)
        return;
    for (size_t i = 0; i < p->user_count; i++) {
        if (p->users[i].uid == uid) {
            snprintf(buf, size, "%s", p->users[i].name);
            return;
        }
    }
    char name[sizeof p->users[0].name];
    lookup_user(uid, name, sizeof name);
    snprintf(buf, size, "%s", name);
    if (p->user_count == p->user_cap) {
        size_t ncap = p->user_cap ? p->user_cap * 2 : 16;
        struct user_entry *n = realloc(p->users, ncap * sizeof *n);
        if (!n)
            return; /* answered anyway; only the cache missed out */
        p->users = n;
        p->user_cap = ncap;
    }
    p->users[p->user_count].uid = uid;
    memcpy(p->users[p->user_count].name, name, sizeof name);
    p->user_count++;
}

/* ---- one process ---- */

static int process_gone(struct host_process *out, pid_t pid, struct error *e)
{
    out->exists = false;
    return error_set(e, -ESRCH, "process %d does not exist (it may have exited)", (int)pid);
}

static int read_proc_stat(const struct procfs *p, int dfd, pid_t pid, struct procfs_stat *st,
                          struct error *e)
{
    char buf[2048];
    size_t len;
    bool full;
    int rc = read_at(dfd, "stat", buf, sizeof buf, &len, &full);
    if (rc == -ENOENT || rc == -ESRCH)
        return -ESRCH;
    if (rc < 0)
        return error_set(e, rc, "cannot read %s/%d/stat: %s", p->proc_path, (int)pid,
                         strerror(-rc));
    if (procfs_parse_stat(buf, len, st) < 0)
        return error_set(e, -ERROR_PARSE, "%s/%d/stat is malformed", p->proc_path, (int)pid);
    return 0;
}

static void fill_times(const struct host_info *h, const struct procfs_stat *st,
                       struct host_process *out)
{
    out->start_ticks = st->starttime;
    OPT_SET(out->cpu_ticks, st->utime + st->stime);
    if (h->clock_ticks <= 0)
        return;
    double ticks = (double)h->clock_ticks;
    double since_boot = (double)st->starttime / ticks;
    if (h->boot_time.known)
        OPT_SET(out->start_time, h->boot_time.v + since_boot);
    if (!h->uptime_s.known)
        return;
    /* A process younger than the host reading would come out negative. */
    double elapsed = h->uptime_s.v > since_boot ? h->uptime_s.v - since_boot : 0;
    OPT_SET(out->elapsed_s, elapsed);
    double cpu_s = (double)out->cpu_ticks.v / ticks;
    OPT_SET(out->cpu_pct, elapsed > 0 ? cpu_s / elapsed * 100.0 : 0.0);
}

static void fill_memory(const struct host_info *h, const struct procfs_status *status,
                        const struct procfs_stat *st, struct host_process *out)
{
    if (status->vm_rss_kib.known)
        OPT_SET(out->rss_bytes, status->vm_rss_kib.v * 1024);
    else if (st->rss_pages >= 0 && h->page_size > 0)
        OPT_SET(out->rss_bytes, (uint64_t)st->rss_pages * (uint64_t)h->page_size);
    if (out->rss_bytes.known && h->mem_total_bytes.known && h->mem_total_bytes.v > 0)
        OPT_SET(out->mem_pct,
                (double)out->rss_bytes.v / (double)h->mem_total_bytes.v * 100.0);
}

static void read_proc_status(int dfd, struct procfs_status *status)
{
    char buf[4096];
    size_t len;
    bool full;
    if (read_at(dfd, "status", buf, sizeof buf, &len, &full) == 0)
        (void)procfs_parse_status(buf, whole_lines(buf, len, full), status);
}

/* Empty for kernel threads and zombies: shown as "[comm]", as ps does. */
static void read_proc_cmdline(int dfd, const struct procfs_stat *st, struct host_process *out)
{
    char stack[4096], *heap = NULL;
    const char *buf = stack;
    size_t len;
    bool full;
    if (read_at(dfd, "cmdline", stack, sizeof stack, &len, &full) < 0)
        return;
    if (full && read_all_at(dfd, "cmdline", CMDLINE_MAX, &heap, &len) == 0)
        buf = heap;
    out->cmdline = procfs_cmdline_join(buf, len);
    free(heap);
    if (out->cmdline && out->cmdline[0] == '\0') {
        size_t n = strlen(st->comm) + 3;
        char *bracketed = malloc(n);
        if (bracketed)
            snprintf(bracketed, n, "[%s]", st->comm);
        free(out->cmdline);
        out->cmdline = bracketed;
    }
}

static void read_proc_cgroup(int dfd, struct host_process *out)
{
    char buf[8192];
    size_t len;
    bool full;
    if (read_at(dfd, "cgroup", buf, sizeof buf, &len, &full) == 0)
        procfs_parse_cgroup(buf, whole_lines(buf, len, full), &out->container);
}

/* Whether ns/pid names another namespace than ours; left unknown when
 * either link cannot be read (another user's process without ptrace rights). */
static void read_pidns_link(const struct procfs *p, int dfd, struct host_process *out)
{
    char link[sizeof p->self_pidns];
    if (!p->self_pidns[0])
        return;
    ssize_t n = readlinkat(dfd, "ns/pid", link, sizeof link - 1);
    if (n <= 0)
        return;
    link[n] = '\0';
    OPT_SET(out->other_pidns, strcmp(link, p->self_pidns) != 0);
}

/* The owner of /proc/PID is the process's effective uid, except that the
 * kernel shows a non-dumpable process (setuid programs, anything that
 * changed its credentials) as root.  So an owner of 0 is not believed. */
static bool owner_uid(int dfd, struct host_process *out)
{
    struct stat sb;
    if (fstat(dfd, &sb) < 0)
        return false;
    OPT_SET(out->uid, (int64_t)sb.st_uid);
    return sb.st_uid != 0;
}

/* status is the dearest file of the lot (about 10 us against 3 for stat on
 * the development VM), so it is read only when the cheap sources leave a
 * question: an owner of 0, or no ns/pid link to compare. */
static void read_status_if_needed(int dfd, unsigned want, bool uid_trusted,
                                  struct host_process *out, struct procfs_status *status)
{
    memset(status, 0, sizeof *status);
    bool user_open = (want & PROCFS_WANT_USER) && !uid_trusted;
    bool pidns_open = (want & PROCFS_WANT_PIDNS) && !out->other_pidns.known;
    if (!user_open && !pidns_open)
        return;
    read_proc_status(dfd, status);
    if ((want & PROCFS_WANT_USER) && status->uid.known)
        out->uid = status->uid;
    if (pidns_open && status->nspid_levels > 0)
        OPT_SET(out->other_pidns, status->nspid_levels > 1);
}

int procfs_read_process_fields(struct procfs *p, pid_t pid, unsigned want,
                               struct host_process *out, struct error *e)
{
    memset(out, 0, sizeof *out);
    out->pid = pid;
    if (pid <= 0)
        return error_set(e, -EINVAL, "%d is not a process id", (int)pid);
    /* Missing host facts only leave the derived fields unknown. */
    if (!p->host_read)
        (void)procfs_read_host(p, NULL, NULL);
    char name[16];
    snprintf(name, sizeof name, "%d", (int)pid);
    /* One directory fd for every read: a pid reused half-way through makes
     * the later reads fail instead of mixing two processes. */
    int dfd = openat(p->proc_fd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 && (errno == ENOENT || errno == ESRCH))
        return process_gone(out, pid, e);
    if (dfd < 0)
        return error_set(e, -errno, "cannot open %s/%d: %s", p->proc_path, (int)pid,
                         strerror(errno));
    struct procfs_stat st;
    int rc = read_proc_stat(p, dfd, pid, &st, e);
    if (rc < 0) {
        close(dfd);
        return rc == -ESRCH ? process_gone(out, pid, e) : rc;
    }
    out->exists = true;
    out->state = st.state;
    OPT_SET(out->ppid, st.ppid);
    snprintf(out->name, sizeof out->name, "%s", st.comm);
    fill_times(&p->host, &st, out);

    bool uid_trusted = (want & PROCFS_WANT_USER) && owner_uid(dfd, out);
    if (want & PROCFS_WANT_PIDNS)
        read_pidns_link(p, dfd, out);
    struct procfs_status status;
    read_status_if_needed(dfd, want, uid_trusted, out, &status);
    if (out->uid.known)
        procfs_user_name(p, (uid_t)out->uid.v, out->user, sizeof out->user);
    fill_memory(&p->host, &status, &st, out);
    if (want & PROCFS_WANT_CMDLINE)
        read_proc_cmdline(dfd, &st, out);
    if (want & PROCFS_WANT_CONTAINER)
        read_proc_cgroup(dfd, out);
    close(dfd);
    return 0;
}

int procfs_read_process(struct procfs *p, pid_t pid, struct host_process *out,
                        struct error *e)
{
    return procfs_read_process_fields(p, pid, PROCFS_WANT_ALL, out, e);
}

/* ---- open, close, list ---- */

int procfs_open(struct procfs **out, struct error *e)
{
    *out = NULL;
    struct procfs *p = calloc(1, sizeof *p);
    if (!p)
        return error_set(e, -ENOMEM, "out of memory opening the process table");
    int rc = rootfs_path(p->proc_path, sizeof p->proc_path, ROOTFS_PROC, ".");
    if (rc < 0) {
        free(p);
        return error_set(e, rc, "the GPUCTL_PROC_ROOT path is too long");
    }
    p->proc_path[strlen(p->proc_path) - 2] = '\0'; /* drop the "/." */
    p->proc_fd = open(p->proc_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (p->proc_fd < 0) {
        rc = -errno;
        error_set(e, rc, "cannot open %s: %s", p->proc_path, strerror(errno));
        free(p);
        return rc;
    }
    ssize_t n = readlinkat(p->proc_fd, "self/ns/pid", p->self_pidns, sizeof p->self_pidns - 1);
    p->self_pidns[n > 0 ? n : 0] = '\0';
    *out = p;
    return 0;
}

void procfs_close(struct procfs *p)
{
    if (!p)
        return;
    close(p->proc_fd);
    free(p->users);
    free(p);
}

static bool pid_name(const char *name, pid_t *pid)
{
    const char *cur = name, *end = name + strlen(name);
    uint64_t v;
    if (!parse_u64(&cur, end, &v) || cur != end || v == 0 || v > INT_MAX)
        return false;
    *pid = (pid_t)v;
    return true;
}

static int compare_pids(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
    return (x > y) - (x < y);
}

int procfs_list_pids(pid_t **pids, size_t *count, struct error *e)
{
    *pids = NULL;
    *count = 0;
    char path[PATH_MAX];
    int rc = rootfs_path(path, sizeof path, ROOTFS_PROC, ".");
    if (rc < 0)
        return error_set(e, rc, "the GPUCTL_PROC_ROOT path is too long");
    DIR *d = opendir(path);
    if (!d)
        return error_set(e, -errno, "cannot list processes in %s: %s", path, strerror(errno));
    pid_t *list = NULL;
    size_t n = 0, cap = 0;
    struct dirent *ent;
    rc = 0;
    errno = 0;
    while ((ent = readdir(d))) {
        pid_t pid;
        if (!pid_name(ent->d_name, &pid))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            pid_t *nl = realloc(list, ncap * sizeof *nl);
            if (!nl) {
                rc = error_set(e, -ENOMEM, "out of memory listing processes in %s", path);
                break;
            }
            list = nl;
            cap = ncap;
        }
        list[n++] = pid;
        errno = 0;
    }
    if (rc == 0 && errno != 0)
        rc = error_set(e, -errno, "cannot list processes in %s: %s", path, strerror(errno));
    closedir(d);
    if (rc < 0) {
        free(list);
        return rc;
    }
    /* /proc lists in pid order; a fixture directory need not. */
    if (n > 1)
        qsort(list, n, sizeof *list, compare_pids);
    *pids = list;
    *count = n;
    return 0;
}

/* ---- the CPUs a process's threads are on ---- */

static void add_cpu(int cpu, int *cpus, size_t cap, size_t *count)
{
    size_t i = 0;
    while (i < *count && cpus[i] < cpu)
        i++;
    if ((i < *count && cpus[i] == cpu) || *count == cap)
        return;
    memmove(cpus + i + 1, cpus + i, (*count - i) * sizeof *cpus);
    cpus[i] = cpu;
    (*count)++;
}

static void add_thread_cpu(int task_fd, pid_t tid, int *cpus, size_t cap, size_t *count)
{
    char name[32], buf[2048];
    size_t len;
    bool full;
    snprintf(name, sizeof name, "%d/stat", (int)tid);
    struct procfs_stat st;
    if (read_at(task_fd, name, buf, sizeof buf, &len, &full) == 0 &&
        procfs_parse_stat(buf, len, &st) == 0 && st.processor >= 0)
        add_cpu(st.processor, cpus, cap, count);
}

int procfs_read_thread_cpus(pid_t pid, int *cpus, size_t cap, size_t *count,
                            struct error *e)
{
    *count = 0;
    char path[PATH_MAX];
    int rc = rootfs_path(path, sizeof path, ROOTFS_PROC, "%d/task", (int)pid);
    if (rc < 0)
        return error_set(e, rc, "the GPUCTL_PROC_ROOT path is too long");
    DIR *d = opendir(path);
    if (!d && (errno == ENOENT || errno == ESRCH))
        return error_set(e, -ESRCH, "process %d does not exist (it may have exited)", (int)pid);
    if (!d)
        return error_set(e, -errno, "cannot list the threads of process %d in %s: %s",
                         (int)pid, path, strerror(errno));
    struct dirent *ent;
    while ((ent = readdir(d))) {
        pid_t tid;
        if (pid_name(ent->d_name, &tid))
            add_thread_cpu(dirfd(d), tid, cpus, cap, count);
    }
    closedir(d);
    return 0;
}

/* ---- host CPU time and process environments (monitors) ---- */

int procfs_parse_cpu_times(const char *buf, size_t len, struct procfs_cpu_times *out)
{
    const char *cur = buf, *end = buf + len;
    const char *nl = memchr(cur, '\n', len);
    const char *stop = nl ? nl : end;
    if (stop - cur < 4 || memcmp(cur, "cpu ", 4) != 0)
        return -ENOENT;
    cur += 4;
    /* user nice system idle iowait irq softirq steal guest guest_nice */
    uint64_t v[10] = {0};
    size_t n = 0;
    for (; n < 10; n++) {
        skip_blanks(&cur, stop);
        if (cur == stop)
            break;
        if (!parse_u64(&cur, stop, &v[n]) || (cur != stop && *cur != ' '))
            return -ERROR_PARSE;
    }
    if (n < 4 || !rest_is_blank(cur, stop))
        return -ERROR_PARSE;
    uint64_t busy = 0, total = 0;
    for (size_t i = 0; i < 8; i++) {
        if (v[i] > UINT64_MAX / 16)
            return -ERROR_PARSE;   /* so the sums below cannot overflow */
        total += v[i];
        if (i != 3 && i != 4)
            busy += v[i];
    }
    out->busy_ticks = busy;
    out->total_ticks = total;
    return 0;
}

int procfs_read_cpu_times(struct procfs *p, struct host_info *out)
{
    /* The cpu line comes first; one page holds it on any machine. */
    char buf[4096];
    size_t len;
    bool full;
    struct procfs_cpu_times t;
    int rc = read_at(p->proc_fd, "stat", buf, sizeof buf, &len, &full);
    if (rc == 0)
        rc = procfs_parse_cpu_times(buf, len, &t);
    if (rc < 0)
        return rc;
    OPT_SET(out->cpu_busy_ticks, t.busy_ticks);
    OPT_SET(out->cpu_total_ticks, t.total_ticks);
    return 0;
}

int procfs_read_environ(pid_t pid, char **out, size_t *len, struct error *e)
{
    *out = NULL;
    *len = 0;
    char path[PATH_MAX];
    int rc = rootfs_path(path, sizeof path, ROOTFS_PROC, "%d", (int)pid);
    if (rc < 0)
        return error_set(e, rc, "pid %d: path too long", (int)pid);
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return error_set(e, errno == ENOENT ? -ESRCH : -errno, "pid %d: %s", (int)pid,
                         errno == ENOENT ? "no such process" : strerror(errno));
    rc = read_all_at(dfd, "environ", CMDLINE_MAX, out, len);
    close(dfd);
    if (rc < 0)
        return error_set(e, rc, "pid %d: cannot read its environment: %s", (int)pid,
                         strerror(-rc));
    return 0;
}
