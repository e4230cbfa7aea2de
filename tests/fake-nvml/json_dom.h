/* json_dom.h - a strict JSON reader that builds a tree in an arena.
 *
 * The fake NVML reads its scenario on nvmlInit and again whenever the file
 * changes, inside programs being benchmarked, so reading must cost little:
 * this reader makes one pass, allocates from an arena, and keeps each
 * value's byte offset so that any complaint about the file (bad syntax, a
 * value of the wrong type) can name its line and column.
 *
 * Accepts RFC 8259 JSON only: no comments, no trailing commas, no duplicate
 * member names, UTF-8 text, nesting at most JSON_MAX_DEPTH deep.  Numbers
 * without fraction or exponent that fit in a long long are JSON_INTEGER; all
 * others are JSON_REAL, whose value the fake never needs.
 */
#ifndef FAKE_NVML_JSON_DOM_H
#define FAKE_NVML_JSON_DOM_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

#define JSON_MAX_DEPTH 64

enum json_type { JSON_NULL, JSON_TRUE, JSON_FALSE, JSON_INTEGER, JSON_REAL, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json_value {
    enum json_type type;
    size_t offset;                   /* where the value starts in the text */
    const char *key;                 /* member name, for members of an object */
    struct json_value *next;         /* next element or member */
    long long integer;               /* JSON_INTEGER */
    const char *string;              /* JSON_STRING: NUL-terminated UTF-8 */
    size_t length;                   /* string bytes, or element/member count */
    struct json_value *first;        /* first element or member */
};

/* Parses len bytes.  On success returns the root, allocated in arena.  On
 * failure returns NULL, sets *error_offset and writes a short description
 * into error (size bytes). */
struct json_value *json_parse(const char *text, size_t len, struct arena *arena, size_t *error_offset, char *error,
                              size_t size);

/* The member called key, or NULL (also when obj is not an object). */
const struct json_value *json_get(const struct json_value *obj, const char *key);

/* 1-based line and column (in characters) of a byte offset. */
void json_position(const char *text, size_t len, size_t offset, unsigned int *line, unsigned int *column);

#endif
