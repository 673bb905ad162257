import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { operator, type Database } from '../../src/db/database.js';
import { FlagStore } from '../../src/flags/flag-store.js';
import { StoreFlagSource } from '../../src/flags/store-flag-source.js';
import { createLogger } from '../../src/logging/logger.js';
import { RolloutController } from '../../src/rollout/controller.js';
import { coolifyHook } from '../../src/rollout/deploy-hooks.js';
import { investigate } from '../../src/rollout/investigation.js';
import { Rollback } from '../../src/rollout/rollback.js';
import {
  startCoolifySimulator,
  type CoolifySimulator,
} from '../../src/sandbox/coolify-simulator.js';
import { insertCompany } from '../support/builders.js';
import {
  allFlagsOnFor,
  describeRollout,
  healthyBoth,
  insertHealthy,
  NOW,
  sourcesOf,
  type RolloutDatabases,
} from './support.js';

const TOKEN = 'coolify-test-token-0123456789';
const APP = 'app-staging-uuid';

/** Events in staging one minute before the clock, with their layer. */
async function failures(
  db: Database,
  at: Date,
  count: number,
  errorName: string,
  errorLayer: string | null,
): Promise<void> {
  await db.transaction(operator, (tx) =>
    tx.query(
      `INSERT INTO "OperationEvent" (at, environment, "companyId",
         operation, path, outcome, "errorName", "errorLayer",
         "durationMs", origin)
       SELECT $1, 'staging', 'co_ledger', 'FISCALIZATION', 'V2', 'FAILURE',
              $2, $3, 10, 'user' FROM generate_series(1, $4::int)`,
      [new Date(at.getTime() - 60_000), errorName, errorLayer, count],
    ),
  );
}

let coolify: CoolifySimulator;
beforeEach(async () => {
  coolify = await startCoolifySimulator({ token: TOKEN, appUuids: [APP] });
});
afterEach(async () => {
  await coolify.close();
});

/** A rollout in STAGING_ENFORCED with a Coolify deploy hook. */
async function enforcingInStaging(d: RolloutDatabases) {
  await allFlagsOnFor(d, 8);
  await healthyBoth(d);
  const clock = { now: NOW };
  const controller = new RolloutController({
    control: d.production,
    databases: { staging: d.staging, production: d.production },
    audits: async () => (await sourcesOf(d)).audits,
    logger: createLogger('silent'),
    now: () => clock.now,
  });
  await controller.advance({ actor: 'ops' });
  const hook = coolifyHook({
    url: coolify.url,
    token: TOKEN,
    appUuids: { staging: APP },
    pollMs: 10,
  });
  clock.now = new Date(NOW.getTime() + 3_600_000);
  await insertHealthy(d.staging, 'staging', 60, clock.now, 10 * 60_000);
  return { clock, controller, rollback: new Rollback(controller, hook) };
}

async function enforcementIn(db: Database) {
  const rows = await new FlagStore(db).list('staging');
  return rows.find((r) => r.flag === 'FF_ENFORCE_INTEGRATION_ACCOUNT')?.enabled;
}

describeRollout(
  'automatic rollback',
  (dbs) => {
    it('does nothing while the criteria hold', async () => {
      const { rollback, controller } = await enforcingInStaging(dbs());

      const outcome = await rollback.watchOnce();

      expect(outcome.action).toBe('none');
      expect((await controller.status()).stage).toBe('STAGING_ENFORCED');
      expect(coolify.requests).toHaveLength(0);
    });

    it('rolls back on one TenantViolationError within one tick', async () => {
      const d = dbs();
      const { rollback, controller, clock } = await enforcingInStaging(d);
      await failures(d.staging, clock.now, 1, 'TenantViolationError', null);

      const outcome = await rollback.watchOnce();

      expect(outcome.action).toBe('rolled_back');
      expect(outcome.rollback?.trigger).toBe('rollback.tenant_violation');
      expect(await enforcementIn(d.staging)).toBe(false);
      expect((await controller.status()).stage).toBe('ROLLED_BACK');
      expect(coolify.envs(APP)).toEqual({
        FF_ENFORCE_INTEGRATION_ACCOUNT: 'false',
      });
      expect(coolify.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
        `PATCH /api/v1/applications/${APP}/envs`,
        `GET /api/v1/applications/${APP}/envs`,
        `POST /api/v1/applications/${APP}/restart`,
        ...Array(3).fill(expect.stringMatching(/^GET \/api\/v1\/deploy/)),
      ]);
      const steps = outcome.rollback?.steps ?? [];
      expect(steps.map((s) => [s.step, s.ok])).toEqual([
        ['flag_store.enforcement_off', true],
        ['coolify.env_patch', true],
        ['coolify.env_read_back', true],
        ['coolify.restart', true],
        ['coolify.deployment', true],
      ]);
      expect(outcome.rollback?.flagOffMs).toBeLessThan(5000);
      const [last] = (await controller.store.transitions()).slice(-1);
      expect(last).toMatchObject({
        action: 'rollback',
        toStage: 'ROLLED_BACK',
      });
      expect(JSON.stringify(last?.details)).not.toContain(TOKEN);
    });

    it('switches enforcement off in every running process', async () => {
      const d = dbs();
      const { rollback, clock } = await enforcingInStaging(d);
      const processes = await Promise.all(
        [1, 2].map(() =>
          StoreFlagSource.start({
            db: d.staging,
            logger: createLogger('silent'),
            environment: 'staging',
            envFlags: {
              FF_INTEGRATION_ACCOUNT_OUTBOUND: undefined,
              FF_INTEGRATION_ACCOUNT_INBOUND: undefined,
              FF_INTEGRATION_ACCOUNT_FISCAL: undefined,
              FF_ENFORCE_INTEGRATION_ACCOUNT: undefined,
            },
            pollMs: 200,
            record: false,
          }),
        ),
      );
      const enforced = () =>
        processes.map((p) =>
          p.isEnabled('FF_ENFORCE_INTEGRATION_ACCOUNT', {
            environment: 'staging',
            companyId: 'co_any',
          }),
        );
      try {
        expect(enforced()).toEqual([true, true]);
        await failures(d.staging, clock.now, 1, 'TenantViolationError', null);

        await rollback.watchOnce();

        // Generous: this checks propagation, bench/ measures its speed.
        await vi.waitFor(() => expect(enforced()).toEqual([false, false]), {
          timeout: 10_000,
          interval: 50,
        });
      } finally {
        for (const p of processes) await p.stop();
      }
    });

    it('rolls back on an IntegrationRequiredError from a legitimate operation', async () => {
      const d = dbs();
      const { rollback, clock } = await enforcingInStaging(d);
      await failures(d.staging, clock.now, 1, 'IntegrationRequiredError', null);

      const outcome = await rollback.watchOnce();

      expect(outcome.rollback?.trigger).toBe('rollback.integration_required');
      expect(await enforcementIn(d.staging)).toBe(false);
    });

    it('rolls back above 1% integration-layer failures', async () => {
      const d = dbs();
      const { rollback, clock } = await enforcingInStaging(d);
      await failures(d.staging, clock.now, 3, 'VaultError', 'integration');

      const outcome = await rollback.watchOnce();

      expect(outcome.rollback?.trigger).toBe('rollback.integration_error_rate');
      const rate = outcome.criteria?.results.find(
        (r) => r.gate === 'rollback.integration_error_rate',
      );
      expect(rate?.numbers).toMatchObject({ failures: 3, sampleSize: 123 });
    });

    it('pauses instead on a counterpart outage', async () => {
      const d = dbs();
      const { rollback, controller, clock } = await enforcingInStaging(d);
      await failures(d.staging, clock.now, 5, 'CisTimeoutError', 'counterpart');

      const outcome = await rollback.watchOnce();

      expect(outcome.action).toBe('paused');
      expect((await controller.status()).stage).toBe('PAUSED');
      expect(await enforcementIn(d.staging)).toBe(true);
      expect(coolify.requests).toHaveLength(0);
    });

    it('lists what failed and what would fix it after a rollback', async () => {
      const d = dbs();
      const { rollback, controller, clock } = await enforcingInStaging(d);
      const company = await insertCompany(d.production, {
        fiscalizationEnabled: true,
      });
      await failures(d.staging, clock.now, 2, 'IntegrationRequiredError', null);
      await rollback.watchOnce();

      const report = await investigate(controller);

      expect(report.environment).toBe('staging');
      expect(report.failedOperations).toEqual([
        expect.objectContaining({
          operation: 'FISCALIZATION',
          errorName: 'IntegrationRequiredError',
          count: 2,
        }),
      ]);
      expect(report.missingAccounts).toEqual([
        expect.objectContaining({
          check: 'company.fiscalization_without_cis_account',
          samples: [company.id],
        }),
      ]);
      expect(report.fixes[0]).toMatch(/^tenantgate provision --apply/);
    });

    it('is one command for a human, and records the steps', async () => {
      const d = dbs();
      const { rollback, controller } = await enforcingInStaging(d);

      const report = await rollback.rollback({
        actor: 'ana',
        reason: 'customer reports',
      });

      expect(report.trigger).toBe('manual');
      expect(await enforcementIn(d.staging)).toBe(false);
      expect((await controller.status()).stage).toBe('ROLLED_BACK');
    });
  },
  ['shared'],
);

it('the Coolify simulator answers 405 to GET on restart', async () => {
  const sim = await startCoolifySimulator({ token: TOKEN, appUuids: [APP] });
  try {
    const res = await fetch(`${sim.url}/api/v1/applications/${APP}/restart`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.status).toBe(405);
    const bad = await fetch(`${sim.url}/api/v1/applications/${APP}/envs`);
    expect(bad.status).toBe(401);
  } finally {
    await sim.close();
  }
});
