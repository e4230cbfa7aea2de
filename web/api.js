// api.js - the page's only ways out: the HTTP API (with the bearer token
// when one is known), the live /ws feed (reconnecting with back-off), and
// the two dialogs that ask a person (confirmation, token).

const TOKEN_KEY = 'gpuctl.token';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const token = () => sessionStorage.getItem(TOKEN_KEY);

// One request; resolves with the JSON document, rejects with ApiError
// carrying the server's own message.
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const t = token();
  if (t) headers.Authorization = 'Bearer ' + t;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let resp;
  try {
    resp = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store', credentials: 'omit',
    });
  } catch (err) {
    throw new ApiError(0, 'network', `the server did not answer (${err.message})`);
  }
  let doc = null;
  try { doc = await resp.json(); } catch { doc = null; }
  if (!resp.ok) {
    const e = doc && doc.error ? doc.error : {};
    throw new ApiError(resp.status, e.code || 'http_' + resp.status,
      e.message || `${method} ${path} answered ${resp.status}`);
  }
  return doc;
}

// A request that changes state: asks for the token first when the tab has
// none, and again (once) when the server refuses the one it has.  Resolves
// with null when the person cancels: nothing was sent then.
export async function change(method, path, body) {
  if (!token() && !(await askToken('This action needs the server\'s bearer token.')))
    return null;
  try {
    return await api(method, path, body);
  } catch (err) {
    if (err.status !== 401 && !(err.status === 403 && /token/.test(err.message))) throw err;
    sessionStorage.removeItem(TOKEN_KEY);
    if (!(await askToken(err.message))) return null;
    return api(method, path, body);
  }
}

function openDialog(dialog, focusEl) {
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue), { once: true });
    dialog.returnValue = 'cancel';
    dialog.showModal();
    if (focusEl) focusEl.focus();
  });
}

export async function askToken(why) {
  const dialog = document.getElementById('token-dialog');
  const input = document.getElementById('token-input');
  document.getElementById('token-why').textContent =
    why + ' It is kept in this tab only (session storage).';
  input.value = '';
  const answer = await openDialog(dialog, input);
  const t = input.value.trim();
  input.value = '';
  if (answer !== 'ok' || !t) return false;
  sessionStorage.setItem(TOKEN_KEY, t);
  return true;
}

export async function confirmAction(title, message, okLabel) {
  const dialog = document.getElementById('confirm-dialog');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = message;
  const ok = document.getElementById('confirm-ok');
  ok.textContent = okLabel;
  return (await openDialog(dialog, dialog.querySelector('button[value=cancel]'))) === 'ok';
}

export function toast(message, isError = false) {
  const el = document.getElementById('toast');
  el.textContent = message;
  el.classList.toggle('error', isError);
  el.classList.add('shown');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => el.classList.remove('shown'), 6000);
}

// A live feed at path (/ws, /api/cluster/ws).  onMessage gets each parsed
// message, the milliseconds JSON.parse took and the message's length; onState gets {connected,
// since} whenever the connection opens or drops.  Reconnects after 1, 2,
// 4 … 30 s (with jitter) until it is back.  The handle's restart() drops
// the connection and opens a new one at once (a client that skipped a
// message asks for the full state again that way).
export function connectFeed(path, onMessage, onState) {
  let delay = 1000;
  let since = null;
  let ws = null;
  const open = () => {
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + path;
    const sock = (ws = new WebSocket(url));
    sock.addEventListener('open', () => {
      delay = 1000;
      since = null;
      onState({ connected: true, since: null });
    });
    sock.addEventListener('message', (ev) => {
      if (sock !== ws) return;
      const t0 = performance.now();
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      onMessage(msg, performance.now() - t0, ev.data.length);
    });
    sock.addEventListener('close', () => {
      if (sock.restarting) { open(); return; }
      if (!since) since = Date.now();
      onState({ connected: false, since });
      const wait = delay * (0.75 + Math.random() * 0.5);
      delay = Math.min(delay * 2, 30000);
      setTimeout(open, wait);
    });
  };
  open();
  return {
    restart() {
      const old = ws;
      old.restarting = true;
      ws = null;   // its last messages are ignored
      old.close();
    },
  };
}
