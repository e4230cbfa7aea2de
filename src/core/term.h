/* term.h - what the terminal on a file descriptor can do.
 *
 * Colour only on a terminal, never when NO_COLOR is set (any non-empty
 * value) or TERM is "dumb", and never when configuration or a flag says no.
 *
 * Also the UTF-8 knowledge every text renderer needs: decoding, display
 * widths (East Asian wide and fullwidth characters take 2 columns,
 * combining marks and zero-width characters 0), and sanitising outside text
 * so it cannot drive the terminal.  None of it depends on setlocale().
 */
#ifndef GPUCTL_CORE_TERM_H
#define GPUCTL_CORE_TERM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool term_is_tty(int fd);

/* Columns of the terminal on fd; COLUMNS (if a positive integer) wins when
 * fd is not a terminal or its size cannot be read; 0 when unknown. */
int term_width(int fd);

/* allowed: config use_colors and no --no-color flag. */
bool term_use_color(int fd, bool allowed);

/* Display columns of a UTF-8 string (wide characters count 2, combining
 * marks 0, invalid bytes 1 each, control characters 0).  Independent of
 * the process locale. */
int term_display_width(const char *s, size_t len);

/* The code point term_utf8_decode reports for a byte that does not start a
 * well-formed UTF-8 sequence (overlong forms, surrogates, truncated
 * sequences and values above U+10FFFF included). */
#define TERM_INVALID_CODEPOINT UINT32_MAX

/* Decodes the character at the start of s (len > 0) into *cp and returns
 * its length in bytes, 1..4.  An invalid byte gives *cp =
 * TERM_INVALID_CODEPOINT and length 1, so callers always make progress. */
size_t term_utf8_decode(const char *s, size_t len, uint32_t *cp);

/* Display columns of one code point: 0, 1 or 2 (TERM_INVALID_CODEPOINT: 1,
 * the width of the replacement glyph terminals show). */
int term_codepoint_width(uint32_t cp);

/* True for characters that must never reach a terminal from outside data:
 * C0 and C1 controls, DEL, bidirectional overrides and isolates (which
 * reorder the text around them), and invalid bytes. */
bool term_is_unsafe(uint32_t cp);

/* A NUL-terminated copy of s (len bytes, need not be NUL-terminated) with
 * every unsafe character (see term_is_unsafe) replaced by '?'.  The result
 * is valid UTF-8.  Caller frees with free(); NULL on ENOMEM. */
char *term_sanitize(const char *s, size_t len);

#endif
