// dashboard.mjs - drives the dashboard of a real `gpuctl serve` in Debian's
// Chromium (puppeteer-core) for tests/browser/test_dashboard.py.
//
// argv[2] is a JSON plan: {"url", "out" (the test's temp dir for
// screenshots), "suite": "node" | "policies", and the suite's facts}.
// The script does what a person would (reads, clicks, types), writes the
// next scenario file where the plan asks for a change, and prints one JSON
// report on stdout: what the page showed, console errors, CSP violations,
// page weight and time to first render.  The Python side asserts on it
// and checks the machine (processes, guard.toml).  Any step that does not
// happen fails the run with a message naming it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const plan = JSON.parse(process.argv[2]);
const report = { console_errors: [], csp: [], page_errors: [], failed_requests: [], shots: [] };
const STEP_MS = plan.step_timeout_ms || 20000;

function fail(step, err) {
  report.failed = `${step}: ${err && err.message ? err.message : err}`;
}

async function openPage(browser, width, height) {
  const page = await browser.newPage();
  current = page;
  await page.setViewport({ width, height });
  page.on('console', (m) => { if (m.type() === 'error') report.console_errors.push(m.text()); });
  page.on('pageerror', (e) => report.page_errors.push(String(e.message || e)));
  page.on('response', (r) => { if (r.status() >= 400) report.failed_requests.push(`${r.url()}: ${r.status()}`); });
  page.on('requestfailed', (r) => report.failed_requests.push(`${r.url()}: ${r.failure()?.errorText}`));
  await page.evaluateOnNewDocument(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation',
      (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  return page;
}

async function collectCsp(page) {
  report.csp.push(...(await page.evaluate(() => window.__csp)));
}

async function shot(page, name) {
  const file = path.join(plan.out, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  report.shots.push(file);
}

// Page weight and time to first render: the navigation and resource
// entries, first contentful paint, and the page's own mark `mark` (set when
// the first live data is on the page).
function timing(page, mark) {
  return page.evaluate((name) => {
    const nav = performance.getEntriesByType('navigation')[0];
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    const first = performance.getEntriesByName(name)[0];
    const res = performance.getEntriesByType('resource');
    return {
      first_contentful_paint_ms: fcp ? fcp.startTime : null,
      first_render_ms: first ? first.startTime : null,
      dom_content_loaded_ms: nav.domContentLoadedEventEnd,
      transfer_bytes: nav.transferSize + res.reduce((s, r) => s + r.transferSize, 0),
      decoded_bytes: nav.decodedBodySize + res.reduce((s, r) => s + r.decodedBodySize, 0),
      encoded_bytes: nav.encodedBodySize + res.reduce((s, r) => s + r.encodedBodySize, 0),
      resources: res.map((r) => r.name.replace(/^.*\//, '')),
    };
  }, mark);
}

const textOf = (page, sel) => page.$$eval(sel, (els) => els.map((e) => e.textContent.trim()));

let current = null;            // the page the steps are on, for a picture of a failure

async function step(name, fn) {
  if (report.failed) return;
  try {
    await fn();
  } catch (err) {
    fail(name, err);
    if (current) {
      try {
        await shot(current, 'failed-step');
        report.failed_text = await current.evaluate(() => document.body.innerText.slice(0, 4000));
      } catch { /* the page itself is gone */ }
    }
  }
}

// ---- the node view ----

async function nodeSuite(browser) {
  const page = await openPage(browser, 1440, 900);
  await step('load', async () => {
    await page.goto(plan.url, { waitUntil: 'load', timeout: STEP_MS });
    await page.waitForFunction((n) => document.querySelectorAll('article.gpu').length === n,
      { timeout: STEP_MS }, plan.gpus.length);
    await page.waitForFunction((n) => document.querySelectorAll('.procs tbody tr[data-key]').length === n,
      { timeout: STEP_MS }, plan.pids.length);
    report.timing = await timing(page, 'gpuctl:first-render');
  });
  await step('values', async () => {
    report.gpu_titles = await textOf(page, 'article.gpu h3');
    report.gpu_stats = await page.$$eval('article.gpu', (cards) => cards.map((c) =>
      Object.fromEntries([...c.querySelectorAll('.stat')].map((s) =>
        [s.querySelector('dt').textContent, s.querySelector('dd').textContent]))));
    report.proc_rows = await page.$$eval('.procs tbody tr[data-key]', (rows) =>
      rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent.trim())));
    report.host = await page.$eval('#host', (e) => e.textContent);
    report.conn = await page.$eval('#conn', (e) => e.textContent);
    report.nav = await page.$$eval('nav.tabs a:not([hidden])', (as) => as.map((a) => a.textContent));
    report.kill_buttons = (await page.$$('.procs tbody button.danger')).length;
  });
  await step('sort and filter', async () => {
    await page.click('.procs th[data-key=pid] button');
    const first = await page.$$eval('.procs tbody tr[data-key] td:nth-child(2)', (t) => t.map((x) => x.textContent));
    report.sorted_pids = first.map(Number);
    await page.type('#proc-filter', String(plan.pids[0]));
    await page.waitForFunction(() => document.querySelectorAll('.procs tbody tr[data-key]').length === 1, { timeout: STEP_MS });
    await page.$eval('#proc-filter', (e) => { e.value = ''; e.dispatchEvent(new Event('input')); });
  });
  await step('keyboard', async () => {
    // Everything a person uses is reachable with Tab from the top.
    await page.$eval('body', (b) => b.focus());
    const seen = [];
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      seen.push(await page.evaluate(() => {
        const a = document.activeElement;
        return a.id ? '#' + a.id : a.className ? `${a.tagName.toLowerCase()}.${a.className}` : a.tagName.toLowerCase();
      }));
    }
    report.tab_order = seen;
    // Enter on a focused sort button sorts.
    await page.focus('.procs th[data-key=user] button');
    await page.keyboard.press('Enter');
    report.sorted_by_keyboard = await page.$eval('.procs th[data-key=user]', (th) => th.getAttribute('aria-sort'));
  });
  await step('screenshots', async () => {
    await shot(page, 'node-1440x900');
    await page.setViewport({ width: 390, height: 844 });
    await new Promise((r) => setTimeout(r, 300));
    await shot(page, 'node-390x844');
    report.overflow_390 = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }]);
    await page.setViewport({ width: 1440, height: 900 });
    await new Promise((r) => setTimeout(r, 300));
    await shot(page, 'node-1440x900-dark');
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }]);
  });
  await step('scenario change', async () => {
    const seq = await page.$eval('.node', (e) => Number(e.dataset.seq));
    fs.writeFileSync(plan.scenario + '.new', JSON.stringify(plan.next_scenario));
    fs.renameSync(plan.scenario + '.new', plan.scenario);
    // The change must be on the page by the second sample after the write.
    // The sample that brought it is read in the same check (on the DOM
    // change itself), not after: a later read may already see the next one.
    const seen = await page.waitForFunction((want) => [...document.querySelectorAll('article.gpu .stat dd')]
      .some((d) => d.textContent === want) && Number(document.querySelector('.node').dataset.seq),
      { timeout: STEP_MS, polling: 'mutation' }, plan.changed_text);
    report.change_seen_after_samples = (await seen.jsonValue()) - seq;
  });
  if (plan.restart) {
    await step('disconnect and reconnect', async () => {
      process.kill(plan.server_pid, 'SIGTERM');
      await page.waitForFunction(() => /^disconnected since /.test(document.getElementById('conn').textContent),
        { timeout: STEP_MS });
      report.down_text = await page.$eval('#conn', (e) => e.textContent);
      report.down_dimmed = await page.$eval('.node', (e) => e.classList.contains('stale'));
      report.down_when = await page.$eval('#sample-time', (e) => e.textContent);
      await shot(page, 'node-disconnected-1440x900');
      const seqBefore = await page.$eval('.node', (e) => Number(e.dataset.seq));
      const child = spawn(plan.restart.argv[0], plan.restart.argv.slice(1),
        { env: plan.restart.env, stdio: 'ignore' });
      try {
        await page.waitForFunction(() => document.getElementById('conn').textContent === 'live',
          { timeout: 45000 });
        await page.waitForFunction((s) => Number(document.querySelector('.node').dataset.seq) !== s,
          { timeout: STEP_MS }, seqBefore);
        report.reconnected = true;
        report.up_dimmed = await page.$eval('.node', (e) => e.classList.contains('stale'));
      } finally {
        child.kill('SIGTERM');
      }
    });
  }
  if (plan.token !== undefined && report.kill_buttons) {
    await step('kill without token', async () => {
      await page.click(`.procs tbody tr[data-key="0:${plan.kill_refused}:"] button.danger`);
      await page.waitForSelector('#confirm-dialog[open]', { timeout: STEP_MS });
      report.confirm_text = await page.$eval('#confirm-text', (e) => e.textContent);
      await shot(page, 'kill-confirm-1440x900');
      await page.click('#confirm-ok');
      await page.waitForSelector('#token-dialog[open]', { timeout: STEP_MS });
      await page.click('#token-dialog button[value=cancel]');
      await page.waitForFunction(() => document.getElementById('toast').textContent.includes('Nothing was sent'), { timeout: STEP_MS });
      report.refused_toast = await page.$eval('#toast', (e) => e.textContent);
    });
    await step('kill with token', async () => {
      await page.click(`.procs tbody tr[data-key="0:${plan.kill_done}:"] button.danger`);
      await page.waitForSelector('#confirm-dialog[open]', { timeout: STEP_MS });
      await page.click('#confirm-ok');
      await page.waitForSelector('#token-dialog[open]', { timeout: STEP_MS });
      await page.type('#token-input', plan.token);
      await page.click('#token-ok');
      await page.waitForFunction((pid) => document.getElementById('toast').textContent.startsWith(`pid ${pid}:`),
        { timeout: STEP_MS }, plan.kill_done);
      report.kill_toast = await page.$eval('#toast', (e) => e.textContent);
      report.token_kept = await page.evaluate(() => sessionStorage.getItem('gpuctl.token') !== null);
    });
  }
  await step('csp', () => collectCsp(page));
  await page.close();
}

// ---- guard policies ----

async function policiesSuite(browser) {
  const page = await openPage(browser, 1440, 900);
  await step('load', async () => {
    await page.goto(plan.url + '#policies', { waitUntil: 'load', timeout: STEP_MS });
    await page.waitForSelector('#tab-user', { timeout: STEP_MS });
    await page.evaluate((t) => sessionStorage.setItem('gpuctl.token', t), plan.token);
  });
  await step('enforcement switches', async () => {
    await page.click('#g-enabled');
    await page.waitForFunction(() => document.getElementById('toast').textContent === 'Policies saved.', { timeout: STEP_MS });
    await page.evaluate(() => { document.getElementById('toast').textContent = ''; });
    await page.select('#g-mode', 'hard');
    await page.waitForFunction(() => document.getElementById('toast').textContent === 'Policies saved.', { timeout: STEP_MS });
    report.switches_saved = true;
  });
  await step('add a user policy', async () => {
    await page.click('#policy-panel > button');
    await page.type('#pf-_key', plan.user);
    await page.type('#pf-memory_limit_gb', String(plan.memory_limit_gb));
    await page.type('#pf-max_concurrent_processes', '2');
    await page.click('#policy-form button[type=submit]');
    await page.waitForSelector(`#policy-panel tr[data-key="${plan.user}"]`, { timeout: STEP_MS });
    report.user_row = await textOf(page, `#policy-panel tr[data-key="${plan.user}"] td`);
  });
  await step('browser validation', async () => {
    await page.click('#tab-gpu');
    await page.click('#policy-panel > button');
    await page.type('#pf-_key', '0');
    await page.type('#pf-max_utilization_pct', '150');
    await page.click('#policy-form button[type=submit]');
    await page.waitForFunction(() => document.getElementById('pf-max_utilization_pct-error').textContent !== '', { timeout: STEP_MS });
    report.browser_error = await page.$eval('#pf-max_utilization_pct-error', (e) => e.textContent);
  });
  await step('server validation', async () => {
    await page.$eval('#pf-max_utilization_pct', (e) => { e.value = '50'; });
    await page.$eval('#pf-_key', (e) => { e.value = ''; });
    await page.type('#pf-_key', String(plan.missing_gpu));
    await page.click('#policy-form button[type=submit]');
    await page.waitForFunction(() => [...document.querySelectorAll('#policy-form .field-error, #pf-form-error')]
      .some((e) => e.textContent !== ''), { timeout: STEP_MS });
    report.server_errors = await page.$$eval('#policy-form .field-error, #pf-form-error',
      (els) => els.filter((e) => e.textContent).map((e) => ({ id: e.id, text: e.textContent })));
    await shot(page, 'policies-1440x900');
    await page.setViewport({ width: 390, height: 844 });
    await new Promise((r) => setTimeout(r, 300));
    await shot(page, 'policies-390x844');
    await page.setViewport({ width: 1440, height: 900 });
  });
  await step('test policies', async () => {
    await page.click('#test-policies');
    await page.waitForFunction(() => /violation/.test(document.querySelector('.test-result').textContent), { timeout: STEP_MS });
    report.test_text = await page.$eval('.test-result', (e) => e.textContent);
  });
  await step('csp', () => collectCsp(page));
  await page.close();
}

// ---- rogue detection and audit ----

async function reportsSuite(browser) {
  const page = await openPage(browser, 1440, 900);
  await step('rogue view', async () => {
    await page.goto(plan.url + '#rogue', { waitUntil: 'load', timeout: STEP_MS });
    await page.waitForSelector('article.finding', { timeout: STEP_MS });
    report.nav = await page.$$eval('nav.tabs a:not([hidden])', (as) => as.map((a) => a.textContent));
    report.findings = await page.$$eval('article.finding', (fs) => fs.map((f) => ({
      risk: f.querySelector('.badge').textContent,
      title: f.querySelector('h3').textContent,
      evidence: [...f.querySelectorAll('li')].map((li) => li.textContent),
      recommendation: f.querySelector('code').textContent,
    })));
    await shot(page, 'rogue-1440x900');
    await page.setViewport({ width: 390, height: 844 });
    await new Promise((r) => setTimeout(r, 300));
    report.overflow_rogue_390 = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    await shot(page, 'rogue-390x844');
    await page.setViewport({ width: 1440, height: 900 });
  });
  await step('scan now', async () => {
    const before = await page.$eval('.rogue p[role=status]', (e) => e.textContent);
    await new Promise((r) => setTimeout(r, 1100));   // the status names the second
    await page.click('.rogue .bar button');
    await page.waitForFunction((b) => {
      const t = document.querySelector('.rogue p[role=status]').textContent;
      return t !== b && t.startsWith('Scanned');
    }, { timeout: STEP_MS }, before);
    report.rescanned = true;
  });
  await step('audit view', async () => {
    await page.goto(plan.url + '#audit', { waitUntil: 'load', timeout: STEP_MS });
    await page.waitForSelector('.audit table', { timeout: STEP_MS });
    report.audit_tables = await page.$$eval('.audit section.card', (cs) => cs.map((c) => ({
      title: c.querySelector('h3').textContent,
      rows: [...c.querySelectorAll('tbody tr')].map((tr) => [...tr.children].map((td) => td.textContent)),
    })));
    report.audit_status = await page.$eval('.audit p[role=status]', (e) => e.textContent);
    await page.select('#audit-range', '1');
    await page.waitForFunction((s) => document.querySelector('.audit p[role=status]').textContent !== s,
      { timeout: STEP_MS }, report.audit_status);
    await page.waitForSelector('.audit table', { timeout: STEP_MS });
    report.audit_status_1h = await page.$eval('.audit p[role=status]', (e) => e.textContent);
    await shot(page, 'audit-1440x900');
    await page.setViewport({ width: 390, height: 844 });
    await new Promise((r) => setTimeout(r, 300));
    report.overflow_audit_390 = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    await shot(page, 'audit-390x844');
  });
  await step('csp', () => collectCsp(page));
  await page.close();
}


// ---- the coordinator: cluster overview and contention ----

const nodeRows = (page) => page.$$eval('.cluster table.nodes tbody tr', (rows) => rows.map((r) =>
  [r.dataset.node, ...[...r.querySelectorAll('td')].map((td) => td.textContent.trim())]));

async function clusterSuite(browser) {
  const page = await openPage(browser, 1440, 900);
  await step('load', async () => {
    await page.goto(plan.url, { waitUntil: 'load', timeout: STEP_MS });
    // every node's row, with its GPUs' figures (memory known)
    await page.waitForFunction((want) => {
      const rows = [...document.querySelectorAll('.cluster table.nodes tbody tr')];
      return rows.length === want.length && rows.every((r) => want.includes(r.dataset.node) &&
        r.children[3].textContent === '2' && r.children[5].textContent !== 'N/A');
    }, { timeout: STEP_MS }, plan.nodes);
    report.nav = await page.$$eval('nav.tabs a:not([hidden])', (as) => as.map((a) => a.textContent));
    report.current = await page.$eval('nav.tabs a[aria-current=page]', (a) => a.textContent);
    report.totals = await page.$$eval('.cluster .totals .stat', (ss) => Object.fromEntries(ss.map((s) =>
      [s.querySelector('dt').textContent, s.querySelector('dd').textContent])));
    report.node_rows = await nodeRows(page);
    report.cluster_conn = await page.$eval('#cluster-conn', (e) => e.textContent);
    report.grid = await page.$eval('canvas.gpu-grid', (c) => ({ width: c.width, height: c.height }));
    report.timing = await timing(page, 'gpuctl:cluster-first-render');
  });
  await step('grid tooltip', async () => {
    // the first cell of the first node's block
    const box = await page.$eval('canvas.gpu-grid', (c) => { const r = c.getBoundingClientRect(); return { x: r.left, y: r.top }; });
    await page.mouse.move(box.x + 6, box.y + 17 + 6);
    await page.waitForSelector('.grid-tip:not([hidden])', { timeout: STEP_MS });
    report.tooltip = await page.$eval('.grid-tip', (e) => e.textContent);
    await page.mouse.move(0, 0);
  });
  await step('screenshots', async () => {
    await shot(page, 'cluster-1440x900');
    await page.setViewport({ width: 390, height: 844 });
    await new Promise((r) => setTimeout(r, 500));
    report.overflow_cluster_390 = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    await shot(page, 'cluster-390x844');
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }]);
    await page.setViewport({ width: 1440, height: 900 });
    await new Promise((r) => setTimeout(r, 500));
    await shot(page, 'cluster-1440x900-dark');
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }]);
  });
  await step('contention', async () => {
    await page.click('nav.tabs a[data-view=contention]');
    await page.waitForFunction((n) => document.querySelectorAll('.contention article.rec').length === n,
      { timeout: STEP_MS }, plan.recommendations);
    report.recs = await page.$$eval('.contention article.rec', (rs) => rs.map((r) => ({
      kind: r.querySelector('.badge').textContent,
      target: r.querySelector('.bar h4').textContent,
      evidence: [...r.querySelectorAll('li')].map((li) => li.textContent),
      command: r.querySelector('code').textContent,
      button: r.querySelector('button') ? { text: r.querySelector('button').textContent, disabled: r.querySelector('button').disabled } : null,
    })));
    report.blocked_rows = await page.$$eval('.contention .blocked tbody tr', (rows) =>
      rows.map((r) => [...r.children].map((td) => td.textContent)));
    report.idle_rows = await page.$$eval('.contention .idle tbody tr', (rows) =>
      rows.map((r) => [...r.children].map((td) => td.textContent)));
    report.top_users = await page.$$eval('.contention .toplist li', (ls) => ls.map((l) => l.textContent));
    await shot(page, 'contention-1440x900');
    await page.setViewport({ width: 390, height: 844 });
    await new Promise((r) => setTimeout(r, 500));
    report.overflow_contention_390 = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    await shot(page, 'contention-390x844');
    await page.setViewport({ width: 1440, height: 900 });
  });
  const actButton = `.contention article.rec button[data-rec^="release_blocked_gpu:${plan.kill_node}:"]`;
  await step('release without token', async () => {
    await page.click(actButton);
    await page.waitForSelector('#confirm-dialog[open]', { timeout: STEP_MS });
    report.confirm_text = await page.$eval('#confirm-text', (e) => e.textContent);
    await shot(page, 'contention-confirm-1440x900');
    await page.click('#confirm-ok');
    await page.waitForSelector('#token-dialog[open]', { timeout: STEP_MS });
    await page.click('#token-dialog button[value=cancel]');
    await page.waitForFunction(() => document.getElementById('toast').textContent.includes('Nothing was sent'), { timeout: STEP_MS });
    report.refused_toast = await page.$eval('#toast', (e) => e.textContent);
    report.alive_after_refusal = await new Promise((r) => setTimeout(() => {
      try { process.kill(plan.kill_pid, 0); r(true); } catch { r(false); }
    }, 1000));
  });
  await step('release with token', async () => {
    await page.click(actButton);
    await page.waitForSelector('#confirm-dialog[open]', { timeout: STEP_MS });
    await page.click('#confirm-ok');
    await page.waitForSelector('#token-dialog[open]', { timeout: STEP_MS });
    await page.type('#token-input', plan.token);
    await page.click('#token-ok');
    await page.waitForFunction((n) => document.getElementById('toast').textContent.startsWith(`node ${n}: pid`),
      { timeout: 60000 }, plan.kill_node);
    report.kill_toast = await page.$eval('#toast', (e) => e.textContent);
  });
  await step('a node goes stale, then offline', async () => {
    await page.click('nav.tabs a[data-view=cluster]');
    await page.waitForSelector(`.cluster table.nodes tr[data-node="${plan.silent_node}"]`, { timeout: STEP_MS });
    // Every status text the node's row shows, from now on.
    await page.evaluate((id) => {
      window.__statuses = [];
      const seen = () => {
        const td = document.querySelector(`.cluster table.nodes tr[data-node="${id}"] td:nth-child(3)`);
        const t = td ? td.textContent : null;
        if (t && window.__statuses[window.__statuses.length - 1] !== t) window.__statuses.push(t);
      };
      new MutationObserver(seen).observe(document.querySelector('.cluster table.nodes tbody'),
        { subtree: true, childList: true, characterData: true });
    }, plan.silent_node);
    process.kill(plan.silent_agent_pid, 'SIGTERM');
    await page.waitForFunction((id) => {
      const td = document.querySelector(`.cluster table.nodes tr[data-node="${id}"] td:nth-child(3)`);
      return td && td.textContent.startsWith('offline');
    }, { timeout: 60000 }, plan.silent_node);
    report.statuses = await page.evaluate(() => window.__statuses);
    report.totals_after = await page.$$eval('.cluster .totals .stat', (ss) => Object.fromEntries(ss.map((s) =>
      [s.querySelector('dt').textContent, s.querySelector('dd').textContent])));
    await shot(page, 'cluster-offline-1440x900');
  });
  await step('the coordinator goes away', async () => {
    report.server_gone_at = report.console_errors.length;
    process.kill(plan.coordinator_pid, 'SIGTERM');
    await page.waitForFunction(() => /^disconnected since /.test(document.getElementById('cluster-conn').textContent),
      { timeout: STEP_MS });
    report.cluster_down = await page.$eval('#cluster-conn', (e) => e.textContent);
    report.cluster_dimmed = await page.$eval('.cluster', (e) => e.classList.contains('stale'));
  });
  await step('csp', () => collectCsp(page));
  await page.close();
}

const browser = await puppeteer.launch({
  executablePath: plan.chromium || '/usr/bin/chromium',
  headless: true,
  userDataDir: path.join(plan.out, 'chromium-profile'),
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run',
    '--disable-extensions', '--disable-background-networking', '--disable-component-update'],
});
try {
  if (plan.suite === 'node') await nodeSuite(browser);
  else if (plan.suite === 'policies') await policiesSuite(browser);
  else if (plan.suite === 'reports') await reportsSuite(browser);
  else if (plan.suite === 'cluster') await clusterSuite(browser);
  else fail('plan', `no suite ${plan.suite}`);
} catch (err) {
  fail('browser', err);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(report) + '\n');
