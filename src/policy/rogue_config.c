/* rogue_config.c - rogue.toml: defaults, reading, writing, JSON export and
 * import, all driven by the two key tables below.
 *
 * Reading is strict like the rest of gpuctl's configuration: an unknown
 * section or key, a value of the wrong type or out of range is refused with
 * file:line:column, and nothing of the file is used.  What the settings
 * mean is rogue.c's business.
 */
#include "policy/rogue_config.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct num_key {
    const char *section;   /* dotted table path */
    const char *name;
    size_t offset;         /* of a double in struct rogue_config */
    double min, max, def;
};

#define NUM(sec, key, field, lo, hi, d) \
    {sec, key, offsetof(struct rogue_config, field), lo, hi, d}

static const struct num_key num_keys[] = {
    NUM("detection", "max_memory_usage_gb", max_memory_usage_gb, 0, 1e6, 20),
    NUM("detection", "max_utilization_pct", max_utilization_pct, 0, 100, 95),
    NUM("detection", "max_duration_hours", max_duration_hours, 0, 1e6, 24),
    NUM("detection", "min_confidence_threshold", min_confidence_threshold, 0, 1, 0.5),
    NUM("detection", "max_network_output_mb_per_sec", max_network_output_mb_per_sec, 0, 1e6, 10),
    NUM("detection", "sustained_minutes", sustained_minutes, 0, 1e6, 10),
    NUM("detection", "miner_min_sm_pct", miner_min_sm_pct, 0, 100, 90),
    NUM("detection", "miner_max_cpu_pct", miner_max_cpu_pct, 0, 1e4, 10),
    NUM("scoring.threat_weights", "crypto_miner", threat_weights[ROGUE_CRYPTO_MINER], 0, 1, 1.0),
    NUM("scoring.threat_weights", "suspicious_process",
        threat_weights[ROGUE_SUSPICIOUS_PROCESS], 0, 1, 0.7),
    NUM("scoring.threat_weights", "resource_abuse", threat_weights[ROGUE_RESOURCE_ABUSE], 0, 1,
        0.5),
    NUM("scoring.threat_weights", "data_exfiltration", threat_weights[ROGUE_DATA_EXFILTRATION],
        0, 1, 0.9),
    NUM("scoring.risk_thresholds", "low", risk_thresholds[ROGUE_RISK_LOW], 0, 1, 0.2),
    NUM("scoring.risk_thresholds", "medium", risk_thresholds[ROGUE_RISK_MEDIUM], 0, 1, 0.4),
    NUM("scoring.risk_thresholds", "high", risk_thresholds[ROGUE_RISK_HIGH], 0, 1, 0.6),
    NUM("scoring.risk_thresholds", "critical", risk_thresholds[ROGUE_RISK_CRITICAL], 0, 1, 0.8),
};

struct list_key {
    const char *name;      /* in [patterns] */
    size_t offset;         /* of a struct policy_strlist */
    const char *const *def;
};

static const char *const def_miners[] = {
    "xmrig", "xmrig-*", "xmr-stak*", "ccminer", "ccminer-*", "ethminer", "t-rex", "nbminer",
    "lolminer", "phoenixminer", "gminer", "bminer", "teamredminer", "nanominer", "cgminer",
    "bfgminer", "cpuminer", "cpuminer-*", "minerd", "srbminer*", "trex", "excavator",
    "claymore*", "ethdcrminer64", "z-enemy", "wildrig*", "kawpowminer", "progpowminer",
    "rigel", "onezerominer", NULL};
static const char *const def_arguments[] = {
    "stratum+tcp://*", "stratum+ssl://*", "stratum+tls://*", "stratum2+tcp://*",
    "stratum1+tcp://*", "stratum://*", "--donate-level*", "--wallet*", "--pool*", "--coin*",
    "--algo=*", "--mining-threads*", "--cuda-devices*", "--rig-id*", "*.nicehash.com*",
    "*nanopool.org*", "*2miners.com*", "*f2pool.com*", "*ethermine.org*", "*minexmr.com*",
    "*supportxmr.com*", "*hashvault.pro*", "*herominers.com*", NULL};
static const char *const def_system[] = {
    "kworker*", "kthreadd", "ksoftirqd*", "kswapd*", "migration*", "rcu_*", "watchdog*",
    "systemd", "systemd-*", "init", "sshd", "cron", "crond", "dbus-daemon", "rsyslogd",
    "udevd", "agetty", "login", "polkitd", "irqbalance", "containerd", "dockerd", "kauditd",
    "khugepaged", NULL};
static const char *const def_users[] = {
    "nobody", "www-data", "daemon", "bin", "sys", "games", "man", "lp", "mail", "news",
    "uucp", "proxy", "backup", "list", "irc", "gnats", "ftp", "apache", "nginx", "mysql",
    "postgres", NULL};
static const char *const def_temp[] = {"/tmp", "/var/tmp", "/dev/shm", "/run/shm", NULL};
static const char *const def_none[] = {NULL};

#define LIST(key, field, d) {key, offsetof(struct rogue_config, field), d}

static const struct list_key list_keys[] = {
    LIST("miner_names", miner_names, def_miners),
    LIST("miner_arguments", miner_arguments, def_arguments),
    LIST("system_process_names", system_process_names, def_system),
    LIST("suspicious_users", suspicious_users, def_users),
    LIST("temp_directories", temp_directories, def_temp),
    LIST("allowed_users", allowed_users, def_none),
    LIST("allowed_processes", allowed_processes, def_none),
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static double *num_at(struct rogue_config *c, const struct num_key *k)
{
    return (double *)((char *)c + k->offset);
}

static double num_get(const struct rogue_config *c, const struct num_key *k)
{
    return *(const double *)((const char *)c + k->offset);
}

static struct policy_strlist *list_at(struct rogue_config *c, const struct list_key *k)
{
    return (struct policy_strlist *)((char *)c + k->offset);
}

static const struct policy_strlist *list_get(const struct rogue_config *c, const struct list_key *k)
{
    return (const struct policy_strlist *)((const char *)c + k->offset);
}

const char *rogue_category_name(enum rogue_category c)
{
    static const char *const names[] = {"crypto_miner", "suspicious_process", "resource_abuse",
                                        "data_exfiltration"};
    return (unsigned)c < COUNT(names) ? names[c] : "unknown";
}

const char *rogue_risk_name(enum rogue_risk r)
{
    static const char *const names[] = {"low", "medium", "high", "critical"};
    return (unsigned)r < COUNT(names) ? names[r] : "unknown";
}

void rogue_config_free(struct rogue_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < COUNT(list_keys); i++)
        policy_strlist_free(list_at(c, &list_keys[i]));
}

int rogue_config_defaults(struct rogue_config *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < COUNT(num_keys); i++)
        *num_at(c, &num_keys[i]) = num_keys[i].def;
    for (size_t i = 0; i < COUNT(list_keys); i++)
        for (const char *const *p = list_keys[i].def; *p; p++)
            if (policy_strlist_add(list_at(c, &list_keys[i]), *p) < 0) {
                rogue_config_free(c);
                return -ENOMEM;
            }
    return 0;
}

/* The first risk level whose threshold is above the next one's; -1 when
 * they ascend. */
static int threshold_out_of_order(const struct rogue_config *c)
{
    for (int r = ROGUE_RISK_LOW; r < ROGUE_RISK_CRITICAL; r++)
        if (c->risk_thresholds[r] > c->risk_thresholds[r + 1])
            return r;
    return -1;
}

int rogue_config_validate(const struct rogue_config *c, struct error *e)
{
    for (size_t i = 0; i < COUNT(num_keys); i++) {
        const struct num_key *k = &num_keys[i];
        double v = num_get(c, k);
        if (!isfinite(v) || v < k->min || v > k->max)
            return error_set(e, -EINVAL, "%s.%s must be between %g and %g, not %g", k->section,
                             k->name, k->min, k->max, v);
    }
    int r = threshold_out_of_order(c);
    if (r >= 0)
        return error_set(e, -EINVAL, "scoring.risk_thresholds: %s (%g) is above %s (%g); "
                         "they must ascend low <= medium <= high <= critical",
                         rogue_risk_name(r), c->risk_thresholds[r], rogue_risk_name(r + 1),
                         c->risk_thresholds[r + 1]);
    for (size_t i = 0; i < COUNT(list_keys); i++) {
        const struct policy_strlist *l = list_get(c, &list_keys[i]);
        for (size_t j = 0; j < l->count; j++)
            if (!l->items[j][0])
                return error_set(e, -EINVAL, "patterns.%s: an empty name or pattern matches "
                                 "nothing; every item must be a non-empty string",
                                 list_keys[i].name);
    }
    return 0;
}

/* ---- TOML ----------------------------------------------------------------------- */

static const struct num_key *find_num(const char *section, const char *name)
{
    for (size_t i = 0; i < COUNT(num_keys); i++)
        if (strcmp(num_keys[i].section, section) == 0 && strcmp(num_keys[i].name, name) == 0)
            return &num_keys[i];
    return NULL;
}

static const struct list_key *find_list(const char *section, const char *name)
{
    if (strcmp(section, "patterns") != 0)
        return NULL;
    for (size_t i = 0; i < COUNT(list_keys); i++)
        if (strcmp(list_keys[i].name, name) == 0)
            return &list_keys[i];
    return NULL;
}

static bool known_section(const char *path)
{
    return strcmp(path, "detection") == 0 || strcmp(path, "patterns") == 0 ||
           strcmp(path, "scoring") == 0 || strcmp(path, "scoring.threat_weights") == 0 ||
           strcmp(path, "scoring.risk_thresholds") == 0;
}

/* A list given in the file replaces the default list whole. */
static int read_value(struct rogue_config *c, const char *section, const struct toml_entry *en,
                      const char *file, struct error *e)
{
    const struct num_key *nk = find_num(section, en->key);
    if (nk) {
        double v;
        if (!toml_get_number(en->value, &v))
            return policy_toml_error(e, file, en->value, "%s.%s must be a number", section,
                                     en->key);
        if (!isfinite(v))
            return policy_toml_error(e, file, en->value, "%s.%s must be a finite number, "
                                     "not %s", section, en->key,
                                     isnan(v) ? "nan" : v < 0 ? "-inf" : "inf");
        if (v < nk->min || v > nk->max)
            return policy_toml_error(e, file, en->value, "%s.%s must be between %g and %g",
                                     section, en->key, nk->min, nk->max);
        *num_at(c, nk) = v;
        return 0;
    }
    const struct list_key *lk = find_list(section, en->key);
    if (!lk)
        return error_set(e, -ERROR_PARSE, "%s:%u:%u: unknown key '%s' in [%s]", file,
                         en->key_pos.line, en->key_pos.column, en->key, section);
    struct policy_strlist *l = list_at(c, lk);
    policy_strlist_free(l);
    char what[96];
    snprintf(what, sizeof what, "patterns.%s", en->key);
    return policy_toml_get_strlist(en->value, file, what, l, e);
}

static int read_table(struct rogue_config *c, const struct toml_value *t, const char *path,
                      const char *file, struct error *e)
{
    for (size_t i = 0; i < toml_table_size(t); i++) {
        struct toml_entry en;
        toml_table_at(t, i, &en);
        char sub[128];
        snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", en.key);
        if (toml_type(en.value) == TOML_TABLE) {
            if (!known_section(sub))
                return error_set(e, -ERROR_PARSE, "%s:%u:%u: unknown section [%s]", file,
                                 en.key_pos.line, en.key_pos.column, sub);
            int rc = read_table(c, en.value, sub, file, e);
            if (rc < 0)
                return rc;
        } else if (!*path || strcmp(path, "scoring") == 0) {
            return error_set(e, -ERROR_PARSE, "%s:%u:%u: unknown key '%s'%s%s", file,
                             en.key_pos.line, en.key_pos.column, en.key, *path ? " in " : "",
                             path);
        } else {
            int rc = read_value(c, path, &en, file, e);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* Thresholds out of order, named at the value the file set (the later of
 * the two when it set both; the section when it set neither). */
static int thresholds_in_order(const struct rogue_config *c, const struct toml_value *root,
                               const char *file, struct error *e)
{
    int r = threshold_out_of_order(c);
    if (r < 0)
        return 0;
    const struct toml_value *scoring = toml_table_get(root, "scoring");
    const struct toml_value *t = scoring ? toml_table_get(scoring, "risk_thresholds") : NULL;
    const struct toml_value *hi = t ? toml_table_get(t, rogue_risk_name(r + 1)) : NULL;
    const struct toml_value *lo = t ? toml_table_get(t, rogue_risk_name(r)) : NULL;
    const struct toml_value *at = hi ? hi : lo ? lo : t ? t : root;
    return policy_toml_error(e, file, at, "scoring.risk_thresholds: %s (%g) is above %s (%g); "
                             "they must ascend low <= medium <= high <= critical",
                             rogue_risk_name(r), c->risk_thresholds[r], rogue_risk_name(r + 1),
                             c->risk_thresholds[r + 1]);
}

int rogue_config_parse(struct rogue_config *c, const char *text, size_t len, const char *file,
                       struct error *e)
{
    struct toml_value *root;
    int rc = toml_parse(text, len, file, &root, e);
    if (rc < 0)
        return rc;
    struct rogue_config next;
    rc = rogue_config_defaults(&next);
    if (rc < 0) {
        toml_free(root);
        return error_set(e, rc, "out of memory reading %s", file);
    }
    rc = read_table(&next, root, "", file, e);
    if (rc == 0)
        rc = thresholds_in_order(&next, root, file, e);
    toml_free(root);
    if (rc == 0 && (rc = rogue_config_validate(&next, e)) < 0)
        error_prefix(e, "%s", file);
    if (rc < 0) {
        rogue_config_free(&next);
        return rc;
    }
    *c = next;
    return 0;
}

char *rogue_config_to_toml(const struct rogue_config *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    fputs("# gpuctl suspicious-usage detection (gpuctl audit --rogue).\n"
          "# Every key is described in docs/configuration.md.\n", f);
    const char *section = "";
    for (size_t i = 0; i < COUNT(num_keys); i++) {
        const struct num_key *k = &num_keys[i];
        if (strcmp(section, k->section) != 0) {
            section = k->section;
            if (strcmp(section, "scoring.threat_weights") == 0) {
                fputs("\n[patterns]\n", f);
                for (size_t j = 0; j < COUNT(list_keys); j++) {
                    fprintf(f, "%s = ", list_keys[j].name);
                    policy_toml_strlist(f, list_get(c, &list_keys[j]));
                    fputc('\n', f);
                }
            }
            fprintf(f, "\n[%s]\n", section);
        }
        fprintf(f, "%s = ", k->name);
        policy_toml_number(f, num_get(c, k));
        fputc('\n', f);
    }
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

int rogue_config_save(const struct rogue_config *c, const char *path, struct error *e)
{
    int rc = rogue_config_validate(c, e);
    if (rc < 0)
        return rc;
    char *text = rogue_config_to_toml(c);
    if (!text)
        return error_set(e, -ENOMEM, "out of memory writing %s", path);
    /* what is written must load again: read it back with the same reader */
    struct rogue_config back;
    rc = rogue_config_parse(&back, text, strlen(text), path, e);
    if (rc < 0)
        error_prefix(e, "not writing %s, its reader would refuse the result", path);
    else
        rogue_config_free(&back);
    if (rc == 0)
        rc = policy_write_file(path, text, strlen(text), e);
    free(text);
    return rc;
}

int rogue_config_load(struct rogue_config *c, const char *path, bool create, bool *created,
                      struct error *e)
{
    if (created)
        *created = false;
    char *text;
    size_t len;
    int rc = policy_read_file(path, &text, &len, e);
    if (rc == -ENOENT && create) {
        struct rogue_config def;
        if (rogue_config_defaults(&def) < 0)
            return error_set(e, -ENOMEM, "out of memory");
        rc = rogue_config_save(&def, path, e);
        if (rc < 0) {
            rogue_config_free(&def);
            return rc;
        }
        if (created)
            *created = true;
        *c = def;
        return 0;
    }
    if (rc < 0)
        return rc;
    rc = rogue_config_parse(c, text, len, path, e);
    free(text);
    return rc;
}

/* ---- JSON ------------------------------------------------------------------------- */

static json_t *section_obj(json_t *root, const char *path)
{
    json_t *obj = root;
    char copy[64];
    snprintf(copy, sizeof copy, "%s", path);
    char *save = NULL;
    for (char *part = strtok_r(copy, ".", &save); part; part = strtok_r(NULL, ".", &save)) {
        json_t *next = json_object_get(obj, part);
        if (!next) {
            next = json_object();
            if (!next || json_object_set_new(obj, part, next) < 0)
                return NULL;
        }
        obj = next;
    }
    return obj;
}

json_t *rogue_config_to_json(const struct rogue_config *c)
{
    json_t *root = json_object();
    if (!root)
        return NULL;
    for (size_t i = 0; i < COUNT(num_keys); i++) {
        json_t *sec = section_obj(root, num_keys[i].section);
        if (!sec || json_object_set_new(sec, num_keys[i].name,
                                        json_real(num_get(c, &num_keys[i]))) < 0)
            goto fail;
    }
    json_t *patterns = section_obj(root, "patterns");
    for (size_t i = 0; patterns && i < COUNT(list_keys); i++) {
        const struct policy_strlist *l = list_get(c, &list_keys[i]);
        json_t *arr = json_array();
        for (size_t j = 0; arr && j < l->count; j++)
            json_array_append_new(arr, json_string(l->items[j]));
        if (!arr || json_object_set_new(patterns, list_keys[i].name, arr) < 0)
            goto fail;
    }
    if (patterns)
        return root;
fail:
    json_decref(root);
    return NULL;
}

static int json_list(struct policy_strlist *l, const json_t *arr, const char *name,
                     struct error *e)
{
    if (!json_is_array(arr))
        return error_set(e, -EINVAL, "patterns.%s must be an array of strings", name);
    policy_strlist_free(l);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *item = json_array_get(arr, i);
        if (!json_is_string(item) || json_string_length(item) == 0 ||
            strlen(json_string_value(item)) != json_string_length(item))
            return error_set(e, -EINVAL, "patterns.%s[%zu] must be a non-empty string", name, i);
        if (policy_strlist_add(l, json_string_value(item)) < 0)
            return error_set(e, -ENOMEM, "out of memory");
    }
    return 0;
}

static int json_section(struct rogue_config *c, const char *path, const json_t *obj,
                        struct error *e);

static int json_member(struct rogue_config *c, const char *path, const char *key,
                       const json_t *v, struct error *e)
{
    char sub[128];
    snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", key);
    if (json_is_object(v)) {
        if (!known_section(sub))
            return error_set(e, -EINVAL, "unknown section '%s'", sub);
        return json_section(c, sub, v, e);
    }
    const struct num_key *nk = *path ? find_num(path, key) : NULL;
    if (nk) {
        double d = json_is_number(v) ? json_number_value(v) : NAN;
        if (!json_is_number(v) || d < nk->min || d > nk->max)
            return error_set(e, -EINVAL, "%s must be a number between %g and %g", sub, nk->min,
                             nk->max);
        *num_at(c, nk) = d;
        return 0;
    }
    const struct list_key *lk = *path ? find_list(path, key) : NULL;
    if (lk)
        return json_list(list_at(c, lk), v, key, e);
    return error_set(e, -EINVAL, "unknown key '%s'", sub);
}

static int json_section(struct rogue_config *c, const char *path, const json_t *obj,
                        struct error *e)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        int rc = json_member(c, path, key, v, e);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int rogue_config_from_json(struct rogue_config *c, const json_t *doc, struct error *e)
{
    if (!json_is_object(doc))
        return error_set(e, -EINVAL, "the configuration must be a JSON object");
    struct rogue_config next;
    if (rogue_config_defaults(&next) < 0)
        return error_set(e, -ENOMEM, "out of memory");
    int rc = json_section(&next, "", doc, e);
    if (rc == 0)
        rc = rogue_config_validate(&next, e);
    if (rc < 0) {
        rogue_config_free(&next);
        return rc;
    }
    *c = next;
    return 0;
}
