import { expect, it } from 'vitest';
import { operator, type Database } from '../../src/db/database.js';
import { createLogger } from '../../src/logging/logger.js';
import { RolloutController } from '../../src/rollout/controller.js';
import { noHook } from '../../src/rollout/deploy-hooks.js';
import { buildEvidence, evidenceMarkdown } from '../../src/rollout/evidence.js';
import { Rollback } from '../../src/rollout/rollback.js';
import {
  allFlagsOnFor,
  describeRollout,
  healthyBoth,
  insertBlockedProbe,
  NOW,
  sourcesOf,
  type RolloutDatabases,
} from './support.js';

const MINUTE_MS = 60_000;
const VERIFY_TEXT = 'Verify rollback: V1 in use again, operations resume';

interface Events {
  count: number;
  path: 'V1' | 'V2' | null;
  outcome: 'SUCCESS' | 'FAILURE' | 'BLOCKED';
  errorName?: string;
  errorLayer?: string;
  origin?: 'user' | 'worker' | 'probe';
}

/** `count` staging events, one a second from `from`, in one statement. */
async function staging(db: Database, from: Date, e: Events): Promise<void> {
  await db.transaction(operator, (tx) =>
    tx.query(
      `INSERT INTO "OperationEvent" (at, environment, "companyId",
         operation, path, outcome, "errorName", "errorLayer",
         "durationMs", origin)
       SELECT $1::timestamptz + make_interval(secs => i), 'staging',
              'co_after', 'EINVOICE_SEND', $2, $3, $4, $5, 10, $6
         FROM generate_series(1, $7::int) AS i`,
      [
        from,
        e.path,
        e.outcome,
        e.errorName ?? null,
        e.errorLayer ?? null,
        e.origin ?? 'user',
        e.count,
      ],
    ),
  );
}

/**
 * A rollout rolled back by hand from STAGING_ENFORCED one hour after
 * NOW; the clock then stands 30 minutes after the rollback.
 */
async function rolledBackInStaging(d: RolloutDatabases) {
  await allFlagsOnFor(d, 8);
  // Enough healthy sends that the blocks below keep readiness (99%).
  await healthyBoth(d, 400);
  const clock = { now: NOW };
  const controller = new RolloutController({
    control: d.production,
    databases: { staging: d.staging, production: d.production },
    audits: async () => (await sourcesOf(d)).audits,
    logger: createLogger('silent'),
    now: () => clock.now,
  });
  await controller.advance({ actor: 'ops' });
  clock.now = new Date(NOW.getTime() + 60 * MINUTE_MS);
  // Enforcement blocked legacy operations while the stage ran.
  await staging(d.staging, new Date(clock.now.getTime() - 10 * MINUTE_MS), {
    count: 3,
    path: null,
    outcome: 'BLOCKED',
    errorName: 'IntegrationRequiredError',
  });
  const report = await new Rollback(controller, noHook).rollback({
    actor: 'ops',
    reason: 'IntegrationRequiredError from legitimate operations',
  });
  const rolledBackAt = report.transition.at;
  clock.now = new Date(rolledBackAt.getTime() + 30 * MINUTE_MS);
  return { controller, clock, rolledBackAt };
}

async function verifyLineOf(controller: RolloutController) {
  const evidence = await buildEvidence(controller);
  const section = evidence.sections.find((s) => s.heading === 'Rollback Plan');
  return {
    line: section?.lines.find((l) => l.text === VERIFY_TEXT),
    markdown: evidenceMarkdown(evidence),
  };
}

describeRollout('rollback.verified: the spec\'s "Verify rollback"', (dbs) => {
  it('is READY with its numbers when V1 operations succeed after the rollback', async () => {
    const d = dbs();
    const { controller, rolledBackAt } = await rolledBackInStaging(d);
    await staging(d.staging, rolledBackAt, {
      count: 60,
      path: 'V1',
      outcome: 'SUCCESS',
    });
    // A counterpart outage is reported apart, not against the rate.
    await staging(d.staging, rolledBackAt, {
      count: 2,
      path: 'V1',
      outcome: 'FAILURE',
      errorName: 'CounterpartDown',
      errorLayer: 'counterpart',
    });

    const status = await controller.status();

    expect(status.stage).toBe('ROLLED_BACK');
    expect(status.rollbackVerification).toMatchObject({
      id: 'rollback.verified',
      section: 'rollback',
      environment: 'staging',
      status: 'READY',
      numbers: {
        since: rolledBackAt.toISOString(),
        sampleSize: 62,
        v1: 62,
        v2: 0,
        integrationRequired: 0,
        successes: 60,
        failures: 0,
        counterpartFailures: 2,
        successRate: 1,
      },
      samples: [],
    });
    expect(status.rollbackVerification?.threshold).toContain(
      'sampleSize >= 50',
    );
    const { line, markdown } = await verifyLineOf(controller);
    expect(line).toMatchObject({ ticked: true, status: 'READY' });
    expect(line?.figures).toContain('v1=62');
    expect(markdown).toContain(`- [x] ${VERIFY_TEXT}: **READY**`);
  });

  it('is NOT READY with sample rows when IntegrationRequiredError follows the rollback', async () => {
    const d = dbs();
    const { controller, rolledBackAt } = await rolledBackInStaging(d);
    await staging(d.staging, rolledBackAt, {
      count: 60,
      path: 'V1',
      outcome: 'SUCCESS',
    });
    await staging(d.staging, new Date(rolledBackAt.getTime() + MINUTE_MS), {
      count: 2,
      path: null,
      outcome: 'BLOCKED',
      errorName: 'IntegrationRequiredError',
    });

    const check = (await controller.status()).rollbackVerification;

    expect(check?.status).toBe('NOT_READY');
    // The three blocks before the rollback are not counted.
    expect(check?.numbers).toMatchObject({
      sampleSize: 62,
      v1: 60,
      integrationRequired: 2,
    });
    expect(check?.samples).toHaveLength(2);
    for (const sample of check?.samples ?? []) {
      expect(sample).toMatch(
        /^OperationEvent \d+ \S+Z co_after EINVOICE_SEND no path BLOCKED IntegrationRequiredError$/,
      );
    }
    const { line, markdown } = await verifyLineOf(controller);
    expect(line).toMatchObject({ ticked: false, status: 'NOT READY' });
    expect(line?.figures).toContain('integrationRequired=2');
    expect(line?.figures).toContain('samples: OperationEvent');
    expect(markdown).toContain(`- [ ] ${VERIFY_TEXT}: **NOT READY**`);
  });

  it('is NOT READY when operations fail after the rollback', async () => {
    const d = dbs();
    const { controller, rolledBackAt } = await rolledBackInStaging(d);
    await staging(d.staging, rolledBackAt, {
      count: 95,
      path: 'V1',
      outcome: 'SUCCESS',
    });
    await staging(d.staging, rolledBackAt, {
      count: 5,
      path: 'V1',
      outcome: 'FAILURE',
      errorName: 'LegacyCredentialsInvalid',
      errorLayer: 'integration',
    });

    const check = (await controller.status()).rollbackVerification;

    expect(check?.status).toBe('NOT_READY');
    expect(check?.numbers).toMatchObject({
      sampleSize: 100,
      failures: 5,
      successRate: 0.95,
    });
    expect(check?.samples).toHaveLength(5);
    expect(check?.samples[0]).toContain('FAILURE LegacyCredentialsInvalid');
  });

  it('is INCONCLUSIVE, never READY, with no traffic or too little since the rollback', async () => {
    const d = dbs();
    const { controller, rolledBackAt } = await rolledBackInStaging(d);
    // Probes are not legitimate operations.
    await insertBlockedProbe(d.staging, 'staging', controller.clock());

    const none = (await controller.status()).rollbackVerification;
    expect(none).toMatchObject({
      status: 'INCONCLUSIVE',
      numbers: { sampleSize: 0, successRate: null, integrationRequired: 0 },
    });
    const { line, markdown } = await verifyLineOf(controller);
    expect(line).toMatchObject({ ticked: false, status: 'INCONCLUSIVE' });
    expect(markdown).toContain(`- [ ] ${VERIFY_TEXT}: **INCONCLUSIVE**`);

    await staging(d.staging, rolledBackAt, {
      count: 49,
      path: 'V1',
      outcome: 'SUCCESS',
    });
    const few = (await controller.status()).rollbackVerification;
    expect(few).toMatchObject({
      status: 'INCONCLUSIVE',
      numbers: { sampleSize: 49, successRate: 1 },
    });
  });

  it('counts only operations up to the clock', async () => {
    const d = dbs();
    const { controller, clock } = await rolledBackInStaging(d);
    await staging(d.staging, new Date(clock.now.getTime() + MINUTE_MS), {
      count: 60,
      path: 'V1',
      outcome: 'SUCCESS',
    });

    const before = (await controller.status()).rollbackVerification;
    expect(before?.status).toBe('INCONCLUSIVE');

    clock.now = new Date(clock.now.getTime() + 5 * MINUTE_MS);
    const after = (await controller.status()).rollbackVerification;
    expect(after?.status).toBe('READY');
  });

  it('is absent once enforcement is re-attempted; the report keeps it up to then', async () => {
    const d = dbs();
    const { controller, clock, rolledBackAt } = await rolledBackInStaging(d);
    await staging(d.staging, rolledBackAt, {
      count: 60,
      path: 'V1',
      outcome: 'SUCCESS',
    });

    const advanced = await controller.advance({ actor: 'ops' });
    expect(advanced.advanced).toBe(true);
    const reenteredAt = clock.now;
    // Traffic after the re-entry belongs to the new stage.
    clock.now = new Date(clock.now.getTime() + 10 * MINUTE_MS);
    await staging(d.staging, reenteredAt, {
      count: 5,
      path: null,
      outcome: 'BLOCKED',
      errorName: 'IntegrationRequiredError',
    });

    expect((await controller.status()).rollbackVerification).toBeNull();
    const { line } = await verifyLineOf(controller);
    expect(line).toMatchObject({
      ticked: true,
      status: 'READY',
      at: reenteredAt.toISOString(),
    });
    expect(line?.figures).toContain('integrationRequired=0');
  });
});
