import { operator, type Database } from '../../src/db/database.js';

/** One crafted operation event; the defaults are a V2 success. */
export interface CraftedEvent {
  at: string;
  environment?: 'staging' | 'production';
  companyId?: string;
  operation?: string;
  path?: 'V1' | 'V2' | null;
  outcome?: 'SUCCESS' | 'FAILURE' | 'BLOCKED';
  wouldBlock?: boolean;
  fallback?: boolean;
  errorName?: string | null;
  origin?: 'user' | 'worker' | 'probe';
  durationMs?: number;
}

/** Inserts events with the times given (operator scope). */
export async function insertEvents(
  db: Database,
  events: readonly CraftedEvent[],
): Promise<void> {
  await db.transaction(operator, async (tx) => {
    for (const e of events) {
      await tx.query(
        `INSERT INTO "OperationEvent" (at, environment, "companyId",
           operation, path, outcome, "wouldBlock", fallback, "errorName",
           "durationMs", origin)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [
          e.at,
          e.environment ?? 'production',
          e.companyId ?? 'co_ledger',
          e.operation ?? 'EINVOICE_SEND',
          e.path === undefined ? 'V2' : e.path,
          e.outcome ?? 'SUCCESS',
          e.wouldBlock ?? false,
          e.fallback ?? false,
          e.errorName ?? null,
          e.durationMs ?? 10,
          e.origin ?? 'user',
        ],
      );
    }
  });
}
