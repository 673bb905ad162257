import { owner, type Database } from '../db/database.js';

/** What pg-boss's `db` option needs: one SQL text, its values, rows. */
export interface PgBossDb {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** `BEGIN; … COMMIT;` as pg-boss wraps its schema and queue DDL. */
const WRAPPED = /^\s*BEGIN;([\s\S]*);\s*COMMIT;\s*$/;

/**
 * pg-boss on our Database (PGlite or PostgreSQL) instead of its own
 * pool: every statement runs in an owner-scoped transaction of `db`,
 * so on PGlite's single connection it never lands inside an open
 * tenant transaction (PGlite queues it behind the transaction) and
 * runs with the owner's rights whatever the session's role. pg-boss's
 * multi-statement DDL (`BEGIN; …; COMMIT;`, no parameters) runs as the
 * body of that one transaction. pg-boss reads rows only from single
 * statements.
 */
export function pgBossDb(db: Database): PgBossDb {
  return {
    executeSql: (text, values = []) =>
      db.transaction(owner, async (tx) => {
        const body = values.length === 0 ? WRAPPED.exec(text)?.[1] : undefined;
        if (body !== undefined) {
          await tx.exec(body);
          return { rows: [] };
        }
        return { rows: await tx.query(text, values) };
      }),
  };
}
