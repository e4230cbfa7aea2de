/* stream.h - long-running ssh commands whose output is a stream of lines,
 * one per host (`gpuctl --remote HOSTS list --watch`: each host runs
 * `gpuctl list --watch --output ndjson` and prints one document a frame).
 *
 * Every host's ssh runs at once (the caller bounds how many); one poll over
 * their stdout, stderr and pidfds hands each complete stdout line to a
 * callback as it arrives, so a slow host delays nobody.  A host that
 * prints no first line before its deadline is ended and marked timed out;
 * a host whose ssh ends is marked ended with its wait status and stderr,
 * for remote_classify.
 *
 * Threads: one thread drives a stream; no global state.
 */
#ifndef GPUCTL_REMOTE_STREAM_H
#define GPUCTL_REMOTE_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

struct remote_stream_host {
    char **argv;              /* in: NULL-terminated, argv[0] found on PATH */
    bool ended;               /* out: ssh has exited (or could not start) */
    bool timed_out;           /* out: no first line before the deadline; ended by us */
    bool too_long;            /* out: a line longer than 64 MiB; ended by us */
    int wait_status;          /* out, once ended */
    int spawn_error;          /* out: errno when ssh could not start */
    char *err;                /* out: the first 64 KiB of stderr, NUL-terminated */
    size_t err_len;
    size_t lines;             /* out: complete lines handed over so far */
};

/* Called with each complete line (without its newline) of host index
 * `host`; a negative return stops remote_stream_poll with that code. */
typedef int (*remote_stream_line_fn)(void *ctx, size_t host, const char *line, size_t len);

struct remote_stream;

/* Starts every host's argv.  A host that cannot start is ended at once
 * (spawn_error).  first_line_secs: its deadline for the first line (0:
 * none).  -ENOMEM with e filled.  Close with remote_stream_close. */
int remote_stream_open(struct remote_stream **out, struct remote_stream_host *hosts, size_t n,
                       char *const *envp, double first_line_secs, struct error *e);

/* Waits up to timeout_ms for output, hands over the complete lines, reaps
 * the hosts that ended.  Returns 0 (also when interrupted by a signal), a
 * callback's negative code, or -errno of poll with e filled. */
int remote_stream_poll(struct remote_stream *s, int timeout_ms, remote_stream_line_fn fn,
                       void *ctx, struct error *e);

/* How many hosts' ssh still run. */
size_t remote_stream_running(const struct remote_stream *s);

/* Ends every ssh still running (SIGTERM, then SIGKILL after a second),
 * reaps it and frees the stream; the hosts' err buffers stay the
 * caller's (free them with remote_stream_host_clear).  Accepts NULL. */
void remote_stream_close(struct remote_stream *s);
void remote_stream_host_clear(struct remote_stream_host *h);   /* accepts NULL */

#endif
