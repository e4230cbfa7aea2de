// audit.js - usage over a chosen range from the node's audit history
// (GET /api/v1/audit/summary?hours=N): per user, per process, per GPU and
// by hour of the day.

import { api } from './api.js';
import { h, num, amount, bytes, text, setText } from './fmt.js';

const RANGES = [[1, 'last hour'], [6, 'last 6 hours'], [24, 'last 24 hours'], [168, 'last 7 days'], [720, 'last 30 days']];

function table(caption, cols, rows) {
  return h('section', { class: 'card' }, h('h3', { text: caption }),
    rows.length ? h('div', { class: 'scroll' }, h('table', { class: 'table' },
      h('thead', {}, h('tr', {}, ...cols.map((c) => h('th', { scope: 'col', class: c.n ? 'n' : '', text: c.label })))),
      h('tbody', {}, ...rows.map((r) => h('tr', {}, ...cols.map((c) => h('td', { class: c.n ? 'n' : '', text: c.show(r) })))))))
      : h('p', { class: 'muted', text: 'No rows in this range.' }));
}

export function mount(main) {
  const select = h('select', { id: 'audit-range' },
    ...RANGES.map(([v, label]) => h('option', { value: v, text: label, selected: v === 24 })));
  const status = h('p', { class: 'muted', role: 'status' });
  const body = h('div', { class: 'grid wide' });
  let alive = true;
  let hourly = null;

  async function load() {
    setText(status, 'Loading…');
    try {
      const doc = await api('GET', `/api/v1/audit/summary?hours=${select.value}`);
      if (alive) show(doc);
    } catch (err) {
      if (alive) setText(status, `No audit summary: ${err.message}`);
    }
  }

  function show(d) {
    setText(status, `${new Date(d.from).toLocaleString()} – ${new Date(d.to).toLocaleString()}: ` +
      `${num(d.samples)} samples, ${num(d.process_rows)} process rows, ${num(d.gpu_rows)} GPU rows.`);
    const usage = [
      { label: 'GPU memory GiB·h', n: true, show: (r) => amount(r.gpu_memory_gib_hours) },
      { label: 'SM %·h', n: true, show: (r) => amount(r.sm_pct_hours) },
      { label: 'Rows', n: true, show: (r) => num(r.rows) },
      { label: 'Peak memory', n: true, show: (r) => bytes(r.peak_memory_bytes) },
    ];
    const canvas = h('canvas', { role: 'img', 'aria-label': 'GPU memory GiB-hours by hour of the day' });
    body.replaceChildren(
      table('Top users', [{ label: 'User', show: (r) => text(r.user) }, ...usage], d.top_users || []),
      table('Top processes', [{ label: 'Process', show: (r) => text(r.name) }, ...usage], d.top_processes || []),
      table('GPUs', [
        { label: 'Host', show: (r) => text(r.host) }, { label: 'GPU', n: true, show: (r) => num(r.gpu) },
        { label: 'Name', show: (r) => text(r.name) },
        { label: 'Mean util.', n: true, show: (r) => num(r.utilization_avg_pct, 1, ' %') },
        { label: 'Peak util.', n: true, show: (r) => num(r.utilization_peak_pct, 0, ' %') },
        { label: 'Peak memory', n: true, show: (r) => bytes(r.memory_peak_bytes) }], d.gpus || []),
      h('section', { class: 'card' }, h('h3', { text: 'By hour of the day' }), h('div', { class: 'chart tall' }, canvas)));
    if (hourly) hourly.destroy();
    const css = getComputedStyle(document.documentElement);
    const color = (n) => css.getPropertyValue(n).trim();
    hourly = new window.Chart(canvas, {
      type: 'bar',
      data: {
        labels: (d.hourly || []).map((r) => String(r.hour).padStart(2, '0')),
        datasets: [{ label: 'GPU memory GiB·h', data: (d.hourly || []).map((r) => r.gpu_memory_gib_hours), backgroundColor: color('--chart-a') }],
      },
      options: { animation: false, responsive: true, maintainAspectRatio: false,
        plugins: { legend: { labels: { color: color('--muted') } } },
        scales: { x: { ticks: { color: color('--muted') }, grid: { color: color('--grid') } },
          y: { beginAtZero: true, ticks: { color: color('--muted') }, grid: { color: color('--grid') } } } },
    });
  }

  select.addEventListener('change', load);
  main.append(h('section', { class: 'audit', 'aria-labelledby': 'audit-title' },
    h('div', { class: 'bar' }, h('h2', { id: 'audit-title', text: 'Audit' }),
      h('label', { for: 'audit-range', text: 'Range' }), select), status, body));
  load();
  return () => { alive = false; if (hourly) hourly.destroy(); };
}
