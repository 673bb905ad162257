import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import PgBoss from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operator, type Database } from '../../src/db/database.js';
import { createLogger } from '../../src/logging/logger.js';
import { ReportingClient } from '../../src/reporting/client.js';
import {
  createReportingQueue,
  enqueueDueCompanies,
  enqueueReporting,
  startReportingWorker,
} from '../../src/reporting/reporting-worker.js';
import {
  startFiskalizacija2Simulator,
  type Fiskalizacija2Simulator,
} from '../../src/sandbox/fiskalizacija2-simulator.js';
import { openTestPostgres } from '../support/databases.js';
import { withDatabase } from '../support/global-setup.js';
import { CapturedLogs } from '../support/platform.js';
import { CERTS_DIR, P12, certFile } from '../fiscal/support.js';
import {
  insertEInvoice,
  reportingPlatform,
  reportsOf,
  sampleUbl,
  type ReportingPlatform,
} from './reporting-support.js';

const CA = readFileSync(`${CERTS_DIR}/demo-ca.crt`);
const url = process.env.TEST_DATABASE_URL;
// pg-boss needs PostgreSQL; on PGlite the service's direct path
// (service.test.ts) is what runs.
const suite = url ? describe : describe.skip;

async function until<T>(
  check: () => Promise<T | undefined>,
  ms = 20_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

suite('reporting worker on pg-boss [postgres]', () => {
  const logs = new CapturedLogs();
  const logger = createLogger('debug', logs.stream);
  let db: Database;
  let drop: () => Promise<void>;
  let boss: PgBoss;
  let sim: Fiskalizacija2Simulator;
  let client: ReportingClient;
  let p: ReportingPlatform;
  let companyId = '';

  async function issued(): Promise<string> {
    const number = `W-${randomUUID().slice(0, 8)}`;
    return insertEInvoice(db, {
      companyId,
      number,
      issueDate: '2026-12-01',
      sellerOib: P12.a.oib,
      ublXml: sampleUbl('eRacun_PDV25.xml', P12.a.oib).replace(
        '<cbc:ID>1-P1-1</cbc:ID>',
        `<cbc:ID>${number}</cbc:ID>`,
      ),
    });
  }

  async function statusOf(einvoiceId: string) {
    const rows = await reportsOf(db, companyId);
    return rows.find((r) => r.einvoiceId === einvoiceId);
  }

  beforeAll(async () => {
    const opened = await openTestPostgres();
    db = opened.db;
    drop = opened.drop;
    const [name] = await db.transaction(operator, (tx) =>
      tx.query<{ db: string }>('SELECT current_database() AS db'),
    );
    boss = new PgBoss({
      connectionString: withDatabase(url as string, name?.db ?? ''),
      max: 4,
    });
    await boss.start();
    await createReportingQueue(boss, { retryLimit: 1, retryDelay: 1 });
    sim = await startFiskalizacija2Simulator();
    client = new ReportingClient({
      url: sim.url,
      ca: CA,
      retry: { attempts: 2, baseDelayMs: 5 },
    });
    p = reportingPlatform(db, logger);
    const company = await p.companies.create({
      name: 'Alpha d.o.o.',
      oib: P12.a.oib,
      eInvoicingEnabled: true,
      eInvoiceKind: 'EINVOICE_EPOSLOVANJE',
    });
    companyId = company.id;
    await p.accounts.createCertificateAccount({
      companyId,
      environment: 'TEST',
      p12: certFile(P12.a.file),
      password: P12.a.password,
    });
  }, 60_000);

  afterAll(async () => {
    await boss?.stop({ graceful: false, wait: true });
    client?.close();
    await sim?.close();
    await drop?.();
  });

  it('reports a company’s e-invoices when its job runs', async () => {
    const deps = { db, boss, reporting: p.reporting(client), logger };
    const stop = await startReportingWorker(deps, {
      pollingIntervalSeconds: 0.5,
      sweepCron: null,
    });
    try {
      const ids = [await issued(), await issued()];
      expect(await enqueueDueCompanies(deps)).toBe(1);

      const done = await until(async () => {
        const rows = await Promise.all(ids.map(statusOf));
        return rows.every((r) => r?.status === 'REPORTED') ? rows : undefined;
      });

      expect(done).toHaveLength(2);
      expect(
        sim.received.filter((r) => r.accepted && r.records === 2),
      ).toHaveLength(1);
    } finally {
      await stop();
    }
  }, 60_000);

  it('a job out of retries leaves its failed reports DEAD', async () => {
    const deps = { db, boss, reporting: p.reporting(client), logger };
    // Two runs (the first and one retry), two sends each.
    sim.inject(
      { kind: 'http-503' },
      { kind: 'http-503' },
      { kind: 'http-503' },
      { kind: 'http-503' },
    );
    const stop = await startReportingWorker(deps, {
      pollingIntervalSeconds: 0.5,
      sweepCron: null,
    });
    try {
      const id = await issued();
      await enqueueReporting(deps, companyId);

      const dead = await until(async () => {
        const row = await statusOf(id);
        return row?.status === 'DEAD' ? row : undefined;
      });

      expect(dead.attempts).toBe(2);
      expect(dead.lastError).toMatchObject({ code: 'COUNTERPART_UNAVAILABLE' });
      expect(dead.reportedAt).toBeNull();
    } finally {
      await stop();
    }
  }, 60_000);
});
