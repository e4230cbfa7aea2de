/* proctree.c - the per-process reads of `gpuctl run`: children lists,
 * stat, status and smaps_rollup, with the files kept open between samples
 * (proctree.h says why).
 *
 * The parsers of stat and status are procfs's; this file adds the two
 * small formats only a job tracker reads (children lists and the Pss line)
 * and leaves deciding what a reading means to run.c.
 */
#include "jobs/proctree.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/grow.h"
#include "core/str.h"
#include "sources/procfs.h"
#include "sources/rootfs.h"

#define PATH_BUF 320
#define STATUS_BUF 4096
#define CHILDREN_BUF 8192

int pid_list_push(struct pid_list *l, pid_t pid)
{
    int rc = grow_for_one((void **)&l->items, &l->cap, l->count, sizeof *l->items, 32);
    if (rc < 0)
        return rc;
    l->items[l->count++] = pid;
    return 0;
}

void pid_list_free(struct pid_list *l)
{
    if (!l)
        return;
    free(l->items);
    *l = (struct pid_list){0};
}

int proctree_parse_children(const char *buf, size_t len, struct pid_list *out)
{
    size_t i = 0;
    while (i < len) {
        if (buf[i] == ' ' || buf[i] == '\n') {
            i++;
            continue;
        }
        uint64_t v = 0;
        size_t start = i;
        while (i < len && buf[i] >= '0' && buf[i] <= '9' && i - start < 10)
            v = v * 10 + (uint64_t)(buf[i++] - '0');
        if (i == start || v == 0 || v > INT32_MAX)
            return -ERROR_PARSE;
        if (i < len && buf[i] != ' ' && buf[i] != '\n')
            return -ERROR_PARSE;
        int rc = pid_list_push(out, (pid_t)v);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int proctree_parse_pss(const char *buf, size_t len, uint64_t *pss_kib)
{
    size_t i = 0;
    while (i < len) {
        const char *line = buf + i;
        const char *nl = memchr(line, '\n', len - i);
        size_t n = nl ? (size_t)(nl - line) : len - i;
        i += n + 1;
        if (n < 4 || memcmp(line, "Pss:", 4) != 0)
            continue;
        size_t j = 4;
        while (j < n && (line[j] == ' ' || line[j] == '\t'))
            j++;
        uint64_t v = 0;
        size_t digits = 0;
        while (j < n && line[j] >= '0' && line[j] <= '9' && digits < 19) {
            v = v * 10 + (uint64_t)(line[j++] - '0');
            digits++;
        }
        if (digits == 0 || (j < n && line[j] != ' '))
            return -ERROR_PARSE;
        *pss_kib = v;
        return 0;
    }
    return -ENOENT;
}

int proctree_parse_statm(const char *buf, size_t len, uint64_t *resident_pages)
{
    size_t i = 0;
    while (i < len && buf[i] >= '0' && buf[i] <= '9')
        i++;
    if (i == 0 || i >= len || buf[i] != ' ')
        return -ERROR_PARSE;
    i++;
    uint64_t v = 0;
    size_t digits = 0;
    while (i < len && buf[i] >= '0' && buf[i] <= '9' && digits < 19) {
        v = v * 10 + (uint64_t)(buf[i++] - '0');
        digits++;
    }
    if (digits == 0 || (i < len && buf[i] != ' ' && buf[i] != '\n'))
        return -ERROR_PARSE;
    *resident_pages = v;
    return 0;
}

/* ---- files ------------------------------------------------------------------- */

static int open_file(pid_t pid, const char *name, int *fd)
{
    char path[PATH_BUF];
    *fd = -1;
    if (rootfs_path(path, sizeof path, ROOTFS_PROC, "%d/%s", (int)pid, name) < 0)
        return -ENAMETOOLONG;
    int f = open(path, O_RDONLY | O_CLOEXEC);
    if (f < 0)
        return (errno == EMFILE || errno == ENFILE) ? 0 : -errno;
    *fd = f;
    return 0;
}

int proctree_open(struct proctree_files *f, pid_t pid, bool pss)
{
    *f = PROCTREE_FILES_CLOSED(pid);
    char children[64];
    snprintf(children, sizeof children, "task/%d/children", (int)pid);
    int rc = open_file(pid, "status", &f->status_fd);
    if (rc == 0)
        rc = open_file(pid, "statm", &f->statm_fd);
    if (rc == 0 && pss)
        rc = open_file(pid, "smaps_rollup", &f->smaps_fd);
    if (rc == 0)
        rc = open_file(pid, children, &f->children_fd);
    if (rc < 0) {
        proctree_close(f);
        return rc == -ENOENT ? -ESRCH : rc;
    }
    return 0;
}

void proctree_close(struct proctree_files *f)
{
    int *fds[] = {&f->status_fd, &f->statm_fd, &f->smaps_fd, &f->children_fd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
        if (*fds[i] >= 0)
            close(*fds[i]);
        *fds[i] = -1;
    }
}

/* pread from the kept descriptor, or open-read-close without one. */
static int read_file(int fd, pid_t pid, const char *name, char *buf, size_t size, size_t *len)
{
    *len = 0;
    if (fd < 0) {
        char path[PATH_BUF];
        if (rootfs_path(path, sizeof path, ROOTFS_PROC, "%d/%s", (int)pid, name) < 0)
            return -ENAMETOOLONG;
        int rc = rootfs_read_file(path, buf, size, len);
        return rc == -ENOENT ? -ESRCH : rc;
    }
    size_t total = 0;
    while (total < size - 1) {
        ssize_t r = pread(fd, buf + total, size - 1 - total, (off_t)total);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            break;
        total += (size_t)r;
    }
    buf[total] = '\0';
    *len = total;
    return 0;
}

static int read_stat(struct proctree_files *f, struct proctree_reading *out)
{
    char buf[1024];
    size_t len;
    int rc = read_file(-1, f->pid, "stat", buf, sizeof buf, &len);
    if (rc < 0)
        return rc;
    if (len == 0)
        return -ESRCH;
    struct procfs_stat st;
    if (procfs_parse_stat(buf, len, &st) < 0)
        return -ERROR_PARSE;
    str_copy(out->comm, sizeof out->comm, st.comm);
    out->state = st.state;
    out->ppid = st.ppid;
    out->start_ticks = st.starttime;
    out->waited = st.cminflt + st.cmajflt > 0;
    return 0;
}

static int read_status(struct proctree_files *f, struct proctree_reading *out)
{
    char buf[STATUS_BUF];
    size_t len;
    int rc = read_file(f->status_fd, f->pid, "status", buf, sizeof buf, &len);
    if (rc < 0)
        return rc;
    if (len == 0)
        return -ESRCH;
    struct procfs_status st;
    (void)procfs_parse_status(buf, len, &st);
    out->has_mm = st.vm_hwm_kib.known && st.vm_rss_kib.known;
    out->has_hwm = out->has_mm;
    out->rss_kib = st.vm_rss_kib.known ? st.vm_rss_kib.v : 0;
    out->hwm_kib = st.vm_hwm_kib.known ? st.vm_hwm_kib.v : 0;
    out->threads = st.threads.known && st.threads.v < 1000000 ? (unsigned)st.threads.v : 1;
    str_copy(out->status_name, sizeof out->status_name, st.name);
    if (st.state)
        out->state = st.state;
    if (st.ppid.known)
        out->ppid = (pid_t)st.ppid.v;
    return 0;
}

static int read_pss(struct proctree_files *f, struct proctree_reading *out)
{
    char buf[2048];
    size_t len;
    int rc = read_file(f->smaps_fd, f->pid, "smaps_rollup", buf, sizeof buf, &len);
    if (rc < 0)
        return rc;
    uint64_t v;
    if (len == 0)
        return -ESRCH;
    out->has_mm = proctree_parse_pss(buf, len, &v) == 0;
    out->pss_kib = out->has_mm ? v : 0;
    return 0;
}

/* A zombie's statm is all zeros: no memory to account. */
static int read_statm(struct proctree_files *f, struct proctree_reading *out)
{
    char buf[256];
    size_t len;
    int rc = read_file(f->statm_fd, f->pid, "statm", buf, sizeof buf, &len);
    if (rc < 0)
        return rc;
    if (len == 0)
        return -ESRCH;
    uint64_t pages;
    if (proctree_parse_statm(buf, len, &pages) < 0)
        return -ERROR_PARSE;
    long page = sysconf(_SC_PAGESIZE);
    out->rss_kib = pages * (uint64_t)(page > 0 ? page / 1024 : 4);
    out->has_mm = pages > 0;
    return 0;
}

int proctree_read(struct proctree_files *f, unsigned want, struct proctree_reading *out)
{
    memset(out, 0, sizeof *out);
    int rc = want & PROCTREE_STAT ? read_stat(f, out) : 0;
    if (rc == 0 && (want & PROCTREE_STATUS))
        rc = read_status(f, out);
    if (rc == 0 && (want & PROCTREE_STATM) && !(want & PROCTREE_STATUS))
        rc = read_statm(f, out);
    if (rc == 0 && (want & PROCTREE_PSS) && out->has_mm)
        rc = read_pss(f, out);
    return rc;
}

/* ---- children ------------------------------------------------------------------ */

static int read_children_file(int fd, pid_t pid, const char *rel, struct pid_list *out)
{
    char buf[CHILDREN_BUF];
    size_t len;
    int rc = read_file(fd, pid, rel, buf, sizeof buf, &len);
    if (rc == -ESRCH || rc == -ENOENT)
        return 0;      /* the thread or the process has just gone */
    if (rc < 0)
        return rc;
    return proctree_parse_children(buf, len, out);
}

static int children_of_threads(pid_t pid, struct pid_list *out)
{
    char path[PATH_BUF];
    if (rootfs_path(path, sizeof path, ROOTFS_PROC, "%d/task", (int)pid) < 0)
        return -ENAMETOOLONG;
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        char rel[64];
        snprintf(rel, sizeof rel, "task/%.20s/children", de->d_name);
        rc = read_children_file(-1, pid, rel, out);
    }
    closedir(d);
    return rc;
}

int proctree_children(struct proctree_files *f, unsigned threads, struct pid_list *out)
{
    if (threads > 1)
        return children_of_threads(f->pid, out);
    char rel[64];
    snprintf(rel, sizeof rel, "task/%d/children", (int)f->pid);
    return read_children_file(f->children_fd, f->pid, rel, out);
}

/* ---- identity -------------------------------------------------------------------- */

char *proctree_cmdline(pid_t pid)
{
    char path[PATH_BUF], buf[4096];
    size_t len;
    if (rootfs_path(path, sizeof path, ROOTFS_PROC, "%d/cmdline", (int)pid) < 0 ||
        rootfs_read_file(path, buf, sizeof buf, &len) < 0)
        return NULL;
    return procfs_cmdline_join(buf, len);
}

void proctree_exe(pid_t pid, char *buf, size_t size)
{
    char path[PATH_BUF];
    buf[0] = '\0';
    if (rootfs_path(path, sizeof path, ROOTFS_PROC, "%d/exe", (int)pid) < 0)
        return;
    ssize_t n = readlink(path, buf, size - 1);
    buf[n > 0 ? (size_t)n : 0] = '\0';
}
