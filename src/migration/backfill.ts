import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  isEInvoiceKind,
  type AccountEnvironment,
  type EInvoiceKind,
} from '../accounts/kinds.js';
import { ISSUED_EINVOICE_STATUSES } from '../audit/checks.js';
import { operator, type Database, type Queryable } from '../db/database.js';
import type { Logger } from '../logging/logger.js';
import {
  clearCheckpoint,
  readCheckpoint,
  saveCheckpoint,
} from './checkpoint.js';
import {
  legacyKeysOf,
  legacyProviderKind,
  readLegacyApiKey,
  sameSerial,
  type LegacyKeyVault,
} from './legacy-credentials.js';
import { accountHoldsKey } from './provision.js';

/** The tables whose rows the backfill links to accounts. */
export const BACKFILL_TABLES = [
  'EInvoice',
  'FiscalRequest',
  'ProviderSyncState',
] as const;
export type BackfillTable = (typeof BACKFILL_TABLES)[number];

/**
 * Statuses of rows that a counterpart actually served, so that some
 * credential was in use: an e-invoice that reached the intermediary
 * (issued, or a reply lost), a fiscal request that reached CIS.
 */
export const SERVED_STATUSES: Record<BackfillTable, readonly string[]> = {
  EInvoice: [...ISSUED_EINVOICE_STATUSES, 'SEND_UNKNOWN'],
  FiscalRequest: ['SUCCESS', 'FAILED', 'DEAD'],
  ProviderSyncState: [],
};

/** Why a served row was left unlinked: stable codes. */
export type AmbiguityReason =
  | 'kind-unknown'
  | 'no-provisioned-account'
  | 'credential-differs'
  | 'certificate-unknown';

/** A served row the backfill could not link with certainty. */
export interface AmbiguousRow {
  table: BackfillTable;
  id: string;
  companyId: string;
  reason: AmbiguityReason;
}

/** Per table: what one run saw and did. */
export interface BackfillTableReport {
  resumedAfter: string | null;
  /**
   * Rows without an account that the run looked at: the served ones it
   * decided one by one and the unserved ones it counted. Always
   * linked + skippedConcurrently + notServed + ambiguous.
   */
  scanned: number;
  /** Linked (apply) or linkable (dry run). */
  linked: number;
  /** Rows no counterpart served (drafts, queued): nothing to link. */
  notServed: number;
  /** Linkable when read, changed by live traffic before the update. */
  skippedConcurrently: number;
  ambiguous: number;
  ambiguousByReason: Partial<Record<AmbiguityReason, number>>;
  batches: number;
  /** Time spent on this table, reading proofs included. */
  elapsedMs: number;
}

/** The outcome of one backfill run, dry or applied. */
export interface BackfillReport {
  mode: 'dry-run' | 'apply';
  runId: string;
  accountEnvironment: AccountEnvironment;
  tables: Record<BackfillTable, BackfillTableReport>;
  /** Up to `ambiguousLimit` ambiguous rows, in table and id order. */
  ambiguousRows: AmbiguousRow[];
  /** The longest batch transaction: an upper bound on any lock held. */
  longestBatchMs: number;
  /**
   * The tables whose planner statistics the run refreshed at its end
   * (ANALYZE): those it linked rows in. Empty in a dry run.
   */
  analyzed: BackfillTable[];
  /** The time ANALYZE took, included in `elapsedMs`. */
  analyzeMs: number;
  elapsedMs: number;
  /** Rows linked per second over the whole run. */
  rowsPerSecond: number;
}

export interface BackfillOptions {
  /** Write the links. Default false: a dry run that only reports. */
  apply?: boolean;
  /** The environment legacy credentials talk to. */
  accountEnvironment: AccountEnvironment;
  /**
   * Rows per batch, at most. Default 5000; halved after a batch that
   * took over 400 ms or hit the one-second limit, grown back after
   * fast ones.
   */
  batchSize?: number;
  /** Ignore checkpoints of an interrupted run. Default false. */
  restart?: boolean;
  /** Ambiguous rows listed in the report. Default 1000. */
  ambiguousLimit?: number;
  /**
   * Called inside each batch's transaction after its update, before
   * the commit. Default none; tests use it to kill a run mid-batch.
   */
  inBatch?: (table: BackfillTable, batch: number) => Promise<void> | void;
}

export interface BackfillDeps {
  db: Database;
  vault: LegacyKeyVault;
  logger: Logger;
}

const JOB = 'backfill';

/** A row read for linking. `hint` is providerKind or certificateId. */
interface CandidateRow {
  id: string;
  companyId: string;
  status: string | null;
  hint: string | null;
}

type Decision =
  { accountId: string } | { reason: AmbiguityReason } | { notServed: true };

/**
 * Links historic rows to the integration account that served them,
 * only where that is certain: the account was provisioned from the
 * company's legacy credential (provenance), it still holds exactly the
 * credential the legacy path used, and it matches the row's company,
 * kind and environment. Everything else is listed, not guessed.
 *
 * Batched by primary key, one short transaction per batch that writes
 * only "integrationAccountId" and the checkpoint, so a kill loses at
 * most one uncommitted batch and a rerun resumes after the last one.
 */
export async function backfill(
  deps: BackfillDeps,
  options: BackfillOptions,
): Promise<BackfillReport> {
  const started = performance.now();
  const report = emptyReport(options);
  const proofs = new ProofCache(deps, options.accountEnvironment);

  for (const table of BACKFILL_TABLES) {
    await backfillTable(deps, options, report, proofs, table);
  }
  if (options.apply) {
    const linkedIn = BACKFILL_TABLES.filter((t) => report.tables[t].linked);
    const analyzeStarted = performance.now();
    await analyze(deps.db, linkedIn);
    report.analyzed = linkedIn;
    report.analyzeMs = Math.round(performance.now() - analyzeStarted);
  }

  report.elapsedMs = Math.round(performance.now() - started);
  const linked = BACKFILL_TABLES.reduce(
    (n, t) => n + report.tables[t].linked,
    0,
  );
  report.rowsPerSecond =
    report.elapsedMs > 0 ? Math.round((linked * 1000) / report.elapsedMs) : 0;
  deps.logger.info({
    event: 'migration.backfill.finished',
    runId: report.runId,
    mode: report.mode,
    linked,
    longestBatchMs: report.longestBatchMs,
  });
  return report;
}

function emptyReport(options: BackfillOptions): BackfillReport {
  const table = (): BackfillTableReport => ({
    resumedAfter: null,
    scanned: 0,
    linked: 0,
    notServed: 0,
    skippedConcurrently: 0,
    ambiguous: 0,
    ambiguousByReason: {},
    batches: 0,
    elapsedMs: 0,
  });
  return {
    mode: options.apply ? 'apply' : 'dry-run',
    runId: `bf_${randomUUID()}`,
    accountEnvironment: options.accountEnvironment,
    tables: {
      EInvoice: table(),
      FiscalRequest: table(),
      ProviderSyncState: table(),
    },
    ambiguousRows: [],
    longestBatchMs: 0,
    analyzed: [],
    analyzeMs: 0,
    elapsedMs: 0,
    rowsPerSecond: 0,
  };
}

async function backfillTable(
  deps: BackfillDeps,
  options: BackfillOptions,
  report: BackfillReport,
  proofs: ProofCache,
  table: BackfillTable,
): Promise<void> {
  const apply = options.apply ?? false;
  const out = report.tables[table];
  const started = performance.now();
  const maxBatch = options.batchSize ?? 5000;
  let batchSize = maxBatch;
  let after = await startingPoint(deps.db, table, apply, options.restart);
  out.resumedAfter = after || null;
  out.notServed = await deps.db.transaction(operator, (tx) =>
    countNotServed(tx, table, after),
  );
  out.scanned = out.notServed;

  for (;;) {
    const rows = await deps.db.transaction(operator, (tx) =>
      candidates(tx, table, after, batchSize),
    );
    if (rows.length === 0) break;
    const last = rows[rows.length - 1]?.id as string;

    const decided = await decide(proofs, table, rows);
    const links = decided.links;
    if (apply) {
      const outcome = await linkBatch(deps.db, table, links, {
        lastId: last,
        runId: report.runId,
        batch: out.batches + 1,
        inBatch: options.inBatch,
      });
      if (outcome === 'timeout') {
        // Rolled back: its rows are read, decided and counted again.
        batchSize = Math.max(1, Math.floor(batchSize / 2));
        continue;
      }
      out.linked += outcome.linked;
      out.skippedConcurrently += links.length - outcome.linked;
      report.longestBatchMs = Math.max(report.longestBatchMs, outcome.ms);
      batchSize = nextBatchSize(batchSize, outcome.ms, maxBatch);
    } else {
      out.linked += links.length;
    }
    countBatch(report, table, rows.length, decided, options);
    out.batches++;
    after = last;
  }

  if (apply) {
    await deps.db.transaction(operator, (tx) =>
      clearCheckpoint(tx, JOB, table),
    );
  }
  out.elapsedMs = Math.round(performance.now() - started);
}

/**
 * Refreshes the planner's statistics of tables the run linked rows in.
 * Linking moves the share of NULL "integrationAccountId" by as much as
 * the run linked; until autovacuum analyzes the table, statements on
 * it — the audit the operator runs next among them — would be planned
 * on the counts from before the backfill (few linked rows, when most
 * now are). ANALYZE reads a sample of the table, blocks neither reads
 * nor writes, and runs as the tables' owner.
 */
async function analyze(
  db: Database,
  tables: readonly BackfillTable[],
): Promise<void> {
  if (tables.length === 0) return;
  await db.withOwnerSession((s) =>
    s.exec(`ANALYZE ${tables.map((t) => `"${t}"`).join(', ')}`),
  );
}

async function startingPoint(
  db: Database,
  table: BackfillTable,
  apply: boolean,
  restart: boolean | undefined,
): Promise<string> {
  return db.transaction(operator, async (tx) => {
    if (restart) {
      if (apply) await clearCheckpoint(tx, JOB, table);
      return '';
    }
    return (await readCheckpoint(tx, JOB, table))?.lastId ?? '';
  });
}

const HINT_COLUMN: Record<BackfillTable, string> = {
  EInvoice: '"providerKind"',
  FiscalRequest: '"certificateId"',
  ProviderSyncState: 'NULL::text',
};
const STATUS_COLUMN: Record<BackfillTable, string> = {
  EInvoice: 'status',
  FiscalRequest: 'status',
  ProviderSyncState: 'NULL::text',
};

/** The next rows without an account, by primary key. */
async function candidates(
  tx: Queryable,
  table: BackfillTable,
  after: string,
  limit: number,
): Promise<CandidateRow[]> {
  const served = SERVED_STATUSES[table];
  const statusGuard = served.length > 0 ? 'AND status = ANY($3::text[])' : '';
  return tx.query<CandidateRow>(
    `SELECT id, "companyId", ${STATUS_COLUMN[table]} AS status,
       ${HINT_COLUMN[table]} AS hint
     FROM "${table}"
     WHERE id > $1 AND "integrationAccountId" IS NULL ${statusGuard}
     ORDER BY id LIMIT $2`,
    served.length > 0 ? [after, limit, served] : [after, limit],
  );
}

/** Rows without an account that no counterpart served: left alone. */
async function countNotServed(
  tx: Queryable,
  table: BackfillTable,
  after: string,
): Promise<number> {
  const served = SERVED_STATUSES[table];
  if (served.length === 0) return 0;
  const rows = await tx.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM "${table}"
     WHERE id > $1 AND "integrationAccountId" IS NULL
       AND status <> ALL($2::text[])`,
    [after, served],
  );
  return rows[0]?.n ?? 0;
}

interface Link {
  id: string;
  companyId: string;
  accountId: string;
}

/** One batch decided: what to link, what was not served or unclear. */
interface Decided {
  links: Link[];
  notServed: number;
  ambiguous: AmbiguousRow[];
}

/** Decides each row of a batch; counts nothing (see `countBatch`). */
async function decide(
  proofs: ProofCache,
  table: BackfillTable,
  rows: CandidateRow[],
): Promise<Decided> {
  await proofs.load(table, rows);
  const decided: Decided = { links: [], notServed: 0, ambiguous: [] };
  for (const row of rows) {
    const decision = proofs.decide(table, row);
    if ('notServed' in decision) {
      decided.notServed++;
    } else if ('reason' in decision) {
      decided.ambiguous.push({
        table,
        id: row.id,
        companyId: row.companyId,
        reason: decision.reason,
      });
    } else {
      decided.links.push({
        id: row.id,
        companyId: row.companyId,
        accountId: decision.accountId,
      });
    }
  }
  return decided;
}

/**
 * Counts a batch once it is done (committed, or decided in a dry run),
 * so a batch retried after a timeout is not counted twice.
 */
function countBatch(
  report: BackfillReport,
  table: BackfillTable,
  scanned: number,
  decided: Decided,
  options: BackfillOptions,
): void {
  const out = report.tables[table];
  out.scanned += scanned;
  out.notServed += decided.notServed;
  out.ambiguous += decided.ambiguous.length;
  for (const row of decided.ambiguous) {
    const by = out.ambiguousByReason;
    by[row.reason] = (by[row.reason] ?? 0) + 1;
    if (report.ambiguousRows.length < (options.ambiguousLimit ?? 1000)) {
      report.ambiguousRows.push(row);
    }
  }
}

/**
 * Keeps each batch's transaction well under a second: halve the batch
 * after a slow one (over 400 ms), grow it back after a fast one (under
 * 100 ms), never above the configured size.
 */
function nextBatchSize(size: number, ms: number, max: number): number {
  if (ms > 400) return Math.max(1, Math.floor(size / 2));
  if (ms < 100) return Math.min(max, size * 2);
  return size;
}

/** PostgreSQL: give up a batch that waits or runs for over a second. */
const BATCH_LIMITS = [
  "SET LOCAL lock_timeout = '1s'",
  "SET LOCAL statement_timeout = '1s'",
];
const TIMEOUT_CODES = new Set(['55P03', '57014']);

/**
 * One batch in one transaction: link the rows that are still unlinked
 * and still served, and move the checkpoint. Only
 * "integrationAccountId" changes; "updatedAt" and every business field
 * stay as they were.
 */
async function linkBatch(
  db: Database,
  table: BackfillTable,
  links: Link[],
  batch: {
    lastId: string;
    runId: string;
    batch: number;
    inBatch: BackfillOptions['inBatch'];
  },
): Promise<{ linked: number; ms: number } | 'timeout'> {
  const started = performance.now();
  try {
    const linked = await db.transaction(operator, async (tx) => {
      if (db.kind === 'postgres') {
        for (const sql of BATCH_LIMITS) await tx.query(sql);
      }
      const n = links.length > 0 ? await updateLinks(tx, table, links) : 0;
      await batch.inBatch?.(table, batch.batch);
      await saveCheckpoint(tx, JOB, table, {
        lastId: batch.lastId,
        runId: batch.runId,
      });
      return n;
    });
    return { linked, ms: Math.round(performance.now() - started) };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && TIMEOUT_CODES.has(code)) return 'timeout';
    throw error;
  }
}

async function updateLinks(
  tx: Queryable,
  table: BackfillTable,
  links: Link[],
): Promise<number> {
  const served = SERVED_STATUSES[table];
  const statusGuard = served.length > 0 ? 'AND t.status = ANY($6::text[])' : '';
  const params: unknown[] = [
    links.map((l) => l.id),
    links.map((l) => l.companyId),
    links.map((l) => l.accountId),
    links[0]?.id,
    links[links.length - 1]?.id,
  ];
  if (served.length > 0) params.push(served);
  // The key range (links come in key order) keeps the plan on the
  // primary key index however stale the table's statistics are.
  const rows = await tx.query(
    `UPDATE "${table}" t SET "integrationAccountId" = v.account
     FROM unnest($1::text[], $2::text[], $3::text[]) AS v(id, company, account)
     WHERE t.id = v.id AND t.id >= $4 AND t.id <= $5
       AND t."companyId" = v.company
       AND t."integrationAccountId" IS NULL ${statusGuard}
     RETURNING t.id`,
    params,
  );
  return rows.length;
}

/**
 * What the backfill can prove per company: which account, per kind,
 * holds exactly the legacy key the company's V1 traffic used; and per
 * legacy certificate, which CIS account was provisioned from it.
 */
class ProofCache {
  /** companyId → legacy kind (or null) and kind → account or reason. */
  readonly #companies = new Map<
    string,
    {
      legacyKind: EInvoiceKind | null;
      byKind: Map<string, { accountId: string } | { reason: AmbiguityReason }>;
    }
  >();
  /** certificateId → company and account provisioned from it. */
  readonly #certificates = new Map<
    string,
    { companyId: string; accountId: string } | null
  >();

  constructor(
    private readonly deps: BackfillDeps,
    private readonly environment: AccountEnvironment,
  ) {}

  async load(table: BackfillTable, rows: CandidateRow[]): Promise<void> {
    if (table === 'FiscalRequest') {
      const ids = unique(rows.map((r) => r.hint))
        .filter((id): id is string => id !== null)
        .filter((id) => !this.#certificates.has(id));
      if (ids.length > 0) await this.loadCertificates(ids);
      return;
    }
    const ids = unique(rows.map((r) => r.companyId)).filter(
      (id) => !this.#companies.has(id),
    );
    if (ids.length > 0) await this.loadCompanies(ids);
  }

  decide(table: BackfillTable, row: CandidateRow): Decision {
    const served = SERVED_STATUSES[table];
    if (served.length > 0 && !served.includes(row.status ?? '')) {
      return { notServed: true };
    }
    if (table === 'FiscalRequest') return this.decideFiscal(row);

    const company = this.#companies.get(row.companyId);
    const kind = row.hint ?? company?.legacyKind ?? null;
    if (kind === null || !isEInvoiceKind(kind)) {
      return { reason: 'kind-unknown' };
    }
    return company?.byKind.get(kind) ?? { reason: 'no-provisioned-account' };
  }

  private decideFiscal(row: CandidateRow): Decision {
    if (row.hint === null) return { reason: 'certificate-unknown' };
    const proof = this.#certificates.get(row.hint);
    if (!proof || proof.companyId !== row.companyId) {
      return { reason: 'no-provisioned-account' };
    }
    return { accountId: proof.accountId };
  }

  private async loadCompanies(ids: string[]): Promise<void> {
    const { owners, accounts } = await this.deps.db.transaction(
      operator,
      async (tx) => ({
        owners: await legacyKeysOf(tx, ids),
        accounts: await provisionedKeyAccounts(tx, ids, this.environment),
      }),
    );
    for (const owner of owners) {
      const byKind = new Map<
        string,
        { accountId: string } | { reason: AmbiguityReason }
      >();
      const legacyKey = owner.eInvoiceApiKeyEncrypted
        ? readLegacyApiKey(this.deps.vault, {
            id: owner.companyId,
            eInvoiceApiKeyEncrypted: owner.eInvoiceApiKeyEncrypted,
          })
        : undefined;
      for (const account of accounts) {
        if (account.companyId !== owner.companyId) continue;
        const same =
          legacyKey !== undefined &&
          'key' in legacyKey &&
          account.secretEnvelope !== null &&
          accountHoldsKey(
            this.deps.vault,
            owner.companyId,
            { id: account.id, secretEnvelope: account.secretEnvelope },
            legacyKey.key,
          );
        byKind.set(
          account.kind,
          same ? { accountId: account.id } : { reason: 'credential-differs' },
        );
      }
      this.#companies.set(owner.companyId, {
        legacyKind: legacyProviderKind(owner.eInvoiceProvider) ?? null,
        byKind,
      });
    }
  }

  private async loadCertificates(ids: string[]): Promise<void> {
    const rows = await this.deps.db.transaction(operator, (tx) =>
      provisionedCertificateAccounts(tx, ids),
    );
    for (const id of ids) this.#certificates.set(id, null);
    for (const row of rows) {
      this.#certificates.set(row.certificateId, {
        companyId: row.companyId,
        accountId: row.accountId,
      });
    }
  }
}

/** Accounts provisioned from legacy keys, in the legacy environment. */
async function provisionedKeyAccounts(
  tx: Queryable,
  companyIds: string[],
  environment: AccountEnvironment,
) {
  return tx.query<{
    id: string;
    companyId: string;
    kind: string;
    secretEnvelope: string | null;
  }>(
    `SELECT a.id, a."companyId", a.kind, a."secretEnvelope"
     FROM "AccountProvenance" p
     JOIN "IntegrationAccount" a
       ON a.id = p."integrationAccountId" AND a."companyId" = p."companyId"
     WHERE p."companyId" = ANY($1::text[])
       AND p.source = 'legacy-einvoice-key'
       AND a.environment = $2 AND a.kind = p.kind`,
    [companyIds, environment],
  );
}

/**
 * CIS accounts provisioned from a legacy certificate that is the same
 * certificate (serial) in the same company and environment.
 */
async function provisionedCertificateAccounts(
  tx: Queryable,
  certificateIds: string[],
) {
  const rows = await tx.query<{
    certificateId: string;
    companyId: string;
    accountId: string;
    accountSerial: string | null;
    legacySerial: string | null;
  }>(
    `SELECT f.id AS "certificateId", f."companyId", a.id AS "accountId",
       a."certSerial" AS "accountSerial", f."certSerial" AS "legacySerial"
     FROM "AccountProvenance" p
     JOIN "FiscalCertificate" f
       ON f.id = p."sourceId" AND f."companyId" = p."companyId"
     JOIN "IntegrationAccount" a
       ON a.id = p."integrationAccountId" AND a."companyId" = p."companyId"
     WHERE p.source = 'legacy-fiscal-certificate'
       AND p."sourceId" = ANY($1::text[])
       AND a.kind = 'FISCALIZATION_CIS'
       AND a.environment = f.environment`,
    [certificateIds],
  );
  return rows.filter((r) => sameSerial(r.accountSerial, r.legacySerial));
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}
