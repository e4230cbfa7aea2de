/* test_term.c - terminal detection (a pipe for "not a terminal", a pseudo
 * terminal where the system has openpty), colour rules, UTF-8 decoding,
 * display widths and sanitising. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<pty.h>)
#include <pty.h>
#define HAVE_OPENPTY 1
#endif
#endif

#include "core/term.h"

/* ---- not a terminal: a pipe ---------------------------------------------- */

struct pipe_fds {
    int fd[2];
};

static int pipe_setup(void **state)
{
    static struct pipe_fds p;
    if (pipe(p.fd) != 0)
        return -1;
    unsetenv("COLUMNS");
    unsetenv("NO_COLOR");
    setenv("TERM", "xterm-256color", 1);
    *state = &p;
    return 0;
}

static int pipe_teardown(void **state)
{
    struct pipe_fds *p = *state;
    close(p->fd[0]);
    close(p->fd[1]);
    return 0;
}

static void test_pipe_is_not_a_tty(void **state)
{
    struct pipe_fds *p = *state;
    assert_false(term_is_tty(p->fd[1]));
    assert_false(term_is_tty(-1));
}

static void test_pipe_width_comes_from_columns(void **state)
{
    struct pipe_fds *p = *state;
    assert_int_equal(term_width(p->fd[1]), 0);
    setenv("COLUMNS", "120", 1);
    assert_int_equal(term_width(p->fd[1]), 120);
    static const char *const bad[] = {"", "0", "-5", "abc", "80x", " 80", "70000",
                                      "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("COLUMNS", bad[i], 1);
        if (term_width(p->fd[1]) != 0)
            fail_msg("COLUMNS=\"%s\" was taken as a width", bad[i]);
    }
    unsetenv("COLUMNS");
}

static void test_pipe_never_gets_colour(void **state)
{
    struct pipe_fds *p = *state;
    assert_false(term_use_color(p->fd[1], true));
    assert_false(term_use_color(p->fd[1], false));
}

/* ---- a terminal: a pseudo terminal --------------------------------------- */

#ifdef HAVE_OPENPTY
struct pty_fds {
    int master, slave;
};

static int pty_setup(void **state)
{
    static struct pty_fds p;
    struct winsize ws = {.ws_row = 30, .ws_col = 97};
    unsetenv("COLUMNS");
    unsetenv("NO_COLOR");
    setenv("TERM", "xterm-256color", 1);
    /* A sandbox without /dev/pts has no terminals: those tests skip. */
    *state = openpty(&p.master, &p.slave, NULL, NULL, &ws) == 0 ? &p : NULL;
    return 0;
}

static int pty_teardown(void **state)
{
    struct pty_fds *p = *state;
    if (!p)
        return 0;
    close(p->slave);
    close(p->master);
    return 0;
}

static void test_pty_width_from_the_terminal(void **state)
{
    struct pty_fds *p = *state;
    if (!p)
        skip();
    assert_true(term_is_tty(p->slave));
    assert_int_equal(term_width(p->slave), 97);
    setenv("COLUMNS", "120", 1);
    assert_int_equal(term_width(p->slave), 97);   /* the terminal wins */

    struct winsize unknown = {.ws_row = 0, .ws_col = 0};
    assert_int_equal(ioctl(p->slave, TIOCSWINSZ, &unknown), 0);
    assert_int_equal(term_width(p->slave), 120);  /* size unknown: COLUMNS */
    unsetenv("COLUMNS");
    assert_int_equal(term_width(p->slave), 0);
    struct winsize back = {.ws_row = 30, .ws_col = 97};
    assert_int_equal(ioctl(p->slave, TIOCSWINSZ, &back), 0);
}

static void test_pty_colour_rules(void **state)
{
    struct pty_fds *p = *state;
    if (!p)
        skip();
    assert_true(term_use_color(p->slave, true));
    assert_false(term_use_color(p->slave, false));

    setenv("NO_COLOR", "1", 1);
    assert_false(term_use_color(p->slave, true));
    setenv("NO_COLOR", "0", 1);   /* any non-empty value counts */
    assert_false(term_use_color(p->slave, true));
    setenv("NO_COLOR", "", 1);    /* empty is the same as unset */
    assert_true(term_use_color(p->slave, true));
    unsetenv("NO_COLOR");

    setenv("TERM", "dumb", 1);
    assert_false(term_use_color(p->slave, true));
    setenv("TERM", "dumber", 1);
    assert_true(term_use_color(p->slave, true));
    unsetenv("TERM");
    assert_true(term_use_color(p->slave, true));
    setenv("TERM", "xterm-256color", 1);
}
#endif

/* ---- UTF-8 ---------------------------------------------------------------- */

static int width_of(const char *s)
{
    return term_display_width(s, strlen(s));
}

static void test_width_ascii_and_latin(void **state)
{
    (void)state;
    assert_int_equal(width_of(""), 0);
    assert_int_equal(width_of("abc"), 3);
    assert_int_equal(width_of("72°C"), 4);
    assert_int_equal(width_of("Müller"), 6);
    assert_int_equal(width_of("…"), 1);
    assert_int_equal(width_of("─│┌"), 3);
    assert_int_equal(term_display_width("abcdef", 2), 2);
}

static void test_width_wide(void **state)
{
    (void)state;
    assert_int_equal(width_of("日本語"), 6);
    assert_int_equal(width_of("한국"), 4);
    assert_int_equal(width_of("Ａ"), 2);          /* U+FF21 fullwidth */
    assert_int_equal(width_of("ｶ"), 1);          /* U+FF76 halfwidth */
    assert_int_equal(width_of("\u3000"), 2);     /* ideographic space */
    assert_int_equal(width_of("😀"), 2);          /* U+1F600 */
    assert_int_equal(width_of("\U00020000"), 2); /* CJK extension B */
    assert_int_equal(width_of("a日b"), 4);
}

static void test_width_zero(void **state)
{
    (void)state;
    assert_int_equal(width_of("e\u0301"), 1);      /* combining acute */
    assert_int_equal(width_of("\u200b"), 0);       /* zero width space */
    assert_int_equal(width_of("a\u200db"), 2);     /* zero width joiner */
    assert_int_equal(width_of("\ufe0f"), 0);       /* variation selector */
    assert_int_equal(width_of("\u1100\u1161"), 2); /* Hangul jamo L + V */
    assert_int_equal(width_of("\u00ad"), 1);       /* soft hyphen is visible */
}

static void test_width_controls_and_invalid(void **state)
{
    (void)state;
    assert_int_equal(width_of("\t\n\x1b"), 0);
    assert_int_equal(width_of("\x7f"), 0);
    assert_int_equal(width_of("\xc2\x85"), 0);         /* C1 NEL */
    assert_int_equal(term_display_width("a\0b", 3), 2); /* NUL is a control */
    assert_int_equal(width_of("\xff\xfe"), 2);
    assert_int_equal(width_of("\xe6\x97"), 2);         /* truncated 日 */
    assert_int_equal(width_of("\xe6\x97x"), 3);
    assert_int_equal(width_of("\xc0\xaf"), 2);         /* overlong '/' */
    assert_int_equal(width_of("\xe0\x80\xaf"), 3);     /* overlong, 3 bytes */
    assert_int_equal(width_of("\xed\xa0\x80"), 3);     /* surrogate */
    assert_int_equal(width_of("\xf4\x90\x80\x80"), 4); /* above U+10FFFF */
    assert_int_equal(width_of("\x80"), 1);             /* lone continuation */
}

static void test_decode(void **state)
{
    (void)state;
    uint32_t cp;
    assert_int_equal(term_utf8_decode("A", 1, &cp), 1);
    assert_int_equal(cp, 'A');
    assert_int_equal(term_utf8_decode("é", 2, &cp), 2);
    assert_int_equal(cp, 0xE9);
    assert_int_equal(term_utf8_decode("日", 3, &cp), 3);
    assert_int_equal(cp, 0x65E5);
    assert_int_equal(term_utf8_decode("\xf0\x9f\x98\x80", 4, &cp), 4);
    assert_int_equal(cp, 0x1F600);
    assert_int_equal(term_utf8_decode("\xf4\x8f\xbf\xbf", 4, &cp), 4);
    assert_int_equal(cp, 0x10FFFF);
    assert_int_equal(term_utf8_decode("日", 2, &cp), 1);  /* cut by len */
    assert_true(cp == TERM_INVALID_CODEPOINT);
    assert_int_equal(term_utf8_decode("\xf5\x80\x80\x80", 4, &cp), 1);
    assert_true(cp == TERM_INVALID_CODEPOINT);
}

static void check_sanitize(const char *in, size_t len, const char *want)
{
    char *out = term_sanitize(in, len);
    assert_non_null(out);
    assert_string_equal(out, want);
    free(out);
}

static void test_sanitize(void **state)
{
    (void)state;
    check_sanitize("python train.py", 15, "python train.py");
    check_sanitize("a\x1b[2Jb", 6, "a?[2Jb");
    check_sanitize("x\ty\n", 4, "x?y?");
    check_sanitize("\xff" "ok", 3, "?ok");
    check_sanitize("日本\u0301", 8, "日本\u0301");
    check_sanitize("\xc2\x9b" "31m", 5, "?31m");     /* C1 CSI */
    check_sanitize("a\u202eb\u2066c", 9, "a?b?c");  /* bidi override, isolate */
    check_sanitize("a\0b", 3, "a?b");
    check_sanitize("abc", 0, "");
}

int main(void)
{
    const struct CMUnitTest pipe_tests[] = {
        cmocka_unit_test(test_pipe_is_not_a_tty),
        cmocka_unit_test(test_pipe_width_comes_from_columns),
        cmocka_unit_test(test_pipe_never_gets_colour),
    };
    const struct CMUnitTest utf8_tests[] = {
        cmocka_unit_test(test_width_ascii_and_latin),
        cmocka_unit_test(test_width_wide),
        cmocka_unit_test(test_width_zero),
        cmocka_unit_test(test_width_controls_and_invalid),
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_sanitize),
    };
    int failed = cmocka_run_group_tests_name("pipe", pipe_tests, pipe_setup, pipe_teardown);
#ifdef HAVE_OPENPTY
    const struct CMUnitTest pty_tests[] = {
        cmocka_unit_test(test_pty_width_from_the_terminal),
        cmocka_unit_test(test_pty_colour_rules),
    };
    failed += cmocka_run_group_tests_name("pty", pty_tests, pty_setup, pty_teardown);
#endif
    failed += cmocka_run_group_tests_name("utf8", utf8_tests, NULL, NULL);
    return failed;
}
