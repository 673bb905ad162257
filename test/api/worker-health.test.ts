import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService } from '../../src/api/api-keys.js';
import { startHealthServer, type HealthServer } from '../../src/api/health.js';
import { startApi } from '../../src/api/server.js';
import { openTenantGate, type TenantGate } from '../../src/app.js';
import { loadSettings } from '../../src/config/settings.js';
import { operator, type Database } from '../../src/db/database.js';
import { CisClient } from '../../src/fiscal/cis-client.js';
import { FiscalService } from '../../src/fiscal/fiscal-service.js';
import {
  enqueueReceipt,
  FISCAL_QUEUE,
} from '../../src/fiscal/fiscal-worker.js';
import { createLogger } from '../../src/logging/logger.js';
import {
  startCisSimulator,
  type CisSimulator,
} from '../../src/sandbox/cis-simulator.js';
import {
  startWorkerProcess,
  type WorkerProcess,
} from '../../src/workers/worker-process.js';
import { openTestPostgres } from '../support/databases.js';
import { withDatabase } from '../support/global-setup.js';
import { CERTS_DIR, P12, certFile, receiptOf } from '../fiscal/support.js';
import { call } from './api-fixture.js';

const url = process.env.TEST_DATABASE_URL;
const suite = url ? describe : describe.skip;

async function until<T>(check: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + 30_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

suite('worker process health and graceful shutdown [postgres]', () => {
  let testDb: { db: Database; drop: () => Promise<void> };
  let sim: CisSimulator;
  let app: TenantGate;
  let worker: WorkerProcess;
  let health: HealthServer;
  let companyId = '';

  beforeAll(async () => {
    testDb = await openTestPostgres();
    const [row] = await testDb.db.transaction(operator, (tx) =>
      tx.query<{ name: string }>('SELECT current_database() AS name'),
    );
    sim = await startCisSimulator();
    const settings = loadSettings({
      DATABASE_URL: withDatabase(url as string, row?.name ?? ''),
      TENANTGATE_VAULT_KEYS: `v1:${randomBytes(32).toString('base64')}`,
      TENANTGATE_CIS_URL: sim.url,
      TENANTGATE_CIS_CA_FILE: `${CERTS_DIR}/demo-ca.crt`,
    });
    app = await openTenantGate(settings, { logger: createLogger('silent') });
    const company = await app.companies.create({
      name: 'Alpha d.o.o.',
      oib: P12.a.oib,
      fiscalizationEnabled: true,
    });
    companyId = company.id;
    await app.accounts.createCertificateAccount({
      companyId,
      environment: 'TEST',
      p12: certFile(P12.a.file),
      password: P12.a.password,
    });
    worker = await startWorkerProcess(app, { pollingIntervalSeconds: 0.5 });
    health = await startHealthServer({
      db: app.db,
      logger: app.logger,
      checks: {
        queue: async () => {
          if (!(await worker.boss.getQueue(FISCAL_QUEUE))) {
            throw new Error('no fiscal queue');
          }
        },
      },
    });
  }, 60_000);

  afterAll(async () => {
    await health?.close();
    // The last test stops the worker; stopping again is a no-op, and
    // stops it when that test did not get there.
    await worker?.stop();
    await app?.close();
    await sim?.close();
    await testDb?.drop();
  });

  async function statusOf(id: string) {
    const [row] = await app.db.transaction(operator, (tx) =>
      tx.query<{ status: string; jir: string | null }>(
        'SELECT status, jir FROM "FiscalRequest" WHERE id = $1',
        [id],
      ),
    );
    return row;
  }

  it('is ready while the database and the queue answer', async () => {
    expect((await call(health.url, 'GET', '/healthz')).body).toEqual({
      status: 'ok',
    });
    const ready = await call(health.url, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({
      status: 'ready',
      checks: { database: 'ok', queue: 'ok' },
    });
  });

  it('serves fiscalization from the settings: direct, and queued for the worker', async () => {
    const api = await startApi(app, { port: 0 });
    try {
      const ready = await call(api.url, 'GET', '/readyz');
      expect(ready.body.checks).toEqual({
        database: 'ok',
        'fiscal-queue': 'ok',
      });
      const { token } = await new ApiKeyService({
        db: app.db,
        logger: app.logger,
      }).create({ kind: 'tenant', companyId });
      const receipt = (number: string) => {
        const r = receiptOf({ number });
        return { ...r, issuedAt: r.issuedAt.toISOString() };
      };

      const direct = await call(api.url, 'POST', '/v1/fiscal/receipts', {
        token,
        body: { receipt: receipt('801') },
      });
      expect(direct.status).toBe(201);
      expect(direct.body.path).toBe('V2');

      const queued = await call(api.url, 'POST', '/v1/fiscal/receipts', {
        token,
        body: { receipt: receipt('802'), mode: 'queued' },
      });
      expect(queued.status).toBe(202);
      const done = await until(async () => {
        const s = await call(
          api.url,
          'GET',
          `/v1/fiscal/receipts/${queued.body.requestId}`,
          { token },
        );
        return s.body.status === 'SUCCESS' ? s.body : undefined;
      });
      expect(done.jir).toEqual(expect.any(String));
    } finally {
      await api.close();
    }
  }, 60_000);

  it('drains on shutdown and finishes the job in flight: one JIR, SUCCESS', async () => {
    const client = new CisClient({ url: sim.url });
    const deps = {
      db: app.db,
      boss: worker.boss,
      fiscal: new FiscalService({
        db: app.db,
        gate: app.gate,
        logger: app.logger,
        cis: () => client,
        accountEnvironment: 'TEST',
      }),
      logger: app.logger,
    };
    const before = sim.received.length;
    sim.inject({ kind: 'latency', ms: 1_500 });
    const id = await enqueueReceipt(
      deps,
      companyId,
      receiptOf({ number: '901' }),
    );
    await until(async () =>
      (await statusOf(id))?.status === 'PROCESSING' ? true : undefined,
    );

    health.drain();
    const draining = await call(health.url, 'GET', '/readyz');
    expect(draining.status).toBe(503);
    expect(draining.body.checks).toMatchObject({ process: 'draining' });
    await worker.stop();

    const done = await statusOf(id);
    expect(done).toEqual({ status: 'SUCCESS', jir: expect.any(String) });
    const sent = sim.received.slice(before).filter((r) => r.jir !== null);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.jir).toBe(done?.jir);

    const stopped = await call(health.url, 'GET', '/readyz');
    expect(stopped.body.checks.queue).toBe('failed');
    client.close();
  }, 60_000);
});
