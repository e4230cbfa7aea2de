/* rogue_facts.c - /proc/PID/exe, /proc/PID/io and /proc/PID/fd for
 * suspicious-usage detection.
 *
 * wchar counts every byte a process passes to write-like calls, sockets
 * included; write_bytes only what went to storage.  Their difference is
 * an upper bound on what it sent to sockets, pipes and terminals, which is
 * why the detector only calls it exfiltration together with open sockets.
 * Scoring is rogue.c's.
 */
#include "policy/rogue_facts.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "core/str.h"
#include "sources/rootfs.h"

static bool parse_u64(const char *p, const char *end, uint64_t *out)
{
    while (p < end && *p == ' ')
        p++;
    if (p >= end || *p < '0' || *p > '9')
        return false;
    uint64_t v = 0;
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    while (p < end && (*p == ' ' || *p == '\r'))
        p++;
    *out = v;
    return p == end;
}

static struct opt_u64 *io_slot(struct rogue_io *io, const char *key, size_t klen)
{
    static const struct { const char *name; size_t off; } keys[] = {
        {"rchar", offsetof(struct rogue_io, rchar)},
        {"wchar", offsetof(struct rogue_io, wchar)},
        {"read_bytes", offsetof(struct rogue_io, read_bytes)},
        {"write_bytes", offsetof(struct rogue_io, write_bytes)},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strlen(keys[i].name) == klen && memcmp(keys[i].name, key, klen) == 0)
            return (struct opt_u64 *)((char *)io + keys[i].off);
    return NULL;
}

int rogue_parse_io(const char *buf, size_t len, struct rogue_io *out)
{
    memset(out, 0, sizeof *out);
    int rc = 0;
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        const char *colon = memchr(p, ':', (size_t)(line_end - p));
        struct opt_u64 *slot = colon ? io_slot(out, p, (size_t)(colon - p)) : NULL;
        if (slot) {
            uint64_t v;
            if (parse_u64(colon + 1, line_end, &v))
                OPT_SET(*slot, v);
            else
                rc = -ERROR_PARSE;
        }
        p = nl ? nl + 1 : end;
    }
    return rc;
}

static void read_exe(pid_t pid, struct rogue_facts *out)
{
    char path[4200];
    if (rootfs_path(path, sizeof path, ROOTFS_PROC, "%d/exe", (int)pid) < 0)
        return;
    char target[sizeof out->exe + 16];
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n <= 0)
        return;
    target[n] = '\0';
    static const char deleted[] = " (deleted)";
    size_t dl = sizeof deleted - 1;
    if ((size_t)n > dl && strcmp(target + n - dl, deleted) == 0) {
        target[n - dl] = '\0';
        out->exe_deleted = true;
    }
    str_copy(out->exe, sizeof out->exe, target);
    out->exe_known = true;
}

static void read_io(pid_t pid, struct rogue_facts *out)
{
    char path[4200], buf[1024];
    size_t len;
    if (rootfs_path(path, sizeof path, ROOTFS_PROC, "%d/io", (int)pid) < 0 ||
        rootfs_read_file(path, buf, sizeof buf, &len) < 0)
        return;
    (void)rogue_parse_io(buf, len, &out->io);
}

static void count_fds(pid_t pid, struct rogue_facts *out)
{
    char path[4200];
    if (rootfs_path(path, sizeof path, ROOTFS_PROC, "%d/fd", (int)pid) < 0)
        return;
    DIR *d = opendir(path);
    if (!d)
        return;
    uint64_t fds = 0, sockets = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        fds++;
        char link[64];
        ssize_t n = readlinkat(dirfd(d), de->d_name, link, sizeof link - 1);
        if (n > 0) {
            link[n] = '\0';
            if (strncmp(link, "socket:", 7) == 0)
                sockets++;
        }
    }
    closedir(d);
    OPT_SET(out->fds, fds);
    OPT_SET(out->sockets, sockets);
}

void rogue_facts_read(pid_t pid, struct rogue_facts *out)
{
    memset(out, 0, sizeof *out);
    read_exe(pid, out);
    read_io(pid, out);
    count_fds(pid, out);
}

struct opt_u64 rogue_io_net_out(const struct rogue_io *io)
{
    struct opt_u64 r = {0};
    if (io->wchar.known && io->write_bytes.known)
        OPT_SET(r, io->wchar.v > io->write_bytes.v ? io->wchar.v - io->write_bytes.v : 0);
    return r;
}
