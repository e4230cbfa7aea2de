/* system.h - the recorder's system samples: every device through gpuctl's
 * own snapshot (NVML and the other sources), and the host's CPU and memory
 * from /proc.
 *
 * One sample is a "host" line and one "device" line per device.  The first
 * sample has no CPU percentages (a rate needs two readings): they are null
 * there, never zero.  Collector thread only.
 */
#ifndef GPUCTL_TRACE_SYSTEM_H
#define GPUCTL_TRACE_SYSTEM_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "trace/json.h"

struct trace_system;

/* Starts the sources.  No GPU source is not an error: samples then hold the
 * host only, and trace_system_status says why. */
int trace_system_open(struct trace_system **out, struct error *e);
void trace_system_close(struct trace_system *s);
/* Why device metrics are missing; "" when a GPU source started. */
const char *trace_system_status(const struct trace_system *s);

typedef int (*trace_emit_fn)(void *arg, const char *line, size_t len);

/* Takes one sample at monotonic time now_ns and emits its lines. */
int trace_system_sample(struct trace_system *s, uint64_t now_ns, struct tjson *j,
                        trace_emit_fn emit, void *arg);

/* The aggregate "cpu" line of /proc/stat: busy and total ticks (idle and
 * iowait are not busy).  0, or -ERROR_PARSE for anything else. */
int trace_parse_cpu_stat(const char *buf, size_t len, uint64_t *busy, uint64_t *total);

#endif
