/* analyze.h - `gpuctl analyze`: figures from a recorder's logs.
 *
 * Reads <dir>/<prefix>.{kernel,scope,system}[.N].ndjson in one streaming
 * pass: memory depends on the number of distinct kernels, scope paths and
 * devices, never on the length of the logs.  Lines that are not valid JSON
 * or not a record the analyzer knows (a job killed mid-write) are counted
 * and skipped.  Rendering (table, JSON) is the CLI's; the HTML timeline is
 * analyze_html.c's.
 */
#ifndef GPUCTL_TRACE_ANALYZE_H
#define GPUCTL_TRACE_ANALYZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/model.h"

#define ANALYZE_MAX_DEVICES 64
#define ANALYZE_MAX_KEYS 100000      /* distinct kernels, and distinct scope paths */
#define ANALYZE_MAX_KERNEL_SCOPES 8
#define ANALYZE_PATH_SEP '\x1f'      /* joins path components in keys */

struct analyze_scope {
    char *path;               /* components joined by ANALYZE_PATH_SEP; owned */
    const char *name;         /* last component, inside path */
    unsigned depth;
    uint64_t calls, total_ns, self_ns;
    uint64_t kernels_self, gpu_self_ns;      /* kernels launched directly in it */
    uint64_t kernels, gpu_ns;                /* ...and in its descendants */
};

struct analyze_kernel_scope {
    char *path;               /* NULL: unattributed; "" : no scope */
    uint64_t count;
};

struct analyze_kernel {
    char *name;               /* demangled when the log had it; owned */
    uint64_t count, total_ns, min_ns, max_ns;
    int64_t grid[3], block[3];
    bool dims_vary;
    uint64_t registers, static_smem, dynamic_smem;
    struct analyze_kernel_scope scopes[ANALYZE_MAX_KERNEL_SCOPES];
    size_t scope_count;
    uint64_t other_scopes;    /* launches under further paths */
};

struct analyze_result {
    /* input */
    size_t files;
    uint64_t lines, corrupt_lines, unknown_lines;
    char first_corrupt[512];  /* "file:line" of the first one, "" if none */
    /* header */
    bool have_header;
    char host[256];
    int64_t pid;
    char *command;            /* owned; NULL when unknown */
    uint64_t mono_ns, wall_ns;
    uint64_t version;
    char *activity_error;     /* owned; the recorder's CUPTI status */
    /* time span of all records */
    bool have_time;
    uint64_t t_min, t_max;
    /* kernels and copies */
    uint64_t kernels, kernel_ns, memcpys, memcpy_bytes, memsets;
    struct opt_f64 gpu_busy_pct;        /* kernel time union over span, mean of devices */
    size_t devices_with_kernels;
    /* system samples */
    uint64_t host_samples, device_samples;
    struct opt_f64 util_gpu_mean_pct;
    struct opt_u64 vram_peak_bytes, vram_total_bytes;
    struct opt_f64 host_cpu_mean_pct, process_cpu_mean_pct;
    /* drops */
    bool have_summary;
    uint64_t ring_drops, cupti_drops, name_drops, unattributed;
    uint64_t overflow_keys;   /* records lumped because of ANALYZE_MAX_KEYS */
    /* tables */
    struct analyze_scope *scopes;       /* depth-first order (parents before children) */
    size_t scope_count;
    struct analyze_kernel *hot;         /* by total GPU time, descending */
    size_t hot_count;
};

struct analyze_opts {
    const char *dir;
    const char *prefix;       /* NULL: the only prefix in dir */
    size_t top;               /* hotspots kept; 0: all */
};

/* The files of prefix in reading order (rotated ones oldest first, then the
 * live one), kernel, scope and system logs.  Caller frees with
 * analyze_files_free.  Fails when there are none. */
int analyze_find_files(const char *dir, const char *prefix, char ***files, size_t *count,
                       struct error *e);
void analyze_files_free(char **files, size_t count);
/* When prefix is NULL: the only prefix with logs in dir (malloc'd), or an
 * error listing the ones found. */
int analyze_pick_prefix(const char *dir, char **prefix, struct error *e);

int analyze_run(const struct analyze_opts *o, struct analyze_result **out, struct error *e);
void analyze_free(struct analyze_result *r);

/* Streams every line of files to fn; lines that are not valid JSON objects
 * are counted in *corrupt (first one's place into where) and skipped. */
struct ndj_line;
typedef void (*analyze_line_fn)(void *arg, const struct ndj_line *line);
int analyze_stream(char *const *files, size_t count, analyze_line_fn fn, void *arg,
                   uint64_t *lines, uint64_t *corrupt, char *where, size_t where_size,
                   struct error *e);

/* One self-contained HTML file with the zoomable timeline. */
int analyze_html_write(const struct analyze_opts *o, const struct analyze_result *r,
                       const char *path, struct error *e);

#endif
