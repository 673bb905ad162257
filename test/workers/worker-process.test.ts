import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import PgBoss from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTenantGate, type TenantGate } from '../../src/app.js';
import { loadSettings } from '../../src/config/settings.js';
import { operator, type Database } from '../../src/db/database.js';
import {
  INBOUND_QUEUE,
  INBOUND_SCHEDULE_QUEUE,
} from '../../src/einvoice/inbound-worker.js';
import {
  RECONCILE_QUEUE,
  STATUS_QUEUE,
} from '../../src/einvoice/lifecycle-sweeps.js';
import { pgBossDb } from '../../src/fiscal/pg-boss-db.js';
import { createLogger } from '../../src/logging/logger.js';
import {
  REPORTING_QUEUE,
  REPORTING_SWEEP_QUEUE,
} from '../../src/reporting/reporting-worker.js';
import {
  startEposlovanjeSimulator,
  type EposlovanjeSimulator,
} from '../../src/sandbox/eposlovanje-simulator.js';
import {
  startFiskalizacija2Simulator,
  type Fiskalizacija2Simulator,
} from '../../src/sandbox/fiskalizacija2-simulator.js';
import {
  parseCapabilities,
  WORKER_CAPABILITIES,
} from '../../src/workers/capabilities.js';
import { WorkerRegistry } from '../../src/workers/registry.js';
import { latestCheckRuns } from '../../src/workers/scheduled-checks.js';
import {
  DAILY_CHECKS_QUEUE,
  LEDGER_QUEUE,
  PROBE_QUEUE,
} from '../../src/workers/scheduled-jobs.js';
import {
  planWorker,
  platformJobs,
  startWorkerProcess,
  type WorkerProcess,
} from '../../src/workers/worker-process.js';
import { CERTS_DIR, P12, certFile } from '../fiscal/support.js';
import { insertEInvoice, sampleUbl } from '../reporting/reporting-support.js';
import { randomOib } from '../support/builders.js';
import {
  appDatabaseSettings,
  openTestPostgres,
  type BackendName,
} from '../support/databases.js';
import { registerSecret } from '../support/known-secrets.js';
import { CapturedLogs, newApiKey, sampleFor } from '../support/platform.js';

const url = process.env.TEST_DATABASE_URL;

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Settings of an app that is never opened (no database needed). */
function appWith(env: Record<string, string> = {}): TenantGate {
  return { settings: loadSettings(env) } as TenantGate;
}

describe('tenantgate worker: what it runs', () => {
  it('runs every capability by default, each one not configured off with the setting it needs', () => {
    const plan = planWorker(appWith());

    expect(plan.map((c) => [c.capability, c.on, c.reason])).toEqual([
      ['fiscal', false, 'TENANTGATE_CIS_URL not set'],
      ['inbound', true, undefined],
      ['reporting', false, 'TENANTGATE_F2_URL not set'],
      ['reconcile', true, undefined],
      ['status', true, undefined],
      ['checks', true, undefined],
      ['ledger', true, undefined],
      ['probe', false, 'TENANTGATE_PROBE_*_COMPANY not set'],
      ['rollout-watch', true, undefined],
    ]);
    expect(plan.flatMap((c) => c.schedules)).toEqual([
      { queue: INBOUND_SCHEDULE_QUEUE, cron: '*/5 * * * *' },
      { queue: RECONCILE_QUEUE, cron: '*/5 * * * *' },
      { queue: STATUS_QUEUE, cron: '*/15 * * * *' },
      { queue: DAILY_CHECKS_QUEUE, cron: '15 3 * * *' },
      { queue: LEDGER_QUEUE, cron: '5 * * * *' },
    ]);
  });

  it('runs reporting where TENANTGATE_F2_URL is set, on the crons of the settings', () => {
    const plan = planWorker(
      appWith({
        TENANTGATE_F2_URL: 'https://f2.example.test/fiskalizacija2',
        TENANTGATE_REPORTING_CRON: '*/10 * * * *',
        TENANTGATE_INBOUND_CRON: '2,32 * * * *',
      }),
    );

    const reporting = plan.find((c) => c.capability === 'reporting');
    expect(reporting).toEqual({
      capability: 'reporting',
      on: true,
      queues: [REPORTING_QUEUE],
      schedules: [{ queue: REPORTING_SWEEP_QUEUE, cron: '*/10 * * * *' }],
    });
    expect(plan.find((c) => c.capability === 'inbound')?.schedules).toEqual([
      { queue: INBOUND_SCHEDULE_QUEUE, cron: '2,32 * * * *' },
    ]);
  });

  it('runs only what --only names, or all but what --without names', () => {
    const on = (options: Parameters<typeof planWorker>[1]) =>
      planWorker(appWith(), options)
        .filter((c) => c.on)
        .map((c) => c.capability);

    expect(
      on({ only: parseCapabilities('inbound, reconcile', 'only') }),
    ).toEqual(['inbound', 'reconcile']);
    expect(
      on({ without: parseCapabilities('checks,ledger', 'without') }),
    ).toEqual(['inbound', 'reconcile', 'status', 'rollout-watch']);
    expect(
      planWorker(appWith(), { without: ['status'] }).find(
        (c) => c.capability === 'status',
      ),
    ).toMatchObject({ on: false, reason: 'not selected' });
  });

  it('refuses to start a capability --only names that is not configured', () => {
    expect(() => planWorker(appWith(), { only: ['reporting'] })).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        details: expect.objectContaining({
          field: 'TENANTGATE_F2_URL',
          capability: 'reporting',
        }),
      }),
    );
  });

  it('refuses unknown capability names and a selection of nothing', () => {
    expect(() => parseCapabilities('fiscal,mail', 'only')).toThrow(
      expect.objectContaining({
        code: 'INVALID_INPUT',
        details: expect.objectContaining({ field: 'only', unknown: ['mail'] }),
      }),
    );
    expect(() =>
      planWorker(appWith(), { without: [...WORKER_CAPABILITIES] }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });

  it('refuses a worker cron that is not five cron fields', () => {
    expect(() =>
      loadSettings({ TENANTGATE_RECONCILE_CRON: 'every 5 minutes' }),
    ).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        details: expect.objectContaining({
          field: 'TENANTGATE_RECONCILE_CRON',
        }),
      }),
    );
  });

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
      platformJobs(appWith(env)).map((j) => `${j.queue} ${j.cron}`);

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

/**
 * The whole worker over loopback simulators: ePoslovanje for inboxes,
 * sends and statuses, Fiskalizacija 2.0 for reports. PostgreSQL: its
 * own pg-boss on DATABASE_URL, as `tenantgate worker` runs. PGlite: the
 * embedded database with pg-boss through `pgBossDb` in the process.
 */
const backends: BackendName[] = url ? ['pglite', 'postgres'] : ['pglite'];
describe.each(backends)(
  'tenantgate worker runs every capability [%s]',
  (backend) => {
    const logs = new CapturedLogs();
    let eposlovanje: EposlovanjeSimulator;
    let f2: Fiskalizacija2Simulator;
    let app: TenantGate;
    let worker: WorkerProcess;
    let drop: (() => Promise<void>) | undefined;

    async function databaseSettings(): Promise<Record<string, string>> {
      const opened = await appDatabaseSettings(backend);
      drop = opened.drop;
      return opened.settings;
    }

    beforeAll(async () => {
      eposlovanje = await startEposlovanjeSimulator();
      f2 = await startFiskalizacija2Simulator();
      const masterKey = randomBytes(32).toString('base64');
      registerSecret('worker test master key', masterKey);
      app = await openTenantGate(
        loadSettings({
          ...(await databaseSettings()),
          TENANTGATE_VAULT_KEYS: `v1:${masterKey}`,
          TENANTGATE_HEARTBEAT_MS: '500',
          TENANTGATE_F2_URL: f2.url,
          TENANTGATE_F2_CA_FILE: `${CERTS_DIR}/demo-ca.crt`,
          TENANTGATE_RECONCILE_CRON: '*/7 * * * *',
          TENANTGATE_STATUS_CRON: '3,33 * * * *',
        }),
        {
          logger: createLogger('info', logs.stream),
          register: 'worker',
          migrate: backend === 'pglite',
          endpoints: { EINVOICE_EPOSLOVANJE: eposlovanje.url },
        },
      );
      worker = await startWorkerProcess(app, {
        pollingIntervalSeconds: 0.5,
        boss:
          backend === 'pglite'
            ? new PgBoss({ db: pgBossDb(app.db) })
            : undefined,
      });
    }, 120_000);

    // pg-boss stops before the app closes its database, and both before
    // the test database is dropped.
    afterAll(async () => {
      await worker?.stop();
      await app?.close();
      await drop?.();
      await eposlovanje?.close();
      await f2?.close();
    });

    /** A company with e-invoicing through an ePoslovanje account. */
    async function eposlovanjeCompany() {
      const company = await app.companies.create({
        name: 'Inbox d.o.o.',
        oib: randomOib(),
        eInvoicingEnabled: true,
        eInvoiceKind: 'EINVOICE_EPOSLOVANJE',
      });
      const apiKey = newApiKey('worker');
      registerSecret('worker test ePoslovanje key', apiKey);
      await app.accounts.create({
        companyId: company.id,
        kind: 'EINVOICE_EPOSLOVANJE',
        environment: 'TEST',
        secret: apiKey,
      });
      eposlovanje.registerKey(apiKey, company.oib);
      return company;
    }

    async function einvoices(companyId: string, direction: string) {
      return app.db.transaction(operator, (tx) =>
        tx.query<{ number: string; status: string; providerRef: string }>(
          `SELECT number, status, "providerRef" FROM "EInvoice"
          WHERE "companyId" = $1 AND direction = $2 ORDER BY number`,
          [companyId, direction],
        ),
      );
    }

    function send(company: { id: string; oib: string }) {
      return app.outbound.send({
        companyId: company.id,
        ublXml: sampleUbl('eRacun_PDV25.xml', company.oib),
      });
    }

    it('schedules every capability configured, on the crons of its settings', async () => {
      const schedules = await worker.boss.getSchedules();

      expect(
        schedules.map((s) => [s.name, s.cron, s.options?.tz]).sort(),
      ).toEqual(
        [
          [DAILY_CHECKS_QUEUE, '15 3 * * *'],
          [INBOUND_SCHEDULE_QUEUE, '*/5 * * * *'],
          [RECONCILE_QUEUE, '*/7 * * * *'],
          [REPORTING_SWEEP_QUEUE, '*/5 * * * *'],
          [STATUS_QUEUE, '3,33 * * * *'],
          [LEDGER_QUEUE, '5 * * * *'],
        ]
          .map(([name, cron]) => [name, cron, 'Europe/Zagreb'])
          .sort(),
      );
      expect(worker.fiscal).toBe(false);
      const started = logs.withEvent('worker.started');
      expect(started).toHaveLength(1);
      expect(started[0]).toMatchObject({
        capabilities: [
          'inbound',
          'reporting',
          'reconcile',
          'status',
          'checks',
          'ledger',
          'rollout-watch',
        ],
        queues: [INBOUND_QUEUE, REPORTING_QUEUE],
        loops: ['rollout-watch every 1000 ms'],
      });
      expect(
        logs
          .withEvent('worker.capability_off')
          .map((l) => [l.capability, l.reason]),
      ).toEqual([
        ['fiscal', 'TENANTGATE_CIS_URL not set'],
        ['probe', 'TENANTGATE_PROBE_*_COMPANY not set'],
      ]);
    });

    it('polls each inbox through the gate and stores what arrives', async () => {
      const company = await eposlovanjeCompany();
      for (const number of ['IN-1', 'IN-2']) {
        eposlovanje.injectIncoming({
          receiverOib: company.oib,
          xml: sampleFor('eRacun_PDV25.xml', randomOib()).replace(
            '<cbc:ID>1-P1-1</cbc:ID>',
            `<cbc:ID>${number}</cbc:ID>`,
          ),
        });
      }

      await worker.boss.send(INBOUND_SCHEDULE_QUEUE, {});
      const stored = await until(
        () => einvoices(company.id, 'INBOUND'),
        (rows) => rows.length === 2,
      );

      expect(stored.map((r) => r.number)).toEqual(['IN-1', 'IN-2']);
      const events = await app.db.transaction(operator, (tx) =>
        tx.query<{ origin: string; outcome: string }>(
          `SELECT origin, outcome FROM "OperationEvent"
          WHERE "companyId" = $1 AND operation = 'EINVOICE_RECEIVE'`,
          [company.id],
        ),
      );
      expect(events.length).toBeGreaterThan(0);
      expect(events.every((e) => e.origin === 'worker')).toBe(true);
    });

    it('reports an issued e-invoice due to the Fiskalizacija 2.0 service', async () => {
      const company = await app.companies.create({
        name: 'Alpha d.o.o.',
        oib: P12.a.oib,
        eInvoicingEnabled: true,
        eInvoiceKind: 'EINVOICE_EPOSLOVANJE',
      });
      await app.accounts.createCertificateAccount({
        companyId: company.id,
        environment: 'TEST',
        p12: certFile(P12.a.file),
        password: P12.a.password,
      });
      const number = `R-${randomUUID().slice(0, 8)}`;
      const einvoiceId = await insertEInvoice(app.db, {
        companyId: company.id,
        number,
        issueDate: '2026-12-01',
        sellerOib: P12.a.oib,
        ublXml: sampleUbl('eRacun_PDV25.xml', P12.a.oib).replace(
          '<cbc:ID>1-P1-1</cbc:ID>',
          `<cbc:ID>${number}</cbc:ID>`,
        ),
      });

      await worker.boss.send(REPORTING_SWEEP_QUEUE, {});
      const reports = await until(
        () => reportsOf(app.db, company.id),
        (rows) => rows.some((r) => r.status === 'REPORTED'),
      );

      expect(reports).toEqual([
        { einvoiceId, kind: 'EINVOICE', status: 'REPORTED' },
      ]);
      expect(
        f2.received.filter(
          (r) => r.accepted && r.signerOibs.includes(P12.a.oib),
        ),
      ).toHaveLength(1);
    });

    it('reconciles a send of unknown outcome from the intermediary’s listing', async () => {
      const company = await eposlovanjeCompany();
      // On the send only: the worker polls the simulator meanwhile.
      eposlovanje.injectFault({ kind: 'drop-reply', route: 'send' });
      await expect(send(company)).rejects.toMatchObject({
        code: 'SEND_OUTCOME_UNKNOWN',
      });

      await worker.boss.send(RECONCILE_QUEUE, {});
      const [row] = await until(
        () => einvoices(company.id, 'OUTBOUND'),
        (rows) => rows[0]?.status === 'SENT',
      );

      const delivered = eposlovanje
        .documents()
        .filter((d) => d.oib === company.oib);
      expect(delivered).toHaveLength(1);
      expect(row).toMatchObject({
        status: 'SENT',
        providerRef: delivered[0]?.id,
      });
    });

    it('moves what it sent forward from the intermediary’s status', async () => {
      const company = await eposlovanjeCompany();
      const sent = await send(company);
      eposlovanje.setStatus(String(sent.invoice.providerRef), 'ACCEPTED');

      await worker.boss.send(STATUS_QUEUE, {});
      const [row] = await until(
        () => einvoices(company.id, 'OUTBOUND'),
        (rows) => rows[0]?.status === 'ACCEPTED',
      );

      expect(row?.status).toBe('ACCEPTED');
    });

    it('stores both daily check runs when the job runs', async () => {
      await worker.boss.send(DAILY_CHECKS_QUEUE, {});

      const runs = await until(
        () => latestCheckRuns(app.db),
        (r) => r.length === 2,
      );

      expect(runs.map((r) => r.check).sort()).toEqual(['audit', 'invariants']);
    });

    it('rolls the ledger up to the last complete hour when its job runs', async () => {
      // Not an event in a past hour: the hourly cron may have rolled
      // that hour up already, and rollups never go back.
      const sentAt = Date.now();

      const jobId = await worker.boss.send(LEDGER_QUEUE, {});
      const done = await until(
        async () => logs.withEvent('job.done').filter((l) => l.jobId === jobId),
        (lines) => lines.length === 1,
      );

      expect(done).toHaveLength(1);
      const [state] = await app.db.transaction(operator, (tx) =>
        tx.query<{ rolledUpTo: Date | string }>(
          'SELECT "rolledUpTo" FROM "OperationEventRollupState"',
        ),
      );
      const lastComplete =
        Math.floor((sentAt - 5 * 60_000) / 3_600_000) * 3_600_000;
      expect(new Date(state?.rolledUpTo ?? 0).getTime()).toBeGreaterThanOrEqual(
        lastComplete,
      );
    });

    it('is in the registry as a live worker while it runs', async () => {
      const rows = await new WorkerRegistry(app.db).list(
        'staging',
        new Date(),
        1_500,
      );

      expect(rows.filter((w) => w.live).map((w) => w.role)).toEqual(['worker']);
    });
  },
);

async function reportsOf(db: Database, companyId: string) {
  return db.transaction(operator, (tx) =>
    tx.query<{ einvoiceId: string; kind: string; status: string }>(
      `SELECT "einvoiceId", kind, status FROM "EInvoiceReport"
        WHERE "companyId" = $1 ORDER BY "createdAt", id`,
      [companyId],
    ),
  );
}

/**
 * `tenantgate worker` as an operator runs it: a child process that
 * prints what it runs and stops cleanly on SIGTERM.
 */
(url ? describe : describe.skip)('tenantgate worker command [postgres]', () => {
  let opened: Awaited<ReturnType<typeof openTestPostgres>>;
  let databaseUrl = '';

  beforeAll(async () => {
    opened = await openTestPostgres();
    databaseUrl = String(opened.db.pool.options.connectionString);
  });

  afterAll(async () => {
    await opened?.drop();
  });

  it('prints what it runs, logs reporting off once, and stops on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'worker',
        '--without',
        'inbound,status',
      ],
      {
        env: {
          PATH: process.env.PATH,
          DATABASE_URL: databaseUrl,
          TENANTGATE_VAULT_KEYS: `v1:${randomBytes(32).toString('base64')}`,
          LOG_LEVEL: 'info',
        },
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += String(c)));
    child.stderr.on('data', (c: Buffer) => (err += String(c)));
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );

    const deadline = Date.now() + 60_000;
    while (!out.includes('worker: running') && Date.now() < deadline) {
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGTERM');
    const code = await exited;

    expect(code).toBe(0);
    const lines = out.split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        'worker: fiscal        off TENANTGATE_CIS_URL not set',
        'worker: inbound       off not selected',
        'worker: reporting     off TENANTGATE_F2_URL not set',
        `worker: reconcile     on  ${RECONCILE_QUEUE} */5 * * * *`,
        'worker: status        off not selected',
        'worker: rollout-watch on  rollout-watch every 1000 ms',
        'worker: running, crons in Europe/Zagreb (Ctrl-C or SIGTERM stops it)',
        'worker: stopped',
      ]),
    );
    const logged = err
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(
      logged.filter(
        (l) =>
          l.event === 'worker.capability_off' && l.capability === 'reporting',
      ),
    ).toHaveLength(1);
    const [registered] = await new WorkerRegistry(opened.db).list(
      'staging',
      new Date(),
      60_000,
    );
    expect(registered).toMatchObject({ role: 'worker', live: false });
    expect(registered?.stoppedAt).toBeInstanceOf(Date);
  }, 90_000);
});
