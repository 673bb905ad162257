import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AccountService } from '../../src/accounts/account-service.js';
import { CompanyService } from '../../src/companies/company-service.js';
import { operator, type Database } from '../../src/db/database.js';
import { EnforcementGate } from '../../src/enforcement/gate.js';
import { StaticFlagSource } from '../../src/flags/env-flags.js';
import type { Logger } from '../../src/logging/logger.js';
import {
  ReportingService,
  type ReportSender,
} from '../../src/reporting/reporting-service.js';
import type { ReportRow } from '../../src/reporting/report-store.js';
import { parseKeyList } from '../../src/vault/key-ring.js';
import { Vault } from '../../src/vault/vault.js';
import { randomOib } from '../support/builders.js';

const SAMPLES = new URL('../../fixtures/hr-einvoice-samples/', import.meta.url);

/** The dummy seller OIB of the official samples. */
export const SAMPLE_SELLER_OIB = '12345678901';

/** An official sample with its seller moved to `oib` and dates to 2026. */
export function sampleUbl(name: string, oib: string): string {
  return readFileSync(new URL(name, SAMPLES), 'utf8')
    .replaceAll(SAMPLE_SELLER_OIB, oib)
    .replaceAll(/>2025-(\d\d-\d\d)</g, '>2026-$1<');
}

/** The wired pieces a reporting test needs. */
export interface ReportingPlatform {
  db: Database;
  vault: Vault;
  gate: EnforcementGate;
  companies: CompanyService;
  accounts: AccountService;
  reporting: (sender?: ReportSender, now?: () => Date) => ReportingService;
}

/** Builds services over a test database; no flags set (legacy world). */
export function reportingPlatform(
  db: Database,
  logger: Logger,
): ReportingPlatform {
  const vault = new Vault(
    parseKeyList(`v1:${randomBytes(32).toString('base64')}`),
  );
  const gate = new EnforcementGate({
    db,
    vault,
    flags: new StaticFlagSource(),
    logger,
    deploymentEnvironment: 'staging',
    accountEnvironment: 'TEST',
  });
  return {
    db,
    vault,
    gate,
    companies: new CompanyService({ db, vault, logger }),
    accounts: new AccountService({ db, vault, logger }),
    reporting: (sender, now) =>
      new ReportingService({
        db,
        gate,
        logger,
        sender: () => {
          if (!sender) throw new Error('this test sends nothing');
          return sender;
        },
        accountEnvironment: 'TEST',
        now,
        leaseSeconds: 60,
      }),
  };
}

/** An e-invoice row as the outbound or inbound path would store it. */
export interface EInvoiceFields {
  companyId: string;
  direction?: 'OUTBOUND' | 'INBOUND';
  status?: string;
  number?: string;
  issueDate?: string;
  createdAt?: Date;
  sellerOib?: string;
  buyerOib?: string | null;
  integrationAccountId?: string | null;
  providerKind?: string | null;
  ublXml?: string;
  /** PayableAmount, e.g. `'125.00'`; default none (not known). */
  totalAmount?: string | null;
}

/** Inserts an e-invoice (operator scope) and returns its id. */
export async function insertEInvoice(
  db: Database,
  fields: EInvoiceFields,
): Promise<string> {
  const id = `ei_${randomUUID()}`;
  await db.transaction(operator, (tx) =>
    tx.query(
      `INSERT INTO "EInvoice" (id, "companyId", direction, status, number,
         "issueDate", "idempotencyKey", "documentHash", "sellerOib",
         "buyerOib", "ublXml", "integrationAccountId", "providerKind",
         "createdAt", "totalAmount")
       VALUES ($1, $2, $3, $4, $5, $6, $1, 'hash', $7, $8, $9, $10, $11,
         COALESCE($12, now()), $13)`,
      [
        id,
        fields.companyId,
        fields.direction ?? 'OUTBOUND',
        fields.status ?? 'SENT',
        fields.number ?? `R-${randomUUID().slice(0, 8)}`,
        fields.issueDate ?? '2026-03-02',
        fields.sellerOib ?? randomOib(),
        fields.buyerOib === undefined ? randomOib() : fields.buyerOib,
        fields.ublXml ?? '<Invoice/>',
        fields.integrationAccountId ?? null,
        fields.providerKind ?? null,
        fields.createdAt ?? null,
        fields.totalAmount ?? null,
      ],
    ),
  );
  return id;
}

/** Every report of a company (operator scope), oldest first. */
export async function reportsOf(
  db: Database,
  companyId: string,
): Promise<ReportRow[]> {
  return db.transaction(operator, (tx) =>
    tx.query<ReportRow>(
      `SELECT r.*, r.deadline::text AS deadline FROM "EInvoiceReport" r
        WHERE "companyId" = $1 ORDER BY "createdAt", id`,
      [companyId],
    ),
  );
}
