import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TenantGate } from '../app.js';
import { operator } from '../db/database.js';
import { isTenantGateError } from '../errors/tenantgate-error.js';
import { startCisSimulator } from '../sandbox/cis-simulator.js';
import { CisClient } from './cis-client.js';
import { FiscalService } from './fiscal-service.js';
import { packPkcs12 } from './pkcs12.js';

const CERTS = fileURLToPath(
  new URL('../../fixtures/cis/certs/', import.meta.url),
);

/** One demo receipt and what became of it. */
export interface DemoFiscalization {
  company: string;
  path: 'V1' | 'V2';
  number: string;
  jir: string;
  zki: string;
  qrUrl: string;
}

/**
 * The fiscalization part of `npm start`: makes sure two fiscal demo
 * tenants exist with the fixture certificates' OIBs (Alpha on a
 * FISCALIZATION_CIS account from `tenant-a.p12`, V2; Beta on a legacy
 * company certificate from `tenant-b-legacy.p12`, V1), starts the CIS
 * simulator on loopback, fiscalizes `perTenant` receipts for each
 * (default 3) and stops it. Idempotent: a second run adds receipts
 * with new numbers, never a second account.
 */
export async function fiscalizeDemoReceipts(
  app: TenantGate,
  perTenant = 3,
): Promise<DemoFiscalization[]> {
  const alpha = await demoCompany(app, 'Alpha d.o.o. (fiscal demo)', {
    oib: '12345678903',
  });
  const beta = await demoCompany(app, 'Beta obrt (fiscal demo)', {
    oib: '98765432198',
  });
  await ensureAccount(app, alpha);
  await ensureLegacyCertificate(app, beta);

  const simulator = await startCisSimulator();
  const client = new CisClient({
    url: simulator.url,
    ca: readFileSync(`${CERTS}/demo-ca.crt`),
  });
  const fiscal = new FiscalService({
    db: app.db,
    gate: app.gate,
    logger: app.logger,
    cis: () => client,
    accountEnvironment: 'TEST',
  });
  const out: DemoFiscalization[] = [];
  const base = Date.now();
  try {
    for (const [name, id, oib] of [
      ['Alpha', alpha, '12345678903'],
      ['Beta', beta, '98765432198'],
    ] as const) {
      for (let i = 0; i < perTenant; i++) {
        const issuedAt = new Date(base + i * 1000);
        const number = String((Math.floor(base / 1000) % 1_000_000_000) + i);
        const result = await fiscal.fiscalize({
          companyId: id,
          origin: 'user',
          actor: 'demo',
          receipt: {
            oib,
            inVatSystem: true,
            issuedAt,
            sequenceMark: 'P',
            number,
            premises: 'DEMO1',
            device: '1',
            vat: [{ rate: '25.00', base: '80.00', amount: '20.00' }],
            total: '100.00',
            paymentMethod: 'K',
            operatorOib: '24715430428',
          },
        });
        out.push({
          company: name,
          path: result.path,
          number: `${number}/DEMO1/1`,
          jir: result.jir,
          zki: result.zki,
          qrUrl: result.qrUrl,
        });
      }
    }
  } finally {
    client.close();
    await simulator.close();
  }
  return out;
}

async function demoCompany(
  app: TenantGate,
  name: string,
  { oib }: { oib: string },
): Promise<string> {
  const existing = await app.companies.findByOib(oib);
  if (existing) return existing.id;
  const created = await app.companies.create({
    name,
    oib,
    fiscalizationEnabled: true,
  });
  return created.id;
}

async function ensureAccount(app: TenantGate, companyId: string) {
  try {
    await app.accounts.createCertificateAccount({
      companyId,
      environment: 'TEST',
      p12: readFileSync(`${CERTS}/tenant-a.p12`),
      password: 'demo-pass-A',
    });
  } catch (error) {
    if (!isTenantGateError(error, 'ACCOUNT_EXISTS')) throw error;
  }
}

/** The prior system's way: a sealed certificate on the company row. */
async function ensureLegacyCertificate(app: TenantGate, companyId: string) {
  const envelope = app.vault.seal(
    packPkcs12(readFileSync(`${CERTS}/tenant-b-legacy.p12`), 'demo-pass-B'),
    { purpose: 'legacy-fiscal-certificate', companyId },
  );
  await app.db.transaction(operator, (tx) =>
    tx.query(
      `UPDATE "Company" SET "fiscalCertificateEncrypted" = $2
        WHERE id = $1 AND "fiscalCertificateEncrypted" IS NULL`,
      [companyId, envelope],
    ),
  );
}
