/* analyze_html.c - `gpuctl analyze --html`: one self-contained HTML file
 * with a zoomable timeline (GPU utilisation and VRAM, host CPU, kernels per
 * stream with their names on hover, scope bands per thread and depth).
 *
 * A second streaming pass folds the records into a fixed number of time
 * bins per lane, keeping the longest kernel or scope of each bin, so the
 * file stays a few MiB whatever the log size; zooming in shows each bin's
 * representative at its real position and length.  The figures are
 * analyze.c's; this file only draws them.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/outfile.h"
#include "trace/analyze.h"
#include "trace/ndjson.h"

#define BINS 2000
#define MAX_LANES 48
#define MAX_NAMES 4096
#define MAX_SERIES 8

struct mark { uint64_t start, dur; uint32_t name, count; };

struct lane {
    int64_t a, b;                /* kernel: device, stream; scope: thread, depth */
    struct mark bins[BINS];
};

struct series {
    int64_t device;
    double util_sum[BINS];
    uint32_t util_n[BINS];
    double vram_max[BINS];       /* -1: no sample */
    double total;
};

struct html {
    uint64_t t0, t1;
    struct lane *klanes[MAX_LANES], *slanes[MAX_LANES];
    size_t nk, ns;
    struct series *dev[MAX_SERIES];
    size_t nd;
    double cpu_sum[BINS];
    uint32_t cpu_n[BINS];
    char *names[MAX_NAMES];
    size_t nnames;
    bool oom;
};

static size_t bin_of(const struct html *h, uint64_t t)
{
    if (t <= h->t0 || h->t1 <= h->t0)
        return 0;
    uint64_t b = (uint64_t)((double)(t - h->t0) / (double)(h->t1 - h->t0) * BINS);
    return b >= BINS ? BINS - 1 : (size_t)b;
}

static uint32_t name_id(struct html *h, const char *name)
{
    for (size_t i = 0; i < h->nnames; i++)      /* names are few; a scan is fine */
        if (strcmp(h->names[i], name) == 0)
            return (uint32_t)i;
    if (h->nnames == MAX_NAMES)
        return 0;
    if (!(h->names[h->nnames] = strdup(name))) {
        h->oom = true;
        return 0;
    }
    return (uint32_t)h->nnames++;
}

static struct lane *lane_for(struct html *h, struct lane **lanes, size_t *n, int64_t a,
                             int64_t b)
{
    for (size_t i = 0; i < *n; i++)
        if (lanes[i]->a == a && lanes[i]->b == b)
            return lanes[i];
    if (*n == MAX_LANES)
        return NULL;
    struct lane *l = calloc(1, sizeof *l);
    if (!l) {
        h->oom = true;
        return NULL;
    }
    l->a = a;
    l->b = b;
    lanes[(*n)++] = l;
    return l;
}

static void mark(struct html *h, struct lane *l, uint64_t a, uint64_t b, const char *name)
{
    if (!l)
        return;
    struct mark *m = &l->bins[bin_of(h, a)];
    m->count++;
    if (m->count == 1 || b - a > m->dur) {
        m->start = a - h->t0;
        m->dur = b - a;
        m->name = name_id(h, name);
    }
}

static struct series *series_for(struct html *h, int64_t device)
{
    for (size_t i = 0; i < h->nd; i++)
        if (h->dev[i]->device == device)
            return h->dev[i];
    if (h->nd == MAX_SERIES)
        return NULL;
    struct series *s = calloc(1, sizeof *s);
    if (!s) {
        h->oom = true;
        return NULL;
    }
    s->device = device;
    for (size_t i = 0; i < BINS; i++)
        s->vram_max[i] = -1;
    h->dev[h->nd++] = s;
    return s;
}

static void on_line(void *arg, const struct ndj_line *l)
{
    struct html *h = arg;
    const char *type = ndj_str(l, "type");
    uint64_t a, b, t, v;
    double d;
    if (!type)
        return;
    if (strcmp(type, "kernel") == 0 && ndj_u64(l, "start_ns", &a) && ndj_u64(l, "end_ns", &b) &&
        b >= a) {
        uint64_t dev = 0, stream = 0;
        ndj_u64(l, "device", &dev);
        ndj_u64(l, "stream", &stream);
        const char *name = ndj_str(l, "demangled");
        mark(h, lane_for(h, h->klanes, &h->nk, (int64_t)dev, (int64_t)stream), a, b,
             name ? name : ndj_str(l, "name") ? ndj_str(l, "name") : "?");
    } else if (strcmp(type, "scope") == 0 && ndj_u64(l, "start_ns", &a) &&
               ndj_u64(l, "end_ns", &b) && b >= a) {
        uint64_t thread = 0, depth = 0;
        ndj_u64(l, "thread", &thread);
        ndj_u64(l, "depth", &depth);
        const char *name = ndj_str(l, "name");
        mark(h, lane_for(h, h->slanes, &h->ns, (int64_t)thread, (int64_t)depth), a, b,
             name ? name : "?");
    } else if (strcmp(type, "device") == 0 && ndj_u64(l, "t_ns", &t)) {
        uint64_t index = 0;
        ndj_u64(l, "index", &index);
        struct series *s = series_for(h, (int64_t)index);
        if (!s)
            return;
        size_t k = bin_of(h, t);
        if (ndj_num(l, "util_gpu_pct", &d)) {
            s->util_sum[k] += d;
            s->util_n[k]++;
        }
        if (ndj_u64(l, "mem_used_bytes", &v) && (double)v > s->vram_max[k])
            s->vram_max[k] = (double)v;
        if (ndj_u64(l, "mem_total_bytes", &v))
            s->total = (double)v;
    } else if (strcmp(type, "host") == 0 && ndj_u64(l, "t_ns", &t) &&
               ndj_num(l, "cpu_pct", &d)) {
        size_t k = bin_of(h, t);
        h->cpu_sum[k] += d;
        h->cpu_n[k]++;
    }
}

/* ---- data for the page ---------------------------------------------------------- */

static json_t *avg_array(const double *sum, const uint32_t *n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < BINS; i++)
        json_array_append_new(a, n[i] ? json_real(sum[i] / n[i]) : json_null());
    return a;
}

static json_t *lanes_json(struct lane **lanes, size_t n, bool kernels)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        char label[64];
        if (kernels)
            snprintf(label, sizeof label, "GPU %lld stream %lld", (long long)lanes[i]->a,
                     (long long)lanes[i]->b);
        else
            snprintf(label, sizeof label, "thread %lld depth %lld", (long long)lanes[i]->a,
                     (long long)lanes[i]->b);
        json_t *marks = json_array();
        for (size_t k = 0; k < BINS; k++) {
            const struct mark *m = &lanes[i]->bins[k];
            if (!m->count)
                continue;
            json_t *e = json_array();
            json_array_append_new(e, json_integer((json_int_t)m->start));
            json_array_append_new(e, json_integer((json_int_t)m->dur));
            json_array_append_new(e, json_integer(m->name));
            json_array_append_new(e, json_integer(m->count));
            json_array_append_new(marks, e);
        }
        json_array_append_new(arr, json_pack("{s:s, s:o}", "label", label, "marks", marks));
    }
    return arr;
}

static json_t *page_data(const struct html *h, const struct analyze_result *r)
{
    json_t *root = json_object();
    json_object_set_new(root, "span_ns", json_integer((json_int_t)(h->t1 - h->t0)));
    json_object_set_new(root, "host", json_string(r->host));
    json_object_set_new(root, "command", r->command ? json_string(r->command) : json_null());
    json_t *devs = json_array();
    for (size_t i = 0; i < h->nd; i++) {
        json_t *vram = json_array();
        for (size_t k = 0; k < BINS; k++)
            json_array_append_new(vram, h->dev[i]->vram_max[k] >= 0
                                        ? json_real(h->dev[i]->vram_max[k]) : json_null());
        json_array_append_new(devs, json_pack("{s:I, s:o, s:o, s:f}", "index",
                                              (json_int_t)h->dev[i]->device, "util",
                                              avg_array(h->dev[i]->util_sum,
                                                        h->dev[i]->util_n),
                                              "vram", vram, "total", h->dev[i]->total));
    }
    json_object_set_new(root, "devices", devs);
    json_object_set_new(root, "host_cpu", avg_array(h->cpu_sum, h->cpu_n));
    json_t *names = json_array();
    for (size_t i = 0; i < h->nnames; i++)
        json_array_append_new(names, json_string(h->names[i]));   /* NULL if not UTF-8 */
    json_object_set_new(root, "names", names);
    json_object_set_new(root, "kernel_lanes", lanes_json((struct lane **)h->klanes, h->nk, true));
    json_object_set_new(root, "scope_lanes", lanes_json((struct lane **)h->slanes, h->ns, false));
    return root;
}

static const char page_head[] =
"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>gpuctl trace timeline</title>\n"
"<style>body{font:13px sans-serif;margin:12px;background:#fafafa}canvas{background:#fff;"
"border:1px solid #ccc;cursor:grab}#tip{position:fixed;pointer-events:none;background:#222;"
"color:#fff;padding:4px 6px;border-radius:3px;font:12px monospace;display:none;"
"white-space:pre}</style></head><body>\n<h3 id=\"title\"></h3>\n<p>Wheel: zoom, drag: pan,"
" double-click: whole run. Each lane keeps the longest record of each of 2000 time bins.</p>\n"
"<canvas id=\"c\"></canvas><div id=\"tip\"></div>\n<script>\nconst D=";

static const char page_tail[] =
";\n(function(){\n"
"const c=document.getElementById('c'),x=c.getContext('2d'),tip=document.getElementById('tip');\n"
"document.getElementById('title').textContent='gpuctl trace: '+(D.command||'')+' on '+D.host;\n"
"const L=150,W=Math.max(600,window.innerWidth-40),CH=60,LH=18,span=Math.max(1,D.span_ns);\n"
"const rows=[];D.devices.forEach(d=>{rows.push({k:'s',label:'GPU '+d.index+' util %',v:d.util,max:100});\n"
" rows.push({k:'s',label:'GPU '+d.index+' VRAM',v:d.vram,max:d.total||Math.max(1,...d.vram.filter(v=>v!==null))});});\n"
"rows.push({k:'s',label:'host CPU %',v:D.host_cpu,max:100});\n"
"D.kernel_lanes.forEach(l=>rows.push({k:'m',label:l.label,m:l.marks,col:'#3a7bd5'}));\n"
"D.scope_lanes.forEach(l=>rows.push({k:'m',label:l.label,m:l.marks,col:'#e38d13'}));\n"
"let y=0;rows.forEach(r=>{r.y=y;r.h=r.k=='s'?CH:LH;y+=r.h+4;});\n"
"c.width=W;c.height=y+20;let v0=0,v1=span;\n"
"const X=t=>L+(t-v0)/(v1-v0)*(W-L);\n"
"function fmt(ns){return ns>=1e9?(ns/1e9).toFixed(3)+' s':ns>=1e6?(ns/1e6).toFixed(3)+' ms':(ns/1e3).toFixed(1)+' us';}\n"
"function draw(){x.clearRect(0,0,W,c.height);x.font='11px sans-serif';\n"
" rows.forEach(r=>{x.fillStyle='#333';x.fillText(r.label,4,r.y+12);\n"
"  if(r.k=='s'){x.strokeStyle='#2a9d8f';x.beginPath();let first=true;const n=r.v.length;\n"
"   r.v.forEach((v,i)=>{if(v===null)return;const px=X((i+0.5)/n*span);if(px<L||px>W)return;\n"
"    const py=r.y+r.h-v/r.max*r.h;first?x.moveTo(px,py):x.lineTo(px,py);first=false;});x.stroke();\n"
"   x.strokeStyle='#eee';x.strokeRect(L,r.y,W-L,r.h);}\n"
"  else{x.fillStyle=r.col;r.m.forEach(m=>{const a=X(m[0]),b=X(m[0]+m[1]);if(b<L||a>W)return;\n"
"   x.fillRect(Math.max(a,L),r.y,Math.max(1,b-Math.max(a,L)),r.h);});}});\n"
" x.fillStyle='#333';x.fillText(fmt(v0),L,c.height-6);x.fillText(fmt(v1),W-80,c.height-6);}\n"
"function hit(ev){const b=c.getBoundingClientRect(),px=ev.clientX-b.left,py=ev.clientY-b.top;\n"
" const r=rows.find(r=>py>=r.y&&py<r.y+r.h);if(!r)return null;\n"
" const t=v0+(px-L)/(W-L)*(v1-v0);\n"
" if(r.k=='s'){const i=Math.floor(t/span*r.v.length);const v=r.v[i];return v==null?null:r.label+': '+v.toFixed(1)+' at '+fmt(t);}\n"
" const tol=(v1-v0)/(W-L)*2;const m=r.m.find(m=>t>=m[0]-tol&&t<=m[0]+m[1]+tol);\n"
" return m?D.names[m[2]]+'\\nstart '+fmt(m[0])+'  duration '+fmt(m[1])+(m[3]>1?'\\n('+m[3]+' records in this bin)':''):null;}\n"
"let drag=null;c.onmousedown=e=>{drag={x:e.clientX,v0,v1};};window.onmouseup=()=>{drag=null;};\n"
"c.onmousemove=e=>{if(drag){const dt=(e.clientX-drag.x)/(W-L)*(drag.v1-drag.v0);v0=drag.v0-dt;v1=drag.v1-dt;draw();return;}\n"
" const s=hit(e);if(s){tip.textContent=s;tip.style.display='block';tip.style.left=(e.clientX+12)+'px';tip.style.top=(e.clientY+12)+'px';}else tip.style.display='none';};\n"
"c.onwheel=e=>{e.preventDefault();const b=c.getBoundingClientRect();const t=v0+(e.clientX-b.left-L)/(W-L)*(v1-v0);\n"
" const f=e.deltaY<0?0.8:1.25;v0=t-(t-v0)*f;v1=t+(v1-t)*f;if(v1-v0<1000){v1=v0+1000;}draw();};\n"
"c.ondblclick=()=>{v0=0;v1=span;draw();};draw();})();\n</script></body></html>\n";

static int write_page(FILE *f, json_t *data)
{
    char *text = json_dumps(data, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (!text)
        return -ENOMEM;
    fputs(page_head, f);
    /* "<" only occurs inside strings: escaping it keeps "</script>" out */
    for (const char *p = text; *p; p++) {
        if (*p == '<')
            fputs("\\u003c", f);
        else
            fputc(*p, f);
    }
    fputs(page_tail, f);
    free(text);
    return 0;
}

int analyze_html_write(const struct analyze_opts *o, const struct analyze_result *r,
                       const char *path, struct error *e)
{
    struct html *h = calloc(1, sizeof *h);
    char **files = NULL, *picked = NULL;
    size_t count = 0;
    int rc;
    if (!h)
        return error_set(e, -ENOMEM, "out of memory");
    h->t0 = r->t_min;
    h->t1 = r->t_max;
    const char *prefix = o->prefix;
    if (!prefix && (rc = analyze_pick_prefix(o->dir, &picked, e)) < 0)
        goto done;
    prefix = prefix ? prefix : picked;
    if ((rc = analyze_find_files(o->dir, prefix, &files, &count, e)) < 0)
        goto done;
    uint64_t lines = 0, corrupt = 0;
    if ((rc = analyze_stream(files, count, on_line, h, &lines, &corrupt, NULL, 0, e)) < 0)
        goto done;
    if (h->oom) {
        rc = error_set(e, -ENOMEM, "out of memory while drawing the timeline");
        goto done;
    }
    json_t *data = page_data(h, r);
    struct outfile of;
    if ((rc = outfile_open(&of, path, e)) < 0) {
        json_decref(data);
        goto done;
    }
    rc = write_page(of.f, data);
    json_decref(data);
    if (rc < 0) {
        outfile_discard(&of);          /* the old page, if any, stays */
        error_set(e, rc, "cannot write %s: %s", path, strerror(-rc));
    } else {
        rc = outfile_commit(&of, e);
    }
done:
    for (size_t i = 0; i < h->nk; i++)
        free(h->klanes[i]);
    for (size_t i = 0; i < h->ns; i++)
        free(h->slanes[i]);
    for (size_t i = 0; i < h->nd; i++)
        free(h->dev[i]);
    for (size_t i = 0; i < h->nnames; i++)
        free(h->names[i]);
    free(h);
    free(picked);
    analyze_files_free(files, count);
    return rc;
}
