import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTenantGate, type TenantGate } from '../../src/app.js';
import { loadSettings } from '../../src/config/settings.js';
import { operator } from '../../src/db/database.js';
import { createLogger } from '../../src/logging/logger.js';
import { WorkerRegistry } from '../../src/workers/registry.js';
import { latestCheckRuns } from '../../src/workers/scheduled-checks.js';
import {
  DAILY_CHECKS_QUEUE,
  LEDGER_QUEUE,
  PROBE_QUEUE,
} from '../../src/workers/scheduled-jobs.js';
import {
  platformJobs,
  startWorkerProcess,
  type WorkerProcess,
} from '../../src/workers/worker-process.js';
import { openTestPostgres } from '../support/databases.js';
import { withDatabase } from '../support/global-setup.js';
import { registerSecret } from '../support/known-secrets.js';

const url = process.env.TEST_DATABASE_URL;
const quiet = createLogger(
  'info',
  new Writable({ write: (_c, _e, done) => done() }),
);

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('tenantgate worker: the embedded database', () => {
  it('refuses without PostgreSQL: pg-boss needs it', async () => {
    const settings = loadSettings({ TENANTGATE_DATA_DIR: 'memory://' });

    const started = startWorkerProcess({ settings } as TenantGate);

    await expect(started).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      details: { field: 'DATABASE_URL' },
    });
  });

  it('schedules the probe only where probe companies are configured', () => {
    const queues = (env: Record<string, string>) =>
      platformJobs({ settings: loadSettings(env) } as TenantGate).map(
        (j) => `${j.queue} ${j.cron}`,
      );

    expect(queues({})).toEqual([
      `${DAILY_CHECKS_QUEUE} 15 3 * * *`,
      `${LEDGER_QUEUE} 5 * * * *`,
    ]);
    expect(
      queues({
        TENANTGATE_PROBE_LEGACY_COMPANY: 'co_probe_legacy',
        TENANTGATE_PROBE_V2_COMPANY: 'co_probe_v2',
      }),
    ).toContain(`${PROBE_QUEUE} 0,15,30,45 * * * *`);
  });
});

(url ? describe : describe.skip)('tenantgate worker [postgres]', () => {
  let app: TenantGate;
  let worker: WorkerProcess;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const opened = await openTestPostgres();
    drop = opened.drop;
    const [row] = await opened.db.transaction(operator, (tx) =>
      tx.query<{ name: string }>('SELECT current_database() AS name'),
    );
    const masterKey = randomBytes(32).toString('base64');
    registerSecret('worker test master key', masterKey);
    app = await openTenantGate(
      loadSettings({
        DATABASE_URL: withDatabase(url as string, row?.name ?? ''),
        TENANTGATE_VAULT_KEYS: `v1:${masterKey}`,
        TENANTGATE_HEARTBEAT_MS: '500',
      }),
      { logger: quiet, register: 'worker', migrate: false },
    );
    worker = await startWorkerProcess(app, { pollingIntervalSeconds: 0.5 });
  }, 60_000);

  afterAll(async () => {
    await worker?.stop();
    await app?.close();
    await drop?.();
  });

  it('schedules the daily checks and the hourly ledger job', async () => {
    const schedules = await worker.boss.getSchedules();

    expect(
      schedules.map((s) => [s.name, s.cron, s.options?.tz]).sort(),
    ).toEqual([
      [DAILY_CHECKS_QUEUE, '15 3 * * *', 'Europe/Zagreb'],
      [LEDGER_QUEUE, '5 * * * *', 'Europe/Zagreb'],
    ]);
    expect(worker.fiscal).toBe(false);
  });

  it('stores both daily check runs when the job runs', async () => {
    await worker.boss.send(DAILY_CHECKS_QUEUE, {});

    const runs = await until(
      () => latestCheckRuns(app.db),
      (r) => r.length === 2,
    );

    expect(runs.map((r) => [r.check, r.ready]).sort()).toEqual([
      ['audit', true],
      ['invariants', true],
    ]);
  });

  it('rolls the ledger up when its job runs', async () => {
    const at = new Date(Date.now() - 3 * 3_600_000);
    await app.db.transaction(operator, (tx) =>
      tx.query(
        `INSERT INTO "OperationEvent" (at, environment, "companyId",
           operation, path, outcome, "durationMs", origin)
         VALUES ($1, 'staging', 'co_worker', 'EINVOICE_SEND', 'V2',
           'SUCCESS', 5, 'user')`,
        [at],
      ),
    );

    await worker.boss.send(LEDGER_QUEUE, {});
    const hourly = await until(
      () =>
        app.db.transaction(operator, (tx) =>
          tx.query<{ n: string }>(
            `SELECT COALESCE(sum(count), 0) AS n FROM "OperationEventHourly"
              WHERE environment = 'staging'`,
          ),
        ),
      (rows) => Number(rows[0]?.n) === 1,
    );

    expect(Number(hourly[0]?.n)).toBe(1);
  });

  it('is in the registry as a live worker while it runs', async () => {
    const rows = await new WorkerRegistry(app.db).list(
      'staging',
      new Date(),
      1_500,
    );

    expect(rows.filter((w) => w.live).map((w) => w.role)).toEqual(['worker']);
  });
});
