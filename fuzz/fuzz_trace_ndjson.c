/* fuzz_trace_ndjson.c - the analyzer's trace line parser on any bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "trace/ndjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ndj_line l;
    ndj_line_init(&l);
    if (ndj_parse(&l, (const char *)data, size) == 0) {
        for (size_t i = 0; i < l.count; i++) {
            const struct ndj_field *f = &l.fields[i];
            (void)strlen(f->key);
            if (f->type == NDJ_STR)
                (void)strlen(f->str);
            for (size_t k = 0; f->type == NDJ_STR_ARRAY && k < f->count && k < NDJ_MAX_ITEMS; k++)
                (void)strlen(f->items[k]);
        }
        (void)ndj_str(&l, "type");
    }
    ndj_line_free(&l);
    return 0;
}
