/* fuzz_snapshot_doc.c - doc_snapshot_decode_buffer on arbitrary bytes: it
 * must never crash or leak, and whatever it accepts must reach a fixed
 * point at once: the document built from it decodes, and builds to the
 * same document again. */
#include <stdlib.h>
#include <string.h>

#include "doc/json.h"
#include "doc/snapshot_doc.h"
#include "fuzz.h"

static char *build_text(const struct snapshot *s)
{
    struct error e = {0};
    struct doc_snapshot_request all = {.details = true, .containers = true,
                                       .schema_version = true};
    json_t *doc = doc_snapshot_build(s, &all, &e);
    if (!doc)
        return NULL;
    char *text = json_dumps(doc, doc_json_dump_flags(true));
    json_decref(doc);
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct snapshot *s = NULL, *again = NULL;
    struct error e = {0};
    if (doc_snapshot_decode_buffer((const char *)data, size, &s, &e) != 0) {
        if (s || !e.msg[0])
            abort();       /* a refusal says why and hands back nothing */
        return 0;
    }
    char *first = build_text(s);
    if (first) {
        if (doc_snapshot_decode_buffer(first, strlen(first), &again, &e) != 0)
            abort();       /* our own document must decode */
        char *second = build_text(again);
        if (second && strcmp(first, second) != 0)
            abort();
        free(second);
    }
    free(first);
    snapshot_free(again);
    snapshot_free(s);
    return 0;
}
