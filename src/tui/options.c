/* options.c - the monitor's option values: parsing and validation of the
 * display mode, theme, thresholds and interval, and the GPUCTL_MONITOR_*
 * environment (with nvitop's NVITOP_* variables as fallbacks).  Flags themselves are the CLI's (src/cli/top.c); these
 * checks run before the screen opens, so a bad value never leaves a
 * half-drawn terminal behind.
 */
#include "tui/tui.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

void tui_options_init(struct tui_options *o)
{
    memset(o, 0, sizeof *o);
    o->interval_s = TUI_INTERVAL_DEFAULT;
    o->mode = TUI_MODE_AUTO;
    o->gpu_thresh[0] = 10;
    o->gpu_thresh[1] = 75;
    o->mem_thresh[0] = 10;
    o->mem_thresh[1] = 80;
}

int tui_parse_mode(const char *s, enum tui_mode *out, struct error *e)
{
    static const char *const names[] = {"auto", "full", "compact"};
    for (int i = 0; i < 3; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (enum tui_mode)i;
            return 0;
        }
    return error_set(e, -EINVAL, "'%s' is not a display mode (auto, full, compact)", s);
}

int tui_parse_theme(const char *s, bool *light, struct error *e)
{
    if (strcmp(s, "dark") == 0 || strcmp(s, "light") == 0) {
        *light = s[0] == 'l';
        return 0;
    }
    return error_set(e, -EINVAL, "'%s' is not a theme (dark, light)", s);
}

static bool parse_number(const char *s, const char *end, double *out)
{
    char buf[64];
    size_t n = (size_t)(end - s);
    if (n == 0 || n >= sizeof buf)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *stop;
    errno = 0;
    double v = strtod(buf, &stop);
    if (errno || *stop || !isfinite(v))
        return false;
    *out = v;
    return true;
}

int tui_parse_threshold(const char *s, double *out, struct error *e)
{
    double v;
    if (!parse_number(s, s + strlen(s), &v) || !(v > 0 && v < 100))
        return error_set(e, -EINVAL, "'%s' is not a threshold (a percentage, 0 < TH < 100)", s);
    *out = v;
    return 0;
}

int tui_check_threshold_pair(const double th[2], struct error *e)
{
    if (!(th[0] > 0 && th[1] < 100 && th[0] < th[1]))
        return error_set(e, -EINVAL, "thresholds %g and %g: need 0 < TH1 < TH2 < 100",
                         th[0], th[1]);
    return 0;
}

int tui_parse_threshold_pair(const char *s, double out[2], struct error *e)
{
    const char *sep = strpbrk(s, " ,");
    double th[2];
    if (!sep || !parse_number(s, sep, &th[0]) || !parse_number(sep + 1, sep + 1 + strlen(sep + 1),
                                                              &th[1]))
        return error_set(e, -EINVAL, "'%s' is not two thresholds (\"TH1 TH2\" or \"TH1,TH2\")",
                         s);
    int rc = tui_check_threshold_pair(th, e);
    if (rc < 0)
        return rc;
    out[0] = th[0];
    out[1] = th[1];
    return 0;
}

int tui_parse_interval(const char *s, double *out, struct error *e)
{
    double v;
    if (!parse_number(s, s + strlen(s), &v) || !(v >= TUI_INTERVAL_MIN && v <= 86400))
        return error_set(e, -EINVAL, "'%s' is not an interval in seconds (%.2f to 86400)", s,
                         TUI_INTERVAL_MIN);
    *out = v;
    return 0;
}

static const char *env_value(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* nvitop's NVITOP_MONITOR_MODE is a set of words, "compact,light": the one
 * display mode it names (none, or two, leave the mode alone, as in nvitop)
 * and the theme; words it has and gpuctl lacks ("colorful") are ignored. */
static void nvitop_monitor_mode(const char *v, struct tui_options *o, bool mode_set,
                                bool theme_set)
{
    char words[256];
    snprintf(words, sizeof words, "%s", v);
    int modes = 0;
    enum tui_mode mode = o->mode;
    char *save = NULL;
    for (char *w = strtok_r(words, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        w += strspn(w, " ");
        w[strcspn(w, " ")] = '\0';
        enum tui_mode m;
        if (tui_parse_mode(w, &m, NULL) == 0) {
            mode = m;
            modes++;
        } else if (!theme_set && (strcasecmp(w, "light") == 0 || strcasecmp(w, "dark") == 0)) {
            o->light = tolower((unsigned char)w[0]) == 'l';
        }
    }
    if (!mode_set && modes == 1)
        o->mode = mode;
}

int tui_options_from_env(struct tui_options *o, struct error *e)
{
    struct tui_options next = *o;
    const char *v;
    int rc = 0;
    const char *var = NULL;
    bool mode_set = false, theme_set = false;
    if (!rc && (v = env_value(var = "GPUCTL_MONITOR_MODE")))
        rc = tui_parse_mode(v, &next.mode, e), mode_set = true;
    if (!rc && (v = env_value(var = "GPUCTL_MONITOR_THEME")))
        rc = tui_parse_theme(v, &next.light, e), theme_set = true;
    if (!rc && (v = env_value(var = "GPUCTL_GPU_UTILIZATION_THRESHOLDS")))
        rc = tui_parse_threshold_pair(v, next.gpu_thresh, e);
    else if (!rc && (v = env_value(var = "NVITOP_GPU_UTILIZATION_THRESHOLDS")))
        rc = tui_parse_threshold_pair(v, next.gpu_thresh, e);
    if (!rc && (v = env_value(var = "GPUCTL_MEMORY_UTILIZATION_THRESHOLDS")))
        rc = tui_parse_threshold_pair(v, next.mem_thresh, e);
    else if (!rc && (v = env_value(var = "NVITOP_MEMORY_UTILIZATION_THRESHOLDS")))
        rc = tui_parse_threshold_pair(v, next.mem_thresh, e);
    if (!rc && (!mode_set || !theme_set) && (v = env_value("NVITOP_MONITOR_MODE")))
        nvitop_monitor_mode(v, &next, mode_set, theme_set);
    if (rc < 0) {
        error_prefix(e, "%s", var);
        return rc;
    }
    *o = next;
    return 0;
}
