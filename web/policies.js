// policies.js - guard policies: the global switches (on/off, enforcement
// mode), tabs for user, group, GPU and time policies with edit and delete,
// and a "test policies" panel.  Every change is saved through
// PUT /api/v1/policies (the whole configuration, validated whole by the
// server and written to guard.toml); the browser checks each field first,
// and the server's refusal is shown at the field its message names.

import { api, change, confirmAction, toast } from './api.js';
import { h, num, text, setText } from './fmt.js';

const NUM = { type: 'number', min: 0, step: 'any' };
const PCT = { type: 'number', min: 0, max: 100, step: 'any' };
const INT = { type: 'number', min: 0, step: 1 };

const KINDS = {
  user: {
    label: 'Users', noun: 'user', section: 'user_policies', keyLabel: 'User name', keyPattern: '[^\\s.]+',
    fields: [
      ['memory_limit_gb', 'Memory limit (GB)', NUM], ['utilization_limit_pct', 'Utilisation limit (%)', PCT],
      ['duration_limit_hours', 'Duration limit (h)', NUM], ['max_concurrent_processes', 'Max. processes', INT],
      ['priority', 'Priority', { type: 'number', step: 1 }],
      ['allowed_gpus', 'Allowed GPUs', 'ints'], ['blocked_gpus', 'Blocked GPUs', 'ints'],
    ],
  },
  group: {
    label: 'Groups', noun: 'group', section: 'group_policies', keyLabel: 'Group name', keyPattern: '[^\\s.]+',
    fields: [
      ['members', 'Members', 'names', true], ['total_memory_limit_gb', 'Total memory limit (GB)', NUM],
      ['total_utilization_limit_pct', 'Total utilisation limit (%)', PCT],
      ['max_concurrent_processes', 'Max. processes', INT], ['duration_limit_hours', 'Duration limit (h)', NUM],
      ['allowed_gpus', 'Allowed GPUs', 'ints'], ['blocked_gpus', 'Blocked GPUs', 'ints'],
    ],
  },
  gpu: {
    label: 'GPUs', noun: 'GPU', section: 'gpu_policies', keyLabel: 'GPU index', keyPattern: '[0-9]+',
    fields: [
      ['max_memory_gb', 'Max. memory (GB)', NUM], ['max_utilization_pct', 'Max. utilisation (%)', PCT],
      ['reserved_memory_gb', 'Reserved memory (GB)', NUM],
      ['allowed_users', 'Allowed users', 'names'], ['blocked_users', 'Blocked users', 'names'],
    ],
  },
  time: {
    label: 'Time', noun: 'time', section: 'time_policies', keyLabel: 'Name', keyPattern: '.+', array: true,
    fields: [
      ['start_time', 'Start (HH:MM)', 'hhmm', true], ['end_time', 'End (HH:MM)', 'hhmm', true],
      ['days_of_week', 'Days', 'names'], ['users', 'Users', 'names'],
      ['memory_limit_gb', 'Memory limit (GB)', NUM], ['utilization_limit_pct', 'Utilisation limit (%)', PCT],
      ['duration_limit_hours', 'Duration limit (h)', NUM], ['max_concurrent_processes', 'Max. processes', INT],
    ],
  },
};

const listText = (v) => (Array.isArray(v) ? v.join(', ') : '');
const show = (v) => (Array.isArray(v) ? (v.length ? v.join(', ') : '—') : v === undefined || v === null ? '—' : String(v));

// The entries of one kind as [key, policy] pairs.
function entries(config, kind) {
  const k = KINDS[kind];
  const s = config[k.section];
  if (k.array) return (s || []).map((p) => [p.name, p]);
  return Object.entries(s || {});
}

// Reads one field's input: undefined when empty, else the typed value;
// sets the input's validity message when it is wrong.
function readField(input, spec) {
  const raw = input.value.trim();
  input.setCustomValidity('');
  if (!raw) return undefined;
  if (spec === 'ints') {
    const parts = raw.split(/[\s,]+/).filter(Boolean);
    if (parts.some((p) => !/^[0-9]+$/.test(p))) { input.setCustomValidity('GPU indices: whole numbers separated by commas'); return undefined; }
    return parts.map(Number);
  }
  if (spec === 'names') return raw.split(/[\s,]+/).filter(Boolean);
  if (spec === 'hhmm') {
    if (!/^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$/.test(raw)) { input.setCustomValidity('a time as HH:MM, e.g. 09:00'); return undefined; }
    return raw;
  }
  return Number(raw);
}

export function mount(main) {
  let config = null;
  let kind = 'user';
  let alive = true;
  const status = h('p', { class: 'muted', role: 'status', text: 'Loading…' });
  const globalBox = h('div');
  const tabBox = h('div');
  const testBox = h('div', { class: 'test-result' });

  async function load() {
    try {
      config = await api('GET', '/api/v1/policies');
      if (!alive) return;
      setText(status, '');
      drawGlobal();
      drawTab();
    } catch (err) {
      if (alive) setText(status, `The policies could not be read: ${err.message}`);
    }
  }

  // Saves next (a whole configuration); resolves true when the server took it.
  async function save(next, onError) {
    try {
      const doc = await change('PUT', '/api/v1/policies', next);
      if (!doc) { toast('Not saved: no token given.'); return false; }
      config = doc.global ? doc : next;
      toast('Policies saved.');
      return true;
    } catch (err) {
      if (onError) onError(err); else toast(`Not saved: ${err.message}`, true);
      return false;
    }
  }

  function drawGlobal() {
    const g = config.global || {};
    const enabled = h('input', { type: 'checkbox', id: 'g-enabled', checked: !!g.enabled });
    const mode = h('select', { id: 'g-mode' },
      h('option', { value: 'dry-run', text: 'dry run (log only)' }),
      h('option', { value: 'soft', text: 'soft (warn, then end after the grace period)' }),
      h('option', { value: 'hard', text: 'hard (end at once)' }));
    mode.value = g.dry_run !== false ? 'dry-run' : g.enforcement || 'soft';
    const grace = h('input', { type: 'number', id: 'g-grace', min: 0, step: 1, value: g.grace_period_secs ?? '' });
    const error = h('p', { class: 'field-error', id: 'g-error', role: 'alert' });
    const apply = async () => {
      const next = structuredClone(config);
      next.global = { ...(next.global || {}), enabled: enabled.checked, dry_run: mode.value === 'dry-run' };
      if (mode.value !== 'dry-run') next.global.enforcement = mode.value;
      if (grace.value !== '') next.global.grace_period_secs = Number(grace.value);
      setText(error, '');
      if (!(await save(next, (err) => setText(error, err.message)))) drawGlobalValues();
    };
    const drawGlobalValues = () => {
      const c = config.global || {};
      enabled.checked = !!c.enabled;
      mode.value = c.dry_run !== false ? 'dry-run' : c.enforcement || 'soft';
    };
    enabled.addEventListener('change', apply);
    mode.addEventListener('change', apply);
    grace.addEventListener('change', () => { if (grace.reportValidity()) apply(); });
    globalBox.replaceChildren(h('section', { class: 'card', 'aria-labelledby': 'g-title' },
      h('h3', { id: 'g-title', text: 'Enforcement' }),
      h('div', { class: 'row' },
        h('label', { class: 'check' }, enabled, ' Guard enabled'),
        h('label', { for: 'g-mode', text: 'Mode' }), mode,
        h('label', { for: 'g-grace', text: 'Grace period (s)' }), grace),
      error));
  }

  function drawTab() {
    const tabs = h('div', { class: 'subtabs', role: 'tablist', 'aria-label': 'Policy kinds' },
      ...Object.entries(KINDS).map(([id, k]) => h('button', {
        type: 'button', role: 'tab', id: `tab-${id}`, 'aria-selected': String(id === kind),
        'aria-controls': 'policy-panel', tabindex: id === kind ? '0' : '-1', text: k.label,
        onclick: () => { kind = id; drawTab(); document.getElementById(`tab-${id}`).focus(); },
        onkeydown: (ev) => {
          const ids = Object.keys(KINDS);
          const step = ev.key === 'ArrowRight' ? 1 : ev.key === 'ArrowLeft' ? -1 : 0;
          if (!step) return;
          kind = ids[(ids.indexOf(kind) + step + ids.length) % ids.length];
          drawTab();
          document.getElementById(`tab-${kind}`).focus();
        },
      })));
    const k = KINDS[kind];
    const rows = entries(config, kind);
    const tableEl = rows.length ? h('div', { class: 'scroll' }, h('table', { class: 'table' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: k.keyLabel }),
        ...k.fields.map(([, label]) => h('th', { scope: 'col', text: label })), h('th', { scope: 'col', text: 'Actions' }))),
      h('tbody', {}, ...rows.map(([key, p]) => h('tr', { 'data-key': key }, h('th', { scope: 'row', text: key }),
        ...k.fields.map(([f]) => h('td', { text: show(p[f]) })),
        h('td', { class: 'actions' },
          h('button', { type: 'button', class: 'small', text: 'Edit', 'aria-label': `Edit ${k.keyLabel.toLowerCase()} ${key}`, onclick: () => drawForm(key, p) }),
          h('button', { type: 'button', class: 'small danger', text: 'Delete', 'aria-label': `Delete ${k.keyLabel.toLowerCase()} ${key}`, onclick: () => remove(key) })))))))
      : h('p', { class: 'muted', text: `No ${k.noun} policy.` });
    const formBox = h('div', { id: 'policy-form-box' });
    tabBox.replaceChildren(tabs, h('section', { class: 'card', id: 'policy-panel', role: 'tabpanel', 'aria-labelledby': `tab-${kind}` },
      tableEl, h('button', { type: 'button', text: `Add a ${k.noun} policy`, onclick: () => drawForm(null, {}) }), formBox));
  }

  function without(cfg, key) {
    const k = KINDS[kind];
    if (k.array) cfg[k.section] = (cfg[k.section] || []).filter((p) => p.name !== key);
    else if (cfg[k.section]) delete cfg[k.section][key];
  }

  async function remove(key) {
    const k = KINDS[kind];
    if (!(await confirmAction('Delete a policy?', `Delete the ${k.keyLabel.toLowerCase()} policy "${key}"?`, 'Delete'))) return;
    const next = structuredClone(config);
    without(next, key);
    if (await save(next)) drawTab();
  }

  function drawForm(oldKey, policy) {
    const k = KINDS[kind];
    const box = document.getElementById('policy-form-box');
    const inputs = {};
    const errors = {};
    const field = (id, label, attrs) => {
      const input = h('input', { id: `pf-${id}`, name: id, 'aria-describedby': `pf-${id}-error`, ...attrs });
      errors[id] = h('p', { class: 'field-error', id: `pf-${id}-error` });
      inputs[id] = input;
      return h('div', { class: 'field' }, h('label', { for: `pf-${id}`, text: label }), input, errors[id]);
    };
    const keyField = field('_key', k.keyLabel, { required: true, pattern: k.keyPattern, value: oldKey ?? '', autocomplete: 'off' });
    const fields = k.fields.map(([id, label, spec, required]) => {
      const attrs = typeof spec === 'object' ? { ...spec } : { type: 'text', autocomplete: 'off' };
      attrs.value = Array.isArray(policy[id]) ? listText(policy[id]) : policy[id] ?? '';
      if (required) attrs.required = true;
      if (spec === 'ints') attrs.placeholder = 'e.g. 0, 1';
      if (spec === 'names') attrs.placeholder = id === 'days_of_week' ? 'e.g. mon, tue' : 'e.g. ann, bob';
      if (spec === 'hhmm') attrs.placeholder = '09:00';
      return field(id, label, attrs);
    });
    const formError = h('p', { class: 'field-error', id: 'pf-form-error', role: 'alert' });
    // novalidate: the checks run in the submit handler, which puts each
    // message at its field (the browser's bubbles vanish and are not read).
    const form = h('form', { class: 'policy-form', id: 'policy-form', novalidate: true, 'aria-label': `${oldKey === null ? 'New' : 'Edit'} ${k.noun} policy` },
      h('h4', { text: oldKey === null ? `New ${k.noun} policy` : `Edit the ${k.noun} policy ${oldKey}` }),
      h('div', { class: 'fields' }, keyField, ...fields), formError,
      h('div', { class: 'actions' },
        h('button', { type: 'button', text: 'Cancel', onclick: () => box.replaceChildren() }),
        h('button', { type: 'submit', text: 'Save policy' })));

    const clearErrors = () => {
      for (const [id, el] of Object.entries(errors)) { setText(el, ''); inputs[id].removeAttribute('aria-invalid'); }
      setText(formError, '');
    };
    // Puts the server's message at the field it names (the longest field
    // key found in it; the key field when it names the policy itself).
    const showServerError = (err) => {
      const msg = err.message;
      let best = null;
      for (const [id] of k.fields) if (new RegExp(`\\b${id}\\b`).test(msg) && (!best || id.length > best.length)) best = id;
      if (!best && (msg.includes(k.section) || msg.includes(`"${inputs._key.value.trim()}"`))) best = '_key';
      const target = best || null;
      if (target) {
        setText(errors[target], msg);
        inputs[target].setAttribute('aria-invalid', 'true');
        inputs[target].focus();
      } else {
        setText(formError, msg);
      }
    };

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearErrors();
      const p = oldKey === null ? {} : structuredClone(policy);
      for (const [id, , spec] of k.fields) {
        const v = readField(inputs[id], spec);
        if (v === undefined) delete p[id]; else p[id] = v;
      }
      for (const [id, input] of Object.entries(inputs)) {
        if (!input.checkValidity()) {
          setText(errors[id], input.validationMessage);
          input.setAttribute('aria-invalid', 'true');
        }
      }
      if (!form.checkValidity()) { form.querySelector('[aria-invalid=true]')?.focus(); return; }
      const key = inputs._key.value.trim();
      const next = structuredClone(config);
      if (oldKey !== null) without(next, oldKey);
      if (k.array) { p.name = key; (next[k.section] ||= []).push(p); }
      else (next[k.section] ||= {})[key] = p;
      if (await save(next, showServerError)) drawTab();
    });
    box.replaceChildren(form);
    inputs._key.focus();
  }

  async function runTest() {
    setText(testBox, 'Testing…');
    try {
      let doc;
      try { doc = await api('POST', '/api/v1/policies/test', {}); } catch (err) {
        if (err.status !== 401) throw err;
        doc = await change('POST', '/api/v1/policies/test', {});
        if (!doc) { setText(testBox, 'Not tested: no token given.'); return; }
      }
      const v = doc.violations || [];
      testBox.replaceChildren(
        h('p', { text: `Guard ${doc.enabled ? 'enabled' : 'disabled'}, ${doc.dry_run ? 'dry run' : doc.enforcement + ' enforcement'}: ${v.length} violation${v.length === 1 ? '' : 's'} now.` }),
        v.length ? h('div', { class: 'scroll' }, h('table', { class: 'table' },
          h('thead', {}, h('tr', {}, ...['Policy', 'Rule', 'PID', 'User', 'Process', 'GPU', 'Detail', 'Action'].map((t) => h('th', { scope: 'col', text: t })))),
          h('tbody', {}, ...v.map((x) => h('tr', {}, ...[x.policy, x.rule, num(x.pid), text(x.user), text(x.process), num(x.gpu), x.detail, x.action]
            .map((t) => h('td', { text: t }))))))) : h('p', { class: 'ok', text: 'Nothing would be done now.' }));
    } catch (err) {
      setText(testBox, `The test failed: ${err.message}`);
    }
  }

  main.append(h('section', { class: 'policies', 'aria-labelledby': 'pol-title' },
    h('div', { class: 'bar' }, h('h2', { id: 'pol-title', text: 'Guard policies' })), status, globalBox, tabBox,
    h('section', { class: 'card', 'aria-labelledby': 'test-title' },
      h('div', { class: 'bar' }, h('h3', { id: 'test-title', text: 'Test policies' }),
        h('button', { type: 'button', id: 'test-policies', text: 'What would happen now?', onclick: runTest })), testBox)));
  load();
  return () => { alive = false; };
}
