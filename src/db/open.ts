import type { Settings } from '../config/settings.js';
import { databaseUnavailable } from './connection-errors.js';
import type { Database } from './database.js';
import { migrate } from './migrate.js';
import { PgliteDatabase } from './pglite.js';
import { PostgresDatabase } from './postgres.js';

/**
 * Opens the configured database (PostgreSQL when `DATABASE_URL` is set,
 * embedded PGlite otherwise) and applies pending migrations (`migrate`,
 * default true). A PostgreSQL that cannot be reached or entered is
 * DATABASE_UNAVAILABLE naming `setting` (default `DATABASE_URL`): the
 * setting or option the URL came from.
 */
export async function openDatabase(
  settings: Pick<Settings, 'databaseUrl' | 'dataDir'>,
  options: { migrate?: boolean; setting?: string } = {},
): Promise<Database> {
  const db: Database = settings.databaseUrl
    ? await connectPostgres(
        settings.databaseUrl,
        options.setting ?? 'DATABASE_URL',
      )
    : await PgliteDatabase.open(settings.dataDir);
  try {
    if (options.migrate ?? true) await migrate(db);
    if (db instanceof PgliteDatabase) await db.dropPrivileges();
    return db;
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
}

/** A pool whose first connection worked, so the URL is known good. */
async function connectPostgres(
  url: string,
  setting: string,
): Promise<PostgresDatabase> {
  const db = new PostgresDatabase(url);
  try {
    (await db.pool.connect()).release();
    return db;
  } catch (error) {
    await db.close().catch(() => undefined);
    throw databaseUnavailable(error, url, setting) ?? error;
  }
}
