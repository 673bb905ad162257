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
    error.problem = body;
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
  const days = daysLeft(notAfter);
  const date = notAfter.slice(0, 10);
  if (days < 0) return el('td', { class: 'expired' }, `${date} (expired)`);
  if (days <= EXPIRY_WARNING_DAYS) {
    return el('td', { class: 'warn' }, `${date} (in ${days} days)`);
  }
  return el('td', {}, date);
}

function daysLeft(notAfter) {
  return Math.floor((new Date(notAfter) - Date.now()) / 86_400_000);
}

/** Accounts grouped by tenant (by name), with an expiry summary. */
function renderAccounts(accounts, companies) {
  const names = new Map(companies.map((c) => [c.id, c.name]));
  const nameOf = (id) => names.get(id) ?? id;
  const sorted = [...accounts].sort(
    (a, b) =>
      nameOf(a.companyId).localeCompare(nameOf(b.companyId)) ||
      a.kind.localeCompare(b.kind),
  );
  const withCert = accounts.filter((a) => a.certNotAfter);
  const expired = withCert.filter((a) => daysLeft(a.certNotAfter) < 0);
  const soon = withCert.filter((a) => {
    const days = daysLeft(a.certNotAfter);
    return days >= 0 && days <= EXPIRY_WARNING_DAYS;
  });
  const summary = $('#expiry');
  summary.className = expired.length || soon.length ? 'warn' : 'muted';
  summary.dataset.expired = String(expired.length);
  summary.dataset.soon = String(soon.length);
  summary.textContent =
    `${withCert.length} certificate(s): ${expired.length} expired, ` +
    `${soon.length} expiring within ${EXPIRY_WARNING_DAYS} days.`;
  let previous = null;
  fill(
    '[data-testid=accounts]',
    sorted.map((a) => {
      const first = a.companyId !== previous;
      previous = a.companyId;
      return el(
        'tr',
        {
          'data-account': a.id,
          'data-company': a.companyId,
          class: first ? 'group' : '',
        },
        el('td', {}, first ? nameOf(a.companyId) : ''),
        el('td', {}, a.kind),
        el('td', {}, a.environment),
        el('td', {}, badge(a.status)),
        expiryCell(a.certNotAfter),
        el('td', { class: 'muted' }, a.lastUsedAt ?? 'never'),
      );
    }),
  );
}

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

function renderWorkers(workers) {
  fill(
    '[data-testid=workers]',
    workers.map((w) =>
      el(
        'tr',
        { 'data-worker': w.id, 'data-live': w.live },
        el(
          'td',
          {},
          badge(w.live ? 'LIVE' : w.stoppedAt ? 'STOPPED' : 'STALE'),
        ),
        el('td', {}, w.role),
        el('td', {}, `${w.host}:${w.pid}`),
        el('td', { class: 'muted' }, w.version),
        el(
          'td',
          {},
          Object.entries(w.paths)
            .map(([op, path]) => `${op} ${path}`)
            .join(', '),
        ),
        el('td', { class: 'muted' }, w.heartbeatAt),
      ),
    ),
  );
}

let rollout = null;

function numbersText(numbers) {
  return Object.entries(numbers ?? {})
    .filter(([, v]) => typeof v !== 'object' || v === null)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

function renderRollout(status, transitions, report) {
  rollout = status;
  const stage = $('#stage');
  stage.className = `badge ${status.stage}`;
  stage.textContent = status.stage.replaceAll('_', ' ');
  stage.dataset.stage = status.stage;
  $('#stage-since').textContent = `since ${status.stageStartedAt}`;
  $('#next').textContent =
    status.next === null
      ? 'No next stage from here.'
      : `Next: ${status.next}` +
        (status.canAdvance ? ' (gates pass)' : ' (gates do not all pass)') +
        (status.approvalNeeded ? '; needs a named approval' : '');
  $('#advance').disabled = status.next === null;
  fill(
    '[data-testid=gates]',
    status.gates.map((g) =>
      el(
        'tr',
        { 'data-gate': g.gate, 'data-status': g.status },
        el('td', {}, badge(g.status)),
        el('td', {}, g.gate),
        el('td', { class: 'muted' }, numbersText(g.numbers)),
      ),
    ),
  );
  fill(
    '[data-testid=transitions]',
    [...transitions]
      .reverse()
      .map((t) =>
        el(
          'tr',
          { 'data-transition': t.id, 'data-action': t.action },
          el('td', { class: 'muted' }, t.at),
          el('td', {}, `${t.fromStage} → ${t.toStage}`),
          el('td', {}, t.action),
          el(
            'td',
            {},
            t.actor + (t.approval ? ` (approved: ${t.approval})` : ''),
          ),
          el('td', {}, t.reason),
        ),
      ),
  );
  $('#report-sha').textContent = report.contentSha256;
  fill(
    '[data-testid=sign-offs]',
    report.signOffs.map((s) =>
      el(
        'tr',
        { 'data-role': s.role, 'data-valid': s.valid },
        el('td', {}, s.role),
        el('td', {}, s.name ?? '–'),
        el('td', { class: 'muted' }, s.date ?? ''),
        el(
          'td',
          {},
          s.signature === null
            ? el('span', { class: 'muted' }, 'not signed')
            : badge(s.valid ? 'VALID' : 'INVALID'),
        ),
      ),
    ),
  );
}

function showError(thrown) {
  const error = $('#error');
  error.hidden = false;
  const gates = thrown.problem?.gates ?? [];
  const failing = gates.filter((g) => g.status !== 'PASS').map((g) => g.gate);
  error.textContent =
    thrown.message + (failing.length ? ` (${failing.join(', ')})` : '');
}

function ask(question) {
  const answer = window.prompt(question);
  return answer && answer.trim() ? answer.trim() : null;
}

/** The next stage through the controller, after a confirmation. */
async function advance() {
  if (!rollout || rollout.next === null) return;
  let approval;
  if (rollout.approvalNeeded) {
    approval = ask(`${rollout.next} needs a named approval. Approved by:`);
    if (!approval) return;
  }
  const reason = ask(`Advance ${rollout.stage} → ${rollout.next}. Reason:`);
  if (!reason) return;
  if (!window.confirm(`Enter ${rollout.next} now? Its flags change at once.`)) {
    return;
  }
  try {
    const report = await api('/v1/rollout/advance', 'POST', {
      reason,
      ...(approval ? { approval } : {}),
    });
    $('#action-result').textContent = `${report.from} → ${report.to}`;
  } catch (thrown) {
    // Refresh first: the gates just evaluated show in the table.
    await refresh();
    showError(thrown);
    return;
  }
  await refresh();
}

/** Rollback through the rollout controller, after a confirmation. */
async function rollback() {
  const stage = rollout?.stage ?? 'the current stage';
  const reason = ask(`Roll back ${stage}. Reason (recorded):`);
  if (!reason) return;
  if (!window.confirm(`Roll back ${stage} now? Enforcement goes off.`)) return;
  try {
    const report = await api('/v1/rollout/rollback', 'POST', { reason });
    const failed = report.steps.filter((s) => !s.ok).map((s) => s.step);
    $('#action-result').textContent =
      `${report.from} → ROLLED_BACK (${report.environment}): enforcement ` +
      `off in the store after ${report.flagOffMs} ms; ` +
      report.steps
        .map((s) => `${s.step} ${s.ok ? 'ok' : 'FAILED'}`)
        .join(', ') +
      (failed.length ? ' — check the deploy hook' : '');
    $('#rollback').dataset.done = 'true';
  } catch (thrown) {
    showError(thrown);
    return;
  }
  await refresh();
}

async function signOff(event) {
  event.preventDefault();
  const name = $('#sign-name').value.trim();
  if (!name) return;
  try {
    await api('/v1/rollout/sign', 'POST', {
      role: $('#sign-role').value,
      name,
    });
    $('#sign-name').value = '';
  } catch (thrown) {
    showError(thrown);
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
    const [
      audit,
      usage,
      operations,
      accounts,
      companies,
      flags,
      history,
      status,
      transitions,
      report,
      workers,
    ] = await Promise.all([
      api('/v1/readiness/audit'),
      api('/v1/readiness/path-usage'),
      api('/v1/readiness/operations'),
      api('/v1/readiness/accounts'),
      api('/v1/companies'),
      api('/v1/flags'),
      api('/v1/flags/history?limit=20'),
      api('/v1/rollout'),
      api('/v1/rollout/transitions'),
      api('/v1/rollout/report'),
      api('/v1/workers'),
    ]);
    renderChecklist(audit);
    renderChart(usage);
    renderOperations(operations);
    renderAccounts(accounts, companies);
    renderFlags(flags, history);
    renderRollout(status, transitions, report);
    renderWorkers(workers);
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
  $('#advance').addEventListener('click', () => advance());
  $('#sign').addEventListener('submit', (event) => signOff(event));
  refresh();
  window.setInterval(refresh, REFRESH_MS);
}

start();
