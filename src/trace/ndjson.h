/* ndjson.h - the analyzer's parser for one line of a trace log.
 *
 * A line is one JSON object.  The analyzer needs its top-level members:
 * strings, numbers, booleans, null and arrays of strings or of integers
 * (scope paths, grid and block); nested objects and other arrays are
 * checked for well-formedness and skipped.  Outside input: the parser takes
 * a buffer and a length, never reads past it, and rejects anything that is
 * not valid JSON (a line cut short by a killed job is the common case).
 */
#ifndef GPUCTL_TRACE_NDJSON_H
#define GPUCTL_TRACE_NDJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NDJ_MAX_FIELDS 32
#define NDJ_MAX_ITEMS 64

enum ndj_type { NDJ_NULL, NDJ_BOOL, NDJ_NUM, NDJ_STR, NDJ_STR_ARRAY, NDJ_INT_ARRAY, NDJ_OTHER };

struct ndj_field {
    const char *key;           /* unescaped, NUL-terminated, in the scratch buffer */
    enum ndj_type type;
    bool b;
    double num;
    bool is_int;               /* num is an integer that fits int64 */
    int64_t i;
    const char *str;           /* NDJ_STR: unescaped, NUL-terminated */
    size_t str_len;
    /* NDJ_STR_ARRAY: items[] point into scratch; NDJ_INT_ARRAY: ints[] */
    size_t count;
    const char *items[NDJ_MAX_ITEMS];
    size_t item_lens[NDJ_MAX_ITEMS];
    int64_t ints[NDJ_MAX_ITEMS];
};

struct ndj_line {
    struct ndj_field fields[NDJ_MAX_FIELDS];
    size_t count;              /* fields kept; members past the limit are skipped */
    char *scratch;             /* unescaped strings; owned */
    size_t scratch_cap;
};

void ndj_line_init(struct ndj_line *l);
void ndj_line_free(struct ndj_line *l);

/* Parses buf[0..len) (no newline) as one JSON object.  0, or -1 when it is
 * not valid JSON or not an object, or -ENOMEM. */
int ndj_parse(struct ndj_line *l, const char *buf, size_t len);

/* The member called key, or NULL. */
const struct ndj_field *ndj_get(const struct ndj_line *l, const char *key);
/* Convenience: the string / number of a member of that type, else def. */
const char *ndj_str(const struct ndj_line *l, const char *key);
bool ndj_num(const struct ndj_line *l, const char *key, double *out);
bool ndj_u64(const struct ndj_line *l, const char *key, uint64_t *out);

#endif
