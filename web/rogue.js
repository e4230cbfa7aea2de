// rogue.js - rogue detection: the findings of GET /api/v1/rogue (a scan of
// the running GPU processes and the audit history) with their risk,
// confidence and evidence, and a "Scan now" button that runs a new scan.

import { api } from './api.js';
import { h, num, text, setText } from './fmt.js';

export function mount(main) {
  const status = h('p', { class: 'muted', role: 'status', text: 'Scanning…' });
  const body = h('div', { class: 'findings' });
  const button = h('button', { type: 'button', text: 'Scan now' });
  let alive = true;

  async function scan() {
    button.disabled = true;
    setText(status, 'Scanning…');
    try {
      const doc = await api('GET', '/api/v1/rogue');
      if (!alive) return;
      show(doc);
    } catch (err) {
      if (alive) { setText(status, `The scan failed: ${err.message}`); status.className = 'error'; }
    } finally {
      button.disabled = false;
    }
  }

  function show(doc) {
    const s = doc.scanned || {};
    status.className = 'muted';
    setText(status, `Scanned ${num(s.live_processes)} running GPU processes` +
      (s.history ? ` and ${num(s.history_rows)} history rows over ${num(s.hours)} h` : ' (no audit history yet)') +
      ` at ${new Date().toLocaleTimeString()}. ${doc.findings.length} finding${doc.findings.length === 1 ? '' : 's'}.`);
    if (!doc.findings.length) {
      body.replaceChildren(h('p', { class: 'ok', text: 'Nothing suspicious found.' }));
      return;
    }
    body.replaceChildren(...doc.findings.map((f) => h('article', { class: `card finding finding-${f.risk}` },
      h('div', { class: 'bar' },
        h('span', { class: `badge risk-${f.risk}`, text: f.risk }),
        h('h3', { text: `${f.category.replace(/_/g, ' ')} · ${text(f.process)} (pid ${f.pid})` })),
      h('dl', { class: 'stats' },
        h('div', { class: 'stat' }, h('dt', { text: 'User' }), h('dd', { text: text(f.user) })),
        h('div', { class: 'stat' }, h('dt', { text: 'Confidence' }), h('dd', { text: num(f.confidence * 100, 0, ' %') })),
        h('div', { class: 'stat' }, h('dt', { text: 'Risk score' }), h('dd', { text: num(f.risk_score, 2) })),
        h('div', { class: 'stat' }, h('dt', { text: 'GPU' }), h('dd', { text: num(f.gpu) })),
        h('div', { class: 'stat' }, h('dt', { text: 'Running' }), h('dd', { text: f.live ? 'yes' : 'no (history)' }))),
      h('p', { class: 'cmd', text: text(f.command_line) }),
      h('h4', { text: 'Evidence' }),
      h('ul', {}, ...f.evidence.map((ev) => h('li', {}, `${ev.text} `, h('span', { class: 'muted', text: `(${num(ev.confidence * 100, 0, ' %')})` })))),
      h('p', {}, h('strong', { text: 'Recommendation: ' }), h('code', { text: f.recommendation }))))); 
  }

  button.addEventListener('click', scan);
  main.append(h('section', { class: 'rogue', 'aria-labelledby': 'rogue-title' },
    h('div', { class: 'bar' }, h('h2', { id: 'rogue-title', text: 'Rogue detection' }), button), status, body));
  scan();
  return () => { alive = false; };
}
