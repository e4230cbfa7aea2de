/* keys.c - what each key does on each screen and in each prompt; the
 * bindings are listed on the help screen (screens.c) and in the man page.
 * Reading keys from the terminal is app.c's.
 */
#include "tui/view.h"

#include <curses.h>
#include <limits.h>
#include <signal.h>
#include <string.h>

#define CTRL(ch) ((ch) & 0x1f)

static bool is_enter(int key)
{
    return key == '\n' || key == '\r' || key == KEY_ENTER;
}

/* ---- prompts ------------------------------------------------------------------------- */

static void apply_filter(struct view *v)
{
    v->input[v->input_len] = '\0';
    if (v->input_len == 0) {
        filter_clear(&v->pattern);
        v->pattern_text[0] = '\0';
        view_set_status(v, false, "filter cleared");
    } else {
        struct filter next = {0};
        struct error e = {0};
        if (filter_set_regex(&next, v->input, &e) < 0) {
            view_set_status(v, true, "invalid filter: %s", e.msg);
            return;
        }
        filter_clear(&v->pattern);
        v->pattern = next;
        snprintf(v->pattern_text, sizeof v->pattern_text, "%s", v->input);
        v->status[0] = '\0';
    }
    view_rebuild(v);
}

static void filter_key(struct view *v, int key)
{
    if (key == 27 || key == CTRL('c')) {
        v->prompt = PROMPT_NONE;
    } else if (is_enter(key)) {
        v->prompt = PROMPT_NONE;
        apply_filter(v);
    } else if (key == KEY_BACKSPACE || key == 127 || key == CTRL('h')) {
        while (v->input_len > 0 && (v->input[--v->input_len] & 0xc0) == 0x80)
            ;               /* a whole UTF-8 character */
    } else if (key == CTRL('u')) {
        v->input_len = 0;
    } else if (key >= 0x20 && key < 0x100 && key != 127 && v->input_len + 1 < sizeof v->input) {
        v->input[v->input_len++] = (char)key;
    }
    v->input[v->input_len] = '\0';
}

static void sort_key(struct view *v, int key)
{
    v->prompt = PROMPT_NONE;
    int s = procs_sort_by_letter(key);
    if (s < 0)
        return;
    v->sort = (enum procs_sort)s;
    bool capital = key >= 'A' && key <= 'Z';
    v->reverse = capital != procs_sort_descends_first(v->sort);
    view_rebuild(v);
}

static void signal_key(struct view *v, int key)
{
    v->prompt = PROMPT_NONE;
    if (key == 'y' || key == 'Y')
        actions_signal(v, v->pending_signal);
    else
        view_set_status(v, false, "cancelled");
}

static void ask_signal(struct view *v, int sig)
{
    if (v->opt->readonly) {
        view_set_status(v, true, "read-only mode: signals are disabled");
        return;
    }
    if (!v->tag_count && !view_selected(v)) {
        view_set_status(v, true, "select or tag a process first");
        return;
    }
    v->pending_signal = sig;
    v->prompt = PROMPT_SIGNAL;
}

/* ---- the main screen ----------------------------------------------------------------- */

static void scroll_command(struct view *v, int delta)
{
    int next = v->cmd_scroll + delta;
    v->cmd_scroll = next > 0 ? next : 0;
}

static bool move_key(struct view *v, int key)
{
    long page = v->table_rows > 1 ? v->table_rows - 1 : 1;
    switch (key) {
    case KEY_UP: case KEY_BTAB: case VIEW_KEY_ALT('k'): view_move(v, -1); break;
    case KEY_DOWN: case '\t': case VIEW_KEY_ALT('j'): view_move(v, 1); break;
    case KEY_HOME: view_select_row(v, 0); break;
    case KEY_END: view_select_row(v, (long)v->table.count - 1); break;
    case KEY_PPAGE: case '[': case VIEW_KEY_ALT('K'): view_move(v, -page); break;
    case KEY_NPAGE: case ']': case VIEW_KEY_ALT('J'): view_move(v, page); break;
    case KEY_LEFT: case VIEW_KEY_ALT('h'): scroll_command(v, -VIEW_HSCROLL_STEP); break;
    case KEY_RIGHT: case VIEW_KEY_ALT('l'): scroll_command(v, VIEW_HSCROLL_STEP); break;
    case '^': case CTRL('a'): v->cmd_scroll = 0; break;
    case '$': case CTRL('e'):   /* the end of the longest command at the right edge */
        v->cmd_scroll = v->cmd_max > v->cmd_width ? v->cmd_max - v->cmd_width : 0;
        break;
    default: return false;
    }
    return true;
}

static bool sort_keys(struct view *v, int key)
{
    switch (key) {
    case ',': v->sort = (enum procs_sort)((v->sort + SORT_COUNT - 1) % SORT_COUNT); break;
    case '.': v->sort = (enum procs_sort)((v->sort + 1) % SORT_COUNT); break;
    case '/': v->reverse = !v->reverse; break;
    case 'o': v->prompt = PROMPT_SORT; return true;
    default: return false;
    }
    view_rebuild(v);
    return true;
}

static void open_screen(struct view *v, enum view_screen s)
{
    if (!view_selected(v)) {
        view_set_status(v, true, "select a process first");
        return;
    }
    if (s == SCREEN_ENV)
        screens_env_load(v);
    v->screen = s;
}

static void main_key(struct view *v, int key)
{
    if (move_key(v, key) || sort_keys(v, key))
        return;
    switch (key) {
    case 'q': v->quit = true; break;
    case CTRL('c'):
        /* nvitop's Ctrl-C: SIGINT to the selection (confirmed as with I);
         * with nothing selected or tagged it quits, as a terminal user
         * expects */
        if (v->tag_count || view_selected(v))
            ask_signal(v, SIGINT);
        else
            v->quit = true;
        break;
    case 'h': case '?': v->screen = SCREEN_HELP; v->help_top = 0; break;
    case 'r': case CTRL('r'): case KEY_F(5):
        v->redraw = true;
        if (v->feed)
            feed_kick(v->feed);
        break;
    case 'a': v->mode = TUI_MODE_AUTO; break;
    case 'f': v->mode = TUI_MODE_FULL; break;
    case 'c': v->mode = TUI_MODE_COMPACT; break;
    case 27:
        view_select_row(v, -1);
        view_clear_tags(v);
        v->status[0] = '\0';
        break;
    case ' ': view_toggle_tag(v); view_move(v, 1); break;
    case 'I': ask_signal(v, SIGINT); break;
    case 'T': ask_signal(v, SIGTERM); break;
    case 'K': ask_signal(v, SIGKILL); break;
    case 't':
        if (v->nodes) {
            view_set_status(v, true, "no tree view across a cluster: each node has its own pids");
            break;
        }
        v->tree = !v->tree;
        if (v->feed)
            feed_set_ancestors(v->feed, v->tree);
        if (v->feed && v->tree)
            feed_kick(v->feed);   /* ancestors come with the next frame */
        view_rebuild(v);
        break;
    case 'e': open_screen(v, SCREEN_ENV); break;
    case 'F':
        v->prompt = PROMPT_FILTER;
        snprintf(v->input, sizeof v->input, "%s", v->pattern_text);
        v->input_len = strlen(v->input);
        break;
    default:
        if (is_enter(key))
            open_screen(v, SCREEN_PROCESS);
        break;
    }
}

/* ---- other screens ------------------------------------------------------------------- */

static void env_key(struct view *v, int key)
{
    switch (key) {
    case KEY_UP: v->env_top = v->env_top > 0 ? v->env_top - 1 : 0; break;
    case KEY_DOWN: v->env_top++; break;
    case KEY_PPAGE: v->env_top = v->env_top > 10 ? v->env_top - 10 : 0; break;
    case KEY_NPAGE: v->env_top += 10; break;
    case KEY_HOME: v->env_top = 0; break;
    case 'q': case 27: case 'e': case CTRL('c'): v->screen = SCREEN_MAIN; break;
    default: break;
    }
}

static void help_key(struct view *v, int key)
{
    long page = v->help_rows > 1 ? v->help_rows - 1 : 1;
    switch (key) {
    case KEY_UP: case 'k': case VIEW_KEY_ALT('k'): v->help_top--; break;
    case KEY_DOWN: case 'j': case VIEW_KEY_ALT('j'): v->help_top++; break;
    case KEY_PPAGE: case '[': v->help_top -= page; break;
    case KEY_NPAGE: case ']': case ' ': v->help_top += page; break;
    case KEY_HOME: v->help_top = 0; break;
    case KEY_END: v->help_top = LONG_MAX / 2; break;   /* screens_help clamps it */
    case 'q': case 27: case 'h': case '?': case CTRL('c'): v->screen = SCREEN_MAIN; return;
    default: return;
    }
    if (v->help_top < 0)
        v->help_top = 0;
}

void keys_handle(struct view *v, int key)
{
    if (key == KEY_RESIZE)
        return;
    switch (v->prompt) {
    case PROMPT_FILTER: filter_key(v, key); return;
    case PROMPT_SORT: sort_key(v, key); return;
    case PROMPT_SIGNAL: signal_key(v, key); return;
    case PROMPT_NONE: break;
    }
    if (v->screen != SCREEN_MAIN && v->screen != SCREEN_ENV && (key == CTRL('r') || key == KEY_F(5))) {
        v->redraw = true;
        return;
    }
    switch (v->screen) {
    case SCREEN_HELP: help_key(v, key); return;
    case SCREEN_ENV: env_key(v, key); return;
    case SCREEN_PROCESS:
        if (key == 'q' || key == 27 || key == CTRL('c') || is_enter(key))
            v->screen = SCREEN_MAIN;
        else if (key == 'e')
            open_screen(v, SCREEN_ENV);
        return;
    case SCREEN_MAIN: main_key(v, key); return;
    }
}

void keys_mouse(struct view *v, int y, int x, bool click, int wheel, bool shift)
{
    (void)x;
    if (v->screen != SCREEN_MAIN || v->prompt != PROMPT_NONE)
        return;
    if (wheel && shift)
        scroll_command(v, wheel * VIEW_HSCROLL_STEP);   /* Shift-wheel: sideways, as nvitop */
    else if (wheel)
        view_move(v, wheel);
    else if (click && y >= v->table_y && y < v->table_y + v->table_rows)
        view_select_row(v, v->top + (y - v->table_y));
}
