import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { completeOib } from '../companies/oib.js';
import type { Database, Queryable } from '../db/database.js';
import { EINVOICE_STATUSES } from '../einvoice/statuses.js';
import { invalidInput } from '../errors/tenantgate-error.js';
import type { Logger } from '../logging/logger.js';
import type { SecretBinding } from '../vault/envelope.js';
import { packPkcs12 } from '../fiscal/pkcs12.js';
import {
  DEMO_P12_PASSWORD,
  DemoCertificateFactory,
  demoCertificateSerial,
} from './legacy-demo-certificates.js';
import { SERVED_STATUSES } from './backfill.js';

const LEGACY_SCHEMA = fileURLToPath(
  new URL('./legacy-schema.sql', import.meta.url),
);

/** What the generator needs of the vault: sealing legacy keys. */
export interface DemoVault {
  seal(plaintext: string | Buffer, binding: SecretBinding): string;
}

export interface LegacyDemoOptions {
  /** Companies to create. */
  companies: number;
  /** E-invoices per company. Default 10. */
  invoicesPerCompany?: number;
  /** Fiscal requests per company with a certificate. Default 5. */
  fiscalRequestsPerCompany?: number;
  /** Environment of the legacy certificates. Default TEST. */
  certificateEnvironment?: 'TEST' | 'PROD';
  /** Companies per batch (one statement per table). Default 5000. */
  batchSize?: number;
}

export interface LegacyDemoReport {
  companies: number;
  invoices: number;
  fiscalRequests: number;
  certificates: number;
  priorAccounts: number;
  elapsedMs: number;
}

/**
 * Company profiles by index modulo 10: what a platform looks like
 * before migration.
 */
export const LEGACY_PROFILES = [
  'key eposlovanje',
  'key eposlovanje',
  'key eposlovanje',
  'key fina',
  'key eposlovanje and certificate',
  'key fina and certificate',
  'certificate only',
  'entitlements without credentials',
  'unreadable key and expired certificate',
  'key ie-racuni and revoked certificate',
] as const;

/**
 * Profiles whose e-invoices never reached an intermediary: a company
 * without credentials (7), and one whose key was stored sealed for
 * another company (8), so that the prior system could not open it
 * either. Their e-invoices are drafts, queued or failed, never issued:
 * a row the data says was served always has the credential that
 * served it. (Served rows whose credential is unknown are what the
 * backfill lists as ambiguous; the generated platform has none.)
 */
const NEVER_SENT_PROFILES = [7, 8];
const UNSENT_STATUSES = EINVOICE_STATUSES.filter(
  (s) => !SERVED_STATUSES.EInvoice.includes(s),
);

const FISCAL_STATUSES = ['QUEUED', 'PROCESSING', 'SUCCESS', 'FAILED', 'DEAD'];

/** The id of the n-th legacy company (1-based), sortable. */
export function legacyCompanyId(n: number): string {
  return `lc_${String(n).padStart(7, '0')}`;
}

/**
 * Builds a database of the prior system's shape on an empty database:
 * legacy keys sealed on companies, a certificate table, historic
 * invoices and fiscal requests in every status, the prior system's
 * secretless accounts, and a few rows that are already inconsistent (an
 * invoice linked to another company's account, an e-invoice linked to a
 * fiscal account). Batched: one statement per table per batch
 * of companies, rows made by generate_series inside the database, so
 * memory does not grow with the size.
 */
export async function generateLegacyPlatform(
  deps: { db: Database; vault: DemoVault; logger: Logger },
  options: LegacyDemoOptions,
): Promise<LegacyDemoReport> {
  const started = Date.now();
  const batchSize = options.batchSize ?? 5000;
  const env = options.certificateEnvironment ?? 'TEST';
  const invoices = options.invoicesPerCompany ?? 10;
  const requests = options.fiscalRequestsPerCompany ?? 5;

  await deps.db.withOwnerSession(async (session) => {
    const existing = await session.query(
      `SELECT 1 FROM information_schema.tables
       WHERE table_schema = current_schema() AND table_name = 'Company'`,
    );
    if (existing.length > 0) {
      throw invalidInput(
        'database',
        'empty',
        'database: the legacy demo needs an empty database; point ' +
          'TENANTGATE_DATA_DIR or DATABASE_URL at a new one',
      );
    }
    await session.exec(readFileSync(LEGACY_SCHEMA, 'utf8'));
  });

  const certificates = new DemoCertificateFactory();
  for (let from = 1; from <= options.companies; from += batchSize) {
    const to = Math.min(options.companies, from + batchSize - 1);
    await deps.db.withOwnerSession(async (s) => {
      await s.query('BEGIN');
      await insertCompanies(s, deps.vault, from, to);
      await insertCertificates(s, deps.vault, certificates, { from, to, env });
      await s.query(PRIOR_ACCOUNTS_SQL, [from, to]);
      await s.query(INVOICES_SQL, [
        from,
        to,
        invoices,
        EINVOICE_STATUSES,
        UNSENT_STATUSES,
        NEVER_SENT_PROFILES,
      ]);
      await s.query(FISCAL_SQL, [from, to, requests, FISCAL_STATUSES, env]);
      await s.query('COMMIT');
    });
    deps.logger.info({
      event: 'migration.legacy_demo.batch',
      from,
      to,
      rssMb: Math.round(process.memoryUsage().rss / 1e6),
    });
  }

  return deps.db.withOwnerSession(async (s) => {
    const count = async (table: string) => {
      const rows = await s.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${table}"`,
      );
      return rows[0]?.n ?? 0;
    };
    return {
      companies: await count('Company'),
      invoices: await count('EInvoice'),
      fiscalRequests: await count('FiscalRequest'),
      certificates: await count('FiscalCertificate'),
      priorAccounts: await count('IntegrationAccount'),
      elapsedMs: Date.now() - started,
    };
  });
}

/** Companies from..to; keys sealed here (the binding needs the id). */
async function insertCompanies(
  s: Queryable,
  vault: DemoVault,
  from: number,
  to: number,
): Promise<void> {
  const ids: string[] = [];
  const oibs: string[] = [];
  const providers: (string | null)[] = [];
  const keys: (string | null)[] = [];
  for (let n = from; n <= to; n++) {
    const id = legacyCompanyId(n);
    const provider = providerOf(n % 10);
    ids.push(id);
    oibs.push(completeOib(String(1_000_000_000 + n)));
    providers.push(provider);
    keys.push(provider === null ? null : sealKey(vault, id, n));
  }
  await s.query(
    `INSERT INTO "Company" (id, name, oib, "fiscalizationEnabled",
       "eInvoicingEnabled", "eInvoiceProvider", "eInvoiceApiKeyEncrypted",
       "createdAt", "updatedAt")
     SELECT v.id, 'Legacy ' || v.id || ' d.o.o.', v.oib,
       (v.n % 10) IN (4, 5, 6, 7, 8, 9), (v.n % 10) <> 6, v.provider, v.key,
       TIMESTAMPTZ '2024-01-01 00:00:00+00',
       TIMESTAMPTZ '2024-01-01 00:00:00+00'
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
       $5::int[]) AS v(id, oib, provider, key, n)`,
    [ids, oibs, providers, keys, range(from, to)],
  );
}

function providerOf(profile: number): string | null {
  if ([0, 1, 2, 4, 8].includes(profile)) return 'eposlovanje';
  if (profile === 3 || profile === 5) return 'fina';
  if (profile === 9) return 'ie-racuni';
  return null;
}

/**
 * A fresh-looking API key per company. Profile 8's key is sealed for
 * another company: it does not open, like a key the prior system lost.
 */
function sealKey(vault: DemoVault, companyId: string, n: number): string {
  const key = `legacy-${n}-${companyId.slice(3)}-demo`;
  const owner = n % 10 === 8 ? `${companyId}-moved` : companyId;
  return vault.seal(key, { purpose: 'legacy-einvoice-key', companyId: owner });
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

const CID = `'lc_' || lpad(c::text, 7, '0')`;

const CERTIFICATE_PROFILES = [4, 5, 6, 8, 9];
const ISSUED_AT = new Date('2024-01-01T00:00:00Z');
const VALID_UNTIL = new Date('2029-01-01T00:00:00Z');
/** Profile 8's certificate: expired after its fiscal requests. */
const EXPIRED_AT = new Date('2025-06-01T00:00:00Z');

/**
 * Certificate rows of companies from..to as the prior system stored
 * them: the PKCS#12 and its password sealed for the company (purpose
 * `legacy-fiscal-certificate`) in "encryptedP12", its facts in columns.
 * Each file holds a certificate for the company's OIB issued by the
 * fixture demo CA (demo data: see legacy-demo-certificates.ts).
 * Profile 8's has expired (row EXPIRED), profile 9's is REVOKED.
 */
async function insertCertificates(
  s: Queryable,
  vault: DemoVault,
  factory: DemoCertificateFactory,
  batch: { from: number; to: number; env: 'TEST' | 'PROD' },
): Promise<void> {
  const ns: number[] = [];
  const subjects: string[] = [];
  const envelopes: string[] = [];
  for (let n = batch.from; n <= batch.to; n++) {
    if (!CERTIFICATE_PROFILES.includes(n % 10)) continue;
    const id = legacyCompanyId(n);
    const oib = completeOib(String(1_000_000_000 + n));
    const organisation = `Legacy ${id} d.o.o.`;
    const file = factory.pkcs12({
      oib,
      organisation,
      serial: demoCertificateSerial(n),
      notBefore: ISSUED_AT,
      notAfter: n % 10 === 8 ? EXPIRED_AT : VALID_UNTIL,
    });
    ns.push(n);
    subjects.push(
      `CN=${organisation} fiscal,organizationIdentifier=VATHR-${oib},` +
        `O=${organisation},C=HR`,
    );
    envelopes.push(
      vault.seal(packPkcs12(file, DEMO_P12_PASSWORD), {
        purpose: 'legacy-fiscal-certificate',
        companyId: id,
      }),
    );
    file.fill(0);
  }
  await s.query(CERTIFICATES_SQL, [
    ns,
    subjects,
    envelopes,
    batch.env,
    ISSUED_AT,
    VALID_UNTIL,
    EXPIRED_AT,
  ]);
}

/** The row's serial is the file's: md5('serial' || c), in hex. */
const CERTIFICATES_SQL = `
  INSERT INTO "FiscalCertificate" (id, "companyId", environment,
    "certSubject", "certSerial", "certNotBefore", "certNotAfter",
    "oibExtracted", "certSha256", "encryptedP12", status)
  SELECT 'lcert_' || c, ${CID}, $4, v.subject, md5('serial' || c),
    $5::timestamptz,
    CASE WHEN c % 10 = 8 THEN $7::timestamptz ELSE $6::timestamptz END,
    substring(v.subject FROM 'VATHR-([0-9]{11})'), md5('cert' || c),
    v.p12,
    CASE c % 10 WHEN 8 THEN 'EXPIRED' WHEN 9 THEN 'REVOKED'
      ELSE 'ACTIVE' END
  FROM unnest($1::int[], $2::text[], $3::text[]) AS v(c, subject, p12)`;

/**
 * The prior system's attempt, for every 50th company with a key and a
 * certificate: ACTIVE e-invoice and CIS accounts that hold no secret.
 */
const PRIOR_ACCOUNTS_SQL = `
  INSERT INTO "IntegrationAccount" (id, "companyId", kind, environment,
    status, "secretEnvelope", "createdAt", "updatedAt")
  SELECT prefix || c, ${CID}, kind, 'TEST', 'ACTIVE', NULL,
    TIMESTAMPTZ '2025-01-01 00:00:00+00',
    TIMESTAMPTZ '2025-01-01 00:00:00+00'
  FROM generate_series($1::int, $2::int) c
  CROSS JOIN (VALUES ('lia_', 'EINVOICE_EPOSLOVANJE'),
    ('lcis_', 'FISCALIZATION_CIS')) AS k(prefix, kind)
  WHERE c % 50 = 4`;

const INVOICES_SQL = `
  INSERT INTO "EInvoice" (id, "companyId", direction, status, number,
    "issueDate", "totalAmount", "providerRef", "integrationAccountId",
    "sentAt", "createdAt", "updatedAt")
  SELECT 'le_' || lpad(c::text, 7, '0') || '_' || lpad(n::text, 4, '0'),
    ${CID}, CASE WHEN n % 7 = 0 THEN 'INBOUND' ELSE 'OUTBOUND' END,
    CASE WHEN c % 10 = ANY($6::int[])
      THEN ($5::text[])[1 + (c + n) % cardinality($5::text[])]
      ELSE ($4::text[])[1 + (c + n) % 11] END,
    'R-' || c || '-' || n,
    DATE '2025-01-01' + (n % 300), round((n * 13.37)::numeric, 2),
    'ref-' || c || '-' || n,
    CASE
      -- the prior system linked invoices to accounts without secrets
      WHEN c % 50 = 4 AND n = 1 THEN 'lia_' || c
      -- already inconsistent: a fiscal account on an e-invoice, and
      -- another company's account
      WHEN c % 200 = 4 AND n = 2 THEN 'lcis_' || c
      WHEN c % 200 = 5 AND n = 3 THEN 'lia_' || (c - 1)
    END,
    TIMESTAMPTZ '2025-01-02 00:00:00+00' + n * INTERVAL '1 hour',
    TIMESTAMPTZ '2025-01-01 00:00:00+00' + n * INTERVAL '1 hour',
    TIMESTAMPTZ '2025-01-02 00:00:00+00' + n * INTERVAL '1 hour'
  FROM generate_series($1::int, $2::int) c
  CROSS JOIN generate_series(1, $3::int) n
  WHERE c % 10 <> 6`;

const FISCAL_SQL = `
  INSERT INTO "FiscalRequest" (id, "companyId", "certificateId", status,
    "invoiceNumber", zki, jir, attempts, "createdAt", "updatedAt")
  SELECT 'lf_' || lpad(c::text, 7, '0') || '_' || lpad(n::text, 4, '0'),
    ${CID}, 'lcert_' || c, ($4::text[])[1 + (c + n) % 5],
    'F-' || c || '-' || n, md5('zki' || c || n),
    CASE WHEN ($4::text[])[1 + (c + n) % 5] = 'SUCCESS'
      THEN md5('jir' || c || n) END,
    1, TIMESTAMPTZ '2025-01-01 00:00:00+00' + n * INTERVAL '1 hour',
    TIMESTAMPTZ '2025-01-01 00:00:00+00' + n * INTERVAL '1 hour'
  FROM generate_series($1::int, $2::int) c
  CROSS JOIN generate_series(1, $3::int) n
  WHERE c % 10 IN (4, 5, 6, 8, 9) AND $5::text IS NOT NULL`;
