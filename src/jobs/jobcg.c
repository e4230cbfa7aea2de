/* jobcg.c - the job's own memory cgroup (jobcg.h): finding a hierarchy
 * gpuctl may write to, making the child cgroup, reading its high-water
 * mark and removing it.
 *
 * It never enables controllers on a cgroup that holds processes, never
 * moves gpuctl itself and never touches a cgroup it did not make: when the
 * hierarchy does not already offer what is needed, the job is measured by
 * sampling instead and the reason is reported.
 */
#include "jobs/jobcg.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/str.h"
#include "sources/rootfs.h"

static bool field_has(const char *s, size_t n, const char *word)
{
    size_t w = strlen(word);
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && s[j] != ',' && s[j] != ' ' && s[j] != '\n')
            j++;
        if (j - i == w && memcmp(s + i, word, w) == 0)
            return true;
        i = j + 1;
    }
    return false;
}

int jobcg_parse_self(const char *buf, size_t len, int version, char *out, size_t size)
{
    size_t i = 0;
    while (i < len) {
        const char *line = buf + i;
        const char *nl = memchr(line, '\n', len - i);
        size_t n = nl ? (size_t)(nl - line) : len - i;
        i += n + 1;
        if (n == 0)
            continue;             /* an empty line names nothing */
        const char *c1 = memchr(line, ':', n);
        const char *c2 = c1 ? memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - line)) : NULL;
        if (!c2)
            return -ERROR_PARSE;
        const char *ctl = c1 + 1;
        size_t ctl_n = (size_t)(c2 - ctl);
        bool match = version == 2 ? (c1 - line == 1 && line[0] == '0' && ctl_n == 0)
                                  : field_has(ctl, ctl_n, "memory");
        if (!match)
            continue;
        size_t pn = n - (size_t)(c2 + 1 - line);
        if (pn == 0 || c2[1] != '/' || pn >= size || memchr(c2 + 1, '\0', pn))
            return -ERROR_PARSE;
        memcpy(out, c2 + 1, pn);
        out[pn] = '\0';
        return strstr(out, "/..") ? -ERROR_PARSE : 0;
    }
    return -ENOENT;
}

static int read_small(const char *path, char *buf, size_t size, size_t *len)
{
    return rootfs_read_file(path, buf, size, len);
}

/* The v2 mount: /sys/fs/cgroup on a unified system, .../unified on a
 * hybrid one. */
static int v2_base(char *base, size_t size)
{
    static const char *const mounts[] = {"fs/cgroup", "fs/cgroup/unified"};
    for (size_t i = 0; i < 2; i++) {
        char probe[600];
        if (rootfs_path(base, size, ROOTFS_SYS, "%s", mounts[i]) < 0)
            return -ENAMETOOLONG;
        snprintf(probe, sizeof probe, "%s/cgroup.controllers", base);
        if (access(probe, R_OK) == 0)
            return 0;
    }
    return -ENOENT;
}

static int self_path(int version, char *out, size_t size, char *why, size_t why_size)
{
    char path[600], buf[4096];
    size_t len;
    if (rootfs_path(path, sizeof path, ROOTFS_PROC, "self/cgroup") < 0 ||
        read_small(path, buf, sizeof buf, &len) < 0) {
        snprintf(why, why_size, "cannot read %.200s", path);
        return -ENOENT;
    }
    int rc = jobcg_parse_self(buf, len, version, out, size);
    if (rc < 0)
        snprintf(why, why_size, "%.200s names no %s cgroup", path,
                 version == 2 ? "cgroup v2" : "v1 memory");
    return rc;
}

static int make_child(struct jobcg *cg, const char *parent, pid_t owner, const char *peak_file,
                      char *why, size_t why_size)
{
    if (snprintf(cg->path, sizeof cg->path, "%s/gpuctl-run-%d", parent, (int)owner) >=
        (int)sizeof cg->path)
        return -ENAMETOOLONG;
    (void)rmdir(cg->path);     /* a leftover of a gpuctl that was killed */
    if (mkdir(cg->path, 0755) < 0) {
        int err = -errno;
        snprintf(why, why_size, "cannot create the cgroup %.200s: %s", cg->path, strerror(errno));
        cg->path[0] = '\0';
        return err;
    }
    char file[600];
    snprintf(file, sizeof file, "%s/cgroup.procs", cg->path);
    cg->procs_fd = open(file, O_WRONLY | O_CLOEXEC);
    snprintf(file, sizeof file, "%s/%s", cg->path, peak_file);
    cg->peak_fd = open(file, O_RDONLY | O_CLOEXEC);
    snprintf(file, sizeof file, "%s/memory.stat", cg->path);
    cg->stat_fd = open(file, O_RDONLY | O_CLOEXEC);
    if (cg->procs_fd < 0 || cg->peak_fd < 0 || cg->stat_fd < 0) {
        int err = -errno;
        snprintf(why, why_size, "the cgroup %.200s has no %s%s", cg->path,
                 cg->procs_fd < 0 ? "cgroup.procs" : cg->peak_fd < 0 ? peak_file
                                                                      : "memory.stat",
                 cg->peak_fd < 0 && strcmp(peak_file, "memory.peak") == 0
                     ? " (it needs Linux 5.19 or later)" : "");
        jobcg_remove(cg);
        return err;
    }
    return 0;
}

static int try_v2(struct jobcg *cg, pid_t owner, char *why, size_t why_size)
{
    char base[512], rel[512], parent[1100], ctl[1200], buf[512];
    size_t len;
    if (v2_base(base, sizeof base) < 0) {
        snprintf(why, why_size, "no cgroup v2 hierarchy is mounted");
        return -ENOENT;
    }
    int rc = self_path(2, rel, sizeof rel, why, why_size);
    if (rc < 0)
        return rc;
    snprintf(parent, sizeof parent, "%s%s", base, strcmp(rel, "/") == 0 ? "" : rel);
    snprintf(ctl, sizeof ctl, "%s/cgroup.subtree_control", parent);
    if (read_small(ctl, buf, sizeof buf, &len) < 0 || !field_has(buf, len, "memory")) {
        snprintf(why, why_size, "the memory controller is not enabled for children of %.200s "
                 "(cgroup v2)", parent);
        return -ENOTSUP;
    }
    cg->version = 2;
    rc = make_child(cg, parent, owner, "memory.peak", why, why_size);
    if (rc < 0)
        cg->version = 0;
    return rc;
}

static int try_v1(struct jobcg *cg, pid_t owner, char *why, size_t why_size)
{
    char base[512], rel[512], parent[1100];
    if (rootfs_path(base, sizeof base, ROOTFS_SYS, "fs/cgroup/memory") < 0)
        return -ENAMETOOLONG;
    int rc = self_path(1, rel, sizeof rel, why, why_size);
    if (rc < 0)
        return rc;
    snprintf(parent, sizeof parent, "%s%s", base, strcmp(rel, "/") == 0 ? "" : rel);
    struct stat st;
    if (stat(parent, &st) < 0 || !S_ISDIR(st.st_mode)) {
        snprintf(why, why_size, "the v1 memory cgroup %.200s is not mounted here", parent);
        return -ENOENT;
    }
    cg->version = 1;
    rc = make_child(cg, parent, owner, "memory.max_usage_in_bytes", why, why_size);
    if (rc < 0)
        cg->version = 0;
    return rc;
}

int jobcg_create(struct jobcg *cg, pid_t owner, char *why, size_t why_size)
{
    *cg = (struct jobcg){.procs_fd = -1, .peak_fd = -1, .stat_fd = -1};
    char why2[256] = "";
    int rc = try_v2(cg, owner, why, why_size);
    if (rc == 0)
        return 0;
    if (try_v1(cg, owner, why2, sizeof why2) == 0)
        return 0;      /* why keeps the reason v2 was passed over */
    size_t n = strlen(why);
    if (why2[0] && n + 2 < why_size)
        snprintf(why + n, why_size - n, "; %s", why2);
    return rc;
}

int jobcg_enter(const struct jobcg *cg)
{
    if (cg->procs_fd < 0)
        return -EBADF;
    /* "0" is the writing process itself in both versions. */
    return write(cg->procs_fd, "0", 1) == 1 ? 0 : -errno;
}

int jobcg_read_peak(const struct jobcg *cg, uint64_t *bytes)
{
    char buf[64];
    if (cg->peak_fd < 0)
        return -EBADF;
    ssize_t n = pread(cg->peak_fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return n < 0 ? -errno : -ERROR_PARSE;
    uint64_t v = 0;
    ssize_t i = 0;
    for (; i < n && buf[i] >= '0' && buf[i] <= '9' && i < 20; i++)
        v = v * 10 + (uint64_t)(buf[i] - '0');
    if (i == 0)
        return -ERROR_PARSE;
    *bytes = v;
    return 0;
}

/* The decimal value of key's line ("key 123\n"); -ENOENT when absent. */
static int stat_value(const char *buf, size_t len, const char *key, uint64_t *v)
{
    size_t k = strlen(key), i = 0;
    while (i < len) {
        const char *line = buf + i;
        const char *nl = memchr(line, '\n', len - i);
        size_t n = nl ? (size_t)(nl - line) : len - i;
        i += n + 1;
        if (n <= k || memcmp(line, key, k) != 0 || line[k] != ' ')
            continue;
        uint64_t acc = 0;
        size_t j = k + 1;
        for (; j < n && line[j] >= '0' && line[j] <= '9'; j++) {
            if (acc > (UINT64_MAX - 9) / 10)
                return -ERROR_PARSE;
            acc = acc * 10 + (uint64_t)(line[j] - '0');
        }
        if (j == k + 1 || j != n)
            return -ERROR_PARSE;
        *v = acc;
        return 0;
    }
    return -ENOENT;
}

int jobcg_parse_anon(const char *buf, size_t len, int version, uint64_t *bytes)
{
    uint64_t anon, shmem = 0;
    int rc = stat_value(buf, len, version == 2 ? "anon" : "total_rss", &anon);
    if (rc < 0)
        return rc;
    rc = stat_value(buf, len, version == 2 ? "shmem" : "total_shmem", &shmem);
    if (rc == -ERROR_PARSE)
        return rc;
    *bytes = anon + shmem;
    return 0;
}

int jobcg_read_anon(const struct jobcg *cg, uint64_t *bytes)
{
    char buf[16384];
    if (cg->stat_fd < 0)
        return -EBADF;
    ssize_t n = pread(cg->stat_fd, buf, sizeof buf, 0);
    if (n < 0)
        return -errno;
    return jobcg_parse_anon(buf, (size_t)n, cg->version, bytes);
}

void jobcg_remove(struct jobcg *cg)
{
    if (cg->procs_fd >= 0)
        close(cg->procs_fd);
    if (cg->peak_fd >= 0)
        close(cg->peak_fd);
    if (cg->stat_fd >= 0)
        close(cg->stat_fd);
    cg->procs_fd = cg->peak_fd = cg->stat_fd = -1;
    if (cg->path[0])
        (void)rmdir(cg->path);
    cg->path[0] = '\0';
    cg->version = 0;
}
