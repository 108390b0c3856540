#!/usr/bin/env node
// The dashboard end to end in headless Chromium (docs/dashboard.md):
//   node ui/tests/dashboard_e2e.mjs --mlfaas build/bin/mlfaas --artifacts DIR [--keep]
// Exit 0: pass; 1: fail (the reason on stderr); 77: skipped (no /usr/bin/chromium or no
// playwright-core). Hermetic: a temporary MLFAAS_HOME, `mlfaas serve --port 0` on 127.0.0.1,
// a fresh browser profile, every request outside 127.0.0.1:PORT aborted and reported, every
// child process killed and awaited at the end, every wait bounded.
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const UI = path.resolve(HERE, '..');
const SOURCE = path.resolve(UI, '..');
const CHROMIUM = process.env.MLFAAS_CHROMIUM || '/usr/bin/chromium';
const AXE = path.join(UI, 'node_modules', 'axe-core', 'axe.min.js');
const SKIP = 77;
const OVERALL_TIMEOUT_MS = 150_000;

// ------------------------------------------------------------------ arguments
function parseArgs(argv) {
  const out = { mlfaas: null, artifacts: null, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--mlfaas') out.mlfaas = argv[++i];
    else if (a === '--artifacts') out.artifacts = argv[++i];
    else if (a === '--keep') out.keep = true;
    else if (a === '-h' || a === '--help') {
      console.log('usage: node dashboard_e2e.mjs --mlfaas PATH --artifacts DIR [--keep]');
      process.exit(0);
    } else {
      console.error(`dashboard_e2e: unknown argument ${a}`);
      process.exit(1);
    }
  }
  if (!out.mlfaas || !out.artifacts) {
    console.error('dashboard_e2e: usage: --mlfaas PATH --artifacts DIR');
    process.exit(1);
  }
  out.mlfaas = path.resolve(out.mlfaas);
  out.artifacts = path.resolve(out.artifacts);
  return out;
}
const opts = parseArgs(process.argv.slice(2));

// ------------------------------------------------------------------ skip conditions
if (!fs.existsSync(CHROMIUM)) {
  console.log(`dashboard_e2e: SKIPPED: no Chromium at ${CHROMIUM}`);
  process.exit(SKIP);
}
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  console.log(`dashboard_e2e: SKIPPED: playwright-core is not installed in ${UI}/node_modules (npm ci in ui/): ${e.message}`);
  process.exit(SKIP);
}
if (!fs.existsSync(AXE)) {
  console.log(`dashboard_e2e: SKIPPED: axe-core is not installed (${AXE})`);
  process.exit(SKIP);
}
if (!fs.existsSync(opts.mlfaas)) {
  console.error(`dashboard_e2e: FAIL: no mlfaas binary at ${opts.mlfaas}`);
  process.exit(1);
}

// ------------------------------------------------------------------ children and clean-up
const children = new Set();
const tempDirs = [];
let browserContext = null;
let browserLaunch = null;  // the browser's launch, started with the setup

function track(child, name) {
  child.name = name;
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => { children.delete(child); resolve({ code, signal }); }));
  children.add(child);
  return child;
}
async function stopChild(child, graceMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try { child.kill('SIGTERM'); } catch { /* gone */ }
  const t = setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } }, graceMs);
  await child.exited;
  clearTimeout(t);
}
let cleaned = false;
async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  if (browserLaunch && !browserContext) {
    // Still starting (the setup failed first): wait for it, so that it is closed too.
    browserContext = await Promise.race([browserLaunch.catch(() => null), sleep(30_000).then(() => null)]);
  }
  if (browserContext) {
    await Promise.race([browserContext.close().catch(() => {}), sleep(10_000)]);
    browserContext = null;
  }
  await Promise.all([...children].map((c) => stopChild(c)));
  if (!opts.keep) for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
}
process.on('exit', () => {
  // Last resort (an uncaught error): nothing may outlive the test.
  for (const c of children) { try { c.kill('SIGKILL'); } catch { /* gone */ } }
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => { console.error(`dashboard_e2e: ${sig}: cleaning up`); cleanup().finally(() => process.exit(1)); });
}

// ------------------------------------------------------------------ helpers
function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }
class Failure extends Error {}
function check(cond, message) {
  if (!cond) throw new Failure(message);
  console.log(`  ok: ${message}`);
}
async function waitFor(what, fn, timeoutMs = 10_000, everyMs = 50) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) { last = e; }
    if (Date.now() > end) throw new Failure(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? ` (${last.message})` : ''}`);
    await sleep(everyMs);
  }
}
const t0 = Date.now();
function step(name) { console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${name}`); }

function mlfaas(home, args, timeoutMs = 60_000) {
  return new Promise((resolve, reject) => {
    const child = execFile(opts.mlfaas, args, { env: { ...process.env, MLFAAS_HOME: home, MLFAAS_REMOTE: '' }, timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Failure(`mlfaas ${args.join(' ')} failed: ${err.message}\n${stderr}`));
        else resolve(stdout);
      });
    track(child, `mlfaas ${args[0]}`);
  });
}

function startServe(home) {
  const child = track(spawn(opts.mlfaas, ['serve', '--port', '0', '--host', '127.0.0.1'], {
    env: { ...process.env, MLFAAS_HOME: home, MLFAAS_REMOTE: '' }, stdio: ['ignore', 'pipe', 'pipe'],
  }), 'mlfaas serve');
  const logFile = fs.createWriteStream(path.join(opts.artifacts, 'serve.log'));
  child.stderr.pipe(logFile);
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Failure(`mlfaas serve did not print "listening on" within 20 s:\n${buf}`)), 20_000);
    child.stdout.on('data', (d) => {
      logFile.write(d);
      buf += d;
      const m = buf.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) { clearTimeout(timer); resolve({ child, port: Number(m[1]) }); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Failure(`mlfaas serve exited (${code}) before listening:\n${buf}`)); });
  });
}

async function axeCheck(page, label, { iframes = true } = {}) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(async (withFrames) => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'], iframes: withFrames });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
  }, iframes);
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const minor = result.filter((v) => !bad.includes(v));
  if (minor.length) console.log(`  note: axe (${label}) minor/moderate: ${minor.map((v) => `${v.id} [${v.impact}]`).join(', ')}`);
  check(bad.length === 0, `axe-core: no serious/critical violation on the ${label} page${bad.length ? `; got: ${JSON.stringify(bad, null, 1)}` : ''}`);
}

async function shot(page, name) {
  const file = path.join(opts.artifacts, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`  screenshot: ${file}`);
}

// ------------------------------------------------------------------ the test
async function main() {
  fs.mkdirSync(opts.artifacts, { recursive: true });
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mlfaas-dash-'));
  tempDirs.push(home);
  const work = path.join(home, 'work');
  fs.mkdirSync(work);

  // The browser starts meanwhile (it does not need the gateway until it opens the page).
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mlfaas-dash-chromium-'));
  tempDirs.push(profile);
  browserLaunch = chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    timeout: 30_000,
  });
  browserLaunch.catch(() => {});  // awaited below (or by the clean-up)

  step('setup: train, create, publish twice, alias, keys');
  const data = path.join(SOURCE, 'data', 'kdd99-http.csv.gz');
  const pkg = path.join(work, 'kdd.zip');
  await mlfaas(home, ['train', '--data', data, '--out', pkg]);
  await mlfaas(home, ['function', 'create', 'kdd', '--package', pkg, '--memory', '512']);
  const v1 = (await mlfaas(home, ['function', 'publish', 'kdd', '--description', 'first'])).trim();
  await mlfaas(home, ['function', 'update-config', 'kdd', '--description', 'second']);
  // A hostile description: the page must show it as text, never run it.
  const hostile = '<img src=x onerror="window.__pwned=1">second';
  const v2 = (await mlfaas(home, ['function', 'publish', 'kdd', '--description', hostile])).trim();
  check(v1 === '1' && v2 === '2', `two published versions (got ${v1}, ${v2})`);
  await mlfaas(home, ['alias', 'create', 'kdd', 'live', '--version', '1']);
  const keyOf = (s) => { const k = JSON.parse(s); return `${k.AccessKeyId}:${k.SecretAccessKey}`; };
  const reader = keyOf(await mlfaas(home, ['key', 'create', '--name', 'reader', '--scope', 'read:*', '--json']));
  const deployer = keyOf(await mlfaas(home, ['key', 'create', '--name', 'deployer', '--scope', 'read:*', '--scope', 'deploy:*', '--scope', 'invoke:*', '--json']));
  // The bench's own key: its requests must not eat the deployer's rate limit.
  const benchKey = keyOf(await mlfaas(home, ['key', 'create', '--name', 'bench', '--scope', 'invoke:*', '--rate', '100000', '--json']));

  step('serve --port 0');
  const { port } = await startServe(home);
  const origin = `http://127.0.0.1:${port}`;
  const authed = (token, extra) => ({ Authorization: `Bearer ${token}`, ...(extra || {}) });
  await waitFor('GET /v1/dashboard to answer 200', async () => (await fetch(`${origin}/v1/dashboard`, { headers: authed(reader) })).ok, 15_000);

  // Light load: one invocation every ~100 ms, through the alias, with the deploy key.
  const requestIds = [];
  const invokeErrors = [];
  let loadOn = true;
  const load = (async () => {
    while (loadOn) {
      const started = Date.now();
      try {
        const r = await fetch(`${origin}/2015-03-31/functions/kdd:live/invocations`, {
          method: 'POST', headers: authed(deployer, { 'Content-Type': 'application/json' }),
          body: JSON.stringify({ duration: 0, src_bytes: 215, dst_bytes: 45076 }), signal: AbortSignal.timeout(5000),
        });
        await r.arrayBuffer();
        if (r.ok) requestIds.push({ id: r.headers.get('x-amz-request-id'), at: Date.now() });
        else invokeErrors.push(`${r.status} ${r.headers.get('x-amzn-errortype') || ''}`);
      } catch (e) { invokeErrors.push(String(e.message || e)); }
      await sleep(Math.max(0, 100 - (Date.now() - started)));
    }
  })();

  // A bench report, written while the browser checks the other pages.
  const scenario = path.join(work, 'tiny.yaml');
  fs.writeFileSync(scenario, [
    'execution:',
    '- concurrency: 2',
    '  ramp-up: 0s',
    '  hold-for: 2s',
    '  scenario: predict',
    'scenarios:',
    '  predict:',
    '    timeout: 5s',
    '    requests:',
    `    - url: ${origin}/2015-03-31/functions/kdd:live/invocations`,
    '      method: POST',
    `      headers: {Content-Type: application/json, Authorization: "Bearer ${benchKey}"}`,
    '      think-time: 10ms',
    '      body: {"duration": 0, "src_bytes": 215, "dst_bytes": 45076}',
    '',
  ].join('\n'));
  // Without --report-dir the CLI writes its report under <home>/reports/<id>/, where the
  // dashboard lists it.
  const reportsDir = path.join(home, 'reports');
  const bench = mlfaas(home, ['bench', 'run', scenario, '--quiet'], 30_000)
    .then((out) => ({ out }), (err) => ({ err }));

  step('browser');
  browserContext = await browserLaunch;
  const ctx = browserContext;
  ctx.setDefaultTimeout(10_000);
  ctx.setDefaultNavigationTimeout(15_000);
  const otherHosts = [];
  const pageErrors = [];
  const allowed = (u) => {
    let url;
    try { url = new URL(u); } catch { return false; }
    if (url.protocol === 'data:' || url.protocol === 'about:' || url.protocol === 'blob:') return true;
    return (url.protocol === 'http:' || url.protocol === 'ws:') && url.host === `127.0.0.1:${port}`;
  };
  ctx.on('request', (req) => { if (!allowed(req.url())) otherHosts.push(req.url()); });
  await ctx.route('**/*', (route) => (allowed(route.request().url()) ? route.continue() : route.abort('blockedbyclient')));
  const page = ctx.pages()[0] || await ctx.newPage();
  page.on('pageerror', (e) => { pageErrors.push(String(e && e.stack ? e.stack : e)); console.log(`  browser page error: ${e}`); });
  const cspViolations = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    console.log(`  browser console: ${m.text()}`);
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });

  // -------------------------------------------------- sign-in
  step('sign-in form (no key yet: the API says 401)');
  await page.goto(`${origin}/ui/`);
  const keyInput = page.getByLabel('API key (AccessKeyId:SecretAccessKey)');
  await keyInput.waitFor({ state: 'visible' });
  check(await keyInput.getAttribute('type') === 'password', 'sign-in form: a password input labelled "API key (AccessKeyId:SecretAccessKey)"');
  await axeCheck(page, 'sign-in');
  await shot(page, 'signin');
  await keyInput.fill('AKIANOTAKEY:wrong');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#signin-error .alert-error').waitFor();
  check(true, 'a wrong key is refused with a message');
  await keyInput.fill(deployer);
  await page.getByRole('button', { name: 'Sign in' }).click();

  // -------------------------------------------------- functions page
  step('functions page');
  const row = page.locator('#functions-table tbody tr[data-function="kdd"]');
  await row.waitFor();
  check(await page.locator('#auth-mode').textContent() === 'auth: enforced', 'the top bar says auth: enforced');
  const invocationsCol = await page.locator('#functions-table thead th').allTextContents();
  const col = (name) => invocationsCol.indexOf(name);
  check(col('Invocations') > 0 && col('Aliases') > 0, 'the functions table has the Invocations and Aliases columns');
  const invocations = await waitFor('kdd\'s invocation count > 0', async () => {
    const txt = await row.locator('> *').nth(col('Invocations')).textContent();
    const n = Number(txt.replace(/[^0-9.]/g, ''));
    return n > 0 ? n : 0;
  }, 10_000);
  check(invocations > 0, `the row for kdd counts ${invocations} invocations`);
  const aliasesCell = await row.locator('> *').nth(col('Aliases')).textContent();
  check(/live\s*→\s*1/.test(aliasesCell), `the aliases column shows live → 1 (got "${aliasesCell}")`);
  const fnsSeen = await page.locator('#functions-table tbody tr').count();
  check(fnsSeen === 1, 'one row per function (one function)');
  await axeCheck(page, 'functions');
  await shot(page, 'functions');

  // -------------------------------------------------- keyboard: Tab from the top
  step('keyboard navigation');
  // From the top: a fresh load (the key stays in sessionStorage), nothing focused.
  await page.reload();
  await row.waitFor();
  const reached = new Set();
  let onFnLink = false;
  for (let i = 0; i < 40 && !onFnLink; i++) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => {
      const a = document.activeElement;
      if (!a) return '';
      if (a.id) return `#${a.id}`;
      if (a.classList.contains('fn-link')) return `fn-link:${a.textContent}`;
      return a.tagName;
    });
    reached.add(id);
    if (id === 'fn-link:kdd') onFnLink = true;
  }
  check(reached.has('#nav-functions') && reached.has('#nav-reports'), `Tab from the top reaches the nav links (focus went to: ${[...reached].join(', ')})`);
  check(onFnLink, 'Tab goes on to the link to kdd\'s page');
  await page.keyboard.press('Enter');
  await page.waitForURL(/#\/f\/kdd$/);
  check(true, 'Enter on the link opens #/f/kdd');

  // -------------------------------------------------- function page: charts
  step('function page: live charts');
  const charts = page.locator('#live-charts');
  await charts.waitFor();
  check(await page.locator('#charts-unavailable').count() === 0, 'the chart library is there (no "charts unavailable")');
  check(await page.locator('#live-charts .uplot').count() >= 2, 'two uPlot charts are drawn');
  const readCharts = async () => ({
    points: Number(await charts.getAttribute('data-points')),
    lastT: Number(await charts.getAttribute('data-last-t')),
    hits: Number(await charts.getAttribute('data-hits-total')),
  });
  const first = await waitFor('chart points', async () => { const r = await readCharts(); return r.points > 0 && r.lastT > 0 ? r : null; });
  // The charts must move on by two seconds of samples from the stream: checked once the
  // versions and the log below are (the page is not reloaded meanwhile, and a mark on the
  // charts' element shows it is still the one read here).
  await charts.evaluate((el) => { el.e2eFirstRead = true; });
  const firstReadAt = Date.now();
  const hits = await waitFor('plotted hits > 0', async () => { const r = await readCharts(); return r.hits > 0 ? r.hits : 0; }, 5000);
  check(hits > 0, `the plotted hits/s are > 0 (${hits} hits in the window)`);
  const legend = await page.locator('#live-charts .u-legend').allTextContents();
  check(/hits\/s/.test(legend.join(' ')) && /max latency/.test(legend.join(' ')) && /instances/.test(legend.join(' ')) && /cold starts/.test(legend.join(' ')),
    'the legends name hits/s, instances, cold starts, avg and max latency');

  // -------------------------------------------------- function page: versions
  step('function page: versions and metrics');
  const vt = page.locator('#versions-table');
  await vt.waitFor();
  const vHeads = await vt.locator('thead th').allTextContents();
  check(vHeads.some((t) => t.startsWith('Version 1')) && vHeads.some((t) => t.startsWith('Version 2')), 'the versions table has a column per version');
  for (const metric of ['auc', 'f1']) {
    const cells = await vt.locator(`tbody tr[data-metric="${metric}"] td`).allTextContents();
    check(cells.length === 2 && cells.every((c) => /^0\.\d{4}$|^1\.0000$/.test(c.trim())), `${metric.toUpperCase()} shown for both versions (${cells.join(', ')})`);
  }

  const descriptions = await vt.locator('tbody tr:last-child td').allTextContents();
  check(descriptions.includes(hostile) && await page.evaluate(() => window.__pwned === undefined && !document.querySelector('#versions-table img')),
    'a hostile description is shown as text, not run');

  // -------------------------------------------------- function page: logs
  step('function page: log tail and request-id filter');
  const logRows = page.locator('#log-table tbody tr[data-request-id]');
  await waitFor('log lines', async () => (await logRows.count()) > 0, 10_000);
  check(true, `the log tail shows ${await logRows.count()} lines`);
  const target = requestIds.find((r) => Date.now() - r.at > 500) || requestIds[0];
  check(!!(target && target.id), 'an invocation answered with X-Amz-Request-Id');
  await page.getByLabel('Filter by request ID').fill(target.id);
  await page.getByLabel('Filter by request ID').press('Enter');
  const filtered = await waitFor('the filtered log', async () => {
    if (await page.locator('#log-table').getAttribute('data-filter') !== target.id) return null;
    const ids = await page.locator('#log-table tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.requestId ?? null));
    return ids.length >= 3 ? ids : null;
  });
  check(filtered.every((id) => id === target.id), `filtering by ${target.id} shows only its ${filtered.length} lines`);
  const texts = await page.locator('#log-table tbody td.logtext').allTextContents();
  check(texts.some((t) => t.startsWith(`REPORT RequestId: ${target.id}`)), 'the filtered lines include its REPORT line');
  await page.locator('#log-clear').click();
  await waitFor('the unfiltered log again', async () => await page.locator('#log-table').getAttribute('data-filter') === '' && (await logRows.count()) > 3);

  await axeCheck(page, 'function');
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, 'function');

  // The live charts (read first above), still without a reload: given as long as before
  // (8.6 s from the first reading, at least 6 s from here) to move on by two seconds.
  const second = await waitFor('the charts to move on', async () => {
    const r = await readCharts();
    return r.lastT >= first.lastT + 2 ? r : null;
  }, Math.max(6000, 8600 - (Date.now() - firstReadAt)));
  check(await charts.evaluate((el) => el.e2eFirstRead === true), 'the charts were not redrawn from scratch since the first reading');
  check(second.points >= first.points && second.lastT >= first.lastT + 2,
    `charts update from the stream: ${first.points} → ${second.points} points, last t ${first.lastT} → ${second.lastT}`);

  // -------------------------------------------------- keyboard: alias controls
  await page.reload();
  await page.locator('#alias-live-version').waitFor();
  let onAlias = false;
  for (let i = 0; i < 80 && !onAlias; i++) {
    await page.keyboard.press('Tab');
    onAlias = await page.evaluate(() => document.activeElement && document.activeElement.id === 'alias-live-version');
  }
  check(onAlias, 'Tab from the top reaches the alias controls');

  // -------------------------------------------------- alias change with the deploy key
  step('alias change with the deploy key');
  const getAlias = async () => {
    const r = await fetch(`${origin}/2015-03-31/functions/kdd/aliases/live`, { headers: authed(deployer) });
    if (!r.ok) throw new Failure(`GetAlias: ${r.status} ${await r.text()}`);
    return r.json();
  };
  await page.locator('#alias-live-version').selectOption('2');
  await page.locator('#alias-live-canary').selectOption('1');
  await page.locator('#alias-live-weight').fill('20');
  await page.locator('#alias-live-apply').click();
  const dialog = page.locator('dialog#confirm-dialog');
  await dialog.waitFor({ state: 'visible' });
  check(/version 2, canary version 1 at 20%/.test(await dialog.textContent()), 'the confirmation dialog states the change');
  await page.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden' });
  check((await getAlias()).FunctionVersion === '1', 'Cancel changes nothing');
  await page.locator('#alias-live-apply').click();
  await dialog.waitFor({ state: 'visible' });
  await page.screenshot({ path: path.join(opts.artifacts, 'function-confirm.png') });
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.locator('#alias-ok').waitFor();
  const after = await getAlias();
  check(after.FunctionVersion === '2' && Math.abs((after.RoutingConfig?.AdditionalVersionWeights || {})['1'] - 0.2) < 1e-9,
    `the API says live → 2 with canary 1 at 20% (${JSON.stringify(after.RoutingConfig)})`);
  await waitFor('the aliases table to show the change', async () => (await page.locator('#aliases-table tr[data-alias="live"]').textContent()).includes('20%'));

  // -------------------------------------------------- read-only key
  step('read-only key');
  await page.locator('#sign-out').click();
  await keyInput.waitFor({ state: 'visible' });
  check(await page.evaluate(() => sessionStorage.length === 0), 'sign out clears the key from sessionStorage');
  await keyInput.fill(reader);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#readonly-note').waitFor();
  check((await page.locator('#readonly-note').textContent()).includes('read-only key: changing aliases needs the deploy scope'), 'the read-only note is shown');
  check(await page.locator('#alias-live-version').isDisabled() && await page.locator('#alias-live-apply').isDisabled(), 'the alias controls are disabled for a read key');
  const refused = await page.evaluate(async (token) => {
    const r = await fetch('/2015-03-31/functions/kdd/aliases/live', {
      method: 'PUT', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ FunctionVersion: '1', RoutingConfig: { AdditionalVersionWeights: {} } }),
    });
    return { status: r.status, type: r.headers.get('X-Amzn-ErrorType'), body: await r.text() };
  }, reader);
  check(refused.status === 403, `a PUT from the page with the read key gets 403 (${refused.status} ${refused.type})`);
  // Whatever the page shows: controls forced on in the page still meet the gateway's 403, and
  // the page shows its message.
  await page.evaluate(() => document.querySelectorAll('.alias-form fieldset').forEach((f) => { f.disabled = false; }));
  await page.locator('#alias-live-version').selectOption('1');
  await page.locator('#alias-live-canary').selectOption('');
  await page.locator('#alias-live-apply').click();
  await dialog.waitFor({ state: 'visible' });
  await page.getByRole('button', { name: 'Confirm' }).click();
  const denied = page.locator('#alias-status .alert-error');
  await denied.waitFor();
  const deniedText = await denied.textContent();
  check(/AccessDeniedException/.test(deniedText) && /deploy/.test(deniedText), `the page shows the gateway's refusal ("${deniedText.slice(0, 90)}…")`);
  await shot(page, 'function-readonly');
  const unchanged = await getAlias();
  check(unchanged.FunctionVersion === '2' && (unchanged.RoutingConfig?.AdditionalVersionWeights || {})['1'] === 0.2, 'the alias is unchanged');

  // -------------------------------------------------- reports
  step('reports page');
  const b = await Promise.race([bench, sleep(30_000).then(() => ({ err: new Failure('bench run did not end within 30 s') }))]);
  if (b.err) throw b.err;
  const written = fs.existsSync(reportsDir)
    ? fs.readdirSync(reportsDir).filter((d) => fs.existsSync(path.join(reportsDir, d, 'report.html'))) : [];
  check(written.length === 1, `mlfaas bench run wrote its report under <home>/reports/<id>/report.html (${written.join(', ') || 'none'})`);
  const reportId = written[0];
  await page.locator('#nav-reports').click();
  const reportRow = page.locator(`#reports-table tbody tr[data-report="${reportId}"]`);
  await reportRow.waitFor();
  check(await page.locator('#reports-table tbody tr').count() === 1, `the reports list shows the bench report ${reportId}`);
  await axeCheck(page, 'reports');
  await reportRow.locator('a.report-link').click();
  const frame = page.locator('iframe#report-frame');
  await frame.waitFor();
  check(await frame.getAttribute('sandbox') === 'allow-scripts', 'the report opens in an iframe sandbox="allow-scripts"');
  const frameText = await waitFor('the report to render in the iframe', async () => {
    const t = await page.frameLocator('iframe#report-frame').locator('body').textContent({ timeout: 2000 });
    return t && t.trim().length > 20 ? t : null;
  });
  check(frameText.length > 20, `the report renders in place (${frameText.trim().slice(0, 60).replace(/\s+/g, ' ')}…)`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, 'reports');

  // -------------------------------------------------- offline
  loadOn = false;
  await load;
  check(otherHosts.length === 0, `every request went to 127.0.0.1:${port}${otherHosts.length ? `; others: ${otherHosts.join(', ')}` : ''}`);
  check(cspViolations.length === 0, `the page keeps to its Content-Security-Policy${cspViolations.length ? `: ${cspViolations.join('\n')}` : ''}`);
  check(pageErrors.length === 0, `no uncaught error in the page${pageErrors.length ? `: ${pageErrors.join('\n')}` : ''}`);
  check(invokeErrors.length === 0, `the background load had no failed invocation (${requestIds.length} answered${invokeErrors.length ? `; failed: ${invokeErrors.slice(0, 5).join(', ')}` : ''})`);
}

const watchdog = setTimeout(() => {
  console.error(`dashboard_e2e: FAIL: the whole test took longer than ${OVERALL_TIMEOUT_MS / 1000} s`);
  cleanup().finally(() => process.exit(1));
}, OVERALL_TIMEOUT_MS);

let code = 0;
try {
  await main();
  console.log(`dashboard_e2e: PASS in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
} catch (e) {
  code = 1;
  console.error(`dashboard_e2e: FAIL: ${e instanceof Failure ? e.message : (e && e.stack) || e}`);
  try {
    const p = browserContext && browserContext.pages()[0];
    if (p) await Promise.race([p.screenshot({ path: path.join(opts.artifacts, 'failure.png'), fullPage: true }), sleep(5000)]);
  } catch { /* best effort */ }
} finally {
  await cleanup();
  clearTimeout(watchdog);
}
process.exit(code);
