/* term.h - what the terminal on a file descriptor can do.
 *
 * Colour only on a terminal, never when NO_COLOR is set (any non-empty
 * value) or TERM is "dumb", and never when configuration or a flag says no.
 */
#ifndef GPUCTL_CORE_TERM_H
#define GPUCTL_CORE_TERM_H

#include <stdbool.h>

bool term_is_tty(int fd);

/* Columns of the terminal on fd; COLUMNS (if a positive integer) wins when
 * fd is not a terminal; 0 when unknown. */
int term_width(int fd);

/* allowed: config use_colors and no --no-color flag. */
bool term_use_color(int fd, bool allowed);

/* Display columns of a UTF-8 string (wide characters count 2, combining
 * marks 0, invalid bytes 1 each).  Independent of the process locale. */
int term_display_width(const char *s, size_t len);

#endif
