/* guard_config.c - guard.toml: defaults, strict reading, validation,
 * writing, JSON export and import, and the edits `gpuctl guard` makes.
 *
 * Reading builds a complete new configuration; only when every section
 * and key has been accepted and guard_config_validate() agrees is it handed
 * to the caller.  JSON import turns the document into TOML text and reads
 * that, so both forms go through the same checks; its messages name the
 * key path instead of a line.  What the policies mean is guard_eval.c's.
 */
#include "policy/guard_config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/str.h"

#define ALL_DAYS 0x7fu

/* ---- small parsers ---------------------------------------------------------------- */

int guard_parse_clock(const char *s, int *minutes)
{
    if (strlen(s) != 5 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
        s[2] != ':' || !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
        return -EINVAL;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && m != 0))
        return -EINVAL;
    *minutes = h * 60 + m;
    return 0;
}

int guard_parse_day(const char *s, int *wday)
{
    static const char *const full[] = {"sunday", "monday", "tuesday", "wednesday",
                                       "thursday", "friday", "saturday"};
    for (int i = 0; i < 7; i++)
        if (strcasecmp(s, full[i]) == 0 || (strlen(s) == 3 && strncasecmp(s, full[i], 3) == 0)) {
            *wday = i;
            return 0;
        }
    return -EINVAL;
}

int guard_parse_gpu_list(const char *s, uint64_t *out)
{
    uint64_t set = 0;
    const char *p = s;
    if (!*p)
        return -EINVAL;
    while (*p) {
        if (!isdigit((unsigned char)*p))
            return -EINVAL;
        char *end;
        unsigned long v = strtoul(p, &end, 10);
        if (v >= GUARD_MAX_GPUS || (*end && *end != ','))
            return -EINVAL;
        set |= 1ull << v;
        p = *end ? end + 1 : end;
    }
    *out = set;
    return 0;
}

bool guard_window_open(const struct guard_window *w, int wday, int minute)
{
    return w->set && (w->days & (1u << wday)) && minute >= w->start_min && minute < w->end_min;
}

/* ---- configuration values ---------------------------------------------------------- */

void guard_config_defaults(struct guard_config *c)
{
    memset(c, 0, sizeof *c);
    c->dry_run = true;
    c->enforcement = GUARD_SOFT;
    c->grace_period_secs = 300;
    c->check_interval_secs = GUARD_DEFAULT_INTERVAL_S;
    c->syslog = true;
    c->notify_terminals = true;
}

void guard_config_free(struct guard_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->group_count; i++)
        policy_strlist_free(&c->groups[i].members);
    for (size_t i = 0; i < c->gpu_count; i++) {
        policy_strlist_free(&c->gpus[i].allowed_users);
        policy_strlist_free(&c->gpus[i].blocked_users);
    }
    for (size_t i = 0; i < c->time_count; i++)
        policy_strlist_free(&c->times[i].users);
    free(c->users);
    free(c->groups);
    free(c->gpus);
    free(c->times);
    guard_config_defaults(c);
}

#define DUP_ARRAY(field, count)                                                    \
    do {                                                                           \
        if (src->count) {                                                          \
            dst->field = malloc(src->count * sizeof *dst->field);                  \
            if (!dst->field)                                                       \
                goto fail;                                                         \
            memcpy(dst->field, src->field, src->count * sizeof *dst->field);       \
        }                                                                          \
    } while (0)

int guard_config_copy(struct guard_config *dst, const struct guard_config *src)
{
    *dst = *src;
    dst->users = NULL;
    dst->groups = NULL;
    dst->gpus = NULL;
    dst->times = NULL;
    size_t groups = src->group_count, gpus = src->gpu_count, times = src->time_count;
    dst->group_count = dst->gpu_count = dst->time_count = 0;
    DUP_ARRAY(users, user_count);
    DUP_ARRAY(groups, group_count);
    for (size_t i = 0; i < groups; i++, dst->group_count++)
        if (policy_strlist_copy(&dst->groups[i].members, &src->groups[i].members) < 0)
            goto fail;
    DUP_ARRAY(gpus, gpu_count);
    for (size_t i = 0; i < gpus; i++, dst->gpu_count++) {
        dst->gpus[i].blocked_users = (struct policy_strlist){0};
        if (policy_strlist_copy(&dst->gpus[i].allowed_users, &src->gpus[i].allowed_users) < 0 ||
            policy_strlist_copy(&dst->gpus[i].blocked_users, &src->gpus[i].blocked_users) < 0) {
            policy_strlist_free(&dst->gpus[i].allowed_users);
            goto fail;
        }
    }
    DUP_ARRAY(times, time_count);
    for (size_t i = 0; i < times; i++, dst->time_count++)
        if (policy_strlist_copy(&dst->times[i].users, &src->times[i].users) < 0)
            goto fail;
    return 0;
fail:
    guard_config_free(dst);
    return -ENOMEM;
}

/* ---- lookups and edits ------------------------------------------------------------ */

struct guard_user_policy *guard_config_user(struct guard_config *c, const char *name)
{
    for (size_t i = 0; i < c->user_count; i++)
        if (strcmp(c->users[i].name, name) == 0)
            return &c->users[i];
    return NULL;
}

struct guard_group_policy *guard_config_group(struct guard_config *c, const char *name)
{
    for (size_t i = 0; i < c->group_count; i++)
        if (strcmp(c->groups[i].name, name) == 0)
            return &c->groups[i];
    return NULL;
}

struct guard_gpu_policy *guard_config_gpu(struct guard_config *c, int index)
{
    for (size_t i = 0; i < c->gpu_count; i++)
        if (c->gpus[i].index == index)
            return &c->gpus[i];
    return NULL;
}

static void *grow(void *items, size_t count, size_t size)
{
    return realloc(items, (count + 1) * size);
}

struct guard_user_policy *guard_config_add_user(struct guard_config *c, const char *name)
{
    struct guard_user_policy *p = guard_config_user(c, name);
    if (p)
        return p;
    struct guard_user_policy *items = grow(c->users, c->user_count, sizeof *items);
    if (!items)
        return NULL;
    c->users = items;
    p = &c->users[c->user_count++];
    *p = (struct guard_user_policy){0};
    str_copy(p->name, sizeof p->name, name);
    return p;
}

struct guard_group_policy *guard_config_add_group(struct guard_config *c, const char *name)
{
    struct guard_group_policy *p = guard_config_group(c, name);
    if (p)
        return p;
    struct guard_group_policy *items = grow(c->groups, c->group_count, sizeof *items);
    if (!items)
        return NULL;
    c->groups = items;
    p = &c->groups[c->group_count++];
    *p = (struct guard_group_policy){0};
    str_copy(p->name, sizeof p->name, name);
    return p;
}

struct guard_gpu_policy *guard_config_add_gpu(struct guard_config *c, int index)
{
    struct guard_gpu_policy *p = guard_config_gpu(c, index);
    if (p)
        return p;
    struct guard_gpu_policy *items = grow(c->gpus, c->gpu_count, sizeof *items);
    if (!items)
        return NULL;
    c->gpus = items;
    p = &c->gpus[c->gpu_count++];
    *p = (struct guard_gpu_policy){.index = index};
    return p;
}

struct guard_time_policy *guard_config_add_time(struct guard_config *c, const char *name)
{
    for (size_t i = 0; i < c->time_count; i++)
        if (strcmp(c->times[i].name, name) == 0)
            return &c->times[i];
    struct guard_time_policy *items = grow(c->times, c->time_count, sizeof *items);
    if (!items)
        return NULL;
    c->times = items;
    struct guard_time_policy *p = &c->times[c->time_count++];
    *p = (struct guard_time_policy){.window = {.set = true, .days = ALL_DAYS, .end_min = 1440}};
    str_copy(p->name, sizeof p->name, name);
    return p;
}

bool guard_config_remove_user(struct guard_config *c, const char *name)
{
    struct guard_user_policy *p = guard_config_user(c, name);
    if (!p)
        return false;
    size_t i = (size_t)(p - c->users);
    memmove(p, p + 1, (c->user_count - i - 1) * sizeof *p);
    c->user_count--;
    return true;
}

bool guard_config_remove_group(struct guard_config *c, const char *name)
{
    struct guard_group_policy *p = guard_config_group(c, name);
    if (!p)
        return false;
    size_t i = (size_t)(p - c->groups);
    policy_strlist_free(&p->members);
    memmove(p, p + 1, (c->group_count - i - 1) * sizeof *p);
    c->group_count--;
    return true;
}

bool guard_config_remove_gpu(struct guard_config *c, int index)
{
    struct guard_gpu_policy *p = guard_config_gpu(c, index);
    if (!p)
        return false;
    size_t i = (size_t)(p - c->gpus);
    policy_strlist_free(&p->allowed_users);
    policy_strlist_free(&p->blocked_users);
    memmove(p, p + 1, (c->gpu_count - i - 1) * sizeof *p);
    c->gpu_count--;
    return true;
}

bool guard_config_remove_time(struct guard_config *c, const char *name)
{
    for (size_t i = 0; i < c->time_count; i++)
        if (strcmp(c->times[i].name, name) == 0) {
            policy_strlist_free(&c->times[i].users);
            memmove(&c->times[i], &c->times[i + 1], (c->time_count - i - 1) * sizeof *c->times);
            c->time_count--;
            return true;
        }
    return false;
}

/* ---- validation ------------------------------------------------------------------- */

static int check_limits(const struct guard_limits *l, const char *path, struct error *e)
{
    if (l->memory_gb.known && !(l->memory_gb.v >= 0))
        return error_set(e, -EINVAL, "%s: memory limit must not be negative", path);
    if (l->utilization_pct.known && !(l->utilization_pct.v >= 0 && l->utilization_pct.v <= 100))
        return error_set(e, -EINVAL, "%s: utilization limit must be between 0 and 100", path);
    if (l->duration_hours.known && !(l->duration_hours.v >= 0))
        return error_set(e, -EINVAL, "%s: duration limit must not be negative", path);
    return 0;
}

static int check_window(const struct guard_window *w, const char *path, struct error *e)
{
    if (!w->set)
        return 0;
    if (w->end_min <= w->start_min)
        return error_set(e, -EINVAL, "%s: end time %02d:%02d is not after start time %02d:%02d",
                         path, w->end_min / 60, w->end_min % 60, w->start_min / 60,
                         w->start_min % 60);
    if (!w->days)
        return error_set(e, -EINVAL, "%s: days_of_week is empty", path);
    return 0;
}

static int check_opt(struct opt_f64 v, double max, const char *path, const char *key,
                     struct error *e)
{
    if (v.known && !(v.v >= 0 && v.v <= max))
        return error_set(e, -EINVAL, "%s.%s must be between 0 and %g", path, key, max);
    return 0;
}

/* A name the reader would refuse: empty (the reader wants 1 to 63 bytes). */
static int check_name(const char *name, const char *section, struct error *e)
{
    if (!name[0])
        return error_set(e, -EINVAL, "%s: a policy name must not be empty", section);
    return 0;
}

static int check_users(const struct policy_strlist *l, const char *path, const char *key,
                       struct error *e)
{
    for (size_t i = 0; i < l->count; i++)
        if (!l->items[i][0])
            return error_set(e, -EINVAL, "%s.%s: a user name must not be empty", path, key);
    return 0;
}

/* NULL when url is acceptable, else what is wrong with it. */
static const char *webhook_problem(const char *url)
{
    if (!url[0])
        return NULL;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return "must start with http:// or https://";
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return "must not contain spaces or control characters (such as CR or LF)";
    return NULL;
}

int guard_config_validate(const struct guard_config *c, struct error *e)
{
    char path[160];
    int rc = 0;
    if (!(c->grace_period_secs >= 0) || !(c->check_interval_secs > 0))
        return error_set(e, -EINVAL, "global: grace_period_secs must be >= 0 and "
                         "check_interval_secs > 0");
    const char *bad_url = webhook_problem(c->webhook_url);
    if (bad_url)
        return error_set(e, -EINVAL, "global.webhook_url %s", bad_url);
    if ((rc = check_limits(&c->defaults, "global defaults", e)) < 0)
        return rc;
    for (size_t i = 0; i < c->user_count && rc == 0; i++) {
        snprintf(path, sizeof path, "user_policies.%s", c->users[i].name);
        if ((rc = check_name(c->users[i].name, "user_policies", e)) == 0)
            rc = check_limits(&c->users[i].limits, path, e);
    }
    for (size_t i = 0; i < c->group_count && rc == 0; i++) {
        snprintf(path, sizeof path, "group_policies.%s", c->groups[i].name);
        if ((rc = check_name(c->groups[i].name, "group_policies", e)) == 0)
            rc = check_limits(&c->groups[i].total, path, e);
        if (rc == 0 && c->groups[i].members.count == 0)
            rc = error_set(e, -EINVAL, "%s: members is empty", path);
        if (rc == 0)
            rc = check_users(&c->groups[i].members, path, "members", e);
    }
    for (size_t i = 0; i < c->gpu_count && rc == 0; i++) {
        const struct guard_gpu_policy *g = &c->gpus[i];
        snprintf(path, sizeof path, "gpu_policies.\"%d\"", g->index);
        if ((rc = check_opt(g->max_memory_gb, 1e9, path, "max_memory_gb", e)) == 0 &&
            (rc = check_opt(g->max_utilization_pct, 100, path, "max_utilization_pct", e)) == 0 &&
            (rc = check_opt(g->reserved_memory_gb, 1e9, path, "reserved_memory_gb", e)) == 0 &&
            (rc = check_users(&g->allowed_users, path, "allowed_users", e)) == 0 &&
            (rc = check_users(&g->blocked_users, path, "blocked_users", e)) == 0)
            rc = check_window(&g->maintenance, path, e);
    }
    for (size_t i = 0; i < c->time_count && rc == 0; i++) {
        snprintf(path, sizeof path, "time_policies \"%s\"", c->times[i].name);
        if ((rc = check_name(c->times[i].name, "time_policies", e)) == 0 &&
            (rc = check_limits(&c->times[i].limits, path, e)) == 0 &&
            (rc = check_users(&c->times[i].users, path, "users", e)) == 0)
            rc = check_window(&c->times[i].window, path, e);
    }
    return rc;
}

/* An index in set beyond the machine's GPUs; at pos in file when both are known. */
static int gpu_set_error(uint64_t set, size_t device_count, const char *what, const char *file,
                         struct toml_pos pos, struct error *e)
{
    for (int i = 0; i < GUARD_MAX_GPUS; i++) {
        if (!(set >> i & 1) || (size_t)i < device_count)
            continue;
        if (file && pos.line)
            return error_set(e, -ERROR_PARSE, "%s:%u:%u: %s names GPU %d, but this machine has "
                             "%zu GPU%s", file, pos.line, pos.column, what, i, device_count,
                             device_count == 1 ? "" : "s");
        return error_set(e, -EINVAL, "%s names GPU %d, but this machine has %zu GPU%s", what,
                         i, device_count, device_count == 1 ? "" : "s");
    }
    return 0;
}

static int gpu_sets_error(uint64_t allowed, struct toml_pos allowed_pos, uint64_t blocked,
                          struct toml_pos blocked_pos, size_t device_count, const char *path,
                          const char *file, struct error *e)
{
    char what[200];
    snprintf(what, sizeof what, "%.160s.allowed_gpus", path);
    int rc = gpu_set_error(allowed, device_count, what, file, allowed_pos, e);
    snprintf(what, sizeof what, "%.160s.blocked_gpus", path);
    return rc ? rc : gpu_set_error(blocked, device_count, what, file, blocked_pos, e);
}

int guard_config_check_gpus(const struct guard_config *c, size_t device_count, const char *file,
                            struct error *e)
{
    char what[200];
    for (size_t i = 0; i < c->gpu_count; i++) {
        const struct guard_gpu_policy *g = &c->gpus[i];
        if (g->index >= 0 && (size_t)g->index < device_count)
            continue;
        if (file && g->pos.line)
            return error_set(e, -ERROR_PARSE, "%s:%u:%u: gpu_policies.\"%d\": unknown GPU (this "
                             "machine has %zu)", file, g->pos.line, g->pos.column, g->index,
                             device_count);
        return error_set(e, -EINVAL, "gpu_policies.\"%d\": unknown GPU (this machine has %zu)",
                         g->index, device_count);
    }
    int rc = 0;
    for (size_t i = 0; i < c->user_count && rc == 0; i++) {
        const struct guard_user_policy *u = &c->users[i];
        snprintf(what, sizeof what, "user_policies.%s", u->name);
        rc = gpu_sets_error(u->allowed_gpus, u->allowed_pos, u->blocked_gpus, u->blocked_pos,
                            device_count, what, file, e);
    }
    for (size_t i = 0; i < c->group_count && rc == 0; i++) {
        const struct guard_group_policy *g = &c->groups[i];
        snprintf(what, sizeof what, "group_policies.%s", g->name);
        rc = gpu_sets_error(g->allowed_gpus, g->allowed_pos, g->blocked_gpus, g->blocked_pos,
                            device_count, what, file, e);
    }
    return rc;
}

/* ---- reading ---------------------------------------------------------------------- */

struct reader {
    const char *file;
    bool positions;            /* false for JSON imports: the text is generated */
    struct error *e;
};

static int fail_at(const struct reader *r, struct toml_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(const struct reader *r, struct toml_pos pos, const char *fmt, ...)
{
    char msg[ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->positions)
        return error_set(r->e, -ERROR_PARSE, "%s:%u:%u: %s", r->file, pos.line, pos.column, msg);
    return error_set(r->e, -ERROR_PARSE, "%s: %s", r->file, msg);
}

static int want_table(const struct reader *r, const struct toml_entry *en, const char *what)
{
    if (toml_type(en->value) != TOML_TABLE)
        return fail_at(r, en->key_pos, "%s must be a table, not a %s", what,
                       toml_type_name(toml_type(en->value)));
    return 0;
}

static int get_bool(const struct reader *r, const struct toml_entry *en, const char *path,
                    bool *out)
{
    if (!toml_get_bool(en->value, out))
        return fail_at(r, toml_value_pos(en->value), "%s.%s must be true or false", path,
                       en->key);
    return 0;
}

static int get_number(const struct reader *r, const struct toml_entry *en, const char *path,
                      double min, double max, double *out)
{
    double v;
    if (!toml_get_number(en->value, &v))
        return fail_at(r, toml_value_pos(en->value), "%s.%s must be a number", path, en->key);
    if (!isfinite(v))
        return fail_at(r, toml_value_pos(en->value), "%s.%s must be a finite number, not %s",
                       path, en->key, isnan(v) ? "nan" : v < 0 ? "-inf" : "inf");
    if (v < min)
        return fail_at(r, toml_value_pos(en->value), "%s.%s must not be %s", path, en->key,
                       v < 0 ? "negative" : "below its minimum");
    if (v > max)
        return fail_at(r, toml_value_pos(en->value), "%s.%s must be at most %g", path, en->key,
                       max);
    *out = v;
    return 0;
}

static int get_opt(const struct reader *r, const struct toml_entry *en, const char *path,
                   double max, struct opt_f64 *out)
{
    double v;
    int rc = get_number(r, en, path, 0, max, &v);
    if (rc == 0)
        OPT_SET(*out, v);
    return rc;
}

static int get_count(const struct reader *r, const struct toml_entry *en, const char *path,
                     struct opt_u64 *out)
{
    int64_t v;
    if (!toml_get_int(en->value, &v) || v < 0)
        return fail_at(r, toml_value_pos(en->value), "%s.%s must be a whole number >= 0", path,
                       en->key);
    OPT_SET(*out, (uint64_t)v);
    return 0;
}

static int get_text(const struct reader *r, const struct toml_entry *en, const char *path,
                    char *buf, size_t size)
{
    size_t len;
    const char *s = toml_get_string(en->value, &len);
    if (!s || strlen(s) != len || len >= size)
        return fail_at(r, toml_value_pos(en->value), "%s.%s must be a string (under %zu bytes)",
                       path, en->key, size);
    memcpy(buf, s, len + 1);
    return 0;
}

static int get_users(const struct reader *r, const struct toml_entry *en, const char *path,
                     struct policy_strlist *out)
{
    char what[200];
    snprintf(what, sizeof what, "%s.%s", path, en->key);
    policy_strlist_free(out);
    int rc = policy_toml_get_strlist(en->value, r->file, what, out, r->e);
    if (rc < 0 && !r->positions)
        error_set(r->e, rc, "%s: %s must be an array of non-empty strings", r->file, what);
    return rc;
}

static int get_gpus(const struct reader *r, const struct toml_entry *en, const char *path,
                    uint64_t *out, struct toml_pos *pos)
{
    if (r->positions)
        *pos = toml_value_pos(en->value);
    uint64_t set = 0;
    if (toml_type(en->value) != TOML_ARRAY)
        return fail_at(r, toml_value_pos(en->value), "%s.%s must be an array of GPU indices",
                       path, en->key);
    for (size_t i = 0; i < toml_array_size(en->value); i++) {
        int64_t v;
        const struct toml_value *item = toml_array_get(en->value, i);
        if (!toml_get_int(item, &v) || v < 0 || v >= GUARD_MAX_GPUS)
            return fail_at(r, toml_value_pos(item), "%s.%s: a GPU index is a whole number "
                           "from 0 to %d", path, en->key, GUARD_MAX_GPUS - 1);
        set |= 1ull << v;
    }
    *out = set;
    return 0;
}

static int get_clock(const struct reader *r, const struct toml_entry *en, const char *path,
                     int *out)
{
    char text[16];
    int rc = get_text(r, en, path, text, sizeof text);
    if (rc == 0 && guard_parse_clock(text, out) < 0)
        rc = fail_at(r, toml_value_pos(en->value), "%s.%s: '%s' is not a time of day (HH:MM)",
                     path, en->key, text);
    return rc;
}

static int get_days(const struct reader *r, const struct toml_entry *en, const char *path,
                    unsigned *out)
{
    unsigned days = 0;
    if (toml_type(en->value) != TOML_ARRAY)
        return fail_at(r, toml_value_pos(en->value), "%s.%s must be an array of day names",
                       path, en->key);
    for (size_t i = 0; i < toml_array_size(en->value); i++) {
        const struct toml_value *item = toml_array_get(en->value, i);
        const char *s = toml_get_string(item, NULL);
        int wday;
        if (!s || guard_parse_day(s, &wday) < 0)
            return fail_at(r, toml_value_pos(item), "%s.%s: not a day of the week (mon, tue, "
                           "..., or monday, ...)", path, en->key);
        days |= 1u << wday;
    }
    *out = days;
    return 0;
}

/* How a window's end relates to its start, for a refusal. */
static const char *order_word(const struct guard_window *w)
{
    return w->end_min == w->start_min ? "equals" : "is before";
}

static const char *order_hint(const struct guard_window *w)
{
    return w->end_min == w->start_min ? " (a window must end after it starts; \"24:00\" is the "
                                        "end of the day)" : "";
}

static int unknown_key(const struct reader *r, const struct toml_entry *en, const char *path)
{
    return fail_at(r, en->key_pos, "unknown key '%s' in %s", en->key, path);
}

/* A window from start_time/end_time (or start/end) and days_of_week keys;
 * returns 1 when the key was one of those. */
static int window_key(const struct reader *r, const struct toml_entry *en, const char *path,
                      struct guard_window *w, int *rc)
{
    if (strcmp(en->key, "start_time") == 0 || strcmp(en->key, "start") == 0)
        *rc = get_clock(r, en, path, &w->start_min);
    else if (strcmp(en->key, "end_time") == 0 || strcmp(en->key, "end") == 0)
        *rc = get_clock(r, en, path, &w->end_min);
    else if (strcmp(en->key, "days_of_week") == 0)
        *rc = get_days(r, en, path, &w->days);
    else
        return 0;
    w->set = true;
    return 1;
}

static int read_global(const struct reader *r, struct guard_config *c, const struct toml_value *t)
{
    const char *p = "global";
    for (size_t i = 0; i < toml_table_size(t); i++) {
        struct toml_entry en;
        toml_table_at(t, i, &en);
        const char *k = en.key;
        int rc;
        if (strcmp(k, "enabled") == 0)
            rc = get_bool(r, &en, p, &c->enabled);
        else if (strcmp(k, "dry_run") == 0)
            rc = get_bool(r, &en, p, &c->dry_run);
        else if (strcmp(k, "syslog") == 0)
            rc = get_bool(r, &en, p, &c->syslog);
        else if (strcmp(k, "notify_terminals") == 0)
            rc = get_bool(r, &en, p, &c->notify_terminals);
        else if (strcmp(k, "grace_period_secs") == 0)
            rc = get_number(r, &en, p, 0, 1e9, &c->grace_period_secs);
        else if (strcmp(k, "check_interval_secs") == 0) {
            rc = get_number(r, &en, p, 0, 1e6, &c->check_interval_secs);
            if (rc == 0 && c->check_interval_secs <= 0)
                rc = fail_at(r, toml_value_pos(en.value), "global.check_interval_secs must be "
                             "above 0");
        } else if (strcmp(k, "webhook_url") == 0)
            rc = get_text(r, &en, p, c->webhook_url, sizeof c->webhook_url);
        else if (strcmp(k, "enforcement") == 0) {
            char mode[16];
            rc = get_text(r, &en, p, mode, sizeof mode);
            if (rc == 0 && strcmp(mode, "soft") == 0)
                c->enforcement = GUARD_SOFT;
            else if (rc == 0 && strcmp(mode, "hard") == 0)
                c->enforcement = GUARD_HARD;
            else if (rc == 0)
                rc = fail_at(r, toml_value_pos(en.value), "global.enforcement must be \"soft\" "
                             "or \"hard\", not \"%s\"", mode);
        } else if (strcmp(k, "default_memory_limit_gb") == 0)
            rc = get_opt(r, &en, p, 1e9, &c->defaults.memory_gb);
        else if (strcmp(k, "default_utilization_limit_pct") == 0)
            rc = get_opt(r, &en, p, 100, &c->defaults.utilization_pct);
        else if (strcmp(k, "default_duration_limit_hours") == 0)
            rc = get_opt(r, &en, p, 1e9, &c->defaults.duration_hours);
        else if (strcmp(k, "default_max_concurrent_processes") == 0)
            rc = get_count(r, &en, p, &c->defaults.max_processes);
        else
            rc = unknown_key(r, &en, "[global]");
        if (rc < 0)
            return rc;
    }
    const char *bad_url = webhook_problem(c->webhook_url);
    if (bad_url)
        return fail_at(r, toml_value_pos(toml_table_get(t, "webhook_url")),
                       "global.webhook_url %s", bad_url);
    return 0;
}

/* The limit keys user and time policies share; 1 when en was one. */
static int limit_key(const struct reader *r, const struct toml_entry *en, const char *path,
                     struct guard_limits *l, int *rc)
{
    if (strcmp(en->key, "memory_limit_gb") == 0)
        *rc = get_opt(r, en, path, 1e9, &l->memory_gb);
    else if (strcmp(en->key, "utilization_limit_pct") == 0)
        *rc = get_opt(r, en, path, 100, &l->utilization_pct);
    else if (strcmp(en->key, "duration_limit_hours") == 0)
        *rc = get_opt(r, en, path, 1e9, &l->duration_hours);
    else if (strcmp(en->key, "max_concurrent_processes") == 0)
        *rc = get_count(r, en, path, &l->max_processes);
    else
        return 0;
    return 1;
}

static int read_user(const struct reader *r, struct guard_user_policy *u, const char *path,
                     const struct toml_value *t)
{
    for (size_t i = 0; i < toml_table_size(t); i++) {
        struct toml_entry en;
        toml_table_at(t, i, &en);
        int rc = 0;
        if (limit_key(r, &en, path, &u->limits, &rc))
            ;
        else if (strcmp(en.key, "priority") == 0) {
            if (!toml_get_int(en.value, &u->priority))
                rc = fail_at(r, toml_value_pos(en.value), "%s.priority must be a whole number",
                             path);
        } else if (strcmp(en.key, "allowed_gpus") == 0)
            rc = get_gpus(r, &en, path, &u->allowed_gpus, &u->allowed_pos);
        else if (strcmp(en.key, "blocked_gpus") == 0)
            rc = get_gpus(r, &en, path, &u->blocked_gpus, &u->blocked_pos);
        else
            rc = unknown_key(r, &en, path);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int read_group(const struct reader *r, struct guard_group_policy *g, const char *path,
                      const struct toml_value *t)
{
    for (size_t i = 0; i < toml_table_size(t); i++) {
        struct toml_entry en;
        toml_table_at(t, i, &en);
        int rc;
        if (strcmp(en.key, "members") == 0)
            rc = get_users(r, &en, path, &g->members);
        else if (strcmp(en.key, "total_memory_limit_gb") == 0)
            rc = get_opt(r, &en, path, 1e9, &g->total.memory_gb);
        else if (strcmp(en.key, "total_utilization_limit_pct") == 0)
            rc = get_opt(r, &en, path, 1e9, &g->total.utilization_pct);
        else if (strcmp(en.key, "max_concurrent_processes") == 0)
            rc = get_count(r, &en, path, &g->total.max_processes);
        else if (strcmp(en.key, "duration_limit_hours") == 0)
            rc = get_opt(r, &en, path, 1e9, &g->total.duration_hours);
        else if (strcmp(en.key, "allowed_gpus") == 0)
            rc = get_gpus(r, &en, path, &g->allowed_gpus, &g->allowed_pos);
        else if (strcmp(en.key, "blocked_gpus") == 0)
            rc = get_gpus(r, &en, path, &g->blocked_gpus, &g->blocked_pos);
        else
            rc = unknown_key(r, &en, path);
        if (rc < 0)
            return rc;
    }
    if (g->members.count == 0)
        return fail_at(r, toml_value_pos(t), "%s: members must name at least one user", path);
    return 0;
}

static int read_window(const struct reader *r, struct guard_window *w, const char *path,
                       const struct toml_value *t)
{
    *w = (struct guard_window){.set = true, .days = ALL_DAYS, .end_min = -1, .start_min = -1};
    for (size_t i = 0; i < toml_table_size(t); i++) {
        struct toml_entry en;
        toml_table_at(t, i, &en);
        int rc = 0;
        if (!window_key(r, &en, path, w, &rc))
            rc = unknown_key(r, &en, path);
        if (rc < 0)
            return rc;
    }
    if (w->start_min < 0 || w->end_min < 0)
        return fail_at(r, toml_value_pos(t), "%s needs both start and end (HH:MM)", path);
    if (w->end_min <= w->start_min)
        return fail_at(r, toml_value_pos(t), "%s: end %02d:%02d %s start %02d:%02d%s", path,
                       w->end_min / 60, w->end_min % 60, order_word(w), w->start_min / 60,
                       w->start_min % 60, order_hint(w));
    return 0;
}

static int read_gpu(const struct reader *r, struct guard_gpu_policy *g, const char *path,
                    const struct toml_value *t)
{
    for (size_t i = 0; i < toml_table_size(t); i++) {
        struct toml_entry en;
        toml_table_at(t, i, &en);
        int rc;
        if (strcmp(en.key, "max_memory_gb") == 0)
            rc = get_opt(r, &en, path, 1e9, &g->max_memory_gb);
        else if (strcmp(en.key, "max_utilization_pct") == 0)
            rc = get_opt(r, &en, path, 100, &g->max_utilization_pct);
        else if (strcmp(en.key, "reserved_memory_gb") == 0)
            rc = get_opt(r, &en, path, 1e9, &g->reserved_memory_gb);
        else if (strcmp(en.key, "allowed_users") == 0)
            rc = get_users(r, &en, path, &g->allowed_users);
        else if (strcmp(en.key, "blocked_users") == 0)
            rc = get_users(r, &en, path, &g->blocked_users);
        else if (strcmp(en.key, "maintenance_window") == 0) {
            char sub[200];
            snprintf(sub, sizeof sub, "%.160s.maintenance_window", path);
            rc = toml_type(en.value) == TOML_TABLE
                     ? read_window(r, &g->maintenance, sub, en.value)
                     : fail_at(r, toml_value_pos(en.value), "%s must be a table {start = "
                               "\"HH:MM\", end = \"HH:MM\", days_of_week = [...]}", sub);
        } else
            rc = unknown_key(r, &en, path);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int read_time(const struct reader *r, struct guard_config *c, size_t n,
                     const struct toml_value *t)
{
    const struct toml_value *name = toml_table_get(t, "name");
    const char *s = toml_get_string(name, NULL);
    if (!s || !*s || strlen(s) >= sizeof c->times[0].name)
        return fail_at(r, toml_value_pos(name ? name : t), "time_policies[%zu] needs a name "
                       "(a non-empty string)", n);
    for (size_t i = 0; i < c->time_count; i++)
        if (strcmp(c->times[i].name, s) == 0)
            return fail_at(r, toml_value_pos(name), "time policy \"%s\" is defined twice", s);
    struct guard_time_policy *tp = guard_config_add_time(c, s);
    if (!tp)
        return error_set(r->e, -ENOMEM, "out of memory");
    char path[160];
    snprintf(path, sizeof path, "time_policies[%zu] \"%s\"", n, s);
    tp->window.start_min = tp->window.end_min = -1;
    for (size_t i = 0; i < toml_table_size(t); i++) {
        struct toml_entry en;
        toml_table_at(t, i, &en);
        int rc = 0;
        if (strcmp(en.key, "name") == 0 || window_key(r, &en, path, &tp->window, &rc) ||
            limit_key(r, &en, path, &tp->limits, &rc))
            ;
        else if (strcmp(en.key, "users") == 0)
            rc = get_users(r, &en, path, &tp->users);
        else
            rc = unknown_key(r, &en, path);
        if (rc < 0)
            return rc;
    }
    if (tp->window.start_min < 0 || tp->window.end_min < 0)
        return fail_at(r, toml_value_pos(t), "%s needs start_time and end_time (HH:MM)", path);
    if (tp->window.end_min <= tp->window.start_min)
        return fail_at(r, toml_value_pos(toml_table_get(t, "end_time")),
                       "%s: end_time %02d:%02d %s start_time %02d:%02d%s", path,
                       tp->window.end_min / 60, tp->window.end_min % 60, order_word(&tp->window),
                       tp->window.start_min / 60, tp->window.start_min % 60,
                       order_hint(&tp->window));
    return 0;
}

static int read_named(const struct reader *r, struct guard_config *c, const char *section,
                      const struct toml_value *t)
{
    for (size_t i = 0; i < toml_table_size(t); i++) {
        struct toml_entry en;
        toml_table_at(t, i, &en);
        char path[160];
        snprintf(path, sizeof path, "%s.%s", section, en.key);
        int rc = want_table(r, &en, path);
        if (rc == 0 && (strlen(en.key) != en.key_len || en.key_len == 0 || en.key_len >= 64))
            rc = fail_at(r, en.key_pos, "%s: a name must be 1 to 63 bytes", section);
        if (rc < 0)
            return rc;
        if (strcmp(section, "user_policies") == 0) {
            struct guard_user_policy *u = guard_config_add_user(c, en.key);
            rc = u ? read_user(r, u, path, en.value) : error_set(r->e, -ENOMEM, "out of memory");
        } else if (strcmp(section, "group_policies") == 0) {
            struct guard_group_policy *g = guard_config_add_group(c, en.key);
            rc = g ? read_group(r, g, path, en.value) : error_set(r->e, -ENOMEM, "out of memory");
        } else {
            char *end;
            long idx = strtol(en.key, &end, 10);
            if (!isdigit((unsigned char)en.key[0]) || *end || idx >= GUARD_MAX_GPUS)
                return fail_at(r, en.key_pos, "gpu_policies: \"%s\" is not a GPU index (0-%d)",
                               en.key, GUARD_MAX_GPUS - 1);
            /* "0" and "00" are different TOML keys but the same GPU */
            const struct guard_gpu_policy *twice = guard_config_gpu(c, (int)idx);
            if (twice)
                return fail_at(r, en.key_pos, "gpu_policies.\"%s\": GPU %ld already has a "
                               "policy (gpu_policies at line %u)", en.key, idx, twice->pos.line);
            struct guard_gpu_policy *g = guard_config_add_gpu(c, (int)idx);
            if (!g)
                return error_set(r->e, -ENOMEM, "out of memory");
            g->pos = en.key_pos;
            rc = read_gpu(r, g, path, en.value);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int read_root(const struct reader *r, struct guard_config *c, const struct toml_value *root)
{
    for (size_t i = 0; i < toml_table_size(root); i++) {
        struct toml_entry en;
        toml_table_at(root, i, &en);
        int rc;
        if (strcmp(en.key, "time_policies") == 0) {
            if (toml_type(en.value) != TOML_ARRAY)
                return fail_at(r, en.key_pos, "time_policies must be an array of tables "
                               "([[time_policies]])");
            rc = 0;
            for (size_t j = 0; j < toml_array_size(en.value) && rc == 0; j++) {
                const struct toml_value *t = toml_array_get(en.value, j);
                rc = toml_type(t) == TOML_TABLE ? read_time(r, c, j, t)
                                                : fail_at(r, toml_value_pos(t), "time_policies "
                                                          "entries must be tables");
            }
        } else if (strcmp(en.key, "global") == 0) {
            rc = want_table(r, &en, "[global]");
            if (rc == 0)
                rc = read_global(r, c, en.value);
        } else if (strcmp(en.key, "user_policies") == 0 || strcmp(en.key, "group_policies") == 0 ||
                   strcmp(en.key, "gpu_policies") == 0) {
            rc = want_table(r, &en, en.key);
            if (rc == 0)
                rc = read_named(r, c, en.key, en.value);
        } else {
            rc = fail_at(r, en.key_pos, "unknown section or key '%s' (guard.toml has [global], "
                         "[user_policies.NAME], [group_policies.NAME], [gpu_policies.\"IDX\"] "
                         "and [[time_policies]])", en.key);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int parse_with(struct guard_config *c, const char *text, size_t len, const char *file,
                      bool positions, struct error *e)
{
    struct toml_value *root;
    int rc = toml_parse(text, len, file, &root, e);
    if (rc < 0)
        return rc;
    struct guard_config next;
    guard_config_defaults(&next);
    struct reader r = {.file = file, .positions = positions, .e = e};
    rc = read_root(&r, &next, root);
    toml_free(root);
    if (rc == 0 && (rc = guard_config_validate(&next, e)) < 0)
        error_prefix(e, "%s", file);
    if (rc < 0) {
        guard_config_free(&next);
        return rc;
    }
    *c = next;
    return 0;
}

int guard_config_parse(struct guard_config *c, const char *text, size_t len, const char *file,
                       struct error *e)
{
    return parse_with(c, text, len, file, true, e);
}

int guard_config_load(struct guard_config *c, const char *path, bool missing_ok, bool *found,
                      struct error *e)
{
    if (found)
        *found = false;
    char *text;
    size_t len;
    int rc = policy_read_file(path, &text, &len, e);
    if (rc == -ENOENT && missing_ok) {
        guard_config_defaults(c);
        return 0;
    }
    if (rc < 0)
        return rc;
    if (found)
        *found = true;
    rc = guard_config_parse(c, text, len, path, e);
    free(text);
    return rc;
}

/* ---- writing ---------------------------------------------------------------------- */

static void put_opt(FILE *f, const char *key, struct opt_f64 v)
{
    if (!v.known)
        return;
    fprintf(f, "%s = ", key);
    policy_toml_number(f, v.v);
    fputc('\n', f);
}

static void put_count(FILE *f, const char *key, struct opt_u64 v)
{
    if (v.known)
        fprintf(f, "%s = %llu\n", key, (unsigned long long)v.v);
}

static void put_gpus(FILE *f, const char *key, uint64_t set)
{
    if (!set)
        return;
    fprintf(f, "%s = [", key);
    const char *sep = "";
    for (int i = 0; i < GUARD_MAX_GPUS; i++)
        if (set >> i & 1) {
            fprintf(f, "%s%d", sep, i);
            sep = ", ";
        }
    fputs("]\n", f);
}

static void put_list(FILE *f, const char *key, const struct policy_strlist *l)
{
    if (!l->count)
        return;
    fprintf(f, "%s = ", key);
    policy_toml_strlist(f, l);
    fputc('\n', f);
}

static const char *const day_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static void put_window(FILE *f, const struct guard_window *w, const char *start,
                       const char *end)
{
    fprintf(f, "%s = \"%02d:%02d\"\n%s = \"%02d:%02d\"\ndays_of_week = [", start,
            w->start_min / 60, w->start_min % 60, end, w->end_min / 60, w->end_min % 60);
    const char *sep = "";
    for (int d = 0; d < 7; d++)
        if (w->days >> d & 1) {
            fprintf(f, "%s\"%s\"", sep, day_names[d]);
            sep = ", ";
        }
    fputs("]\n", f);
}

static void put_limits(FILE *f, const struct guard_limits *l)
{
    put_opt(f, "memory_limit_gb", l->memory_gb);
    put_opt(f, "utilization_limit_pct", l->utilization_pct);
    put_opt(f, "duration_limit_hours", l->duration_hours);
    put_count(f, "max_concurrent_processes", l->max_processes);
}

static void put_global(FILE *f, const struct guard_config *c)
{
    fprintf(f, "[global]\nenabled = %s\ndry_run = %s\nenforcement = \"%s\"\n",
            c->enabled ? "true" : "false", c->dry_run ? "true" : "false",
            c->enforcement == GUARD_HARD ? "hard" : "soft");
    fputs("grace_period_secs = ", f);
    policy_toml_number(f, c->grace_period_secs);
    fputs("\ncheck_interval_secs = ", f);
    policy_toml_number(f, c->check_interval_secs);
    fprintf(f, "\nsyslog = %s\nnotify_terminals = %s\n", c->syslog ? "true" : "false",
            c->notify_terminals ? "true" : "false");
    if (c->webhook_url[0]) {
        fputs("webhook_url = ", f);
        policy_toml_string(f, c->webhook_url);
        fputc('\n', f);
    }
    put_opt(f, "default_memory_limit_gb", c->defaults.memory_gb);
    put_opt(f, "default_utilization_limit_pct", c->defaults.utilization_pct);
    put_opt(f, "default_duration_limit_hours", c->defaults.duration_hours);
    put_count(f, "default_max_concurrent_processes", c->defaults.max_processes);
}

static void put_policies(FILE *f, const struct guard_config *c)
{
    for (size_t i = 0; i < c->user_count; i++) {
        const struct guard_user_policy *u = &c->users[i];
        fputs("\n[user_policies.", f);
        policy_toml_key(f, u->name);
        fputs("]\n", f);
        put_limits(f, &u->limits);
        fprintf(f, "priority = %lld\n", (long long)u->priority);
        put_gpus(f, "allowed_gpus", u->allowed_gpus);
        put_gpus(f, "blocked_gpus", u->blocked_gpus);
    }
    for (size_t i = 0; i < c->group_count; i++) {
        const struct guard_group_policy *g = &c->groups[i];
        fputs("\n[group_policies.", f);
        policy_toml_key(f, g->name);
        fputs("]\n", f);
        put_list(f, "members", &g->members);
        put_opt(f, "total_memory_limit_gb", g->total.memory_gb);
        put_opt(f, "total_utilization_limit_pct", g->total.utilization_pct);
        put_opt(f, "duration_limit_hours", g->total.duration_hours);
        put_count(f, "max_concurrent_processes", g->total.max_processes);
        put_gpus(f, "allowed_gpus", g->allowed_gpus);
        put_gpus(f, "blocked_gpus", g->blocked_gpus);
    }
    for (size_t i = 0; i < c->gpu_count; i++) {
        const struct guard_gpu_policy *g = &c->gpus[i];
        fprintf(f, "\n[gpu_policies.\"%d\"]\n", g->index);
        put_opt(f, "max_memory_gb", g->max_memory_gb);
        put_opt(f, "max_utilization_pct", g->max_utilization_pct);
        put_opt(f, "reserved_memory_gb", g->reserved_memory_gb);
        put_list(f, "allowed_users", &g->allowed_users);
        put_list(f, "blocked_users", &g->blocked_users);
        if (g->maintenance.set) {
            fprintf(f, "\n[gpu_policies.\"%d\".maintenance_window]\n", g->index);
            put_window(f, &g->maintenance, "start", "end");
        }
    }
    for (size_t i = 0; i < c->time_count; i++) {
        const struct guard_time_policy *t = &c->times[i];
        fputs("\n[[time_policies]]\nname = ", f);
        policy_toml_string(f, t->name);
        fputc('\n', f);
        put_window(f, &t->window, "start_time", "end_time");
        put_limits(f, &t->limits);
        put_list(f, "users", &t->users);
    }
}

char *guard_config_to_toml(const struct guard_config *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    fputs("# gpuctl guard mode (gpuctl guard).  Every key is described in "
          "docs/configuration.md.\n", f);
    put_global(f, c);
    put_policies(f, c);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

int guard_config_save(const struct guard_config *c, const char *path, struct error *e)
{
    int rc = guard_config_validate(c, e);
    if (rc < 0)
        return rc;
    char *text = guard_config_to_toml(c);
    if (!text)
        return error_set(e, -ENOMEM, "out of memory writing %s", path);
    struct guard_config back;
    rc = guard_config_parse(&back, text, strlen(text), path, e);
    if (rc < 0)
        error_prefix(e, "not writing %s, its reader would refuse the result", path);
    else
        guard_config_free(&back);
    if (rc == 0)
        rc = policy_write_file(path, text, strlen(text), e);
    free(text);
    return rc;
}

/* ---- JSON ------------------------------------------------------------------------- */

/* The JSON form is the file's own structure, produced by reading the TOML
 * text just written: one writer, so the two cannot drift apart. */
static json_t *toml_to_json(const struct toml_value *v)
{
    switch (toml_type(v)) {
    case TOML_TABLE: {
        json_t *obj = json_object();
        for (size_t i = 0; obj && i < toml_table_size(v); i++) {
            struct toml_entry en;
            toml_table_at(v, i, &en);
            json_object_set_new(obj, en.key, toml_to_json(en.value));
        }
        return obj;
    }
    case TOML_ARRAY: {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < toml_array_size(v); i++)
            json_array_append_new(arr, toml_to_json(toml_array_get(v, i)));
        return arr;
    }
    case TOML_STRING:
        return json_string(toml_get_string(v, NULL));
    case TOML_INTEGER: {
        int64_t n = 0;
        toml_get_int(v, &n);
        return json_integer(n);
    }
    case TOML_FLOAT: {
        double d = 0;
        toml_get_float(v, &d);
        return json_real(d);
    }
    case TOML_BOOLEAN: {
        bool b = false;
        toml_get_bool(v, &b);
        return json_boolean(b);
    }
    default:
        return json_null();
    }
}

json_t *guard_config_to_json(const struct guard_config *c)
{
    char *text = guard_config_to_toml(c);
    if (!text)
        return NULL;
    struct toml_value *root;
    struct error e = {0};
    int rc = toml_parse(text, strlen(text), "guard.toml", &root, &e);
    free(text);
    if (rc < 0)
        return NULL;
    json_t *doc = toml_to_json(root);
    toml_free(root);
    if (doc && !json_object_get(doc, "time_policies"))
        json_object_set_new(doc, "time_policies", json_array());
    return doc;
}

static int json_to_toml(FILE *f, const char *path, const json_t *obj, struct error *e);

static int json_scalar(FILE *f, const char *key, const json_t *v, struct error *e)
{
    if (json_is_string(v))
        policy_toml_string(f, json_string_value(v));
    else if (json_is_integer(v))
        fprintf(f, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        fprintf(f, "%.17g", json_real_value(v));
    else if (json_is_boolean(v))
        fputs(json_is_true(v) ? "true" : "false", f);
    else if (json_is_array(v)) {
        fputc('[', f);
        for (size_t i = 0; i < json_array_size(v); i++) {
            fputs(i ? ", " : "", f);
            int rc = json_scalar(f, key, json_array_get(v, i), e);
            if (rc < 0)
                return rc;
        }
        fputc(']', f);
    } else
        return error_set(e, -EINVAL, "%s: null and nested objects are not values here", key);
    return 0;
}

static bool table_array(const json_t *v)
{
    return json_is_array(v) && json_array_size(v) > 0 && json_is_object(json_array_get(v, 0));
}

static void table_header(FILE *f, const char *path, const char *key, bool array)
{
    fputs(array ? "\n[[" : "\n[", f);
    if (*path)
        fprintf(f, "%s.", path);
    policy_toml_key(f, key);
    fputs(array ? "]]\n" : "]\n", f);
}

static int json_to_toml(FILE *f, const char *path, const json_t *obj, struct error *e)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        if (json_is_object(v) || table_array(v))
            continue;
        policy_toml_key(f, key);
        fputs(" = ", f);
        int rc = json_scalar(f, key, v, e);
        if (rc < 0)
            return rc;
        fputc('\n', f);
    }
    json_object_foreach((json_t *)obj, key, v) {
        char sub[512];
        char *k = NULL;
        size_t kl = 0;
        FILE *kf = open_memstream(&k, &kl);
        if (!kf)
            return -ENOMEM;
        policy_toml_key(kf, key);
        fclose(kf);
        snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", k ? k : "");
        free(k);
        int rc = 0;
        if (json_is_object(v)) {
            table_header(f, path, key, false);
            rc = json_to_toml(f, sub, v, e);
        } else if (table_array(v)) {
            for (size_t i = 0; i < json_array_size(v) && rc == 0; i++) {
                if (!json_is_object(json_array_get(v, i)))
                    return error_set(e, -EINVAL, "%s: every entry must be an object", sub);
                table_header(f, path, key, true);
                rc = json_to_toml(f, sub, json_array_get(v, i), e);
            }
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

int guard_config_from_json(struct guard_config *c, const json_t *doc, const char *file,
                           struct error *e)
{
    if (!json_is_object(doc))
        return error_set(e, -EINVAL, "%s: the configuration must be a JSON object", file);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return error_set(e, -ENOMEM, "out of memory");
    int rc = json_to_toml(f, "", doc, e);
    if (fclose(f) != 0 && rc == 0)
        rc = error_set(e, -ENOMEM, "out of memory");
    if (rc == 0)
        rc = parse_with(c, text, len, file, false, e);
    else
        error_prefix(e, "%s", file);
    free(text);
    return rc;
}
