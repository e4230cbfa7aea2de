/* render_cairo.c - the chart as PNG or SVG through cairo.
 *
 * Panels are stacked: GPU memory, then system memory (or a placeholder that
 * says there is none, so an empty panel is never mistaken for zero), then
 * CPU % when asked.  Each panel has its title with the unit, a zero-based
 * value axis, clock ticks, grid lines and a legend on the right.  Which
 * series exist and the tick positions come from data.c and axis.c.
 *
 * cairo is loaded with dlopen when a chart is drawn, not linked: it brings
 * some twenty libraries (X11, pixman, freetype, png, ...) whose loading
 * would cost every gpuctl command about 1.5 ms at start, three times what
 * the rest of the process start costs, for the one command that draws.
 */
#include "plot/plot.h"

#include <cairo-svg.h>
#include <cairo.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/outfile.h"
#include "core/str.h"

#define FONT "DejaVu Sans"
#define CAIRO_LIBRARY "libcairo.so.2"

/* The cairo calls used here; FcFini is fontconfig's, found through
 * cairo's dependencies. */
#define CAIRO_CALLS(X)                                                                  \
    X(cairo_arc) X(cairo_clip) X(cairo_create) X(cairo_debug_reset_static_data)         \
    X(cairo_destroy) X(cairo_fill) X(cairo_image_surface_create) X(cairo_line_to)       \
    X(cairo_move_to) X(cairo_new_sub_path) X(cairo_paint) X(cairo_rectangle)            \
    X(cairo_restore) X(cairo_save) X(cairo_select_font_face) X(cairo_set_font_size)     \
    X(cairo_set_line_width) X(cairo_set_source_rgb) X(cairo_show_text) X(cairo_status)  \
    X(cairo_status_to_string) X(cairo_stroke) X(cairo_surface_destroy)                  \
    X(cairo_surface_finish) X(cairo_surface_status) X(cairo_surface_write_to_png)       \
    X(cairo_svg_surface_create) X(cairo_text_extents) X(cairo_set_dash)

/* The loaded library: set once by load_cairo, the module's only global
 * state (a process loads cairo at most once). */
static struct {
    void *handle;
#define FIELD(name) __typeof__(&name) name;
    CAIRO_CALLS(FIELD)
#undef FIELD
    void (*FcFini)(void);
} lib;

static int load_cairo(struct error *e)
{
    if (lib.handle)
        return 0;
    void *h = dlopen(CAIRO_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return error_set(e, -ENOENT, "cannot draw images: %s (install libcairo2)", dlerror());
#define RESOLVE(name)                                                                   \
    if (!(*(void **)&lib.name = dlsym(h, #name))) {                                     \
        dlclose(h);                                                                     \
        return error_set(e, -ENOSYS, "cannot draw images: %s has no %s", CAIRO_LIBRARY, \
                         #name);                                                        \
    }
    CAIRO_CALLS(RESOLVE)
#undef RESOLVE
    *(void **)&lib.FcFini = dlsym(h, "FcFini");   /* optional: only for a clean exit */
    lib.handle = h;
    return 0;
}
#define LEGEND_ROW 16.0

struct rect {
    double x, y, w, h;
};

struct frame {
    cairo_t *cr;
    double t0, t1;
};

static void set_rgb(cairo_t *cr, const unsigned char rgb[3])
{
    lib.cairo_set_source_rgb(cr, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0);
}

static void text_at(cairo_t *cr, double x, double y, const char *s, double size, bool bold,
                    double align)
{
    lib.cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    lib.cairo_set_font_size(cr, size);
    cairo_text_extents_t ext;
    lib.cairo_text_extents(cr, s, &ext);
    lib.cairo_move_to(cr, x - ext.x_advance * align, y);
    lib.cairo_show_text(cr, s);
}

static double x_of(const struct frame *f, const struct rect *r, double t)
{
    return r->x + (t - f->t0) / (f->t1 - f->t0) * r->w;
}

static void draw_x_axis(const struct frame *f, const struct rect *r)
{
    cairo_t *cr = f->cr;
    struct plot_tick ticks[PLOT_MAX_TICKS];
    size_t max = (size_t)(r->w / 90) > 1 ? (size_t)(r->w / 90) : 2;
    size_t n = plot_time_ticks(f->t0, f->t1, max, ticks);
    for (size_t i = 0; i < n; i++) {
        double x = x_of(f, r, ticks[i].v);
        lib.cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        lib.cairo_move_to(cr, x, r->y);
        lib.cairo_line_to(cr, x, r->y + r->h);
        lib.cairo_stroke(cr);
        lib.cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        text_at(cr, x, r->y + r->h + 15, ticks[i].label, 11, false, 0.5);
    }
}

static double draw_y_axis(cairo_t *cr, const struct rect *r, double hi)
{
    struct plot_tick ticks[PLOT_MAX_TICKS];
    double top;
    size_t max = (size_t)(r->h / 40) > 1 ? (size_t)(r->h / 40) : 2;
    size_t n = plot_value_ticks(hi, max, &top, ticks);
    for (size_t i = 0; i < n; i++) {
        double y = r->y + r->h - ticks[i].v / top * r->h;
        lib.cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        lib.cairo_move_to(cr, r->x, y);
        lib.cairo_line_to(cr, r->x + r->w, y);
        lib.cairo_stroke(cr);
        lib.cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        text_at(cr, r->x - 6, y + 4, ticks[i].label, 11, false, 1.0);
    }
    return top;
}

/* Series past the palette's colours get a dash pattern of their own. */
static void set_line_style(cairo_t *cr, size_t color)
{
    static const double dashed[] = {7, 4}, dotted[] = {1.5, 3}, dash_dot[] = {7, 3, 1.5, 3};
    switch ((color / PLOT_PALETTE_SIZE) % 4) {
    case 1: lib.cairo_set_dash(cr, dashed, 2, 0); break;
    case 2: lib.cairo_set_dash(cr, dotted, 2, 0); break;
    case 3: lib.cairo_set_dash(cr, dash_dot, 4, 0); break;
    default: lib.cairo_set_dash(cr, NULL, 0, 0); break;
    }
}

static void draw_series(const struct frame *f, const struct rect *r, const struct plot_series *s,
                        double top, size_t color)
{
    cairo_t *cr = f->cr;
    unsigned char rgb[3];
    plot_palette(color, rgb);
    set_rgb(cr, rgb);
    lib.cairo_save(cr);
    /* a little beyond the frame, so a line at zero or at the top shows whole */
    lib.cairo_rectangle(cr, r->x - 2, r->y - 2, r->w + 4, r->h + 4);
    lib.cairo_clip(cr);
    lib.cairo_set_line_width(cr, 1.8);
    set_line_style(cr, color);
    for (size_t i = 0; i < s->count; i++) {
        double x = x_of(f, r, s->pts[i].t), y = r->y + r->h - s->pts[i].v / top * r->h;
        if (i == 0 || plot_series_gap(s, i))
            lib.cairo_move_to(cr, x, y);
        else
            lib.cairo_line_to(cr, x, y);
    }
    lib.cairo_stroke(cr);
    lib.cairo_set_dash(cr, NULL, 0, 0);
    /* A point with no line on either side (alone between gaps, or every
     * point at one time: sub-second samples in one second) gets a dot. */
    bool one_time = s->pts[0].t == s->pts[s->count - 1].t;
    for (size_t i = 0; i < s->count; i++) {
        bool alone = (i == 0 || plot_series_gap(s, i)) &&
                     (i + 1 == s->count || plot_series_gap(s, i + 1));
        if (!alone && !one_time)
            continue;
        double x = x_of(f, r, s->pts[i].t), y = r->y + r->h - s->pts[i].v / top * r->h;
        lib.cairo_new_sub_path(cr);
        lib.cairo_arc(cr, x, y, 3, 0, 6.2832);
    }
    lib.cairo_fill(cr);
    lib.cairo_restore(cr);
}

/* The label cut (at a character boundary, with "...") to what fits in
 * maxw points at the legend's font, so no label runs off the image. */
static void fit_label(cairo_t *cr, const char *label, double maxw, char *out, size_t size)
{
    lib.cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    lib.cairo_set_font_size(cr, 11);
    str_copy(out, size, label);
    size_t len = strlen(out);
    bool cut = strlen(label) >= size;
    for (;;) {
        if (cut && len + 4 <= size)
            memcpy(out + len, "...", 4);
        cairo_text_extents_t ext;
        lib.cairo_text_extents(cr, out, &ext);
        if (ext.x_advance <= maxw || len == 0)
            return;
        do
            len--;
        while (len > 0 && ((unsigned char)out[len] & 0xc0) == 0x80);
        out[len] = '\0';
        cut = true;
    }
}

static void draw_legend_entry(cairo_t *cr, double x, double y, double maxw, const char *label,
                              size_t color)
{
    unsigned char rgb[3];
    plot_palette(color, rgb);
    set_rgb(cr, rgb);
    lib.cairo_set_line_width(cr, 3);
    set_line_style(cr, color);
    lib.cairo_move_to(cr, x, y - 4);
    lib.cairo_line_to(cr, x + 18, y - 4);
    lib.cairo_stroke(cr);
    lib.cairo_set_dash(cr, NULL, 0, 0);
    char cut[256];
    fit_label(cr, label, maxw - 24, cut, sizeof cut);
    lib.cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text_at(cr, x + 24, y, cut, 11, false, 0);
}

static void draw_placeholder(cairo_t *cr, const struct rect *r, enum plot_panel p)
{
    static const char *const text[PLOT_PANEL_COUNT] = {
        "no GPU memory data", "no system memory data", "no CPU data",
    };
    lib.cairo_set_source_rgb(cr, 0.5, 0.5, 0.5);
    text_at(cr, r->x + r->w / 2, r->y + r->h / 2, text[p], 16, false, 0.5);
}

static void draw_frame(cairo_t *cr, const struct rect *r)
{
    lib.cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    lib.cairo_set_line_width(cr, 1);
    lib.cairo_rectangle(cr, r->x, r->y, r->w, r->h);
    lib.cairo_stroke(cr);
}

static void draw_panel(const struct frame *f, const struct plot_data *d, enum plot_panel p,
                       const struct rect *r, double legend_x, double legend_w)
{
    cairo_t *cr = f->cr;
    lib.cairo_set_line_width(cr, 1);
    lib.cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text_at(cr, r->x, r->y - 8, plot_panel_titles[p], 13, true, 0);
    if (plot_data_has_panel(d, p))
        draw_frame(cr, r);
    if (!plot_data_has_panel(d, p)) {
        draw_placeholder(cr, r, p);
    } else {
        double top = draw_y_axis(cr, r, plot_panel_max(d, p));
        draw_x_axis(f, r);
        size_t color = 0, shown = 0, rows = (size_t)(r->h / LEGEND_ROW);
        for (size_t i = 0; i < d->count; i++) {
            if (d->series[i].panel != p || d->series[i].count == 0)
                continue;
            draw_series(f, r, &d->series[i], top, color);
            if (shown + 1 < rows)
                draw_legend_entry(cr, legend_x, r->y + 12 + LEGEND_ROW * (double)shown,
                                  legend_w - 6, d->series[i].label, color);
            else if (shown + 1 == rows) {
                lib.cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
                text_at(cr, legend_x, r->y + 12 + LEGEND_ROW * (double)shown, "(more not shown)",
                        11, false, 0);
            }
            shown++;
            color++;
        }
    }
    if (!plot_data_has_panel(d, p))
        draw_frame(cr, r);
}

static void draw(cairo_t *cr, const struct plot_data *d, const struct plot_style *st)
{
    struct frame f = {.cr = cr};
    if (!plot_time_range(d, &f.t0, &f.t1))
        f.t0 = f.t1 = 0;
    if (f.t1 - f.t0 < 1) {
        f.t0 -= 30;
        f.t1 += 30;
    }
    double w = st->width, h = st->height;
    lib.cairo_set_source_rgb(cr, 1, 1, 1);
    lib.cairo_paint(cr);
    double top = 10;
    if (st->title && *st->title) {
        lib.cairo_set_source_rgb(cr, 0, 0, 0);
        text_at(cr, w / 2, 26, st->title, 17, true, 0.5);
        top = 40;
    }
    size_t panels = st->cpu ? 3 : 2;
    double legend_w = w / 4 < 260 ? w / 4 : 260, left = 70;
    double ph = (h - top) / (double)panels;
    for (size_t i = 0; i < panels; i++) {
        struct rect r = {.x = left, .y = top + ph * (double)i + 24,
                         .w = w - left - legend_w - 10, .h = ph - 24 - 26};
        draw_panel(&f, d, (enum plot_panel)i, &r, w - legend_w, legend_w);
    }
}

/* cairo opens the file itself: it writes the temporary file of an
 * outfile, which replaces path only once the chart is whole. */
int plot_render_file(const struct plot_data *d, const struct plot_style *st, const char *path,
                     bool svg, struct error *e)
{
    int rc = load_cairo(e);
    if (rc < 0)
        return rc;
    struct outfile of;
    if ((rc = outfile_open(&of, path, e)) < 0)
        return rc;
    const char *target = outfile_write_path(&of);
    cairo_surface_t *surface =
        svg ? lib.cairo_svg_surface_create(target, st->width, st->height)
            : lib.cairo_image_surface_create(CAIRO_FORMAT_RGB24, st->width, st->height);
    cairo_t *cr = lib.cairo_create(surface);
    draw(cr, d, st);
    cairo_status_t status = lib.cairo_status(cr);
    lib.cairo_destroy(cr);
    if (status == CAIRO_STATUS_SUCCESS && !svg)
        status = lib.cairo_surface_write_to_png(surface, target);
    lib.cairo_surface_finish(surface);
    if (status == CAIRO_STATUS_SUCCESS)
        status = lib.cairo_surface_status(surface);
    lib.cairo_surface_destroy(surface);
    if (status != CAIRO_STATUS_SUCCESS) {
        outfile_discard(&of);
        return error_set(e, status == CAIRO_STATUS_NO_MEMORY ? -ENOMEM : -EIO,
                         "cannot write %s: %s", path, lib.cairo_status_to_string(status));
    }
    return outfile_commit(&of, e);
}

void plot_shutdown(void)
{
    if (!lib.handle)
        return;
    lib.cairo_debug_reset_static_data();
    if (lib.FcFini)
        lib.FcFini();
}
