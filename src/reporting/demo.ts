import { reportingFor } from './app-reporting.js';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import forge from 'node-forge';
import type { TenantGate } from '../app.js';
import { zagrebDate } from '../calendar/croatian-calendar.js';
import { operator, tenant } from '../db/database.js';
import { DEMO_TENANTS } from '../demo/platform.js';
import { isTenantGateError } from '../errors/tenantgate-error.js';
import { ReportingClient } from './client.js';
import { REPORTABLE_STATUSES } from './obligations.js';
import {
  ReportingService,
  type DueList,
  type RunSummary,
} from './reporting-service.js';

const CERTS = new URL('../../fixtures/cis/certs/', import.meta.url);

/** What the reporting part of `npm start` did. */
export interface DemoReporting {
  /** CIS certificate accounts created for demo tenants on this run. */
  certificates: number;
  runs: RunSummary[];
  /** Whether this run registered the demo payment. */
  paymentRegistered: boolean;
  dueList: DueList;
}

/**
 * The Fiskalizacija 2.0 part of `npm start`: the e-invoices the demo
 * platform sent (src/demo/platform.ts) are reported to the simulator at
 * `url` and the due-list is returned for printing.
 *
 * - Each demo company with e-invoices to report and no CIS certificate
 *   gets a FISCALIZATION_CIS account, from a certificate issued for its
 *   OIB by the fixture demo CA (fixtures/cis/certs/demo-ca.*): the gate
 *   signs reports with the company's own certificate.
 * - Drava's intermediary account is set to `taxReporting: INTERMEDIARY`,
 *   so its e-invoices are left to ePoslovanje and never sent.
 * - On the first run one payment of 100.00 is registered for Sava's
 *   first e-invoice that asks at least that much (due by the 20th of
 *   next month); then every report due is made, e-invoices before
 *   payments.
 *
 * Idempotent: a second run finds the accounts, the reports REPORTED
 * and the payment registered, and sends nothing again.
 */
export async function reportDemoEInvoices(
  app: TenantGate,
  endpoint: { url: string },
): Promise<DemoReporting> {
  const certificates = await ensureCertificates(app);
  await leaveDravaToItsIntermediary(app);
  const client = new ReportingClient({
    url: endpoint.url,
    ca: readFileSync(new URL('demo-ca.crt', CERTS)),
  });
  const reporting = reportingFor(app, () => client);
  try {
    const paymentRegistered = await registerDemoPayment(app, reporting);
    const runs = await reporting.reportAllDue({
      origin: 'user',
      actor: 'demo',
    });
    const dueList = await reporting.dueList();
    return { certificates, runs, paymentRegistered, dueList };
  } finally {
    client.close();
  }
}

async function ensureCertificates(app: TenantGate): Promise<number> {
  let created = 0;
  for (const company of await demoCompaniesWithoutCertificate(app)) {
    const password = randomBytes(12).toString('base64url');
    try {
      await app.accounts.createCertificateAccount({
        companyId: company.id,
        environment: app.settings.accountEnvironment,
        p12: issueDemoCertificate(company.name, company.oib, password),
        password,
      });
      created++;
    } catch (error) {
      if (!isTenantGateError(error, 'ACCOUNT_EXISTS')) throw error;
    }
  }
  return created;
}

/**
 * Demo companies (`demo-…`) with e-invoices to report and no CIS
 * certificate at all. Kupa, the misconfigured tenant, has none to
 * report (its only send was refused) and stays without one.
 */
async function demoCompaniesWithoutCertificate(
  app: TenantGate,
): Promise<{ id: string; name: string; oib: string }[]> {
  return app.db.transaction(operator, (tx) =>
    tx.query<{ id: string; name: string; oib: string }>(
      `SELECT c.id, c.name, c.oib FROM "Company" c
        WHERE c.id LIKE 'demo-%' AND c."fiscalCertificateEncrypted" IS NULL
          AND NOT EXISTS (
            SELECT 1 FROM "IntegrationAccount" a
             WHERE a."companyId" = c.id AND a.kind = 'FISCALIZATION_CIS')
          AND EXISTS (
            SELECT 1 FROM "EInvoice" e
             WHERE e."companyId" = c.id
               AND (e.direction = 'INBOUND' OR e.status = ANY($1::text[])))
        ORDER BY c.id`,
      [[...REPORTABLE_STATUSES]],
    ),
  );
}

async function leaveDravaToItsIntermediary(app: TenantGate): Promise<void> {
  const drava = DEMO_TENANTS.find((t) => t.id === 'demo-drava');
  const company = drava && (await app.companies.findByOib(drava.oib));
  if (!company) return;
  const accounts = await app.accounts.list(company.id);
  const account = accounts.find((a) => a.kind === 'EINVOICE_EPOSLOVANJE');
  if (!account || account.providerConfig.taxReporting !== undefined) return;
  await app.accounts.updateProviderConfig(company.id, account.id, {
    taxReporting: 'INTERMEDIARY',
  });
}

async function registerDemoPayment(
  app: TenantGate,
  reporting: ReportingService,
): Promise<boolean> {
  const sava = DEMO_TENANTS.find((t) => t.id === 'demo-sava');
  const company = sava && (await app.companies.findByOib(sava.oib));
  if (!company) return false;
  const [einvoice] = await app.db.transaction(tenant(company.id), (tx) =>
    tx.query<{ id: string }>(
      `SELECT e.id FROM "EInvoice" e
        WHERE e.direction = 'OUTBOUND' AND e.status = 'SENT'
          AND e."totalAmount" >= 100
          AND NOT EXISTS (
            SELECT 1 FROM "EInvoiceReport" r
             WHERE r."companyId" = e."companyId" AND r."einvoiceId" = e.id
               AND r.status = 'REPORTED')
        ORDER BY e."createdAt", e.id LIMIT 1`,
    ),
  );
  if (!einvoice) return false;
  const registered = await reporting.registerPayment({
    companyId: company.id,
    einvoiceId: einvoice.id,
    paidOn: zagrebDate(new Date()),
    amount: '100.00',
    method: 'T',
    idempotencyKey: 'npm-start-demo',
  });
  return !registered.duplicate;
}

/**
 * A PKCS#12 for a demo tenant: an RSA-2048 key and a certificate with
 * the OIB in its subject (serialNumber `HR<OIB>`), valid for a year,
 * issued by the fixture demo CA. Demo only: real certificates come
 * from FINA or another qualified provider.
 */
export function issueDemoCertificate(
  name: string,
  oib: string,
  password: string,
): Buffer {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
  });
  const caCert = forge.pki.certificateFromPem(
    readFileSync(new URL('demo-ca.crt', CERTS), 'utf8'),
  );
  const caKey = forge.pki.privateKeyFromPem(
    readFileSync(new URL('demo-ca.key', CERTS), 'utf8'),
  );
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(
    publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  );
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  const from = new Date(Date.now() - 60_000);
  cert.validity.notBefore = from;
  cert.validity.notAfter = new Date(from.getTime() + 365 * 86_400_000);
  cert.setSubject([
    { shortName: 'C', value: 'HR' },
    // forge writes a PrintableString byte by byte; as a UTF8String it
    // encodes the name, so "Moj-eRačun" survives parsing.
    {
      shortName: 'O',
      value: name,
      valueTagClass: forge.asn1.Type.UTF8 as unknown as forge.asn1.Class,
    },
    { shortName: 'CN', value: 'FISKAL 1' },
    { name: 'serialNumber', value: `HR${oib}` },
  ]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    {
      name: 'keyUsage',
      critical: true,
      digitalSignature: true,
      nonRepudiation: true,
    },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  const key = forge.pki.privateKeyFromPem(
    privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  );
  const asn1 = forge.pkcs12.toPkcs12Asn1(key, [cert, caCert], password, {
    algorithm: 'aes256',
  });
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}
