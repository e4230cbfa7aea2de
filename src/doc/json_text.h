/* json_text.h - the token writers of json_dump.c, for code in src/doc that
 * writes JSON text without a jansson tree (sink.c's text sink).  Each
 * writes its token exactly as jansson's json_dumps does with
 * doc_json_dump_flags; what goes between tokens (commas, colons, the
 * indentation) is the caller's.
 *
 * A failed allocation sets `failed`; every later call does nothing, and
 * doc_text_finish then returns NULL.
 */
#ifndef GPUCTL_DOC_JSON_TEXT_H
#define GPUCTL_DOC_JSON_TEXT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct doc_text {
    char *buf;
    size_t len, cap;
    bool failed;
};

void doc_text_put(struct doc_text *o, const char *s, size_t n);
void doc_text_char(struct doc_text *o, char c);
/* A newline and depth * 2 spaces, or nothing when compact. */
void doc_text_indent(struct doc_text *o, bool compact, size_t depth);
/* s[0..n), quoted and escaped (s must be valid UTF-8: it is not checked). */
void doc_text_string(struct doc_text *o, const char *s, size_t n);
void doc_text_integer(struct doc_text *o, json_int_t v);
/* A finite real, as jansson writes it with 15 significant digits. */
void doc_text_real(struct doc_text *o, double v);

/* The text written, NUL-terminated (the caller frees it), its length in
 * *len when len is not NULL; NULL with errno ENOMEM when an allocation
 * failed.  Either way o is left empty. */
char *doc_text_finish(struct doc_text *o, size_t *len);

#endif
