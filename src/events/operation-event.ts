import type { Kind, Operation } from '../accounts/kinds.js';
import type { Queryable, Statement } from '../db/database.js';

export type Outcome = 'SUCCESS' | 'FAILURE' | 'BLOCKED';
export type Origin = 'user' | 'worker' | 'probe';

/** One regulated operation attempt: the ledger behind every metric. */
export interface OperationEvent {
  environment: 'staging' | 'production';
  companyId: string;
  integrationAccountId: string | null;
  operation: Operation;
  kind: Kind | null;
  path: 'V1' | 'V2' | null;
  outcome: Outcome;
  wouldBlock: boolean;
  fallback: boolean;
  errorName: string | null;
  errorCode: string | null;
  errorLayer: string | null;
  durationMs: number;
  origin: Origin;
  actor: string | null;
  correlationId: string | null;
  documentId: string | null;
}

/**
 * The statement that appends the event and, on V2 success, touches the
 * account's `lastUsedAt` at most once a minute: one statement.
 */
export function operationEventStatement(e: OperationEvent): Statement {
  return {
    sql: `WITH touched AS (
       UPDATE "IntegrationAccount" SET "lastUsedAt" = now()
        WHERE $16::boolean AND id = $3
          AND ("lastUsedAt" IS NULL
               OR "lastUsedAt" < now() - interval '1 minute')
     )
     INSERT INTO "OperationEvent" (environment, "companyId",
       "integrationAccountId", operation, kind, path, outcome, "wouldBlock",
       fallback, "errorName", "errorCode", "errorLayer", "durationMs",
       origin, actor, "correlationId", "documentId")
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
       $15, $17, $18)`,
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
      e.path === 'V2' && e.outcome === 'SUCCESS',
      e.correlationId,
      e.documentId,
    ],
  };
}

/** Appends the event inside an open transaction. */
export async function appendOperationEvent(
  tx: Queryable,
  e: OperationEvent,
): Promise<void> {
  const statement = operationEventStatement(e);
  await tx.query(statement.sql, statement.params);
}
