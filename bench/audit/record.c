/* record.c - what recording one `gpuctl list` sample costs, for bench/list.
 *
 * Takes one snapshot the way `gpuctl list --output json` does (every host
 * field, through the real sources: the fake NVML and the real processes of
 * the benchmark), then times what the list hook does with it: audit_open
 * of the database at DB, audit_record_snapshot and audit_close.  One run
 * per process, as with list, so the per-process costs (opening the file,
 * preparing the statements, finding the WAL) are counted.  Prints the
 * wall time of the three steps, then their CPU time, in microseconds, on
 * one line.  Usage: record DB
 */
#include <stdio.h>
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

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: record DB\n");
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
    struct audit_db *db;
    struct mark t0 = now();
    int rc = audit_open(argv[1], AUDIT_OPEN_SHORT_WAIT, &db, &e);
    struct mark t1 = now();
    if (!rc)
        rc = audit_record_snapshot(db, s, 0, &e);
    struct mark t2 = now();
    audit_close(db);
    struct mark t3 = now();
    snapshot_free(s);
    snapshot_ctx_close(ctx);
    if (rc) {
        fprintf(stderr, "record: %s\n", e.msg);
        return 1;
    }
    printf("%.1f %.1f %.1f %.1f %.1f %.1f\n", t1.wall_us - t0.wall_us, t2.wall_us - t1.wall_us,
           t3.wall_us - t2.wall_us, t1.cpu_us - t0.cpu_us, t2.cpu_us - t1.cpu_us,
           t3.cpu_us - t2.cpu_us);
    return 0;
}
