import { expect, it } from 'vitest';
import { operator } from '../../src/db/database.js';
import { ledgerMetrics } from '../../src/metrics/metrics.js';
import type { MetricsWindow } from '../../src/metrics/ledger.js';
import { applyRetention, rollUpHours } from '../../src/metrics/rollup.js';
import { describeEachDatabase } from '../support/databases.js';
import { insertEvents } from './ledger-builders.js';

const DAY = '2026-01-10T';
const at = (time: string) => `${DAY}${time}:00Z`;

/** The window [08:30, 10:30) of the crafted ledger below. */
const WINDOW: MetricsWindow = {
  environment: 'production',
  since: new Date(at('08:30')),
  until: new Date(at('10:30')),
};

const LEDGER = [
  { at: at('08:10'), path: 'V1' as const }, // before the window
  { at: at('08:40'), path: 'V1' as const, wouldBlock: true },
  { at: at('08:50') },
  { at: at('09:05'), path: 'V1' as const, fallback: true },
  {
    at: at('09:10'),
    path: null,
    outcome: 'BLOCKED' as const,
    errorName: 'IntegrationNotFoundError',
  },
  {
    at: at('09:20'),
    operation: 'FISCALIZATION',
    outcome: 'FAILURE' as const,
    errorName: 'CounterpartUnavailableError',
  },
  { at: at('09:30'), operation: 'FISCALIZATION' },
  { at: at('09:40'), origin: 'probe' as const },
  {
    at: at('10:15'),
    path: null,
    outcome: 'BLOCKED' as const,
    errorName: 'IntegrationRequiredError',
  },
  { at: at('10:45') }, // after the window
  { at: at('09:00'), environment: 'staging' as const }, // other environment
];

/** Computed by hand from LEDGER: seven legitimate operations inside. */
const EXPECTED = {
  sampleSize: 7,
  probes: 1,
  errorsByName: [
    { errorName: 'CounterpartUnavailableError', count: 1, sampleSize: 7 },
    { errorName: 'IntegrationNotFoundError', count: 1, sampleSize: 7 },
    { errorName: 'IntegrationRequiredError', count: 1, sampleSize: 7 },
  ],
  failures: { count: 3, sampleSize: 7, share: 3 / 7 },
  successRates: [
    { operation: 'EINVOICE_SEND', successes: 3, sampleSize: 5, rate: 0.6 },
    { operation: 'FISCALIZATION', successes: 1, sampleSize: 2, rate: 0.5 },
    { operation: 'EINVOICE_RECEIVE', successes: 0, sampleSize: 0, rate: null },
    { operation: 'EINVOICE_REPORT', successes: 0, sampleSize: 0, rate: null },
  ],
  pathByHour: [
    { hour: new Date(at('10:00')), v1: 0, v2: 0, none: 1 },
    { hour: new Date(at('09:00')), v1: 1, v2: 2, none: 1 },
    { hour: new Date(at('08:00')), v1: 1, v2: 1, none: 0 },
  ],
  legacyPath: { count: 2, sampleSize: 7, share: 2 / 7 },
  wouldBlock: { count: 1, sampleSize: 7, share: 1 / 7 },
  fallback: { count: 1, sampleSize: 7, share: 1 / 7 },
  integrationNotFound: { count: 1, sampleSize: 7, share: 1 / 7 },
};

describeEachDatabase('metrics over a crafted ledger', ({ db }) => {
  it('match the hand-computed values on raw events', async () => {
    await insertEvents(db(), LEDGER);
    const metrics = await ledgerMetrics(db(), WINDOW);
    expect(metrics).toMatchObject({
      ...EXPECTED,
      rolledUpHours: 0,
      rawHours: 3,
    });
  });

  it('report an empty window as no data, not as 100%', async () => {
    const metrics = await ledgerMetrics(db(), {
      environment: 'production',
      since: new Date('2025-06-01T00:00:00Z'),
      until: new Date('2025-06-08T00:00:00Z'),
    });
    expect(metrics.sampleSize).toBe(0);
    expect(metrics.failures).toEqual({ count: 0, sampleSize: 0, share: null });
    expect(metrics.wouldBlock.share).toBeNull();
    expect(metrics.integrationNotFound.share).toBeNull();
    expect(metrics.successRates.every((r) => r.rate === null)).toBe(true);
    expect(metrics.errorsByName).toEqual([]);
    expect(metrics.pathByHour).toEqual([]);
  });

  it('give the same values from hourly rollups', async () => {
    const report = await rollUpHours(db(), {
      now: new Date(at('12:00')),
      lagMs: 0,
    });
    expect(report.rolledUpTo).toEqual(new Date(at('12:00')));
    const rolled = await ledgerMetrics(db(), WINDOW);
    // 09:00 from its rollup; the partial hours 08:00 and 10:00 raw.
    expect(rolled).toMatchObject({
      ...EXPECTED,
      rolledUpHours: 1,
      rawHours: 2,
    });
    const raw = await ledgerMetrics(db(), WINDOW, { useRollups: false });
    expect(raw).toMatchObject({ ...EXPECTED, rolledUpHours: 0, rawHours: 3 });
  });

  it('count only hours that served events, not the hours rollups cover', async () => {
    // Rolled up to 12:00, but nothing happened on the day before.
    const metrics = await ledgerMetrics(db(), {
      environment: 'production',
      since: new Date('2026-01-09T00:00:00Z'),
      until: new Date('2026-01-10T00:00:00Z'),
    });

    expect(metrics.sampleSize).toBe(0);
    expect(metrics.rolledUpHours).toBe(0);
    expect(metrics.rawHours).toBe(0);
  });

  it('rolling up again changes nothing', async () => {
    const again = await rollUpHours(db(), {
      now: new Date(at('12:00')),
      lagMs: 0,
    });
    expect(again.hours).toBe(0);
    const metrics = await ledgerMetrics(db(), WINDOW);
    expect(metrics).toMatchObject(EXPECTED);
  });

  it('retention refuses less than 31 days', async () => {
    await expect(applyRetention(db(), { days: 7 })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      details: { field: 'eventRetentionDays' },
    });
  });

  it('raw events cannot be deleted outside retention', async () => {
    await expect(
      db().transaction(operator, (tx) =>
        tx.query('DELETE FROM "OperationEvent"'),
      ),
    ).rejects.toThrow(/append-only/);
  });

  it('retention deletes only rolled-up old events; whole-hour metrics stay', async () => {
    await insertEvents(db(), [{ at: new Date().toISOString() }]);
    const hours: MetricsWindow = {
      environment: 'production',
      since: new Date(at('08:00')),
      until: new Date(at('11:00')),
    };
    const before = await ledgerMetrics(db(), hours);
    const report = await applyRetention(db(), { days: 31 });
    expect(report.deleted).toBe(LEDGER.length);
    const after = await ledgerMetrics(db(), hours);
    expect(after).toEqual(before);
    expect(after.sampleSize).toBe(9);
    const recent = await db().transaction(operator, (tx) =>
      tx.query<{ n: string }>('SELECT count(*) AS n FROM "OperationEvent"'),
    );
    expect(Number(recent[0]?.n)).toBe(1);
  });
});

describeEachDatabase('rollups after an import of past events', ({ db }) => {
  it('recompute from the hour given, so late events count', async () => {
    await insertEvents(db(), [{ at: at('09:10') }]);
    await rollUpHours(db(), { now: new Date(at('12:00')), lagMs: 0 });
    await insertEvents(db(), [{ at: at('09:20'), path: 'V1' }]);
    const hour: MetricsWindow = {
      environment: 'production',
      since: new Date(at('09:00')),
      until: new Date(at('10:00')),
    };
    expect((await ledgerMetrics(db(), hour)).sampleSize).toBe(1);
    await rollUpHours(db(), {
      now: new Date(at('12:00')),
      lagMs: 0,
      from: new Date(at('09:30')),
    });
    const m = await ledgerMetrics(db(), hour);
    expect(m.sampleSize).toBe(2);
    expect(m.legacyPath).toEqual({ count: 1, sampleSize: 2, share: 0.5 });
  });
});
