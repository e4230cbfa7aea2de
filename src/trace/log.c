/* log.c - buffered, rotated NDJSON files (see log.h).
 *
 * Pending lines are kept in one buffer and written with write(2) in whole
 * lines, so a process killed between two flushes leaves a file that ends at
 * a line boundary or, at worst, in the middle of the last write (the
 * analyzer counts such a line and skips it).  What a line holds is the
 * collector's business.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace/log.h"

#define LOG_BUFFER_FLUSH (256u << 10)

int trace_log_path(const struct trace_log *l, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/%s.%s.ndjson", l->dir, l->prefix, l->kind);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int trace_log_open(struct trace_log *l, const char *dir, const char *prefix, const char *kind,
                   uint64_t rotate_bytes, struct error *e)
{
    memset(l, 0, sizeof *l);
    l->fd = -1;
    if (strlen(dir) >= sizeof l->dir || strlen(prefix) >= sizeof l->prefix ||
        strlen(kind) >= sizeof l->kind)
        return error_set(e, -ENAMETOOLONG, "trace log name too long: %s/%s.%s.ndjson", dir,
                         prefix, kind);
    strcpy(l->dir, dir);
    strcpy(l->prefix, prefix);
    strcpy(l->kind, kind);
    l->rotate_bytes = rotate_bytes;
    char path[PATH_MAX + 200];
    if (trace_log_path(l, path, sizeof path) < 0)
        return error_set(e, -ENAMETOOLONG, "trace log path too long under %s", dir);
    l->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_APPEND, 0644);
    if (l->fd < 0)
        return error_set(e, -errno, "cannot create %s: %s", path, strerror(errno));
    return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int trace_log_flush(struct trace_log *l)
{
    if (l->error || l->fd < 0)
        return l->error;
    if (l->len) {
        int rc = write_all(l->fd, l->buf, l->len);
        if (rc < 0)
            l->error = rc;
        l->len = 0;
    }
    return l->error;
}

static int append(struct trace_log *l, const char *line, size_t len)
{
    if (l->len + len + 1 > l->cap) {
        size_t cap = l->cap ? l->cap : 64u << 10;
        while (cap < l->len + len + 1)
            cap *= 2;
        char *p = realloc(l->buf, cap);
        if (!p)
            return -ENOMEM;
        l->buf = p;
        l->cap = cap;
    }
    memcpy(l->buf + l->len, line, len);
    l->buf[l->len + len] = '\n';
    l->len += len + 1;
    l->file_bytes += len + 1;
    l->lines++;
    return 0;
}

static int rotate(struct trace_log *l)
{
    int rc = trace_log_flush(l);
    if (rc < 0)
        return rc;
    char live[PATH_MAX + 200], old[PATH_MAX + 220];
    trace_log_path(l, live, sizeof live);
    snprintf(old, sizeof old, "%s/%s.%s.%u.ndjson", l->dir, l->prefix, l->kind,
             l->rotations + 1);
    if (rename(live, old) < 0)
        return l->error = -errno;
    close(l->fd);
    l->fd = open(live, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0644);
    if (l->fd < 0)
        return l->error = -errno;
    l->rotations++;
    l->file_bytes = 0;
    return l->header ? append(l, l->header, l->header_len) : 0;
}

int trace_log_header(struct trace_log *l, const char *line, size_t len)
{
    char *h = malloc(len + 1);
    if (!h)
        return -ENOMEM;
    memcpy(h, line, len);
    h[len] = '\0';
    free(l->header);
    l->header = h;
    l->header_len = len;
    return append(l, line, len);
}

int trace_log_line(struct trace_log *l, const char *line, size_t len)
{
    if (l->error)
        return l->error;
    if (l->rotate_bytes && l->file_bytes > l->header_len + 1 &&
        l->file_bytes + len + 1 > l->rotate_bytes) {
        int rc = rotate(l);
        if (rc < 0)
            return rc;
    }
    int rc = append(l, line, len);
    if (rc < 0)
        return rc;
    return l->len >= LOG_BUFFER_FLUSH ? trace_log_flush(l) : 0;
}

int trace_log_close(struct trace_log *l)
{
    int rc = 0;
    if (l->fd >= 0) {
        rc = trace_log_flush(l);
        if (close(l->fd) < 0 && rc == 0)
            rc = -errno;
        l->fd = -1;
    }
    free(l->buf);
    free(l->header);
    l->buf = l->header = NULL;
    l->len = l->cap = 0;
    return rc;
}
