// cluster.mjs - the coordinator's Cluster view under load, in Debian's
// Chromium (puppeteer-core from tests/browser/node_modules).  Run by hand:
//
//   node bench/web/cluster.mjs [GPUCTL] [NODES] [SECONDS] [GPUSxPROCS]
//
// Starts a real `gpuctl serve --coordinator` (no GPU source) on loopback,
// registers NODES simulated agents and, from this process, pushes each
// one's snapshot document (`gpuctl --simulate 8x4:SEED list --details
// --output json`, one seed per node) every second with every GPU's
// utilisation and power changed and its memory moved on every fourth push,
// so each update of the cluster WebSocket carries NODES x 8 GPUs of
// changes (the worst case for the page).  Then it opens the dashboard's
// Cluster view at 1440x900 and prints, over SECONDS:
//
// - the page's own timer per update (window.gpuctlClusterUpdateMs: the
//   message parsed, the state updated, totals, the GPU grid and the node
//   table drawn in the next animation frame), median and p95, next to
//   the anchor measured in the same page: JSON.parse of the same messages
//   alone (window.gpuctlClusterParseMs), the least an update can cost;
// - the messages' size, the pushes/s the coordinator took, and the JS heap
//   after a forced collection at the start and at the end.
// GPUCTL_BENCH_SHOT=FILE.png saves a screenshot of the view at the end.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../tests/browser/package.json', import.meta.url));
const puppeteer = require('puppeteer-core');
const [gpuctl = 'build-rel/gpuctl', nodesArg = '1000', secondsArg = '60', shape = '8x4'] = process.argv.slice(2);
const NODES = Number(nodesArg), SECONDS = Number(secondsArg);
const TOKEN = 'bench-web-token';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gpuctl-bench-web-cluster-'));
fs.writeFileSync(path.join(tmp, 'token'), TOKEN + '\n', { mode: 0o600 });
fs.mkdirSync(path.join(tmp, 'sys'));
const env = { ...process.env, XDG_CONFIG_HOME: tmp, XDG_DATA_HOME: tmp, GPUCTL_AUDIT_RECORD_ON_LIST: 'false' };

// Eight distinct documents; node i pushes template i % 8 with its own figures.
const templates = [];
for (let s = 1; s <= 8; s++)
  templates.push(JSON.parse(execFileSync(gpuctl, ['--simulate', `${shape}:${s}`, 'list', '--details', '--output', 'json'],
    { env, encoding: 'utf8' })));

const coord = spawn(gpuctl, ['serve', '--coordinator', '--listen', '127.0.0.1:0', '--token-file', path.join(tmp, 'token')], {
  env: { ...env, GPUCTL_NVML_LIBRARY: path.join(tmp, 'no-libnvidia-ml.so.1'), GPUCTL_SYS_ROOT: path.join(tmp, 'sys') },
  stdio: ['ignore', 'ignore', 'pipe'],
});
const port = await new Promise((resolve, reject) => {
  let err = '';
  coord.stderr.on('data', (d) => {
    err += d;
    const m = /listening on .*:(\d+)/.exec(err);
    if (m) resolve(Number(m[1]));
  });
  coord.on('exit', () => reject(new Error('the coordinator did not start: ' + err)));
});

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
function post(p, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, method: 'POST', agent,
      headers: { Authorization: 'Bearer ' + TOKEN, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } },
    (res) => { res.resume(); res.on('end', () => (res.statusCode < 300 ? resolve() : reject(new Error(`${p}: ${res.statusCode}`)))); });
    req.on('error', reject);
    req.end(body);
  });
}

async function inBatches(n, fn, width = 64) {
  for (let i = 0; i < n; i += width)
    await Promise.all(Array.from({ length: Math.min(width, n - i) }, (_, k) => fn(i + k)));
}

const id = (i) => `node-${String(i).padStart(4, '0')}`;
await inBatches(NODES, (i) => post(`/api/nodes/${id(i)}/register`,
  JSON.stringify({ hostname: `host-${i}`, addresses: [], interval_s: 1 })));

const seq = new Array(NODES).fill(0);
let pushed = 0, stopping = false;
function docFor(i, round) {
  const d = templates[i % templates.length];
  d.ts = new Date().toISOString();
  d.gpus.forEach((g, k) => {
    const phase = (i * 7 + k * 13 + round) % 100;
    g.util_pct = phase;
    g.power_w = 80 + phase * 6;
    if (round % 4 === 0) g.mem_used_mb = Math.min(g.mem_total_mb, 1000 + ((i + k + round) % 80) * 1000);
  });
  return JSON.stringify(d);
}
async function pushLoop() {
  for (let round = 1; !stopping; round++) {
    const t0 = Date.now();
    await inBatches(NODES, (i) => post(`/api/nodes/${id(i)}/snapshot?seq=${++seq[i]}`, docFor(i, round)).then(() => pushed++));
    await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - t0))));
  }
}
const pushing = pushLoop();

const browser = await puppeteer.launch({
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--enable-precise-memory-info', '--js-flags=--expose-gc'],
});
let res;
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1440, height: 900 });
  await page.goto(`http://127.0.0.1:${port}/`, { waitUntil: 'load' });
  await page.waitForFunction((n) => document.querySelectorAll('.cluster table.nodes tbody tr').length === Math.min(n, 100),
    { timeout: 60000 }, NODES);
  await new Promise((r) => setTimeout(r, 5000));
  const heap0 = await page.evaluate(() => { window.gc(); return performance.memory.usedJSHeapSize; });
  await page.evaluate(() => { window.gpuctlClusterUpdateMs.length = 0; window.gpuctlClusterParseMs.length = 0; window.gpuctlClusterBytes.length = 0; });
  const pushed0 = pushed;
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const rate = (pushed - pushed0) / SECONDS;
  res = await page.evaluate(() => ({
    updates: [...window.gpuctlClusterUpdateMs], parse: [...window.gpuctlClusterParseMs],
    bytes: [...window.gpuctlClusterBytes], gpus: document.getElementById('c-gpus').textContent,
    nodes: document.getElementById('c-nodes').textContent, heap: (window.gc(), performance.memory.usedJSHeapSize),
  }));
  res.heap0 = heap0;
  if (process.env.GPUCTL_BENCH_SHOT)   // a picture of the page under load, to look at
    await page.screenshot({ path: process.env.GPUCTL_BENCH_SHOT, fullPage: false });
  res.rate = rate;
} finally {
  stopping = true;
  await browser.close();
  await pushing.catch(() => {});
  coord.kill('SIGTERM');
  agent.destroy();
}
const q = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN; };
console.log(`coordinator: ${res.nodes} nodes, ${res.gpus} GPUs, ${res.rate.toFixed(0)} pushes/s taken; ${res.updates.length} updates in ${SECONDS} s, ` +
  `median message ${(q(res.bytes, 0.5) / 1024).toFixed(0)} KiB`);
console.log(`update (page timer: parse, apply, draw)  median ${q(res.updates, 0.5).toFixed(2)} ms  p95 ${q(res.updates, 0.95).toFixed(2)} ms`);
console.log(`anchor: JSON.parse of the same messages  median ${q(res.parse, 0.5).toFixed(2)} ms  p95 ${q(res.parse, 0.95).toFixed(2)} ms`);
console.log(`JS heap: ${(res.heap0 / 1048576).toFixed(1)} MiB after 5 s, ${(res.heap / 1048576).toFixed(1)} MiB after ${SECONDS} s more`);
fs.rmSync(tmp, { recursive: true, force: true });
