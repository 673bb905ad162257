import { operator, type Database, type Queryable } from '../db/database.js';
import {
  checkResult,
  SAMPLE_LIMIT,
  type CheckId,
  type CheckKind,
  type CheckResult,
} from './report.js';

/**
 * E-invoice statuses that count as issued: SENT and every status after
 * it (the spec says "SENT/DELIVERED"; an ACCEPTED invoice was sent too).
 */
export const ISSUED_EINVOICE_STATUSES = [
  'SENT',
  'DELIVERED',
  'ACCEPTED',
  'REJECTED',
  'ARCHIVED',
] as const;

/** The tables whose rows may link to an account, in pass order. */
export const LINKED_TABLES = [
  'EInvoice',
  'FiscalRequest',
  'ProviderSyncState',
] as const;
export type LinkedTable = (typeof LINKED_TABLES)[number];

interface CheckBase {
  id: CheckId;
  title: string;
  kind: CheckKind;
}

/** A check answered by a statement of its own. */
export interface StatementCheck extends CheckBase {
  /**
   * A `SELECT` of the offending rows' ids (column `id`). When
   * `usesAccountEnvironment`, `$1` is the deployment's account
   * environment (`TEST` or `PROD`).
   */
  offenders: string;
  usesAccountEnvironment: boolean;
}

/**
 * A check of the links rows hold to accounts ("integrationAccountId"),
 * answered with the other link checks in one pass over the linked
 * tables (`linkPassStatement`). Per table: a condition on a row `r`
 * that links to an account and the account `a` its link names, true
 * when the row offends. `a` is left-joined: every column of it is NULL
 * when no account has that id.
 */
export interface LinkCheck extends CheckBase {
  links: Record<LinkedTable, string>;
}

/** A check that SQL alone answers. */
export type SqlCheck = StatementCheck | LinkCheck;

export function isLinkCheck(check: SqlCheck): check is LinkCheck {
  return 'links' in check;
}

const issuedList = ISSUED_EINVOICE_STATUSES.map((s) => `'${s}'`).join(', ');

/** The same condition on every linked table. */
function onEveryLinkedTable(condition: string): LinkCheck['links'] {
  return {
    EInvoice: condition,
    FiscalRequest: condition,
    ProviderSyncState: condition,
  };
}

/**
 * Every check that SQL alone answers, in report order. The secret check
 * needs the vault and lives in `secret-check.ts`.
 */
export const SQL_CHECKS: readonly SqlCheck[] = [
  {
    id: 'einvoice.issued_without_account',
    title: 'No SENT/DELIVERED EInvoices without integrationAccountId',
    kind: 'invariant',
    usesAccountEnvironment: false,
    offenders: `
      SELECT id FROM "EInvoice"
      WHERE status IN (${issuedList}) AND "integrationAccountId" IS NULL`,
  },
  {
    id: 'fiscal.success_without_account',
    title: 'No SUCCESS FiscalRequests without integrationAccountId',
    kind: 'invariant',
    usesAccountEnvironment: false,
    offenders: `
      SELECT id FROM "FiscalRequest"
      WHERE status = 'SUCCESS' AND "integrationAccountId" IS NULL`,
  },
  {
    id: 'company.fiscalization_without_cis_account',
    title:
      'All companies with fiscalization enabled have active FISCALIZATION_CIS account',
    kind: 'readiness',
    usesAccountEnvironment: true,
    offenders: `
      SELECT c.id FROM "Company" c
      WHERE c."fiscalizationEnabled" AND NOT EXISTS (
        SELECT 1 FROM "IntegrationAccount" a
        WHERE a."companyId" = c.id AND a.kind = 'FISCALIZATION_CIS'
          AND a.status = 'ACTIVE' AND a.environment = $1::text)`,
  },
  {
    id: 'company.einvoicing_without_einvoice_account',
    title:
      'All companies with e-invoicing enabled have active EINVOICE_* account',
    kind: 'readiness',
    usesAccountEnvironment: true,
    offenders: `
      SELECT c.id FROM "Company" c
      WHERE c."eInvoicingEnabled" AND NOT EXISTS (
        SELECT 1 FROM "IntegrationAccount" a
        WHERE a."companyId" = c.id AND a.status = 'ACTIVE'
          AND a.environment = $1::text
          AND (a.kind = c."eInvoiceKind" OR (
            c."eInvoiceKind" IS NULL AND a.kind LIKE 'EINVOICE\\_%')))`,
  },
  {
    id: 'row.account_company_mismatch',
    title: "No rows linked to another company's IntegrationAccount",
    kind: 'invariant',
    links: onEveryLinkedTable(`a."companyId" <> r."companyId"`),
  },
  {
    id: 'row.account_wrong_kind',
    title: 'No rows linked to an IntegrationAccount of the wrong kind',
    kind: 'invariant',
    links: {
      EInvoice: `a.kind = 'FISCALIZATION_CIS'`,
      FiscalRequest: `a.kind <> 'FISCALIZATION_CIS'`,
      ProviderSyncState: `a.kind = 'FISCALIZATION_CIS'`,
    },
  },
  {
    id: 'row.account_missing',
    title: 'No rows linked to a missing IntegrationAccount',
    kind: 'invariant',
    links: onEveryLinkedTable('a.id IS NULL'),
  },
  {
    id: 'account.active_without_secret',
    title: 'No ACTIVE IntegrationAccounts without a secret',
    kind: 'invariant',
    usesAccountEnvironment: false,
    offenders: `
      SELECT id FROM "IntegrationAccount"
      WHERE status = 'ACTIVE'
        AND ("secretEnvelope" IS NULL OR "secretEnvelope" = '')`,
  },
];

/**
 * One statement that counts a check's offenders and keeps the first few
 * ids in byte order (the same on every collation). The CTE is read
 * twice, so PostgreSQL materializes it once.
 */
export function checkStatement(check: StatementCheck): string {
  return `WITH offenders AS (${check.offenders})
SELECT (SELECT count(*) FROM offenders)::int AS count0,
  ARRAY(SELECT id FROM offenders
    ORDER BY id COLLATE "C" LIMIT ${SAMPLE_LIMIT}) AS samples0`;
}

/**
 * One statement for several link checks: the rows of each linked table
 * that link to an account are read once, left-joined to the accounts,
 * and every row that breaks at least one check is kept with a flag per
 * check (`c0`, `c1`, ...). Its result: per check, in the order given,
 * the count (`count0`, ...) and the first few ids in byte order
 * (`samples0`, ...; NULL for none) — what `checkStatement` gives for
 * one check. Run it with `LINK_PASS_SETTINGS`.
 */
export function linkPassStatement(checks: readonly LinkCheck[]): string {
  if (checks.length === 0) throw new Error('a link pass needs a check');
  const arms = LINKED_TABLES.map((table) => {
    const conditions = checks.map((c) => c.links[table]);
    const flags = conditions.map((c, i) => `COALESCE(${c}, FALSE) AS c${i}`);
    return `SELECT r.id,
      ${flags.join(',\n      ')}
    FROM "${table}" r
    LEFT JOIN "IntegrationAccount" a ON a.id = r."integrationAccountId"
    WHERE r."integrationAccountId" IS NOT NULL
      AND (${conditions.map((c) => `(${c})`).join('\n        OR ')})`;
  });
  const counts = checks
    .map((_, i) => `count(*) FILTER (WHERE c${i})::int AS count${i}`)
    .join(',\n    ');
  // A check's samples are read only when it has offenders.
  const samples = checks
    .map(
      (_, i) => `CASE WHEN count${i} > 0 THEN
    ARRAY(SELECT id FROM offenders WHERE c${i}
      ORDER BY id COLLATE "C" LIMIT ${SAMPLE_LIMIT})
  END AS samples${i}`,
    )
    .join(',\n  ');
  return `WITH offenders AS MATERIALIZED (
  ${arms.join('\n  UNION ALL\n  ')}
), counts AS (
  SELECT ${counts}
  FROM offenders
)
SELECT counts.*,
  ${samples}
FROM counts`;
}

/** One statement of an audit and the checks it answers, in order. */
export interface CheckPass {
  checks: readonly SqlCheck[];
  sql: string;
  usesAccountEnvironment: boolean;
  /** `SET LOCAL` statements run before it, in its transaction. */
  settings: readonly string[];
}

/**
 * Settings of the transaction every pass runs in. No JIT compilation:
 * each statement reads its tables once, and past an estimated cost of
 * 500,000 PostgreSQL also inlines and optimizes the compiled code — on
 * the benchmark that took 0.75 s of 2.9 s for a version of the link
 * pass that read whole tables; a platform a few times larger crosses
 * that cost with these statements too. 32 MB of working memory
 * (default 4 MB) holds the accounts' hash table (11 MB for 72,000
 * accounts) in one batch instead of several through temporary files:
 * the link pass took 0.42 s instead of 0.59 s there.
 */
export const CHECK_PASS_SETTINGS = [
  'SET LOCAL jit = off',
  "SET LOCAL work_mem = '32MB'",
] as const;

/**
 * The link pass visits every linked row: an index scan when few rows
 * are linked (before the backfill), the table when most are, joined to
 * the accounts by hash. Right after a bulk link, before ANALYZE, the
 * statistics still say few rows are linked, and the plan they pick
 * looks each one's account up in turn: 765,000 lookups and 2 s on the
 * benchmark against 0.6 s with nested loops off.
 */
export const LINK_PASS_SETTINGS = [
  ...CHECK_PASS_SETTINGS,
  'SET LOCAL enable_nestloop = off',
] as const;

/**
 * The statements that answer `checks`: one for all link checks (one
 * read of each linked table whatever their number), one per other
 * check.
 */
export function checkPasses(checks: readonly SqlCheck[]): CheckPass[] {
  const linkChecks = checks.filter(isLinkCheck);
  const passes: CheckPass[] =
    linkChecks.length === 0
      ? []
      : [
          {
            checks: linkChecks,
            sql: linkPassStatement(linkChecks),
            usesAccountEnvironment: false,
            settings: LINK_PASS_SETTINGS,
          },
        ];
  for (const check of checks) {
    if (isLinkCheck(check)) continue;
    passes.push({
      checks: [check],
      sql: checkStatement(check),
      usesAccountEnvironment: check.usesAccountEnvironment,
      settings: CHECK_PASS_SETTINGS,
    });
  }
  return passes;
}

/**
 * Runs one pass inside `tx`, a transaction of its own (it changes
 * settings for the rest of the transaction). Operator scope: it must
 * see every company.
 */
export async function runCheckPass(
  tx: Queryable,
  pass: CheckPass,
  accountEnvironment: 'TEST' | 'PROD',
): Promise<CheckResult[]> {
  for (const setting of pass.settings) await tx.query(setting);
  const params = pass.usesAccountEnvironment ? [accountEnvironment] : [];
  const rows = await tx.query<Record<string, unknown>>(pass.sql, params);
  const row = rows[0] ?? {};
  return pass.checks.map((check, i) =>
    checkResult(
      check,
      Number(row[`count${i}`] ?? 0),
      (row[`samples${i}`] as string[] | null | undefined) ?? [],
    ),
  );
}

/**
 * How many passes run at once: two lanes, so that the link pass (the
 * longest, first) runs beside the others on PostgreSQL while the audit
 * holds at most two of the pool's connections (three with the secret
 * check beside them) — the API and `npm start` run it on the service's
 * pool.
 */
export const PARALLEL_PASSES = 2;

/**
 * Runs SQL checks and returns their results in the order given. Each
 * pass is its own operator transaction, `PARALLEL_PASSES` at a time: on
 * PostgreSQL side by side on separate connections, on PGlite (one
 * connection) one after another. Read-only; every transaction it
 * started has finished when it returns or throws.
 */
export async function runSqlChecks(
  db: Database,
  checks: readonly SqlCheck[],
  accountEnvironment: 'TEST' | 'PROD',
): Promise<CheckResult[]> {
  const passes = checkPasses(checks);
  const results: CheckResult[][] = [];
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < passes.length) {
      const index = next++;
      const pass = passes[index] as CheckPass;
      try {
        results[index] = await db.transaction(operator, (tx) =>
          runCheckPass(tx, pass, accountEnvironment),
        );
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const lanes = Array.from({ length: PARALLEL_PASSES }, lane);
  for (const outcome of await Promise.allSettled(lanes)) {
    if (outcome.status === 'rejected') throw outcome.reason;
  }
  const byId = new Map(results.flat().map((r) => [r.id, r]));
  return checks.map((check) => byId.get(check.id) as CheckResult);
}
