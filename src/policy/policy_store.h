/* policy_store.h - the one place src/policy touches the audit store:
 * history rows for suspicious-usage detection, and the guard's violations
 * and actions.  Keeping the calls here means a change to store/audit.h
 * touches one file of this folder.
 */
#ifndef GPUCTL_POLICY_POLICY_STORE_H
#define GPUCTL_POLICY_POLICY_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "policy/guard_eval.h"
#include "policy/rogue.h"

struct policy_store;

/* Opens the audit database (path NULL: the default place); readonly for
 * readers.  Close with policy_store_close (accepts NULL). */
int policy_store_open(const char *path, bool readonly, struct policy_store **out,
                      struct error *e);
void policy_store_close(struct policy_store *s);
/* The database file's path (valid while s is open). */
const char *policy_store_path(const struct policy_store *s);

/* The process rows of the last `hours` hours before now_s. */
int policy_store_history(struct policy_store *s, double hours, double now_s,
                         struct rogue_history *out, struct error *e);

/* Stores a violation; *id receives its id for policy_store_action. */
int policy_store_violation(struct policy_store *s, const struct guard_violation *v,
                           double now_s, int64_t *id, struct error *e);
/* Stores what was done about violation id. */
int policy_store_action(struct policy_store *s, int64_t violation_id, const char *action,
                        bool dry_run, bool success, const char *message, double now_s,
                        struct error *e);

/* One row of `guard status`. */
struct policy_event {
    double time_s;
    char policy[96], rule[32], user[64], detail[192];
    pid_t pid;
    int gpu;
    bool has_action;
    double action_time_s;
    char action[32];
    bool dry_run, success;
    char message[256];
};

/* Violations (each with its actions) of the last `hours` hours, newest
 * first, at most limit (0: all).  Caller frees *out. */
int policy_store_events(struct policy_store *s, double hours, double now_s, size_t limit,
                        struct policy_event **out, size_t *count, struct error *e);

#endif
