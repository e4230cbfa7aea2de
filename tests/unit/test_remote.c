/* Unit tests of src/remote: host lists, the quoting of the remote command,
 * ssh's command line and what ssh's failures are read as. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "doc/audit_doc.h"
#include "remote/audit_merge.h"
#include "remote/hosts.h"
#include "remote/stream.h"
#include "remote/ssh.h"

static void parse_ok(const char *text, const char *user, const char *name, unsigned port)
{
    struct remote_host h;
    struct error e = {0};
    assert_int_equal(remote_host_parse(text, strlen(text), &h, &e), 0);
    if (user)
        assert_string_equal(h.user, user);
    else
        assert_null(h.user);
    assert_string_equal(h.name, name);
    assert_int_equal(h.port, port);
    assert_string_equal(h.label, text);
    remote_host_clear(&h);
}

static void parse_bad(const char *text, const char *why)
{
    struct remote_host h;
    struct error e = {0};
    assert_int_equal(remote_host_parse(text, strlen(text), &h, &e), -EINVAL);
    assert_non_null(strstr(e.msg, why));
    remote_host_clear(&h);
}

static void test_user_host_and_port_are_each_optional(void **state)
{
    (void)state;
    parse_ok("gpu1", NULL, "gpu1", 0);
    parse_ok("alice@gpu1", "alice", "gpu1", 0);
    parse_ok("gpu1.lab.example:2222", NULL, "gpu1.lab.example", 2222);
    parse_ok("bob@10.0.0.7:22", "bob", "10.0.0.7", 22);
}

static void test_ipv6_addresses_go_in_brackets(void **state)
{
    (void)state;
    parse_ok("[::1]", NULL, "::1", 0);
    parse_ok("root@[fe80::1%eth0]:2200", "root", "fe80::1%eth0", 2200);
    parse_bad("::1", "brackets");
    parse_bad("[::1", "without ']'");
    parse_bad("[::1]x", "':PORT'");
}

static void test_what_ssh_could_read_as_an_option_is_refused(void **state)
{
    (void)state;
    parse_bad("-oProxyCommand=x", "starts with '-'");
    parse_bad("-lroot@host", "user");
    parse_bad("host;reboot", "no host name has");
    parse_bad("a b", "no host name has");
    parse_bad("@host", "user is empty");
    parse_bad("host:0", "port");
    parse_bad("host:65536", "port");
    parse_bad("host:22x", "port");
}

static void test_hosts_file_skips_comments_and_blank_lines_and_names_the_bad_line(void **state)
{
    (void)state;
    const char *text = "# lab\n  gpu1  \n\nalice@gpu2:2222 # second\r\n# end";
    struct remote_host_list l = {0};
    struct error e = {0};
    assert_int_equal(remote_hosts_add_text(&l, text, strlen(text), "hosts", &e), 0);
    assert_int_equal(l.count, 2);
    assert_string_equal(l.hosts[0].label, "gpu1");
    assert_string_equal(l.hosts[1].user, "alice");
    assert_int_equal(l.hosts[1].port, 2222);
    const char *bad = "gpu1\n\nbad host\n";
    assert_int_equal(remote_hosts_add_text(&l, bad, strlen(bad), "hosts", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "hosts:3: host 'bad host'"));
    remote_hosts_clear(&l);
    remote_hosts_clear(NULL);
}

static void test_comma_list_refuses_an_empty_entry(void **state)
{
    (void)state;
    struct remote_host_list l = {0};
    struct error e = {0};
    assert_int_equal(remote_hosts_add_list(&l, "a,b", 3, "--remote", &e), 0);
    assert_int_equal(l.count, 2);
    assert_int_equal(remote_hosts_add_list(&l, "a,,b", 4, "--remote", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "--remote: an empty host name"));
    remote_hosts_clear(&l);
}

static void test_quoting_keeps_every_argument_one_word(void **state)
{
    (void)state;
    const char *words[] = {"gpuctl", "list", "--filter", "it's $(rm -rf ~); echo `x`", "",
                           "a b"};
    char *q = remote_shell_quote(words, 6);
    assert_string_equal(q, "gpuctl list --filter 'it'\\''s $(rm -rf ~); echo `x`' '' 'a b'");
    free(q);
}

static int count(char **argv, const char *word)
{
    int n = 0;
    for (; *argv; argv++)
        n += strcmp(*argv, word) == 0;
    return n;
}

static void test_ssh_argv_never_turns_host_key_checking_off(void **state)
{
    (void)state;
    struct remote_host h;
    struct error e = {0};
    assert_int_equal(remote_host_parse("gpu1:2222", 9, &h, &e), 0);
    struct remote_ssh_options o = {.user = "alice", .port = 22, .batch = true,
                                   .connect_timeout = 10, .control_dir = "/run/x",
                                   .config = "/etc/cfg", .identity = "/k"};
    char **argv;
    assert_int_equal(remote_ssh_argv(&o, &h, "gpuctl list --output json", &argv, &e), 0);
    assert_string_equal(argv[0], "ssh");
    assert_int_equal(count(argv, "-oBatchMode=yes"), 1);
    assert_int_equal(count(argv, "-p2222"), 1);          /* the host's port wins */
    assert_int_equal(count(argv, "-lalice"), 1);
    assert_int_equal(count(argv, "-F/etc/cfg"), 1);
    assert_int_equal(count(argv, "-i/k"), 1);
    assert_int_equal(count(argv, "-oControlMaster=auto"), 1);
    for (char **a = argv; *a; a++) {
        assert_null(strstr(*a, "StrictHostKeyChecking"));
        assert_null(strstr(*a, "UserKnownHostsFile"));
    }
    size_t n = 0;
    while (argv[n])
        n++;
    assert_string_equal(argv[n - 2], "gpu1");
    assert_string_equal(argv[n - 1], "gpuctl list --output json");
    remote_argv_free(argv);
    o.accept_new = true;
    o.password = true;
    assert_int_equal(remote_ssh_argv(&o, &h, "x", &argv, &e), 0);
    assert_int_equal(count(argv, "-oStrictHostKeyChecking=accept-new"), 1);
    assert_int_equal(count(argv, "-oBatchMode=yes"), 0);  /* it would forbid the password */
    assert_int_equal(count(argv, "-oNumberOfPasswordPrompts=1"), 1);
    remote_argv_free(argv);
    remote_argv_free(NULL);
    remote_host_clear(&h);
}

static enum remote_status classify(int code, const char *err, char *msg)
{
    return remote_classify(code << 8, false, err, strlen(err), msg, 256);
}

static void test_ssh_failures_are_named(void **state)
{
    (void)state;
    char msg[256];
    assert_int_equal(classify(0, "", msg), REMOTE_OK);
    assert_string_equal(msg, "");
    assert_int_equal(classify(255, "ssh: connect to host h port 22: Connection refused\n", msg),
                     REMOTE_UNREACHABLE);
    assert_string_equal(msg, "unreachable: ssh: connect to host h port 22: Connection refused");
    assert_int_equal(classify(255, "@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!"
                              "     @\nHost key verification failed.\n", msg),
                     REMOTE_HOST_KEY_CHANGED);
    assert_int_equal(classify(255, "No ED25519 host key is known for h and you have requested "
                              "strict checking.\nHost key verification failed.\n", msg),
                     REMOTE_HOST_KEY_UNKNOWN);
    assert_int_equal(classify(255, "root@h: Permission denied (publickey).\n", msg),
                     REMOTE_AUTH_FAILED);
    assert_int_equal(classify(127, "sh: 1: gpuctl: not found\n", msg), REMOTE_NOT_FOUND);
    assert_int_equal(classify(3, "gpuctl: nothing was signalled\nWarning: x\n", msg),
                     REMOTE_FAILED);
    assert_string_equal(msg, "gpuctl: nothing was signalled");
    assert_int_equal(remote_classify(0, true, "", 0, msg, sizeof msg), REMOTE_TIMEOUT);
    assert_string_equal(remote_status_name(REMOTE_HOST_KEY_CHANGED), "host_key_changed");
}

/* A summary of one host: a user and a GPU, one busy hour. */
static struct audit_summary *summary_of(const char *user, uint64_t rows, double gib_hours,
                                        uint64_t peak, int64_t hour_ms, double util)
{
    struct audit_summary *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->from_ms = 1000;
    s->to_ms = hour_ms + 3600000;
    s->samples = rows;
    s->proc_rows = rows;
    s->gpu_rows = rows;
    s->first_ms = (struct opt_u64){.known = true, .v = 5000};
    s->users = calloc(1, sizeof *s->users);
    s->users[0] = (struct audit_usage){.key = strdup(user), .rows = rows,
                                       .gpu_mem_gib_hours = gib_hours,
                                       .peak_mem_bytes = {.known = true, .v = peak}};
    s->user_count = 1;
    s->processes = calloc(1, sizeof *s->processes);
    s->processes[0] = (struct audit_usage){.key = strdup("python3"), .rows = rows};
    s->process_count = 1;
    s->gpus = calloc(1, sizeof *s->gpus);
    s->gpus[0] = (struct audit_gpu_usage){.host = strdup("node"), .uuid = strdup("GPU-1"),
                                          .name = strdup("H100"), .rows = rows,
                                          .util_avg_pct = {.known = true, .v = util}};
    s->gpu_count = 1;
    for (int h = 0; h < 24; h++)
        s->hours[h].hour = h;
    s->hours[6] = (struct audit_hour_bin){.hour = 6, .proc_rows = rows,
                                          .gpu_mem_gib_hours = gib_hours,
                                          .util_avg_pct = {.known = true, .v = util}};
    s->busiest = calloc(1, sizeof *s->busiest);
    s->busiest[0] = (struct audit_period){.start_ms = hour_ms, .end_ms = hour_ms + 3600000,
                                          .proc_rows = rows, .gpu_mem_gib_hours = gib_hours,
                                          .util_avg_pct = {.known = true, .v = util}};
    s->busiest_count = 1;
    return s;
}

static void test_merged_summary_adds_up_users_and_labels_gpus_by_host(void **state)
{
    (void)state;
    struct audit_summary *a = summary_of("alice", 3, 2.0, 100, 7200000, 10);
    struct audit_summary *b = summary_of("alice", 1, 1.0, 300, 7200000, 50);
    struct audit_summary *c = summary_of("bob", 2, 5.0, 200, 10800000, 20);
    const struct audit_summary *parts[] = {a, b, c};
    const char *labels[] = {"gpu1", "gpu2", "gpu3"};
    struct audit_summary *m;
    struct error e = {0};
    assert_int_equal(remote_audit_merge(parts, labels, 3, 10, &m, &e), 0);
    assert_int_equal(m->samples, 6);
    assert_int_equal(m->user_count, 2);
    assert_string_equal(m->users[0].key, "bob");            /* most GiB-hours first */
    assert_string_equal(m->users[1].key, "alice");
    assert_int_equal(m->users[1].rows, 4);
    assert_true(m->users[1].gpu_mem_gib_hours == 3.0);
    assert_int_equal(m->users[1].peak_mem_bytes.v, 300);
    assert_int_equal(m->process_count, 1);
    assert_int_equal(m->processes[0].rows, 6);
    assert_int_equal(m->gpu_count, 3);
    assert_string_equal(m->gpus[2].host, "gpu3");
    assert_int_equal(m->hours[6].proc_rows, 6);
    /* util weighted by GPU samples: (10*3 + 50*1 + 20*2) / 6 */
    assert_true(m->hours[6].util_avg_pct.known && m->hours[6].util_avg_pct.v == 20.0);
    assert_int_equal(m->busiest_count, 2);
    assert_int_equal(m->busiest[0].start_ms, 10800000);     /* bob's 5 GiB-h hour */
    assert_int_equal(m->busiest[1].proc_rows, 4);
    assert_true(m->busiest[1].util_avg_pct.v == 20.0);      /* (10*3 + 50*1) / 4 */
    audit_summary_free(m);
    assert_int_equal(remote_audit_merge(parts, labels, 3, 1, &m, &e), 0);
    assert_int_equal(m->user_count, 1);
    assert_int_equal(m->busiest_count, 1);
    audit_summary_free(m);
    audit_summary_free(a);
    audit_summary_free(b);
    audit_summary_free(c);
}

static void test_audit_summary_document_survives_the_round_trip(void **state)
{
    (void)state;
    struct audit_summary *s = summary_of("alice", 3, 2.5, 100, 7200000, 10);
    s->from_ms = -(INT64_C(1) << 62);
    struct error e = {0};
    json_t *doc = doc_audit_summary_build(s, &e);
    assert_non_null(doc);
    struct audit_summary *back;
    assert_int_equal(doc_audit_summary_decode(doc, &back, &e), 0);
    json_t *again = doc_audit_summary_build(back, &e);
    assert_true(json_equal(doc, again));
    json_decref(again);
    audit_summary_free(back);
    /* an older gpuctl without a key: unknown, not an error */
    json_object_del(json_object_get(doc, "top_users") ? json_array_get(
                        json_object_get(doc, "top_users"), 0) : doc, "peak_memory_bytes");
    assert_int_equal(doc_audit_summary_decode(doc, &back, &e), 0);
    assert_false(back->users[0].peak_mem_bytes.known);
    audit_summary_free(back);
    json_object_set_new(json_array_get(json_object_get(doc, "gpus"), 0), "rows",
                        json_string("many"));
    assert_int_equal(doc_audit_summary_decode(doc, &back, &e), -ERROR_PARSE);
    assert_non_null(strstr(e.msg, "gpus[0].rows: expected a whole number"));
    json_decref(doc);
    audit_summary_free(s);
}

struct lines {
    char text[256];
    size_t count;
};

static int collect(void *ctx, size_t host, const char *line, size_t len)
{
    struct lines *l = ctx;
    size_t at = strlen(l->text);
    snprintf(l->text + at, sizeof l->text - at, "%zu:%.*s|", host, (int)len, line);
    l->count++;
    return 0;
}

static void test_stream_joins_split_lines_and_ends_silent_hosts_at_their_deadline(void **state)
{
    (void)state;
    char *talker[] = {"sh", "-c", "printf 'a\\nb'; sleep 0.1; printf 'c\\nlast\\n'; exit 3",
                      NULL};
    char *silent[] = {"sleep", "30", NULL};
    char *missing[] = {"/nonexistent/ssh", NULL};
    struct remote_stream_host hosts[3] = {{.argv = talker}, {.argv = silent},
                                          {.argv = missing}};
    struct remote_stream *s;
    struct error e = {0};
    struct lines got = {0};
    assert_int_equal(remote_stream_open(&s, hosts, 3, NULL, 0.5, &e), 0);
    assert_true(hosts[2].ended && hosts[2].spawn_error == ENOENT);
    for (int i = 0; i < 200 && remote_stream_running(s) > 0; i++)
        assert_int_equal(remote_stream_poll(s, 100, collect, &got, &e), 0);
    assert_int_equal(remote_stream_running(s), 0);
    assert_string_equal(got.text, "0:a|0:bc|0:last|");
    assert_true(WIFEXITED(hosts[0].wait_status) && WEXITSTATUS(hosts[0].wait_status) == 3);
    assert_false(hosts[0].timed_out);
    assert_true(hosts[1].timed_out);
    remote_stream_close(s);
    remote_stream_close(NULL);
    for (int i = 0; i < 3; i++)
        remote_stream_host_clear(&hosts[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_user_host_and_port_are_each_optional),
        cmocka_unit_test(test_ipv6_addresses_go_in_brackets),
        cmocka_unit_test(test_what_ssh_could_read_as_an_option_is_refused),
        cmocka_unit_test(test_hosts_file_skips_comments_and_blank_lines_and_names_the_bad_line),
        cmocka_unit_test(test_comma_list_refuses_an_empty_entry),
        cmocka_unit_test(test_quoting_keeps_every_argument_one_word),
        cmocka_unit_test(test_ssh_argv_never_turns_host_key_checking_off),
        cmocka_unit_test(test_ssh_failures_are_named),
        cmocka_unit_test(test_merged_summary_adds_up_users_and_labels_gpus_by_host),
        cmocka_unit_test(test_audit_summary_document_survives_the_round_trip),
        cmocka_unit_test(test_stream_joins_split_lines_and_ends_silent_hosts_at_their_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
