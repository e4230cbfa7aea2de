/* Fuzz target: a remote host's audit summary document (JSON text) decoded
 * and merged, as `gpuctl --remote HOSTS audit --summary` does with it. */
#include <jansson.h>

#include "doc/audit_doc.h"
#include "fuzz.h"
#include "remote/audit_merge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = json_loadb((const char *)data, size, 0, NULL);
    struct audit_summary *s = NULL, *m = NULL;
    struct error e = {0};
    if (doc && doc_audit_summary_decode(doc, &s, &e) == 0) {
        const struct audit_summary *parts[] = {s, s};
        const char *labels[] = {"a", "b"};
        if (remote_audit_merge(parts, labels, 2, 3, &m, &e) == 0 && m->user_count > 3)
            __builtin_trap();
        audit_summary_free(m);
    }
    audit_summary_free(s);
    json_decref(doc);
    return 0;
}
