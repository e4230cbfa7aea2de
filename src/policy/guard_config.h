/* guard_config.h - guard.toml: the policies guard mode enforces.
 *
 * [global] switches and defaults, [user_policies.NAME],
 * [group_policies.NAME], [gpu_policies."IDX"] and [[time_policies]].
 * Every limit is optional (unset means no limit).  Loading, importing and
 * the CLI's edits all build a complete new configuration and validate it
 * whole before anything is written or used; a refusal names
 * file:line:column and the key.
 */
#ifndef GPUCTL_POLICY_GUARD_CONFIG_H
#define GPUCTL_POLICY_GUARD_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/model.h"
#include "core/toml.h"
#include "policy/policy_file.h"

/* GPU indices a policy may name: 0 .. GUARD_MAX_GPUS-1 (a bit set). */
#define GUARD_MAX_GPUS 64
#define GUARD_DEFAULT_INTERVAL_S 60   /* check_interval_secs when guard.toml says nothing */

enum guard_enforcement { GUARD_SOFT, GUARD_HARD };

struct guard_limits {
    struct opt_f64 memory_gb;          /* GPU memory, summed over the scope */
    struct opt_f64 utilization_pct;    /* SM %, summed over the scope */
    struct opt_f64 duration_hours;     /* per process */
    struct opt_u64 max_processes;      /* concurrent GPU processes */
};

/* A weekly window: minutes after midnight [start, end), on the days in
 * days (bit 0 Sunday .. bit 6 Saturday, as struct tm's tm_wday). */
struct guard_window {
    bool set;
    int start_min, end_min;
    unsigned days;
};

struct guard_user_policy {
    char name[64];
    struct guard_limits limits;
    int64_t priority;                  /* higher keeps its processes longer */
    uint64_t allowed_gpus;             /* 0: any */
    uint64_t blocked_gpus;
    struct toml_pos allowed_pos, blocked_pos;  /* where the file sets them; {0,0} otherwise */
};

struct guard_group_policy {
    char name[64];
    struct policy_strlist members;
    struct guard_limits total;         /* over all members together */
    uint64_t allowed_gpus, blocked_gpus;
    struct toml_pos allowed_pos, blocked_pos;  /* where the file sets them; {0,0} otherwise */
};

struct guard_gpu_policy {
    int index;
    struct toml_pos pos;               /* where the file defines it; {0,0} otherwise */
    struct opt_f64 max_memory_gb;
    struct opt_f64 max_utilization_pct;
    struct opt_f64 reserved_memory_gb; /* must stay free for the system / other users */
    struct policy_strlist allowed_users;   /* empty: anyone not blocked */
    struct policy_strlist blocked_users;
    struct guard_window maintenance;   /* no process may use the GPU inside it */
};

struct guard_time_policy {
    char name[64];
    struct guard_window window;
    struct guard_limits limits;        /* per user while the window is open */
    struct policy_strlist users;       /* empty: everyone */
};

struct guard_config {
    bool enabled;
    bool dry_run;
    enum guard_enforcement enforcement;
    double grace_period_secs;
    double check_interval_secs;
    char webhook_url[1024];            /* "" none */
    bool syslog;
    bool notify_terminals;
    struct guard_limits defaults;      /* for users without their own policy */

    struct guard_user_policy *users;
    size_t user_count;
    struct guard_group_policy *groups;
    size_t group_count;
    struct guard_gpu_policy *gpus;
    size_t gpu_count;
    struct guard_time_policy *times;
    size_t time_count;
};

/* Defaults: disabled, dry run, soft, 300 s grace, 60 s interval. */
void guard_config_defaults(struct guard_config *c);
void guard_config_free(struct guard_config *c);
/* Deep copy; -ENOMEM. */
int guard_config_copy(struct guard_config *dst, const struct guard_config *src);

/* Parses TOML text; file names it in messages.  On success *c (free it). */
int guard_config_parse(struct guard_config *c, const char *text, size_t len, const char *file,
                       struct error *e);
/* Loads path; a missing file gives the defaults when missing_ok, else
 * -ENOENT.  *found (may be NULL) tells whether it existed. */
int guard_config_load(struct guard_config *c, const char *path, bool missing_ok, bool *found,
                      struct error *e);
/* Validates c, turns it into TOML, reads that text back with the same
 * reader guard_config_load uses (so nothing is written that a later load
 * would refuse), then replaces path atomically (write, fsync, rename). */
int guard_config_save(const struct guard_config *c, const char *path, struct error *e);
char *guard_config_to_toml(const struct guard_config *c);

/* Whole-configuration checks that do not depend on where it came from:
 * negative limits, utilisation over 100, windows ending before they start,
 * a group without members, empty names and user names, a webhook URL that
 * is not http(s) or holds control characters.  Named by key path. */
int guard_config_validate(const struct guard_config *c, struct error *e);
/* Checks every GPU index the policies name against the machine's
 * device_count ("unknown GPU"); file (may be NULL) for positions. */
int guard_config_check_gpus(const struct guard_config *c, size_t device_count, const char *file,
                            struct error *e);

/* JSON export and import (the same keys as the file). */
json_t *guard_config_to_json(const struct guard_config *c);
int guard_config_from_json(struct guard_config *c, const json_t *doc, const char *file,
                           struct error *e);

/* Lookups; NULL when absent. */
struct guard_user_policy *guard_config_user(struct guard_config *c, const char *name);
struct guard_group_policy *guard_config_group(struct guard_config *c, const char *name);
struct guard_gpu_policy *guard_config_gpu(struct guard_config *c, int index);
/* Adds an empty policy (or returns the existing one); NULL on ENOMEM. */
struct guard_user_policy *guard_config_add_user(struct guard_config *c, const char *name);
struct guard_group_policy *guard_config_add_group(struct guard_config *c, const char *name);
struct guard_gpu_policy *guard_config_add_gpu(struct guard_config *c, int index);
struct guard_time_policy *guard_config_add_time(struct guard_config *c, const char *name);
/* Remove by name / index; false when there was none. */
bool guard_config_remove_user(struct guard_config *c, const char *name);
bool guard_config_remove_group(struct guard_config *c, const char *name);
bool guard_config_remove_gpu(struct guard_config *c, int index);
bool guard_config_remove_time(struct guard_config *c, const char *name);

/* "HH:MM" -> minutes after midnight ("24:00" allowed as an end); -EINVAL. */
int guard_parse_clock(const char *s, int *minutes);
/* "mon", "Monday", ... -> 0..6 (Sunday 0); -EINVAL. */
int guard_parse_day(const char *s, int *wday);
/* "0,2,5" -> bit set; -EINVAL naming nothing (the caller names the flag). */
int guard_parse_gpu_list(const char *s, uint64_t *out);
/* True when the window is open at that local day and minute. */
bool guard_window_open(const struct guard_window *w, int wday, int minute);

#endif
