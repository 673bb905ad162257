import type { Queryable } from '../db/database.js';

/** A resumable job's progress: the last primary key it finished. */
export interface Checkpoint {
  lastId: string;
  runId: string;
}

/** The checkpoint of `job` over `scope` (a table), if one is left. */
export async function readCheckpoint(
  tx: Queryable,
  job: string,
  scope: string,
): Promise<Checkpoint | undefined> {
  const rows = await tx.query<Checkpoint>(
    `SELECT "lastId", "runId" FROM "MigrationCheckpoint"
     WHERE job = $1 AND scope = $2`,
    [job, scope],
  );
  return rows[0];
}

/**
 * Records that `job` finished every key up to `lastId`. Written in the
 * same transaction as the batch it describes, so a kill never leaves
 * the checkpoint ahead of the data (or behind it).
 */
export async function saveCheckpoint(
  tx: Queryable,
  job: string,
  scope: string,
  checkpoint: Checkpoint,
): Promise<void> {
  await tx.query(
    `INSERT INTO "MigrationCheckpoint" (job, scope, "lastId", "runId")
     VALUES ($1, $2, $3, $4)
     ON CONFLICT (job, scope) DO UPDATE
       SET "lastId" = EXCLUDED."lastId", "runId" = EXCLUDED."runId",
           "updatedAt" = now()`,
    [job, scope, checkpoint.lastId, checkpoint.runId],
  );
}

/** Forgets a finished job's checkpoint: the next run starts afresh. */
export async function clearCheckpoint(
  tx: Queryable,
  job: string,
  scope: string,
): Promise<void> {
  await tx.query(
    'DELETE FROM "MigrationCheckpoint" WHERE job = $1 AND scope = $2',
    [job, scope],
  );
}
