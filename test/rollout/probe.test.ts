import { expect, it } from 'vitest';
import { operator } from '../../src/db/database.js';
import { ledgerMetrics } from '../../src/metrics/metrics.js';
import { probeBlocked } from '../../src/rollout/acceptance.js';
import { runProbe, type ProbeTenants } from '../../src/rollout/probe.js';
import { describeEachDatabase } from '../support/databases.js';
import {
  companyWithAccount,
  companyWithLegacyKey,
  ENFORCED,
  MIGRATING,
  setFlags,
  usePlatform,
  type Platform,
} from '../support/platform.js';

async function probeTenants(p: Platform): Promise<ProbeTenants> {
  const legacy = await companyWithLegacyKey(p);
  const v2 = await companyWithAccount(p);
  return { legacyCompanyId: legacy.company.id, v2CompanyId: v2.company.id };
}

function probe(p: Platform, tenants: ProbeTenants) {
  return runProbe(
    {
      gate: p.gate,
      intermediaries: p.intermediaries,
      logger: p.logger,
      environment: 'staging',
    },
    tenants,
  );
}

async function probeEvents(p: Platform, correlationId: string) {
  return p.db.transaction(operator, (tx) =>
    tx.query<{ companyId: string; path: string | null; outcome: string }>(
      `SELECT "companyId", path, outcome, "errorName", origin
         FROM "OperationEvent" WHERE "correlationId" = $1 ORDER BY id`,
      [correlationId],
    ),
  );
}

describeEachDatabase('Issue 7, item 5: the probe sender', ({ db }) => {
  const platform = usePlatform(db);

  it('proves enforcement live: legacy blocked, V2 through the intermediary', async () => {
    const p = platform();
    const tenants = await probeTenants(p);
    setFlags(p, ENFORCED);
    const since = new Date(Date.now() - 1_000);

    const report = await probe(p, tenants);

    expect(report).toMatchObject({
      enforcementLive: true,
      v2Works: true,
      legacy: { outcome: 'BLOCKED', errorName: 'IntegrationRequiredError' },
      v2: { outcome: 'SUCCESS', path: 'V2' },
    });
    expect(await probeEvents(p, report.correlationId)).toEqual([
      {
        companyId: tenants.legacyCompanyId,
        path: null,
        outcome: 'BLOCKED',
        errorName: 'IntegrationRequiredError',
        origin: 'probe',
      },
      {
        companyId: tenants.v2CompanyId,
        path: 'V2',
        outcome: 'SUCCESS',
        errorName: null,
        origin: 'probe',
      },
    ]);
    const gate = await probeBlocked(p.db, 'staging', since, new Date());
    expect(gate.status).toBe('PASS');
  });

  it('says enforcement is not live when the legacy probe still gets through', async () => {
    const p = platform();
    const tenants = await probeTenants(p);
    setFlags(p, MIGRATING);

    const report = await probe(p, tenants);

    expect(report).toMatchObject({
      enforcementLive: false,
      v2Works: true,
      legacy: { outcome: 'SUCCESS', path: 'V1' },
    });
  });

  it('is left out of the legitimate operations the gates count', async () => {
    const p = platform();
    const tenants = await probeTenants(p);
    setFlags(p, ENFORCED);
    const since = new Date(Date.now() - 1_000);

    await probe(p, tenants);
    const m = await ledgerMetrics(p.db, {
      environment: 'staging',
      since,
      until: new Date(Date.now() + 1_000),
    });

    expect(m.probes).toBeGreaterThanOrEqual(2);
    expect(
      m.errorsByName.find((e) => e.errorName === 'IntegrationRequiredError'),
    ).toBeUndefined();
  });
});
