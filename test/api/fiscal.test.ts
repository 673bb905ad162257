import { readFileSync } from 'node:fs';
import PgBoss from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FiscalWiring } from '../../src/api/context.js';
import { operator } from '../../src/db/database.js';
import { CisClient } from '../../src/fiscal/cis-client.js';
import { FiscalService } from '../../src/fiscal/fiscal-service.js';
import {
  createFiscalQueue,
  startFiscalWorker,
} from '../../src/fiscal/fiscal-worker.js';
import {
  startCisSimulator,
  type CisSimulator,
} from '../../src/sandbox/cis-simulator.js';
import { describeEachDatabase } from '../support/databases.js';
import { withDatabase } from '../support/global-setup.js';
import { companyWithNothing, type Platform } from '../support/platform.js';
import { CERTS_DIR, P12, certFile, receiptOf } from '../fiscal/support.js';
import { expectProblem, useApi, type ApiHarness } from './api-fixture.js';

/** A receipt of the certificate's company, JSON as a client sends it. */
function receiptJson(number: string, overrides: Record<string, unknown> = {}) {
  const receipt = receiptOf({ number });
  return {
    ...receipt,
    issuedAt: receipt.issuedAt.toISOString(),
    ...overrides,
  };
}

/** Alpha: the company of `tenant-a.p12`, with its CIS account. */
async function alphaWithCertificate(p: Platform) {
  const company = await p.companies.create({
    name: 'Alpha d.o.o.',
    oib: P12.a.oib,
    fiscalizationEnabled: true,
  });
  const account = await p.accounts.createCertificateAccount({
    companyId: company.id,
    environment: 'TEST',
    p12: certFile(P12.a.file),
    password: P12.a.password,
  });
  return { company, account };
}

describeEachDatabase('HTTP API: fiscalization', ({ db, backend }) => {
  let sim: CisSimulator;
  let client: CisClient;
  const wiring: { current?: FiscalWiring } = {};
  const h = useApi(db, {}, (p) => {
    wiring.current = {
      service: new FiscalService({
        db: p.db,
        gate: p.gate,
        logger: p.logger,
        cis: () => client,
        accountEnvironment: 'TEST',
        backoffMs: 5,
      }),
    };
    return { fiscal: wiring.current };
  });
  let alpha: Awaited<ReturnType<typeof alphaWithCertificate>>;
  let alphaToken = '';

  beforeAll(async () => {
    sim = await startCisSimulator();
    client = new CisClient({
      url: sim.url,
      ca: readFileSync(`${CERTS_DIR}/demo-ca.crt`),
    });
    alpha = await alphaWithCertificate(h().platform);
    alphaToken = (await h().tenantKey(alpha.company.id)).token;
  });
  afterAll(async () => {
    client?.close();
    await sim?.close();
  });

  const submit = (
    token: string | null,
    body: unknown,
    headers?: Record<string, string>,
  ) => h().call('POST', '/v1/fiscal/receipts', { token, body, headers });

  describe('direct submission', () => {
    it('fiscalizes through the tenant account: 201 with JIR, ZKI and QR link', async () => {
      const answer = await submit(alphaToken, {
        receipt: receiptJson('101'),
      });

      expect(answer.status).toBe(201);
      expect(answer.body).toMatchObject({
        status: 'SUCCESS',
        jir: expect.stringMatching(/^[0-9a-f-]{36}$/),
        zki: expect.stringMatching(/^[0-9a-f]{32}$/),
        path: 'V2',
        integrationAccountId: alpha.account.id,
        sends: 1,
      });
      expect(answer.body.qrUrl).toContain(`jir=${answer.body.jir}`);
      expect(sim.received.at(-1)?.jir).toBe(answer.body.jir);

      const status = await h().call(
        'GET',
        `/v1/fiscal/receipts/${answer.body.requestId}`,
        { token: alphaToken },
      );
      expect(status.body).toMatchObject({
        id: answer.body.requestId,
        companyId: alpha.company.id,
        status: 'SUCCESS',
        jir: answer.body.jir,
        invoiceNumber: '101/POSL1/2',
        attempts: 1,
        total: '1234.50',
        qrUrl: answer.body.qrUrl,
        lastError: null,
      });
      expect(status.text).not.toContain('Signature');

      const qr = await h().call(
        'GET',
        `/v1/fiscal/receipts/${answer.body.requestId}/qr`,
        { token: alphaToken },
      );
      expect(qr.status).toBe(200);
      expect(qr.body).toEqual({
        url: answer.body.qrUrl,
        jir: answer.body.jir,
        issuedAt: '2026-05-15T08:20:30.000Z',
        total: '1234.50',
      });
      expect(qr.body.url).toMatch(
        /^https:\/\/porezna\.gov\.hr\/rn\?jir=.+&datv=20260515_1020&izn=123450$/,
      );
    });

    it('answers the same receipt again with its JIR, 200, nothing sent', async () => {
      const first = await submit(alphaToken, { receipt: receiptJson('102') });
      const sent = sim.received.length;

      const again = await submit(alphaToken, { receipt: receiptJson('102') });

      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({
        requestId: first.body.requestId,
        jir: first.body.jir,
        sends: 0,
      });
      expect(sim.received.length).toBe(sent);
    });

    it('refuses bad receipts naming the field, before anything is sent', async () => {
      const sent = sim.received.length;
      const badOib = await submit(alphaToken, {
        receipt: receiptJson('103', { operatorOib: '24715430429' }),
      });
      expectProblem(badOib, 422, 'INVALID_INPUT');
      expect(badOib.body.field).toBe('operatorOib');

      const comma = await submit(alphaToken, {
        receipt: receiptJson('104', { total: '1234,50' }),
      });
      expectProblem(comma, 422, 'INVALID_INPUT');
      expect(comma.body.field).toBe('total');

      const missing = await submit(alphaToken, {
        receipt: receiptJson('105', { operatorOib: undefined }),
      });
      expectProblem(missing, 400, 'INVALID_INPUT');
      expect(missing.body.field).toBe('receipt/operatorOib');
      expect(sim.received.length).toBe(sent);
    });
  });

  describe('staff acting for a tenant', () => {
    it('must name the tenant, and is recorded as the actor', async () => {
      const unnamed = await submit(h().operatorToken, {
        receipt: receiptJson('110'),
      });
      expectProblem(unnamed, 422, 'INVALID_INPUT');
      expect(unnamed.body.field).toBe('X-Tenant-Id');

      const answer = await submit(
        h().operatorToken,
        { receipt: receiptJson('111') },
        { 'x-tenant-id': alpha.company.id },
      );
      expect(answer.status).toBe(201);
      const [event] = await h().platform.db.transaction(operator, (tx) =>
        tx.query<{ actor: string; operation: string; path: string }>(
          `SELECT actor, operation, path FROM "OperationEvent"
            WHERE "companyId" = $1 AND "documentId" = '111/POSL1/2'`,
          [alpha.company.id],
        ),
      );
      expect(event).toEqual({
        actor: `operator-key:${h().operatorKeyId}`,
        operation: 'FISCALIZATION',
        path: 'V2',
      });
    });
  });

  describe('tenant isolation', () => {
    it("never shows another company's request, even by its id", async () => {
      const mine = await submit(alphaToken, { receipt: receiptJson('120') });
      const other = await companyWithNothing(h().platform);
      const otherToken = (await h().tenantKey(other.company.id)).token;
      const id = mine.body.requestId as string;

      for (const path of [
        `/v1/fiscal/receipts/${id}`,
        `/v1/fiscal/receipts/${id}/qr`,
      ]) {
        const answer = await h().call('GET', path, { token: otherToken });
        expectProblem(answer, 404, 'FISCAL_REQUEST_NOT_FOUND');
        expect(answer.text).not.toContain(alpha.company.id);
      }
      const list = await h().call('GET', '/v1/fiscal/receipts', {
        token: otherToken,
      });
      expect(list.body).toEqual([]);
      const named = await h().call('GET', `/v1/fiscal/receipts/${id}`, {
        token: otherToken,
        headers: { 'x-tenant-id': alpha.company.id },
      });
      expectProblem(named, 404, 'COMPANY_NOT_FOUND');

      const own = await h().call('GET', '/v1/fiscal/receipts', {
        token: alphaToken,
      });
      expect(own.body.map((r: { id: string }) => r.id)).toContain(id);
      expect(
        own.body.every(
          (r: { companyId: string }) => r.companyId === alpha.company.id,
        ),
      ).toBe(true);
    });

    it("refuses a key of another company that names Alpha's receipt", async () => {
      const other = await companyWithNothing(h().platform);
      const otherToken = (await h().tenantKey(other.company.id)).token;
      const sent = sim.received.length;

      const answer = await submit(otherToken, {
        receipt: receiptJson('121'),
        accountId: alpha.account.id,
      });

      expectProblem(answer, 403, 'TENANT_VIOLATION');
      expect(sim.received.length).toBe(sent);
    });

    it('refuses no key and a revoked key', async () => {
      expectProblem(
        await submit(null, { receipt: receiptJson('122') }),
        401,
        'AUTH_REQUIRED',
      );
      const revoked = await h().tenantKey(alpha.company.id);
      await h().keys.revoke(revoked.id);
      expectProblem(
        await h().call('GET', '/v1/fiscal/receipts', { token: revoked.token }),
        401,
        'AUTH_REQUIRED',
      );
    });
  });

  describe('queued submission', () => {
    it('answers 503 SERVICE_UNAVAILABLE when the process has no queue', async () => {
      const answer = await submit(alphaToken, {
        receipt: receiptJson('130'),
        mode: 'queued',
      });
      expectProblem(answer, 503, 'SERVICE_UNAVAILABLE');
      expect(answer.body.rule).toBe('fiscal-queue');
    });

    const pgOnly = backend === 'postgres' ? it : it.skip;
    pgOnly(
      'queues (202), the worker fiscalizes it, then status and QR show the JIR',
      async () => {
        const url = process.env.TEST_DATABASE_URL as string;
        const p = h().platform;
        const [name] = await p.db.transaction(operator, (tx) =>
          tx.query<{ db: string }>('SELECT current_database() AS db'),
        );
        const boss = new PgBoss({
          connectionString: withDatabase(url, name?.db ?? ''),
          max: 2,
        });
        await boss.start();
        try {
          await createFiscalQueue(boss, { retryLimit: 1, retryDelay: 1 });
          const fiscal = wiring.current as FiscalWiring;
          fiscal.queue = {
            db: p.db,
            boss,
            fiscal: fiscal.service,
            logger: p.logger,
          };

          const queued = await submit(alphaToken, {
            receipt: receiptJson('131'),
            mode: 'queued',
          });
          expect(queued.status).toBe(202);
          expect(queued.body.status).toBe('QUEUED');
          const id = queued.body.requestId as string;
          const early = await h().call('GET', `/v1/fiscal/receipts/${id}/qr`, {
            token: alphaToken,
          });
          expectProblem(early, 409, 'RECEIPT_NOT_FISCALIZED');
          expect(early.body.rule).toBe('QUEUED');

          const stop = await startFiscalWorker(fiscal.queue, {
            pollingIntervalSeconds: 0.5,
          });
          try {
            const done = await until(async () => {
              const s = await h().call('GET', `/v1/fiscal/receipts/${id}`, {
                token: alphaToken,
              });
              return s.body.status === 'SUCCESS' ? s.body : undefined;
            });
            expect(done.jir).toEqual(expect.any(String));
            const qr = await h().call('GET', `/v1/fiscal/receipts/${id}/qr`, {
              token: alphaToken,
            });
            expect(qr.body.jir).toBe(done.jir);
          } finally {
            await stop();
          }
        } finally {
          delete wiring.current?.queue;
          await boss.stop({ graceful: false, wait: true });
        }
      },
      60_000,
    );
  });
});

describeEachDatabase('HTTP API: fiscalization not configured', ({ db }) => {
  const h: () => ApiHarness = useApi(db);

  it('answers a submission with 503 SERVICE_UNAVAILABLE, reads still work', async () => {
    const tenant = await companyWithNothing(h().platform);
    const { token } = await h().tenantKey(tenant.company.id);
    const answer = await h().call('POST', '/v1/fiscal/receipts', {
      token,
      body: { receipt: receiptJson('140') },
    });
    expectProblem(answer, 503, 'SERVICE_UNAVAILABLE');
    expect(answer.body.rule).toBe('fiscal-service');
    const list = await h().call('GET', '/v1/fiscal/receipts', { token });
    expect(list.status).toBe(200);
  });
});

async function until<T>(check: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + 30_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 200));
  }
}
