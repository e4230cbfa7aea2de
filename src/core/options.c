/* options.c - the one command-line parser: reads argv against a command's
 * option table (core/options.h), checks every value and stores it in the
 * command's request struct, then falls back to the environment for what
 * the flags left out.  It also writes the --help text from the same table.
 *
 * Every spelling works in both forms, "--name value" and "--name=value",
 * short names and aliases included.  Nothing here prints an error or
 * exits: the front ends report the struct error (exit 3 in the CLI).
 * What the values mean, and checks across options, stay with the command.
 */
#include "core/options.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- the common options ---------------------------------------------------- */

static const struct options_spec common_specs[] = {
    {.name = "config", .type = OPTIONS_STRING, .metavar = "PATH",
     .help = "read this configuration file instead of the default",
     .offset = offsetof(struct options_parsed, config_path)},
    {.name = "log-level", .type = OPTIONS_CHOICE, .metavar = "LEVEL",
     .choices = "error|warn|info|debug|trace", .env = "GPUCTL_LOG_LEVEL",
     .flags = OPTIONS_ENV_DOCUMENTED, .config_key = "log_level",
     .help = "how much to report on stderr: error, warn, info, debug or trace",
     .offset = offsetof(struct options_parsed, log_level)},
    {.name = "simulate", .type = OPTIONS_STRING, .metavar = "GPUSxPROCS",
     .env = "GPUCTL_SIMULATE", .flags = OPTIONS_ENV_DOCUMENTED,
     .help = "made-up GPUs instead of the real ones, e.g. 4x8 (4 GPUs, 8 processes on real "
             "local pids); GPUSxPROCS:SEED repeats the same values",
     .offset = offsetof(struct options_parsed, simulate)},
    {.name = "help", .short_name = "h", .type = OPTIONS_FLAG,
     .help = "show this help and exit", .offset = offsetof(struct options_parsed, help)},
    {.name = "version", .short_name = "V", .type = OPTIONS_FLAG,
     .help = "show version, git revision and build date, and exit",
     .offset = offsetof(struct options_parsed, version)},
};

const struct options_command options_common = {
    .name = "",
    .specs = common_specs,
    .count = sizeof common_specs / sizeof common_specs[0],
};

/* ---- storage ------------------------------------------------------------------ */

static int own(struct options_parsed *p, void *ptr)
{
    if (p->owned_count == p->owned_cap) {
        size_t cap = p->owned_cap ? 2 * p->owned_cap : 8;
        void **grown = realloc(p->owned, cap * sizeof *grown);
        if (!grown)
            return -ENOMEM;
        p->owned = grown;
        p->owned_cap = cap;
    }
    p->owned[p->owned_count++] = ptr;
    return 0;
}

void options_parsed_clear(struct options_parsed *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->owned_count; i++)
        free(p->owned[i]);
    free(p->owned);
    free(p->operands);
    memset(p, 0, sizeof *p);
}

static void *slot(void *req, const struct options_spec *s)
{
    return (char *)req + s->offset;
}

/* ---- checking one value --------------------------------------------------------- */

static bool in_choices(const char *choices, const char *v)
{
    size_t n = strlen(v);
    for (const char *c = choices; c && *c;) {
        const char *bar = strchr(c, '|');
        size_t len = bar ? (size_t)(bar - c) : strlen(c);
        if (len == n && strncmp(c, v, n) == 0)
            return true;
        c = bar ? bar + 1 : c + len;
    }
    return false;
}

static int parse_uint(const char *v, double min, double max, unsigned long *out)
{
    if (!*v || *v == '-' || *v == '+')
        return -EINVAL;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end || (double)n < min || (double)n > max)
        return -EINVAL;
    *out = (unsigned long)n;
    return 0;
}

static int parse_number(const char *v, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (!*v || errno || *end || !isfinite(d) || d < min || d > max)
        return -EINVAL;
    *out = d;
    return 0;
}

/* "one of table, json" */
static void choices_text(const char *choices, char *buf, size_t size)
{
    size_t n = 0;
    for (const char *c = choices; *c && n + 3 < size; c++)
        n += (size_t)snprintf(buf + n, size - n, *c == '|' ? ", " : "%c", *c);
}

static int bad_value(const char *who, const char *v, enum options_type t, const struct options_spec *s,
                     struct error *e)
{
    char what[256];
    if (s->what) {
        snprintf(what, sizeof what, "%s", s->what);
    } else if (t == OPTIONS_CHOICE) {
        char list[200];
        choices_text(s->choices, list, sizeof list);
        snprintf(what, sizeof what, "one of %s", list);
    } else if (t == OPTIONS_UINT) {
        snprintf(what, sizeof what, "a whole number from %.0f to %.0f", s->min, s->max);
    } else {
        snprintf(what, sizeof what, "a number from %g to %g", s->min, s->max);
    }
    return error_set(e, -EINVAL, "%s: '%s' is not %s", who, v, what);
}

/* Checks v as a value of type t under spec s; who names the option or
 * variable in the message. */
static int check_as(const struct options_spec *s, enum options_type t, const char *who,
                    const char *v, struct error *e)
{
    unsigned long u;
    double d;
    switch (t) {
    case OPTIONS_CHOICE:
        return in_choices(s->choices, v) ? 0 : bad_value(who, v, t, s, e);
    case OPTIONS_UINT:
        return parse_uint(v, s->min, s->max, &u) == 0 ? 0 : bad_value(who, v, t, s, e);
    case OPTIONS_NUMBER:
        return parse_number(v, s->min, s->max, &d) == 0 ? 0 : bad_value(who, v, t, s, e);
    default:
        return 0;
    }
}

static void display_name(const struct options_spec *s, char *buf, size_t size)
{
    snprintf(buf, size, "--%s", s->name);
}

int options_check_value(const struct options_spec *s, const char *value, struct error *e)
{
    char who[80];
    display_name(s, who, sizeof who);
    if (s->type == OPTIONS_FLAG)
        return 0;
    if (s->type != OPTIONS_LIST)
        return check_as(s, s->type, who, value, e);
    /* a list: every comma-separated value, as the parser splits them */
    char one[256];
    for (const char *v = value; *v;) {
        size_t len = strcspn(v, ",");
        snprintf(one, sizeof one, "%.*s", (int)(len < sizeof one ? len : sizeof one - 1), v);
        int rc = len ? check_as(s, s->elem, who, one, e) : 0;
        if (rc < 0)
            return rc;
        v += len + (v[len] == ',');
    }
    return 0;
}

/* ---- storing ------------------------------------------------------------------- */

/* Appends value (copied, then split on commas) to the list at s's slot. */
static int list_append(struct options_parsed *p, void *req, const struct options_spec *s,
                       const char *who, const char *value, struct error *e)
{
    struct options_list *l = slot(req, s);
    char *copy = strdup(value);
    if (!copy || own(p, copy) < 0) {
        free(copy);
        return error_set(e, -ENOMEM, "out of memory");
    }
    size_t add = 1;
    for (const char *c = copy; *c; c++)
        add += *c == ',';
    const char **grown = malloc((l->count + add) * sizeof *grown);
    if (!grown || own(p, grown) < 0) {
        free(grown);
        return error_set(e, -ENOMEM, "out of memory");
    }
    if (l->count)
        memcpy(grown, l->values, l->count * sizeof *grown);
    l->values = grown;   /* the old array stays owned by p until clear */
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (s->max_values && l->count >= s->max_values)
            return error_set(e, -EINVAL, "%s takes at most %u values", who, s->max_values);
        int rc = check_as(s, s->elem, who, tok, e);
        if (rc < 0)
            return rc;
        l->values[l->count++] = tok;
    }
    return 0;
}

static int store_scalar(void *req, const struct options_spec *s, const char *v)
{
    switch (s->type) {
    case OPTIONS_STRING:
    case OPTIONS_CHOICE:
        *(const char **)slot(req, s) = v;
        return 0;
    case OPTIONS_UINT:
        return parse_uint(v, s->min, s->max, slot(req, s));
    case OPTIONS_NUMBER:
        return parse_number(v, s->min, s->max, slot(req, s));
    default:
        return -EINVAL;
    }
}

/* ---- finding the spec of an argument -------------------------------------------- */

/* Whether arg is "<prefix><name>" or "<prefix><name>=VALUE"; *value gets
 * VALUE (NULL without '='). */
static bool spelled(const char *arg, const char *prefix, const char *name, size_t name_len,
                    const char **value)
{
    size_t plen = strlen(prefix);
    if (!name || strncmp(arg, prefix, plen) != 0 || strncmp(arg + plen, name, name_len) != 0)
        return false;
    char after = arg[plen + name_len];
    if (after != '\0' && after != '=')
        return false;
    *value = after == '=' ? arg + plen + name_len + 1 : NULL;
    return true;
}

static bool matches_alias(const char *aliases, const char *arg, const char **value)
{
    for (const char *a = aliases; a && *a;) {
        a += strspn(a, " ");
        size_t len = strcspn(a, " ");
        if (len && spelled(arg, "", a, len, value))
            return true;
        a += len;
    }
    return false;
}

static const struct options_spec *match(const struct options_command *cmd, const char *arg,
                                        const char **value)
{
    for (size_t i = 0; i < cmd->count; i++) {
        const struct options_spec *s = &cmd->specs[i];
        if (spelled(arg, "--", s->name, strlen(s->name), value) ||
            (s->short_name && spelled(arg, "-", s->short_name, strlen(s->short_name), value)) ||
            matches_alias(s->aliases, arg, value))
            return s;
    }
    /* A one-letter short name with its value attached, "-c1" (getopt's
     * form), once no whole spelling matched ("-ov" is its own option). */
    for (size_t i = 0; i < cmd->count; i++) {
        const struct options_spec *s = &cmd->specs[i];
        if (s->short_name && s->short_name[0] && !s->short_name[1] && s->type != OPTIONS_FLAG &&
            arg[0] == '-' && arg[1] == s->short_name[0] && arg[2] && arg[2] != '=') {
            *value = arg + 2;
            return s;
        }
    }
    return NULL;
}

const struct options_spec *options_find(const struct options_command *cmd, const char *name)
{
    for (size_t i = 0; i < cmd->count; i++)
        if (strcmp(cmd->specs[i].name, name) == 0)
            return &cmd->specs[i];
    return NULL;
}

bool options_given(const struct options_command *cmd, const struct options_parsed *p,
                   const char *name)
{
    const struct options_spec *s = options_find(cmd, name);
    return s && p->from[s - cmd->specs] != OPTIONS_FROM_NONE;
}

/* ---- the parse ---------------------------------------------------------------------- */

struct cursor {
    int argc;
    char **argv;
    int i;
};

static bool is_option_word(const char *arg)
{
    return arg[0] == '-' && arg[1] != '\0';
}

/* Whether every comma-separated value of arg is valid for list s. */
static bool list_valid(const struct options_spec *s, const char *arg)
{
    char value[256];
    for (const char *v = arg; *v;) {
        size_t len = strcspn(v, ",");
        if (len == 0 || len >= sizeof value)
            return false;
        memcpy(value, v, len);
        value[len] = '\0';
        if (check_as(s, s->elem, "", value, NULL) < 0)
            return false;
        v += len + (v[len] == ',');
    }
    return true;
}

/* The values of a list option: the inline one, or the arguments up to the
 * next option (at most max_values arguments). */
static int take_list(struct cursor *c, const struct options_spec *s, const char *who,
                     const char *inline_value, void *req, struct options_parsed *p,
                     struct error *e)
{
    struct options_list *l = slot(req, s);
    size_t before = l->count;
    int rc = 0;
    char name[80];
    display_name(s, name, sizeof name);
    if (inline_value) {
        rc = list_append(p, req, s, name, inline_value, e);
    } else {
        while (rc == 0 && c->i + 1 < c->argc && !is_option_word(c->argv[c->i + 1]) &&
               strcmp(c->argv[c->i + 1], "--") != 0 &&
               (!s->max_values || l->count - before < s->max_values) &&
               (!(s->flags & OPTIONS_LIST_WHILE_VALID) || list_valid(s, c->argv[c->i + 1])))
            rc = list_append(p, req, s, name, c->argv[++c->i], e);
    }
    if (rc < 0)
        return rc;
    size_t got = l->count - before;
    if (got < s->min_values) {
        static const char *const counts[] = {"", "one", "two", "three", "four"};
        if (s->min_values == 1)
            return error_set(e, -EINVAL, "option '%s' needs at least one value", who);
        if (s->min_values < 5)
            return error_set(e, -EINVAL, "option '%s' needs %s values", who,
                             counts[s->min_values]);
        return error_set(e, -EINVAL, "option '%s' needs %u values", who, s->min_values);
    }
    return 0;
}

static int take_scalar(struct cursor *c, const struct options_spec *s, const char *who,
                       const char *v, void *req, struct error *e)
{
    char name[80];
    display_name(s, name, sizeof name);
    if (!v && (s->flags & OPTIONS_OPTIONAL_VALUE)) {
        const char *next = c->i + 1 < c->argc ? c->argv[c->i + 1] : NULL;
        struct error ignored = {0};
        if (!next || is_option_word(next) || check_as(s, s->type, name, next, &ignored) < 0)
            return 0;          /* given without a value */
        v = c->argv[++c->i];
    }
    if (!v) {
        if (c->i + 1 >= c->argc)
            return error_set(e, -EINVAL, "option '%s' needs a value", who);
        v = c->argv[++c->i];
    }
    int rc = check_as(s, s->type, name, v, e);
    if (rc < 0)
        return rc;
    return store_scalar(req, s, v);
}

static int take_option(struct cursor *c, const struct options_spec *s, const char *v, void *req,
                       struct options_parsed *p, struct error *e)
{
    /* The spelling the user wrote names the option when it is misused; a
     * bad value is named by the long name, the same from every front end. */
    char who[80];
    const char *arg = c->argv[c->i];
    size_t len = strcspn(arg, "=");
    if (v && v == arg + 2 && arg[1] != '-')
        len = 2;                                   /* "-c1": the option is "-c" */
    snprintf(who, sizeof who, "%.*s", (int)len, arg);
    if (s->type == OPTIONS_FLAG) {
        if (v)
            return error_set(e, -EINVAL, "option '%s' takes no value", who);
        *(bool *)slot(req, s) = true;
        return 0;
    }
    if (s->type == OPTIONS_LIST)
        return take_list(c, s, who, v, req, p, e);
    return take_scalar(c, s, who, v, req, e);
}

static int parse_word(struct cursor *c, const struct options_command *cmd, void *req,
                      struct options_parsed *p, struct error *e)
{
    const char *arg = c->argv[c->i];
    const char *v = NULL;
    const struct options_spec *s = match(cmd, arg, &v);
    if (s) {
        p->from[s - cmd->specs] = OPTIONS_FROM_FLAG;
        return take_option(c, s, v, req, p, e);
    }
    if ((s = match(&options_common, arg, &v)))
        return take_option(c, s, v, p, p, e);
    return error_set(e, -EINVAL, "unknown option '%s'", arg);
}

int options_parse(const struct options_command *cmd, int argc, char **argv, void *req,
                  struct options_parsed *p, struct error *e)
{
    memset(p, 0, sizeof *p);
    if (cmd->count > OPTIONS_MAX)
        return error_set(e, -E2BIG, "%s: more than %d options in the table", cmd->name,
                         OPTIONS_MAX);
    p->operands = calloc((size_t)argc + 1, sizeof *p->operands);
    if (!p->operands)
        return error_set(e, -ENOMEM, "out of memory");
    struct cursor c = {.argc = argc, .argv = argv};
    for (c.i = 1; c.i < argc; c.i++) {
        const char *arg = argv[c.i];
        if (strcmp(arg, "--") == 0) {
            p->rest = argv + c.i + 1;
            p->rest_count = argc - c.i - 1;
            p->dashdash = true;
            return 0;
        }
        if (!is_option_word(arg)) {
            if (cmd->stop_at_operand) {
                p->rest = argv + c.i;
                p->rest_count = argc - c.i;
                return 0;
            }
            if (p->operand_count >= cmd->max_operands)
                return error_set(e, -EINVAL, "unexpected argument '%s'%s", arg,
                                 cmd->operand_hint ? cmd->operand_hint : "");
            p->operands[p->operand_count++] = argv[c.i];
            continue;
        }
        int rc = parse_word(&c, cmd, req, p, e);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- environment --------------------------------------------------------------------- */

static int env_flag(const char *var, const char *v, bool *out, struct error *e)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(v, yes[i]) == 0)
            return *out = true, 0;
        if (strcmp(v, no[i]) == 0)
            return *out = false, 0;
    }
    return error_set(e, -EINVAL, "%s: '%s' is not one of 1, true, yes, on, 0, false, no, off",
                     var, v);
}

/* The first non-empty variable of the space-separated list names; its name
 * goes into var. */
static const char *first_set(const char *names, char *var, size_t size)
{
    for (const char *n = names; n && *n;) {
        n += strspn(n, " ");
        size_t len = strcspn(n, " ");
        if (len && len < size) {
            memcpy(var, n, len);
            var[len] = '\0';
            const char *v = getenv(var);
            if (v && *v)
                return v;
        }
        n += len;
    }
    return NULL;
}

/* 1 when a variable gave the value, 0 when none is set. */
static int apply_one_env(const struct options_spec *s, void *req, struct options_parsed *p,
                         struct error *e)
{
    char var[128];
    const char *v = first_set(s->env, var, sizeof var);
    if (!v)
        return 0;
    int rc;
    if (s->type == OPTIONS_FLAG)
        rc = env_flag(var, v, slot(req, s), e);
    else if (s->type == OPTIONS_LIST)
        rc = list_append(p, req, s, var, v, e);
    else if ((rc = check_as(s, s->type, var, v, e)) == 0)
        rc = store_scalar(req, s, v);
    return rc < 0 ? rc : 1;
}

int options_apply_env(const struct options_command *cmd, void *req, struct options_parsed *p,
                      struct error *e)
{
    for (size_t i = 0; i < cmd->count; i++) {
        const struct options_spec *s = &cmd->specs[i];
        if (!s->env || (s->flags & OPTIONS_ENV_DOCUMENTED) || p->from[i] != OPTIONS_FROM_NONE)
            continue;
        int rc = apply_one_env(s, req, p, e);
        if (rc < 0)
            return rc;
        if (rc > 0)
            p->from[i] = OPTIONS_FROM_ENV;
    }
    return 0;
}

/* ---- help ------------------------------------------------------------------------------ */

void options_format_value(const struct options_spec *s, char *buf, size_t size)
{
    buf[0] = '\0';
    if (s->type == OPTIONS_FLAG || size == 0)
        return;
    const char *meta = s->metavar ? s->metavar : "VALUE";
    if (s->type == OPTIONS_LIST && s->max_values > 1 && s->min_values == s->max_values) {
        /* a fixed count: "TH1 TH2" */
        size_t n = 0;
        for (unsigned k = 1; k <= s->max_values && n < size; k++)
            n += (size_t)snprintf(buf + n, size - n, "%s%s%u", k > 1 ? " " : "", meta, k);
        return;
    }
    bool optional = s->flags & OPTIONS_OPTIONAL_VALUE;
    bool many = s->type == OPTIONS_LIST && s->max_values != 1;
    snprintf(buf, size, "%s%s%s%s", optional ? "[" : "", meta, many ? "..." : "",
             optional ? "]" : "");
}

void options_format_synopsis(const struct options_spec *s, char *buf, size_t size)
{
    char value[128];
    options_format_value(s, value, sizeof value);
    if (s->short_name)
        snprintf(buf, size, "-%s, --%s%s%s", s->short_name, s->name, *value ? " " : "", value);
    else
        snprintf(buf, size, "--%s%s%s", s->name, *value ? " " : "", value);
}

#define HELP_COLUMN 26
#define HELP_WIDTH 79

/* Writes text wrapped at HELP_WIDTH; the cursor is at HELP_COLUMN and
 * every further line is indented to it. */
static void write_wrapped(FILE *out, const char *text)
{
    int col = HELP_COLUMN;
    bool line_start = true;
    for (const char *w = text + strspn(text, " "); *w; w += strspn(w, " ")) {
        size_t len = strcspn(w, " ");
        if (!line_start && col + 1 + (int)len > HELP_WIDTH) {
            fprintf(out, "\n%*s", HELP_COLUMN, "");
            col = HELP_COLUMN;
            line_start = true;
        }
        if (!line_start) {
            fputc(' ', out);
            col++;
        }
        fwrite(w, 1, len, out);
        col += (int)len;
        line_start = false;
        w += len;
    }
    fputc('\n', out);
}

static void write_spec(FILE *out, const struct options_spec *s)
{
    char syn[160];
    options_format_synopsis(s, syn, sizeof syn);
    int col = fprintf(out, "  %s", syn);
    if (col >= HELP_COLUMN - 1) {
        fprintf(out, "\n%*s", HELP_COLUMN, "");
    } else {
        fprintf(out, "%*s", HELP_COLUMN - col, "");
    }
    char text[1024];
    size_t n = (size_t)snprintf(text, sizeof text, "%s", s->help ? s->help : "");
    if (s->aliases && n < sizeof text)
        n += (size_t)snprintf(text + n, sizeof text - n, " (also %s)", s->aliases);
    for (const char *v = s->env; v && *v && n < sizeof text;) {
        size_t len = strcspn(v, " ");
        n += (size_t)snprintf(text + n, sizeof text - n, "%s%.*s", v == s->env ? " (env " : " or ",
                              (int)len, v);
        v += len;
        v += strspn(v, " ");
        if (!*v && n < sizeof text)
            n += (size_t)snprintf(text + n, sizeof text - n, ")");
    }
    write_wrapped(out, text);
}

static void write_specs(FILE *out, const struct options_command *cmd, const char *first_group)
{
    const char *group = first_group;
    fprintf(out, "\n%s:\n", group);
    for (size_t i = 0; i < cmd->count; i++) {
        const struct options_spec *s = &cmd->specs[i];
        if (s->group && s->group != group && strcmp(s->group, group) != 0) {
            group = s->group;
            fprintf(out, "\n%s:\n", group);
        }
        write_spec(out, s);
    }
}

int options_write_help(const struct options_command *cmd, FILE *out)
{
    fprintf(out, "usage: %s\n", cmd->usage);
    if (cmd->about)
        fprintf(out, "\n%s", cmd->about);
    if (cmd->count)
        write_specs(out, cmd, cmd->specs[0].group ? cmd->specs[0].group : "Options");
    write_specs(out, &options_common, "Options for every command");
    if (cmd->epilog)
        fprintf(out, "\n%s", cmd->epilog);
    return ferror(out) ? -EIO : 0;
}
