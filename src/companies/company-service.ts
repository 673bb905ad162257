import { randomUUID } from 'node:crypto';
import { isEInvoiceKind, LEGACY_PROVIDER_KINDS } from '../accounts/kinds.js';
import { operator, type Database, type Queryable } from '../db/database.js';
import { companyNotFound, invalidInput } from '../errors/tenantgate-error.js';
import type { Logger } from '../logging/logger.js';
import type { SecretBinding } from '../vault/envelope.js';
import { isValidOib } from './oib.js';

export interface Company {
  id: string;
  name: string;
  oib: string;
  fiscalizationEnabled: boolean;
  eInvoicingEnabled: boolean;
  eInvoiceKind: string | null;
  premisesCode: string | null;
  deviceCode: string | null;
  eInvoiceProvider: string | null;
  hasLegacyEInvoiceKey: boolean;
  hasLegacyCertificate: boolean;
  createdAt: Date;
}

const COLUMNS = `id, name, oib, "fiscalizationEnabled", "eInvoicingEnabled",
  "eInvoiceKind", "premisesCode", "deviceCode", "eInvoiceProvider",
  "eInvoiceApiKeyEncrypted" IS NOT NULL AS "hasLegacyEInvoiceKey",
  "fiscalCertificateEncrypted" IS NOT NULL AS "hasLegacyCertificate",
  "createdAt"`;

export interface CreateCompanyInput {
  /** Default: a generated `co_<uuid>`. */
  id?: string;
  name: string;
  oib: string;
  fiscalizationEnabled?: boolean;
  eInvoicingEnabled?: boolean;
  eInvoiceKind?: string | null;
}

export interface EntitlementChange {
  fiscalizationEnabled?: boolean;
  eInvoicingEnabled?: boolean;
  eInvoiceKind?: string | null;
}

export interface Sealer {
  seal(plaintext: string | Buffer, binding: SecretBinding): string;
}

/**
 * Companies (tenants). Creating one and setting legacy credentials are
 * operator acts; nothing here returns a secret.
 */
export class CompanyService {
  constructor(
    private readonly deps: { db: Database; vault: Sealer; logger: Logger },
  ) {}

  async create(input: CreateCompanyInput): Promise<Company> {
    const name = input.name.trim();
    if (!name) throw invalidInput('name', 'required', 'name: required');
    if (!isValidOib(input.oib)) {
      throw invalidInput(
        'oib',
        'iso7064-mod11-10',
        `oib: '${input.oib}' is not 11 digits with a valid check digit`,
      );
    }
    const kind = parseDefaultKind(input.eInvoiceKind ?? null);
    const id = input.id ?? `co_${randomUUID()}`;
    const company = await this.deps.db.transaction(operator, async (tx) => {
      const taken = await tx.query<{ id: string }>(
        'SELECT id FROM "Company" WHERE oib = $1 OR id = $2',
        [input.oib, id],
      );
      if (taken[0]) {
        throw invalidInput('oib', 'unique', 'oib: a company has this OIB', {
          companyId: taken[0].id,
        });
      }
      const rows = await tx.query<Company>(
        `INSERT INTO "Company" (id, name, oib, "fiscalizationEnabled",
           "eInvoicingEnabled", "eInvoiceKind")
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
        [
          id,
          name,
          input.oib,
          input.fiscalizationEnabled ?? false,
          input.eInvoicingEnabled ?? false,
          kind,
        ],
      );
      return rows[0] as Company;
    });
    this.deps.logger.info({ event: 'company.created', companyId: id });
    return company;
  }

  async list(): Promise<Company[]> {
    return this.deps.db.transaction(operator, (tx) =>
      tx.query<Company>(`SELECT ${COLUMNS} FROM "Company" ORDER BY name, id`),
    );
  }

  async show(id: string): Promise<Company> {
    const rows = await this.deps.db.transaction(operator, (tx) =>
      tx.query<Company>(`SELECT ${COLUMNS} FROM "Company" WHERE id = $1`, [id]),
    );
    if (!rows[0]) throw companyNotFound(id);
    return rows[0];
  }

  async findByOib(oib: string): Promise<Company | undefined> {
    const rows = await this.deps.db.transaction(operator, (tx) =>
      tx.query<Company>(`SELECT ${COLUMNS} FROM "Company" WHERE oib = $1`, [
        oib,
      ]),
    );
    return rows[0];
  }

  /** Switches fiscalization or e-invoicing on or off. */
  async setEntitlements(id: string, change: EntitlementChange) {
    const kind =
      change.eInvoiceKind === undefined
        ? undefined
        : parseDefaultKind(change.eInvoiceKind);
    const company = await this.deps.db.transaction(operator, (tx) =>
      updateEntitlements(tx, id, change, kind),
    );
    if (!company) throw companyNotFound(id);
    this.deps.logger.info({
      event: 'company.entitlements_changed',
      companyId: id,
      ...change,
    });
    return company;
  }

  /**
   * Stores a legacy (V1) e-invoice API key the way the prior system kept
   * it: on the company. For importing and demonstrating a platform that
   * has not migrated yet.
   */
  async setLegacyEInvoiceKey(
    id: string,
    provider: string,
    apiKey: string,
  ): Promise<void> {
    if (!LEGACY_PROVIDER_KINDS[provider]) {
      throw invalidInput(
        'eInvoiceProvider',
        'enum',
        `eInvoiceProvider: one of ${Object.keys(LEGACY_PROVIDER_KINDS).join(', ')}`,
      );
    }
    const envelope = this.deps.vault.seal(apiKey, {
      purpose: 'legacy-einvoice-key',
      companyId: id,
    });
    const rows = await this.deps.db.transaction(operator, (tx) =>
      tx.query(
        `UPDATE "Company" SET "eInvoiceProvider" = $2,
           "eInvoiceApiKeyEncrypted" = $3, "updatedAt" = now()
         WHERE id = $1 RETURNING id`,
        [id, provider, envelope],
      ),
    );
    if (rows.length === 0) throw companyNotFound(id);
  }
}

async function updateEntitlements(
  tx: Queryable,
  id: string,
  change: EntitlementChange,
  kind: string | null | undefined,
): Promise<Company | undefined> {
  const rows = await tx.query<Company>(
    `UPDATE "Company" SET
       "fiscalizationEnabled" = COALESCE($2, "fiscalizationEnabled"),
       "eInvoicingEnabled" = COALESCE($3, "eInvoicingEnabled"),
       "eInvoiceKind" = CASE WHEN $4 THEN $5 ELSE "eInvoiceKind" END,
       "updatedAt" = now()
     WHERE id = $1 RETURNING ${COLUMNS}`,
    [
      id,
      change.fiscalizationEnabled ?? null,
      change.eInvoicingEnabled ?? null,
      kind !== undefined,
      kind ?? null,
    ],
  );
  return rows[0];
}

function parseDefaultKind(value: string | null): string | null {
  if (value === null) return null;
  if (isEInvoiceKind(value)) return value;
  throw invalidInput(
    'eInvoiceKind',
    'enum',
    `eInvoiceKind: '${value}' is not an e-invoice kind`,
  );
}
