import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { TenantGateError } from '../errors/tenantgate-error.js';
import { ensureLocalKeyFile } from './key-ring.js';

/** The embedded demo's data folder when TENANTGATE_DATA_DIR is unset. */
const DEFAULT_DATA_DIR = '.data/pglite';

/** The embedded demo's local master key file, as opened. */
export interface LocalKeyFile {
  path: string;
  /** A key was generated just now. */
  created: boolean;
  /**
   * The key was found where versions before the per-folder rule put it
   * (`vault-key.json` in the data folder's parent), for a database that
   * already existed: it keeps opening that database's secrets.
   */
  previousLocation: boolean;
}

/**
 * Where the embedded demo keeps the local master key of a data folder:
 * `.data/vault-key.json` for the default `.data/pglite` (as always),
 * otherwise a file beside the folder named after it
 * (`/srv/tg/db` → `/srv/tg/db.vault-key.json`), so two folders that
 * share a parent never share a key.
 */
export function localKeyPath(dataDir: string): string {
  const isDefault =
    dataDir.startsWith('memory://') ||
    resolve(dataDir) === resolve(DEFAULT_DATA_DIR);
  if (isDefault) return join(dirname(dataDir), 'vault-key.json');
  const folder = resolve(dataDir);
  return join(dirname(folder), `${basename(folder)}.vault-key.json`);
}

/**
 * Opens (creating if needed) the local master key of a data folder. A
 * folder that already holds a database, with no key at the new place
 * but one at the previous place (its parent's `vault-key.json`), keeps
 * using that one: its secrets were sealed with it. A key file that
 * cannot be written is CONFIG_INVALID naming TENANTGATE_DATA_DIR.
 */
export function openLocalKeyFile(dataDir: string): LocalKeyFile {
  const path = localKeyPath(dataDir);
  const previous = join(dirname(dataDir), 'vault-key.json');
  const existingDatabase = existsSync(join(dataDir, 'PG_VERSION'));
  if (
    path !== previous &&
    !existsSync(path) &&
    existingDatabase &&
    existsSync(previous)
  ) {
    return { path: previous, created: false, previousLocation: true };
  }
  try {
    return { ...ensureLocalKeyFile(path), previousLocation: false };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
    throw new TenantGateError(
      'CONFIG_INVALID',
      `TENANTGATE_DATA_DIR: cannot write the local master key ${path} ` +
        `beside the data folder ${dataDir} (${code})`,
      { field: 'TENANTGATE_DATA_DIR', rule: 'writable-folder', dataDir },
      { cause: error },
    );
  }
}
