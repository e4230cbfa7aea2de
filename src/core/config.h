/* config.h - effective settings from defaults, config.toml, GPUCTL_*
 * environment variables and flags (ARCHITECTURE.md decision 8).
 *
 * Precedence: flag > environment > file > default.  Every value remembers
 * where it came from, for `gpuctl config show`.  A bad file or variable is
 * refused whole: config_load either fills everything or changes nothing.
 * Keys are one table (config.c), so adding a key is adding one line.
 */
#ifndef GPUCTL_CORE_CONFIG_H
#define GPUCTL_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

enum config_origin { CONFIG_FROM_DEFAULT, CONFIG_FROM_FILE, CONFIG_FROM_ENV, CONFIG_FROM_FLAG };

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };
enum output_format { OUTPUT_TABLE, OUTPUT_JSON, OUTPUT_CSV, OUTPUT_NDJSON };

enum config_key {
    CONFIG_LOG_LEVEL,
    CONFIG_OUTPUT_FORMAT,
    CONFIG_USE_COLORS,
    CONFIG_TABLE_WIDTH,
    CONFIG_DEFAULT_TIMEOUT_SECS,
    CONFIG_WATCH_INTERVAL_SECS,
    CONFIG_SHOW_DETAILS,
    CONFIG_AUDIT_RECORD_ON_LIST,
    CONFIG_AUDIT_RETENTION_DAYS,
    CONFIG_CLUSTER_NODE_RETENTION_HOURS,
    CONFIG_CLUSTER_IDLE_UTIL_PCT,
    CONFIG_CLUSTER_IDLE_MIN_MEMORY_MIB,
    CONFIG_CLUSTER_IDLE_MINUTES,
    CONFIG_CLUSTER_LOW_UTIL_PCT,
    CONFIG_CLUSTER_HOLD_MINUTES,
    CONFIG_CLUSTER_FAIR_SHARE_FACTOR,
    CONFIG_CLUSTER_TOP_USERS,
    CONFIG_KEY_COUNT
};

struct config {
    enum log_level log_level;
    enum output_format output_format;
    bool use_colors;               /* false forbids colour; true allows it on a terminal */
    int table_width;               /* 0: the terminal's width */
    int default_timeout_secs;
    double watch_interval_secs;
    bool show_details;
    bool audit_record_on_list;     /* `list` appends a sample to the audit database */
    int audit_retention_days;      /* 0 keeps everything */
    /* the coordinator (gpuctl serve --coordinator; docs/json/contention.md) */
    int cluster_node_retention_hours;  /* offline nodes forgotten after; 0 never */
    double cluster_idle_util_pct;
    int cluster_idle_min_memory_mib;
    double cluster_idle_minutes;
    double cluster_low_util_pct;
    double cluster_hold_minutes;
    double cluster_fair_share_factor;
    int cluster_top_users;

    enum config_origin origin[CONFIG_KEY_COUNT];
    char file_path[4096];          /* the file consulted, "" when no path could be formed */
    bool file_found;               /* true when file_path existed and was read */
};

/* Sets every key to its default. */
void config_defaults(struct config *c);

/* Default file: $XDG_CONFIG_HOME/gpuctl/config.toml, else
 * ~/.config/gpuctl/config.toml.  Writes "" when neither can be formed. */
void config_default_path(char *buf, size_t size);

/* Loads defaults, then the file (explicit_path, or the default path where a
 * missing file is fine; an explicit path that is missing is an error), then
 * the environment (empty variables count as unset).  Errors name
 * file:line:column or the variable and its value.  Replaces all of *c,
 * flags included, so call it before config_set_from_flag().  On error *c is
 * left exactly as it was. */
int config_load(struct config *c, const char *explicit_path, struct error *e);

/* Applies a flag value given as text (e.g. "json", "debug", "120"),
 * validated like the environment; on error names the value and leaves *c
 * unchanged. */
int config_set_from_flag(struct config *c, enum config_key key, const char *value,
                         struct error *e);

/* The key called name ("table_width"); -EINVAL when there is none. */
int config_key_find(const char *name, enum config_key *out);

/* For `config show`: key name, env variable, value as text, origin name. */
const char *config_key_name(enum config_key key);
const char *config_key_env(enum config_key key);
void config_value_text(const struct config *c, enum config_key key, char *buf, size_t size);
const char *config_origin_name(enum config_origin o);

/* Names as written in files, flags and JSON; parsing ignores case and
 * returns -EINVAL for an unknown name. */
const char *config_output_format_name(enum output_format f);
int config_output_format_parse(const char *s, enum output_format *out);
const char *config_log_level_name(enum log_level l);
int config_log_level_parse(const char *s, enum log_level *out);
/* A boolean in the forms configuration accepts (1/0, true/false, yes/no,
 * on/off, any case); false when s is none of them. */
bool config_parse_bool(const char *s, bool *out);

#endif
