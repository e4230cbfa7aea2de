// app.js - the dashboard's entry: the view router (#cluster, #contention,
// #node, #rogue, #policies, #audit), the node's live feed and the
// connection badge.  Every view module exports mount(main) returning an
// unmount function.  A view (and each kill button) is offered only when
// the server's OpenAPI document lists the routes it needs, so a server
// without them never shows a dead page: a node shows the node views, a
// coordinator (gpuctl serve --coordinator) the cluster views too, first.

import { api, connectFeed } from './api.js';
import { clock, setText } from './fmt.js';
import * as cluster from './cluster.js';
import * as contention from './contention.js';
import * as node from './node.js';
import * as rogue from './rogue.js';
import * as policies from './policies.js';
import * as audit from './audit.js';

const views = { cluster, contention, node, rogue, policies, audit };
const NEEDS = {
  cluster: [['/api/cluster/ws', 'get'], ['/api/nodes', 'get']],
  contention: [['/api/cluster/contention', 'get']],
  node: [['/api/v1/snapshot', 'get']],
  rogue: [['/api/v1/rogue', 'get']],
  policies: [['/api/v1/policies', 'get'], ['/api/v1/policies', 'put'], ['/api/v1/policies/test', 'post']],
  audit: [['/api/v1/audit/summary', 'get']],
};
const offered = new Set();
const main = document.getElementById('view');
let unmount = null;
let home = 'node';            // the view of a bare URL

function route() {
  const name = offered.has(location.hash.slice(1)) ? location.hash.slice(1) : home;
  if (!offered.has(name)) return;
  if (unmount) unmount();
  main.replaceChildren();
  for (const a of document.querySelectorAll('nav.tabs a')) {
    if (a.dataset.view === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  unmount = views[name].mount(main);
}

const conn = document.getElementById('conn');
let downSince = null;

function showConnection() {
  if (downSince === null) {
    conn.className = 'conn live';
    setText(conn, 'live');
  } else {
    conn.className = 'conn down';
    setText(conn, `disconnected since ${clock(downSince)}`);
  }
}

connectFeed('/ws', (msg, parseMs) => {
  if (msg.type === 'snapshot' && msg.data) {
    const t0 = performance.now();
    setText(document.getElementById('host'), msg.data.host || 'N/A');
    node.feed(msg, parseMs + performance.now() - t0);
  }
}, (state) => {
  downSince = state.connected ? null : state.since;
  node.setLive(state.connected);
  showConnection();
});

async function start() {
  let paths = null;
  try {
    paths = (await api('GET', '/api/v1/openapi.json')).paths || {};
  } catch {
    paths = null;   // an older server: the node view only
  }
  const has = ([path, method]) => Boolean(paths && paths[path] && paths[path][method]);
  for (const [name, needs] of Object.entries(NEEDS))
    if (needs.every(has)) offered.add(name);
  if (!paths) offered.add('node');
  for (const a of document.querySelectorAll('nav.tabs a'))
    a.hidden = !offered.has(a.dataset.view);
  node.setCanKill(has(['/api/v1/kill', 'post']));
  contention.setCanKill(has(['/api/nodes/{id}/kill', 'post']));
  // A coordinator opens on its cluster; one without a GPU source lists no
  // node routes, so it shows no node view at all.
  home = ['cluster', 'node', ...Object.keys(NEEDS)].find((v) => offered.has(v)) || 'node';
  if (offered.has('cluster')) cluster.start();
  window.addEventListener('hashchange', route);
  route();
}

start();
