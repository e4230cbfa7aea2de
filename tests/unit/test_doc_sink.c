/* test_doc_sink.c - the snapshot document written straight as text
 * (doc_snapshot_dumps_view, doc/sink.h's text sink) is the same bytes as the
 * tree that doc_snapshot_build_view builds, serialised by doc_json_dumps and
 * by jansson's own json_dumps: on the simulated source's snapshots of
 * several seeds and sizes, and on those snapshots made hostile (MIG
 * instances, unknown values, reals that are not short decimals or not
 * finite, control bytes, quotes, backslashes, invalid UTF-8, very long
 * command lines, stale marks, repeated engine names), indented and
 * compact, under every request flag the list command uses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fields.h"
#include "core/snapshot.h"
#include "doc/json.h"
#include "doc/sink.h"
#include "doc/snapshot_doc.h"
#include "sources/simulated.h"

/* ------------------------------------------------------------ helpers */

static struct snapshot *simulated_snapshot(unsigned gpus, unsigned procs, uint64_t seed)
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
    snapshot_ctx_close(ctx);
    simulated_configure(NULL);
    return s;
}

/* A small generator of its own, so the cases repeat. */
static uint64_t next(uint64_t *state)
{
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return *state >> 33;
}

static bool chance(uint64_t *state, unsigned percent)
{
    return next(state) % 100 < percent;
}

static const double odd_reals[] = {
    NAN, INFINITY, -INFINITY, 0.1 + 0.2, 1e-7, -0.0, 1e20, 123456789.123456789,
    2.5e-5, 99.995, -41.125, 1.0 / 3.0, 4503599627370497.0,
};

static const char *const hostile_texts[] = {
    "", "plain", "quote \" and backslash \\ and slash /", "ctl \x01\x02\x1f\x7f tab\tnl\n",
    "bad \xff\xfe utf8 \xc3", "half \xe2\x82", "caf\xc3\xa9 \xf0\x9f\x98\x80 ok",
    "\xed\xa0\x80 surrogate", "\xc0\xaf overlong", "{\"json\": [1, 2]}",
};

/* Field f of rec made unknown, odd or hostile, by its kind. */
static void spoil_field(const struct field_def *f, void *rec, uint64_t *rng)
{
    void *p = fields_slot(f, rec);
    switch (f->kind) {
    case FIELD_U64:
        ((struct opt_u64 *)p)->known = chance(rng, 50);
        if (chance(rng, 10))
            ((struct opt_u64 *)p)->v = UINT64_MAX - next(rng) % 3;
        break;
    case FIELD_I64:
    case FIELD_BOOL:
        ((struct opt_i64 *)p)->known = chance(rng, 50);
        if (chance(rng, 10))
            ((struct opt_i64 *)p)->v = -(int64_t)(next(rng) % 5);
        break;
    case FIELD_F64:
        ((struct opt_f64 *)p)->known = chance(rng, 60);
        ((struct opt_f64 *)p)->v = odd_reals[next(rng) % (sizeof odd_reals / sizeof *odd_reals)];
        break;
    case FIELD_STR:
        snprintf(p, f->size, "%s",
                 hostile_texts[next(rng) % (sizeof hostile_texts / sizeof *hostile_texts)]);
        break;
    case FIELD_CHAR:
        *(char *)p = (char)(chance(rng, 50) ? 0 : next(rng) % 256);
        break;
    case FIELD_INT:
        if (f->json == FIELD_JSON_NAME && chance(rng, 20))
            *(int *)p = chance(rng, 50) ? -1 : 1000;
        break;
    case FIELD_STRPTR:   /* owned: command lines are spoiled by spoil_process */
    case FIELD_UINT:
        break;
    }
}

static void spoil_record(enum field_scope scope, void *rec, uint64_t *rng)
{
    size_t count;
    const struct field_def *t = fields_all(&count);
    for (size_t i = 0; i < count; i++)
        if (t[i].scope == scope && chance(rng, 30))
            spoil_field(&t[i], rec, rng);
}

static void add_migs(struct device *d, size_t n, uint64_t *rng)
{
    d->migs = calloc(n, sizeof *d->migs);
    assert_non_null(d->migs);
    d->mig_count = n;
    for (size_t i = 0; i < n; i++) {
        d->migs[i].gpu_instance_id = (unsigned)i + 1;
        snprintf(d->migs[i].uuid, sizeof d->migs[i].uuid, "MIG-%zu", i);
        OPT_SET(d->migs[i].mem_total_bytes, 40000ull << 20);
        spoil_record(FIELD_MIG, &d->migs[i], rng);
    }
}

/* A very long command line of hostile pieces. */
static char *long_cmdline(uint64_t *rng)
{
    size_t cap = 70000, len = 0;
    char *c = malloc(cap);
    assert_non_null(c);
    while (len + 64 < cap) {
        const char *piece = hostile_texts[next(rng) % (sizeof hostile_texts /
                                                        sizeof *hostile_texts)];
        len += (size_t)snprintf(c + len, cap - len, "%s ", piece);
    }
    return c;
}

static void spoil_process(struct snapshot *s, size_t i, uint64_t *rng)
{
    struct gpu_process *gp = &s->gprocs[i];
    spoil_record(FIELD_GPU_PROCESS, gp, rng);
    if (chance(rng, 20)) {
        gp->engine_count = 3;
        const char *names[] = {"gfx", chance(rng, 50) ? "gfx" : "compute", "vcn \"x\""};
        for (size_t k = 0; k < 3; k++) {
            snprintf(gp->engines[k].name, sizeof gp->engines[k].name, "%s", names[k]);
            gp->engine_pct[k] = (struct opt_f64){.v = 10.0 * (double)k + 0.125,
                                                 .known = k != 1};
        }
    }
    struct host_process *hp = (struct host_process *)snapshot_host_process(s, gp->pid);
    if (!hp)
        return;
    spoil_record(FIELD_HOST_PROCESS, hp, rng);
    hp->exists = !chance(rng, 10);
    hp->container.kind = (enum container_kind)(next(rng) % 7);
    snprintf(hp->container.id, sizeof hp->container.id, "%s", chance(rng, 50) ? "3f2a1b2c3d4e5f"
                                                                              : "ctl\x01\xff");
    if (chance(rng, 30)) {
        free(hp->cmdline);
        hp->cmdline = chance(rng, 30) ? NULL : long_cmdline(rng);
    }
}

/* s with a share of everything spoiled, chosen by seed. */
static void spoil(struct snapshot *s, uint64_t seed)
{
    uint64_t rng = seed;
    spoil_record(FIELD_HOST, &s->host, &rng);
    snprintf(s->driver_version, sizeof s->driver_version, "%s",
             hostile_texts[seed % (sizeof hostile_texts / sizeof *hostile_texts)]);
    for (size_t i = 0; i < s->device_count; i++) {
        spoil_record(FIELD_DEVICE, &s->devices[i], &rng);
        if (chance(&rng, 40))
            add_migs(&s->devices[i], 1 + next(&rng) % 4, &rng);
    }
    for (size_t i = 0; i < s->gproc_count; i++)
        if (chance(&rng, 40))
            spoil_process(s, i, &rng);
}

/* The text sink's bytes against the tree's under both serialisers. */
static void check_same_text(const struct snapshot *s, const struct doc_snapshot_request *r,
                            bool compact)
{
    struct doc_snapshot_view v;
    struct error e = {0};
    assert_int_equal(doc_snapshot_view_init(&v, s, r, &e), 0);
    json_t *tree = doc_snapshot_build_view(&v, &e);
    assert_non_null(tree);
    size_t want_len = 0, got_len = 0;
    char *want = doc_json_dumps(tree, compact, &want_len);
    char *jansson = json_dumps(tree, doc_json_dump_flags(compact));
    char *got = doc_snapshot_dumps_view(&v, compact, &got_len, &e);
    assert_non_null(want);
    assert_non_null(got);
    assert_int_equal(got_len, want_len);
    assert_string_equal(got, want);
    assert_string_equal(got, jansson);
    free(want);
    free(jansson);
    free(got);
    json_decref(tree);
    doc_snapshot_view_clear(&v);
}

/* Every request flag list uses, indented and compact. */
static void check_every_request(const struct snapshot *s)
{
    bool *stale = calloc(s->device_count + 1, sizeof *stale);
    assert_non_null(stale);
    for (size_t i = 0; i < s->device_count; i++)
        stale[i] = i % 3 == 1;
    for (unsigned mask = 0; mask < 16; mask++) {
        struct doc_snapshot_request r = {
            .details = mask & 1, .containers = mask & 2, .schema_version = mask & 4,
            .device_stale = mask & 8 ? stale : NULL,
        };
        check_same_text(s, &r, false);
        check_same_text(s, &r, true);
    }
    free(stale);
}

/* ------------------------------------------------------------ tests */

static void test_text_equals_the_tree_on_simulated_snapshots(void **state)
{
    (void)state;
    static const struct { unsigned gpus, procs; } sizes[] = {{1, 0}, {2, 5}, {8, 256}, {3, 40}};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        for (uint64_t seed = 1; seed <= 3; seed++) {
            struct snapshot *s = simulated_snapshot(sizes[i].gpus, sizes[i].procs, seed);
            check_every_request(s);
            snapshot_free(s);
        }
    }
}

static void test_text_equals_the_tree_on_hostile_snapshots(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 12; seed++) {
        struct snapshot *s = simulated_snapshot(1 + (unsigned)(seed % 4), 6 * (unsigned)seed,
                                                seed);
        spoil(s, seed * 7919);
        check_every_request(s);
        snapshot_free(s);
    }
}

static void test_text_equals_the_tree_with_nothing_known(void **state)
{
    (void)state;
    struct snapshot *s = calloc(1, sizeof *s);
    assert_non_null(s);
    check_every_request(s);
    s->device_count = 1;
    s->devices = calloc(1, sizeof *s->devices);
    assert_non_null(s->devices);
    check_every_request(s);
    snapshot_free(s);
}

static void test_engine_name_not_utf8_fails_both_forms_alike(void **state)
{
    (void)state;
    struct snapshot *s = simulated_snapshot(1, 1, 5);
    assert_true(s->gproc_count >= 1);
    s->gprocs[0].engine_count = 1;
    snprintf(s->gprocs[0].engines[0].name, sizeof s->gprocs[0].engines[0].name, "gfx\xff");
    struct doc_snapshot_request r = {.details = true};
    struct doc_snapshot_view v;
    struct error e = {0};
    assert_int_equal(doc_snapshot_view_init(&v, s, &r, &e), 0);
    assert_null(doc_snapshot_build_view(&v, &e));
    assert_int_equal(e.code, -ENOMEM);
    e = (struct error){0};
    size_t len = 0;
    assert_null(doc_snapshot_dumps_view(&v, false, &len, &e));
    assert_int_equal(e.code, -ENOMEM);
    doc_snapshot_view_clear(&v);
    snapshot_free(s);
}

/* The sinks themselves: nesting, empty containers, and misuse. */
static void emit_sample(struct doc_sink *sk)
{
    doc_sink_object(sk, NULL);
    doc_sink_array(sk, "empty_array");
    doc_sink_close(sk);
    doc_sink_object(sk, "empty_object");
    doc_sink_close(sk);
    doc_sink_array(sk, "nested");
    doc_sink_array(sk, NULL);
    doc_sink_integer(sk, NULL, -9223372036854775807ll - 1);
    doc_sink_real(sk, NULL, 0.58, 2);
    doc_sink_real(sk, NULL, NAN, 2);
    doc_sink_close(sk);
    doc_sink_str(sk, NULL, "");
    doc_sink_stringn(sk, NULL, "a\0b", 3);
    doc_sink_close(sk);
    doc_sink_bool(sk, "t", true);
    doc_sink_close(sk);
}

static void test_sinks_agree_on_nesting_and_empty_containers(void **state)
{
    (void)state;
    for (int compact = 0; compact < 2; compact++) {
        struct doc_tree_sink t;
        struct doc_text_sink x;
        struct error e = {0};
        doc_tree_sink_init(&t);
        doc_text_sink_init(&x, compact);
        emit_sample(&t.base);
        emit_sample(&x.base);
        json_t *tree = doc_tree_sink_finish(&t, &e);
        assert_non_null(tree);
        char *want = json_dumps(tree, doc_json_dump_flags(compact));
        char *got = doc_text_sink_finish(&x, NULL, &e);
        assert_non_null(got);
        assert_string_equal(got, want);
        free(want);
        free(got);
        json_decref(tree);
    }
}

static void test_unbalanced_or_misplaced_values_fail_both_sinks(void **state)
{
    (void)state;
    struct doc_tree_sink t;
    struct doc_text_sink x;
    struct error e = {0};
    doc_tree_sink_init(&t);
    doc_text_sink_init(&x, false);
    doc_sink_object(&t.base, NULL);   /* never closed */
    doc_sink_object(&x.base, NULL);
    assert_null(doc_tree_sink_finish(&t, &e));
    assert_null(doc_text_sink_finish(&x, NULL, &e));

    doc_tree_sink_init(&t);
    doc_text_sink_init(&x, false);
    doc_sink_array(&t.base, NULL);    /* a key inside an array */
    doc_sink_array(&x.base, NULL);
    doc_sink_null(&t.base, "k");
    doc_sink_null(&x.base, "k");
    doc_sink_close(&t.base);
    doc_sink_close(&x.base);
    assert_null(doc_tree_sink_finish(&t, &e));
    assert_null(doc_text_sink_finish(&x, NULL, &e));
}

static void test_write_view_ends_the_text_with_a_newline(void **state)
{
    (void)state;
    struct snapshot *s = simulated_snapshot(2, 4, 9);
    struct doc_snapshot_request r = {.details = true};
    struct doc_snapshot_view v;
    struct error e = {0};
    assert_int_equal(doc_snapshot_view_init(&v, s, &r, &e), 0);
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    assert_non_null(f);
    assert_int_equal(doc_snapshot_write_view(&v, f, true, &e), 0);
    assert_int_equal(fclose(f), 0);
    size_t len = 0;
    char *text = doc_snapshot_dumps_view(&v, true, &len, &e);
    assert_int_equal(size, len + 1);
    assert_memory_equal(buf, text, len);
    assert_int_equal(buf[len], '\n');
    free(text);
    free(buf);
    doc_snapshot_view_clear(&v);
    snapshot_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_equals_the_tree_on_simulated_snapshots),
        cmocka_unit_test(test_text_equals_the_tree_on_hostile_snapshots),
        cmocka_unit_test(test_text_equals_the_tree_with_nothing_known),
        cmocka_unit_test(test_engine_name_not_utf8_fails_both_forms_alike),
        cmocka_unit_test(test_sinks_agree_on_nesting_and_empty_containers),
        cmocka_unit_test(test_unbalanced_or_misplaced_values_fail_both_sinks),
        cmocka_unit_test(test_write_view_ends_the_text_with_a_newline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
