/* fuzz_audit_jsonl.c - audit_jsonl_parse (one line of gpu-kill's
 * audit.jsonl, as `gpuctl audit import` reads it) and audit_json_array_next
 * (the elements of a JSON array file) on arbitrary bytes.
 *
 * Besides memory errors, checks the parser's promises: a refusal is
 * -ERROR_PARSE (or -ENOMEM) with a reason; an accepted record has its
 * fields within the ranges the parser enforces, and parsing the same bytes
 * again gives the same record.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "store/audit.h"

#define CHECK(cond)          \
    do {                     \
        if (!(cond))         \
            abort();         \
    } while (0)

static void check_record(const struct audit_jsonl_record *r)
{
    CHECK(r->gpu_index >= 0 && r->gpu_index <= 65535);
    CHECK(r->is_process == (r->pid > 0));
    CHECK(!r->util_pct.known || (r->util_pct.v >= 0 && r->util_pct.v <= 100));
    CHECK(!r->start_time_s.known || r->is_process);
    CHECK(!r->temp_c.known || !r->is_process);
    CHECK(!r->power_mw.known || !r->is_process);
    CHECK(memchr(r->user, '\0', sizeof r->user) != NULL);
    CHECK(memchr(r->process_name, '\0', sizeof r->process_name) != NULL);
    CHECK(memchr(r->host, '\0', sizeof r->host) != NULL);
}

/* Walks the bytes as a JSON array: every element lies inside the input,
 * each step moves forward, and the walk ends. */
static void walk_array(const char *buf, size_t size)
{
    size_t pos = 0, start, len;
    struct error e = {0};
    int rc;
    while ((rc = audit_json_array_next(buf, size, &pos, &start, &len, &e)) == 1) {
        CHECK(len > 0 && start + len <= size && pos == start + len);
    }
    CHECK(rc == 0 || (rc == -ERROR_PARSE && e.msg[0] != '\0' && pos <= size));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct audit_jsonl_record r, again;
    struct error e = {0};
    walk_array((const char *)data, size);
    int rc = audit_jsonl_parse((const char *)data, size, &r, &e);
    if (rc != 0) {
        CHECK(rc == -ERROR_PARSE || rc == -ENOMEM);
        CHECK(e.code == rc && e.msg[0] != '\0');
        audit_jsonl_record_clear(&r);
        return 0;
    }
    check_record(&r);
    CHECK(audit_jsonl_parse((const char *)data, size, &again, &e) == 0);
    CHECK(again.time_ms == r.time_ms && again.pid == r.pid && again.gpu_index == r.gpu_index);
    CHECK(again.mem_bytes.known == r.mem_bytes.known && again.mem_bytes.v == r.mem_bytes.v);
    CHECK((again.command == NULL) == (r.command == NULL));
    CHECK(!r.command || strcmp(again.command, r.command) == 0);
    audit_jsonl_record_clear(&r);
    audit_jsonl_record_clear(&again);
    return 0;
}
