/* fuzz_audit_spool.c - audit_spool_parse (the spool of samples that
 * `gpuctl list` appends next to the audit database, store/audit_spool.c)
 * on arbitrary bytes.
 *
 * Besides memory errors, checks the parser's promises: every byte is
 * either part of a good record or reported bad, in order and without
 * overlap; a good record's rows carry its time and NUL-terminated strings;
 * and a good record encoded again decodes to the same sample.
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

struct walk {
    size_t next;             /* where the next record or bad run must start */
    size_t len;
};

static void check_sample(const struct audit_sample *s)
{
    for (size_t i = 0; i < s->gpu_count; i++) {
        CHECK(s->gpus[i].time_ms == s->time_ms);
        CHECK(strlen(s->gpus[i].uuid) < 1u << 30 && strlen(s->gpus[i].name) < 1u << 30);
    }
    for (size_t i = 0; i < s->proc_count; i++) {
        const struct audit_proc_record *p = &s->procs[i];
        CHECK(p->time_ms == s->time_ms);
        CHECK(strlen(p->user) + strlen(p->name) + strlen(p->cmdline) +
              strlen(p->container) < 1u << 30);
    }
}

static int reencode(struct audit_spool_record *again, size_t offset, void *arg)
{
    (void)offset;
    *(struct audit_spool_record *)arg = *again;
    return 0;
}

static int take(struct audit_spool_record *rec, size_t offset, void *arg)
{
    struct walk *w = arg;
    CHECK(offset == w->next);
    check_sample(&rec->sample);
    uint8_t *buf;
    size_t len;
    struct error e = {0};
    if (audit_spool_encode(&rec->sample, rec->interval_s, &buf, &len, &e) == 0) {
        struct audit_spool_record back = {0};
        CHECK(audit_spool_parse(buf, len, reencode, NULL, &back) == 0);
        CHECK(back.mem && back.sample.time_ms == rec->sample.time_ms);
        CHECK(back.sample.gpu_count == rec->sample.gpu_count);
        CHECK(back.sample.proc_count == rec->sample.proc_count);
        CHECK(back.interval_s == rec->interval_s);
        w->next = offset + len;     /* the encoding is canonical */
        audit_spool_record_clear(&back);
        free(buf);
    }
    audit_spool_record_clear(rec);
    return 0;
}

static void bad(size_t offset, size_t len, const char *why, void *arg)
{
    struct walk *w = arg;
    CHECK(why && offset == w->next && len > 0 && offset + len <= w->len);
    w->next = offset + len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct walk w = {.len = size};
    CHECK(audit_spool_parse(data, size, take, bad, &w) == 0);
    CHECK(w.next == size);
    return 0;
}
