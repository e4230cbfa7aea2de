/* config.c - effective settings from defaults, config.toml, GPUCTL_*
 * variables and flags (ARCHITECTURE.md decision 8).
 *
 * Every key is one line of the `keys` table: its name in the file (dotted
 * for keys inside a section, e.g. "audit.retention_days"), its environment
 * variable, its type, its default, the values it accepts and where it lives
 * in struct config.  Everything else - reading the file, the environment and
 * flags, validating, reporting origins, printing values - is driven by that
 * table, so adding a key is adding a line (plus its field and enum name in
 * config.h).
 *
 * Loading works on a private copy and only copies it out once the file and
 * the environment have both been accepted, so bad configuration changes
 * nothing.  What this leaves to others: TOML syntax (toml.c), which
 * command-line flags exist and printing anything (src/cli).
 */
#include "core/config.h"

#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <locale.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/toml.h"

/* Files larger than this are refused rather than read: a configuration file
 * is a few hundred bytes, and this bounds what a mistaken path can cost. */
#define CONFIG_FILE_MAX (1024 * 1024)

enum key_type { KEY_CHOICE, KEY_BOOL, KEY_INT, KEY_NUMBER };

/* KEY_CHOICE and KEY_INT use i (a choice is its index, i.e. its enum value). */
union key_value {
    int i;
    bool b;
    double d;
};

struct key_desc {
    const char *name;            /* in config.toml; dotted inside a section */
    const char *env;             /* GPUCTL_* variable */
    enum key_type type;
    union key_value def;
    const char *const *choices;  /* KEY_CHOICE: names in enum order, NULL-terminated */
    double min, max;             /* KEY_INT, KEY_NUMBER: accepted range */
    bool min_exclusive;          /* true: min itself is refused ("> 0") */
    size_t offset;               /* of the field in struct config */
};

/* Choices and ints are stored through an int, so the enums must be ints. */
_Static_assert(sizeof(enum log_level) == sizeof(int), "enum log_level is not int-sized");
_Static_assert(sizeof(enum output_format) == sizeof(int), "enum output_format is not int-sized");

static const char *const log_level_names[] = {"error", "warn", "info", "debug", "trace", NULL};
static const char *const output_format_names[] = {"table", "json", "csv", "ndjson", NULL};

#define FIELD(f) offsetof(struct config, f)
#define CHOICE(id, name, env, field, names, def) \
    [id] = {name, env, KEY_CHOICE, {.i = def}, names, 0, 0, false, FIELD(field)}
#define BOOLEAN(id, name, env, field, def) \
    [id] = {name, env, KEY_BOOL, {.b = def}, NULL, 0, 0, false, FIELD(field)}
#define INTEGER(id, name, env, field, def, lo, hi) \
    [id] = {name, env, KEY_INT, {.i = def}, NULL, lo, hi, false, FIELD(field)}
#define NUMBER(id, name, env, field, def, lo, hi) \
    [id] = {name, env, KEY_NUMBER, {.d = def}, NULL, lo, hi, false, FIELD(field)}
#define NUMBER_ABOVE(id, name, env, field, def, lo, hi) \
    [id] = {name, env, KEY_NUMBER, {.d = def}, NULL, lo, hi, true, FIELD(field)}

static const struct key_desc keys[] = {
    CHOICE(CONFIG_LOG_LEVEL, "log_level", "GPUCTL_LOG_LEVEL", log_level, log_level_names,
           LOG_WARN),
    CHOICE(CONFIG_OUTPUT_FORMAT, "output_format", "GPUCTL_OUTPUT_FORMAT", output_format,
           output_format_names, OUTPUT_TABLE),
    BOOLEAN(CONFIG_USE_COLORS, "use_colors", "GPUCTL_USE_COLORS", use_colors, true),
    INTEGER(CONFIG_TABLE_WIDTH, "table_width", "GPUCTL_TABLE_WIDTH", table_width, 0, 0, INT_MAX),
    INTEGER(CONFIG_DEFAULT_TIMEOUT_SECS, "default_timeout_secs", "GPUCTL_DEFAULT_TIMEOUT",
            default_timeout_secs, 5, 1, 86400),
    NUMBER_ABOVE(CONFIG_WATCH_INTERVAL_SECS, "watch_interval_secs", "GPUCTL_WATCH_INTERVAL",
                 watch_interval_secs, 2.0, 0, 86400),
    BOOLEAN(CONFIG_SHOW_DETAILS, "show_details", "GPUCTL_SHOW_DETAILS", show_details, false),
    BOOLEAN(CONFIG_AUDIT_RECORD_ON_LIST, "audit.record_on_list", "GPUCTL_AUDIT_RECORD_ON_LIST",
            audit_record_on_list, true),
    INTEGER(CONFIG_AUDIT_RETENTION_DAYS, "audit.retention_days", "GPUCTL_AUDIT_RETENTION_DAYS",
            audit_retention_days, 90, 0, 36500),
    INTEGER(CONFIG_CLUSTER_NODE_RETENTION_HOURS, "cluster.node_retention_hours",
            "GPUCTL_CLUSTER_NODE_RETENTION_HOURS", cluster_node_retention_hours, 24, 0, 876000),
    NUMBER(CONFIG_CLUSTER_IDLE_UTIL_PCT, "cluster.idle_util_pct", "GPUCTL_CLUSTER_IDLE_UTIL_PCT",
           cluster_idle_util_pct, 5.0, 0, 100),
    INTEGER(CONFIG_CLUSTER_IDLE_MIN_MEMORY_MIB, "cluster.idle_min_memory_mib",
            "GPUCTL_CLUSTER_IDLE_MIN_MEMORY_MIB", cluster_idle_min_memory_mib, 1024, 1, INT_MAX),
    NUMBER_ABOVE(CONFIG_CLUSTER_IDLE_MINUTES, "cluster.idle_minutes",
                 "GPUCTL_CLUSTER_IDLE_MINUTES", cluster_idle_minutes, 30.0, 0, 525600),
    NUMBER(CONFIG_CLUSTER_LOW_UTIL_PCT, "cluster.low_util_pct", "GPUCTL_CLUSTER_LOW_UTIL_PCT",
           cluster_low_util_pct, 10.0, 0, 100),
    NUMBER_ABOVE(CONFIG_CLUSTER_HOLD_MINUTES, "cluster.hold_minutes",
                 "GPUCTL_CLUSTER_HOLD_MINUTES", cluster_hold_minutes, 60.0, 0, 525600),
    NUMBER_ABOVE(CONFIG_CLUSTER_FAIR_SHARE_FACTOR, "cluster.fair_share_factor",
                 "GPUCTL_CLUSTER_FAIR_SHARE_FACTOR", cluster_fair_share_factor, 2.0, 0, 1000),
    INTEGER(CONFIG_CLUSTER_TOP_USERS, "cluster.top_users", "GPUCTL_CLUSTER_TOP_USERS",
            cluster_top_users, 10, 1, 1000),
};

_Static_assert(sizeof keys / sizeof keys[0] == CONFIG_KEY_COUNT,
               "every enum config_key needs a line in keys[]");

/* ------------------------------------------------------------ storage */

static void store(struct config *c, enum config_key id, union key_value v,
                  enum config_origin origin)
{
    char *field = (char *)c + keys[id].offset;
    switch (keys[id].type) {
    case KEY_BOOL:
        memcpy(field, &v.b, sizeof v.b);
        break;
    case KEY_CHOICE:
    case KEY_INT:
        memcpy(field, &v.i, sizeof v.i);
        break;
    case KEY_NUMBER:
        memcpy(field, &v.d, sizeof v.d);
        break;
    }
    c->origin[id] = origin;
}

static union key_value fetch(const struct config *c, enum config_key id)
{
    const char *field = (const char *)c + keys[id].offset;
    union key_value v = {0};
    switch (keys[id].type) {
    case KEY_BOOL:
        memcpy(&v.b, field, sizeof v.b);
        break;
    case KEY_CHOICE:
    case KEY_INT:
        memcpy(&v.i, field, sizeof v.i);
        break;
    case KEY_NUMBER:
        memcpy(&v.d, field, sizeof v.d);
        break;
    }
    return v;
}

void config_defaults(struct config *c)
{
    memset(c, 0, sizeof *c);
    for (int id = 0; id < CONFIG_KEY_COUNT; id++)
        store(c, (enum config_key)id, keys[id].def, CONFIG_FROM_DEFAULT);
}

/* ------------------------------------------------------------ helpers */

/* Copies outside text into a message: control bytes become '?', long
 * values are cut with "...".  size is at least 8. */
static const char *shown(const char *s, size_t len, char *out, size_t size)
{
    size_t n = 0, limit = size - 4;   /* room for "..." and the NUL */
    for (size_t i = 0; i < len; i++) {
        if (n == limit) {
            memcpy(out + n, "...", 3);
            n += 3;
            break;
        }
        unsigned char ch = (unsigned char)s[i];
        out[n++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    out[n] = '\0';
    return out;
}

#define SHOWN(s, len) shown((s), (len), (char[72]){0}, 72)

static int choice_find(const char *const *choices, const char *s)
{
    for (int i = 0; choices[i]; i++)
        if (strcasecmp(choices[i], s) == 0)
            return i;
    return -1;
}

/* The name of choice i, or "?" for a value outside the list. */
static const char *choice_at(const char *const *choices, int i)
{
    for (int k = 0; choices[k]; k++)
        if (k == i)
            return choices[k];
    return "?";
}

static void choices_text(const char *const *choices, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; choices[i] && n < size; i++) {
        int w = snprintf(out + n, size - n, "%s%s", i ? ", " : "", choices[i]);
        if (w < 0)
            return;
        n += (size_t)w;
    }
}

static void range_text(const struct key_desc *k, char *out, size_t size)
{
    if (k->min_exclusive)
        snprintf(out, size, "must be greater than %.15g and at most %.15g", k->min, k->max);
    else
        snprintf(out, size, "must be between %.15g and %.15g", k->min, k->max);
}

/* NaN fails both comparisons, so it is out of every range. */
static bool in_range(const struct key_desc *k, double v)
{
    bool above_min = k->min_exclusive ? v > k->min : v >= k->min;
    return above_min && v <= k->max;
}

static bool parse_bool_text(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on", NULL};
    static const char *const no[] = {"0", "false", "no", "off", NULL};
    if (choice_find(yes, s) >= 0)
        *out = true;
    else if (choice_find(no, s) >= 0)
        *out = false;
    else
        return false;
    return true;
}

bool config_parse_bool(const char *s, bool *out)
{
    return parse_bool_text(s, out);
}

static bool parse_double_c_locale(const char *s, double *out)
{
    locale_t c_numeric = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (!c_numeric)
        return false;
    char *end;
    *out = strtod_l(s, &end, c_numeric);
    freelocale(c_numeric);
    return end != s && *end == '\0';
}

/* A value given as text (environment, flag).  On failure writes why, a
 * phrase that follows the name of the value. */
static bool from_text(const struct key_desc *k, const char *s, union key_value *out, char *why,
                      size_t size)
{
    char list[128];
    if (s[0] == ' ' || s[0] == '\t') {
        snprintf(why, size, "leading blanks are not allowed");
        return false;
    }
    switch (k->type) {
    case KEY_CHOICE:
        out->i = choice_find(k->choices, s);
        if (out->i >= 0)
            return true;
        choices_text(k->choices, list, sizeof list);
        snprintf(why, size, "expected one of %s", list);
        return false;
    case KEY_BOOL:
        if (parse_bool_text(s, &out->b))
            return true;
        snprintf(why, size, "expected a boolean (true/false, yes/no, on/off, 1/0)");
        return false;
    case KEY_INT: {
        char *end;
        errno = 0;
        long long n = strtoll(s, &end, 10);
        if (end == s || *end != '\0' || errno == ERANGE) {
            snprintf(why, size, "expected an integer");
            return false;
        }
        if (!in_range(k, (double)n)) {
            range_text(k, why, size);
            return false;
        }
        out->i = (int)n;
        return true;
    }
    case KEY_NUMBER:
        if (!parse_double_c_locale(s, &out->d)) {
            snprintf(why, size, "expected a number");
            return false;
        }
        if (!in_range(k, out->d)) {
            range_text(k, why, size);
            return false;
        }
        return true;
    }
    return false;
}

static const char *type_name(const struct toml_value *v)
{
    return toml_type_name(toml_type(v));
}

/* A value from config.toml.  On failure writes why, a phrase that follows
 * "file:line:column: key: ". */
static bool from_toml(const struct key_desc *k, const struct toml_value *v, union key_value *out,
                      char *why, size_t size)
{
    char list[128], range[96];
    size_t len;
    int64_t n;
    switch (k->type) {
    case KEY_CHOICE: {
        const char *s = toml_get_string(v, &len);
        if (!s) {
            snprintf(why, size, "expected a string, found %s", type_name(v));
            return false;
        }
        out->i = strlen(s) == len ? choice_find(k->choices, s) : -1;
        if (out->i >= 0)
            return true;
        choices_text(k->choices, list, sizeof list);
        snprintf(why, size, "expected one of %s, found \"%s\"", list, SHOWN(s, len));
        return false;
    }
    case KEY_BOOL:
        if (toml_get_bool(v, &out->b))
            return true;
        snprintf(why, size, "expected a boolean, found %s", type_name(v));
        return false;
    case KEY_INT:
        if (!toml_get_int(v, &n)) {
            snprintf(why, size, "expected an integer, found %s", type_name(v));
            return false;
        }
        if (!in_range(k, (double)n)) {
            range_text(k, range, sizeof range);
            snprintf(why, size, "%s, found %lld", range, (long long)n);
            return false;
        }
        out->i = (int)n;
        return true;
    case KEY_NUMBER:
        if (!toml_get_number(v, &out->d)) {
            snprintf(why, size, "expected a number, found %s", type_name(v));
            return false;
        }
        if (!in_range(k, out->d)) {
            range_text(k, range, sizeof range);
            snprintf(why, size, "%s, found %g", range, out->d);
            return false;
        }
        return true;
    }
    return false;
}

/* ------------------------------------------------------------ the file */

void config_default_path(char *buf, size_t size)
{
    if (size == 0)
        return;
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    int n = -1;
    /* The XDG base directory spec says relative values are to be ignored. */
    if (xdg && xdg[0] == '/')
        n = snprintf(buf, size, "%s/gpuctl/config.toml", xdg);
    else if (home && home[0])
        n = snprintf(buf, size, "%s/.config/gpuctl/config.toml", home);
    if (n < 0 || (size_t)n >= size)
        buf[0] = '\0';
}

static int file_error(struct error *e, int err, const char *what, const char *path)
{
    char buf[128];
    return error_set(e, -err, "cannot %s config file %s: %s", what, path,
                     strerror_r(err, buf, sizeof buf));
}

/* Reads the whole file into *buf (caller frees).  *found stays false when
 * the file does not exist and that is allowed. */
static int read_file(const char *path, bool must_exist, char **buf, size_t *len, bool *found,
                     struct error *e)
{
    *buf = NULL;
    *len = 0;
    *found = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && !must_exist)
        return 0;
    if (fd < 0 && errno == ENOENT)
        return error_set(e, -ENOENT, "config file %s does not exist", path);
    if (fd < 0)
        return file_error(e, errno, "open", path);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int err = errno;
        close(fd);
        return file_error(e, err, "examine", path);
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return error_set(e, -EISDIR, "config file %s is a directory, not a file", path);
    }
    char *data = malloc(CONFIG_FILE_MAX + 1);
    if (!data) {
        close(fd);
        return error_set(e, -ENOMEM, "out of memory reading config file %s", path);
    }
    size_t total = 0;
    while (total <= CONFIG_FILE_MAX) {
        ssize_t r = read(fd, data + total, CONFIG_FILE_MAX + 1 - total);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int err = errno;
            close(fd);
            free(data);
            return file_error(e, err, "read", path);
        }
        if (r == 0)
            break;
        total += (size_t)r;
    }
    close(fd);
    if (total > CONFIG_FILE_MAX) {
        free(data);
        return error_set(e, -EFBIG, "config file %s is larger than %d bytes", path,
                         CONFIG_FILE_MAX);
    }
    *buf = data;
    *len = total;
    *found = true;
    return 0;
}

static int key_find(const char *name)
{
    for (int id = 0; id < CONFIG_KEY_COUNT; id++)
        if (strcmp(keys[id].name, name) == 0)
            return id;
    return -1;
}

/* True when some key lives in section `name` ("audit" for "audit.x"). */
static bool is_section(const char *name)
{
    size_t n = strlen(name);
    for (int id = 0; id < CONFIG_KEY_COUNT; id++)
        if (strncmp(keys[id].name, name, n) == 0 && keys[id].name[n] == '.')
            return true;
    return false;
}

static int unknown_key(const char *path, struct toml_pos pos, const char *name, size_t len,
                       struct error *e)
{
    char known[512];
    size_t n = 0;
    known[0] = '\0';
    for (int id = 0; id < CONFIG_KEY_COUNT && n < sizeof known; id++) {
        int w = snprintf(known + n, sizeof known - n, "%s%s", id ? ", " : "", keys[id].name);
        if (w < 0)
            break;
        n += (size_t)w;
    }
    return error_set(e, -EINVAL, "%s:%u:%u: unknown key \"%s\"; known keys: %s", path, pos.line,
                     pos.column, SHOWN(name, len), known);
}

static int apply_table(struct config *c, const struct toml_value *table, const char *prefix,
                       const char *path, struct error *e);

static int apply_entry(struct config *c, const struct toml_entry *ent, const char *prefix,
                       const char *path, struct error *e)
{
    char name[256];
    int n = snprintf(name, sizeof name, "%s%s%.*s", prefix, prefix[0] ? "." : "",
                     (int)(ent->key_len < sizeof name ? ent->key_len : sizeof name), ent->key);
    /* A key holding "\0" or longer than any known name is unknown as it is. */
    bool plain = n >= 0 && (size_t)n < sizeof name && strlen(ent->key) == ent->key_len;
    int id = plain ? key_find(name) : -1;
    if (id >= 0) {
        char why[256];
        union key_value v;
        struct toml_pos pos = toml_value_pos(ent->value);
        if (!from_toml(&keys[id], ent->value, &v, why, sizeof why))
            return error_set(e, -EINVAL, "%s:%u:%u: %s: %s", path, pos.line, pos.column, name,
                             why);
        store(c, (enum config_key)id, v, CONFIG_FROM_FILE);
        return 0;
    }
    if (plain && toml_type(ent->value) == TOML_TABLE && is_section(name))
        return apply_table(c, ent->value, name, path, e);
    return unknown_key(path, ent->key_pos, name, strnlen(name, sizeof name), e);
}

static int apply_table(struct config *c, const struct toml_value *table, const char *prefix,
                       const char *path, struct error *e)
{
    struct toml_entry ent;
    for (size_t i = 0; toml_table_at(table, i, &ent); i++) {
        int rc = apply_entry(c, &ent, prefix, path, e);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int load_file(struct config *c, bool must_exist, struct error *e)
{
    char *buf;
    size_t len;
    int rc = read_file(c->file_path, must_exist, &buf, &len, &c->file_found, e);
    if (rc < 0 || !c->file_found)
        return rc;
    struct toml_value *root;
    rc = toml_parse(buf, len, c->file_path, &root, e);
    free(buf);
    if (rc < 0)
        return rc;
    rc = apply_table(c, root, "", c->file_path, e);
    toml_free(root);
    return rc;
}

/* ------------------------------------------------------------ environment */

static int load_environment(struct config *c, struct error *e)
{
    for (int id = 0; id < CONFIG_KEY_COUNT; id++) {
        const char *text = keys[id].env ? getenv(keys[id].env) : NULL;
        if (!text || !text[0])
            continue;   /* empty counts as unset */
        char why[256];
        union key_value v;
        if (!from_text(&keys[id], text, &v, why, sizeof why))
            return error_set(e, -EINVAL, "environment variable %s=\"%s\": %s", keys[id].env,
                             SHOWN(text, strlen(text)), why);
        store(c, (enum config_key)id, v, CONFIG_FROM_ENV);
    }
    return 0;
}

int config_load(struct config *c, const char *explicit_path, struct error *e)
{
    struct config next;
    config_defaults(&next);
    if (explicit_path) {
        if (!explicit_path[0])
            return error_set(e, -EINVAL, "the config file path is empty");
        size_t n = strlen(explicit_path);
        if (n >= sizeof next.file_path)
            return error_set(e, -ENAMETOOLONG, "config file path is too long (%zu bytes)", n);
        memcpy(next.file_path, explicit_path, n + 1);
    } else {
        config_default_path(next.file_path, sizeof next.file_path);
    }
    int rc = next.file_path[0] ? load_file(&next, explicit_path != NULL, e) : 0;
    if (rc == 0)
        rc = load_environment(&next, e);
    if (rc < 0)
        return rc;
    *c = next;
    return 0;
}

int config_set_from_flag(struct config *c, enum config_key key, const char *value,
                         struct error *e)
{
    if ((unsigned)key >= CONFIG_KEY_COUNT || !value)
        return error_set(e, -EINVAL, "config_set_from_flag: no such key or no value");
    char why[256];
    union key_value v;
    if (!from_text(&keys[key], value, &v, why, sizeof why))
        return error_set(e, -EINVAL, "invalid value \"%s\" for %s: %s",
                         SHOWN(value, strlen(value)), keys[key].name, why);
    store(c, key, v, CONFIG_FROM_FLAG);
    return 0;
}

/* ------------------------------------------------------------ names, text */

const char *config_key_name(enum config_key key)
{
    return (unsigned)key < CONFIG_KEY_COUNT ? keys[key].name : "?";
}

const char *config_key_env(enum config_key key)
{
    return (unsigned)key < CONFIG_KEY_COUNT && keys[key].env ? keys[key].env : "";
}

int config_key_find(const char *name, enum config_key *out)
{
    int id = name ? key_find(name) : -1;
    if (id < 0)
        return -EINVAL;
    *out = (enum config_key)id;
    return 0;
}

/* Shortest text that reads back as the same double, always with a decimal
 * point or exponent so it reads as a float, and always with '.' whatever
 * LC_NUMERIC says. */
static void format_double(double d, char *buf, size_t size)
{
    locale_t c_numeric = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t previous = c_numeric ? uselocale(c_numeric) : (locale_t)0;
    if (d == trunc(d) && fabs(d) < 1e15) {
        snprintf(buf, size, "%.1f", d);   /* 60.0, never 6e+01 */
    } else {
        for (int precision = 1; precision <= 17; precision++) {
            snprintf(buf, size, "%.*g", precision, d);
            if (strtod(buf, NULL) == d)
                break;
        }
    }
    if (c_numeric) {
        uselocale(previous);
        freelocale(c_numeric);
    }
    if (strspn(buf, "-0123456789") == strlen(buf) && strlen(buf) + 2 < size)
        strcat(buf, ".0");
}

void config_value_text(const struct config *c, enum config_key key, char *buf, size_t size)
{
    if (size == 0)
        return;
    if ((unsigned)key >= CONFIG_KEY_COUNT) {
        buf[0] = '\0';
        return;
    }
    const struct key_desc *k = &keys[key];
    union key_value v = fetch(c, key);
    switch (k->type) {
    case KEY_CHOICE:
        snprintf(buf, size, "%s", choice_at(k->choices, v.i));
        break;
    case KEY_BOOL:
        snprintf(buf, size, "%s", v.b ? "true" : "false");
        break;
    case KEY_INT:
        snprintf(buf, size, "%d", v.i);
        break;
    case KEY_NUMBER:
        format_double(v.d, buf, size);
        break;
    }
}

const char *config_origin_name(enum config_origin o)
{
    switch (o) {
    case CONFIG_FROM_DEFAULT: return "default";
    case CONFIG_FROM_FILE: return "file";
    case CONFIG_FROM_ENV: return "environment";
    case CONFIG_FROM_FLAG: return "flag";
    }
    return "?";
}

const char *config_output_format_name(enum output_format f)
{
    return choice_at(output_format_names, (int)f);
}

const char *config_log_level_name(enum log_level l)
{
    return choice_at(log_level_names, (int)l);
}

int config_output_format_parse(const char *s, enum output_format *out)
{
    int i = s ? choice_find(output_format_names, s) : -1;
    if (i < 0)
        return -EINVAL;
    *out = (enum output_format)i;
    return 0;
}

int config_log_level_parse(const char *s, enum log_level *out)
{
    int i = s ? choice_find(log_level_names, s) : -1;
    if (i < 0)
        return -EINVAL;
    *out = (enum log_level)i;
    return 0;
}
