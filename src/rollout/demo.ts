import { randomBytes } from 'node:crypto';
import { runAudit } from '../audit/audit.js';
import { operator, type Database } from '../db/database.js';
import { openDatabase } from '../db/open.js';
import { FlagStore } from '../flags/flag-store.js';
import type { DeploymentEnvironment } from '../flags/flag-value.js';
import type { Logger } from '../logging/logger.js';
import { startCoolifySimulator } from '../sandbox/coolify-simulator.js';
import { PREREQUISITE_FLAGS } from './checks.js';
import { RolloutController } from './controller.js';
import { coolifyHook } from './deploy-hooks.js';
import { Rollback } from './rollback.js';
import { simulatedV2Worker } from '../workers/registry.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * Inserts `perOperation` legitimate V2 successes of EINVOICE_SEND and
 * FISCALIZATION spread over the `spanMs` before `until` (simulated
 * traffic for the demo).
 */
export async function simulateTraffic(
  db: Database,
  environment: DeploymentEnvironment,
  perOperation: number,
  until: Date,
  spanMs: number,
): Promise<void> {
  // The demo's worker processes heartbeat with V2 flags.
  await simulatedV2Worker(db, environment, until);
  await db.transaction(operator, (tx) =>
    tx.query(
      `INSERT INTO "OperationEvent" (at, environment, "companyId",
         operation, path, outcome, "durationMs", origin)
       SELECT $1::timestamptz - make_interval(secs => 60 + i * $3::float8),
              $2, 'co_demo', op, 'V2', 'SUCCESS', 10, 'worker'
         FROM generate_series(0, $4::int - 1) AS i,
              unnest(ARRAY['EINVOICE_SEND', 'FISCALIZATION']) AS op`,
      [
        until.toISOString(),
        environment,
        spanMs / 1000 / perOperation,
        perOperation,
      ],
    ),
  );
}

/**
 * What the probe sender records once enforcement is live: the legacy
 * probe company's attempt blocked (simulated, a minute before `at`).
 */
async function blockedProbe(
  db: Database,
  environment: DeploymentEnvironment,
  at: Date,
): Promise<void> {
  await db.transaction(operator, (tx) =>
    tx.query(
      `INSERT INTO "OperationEvent" (at, environment, "companyId",
         operation, path, outcome, "errorName", "durationMs", origin)
       VALUES ($1, $2, 'co_demo_probe', 'EINVOICE_SEND', NULL, 'BLOCKED',
         'IntegrationRequiredError', 1, 'probe')`,
      [new Date(at.getTime() - 60_000), environment],
    ),
  );
}

/**
 * A compressed rollout on an in-memory database and a simulated clock:
 * a week of prerequisite flags and traffic, each stage's watch window,
 * production enforcement with a named approval, then a forced breach
 * (one IntegrationRequiredError from a legitimate operation) that rolls
 * back through a Coolify simulator on loopback. Prints each step.
 */
export async function compressedRollout(
  logger: Logger,
  print: (line: string) => void,
): Promise<number> {
  const db = await openDatabase({
    databaseUrl: undefined,
    dataDir: 'memory://',
  });
  const token = randomBytes(16).toString('hex');
  const coolify = await startCoolifySimulator({
    token,
    appUuids: ['demo-production'],
    pollsUntilFinished: 2,
  });
  try {
    const clock = { now: new Date() };
    const controller = new RolloutController({
      control: db,
      databases: { staging: db, production: db },
      audits: async () => [
        {
          label: 'shared',
          report: await runAudit(db, {
            accountEnvironment: 'TEST',
            secretProbe: () => true,
          }),
        },
      ],
      logger,
      now: () => clock.now,
    });
    const flags = new FlagStore(db);
    for (const environment of ['staging', 'production'] as const) {
      for (const flag of PREREQUISITE_FLAGS) {
        await flags.set({
          flag,
          environment,
          enabled: true,
          actor: 'demo',
          reason: 'demo: V2 paths on',
        });
      }
    }
    const step = async (label: string, approval?: string) => {
      const r = await controller.advance({ actor: 'demo', approval });
      const failing = r.gates.filter((g) => g.status !== 'PASS');
      const why = failing.map((g) => `${g.gate} ${g.status}`).join(', ');
      const outcome = r.advanced
        ? String(r.to)
        : `stays (blocked by ${r.blockedBy}${why ? `: ${why}` : ''})`;
      print(`${clock.now.toISOString()} ${label}: ${r.from} -> ${outcome}`);
      return r.advanced;
    };
    const later = async (ms: number, env: DeploymentEnvironment) => {
      clock.now = new Date(clock.now.getTime() + ms);
      await simulateTraffic(db, env, 200, clock.now, ms - HOUR_MS);
    };

    await later(8 * DAY_MS, 'staging');
    await simulateTraffic(db, 'production', 200, clock.now, 7 * DAY_MS);
    if (!(await step('readiness gate'))) return 1;
    await later(25 * HOUR_MS, 'staging');
    await blockedProbe(db, 'staging', clock.now);
    if (!(await step('staging accepted'))) return 1;
    await later(25 * HOUR_MS, 'production');
    await step('without approval');
    if (!(await step('approved', 'Demo Approver'))) return 1;

    clock.now = new Date(clock.now.getTime() + 10 * 60_000);
    await simulateTraffic(db, 'production', 100, clock.now, 9 * 60_000);
    await db.transaction(operator, (tx) =>
      tx.query(
        `INSERT INTO "OperationEvent" (at, environment, "companyId",
           operation, path, outcome, "errorName", "durationMs", origin)
         VALUES ($1, 'production', 'co_demo', 'EINVOICE_SEND', NULL,
           'BLOCKED', 'IntegrationRequiredError', 3, 'user')`,
        [new Date(clock.now.getTime() - 30_000)],
      ),
    );
    print(`${clock.now.toISOString()} forced breach: IntegrationRequiredError`);
    const rollback = new Rollback(
      controller,
      coolifyHook({
        url: coolify.url,
        token,
        appUuids: { production: 'demo-production' },
        pollMs: 50,
      }),
    );
    const outcome = await rollback.watchOnce();
    print(
      `watch tick: ${outcome.action} (${outcome.rollback?.trigger ?? '-'})`,
    );
    for (const s of outcome.rollback?.steps ?? []) {
      print(
        `  ${s.step.padEnd(28)} ${s.ok ? 'ok' : 'FAILED'} ${s.durationMs} ms`,
      );
    }
    print(`stage now: ${(await controller.status()).stage}`);
    return outcome.action === 'rolled_back' ? 0 : 1;
  } finally {
    await coolify.close();
    await db.close();
  }
}
