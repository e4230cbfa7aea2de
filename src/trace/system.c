/* system.c - system samples for the recorder (see system.h).
 *
 * Device metrics come from snapshot_take, so the recorder reads NVML the
 * way every other gpuctl command does (one binding, the same unknowns);
 * host CPU is the busy share of /proc/stat between two samples and the
 * process's own CPU the same for /proc/PID/stat.  Where the lines go is the
 * collector's business.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/snapshot.h"
#include "sources/procfs.h"
#include "sources/rootfs.h"
#include "trace/system.h"

struct trace_system {
    struct snapshot_ctx *ctx;      /* NULL when no source started */
    struct procfs *pfs;
    char status[ERROR_MSG_MAX];
    bool have_prev;
    uint64_t prev_busy, prev_total, prev_self;
    uint64_t prev_ns;
    long ticks;
};

int trace_system_open(struct trace_system **out, struct error *e)
{
    struct trace_system *s = calloc(1, sizeof *s);
    if (!s)
        return error_set(e, -ENOMEM, "out of memory");
    struct error se = {0};
    if (snapshot_ctx_open(&s->ctx, &se) < 0) {
        s->ctx = NULL;
        snprintf(s->status, sizeof s->status, "%s", se.msg);
    }
    int rc = procfs_open(&s->pfs, e);
    if (rc < 0) {
        trace_system_close(s);
        return rc;
    }
    s->ticks = sysconf(_SC_CLK_TCK);
    *out = s;
    return 0;
}

void trace_system_close(struct trace_system *s)
{
    if (!s)
        return;
    snapshot_ctx_close(s->ctx);
    procfs_close(s->pfs);
    free(s);
}

const char *trace_system_status(const struct trace_system *s)
{
    return s->status;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

int trace_parse_cpu_stat(const char *buf, size_t len, uint64_t *busy, uint64_t *total)
{
    if (len < 4 || memcmp(buf, "cpu", 3) != 0 || !is_space(buf[3]))
        return -ERROR_PARSE;
    size_t i = 3;
    uint64_t v[8] = {0};
    int n = 0;
    while (n < 8) {
        while (i < len && is_space(buf[i]))
            i++;
        if (i >= len || buf[i] < '0' || buf[i] > '9')
            break;
        uint64_t x = 0;
        while (i < len && buf[i] >= '0' && buf[i] <= '9') {
            if (x > (UINT64_MAX - 9) / 10)
                return -ERROR_PARSE;
            x = x * 10 + (uint64_t)(buf[i++] - '0');
        }
        v[n++] = x;
    }
    if (n < 4)
        return -ERROR_PARSE;
    uint64_t t = 0;
    for (int k = 0; k < n; k++) {
        if (t + v[k] < t)
            return -ERROR_PARSE;
        t += v[k];
    }
    *total = t;
    *busy = t - v[3] - (n > 4 ? v[4] : 0);
    return 0;
}

static int read_cpu(uint64_t *busy, uint64_t *total)
{
    char path[4096], buf[512];
    size_t len;
    if (rootfs_path(path, sizeof path, ROOTFS_PROC, "stat") < 0 ||
        rootfs_read_file(path, buf, sizeof buf, &len) < 0)
        return -1;
    return trace_parse_cpu_stat(buf, len, busy, total);
}

static int read_self(uint64_t *ticks)
{
    char path[4096], buf[1024];
    size_t len;
    struct procfs_stat st;
    if (rootfs_path(path, sizeof path, ROOTFS_PROC, "%d/stat", (int)getpid()) < 0 ||
        rootfs_read_file(path, buf, sizeof buf, &len) < 0 ||
        procfs_parse_stat(buf, len, &st) < 0)
        return -1;
    *ticks = st.utime + st.stime;
    return 0;
}

static int host_line(struct trace_system *s, uint64_t now_ns, struct tjson *j,
                     trace_emit_fn emit, void *arg)
{
    struct host_info h;
    struct error e = {0};
    if (procfs_read_host(s->pfs, &h, &e) < 0)
        memset(&h, 0, sizeof h);
    uint64_t busy = 0, total = 0, self = 0;
    bool cpu_ok = read_cpu(&busy, &total) == 0;
    bool self_ok = read_self(&self) == 0;
    tjson_reset(j);
    tjson_open(j, '{');
    tjson_kstr(j, "type", "host");
    tjson_ku64(j, "t_ns", now_ns);
    if (cpu_ok && s->have_prev && total > s->prev_total)
        tjson_kf64(j, "cpu_pct", 100.0 * (double)(busy - s->prev_busy) /
                                 (double)(total - s->prev_total));
    else
        tjson_knull(j, "cpu_pct");
    double dt = (double)(now_ns - s->prev_ns) / 1e9;
    if (self_ok && s->have_prev && dt > 0 && s->ticks > 0 && self >= s->prev_self)
        tjson_kf64(j, "process_cpu_pct",
                   100.0 * (double)(self - s->prev_self) / (double)s->ticks / dt);
    else
        tjson_knull(j, "process_cpu_pct");
    tjson_kopt_u64(j, "mem_total_bytes", h.mem_total_bytes);
    tjson_kopt_u64(j, "mem_available_bytes", h.mem_available_bytes);
    if (h.mem_total_bytes.known && h.mem_available_bytes.known &&
        h.mem_total_bytes.v >= h.mem_available_bytes.v)
        tjson_ku64(j, "mem_used_bytes", h.mem_total_bytes.v - h.mem_available_bytes.v);
    else
        tjson_knull(j, "mem_used_bytes");
    tjson_close(j, '}');
    s->have_prev = cpu_ok && self_ok;
    s->prev_busy = busy;
    s->prev_total = total;
    s->prev_self = self;
    s->prev_ns = now_ns;
    return j->oom ? -ENOMEM : emit(arg, j->p, j->len);
}

static int device_line(const struct device *d, uint64_t now_ns, struct tjson *j,
                       trace_emit_fn emit, void *arg)
{
    tjson_reset(j);
    tjson_open(j, '{');
    tjson_kstr(j, "type", "device");
    tjson_ku64(j, "t_ns", now_ns);
    tjson_ki64(j, "index", d->index);
    tjson_kstr(j, "uuid", d->uuid[0] ? d->uuid : NULL);
    tjson_kstr(j, "name", d->name[0] ? d->name : NULL);
    tjson_kopt_f64(j, "util_gpu_pct", d->util_gpu_pct);
    tjson_kopt_f64(j, "util_mem_pct", d->util_mem_pct);
    tjson_kopt_u64(j, "mem_used_bytes", d->mem_used_bytes);
    tjson_kopt_u64(j, "mem_total_bytes", d->mem_total_bytes);
    tjson_kopt_i64(j, "temp_c", d->temp_c);
    if (d->power_mw.known)
        tjson_kf64(j, "power_w", (double)d->power_mw.v / 1000.0);
    else
        tjson_knull(j, "power_w");
    tjson_kopt_u64(j, "clock_sm_mhz", d->clock_sm_mhz);
    tjson_kopt_u64(j, "clock_mem_mhz", d->clock_mem_mhz);
    tjson_close(j, '}');
    return j->oom ? -ENOMEM : emit(arg, j->p, j->len);
}

int trace_system_sample(struct trace_system *s, uint64_t now_ns, struct tjson *j,
                        trace_emit_fn emit, void *arg)
{
    int rc = host_line(s, now_ns, j, emit, arg);
    if (rc < 0 || !s->ctx)
        return rc;
    struct snapshot_options opts = {0};
    struct snapshot *snap = NULL;
    struct error e = {0};
    if (snapshot_take(s->ctx, &opts, &snap, &e) < 0)
        return 0;            /* a failed reading is a gap in the series, not an error */
    for (size_t i = 0; i < snap->device_count && rc >= 0; i++)
        rc = device_line(&snap->devices[i], now_ns, j, emit, arg);
    snapshot_free(snap);
    return rc;
}
