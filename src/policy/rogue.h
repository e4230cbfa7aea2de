/* rogue.h - suspicious-usage detection: crypto miners, suspicious
 * processes, resource abuse and signs of data exfiltration, found in the
 * live snapshot and in the audit history.
 *
 * rogue_scan() only reads; it never signals anything.  Each finding carries
 * its confidence, risk level, the evidence behind it and a recommendation
 * (for a live process, the exact gpuctl kill command).  Matching is on
 * executable names and whole arguments, never on substrings of a command
 * line.  Printing is the CLI's.
 */
#ifndef GPUCTL_POLICY_ROGUE_H
#define GPUCTL_POLICY_ROGUE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/error.h"
#include "core/model.h"
#include "core/snapshot.h"
#include "policy/rogue_config.h"
#include "policy/rogue_facts.h"

/* One process row of the audit history. */
struct rogue_sample {
    double time;                 /* epoch seconds */
    int gpu;                     /* GPU index, -1 unknown */
    pid_t pid;
    char user[64];
    char name[64];
    char *cmdline;               /* owned; NULL unknown */
    struct opt_u64 gpu_mem_bytes;
    struct opt_f64 sm_pct;
    struct opt_f64 start_time;   /* process start, epoch seconds */
};

/* Rows ordered by time (any order is accepted; the scan sorts a copy of
 * the indices).  Owned; free with rogue_history_free (accepts NULL). */
struct rogue_history {
    struct rogue_sample *items;
    size_t count, cap;
};

/* Appends a copy of s (cmdline duplicated); -ENOMEM. */
int rogue_history_add(struct rogue_history *h, const struct rogue_sample *s);
void rogue_history_free(struct rogue_history *h);

struct rogue_evidence {
    char text[320];
    double confidence;           /* what this item alone gives */
};

struct rogue_finding {
    enum rogue_category category;
    pid_t pid;
    bool live;                   /* running now (in the snapshot) */
    char user[64];
    char name[64];
    char exe[512];               /* "" unknown */
    char *cmdline;               /* owned; NULL unknown */
    int gpu;                     /* a GPU it uses or used, -1 unknown */
    double confidence;           /* [0, 1]: 1 - prod(1 - evidence) */
    double risk_score;           /* confidence * threat weight of the category */
    enum rogue_risk risk;
    struct rogue_evidence *evidence;  /* owned */
    size_t evidence_count;
    char recommendation[256];
};

struct rogue_report {
    struct rogue_finding *findings;   /* owned; highest risk first */
    size_t count;
    size_t live_processes;            /* GPU processes scanned in the snapshot */
    size_t history_rows;              /* history rows scanned */
    size_t history_processes;         /* distinct processes in those rows */
};

struct rogue_input {
    const struct snapshot *snap;      /* may be NULL: history only */
    const struct rogue_history *history;   /* may be NULL: live only */
    /* Reads the /proc facts of a live pid; NULL means rogue_facts_read.
     * Tests substitute their own. */
    void (*read_facts)(pid_t pid, struct rogue_facts *out);
};

/* Scans and fills *out (caller frees with rogue_report_free).  Returns 0
 * or -ENOMEM. */
int rogue_scan(const struct rogue_config *cfg, const struct rogue_input *in,
               struct rogue_report *out, struct error *e);
void rogue_report_free(struct rogue_report *r);

/* Risk level for a score under cfg's thresholds; false when it is below
 * the lowest (the finding is not reported). */
bool rogue_risk_for(const struct rogue_config *cfg, double score, enum rogue_risk *out);

/* True when the argument looks like a cryptocurrency wallet address (an
 * Ethereum 0x address or a Monero/Bitcoin-style base58 address). */
bool rogue_wallet_like(const char *arg);

#endif
