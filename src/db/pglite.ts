import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { TenantGateError } from '../errors/tenantgate-error.js';
import { lockDataDir, type DataDirLock } from './data-dir-lock.js';
import {
  APP_ROLE,
  assertSelfScoped,
  scopeStatements,
  type Database,
  type Queryable,
  type Scope,
  type Statement,
  type TenantScope,
} from './database.js';

function wrap(target: {
  query: PGlite['query'];
  exec: PGlite['exec'];
}): Queryable {
  return {
    async exec(sql: string) {
      await target.exec(sql);
    },
    async query<T>(sql: string, params: readonly unknown[] = []) {
      const result = await target.query<T>(sql, params as unknown[]);
      return result.rows;
    },
  };
}

/**
 * Embedded PostgreSQL. Its only user is a superuser, so the instance
 * switches to the app role once the schema exists; each transaction
 * states its own role anyway.
 */
export class PgliteDatabase implements Database {
  readonly kind = 'pglite' as const;

  /** The session was left as the app role by `dropPrivileges`. */
  private appSession = false;

  private constructor(
    readonly pg: PGlite,
    private readonly lock: DataDirLock | null,
  ) {}

  /**
   * `dataDir` is a folder, or `memory://` for a throw-away database. A
   * folder is created if missing and locked for this process until
   * `close()` (DATABASE_BUSY while another live process holds it); one
   * that cannot be created or written is CONFIG_INVALID naming
   * TENANTGATE_DATA_DIR.
   */
  static async open(
    dataDir: string,
    options: { loadDataDir?: Blob } = {},
  ): Promise<PgliteDatabase> {
    const lock = dataDir.startsWith('memory://') ? null : takeFolder(dataDir);
    try {
      const pg = await PGlite.create({
        dataDir,
        loadDataDir: options.loadDataDir,
      });
      return new PgliteDatabase(pg, lock);
    } catch (error) {
      lock?.release();
      throw error;
    }
  }

  async transaction<T>(
    scope: Scope,
    fn: (tx: Queryable) => Promise<T>,
  ): Promise<T> {
    return this.pg.transaction(async (tx) => {
      for (const s of scopeStatements(scope)) {
        await tx.query(s.sql, s.params);
      }
      return fn(wrap(tx));
    });
  }

  async batch(
    scope: Scope,
    statements: readonly Statement[],
  ): Promise<unknown[][]> {
    return this.transaction(scope, async (tx) => {
      const results: unknown[][] = [];
      for (const s of statements) results.push(await tx.query(s.sql, s.params));
      return results;
    });
  }

  /**
   * One statement outside any transaction, when the session was left as
   * the app role (queries wait for a running transaction to end).
   */
  async single(
    scope: TenantScope,
    statement: Statement,
  ): Promise<unknown[] | undefined> {
    assertSelfScoped(scope, statement);
    if (!this.appSession) return undefined;
    const result = await this.pg.query(
      statement.sql,
      (statement.params ?? []) as unknown[],
    );
    return result.rows;
  }

  async withOwnerSession<T>(fn: (session: Queryable) => Promise<T>) {
    this.appSession = false;
    await this.pg.query('RESET ROLE');
    try {
      return await fn(wrap(this.pg));
    } finally {
      await this.dropPrivileges();
    }
  }

  /** Leaves the session as the app role: the default for stray queries. */
  async dropPrivileges(): Promise<void> {
    const roles = await this.pg.query(
      'SELECT 1 FROM pg_roles WHERE rolname = $1',
      [APP_ROLE],
    );
    if (roles.rows.length > 0) {
      await this.pg.query(`SET ROLE ${APP_ROLE}`);
      this.appSession = true;
    }
  }

  async close(): Promise<void> {
    try {
      if (!this.pg.closed) await this.pg.close();
    } finally {
      this.lock?.release();
    }
  }
}

/** Creates the data folder if missing and locks it for this process. */
function takeFolder(dataDir: string): DataDirLock {
  try {
    makeFolder(dataDir);
    return lockDataDir(dataDir);
  } catch (error) {
    if (error instanceof TenantGateError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
    throw new TenantGateError(
      'CONFIG_INVALID',
      `TENANTGATE_DATA_DIR: cannot use ${dataDir} as the embedded ` +
        `database folder (${code}: not a writable folder)`,
      { field: 'TENANTGATE_DATA_DIR', rule: 'writable-folder', dataDir },
      { cause: error },
    );
  }
}

/**
 * `mkdir -p` by hand: Node's recursive mkdirSync never returns for a
 * path under /proc.
 */
function makeFolder(dir: string): void {
  try {
    mkdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if (statSync(dir).isDirectory()) return;
      throw error;
    }
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw error;
    makeFolder(parent);
    mkdirSync(dir);
  }
}
