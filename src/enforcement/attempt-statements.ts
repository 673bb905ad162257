import { selfScope, type Statement } from '../db/database.js';
import type { OperationEvent } from '../events/operation-event.js';

/** How often one process touches an account's `lastUsedAt`. */
export const LAST_USED_INTERVAL_MS = 60_000;

/**
 * The operation event as one plain INSERT. With `checkAccount` it also
 * returns whether the event's account is, at commit, still ACTIVE and
 * the company's own (`accountActive`; null without an account), which
 * tells the gate that a cached route went stale while it ran.
 */
export function eventInsert(
  e: OperationEvent,
  options: { checkAccount: boolean },
): Statement {
  return {
    sql: options.checkAccount ? EVENT_INSERT_CHECKED : EVENT_INSERT,
    params: eventParams(e),
  };
}

const EVENT_COLUMNS = `environment, "companyId",
       "integrationAccountId", operation, kind, path, outcome, "wouldBlock",
       fallback, "errorName", "errorCode", "errorLayer", "durationMs",
       origin, actor, "correlationId", "documentId"`;

/** Whether the event's account ($3) is the company's ($2) and ACTIVE. */
const ACCOUNT_ACTIVE = `EXISTS (SELECT 1 FROM "IntegrationAccount" a
         WHERE a.id = $3 AND a."companyId" = $2 AND a.status = 'ACTIVE')
         AS "accountActive"`;

/**
 * The operation event as one statement that scopes itself, for
 * `Database.single`: its own autocommit transaction, no BEGIN, role or
 * setting statements around it. The row's company id is the value of
 * setting the tenant, so the tenant is set before row-level security
 * checks the row; the account check reads "IntegrationAccount" only in
 * RETURNING, after that. In any role but the app role it inserts
 * nothing and returns no row. Otherwise it returns one row:
 * `accountActive` as `eventInsert` does with `checkAccount`, else
 * `inserted`.
 */
export function singleEventInsert(
  e: OperationEvent,
  options: { checkAccount: boolean },
): Statement {
  return {
    sql: options.checkAccount ? SINGLE_INSERT_CHECKED : SINGLE_INSERT,
    params: eventParams(e),
  };
}

// The texts are built once: the same string each time is hashed once
// for its prepared statement's name.
const EVENT_INSERT = plainInsert('');
const EVENT_INSERT_CHECKED = plainInsert(`RETURNING ${ACCOUNT_ACTIVE}`);
const SINGLE_INSERT = selfScopedInsert('true AS "inserted"');
const SINGLE_INSERT_CHECKED = selfScopedInsert(ACCOUNT_ACTIVE);

function plainInsert(returning: string): string {
  return `INSERT INTO "OperationEvent" (${EVENT_COLUMNS})
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
       $15, $16, $17) ${returning}`;
}

function selfScopedInsert(returning: string): string {
  const scope = selfScope('$2');
  return `INSERT INTO "OperationEvent" (${EVENT_COLUMNS})
     SELECT $1::text, ${scope.tenant}, $3::text, $4::text, $5::text,
       $6::text, $7::text, $8::boolean, $9::boolean, $10::text, $11::text,
       $12::text, $13::integer, $14::text, $15::text, $16::text, $17::text
     WHERE ${scope.guard}
     RETURNING ${returning}`;
}

function eventParams(e: OperationEvent): unknown[] {
  return [
    e.environment,
    e.companyId,
    e.integrationAccountId,
    e.operation,
    e.kind,
    e.path,
    e.outcome,
    e.wouldBlock,
    e.fallback,
    e.errorName,
    e.errorCode,
    e.errorLayer,
    e.durationMs,
    e.origin,
    e.actor,
    e.correlationId,
    e.documentId,
  ];
}

/**
 * Sets the account's `lastUsedAt`, unless another process did so in
 * the last minute. The gate sends it at most once a minute per account
 * and process (`LastUsedThrottle`), so most batches carry only the
 * event.
 */
export function touchLastUsed(accountId: string): Statement {
  return {
    sql: `UPDATE "IntegrationAccount" SET "lastUsedAt" = now()
     WHERE id = $1 AND ("lastUsedAt" IS NULL
       OR "lastUsedAt" < now() - interval '1 minute')`,
    params: [accountId],
  };
}

/**
 * Which accounts this process has touched recently. `lastUsedAt` is
 * bookkeeping (DESIGN.md: when the account was last used, to the
 * minute), not part of the audit trail: the operation events are.
 */
export class LastUsedThrottle {
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly intervalMs = LAST_USED_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** True (and remembered) when the account is due a touch. */
  due(accountId: string): boolean {
    const at = this.now();
    const last = this.touched.get(accountId);
    if (last !== undefined && at - last < this.intervalMs) return false;
    if (this.touched.size >= 10_000) this.touched.clear();
    this.touched.set(accountId, at);
    return true;
  }

  /** Forgets a touch whose transaction did not commit. */
  undo(accountId: string): void {
    this.touched.delete(accountId);
  }
}
