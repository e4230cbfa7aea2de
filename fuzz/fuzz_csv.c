/* fuzz_csv.c - csv_read_record on arbitrary bytes: it must never read past
 * the length, always make progress, and what it accepts must re-read the
 * same after csv_write_record. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/csv.h"
#include "core/error.h"
#include "fuzz.h"

static void round_trip(const struct csv_record *rec)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return;
    int rc = csv_write_record(f, rec->fields, rec->count);
    fclose(f);
    if (rc == 0) {
        struct csv_reader r;
        struct csv_record back = {0};
        csv_reader_init(&r, buf, len);
        /* fields holding a NUL byte come back shorter; skip those */
        size_t total = 0;
        for (size_t i = 0; i < rec->count; i++)
            total += strlen(rec->fields[i]) + 1;
        if (total == rec->data_len && !(rec->count == 1 && !*rec->fields[0])) {
            if (csv_read_record(&r, &back) != 1 || back.count != rec->count)
                abort();
            for (size_t i = 0; i < rec->count; i++)
                if (strcmp(back.fields[i], rec->fields[i]) != 0)
                    abort();
        }
        csv_record_free(&back);
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct csv_reader r;
    struct csv_record rec = {0};
    csv_reader_init(&r, (const char *)data, size);
    for (;;) {
        size_t before = r.pos;
        int rc = csv_read_record(&r, &rec);
        if (rc == 0 || rc == -ENOMEM)
            break;
        if (r.pos <= before || r.pos > size)
            abort();
        if (rc == 1)
            round_trip(&rec);
    }
    csv_record_free(&rec);
    return 0;
}
