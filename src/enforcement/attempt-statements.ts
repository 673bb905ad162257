import type { Statement } from '../db/database.js';
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
  const returning = options.checkAccount
    ? `RETURNING EXISTS (SELECT 1 FROM "IntegrationAccount" a
         WHERE a.id = $3 AND a."companyId" = $2 AND a.status = 'ACTIVE')
         AS "accountActive"`
    : '';
  return {
    sql: `INSERT INTO "OperationEvent" (environment, "companyId",
       "integrationAccountId", operation, kind, path, outcome, "wouldBlock",
       fallback, "errorName", "errorCode", "errorLayer", "durationMs",
       origin, actor, "correlationId", "documentId")
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
       $15, $16, $17) ${returning}`,
    params: [
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
    ],
  };
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
