import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import PgBoss from 'pg-boss';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AccountService } from '../../src/accounts/account-service.js';
import { CompanyService } from '../../src/companies/company-service.js';
import {
  operator,
  owner,
  tenant,
  type Database,
} from '../../src/db/database.js';
import { EnforcementGate } from '../../src/enforcement/gate.js';
import { CisClient } from '../../src/fiscal/cis-client.js';
import {
  FiscalService,
  receiptNumber,
  type CisSender,
} from '../../src/fiscal/fiscal-service.js';
import {
  FISCAL_QUEUE,
  createFiscalQueue,
  enqueueReceipt,
  enqueueReceipts,
  requeueStrandedReceipts,
  startFiscalWorker,
} from '../../src/fiscal/fiscal-worker.js';
import {
  insertQueued,
  receiptFromStore,
  storedReceipt,
} from '../../src/fiscal/fiscal-store.js';
import { prepareReceipt } from '../../src/fiscal/receipt.js';
import type { FiscalRequestRow } from '../../src/fiscal/fiscal-store.js';
import { StaticFlagSource } from '../../src/flags/env-flags.js';
import { createLogger } from '../../src/logging/logger.js';
import {
  startCisSimulator,
  type CisSimulator,
} from '../../src/sandbox/cis-simulator.js';
import { parseKeyList } from '../../src/vault/key-ring.js';
import { Vault } from '../../src/vault/vault.js';
import { pgBossDb } from '../../src/fiscal/pg-boss-db.js';
import { describeEachDatabase } from '../support/databases.js';
import { withDatabase } from '../support/global-setup.js';
import { CapturedLogs } from '../support/platform.js';
import { CERTS_DIR, P12, certFile, receiptOf } from './support.js';

const CA = readFileSync(`${CERTS_DIR}/demo-ca.crt`);

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

/**
 * PostgreSQL: pg-boss with its own pool, as deployed. PGlite: pg-boss
 * through `pgBossDb`, on the same single connection as the service.
 */
describeEachDatabase(
  'fiscal worker on pg-boss',
  ({ db: database, backend }) => {
    const logs = new CapturedLogs();
    let db: Database;
    let boss: PgBoss;
    let sim: CisSimulator;
    let client: CisClient;
    let gate: EnforcementGate;
    let companyId = '';
    const logger = createLogger('debug', logs.stream);

    function serviceWith(cis: CisSender) {
      return new FiscalService({
        db,
        gate,
        logger,
        cis: () => cis,
        accountEnvironment: 'TEST',
        backoffMs: 5,
      });
    }

    async function rowsOf(ids: string[]) {
      return db.transaction(operator, (tx) =>
        tx.query<FiscalRequestRow>(
          `SELECT * FROM "FiscalRequest" WHERE id = ANY($1::text[])`,
          [ids],
        ),
      );
    }

    /** What enqueueReceipt commits before it queues the job. */
    async function storeQueued(number: string): Promise<string> {
      const receipt = prepareReceipt(receiptOf({ number }));
      const id = `fr_${randomUUID()}`;
      await db.transaction(tenant(companyId), (tx) =>
        insertQueued(tx, {
          id,
          companyId,
          invoiceNumber: receiptNumber(receipt),
          issuedAt: receipt.issuedAt,
          receipt: storedReceipt(receipt),
        }),
      );
      return id;
    }

    /** Moves a row's last change `minutes` back (and drops any lease). */
    async function age(id: string, minutes: number) {
      await db.transaction(owner, (tx) =>
        tx.query(
          `UPDATE "FiscalRequest"
              SET "updatedAt" = now() - make_interval(mins => $2),
                  "leaseUntil" = NULL
            WHERE id = $1`,
          [id, minutes],
        ),
      );
    }

    /** pg-boss jobs of the queue for a row, by state (archive included). */
    async function jobsOf(id: string): Promise<string[]> {
      const rows = await db.transaction(owner, (tx) =>
        tx.query<{ state: string }>(
          `SELECT state::text AS state FROM pgboss.job
            WHERE name = $1 AND singleton_key = $2
           UNION ALL
           SELECT state::text FROM pgboss.archive
            WHERE name = $1 AND singleton_key = $2`,
          [FISCAL_QUEUE, id],
        ),
      );
      return rows.map((r) => r.state).sort();
    }

    beforeAll(async () => {
      db = database();
      if (backend === 'postgres') {
        const [name] = await db.transaction(operator, (tx) =>
          tx.query<{ db: string }>('SELECT current_database() AS db'),
        );
        boss = new PgBoss({
          connectionString: withDatabase(
            process.env.TEST_DATABASE_URL as string,
            name?.db ?? '',
          ),
          max: 4,
        });
      } else {
        boss = new PgBoss({ db: pgBossDb(db) });
      }
      await boss.start();
      await createFiscalQueue(boss, { retryLimit: 1, retryDelay: 1 });
      sim = await startCisSimulator();
      client = new CisClient({ url: sim.url, ca: CA });
      const vault = new Vault(
        parseKeyList(`v1:${randomBytes(32).toString('base64')}`),
      );
      gate = new EnforcementGate({
        db,
        vault,
        flags: new StaticFlagSource(),
        logger,
        deploymentEnvironment: 'staging',
        accountEnvironment: 'TEST',
      });
      const company = await new CompanyService({ db, vault, logger }).create({
        name: 'Alpha',
        oib: P12.a.oib,
        fiscalizationEnabled: true,
      });
      companyId = company.id;
      await new AccountService({
        db,
        vault,
        logger,
      }).createCertificateAccount({
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
    });

    it('moves queued receipts to SUCCESS with a JIR each', async () => {
      const deps = { db, boss, fiscal: serviceWith(client), logger };
      const stop = await startFiscalWorker(deps, {
        concurrency: 2,
        pollingIntervalSeconds: 0.5,
      });
      try {
        const ids: string[] = [];
        for (const n of ['201', '202', '203']) {
          ids.push(
            await enqueueReceipt(deps, companyId, receiptOf({ number: n })),
          );
        }
        const queued = await rowsOf(ids);
        expect(queued).toHaveLength(3);

        const done = await until(async () => {
          const rows = await rowsOf(ids);
          return rows.every((r) => r.status === 'SUCCESS') ? rows : undefined;
        });
        expect(new Set(done.map((r) => r.jir)).size).toBe(3);
        expect(done.every((r) => r.zki?.length === 32)).toBe(true);
      } finally {
        await stop();
      }
    }, 60_000);

    it('a backlog queued in one call reaches SUCCESS, one JIR each', async () => {
      const deps = { db, boss, fiscal: serviceWith(client), logger };
      const numbers = Array.from({ length: 12 }, (_, i) => String(501 + i));
      const ids = await enqueueReceipts(
        deps,
        companyId,
        numbers.map((number) => receiptOf({ number })),
      );
      const queued = await rowsOf(ids);
      expect(queued.map((r) => r.status)).toEqual(numbers.map(() => 'QUEUED'));

      const stop = await startFiscalWorker(deps, {
        concurrency: 2,
        batchSize: 4,
      });
      try {
        const done = await until(async () => {
          const rows = await rowsOf(ids);
          return rows.every((r) => r.status === 'SUCCESS') ? rows : undefined;
        });
        expect(new Set(done.map((r) => r.jir)).size).toBe(12);
        expect(done.map((r) => r.invoiceNumber).sort()).toEqual(
          numbers.map((n) => `${n}/POSL1/2`).sort(),
        );
      } finally {
        await stop();
      }
    }, 60_000);

    it('a backlog with one bad receipt queues nothing, naming the field', async () => {
      const deps = { db, boss, fiscal: serviceWith(client), logger };
      const before = await db.transaction(operator, (tx) =>
        tx.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM "FiscalRequest"',
        ),
      );
      await expect(
        enqueueReceipts(deps, companyId, [
          receiptOf({ number: '601' }),
          receiptOf({ number: '602', total: '1234,50' }),
        ]),
      ).rejects.toMatchObject({
        code: 'INVALID_INPUT',
        details: { field: 'total' },
      });
      const after = await db.transaction(operator, (tx) =>
        tx.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM "FiscalRequest"',
        ),
      );
      expect(after[0]?.n).toBe(before[0]?.n);
    });

    it('a job out of retries leaves its row DEAD with a deadline', async () => {
      const deps = { db, boss, fiscal: serviceWith(client), logger };
      // Two runs (the first and one retry), three sends each.
      for (let i = 0; i < 6; i++) sim.inject({ kind: 'http-503' });
      const stop = await startFiscalWorker(deps, { concurrency: 1 });
      try {
        const id = await enqueueReceipt(
          deps,
          companyId,
          receiptOf({ number: '401' }),
        );
        const dead = await until(async () => {
          const [row] = await rowsOf([id]);
          return row?.status === 'DEAD' ? row : undefined;
        });
        expect(dead.jir).toBeNull();
        expect(dead.attempts).toBe(6);
        expect(dead.deliverBy).toBeInstanceOf(Date);
      } finally {
        await stop();
      }
    }, 60_000);

    it('a crashed worker’s request is sent again late, one JIR kept', async () => {
      const deps = { db, boss, fiscal: serviceWith(client), logger };
      const id = await enqueueReceipt(
        deps,
        companyId,
        receiptOf({ number: '301' }),
      );
      // The first worker gets its request to CIS, then dies before it can
      // record the reply: its promise never settles.
      const crashing: CisSender = {
        fiscalize: async (xml) => {
          await client.fiscalize(xml);
          return new Promise(() => undefined);
        },
      };
      const [row] = await rowsOf([id]);
      const before = sim.received.length;
      void serviceWith(crashing).fiscalizePrepared(
        { companyId, origin: 'worker' },
        receiptFromStore(
          row?.receipt as NonNullable<FiscalRequestRow['receipt']>,
        ),
        id,
      );
      const first = await until(async () => {
        const seen = sim.received[before];
        return seen?.jir ? seen : undefined;
      });
      const [processing] = await rowsOf([id]);
      expect(processing?.status).toBe('PROCESSING');

      const result = await serviceWith(client).fiscalizePrepared(
        { companyId, origin: 'worker' },
        receiptFromStore(
          processing?.receipt as NonNullable<FiscalRequestRow['receipt']>,
        ),
        id,
      );

      const sends = sim.received.filter((r) => r.zki === first.zki);
      expect(sends.map((s) => s.lateDelivery)).toEqual([false, true]);
      expect(result.lateDelivery).toBe(true);
      const rows = await db.transaction(operator, (tx) =>
        tx.query<FiscalRequestRow>(
          'SELECT * FROM "FiscalRequest" WHERE zki = $1',
          [first.zki],
        ),
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ status: 'SUCCESS', jir: sends[1]?.jir });
    }, 60_000);

    it('a receipt stranded QUEUED without a job is requeued once and fiscalized', async () => {
      const deps = { db, boss, fiscal: serviceWith(client), logger };
      // The process died after the row's commit, before its job.
      const stranded = await storeQueued('701');
      const young = await storeQueued('702');
      await age(stranded, 10);
      expect(await jobsOf(stranded)).toEqual([]);
      logs.clear();

      expect(await requeueStrandedReceipts(deps)).toBe(1);
      expect(await jobsOf(stranded)).toEqual(['created']);
      // Younger than the threshold (300 s): the enqueue may still be
      // about to insert its job.
      expect(await jobsOf(young)).toEqual([]);
      expect(logs.withEvent('fiscal.requeued')).toEqual([
        expect.objectContaining({
          requestId: stranded,
          companyId,
          status: 'QUEUED',
        }),
      ]);

      // Again: the lease holds it. Without the lease: its job is live.
      expect(await requeueStrandedReceipts(deps)).toBe(0);
      await age(stranded, 10);
      expect(await requeueStrandedReceipts(deps)).toBe(0);
      expect(await jobsOf(stranded)).toEqual(['created']);

      const before = sim.received.length;
      const stop = await startFiscalWorker(deps, { concurrency: 1 });
      try {
        const [done] = await until(async () => {
          const rows = await rowsOf([stranded]);
          return rows[0]?.status === 'SUCCESS' ? rows : undefined;
        });
        const sends = sim.received
          .slice(before)
          .filter((r) => r.zki === done?.zki);
        expect(sends).toHaveLength(1);
        expect(done?.jir).toBe(sends[0]?.jir);
        expect(done?.lateDelivery).toBe(false);
      } finally {
        await stop();
      }
      expect(await jobsOf(stranded)).toEqual(['completed']);
      const [left] = await rowsOf([young]);
      expect(left?.status).toBe('QUEUED');

      // Done: an old SUCCESS row is not queued again.
      await age(stranded, 10);
      expect(await requeueStrandedReceipts(deps)).toBe(0);
      expect(await jobsOf(stranded)).toEqual(['completed']);
      await db.transaction(owner, (tx) =>
        tx.query('DELETE FROM "FiscalRequest" WHERE id = $1', [young]),
      );
    }, 60_000);

    it('a claimed row whose job is gone is sent again late; a direct one is left to its caller', async () => {
      const deps = { db, boss, fiscal: serviceWith(client), logger };
      const id = await enqueueReceipt(
        deps,
        companyId,
        receiptOf({ number: '711' }),
      );
      // A worker claims it and reaches CIS, then dies; its job is gone
      // (cancelled here) before anyone runs it again.
      const crashing: CisSender = {
        fiscalize: async (xml) => {
          await client.fiscalize(xml);
          return new Promise(() => undefined);
        },
      };
      const [row] = await rowsOf([id]);
      const before = sim.received.length;
      void serviceWith(crashing).fiscalizePrepared(
        { companyId, origin: 'worker' },
        receiptFromStore(
          row?.receipt as NonNullable<FiscalRequestRow['receipt']>,
        ),
        id,
      );
      const first = await until(async () => {
        const seen = sim.received[before];
        return seen?.jir ? seen : undefined;
      });
      const [job] = await db.transaction(owner, (tx) =>
        tx.query<{ id: string }>(
          'SELECT id FROM pgboss.job WHERE name = $1 AND singleton_key = $2',
          [FISCAL_QUEUE, id],
        ),
      );
      await boss.cancel(FISCAL_QUEUE, job?.id as string);

      // A direct submission that died mid-send: PROCESSING, never queued.
      const direct = serviceWith(crashing);
      const sent = sim.received.length;
      void direct.fiscalize({
        companyId,
        origin: 'user',
        receipt: receiptOf({ number: '712' }),
      });
      const directSend = await until(async () => {
        const seen = sim.received[sent];
        return seen?.jir ? seen : undefined;
      });
      const [directRow] = await db.transaction(owner, (tx) =>
        tx.query<FiscalRequestRow>(
          'SELECT * FROM "FiscalRequest" WHERE zki = $1',
          [directSend.zki],
        ),
      );
      expect(directRow?.status).toBe('PROCESSING');
      expect((await rowsOf([id]))[0]?.status).toBe('PROCESSING');
      await age(id, 10);
      await age(directRow?.id as string, 10);
      logs.clear();

      expect(await requeueStrandedReceipts(deps)).toBe(1);
      expect(logs.withEvent('fiscal.requeued')).toEqual([
        expect.objectContaining({ requestId: id, status: 'PROCESSING' }),
      ]);
      expect(await jobsOf(id)).toEqual(['cancelled', 'created']);
      expect(await jobsOf(directRow?.id as string)).toEqual([]);

      const stop = await startFiscalWorker(deps, { concurrency: 1 });
      try {
        const [done] = await until(async () => {
          const rows = await rowsOf([id]);
          return rows[0]?.status === 'SUCCESS' ? rows : undefined;
        });
        const sends = sim.received.filter((r) => r.zki === first.zki);
        expect(sends.map((s) => s.lateDelivery)).toEqual([false, true]);
        expect(done?.jir).toBe(sends[1]?.jir);
      } finally {
        await stop();
      }
      expect(await jobsOf(id)).toEqual(['cancelled', 'completed']);
      expect(await requeueStrandedReceipts(deps)).toBe(0);
      const [still] = await rowsOf([directRow?.id as string]);
      expect(still?.status).toBe('PROCESSING');
      expect(sim.received.filter((r) => r.zki === directSend.zki)).toHaveLength(
        1,
      );
    }, 60_000);
  },
);
