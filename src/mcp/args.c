/* args.c - a tool's arguments: its inputSchema, generated from the option
 * table of the command each argument stands for, and the checks of the
 * values a client sends.
 *
 * An argument that is an option of a command takes that option's help
 * sentence, range and choices (core/options.h), and its value goes through
 * options_check_value, so a bad pid is refused with the sentence `gpuctl
 * kill --pid` prints.  The tools themselves (mcp/tools.c) only read values
 * that passed.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "doc/json.h"
#include "mcp/catalog.h"

static const struct options_spec *arg_spec(const struct mcp_arg *a, const struct mcp_env *env)
{
    if (!a->command || !env || !env->options_table)
        return NULL;
    const struct options_command *cmd = env->options_table(a->command);
    return cmd ? options_find(cmd, a->option) : NULL;
}

static const char *type_name(enum mcp_arg_type t)
{
    switch (t) {
    case MCP_ARG_INTEGER: return "integer";
    case MCP_ARG_NUMBER: return "number";
    case MCP_ARG_BOOLEAN: return "boolean";
    case MCP_ARG_STRING: return "string";
    }
    return "string";
}

/* The value type of a spec, for lists their elements'. */
static enum options_type value_type(const struct options_spec *s)
{
    return s->type == OPTIONS_LIST ? s->elem : s->type;
}

/* "a|b|c" as a JSON array of strings. */
static json_t *choices_json(const char *choices)
{
    json_t *a = json_array();
    for (const char *p = choices; a && p && *p;) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        json_array_append_new(a, json_stringn(p, n));
        p = bar ? bar + 1 : p + n;
    }
    return a;
}

static void put_range(json_t *o, const struct mcp_arg *a, const struct options_spec *s)
{
    if (a->type != MCP_ARG_INTEGER && a->type != MCP_ARG_NUMBER)
        return;
    enum options_type vt = s ? value_type(s) : OPTIONS_STRING;
    bool from_spec = s && (vt == OPTIONS_UINT || vt == OPTIONS_NUMBER) && s->min < s->max;
    double min = from_spec ? s->min : a->min, max = from_spec ? s->max : a->max;
    if (min >= max)
        return;
    doc_json_put(o, "minimum", a->type == MCP_ARG_INTEGER ? json_integer((json_int_t)min)
                                                          : json_real(min));
    doc_json_put(o, "maximum", a->type == MCP_ARG_INTEGER ? json_integer((json_int_t)max)
                                                          : json_real(max));
}

static json_t *arg_schema(const struct mcp_arg *a, const struct mcp_env *env)
{
    const struct options_spec *s = arg_spec(a, env);
    json_t *o = json_pack("{s:s}", "type", type_name(a->type));
    if (!o)
        return NULL;
    const char *help = a->help ? a->help : s && s->help ? s->help : NULL;
    if (help)
        doc_json_put(o, "description", json_string(help));
    put_range(o, a, s);
    if (s && a->type == MCP_ARG_STRING && value_type(s) == OPTIONS_CHOICE && s->choices)
        doc_json_put(o, "enum", choices_json(s->choices));
    return o;
}

json_t *mcp_tool_input_schema(const struct mcp_tool *t, const struct mcp_env *env)
{
    json_t *props = json_object(), *required = json_array();
    for (size_t i = 0; props && required && i < t->arg_count; i++) {
        doc_json_put(props, t->args[i].name, arg_schema(&t->args[i], env));
        if (t->args[i].required)
            json_array_append_new(required, json_string(t->args[i].name));
    }
    json_t *schema = json_pack("{s:s,s:o,s:b}", "type", "object", "properties", props,
                               "additionalProperties", 0);
    if (schema && json_array_size(required) > 0)
        doc_json_put(schema, "required", json_incref(required));
    json_decref(required);
    return schema;
}

/* The value as the command line would have it, for options_check_value. */
static void value_text(const json_t *v, char *buf, size_t size)
{
    if (json_is_integer(v))
        snprintf(buf, size, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, size, "%.17g", json_real_value(v));
    else if (json_is_string(v))
        snprintf(buf, size, "%s", json_string_value(v));
    else
        buf[0] = '\0';
}

static int check_type(const struct mcp_arg *a, const json_t *v, struct error *e)
{
    bool ok = false;
    switch (a->type) {
    case MCP_ARG_INTEGER:
        ok = json_is_integer(v) ||
             (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)));
        break;
    case MCP_ARG_NUMBER: ok = json_is_number(v); break;
    case MCP_ARG_BOOLEAN: ok = json_is_boolean(v); break;
    case MCP_ARG_STRING: ok = json_is_string(v); break;
    }
    if (ok)
        return 0;
    return error_set(e, -EINVAL, "argument '%s' must be %s %s", a->name,
                     a->type == MCP_ARG_INTEGER ? "an" : "a", type_name(a->type));
}

static int check_value(const struct mcp_arg *a, const struct mcp_env *env, const json_t *v,
                       struct error *e)
{
    int rc = check_type(a, v, e);
    if (rc < 0 || a->type == MCP_ARG_BOOLEAN)
        return rc;
    const struct options_spec *s = arg_spec(a, env);
    if (s && s->type != OPTIONS_FLAG && value_type(s) != OPTIONS_STRING) {
        char text[128];
        value_text(v, text, sizeof text);
        /* A list option checks each element; one value is one element. */
        struct options_spec one = *s;
        if (one.type == OPTIONS_LIST)
            one.type = one.elem;
        if (options_check_value(&one, text, e) < 0) {
            error_prefix(e, "argument '%s'", a->name);
            return -EINVAL;
        }
        return 0;
    }
    if ((a->type == MCP_ARG_INTEGER || a->type == MCP_ARG_NUMBER) && a->min < a->max) {
        double d = json_number_value(v);
        if (d < a->min || d > a->max)
            return error_set(e, -EINVAL, "argument '%s': %g is not from %g to %g", a->name, d,
                             a->min, a->max);
    }
    if (a->type == MCP_ARG_STRING && !doc_json_utf8_valid(json_string_value(v),
                                                          json_string_length(v)))
        return error_set(e, -EINVAL, "argument '%s' holds a NUL byte", a->name);
    return 0;
}

int mcp_tool_check_args(const struct mcp_tool *t, const struct mcp_env *env,
                        const json_t *args, struct error *e)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)args, key, v) {
        const struct mcp_arg *a = NULL;
        for (size_t i = 0; i < t->arg_count && !a; i++)
            if (strcmp(t->args[i].name, key) == 0)
                a = &t->args[i];
        if (!a)
            return error_set(e, -EINVAL, "%s takes no argument '%s'", t->name, key);
        /* null stands for "not given", as JSON clients often send it. */
        if (!json_is_null(v) && check_value(a, env, v, e) < 0)
            return -EINVAL;
    }
    for (size_t i = 0; i < t->arg_count; i++) {
        const json_t *given = json_object_get(args, t->args[i].name);
        if (t->args[i].required && (!given || json_is_null(given)))
            return error_set(e, -EINVAL, "%s needs the argument '%s'", t->name,
                             t->args[i].name);
    }
    return 0;
}

static const json_t *arg_value(const struct mcp_args *a, const char *name)
{
    const json_t *v = json_object_get(a->obj, name);
    return json_is_null(v) ? NULL : v;
}

bool mcp_args_has(const struct mcp_args *a, const char *name)
{
    return arg_value(a, name) != NULL;
}

long long mcp_args_int(const struct mcp_args *a, const char *name, long long dflt)
{
    const json_t *v = arg_value(a, name);
    return v ? (long long)json_number_value(v) : dflt;
}

double mcp_args_number(const struct mcp_args *a, const char *name, double dflt)
{
    const json_t *v = arg_value(a, name);
    return v ? json_number_value(v) : dflt;
}

bool mcp_args_bool(const struct mcp_args *a, const char *name, bool dflt)
{
    const json_t *v = arg_value(a, name);
    return v ? json_is_true(v) : dflt;
}

const char *mcp_args_string(const struct mcp_args *a, const char *name)
{
    const json_t *v = arg_value(a, name);
    return v ? json_string_value(v) : NULL;
}
