/* csv.h - writing and reading RFC 4180 CSV.
 *
 * Fields containing a comma, quote, CR or LF are quoted with inner quotes
 * doubled; records end in CRLF as the RFC says.  Text is written as given
 * (no escaping of leading '=' or '+' for spreadsheets: the data stays
 * exact, and importing it safely is the reader's choice).
 */
#ifndef GPUCTL_CORE_CSV_H
#define GPUCTL_CORE_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* NULL fields are written empty.  A record of one empty field is written
 * as "" so that it is not a blank line, which many readers skip.  Returns
 * 0 or -errno on a write error; like any stdio output, a failure that is
 * still in out's buffer shows up at the caller's fflush or fclose. */
int csv_write_record(FILE *out, const char *const *fields, size_t count);

/* Reading: a cursor over a buffer and its length (no NUL needed).  Records
 * end in LF, CRLF or a lone CR; a field may be quoted, with "" for a quote,
 * and a quoted field may hold separators and line ends.  Blank lines are
 * skipped.  A final record without a line end is still a record. */
struct csv_reader {
    const char *buf;
    size_t len;
    size_t pos;
    size_t line;            /* 1-based line where the next record starts */
};

/* One record.  fields[i] are NUL-terminated copies (a NUL byte inside a
 * field is kept, so a field may look shorter than it is); owned by the
 * record and valid until the next csv_read_record on it. */
struct csv_record {
    const char **fields;
    size_t count;
    size_t line;            /* line the record started on */
    char *data;             /* storage behind fields */
    size_t data_len, data_cap;
    size_t *offsets;
    size_t fields_cap;
};

void csv_reader_init(struct csv_reader *r, const char *buf, size_t len);

/* Reads the next record into rec (zero-initialise it before the first
 * call).  Returns 1 for a record, 0 at the end of the input, -ERROR_PARSE
 * for a malformed one (a quote inside an unquoted field, text after a
 * closing quote, a quote never closed), which is skipped to the end of its
 * line so the caller may carry on; rec->line names where it started.
 * -ENOMEM when out of memory. */
int csv_read_record(struct csv_reader *r, struct csv_record *rec);

/* Frees rec's storage (not rec itself); accepts a zeroed record. */
void csv_record_free(struct csv_record *rec);

#endif
