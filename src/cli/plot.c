/* plot.c - `gpuctl plot`: arguments, reading every file, the one warning
 * about skipped rows, and choosing the image or the terminal.
 *
 * Reading and drawing are src/plot's; this file only decides names, sizes
 * and what is said to the user.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "core/term.h"
#include "plot/plot.h"

#define DEFAULT_WIDTH 1200
#define DEFAULT_HEIGHT 800
#define MIN_PIXELS 200
#define MAX_PIXELS 16000

struct plot_args {
    struct cli_common common;
    const char **files;
    size_t file_count;
    pid_t *pids;
    size_t pid_count;
    const char *output, *title, *width, *height;
    bool per_gpu, cpu, terminal;
};

/* The option table (plot_opts.c) fills a plot_request; the operands are
 * the files.  Pids are taken while the arguments look like pid lists, so
 * `--pid 4242 log.csv` leaves the file name alone. */
static int parse_args(struct plot_args *a, int argc, char **argv)
{
    struct plot_request q = {0};
    struct options_parsed p;
    int rc = cli_parse_options(&plot_options, argc, argv, &q, &p, &a->common);
    if (rc == 0) {
        a->pids = calloc(q.pid.count + 1, sizeof *a->pids);
        a->files = calloc(p.operand_count + 1, sizeof *a->files);
        if (!a->pids || !a->files) {
            fputs("gpuctl: out of memory\n", stderr);
            rc = EXIT_GENERAL;
        }
    }
    for (size_t i = 0; rc == 0 && i < q.pid.count; i++)
        a->pids[a->pid_count++] = (pid_t)atol(q.pid.values[i]);
    for (size_t i = 0; rc == 0 && i < p.operand_count; i++)
        a->files[a->file_count++] = p.operands[i];
    options_parsed_clear(&p);
    if (rc)
        return rc;
    a->output = q.output;
    a->title = q.title;
    a->width = q.width;
    a->height = q.height;
    a->per_gpu = q.per_gpu;
    a->cpu = q.cpu;
    a->terminal = q.terminal;
    if (a->file_count == 0)
        return cli_usage_error("plot", "name at least one log file to plot");
    return 0;
}

static int parse_size(const char *flag, const char *value, unsigned long lo, unsigned long hi,
                      int *out)
{
    unsigned long v;
    if (!cli_parse_uint(value, hi, &v) || v < lo)
        return cli_usage_error("plot", "%s: '%s' is not a whole number from %lu to %lu", flag,
                               value, lo, hi);
    *out = (int)v;
    return 0;
}

static int choose_size(const struct plot_args *a, struct plot_style *st)
{
    size_t panels = a->cpu ? 3 : 2;
    unsigned long lo = a->terminal ? 20 : MIN_PIXELS, hi = a->terminal ? 1000 : MAX_PIXELS;
    if (a->terminal) {
        int cols = term_width(STDOUT_FILENO);
        st->width = cols > 0 ? cols : 80;
        st->height = (int)(panels * 14);
    } else {
        st->width = DEFAULT_WIDTH;
        st->height = DEFAULT_HEIGHT;
    }
    int rc;
    if (a->width && (rc = parse_size("--width", a->width, lo, hi, &st->width)))
        return rc;
    if (a->height && (rc = parse_size("--height", a->height, a->terminal ? 8 : lo, hi,
                                      &st->height)))
        return rc;
    return 0;
}

/* The image's name: --output, else the first file with .png for its
 * extension; *svg from the name. */
static int choose_output(const struct plot_args *a, char **path, bool *svg)
{
    const char *ext;
    if (a->output) {
        *path = strdup(a->output);
    } else {
        const char *first = a->files[0], *slash = strrchr(first, '/'), *dot = strrchr(first, '.');
        size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - first) : strlen(first);
        *path = asprintf(path, "%.*s.png", (int)stem, first) < 0 ? NULL : *path;
    }
    if (!*path) {
        fputs("gpuctl: out of memory\n", stderr);
        return EXIT_GENERAL;
    }
    ext = strrchr(*path, '.');
    *svg = ext && strcasecmp(ext, ".svg") == 0;
    if (!ext || (!*svg && strcasecmp(ext, ".png") != 0))
        return cli_usage_error("plot", "--output: '%s' must end in .png or .svg", *path);
    return 0;
}

static int load(const struct plot_args *a, struct plot_data *d)
{
    struct plot_options o = {.per_gpu = a->per_gpu, .pids = a->pids, .pid_count = a->pid_count};
    for (size_t i = 0; i < a->file_count; i++) {
        struct error e = {0};
        if (plot_data_add_file(d, a->files[i], &o, &e) < 0)
            return cli_fail(&e);
    }
    plot_data_finish(d, a->files);
    if (d->malformed)
        fprintf(stderr, "gpuctl: warning: skipped %zu malformed row%s (the first at %s)\n",
                d->malformed, d->malformed == 1 ? "" : "s", d->first_malformed);
    double t0, t1;
    if (!plot_time_range(d, &t0, &t1)) {
        fprintf(stderr, "gpuctl: nothing to plot: %s\n",
                a->pid_count ? "no row is of the processes given with --pid"
                             : "no row has a value to draw");
        return EXIT_GENERAL;
    }
    return 0;
}

static int draw(const struct plot_args *a, const struct cli_ctx *ctx, const struct plot_data *d)
{
    struct plot_style st = {.title = a->title, .cpu = a->cpu};
    char *path = NULL;
    bool svg = false;
    int rc = choose_size(a, &st);
    if (rc == 0 && !a->terminal)
        rc = choose_output(a, &path, &svg);
    if (rc == 0 && a->terminal) {
        bool color = term_use_color(STDOUT_FILENO, ctx->cfg.use_colors);
        if (plot_render_braille(d, &st, stdout, color) < 0 || fflush(stdout) == EOF) {
            fputs("gpuctl: cannot write the chart to the terminal\n", stderr);
            rc = EXIT_GENERAL;
        }
    } else if (rc == 0) {
        struct error e = {0};
        if (plot_render_file(d, &st, path, svg, &e) < 0)
            rc = cli_fail(&e);
    }
    free(path);
    return rc;
}

int cmd_plot(int argc, char **argv)
{
    struct plot_args a = {0};
    struct cli_ctx ctx = {0};
    struct plot_data d = {0};
    int rc = parse_args(&a, argc, argv);
    if (rc == 0 && (rc = cli_load_config(&ctx, &a.common)) == 0 && (rc = load(&a, &d)) == 0)
        rc = draw(&a, &ctx, &d);
    plot_data_free(&d);
    if (!a.terminal)
        plot_shutdown();
    free(a.pids);
    free(a.files);
    return rc < 0 ? EXIT_OK : rc;
}
