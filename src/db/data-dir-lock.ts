import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TenantGateError } from '../errors/tenantgate-error.js';

/** The lock file's name inside the PGlite data folder. */
export const LOCK_FILE = 'tenantgate.lock';

/** A held lock on a data folder; `release` is safe to call twice. */
export interface DataDirLock {
  readonly path: string;
  release(): void;
}

/**
 * Takes the data folder for this process: PGlite is one process per
 * folder, and a second one writing the same files corrupts them. The
 * lock file holds the owner's pid; a lock whose pid is no longer alive
 * (a crash, a kill -9) is taken over. Another live process holding it
 * is DATABASE_BUSY naming the folder and the pid.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const path = join(dataDir, LOCK_FILE);
  if (!tryCreate(path)) {
    const holder = holderOf(path);
    if (holder !== undefined && isAlive(holder)) throw busy(dataDir, holder);
    // Stale: its process is gone. A process taking it over at the same
    // moment makes our create fail, and we report that one as busy.
    rmSync(path, { force: true });
    if (!tryCreate(path)) throw busy(dataDir, holderOf(path));
  }
  let held = true;
  return {
    path,
    release() {
      if (!held) return;
      held = false;
      if (holderOf(path) === process.pid) rmSync(path, { force: true });
    },
  };
}

/** Creates the lock file with our pid; false when it exists. */
function tryCreate(path: string): boolean {
  try {
    writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** The pid in a lock file; undefined when unreadable or not a pid. */
function holderOf(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Signal 0 checks that a process exists without touching it. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function busy(dataDir: string, pid: number | undefined): TenantGateError {
  const who = pid === undefined ? 'another process' : `process ${pid}`;
  return new TenantGateError(
    'DATABASE_BUSY',
    `TENANTGATE_DATA_DIR: ${dataDir} is in use by ${who} (one process ` +
      `per embedded database; stop it, or remove ${LOCK_FILE} there if ` +
      'that process is not TenantGate)',
    { field: 'TENANTGATE_DATA_DIR', rule: 'one-process', dataDir, pid },
  );
}
