/* run.c - `gpuctl run`'s engine: start the job, follow its whole tree,
 * reap what becomes ours, pass signals on, watch the limits, and hand back
 * a report (run.h).
 *
 * One thread and one poll loop: signals arrive through a signalfd (SIGCHLD
 * to reap, the terminating ones to forward), samples are due on the
 * monotonic clock.  The tree is found from gpuctl itself, which is a child
 * subreaper, so every descendant is either below a live process of the tree
 * or gpuctl's own child.  Reading the files of one process is proctree.c's;
 * the cgroup is jobcg.c's; grouping, leaks and rendering are not here.
 */
#include "jobs/run.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/grow.h"
#include "core/snapshot.h"
#include "core/str.h"
#include "jobs/exitwatch.h"
#include "jobs/jobcg.h"
#include "jobs/proctree.h"
#include "ops/proc_ident.h"
#include "sources/procfs.h"
#include "sources/rootfs.h"

/* What gpuctl keeps of a process beyond the report: its open files and
 * its identity now (after an exec the name changes; the report keeps the
 * name at the peak). */
struct tracked {
    struct proctree_files files;
    bool alive;
    bool visited;             /* seen by the current walk */
    unsigned threads;
    char comm_now[64];
    char status_name[64];     /* status's Name line, to notice an exec */
    size_t status_due;        /* the sample at which status is read next */
    uint64_t mem_last;        /* the latest RSS (or PSS) read, KiB */
    char *cmdline_now;
    char exe_now[256];
    uint64_t hwm_now;         /* VmHWM of the current image */
    bool exit_recorded;       /* its taskstats exit record was applied */
};

/* Exit records wait here until their process can be placed in the tree
 * (its parent may be reported a moment later). */
struct pending_exit {
    struct exit_record rec;
    double arrived;           /* monotonic seconds */
    bool tried;
};

#define PENDING_MAX 4096
#define PENDING_KEEP_S 2.0
#define EXITS_EVERY_MS 250
#define READ_GAP_MS 250

struct tracker {
    const struct run_options *o;
    struct run_report *r;
    struct tracked *t;        /* index-aligned with r->procs */
    size_t *alive;            /* indices of live processes, sorted by pid */
    size_t alive_count, alive_cap;
    pid_t self;
    int sfd;
    sigset_t old_mask;
    struct jobcg cg;
    struct snapshot_ctx *sctx;
    double t0_mono;
    bool main_reaped;
    bool no_children;
    struct pid_list queue;
    struct exitwatch *xw;
    struct pending_exit *pending;
    size_t pending_count, pending_cap;
    size_t *by_pid;           /* hash of every entry by pid: the latest entry + 1, 0 empty */
    size_t by_pid_cap;        /* a power of two */
    double boot_time;         /* epoch seconds, 0 unknown */
    struct rlimit nofile;     /* as gpuctl found it; the job gets it back */
    uint64_t tree_gen;        /* bumped whenever a process joins the report */
    uint64_t placed_gen;      /* tree_gen when the pending records were last tried */
    bool nofile_raised;
    long hz;
    bool killing;             /* a limit was crossed with --kill-on-limit */
    uint64_t anon_now_kib;    /* the cgroup's anon + shmem at the latest sample */
    uint64_t anon_max_kib;    /* ... and the largest seen */
    bool anon_read;           /* it was read at least once */
};

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

const char *run_method_name(enum run_method m)
{
    switch (m) {
    case RUN_METHOD_CGROUP_V2: return "cgroup-v2-anon";
    case RUN_METHOD_CGROUP_V1: return "cgroup-v1-anon";
    case RUN_METHOD_SAMPLED_PSS: return "sampled-pss";
    case RUN_METHOD_SAMPLED_RSS: break;
    }
    return "sampled-rss";
}

const char *run_peak_source_name(enum run_peak_source s)
{
    switch (s) {
    case RUN_PEAK_HWM: return "vmhwm";
    case RUN_PEAK_WAIT4: return "wait4";
    case RUN_PEAK_PSS: return "sampled-pss";
    case RUN_PEAK_EXIT: return "taskstats";
    case RUN_PEAK_RSS: return "rss";
    case RUN_PEAK_NONE: break;
    }
    return "none";
}

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_now(void)
{
    return clock_s(CLOCK_REALTIME);
}

/* ---- the process table ------------------------------------------------------------ */

static int find_alive(const struct tracker *k, pid_t pid)
{
    size_t lo = 0, hi = k->alive_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        pid_t p = k->r->procs[k->alive[mid]].pid;
        if (p == pid)
            return (int)k->alive[mid];
        if (p < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* The slot of pid in the by_pid hash, or the empty one where it goes. */
static size_t *pid_slot(const struct tracker *k, pid_t pid)
{
    size_t h = ((size_t)(uint32_t)pid * 0x9e3779b97f4a7c15ull) >> 7;
    size_t i = h & (k->by_pid_cap - 1);
    while (k->by_pid[i] && k->r->procs[k->by_pid[i] - 1].pid != pid)
        i = (i + 1) & (k->by_pid_cap - 1);
    return &k->by_pid[i];
}

/* Makes entry i the one its pid finds (a later entry replaces an earlier
 * one of a reused pid).  Every entry stays findable however many ended:
 * an exit record's parent may be any of them (issue 20: a fixed ring of
 * the latest 256 lost the children of shells that ended earlier). */
static int index_pid(struct tracker *k, size_t i)
{
    if ((k->r->proc_count + 1) * 2 > k->by_pid_cap) {
        size_t cap = k->by_pid_cap ? k->by_pid_cap * 2 : 256;
        size_t *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return -ENOMEM;
        free(k->by_pid);
        k->by_pid = slots;
        k->by_pid_cap = cap;
        for (size_t j = 0; j < i; j++)
            *pid_slot(k, k->r->procs[j].pid) = j + 1;
    }
    *pid_slot(k, k->r->procs[i].pid) = i + 1;
    return 0;
}

/* A live process, or the latest to end, with this pid. */
static int find_known(const struct tracker *k, pid_t pid)
{
    int idx = find_alive(k, pid);
    if (idx >= 0 || !k->by_pid_cap)
        return idx;
    size_t slot = *pid_slot(k, pid);
    return slot ? (int)(slot - 1) : -1;
}

static int add_proc(struct tracker *k, pid_t pid, const struct proctree_reading *rd,
                    size_t *index)
{
    struct run_report *r = k->r;
    size_t old_cap = r->proc_cap;
    int rc = grow_for_one((void **)&r->procs, &r->proc_cap, r->proc_count, sizeof *r->procs, 64);
    if (rc < 0)
        return rc;
    if (r->proc_cap != old_cap) {
        struct tracked *nt = realloc(k->t, r->proc_cap * sizeof *nt);
        if (!nt)
            return -ENOMEM;
        k->t = nt;
    }
    size_t i = r->proc_count++;
    k->tree_gen++;
    struct run_proc *p = &r->procs[i];
    *p = (struct run_proc){.pid = pid, .ppid = rd->ppid, .start_ticks = rd->start_ticks};
    k->t[i] = (struct tracked){.files = PROCTREE_FILES_CLOSED(pid)};
    if ((rc = index_pid(k, i)) < 0) {
        r->proc_count--;
        return rc;
    }
    str_copy(p->command, sizeof p->command, rd->comm);
    p->first_seen = p->last_seen = wall_now();
    str_copy(k->t[i].comm_now, sizeof k->t[i].comm_now, rd->comm);
    *index = i;
    return 0;
}

/* The name, command line and executable of the current image: read when
 * a process is first seen and after an exec. */
static void refresh_identity(struct tracked *t, pid_t pid, const char *comm)
{
    str_copy(t->comm_now, sizeof t->comm_now, comm);
    free(t->cmdline_now);
    t->cmdline_now = proctree_cmdline(pid);
    proctree_exe(pid, t->exe_now, sizeof t->exe_now);
    t->hwm_now = 0;
}

/* A new peak: the report names the process as it was at that moment. */
static void raise_peak(struct run_proc *p, struct tracked *t, uint64_t kib,
                       enum run_peak_source src)
{
    if (kib <= p->max_rss_kib && p->peak_source != RUN_PEAK_NONE)
        return;
    p->max_rss_kib = kib;
    p->peak_source = src;
    str_copy(p->command, sizeof p->command, t->comm_now);
    if (t->exe_now[0])
        str_copy(p->exe, sizeof p->exe, t->exe_now);
    if (t->cmdline_now) {
        char *c = strdup(t->cmdline_now);
        if (c) {
            free(p->cmdline);
            p->cmdline = c;
        }
    }
}

static void mark_gone(struct tracker *k, size_t i)
{
    struct tracked *t = &k->t[i];
    t->alive = false;
    proctree_close(&t->files);
    free(t->cmdline_now);
    t->cmdline_now = NULL;
}

/* ---- limits -------------------------------------------------------------------------- */

/* SIGKILL to every process of the tree gpuctl knows alive, including one
 * found by this very sample (not on the live list yet: a daemon that
 * crossed a limit the moment it was first seen).  Returns how many were
 * signalled. */
static size_t kill_tree(struct tracker *k)
{
    size_t killed = 0;
    if (!k->main_reaped && kill(k->r->pid, SIGKILL) == 0)
        killed++;                 /* our unreaped child: the pid cannot be reused */
    for (size_t i = 0; i < k->r->proc_count; i++) {
        const struct run_proc *p = &k->r->procs[i];
        struct proc_handle h;
        struct error e = {0};
        if (!k->t[i].alive || p->pid == k->r->pid ||
            proc_handle_open(&h, p->pid, p->start_ticks, &e) < 0)
            continue;
        if (proc_handle_signal(&h, SIGKILL, &e) == 0)
            killed++;
        proc_handle_close(&h);
    }
    return killed;
}

/* After a limit with --kill-on-limit, whatever of the tree still runs (a
 * child forked meanwhile, a daemon seen later) is killed at each sample. */
static void keep_killing(struct tracker *k)
{
    if (k->killing && kill_tree(k) > 0)
        k->r->breach.killed = true;
}

static void breach(struct tracker *k, enum run_limit kind, uint64_t value, uint64_t limit,
                   const struct run_proc *p)
{
    struct run_breach *b = &k->r->breach;
    if (b->kind != RUN_LIMIT_NONE)
        return;
    *b = (struct run_breach){.kind = kind, .at = wall_now(), .value_kib = value,
                             .limit_kib = limit, .pid = p ? p->pid : 0};
    if (p)
        str_copy(b->command, sizeof b->command, p->command);
    if (k->o->kill_on_limit && !(k->main_reaped && k->no_children)) {
        k->killing = true;
        keep_killing(k);      /* killed: only when a process was really signalled */
    }
}

static void check_proc_limit(struct tracker *k, const struct run_proc *p)
{
    if (k->o->max_proc_kib && p->max_rss_kib > k->o->max_proc_kib)
        breach(k, RUN_LIMIT_PER_PROC, p->max_rss_kib, k->o->max_proc_kib, p);
}

/* ---- sampling ------------------------------------------------------------------------ */

static void record_point(struct tracker *k, struct run_proc *p, uint64_t kib)
{
    if (grow_for_one((void **)&p->points, &p->point_cap, p->point_count, sizeof *p->points,
                     16) < 0)
        return;     /* the timeline loses a point; the peak is kept */
    p->points[p->point_count++] = (struct run_point){
        .sample = (uint32_t)k->r->sample_count, .rss_kib = kib};
}

/* Takes one reading into the report: the peak, the point, the limit, and
 * the children to visit next. */
static int account(struct tracker *k, size_t idx, const struct proctree_reading *rd,
                   unsigned want, uint64_t *kib)
{
    struct tracked *t = &k->t[idx];
    struct run_proc *p = &k->r->procs[idx];
    t->visited = true;
    p->last_seen = wall_now();
    if (want & (PROCTREE_STATUS | PROCTREE_STAT)) {
        p->ppid = rd->ppid;
        if (rd->threads)
            t->threads = rd->threads;
    }
    if (rd->state == 'Z' || !rd->has_mm) {
        t->mem_last = 0;
        return 0;                         /* a zombie: its peak is already known */
    }
    uint64_t now = k->o->pss ? rd->pss_kib : rd->rss_kib;
    t->mem_last = now;
    if (k->o->pss) {
        raise_peak(p, t, now, RUN_PEAK_PSS);
    } else {
        if (rd->has_hwm)
            raise_peak(p, t, rd->hwm_kib, RUN_PEAK_HWM);
        if (now > p->max_rss_kib)
            raise_peak(p, t, now, RUN_PEAK_RSS);
    }
    record_point(k, p, now);
    check_proc_limit(k, p);
    *kib = now;
    return proctree_children(&t->files, t->threads, &k->queue);
}

/* What a known process costs this sample.  VmHWM only rises while the
 * process lives, so reading it less often loses nothing as long as it is
 * read once more at the end; the exit record is that last reading.  With
 * exit records status is read once a second (and statm, a sixth of its
 * price, every sample); without them, every sample. */
static unsigned want_for(struct tracker *k, struct tracked *t)
{
    unsigned want = k->o->pss ? PROCTREE_PSS : 0;
    size_t now = k->r->sample_count;
    if (!k->xw || now >= t->status_due) {
        size_t per_second = k->o->interval_ms >= 1000 ? 1 : 1000 / k->o->interval_ms;
        t->status_due = now + per_second;
        return want | PROCTREE_STATUS;
    }
    return want | PROCTREE_STATM;
}

static bool start_matches(const struct tracker *k, const struct run_proc *p,
                          uint64_t start_ticks);

/* The entry a process already has though it is not on the live list: one
 * made from its exit record while it lingers as a zombie its parent has
 * not reaped yet (the walk finds it again under that parent). */
static int known_entry(const struct tracker *k, pid_t pid, uint64_t start_ticks)
{
    int idx = find_known(k, pid);
    if (idx < 0 || k->t[idx].alive || k->r->procs[idx].reaped ||
        !start_matches(k, &k->r->procs[idx], start_ticks))
        return -1;
    return idx;
}

static int visit_new(struct tracker *k, pid_t pid, uint64_t *kib)
{
    struct proctree_files fresh;
    if (proctree_open(&fresh, pid, k->o->pss) < 0)
        return 0;                         /* gone before we looked */
    struct proctree_reading rd;
    unsigned want = PROCTREE_STAT | PROCTREE_STATUS | (k->o->pss ? PROCTREE_PSS : 0);
    size_t i = 0;
    int rc = proctree_read(&fresh, want, &rd);
    int known = rc == 0 ? known_entry(k, pid, rd.start_ticks) : -1;
    if (known >= 0) {
        i = (size_t)known;
        k->r->procs[i].start_ticks = rd.start_ticks;
    } else if (rc == 0) {
        rc = add_proc(k, pid, &rd, &i);
    }
    if (rc < 0) {
        proctree_close(&fresh);
        return rc == -ENOMEM ? rc : 0;
    }
    struct tracked *t = &k->t[i];
    t->files = fresh;
    t->alive = true;
    t->threads = rd.threads;
    t->status_due = k->r->sample_count + 1;
    str_copy(t->status_name, sizeof t->status_name, rd.status_name);
    refresh_identity(t, pid, rd.comm);
    return account(k, i, &rd, want, kib);
}

/* Reads one process found by the walk; adds its memory to the total and
 * queues its children.  stat is read again only when status shows a new
 * name, which is an exec. */
/* Whether this sample may reuse a process's last reading.  Only when both
 * exact paths run: the cgroup holds the job's total, VmHWM plus the exit
 * record each process's peak, and a child that lives shorter than the gap
 * is still adopted from its exit record; a fresh reading every sample
 * would only sharpen the timeline.  Then a process's files (memory and
 * children) are read at most every READ_GAP_MS, staggered by pid so each
 * sample reads an even share, and every known process is visited from the
 * live list rather than only through its parent's children.  One that has
 * ended is noticed at its next reading. */
static bool reuse_mode(const struct tracker *k)
{
    return k->cg.version && k->xw && !k->o->pss && k->o->interval_ms < READ_GAP_MS;
}

static bool reuse_reading(const struct tracker *k, pid_t pid)
{
    if (!reuse_mode(k))
        return false;
    size_t stride = (READ_GAP_MS + k->o->interval_ms - 1) / k->o->interval_ms;
    return (k->r->sample_count + (size_t)pid) % stride != 0;
}

static int visit_reused(struct tracker *k, size_t idx, uint64_t *kib)
{
    struct tracked *t = &k->t[idx];
    struct run_proc *p = &k->r->procs[idx];
    t->visited = true;
    if (t->mem_last)
        record_point(k, p, t->mem_last);
    *kib = t->mem_last;
    return 0;
}

static int visit(struct tracker *k, pid_t pid, uint64_t *kib)
{
    *kib = 0;
    int idx = find_alive(k, pid);
    if (idx < 0)
        return visit_new(k, pid, kib);
    if (k->t[idx].visited)
        return 0;                         /* queued twice: by its parent and the live list */
    if (reuse_reading(k, pid))
        return visit_reused(k, (size_t)idx, kib);
    struct tracked *t = &k->t[idx];
    /* Without a kept descriptor the path may name a new process. */
    bool by_path = t->files.status_fd < 0 || t->files.statm_fd < 0;
    unsigned want = want_for(k, t) | (by_path ? PROCTREE_STAT : 0);
    struct proctree_reading rd;
    int rc = proctree_read(&t->files, want, &rd);
    if (rc < 0)
        return rc == -ENOMEM ? rc : 0;    /* gone: the walk's end marks it */
    if (by_path && rd.start_ticks != k->r->procs[idx].start_ticks) {
        mark_gone(k, (size_t)idx);
        return visit_new(k, pid, kib);
    }
    if ((want & PROCTREE_STATUS) && strcmp(rd.status_name, t->status_name) != 0) {
        struct proctree_reading st;
        bool raw = proctree_read(&t->files, PROCTREE_STAT, &st) == 0;
        str_copy(rd.comm, sizeof rd.comm, raw ? st.comm : rd.status_name);
        str_copy(t->status_name, sizeof t->status_name, rd.status_name);
        refresh_identity(t, pid, rd.comm);
    }
    return account(k, (size_t)idx, &rd, want, kib);
}

static int self_children(struct tracker *k)
{
    struct proctree_files self = PROCTREE_FILES_CLOSED(k->self);
    /* gpuctl is single-threaded unless a GPU library started threads. */
    return proctree_children(&self, k->o->gpu ? 2 : 1, &k->queue);
}

static int cmp_alive(const void *a, const void *b, void *arg);

static int rebuild_alive(struct tracker *k)
{
    k->alive_count = 0;
    for (size_t i = 0; i < k->r->proc_count; i++) {
        struct tracked *t = &k->t[i];
        if (!t->alive)
            continue;
        if (!t->visited) {
            mark_gone(k, i);              /* exited and reaped by its own parent */
            continue;
        }
        t->visited = false;
        int rc = grow_for_one((void **)&k->alive, &k->alive_cap, k->alive_count,
                              sizeof *k->alive, 64);
        if (rc < 0)
            return rc;
        k->alive[k->alive_count++] = i;
    }
    qsort_r(k->alive, k->alive_count, sizeof *k->alive, cmp_alive, k->r);
    return 0;
}

static int cmp_alive(const void *a, const void *b, void *arg)
{
    const struct run_report *r = arg;
    pid_t x = r->procs[*(const size_t *)a].pid, y = r->procs[*(const size_t *)b].pid;
    return (x > y) - (x < y);
}

static void gpu_sample(struct tracker *k, struct run_sample *s);

static int take_sample(struct tracker *k)
{
    struct run_report *r = k->r;
    int rc = grow_for_one((void **)&r->timeline, &r->sample_cap, r->sample_count,
                          sizeof *r->timeline, 256);
    if (rc < 0)
        return rc;
    struct run_sample s = {.wall = wall_now()};
    s.elapsed_s = clock_s(CLOCK_MONOTONIC) - k->t0_mono;
    k->queue.count = 0;
    rc = self_children(k);
    /* Reusing readings, a process is visited whether or not its parent's
     * children were read this sample. */
    for (size_t a = 0; rc == 0 && reuse_mode(k) && a < k->alive_count; a++)
        rc = pid_list_push(&k->queue, r->procs[k->alive[a]].pid);
    for (size_t q = 0; rc == 0 && q < k->queue.count; q++) {
        uint64_t kib;
        rc = visit(k, k->queue.items[q], &kib);
        s.total_kib += kib;
    }
    if (rc == 0)
        rc = rebuild_alive(k);
    if (rc < 0)
        return rc;
    s.process_count = (uint32_t)k->alive_count;
    if (k->o->gpu)
        gpu_sample(k, &s);
    r->timeline[r->sample_count++] = s;
    uint64_t anon;
    if (k->cg.version && jobcg_read_anon(&k->cg, &anon) == 0) {
        k->anon_read = true;
        k->anon_now_kib = anon / 1024;
        if (k->anon_now_kib > k->anon_max_kib)
            k->anon_max_kib = k->anon_now_kib;
    }
    if (s.total_kib > r->sampled_max_total_kib) {
        r->sampled_max_total_kib = s.total_kib;
        r->max_total_at = s.wall;
    }
    return 0;
}

/* ---- GPU -------------------------------------------------------------------------------- */

/* A process's GPU memory this sample: the sum over every device it uses
 * (NVML lists it once per device). */
struct gpu_use {
    uint64_t bytes;
    bool known;
};

static void gpu_sample(struct tracker *k, struct run_sample *s)
{
    struct snapshot_options so = {.processes = true};
    struct snapshot *snap = NULL;
    struct error e = {0};
    if (snapshot_take(k->sctx, &so, &snap, &e) < 0)
        return;                           /* this sample's GPU figures stay unknown */
    struct gpu_use *use = calloc(k->r->proc_count ? k->r->proc_count : 1, sizeof *use);
    if (!use) {
        snapshot_free(snap);
        return;
    }
    uint64_t total = 0;
    for (size_t g = 0; g < snap->gproc_count; g++) {
        const struct gpu_process *gp = &snap->gprocs[g];
        int idx = find_alive(k, gp->pid);
        if (idx < 0)
            continue;
        struct run_proc *p = &k->r->procs[idx];
        if (gp->gpu_mem_bytes.known) {
            total += gp->gpu_mem_bytes.v;
            use[idx].bytes += gp->gpu_mem_bytes.v;
            use[idx].known = true;
        }
        if (gp->sm_pct.known &&
            (!p->gpu_sm_peak_pct.known || gp->sm_pct.v > p->gpu_sm_peak_pct.v))
            OPT_SET(p->gpu_sm_peak_pct, gp->sm_pct.v);
    }
    for (size_t i = 0; i < k->r->proc_count; i++) {
        struct run_proc *p = &k->r->procs[i];
        if (use[i].known && (!p->gpu_mem_peak_bytes.known || use[i].bytes > p->gpu_mem_peak_bytes.v))
            OPT_SET(p->gpu_mem_peak_bytes, use[i].bytes);
    }
    free(use);
    OPT_SET(s->gpu_mem_bytes, total);
    struct run_report *r = k->r;
    if (!r->gpu_total_peak_bytes.known || total > r->gpu_total_peak_bytes.v)
        OPT_SET(r->gpu_total_peak_bytes, total);
    snapshot_free(snap);
}

/* ---- reaping ----------------------------------------------------------------------------- */

/* The report entry for a zombie about to be reaped: the one the walks
 * found, or a new one for a process that lived and died between two. */
static int zombie_entry(struct tracker *k, pid_t pid, const struct proctree_reading *rd,
                        size_t *index)
{
    int idx = find_known(k, pid);
    if (idx >= 0 && !k->r->procs[idx].reaped) {
        *index = (size_t)idx;
        return 0;
    }
    int rc = add_proc(k, pid, rd, index);
    if (rc == 0 && !rd->comm[0]) {
        str_copy(k->r->procs[*index].command, sizeof k->r->procs[*index].command, "?");
        str_copy(k->t[*index].comm_now, sizeof k->t[*index].comm_now, "?");
    }
    return rc;
}

static void finish_main(struct tracker *k, int status)
{
    k->main_reaped = true;
    k->r->wait_status = status;
    if (WIFEXITED(status))
        k->r->exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        k->r->exit_code = 128 + WTERMSIG(status);
}

static int reap_one(struct tracker *k, pid_t pid)
{
    /* ru_maxrss also covers the children it waited for; it is this
     * process's own only when it waited for none (cminflt and cmajflt,
     * which the kernel adds at the same moment, are both zero). */
    struct proctree_files f = PROCTREE_FILES_CLOSED(pid);
    struct proctree_reading rd = {0};
    bool waited = true;
    if (proctree_read(&f, PROCTREE_STAT, &rd) == 0)
        waited = rd.waited;
    size_t i;
    int rc = zombie_entry(k, pid, &rd, &i);
    if (rc < 0)
        return rc;
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid)
        return 0;
    struct run_proc *p = &k->r->procs[i];
    struct tracked *t = &k->t[i];
    p->reaped = true;
    OPT_SET(p->exit_status, status);
    p->last_seen = wall_now();
    if (!waited && ru.ru_maxrss > 0 && !k->o->pss)
        raise_peak(p, t, (uint64_t)ru.ru_maxrss, RUN_PEAK_WAIT4);
    /* A parent's ru_maxrss is the largest of its own and its reaped
     * descendants' marks: not this process's peak, but one the job reached
     * (all an unprivileged gpuctl may learn of a child no sample saw). */
    if (waited && ru.ru_maxrss > 0 && !k->o->pss && (uint64_t)ru.ru_maxrss > k->r->waited_max_kib)
        k->r->waited_max_kib = (uint64_t)ru.ru_maxrss;
    check_proc_limit(k, p);
    if (t->alive)
        mark_gone(k, i);
    if (pid == k->r->pid)
        finish_main(k, status);
    return 0;
}

static int reap_all(struct tracker *k)
{
    for (;;) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
            if (errno == EINTR)
                continue;
            k->no_children = errno == ECHILD;
            return k->no_children ? 0 : -errno;
        }
        if (si.si_pid == 0)
            return 0;
        int rc = reap_one(k, si.si_pid);
        if (rc < 0)
            return rc;
    }
}

/* ---- exit records ---------------------------------------------------------------------------- */

/* Whether a process started at start_ticks (since boot) can be this
 * entry's: the same start, or, for an entry known only from its exit
 * record (whose start is in epoch seconds), within the rounding of both. */
static bool start_matches(const struct tracker *k, const struct run_proc *p,
                          uint64_t start_ticks)
{
    if (p->start_ticks)
        return p->start_ticks == start_ticks;
    if (!k->boot_time || k->hz <= 0)
        return false;
    double start = k->boot_time + (double)start_ticks / (double)k->hz;
    return start > p->first_seen - 2.0 && start < p->first_seen + 2.0;
}

/* Whether the record can be this entry's: a pid reused by an unrelated
 * process started at another time is not. */
static bool same_start(const struct tracker *k, const struct run_proc *p,
                       const struct exit_record *rec)
{
    if (!p->start_ticks || !k->boot_time || !rec->btime || k->hz <= 0)
        return true;
    double start = k->boot_time + (double)p->start_ticks / (double)k->hz;
    return start > (double)rec->btime - 2.0 && start < (double)rec->btime + 2.0;
}

static void apply_record(struct tracker *k, size_t i, const struct exit_record *rec)
{
    struct run_proc *p = &k->r->procs[i];
    struct tracked *t = &k->t[i];
    /* The mark is the last image's, so the name at exit goes with it. */
    if (rec->hiwater_rss_kib > p->max_rss_kib || p->peak_source == RUN_PEAK_NONE) {
        str_copy(t->comm_now, sizeof t->comm_now, rec->comm);
        raise_peak(p, t, rec->hiwater_rss_kib, RUN_PEAK_EXIT);
    }
    if (p->last_seen < wall_now())
        p->last_seen = wall_now();
    check_proc_limit(k, p);
}

/* A process that lived and died between two samples, under a parent the
 * tree knows (or under gpuctl, which adopts orphans). */
static int adopt_record(struct tracker *k, const struct exit_record *rec)
{
    struct proctree_reading rd = {.ppid = rec->ppid};
    str_copy(rd.comm, sizeof rd.comm, rec->comm[0] ? rec->comm : "?");
    size_t i;
    int rc = add_proc(k, rec->pid, &rd, &i);
    if (rc < 0)
        return rc;
    if (rec->btime)
        k->r->procs[i].first_seen = (double)rec->btime;
    apply_record(k, i, rec);
    return 0;
}

/* 1 when the record was placed (or belongs to nothing of ours for sure),
 * 0 when it must wait for its parent to be known, -errno. */
static int place_record(struct tracker *k, const struct exit_record *rec)
{
    pid_t tgid = rec->tgid ? rec->tgid : rec->pid;
    int idx = find_known(k, tgid);
    if (idx >= 0 && same_start(k, &k->r->procs[idx], rec)) {
        apply_record(k, (size_t)idx, rec);
        return 1;
    }
    if (!rec->tgid || rec->pid != rec->tgid)
        return 0;          /* a thread, or a kernel that does not say: only known processes */
    if (rec->ppid != k->self && find_known(k, rec->ppid) < 0)
        return 0;
    int rc = adopt_record(k, rec);
    return rc < 0 ? rc : 1;
}

/* One pass over the waiting records: all of them, or only the new ones. */
static int place_pass(struct tracker *k, bool all, double now)
{
    size_t keep = 0;
    for (size_t i = 0; i < k->pending_count; i++) {
        struct pending_exit *pe = &k->pending[i];
        int rc = all || !pe->tried ? place_record(k, &pe->rec) : 0;
        if (rc < 0)
            return rc;
        pe->tried = true;
        if (rc == 0 && now - pe->arrived < PENDING_KEEP_S)
            k->pending[keep++] = *pe;
    }
    k->pending_count = keep;
    return 0;
}

/* Tries the records that arrived since the last call, and the older ones
 * again only when the tree gained a process since (otherwise their parent
 * is still unknown): on a busy machine most records are other people's. */
static int place_pending(struct tracker *k)
{
    double now = clock_s(CLOCK_MONOTONIC);
    bool all = k->tree_gen != k->placed_gen;
    for (;;) {
        uint64_t gen = k->tree_gen;
        int rc = place_pass(k, all, now);
        if (rc < 0)
            return rc;
        if (k->tree_gen == gen)
            break;
        all = true;        /* one just placed may be the parent another waits for */
    }
    k->placed_gen = k->tree_gen;
    return 0;
}

static void queue_record(const struct exit_record *rec, void *arg)
{
    struct tracker *k = arg;
    if (k->pending_count == PENDING_MAX) {
        memmove(k->pending, k->pending + 1, (PENDING_MAX - 1) * sizeof *k->pending);
        k->pending_count--;
        k->r->exit_records_lost = true;     /* it may have been one of ours */
    }
    if (grow_for_one((void **)&k->pending, &k->pending_cap, k->pending_count,
                     sizeof *k->pending, 64) < 0)
        return;
    k->pending[k->pending_count++] = (struct pending_exit){*rec, clock_s(CLOCK_MONOTONIC), false};
}

static int read_exits(struct tracker *k)
{
    if (!k->xw)
        return 0;
    int rc = exitwatch_drain(k->xw, queue_record, k);
    if (rc == -ENOBUFS)
        k->r->exit_records_lost = true;
    else if (rc < 0)
        return rc;
    return place_pending(k);
}

static void open_exitwatch(struct tracker *k)
{
    struct run_report *r = k->r;
    if (k->o->no_exit_records) {
        str_copy(r->exit_note, sizeof r->exit_note, "not asked for (GPUCTL_RUN_NO_TASKSTATS)");
        return;
    }
    if (k->o->pss) {
        str_copy(r->exit_note, sizeof r->exit_note, "not used with --pss (they hold RSS)");
        return;
    }
    if (exitwatch_open(&k->xw, r->exit_note, sizeof r->exit_note) == 0) {
        r->exit_records = true;
        r->exit_note[0] = '\0';
    }
    k->hz = sysconf(_SC_CLK_TCK);
    char path[256], buf[8192];
    size_t len;
    uint64_t btime;
    if (rootfs_path(path, sizeof path, ROOTFS_PROC, "stat") == 0 &&
        rootfs_read_file(path, buf, sizeof buf, &len) == 0 &&
        procfs_parse_btime(buf, len, &btime) == 0)
        k->boot_time = (double)btime;
}

/* ---- signals ------------------------------------------------------------------------------ */

/* A signal from the terminal already reached every process of the
 * foreground group; passing it on again would deliver it twice. */
static bool already_got_it(pid_t pid, bool from_terminal)
{
    return from_terminal && getpgid(pid) == getpgrp();
}

static void forward(struct tracker *k, int sig, bool from_terminal)
{
    k->r->forwarded_signal = sig;
    if (!k->main_reaped) {
        if (!already_got_it(k->r->pid, from_terminal))
            kill(k->r->pid, sig);
        return;
    }
    for (size_t a = 0; a < k->alive_count; a++) {
        const struct run_proc *p = &k->r->procs[k->alive[a]];
        struct proc_handle h;
        struct error e = {0};
        if (already_got_it(p->pid, from_terminal) ||
            proc_handle_open(&h, p->pid, p->start_ticks, &e) < 0)
            continue;
        (void)proc_handle_signal(&h, sig, &e);
        proc_handle_close(&h);
    }
}

static int drain_signals(struct tracker *k)
{
    struct signalfd_siginfo si;
    bool child = false;
    for (;;) {
        ssize_t n = read(k->sfd, &si, sizeof si);
        if (n != (ssize_t)sizeof si)
            break;
        if (si.ssi_signo == SIGCHLD)
            child = true;
        else
            forward(k, (int)si.ssi_signo, si.ssi_code == SI_KERNEL);
    }
    /* Exit records first: a process's record is sent before it becomes a
     * zombie, so its entry exists by the time it is reaped. */
    int rc = child ? read_exits(k) : 0;
    return rc == 0 && child ? reap_all(k) : rc;
}

static int block_signals(struct tracker *k, struct error *e)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        sigaddset(&set, forwarded[i]);
    if (sigprocmask(SIG_BLOCK, &set, &k->old_mask) < 0)
        return error_set(e, -errno, "cannot block signals: %s", strerror(errno));
    k->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (k->sfd < 0) {
        int err = -errno;
        sigprocmask(SIG_SETMASK, &k->old_mask, NULL);
        return error_set(e, err, "cannot open a signalfd: %s", strerror(-err));
    }
    return 0;
}

/* ---- starting the job ---------------------------------------------------------------------- */

struct child_report {
    int stage;    /* 1: could not enter the cgroup; 2: exec failed */
    int err;
};

static void child_side(struct tracker *k, int pipe_w)
{
    signal(SIGPIPE, SIG_DFL);      /* gpuctl ignores it; an exec would keep that */
    if (k->nofile_raised)
        setrlimit(RLIMIT_NOFILE, &k->nofile);
    sigprocmask(SIG_SETMASK, &k->old_mask, NULL);
    if (k->cg.version) {
        int rc = jobcg_enter(&k->cg);
        if (rc < 0) {
            struct child_report cr = {1, -rc};
            (void)!write(pipe_w, &cr, sizeof cr);
        }
    }
    execvp(k->o->argv[0], k->o->argv);
    struct child_report cr = {2, errno};
    (void)!write(pipe_w, &cr, sizeof cr);
    _exit(127);
}

static int spawn(struct tracker *k, struct error *e)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return error_set(e, -errno, "cannot create a pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        int err = -errno;
        close(p[0]);
        close(p[1]);
        return error_set(e, err, "cannot start '%s': %s", k->o->argv[0], strerror(-err));
    }
    if (pid == 0)
        child_side(k, p[1]);
    close(p[1]);
    k->r->pid = pid;
    struct child_report cr;
    int rc = 0;
    while (read(p[0], &cr, sizeof cr) == (ssize_t)sizeof cr) {
        if (cr.stage == 1) {
            snprintf(k->r->method_note, sizeof k->r->method_note,
                     "the job could not enter the cgroup %.200s: %s", k->cg.path, strerror(cr.err));
            jobcg_remove(&k->cg);
        } else {
            rc = error_set(e, -cr.err, "cannot run '%s': %s", k->o->argv[0], strerror(cr.err));
        }
    }
    close(p[0]);
    if (rc < 0)
        waitpid(pid, NULL, 0);
    return rc;
}

/* ---- the loop --------------------------------------------------------------------------------- */

static int wait_events(struct tracker *k, double next)
{
    double left = next - clock_s(CLOCK_MONOTONIC);
    int timeout = left <= 0 ? 0 : (int)(left * 1000.0) + 1;
    /* Exit records are not waited on: every exit on the machine sends one,
     * and waking for each would cost more than the sampling.  They are
     * read at every wake-up, at least every EXITS_EVERY_MS, which the
     * socket's buffer outlasts by far. */
    if (k->xw && timeout > EXITS_EVERY_MS)
        timeout = EXITS_EVERY_MS;
    struct pollfd pfd = {.fd = k->sfd, .events = POLLIN};
    int n = poll(&pfd, 1, timeout);
    if (n < 0 && errno != EINTR)
        return -errno;
    return n > 0 ? drain_signals(k) : 0;
}

static void check_total_limit(struct tracker *k)
{
    struct run_report *r = k->r;
    if (!k->o->max_total_kib || r->sample_count == 0)
        return;
    /* The RAM the job needs now: the cgroup's anon + shmem (page cache,
     * which the kernel reclaims before it runs short, is no part of it). */
    uint64_t total = k->anon_read ? k->anon_now_kib : r->timeline[r->sample_count - 1].total_kib;
    if (total > k->o->max_total_kib)
        breach(k, RUN_LIMIT_TOTAL, total, k->o->max_total_kib, NULL);
}

static int loop(struct tracker *k)
{
    double interval = k->o->interval_ms / 1000.0;
    double next = clock_s(CLOCK_MONOTONIC);
    for (;;) {
        int rc = read_exits(k);
        if (rc == 0)
            rc = reap_all(k);
        if (rc < 0)
            return rc;
        if (k->main_reaped && k->no_children)
            return read_exits(k);
        if (clock_s(CLOCK_MONOTONIC) >= next) {
            rc = take_sample(k);
            if (rc < 0)
                return rc;
            check_total_limit(k);
            keep_killing(k);
            if (k->o->on_sample)
                k->o->on_sample(k->r, k->o->on_sample_arg);
            next += interval;
            double now = clock_s(CLOCK_MONOTONIC);
            if (next < now)
                next = now + interval;        /* fell behind: skip, do not burst */
        }
        rc = wait_events(k, next);
        if (rc < 0)
            return rc;
    }
}

/* ---- the report ------------------------------------------------------------------------------- */

static void finish_report(struct tracker *k)
{
    struct run_report *r = k->r;
    r->end_time = wall_now();
    r->duration_s = clock_s(CLOCK_MONOTONIC) - k->t0_mono;
    uint64_t floor = r->waited_max_kib;
    for (size_t i = 0; i < r->proc_count; i++)
        if (r->procs[i].max_rss_kib > floor)
            floor = r->procs[i].max_rss_kib;
    r->lower_bound = !r->exit_records || r->exit_records_lost;
    uint64_t peak, anon;
    if (k->cg.version && jobcg_read_peak(&k->cg, &peak) == 0)
        OPT_SET(r->cgroup_peak_kib, peak / 1024);
    /* A job shorter than one interval is still the cgroup's to measure. */
    if (k->cg.version && jobcg_read_anon(&k->cg, &anon) == 0) {
        k->anon_read = true;
        if (anon / 1024 > k->anon_max_kib)
            k->anon_max_kib = anon / 1024;
    }
    uint64_t sampled;
    if (k->anon_read && !k->o->pss) {
        /* Counted once per page, shared or not, and with tmpfs files the
         * job wrote; without the page cache its file I/O brought in. */
        r->method = k->cg.version == 2 ? RUN_METHOD_CGROUP_V2 : RUN_METHOD_CGROUP_V1;
        sampled = k->anon_max_kib;
    } else {
        r->method = k->o->pss ? RUN_METHOD_SAMPLED_PSS : RUN_METHOD_SAMPLED_RSS;
        sampled = r->sampled_max_total_kib;
    }
    /* At the moment a process peaked the total was at least that. */
    r->max_total_rss_kib = sampled > floor ? sampled : floor;
    if (k->o->max_total_kib && r->max_total_rss_kib > k->o->max_total_kib)
        breach(k, RUN_LIMIT_TOTAL, r->max_total_rss_kib, k->o->max_total_kib, NULL);
}

static int copy_argv(struct run_report *r, char *const *argv)
{
    size_t n = 0;
    while (argv[n])
        n++;
    r->argv = calloc(n + 1, sizeof *r->argv);
    if (!r->argv)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (!(r->argv[i] = strdup(argv[i])))
            return -ENOMEM;
    return 0;
}

/* Three files are kept open per process (proctree.h): room for a few
 * thousand processes before reads fall back to opening by path. */
static void raise_nofile(struct tracker *k)
{
    if (getrlimit(RLIMIT_NOFILE, &k->nofile) < 0 || k->nofile.rlim_cur >= k->nofile.rlim_max)
        return;
    struct rlimit more = {k->nofile.rlim_max, k->nofile.rlim_max};
    if (more.rlim_cur > 65536)
        more.rlim_cur = 65536;
    k->nofile_raised = setrlimit(RLIMIT_NOFILE, &more) == 0;
}

static int prepare(struct tracker *k, struct error *e)
{
    const struct run_options *o = k->o;
    if (copy_argv(k->r, o->argv) < 0)
        return error_set(e, -ENOMEM, "out of memory");
    k->r->interval_ms = o->interval_ms;
    k->r->pss = o->pss;
    k->r->gpu = o->gpu;
    k->cg = (struct jobcg){.procs_fd = -1, .peak_fd = -1, .stat_fd = -1};
    if (o->gpu) {
        int rc = snapshot_ctx_open(&k->sctx, e);
        if (rc < 0) {
            error_prefix(e, "--gpu");
            return rc;
        }
    }
    if (o->no_cgroup)
        str_copy(k->r->method_note, sizeof k->r->method_note,
                 "no cgroup was tried (GPUCTL_RUN_NO_CGROUP)");
    else
        (void)jobcg_create(&k->cg, k->self, k->r->method_note, sizeof k->r->method_note);
    open_exitwatch(k);
    raise_nofile(k);
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
        return error_set(e, -errno, "cannot become a child subreaper: %s", strerror(errno));
    return block_signals(k, e);
}

static void cleanup(struct tracker *k)
{
    for (size_t i = 0; k->t && i < k->r->proc_count; i++)
        if (k->t[i].alive)
            mark_gone(k, i);
    free(k->t);
    free(k->alive);
    free(k->by_pid);
    pid_list_free(&k->queue);
    exitwatch_close(k->xw);
    free(k->pending);
    jobcg_remove(&k->cg);
    snapshot_ctx_close(k->sctx);
    if (k->sfd >= 0) {
        close(k->sfd);
        sigprocmask(SIG_SETMASK, &k->old_mask, NULL);
    }
    prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
    if (k->nofile_raised)
        setrlimit(RLIMIT_NOFILE, &k->nofile);
}

int run_job(const struct run_options *o, struct run_report **out, struct error *e)
{
    *out = NULL;
    if (!o->argv || !o->argv[0] || o->interval_ms == 0)
        return error_set(e, -EINVAL, "run: no command, or a zero interval");
    struct tracker k = {.o = o, .self = getpid(), .sfd = -1};
    k.r = calloc(1, sizeof *k.r);
    if (!k.r)
        return error_set(e, -ENOMEM, "out of memory");
    int rc = prepare(&k, e);
    if (rc == 0) {
        k.r->start_time = wall_now();
        k.t0_mono = clock_s(CLOCK_MONOTONIC);
        rc = spawn(&k, e);
    }
    if (rc == 0) {
        rc = loop(&k);
        if (rc < 0) {
            error_set(e, rc, "run: following the job failed: %s", strerror(-rc));
            (void)kill_tree(&k);
            while (wait(NULL) > 0 || errno == EINTR)
                ;
        }
    }
    if (rc == 0)
        finish_report(&k);
    cleanup(&k);
    if (rc < 0) {
        run_report_free(k.r);
        return rc;
    }
    *out = k.r;
    return 0;
}

void run_report_free(struct run_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->argv && r->argv[i]; i++)
        free(r->argv[i]);
    free(r->argv);
    for (size_t i = 0; i < r->proc_count; i++) {
        free(r->procs[i].cmdline);
        free(r->procs[i].points);
    }
    free(r->procs);
    free(r->timeline);
    free(r);
}

const struct run_proc *run_report_top(const struct run_report *r)
{
    const struct run_proc *top = NULL;
    for (size_t i = 0; i < r->proc_count; i++)
        if (!top || r->procs[i].max_rss_kib > top->max_rss_kib)
            top = &r->procs[i];
    return top;
}
