import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService } from '../../src/api/api-keys.js';
import { startApi, type RunningApi } from '../../src/api/server.js';
import { openTenantGate, type TenantGate } from '../../src/app.js';
import { loadSettings } from '../../src/config/settings.js';
import {
  DEMO_TENANTS,
  registerDemoKeys,
  samplesFor,
  seedDemoPlatform,
} from '../../src/demo/platform.js';
import { createLogger } from '../../src/logging/logger.js';
import { controllerOf } from '../../src/rollout/platform.js';
import {
  startEposlovanjeSimulator,
  type EposlovanjeSimulator,
} from '../../src/sandbox/eposlovanje-simulator.js';
import { certFile, P12 } from '../fiscal/support.js';
import { call } from './api-fixture.js';

/** Debian's chromium (`apt-get install chromium`), driven headless. */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const SCREENSHOT_DIR = 'test-results';
const ENFORCE = 'FF_ENFORCE_INTEGRATION_ACCOUNT';

describe('operator dashboard in a browser, on the demo platform', () => {
  let simulator: EposlovanjeSimulator;
  let app: TenantGate;
  let api: RunningApi;
  let browser: Browser;
  let page: Page;
  let token: string;
  const pageErrors: string[] = [];
  /** What the next dialogs answer: prompts get the text, confirms OK. */
  const dialogAnswers: string[] = [];
  const dialogs: string[] = [];

  beforeAll(async () => {
    simulator = await startEposlovanjeSimulator();
    const settings = loadSettings({
      TENANTGATE_DATA_DIR: 'memory://',
      TENANTGATE_VAULT_KEYS: `v1:${randomBytes(32).toString('base64')}`,
      FF_INTEGRATION_ACCOUNT_OUTBOUND: 'true',
    });
    app = await openTenantGate(settings, {
      logger: createLogger('silent'),
      register: 'api',
      endpoints: { EINVOICE_EPOSLOVANJE: simulator.url },
    });
    registerDemoKeys(simulator);
    await seedDemoPlatform(app);
    await tenantWithExpiredCertificate();

    api = await startApi(app, { port: 0 });
    const keys = new ApiKeyService({ db: app.db, logger: app.logger });
    token = (await keys.create({ kind: 'operator' })).token;
    await sendOnePerTenant();
    await call(api.url, 'PUT', `/v1/flags/${ENFORCE}`, {
      token,
      body: {
        enabled: true,
        reason: 'stage 3: enforcement',
        overrideRollout: true,
      },
    });

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: CHROMIUM_FLAGS,
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('dialog', (dialog) => {
      const answer = dialogAnswers.shift();
      dialogs.push(`${dialog.type()}: ${dialog.message()}`);
      if (answer === undefined) void dialog.dismiss();
      else void dialog.accept(dialog.type() === 'prompt' ? answer : undefined);
    });
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    await page.goto(`${api.url}/dashboard#token=${token}`);
    await page.waitForSelector('body[data-loaded="true"]');
  });

  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await app?.close();
    await simulator?.close();
  });

  /** A fiscal tenant whose CIS certificate (fixture) has expired. */
  async function tenantWithExpiredCertificate() {
    const company = await app.companies.create({
      name: 'Cvjetko obrt',
      oib: P12.c.oib,
      fiscalizationEnabled: true,
    });
    await app.accounts.createCertificateAccount({
      companyId: company.id,
      environment: 'TEST',
      p12: certFile(P12.c.file),
      password: P12.c.password,
    });
  }

  /**
   * One official sample per demo tenant through the API, as an operator
   * acting for it: V1, V2, both, and one refused (no credentials).
   */
  async function sendOnePerTenant() {
    for (const tenant of DEMO_TENANTS) {
      const [sample] = samplesFor(tenant.oib);
      const answer = await call(api.url, 'POST', '/v1/einvoices', {
        token,
        headers: { 'x-tenant-id': tenant.id },
        body: { ublXml: sample?.xml },
      });
      expect([201, 409]).toContain(answer.status);
    }
  }

  const get = async (path: string) =>
    (await call(api.url, 'GET', path, { token })).body;

  it('shows every readiness check with the status and count of the audit', async () => {
    const audit = await get('/v1/readiness/audit');
    const rows = await page.$$eval('[data-testid=checklist] tbody tr', (trs) =>
      trs.map((tr) => ({
        id: tr.getAttribute('data-check'),
        status: tr.getAttribute('data-status'),
        count: Number(tr.querySelector('[data-count]')?.textContent),
      })),
    );
    expect(rows).toEqual(
      audit.checks.map((c: { id: string; status: string; count: number }) => ({
        id: c.id,
        status: c.status,
        count: c.count,
      })),
    );
    const overall = await page.textContent('[data-testid=overall]');
    expect(overall).toBe(audit.ready ? 'READY' : 'NOT READY');
  });

  it('charts V1 and V2 per hour with the numbers of the spec query', async () => {
    const usage: { v1_path: number; v2_path: number }[] = await get(
      '/v1/readiness/path-usage',
    );
    const bars = await page.$$eval('#chart rect', (rects) =>
      rects.map((r) => ({
        series: r.getAttribute('data-series'),
        count: Number(r.getAttribute('data-count')),
      })),
    );
    const total = (series: string) =>
      bars.filter((b) => b.series === series).reduce((s, b) => s + b.count, 0);
    expect(bars).toHaveLength(48);
    expect(total('v1')).toBe(usage.reduce((s, r) => s + r.v1_path, 0));
    expect(total('v2')).toBe(usage.reduce((s, r) => s + r.v2_path, 0));
    expect(total('v1')).toBeGreaterThan(0);
    expect(total('v2')).toBeGreaterThan(0);
  });

  it('counts operation events by outcome and lists the accounts', async () => {
    const operations: { outcome: string; count: number }[] = await get(
      '/v1/readiness/operations',
    );
    const succeeded = operations
      .filter((r) => r.outcome === 'SUCCESS')
      .reduce((s, r) => s + r.count, 0);
    const tile = await page.textContent('[data-tile=success] b');
    expect(Number(tile)).toBe(succeeded);

    const accounts = await get('/v1/readiness/accounts');
    const listed = await page.$$eval('[data-testid=accounts] tbody tr', (t) =>
      t.map((tr) => tr.getAttribute('data-account')),
    );
    expect(listed).toEqual(accounts.map((a: { id: string }) => a.id));
  });

  it('shows the rollout stage with its gates, and advancing past a failing gate is refused', async () => {
    const status = await get('/v1/rollout');
    expect(status.stage).toBe('LEGACY');
    expect(await page.getAttribute('#stage', 'data-stage')).toBe('LEGACY');
    const gates = await page.$$eval('[data-testid=gates] tbody tr', (trs) =>
      trs.map((tr) => [tr.dataset.gate, tr.dataset.status]),
    );
    expect(gates).toEqual(
      status.gates.map((g: { gate: string; status: string }) => [
        g.gate,
        g.status,
      ]),
    );
    expect(gates.some(([, s]) => s !== 'PASS')).toBe(true);

    dialogAnswers.push('try stage 1', 'ok');
    await page.click('[data-testid=advance]');
    await page.waitForSelector('#error:not([hidden])');
    expect(await page.textContent('#error')).toContain('ROLLOUT_BLOCKED');
    expect(dialogs.slice(-2)).toEqual([
      expect.stringMatching(/^prompt: Advance LEGACY → STAGING_ENFORCED/),
      expect.stringMatching(/^confirm: Enter STAGING_ENFORCED now\?/),
    ]);
    expect((await get('/v1/rollout')).stage).toBe('LEGACY');
  });

  it('rolls back from the UI through the rollout controller, after a confirmation', async () => {
    // The demo is deliberately NOT READY, so the controller will not
    // advance it: the stage a rollback leaves is set by the store.
    await controllerOf(app).store.transition({
      at: new Date(),
      fromStage: 'LEGACY',
      toStage: 'STAGING_ENFORCED',
      action: 'advance',
      actor: 'test-fixture',
      reason: 'drill: stage set by the test',
      approval: null,
      heldStage: null,
      details: {},
    });
    await page.click('#refresh');
    await page.waitForSelector('#stage[data-stage=STAGING_ENFORCED]');
    const enabled = () =>
      page.getAttribute(
        `[data-testid=flags] tr[data-flag=${ENFORCE}]`,
        'data-enabled',
      );
    expect(await enabled()).toBe('true');

    dialogAnswers.push('rollback drill', 'ok');
    await page.click('[data-testid=rollback]');
    await page.waitForSelector('#rollback[data-done="true"]');
    await page.waitForSelector('#stage[data-stage=ROLLED_BACK]');
    expect(dialogs.slice(-2)).toEqual([
      'prompt: Roll back STAGING_ENFORCED. Reason (recorded):',
      'confirm: Roll back STAGING_ENFORCED now? Enforcement goes off.',
    ]);
    await page.waitForSelector(
      '[data-testid=flag-history] td:text("rollback: rollback drill")',
    );
    expect(await enabled()).toBe('false');
    expect(await page.textContent('[data-testid=action-result]')).toMatch(
      /^STAGING_ENFORCED → ROLLED_BACK \(staging\): enforcement off in the store after \d+ ms; flag_store.enforcement_off ok/,
    );
    const shown = await page.$$eval(
      '[data-testid=transitions] tbody tr',
      (trs) => trs.map((tr) => tr.dataset.action),
    );
    expect(shown[0]).toBe('rollback');

    const status = await get('/v1/rollout');
    expect(status.stage).toBe('ROLLED_BACK');
    const transitions = await get('/v1/rollout/transitions');
    expect(transitions.at(-1)).toMatchObject({
      action: 'rollback',
      fromStage: 'STAGING_ENFORCED',
      reason: 'rollback drill',
      actor: expect.stringMatching(/^operator-key:ak_/),
      details: { trigger: 'manual', hook: 'none' },
    });
    const flags: { flag: string; enabled: boolean }[] = await get('/v1/flags');
    expect(flags.find((f) => f.flag === ENFORCE)?.enabled).toBe(false);
    const [latest] = await get(`/v1/flags/history?flag=${ENFORCE}`);
    expect(latest).toMatchObject({
      reason: 'rollback: rollback drill',
      actor: expect.stringMatching(/^operator-key:ak_/),
      newValue: { enabled: false },
    });
  });

  it('records a sign-off from the UI, valid for the current report', async () => {
    await page.selectOption('#sign-role', 'Product Owner');
    await page.fill('#sign-name', 'Iva Kovač');
    await page.click('#sign button[type=submit]');
    await page.waitForSelector(
      '[data-testid=sign-offs] tr[data-role="Product Owner"][data-valid=true]',
    );
    const report = await get('/v1/rollout/report');
    expect(
      report.signOffs.find((s: { role: string }) => s.role === 'Product Owner'),
    ).toMatchObject({ name: 'Iva Kovač', valid: true });
    expect(await page.textContent('[data-testid=report-sha]')).toBe(
      report.contentSha256,
    );
  });

  it('lists accounts per tenant with the certificate expiry summary', async () => {
    const accounts: { certNotAfter: string | null; companyId: string }[] =
      await get('/v1/readiness/accounts');
    const days = (t: string) =>
      Math.floor((Date.parse(t) - Date.now()) / 86_400_000);
    const certs = accounts.filter((a) => a.certNotAfter !== null);
    const expired = certs.filter((a) => days(a.certNotAfter!) < 0).length;
    const soon = certs.filter((a) => {
      const d = days(a.certNotAfter!);
      return d >= 0 && d <= 30;
    }).length;
    expect(await page.getAttribute('#expiry', 'data-expired')).toBe(
      String(expired),
    );
    expect(await page.getAttribute('#expiry', 'data-soon')).toBe(String(soon));
    expect(expired).toBeGreaterThan(0);
    expect(await page.getAttribute('#expiry', 'class')).toBe('warn');
    const flagged = await page.$$eval(
      '[data-testid=accounts] td.expired',
      (tds) => tds.map((td) => td.textContent),
    );
    expect(flagged).toHaveLength(expired);
    expect(flagged[0]).toMatch(/^\d{4}-\d{2}-\d{2} \(expired\)$/);
    const companies = await page.$$eval(
      '[data-testid=accounts] tbody tr',
      (t) => t.map((tr) => tr.getAttribute('data-company')),
    );
    expect(new Set(companies)).toEqual(
      new Set(accounts.map((a) => a.companyId)),
    );
    // Grouped: each company's rows are together.
    const firsts = companies.filter((c, i) => c !== companies[i - 1]);
    expect(firsts.length).toBe(new Set(companies).size);
  });

  it('lists this process as a live registration with its paths', async () => {
    const workers: { id: string; live: boolean }[] = await get('/v1/workers');
    const rows = await page.$$eval('[data-testid=workers] tbody tr', (trs) =>
      trs.map((tr) => [tr.dataset.worker, tr.dataset.live]),
    );
    expect(rows).toEqual(workers.map((w) => [w.id, String(w.live)]));
    expect(rows.some(([, live]) => live === 'true')).toBe(true);
  });

  it('renders without script errors and saves a screenshot', async () => {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({
      path: `${SCREENSHOT_DIR}/dashboard.png`,
      fullPage: true,
    });
    // The refused advance above is a 409 the browser logs as a failed
    // resource; anything else is a script or network error.
    const expected = /status of 409 \(Conflict\)/;
    expect(pageErrors.filter((m) => expected.test(m))).toHaveLength(1);
    expect(pageErrors.filter((m) => !expected.test(m))).toEqual([]);
  });
});
