// The mlfaas dashboard (docs/dashboard.md). Plain JS, no build step, no external request.
// Every string that comes from the API is hostile: it reaches the DOM through textContent and
// createElement only, never through innerHTML.
'use strict';

(() => {
  const KEY_STORE = 'mlfaas.dashboard.key';
  const POLL_TABLE_MS = 3000;
  const POLL_LOGS_MS = 4000;
  const MAX_POINTS = 900;
  const LOG_TAIL = 200;

  // ---------------------------------------------------------------- small helpers
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'text') el.textContent = v;
        else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else if (k === 'dataset') Object.assign(el.dataset, v);
        else if (v === true) el.setAttribute(k, '');
        else el.setAttribute(k, String(v));
      }
    }
    append(el, children);
    return el;
  }
  function append(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }
  const $ = (sel, root = document) => root.querySelector(sel);

  const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
  function fmtNum(v, digits = 0) {
    if (!isNum(v)) return '–';
    return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }
  const fmtRate = (v) => fmtNum(v, isNum(v) && !Number.isInteger(v) ? 1 : 0);
  function fmtMs(v) {
    if (!isNum(v)) return '–';
    if (v < 10) return v.toFixed(2);
    if (v < 100) return v.toFixed(1);
    return v.toFixed(0);
  }
  function fmtMetric(v) { return isNum(v) ? v.toFixed(4) : '–'; }
  function fmtPct(w) { return isNum(w) ? `${+(w * 100).toFixed(2)}%` : '–'; }
  function fmtUsd(v) {
    if (!isNum(v)) return '–';
    if (v === 0) return '$0';
    if (v < 0.01) return `$${v.toPrecision(3)}`;
    return `$${v.toFixed(2)}`;
  }
  function fmtBytes(n) {
    if (!isNum(n)) return '–';
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
    return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  }
  function fmtTime(s) {
    if (!s) return '–';
    const d = new Date(s);
    if (Number.isNaN(d.getTime())) return String(s);
    return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace(/Z$/, ' UTC');
  }
  function fmtDuration(ms) {
    if (!isNum(ms)) return '–';
    const s = ms / 1000;
    if (s < 60) return `${+s.toFixed(1)} s`;
    if (s < 3600) return `${+(s / 60).toFixed(1)} min`;
    return `${+(s / 3600).toFixed(1)} h`;
  }
  function fmtSeconds(s) { return isNum(s) ? fmtDuration(s * 1000) : '–'; }
  function aliasText(a) {
    let s = `${a.name} → ${a.version}`;
    if (a.canary_version !== null && a.canary_version !== undefined && a.canary_version !== '') {
      s += ` (${a.canary_version}: ${fmtPct(a.canary_weight)})`;
    }
    return s;
  }
  const sleep = (ms, signal) => new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    if (signal) signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });

  // ---------------------------------------------------------------- auth and the API
  let apiKey = null;
  try { apiKey = sessionStorage.getItem(KEY_STORE); } catch { apiKey = null; }
  let meta = { auth: null, chart_library: null };

  class ApiError extends Error {
    constructor(status, message, type) { super(message); this.status = status; this.type = type; }
  }

  function authHeaders(extra) {
    const headers = Object.assign({}, extra || {});
    if (apiKey) headers.Authorization = `Bearer ${apiKey}`;
    return headers;
  }

  async function errorFrom(res) {
    let message = `${res.status} ${res.statusText}`.trim();
    let type = res.headers.get('X-Amzn-ErrorType') || '';
    try {
      const text = await res.text();
      try {
        const body = JSON.parse(text);
        message = body.message || body.Message || message;
        type = type || body.__type || body.type || '';
      } catch {
        if (text) message = text.slice(0, 300);
      }
    } catch { /* body gone */ }
    return new ApiError(res.status, message, type);
  }

  // The key itself was refused (unknown, revoked, wrong secret): back to the sign-in form.
  const badKey = (status, type) => status === 401
    || (status === 403 && /UnrecognizedClient|InvalidSignature|MissingAuthenticationToken|ExpiredToken/.test(type || ''));

  // fetch() with the key; a refused key sends the user to the sign-in form.
  async function api(path, opts = {}) {
    const res = await fetch(path, {
      method: opts.method || 'GET',
      headers: authHeaders(opts.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
      signal: opts.signal,
      cache: 'no-store',
    });
    if (!res.ok) {
      const err = await errorFrom(res);
      if (badKey(res.status, err.type)) {
        if (!meta.auth) meta.auth = 'enforced';
        err.status = 401;
        needSignIn(err.message);
      }
      throw err;
    }
    if (opts.raw) return res;
    const ct = res.headers.get('Content-Type') || '';
    return ct.includes('json') ? res.json() : res.text();
  }

  function setStatus(text, kind) {
    const el = $('#status');
    clear(el);
    el.className = `status${kind ? ` status-${kind}` : ''}`;
    if (text) el.append(h('p', null, text));
  }

  function updateSession() {
    const mode = $('#auth-mode');
    if (meta.auth) {
      mode.hidden = false;
      mode.textContent = `auth: ${meta.auth}`;
      mode.title = meta.auth === 'enforced'
        ? 'The gateway enforces API keys' : 'The gateway runs without authentication';
    } else {
      mode.hidden = true;
    }
    const keyEl = $('#session-key');
    const out = $('#sign-out');
    if (apiKey) {
      keyEl.hidden = false;
      keyEl.textContent = `key ${apiKey.split(':')[0]}`;
      out.hidden = false;
    } else {
      keyEl.hidden = true;
      out.hidden = true;
    }
  }

  let signInReason = '';
  function needSignIn(reason) {
    if (current && current.name === 'signin') return;
    signInReason = reason || '';
    showSignIn();
  }

  function signOut() {
    apiKey = null;
    try { sessionStorage.removeItem(KEY_STORE); } catch { /* private mode */ }
    updateSession();
    setStatus('Signed out.', 'info');
    signInReason = '';
    showSignIn();
  }

  // ---------------------------------------------------------------- views and routing
  let current = null; // {name, cleanup: [fn]}

  function leaveView() {
    if (!current) return;
    for (const fn of current.cleanup) {
      try { fn(); } catch { /* ignore */ }
    }
    current = null;
  }

  function newView(name, title) {
    leaveView();
    current = { name, cleanup: [] };
    document.title = title ? `${title} · mlfaas dashboard` : 'mlfaas dashboard';
    for (const a of document.querySelectorAll('[data-nav]')) {
      if (a.dataset.nav === name) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    const view = clear($('#view'));
    return { view, ctx: current };
  }

  function every(ctx, ms, fn) {
    let stopped = false;
    let timer = null;
    const tick = async () => {
      if (stopped) return;
      try { await fn(); } catch { /* shown by fn */ }
      if (!stopped) timer = setTimeout(tick, ms);
    };
    timer = setTimeout(tick, ms);
    ctx.cleanup.push(() => { stopped = true; clearTimeout(timer); });
  }

  function route() {
    const hash = location.hash || '#/';
    let m;
    setStatus('');
    if (!apiKey && meta.auth === 'enforced') return showSignIn();
    if ((m = hash.match(/^#\/f\/(.+)$/))) {
      let name;
      try { name = decodeURIComponent(m[1]); } catch { name = m[1]; }
      return showFunction(name);
    }
    if ((m = hash.match(/^#\/reports\/(.+)$/))) {
      let id;
      try { id = decodeURIComponent(m[1]); } catch { id = m[1]; }
      return showReports(id);
    }
    if (hash === '#/reports') return showReports(null);
    return showFunctions();
  }

  function card(title, opts, ...body) {
    const id = opts && opts.id;
    const headId = id ? `${id}-title` : undefined;
    return h('section', { class: `card${opts && opts.class ? ` ${opts.class}` : ''}`, id, 'aria-labelledby': headId },
      h('div', { class: 'card-head' },
        h('h2', { id: headId }, title),
        opts && opts.actions ? h('div', { class: 'card-actions' }, opts.actions) : null),
      h('div', { class: 'card-body' }, body));
  }

  function errorBox(err) {
    return h('div', { class: 'alert alert-error', role: 'alert' },
      h('strong', null, err.type ? `${err.type}: ` : 'Error: '), err.message || String(err));
  }

  // ---------------------------------------------------------------- sign-in
  function showSignIn() {
    const { view } = newView('signin', 'Sign in');
    updateSession();
    const input = h('input', {
      id: 'api-key', name: 'api-key', type: 'password', autocomplete: 'off', spellcheck: 'false',
      required: true, 'aria-describedby': 'api-key-help',
    });
    const err = h('div', { id: 'signin-error', 'aria-live': 'polite' });
    if (signInReason && apiKey) err.append(errorBox(new ApiError(401, signInReason, '')));
    const form = h('form', { class: 'signin-form', id: 'signin-form', novalidate: true },
      h('label', { for: 'api-key' }, 'API key (AccessKeyId:SecretAccessKey)'),
      input,
      h('p', { class: 'help', id: 'api-key-help' },
        'Create one with ', h('code', null, "mlfaas key create --name me --scope 'read:*'"),
        '. The key stays in this tab (sessionStorage) and goes only into the Authorization header.'),
      err,
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Sign in')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const key = input.value.trim();
      clear(err);
      if (!/^[^:\s]+:\S+$/.test(key)) {
        err.append(errorBox(new ApiError(0, 'Give the key as AccessKeyId:SecretAccessKey.', '')));
        input.focus();
        return;
      }
      apiKey = key;
      try {
        const res = await fetch('/v1/dashboard', { headers: authHeaders(), cache: 'no-store' });
        if (!res.ok) {
          const e = await errorFrom(res);
          if (badKey(res.status, e.type)) e.status = 401;
          throw e;
        }
        const data = await res.json();
        meta = { auth: data.auth, chart_library: data.chart_library };
        try { sessionStorage.setItem(KEY_STORE, key); } catch { /* private mode */ }
        updateSession();
        setStatus('Signed in.', 'info');
        current = null;
        if (location.hash === '#/signin') location.hash = '#/';
        route();
      } catch (e) {
        apiKey = null;
        err.append(errorBox(e.status === 401 ? new ApiError(401, `The gateway refused this key: ${e.message}`, '') : e));
        input.focus();
      }
    });
    view.append(h('div', { class: 'signin-wrap' },
      h('h1', null, 'Sign in'),
      card('API key', { id: 'signin' },
        h('p', null, 'This gateway enforces API keys. Sign in with a key that has the ', h('code', null, 'read'),
          ' scope; a key with ', h('code', null, 'deploy'), ' may also change aliases and canaries.'),
        form)));
    input.focus();
  }

  // ---------------------------------------------------------------- functions table
  const FN_COLUMNS = [
    ['Function', (f) => h('a', { href: `#/f/${encodeURIComponent(f.name)}`, class: 'fn-link' }, f.name), (f) => f.name],
    ['Runtime', (f) => f.runtime],
    ['Memory', (f) => (isNum(f.memory_mb) ? `${f.memory_mb} MB` : '–'), null, 'num'],
    ['Loading', (f) => h('span', { class: 'badge' }, f.model_loading || '–')],
    ['Conc./inst.', (f) => fmtNum(f.max_concurrency_per_instance), null, 'num'],
    ['Aliases', (f) => {
      const list = f.aliases || [];
      if (!list.length) return h('span', { class: 'muted' }, 'none');
      return h('ul', { class: 'plain' }, list.map((a) => h('li', null, aliasText(a))));
    }],
    ['Versions', (f) => ((f.versions || []).length ? f.versions.join(', ') : h('span', { class: 'muted' }, 'none'))],
    ['Instances', (f) => {
      const st = f.instances || {};
      const parts = Object.entries(st).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${String(k).toLowerCase()}`);
      return parts.length ? parts.join(' · ') : h('span', { class: 'muted' }, '0');
    }],
    ['Inv./min', (f) => fmtRate(f.invocations_per_minute), null, 'num'],
    ['Invocations', (f) => fmtNum(f.invocations), null, 'num'],
    ['Errors', (f) => h('span', { class: f.errors > 0 ? 'text-error' : '' }, fmtNum(f.errors)), null, 'num'],
    ['p50 / p99 (ms)', (f) => `${fmtMs(f.p50_ms)} / ${fmtMs(f.p99_ms)}`, null, 'num'],
    ['Cold starts', (f) => fmtNum(f.cold_starts), null, 'num'],
    ['Cost', (f) => (f.cost ? h('span', null, `${fmtNum(f.cost.gb_seconds, 2)} GB-s`, h('br'), h('span', { class: 'muted' }, fmtUsd(f.cost.usd))) : h('span', { class: 'muted' }, '–')), null, 'num'],
  ];

  function showFunctions() {
    const { view, ctx } = newView('functions', 'Functions');
    const tbody = h('tbody');
    const updated = h('span', { class: 'muted small', id: 'functions-updated' });
    const table = h('table', { class: 'data', id: 'functions-table' },
      h('caption', { class: 'visually-hidden' }, 'Functions, their aliases and their traffic since the gateway started'),
      h('thead', null, h('tr', null, FN_COLUMNS.map(([title, , , cls]) => h('th', { scope: 'col', class: cls }, title)))),
      tbody);
    const empty = h('p', { class: 'muted', hidden: true }, 'No function you may read. Create one with ',
      h('code', null, 'mlfaas function create NAME --package model.zip'), '.');
    const errSlot = h('div');
    const tile = (id, label) => h('div', { class: 'tile' }, h('dt', null, label), h('dd', { id: `tile-${id}` }, '–'));
    const tiles = h('dl', { class: 'tiles' },
      tile('functions', 'Functions'), tile('rate', 'Invocations / min'), tile('invocations', 'Invocations'),
      tile('errors', 'Errors'), tile('instances', 'Instances'), tile('cost', 'Cost'));
    const setTile = (id, text) => { const el = $(`#tile-${id}`, tiles); if (el.textContent !== text) el.textContent = text; };
    view.append(
      h('div', { class: 'page-head' }, h('h1', null, 'Functions'),
        h('p', { class: 'muted' }, 'Every function you may read, refreshed every few seconds. ', updated)),
      errSlot, tiles,
      card('All functions', { id: 'functions', actions: h('span', { class: 'muted small' }, 'Totals since the gateway started') },
        h('div', { class: 'table-wrap' }, table), empty));
    const rows = new Map();
    const load = async () => {
      let data;
      try {
        data = await api('/v1/dashboard');
      } catch (e) {
        if (e.status !== 401) { clear(errSlot).append(errorBox(e)); }
        throw e;
      }
      clear(errSlot);
      meta = { auth: data.auth, chart_library: data.chart_library };
      updateSession();
      const fns = data.functions || [];
      empty.hidden = fns.length > 0;
      const sum = (pick) => fns.reduce((a, f) => a + (isNum(pick(f)) ? pick(f) : 0), 0);
      setTile('functions', fmtNum(fns.length));
      setTile('rate', fmtRate(sum((f) => f.invocations_per_minute)));
      setTile('invocations', fmtNum(sum((f) => f.invocations)));
      setTile('errors', fmtNum(sum((f) => f.errors)));
      setTile('instances', fmtNum(sum((f) => Object.values(f.instances || {}).reduce((a, n) => a + (isNum(n) ? n : 0), 0))));
      setTile('cost', fns.some((f) => f.cost) ? fmtUsd(sum((f) => f.cost && f.cost.usd)) : '–');
      const seen = new Set();
      for (const f of fns) {
        seen.add(f.name);
        let row = rows.get(f.name);
        if (!row) {
          row = h('tr', { dataset: { function: f.name } }, FN_COLUMNS.map(([, , , cls], i) => (i === 0
            ? h('th', { scope: 'row', class: cls }) : h('td', { class: cls }))));
          rows.set(f.name, row);
        }
        tbody.append(row); // keeps the API's order; moving a row keeps its focus
        FN_COLUMNS.forEach(([, render, keyOf], i) => {
          const cell = row.children[i];
          const key = JSON.stringify(keyOf ? keyOf(f) : render(f) instanceof Node ? render(f).textContent : render(f));
          if (cell.dataset.key === key) return;
          cell.dataset.key = key;
          clear(cell).append(render(f));
        });
      }
      for (const [name, row] of rows) {
        if (!seen.has(name)) { row.remove(); rows.delete(name); }
      }
      updated.textContent = `Updated ${new Date().toLocaleTimeString('en-GB')}.`;
    };
    load().catch(() => {});
    every(ctx, POLL_TABLE_MS, load);
  }

  // ---------------------------------------------------------------- one function
  function chartsAvailable() {
    return meta.chart_library !== false && typeof window.uPlot === 'function';
  }

  function showFunction(name) {
    const { view, ctx } = newView('function', name);
    // Scoped to this view: a stale answer after navigating away is dropped.
    const live = () => current === ctx;
    const head = h('div', { class: 'page-head' },
      h('nav', { class: 'breadcrumb', 'aria-label': 'Breadcrumb' },
        h('ol', null, h('li', null, h('a', { href: '#/' }, 'Functions')), h('li', { 'aria-current': 'page' }, name))),
      h('h1', null, name));
    const body = h('div', { class: 'fn-body' }, h('p', { class: 'muted' }, 'Loading…'));
    view.append(head, body);

    (async () => {
      let d;
      try {
        if (meta.chart_library === null) {
          try {
            const top = await api('/v1/dashboard');
            meta = { auth: top.auth, chart_library: top.chart_library };
            updateSession();
          } catch (e) { if (e.status === 401) return; }
        }
        d = await api(`/v1/dashboard/functions/${encodeURIComponent(name)}`);
      } catch (e) {
        if (!live() || e.status === 401) return;
        clear(body).append(errorBox(e), h('p', null, h('a', { href: '#/' }, 'Back to the functions')));
        return;
      }
      if (!live()) return;
      clear(body);
      const summary = configSummary(d);
      const charts = chartsCard(name, d, ctx);
      const logs = logsCard(name, ctx);
      const versions = h('div', { id: 'versions-slot' });
      const aliases = h('div', { id: 'aliases-slot' });
      const history = h('div', { id: 'history-slot' });
      body.append(summary, charts, h('div', { class: 'grid-2' }, aliases, versions), logs, history);
      const render = (data) => {
        clear(versions).append(versionsCard(data));
        clear(history).append(retrainCard(data), canaryCard(data));
      };
      render(d);
      const aliasCtl = aliasesCard(name, d, ctx, async () => {
        const fresh = await api(`/v1/dashboard/functions/${encodeURIComponent(name)}`);
        if (!live()) return null;
        render(fresh);
        return fresh;
      });
      aliases.append(aliasCtl);
    })();
  }

  function configSummary(d) {
    const c = d.config || {};
    const item = (k, v) => h('div', { class: 'kv' }, h('dt', null, k), h('dd', null, v));
    const retrain = [];
    if (c.retrain_every_s) retrain.push(`every ${fmtSeconds(c.retrain_every_s)}`);
    if (c.retrain_after_labels) retrain.push(`after ${c.retrain_after_labels} labels`);
    return h('section', { class: 'card', 'aria-labelledby': 'config-title', id: 'config' },
      h('div', { class: 'card-head' }, h('h2', { id: 'config-title' }, 'Configuration ($LATEST)'),
        h('div', { class: 'card-actions' }, d.can_deploy
          ? h('span', { class: 'badge badge-ok' }, meta.auth === 'off' ? 'open gateway: deploy allowed' : 'your key may deploy')
          : h('span', { class: 'badge' }, 'read-only key'))),
      h('dl', { class: 'kv-grid' },
        item('Runtime', c.runtime || '–'),
        item('Handler', c.handler || '–'),
        item('Memory', isNum(c.memory_mb) ? `${c.memory_mb} MB` : '–'),
        item('Timeout', isNum(c.timeout_s) ? `${c.timeout_s} s` : '–'),
        item('Model loading', c.model_loading || '–'),
        item('Concurrency per instance', fmtNum(c.max_concurrency_per_instance)),
        item('Reserved concurrency', isNum(c.reserved_concurrency) ? String(c.reserved_concurrency) : 'none'),
        item('Provisioned concurrency', fmtNum(c.provisioned_concurrency)),
        item('Idle timeout', fmtSeconds(c.idle_timeout_s)),
        item('Automatic retraining', retrain.length ? retrain.join(', ') : 'off')));
  }

  // -- live charts
  const SERIES_KEYS = ['hits', 'errors', 'avg_ms', 'max_ms', 'instances', 'concurrent', 'cold_starts'];

  function chartsCard(name, d, ctx) {
    const s = d.series || {};
    const data = { t: [] };
    for (const k of SERIES_KEYS) data[k] = [];
    const t = Array.isArray(s.t) ? s.t : [];
    for (let i = 0; i < t.length; i++) {
      data.t.push(t[i]);
      for (const k of SERIES_KEYS) data[k].push(Array.isArray(s[k]) && s[k][i] !== undefined ? s[k][i] : null);
    }
    const container = h('div', { class: 'charts', id: 'live-charts', 'data-points': '0', 'data-last-t': '' });
    const summary = h('p', { class: 'chart-summary muted small', id: 'chart-summary' });
    const streamState = h('span', { class: 'badge', id: 'stream-state' }, 'connecting');
    const section = card('Live metrics · last 15 minutes, 1 s resolution', {
      id: 'metrics', actions: h('span', null, h('span', { class: 'muted small' }, 'stream '), streamState),
    }, container, summary);

    let charts = [];
    if (!chartsAvailable()) {
      container.append(h('p', { class: 'alert alert-warn', id: 'charts-unavailable' },
        'charts unavailable: the chart library was not vendored (scripts/vendor_ui.sh)'));
    } else {
      charts = makeCharts(container);
    }

    const trim = () => {
      const last = data.t.length ? data.t[data.t.length - 1] : 0;
      let drop = Math.max(0, data.t.length - MAX_POINTS);
      while (drop < data.t.length && data.t[drop] <= last - MAX_POINTS) drop++;
      if (drop > 0) for (const k of ['t', ...SERIES_KEYS]) data[k].splice(0, drop);
    };

    let lastSummary = 0;
    const redraw = () => {
      trim();
      const n = data.t.length;
      container.setAttribute('data-points', String(n));
      container.setAttribute('data-last-t', n ? String(data.t[n - 1]) : '');
      let hitsTotal = 0;
      let hitsMax = 0;
      for (const v of data.hits) { if (isNum(v)) { hitsTotal += v; hitsMax = Math.max(hitsMax, v); } }
      container.setAttribute('data-hits-total', String(hitsTotal));
      for (const c of charts) c.update(data);
      const now = Date.now();
      if (now - lastSummary > 2000 || !lastSummary) {
        lastSummary = now;
        const last60 = data.hits.slice(-60).reduce((a, v) => a + (isNum(v) ? v : 0), 0);
        const lat = data.avg_ms.filter(isNum);
        const maxLat = data.max_ms.filter(isNum);
        const inst = data.instances.length ? data.instances[data.instances.length - 1] : null;
        const text = n
          ? `${n} seconds shown. Last minute: ${fmtNum(last60)} requests (peak ${fmtNum(hitsMax)}/s over the window). `
            + `Average latency ${lat.length ? fmtMs(lat.reduce((a, v) => a + v, 0) / lat.length) : '–'} ms, `
            + `maximum ${maxLat.length ? fmtMs(Math.max(...maxLat)) : '–'} ms. `
            + `Instances now: ${isNum(inst) ? inst : '–'}. Cold starts: ${fmtNum(data.cold_starts.reduce((a, v) => a + (isNum(v) ? v : 0), 0))}.`
          : 'No data yet.';
        summary.textContent = text;
        for (const c of charts) c.label(text);
      }
    };
    redraw();

    const push = (tsec, p) => {
      const n = data.t.length;
      if (n && tsec <= data.t[n - 1]) {
        // A second we already have (the history's last one): take the newer reading.
        const i = data.t.lastIndexOf(tsec);
        if (i >= 0) for (const k of SERIES_KEYS) data[k][i] = p[k] !== undefined ? p[k] : null;
        return;
      }
      // Seconds missed while reconnecting stay empty, so the axis keeps its 1 s step.
      if (n && tsec - data.t[n - 1] > 1 && tsec - data.t[n - 1] <= MAX_POINTS) {
        for (let x = data.t[n - 1] + 1; x < tsec; x++) {
          data.t.push(x);
          for (const k of SERIES_KEYS) data[k].push(null);
        }
      }
      data.t.push(tsec);
      for (const k of SERIES_KEYS) data[k].push(p[k] !== undefined ? p[k] : null);
    };

    const ctl = new AbortController();
    ctx.cleanup.push(() => ctl.abort());
    ctx.cleanup.push(() => { for (const c of charts) c.destroy(); });
    streamSamples(`/v1/dashboard/stream?function=${encodeURIComponent(name)}`, ctl.signal, {
      onState: (st) => {
        streamState.textContent = st;
        streamState.className = `badge${st === 'live' ? ' badge-ok' : st === 'connecting' ? '' : ' badge-warn'}`;
      },
      onSample: (sample) => {
        const p = sample && sample.functions && sample.functions[name];
        if (!p || !isNum(sample.t)) return;
        push(sample.t, p);
        redraw();
      },
    });
    return section;
  }

  function makeCharts(container) {
    const css = getComputedStyle(document.documentElement);
    const color = (v, fallback) => (css.getPropertyValue(v).trim() || fallback);
    const axis = (label, extra) => Object.assign({
      label, stroke: '#414d5c', labelSize: 18, labelFont: '600 12px system-ui, sans-serif', font: '12px system-ui, sans-serif',
      grid: { stroke: '#e9ebed', width: 1 }, ticks: { stroke: '#d1d5db', width: 1 },
    }, extra || {});
    const timeAxis = axis('time (UTC)', {
      space: 90,
      values: (u, ticks) => ticks.map((v) => new Date(v * 1000).toISOString().slice(11, 19)),
    });
    const mk = (id, title, series, axes, pick) => {
      const wrap = h('div', { class: 'chart', id });
      const cap = h('h3', { class: 'chart-title' }, title);
      const plot = h('div', { class: 'chart-plot', role: 'img', 'aria-label': title });
      wrap.append(cap, plot);
      container.append(wrap);
      const width = () => Math.max(320, Math.floor(plot.clientWidth || container.clientWidth || 600));
      const u = new window.uPlot({
        width: width(), height: 240, series, axes,
        scales: { x: { time: true } },
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
        tzDate: (ts) => window.uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      }, [[], ...series.slice(1).map(() => [])], plot);
      const ro = typeof ResizeObserver === 'function' ? new ResizeObserver(() => u.setSize({ width: width(), height: 240 })) : null;
      if (ro) ro.observe(plot);
      return {
        update: (data) => {
          u.setData(pick(data));
          if (u.legend.idx === null || u.legend.idx === undefined) u.setLegend();
        },
        label: (text) => plot.setAttribute('aria-label', `${title}. ${text}`),
        destroy: () => { if (ro) ro.disconnect(); u.destroy(); },
        uplot: u,
      };
    };
    // Off the chart, the legend shows the newest value.
    const latest = (u, v, si, idx) => {
      if (idx !== null && idx !== undefined) return v;
      const d = u.data[si];
      return d && d.length ? d[d.length - 1] : null;
    };
    const line = (label, stroke, scale, extra) => Object.assign({
      label, stroke, scale, width: 2, points: { show: false }, spanGaps: false,
      value: (u, v, si, idx) => {
        const x = latest(u, v, si, idx);
        if (x === null || x === undefined) return '–';
        return scale === 'ms' ? `${fmtMs(x)} ms` : fmtNum(x, Number.isInteger(x) ? 0 : 1);
      },
    }, extra || {});
    const timeValue = (u, v, si, idx) => {
      const x = latest(u, v, si, idx);
      return x === null || x === undefined ? '–' : new Date(x * 1000).toISOString().slice(11, 19);
    };
    const c1 = mk('chart-requests', 'Requests per second, instances and cold starts', [
      { label: 'time', value: timeValue },
      line('hits/s', color('--c-hits', '#0972d3'), 'n', { fill: 'rgba(9,114,211,0.08)' }),
      line('errors/s', color('--c-errors', '#d91515'), 'n'),
      line('instances', color('--c-inst', '#037f0c'), 'n', { dash: [6, 4] }),
      line('cold starts', color('--c-cold', '#8d3ed9'), 'n', { paths: window.uPlot.paths && window.uPlot.paths.bars ? window.uPlot.paths.bars({ size: [0.6, 8] }) : undefined, fill: 'rgba(141,62,217,0.35)', width: 1 }),
    ], [timeAxis, axis('per second / count', { scale: 'n', size: 56 })],
    (d) => [d.t, d.hits, d.errors, d.instances, d.cold_starts]);
    const c2 = mk('chart-latency', 'Latency in milliseconds (average and maximum per second)', [
      { label: 'time', value: timeValue },
      line('avg latency', color('--c-avg', '#0972d3'), 'ms'),
      line('max latency', color('--c-max', '#e07941'), 'ms'),
    ], [timeAxis, axis('milliseconds', { scale: 'ms', size: 56 })],
    (d) => [d.t, d.avg_ms, d.max_ms]);
    return [c1, c2];
  }

  // Reads a server-sent-events stream with fetch (the key travels in a header, which
  // EventSource cannot send); reconnects with a growing back-off when it ends.
  async function streamSamples(path, signal, { onSample, onState }) {
    let backoff = 1000;
    while (!signal.aborted) {
      onState('connecting');
      try {
        const res = await fetch(path, { headers: authHeaders({ Accept: 'text/event-stream' }), signal, cache: 'no-store' });
        if (!res.ok) {
          const err = await errorFrom(res);
          if (badKey(res.status, err.type)) { needSignIn(err.message); return; }
          throw err;
        }
        onState('live');
        let got = 0;
        const reader = res.body.getReader();
        const dec = new TextDecoder();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          buf = buf.replace(/\r\n?/g, '\n');
          let idx;
          while ((idx = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, idx);
            buf = buf.slice(idx + 2);
            let event = 'message';
            const dataLines = [];
            for (const line of block.split('\n')) {
              if (!line || line.startsWith(':')) continue;
              const colon = line.indexOf(':');
              const field = colon < 0 ? line : line.slice(0, colon);
              let v = colon < 0 ? '' : line.slice(colon + 1);
              if (v.startsWith(' ')) v = v.slice(1);
              if (field === 'event') event = v;
              else if (field === 'data') dataLines.push(v);
            }
            if (!dataLines.length || (event !== 'sample' && event !== 'message')) continue;
            let sample;
            try { sample = JSON.parse(dataLines.join('\n')); } catch { continue; }
            backoff = 1000;
            got++;
            onSample(sample);
          }
        }
        // The server ends a stream after a minute (the key is checked again on reconnecting):
        // a stream that delivered and ended cleanly is reopened at once.
        if (got > 0) continue;
      } catch (e) {
        if (signal.aborted) return;
      }
      if (signal.aborted) return;
      onState(`reconnecting in ${Math.round(backoff / 1000)} s`);
      await sleep(backoff, signal);
      backoff = Math.min(backoff * 2, 15000);
    }
  }

  // -- log tail
  function logsCard(name, ctx) {
    const input = h('input', { id: 'log-request-id', name: 'request_id', type: 'search', placeholder: 'e.g. 3f0c…', autocomplete: 'off', spellcheck: 'false' });
    const auto = h('input', { id: 'log-auto', type: 'checkbox', checked: true });
    const info = h('p', { class: 'muted small', id: 'log-info', 'aria-live': 'polite' });
    const tbody = h('tbody');
    const table = h('table', { class: 'data logs', id: 'log-table' },
      h('caption', { class: 'visually-hidden' }, `Log lines of ${name}, oldest first`),
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, 'Time (UTC)'), h('th', { scope: 'col' }, 'Version'),
        h('th', { scope: 'col' }, 'Request ID'), h('th', { scope: 'col' }, 'Message'))),
      tbody);
    const scroller = h('div', { class: 'log-scroll', tabindex: '0', role: 'region', 'aria-label': `Log tail of ${name}` }, table);
    const form = h('form', { class: 'toolbar', id: 'log-filter', role: 'search', 'aria-label': 'Filter the log' },
      h('div', { class: 'field' }, h('label', { for: 'log-request-id' }, 'Filter by request ID'), input),
      h('div', { class: 'field-buttons' },
        h('button', { type: 'submit', class: 'btn btn-primary' }, 'Apply filter'),
        h('button', { type: 'button', class: 'btn', id: 'log-clear', onclick: () => { input.value = ''; restart(); } }, 'Clear'),
        h('button', { type: 'button', class: 'btn', id: 'log-refresh', onclick: () => poll(true) }, 'Refresh')),
      h('div', { class: 'field-check' }, auto, h('label', { for: 'log-auto' }, 'Refresh every few seconds')));
    form.addEventListener('submit', (ev) => { ev.preventDefault(); restart(); });

    let filter = '';
    let token = null;
    let lines = [];
    let busy = false;
    let gen = 0;
    const render = () => {
      const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
      clear(tbody);
      if (!lines.length) {
        tbody.append(h('tr', null, h('td', { colspan: '4', class: 'muted' }, filter ? 'No line for this request ID.' : 'No log line yet.')));
      }
      for (const ev of lines) {
        const rid = ev.request_id || '';
        tbody.append(h('tr', { dataset: { requestId: rid } },
          h('td', { class: 'nowrap mono' }, fmtLogTime(ev.time)),
          h('td', { class: 'nowrap' }, ev.version || ''),
          h('td', { class: 'nowrap mono' }, rid ? h('button', {
            type: 'button', class: 'linkish mono', title: `Show only request ${rid}`,
            'aria-label': `Filter by request ${rid}`,
            onclick: () => { input.value = rid; restart(); },
          }, rid.slice(0, 8)) : ''),
          h('td', { class: `mono logtext${ev.stream === 'stderr' ? ' text-error' : ''}` }, ev.text || '')));
      }
      if (atBottom || !scroller.dataset.scrolled) { scroller.scrollTop = scroller.scrollHeight; scroller.dataset.scrolled = '1'; }
      info.textContent = `${lines.length} line${lines.length === 1 ? '' : 's'}${filter ? ` for request ${filter}` : ' (the newest 200)'} · updated ${new Date().toLocaleTimeString('en-GB')}`;
      table.setAttribute('data-lines', String(lines.length));
      table.setAttribute('data-filter', filter);
    };
    // The first read asks for the newest lines (`tail`); each poll then goes on from the
    // previous answer's `next_token`, paging (oldest first) while there is more.
    const read = async (params, my) => {
      const q = new URLSearchParams(params);
      if (filter) q.set('request_id', filter);
      const r = await api(`/v1/functions/${encodeURIComponent(name)}/logs?${q}`);
      if (my !== gen || current !== ctx) throw new Error('stale');
      return r;
    };
    const drain = async (first, my, keep) => {
      let got = [];
      let tok = null;
      let r = await read(first, my);
      for (let page = 0; ; page++) {
        got = got.concat(r.events || []).slice(-keep);
        if (r.next_token) tok = r.next_token;
        if (!r.truncated || !tok || page >= 10) return { got, tok };
        r = await read({ next_token: tok, limit: '1000' }, my);
      }
    };
    const poll = async (manual) => {
      if (busy) return;
      busy = true;
      const my = gen;
      try {
        if (token) {
          const { got, tok } = await drain({ next_token: token, limit: '1000' }, my, LOG_TAIL);
          lines = lines.concat(got).slice(-LOG_TAIL);
          if (tok) token = tok;
        } else {
          const r = await read({ tail: String(LOG_TAIL) }, my);
          lines = r.events || [];
          token = r.next_token || null;
        }
        render();
      } catch (e) {
        if (e.message !== 'stale' && e.status !== 401 && my === gen) info.textContent = `Could not read the log: ${e.message}`;
      } finally {
        if (my === gen) busy = false;
        if (manual && my === gen) setStatus('Log refreshed.', 'info');
      }
    };
    const restart = () => {
      gen++;
      filter = input.value.trim();
      token = null;
      lines = [];
      busy = false;
      poll();
    };
    every(ctx, POLL_LOGS_MS, () => (auto.checked ? poll() : null));
    poll();
    return card('Log tail', { id: 'logs' }, form, info, scroller);
  }
  function fmtLogTime(t) {
    if (!t) return '';
    const m = String(t).match(/T(\d\d:\d\d:\d\d(?:\.\d+)?)/);
    return m ? m[1] : String(t);
  }

  // -- versions and metrics
  function versionsCard(d) {
    const vs = d.versions || [];
    if (!vs.length) return card('Versions', { id: 'versions' }, h('p', { class: 'muted' }, 'No published version.'));
    const aliasOf = new Map();
    for (const a of d.aliases || []) {
      const add = (v, label) => { if (!aliasOf.has(v)) aliasOf.set(v, []); aliasOf.get(v).push(label); };
      add(String(a.version), a.name);
      if (a.canary_version !== null && a.canary_version !== undefined && a.canary_version !== '') add(String(a.canary_version), `${a.name} canary ${fmtPct(a.canary_weight)}`);
    }
    const metric = (v, k) => (v.metrics && isNum(v.metrics[k]) ? v.metrics[k] : null);
    const rows = [
      ['AUC', 'auc'], ['F1', 'f1'], ['Precision', 'precision'], ['Recall', 'recall'], ['Accuracy', 'accuracy'],
    ];
    // The best of a row, when the versions differ on it (NaN: nothing to point at).
    const best = (k) => {
      const xs = vs.map((v) => metric(v, k)).filter(isNum);
      return xs.length > 1 && Math.max(...xs) !== Math.min(...xs) ? Math.max(...xs) : NaN;
    };
    const cm = (v) => {
      const c = v.metrics && v.metrics.confusion_matrix;
      if (!c) return h('span', { class: 'muted' }, '–');
      return h('table', { class: 'cm', 'aria-label': `Confusion matrix of version ${v.version}` },
        h('tbody', null,
          h('tr', null, h('td', { title: 'true negatives' }, `tn ${fmtNum(c.tn)}`), h('td', { title: 'false positives' }, `fp ${fmtNum(c.fp)}`)),
          h('tr', null, h('td', { title: 'false negatives' }, `fn ${fmtNum(c.fn)}`), h('td', { title: 'true positives' }, `tp ${fmtNum(c.tp)}`))));
    };
    const table = h('table', { class: 'data versions', id: 'versions-table' },
      h('caption', { class: 'visually-hidden' }, 'Training metrics of each published version (test split), newest first'),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Metric'),
        vs.map((v) => h('th', { scope: 'col', class: 'num' }, `Version ${v.version}`,
          (aliasOf.get(String(v.version)) || []).map((a) => h('span', { class: 'badge badge-info' }, a)))))),
      h('tbody', null,
        rows.map(([label, k]) => {
          const b = best(k);
          return h('tr', { dataset: { metric: k } }, h('th', { scope: 'row' }, label), vs.map((v) => {
            const x = metric(v, k);
            return h('td', { class: `num${isNum(x) && vs.length > 1 && x === b ? ' best' : ''}` }, fmtMetric(x));
          }));
        }),
        h('tr', null, h('th', { scope: 'row' }, 'Confusion matrix'), vs.map((v) => h('td', { class: 'num' }, cm(v)))),
        h('tr', null, h('th', { scope: 'row' }, 'Model'), vs.map((v) => h('td', { class: 'num small' }, v.kind || '–',
          v.model_digest ? h('div', { class: 'muted mono', title: v.model_digest }, String(v.model_digest).slice(0, 12)) : null))),
        h('tr', null, h('th', { scope: 'row' }, 'Published'), vs.map((v) => h('td', { class: 'num small' }, fmtTime(v.created_at)))),
        h('tr', null, h('th', { scope: 'row' }, 'Description'), vs.map((v) => h('td', { class: 'num small desc' }, v.description || h('span', { class: 'muted' }, '–'))))));
    return card('Versions', { id: 'versions' },
      h('p', { class: 'muted small' }, 'Training metrics on the test split, one column per version, newest first.'),
      h('div', { class: 'table-wrap' }, table),
      h('p', { class: 'muted small' }, 'Green: the best value of a row where the versions differ. A package without a quality report has no metrics (–).'));
  }

  // -- aliases and canaries
  function aliasesCard(name, d, ctx, reload) {
    const slot = h('div');
    let data = d;
    const dialog = h('dialog', { id: 'confirm-dialog', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-text' });
    const status = h('div', { id: 'alias-status', 'aria-live': 'polite' });
    ctx.cleanup.push(() => { if (dialog.open) dialog.close(); dialog.remove(); });
    document.body.append(dialog);

    const confirm = (title, lines) => new Promise((resolve) => {
      clear(dialog);
      const ok = h('button', { type: 'button', class: 'btn btn-primary', id: 'confirm-ok', value: 'confirm' }, 'Confirm');
      const cancel = h('button', { type: 'button', class: 'btn', id: 'confirm-cancel', value: 'cancel' }, 'Cancel');
      dialog.append(h('h2', { id: 'confirm-title' }, title),
        h('div', { id: 'confirm-text' }, lines.map((l) => h('p', null, l))),
        h('div', { class: 'form-actions' }, cancel, ok));
      let done = false;
      const finish = (v) => { if (done) return; done = true; if (dialog.open) dialog.close(); resolve(v); };
      ok.addEventListener('click', () => finish(true));
      cancel.addEventListener('click', () => finish(false));
      dialog.addEventListener('close', () => finish(false), { once: true });
      dialog.showModal();
      cancel.focus();
    });

    const render = () => {
      clear(slot);
      const aliases = data.aliases || [];
      const versions = (data.versions || []).map((v) => String(v.version));
      const canDeploy = !!data.can_deploy;
      if (!aliases.length) {
        slot.append(h('p', { class: 'muted' }, 'No alias. Create one with ', h('code', null, `mlfaas alias create ${name} live --version 1`), '.'));
        return;
      }
      slot.append(h('table', { class: 'data', id: 'aliases-table' },
        h('caption', { class: 'visually-hidden' }, 'Aliases and their canaries'),
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Alias'), h('th', { scope: 'col' }, 'Version'),
          h('th', { scope: 'col' }, 'Canary'), h('th', { scope: 'col', class: 'num' }, 'Canary weight'))),
        h('tbody', null, aliases.map((a) => h('tr', { dataset: { alias: a.name } },
          h('th', { scope: 'row' }, a.name), h('td', null, String(a.version)),
          h('td', null, a.canary_version ? String(a.canary_version) : h('span', { class: 'muted' }, 'none')),
          h('td', { class: 'num' }, a.canary_version ? fmtPct(a.canary_weight) : '–'))))));
      if (!canDeploy) {
        slot.append(h('p', { class: 'alert alert-info', id: 'readonly-note' },
          'read-only key: changing aliases needs the deploy scope'));
      }
      for (const a of aliases) slot.append(aliasForm(a, versions, canDeploy));
    };

    const aliasForm = (a, versions, canDeploy) => {
      const id = (s) => `alias-${a.name}-${s}`.replace(/[^A-Za-z0-9_-]/g, '_');
      const primary = h('select', { id: id('version'), name: 'version' },
        versions.map((v) => h('option', { value: v, selected: String(a.version) === v }, `version ${v}`)));
      const canaryV = h('select', { id: id('canary'), name: 'canary' },
        h('option', { value: '', selected: !a.canary_version }, 'no canary'),
        versions.map((v) => h('option', { value: v, selected: String(a.canary_version || '') === v }, `version ${v}`)));
      const weight = h('input', {
        id: id('weight'), name: 'weight', type: 'number', min: '0', max: '100', step: '1', inputmode: 'decimal',
        value: a.canary_version ? String(+(a.canary_weight * 100).toFixed(2)) : '10',
      });
      const syncWeight = () => { weight.disabled = !canDeploy || !canaryV.value; };
      canaryV.addEventListener('change', syncWeight);
      const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: id('apply') }, 'Review change…');
      const fs = h('fieldset', { disabled: !canDeploy },
        h('legend', null, `Change alias ${a.name}`),
        h('div', { class: 'form-row' },
          h('div', { class: 'field' }, h('label', { for: primary.id }, 'Primary version'), primary),
          h('div', { class: 'field' }, h('label', { for: canaryV.id }, 'Canary version'), canaryV),
          h('div', { class: 'field field-narrow' }, h('label', { for: weight.id }, 'Canary weight (%)'), weight),
          h('div', { class: 'field field-buttons' }, submit)));
      const form = h('form', { class: 'alias-form', dataset: { alias: a.name } }, fs);
      syncWeight();
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        clear(status);
        const v = primary.value;
        const cv = canaryV.value;
        const w = Number(weight.value);
        if (cv) {
          if (!Number.isFinite(w) || w < 0 || w > 100) {
            status.append(errorBox(new ApiError(0, 'The canary weight is a percentage from 0 to 100.', '')));
            weight.focus();
            return;
          }
          if (cv === v) {
            status.append(errorBox(new ApiError(0, 'The canary version must differ from the primary version.', '')));
            canaryV.focus();
            return;
          }
        }
        const body = { FunctionVersion: v, RoutingConfig: { AdditionalVersionWeights: cv ? { [cv]: Math.round(w * 100) / 10000 } : {} } };
        const before = a.canary_version ? `version ${a.version}, canary version ${a.canary_version} at ${fmtPct(a.canary_weight)}` : `version ${a.version}, no canary`;
        const after = cv ? `version ${v}, canary version ${cv} at ${fmtPct(body.RoutingConfig.AdditionalVersionWeights[cv])}` : `version ${v}, no canary`;
        const ok = await confirm(`Change alias ${a.name} of ${name}?`, [
          `Now: ${before}.`, `After: ${after}.`, 'Traffic through the alias moves as soon as you confirm.']);
        if (!ok) { status.append(h('p', { class: 'alert alert-info' }, 'Cancelled: nothing changed.')); submit.focus(); return; }
        submit.disabled = true;
        try {
          await api(`/2015-03-31/functions/${encodeURIComponent(name)}/aliases/${encodeURIComponent(a.name)}`, { method: 'PUT', body });
          const fresh = await reload();
          if (fresh) data = fresh;
          if (current !== ctx) return;
          render();
          status.append(h('p', { class: 'alert alert-ok', id: 'alias-ok' }, `Alias ${a.name} now points at ${after}.`));
          setStatus(`Alias ${a.name} updated.`, 'info');
        } catch (e) {
          if (current !== ctx) return;
          status.append(errorBox(e));
          submit.disabled = false;
        }
      });
      return form;
    };

    render();
    return card('Aliases and canaries', { id: 'aliases' }, status, slot);
  }

  function decisionBadge(decision) {
    const d = String(decision || '');
    const cls = /promot|pass|success|done/i.test(d) ? 'badge-ok' : /reject|fail|roll|error/i.test(d) ? 'badge-error' : 'badge-info';
    return h('span', { class: `badge ${cls}` }, d || '–');
  }

  function retrainCard(d) {
    const runs = d.retrain_runs || [];
    const body = runs.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'retrain-table' },
      h('caption', { class: 'visually-hidden' }, 'Retraining runs, newest first'),
      h('thead', null, h('tr', null, ['Started', 'Trigger', 'Alias', 'Current → candidate', 'AUC (current → candidate)', 'Decision', 'Reason', 'Rows (train / test / feedback)']
        .map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, runs.map((r) => h('tr', null,
        h('td', { class: 'nowrap' }, fmtTime(r.started_at)),
        h('td', null, r.trigger || '–'),
        h('td', null, r.alias || '–'),
        h('td', { class: 'nowrap' }, `${r.current_version ?? '–'} → ${r.candidate_version ?? '–'}`),
        h('td', { class: 'nowrap num' }, `${fmtMetric(r.current_metrics && r.current_metrics.auc)} → ${fmtMetric(r.candidate_metrics && r.candidate_metrics.auc)}`),
        h('td', null, decisionBadge(r.decision)),
        h('td', { class: 'reason' }, r.reason || ''),
        h('td', { class: 'nowrap num' }, `${fmtNum(r.rows && r.rows.train)} / ${fmtNum(r.rows && r.rows.test)} / ${fmtNum(r.feedback_rows)}`))))))
      : h('p', { class: 'muted' }, 'No retraining run yet (', h('code', null, 'mlfaas retrain'), ').');
    return card('Retraining history', { id: 'retrain' }, body);
  }

  function canaryCard(d) {
    const list = d.canaries || [];
    const body = list.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'canaries-table' },
      h('caption', { class: 'visually-hidden' }, 'Canary deployments'),
      h('thead', null, h('tr', null, ['Alias', 'Canary version', 'Weight', 'Step', 'Bake', 'Status', 'Reason', 'Started', 'Updated']
        .map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, list.map((c) => h('tr', null,
        h('th', { scope: 'row' }, c.alias || '–'),
        h('td', null, c.canary_version ?? '–'),
        h('td', { class: 'num' }, fmtPct(c.weight)),
        h('td', { class: 'num' }, fmtNum(c.step)),
        h('td', { class: 'nowrap' }, fmtDuration(c.bake_ms)),
        h('td', null, decisionBadge(c.status)),
        h('td', { class: 'reason' }, c.reason || ''),
        h('td', { class: 'nowrap' }, fmtTime(c.created_at)),
        h('td', { class: 'nowrap' }, fmtTime(c.updated_at)))))))
      : h('p', { class: 'muted' }, 'No canary deployment (', h('code', null, 'mlfaas alias update … --bake 10m'), ').');
    return card('Canary deployments', { id: 'canaries' }, body);
  }

  // ---------------------------------------------------------------- bench reports
  function showReports(openId) {
    const { view, ctx } = newView('reports', openId ? `Report ${openId}` : 'Bench reports');
    const listSlot = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
    const viewer = h('div', { id: 'report-viewer' });
    view.append(h('div', { class: 'page-head' }, h('h1', null, 'Bench reports'),
      h('p', { class: 'muted' }, 'What ', h('code', null, 'mlfaas bench run'), ' and ', h('code', null, 'mlfaas bench study'),
        ' wrote under the home’s reports/ directory, newest first.')),
    card('Reports', { id: 'reports' }, listSlot), viewer);
    (async () => {
      let data;
      try {
        data = await api('/v1/dashboard/reports');
      } catch (e) {
        if (current !== ctx || e.status === 401) return;
        clear(listSlot).append(errorBox(e));
        return;
      }
      if (current !== ctx) return;
      const reports = data.reports || [];
      clear(listSlot);
      if (!reports.length) {
        listSlot.append(h('p', { class: 'muted', id: 'reports-empty' }, 'No report yet. Run ',
          h('code', null, 'mlfaas bench run scenario.yaml'), ' against this gateway.'));
      } else {
        listSlot.append(h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'reports-table' },
          h('caption', { class: 'visually-hidden' }, 'Bench reports, newest first'),
          h('thead', null, h('tr', null, ['Report', 'ID', 'Created', 'Size'].map((t, i) => h('th', { scope: 'col', class: i === 3 ? 'num' : undefined }, t)))),
          h('tbody', null, reports.map((r) => h('tr', { dataset: { report: r.id }, 'aria-current': r.id === openId ? 'true' : undefined },
            h('th', { scope: 'row' }, h('a', { href: `#/reports/${encodeURIComponent(r.id)}`, class: 'report-link' }, r.title || r.id)),
            h('td', { class: 'mono small' }, r.id),
            h('td', { class: 'nowrap' }, fmtTime(r.created_at || r.created_ms)),
            h('td', { class: 'num' }, fmtBytes(r.bytes))))))));
      }
      if (openId) openReport(openId, reports.find((r) => r.id === openId));
    })();

    const openReport = async (id, info) => {
      clear(viewer).append(card(`Report ${info && info.title ? info.title : id}`, { id: 'report' }, h('p', { class: 'muted' }, 'Loading…')));
      let html;
      try {
        html = await api(`/v1/dashboard/reports/${encodeURIComponent(id)}`);
      } catch (e) {
        if (current !== ctx || e.status === 401) return;
        clear(viewer).append(card(`Report ${id}`, { id: 'report' }, errorBox(e)));
        return;
      }
      if (current !== ctx) return;
      // The report is self-contained HTML with inline scripts: it runs in a sandbox without
      // same-origin, so it reaches neither this page, nor the key, nor the API.
      const frame = h('iframe', { id: 'report-frame', sandbox: 'allow-scripts', title: `Bench report ${id}`, referrerpolicy: 'no-referrer' });
      frame.srcdoc = typeof html === 'string' ? html : JSON.stringify(html);
      clear(viewer).append(card(`Report ${info && info.title ? info.title : id}`, {
        id: 'report',
        actions: h('a', { href: '#/reports', class: 'btn' }, 'Close'),
      }, frame));
      viewer.scrollIntoView({ block: 'start' });
    };
  }

  // ---------------------------------------------------------------- start
  $('#sign-out').addEventListener('click', signOut);
  window.addEventListener('hashchange', () => {
    route();
    const m = $('#main');
    if (m && document.activeElement && document.activeElement.closest && !document.activeElement.closest('#main')) {
      // Keep keyboard users oriented after a navigation from the tabs.
      m.focus({ preventScroll: true });
    }
  });

  (async () => {
    try {
      const data = await api('/v1/dashboard');
      meta = { auth: data.auth, chart_library: data.chart_library };
      updateSession();
      route();
    } catch (e) {
      if (e.status === 401) return; // the sign-in form is up
      updateSession();
      clear($('#view')).append(errorBox(e));
    }
  })();

  // For the browser tests and the curious.
  window.mlfaasDashboard = { version: 1, route };
})();
