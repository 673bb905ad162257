import { expect, it } from 'vitest';
import {
  evaluateReadiness,
  type ReadinessReport,
} from '../../src/rollout/checks.js';
import {
  fillPrerequisites,
  formatReadiness,
} from '../../src/rollout/checklist.js';
import { insertEvents } from '../metrics/ledger-builders.js';
import { insertCompany } from '../support/builders.js';
import {
  allFlagsOnFor,
  DAY_MS,
  describeRollout,
  flagOnAt,
  healthyBoth,
  NOW,
  sourcesOf,
} from './support.js';

function check(report: ReadinessReport, id: string) {
  const found = report.checks.find((c) => c.id === id);
  if (!found) throw new Error(`no check ${id}`);
  return found;
}

const at = (msBefore: number) =>
  new Date(NOW.getTime() - msBefore).toISOString();

describeRollout(
  'readiness checks',
  (dbs) => {
    it('is READY when every prerequisite holds in both environments', async () => {
      await allFlagsOnFor(dbs(), 8);
      await healthyBoth(dbs());

      const report = await evaluateReadiness(await sourcesOf(dbs()), {
        now: () => NOW,
      });

      const notReady = report.checks.filter((c) => c.status !== 'READY');
      expect(notReady).toEqual([]);
      expect(report.ready).toBe(true);
      expect(
        check(report, 'metrics.production.einvoice_send_success'),
      ).toMatchObject({
        numbers: { successes: 100, sampleSize: 100, rate: 1 },
      });
      const lines = fillPrerequisites(report).flatMap((s) => s.lines);
      expect(lines).toHaveLength(15);
      expect(lines.every((l) => l.status === 'READY')).toBe(true);
    });

    it('is INCONCLUSIVE, never READY, with too little traffic', async () => {
      await allFlagsOnFor(dbs(), 8);
      await healthyBoth(dbs(), 20);

      const report = await evaluateReadiness(await sourcesOf(dbs()), {
        now: () => NOW,
      });

      expect(report.ready).toBe(false);
      for (const env of ['staging', 'production']) {
        expect(check(report, `metrics.${env}.tenant_violation`).status).toBe(
          'INCONCLUSIVE',
        );
        expect(
          check(report, `metrics.${env}.fiscalization_success`).status,
        ).toBe('INCONCLUSIVE');
      }
    });

    it('takes configurable minimum sample sizes', async () => {
      await allFlagsOnFor(dbs(), 8);
      await healthyBoth(dbs(), 20);

      const report = await evaluateReadiness(await sourcesOf(dbs()), {
        now: () => NOW,
        minOperations: 20,
        minEInvoiceSends: 20,
        minFiscalizations: 20,
      });

      expect(report.ready).toBe(true);
    });

    it('is NOT READY when a flag has been on for less than 7 days', async () => {
      await allFlagsOnFor(dbs(), 8);
      await healthyBoth(dbs());
      const d = dbs();
      // Switched off and on again 3 days ago: the clock restarts.
      const off = new Date(NOW.getTime() - 3 * DAY_MS);
      await flagOnAt(
        d.production,
        'production',
        'FF_INTEGRATION_ACCOUNT_FISCAL',
        off,
        false,
      );
      await flagOnAt(
        d.production,
        'production',
        'FF_INTEGRATION_ACCOUNT_FISCAL',
        new Date(off.getTime() + 1000),
      );

      const report = await evaluateReadiness(await sourcesOf(d), {
        now: () => NOW,
      });

      const fiscal = check(
        report,
        'flags.production.FF_INTEGRATION_ACCOUNT_FISCAL',
      );
      expect(fiscal.status).toBe('NOT_READY');
      expect(fiscal.numbers.daysOn).toBeCloseTo(3, 1);
      expect(
        check(report, 'flags.staging.FF_INTEGRATION_ACCOUNT_FISCAL').status,
      ).toBe('READY');
      expect(report.ready).toBe(false);
    });

    it('is NOT READY on one TenantViolationError, whatever the sample', async () => {
      await allFlagsOnFor(dbs(), 8);
      await insertEvents(dbs().staging, [
        {
          at: at(3_600_000),
          environment: 'staging',
          outcome: 'FAILURE',
          errorName: 'TenantViolationError',
        },
      ]);

      const report = await evaluateReadiness(await sourcesOf(dbs()), {
        now: () => NOW,
      });

      expect(check(report, 'metrics.staging.tenant_violation')).toMatchObject({
        status: 'NOT_READY',
        numbers: { count: 1, sampleSize: 1 },
        samples: ['TenantViolationError'],
      });
    });

    it('leaves out probes and events older than the window', async () => {
      await allFlagsOnFor(dbs(), 8);
      await healthyBoth(dbs());
      await insertEvents(dbs().production, [
        {
          at: at(3_600_000),
          origin: 'probe',
          outcome: 'BLOCKED',
          errorName: 'IntegrationRequiredError',
        },
        {
          at: at(8 * DAY_MS),
          outcome: 'FAILURE',
          errorName: 'TenantViolationError',
        },
      ]);

      const report = await evaluateReadiness(await sourcesOf(dbs()), {
        now: () => NOW,
      });

      expect(report.ready).toBe(true);
    });

    it('is NOT READY at 1% IntegrationNotFoundError and under 99% success', async () => {
      await allFlagsOnFor(dbs(), 8);
      await healthyBoth(dbs());
      await insertEvents(dbs().production, [
        ...[1, 2, 3].map(() => ({
          at: at(3_600_000),
          operation: 'EINVOICE_SEND',
          outcome: 'FAILURE' as const,
          errorName: 'IntegrationNotFoundError',
        })),
      ]);

      const report = await evaluateReadiness(await sourcesOf(dbs()), {
        now: () => NOW,
      });

      const notFound = check(
        report,
        'metrics.production.integration_not_found',
      );
      expect(notFound.status).toBe('NOT_READY');
      expect(notFound.numbers).toMatchObject({ count: 3, sampleSize: 203 });
      const send = check(report, 'metrics.production.einvoice_send_success');
      expect(send.status).toBe('NOT_READY');
      expect(send.numbers).toMatchObject({ successes: 100, sampleSize: 103 });
      expect(
        check(report, 'metrics.staging.integration_not_found').status,
      ).toBe('READY');
    });

    it('has one check per audit check and shows the offending rows', async () => {
      await allFlagsOnFor(dbs(), 8);
      await healthyBoth(dbs());
      const company = await insertCompany(dbs().production, {
        fiscalizationEnabled: true,
      });

      const sources = await sourcesOf(dbs());
      const report = await evaluateReadiness(sources, { now: () => NOW });

      const database = report.checks.filter((c) => c.section === 'database');
      const auditChecks = sources.audits.flatMap((a) => a.report.checks);
      expect(database).toHaveLength(auditChecks.length);
      const missing = database.filter((c) => c.status === 'NOT_READY');
      expect(missing).toHaveLength(1);
      expect(missing[0]?.id).toMatch(
        /^database\.(shared|production)\.company\.fiscalization_without/,
      );
      expect(missing[0]?.samples).toEqual([company.id]);
      expect(formatReadiness(report)).toContain(
        '[ ] All companies with fiscalization enabled have active ' +
          'FISCALIZATION_CIS account: NOT READY',
      );
    });
  },
  ['shared'],
);

describeRollout(
  'readiness checks with a database per environment',
  (dbs) => {
    it('reads each environment from its own database', async () => {
      await allFlagsOnFor(dbs(), 8);
      await healthyBoth(dbs());
      await insertEvents(dbs().staging, [
        {
          at: at(3_600_000),
          environment: 'staging',
          outcome: 'FAILURE',
          errorName: 'TenantViolationError',
        },
      ]);

      const report = await evaluateReadiness(await sourcesOf(dbs()), {
        now: () => NOW,
      });

      expect(report.checks.filter((c) => c.status !== 'READY')).toEqual([
        expect.objectContaining({ id: 'metrics.staging.tenant_violation' }),
      ]);
      expect(
        report.checks.filter((c) => c.id.startsWith('database.staging.')),
      ).not.toHaveLength(0);
    });
  },
  ['separate'],
);
