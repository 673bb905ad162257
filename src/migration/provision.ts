import { randomUUID, timingSafeEqual } from 'node:crypto';
import {
  accountBinding,
  isUniqueViolation,
} from '../accounts/account-service.js';
import { insertAccount } from '../accounts/account-store.js';
import type { AccountEnvironment, Kind } from '../accounts/kinds.js';
import { operator, type Database, type Queryable } from '../db/database.js';
import type { Logger } from '../logging/logger.js';
import { recordVerified } from '../audit/secret-check.js';
import { TenantGateError } from '../errors/tenantgate-error.js';
import type { CertificateInfo } from '../fiscal/pkcs12.js';
import { envelopeKeyVersion, type SecretBinding } from '../vault/envelope.js';
import {
  suspendUnbackedEntitlements,
  type EntitlementsReport,
} from './entitlements.js';
import {
  readCheckpoint,
  saveCheckpoint,
  clearCheckpoint,
} from './checkpoint.js';
import {
  legacyCertificateBinding,
  legacyCertificatesOf,
  legacyCompaniesAfter,
  legacyProviderKind,
  readLegacyApiKey,
  sameSerial,
  type LegacyCertificate,
  type LegacyCompany,
  type LegacyKeyVault,
} from './legacy-credentials.js';

/** What provisioning does (or would do) for one legacy credential. */
export type ProvisionAction =
  | 'create'
  | 'created'
  | 'already-provisioned'
  | 'adopt-existing'
  | 'adopted-existing'
  | 'repair'
  | 'repaired'
  | 'create-inactive'
  | 'created-inactive'
  | 'not-provisioned';

/** Why a legacy credential was not provisioned: stable codes. */
export type ProvisionReason =
  | 'legacy-provider-unknown'
  | 'legacy-provider-without-key'
  | 'legacy-key-unreadable'
  | 'legacy-key-invalid'
  | 'account-exists-other-credential'
  | 'account-exists-not-active'
  | 'legacy-certificate-expired'
  | 'legacy-certificate-revoked'
  | 'legacy-certificate-pending'
  | 'legacy-certificate-column-unsupported'
  | 'legacy-certificate-without-file'
  | 'legacy-certificate-unreadable'
  | 'legacy-certificate-oib-mismatch'
  | 'legacy-certificate-serial-mismatch'
  | 'account-exists-other-certificate'
  | 'account-exists-without-secret'
  | 'account-created-concurrently';

/** One line of the per-company plan. */
export interface ProvisionItem {
  companyId: string;
  source: 'legacy-einvoice-key' | 'legacy-fiscal-certificate';
  /** Company id for a key, certificate id for a certificate. */
  sourceId: string;
  kind: Kind | null;
  environment: AccountEnvironment;
  action: ProvisionAction;
  integrationAccountId: string | null;
  /**
   * Why not provisioned (`not-provisioned`), or why the account is made
   * inactive (`create-inactive`, `created-inactive`).
   */
  reason: ProvisionReason | null;
  /** The status of the account an inactive item creates. */
  accountStatus?: 'DISABLED' | 'EXPIRED';
}

/** The outcome of one provisioning run, dry or applied. */
export interface ProvisionReport {
  mode: 'dry-run' | 'apply';
  runId: string;
  accountEnvironment: AccountEnvironment;
  /** The company id the run resumed after, when a checkpoint was left. */
  resumedAfter: string | null;
  companiesScanned: number;
  counts: Record<ProvisionAction, number>;
  notProvisionedByReason: Partial<Record<ProvisionReason, number>>;
  /** Inactive accounts (expired, revoked credentials), by reason. */
  inactiveByReason: Partial<Record<ProvisionReason, number>>;
  items: ProvisionItem[];
  /**
   * After the run (a dry run: as things are), the entitlements that
   * companies have no ACTIVE account for: nothing provisioning can do
   * backs them. `tenantgate entitlements suspend` lists them and, with
   * `--apply`, switches them off.
   */
  entitlementsWithoutAccount: Pick<
    EntitlementsReport,
    'byEntitlement' | 'byReason'
  >;
}

/** The vault side of provisioning: it never hands out a secret. */
export interface ProvisionVault extends LegacyKeyVault {
  seal(plaintext: string | Buffer, binding: SecretBinding): string;
  /** Seals a legacy secret for its account, inside the vault. */
  reseal(envelope: string, from: SecretBinding, to: SecretBinding): string;
  /** The key check value of the key that opens it, or null. */
  verify(envelope: string, binding: SecretBinding): string | null;
  /** A sealed PKCS#12's certificate (public) through its signer. */
  signerFor(
    envelope: string,
    binding: SecretBinding,
  ): { certificate: CertificateInfo };
}

export interface ProvisionOptions {
  /** Write accounts. Default false: a dry run that only plans. */
  apply?: boolean;
  /** The environment legacy keys talk to (`settings.accountEnvironment`). */
  accountEnvironment: AccountEnvironment;
  /** Companies read per batch. Default 500. */
  batchSize?: number;
  /** Ignore a checkpoint left by an interrupted run. Default false. */
  restart?: boolean;
  /** Stop after this many batches (tests of resuming). Default none. */
  maxBatches?: number;
  /** Report time source. Default now. */
  now?: () => Date;
}

export interface ProvisionDeps {
  db: Database;
  vault: ProvisionVault;
  logger: Logger;
}

const JOB = 'provision';
const SCOPE = 'Company';

/**
 * Creates integration accounts from legacy credentials: a company's
 * legacy e-invoice key becomes an account of its provider's kind in the
 * legacy environment, its secret re-sealed for the account. Never an
 * ACTIVE account without a usable secret: a key that does not open is
 * reported, not provisioned. Idempotent (provenance says what was
 * provisioned from what) and resumable (a checkpoint per batch).
 */
export async function provision(
  deps: ProvisionDeps,
  options: ProvisionOptions,
): Promise<ProvisionReport> {
  const apply = options.apply ?? false;
  const batchSize = options.batchSize ?? 500;
  const runId = `prov_${randomUUID()}`;
  const report = emptyReport(apply, runId, options.accountEnvironment);

  const start = await startingPoint(deps.db, apply, options.restart);
  report.resumedAfter = start || null;
  let after = start;
  let batches = 0;

  for (;;) {
    if (options.maxBatches !== undefined && batches >= options.maxBatches) {
      return report;
    }
    const batch = await readBatch(deps.db, after, batchSize);
    if (batch.companies.length === 0) break;
    batches++;

    const last = batch.companies[batch.companies.length - 1]?.id ?? after;
    // One transaction per batch, a savepoint per company: one commit
    // (and checkpoint) per batch instead of one per company.
    const items = await deps.db.transaction(operator, async (tx) => {
      const out: ProvisionItem[] = [];
      for (const company of batch.companies) {
        const state = {
          company,
          certificates: batch.certificates.get(company.id) ?? [],
        };
        out.push(
          ...(await provisionCompany(deps, tx, options, apply, runId, state)),
        );
      }
      if (apply) {
        await saveCheckpoint(tx, JOB, SCOPE, { lastId: last, runId });
      }
      return out;
    });
    report.companiesScanned += batch.companies.length;
    for (const item of items) addItem(report, item);
    after = last;
  }

  if (apply) {
    await deps.db.transaction(operator, (tx) =>
      clearCheckpoint(tx, JOB, SCOPE),
    );
  }
  const unbacked = await suspendUnbackedEntitlements(deps, {
    accountEnvironment: options.accountEnvironment,
  });
  report.entitlementsWithoutAccount = {
    byEntitlement: unbacked.byEntitlement,
    byReason: unbacked.byReason,
  };
  deps.logger.info({
    event: 'migration.provision.finished',
    runId,
    mode: report.mode,
    companiesScanned: report.companiesScanned,
    ...report.counts,
  });
  return report;
}

function emptyReport(
  apply: boolean,
  runId: string,
  accountEnvironment: AccountEnvironment,
): ProvisionReport {
  return {
    mode: apply ? 'apply' : 'dry-run',
    runId,
    accountEnvironment,
    resumedAfter: null,
    companiesScanned: 0,
    counts: {
      create: 0,
      created: 0,
      'already-provisioned': 0,
      'adopt-existing': 0,
      'adopted-existing': 0,
      repair: 0,
      repaired: 0,
      'create-inactive': 0,
      'created-inactive': 0,
      'not-provisioned': 0,
    },
    notProvisionedByReason: {},
    inactiveByReason: {},
    items: [],
    entitlementsWithoutAccount: {
      byEntitlement: { fiscalization: 0, einvoicing: 0 },
      byReason: {},
    },
  };
}

function addItem(report: ProvisionReport, item: ProvisionItem): void {
  report.items.push(item);
  report.counts[item.action]++;
  if (!item.reason) return;
  const byReason =
    item.action === 'not-provisioned'
      ? report.notProvisionedByReason
      : report.inactiveByReason;
  byReason[item.reason] = (byReason[item.reason] ?? 0) + 1;
}

async function startingPoint(
  db: Database,
  apply: boolean,
  restart: boolean | undefined,
): Promise<string> {
  return db.transaction(operator, async (tx) => {
    if (restart) {
      if (apply) await clearCheckpoint(tx, JOB, SCOPE);
      return '';
    }
    return (await readCheckpoint(tx, JOB, SCOPE))?.lastId ?? '';
  });
}

interface CompanyState {
  company: LegacyCompany;
  certificates: LegacyCertificate[];
}

async function readBatch(db: Database, after: string, limit: number) {
  return db.transaction(operator, async (tx) => {
    const companies = await legacyCompaniesAfter(tx, after, limit);
    const ids = companies.map((c) => c.id);
    const certificates = new Map<string, LegacyCertificate[]>();
    for (const cert of await legacyCertificatesOf(tx, ids)) {
      const list = certificates.get(cert.companyId) ?? [];
      list.push(cert);
      certificates.set(cert.companyId, list);
    }
    return { companies, certificates };
  });
}

/** Plans (and, with `apply`, carries out) one company's credentials. */
async function provisionCompany(
  deps: ProvisionDeps,
  tx: Queryable,
  options: ProvisionOptions,
  apply: boolean,
  runId: string,
  state: CompanyState,
): Promise<ProvisionItem[]> {
  const items: ProvisionItem[] = [];
  const key = await provisionLegacyKey(deps, tx, options, apply, runId, state);
  if (key) items.push(key);
  for (const cert of state.certificates) {
    items.push(
      await provisionCertificate(deps, tx, options, apply, runId, {
        company: state.company,
        cert,
      }),
    );
  }
  items.push(...certificateColumnItems(state));
  return items;
}

async function provisionLegacyKey(
  deps: ProvisionDeps,
  tx: Queryable,
  options: ProvisionOptions,
  apply: boolean,
  runId: string,
  { company }: CompanyState,
): Promise<ProvisionItem | undefined> {
  const { eInvoiceProvider, eInvoiceApiKeyEncrypted } = company;
  if (eInvoiceProvider === null && eInvoiceApiKeyEncrypted === null) {
    return undefined;
  }
  const environment = options.accountEnvironment;
  const kind = legacyProviderKind(eInvoiceProvider) ?? null;
  const item: ProvisionItem = {
    companyId: company.id,
    source: 'legacy-einvoice-key',
    sourceId: company.id,
    kind,
    environment,
    action: 'not-provisioned',
    integrationAccountId: null,
    reason: null,
  };
  if (kind === null) return { ...item, reason: 'legacy-provider-unknown' };
  if (eInvoiceApiKeyEncrypted === null) {
    return { ...item, reason: 'legacy-provider-without-key' };
  }
  const legacy = readLegacyApiKey(deps.vault, {
    id: company.id,
    eInvoiceApiKeyEncrypted,
  });
  if ('failure' in legacy) return { ...item, reason: legacy.failure };

  await tx.query('SAVEPOINT provision_company');
  try {
    const result = await provisionKeyIn(deps, tx, item, legacy.key, {
      apply,
      runId,
      provider: eInvoiceProvider,
    });
    await tx.query('RELEASE SAVEPOINT provision_company');
    return result;
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    // Someone created the account meanwhile: the next run decides.
    await tx.query('ROLLBACK TO SAVEPOINT provision_company');
    return { ...item, reason: 'account-created-concurrently' };
  }
}

async function provisionKeyIn(
  deps: ProvisionDeps,
  tx: Queryable,
  item: ProvisionItem,
  key: string,
  run: { apply: boolean; runId: string; provider: string | null },
): Promise<ProvisionItem> {
  const kind = item.kind as Kind;
  const existing = await existingAccount(
    tx,
    item.companyId,
    kind,
    item.environment,
  );
  if (existing) return resolveExisting(deps, tx, item, existing, key, run);
  if (!run.apply) return { ...item, action: 'create' };
  const id = await createAccount(deps, tx, item, kind, key, run);
  return { ...item, action: 'created', integrationAccountId: id };
}

interface ExistingAccount {
  id: string;
  status: string;
  secretEnvelope: string | null;
  provenance: string | null;
}

async function existingAccount(
  tx: Queryable,
  companyId: string,
  kind: Kind,
  environment: AccountEnvironment,
): Promise<ExistingAccount | undefined> {
  const rows = await tx.query<ExistingAccount>(
    `SELECT a.id, a.status, a."secretEnvelope", p.source AS provenance
     FROM "IntegrationAccount" a
     LEFT JOIN "AccountProvenance" p ON p."integrationAccountId" = a.id
     WHERE a."companyId" = $1 AND a.kind = $2 AND a.environment = $3`,
    [companyId, kind, environment],
  );
  return rows[0];
}

/**
 * An account of the kind already exists. Provisioned by us: nothing to
 * do. Made by hand with the very same key: record provenance, so the
 * backfill may link to it. Anything else is left alone and reported.
 */
async function resolveExisting(
  deps: ProvisionDeps,
  tx: Queryable,
  item: ProvisionItem,
  account: ExistingAccount,
  legacyKey: string,
  run: { apply: boolean; runId: string; provider: string | null },
): Promise<ProvisionItem> {
  const linked = { ...item, integrationAccountId: account.id };
  if (account.provenance === item.source) {
    return { ...linked, action: 'already-provisioned' };
  }
  if (account.status !== 'ACTIVE') {
    return { ...linked, reason: 'account-exists-not-active' };
  }
  if (!account.secretEnvelope) {
    // The prior system's bug: ACTIVE without a secret. Give it the
    // legacy key it was meant to hold.
    if (!run.apply) return { ...linked, action: 'repair' };
    await sealInto(deps, tx, item, account.id, legacyKey);
    await insertProvenance(tx, item, account.id, run);
    return { ...linked, action: 'repaired' };
  }
  const same = accountHoldsKey(
    deps.vault,
    item.companyId,
    {
      id: account.id,
      secretEnvelope: account.secretEnvelope,
    },
    legacyKey,
  );
  if (!same) return { ...linked, reason: 'account-exists-other-credential' };
  if (!run.apply) return { ...linked, action: 'adopt-existing' };
  await insertProvenance(tx, item, account.id, run);
  return { ...linked, action: 'adopted-existing' };
}

/** Whether an account's sealed secret is exactly `key`. */
export function accountHoldsKey(
  vault: LegacyKeyVault,
  companyId: string,
  account: { id: string; secretEnvelope: string },
  key: string,
): boolean {
  let held: string | undefined;
  try {
    const headers: Record<string, string> = {};
    vault
      .apiKeyAuthoriser(
        account.secretEnvelope,
        accountBinding(companyId, account.id),
      )
      .authorise(headers);
    held = headers.authorization;
  } catch {
    return false;
  }
  if (held === undefined) return false;
  const a = Buffer.from(held, 'utf8');
  const b = Buffer.from(key, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

async function createAccount(
  deps: ProvisionDeps,
  tx: Queryable,
  item: ProvisionItem,
  kind: Kind,
  key: string,
  run: { runId: string; provider: string | null },
): Promise<string> {
  const id = `ia_${randomUUID()}`;
  const envelope = deps.vault.seal(key, accountBinding(item.companyId, id));
  await insertAccount(tx, {
    id,
    companyId: item.companyId,
    kind,
    environment: item.environment,
    providerConfig: {},
    secretEnvelope: envelope,
    keyVersion: envelopeKeyVersion(envelope),
  });
  await insertProvenance(tx, item, id, run);
  await recordOpens(deps, tx, item.companyId, id, envelope);
  deps.logger.info({
    event: 'migration.provision.account_created',
    runId: run.runId,
    companyId: item.companyId,
    integrationAccountId: id,
    kind,
    environment: item.environment,
  });
  return id;
}

/** Seals the legacy key into an existing secretless account. */
async function sealInto(
  deps: ProvisionDeps,
  tx: Queryable,
  item: ProvisionItem,
  accountId: string,
  key: string,
): Promise<void> {
  const envelope = deps.vault.seal(
    key,
    accountBinding(item.companyId, accountId),
  );
  await tx.query(
    `UPDATE "IntegrationAccount"
     SET "secretEnvelope" = $2, "keyVersion" = $3, "updatedAt" = now()
     WHERE id = $1 AND "secretEnvelope" IS NULL`,
    [accountId, envelope, envelopeKeyVersion(envelope)],
  );
  await recordOpens(deps, tx, item.companyId, accountId, envelope);
  deps.logger.info({
    event: 'migration.provision.account_repaired',
    companyId: item.companyId,
    integrationAccountId: accountId,
  });
}

async function insertProvenance(
  tx: Queryable,
  item: ProvisionItem,
  accountId: string,
  run: { runId: string; provider: string | null },
): Promise<void> {
  await tx.query(
    `INSERT INTO "AccountProvenance" ("integrationAccountId", "companyId",
       kind, environment, source, "sourceId", "legacyProvider", "runId")
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      accountId,
      item.companyId,
      item.kind,
      item.environment,
      item.source,
      item.sourceId,
      run.provider,
      run.runId,
    ],
  );
}

/**
 * Records that a freshly sealed envelope opens, so the audit's secret
 * check need not open it again. A seal that does not open is a bug:
 * the batch fails rather than leave an ACTIVE account without a usable
 * secret.
 */
async function recordOpens(
  deps: ProvisionDeps,
  tx: Queryable,
  companyId: string,
  accountId: string,
  envelope: string,
): Promise<void> {
  const keyCheck = deps.vault.verify(
    envelope,
    accountBinding(companyId, accountId),
  );
  if (keyCheck === null) {
    throw new TenantGateError(
      'INTERNAL',
      'A secret sealed for a provisioned account does not open',
      { companyId, integrationAccountId: accountId },
    );
  }
  await recordVerified(tx, [
    { id: accountId, companyId, secretEnvelope: envelope, keyCheck },
  ]);
}

/** A legacy certificate row and its company. */
interface CertificateState {
  company: LegacyCompany;
  cert: LegacyCertificate;
}

/**
 * A legacy certificate becomes a FISCALIZATION_CIS account in the
 * certificate's environment: its PKCS#12 is opened by the vault (never
 * here), must carry the company's OIB and be unexpired, and is
 * re-sealed for the new account inside the vault, with the
 * certificate's subject, serial, expiry and OIB recorded on the account.
 * An expired or revoked certificate whose file opens becomes an
 * EXPIRED or DISABLED account (never ACTIVE) so that the backfill can
 * link what it signed; pending, unreadable and foreign certificates are
 * reported, not provisioned.
 */
async function provisionCertificate(
  deps: ProvisionDeps,
  tx: Queryable,
  options: ProvisionOptions,
  apply: boolean,
  runId: string,
  { company, cert }: CertificateState,
): Promise<ProvisionItem> {
  const item: ProvisionItem = {
    companyId: company.id,
    source: 'legacy-fiscal-certificate',
    sourceId: cert.id,
    kind: 'FISCALIZATION_CIS',
    environment: cert.environment,
    action: 'not-provisioned',
    integrationAccountId: null,
    reason: null,
  };
  const now = options.now?.() ?? new Date();
  const usable = usableCertificate(deps, company, cert, now);
  if ('reason' in usable) return { ...item, reason: usable.reason };
  const run = { apply, runId, ...usable };

  await tx.query('SAVEPOINT provision_certificate');
  try {
    const result =
      usable.status === 'ACTIVE'
        ? await provisionCertificateIn(deps, tx, item, run)
        : await provisionInactiveCertificate(deps, tx, item, run);
    await tx.query('RELEASE SAVEPOINT provision_certificate');
    return result;
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    await tx.query('ROLLBACK TO SAVEPOINT provision_certificate');
    return { ...item, reason: 'account-created-concurrently' };
  }
}

/**
 * A certificate's file and facts, and the status its account gets
 * (ACTIVE; EXPIRED when the row or the file says so; DISABLED when the
 * row says REVOKED); or why it cannot be provisioned at all.
 */
function usableCertificate(
  deps: ProvisionDeps,
  company: LegacyCompany,
  cert: LegacyCertificate,
  now: Date,
): UsableCertificate | { reason: ProvisionReason } {
  // A pending certificate never signed anything: nothing to record.
  if (cert.status === 'PENDING')
    return { reason: 'legacy-certificate-pending' };
  const byStatus = certificateStatusReason(cert, now);
  if (!cert.encryptedP12) {
    return { reason: byStatus ?? 'legacy-certificate-without-file' };
  }
  let info: CertificateInfo;
  try {
    info = deps.vault.signerFor(
      cert.encryptedP12,
      legacyCertificateBinding(company.id),
    ).certificate;
  } catch (error) {
    if (!(error instanceof TenantGateError)) throw error;
    return { reason: 'legacy-certificate-unreadable' };
  }
  if (info.oib !== company.oib) {
    return { reason: 'legacy-certificate-oib-mismatch' };
  }
  // The row and its file disagree: which one the platform signed with
  // is unknown, and the backfill's proof (same serial) would not hold.
  if (
    cert.certSerial !== null &&
    !sameSerial(info.serialDecimal, cert.certSerial)
  ) {
    return { reason: 'legacy-certificate-serial-mismatch' };
  }
  const usable = { envelope: cert.encryptedP12, info };
  if (byStatus === 'legacy-certificate-revoked') {
    return { ...usable, status: 'DISABLED', statusReason: byStatus };
  }
  if (byStatus !== null || info.notAfter.getTime() <= now.getTime()) {
    return {
      ...usable,
      status: 'EXPIRED',
      statusReason: 'legacy-certificate-expired',
    };
  }
  return { ...usable, status: 'ACTIVE', statusReason: null };
}

interface UsableCertificate {
  /** The legacy envelope, sealed for the company. */
  envelope: string;
  info: CertificateInfo;
  /**
   * ACTIVE for a certificate in use; an expired or revoked one still
   * becomes an account, never ACTIVE, so that the history it signed
   * can be linked to it.
   */
  status: 'ACTIVE' | 'DISABLED' | 'EXPIRED';
  statusReason: ProvisionReason | null;
}

interface CertificateRun extends UsableCertificate {
  apply: boolean;
  runId: string;
}

async function provisionCertificateIn(
  deps: ProvisionDeps,
  tx: Queryable,
  item: ProvisionItem,
  run: CertificateRun,
): Promise<ProvisionItem> {
  const existing = await existingCertificateAccount(tx, item);
  const provenance = { runId: run.runId, provider: null };
  if (!existing) {
    if (!run.apply) return { ...item, action: 'create' };
    const id = await createCertificateAccount(deps, tx, item, run);
    return { ...item, action: 'created', integrationAccountId: id };
  }

  const linked = { ...item, integrationAccountId: existing.id };
  if (existing.provenance === item.source) {
    return { ...linked, action: 'already-provisioned' };
  }
  if (existing.status !== 'ACTIVE') {
    return { ...linked, reason: 'account-exists-not-active' };
  }
  if (!existing.secretEnvelope) {
    // The prior system's bug: an ACTIVE CIS account without a file.
    if (!run.apply) return { ...linked, action: 'repair' };
    await resealCertificate(deps, tx, item, existing.id, run);
    await insertProvenance(tx, item, existing.id, provenance);
    return { ...linked, action: 'repaired' };
  }
  if (existing.certSerial !== run.info.serialDecimal) {
    return { ...linked, reason: 'account-exists-other-certificate' };
  }
  if (!run.apply) return { ...linked, action: 'adopt-existing' };
  await insertProvenance(tx, item, existing.id, provenance);
  return { ...linked, action: 'adopted-existing' };
}

/**
 * A new CIS account for the certificate: inserted DISABLED without a
 * secret, then sealed with the file (which sets its status from the
 * run) and given provenance from the legacy row. Returns its id.
 */
async function createCertificateAccount(
  deps: ProvisionDeps,
  tx: Queryable,
  item: ProvisionItem,
  run: CertificateRun,
): Promise<string> {
  const id = `ia_${randomUUID()}`;
  await tx.query(
    `INSERT INTO "IntegrationAccount" (id, "companyId", kind,
       environment, status, "secretEnvelope", "keyVersion")
     VALUES ($1, $2, 'FISCALIZATION_CIS', $3, 'DISABLED', NULL, NULL)`,
    [id, item.companyId, item.environment],
  );
  await resealCertificate(deps, tx, item, id, run);
  await insertProvenance(tx, item, id, { runId: run.runId, provider: null });
  return id;
}

/**
 * An expired or revoked certificate becomes a CIS account that is not
 * ACTIVE (EXPIRED, or DISABLED for a revoked one), holding the file,
 * with provenance from its row: the gate never signs with it, and the
 * backfill links the fiscal requests it signed. An account of the kind
 * that exists already is left alone and reported.
 */
async function provisionInactiveCertificate(
  deps: ProvisionDeps,
  tx: Queryable,
  item: ProvisionItem,
  run: CertificateRun,
): Promise<ProvisionItem> {
  const status = run.status as 'DISABLED' | 'EXPIRED';
  const inactive = { ...item, reason: run.statusReason, accountStatus: status };
  const existing = await existingCertificateAccount(tx, item);
  if (!existing) {
    if (!run.apply) return { ...inactive, action: 'create-inactive' };
    const id = await createCertificateAccount(deps, tx, item, run);
    return {
      ...inactive,
      action: 'created-inactive',
      integrationAccountId: id,
    };
  }
  const linked = { ...item, integrationAccountId: existing.id };
  if (existing.provenance === item.source) {
    return { ...linked, action: 'already-provisioned' };
  }
  if (existing.status !== 'ACTIVE') {
    return { ...linked, reason: 'account-exists-not-active' };
  }
  // The prior system's ACTIVE account without a file: an expired or
  // revoked certificate cannot make it usable; the operator disables it.
  if (!existing.secretEnvelope) {
    return { ...linked, reason: 'account-exists-without-secret' };
  }
  return { ...linked, reason: 'account-exists-other-certificate' };
}

async function existingCertificateAccount(
  tx: Queryable,
  item: ProvisionItem,
): Promise<(ExistingAccount & { certSerial: string | null }) | undefined> {
  const rows = await tx.query<ExistingAccount & { certSerial: string | null }>(
    `SELECT a.id, a.status, a."secretEnvelope", a."certSerial",
       p.source AS provenance
     FROM "IntegrationAccount" a
     LEFT JOIN "AccountProvenance" p ON p."integrationAccountId" = a.id
     WHERE a."companyId" = $1 AND a.kind = 'FISCALIZATION_CIS'
       AND a.environment = $2`,
    [item.companyId, item.environment],
  );
  return rows[0];
}

/**
 * Re-seals the legacy PKCS#12 for the account (inside the vault) and
 * gives the account its status (`run.status`) with the certificate's
 * facts, in one statement, so it is never ACTIVE without its file.
 */
async function resealCertificate(
  deps: ProvisionDeps,
  tx: Queryable,
  item: ProvisionItem,
  accountId: string,
  run: CertificateRun,
): Promise<void> {
  const envelope = deps.vault.reseal(
    run.envelope,
    legacyCertificateBinding(item.companyId),
    accountBinding(item.companyId, accountId),
  );
  await tx.query(
    `UPDATE "IntegrationAccount"
     SET "secretEnvelope" = $2, "keyVersion" = $3, status = $8,
       "statusReason" = $9, "certSubject" = $4, "certSerial" = $5,
       "certNotAfter" = $6, "certOib" = $7, "updatedAt" = now()
     WHERE id = $1`,
    [
      accountId,
      envelope,
      envelopeKeyVersion(envelope),
      run.info.subject,
      run.info.serialDecimal,
      run.info.notAfter,
      run.info.oib,
      run.status,
      STATUS_REASONS[run.statusReason ?? ''] ?? null,
    ],
  );
  await recordOpens(deps, tx, item.companyId, accountId, envelope);
  deps.logger.info({
    event: 'migration.provision.certificate_account',
    companyId: item.companyId,
    integrationAccountId: accountId,
    environment: item.environment,
    status: run.status,
    certSerial: run.info.serialDecimal,
    certNotAfter: run.info.notAfter.toISOString(),
  });
}

/**
 * The prior system's certificate column on "Company" names no
 * environment, so it is reported rather than guessed into one.
 */
function certificateColumnItems(state: CompanyState): ProvisionItem[] {
  if (!state.company.hasLegacyCertificateColumn) return [];
  return [
    {
      companyId: state.company.id,
      source: 'legacy-fiscal-certificate',
      sourceId: state.company.id,
      kind: 'FISCALIZATION_CIS',
      environment: 'PROD',
      action: 'not-provisioned',
      integrationAccountId: null,
      reason: 'legacy-certificate-column-unsupported',
    },
  ];
}

/** The account's "statusReason" for an inactive certificate account. */
const STATUS_REASONS: Record<string, string> = {
  'legacy-certificate-expired': 'legacy certificate expired',
  'legacy-certificate-revoked': 'legacy certificate revoked',
};

/** Revoked or expired by the row (the file is checked after). */
function certificateStatusReason(
  cert: LegacyCertificate,
  now: Date,
): ProvisionReason | null {
  if (cert.status === 'REVOKED') return 'legacy-certificate-revoked';
  const expired =
    cert.status === 'EXPIRED' ||
    (cert.certNotAfter !== null && cert.certNotAfter <= now);
  if (expired) return 'legacy-certificate-expired';
  return null;
}
