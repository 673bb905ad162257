import { randomBytes } from 'node:crypto';
import PgBoss from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openTenantGate, type TenantGate } from '../../src/app.js';
import { loadSettings } from '../../src/config/settings.js';
import { operator, type Database } from '../../src/db/database.js';
import { pgBossDb } from '../../src/fiscal/pg-boss-db.js';
import { FlagStore } from '../../src/flags/flag-store.js';
import { createLogger } from '../../src/logging/logger.js';
import {
  ENFORCE_FLAG,
  RolloutController,
} from '../../src/rollout/controller.js';
import { RolloutStore } from '../../src/rollout/rollout-store.js';
import { startWatchLoop } from '../../src/rollout/watch-loop.js';
import {
  planWorker,
  startWorkerProcess,
  type WorkerProcess,
} from '../../src/workers/worker-process.js';
import { appDatabaseSettings, type BackendName } from '../support/databases.js';
import { registerSecret } from '../support/known-secrets.js';
import { CapturedLogs } from '../support/platform.js';
import {
  DAY_MS,
  flagOnAt,
  insertHealthy,
  PREREQ_FLAGS,
  sourcesOf,
} from '../rollout/support.js';

const url = process.env.TEST_DATABASE_URL;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Settings of an app that is never opened (no database needed). */
function appWith(env: Record<string, string> = {}): TenantGate {
  return { settings: loadSettings(env) } as TenantGate;
}

describe('tenantgate worker: the rollout watch it runs', () => {
  it('watches every TENANTGATE_ROLLOUT_WATCH_MS, 1000 ms by default', () => {
    const watch = (env: Record<string, string> = {}) =>
      planWorker(appWith(env)).find((c) => c.capability === 'rollout-watch');

    expect(watch()).toEqual({
      capability: 'rollout-watch',
      on: true,
      queues: [],
      schedules: [],
      loops: [{ name: 'rollout-watch', everyMs: 1000 }],
    });
    expect(watch({ TENANTGATE_ROLLOUT_WATCH_MS: '250' })?.loops).toEqual([
      { name: 'rollout-watch', everyMs: 250 },
    ]);
  });

  it('is left off by --without rollout-watch', () => {
    const plan = planWorker(appWith(), { without: ['rollout-watch'] });

    expect(plan.find((c) => c.capability === 'rollout-watch')).toMatchObject({
      on: false,
      reason: 'not selected',
    });
  });

  it('is off, naming the setting, when the deploy hook lacks one', () => {
    const env = { TENANTGATE_DEPLOY_HOOK: 'webhook' };

    const watch = planWorker(appWith(env)).find(
      (c) => c.capability === 'rollout-watch',
    );

    expect(watch).toMatchObject({
      on: false,
      reason: 'TENANTGATE_DEPLOY_WEBHOOK_URL not set',
    });
    expect(() => planWorker(appWith(env), { only: ['rollout-watch'] })).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        details: expect.objectContaining({
          field: 'TENANTGATE_DEPLOY_WEBHOOK_URL',
        }),
      }),
    );
  });
});

describe('the watch loop', () => {
  it('logs a failed tick and goes on ticking; stop waits for the tick under way', async () => {
    const logs = new CapturedLogs();
    let ticks = 0;
    const loop = startWatchLoop(
      async () => {
        ticks += 1;
        if (ticks <= 2) throw new Error('connection refused');
        await sleep(50);
        return {
          action: 'none',
          stage: 'LEGACY',
          criteria: null,
          rollback: null,
        };
      },
      createLogger('info', logs.stream),
      { intervalMs: 100 },
    );

    while (ticks < 4) await sleep(20);
    await loop.stop();
    const after = ticks;
    await sleep(300);

    expect(ticks).toBe(after);
    expect(
      logs
        .withEvent('rollout.watch_failed')
        .map((l) => [l.reason, l.consecutiveFailures]),
    ).toEqual([['connection refused', 1]]);
    expect(logs.withEvent('rollout.watch_recovered')).toMatchObject([
      { failures: 2 },
    ]);
  });
});

/**
 * The worker process with only the rollout watch, on each backend:
 * PostgreSQL with its own pg-boss on DATABASE_URL, as `tenantgate
 * worker` runs; PGlite with pg-boss through `pgBossDb` in the process.
 * Nothing but the worker acts on the breach: no CLI, no API.
 */
const backends: BackendName[] = url ? ['pglite', 'postgres'] : ['pglite'];
describe.each(backends)(
  'tenantgate worker rolls back on a breach by itself [%s]',
  (backend) => {
    const logs = new CapturedLogs();
    let app: TenantGate;
    let worker: WorkerProcess;
    let drop: (() => Promise<void>) | undefined;

    async function databaseSettings(): Promise<Record<string, string>> {
      const opened = await appDatabaseSettings(backend);
      drop = opened.drop;
      return opened.settings;
    }

    beforeAll(async () => {
      const masterKey = randomBytes(32).toString('base64');
      registerSecret('rollout watch test master key', masterKey);
      app = await openTenantGate(
        loadSettings({
          ...(await databaseSettings()),
          TENANTGATE_VAULT_KEYS: `v1:${masterKey}`,
        }),
        {
          logger: createLogger('info', logs.stream),
          migrate: backend === 'pglite',
        },
      );
      worker = await startWorkerProcess(app, {
        only: ['rollout-watch'],
        pollingIntervalSeconds: 0.5,
        boss:
          backend === 'pglite'
            ? new PgBoss({ db: pgBossDb(app.db) })
            : undefined,
      });
    }, 120_000);

    afterAll(async () => {
      await worker?.stop();
      await app?.close();
      await drop?.();
    });

    /** STAGING_ENFORCED through the controller's gates, as advance does. */
    async function enforceInStaging(db: Database) {
      const now = new Date();
      for (const env of ['staging', 'production'] as const) {
        for (const flag of PREREQ_FLAGS) {
          await flagOnAt(db, env, flag, new Date(now.getTime() - 8 * DAY_MS));
        }
        await insertHealthy(db, env, 100, now);
      }
      const dbs = {
        staging: db,
        production: db,
        backend,
        layout: 'shared' as const,
      };
      const controller = new RolloutController({
        control: db,
        databases: { staging: db, production: db },
        audits: async () => (await sourcesOf(dbs)).audits,
        logger: createLogger('silent'),
      });
      const report = await controller.advance({ actor: 'ops' });
      expect(
        report.gates.filter((g) => g.status !== 'PASS'),
        'entry gates',
      ).toEqual([]);
      expect(report.to).toBe('STAGING_ENFORCED');
    }

    async function enforcement(db: Database) {
      const rows = await new FlagStore(db).list('staging');
      return rows.find((r) => r.flag === ENFORCE_FLAG && !r.companyId)?.enabled;
    }

    async function recordViolation(db: Database) {
      await db.transaction(operator, (tx) =>
        tx.query(
          `INSERT INTO "OperationEvent" (at, environment, "companyId",
             operation, path, outcome, "errorName", "durationMs", origin)
           VALUES (now(), 'staging', 'co_ledger', 'EINVOICE_SEND', 'V2',
             'FAILURE', 'TenantViolationError', 3, 'user')`,
        ),
      );
    }

    it('turns enforcement off within 5 s of a TenantViolationError during an enforcing stage', async ({
      annotate,
    }) => {
      await enforceInStaging(app.db);
      // Ticks over the enforcing stage with the criteria holding.
      await sleep(2_500);
      expect(await enforcement(app.db)).toBe(true);
      expect(logs.withEvent('rollout.watch_rolled_back')).toEqual([]);

      await recordViolation(app.db);
      const breach = performance.now();
      while ((await enforcement(app.db)) !== false) {
        if (performance.now() - breach > 10_000) break;
        await sleep(10);
      }
      const flagOffMs = Math.round(performance.now() - breach);
      await annotate(`breach to flag off seen: ${flagOffMs} ms`);

      expect(await enforcement(app.db)).toBe(false);
      // Issue #7's target: detection within 2 s, propagation within 2,
      // at most 5 in all (a tick every second; a loaded CI machine).
      expect(flagOffMs).toBeLessThan(5_000);
      const store = new RolloutStore(app.db);
      expect((await store.state(new Date())).stage).toBe('ROLLED_BACK');
      const last = (await store.transitions()).at(-1);
      expect(last).toMatchObject({
        fromStage: 'STAGING_ENFORCED',
        toStage: 'ROLLED_BACK',
        actor: 'rollout-watch',
        details: { trigger: 'rollback.tenant_violation', hook: 'none' },
      });
      // Logged when the whole rollback (flag, then hook) has returned.
      await vi.waitFor(
        () =>
          expect(logs.withEvent('rollout.watch_rolled_back')).toMatchObject([
            {
              worker: 'rollout-watch',
              stage: 'STAGING_ENFORCED',
              environment: 'staging',
              trigger: 'rollback.tenant_violation',
              hookOk: true,
            },
          ]),
        { timeout: 5_000, interval: 20 },
      );
    }, 60_000);

    it('does nothing more once rolled back, and keeps ticking', async () => {
      await sleep(1_500);

      expect(logs.withEvent('rollout.watch_rolled_back')).toHaveLength(1);
      expect(logs.withEvent('rollout.watch_failed')).toEqual([]);
      expect(
        (await new RolloutStore(app.db).transitions()).map((t) => t.toStage),
      ).toEqual(['STAGING_ENFORCED', 'ROLLED_BACK']);
    });

    it('says in worker.started that it watches, and how often', () => {
      expect(logs.withEvent('worker.started')).toMatchObject([
        {
          capabilities: ['rollout-watch'],
          loops: ['rollout-watch every 1000 ms'],
        },
      ]);
    });
  },
);
