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

#include "remote/hosts.h"
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
