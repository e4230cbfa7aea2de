/* run_html.c - `gpuctl run --html FILE`: one self-contained page (no
 * network, no external script or font) with the summary table, a stacked
 * timeline of memory per process group, one swimlane per process, hover
 * details and zoom (drag across a chart to zoom, double-click to reset).
 *
 * The data (src/doc/run_doc.c's chart document) goes into the page as
 * one JSON object with every '/' escaped,
 * so no command line can close the <script> element; text placed in the
 * HTML itself is entity-escaped.  Drawing is done by the small script at
 * the end of the page, into inline SVG.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/run.h"
#include "core/units.h"
#include "doc/json.h"

static void put_escaped(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default: fputc(*s, out);
        }
    }
}

static void summary_table(const struct doc_run_request *v, FILE *out)
{
    const struct run_report *r = v->r;
    char a[UNITS_BYTES_BUFSZ];
    fputs("<table class=s><tr><th>Job</th><td>", out);
    for (size_t i = 0; r->argv[i]; i++) {
        fputs(i ? " " : "", out);
        put_escaped(out, r->argv[i]);
    }
    units_format_bytes(r->max_total_rss_kib * 1024, a, sizeof a);
    fprintf(out, "</td></tr><tr><th>Duration</th><td>%.2f s, %zu samples every %u ms</td></tr>"
            "<tr><th>Max total %s</th><td>%s (%s, %s)</td></tr>", r->duration_s,
            r->sample_count, r->interval_ms, r->pss ? "PSS" : "RSS", a,
            "sampled", run_method_name(r->method));
    fprintf(out, "<tr><th>Exit status</th><td>%d</td></tr></table>\n", r->exit_code);
    fputs("<h2>Processes</h2><table><tr><th>PID</th><th>PPID</th><th>Peak</th><th>From</th>"
          "<th>Command</th></tr>\n", out);
    for (size_t i = 0; i < r->proc_count; i++) {
        const struct run_proc *p = &r->procs[i];
        units_format_bytes(p->max_rss_kib * 1024, a, sizeof a);
        fprintf(out, "<tr><td>%d</td><td>%d</td><td>%s</td><td>%s</td><td>", (int)p->pid,
                (int)p->ppid, a, run_peak_source_name(p->peak_source));
        put_escaped(out, p->cmdline && *p->cmdline ? p->cmdline : p->command);
        fputs("</td></tr>\n", out);
    }
    fputs("</table>\n", out);
}

static const char style[] =
    "<style>body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
    "padding:2px 8px;text-align:left}svg{border:1px solid #ddd;background:#fff}"
    "#tip{position:fixed;pointer-events:none;background:#333;color:#fff;padding:4px 8px;"
    "border-radius:4px;font-size:12px;display:none;white-space:pre}</style>\n";

/* The drawing script: stacked areas per group, a lane per process whose
 * shade follows its memory, a tooltip, and drag-to-zoom on either chart. */
static const char script[] =
    "<script>\n"
    "(function(){var D=JSON.parse(document.getElementById('data').textContent);\n"
    "var W=1000,L=60,x0=0,x1=Math.max(D.duration,1e-3),tip=document.getElementById('tip');\n"
    "var C=['#4e79a7','#f28e2b','#e15759','#76b7b2','#59a14f','#edc948','#b07aa1','#ff9da7',"
    "'#9c755f','#bab0ac'];\n"
    "function X(t){return L+(t-x0)/(x1-x0)*(W-L-10);}\n"
    "function T(px){return x0+(px-L)/(W-L-10)*(x1-x0);}\n"
    "function mib(k){return (k/1024).toFixed(1)+' MiB';}\n"
    "function el(n,a){var e=document.createElementNS('http://www.w3.org/2000/svg',n);"
    "for(var k in a)e.setAttribute(k,a[k]);return e;}\n"
    "function show(ev,s){tip.style.display='block';tip.style.left=(ev.clientX+12)+'px';"
    "tip.style.top=(ev.clientY+12)+'px';tip.textContent=s;}\n"
    "function hide(){tip.style.display='none';}\n"
    "function zoomable(svg){var start=null,box=null;svg.onmousedown=function(ev){"
    "var r=svg.getBoundingClientRect();start=(ev.clientX-r.left)*W/r.width;"
    "box=el('rect',{x:start,y:0,width:0,height:svg.getAttribute('height'),fill:'#88f',"
    "opacity:.3});svg.appendChild(box);};svg.onmousemove=function(ev){if(!box)return;"
    "var r=svg.getBoundingClientRect(),p=(ev.clientX-r.left)*W/r.width;"
    "box.setAttribute('x',Math.min(p,start));box.setAttribute('width',Math.abs(p-start));};"
    "svg.onmouseup=function(ev){if(!box)return;var r=svg.getBoundingClientRect(),"
    "p=(ev.clientX-r.left)*W/r.width;box=null;if(Math.abs(p-start)>4){var a=T(Math.min(p,start)),"
    "b=T(Math.max(p,start));x0=Math.max(0,a);x1=b;}draw();};"
    "svg.ondblclick=function(){x0=0;x1=Math.max(D.duration,1e-3);draw();};}\n"
    "function axis(svg,h){for(var i=0;i<=5;i++){var t=x0+(x1-x0)*i/5;"
    "svg.appendChild(el('line',{x1:X(t),x2:X(t),y1:0,y2:h,stroke:'#eee'}));"
    "var tx=el('text',{x:X(t),y:h-2,'font-size':10,fill:'#666'});tx.textContent=t.toFixed(2)+'s';"
    "svg.appendChild(tx);}}\n"
    "function stacked(){var svg=document.getElementById('stack');svg.innerHTML='';var H=260;"
    "var n=D.t.length,top=new Array(n).fill(0),max=1;D.groups.forEach(function(g){"
    "g.values.forEach(function(v,i){top[i]+=v;});});top.forEach(function(v){if(v>max)max=v;});"
    "axis(svg,H);var base=new Array(n).fill(0);D.groups.forEach(function(g,gi){var up=[],dn=[];"
    "for(var i=0;i<n;i++){var y0=base[i],y1=base[i]+g.values[i];"
    "up.push(X(D.t[i])+','+(H-20-y1/max*(H-30)));dn.unshift(X(D.t[i])+','+(H-20-y0/max*(H-30)));"
    "base[i]=y1;}if(!n)return;var poly=el('polygon',{points:up.concat(dn).join(' '),"
    "fill:C[gi%C.length],opacity:.8});poly.onmousemove=function(ev){var r=svg."
    "getBoundingClientRect(),t=T((ev.clientX-r.left)*W/r.width),k=0;for(var i=0;i<n;i++)"
    "if(D.t[i]<=t)k=i;show(ev,g.name+'\\n'+D.t[k].toFixed(2)+' s: '+mib(g.values[k]));};"
    "poly.onmouseout=hide;svg.appendChild(poly);});var lab=el('text',{x:2,y:12,"
    "'font-size':10,fill:'#666'});lab.textContent=mib(max);svg.appendChild(lab);}\n"
    "function lanes(){var svg=document.getElementById('lanes');svg.innerHTML='';var h=16,"
    "H=D.procs.length*h+20;svg.setAttribute('height',H);svg.setAttribute('viewBox','0 0 1000 '+H);axis(svg,H);D.procs.forEach(function(p,i){"
    "var y=i*h+2,peak=Math.max(p.peak_kib,1);var lab=el('text',{x:2,y:y+11,'font-size':10});"
    "lab.textContent=p.pid;svg.appendChild(lab);var a=Math.max(p.first,x0),b=Math.min(p.last,x1);"
    "if(b<a)return;var bar=el('rect',{x:X(a),y:y,width:Math.max(X(b)-X(a),1),height:h-3,"
    "fill:'#ddd'});svg.appendChild(bar);p.points.forEach(function(pt,k){var t=D.t[pt[0]],"
    "t2=k+1<p.points.length?D.t[p.points[k+1][0]]:p.last;if(t2<x0||t>x1)return;"
    "var r=el('rect',{x:X(Math.max(t,x0)),y:y,width:Math.max(X(Math.min(t2,x1))-X(Math.max(t,x0)),1),"
    "height:h-3,fill:'#e15759',opacity:0.15+0.85*pt[1]/peak});svg.appendChild(r);});"
    "var hit=el('rect',{x:L,y:y,width:W-L,height:h-3,fill:'transparent'});"
    "hit.onmousemove=function(ev){show(ev,'pid '+p.pid+' (ppid '+p.ppid+') '+p.command+'\\npeak '"
    "+mib(p.peak_kib)+'\\n'+(p.cmdline||''));};hit.onmouseout=hide;svg.appendChild(hit);});}\n"
    "function draw(){stacked();lanes();}zoomable(document.getElementById('stack'));"
    "zoomable(document.getElementById('lanes'));draw();})();\n"
    "</script>\n";

int cli_run_write_html(const struct doc_run_request *v, FILE *out)
{
    struct error e = {0};
    json_t *data = doc_run_chart_build(v, &e);
    if (!data)
        return e.code;
    char *text = json_dumps(data, doc_json_dump_flags(true) | JSON_ESCAPE_SLASH);
    json_decref(data);
    if (!text)
        return -ENOMEM;
    fputs("<!DOCTYPE html>\n<html><head><meta charset=utf-8><title>gpuctl run: ", out);
    put_escaped(out, v->r->argv[0]);
    fprintf(out, "</title>\n%s</head><body>\n<h1>gpuctl run</h1>\n", style);
    summary_table(v, out);
    fputs("<h2>Memory per group (stacked; drag to zoom, double-click to reset)</h2>\n"
          "<svg id=stack viewBox='0 0 1000 260' width=1000 height=260></svg>\n"
          "<h2>Processes</h2>\n<svg id=lanes viewBox='0 0 1000 40' width=1000 height=40 "
          "preserveAspectRatio=xMinYMin></svg>\n<div id=tip></div>\n"
          "<script type='application/json' id=data>", out);
    fputs(text, out);
    free(text);
    fputs("</script>\n", out);
    fputs(script, out);
    fputs("</body></html>\n", out);
    return ferror(out) ? -EIO : 0;
}
