/* error.c - filling struct error records.
 *
 * Formatting only; choosing what to print and which exit code to use is the
 * CLI's job (src/cli/exitcode.c).
 */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int error_set(struct error *e, int code, const char *fmt, ...)
{
    if (!e)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->code = code;
    return code;
}

void error_prefix(struct error *e, const char *fmt, ...)
{
    if (!e)
        return;
    char joined[2 * ERROR_MSG_MAX + 2];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(joined, ERROR_MSG_MAX, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t at = strlen(joined);
    memcpy(joined + at, ": ", 2);
    memcpy(joined + at + 2, e->msg, strnlen(e->msg, ERROR_MSG_MAX - 1) + 1);
    /* Truncation keeps the start, which names the object. */
    size_t len = strnlen(joined, sizeof e->msg - 1);
    memcpy(e->msg, joined, len);
    e->msg[len] = '\0';
}

void error_clear(struct error *e)
{
    if (!e)
        return;
    e->code = 0;
    e->msg[0] = '\0';
}
