/* json.h - the small pieces every document builder shares: adding keys that
 * may be missing, unknown-as-null values, strings from outside that may not
 * be UTF-8, numbers rounded to their field's precision, and serialising a
 * document the same way for every front end.
 *
 * The rules (docs/json/list.md, "Strings" and "Numbers"):
 * - A string that is not valid UTF-8 keeps its key: each byte that does not
 *   begin a well-formed UTF-8 sequence becomes U+FFFD (the rule the trace
 *   recorder follows too).  Valid text is never altered.
 * - A number with a precision is rounded to that many decimals, and documents
 *   are serialised with 15 significant digits, so 0.58 prints as 0.58, never
 *   0.5800000000000001.
 */
#ifndef GPUCTL_DOC_JSON_H
#define GPUCTL_DOC_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/model.h"

/* Sets key to value, taking the reference; a NULL value (ENOMEM) is skipped. */
void doc_json_put(json_t *obj, const char *key, json_t *value);

/* The string, or null when it is NULL or empty; invalid UTF-8 is repaired
 * as described above.  New reference. */
json_t *doc_json_str(const char *s);

/* The string (an empty one stays ""), or null when it is NULL; invalid
 * UTF-8 repaired.  For values where "" means something (an argument). */
json_t *doc_json_text(const char *s);

/* s[0..len) as a JSON string, invalid UTF-8 repaired (NUL bytes become
 * U+FFFD too, so the result is always a C string).  New reference or NULL
 * (ENOMEM). */
json_t *doc_json_stringn(const char *s, size_t len);

/* The repaired copy of s[0..len): every byte that does not begin a
 * well-formed UTF-8 sequence, and every NUL, becomes U+FFFD.  Returns a
 * NUL-terminated string the caller frees, its length in *out_len, or NULL
 * (ENOMEM). */
char *doc_json_repaired(const char *s, size_t len, size_t *out_len);

/* True when s[0..len) is well-formed UTF-8 without NUL bytes. */
bool doc_json_utf8_valid(const char *s, size_t len);

/* RFC 3339 UTC, or null when unknown or unrepresentable. */
json_t *doc_json_time(struct opt_f64 epoch);

/* v rounded to `precision` decimals (0..9; halves away from zero), or null
 * when not finite.  A negative precision keeps v as it is. */
json_t *doc_json_real(double v, int precision);
double doc_json_round(double v, int precision);

/* Decimals documents keep for percentages that are not in the field table
 * (per-engine utilisation), the same as the table's percentages. */
#define DOC_JSON_PCT_DECIMALS 2

/* Unknown-as-null wrappers for the model's optional values. */
json_t *doc_json_u64(struct opt_u64 o);
json_t *doc_json_i64(struct opt_i64 o);
json_t *doc_json_f64(struct opt_f64 o, int precision);
json_t *doc_json_bool(struct opt_i64 o);

/* The jansson dump flags every front end uses for a document: key order
 * kept, 15 significant digits for reals, indented by 2 or compact. */
size_t doc_json_dump_flags(bool compact);

/* root serialised exactly as json_dumps(root, doc_json_dump_flags(compact))
 * writes it, several times faster (json_dump.c).  Returns a string the
 * caller frees, its length (without the NUL) in *len when len is not NULL,
 * or NULL with errno ENOMEM. */
char *doc_json_dumps(const json_t *root, bool compact, size_t *len);

/* Writes root with doc_json_dump_flags and a newline to out, flushes, and
 * drops the reference.  Returns 0 or -errno. */
int doc_json_write(json_t *root, FILE *out, bool compact);

#endif
