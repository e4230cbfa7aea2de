/* toml.h - the project's strict TOML 1.0 reader (ARCHITECTURE.md decision 8).
 *
 * toml_parse() turns a buffer into a read-only tree of values.  Every rule of
 * TOML 1.0 is enforced (https://toml.io/en/v1.0.0), including the ones about
 * defining a key or a table twice; anything the specification calls invalid
 * is refused with "file:line:column: message" (1-based, the column counted in
 * characters of the line).  Reading only: nothing here writes TOML.
 *
 * Ownership: toml_parse() hands the caller one tree, released with one
 * toml_free() of the root.  Every other pointer a function here returns
 * (values, key names, string contents) points into that tree and stays valid
 * until the tree is freed; never free those pointers themselves.
 *
 * Accessors take NULL and values of the wrong type gracefully (they return
 * NULL, 0 or false), so lookups chain:
 *
 *     int64_t n;
 *     if (toml_get_int(toml_table_get_path(root, "audit.retention_days"), &n)) ...
 */
#ifndef GPUCTL_CORE_TOML_H
#define GPUCTL_CORE_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Deepest nesting accepted: the root table is level 0, and every table,
 * array or value sits one level below its container.  Deeper documents are
 * refused with an error rather than risking the stack. */
#define TOML_MAX_DEPTH 128

enum toml_type {
    TOML_TABLE,
    TOML_ARRAY,
    TOML_STRING,
    TOML_INTEGER,
    TOML_FLOAT,
    TOML_BOOLEAN,
    TOML_OFFSET_DATETIME, /* 1979-05-27T07:32:00-07:00 */
    TOML_LOCAL_DATETIME,  /* 1979-05-27T07:32:00 */
    TOML_LOCAL_DATE,      /* 1979-05-27 */
    TOML_LOCAL_TIME,      /* 07:32:00.999 */
};

/* A place in the document: 1-based line, 1-based column in characters
 * (UTF-8 code points; a tab counts as one). */
struct toml_pos {
    unsigned line;
    unsigned column;
};

/* The parts of any of the four date/time types.  Parts a type does not have
 * are 0 (a local date has no hour; a local time has no year). */
struct toml_datetime {
    int year, month, day;
    int hour, minute, second;     /* second may be 60 (leap second) */
    int nanosecond;               /* fraction of a second; finer digits are truncated */
    int offset_minutes;           /* offset date-time only: minutes east of UTC ("Z" is 0) */
};

struct toml_value;

/* One key of a table, as toml_table_at() reports it. */
struct toml_entry {
    const char *key;              /* NUL-terminated; a quoted key may hold "\u0000", */
    size_t key_len;               /* so key_len is the true length */
    struct toml_pos key_pos;      /* where the key (its last dotted part) is defined */
    const struct toml_value *value;
};

/* Parses len bytes of buf (no NUL terminator needed; a leading UTF-8 byte
 * order mark is skipped).  filename only appears in messages.  On success
 * returns 0 and stores a new tree in *root, owned by the caller (toml_free).
 * On failure returns -ERROR_PARSE (or -ENOMEM, -EINVAL), stores NULL in
 * *root and fills e with "filename:line:column: message". */
int toml_parse(const char *buf, size_t len, const char *filename, struct toml_value **root,
               struct error *e);

/* Frees a tree returned by toml_parse().  Accepts NULL.  Only ever pass the
 * root: values inside the tree belong to it. */
void toml_free(struct toml_value *root);

/* v must not be NULL. */
enum toml_type toml_type(const struct toml_value *v);

/* "table", "array", "string", "integer", "float", "boolean",
 * "offset date-time", "local date-time", "local date", "local time". */
const char *toml_type_name(enum toml_type type);

/* Where v begins: the first character of a value, the key of a [table]
 * header, or the key that first created an implicit table.  {0,0} for NULL. */
struct toml_pos toml_value_pos(const struct toml_value *v);

/* Tables.  Keys keep document order.  toml_table_size() is 0 and
 * toml_table_at() false when t is NULL or not a table, or i is past the end. */
size_t toml_table_size(const struct toml_value *t);
bool toml_table_at(const struct toml_value *t, size_t i, struct toml_entry *out);

/* The value of one key (a single key, no dots interpreted), or NULL. */
const struct toml_value *toml_table_get(const struct toml_value *t, const char *key);

/* Follows a dotted path of bare keys ("audit.retention_days") through
 * nested tables; NULL when any part is missing or not a table. */
const struct toml_value *toml_table_get_path(const struct toml_value *t, const char *path);

/* Arrays (static arrays and arrays of tables alike). */
size_t toml_array_size(const struct toml_value *a);
const struct toml_value *toml_array_get(const struct toml_value *a, size_t i);

/* Typed getters: true and *out set when v is of that type; false (and *out
 * untouched) when v is NULL or of another type. */
bool toml_get_bool(const struct toml_value *v, bool *out);
bool toml_get_int(const struct toml_value *v, int64_t *out);
bool toml_get_float(const struct toml_value *v, double *out);
/* Integer or float, as a double (integers beyond 2^53 lose precision). */
bool toml_get_number(const struct toml_value *v, double *out);
/* Any of the four date/time types; toml_type() says which parts are real. */
bool toml_get_datetime(const struct toml_value *v, struct toml_datetime *out);

/* The contents of a string value, NUL-terminated, or NULL when v is not a
 * string.  len (may be NULL) receives the length, which differs from
 * strlen() when the string holds "\u0000". */
const char *toml_get_string(const struct toml_value *v, size_t *len);

#endif
