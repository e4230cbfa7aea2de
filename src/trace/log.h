/* log.h - one NDJSON output file of the recorder, buffered and rotated.
 *
 * <dir>/<prefix>.<kind>.ndjson is the live file.  When it would grow past
 * the rotation size it is renamed <prefix>.<kind>.<N>.ndjson (N = 1, 2, ...
 * in order of age, oldest first) and a new live file starts with the same
 * header line, so every file stands alone.  Only whole lines are written.
 * Used by the collector thread alone.
 */
#ifndef GPUCTL_TRACE_LOG_H
#define GPUCTL_TRACE_LOG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

struct trace_log {
    int fd;
    char dir[PATH_MAX];
    char prefix[160];
    char kind[16];
    char *header;           /* the header line, without newline; owned */
    size_t header_len;
    char *buf;              /* pending lines */
    size_t len, cap;
    uint64_t file_bytes;    /* in the live file, written or pending */
    uint64_t rotate_bytes;
    unsigned rotations;
    uint64_t lines;         /* lines written, headers and summaries included */
    int error;              /* first write error (-errno), then nothing more is written */
};

/* Creates <dir>/<prefix>.<kind>.ndjson, refusing to overwrite (-EEXIST). */
int trace_log_open(struct trace_log *l, const char *dir, const char *prefix, const char *kind,
                   uint64_t rotate_bytes, struct error *e);
/* Sets the header line and writes it. */
int trace_log_header(struct trace_log *l, const char *line, size_t len);
/* Queues one line (no newline in it); flushes when the buffer is large and
 * rotates when the live file would pass the rotation size. */
int trace_log_line(struct trace_log *l, const char *line, size_t len);
int trace_log_flush(struct trace_log *l);
/* Flushes and closes; safe on a log never opened (fd < 0). */
int trace_log_close(struct trace_log *l);
/* Path of the live file. */
int trace_log_path(const struct trace_log *l, char *buf, size_t size);

#endif
