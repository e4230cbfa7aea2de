/* test_snapshot_ingest.c - the coordinator's one-pass decoder
 * (doc/snapshot_ingest.h) against the jansson-based one
 * (doc_snapshot_decode_buffer): on the simulated source's documents, on
 * each documented refusal, on edge cases of JSON, and on documents with
 * random bytes changed, both must accept and refuse alike, and what they
 * accept must give the same facts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/summary.h"
#include "core/snapshot.h"
#include "doc/json.h"
#include "doc/snapshot_doc.h"
#include "doc/snapshot_ingest.h"
#include "sources/simulated.h"

/* ------------------------------------------------------------ helpers */

/* The document an agent pushes for the simulated source's GPUSxPROCS:SEED. */
static char *simulated_document(unsigned gpus, unsigned procs, uint64_t seed)
{
    struct simulated_spec sp = {.gpus = gpus, .procs = procs, .seed = seed};
    simulated_configure(&sp);
    struct snapshot_ctx *ctx;
    struct snapshot *s = NULL;
    struct error e = {0};
    struct snapshot_options o = {.processes = true, .host_processes = true,
                                 .host_fields = ~0u};
    assert_int_equal(snapshot_ctx_open(&ctx, &e), 0);
    assert_int_equal(snapshot_take(ctx, &o, &s, &e), 0);
    struct doc_snapshot_request r = {.details = true, .containers = true,
                                     .schema_version = true};
    json_t *doc = doc_snapshot_build(s, &r, &e);
    assert_non_null(doc);
    char *text = json_dumps(doc, doc_json_dump_flags(true));
    json_decref(doc);
    snapshot_free(s);
    snapshot_ctx_close(ctx);
    simulated_configure(NULL);
    assert_non_null(text);
    return text;
}

static void assert_facts_equal(const struct cluster_node_facts *a,
                               const struct cluster_node_facts *b)
{
    assert_int_equal(a->gpu_count, b->gpu_count);
    for (size_t i = 0; i < a->gpu_count; i++) {
        const struct cluster_gpu_facts *x = &a->gpus[i], *y = &b->gpus[i];
        assert_int_equal(x->index, y->index);
        assert_string_equal(x->uuid, y->uuid);
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->mem_total_bytes.known, y->mem_total_bytes.known);
        assert_int_equal(x->mem_total_bytes.v, y->mem_total_bytes.v);
        assert_int_equal(x->mem_used_bytes.known, y->mem_used_bytes.known);
        assert_int_equal(x->mem_used_bytes.v, y->mem_used_bytes.v);
        assert_int_equal(x->util_pct.known, y->util_pct.known);
        assert_memory_equal(&x->util_pct.v, &y->util_pct.v, sizeof x->util_pct.v);
        assert_int_equal(x->power_mw.known, y->power_mw.known);
        assert_int_equal(x->power_mw.v, y->power_mw.v);
    }
    assert_int_equal(a->proc_count, b->proc_count);
    for (size_t i = 0; i < a->proc_count; i++) {
        const struct cluster_process_facts *x = &a->procs[i], *y = &b->procs[i];
        assert_int_equal(x->gpu_index, y->gpu_index);
        assert_int_equal(x->pid, y->pid);
        assert_int_equal(x->gpu_mem_bytes.known, y->gpu_mem_bytes.known);
        assert_int_equal(x->gpu_mem_bytes.v, y->gpu_mem_bytes.v);
        assert_int_equal(x->sm_pct.known, y->sm_pct.known);
        assert_memory_equal(&x->sm_pct.v, &y->sm_pct.v, sizeof x->sm_pct.v);
    }
    assert_int_equal(a->host_count, b->host_count);
    for (size_t i = 0; i < a->host_count; i++) {
        const struct cluster_host_facts *x = &a->hosts[i], *y = &b->hosts[i];
        assert_int_equal(x->pid, y->pid);
        assert_string_equal(x->user, y->user);
        assert_int_equal(x->uid.known, y->uid.known);
        assert_int_equal(x->uid.v, y->uid.v);
        assert_int_equal(x->elapsed_s.known, y->elapsed_s.known);
        assert_memory_equal(&x->elapsed_s.v, &y->elapsed_s.v, sizeof x->elapsed_s.v);
    }
}

/* Both decoders on text[0..len): 1 when both accept (and their facts
 * agree), 0 when both refuse (*msg: ingest's message); fails otherwise. */
static int both(const char *text, size_t len, char msg[512])
{
    struct snapshot *s = NULL;
    struct cluster_node_facts mine, theirs;
    struct error e1 = {0}, e2 = {0};
    int rc1 = doc_snapshot_decode_buffer(text, len, &s, &e1);
    int rc2 = doc_snapshot_ingest(text, len, &mine, &e2);
    if ((rc1 == 0) != (rc2 == 0))
        fail_msg("the decoders disagree on %.*s\njansson: %d %s\ningest: %d %s",
                 (int)(len < 300 ? len : 300), text, rc1, e1.msg, rc2, e2.msg);
    if (msg)
        memcpy(msg, e2.msg, sizeof e2.msg);
    if (rc1 < 0) {
        assert_int_equal(rc2, -ERROR_PARSE);
        assert_true(e2.msg[0] != '\0');
        assert_int_equal(mine.gpu_count + mine.proc_count + mine.host_count, 0);
        return 0;
    }
    assert_int_equal(cluster_node_facts_from_snapshot(&theirs, s, &e1), 0);
    assert_facts_equal(&mine, &theirs);
    cluster_node_facts_clear(&theirs);
    cluster_node_facts_clear(&mine);
    snapshot_free(s);
    return 1;
}

static int both_text(const char *text, char msg[512])
{
    return both(text, strlen(text), msg);
}

/* ------------------------------------------------------------ tests */

static void test_the_simulated_sources_documents_read_as_the_jansson_decoder_reads_them(
    void **state)
{
    (void)state;
    static const struct { unsigned gpus, procs; } specs[] = {{8, 32}, {8, 256}, {4, 100},
                                                            {1, 0}, {3, 7}};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        for (uint64_t seed = 1; seed <= 3; seed++) {
            char *text = simulated_document(specs[i].gpus, specs[i].procs, seed);
            assert_int_equal(both_text(text, NULL), 1);
            struct cluster_node_facts f;
            struct error e = {0};
            assert_int_equal(doc_snapshot_ingest(text, strlen(text), &f, &e), 0);
            assert_int_equal(f.gpu_count, specs[i].gpus);
            assert_int_equal(f.proc_count, specs[i].procs);
            cluster_node_facts_clear(&f);
            free(text);
        }
    }
}

static void test_each_documented_refusal_is_refused_by_both_naming_the_key(void **state)
{
    (void)state;
    static const struct { const char *doc, *says; } cases[] = {
        {"{\"gpus\": 7}", "byte 9: gpus: expected an array, got an integer"},
        {"[]", "expected a JSON object"},
        {"7", "'{' expected"},
        {"", "'{' expected"},
        {"  \n", "'{' expected"},
        {"{\"gpus\":[{\"gpu_index\":1},{\"gpu_index\":1}]}", "gpus[1].gpu_index: 1 after 1"},
        {"{\"gpus\":[{\"name\":\"x\"}]}", "gpus[0].gpu_index: expected an integer, got nothing"},
        {"{\"gpus\":[{\"gpu_index\":0,\"mem_used_mb\":-1}]}", "gpus[0].mem_used_mb: -1 is out"},
        {"{\"gpus\":[{\"gpu_index\":0,\"clocks\":5}]}", "gpus[0].clocks: expected an object"},
        {"{\"gpus\":[{\"gpu_index\":0,\"clocks\":{\"sm_mhz\":\"fast\"}}]}",
         "gpus[0].clocks.sm_mhz: expected an integer, got a string"},
        {"{\"gpus\":[{\"gpu_index\":0,\"power_w\":-1}]}", "gpus[0].power_w: expected a number"},
        {"{\"gpus\":[{\"gpu_index\":0,\"persistence_mode\":1}]}",
         "gpus[0].persistence_mode: expected true or false"},
        {"{\"gpus\":[{\"gpu_index\":0,\"mig_instances\":{}}]}",
         "gpus[0].mig_instances: expected an array"},
        {"{\"gpus\":[{\"gpu_index\":0,\"mig_instances\":[{\"gpu_instance_id\":1}]}]}",
         "gpus[0].mig_instances[0].compute_instance_id: expected an integer"},
        {"{\"gpus\":[3]}", "gpus[0]: expected an object"},
        {"{\"procs\":[{\"gpu_index\":0}]}", "procs[0].pid: expected an integer, got nothing"},
        {"{\"procs\":[{\"gpu_index\":0,\"pid\":1,\"type\":7}]}",
         "procs[0].type: expected a string, got an integer"},
        {"{\"procs\":[{\"gpu_index\":0,\"pid\":1,\"engines_pct\":{\"gfx\":\"x\"}}]}",
         "procs[0].engines_pct.gfx: expected a number"},
        {"{\"procs\":[{\"gpu_index\":0,\"pid\":1,\"engines_pct\":[]}]}",
         "procs[0].engines_pct: expected an object"},
        {"{\"procs\":[{\"gpu_index\":0,\"pid\":1,\"engines_pct\":{\"a\":1,\"b\":1,\"c\":1,"
         "\"d\":1,\"e\":1,\"f\":1,\"g\":1,\"h\":1,\"i\":1}}]}", "more than 8 engine classes"},
        {"{\"procs\":[{\"gpu_index\":0,\"pid\":1,\"host_visible\":true,\"uid\":\"root\"}]}",
         "procs[0].uid: expected an integer, got a string"},
        {"{\"procs\":[{\"gpu_index\":0,\"pid\":1,\"start_time\":\"today\"}]}",
         "procs[0].start_time: expected an RFC 3339 UTC time"},
        {"{\"procs\":[5]}", "procs[0]: expected an object"},
        {"{\"schema_version\":2}", "schema_version 2 is newer"},
        {"{\"schema_version\":0}", "schema_version: expected an integer from 1"},
        {"{\"ts\":\"yesterday\"}", "ts: expected an RFC 3339 UTC time"},
        {"{\"host\":5}", "host: expected a string"},
        {"{\"cuda_version\":12}", "cuda_version: expected a string"},
        {"{\"sources\":[{\"started\":true}]}", "sources[0].name: expected a string, got nothing"},
        {"{\"sources\":[{\"name\":\"nvml\",\"started\":null}]}",
         "sources[0].started: expected true or false"},
        {"{\"sources\":[{\"name\":\"nvml\",\"message\":1}]}", "sources[0].message"},
        {"{\"sources\":[{\"name\":\"a\"},{\"name\":\"a\"},{\"name\":\"a\"},{\"name\":\"a\"},"
         "{\"name\":\"a\"},{\"name\":\"a\"},{\"name\":\"a\"},{\"name\":\"a\"},{\"name\":\"a\"}]}",
         "sources: more than 8 entries"},
        {"{\"gpus\":[],\"gpus\":[]}", "duplicate object key"},
        {"{\"x\":{\"b\":1,\"b\":2}}", "duplicate object key"},
        {"{\"x\":{\"b\":1,\"\\u0062\":2}}", "duplicate object key"},
        {"{\"host\":\"a\"} x", "end of the document expected"},
        {"{\"host\":\"a\\u0000\"}", "invalid escape"},
        {"{\"host\":\"\\ud800\"}", "invalid escape"},
        {"{\"host\":\"\\udc00\\ud800\"}", "invalid escape"},
        {"{\"host\":\"\\q\"}", "invalid escape"},
        {"{\"host\":\"\xff\"}", "invalid UTF-8"},
        {"{\"host\":\"\xc0\xaf\"}", "invalid UTF-8"},
        {"{\"host\":\"\xed\xa0\x80\"}", "invalid UTF-8"},
        {"{\"host\":\"a\tb\"}", "control character"},
        {"{\"n\":01}", "leading zero"},
        {"{\"n\":1.}", "invalid number"},
        {"{\"n\":-}", "invalid number"},
        {"{\"n\":.5}", "invalid number"},
        {"{\"n\":1e}", "invalid number"},
        {"{\"n\":1e999}", "real number overflow"},
        {"{\"n\":99999999999999999999}", "too big integer"},
        {"{\"n\":-9223372036854775809}", "too big negative integer"},
        {"{\"n\":tru}", "invalid token"},
        {"{\"n\":1,}", "string or '}' expected"},
        {"{\"n\":[1,]}", "invalid number"},
        {"{\"n\" 1}", "':' expected"},
        {"{\"n\":1 \"m\":2}", "',' or '}' expected"},
        {"{\"n\":\"abc", "a string does not end"},
    };
    /* a NUL byte after the object is not the end of the document (libFuzzer) */
    static const char nul_after[] = "{}\0" "2\xa8\";\"";
    char nul_msg[512];
    assert_int_equal(both(nul_after, sizeof nul_after - 1, nul_msg), 0);
    assert_non_null(strstr(nul_msg, "byte 2: end of the document expected"));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char msg[512];
        if (both(cases[i].doc, strlen(cases[i].doc), msg) != 0)
            fail_msg("accepted: %s", cases[i].doc);
        if (cases[i].says && !strstr(msg, cases[i].says))
            fail_msg("%s: said \"%s\", not \"%s\"", cases[i].doc, msg, cases[i].says);
    }
}

/* The one difference: jansson skips a NUL byte right after a number or a
 * literal (it puts its look-ahead back as "nothing"); JSON has no such
 * byte, and a kept document must parse anywhere it is served. */
static void test_a_nul_byte_after_a_number_is_refused_though_jansson_skips_it(void **state)
{
    (void)state;
    static const char docs[][24] = {"{\"n\":12.5\0,\"m\":1}", "{\"n\":true\0}"};
    static const size_t lens[] = {17, 11};
    for (size_t i = 0; i < 2; i++) {
        struct snapshot *s = NULL;
        struct cluster_node_facts f;
        struct error e = {0};
        assert_int_equal(doc_snapshot_decode_buffer(docs[i], lens[i], &s, &e), 0);
        snapshot_free(s);
        assert_int_equal(doc_snapshot_ingest(docs[i], lens[i], &f, &e), -ERROR_PARSE);
        assert_non_null(strstr(e.msg, "expected"));
    }
}

static void test_what_both_accept_gives_the_same_facts(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "{}",
        " {\"gpus\":null,\"procs\":null,\"sources\":null,\"ts\":null,\"schema_version\":null} ",
        "{\"g\\u0070us\":[{\"gpu_index\":2,\"name\":\"caf\\u00e9 \\ud83d\\ude00\","
        "\"uuid\":\"GPU-1\",\"mem_total_mb\":1024,\"mem_used_mb\":10,\"util_pct\":1E1}]}",
        "{\"x\":[{\"y\":[[[{}]]]}, -0, 1.5e-3, true, false, null, \"\\\"\\\\\\/\\b\\f\\n\\r\\t\"],"
        "\"gpus\":[]}",
        /* host facts of a process not visible on its host are not read */
        "{\"procs\":[{\"gpu_index\":0,\"pid\":1,\"host_visible\":false,\"uid\":\"x\"}]}",
        /* without host_visible, any host field says there are host facts */
        "{\"procs\":[{\"gpu_index\":0,\"pid\":7,\"user\":\"bob\",\"elapsed_s\":12.5}]}",
        /* the table's later key of one slot wins, whatever the document's order */
        "{\"procs\":[{\"used_mem_bytes\":5,\"gpu_index\":0,\"pid\":1,\"used_mem_mb\":1}]}",
        "{\"procs\":[{\"gpu_index\":0,\"pid\":1,\"used_mem_mb\":1,\"used_mem_bytes\":null}]}",
        /* one pid on two GPUs: its first entry's host facts count */
        "{\"gpus\":[{\"gpu_index\":0},{\"gpu_index\":1}],\"procs\":["
        "{\"gpu_index\":0,\"pid\":9,\"user\":\"a\",\"uid\":1},"
        "{\"gpu_index\":1,\"pid\":9,\"user\":\"b\",\"uid\":2},"
        "{\"gpu_index\":1,\"pid\":3,\"uid\":5}]}",
        "{\"gpus\":[{\"gpu_index\":0,\"util_pct\":0.1,\"power_w\":1e15,\"clocks\":null,"
        "\"pcie\":{\"gen\":4,\"unknown\":[1]},\"vendor\":\"nobody\",\"pstate\":null,"
        "\"mig_instances\":[{\"gpu_instance_id\":1,\"compute_instance_id\":0}]}]}",
        "{\"procs\":[{\"gpu_index\":0,\"pid\":1,\"sm_pct\":12.345678901234567890,"
        "\"elapsed_s\":1.7976931348623157e308,\"cpu_pct\":4.9e-324,\"state\":\"\\u00e9\","
        "\"start_time\":\"2026-11-21T05:32:00.25Z\",\"engines_pct\":{\"gfx\":null,\"c\":3}}]}",
        "{\"n\":9223372036854775807,\"m\":-9223372036854775808,\"r\":1234567890123456789012.34}",
        "{\"host\":\"a-very-long-host-name-that-is-cut-at-a-character-boundary-\\u00e9\\u00e9"
        "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
        if (both_text(docs[i], NULL) != 1)
            fail_msg("refused: %s", docs[i]);
}

static void test_nesting_is_bounded_as_jansson_bounds_it(void **state)
{
    (void)state;
    for (size_t depth = 2046; depth <= 2050; depth++) {
        size_t len = 8 + 2 * depth + 2;
        char *doc = malloc(len + 1);
        assert_non_null(doc);
        size_t n = (size_t)sprintf(doc, "{\"x\":");
        memset(doc + n, '[', depth);
        n += depth;
        memset(doc + n, ']', depth);
        n += depth;
        doc[n++] = '}';
        both(doc, n, NULL);
        free(doc);
    }
}

static void test_an_object_of_hundreds_of_keys_still_finds_a_duplicate(void **state)
{
    (void)state;
    for (int dup = 0; dup < 2; dup++) {
        char *doc = malloc(16 * 1024);
        assert_non_null(doc);
        size_t n = (size_t)sprintf(doc, "{\"x\":{");
        for (int k = 0; k < 300; k++)
            n += (size_t)sprintf(doc + n, "%s\"key-%d\":%d", k ? "," : "", k, k);
        if (dup)
            n += (size_t)sprintf(doc + n, ",\"key-7\":0");
        n += (size_t)sprintf(doc + n, "},\"gpus\":[]}");
        char msg[512];
        assert_int_equal(both(doc, n, msg), !dup);
        if (dup)
            assert_non_null(strstr(msg, "duplicate object key"));
        free(doc);
    }
}

/* A tiny deterministic generator, so a failure repeats. */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void test_documents_with_bytes_changed_are_judged_alike(void **state)
{
    (void)state;
    char *text = simulated_document(2, 3, 11);
    size_t len = strlen(text);
    char *copy = malloc(len);
    assert_non_null(copy);
    static const char bytes[] = "{}[]:,\"\\0123456789-+.eEtrunfals \x01\xff\xc3";
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    size_t accepted = 0, runs = 3000;
    for (size_t run = 0; run < runs; run++) {
        memcpy(copy, text, len);
        size_t changes = 1 + next_random(&seed) % 3, cut = len;
        for (size_t k = 0; k < changes; k++)
            copy[next_random(&seed) % len] = bytes[next_random(&seed) % (sizeof bytes - 1)];
        if (next_random(&seed) % 8 == 0)
            cut = next_random(&seed) % len;
        accepted += (size_t)both(copy, cut, NULL);
    }
    /* some changes fall in values and keep the document valid */
    assert_true(accepted > 0 && accepted < runs);
    free(copy);
    free(text);
}

static void test_a_summary_of_ingested_facts_is_that_of_the_decoded_snapshot(void **state)
{
    (void)state;
    char *text = simulated_document(8, 64, 5);
    struct snapshot *s = NULL;
    struct cluster_node_facts f;
    struct cluster_summary a, b;
    struct cluster_thresholds t;
    struct error e = {0};
    cluster_thresholds_defaults(&t);
    t.idle_util_pct = 100;   /* every GPU holding memory counts as idle */
    t.idle_min_mem_bytes = 1;
    assert_int_equal(doc_snapshot_decode_buffer(text, strlen(text), &s, &e), 0);
    assert_int_equal(doc_snapshot_ingest(text, strlen(text), &f, &e), 0);
    assert_int_equal(cluster_summary_build(&a, s, NULL, 10, &t, &e), 0);
    assert_int_equal(cluster_summary_build_facts(&b, &f, NULL, 10, &t, &e), 0);
    assert_int_equal(a.gpu_count, b.gpu_count);
    assert_int_equal(a.holding_count, b.holding_count);
    assert_int_equal(a.user_count, b.user_count);
    assert_int_equal(a.pid_count, b.pid_count);
    assert_true(a.holding_count > 0);
    assert_memory_equal(a.pids, b.pids, a.pid_count * sizeof *a.pids);
    for (size_t i = 0; i < a.user_count; i++)
        assert_string_equal(a.users[i], b.users[i]);
    for (size_t i = 0; i < a.holding_count; i++) {
        assert_int_equal(a.holdings[i].user, b.holdings[i].user);
        assert_int_equal(a.holdings[i].mem_bytes, b.holdings[i].mem_bytes);
        assert_int_equal(a.holdings[i].pid_count, b.holdings[i].pid_count);
        assert_true(a.holdings[i].held_s == b.holdings[i].held_s);
    }
    for (size_t i = 0; i < a.gpu_count; i++) {
        assert_int_equal(a.gpus[i].held_bytes, b.gpus[i].held_bytes);
        assert_int_equal(a.gpus[i].idle_allocated_now, b.gpus[i].idle_allocated_now);
        assert_string_equal(a.gpus[i].uuid, b.gpus[i].uuid);
    }
    cluster_summary_clear(&a);
    cluster_summary_clear(&b);
    cluster_node_facts_clear(&f);
    snapshot_free(s);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_the_simulated_sources_documents_read_as_the_jansson_decoder_reads_them),
        cmocka_unit_test(test_each_documented_refusal_is_refused_by_both_naming_the_key),
        cmocka_unit_test(test_what_both_accept_gives_the_same_facts),
        cmocka_unit_test(test_a_nul_byte_after_a_number_is_refused_though_jansson_skips_it),
        cmocka_unit_test(test_nesting_is_bounded_as_jansson_bounds_it),
        cmocka_unit_test(test_an_object_of_hundreds_of_keys_still_finds_a_duplicate),
        cmocka_unit_test(test_documents_with_bytes_changed_are_judged_alike),
        cmocka_unit_test(test_a_summary_of_ingested_facts_is_that_of_the_decoded_snapshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
