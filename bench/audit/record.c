/* record.c - what recording one `gpuctl list` sample costs, for bench/list.
 *
 * `record DB` takes one snapshot the way `gpuctl list --output json` does
 * (every host field, through the real sources: the fake NVML and the real
 * processes of the benchmark), then times what the list hook does with it:
 * audit_spool_append, the sample appended to the spool next to the
 * database.  Prints the wall and CPU time in microseconds and the spool's
 * size after it, on one line.
 *
 * `record --fold DB` times what moves the spool into the database, as the
 * list that makes the spool long (or the next reader) does it: audit_open,
 * which folds, and audit_close.  Prints the wall and CPU time in
 * microseconds and the number of samples the database holds after it.
 *
 * One run per process, as with list, so the per-process costs (opening the
 * files, SQLite's schema and WAL index for the fold) are counted.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/snapshot.h"
#include "store/audit.h"

struct mark {
    double wall_us, cpu_us;
};

static struct mark now(void)
{
    struct timespec w, c;
    clock_gettime(CLOCK_MONOTONIC, &w);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c);
    return (struct mark){w.tv_sec * 1e6 + w.tv_nsec / 1e3, c.tv_sec * 1e6 + c.tv_nsec / 1e3};
}

static int count_sample(const struct audit_gpu_record *r, void *arg)
{
    /* one GPU row of GPU 0 per sample */
    if (r->gpu_index == 0)
        ++*(size_t *)arg;
    return 0;
}

static int fold(const char *path)
{
    struct error e = {0};
    struct audit_db *db;
    struct mark t0 = now();
    int rc = audit_open(path, AUDIT_OPEN_SHORT_WAIT, &db, &e);
    if (rc == 0)
        audit_close(db);
    struct mark t1 = now();
    size_t samples = 0;
    struct audit_filter all = {.from_ms = 0, .to_ms = INT64_MAX};
    if (!rc)
        rc = audit_open(path, AUDIT_OPEN_READONLY, &db, &e);
    if (!rc) {
        rc = audit_query_gpus(db, &all, count_sample, &samples, &e);
        audit_close(db);
    }
    if (rc) {
        fprintf(stderr, "record: %s\n", e.msg);
        return 1;
    }
    printf("%.1f %.1f %zu\n", t1.wall_us - t0.wall_us, t1.cpu_us - t0.cpu_us, samples);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--fold") == 0)
        return fold(argv[2]);
    if (argc != 2) {
        fprintf(stderr, "usage: record DB | record --fold DB\n");
        return 2;
    }
    struct error e = {0};
    struct snapshot_ctx *ctx;
    struct snapshot *s;
    struct snapshot_options opts = {.processes = true, .host_processes = true,
                                    .host_fields = SNAPSHOT_HOST_ALL};
    if (snapshot_ctx_open(&ctx, &e) < 0 || snapshot_take(ctx, &opts, &s, &e) < 0) {
        fprintf(stderr, "record: %s\n", e.msg);
        return 1;
    }
    size_t bytes = 0;
    struct mark t0 = now();
    int rc = audit_spool_append(argv[1], s, 0, &bytes, &e);
    struct mark t1 = now();
    snapshot_free(s);
    snapshot_ctx_close(ctx);
    if (rc <= 0) {
        fprintf(stderr, "record: %s\n", rc ? e.msg : "no audit database at that path yet "
                                                    "(run gpuctl list once first)");
        return 1;
    }
    printf("%.1f %.1f %zu\n", t1.wall_us - t0.wall_us, t1.cpu_us - t0.cpu_us, bytes);
    return 0;
}
