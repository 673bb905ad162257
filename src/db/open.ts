import type { Settings } from '../config/settings.js';
import type { Database } from './database.js';
import { migrate } from './migrate.js';
import { PgliteDatabase } from './pglite.js';
import { PostgresDatabase } from './postgres.js';

/**
 * Opens the configured database (PostgreSQL when `DATABASE_URL` is set,
 * embedded PGlite otherwise) and applies pending migrations.
 */
export async function openDatabase(
  settings: Pick<Settings, 'databaseUrl' | 'dataDir'>,
  options: { migrate?: boolean } = {},
): Promise<Database> {
  const db: Database = settings.databaseUrl
    ? new PostgresDatabase(settings.databaseUrl)
    : await PgliteDatabase.open(settings.dataDir);
  if (options.migrate ?? true) await migrate(db);
  if (db instanceof PgliteDatabase) await db.dropPrivileges();
  return db;
}
