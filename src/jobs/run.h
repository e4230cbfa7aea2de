/* run.h - running a job and measuring the memory of its whole process tree
 * (`gpuctl run`), host and GPU.
 *
 * run_job forks the command, becomes a child subreaper so that orphans and
 * double-forked daemons stay in the tree, samples the tree every interval by
 * walking /proc/PID/task/TID/children from gpuctl itself, reaps every
 * process that ends up as its child with wait4 (whose ru_maxrss is exact
 * even for a process that lived shorter than one interval), and returns a
 * report once the last process of the tree has exited.  The job's total
 * is the RAM it needed: the anonymous + shmem memory of a cgroup of its own
 * when gpuctl can create one, else the sum of RSS, sampled each interval
 * and never below the largest single-process peak; the cgroup's own
 * high-water mark, which also counts the page cache the job brought in, is
 * kept under its own name.  docs/design.md ("gpuctl run: what is exact")
 * says which figure is exact under which condition.
 *
 * Rendering (table, JSON, CSV, HTML) is the CLI's; grouping and the leak
 * heuristic are report.h's.
 */
#ifndef GPUCTL_JOBS_RUN_H
#define GPUCTL_JOBS_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "core/model.h"

/* How the job's total peak was measured: always sampled each interval,
 * and never below the largest single-process peak. */
enum run_method {
    RUN_METHOD_SAMPLED_RSS,   /* sum of RSS at each sample */
    RUN_METHOD_SAMPLED_PSS,   /* sum of PSS at each sample (--pss) */
    RUN_METHOD_CGROUP_V2,     /* anon + shmem of the job's own v2 cgroup (memory.stat) */
    RUN_METHOD_CGROUP_V1,     /* total_rss + total_shmem of its v1 memory cgroup */
};

/* "cgroup-v2-anon", "cgroup-v1-anon", "sampled-rss", "sampled-pss" (the
 * JSON method). */
const char *run_method_name(enum run_method m);

/* Where a process's peak came from. */
enum run_peak_source {
    RUN_PEAK_NONE,    /* never read (a process seen only as a zombie) */
    RUN_PEAK_HWM,     /* VmHWM, the kernel's high-water mark */
    RUN_PEAK_WAIT4,   /* ru_maxrss from wait4, when gpuctl reaped it */
    RUN_PEAK_PSS,     /* the largest PSS sampled (--pss) */
    RUN_PEAK_EXIT,    /* the taskstats exit record's hiwater_rss */
    RUN_PEAK_RSS,     /* a sampled RSS above the last VmHWM read (read again soon) */
};

const char *run_peak_source_name(enum run_peak_source s);

/* One sample of one process. */
struct run_point {
    uint32_t sample;          /* index into run_report.timeline */
    uint64_t rss_kib;         /* RSS, or PSS with --pss */
};

struct run_proc {
    pid_t pid;
    pid_t ppid;
    uint64_t start_ticks;
    char command[64];         /* comm at the peak (after exec: the new name) */
    char *cmdline;            /* owned; at the peak; NULL when unreadable */
    char exe[256];            /* /proc/PID/exe target at the peak; "" unknown */
    uint64_t max_rss_kib;     /* the peak: VmHWM, ru_maxrss, or PSS with --pss */
    enum run_peak_source peak_source;
    double first_seen, last_seen;   /* epoch seconds */
    bool reaped;              /* gpuctl reaped it (a child or an orphan) */
    struct opt_i64 exit_status;     /* wait status, when reaped */
    /* GPU, with --gpu: peak memory over every device, and peak SM % */
    struct opt_u64 gpu_mem_peak_bytes;
    struct opt_f64 gpu_sm_peak_pct;
    /* samples */
    struct run_point *points;
    size_t point_count, point_cap;
    /* leak heuristic (report.h) */
    bool leak_suspect;
    double leak_growth_pct;
};

struct run_sample {
    double wall;              /* epoch seconds */
    double elapsed_s;         /* since the job started */
    uint64_t total_kib;       /* sum over the tree (RSS, or PSS with --pss) */
    uint32_t process_count;
    struct opt_u64 gpu_mem_bytes;   /* with --gpu: the tree's GPU memory */
};

enum run_limit { RUN_LIMIT_NONE = 0, RUN_LIMIT_TOTAL = 10, RUN_LIMIT_PER_PROC = 11 };

struct run_breach {
    enum run_limit kind;      /* RUN_LIMIT_NONE: no limit was exceeded */
    double at;                /* epoch seconds when gpuctl saw it */
    uint64_t value_kib;       /* the figure that crossed the limit */
    uint64_t limit_kib;
    pid_t pid;                /* per-process: the process; total: 0 */
    char command[64];
    bool killed;              /* --kill-on-limit ended the job */
};

struct run_report {
    char **argv;              /* owned, NULL-terminated copy */
    double start_time, end_time, duration_s;   /* epoch, epoch, seconds */
    unsigned interval_ms;
    bool pss, gpu;
    enum run_method method;
    char method_note[512];    /* why the cgroup was not used; "" when it was */
    bool exit_records;        /* taskstats exit records were received */
    bool exit_records_lost;   /* ... but the kernel dropped some */
    char exit_note[256];      /* why there were none; "" when there were */
    bool lower_bound;         /* without (all) exit records: a process that lived and
                               * died between two samples may be missing, so the
                               * figures are lower bounds */
    uint64_t waited_max_kib;  /* the largest wait4 ru_maxrss of a process gpuctl reaped
                               * that had waited for children: the largest peak among
                               * it and its reaped descendants, a floor of the total */
    uint64_t max_total_rss_kib;     /* the job's peak by method: the RAM it needed */
    struct opt_u64 cgroup_peak_kib; /* the cgroup's high-water mark (page cache included) */
    uint64_t sampled_max_total_kib; /* the largest sampled sum, always */
    double max_total_at;            /* epoch of the largest sampled sum */
    struct opt_u64 gpu_total_peak_bytes;
    pid_t pid;                /* the command's own process */
    int wait_status;          /* its wait status */
    int exit_code;            /* its exit code, or 128+N for signal N */
    int forwarded_signal;     /* the last signal passed on to the job, 0 none */
    struct run_breach breach;
    struct run_proc *procs;   /* every process seen, in order of discovery */
    size_t proc_count, proc_cap;
    struct run_sample *timeline;
    size_t sample_count, sample_cap;
};

/* Called after each sample, with the report so far (for --live). */
typedef void (*run_sample_fn)(const struct run_report *r, void *arg);

struct run_options {
    char *const *argv;        /* the command; argv[0] looked up in PATH */
    unsigned interval_ms;     /* > 0 */
    bool pss;                 /* PSS from smaps_rollup instead of RSS */
    bool gpu;                 /* GPU memory and SM % through the snapshot layer */
    bool no_cgroup;           /* do not try a cgroup (GPUCTL_RUN_NO_CGROUP=1) */
    bool no_exit_records;     /* do not listen to taskstats (GPUCTL_RUN_NO_TASKSTATS=1) */
    uint64_t max_total_kib;   /* 0: no limit */
    uint64_t max_proc_kib;    /* 0: no limit */
    bool kill_on_limit;
    run_sample_fn on_sample;  /* may be NULL */
    void *on_sample_arg;
};

/* Runs the job to the end of its whole tree.  SIGINT, SIGTERM, SIGHUP and
 * SIGQUIT received meanwhile are passed on to the job (to the command, or
 * to what is left of the tree once it has exited) and the report is still
 * returned.  The signal mask is restored before returning.
 *
 * Returns 0 with *out set (free with run_report_free), or -errno when the
 * job could not be started at all: -ENOENT/-EACCES naming the command when
 * it cannot be executed, ERROR_GPU_LIBRARY with --gpu when no GPU source
 * starts.  A cgroup that cannot be created is no error: the report's
 * method and method_note say so. */
int run_job(const struct run_options *o, struct run_report **out, struct error *e);

void run_report_free(struct run_report *r);

/* The process with the largest peak, NULL when there is none. */
const struct run_proc *run_report_top(const struct run_report *r);

#endif
