/* kill.c - the kill set: choosing processes, refusing the ones that must
 * not be signalled, finding their descendants and process groups, and
 * ending them all at once.
 *
 * Every process is held through a proc_handle (ops/proc_ident.c), opened
 * before any check, so the checks and the signals concern the same
 * process.  Signals go out children first; the wait is one poll over every
 * pidfd, so N processes that ignore SIGTERM cost one timeout, not N.
 * Which processes to name, the snapshot, and what to print are the
 * caller's (cli/kill.c, cli/reset.c).
 */
#include "ops/kill.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/grow.h"

/* SIGKILL's delivery is not immediate (a process in the kernel finishes
 * its system call first), so a wait after it is never shorter than this. */
#define KILL_WAIT_AFTER_SIGKILL_MS 1000L

/* ---- the set ---------------------------------------------------------------- */

int kill_set_init(struct kill_set *s, struct error *e)
{
    memset(s, 0, sizeof *s);
    return procfs_open(&s->procfs, e);
}

static void entry_clear(struct kill_entry *en)
{
    proc_handle_close(&en->h);
    model_host_process_clear(&en->host);
    free(en->gpus);
    en->gpus = NULL;
    en->gpu_count = 0;
}

void kill_set_free(struct kill_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->count; i++)
        entry_clear(&s->items[i]);
    free(s->items);
    procfs_close(s->procfs);
    memset(s, 0, sizeof *s);
}

struct kill_entry *kill_set_find(const struct kill_set *s, pid_t pid)
{
    for (size_t i = 0; i < s->count; i++)
        if (s->items[i].h.id.pid == pid)
            return &s->items[i];
    return NULL;
}

/* The user and command line for display and for the owner in a refusal.
 * Read after the handle is open; a start time that differs means the pid
 * was reused after the handle's process exited. */
static int read_host_facts(struct kill_set *s, struct kill_entry *en, struct error *e)
{
    pid_t pid = en->h.id.pid;
    int rc = procfs_read_process_fields(s->procfs, pid, PROCFS_WANT_USER | PROCFS_WANT_CMDLINE,
                                        &en->host, e);
    if (rc == -ESRCH || (rc == 0 && en->host.start_ticks != en->h.id.start_ticks))
        return error_set(e, -ESRCH, "process %d (%s) has exited", (int)pid, en->h.stat.comm);
    return rc;
}

int kill_set_add(struct kill_set *s, pid_t pid, uint64_t expected_start, enum kill_role role,
                 pid_t target, struct error *e)
{
    if (kill_set_find(s, pid))
        return 0;
    if (grow_for_one((void **)&s->items, &s->cap, s->count, sizeof *s->items, 8) < 0)
        return error_set(e, -ENOMEM, "out of memory adding process %d", (int)pid);
    struct kill_entry *en = &s->items[s->count];
    memset(en, 0, sizeof *en);
    int rc = proc_handle_open(&en->h, pid, expected_start, e);
    if (rc == 0 && (rc = read_host_facts(s, en, e)) < 0)
        entry_clear(en);
    if (rc < 0)
        return rc;
    en->role = role;
    en->target = role == KILL_ROLE_TARGET ? pid : target;
    en->ended_after_s = -1;
    s->count++;
    return 0;
}

/* ---- choosing by pattern, and the GPU check ------------------------------------- */

static int by_pick_pid(const void *a, const void *b)
{
    pid_t x = ((const struct kill_pick *)a)->pid, y = ((const struct kill_pick *)b)->pid;
    return (x > y) - (x < y);
}

int kill_select(const struct snapshot *snap, const struct filter *f, struct kill_pick **out,
                size_t *count)
{
    *out = NULL;
    *count = 0;
    struct kill_pick *picks = calloc(snap->gproc_count ? snap->gproc_count : 1, sizeof *picks);
    if (!picks)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < snap->gproc_count; i++) {
        const struct gpu_process *gp = &snap->gprocs[i];
        const struct host_process *hp = snapshot_host_process(snap, gp->pid);
        if (!hp || !hp->exists || !filter_process(f, gp, hp, NULL))
            continue;
        picks[n++] = (struct kill_pick){.pid = gp->pid, .start_ticks = hp->start_ticks};
    }
    qsort(picks, n, sizeof *picks, by_pick_pid);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        if (distinct == 0 || picks[distinct - 1].pid != picks[i].pid)
            picks[distinct++] = picks[i];
    *out = picks;
    *count = distinct;
    return 0;
}

static bool same_process_in_snapshot(const struct snapshot *snap, const struct kill_entry *en)
{
    const struct host_process *hp = snapshot_host_process(snap, en->h.id.pid);
    return !hp || !hp->exists || hp->start_ticks == en->h.id.start_ticks;
}

static int note_entry_gpus(struct kill_entry *en, const struct snapshot *snap)
{
    free(en->gpus);
    en->gpus = NULL;
    en->gpu_count = 0;
    en->gpu_seen = false;
    if (!same_process_in_snapshot(snap, en))
        return 0;
    size_t cap = 0;
    for (size_t i = 0; i < snap->gproc_count; i++) {
        const struct gpu_process *gp = &snap->gprocs[i];
        if (gp->pid != en->h.id.pid)
            continue;
        en->gpu_seen = true;
        /* gprocs are ordered by device: a repeat (MIG) follows its first. */
        if (en->gpu_count && en->gpus[en->gpu_count - 1] == gp->device_index)
            continue;
        if (grow_for_one((void **)&en->gpus, &cap, en->gpu_count, sizeof *en->gpus, 4) < 0)
            return -ENOMEM;
        en->gpus[en->gpu_count++] = gp->device_index;
    }
    return 0;
}

int kill_set_add_matches(struct kill_set *set, const struct snapshot *snap, const char *pattern,
                         size_t *matched, struct error *e)
{
    struct filter f = {0};
    int rc = filter_set_regex(&f, pattern, e);
    struct kill_pick *picks = NULL;
    *matched = 0;
    if (rc == 0 && kill_select(snap, &f, &picks, matched) < 0)
        rc = error_set(e, -ENOMEM, "out of memory matching '%s'", pattern);
    char why[256];
    if (rc == 0 && filter_regex_failure(&f, why, sizeof why) < 0)
        rc = error_set(e, -EINVAL, "pattern '%s' could not be matched against every process "
                       "(%s): simplify it; nothing was signalled", pattern, why);
    for (size_t i = 0; rc == 0 && i < *matched; i++) {
        struct error ae = {0};
        int r = kill_set_add(set, picks[i].pid, picks[i].start_ticks, KILL_ROLE_TARGET, 0, &ae);
        if (r < 0 && r != -ESRCH && r != -ESTALE)   /* one that exited is left out */
            rc = error_set(e, r, "%s", ae.msg);
    }
    free(picks);
    filter_clear(&f);
    if (rc == 0 && set->count == 0)
        rc = error_set(e, -ESRCH, *matched ? "the GPU processes matching '%s' have exited"
                                           : "no GPU process matches '%s'", pattern);
    return rc;
}

int kill_set_note_gpus(struct kill_set *s, const struct snapshot *snap)
{
    for (size_t i = 0; i < s->count; i++) {
        int rc = note_entry_gpus(&s->items[i], snap);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- --tree and --group ------------------------------------------------------------ */

struct proc_node {
    pid_t pid, ppid, pgrp;
    uint64_t start;
};

/* Every process's parent, group and start time, from /proc now. */
static int scan_processes(struct proc_node **out, size_t *count, struct error *e)
{
    pid_t *pids = NULL;
    size_t n = 0;
    *out = NULL;
    *count = 0;
    int rc = procfs_list_pids(&pids, &n, e);
    if (rc < 0)
        return rc;
    struct proc_node *nodes = calloc(n ? n : 1, sizeof *nodes);
    if (!nodes) {
        free(pids);
        return error_set(e, -ENOMEM, "out of memory reading the process table");
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        struct procfs_stat st;
        struct error ignored;
        /* One that exits under us, or cannot be read, has no descendants to find. */
        if (proc_ident_read_stat(pids[i], &st, &ignored) < 0)
            continue;
        nodes[k++] = (struct proc_node){.pid = st.pid, .ppid = st.ppid, .pgrp = st.pgrp,
                                        .start = st.starttime};
    }
    free(pids);
    *out = nodes;
    *count = k;
    return 0;
}

/* Adds a process found by the scan; one that has exited since is skipped. */
static int add_found(struct kill_set *s, const struct proc_node *node, enum kill_role role,
                     pid_t target, struct error *e)
{
    int rc = kill_set_add(s, node->pid, node->start, role, target, e);
    if (rc == -ESRCH || rc == -ESTALE) {
        error_clear(e);
        return 0;
    }
    return rc;
}

static int add_groups(struct kill_set *s, const struct proc_node *nodes, size_t n,
                      struct error *e)
{
    size_t targets = s->count;
    for (size_t t = 0; t < targets; t++) {
        pid_t pgrp = s->items[t].h.stat.pgrp, target = s->items[t].h.id.pid;
        for (size_t i = 0; i < n && pgrp > 0; i++) {
            if (nodes[i].pgrp != pgrp)
                continue;
            int rc = add_found(s, &nodes[i], KILL_ROLE_GROUP, target, e);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

static ssize_t node_index(const struct proc_node *nodes, size_t n, pid_t pid, uint64_t start)
{
    for (size_t i = 0; i < n; i++)
        if (nodes[i].pid == pid && nodes[i].start == start)
            return (ssize_t)i;
    return -1;
}

/* The walk of add_descendants: a queue of scan indices, each seen once,
 * with the target each was found from. */
struct tree_walk {
    size_t *queue;
    pid_t *owner;
    bool *seen;
    size_t head, tail;
};

static void walk_push(struct tree_walk *w, size_t node, pid_t target)
{
    w->seen[node] = true;
    w->owner[node] = target;
    w->queue[w->tail++] = node;
}

/* Starts the walk at every entry already in the set. */
static void walk_seed(struct tree_walk *w, const struct kill_set *s,
                      const struct proc_node *nodes, size_t n)
{
    for (size_t i = 0; i < s->count; i++) {
        ssize_t at = node_index(nodes, n, s->items[i].h.id.pid, s->items[i].h.id.start_ticks);
        if (at >= 0 && !w->seen[at])
            walk_push(w, (size_t)at, s->items[i].target);
    }
}

/* Breadth-first over the scan's parent links from every entry already in
 * the set.  The walk goes through the scan, not the set, so a process that
 * exits meanwhile does not hide its children. */
static int add_descendants(struct kill_set *s, const struct proc_node *nodes, size_t n,
                           struct error *e)
{
    size_t room = n ? n : 1;
    struct tree_walk w = {.queue = malloc(room * sizeof *w.queue),
                          .owner = malloc(room * sizeof *w.owner),
                          .seen = calloc(room, sizeof *w.seen)};
    int rc = 0;
    if (!w.queue || !w.owner || !w.seen)
        rc = error_set(e, -ENOMEM, "out of memory walking the process tree");
    else
        walk_seed(&w, s, nodes, n);
    while (rc == 0 && w.head < w.tail) {
        size_t parent = w.queue[w.head++];
        for (size_t i = 0; rc == 0 && i < n; i++) {
            /* A child cannot be older than its parent: an older one is a
             * stale link to a reused pid. */
            if (w.seen[i] || nodes[i].ppid != nodes[parent].pid ||
                nodes[i].start < nodes[parent].start)
                continue;
            walk_push(&w, i, w.owner[parent]);
            rc = add_found(s, &nodes[i], KILL_ROLE_DESCENDANT, w.owner[parent], e);
        }
    }
    free(w.queue);
    free(w.owner);
    free(w.seen);
    return rc;
}

int kill_set_expand(struct kill_set *s, bool tree, bool group, struct error *e)
{
    if (!tree && !group)
        return 0;
    struct proc_node *nodes;
    size_t n;
    int rc = scan_processes(&nodes, &n, e);
    if (rc < 0)
        return rc;
    if (group)
        rc = add_groups(s, nodes, n, e);
    if (rc == 0 && tree)
        rc = add_descendants(s, nodes, n, e);
    free(nodes);
    return rc;
}

/* ---- the safety checks ------------------------------------------------------------- */

static void found_as(const struct kill_entry *en, char *buf, size_t size)
{
    if (en->role == KILL_ROLE_GROUP)
        snprintf(buf, size, " (in the process group of target %d)", (int)en->target);
    else if (en->role == KILL_ROLE_DESCENDANT)
        snprintf(buf, size, " (a descendant of target %d)", (int)en->target);
    else
        buf[0] = '\0';
}

static const char *protected_reason(const struct kill_entry *en)
{
    pid_t pid = en->h.id.pid;
    if (pid == 1)
        return "it is the init process";
    if (pid == getpid())
        return "it is gpuctl itself";
    if (pid == getppid())
        return "it is gpuctl's parent";
    if (proc_handle_is_kthread(&en->h))
        return "it is a kernel thread";
    return NULL;
}

static int check_entry(struct kill_entry *en, bool require_gpu, struct error *e)
{
    char how[96];
    found_as(en, how, sizeof how);
    int pid = (int)en->h.id.pid;
    const char *name = en->h.stat.comm;
    /* a protected process first: forcing would not help there, so the
     * refusal must not suggest it */
    const char *why = protected_reason(en);
    if (why)
        return error_set(e, -EINVAL, "refusing to signal process %d (%s)%s: %s", pid, name,
                         how, why);
    if (require_gpu && en->role == KILL_ROLE_TARGET && !en->gpu_seen) {
        en->refused_off_gpu = true;
        return error_set(e, -EINVAL, "process %d (%s) is not using a GPU", pid, name);
    }
    struct error err = {0};
    int rc = proc_handle_signal(&en->h, 0, &err);
    if (rc == -EPERM)
        return error_set(e, -EPERM, "cannot signal process %d (%s)%s owned by user %s: "
                         "permission denied", pid, name, how,
                         en->host.user[0] ? en->host.user : "(unknown)");
    /* One that has exited meanwhile is the run's business, not a refusal. */
    if (rc < 0 && rc != -ESRCH) {
        *e = err;
        return rc;
    }
    return 0;
}

size_t kill_set_check(struct kill_set *s, bool require_gpu)
{
    size_t refused = 0;
    for (size_t i = 0; i < s->count; i++) {
        struct kill_entry *en = &s->items[i];
        error_clear(&en->refusal);
        if (en->outcome == KILL_OUTCOME_PENDING && check_entry(en, require_gpu, &en->refusal) < 0)
            refused++;
    }
    return refused;
}

/* ---- order and run ------------------------------------------------------------------- */

/* Ancestors within the set, through parent links; bounded by the set's size
 * so a cycle of stale links cannot loop. */
static int depth_in_set(const struct kill_set *s, const struct kill_entry *en)
{
    int depth = 0;
    for (size_t steps = 0; steps < s->count; steps++) {
        const struct kill_entry *parent = kill_set_find(s, en->h.stat.ppid);
        if (!parent || parent == en || parent->h.id.start_ticks > en->h.id.start_ticks)
            break;
        depth++;
        en = parent;
    }
    return depth;
}

static int children_first(const void *a, const void *b, void *arg)
{
    const struct kill_set *s = arg;
    const struct kill_entry *x = &s->items[*(const size_t *)a], *y = &s->items[*(const size_t *)b];
    if (x->depth != y->depth)
        return x->depth > y->depth ? -1 : 1;
    return (x->h.id.pid > y->h.id.pid) - (x->h.id.pid < y->h.id.pid);
}

void kill_set_order(struct kill_set *s, size_t *order)
{
    for (size_t i = 0; i < s->count; i++) {
        s->items[i].depth = depth_in_set(s, &s->items[i]);
        order[i] = i;
    }
    qsort_r(order, s->count, sizeof *order, children_first, s);
}

struct run_state {
    struct kill_set *s;
    size_t *order;
    const struct proc_handle **hs;   /* in order */
    bool *done;                      /* in order: exited, refused or failed */
    double *ended_at;                /* in order */
    double started;
};

static void send_to_all(struct run_state *r, int sig)
{
    for (size_t k = 0; k < r->s->count; k++) {
        struct kill_entry *en = &r->s->items[r->order[k]];
        if (r->done[k])
            continue;
        struct error err = {0};
        int rc = proc_handle_signal(&en->h, sig, &err);
        if (rc == 0) {
            en->signals[en->signal_count++] = sig;
            continue;
        }
        r->done[k] = true;
        if (rc == -ESRCH) {
            r->ended_at[k] = proc_ident_clock();
            char name[32];
            kill_signal_name(sig, name, sizeof name);
            error_set(&en->failure, 0, "it had exited before %s was sent", name);
        } else {
            en->outcome = KILL_OUTCOME_FAILED;
            en->failure = err;
        }
    }
}

static long wait_after(int sig, long timeout_ms)
{
    return sig == SIGKILL && timeout_ms < KILL_WAIT_AFTER_SIGKILL_MS ? KILL_WAIT_AFTER_SIGKILL_MS
                                                                     : timeout_ms;
}

static size_t finish(struct run_state *r)
{
    size_t left = 0;
    for (size_t k = 0; k < r->s->count; k++) {
        struct kill_entry *en = &r->s->items[r->order[k]];
        if (en->refusal.code)
            continue;
        if (en->outcome == KILL_OUTCOME_FAILED) {
            left++;
            continue;
        }
        if (!r->done[k]) {
            en->outcome = KILL_OUTCOME_STILL_RUNNING;
            left++;
            continue;
        }
        bool killed = en->signal_count && en->signals[en->signal_count - 1] == SIGKILL;
        en->outcome = killed ? KILL_OUTCOME_KILLED : KILL_OUTCOME_TERMINATED;
        en->ended_after_s = r->ended_at[k] - r->started;
    }
    return left;
}

static int run(struct run_state *r, const struct kill_run_options *o, struct error *e)
{
    size_t n = r->s->count;
    for (size_t k = 0; k < n; k++) {
        const struct kill_entry *en = &r->s->items[r->order[k]];
        r->hs[k] = &en->h;
        r->done[k] = en->refusal.code != 0 || en->outcome != KILL_OUTCOME_PENDING;
    }
    r->started = proc_ident_clock();
    send_to_all(r, o->signal);
    int rc = proc_handles_wait(r->hs, n, r->done, wait_after(o->signal, o->timeout_ms),
                               r->ended_at);
    if (rc > 0 && o->force && o->signal != SIGKILL) {
        send_to_all(r, SIGKILL);
        rc = proc_handles_wait(r->hs, n, r->done, wait_after(SIGKILL, o->timeout_ms),
                               r->ended_at);
    }
    if (rc < 0)
        return error_set(e, rc, "cannot wait for the processes to end: %s", strerror(-rc));
    return (int)finish(r);
}

int kill_set_run(struct kill_set *s, const struct kill_run_options *o, struct error *e)
{
    size_t n = s->count ? s->count : 1;
    struct run_state r = {
        .s = s, .order = malloc(n * sizeof *r.order), .hs = malloc(n * sizeof *r.hs),
        .done = calloc(n, sizeof *r.done), .ended_at = calloc(n, sizeof *r.ended_at),
    };
    int rc;
    if (!r.order || !r.hs || !r.done || !r.ended_at) {
        rc = error_set(e, -ENOMEM, "out of memory signalling %zu processes", s->count);
    } else {
        kill_set_order(s, r.order);
        rc = run(&r, o, e);
    }
    free(r.order);
    free(r.hs);
    free(r.done);
    free(r.ended_at);
    return rc;
}

/* ---- names ------------------------------------------------------------------------------ */

const char *kill_outcome_name(enum kill_outcome o)
{
    switch (o) {
    case KILL_OUTCOME_TERMINATED: return "terminated";
    case KILL_OUTCOME_KILLED: return "killed";
    case KILL_OUTCOME_STILL_RUNNING: return "still_running";
    case KILL_OUTCOME_FAILED: return "failed";
    case KILL_OUTCOME_PENDING: break;
    }
    return "pending";
}

const char *kill_role_name(enum kill_role r)
{
    switch (r) {
    case KILL_ROLE_GROUP: return "group";
    case KILL_ROLE_DESCENDANT: return "descendant";
    case KILL_ROLE_TARGET: break;
    }
    return "target";
}

#define KILL_SIGNAL_MAX 64

int kill_signal_parse(const char *text, int *out)
{
    if (!text || !*text)
        return -EINVAL;
    if (text[0] >= '0' && text[0] <= '9') {
        char *end;
        errno = 0;
        long v = strtol(text, &end, 10);
        if (errno || *end || v < 1 || v > KILL_SIGNAL_MAX)
            return -EINVAL;
        *out = (int)v;
        return 0;
    }
    const char *name = strncasecmp(text, "SIG", 3) == 0 ? text + 3 : text;
    for (int sig = 1; sig <= KILL_SIGNAL_MAX; sig++) {
        const char *abbrev = sigabbrev_np(sig);
        if (abbrev && strcasecmp(abbrev, name) == 0) {
            *out = sig;
            return 0;
        }
    }
    return -EINVAL;
}

void kill_signal_name(int sig, char *buf, size_t size)
{
    const char *abbrev = sigabbrev_np(sig);
    if (abbrev)
        snprintf(buf, size, "SIG%s", abbrev);
    else
        snprintf(buf, size, "SIG%d", sig);
}
