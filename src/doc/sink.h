/* sink.h - where a document builder puts its values: into a jansson tree
 * (for front ends that keep, change or decode the document) or straight
 * into JSON text (for those that only write it out).  A builder drives a
 * sink through the calls below, so what a document contains is said once
 * and both forms follow from it; the text is byte for byte what
 * doc_json_dumps writes for the tree (tests/unit/test_doc_sink.c).
 *
 * Calls name a key inside an object and pass NULL inside an array or for
 * the root.  Within one object every key must be new: a tree would replace
 * a repeated key where it first stood, the text would write it twice.  A
 * key that is not valid UTF-8 fails the build in both forms (jansson
 * refuses it).  Failures (allocation, nesting deeper than DOC_SINK_DEPTH)
 * are remembered and reported when the sink finishes.
 */
#ifndef GPUCTL_DOC_SINK_H
#define GPUCTL_DOC_SINK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "core/model.h"
#include "doc/build.h"
#include "doc/json_text.h"

#define DOC_SINK_DEPTH 16

struct doc_sink;

struct doc_sink_ops {
    void (*open)(struct doc_sink *s, const char *key, bool array);
    void (*close)(struct doc_sink *s);
    void (*null)(struct doc_sink *s, const char *key);
    void (*boolean)(struct doc_sink *s, const char *key, bool v);
    void (*integer)(struct doc_sink *s, const char *key, json_int_t v);
    void (*real)(struct doc_sink *s, const char *key, double v);         /* finite */
    void (*string)(struct doc_sink *s, const char *key, const char *v, size_t n); /* UTF-8 */
};

struct doc_sink {
    const struct doc_sink_ops *ops;
    bool failed;
};

/* ---- what a builder calls --------------------------------------------------- */

void doc_sink_object(struct doc_sink *s, const char *key);
void doc_sink_array(struct doc_sink *s, const char *key);
void doc_sink_close(struct doc_sink *s);
void doc_sink_null(struct doc_sink *s, const char *key);
void doc_sink_bool(struct doc_sink *s, const char *key, bool v);
void doc_sink_integer(struct doc_sink *s, const char *key, json_int_t v);
/* v rounded to precision decimals (doc_json_round); null when not finite. */
void doc_sink_real(struct doc_sink *s, const char *key, double v, int precision);
/* s[0..n) with invalid UTF-8 repaired (json.h's rule). */
void doc_sink_stringn(struct doc_sink *s, const char *key, const char *v, size_t n);
/* The string, or null when it is NULL or empty (doc_json_str). */
void doc_sink_str(struct doc_sink *s, const char *key, const char *v);
/* Unknown-as-null, as doc_json_f64 and doc_json_bool. */
void doc_sink_f64(struct doc_sink *s, const char *key, struct opt_f64 o, int precision);
void doc_sink_opt_bool(struct doc_sink *s, const char *key, struct opt_i64 o);
/* RFC 3339 UTC, or null (doc_json_time). */
void doc_sink_time(struct doc_sink *s, const char *key, struct opt_f64 epoch);

/* ---- the jansson tree ------------------------------------------------------- */

struct doc_tree_sink {
    struct doc_sink base;
    struct doc_build db;
    json_t *root;
    json_t *stack[DOC_SINK_DEPTH];   /* borrowed: each is held by its parent or root */
    size_t depth;
};

void doc_tree_sink_init(struct doc_tree_sink *t);
/* The document (new reference), or NULL with e filled (-ENOMEM) when the
 * build failed or left a container open. */
json_t *doc_tree_sink_finish(struct doc_tree_sink *t, struct error *e);

/* ---- JSON text -------------------------------------------------------------- */

struct doc_text_level {
    bool array;
    size_t items;                    /* written so far: a comma goes before the next */
};

struct doc_text_sink {
    struct doc_sink base;
    struct doc_text out;
    bool compact;                    /* else indented by 2 */
    struct doc_text_level stack[DOC_SINK_DEPTH];
    size_t depth;
};

void doc_text_sink_init(struct doc_text_sink *t, bool compact);
/* The text (the caller frees it) and its length in *len, or NULL with e
 * filled (-ENOMEM) when the build failed or left a container open. */
char *doc_text_sink_finish(struct doc_text_sink *t, size_t *len, struct error *e);

#endif
