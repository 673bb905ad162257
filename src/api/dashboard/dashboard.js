/* global document, window, fetch, sessionStorage, location, history, Node */
/**
 * The operator dashboard: plain ES module, no build step. Reads the
 * same JSON the API serves (/v1/readiness/...) with the operator token
 * the operator enters (kept in sessionStorage, or given once as
 * `#token=...`). Every value is written with textContent.
 */

const SVG = 'http://www.w3.org/2000/svg';
const TOKEN_KEY = 'tenantgate.token';
const REFRESH_MS = 30_000;
const EXPIRY_WARNING_DAYS = 30;

const $ = (selector) => document.querySelector(selector);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'class') node.className = value;
    else node.setAttribute(name, String(value));
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : String(child ?? '–'));
  }
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) {
    node.setAttribute(name, String(value));
  }
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function badge(status) {
  return el('span', { class: `badge ${status}` }, status.replace('_', ' '));
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

async function api(path, method = 'GET', payload) {
  const headers = { authorization: `Bearer ${token()}` };
  if (payload !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    body: payload === undefined ? undefined : JSON.stringify(payload),
  });
  const body = await response.json();
  if (!response.ok) {
    const error = new Error(`${body.code ?? response.status}: ${body.detail}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

function fill(tableSelector, rows) {
  const body = $(`${tableSelector} tbody`);
  body.replaceChildren(...rows);
}

function renderChecklist(report) {
  const overall = $('#overall');
  overall.className = `badge ${report.ready ? 'READY' : 'NOT_READY'}`;
  overall.textContent = report.ready ? 'READY' : 'NOT READY';
  fill(
    '[data-testid=checklist]',
    report.checks.map((check) =>
      el(
        'tr',
        { 'data-check': check.id, 'data-status': check.status },
        el('td', {}, badge(check.status)),
        el('td', {}, check.title),
        el('td', {}, check.kind),
        el('td', { class: 'num', 'data-count': check.count }, check.count),
        el('td', { class: 'muted' }, check.samples.join(', ')),
      ),
    ),
  );
}

/** The last 24 hours, oldest first, with zero for hours without rows. */
function hourlySeries(rows, now = new Date()) {
  const byHour = new Map(rows.map((r) => [new Date(r.hour).toISOString(), r]));
  const end = new Date(now);
  end.setUTCMinutes(0, 0, 0);
  const hours = [];
  for (let i = 23; i >= 0; i--) {
    const hour = new Date(end.getTime() - i * 3_600_000).toISOString();
    const row = byHour.get(hour);
    hours.push({ hour, v1: row?.v1_path ?? 0, v2: row?.v2_path ?? 0 });
  }
  return hours;
}

function renderChart(rows) {
  const hours = hourlySeries(rows);
  const width = 720;
  const height = 200;
  const left = 32;
  const bottom = 24;
  const plotHeight = height - bottom - 10;
  const slot = (width - left) / hours.length;
  const bar = Math.max(2, slot / 2 - 2);
  const max = Math.max(1, ...hours.map((h) => Math.max(h.v1, h.v2)));

  const chart = svg('svg', {
    viewBox: `0 0 ${width} ${height}`,
    width: '100%',
    role: 'img',
    'aria-label': 'V1 and V2 e-invoices per hour',
  });
  chart.append(
    svg('line', {
      class: 'axis',
      x1: left,
      y1: height - bottom,
      x2: width,
      y2: height - bottom,
    }),
    svg('text', { x: 0, y: 14 }, max),
    svg('text', { x: 0, y: height - bottom }, 0),
  );
  hours.forEach((h, i) => {
    const x = left + i * slot;
    for (const [series, offset] of [
      ['v1', 1],
      ['v2', bar + 2],
    ]) {
      const count = h[series];
      const barHeight = (count / max) * plotHeight;
      const rect = svg('rect', {
        class: series,
        x: x + offset,
        y: height - bottom - barHeight,
        width: bar,
        height: barHeight,
        'data-series': series,
        'data-hour': h.hour,
        'data-count': count,
      });
      rect.append(
        svg('title', {}, `${h.hour.slice(11, 16)} ${series}: ${count}`),
      );
      chart.append(rect);
    }
    if (i % 3 === 0) {
      chart.append(
        svg('text', { x, y: height - 8 }, `${h.hour.slice(11, 13)}h`),
      );
    }
  });
  const legend = el(
    'p',
    { class: 'muted' },
    el('span', { style: 'color: var(--v1)' }, '■ V1 (legacy) '),
    el('span', { style: 'color: var(--v2)' }, '■ V2 (integration account)'),
    ` — totals: V1 ${sum(hours, 'v1')}, V2 ${sum(hours, 'v2')}`,
  );
  $('#chart').replaceChildren(chart, legend);
}

function sum(rows, field) {
  return rows.reduce((total, row) => total + Number(row[field] ?? 0), 0);
}

function renderOperations(rows) {
  const count = (predicate) =>
    rows.filter(predicate).reduce((total, r) => total + r.count, 0);
  const errors = new Map();
  for (const r of rows) {
    if (!r.errorName) continue;
    errors.set(r.errorName, (errors.get(r.errorName) ?? 0) + r.count);
  }
  const tiles = [
    ['success', 'Succeeded', count((r) => r.outcome === 'SUCCESS')],
    ['failure', 'Failed', count((r) => r.outcome === 'FAILURE')],
    ['blocked', 'Blocked', count((r) => r.outcome === 'BLOCKED')],
    ['would-block', 'Would block', count((r) => r.wouldBlock)],
    ['fallback', 'Fallbacks', count((r) => r.fallback)],
    ...[...errors].map(([name, n]) => [`error-${name}`, name, n]),
  ];
  $('#tiles').replaceChildren(
    ...tiles.map(([id, label, n]) =>
      el('div', { class: 'tile', 'data-tile': id }, el('b', {}, n), label),
    ),
  );
  fill(
    '[data-testid=operations]',
    rows.map((r) =>
      el(
        'tr',
        {},
        el('td', {}, r.operation),
        el('td', {}, r.path ?? '–'),
        el('td', {}, badge(r.outcome)),
        el('td', {}, r.wouldBlock ? 'yes' : ''),
        el('td', {}, r.fallback ? 'yes' : ''),
        el('td', {}, r.errorName ?? ''),
        el('td', { class: 'num' }, r.count),
      ),
    ),
  );
}

function expiryCell(notAfter) {
  if (!notAfter) return el('td', { class: 'muted' }, '–');
  const days = Math.floor((new Date(notAfter) - Date.now()) / 86_400_000);
  const date = notAfter.slice(0, 10);
  if (days < 0) return el('td', { class: 'expired' }, `${date} (expired)`);
  if (days <= EXPIRY_WARNING_DAYS) {
    return el('td', { class: 'warn' }, `${date} (in ${days} days)`);
  }
  return el('td', {}, date);
}

function renderAccounts(accounts) {
  fill(
    '[data-testid=accounts]',
    accounts.map((a) =>
      el(
        'tr',
        { 'data-account': a.id },
        el('td', {}, a.companyId),
        el('td', {}, a.kind),
        el('td', {}, a.environment),
        el('td', {}, badge(a.status)),
        expiryCell(a.certNotAfter),
        el('td', { class: 'muted' }, a.lastUsedAt ?? 'never'),
      ),
    ),
  );
}

const ENFORCE = 'FF_ENFORCE_INTEGRATION_ACCOUNT';

function valueText(value) {
  if (!value) return 'unset';
  return value.enabled ? 'on' : 'off';
}

function renderFlags(rows, history) {
  fill(
    '[data-testid=flags]',
    rows.map((r) =>
      el(
        'tr',
        { 'data-flag': r.flag, 'data-enabled': r.enabled },
        el('td', {}, r.flag),
        el('td', {}, r.companyId ?? 'all'),
        el('td', {}, badge(r.enabled ? 'ON' : 'OFF')),
        el('td', {}, r.cohortPercent ?? '100'),
        el('td', { class: 'muted' }, r.updatedBy),
        el('td', { class: 'muted' }, r.updatedAt),
      ),
    ),
  );
  fill(
    '[data-testid=flag-history]',
    history.map((c) =>
      el(
        'tr',
        { 'data-change': c.id },
        el('td', { class: 'muted' }, c.at),
        el('td', {}, c.flag),
        el('td', {}, `${valueText(c.oldValue)} → ${valueText(c.newValue)}`),
        el('td', {}, c.actor),
        el('td', {}, c.reason),
      ),
    ),
  );
}

/** Enforcement off, after a confirmation and with a reason. */
async function rollback() {
  const reason = window.prompt(
    'Roll back: turn enforcement off now. Reason (recorded):',
  );
  if (!reason || !reason.trim()) return;
  try {
    await api(`/v1/flags/${ENFORCE}`, 'PUT', {
      enabled: false,
      reason: reason.trim(),
    });
    $('#rollback').dataset.done = 'true';
  } catch (thrown) {
    $('#error').hidden = false;
    $('#error').textContent = thrown.message;
    return;
  }
  await refresh();
}

async function refresh() {
  const error = $('#error');
  if (!token()) {
    error.hidden = false;
    error.textContent =
      'Enter an operator token (tenantgate api-keys create --operator).';
    return;
  }
  try {
    const [audit, usage, operations, accounts, flags, history] =
      await Promise.all([
        api('/v1/readiness/audit'),
        api('/v1/readiness/path-usage'),
        api('/v1/readiness/operations'),
        api('/v1/readiness/accounts'),
        api('/v1/flags'),
        api('/v1/flags/history?limit=20'),
      ]);
    renderChecklist(audit);
    renderChart(usage);
    renderOperations(operations);
    renderAccounts(accounts);
    renderFlags(flags, history);
    error.hidden = true;
    $('#updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
    document.body.dataset.loaded = 'true';
  } catch (thrown) {
    error.hidden = false;
    error.textContent = thrown.message;
  }
}

function start() {
  const fromHash = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(fromHash[1]));
    history.replaceState(null, '', location.pathname);
  }
  $('#auth').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = $('#token').value.trim();
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    $('#token').value = '';
    refresh();
  });
  $('#refresh').addEventListener('click', () => refresh());
  $('#rollback').addEventListener('click', () => rollback());
  refresh();
  window.setInterval(refresh, REFRESH_MS);
}

start();
