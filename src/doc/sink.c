/* sink.c - the two document sinks (sink.h): a jansson tree, and JSON text
 * written as the builder goes.
 *
 * The text sink exists for front ends that only write a document out:
 * building a tree of 6,000 values, serialising it and freeing it was half
 * the user time of `gpuctl list --output json` on 8 GPUs x 256 processes.
 * It places commas, colons and indentation exactly where json_dump.c's
 * walk of a tree does, and writes each token with the same writers
 * (json_text.h), so the two forms of one build are the same bytes.  The
 * builders decide what a document holds; neither sink does.
 */
#include "doc/sink.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/units.h"
#include "doc/json.h"

/* ---- what a builder calls --------------------------------------------------- */

void doc_sink_object(struct doc_sink *s, const char *key)
{
    s->ops->open(s, key, false);
}

void doc_sink_array(struct doc_sink *s, const char *key)
{
    s->ops->open(s, key, true);
}

void doc_sink_close(struct doc_sink *s)
{
    s->ops->close(s);
}

void doc_sink_null(struct doc_sink *s, const char *key)
{
    s->ops->null(s, key);
}

void doc_sink_bool(struct doc_sink *s, const char *key, bool v)
{
    s->ops->boolean(s, key, v);
}

void doc_sink_integer(struct doc_sink *s, const char *key, json_int_t v)
{
    s->ops->integer(s, key, v);
}

void doc_sink_real(struct doc_sink *s, const char *key, double v, int precision)
{
    if (isfinite(v))
        s->ops->real(s, key, doc_json_round(v, precision));
    else
        s->ops->null(s, key);
}

void doc_sink_stringn(struct doc_sink *s, const char *key, const char *v, size_t n)
{
    if (doc_json_utf8_valid(v, n)) {
        s->ops->string(s, key, v, n);
        return;
    }
    size_t len;
    char *fixed = doc_json_repaired(v, n, &len);
    if (fixed)
        s->ops->string(s, key, fixed, len);
    else
        s->failed = true;
    free(fixed);
}

void doc_sink_str(struct doc_sink *s, const char *key, const char *v)
{
    if (v && *v)
        doc_sink_stringn(s, key, v, strlen(v));
    else
        s->ops->null(s, key);
}

void doc_sink_f64(struct doc_sink *s, const char *key, struct opt_f64 o, int precision)
{
    if (o.known)
        doc_sink_real(s, key, o.v, precision);
    else
        s->ops->null(s, key);
}

void doc_sink_opt_bool(struct doc_sink *s, const char *key, struct opt_i64 o)
{
    if (o.known)
        s->ops->boolean(s, key, o.v != 0);
    else
        s->ops->null(s, key);
}

void doc_sink_time(struct doc_sink *s, const char *key, struct opt_f64 epoch)
{
    char buf[40];
    if (epoch.known && units_format_rfc3339_utc(epoch.v, buf, sizeof buf) == 0)
        s->ops->string(s, key, buf, strlen(buf));
    else
        s->ops->null(s, key);
}

/* ---- the jansson tree ------------------------------------------------------- */

static struct doc_tree_sink *tree_of(struct doc_sink *s)
{
    return (struct doc_tree_sink *)s;
}

/* The open container at the top, or NULL (the root level, a failed open,
 * or nesting past DOC_SINK_DEPTH). */
static json_t *tree_parent(const struct doc_tree_sink *t)
{
    return t->depth && t->depth <= DOC_SINK_DEPTH ? t->stack[t->depth - 1] : NULL;
}

/* Puts v (taking the reference) where the builder is. */
static void tree_attach(struct doc_tree_sink *t, const char *key, json_t *v)
{
    if (t->depth == 0) {
        if (t->root || !v)
            t->db.failed = true;
        if (t->root)
            json_decref(v);
        else
            t->root = v;
    } else if (key) {
        doc_put(&t->db, tree_parent(t), key, v);
    } else {
        doc_append(&t->db, tree_parent(t), v);
    }
}

static void tree_open(struct doc_sink *s, const char *key, bool array)
{
    struct doc_tree_sink *t = tree_of(s);
    json_t *v = array ? doc_array(&t->db) : doc_object(&t->db);
    tree_attach(t, key, v);
    if (t->depth < DOC_SINK_DEPTH)
        t->stack[t->depth] = t->db.failed ? NULL : v;
    else
        s->failed = true;
    t->depth++;
}

static void tree_close(struct doc_sink *s)
{
    struct doc_tree_sink *t = tree_of(s);
    if (t->depth)
        t->depth--;
    else
        s->failed = true;
}

static void tree_null(struct doc_sink *s, const char *key)
{
    tree_attach(tree_of(s), key, json_null());
}

static void tree_boolean(struct doc_sink *s, const char *key, bool v)
{
    tree_attach(tree_of(s), key, json_boolean(v));
}

static void tree_integer(struct doc_sink *s, const char *key, json_int_t v)
{
    tree_attach(tree_of(s), key, json_integer(v));
}

static void tree_real(struct doc_sink *s, const char *key, double v)
{
    tree_attach(tree_of(s), key, json_real(v));
}

static void tree_string(struct doc_sink *s, const char *key, const char *v, size_t n)
{
    tree_attach(tree_of(s), key, json_stringn_nocheck(v, n));
}

static const struct doc_sink_ops tree_ops = {
    tree_open, tree_close, tree_null, tree_boolean, tree_integer, tree_real, tree_string,
};

void doc_tree_sink_init(struct doc_tree_sink *t)
{
    *t = (struct doc_tree_sink){.base = {.ops = &tree_ops}};
}

json_t *doc_tree_sink_finish(struct doc_tree_sink *t, struct error *e)
{
    if (t->base.failed || t->depth)
        t->db.failed = true;
    json_t *root = t->root;
    t->root = NULL;
    return doc_finish(&t->db, root, e);
}

/* ---- JSON text -------------------------------------------------------------- */

static struct doc_text_sink *text_of(struct doc_sink *s)
{
    return (struct doc_text_sink *)s;
}

/* jansson refuses a key that is not UTF-8; most are ASCII. */
static bool key_valid(const char *key)
{
    const unsigned char *k = (const unsigned char *)key;
    while (*k && *k < 0x80)
        k++;
    return !*k || doc_json_utf8_valid(key, strlen(key));
}

/* What goes before a value: the comma and indentation of its container,
 * and its key.  False when the value has nowhere to go. */
static bool text_item(struct doc_text_sink *t, const char *key)
{
    if (t->depth == 0) {
        if (t->out.len || key)
            t->base.failed = true;
        return !t->base.failed;
    }
    if (t->depth > DOC_SINK_DEPTH || (key != NULL) == t->stack[t->depth - 1].array ||
        (key && !key_valid(key))) {
        t->base.failed = true;
        return false;
    }
    if (t->stack[t->depth - 1].items++)
        doc_text_char(&t->out, ',');
    doc_text_indent(&t->out, t->compact, t->depth);
    if (key) {
        doc_text_string(&t->out, key, strlen(key));
        doc_text_put(&t->out, ": ", t->compact ? 1 : 2);
    }
    return true;
}

static void text_open(struct doc_sink *s, const char *key, bool array)
{
    struct doc_text_sink *t = text_of(s);
    text_item(t, key);
    doc_text_char(&t->out, array ? '[' : '{');
    if (t->depth < DOC_SINK_DEPTH)
        t->stack[t->depth] = (struct doc_text_level){.array = array};
    else
        s->failed = true;
    t->depth++;
}

static void text_close(struct doc_sink *s)
{
    struct doc_text_sink *t = text_of(s);
    if (t->depth == 0 || t->depth > DOC_SINK_DEPTH) {
        s->failed = true;
        if (t->depth)
            t->depth--;
        return;
    }
    t->depth--;
    if (t->stack[t->depth].items)
        doc_text_indent(&t->out, t->compact, t->depth);
    doc_text_char(&t->out, t->stack[t->depth].array ? ']' : '}');
}

static void text_null(struct doc_sink *s, const char *key)
{
    if (text_item(text_of(s), key))
        doc_text_put(&text_of(s)->out, "null", 4);
}

static void text_boolean(struct doc_sink *s, const char *key, bool v)
{
    if (text_item(text_of(s), key))
        doc_text_put(&text_of(s)->out, v ? "true" : "false", v ? 4 : 5);
}

static void text_integer(struct doc_sink *s, const char *key, json_int_t v)
{
    if (text_item(text_of(s), key))
        doc_text_integer(&text_of(s)->out, v);
}

static void text_real(struct doc_sink *s, const char *key, double v)
{
    if (text_item(text_of(s), key))
        doc_text_real(&text_of(s)->out, v);
}

static void text_string(struct doc_sink *s, const char *key, const char *v, size_t n)
{
    if (text_item(text_of(s), key))
        doc_text_string(&text_of(s)->out, v, n);
}

static const struct doc_sink_ops text_ops = {
    text_open, text_close, text_null, text_boolean, text_integer, text_real, text_string,
};

void doc_text_sink_init(struct doc_text_sink *t, bool compact)
{
    *t = (struct doc_text_sink){.base = {.ops = &text_ops}, .compact = compact};
}

char *doc_text_sink_finish(struct doc_text_sink *t, size_t *len, struct error *e)
{
    if (t->base.failed || t->depth || !t->out.len)
        t->out.failed = true;
    char *text = doc_text_finish(&t->out, len);
    if (!text)
        error_set(e, -ENOMEM, "out of memory while writing a JSON document");
    return text;
}
