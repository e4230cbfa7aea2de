// contention.js - "who is blocking whom": the coordinator's contention
// document (GET /api/cluster/contention, docs/json/contention.md) read
// every 10 s: blocked and idle-but-allocated GPUs, top users, fairness, and
// each recommendation with its evidence and the command.  A recommendation
// to release a GPU has a button that does it through the coordinator's
// forwarded kill (POST /api/nodes/{id}/kill), after a confirmation naming
// the processes, their user and the node; without the token nothing is sent.

import { api, change, confirmAction, toast } from './api.js';
import { nodeApiUrl } from './cluster.js';
import { NA, h, duration, num, pct, setText, text } from './fmt.js';

const REFRESH_MS = 10000;
let canKill = false;           // the coordinator offers POST /api/nodes/{id}/kill

export function setCanKill(yes) {
  canKill = yes;
}

const gib = (b) => (b == null ? NA : `${(b / (1 << 30)).toFixed(1)} GiB`);
const where = (f) => `${f.node}${f.hostname && f.hostname !== f.node ? ` (${f.hostname})` : ''} · GPU ${f.gpu}`;

function table(cols, rows, empty) {
  if (!rows.length) return h('p', { class: 'muted', text: empty });
  return h('div', { class: 'scroll' }, h('table', { class: 'table' },
    h('thead', {}, h('tr', {}, ...cols.map((c) => h('th', { scope: 'col', class: c.n ? 'n' : '', text: c.label })))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...cols.map((c) => h('td', { class: (c.n ? 'n ' : '') + (c.cls || ''), text: c.show(r) })))))));
}

const GPU_COLS = [
  { label: 'Node · GPU', show: where },
  { label: 'GPU', show: (f) => text(f.name) },
  { label: 'Utilisation', n: true, show: (f) => pct(f.utilization_pct) },
  { label: 'Memory held', n: true, show: (f) => `${gib(f.memory_held_bytes)} of ${gib(f.memory_total_bytes)}` },
  { label: 'PIDs', show: (f) => f.pids.join(' ') || NA, cls: 'cmd' },
];
const BLOCKED_COLS = [...GPU_COLS.slice(0, 1), { label: 'User', show: (f) => text(f.user) },
  { label: 'Held for', n: true, show: (f) => secs(f.held_for_s) }, ...GPU_COLS.slice(1)];
const IDLE_COLS = [...GPU_COLS.slice(0, 1), { label: 'Users', show: (f) => f.users.join(', ') || NA },
  { label: 'Idle for', n: true, show: (f) => secs(f.idle_for_s) }, ...GPU_COLS.slice(1)];
const USER_COLS = [
  { label: 'User', show: (u) => text(u.user) },
  { label: 'GPU memory', n: true, show: (u) => gib(u.gpu_memory_bytes) },
  { label: 'GPUs', n: true, show: (u) => num(u.gpus) },
  { label: 'GPU-hours', n: true, show: (u) => num(u.gpu_hours, 2) },
  { label: 'Processes', n: true, show: (u) => num(u.processes) },
  { label: 'Nodes', show: (u) => u.nodes.join(', ') },
  { label: 'Fair shares', n: true, show: (u) => num(u.fair_share_ratio, 2) + (u.over_share ? ' (over)' : '') },
];

// The finding a recommendation's evidence names ("idle_allocated_gpus[0]").
function findingOf(doc, rec) {
  const m = /^(\w+)\[(\d+)\]$/.exec((rec.evidence && rec.evidence.finding) || '');
  return m && Array.isArray(doc[m[1]]) ? doc[m[1]][Number(m[2])] : null;
}

// Seconds as a person reads them; below 10 s with a decimal (a threshold
// of 0.6 s is not "0s").
const secs = (v) => (v != null && v < 10 ? `${v.toFixed(1)} s` : duration(v));

// A recommendation's evidence as sentences: each figure next to the
// threshold it crossed.
function evidenceList(ev) {
  ev = ev || {};
  const items = [];
  const add = (key, s) => { if (key in ev) items.push(s); };
  add('memory_held_bytes', `memory held ${gib(ev.memory_held_bytes)}`);
  add('utilization_pct', `utilisation ${pct(ev.utilization_pct)}` +
    ('low_util_pct' in ev ? ` (below ${pct(ev.low_util_pct)})` : ''));
  add('idle_for_s', `idle for ${secs(ev.idle_for_s)}` + ('idle_s' in ev ? ` (threshold ${secs(ev.idle_s)})` : ''));
  add('held_for_s', `held for ${secs(ev.held_for_s)}` + ('hold_s' in ev ? ` (threshold ${secs(ev.hold_s)})` : ''));
  add('gpus', `${num(ev.gpus)} GPUs, ${num(ev.fair_share_ratio, 2)} fair shares` +
    ` (limit ${num(ev.fair_share_factor, 2)}; a fair share is ${num(ev.fair_share_gpus, 2)} GPUs)`);
  add('finding', `finding: ${ev.finding}`);
  return h('ul', {}, ...items.map((t) => h('li', { text: t })));
}

async function release(rec, finding, refresh) {
  const pids = finding.pids;
  const who = finding.user ? `user ${finding.user}` : finding.users && finding.users.length ? `user ${finding.users.join(', ')}` : 'an unknown user';
  const what = `pid${pids.length === 1 ? '' : 's'} ${pids.join(', ')} of ${who} on ${where(finding)}`;
  if (!(await confirmAction('Release a GPU?', `End ${what}? The coordinator asks node ${rec.node} to send SIGTERM, then SIGKILL to what still runs.`, 'End processes')))
    return;
  try {
    const doc = await change('POST', `/api/nodes/${encodeURIComponent(rec.node)}/kill`, { pids, force: true });
    if (!doc) { toast(`Nothing was sent to node ${rec.node}: no token given.`); return; }
    const results = (doc.processes || []).map((r) => `pid ${r.pid}: ${String(r.result).replace('_', ' ')}`);
    const bad = (doc.processes || []).some((r) => r.result === 'failed' || r.result === 'still_running');
    toast(`node ${rec.node}: ${results.join(', ') || 'done'}`, bad);
    refresh();
  } catch (err) {
    toast(`node ${rec.node}: nothing ended: ${err.message}`, true);
  }
}

function recommendation(doc, rec, i, refresh) {
  const finding = findingOf(doc, rec);
  const target = rec.user && !rec.node ? `user ${rec.user}` : `${rec.node} · GPU ${rec.gpu}${rec.user ? ` · ${rec.user}` : ''}`;
  // The coordinator forwards the kill to the node's own API: a node whose
  // agent registered none (no --api-url) cannot be acted on from here.
  const noApi = nodeApiUrl(rec.node) === null;
  const act = canKill && finding && finding.pids && finding.pids.length && /^release_/.test(rec.kind)
    ? h('button', { type: 'button', class: 'danger small', 'data-rec': `${rec.kind}:${rec.node}:${rec.gpu}`,
      'aria-label': `End pids ${finding.pids.join(' ')} on node ${rec.node} GPU ${rec.gpu}`,
      text: `End pid${finding.pids.length === 1 ? '' : 's'} ${finding.pids.join(' ')}`,
      disabled: noApi, title: noApi ? `node ${rec.node} registered no API URL (gpuctl agent --api-url): run the command there` : null,
      onclick: () => release(rec, finding, refresh) })
    : null;
  return h('article', { class: `card rec rec-${rec.kind}`, 'data-index': i },
    h('div', { class: 'bar' }, h('span', { class: 'badge risk-medium', text: rec.kind.replace(/_/g, ' ') }),
      h('h4', { text: target }), act),
    h('h4', { text: 'Evidence' }), evidenceList(rec.evidence),
    h('p', {}, h('strong', { text: 'Command: ' }), h('code', { class: 'cmd', text: rec.command }),
      rec.run_on && rec.run_on.length ? h('span', { class: 'muted', text: ` on ${rec.run_on.join(', ')}` }) : null),
    act && noApi ? h('p', { class: 'muted', text: `Node ${rec.node} registered no API URL (gpuctl agent --api-url), so the coordinator cannot act there: run the command on the node.` }) : null);
}

function topList(title, rows, key, show) {
  return h('div', {}, h('h4', { text: title }),
    rows.length ? h('ol', { class: 'toplist' }, ...rows.map((r) => h('li', {}, `${r.user}: `, h('strong', { text: show(r[key]) }))))
      : h('p', { class: 'muted', text: 'nobody' }));
}

export function mount(main) {
  const status = h('p', { class: 'muted', role: 'status', text: 'Loading…' });
  const body = h('div', { class: 'contention-body' });
  const button = h('button', { type: 'button', text: 'Refresh' });
  let alive = true;
  let timer = null;

  async function load() {
    clearTimeout(timer);
    try {
      const doc = await api('GET', '/api/cluster/contention');
      if (!alive) return;
      show(doc);
    } catch (err) {
      if (alive) { setText(status, `No contention analysis: ${err.message}`); status.className = 'error'; }
    }
    if (alive) timer = setTimeout(load, REFRESH_MS);
  }

  function show(d) {
    const t = d.totals;
    status.className = 'muted';
    setText(status, `${num(t.nodes_counted)} of ${num(t.nodes)} nodes counted (${num(t.nodes_skipped)} offline), ` +
      `${num(t.gpus_in_use)} of ${num(t.gpus)} GPUs in use, mean utilisation ${pct(t.mean_utilization_pct)}, ` +
      `${gib(t.memory_held_bytes)} of ${gib(t.memory_total_bytes)} held; analysed ${new Date(d.generated_at).toLocaleTimeString()}.`);
    // Keep the focus on the button a person was on across the redraw.
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.rec : null;
    const f = d.fairness || {};
    body.replaceChildren(
      h('section', { class: 'card', 'aria-labelledby': 'recs-title' },
        h('h3', { id: 'recs-title', text: `Recommendations (${d.recommendations.length})` }),
        d.recommendations.length ? h('div', { class: 'recs' }, ...d.recommendations.map((r, i) => recommendation(d, r, i, load)))
          : h('p', { class: 'ok', text: 'Nothing to do: no GPU is blocked or idle with memory held, nobody is over their share.' })),
      h('div', { class: 'findings' },
        h('section', { class: 'card blocked' }, h('h3', { text: `Blocked GPUs (${d.blocked_gpus.length})` }),
          table(BLOCKED_COLS, d.blocked_gpus, `No GPU held by one user below ${pct(d.thresholds.low_util_pct)} for ${secs(d.thresholds.hold_s)}.`)),
        h('section', { class: 'card idle' }, h('h3', { text: `Idle but allocated (${d.idle_allocated_gpus.length})` }),
          table(IDLE_COLS, d.idle_allocated_gpus, `No GPU with memory held at ≤ ${pct(d.thresholds.idle_util_pct)} for ${secs(d.thresholds.idle_s)}.`))),
      h('section', { class: 'card', 'aria-labelledby': 'top-title' },
        h('h3', { id: 'top-title', text: 'Top users' }),
        h('div', { class: 'tops' },
          topList('By GPU memory', d.top_users.by_gpu_memory, 'gpu_memory_bytes', gib),
          topList('By GPU-hours', d.top_users.by_gpu_hours, 'gpu_hours', (v) => num(v, 2)),
          topList('By GPUs', d.top_users.by_gpus, 'gpus', (v) => num(v))),
        h('p', { class: 'muted', text: `Fairness: ${num(f.users_holding)} user${f.users_holding === 1 ? '' : 's'} holding GPUs, fair share ${num(f.fair_share_gpus, 2)} GPUs each, ` +
          `Jain's index ${num(f.jain_index, 2)}${f.over_share && f.over_share.length ? `, over their share: ${f.over_share.join(', ')}` : ''}.` }),
        table(USER_COLS, d.users, 'No user has a GPU process.')));
    if (focused) {
      const again = body.querySelector(`button[data-rec="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
  }

  button.addEventListener('click', load);
  main.append(h('section', { class: 'contention', 'aria-labelledby': 'contention-title' },
    h('div', { class: 'bar' }, h('h2', { id: 'contention-title', text: 'Contention' }), button), status, body));
  load();
  return () => { alive = false; clearTimeout(timer); };
}
