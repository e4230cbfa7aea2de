/* test_audit_spool.c - the audit spool (store/audit.h): records encode and
 * decode to the same rows, a torn tail and a damaged record are skipped and
 * said with their offset while every good record is kept, a record that
 * claims more rows than it holds is refused before anything is allocated
 * for them, and a fold moves the records into the database exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/audit.h"

#define MIB (UINT64_C(1) << 20)
/* 2026-01-01T00:00:00Z */
#define T0 (INT64_C(1767225600000))

/* ---- records ----------------------------------------------------------- */

struct sample_rows {
    struct audit_gpu_record gpus[2];
    struct audit_proc_record procs[3];
    struct audit_sample s;
};

static void make_sample(struct sample_rows *r, int64_t t)
{
    memset(r, 0, sizeof *r);
    r->gpus[0] = (struct audit_gpu_record){.gpu_index = 0, .uuid = "GPU-0", .vendor = VENDOR_NVIDIA,
                                           .name = "NVIDIA H100"};
    OPT_SET(r->gpus[0].mem_used_bytes, 1000 * MIB);
    OPT_SET(r->gpus[0].mem_total_bytes, 80 * 1024 * MIB);
    OPT_SET(r->gpus[0].util_pct, 12.5);
    OPT_SET(r->gpus[0].temp_c, -3);
    r->gpus[1] = (struct audit_gpu_record){.gpu_index = 1, .uuid = "", .name = NULL};
    static const char *const users[] = {"alice", "", "bob"};
    for (int i = 0; i < 3; i++) {
        r->procs[i] = (struct audit_proc_record){.gpu_index = i % 2, .pid = 100 + i,
                                                 .user = users[i], .name = "python",
                                                 .cmdline = "python train.py --lr 0.1",
                                                 .container = i == 2 ? "docker:abc" : ""};
        OPT_SET(r->procs[i].gpu_mem_bytes, (uint64_t)(i + 1) * 256 * MIB);
        if (i != 1)
            OPT_SET(r->procs[i].sm_pct, 40.0 + i);
        OPT_SET(r->procs[i].start_time_s, 1767225000 + i);
    }
    r->s = (struct audit_sample){.time_ms = t, .host = "node-7", .gpus = r->gpus, .gpu_count = 2,
                                 .procs = r->procs, .proc_count = 3};
}

/* The records of a parse, and what was said bad. */
struct parsed {
    struct audit_spool_record recs[8];
    size_t offsets[8];
    size_t n;
    size_t bad_offset[8], bad_len[8];
    size_t bad;
};

static int take(struct audit_spool_record *rec, size_t offset, void *arg)
{
    struct parsed *p = arg;
    assert_true(p->n < 8);
    p->offsets[p->n] = offset;
    p->recs[p->n++] = *rec;
    return 0;
}

static void bad(size_t offset, size_t len, const char *why, void *arg)
{
    struct parsed *p = arg;
    assert_non_null(why);
    assert_true(p->bad < 8);
    p->bad_offset[p->bad] = offset;
    p->bad_len[p->bad++] = len;
}

static void parsed_clear(struct parsed *p)
{
    for (size_t i = 0; i < p->n; i++)
        audit_spool_record_clear(&p->recs[i]);
}

/* Three records back to back in one buffer; sizes[i] is record i's. */
static uint8_t *three_records(size_t *len, size_t sizes[3])
{
    uint8_t *buf = NULL;
    *len = 0;
    for (int i = 0; i < 3; i++) {
        struct sample_rows r;
        make_sample(&r, T0 + i * 1000);
        uint8_t *rec;
        struct error e = {0};
        assert_int_equal(audit_spool_encode(&r.s, (unsigned)i, &rec, &sizes[i], &e), 0);
        buf = realloc(buf, *len + sizes[i]);
        memcpy(buf + *len, rec, sizes[i]);
        *len += sizes[i];
        free(rec);
    }
    return buf;
}

static void test_a_record_decodes_to_the_rows_it_was_made_of(void **state)
{
    (void)state;
    struct sample_rows r;
    make_sample(&r, T0);
    uint8_t *rec;
    size_t len;
    struct error e = {0};
    assert_int_equal(audit_spool_encode(&r.s, 60, &rec, &len, &e), 0);
    struct parsed p = {0};
    assert_int_equal(audit_spool_parse(rec, len, take, bad, &p), 0);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.bad, 0);
    const struct audit_spool_record *d = &p.recs[0];
    assert_int_equal(d->interval_s, 60);
    assert_int_equal(d->sample.time_ms, T0);
    assert_string_equal(d->sample.host, "node-7");
    assert_int_equal(d->sample.gpu_count, 2);
    assert_int_equal(d->sample.proc_count, 3);
    const struct audit_gpu_record *g = &d->sample.gpus[0];
    assert_string_equal(g->uuid, "GPU-0");
    assert_string_equal(g->name, "NVIDIA H100");
    assert_int_equal(g->vendor, VENDOR_NVIDIA);
    assert_true(g->mem_used_bytes.known && g->mem_used_bytes.v == 1000 * MIB);
    assert_true(g->util_pct.known && g->util_pct.v == 12.5);
    assert_true(g->temp_c.known && g->temp_c.v == -3);
    assert_false(g->power_mw.known);                      /* unknown stays unknown */
    assert_string_equal(d->sample.gpus[1].name, "");     /* NULL is "" */
    assert_int_equal(d->sample.gpus[1].time_ms, T0);
    for (int i = 0; i < 3; i++) {
        const struct audit_proc_record *q = &d->sample.procs[i];
        assert_int_equal(q->pid, 100 + i);
        assert_int_equal(q->gpu_index, i % 2);
        assert_string_equal(q->user, r.procs[i].user);
        assert_string_equal(q->cmdline, "python train.py --lr 0.1");
        assert_string_equal(q->container, r.procs[i].container);
        assert_true(q->gpu_mem_bytes.v == (uint64_t)(i + 1) * 256 * MIB);
        assert_int_equal(q->sm_pct.known, i != 1);
        assert_true(q->start_time_s.known && q->start_time_s.v == 1767225000 + i);
        assert_string_equal(q->host, "node-7");
    }
    parsed_clear(&p);
    free(rec);
}

static void test_a_torn_tail_is_said_and_the_records_before_it_kept(void **state)
{
    (void)state;
    size_t len, sizes[3];
    uint8_t *buf = three_records(&len, sizes);
    /* cut anywhere inside the third record, header included */
    for (size_t cut = 1; cut < sizes[2]; cut += 7) {
        struct parsed p = {0};
        assert_int_equal(audit_spool_parse(buf, len - cut, take, bad, &p), 0);
        assert_int_equal(p.n, 2);
        assert_int_equal(p.recs[1].sample.time_ms, T0 + 1000);
        assert_int_equal(p.bad, 1);
        assert_int_equal(p.bad_offset[0], sizes[0] + sizes[1]);
        assert_int_equal(p.bad_len[0], sizes[2] - cut);
        parsed_clear(&p);
    }
    free(buf);
}

static void test_a_damaged_record_costs_only_itself(void **state)
{
    (void)state;
    size_t len, sizes[3];
    uint8_t *buf = three_records(&len, sizes);
    /* one flipped bit anywhere in the middle record: its header or payload */
    for (size_t at = 0; at < sizes[1]; at += 5) {
        buf[sizes[0] + at] ^= 0x10;
        struct parsed p = {0};
        assert_int_equal(audit_spool_parse(buf, len, take, bad, &p), 0);
        assert_int_equal(p.n, 2);
        assert_int_equal(p.recs[0].sample.time_ms, T0);
        assert_int_equal(p.recs[1].sample.time_ms, T0 + 2000);
        assert_int_equal(p.offsets[1], sizes[0] + sizes[1]);
        assert_int_equal(p.bad, 1);
        assert_int_equal(p.bad_offset[0], sizes[0]);
        assert_int_equal(p.bad_len[0], sizes[1]);
        parsed_clear(&p);
        buf[sizes[0] + at] ^= 0x10;
    }
    free(buf);
}

static void test_garbage_before_a_record_is_skipped_to_it(void **state)
{
    (void)state;
    size_t len, sizes[3];
    uint8_t *recs = three_records(&len, sizes);
    uint8_t *buf = malloc(len + 9);
    memcpy(buf, "GAS1GAxyz", 9);
    memcpy(buf + 9, recs, len);
    struct parsed p = {0};
    assert_int_equal(audit_spool_parse(buf, len + 9, take, bad, &p), 0);
    assert_int_equal(p.n, 3);
    assert_int_equal(p.bad, 1);
    assert_int_equal(p.bad_offset[0], 0);
    assert_int_equal(p.bad_len[0], 9);
    parsed_clear(&p);
    free(buf);
    free(recs);
}

/* Writes v little-endian at p. */
static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* CRC-32 as the spool computes it (zlib's). */
static uint32_t crc32_ref(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
}

static void test_a_record_claiming_more_rows_than_it_holds_is_refused(void **state)
{
    (void)state;
    /* a well-formed header and checksum around a payload that claims four
     * billion processes: refused as bad, not allocated for */
    uint8_t rec[12 + 8 + 4 + 4 + 4 + 4] = {'G', 'A', 'S', '1'};
    uint8_t *payload = rec + 12;
    size_t n = sizeof rec - 12;
    memset(payload, 0, n);
    put32(payload + 8 + 4 + 4 + 4, 0xFFFFFFFFu);     /* after time, interval, host "", gpus */
    put32(rec + 4, (uint32_t)n);
    put32(rec + 8, crc32_ref(payload, n));
    struct parsed p = {0};
    assert_int_equal(audit_spool_parse(rec, sizeof rec, take, bad, &p), 0);
    assert_int_equal(p.n, 0);
    assert_int_equal(p.bad, 1);
    /* the same with zero rows is a good, empty sample */
    put32(payload + 8 + 4 + 4 + 4, 0);
    put32(rec + 8, crc32_ref(payload, n));
    struct parsed q = {0};
    assert_int_equal(audit_spool_parse(rec, sizeof rec, take, bad, &q), 0);
    assert_int_equal(q.n, 1);
    assert_int_equal(q.bad, 0);
    assert_null(q.recs[0].sample.host);                 /* "" is this host */
    parsed_clear(&q);
}

/* ---- folding into a database ------------------------------------------- */

struct fixture {
    char dir[64];
    char path[128];
    char spool[160];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    strcpy(f->dir, "/tmp/test_audit_spool.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/audit.db", f->dir);
    snprintf(f->spool, sizeof f->spool, "%s-spool", f->path);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static void write_file(const char *path, const uint8_t *buf, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static off_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? sb.st_size : -1;
}

static int count_gpu0(const struct audit_gpu_record *r, void *arg)
{
    if (r->gpu_index == 0)
        ++*(size_t *)arg;
    return 0;
}

static size_t samples_in(const char *path)
{
    struct audit_db *db;
    struct error e = {0};
    assert_int_equal(audit_open(path, AUDIT_OPEN_READONLY, &db, &e), 0);
    struct audit_filter all = {.from_ms = 0, .to_ms = INT64_MAX};
    size_t n = 0;
    assert_int_equal(audit_query_gpus(db, &all, count_gpu0, &n, &e), 0);
    audit_close(db);
    return n;
}

static void test_opening_folds_the_spool_once_and_names_a_torn_tail(void **state)
{
    struct fixture *f = *state;
    struct audit_db *db;
    struct error e = {0};
    assert_int_equal(audit_open(f->path, 0, &db, &e), 0);   /* an empty database */
    audit_close(db);
    size_t len, sizes[3];
    uint8_t *buf = three_records(&len, sizes);
    write_file(f->spool, buf, len - 10);                     /* the third one torn */

    assert_true(audit_spool_pending(f->path));
    assert_int_equal(audit_open(f->path, 0, &db, &e), 0);
    char warning[512];
    assert_true(audit_take_warning(db, warning, sizeof warning));
    char offset[32];
    snprintf(offset, sizeof offset, "offset %zu", sizes[0] + sizes[1]);
    assert_non_null(strstr(warning, f->spool));
    assert_non_null(strstr(warning, offset));
    assert_false(audit_take_warning(db, warning, sizeof warning));   /* said once */
    audit_close(db);
    assert_int_equal(file_size(f->spool), 0);
    assert_false(audit_spool_pending(f->path));
    assert_int_equal(samples_in(f->path), 2);

    /* a folder that died after its commit, before emptying the spool: the
     * same records again are recognised and not stored twice */
    write_file(f->spool, buf, sizes[0] + sizes[1]);
    assert_int_equal(samples_in(f->path), 2);
    assert_int_equal(file_size(f->spool), 0);
    free(buf);
}

static void test_two_samples_of_one_millisecond_are_two_samples(void **state)
{
    /* two lists of one host sample in the same millisecond (likely when
     * several start at once): each record is a sample, and a later record
     * after them folds once too */
    struct fixture *f = *state;
    struct audit_db *db;
    struct error e = {0};
    assert_int_equal(audit_open(f->path, 0, &db, &e), 0);
    audit_close(db);
    struct sample_rows r;
    make_sample(&r, T0);
    uint8_t *rec;
    size_t n;
    assert_int_equal(audit_spool_encode(&r.s, 0, &rec, &n, &e), 0);
    uint8_t *two = malloc(2 * n);
    assert_non_null(two);
    memcpy(two, rec, n);
    memcpy(two + n, rec, n);
    write_file(f->spool, two, 2 * n);
    assert_int_equal(samples_in(f->path), 2);
    assert_int_equal(file_size(f->spool), 0);

    /* the next records, after a folder that died before emptying the
     * spool: what it stored is known by the database's mark, not by time */
    size_t len, sizes[3];
    uint8_t *buf = three_records(&len, sizes);
    uint8_t *more = malloc(2 * n + len);
    assert_non_null(more);
    memcpy(more, two, 2 * n);
    memcpy(more + 2 * n, buf, len);
    write_file(f->spool, more, 2 * n + len);
    assert_int_equal(samples_in(f->path), 5);
    free(more);
    free(buf);
    free(two);
    free(rec);
}

static void test_a_reader_sees_what_was_spooled_even_before_the_database_exists(void **state)
{
    struct fixture *f = *state;
    size_t len, sizes[3];
    uint8_t *buf = three_records(&len, sizes);
    write_file(f->spool, buf, len);
    /* readers go through audit_open: the fold creates the database */
    assert_int_equal(samples_in(f->path), 3);
    assert_int_equal(file_size(f->spool), 0);
    free(buf);
}

static void test_a_handle_kept_open_folds_before_each_query(void **state)
{
    struct fixture *f = *state;
    struct audit_db *w, *r;
    struct error e = {0};
    assert_int_equal(audit_open(f->path, 0, &w, &e), 0);
    audit_close(w);
    assert_int_equal(audit_open(f->path, AUDIT_OPEN_READONLY, &r, &e), 0);
    size_t len, sizes[3];
    uint8_t *buf = three_records(&len, sizes);
    write_file(f->spool, buf, sizes[0]);
    struct audit_filter all = {.from_ms = 0, .to_ms = INT64_MAX};
    size_t n = 0;
    assert_int_equal(audit_query_gpus(r, &all, count_gpu0, &n, &e), 0);
    assert_int_equal(n, 1);
    audit_close(r);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_record_decodes_to_the_rows_it_was_made_of),
        cmocka_unit_test(test_a_torn_tail_is_said_and_the_records_before_it_kept),
        cmocka_unit_test(test_a_damaged_record_costs_only_itself),
        cmocka_unit_test(test_garbage_before_a_record_is_skipped_to_it),
        cmocka_unit_test(test_a_record_claiming_more_rows_than_it_holds_is_refused),
        cmocka_unit_test_setup_teardown(test_opening_folds_the_spool_once_and_names_a_torn_tail,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_samples_of_one_millisecond_are_two_samples,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_reader_sees_what_was_spooled_even_before_the_database_exists, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_a_handle_kept_open_folds_before_each_query, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
