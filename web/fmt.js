// fmt.js - how values are shown.  Unknown (null or absent) is "N/A",
// never 0: the documents say null when the driver could not tell.

export const NA = 'N/A';

const known = (v) => v !== null && v !== undefined && !(typeof v === 'number' && Number.isNaN(v));

export function num(v, digits = 0, unit = '') {
  if (!known(v)) return NA;
  return v.toFixed(digits) + unit;
}

// Two decimals, or two significant digits below 0.01 (0.00081, not 0.00:
// a small amount is not nothing).
export function amount(v) {
  if (!known(v)) return NA;
  if (v !== 0 && Math.abs(v) < 0.01) return v.toPrecision(2);
  return v.toFixed(2);
}

export const pct = (v) => num(v, 0, ' %');
export const celsius = (v) => num(v, 0, ' °C');
export const watts = (v) => num(v, 0, ' W');

export function mib(v) {
  if (!known(v)) return NA;
  return v >= 1024 ? (v / 1024).toFixed(1) + ' GiB' : v.toFixed(0) + ' MiB';
}

export function bytes(v) {
  if (!known(v)) return NA;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i ? v.toFixed(1) : v.toFixed(0)) + ' ' + units[i];
}

// "1.0 / 80.0 GiB": one unit for both, the total's.
export function memPair(used, total) {
  if (!known(used) || !known(total)) return known(used) || known(total) ? `${mib(used)} / ${mib(total)}` : NA;
  if (total < 1024) return `${used.toFixed(0)} / ${total.toFixed(0)} MiB`;
  return `${(used / 1024).toFixed(1)} / ${(total / 1024).toFixed(1)} GiB`;
}

export function duration(s) {
  if (!known(s)) return NA;
  s = Math.floor(s);
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

export const text = (v) => (known(v) && v !== '' ? String(v) : NA);

// Formatters made once: toLocaleTimeString builds one per call, which
// costs more than drawing a chart's axis.
const CLOCK24 = new Intl.DateTimeFormat([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
const CLOCK = new Intl.DateTimeFormat([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

// "07:10:13": chart axes, short at any width.
export const clock24 = (ms) => CLOCK24.format(ms);
export const clock = (ms) => CLOCK.format(ms);

// Creates an element: h('td', {class: 'n'}, 'text', child...).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined) el.append(c);
  return el;
}

// Sets text only when it changed (no needless style recalculation).
export function setText(el, s) {
  if (el.textContent !== s) el.textContent = s;
}
