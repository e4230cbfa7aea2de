// cluster.js - the coordinator's overview: totals (nodes by status, GPUs,
// memory, mean utilisation, power), a grid of every GPU of every node
// coloured by utilisation or memory (one canvas, so 1,000 nodes x 8 GPUs
// cost a few filled paths per update, not 8,000 elements), and a table of
// the nodes, problems first.  Live from the cluster WebSocket
// (/api/cluster/ws): its greeting holds every node and its GPUs' figures,
// each update the events and the figures that changed.  The state is kept
// while another view is shown; drawing happens once per animation frame.

import { connectFeed } from './api.js';
import { NA, h, clock, duration, num, pct, setText, text } from './fmt.js';

const STATUS_ORDER = { offline: 0, stale: 1, online: 2 };
const TABLE_ROWS = 100;

// id -> {id, hostname, status, since (ms, the status's start when known),
// lastSeen (ms), seq, gpus: Map index -> figures}
const nodes = new Map();
let order = [];               // node ids, sorted; rebuilt when nodes come or go
let orderDirty = true;
let lastUpdate = null;        // the number of the last message applied
let connected = false;
let downSince = null;
let feed = null;
let view = null;              // the mounted view's state
let frame = 0;                // a requested animation frame
let pendingMs = 0;            // scripting time of the messages not yet drawn

// Scripting time per update (ms): parsing, applying and drawing one
// message; a ring of the last 120, for bench/web and the curious.
const updateMs = (window.gpuctlClusterUpdateMs = []);
// and, for bench/web's anchor, what JSON.parse alone took and the sizes
const parseMs = (window.gpuctlClusterParseMs = []);
const msgBytes = (window.gpuctlClusterBytes = []);
const ring = (a, v) => { if (a.push(v) > 120) a.shift(); };

// ---- the state, from the feed ----

const ts = (s) => (s ? Date.parse(s) : null);

function nodeFrom(n) {
  let node = nodes.get(n.id);
  if (!node) {
    node = { id: n.id, gpus: new Map(), idx: [] };
    nodes.set(n.id, node);
    orderDirty = true;
  }
  node.hostname = n.hostname;
  node.status = n.status;
  node.lastSeen = ts(n.last_seen);
  node.since = null;          // when it turned stale or offline: only events say
  node.gpuCount = n.gpus;
  node.apiUrl = n.api_url;
  return node;
}

// Where a node's own API is: its URL, null when its agent registered none
// (the coordinator cannot forward to it), undefined when not known yet.
export function nodeApiUrl(id) {
  const n = nodes.get(id);
  return n ? n.apiUrl : undefined;
}

function applyFigures(node, seq, gpus) {
  node.seq = seq;
  for (const f of gpus) {
    let g = node.gpus.get(f.gpu);
    if (!g) {
      g = { util: null, used: null, total: null, power: null, held: 0, idle: false };
      node.gpus.set(f.gpu, g);
      node.idx = [...node.gpus.keys()].sort((a, b) => a - b);
    }
    if ('utilization_pct' in f) g.util = f.utilization_pct;
    if ('memory_used_bytes' in f) g.used = f.memory_used_bytes;
    if ('memory_total_bytes' in f) g.total = f.memory_total_bytes;
    if ('power_w' in f) g.power = f.power_w;
    if ('memory_held_bytes' in f) g.held = f.memory_held_bytes;
    if ('idle_allocated' in f) g.idle = f.idle_allocated;
  }
}

function applyEvent(ev) {
  if (ev.event === 'left') {
    if (nodes.delete(ev.node)) orderDirty = true;
    return;
  }
  if (ev.event !== 'joined' && ev.event !== 'status') return;
  let node = nodes.get(ev.node);
  if (!node) {
    node = { id: ev.node, hostname: null, gpus: new Map(), idx: [], lastSeen: ts(ev.at) };
    nodes.set(ev.node, node);
    orderDirty = true;
  }
  if (node.status !== ev.status) {
    node.status = ev.status;
    node.since = ev.status === 'online' ? null : ts(ev.at);
  }
  if (ev.status === 'online') node.lastSeen = ts(ev.at);
}

function onMessage(msg, parsing, length) {
  const t0 = performance.now();
  ring(parseMs, parsing);
  ring(msgBytes, length);
  if (msg.type === 'nodes') {
    nodes.clear();
    orderDirty = true;
    for (const n of msg.nodes || []) {
      const node = nodeFrom(n);
      if (n.figures) applyFigures(node, n.figures_seq, n.figures);
    }
  } else if (msg.type === 'update') {
    if (lastUpdate === null || msg.update !== lastUpdate + 1) {
      // No greeting yet, or an update was skipped (a slow tab): the deltas
      // no longer add up to the state; a new connection starts with it.
      lastUpdate = null;
      feed.restart();
      return;
    }
    for (const ev of msg.events || []) applyEvent(ev);
    const now = Date.now();
    for (const d of msg.nodes || []) {
      const node = nodes.get(d.node);
      if (!node) continue;
      node.lastSeen = now;
      applyFigures(node, d.seq, d.gpus);
    }
  } else {
    return;
  }
  lastUpdate = msg.update;
  pendingMs += parsing + (performance.now() - t0);
  schedule();
}

function onState(state) {
  connected = state.connected;
  downSince = state.since;
  if (!connected) lastUpdate = null;
  schedule();
}

// Starts the feed (once): the coordinator's page keeps the cluster state
// from the first view on, so switching views never starts from nothing.
export function start() {
  if (!feed) feed = connectFeed('/api/cluster/ws', onMessage, onState);
}

// ---- figures ----

function sortedIds() {
  if (orderDirty) {
    order = [...nodes.keys()].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    orderDirty = false;
  }
  return order;
}

const counted = (n) => n.status === 'online' || n.status === 'stale';

// Totals over online and stale nodes (as the coordinator's own totals):
// unknown figures are left out of sums and means, and a sum with no known
// term is unknown, not 0.
function totals() {
  const t = { nodes: nodes.size, online: 0, stale: 0, offline: 0, gpus: 0,
    used: null, total: null, util: null, utilN: 0, power: null, powerN: 0 };
  for (const n of nodes.values()) {
    t[n.status] = (t[n.status] || 0) + 1;
    if (!counted(n)) continue;
    for (const g of n.gpus.values()) {
      t.gpus++;
      if (g.used != null) t.used = (t.used || 0) + g.used;
      if (g.total != null) t.total = (t.total || 0) + g.total;
      if (g.power != null) { t.power = (t.power || 0) + g.power; t.powerN++; }
      if (g.util != null) { t.util = (t.util || 0) + g.util; t.utilN++; }
    }
  }
  if (t.utilN) t.util /= t.utilN;
  return t;
}

function memText(used, total) {
  if (used == null && total == null) return NA;
  const gib = (v) => (v == null ? NA : (v / (1 << 30)).toFixed(v >= 100 * (1 << 30) ? 0 : 1));
  const unit = (total ?? used) >= 1024 * (1 << 30) ? ['TiB', 1 << 10] : null;
  if (unit) {
    const t = (v) => (v == null ? NA : (v / (1 << 30) / unit[1]).toFixed(1));
    return `${t(used)} / ${t(total)} TiB`;
  }
  return `${gib(used)} / ${gib(total)} GiB`;
}

function nodeFigures(n) {
  let used = null, total = null, power = null, util = null, k = 0;
  for (const g of n.gpus.values()) {
    if (g.used != null) used = (used || 0) + g.used;
    if (g.total != null) total = (total || 0) + g.total;
    if (g.power != null) power = (power || 0) + g.power;
    if (g.util != null) { util = (util || 0) + g.util; k++; }
  }
  return { used, total, power, util: k ? util / k : null };
}

// ---- the grid (canvas) ----

// Five steps of a figure (0-100) and "unknown"; the palette follows the
// theme and is read once per draw.
const STEPS = [10, 40, 70, 90];
const step = (v) => (v == null ? 5 : v < STEPS[0] ? 0 : v < STEPS[1] ? 1 : v < STEPS[2] ? 2 : v < STEPS[3] ? 3 : 4);
const LEGEND = ['< 10 %', '10–40 %', '40–70 %', '70–90 %', '≥ 90 %', 'N/A'];

function palette() {
  const css = getComputedStyle(document.documentElement);
  const v = (n) => css.getPropertyValue(n).trim();
  return { cells: [0, 1, 2, 3, 4, 5].map((i) => v(`--heat-${i}`)), line: v('--line'), warn: v('--warn'),
    danger: v('--danger'), fg: v('--muted'), bg: v('--card'), accent: v('--accent') };
}

function figureOf(g, by) {
  if (by === 'memory') return g.used != null && g.total ? (100 * g.used) / g.total : null;
  return g.util;
}

// Where each node's block goes: blocks of cols x rows cells (cols 8, or 4
// on a narrow screen), as many to a line as fit; labels above the blocks
// while there are few enough nodes to read them.
function layout(width, count, maxGpus) {
  const cell = count > 400 ? 9 : count > 50 ? 12 : 18, gap = count > 50 ? 1 : 2;
  const cols = Math.min(Math.max(maxGpus, 1), width < 600 ? 4 : 8);
  const rows = Math.max(1, Math.ceil(maxGpus / cols));
  const label = count <= 200 ? 17 : 0;  // node ids above the blocks
  const bw = cols * (cell + gap) - gap, bh = rows * (cell + gap) - gap + label;
  const pad = 6;
  const perLine = Math.max(1, Math.floor((width + pad) / (bw + pad)));
  const lines = Math.ceil(count / perLine);
  return { cell, gap, cols, rows, label, bw, bh, pad, perLine, height: Math.max(lines * (bh + pad) - pad, cell) };
}

function drawGrid() {
  const { canvas, by } = view;
  const ids = sortedIds();
  let maxGpus = 1;
  for (const n of nodes.values()) maxGpus = Math.max(maxGpus, n.gpus.size, n.gpuCount || 0);
  const width = Math.max(view.gridBox.clientWidth, 100);
  const L = layout(width, ids.length, maxGpus);
  const dpr = window.devicePixelRatio || 1;
  if (view.width !== width || view.height !== L.height || view.dpr !== dpr) {
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(L.height * dpr);
    canvas.style.height = L.height + 'px';
    view.width = width;
    view.height = L.height;
    view.dpr = dpr;
  }
  view.layout = L;
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, L.height);
  const pal = view.pal || (view.pal = palette());
  // One path per colour: 8,000 rectangles in six fills.
  const paths = pal.cells.map(() => new Path2D());
  const empty = new Path2D();
  const frames = { stale: new Path2D(), offline: new Path2D() };
  const labels = [];
  ids.forEach((id, i) => {
    const n = nodes.get(id);
    const x0 = (i % L.perLine) * (L.bw + L.pad), y0 = Math.floor(i / L.perLine) * (L.bh + L.pad);
    if (L.label) labels.push([n.id, x0, y0]);
    const top = y0 + L.label;
    const slots = Math.max(n.gpus.size, n.gpuCount || 0);
    const idx = n.idx;
    for (let k = 0; k < slots; k++) {
      const x = x0 + (k % L.cols) * (L.cell + L.gap), y = top + Math.floor(k / L.cols) * (L.cell + L.gap);
      const g = k < idx.length ? n.gpus.get(idx[k]) : null;
      if (!g || n.status === 'offline') empty.rect(x + 0.5, y + 0.5, L.cell - 1, L.cell - 1);
      else paths[step(figureOf(g, by))].rect(x, y, L.cell, L.cell);
    }
    if (!slots) empty.rect(x0 + 0.5, top + 0.5, L.cell - 1, L.cell - 1);
    if (n.status !== 'online' && frames[n.status])
      frames[n.status].rect(x0 - 2.5, top - 2.5, L.bw + 5, L.bh - L.label + 5);
  });
  paths.forEach((p, i) => { ctx.fillStyle = pal.cells[i]; ctx.fill(p); });
  ctx.lineWidth = 1;
  ctx.strokeStyle = pal.line;
  ctx.stroke(empty);
  ctx.lineWidth = 2;
  ctx.strokeStyle = pal.warn;
  ctx.stroke(frames.stale);
  ctx.strokeStyle = pal.danger;
  ctx.stroke(frames.offline);
  if (labels.length) {
    ctx.fillStyle = pal.fg;
    ctx.font = '10px system-ui, sans-serif';
    ctx.textBaseline = 'top';
    for (const [s, x, y] of labels) ctx.fillText(s.length > 14 ? s.slice(0, 13) + '…' : s, x, y, L.bw);
  }
  view.drawnIds = ids;
}

// The node and GPU under a point of the canvas (CSS pixels), or null.
function cellAt(x, y) {
  const L = view.layout;
  if (!L) return null;
  const col = Math.floor(x / (L.bw + L.pad)), line = Math.floor(y / (L.bh + L.pad));
  if (col >= L.perLine) return null;
  const i = line * L.perLine + col;
  const id = view.drawnIds[i];
  if (!id) return null;
  const n = nodes.get(id);
  const bx = x - col * (L.bw + L.pad), by = y - line * (L.bh + L.pad) - L.label;
  const cx = Math.floor(bx / (L.cell + L.gap)), cy = Math.floor(by / (L.cell + L.gap));
  const idx = n.idx;
  const k = cy * L.cols + cx;
  const gpu = by >= 0 && cx < L.cols && k >= 0 && k < idx.length ? idx[k] : null;
  return { n, gpu };
}

function tip(ev) {
  const r = view.canvas.getBoundingClientRect();
  const at = cellAt(ev.clientX - r.left, ev.clientY - r.top);
  if (!at) { view.tip.hidden = true; return; }
  const { n, gpu } = at;
  const lines = [`${n.id}${n.hostname ? ` (${n.hostname})` : ''} · ${n.status || NA}`];
  if (gpu != null) {
    const g = n.gpus.get(gpu);
    lines.push(`GPU ${gpu}: utilisation ${pct(g.util)}, memory ${memText(g.used, g.total)}, power ${num(g.power, 0, ' W')}` +
      (g.idle ? ', idle but allocated' : ''));
  }
  view.tip.textContent = lines.join('\n');
  view.tip.hidden = false;
  const left = Math.min(ev.clientX - r.left + 12, r.width - view.tip.offsetWidth - 4);
  view.tip.style.transform = `translate(${Math.max(0, left)}px, ${ev.clientY - r.top + 14}px)`;
}

// ---- the node table: problems first, at most TABLE_ROWS rows ----

const NODE_COLS = [
  ['Node', (n) => n.id],
  ['Host', (n) => text(n.hostname)],
  ['Status', (n) => statusText(n)],
  ['GPUs', (n) => num(n.gpus.size || n.gpuCount)],
  ['Utilisation', (n, f) => pct(f.util)],
  ['Memory', (n, f) => memText(f.used, f.total)],
  ['Power', (n, f) => num(f.power, 0, ' W')],
];

function statusText(n) {
  if (n.status === 'online') return 'online';
  const since = n.since ? ` since ${clock(n.since)}` : '';
  const seen = n.lastSeen ? `, last seen ${duration((Date.now() - n.lastSeen) / 1000)} ago` : '';
  return `${n.status || NA}${since}${seen}`;
}

function drawTable() {
  const q = view.filter.value.trim().toLowerCase();
  const ids = sortedIds().filter((id) => {
    if (!q) return true;
    const n = nodes.get(id);
    return id.toLowerCase().includes(q) || (n.hostname || '').toLowerCase().includes(q) || (n.status || '').includes(q);
  });
  ids.sort((a, b) => (STATUS_ORDER[nodes.get(a).status] ?? 3) - (STATUS_ORDER[nodes.get(b).status] ?? 3));
  const shown = ids.slice(0, TABLE_ROWS);
  const rows = view.rows;
  while (rows.length < shown.length) {
    const cells = NODE_COLS.map((_, i) => h('td', { class: i >= 3 ? 'n' : '' }));
    const tr = h('tr', {}, ...cells);
    rows.push({ tr, cells });
    view.tbody.append(tr);
  }
  while (rows.length > shown.length) rows.pop().tr.remove();
  shown.forEach((id, r) => {
    const n = nodes.get(id);
    const f = nodeFigures(n);
    const row = rows[r];
    if (row.tr.dataset.node !== id) row.tr.dataset.node = id;
    const cls = `status-${n.status}`;
    if (row.tr.className !== cls) row.tr.className = cls;
    NODE_COLS.forEach(([, show], i) => setText(row.cells[i], show(n, f)));
  });
  setText(view.count, ids.length > TABLE_ROWS ? `first ${TABLE_ROWS} of ${ids.length}` : `${ids.length} of ${nodes.size}`);
}

// ---- the view ----

function draw() {
  frame = 0;
  if (!view) return;
  const t0 = performance.now();
  const t = totals();
  const s = view.stats;
  setText(s.nodes, `${t.nodes}`);
  setText(s.online, `${t.online}`);
  setText(s.stale, `${t.stale}`);
  setText(s.offline, `${t.offline}`);
  setText(s.gpus, num(t.gpus));
  setText(s.mem, memText(t.used, t.total));
  setText(s.util, t.utilN ? pct(t.util) : NA);
  // A sum or mean over part of the GPUs says over how many.
  setText(s.utilLabel, t.utilN && t.utilN < t.gpus ? `Mean utilisation · ${t.utilN} of ${t.gpus} GPUs` : 'Mean utilisation');
  setText(s.powerLabel, t.powerN && t.powerN < t.gpus ? `Power · ${t.powerN} of ${t.gpus} GPUs` : 'Power');
  setText(s.power, t.power == null ? NA : t.power >= 10000 ? `${(t.power / 1000).toFixed(1)} kW` : num(t.power, 0, ' W'));
  setText(view.conn, connected ? 'live' : downSince ? `disconnected since ${clock(downSince)}` : 'connecting…');
  view.conn.className = connected ? 'conn live' : 'conn down';
  view.root.classList.toggle('stale', !connected);
  view.placeholder.hidden = nodes.size > 0;
  drawGrid();
  drawTable();
  if (lastUpdate !== null) view.root.dataset.update = lastUpdate;
  if (!view.rendered && nodes.size) {
    view.rendered = true;
    performance.mark('gpuctl:cluster-first-render');
  }
  if (pendingMs) {
    ring(updateMs, pendingMs + performance.now() - t0);
    pendingMs = 0;
  }
}

function schedule() {
  if (view && !frame && !document.hidden) frame = requestAnimationFrame(draw);
  else if (!view) pendingMs = 0;
}

function stat(label, id) {
  const value = h('dd', { id, text: NA });
  const dt = h('dt', { text: label });
  return [h('div', { class: 'stat' }, dt, value), value, dt];
}

export function mount(main) {
  start();
  const [nodesEl, nodesV] = stat('Nodes', 'c-nodes');
  const [onlineEl, onlineV] = stat('Online', 'c-online');
  const [staleEl, staleV] = stat('Stale', 'c-stale');
  const [offlineEl, offlineV] = stat('Offline', 'c-offline');
  const [gpusEl, gpusV] = stat('GPUs', 'c-gpus');
  const [memEl, memV] = stat('Memory used / total', 'c-mem');
  const [utilEl, utilV, utilL] = stat('Mean utilisation', 'c-util');
  const [powerEl, powerV, powerL] = stat('Power', 'c-power');
  const by = h('select', { id: 'grid-by' }, h('option', { value: 'util', text: 'utilisation' }),
    h('option', { value: 'memory', text: 'memory used' }));
  const canvas = h('canvas', { class: 'gpu-grid', role: 'img',
    'aria-label': 'Every GPU of every node, coloured by the chosen figure; the node table below holds the same figures' });
  const tipEl = h('div', { class: 'grid-tip', role: 'tooltip', hidden: true });
  const gridBox = h('div', { class: 'grid-box' }, canvas, tipEl);
  const filter = h('input', { type: 'search', id: 'node-filter', placeholder: 'node, host, status' });
  const tbody = h('tbody');
  const count = h('span', { class: 'muted' });
  const conn = h('span', { id: 'cluster-conn', class: 'conn', role: 'status', text: 'connecting…' });
  const placeholder = h('p', { class: 'muted placeholder', text: 'No node has registered yet.' });
  const root = h('div', { class: 'cluster' },
    h('div', { class: 'bar' }, h('h2', { text: 'Cluster' }), conn),
    h('dl', { class: 'stats card totals' }, nodesEl, onlineEl, staleEl, offlineEl, gpusEl, memEl, utilEl, powerEl),
    h('section', { class: 'card', 'aria-labelledby': 'grid-title' },
      h('div', { class: 'bar' }, h('h3', { id: 'grid-title', text: 'GPUs' }),
        h('label', { for: 'grid-by', text: 'Colour by' }), by,
        h('p', { class: 'legend heat', 'aria-hidden': 'true' },
          ...LEGEND.map((l, i) => h('span', { class: `key k${i}`, text: l })),
          h('span', { class: 'key kstale', text: 'stale' }), h('span', { class: 'key koffline', text: 'offline' }))),
      placeholder, gridBox),
    h('section', { class: 'card', 'aria-labelledby': 'nodes-title' },
      h('div', { class: 'bar' }, h('h3', { id: 'nodes-title', text: 'Nodes' }),
        h('label', { for: 'node-filter', text: 'Filter' }), filter, count),
      h('div', { class: 'scroll' }, h('table', { class: 'table nodes' },
        h('thead', {}, h('tr', {}, ...NODE_COLS.map(([l], i) => h('th', { scope: 'col', class: i >= 3 ? 'n' : '', text: l })))),
        tbody))));
  main.append(root);
  view = { root, canvas, gridBox, tip: tipEl, filter, tbody, count, conn, placeholder, rows: [], by: 'util',
    stats: { nodes: nodesV, online: onlineV, stale: staleV, offline: offlineV, gpus: gpusV, mem: memV, util: utilV, power: powerV, utilLabel: utilL, powerLabel: powerL } };
  by.addEventListener('change', () => { view.by = by.value; schedule(); });
  filter.addEventListener('input', schedule);
  canvas.addEventListener('mousemove', tip);
  canvas.addEventListener('mouseleave', () => { view.tip.hidden = true; });
  const resized = new ResizeObserver(() => schedule());
  resized.observe(gridBox);
  const scheme = matchMedia('(prefers-color-scheme: dark)');
  const recolour = () => { if (view) { view.pal = null; schedule(); } };
  scheme.addEventListener('change', recolour);
  // Ages in the table ("last seen 40s ago") move without messages.
  const ticker = setInterval(() => { if (nodes.size) schedule(); }, 5000);
  draw();
  return () => {
    resized.disconnect();
    scheme.removeEventListener('change', recolour);
    clearInterval(ticker);
    if (frame) cancelAnimationFrame(frame);
    frame = 0;
    view = null;
  };
}

document.addEventListener('visibilitychange', () => { if (!document.hidden) schedule(); });
