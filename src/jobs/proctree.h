/* proctree.h - reading one process of a job's tree: its children, its
 * stat, status and (with --pss) smaps_rollup, through files kept open
 * between samples.
 *
 * A job is sampled every interval, so the per-process cost is the budget
 * (bench/run).  Opening /proc/PID/... walks the path every time; a file
 * kept open and read again with pread costs only the kernel's formatting.
 * An open /proc file also stays bound to the process it was opened on, so
 * a reused pid can never be read through it: once the process is gone the
 * read fails.  Where the descriptors run out (EMFILE) a file is opened,
 * read and closed each time instead.
 */
#ifndef GPUCTL_JOBS_PROCTREE_H
#define GPUCTL_JOBS_PROCTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"

/* Growable list of pids. */
struct pid_list {
    pid_t *items;
    size_t count, cap;
};

int pid_list_push(struct pid_list *l, pid_t pid);
void pid_list_free(struct pid_list *l);   /* accepts NULL */

/* Parses the contents of /proc/PID/task/TID/children ("12 34 ") and
 * appends each pid to out.  Returns 0, -ERROR_PARSE for anything but
 * decimal pids separated by spaces, -ENOMEM. */
int proctree_parse_children(const char *buf, size_t len, struct pid_list *out);

/* The "Pss:" line of smaps_rollup, in KiB.  Returns 0, -ENOENT when there
 * is no such line (a zombie), -ERROR_PARSE when it is malformed. */
int proctree_parse_pss(const char *buf, size_t len, uint64_t *pss_kib);

/* The resident page count (second field) of /proc/PID/statm.  Returns 0
 * or -ERROR_PARSE. */
int proctree_parse_statm(const char *buf, size_t len, uint64_t *resident_pages);

/* One process's open files (stat, read rarely, is opened each time). */
struct proctree_files {
    pid_t pid;
    int status_fd, statm_fd, smaps_fd, children_fd;   /* -1: not open */
};

#define PROCTREE_FILES_CLOSED(p) \
    ((struct proctree_files){.pid = (p), .status_fd = -1, .statm_fd = -1, .smaps_fd = -1, \
                             .children_fd = -1})

/* Opens the files of pid (smaps_rollup only when pss).  Fails with -ESRCH
 * when the process is gone, -errno otherwise; a failure to keep a file
 * open for lack of descriptors is not one. */
int proctree_open(struct proctree_files *f, pid_t pid, bool pss);
void proctree_close(struct proctree_files *f);

/* What one sample reads of one process. */
struct proctree_reading {
    char comm[64];            /* from stat; "" when stat was not read */
    char status_name[64];     /* the Name line of status (escaped): tells an exec */
    char state;
    pid_t ppid;
    uint64_t start_ticks;
    bool waited;              /* it has reaped children (cminflt/cmajflt) */
    bool has_mm;              /* false for a zombie: no memory */
    bool has_hwm;             /* hwm_kib was read */
    uint64_t rss_kib;
    uint64_t hwm_kib;
    uint64_t pss_kib;         /* with PROCTREE_PSS */
    unsigned threads;         /* with PROCTREE_STATUS; else 0 */
};

/* What proctree_read reads, each file once; the price per process on the
 * development VM is in brackets. */
enum proctree_want {
    PROCTREE_STAT = 1u << 0,    /* comm, state, parent, start, waited  [3 us, by path] */
    PROCTREE_STATUS = 1u << 1,  /* name, state, parent, threads, VmRSS, VmHWM  [6 us] */
    PROCTREE_STATM = 1u << 2,   /* RSS  [1 us] */
    PROCTREE_PSS = 1u << 3,     /* smaps_rollup's Pss  [48 us] */
};

/* Reads what want asks for (PSS only for a process with memory, so ask
 * for STATUS or STATM with it).  Fields of files not read stay zero.  -ESRCH
 * when the process is gone; other -errno; -ERROR_PARSE for a malformed
 * stat or statm. */
int proctree_read(struct proctree_files *f, unsigned want, struct proctree_reading *out);

/* Appends the children of every thread of the process to out.  threads is
 * the count from the latest status: with one thread, only the main
 * thread's file is read (through the kept-open descriptor). */
int proctree_children(struct proctree_files *f, unsigned threads, struct pid_list *out);

/* The command line (NUL bytes become spaces, malloc'd) and the exe link;
 * NULL / "" when unreadable. */
char *proctree_cmdline(pid_t pid);
void proctree_exe(pid_t pid, char *buf, size_t size);

#endif
