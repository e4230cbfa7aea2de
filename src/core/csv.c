/* csv.c - the RFC 4180 record writer behind every --csv output, and the
 * reader that takes such files back (gpuctl plot).
 *
 * One record per call, written straight to a stdio stream; choosing the
 * columns, their header record and the text of unknown values is the
 * caller's (the CLI writes empty fields for unknowns, like JSON's null).
 * The reader walks a buffer and a length and copies each record's fields;
 * what the columns mean is left to its callers.
 */
#include "core/csv.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/grow.h"

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

/* ---- reading ------------------------------------------------------------------ */

void csv_reader_init(struct csv_reader *r, const char *buf, size_t len)
{
    r->buf = buf;
    r->len = len;
    r->pos = 0;
    r->line = 1;
}

static int rec_put(struct csv_record *rec, char c)
{
    if (rec->data_len == rec->data_cap &&
        grow_for_one((void **)&rec->data, &rec->data_cap, rec->data_len, 1, 256) < 0)
        return -ENOMEM;
    rec->data[rec->data_len++] = c;
    return 0;
}

/* Ends the current field: its NUL, and the start of the next one. */
static int rec_end_field(struct csv_record *rec)
{
    if (rec_put(rec, '\0') < 0)
        return -ENOMEM;
    if (grow_for_one((void **)&rec->offsets, &rec->fields_cap, rec->count + 1,
                     sizeof *rec->offsets, 16) < 0)
        return -ENOMEM;
    rec->count++;
    rec->offsets[rec->count] = rec->data_len;
    return 0;
}

/* Points fields[] into data once data no longer moves. */
static int rec_finish(struct csv_record *rec)
{
    const char **f = realloc(rec->fields, (rec->count ? rec->count : 1) * sizeof *f);
    if (!f)
        return -ENOMEM;
    rec->fields = f;
    for (size_t i = 0; i < rec->count; i++)
        f[i] = rec->data + rec->offsets[i];
    return 1;
}

static bool at_line_end(const struct csv_reader *r)
{
    return r->pos >= r->len || r->buf[r->pos] == '\n' || r->buf[r->pos] == '\r';
}

/* Steps over one line end (LF, CRLF or CR) if there is one. */
static void skip_line_end(struct csv_reader *r)
{
    if (r->pos < r->len && r->buf[r->pos] == '\r')
        r->pos++;
    else if (r->pos < r->len && r->buf[r->pos] == '\n') {
        r->pos++;
        r->line++;
        return;
    } else {
        return;
    }
    if (r->pos < r->len && r->buf[r->pos] == '\n')
        r->pos++;
    r->line++;
}

static int skip_rest_of_line(struct csv_reader *r)
{
    while (!at_line_end(r))
        r->pos++;
    skip_line_end(r);
    return -ERROR_PARSE;
}

/* A quoted field, from just after its opening quote to just after the
 * closing one. */
static int read_quoted(struct csv_reader *r, struct csv_record *rec)
{
    for (;;) {
        if (r->pos >= r->len)
            return -ERROR_PARSE;
        char c = r->buf[r->pos++];
        if (c == '"') {
            if (r->pos < r->len && r->buf[r->pos] == '"')
                r->pos++;
            else
                return 0;
        } else if (c == '\n' || (c == '\r' && (r->pos >= r->len || r->buf[r->pos] != '\n'))) {
            r->line++;
        }
        if (rec_put(rec, c) < 0)
            return -ENOMEM;
    }
}

static int read_field(struct csv_reader *r, struct csv_record *rec)
{
    if (r->pos < r->len && r->buf[r->pos] == '"') {
        r->pos++;
        int rc = read_quoted(r, rec);
        if (rc < 0)
            return rc;
        if (!at_line_end(r) && r->buf[r->pos] != ',')
            return -ERROR_PARSE;
        return 0;
    }
    while (!at_line_end(r) && r->buf[r->pos] != ',') {
        char c = r->buf[r->pos++];
        if (c == '"')
            return -ERROR_PARSE;
        if (rec_put(rec, c) < 0)
            return -ENOMEM;
    }
    return 0;
}

int csv_read_record(struct csv_reader *r, struct csv_record *rec)
{
    while (r->pos < r->len && (r->buf[r->pos] == '\n' || r->buf[r->pos] == '\r'))
        skip_line_end(r);
    rec->count = 0;
    rec->data_len = 0;
    rec->line = r->line;
    if (r->pos >= r->len)
        return 0;
    if (grow_for_one((void **)&rec->offsets, &rec->fields_cap, 0, sizeof *rec->offsets, 16) < 0)
        return -ENOMEM;
    rec->offsets[0] = 0;
    for (;;) {
        int rc = read_field(r, rec);
        if (rc == -ENOMEM)
            return rc;
        if (rc < 0)
            return skip_rest_of_line(r);
        if (rec_end_field(rec) < 0)
            return -ENOMEM;
        if (at_line_end(r))
            break;
        r->pos++;   /* the comma */
    }
    skip_line_end(r);
    return rec_finish(rec);
}

void csv_record_free(struct csv_record *rec)
{
    if (!rec)
        return;
    free(rec->fields);
    free(rec->data);
    free(rec->offsets);
    rec->fields = NULL;
    rec->data = NULL;
    rec->offsets = NULL;
    rec->count = rec->data_len = rec->data_cap = rec->fields_cap = 0;
}
