/* procs.h - the process table's rows: built from a snapshot, filtered,
 * sorted, and for the tree view ordered under their ancestors.
 *
 * Pure logic with no terminal: rows point into the snapshot and ancestor
 * records they were built from, which must outlive them.
 */
#ifndef GPUCTL_TUI_PROCS_H
#define GPUCTL_TUI_PROCS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/filter.h"
#include "core/model.h"
#include "core/snapshot.h"

enum procs_sort {
    SORT_GPU, SORT_PID, SORT_USER, SORT_GPU_MEM, SORT_SM, SORT_GMBW, SORT_CPU, SORT_MEM,
    SORT_TIME, SORT_COUNT
};

/* Column heading of a sort key ("GPU", "PID", ...). */
const char *procs_sort_name(enum procs_sort s);
/* The key for an `o` letter (n u p g s b c m t, either case); -1 for none. */
int procs_sort_by_letter(int letter);
/* Whether `o` with the lower-case letter sorts s in descending order, as
 * nvitop's table has it: GPU and user ascend, every quantity (pid, GPU
 * memory, SM, bandwidth, CPU, host memory, time) descends; the capital
 * letter gives the other direction. */
bool procs_sort_descends_first(enum procs_sort s);

struct proc_row {
    pid_t pid;
    uint64_t start_ticks;
    const struct gpu_process *gp;     /* NULL: an ancestor shown in the tree view */
    const struct host_process *hp;    /* NULL: /proc could not show it */
    bool own;                         /* owned by the user running gpuctl */
    int depth;                        /* tree view: 0 for a root */
    char tree[96];                    /* tree view: the branch drawing before the command */
};

struct tui_nodes;
struct procs_input {
    const struct snapshot *snap;
    const struct tui_nodes *nodes;          /* a cluster's frame (tui.h); NULL: one machine */
    const struct host_process *ancestors;   /* tree view only; sorted by pid */
    size_t ancestor_count;
    const struct filter *criteria;    /* --compute, --user, --pid ...; may be NULL */
    const bool *device_visible;       /* per snapshot device; NULL = all */
    const uint64_t *mig_visible;      /* per snapshot device: MIG instances shown
                                       * (bit m for migs[m]); 0 or NULL = all */
    const struct filter *pattern;     /* the F prompt's pattern (user, name, command) */
    const char *self_user;
    enum procs_sort sort;
    bool reverse;
    bool tree;
    bool ascii;
    bool once;                        /* one-shot: lifetime CPU %, as ps shows */
};

struct proc_table {
    struct proc_row *rows;
    size_t count, cap;
};

/* Rebuilds t from in.  -ENOMEM on failure (t then holds no rows). */
int procs_build(struct proc_table *t, const struct procs_input *in);
void procs_free(struct proc_table *t);   /* accepts NULL */

/* The CPU % a row shows: the sampler's interval rate, or with once the
 * lifetime average. */
struct opt_f64 procs_cpu_pct(const struct proc_row *r, bool once);

/* Which of its device's MIG instances (index into migs) a process runs
 * on; -1 for a process on a whole GPU. */
int procs_mig_index(const struct snapshot *s, const struct gpu_process *gp);

/* The host facts of pid on the machine of device (a snapshot position):
 * in a cluster's frame (nodes not NULL) that device's node's, else
 * snapshot_host_process's.  NULL when not read. */
const struct host_process *procs_host_process(const struct snapshot *s,
                                              const struct tui_nodes *nodes, int device,
                                              pid_t pid);

/* Index of the row for (pid, start, gpu device or -1); -1 when absent. */
long procs_find(const struct proc_table *t, pid_t pid, uint64_t start, int device);

#endif
