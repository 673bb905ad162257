import { randomUUID, timingSafeEqual } from 'node:crypto';
import {
  accountBinding,
  isUniqueViolation,
} from '../accounts/account-service.js';
import { insertAccount } from '../accounts/account-store.js';
import type { AccountEnvironment, Kind } from '../accounts/kinds.js';
import { operator, type Database, type Queryable } from '../db/database.js';
import type { Logger } from '../logging/logger.js';
import { envelopeKeyVersion, type SecretBinding } from '../vault/envelope.js';
import {
  readCheckpoint,
  saveCheckpoint,
  clearCheckpoint,
} from './checkpoint.js';
import {
  legacyCertificatesOf,
  legacyCompaniesAfter,
  legacyProviderKind,
  readLegacyApiKey,
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
  | 'cis-provisioning-unavailable'
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
  reason: ProvisionReason | null;
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
  items: ProvisionItem[];
}

/** The vault side of provisioning. */
export interface ProvisionVault extends LegacyKeyVault {
  seal(plaintext: string | Buffer, binding: SecretBinding): string;
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
      'not-provisioned': 0,
    },
    notProvisionedByReason: {},
    items: [],
  };
}

function addItem(report: ProvisionReport, item: ProvisionItem): void {
  report.items.push(item);
  report.counts[item.action]++;
  if (item.reason) {
    const byReason = report.notProvisionedByReason;
    byReason[item.reason] = (byReason[item.reason] ?? 0) + 1;
  }
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
  items.push(...certificateItems(state, options.now?.() ?? new Date()));
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
 * Legacy certificates. A usable one needs a FISCALIZATION_CIS account
 * made from its PKCS#12, which the account service cannot create yet
 * (issue #3): reported as pending, with expired, revoked and pending
 * certificates reported for what they are.
 */
function certificateItems(state: CompanyState, now: Date): ProvisionItem[] {
  const items: ProvisionItem[] = state.certificates.map((cert) => ({
    companyId: cert.companyId,
    source: 'legacy-fiscal-certificate',
    sourceId: cert.id,
    kind: 'FISCALIZATION_CIS',
    environment: cert.environment,
    action: 'not-provisioned',
    integrationAccountId: null,
    reason: certificateReason(cert, now),
  }));
  if (state.company.hasLegacyCertificateColumn) {
    items.push({
      companyId: state.company.id,
      source: 'legacy-fiscal-certificate',
      sourceId: state.company.id,
      kind: 'FISCALIZATION_CIS',
      environment: 'PROD',
      action: 'not-provisioned',
      integrationAccountId: null,
      reason: 'legacy-certificate-column-unsupported',
    });
  }
  return items;
}

function certificateReason(
  cert: LegacyCertificate,
  now: Date,
): ProvisionReason {
  if (cert.status === 'REVOKED') return 'legacy-certificate-revoked';
  if (cert.status === 'PENDING') return 'legacy-certificate-pending';
  const expired =
    cert.status === 'EXPIRED' ||
    (cert.certNotAfter !== null && cert.certNotAfter <= now);
  if (expired) return 'legacy-certificate-expired';
  return 'cis-provisioning-unavailable';
}
