/* json.h - the recorder's NDJSON encoder: a growable line buffer and
 * escaping that always yields valid JSON.
 *
 * The recorder writes its own lines instead of building jansson trees: one
 * line per kernel at tens of thousands a second.  Strings are escaped per
 * RFC 8259 and bytes that are not UTF-8 become U+FFFD, so whatever a kernel
 * or scope is called the line parses; numbers that are not finite are
 * written null.  Parsing is the analyzer's (ndjson.h).
 */
#ifndef GPUCTL_TRACE_JSON_H
#define GPUCTL_TRACE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/model.h"

struct tjson {
    char *p;
    size_t len, cap;
    bool oom;        /* an append failed; the line must not be written */
    bool first;      /* no member yet in the innermost object or array */
    bool after_key;  /* a key was written; its value comes next */
};

void tjson_init(struct tjson *j);
void tjson_free(struct tjson *j);
void tjson_reset(struct tjson *j);

void tjson_raw(struct tjson *j, const char *s, size_t len);
/* A quoted, escaped string of s[0..len). */
void tjson_str(struct tjson *j, const char *s, size_t len);

/* Objects and arrays; members are separated by commas automatically. */
void tjson_open(struct tjson *j, char bracket);    /* '{' or '[' */
void tjson_close(struct tjson *j, char bracket);   /* '}' or ']' */
void tjson_key(struct tjson *j, const char *key);  /* key: plain ASCII */

void tjson_kstr(struct tjson *j, const char *key, const char *s);   /* NULL: null */
void tjson_kstrn(struct tjson *j, const char *key, const char *s, size_t len);
void tjson_ku64(struct tjson *j, const char *key, uint64_t v);
void tjson_ki64(struct tjson *j, const char *key, int64_t v);
void tjson_kf64(struct tjson *j, const char *key, double v);       /* non-finite: null */
void tjson_kbool(struct tjson *j, const char *key, bool v);
void tjson_knull(struct tjson *j, const char *key);
void tjson_kopt_u64(struct tjson *j, const char *key, struct opt_u64 v);
void tjson_kopt_i64(struct tjson *j, const char *key, struct opt_i64 v);
void tjson_kopt_f64(struct tjson *j, const char *key, struct opt_f64 v);
/* An array element (after tjson_open(j, '[')). */
void tjson_elem_str(struct tjson *j, const char *s, size_t len);
void tjson_elem_i64(struct tjson *j, int64_t v);

#endif
