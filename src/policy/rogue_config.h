/* rogue_config.h - the settings of suspicious-usage detection (rogue.toml).
 *
 * One table in rogue_config.c names every key (section, name, range), and
 * drives reading rogue.toml, writing it, exporting it as JSON and importing
 * JSON, so the four never disagree.  Loading and importing build a new
 * configuration and hand it over only when all of it is valid.
 */
#ifndef GPUCTL_POLICY_ROGUE_CONFIG_H
#define GPUCTL_POLICY_ROGUE_CONFIG_H

#include <jansson.h>
#include <stdbool.h>

#include "core/error.h"
#include "policy/policy_file.h"

enum rogue_category {
    ROGUE_CRYPTO_MINER,
    ROGUE_SUSPICIOUS_PROCESS,
    ROGUE_RESOURCE_ABUSE,
    ROGUE_DATA_EXFILTRATION,
    ROGUE_CATEGORY_COUNT
};

enum rogue_risk { ROGUE_RISK_LOW, ROGUE_RISK_MEDIUM, ROGUE_RISK_HIGH, ROGUE_RISK_CRITICAL };

struct rogue_config {
    /* [detection] */
    double max_memory_usage_gb;
    double max_utilization_pct;
    double max_duration_hours;
    double min_confidence_threshold;
    double max_network_output_mb_per_sec;
    double sustained_minutes;           /* how long history must show a behaviour */
    double miner_min_sm_pct;            /* "high SM %" for the behaviour test */
    double miner_max_cpu_pct;           /* "low host CPU" for the behaviour test */
    /* [patterns] */
    struct policy_strlist miner_names;        /* executable names, globs */
    struct policy_strlist miner_arguments;    /* whole arguments, globs */
    struct policy_strlist system_process_names;
    struct policy_strlist suspicious_users;
    struct policy_strlist temp_directories;
    struct policy_strlist allowed_users;
    struct policy_strlist allowed_processes;
    /* [scoring.threat_weights], indexed by enum rogue_category */
    double threat_weights[ROGUE_CATEGORY_COUNT];
    /* [scoring.risk_thresholds], indexed by enum rogue_risk; ascending */
    double risk_thresholds[4];
};

/* "crypto_miner", "suspicious_process", "resource_abuse", "data_exfiltration". */
const char *rogue_category_name(enum rogue_category c);
/* "low", "medium", "high", "critical". */
const char *rogue_risk_name(enum rogue_risk r);

/* The defaults; -ENOMEM.  Free with rogue_config_free (accepts NULL). */
int rogue_config_defaults(struct rogue_config *c);
void rogue_config_free(struct rogue_config *c);

/* Loads path.  When it does not exist and create is set, writes the
 * defaults there first ("created with defaults on first use"); *created
 * tells.  Errors name file:line:column; *c is only filled on success. */
int rogue_config_load(struct rogue_config *c, const char *path, bool create, bool *created,
                      struct error *e);

/* Parses TOML text (file names the source in messages); on success *c. */
int rogue_config_parse(struct rogue_config *c, const char *text, size_t len, const char *file,
                       struct error *e);

/* The whole configuration as rogue.toml text (caller frees); NULL on ENOMEM. */
char *rogue_config_to_toml(const struct rogue_config *c);
/* Validates c, reads its TOML back with rogue_config_parse (nothing is
 * written that a later load would refuse), then replaces path atomically
 * (write, fsync, rename). */
int rogue_config_save(const struct rogue_config *c, const char *path, struct error *e);

/* The JSON form (--rogue-export-config): {"detection": {...}, "patterns":
 * {...}, "scoring": {"threat_weights": {...}, "risk_thresholds": {...}}}.
 * New reference, NULL on ENOMEM. */
json_t *rogue_config_to_json(const struct rogue_config *c);
/* Reads that form; every key must be known and valid, missing keys keep
 * their defaults.  Errors name the key path ("detection.max_duration_hours"). */
int rogue_config_from_json(struct rogue_config *c, const json_t *doc, struct error *e);

/* Checks ranges, the order of the risk thresholds and that no pattern or
 * name in a list is empty. */
int rogue_config_validate(const struct rogue_config *c, struct error *e);

#endif
