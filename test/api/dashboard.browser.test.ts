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
import {
  startEposlovanjeSimulator,
  type EposlovanjeSimulator,
} from '../../src/sandbox/eposlovanje-simulator.js';
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

  beforeAll(async () => {
    simulator = await startEposlovanjeSimulator();
    const settings = loadSettings({
      TENANTGATE_DATA_DIR: 'memory://',
      TENANTGATE_VAULT_KEYS: `v1:${randomBytes(32).toString('base64')}`,
      FF_INTEGRATION_ACCOUNT_OUTBOUND: 'true',
    });
    app = await openTenantGate(settings, {
      logger: createLogger('silent'),
      endpoints: { EINVOICE_EPOSLOVANJE: simulator.url },
    });
    registerDemoKeys(simulator);
    await seedDemoPlatform(app);

    api = await startApi(app, { port: 0 });
    const keys = new ApiKeyService({ db: app.db, logger: app.logger });
    token = (await keys.create({ kind: 'operator' })).token;
    await sendOnePerTenant();
    await call(api.url, 'PUT', `/v1/flags/${ENFORCE}`, {
      token,
      body: { enabled: true, reason: 'stage 3: enforcement' },
    });

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: CHROMIUM_FLAGS,
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
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

  it('rolls back from the UI after a confirmation, and the flag turns off', async () => {
    const enabled = () =>
      page.getAttribute(
        `[data-testid=flags] tr[data-flag=${ENFORCE}]`,
        'data-enabled',
      );
    expect(await enabled()).toBe('true');

    page.once('dialog', (dialog) => dialog.accept('rollback drill'));
    await page.click('[data-testid=rollback]');
    await page.waitForSelector('#rollback[data-done="true"]');
    await page.waitForSelector(
      '[data-testid=flag-history] td:text("rollback drill")',
    );
    expect(await enabled()).toBe('false');

    const flags: { flag: string; enabled: boolean }[] = await get('/v1/flags');
    expect(flags.find((f) => f.flag === ENFORCE)?.enabled).toBe(false);
    const [latest] = await get(`/v1/flags/history?flag=${ENFORCE}`);
    expect(latest).toMatchObject({
      reason: 'rollback drill',
      actor: expect.stringMatching(/^operator-key:ak_/),
      newValue: { enabled: false },
    });
  });

  it('renders without script errors and saves a screenshot', async () => {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({
      path: `${SCREENSHOT_DIR}/dashboard.png`,
      fullPage: true,
    });
    expect(pageErrors).toEqual([]);
  });
});
