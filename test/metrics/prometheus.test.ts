import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Settings } from '../../src/config/settings.js';
import { StoreFlagSource } from '../../src/flags/store-flag-source.js';
import { createLogger } from '../../src/logging/logger.js';
import { createPrometheusRegistry } from '../../src/metrics/prometheus.js';
import { applyRetention, rollUpHours } from '../../src/metrics/rollup.js';
import { describeEachDatabase, openTestPglite } from '../support/databases.js';
import { insertEvents } from './ledger-builders.js';

const NO_ENV: Settings['flags'] = {
  FF_INTEGRATION_ACCOUNT_OUTBOUND: true,
  FF_INTEGRATION_ACCOUNT_INBOUND: undefined,
  FF_INTEGRATION_ACCOUNT_FISCAL: undefined,
  FF_ENFORCE_INTEGRATION_ACCOUNT: undefined,
};
const quiet = createLogger(
  'silent',
  new Writable({ write: (_c, _e, done) => done() }),
);

/** The value of one sample line, by its exact labels. */
function sample(text: string, line: string): number | undefined {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.split(' ').pop());
}

describeEachDatabase('Prometheus exposition', ({ db }) => {
  it('counts the ledger by operation, path, outcome and error, never by company', async () => {
    await insertEvents(db(), [
      { at: '2026-02-01T08:10:00Z', path: 'V1', wouldBlock: true },
      { at: '2026-02-01T08:20:00Z', path: 'V1', wouldBlock: true },
      { at: '2026-02-01T09:10:00Z', path: 'V1', fallback: true },
      {
        at: '2026-02-01T09:20:00Z',
        path: null,
        outcome: 'BLOCKED',
        errorName: 'TenantViolationError',
        companyId: 'co_secretive',
      },
    ]);
    await rollUpHours(db(), {
      now: new Date('2026-02-01T09:00:00Z'),
      lagMs: 0,
    });
    const text = await createPrometheusRegistry({ db: db() }).metrics();
    const labels =
      'environment="production",operation="EINVOICE_SEND",origin="user"';
    expect(
      sample(
        text,
        `tenantgate_operations_total{${labels},path="V1",outcome="SUCCESS",error_name=""}`,
      ),
    ).toBe(3);
    expect(
      sample(
        text,
        `tenantgate_operations_total{${labels},path="none",outcome="BLOCKED",error_name="TenantViolationError"}`,
      ),
    ).toBe(1);
    expect(
      sample(text, `tenantgate_would_block_operations_total{${labels}}`),
    ).toBe(2);
    expect(
      sample(text, `tenantgate_legacy_fallback_operations_total{${labels}}`),
    ).toBe(1);
    expect(text).not.toMatch(/company/i);
    expect(text).not.toContain('co_secretive');
  });

  it('keeps counting what retention removed from the raw events', async () => {
    await rollUpHours(db(), { lagMs: 0 });
    await applyRetention(db(), { days: 31 });
    const text = await createPrometheusRegistry({ db: db() }).metrics();
    expect(
      sample(
        text,
        'tenantgate_would_block_operations_total{environment="production",operation="EINVOICE_SEND",origin="user"}',
      ),
    ).toBe(2);
  });

  it('exposes the effective flag values and whether they are stale', async () => {
    const flags = await StoreFlagSource.start({
      db: db(),
      logger: quiet,
      environment: 'staging',
      envFlags: NO_ENV,
      record: false,
    });
    const text = await createPrometheusRegistry({ db: db(), flags }).metrics();
    await flags.stop();
    expect(
      sample(
        text,
        'tenantgate_flag_enabled{environment="staging",flag="FF_INTEGRATION_ACCOUNT_OUTBOUND",source="env"}',
      ),
    ).toBe(1);
    expect(
      sample(
        text,
        'tenantgate_flag_enabled{environment="staging",flag="FF_ENFORCE_INTEGRATION_ACCOUNT",source="default"}',
      ),
    ).toBe(0);
    expect(
      sample(text, 'tenantgate_flag_store_stale{environment="staging"}'),
    ).toBe(0);
  });
});

describe('alert rules and dashboard', () => {
  const dir = new URL('../../src/metrics/', import.meta.url);
  const names = (text: string) =>
    new Set(text.match(/tenantgate_[a-z_]+/g) ?? []);

  it('refer only to metrics the registry exposes', async () => {
    const db = await openTestPglite();
    const flags = await StoreFlagSource.start({
      db,
      logger: quiet,
      environment: 'production',
      envFlags: NO_ENV,
      record: false,
    });
    const exposed = await createPrometheusRegistry({ db, flags }).metrics();
    await flags.stop();
    await db.close();
    const known = names(exposed);
    const rules = readFileSync(new URL('alert-rules.yml', dir), 'utf8');
    const dashboard = readFileSync(
      new URL('grafana-dashboard.json', dir),
      'utf8',
    );
    JSON.parse(dashboard);
    const used = [...names(rules), ...names(dashboard)];
    expect(used.length).toBeGreaterThan(5);
    for (const name of used) expect(known).toContain(name);
  });

  it('alert on every condition the issue names', () => {
    const rules = readFileSync(new URL('alert-rules.yml', dir), 'utf8');
    for (const needle of [
      'TenantViolationError',
      'IntegrationRequiredError',
      '> 0.01',
      'tenantgate_would_block_operations_total',
      '30 * 86400',
    ]) {
      expect(rules).toContain(needle);
    }
  });
});
