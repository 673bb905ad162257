import { randomUUID } from 'node:crypto';
import {
  operator,
  tenant,
  type Database,
  type Queryable,
} from '../db/database.js';
import {
  companyNotFound,
  invalidInput,
  TenantGateError,
} from '../errors/tenantgate-error.js';
import type { Logger } from '../logging/logger.js';
import {
  openPkcs12,
  packPkcs12,
  type CertificateInfo,
} from '../fiscal/pkcs12.js';
import { envelopeKeyVersion, type SecretBinding } from '../vault/envelope.js';
import {
  findAccount,
  insertAccount,
  listAccounts,
  markVerified,
  replaceSecret,
  sealedSecretsAfter,
  setCertificate,
  setProviderConfig,
  setStatus,
  type IntegrationAccount,
} from './account-store.js';
import {
  ACCOUNT_ENVIRONMENTS,
  isKind,
  type AccountEnvironment,
  type Kind,
} from './kinds.js';
import { parseProviderConfig } from './provider-config.js';

/** The vault's side of account management. */
export interface AccountVault {
  seal(plaintext: string | Buffer, binding: SecretBinding): string;
  canOpen(envelope: string, binding: SecretBinding): boolean;
}

export interface CreateAccountInput {
  companyId: string;
  kind: string;
  environment: string;
  /** The API key. Read from stdin or a file, never from argv. */
  secret: string;
  providerConfig?: unknown;
}

/** A FISCALIZATION_CIS account from a PKCS#12 file and its password. */
export interface CreateCertificateAccountInput {
  companyId: string;
  environment: string;
  /** The PKCS#12 file's bytes. */
  p12: Buffer;
  /** Its password (any Unicode). Read from stdin or a file. */
  password: string;
  providerConfig?: unknown;
  /** The clock for the expiry check. Default: now. */
  now?: Date;
}

export interface VerifyReport {
  checked: number;
  opened: number;
  failed: { id: string; companyId: string; status: string }[];
}

/** Binding that ties an account's envelope to its row and company. */
export function accountBinding(
  companyId: string,
  accountId: string,
): SecretBinding {
  return { purpose: 'integration-account', companyId, accountId };
}

/**
 * Integration accounts: create, list, show, rotate, disable, enable and
 * verify. Secrets go in, never out.
 */
export class AccountService {
  constructor(
    private readonly deps: {
      db: Database;
      vault: AccountVault;
      logger: Logger;
    },
  ) {}

  async create(input: CreateAccountInput): Promise<IntegrationAccount> {
    const kind = parseKind(input.kind);
    const environment = parseEnvironment(input.environment);
    const secret = parseSecret(input.secret);
    const providerConfig = parseProviderConfig(kind, input.providerConfig);
    if (kind === 'FISCALIZATION_CIS') {
      throw invalidInput(
        'kind',
        'certificate-account',
        'FISCALIZATION_CIS accounts are created from a PKCS#12 certificate, not an API key',
      );
    }

    const id = `ia_${randomUUID()}`;
    const envelope = this.deps.vault.seal(
      secret,
      accountBinding(input.companyId, id),
    );
    const account = await this.inTenant(input.companyId, async (tx) => {
      const company = await tx.query('SELECT 1 FROM "Company" WHERE id = $1', [
        input.companyId,
      ]);
      if (company.length === 0) throw companyNotFound(input.companyId);
      try {
        return await insertAccount(tx, {
          id,
          companyId: input.companyId,
          kind,
          environment,
          providerConfig,
          secretEnvelope: envelope,
          keyVersion: envelopeKeyVersion(envelope),
        });
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new TenantGateError(
            'ACCOUNT_EXISTS',
            `The company already has a ${kind} account for ${environment}`,
            { companyId: input.companyId, kind, environment },
          );
        }
        throw error;
      }
    });
    this.deps.logger.info({
      event: 'account.created',
      companyId: account.companyId,
      integrationAccountId: account.id,
      kind,
      environment,
    });
    return account;
  }

  /**
   * Creates a FISCALIZATION_CIS account from a PKCS#12 file: opens and
   * checks it (CERTIFICATE_INVALID when it does not open or has no OIB,
   * or when the OIB is not the company's), records subject, serial,
   * expiry and OIB, and seals the file with its password. An expired
   * certificate makes an EXPIRED account.
   */
  async createCertificateAccount(
    input: CreateCertificateAccountInput,
  ): Promise<IntegrationAccount> {
    const kind = 'FISCALIZATION_CIS';
    const environment = parseEnvironment(input.environment);
    const providerConfig = parseProviderConfig(kind, input.providerConfig);
    const info = openPkcs12(input.p12, input.password).info;
    const status = expiryStatus(info, input.now);

    const id = `ia_${randomUUID()}`;
    const envelope = this.deps.vault.seal(
      packPkcs12(input.p12, input.password),
      accountBinding(input.companyId, id),
    );
    const account = await this.inTenant(input.companyId, async (tx) => {
      await assertCompanyOib(tx, input.companyId, info);
      try {
        await insertAccount(tx, {
          id,
          companyId: input.companyId,
          kind,
          environment,
          providerConfig,
          secretEnvelope: envelope,
          keyVersion: envelopeKeyVersion(envelope),
        });
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        throw new TenantGateError(
          'ACCOUNT_EXISTS',
          `The company already has a ${kind} account for ${environment}`,
          { companyId: input.companyId, kind, environment },
        );
      }
      return setCertificate(tx, id, certificateColumns(info), status);
    });
    if (!account) throw accountNotFound(input.companyId, id);
    this.deps.logger.info({
      event: 'account.created',
      companyId: account.companyId,
      integrationAccountId: account.id,
      kind,
      environment,
      status,
      certSerial: info.serialDecimal,
      certNotAfter: info.notAfter.toISOString(),
    });
    return account;
  }

  /**
   * Replaces a CIS account's PKCS#12 with the same checks as creation;
   * the account becomes ACTIVE again, or EXPIRED if the new one is.
   */
  async rotateCertificate(
    companyId: string,
    id: string,
    p12: Buffer,
    password: string,
    now?: Date,
  ): Promise<IntegrationAccount> {
    const info = openPkcs12(p12, password).info;
    const envelope = this.deps.vault.seal(
      packPkcs12(p12, password),
      accountBinding(companyId, id),
    );
    const account = await this.inTenant(companyId, async (tx) => {
      const current = await findAccount(tx, id);
      if (current?.kind !== 'FISCALIZATION_CIS') return undefined;
      await assertCompanyOib(tx, companyId, info);
      return setCertificate(
        tx,
        id,
        certificateColumns(info),
        expiryStatus(info, now),
        { envelope, keyVersion: envelopeKeyVersion(envelope) },
      );
    });
    if (!account) throw accountNotFound(companyId, id);
    this.deps.logger.info({
      event: 'account.secret_rotated',
      companyId,
      integrationAccountId: id,
      certSerial: info.serialDecimal,
    });
    return account;
  }

  async list(companyId?: string): Promise<IntegrationAccount[]> {
    if (companyId) {
      return this.inTenant(companyId, async (tx) => {
        const company = await tx.query(
          'SELECT 1 FROM "Company" WHERE id = $1',
          [companyId],
        );
        if (company.length === 0) throw companyNotFound(companyId);
        return listAccounts(tx, { companyId });
      });
    }
    return this.deps.db.transaction(operator, (tx) => listAccounts(tx));
  }

  async show(companyId: string, id: string): Promise<IntegrationAccount> {
    const account = await this.inTenant(companyId, (tx) => findAccount(tx, id));
    if (!account) throw accountNotFound(companyId, id);
    return account;
  }

  /** Replaces the secret; the old one is gone once this commits. */
  async rotate(
    companyId: string,
    id: string,
    secret: string,
  ): Promise<IntegrationAccount> {
    const envelope = this.deps.vault.seal(
      parseSecret(secret),
      accountBinding(companyId, id),
    );
    const account = await this.inTenant(companyId, (tx) =>
      replaceSecret(tx, id, envelope, envelopeKeyVersion(envelope)),
    );
    if (!account) throw accountNotFound(companyId, id);
    this.deps.logger.info({
      event: 'account.secret_rotated',
      companyId,
      integrationAccountId: id,
    });
    return account;
  }

  /**
   * Changes non-secret settings: `changes` is merged into the current
   * provider config (a key set to null is removed) and the result is
   * validated for the account's kind, e.g. `{ taxReporting: 'PLATFORM' }`.
   */
  async updateProviderConfig(
    companyId: string,
    id: string,
    changes: Record<string, unknown>,
  ): Promise<IntegrationAccount> {
    const account = await this.inTenant(companyId, async (tx) => {
      const current = await findAccount(tx, id);
      if (!current) return undefined;
      const merged: Record<string, unknown> = { ...current.providerConfig };
      for (const [key, value] of Object.entries(changes)) {
        if (value === null) delete merged[key];
        else merged[key] = value;
      }
      const config = parseProviderConfig(current.kind, merged);
      return setProviderConfig(tx, id, config);
    });
    if (!account) throw accountNotFound(companyId, id);
    this.deps.logger.info({
      event: 'account.config_changed',
      companyId,
      integrationAccountId: id,
      keys: Object.keys(changes),
    });
    return account;
  }

  async disable(
    companyId: string,
    id: string,
    reason: string,
  ): Promise<IntegrationAccount> {
    if (!reason.trim()) {
      throw invalidInput('reason', 'required', 'reason: a reason is required');
    }
    return this.changeStatus(companyId, id, 'DISABLED', reason);
  }

  async enable(companyId: string, id: string): Promise<IntegrationAccount> {
    return this.changeStatus(companyId, id, 'ACTIVE', null);
  }

  /**
   * Opens every secret (operator scope), records `secretVerifiedAt` for
   * those that open, and reports those that do not.
   */
  async verifyAll(batchSize = 500): Promise<VerifyReport> {
    const report: VerifyReport = { checked: 0, opened: 0, failed: [] };
    let after = '';
    for (;;) {
      const batch = await this.deps.db.transaction(operator, (tx) =>
        sealedSecretsAfter(tx, after, batchSize),
      );
      if (batch.length === 0) break;
      after = batch[batch.length - 1]?.id ?? after;
      const opened: string[] = [];
      for (const row of batch) {
        if (!row.secretEnvelope) continue;
        report.checked++;
        const binding = accountBinding(row.companyId, row.id);
        if (this.deps.vault.canOpen(row.secretEnvelope, binding)) {
          opened.push(row.id);
        } else {
          report.failed.push({
            id: row.id,
            companyId: row.companyId,
            status: row.status,
          });
        }
      }
      report.opened += opened.length;
      await this.deps.db.transaction(operator, (tx) =>
        markVerified(tx, opened),
      );
    }
    this.deps.logger.info({
      event: 'account.verified',
      checked: report.checked,
      opened: report.opened,
      failed: report.failed.length,
    });
    return report;
  }

  private async changeStatus(
    companyId: string,
    id: string,
    status: 'ACTIVE' | 'DISABLED',
    reason: string | null,
  ): Promise<IntegrationAccount> {
    const account = await this.inTenant(companyId, (tx) =>
      setStatus(tx, id, status, reason),
    );
    if (!account) throw accountNotFound(companyId, id);
    this.deps.logger.info({
      event: status === 'ACTIVE' ? 'account.enabled' : 'account.disabled',
      companyId,
      integrationAccountId: id,
      reason,
    });
    return account;
  }

  private inTenant<T>(
    companyId: string,
    fn: (tx: Queryable) => Promise<T>,
  ): Promise<T> {
    return this.deps.db.transaction(tenant(companyId), fn);
  }
}

function parseKind(value: string): Kind {
  if (isKind(value)) return value;
  throw invalidInput('kind', 'enum', `kind: unknown kind '${value}'`);
}

function parseEnvironment(value: string): AccountEnvironment {
  const env = value.toUpperCase();
  if ((ACCOUNT_ENVIRONMENTS as readonly string[]).includes(env)) {
    return env as AccountEnvironment;
  }
  throw invalidInput(
    'environment',
    'enum',
    `environment: must be TEST or PROD, got '${value}'`,
  );
}

function parseSecret(value: string): string {
  const secret = value.trim();
  if (secret.length === 0) {
    throw invalidInput('secret', 'required', 'secret: the secret is empty');
  }
  if (/[\r\n\0]/.test(secret)) {
    throw invalidInput(
      'secret',
      'single-line',
      'secret: an API key must be one line without control characters',
    );
  }
  return secret;
}

function expiryStatus(
  info: CertificateInfo,
  now: Date = new Date(),
): 'ACTIVE' | 'EXPIRED' {
  return info.notAfter.getTime() <= now.getTime() ? 'EXPIRED' : 'ACTIVE';
}

function certificateColumns(info: CertificateInfo) {
  return {
    certSubject: info.subject,
    certSerial: info.serialDecimal,
    certNotAfter: info.notAfter,
    certOib: info.oib,
  };
}

/** The certificate must carry the company's own OIB. */
async function assertCompanyOib(
  tx: Queryable,
  companyId: string,
  info: CertificateInfo,
): Promise<void> {
  const rows = await tx.query<{ oib: string }>(
    'SELECT oib FROM "Company" WHERE id = $1',
    [companyId],
  );
  const company = rows[0];
  if (!company) throw companyNotFound(companyId);
  if (company.oib === info.oib) return;
  throw new TenantGateError(
    'CERTIFICATE_INVALID',
    "The certificate's OIB is not the company's",
    {
      field: 'certificate',
      rule: 'oib-matches-company',
      companyId,
      certOib: info.oib,
      companyOib: company.oib,
    },
  );
}

function accountNotFound(companyId: string, id: string) {
  return new TenantGateError(
    'ACCOUNT_NOT_FOUND',
    'No such integration account for this company',
    { companyId, integrationAccountId: id },
  );
}

export function isUniqueViolation(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { code?: unknown }).code === '23505'
  );
}
