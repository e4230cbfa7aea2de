/* select_query.c - GET /api/v1/select's query string as `gpuctl select`'s
 * options (net/select_query.h).
 *
 * The values go through select's option table (options_check_value) and
 * sizes through units_parse_size, as in src/cli/select.c, so the HTTP API
 * and the command line accept the same values and refuse the rest with the
 * same sentences.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/units.h"
#include "net/select_query.h"

struct walk {
    const struct options_command *table;
    const char *self_user;
    struct select_query *q;
    bool min_set, max_set, count_set;
    size_t count, users_used;
    struct error *e;
};

/* Older spellings: the MCP tool's argument names and the short
 * ones, each standing for one of select's options. */
static const char *const aliases[][2] = {
    {"min-free", "min-free-memory"},
    {"max-util", "max-gpu-utilization"},
    {"max-util-pct", "max-gpu-utilization"},
};

static void option_name(const char *key, char *name, size_t size)
{
    snprintf(name, size, "%s", key);
    for (char *p = name; *p; p++)
        if (*p == '_')
            *p = '-';
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(name, aliases[i][0]) == 0)
            snprintf(name, size, "%s", aliases[i][1]);
}

static int take_users(struct walk *w, const char *value)
{
    struct select_query *q = w->q;
    const char *p = value && *value ? value : w->self_user;
    if (!p)
        return error_set(w->e, -EINVAL, "--account-as-free: give the user names");
    while (*p) {
        size_t len = strcspn(p, ",");
        if (len && (q->c.free_user_count >= SELECT_QUERY_MAX_USERS ||
                    w->users_used + len + 1 > sizeof q->users_buf))
            return error_set(w->e, -EINVAL, "--account-as-free: too many users");
        if (len) {
            char *u = q->users_buf + w->users_used;
            memcpy(u, p, len);
            u[len] = '\0';
            w->users_used += len + 1;
            q->users[q->c.free_user_count++] = u;
        }
        p += len + (p[len] == ',');
    }
    q->c.free_users = q->users;
    return 0;
}

static int take_size(const char *flag, const char *v, bool *set, uint64_t *out,
                     struct error *e)
{
    struct error se = {0};
    if (units_parse_size(v, strlen(v), out, &se) < 0)
        return error_set(e, -EINVAL, "%s: %s", flag, se.msg);
    *set = true;
    return 0;
}

/* min_free_gb, the MCP tool's: a number of GiB. */
static int take_gib(struct walk *w, const char *v)
{
    char *end;
    double gib = strtod(v, &end);
    if (!*v || *end || !isfinite(gib) || gib < 0 || gib > 1e6)
        return error_set(w->e, -EINVAL, "min_free_gb: '%s' is not a number of GiB from 0 to "
                         "1000000", v);
    w->q->c.min_free_set = true;
    w->q->c.min_free_bytes = (uint64_t)llround(gib * 1073741824.0);
    return 0;
}

static int take_option(struct walk *w, const char *name, const char *v)
{
    struct select_constraints *c = &w->q->c;
    unsigned long n = strtoul(v, NULL, 10);   /* checked by the table before */
    if (strcmp(name, "count") == 0)
        w->count_set = true, w->count = n;
    else if (strcmp(name, "min-count") == 0)
        w->min_set = true, c->min_count = n;
    else if (strcmp(name, "max-count") == 0)
        w->max_set = true, c->max_count = n;
    else if (strcmp(name, "max-gpu-utilization") == 0)
        c->max_gpu_util_set = true, c->max_gpu_util_pct = (unsigned)n;
    else if (strcmp(name, "max-memory-utilization") == 0)
        c->max_mem_util_set = true, c->max_mem_util_pct = (unsigned)n;
    else if (strcmp(name, "tolerance") == 0)
        c->tolerance_pct = (unsigned)n;
    else if (strcmp(name, "min-free-memory") == 0)
        return take_size("--min-free-memory", v, &c->min_free_set, &c->min_free_bytes, w->e);
    else if (strcmp(name, "min-total-memory") == 0)
        return take_size("--min-total-memory", v, &c->min_total_set, &c->min_total_bytes,
                         w->e);
    else if (strcmp(name, "format") == 0)
        w->q->uuid = strcmp(v, "uuid") == 0;
    else if (strcmp(name, "inherit") == 0) {
        /* the server's environment is not the caller's: the list is needed */
        if (!*v)
            return error_set(w->e, -EINVAL, "--inherit: give the CUDA_VISIBLE_DEVICES list");
        c->inherit = true;
        c->cuda_visible_devices = v;
    } else if (strcmp(name, "account-as-free") == 0)
        return take_users(w, v);
    else
        return error_set(w->e, -EINVAL, "--%s shapes what `gpuctl select` prints or waits; "
                         "the API answers the select document at once", name);
    return 0;
}

static int take_param(void *cls, const char *key, const char *value)
{
    struct walk *w = cls;
    const char *v = value ? value : "";
    if (strcmp(key, "min_free_gb") == 0)
        return take_gib(w, v);
    char name[64];
    option_name(key, name, sizeof name);
    const struct options_spec *s = options_find(w->table, name);
    if (!s)
        return error_set(w->e, -EINVAL, "unknown parameter '%s' (gpuctl select has no option "
                         "--%s)", key, name);
    bool optional_empty = !*v && (s->flags & OPTIONS_OPTIONAL_VALUE);
    int rc = optional_empty ? 0 : options_check_value(s, v, w->e);
    return rc < 0 ? rc : take_option(w, name, v);
}

int select_query_read(const struct options_command *table, const struct http_request *req,
                      const char *self_user, struct select_query *q, struct error *e)
{
    memset(q, 0, sizeof *q);
    struct walk w = {.table = table, .self_user = self_user, .q = q, .e = e};
    int rc = http_request_query_each(req, take_param, &w);
    if (rc < 0)
        return e->code ? e->code : rc;
    /* nvisel's rules, as src/cli/select.c: count is min and max and wins */
    if (w.count_set)
        q->c.min_count = q->c.max_count = w.count;
    else if (!w.max_set)
        q->c.max_count = SELECT_NO_MAX;
    if (q->c.max_count < q->c.min_count)
        return error_set(e, -EINVAL, "--max-count %zu is below --min-count %zu",
                         q->c.max_count, q->c.min_count);
    return 0;
}
