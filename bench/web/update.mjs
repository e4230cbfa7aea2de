// update.mjs - the dashboard's scripting time per live update, in Debian's
// Chromium (puppeteer-core from tests/browser/node_modules), against a
// running `gpuctl serve`.  Run by hand through bench/web/run.sh.
//
// Prints the median and 95th percentile of the page's own per-update
// timer (window.gpuctlUpdateMs: parse to painted DOM, charts included)
// over SECONDS, next to the anchor measured in the same page: JSON.parse
// of the same snapshot document alone, the least any update can cost;
// and the JS heap (after a full collection) at the start and the end.
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../tests/browser/package.json', import.meta.url));
const puppeteer = require('puppeteer-core');
const [url, seconds = '60'] = process.argv.slice(2);

const browser = await puppeteer.launch({
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--enable-precise-memory-info',
    '--js-flags=--expose-gc'],
});
const page = await browser.newPage();
await page.setViewport({ width: 1440, height: 900 });
await page.goto(url, { waitUntil: 'load' });
await page.waitForSelector('article.gpu');
await new Promise((r) => setTimeout(r, 5000));
// The heap after a full collection, so the two readings compare what is
// kept, not what is waiting for the collector.
const heap0 = await page.evaluate(() => { window.gc(); return performance.memory.usedJSHeapSize; });
await page.evaluate(() => { window.gpuctlUpdateMs.length = 0; if (window.gpuctlFrameMs) window.gpuctlFrameMs.length = 0; });
await new Promise((r) => setTimeout(r, Number(seconds) * 1000));
const res = await page.evaluate(async () => {
  const text = await (await fetch('/api/v1/snapshot')).text();
  const parse = [];
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now();
    JSON.parse(text);
    parse.push(performance.now() - t0);
  }
  return { updates: [...window.gpuctlUpdateMs], frames: [...(window.gpuctlFrameMs || [])], parse, bytes: text.length,
    gpus: document.querySelectorAll('article.gpu').length,
    rows: document.querySelectorAll('.procs tbody tr[data-key]').length,
    heap: (window.gc(), performance.memory.usedJSHeapSize) };
});
await browser.close();
const q = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
console.log(`page: ${res.gpus} GPUs, ${res.rows} process rows, snapshot ${res.bytes} bytes, ${res.updates.length} updates`);
console.log(`update (page timer)  median ${q(res.updates, 0.5).toFixed(2)} ms  p95 ${q(res.updates, 0.95).toFixed(2)} ms`);
if (res.frames.length)
  console.log(`longest frame of an update  median ${q(res.frames, 0.5).toFixed(2)} ms  p95 ${q(res.frames, 0.95).toFixed(2)} ms`);
console.log(`anchor: JSON.parse   median ${q(res.parse, 0.5).toFixed(2)} ms`);
console.log(`JS heap: ${(heap0 / 1048576).toFixed(1)} MiB after 5 s, ${(res.heap / 1048576).toFixed(1)} MiB after ${seconds} s more`);
