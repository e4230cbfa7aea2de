// node.js - the node view: one card per GPU with its live figures and the
// last 10 minutes of utilisation, memory, temperature and power (kept from
// the /ws feed even while another view is shown), and the GPU processes,
// sortable and filterable, each with a kill button that names the process
// and its user before anything is sent.

import { change, confirmAction, toast } from './api.js';
import { NA, h, memPair, pct, celsius, watts, mib, num, duration, text, bytes, clock, clock24, setText }
  from './fmt.js';

const WINDOW_S = 600;
let latest = null;            // the newest snapshot message
let live = false;
// gpu_index -> {t: [...], util: [{x, y}], mem, temp, power}: the arrays
// the charts draw, shared with them and trimmed in place, so an update
// allocates one point per series instead of copying ten minutes.
const history = new Map();
const SERIES = ['util', 'mem', 'temp', 'power'];
let view = null;              // the mounted view's state, or null
let rendered = false;         // the first snapshot has been drawn
let canKill = false;          // the server offers POST /api/v1/kill
let frame = 0;                // a requested animation frame
let needsRender = false;      // new data or state since the last render
let pendingMs = 0;            // scripting time of the messages not yet drawn
let spentMs = 0, longestMs = 0;   // the frames of the update being drawn
// Charts with new points, waiting for a frame: Chart.js's update costs ~2
// ms a chart whatever changed, so 12 charts in one frame would hold the
// page for 25 ms; a few per frame keep every frame short, and all are
// drawn within a few frames of the sample.
const dueCharts = new Set();
const CHARTS_PER_FRAME = 3;

// Scripting time per update (ms): the message parsed and kept, the cards
// and process table updated, and the charts drawn over the next frames
// (gpuctlUpdateMs: all of it; gpuctlFrameMs: the longest single frame);
// the last 120, for bench/web and people curious in the console.
const updateMs = (window.gpuctlUpdateMs = []);
const frameMs = (window.gpuctlFrameMs = []);

// Draws at most once per animation frame, whatever the number of messages
// since the last (and not at all in a hidden tab).
function schedule(render = true) {
  if (render) needsRender = true;
  if (view && !frame) frame = requestAnimationFrame(draw);
}

function draw() {
  frame = 0;
  if (!view) return;
  const t0 = performance.now();
  if (needsRender) {
    needsRender = false;
    render();
  }
  let n = 0;
  for (const chart of dueCharts) {
    if (n++ === CHARTS_PER_FRAME) break;
    dueCharts.delete(chart);
    chart.update('none');
  }
  const dt = performance.now() - t0;
  spentMs += dt + pendingMs;
  pendingMs = 0;
  longestMs = Math.max(longestMs, dt);
  if (dueCharts.size) {
    schedule(false);
  } else if (spentMs) {
    if (updateMs.push(spentMs) > 120) updateMs.shift();
    if (frameMs.push(longestMs) > 120) frameMs.shift();
    spentMs = longestMs = 0;
  }
}

export function setCanKill(yes) {
  canKill = yes;
}

export function setLive(connected) {
  live = connected;
  if (view) {
    view.root.classList.toggle('stale', !live);
    schedule();
  }
}

// A snapshot message; before is the scripting time it already cost (parse).
export function feed(msg, before = 0) {
  const t0 = performance.now();
  latest = msg;
  const doc = msg.data;
  const t = Date.parse(doc.ts) / 1000 || Date.now() / 1000;
  for (const g of doc.gpus || []) {
    let hist = history.get(g.gpu_index);
    if (!hist) history.set(g.gpu_index, (hist = { last: null, util: [], mem: [], temp: [], power: [] }));
    if (hist.last === t) continue;
    hist.last = t;
    const memPct = g.mem_used_mb != null && g.mem_total_mb ? 100 * g.mem_used_mb / g.mem_total_mb : null;
    const values = { util: g.util_pct, mem: memPct, temp: g.temp_c, power: g.power_w };
    for (const key of SERIES) {
      const arr = hist[key];
      arr.push({ x: t, y: values[key] ?? null });
      let old = 0;
      while (old < arr.length && arr[old].x < t - WINDOW_S) old++;
      if (old) arr.splice(0, old);
    }
    hist.dirty = true;
  }
  if (view) {
    pendingMs += before + performance.now() - t0;
    schedule();
  }
}


// ---- GPU cards ----

function chartColors() {
  const css = getComputedStyle(document.documentElement);
  const v = (n) => css.getPropertyValue(n).trim();
  return { a: v('--chart-a'), b: v('--chart-b'), grid: v('--grid'), fg: v('--muted') };
}

function makeChart(canvas, series, yAxes) {
  const c = chartColors();
  const scales = {
    x: {
      type: 'linear', bounds: 'data', ticks: { color: c.fg, maxRotation: 0, maxTicksLimit: 4, precision: 0, callback: (v) => clock24(v * 1000) },
      grid: { color: c.grid },
    },
  };
  for (const [id, ax] of Object.entries(yAxes))
    scales[id] = { ...ax, ticks: { color: c.fg, maxTicksLimit: 5 }, grid: { color: c.grid, drawOnChartArea: id === 'y' } };
  return new window.Chart(canvas, {
    type: 'line',
    data: {
      datasets: series.map((s, i) => ({
        label: s.label, yAxisID: s.axis, data: [], parsing: false, normalized: true,
        borderColor: i ? c.b : c.a, backgroundColor: i ? c.b : c.a, borderWidth: 1.5,
        pointRadius: 0, spanGaps: false,
      })),
    },
    options: {
      // parsing off for the whole chart: the points are {x, y} already, and
      // the decimation plugin works only so
      animation: false, parsing: false, responsive: true, maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      // The legend is HTML above the canvas: Chart.js's costs a layout pass
      // per update.  Ten minutes are 600 points where the chart has ~300
      // pixels: LTTB keeps the shape with 120, and Chart.js draws those.
      plugins: { legend: { display: false }, tooltip: { enabled: true },
        decimation: { enabled: true, algorithm: 'lttb', samples: 120, threshold: 120 } },
      scales,
    },
  });
}

function stat(label) {
  const value = h('dd', { text: NA });
  return { el: h('div', { class: 'stat' }, h('dt', { text: label }), value), value };
}

function legend(a, b) {
  return h('p', { class: 'legend', 'aria-hidden': 'true' },
    h('span', { class: 'key a', text: a }), h('span', { class: 'key b', text: b }));
}

function gpuCard(g) {
  const stats = {
    util: stat('Utilisation'), mem: stat('Memory'), temp: stat('Temperature'),
    power: stat('Power'), procs: stat('Processes'), memUtil: stat('Mem. bandwidth'),
  };
  const title = h('h3', {});
  const sub = h('p', { class: 'sub' });
  const c1 = h('canvas', { role: 'img', 'aria-label': `GPU ${g.gpu_index} utilisation and memory, last 10 minutes` });
  const c2 = h('canvas', { role: 'img', 'aria-label': `GPU ${g.gpu_index} temperature and power, last 10 minutes` });
  const el = h('article', { class: 'gpu card', 'data-gpu': g.gpu_index, 'aria-labelledby': `gpu-title-${g.gpu_index}` },
    title, sub,
    h('dl', { class: 'stats' }, ...Object.values(stats).map((s) => s.el)),
    h('div', { class: 'charts' },
      legend('utilisation %', 'memory %'), h('div', { class: 'chart' }, c1),
      legend('temperature °C', 'power W (right)'), h('div', { class: 'chart' }, c2)));
  title.id = `gpu-title-${g.gpu_index}`;
  const util = makeChart(c1, [{ label: 'utilisation %', axis: 'y' }, { label: 'memory %', axis: 'y' }],
    { y: { min: 0, max: 100 } });
  const heat = makeChart(c2, [{ label: 'temperature °C', axis: 'y' }, { label: 'power W', axis: 'y1' }],
    { y: { suggestedMin: 20, suggestedMax: 90 }, y1: { position: 'right', suggestedMin: 0 } });
  return { el, title, sub, stats, charts: [util, heat], index: g.gpu_index, visible: true, drawn: false };
}

function updateCard(card, g) {
  setText(card.title, `GPU ${g.gpu_index} · ${text(g.name)}`);
  const bits = [g.uuid, g.pci_bus_id, g.pstate].filter((x) => x);
  setText(card.sub, bits.length ? bits.join(' · ') : NA);
  setText(card.stats.util.value, pct(g.util_pct));
  setText(card.stats.mem.value, memPair(g.mem_used_mb, g.mem_total_mb));
  setText(card.stats.temp.value, celsius(g.temp_c));
  setText(card.stats.power.value,
    g.power_limit_w != null && g.power_w != null ? `${watts(g.power_w)} / ${watts(g.power_limit_w)}` : watts(g.power_w));
  setText(card.stats.procs.value, num(g.pids));
  setText(card.stats.memUtil.value, pct(g.mem_util_pct));
  card.el.classList.toggle('hot', g.util_pct != null && g.util_pct >= 90);
  drawCharts(card);
}

// Queues a card's charts when it has a new point and can be seen: charts
// off screen or in a hidden tab wait until they show (most of the cost of
// an update is Chart.js drawing, so 8 GPUs cost what the visible ones do).
function drawCharts(card) {
  const hist = history.get(card.index);
  if (!hist || (!hist.dirty && card.drawn) || document.hidden || !card.visible) return;
  hist.dirty = false;
  card.drawn = true;
  const series = [['util', 'mem'], ['temp', 'power']];
  card.charts.forEach((chart, ci) => {
    chart.data.datasets.forEach((ds, di) => {
      const key = series[ci][di];
      if (ds.data !== hist[key]) ds.data = hist[key];
    });
    // The x axis follows the data (trimmed to ten minutes in feed()):
    // setting its options each time would cost Chart.js a full re-resolve
    // of the chart's configuration, ~30 times a data update.
    dueCharts.add(chart);
  });
  schedule(false);
}

// ---- processes ----

const COLUMNS = [
  { key: 'gpu_index', label: 'GPU', num: true, show: (p) => num(p.gpu_index) },
  { key: 'pid', label: 'PID', num: true, show: (p) => num(p.pid) },
  { key: 'user', label: 'User', show: (p) => text(p.user) },
  { key: 'proc_name', label: 'Process', show: (p) => text(p.proc_name) },
  { key: 'used_mem_mb', label: 'GPU memory', num: true, show: (p) => mib(p.used_mem_mb) },
  { key: 'sm_pct', label: 'SM', num: true, show: (p) => pct(p.sm_pct) },
  { key: 'cpu_pct', label: 'CPU', num: true, show: (p) => num(p.cpu_pct, 1, ' %') },
  { key: 'host_rss_bytes', label: 'Host RSS', num: true, show: (p) => bytes(p.host_rss_bytes) },
  { key: 'elapsed_s', label: 'Running', num: true, show: (p) => duration(p.elapsed_s) },
  { key: 'cmdline', label: 'Command', show: (p) => text(p.cmdline), cls: 'cmd' },
];

function compare(key, dir) {
  return (a, b) => {
    const x = a[key], y = b[key];
    if (x == null && y == null) return a.pid - b.pid;
    if (x == null) return 1;            // unknown last, whichever the direction
    if (y == null) return -1;
    const r = typeof x === 'number' ? x - y : String(x).localeCompare(String(y));
    return (r || a.pid - b.pid) * dir;
  };
}

async function killProcess(p) {
  const who = p.user ? `user ${p.user}` : 'an unknown user';
  const what = `${p.proc_name || 'process'} (pid ${p.pid}) of ${who} on GPU ${p.gpu_index}`;
  if (!(await confirmAction('End a process?', `End ${what}? gpuctl sends SIGTERM, then SIGKILL if it is still running.`, 'End process')))
    return;
  try {
    const doc = await change('POST', '/api/v1/kill', { pids: [p.pid], force: true });
    if (!doc) { toast(`Nothing was sent to pid ${p.pid}: no token given.`); return; }
    const r = (doc.processes || []).find((x) => x.pid === p.pid);
    toast(r ? `pid ${p.pid}: ${r.result.replace('_', ' ')}${r.reason ? ' (' + r.reason + ')' : ''}` : `pid ${p.pid}: done`,
      r && (r.result === 'failed' || r.result === 'still_running'));
  } catch (err) {
    toast(`pid ${p.pid} was not ended: ${err.message}`, true);
  }
}

function procTable(state) {
  const head = h('tr', {}, ...COLUMNS.map((c) => {
    const b = h('button', { type: 'button', class: 'sort', text: c.label,
      onclick: () => {
        state.dir = state.sort === c.key ? -state.dir : (c.num ? -1 : 1);
        state.sort = c.key;
        render();          // a person's click: answered at once
      } });
    return h('th', { scope: 'col', class: c.num ? 'n' : '', 'data-key': c.key }, b);
  }), canKill ? h('th', { scope: 'col' }, h('span', { class: 'visually-hidden', text: 'Actions' })) : null);
  state.tbody = h('tbody');
  state.rows = new Map();
  state.filter = h('input', { type: 'search', id: 'proc-filter', placeholder: 'user, process, pid, command',
    oninput: () => render() });
  state.count = h('span', { class: 'muted' });
  return h('section', { class: 'card procs', 'aria-labelledby': 'procs-title' },
    h('div', { class: 'bar' }, h('h2', { id: 'procs-title', text: 'GPU processes' }),
      h('label', { for: 'proc-filter', text: 'Filter' }), state.filter, state.count),
    h('div', { class: 'scroll' }, h('table', { class: 'table' }, h('thead', {}, head), state.tbody)));
}

function procRow(state, key) {
  const cells = COLUMNS.map((c) => h('td', { class: (c.num ? 'n ' : '') + (c.cls || '') }));
  const kill = canKill ? h('button', { type: 'button', class: 'danger small', text: 'Kill' }) : null;
  const tr = h('tr', { 'data-key': key }, ...cells, kill ? h('td', {}, kill) : null);
  const row = { tr, cells, kill, p: null };
  if (kill) kill.addEventListener('click', () => killProcess(row.p));
  state.rows.set(key, row);
  return row;
}

function renderProcs(state, procs) {
  const q = state.filter.value.trim().toLowerCase();
  const shown = procs.filter((p) => !q || [p.pid, p.user, p.proc_name, p.cmdline]
    .some((v) => v != null && String(v).toLowerCase().includes(q)));
  shown.sort(compare(state.sort, state.dir));
  for (const th of state.table.querySelectorAll('th[data-key]'))
    th.setAttribute('aria-sort', th.dataset.key === state.sort ? (state.dir > 0 ? 'ascending' : 'descending') : 'none');
  const keep = new Set();
  let prev = null;
  for (const p of shown) {
    const key = `${p.gpu_index}:${p.pid}:${p.gpu_instance_id ?? ''}`;
    keep.add(key);
    const row = state.rows.get(key) || procRow(state, key);
    row.p = p;
    COLUMNS.forEach((c, i) => setText(row.cells[i], c.show(p)));
    if (row.kill) {
      row.kill.setAttribute('aria-label', `Kill ${p.proc_name || 'process'} (pid ${p.pid}) of ${p.user || 'unknown user'}`);
      row.kill.disabled = p.host_visible === false;
    }
    const want = prev ? prev.nextSibling : state.tbody.firstChild;
    if (want !== row.tr) state.tbody.insertBefore(row.tr, want);
    prev = row.tr;
  }
  for (const [key, row] of state.rows)
    if (!keep.has(key)) { row.tr.remove(); state.rows.delete(key); }
  setText(state.count, `${shown.length} of ${procs.length}`);
  if (!shown.length && !state.empty) {
    state.empty = h('tr', { class: 'empty' }, h('td', { colspan: COLUMNS.length + (canKill ? 1 : 0), text: procs.length ? 'No process matches the filter.' : 'No GPU process.' }));
    state.tbody.append(state.empty);
  } else if (shown.length && state.empty) {
    state.empty.remove();
    state.empty = null;
  } else if (state.empty) {
    setText(state.empty.firstChild, procs.length ? 'No process matches the filter.' : 'No GPU process.');
  }
}

// ---- the view ----

function render() {
  if (!latest) return;
  const doc = latest.data;
  view.root.dataset.seq = latest.seq;   // which sample is on the page (tests, people)
  const at = clock(Date.parse(doc.ts));
  setText(view.when, !live ? `last sample ${at}: not live, the figures below are old`
    : `sample ${at}${latest.stale ? ' (driver slow: last complete sample)' : ''}`);
  view.when.classList.toggle('error', !live);
  const seen = new Set();
  for (const g of doc.gpus || []) {
    seen.add(g.gpu_index);
    let card = view.cards.get(g.gpu_index);
    if (!card) {
      card = gpuCard(g);
      view.cards.set(g.gpu_index, card);
      view.grid.append(card.el);
      card.el.gpuCard = card;
      view.seen.observe(card.el);
    }
    updateCard(card, g);
  }
  for (const [i, card] of view.cards)
    if (!seen.has(i)) {
      view.seen.unobserve(card.el);
      card.charts.forEach((c) => { dueCharts.delete(c); c.destroy(); });
      card.el.remove();
      view.cards.delete(i);
    }
  view.placeholder.hidden = view.cards.size > 0;
  setText(view.placeholder, 'No GPU in this snapshot.');
  renderProcs(view.procs, doc.procs || []);
  if (!rendered) {
    rendered = true;
    performance.mark('gpuctl:first-render');
  }
}

document.addEventListener('visibilitychange', () => {
  if (view && !document.hidden) for (const card of view.cards.values()) drawCharts(card);
});

export function mount(main) {
  const procs = { sort: 'used_mem_mb', dir: -1 };
  const grid = h('div', { class: 'grid gpus' });
  const placeholder = h('p', { class: 'muted placeholder', text: 'Waiting for the first sample…' });
  const when = h('span', { class: 'muted', id: 'sample-time' });
  const root = h('div', { class: 'node' },
    h('div', { class: 'bar' }, h('h2', { text: 'GPUs' }), when), placeholder, grid, procTable(procs));
  procs.table = root.querySelector('table');
  main.append(root);
  const seen = new IntersectionObserver((entries) => {
    for (const en of entries) {
      const card = en.target.gpuCard;
      card.visible = en.isIntersecting;
      drawCharts(card);
    }
  }, { rootMargin: '100px' });
  view = { root, grid, placeholder, when, cards: new Map(), procs, seen };
  root.classList.toggle('stale', !live);
  render();
  return () => {
    if (frame) cancelAnimationFrame(frame);
    frame = 0;
    pendingMs = spentMs = longestMs = 0;
    dueCharts.clear();
    view.seen.disconnect();
    for (const card of view.cards.values()) card.charts.forEach((c) => c.destroy());
    view = null;
  };
}
