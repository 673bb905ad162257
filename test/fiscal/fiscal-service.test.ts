import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { AccountService } from '../../src/accounts/account-service.js';
import type { IntegrationAccount } from '../../src/accounts/account-store.js';
import { CompanyService } from '../../src/companies/company-service.js';
import { operator, type Database } from '../../src/db/database.js';
import { EnforcementGate } from '../../src/enforcement/gate.js';
import {
  isTenantGateError,
  type TenantGateError,
} from '../../src/errors/tenantgate-error.js';
import { CisClient } from '../../src/fiscal/cis-client.js';
import { FiscalService } from '../../src/fiscal/fiscal-service.js';
import { packPkcs12 } from '../../src/fiscal/pkcs12.js';
import type { ReceiptInput } from '../../src/fiscal/receipt.js';
import { StaticFlagSource } from '../../src/flags/env-flags.js';
import { createLogger } from '../../src/logging/logger.js';
import {
  startCisSimulator,
  type CisSimulator,
} from '../../src/sandbox/cis-simulator.js';
import { parseKeyList } from '../../src/vault/key-ring.js';
import { Vault } from '../../src/vault/vault.js';
import { describeEachDatabase } from '../support/databases.js';
import { CapturedLogs } from '../support/platform.js';
import { CERTS_DIR, P12, certFile, receiptOf } from './support.js';

const CA = readFileSync(`${CERTS_DIR}/demo-ca.crt`);
let counter = 100;

async function failure(promise: Promise<unknown>): Promise<TenantGateError> {
  try {
    await promise;
  } catch (error) {
    if (isTenantGateError(error)) return error;
    throw error;
  }
  throw new Error('expected a TenantGateError');
}

describeEachDatabase('fiscalization through the gate', (ctx) => {
  const logs = new CapturedLogs();
  let sim: CisSimulator;
  let client: CisClient;
  let quick: CisClient;
  let db: Database;
  let vault: Vault;
  let flags: StaticFlagSource;
  let fiscal: FiscalService;
  let fiscalOnce: FiscalService;
  let quickFiscal: FiscalService;
  const company: Record<'a' | 'b' | 'c', string> = { a: '', b: '', c: '' };
  let accountA: IntegrationAccount;
  let accountC: IntegrationAccount;

  /** A fresh receipt (new number, so a new ZKI) of a tenant. */
  function receipt(
    tenant: 'a' | 'b' | 'c',
    overrides: Partial<ReceiptInput> = {},
  ) {
    counter++;
    return receiptOf({
      oib: P12[tenant].oib,
      number: String(counter),
      ...overrides,
    });
  }

  async function rowOf(requestId: string) {
    const rows = await db.transaction(operator, (tx) =>
      tx.query<Record<string, unknown>>(
        'SELECT * FROM "FiscalRequest" WHERE id = $1',
        [requestId],
      ),
    );
    return rows[0] ?? {};
  }

  async function events(companyId: string) {
    return db.transaction(operator, (tx) =>
      tx.query<Record<string, unknown>>(
        `SELECT path, outcome, "errorName", "integrationAccountId",
                "documentId"
           FROM "OperationEvent"
          WHERE "companyId" = $1 AND operation = 'FISCALIZATION'
          ORDER BY id`,
        [companyId],
      ),
    );
  }

  beforeAll(async () => {
    db = ctx.db();
    sim = await startCisSimulator();
    client = new CisClient({ url: sim.url, ca: CA, timeoutMs: 5_000 });
    quick = new CisClient({ url: sim.url, ca: CA, timeoutMs: 300 });
    const logger = createLogger('debug', logs.stream);
    vault = new Vault(parseKeyList(`v1:${randomBytes(32).toString('base64')}`));
    flags = new StaticFlagSource();
    const gate = new EnforcementGate({
      db,
      vault,
      flags,
      logger,
      deploymentEnvironment: 'staging',
      accountEnvironment: 'TEST',
    });
    const base = {
      db,
      gate,
      logger,
      accountEnvironment: 'TEST' as const,
      backoffMs: 5,
    };
    fiscal = new FiscalService({ ...base, cis: () => client });
    fiscalOnce = new FiscalService({ ...base, cis: () => client, maxSends: 1 });
    quickFiscal = new FiscalService({ ...base, cis: () => quick, maxSends: 1 });

    const companies = new CompanyService({ db, vault, logger });
    const accounts = new AccountService({ db, vault, logger });
    for (const tenant of ['a', 'b', 'c'] as const) {
      const created = await companies.create({
        name: `Tenant ${tenant}`,
        oib: P12[tenant].oib,
        fiscalizationEnabled: true,
      });
      company[tenant] = created.id;
    }
    accountA = await accounts.createCertificateAccount({
      companyId: company.a,
      environment: 'TEST',
      p12: certFile(P12.a.file),
      password: P12.a.password,
    });
    // Valid when it was added; it has expired since.
    accountC = await accounts.createCertificateAccount({
      companyId: company.c,
      environment: 'TEST',
      p12: certFile(P12.c.file),
      password: P12.c.password,
      now: new Date('2024-06-01T00:00:00Z'),
    });
    // Tenant b still fiscalizes with its legacy (V1) certificate.
    const legacy = vault.seal(
      packPkcs12(certFile(P12.b.file), P12.b.password),
      { purpose: 'legacy-fiscal-certificate', companyId: company.b },
    );
    await db.transaction(operator, (tx) =>
      tx.query(
        `UPDATE "Company" SET "fiscalCertificateEncrypted" = $2
          WHERE id = $1`,
        [company.b, legacy],
      ),
    );
  });

  afterAll(async () => {
    client.close();
    quick.close();
    await sim.close();
  });

  beforeEach(() => {
    logs.clear();
  });

  it('V2: fiscalizes with the account’s certificate and stores the row', async () => {
    const result = await fiscal.fiscalize({
      companyId: company.a,
      receipt: receipt('a'),
      origin: 'user',
    });

    expect(result).toMatchObject({
      path: 'V2',
      integrationAccountId: accountA.id,
      lateDelivery: false,
      sends: 1,
    });
    expect(result.jir).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.qrUrl).toMatch(
      /^https:\/\/porezna\.gov\.hr\/rn\?jir=.+&datv=20260515_1020&izn=123450$/,
    );
    const row = await rowOf(result.requestId);
    expect(row).toMatchObject({
      status: 'SUCCESS',
      jir: result.jir,
      zki: result.zki,
      integrationAccountId: accountA.id,
      attempts: 1,
    });
    expect(String(row.requestXml)).toContain(`<tns:ZastKod>${result.zki}<`);
    expect(String(row.responseXml)).toContain(result.jir);
    expect((await events(company.a)).at(-1)).toMatchObject({
      path: 'V2',
      outcome: 'SUCCESS',
      integrationAccountId: accountA.id,
    });
  });

  it('V1: fiscalizes with the company’s legacy certificate', async () => {
    const result = await fiscal.fiscalize({
      companyId: company.b,
      receipt: receipt('b'),
      origin: 'user',
    });

    expect(result.path).toBe('V1');
    expect(result.integrationAccountId).toBeNull();
    const seen = sim.received.find((r) => r.jir === result.jir);
    expect(seen?.oib).toBe(P12.b.oib);
    expect((await events(company.b)).at(-1)).toMatchObject({
      path: 'V1',
      outcome: 'SUCCESS',
    });
  });

  it('enforcement refuses the legacy certificate before CIS', async () => {
    const before = sim.received.length;
    flags.set('FF_ENFORCE_INTEGRATION_ACCOUNT', true);
    try {
      const error = await failure(
        fiscal.fiscalize({
          companyId: company.b,
          receipt: receipt('b'),
          origin: 'user',
        }),
      );
      expect(error.name).toBe('IntegrationRequiredError');
    } finally {
      flags.set('FF_ENFORCE_INTEGRATION_ACCOUNT', false);
    }
    expect(sim.received.length).toBe(before);
    expect((await events(company.b)).at(-1)).toMatchObject({
      path: null,
      outcome: 'BLOCKED',
    });
  });

  it('FF_INTEGRATION_ACCOUNT_FISCAL without an account falls back to V1', async () => {
    flags.set('FF_INTEGRATION_ACCOUNT_FISCAL', true);
    try {
      const result = await fiscal.fiscalize({
        companyId: company.b,
        receipt: receipt('b'),
        origin: 'user',
      });
      expect(result.path).toBe('V1');
    } finally {
      flags.set('FF_INTEGRATION_ACCOUNT_FISCAL', false);
    }
  });

  it('the same receipt twice is sent once and keeps its JIR', async () => {
    const input = receipt('a');
    const first = await fiscal.fiscalize({
      companyId: company.a,
      receipt: input,
      origin: 'user',
    });
    const second = await fiscal.fiscalize({
      companyId: company.a,
      receipt: input,
      origin: 'user',
    });

    expect(second.jir).toBe(first.jir);
    expect(second.sends).toBe(0);
    expect(second.requestId).toBe(first.requestId);
    expect(sim.received.filter((r) => r.zki === first.zki)).toHaveLength(1);
  });

  it('an expired certificate is refused without a CIS round trip', async () => {
    const before = sim.received.length;
    const error = await failure(
      fiscal.fiscalize({
        companyId: company.c,
        receipt: receipt('c'),
        origin: 'user',
      }),
    );

    expect(error.name).toBe('IntegrationDisabledError');
    expect(sim.received.length).toBe(before);
    const status = await db.transaction(operator, (tx) =>
      tx.query<{ status: string }>(
        'SELECT status FROM "IntegrationAccount" WHERE id = $1',
        [accountC.id],
      ),
    );
    expect(status[0]?.status).toBe('EXPIRED');
    expect((await events(company.c)).at(-1)).toMatchObject({
      outcome: 'BLOCKED',
      errorName: 'IntegrationDisabledError',
    });
  });

  it('a lost reply is resent with NakDost and the same ZKI', async () => {
    sim.inject({ kind: 'drop-after-processing' });
    const result = await fiscal.fiscalize({
      companyId: company.a,
      receipt: receipt('a'),
      origin: 'worker',
    });

    const sends = sim.received.filter((r) => r.zki === result.zki);
    expect(sends).toHaveLength(2);
    expect(sends[0]?.lateDelivery).toBe(false);
    expect(sends[1]?.lateDelivery).toBe(true);
    expect(sends[1]?.messageId).not.toBe(sends[0]?.messageId);
    expect(sends[1]?.issuedAt).toBe(sends[0]?.issuedAt);
    expect(result.jir).toBe(sends[1]?.jir);
    expect(result.lateDelivery).toBe(true);
    expect(await rowOf(result.requestId)).toMatchObject({
      status: 'SUCCESS',
      jir: result.jir,
      lateDelivery: true,
    });
  });

  it('a reply that never came leaves a FAILED row with a deadline; the next attempt delivers late, one JIR kept', async () => {
    sim.inject({ kind: 'latency', ms: 800 });
    const input = receipt('a');
    const error = await failure(
      quickFiscal.fiscalize({
        companyId: company.a,
        receipt: input,
        origin: 'worker',
      }),
    );
    expect(error.code).toBe('SEND_OUTCOME_UNKNOWN');

    const result = await fiscal.fiscalize({
      companyId: company.a,
      receipt: input,
      origin: 'worker',
    });

    const row = await rowOf(result.requestId);
    expect(row).toMatchObject({
      status: 'SUCCESS',
      jir: result.jir,
      lateDelivery: true,
      attempts: 2,
    });
    expect(row.deliverBy).toBeInstanceOf(Date);
    expect(result.lateDelivery).toBe(true);
    const rows = await db.transaction(operator, (tx) =>
      tx.query('SELECT id FROM "FiscalRequest" WHERE zki = $1', [result.zki]),
    );
    expect(rows).toHaveLength(1);
  });

  it('s006 is retried with backoff, each send with a new IdPoruke', async () => {
    sim.inject({ kind: 's006' }, { kind: 's006' });
    const result = await fiscal.fiscalize({
      companyId: company.a,
      receipt: receipt('a'),
      origin: 'worker',
    });

    const sends = sim.received.filter((r) => r.zki === result.zki);
    expect(sends.map((s) => s.errorCode)).toEqual(['s006', 's006', null]);
    expect(new Set(sends.map((s) => s.messageId)).size).toBe(3);
    expect(result.sends).toBe(3);
  });

  it('CIS unavailable is one FAILURE event on the route it took', async () => {
    sim.inject({ kind: 'http-503' });
    const error = await failure(
      fiscalOnce.fiscalize({
        companyId: company.a,
        receipt: receipt('a'),
        origin: 'worker',
      }),
    );
    expect(error.code).toBe('COUNTERPART_UNAVAILABLE');
    expect((await events(company.a)).at(-1)).toMatchObject({
      outcome: 'FAILURE',
      errorName: 'CounterpartUnavailableError',
    });
  });

  it('refuses bad input before anything is sent', async () => {
    const before = sim.received.length;
    const error = await failure(
      fiscal.fiscalize({
        companyId: company.a,
        receipt: receipt('a', { total: '12,50' }),
        origin: 'user',
      }),
    );

    expect(error.details).toMatchObject({ field: 'total' });
    expect(sim.received.length).toBe(before);
  });

  it('refuses a receipt of another OIB before sending', async () => {
    const before = sim.received.length;
    const error = await failure(
      fiscal.fiscalize({
        companyId: company.a,
        receipt: receipt('b'),
        origin: 'user',
      }),
    );

    expect(error.details).toMatchObject({ rule: 'oib-matches-receipt' });
    expect(sim.received.length).toBe(before);
  });

  it('never writes the PKCS#12 password to the logs', () => {
    const text = logs.text();
    for (const p of Object.values(P12)) {
      expect(text).not.toContain(p.password);
    }
  });
});
