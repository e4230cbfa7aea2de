/* csv.c - the RFC 4180 record writer behind every --csv output.
 *
 * One record per call, written straight to a stdio stream; choosing the
 * columns, their header record and the text of unknown values is the
 * caller's (the CLI writes empty fields for unknowns, like JSON's null).
 */
#include "core/csv.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

static bool needs_quotes(const char *field)
{
    return field[strcspn(field, ",\"\r\n")] != '\0';
}

/* Writes the field quoted, each inner '"' doubled.  Returns false on error. */
static bool write_quoted(FILE *out, const char *field)
{
    if (fputc('"', out) == EOF)
        return false;
    for (const char *p = field; *p;) {
        size_t run = strcspn(p, "\"");
        if (run > 0 && fwrite(p, 1, run, out) != run)
            return false;
        p += run;
        if (*p == '"') {
            if (fputs("\"\"", out) == EOF)
                return false;
            p++;
        }
    }
    return fputc('"', out) != EOF;
}

static bool write_field(FILE *out, const char *field, bool alone)
{
    if (!field || !*field)
        return alone ? fputs("\"\"", out) != EOF : true;
    if (needs_quotes(field))
        return write_quoted(out, field);
    size_t len = strlen(field);
    return fwrite(field, 1, len, out) == len;
}

int csv_write_record(FILE *out, const char *const *fields, size_t count)
{
    errno = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < count; i++) {
        if (i > 0 && fputc(',', out) == EOF)
            ok = false;
        else
            ok = write_field(out, fields[i], count == 1);
    }
    if (ok)
        ok = fputs("\r\n", out) != EOF;
    if (!ok || ferror(out))
        return errno ? -errno : -EIO;
    return 0;
}
