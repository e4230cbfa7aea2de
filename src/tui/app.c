/* app.c - the terminal side of `gpuctl top`: ncursesw set-up and teardown,
 * colours and themes, the event loop (keys, mouse, resize, frames from the
 * sampling thread, SIGTERM/SIGINT), copying canvases to the screen, and
 * the --once text frame.  Everything drawn comes from view.c and friends.
 *
 * The loop never waits on the driver: it polls stdin and the feed's pipe
 * with a short timeout, so a key is answered at once even while a
 * snapshot takes seconds.  Signal flags are the only globals (documented
 * exception: a signal handler can do nothing else).
 */
#include "tui/tui.h"

#include <curses.h>
#include <term.h>
#include <termios.h>
#include <errno.h>
#include <langinfo.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/snapshot.h"
#include "core/sampler.h"
#include "core/term.h"
#include "tui/view.h"

static volatile sig_atomic_t quit_signal;

static void on_quit_signal(int sig)
{
    quit_signal = sig;
}

/* What a crash (a fault or an abort in any thread, the sampling thread's
 * included) needs to hand the terminal back: the shell's tty modes and the
 * terminal's own strings to leave the alternate screen, show the cursor
 * and stop mouse reports.  Filled before the handlers are installed and
 * only read by them (documented exception to "no global state": a signal
 * handler reaches nothing else). */
static struct termios crash_tty;
static bool crash_tty_saved;
static char crash_seq[512];
static size_t crash_seq_len;

static void on_crash_signal(int sig)
{
    /* async-signal-safe only: tcsetattr, write, raise */
    if (crash_tty_saved)
        (void)tcsetattr(STDIN_FILENO, TCSANOW, &crash_tty);
    if (crash_seq_len)
        (void)!write(STDOUT_FILENO, crash_seq, crash_seq_len);
    raise(sig);          /* SA_RESETHAND: the default action, a core as before */
}

static void crash_seq_add(const char *s)
{
    if (!s || s == (const char *)-1)
        return;
    size_t n = strlen(s);
    if (crash_seq_len + n < sizeof crash_seq) {
        memcpy(crash_seq + crash_seq_len, s, n);
        crash_seq_len += n;
    }
}

static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define NCRASH (sizeof crash_signals / sizeof crash_signals[0])

static void install_crash_handlers(bool mouse, struct sigaction old[NCRASH])
{
    crash_seq_len = 0;
    if (mouse)
        crash_seq_add("\033[?1000l\033[?1006l");
    crash_seq_add(tigetstr("sgr0"));
    crash_seq_add(tigetstr("cnorm"));
    crash_seq_add(tigetstr("rmkx"));
    /* a blank screen first, as the normal exit leaves it: where there is
     * no alternate screen no frame stays behind */
    crash_seq_add(tigetstr("clear"));
    crash_seq_add(tigetstr("rmcup"));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_crash_signal;
    sa.sa_flags = SA_RESETHAND | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < NCRASH; i++)
        sigaction(crash_signals[i], &sa, &old[i]);
}

static void restore_crash_handlers(const struct sigaction old[NCRASH])
{
    for (size_t i = 0; i < NCRASH; i++)
        sigaction(crash_signals[i], &old[i], NULL);
    crash_tty_saved = false;
    crash_seq_len = 0;
}

/* ---- colours ------------------------------------------------------------------------- */

struct palette {
    attr_t attr[ST_COUNT];
};

static void make_palette(struct palette *p, bool color, bool light)
{
    memset(p, 0, sizeof *p);
    p->attr[ST_DIM] = A_DIM;
    p->attr[ST_BOLD] = A_BOLD;
    p->attr[ST_TITLE] = A_BOLD;
    p->attr[ST_TABLE_HEAD] = A_REVERSE;
    p->attr[ST_SELECTED] = A_REVERSE | A_BOLD;
    p->attr[ST_TAGGED] = A_BOLD | A_UNDERLINE;
    p->attr[ST_WARN] = A_BOLD;
    if (!color || !has_colors() || start_color() == ERR)
        return;
    use_default_colors();
    /* light backgrounds: darker foregrounds (blue, magenta) that stay readable */
    short low = COLOR_GREEN, mid = light ? COLOR_MAGENTA : COLOR_YELLOW, high = COLOR_RED;
    short title = light ? COLOR_BLUE : COLOR_CYAN, graph = light ? COLOR_BLUE : COLOR_CYAN;
    init_pair(1, low, -1);
    init_pair(2, mid, -1);
    init_pair(3, high, -1);
    init_pair(4, title, -1);
    init_pair(5, graph, -1);
    init_pair(6, COLOR_BLACK, light ? COLOR_CYAN : COLOR_CYAN);
    p->attr[ST_LOW] = COLOR_PAIR(1);
    p->attr[ST_MID] = COLOR_PAIR(2);
    p->attr[ST_HIGH] = COLOR_PAIR(3) | A_BOLD;
    p->attr[ST_TITLE] = COLOR_PAIR(4) | A_BOLD;
    p->attr[ST_GRAPH] = COLOR_PAIR(5);
    p->attr[ST_WARN] = COLOR_PAIR(3) | A_BOLD;
    p->attr[ST_TABLE_HEAD] = COLOR_PAIR(6);
    p->attr[ST_TAGGED] = COLOR_PAIR(2) | A_BOLD;
}

/* ---- copying a canvas to the screen -------------------------------------------------- */

static void flush_canvas(const struct canvas *c, const struct palette *p)
{
    char buf[8192];
    for (int y = 0; y < c->h; y++) {
        int x = 0;
        while (x < c->w) {
            uint8_t st = c->cells[(size_t)y * (size_t)c->w + (size_t)x].style;
            int start = x;
            size_t len = 0;
            while (x < c->w && c->cells[(size_t)y * (size_t)c->w + (size_t)x].style == st) {
                const char *ch = c->cells[(size_t)y * (size_t)c->w + (size_t)x].ch;
                size_t n = strlen(ch);
                if (len + n < sizeof buf) {
                    memcpy(buf + len, ch, n);
                    len += n;
                }
                x++;
            }
            buf[len] = '\0';
            attrset(p->attr[st]);
            /* Every cell, the bottom-right one included: left out, it kept
             * what an earlier screen put there.  ncurses writes that corner
             * without scrolling; addstr then reports ERR only because the
             * cursor cannot move past it, so the result is not an error. */
            (void)mvaddstr(y, start, buf);
        }
    }
    attrset(A_NORMAL);
}

/* ---- the event loop ------------------------------------------------------------------ */

static int read_key(void)
{
    int key = getch();
    if (key != 27)
        return key;
    /* Alt-x arrives as ESC x; a lone ESC is the Esc key (input is
     * non-blocking here: drain_keys set timeout(0)) */
    int next = getch();
    if (next == ERR)
        return 27;
    /* only a printable character makes an Alt key: Esc and then a function
     * key (Esc End, Esc Esc) are two keys, the second kept for next time */
    if (next < 0x20 || next >= 0x7f) {
        (void)ungetch(next);   /* ERR only when the queue is full: the key is lost */
        return 27;
    }
    return VIEW_KEY_ALT(next);
}

static void handle_mouse(struct view *v)
{
    MEVENT ev;
    if (getmouse(&ev) != OK)
        return;
    bool shift = (ev.bstate & BUTTON_SHIFT) != 0;
    if (ev.bstate & BUTTON4_PRESSED)
        keys_mouse(v, ev.y, ev.x, false, -1, shift);
    else if (ev.bstate & (BUTTON5_PRESSED))
        keys_mouse(v, ev.y, ev.x, false, 1, shift);
    else if (ev.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON1_RELEASED))
        keys_mouse(v, ev.y, ev.x, true, 0, false);
}

/* Alt-x comes as one key (VIEW_KEY_ALT), never as Esc and then x: an Esc
 * that is followed within the escape delay belongs to the next key. */
static void drain_keys(struct view *v)
{
    timeout(0);
    int key;
    while (!v->quit && (key = read_key()) != ERR) {
        if (key == KEY_MOUSE)
            handle_mouse(v);
        else
            keys_handle(v, key);
    }
}

static int draw(struct view *v, struct canvas *c, const struct palette *p)
{
    int h, w;
    getmaxyx(stdscr, h, w);
    if (w != c->w || h != c->h) {
        canvas_free(c);
        if (canvas_init(c, w, h, v->opt->ascii) < 0)
            return -ENOMEM;
        clearok(curscr, TRUE);
    }
    struct feed_status st;
    if (v->source)
        v->source->status(v->source->ctx, &st);
    else
        feed_status(v->feed, &st);
    view_draw(v, c, &st);
    if (v->redraw) {
        clearok(curscr, TRUE);
        v->redraw = false;
    }
    flush_canvas(c, p);
    refresh();
    return 0;
}

/* q is not the only way out: SIGTERM, SIGINT (from kill: Ctrl-C is a key
 * here), SIGHUP (the terminal closed) and SIGQUIT all end the loop, so the
 * one teardown in tui_run restores the terminal for each. */
static const int quit_signals[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT};
#define NQUIT (sizeof quit_signals / sizeof quit_signals[0])

static void install_signals(struct sigaction old[NQUIT])
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_quit_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < NQUIT; i++)
        sigaction(quit_signals[i], &sa, &old[i]);
}

static void restore_signals(const struct sigaction old[NQUIT])
{
    for (size_t i = 0; i < NQUIT; i++)
        sigaction(quit_signals[i], &old[i], NULL);
}

/* Ctrl-C reaches the monitor as a key (nvitop's SIGINT-to-the-selection):
 * the interrupt character is switched off in the program's tty modes,
 * Ctrl-Z still suspends.  def_prog_mode keeps it across a suspend. */
static void ctrl_c_as_key(void)
{
    struct termios t;
    if (tcgetattr(STDIN_FILENO, &t) < 0)
        return;
    t.c_cc[VINTR] = _POSIX_VDISABLE;
    if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0)
        def_prog_mode();
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Draws after a frame or a key, and otherwise once a second for the clock
 * and the stale mark: an idle monitor costs one sample per interval and
 * one redraw per second. */
static int loop(struct view *v)
{
    struct canvas c = {0};
    struct palette pal;
    make_palette(&pal, v->opt->color, v->opt->light);
    int rc = 0;
    bool dirty = true;
    double drawn = 0;
    while (!v->quit && !quit_signal && rc == 0) {
        double now = now_s();
        if (dirty || now - drawn >= 1.0) {
            rc = draw(v, &c, &pal);
            drawn = now;
            dirty = false;
        }
        int frames_fd = v->source ? v->source->fd(v->source->ctx) : feed_sub_fd(v->sub);
        struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
                                {.fd = frames_fd, .events = POLLIN}};
        int wait_ms = (int)((drawn + 1.0 - now_s()) * 1000) + 1;
        int n = poll(fds, 2, wait_ms > 0 ? wait_ms : 0);
        if (n < 0 && errno != EINTR) {
            rc = -errno;
            break;
        }
        if (n < 0) {
            drain_keys(v);           /* SIGWINCH: ncurses queues KEY_RESIZE */
            dirty = true;
            continue;
        }
        if (fds[1].revents & POLLIN) {
            struct feed_frame *fr = v->source ? v->source->take(v->source->ctx)
                                              : feed_sub_take(v->sub);
            if (fr && v->source && v->source->nodes)
                v->nodes = v->source->nodes(v->source->ctx);   /* those of fr */
            if (fr)
                view_accept_frame(v, fr);
            dirty = true;
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            drain_keys(v);
            dirty = true;
        }
        if (fds[0].revents & (POLLHUP | POLLERR))
            v->quit = true;          /* the terminal went away */
    }
    canvas_free(&c);
    return rc;
}

/* The monitor's own feed: identities cached (the owner and command line
 * of a process are read once, not every second), ancestors with the tree. */
static int start_feed(struct view *v, const struct tui_options *o, struct error *e)
{
    const struct feed_options fo = {
        .interval_s = o->interval_s,
        .snap = {.processes = true, .host_processes = true, .host_cpu = true},
        .timeout_s = o->timeout_s,
        .cache_identities = true,
        .ancestors = v->tree,
    };
    int rc = feed_start(&v->feed, &fo, e);
    if (rc == 0 && (rc = feed_subscribe(v->feed, &v->sub, e)) < 0) {
        feed_stop(v->feed);
        v->feed = NULL;
    }
    return rc;
}

static void stop_feed(struct view *v)
{
    feed_unsubscribe(v->sub);
    v->sub = NULL;
    feed_stop(v->feed);
    v->feed = NULL;
}

static bool locale_is_utf8(void)
{
    const char *cs = nl_langinfo(CODESET);
    return cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
}

static int run(const struct tui_options *o, const struct tui_source *src, struct error *e)
{
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        return error_set(e, -ENOTTY, "top needs a terminal on stdin and stdout "
                         "(use --once to print one frame)");
    struct tui_options opt = *o;
    if (!locale_is_utf8())
        opt.ascii = true;        /* no UTF-8 terminal: Unicode would be garbage */
    struct view v;
    int rc = view_init(&v, &opt, false, e);
    if (rc < 0)
        return rc;
    v.source = src;
    if (!src && (rc = start_feed(&v, &opt, e)) < 0) {
        view_free(&v);
        return rc;
    }
    struct sigaction old_quit[NQUIT], old_crash[NCRASH];
    install_signals(old_quit);
    crash_tty_saved = tcgetattr(STDIN_FILENO, &crash_tty) == 0;
    set_escdelay(25);
    SCREEN *screen = newterm(NULL, stdout, stdin);
    if (!screen) {
        restore_signals(old_quit);
        crash_tty_saved = false;
        stop_feed(&v);
        view_free(&v);
        return error_set(e, -ENOTTY, "cannot start the terminal (TERM=%s)",
                         getenv("TERM") ? getenv("TERM") : "");
    }
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    curs_set(0);
    ctrl_c_as_key();
    /* The mouse through the terminal's own protocol (xterm, tmux, screen).
     * On the Linux console ncurses would go through GPM instead, whose
     * client library leaks when no gpm daemon runs; keys do everything. */
    const char *term = termname();
    bool mouse = !term || strncmp(term, "linux", 5) != 0;
    if (mouse) {
        mousemask(BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON4_PRESSED | BUTTON5_PRESSED |
                  BUTTON_SHIFT, NULL);
        mouseinterval(0);
    }
    install_crash_handlers(mouse, old_crash);
    rc = loop(&v);
    /* A blank screen before leaving: where the terminal has no alternate
     * screen (the Linux console, tmux with alternate-screen off) no frame
     * of the monitor stays above the shell's prompt. */
    erase();
    refresh();
    endwin();
    delscreen(screen);
    restore_crash_handlers(old_crash);
    restore_signals(old_quit);
    stop_feed(&v);
    view_free(&v);
    if (rc < 0)
        return error_set(e, rc, "the monitor failed: %s", strerror(-rc));
    return 0;
}

int tui_run(const struct tui_options *o, struct error *e)
{
    return run(o, NULL, e);
}

int tui_run_source(const struct tui_options *o, const struct tui_source *src,
                   struct error *e)
{
    return run(o, src, e);
}

/* ---- --once -------------------------------------------------------------------------- */

static const char *ansi(enum tui_style st)
{
    switch (st) {
    case ST_DIM: return "\033[2m";
    case ST_BOLD: return "\033[1m";
    case ST_TITLE: return "\033[1;36m";
    case ST_TABLE_HEAD: return "\033[7m";
    case ST_LOW: return "\033[32m";
    case ST_MID: return "\033[33m";
    case ST_HIGH: case ST_WARN: return "\033[1;31m";
    case ST_GRAPH: return "\033[36m";
    default: return "";
    }
}

static int print_canvas(const struct canvas *c, int rows, bool color, FILE *out)
{
    char buf[16384];
    for (int y = 0; y < rows; y++) {
        if (!color) {
            canvas_row_text(c, y, buf, sizeof buf);
            fprintf(out, "%s\n", buf);
            continue;
        }
        int last = c->w;
        while (last > 0 && strcmp(c->cells[(size_t)y * (size_t)c->w + (size_t)last - 1].ch, " ") == 0)
            last--;
        uint8_t cur = ST_NORMAL;
        for (int x = 0; x < last; x++) {
            const struct cell *cell = &c->cells[(size_t)y * (size_t)c->w + (size_t)x];
            if (cell->style != cur) {
                fputs("\033[0m", out);
                fputs(ansi(cell->style), out);
                cur = cell->style;
            }
            fputs(cell->ch, out);
        }
        fputs(cur != ST_NORMAL ? "\033[0m\n" : "\n", out);
    }
    return ferror(out) ? -EIO : 0;
}

int tui_print_once(const struct tui_options *given, FILE *out, struct error *e)
{
    struct tui_options ascii_opt = *given;
    if (!locale_is_utf8())
        ascii_opt.ascii = true;  /* as on the screen: LC_ALL=C gets ASCII, as the man page says */
    const struct tui_options *o = &ascii_opt;
    struct snapshot_ctx *ctx = NULL;
    int rc = snapshot_ctx_open(&ctx, e);
    if (rc < 0)
        return rc;
    struct feed_frame *fr = NULL;
    struct snapshot *snap = NULL;
    const struct snapshot_options so = {.processes = true, .host_processes = true,
                                        .host_fields = SNAPSHOT_HOST_USER | SNAPSHOT_HOST_CMDLINE};
    rc = snapshot_take(ctx, &so, &snap, e);
    snapshot_ctx_close(ctx);
    if (rc == 0)
        rc = feed_frame_wrap(snap, false, &fr, e);
    struct view v;
    if (rc == 0)
        rc = view_init(&v, o, true, e);
    if (rc < 0) {
        feed_frame_unref(fr);
        return rc;
    }
    view_accept_frame(&v, fr);
    int w = term_width(STDOUT_FILENO);
    w = w >= 40 ? w : 120;
    int h = 64 + (int)fr->snap->device_count * 8 + (int)v.table.count;
    struct canvas c = {0};
    if (canvas_init(&c, w, h, o->ascii) < 0) {
        view_free(&v);
        return error_set(e, -ENOMEM, "out of memory drawing the frame");
    }
    view_draw(&v, &c, NULL);
    int rows = h;
    char line[16];
    while (rows > 0 && canvas_row_text(&c, rows - 1, line, sizeof line) == 0)
        rows--;
    rc = print_canvas(&c, rows, o->color, out);
    canvas_free(&c);
    view_free(&v);
    if (rc < 0)
        return error_set(e, rc, "cannot write the frame: %s", strerror(-rc));
    return 0;
}
